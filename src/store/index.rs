//! The search index: an inverted index of the store's text, kept in the same sled tree and
//! changed in the same atomic write as the records it indexes.
//!
//! Each searchable part of a record (see `search::text::parts`) is a *doc* with a number that
//! never changes while the part exists. Layout (every value in the codec's envelope, kind `x`):
//! ```text
//! X\0<word>\0<first>   a segment of <word>'s postings, from doc <first> up to the next
//!                      segment's first: count, then per doc: doc - previous doc - 1 (0 for
//!                      the first), tf, tf positions (each the distance from the previous one),
//!                      all LEB128 varints; about 4 KB a segment
//! D\0<block>           the doc table, 4,096 docs a block: 16 bytes per doc (patient number
//!                      u32, kind u8, status u8, words u16, time in seconds i64); patient
//!                      number 0 is a free slot
//! E\0<block>           the names of 512 docs: per doc its part number and record id (varint
//!                      part, varint length, id; length 0 is a free slot)
//! R\0<record id>       the record's doc per part (u32 each; u32::MAX: the part has no text)
//! Q\0<patient id>      the patient's number (u32, from 1)
//! W\0<first letter>    the words whose postings start with that letter, sorted, one per line:
//!                      what a prefix is expanded from (may keep words no longer posted;
//!                      a rebuild drops them)
//! M\0search            format version, next doc, next patient number, live docs, total words
//! ```
//! In an encrypted store every word, id and letter in these keys is a keyed hash (`Crypt::name`)
//! and every value is sealed: the keys name no word, and the word list is only read unlocked.
//!
//! Segments keep a save cheap (it rewrites one small segment per word of its doc), a search
//! fast (a common word over 100,000 notes is a few hundred values, read in one range scan) and
//! sled's key count low (a rare word is one key), which is what sled's start-up time follows.
//! Ranking is BM25 over the doc table's word counts.

mod verify;

pub use verify::{Verifier, verify};

use super::codec;
use super::crypt::{Crypt, NameOf, Vault};
use super::keys;
use super::{Result, StoreError};
use crate::model::{PatientId, Record};
use crate::search::query::{Clause, Order, Query};
use crate::search::snippet::{Snippet, snippet};
use crate::search::text::{DocKind, DocStatus, Part, each_word, has_text, parts};
use jiff::Timestamp;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// A word's postings are cut into segments of about this many bytes: a save rewrites one small
/// segment per word, and a common word is a few hundred values, read in one range scan.
pub const SEGMENT_BYTES: usize = 4096;
/// Docs per doc-table block (64 KB): a search over every patient reads the table for its
/// candidates, and few large values load much faster than many small ones.
pub const DOC_BLOCK: u32 = 4096;
const ENTRY: usize = 16;
/// The layout above (2: segments and doc-name blocks; 3: named keys and the word list). A store whose index has another
/// version is re-indexed when opened.
pub const INDEX_VERSION: u32 = 3;
const NO_DOC: u32 = u32::MAX;
/// A prefix matches at most this many words (the first in alphabetical order).
pub const MAX_PREFIX_WORDS: usize = 512;

/// Keys to write, each with its new value (`None`: remove the key).
pub type IndexOps = Vec<(Vec<u8>, Option<Vec<u8>>)>;

pub(super) fn corrupt(key: &[u8], detail: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        key: super::sled_store::printable_key(key),
        detail: detail.into(),
    }
}

/// Where a search reads the index from: the store's own tree ([`Vault`]), or the snapshot of
/// it beside the database that `kitnotes search` answers from without opening the store
/// (`store::snapshot`). Values come as they are stored, in the codec's envelope.
pub trait IndexSource: Copy {
    type Bytes: AsRef<[u8]>;
    fn crypt(&self) -> &Crypt;
    fn value(&self, key: &[u8]) -> Result<Option<Self::Bytes>>;
    /// Every key under `prefix` with its value, in key order, or the last first.
    fn scan(&self, prefix: &[u8], last_first: bool) -> Pairs<'_, Self::Bytes>;
}

/// Keys with their values, as [`IndexSource::scan`] gives them.
pub type Pairs<'a, B> = Box<dyn Iterator<Item = Result<(B, B)>> + 'a>;

impl IndexSource for Vault<'_> {
    type Bytes = sled::IVec;
    fn crypt(&self) -> &Crypt {
        self.crypt
    }
    fn value(&self, key: &[u8]) -> Result<Option<sled::IVec>> {
        Ok(self.tree.get(key)?)
    }
    fn scan(&self, prefix: &[u8], last_first: bool) -> Pairs<'_, sled::IVec> {
        let all = self.tree.scan_prefix(prefix);
        if last_first {
            Box::new(all.rev().map(|kv| kv.map_err(Into::into)))
        } else {
            Box::new(all.map(|kv| kv.map_err(Into::into)))
        }
    }
}

fn get(tree: impl IndexSource, key: &[u8]) -> Result<Option<Vec<u8>>> {
    match tree.value(key)? {
        None => Ok(None),
        Some(v) => codec::decode_index(tree.crypt(), key, v.as_ref())
            .map(|b| Some(b.into_owned()))
            .map_err(|e| corrupt(key, e.to_string())),
    }
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

// ---------------------------------------------------------------------------------------------
// Keys

pub fn postings_key(tree: Vault<'_>, word: &str, first: u32) -> Vec<u8> {
    [
        keys::POSTINGS_PREFIX,
        &tree.crypt.name(NameOf::Word, word.as_bytes()),
        b"\0",
        &first.to_be_bytes(),
    ]
    .concat()
}

fn postings_prefix(tree: impl IndexSource, word: &str) -> Vec<u8> {
    [
        keys::POSTINGS_PREFIX,
        &tree.crypt().name(NameOf::Word, word.as_bytes()),
        b"\0",
    ]
    .concat()
}

/// The keys of every segment of `word`: from "<word>\0" up to (not including) "<word>\x01".
fn word_range(tree: Vault<'_>, word: &str) -> std::ops::Range<Vec<u8>> {
    let start = postings_prefix(tree, word);
    let mut end = start.clone();
    if let Some(last) = end.last_mut() {
        *last = 1;
    }
    start..end
}

fn docs_key(block: u32) -> Vec<u8> {
    [keys::DOCS_PREFIX, &block.to_be_bytes()].concat()
}

/// Docs per names block.
const NAME_BLOCK: u32 = 512;

fn names_key(block: u32) -> Vec<u8> {
    [keys::DOC_REF_PREFIX, &block.to_be_bytes()].concat()
}

/// The part number and record id of each doc of a names block.
type Names = Vec<Option<(u32, String)>>;

fn decode_names(b: &[u8]) -> Option<Names> {
    let mut v = Varints::new(b);
    let mut out = Vec::new();
    while v.at < b.len() {
        let part = v.next()?;
        let len = v.next()? as usize;
        if len == 0 {
            out.push(None);
            continue;
        }
        let id = std::str::from_utf8(b.get(v.at..v.at + len)?).ok()?;
        v.at += len;
        out.push(Some((part, id.to_owned())));
    }
    Some(out)
}

fn encode_names(names: &Names) -> Vec<u8> {
    let mut out = Vec::new();
    for n in names {
        match n {
            None => out.extend_from_slice(&[0, 0]),
            Some((part, id)) => {
                put_varint(&mut out, *part);
                put_varint(&mut out, id.len() as u32);
                out.extend_from_slice(id.as_bytes());
            }
        }
    }
    out
}

/// Reads doc names a block at a time, each block once.
struct NameTable<S> {
    tree: S,
    blocks: HashMap<u32, Names>,
}

impl<S: IndexSource> NameTable<S> {
    fn new(tree: S) -> Self {
        Self {
            tree,
            blocks: HashMap::new(),
        }
    }

    /// The part number and record id of `doc`.
    fn get(&mut self, doc: u32) -> Result<Option<&(u32, String)>> {
        let block = doc / NAME_BLOCK;
        if let std::collections::hash_map::Entry::Vacant(e) = self.blocks.entry(block) {
            let key = names_key(block);
            let names = match get(self.tree, &key)? {
                None => Vec::new(),
                Some(b) => {
                    decode_names(&b).ok_or_else(|| corrupt(&key, "the doc names cannot be read"))?
                }
            };
            e.insert(names);
        }
        Ok(self
            .blocks
            .get(&block)
            .and_then(|n| n.get((doc % NAME_BLOCK) as usize))
            .and_then(Option::as_ref))
    }
}

fn record_docs_key(tree: Vault<'_>, id: &str) -> Vec<u8> {
    [
        keys::RECORD_DOCS_PREFIX,
        &tree.crypt.name(NameOf::Id, id.as_bytes()),
    ]
    .concat()
}

/// The record's doc per part, as the index holds them (empty: none).
fn record_docs(tree: Vault<'_>, id: &str) -> Result<Vec<u32>> {
    docs_of_name(tree, &tree.crypt.name(NameOf::Id, id.as_bytes()))
}

/// [`record_docs`] by the id's name in keys (the id itself in a plain store).
fn docs_of_name(tree: Vault<'_>, name: &[u8]) -> Result<Vec<u32>> {
    Ok(get(tree, &[keys::RECORD_DOCS_PREFIX, name].concat())?
        .unwrap_or_default()
        .chunks_exact(4)
        .filter_map(|c| u32_at(c, 0))
        .collect())
}

fn patient_no_key(tree: impl IndexSource, id: &PatientId) -> Vec<u8> {
    [
        keys::PATIENT_NO_PREFIX,
        &tree.crypt().name(NameOf::Id, id.as_str().as_bytes()),
    ]
    .concat()
}

/// The word's name (the word itself in a plain store) and first doc of a postings key.
fn parse_postings_key(key: &[u8]) -> Option<(&[u8], u32)> {
    let rest = key.strip_prefix(keys::POSTINGS_PREFIX)?;
    if rest.len() < 5 || rest[rest.len() - 5] != 0 {
        return None;
    }
    let (word, block) = rest.split_at(rest.len() - 5);
    Some((word, u32_at(block, 1)?))
}

/// The key of the word list holding the words that start like `word` (by its first letter);
/// `None` for an empty word.
fn words_key(tree: impl IndexSource, word: &str) -> Option<Vec<u8>> {
    let first = word.chars().next()?;
    let mut buf = [0u8; 4];
    let letter = first.encode_utf8(&mut buf).as_bytes();
    Some(
        [
            keys::WORDS_PREFIX,
            &tree.crypt().name(NameOf::Bucket, letter),
        ]
        .concat(),
    )
}

/// The words of one word list, in order.
fn word_list(tree: impl IndexSource, key: &[u8]) -> Result<Vec<String>> {
    let Some(b) = get(tree, key)? else {
        return Ok(Vec::new());
    };
    let text = String::from_utf8(b).map_err(|_| corrupt(key, "the word list is not UTF-8"))?;
    Ok(text
        .split('\n')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Stats, doc table, varints

/// Counts and the next numbers to hand out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub version: u32,
    pub next_doc: u32,
    pub next_patient: u32,
    pub live: u64,
    pub total_words: u64,
}

impl Stats {
    fn new() -> Self {
        Self {
            version: INDEX_VERSION,
            next_doc: 0,
            next_patient: 1,
            live: 0,
            total_words: 0,
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(28);
        b.extend_from_slice(&self.version.to_be_bytes());
        b.extend_from_slice(&self.next_doc.to_be_bytes());
        b.extend_from_slice(&self.next_patient.to_be_bytes());
        b.extend_from_slice(&self.live.to_be_bytes());
        b.extend_from_slice(&self.total_words.to_be_bytes());
        b
    }

    fn decode(b: &[u8]) -> Option<Self> {
        Some(Self {
            version: u32_at(b, 0)?,
            next_doc: u32_at(b, 4)?,
            next_patient: u32_at(b, 8)?,
            live: u64_at(b, 12)?,
            total_words: u64_at(b, 20)?,
        })
    }
}

/// The index's stats; `None` when the store has no index yet.
pub fn stats(tree: impl IndexSource) -> Result<Option<Stats>> {
    match get(tree, keys::SEARCH_STATS_KEY)? {
        None => Ok(None),
        Some(b) => Stats::decode(&b).map(Some).ok_or_else(|| {
            corrupt(
                keys::SEARCH_STATS_KEY,
                "the search index's counts are cut short",
            )
        }),
    }
}

/// What the doc table says of a doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocEntry {
    pub patient: u32,
    pub kind: u8,
    pub status: u8,
    pub words: u16,
    pub at: i64,
}

impl DocEntry {
    fn encode(&self, out: &mut [u8]) {
        out[0..4].copy_from_slice(&self.patient.to_be_bytes());
        out[4] = self.kind;
        out[5] = self.status;
        out[6..8].copy_from_slice(&self.words.to_be_bytes());
        out[8..16].copy_from_slice(&self.at.to_be_bytes());
    }

    fn decode(b: &[u8]) -> Option<Self> {
        let b: &[u8; ENTRY] = b.get(..ENTRY)?.try_into().ok()?;
        let patient = u32::from_be_bytes(b[0..4].try_into().ok()?);
        (patient != 0).then(|| Self {
            patient,
            kind: b[4],
            status: b[5],
            words: u16::from_be_bytes([b[6], b[7]]),
            at: i64::from_be_bytes(b[8..16].try_into().unwrap_or_default()),
        })
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads varints from a slice; `None` at the end or on a malformed one.
struct Varints<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Varints<'a> {
    fn new(b: &'a [u8]) -> Self {
        Self { b, at: 0 }
    }

    fn next(&mut self) -> Option<u32> {
        let mut v: u32 = 0;
        for shift in (0..35).step_by(7) {
            let byte = *self.b.get(self.at)?;
            self.at += 1;
            v |= u32::from(byte & 0x7f).checked_shl(shift)?;
            if byte < 0x80 {
                return Some(v);
            }
        }
        None
    }

    fn skip(&mut self, n: u32) -> Option<()> {
        for _ in 0..n {
            self.next()?;
        }
        Some(())
    }
}

/// One doc's postings in a segment: the doc, how often the word is in it, where its positions
/// are in the segment's bytes, and where its tf starts (tf and positions are copied as they are
/// when a segment is rewritten).
#[derive(Debug, Clone, Copy)]
struct Posting {
    doc: u32,
    tf: u32,
    pos: (usize, usize),
    raw: usize,
}

/// Every posting of a segment whose first doc is `first`, in doc order.
fn decode_block(body: &[u8], first: u32) -> Option<Vec<Posting>> {
    let mut v = Varints::new(body);
    let n = v.next()?;
    let mut out = Vec::with_capacity(n.min(4096) as usize);
    let mut doc = first;
    for i in 0..n {
        let delta = v.next()?;
        doc = if i == 0 {
            doc.checked_add(delta)?
        } else {
            doc.checked_add(delta.checked_add(1)?)?
        };
        let raw = v.at;
        let tf = v.next()?;
        let start = v.at;
        v.skip(tf)?;
        out.push(Posting {
            doc,
            tf,
            pos: (start, v.at),
            raw,
        });
    }
    (v.at == body.len()).then_some(out)
}

fn positions(bytes: &[u8]) -> Vec<u32> {
    let mut v = Varints::new(bytes);
    let mut out = Vec::new();
    let mut p = 0u32;
    while let Some(d) = v.next() {
        p = p.wrapping_add(d);
        out.push(p);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Writing

/// FNV-1a, for maps keyed by words while indexing and checking: several times faster than the
/// standard SipHash on short words, which was a tenth of an import's and a `check`'s time. Its
/// keys are the store's own words, so there is no one to choose colliding ones.
#[derive(Default)]
pub(crate) struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// A map keyed by words, hashed with [`Fnv`].
pub(crate) type WordMap<V> = HashMap<String, V, std::hash::BuildHasherDefault<Fnv>>;

/// The words of a part with their positions; a field boundary leaves a gap, so a phrase never
/// spans two fields (`verify` walks them the same way).
fn part_words(part: &Part<'_>) -> (WordMap<Vec<u32>>, u32) {
    let mut out: WordMap<Vec<u32>> = WordMap::with_capacity_and_hasher(64, Default::default());
    let mut pos = 0u32;
    let mut count = 0u32;
    for field in &part.fields {
        each_word(field, |w, _, _| {
            match out.get_mut(w) {
                Some(at) => at.push(pos),
                None => {
                    out.insert(w.to_owned(), vec![pos]);
                }
            }
            pos = pos.saturating_add(1);
            count += 1;
        });
        pos = pos.saturating_add(1);
    }
    (out, count)
}

#[derive(Default)]
struct WordEdit {
    removed: Vec<u32>,
    /// Docs added or replaced: the doc and its positions' range in `Planner::arena`.
    added: Vec<(u32, u32, u32)>,
}

/// The segment a word's new postings go to while appending.
#[derive(Default)]
struct OpenSegment {
    first: u32,
    prev: u32,
    n: u32,
    /// The postings, without the count in front.
    bytes: Vec<u8>,
}

impl OpenSegment {
    /// Whether the word has postings yet, and its last segment, to go on filling, if it has
    /// room.
    fn last_of(tree: Vault<'_>, word: &str) -> Result<(bool, Option<Self>)> {
        let Some((k, v)) = tree.range(word_range(tree, word)).next_back().transpose()? else {
            return Ok((false, None));
        };
        let body =
            codec::decode_index(tree.crypt, &k, &v).map_err(|e| corrupt(&k, e.to_string()))?;
        if body.len() >= SEGMENT_BYTES {
            return Ok((true, None));
        }
        let first = parse_postings_key(&k).map(|(_, f)| f);
        let postings = first.and_then(|f| decode_block(&body, f));
        let (Some(first), Some(postings)) = (first, postings) else {
            return Err(corrupt(&k, "a postings segment cannot be read"));
        };
        let mut v = Varints::new(&body);
        v.next();
        Ok((
            true,
            Some(Self {
                first,
                prev: postings.last().map_or(first, |p| p.doc),
                n: postings.len() as u32,
                bytes: body[v.at..].to_vec(),
            }),
        ))
    }

    fn encode(self, tree: Vault<'_>, word: &str) -> (Vec<u8>, Vec<u8>) {
        let mut body = Vec::with_capacity(self.bytes.len() + 5);
        put_varint(&mut body, self.n);
        body.extend_from_slice(&self.bytes);
        (postings_key(tree, word, self.first), body)
    }
}

/// Works out every key the index needs changed for a set of record changes. Reads the index as
/// it is; writes nothing.
struct Planner<'t> {
    tree: Vault<'t>,
    stats: Stats,
    /// Words that had no postings before this change and get some, for the word lists.
    posted: HashSet<String>,
    words: BTreeMap<String, WordEdit>,
    arena: Vec<u32>,
    docs: HashMap<u32, Vec<u8>>,
    names: HashMap<u32, Names>,
    /// Appending (all docs new, numbered after every doc in the index): each word's last
    /// segment is kept open and written once full, so every segment is written once.
    append: Option<WordMap<OpenSegment>>,
    patients: HashMap<PatientId, u32>,
    ops: IndexOps,
}

impl<'t> Planner<'t> {
    fn new(tree: Vault<'t>, stats: Stats) -> Self {
        Self {
            tree,
            stats,
            posted: HashSet::new(),
            words: BTreeMap::new(),
            arena: Vec::new(),
            docs: HashMap::new(),
            names: HashMap::new(),
            append: None,
            patients: HashMap::new(),
            ops: Vec::new(),
        }
    }

    fn put(&mut self, key: Vec<u8>, body: &[u8]) {
        let value = codec::encode_index(self.tree.crypt, &key, body);
        self.ops.push((key, Some(value)));
    }

    fn patient_no(&mut self, id: &PatientId) -> Result<u32> {
        if let Some(n) = self.patients.get(id) {
            return Ok(*n);
        }
        let key = patient_no_key(self.tree, id);
        let n = match get(self.tree, &key)? {
            Some(b) => {
                u32_at(&b, 0).ok_or_else(|| corrupt(&key, "the patient number is cut short"))?
            }
            None => {
                let n = self.stats.next_patient;
                self.stats.next_patient += 1;
                self.put(key, &n.to_be_bytes());
                n
            }
        };
        self.patients.insert(id.clone(), n);
        Ok(n)
    }

    fn doc_block(&mut self, doc: u32) -> Result<&mut Vec<u8>> {
        let block = doc / DOC_BLOCK;
        if !self.docs.contains_key(&block) {
            let b = get(self.tree, &docs_key(block))?.unwrap_or_default();
            self.docs.insert(block, b);
        }
        let b = self.docs.entry(block).or_default();
        let end = ((doc % DOC_BLOCK) as usize + 1) * ENTRY;
        if b.len() < end {
            b.resize(end, 0);
        }
        Ok(b)
    }

    fn entry(&mut self, doc: u32) -> Result<Option<DocEntry>> {
        let at = (doc % DOC_BLOCK) as usize * ENTRY;
        let b = self.doc_block(doc)?;
        Ok(DocEntry::decode(&b[at..]))
    }

    fn set_entry(&mut self, doc: u32, entry: Option<DocEntry>) -> Result<()> {
        let at = (doc % DOC_BLOCK) as usize * ENTRY;
        let b = self.doc_block(doc)?;
        match entry {
            Some(e) => e.encode(&mut b[at..at + ENTRY]),
            None => b[at..at + ENTRY].fill(0),
        }
        Ok(())
    }

    fn set_name(&mut self, doc: u32, name: Option<(u32, String)>) -> Result<()> {
        let block = doc / NAME_BLOCK;
        if !self.names.contains_key(&block) {
            let key = names_key(block);
            let names = match get(self.tree, &key)? {
                None => Vec::new(),
                Some(b) => {
                    decode_names(&b).ok_or_else(|| corrupt(&key, "the doc names cannot be read"))?
                }
            };
            self.names.insert(block, names);
        }
        let names = self.names.entry(block).or_default();
        let at = (doc % NAME_BLOCK) as usize;
        if names.len() <= at {
            names.resize(at + 1, None);
        }
        names[at] = name;
        Ok(())
    }

    fn remove_words(&mut self, doc: u32, part: &Part<'_>) {
        for (w, _) in part_words(part).0 {
            self.words.entry(w).or_default().removed.push(doc);
        }
    }

    /// Adds the part's words under `doc`; returns how many words it has.
    fn add_words(&mut self, doc: u32, part: &Part<'_>) -> Result<u32> {
        let (ws, count) = part_words(part);
        if self.append.is_some() {
            for (w, pos) in ws {
                self.append_posting(w, doc, &pos)?;
            }
            return Ok(count);
        }
        for (w, pos) in ws {
            let start = self.arena.len() as u32;
            self.arena.extend_from_slice(&pos);
            let end = self.arena.len() as u32;
            self.words
                .entry(w)
                .or_default()
                .added
                .push((doc, start, end));
        }
        Ok(count)
    }

    /// Appends one posting to the word's open segment, writing the segment out when full.
    fn append_posting(&mut self, word: String, doc: u32, pos: &[u32]) -> Result<()> {
        if self.append.as_ref().is_some_and(|a| !a.contains_key(&word)) {
            let (posted, seg) = OpenSegment::last_of(self.tree, &word)?;
            if !posted {
                self.posted.insert(word.clone());
            }
            self.append
                .get_or_insert_default()
                .insert(word.clone(), seg.unwrap_or_default());
        }
        // The posting's size, to know whether it still fits, without building it first.
        let varint_len = |v: u32| (32 - v.leading_zeros()).max(1).div_ceil(7) as usize;
        let mut last = 0;
        let size = 5
            + varint_len(pos.len() as u32)
            + pos
                .iter()
                .map(|p| {
                    let l = varint_len(p - last);
                    last = *p;
                    l
                })
                .sum::<usize>();
        let Some(seg) = self.append.as_mut().and_then(|a| a.get_mut(&word)) else {
            return Ok(());
        };
        let full = if seg.n > 0 && seg.bytes.len() + size > SEGMENT_BYTES {
            Some(std::mem::take(seg))
        } else {
            None
        };
        if seg.n == 0 {
            seg.first = doc;
            put_varint(&mut seg.bytes, 0);
        } else {
            put_varint(&mut seg.bytes, doc - seg.prev - 1);
        }
        put_varint(&mut seg.bytes, pos.len() as u32);
        let mut last = 0;
        for p in pos {
            put_varint(&mut seg.bytes, p - last);
            last = *p;
        }
        seg.prev = doc;
        seg.n += 1;
        if let Some(full) = full {
            let (key, body) = full.encode(self.tree, &word);
            self.put(key, &body);
        }
        Ok(())
    }

    /// Writes out every open segment (appending).
    fn close_segments(&mut self) {
        let Some(open) = self.append.take() else {
            return;
        };
        let mut open: Vec<(String, OpenSegment)> = open.into_iter().collect();
        open.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (word, seg) in open {
            if seg.n > 0 {
                let (key, body) = seg.encode(self.tree, &word);
                self.put(key, &body);
            }
        }
        self.append = Some(WordMap::default());
    }

    fn entry_for(&mut self, patient: &PatientId, part: &Part<'_>, count: u32) -> Result<DocEntry> {
        Ok(DocEntry {
            patient: self.patient_no(patient)?,
            kind: part.kind.byte(),
            status: part.status.byte(),
            words: count.min(u32::from(u16::MAX)) as u16,
            at: part.at.as_second(),
        })
    }

    /// One record going from `old` (as stored before this change) to `new`.
    fn record(&mut self, id: &str, old: Option<&Record>, new: Option<&Record>) -> Result<()> {
        let rkey = record_docs_key(self.tree, id);
        let old_docs = match old {
            None => Vec::new(),
            Some(_) => record_docs(self.tree, id)?,
        };
        let old_parts = old.map(parts).unwrap_or_default();
        let new_parts = new.map(parts).unwrap_or_default();
        let mut new_docs = vec![NO_DOC; new_parts.len()];
        let n = old_docs.len().max(new_parts.len()).max(old_parts.len());
        #[allow(clippy::needless_range_loop)] // i indexes old docs, old parts and new parts alike
        for i in 0..n {
            let od = old_docs.get(i).copied().filter(|d| *d != NO_DOC);
            let op = old_parts.get(i).and_then(Option::as_ref);
            let np = new_parts.get(i).and_then(Option::as_ref);
            match (od, np) {
                (Some(d), Some(np)) => {
                    let Some(record) = new else { continue };
                    let was = self.entry(d)?;
                    let count = if op.is_some_and(|op| op.same_text(np)) {
                        u32::from(was.map_or(0, |e| e.words))
                    } else {
                        if let Some(op) = op {
                            self.remove_words(d, op);
                        }
                        let count = self.add_words(d, np)?;
                        let before = u64::from(was.map_or(0, |e| e.words));
                        self.stats.total_words =
                            self.stats.total_words.saturating_sub(before) + u64::from(count);
                        count
                    };
                    if was.is_none() {
                        self.stats.live += 1;
                    }
                    let e = self.entry_for(record.patient(), np, count)?;
                    self.set_entry(d, Some(e))?;
                    new_docs[i] = d;
                }
                (Some(d), None) => {
                    if let Some(op) = op {
                        self.remove_words(d, op);
                    }
                    if let Some(e) = self.entry(d)? {
                        self.stats.live = self.stats.live.saturating_sub(1);
                        self.stats.total_words =
                            self.stats.total_words.saturating_sub(u64::from(e.words));
                    }
                    self.set_entry(d, None)?;
                    self.set_name(d, None)?;
                }
                (None, Some(np)) => {
                    let Some(record) = new else { continue };
                    let d = self.stats.next_doc;
                    self.stats.next_doc = d.checked_add(1).ok_or_else(|| StoreError::Invalid {
                        id: id.to_owned(),
                        detail: "the search index is full (4 billion entries)".into(),
                    })?;
                    let count = self.add_words(d, np)?;
                    let e = self.entry_for(record.patient(), np, count)?;
                    self.set_entry(d, Some(e))?;
                    self.set_name(d, Some((i as u32, id.to_owned())))?;
                    self.stats.live += 1;
                    self.stats.total_words += u64::from(count);
                    new_docs[i] = d;
                }
                (None, None) => {}
            }
        }
        if new_docs.iter().all(|d| *d == NO_DOC) {
            if !old_docs.is_empty() {
                self.ops.push((rkey, None));
            }
        } else if new_docs != old_docs {
            let b: Vec<u8> = new_docs.iter().flat_map(|d| d.to_be_bytes()).collect();
            self.put(rkey, &b);
        }
        Ok(())
    }

    /// Applies one word's edits to the segments that hold (or will hold) its docs. A segment
    /// holds the docs from its first up to the next segment's first; it is split when its
    /// postings outgrow [`SEGMENT_BYTES`].
    fn merge_word(&mut self, word: &str, mut edit: WordEdit) -> Result<()> {
        edit.added.sort_unstable_by_key(|a| a.0);
        edit.added.dedup_by_key(|a| a.0);
        let removed: HashSet<u32> = edit.removed.iter().copied().collect();
        let added_docs: HashSet<u32> = edit.added.iter().map(|a| a.0).collect();
        let mut affected: Vec<u32> = removed.iter().chain(&added_docs).copied().collect();
        affected.sort_unstable();
        affected.dedup();
        let std::ops::Range { start: prefix, end } = word_range(self.tree, word);
        let mut added = edit.added.iter().peekable();
        let mut i = 0;
        while i < affected.len() {
            let d = affected[i];
            let below = self
                .tree
                .range(prefix.clone()..=postings_key(self.tree, word, d))
                .next_back()
                .transpose()?;
            let next_first = match self
                .tree
                .range(postings_key(self.tree, word, d.saturating_add(1))..end.clone())
                .next()
                .transpose()?
            {
                Some((k, _)) => parse_postings_key(&k).map(|(_, f)| f),
                None => None,
            };
            // No segment below the first doc touched and none above: the word is new to the
            // index, and goes in its word list.
            if i == 0 && below.is_none() && next_first.is_none() && !added_docs.is_empty() {
                self.posted.insert(word.to_owned());
            }
            let upto = next_first.unwrap_or(u32::MAX);
            let j = affected[i..]
                .iter()
                .position(|x| *x >= upto)
                .map_or(affected.len(), |p| i + p);
            let (old_key, base, body) = match &below {
                Some((k, v)) => {
                    let body = codec::decode_index(self.tree.crypt, k, v)
                        .map_err(|e| corrupt(k, e.to_string()))?;
                    let base = parse_postings_key(k).map(|(_, f)| f);
                    (Some(k.to_vec()), base, body)
                }
                None => (None, None, Cow::Borrowed(&[][..])),
            };
            let old = match base {
                Some(base) => decode_block(&body, base)
                    .ok_or_else(|| corrupt(&prefix, "a postings segment cannot be read"))?,
                None => Vec::new(),
            };
            let mut merged: Vec<(u32, std::borrow::Cow<'_, [u8]>)> = old
                .iter()
                .filter(|p| !removed.contains(&p.doc) && !added_docs.contains(&p.doc))
                .map(|p| (p.doc, Cow::Borrowed(&body[p.raw..p.pos.1])))
                .collect();
            while let Some((doc, s, e)) = added.peek() {
                if *doc >= upto {
                    break;
                }
                let pos = &self.arena[*s as usize..*e as usize];
                let mut raw = Vec::with_capacity(pos.len() + 1);
                put_varint(&mut raw, pos.len() as u32);
                let mut last = 0;
                for p in pos {
                    put_varint(&mut raw, p - last);
                    last = *p;
                }
                merged.push((*doc, Cow::Owned(raw)));
                added.next();
            }
            merged.sort_unstable_by_key(|m| m.0);
            let mut first_written = None;
            let mut k = 0;
            while k < merged.len() {
                let first = merged[k].0;
                let mut out = Vec::new();
                let mut n = 0u32;
                let mut prev = first;
                let mut tail = Vec::new();
                while k < merged.len() {
                    let (doc, raw) = &merged[k];
                    let mut one = Vec::with_capacity(raw.len() + 5);
                    put_varint(&mut one, if n == 0 { 0 } else { doc - prev - 1 });
                    one.extend_from_slice(raw);
                    if n > 0 && tail.len() + one.len() > SEGMENT_BYTES {
                        break;
                    }
                    tail.extend_from_slice(&one);
                    prev = *doc;
                    n += 1;
                    k += 1;
                }
                put_varint(&mut out, n);
                out.extend_from_slice(&tail);
                self.put(postings_key(self.tree, word, first), &out);
                first_written.get_or_insert(first);
            }
            if let Some(key) = old_key
                && first_written != base
            {
                self.ops.push((key, None));
            }
            i = j;
        }
        Ok(())
    }

    /// Adds the words given postings to their word lists, writing only lists that change.
    fn list_words(&mut self) -> Result<()> {
        let mut by_list: BTreeMap<Vec<u8>, Vec<String>> = BTreeMap::new();
        for w in std::mem::take(&mut self.posted) {
            if let Some(key) = words_key(self.tree, &w) {
                by_list.entry(key).or_default().push(w);
            }
        }
        for (key, new) in by_list {
            let mut list: BTreeSet<String> = word_list(self.tree, &key)?.into_iter().collect();
            let before = list.len();
            list.extend(new);
            if list.len() != before {
                let text = list.into_iter().collect::<Vec<_>>().join("\n");
                self.put(key, text.as_bytes());
            }
        }
        Ok(())
    }

    /// Merges the edits into the stored segments and returns every key to write (`None`:
    /// remove).
    fn finish(mut self) -> Result<(IndexOps, Stats)> {
        self.close_segments();
        let words = std::mem::take(&mut self.words);
        for (word, edit) in words {
            self.merge_word(&word, edit)?;
        }
        self.list_words()?;
        self.write_blocks(u32::MAX, u32::MAX);
        Ok((self.ops, self.stats))
    }

    /// Plans the writes of the doc-name blocks numbered below `names_below` and the doc-table
    /// blocks below `docs_below`, and forgets them. Appending, the blocks before the next doc's
    /// are complete, so they leave memory as the docs go in.
    fn write_blocks(&mut self, names_below: u32, docs_below: u32) {
        let (names, kept): (HashMap<u32, Names>, HashMap<u32, Names>) =
            std::mem::take(&mut self.names)
                .into_iter()
                .partition(|(block, _)| *block < names_below);
        self.names = kept;
        let mut names: Vec<(u32, Names)> = names.into_iter().collect();
        names.sort_unstable_by_key(|n| n.0);
        for (block, mut n) in names {
            while n.last().is_some_and(Option::is_none) {
                n.pop();
            }
            if n.is_empty() {
                self.ops.push((names_key(block), None));
            } else {
                self.put(names_key(block), &encode_names(&n));
            }
        }
        let (docs, kept): (HashMap<u32, Vec<u8>>, HashMap<u32, Vec<u8>>) =
            std::mem::take(&mut self.docs)
                .into_iter()
                .partition(|(block, _)| *block < docs_below);
        self.docs = kept;
        let mut docs: Vec<(u32, Vec<u8>)> = docs.into_iter().collect();
        docs.sort_unstable_by_key(|d| d.0);
        for (block, mut b) in docs {
            while b.len() >= ENTRY && b[b.len() - ENTRY..].iter().all(|x| *x == 0) {
                b.truncate(b.len() - ENTRY);
            }
            if b.is_empty() {
                self.ops.push((docs_key(block), None));
            } else {
                self.put(docs_key(block), &b);
            }
        }
    }
}

/// The index keys to write for records changing from `old` to `new` (each id once: its version
/// before this write and after it). Nothing is written here.
pub fn plan(
    tree: Vault<'_>,
    changes: &[(&str, Option<&Record>, Option<&Record>)],
) -> Result<IndexOps> {
    let Some(stats) = stats(tree)? else {
        // No index (being built, or a store from before search): nothing to keep up to date;
        // the next open builds it from the records.
        return Ok(Vec::new());
    };
    let (mut ops, stats) = plan_from(tree, stats, changes)?;
    let key = keys::SEARCH_STATS_KEY.to_vec();
    let value = codec::encode_index(tree.crypt, &key, &stats.encode());
    ops.push((key, Some(value)));
    Ok(ops)
}

fn plan_from(
    tree: Vault<'_>,
    stats: Stats,
    changes: &[(&str, Option<&Record>, Option<&Record>)],
) -> Result<(IndexOps, Stats)> {
    let mut p = Planner::new(tree, stats);
    for (id, old, new) in changes {
        p.record(id, *old, *new)?;
    }
    p.finish()
}

// ---------------------------------------------------------------------------------------------
// Building

/// Removes the whole index, its stats first, so that a store whose index is half removed or
/// half built has no stats and is re-indexed when opened.
pub fn clear(tree: Vault<'_>) -> Result<()> {
    tree.remove(keys::SEARCH_STATS_KEY)?;
    for prefix in keys::SEARCH_PREFIXES {
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for k in tree.scan_prefix(prefix).keys() {
            batch.remove(k?);
            n += 1;
            if n == 8192 {
                tree.apply_batch(std::mem::take(&mut batch))?;
                n = 0;
            }
        }
        tree.apply_batch(batch)?;
    }
    Ok(())
}

/// Records indexed per batch while building, and per group in a large change.
pub const GROUP: usize = 2048;

/// Indexes new records (none of them in the index yet), numbering their docs after every doc
/// in it: each word's postings are appended, and every segment is written once. `write` gets
/// the keys to write a group of records at a time; the last call has the stats.
pub fn append<R: std::borrow::Borrow<Record>>(
    tree: Vault<'_>,
    records: impl IntoIterator<Item = Result<R>>,
    mut write: impl FnMut(IndexOps) -> Result<()>,
) -> Result<Stats> {
    let mut appender = Appender::new(tree)?;
    for r in records {
        if let Some(ops) = appender.add(r?.borrow())? {
            write(ops)?;
        }
    }
    let (ops, stats) = appender.finish()?;
    write(ops)?;
    Ok(stats)
}

/// [`append`] a record at a time, for records that arrive in parts (an import written as it is
/// read): the open segments and the doc table stay with the appender between parts.
pub struct Appender<'t> {
    planner: Planner<'t>,
    added: usize,
}

impl<'t> Appender<'t> {
    pub fn new(tree: Vault<'t>) -> Result<Self> {
        let stats = stats(tree)?.unwrap_or_else(Stats::new);
        let mut planner = Planner::new(tree, stats);
        planner.append = Some(WordMap::default());
        Ok(Self { planner, added: 0 })
    }

    /// Indexes one new record; every [`GROUP`] records, the keys to write so far, with the
    /// doc-table and doc-name blocks already full (so memory does not grow with the docs).
    pub fn add(&mut self, r: &Record) -> Result<Option<IndexOps>> {
        self.planner.record(r.id(), None, Some(r))?;
        self.added += 1;
        if !self.added.is_multiple_of(GROUP) {
            return Ok(None);
        }
        let next = self.planner.stats.next_doc;
        self.planner
            .write_blocks(next / NAME_BLOCK, next / DOC_BLOCK);
        Ok(Some(std::mem::take(&mut self.planner.ops)))
    }

    /// The keys still to write, the stats last, and the stats.
    pub fn finish(self) -> Result<(IndexOps, Stats)> {
        let tree = self.planner.tree;
        let (mut ops, stats) = self.planner.finish()?;
        let key = keys::SEARCH_STATS_KEY.to_vec();
        let value = codec::encode_index(tree.crypt, &key, &stats.encode());
        ops.push((key, Some(value)));
        Ok((ops, stats))
    }
}

/// Builds the index from every record. The stats are written last, so an interrupted build
/// leaves no stats and is redone on the next open.
pub fn rebuild(tree: Vault<'_>) -> Result<Stats> {
    clear(tree)?;
    // Only records with text are decoded: scores (a quarter of the records) are skipped by key.
    let records = tree.scan_prefix(keys::TIMELINE_PREFIX).filter_map(|kv| {
        let (k, v) = match kv {
            Ok(kv) => kv,
            Err(e) => return Some(Err(e.into())),
        };
        match keys::parse_key(tree.crypt, &k) {
            Some(keys::KeyParts::Timeline { kind, .. }) if !has_text(kind) => None,
            _ => Some(codec::decode(tree.crypt, &k, &v).map_err(|e| corrupt(&k, e.to_string()))),
        }
    });
    append(tree, records, |ops| {
        let mut batch = sled::Batch::default();
        for (k, v) in ops {
            match v {
                Some(v) => batch.insert(k, v),
                None => batch.remove(k),
            }
        }
        tree.apply_batch(batch)?;
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// Searching

/// One result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub patient: PatientId,
    /// The record's id; with `part`, which observation or check-in of it.
    pub record: String,
    pub part: u32,
    pub kind: DocKind,
    pub status: DocStatus,
    pub at: Timestamp,
    pub title: String,
    pub snippet: Snippet,
    pub score: f32,
}

/// The best results and how many there are in all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Results {
    pub hits: Vec<Hit>,
    /// Every entry that matches (more than `hits` when the limit cut them).
    pub total: usize,
    /// Matches in psychotherapy notes, left out because the search did not include them.
    pub private_hidden: usize,
}

/// The postings of one word: its blocks, opened, with their keys.
struct WordPostings {
    blocks: Vec<Segment>,
}

/// A postings segment: its first doc, its key, and its body, opened.
type Segment = (u32, Vec<u8>, Vec<u8>);

impl WordPostings {
    fn read(tree: impl IndexSource, word: &str) -> Result<Self> {
        let prefix = postings_prefix(tree, word);
        let mut blocks = Vec::new();
        for kv in tree.scan(&prefix, false) {
            blocks.extend(Self::segment(tree, &prefix, kv?)?);
        }
        Ok(Self { blocks })
    }

    /// The newest segments of `word` (those of the highest doc numbers), until `budget` bytes
    /// are read; with how many were.
    fn read_newest(tree: impl IndexSource, word: &str, budget: usize) -> Result<(Self, usize)> {
        let prefix = postings_prefix(tree, word);
        let mut blocks = Vec::new();
        let mut read = 0;
        for kv in tree.scan(&prefix, true) {
            if read >= budget {
                break;
            }
            if let Some(segment) = Self::segment(tree, &prefix, kv?)? {
                read += segment.2.len();
                blocks.push(segment);
            }
        }
        blocks.reverse();
        Ok((Self { blocks }, read))
    }

    /// One segment of the word whose keys start with `prefix`, opened; `None` for a key of
    /// another shape.
    fn segment<S: IndexSource>(
        tree: S,
        prefix: &[u8],
        (k, v): (S::Bytes, S::Bytes),
    ) -> Result<Option<Segment>> {
        let (k, v) = (k.as_ref(), v.as_ref());
        match parse_postings_key(k) {
            Some((w, block)) if w.len() + 3 == prefix.len() => {
                let body = codec::decode_index(tree.crypt(), k, v)
                    .map_err(|e| corrupt(k, e.to_string()))?
                    .into_owned();
                Ok(Some((block, k.to_vec(), body)))
            }
            _ => Ok(None),
        }
    }

    /// Every doc with its tf and its positions' bytes, in doc order.
    fn all(&self) -> Result<Vec<(u32, u32, &[u8])>> {
        let mut out = Vec::new();
        for (block, key, body) in &self.blocks {
            let postings = decode_block(body, *block)
                .ok_or_else(|| corrupt(key, "a postings block cannot be read"))?;
            out.extend(
                postings
                    .into_iter()
                    .map(|p| (p.doc, p.tf, &body[p.pos.0..p.pos.1])),
            );
        }
        Ok(out)
    }
}

/// The ids of the records a search that leaves out psychotherapy notes can show: those with a
/// doc of another kind. What the search snapshot copies (`store::snapshot`).
pub fn shown_records(tree: Vault<'_>) -> Result<HashSet<String>> {
    let mut out = HashSet::new();
    let mut table = DocTable::new(tree);
    for kv in tree.scan_prefix(keys::DOC_REF_PREFIX) {
        let (k, v) = kv?;
        let Some(block) = u32_at(&k, keys::DOC_REF_PREFIX.len()) else {
            return Err(corrupt(&k, "not a doc names key"));
        };
        let body =
            codec::decode_index(tree.crypt, &k, &v).map_err(|e| corrupt(&k, e.to_string()))?;
        let names =
            decode_names(&body).ok_or_else(|| corrupt(&k, "the doc names cannot be read"))?;
        for (i, name) in names.into_iter().enumerate() {
            let Some((_, id)) = name else { continue };
            let doc = block * NAME_BLOCK + i as u32;
            let shown = table
                .get(doc)?
                .is_some_and(|e| !DocKind::from_byte(e.kind).is_some_and(DocKind::is_private));
            if shown {
                out.insert(id);
            }
        }
    }
    Ok(out)
}

/// Docs with how often the clause is in each, in doc order.
type DocSet = Vec<(u32, u32)>;

/// The words a prefix stands for, in alphabetical order, at most [`MAX_PREFIX_WORDS`]: from
/// the word list of its first letter.
fn expand(tree: impl IndexSource, prefix: &str) -> Result<Vec<String>> {
    let Some(key) = words_key(tree, prefix) else {
        return Ok(Vec::new());
    };
    Ok(word_list(tree, &key)?
        .into_iter()
        .filter(|w| w.starts_with(prefix))
        .take(MAX_PREFIX_WORDS)
        .collect())
}

/// How much of a prefix a search reads while the query is typed
/// ([`crate::search::query::Filter::typing`]): its shortest words only, at most `words` of them,
/// and of their postings, the newest first, at most `bytes`.
#[derive(Clone, Copy)]
struct Typing {
    words: usize,
    bytes: usize,
}

fn clause_docs(tree: impl IndexSource, clause: &Clause, typing: Option<Typing>) -> Result<DocSet> {
    match clause {
        Clause::Word(w) => {
            let mut out = Vec::new();
            let postings = WordPostings::read(tree, w)?;
            out.extend(postings.all()?.into_iter().map(|(d, tf, _)| (d, tf)));
            Ok(out)
        }
        Clause::Prefix(p) => {
            let mut out: DocSet = Vec::new();
            let mut words = expand(tree, p)?;
            if let Some(t) = typing {
                // The exact word, then the words nearest to it in length.
                words.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
                words.truncate(t.words);
            }
            let mut read = 0;
            for w in words {
                let postings = match typing {
                    // A word's newest entries first: what the clinician most likely looks for.
                    Some(t) if read >= t.bytes => break,
                    Some(t) if t.bytes < usize::MAX => {
                        let (postings, n) = WordPostings::read_newest(tree, &w, t.bytes - read)?;
                        read += n;
                        postings
                    }
                    _ => WordPostings::read(tree, &w)?,
                };
                out.extend(postings.all()?.into_iter().map(|(d, tf, _)| (d, tf)));
            }
            // Each word's docs are in order already: the stable sort merges those runs.
            out.sort_by_key(|d| d.0);
            let mut merged: DocSet = Vec::with_capacity(out.len());
            for (d, tf) in out {
                match merged.last_mut() {
                    Some(last) if last.0 == d => last.1 += tf,
                    _ => merged.push((d, tf)),
                }
            }
            Ok(merged)
        }
        Clause::Phrase(ws) => phrase_docs(tree, ws),
    }
}

/// Docs where the words stand next to each other in order, with how often. The docs with every
/// word are found first; positions are read only for them.
fn phrase_docs(tree: impl IndexSource, ws: &[String]) -> Result<DocSet> {
    let mut distinct: Vec<&str> = ws.iter().map(String::as_str).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let read: Vec<WordPostings> = distinct
        .iter()
        .map(|w| WordPostings::read(tree, w))
        .collect::<Result<_>>()?;
    let lists: Vec<Vec<(u32, u32, &[u8])>> =
        read.iter().map(WordPostings::all).collect::<Result<_>>()?;
    let Some(shortest) = lists.iter().min_by_key(|l| l.len()) else {
        return Ok(Vec::new());
    };
    let mut candidates: Vec<u32> = shortest.iter().map(|p| p.0).collect();
    for list in &lists {
        let set: DocSet = list.iter().map(|p| (p.0, p.1)).collect();
        candidates = intersect(&candidates, &set);
    }
    let word_list = |w: &str| &lists[distinct.binary_search(&w).unwrap_or(0)];
    let mut out: DocSet = Vec::with_capacity(candidates.len());
    let mut cursors = vec![0usize; ws.len()];
    for d in candidates {
        let mut pos: Vec<Vec<u32>> = Vec::with_capacity(ws.len());
        for (k, w) in ws.iter().enumerate() {
            let list = word_list(w);
            while cursors[k] < list.len() && list[cursors[k]].0 < d {
                cursors[k] += 1;
            }
            match list.get(cursors[k]) {
                Some(p) if p.0 == d => pos.push(positions(p.2)),
                _ => pos.push(Vec::new()),
            }
        }
        let count = pos[0]
            .iter()
            .filter(|p| {
                pos[1..]
                    .iter()
                    .enumerate()
                    .all(|(k, list)| list.binary_search(&(*p + k as u32 + 1)).is_ok())
            })
            .count() as u32;
        if count > 0 {
            out.push((d, count));
        }
    }
    Ok(out)
}

/// The docs in both, with `a`'s counts.
fn intersect(a: &[u32], b: &DocSet) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Hashes a block number with one multiplication: the doc table is looked up once per
/// candidate, tens of thousands of times a search, where SipHash was a fifth of the time.
#[derive(Default)]
struct BlockNo(u64);

impl std::hash::Hasher for BlockNo {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// Doc-table blocks by number.
type Blocks = HashMap<u32, Option<Vec<u8>>, std::hash::BuildHasherDefault<BlockNo>>;

/// Reads the doc table a block at a time, each block once per search.
struct DocTable<S> {
    tree: S,
    blocks: Blocks,
}

impl<S: IndexSource> DocTable<S> {
    fn new(tree: S) -> Self {
        Self {
            tree,
            blocks: Blocks::default(),
        }
    }

    fn get(&mut self, doc: u32) -> Result<Option<DocEntry>> {
        use std::collections::hash_map::Entry;
        let block = doc / DOC_BLOCK;
        let body = match self.blocks.entry(block) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(get(self.tree, &docs_key(block))?),
        };
        let at = (doc % DOC_BLOCK) as usize * ENTRY;
        Ok(body
            .as_ref()
            .and_then(|b| b.get(at..))
            .and_then(DocEntry::decode))
    }
}

const K1: f32 = 1.2;
const B: f32 = 0.75;

/// Runs `query`, returning the best `limit` results (best first; equal scores newest first).
/// `record` reads a record by id, for titles and snippets.
/// Doc-table and doc-name blocks opened by earlier searches, kept for the next while the index
/// is unchanged: a search over every patient reads up to a hundred 64 KB doc-table blocks, and
/// in an encrypted store opening them again each time would cost more than the search.
/// At most the whole doc table and names (about 12 MB for 100,000 notes).
#[derive(Debug, Default)]
pub struct SearchCache {
    /// The store's write count the blocks were read at; another empties the cache.
    generation: u64,
    docs: Blocks,
    names: HashMap<u32, Names>,
}

impl SearchCache {
    /// Forgets every block (on lock: nothing opened stays in memory).
    pub fn clear(&mut self) {
        self.docs.clear();
        self.names.clear();
    }
}

pub fn search(
    tree: impl IndexSource,
    query: &Query,
    limit: usize,
    record: impl Fn(&str) -> Result<Option<Record>>,
    cache: &mut SearchCache,
    generation: u64,
) -> Result<Results> {
    if cache.generation != generation {
        cache.clear();
        cache.generation = generation;
    }
    let mut table = DocTable {
        tree,
        blocks: std::mem::take(&mut cache.docs),
    };
    let mut names = NameTable {
        tree,
        blocks: std::mem::take(&mut cache.names),
    };
    let results = search_with(tree, query, limit, record, &mut table, &mut names);
    cache.docs = table.blocks;
    cache.names = names.blocks;
    results
}

fn search_with<S: IndexSource>(
    tree: S,
    query: &Query,
    limit: usize,
    record: impl Fn(&str) -> Result<Option<Record>>,
    table: &mut DocTable<S>,
    names: &mut NameTable<S>,
) -> Result<Results> {
    let Some(stats) = stats(tree)? else {
        return Err(StoreError::Invalid {
            id: "search index".into(),
            detail: "the store has no search index yet; run `kitnotes check --reindex`".into(),
        });
    };
    let f = &query.filter;
    let patient = match &f.patient {
        None => None,
        Some(p) => match get(tree, &patient_no_key(tree, p))?.and_then(|b| u32_at(&b, 0)) {
            Some(n) => Some(n),
            None => return Ok(Results::default()),
        },
    };
    // Each clause's docs; the candidates are those in all of them.
    let mut sets: Vec<DocSet> = Vec::with_capacity(query.must.len());
    // Over every patient, a budget of postings; for one patient, whose entries may be anywhere
    // in a word's postings, every posting of fewer words.
    let typing = f.typing.then_some(match patient {
        None => Typing {
            words: MAX_PREFIX_WORDS,
            bytes: crate::search::query::PREFIX_BUDGET,
        },
        Some(_) => Typing {
            words: crate::search::query::PATIENT_PREFIX_WORDS,
            bytes: usize::MAX,
        },
    });
    for c in &query.must {
        let set = clause_docs(tree, c, typing)?;
        if set.is_empty() {
            return Ok(Results::default());
        }
        sets.push(set);
    }
    let mut order: Vec<usize> = (0..sets.len()).collect();
    order.sort_by_key(|i| sets[*i].len());
    let mut candidates: Vec<u32> = sets[order[0]].iter().map(|d| d.0).collect();
    for i in &order[1..] {
        candidates = intersect(&candidates, &sets[*i]);
    }
    for c in &query.must_not {
        let out = clause_docs(tree, c, None)?;
        let out: HashSet<u32> = out.into_iter().map(|d| d.0).collect();
        candidates.retain(|d| !out.contains(d));
    }
    let kinds: Vec<u8> = f.kinds.iter().map(|k| k.byte()).collect();
    let statuses: Vec<u8> = f.statuses.iter().map(|s| s.byte()).collect();
    let since = f.since.map(|t| t.as_second());
    let until = f.until.map(|t| t.as_second());
    let mut results = Results::default();
    let mut kept: Vec<(u32, DocEntry)> = Vec::with_capacity(candidates.len());
    for d in candidates {
        let Some(e) = table.get(d)? else { continue };
        let passes = patient.is_none_or(|p| p == e.patient)
            && (kinds.is_empty() || kinds.contains(&e.kind))
            && (statuses.is_empty() || statuses.contains(&e.status))
            && since.is_none_or(|s| e.at >= s)
            && until.is_none_or(|u| e.at < u);
        if !passes {
            continue;
        }
        if !f.include_private && DocKind::from_byte(e.kind).is_some_and(DocKind::is_private) {
            results.private_hidden += 1;
            continue;
        }
        kept.push((d, e));
    }
    results.total = kept.len();
    // BM25: each clause a term, its document frequency that of the clause.
    let n = stats.live.max(1) as f32;
    let avgdl = (stats.total_words as f32 / n).max(1.0);
    let mut scored: Vec<(f32, i64, u32)> = kept.iter().map(|(d, e)| (0.0, e.at, *d)).collect();
    for set in &sets {
        let df = set.len() as f32;
        let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
        let mut j = 0;
        for (s, (d, e)) in scored.iter_mut().map(|s| &mut s.0).zip(&kept) {
            while j < set.len() && set[j].0 < *d {
                j += 1;
            }
            if let Some((_, tf)) = set.get(j).filter(|x| x.0 == *d) {
                let tf = *tf as f32;
                let norm = K1 * (1.0 - B + B * f32::from(e.words) / avgdl);
                *s += idf * tf * (K1 + 1.0) / (tf + norm);
            }
        }
    }
    let order = f.order;
    let by_rank = |a: &(f32, i64, u32), b: &(f32, i64, u32)| match order {
        Order::Best => b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)),
        Order::Oldest => a.1.cmp(&b.1).then(a.2.cmp(&b.2)),
        Order::Newest => b.1.cmp(&a.1).then(b.2.cmp(&a.2)),
    };
    if scored.len() > limit && limit > 0 {
        scored.select_nth_unstable_by(limit - 1, by_rank);
    }
    scored.truncate(limit);
    scored.sort_unstable_by(by_rank);
    let wanted = query.wanted();
    for (score, _, d) in scored {
        let key = names_key(d / NAME_BLOCK);
        let Some((part, id)) = names.get(d)?.cloned() else {
            return Err(corrupt(
                &key,
                format!("doc {d} in the index names no record"),
            ));
        };
        let Some(rec) = record(&id)? else {
            return Err(corrupt(
                &key,
                format!("the index names record {id}, which is missing"),
            ));
        };
        let ps = parts(&rec);
        let Some(Some(p)) = ps.get(part as usize) else {
            return Err(corrupt(&key, format!("record {id} has no part {part}")));
        };
        results.hits.push(Hit {
            patient: rec.patient().clone(),
            record: id.to_owned(),
            part,
            kind: p.kind,
            status: p.status,
            at: p.at,
            title: p.title.clone(),
            snippet: snippet(&p.fields, &wanted),
            score,
        });
    }
    Ok(results)
}
