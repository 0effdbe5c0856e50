//! The demo caseload: invented patients with realistic courses of ketamine-assisted therapy,
//! deterministic for a seed, from a dozen patients up to 1,000 patients x 100 notes.
//!
//! Generation is pure: [`generate_patient`] returns one patient's records (the patient first,
//! then the timeline in time order) from the [`DemoSpec`] alone, without a store, a clock or any
//! other patient. [`build`] is the thin part that writes them, one atomic change per patient.
//!
//! Every patient draws from a generator seeded by the spec's seed and the patient's index
//! ([`crate::clock::SeededRng`], not a crate's, so a seed gives the same store across dependency
//! upgrades). The course is placed so that its recent part falls just before `anchor` ("today" in
//! the demo): some patients are mid-induction, some in maintenance, one or two just screened,
//! one or two archived, and some integration check-ins are due or overdue on the anchor date.
//!
//! Everything is invented: names are random pairs from mixed lists, phone numbers are in the
//! fictional 555-01xx range, and lot numbers follow no manufacturer's scheme.

mod course;
mod lists;
mod notes;
mod profile;
mod session;
mod text;

use crate::model::Record;
use crate::store::{Actor, AuditAction, Change, Counts, Store, StoreError};
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// The most patients a demo may have. Ids are `p0001` and up; the limit keeps a typo from
/// filling the disk.
pub const MAX_PATIENTS: u32 = 100_000;

/// The most notes per patient. 1,000 notes is decades of boosters; more is a typo.
pub const MAX_NOTES_PER_PATIENT: u32 = 1_000;

/// What demo to build.
#[derive(Debug, Clone)]
pub struct DemoSpec {
    pub patients: u32,
    /// Exactly this many notes per patient (sessions, measures and goals are other records).
    pub notes_per_patient: u32,
    pub seed: u64,
    /// "Today" in the demo: every record lies before this date, and the recent part of each
    /// course falls shortly before it.
    pub anchor: Date,
    /// Who signs the notes.
    pub clinician: String,
    /// The clinic's zone, in which appointments are placed at plausible local hours. UTC by
    /// default, so a spec gives the same store on every machine; the command line may pass the
    /// user's zone.
    pub tz: TimeZone,
}

impl DemoSpec {
    /// The usual demo: 12 patients, 24 notes each, seed 42, "Dr. Demo Clinician", UTC.
    pub fn new(anchor: Date) -> Self {
        Self {
            patients: 12,
            notes_per_patient: 24,
            seed: 42,
            anchor,
            clinician: "Dr. Demo Clinician".to_owned(),
            tz: TimeZone::UTC,
        }
    }

    /// Checks the parts of a spec a user can get wrong.
    pub fn validate(&self) -> Result<(), DemoSpecError> {
        if self.patients > MAX_PATIENTS {
            return Err(DemoSpecError::TooManyPatients {
                requested: self.patients,
            });
        }
        if self.notes_per_patient > MAX_NOTES_PER_PATIENT {
            return Err(DemoSpecError::TooManyNotes {
                requested: self.notes_per_patient,
            });
        }
        if self.clinician.trim().is_empty() {
            return Err(DemoSpecError::NoClinician);
        }
        // Courses reach decades back and birth dates a century; keep well inside jiff's range.
        if !(1900..=2999).contains(&self.anchor.year()) {
            return Err(DemoSpecError::AnchorOutOfRange(self.anchor));
        }
        Ok(())
    }
}

/// Why a demo spec cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DemoSpecError {
    #[error("a demo has at most {MAX_PATIENTS} patients (asked for {requested})")]
    TooManyPatients { requested: u32 },
    #[error("a demo has at most {MAX_NOTES_PER_PATIENT} notes per patient (asked for {requested})")]
    TooManyNotes { requested: u32 },
    #[error("the demo needs a clinician's name to sign its notes")]
    NoClinician,
    #[error("the demo date {0} is outside the years 1900-2999")]
    AnchorOutOfRange(Date),
}

/// Why building a demo failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{0}")]
    Spec(#[from] DemoSpecError),
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// What a demo holds, by kind: the store's own [`Counts`], so a build's summary can be checked
/// against what the store reports.
pub type DemoSummary = Counts;

/// Counts `records` into `summary` the way [`Store::counts`] counts a store.
pub fn tally(summary: &mut DemoSummary, records: &[Record]) {
    records.iter().for_each(|r| summary.add(r));
}

/// All records of demo patient `index` (0-based, id `p0001` for index 0): the patient first, then
/// their notes, sessions, measures and goals in time order. Depends only on `spec` and `index`.
///
/// A `notes_per_patient` above [`MAX_NOTES_PER_PATIENT`] is treated as that maximum (and
/// [`DemoSpec::validate`] refuses it); an empty clinician leaves every note a draft.
pub fn generate_patient(spec: &DemoSpec, index: u32) -> Vec<Record> {
    course::generate(spec, index)
}

/// Every patient's records in turn, generated lazily.
pub fn generate(spec: &DemoSpec) -> impl Iterator<Item = Vec<Record>> + '_ {
    (0..spec.patients).map(move |i| generate_patient(spec, i))
}

/// Writes the demo into `store`: one atomic change per patient, so an interrupted build leaves
/// whole patients only, then one flush. `progress` is told how many patients are written.
///
/// Each patient's change carries one `demo-generated` audit entry by `actor`, saying what was
/// written, so the demo's log is consistent with its records; the records' own history (notes
/// drafted, signed, addenda) is in the records, not replayed into the log.
pub fn build(
    store: &impl Store,
    spec: &DemoSpec,
    actor: &Actor,
    progress: &mut dyn FnMut(u32),
) -> Result<DemoSummary, DemoError> {
    spec.validate()?;
    // The search index is built once at the end: far fewer writes than keeping it per patient.
    store.suspend_index()?;
    let mut summary = DemoSummary::default();
    for index in 0..spec.patients {
        let records = generate_patient(spec, index);
        let mut own = Counts::default();
        tally(&mut own, &records);
        tally(&mut summary, &records);
        let event = match records.first() {
            Some(Record::Patient(p)) => Some(
                actor
                    .event(AuditAction::DemoGenerated)
                    .patient(&p.id)
                    .record(p.id.as_str())
                    .detail(demo_detail(spec, &own)),
            ),
            _ => None,
        };
        let changes: Vec<Change> = records.into_iter().map(Change::Put).collect();
        store.apply_with_events(&changes, event.as_slice())?;
        progress(index + 1);
    }
    store.reindex()?;
    store.flush()?;
    Ok(summary)
}

/// What one demo patient's audit entry says was written.
fn demo_detail(spec: &DemoSpec, c: &Counts) -> String {
    format!(
        "invented demo patient (seed {}): {} notes ({} signed, {} drafts, {} addenda), {} dosing \
         sessions, {} measures, {} goals",
        spec.seed,
        c.notes,
        c.signed_notes,
        c.draft_notes,
        c.addenda,
        c.sessions,
        c.measures,
        c.goals
    )
}
