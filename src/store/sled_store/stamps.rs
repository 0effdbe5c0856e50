//! The tally's stamps and the audit chain: verifying them on open and for `check`.

use super::*;

impl SledStore {
    /// Checks the tally's stamp and the database's own against the store's key and its audit
    /// log: refuses a stamp this store's key did not tag, and a log that no longer reaches the
    /// entry a stamp recorded (entries cut, an older head put back). Writes nothing.
    pub(super) fn verify_counter(&self, c: &Crypt) -> Result<()> {
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
    pub(super) fn audit_against(
        &self,
        c: &Crypt,
        stamp: &tally::Stamp,
    ) -> Result<Option<AuditProblem>> {
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
    pub(super) fn new_stamp(&self, c: &Crypt, saves: u64) -> Result<tally::Stamp> {
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
    pub(super) fn walk_audit(
        &self,
        c: &Crypt,
        mut each: impl FnMut(&AuditEntry),
    ) -> Result<AuditVerdict> {
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
