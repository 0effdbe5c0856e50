//! Timeline assembly: one patient's records as dated entries, newest first, and the course
//! progress shown in the patient header.

use super::course::Course;
use super::goal::IntegrationGoal;
use super::ids::RecordId;
use super::lists::ListEntry;
use super::measure::{Instrument, Measure, Score};
use super::note::{Note, NoteKind, NoteStatus};
use super::patient::Patient;
use super::record::{Record, RecordRef};
use super::safety::SafetyFollowUp;
use super::session::DosingSession;
use jiff::Timestamp;

/// Everything kept for one patient.
#[derive(Debug, Clone, PartialEq)]
pub struct PatientRecords {
    pub patient: Patient,
    pub notes: Vec<Note>,
    pub sessions: Vec<DosingSession>,
    pub measures: Vec<Measure>,
    pub goals: Vec<IntegrationGoal>,
    pub follow_ups: Vec<SafetyFollowUp>,
    pub courses: Vec<Course>,
    /// The problem, medication and allergy lists' entries.
    pub lists: Vec<ListEntry>,
}

impl PatientRecords {
    pub fn new(patient: Patient) -> Self {
        Self {
            patient,
            notes: vec![],
            sessions: vec![],
            measures: vec![],
            goals: vec![],
            follow_ups: vec![],
            courses: vec![],
            lists: vec![],
        }
    }

    /// Files a timeline record under its kind. A patient record replaces the patient.
    pub fn push(&mut self, r: Record) {
        match r {
            Record::Patient(p) => self.patient = p,
            Record::Note(n) => self.notes.push(n),
            Record::Session(s) => self.sessions.push(s),
            Record::Measure(m) => self.measures.push(m),
            Record::Goal(g) => self.goals.push(g),
            Record::SafetyFollowUp(f) => self.follow_ups.push(f),
            Record::Course(c) => self.courses.push(c),
            Record::ListEntry(l) => self.lists.push(l),
        }
    }

    /// The patient's timeline records oldest first, the order exports and charts use; records
    /// at the same moment go by kind (note, session, measure, goal, follow-up, course, list entry), then id, so the order is
    /// total. Psychotherapy notes are left out unless `include_private`.
    pub fn chronological(&self, include_private: bool) -> Vec<RecordRef<'_>> {
        let mut out: Vec<RecordRef<'_>> = Vec::with_capacity(
            self.notes.len()
                + self.sessions.len()
                + self.measures.len()
                + self.goals.len()
                + self.follow_ups.len()
                + self.courses.len()
                + self.lists.len(),
        );
        out.extend(
            self.notes
                .iter()
                .filter(|n| include_private || !n.kind.is_private())
                .map(RecordRef::Note),
        );
        out.extend(self.sessions.iter().map(RecordRef::Session));
        out.extend(self.measures.iter().map(RecordRef::Measure));
        out.extend(self.goals.iter().map(RecordRef::Goal));
        out.extend(self.follow_ups.iter().map(RecordRef::SafetyFollowUp));
        out.extend(self.courses.iter().map(RecordRef::Course));
        out.extend(self.lists.iter().map(RecordRef::ListEntry));
        out.sort_unstable_by(|a, b| (a.at(), a.kind(), a.id()).cmp(&(b.at(), b.kind(), b.id())));
        out
    }

    /// The latest measure of `instrument` that scores, with its score.
    pub fn latest(&self, instrument: Instrument) -> Option<(&Measure, Score)> {
        self.measures
            .iter()
            .filter(|m| m.instrument == instrument)
            .filter_map(|m| m.score().ok().map(|s| (m, s)))
            .max_by(|a, b| (a.0.at, &a.0.id).cmp(&(b.0.at, &b.0.id)))
    }
}

/// What a timeline entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Note(NoteKind),
    Session,
    Measure(Instrument),
    GoalSet,
    CheckIn,
    SafetyFollowUp,
    Course,
    /// A problem, medication or allergy list entry.
    List(super::lists::ListKind),
}

impl EntryKind {
    /// A short tag for narrow columns.
    pub fn tag(self) -> &'static str {
        match self {
            EntryKind::Note(NoteKind::Preparation) => "PREP",
            EntryKind::Note(NoteKind::Session) => "SESS",
            EntryKind::Note(NoteKind::Integration) => "INTG",
            EntryKind::Note(NoteKind::Psychotherapy) => "PSY",
            EntryKind::Session => "DOSE",
            EntryKind::Measure(Instrument::Phq9) => "PHQ9",
            EntryKind::Measure(Instrument::Gad7) => "GAD7",
            EntryKind::Measure(_) => "SCALE",
            EntryKind::GoalSet => "GOAL",
            EntryKind::CheckIn => "CHK",
            EntryKind::SafetyFollowUp => "SAFE",
            EntryKind::Course => "CRSE",
            EntryKind::List(super::lists::ListKind::Problem) => "PROB",
            EntryKind::List(super::lists::ListKind::Medication) => "MED",
            EntryKind::List(super::lists::ListKind::Allergy) => "ALLG",
        }
    }
}

/// One line of a patient's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    pub at: Timestamp,
    pub kind: EntryKind,
    /// The record the entry shows.
    pub record: RecordId,
    /// For a check-in, its index in the goal's check-ins.
    pub check_in: Option<usize>,
    pub title: String,
    /// Draft or signed, for notes; open or signed, for dosing sessions.
    pub status: Option<NoteStatus>,
    /// Needs attention: PHQ-9 item 9 above 0, or an adverse event in a session.
    pub flagged: bool,
}

/// The session's line, led by the kinds of flag its record holds (first, so a narrow pane
/// still shows what the `!` is): "BP, SpO2 · Session 3: ...".
fn session_title(s: &DosingSession, kinds: &[super::monitoring::FlagKind]) -> String {
    let line = session_line(s);
    if kinds.is_empty() {
        return line;
    }
    let names: Vec<&str> = kinds.iter().map(|k| k.label()).collect();
    format!("{} · {line}", names.join(", "))
}

/// A one-line summary of a measure: "PHQ-9 14 moderate, item 9 = 1".
pub fn measure_summary(m: &Measure) -> String {
    match m.score() {
        Ok(Score::Scored {
            total,
            band,
            item9_flag,
        }) => {
            let mut s = format!("{} {} {}", m.instrument.label(), total, band.label());
            if item9_flag {
                s.push_str(&format!(", ITEM 9 = {}", m.items[8]));
            }
            s
        }
        Ok(Score::Entered(t)) => format!("{} {}", m.instrument.label(), t),
        Err(e) => format!("{} (cannot score: {e})", m.instrument.label()),
    }
}

/// A one-line summary of a dosing session: "Session 3: esketamine 84 mg intranasal".
pub fn session_summary(s: &DosingSession) -> String {
    let mut out = match s.number {
        Some(n) => format!("Session {n}: {}", s.medication),
        None => format!("Dosing: {}", s.medication),
    };
    if let Some(mg) = s.dose_in_mg() {
        out.push_str(&format!(" {mg} mg"));
    }
    if let Some(per_kg) = s.dose_mg_per_kg {
        out.push_str(&format!(" ({per_kg} mg/kg)"));
    }
    out.push(' ');
    out.push_str(s.route.label());
    out
}

/// A session's timeline line: the summary, then how long it ran, or that it is still open.
fn session_line(s: &DosingSession) -> String {
    let mut out = session_summary(s);
    match (s.discharge.as_ref(), s.dose_time) {
        (Some(d), Some(_)) => {
            let ran = s.minutes_since_dose(d.at).unwrap_or_default().max(0);
            out.push_str(&format!(" · {ran} min"));
        }
        (Some(_), None) => out.push_str(" · not dosed"),
        (None, Some(_)) => out.push_str(" · in progress"),
        (None, None) => {}
    }
    out
}

/// The patient's timeline, newest first; ties keep a stable order by kind and id.
pub fn timeline(r: &PatientRecords) -> Vec<TimelineEntry> {
    let mut out =
        Vec::with_capacity(r.notes.len() + r.sessions.len() + r.measures.len() + r.goals.len() * 3);
    for n in &r.notes {
        out.push(TimelineEntry {
            at: n.at,
            kind: EntryKind::Note(n.kind),
            record: n.id.clone(),
            check_in: None,
            title: n.title.clone(),
            status: Some(n.status),
            flagged: false,
        });
    }
    for s in &r.sessions {
        // Adverse events, sedation and vitals flags by the default thresholds (the timeline
        // does not know each session's profile; the console and detail use the profile's).
        let kinds = super::monitoring::flag_kinds(s, &super::monitoring::Thresholds::default());
        out.push(TimelineEntry {
            at: s.at,
            kind: EntryKind::Session,
            record: s.id.clone(),
            check_in: None,
            title: session_title(s, &kinds),
            // Open (✎) until signed (✓), like a note.
            status: Some(if s.is_signed() {
                NoteStatus::Signed
            } else {
                NoteStatus::Draft
            }),
            flagged: !kinds.is_empty(),
        });
    }
    for m in &r.measures {
        out.push(TimelineEntry {
            at: m.at,
            kind: EntryKind::Measure(m.instrument),
            record: m.id.clone(),
            check_in: None,
            title: measure_summary(m),
            status: None,
            flagged: m.score().is_ok_and(|s| s.item9_flag()),
        });
    }
    for g in &r.goals {
        out.push(TimelineEntry {
            at: g.at,
            kind: EntryKind::GoalSet,
            record: g.id.clone(),
            check_in: None,
            title: format!("Goal set: {} ({})", g.title, g.domain.as_str()),
            status: None,
            flagged: false,
        });
        for (i, c) in g.check_ins.iter().enumerate() {
            out.push(TimelineEntry {
                at: c.at,
                kind: EntryKind::CheckIn,
                record: g.id.clone(),
                check_in: Some(i),
                title: format!("Check-in: {} — progress {}/10", g.title, c.progress),
                status: None,
                flagged: false,
            });
        }
    }
    for f in &r.follow_ups {
        out.push(TimelineEntry {
            at: f.at,
            kind: EntryKind::SafetyFollowUp,
            record: f.id.clone(),
            check_in: None,
            title: f.summary(),
            status: None,
            flagged: false,
        });
    }
    for c in &r.courses {
        let mut title = format!("Course: {} started by {}", c.kind.label(), c.by);
        if let Some(n) = c.planned_sessions {
            title.push_str(&format!(", {n} sessions planned"));
        }
        out.push(TimelineEntry {
            at: c.at,
            kind: EntryKind::Course,
            record: c.id.clone(),
            check_in: None,
            title,
            status: None,
            flagged: false,
        });
    }
    for l in &r.lists {
        out.push(TimelineEntry {
            at: l.at,
            kind: EntryKind::List(l.list),
            record: l.id.clone(),
            check_in: None,
            title: l.summary(),
            status: None,
            // An allergy is what a clinician must not miss.
            flagged: l.list == super::lists::ListKind::Allergy && l.stopped.is_none(),
        });
    }
    out.sort_by(|a, b| {
        b.at.cmp(&a.at)
            .then_with(|| a.kind.tag().cmp(b.kind.tag()))
            .then_with(|| a.record.cmp(&b.record))
            .then_with(|| a.check_in.cmp(&b.check_in))
    });
    out
}

/// "session 3 of 6, then maintenance" during induction, "session 8, maintenance" after it,
/// "no sessions yet" before. A session counts once its dose time is marked; its number, when recorded, wins.
pub fn course_progress(sessions: &[DosingSession], induction_sessions: u32) -> String {
    let dosed = sessions.iter().filter(|s| s.dose_time.is_some());
    let highest_number = dosed.clone().filter_map(|s| s.number).max().unwrap_or(0);
    let given = highest_number.max(dosed.count() as u32);
    match given {
        0 => "no sessions yet".to_string(),
        n if n <= induction_sessions => {
            format!("session {n} of {induction_sessions}, then maintenance")
        }
        n => format!("session {n}, maintenance"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ids::PatientId;
    use crate::model::note::Section;
    use crate::model::session::Route;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn records() -> PatientRecords {
        let pid = PatientId::parse("p1").unwrap();
        let mut r = PatientRecords::new(Patient::new(pid.clone(), "Test Person"));
        r.notes.push(Note::draft(
            RecordId::parse("n1").unwrap(),
            pid.clone(),
            NoteKind::Preparation,
            ts("2026-03-01T10:00:00Z"),
            "Prep",
            vec![Section::new("Intentions", "x")],
        ));
        r.measures.push(Measure {
            id: RecordId::parse("m1").unwrap(),
            patient: pid.clone(),
            instrument: Instrument::Phq9,
            at: ts("2026-03-01T09:00:00Z"),
            items: vec![2, 2, 2, 2, 1, 1, 1, 1, 1],
            entered_total: None,
            session: None,
        });
        r.sessions.push(DosingSession {
            number: Some(1),
            dose_mg: Some(56.0),
            dose_time: Some(ts("2026-03-05T09:10:00Z")),
            ..DosingSession::new(
                RecordId::parse("s1").unwrap(),
                pid.clone(),
                ts("2026-03-05T09:00:00Z"),
                "esketamine",
                Route::Intranasal,
            )
        });
        r
    }

    #[test]
    fn timeline_is_newest_first_with_tags_and_flags() {
        let t = timeline(&records());
        let tags: Vec<&str> = t.iter().map(|e| e.kind.tag()).collect();
        assert_eq!(tags, vec!["DOSE", "PREP", "PHQ9"]);
        assert_eq!(
            t[0].title,
            "Session 1: esketamine 56 mg intranasal · in progress"
        );
        let mut ended = records();
        ended.sessions[0].discharge = Some(Box::new(crate::model::Discharge {
            at: ts("2026-03-05T11:15:00Z"),
            transport_arranged: true,
            collected_by: None,
            transport_refused: None,
            ready_minutes: None,
        }));
        assert_eq!(
            timeline(&ended)[0].title,
            "Session 1: esketamine 56 mg intranasal · 125 min"
        );
        assert_eq!(t[1].status, Some(NoteStatus::Draft));
        assert_eq!(t[2].title, "PHQ-9 13 moderate, ITEM 9 = 1");
        assert!(t[2].flagged, "item 9 above 0 is flagged on the timeline");
    }

    #[test]
    fn course_progress_reads_like_a_clinician() {
        let mut r = records();
        assert_eq!(
            course_progress(&r.sessions, 6),
            "session 1 of 6, then maintenance"
        );
        r.sessions[0].dose_time = None;
        assert_eq!(course_progress(&r.sessions, 6), "no sessions yet");
        r.sessions[0].dose_time = Some(ts("2026-03-05T09:10:00Z"));
        r.sessions[0].number = Some(8);
        assert_eq!(course_progress(&r.sessions, 6), "session 8, maintenance");
    }

    #[test]
    fn latest_measure_is_by_time() {
        let mut r = records();
        let mut later = r.measures[0].clone();
        later.id = RecordId::parse("m2").unwrap();
        later.at = ts("2026-04-01T09:00:00Z");
        later.items = vec![0; 9];
        r.measures.push(later);
        let (m, s) = r.latest(Instrument::Phq9).unwrap();
        assert_eq!(m.id.as_str(), "m2");
        assert_eq!(s.total(), 0.0);
        assert!(r.latest(Instrument::Gad7).is_none());
    }
}
