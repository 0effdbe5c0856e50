//! The key layout of the store: one ordered keyspace with a prefix per kind of entry.
//!
//! ```text
//! M\0schema                                   schema version (u32, big-endian)
//! P\0<patient id>                             a patient
//! T\0<patient id>\0<time: 16 bytes><kind: 1><id>   a timeline record (note, session, measure, goal)
//! I\0<id>                                     id index: the key of the record with that id
//! A\0<seq: u64, big-endian>                   audit log entry number seq (1, 2, ...)
//! M\0audit                                    audit log head: the newest entry's number and hash
//! X\0<word>\0<block: u32>                      search index: the postings of a word in a block of docs
//! D\0<block: u32>                              search index: the doc table (what each doc is)
//! E\0<doc: u32>                                search index: the record and part a doc is
//! R\0<record id>                               search index: a record's docs, by part
//! Q\0<patient id>                              search index: the patient's number in the doc table
//! W\0<bucket>                                  search index: the words, by first letter
//! M\0search                                   search index: counts and the next numbers
//! G\0<patient id>                             agenda index: what Today and the drafts list read
//! M\0agenda                                   agenda index: its format, written once built
//! M\0crypt                                    an encrypted store's header (store::crypt)
//! M\0tally, M\0stamp                          the save number and the save stamp (store::tally)
//! M\0binds                                    the records' bindings to the log (store::binding)
//! U\0input                                    what is typed but not yet a record (app::unsaved)
//! ```
//! In an encrypted store every id and word in a key is a 16-byte keyed hash instead
//! ([`Crypt::name`]), so keys reveal no name; times and kinds stay, for the timeline's order.
//! (See `store::index` for the values of the search index.)
//! Ids never contain NUL (see `model::ids`), so `T\0<patient id>\0` is a prefix that holds
//! exactly one patient's timeline, ordered by time, and one scan reads it. Time is the record's
//! instant in nanoseconds as a big-endian i128 with the sign bit flipped, so byte order is time
//! order (also before 1970).

use super::crypt::{Crypt, NameOf};
use crate::model::{PatientId, RecordKind};
use jiff::Timestamp;

pub const SCHEMA_KEY: &[u8] = b"M\0schema";
pub const PATIENT_PREFIX: &[u8] = b"P\0";
pub const TIMELINE_PREFIX: &[u8] = b"T\0";
pub const INDEX_PREFIX: &[u8] = b"I\0";
pub const AUDIT_PREFIX: &[u8] = b"A\0";
pub const AUDIT_HEAD_KEY: &[u8] = b"M\0audit";
pub const POSTINGS_PREFIX: &[u8] = b"X\0";
pub const DOCS_PREFIX: &[u8] = b"D\0";
pub const DOC_REF_PREFIX: &[u8] = b"E\0";
pub const RECORD_DOCS_PREFIX: &[u8] = b"R\0";
pub const PATIENT_NO_PREFIX: &[u8] = b"Q\0";
pub const WORDS_PREFIX: &[u8] = b"W\0";
pub const SEARCH_STATS_KEY: &[u8] = b"M\0search";
/// The agenda index (`store::agenda`): one value per patient, and its version.
pub const AGENDA_PREFIX: &[u8] = b"G\0";
pub const AGENDA_VERSION_KEY: &[u8] = b"M\0agenda";
/// What is typed but not yet a record: the console's entry line, open and kept forms, where
/// the editor is. Sealed like every value, not a record and not audited (it is not the record
/// yet), replaced whole.
pub const UNSAVED_KEY: &[u8] = b"U\0input";
/// What `kitnotes sync` knows of the practice's FHIR server (`sync::state`): the versions last
/// seen, the last pull, open conflicts. Sealed like every value, replaced whole, not audited
/// (each sync writes its own audit entry).
pub const SYNC_STATE_KEY: &[u8] = b"S\0sync";
/// Every prefix of the search index (the stats key is on its own).
pub const SEARCH_PREFIXES: [&[u8]; 6] = [
    POSTINGS_PREFIX,
    WORDS_PREFIX,
    DOCS_PREFIX,
    DOC_REF_PREFIX,
    RECORD_DOCS_PREFIX,
    PATIENT_NO_PREFIX,
];

/// The kind bytes of the audit log's values in their envelopes; never reuse them for records.
pub const AUDIT_ENTRY_KIND: u8 = b'a';
pub const AUDIT_HEAD_KIND: u8 = b'h';
/// The kind byte of every value of the search index.
pub const INDEX_KIND: u8 = b'x';
/// The kind byte of the id index's values.
pub const REF_KIND: u8 = b'i';
/// The kind byte of the snapshot of the records' bindings to the audit log.
pub const BINDINGS_KIND: u8 = b'b';
/// The kind byte of the unsaved-input value ([`UNSAVED_KEY`]).
pub const UNSAVED_KIND: u8 = b'u';

const TIME_LEN: usize = 16;

/// The byte that names a record kind inside keys and envelopes. Never renumber these.
pub fn kind_byte(kind: RecordKind) -> u8 {
    match kind {
        RecordKind::Patient => b'p',
        RecordKind::Note => b'n',
        RecordKind::Session => b's',
        RecordKind::Measure => b'm',
        RecordKind::Goal => b'g',
        RecordKind::SafetyFollowUp => b'f',
        RecordKind::Course => b'c',
        RecordKind::ListEntry => b'l',
    }
}

pub fn kind_from_byte(b: u8) -> Option<RecordKind> {
    RecordKind::ALL.into_iter().find(|k| kind_byte(*k) == b)
}

pub fn patient_key(c: &Crypt, id: &PatientId) -> Vec<u8> {
    [PATIENT_PREFIX, &c.name(NameOf::Id, id.as_str().as_bytes())].concat()
}

/// Audit entries sort by number, so a scan reads the log in the order it was written.
pub fn audit_key(seq: u64) -> Vec<u8> {
    [AUDIT_PREFIX, &seq.to_be_bytes()].concat()
}

pub fn index_key(c: &Crypt, id: &str) -> Vec<u8> {
    [INDEX_PREFIX, &c.name(NameOf::Id, id.as_bytes())].concat()
}

/// The prefix under which one patient's timeline sits.
pub fn timeline_prefix(c: &Crypt, patient: &PatientId) -> Vec<u8> {
    [
        TIMELINE_PREFIX,
        &c.name(NameOf::Id, patient.as_str().as_bytes()),
        b"\0",
    ]
    .concat()
}

fn time_bytes(at: Timestamp) -> [u8; TIME_LEN] {
    let flipped = (at.as_nanosecond() as u128) ^ (1u128 << 127);
    flipped.to_be_bytes()
}

pub fn timeline_key(
    c: &Crypt,
    patient: &PatientId,
    at: Timestamp,
    kind: RecordKind,
    id: &str,
) -> Vec<u8> {
    let mut k = timeline_prefix(c, patient);
    k.extend_from_slice(&time_bytes(at));
    k.push(kind_byte(kind));
    k.extend_from_slice(&c.name(NameOf::Id, id.as_bytes()));
    k
}

/// The parts of a key, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyParts {
    Schema,
    Patient {
        id: String,
    },
    Timeline {
        patient: String,
        at: Timestamp,
        kind: RecordKind,
        id: String,
    },
    Index {
        id: String,
    },
    Audit {
        seq: u64,
    },
    AuditHead,
    /// Any entry of the search index.
    Search,
    /// Any entry of the agenda index.
    Agenda,
}

/// The id part of a timeline key as stored: the record id in a plain store, its name in an
/// encrypted one (what the search index's record keys are made of).
pub fn timeline_id_name<'k>(c: &Crypt, key: &'k [u8]) -> Option<&'k [u8]> {
    let rest = key.strip_prefix(TIMELINE_PREFIX)?;
    let patient = match c.name_len() {
        None => rest.iter().position(|b| *b == 0)?,
        Some(n) => n,
    };
    rest.get(patient + 1 + TIME_LEN + 1..)
        .filter(|id| !id.is_empty() && rest.get(patient) == Some(&0))
}

/// Reads a key back into its parts; `None` for a key this version does not know. In an
/// encrypted store the ids are their names, in hex.
pub fn parse_key(c: &Crypt, key: &[u8]) -> Option<KeyParts> {
    parse_key_named(c.name_len(), key)
}

/// [`parse_key`] for keys whose ids are `name_len`-byte names (`None`: the ids themselves), for
/// when the store's keys are not at hand (a message about a key).
pub fn parse_key_named(name_len: Option<usize>, key: &[u8]) -> Option<KeyParts> {
    let utf8 = |b: &[u8]| match name_len {
        None => std::str::from_utf8(b).ok().map(str::to_owned),
        Some(n) => (b.len() == n).then(|| super::crypt::hex(b)),
    };
    if key == SCHEMA_KEY {
        return Some(KeyParts::Schema);
    }
    if key == AUDIT_HEAD_KEY {
        return Some(KeyParts::AuditHead);
    }
    if key == SEARCH_STATS_KEY || SEARCH_PREFIXES.iter().any(|p| key.starts_with(p)) {
        return Some(KeyParts::Search);
    }
    if key == AGENDA_VERSION_KEY || key.starts_with(AGENDA_PREFIX) {
        return Some(KeyParts::Agenda);
    }
    if let Some(rest) = key.strip_prefix(AUDIT_PREFIX) {
        let seq = <[u8; 8]>::try_from(rest).ok()?;
        return Some(KeyParts::Audit {
            seq: u64::from_be_bytes(seq),
        });
    }
    if let Some(rest) = key.strip_prefix(PATIENT_PREFIX) {
        return Some(KeyParts::Patient { id: utf8(rest)? });
    }
    if let Some(rest) = key.strip_prefix(INDEX_PREFIX) {
        return Some(KeyParts::Index { id: utf8(rest)? });
    }
    let rest = key.strip_prefix(TIMELINE_PREFIX)?;
    let nul = match name_len {
        None => rest.iter().position(|b| *b == 0)?,
        Some(n) => n,
    };
    if rest.get(nul) != Some(&0) {
        return None;
    }
    let patient = utf8(&rest[..nul])?;
    let rest = &rest[nul + 1..];
    if rest.len() < TIME_LEN + 2 {
        return None;
    }
    let mut t = [0u8; TIME_LEN];
    t.copy_from_slice(&rest[..TIME_LEN]);
    let nanos = (u128::from_be_bytes(t) ^ (1u128 << 127)) as i128;
    let at = Timestamp::from_nanosecond(nanos).ok()?;
    let kind = kind_from_byte(rest[TIME_LEN])?;
    let id = utf8(&rest[TIME_LEN + 1..])?;
    Some(KeyParts::Timeline {
        patient,
        at,
        kind,
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(s: &str) -> PatientId {
        PatientId::parse(s).unwrap()
    }

    #[test]
    fn timeline_keys_sort_by_time_including_before_1970() {
        let p = pid("p1");
        let times = [
            "1969-07-20T20:17:00Z",
            "1970-01-01T00:00:00Z",
            "2026-03-02T10:00:00Z",
            "2026-03-02T10:00:00.000000001Z",
        ];
        let keys: Vec<Vec<u8>> = times
            .iter()
            .map(|t| timeline_key(&Crypt::Plain, &p, t.parse().unwrap(), RecordKind::Note, "n"))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn one_patients_prefix_never_holds_anothers_records() {
        let k = timeline_key(
            &Crypt::Plain,
            &pid("p10"),
            "2026-03-02T10:00:00Z".parse().unwrap(),
            RecordKind::Note,
            "n1",
        );
        assert!(!k.starts_with(&timeline_prefix(&Crypt::Plain, &pid("p1"))));
        assert!(k.starts_with(&timeline_prefix(&Crypt::Plain, &pid("p10"))));
    }

    #[test]
    fn keys_parse_back() {
        let at: Timestamp = "2026-03-02T10:00:00.5Z".parse().unwrap();
        let k = timeline_key(&Crypt::Plain, &pid("p1"), at, RecordKind::Measure, "m-1");
        assert_eq!(
            parse_key(&Crypt::Plain, &k),
            Some(KeyParts::Timeline {
                patient: "p1".into(),
                at,
                kind: RecordKind::Measure,
                id: "m-1".into()
            })
        );
        assert_eq!(
            parse_key(&Crypt::Plain, &patient_key(&Crypt::Plain, &pid("p1"))),
            Some(KeyParts::Patient { id: "p1".into() })
        );
        assert_eq!(
            parse_key(&Crypt::Plain, &index_key(&Crypt::Plain, "n1")),
            Some(KeyParts::Index { id: "n1".into() })
        );
        assert_eq!(parse_key(&Crypt::Plain, SCHEMA_KEY), Some(KeyParts::Schema));
        assert_eq!(
            parse_key(&Crypt::Plain, &audit_key(258)),
            Some(KeyParts::Audit { seq: 258 })
        );
        assert_eq!(
            parse_key(&Crypt::Plain, AUDIT_HEAD_KEY),
            Some(KeyParts::AuditHead)
        );
        assert_eq!(parse_key(&Crypt::Plain, b"A\0short"), None);
        assert_eq!(parse_key(&Crypt::Plain, b"Z\0what"), None);
        assert_eq!(parse_key(&Crypt::Plain, b"T\0p1\0short"), None);
    }

    #[test]
    fn sealed_keys_name_nothing_and_parse_back() {
        let c = Crypt::Sealed(std::sync::Arc::new(crate::store::crypt::Keys::for_tests(7)));
        let at: Timestamp = "2026-03-02T10:00:00Z".parse().unwrap();
        let k = timeline_key(&c, &pid("ada-lovelace"), at, RecordKind::Note, "n-secret");
        assert!(!String::from_utf8_lossy(&k).contains("ada"));
        assert!(k.starts_with(&timeline_prefix(&c, &pid("ada-lovelace"))));
        match parse_key(&c, &k) {
            Some(KeyParts::Timeline {
                at: t, kind, id, ..
            }) => {
                assert_eq!((t, kind, id.len()), (at, RecordKind::Note, 32));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            timeline_id_name(&c, &k),
            Some(c.name(NameOf::Id, b"n-secret").as_ref())
        );
        let plain = timeline_key(&Crypt::Plain, &pid("p1"), at, RecordKind::Note, "n-1");
        assert_eq!(timeline_id_name(&Crypt::Plain, &plain), Some(&b"n-1"[..]));
        let p = patient_key(&c, &pid("ada-lovelace"));
        assert!(matches!(parse_key(&c, &p), Some(KeyParts::Patient { .. })));
    }
}
