//! Import: reads and checks a whole interchange file before anything is written, so a file is
//! taken entirely or not at all, and a refusal names the line and field to fix.

use super::lines::Lines;
use super::wire::{self, LineError, LineType};
use super::{HEADER_LINE, ImportError, ImportSummary, MAX_LINE_BYTES};
use crate::model::{PatientId, Record, RecordKind};
use std::collections::HashMap;
use std::io::BufRead;

/// What import needs to know about records already stored: whether an id is taken, and for
/// references into the store, which patient a record belongs to. Errors are the store's own
/// description of why it could not answer.
pub trait KnownIds {
    /// The kind of the stored record that uses `id`, if any.
    fn kind_of(&self, id: &str) -> Result<Option<RecordKind>, String>;
    /// The patient of the stored record `id` (a patient's own id for a patient).
    fn patient_of(&self, id: &str) -> Result<Option<PatientId>, String>;
}

/// An empty store: every id is free and nothing can be referred to outside the file.
#[derive(Debug, Clone, Copy, Default)]
pub struct NothingStored;

impl KnownIds for NothingStored {
    fn kind_of(&self, _id: &str) -> Result<Option<RecordKind>, String> {
        Ok(None)
    }

    fn patient_of(&self, _id: &str) -> Result<Option<PatientId>, String> {
        Ok(None)
    }
}

/// A file that passed every check, ready to be written in one atomic change.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedImport {
    /// Patients first, then the other records in file order.
    pub records: Vec<Record>,
    pub summary: ImportSummary,
}

/// Reads and checks a whole interchange file: the header, every line's JSON and shape, each
/// record's own rules, unique ids (in the file and against `known`), and that every patient and
/// reference resolves, to the file (before or after the line) or to `known`.
///
/// Returns the first problem by line number. Never panics, whatever the bytes. Holds every
/// record in memory: [`super::import_into`] checks a file with [`check`] instead and reads it
/// again to write it.
pub fn parse(
    reader: impl BufRead,
    known: &(impl KnownIds + ?Sized),
) -> Result<ParsedImport, ImportError> {
    parse_with_limit(reader, known, MAX_LINE_BYTES)
}

pub(crate) fn parse_with_limit(
    reader: impl BufRead,
    known: &(impl KnownIds + ?Sized),
    max_line: usize,
) -> Result<ParsedImport, ImportError> {
    let mut records = Vec::new();
    let checked = check(reader, known, max_line, |r| records.push(r))?;
    super::patients_first(&mut records);
    Ok(ParsedImport {
        records,
        summary: checked.summary,
    })
}

/// What checking a whole file found: all that writing it in a second reading needs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Checked {
    pub summary: ImportSummary,
    /// Each patient the file brings records for, in id order, with what it brings.
    pub per_patient: Vec<(PatientId, ImportSummary)>,
    /// Some record comes before its patient's line, so patients must be written first.
    pub patients_later: bool,
    /// The hash of the file's bytes as checked, for [`RecordLines::digest`] to be compared with.
    pub digest: [u8; 32],
}

/// The records of an interchange file a line at a time, with their line numbers: the header is
/// checked first, blank lines are skipped, and each record is read and checked on its own.
pub(crate) struct RecordLines<R> {
    lines: Lines<R>,
}

impl<R: BufRead> RecordLines<R> {
    pub(crate) fn new(reader: R, max_line: usize) -> Result<Self, ImportError> {
        let mut lines = Lines::new(reader, max_line);
        read_header(&mut lines)?;
        Ok(Self { lines })
    }

    pub(crate) fn next_record(&mut self) -> Result<Option<(usize, Record)>, ImportError> {
        while let Some((number, text)) = self.lines.next_line()? {
            if !is_blank(text) {
                return read_record(number, text).map(|r| Some((number, r)));
            }
        }
        Ok(None)
    }

    /// The hash of every byte read so far.
    pub(crate) fn digest(&self) -> [u8; 32] {
        self.lines.digest()
    }
}

/// What checking keeps of a record once it is read: 16 bytes and its id, never the record, so
/// memory grows slowly with the file.
#[derive(Debug, Clone, Copy)]
struct Seen {
    line: usize,
    /// The record's patient, numbered in [`Owners`].
    owner: u32,
    kind: RecordKind,
}

/// The patients records belong to, numbered, with what the file brings for each.
#[derive(Default)]
struct Owners {
    numbers: HashMap<PatientId, u32>,
    ids: Vec<PatientId>,
    counts: Vec<ImportSummary>,
}

impl Owners {
    fn number(&mut self, id: &PatientId) -> u32 {
        if let Some(&n) = self.numbers.get(id) {
            return n;
        }
        let n = u32::try_from(self.ids.len()).unwrap_or(u32::MAX);
        self.numbers.insert(id.clone(), n);
        self.ids.push(id.clone());
        self.counts.push(ImportSummary::default());
        n
    }
}

/// One reference a record makes: the field, the id it names and the kind it must be.
type Reference = (String, String, RecordKind);

/// A record whose references could not all be resolved when it was read (one names a record not
/// yet seen): checked again once the whole file is read.
struct Deferred {
    line: usize,
    owner: u32,
    references: Vec<Reference>,
}

/// Checks a whole file as [`parse`] does, in one reading, handing each record to `each` and
/// keeping only a few bytes per record. Errors are the same, and the same one is first: any
/// problem a line has on its own (by line number) before any reference that does not resolve
/// (by line number).
pub(crate) fn check(
    reader: impl BufRead,
    known: &(impl KnownIds + ?Sized),
    max_line: usize,
    mut each: impl FnMut(Record),
) -> Result<Checked, ImportError> {
    let mut lines = RecordLines::new(reader, max_line)?;
    let mut checker = Checker {
        seen: HashMap::new(),
        owners: Owners::default(),
        known,
    };
    let mut summary = ImportSummary::default();
    let mut deferred: Vec<Deferred> = Vec::new();
    // The first reference that does not resolve, reported only if no line has a problem of
    // its own.
    let mut unresolved: Option<ImportError> = None;
    let mut patients_later = false;

    while let Some((number, record)) = lines.next_record()? {
        let id = record.id();
        if let Some(earlier) = checker.seen.get(id) {
            return Err(ImportError::at_field(
                number,
                "id",
                format!(
                    "id {id} is already used by {} on line {}",
                    super::kind_with_article(earlier.kind),
                    earlier.line
                ),
            ));
        }
        match known.kind_of(id) {
            Ok(None) => {}
            Ok(Some(kind)) => {
                return Err(ImportError::at_field(
                    number,
                    "id",
                    format!(
                        "id {id} is already used by {} in the store",
                        super::kind_with_article(kind)
                    ),
                ));
            }
            Err(e) => return Err(store_error(number, id, &e)),
        }
        let owner = checker.owners.number(record.patient());
        let kind = record.kind();
        summary.count(kind);
        if let Some(counts) = checker.owners.counts.get_mut(owner as usize) {
            counts.count(kind);
        }
        checker.seen.insert(
            id.into(),
            Seen {
                line: number,
                owner,
                kind,
            },
        );
        if unresolved.is_none() {
            let references = references(&record);
            match checker.resolve_all(number, owner, &references, false) {
                Resolved::Yes => {}
                Resolved::No(e) => unresolved = Some(e),
                Resolved::NotYet { patient } => {
                    patients_later |= patient;
                    deferred.push(Deferred {
                        line: number,
                        owner,
                        references,
                    });
                }
            }
        }
        each(record);
    }

    // References may point forward in the file: those are resolved once every line is read.
    for d in &deferred {
        if unresolved.as_ref().is_some_and(|e| e.line < Some(d.line)) {
            break;
        }
        if let Resolved::No(e) = checker.resolve_all(d.line, d.owner, &d.references, true) {
            unresolved = Some(e);
            break;
        }
    }
    if let Some(e) = unresolved {
        return Err(e);
    }
    let Owners { ids, counts, .. } = checker.owners;
    let mut per_patient: Vec<(PatientId, ImportSummary)> = ids.into_iter().zip(counts).collect();
    per_patient.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Checked {
        summary,
        per_patient,
        patients_later,
        digest: lines.digest(),
    })
}

/// A record's patient (unless it is one) and every id it refers to, in the order they are
/// checked.
fn references(record: &Record) -> Vec<Reference> {
    let mut out = Vec::new();
    if record.kind() != RecordKind::Patient {
        out.push((
            "patient".to_owned(),
            record.patient().as_str().to_owned(),
            RecordKind::Patient,
        ));
    }
    record.as_ref().for_each_reference(|field, id, want| {
        out.push((field(), id.as_str().to_owned(), want));
    });
    out
}

fn is_blank(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_whitespace())
}

fn read_header<R: BufRead>(lines: &mut Lines<R>) -> Result<(), ImportError> {
    let (number, text) = loop {
        match lines.next_line()? {
            None => {
                return Err(ImportError::at_line(
                    lines.count() + 1,
                    format!("the file is empty; it must start with the header line {HEADER_LINE}"),
                ));
            }
            Some((_, text)) if is_blank(text) => continue,
            Some(found) => break found,
        }
    };
    let not_a_header = |found: String| {
        ImportError::at_line(
            number,
            format!(
                "the file must start with the header line {HEADER_LINE}, but this line is {found}"
            ),
        )
    };
    match wire::line_type(text) {
        Ok(LineType::Header) => wire::check_header(text).map_err(|e| with_line(number, e)),
        Ok(LineType::Record(kind)) => Err(not_a_header(format!(
            "{}; is the header missing?",
            super::kind_with_article(kind)
        ))),
        Ok(LineType::Unknown(t)) => Err(not_a_header(format!("of type {t:?}"))),
        Ok(LineType::Missing) => Err(not_a_header("an object without a type".into())),
        Err(e) => Err(not_a_header(format!("not one ({})", e.message))),
    }
}

fn read_record(number: usize, text: &str) -> Result<Record, ImportError> {
    let kind = match wire::line_type(text).map_err(|e| with_line(number, e))? {
        LineType::Record(kind) => kind,
        LineType::Header => {
            return Err(ImportError::at_line(
                number,
                "a second header line; the header belongs on the first line only",
            ));
        }
        LineType::Unknown(t) => {
            return Err(ImportError::at_field(
                number,
                "type",
                format!(
                    "unknown record type {t:?}; expected patient, note, session, measure or goal"
                ),
            ));
        }
        LineType::Missing => {
            return Err(ImportError::at_field(
                number,
                "type",
                "the record has no type; expected patient, note, session, measure or goal",
            ));
        }
    };
    let record = wire::record_from_line(kind, text).map_err(|e| with_line(number, e))?;
    record.validate().map_err(|e| ImportError {
        line: Some(number),
        field: Some(e.field),
        message: e.message,
    })?;
    Ok(record)
}

fn with_line(number: usize, e: LineError) -> ImportError {
    ImportError {
        line: Some(number),
        field: e.field,
        message: e.message,
    }
}

fn store_error(number: usize, id: &str, e: &str) -> ImportError {
    ImportError::at_line(
        number,
        format!("cannot check id {id} against the store, nothing was written: {e}"),
    )
}

/// The clinician's word for a kind, for "no dosing session s9 in the file or the store".
fn noun(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Patient => "patient",
        RecordKind::Note => "note",
        RecordKind::Session => "dosing session",
        RecordKind::Measure => "measure",
        RecordKind::Goal => "goal",
        RecordKind::SafetyFollowUp => "safety follow-up",
        RecordKind::Course => "course",
        RecordKind::ListEntry => "list entry",
    }
}

/// Whether a record's references resolve.
enum Resolved {
    Yes,
    No(ImportError),
    /// One names an id not seen yet: it may come later in the file. `patient`: that id is the
    /// record's patient.
    NotYet {
        patient: bool,
    },
}

struct Checker<'a, K: KnownIds + ?Sized> {
    /// Every id read so far: ids are unique across all kinds.
    seen: HashMap<Box<str>, Seen>,
    owners: Owners,
    known: &'a K,
}

impl<K: KnownIds + ?Sized> Checker<'_, K> {
    /// Checks that the record's patient exists and that every id it refers to is a record of the
    /// right kind belonging to the same patient. Before the whole file is read (`last` false),
    /// an id not seen yet and not stored stops the check: it may be on a later line.
    fn resolve_all(
        &self,
        line: usize,
        owner: u32,
        references: &[Reference],
        last: bool,
    ) -> Resolved {
        for (i, (field, id, want)) in references.iter().enumerate() {
            match self.resolve(id, *want, owner, line, last) {
                None => {
                    return Resolved::NotYet {
                        patient: i == 0 && *want == RecordKind::Patient,
                    };
                }
                Some(Ok(())) => {}
                Some(Err(m)) => return Resolved::No(ImportError::at_field(line, field, m)),
            }
        }
        Resolved::Yes
    }

    /// Whether `id` is a `want` of patient `owner` (else why not); `None`: not seen yet, not
    /// stored, and the file is not all read.
    fn resolve(
        &self,
        id: &str,
        want: RecordKind,
        owner: u32,
        line: usize,
        last: bool,
    ) -> Option<Result<(), String>> {
        let owner_id = |n: u32| self.owners.ids.get(n as usize);
        let (kind, belongs_to, place) = if let Some(seen) = self.seen.get(id) {
            (
                seen.kind,
                owner_id(seen.owner).cloned(),
                format!("on line {}", seen.line),
            )
        } else {
            let kind = match self.known.kind_of(id) {
                Ok(kind) => kind,
                Err(e) => return Some(Err(store_error(line, id, &e).message)),
            };
            let Some(kind) = kind else {
                if !last {
                    return None;
                }
                return Some(Err(format!(
                    "no {} {id} in the file or the store",
                    noun(want)
                )));
            };
            let belongs_to = if kind == want && want != RecordKind::Patient {
                match self.known.patient_of(id) {
                    Ok(p) => p,
                    Err(e) => return Some(Err(store_error(line, id, &e).message)),
                }
            } else {
                None
            };
            (kind, belongs_to, "in the store".to_owned())
        };
        if kind != want {
            return Some(Err(format!(
                "{id} is {} {place}, not {}",
                super::kind_with_article(kind),
                super::kind_with_article(want)
            )));
        }
        if want != RecordKind::Patient
            && let Some(other) = belongs_to
            && let Some(owner) = owner_id(owner)
            && &other != owner
        {
            return Some(Err(format!(
                "{} {id} {place} belongs to patient {other}, not {owner}",
                noun(want)
            )));
        }
        Some(Ok(()))
    }
}
