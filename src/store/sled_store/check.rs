//! `check`: reads every entry and proves keys, the id index, references and the indexes agree.

use super::*;

/// Reads every entry, decodes every record (opening every seal, in an encrypted store), and
/// checks that keys, the id index and references agree. Problems are collected, not fatal, so
/// one run pinpoints all damage.
pub(super) fn check(store: &SledStore) -> Result<CheckReport> {
    let c = &store.crypt()?;
    let mut report = CheckReport::default();
    // By the id as it appears in keys (its name, in hex, in an encrypted store).
    let mut ids: HashMap<String, (Vec<u8>, RecordKind)> = HashMap::new();
    let mut patients: HashSet<String> = HashSet::new();
    // Only what the reference pass needs, not whole records: a 100,000-note store must check
    // within a small memory budget.
    let mut references: Vec<Reference> = Vec::new();
    let key_id = |id: &str| c.key_id(id);
    // The search index and the agendas are proved from the records this reading decodes (not
    // read twice), on a second thread fed in the reading's order: a check takes the longer of
    // the two halves, not their sum.
    let db = store.db()?;
    let vault = SledStore::vault(&db, c);
    let search = index::Verifier::new(vault).map_err(|e| e.to_string());
    let mut unreadable_agendas: HashSet<Vec<u8>> = HashSet::new();
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
    let (unreadable, search, agendas) = std::thread::scope(|scope| -> Result<_> {
        let (to_prover, from_reader) = std::sync::mpsc::sync_channel::<Proof>(1024);
        let prover = scope.spawn(move || {
            let mut search = search;
            // What the agenda index must say: built from the records as they are read.
            let mut agendas = agenda::Scan::default();
            // Each id-index entry with the key it points to, in the reading's order.
            let mut index: Vec<(String, std::result::Result<Vec<u8>, String>)> = Vec::new();
            for proof in from_reader {
                match proof {
                    Proof::Index(id, k, v) => {
                        let target = codec::decode_ref(c, &k, &v).map_err(|e| e.to_string());
                        index.push((id, target));
                    }
                    Proof::Unreadable(k) => search_record(&mut search, &k, None),
                    Proof::Record(k, timeline, record) => {
                        if timeline {
                            search_record(&mut search, &k, Some(&record));
                        }
                        agendas.put(&record);
                    }
                }
            }
            let search = match search {
                Ok(Ok(v)) => v.finish().map_err(|e| e.to_string()),
                Ok(Err(problems)) => Ok(problems),
                Err(e) => Err(e),
            };
            (search, agendas, index)
        });
        let mut unreadable = false;
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
                    KeyParts::Schema
                    | KeyParts::Audit { .. }
                    | KeyParts::AuditHead
                    | KeyParts::Search
                    | KeyParts::Agenda,
                ) => continue,
                Some(KeyParts::Index { id }) => {
                    // Opened (a seal, in an encrypted store) on the second thread.
                    prove(&to_prover, Proof::Index(id, k, v));
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
                    if let Some(KeyParts::Timeline { .. }) = &parts {
                        prove(&to_prover, Proof::Unreadable(k.clone()));
                    }
                    unreadable_agendas
                        .extend(agenda::agenda_key_of(SledStore::vault(&store.db()?, c), &k));
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
            // The record's id as keys have it (a keyed hash in an encrypted store): once.
            let kid = key_id(record.id());
            if let Record::Patient(_) = &record {
                patients.insert(kid.clone());
            }
            match bindings.get(&kid) {
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
            if ids.insert(kid, (k.to_vec(), record.kind())).is_some() {
                report.problems.push(format!(
                    "id {} is used by more than one record",
                    record.id()
                ));
            }
            references.extend(references_of(&record));
            let timeline = matches!(parts, Some(KeyParts::Timeline { .. }));
            prove(&to_prover, Proof::Record(k, timeline, Box::new(record)));
        }
        drop(to_prover);
        // What follows runs while the second thread finishes the search index's proof.
        if unreadable {
            // The scan stopped at a damaged page, so comparing the index and references with what
            // it saw would only list everything after it. Name the records that cannot be read.
            report.problems.extend(unreadable_records(store, c));
            ids.clear();
            references.clear();
        }
        // The id index's problems come first in the report; they are known once the second
        // thread has opened its entries.
        let index_problems_at = report.problems.len();
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
        let (search, agendas, index) = prover
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        if !unreadable {
            let mut problems = Vec::new();
            let mut indexed: HashSet<&str> = HashSet::new();
            for (id, target) in &index {
                indexed.insert(id);
                let target = match target {
                    Ok(t) => t,
                    Err(e) => {
                        problems.push(format!("index entry {id}: {e}"));
                        continue;
                    }
                };
                match ids.get(id) {
                    Some((key, _)) if key == target => {}
                    Some(_) => {
                        problems.push(format!("index entry {id} points to the wrong record"))
                    }
                    None => problems.push(format!(
                        "index entry {id} points to a record that is missing"
                    )),
                }
            }
            for (id, (key, _)) in &ids {
                if !indexed.contains(id.as_str()) {
                    problems.push(format!(
                        "record {id} ({}) is missing from the id index",
                        printable_key(key)
                    ));
                }
            }
            report
                .problems
                .splice(index_problems_at..index_problems_at, problems);
        }
        Ok((unreadable, search, agendas))
    })?;
    // Only over a whole reading: a scan stopped by damage has its own problem.
    if !unreadable {
        match agenda::verify(
            SledStore::vault(&store.db()?, c),
            agendas.finish(),
            &unreadable_agendas,
        ) {
            Ok(problems) => report.problems.extend(problems),
            Err(e) => report
                .problems
                .push(format!("the agenda index cannot be read: {e}")),
        }
    }
    // A reading stopped by damage gave the verifier part of the records: it reads them itself,
    // as far as they can be read.
    let search = match search {
        _ if unreadable => index::verify(vault).map_err(|e| e.to_string()),
        proved => proved,
    };
    match search {
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
pub(super) fn unreadable_records(store: &SledStore, c: &Crypt) -> Vec<String> {
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
pub(super) struct Reference {
    pub(super) from_kind: RecordKind,
    pub(super) from_id: String,
    pub(super) field: String,
    pub(super) kind: RecordKind,
    pub(super) target: String,
}

pub(super) fn references_of(r: &Record) -> Vec<Reference> {
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

/// What the reading gives the second thread, in order: an id-index entry (opened there), a
/// timeline record that does not decode (the search index's verifier is told), or a record
/// (the verifier, if it is a timeline record, and the agendas).
enum Proof {
    Index(String, sled::IVec, sled::IVec),
    Unreadable(sled::IVec),
    Record(sled::IVec, bool, Box<Record>),
}

/// Hands the second thread its next record. It stops taking them only by panicking, which
/// joining it passes on.
fn prove(to: &std::sync::mpsc::SyncSender<Proof>, proof: Proof) {
    let _ = to.send(proof);
}

/// Gives the search index's verifier one timeline record; a read error stops it, to be
/// reported as the index not being readable.
fn search_record(
    search: &mut std::result::Result<std::result::Result<index::Verifier<'_>, Vec<String>>, String>,
    k: &[u8],
    r: Option<&Record>,
) {
    if let Ok(Ok(v)) = search
        && let Err(e) = v.record(k, r)
    {
        *search = Err(e.to_string());
    }
}
