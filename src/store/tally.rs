//! The tally: a small file beside sled's database (`<store>/kitnotes.tally`) that counts the
//! saves the store has made durable, and records how sled's files looked when the store was
//! last closed cleanly.
//!
//! Why it exists: sled 0.34 recovers its log by reading it up to the first message that fails
//! its checksum and treating that as the end, and it then *zeroes* the rest of that segment and
//! every later one. A truncated, bit-flipped or missing database file therefore opens as a
//! smaller, or empty, store that looks healthy, and the first open destroys what the damage hid.
//! Every flush writes a save number into the database (`M\0tally`) and then, once the flush is
//! durable, into this file. On open:
//!
//! - if sled's files are exactly as they were at the last clean close (names, sizes and
//!   modification times), sled is opened in place: there is nothing for its recovery to cut;
//! - otherwise (a crash, or a file changed behind kitnotes' back) sled's recovery runs first on
//!   a copy of its files; only if the copy still holds the last save this file counted is the
//!   store itself opened, and otherwise it is refused with the store untouched.
//!
//! The file is written beside and renamed into place, so it is never half-written.
//!
//! Each save also writes a [`Stamp`], in this file and in the database (`M\0stamp`, so every
//! backup carries it): the store's random id, the save number, and the audit log's length and
//! newest hash, tagged with a key from the store's data key. On open, a database whose id is
//! not the tally's is another store's; once the passphrase is known, a stamp whose tag does not
//! verify was forged or copied, and a log that no longer holds the entry the stamp names was
//! cut or rolled back. A plain store has no key: its tag is only a checksum.

use super::audit::ChainHash;
use super::crypt::{Crypt, hex};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file's name in the store directory.
pub const FILE: &str = "kitnotes.tally";

/// The database key holding the save number of the last flush.
pub const KEY: &[u8] = b"M\0tally";

/// The database key holding the [`Stamp`] of the last flush.
pub const STAMP_KEY: &[u8] = b"M\0stamp";

/// The file's contents.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tally {
    /// The number of the last save that was durable when the file was written.
    pub saves: u64,
    /// sled's files as the last clean close left them; `None` while the store is open (or
    /// after a crash).
    pub closed: Option<Vec<FileStamp>>,
    /// The stamp of the last save (absent in a tally written before stamps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stamp: Option<Stamp>,
}

/// What a save binds: the store it belongs to, its number, and how far the audit log reached.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stamp {
    /// The store's id: 16 random bytes in hex, made once per store.
    pub store: String,
    pub saves: u64,
    /// The audit log's length and newest entry's hash at that save.
    pub entries: u64,
    pub head: ChainHash,
    /// The tag over the rest ([`Crypt::counter_tag`]), in hex.
    pub tag: String,
}

impl Stamp {
    pub fn new(c: &Crypt, store: &str, saves: u64, entries: u64, head: ChainHash) -> Self {
        let mut s = Self {
            store: store.to_owned(),
            saves,
            entries,
            head,
            tag: String::new(),
        };
        s.tag = hex(&c.counter_tag(&s.message()));
        s
    }

    fn message(&self) -> Vec<u8> {
        let mut m = b"kitnotes save stamp v1\0".to_vec();
        m.extend_from_slice(&(self.store.len() as u32).to_be_bytes());
        m.extend_from_slice(self.store.as_bytes());
        m.extend_from_slice(&self.saves.to_be_bytes());
        m.extend_from_slice(&self.entries.to_be_bytes());
        m.extend_from_slice(&self.head.0);
        m
    }

    /// Whether the tag is this store's (in a plain store: whether the checksum matches).
    pub fn is_genuine(&self, c: &Crypt) -> bool {
        hex(&c.counter_tag(&self.message())) == self.tag
    }

    pub fn encode(&self) -> Vec<u8> {
        // Strings and numbers: serializing cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The stamp a database holds, if any; `Err` with why if it does not read.
pub fn stamp_in(db: &sled::Db) -> Result<Option<Stamp>, String> {
    match db.get(STAMP_KEY) {
        Err(e) => Err(super::sled_store::describe_sled(&e)),
        Ok(None) => Ok(None),
        Ok(Some(v)) => serde_json::from_slice(&v)
            .map(Some)
            .map_err(|e| format!("its save stamp does not read ({e})")),
    }
}

/// Starts a new tally for the database in `<dir>/db` from what the database says of itself (its
/// save number and stamp), read on a copy so a damaged database is not recovered in place:
/// after a restore, or when `kitnotes check --new-tally` accepts the database as it is. The
/// stamp is verified, as on every open, once the store is unlocked.
pub fn adopt(dir: &Path) -> Result<Option<Stamp>, String> {
    let copy = Scratch::copy_db(dir, dir.join("db.adopting")).map_err(|e| e.to_string())?;
    let db = super::sled_store::open_sled(&copy.db())
        .map_err(|e| super::sled_store::describe_sled(&e))?;
    let saves = saves_in(&db).map_err(|e| super::sled_store::describe_sled(&e))?;
    let stamp = stamp_in(&db)?;
    drop(db);
    let tally = Tally {
        saves,
        closed: None,
        stamp: stamp.clone(),
    };
    write(dir, &tally).map_err(|e| e.to_string())?;
    Ok(stamp)
}

/// A new store id: 16 random bytes, in hex.
pub fn new_store_id() -> Result<String, String> {
    super::crypt::random::<16>()
        .map(|b| hex(&b))
        .map_err(|e| e.to_string())
}

/// One of sled's files: its path under `db/`, length and modification time (ns since 1970).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileStamp(pub String, pub u64, pub i128);

/// Why the tally file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {detail}")]
pub struct TallyError {
    pub path: PathBuf,
    pub detail: String,
}

/// Reads the tally of the store in `dir`; `None` if there is none (a new store, or one made
/// before kitnotes kept a tally).
pub fn read(dir: &Path) -> Result<Option<Tally>, TallyError> {
    let path = dir.join(FILE);
    let bad = |detail: String| TallyError {
        path: path.clone(),
        detail,
    };
    // Never whole and never a FIFO or a device: `/dev/zero` as the tally once read 17 GB.
    let bytes = match crate::limits::read(&path, 1 << 20, "a tally file") {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(bad(e.to_string())),
    };
    if bytes.len() > 1 << 20 {
        return Err(bad(format!("{} bytes, far more than a tally", bytes.len())));
    }
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| bad(format!("not a tally ({e})")))
}

/// Writes `tally` durably: to a new file, synced, renamed over the old one, directory synced.
pub fn write(dir: &Path, tally: &Tally) -> std::io::Result<()> {
    let path = dir.join(FILE);
    let new = dir.join(format!("{FILE}.new"));
    let json = serde_json::to_vec(tally).map_err(std::io::Error::other)?;
    let _ = std::fs::remove_file(&new);
    let mut f = super::backup::create_private(&new)?;
    f.write_all(&json)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&new, &path)?;
    std::fs::File::open(dir)?.sync_all()
}

/// The stamps of every file under `db` (sorted by path), to compare with a clean close.
pub fn stamps(db: &Path) -> std::io::Result<Vec<FileStamp>> {
    files(db)?
        .into_iter()
        .map(|(name, meta)| Ok(FileStamp(name, meta.len(), modified_ns(&meta)?)))
        .collect()
}

/// Every file under `db`, by its path under `db`, with its metadata, sorted by path.
pub fn files(db: &Path) -> std::io::Result<Vec<(String, std::fs::Metadata)>> {
    let mut out = Vec::new();
    collect(db, db, &mut out)?;
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// A file's modification time in ns since 1970 (0 before it).
pub fn modified_ns(meta: &std::fs::Metadata) -> std::io::Result<i128> {
    Ok(meta
        .modified()?
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128))
}

fn collect(
    root: &Path,
    dir: &Path,
    out: &mut Vec<(String, std::fs::Metadata)>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        let path = entry.path();
        if meta.is_dir() {
            collect(root, &path, out)?;
        } else {
            let name = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            out.push((name, meta));
        }
    }
    Ok(())
}

/// A copy of a store's database (`<root>/db`) made to be opened instead of the store, removed
/// with `root` when dropped. Drop whatever opened it first: fields drop in the order declared.
pub struct Scratch {
    root: PathBuf,
}

impl Scratch {
    /// Copies `<store>/db` to `<root>/db`, replacing whatever `root` held; on failure (no room)
    /// nothing is left behind.
    pub fn copy_db(store: &Path, root: PathBuf) -> std::io::Result<Self> {
        let _ = std::fs::remove_dir_all(&root);
        let scratch = Self { root };
        copy_tree(&store.join("db"), &scratch.db())?;
        Ok(scratch)
    }

    /// The copied database directory.
    pub fn db(&self) -> PathBuf {
        self.root.join("db")
    }

    /// The directory holding the copy, to open as a store.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// The save number a database holds (0 if it has none).
pub fn saves_in(db: &sled::Db) -> sled::Result<u64> {
    Ok(db
        .get(KEY)?
        .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
        .map_or(0, u64::from_be_bytes))
}

/// Waits (up to 5 s) until nothing in this process holds sled's lock on `db/db` any more, so
/// its files are final; false if it is still held.
pub fn wait_released(db: &Path) -> bool {
    let started = std::time::Instant::now();
    let file = match std::fs::File::open(db.join("db")) {
        Ok(f) => f,
        Err(_) => return false,
    };
    loop {
        if file.try_lock().is_ok() {
            let _ = file.unlock();
            return true;
        }
        if started.elapsed() > std::time::Duration::from_secs(5) {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_round_trips_and_a_damaged_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(dir.path()).unwrap().is_none());
        let t = Tally {
            saves: 42,
            closed: Some(vec![FileStamp("db".into(), 7, 1)]),
            stamp: Some(Stamp::new(&Crypt::Plain, "00ff", 42, 3, ChainHash([9; 32]))),
        };
        write(dir.path(), &t).unwrap();
        assert_eq!(read(dir.path()).unwrap(), Some(t));
        std::fs::write(dir.path().join(FILE), b"{\"saves\":4").unwrap();
        let e = read(dir.path()).unwrap_err().to_string();
        assert!(e.contains(FILE) && e.contains("not a tally"), "{e}");
    }
}
