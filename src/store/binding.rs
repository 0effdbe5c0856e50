//! Records bound to their history: what the audit log says each record must hold.
//!
//! Every audit entry a change writes names, for each record the change wrote or removed, the
//! digest of the value it left ([`super::audit::value_digest`]). The newest entry about a
//! record is its [`Binding`]; a stored value whose digest is not that entry's was put back from
//! an older copy or written behind kitnotes' back.
//!
//! Reading the whole log to learn every binding costs one unsealing per entry, so the store
//! keeps a snapshot of them (`M\0binds`, sealed like every value): the bindings up to an entry,
//! and that entry's number and hash. It is trusted only while the log still holds that entry
//! with that hash (the log itself is bound to the save stamp), and the entries after it are read
//! on top. A snapshot put back from an older copy only means more entries to read: it is this
//! store's (sealed under its key, at its key) and was true at the entry it names.

use super::audit::{AuditAction, AuditEntry, AuditHead, ChainHash, value_digest};
use std::collections::HashMap;

/// Where the snapshot lives.
pub const SNAPSHOT_KEY: &[u8] = b"M\0binds";

/// A new snapshot is written at a save once this many entries were read or written past the
/// last one.
pub const SNAPSHOT_EVERY: u64 = 1_000;

/// The newest audit entry that bound a record: what the record must hold now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub seq: u64,
    pub action: AuditAction,
    /// `None`: the entry removed the record.
    pub digest: Option<ChainHash>,
}

impl Binding {
    /// Why the value stored under `key` is not what this entry left, if it is not.
    pub fn mismatch(&self, key: &[u8], value: &[u8]) -> Option<String> {
        match self.digest {
            Some(d) if d == value_digest(key, value) => None,
            Some(_) => Some(format!(
                "is not the version audit entry {} ({}) wrote: it was put back to an older \
                 version or changed without an entry",
                self.seq, self.action
            )),
            None => Some(format!(
                "was removed by audit entry {} ({}), yet it is in the store: it was put back",
                self.seq, self.action
            )),
        }
    }
}

/// Bindings by record id.
pub type Bindings = HashMap<String, Binding>;

/// Takes in what `e` says about the records it names.
pub fn bind(out: &mut Bindings, e: &AuditEntry) {
    for b in &e.values {
        out.insert(
            b.record.clone(),
            Binding {
                seq: e.seq,
                action: e.action,
                digest: b.digest,
            },
        );
    }
}

/// The bindings a store knows in memory: read up to entry `upto`, the snapshot last saved at
/// entry `saved`.
#[derive(Debug, Clone)]
pub struct Known {
    pub map: KnownMap,
    pub upto: AuditHead,
    pub saved: u64,
}

/// The bindings of every record: the snapshot as read, looked up where it lies (a process that
/// reads a few notes never decodes the snapshot's 100,000 others), and what the entries after it
/// said, which comes first.
#[derive(Debug, Clone, Default)]
pub struct KnownMap {
    base: Option<Snapshot>,
    newer: Bindings,
}

/// A snapshot's body with, sorted, a hash of each record id and where its entry starts.
#[derive(Debug, Clone)]
struct Snapshot {
    body: Vec<u8>,
    index: Vec<(u64, u32)>,
}

/// FNV-1a, 64 bits: a record id's place in the snapshot's index (not a security boundary: the
/// id at the place is compared whole).
fn id_hash(id: &[u8]) -> u64 {
    id.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Reads one entry of a snapshot at the front of `b`: its id and binding; `b` moves past it.
fn read_entry<'a>(b: &mut &'a [u8]) -> Option<(&'a [u8], Binding)> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        if b.len() < n {
            return None;
        }
        let (head, tail) = b.split_at(n);
        *b = tail;
        Some(head)
    }
    let n = u16::from_be_bytes(take(b, 2)?.try_into().ok()?) as usize;
    let id = take(b, n)?;
    std::str::from_utf8(id).ok()?;
    let seq = u64::from_be_bytes(take(b, 8)?.try_into().ok()?);
    let action = *AuditAction::ALL.get(take(b, 1)?[0] as usize)?;
    let digest = match take(b, 1)?[0] {
        0 => None,
        1 => Some(ChainHash(take(b, 32)?.try_into().ok()?)),
        _ => return None,
    };
    Some((
        id,
        Binding {
            seq,
            action,
            digest,
        },
    ))
}

impl Snapshot {
    /// The binding of record `id` in the snapshot.
    fn get(&self, id: &str) -> Option<Binding> {
        let h = id_hash(id.as_bytes());
        let first = self.index.partition_point(|&(k, _)| k < h);
        self.index[first..]
            .iter()
            .take_while(|&&(k, _)| k == h)
            .find_map(|&(_, at)| {
                let mut b = self.body.get(at as usize..)?;
                let (found, binding) = read_entry(&mut b)?;
                (found == id.as_bytes()).then_some(binding)
            })
    }

    /// Every entry, in the order written.
    fn entries(&self) -> impl Iterator<Item = (&str, Binding)> {
        self.index.iter().filter_map(|&(_, at)| {
            let mut b = self.body.get(at as usize..)?;
            let (id, binding) = read_entry(&mut b)?;
            Some((std::str::from_utf8(id).ok()?, binding))
        })
    }
}

impl KnownMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// The newest binding of record `id`.
    pub fn get(&self, id: &str) -> Option<Binding> {
        self.newer
            .get(id)
            .cloned()
            .or_else(|| self.base.as_ref()?.get(id))
    }

    pub fn insert(&mut self, id: String, binding: Binding) {
        self.newer.insert(id, binding);
    }

    /// Every record's binding, each once (the newer over the snapshot's).
    pub fn entries(&self) -> impl Iterator<Item = (&str, Binding)> {
        let base = self
            .base
            .iter()
            .flat_map(Snapshot::entries)
            .filter(|(id, _)| !self.newer.contains_key(*id));
        base.chain(self.newer.iter().map(|(id, b)| (id.as_str(), b.clone())))
    }

    pub fn len(&self) -> usize {
        self.entries().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Known {
    pub fn take(&mut self, e: &AuditEntry) {
        bind(&mut self.map.newer, e);
        self.upto = AuditHead {
            seq: e.seq,
            hash: e.hash,
        };
    }

    /// Whether a new snapshot is due.
    pub fn snapshot_due(&self) -> bool {
        self.upto.seq >= self.saved + SNAPSHOT_EVERY
    }

    /// The snapshot's body: the entry it is true at (number, hash), the count, then for each
    /// record its id (u16 length, UTF-8), the entry's number, the action's index in
    /// [`AuditAction::ALL`], and 0 (removed) or 1 and the digest.
    pub fn encode(&self) -> Vec<u8> {
        let entries: Vec<(&str, Binding)> = self.map.entries().collect();
        let mut out = Vec::with_capacity(44 + entries.len() * 64);
        out.extend_from_slice(&self.upto.to_bytes());
        out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        for (id, b) in entries {
            out.extend_from_slice(&(id.len().min(u16::MAX as usize) as u16).to_be_bytes());
            out.extend_from_slice(&id.as_bytes()[..id.len().min(u16::MAX as usize)]);
            out.extend_from_slice(&b.seq.to_be_bytes());
            let action = AuditAction::ALL.iter().position(|a| *a == b.action);
            out.push(action.map_or(u8::MAX, |i| i as u8));
            match b.digest {
                None => out.push(0),
                Some(d) => {
                    out.push(1);
                    out.extend_from_slice(&d.0);
                }
            }
        }
        out
    }

    /// Reads a snapshot's body back; `None` if it does not read (then the whole log is read).
    /// Every entry is checked, but none is decoded into memory: only each id's hash and place.
    pub fn decode(body: &[u8]) -> Option<Self> {
        let upto = AuditHead::from_bytes(body.get(..40)?)?;
        let count = u32::from_be_bytes(body.get(40..44)?.try_into().ok()?);
        let mut index = Vec::with_capacity((count as usize).min(1 << 20));
        let mut b = body.get(44..)?;
        for _ in 0..count {
            let at = u32::try_from(body.len() - b.len()).ok()?;
            let (id, _) = read_entry(&mut b)?;
            index.push((id_hash(id), at));
        }
        if !b.is_empty() {
            return None;
        }
        index.sort_unstable();
        Some(Self {
            map: KnownMap {
                base: Some(Snapshot {
                    body: body.to_vec(),
                    index,
                }),
                newer: Bindings::new(),
            },
            upto,
            saved: upto.seq,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_reads_back_and_a_damaged_one_does_not() {
        let mut k = Known {
            map: KnownMap::new(),
            upto: AuditHead {
                seq: 0,
                hash: ChainHash::GENESIS,
            },
            saved: 0,
        };
        for (id, seq, digest) in [("n1", 3, Some(ChainHash([7; 32]))), ("n2", 5, None)] {
            k.map.insert(
                id.into(),
                Binding {
                    seq,
                    action: AuditAction::NoteSigned,
                    digest,
                },
            );
        }
        k.upto = AuditHead {
            seq: 5,
            hash: ChainHash([1; 32]),
        };
        let bytes = k.encode();
        let back = Known::decode(&bytes).unwrap();
        assert_eq!((back.upto, back.saved), (k.upto, 5));
        assert_eq!(back.map.len(), 2);
        for id in ["n1", "n2"] {
            assert_eq!(back.map.get(id), k.map.get(id), "{id}");
        }
        assert_eq!(back.map.get("n3"), None);
        // A newer binding wins over the snapshot's, and a new snapshot holds each record once.
        let mut newer = back.clone();
        newer.map.insert(
            "n1".into(),
            Binding {
                seq: 9,
                action: AuditAction::NoteSigned,
                digest: None,
            },
        );
        assert_eq!(newer.map.get("n1").map(|b| b.seq), Some(9));
        let again = Known::decode(&newer.encode()).unwrap();
        assert_eq!(again.map.len(), 2);
        assert_eq!(again.map.get("n1").map(|b| b.seq), Some(9));
        assert!(Known::decode(&bytes[..bytes.len() - 1]).is_none());
        assert!(Known::decode(&[bytes.as_slice(), b"x"].concat()).is_none());
    }
}
