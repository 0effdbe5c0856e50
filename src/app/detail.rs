//! What the detail pane says about the selected timeline entry, as lines of tagged text. The
//! tags say what a span is (heading, flag, signed...), and `ui` picks the colours, so the
//! content is tested here without a terminal.

use crate::model::measure::{Score, baseline, outcome};
use crate::model::monitoring::{Thresholds, is_sedated, reading_flags};
use crate::model::timeline::measure_summary;
use crate::model::{
    Course, DosingSession, EntryField, EntryKind, IntegrationGoal, Measure, Note, NoteStatus,
    PatientRecords, SafetyFollowUp, TimelineEntry,
};
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// What a piece of text is, for styling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Title,
    Heading,
    Label,
    Text,
    Dim,
    /// Needs the clinician's attention (item 9, adverse event, BP over threshold).
    Flag,
    Signed,
    Draft,
    Private,
    /// An original replaced by a correction: struck through, still readable.
    Struck,
}

pub type Span = (Tone, String);
pub type DetailLine = Vec<Span>;

/// Formats a time in the clinic's zone, to the minute.
pub fn when(at: Timestamp, tz: &TimeZone) -> String {
    at.to_zoned(tz.clone())
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

fn clock(at: Timestamp, tz: &TimeZone) -> String {
    at.to_zoned(tz.clone()).strftime("%H:%M").to_string()
}

fn line(spans: impl IntoIterator<Item = (Tone, String)>) -> DetailLine {
    spans.into_iter().collect()
}

fn text(tone: Tone, s: impl Into<String>) -> DetailLine {
    vec![(tone, s.into())]
}

fn field(label: &str, value: impl Into<String>) -> DetailLine {
    line([
        (Tone::Label, format!("{label}: ")),
        (Tone::Text, value.into()),
    ])
}

/// The lines for one entry; empty when the record is gone (e.g. deleted by an import).
pub fn document(
    r: &PatientRecords,
    e: &TimelineEntry,
    tz: &TimeZone,
    thresholds: &Thresholds,
) -> Vec<DetailLine> {
    match e.kind {
        EntryKind::Note(_) => r
            .notes
            .iter()
            .find(|n| n.id == e.record)
            .map(|n| note(n, tz))
            .unwrap_or_default(),
        EntryKind::Session => r
            .sessions
            .iter()
            .find(|s| s.id == e.record)
            .map(|s| session(s, tz, thresholds))
            .unwrap_or_default(),
        EntryKind::Measure(_) => r
            .measures
            .iter()
            .find(|m| m.id == e.record)
            .map(|m| measure(r, m, tz))
            .unwrap_or_default(),
        EntryKind::GoalSet | EntryKind::CheckIn => r
            .goals
            .iter()
            .find(|g| g.id == e.record)
            .map(|g| goal(g, e.check_in, tz))
            .unwrap_or_default(),
        EntryKind::SafetyFollowUp => r
            .follow_ups
            .iter()
            .find(|f| f.id == e.record)
            .map(|f| follow_up(r, f, tz))
            .unwrap_or_default(),
        EntryKind::Course => r
            .courses
            .iter()
            .find(|c| c.id == e.record)
            .map(|c| course(c, tz))
            .unwrap_or_default(),
        EntryKind::List(_) => r
            .lists
            .iter()
            .find(|l| l.id == e.record)
            .map(|l| list_entry(l, tz))
            .unwrap_or_default(),
    }
}

/// A list entry with its dates, and every stop and correction, the replaced values struck.
fn list_entry(l: &crate::model::ListEntry, tz: &TimeZone) -> Vec<DetailLine> {
    use crate::model::lists::RevisionKind;
    let mut out = vec![
        text(Tone::Title, format!("{}: {}", l.list.label(), l.name)),
        text(
            Tone::Dim,
            format!(
                "{} list · recorded {} by {}",
                l.list.label(),
                when(l.at, tz),
                l.by
            ),
        ),
    ];
    if !l.detail.trim().is_empty() {
        let label = match l.list {
            crate::model::ListKind::Medication => "Dose",
            crate::model::ListKind::Allergy => "Reaction",
            crate::model::ListKind::Problem => "Detail",
        };
        out.push(field(label, l.detail.clone()));
    }
    if let Some(c) = l.class {
        out.push(field("Class", c.label()));
    }
    out.push(field(
        "Started",
        l.started.map_or("not known".to_string(), |d| d.to_string()),
    ));
    match l.stopped {
        Some(d) => out.push(line([
            (Tone::Label, format!("{}: ", l.list.stopped_label())),
            (Tone::Draft, d.to_string()),
        ])),
        None => out.push(field("Status", "current")),
    }
    for r in &l.revisions {
        let who = format!("{} by {}", when(r.at, tz), r.by);
        match r.kind {
            RevisionKind::Stopped => out.push(text(
                Tone::Dim,
                format!(
                    "{} {who}{}",
                    l.list.stopped_word(),
                    if r.why.trim().is_empty() {
                        String::new()
                    } else {
                        format!(": {}", r.why)
                    }
                ),
            )),
            RevisionKind::Corrected => {
                out.push(text(Tone::Dim, format!("Corrected {who}: {}", r.why)));
                let was = r.before.describe(l.list);
                out.push(line([
                    (Tone::Label, "  was: ".to_string()),
                    (Tone::Struck, was),
                ]));
            }
        }
    }
    out
}

fn follow_up(r: &PatientRecords, f: &SafetyFollowUp, tz: &TimeZone) -> Vec<DetailLine> {
    let mut out = vec![
        text(Tone::Title, "Safety follow-up"),
        text(
            Tone::Dim,
            format!("PHQ-9 item 9 follow-up · {}", when(f.at, tz)),
        ),
        field("Risk assessed", f.risk.as_str()),
        field("Plan", f.plan.clone()),
        field("By", f.by.clone()),
    ];
    if let Some(m) = f
        .measure
        .as_ref()
        .and_then(|id| r.measures.iter().find(|m| &m.id == id))
    {
        out.push(field(
            "Answers",
            format!("{} of {}", measure_summary(m), when(m.at, tz)),
        ));
    }
    out
}

fn course(c: &Course, tz: &TimeZone) -> Vec<DetailLine> {
    let mut out = vec![
        text(Tone::Title, format!("Course: {}", c.kind.label())),
        text(Tone::Dim, format!("Started {} by {}", when(c.at, tz), c.by)),
    ];
    if let Some(n) = c.planned_sessions {
        out.push(field("Induction sessions planned", n.to_string()));
    }
    if !c.reason.trim().is_empty() {
        out.push(field("Reason", c.reason.clone()));
    }
    out.push(text(
        Tone::Dim,
        match c.kind {
            crate::model::CourseKind::Maintenance => {
                "The course under way continues as maintenance: same baseline and numbering."
            }
            _ => "A new course: its own baseline score, session numbers and check-in schedule.",
        },
    ));
    out
}

fn note(n: &Note, tz: &TimeZone) -> Vec<DetailLine> {
    let mut out = vec![text(Tone::Title, n.title.clone())];
    let mut meta = vec![(
        Tone::Dim,
        format!("{} · {}", n.kind.label(), when(n.at, tz)),
    )];
    if let Some(t) = &n.template {
        meta.push((Tone::Dim, format!(" · template {t}")));
    }
    out.push(meta);
    if n.kind.is_private() {
        out.push(text(
            Tone::Private,
            "PRIVATE psychotherapy note: kept out of exports unless authorised",
        ));
    }
    out.push(match (n.status, &n.signed_by, n.signed_at) {
        (NoteStatus::Signed, by, at) => line([(
            Tone::Signed,
            format!(
                "Signed by {} on {}",
                by.as_deref().unwrap_or("(unknown)"),
                at.map(|a| when(a, tz)).unwrap_or_default()
            ),
        )]),
        _ => text(Tone::Draft, "DRAFT: not signed"),
    });
    for s in &n.sections {
        out.push(Vec::new());
        out.push(text(Tone::Heading, s.heading.clone()));
        if s.body.trim().is_empty() {
            out.push(text(Tone::Dim, "(empty)"));
        }
        for l in s.body.lines() {
            out.push(text(Tone::Text, l.to_string()));
        }
    }
    for (i, a) in n.addenda.iter().enumerate() {
        out.push(Vec::new());
        out.push(text(
            Tone::Heading,
            format!("Addendum {} · {} · {}", i + 1, when(a.at, tz), a.by),
        ));
        for l in a.text.lines() {
            out.push(text(Tone::Text, l.to_string()));
        }
    }
    out
}

fn session(s: &DosingSession, tz: &TimeZone, t: &Thresholds) -> Vec<DetailLine> {
    let mut out = vec![
        text(Tone::Title, crate::model::timeline::session_summary(s)),
        text(Tone::Dim, format!("Dosing session · {}", when(s.at, tz))),
    ];
    if let Some(b) = s.booked_at() {
        // The line above says when it really started.
        out.push(field("Booked for", when(b, tz)));
    }
    if let Some(p) = &s.protocol {
        out.push(field("Protocol", p.clone()));
    }
    let mut dose = s
        .dose_in_mg()
        .map(|mg| format!("{mg} mg"))
        .unwrap_or_else(|| "not recorded".into());
    if let Some(k) = s.dose_mg_per_kg {
        dose.push_str(&format!(" ({k} mg/kg"));
        if let Some(w) = s.weight_kg {
            dose.push_str(&format!(" at {w} kg"));
        }
        dose.push(')');
    }
    out.push(field("Dose", format!("{dose}, {}", s.route.label())));
    out.extend(corrections(s, EntryField::Dose, 0, tz));
    for o in s.dose_overrides() {
        out.push(line([
            (Tone::Flag, "    outside the protocol: ".to_string()),
            (Tone::Text, format!("{} ({})", o.dose, o.check)),
        ]));
        out.push(line([(
            Tone::Dim,
            format!("    confirmed by {} {}: {}", o.by, when(o.at, tz), o.why),
        )]));
    }
    out.push(field("Lot", s.lot.clone().unwrap_or_else(|| "—".into())));
    out.extend(corrections(s, EntryField::Lot, 0, tz));
    out.push(field(
        "Dosed at",
        s.dose_time
            .map(|t| clock(t, tz))
            .unwrap_or_else(|| "not yet".into()),
    ));
    out.extend(corrections(s, EntryField::DoseTime, 0, tz));

    if !s.vitals.is_empty() {
        out.push(Vec::new());
        out.push(text(Tone::Heading, "Vitals"));
        out.push(text(
            Tone::Dim,
            format!("Flagged: {}", t.absolute_summary()),
        ));
        for (i, v) in s.vitals.iter().enumerate() {
            let mut l = vec![(Tone::Label, format!("{} ", clock(v.at, tz)))];
            if let Some(m) = s.minutes_since_dose(v.at) {
                l.push((Tone::Dim, format!("T{m:+} min ")));
            }
            let mut parts = Vec::new();
            if let Some((sy, di)) = v.bp() {
                parts.push(format!("BP {sy}/{di}"));
            }
            if let Some(h) = v.heart_rate {
                parts.push(format!("HR {h}"));
            }
            if let Some(o) = v.spo2 {
                parts.push(format!("SpO2 {o}%"));
            }
            l.push((Tone::Text, parts.join("  ")));
            for f in reading_flags(s, v, t) {
                l.push((Tone::Flag, format!("  ! {}", f.message(t))));
            }
            out.push(l);
            out.extend(corrections(s, EntryField::Vitals, i, tz));
        }
    }
    if !s.sedation.is_empty() {
        out.push(Vec::new());
        out.push(text(Tone::Heading, "Sedation (MOAA/S)"));
        let pre = s.predose_moaas();
        for (i, r) in s.sedation.iter().enumerate() {
            let mut l = vec![
                (Tone::Label, format!("{} ", clock(r.at, tz))),
                (Tone::Text, format!("{}/5", r.moaas)),
            ];
            if is_sedated(pre, r.moaas) {
                l.push((Tone::Flag, "  sedated (below pre-dose)".into()));
            }
            out.push(l);
            out.extend(corrections(s, EntryField::Sedation, i, tz));
        }
    }
    if !s.dissociation.is_empty() {
        out.push(Vec::new());
        out.push(text(Tone::Heading, "Dissociation"));
        for (i, d) in s.dissociation.iter().enumerate() {
            out.push(line([
                (Tone::Label, format!("{} ", clock(d.at, tz))),
                (Tone::Text, format!("{} {}", d.scale, d.total)),
            ]));
            out.extend(corrections(s, EntryField::Dissociation, i, tz));
        }
    }
    if !s.observations.is_empty() {
        out.push(Vec::new());
        out.push(text(Tone::Heading, "Observations"));
        for (i, o) in s.observations.iter().enumerate() {
            let mut l = vec![(Tone::Label, format!("{} ", clock(o.at, tz)))];
            if o.adverse {
                l.push((Tone::Flag, "ADVERSE ".into()));
            }
            l.push((Tone::Text, o.text.clone()));
            out.push(l);
            out.extend(corrections(s, EntryField::Observation, i, tz));
            if let Some(r) = s.adverse_resolved().iter().find(|r| r.event_at == o.at) {
                out.push(line([(
                    Tone::Dim,
                    format!("    resolved {} ({})", clock(r.at, tz), r.by),
                )]));
            }
        }
    }
    out.push(Vec::new());
    match &s.discharge {
        Some(d) => {
            let mut v = clock(d.at, tz);
            if let Some(m) = s.minutes_since_dose(d.at) {
                v.push_str(&format!(" ({m} min after dosing)"));
            }
            match (d.transport_arranged, d.without_transport()) {
                (true, _) => v.push_str(", transport arranged"),
                (false, Some(how)) => v.push_str(&format!(", NO transport: {how}")),
                (false, None) => v.push_str(", NO transport recorded"),
            }
            if let Some(r) = d.ready_minutes {
                v.push_str(&format!(", ready at {r} min"));
            }
            out.push(field("Discharge", v));
        }
        None => out.push(field("Discharge", "not recorded")),
    }
    if let Some(r) = &s.early_end_reason {
        out.push(field("Ended early", r.clone()));
    }
    out
}

/// Each original of the entry, struck through, with who corrected it, when and why.
fn corrections(
    s: &DosingSession,
    field: EntryField,
    index: usize,
    tz: &TimeZone,
) -> Vec<DetailLine> {
    s.corrections_of(field, index)
        .map(|k| {
            line([
                (Tone::Dim, "    was ".to_string()),
                (Tone::Struck, k.old.clone()),
                (
                    Tone::Dim,
                    format!("  corrected by {} {}: {}", k.by, when(k.at, tz), k.why),
                ),
            ])
        })
        .collect()
}

fn measure(r: &PatientRecords, m: &Measure, tz: &TimeZone) -> Vec<DetailLine> {
    let mut out = vec![
        text(Tone::Title, measure_summary(m)),
        text(
            Tone::Dim,
            format!("{} · {}", m.instrument.label(), when(m.at, tz)),
        ),
    ];
    match m.score() {
        Ok(Score::Scored {
            total, item9_flag, ..
        }) => {
            if item9_flag {
                out.push(text(
                    Tone::Flag,
                    format!(
                        "ITEM 9 (thoughts of self-harm) = {}: follow up whatever the total",
                        m.items[8]
                    ),
                ));
                use crate::model::safety::{Answered, answered_after};
                out.push(match answered_after(r, m.at) {
                    Some(Answered::FollowUp(f)) => field(
                        "Followed up",
                        format!(
                            "{} · risk {} · by {}",
                            when(f.at, tz),
                            f.risk.as_str(),
                            f.by
                        ),
                    ),
                    Some(Answered::SignedNote { signed_at }) => field(
                        "Followed up",
                        format!("a note signed {}", when(signed_at, tz)),
                    ),
                    None => text(
                        Tone::Flag,
                        "Not yet followed up: no signed note or safety follow-up since",
                    ),
                });
            }
            let base = baseline(&r.measures, m.instrument);
            if let Some(b) = base.filter(|b| b.id != m.id).and_then(|b| b.score().ok()) {
                let o = outcome(m.instrument, Some(b.total() as u8), total);
                let mut s = format!("baseline {} → {}", b.total(), total);
                if let Some(c) = o.change_percent {
                    s.push_str(&format!(" ({c:+.0}%)"));
                }
                if o.response {
                    s.push_str(", response");
                }
                if o.remission == Some(true) {
                    s.push_str(", remission");
                }
                out.push(field("Change", s));
            }
            if let Some(items) = m.instrument.items() {
                out.push(Vec::new());
                out.push(text(Tone::Heading, "Items"));
                for (i, (q, a)) in items.iter().zip(&m.items).enumerate() {
                    let tone = if i == 8 && *a > 0 {
                        Tone::Flag
                    } else {
                        Tone::Text
                    };
                    out.push(line([
                        (Tone::Label, format!("{:>2}. [{a}] ", i + 1)),
                        (tone, (*q).to_string()),
                    ]));
                }
            }
        }
        Ok(Score::Entered(t)) => out.push(field("Total (clinician-entered)", t.to_string())),
        Err(e) => out.push(text(Tone::Flag, format!("cannot score: {e}"))),
    }
    out
}

fn goal(g: &IntegrationGoal, focus: Option<usize>, tz: &TimeZone) -> Vec<DetailLine> {
    let mut out = vec![
        text(Tone::Title, g.title.clone()),
        text(
            Tone::Dim,
            format!(
                "Integration goal · {} · set {}",
                g.domain.as_str(),
                when(g.at, tz)
            ),
        ),
        field("Status", g.status.as_str()),
    ];
    if let Some(d) = g.target_date {
        out.push(field("Target", d.to_string()));
    }
    out.push(Vec::new());
    out.push(text(
        Tone::Heading,
        format!("Check-ins ({})", g.check_ins.len()),
    ));
    if g.check_ins.is_empty() {
        out.push(text(Tone::Dim, "(none yet)"));
    }
    for (i, c) in g.check_ins.iter().enumerate() {
        let marker = if focus == Some(i) { "▶ " } else { "  " };
        out.push(line([
            (Tone::Label, format!("{marker}{} ", when(c.at, tz))),
            (Tone::Text, format!("{}/10", c.progress)),
            (Tone::Dim, format!("  {}", c.note)),
        ]));
    }
    out
}
