//! The JSON Lines interchange format (import and export) and the printable Markdown chart.
//!
//! The format is described for people in `docs/FORMAT.md`. In short: a header line
//! `{"type":"kitnotes","version":1}`, then one record per line, each an object with a `type`
//! (`patient`, `note`, `session`, `measure`, `goal`) and the model's own field names.
//!
//! The core is pure and needs no store, so it can be tested exhaustively:
//! - [`parse`] reads a whole file, checks every line and every reference, and returns the records
//!   or the first problem with its line and field. It asks a [`KnownIds`] whether an id is
//!   already in use.
//! - [`JsonlWriter`] writes patients and their records canonically, so that exporting, importing
//!   into an empty store and exporting again gives the same bytes.
//! - [`markdown`] renders a chart a clinician can print.
//! - [`rems`] writes the esketamine REMS monitoring summary of one session.
//! - [`fhir`] builds a FHIR R4 Bundle of one patient's records (docs/FHIR.md).
//!
//! Thin functions at the bottom connect them to a [`Store`].

mod export;
pub mod fhir;
mod import;
mod lines;
pub mod markdown;
pub mod rems;
mod wire;

pub use export::{JsonlWriter, write_jsonl};
pub use fhir::{Bundle, FhirOptions, FhirSummary, fhir_bundle, write_fhir};
pub use import::{KnownIds, NothingStored, ParsedImport, parse};
pub use markdown::{ChartOptions, write_chart, write_charts};
pub use rems::{RemsError, rems_summary};

use crate::model::{PatientId, PatientRecords, Record, RecordKind};
use crate::store::{Actor, AuditAction, AuditEvent, Change, Store, StoreError};
use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, Write};

/// The format version this kitnotes writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// The longest line import accepts, in bytes, not counting its line ending. Longer lines are
/// refused after reading at most this much, so a damaged or hostile file cannot exhaust memory.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// How an [`ImportError`] begins when the records were written but the flush failed.
const WRITTEN_NOT_DURABLE: &str = "the import was written but could not be made durable";

impl ImportError {
    /// Whether the records reached the store (only the final flush failed), so the caller must
    /// not say that nothing was imported.
    pub fn records_were_written(&self) -> bool {
        self.message.starts_with(WRITTEN_NOT_DURABLE)
    }
}

/// The exact first line of every interchange file.
pub const HEADER_LINE: &str = r#"{"type":"kitnotes","version":1}"#;

/// Why an import was refused. Nothing was written, unless the message says the records were
/// written but could not be flushed to disk.
///
/// `line` is the 1-based line of the file the problem is on and `field` the path inside that
/// line's record (`items[2]`, `sections[0].heading`), when there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", location(*.line, .field.as_deref()))]
pub struct ImportError {
    pub line: Option<usize>,
    pub field: Option<String>,
    pub message: String,
}

fn location(line: Option<usize>, field: Option<&str>) -> String {
    match (line, field) {
        (Some(l), Some(f)) => format!("line {l}, field {f}: "),
        (Some(l), None) => format!("line {l}: "),
        (None, Some(f)) => format!("field {f}: "),
        (None, None) => String::new(),
    }
}

impl ImportError {
    pub(crate) fn at_line(line: usize, message: impl Into<String>) -> Self {
        Self {
            line: Some(line),
            field: None,
            message: message.into(),
        }
    }

    pub(crate) fn at_field(
        line: usize,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            line: Some(line),
            field: Some(field.into()),
            message: message.into(),
        }
    }
}

/// How many records of each kind an import brought in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    pub patients: usize,
    pub notes: usize,
    pub sessions: usize,
    pub measures: usize,
    pub goals: usize,
    pub safety_follow_ups: usize,
    pub courses: usize,
}

impl ImportSummary {
    pub(crate) fn count(&mut self, kind: RecordKind) {
        match kind {
            RecordKind::Patient => self.patients += 1,
            RecordKind::Note => self.notes += 1,
            RecordKind::Session => self.sessions += 1,
            RecordKind::Measure => self.measures += 1,
            RecordKind::Goal => self.goals += 1,
            RecordKind::SafetyFollowUp => self.safety_follow_ups += 1,
            RecordKind::Course => self.courses += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.patients
            + self.notes
            + self.sessions
            + self.measures
            + self.goals
            + self.safety_follow_ups
            + self.courses
    }
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} patients, {} notes, {} dosing sessions, {} measures, {} goals",
            self.patients, self.notes, self.sessions, self.measures, self.goals
        )?;
        // Only when present, so a file of the older kinds reads as it always did.
        if self.safety_follow_ups > 0 {
            write!(f, ", {} safety follow-ups", self.safety_follow_ups)?;
        }
        if self.courses > 0 {
            write!(f, ", {} courses", self.courses)?;
        }
        Ok(())
    }
}

/// What to export.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Only this patient; all patients when `None`.
    pub patient: Option<PatientId>,
    /// Psychotherapy notes (the therapist's private process notes, special under HIPAA) are left
    /// out unless this is set, which should need the patient's authorisation.
    pub include_psychotherapy_notes: bool,
}

/// What an export wrote, and what it deliberately left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ExportSummary {
    pub patients: usize,
    pub notes: usize,
    pub sessions: usize,
    pub measures: usize,
    pub goals: usize,
    /// Psychotherapy notes left out because they were not asked for.
    pub psychotherapy_notes_withheld: usize,
    /// Links from goals to withheld psychotherapy notes, left out so the file still imports.
    pub links_withheld: usize,
    pub safety_follow_ups: usize,
    pub courses: usize,
}

impl ExportSummary {
    pub(crate) fn add(&mut self, other: &ExportSummary) {
        self.patients += other.patients;
        self.notes += other.notes;
        self.sessions += other.sessions;
        self.measures += other.measures;
        self.goals += other.goals;
        self.psychotherapy_notes_withheld += other.psychotherapy_notes_withheld;
        self.links_withheld += other.links_withheld;
        self.safety_follow_ups += other.safety_follow_ups;
        self.courses += other.courses;
    }
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("no patient with id {0} in the store")]
    UnknownPatient(PatientId),
    #[error("cannot read the store: {0}")]
    Store(#[from] StoreError),
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
}

/// Looks ids up in a store for [`parse`]. Timeline records are read whole only when a reference
/// points at them, which is rare; the per-line duplicate check needs just the kind.
pub struct StoreIds<'a, S: Store + ?Sized>(pub &'a S);

impl<S: Store + ?Sized> KnownIds for StoreIds<'_, S> {
    fn kind_of(&self, id: &str) -> Result<Option<RecordKind>, String> {
        self.0.id_kind(id).map_err(|e| e.to_string())
    }

    fn patient_of(&self, id: &str) -> Result<Option<PatientId>, String> {
        Ok(self
            .0
            .record(id)
            .map_err(|e| e.to_string())?
            .map(|r| r.patient().clone()))
    }
}

/// Imports a whole file into `store`, all or nothing: every line is read and checked first, then
/// every record is written in one atomic change and flushed to disk.
///
/// The audit log gets one `imported` entry per patient the file brings records for, by `actor`,
/// naming `source` (the file) and what came in, in the same atomic write as the records.
pub fn import_into(
    store: &(impl Store + ?Sized),
    reader: impl BufRead,
    actor: &Actor,
    source: &str,
) -> Result<ImportSummary, ImportError> {
    let parsed = parse(reader, &StoreIds(store))?;
    let mut per_patient: BTreeMap<&PatientId, ImportSummary> = BTreeMap::new();
    for r in &parsed.records {
        per_patient.entry(r.patient()).or_default().count(r.kind());
    }
    let events: Vec<AuditEvent> = per_patient
        .into_iter()
        .map(|(patient, summary)| {
            actor
                .event(AuditAction::Imported)
                .patient(patient)
                .detail(format!("{summary} from {source}"))
        })
        .collect();
    let changes: Vec<Change> = parsed.records.into_iter().map(Change::Put).collect();
    let refused = |e: StoreError| ImportError {
        line: None,
        field: None,
        message: format!("the store refused the import, nothing was written: {e}"),
    };
    store
        .apply_with_events(&changes, &events)
        .map_err(refused)?;
    store.flush().map_err(|e| ImportError {
        line: None,
        field: None,
        message: format!("{WRITTEN_NOT_DURABLE}: {e}"),
    })?;
    Ok(parsed.summary)
}

/// The patients an export covers, in id order, failing on an unknown `--patient`.
fn selected_patients(
    store: &(impl Store + ?Sized),
    opts: &ExportOptions,
) -> Result<Vec<PatientId>, ExportError> {
    match &opts.patient {
        Some(id) => match store.patient(id)? {
            Some(_) => Ok(vec![id.clone()]),
            None => Err(ExportError::UnknownPatient(id.clone())),
        },
        None => {
            let mut ids: Vec<PatientId> = store.patients()?.into_iter().map(|p| p.id).collect();
            // The store promises id order; sorting again keeps the export's order independent of it.
            ids.sort();
            Ok(ids)
        }
    }
}

/// Patients are archived, never deleted, so one listed a moment ago is still there; if not, the
/// export fails rather than silently leave them out.
fn patient_records(
    store: &(impl Store + ?Sized),
    id: PatientId,
) -> Result<PatientRecords, ExportError> {
    store
        .patient_records(&id)?
        .ok_or(ExportError::UnknownPatient(id))
}

/// Exports the store (or one patient) as JSON Lines, one patient's records at a time.
pub fn export_jsonl(
    store: &(impl Store + ?Sized),
    out: impl Write,
    opts: &ExportOptions,
) -> Result<ExportSummary, ExportError> {
    let ids = selected_patients(store, opts)?;
    let mut writer = JsonlWriter::new(out, opts.include_psychotherapy_notes)?;
    for id in ids {
        writer.write_patient(&patient_records(store, id)?)?;
    }
    Ok(writer.finish()?.1)
}

/// Exports the store (or one patient) as a printable Markdown chart, times shown in `tz`,
/// courses split by the default re-induction gap where they are not recorded.
pub fn export_markdown(
    store: &(impl Store + ?Sized),
    out: impl Write,
    opts: &ExportOptions,
    tz: &jiff::tz::TimeZone,
) -> Result<ExportSummary, ExportError> {
    let chart = ChartOptions {
        tz: tz.clone(),
        ..ChartOptions::default()
    };
    export_markdown_with(store, out, opts, &chart)
}

/// [`export_markdown`] with the chart's options given (the configured re-induction gap); the
/// psychotherapy-note choice is `opts`'.
pub fn export_markdown_with(
    store: &(impl Store + ?Sized),
    mut out: impl Write,
    opts: &ExportOptions,
    chart: &ChartOptions,
) -> Result<ExportSummary, ExportError> {
    let ids = selected_patients(store, opts)?;
    let chart = ChartOptions {
        include_psychotherapy_notes: opts.include_psychotherapy_notes,
        ..chart.clone()
    };
    let mut summary = ExportSummary::default();
    for (i, id) in ids.into_iter().enumerate() {
        let records = patient_records(store, id)?;
        if i > 0 {
            out.write_all(markdown::CHART_SEPARATOR.as_bytes())?;
        }
        summary.add(&write_chart(&mut out, &records, &chart)?);
    }
    out.flush()?;
    Ok(summary)
}

/// Exports one patient as a FHIR R4 Bundle (indented JSON); an unknown patient is an error.
pub fn export_fhir(
    store: &(impl Store + ?Sized),
    out: impl Write,
    patient: &PatientId,
    opts: &FhirOptions,
) -> Result<FhirSummary, ExportError> {
    let records = patient_records(store, patient.clone())?;
    Ok(write_fhir(out, &records, opts)?)
}

/// The kind of a record, for messages: "a note", "a dosing session".
pub(crate) fn kind_with_article(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Patient => "a patient",
        RecordKind::Note => "a note",
        RecordKind::Session => "a dosing session",
        RecordKind::Measure => "a measure",
        RecordKind::Goal => "a goal",
        RecordKind::SafetyFollowUp => "a safety follow-up",
        RecordKind::Course => "a course",
    }
}

/// Puts a record's patient first so a store that checks patients per change always finds them.
pub(crate) fn patients_first(records: &mut [Record]) {
    records.sort_by_key(|r| r.kind() != RecordKind::Patient);
}
