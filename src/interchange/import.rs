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
/// Returns the first problem by line number. Never panics, whatever the bytes.
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
    let mut lines = Lines::new(reader, max_line);
    read_header(&mut lines)?;

    let mut records: Vec<Record> = Vec::new();
    let mut line_of: Vec<usize> = Vec::new();
    // Every id in the file, to the index of its record: ids are unique across all kinds.
    let mut index: HashMap<String, usize> = HashMap::new();

    while let Some((number, text)) = lines.next_line()? {
        if is_blank(text) {
            continue;
        }
        let record = read_record(number, text)?;
        let id = record.id();
        if let Some(&earlier) = index.get(id) {
            return Err(ImportError::at_field(
                number,
                "id",
                format!(
                    "id {id} is already used by {} on line {}",
                    super::kind_with_article(records[earlier].kind()),
                    line_of[earlier]
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
        index.insert(id.to_owned(), records.len());
        records.push(record);
        line_of.push(number);
    }

    // References may point forward in the file, so they are resolved once every line is read.
    let resolver = Resolver {
        records: &records,
        line_of: &line_of,
        index: &index,
        known,
    };
    let mut summary = ImportSummary::default();
    for (i, record) in records.iter().enumerate() {
        resolver.check(record, line_of[i])?;
        summary.count(record.kind());
    }

    super::patients_first(&mut records);
    Ok(ParsedImport { records, summary })
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
    }
}

struct Resolver<'a, K: KnownIds + ?Sized> {
    records: &'a [Record],
    line_of: &'a [usize],
    index: &'a HashMap<String, usize>,
    known: &'a K,
}

impl<K: KnownIds + ?Sized> Resolver<'_, K> {
    /// Checks that the record's patient exists and that every id it refers to is a record of the
    /// right kind belonging to the same patient.
    fn check(&self, record: &Record, line: usize) -> Result<(), ImportError> {
        let patient = record.patient();
        if record.kind() != RecordKind::Patient {
            self.resolve(patient.as_str(), RecordKind::Patient, patient, line)
                .map_err(|m| ImportError::at_field(line, "patient", m))?;
        }
        let mut result = Ok(());
        record.as_ref().for_each_reference(|field, id, want| {
            if result.is_ok()
                && let Err(m) = self.resolve(id.as_str(), want, patient, line)
            {
                result = Err(ImportError::at_field(line, field(), m));
            }
        });
        result
    }

    fn resolve(
        &self,
        id: &str,
        want: RecordKind,
        owner: &PatientId,
        line: usize,
    ) -> Result<(), String> {
        let (kind, belongs_to, place) = if let Some(&i) = self.index.get(id) {
            let r = &self.records[i];
            (
                r.kind(),
                Some(r.patient().clone()),
                format!("on line {}", self.line_of[i]),
            )
        } else {
            let kind = self
                .known
                .kind_of(id)
                .map_err(|e| store_error(line, id, &e).message)?;
            let Some(kind) = kind else {
                return Err(format!("no {} {id} in the file or the store", noun(want)));
            };
            let belongs_to = if kind == want && want != RecordKind::Patient {
                self.known
                    .patient_of(id)
                    .map_err(|e| store_error(line, id, &e).message)?
            } else {
                None
            };
            (kind, belongs_to, "in the store".to_owned())
        };
        if kind != want {
            return Err(format!(
                "{id} is {} {place}, not {}",
                super::kind_with_article(kind),
                super::kind_with_article(want)
            ));
        }
        if want != RecordKind::Patient
            && let Some(other) = belongs_to
            && &other != owner
        {
            return Err(format!(
                "{} {id} {place} belongs to patient {other}, not {owner}",
                noun(want)
            ));
        }
        Ok(())
    }
}
