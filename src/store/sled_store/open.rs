//! Opening a store: locking, sled's recovery tried on a copy first, the tally and schema
//! checks, migrations, reopening after a disk error (mend), and the files' modes and fsyncs.

use super::*;

pub(super) fn damaged(dir: &Path, e: sled::Error) -> StoreError {
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
pub(super) fn snapshot_in(db: &Path) -> Option<String> {
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
            crate::store::explain_io(io)
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
pub(super) const RECOVERY_STOPPED: &str = "its recovery stopped on damaged files";

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
pub(super) struct Trial {
    pub(super) db: sled::Db,
    pub(super) _copy: tally::Scratch,
}

/// Where an opened store reads from until it is verified.
pub(super) enum Opened {
    /// The store's own files: they were exactly as the last clean close left them.
    InPlace(sled::Db),
    /// A recovered copy: the store's own files are opened only once it is verified.
    Copy(Trial),
}

/// Opens sled's database in `dir/db` after making sure that sled's recovery cannot cut saves
/// the tally says were made durable (see `store::tally`), and that the database is this
/// store's. Returns the database, the last save it holds and the tally's stamp. Writes nothing:
/// the tally is marked open only once the store is verified ([`SledStore::finish_open`]).
pub(super) fn open_checked(
    dir: &Path,
    inspecting: bool,
) -> Result<(Opened, u64, Option<tally::Stamp>)> {
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
pub(super) fn belongs_here(
    dir: &Path,
    db: &sled::Db,
    counted: Option<&tally::Tally>,
) -> Result<u64> {
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
    pub(super) store: SledStore,
    pub(super) _copy: tally::Scratch,
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
pub(super) fn trial_recovery(dir: &Path) -> Result<Option<Trial>> {
    let Ok(copy) = tally::Scratch::copy_db(dir, dir.join("db.recovering")) else {
        return Ok(None);
    };
    let db = open_sled(&copy.db()).map_err(|e| damaged(dir, e))?;
    Ok(Some(Trial { db, _copy: copy }))
}

thread_local! {
    /// While sled opens a database on this thread: the message of a panic inside it.
    pub(super) static SLED_PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Runs `open`, turning a panic inside sled into an error. sled 0.34's recovery indexes past
/// the end of a table when its files are damaged in some ways (an emptied `db` file with a
/// snapshot left); a damaged file must get a message, not a crash. The panic hook stays
/// quiet only for this thread while it opens; every other panic is reported as before.
pub(super) fn without_panics(
    open: impl FnOnce() -> sled::Result<sled::Db>,
) -> sled::Result<sled::Db> {
    pub(super) static HOOK: std::sync::Once = std::sync::Once::new();
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
pub(super) fn within_limit(path: &Path) -> sled::Result<sled::Db> {
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
            crate::store::backup::sync_dir(parent).map_err(io)?;
        }
        let store = Self::open(dir)?;
        store.unlock(passphrase)?;
        Ok(store)
    }

    /// `inspecting`: a copy of a refused store, opened to see what it holds: a stamp it does
    /// not match is reported by `check`, not refused.
    pub(super) fn open_inner(
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
        // Nor is a `kitnotes search` that only copies its snapshot out before it closes the
        // store (`store::snapshot::copying`): wait for it a few seconds more.
        let asked = std::time::Instant::now();
        loop {
            match lock.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock)
                    if asked.elapsed() < std::time::Duration::from_millis(500)
                        || (asked.elapsed() < std::time::Duration::from_secs(15)
                            && crate::store::snapshot::copying(dir)) =>
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
        // Opened, the store changes, so a search snapshot beside it can never answer again:
        // removed now, so no copy of records lingers beside the store (the next `kitnotes
        // search` that opens the store writes a new one). Not before: a store refused above is
        // left exactly as it was found.
        crate::store::snapshot::remove(dir);
        let (db, trial) = match opened {
            Opened::InPlace(db) => (crate::store::backup::DbSlot::new(Some(db)), None),
            Opened::Copy(trial) => (crate::store::backup::DbSlot::new(None), Some(trial)),
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
    pub(super) fn finish_open(&self, migrations: &[Migration]) -> Result<()> {
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
        // The same for the agendas.
        if self.schema_version()? >= Some(3) && !agenda::built(vault)? {
            agenda::rebuild(vault)?;
            self.flush()?;
        }
        Ok(())
    }
}

impl SledStore {
    /// The schema version on disk.
    pub fn schema_version(&self) -> Result<Option<u32>> {
        Ok(self
            .db()?
            .get(keys::SCHEMA_KEY)?
            .and_then(|v| <[u8; 4]>::try_from(v.as_ref()).ok())
            .map(u32::from_be_bytes))
    }

    /// Refuses a store from a newer kitnotes without changing anything.
    pub(super) fn peek_schema(&self, migrations: &[Migration]) -> Result<()> {
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

    pub(super) fn check_schema(&self, c: &Crypt, migrations: &[Migration]) -> Result<()> {
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
}

impl SledStore {
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
    pub(super) fn mend(&self) {
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
}

/// Makes `path` readable by this user only (0700 for a directory, 0600 for a file), on Unix;
/// best effort.
pub(super) fn private(path: &Path, dir: bool) {
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
pub(super) fn private_tree(dir: &Path) {
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
    pub(super) fn close_unverified(&mut self) {
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

/// `fsync` every file below `dir`, then the directories, so renames and new files survive a
/// power cut too.
///
/// sled's background thread removes and renames its own files (snapshots, blobs) at any time, so
/// an entry that vanishes between listing and opening is skipped: the directory's own `fsync`
/// at the end makes its removal durable.
pub(super) fn sync_tree(dir: &Path) -> std::io::Result<()> {
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
