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
//! - [`markdown`] renders a chart a clinician can print; [`pdf`] lays the same chart out as a PDF
//!   to hand over.
//! - [`rems`] writes the esketamine REMS monitoring summary of one session.
//! - [`fhir`] builds a FHIR R4 Bundle of one patient's records (docs/FHIR.md).
//!
//! Thin functions at the bottom connect them to a [`Store`].

mod export;
pub mod fhir;
mod import;
mod lines;
pub mod markdown;
pub mod pdf;
pub mod record_line;
pub mod rems;
mod wire;

pub use export::{JsonlWriter, write_jsonl};
pub use fhir::{Bundle, FhirOptions, FhirSummary, fhir_bundle, write_fhir};
pub use import::{KnownIds, NothingStored, ParsedImport, parse};
pub use markdown::{ChartOptions, write_chart, write_charts};
pub use rems::{MissingField, RemsError, rems_missing, rems_summary};

use crate::model::{PatientId, PatientRecords, Record, RecordKind};
use crate::store::{Actor, AuditAction, Store, StoreError};
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
    pub list_entries: usize,
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
            RecordKind::ListEntry => self.list_entries += 1,
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
            + self.list_entries
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
        if self.list_entries > 0 {
            write!(f, ", {} list entries", self.list_entries)?;
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
    /// Problem, medication and allergy list entries.
    pub list_entries: usize,
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
        self.list_entries += other.list_entries;
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

/// An interchange file that import can read from its start more than once: it checks the whole
/// file before writing anything, then reads it again to write it, so that memory does not grow
/// with the file. A file that is not seekable (standard input, a pipe) is copied first
/// (`kitnotes import` does so into an unnamed temporary file).
pub trait ImportSource {
    /// The file from its first byte.
    fn read_from_start(&self) -> std::io::Result<Box<dyn BufRead + '_>>;
}

impl ImportSource for &[u8] {
    fn read_from_start(&self) -> std::io::Result<Box<dyn BufRead + '_>> {
        Ok(Box::new(*self))
    }
}

impl ImportSource for std::fs::File {
    fn read_from_start(&self) -> std::io::Result<Box<dyn BufRead + '_>> {
        use std::io::Seek;
        let mut file = self;
        file.rewind()?;
        Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, file)))
    }
}

impl ImportSource for std::io::BufReader<std::fs::File> {
    fn read_from_start(&self) -> std::io::Result<Box<dyn BufRead + '_>> {
        // Read through the file itself; what this reader buffered is never used.
        self.get_ref().read_from_start()
    }
}

/// Copies an interchange file that can be read only once (standard input, a pipe) to `out`, for
/// an [`ImportSource`]: a line at a time, with import's line limit, so an endless line
/// (`/dev/zero`) is refused after [`MAX_LINE_BYTES`] instead of copied for ever, and text that is
/// not UTF-8 is refused at its line. Lines end in `\n` in the copy; a byte order mark at the start
/// is left out (import reads both the same either way).
pub fn copy_lines(input: impl BufRead, out: &mut impl Write) -> Result<(), ImportError> {
    let mut lines = lines::Lines::new(input, MAX_LINE_BYTES);
    let cannot_write = |e: std::io::Error| ImportError {
        line: None,
        field: None,
        message: format!("cannot write the temporary copy of the file: {e}"),
    };
    while let Some((_, text)) = lines.next_line()? {
        out.write_all(text.as_bytes()).map_err(cannot_write)?;
        out.write_all(b"\n").map_err(cannot_write)?;
    }
    out.flush().map_err(cannot_write)
}

/// How many records are written at a time: about one chunk of the store's chunked write.
pub const PART_RECORDS: usize = 2_048;

/// Imports a whole file into `store`, all or nothing, in memory that does not grow with the
/// file's records. First every line is read and checked (keeping a few bytes per record: its
/// id, kind, line and patient), and nothing is written if any line is refused. Then the file is
/// read again and written a part at a time ([`Store::add_in_parts`]), with how to undo each
/// part; the import commits only after its last part and its audit entries, so a failure, or a
/// file that changed between the two readings, rolls back everything, and a crash leaves the
/// store rolled back on its next open. A file whose records come before their patient's line
/// is read twice more: its patients first.
///
/// The audit log gets one `imported` entry per patient the file brings records for, by `actor`,
/// naming `source` (the file) and what came in, committed with the records. A file of more
/// than one part ([`PART_RECORDS`] records) also gets an `imported` entry per part, written
/// with it, that binds its records to their sealed values (docs/SECURITY.md); a file of one part
/// is bound by the entries per patient.
pub fn import_into(
    store: &(impl Store + ?Sized),
    file: impl ImportSource,
    actor: &Actor,
    source: &str,
) -> Result<ImportSummary, ImportError> {
    import_in_parts_of(store, file, actor, source, PART_RECORDS)
}

/// [`import_into`], written `part_records` records at a time (at least 1): for tests that need
/// an import of several parts without a file of thousands of records.
pub fn import_in_parts_of(
    store: &(impl Store + ?Sized),
    file: impl ImportSource,
    actor: &Actor,
    source: &str,
    part_records: usize,
) -> Result<ImportSummary, ImportError> {
    let unreadable =
        |e: std::io::Error| ImportError::at_line(1, format!("cannot read the file: {e}"));
    let checked = import::check(
        file.read_from_start().map_err(unreadable)?,
        &StoreIds(store),
        MAX_LINE_BYTES,
        drop,
    )?;
    let mut events = checked.per_patient.iter().map(|(patient, summary)| {
        actor
            .event(AuditAction::Imported)
            .patient(patient)
            .detail(format!("{summary} from {source}"))
    });
    // Which records each reading writes: all of them, or patients and then the rest.
    let readings: &[Taking] = if checked.patients_later {
        &[Taking::Patients, Taking::Others]
    } else {
        &[Taking::All]
    };
    // Why the second reading stopped, when it did: the store only hears that it stopped.
    let mut stopped: Option<ImportError> = None;
    let result = {
        let mut parts = Rereading {
            file: &file,
            readings,
            current: None,
            digest: checked.digest,
            part_records: part_records.max(1),
            stopped: &mut stopped,
        };
        let part = actor
            .event(AuditAction::Imported)
            .detail(format!("from {source}"));
        store.add_in_parts(&mut parts, &mut events, &part)
    };
    match (result, stopped) {
        (Ok(_), _) => {}
        (Err(_), Some(e)) => return Err(e),
        (Err(e), None) => {
            return Err(ImportError {
                line: None,
                field: None,
                message: format!("the store refused the import, nothing was written: {e}"),
            });
        }
    }
    store.flush().map_err(|e| ImportError {
        line: None,
        field: None,
        message: format!("{WRITTEN_NOT_DURABLE}: {e}"),
    })?;
    Ok(checked.summary)
}

/// Which records one reading of the file writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Taking {
    All,
    Patients,
    /// Every record but the patients.
    Others,
}

impl Taking {
    fn takes(self, record: &Record) -> bool {
        let patient = record.kind() == RecordKind::Patient;
        match self {
            Taking::All => true,
            Taking::Patients => patient,
            Taking::Others => !patient,
        }
    }
}

/// The lines of one reading under way, and what it takes.
type Reading<'a> = (Taking, import::RecordLines<Box<dyn BufRead + 'a>>);

/// The second reading of a checked file, as parts for [`Store::add_in_parts`]; at the end of
/// each reading, the bytes read must hash as the checked file did.
struct Rereading<'a, S> {
    file: &'a S,
    readings: &'a [Taking],
    current: Option<Reading<'a>>,
    digest: [u8; 32],
    part_records: usize,
    stopped: &'a mut Option<ImportError>,
}

impl<'a, S: ImportSource> Rereading<'a, S> {
    /// The next part, `None` once every reading is done; an error stops the import.
    fn next_part(&mut self) -> Result<Option<Vec<Record>>, ImportError> {
        let changed = |line: Option<usize>, why: String| ImportError {
            line,
            field: None,
            message: format!(
                "the file changed while it was being imported ({why}); nothing was written. \
                 Import it again once nothing else writes to it"
            ),
        };
        // A line refused now passed when checked: the file changed there.
        let at = |e: ImportError| {
            let why = e.message.clone();
            changed(e.line, why)
        };
        let mut part = Vec::new();
        loop {
            if self.current.is_none() {
                let Some((&which, rest)) = self.readings.split_first() else {
                    return Ok((!part.is_empty()).then_some(part));
                };
                self.readings = rest;
                let reader = self
                    .file
                    .read_from_start()
                    .map_err(|e| changed(None, e.to_string()))?;
                let lines = import::RecordLines::new(reader, MAX_LINE_BYTES).map_err(at)?;
                self.current = Some((which, lines));
            }
            let Some((which, lines)) = &mut self.current else {
                continue;
            };
            match lines.next_record().map_err(at)? {
                Some((_, record)) => {
                    if which.takes(&record) {
                        part.push(record);
                        if part.len() == self.part_records {
                            return Ok(Some(part));
                        }
                    }
                }
                None => {
                    if lines.digest() != self.digest {
                        return Err(changed(None, "its bytes differ from those checked".into()));
                    }
                    self.current = None;
                }
            }
        }
    }
}

impl<S: ImportSource> Iterator for Rereading<'_, S> {
    type Item = crate::store::Result<Vec<Record>>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_part() {
            Ok(part) => part.map(Ok),
            Err(e) => {
                let message = e.to_string();
                *self.stopped = Some(e);
                Some(Err(StoreError::PartsStopped(message)))
            }
        }
    }
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
    let total = ids.len() as u64;
    for (i, id) in ids.into_iter().enumerate() {
        crate::progress::step(i as u64, total, "patients");
        writer.write_patient(&patient_records(store, id)?)?;
    }
    crate::progress::step(total, total, "patients");
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
    let total = ids.len() as u64;
    for (i, id) in ids.into_iter().enumerate() {
        crate::progress::step(i as u64, total, "patients");
        let records = patient_records(store, id)?;
        if i > 0 {
            out.write_all(markdown::CHART_SEPARATOR.as_bytes())?;
        }
        summary.add(&write_chart(&mut out, &records, &chart)?);
    }
    out.flush()?;
    Ok(summary)
}

/// Exports one patient's chart as a PDF (the Markdown chart's content, paged, each page naming
/// the patient); an unknown patient is an error. Psychotherapy notes only if `chart` asks.
pub fn export_pdf(
    store: &(impl Store + ?Sized),
    mut out: impl Write,
    patient: &PatientId,
    chart: &ChartOptions,
) -> Result<ExportSummary, ExportError> {
    let records = patient_records(store, patient.clone())?;
    Ok(pdf::write_pdf(&mut out, &records, chart)?)
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
        RecordKind::ListEntry => "a list entry",
    }
}

/// Puts a record's patient first so a store that checks patients per change always finds them.
pub(crate) fn patients_first(records: &mut [Record]) {
    records.sort_by_key(|r| r.kind() != RecordKind::Patient);
}
