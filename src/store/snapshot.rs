//! The search snapshot: an immutable file beside a plain store's database
//! (`<store>/search.snap`) from which `kitnotes search` answers without opening the store.
//!
//! Opening sled costs a search process 50 to 70 ms (its start-up, zero-filling free segments,
//! three fsyncs; docs/PERFORMANCE.md) for a search that takes a few. The snapshot holds what
//! a search reads, each value exactly as the store holds it (in the codec's envelope, with the
//! checksum that binds it to its key): the search index's keys (postings, word lists, doc
//! table, doc names, patient numbers, counts), every patient, and the records a hit can show,
//! each under its id-index key with its primary key in front. The search itself is the
//! store's own code (`store::index::search`) reading through [`IndexSource`], so the answer
//! is the store's, byte for byte.
//!
//! Left out: psychotherapy notes (a search that includes them opens the store), scores and
//! other records without searchable text, and every value of an encrypted store: an encrypted
//! store never has a snapshot (it would need the key to seal it, and plain text must not lie
//! beside an encrypted store), so its searches open the store as before.
//!
//! **Never stale.** The snapshot is written only after the store was closed cleanly, and is
//! stamped with the store's tally file as it was then (`store::tally`: the save number, the
//! audit log's head, and the size and modification time of each of sled's files at that
//! close) and with the identity of sled's files (name, size, modification time in ns, inode).
//! A search uses the snapshot only while the tally file is byte for byte the one it was
//! stamped with, says the store is closed, and sled's files are exactly those stamped.
//! Opening the store marks the tally open (and sled rewrites its files), and every close
//! counts a save, so after any open, write or change behind kitnotes' back the snapshot is
//! not used until it is written again. A file that is cut short or damaged fails its
//! checksums and is ignored, never trusted.
//!
//! Layout (integers big-endian):
//! ```text
//! MAGIC                     16 bytes
//! values                    each value as stored, one after another
//! keys                      every key, one after another, sorted
//! entries                   per key: key offset u32, key length u16, 0u16, value offset u64,
//!                           value length u32 (20 bytes), in key order
//! stamp                     JSON ([`Stamp`])
//! footer                    keys at u64, entries at u64, count u32, stamp at u64, stamp length
//!                           u32, CRC-32 of keys, entries and stamp u32, MAGIC (52 bytes)
//! ```

use super::crypt::Crypt;
use super::index::{IndexSource, Pairs};
use super::tally::{self, Tally};
use super::{Result, StoreError};
use crate::model::{Patient, PatientId, Record};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The file's name in the store directory.
pub const FILE: &str = "search.snap";
const MAGIC: &[u8; 16] = b"kitnotes snap v1";
const FOOTER: usize = 8 + 8 + 4 + 8 + 4 + 4 + 16;
const ENTRY: usize = 20;
/// The largest tally file read (as `store::tally` reads it).
const TALLY_LIMIT: u64 = 1 << 20;

/// One of sled's files: its path under `db/`, length, modification time (ns since 1970) and
/// inode.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileId(pub String, pub u64, pub i128, pub u64);

/// What the snapshot was taken of: the tally file's bytes and sled's files, at a clean close.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stamp {
    pub tally: String,
    pub files: Vec<FileId>,
}

impl Stamp {
    /// The store in `dir` as it is now, if it is closed cleanly: its tally says so, and sled's
    /// files are those the tally recorded at the close. `None` otherwise (open now, crashed,
    /// no tally, files changed since).
    pub fn now(dir: &Path) -> Option<(Self, Tally)> {
        let bytes =
            crate::limits::read(&dir.join(tally::FILE), TALLY_LIMIT, "a tally file").ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let t: Tally = serde_json::from_str(&text).ok()?;
        let closed = t.closed.as_ref()?;
        let files = file_ids(&dir.join("db")).ok()?;
        let same = closed.len() == files.len()
            && closed
                .iter()
                .zip(&files)
                .all(|(c, f)| c.0 == f.0 && c.1 == f.1 && c.2 == f.2);
        same.then_some((Self { tally: text, files }, t))
    }
}

/// The ids of every file under `db`, sorted by path (as `tally::stamps` sorts them).
fn file_ids(db: &Path) -> std::io::Result<Vec<FileId>> {
    tally::files(db)?
        .into_iter()
        .map(|(name, meta)| {
            let modified = tally::modified_ns(&meta)?;
            Ok(FileId(name, meta.len(), modified, inode(&meta)))
        })
        .collect()
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(meta)
}

#[cfg(not(unix))]
fn inode(_meta: &std::fs::Metadata) -> u64 {
    0
}

/// The snapshot's path for the store in `dir`.
pub fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// Removes the store's snapshot, if any (an encrypted store must never have one).
pub fn remove(dir: &Path) {
    let _ = std::fs::remove_file(path(dir));
}

/// Said by a search that holds the store only to copy its snapshot out (about a second on
/// 100,000 notes): another kitnotes opening the store meanwhile waits for it instead of
/// finding the store "already open" ([`copying`]).
const COPYING: &str = "search.snap.copying";

/// How long a marker left behind by a search that died while copying is believed.
const COPYING_BELIEVED: std::time::Duration = std::time::Duration::from_secs(30);

/// Marks the store in `dir` as held only to copy its snapshot, until dropped.
pub struct Copying(PathBuf);

impl Copying {
    pub fn start(dir: &Path) -> Self {
        let marker = dir.join(COPYING);
        let _ = std::fs::write(&marker, std::process::id().to_string());
        Self(marker)
    }
}

impl Drop for Copying {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Whether the store in `dir` is held by a search copying its snapshot out (the marker is
/// there and recent): worth waiting a few seconds for, rather than refusing to open.
pub fn copying(dir: &Path) -> bool {
    std::fs::metadata(dir.join(COPYING))
        .and_then(|m| m.modified())
        .is_ok_and(|at| at.elapsed().is_ok_and(|age| age < COPYING_BELIEVED))
}

// ---------------------------------------------------------------------------------------------
// Reading

/// An open snapshot whose stamp matches the store: what a search reads instead of the store.
pub struct Snapshot {
    file: File,
    /// The keys, the entries and the stamp, as read (one read).
    table: Vec<u8>,
    keys_at: usize,
    entries_at: usize,
    count: usize,
    /// The file's length: every value must lie before the keys.
    values_end: u64,
}

fn read_at(file: &File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, at)
    }
    #[cfg(windows)]
    {
        let mut done = 0;
        while done < buf.len() {
            let n =
                std::os::windows::fs::FileExt::seek_read(file, &mut buf[done..], at + done as u64)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            done += n;
        }
        Ok(())
    }
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

impl Snapshot {
    /// The snapshot of the store in `dir`, if there is one, it reads whole, and the store is
    /// still exactly as it was when the snapshot was taken. `None` means: ask the store.
    pub fn open(dir: &Path) -> Option<Self> {
        // Never a FIFO or a device put in its place: opening one could wait forever.
        let file = crate::limits::open_regular(&path(dir), "a search snapshot").ok()?;
        let len = file.metadata().ok().filter(|m| m.is_file())?.len();
        if len < (MAGIC.len() + FOOTER) as u64 {
            return None;
        }
        let mut footer = [0u8; FOOTER];
        read_at(&file, &mut footer, len - FOOTER as u64).ok()?;
        if &footer[FOOTER - 16..] != MAGIC {
            return None;
        }
        let keys_at = be_u64(&footer, 0)?;
        let entries_at = be_u64(&footer, 8)?;
        let count = be_u32(&footer, 16)? as u64;
        let stamp_at = be_u64(&footer, 20)?;
        let stamp_len = u64::from(be_u32(&footer, 28)?);
        let crc = be_u32(&footer, 32)?;
        let tail_end = len - FOOTER as u64;
        let ordered = MAGIC.len() as u64 <= keys_at
            && keys_at <= entries_at
            && entries_at.checked_add(count.checked_mul(ENTRY as u64)?)? == stamp_at
            && stamp_at.checked_add(stamp_len)? == tail_end;
        if !ordered {
            return None;
        }
        let mut table = vec![0u8; usize::try_from(tail_end - keys_at).ok()?];
        read_at(&file, &mut table, keys_at).ok()?;
        if crc32fast::hash(&table) != crc {
            return None;
        }
        let stamp_from = usize::try_from(stamp_at - keys_at).ok()?;
        let stamp: Stamp = serde_json::from_slice(&table[stamp_from..]).ok()?;
        match Stamp::now(dir) {
            Some((now, _)) if now == stamp => {}
            _ => return None,
        }
        Some(Self {
            file,
            keys_at: 0,
            entries_at: usize::try_from(entries_at - keys_at).ok()?,
            count: count as usize,
            values_end: keys_at,
            table,
        })
    }

    fn damaged(&self, what: &str) -> StoreError {
        StoreError::Corrupt {
            key: FILE.to_owned(),
            detail: what.to_owned(),
        }
    }

    /// Entry `i`: its key, and its value's offset and length.
    fn entry(&self, i: usize) -> Result<(&[u8], u64, usize)> {
        let e = self.entries_at + i * ENTRY;
        let bad = || self.damaged("an entry of its table is out of place");
        let key_at = self.keys_at + be_u32(&self.table, e).ok_or_else(bad)? as usize;
        let key_len = u16::from_be_bytes(
            self.table
                .get(e + 4..e + 6)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(bad)?,
        ) as usize;
        let key = self
            .table
            .get(key_at..key_at + key_len)
            .filter(|_| key_at + key_len <= self.entries_at)
            .ok_or_else(bad)?;
        let at = be_u64(&self.table, e + 8).ok_or_else(bad)?;
        let len = be_u32(&self.table, e + 16).ok_or_else(bad)? as usize;
        if at
            .checked_add(len as u64)
            .is_none_or(|end| end > self.values_end)
        {
            return Err(bad());
        }
        Ok((key, at, len))
    }

    /// The first entry whose key is not below `key`.
    fn lower_bound(&self, key: &[u8]) -> Result<usize> {
        let (mut lo, mut hi) = (0, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.entry(mid)?.0 < key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }

    fn value_of(&self, at: u64, len: usize) -> Result<Vec<u8>> {
        let mut v = vec![0u8; len];
        read_at(&self.file, &mut v, at).map_err(|e| self.damaged(&e.to_string()))?;
        Ok(v)
    }

    /// The value stored under `key`, as the store held it.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let i = self.lower_bound(key)?;
        if i >= self.count {
            return Ok(None);
        }
        let (k, at, len) = self.entry(i)?;
        if k != key {
            return Ok(None);
        }
        self.value_of(at, len).map(Some)
    }

    /// A patient, as the store would give it.
    pub fn patient(&self, id: &PatientId) -> Result<Option<Patient>> {
        let key = super::keys::patient_key(&Crypt::Plain, id);
        match self.record_at(&key)? {
            Some(Record::Patient(p)) => Ok(Some(p)),
            Some(_) => Err(self.damaged("a patient's key holds another record")),
            None => Ok(None),
        }
    }

    /// A record with text, by id, as the store would give it (none for a psychotherapy note:
    /// the snapshot does not hold them).
    pub fn record(&self, id: &str) -> Result<Option<Record>> {
        let Some(v) = self.get(&super::keys::index_key(&Crypt::Plain, id))? else {
            return Ok(None);
        };
        // The record's primary key, then its value as stored under it (`Writer::add_record`).
        let len = v
            .get(..2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]) as usize);
        let Some((key, value)) = len.and_then(|l| Some((v.get(2..2 + l)?, v.get(2 + l..)?))) else {
            return Err(self.damaged(&format!("record {id} is cut short")));
        };
        self.decode(key, value).map(Some)
    }

    fn record_at(&self, key: &[u8]) -> Result<Option<Record>> {
        match self.get(key)? {
            None => Ok(None),
            Some(v) => self.decode(key, &v).map(Some),
        }
    }

    fn decode(&self, key: &[u8], value: &[u8]) -> Result<Record> {
        super::codec::decode(&Crypt::Plain, key, value).map_err(|e| self.damaged(&e.to_string()))
    }

    /// The best `limit` entries for `query`, by the store's own search over the snapshot.
    pub fn search(
        &self,
        query: &crate::search::Query,
        limit: usize,
    ) -> Result<crate::search::Results> {
        let mut cache = super::index::SearchCache::default();
        super::index::search(self, query, limit, |id| self.record(id), &mut cache, 0)
    }
}

impl<'s> IndexSource for &'s Snapshot {
    type Bytes = Vec<u8>;

    fn crypt(&self) -> &Crypt {
        &Crypt::Plain
    }

    fn value(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.get(key)
    }

    fn scan(&self, prefix: &[u8], last_first: bool) -> Pairs<'_, Vec<u8>> {
        let snap: &'s Snapshot = self;
        let range = snap.lower_bound(prefix).and_then(|start| {
            let mut end = start;
            while end < snap.count && snap.entry(end)?.0.starts_with(prefix) {
                end += 1;
            }
            Ok(start..end)
        });
        let range = match range {
            Ok(r) => r,
            Err(e) => return Box::new(std::iter::once(Err(e))),
        };
        let one = move |i: usize| -> Result<(Vec<u8>, Vec<u8>)> {
            let (k, at, len) = snap.entry(i)?;
            Ok((k.to_vec(), snap.value_of(at, len)?))
        };
        if last_first {
            Box::new(range.rev().map(one))
        } else {
            Box::new(range.map(one))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Writing

/// A snapshot being written, to a file beside the store that becomes the snapshot only once
/// it is whole and stamped ([`Writer::finish`]).
pub struct Writer {
    dir: PathBuf,
    new: PathBuf,
    out: BufWriter<File>,
    at: u64,
    entries: Vec<(Vec<u8>, u64, u32)>,
    /// The store's save number while it was open: its close counts exactly one more.
    saves_open: u64,
}

impl Writer {
    /// Starts a snapshot of the plain store open in `dir` (the store must be open in this
    /// process, so that nothing else changes it while it is copied).
    pub fn create(dir: &Path) -> std::io::Result<Self> {
        let saves_open = tally::read(dir)
            .map_err(|e| std::io::Error::other(e.to_string()))?
            .map_or(0, |t| t.saves);
        let new = dir.join(format!("{FILE}.new"));
        let _ = std::fs::remove_file(&new);
        let file = super::backup::create_private(&new)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(MAGIC)?;
        Ok(Self {
            dir: dir.to_owned(),
            new,
            out,
            at: MAGIC.len() as u64,
            entries: Vec::new(),
            saves_open,
        })
    }

    /// Adds one key and its value as stored.
    pub fn add(&mut self, key: &[u8], value: &[u8]) -> std::io::Result<()> {
        self.add_parts(key, &[value])
    }

    /// Adds a record under its id-index key (`by_id`): its primary key (length u16, the key)
    /// and its value as stored under that key. One key a record keeps the table small: the
    /// table is read whole by every search.
    pub fn add_record(&mut self, by_id: &[u8], key: &[u8], value: &[u8]) -> std::io::Result<()> {
        let len = u16::try_from(key.len())
            .map_err(|_| std::io::Error::other("a key too long for a snapshot"))?;
        self.add_parts(by_id, &[&len.to_be_bytes(), key, value])
    }

    fn add_parts(&mut self, key: &[u8], parts: &[&[u8]]) -> std::io::Result<()> {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let (Ok(_), Ok(len)) = (u16::try_from(key.len()), u32::try_from(total)) else {
            return Err(std::io::Error::other(
                "a key or value too long for a snapshot",
            ));
        };
        for p in parts {
            self.out.write_all(p)?;
        }
        self.entries.push((key.to_vec(), self.at, len));
        self.at += u64::from(len);
        Ok(())
    }

    /// Once the store is closed: stamps the snapshot with the store as the close left it and
    /// puts it in place. Returns false, and leaves nothing behind, if the store is not as this
    /// process left it (another process opened it since, or it did not close cleanly).
    pub fn finish(mut self) -> std::io::Result<bool> {
        self.out.flush()?;
        let Some((stamp, tally)) = Stamp::now(&self.dir) else {
            return Ok(false);
        };
        if tally.saves != self.saves_open + 1 {
            return Ok(false);
        }
        self.entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        if self.entries.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(std::io::Error::other("a key twice in a snapshot"));
        }
        let mut tail = Vec::new();
        let keys_at = self.at;
        let mut key_offsets = Vec::with_capacity(self.entries.len());
        for (k, _, _) in &self.entries {
            let off = u32::try_from(tail.len())
                .map_err(|_| std::io::Error::other("too many keys for a snapshot"))?;
            key_offsets.push(off);
            tail.extend_from_slice(k);
        }
        let entries_at = keys_at + tail.len() as u64;
        for ((k, at, len), off) in self.entries.iter().zip(key_offsets) {
            tail.extend_from_slice(&off.to_be_bytes());
            tail.extend_from_slice(&(k.len() as u16).to_be_bytes());
            tail.extend_from_slice(&[0, 0]);
            tail.extend_from_slice(&at.to_be_bytes());
            tail.extend_from_slice(&len.to_be_bytes());
        }
        let stamp_at = keys_at + tail.len() as u64;
        let stamp = serde_json::to_vec(&stamp).map_err(std::io::Error::other)?;
        tail.extend_from_slice(&stamp);
        let crc = crc32fast::hash(&tail);
        let count = u32::try_from(self.entries.len())
            .map_err(|_| std::io::Error::other("too many keys for a snapshot"))?;
        tail.extend_from_slice(&keys_at.to_be_bytes());
        tail.extend_from_slice(&entries_at.to_be_bytes());
        tail.extend_from_slice(&count.to_be_bytes());
        tail.extend_from_slice(&stamp_at.to_be_bytes());
        tail.extend_from_slice(&(stamp.len() as u32).to_be_bytes());
        tail.extend_from_slice(&crc.to_be_bytes());
        tail.extend_from_slice(MAGIC);
        self.out.write_all(&tail)?;
        self.out.flush()?;
        // Not synced: a snapshot cut short or zeroed by a crash fails its checksums and is
        // ignored (the next search opens the store and writes it again), and syncing 250 MB
        // would cost a search seconds.
        std::fs::rename(&self.new, path(&self.dir))?;
        Ok(true)
    }
}

impl Drop for Writer {
    /// A snapshot not finished leaves nothing behind (once finished, its file was renamed).
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.new);
    }
}
