//! Backups: every key/value pair of the store's sled trees copied as stored, into one file that
//! is verified before anything is restored from it.
//!
//! Values are never decoded: a sealed (encrypted) store gives a backup just as sealed, and
//! taking one needs no passphrase. The layout (docs/BACKUP.md):
//!
//! ```text
//! header   "kitnotes backup\n" (16 bytes), format version (u32)
//! trees    per sled tree: b'T', name length (u32), name;
//!          then per key/value pair, in key order: b'K', key length (u32), key,
//!          value length (u32), value
//! trailer  b'E', how many pairs (u64), SHA-256 of every byte before the hash (32 bytes)
//! ```
//! Integers are big-endian. Nothing follows the trailer.
//!
//! Consistency: [`BackupSource::write`] holds the store's writers' lock while it reads, so no
//! write lands half in the backup (every store write holds the same lock for its whole batch, or
//! its whole chunked write). Reading and writing stream: neither side holds more than one pair
//! and a batch of them in memory, whatever the size of the store.

use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

/// The first bytes of every backup file.
pub const MAGIC: [u8; 16] = *b"kitnotes backup\n";
/// The format version this kitnotes writes and reads.
pub const VERSION: u32 = 1;
/// Entry tags.
const TREE: u8 = b'T';
const PAIR: u8 = b'K';
const END: u8 = b'E';
/// Bounds on what one entry may hold, checked before anything is allocated. The store's keys
/// are short and its values at most a few megabytes; a larger length is damage.
pub const MAX_TREE_NAME: u32 = 4 * 1024;
pub const MAX_KEY: u32 = 1024 * 1024;
pub const MAX_VALUE: u32 = 256 * 1024 * 1024;
/// sled's name for the tree every `Db` has.
const DEFAULT_TREE: &[u8] = b"__sled__default";
/// Pairs restored per sled batch (and at most this many bytes). Small: restoring the
/// 1,000-patient demo store (286 MB) in batches of 4,096 pairs or 8 MB took sled 0.34 to 1.3 GB
/// of memory; in these, 155 MB, in the same time.
const RESTORE_BATCH: usize = 256;
const RESTORE_BATCH_BYTES: usize = 1024 * 1024;

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    /// Key/value pairs, over all trees.
    pub entries: u64,
    /// sled trees (the store uses one).
    pub trees: u64,
    /// The file's length in bytes.
    pub bytes: u64,
    /// The SHA-256 stored in the trailer, which covers every byte before it.
    pub sha256: [u8; 32],
}

impl BackupSummary {
    pub fn sha256_hex(&self) -> String {
        self.sha256.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Everything that can go wrong writing, verifying or restoring a backup, with the file and,
/// for a damaged file, the byte offset.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{path} already exists; pass --force to replace it, or choose another file name")]
    Exists { path: PathBuf },
    #[error("reading the store failed: {}", crate::store::sled_store::describe_sled(.0))]
    Db(sled::Error),
    #[error(
        "the store cannot be backed up: {what} is {len} bytes long, more than a backup entry may \
         hold ({max} bytes)"
    )]
    TooLarge { what: String, len: usize, max: u32 },
    #[error(
        "{path} is not a kitnotes backup: it does not start with the backup header \
         (\"kitnotes backup\")"
    )]
    NotABackup { path: PathBuf },
    #[error(
        "{path} is a backup of format version {found}; this kitnotes reads version {VERSION}: \
         restore it with a newer kitnotes"
    )]
    Version { path: PathBuf, found: u32 },
    #[error(
        "{path} is truncated: it ends at byte {size}, in the middle of {what}; the copy is \
         incomplete"
    )]
    Truncated {
        path: PathBuf,
        size: u64,
        what: String,
    },
    #[error(
        "{path} is truncated or damaged: {what} at byte {offset} is said to be {len} bytes long, \
         but the file has only {left} bytes after it"
    )]
    Overrun {
        path: PathBuf,
        offset: u64,
        what: String,
        len: u64,
        left: u64,
    },
    #[error("{path} is damaged at byte {offset}: {detail}")]
    Damaged {
        path: PathBuf,
        offset: u64,
        detail: String,
    },
    #[error(
        "{path} is damaged: its SHA-256 ({found}) is not the one stored in its trailer \
         ({stored}), so some byte changed after it was written"
    )]
    Checksum {
        path: PathBuf,
        stored: String,
        found: String,
    },
    #[error("{path} changed while it was being restored (its SHA-256 differs from the first pass)")]
    Changed { path: PathBuf },
    #[error("cannot restore into {path}: it is not empty")]
    TargetNotEmpty { path: PathBuf },
    #[error(
        "cannot write the restored store at {path}: {}",
        crate::store::sled_store::describe_sled(.error)
    )]
    Restore { path: PathBuf, error: sled::Error },
}

impl From<sled::Error> for BackupError {
    fn from(e: sled::Error) -> Self {
        BackupError::Db(e)
    }
}

/// The store's sled database, shared by the store and its backup server. sled 0.34 keeps the
/// first write error (a full disk) for as long as a database is open, so the store reopens it
/// in place once the disk has room again (`SledStore::mend`): everyone holding this slot then
/// reads the new handle. Empty only while the database is closed for that.
#[derive(Clone)]
pub struct DbSlot(Arc<RwLock<Option<sled::Db>>>);

impl DbSlot {
    pub fn new(db: Option<sled::Db>) -> Self {
        Self(Arc::new(RwLock::new(db)))
    }

    /// A handle to the database (cheap: sled's handles are shared), unless it is closed.
    pub fn get(&self) -> Option<sled::Db> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn is_set(&self) -> bool {
        self.0.read().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    pub fn set(&self, db: sled::Db) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Some(db);
    }

    /// Takes the handle out: once every other handle is dropped, sled closes its files.
    pub fn take(&self) -> Option<sled::Db> {
        self.0.write().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// What a backup reads: the store's database and the lock its writers hold. It may be moved
/// to another thread (the backup server of an open kitnotes).
#[derive(Clone)]
pub struct BackupSource {
    db: DbSlot,
    write_lock: Arc<Mutex<()>>,
}

impl std::fmt::Debug for BackupSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackupSource").finish_non_exhaustive()
    }
}

/// Why writing the stream failed, before a path is known.
enum StreamError {
    Io(io::Error),
    Db(sled::Error),
    TooLarge { what: String, len: usize, max: u32 },
}

impl From<io::Error> for StreamError {
    fn from(e: io::Error) -> Self {
        StreamError::Io(e)
    }
}

impl From<sled::Error> for StreamError {
    fn from(e: sled::Error) -> Self {
        StreamError::Db(e)
    }
}

/// Counts and hashes every byte written through it.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hasher.update(bytes);
        self.bytes += bytes.len() as u64;
        self.inner.write_all(bytes)
    }

    fn put_len(
        &mut self,
        what: impl FnOnce() -> String,
        len: usize,
        max: u32,
    ) -> Result<(), StreamError> {
        match u32::try_from(len) {
            Ok(n) if n <= max => Ok(self.put(&n.to_be_bytes())?),
            _ => Err(StreamError::TooLarge {
                what: what(),
                len,
                max,
            }),
        }
    }
}

impl BackupSource {
    pub fn new(db: DbSlot, write_lock: Arc<Mutex<()>>) -> Self {
        Self { db, write_lock }
    }

    /// The store's trees: the default one first, then the others by name. Read with the
    /// writers' lock held, so the database is not being reopened meanwhile.
    fn trees(&self) -> Result<Vec<(Vec<u8>, sled::Tree)>, sled::Error> {
        let db = self.db.get().ok_or_else(|| {
            sled::Error::Io(io::Error::other(
                "the store is being reopened after a write error; try again in a moment",
            ))
        })?;
        let mut names: Vec<Vec<u8>> = db
            .tree_names()
            .into_iter()
            .map(|n| n.to_vec())
            .filter(|n| n != DEFAULT_TREE)
            .collect();
        names.sort();
        let mut trees = vec![(DEFAULT_TREE.to_vec(), (*db).clone())];
        for name in names {
            let tree = db.open_tree(&name)?;
            trees.push((name, tree));
        }
        Ok(trees)
    }

    /// Writes the whole backup to `out`. The writers' lock is held while the store is read, so
    /// the copy is one consistent moment of it; nothing is written to the store.
    fn stream<W: Write>(&self, out: W) -> Result<(BackupSummary, W), StreamError> {
        let mut w = HashingWriter {
            inner: out,
            hasher: Sha256::new(),
            bytes: 0,
        };
        w.put(&MAGIC)?;
        w.put(&VERSION.to_be_bytes())?;
        let mut entries = 0u64;
        let trees;
        {
            let _guard = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
            let all = self.trees()?;
            trees = all.len() as u64;
            for (name, tree) in all {
                w.put(&[TREE])?;
                w.put_len(|| "a tree name".into(), name.len(), MAX_TREE_NAME)?;
                w.put(&name)?;
                for kv in tree.iter() {
                    let (k, v) = kv?;
                    w.put(&[PAIR])?;
                    w.put_len(|| "a key".into(), k.len(), MAX_KEY)?;
                    w.put(&k)?;
                    w.put_len(
                        || format!("the value of key {:?}", String::from_utf8_lossy(&k)),
                        v.len(),
                        MAX_VALUE,
                    )?;
                    w.put(&v)?;
                    entries += 1;
                }
            }
        }
        w.put(&[END])?;
        w.put(&entries.to_be_bytes())?;
        let sha256: [u8; 32] = w.hasher.finalize_reset().into();
        w.inner.write_all(&sha256)?;
        let bytes = w.bytes + 32;
        Ok((
            BackupSummary {
                entries,
                trees,
                bytes,
                sha256,
            },
            w.inner,
        ))
    }

    /// Writes the backup to `path`: into a temporary file beside it (readable by this user
    /// only), synced, then renamed into place and the directory synced, so a crash never leaves
    /// half a backup under the real name. An existing `path` is refused unless `replace`.
    pub fn write_file(&self, path: &Path, replace: bool) -> Result<BackupSummary, BackupError> {
        let exists = |p: &Path| std::fs::symlink_metadata(p).is_ok();
        if !replace && exists(path) {
            return Err(BackupError::Exists {
                path: path.to_owned(),
            });
        }
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let Some(name) = path.file_name() else {
            return Err(BackupError::Io {
                action: "write",
                path: path.to_owned(),
                source: io::Error::new(io::ErrorKind::InvalidInput, "it is not a file name"),
            });
        };
        let tmp = parent.join(format!(
            ".{}.{}.kitnotes-tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        let io_err = |action: &'static str, path: &Path| {
            let path = path.to_owned();
            move |source| BackupError::Io {
                action,
                path,
                source,
            }
        };
        remove_abandoned(&parent, &name.to_string_lossy());
        let result = (|| {
            let _ = std::fs::remove_file(&tmp);
            let file = create_private(&tmp).map_err(io_err("create", &tmp))?;
            let out = BufWriter::with_capacity(1024 * 1024, file);
            let (summary, out) = self.stream(out).map_err(|e| match e {
                StreamError::Io(source) => BackupError::Io {
                    action: "write",
                    path: tmp.clone(),
                    source,
                },
                StreamError::Db(e) => BackupError::Db(e),
                StreamError::TooLarge { what, len, max } => {
                    BackupError::TooLarge { what, len, max }
                }
            })?;
            let file = out
                .into_inner()
                .map_err(|e| e.into_error())
                .map_err(io_err("write", &tmp))?;
            file.sync_all().map_err(io_err("write", &tmp))?;
            drop(file);
            // Checked again: the backup may have taken a while.
            if !replace && exists(path) {
                return Err(BackupError::Exists {
                    path: path.to_owned(),
                });
            }
            // Moving the file over a device or a pipe would replace it (as root, even /dev/null).
            if std::fs::symlink_metadata(path).is_ok_and(|m| !m.is_file()) {
                return Err(BackupError::Io {
                    action: "replace",
                    path: path.to_owned(),
                    source: std::io::Error::other(
                        "it is not a regular file; a backup goes into a file of its own",
                    ),
                });
            }
            std::fs::rename(&tmp, path).map_err(io_err("move the backup into place at", path))?;
            sync_dir(&parent).map_err(io_err("sync the directory", &parent))?;
            Ok(summary)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }
}

/// A new file only this user can read (on Unix): a backup, an export, the store's own files.
pub fn create_private(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Makes a rename or a new entry in `dir` durable. Directories cannot be synced this way on
/// every platform; there it is left to the file system.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Where the pairs read from a backup go.
trait Sink {
    /// Whether values are needed (restoring) or only hashed as they pass (verifying).
    fn wants_values(&self) -> bool;
    fn tree(&mut self, name: &[u8]) -> Result<(), sled::Error>;
    fn pair(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<(), sled::Error>;
    fn finish(&mut self) -> Result<(), sled::Error>;
}

/// Verifying only: nothing is kept.
struct Discard;

impl Sink for Discard {
    fn wants_values(&self) -> bool {
        false
    }
    fn tree(&mut self, _: &[u8]) -> Result<(), sled::Error> {
        Ok(())
    }
    fn pair(&mut self, _: Vec<u8>, _: Vec<u8>) -> Result<(), sled::Error> {
        Ok(())
    }
    fn finish(&mut self) -> Result<(), sled::Error> {
        Ok(())
    }
}

/// Restoring: pairs go into a new sled database in batches.
struct IntoDb {
    db: sled::Db,
    tree: Option<sled::Tree>,
    batch: sled::Batch,
    in_batch: usize,
    batch_bytes: usize,
}

impl IntoDb {
    fn apply(&mut self) -> Result<(), sled::Error> {
        if self.in_batch > 0
            && let Some(tree) = &self.tree
        {
            tree.apply_batch(std::mem::take(&mut self.batch))?;
        }
        self.in_batch = 0;
        self.batch_bytes = 0;
        Ok(())
    }
}

impl Sink for IntoDb {
    fn wants_values(&self) -> bool {
        true
    }
    fn tree(&mut self, name: &[u8]) -> Result<(), sled::Error> {
        self.apply()?;
        self.tree = Some(if name == DEFAULT_TREE {
            (*self.db).clone()
        } else {
            self.db.open_tree(name)?
        });
        Ok(())
    }
    fn pair(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<(), sled::Error> {
        self.batch_bytes += key.len() + value.len();
        self.batch.insert(key, value);
        self.in_batch += 1;
        if self.in_batch >= RESTORE_BATCH || self.batch_bytes >= RESTORE_BATCH_BYTES {
            self.apply()?;
        }
        Ok(())
    }
    fn finish(&mut self) -> Result<(), sled::Error> {
        self.apply()?;
        self.db.flush()?;
        Ok(())
    }
}

/// A part of the file, named in messages (built only when one is needed).
#[derive(Debug, Clone, Copy)]
enum Part {
    Header,
    /// An entry's tag, numbered from 1; where the trailer may start too.
    Entry(u64),
    TreeName,
    Key(u64),
    Value(u64),
    Count,
    Hash,
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Part::Header => f.write_str("the header"),
            Part::Entry(n) => write!(f, "entry {n} (or the trailer)"),
            Part::TreeName => f.write_str("a tree name"),
            Part::Key(n) => write!(f, "the key of entry {n}"),
            Part::Value(n) => write!(f, "the value of entry {n}"),
            Part::Count => f.write_str("the trailer's entry count"),
            Part::Hash => f.write_str("the trailer's SHA-256"),
        }
    }
}

/// The length field in front of a part.
struct LengthOf(Part);

impl std::fmt::Display for LengthOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the length of {}", self.0)
    }
}

/// Reads a backup front to back, hashing every byte and keeping count of where it is. Every
/// length is checked against what is left of the file before anything is read or allocated.
struct Reader<R> {
    inner: R,
    hasher: Sha256,
    offset: u64,
    size: u64,
    path: PathBuf,
    /// Where values that are only hashed pass through.
    scratch: Vec<u8>,
}

const SCRATCH: usize = 64 * 1024;

impl<R: Read> Reader<R> {
    fn left(&self) -> u64 {
        self.size.saturating_sub(self.offset)
    }

    fn truncated(&self, what: &dyn std::fmt::Display) -> BackupError {
        BackupError::Truncated {
            path: self.path.clone(),
            size: self.size,
            what: what.to_string(),
        }
    }

    fn damaged(&self, offset: u64, detail: impl Into<String>) -> BackupError {
        BackupError::Damaged {
            path: self.path.clone(),
            offset,
            detail: detail.into(),
        }
    }

    /// Fills `buf` from the file; `hash` says whether the bytes count towards the SHA-256.
    fn fill(
        &mut self,
        buf: &mut [u8],
        what: &dyn std::fmt::Display,
        hash: bool,
    ) -> Result<(), BackupError> {
        if (buf.len() as u64) > self.left() {
            return Err(self.truncated(what));
        }
        match self.inner.read_exact(buf) {
            Ok(()) => {}
            // The file shrank while it was read.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(self.truncated(what));
            }
            Err(source) => {
                return Err(BackupError::Io {
                    action: "read",
                    path: self.path.clone(),
                    source,
                });
            }
        }
        if hash {
            self.hasher.update(&*buf);
        }
        self.offset += buf.len() as u64;
        Ok(())
    }

    fn u8(&mut self, what: &dyn std::fmt::Display) -> Result<u8, BackupError> {
        let mut b = [0u8; 1];
        self.fill(&mut b, what, true)?;
        Ok(b[0])
    }

    fn u32(&mut self, what: &dyn std::fmt::Display) -> Result<u32, BackupError> {
        let mut b = [0u8; 4];
        self.fill(&mut b, what, true)?;
        Ok(u32::from_be_bytes(b))
    }

    fn u64(&mut self, what: &dyn std::fmt::Display) -> Result<u64, BackupError> {
        let mut b = [0u8; 8];
        self.fill(&mut b, what, true)?;
        Ok(u64::from_be_bytes(b))
    }

    /// A length, then that many bytes: refused if longer than `max` or than what is left of the
    /// file, before anything is allocated. With `keep` false the bytes are only hashed.
    fn bytes(&mut self, what: Part, max: u32, keep: bool) -> Result<Vec<u8>, BackupError> {
        let at = self.offset;
        let len = self.u32(&LengthOf(what))?;
        if len > max {
            return Err(self.damaged(
                at,
                format!("{what} is said to be {len} bytes long, more than a backup holds ({max})"),
            ));
        }
        if u64::from(len) > self.left() {
            return Err(BackupError::Overrun {
                path: self.path.clone(),
                offset: at,
                what: what.to_string(),
                len: len.into(),
                left: self.left(),
            });
        }
        if keep {
            let mut buf = vec![0u8; len as usize];
            self.fill(&mut buf, &what, true)?;
            Ok(buf)
        } else {
            let mut chunk = std::mem::take(&mut self.scratch);
            chunk.resize(SCRATCH, 0);
            let mut rest = len as usize;
            let mut result = Ok(());
            while rest > 0 && result.is_ok() {
                let n = rest.min(SCRATCH);
                result = self.fill(&mut chunk[..n], &what, true);
                rest -= n;
            }
            self.scratch = chunk;
            result.map(|()| Vec::new())
        }
    }
}

fn open_backup(path: &Path) -> Result<Reader<BufReader<File>>, BackupError> {
    let io_err = |source| BackupError::Io {
        action: "read",
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    if !meta.is_file() {
        return Err(io_err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is not a file",
        )));
    }
    Ok(Reader {
        inner: BufReader::with_capacity(1024 * 1024, file),
        hasher: Sha256::new(),
        offset: 0,
        size: meta.len(),
        path: path.to_owned(),
        scratch: Vec::new(),
    })
}

/// Reads and checks a whole backup, handing its pairs to `sink`.
fn read<R: Read>(r: &mut Reader<R>, sink: &mut dyn Sink) -> Result<BackupSummary, BackupError> {
    let mut magic = [0u8; 16];
    if r.size < MAGIC.len() as u64 {
        return Err(BackupError::NotABackup {
            path: r.path.clone(),
        });
    }
    r.fill(&mut magic, &Part::Header, true)?;
    if magic != MAGIC {
        return Err(BackupError::NotABackup {
            path: r.path.clone(),
        });
    }
    let version = r.u32(&Part::Header)?;
    if version != VERSION {
        return Err(BackupError::Version {
            path: r.path.clone(),
            found: version,
        });
    }
    let restore_err = |path: &Path| {
        let path = path.to_owned();
        move |error| BackupError::Restore { path, error }
    };
    let keep = sink.wants_values();
    let mut entries = 0u64;
    let mut trees: Vec<Vec<u8>> = Vec::new();
    let mut last_key: Option<Vec<u8>> = None;
    loop {
        let at = r.offset;
        match r.u8(&Part::Entry(entries + 1))? {
            TREE => {
                let name = r.bytes(Part::TreeName, MAX_TREE_NAME, true)?;
                if trees.contains(&name) {
                    return Err(r.damaged(
                        at,
                        format!("tree {:?} appears twice", String::from_utf8_lossy(&name)),
                    ));
                }
                sink.tree(&name).map_err(restore_err(&r.path))?;
                trees.push(name);
                last_key = None;
            }
            PAIR => {
                if trees.is_empty() {
                    return Err(r.damaged(at, "a key/value pair comes before any tree"));
                }
                let key = r.bytes(Part::Key(entries + 1), MAX_KEY, true)?;
                if last_key.as_ref().is_some_and(|last| *last >= key) {
                    return Err(r.damaged(
                        at,
                        format!(
                            "entry {} is out of key order (keys are written sorted, each once)",
                            entries + 1
                        ),
                    ));
                }
                let value = r.bytes(Part::Value(entries + 1), MAX_VALUE, keep)?;
                entries += 1;
                if keep {
                    sink.pair(key.clone(), value)
                        .map_err(restore_err(&r.path))?;
                }
                last_key = Some(key);
            }
            END => {
                let count_at = r.offset;
                let declared = r.u64(&Part::Count)?;
                let found: [u8; 32] = r.hasher.finalize_reset().into();
                let mut stored = [0u8; 32];
                r.fill(&mut stored, &Part::Hash, false)?;
                if declared != entries {
                    return Err(r.damaged(
                        count_at,
                        format!(
                            "the trailer counts {declared} entries, but the file holds {entries}"
                        ),
                    ));
                }
                if stored != found {
                    let hex = |h: &[u8; 32]| h.iter().map(|b| format!("{b:02x}")).collect();
                    return Err(BackupError::Checksum {
                        path: r.path.clone(),
                        stored: hex(&stored),
                        found: hex(&found),
                    });
                }
                if r.left() > 0 {
                    return Err(
                        r.damaged(r.offset, format!("{} bytes follow the trailer", r.left()))
                    );
                }
                sink.finish().map_err(restore_err(&r.path))?;
                return Ok(BackupSummary {
                    entries,
                    trees: trees.len() as u64,
                    bytes: r.offset,
                    sha256: stored,
                });
            }
            other => {
                return Err(r.damaged(
                    at,
                    format!(
                        "entry {} starts with 0x{other:02x}, which is no entry tag",
                        entries + 1
                    ),
                ));
            }
        }
    }
}

/// Checks a backup file front to back without restoring it: header, version, every length,
/// the key order, the entry count and the SHA-256. Streams: memory stays small whatever its size.
pub fn verify(path: &Path) -> Result<BackupSummary, BackupError> {
    read(&mut open_backup(path)?, &mut Discard)
}

/// Writes the pairs of the backup at `path` into a new sled database at `db_dir` (which must
/// not exist, or be empty), checking everything [`verify`] checks on the way, and flushes it.
/// The caller removes `db_dir` if this fails: the pairs are written before the trailer's hash
/// is reached, so call [`verify`] first.
pub fn restore(path: &Path, db_dir: &Path) -> Result<BackupSummary, BackupError> {
    if std::fs::read_dir(db_dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(BackupError::TargetNotEmpty {
            path: db_dir.to_owned(),
        });
    }
    let mut reader = open_backup(path)?;
    let db = sled::Config::new()
        .path(db_dir)
        .cache_capacity(64 * 1024 * 1024)
        .flush_every_ms(Some(500))
        .open()
        .map_err(|error| BackupError::Restore {
            path: db_dir.to_owned(),
            error,
        })?;
    let mut sink = IntoDb {
        db,
        tree: None,
        batch: sled::Batch::default(),
        in_batch: 0,
        batch_bytes: 0,
    };
    let summary = read(&mut reader, &mut sink)?;
    // The restored database's own count and stamp start its tally: it opens as the store it
    // was, verified as such once unlocked.
    if let Some(store_dir) = db_dir.parent() {
        let saves = super::tally::saves_in(&sink.db)?;
        let stamp = super::tally::stamp_in(&sink.db).map_err(|detail| BackupError::Damaged {
            path: path.to_owned(),
            offset: 0,
            detail,
        })?;
        let tally = super::tally::Tally {
            saves,
            closed: None,
            stamp,
        };
        super::tally::write(store_dir, &tally).map_err(|source| BackupError::Io {
            action: "write the tally of",
            path: store_dir.to_owned(),
            source,
        })?;
    }
    Ok(summary)
}

/// Removes the half-written files of earlier backups to `name` in `dir` whose process is gone
/// (killed while writing, so they never renamed or removed their file). Each may be as large as
/// the store. Only where `/proc` tells which processes live; elsewhere they are left.
fn remove_abandoned(dir: &Path, name: &str) {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{name}.");
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(pid) = file
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .and_then(|rest| rest.strip_suffix(".kitnotes-tmp"))
            .filter(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        if !proc.join(pid).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(dir: &Path) -> BackupSource {
        let db = sled::Config::new().path(dir).open().unwrap();
        BackupSource::new(DbSlot::new(Some(db)), Arc::new(Mutex::new(())))
    }

    impl BackupSource {
        fn db(&self) -> sled::Db {
            self.db.get().unwrap()
        }
    }

    /// Each tree's name and pairs.
    type Contents = Vec<(Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>)>;

    fn pairs(db: &sled::Db) -> Contents {
        let mut names: Vec<Vec<u8>> = db.tree_names().into_iter().map(|n| n.to_vec()).collect();
        names.sort();
        names
            .into_iter()
            .map(|n| {
                let t = db.open_tree(&n).unwrap();
                let kv = t
                    .iter()
                    .map(|kv| {
                        let (k, v) = kv.unwrap();
                        (k.to_vec(), v.to_vec())
                    })
                    .collect();
                (n, kv)
            })
            .collect()
    }

    /// A small backup file of `n` pairs and the bytes it holds.
    fn sample(n: u32) -> (tempfile::TempDir, PathBuf, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let src = source(&dir.path().join("db"));
        for i in 0..n {
            src.db()
                .insert(
                    format!("T\0k{i:05}"),
                    vec![(i % 251) as u8; (i * 7) as usize],
                )
                .unwrap();
        }
        let path = dir.path().join("b.kbak");
        src.write_file(&path, false).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        (dir, path, bytes)
    }

    #[test]
    fn every_tree_and_pair_comes_back_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let src = source(&dir.path().join("db"));
        src.db().insert(b"M\0schema", &2u32.to_be_bytes()).unwrap();
        src.db().insert(b"P\0p1", vec![0u8; 70_000]).unwrap();
        src.db().insert(b"", b"empty key").unwrap();
        let extra = src.db().open_tree("extra").unwrap();
        extra.insert(b"a", b"1").unwrap();
        extra.insert(b"b", b"").unwrap();
        src.db().open_tree("empty").unwrap();
        let path = dir.path().join("b.kbak");
        let written = src.write_file(&path, false).unwrap();
        assert_eq!(written.entries, 5);
        assert_eq!(written.trees, 3);
        assert_eq!(written.bytes, std::fs::metadata(&path).unwrap().len());
        assert_eq!(verify(&path).unwrap(), written);

        let restored_dir = dir.path().join("restored");
        assert_eq!(restore(&path, &restored_dir).unwrap(), written);
        let restored = sled::Config::new().path(&restored_dir).open().unwrap();
        assert_eq!(pairs(&restored), pairs(&src.db()));
        assert!(restored.tree_names().len() == 3);
    }

    #[test]
    fn an_existing_file_is_kept_unless_replacing() {
        let (dir, path, bytes) = sample(300);
        let src = source(&dir.path().join("db2"));
        let e = src.write_file(&path, false).unwrap_err();
        assert!(matches!(e, BackupError::Exists { .. }), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        src.write_file(&path, true).unwrap();
        assert_ne!(std::fs::read(&path).unwrap(), bytes);
        // No temporary file is left beside it.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(
            left.iter().all(|n| !n.to_string_lossy().contains("tmp")),
            "{left:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, path, _) = sample(300);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    /// [`verify`] on bytes in memory.
    fn check(bytes: &[u8]) -> Result<BackupSummary, BackupError> {
        let mut r = Reader {
            inner: bytes,
            hasher: Sha256::new(),
            offset: 0,
            size: bytes.len() as u64,
            path: PathBuf::from("x"),
            scratch: Vec::new(),
        };
        read(&mut r, &mut Discard)
    }

    #[test]
    fn every_cut_is_refused_as_truncated() {
        let (_dir, _path, bytes) = sample(300);
        for cut in (20..bytes.len())
            .step_by(97)
            .chain([bytes.len() - 1, bytes.len() - 33])
        {
            let e = check(&bytes[..cut]).unwrap_err();
            assert!(
                matches!(
                    e,
                    BackupError::Truncated { .. } | BackupError::Overrun { .. }
                ),
                "cut at {cut}: {e}"
            );
            assert!(e.to_string().contains("truncated"), "{e}");
        }
        for cut in [0, 5, 16] {
            assert!(check(&bytes[..cut]).is_err());
        }
    }

    #[test]
    fn damage_is_named() {
        let (_dir, _path, bytes) = sample(300);
        let mut b = bytes.clone();
        b[0] = b'K';
        assert!(matches!(check(&b), Err(BackupError::NotABackup { .. })));
        let mut b = bytes.clone();
        b[19] = 2;
        assert!(matches!(
            check(&b),
            Err(BackupError::Version { found: 2, .. })
        ));
        // A byte inside a value: only the hash can tell.
        let mut b = bytes.clone();
        let mid = b.len() / 2;
        b[mid] ^= 0x01;
        let e = check(&b).unwrap_err();
        assert!(
            matches!(
                e,
                BackupError::Checksum { .. } | BackupError::Damaged { .. }
            ),
            "{e}"
        );
        // The count in the trailer.
        let mut b = bytes.clone();
        let count_at = b.len() - 32 - 8;
        b[count_at + 7] ^= 0x01;
        let e = check(&b).unwrap_err();
        assert!(e.to_string().contains(&format!("byte {count_at}")), "{e}");
        // Bytes after the trailer.
        let mut b = bytes.clone();
        b.push(0);
        assert!(matches!(check(&b), Err(BackupError::Damaged { .. })));
        // A huge length is refused before anything is allocated.
        let mut b = bytes.clone();
        // The first tree's name length is at 21.
        b[21..25].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            check(&b),
            Err(BackupError::Damaged { offset: 21, .. })
        ));
    }

    #[test]
    fn no_byte_flipped_or_length_changed_anywhere_passes_or_panics() {
        // Small: a check hashes the whole file, and debug builds hash slowly.
        let (_dir, _path, bytes) = sample(40);
        for i in 0..bytes.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] ^= flip;
                assert!(check(&b).is_err(), "byte {i} ^ {flip:#x} went unnoticed");
            }
        }
    }

    #[test]
    fn restoring_needs_an_empty_place() {
        let (dir, path, _) = sample(300);
        let target = dir.path().join("t");
        std::fs::create_dir_all(&target).unwrap();
        std::fs::write(target.join("keep"), b"x").unwrap();
        assert!(matches!(
            restore(&path, &target),
            Err(BackupError::TargetNotEmpty { .. })
        ));
        assert_eq!(std::fs::read(target.join("keep")).unwrap(), b"x");
    }
}
