//! The record codec: every value in the store passes through here, and nothing else writes values.
//!
//! Envelope, version 1:
//! ```text
//! byte 0      b'K'                 marks a kitnotes envelope
//! byte 1      1                    envelope version
//! byte 2      sealing              0 = plain, 1 = sealed (XChaCha20-Poly1305, see below)
//! byte 3      record kind          see keys::kind_byte
//! bytes 4-5   body version (u16)   the shape of the record body, for migrations
//! bytes 6-9   CRC-32               over the key and bytes 0-5 and the body: detects damage and a
//!                                  value moved to another key
//! bytes 10..  body                 the record as JSON
//! ```
//! A sealed value (an encrypted store, `store::crypt`) has the same 6 header bytes, then a
//! 24-byte nonce, the body encrypted, and a 16-byte tag, with the key's length, the key and the
//! header as associated data: a value moved to another key, or with its header changed, does
//! not open. An encrypted store refuses plain values and a plain store sealed ones.
//!
//! Audit entries use the same envelope with kind byte `a` (the entry as JSON), and the audit
//! log's head with kind `h` (8 bytes of entry number and the 32-byte hash), and the search index's
//! values with kind `x` (their own binary layout, see `store::index`), and the id index's values
//! with kind `i` (the primary key of the record with that id), and the snapshot of the records'
//! bindings to the log with kind `b` (`store::binding`).

use super::audit::{AuditEntry, AuditHead};
use super::crypt::Crypt;
use super::keys::{
    AUDIT_ENTRY_KIND, AUDIT_HEAD_KIND, BINDINGS_KIND, INDEX_KIND, REF_KIND, UNSAVED_KIND,
    kind_byte, kind_from_byte,
};
use crate::model::{Record, RecordKind};
use std::borrow::Cow;
use zeroize::{Zeroize, Zeroizing};

const MAGIC: u8 = b'K';
const ENVELOPE_VERSION: u8 = 1;
const SEALING_PLAIN: u8 = 0;
/// Sealed with XChaCha20-Poly1305 (see `store::crypt`): the bytes after the header are a
/// 24-byte nonce, the body encrypted, and a 16-byte tag, instead of the checksum and the body.
const SEALING_XCHACHA: u8 = 1;
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
    #[error(
        "the seal does not open: the value was damaged, moved from another key, or sealed by \
         another store"
    )]
    Seal,
    #[error("the value is not sealed, in an encrypted store: it was not written by kitnotes")]
    Unsealed,
    #[error("the value is sealed, but the store is not encrypted")]
    NoKey,
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

/// Wraps `body` in an envelope for `key`: the one place values get their header and checksum,
/// or, in an encrypted store, are sealed (the key and the header as associated data).
fn seal(c: &Crypt, key: &[u8], kind: u8, body: &[u8]) -> Vec<u8> {
    let sealing = if c.is_sealed() {
        SEALING_XCHACHA
    } else {
        SEALING_PLAIN
    };
    let mut out = Vec::with_capacity(HEADER_LEN + body.len() + 40);
    out.extend_from_slice(&[MAGIC, ENVELOPE_VERSION, sealing, kind]);
    out.extend_from_slice(&BODY_VERSION.to_be_bytes());
    let len = (key.len() as u64).to_be_bytes();
    match c.seal(&[&len, key, &out[..6]], body) {
        Some(sealed) => out.extend_from_slice(&sealed),
        None => {
            let crc = checksum(key, &out[..6], body);
            out.extend_from_slice(&crc.to_be_bytes());
            out.extend_from_slice(body);
        }
    }
    out
}

/// Checks the envelope of a value read from `key` and returns its kind byte and body (opened,
/// in an encrypted store).
fn open<'v>(c: &Crypt, key: &[u8], value: &'v [u8]) -> Result<(u8, Cow<'v, [u8]>), CodecError> {
    if value.len() < HEADER_LEN {
        return Err(CodecError::TooShort(value.len()));
    }
    if value[0] != MAGIC {
        return Err(CodecError::NotAnEnvelope);
    }
    if value[1] != ENVELOPE_VERSION {
        return Err(CodecError::NewerEnvelope(value[1]));
    }
    let body = match (value[2], c.is_sealed()) {
        (SEALING_PLAIN, false) => {
            let stored = u32::from_be_bytes([value[6], value[7], value[8], value[9]]);
            let body = &value[HEADER_LEN..];
            if checksum(key, &value[..6], body) != stored {
                return Err(CodecError::Checksum);
            }
            Cow::Borrowed(body)
        }
        (SEALING_XCHACHA, true) => {
            let len = (key.len() as u64).to_be_bytes();
            Cow::Owned(
                c.open(&[&len, key, &value[..6]], &value[6..])
                    .ok_or(CodecError::Seal)?,
            )
        }
        (SEALING_PLAIN, true) => return Err(CodecError::Unsealed),
        (SEALING_XCHACHA, false) => return Err(CodecError::NoKey),
        (other, _) => return Err(CodecError::UnknownSealing(other)),
    };
    let body_version = u16::from_be_bytes([value[4], value[5]]);
    if body_version > BODY_VERSION {
        return Err(CodecError::NewerBody(body_version));
    }
    Ok((value[3], body))
}

/// Encodes a record for storage under `key`.
pub fn encode(c: &Crypt, key: &[u8], record: &Record) -> Vec<u8> {
    // Serializing these plain structs to JSON cannot fail: no maps with non-string keys, no
    // custom serializers that error.
    let body = Zeroizing::new(
        match record {
            Record::Patient(r) => serde_json::to_vec(r),
            Record::Note(r) => serde_json::to_vec(r),
            Record::Session(r) => serde_json::to_vec(r),
            Record::Measure(r) => serde_json::to_vec(r),
            Record::Goal(r) => serde_json::to_vec(r),
            Record::SafetyFollowUp(r) => serde_json::to_vec(r),
            Record::Course(r) => serde_json::to_vec(r),
            Record::ListEntry(r) => serde_json::to_vec(r),
        }
        .unwrap_or_default(),
    );
    seal(c, key, kind_byte(record.kind()), &body)
}

/// Decodes a value read from `key`, checking the envelope and its checksum or seal.
pub fn decode(c: &Crypt, key: &[u8], value: &[u8]) -> Result<Record, CodecError> {
    let (kind, body) = open(c, key, value)?;
    let body = Plaintext(body);
    let kind = kind_from_byte(kind).ok_or(CodecError::UnknownKind(kind))?;
    let e = |e: serde_json::Error| CodecError::Body(e.to_string());
    Ok(match kind {
        RecordKind::Patient => Record::Patient(serde_json::from_slice(&body.0).map_err(e)?),
        RecordKind::Note => Record::Note(serde_json::from_slice(&body.0).map_err(e)?),
        RecordKind::Session => Record::Session(serde_json::from_slice(&body.0).map_err(e)?),
        RecordKind::Measure => Record::Measure(serde_json::from_slice(&body.0).map_err(e)?),
        RecordKind::Goal => Record::Goal(serde_json::from_slice(&body.0).map_err(e)?),
        RecordKind::SafetyFollowUp => {
            Record::SafetyFollowUp(serde_json::from_slice(&body.0).map_err(e)?)
        }
        RecordKind::Course => Record::Course(serde_json::from_slice(&body.0).map_err(e)?),
        RecordKind::ListEntry => Record::ListEntry(serde_json::from_slice(&body.0).map_err(e)?),
    })
}

/// An opened body, zeroized when dropped if it was decrypted into a buffer of its own.
struct Plaintext<'v>(Cow<'v, [u8]>);

impl Drop for Plaintext<'_> {
    fn drop(&mut self) {
        if let Cow::Owned(v) = &mut self.0 {
            v.zeroize();
        }
    }
}

/// Encodes an audit entry for storage under its key, in the same envelope as records.
pub fn encode_audit(c: &Crypt, key: &[u8], entry: &AuditEntry) -> Vec<u8> {
    // As for records: a plain struct whose JSON serialization cannot fail.
    let body = Zeroizing::new(serde_json::to_vec(entry).unwrap_or_default());
    seal(c, key, AUDIT_ENTRY_KIND, &body)
}

/// Decodes an audit entry read from `key`.
pub fn decode_audit(c: &Crypt, key: &[u8], value: &[u8]) -> Result<AuditEntry, CodecError> {
    let (kind, body) = open(c, key, value)?;
    let body = Plaintext(body);
    if kind != AUDIT_ENTRY_KIND {
        return Err(CodecError::UnknownKind(kind));
    }
    serde_json::from_slice(&body.0).map_err(|e| CodecError::Body(e.to_string()))
}

/// Encodes the audit log's head (the newest entry's number and hash).
pub fn encode_audit_head(c: &Crypt, key: &[u8], head: &AuditHead) -> Vec<u8> {
    seal(c, key, AUDIT_HEAD_KIND, &head.to_bytes())
}

pub fn decode_audit_head(c: &Crypt, key: &[u8], value: &[u8]) -> Result<AuditHead, CodecError> {
    let (kind, body) = open(c, key, value)?;
    if kind != AUDIT_HEAD_KIND {
        return Err(CodecError::UnknownKind(kind));
    }
    AuditHead::from_bytes(&body)
        .ok_or_else(|| CodecError::Body(format!("the head is {} bytes long, not 40", body.len())))
}

/// Encodes a value of the search index (its own binary layout, see `store::index`) in the same
/// envelope as records, so damage is detected and sealing at rest covers the index too.
pub fn encode_index(c: &Crypt, key: &[u8], body: &[u8]) -> Vec<u8> {
    seal(c, key, INDEX_KIND, body)
}

/// Opens a value read from `key` that must be of kind `want`.
fn open_kind<'v>(
    c: &Crypt,
    key: &[u8],
    value: &'v [u8],
    want: u8,
) -> Result<Cow<'v, [u8]>, CodecError> {
    let (kind, body) = open(c, key, value)?;
    if kind != want {
        return Err(CodecError::UnknownKind(kind));
    }
    Ok(body)
}

/// Opens a value of the search index read from `key`.
pub fn decode_index<'v>(
    c: &Crypt,
    key: &[u8],
    value: &'v [u8],
) -> Result<Cow<'v, [u8]>, CodecError> {
    open_kind(c, key, value, INDEX_KIND)
}

/// Encodes the snapshot of the records' bindings (`store::binding`).
pub fn encode_bindings(c: &Crypt, key: &[u8], body: &[u8]) -> Vec<u8> {
    seal(c, key, BINDINGS_KIND, body)
}

/// Opens the snapshot of the records' bindings.
pub fn decode_bindings<'v>(
    c: &Crypt,
    key: &[u8],
    value: &'v [u8],
) -> Result<Cow<'v, [u8]>, CodecError> {
    open_kind(c, key, value, BINDINGS_KIND)
}

/// Encodes an entry of the id index: the primary key of the record with that id.
pub fn encode_ref(c: &Crypt, key: &[u8], primary: &[u8]) -> Vec<u8> {
    seal(c, key, REF_KIND, primary)
}

/// Opens an entry of the id index.
pub fn decode_ref(c: &Crypt, key: &[u8], value: &[u8]) -> Result<Vec<u8>, CodecError> {
    let (kind, body) = open(c, key, value)?;
    if kind != REF_KIND {
        return Err(CodecError::UnknownKind(kind));
    }
    Ok(body.into_owned())
}

/// Seals what is typed but not yet a record (`app::unsaved`), for the store or a rescue file.
pub fn encode_unsaved(c: &Crypt, key: &[u8], body: &[u8]) -> Vec<u8> {
    seal(c, key, UNSAVED_KIND, body)
}

/// Opens what [`encode_unsaved`] sealed under `key`.
pub fn decode_unsaved(c: &Crypt, key: &[u8], value: &[u8]) -> Result<Vec<u8>, CodecError> {
    let (kind, body) = open(c, key, value)?;
    if kind != UNSAVED_KIND {
        return Err(CodecError::UnknownKind(kind));
    }
    Ok(body.into_owned())
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
        let v = encode(&Crypt::Plain, b"P\0p1", &patient());
        assert_eq!(decode(&Crypt::Plain, b"P\0p1", &v), Ok(patient()));
    }

    #[test]
    fn any_flipped_bit_is_detected() {
        let v = encode(&Crypt::Plain, b"P\0p1", &patient());
        for byte in 0..v.len() {
            for bit in 0..8 {
                let mut bad = v.clone();
                bad[byte] ^= 1 << bit;
                assert!(
                    decode(&Crypt::Plain, b"P\0p1", &bad).is_err(),
                    "flip at byte {byte} bit {bit} went unnoticed"
                );
            }
        }
    }

    #[test]
    fn a_value_moved_to_another_key_is_detected() {
        let v = encode(&Crypt::Plain, b"P\0p1", &patient());
        assert_eq!(
            decode(&Crypt::Plain, b"P\0p2", &v),
            Err(CodecError::Checksum)
        );
    }

    #[test]
    fn short_foreign_and_newer_values_are_named() {
        assert_eq!(
            decode(&Crypt::Plain, b"k", b"abc"),
            Err(CodecError::TooShort(3))
        );
        assert_eq!(
            decode(&Crypt::Plain, b"k", b"xxxxxxxxxxxx"),
            Err(CodecError::NotAnEnvelope)
        );
        let mut v = encode(&Crypt::Plain, b"k", &patient());
        v[1] = 9;
        assert_eq!(
            decode(&Crypt::Plain, b"k", &v),
            Err(CodecError::NewerEnvelope(9))
        );
    }
}
