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

use super::audit::{
    self, Audit, AuditEntry, AuditEvent, AuditFilter, AuditHead, AuditProblem, AuditVerdict,
    ChainCheck, ChainHash, Described, HeadState,
};
use super::codec::{self, CodecError};
use super::index;
use super::keys::{self, KeyParts};
use super::{Change, CheckReport, Counts, Result, Store, StoreError};
use crate::model::{Patient, PatientId, PatientRecords, Record, RecordKind};
use crate::search::text::has_text;
use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The schema version this kitnotes writes. Bump it with a migration in [`MIGRATIONS`].
/// 2: the search index (`store::index`).
pub const SCHEMA_VERSION: u32 = 2;

/// A migration moves a store from schema `n` to `n + 1`, in place, atomically.
pub type Migration = fn(&sled::Tree) -> Result<()>;

/// `MIGRATIONS[i]` migrates schema `i + 1` to `i + 2`.
pub const MIGRATIONS: &[Migration] = &[add_search_index];

/// Schema 1 to 2: build the search index from the records. A kitnotes without search would
/// leave it out of date, so it must not open the store afterwards (it refuses schema 2).
fn add_search_index(tree: &sled::Tree) -> Result<()> {
    index::rebuild(tree).map(drop)
}

/// sled's page cache. Small: kitnotes reads one patient at a time, and the 150 MB memory
/// budget leaves no room for sled's 1 GB default.
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// A kitnotes store on disk.
pub struct SledStore {
    dir: PathBuf,
    db: sled::Db,
    /// Serialises writers so that "check the stored version, then write" is atomic in-process;
    /// the lock file keeps other processes out. Shared with backups (`store::backup`), which
    /// hold it while they read.
    write_lock: Arc<Mutex<()>>,
    /// Held for as long as the store is open; the OS releases it if the process dies.
    _lock: File,
    /// Chunks of an interrupted large change that were rolled back when the store opened.
    rolled_back: usize,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore").field("dir", &self.dir).finish()
    }
}

fn damaged(dir: &Path, e: sled::Error) -> StoreError {
    match e {
        sled::Error::Io(source) => StoreError::Open {
            path: dir.to_owned(),
            source,
        },
        other => StoreError::Damaged {
            path: dir.to_owned(),
            detail: other.to_string(),
        },
    }
}

/// Opens sled's database, waiting up to 5 s for a just-dropped handle in this process to
/// release sled's own file lock.
fn open_sled(path: &Path) -> sled::Result<sled::Db> {
    let started = std::time::Instant::now();
    loop {
        let result = sled::Config::new()
            .path(path)
            .cache_capacity(CACHE_BYTES)
            .flush_every_ms(Some(500))
            .open();
        match result {
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && started.elapsed() < std::time::Duration::from_secs(5) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

impl SledStore {
    /// Opens the store in `dir`, creating it if the directory is new or empty.
    pub fn open(dir: &Path) -> Result<Self> {
        Self::open_with(dir, MIGRATIONS)
    }

    /// Opens with a given list of migrations (tests use their own).
    ///
    /// Holding `kitnotes.lock` means no other kitnotes process has the store, so a sled file
    /// lock still held can only be this process's previous handle, whose flush thread lets go
    /// a moment after the handle is dropped: wait for it rather than fail.
    pub fn open_with(dir: &Path, migrations: &[Migration]) -> Result<Self> {
        let io = |source| StoreError::Open {
            path: dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let lock_path = dir.join("kitnotes.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&lock_path)
            .map_err(io)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Locked {
                    path: dir.to_owned(),
                    lock: lock_path,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let db = open_sled(&dir.join("db")).map_err(|e| damaged(dir, e))?;
        let mut store = Self {
            dir: dir.to_owned(),
            db,
            write_lock: Arc::new(Mutex::new(())),
            _lock: lock,
            rolled_back: 0,
        };
        store.check_schema(migrations)?;
        store.rolled_back = store.roll_back_interrupted()?;
        // A new store, an index build that was interrupted (the stats are written last), or an
        // index of an older format. A store kept at schema 1 (tests' own migrations) has none.
        if store.schema_version()? >= Some(2)
            && index::stats(&store.db)?.is_none_or(|s| s.version != index::INDEX_VERSION)
        {
            index::rebuild(&store.db)?;
            store.flush()?;
        }
        Ok(store)
    }

    /// How many chunks of an interrupted large change (an import killed half-way) were rolled
    /// back when the store was opened; 0 normally.
    pub fn rolled_back_on_open(&self) -> usize {
        self.rolled_back
    }

    /// Where the store lives.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What a backup reads: the database and the writers' lock, to take to another thread.
    pub fn backup_source(&self) -> super::backup::BackupSource {
        super::backup::BackupSource::new(self.db.clone(), self.write_lock.clone())
    }

    /// The schema version on disk.
    pub fn schema_version(&self) -> Result<Option<u32>> {
        Ok(self
            .db
            .get(keys::SCHEMA_KEY)?
            .and_then(|v| <[u8; 4]>::try_from(v.as_ref()).ok())
            .map(u32::from_be_bytes))
    }

    fn check_schema(&self, migrations: &[Migration]) -> Result<()> {
        let supported = migrations.len() as u32 + 1;
        let found = match self.db.get(keys::SCHEMA_KEY)? {
            None if self.db.is_empty() => {
                self.db.insert(keys::SCHEMA_KEY, &supported.to_be_bytes())?;
                self.flush()?;
                return Ok(());
            }
            None => {
                return Err(StoreError::Damaged {
                    path: self.dir.clone(),
                    detail: "it holds records but no schema version".into(),
                });
            }
            Some(v) => match <[u8; 4]>::try_from(v.as_ref()) {
                Ok(b) => u32::from_be_bytes(b),
                Err(_) => {
                    return Err(StoreError::Damaged {
                        path: self.dir.clone(),
                        detail: format!("the schema version is {} bytes long, not 4", v.len()),
                    });
                }
            },
        };
        if found > supported {
            return Err(StoreError::NewerSchema {
                path: self.dir.clone(),
                found,
                supported,
            });
        }
        if found == 0 {
            return Err(StoreError::Damaged {
                path: self.dir.clone(),
                detail: "schema version 0".into(),
            });
        }
        for (from, migrate) in migrations.iter().enumerate().skip(found as usize - 1) {
            migrate(&self.db)?;
            self.db
                .insert(keys::SCHEMA_KEY, &(from as u32 + 2).to_be_bytes())?;
            self.flush()?;
        }
        Ok(())
    }

    fn get_record(&self, key: &[u8]) -> Result<Option<Record>> {
        match self.db.get(key)? {
            None => Ok(None),
            Some(v) => codec::decode(key, &v)
                .map(Some)
                .map_err(|e| corrupt(key, e)),
        }
    }

    /// The primary key of the record with `id`.
    fn key_of(&self, id: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get(keys::index_key(id))?.map(|v| v.to_vec()))
    }

    fn primary_key(record: &Record) -> Vec<u8> {
        match record {
            Record::Patient(p) => keys::patient_key(&p.id),
            other => keys::timeline_key(
                other.patient(),
                other.at().unwrap_or_default(),
                other.kind(),
                other.id(),
            ),
        }
    }

    fn scan_decode(&self, prefix: &[u8], mut each: impl FnMut(&[u8], Record)) -> Result<()> {
        for kv in self.db.scan_prefix(prefix) {
            let (k, v) = kv?;
            let r = codec::decode(&k, &v).map_err(|e| corrupt(&k, e))?;
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
    match keys::parse_key(key) {
        Some(KeyParts::Patient { id }) => format!("patient {id}"),
        Some(KeyParts::Index { id }) => format!("index entry {id}"),
        Some(KeyParts::Timeline {
            kind, id, patient, ..
        }) => format!("{} {id} (patient {patient})", kind.as_str()),
        Some(KeyParts::Schema) => "schema version".into(),
        Some(KeyParts::Audit { seq }) => format!("audit entry {seq}"),
        Some(KeyParts::AuditHead) => "audit log head".into(),
        Some(KeyParts::Search) => format!("search index entry {:?}", String::from_utf8_lossy(key)),
        None => format!("{:?}", String::from_utf8_lossy(key)),
    }
}

/// What one `apply` has seen so far, by id: the key each id now has and, for records written in
/// this call, the record itself (borrowed from the changes, never copied); `None` once deleted.
type Overlay<'a> = HashMap<&'a str, Option<(Vec<u8>, Option<&'a Record>)>>;

/// The kind of record a primary key holds, read from the key alone.
fn kind_of_key(key: &[u8]) -> Option<RecordKind> {
    match keys::parse_key(key)? {
        KeyParts::Patient { .. } => Some(RecordKind::Patient),
        KeyParts::Timeline { kind, .. } => Some(kind),
        _ => None,
    }
}

impl SledStore {
    /// The key and kind currently holding `id`, seen through this call's earlier changes.
    fn current_key(
        &self,
        overlay: &Overlay<'_>,
        id: &str,
    ) -> Result<Option<(Vec<u8>, RecordKind)>> {
        let key = match overlay.get(id) {
            Some(None) => return Ok(None),
            Some(Some((key, _))) => key.clone(),
            None => match self.key_of(id)? {
                Some(k) => k,
                None => return Ok(None),
            },
        };
        let kind = kind_of_key(&key).ok_or_else(|| StoreError::Corrupt {
            key: printable_key(&keys::index_key(id)),
            detail: "the index points to a key that holds no record".into(),
        })?;
        Ok(Some((key, kind)))
    }

    /// The record currently stored (or written earlier in this call) under `key`.
    fn current_record(&self, overlay: &Overlay<'_>, id: &str, key: &[u8]) -> Result<Record> {
        if let Some(Some((_, Some(r)))) = overlay.get(id) {
            return Ok((*r).clone());
        }
        self.get_record(key)?.ok_or_else(|| StoreError::Corrupt {
            key: printable_key(&keys::index_key(id)),
            detail: "the index points to a record that is missing".into(),
        })
    }
}

/// One key to write or remove, planned before anything is written.
struct KeyOp<'a> {
    key: Vec<u8>,
    value: OpValue<'a>,
    /// The key was absent before this `apply` and no earlier op in it touched the key, so its
    /// undo is a removal without reading the old value.
    fresh: bool,
}

enum OpValue<'a> {
    Remove,
    Record(&'a Record),
    Raw(Vec<u8>),
}

/// A record's versions for the search index: as stored before this write (read only for kinds
/// with text), and after it (`None`: deleted).
type IndexChange<'a> = (&'a str, Option<Record>, Option<&'a Record>);

/// Changes larger than this are written in chunks, each with its undo entry in the same atomic
/// batch. sled 0.34 handles one batch of hundreds of thousands of entries badly (4 GB of memory
/// for a 100,000-note import); chunks keep it near the demo build's 80 MB.
pub const CHUNK_OPS: usize = 4_096;

impl SledStore {
    /// Validates every change against the store and the changes before it, and plans the key
    /// writes. Nothing is written here, so a refusal leaves the store untouched. With `describe`,
    /// also says what each change does to its record, for the audit log.
    fn plan<'a>(
        &self,
        changes: &'a [Change],
        describe: bool,
    ) -> Result<(Vec<KeyOp<'a>>, Vec<Described>, Vec<IndexChange<'a>>)> {
        let mut described = Vec::new();
        let mut indexed: Vec<IndexChange<'a>> = Vec::new();
        let mut indexed_at: HashMap<&'a str, usize> = HashMap::new();
        let mut overlay: Overlay<'a> = HashMap::with_capacity(changes.len());
        // Patients known to exist, so a large import checks each patient once.
        let mut patients_seen: HashSet<&str> = HashSet::new();
        let mut touched: HashSet<Vec<u8>> = HashSet::new();
        let mut ops: Vec<KeyOp<'a>> = Vec::with_capacity(changes.len() * 2);
        let mut push =
            |ops: &mut Vec<KeyOp<'a>>, key: Vec<u8>, value: OpValue<'a>, absent_before: bool| {
                let fresh = absent_before && !touched.contains(&key);
                touched.insert(key.clone());
                ops.push(KeyOp { key, value, fresh });
            };
        for change in changes {
            match change {
                Change::Put(record) => {
                    let id = record.id();
                    record.validate().map_err(|e| StoreError::Invalid {
                        id: id.to_owned(),
                        detail: e.to_string(),
                    })?;
                    let existing = self.current_key(&overlay, id)?;
                    let mut stored: Option<Record> = None;
                    if let Some((old_key, old_kind)) = &existing {
                        if *old_kind != record.kind() {
                            return Err(StoreError::IdTaken {
                                id: id.to_owned(),
                                existing: old_kind.as_str(),
                            });
                        }
                        // Old versions are read only where needed: a note's (signed notes may
                        // only gain addenda), a session's (signed sessions never change), any
                        // record with text (its old words leave the search index), and any
                        // record's when the log must say what changed.
                        if describe || has_text(record.kind()) {
                            let old = self.current_record(&overlay, id, old_key)?;
                            match (&old, record) {
                                (Record::Note(old), Record::Note(new)) => old.may_become(new)?,
                                (Record::Session(old), Record::Session(new)) => {
                                    old.may_become(new)?
                                }
                                _ => {}
                            }
                            if describe {
                                described.extend(audit::describe(Some(&old), record));
                            }
                            if !overlay.contains_key(id) {
                                stored = Some(old);
                            }
                        }
                    } else if describe {
                        described.extend(audit::describe(None, record));
                    }
                    let patient = record.patient().as_str();
                    if !matches!(record, Record::Patient(_)) && !patients_seen.contains(patient) {
                        match self.current_key(&overlay, patient)? {
                            Some((_, RecordKind::Patient)) => {
                                patients_seen.insert(patient);
                            }
                            _ => {
                                return Err(StoreError::UnknownPatient {
                                    kind: record.kind().as_str(),
                                    id: id.to_owned(),
                                    patient: record.patient().clone(),
                                });
                            }
                        }
                    }
                    let key = Self::primary_key(record);
                    let new_id = existing.is_none() && !overlay.contains_key(id);
                    if let Some((old_key, _)) = &existing
                        && *old_key != key
                    {
                        push(&mut ops, old_key.clone(), OpValue::Remove, false);
                    }
                    // A new id's keys cannot exist yet (the index would have named them).
                    push(&mut ops, key.clone(), OpValue::Record(record), new_id);
                    push(
                        &mut ops,
                        keys::index_key(id),
                        OpValue::Raw(key.clone()),
                        new_id,
                    );
                    overlay.insert(id, Some((key, Some(record))));
                    match indexed_at.get(id) {
                        Some(i) => indexed[*i].2 = Some(record),
                        None => {
                            indexed_at.insert(id, indexed.len());
                            indexed.push((id, stored, Some(record)));
                        }
                    }
                }
                Change::Delete(id) => {
                    let Some((key, kind)) = self.current_key(&overlay, id)? else {
                        return Err(StoreError::NotFound(id.clone()));
                    };
                    if kind == RecordKind::Patient {
                        return Err(StoreError::Invalid {
                            id: id.clone(),
                            detail: "patients are archived, never deleted".into(),
                        });
                    }
                    let mut stored: Option<Record> = None;
                    if has_text(kind) || describe {
                        let old = self.current_record(&overlay, id, &key)?;
                        match &old {
                            Record::Note(n) if n.is_signed() => {
                                return Err(StoreError::DeleteSigned(id.clone()));
                            }
                            Record::Session(s) if s.is_signed() => {
                                return Err(StoreError::DeleteSignedSession(id.clone()));
                            }
                            _ => {}
                        }
                        if describe {
                            described.push(audit::describe_delete(&old));
                        }
                        if !overlay.contains_key(id.as_str()) {
                            stored = Some(old);
                        }
                    }
                    push(&mut ops, key, OpValue::Remove, false);
                    push(&mut ops, keys::index_key(id), OpValue::Remove, false);
                    overlay.insert(id, None);
                    match indexed_at.get(id.as_str()) {
                        Some(i) => indexed[*i].2 = None,
                        None => {
                            indexed_at.insert(id, indexed.len());
                            indexed.push((id, stored, None));
                        }
                    }
                }
            }
        }
        Ok((ops, described, indexed))
    }

    /// Writes planned ops. Up to [`CHUNK_OPS`] ops go in one batch. Beyond that each chunk's
    /// batch also stores how to undo it, and the undo entries are removed together at the end:
    /// that removal is the commit. If the process dies before it, the next open rolls every
    /// chunk back ([`SledStore::roll_back_interrupted`]).
    fn write(&self, ops: &[KeyOp<'_>]) -> Result<()> {
        if ops.len() <= CHUNK_OPS {
            let mut batch = sled::Batch::default();
            ops.iter().for_each(|op| encode_op(op, &mut batch));
            self.db.apply_batch(batch)?;
            return Ok(());
        }
        self.write_chunked(|w| self.write_chunks(ops, w))
    }

    /// Runs `write` (which writes chunks with their undo entries), then commits; on an error,
    /// rolls every chunk back.
    fn write_chunked(&self, write: impl FnOnce(&mut Chunks) -> Result<()>) -> Result<()> {
        let mut chunks = Chunks::default();
        let result = write(&mut chunks).and_then(|()| {
            // The commit: every undo entry goes in one small batch.
            let mut commit = sled::Batch::default();
            chunks
                .undo_keys
                .iter()
                .for_each(|k| commit.remove(k.as_slice()));
            self.db.apply_batch(commit)?;
            Ok(())
        });
        if result.is_err() {
            // Best effort now; if this fails too, the next open finishes the roll-back.
            let _ = self.roll_back_interrupted();
        }
        result
    }

    /// Writes `ops` in chunks, each with how to undo it, numbered on from earlier chunks.
    fn write_chunks(&self, ops: &[KeyOp<'_>], chunks: &mut Chunks) -> Result<()> {
        for chunk in ops.chunks(CHUNK_OPS) {
            let mut undo = Vec::with_capacity(chunk.len());
            let mut batch = sled::Batch::default();
            for op in chunk {
                let old = if op.fresh {
                    None
                } else {
                    self.db.get(&op.key)?.map(|v| v.to_vec())
                };
                undo.push((op.key.clone(), old));
                encode_op(op, &mut batch);
            }
            let undo_key = undo_key(chunks.undo_keys.len() as u64);
            batch.insert(undo_key.as_slice(), encode_undo(&undo));
            self.db.apply_batch(batch)?;
            chunks.undo_keys.push(undo_key);
        }
        Ok(())
    }

    /// Undoes the chunks of a large change that never committed, newest first, each chunk's
    /// undo and the removal of its entry in one batch. Returns how many chunks were undone.
    pub fn roll_back_interrupted(&self) -> Result<usize> {
        let mut entries: Vec<(sled::IVec, sled::IVec)> = self
            .db
            .scan_prefix(UNDO_PREFIX)
            .collect::<std::result::Result<_, _>>()?;
        entries.reverse();
        for (key, value) in &entries {
            let undo = decode_undo(value).ok_or_else(|| StoreError::Damaged {
                path: self.dir.clone(),
                detail: "an undo entry of an interrupted change cannot be read".into(),
            })?;
            let mut batch = sled::Batch::default();
            for (k, old) in undo.into_iter().rev() {
                match old {
                    Some(v) => batch.insert(k, v),
                    None => batch.remove(k),
                }
            }
            batch.remove(key.clone());
            self.db.apply_batch(batch)?;
        }
        if !entries.is_empty() {
            self.flush()?;
        }
        Ok(entries.len())
    }
}

/// The undo entries of a change written in chunks so far.
#[derive(Default)]
struct Chunks {
    undo_keys: Vec<Vec<u8>>,
}

fn encode_op(op: &KeyOp<'_>, batch: &mut sled::Batch) {
    match &op.value {
        OpValue::Remove => batch.remove(op.key.as_slice()),
        OpValue::Record(r) => batch.insert(op.key.as_slice(), codec::encode(&op.key, r)),
        OpValue::Raw(v) => batch.insert(op.key.as_slice(), v.as_slice()),
    }
}

fn index_ops(planned: index::IndexOps) -> Vec<KeyOp<'static>> {
    planned
        .into_iter()
        .map(|(key, value)| KeyOp {
            key,
            value: value.map_or(OpValue::Remove, OpValue::Raw),
            fresh: false,
        })
        .collect()
}

/// A key and the value it had before a chunk was written (`None`: it was absent).
type UndoEntry = (Vec<u8>, Option<Vec<u8>>);

const UNDO_PREFIX: &[u8] = b"M\0undo\0";

fn undo_key(seq: u64) -> Vec<u8> {
    [UNDO_PREFIX, &seq.to_be_bytes()].concat()
}

/// Undo entries: for each key, its length and bytes, then 0 (was absent) or 1 with the old
/// value's length and bytes. Lengths are u32 big-endian.
fn encode_undo(entries: &[UndoEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, old) in entries {
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k);
        match old {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                out.extend_from_slice(&(v.len() as u32).to_be_bytes());
                out.extend_from_slice(v);
            }
        }
    }
    out
}

fn decode_undo(mut b: &[u8]) -> Option<Vec<UndoEntry>> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        if b.len() < n {
            return None;
        }
        let (head, tail) = b.split_at(n);
        *b = tail;
        Some(head)
    }
    fn len(b: &mut &[u8]) -> Option<usize> {
        Some(u32::from_be_bytes(take(b, 4)?.try_into().ok()?) as usize)
    }
    let mut out = Vec::new();
    while !b.is_empty() {
        let n = len(&mut b)?;
        let key = take(&mut b, n)?.to_vec();
        let old = match take(&mut b, 1)?[0] {
            0 => None,
            1 => {
                let n = len(&mut b)?;
                Some(take(&mut b, n)?.to_vec())
            }
            _ => return None,
        };
        out.push((key, old));
    }
    Some(out)
}

impl SledStore {
    /// The audit log's head: where the next entry goes and what it is chained to.
    fn audit_head(&self) -> Result<HeadState> {
        Ok(match self.db.get(keys::AUDIT_HEAD_KEY)? {
            None => HeadState::Absent,
            Some(v) => match codec::decode_audit_head(keys::AUDIT_HEAD_KEY, &v) {
                Ok(h) => HeadState::Present(h),
                Err(e) => HeadState::Damaged(e.to_string()),
            },
        })
    }

    /// Numbers and chains `events` after the current head, and plans their keys and the new head.
    fn plan_audit(
        &self,
        events: Vec<AuditEvent>,
        ops: &mut Vec<KeyOp<'_>>,
    ) -> Result<Vec<AuditEntry>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        // Appending follows the head, not the last entry found: entries cut from the end must
        // leave a gap that verify reports, not be silently written over.
        let (mut seq, mut prev) = match self.audit_head()? {
            HeadState::Absent => {
                if self.db.scan_prefix(keys::AUDIT_PREFIX).next().is_some() {
                    return Err(StoreError::AuditLog(
                        "the log has entries but its head is missing".into(),
                    ));
                }
                (0, ChainHash::GENESIS)
            }
            HeadState::Present(h) => (h.seq, h.hash),
            HeadState::Damaged(detail) => {
                return Err(StoreError::AuditLog(format!(
                    "its head cannot be read: {detail}"
                )));
            }
        };
        let mut entries = Vec::with_capacity(events.len());
        for event in events {
            seq += 1;
            let entry = AuditEntry::chain(event, seq, prev);
            prev = entry.hash;
            let key = keys::audit_key(seq);
            let value = codec::encode_audit(&key, &entry);
            ops.push(KeyOp {
                key,
                value: OpValue::Raw(value),
                fresh: true,
            });
            entries.push(entry);
        }
        let head = AuditHead { seq, hash: prev };
        ops.push(KeyOp {
            key: keys::AUDIT_HEAD_KEY.to_vec(),
            value: OpValue::Raw(codec::encode_audit_head(keys::AUDIT_HEAD_KEY, &head)),
            fresh: false,
        });
        Ok(entries)
    }
}

impl Store for SledStore {
    fn apply_with_audit(&self, changes: &[Change], audit: Audit<'_>) -> Result<Vec<AuditEntry>> {
        let _guard = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let (mut ops, described, indexed) =
            self.plan(changes, matches!(audit, Audit::EachRecord(_)))?;
        // The search index changes in the same write as the records: with them in one batch,
        // or for a large change (an import) a group of records at a time after them, in the
        // same chunked write, so its memory stays bounded.
        let index_changes: Vec<(&str, Option<&Record>, Option<&Record>)> = indexed
            .iter()
            .map(|(id, old, new)| (*id, old.as_ref(), *new))
            .collect();
        let streamed = index_changes.len() > index::GROUP;
        if !streamed {
            ops.extend(index_ops(index::plan(&self.db, &index_changes)?));
        }
        let events: Vec<AuditEvent> = match audit {
            Audit::Unlogged => Vec::new(),
            Audit::EachRecord(actor) => described
                .into_iter()
                .map(|d| {
                    actor
                        .event(d.action)
                        .patient(&d.patient)
                        .record(d.record)
                        .detail(d.detail)
                })
                .collect(),
            Audit::Events(events) => events.to_vec(),
        };
        // The entries go last, so a change written in chunks commits them with its last chunk.
        let entries = self.plan_audit(events, &mut ops)?;
        if streamed {
            self.write_chunked(|chunks| {
                self.write_chunks(&ops, chunks)?;
                // Records that were in the store: their old words come out, a group at a time.
                let updates: Vec<_> = index_changes
                    .iter()
                    .filter(|c| c.1.is_some())
                    .copied()
                    .collect();
                for group in updates.chunks(index::GROUP) {
                    let planned = index_ops(index::plan(&self.db, group)?);
                    self.write_chunks(&planned, chunks)?;
                }
                // New records: appended, each segment written once.
                if index::stats(&self.db)?.is_some() {
                    let new = index_changes
                        .iter()
                        .filter(|c| c.1.is_none())
                        .filter_map(|c| c.2.map(Ok));
                    index::append(&self.db, new, |planned| {
                        self.write_chunks(&index_ops(planned), chunks)
                    })?;
                }
                Ok(())
            })?;
        } else {
            self.write(&ops)?;
        }
        Ok(entries)
    }

    fn patient(&self, id: &PatientId) -> Result<Option<Patient>> {
        Ok(match self.get_record(&keys::patient_key(id))? {
            Some(Record::Patient(p)) => Some(p),
            _ => None,
        })
    }

    fn patients(&self) -> Result<Vec<Patient>> {
        let mut out = Vec::new();
        self.scan_decode(keys::PATIENT_PREFIX, |_, r| {
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
        self.scan_decode(&keys::timeline_prefix(id), |_, r| records.push(r))?;
        Ok(Some(records))
    }

    fn record(&self, id: &str) -> Result<Option<Record>> {
        match self.key_of(id)? {
            Some(key) => self.get_record(&key),
            None => Ok(None),
        }
    }

    fn id_kind(&self, id: &str) -> Result<Option<RecordKind>> {
        // The kind is in the key the index names: no need to read the record.
        Ok(self.current_key(&Overlay::new(), id)?.map(|(_, kind)| kind))
    }

    fn flush(&self) -> Result<()> {
        self.db.flush()?;
        sync_tree(&self.dir.join("db"))?;
        Ok(())
    }

    fn counts(&self) -> Result<Counts> {
        let mut c = Counts::default();
        self.scan_decode(keys::PATIENT_PREFIX, |_, r| c.add(&r))?;
        self.scan_decode(keys::TIMELINE_PREFIX, |_, r| c.add(&r))?;
        Ok(c)
    }

    fn check(&self) -> Result<CheckReport> {
        check(self)
    }

    fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let mut out = Vec::new();
        for kv in self.db.scan_prefix(keys::AUDIT_PREFIX) {
            let (k, v) = kv?;
            let entry = codec::decode_audit(&k, &v).map_err(|e| corrupt(&k, e))?;
            if filter.matches(&entry) {
                out.push(entry);
            }
        }
        Ok(out)
    }

    fn search(&self, query: &crate::search::Query, limit: usize) -> Result<crate::search::Results> {
        index::search(&self.db, query, limit, |id| self.record(id))
    }

    fn suspend_index(&self) -> Result<()> {
        let _guard = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        index::clear(&self.db)
    }

    fn reindex(&self) -> Result<u64> {
        let _guard = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let stats = index::rebuild(&self.db)?;
        self.flush()?;
        Ok(stats.live)
    }

    fn verify_audit(&self) -> Result<AuditVerdict> {
        let mut chain = ChainCheck::new();
        for kv in self.db.scan_prefix(keys::AUDIT_PREFIX) {
            let (k, v) = kv?;
            match keys::parse_key(&k) {
                Some(KeyParts::Audit { seq }) => {
                    chain.push(seq, codec::decode_audit(&k, &v).map_err(|e| e.to_string()))
                }
                _ => chain.fail(AuditProblem::UnknownKey(printable_key(&k))),
            }
        }
        Ok(chain.finish(self.audit_head()?))
    }
}

/// `fsync` every file below `dir`, then the directories, so renames and new files survive a
/// power cut too.
///
/// sled's background thread removes and renames its own files (snapshots, blobs) at any time, so
/// an entry that vanishes between listing and opening is skipped: the directory's own `fsync`
/// at the end makes its removal durable.
fn sync_tree(dir: &Path) -> std::io::Result<()> {
    let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let synced = match entry.file_type() {
            Ok(ft) if ft.is_dir() => sync_tree(&path),
            Ok(ft) if ft.is_file() => File::open(&path).and_then(|f| f.sync_all()),
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        };
        match synced {
            Err(e) if !gone(&e) => return Err(e),
            _ => {}
        }
    }
    File::open(dir)?.sync_all()
}

/// Reads every entry, decodes every record, and checks that keys, the id index and references
/// agree. Problems are collected, not fatal, so one run pinpoints all damage.
fn check(store: &SledStore) -> Result<CheckReport> {
    let mut report = CheckReport::default();
    let mut ids: HashMap<String, (Vec<u8>, RecordKind)> = HashMap::new();
    let mut patients: HashSet<String> = HashSet::new();
    let mut index: Vec<(String, Vec<u8>)> = Vec::new();
    // Only what the reference pass needs, not whole records: a 100,000-note store must check
    // within a small memory budget.
    let mut references: Vec<Reference> = Vec::new();
    for kv in store.db.iter() {
        let (k, v) = match kv {
            Ok(kv) => kv,
            Err(e) => {
                report
                    .problems
                    .push(format!("reading the database failed: {e}"));
                break;
            }
        };
        let parts = keys::parse_key(&k);
        match parts {
            // The audit log is walked on its own below, the search index by `index::verify`.
            Some(
                KeyParts::Schema | KeyParts::Audit { .. } | KeyParts::AuditHead | KeyParts::Search,
            ) => continue,
            Some(KeyParts::Index { id }) => {
                index.push((id, v.to_vec()));
                continue;
            }
            None => {
                report
                    .problems
                    .push(format!("unknown key {}", printable_key(&k)));
                continue;
            }
            _ => {}
        }
        let record = match codec::decode(&k, &v) {
            Ok(r) => r,
            Err(e) => {
                report.problems.push(format!("{}: {e}", printable_key(&k)));
                // Still known by its key, so the index and references are not reported as broken
                // on top of the one damaged value.
                match parts {
                    Some(KeyParts::Patient { id }) => {
                        patients.insert(id.clone());
                        ids.insert(id, (k.to_vec(), RecordKind::Patient));
                    }
                    Some(KeyParts::Timeline { id, kind, .. }) => {
                        ids.insert(id, (k.to_vec(), kind));
                    }
                    _ => {}
                }
                continue;
            }
        };
        if let Err(e) = record.validate() {
            report.problems.push(format!("{}: {e}", printable_key(&k)));
        }
        let key_matches = match (&parts, &record) {
            (Some(KeyParts::Patient { id }), Record::Patient(p)) => *id == p.id.as_str(),
            (
                Some(KeyParts::Timeline {
                    patient,
                    at,
                    kind,
                    id,
                }),
                r,
            ) => {
                patient == r.patient().as_str()
                    && Some(*at) == r.at()
                    && *kind == r.kind()
                    && id == r.id()
            }
            _ => false,
        };
        if !key_matches {
            report.problems.push(format!(
                "{}: the key does not match the record it holds",
                printable_key(&k)
            ));
        }
        if let Record::Patient(p) = &record {
            patients.insert(p.id.as_str().to_owned());
        }
        report.counts.add(&record);
        if ids
            .insert(record.id().to_owned(), (k.to_vec(), record.kind()))
            .is_some()
        {
            report.problems.push(format!(
                "id {} is used by more than one record",
                record.id()
            ));
        }
        references.extend(references_of(&record));
    }
    let mut indexed: HashSet<&str> = HashSet::new();
    for (id, target) in &index {
        indexed.insert(id);
        match ids.get(id) {
            Some((key, _)) if key == target => {}
            Some(_) => report
                .problems
                .push(format!("index entry {id} points to the wrong record")),
            None => report.problems.push(format!(
                "index entry {id} points to a record that is missing"
            )),
        }
    }
    for id in ids.keys() {
        if !indexed.contains(id.as_str()) {
            report
                .problems
                .push(format!("record {id} is missing from the id index"));
        }
    }
    for r in &references {
        let found = match r.kind {
            // The owning patient must be a patient record.
            RecordKind::Patient => patients.contains(&r.target),
            kind => ids.get(&r.target).is_some_and(|(_, k)| *k == kind),
        };
        if !found {
            report.problems.push(format!(
                "{} {}: {} points to {} {}, which is missing",
                r.from_kind.as_str(),
                r.from_id,
                r.field,
                r.kind.as_str(),
                r.target
            ));
        }
    }
    report.problems.extend(index::verify(&store.db)?);
    // One pass of SHA-256 over the log: cheap next to decoding every record.
    report.audit = store.verify_audit()?;
    if let Some(p) = &report.audit.problem {
        report.problems.push(p.to_string());
    }
    Ok(report)
}

/// One link from a record to another, for the reference check.
struct Reference {
    from_kind: RecordKind,
    from_id: String,
    field: String,
    kind: RecordKind,
    target: String,
}

fn references_of(r: &Record) -> Vec<Reference> {
    let mut out = Vec::new();
    let mut link = |field: String, kind: RecordKind, target: &str| {
        out.push(Reference {
            from_kind: r.kind(),
            from_id: r.id().to_owned(),
            field,
            kind,
            target: target.to_owned(),
        })
    };
    if !matches!(r, Record::Patient(_)) {
        link("patient".into(), RecordKind::Patient, r.patient().as_str());
    }
    r.as_ref()
        .for_each_reference(|field, target, kind| link(field(), kind, target.as_str()));
    out
}

/// Exposed for tests that need to damage a store on purpose.
#[doc(hidden)]
pub fn raw_db(store: &SledStore) -> &sled::Db {
    &store.db
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
