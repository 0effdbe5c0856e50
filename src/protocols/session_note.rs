//! The session note's first text, written from a dosing session's structured data: what was
//! given, each observation on its minute, the monitoring summary and the discharge. The clinician
//! then edits it and signs it (with the session). Headings are those of the built-in
//! `dosing-session` template.

use super::checkpoints::{bp_before_discharge, timed_bp, timed_moaas};
use super::{CheckpointKind, Protocol, default_checkpoints};
use crate::model::monitoring::{
    Thresholds, esketamine_devices, is_sedated, observation_time_met, reading_flags, rems_form_due,
    session_flags,
};
use crate::model::timeline::session_summary;
use crate::model::{DosingSession, Note, RecordId, Section, Vitals};
use crate::templates::Template;
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// The headings the text is written under, in the dosing-session template's order.
pub const HEADINGS: [&str; 6] = [
    "Before dosing",
    "Dose",
    "Course of the session",
    "Monitoring",
    "Discharge",
    "Plan",
];

const NOT_RECORDED: &str = "not recorded";

/// Whether a medication name is esketamine (the REMS drug), by its generic or brand name.
pub(crate) fn is_esketamine(medication: &str) -> bool {
    let m = medication.to_lowercase();
    m.contains("esketamine") || m.contains("spravato")
}

/// Whether the esketamine REMS applies to a session: its profile says so, or the medication is
/// esketamine whatever the profile.
pub fn is_rems_session(s: &DosingSession, protocol: Option<&Protocol>) -> bool {
    protocol.is_some_and(|p| p.rems) || is_esketamine(&s.medication)
}

/// How times are written in the note: on the clock in the clinician's zone, and from T0.
pub(crate) struct Times<'a> {
    pub tz: &'a TimeZone,
    pub t0: Option<Timestamp>,
}

impl Times<'_> {
    pub fn clock(&self, at: Timestamp) -> String {
        at.to_zoned(self.tz.clone()).strftime("%H:%M").to_string()
    }

    pub fn date(&self, at: Timestamp) -> String {
        at.to_zoned(self.tz.clone()).date().to_string()
    }

    /// "+12 min", "-5 min"; the clock time when T0 is not marked.
    pub fn rel(&self, at: Timestamp) -> String {
        match self.t0 {
            Some(t0) => crate::model::session::minutes_label(t0, at),
            None => self.clock(at),
        }
    }
}

/// "128/84".
pub(crate) fn bp_text(v: &Vitals) -> Option<String> {
    v.bp().map(|(s, d)| format!("{s}/{d}"))
}

/// "BP 128/84, HR 76, SpO2 98%", the parts that were taken.
fn vitals_text(v: &Vitals) -> String {
    let mut parts = Vec::with_capacity(3);
    match (v.systolic, v.diastolic) {
        (Some(s), Some(d)) => parts.push(format!("BP {s}/{d}")),
        (Some(s), None) => parts.push(format!("systolic {s}")),
        (None, Some(d)) => parts.push(format!("diastolic {d}")),
        (None, None) => {}
    }
    if let Some(h) = v.heart_rate {
        parts.push(format!("HR {h}"));
    }
    if let Some(o) = v.spo2 {
        parts.push(format!("SpO2 {o}%"));
    }
    parts.join(", ")
}

/// "36.2 mg (0.5 mg/kg x 72.4 kg)", "56 mg (2 devices of 28 mg)", or "not recorded".
pub(crate) fn dose_text(s: &DosingSession) -> String {
    let mut out = match s.dose_in_mg() {
        Some(mg) => format!("{mg} mg"),
        None => NOT_RECORDED.to_owned(),
    };
    match (s.dose_mg_per_kg, s.weight_kg) {
        (Some(k), Some(w)) => out.push_str(&format!(" ({k} mg/kg x {w} kg)")),
        (Some(k), None) => out.push_str(&format!(" ({k} mg/kg; weight not recorded)")),
        _ => {}
    }
    if is_esketamine(&s.medication)
        && let Some(mg) = s.dose_in_mg()
    {
        match esketamine_devices(mg) {
            Some(1) => out.push_str(" (1 device of 28 mg)"),
            Some(n) => out.push_str(&format!(" ({n} devices of 28 mg)")),
            None => out.push_str(" (not a whole number of 28 mg devices)"),
        }
    }
    out
}

/// An observation's text with its continuation lines indented under the first.
fn indented(text: &str, indent: usize) -> String {
    let pad = format!("\n{}", " ".repeat(indent));
    text.trim_end().lines().collect::<Vec<_>>().join(&pad)
}

fn before_dosing(s: &DosingSession, t: &Thresholds, times: &Times<'_>) -> String {
    let mut out = String::new();
    let pre: Vec<&Vitals> = {
        let mut v: Vec<&Vitals> = s
            .vitals
            .iter()
            .filter(|v| s.dose_time.is_none_or(|t0| v.at <= t0))
            .collect();
        v.sort_by_key(|v| v.at);
        v
    };
    if pre.is_empty() {
        out.push_str("Vitals before dosing: not recorded\n");
    } else {
        out.push_str("Vitals before dosing:\n");
        for v in pre {
            out.push_str(&format!(
                "{} ({})  {}",
                times.rel(v.at),
                times.clock(v.at),
                vitals_text(v)
            ));
            for f in reading_flags(s, v, t) {
                out.push_str(&format!("  FLAG: {}", f.message(t)));
            }
            out.push('\n');
        }
    }
    out.push_str(&format!(
        "MOAA/S before dosing: {}",
        s.predose_moaas()
            .map_or_else(|| NOT_RECORDED.to_owned(), |m| m.to_string())
    ));
    out
}

fn dose(s: &DosingSession, protocol: Option<&Protocol>, times: &Times<'_>) -> String {
    let mut out = String::new();
    match (protocol, &s.protocol) {
        (Some(p), _) => out.push_str(&format!("Protocol: {} ({})\n", p.name, p.id)),
        (None, Some(id)) => out.push_str(&format!("Protocol: {id}\n")),
        (None, None) => {}
    }
    out.push_str(&format!("Medication: {}\n", s.medication));
    out.push_str(&format!("Route: {}\n", s.route.label()));
    out.push_str(&format!("Dose: {}\n", dose_text(s)));
    out.push_str(&format!(
        "Lot: {}\n",
        s.lot
            .as_deref()
            .filter(|l| !l.trim().is_empty())
            .unwrap_or(NOT_RECORDED)
    ));
    out.push_str(&format!(
        "T0: {}",
        s.dose_time
            .map_or_else(|| "not marked".to_owned(), |t0| times.clock(t0))
    ));
    for o in s.dose_overrides() {
        out.push_str(&format!(
            "\nDose outside the protocol: {} ({}); confirmed by {} at {}: {}",
            o.dose,
            o.check,
            o.by,
            times.clock(o.at),
            o.why
        ));
    }
    out
}

/// "Corrections (the originals are kept in the record): ..." one line each, or nothing.
fn corrections(s: &DosingSession, times: &Times<'_>) -> String {
    if s.corrections().is_empty() {
        return String::new();
    }
    let mut out = String::from("\n\nCorrections (the originals are kept in the record):");
    for k in s.corrections() {
        let when = k
            .entry_at
            .map_or(String::new(), |at| format!(" at {}", times.rel(at)));
        out.push_str(&format!(
            "\n- {}{when}: was \"{}\", now \"{}\"; corrected by {} at {}: {}",
            k.field.label(),
            k.old.split_whitespace().collect::<Vec<_>>().join(" "),
            k.new.split_whitespace().collect::<Vec<_>>().join(" "),
            k.by,
            times.clock(k.at),
            k.why
        ));
    }
    out
}

fn course(s: &DosingSession, times: &Times<'_>) -> String {
    if s.observations.is_empty() {
        return format!("No observations recorded.{}", corrections(s, times));
    }
    let mut obs: Vec<_> = s.observations.iter().collect();
    obs.sort_by_key(|o| o.at);
    obs.iter()
        .map(|o| {
            let stamp = format!("{}  ", times.rel(o.at));
            let marker = if o.adverse { "ADVERSE EVENT: " } else { "" };
            let resolved = s
                .adverse_resolved()
                .iter()
                .find(|r| o.adverse && r.event_at == o.at)
                .map_or(String::new(), |r| {
                    format!(" (resolved {}, {})", times.rel(r.at), r.by)
                });
            format!(
                "{stamp}{marker}{}{resolved}",
                indented(&o.text, stamp.chars().count())
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
        + &corrections(s, times)
}

fn reading(v: Option<&Vitals>, times: &Times<'_>) -> String {
    match v.and_then(|v| Some((bp_text(v)?, v.at))) {
        Some((bp, at)) => format!("{bp} at {}", times.rel(at)),
        None => NOT_RECORDED.to_owned(),
    }
}

fn monitoring(
    s: &DosingSession,
    t: &Thresholds,
    checkpoints: &[super::Checkpoint],
    times: &Times<'_>,
) -> String {
    let mut lines: Vec<String> = Vec::new();
    lines.push(format!(
        "BP before dosing: {}",
        reading(s.baseline_vitals(), times)
    ));
    for c in checkpoints {
        let Some(n) = c.at_minutes else { continue };
        match c.kind {
            CheckpointKind::Vitals => lines.push(format!(
                "BP at about {n} min: {}",
                reading(timed_bp(s, checkpoints, n, Timestamp::MAX), times)
            )),
            CheckpointKind::Sedation => lines.push(format!(
                "MOAA/S at about {n} min: {}",
                timed_moaas(s, checkpoints, n, Timestamp::MAX).map_or_else(
                    || NOT_RECORDED.to_owned(),
                    |r| format!("{} at {}", r.moaas, times.rel(r.at))
                )
            )),
            _ => {}
        }
    }
    lines.push(format!(
        "BP before discharge: {}",
        reading(bp_before_discharge(s, t), times)
    ));
    lines.push(format!(
        "SpO2 lowest: {}",
        s.vitals
            .iter()
            .filter_map(|v| Some((v.spo2?, v.at)))
            .min()
            .map_or_else(
                || NOT_RECORDED.to_owned(),
                |(o, at)| format!("{o}% at {}", times.rel(at))
            )
    ));
    lines.push(format!("MOAA/S lowest: {}", moaas_summary(s, times)));
    lines.push(format!("Dissociation: {}", dissociation_summary(s, times)));
    let flags = session_flags(s, t);
    lines.push(format!("Flag thresholds: {}", t.absolute_summary()));
    if flags.is_empty() {
        lines.push("Flags: none".to_owned());
    } else {
        lines.push("Flags:".to_owned());
        for (at, f) in flags {
            lines.push(format!("- {}: {}", times.rel(at), f.message(t)));
        }
    }
    lines.join("\n")
}

/// "3 at +25 min (pre-dose 5); back to 5 at +100 min", from the ratings after T0.
/// "CADSS 18 at +30 min; CADSS 6 at +90 min" in time order, or "not recorded".
pub(crate) fn dissociation_summary(s: &DosingSession, times: &Times<'_>) -> String {
    let mut diss: Vec<_> = s.dissociation.iter().collect();
    diss.sort_by_key(|d| d.at);
    if diss.is_empty() {
        return NOT_RECORDED.to_owned();
    }
    diss.iter()
        .map(|d| format!("{} {} at {}", d.scale, d.total, times.rel(d.at)))
        .collect::<Vec<_>>()
        .join("; ")
}

pub(crate) fn moaas_summary(s: &DosingSession, times: &Times<'_>) -> String {
    let mut after: Vec<_> = s
        .sedation
        .iter()
        .filter(|r| s.dose_time.is_some_and(|t0| r.at > t0))
        .collect();
    after.sort_by_key(|r| r.at);
    let Some(lowest) = after.iter().min_by_key(|r| (r.moaas, r.at)) else {
        return NOT_RECORDED.to_owned();
    };
    let pre = s.predose_moaas();
    let mut out = format!("{} at {}", lowest.moaas, times.rel(lowest.at));
    out.push_str(&match pre {
        Some(p) => format!(" (pre-dose {p})"),
        None => " (no pre-dose rating)".to_owned(),
    });
    if is_sedated(pre, lowest.moaas) {
        let reference = pre.unwrap_or(5);
        match after
            .iter()
            .find(|r| r.at > lowest.at && !is_sedated(pre, r.moaas))
        {
            Some(back) => out.push_str(&format!("; back to {reference} at {}", times.rel(back.at))),
            None => out.push_str(&format!(
                "; not back to {reference} by the last rating ({})",
                times.rel(after[after.len() - 1].at)
            )),
        }
    }
    out
}

fn discharge(s: &DosingSession, t: &Thresholds, rems: bool, times: &Times<'_>) -> String {
    let mut lines: Vec<String> = Vec::new();
    match &s.discharge {
        None => lines.push("Discharge: not recorded".to_owned()),
        Some(d) => {
            lines.push(match s.dose_time {
                Some(t0) => format!(
                    "Discharged at {}, {} min after T0.",
                    times.clock(d.at),
                    crate::model::session::minutes_from_t0(t0, d.at)
                ),
                None => format!("Discharged at {} (no dose given).", times.clock(d.at)),
            });
            lines.push(match (d.transport_arranged, d.without_transport()) {
                (true, _) => "Transport home arranged: yes".to_owned(),
                (false, Some(how)) => {
                    format!("Transport home arranged: no; {how} (the patient must not drive today)")
                }
                (false, None) => {
                    "Transport home arranged: no (the patient must not drive today)".to_owned()
                }
            });
            match d.ready_minutes {
                Some(m) => lines.push(format!(
                    "Ready to leave without the 2-hour rule at: {m} min"
                )),
                None if rems => lines.push(format!(
                    "Ready to leave without the 2-hour rule at: {NOT_RECORDED}"
                )),
                None => {}
            }
            let early = s.dose_time.is_some() && !observation_time_met(s, d.at, t);
            if early || s.early_end_reason.is_some() {
                lines.push(format!(
                    "Ended before the minimum observation time ({} min): {}",
                    t.min_observation_minutes,
                    s.early_end_reason
                        .as_deref()
                        .filter(|r| !r.trim().is_empty())
                        .unwrap_or("reason not recorded")
                ));
            }
        }
    }
    lines.join("\n")
}

fn plan(s: &DosingSession, rems: bool, times: &Times<'_>) -> String {
    if !rems {
        return String::new();
    }
    let at = s.dose_time.unwrap_or(s.at);
    format!(
        "REMS patient monitoring form due by {}.",
        times.date(rems_form_due(at))
    )
}

/// The session note's sections written from `s`: pre-dose vitals and MOAA/S; medication, route,
/// dose, lot and T0; each observation on its minute from T0 (adverse events marked); the
/// monitoring summary (BP before dosing, at the profile's timed checks and before discharge,
/// lowest SpO2 and MOAA/S, dissociation, flags); the discharge; and, under the REMS, when the
/// monitoring form is due. Times are shown in `tz`. Without a profile, the default thresholds
/// and checklist apply. Nothing is invented: a missing value reads "not recorded".
pub fn session_note_sections(
    s: &DosingSession,
    protocol: Option<&Protocol>,
    tz: &TimeZone,
) -> Vec<Section> {
    let t = protocol.map(|p| p.thresholds).unwrap_or_default();
    let defaults;
    let checkpoints = match protocol {
        Some(p) => &p.checkpoints,
        None => {
            defaults = default_checkpoints(&t);
            &defaults
        }
    };
    let rems = is_rems_session(s, protocol);
    let times = Times {
        tz,
        t0: s.dose_time,
    };
    let bodies = [
        before_dosing(s, &t, &times),
        dose(s, protocol, &times),
        course(s, &times),
        monitoring(s, &t, checkpoints, &times),
        discharge(s, &t, rems, &times),
        plan(s, rems, &times),
    ];
    HEADINGS
        .iter()
        .zip(bodies)
        .map(|(h, b)| Section::new(*h, b))
        .collect()
}

/// A draft session note for `s` from `template` (normally the built-in `dosing-session`): the
/// template's sections in its order, those with the headings above holding the text of
/// [`session_note_sections`], linked to the session and titled like it on the timeline.
pub fn session_note_draft(
    s: &DosingSession,
    protocol: Option<&Protocol>,
    template: &Template,
    id: RecordId,
    tz: &TimeZone,
) -> Note {
    let mut note = template.new_note(id, s.patient.clone(), s.at);
    note.title = session_summary(s);
    note.session = Some(s.id.clone());
    for section in session_note_sections(s, protocol, tz) {
        match note
            .sections
            .iter_mut()
            .find(|n| n.heading == section.heading)
        {
            Some(slot) => slot.body = section.body,
            None => note.sections.push(section),
        }
    }
    note
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        Discharge, DissociationRating, Observation, Patient, PatientId, SedationRating,
    };
    use crate::protocols::builtins;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn vitals(at: &str, s: u16, d: u16, hr: u16, o: u8) -> Vitals {
        Vitals {
            at: ts(at),
            systolic: Some(s),
            diastolic: Some(d),
            heart_rate: Some(hr),
            spo2: Some(o),
        }
    }

    fn esketamine_session() -> DosingSession {
        let p = builtins().get("esketamine-rems").unwrap();
        let patient = Patient::new(PatientId::parse("p1").unwrap(), "Test Patient");
        let mut s = p.start_session(
            RecordId::parse("s1").unwrap(),
            &patient,
            Some(3),
            ts("2026-03-05T09:00:00Z"),
        );
        s.lot = Some("TEST-LOT-1".into());
        s.dose_time = Some(ts("2026-03-05T09:10:00Z"));
        s.vitals = vec![
            vitals("2026-03-05T09:00:00Z", 146, 92, 80, 98),
            vitals("2026-03-05T09:06:00Z", 134, 86, 76, 98),
            vitals("2026-03-05T09:51:00Z", 176, 95, 88, 95),
            vitals("2026-03-05T11:05:00Z", 130, 82, 72, 97),
        ];
        s.observations = vec![
            Observation {
                at: ts("2026-03-05T09:10:00Z"),
                text: "Device 1 given.".into(),
                adverse: false,
            },
            Observation {
                at: ts("2026-03-05T09:53:00Z"),
                text: "Nausea; vomited once.\nSettled with rest.".into(),
                adverse: true,
            },
        ];
        s.sedation = vec![
            SedationRating {
                at: ts("2026-03-05T09:07:00Z"),
                moaas: 5,
            },
            SedationRating {
                at: ts("2026-03-05T09:35:00Z"),
                moaas: 3,
            },
            SedationRating {
                at: ts("2026-03-05T10:50:00Z"),
                moaas: 5,
            },
        ];
        s.dissociation = vec![DissociationRating {
            at: ts("2026-03-05T09:52:00Z"),
            scale: "CADSS".into(),
            total: 24.0,
        }];
        s.discharge = Some(Box::new(Discharge {
            at: ts("2026-03-05T11:15:00Z"),
            transport_arranged: true,
            collected_by: None,
            transport_refused: None,
            ready_minutes: Some(95),
        }));
        s
    }

    fn bodies(s: &DosingSession, p: Option<&Protocol>) -> Vec<(String, String)> {
        session_note_sections(s, p, &TimeZone::UTC)
            .into_iter()
            .map(|x| (x.heading, x.body))
            .collect()
    }

    #[test]
    fn an_esketamine_session_reads_as_a_note() {
        let s = esketamine_session();
        let p = builtins().for_session(&s);
        let got = bodies(&s, p);
        let want: Vec<(String, String)> = [
            (
                "Before dosing",
                "Vitals before dosing:\n\
                 -10 min (09:00)  BP 146/92, HR 80, SpO2 98%  FLAG: pre-dose BP 146/92 is above \
                 140/90 (clinic default): consider delaying treatment\n\
                 -4 min (09:06)  BP 134/86, HR 76, SpO2 98%\n\
                 MOAA/S before dosing: 5",
            ),
            (
                "Dose",
                "Protocol: Intranasal esketamine (Spravato, REMS) (esketamine-rems)\n\
                 Medication: esketamine\n\
                 Route: intranasal\n\
                 Dose: 56 mg (2 devices of 28 mg)\n\
                 Lot: TEST-LOT-1\n\
                 T0: 09:10",
            ),
            (
                "Course of the session",
                "+0 min  Device 1 given.\n\
                 +43 min  ADVERSE EVENT: Nausea; vomited once.\n\
                 \x20        Settled with rest.",
            ),
        ]
        .into_iter()
        .map(|(h, b)| (h.to_owned(), b.to_owned()))
        .collect();
        assert_eq!(got[..3], want[..]);
        let monitoring = &got[3].1;
        assert_eq!(
            monitoring,
            "BP before dosing: 134/86 at -4 min\n\
             BP at about 40 min: 176/95 at +41 min\n\
             BP before discharge: 130/82 at +115 min\n\
             SpO2 lowest: 95% at +41 min\n\
             MOAA/S lowest: 3 at +25 min (pre-dose 5); back to 5 at +100 min\n\
             Dissociation: CADSS 24 at +42 min\n\
             Flag thresholds: BP 180/110 or more, systolic below 90, HR above 120 or below 50, \
             SpO2 below 90% (clinic defaults)\n\
             Flags:\n\
             - -10 min: pre-dose BP 146/92 is above 140/90 (clinic default): consider delaying \
             treatment\n\
             - +41 min: BP up +42/+9 from baseline (flagged from +40/+25, clinic default)"
        );
        assert_eq!(
            got[4],
            (
                "Discharge".to_owned(),
                "Discharged at 11:15, 125 min after T0.\n\
                 Transport home arranged: yes\n\
                 Ready to leave without the 2-hour rule at: 95 min"
                    .to_owned()
            )
        );
        assert_eq!(
            got[5],
            (
                "Plan".to_owned(),
                "REMS patient monitoring form due by 2026-03-12.".to_owned()
            )
        );
    }

    #[test]
    fn a_weight_based_dose_shows_mg_per_kg_and_weight_and_missing_values_say_so() {
        let p = builtins().get("iv-ketamine").unwrap();
        let mut patient = Patient::new(PatientId::parse("p1").unwrap(), "Test Patient");
        patient.weight_kg = Some(72.4);
        let mut s = p.start_session(
            RecordId::parse("s2").unwrap(),
            &patient,
            None,
            ts("2026-03-05T09:00:00Z"),
        );
        assert_eq!(s.dose_in_mg(), Some(36.2));
        s.dose_time = Some(ts("2026-03-05T09:10:00Z"));
        s.discharge = Some(Box::new(Discharge {
            at: ts("2026-03-05T10:40:00Z"),
            transport_arranged: false,
            collected_by: None,
            transport_refused: None,
            ready_minutes: None,
        }));
        let got = bodies(&s, Some(p));
        assert_eq!(
            got[1].1,
            "Protocol: IV ketamine infusion (0.5 mg/kg over 40 min) (iv-ketamine)\n\
             Medication: ketamine\n\
             Route: IV\n\
             Dose: 36.2 mg (0.5 mg/kg x 72.4 kg)\n\
             Lot: not recorded\n\
             T0: 09:10"
        );
        assert_eq!(
            got[0].1,
            "Vitals before dosing: not recorded\nMOAA/S before dosing: not recorded"
        );
        assert_eq!(got[2].1, "No observations recorded.");
        assert_eq!(
            got[3].1,
            "BP before dosing: not recorded\n\
             BP at about 20 min: not recorded\n\
             BP at about 40 min: not recorded\n\
             BP before discharge: not recorded\n\
             SpO2 lowest: not recorded\n\
             MOAA/S lowest: not recorded\n\
             Dissociation: not recorded\n\
             Flag thresholds: BP 180/110 or more, systolic below 90, HR above 120 or below 50, \
             SpO2 below 90% (clinic defaults)\n\
             Flags: none"
        );
        assert_eq!(
            got[4].1,
            "Discharged at 10:40, 90 min after T0.\n\
             Transport home arranged: no (the patient must not drive today)\n\
             Ended before the minimum observation time (120 min): reason not recorded"
        );
        assert_eq!(got[5].1, "", "no REMS form for ketamine");
        s.early_end_reason = Some("Left against advice; partner drove.".into());
        assert!(
            bodies(&s, Some(p))[4]
                .1
                .ends_with("(120 min): Left against advice; partner drove.")
        );
    }

    #[test]
    fn the_draft_follows_the_template_links_the_session_and_can_be_signed() {
        let s = esketamine_session();
        let template = crate::templates::builtins().get("dosing-session").unwrap();
        let note = session_note_draft(
            &s,
            builtins().for_session(&s),
            template,
            RecordId::parse("n1").unwrap(),
            &TimeZone::UTC,
        );
        let headings: Vec<&str> = note.sections.iter().map(|x| x.heading.as_str()).collect();
        assert_eq!(headings, HEADINGS);
        assert_eq!(note.session, Some(s.id.clone()));
        assert_eq!(note.template.as_deref(), Some("dosing-session"));
        assert_eq!(note.title, "Session 3: esketamine 56 mg intranasal");
        assert!(note.validate().is_ok());
        assert!(template.unfilled_required(&note).is_empty());
    }

    #[test]
    fn the_rems_applies_to_esketamine_whatever_the_profile() {
        let mut s = esketamine_session();
        assert!(is_rems_session(&s, None));
        s.medication = "Spravato".into();
        assert!(is_rems_session(&s, None));
        s.medication = "ketamine".into();
        assert!(!is_rems_session(&s, None));
        assert!(is_rems_session(&s, builtins().get("esketamine-rems")));
        assert!(!is_rems_session(&s, builtins().get("iv-ketamine")));
    }
}
