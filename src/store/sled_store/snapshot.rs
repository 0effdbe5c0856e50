//! What the search snapshot (`store::snapshot`) copies out of a plain store: the search
//! index's keys, and the records and patients a hit shows, each value as stored.

use super::*;
use crate::store::snapshot::Writer;

impl SledStore {
    /// Copies into `out` what `kitnotes search` reads, for a snapshot of this store: the
    /// index, every patient, and the records a search that leaves out psychotherapy notes can
    /// show (those the index holds a doc of another kind for), each under its id.
    /// Each note and dosing session is checked against the audit log as a search checks the
    /// ones it shows, so the snapshot holds nothing the store would refuse to show. An
    /// encrypted store is refused: it keeps no snapshot.
    pub fn copy_for_search(&self, out: &mut Writer) -> Result<()> {
        if self.is_encrypted() {
            return Err(StoreError::Invalid {
                id: crate::store::snapshot::FILE.into(),
                detail: "an encrypted store keeps no search snapshot".into(),
            });
        }
        let c = &self.crypt()?;
        let db = self.db()?;
        let io = |e: std::io::Error| StoreError::Io(e);
        for prefix in [
            keys::DOCS_PREFIX,
            keys::DOC_REF_PREFIX,
            keys::PATIENT_NO_PREFIX,
            keys::WORDS_PREFIX,
            keys::POSTINGS_PREFIX,
            keys::PATIENT_PREFIX,
        ] {
            for kv in db.scan_prefix(prefix) {
                let (k, v) = kv?;
                out.add(&k, &v).map_err(io)?;
            }
        }
        if let Some(v) = db.get(keys::SEARCH_STATS_KEY)? {
            out.add(keys::SEARCH_STATS_KEY, &v).map_err(io)?;
        }
        let shown = index::shown_records(Self::vault(&db, c))?;
        let mut bindings = lock_or_poisoned(&self.bindings);
        if bindings.is_none() {
            *bindings = Some(self.bindings_from_log(c)?);
        }
        let known = bindings.as_ref().map(|b| &b.map);
        for kv in db.scan_prefix(keys::TIMELINE_PREFIX) {
            let (k, v) = kv?;
            let Some(KeyParts::Timeline {
                kind, id, patient, ..
            }) = keys::parse_key(c, &k)
            else {
                continue;
            };
            if !shown.contains(id.as_str()) {
                continue;
            }
            if matches!(kind, RecordKind::Note | RecordKind::Session)
                && let Some(why) = known
                    .and_then(|m| m.get(&id))
                    .and_then(|b| b.mismatch(&k, &v))
            {
                return Err(StoreError::Tampered {
                    path: self.dir.clone(),
                    what: format!("{} {id} (patient {patient}) {why}", kind.as_str()),
                });
            }
            out.add_record(&keys::index_key(c, &id), &k, &v)
                .map_err(io)?;
        }
        Ok(())
    }
}
