//! The sled implementation of [`Store`]: locking, schema versions and migrations, atomic batches
//! and durable flushes.
//!
//! Layout of a store directory:
//! ```text
//! <dir>/kitnotes.lock   our own lock file, taken with File::try_lock before sled is touched
//! <dir>/db/             sled's files
//! ```
//!
//! Durability: sled 0.34's `flush()` on Linux ends in `sync_file_range`, which writes pages but
//! does not make them durable (no metadata, no drive cache flush). [`SledStore::flush`] therefore
//! calls `fsync` on every file of the database and on its directories after sled's flush.

use super::agenda;
use super::audit::{
    self, Audit, AuditAction, AuditEntry, AuditEvent, AuditFilter, AuditHead, AuditProblem,
    AuditVerdict, ChainCheck, ChainHash, Described, HeadState,
};
use super::binding::{self, Binding, Bindings, Known};
use super::codec::{self, CodecError};
use super::crypt::{self, Crypt, CryptError, Header, KdfParams, Vault};
use super::index;
use super::keys::{self, KeyParts};
use super::tally;
use super::{Change, CheckReport, Counts, Result, Store, StoreError};
use crate::model::{Patient, PatientId, PatientRecords, Record, RecordKind};
use crate::search::text::has_text;
use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

mod check;
mod chunks;
mod open;
mod snapshot;
mod stamps;
mod write;

use check::*;
use chunks::*;
pub(crate) use open::open_sled;
use open::*;
pub use open::{InspectedCopy, OPEN_LIMIT, describe_sled, explain_sled, restore_advice};
pub use write::CHUNK_OPS;
use write::*;

/// The schema version this kitnotes writes. Bump it with a migration in [`MIGRATIONS`].
/// 2: the search index (`store::index`). 3: the agenda index (`store::agenda`).
pub const SCHEMA_VERSION: u32 = 3;

/// A migration moves a store from schema `n` to `n + 1`, in place, atomically.
pub type Migration = fn(Vault<'_>) -> Result<()>;

/// `MIGRATIONS[i]` migrates schema `i + 1` to `i + 2`.
pub const MIGRATIONS: &[Migration] = &[add_search_index, add_agenda_index];

/// Schema 1 to 2: build the search index from the records. A kitnotes without search would
/// leave it out of date, so it must not open the store afterwards (it refuses schema 2).
fn add_search_index(tree: Vault<'_>) -> Result<()> {
    index::rebuild(tree).map(drop)
}

/// Schema 2 to 3: build each patient's agenda (Today and the drafts list) from the records. A
/// kitnotes without agendas would leave them out of date, so it must not open the store
/// afterwards (it refuses schema 3).
fn add_agenda_index(tree: Vault<'_>) -> Result<()> {
    agenda::rebuild(tree).map(drop)
}

/// sled's page cache. Small: kitnotes reads one patient at a time, and the 150 MB memory
/// budget leaves no room for sled's 1 GB default.
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// A kitnotes store on disk.
pub struct SledStore {
    dir: PathBuf,
    /// The store's own database: set when it opens in place (after a clean close) or once the
    /// store is verified; taken when the store is dropped, which closes sled before stamping
    /// the tally.
    db: super::backup::DbSlot,
    /// After a crash or a change behind kitnotes' back: the recovered copy of the database,
    /// read until the store is verified, so a store refused then was never opened in place.
    trial: Option<Trial>,
    /// Serialises writers so that "check the stored version, then write" is atomic in-process;
    /// the lock file keeps other processes out. Shared with backups (`store::backup`), which
    /// hold it while they read.
    write_lock: Arc<Mutex<()>>,
    /// Held for as long as the store is open; the OS releases it if the process dies.
    _lock: File,
    /// Chunks of an interrupted large change that were rolled back when the store opened.
    rolled_back: AtomicUsize,
    /// How values are sealed and ids named; `None` while an encrypted store is locked.
    crypt: RwLock<Option<Crypt>>,
    /// An encrypted store's header; `None` for a plain store.
    header: RwLock<Option<Header>>,
    /// The migrations to run when an encrypted store is first unlocked (they need its keys).
    pending: Mutex<Option<Vec<Migration>>>,
    /// Index blocks kept between searches, and the count of writes that invalidates them.
    search_cache: Mutex<index::SearchCache>,
    writes: AtomicU64,
    /// The number of the last durable save (`store::tally`); flushes take turns on it.
    saves: Mutex<u64>,
    /// What the audit log says each record holds, read from the log when a note or session is
    /// first read and kept up to date by writes; dropped on lock.
    bindings: Mutex<Option<Known>>,
    /// The tally's stamp when the store was opened; verified once the keys are known.
    counted: Option<tally::Stamp>,
    /// The newest stamp verified or written: what the log must reach, and what the tally
    /// carries when the store closes.
    stamp: Mutex<Option<tally::Stamp>>,
    /// Whether the stamps were verified ([`SledStore::verify_counter`]): until then nothing
    /// counts saves or touches the tally, so a store refused on opening is left as it was.
    verified: std::sync::atomic::AtomicBool,
    /// For a copy of a refused store: the stamp the store's own tally holds, which `check`
    /// and `verify_audit` hold the copy's log against.
    expected: Mutex<Option<tally::Stamp>>,
    /// Set when verifying refused the store: closing it then writes nothing.
    refused: std::sync::atomic::AtomicBool,
    /// A copy of a refused store, opened for `check` ([`InspectedCopy`]).
    inspecting: bool,
    /// Set when a write failed on the disk: the next write reopens the database first
    /// ([`SledStore::mend`]), no more often than [`MEND_EVERY`].
    broken: std::sync::atomic::AtomicBool,
    mend_tried: Mutex<Option<std::time::Instant>>,
}

/// How often a store whose writes fail on the disk tries to reopen its database.
const MEND_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore").field("dir", &self.dir).finish()
    }
}

impl SledStore {
    /// sled's database: open until the store is dropped, except for the moment it is reopened
    /// after a write error ([`SledStore::mend`]), or when that reopening failed (it is tried
    /// again by the next write).
    fn db(&self) -> Result<sled::Db> {
        self.db
            .get()
            .or_else(|| self.trial.as_ref().map(|t| t.db.clone()))
            .ok_or_else(|| StoreError::Reopening {
                path: self.dir.clone(),
            })
    }

    fn bad(&self, e: CryptError) -> StoreError {
        match e {
            CryptError::WrongPassphrase => StoreError::WrongPassphrase,
            other => StoreError::Damaged {
                path: self.dir.clone(),
                detail: other.to_string(),
            },
        }
    }

    /// The store's keys, or [`StoreError::Sealed`] while locked.
    fn crypt(&self) -> Result<Crypt> {
        self.crypt
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or(StoreError::Sealed)
    }

    fn vault<'a>(db: &'a sled::Db, c: &'a Crypt) -> Vault<'a> {
        Vault { tree: db, crypt: c }
    }

    /// Wraps the data key for a new passphrase (and `params`): no record is rewritten, and the
    /// old passphrase no longer opens the store. [`StoreError::WrongPassphrase`] if `old` is
    /// not the store's.
    pub fn change_passphrase(&self, old: &[u8], new: &[u8], params: KdfParams) -> Result<()> {
        let _guard = lock_or_poisoned(&self.write_lock);
        let current = read(&self.header)
            .clone()
            .ok_or_else(|| StoreError::Invalid {
                id: self.dir.display().to_string(),
                detail: "this store is not encrypted, so it has no passphrase to change".into(),
            })?;
        let header = current.rewrap(old, new, params).map_err(|e| self.bad(e))?;
        self.db()?.insert(crypt::HEADER_KEY, header.encode())?;
        self.flush()?;
        *write(&self.header) = Some(header);
        Ok(())
    }

    /// The Argon2id parameters of an encrypted store.
    pub fn kdf_params(&self) -> Option<KdfParams> {
        read(&self.header).as_ref().map(|h| h.params)
    }

    /// How many chunks of an interrupted large change (an import killed half-way) were rolled
    /// back when the store was opened; 0 normally.
    pub fn rolled_back_on_open(&self) -> usize {
        self.rolled_back.load(Ordering::Relaxed)
    }

    /// The store's id (`store::tally`): made once per store, shown in anchors.
    pub fn store_id(&self) -> Option<String> {
        lock_or_poisoned(&self.stamp)
            .as_ref()
            .map(|s| s.store.clone())
    }

    /// Where the store lives.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What a backup reads: the database and the writers' lock, to take to another thread.
    pub fn backup_source(&self) -> super::backup::BackupSource {
        super::backup::BackupSource::new(self.db.clone(), self.write_lock.clone())
    }
}

impl SledStore {
    /// The record under `key`, a note or a dosing session checked against the audit entry
    /// that last wrote it ([`SledStore::verify_bound`]).
    fn get_record(&self, c: &Crypt, key: &[u8]) -> Result<Option<Record>> {
        match self.db()?.get(key)? {
            None => Ok(None),
            Some(v) => {
                let r = codec::decode(c, key, &v).map_err(|e| corrupt(key, e))?;
                self.verify_bound(c, key, &v, &r)?;
                Ok(Some(r))
            }
        }
    }

    /// The record under `key` as stored, unchecked against the log: what a write compares its
    /// change with.
    fn get_record_as_stored(&self, c: &Crypt, key: &[u8]) -> Result<Option<Record>> {
        match self.db()?.get(key)? {
            None => Ok(None),
            Some(v) => codec::decode(c, key, &v)
                .map(Some)
                .map_err(|e| corrupt(key, e)),
        }
    }

    /// Refuses a note or dosing session whose stored value is not the one the newest audit
    /// entry about it wrote: a signed note put back to its draft, an addendum taken away, a
    /// version written behind kitnotes' back. A record no entry binds (written before kitnotes
    /// bound records to the log, or without an entry) passes. Other kinds are left to `check`.
    fn verify_bound(&self, c: &Crypt, key: &[u8], value: &[u8], record: &Record) -> Result<()> {
        if !matches!(record, Record::Note(_) | Record::Session(_)) {
            return Ok(());
        }
        let mut cache = lock_or_poisoned(&self.bindings);
        if cache.is_none() {
            *cache = Some(self.bindings_from_log(c)?);
        }
        let Some(binding) = cache.as_ref().and_then(|b| b.map.get(record.id())) else {
            return Ok(());
        };
        match binding.mismatch(key, value) {
            None => Ok(()),
            Some(why) => Err(StoreError::Tampered {
                path: self.dir.clone(),
                what: format!(
                    "{} {} (patient {}) {why}",
                    record.kind().as_str(),
                    record.id(),
                    record.patient()
                ),
            }),
        }
    }

    /// The newest binding of every record: the snapshot (`store::binding`), if the log still
    /// holds the entry it was taken at, and the entries after it (entries that cannot be read
    /// are skipped: `check` and `audit verify` name them).
    fn bindings_from_log(&self, c: &Crypt) -> Result<Known> {
        let snapshot = self
            .db()?
            .get(binding::SNAPSHOT_KEY)?
            .and_then(|v| {
                let body = codec::decode_bindings(c, binding::SNAPSHOT_KEY, &v).ok()?;
                Known::decode(&body)
            })
            .filter(|k| self.entry_hash(c, k.upto.seq) == Some(k.upto.hash));
        let mut known = snapshot.unwrap_or(Known {
            map: binding::KnownMap::new(),
            upto: AuditHead {
                seq: 0,
                hash: ChainHash::GENESIS,
            },
            saved: 0,
        });
        for kv in self.db()?.range(keys::audit_key(known.upto.seq + 1)..) {
            let (k, v) = kv?;
            if !k.starts_with(keys::AUDIT_PREFIX) {
                break;
            }
            if let Ok(e) = codec::decode_audit(c, &k, &v) {
                known.take(&e);
            }
        }
        Ok(known)
    }

    /// The hash of audit entry `seq`, if it is there and reads.
    fn entry_hash(&self, c: &Crypt, seq: u64) -> Option<ChainHash> {
        let key = keys::audit_key(seq);
        let value = self.db().ok()?.get(&key).ok()??;
        codec::decode_audit(c, &key, &value).ok().map(|e| e.hash)
    }

    /// Keeps the bindings known in memory up to date with entries just written.
    fn remember_bindings(&self, entries: &[AuditEntry]) {
        if let Some(known) = lock_or_poisoned(&self.bindings).as_mut() {
            entries.iter().for_each(|e| known.take(e));
        }
    }

    /// A new snapshot of the bindings, when enough entries were read past the last one: one
    /// value, written with the next save.
    fn snapshot_bindings(&self, c: &Crypt) -> Result<()> {
        let mut cache = lock_or_poisoned(&self.bindings);
        let Some(known) = cache.as_mut().filter(|k| k.snapshot_due()) else {
            return Ok(());
        };
        let value = codec::encode_bindings(c, binding::SNAPSHOT_KEY, &known.encode());
        self.db()?.insert(binding::SNAPSHOT_KEY, value)?;
        known.saved = known.upto.seq;
        Ok(())
    }

    /// The primary key of the record with `id`.
    fn key_of(&self, c: &Crypt, id: &str) -> Result<Option<Vec<u8>>> {
        let key = keys::index_key(c, id);
        match self.db()?.get(&key)? {
            None => Ok(None),
            Some(v) => codec::decode_ref(c, &key, &v)
                .map(Some)
                .map_err(|e| corrupt(&key, e)),
        }
    }

    fn primary_key(c: &Crypt, record: &Record) -> Vec<u8> {
        match record {
            Record::Patient(p) => keys::patient_key(c, &p.id),
            other => keys::timeline_key(
                c,
                other.patient(),
                other.at().unwrap_or_default(),
                other.kind(),
                other.id(),
            ),
        }
    }

    fn scan_decode(
        &self,
        c: &Crypt,
        prefix: &[u8],
        mut each: impl FnMut(&[u8], Record),
    ) -> Result<()> {
        for kv in self.db()?.scan_prefix(prefix) {
            let (k, v) = kv?;
            let r = codec::decode(c, &k, &v).map_err(|e| corrupt(&k, e))?;
            self.verify_bound(c, &k, &v, &r)?;
            each(&k, r);
        }
        Ok(())
    }
}

fn corrupt(key: &[u8], e: CodecError) -> StoreError {
    StoreError::Corrupt {
        key: printable_key(key),
        detail: e.to_string(),
    }
}

/// A key as a person can read it in a message.
pub fn printable_key(key: &[u8]) -> String {
    // Plain ids first, then an encrypted store's 16-byte names (shown in hex).
    let parts = keys::parse_key_named(None, key)
        .filter(|p| !matches!(p, KeyParts::Patient { id } | KeyParts::Index { id } if id.chars().any(char::is_control)))
        .or_else(|| keys::parse_key_named(Some(crypt::NAME_LEN), key));
    match parts {
        Some(KeyParts::Patient { id }) => format!("patient {id}"),
        Some(KeyParts::Index { id }) => format!("index entry {id}"),
        Some(KeyParts::Timeline {
            kind, id, patient, ..
        }) => format!("{} {id} (patient {patient})", kind.as_str()),
        Some(KeyParts::Schema) => "schema version".into(),
        Some(KeyParts::Audit { seq }) => format!("audit entry {seq}"),
        Some(KeyParts::AuditHead) => "audit log head".into(),
        Some(KeyParts::Search) => format!("search index entry {:?}", String::from_utf8_lossy(key)),
        Some(KeyParts::Agenda) => format!("agenda index entry {:?}", String::from_utf8_lossy(key)),
        None => format!("{:?}", String::from_utf8_lossy(key)),
    }
}

impl Store for SledStore {
    fn apply_with_audit(&self, changes: &[Change], audit: Audit<'_>) -> Result<Vec<AuditEntry>> {
        self.guarded(|| self.apply_with_audit_now(changes, audit))
    }

    fn add_in_parts(
        &self,
        parts: &mut dyn Iterator<Item = Result<Vec<Record>>>,
        events: &mut dyn Iterator<Item = AuditEvent>,
        part: &AuditEvent,
    ) -> Result<u64> {
        let _guard = lock_or_poisoned(&self.write_lock);
        let c = &self.crypt()?;
        let db = self.db()?;
        let vault = Self::vault(&db, c);
        let _bump = WriteCount(&self.writes);
        let mut entries = 0;
        // Each part's records, then its search entries, then (once the next part is read) its
        // audit entry; the entries per patient last. One chunked write, committed once.
        let result = self.write_chunked(|chunks| {
            let mut index = match index::stats(vault)? {
                Some(_) => Some(index::Appender::new(vault)?),
                None => None,
            };
            // The part written last, its records with their digests: bound by the next entry
            // written. That is the part's own entry once another part follows (so no more than
            // one part's digests are ever held), or, for an import of one part, the entries of
            // `events`, as an `apply` binds them.
            let mut pending: Vec<PartRecord> = Vec::new();
            let mut part_no = 0;
            for records in parts {
                let records = records?;
                if part_no > 0 {
                    entries += self.bind_part(c, chunks, part, part_no, &pending)?;
                }
                part_no += 1;
                let changes: Vec<Change> = records.into_iter().map(Change::Put).collect();
                let (ops, _, _, agendas) = self.plan(c, &changes, false)?;
                // A record op is fresh only for an id new to the store and to this part.
                if let Some(op) = ops.iter().find(|op| !op.fresh) {
                    let id = match &op.value {
                        OpValue::Record(r) => r.id().to_owned(),
                        _ => printable_key(&op.key),
                    };
                    return Err(StoreError::Invalid {
                        id,
                        detail: "is already in the store; records added in parts must be new"
                            .into(),
                    });
                }
                let mut binder = Binder::new(c);
                self.write_chunks(&mut binder, &ops, chunks)?;
                // The part's patients' agendas, read after the parts before it were written.
                let agendas = index_ops(agenda::plan(vault, &agendas)?);
                self.write_chunks(&mut binder, &agendas, chunks)?;
                pending = changes
                    .iter()
                    .filter_map(|change| match change {
                        Change::Put(r) => Some(PartRecord {
                            id: r.id().to_owned(),
                            patient: r.patient().as_str().to_owned(),
                            digest: *binder.digests.get(r.id())?,
                        }),
                        Change::Delete(_) => None,
                    })
                    .collect();
                if let Some(index) = &mut index {
                    for change in &changes {
                        if let Change::Put(r) = change
                            && let Some(planned) = index.add(r)?
                        {
                            self.write_chunks(&mut binder, &index_ops(planned), chunks)?;
                        }
                    }
                }
            }
            if let Some(index) = index {
                let mut binder = Binder::new(c);
                self.write_chunks(&mut binder, &index_ops(index.finish()?.0), chunks)?;
            }
            if part_no > 1 {
                entries += self.bind_part(c, chunks, part, part_no, &pending)?;
                pending.clear();
            }
            // The one part's records, by patient, for the entries about their patients.
            let mut by_patient: HashMap<&str, Vec<&PartRecord>> = HashMap::new();
            for r in &pending {
                by_patient.entry(r.patient.as_str()).or_default().push(r);
            }
            loop {
                let group: Vec<AuditEvent> = (&mut *events).take(AUDIT_GROUP).collect();
                if group.is_empty() {
                    break;
                }
                // Each group is chained from the head the previous one wrote.
                let bound = group
                    .into_iter()
                    .map(|e| {
                        let records = e
                            .patient
                            .as_ref()
                            .and_then(|p| by_patient.remove(p.as_str()))
                            .unwrap_or_default();
                        (e, records)
                    })
                    .collect();
                entries += self.write_bound(c, chunks, bound)?;
            }
            // Records of a patient no event names: bound by an entry of their own.
            let rest: Vec<&PartRecord> = by_patient.into_values().flatten().collect();
            if !rest.is_empty() {
                let event = part_event(part, 1, rest.len());
                entries += self.write_bound(c, chunks, vec![(event, rest)])?;
            }
            Ok(())
        });
        // What the log binds changed (or was rolled back): the next read learns it from the
        // log, rather than this write keeping every record's binding in memory.
        *lock_or_poisoned(&self.bindings) = None;
        result.map(|()| entries)
    }

    fn patient(&self, id: &PatientId) -> Result<Option<Patient>> {
        let c = &self.crypt()?;
        Ok(match self.get_record(c, &keys::patient_key(c, id))? {
            Some(Record::Patient(p)) => Some(p),
            _ => None,
        })
    }

    fn patients(&self) -> Result<Vec<Patient>> {
        let mut out = Vec::new();
        self.scan_decode(&self.crypt()?, keys::PATIENT_PREFIX, |_, r| {
            if let Record::Patient(p) = r {
                out.push(p);
            }
        })?;
        Ok(out)
    }

    fn patient_records(&self, id: &PatientId) -> Result<Option<PatientRecords>> {
        let Some(patient) = self.patient(id)? else {
            return Ok(None);
        };
        let mut records = PatientRecords::new(patient);
        let c = &self.crypt()?;
        self.scan_decode(c, &keys::timeline_prefix(c, id), |_, r| records.push(r))?;
        Ok(Some(records))
    }

    fn record(&self, id: &str) -> Result<Option<Record>> {
        let c = &self.crypt()?;
        match self.key_of(c, id)? {
            Some(key) => self.get_record(c, &key),
            None => Ok(None),
        }
    }

    fn id_kind(&self, id: &str) -> Result<Option<RecordKind>> {
        // The kind is in the key the index names: no need to read the record.
        Ok(self
            .current_key(&self.crypt()?, &Overlay::new(), id)?
            .map(|(_, kind)| kind))
    }

    fn flush(&self) -> Result<()> {
        self.guarded(|| self.flush_now())
    }

    fn put_unsaved(&self, body: Option<&[u8]>) -> Result<()> {
        self.guarded(|| self.put_unsaved_now(body))
    }

    fn unsaved(&self) -> Result<Option<Vec<u8>>> {
        let c = &self.crypt()?;
        let Some(value) = self.db()?.get(keys::UNSAVED_KEY)? else {
            return Ok(None);
        };
        codec::decode_unsaved(c, keys::UNSAVED_KEY, &value)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                key: "what was being typed (U\\0input)".into(),
                detail: e.to_string(),
            })
    }

    fn put_sync_state(&self, body: &[u8]) -> Result<()> {
        self.guarded(|| self.put_sealed_now(keys::SYNC_STATE_KEY, Some(body)))
    }

    fn sync_state(&self) -> Result<Option<Vec<u8>>> {
        let c = &self.crypt()?;
        let Some(value) = self.db()?.get(keys::SYNC_STATE_KEY)? else {
            return Ok(None);
        };
        codec::decode_unsaved(c, keys::SYNC_STATE_KEY, &value)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                key: "the sync state (S\\0sync)".into(),
                detail: e.to_string(),
            })
    }

    fn seal_rescue(&self, body: &[u8]) -> Result<Vec<u8>> {
        Ok(codec::encode_unsaved(&self.crypt()?, RESCUE_AAD, body))
    }

    fn open_rescue(&self, sealed: &[u8]) -> Result<Vec<u8>> {
        codec::decode_unsaved(&self.crypt()?, RESCUE_AAD, sealed).map_err(|e| StoreError::Corrupt {
            key: RESCUE_FILE.into(),
            detail: e.to_string(),
        })
    }

    fn rescue_path(&self) -> Option<PathBuf> {
        Some(self.dir.join(RESCUE_FILE))
    }

    fn counts(&self) -> Result<Counts> {
        let mut counts = Counts::default();
        let c = &self.crypt()?;
        self.scan_decode(c, keys::PATIENT_PREFIX, |_, r| counts.add(&r))?;
        self.scan_decode(c, keys::TIMELINE_PREFIX, |_, r| counts.add(&r))?;
        Ok(counts)
    }

    fn check(&self) -> Result<CheckReport> {
        check(self)
    }

    fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let mut out = Vec::new();
        let c = &self.crypt()?;
        for kv in self.db()?.scan_prefix(keys::AUDIT_PREFIX) {
            let (k, v) = kv?;
            let entry = codec::decode_audit(c, &k, &v).map_err(|e| corrupt(&k, e))?;
            if filter.matches(&entry) {
                out.push(entry);
            }
        }
        Ok(out)
    }

    fn search(&self, query: &crate::search::Query, limit: usize) -> Result<crate::search::Results> {
        let c = &self.crypt()?;
        let mut cache = lock_or_poisoned(&self.search_cache);
        let generation = self.writes.load(Ordering::Acquire);
        index::search(
            Self::vault(&self.db()?, c),
            query,
            limit,
            |id| self.record(id),
            &mut cache,
            generation,
        )
    }

    fn suspend_index(&self) -> Result<()> {
        let _guard = lock_or_poisoned(&self.write_lock);
        let _bump = WriteCount(&self.writes);
        index::clear(Self::vault(&self.db()?, &self.crypt()?))
    }

    fn agendas(&self) -> Result<Vec<crate::model::agenda::Agenda>> {
        let c = &self.crypt()?;
        let db = self.db()?;
        let vault = Self::vault(&db, c);
        if !agenda::built(vault)? {
            // A store kept at schema 2 or below (tests' own migrations): from the records.
            return super::scan_agendas(self);
        }
        agenda::all(vault)
    }

    fn patient_drafts(&self) -> Result<Vec<crate::model::agenda::PatientDrafts>> {
        let c = &self.crypt()?;
        let db = self.db()?;
        let vault = Self::vault(&db, c);
        if !agenda::built(vault)? {
            return Ok(super::scan_agendas(self)?
                .into_iter()
                .map(Into::into)
                .collect());
        }
        agenda::all_drafts(vault)
    }

    fn reindex(&self) -> Result<u64> {
        let _guard = lock_or_poisoned(&self.write_lock);
        let _bump = WriteCount(&self.writes);
        if self.schema_version()? >= Some(3) {
            agenda::rebuild(Self::vault(&self.db()?, &self.crypt()?))?;
        }
        let stats = index::rebuild(Self::vault(&self.db()?, &self.crypt()?))?;
        self.flush()?;
        Ok(stats.live)
    }

    fn verify_audit(&self) -> Result<AuditVerdict> {
        self.walk_audit(&self.crypt()?, |_| {})
    }

    fn is_encrypted(&self) -> bool {
        read(&self.header).is_some()
    }

    fn store_id(&self) -> Option<String> {
        SledStore::store_id(self)
    }

    fn lock(&self) {
        if self.is_encrypted() {
            // The last handle on the keys zeroizes them when it is dropped.
            *write(&self.crypt) = None;
            lock_or_poisoned(&self.search_cache).clear();
            *lock_or_poisoned(&self.bindings) = None;
        }
    }

    fn unlock(&self, passphrase: &[u8]) -> Result<()> {
        let Some(header) = read(&self.header).clone() else {
            return Ok(());
        };
        let keys = header.unlock(passphrase).map_err(|e| self.bad(e))?;
        *write(&self.crypt) = Some(Crypt::Sealed(Arc::new(keys)));
        let pending = lock_or_poisoned(&self.pending).take();
        if let Some(migrations) = pending
            && let Err(e) = self.finish_open(&migrations)
        {
            // Refused: nothing reads it, and the next unlock checks again.
            *write(&self.crypt) = None;
            if !self.verified.load(Ordering::Acquire) {
                *lock_or_poisoned(&self.pending) = Some(migrations);
            }
            return Err(e);
        }
        Ok(())
    }
}

/// The rescue file beside the store: what could not be written to it (`app::unsaved`).
pub const RESCUE_FILE: &str = "kitnotes.rescue";
/// What a rescue file is sealed against, so it opens only as a rescue file of this store.
const RESCUE_AAD: &[u8] = b"kitnotes rescue file";

impl Drop for SledStore {
    /// Closes sled, then stamps its files in the tally, so the next open knows they are as
    /// this close left them. If sled does not let go, or the stamp cannot be written, the next
    /// open simply recovers a copy first.
    fn drop(&mut self) {
        if !self.verified.load(Ordering::Acquire) {
            self.close_unverified();
            return;
        }
        // The last stamp covers every entry written since the last save.
        if self.crypt().is_ok() {
            let _ = self.flush();
        }
        let Some(db) = self.db.take() else { return };
        drop(db);
        drop(self.trial.take());
        let db_dir = self.dir.join("db");
        if !tally::wait_released(&db_dir) {
            return;
        }
        if let Ok(stamps) = tally::stamps(&db_dir) {
            let closed = tally::Tally {
                saves: *lock_or_poisoned(&self.saves),
                closed: Some(stamps),
                stamp: lock_or_poisoned(&self.stamp).clone(),
            };
            let _ = tally::write(&self.dir, &closed);
        }
    }
}

/// Counts a write when dropped (after it, whether it worked or not), so searches drop the
/// index blocks they kept.
struct WriteCount<'a>(&'a AtomicU64);

impl Drop for WriteCount<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Release);
    }
}

fn lock_or_poisoned<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

/// Exposed for tests that need to damage a store on purpose.
#[doc(hidden)]
pub fn raw_db(store: &SledStore) -> sled::Db {
    store.db().expect("the test's store is open")
}

#[cfg(test)]
mod tests {
    use super::sync_tree;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// sled deletes its own files while kitnotes syncs them; a vanished file is not an error.
    #[test]
    fn syncing_survives_files_vanishing_underneath() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let churn = {
            let (root, stop) = (root.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let sub = root.join(format!("d{}", i % 4));
                    let _ = std::fs::create_dir_all(&sub);
                    for j in 0..8 {
                        let _ = std::fs::write(sub.join(format!("f{j}")), b"x");
                    }
                    let _ = std::fs::remove_dir_all(&sub);
                    i += 1;
                }
            })
        };
        for _ in 0..300 {
            sync_tree(&root).expect("a vanished file is skipped, not an error");
        }
        stop.store(true, Ordering::Relaxed);
        churn.join().unwrap();
    }
}
