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

/// The schema version this kitnotes writes. Bump it with a migration in [`MIGRATIONS`].
/// 2: the search index (`store::index`).
pub const SCHEMA_VERSION: u32 = 2;

/// A migration moves a store from schema `n` to `n + 1`, in place, atomically.
pub type Migration = fn(Vault<'_>) -> Result<()>;

/// `MIGRATIONS[i]` migrates schema `i + 1` to `i + 2`.
pub const MIGRATIONS: &[Migration] = &[add_search_index];

/// Schema 1 to 2: build the search index from the records. A kitnotes without search would
/// leave it out of date, so it must not open the store afterwards (it refuses schema 2).
fn add_search_index(tree: Vault<'_>) -> Result<()> {
    index::rebuild(tree).map(drop)
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

fn damaged(dir: &Path, e: sled::Error) -> StoreError {
    match e {
        sled::Error::Io(io) => StoreError::Open {
            path: dir.to_owned(),
            io,
        },
        other => {
            let mut detail = describe_sled(&other);
            // sled reads its snapshot first and then the log at the offsets the snapshot
            // names: damage it reports "in db/db" may be a snapshot that does not belong.
            if let sled::Error::Corruption {
                at: Some(sled::DiskPtr::Inline(_)),
                ..
            } = other
                && let Some(snap) = snapshot_in(&dir.join("db"))
            {
                detail.push_str(&format!(
                    ", or in its snapshot file db/{snap}, which does not match db/db"
                ));
            }
            StoreError::Damaged {
                path: dir.to_owned(),
                detail,
            }
        }
    }
}

/// The name of a snapshot file sled keeps beside its log, if there is one.
fn snapshot_in(db: &Path) -> Option<String> {
    std::fs::read_dir(db)
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("snap."))
}

/// sled's error in words: where the damage is, for corruption.
pub fn describe_sled(e: &sled::Error) -> String {
    match e {
        sled::Error::Corruption { at: Some(at), .. } => {
            let place = match at {
                sled::DiskPtr::Inline(offset) => format!("at byte {offset} of its file db/db"),
                sled::DiskPtr::Blob(_, blob) => format!("in its file db/blobs/{blob}"),
            };
            format!("the database is damaged: corrupted data {place}")
        }
        sled::Error::Corruption { at: None, .. } => {
            "the database is damaged: sled found corrupted data".to_owned()
        }
        sled::Error::Io(io) => format!(
            "the database could not be read or written: {}",
            super::explain_io(io)
        ),
        sled::Error::ReportableBug(what) if what.starts_with(RECOVERY_STOPPED) => {
            format!("the database is damaged: {what}")
        }
        // sled's own words (its internal state, a debug form) mean nothing to a clinician.
        sled::Error::ReportableBug(_) => {
            "the database is damaged: sled could not make sense of its files".to_owned()
        }
        sled::Error::Unsupported(_) => {
            "the database uses a feature this kitnotes' storage engine does not support".to_owned()
        }
        sled::Error::CollectionNotFound(_) => {
            "the database is damaged: a part of it is missing".to_owned()
        }
    }
}

/// What a caught panic or an open that never ended inside sled's recovery becomes.
const RECOVERY_STOPPED: &str = "its recovery stopped on damaged files";

/// How long opening sled's files may take before the store is refused as damaged: damaged
/// files can send sled's recovery into a loop. Far above a healthy open of the largest store
/// measured (docs/PERFORMANCE.md).
pub const OPEN_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

/// [`describe_sled`] with what to do, for a message on its own.
pub fn explain_sled(e: &sled::Error) -> String {
    match e {
        sled::Error::Corruption { .. } => format!(
            "{}. `kitnotes check` names the records it affects; `kitnotes restore` brings back \
             a backup (docs/BACKUP.md)",
            describe_sled(e)
        ),
        _ => describe_sled(e),
    }
}

/// How to get a damaged store's records back, for messages.
pub fn restore_advice(dir: &Path) -> String {
    format!(
        "move it aside (`mv {d} {d}.damaged`) and run `kitnotes restore <your latest backup>`, \
         which rebuilds it from the backup (docs/BACKUP.md)",
        d = dir.display()
    )
}

/// A recovered copy of a store's database, open; its files go when it is dropped (the
/// database first: fields drop in the order declared).
struct Trial {
    db: sled::Db,
    _copy: tally::Scratch,
}

/// Where an opened store reads from until it is verified.
enum Opened {
    /// The store's own files: they were exactly as the last clean close left them.
    InPlace(sled::Db),
    /// A recovered copy: the store's own files are opened only once it is verified.
    Copy(Trial),
}

/// Opens sled's database in `dir/db` after making sure that sled's recovery cannot cut saves
/// the tally says were made durable (see `store::tally`), and that the database is this
/// store's. Returns the database, the last save it holds and the tally's stamp. Writes nothing:
/// the tally is marked open only once the store is verified ([`SledStore::finish_open`]).
fn open_checked(dir: &Path, inspecting: bool) -> Result<(Opened, u64, Option<tally::Stamp>)> {
    let db_dir = dir.join("db");
    let counted = tally::read(dir).map_err(|e| StoreError::TallyDamaged {
        path: dir.to_owned(),
        tally: e.path,
        detail: e.detail,
    })?;
    if let Some(t) = &counted {
        if t.saves > 0 && !db_dir.exists() {
            return Err(StoreError::LostSaves {
                path: dir.to_owned(),
                found: 0,
                expected: t.saves,
            });
        }
        let closed_cleanly = t.closed.is_some() && t.closed == tally::stamps(&db_dir).ok();
        if !closed_cleanly {
            // A crash, or sled's files changed since the last clean close: recover a copy first.
            if let Some(trial) = trial_recovery(dir)? {
                let found = belongs_here(dir, &trial.db, Some(t))?;
                return Ok((Opened::Copy(trial), found, counted.and_then(|t| t.stamp)));
            }
        }
    } else if db_dir.exists()
        && !inspecting
        && let Some(trial) = trial_recovery(dir)?
    {
        // No tally: a database kitnotes stamped had one. Read on a copy whether it is one.
        if let Ok(Some(s)) = tally::stamp_in(&trial.db) {
            return Err(StoreError::TallyMissing {
                path: dir.to_owned(),
                store: s.store,
            });
        }
        let found = belongs_here(dir, &trial.db, None)?;
        return Ok((Opened::Copy(trial), found, None));
    }
    let db = open_sled(&db_dir).map_err(|e| damaged(dir, e))?;
    let found = belongs_here(dir, &db, counted.as_ref())?;
    Ok((Opened::InPlace(db), found, counted.and_then(|t| t.stamp)))
}

/// Refuses a database that lost saves the tally counted, or that is another store's (its id
/// is not the tally's); returns the last save it holds.
fn belongs_here(dir: &Path, db: &sled::Db, counted: Option<&tally::Tally>) -> Result<u64> {
    let found = tally::saves_in(db).map_err(|e| damaged(dir, e))?;
    let expected = counted.map_or(0, |t| t.saves);
    let stamped = counted.and_then(|t| t.stamp.as_ref());
    if let Some(want) = stamped {
        let inside = tally::stamp_in(db).map_err(|detail| StoreError::Damaged {
            path: dir.to_owned(),
            detail,
        })?;
        match inside {
            Some(s) if s.store == want.store => {}
            other => {
                return Err(StoreError::ForeignDatabase {
                    path: dir.to_owned(),
                    found: other.map_or_else(
                        || "none: a database from before kitnotes stamped its saves".into(),
                        |s| s.store,
                    ),
                    expected: want.store.clone(),
                });
            }
        }
    }
    if found < expected {
        return Err(StoreError::LostSaves {
            path: dir.to_owned(),
            found,
            expected,
        });
    }
    Ok(found)
}

/// A copy of a store that was refused (lost saves, a damaged tally), opened to see what it
/// still holds; the copy is deleted when this is dropped, and the store itself is never opened.
pub struct InspectedCopy {
    // Declared first, so it is closed before its files are removed.
    store: SledStore,
    _copy: tally::Scratch,
}

impl InspectedCopy {
    /// Copies the database of the store in `dir` beside it (or, if there is no room there, into
    /// the system's temporary directory) and opens the copy. An encrypted copy is locked.
    pub fn open(dir: &Path) -> Result<Self> {
        let beside = PathBuf::from(format!("{}.inspecting", dir.display()));
        let elsewhere =
            std::env::temp_dir().join(format!("kitnotes-inspecting-{}", std::process::id()));
        let copy = tally::Scratch::copy_db(dir, beside)
            .or_else(|_| tally::Scratch::copy_db(dir, elsewhere))
            .map_err(|io| StoreError::Open {
                path: dir.to_owned(),
                io,
            })?;
        let store = SledStore::open_inner(copy.root(), MIGRATIONS, None, true)?;
        // The copy has no tally: what the store's own counted is what its log must reach.
        if let Ok(Some(t)) = tally::read(dir) {
            *lock_or_poisoned(&store.expected) = t.stamp;
        }
        Ok(Self { store, _copy: copy })
    }

    pub fn store(&self) -> &SledStore {
        &self.store
    }
}

/// Runs sled's recovery on a copy of the store's files and refuses the store if the copy lost
/// saves: the store's own files are then left exactly as they were. If no copy can be made (no
/// room), the store is opened in place and checked after.
fn trial_recovery(dir: &Path) -> Result<Option<Trial>> {
    let Ok(copy) = tally::Scratch::copy_db(dir, dir.join("db.recovering")) else {
        return Ok(None);
    };
    let db = open_sled(&copy.db()).map_err(|e| damaged(dir, e))?;
    Ok(Some(Trial { db, _copy: copy }))
}

thread_local! {
    /// While sled opens a database on this thread: the message of a panic inside it.
    static SLED_PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Runs `open`, turning a panic inside sled into an error. sled 0.34's recovery indexes past
/// the end of a table when its files are damaged in some ways (an emptied `db` file with a
/// snapshot left); a damaged file must get a message, not a crash. The panic hook stays
/// quiet only for this thread while it opens; every other panic is reported as before.
fn without_panics(open: impl FnOnce() -> sled::Result<sled::Db>) -> sled::Result<sled::Db> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let caught = SLED_PANIC.with(|p| match p.borrow_mut().as_mut() {
                Some(message) => {
                    let payload = info.payload();
                    *message = payload
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic".to_owned());
                    true
                }
                None => false,
            });
            if !caught {
                previous(info);
            }
        }));
    });
    SLED_PANIC.with(|p| *p.borrow_mut() = Some(String::new()));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(open));
    let message = SLED_PANIC
        .with(|p| p.borrow_mut().take())
        .unwrap_or_default();
    // The panic's own message is sled's internals ("index out of bounds..."): not shown.
    drop(message);
    result.unwrap_or_else(|_| Err(sled::Error::ReportableBug(RECOVERY_STOPPED.to_owned())))
}

/// One try at opening sled's database, on a thread of its own, given up after
/// [`OPEN_LIMIT`] (the thread is left to finish or not; nothing waits for it).
fn within_limit(path: &Path) -> sled::Result<sled::Db> {
    let open = |path: &Path| {
        without_panics(|| {
            sled::Config::new()
                .path(path)
                .cache_capacity(CACHE_BYTES)
                .flush_every_ms(Some(500))
                .open()
        })
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let owned = path.to_owned();
    let spawned = std::thread::Builder::new()
        .name("kitnotes-open".into())
        .spawn(move || {
            let _ = tx.send(open(&owned));
        });
    if spawned.is_err() {
        return open(path);
    }
    rx.recv_timeout(OPEN_LIMIT).unwrap_or_else(|_| {
        Err(sled::Error::ReportableBug(format!(
            "{RECOVERY_STOPPED}: it did not finish within {} s",
            OPEN_LIMIT.as_secs()
        )))
    })
}

/// Opens sled's database, waiting up to 5 s for a just-dropped handle in this process to
/// release sled's own file lock, and giving up after [`OPEN_LIMIT`].
pub(crate) fn open_sled(path: &Path) -> sled::Result<sled::Db> {
    let started = std::time::Instant::now();
    loop {
        match within_limit(path) {
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
    /// Whether `dir` holds a store: its database, or a tally that counted one (whose database
    /// is gone: opening it says what was lost, rather than starting afresh).
    pub fn is_in(dir: &Path) -> bool {
        dir.join("db").exists() || dir.join(tally::FILE).exists()
    }

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
        Self::open_inner(dir, migrations, None, false)
    }

    /// Creates a new encrypted store in `dir` (which must hold no store yet), its data key
    /// wrapped for `passphrase` with Argon2id at `params`.
    ///
    /// The store is made whole beside `dir` (`<dir>.creating`) and renamed into place, so a
    /// crash half-way never leaves an empty store that the next start would take for a plain one.
    pub fn create_encrypted(dir: &Path, passphrase: &[u8], params: KdfParams) -> Result<Self> {
        let io = |io| StoreError::Open {
            path: dir.to_owned(),
            io,
        };
        if dir.join("db").exists() {
            return Err(StoreError::Exists(dir.to_owned()));
        }
        let mut name = dir.as_os_str().to_owned();
        name.push(".creating");
        let building = PathBuf::from(name);
        if building.exists() {
            std::fs::remove_dir_all(&building).map_err(io)?;
        }
        let store = Self::open_inner(&building, MIGRATIONS, Some((passphrase, params)), false)?;
        store.flush()?;
        drop(store);
        // A directory left by an earlier try holds at most the lock file.
        if dir.exists() {
            let _ = std::fs::remove_file(dir.join("kitnotes.lock"));
            let _ = std::fs::remove_dir(dir);
        }
        std::fs::rename(&building, dir).map_err(io)?;
        if let Some(parent) = dir.parent() {
            super::backup::sync_dir(parent).map_err(io)?;
        }
        let store = Self::open(dir)?;
        store.unlock(passphrase)?;
        Ok(store)
    }

    /// `inspecting`: a copy of a refused store, opened to see what it holds: a stamp it does
    /// not match is reported by `check`, not refused.
    fn open_inner(
        dir: &Path,
        migrations: &[Migration],
        create: Option<(&[u8], KdfParams)>,
        inspecting: bool,
    ) -> Result<Self> {
        let io = |io| StoreError::Open {
            path: dir.to_owned(),
            io,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        // The store's directory is this user's alone (sled makes its files with the usual
        // 0644; inside a 0700 directory nobody else reaches them). Best effort: a directory
        // someone else owns keeps its mode, and opening goes on.
        private(dir, true);
        let lock_path = dir.join("kitnotes.lock");
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).read(true).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let lock = options.open(&lock_path).map_err(io)?;
        // A lock held for a moment by a child this process is starting (between fork and exec
        // it holds a copy of every open file) is not another kitnotes: wait a little for it.
        let asked = std::time::Instant::now();
        loop {
            match lock.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock)
                    if asked.elapsed() < std::time::Duration::from_millis(500) =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(StoreError::Locked {
                        path: dir.to_owned(),
                        lock: lock_path,
                    });
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        let (opened, saves, counted) = open_checked(dir, inspecting)?;
        let (db, trial) = match opened {
            Opened::InPlace(db) => (super::backup::DbSlot::new(Some(db)), None),
            Opened::Copy(trial) => (super::backup::DbSlot::new(None), Some(trial)),
        };
        let store = Self {
            dir: dir.to_owned(),
            db,
            trial,
            write_lock: Arc::new(Mutex::new(())),
            _lock: lock,
            rolled_back: AtomicUsize::new(0),
            crypt: RwLock::new(None),
            header: RwLock::new(None),
            pending: Mutex::new(None),
            search_cache: Mutex::new(index::SearchCache::default()),
            writes: AtomicU64::new(0),
            saves: Mutex::new(saves),
            bindings: Mutex::new(None),
            counted,
            stamp: Mutex::new(None),
            verified: std::sync::atomic::AtomicBool::new(false),
            expected: Mutex::new(None),
            refused: std::sync::atomic::AtomicBool::new(false),
            inspecting,
            broken: std::sync::atomic::AtomicBool::new(false),
            mend_tried: Mutex::new(None),
        };
        if let Some((passphrase, params)) = create {
            if !store.db()?.is_empty() {
                return Err(StoreError::Exists(dir.to_owned()));
            }
            let (header, keys) = Header::create(passphrase, params).map_err(|e| store.bad(e))?;
            store.db()?.insert(crypt::HEADER_KEY, header.encode())?;
            *write(&store.header) = Some(header);
            *write(&store.crypt) = Some(Crypt::Sealed(Arc::new(keys)));
        } else if let Some(h) = store.db()?.get(crypt::HEADER_KEY)? {
            // Encrypted: the rest waits for the passphrase (`unlock`), but a store from a newer
            // kitnotes is refused now.
            *write(&store.header) = Some(Header::decode(&h).map_err(|e| store.bad(e))?);
            store.peek_schema(migrations)?;
            *lock_or_poisoned(&store.pending) = Some(migrations.to_vec());
            return Ok(store);
        } else {
            *write(&store.crypt) = Some(Crypt::Plain);
        }
        store.finish_open(migrations)?;
        Ok(store)
    }

    /// What opening does once the keys are known: migrations, rolling back an interrupted
    /// change, and building a missing search index.
    fn finish_open(&self, migrations: &[Migration]) -> Result<()> {
        let c = self.crypt()?;
        // Refusals first: nothing has been written yet.
        match self.verify_counter(&c) {
            Err(_) if self.inspecting => {
                // `check` reports it; the copy is read as it is.
                *lock_or_poisoned(&self.stamp) = tally::stamp_in(&self.db()?).ok().flatten();
            }
            Err(e) => {
                self.refused.store(true, Ordering::Release);
                return Err(e);
            }
            Ok(()) => {}
        }
        // A store from a newer kitnotes is refused before anything is written, too.
        self.peek_schema(migrations)?;
        if !self.db.is_set() {
            // Verified on the recovered copy: now the store's own files are opened (sled's
            // recovery there finds what it found on the copy).
            let db = open_sled(&self.dir.join("db")).map_err(|e| damaged(&self.dir, e))?;
            let found = tally::saves_in(&db).map_err(|e| damaged(&self.dir, e))?;
            *lock_or_poisoned(&self.saves) = found;
            self.db.set(db);
        }
        self.verified.store(true, Ordering::Release);
        // sled's own files and folder, made with the usual modes: this user's only.
        private_tree(&self.dir.join("db"));
        // Open now: until the next clean close, the next open recovers a copy first. A store
        // from before stamps gets its id and first stamp by a save.
        let stamp = lock_or_poisoned(&self.stamp).clone();
        match stamp {
            None => self.flush()?,
            Some(stamp) => {
                let open = tally::Tally {
                    saves: *lock_or_poisoned(&self.saves),
                    closed: None,
                    stamp: Some(stamp),
                };
                tally::write(&self.dir, &open).map_err(|io| StoreError::Open {
                    path: self.dir.clone(),
                    io,
                })?;
            }
        }
        self.check_schema(&c, migrations)?;
        self.rolled_back
            .store(self.roll_back_interrupted()?, Ordering::Relaxed);
        // A new store, an index build that was interrupted (the stats are written last), or an
        // index of an older format. A store kept at schema 1 (tests' own migrations) has none.
        let db = self.db()?;
        let vault = Self::vault(&db, &c);
        if self.schema_version()? >= Some(2)
            && index::stats(vault)?.is_none_or(|s| s.version != index::INDEX_VERSION)
        {
            index::rebuild(vault)?;
            self.flush()?;
        }
        Ok(())
    }

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

    /// The schema version on disk.
    pub fn schema_version(&self) -> Result<Option<u32>> {
        Ok(self
            .db()?
            .get(keys::SCHEMA_KEY)?
            .and_then(|v| <[u8; 4]>::try_from(v.as_ref()).ok())
            .map(u32::from_be_bytes))
    }

    /// Refuses a store from a newer kitnotes without changing anything.
    fn peek_schema(&self, migrations: &[Migration]) -> Result<()> {
        let supported = migrations.len() as u32 + 1;
        match self.schema_version()? {
            Some(found) if found > supported => Err(StoreError::NewerSchema {
                path: self.dir.clone(),
                found,
                supported,
            }),
            _ => Ok(()),
        }
    }

    fn check_schema(&self, c: &Crypt, migrations: &[Migration]) -> Result<()> {
        let supported = migrations.len() as u32 + 1;
        let found = match self.db()?.get(keys::SCHEMA_KEY)? {
            None if self.db()?.iter().keys().all(|k| {
                k.is_ok_and(|k| [crypt::HEADER_KEY, tally::KEY, tally::STAMP_KEY].contains(&&*k))
            }) =>
            {
                self.db()?
                    .insert(keys::SCHEMA_KEY, &supported.to_be_bytes())?;
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
            migrate(Self::vault(&self.db()?, c))?;
            self.db()?
                .insert(keys::SCHEMA_KEY, &(from as u32 + 2).to_be_bytes())?;
            self.flush()?;
        }
        Ok(())
    }

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
        None => format!("{:?}", String::from_utf8_lossy(key)),
    }
}

/// What one `apply` has seen so far, by id: the key each id now has and, for records written in
/// this call, the record itself (borrowed from the changes, never copied); `None` once deleted.
type Overlay<'a> = HashMap<&'a str, Option<(Vec<u8>, Option<&'a Record>)>>;

/// The kind of record a primary key holds, read from the key alone.
fn kind_of_key(c: &Crypt, key: &[u8]) -> Option<RecordKind> {
    match keys::parse_key(c, key)? {
        KeyParts::Patient { .. } => Some(RecordKind::Patient),
        KeyParts::Timeline { kind, .. } => Some(kind),
        _ => None,
    }
}

impl SledStore {
    /// The key and kind currently holding `id`, seen through this call's earlier changes.
    fn current_key(
        &self,
        c: &Crypt,
        overlay: &Overlay<'_>,
        id: &str,
    ) -> Result<Option<(Vec<u8>, RecordKind)>> {
        let key = match overlay.get(id) {
            Some(None) => return Ok(None),
            Some(Some((key, _))) => key.clone(),
            None => match self.key_of(c, id)? {
                Some(k) => k,
                None => return Ok(None),
            },
        };
        let kind = kind_of_key(c, &key).ok_or_else(|| StoreError::Corrupt {
            key: printable_key(&keys::index_key(c, id)),
            detail: "the index points to a key that holds no record".into(),
        })?;
        Ok(Some((key, kind)))
    }

    /// The record currently stored (or written earlier in this call) under `key`.
    fn current_record(
        &self,
        c: &Crypt,
        overlay: &Overlay<'_>,
        id: &str,
        key: &[u8],
    ) -> Result<Record> {
        if let Some(Some((_, Some(r)))) = overlay.get(id) {
            return Ok((*r).clone());
        }
        self.get_record_as_stored(c, key)?
            .ok_or_else(|| StoreError::Corrupt {
                key: printable_key(&keys::index_key(c, id)),
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
    /// The write's audit entry with this index, chained once every record is sealed.
    Audit(usize),
    /// The audit log's head after the write's entries.
    AuditHead,
}

/// A record's versions for the search index: as stored before this write (read only for kinds
/// with text), and after it (`None`: deleted).
type IndexChange<'a> = (&'a str, Option<Record>, Option<&'a Record>);

/// Changes larger than this are written in chunks, each with its undo entry in the same atomic
/// batch. sled 0.34 handles one batch of hundreds of thousands of entries badly (4 GB of memory
/// for a 100,000-note import); chunks keep it near the demo build's 80 MB.
pub const CHUNK_OPS: usize = 4_096;

/// Audit entries planned at a time when a change is added in parts (one per patient for an
/// import): their keys and values stay in memory only a group at a time.
const AUDIT_GROUP: usize = 2_048;

impl SledStore {
    /// Validates every change against the store and the changes before it, and plans the key
    /// writes. Nothing is written here, so a refusal leaves the store untouched. With `describe`,
    /// also says what each change does to its record, for the audit log.
    fn plan<'a>(
        &self,
        c: &Crypt,
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
                    let existing = self.current_key(c, &overlay, id)?;
                    let mut stored: Option<Record> = None;
                    let mut unchanged = false;
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
                        if describe
                            || has_text(record.kind())
                            || record.kind() == RecordKind::ListEntry
                        {
                            let old = self.current_record(c, &overlay, id, old_key)?;
                            match (&old, record) {
                                (Record::Note(old), Record::Note(new)) => old.may_become(new)?,
                                (Record::Session(old), Record::Session(new)) => {
                                    old.may_become(new)?
                                }
                                // A list entry only gains stops and corrections, each keeping
                                // the values it replaced: nothing on a list is erased.
                                (Record::ListEntry(old), Record::ListEntry(new)) => {
                                    old.may_become(new).map_err(|e| StoreError::Invalid {
                                        id: id.to_owned(),
                                        detail: e.to_string(),
                                    })?
                                }
                                _ => {}
                            }
                            if describe {
                                described.extend(audit::describe(Some(&old), record));
                                unchanged = old == *record;
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
                        match self.current_key(c, &overlay, patient)? {
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
                    let key = Self::primary_key(c, record);
                    if unchanged && existing.as_ref().is_some_and(|(k, _)| *k == key) {
                        // Written unchanged: nothing to log, so nothing is rewritten either (a
                        // new seal would no longer match the digest its last entry names).
                        overlay.insert(id, Some((key, Some(record))));
                        continue;
                    }
                    let new_id = existing.is_none() && !overlay.contains_key(id);
                    if let Some((old_key, _)) = &existing
                        && *old_key != key
                    {
                        push(&mut ops, old_key.clone(), OpValue::Remove, false);
                    }
                    // A new id's keys cannot exist yet (the index would have named them).
                    push(&mut ops, key.clone(), OpValue::Record(record), new_id);
                    let index_key = keys::index_key(c, id);
                    let reference = codec::encode_ref(c, &index_key, &key);
                    push(&mut ops, index_key, OpValue::Raw(reference), new_id);
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
                    let Some((key, kind)) = self.current_key(c, &overlay, id)? else {
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
                        let old = self.current_record(c, &overlay, id, &key)?;
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
                    push(&mut ops, keys::index_key(c, id), OpValue::Remove, false);
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
    fn write<'a>(&self, b: &mut Binder<'a>, ops: &[KeyOp<'a>]) -> Result<()> {
        if ops.len() <= CHUNK_OPS {
            let mut batch = sled::Batch::default();
            ops.iter().for_each(|op| b.encode(op, &mut batch));
            self.db()?.apply_batch(batch)?;
            return Ok(());
        }
        self.write_chunked(|w| self.write_chunks(b, ops, w))
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
            self.db()?.apply_batch(commit)?;
            Ok(())
        });
        if result.is_err() {
            // Best effort now; if this fails too, the next open finishes the roll-back.
            let _ = self.roll_back_interrupted();
        }
        result
    }

    /// Writes `ops` in chunks, each with how to undo it, numbered on from earlier chunks.
    fn write_chunks<'a>(
        &self,
        b: &mut Binder<'a>,
        ops: &[KeyOp<'a>],
        chunks: &mut Chunks,
    ) -> Result<()> {
        for chunk in ops.chunks(CHUNK_OPS) {
            let mut undo = Vec::with_capacity(chunk.len());
            let mut batch = sled::Batch::default();
            for op in chunk {
                let old = if op.fresh {
                    None
                } else {
                    self.db()?.get(&op.key)?.map(|v| v.to_vec())
                };
                undo.push((op.key.clone(), old));
                b.encode(op, &mut batch);
            }
            let undo_key = undo_key(chunks.undo_keys.len() as u64);
            batch.insert(undo_key.as_slice(), encode_undo(&undo));
            self.db()?.apply_batch(batch)?;
            chunks.undo_keys.push(undo_key);
        }
        Ok(())
    }

    /// Undoes the chunks of a large change that never committed, newest first, each chunk's
    /// undo and the removal of its entry in one batch. Returns how many chunks were undone.
    pub fn roll_back_interrupted(&self) -> Result<usize> {
        let mut entries: Vec<(sled::IVec, sled::IVec)> = self
            .db()?
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
            self.db()?.apply_batch(batch)?;
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

/// Seals one write's values and binds its audit entries to them: each record's digest is
/// taken as its value is sealed, and the entries (always the last ops of a write) are numbered
/// and chained with those digests when the first of them is reached.
struct Binder<'a> {
    c: &'a Crypt,
    digests: HashMap<&'a str, ChainHash>,
    audit: Option<PendingAudit<'a>>,
}

/// A write's audit entries before they are chained: each event with the records it binds (by
/// id, and whether the write leaves the record in the store).
struct PendingAudit<'a> {
    events: Vec<(AuditEvent, Vec<(&'a str, bool)>)>,
    /// The head the first entry follows.
    after: AuditHead,
    chained: Vec<AuditEntry>,
}

impl<'a> Binder<'a> {
    fn new(c: &'a Crypt) -> Self {
        Self {
            c,
            digests: HashMap::new(),
            audit: None,
        }
    }

    fn encode(&mut self, op: &KeyOp<'a>, batch: &mut sled::Batch) {
        let key = op.key.as_slice();
        match &op.value {
            OpValue::Remove => batch.remove(key),
            OpValue::Record(r) => {
                let value = codec::encode(self.c, key, r);
                self.digests
                    .insert(r.id(), audit::value_digest(key, &value));
                batch.insert(key, value)
            }
            OpValue::Raw(v) => batch.insert(key, v.as_slice()),
            OpValue::Audit(i) => {
                let c = self.c;
                if let Some(e) = self.chained().get(*i) {
                    batch.insert(key, codec::encode_audit(c, key, e))
                }
            }
            OpValue::AuditHead => {
                let head = self.head();
                batch.insert(key, codec::encode_audit_head(self.c, key, &head))
            }
        }
    }

    /// The entries, numbered and chained with the digests of every record sealed so far.
    fn chained(&mut self) -> &[AuditEntry] {
        let Some(p) = self.audit.as_mut() else {
            return &[];
        };
        if p.chained.is_empty() && !p.events.is_empty() {
            let (mut seq, mut prev) = (p.after.seq, p.after.hash);
            for (event, bound) in p.events.drain(..) {
                seq += 1;
                let values = bound
                    .into_iter()
                    .map(|(id, kept)| audit::Bound {
                        record: id.to_owned(),
                        digest: if kept {
                            self.digests.get(id).copied()
                        } else {
                            None
                        },
                    })
                    .collect();
                let entry = AuditEntry::chain_bound(event, values, seq, prev);
                prev = entry.hash;
                p.chained.push(entry);
            }
        }
        &p.chained
    }

    /// The head after this write's entries.
    fn head(&mut self) -> AuditHead {
        let after = self.audit.as_ref().map(|p| p.after);
        match self.chained().last() {
            Some(e) => AuditHead {
                seq: e.seq,
                hash: e.hash,
            },
            None => after.unwrap_or(AuditHead {
                seq: 0,
                hash: ChainHash::GENESIS,
            }),
        }
    }

    /// The entries written, once the write is done.
    fn into_entries(mut self) -> Vec<AuditEntry> {
        self.chained();
        self.audit.map(|p| p.chained).unwrap_or_default()
    }
}

/// A record of a part added by [`Store::add_in_parts`], as its audit entry binds it.
struct PartRecord {
    id: String,
    patient: String,
    digest: ChainHash,
}

/// The audit entry of part `n` (from 1) of a change added in parts, with `records` records.
fn part_event(part: &AuditEvent, n: usize, records: usize) -> AuditEvent {
    let mut event = part.clone();
    event.patient = None;
    event.record = None;
    event.detail = match part.detail.as_str() {
        "" => format!("part {n}: {records} records"),
        detail => format!("part {n}: {records} records {detail}"),
    };
    event
}

impl SledStore {
    /// Writes part `n`'s own audit entry, binding its records, in the chunked write under way.
    fn bind_part(
        &self,
        c: &Crypt,
        chunks: &mut Chunks,
        part: &AuditEvent,
        n: usize,
        records: &[PartRecord],
    ) -> Result<u64> {
        let event = part_event(part, n, records.len());
        self.write_bound(c, chunks, vec![(event, records.iter().collect())])
    }

    /// Writes `events` after the head, each binding the records paired with it (to the digests
    /// taken when they were sealed), in the chunked write under way. Returns how many.
    fn write_bound(
        &self,
        c: &Crypt,
        chunks: &mut Chunks,
        events: Vec<(AuditEvent, Vec<&PartRecord>)>,
    ) -> Result<u64> {
        let mut binder = Binder::new(c);
        let events = events
            .into_iter()
            .map(|(event, records)| {
                let ids = records
                    .into_iter()
                    .map(|r| {
                        binder.digests.insert(r.id.as_str(), r.digest);
                        (r.id.as_str(), true)
                    })
                    .collect();
                (event, ids)
            })
            .collect();
        let mut ops = Vec::new();
        self.plan_audit(c, events, &mut ops, &mut binder)?;
        self.write_chunks(&mut binder, &ops, chunks)?;
        Ok(binder.into_entries().len() as u64)
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
    fn audit_head(&self, c: &Crypt) -> Result<HeadState> {
        Ok(match self.db()?.get(keys::AUDIT_HEAD_KEY)? {
            None => HeadState::Absent,
            Some(v) => match codec::decode_audit_head(c, keys::AUDIT_HEAD_KEY, &v) {
                Ok(h) => HeadState::Present(h),
                Err(e) => HeadState::Damaged(e.to_string()),
            },
        })
    }

    /// Plans the keys of `events` after the current head and the new head; each event binds
    /// the records paired with it. They are numbered and chained as they are sealed ([`Binder`]).
    fn plan_audit<'a>(
        &self,
        c: &Crypt,
        events: Vec<(AuditEvent, Vec<(&'a str, bool)>)>,
        ops: &mut Vec<KeyOp<'a>>,
        binder: &mut Binder<'a>,
    ) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        // Appending follows the head, not the last entry found: entries cut from the end must
        // leave a gap that verify reports, not be silently written over.
        let after = match self.audit_head(c)? {
            HeadState::Absent => {
                if self.db()?.scan_prefix(keys::AUDIT_PREFIX).next().is_some() {
                    return Err(StoreError::AuditLog(
                        "the log has entries but its head is missing".into(),
                    ));
                }
                AuditHead {
                    seq: 0,
                    hash: ChainHash::GENESIS,
                }
            }
            HeadState::Present(h) => h,
            HeadState::Damaged(detail) => {
                return Err(StoreError::AuditLog(format!(
                    "its head cannot be read: {detail}"
                )));
            }
        };
        for i in 0..events.len() {
            ops.push(KeyOp {
                key: keys::audit_key(after.seq + 1 + i as u64),
                value: OpValue::Audit(i),
                fresh: true,
            });
        }
        ops.push(KeyOp {
            key: keys::AUDIT_HEAD_KEY.to_vec(),
            value: OpValue::AuditHead,
            fresh: false,
        });
        binder.audit = Some(PendingAudit {
            events,
            after,
            chained: Vec::new(),
        });
        Ok(())
    }
}

/// Which entry binds which changed record: the last entry about that record, else the last
/// about its patient (an import's entries are one per patient), else the write's last entry.
fn bind_events<'a>(
    events: Vec<AuditEvent>,
    changed: &[IndexChange<'a>],
) -> Vec<(AuditEvent, Vec<(&'a str, bool)>)> {
    let Some(last) = events.len().checked_sub(1) else {
        return Vec::new();
    };
    let mut by_record: HashMap<String, usize> = HashMap::new();
    let mut by_patient: HashMap<String, usize> = HashMap::new();
    for (i, e) in events.iter().enumerate() {
        match (&e.record, &e.patient) {
            (Some(r), _) => by_record.insert(r.clone(), i),
            (None, Some(p)) => by_patient.insert(p.as_str().to_owned(), i),
            (None, None) => None,
        };
    }
    let mut out: Vec<_> = events.into_iter().map(|e| (e, Vec::new())).collect();
    for (id, old, new) in changed {
        let patient = new
            .map(|r| r.patient().as_str())
            .or_else(|| old.as_ref().map(|r| r.patient().as_str()));
        let i = by_record
            .get(*id)
            .or_else(|| patient.and_then(|p| by_patient.get(p)))
            .copied()
            .unwrap_or(last);
        out[i].1.push((*id, new.is_some()));
    }
    out
}

impl SledStore {
    /// Checks the tally's stamp and the database's own against the store's key and its audit
    /// log: refuses a stamp this store's key did not tag, and a log that no longer reaches the
    /// entry a stamp recorded (entries cut, an older head put back). Writes nothing.
    fn verify_counter(&self, c: &Crypt) -> Result<()> {
        let inside = tally::stamp_in(&self.db()?).map_err(|detail| StoreError::Damaged {
            path: self.dir.clone(),
            detail,
        })?;
        for (stamp, place) in [
            (&self.counted, format!("its tally file {}", tally::FILE)),
            (&inside, "the stamp inside its database".to_owned()),
        ] {
            let Some(s) = stamp else { continue };
            if !s.is_genuine(c) {
                return Err(StoreError::CounterForged {
                    path: self.dir.clone(),
                    place,
                });
            }
            if let Some(problem) = self.audit_against(c, s)? {
                return Err(StoreError::AuditCut {
                    path: self.dir.clone(),
                    problem,
                });
            }
        }
        *lock_or_poisoned(&self.stamp) = inside.or_else(|| self.counted.clone());
        Ok(())
    }

    /// Whether the log still reaches the entry `stamp` recorded: `None` if it does.
    fn audit_against(&self, c: &Crypt, stamp: &tally::Stamp) -> Result<Option<AuditProblem>> {
        if stamp.entries == 0 {
            return Ok(None);
        }
        let last = match self.audit_head(c)? {
            HeadState::Present(h) => h.seq,
            _ => 0,
        };
        if last < stamp.entries {
            return Ok(Some(AuditProblem::CounterAhead {
                counted: stamp.entries,
                last,
            }));
        }
        let key = keys::audit_key(stamp.entries);
        let same = match self.db()?.get(&key)? {
            Some(v) => codec::decode_audit(c, &key, &v).is_ok_and(|e| e.hash == stamp.head),
            None => false,
        };
        Ok((!same).then_some(AuditProblem::CounterMismatch { seq: stamp.entries }))
    }

    /// The stamp of save `saves`: the store's id (made now if it has none), and the log's
    /// length and head.
    fn new_stamp(&self, c: &Crypt, saves: u64) -> Result<tally::Stamp> {
        let id = match lock_or_poisoned(&self.stamp).as_ref() {
            Some(s) => s.store.clone(),
            None => tally::new_store_id().map_err(|detail| StoreError::Damaged {
                path: self.dir.clone(),
                detail,
            })?,
        };
        let (entries, head) = match self.audit_head(c)? {
            HeadState::Present(h) => (h.seq, h.hash),
            HeadState::Absent => (0, ChainHash::GENESIS),
            HeadState::Damaged(detail) => {
                return Err(StoreError::AuditLog(format!(
                    "its head cannot be read: {detail}"
                )));
            }
        };
        Ok(tally::Stamp::new(c, &id, saves, entries, head))
    }

    /// Walks the audit log's chain, handing each entry that reads to `each`.
    fn walk_audit(&self, c: &Crypt, mut each: impl FnMut(&AuditEntry)) -> Result<AuditVerdict> {
        let mut chain = ChainCheck::new();
        for kv in self.db()?.scan_prefix(keys::AUDIT_PREFIX) {
            let (k, v) = kv?;
            match keys::parse_key(c, &k) {
                Some(KeyParts::Audit { seq }) => {
                    let entry = codec::decode_audit(c, &k, &v).map_err(|e| e.to_string());
                    if let Ok(e) = &entry {
                        each(e);
                    }
                    chain.push(seq, entry)
                }
                _ => chain.fail(AuditProblem::UnknownKey(printable_key(&k))),
            }
        }
        let mut verdict = chain.finish(self.audit_head(c)?);
        // The log must still reach what the last save counted.
        let expected = lock_or_poisoned(&self.expected).clone();
        let stamp = expected.or_else(|| lock_or_poisoned(&self.stamp).clone());
        if verdict.problem.is_none()
            && let Some(s) = stamp
        {
            verdict.problem = if !s.is_genuine(c) {
                Some(AuditProblem::CounterForged)
            } else {
                self.audit_against(c, &s)?
            };
            if verdict.problem.is_some() {
                verdict.head = None;
            }
        }
        Ok(verdict)
    }
}

/// The writes the store's users make, run by the [`Store`] methods of the same name through
/// [`SledStore::guarded`].
impl SledStore {
    /// Runs a write, reopening the database first if an earlier write failed on the disk, and
    /// noting a failure on the disk for the next one.
    fn guarded<T>(&self, write: impl FnOnce() -> Result<T>) -> Result<T> {
        self.mend();
        let done = write();
        if let Err(e) = &done
            && e.is_disk()
        {
            self.broken.store(true, Ordering::Release);
        }
        done
    }

    /// After a write failed on the disk (full, a size limit, an I/O error). sled 0.34 keeps
    /// the first error it meets writing for as long as its database is open: without this,
    /// nothing could be saved again until kitnotes restarted, even with the disk emptied. So
    /// the database is closed and opened again, which reads what the disk holds: everything up
    /// to the last durable save (a save counts only once flushed). The save count, the stamp
    /// and what the audit log says of each record are read again from it; what was typed since
    /// is still on the user's screen and is written by the write that follows. While the disk
    /// still refuses, the database may stay closed ([`StoreError::Reopening`]) until a later
    /// write tries again.
    ///
    /// Skipped while another thread holds the writers' lock (a backup reading), and when the
    /// caller itself holds it (a write that flushes): the next write tries.
    fn mend(&self) {
        if !self.broken.load(Ordering::Acquire) || !self.verified.load(Ordering::Acquire) {
            return;
        }
        {
            let mut tried = lock_or_poisoned(&self.mend_tried);
            if tried.is_some_and(|t| t.elapsed() < MEND_EVERY) {
                return;
            }
            *tried = Some(std::time::Instant::now());
        }
        let Ok(_writers) = self.write_lock.try_lock() else {
            return;
        };
        // The handle, and with it sled's files and its lock, let go; nothing else in this
        // process holds one outside the writers' lock.
        drop(self.db.take());
        let db_dir = self.dir.join("db");
        tally::wait_released(&db_dir);
        let Ok(db) = open_sled(&db_dir) else {
            return;
        };
        let (Ok(saves), Ok(stamp)) = (tally::saves_in(&db), tally::stamp_in(&db)) else {
            self.db.set(db);
            return;
        };
        *lock_or_poisoned(&self.saves) = saves;
        *lock_or_poisoned(&self.stamp) = stamp;
        *lock_or_poisoned(&self.bindings) = None;
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.db.set(db);
        self.broken.store(false, Ordering::Release);
    }

    fn apply_with_audit_now(
        &self,
        changes: &[Change],
        audit: Audit<'_>,
    ) -> Result<Vec<AuditEntry>> {
        let _guard = lock_or_poisoned(&self.write_lock);
        let c = &self.crypt()?;
        let db = self.db()?;
        let vault = Self::vault(&db, c);
        let _bump = WriteCount(&self.writes);
        let (mut ops, described, indexed) =
            self.plan(c, changes, matches!(audit, Audit::EachRecord(_)))?;
        // The search index changes in the same write as the records: with them in one batch,
        // or for a large change (an import) a group of records at a time after them, in the
        // same chunked write, so its memory stays bounded.
        let index_changes: Vec<(&str, Option<&Record>, Option<&Record>)> = indexed
            .iter()
            .map(|(id, old, new)| (*id, old.as_ref(), *new))
            .collect();
        let streamed = index_changes.len() > index::GROUP;
        if !streamed {
            ops.extend(index_ops(index::plan(vault, &index_changes)?));
        }
        let mut binder = Binder::new(c);
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
        // The entries go last, so a change written in chunks commits them with its last chunk,
        // and every record is sealed (its digest known) before they are chained.
        self.plan_audit(c, bind_events(events, &indexed), &mut ops, &mut binder)?;
        if streamed {
            self.write_chunked(|chunks| {
                self.write_chunks(&mut binder, &ops, chunks)?;
                // Records that were in the store: their old words come out, a group at a time.
                let updates: Vec<_> = index_changes
                    .iter()
                    .filter(|c| c.1.is_some())
                    .copied()
                    .collect();
                for group in updates.chunks(index::GROUP) {
                    let planned = index_ops(index::plan(vault, group)?);
                    self.write_chunks(&mut binder, &planned, chunks)?;
                }
                // New records: appended, each segment written once.
                if index::stats(vault)?.is_some() {
                    let new = index_changes
                        .iter()
                        .filter(|c| c.1.is_none())
                        .filter_map(|c| c.2.map(Ok));
                    index::append(vault, new, |planned| {
                        self.write_chunks(&mut binder, &index_ops(planned), chunks)
                    })?;
                }
                Ok(())
            })?;
        } else {
            self.write(&mut binder, &ops)?;
        }
        let entries = binder.into_entries();
        self.remember_bindings(&entries);
        Ok(entries)
    }

    fn flush_now(&self) -> Result<()> {
        // The save number goes in last, so the database holds it only with everything before
        // it; the tally file learns it only once that is durable.
        let mut saves = lock_or_poisoned(&self.saves);
        let next = *saves + 1;
        let stamp = match (self.verified.load(Ordering::Acquire), self.crypt()) {
            (true, Ok(c)) => Some(self.new_stamp(&c, next)?),
            // Locked, or not verified yet: nothing of ours was written, nothing to count.
            _ => None,
        };
        let Some(stamp) = stamp else {
            self.db()?.flush()?;
            sync_tree(&self.dir.join("db"))?;
            return Ok(());
        };
        if let Ok(c) = self.crypt() {
            self.snapshot_bindings(&c)?;
        }
        self.db()?.insert(tally::STAMP_KEY, stamp.encode())?;
        self.db()?.insert(tally::KEY, &next.to_be_bytes())?;
        self.db()?.flush()?;
        sync_tree(&self.dir.join("db"))?;
        tally::write(
            &self.dir,
            &tally::Tally {
                saves: next,
                closed: None,
                stamp: Some(stamp.clone()),
            },
        )?;
        *saves = next;
        *lock_or_poisoned(&self.stamp) = Some(stamp);
        Ok(())
    }

    fn put_unsaved_now(&self, body: Option<&[u8]>) -> Result<()> {
        self.put_sealed_now(keys::UNSAVED_KEY, body)
    }

    /// Replaces (or with `None` removes) one sealed value that is not a record.
    fn put_sealed_now(&self, key: &[u8], body: Option<&[u8]>) -> Result<()> {
        let c = &self.crypt()?;
        let _w = lock_or_poisoned(&self.write_lock);
        match body {
            Some(body) => {
                let value = codec::encode_unsaved(c, key, body);
                self.db()?.insert(key, value)?;
            }
            None => {
                self.db()?.remove(key)?;
            }
        }
        Ok(())
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
                let (ops, _, _) = self.plan(c, &changes, false)?;
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

    fn reindex(&self) -> Result<u64> {
        let _guard = lock_or_poisoned(&self.write_lock);
        let _bump = WriteCount(&self.writes);
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

/// Makes `path` readable by this user only (0700 for a directory, 0600 for a file), on Unix;
/// best effort.
fn private(path: &Path, dir: bool) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if dir { 0o700 } else { 0o600 };
        if let Ok(m) = std::fs::metadata(path)
            && m.permissions().mode() & 0o777 != mode
        {
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
        }
    }
    #[cfg(not(unix))]
    let _ = (path, dir);
}

/// [`private`] for a directory and everything in it.
fn private_tree(dir: &Path) {
    private(dir, true);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        match e.file_type() {
            Ok(t) if t.is_dir() => private_tree(&e.path()),
            Ok(t) if t.is_file() => private(&e.path(), false),
            _ => {}
        }
    }
}

impl SledStore {
    /// Closing a store that was never verified (never unlocked, or refused): nothing of ours
    /// was written and the tally's count and stamp stay. Only a store opened in place and never
    /// unlocked (`kitnotes backup`) records how sled left its files, so the next open need not
    /// recover a copy; a refused store, or one read from a recovered copy, is left as it was.
    fn close_unverified(&mut self) {
        if self.refused.load(Ordering::Acquire) {
            return;
        }
        let Some(db) = self.db.take() else { return };
        drop(db);
        let db_dir = self.dir.join("db");
        if !tally::wait_released(&db_dir) {
            return;
        }
        if let (Ok(Some(before)), Ok(stamps)) = (tally::read(&self.dir), tally::stamps(&db_dir))
            && before.closed.is_some()
        {
            let closed = tally::Tally {
                closed: Some(stamps),
                ..before
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

/// Reads every entry, decodes every record (opening every seal, in an encrypted store), and
/// checks that keys, the id index and references agree. Problems are collected, not fatal, so
/// one run pinpoints all damage.
fn check(store: &SledStore) -> Result<CheckReport> {
    let c = &store.crypt()?;
    let mut report = CheckReport::default();
    // By the id as it appears in keys (its name, in hex, in an encrypted store).
    let mut ids: HashMap<String, (Vec<u8>, RecordKind)> = HashMap::new();
    let mut patients: HashSet<String> = HashSet::new();
    let mut index: Vec<(String, Vec<u8>, Vec<u8>)> = Vec::new();
    // Only what the reference pass needs, not whole records: a 100,000-note store must check
    // within a small memory budget.
    let mut references: Vec<Reference> = Vec::new();
    let key_id = |id: &str| c.key_id(id);
    let mut unreadable = false;
    // The log first: what each record should hold. One pass of SHA-256 over the log: cheap
    // next to decoding every record.
    let mut bindings = Bindings::new();
    // Patients an import brought in before imports bound their records (its entry binds
    // nothing): their unbound records are counted apart.
    let mut imported_unbound: HashSet<String> = HashSet::new();
    let audit = store.walk_audit(c, |e| {
        binding::bind(&mut bindings, e);
        if e.action == AuditAction::Imported
            && e.values.is_empty()
            && let Some(p) = &e.patient
        {
            imported_unbound.insert(p.as_str().to_owned());
        }
    });
    // By the id as it appears in keys.
    let bindings: HashMap<String, (String, Binding)> = bindings
        .into_iter()
        .map(|(id, b)| (key_id(&id), (id, b)))
        .collect();
    for kv in store.db()?.iter() {
        let (k, v) = match kv {
            Ok(kv) => kv,
            Err(e) => {
                report.problems.push(format!(
                    "reading the database stopped: {}",
                    describe_sled(&e)
                ));
                unreadable = true;
                break;
            }
        };
        if [
            crypt::HEADER_KEY,
            tally::KEY,
            tally::STAMP_KEY,
            binding::SNAPSHOT_KEY,
        ]
        .contains(&&*k)
        {
            continue;
        }
        // What is typed but not a record yet (`app::unsaved`): it must open, nothing more.
        if &*k == keys::UNSAVED_KEY {
            if let Err(e) = codec::decode_unsaved(c, keys::UNSAVED_KEY, &v) {
                report.problems.push(format!(
                    "what was being typed (U\\0input) does not open: {e}"
                ));
            }
            continue;
        }
        // What `kitnotes sync` knows of the server: it must open, nothing more.
        if &*k == keys::SYNC_STATE_KEY {
            if let Err(e) = codec::decode_unsaved(c, keys::SYNC_STATE_KEY, &v) {
                report
                    .problems
                    .push(format!("the sync state (S\\0sync) does not open: {e}"));
            }
            continue;
        }
        let parts = keys::parse_key(c, &k);
        match parts {
            // The audit log is walked on its own below, the search index by `index::verify`.
            Some(
                KeyParts::Schema | KeyParts::Audit { .. } | KeyParts::AuditHead | KeyParts::Search,
            ) => continue,
            Some(KeyParts::Index { id }) => {
                index.push((id, k.to_vec(), v.to_vec()));
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
        let record = match codec::decode(c, &k, &v) {
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
        if SledStore::primary_key(c, &record) != *k {
            report.problems.push(format!(
                "{} {}: the key does not match the record it holds",
                record.kind().as_str(),
                record.id()
            ));
        }
        if let Record::Patient(p) = &record {
            patients.insert(key_id(p.id.as_str()));
        }
        match bindings.get(&key_id(record.id())) {
            Some((_, b)) => {
                if let Some(why) = b.mismatch(&k, &v) {
                    report.problems.push(format!(
                        "{} {} (patient {}) {why}",
                        record.kind().as_str(),
                        record.id(),
                        record.patient()
                    ));
                }
            }
            None if imported_unbound.contains(record.patient().as_str()) => {
                report.unbound.imported += 1
            }
            None => report.unbound.other += 1,
        }
        report.counts.add(&record);
        if ids
            .insert(key_id(record.id()), (k.to_vec(), record.kind()))
            .is_some()
        {
            report.problems.push(format!(
                "id {} is used by more than one record",
                record.id()
            ));
        }
        references.extend(references_of(&record));
    }
    if unreadable {
        // The scan stopped at a damaged page, so comparing the index and references with what
        // it saw would only list everything after it. Name the records that cannot be read.
        report.problems.extend(unreadable_records(store, c));
        index.clear();
        ids.clear();
        references.clear();
    }
    let mut indexed: HashSet<&str> = HashSet::new();
    for (id, key, value) in &index {
        indexed.insert(id);
        let target = match codec::decode_ref(c, key, value) {
            Ok(t) => t,
            Err(e) => {
                report.problems.push(format!("index entry {id}: {e}"));
                continue;
            }
        };
        match ids.get(id) {
            Some((key, _)) if *key == target => {}
            Some(_) => report
                .problems
                .push(format!("index entry {id} points to the wrong record")),
            None => report.problems.push(format!(
                "index entry {id} points to a record that is missing"
            )),
        }
    }
    for (id, (key, _)) in &ids {
        if !indexed.contains(id.as_str()) {
            report.problems.push(format!(
                "record {id} ({}) is missing from the id index",
                printable_key(key)
            ));
        }
    }
    for r in &references {
        let found = match r.kind {
            // The owning patient must be a patient record.
            RecordKind::Patient => patients.contains(&key_id(&r.target)),
            kind => ids.get(&key_id(&r.target)).is_some_and(|(_, k)| *k == kind),
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
    if !unreadable {
        let mut gone: Vec<_> = bindings
            .iter()
            .filter(|(key_id, (_, b))| b.digest.is_some() && !ids.contains_key(*key_id))
            .map(|(_, (id, b))| (b.seq, id, b.action))
            .collect();
        gone.sort_by_key(|(seq, id, _)| (*seq, id.as_str()));
        for (seq, id, action) in gone {
            report.problems.push(format!(
                "record {id} is missing: audit entry {seq} ({action}) wrote it and no later \
                 entry removed it"
            ));
        }
    }
    match index::verify(SledStore::vault(&store.db()?, c)) {
        Ok(problems) => report.problems.extend(problems),
        Err(e) => report
            .problems
            .push(format!("the search index cannot be read: {e}")),
    }
    match audit {
        Ok(verdict) => {
            report.audit = verdict;
            if let Some(p) = &report.audit.problem {
                report.problems.push(p.to_string());
            }
        }
        Err(e) => report
            .problems
            .push(format!("the audit log cannot be read: {e}")),
    }
    Ok(report)
}

/// Every record the id index names whose value cannot be read (at most 200 named), for a check
/// whose scan hit a damaged page.
fn unreadable_records(store: &SledStore, c: &Crypt) -> Vec<String> {
    let mut out = Vec::new();
    let mut named = 0;
    let db = match store.db() {
        Ok(db) => db,
        Err(e) => return vec![e.to_string()],
    };
    for kv in db.scan_prefix(keys::INDEX_PREFIX) {
        let (k, v) = match kv {
            Ok(kv) => kv,
            Err(e) => {
                out.push(format!(
                    "the id index cannot be read past a damaged page: {}",
                    describe_sled(&e)
                ));
                break;
            }
        };
        let id = match keys::parse_key(c, &k) {
            Some(KeyParts::Index { id }) => id,
            _ => printable_key(&k),
        };
        let Ok(target) = codec::decode_ref(c, &k, &v) else {
            continue;
        };
        if let Err(e) = db.get(&target) {
            named += 1;
            if named <= 200 {
                out.push(format!(
                    "record {id} ({}) cannot be read: {}",
                    printable_key(&target),
                    describe_sled(&e)
                ));
            }
        }
    }
    if named > 200 {
        out.push(format!("and {} more records cannot be read", named - 200));
    }
    out
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
