//! The esketamine REMS monitoring summary: every field the SPRAVATO REMS patient monitoring form
//! asks for, drawn from one dosing session, as plain text to copy into the form (which must be
//! submitted within 7 days of the session). Nothing is invented: a value the session lacks
//! reads "not recorded".

use crate::model::monitoring::{esketamine_devices, is_sedated, rems_form_due};
use crate::model::{DosingSession, Patient, PatientId, RecordId, Vitals};
use crate::protocols::session_note::{Times, bp_text, dissociation_summary, moaas_summary};
use crate::protocols::{bp_before_discharge, bp_near, is_rems_session};
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

fn reading(v: Option<&Vitals>, times: &Times<'_>) -> String {
    match v.and_then(|v| Some((bp_text(v)?, v.at))) {
        Some((bp, at)) => format!("{bp} at {} ({})", times.clock(at), times.rel(at)),
        None => NOT_RECORDED.to_owned(),
    }
}

/// The summary for `s`, a session of `patient`, times in `tz`.
pub fn rems_summary(
    patient: &Patient,
    s: &DosingSession,
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
    line("Patient: ", &patient.name);
    line(
        "Date of birth: ",
        &patient
            .born
            .map_or_else(|| NOT_RECORDED.to_owned(), |d| d.to_string()),
    );
    line("Patient id (kitnotes): ", patient.id.as_str());
    let session_date = s.dose_time.unwrap_or(s.at);
    line("Session date: ", &times.date(session_date));
    let mut session = s.id.to_string();
    if let Some(n) = s.number {
        session.push_str(&format!(" (session {n})"));
    }
    if let Some(p) = &s.protocol {
        session.push_str(&format!(", protocol {p}"));
    }
    line("Session: ", &session);
    line("", "");

    let mg = s.dose_in_mg();
    line(
        "Dose: ",
        &mg.map_or_else(|| NOT_RECORDED.to_owned(), |mg| format!("{mg} mg")),
    );
    line(
        "Nasal spray devices (28 mg each): ",
        &match mg.map(esketamine_devices) {
            None => NOT_RECORDED.to_owned(),
            Some(Some(n)) => n.to_string(),
            Some(None) => "not a whole number of 28 mg devices: check the dose".to_owned(),
        },
    );
    line(
        "Lot number: ",
        s.lot
            .as_deref()
            .filter(|l| !l.trim().is_empty())
            .unwrap_or(NOT_RECORDED),
    );
    line(
        "Dose given (T0): ",
        &s.dose_time
            .map_or_else(|| NOT_RECORDED.to_owned(), |t0| times.clock(t0)),
    );
    line("", "");

    line("Blood pressure", "");
    line("  Before dosing: ", &reading(s.baseline_vitals(), &times));
    line(
        &format!("  At about {REMS_BP_RECHECK_MINUTES} minutes after dosing: "),
        &reading(bp_near(s, REMS_BP_RECHECK_MINUTES), &times),
    );
    line(
        "  Before the end of monitoring: ",
        &reading(bp_before_discharge(s, &Default::default()), &times),
    );
    line("", "");

    // The session's profile's thresholds when it is a built-in one, else the clinic defaults.
    let t = crate::protocols::builtins()
        .for_session(s)
        .map_or_else(Default::default, |p| p.thresholds);
    let flags = crate::model::monitoring::session_flags(s, &t);
    line("Vitals flags", "");
    line("  Thresholds: ", &t.absolute_summary());
    if flags.is_empty() {
        line("  Flagged readings: ", "none");
    } else {
        for (at, f) in flags {
            line(
                &format!("  {} ({}): ", times.rel(at), times.clock(at)),
                &f.message(&t),
            );
        }
    }
    line("", "");

    line("Monitoring", "");
    let total = match (s.dose_time, &s.discharge) {
        (Some(t0), Some(d)) => Some(d.at.duration_since(t0).as_secs().div_euclid(60)),
        _ => None,
    };
    line(
        "  Total monitoring time (T0 to discharge): ",
        &match (total, s.dose_time, &s.discharge) {
            (Some(m), Some(t0), Some(d)) => {
                format!("{m} minutes ({} to {})", times.clock(t0), times.clock(d.at))
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
    line("", "");

    let pre = s.predose_moaas();
    let post: Vec<_> = s
        .sedation
        .iter()
        .filter(|r| s.dose_time.is_some_and(|t0| r.at > t0))
        .collect();
    let sedated = post.iter().any(|r| is_sedated(pre, r.moaas));
    line(
        "Sedation (MOAA/S below the pre-dose rating): ",
        &if post.is_empty() {
            NOT_RECORDED.to_owned()
        } else {
            format!(
                "{}; lowest {}",
                if sedated { "yes" } else { "no" },
                moaas_summary(s, &times)
            )
        },
    );
    line("Dissociation ratings: ", &dissociation_summary(s, &times));
    let mut adverse: Vec<_> = s.observations.iter().filter(|o| o.adverse).collect();
    adverse.sort_by_key(|o| o.at);
    if adverse.is_empty() {
        line("Adverse events: ", "none recorded");
    } else {
        line("Adverse events:", "");
        for o in adverse {
            let mut text = o.text.split_whitespace().collect::<Vec<_>>().join(" ");
            if let Some(r) = s.adverse_resolved().iter().find(|r| r.event_at == o.at) {
                text.push_str(&format!(" (resolved {})", times.rel(r.at)));
            }
            line(&format!("  {}  ", times.rel(o.at)), &text);
        }
    }
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
