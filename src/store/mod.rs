//! Storage: the [`Store`] trait, its sled implementation, the record codec and the key layout.
//!
//! Every value passes through [`codec`], which wraps it in a versioned envelope (and is where
//! encryption at rest plugs in). Keys are laid out so that one patient's timeline is one ordered
//! prefix scan. Every multi-record change is one atomic sled batch, and [`Store::flush`] makes it
//! durable on disk. The [`audit`] log is written in the same batch as the change it records.

pub mod agenda;
pub mod audit;
pub mod backup;
pub mod binding;
pub mod codec;
pub mod crypt;
pub mod index;
pub mod keys;
pub mod sled_store;
pub mod snapshot;
pub mod tally;

pub use audit::{
    Actor, Audit, AuditAction, AuditEntry, AuditEvent, AuditFilter, AuditProblem, AuditVerdict,
};
pub use sled_store::SledStore;

use crate::model::{Patient, PatientId, PatientRecords, Record, RecordKind};
use std::path::PathBuf;

/// One change in an atomic write.
// Changes live briefly in small slices; boxing every record would cost more than the padding.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Insert or replace a record (a signed note may only gain addenda; a signed dosing session
    /// never changes).
    Put(Record),
    /// Remove a timeline record by id. Patients are archived, never deleted; signed notes and
    /// signed dosing sessions stay.
    Delete(String),
}

/// What the store holds, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub patients: u64,
    pub archived_patients: u64,
    pub notes: u64,
    pub signed_notes: u64,
    pub draft_notes: u64,
    pub psychotherapy_notes: u64,
    pub addenda: u64,
    pub sessions: u64,
    pub measures: u64,
    pub goals: u64,
    pub check_ins: u64,
    pub safety_follow_ups: u64,
    pub courses: u64,
    pub list_entries: u64,
}

impl Counts {
    /// Counts one record in.
    pub fn add(&mut self, r: &Record) {
        match r {
            Record::Patient(p) => {
                self.patients += 1;
                self.archived_patients += u64::from(p.archived);
            }
            Record::Note(n) => {
                self.notes += 1;
                if n.is_signed() {
                    self.signed_notes += 1;
                } else {
                    self.draft_notes += 1;
                }
                self.psychotherapy_notes += u64::from(n.kind.is_private());
                self.addenda += n.addenda.len() as u64;
            }
            Record::Session(_) => self.sessions += 1,
            Record::Measure(_) => self.measures += 1,
            Record::Goal(g) => {
                self.goals += 1;
                self.check_ins += g.check_ins.len() as u64;
            }
            Record::SafetyFollowUp(_) => self.safety_follow_ups += 1,
            Record::Course(_) => self.courses += 1,
            Record::ListEntry(_) => self.list_entries += 1,
        }
    }
}

/// The result of a full integrity check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    pub counts: Counts,
    /// Each problem found, with the key or id it concerns (an audit log problem too).
    pub problems: Vec<String>,
    /// The audit log's chain, walked entry by entry.
    pub audit: AuditVerdict,
    /// Records no audit entry binds: what the log cannot vouch for (not a problem: kitnotes
    /// wrote them so, and each is bound from its next change).
    pub unbound: Unbound,
}

/// Records that no audit entry binds to a value, so `check` cannot tell whether they hold what
/// kitnotes wrote (docs/SECURITY.md, "The limits").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unbound {
    /// Of patients whose `imported` entry binds nothing: brought in by an import written before
    /// imports bound their records.
    pub imported: u64,
    /// The rest: last written before kitnotes bound records to the log, or without an entry.
    pub other: u64,
}

impl CheckReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Everything that can go wrong in the store, each with enough to act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the store at {path} is already open in another kitnotes process; close it there first \
         (lock file {lock}). `kitnotes backup`, `search`, `export`, `today`, `audit` and `sync` work while it is open"
    )]
    Locked { path: PathBuf, lock: PathBuf },
    #[error(
        "the store at {path} was written by a newer kitnotes (schema {found}, this one reads up to \
         {supported}); nothing was changed. Upgrade kitnotes, or move the store aside and restore \
         a backup made by this version with `kitnotes restore` (docs/BACKUP.md)"
    )]
    NewerSchema {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("cannot open the store at {path}: {}", explain_io(.io))]
    Open { path: PathBuf, io: std::io::Error },
    #[error(
        "the store at {path} cannot be opened: {detail}. To get the records back, {}",
        crate::store::sled_store::restore_advice(.path)
    )]
    Damaged { path: PathBuf, detail: String },
    #[error(
        "the store at {path} has lost saves: its database ends at save {found}, but save \
         {expected} was made durable. Its files were cut short or damaged, or an older copy of \
         its database was put in its place; kitnotes has not opened it for writing. `kitnotes check` reads a copy and says what it still holds. \
         To get the records back, {}",
        crate::store::sled_store::restore_advice(.path)
    )]
    LostSaves {
        path: PathBuf,
        found: u64,
        expected: u64,
    },
    #[error(
        "{what}. kitnotes did not write what is stored there, so it is not shown: the store's \
         files were changed outside kitnotes (an older copy put back) or damaged. `kitnotes \
         check` lists every record affected. To get the records back, {}",
        crate::store::sled_store::restore_advice(.path)
    )]
    Tampered { path: PathBuf, what: String },
    #[error(
        "the store at {path} was refused: {problem}. Nothing was changed. `kitnotes check` says \
         what it holds; to get the records back, {}",
        crate::store::sled_store::restore_advice(.path)
    )]
    AuditCut {
        path: PathBuf,
        problem: crate::store::AuditProblem,
    },
    #[error(
        "the store at {path} was refused: {place} was not written with this store's key (it \
         was changed, or copied from another store). Nothing was changed. To get the records \
         back, {}",
        crate::store::sled_store::restore_advice(.path)
    )]
    CounterForged { path: PathBuf, place: String },
    #[error(
        "the store at {path} was refused: its database (db/) belongs to another store (store id \
         {found}), not to this one (store id {expected}, in its tally file): someone put \
         another store's database in its place. Nothing was changed. Put this store's own db/ \
         back, or {}",
        crate::store::sled_store::restore_advice(.path)
    )]
    ForeignDatabase {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("record {key} cannot be decoded: {detail}")]
    Corrupt { key: String, detail: String },
    #[error("{0}")]
    Refused(#[from] crate::model::NoteError),
    /// A change to a signed dosing session.
    #[error("{0}")]
    SessionRefused(#[from] crate::model::SessionError),
    #[error("record {id}: {detail}")]
    Invalid { id: String, detail: String },
    #[error("{kind} {id} belongs to patient {patient}, who is not in the store")]
    UnknownPatient {
        kind: &'static str,
        id: String,
        patient: PatientId,
    },
    #[error("id {id} is already used by a {existing} record")]
    IdTaken { id: String, existing: &'static str },
    #[error("no record with id {0}")]
    NotFound(String),
    #[error("signed note {0} cannot be deleted")]
    DeleteSigned(String),
    #[error("signed dosing session {0} cannot be deleted")]
    DeleteSignedSession(String),
    #[error(
        "the audit log cannot be extended ({0}); nothing was written. Run `kitnotes audit verify` \
         and restore the store from a backup"
    )]
    AuditLog(String),
    #[error("there is already a store at {0}; a new one needs an empty directory")]
    Exists(PathBuf),
    #[error("the passphrase is not this store's; nothing was opened (try again)")]
    WrongPassphrase,
    #[error("the store is locked: unlock it with its passphrase first")]
    Sealed,
    /// sled failed; its own error is described here rather than given as the source, so a
    /// message does not repeat it.
    #[error("{}", crate::store::sled_store::explain_sled(.0))]
    Db(sled::Error),
    #[error(
        "the store at {path} cannot be checked for lost saves: its tally file {tally} is \
         damaged ({detail}). `kitnotes check` reads a copy of the store and says what it holds; \
         if that is everything, `kitnotes check --new-tally` starts a new tally from the \
         database. Otherwise, {}",
        crate::store::sled_store::restore_advice(.path)
    )]
    TallyDamaged {
        path: PathBuf,
        tally: PathBuf,
        detail: String,
    },
    #[error(
        "the store at {path} was refused: its database was stamped by kitnotes (store id \
         {store}) but its tally file (kitnotes.tally) is gone, so kitnotes cannot tell whether \
         this is the store's newest database or an older or another one put in its place. \
         Nothing was changed. If you deleted the tally yourself or moved the store here whole, \
         `kitnotes check --new-tally` says what the database holds and starts a new tally for it \
         (an anchor you kept proves it is the newest: `kitnotes audit verify --kept-head \
         ANCHOR`). Otherwise, {}",
        crate::store::sled_store::restore_advice(.path)
    )]
    TallyMissing { path: PathBuf, store: String },
    #[error("cannot make the store durable: {}", explain_io(.0))]
    Io(std::io::Error),
    /// The database is closed between a write error and its reopening (`SledStore::mend`).
    #[error(
        "the store at {path} could not be opened again after a write error (is the disk still \
         full?); nothing was written, and kitnotes tries again"
    )]
    Reopening { path: PathBuf },
    /// What supplied a change in parts stopped ([`Store::add_in_parts`]), saying why; what was
    /// written of the change is rolled back.
    #[error("{0}")]
    PartsStopped(String),
}

impl StoreError {
    /// Whether writing failed on the disk itself (full, a size limit, an I/O error), as opposed
    /// to a refusal or damage: the store then reopens its database before the next write.
    pub fn is_disk(&self) -> bool {
        matches!(
            self,
            StoreError::Db(sled::Error::Io(_)) | StoreError::Io(_) | StoreError::Reopening { .. }
        )
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Io(e)
    }
}

/// An I/O error with what to do about the ones a clinic meets: no permission, a read-only
/// disk, a full disk (or a file size limit).
pub fn explain_io(err: &std::io::Error) -> String {
    use std::io::ErrorKind;
    // sled passes some errors on as the debug form of the original (`Os { code: 27, .. }`):
    // for the kinds below, their name is clearer.
    let e = err.kind();
    match e {
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => format!(
            "{e}. kitnotes writes to the store's directory even to read it (its lock, its tally \
             and the database's own files): make the directory writable for this user, or copy \
             it to a place that is"
        ),
        ErrorKind::StorageFull | ErrorKind::FileTooLarge | ErrorKind::QuotaExceeded => format!(
            "{e}. The disk is full (or a size limit was reached): free some space and try again; \
             what was saved before is kept"
        ),
        _ => err.to_string(),
    }
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Db(e)
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The store every part of kitnotes talks to.
///
/// Writing: every change a user makes goes through [`Store::apply_audited`] (the UI's edits: the
/// store writes one audit entry per record changed, saying what happened) or
/// [`Store::apply_with_events`] (an import: the caller's entries), each in the same atomic
/// write as the change. [`Store::log_event`] records something that changes no record (an
/// export). [`Store::apply`] and [`Store::put`] write without an entry, for tests and tools.
pub trait Store {
    /// Applies all changes atomically, with the audit entries `audit` asks for in the same write:
    /// after a crash either the changes and their entries are all there or none is. Returns the
    /// entries written.
    /// Refuses: a change to a signed note other than new addenda, any change to a signed dosing
    /// session, a record for an unknown patient,
    /// an id already used by a record of another kind, a record that fails validation.
    fn apply_with_audit(&self, changes: &[Change], audit: Audit<'_>) -> Result<Vec<AuditEntry>>;

    /// Applies all changes atomically, without an audit entry.
    fn apply(&self, changes: &[Change]) -> Result<()> {
        self.apply_with_audit(changes, Audit::Unlogged).map(drop)
    }

    /// Applies all changes atomically with one audit entry per record they create, change or
    /// delete, described by the store (note created, draft saved, note signed, addendum added,
    /// patient archived, ...); a record written unchanged gets none.
    fn apply_audited(&self, changes: &[Change], actor: &Actor) -> Result<Vec<AuditEntry>> {
        self.apply_with_audit(changes, Audit::EachRecord(actor))
    }

    /// Applies all changes atomically with exactly `events` as their audit entries.
    fn apply_with_events(
        &self,
        changes: &[Change],
        events: &[AuditEvent],
    ) -> Result<Vec<AuditEntry>> {
        self.apply_with_audit(changes, Audit::Events(events))
    }

    /// Adds new records too many to hold in memory at once (an import written as it is read),
    /// all or nothing. `parts` yields them a part at a time; each part is checked like
    /// [`Store::apply`] and written with how to undo it, then `events` go into the audit log,
    /// and only then does the whole commit. A refused part, an error from `parts`
    /// ([`StoreError::PartsStopped`] says the supplier stopped) or a failed write rolls back
    /// everything written before it, now or, after a crash, on the next open.
    ///
    /// Every record is bound to the audit entry that wrote it: when there is more than one
    /// part, each part gets an entry of its own made from `part` (its detail after "part N:
    /// K records"), written with that part and binding its records; a single part's records are
    /// bound by `events` (each by its patient's), as [`Store::apply_with_events`] binds them.
    ///
    /// Every record must be new (an id the store holds is refused), and its patient stored, in
    /// an earlier part, or earlier in the same part. Returns how many audit entries were written.
    fn add_in_parts(
        &self,
        parts: &mut dyn Iterator<Item = Result<Vec<Record>>>,
        events: &mut dyn Iterator<Item = AuditEvent>,
        part: &AuditEvent,
    ) -> Result<u64> {
        // For stores that hold everything in memory anyway: one atomic change, whose `events`
        // bind every record (by its patient), so no part needs an entry of its own.
        let _ = part;
        let mut changes = Vec::new();
        for part in parts {
            changes.extend(part?.into_iter().map(Change::Put));
        }
        let events: Vec<AuditEvent> = events.collect();
        Ok(self.apply_with_events(&changes, &events)?.len() as u64)
    }

    /// Appends one audit entry for something that changes no record (an export).
    fn log_event(&self, event: &AuditEvent) -> Result<AuditEntry> {
        self.apply_with_events(&[], std::slice::from_ref(event))?
            .pop()
            .ok_or_else(|| StoreError::AuditLog("the entry was not written".into()))
    }

    /// Inserts or replaces one record, without an audit entry.
    fn put(&self, record: Record) -> Result<()> {
        self.apply(&[Change::Put(record)])
    }

    fn patient(&self, id: &PatientId) -> Result<Option<Patient>>;

    /// All patients, archived ones too, ordered by id.
    fn patients(&self) -> Result<Vec<Patient>>;

    /// One patient with all their records, each kind in chronological order; one prefix scan.
    fn patient_records(&self, id: &PatientId) -> Result<Option<PatientRecords>>;

    /// Any record by its id.
    fn record(&self, id: &str) -> Result<Option<Record>>;

    /// The kind of record that uses `id`, if any.
    fn id_kind(&self, id: &str) -> Result<Option<RecordKind>>;

    /// Makes every change so far durable on disk.
    fn flush(&self) -> Result<()>;

    fn counts(&self) -> Result<Counts>;

    /// Decodes every record and checks that indexes and references agree, and that the audit
    /// log's chain is intact.
    fn check(&self) -> Result<CheckReport>;

    /// The audit entries `filter` selects, in the order they were written.
    fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>>;

    /// Walks the audit log's chain and reports the first entry changed, removed or reordered.
    fn verify_audit(&self) -> Result<AuditVerdict>;

    /// The best `limit` entries for `query` (see `search::query`), best first, with how many
    /// match in all.
    fn search(&self, query: &crate::search::Query, limit: usize) -> Result<crate::search::Results>;

    /// Builds the search index and the agenda index again from the records; returns how many
    /// entries the search index holds.
    fn reindex(&self) -> Result<u64>;

    /// Every patient's agenda (what Today and the drafts list read), in no set order. The sled
    /// store reads its agenda index; the default reads every patient's records
    /// ([`scan_agendas`]).
    fn agendas(&self) -> Result<Vec<crate::model::agenda::Agenda>> {
        scan_agendas(self)
    }

    /// Every patient's unsigned drafts (the drafts list), in no set order: the start of their
    /// agendas ([`Store::agendas`]).
    fn patient_drafts(&self) -> Result<Vec<crate::model::agenda::PatientDrafts>> {
        Ok(self.agendas()?.into_iter().map(Into::into).collect())
    }

    /// Stops keeping the search index until [`Store::reindex`] (or the next open) builds it,
    /// for loading many records at once: building it once at the end writes far less than
    /// updating it with each write.
    fn suspend_index(&self) -> Result<()> {
        Ok(())
    }

    /// The store's id (named in FHIR identifiers and audit anchors), if it has one.
    fn store_id(&self) -> Option<String> {
        None
    }

    /// Whether the store is encrypted at rest (opened with a passphrase). A plain store (the
    /// demo) has no passphrase: [`Store::unlock`] accepts anything.
    fn is_encrypted(&self) -> bool {
        false
    }

    /// Replaces what is typed but not yet a record (`app::unsaved`: the console's entry line,
    /// open and kept forms, where the editor is), sealed like every value; `None` clears it. Not
    /// a record and not audited; made durable by the next [`Store::flush`].
    fn put_unsaved(&self, body: Option<&[u8]>) -> Result<()>;

    /// What [`Store::put_unsaved`] last stored.
    fn unsaved(&self) -> Result<Option<Vec<u8>>>;

    /// Replaces what `kitnotes sync` keeps of the practice's server (`sync::state`), sealed
    /// like every value; not a record and not audited (each sync logs its own entry). Made
    /// durable by the next [`Store::flush`]. A store that cannot keep it refuses.
    fn put_sync_state(&self, body: &[u8]) -> Result<()> {
        let _ = body;
        Err(StoreError::Invalid {
            id: "sync state".into(),
            detail: "this store cannot keep the state of `kitnotes sync`".into(),
        })
    }

    /// What [`Store::put_sync_state`] last stored.
    fn sync_state(&self) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }

    /// Seals `body` for a rescue file kept beside the store (what could not be written to the
    /// store itself); [`Store::open_rescue`] opens it again, in this store only.
    fn seal_rescue(&self, body: &[u8]) -> Result<Vec<u8>>;

    /// Opens what [`Store::seal_rescue`] sealed.
    fn open_rescue(&self, sealed: &[u8]) -> Result<Vec<u8>>;

    /// Where a rescue file of this store lives, if it has a place on disk.
    fn rescue_path(&self) -> Option<PathBuf> {
        None
    }

    /// Closes sled and opens the store again in the same process, keeping its keys: after a
    /// write failed with an I/O error (a full disk), sled refuses every later write until it
    /// is opened again.
    fn reopen(&mut self) -> Result<()> {
        Ok(())
    }

    /// Forgets the store's keys (they are zeroized) until [`Store::unlock`]; meanwhile every
    /// read and write fails with [`StoreError::Sealed`]. Call [`Store::flush`] first.
    fn lock(&self) {}

    /// Derives the keys again from `passphrase`; [`StoreError::WrongPassphrase`] if it is not
    /// the store's, and the store stays locked.
    fn unlock(&self, _passphrase: &[u8]) -> Result<()> {
        Ok(())
    }
}

/// Every patient's agenda made from their records: what the agenda index must hold, read the
/// slow way (a store without the index, and the tests that prove the index).
pub fn scan_agendas<S: Store + ?Sized>(store: &S) -> Result<Vec<crate::model::agenda::Agenda>> {
    let mut out = Vec::new();
    for p in store.patients()? {
        if let Some(r) = store.patient_records(&p.id)? {
            out.push(crate::model::agenda::Agenda::of(&r));
        }
    }
    Ok(out)
}
