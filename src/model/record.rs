//! A record is anything the store keeps: a patient, or one entry on a patient's timeline.

use super::ValidationError;
use super::course::Course;
use super::goal::IntegrationGoal;
use super::ids::{PatientId, RecordId};
use super::lists::ListEntry;
use super::measure::Measure;
use super::note::Note;
use super::patient::Patient;
use super::safety::SafetyFollowUp;
use super::session::DosingSession;
use jiff::Timestamp;

/// The kinds of record, with the tag used in files and store keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordKind {
    Patient,
    Note,
    Session,
    Measure,
    Goal,
    /// A safety follow-up of a PHQ-9 item 9 answer (risk assessed, plan, by whom).
    SafetyFollowUp,
    /// The start of a course: induction, maintenance, re-induction.
    Course,
    /// An entry on the problem, medication or allergy list.
    ListEntry,
}

impl RecordKind {
    pub const ALL: [RecordKind; 8] = [
        RecordKind::Patient,
        RecordKind::Note,
        RecordKind::Session,
        RecordKind::Measure,
        RecordKind::Goal,
        RecordKind::SafetyFollowUp,
        RecordKind::Course,
        RecordKind::ListEntry,
    ];

    /// The `type` of the record's line in the interchange format.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Patient => "patient",
            RecordKind::Note => "note",
            RecordKind::Session => "session",
            RecordKind::Measure => "measure",
            RecordKind::Goal => "goal",
            RecordKind::SafetyFollowUp => "safety_follow_up",
            RecordKind::Course => "course",
            RecordKind::ListEntry => "list_entry",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Any stored record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Patient(Patient),
    Note(Note),
    Session(DosingSession),
    Measure(Measure),
    Goal(IntegrationGoal),
    SafetyFollowUp(SafetyFollowUp),
    Course(Course),
    ListEntry(ListEntry),
}

impl Record {
    pub fn kind(&self) -> RecordKind {
        match self {
            Record::Patient(_) => RecordKind::Patient,
            Record::Note(_) => RecordKind::Note,
            Record::Session(_) => RecordKind::Session,
            Record::Measure(_) => RecordKind::Measure,
            Record::Goal(_) => RecordKind::Goal,
            Record::SafetyFollowUp(_) => RecordKind::SafetyFollowUp,
            Record::Course(_) => RecordKind::Course,
            Record::ListEntry(_) => RecordKind::ListEntry,
        }
    }

    /// The record's own id.
    pub fn id(&self) -> &str {
        match self {
            Record::Patient(p) => p.id.as_str(),
            Record::Note(n) => n.id.as_str(),
            Record::Session(s) => s.id.as_str(),
            Record::Measure(m) => m.id.as_str(),
            Record::Goal(g) => g.id.as_str(),
            Record::SafetyFollowUp(f) => f.id.as_str(),
            Record::Course(c) => c.id.as_str(),
            Record::ListEntry(l) => l.id.as_str(),
        }
    }

    /// The patient the record belongs to (a patient belongs to itself).
    pub fn patient(&self) -> &PatientId {
        match self {
            Record::Patient(p) => &p.id,
            Record::Note(n) => &n.patient,
            Record::Session(s) => &s.patient,
            Record::Measure(m) => &m.patient,
            Record::Goal(g) => &g.patient,
            Record::SafetyFollowUp(f) => &f.patient,
            Record::Course(c) => &c.patient,
            Record::ListEntry(l) => &l.patient,
        }
    }

    /// Where the record sits on the timeline; `None` for a patient.
    pub fn at(&self) -> Option<Timestamp> {
        match self {
            Record::Patient(_) => None,
            Record::Note(n) => Some(n.at),
            Record::Session(s) => Some(s.at),
            Record::Measure(m) => Some(m.at),
            Record::Goal(g) => Some(g.at),
            Record::SafetyFollowUp(f) => Some(f.at),
            Record::Course(c) => Some(c.at),
            Record::ListEntry(l) => Some(l.at),
        }
    }

    /// All the checks on the record's own fields.
    pub fn validate(&self) -> Result<(), ValidationError> {
        match self {
            Record::Patient(p) => p.validate(),
            Record::Note(n) => n.validate(),
            Record::Session(s) => s.validate(),
            Record::Measure(m) => m.score().map(|_| ()),
            Record::Goal(g) => g.validate(),
            Record::SafetyFollowUp(f) => f.validate(),
            Record::Course(c) => c.validate(),
            Record::ListEntry(l) => l.validate(),
        }
    }
}

/// A borrowed record: what readers walk over without cloning.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RecordRef<'a> {
    Patient(&'a Patient),
    Note(&'a Note),
    Session(&'a DosingSession),
    Measure(&'a Measure),
    Goal(&'a IntegrationGoal),
    SafetyFollowUp(&'a SafetyFollowUp),
    Course(&'a Course),
    ListEntry(&'a ListEntry),
}

impl<'a> RecordRef<'a> {
    pub fn kind(self) -> RecordKind {
        match self {
            RecordRef::Patient(_) => RecordKind::Patient,
            RecordRef::Note(_) => RecordKind::Note,
            RecordRef::Session(_) => RecordKind::Session,
            RecordRef::Measure(_) => RecordKind::Measure,
            RecordRef::Goal(_) => RecordKind::Goal,
            RecordRef::SafetyFollowUp(_) => RecordKind::SafetyFollowUp,
            RecordRef::Course(_) => RecordKind::Course,
            RecordRef::ListEntry(_) => RecordKind::ListEntry,
        }
    }

    pub fn id(self) -> &'a str {
        match self {
            RecordRef::Patient(p) => p.id.as_str(),
            RecordRef::Note(n) => n.id.as_str(),
            RecordRef::Session(s) => s.id.as_str(),
            RecordRef::Measure(m) => m.id.as_str(),
            RecordRef::Goal(g) => g.id.as_str(),
            RecordRef::SafetyFollowUp(f) => f.id.as_str(),
            RecordRef::Course(c) => c.id.as_str(),
            RecordRef::ListEntry(l) => l.id.as_str(),
        }
    }

    /// Where the record sits on the timeline; `None` for a patient.
    pub fn at(self) -> Option<Timestamp> {
        match self {
            RecordRef::Patient(_) => None,
            RecordRef::Note(n) => Some(n.at),
            RecordRef::Session(s) => Some(s.at),
            RecordRef::Measure(m) => Some(m.at),
            RecordRef::Goal(g) => Some(g.at),
            RecordRef::SafetyFollowUp(f) => Some(f.at),
            RecordRef::Course(c) => Some(c.at),
            RecordRef::ListEntry(l) => Some(l.at),
        }
    }

    /// Calls `f(field, id, kind it must be)` for every other record this one points to (not its
    /// patient). The field name is built only when the caller needs it, e.g. for an error.
    pub fn for_each_reference(
        self,
        mut f: impl FnMut(&dyn Fn() -> String, &'a RecordId, RecordKind),
    ) {
        match self {
            RecordRef::Patient(_)
            | RecordRef::Session(_)
            | RecordRef::Course(_)
            | RecordRef::ListEntry(_) => {}
            RecordRef::SafetyFollowUp(s) => {
                if let Some(m) = &s.measure {
                    f(&|| "measure".into(), m, RecordKind::Measure);
                }
            }
            RecordRef::Note(n) => {
                if let Some(s) = &n.session {
                    f(&|| "session".into(), s, RecordKind::Session);
                }
            }
            RecordRef::Measure(m) => {
                if let Some(s) = &m.session {
                    f(&|| "session".into(), s, RecordKind::Session);
                }
            }
            RecordRef::Goal(g) => {
                if let Some(n) = &g.source_note {
                    f(&|| "source_note".into(), n, RecordKind::Note);
                }
                for (i, s) in g.sessions.iter().enumerate() {
                    f(&|| format!("sessions[{i}]"), s, RecordKind::Session);
                }
                for (i, c) in g.check_ins.iter().enumerate() {
                    if let Some(n) = &c.integration_note {
                        f(
                            &|| format!("check_ins[{i}].integration_note"),
                            n,
                            RecordKind::Note,
                        );
                    }
                }
            }
        }
    }
}

impl Record {
    pub fn as_ref(&self) -> RecordRef<'_> {
        match self {
            Record::Patient(p) => RecordRef::Patient(p),
            Record::Note(n) => RecordRef::Note(n),
            Record::Session(s) => RecordRef::Session(s),
            Record::Measure(m) => RecordRef::Measure(m),
            Record::Goal(g) => RecordRef::Goal(g),
            Record::SafetyFollowUp(f) => RecordRef::SafetyFollowUp(f),
            Record::Course(c) => RecordRef::Course(c),
            Record::ListEntry(l) => RecordRef::ListEntry(l),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CheckIn, GoalStatus, LifeDomain};

    #[test]
    fn a_goal_names_every_record_it_points_to_with_the_field() {
        let rid = |s: &str| RecordId::parse(s).unwrap();
        let g = IntegrationGoal {
            id: rid("g1"),
            patient: PatientId::parse("p1").unwrap(),
            at: "2026-03-01T10:00:00Z".parse().unwrap(),
            title: "Walk".into(),
            domain: LifeDomain::Health,
            status: GoalStatus::Active,
            target_date: None,
            source_note: Some(rid("n1")),
            sessions: vec![rid("s1"), rid("s2")],
            check_ins: vec![
                CheckIn {
                    at: "2026-03-02T10:00:00Z".parse().unwrap(),
                    progress: 1,
                    note: String::new(),
                    integration_note: None,
                },
                CheckIn {
                    at: "2026-03-03T10:00:00Z".parse().unwrap(),
                    progress: 2,
                    note: String::new(),
                    integration_note: Some(rid("n2")),
                },
            ],
        };
        let mut seen = Vec::new();
        RecordRef::Goal(&g)
            .for_each_reference(|field, id, kind| seen.push((field(), id.to_string(), kind)));
        assert_eq!(
            seen,
            vec![
                (
                    "source_note".to_string(),
                    "n1".to_string(),
                    RecordKind::Note
                ),
                (
                    "sessions[0]".to_string(),
                    "s1".to_string(),
                    RecordKind::Session
                ),
                (
                    "sessions[1]".to_string(),
                    "s2".to_string(),
                    RecordKind::Session
                ),
                (
                    "check_ins[1].integration_note".to_string(),
                    "n2".to_string(),
                    RecordKind::Note
                ),
            ]
        );
    }
}
