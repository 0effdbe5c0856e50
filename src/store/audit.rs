//! The audit trail: an append-only log of who did what, when, to which patient and record.
//!
//! Each entry is chained to the one before it: its hash is SHA-256 over the previous entry's
//! hash and the entry's canonical bytes ([`AuditEntry::canonical_bytes`]), and the store keeps a
//! head (the newest entry's number and hash) beside the log. [`ChainCheck`] walks the log and
//! names the first entry that was changed, removed or reordered, and a head that does not match
//! the newest entry shows that entries were cut from the end.
//!
//! Entries are written by the store in the same atomic batch as the change they describe
//! (`Store::apply_with_audit`), so a change and its entry cannot be separated. Which entries a
//! change gets is the caller's choice through [`Audit`]: one per record, described by the store
//! from what the change does (the UI's edits), or entries the caller gives (one per patient for
//! an import, a demo build, or an export that writes nothing else).
//!
//! What a hash chain does not do: someone who can write the store's files can rewrite the whole
//! chain consistently. `kitnotes audit verify` prints the head hash so it can be kept elsewhere
//! (with a backup, on paper); a rewritten log no longer ends in that hash. docs/SECURITY.md says
//! more.
//!
//! Details name kinds of records, field names, section headings and counts, never note text or
//! a patient's name: the log is for accountability, not a second copy of the chart.

use crate::model::{DosingSession, Note, NoteKind, PatientId, Record, RecordKind};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// A SHA-256 hash in the chain; written as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ChainHash(pub [u8; 32]);

impl ChainHash {
    /// What the first entry is chained to.
    pub const GENESIS: ChainHash = ChainHash([0; 32]);

    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 64 || !s.is_ascii() {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(out))
    }
}

impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHash({})", self.to_hex())
    }
}

impl Serialize for ChainHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for ChainHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ChainHash::from_hex(&s)
            .ok_or_else(|| serde::de::Error::custom("a hash is 64 lowercase hex digits"))
    }
}

/// What happened. The kebab-case names are stored and hashed: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditAction {
    PatientCreated,
    PatientEdited,
    PatientArchived,
    PatientUnarchived,
    NoteCreated,
    DraftSaved,
    NoteSigned,
    AddendumAdded,
    DraftDeleted,
    /// A dosing session is signed (with its session note); it is final from then on.
    SessionSigned,
    /// A dosing session, measure or goal.
    RecordCreated,
    RecordChanged,
    RecordDeleted,
    Imported,
    Exported,
    /// Records of an invented demo patient were written (`kitnotes demo`).
    DemoGenerated,
    /// The store's passphrase was changed (`kitnotes passwd`).
    PassphraseChanged,
    /// A backup of the whole store was written (`kitnotes backup`).
    BackedUp,
    /// The store was restored from a backup (`kitnotes restore`): written into the restored
    /// store, after the entries the backup brought.
    Restored,
    /// `kitnotes sync` exchanged records with the practice's FHIR server (or tried to): what
    /// was sent, what came back, conflicts, or why it failed.
    Synced,
}

impl AuditAction {
    pub const ALL: [AuditAction; 20] = [
        AuditAction::PatientCreated,
        AuditAction::PatientEdited,
        AuditAction::PatientArchived,
        AuditAction::PatientUnarchived,
        AuditAction::NoteCreated,
        AuditAction::DraftSaved,
        AuditAction::NoteSigned,
        AuditAction::AddendumAdded,
        AuditAction::DraftDeleted,
        AuditAction::SessionSigned,
        AuditAction::RecordCreated,
        AuditAction::RecordChanged,
        AuditAction::RecordDeleted,
        AuditAction::Imported,
        AuditAction::Exported,
        AuditAction::DemoGenerated,
        AuditAction::PassphraseChanged,
        AuditAction::BackedUp,
        AuditAction::Restored,
        AuditAction::Synced,
    ];

    /// The stored name, also what the hash covers.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::PatientCreated => "patient-created",
            AuditAction::PatientEdited => "patient-edited",
            AuditAction::PatientArchived => "patient-archived",
            AuditAction::PatientUnarchived => "patient-unarchived",
            AuditAction::NoteCreated => "note-created",
            AuditAction::DraftSaved => "draft-saved",
            AuditAction::NoteSigned => "note-signed",
            AuditAction::AddendumAdded => "addendum-added",
            AuditAction::DraftDeleted => "draft-deleted",
            AuditAction::SessionSigned => "session-signed",
            AuditAction::RecordCreated => "record-created",
            AuditAction::RecordChanged => "record-changed",
            AuditAction::RecordDeleted => "record-deleted",
            AuditAction::Imported => "imported",
            AuditAction::Exported => "exported",
            AuditAction::DemoGenerated => "demo-generated",
            AuditAction::PassphraseChanged => "passphrase-changed",
            AuditAction::BackedUp => "backed-up",
            AuditAction::Restored => "restored",
            AuditAction::Synced => "synced",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is acting, and when: all the store needs to describe a change in the log itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub who: String,
    pub at: Timestamp,
}

impl Actor {
    pub fn new(who: impl Into<String>, at: Timestamp) -> Self {
        Self {
            who: who.into(),
            at,
        }
    }

    /// An event by this actor, to be completed with [`AuditEvent::patient`],
    /// [`AuditEvent::record`] and [`AuditEvent::detail`].
    pub fn event(&self, action: AuditAction) -> AuditEvent {
        AuditEvent {
            at: self.at,
            who: self.who.clone(),
            action,
            patient: None,
            record: None,
            detail: String::new(),
        }
    }
}

/// The name audit entries carry: the clinician from config.toml, else the operating-system
/// account as "OS user <name>" (from `USER`, `LOGNAME` or `USERNAME`), else "unknown".
pub fn who(clinician: Option<&str>) -> String {
    let os_user = ["USER", "LOGNAME", "USERNAME"]
        .into_iter()
        .find_map(|v| std::env::var(v).ok());
    who_from(clinician, os_user.as_deref())
}

/// [`who`] without reading the environment.
pub fn who_from(clinician: Option<&str>, os_user: Option<&str>) -> String {
    match (
        clinician.map(str::trim).filter(|c| !c.is_empty()),
        os_user.map(str::trim).filter(|u| !u.is_empty()),
    ) {
        (Some(c), _) => c.to_owned(),
        (None, Some(u)) => format!("OS user {u}"),
        (None, None) => "unknown".to_owned(),
    }
}

/// An entry before it is numbered and chained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub at: Timestamp,
    pub who: String,
    pub action: AuditAction,
    pub patient: Option<PatientId>,
    pub record: Option<String>,
    pub detail: String,
}

impl AuditEvent {
    pub fn patient(mut self, patient: &PatientId) -> Self {
        self.patient = Some(patient.clone());
        self
    }

    pub fn record(mut self, id: impl Into<String>) -> Self {
        self.record = Some(id.into());
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }
}

/// Which audit entries a change gets.
#[derive(Debug, Clone, Copy)]
pub enum Audit<'a> {
    /// None: tests, benchmarks and internal rewrites. Every command a user runs logs.
    Unlogged,
    /// One entry per record the change creates, changes or deletes, each described by the store
    /// from the difference between the stored and the new record: note created, draft saved,
    /// note signed, addendum added, patient archived, ... A record written unchanged gets none.
    EachRecord(&'a Actor),
    /// Exactly these entries: one per patient of an import or a demo build, or an export that
    /// changes nothing else.
    Events(&'a [AuditEvent]),
}

/// One entry of the log as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    /// 1 for the first entry, then one more for each.
    pub seq: u64,
    pub at: Timestamp,
    pub who: String,
    pub action: AuditAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient: Option<PatientId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// What the change left in the store for each record it wrote or removed: the digest of
    /// the record's new stored value, or none for a removal. Entries written before kitnotes
    /// bound records to their history have none (and hash as before).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<Bound>,
    /// The hash of the entry before (zeros for the first); kept so a break can be told apart
    /// from a change.
    pub prev: ChainHash,
    pub hash: ChainHash,
}

/// One record as an audit entry left it: the digest of its stored value ([`value_digest`]), or
/// `None` when the change removed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bound {
    pub record: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<ChainHash>,
}

/// The digest that binds a stored value to the audit entry that wrote it: SHA-256 over the
/// value's key and its bytes exactly as stored (sealed, in an encrypted store, so each write's
/// random nonce makes every version's digest different).
pub fn value_digest(key: &[u8], value: &[u8]) -> ChainHash {
    let mut h = Sha256::new();
    h.update(b"kitnotes stored value v1\0");
    h.update((key.len() as u64).to_be_bytes());
    h.update(key);
    h.update(value);
    ChainHash(h.finalize().into())
}

/// Marks what the hash covers, so these bytes can never be mistaken for another format's.
const CANONICAL_TAG: &[u8] = b"kitnotes audit entry v1\0";
/// The same for an entry that binds records ([`AuditEntry::values`]): v1's bytes, then the
/// bound records.
const CANONICAL_TAG_V2: &[u8] = b"kitnotes audit entry v2\0";

impl AuditEntry {
    /// Numbers `event` as entry `seq` and chains it to `prev`.
    pub fn chain(event: AuditEvent, seq: u64, prev: ChainHash) -> Self {
        Self::chain_bound(event, Vec::new(), seq, prev)
    }

    /// [`AuditEntry::chain`] for an entry that also says what it left in the store.
    pub fn chain_bound(event: AuditEvent, values: Vec<Bound>, seq: u64, prev: ChainHash) -> Self {
        let mut entry = Self {
            seq,
            at: event.at,
            who: event.who,
            action: event.action,
            patient: event.patient,
            record: event.record,
            detail: event.detail,
            values,
            prev,
            hash: ChainHash::GENESIS,
        };
        entry.hash = entry.hash_after(prev);
        entry
    }

    /// The bytes the hash covers, independent of how entries are stored: the tag, `seq` as
    /// 8 bytes and `at` as nanoseconds in 16 bytes (both big-endian), then who, action, patient,
    /// record and detail, each as a 4-byte big-endian length and its UTF-8 (an absent patient
    /// or record is empty). An entry with bound records starts with the v2 tag instead and
    /// ends with their count (4 bytes), then for each its id (length and UTF-8) and 0 (removed)
    /// or 1 and the 32-byte digest.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128 + self.detail.len() + 64 * self.values.len());
        out.extend_from_slice(if self.values.is_empty() {
            CANONICAL_TAG
        } else {
            CANONICAL_TAG_V2
        });
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.at.as_nanosecond().to_be_bytes());
        for text in [
            self.who.as_str(),
            self.action.as_str(),
            self.patient.as_ref().map_or("", |p| p.as_str()),
            self.record.as_deref().unwrap_or(""),
            self.detail.as_str(),
        ] {
            out.extend_from_slice(&(text.len() as u32).to_be_bytes());
            out.extend_from_slice(text.as_bytes());
        }
        if !self.values.is_empty() {
            out.extend_from_slice(&(self.values.len() as u32).to_be_bytes());
            for b in &self.values {
                out.extend_from_slice(&(b.record.len() as u32).to_be_bytes());
                out.extend_from_slice(b.record.as_bytes());
                match &b.digest {
                    None => out.push(0),
                    Some(d) => {
                        out.push(1);
                        out.extend_from_slice(&d.0);
                    }
                }
            }
        }
        out
    }

    /// SHA-256 over `prev` and this entry's canonical bytes.
    pub fn hash_after(&self, prev: ChainHash) -> ChainHash {
        let mut h = Sha256::new();
        h.update(prev.0);
        h.update(self.canonical_bytes());
        ChainHash(h.finalize().into())
    }
}

/// The newest entry's number and hash, stored beside the log so that entries cut from its end
/// are noticed. Appending reads it, not the last entry, for the same reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditHead {
    pub seq: u64,
    pub hash: ChainHash,
}

impl AuditHead {
    pub fn to_bytes(&self) -> [u8; 40] {
        let mut out = [0u8; 40];
        out[..8].copy_from_slice(&self.seq.to_be_bytes());
        out[8..].copy_from_slice(&self.hash.0);
        out
    }

    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let b: &[u8; 40] = b.try_into().ok()?;
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&b[..8]);
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&b[8..]);
        Some(Self {
            seq: u64::from_be_bytes(seq),
            hash: ChainHash(hash),
        })
    }
}

/// Which entries `kitnotes audit` lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub patient: Option<PatientId>,
    /// From this instant on.
    pub since: Option<Timestamp>,
    /// Before this instant.
    pub until: Option<Timestamp>,
}

impl AuditFilter {
    pub fn matches(&self, e: &AuditEntry) -> bool {
        self.patient
            .as_ref()
            .is_none_or(|p| e.patient.as_ref() == Some(p))
            && self.since.is_none_or(|t| e.at >= t)
            && self.until.is_none_or(|t| e.at < t)
    }
}

/// The first thing wrong with the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditProblem {
    #[error("audit entry {seq} cannot be read ({detail}): it was changed, damaged or moved")]
    Damaged { seq: u64, detail: String },
    #[error("audit entry {seq} is missing: {}", missing_context(*.seq, *.found))]
    Missing { seq: u64, found: u64 },
    #[error(
        "the audit entry at position {position} says it is entry {claims}: entries were moved or \
         reordered"
    )]
    Misplaced { position: u64, claims: u64 },
    #[error(
        "audit entry {seq} was changed after it was written: its contents do not match its hash"
    )]
    Changed { seq: u64 },
    #[error(
        "audit entry {seq} does not follow entry {}: an entry before it was changed, removed or \
         reordered", .seq - 1
    )]
    BrokenLink { seq: u64 },
    #[error(
        "the newest audit entries were removed: the log ends at entry {last}, but {written} were \
         written"
    )]
    TailRemoved { last: u64, written: u64 },
    #[error(
        "the audit log's head does not match its newest entry ({last}): the log was rewritten or \
         rolled back"
    )]
    HeadMismatch { last: u64 },
    #[error("the audit log has {entries} entries but no head: the head was removed")]
    HeadMissing { entries: u64 },
    #[error("the audit log's head cannot be read ({0})")]
    HeadDamaged(String),
    #[error("the audit log holds a key it does not know ({0})")]
    UnknownKey(String),
    #[error(
        "the save counter says {counted} audit entries were written, but the log ends at entry \
         {last}: the newest entries were removed and an older head put back"
    )]
    CounterAhead { counted: u64, last: u64 },
    #[error(
        "audit entry {seq} is not the entry the save counter recorded: the log was rewritten or \
         rolled back"
    )]
    CounterMismatch { seq: u64 },
    #[error("the save counter was not written with this store's key: it was changed or copied")]
    CounterForged,
}

fn missing_context(seq: u64, found: u64) -> String {
    if seq == 1 {
        format!("the log starts at entry {found} (entries were removed)")
    } else {
        format!(
            "the log goes from entry {} to entry {found} (entries were removed)",
            seq - 1
        )
    }
}

/// What a walk through the log found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditVerdict {
    /// Entries read and found in order before the first problem (all of them if none).
    pub entries: u64,
    /// The newest entry's hash when the chain is intact.
    pub head: Option<ChainHash>,
    pub problem: Option<AuditProblem>,
}

impl AuditVerdict {
    pub fn is_ok(&self) -> bool {
        self.problem.is_none()
    }
}

/// The state of the head beside the log, as read from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadState {
    Absent,
    Present(AuditHead),
    Damaged(String),
}

/// Walks the log in key order, entry by entry, and stops at the first problem.
#[derive(Debug, Clone)]
pub struct ChainCheck {
    next: u64,
    prev: ChainHash,
    entries: u64,
    problem: Option<AuditProblem>,
}

impl Default for ChainCheck {
    fn default() -> Self {
        Self {
            next: 1,
            prev: ChainHash::GENESIS,
            entries: 0,
            problem: None,
        }
    }
}

impl ChainCheck {
    pub fn new() -> Self {
        Self::default()
    }

    /// Notes a problem found outside the entries (a key that is not an entry's).
    pub fn fail(&mut self, problem: AuditProblem) {
        self.problem.get_or_insert(problem);
    }

    /// The entry stored at position `position` (the number in its key), or why it cannot be read.
    pub fn push(&mut self, position: u64, entry: Result<AuditEntry, String>) {
        if self.problem.is_some() {
            return;
        }
        let entry = match entry {
            Ok(e) => e,
            Err(detail) => {
                self.problem = Some(AuditProblem::Damaged {
                    seq: position,
                    detail,
                });
                return;
            }
        };
        if position != self.next {
            self.problem = Some(if position > self.next {
                AuditProblem::Missing {
                    seq: self.next,
                    found: position,
                }
            } else {
                AuditProblem::Misplaced {
                    position,
                    claims: entry.seq,
                }
            });
            return;
        }
        if entry.seq != position {
            self.problem = Some(AuditProblem::Misplaced {
                position,
                claims: entry.seq,
            });
            return;
        }
        if entry.hash_after(self.prev) != entry.hash {
            // An entry that matches the hash it was chained to is itself intact: what changed is
            // the entry before it.
            self.problem = Some(if entry.hash_after(entry.prev) == entry.hash {
                AuditProblem::BrokenLink { seq: position }
            } else {
                AuditProblem::Changed { seq: position }
            });
            return;
        }
        self.prev = entry.hash;
        self.next += 1;
        self.entries += 1;
    }

    /// The verdict, comparing the end of the chain with the stored head.
    pub fn finish(self, head: HeadState) -> AuditVerdict {
        let mut verdict = AuditVerdict {
            entries: self.entries,
            head: None,
            problem: self.problem,
        };
        if verdict.problem.is_some() {
            return verdict;
        }
        let last = self.entries;
        verdict.problem = match head {
            HeadState::Absent if last == 0 => None,
            HeadState::Absent => Some(AuditProblem::HeadMissing { entries: last }),
            HeadState::Damaged(detail) => Some(AuditProblem::HeadDamaged(detail)),
            HeadState::Present(h) if h.seq > last => Some(AuditProblem::TailRemoved {
                last,
                written: h.seq,
            }),
            HeadState::Present(h) if h.seq == last && h.hash == self.prev => None,
            HeadState::Present(_) => Some(AuditProblem::HeadMismatch { last }),
        };
        if verdict.problem.is_none() && last > 0 {
            verdict.head = Some(self.prev);
        }
        verdict
    }
}

/// What one change does to one record, for the log; the store adds who, when and the number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    pub action: AuditAction,
    pub patient: PatientId,
    pub record: String,
    pub detail: String,
}

fn record_noun(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Patient => "patient",
        RecordKind::Note => "note",
        RecordKind::Session => "dosing session",
        RecordKind::Measure => "measure",
        RecordKind::Goal => "integration goal",
        RecordKind::SafetyFollowUp => "safety follow-up",
        RecordKind::Course => "course",
        RecordKind::ListEntry => "list entry",
    }
}

fn note_noun(kind: NoteKind) -> String {
    format!("{} note", kind.as_str())
}

/// The record's own fields as JSON, for naming what changed.
fn fields(r: &Record) -> serde_json::Map<String, serde_json::Value> {
    let v = match r {
        Record::Patient(x) => serde_json::to_value(x),
        Record::Note(x) => serde_json::to_value(x),
        Record::Session(x) => serde_json::to_value(x),
        Record::Measure(x) => serde_json::to_value(x),
        Record::Goal(x) => serde_json::to_value(x),
        Record::SafetyFollowUp(x) => serde_json::to_value(x),
        Record::Course(x) => serde_json::to_value(x),
        Record::ListEntry(x) => serde_json::to_value(x),
    };
    match v {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    }
}

/// The names of the fields that differ, in the record's field order, leaving out `skip`.
fn changed_fields(old: &Record, new: &Record, skip: &[&str]) -> Vec<String> {
    differing_keys(&fields(old), &fields(new))
        .into_iter()
        .filter(|k| !skip.contains(&k.as_str()))
        .collect()
}

/// The keys whose values differ between two JSON objects (one missing counts), in `new`'s
/// order, then those only `old` has.
pub fn differing_keys(
    old: &serde_json::Map<String, serde_json::Value>,
    new: &serde_json::Map<String, serde_json::Value>,
) -> Vec<String> {
    new.keys()
        .chain(old.keys().filter(|k| !new.contains_key(*k)))
        .filter(|k| old.get(*k) != new.get(*k))
        .cloned()
        .collect()
}

/// "changed: title, sections (Plan, Experience)": the fields, and for a note's sections the
/// headings whose text changed (headings, not text: the log is no copy of the chart).
fn changes_detail(old: &Record, new: &Record, skip: &[&str]) -> String {
    let mut names = changed_fields(old, new, skip);
    if let (Record::Note(a), Record::Note(b)) = (old, new)
        && let Some(s) = names.iter_mut().find(|n| *n == "sections")
    {
        let headings = changed_sections(a, b);
        if !headings.is_empty() {
            s.push_str(&format!(" ({})", headings.join(", ")));
        }
    }
    if names.is_empty() {
        String::new()
    } else {
        format!("changed: {}", names.join(", "))
    }
}

fn changed_sections(a: &Note, b: &Note) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in &b.sections {
        if !a.sections.iter().any(|o| o == s) && !out.contains(&s.heading) {
            out.push(s.heading.clone());
        }
    }
    for s in &a.sections {
        if !b.sections.iter().any(|n| n.heading == s.heading) && !out.contains(&s.heading) {
            out.push(s.heading.clone());
        }
    }
    out
}

/// What writing `new` over `old` (absent: a new record) does, as log entries: none when nothing
/// changed, several when one write does several things (a draft saved and signed at once).
pub fn describe(old: Option<&Record>, new: &Record) -> Vec<Described> {
    let entry = |action: AuditAction, detail: String| Described {
        action,
        patient: new.patient().clone(),
        record: new.id().to_owned(),
        detail,
    };
    let mut out = Vec::new();
    match (old, new) {
        (Some(old), new) if old == new => {}
        (None, Record::Patient(_)) => out.push(entry(AuditAction::PatientCreated, String::new())),
        (Some(old @ Record::Patient(a)), Record::Patient(b)) => {
            let others = changes_detail(old, new, &["archived"]);
            match (a.archived, b.archived) {
                (false, true) => out.push(entry(AuditAction::PatientArchived, String::new())),
                (true, false) => out.push(entry(AuditAction::PatientUnarchived, String::new())),
                _ => {}
            }
            if !others.is_empty() {
                out.push(entry(AuditAction::PatientEdited, others));
            }
        }
        (None, Record::Note(n)) => {
            let mut detail = note_noun(n.kind);
            if let Some(t) = &n.template {
                detail.push_str(&format!(" from template {t}"));
            }
            out.push(entry(AuditAction::NoteCreated, detail));
            describe_signing(None, n, &mut out, &entry);
        }
        (Some(old @ Record::Note(a)), Record::Note(b)) => {
            if !a.is_signed() {
                let content =
                    changes_detail(old, new, &["status", "signed_by", "signed_at", "addenda"]);
                if !content.is_empty() {
                    out.push(entry(AuditAction::DraftSaved, content));
                }
            }
            describe_signing(Some(a), b, &mut out, &entry);
        }
        (None, r) => {
            out.push(entry(
                AuditAction::RecordCreated,
                record_noun(r.kind()).to_owned(),
            ));
            if let Record::Session(s) = r {
                describe_session_signing(None, s, &mut out, &entry);
            }
        }
        (Some(old @ Record::Session(a)), Record::Session(b)) => {
            let mut changed = changes_detail(old, new, &["signed_by", "signed_at"]);
            if !changed.is_empty() {
                changed.push_str(&corrections_detail(a, b));
                out.push(entry(
                    AuditAction::RecordChanged,
                    format!("dosing session; {changed}"),
                ));
            }
            describe_session_signing(Some(a), b, &mut out, &entry);
        }
        (Some(old), r) => {
            let changed = changes_detail(old, r, &[]);
            out.push(entry(
                AuditAction::RecordChanged,
                format!("{}; {changed}", record_noun(r.kind())),
            ));
        }
    }
    out
}

/// The corrections and confirmed doses `new` adds to `old`, with their old and new values:
/// "; corrected vitals of 2026-03-05T09:40:00Z: 145/92 80 98% -> 135/85 80 98%". An
/// observation's text is not copied here (the log is no copy of the chart): its correction is
/// named with its time, and the record keeps both texts.
fn corrections_detail(old: &DosingSession, new: &DosingSession) -> String {
    use crate::model::EntryField;
    let mut out = String::new();
    for k in new.corrections().iter().skip(old.corrections().len()) {
        let of = k.entry_at.map_or(String::new(), |at| format!(" of {at}"));
        if k.field == EntryField::Observation {
            out.push_str(&format!(
                "; corrected observation{of} (text kept in the record)"
            ));
        } else {
            out.push_str(&format!(
                "; corrected {}{of}: {} -> {}",
                k.field.label(),
                k.old,
                k.new
            ));
        }
    }
    for o in new.dose_overrides().iter().skip(old.dose_overrides().len()) {
        out.push_str(&format!(
            "; dose outside the protocol confirmed: {}",
            o.dose
        ));
    }
    out
}

/// The signature and addenda `new` has that `old` did not.
fn describe_signing(
    old: Option<&Note>,
    new: &Note,
    out: &mut Vec<Described>,
    entry: &dyn Fn(AuditAction, String) -> Described,
) {
    let was_signed = old.is_some_and(|n| n.is_signed());
    if new.is_signed() && !was_signed {
        out.push(entry(
            AuditAction::NoteSigned,
            format!(
                "{} signed by {}",
                note_noun(new.kind),
                new.signed_by.as_deref().unwrap_or("")
            ),
        ));
    }
    // New at the end, or (merged from another laptop by the sync) in order of time.
    let added = match old {
        Some(old) => new.new_addenda_since(old).unwrap_or_default(),
        None => (0..new.addenda.len()).collect(),
    };
    for i in added {
        out.push(entry(
            AuditAction::AddendumAdded,
            format!("addendum {} by {}", i + 1, new.addenda[i].by),
        ));
    }
}

/// The signature `new` has that `old` did not.
fn describe_session_signing(
    old: Option<&DosingSession>,
    new: &DosingSession,
    out: &mut Vec<Described>,
    entry: &dyn Fn(AuditAction, String) -> Described,
) {
    if new.is_signed() && !old.is_some_and(|s| s.is_signed()) {
        out.push(entry(
            AuditAction::SessionSigned,
            format!(
                "dosing session signed by {}",
                new.signed_by.as_deref().unwrap_or("")
            ),
        ));
    }
}

/// What deleting `old` does, for the log.
pub fn describe_delete(old: &Record) -> Described {
    let (action, detail) = match old {
        Record::Note(n) => (AuditAction::DraftDeleted, note_noun(n.kind)),
        r => (AuditAction::RecordDeleted, record_noun(r.kind()).to_owned()),
    };
    Described {
        action,
        patient: old.patient().clone(),
        record: old.id().to_owned(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Patient, RecordId, Section};

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn pid(s: &str) -> PatientId {
        PatientId::parse(s).unwrap()
    }

    fn actor() -> Actor {
        Actor::new("Dr. Rivera", ts("2026-03-02T10:00:00Z"))
    }

    fn chain(n: u64) -> Vec<AuditEntry> {
        let mut prev = ChainHash::GENESIS;
        (1..=n)
            .map(|seq| {
                let e = AuditEntry::chain(
                    actor()
                        .event(AuditAction::DraftSaved)
                        .patient(&pid("p1"))
                        .record(format!("n{seq}")),
                    seq,
                    prev,
                );
                prev = e.hash;
                e
            })
            .collect()
    }

    fn verify(entries: &[(u64, AuditEntry)], head: HeadState) -> AuditVerdict {
        let mut c = ChainCheck::new();
        for (pos, e) in entries {
            c.push(*pos, Ok(e.clone()));
        }
        c.finish(head)
    }

    fn head_of(entries: &[AuditEntry]) -> HeadState {
        entries.last().map_or(HeadState::Absent, |e| {
            HeadState::Present(AuditHead {
                seq: e.seq,
                hash: e.hash,
            })
        })
    }

    fn numbered(entries: &[AuditEntry]) -> Vec<(u64, AuditEntry)> {
        entries.iter().map(|e| (e.seq, e.clone())).collect()
    }

    #[test]
    fn an_untouched_chain_verifies_and_names_its_head() {
        let log = chain(4);
        let v = verify(&numbered(&log), head_of(&log));
        assert_eq!(v.problem, None);
        assert_eq!(v.entries, 4);
        assert_eq!(v.head, Some(log[3].hash));
        assert_eq!(verify(&[], HeadState::Absent), AuditVerdict::default());
    }

    #[test]
    fn a_changed_entry_is_named() {
        let log = chain(4);
        let mut bad = numbered(&log);
        bad[2].1.detail = "changed: nothing".into();
        assert_eq!(
            verify(&bad, head_of(&log)).problem,
            Some(AuditProblem::Changed { seq: 3 })
        );
        // Rehashing the changed entry moves the break to the link after it.
        bad[2].1.hash = bad[2].1.hash_after(bad[2].1.prev);
        assert_eq!(
            verify(&bad, head_of(&log)).problem,
            Some(AuditProblem::BrokenLink { seq: 4 })
        );
    }

    #[test]
    fn removed_and_reordered_entries_are_named() {
        let log = chain(5);
        let mut gap = numbered(&log);
        gap.remove(1);
        assert_eq!(
            verify(&gap, head_of(&log)).problem.unwrap().to_string(),
            "audit entry 2 is missing: the log goes from entry 1 to entry 3 (entries were removed)"
        );
        let tail = numbered(&log[..3]);
        assert_eq!(
            verify(&tail, head_of(&log)).problem,
            Some(AuditProblem::TailRemoved {
                last: 3,
                written: 5
            })
        );
        let mut swapped = numbered(&log);
        let (a, b) = (swapped[1].1.clone(), swapped[2].1.clone());
        swapped[1].1 = b;
        swapped[2].1 = a;
        assert_eq!(
            verify(&swapped, head_of(&log)).problem,
            Some(AuditProblem::Misplaced {
                position: 2,
                claims: 3
            })
        );
        assert_eq!(
            verify(&numbered(&log), HeadState::Absent).problem,
            Some(AuditProblem::HeadMissing { entries: 5 })
        );
        assert_eq!(
            verify(&numbered(&log), head_of(&log[..4])).problem,
            Some(AuditProblem::HeadMismatch { last: 5 })
        );
    }

    #[test]
    fn the_hash_covers_every_field() {
        let e = chain(1).remove(0);
        let variants = [
            AuditEntry {
                seq: 2,
                ..e.clone()
            },
            AuditEntry {
                at: ts("2026-03-02T10:00:01Z"),
                ..e.clone()
            },
            AuditEntry {
                who: "Dr. Chen".into(),
                ..e.clone()
            },
            AuditEntry {
                action: AuditAction::NoteSigned,
                ..e.clone()
            },
            AuditEntry {
                patient: None,
                ..e.clone()
            },
            AuditEntry {
                record: Some("n2".into()),
                ..e.clone()
            },
            AuditEntry {
                detail: "x".into(),
                ..e.clone()
            },
        ];
        for v in variants {
            assert_ne!(v.hash_after(e.prev), e.hash, "{v:?}");
        }
        assert_ne!(e.hash_after(ChainHash([1; 32])), e.hash);
        // Length prefixes: moving text from one field to the next changes the bytes.
        let a = AuditEntry {
            who: "ab".into(),
            record: Some("c".into()),
            ..e.clone()
        };
        let b = AuditEntry {
            who: "a".into(),
            record: Some("bc".into()),
            ..e
        };
        assert_ne!(a.canonical_bytes(), b.canonical_bytes());
    }

    #[test]
    fn hashes_and_actions_read_back() {
        let e = chain(2).remove(1);
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<AuditEntry>(&json).unwrap(), e);
        assert!(json.contains(&format!("\"hash\":\"{}\"", e.hash.to_hex())));
        for a in AuditAction::ALL {
            assert_eq!(
                serde_json::to_string(&a).unwrap(),
                format!("\"{}\"", a.as_str())
            );
        }
        assert_eq!(ChainHash::from_hex("zz"), None);
        let head = AuditHead {
            seq: 7,
            hash: e.hash,
        };
        assert_eq!(AuditHead::from_bytes(&head.to_bytes()), Some(head));
    }

    #[test]
    fn the_actor_is_the_clinician_else_the_os_account() {
        assert_eq!(who_from(Some(" Dr. Rivera "), Some("ana")), "Dr. Rivera");
        assert_eq!(who_from(Some(" "), Some("ana")), "OS user ana");
        assert_eq!(who_from(None, None), "unknown");
    }

    fn note() -> Note {
        Note::draft(
            RecordId::parse("n1").unwrap(),
            pid("p1"),
            NoteKind::Integration,
            ts("2026-03-02T10:00:00Z"),
            "Integration",
            vec![Section::new("Experience", ""), Section::new("Plan", "")],
        )
    }

    fn actions(old: Option<&Record>, new: &Record) -> Vec<(AuditAction, String)> {
        describe(old, new)
            .into_iter()
            .map(|d| (d.action, d.detail))
            .collect()
    }

    #[test]
    fn the_store_describes_what_a_change_does_to_a_note() {
        let mut n = note();
        n.template = Some("integration".into());
        let created = Record::Note(n.clone());
        assert_eq!(
            actions(None, &created),
            [(
                AuditAction::NoteCreated,
                "integration note from template integration".into()
            )]
        );
        assert!(actions(Some(&created), &created).is_empty(), "unchanged");
        n.set_section_body(1, "Walk daily").unwrap();
        let saved = Record::Note(n.clone());
        assert_eq!(
            actions(Some(&created), &saved),
            [(AuditAction::DraftSaved, "changed: sections (Plan)".into())]
        );
        n.set_section_body(0, "Calm").unwrap();
        n.sign("Dr. Rivera", ts("2026-03-02T11:00:00Z"), &[])
            .unwrap();
        let signed = Record::Note(n.clone());
        assert_eq!(
            actions(Some(&saved), &signed),
            [
                (
                    AuditAction::DraftSaved,
                    "changed: sections (Experience)".into()
                ),
                (
                    AuditAction::NoteSigned,
                    "integration note signed by Dr. Rivera".into()
                )
            ]
        );
        n.add_addendum("Later remark", "Dr. Chen", ts("2026-03-03T09:00:00Z"))
            .unwrap();
        assert_eq!(
            actions(Some(&signed), &Record::Note(n.clone())),
            [(AuditAction::AddendumAdded, "addendum 1 by Dr. Chen".into())]
        );
        assert_eq!(
            describe_delete(&saved).action,
            AuditAction::DraftDeleted,
            "only drafts can be deleted"
        );
    }

    #[test]
    fn the_store_describes_editing_and_signing_a_dosing_session() {
        let p = crate::model::Patient::new(pid("p1"), "Ada Example");
        let mut s = crate::protocols::builtins()
            .get("esketamine-rems")
            .unwrap()
            .start_session(
                RecordId::parse("s1").unwrap(),
                &p,
                None,
                ts("2026-03-02T09:00:00Z"),
            );
        let created = Record::Session(s.clone());
        assert_eq!(
            actions(None, &created),
            [(AuditAction::RecordCreated, "dosing session".into())]
        );
        s.lot = Some("TEST-LOT".into());
        s.sign("Dr. Rivera", ts("2026-03-02T12:00:00Z")).unwrap();
        assert_eq!(
            actions(Some(&created), &Record::Session(s.clone())),
            [
                (
                    AuditAction::RecordChanged,
                    "dosing session; changed: lot".into()
                ),
                (
                    AuditAction::SessionSigned,
                    "dosing session signed by Dr. Rivera".into()
                )
            ]
        );
        let signed = Record::Session(s);
        assert!(actions(Some(&signed), &signed).is_empty(), "unchanged");
        assert_eq!(
            actions(None, &signed),
            [
                (AuditAction::RecordCreated, "dosing session".into()),
                (
                    AuditAction::SessionSigned,
                    "dosing session signed by Dr. Rivera".into()
                )
            ],
            "imported already signed"
        );
    }

    #[test]
    fn the_store_describes_what_a_change_does_to_a_patient() {
        let p = Patient::new(pid("p1"), "Ada Example");
        let before = Record::Patient(p.clone());
        assert_eq!(
            actions(None, &before),
            [(AuditAction::PatientCreated, String::new())]
        );
        let mut archived = p.clone();
        archived.archived = true;
        assert_eq!(
            actions(Some(&before), &Record::Patient(archived.clone())),
            [(AuditAction::PatientArchived, String::new())]
        );
        assert_eq!(
            actions(Some(&Record::Patient(archived)), &before),
            [(AuditAction::PatientUnarchived, String::new())]
        );
        let mut renamed = p;
        renamed.name = "Ada Q. Example".into();
        renamed.tags = vec!["TRD".into()];
        let found = actions(Some(&before), &Record::Patient(renamed));
        assert_eq!(
            found,
            [(AuditAction::PatientEdited, "changed: name, tags".into())]
        );
        assert!(!found[0].1.contains("Ada"), "no names in the log");
    }
}
