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

/// Proves that the index says exactly what the records say: every searchable part is one doc
/// with the right words at the right positions, the right kind, status, time and patient, and
/// nothing else is in it. Returns one line per problem (at most 20, then how many more).
pub fn verify(tree: Vault<'_>) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let Some(stats) = stats(tree)? else {
        return Ok(vec![
            "search index: missing; `kitnotes check --reindex` builds it".into(),
        ]);
    };
    if stats.version != INDEX_VERSION {
        problems.push(format!(
            "search index: format {} (this kitnotes writes {INDEX_VERSION}); `kitnotes check --reindex` rebuilds it",
            stats.version
        ));
        return Ok(problems);
    }
    let mut expected: HashMap<u32, u64> = HashMap::new();
    let mut where_: HashMap<u32, String> = HashMap::new();
    let mut table = DocTable::new(tree);
    let mut patient_nos: HashMap<String, Option<u32>> = HashMap::new();
    let (mut live, mut total) = (0u64, 0u64);
    let mut unknown: HashSet<u32> = HashSet::new();
    let mut names = NameTable::new(tree);
    // Every word the records have: each must be in its word list.
    let mut listed: HashSet<String> = HashSet::new();
    for kv in tree.scan_prefix(keys::TIMELINE_PREFIX) {
        let (k, v) = kv?;
        // A record that cannot be read is reported by the store's own check; its docs are
        // neither right nor wrong here.
        let Ok(r) = codec::decode(tree.crypt, &k, &v) else {
            if let Some(name) = keys::timeline_id_name(tree.crypt, &k) {
                unknown.extend(docs_of_name(tree, name)?);
            }
            continue;
        };
        let ps = parts(&r);
        if ps.iter().all(Option::is_none) {
            continue;
        }
        let docs = record_docs(tree, r.id())?;
        let pid = r.patient().as_str().to_owned();
        let patient_no = match patient_nos.get(&pid) {
            Some(n) => *n,
            None => {
                let n = get(tree, &patient_no_key(tree, r.patient()))?.and_then(|b| u32_at(&b, 0));
                patient_nos.insert(pid.clone(), n);
                n
            }
        };
        for (i, p) in ps.iter().enumerate() {
            let name = || format!("{} {} part {i}", r.kind().as_str(), r.id());
            let Some(p) = p else { continue };
            let Some(d) = docs.get(i).copied().filter(|d| *d != NO_DOC) else {
                problems.push(format!("search index: {} is not indexed", name()));
                continue;
            };
            let (ws, count) = part_words(p);
            let mut fp = 0u64;
            for (w, pos) in &ws {
                let h = word_hash(&tree.crypt.name(NameOf::Word, w.as_bytes()));
                if !listed.contains(w) {
                    listed.insert(w.clone());
                }
                for p in pos {
                    fp = fp.wrapping_add(at_position(h, *p));
                }
            }
            if expected.insert(d, fp).is_some() {
                problems.push(format!("search index: doc {d} is used twice ({})", name()));
            }
            where_.insert(d, name());
            live += 1;
            total += u64::from(count);
            let want = DocEntry {
                patient: patient_no.unwrap_or(0),
                kind: p.kind.byte(),
                status: p.status.byte(),
                words: count.min(u32::from(u16::MAX)) as u16,
                at: p.at.as_second(),
            };
            if table.get(d)? != Some(want) {
                problems.push(format!(
                    "search index: the doc table is wrong for {} (kind, status, time or patient)",
                    name()
                ));
            }
            // A names block that cannot be read is reported as this doc not pointing back.
            let named = match names.get(d) {
                Err(StoreError::Corrupt { .. }) => None,
                other => other?,
            };
            if named.is_none_or(|(part, id)| *part != i as u32 || id != r.id()) {
                problems.push(format!(
                    "search index: doc {d} does not point back to {}",
                    name()
                ));
            }
        }
    }
    let mut found: HashMap<u32, u64> = HashMap::with_capacity(expected.len());
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
            let sum = found.entry(p.doc).or_default();
            for pos in positions(&body[p.pos.0..p.pos.1]) {
                *sum = sum.wrapping_add(at_position(h, pos));
            }
        }
    }
    for (d, fp) in &expected {
        if found.get(d) != Some(fp) {
            problems.push(format!(
                "search index: the words indexed for {} differ from its text",
                where_.get(d).map_or("?", String::as_str)
            ));
        }
    }
    let stray = found
        .keys()
        .filter(|d| !expected.contains_key(d) && !unknown.contains(d))
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
                DocEntry::decode(e).is_some() && !expected.contains_key(&d) && !unknown.contains(&d)
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
    for w in &listed {
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
    if let Some(max) = expected.keys().max()
        && *max >= stats.next_doc
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
