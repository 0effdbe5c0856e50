//! Checking the search index: proves that it says exactly what the records say.

use super::*;

/// A word's hash (FNV-1a of its name in keys), taken once per word.
pub(super) fn word_hash(word: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in word {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A word (by its hash) at a position, mixed so that a doc's words add up to one number
/// whichever order they are read in (splitmix64's finaliser: sums do not cancel out).
pub(super) fn at_position(word: u64, pos: u32) -> u64 {
    let mut h = word ^ u64::from(pos).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Values by doc number: a vector for the numbers the stats say are in use (dense: every doc
/// of a store is checked, and a hash per posting was most of `check`'s time), a map for any
/// other number a damaged index holds.
struct DocMap<T> {
    dense: Vec<Option<T>>,
    other: HashMap<u32, T>,
}

impl<T: Default> DocMap<T> {
    fn new(next_doc: u32) -> Self {
        let mut dense = Vec::new();
        // A damaged count must not ask for more memory than a large store's docs.
        dense.resize_with(next_doc.min(1 << 26) as usize, || None);
        Self {
            dense,
            other: HashMap::new(),
        }
    }

    fn insert(&mut self, d: u32, v: T) -> Option<T> {
        match self.dense.get_mut(d as usize) {
            Some(slot) => slot.replace(v),
            None => self.other.insert(d, v),
        }
    }

    fn get(&self, d: u32) -> Option<&T> {
        match self.dense.get(d as usize) {
            Some(slot) => slot.as_ref(),
            None => self.other.get(&d),
        }
    }

    fn contains(&self, d: u32) -> bool {
        self.get(d).is_some()
    }

    fn or_default(&mut self, d: u32) -> &mut T {
        match self.dense.get_mut(d as usize) {
            Some(slot) => slot.get_or_insert_with(T::default),
            None => self.other.entry(d).or_default(),
        }
    }

    fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        self.dense
            .iter()
            .enumerate()
            .filter_map(|(d, v)| v.as_ref().map(|v| (d as u32, v)))
            .chain(self.other.iter().map(|(d, v)| (*d, v)))
    }
}

/// Proves that the index says exactly what the records say: every searchable part is one doc
/// with the right words at the right positions, the right kind, status, time and patient, and
/// nothing else is in it. Returns one line per problem (at most 20, then how many more).
pub fn verify(tree: Vault<'_>) -> Result<Vec<String>> {
    let mut v = match Verifier::new(tree)? {
        Ok(v) => v,
        Err(problems) => return Ok(problems),
    };
    for kv in tree.scan_prefix(keys::TIMELINE_PREFIX) {
        let (k, value) = kv?;
        v.record(&k, codec::decode(tree.crypt, &k, &value).ok().as_ref())?;
    }
    v.finish()
}

/// [`verify`] given the records by a reader that decodes them anyway (`check`), so they are
/// not decoded twice: [`Verifier::record`] for every timeline record in key order, then
/// [`Verifier::finish`].
pub struct Verifier<'t> {
    tree: Vault<'t>,
    stats: Stats,
    problems: Vec<String>,
    expected: DocMap<u64>,
    /// Which record and part each doc is, for messages: the records' names once each.
    where_: DocMap<(u32, u32)>,
    records: Vec<(&'static str, String)>,
    table: DocTable<Vault<'t>>,
    patient_nos: HashMap<String, Option<u32>>,
    live: u64,
    total: u64,
    unknown: HashSet<u32>,
    names: NameTable<Vault<'t>>,
    /// Every word the records have (each must be in its word list), with its name's hash.
    listed: WordMap<u64>,
}

impl<'t> Verifier<'t> {
    /// `Err` with the problem when there is no index of this format to verify.
    pub fn new(tree: Vault<'t>) -> Result<std::result::Result<Self, Vec<String>>> {
        let Some(stats) = stats(tree)? else {
            return Ok(Err(vec![
                "search index: missing; `kitnotes check --reindex` builds it".into(),
            ]));
        };
        if stats.version != INDEX_VERSION {
            return Ok(Err(vec![format!(
                "search index: format {} (this kitnotes writes {INDEX_VERSION}); `kitnotes check --reindex` rebuilds it",
                stats.version
            )]));
        }
        Ok(Ok(Self {
            tree,
            expected: DocMap::new(stats.next_doc),
            where_: DocMap::new(stats.next_doc),
            stats,
            problems: Vec::new(),
            records: Vec::new(),
            table: DocTable::new(tree),
            patient_nos: HashMap::new(),
            live: 0,
            total: 0,
            unknown: HashSet::new(),
            names: NameTable::new(tree),
            listed: WordMap::default(),
        }))
    }

    /// One timeline record under `k`; `None` if it cannot be read, which the store's own
    /// check reports: its docs are neither right nor wrong here.
    pub fn record(&mut self, k: &[u8], r: Option<&Record>) -> Result<()> {
        let tree = self.tree;
        let Some(r) = r else {
            if let Some(name) = keys::timeline_id_name(tree.crypt, k) {
                self.unknown.extend(docs_of_name(tree, name)?);
            }
            return Ok(());
        };
        let ps = parts(r);
        if ps.iter().all(Option::is_none) {
            return Ok(());
        }
        let docs = record_docs(tree, r.id())?;
        let pid = r.patient().as_str().to_owned();
        let patient_no = match self.patient_nos.get(&pid) {
            Some(n) => *n,
            None => {
                let n = get(tree, &patient_no_key(tree, r.patient()))?.and_then(|b| u32_at(&b, 0));
                self.patient_nos.insert(pid.clone(), n);
                n
            }
        };
        for (i, p) in ps.iter().enumerate() {
            let name = || format!("{} {} part {i}", r.kind().as_str(), r.id());
            let Some(p) = p else { continue };
            let Some(d) = docs.get(i).copied().filter(|d| *d != NO_DOC) else {
                self.problems
                    .push(format!("search index: {} is not indexed", name()));
                continue;
            };
            // The doc's words and positions as `part_words` gives them, summed as they come:
            // no map, and no string but for a word seen for the first time.
            let (mut fp, mut pos, mut count) = (0u64, 0u32, 0u32);
            for field in &p.fields {
                each_word(field, |w, _, _| {
                    // Each word's name is hashed once (an encrypted store's is a keyed BLAKE3).
                    let h = match self.listed.get(w) {
                        Some(h) => *h,
                        None => {
                            let h = word_hash(&tree.crypt.name(NameOf::Word, w.as_bytes()));
                            self.listed.insert(w.to_owned(), h);
                            h
                        }
                    };
                    fp = fp.wrapping_add(at_position(h, pos));
                    pos = pos.saturating_add(1);
                    count += 1;
                });
                pos = pos.saturating_add(1);
            }
            if self.expected.insert(d, fp).is_some() {
                self.problems
                    .push(format!("search index: doc {d} is used twice ({})", name()));
            }
            if self.records.last().is_none_or(|(_, id)| id != r.id()) {
                self.records.push((r.kind().as_str(), r.id().to_owned()));
            }
            self.where_
                .insert(d, (self.records.len() as u32 - 1, i as u32));
            self.live += 1;
            self.total += u64::from(count);
            let want = DocEntry {
                patient: patient_no.unwrap_or(0),
                kind: p.kind.byte(),
                status: p.status.byte(),
                words: count.min(u32::from(u16::MAX)) as u16,
                at: p.at.as_second(),
            };
            if self.table.get(d)? != Some(want) {
                self.problems.push(format!(
                    "search index: the doc table is wrong for {} (kind, status, time or patient)",
                    name()
                ));
            }
            // A self.names block that cannot be read is reported as this doc not pointing back.
            let named = match self.names.get(d) {
                Err(StoreError::Corrupt { .. }) => None,
                other => other?,
            };
            if named.is_none_or(|(part, id)| *part != i as u32 || id != r.id()) {
                self.problems.push(format!(
                    "search index: doc {d} does not point back to {}",
                    name()
                ));
            }
        }
        Ok(())
    }

    /// The problems, once every record was given.
    pub fn finish(self) -> Result<Vec<String>> {
        let Self {
            tree,
            stats,
            mut problems,
            expected,
            where_,
            records,
            unknown,
            listed,
            live,
            total,
            ..
        } = self;
        let mut found: DocMap<u64> = DocMap::new(stats.next_doc);
        for kv in tree.scan_prefix(keys::POSTINGS_PREFIX) {
            let (k, v) = kv?;
            let Some((word, block)) = parse_postings_key(&k) else {
                problems.push(format!(
                    "search index: unknown key {}",
                    String::from_utf8_lossy(&k)
                ));
                continue;
            };
            let shown = match tree.crypt.is_sealed() {
                true => "a word".to_owned(),
                false => format!("\"{}\"", String::from_utf8_lossy(word)),
            };
            let body = match codec::decode_index(tree.crypt, &k, &v) {
                Ok(b) => b,
                Err(e) => {
                    problems.push(format!("search index: the postings of {shown}: {e}"));
                    continue;
                }
            };
            let Some(postings) = decode_block(&body, block) else {
                problems.push(format!(
                    "search index: the postings of {shown} cannot be read"
                ));
                continue;
            };
            let h = word_hash(word);
            for p in postings {
                let sum = found.or_default(p.doc);
                for pos in positions(&body[p.pos.0..p.pos.1]) {
                    *sum = sum.wrapping_add(at_position(h, pos));
                }
            }
        }
        let name_of = |d: u32| match where_
            .get(d)
            .and_then(|(r, part)| Some((records.get(*r as usize)?, part)))
        {
            Some(((kind, id), part)) => format!("{kind} {id} part {part}"),
            None => "?".into(),
        };
        for (d, fp) in expected.iter() {
            if found.get(d) != Some(fp) {
                problems.push(format!(
                    "search index: the words indexed for {} differ from its text",
                    name_of(d)
                ));
            }
        }
        let stray = found
            .iter()
            .filter(|(d, _)| !expected.contains(*d) && !unknown.contains(d))
            .count();
        if stray > 0 {
            problems.push(format!(
                "search index: {stray} doc(s) in the postings belong to no record's text"
            ));
        }
        for kv in tree.scan_prefix(keys::DOCS_PREFIX) {
            let (k, v) = kv?;
            let block = u32_at(&k, 2).unwrap_or(0);
            let Ok(body) = codec::decode_index(tree.crypt, &k, &v) else {
                problems.push(format!(
                    "search index: doc table block {block} cannot be read"
                ));
                continue;
            };
            let dead = body
                .chunks(ENTRY)
                .enumerate()
                .filter(|(i, e)| {
                    let d = block * DOC_BLOCK + *i as u32;
                    DocEntry::decode(e).is_some() && !expected.contains(d) && !unknown.contains(&d)
                })
                .count();
            if dead > 0 {
                problems.push(format!(
                    "search index: doc table block {block} lists {dead} doc(s) no record has"
                ));
            }
        }
        let mut lists: HashMap<Vec<u8>, HashSet<String>> = HashMap::new();
        let mut unlisted = 0;
        for w in listed.keys() {
            let Some(key) = words_key(tree, w) else {
                continue;
            };
            if !lists.contains_key(&key) {
                let list = match word_list(tree, &key) {
                    Ok(l) => l.into_iter().collect(),
                    Err(e) => {
                        problems.push(format!("search index: a word list cannot be read: {e}"));
                        HashSet::new()
                    }
                };
                lists.insert(key.clone(), list);
            }
            if !lists.get(&key).is_some_and(|l| l.contains(w)) {
                unlisted += 1;
            }
        }
        if unlisted > 0 {
            problems.push(format!(
                "search index: {unlisted} word(s) are missing from the word lists (prefix search \
                 would not find them)"
            ));
        }
        if unknown.is_empty() && (stats.live, stats.total_words) != (live, total) {
            problems.push(format!(
                "search index: the counts say {} docs and {} words, the records {live} and {total}",
                stats.live, stats.total_words
            ));
        }
        if let Some(max) = expected.iter().map(|(d, _)| d).max()
            && max >= stats.next_doc
        {
            problems.push("search index: the next doc number is already in use".into());
        }
        if problems.len() > 20 {
            let more = problems.len() - 20;
            problems.truncate(20);
            problems.push(format!("search index: and {more} more problems"));
        }
        Ok(problems)
    }
}
