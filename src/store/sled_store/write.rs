//! Writing changes: planning keys (records, id index, search index, audit entries), sealing
//! and binding them, and the writes the `Store` methods run.

use super::*;

/// What one `apply` has seen so far, by id: the key each id now has and, for records written in
/// this call, the record itself (borrowed from the changes, never copied); `None` once deleted.
pub(super) type Overlay<'a> = HashMap<&'a str, Option<(Vec<u8>, Option<&'a Record>)>>;

/// The kind of record a primary key holds, read from the key alone.
pub(super) fn kind_of_key(c: &Crypt, key: &[u8]) -> Option<RecordKind> {
    match keys::parse_key(c, key)? {
        KeyParts::Patient { .. } => Some(RecordKind::Patient),
        KeyParts::Timeline { kind, .. } => Some(kind),
        _ => None,
    }
}

impl SledStore {
    /// The key and kind currently holding `id`, seen through this call's earlier changes.
    pub(super) fn current_key(
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
    pub(super) fn current_record(
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
pub(super) struct KeyOp<'a> {
    pub(super) key: Vec<u8>,
    pub(super) value: OpValue<'a>,
    /// The key was absent before this `apply` and no earlier op in it touched the key, so its
    /// undo is a removal without reading the old value.
    pub(super) fresh: bool,
}

pub(super) enum OpValue<'a> {
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
pub(super) type IndexChange<'a> = (&'a str, Option<Record>, Option<&'a Record>);

/// What [`SledStore::plan`] gives: the record keys to write, what each change does (for the
/// log), the records' versions for the search index, and the changes to the patients' agendas.
pub(super) type Planned<'a> = (
    Vec<KeyOp<'a>>,
    Vec<Described>,
    Vec<IndexChange<'a>>,
    Vec<agenda::AgendaChange<'a>>,
);

/// Changes larger than this are written in chunks, each with its undo entry in the same atomic
/// batch. sled 0.34 handles one batch of hundreds of thousands of entries badly (4 GB of memory
/// for a 100,000-note import); chunks keep it near the demo build's 80 MB.
pub const CHUNK_OPS: usize = 4_096;

/// Audit entries planned at a time when a change is added in parts (one per patient for an
/// import): their keys and values stay in memory only a group at a time.
pub(super) const AUDIT_GROUP: usize = 2_048;

impl SledStore {
    /// Validates every change against the store and the changes before it, and plans the key
    /// writes. Nothing is written here, so a refusal leaves the store untouched. With `describe`,
    /// also says what each change does to its record, for the audit log.
    pub(super) fn plan<'a>(
        &self,
        c: &Crypt,
        changes: &'a [Change],
        describe: bool,
    ) -> Result<Planned<'a>> {
        let mut described = Vec::new();
        let mut agendas: Vec<agenda::AgendaChange<'a>> = Vec::new();
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
                        // Moved to another patient: it leaves the first one's agenda.
                        if !matches!(record, Record::Patient(_))
                            && !old_key.starts_with(&keys::timeline_prefix(c, record.patient()))
                        {
                            let old = self.current_record(c, &overlay, id, old_key)?;
                            agendas.push(agenda::AgendaChange::Remove {
                                patient: old.patient().clone(),
                                id,
                            });
                        }
                        push(&mut ops, old_key.clone(), OpValue::Remove, false);
                    }
                    agendas.push(agenda::AgendaChange::Put(record));
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
                    // Read for its patient's agenda too (a delete is rare: a discarded draft).
                    let old = self.current_record(c, &overlay, id, &key)?;
                    agendas.push(agenda::AgendaChange::Remove {
                        patient: old.patient().clone(),
                        id,
                    });
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
                    if (has_text(kind) || describe) && !overlay.contains_key(id.as_str()) {
                        stored = Some(old);
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
        Ok((ops, described, indexed, agendas))
    }
}

/// Seals one write's values and binds its audit entries to them: each record's digest is
/// taken as its value is sealed, and the entries (always the last ops of a write) are numbered
/// and chained with those digests when the first of them is reached.
pub(super) struct Binder<'a> {
    pub(super) c: &'a Crypt,
    pub(super) digests: HashMap<&'a str, ChainHash>,
    pub(super) audit: Option<PendingAudit<'a>>,
}

/// A write's audit entries before they are chained: each event with the records it binds (by
/// id, and whether the write leaves the record in the store).
pub(super) struct PendingAudit<'a> {
    pub(super) events: Vec<(AuditEvent, Vec<(&'a str, bool)>)>,
    /// The head the first entry follows.
    pub(super) after: AuditHead,
    pub(super) chained: Vec<AuditEntry>,
}

impl<'a> Binder<'a> {
    pub(super) fn new(c: &'a Crypt) -> Self {
        Self {
            c,
            digests: HashMap::new(),
            audit: None,
        }
    }

    pub(super) fn encode(&mut self, op: &KeyOp<'a>, batch: &mut sled::Batch) {
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
    pub(super) fn chained(&mut self) -> &[AuditEntry] {
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
    pub(super) fn head(&mut self) -> AuditHead {
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
    pub(super) fn into_entries(mut self) -> Vec<AuditEntry> {
        self.chained();
        self.audit.map(|p| p.chained).unwrap_or_default()
    }
}

/// A record of a part added by [`Store::add_in_parts`], as its audit entry binds it.
pub(super) struct PartRecord {
    pub(super) id: String,
    pub(super) patient: String,
    pub(super) digest: ChainHash,
}

/// The audit entry of part `n` (from 1) of a change added in parts, with `records` records.
pub(super) fn part_event(part: &AuditEvent, n: usize, records: usize) -> AuditEvent {
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
    pub(super) fn bind_part(
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
    pub(super) fn write_bound(
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

pub(super) fn index_ops(planned: index::IndexOps) -> Vec<KeyOp<'static>> {
    planned
        .into_iter()
        .map(|(key, value)| KeyOp {
            key,
            value: value.map_or(OpValue::Remove, OpValue::Raw),
            fresh: false,
        })
        .collect()
}

impl SledStore {
    /// The audit log's head: where the next entry goes and what it is chained to.
    pub(super) fn audit_head(&self, c: &Crypt) -> Result<HeadState> {
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
    pub(super) fn plan_audit<'a>(
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
pub(super) fn bind_events<'a>(
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

/// The writes the store's users make, run by the [`Store`] methods of the same name through
/// [`SledStore::guarded`].
impl SledStore {
    /// Runs a write, reopening the database first if an earlier write failed on the disk, and
    /// noting a failure on the disk for the next one.
    pub(super) fn guarded<T>(&self, write: impl FnOnce() -> Result<T>) -> Result<T> {
        self.mend();
        let done = write();
        if let Err(e) = &done
            && e.is_disk()
        {
            self.broken.store(true, Ordering::Release);
        }
        done
    }
}

impl SledStore {
    pub(super) fn apply_with_audit_now(
        &self,
        changes: &[Change],
        audit: Audit<'_>,
    ) -> Result<Vec<AuditEntry>> {
        let _guard = lock_or_poisoned(&self.write_lock);
        let c = &self.crypt()?;
        let db = self.db()?;
        let vault = Self::vault(&db, c);
        let _bump = WriteCount(&self.writes);
        let (mut ops, described, indexed, agendas) =
            self.plan(c, changes, matches!(audit, Audit::EachRecord(_)))?;
        // The patients' agendas change with their records, in the same write.
        ops.extend(index_ops(agenda::plan(vault, &agendas)?));
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

    pub(super) fn flush_now(&self) -> Result<()> {
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

    pub(super) fn put_unsaved_now(&self, body: Option<&[u8]>) -> Result<()> {
        self.put_sealed_now(keys::UNSAVED_KEY, body)
    }

    /// Replaces (or with `None` removes) one sealed value that is not a record.
    pub(super) fn put_sealed_now(&self, key: &[u8], body: Option<&[u8]>) -> Result<()> {
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
