//! The record codec: every value in the store passes through here, and nothing else writes values.
//!
//! Envelope, version 1:
//! ```text
//! byte 0      b'K'                 marks a kitnotes envelope
//! byte 1      1                    envelope version
//! byte 2      sealing              0 = plain (encryption at rest adds its own sealing here)
//! byte 3      record kind          see keys::kind_byte
//! bytes 4-5   body version (u16)   the shape of the record body, for migrations
//! bytes 6-9   CRC-32               over the key and bytes 0-5 and the body: detects damage and a
//!                                  value moved to another key
//! bytes 10..  body                 the record as JSON
//! ```
//! Audit entries use the same envelope with kind byte `a` (the entry as JSON), and the audit
//! log's head with kind `h` (8 bytes of entry number and the 32-byte hash), and the search index's
//! values with kind `x` (their own binary layout, see `store::index`).

use super::audit::{AuditEntry, AuditHead};
use super::keys::{AUDIT_ENTRY_KIND, AUDIT_HEAD_KIND, INDEX_KIND, kind_byte, kind_from_byte};
use crate::model::{Record, RecordKind};

const MAGIC: u8 = b'K';
const ENVELOPE_VERSION: u8 = 1;
const SEALING_PLAIN: u8 = 0;
/// The shape of record bodies this version writes.
pub const BODY_VERSION: u16 = 1;
const HEADER_LEN: usize = 10;

/// Why a stored value cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("the value is too short to be a record ({0} bytes)")]
    TooShort(usize),
    #[error("the value is not a kitnotes record envelope")]
    NotAnEnvelope,
    #[error("envelope version {0} is newer than this kitnotes reads")]
    NewerEnvelope(u8),
    #[error("the value is sealed with method {0}, which this kitnotes cannot open")]
    UnknownSealing(u8),
    #[error("checksum mismatch: the value was damaged or moved from another key")]
    Checksum,
    #[error("unknown record kind byte {0:#04x}")]
    UnknownKind(u8),
    #[error("record body version {0} is newer than this kitnotes reads")]
    NewerBody(u16),
    #[error("the record body does not parse: {0}")]
    Body(String),
}

fn checksum(key: &[u8], header: &[u8], body: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&(key.len() as u64).to_be_bytes());
    h.update(key);
    h.update(header);
    h.update(body);
    h.finalize()
}

/// Wraps `body` in an envelope for `key`: the one place values get their header and checksum.
fn seal(key: &[u8], kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&[MAGIC, ENVELOPE_VERSION, SEALING_PLAIN, kind]);
    out.extend_from_slice(&BODY_VERSION.to_be_bytes());
    let crc = checksum(key, &out[..6], body);
    out.extend_from_slice(&crc.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Checks the envelope of a value read from `key` and returns its kind byte and body.
fn open<'v>(key: &[u8], value: &'v [u8]) -> Result<(u8, &'v [u8]), CodecError> {
    if value.len() < HEADER_LEN {
        return Err(CodecError::TooShort(value.len()));
    }
    if value[0] != MAGIC {
        return Err(CodecError::NotAnEnvelope);
    }
    if value[1] != ENVELOPE_VERSION {
        return Err(CodecError::NewerEnvelope(value[1]));
    }
    if value[2] != SEALING_PLAIN {
        return Err(CodecError::UnknownSealing(value[2]));
    }
    let stored = u32::from_be_bytes([value[6], value[7], value[8], value[9]]);
    let body = &value[HEADER_LEN..];
    if checksum(key, &value[..6], body) != stored {
        return Err(CodecError::Checksum);
    }
    let body_version = u16::from_be_bytes([value[4], value[5]]);
    if body_version > BODY_VERSION {
        return Err(CodecError::NewerBody(body_version));
    }
    Ok((value[3], body))
}

/// Encodes a record for storage under `key`.
pub fn encode(key: &[u8], record: &Record) -> Vec<u8> {
    // Serializing these plain structs to JSON cannot fail: no maps with non-string keys, no
    // custom serializers that error.
    let body = match record {
        Record::Patient(r) => serde_json::to_vec(r),
        Record::Note(r) => serde_json::to_vec(r),
        Record::Session(r) => serde_json::to_vec(r),
        Record::Measure(r) => serde_json::to_vec(r),
        Record::Goal(r) => serde_json::to_vec(r),
    }
    .unwrap_or_default();
    seal(key, kind_byte(record.kind()), &body)
}

/// Decodes a value read from `key`, checking the envelope and its checksum.
pub fn decode(key: &[u8], value: &[u8]) -> Result<Record, CodecError> {
    let (kind, body) = open(key, value)?;
    let kind = kind_from_byte(kind).ok_or(CodecError::UnknownKind(kind))?;
    let e = |e: serde_json::Error| CodecError::Body(e.to_string());
    Ok(match kind {
        RecordKind::Patient => Record::Patient(serde_json::from_slice(body).map_err(e)?),
        RecordKind::Note => Record::Note(serde_json::from_slice(body).map_err(e)?),
        RecordKind::Session => Record::Session(serde_json::from_slice(body).map_err(e)?),
        RecordKind::Measure => Record::Measure(serde_json::from_slice(body).map_err(e)?),
        RecordKind::Goal => Record::Goal(serde_json::from_slice(body).map_err(e)?),
    })
}

/// Encodes an audit entry for storage under its key, in the same envelope as records.
pub fn encode_audit(key: &[u8], entry: &AuditEntry) -> Vec<u8> {
    // As for records: a plain struct whose JSON serialization cannot fail.
    let body = serde_json::to_vec(entry).unwrap_or_default();
    seal(key, AUDIT_ENTRY_KIND, &body)
}

/// Decodes an audit entry read from `key`.
pub fn decode_audit(key: &[u8], value: &[u8]) -> Result<AuditEntry, CodecError> {
    let (kind, body) = open(key, value)?;
    if kind != AUDIT_ENTRY_KIND {
        return Err(CodecError::UnknownKind(kind));
    }
    serde_json::from_slice(body).map_err(|e| CodecError::Body(e.to_string()))
}

/// Encodes the audit log's head (the newest entry's number and hash).
pub fn encode_audit_head(key: &[u8], head: &AuditHead) -> Vec<u8> {
    seal(key, AUDIT_HEAD_KIND, &head.to_bytes())
}

pub fn decode_audit_head(key: &[u8], value: &[u8]) -> Result<AuditHead, CodecError> {
    let (kind, body) = open(key, value)?;
    if kind != AUDIT_HEAD_KIND {
        return Err(CodecError::UnknownKind(kind));
    }
    AuditHead::from_bytes(body)
        .ok_or_else(|| CodecError::Body(format!("the head is {} bytes long, not 40", body.len())))
}

/// Encodes a value of the search index (its own binary layout, see `store::index`) in the same
/// envelope as records, so damage is detected and sealing at rest covers the index too.
pub fn encode_index(key: &[u8], body: &[u8]) -> Vec<u8> {
    seal(key, INDEX_KIND, body)
}

/// Opens a value of the search index read from `key`.
pub fn decode_index<'v>(key: &[u8], value: &'v [u8]) -> Result<&'v [u8], CodecError> {
    let (kind, body) = open(key, value)?;
    if kind != INDEX_KIND {
        return Err(CodecError::UnknownKind(kind));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Patient, PatientId};

    fn patient() -> Record {
        let mut p = Patient::new(PatientId::parse("p1").unwrap(), "Ada Example");
        p.tags = vec!["TRD".into()];
        Record::Patient(p)
    }

    #[test]
    fn round_trip() {
        let v = encode(b"P\0p1", &patient());
        assert_eq!(decode(b"P\0p1", &v), Ok(patient()));
    }

    #[test]
    fn any_flipped_bit_is_detected() {
        let v = encode(b"P\0p1", &patient());
        for byte in 0..v.len() {
            for bit in 0..8 {
                let mut bad = v.clone();
                bad[byte] ^= 1 << bit;
                assert!(
                    decode(b"P\0p1", &bad).is_err(),
                    "flip at byte {byte} bit {bit} went unnoticed"
                );
            }
        }
    }

    #[test]
    fn a_value_moved_to_another_key_is_detected() {
        let v = encode(b"P\0p1", &patient());
        assert_eq!(decode(b"P\0p2", &v), Err(CodecError::Checksum));
    }

    #[test]
    fn short_foreign_and_newer_values_are_named() {
        assert_eq!(decode(b"k", b"abc"), Err(CodecError::TooShort(3)));
        assert_eq!(
            decode(b"k", b"xxxxxxxxxxxx"),
            Err(CodecError::NotAnEnvelope)
        );
        let mut v = encode(b"k", &patient());
        v[1] = 9;
        assert_eq!(decode(b"k", &v), Err(CodecError::NewerEnvelope(9)));
    }
}
