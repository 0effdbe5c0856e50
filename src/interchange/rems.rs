//! The esketamine REMS monitoring summary: every field the SPRAVATO REMS patient monitoring form
//! asks for, drawn from one dosing session, as plain text to copy into the form (which must be
//! submitted within 7 days of the session). Nothing is invented: a value the session lacks
//! reads "not recorded". The yes/no questions are answered from the readings where they can be
//! (vitals acceptable, sedation, dissociation, respiratory depression), and say how.
//!
//! [`rems_missing`] lists what the form needs and the record lacks; a REMS session is not signed
//! while it holds anything.

use crate::model::monitoring::{
    Thresholds, esketamine_devices, is_sedated, reading_flags, rems_form_due,
};
use crate::model::session::minutes_from_t0;
use crate::model::{Clinic, DosingSession, MedClass, Patient, PatientId, RecordId, Vitals};
use crate::protocols::session_note::{Times, bp_text, dissociation_summary, moaas_summary};
use crate::protocols::{bp_before_discharge, is_rems_session};
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// The minimum monitoring time the REMS form asks about, in minutes (2 hours). It is the REMS
/// rule, so the profile's own threshold does not change it.
pub const REMS_MIN_MONITORING_MINUTES: i64 = 120;

/// When the form asks for the second blood pressure, in minutes after dosing.
pub const REMS_BP_RECHECK_MINUTES: i64 = 40;

const NOT_RECORDED: &str = "not recorded";

/// Why there is no summary for a session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemsError {
    #[error(
        "dosing session {session} is {medication}, not esketamine: the REMS monitoring summary is \
         only for esketamine sessions"
    )]
    NotEsketamine {
        session: RecordId,
        medication: String,
    },
    #[error("dosing session {session} belongs to patient {owner}, not {patient}")]
    WrongPatient {
        session: RecordId,
        owner: PatientId,
        patient: PatientId,
    },
}

/// A field of the form the record does not answer yet, and where it is filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingField {
    /// On the patient's form.
    DateOfBirth,
    Sex,
    /// Asked in the session console.
    FirstTreatment,
    Enrolled,
    Concomitant,
    Dose,
    Lot,
    /// The time of the first device: the console's T0 key.
    DoseTime,
    /// The session has not ended: the console's end key.
    Discharge,
    ReadyMinutes,
    /// `[clinic]` in config.toml: the key.
    Clinic(&'static str),
}

impl MissingField {
    /// How the refusal names it.
    pub fn label(self) -> String {
        match self {
            MissingField::DateOfBirth => "date of birth".into(),
            MissingField::Sex => "sex".into(),
            MissingField::FirstTreatment => "first treatment (yes/no)".into(),
            MissingField::Enrolled => "enrolled in the REMS (yes/no)".into(),
            MissingField::Concomitant => "concomitant medications".into(),
            MissingField::Dose => "dose".into(),
            MissingField::Lot => "lot number".into(),
            MissingField::DoseTime => "time of the first device (T0)".into(),
            MissingField::Discharge => "end of monitoring (discharge)".into(),
            MissingField::ReadyMinutes => "minute ready to leave without the 2-hour rule".into(),
            MissingField::Clinic(key) => format!("[clinic] {key} in config.toml"),
        }
    }
}

/// What the form needs that the record lacks, in the form's order. The readings themselves (a
/// blood pressure at about 40 minutes, a rating) are not here: a reading not taken cannot be
/// taken later, and the summary says "not recorded" for it.
///
/// A session that ended without a dose (a blood pressure too high to proceed) was no treatment:
/// there is no form to fill in, and nothing is missing.
pub fn rems_missing(patient: &Patient, s: &DosingSession, clinic: &Clinic) -> Vec<MissingField> {
    let mut out = Vec::new();
    if s.dose_time.is_none() && s.discharge.is_some() {
        return out;
    }
    if patient.born.is_none() {
        out.push(MissingField::DateOfBirth);
    }
    if patient.sex.is_none() {
        out.push(MissingField::Sex);
    }
    let answers = s.rems.as_deref().cloned().unwrap_or_default();
    match answers.first_treatment {
        None => out.push(MissingField::FirstTreatment),
        Some(true) if answers.enrolled.is_none() => out.push(MissingField::Enrolled),
        Some(_) => {}
    }
    if answers.concomitant.is_none() {
        out.push(MissingField::Concomitant);
    }
    for (key, _, value) in clinic.fields() {
        if value.is_none() {
            out.push(MissingField::Clinic(key));
        }
    }
    if s.dose_in_mg().is_none() {
        out.push(MissingField::Dose);
    }
    if s.lot.as_deref().is_none_or(|l| l.trim().is_empty()) {
        out.push(MissingField::Lot);
    }
    if s.dose_time.is_none() {
        out.push(MissingField::DoseTime);
    }
    match &s.discharge {
        None => out.push(MissingField::Discharge),
        Some(d) if d.ready_minutes.is_none() && s.dose_time.is_some() => {
            out.push(MissingField::ReadyMinutes)
        }
        Some(_) => {}
    }
    out
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn reading(v: Option<&Vitals>, times: &Times<'_>) -> String {
    match v.and_then(|v| Some((bp_text(v)?, v.at))) {
        Some((bp, at)) => format!("{bp} at {} ({})", times.clock(at), times.rel(at)),
        None => NOT_RECORDED.to_owned(),
    }
}

/// The two post-dose blood pressure slots of the form, one reading each: the one at about 40
/// minutes (the nearest from 35 to 70 minutes) and the one before the end of monitoring. When
/// the same reading would fill both, another reading in either window is taken for one of them;
/// `shared` is true when there is none and the form must say the two share it.
struct BpSlots<'a> {
    at_40: Option<&'a Vitals>,
    before_end: Option<&'a Vitals>,
    shared: bool,
}

fn bp_slots<'a>(s: &'a DosingSession, t: &Thresholds) -> BpSlots<'a> {
    let Some(t0) = s.dose_time else {
        return BpSlots {
            at_40: None,
            before_end: None,
            shared: false,
        };
    };
    let near_40 = |except: Option<Timestamp>| {
        s.vitals
            .iter()
            .filter(|v| v.bp().is_some() && v.at > t0 && Some(v.at) != except)
            .filter(|v| {
                let m = minutes_from_t0(t0, v.at);
                (REMS_BP_RECHECK_MINUTES - 5..=REMS_BP_RECHECK_MINUTES + 30).contains(&m)
            })
            .min_by_key(|v| {
                (
                    (minutes_from_t0(t0, v.at) - REMS_BP_RECHECK_MINUTES).abs(),
                    v.at,
                )
            })
    };
    let at_40 = near_40(None);
    let before_end = bp_before_discharge(s, t);
    match (at_40, before_end) {
        (Some(a), Some(b)) if a.at == b.at => {
            // Another reading at about 40 minutes keeps the latest one for the end.
            if let Some(other) = near_40(Some(b.at)) {
                return BpSlots {
                    at_40: Some(other),
                    before_end: Some(b),
                    shared: false,
                };
            }
            BpSlots {
                at_40: Some(a),
                before_end: Some(b),
                shared: true,
            }
        }
        (a, b) => BpSlots {
            at_40: a,
            before_end: b,
            shared: false,
        },
    }
}

/// "Robin", "J", "Example" from the name on file: the first word, the second's initial when
/// there are three or more, the last word.
fn name_parts(name: &str) -> (String, String, String) {
    let words: Vec<&str> = name.split_whitespace().collect();
    match words.as_slice() {
        [] => (NOT_RECORDED.into(), "none".into(), NOT_RECORDED.into()),
        [one] => ((*one).into(), "none".into(), NOT_RECORDED.into()),
        [first, .., last] => {
            let middle = if words.len() > 2 {
                words[1]
                    .chars()
                    .next()
                    .map_or("none".into(), |c| c.to_uppercase().to_string())
            } else {
                "none".into()
            };
            ((*first).into(), middle, (*last).into())
        }
    }
}

/// Yes when any rating after T0 is above the last one before it (above 0 without one); resolved
/// when a later rating is back at or below that level.
fn dissociation_answer(s: &DosingSession, times: &Times<'_>) -> (String, Option<String>) {
    let Some(t0) = s.dose_time else {
        return (NOT_RECORDED.into(), None);
    };
    let mut ratings: Vec<_> = s.dissociation.iter().collect();
    ratings.sort_by_key(|d| d.at);
    let pre = ratings.iter().rfind(|d| d.at <= t0).map(|d| d.total);
    let after: Vec<_> = ratings.iter().filter(|d| d.at > t0).collect();
    if after.is_empty() {
        return (NOT_RECORDED.into(), None);
    }
    let level = pre.unwrap_or(0.0);
    let rule = match pre {
        Some(p) => format!("above the pre-dose {p}"),
        None => "above 0".to_owned(),
    };
    let Some(peak) = after.iter().find(|d| d.total > level) else {
        return (
            format!(
                "no (no rating after dosing {rule}: {})",
                dissociation_summary(s, times)
            ),
            None,
        );
    };
    let resolved = match after.iter().find(|d| d.at > peak.at && d.total <= level) {
        Some(back) => format!(
            "yes ({} {} at {})",
            back.scale,
            back.total,
            times.rel(back.at)
        ),
        None => {
            let last = after[after.len() - 1];
            format!(
                "not shown by the ratings (last {} {} at {})",
                last.scale,
                last.total,
                times.rel(last.at)
            )
        }
    };
    (
        format!("yes ({rule}: {})", dissociation_summary(s, times)),
        Some(resolved),
    )
}

/// The summary for `s`, a session of `patient`, monitored at `clinic`, times in `tz`.
pub fn rems_summary(
    patient: &Patient,
    s: &DosingSession,
    clinic: &Clinic,
    tz: &TimeZone,
) -> Result<String, RemsError> {
    if s.patient != patient.id {
        return Err(RemsError::WrongPatient {
            session: s.id.clone(),
            owner: s.patient.clone(),
            patient: patient.id.clone(),
        });
    }
    if !is_rems_session(s, None) {
        return Err(RemsError::NotEsketamine {
            session: s.id.clone(),
            medication: s.medication.clone(),
        });
    }
    let times = Times {
        tz,
        t0: s.dose_time,
    };
    // The session's profile's thresholds when it is a built-in one, else the clinic defaults.
    let t = crate::protocols::builtins()
        .for_session(s)
        .map_or_else(Default::default, |p| p.thresholds);
    let mut out = String::new();
    let mut line = |label: &str, value: &str| {
        out.push_str(label);
        out.push_str(value);
        out.push('\n');
    };

    line("SPRAVATO REMS patient monitoring summary", "");
    line(
        "For the REMS patient monitoring form; written by kitnotes from the session record.",
        "",
    );
    line("", "");

    line("Patient", "");
    let (first, middle, last) = name_parts(&patient.name);
    line("  First name: ", &first);
    line("  Middle initial: ", &middle);
    line("  Last name: ", &last);
    line(
        "  Date of birth: ",
        &patient
            .born
            .map_or_else(|| NOT_RECORDED.to_owned(), |d| d.to_string()),
    );
    line("  Sex: ", patient.sex.map_or(NOT_RECORDED, |x| x.label()));
    line("  Patient id (kitnotes): ", patient.id.as_str());
    let answers = s.rems.as_deref().cloned().unwrap_or_default();
    line(
        "  First treatment: ",
        answers.first_treatment.map_or(NOT_RECORDED, yes_no),
    );
    if answers.first_treatment != Some(false) {
        line(
            "  Enrolled in the REMS: ",
            answers.enrolled.map_or(NOT_RECORDED, yes_no),
        );
    }
    line("", "");

    line("Concomitant medications", "");
    for class in MedClass::ALL {
        line(
            &format!("  {}: ", class.label()),
            answers
                .concomitant
                .as_ref()
                .map_or(NOT_RECORDED, |m| yes_no(m.takes(class))),
        );
    }
    if let Some(m) = &answers.concomitant
        && !m.detail.is_empty()
    {
        line("  Named: ", &m.detail);
    }
    line("", "");

    let fields = clinic.fields();
    line("Monitoring health-care provider", "");
    for (label, (_, _, value)) in ["Name", "Phone", "Email"].iter().zip(&fields[..3]) {
        line(&format!("  {label}: "), value.unwrap_or(NOT_RECORDED));
    }
    line("", "");
    line("Healthcare setting", "");
    for (label, (_, _, value)) in ["Name", "Address", "City", "State", "ZIP"]
        .iter()
        .zip(&fields[3..])
    {
        line(&format!("  {label}: "), value.unwrap_or(NOT_RECORDED));
    }
    line("", "");

    line("Session", "");
    let session_date = s.dose_time.unwrap_or(s.at);
    line("  Date: ", &times.date(session_date));
    let mut session = s.id.to_string();
    if let Some(n) = s.number {
        session.push_str(&format!(" (session {n})"));
    }
    if let Some(p) = &s.protocol {
        session.push_str(&format!(", protocol {p}"));
    }
    line("  Session: ", &session);
    let mg = s.dose_in_mg();
    line(
        "  Dose: ",
        &match mg {
            None => NOT_RECORDED.to_owned(),
            Some(mg) if mg == 56.0 || mg == 84.0 => format!("{mg} mg"),
            Some(mg) => format!("other: {mg} mg"),
        },
    );
    line(
        "  Nasal spray devices (28 mg each): ",
        &match mg.map(esketamine_devices) {
            None => NOT_RECORDED.to_owned(),
            Some(Some(n)) => n.to_string(),
            Some(None) => "not a whole number of 28 mg devices: check the dose".to_owned(),
        },
    );
    line(
        "  Lot number: ",
        s.lot
            .as_deref()
            .filter(|l| !l.trim().is_empty())
            .unwrap_or(NOT_RECORDED),
    );
    line(
        "  Time of the first device (T0): ",
        &s.dose_time
            .map_or_else(|| NOT_RECORDED.to_owned(), |t0| times.clock(t0)),
    );
    let total = match (s.dose_time, &s.discharge) {
        (Some(t0), Some(d)) => Some(minutes_from_t0(t0, d.at)),
        _ => None,
    };
    line(
        "  Total minutes from the first device to the end of monitoring: ",
        &match (total, s.dose_time, &s.discharge) {
            (Some(m), Some(t0), Some(d)) => {
                format!("{m} ({} to {})", times.clock(t0), times.clock(d.at))
            }
            (_, None, _) => format!("{NOT_RECORDED} (T0 not marked)"),
            _ => format!("{NOT_RECORDED} (no discharge recorded)"),
        },
    );
    line(
        &format!("  At least {REMS_MIN_MONITORING_MINUTES} minutes: "),
        match total {
            Some(m) if m >= REMS_MIN_MONITORING_MINUTES => "yes",
            Some(_) => "no",
            None => NOT_RECORDED,
        },
    );
    if let Some(reason) = s
        .early_end_reason
        .as_deref()
        .filter(|r| !r.trim().is_empty())
    {
        line("  Ended early because: ", reason);
    } else if total.is_some_and(|m| m < REMS_MIN_MONITORING_MINUTES) {
        line("  Ended early because: ", NOT_RECORDED);
    }
    line(
        "  Ready to leave without the 2-hour rule at: ",
        &s.discharge
            .as_ref()
            .and_then(|d| d.ready_minutes)
            .map_or_else(|| NOT_RECORDED.to_owned(), |m| format!("{m} minutes")),
    );
    line(
        "  Transport home: ",
        &match &s.discharge {
            None => NOT_RECORDED.to_owned(),
            Some(d) if d.transport_arranged => "arranged (not driving today)".to_owned(),
            Some(d) => match (&d.transport_refused, &d.collected_by) {
                (Some(why), _) => format!("REFUSED by the patient: {why}"),
                (None, Some(who)) => format!("not arranged beforehand; collected by {who}"),
                (None, None) => "NOT arranged (nobody recorded to collect the patient)".to_owned(),
            },
        },
    );
    line("", "");

    line("Vital signs", "");
    let baseline = s.baseline_vitals();
    let slots = bp_slots(s, &t);
    let acceptable = |v: Option<&Vitals>| match v {
        None => NOT_RECORDED.to_owned(),
        Some(v) => {
            let flags = reading_flags(s, v, &t);
            if flags.is_empty() {
                format!("yes (no flag on the reading at {})", times.rel(v.at))
            } else {
                let why: Vec<String> = flags.iter().map(|f| f.message(&t)).collect();
                format!("no ({})", why.join("; "))
            }
        }
    };
    line(
        "  Acceptable before administration: ",
        &acceptable(baseline),
    );
    line(
        "  Acceptable before the end of monitoring: ",
        &acceptable(slots.before_end),
    );
    line(
        "  Blood pressure before dosing: ",
        &reading(baseline, &times),
    );
    line(
        &format!("  Blood pressure at about {REMS_BP_RECHECK_MINUTES} minutes: "),
        &reading(slots.at_40, &times),
    );
    let mut end = reading(slots.before_end, &times);
    if slots.shared {
        end.push_str(&format!(
            " (the same reading as at about {REMS_BP_RECHECK_MINUTES} minutes: no other was taken)"
        ));
    }
    line("  Blood pressure before the end of monitoring: ", &end);
    line("  Thresholds: ", &t.absolute_summary());
    let flags = crate::model::monitoring::session_flags(s, &t);
    if flags.is_empty() {
        line("  Flagged readings: ", "none");
    } else {
        line("  Flagged readings:", "");
        for (at, f) in flags {
            line(
                &format!("    {} ({}): ", times.rel(at), times.clock(at)),
                &f.message(&t),
            );
        }
    }
    line("", "");

    line("Adverse effects", "");
    let pre = s.predose_moaas();
    let post: Vec<_> = s
        .sedation
        .iter()
        .filter(|r| s.dose_time.is_some_and(|t0| r.at > t0))
        .collect();
    let sedated = post.iter().any(|r| is_sedated(pre, r.moaas));
    line(
        "  Sedation (MOAA/S below the pre-dose rating): ",
        &if post.is_empty() {
            NOT_RECORDED.to_owned()
        } else {
            format!("{}; lowest {}", yes_no(sedated), moaas_summary(s, &times))
        },
    );
    let (dissociated, resolved) = dissociation_answer(s, &times);
    line("  Dissociation: ", &dissociated);
    if let Some(r) = resolved {
        line("  Dissociation resolved: ", &r);
    }
    let oximetry: Vec<&Vitals> = s
        .vitals
        .iter()
        .filter(|v| v.spo2.is_some() && s.dose_time.is_some_and(|t0| v.at > t0))
        .collect();
    line(
        &format!("  Respiratory depression (SpO2 below {}%): ", t.spo2_floor),
        &match oximetry.iter().min_by_key(|v| (v.spo2, v.at)) {
            None => format!("{NOT_RECORDED} (no pulse oximetry after dosing)"),
            Some(low) => {
                let lowest = low.spo2.unwrap_or(100);
                format!(
                    "{} (lowest SpO2 {lowest}% at {}; {} pulse-oximetry readings after dosing)",
                    yes_no(lowest < t.spo2_floor),
                    times.rel(low.at),
                    oximetry.len()
                )
            }
        },
    );
    let mut adverse: Vec<_> = s.observations.iter().filter(|o| o.adverse).collect();
    adverse.sort_by_key(|o| o.at);
    if adverse.is_empty() {
        line("  Adverse events: ", "none recorded");
    } else {
        line("  Adverse events:", "");
        for o in adverse {
            let mut text = o.text.split_whitespace().collect::<Vec<_>>().join(" ");
            if let Some(r) = s.adverse_resolved().iter().find(|r| r.event_at == o.at) {
                text.push_str(&format!(" (resolved {})", times.rel(r.at)));
            }
            line(&format!("    {}  ", times.rel(o.at)), &text);
        }
    }
    line(
        "  Serious adverse events: ",
        "kitnotes does not mark an event serious: judge from the adverse events above",
    );
    line("", "");

    line(
        "Form due by: ",
        &format!(
            "{} (within 7 days of the session)",
            times.date(rems_form_due(session_date))
        ),
    );
    line(
        "Clinician: ",
        &match (&s.signed_by, s.signed_at) {
            (Some(by), Some(at)) => format!(
                "{by} (signed the session {} {})",
                times.date(at),
                times.clock(at)
            ),
            _ => format!("{NOT_RECORDED} (the session is not signed yet)"),
        },
    );
    Ok(out)
}
