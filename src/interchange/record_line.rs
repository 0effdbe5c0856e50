//! One record as one JSON Lines line, outside a file: how `kitnotes sync` carries a record to
//! another kitnotes through the practice's FHIR server byte for byte (docs/FHIR.md, "Sync").

use super::wire::{self, LineType};
use crate::model::{Record, RecordRef};

/// The record's canonical interchange line (docs/FORMAT.md), without a newline.
pub fn to_line(record: RecordRef<'_>) -> String {
    let mut out = Vec::with_capacity(512);
    // Serializing a record to a Vec cannot fail (no I/O, string keys only); an empty line
    // would be refused by `from_line`, never taken for a record.
    if wire::write_record(&mut out, record).is_err() {
        out.clear();
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Reads a line [`to_line`] wrote back into its record, checked like an imported one;
/// the error says which field is wrong.
pub fn from_line(line: &str) -> Result<Record, String> {
    let kind = match wire::line_type(line).map_err(|e| describe(e.field, e.message))? {
        LineType::Record(kind) => kind,
        LineType::Header => return Err("a file header, not a record".into()),
        LineType::Unknown(t) => return Err(format!("unknown record type {t:?}")),
        LineType::Missing => return Err("the record has no type".into()),
    };
    let record = wire::record_from_line(kind, line).map_err(|e| describe(e.field, e.message))?;
    record
        .validate()
        .map_err(|e| describe(Some(e.field), e.message))?;
    Ok(record)
}

fn describe(field: Option<String>, message: String) -> String {
    match field {
        Some(f) => format!("{f}: {message}"),
        None => message,
    }
}
