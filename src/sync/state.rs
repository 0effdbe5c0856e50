//! What this laptop knows of the practice's server, kept sealed in the store
//! (`Store::put_sync_state`): the version and content hash of every resource as last seen on
//! the server, when the last pull reached, who wrote the records that came from others, the
//! open conflicts, and how the last sync ended.
//!
//! Nothing here is a queue of its own: what waits to be sent is every resource whose content
//! differs from the hash last seen, so the queue and the server's versions cannot disagree.

use crate::store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A resource as last seen on the server (sent by this laptop, or pulled).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    /// `meta.versionId`: the `If-Match` of the next write.
    pub version: String,
    /// The content hash (`resources::hash_*`) of that version.
    pub hash: String,
}

/// Who wrote a record that came from another laptop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    pub practitioner: String,
    pub name: String,
}

/// The same record changed here and on the server: both kept until a person chooses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// The resource carrying the record (`Basic/<uuid>`).
    pub key: String,
    pub record: String,
    pub patient: String,
    /// The server's version of the record (its interchange line) and its `versionId`.
    pub theirs: String,
    pub their_version: String,
    pub their_author: Option<Author>,
    /// How it was found: "changed here and on the server" or "the server refused a stale write
    /// (412)".
    pub found: String,
}

/// The whole state, stored as JSON inside a sealed value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    /// The server this state belongs to; another server starts afresh.
    #[serde(default)]
    pub server: String,
    /// Every resource by `Type/id`.
    #[serde(default)]
    pub seen: BTreeMap<String, Seen>,
    /// The newest `meta.lastUpdated` pulled: the next pull's `_since`.
    #[serde(default)]
    pub pulled_to: Option<String>,
    /// Records that came from another clinician, by record id.
    #[serde(default)]
    pub authors: BTreeMap<String, Author>,
    #[serde(default)]
    pub conflicts: Vec<Conflict>,
    /// When the last sync that reached the server ended.
    #[serde(default)]
    pub last_success: Option<jiff::Timestamp>,
    /// Why the last sync did not finish (unreachable, refused); cleared by the next success.
    #[serde(default)]
    pub last_error: Option<String>,
}

impl SyncState {
    /// The stored state, or a fresh one for `server` (also when the server changed).
    pub fn load(store: &dyn Store, server: &str) -> Result<Self, StoreError> {
        let state = match store.sync_state()? {
            Some(bytes) => {
                serde_json::from_slice::<SyncState>(&bytes).map_err(|e| StoreError::Corrupt {
                    key: "the sync state (S\\0sync)".into(),
                    detail: e.to_string(),
                })?
            }
            None => SyncState::default(),
        };
        if state.server == server {
            return Ok(state);
        }
        // A new server knows none of the versions: everything is sent again (PUT on the same
        // ids, so nothing is duplicated) and everything pulled. Who wrote what stays known.
        Ok(SyncState {
            server: server.to_owned(),
            authors: state.authors,
            ..SyncState::default()
        })
    }

    /// Stores the state and makes it durable, with whatever the store wrote before it.
    pub fn save(&self, store: &dyn Store) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(self).map_err(|e| StoreError::Invalid {
            id: "sync state".into(),
            detail: e.to_string(),
        })?;
        store.put_sync_state(&bytes)?;
        store.flush()
    }

    pub fn conflict(&self, key: &str) -> Option<&Conflict> {
        self.conflicts.iter().find(|c| c.key == key)
    }
}

/// What another part of kitnotes (the UI) may show of the state without the server: who wrote
/// which record, the open conflicts and how the last sync ended. `None` when nothing is stored.
pub fn read(store: &dyn Store) -> Option<SyncState> {
    let bytes = store.sync_state().ok()??;
    serde_json::from_slice(&bytes).ok()
}
