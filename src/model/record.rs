//! A record is anything the store keeps: a patient, or one entry on a patient's timeline.

use super::ValidationError;
use super::goal::IntegrationGoal;
use super::ids::PatientId;
use super::measure::Measure;
use super::note::Note;
use super::patient::Patient;
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
}

impl RecordKind {
    pub const ALL: [RecordKind; 5] = [
        RecordKind::Patient,
        RecordKind::Note,
        RecordKind::Session,
        RecordKind::Measure,
        RecordKind::Goal,
    ];

    /// The `type` of the record's line in the interchange format.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Patient => "patient",
            RecordKind::Note => "note",
            RecordKind::Session => "session",
            RecordKind::Measure => "measure",
            RecordKind::Goal => "goal",
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
}

impl Record {
    pub fn kind(&self) -> RecordKind {
        match self {
            Record::Patient(_) => RecordKind::Patient,
            Record::Note(_) => RecordKind::Note,
            Record::Session(_) => RecordKind::Session,
            Record::Measure(_) => RecordKind::Measure,
            Record::Goal(_) => RecordKind::Goal,
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
        }
    }
}
