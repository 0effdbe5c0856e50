//! The clinical domain, pure: patients, notes, dosing sessions, goals, measures and their scoring,
//! monitoring rules and timeline assembly. No terminal, no disk, no clock: time is passed in.

pub mod agenda;
pub mod cadence;
pub mod course;
pub mod goal;
pub mod ids;
pub mod intentions;
pub mod lists;
pub mod measure;
pub mod monitoring;
pub mod note;
pub mod patient;
pub mod record;
pub mod rems;
pub mod safety;
pub mod session;
pub mod summary;
pub mod timeline;
pub mod today;
pub mod vitals_syntax;

pub use course::{Course, CourseKind};
pub use goal::{CheckIn, GoalStatus, IntegrationGoal, LifeDomain};
pub use ids::{IdError, PatientId, RecordId};
pub use lists::{ListEntry, ListKind, ListValues, MedicationClass};
pub use measure::{Band, Instrument, Measure, Outcome, Score};
pub use note::{Addendum, Note, NoteError, NoteKind, NoteStatus, Section};
pub use patient::{Patient, Sex};
pub use record::{Record, RecordKind, RecordRef};
pub use rems::{Clinic, ConcomitantMedications, MedClass, RemsAnswers};
pub use safety::{RiskLevel, SafetyFollowUp};
pub use session::{
    AdverseResolved, Amendments, Correction, Discharge, DissociationRating, DoseOverride,
    DosingSession, EntryField, Observation, Route, SedationRating, SessionError, VitalSign, Vitals,
};
pub use timeline::{EntryKind, PatientRecords, TimelineEntry};
pub use vitals_syntax::{VitalsSyntaxError, format_vitals, parse_vitals};

/// A field of a record that breaks a rule; `field` is a path such as `items[2]` or
/// `sections[0].heading`, so a message can say exactly where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}
