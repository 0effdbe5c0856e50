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
    pub map: Bindings,
    pub upto: AuditHead,
    pub saved: u64,
}

impl Known {
    pub fn take(&mut self, e: &AuditEntry) {
        bind(&mut self.map, e);
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
        let mut out = Vec::with_capacity(44 + self.map.len() * 64);
        out.extend_from_slice(&self.upto.to_bytes());
        out.extend_from_slice(&(self.map.len() as u32).to_be_bytes());
        for (id, b) in &self.map {
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
    pub fn decode(mut b: &[u8]) -> Option<Self> {
        fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
            if b.len() < n {
                return None;
            }
            let (head, tail) = b.split_at(n);
            *b = tail;
            Some(head)
        }
        let upto = AuditHead::from_bytes(take(&mut b, 40)?)?;
        let count = u32::from_be_bytes(take(&mut b, 4)?.try_into().ok()?);
        let mut map = Bindings::with_capacity((count as usize).min(1 << 20));
        for _ in 0..count {
            let n = u16::from_be_bytes(take(&mut b, 2)?.try_into().ok()?) as usize;
            let id = std::str::from_utf8(take(&mut b, n)?).ok()?.to_owned();
            let seq = u64::from_be_bytes(take(&mut b, 8)?.try_into().ok()?);
            let action = *AuditAction::ALL.get(take(&mut b, 1)?[0] as usize)?;
            let digest = match take(&mut b, 1)?[0] {
                0 => None,
                1 => Some(ChainHash(take(&mut b, 32)?.try_into().ok()?)),
                _ => return None,
            };
            map.insert(
                id,
                Binding {
                    seq,
                    action,
                    digest,
                },
            );
        }
        b.is_empty().then_some(Self {
            map,
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
            map: Bindings::new(),
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
        assert_eq!((back.map, back.upto, back.saved), (k.map, k.upto, 5));
        assert!(Known::decode(&bytes[..bytes.len() - 1]).is_none());
        assert!(Known::decode(&[bytes.as_slice(), b"x"].concat()).is_none());
    }
}
