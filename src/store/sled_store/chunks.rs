//! Large changes written in chunks, each with its undo entry in the same batch, and the
//! roll-back of a change that never committed.

use super::*;

impl SledStore {
    /// Writes planned ops. Up to [`CHUNK_OPS`] ops go in one batch. Beyond that each chunk's
    /// batch also stores how to undo it, and the undo entries are removed together at the end:
    /// that removal is the commit. If the process dies before it, the next open rolls every
    /// chunk back ([`SledStore::roll_back_interrupted`]).
    pub(super) fn write<'a>(&self, b: &mut Binder<'a>, ops: &[KeyOp<'a>]) -> Result<()> {
        if ops.len() <= CHUNK_OPS {
            let mut batch = sled::Batch::default();
            ops.iter().for_each(|op| b.encode(op, &mut batch));
            self.db()?.apply_batch(batch)?;
            return Ok(());
        }
        self.write_chunked(|w| self.write_chunks(b, ops, w))
    }

    /// Runs `write` (which writes chunks with their undo entries), then commits; on an error,
    /// rolls every chunk back.
    pub(super) fn write_chunked(
        &self,
        write: impl FnOnce(&mut Chunks) -> Result<()>,
    ) -> Result<()> {
        let mut chunks = Chunks::default();
        let result = write(&mut chunks).and_then(|()| {
            // The commit: every undo entry goes in one small batch.
            let mut commit = sled::Batch::default();
            chunks
                .undo_keys
                .iter()
                .for_each(|k| commit.remove(k.as_slice()));
            self.db()?.apply_batch(commit)?;
            Ok(())
        });
        if result.is_err() {
            // Best effort now; if this fails too, the next open finishes the roll-back.
            let _ = self.roll_back_interrupted();
        }
        result
    }

    /// Writes `ops` in chunks, each with how to undo it, numbered on from earlier chunks.
    pub(super) fn write_chunks<'a>(
        &self,
        b: &mut Binder<'a>,
        ops: &[KeyOp<'a>],
        chunks: &mut Chunks,
    ) -> Result<()> {
        for chunk in ops.chunks(CHUNK_OPS) {
            let mut undo = Vec::with_capacity(chunk.len());
            let mut batch = sled::Batch::default();
            for op in chunk {
                let old = if op.fresh {
                    None
                } else {
                    self.db()?.get(&op.key)?.map(|v| v.to_vec())
                };
                undo.push((op.key.clone(), old));
                b.encode(op, &mut batch);
            }
            let undo_key = undo_key(chunks.undo_keys.len() as u64);
            batch.insert(undo_key.as_slice(), encode_undo(&undo));
            self.db()?.apply_batch(batch)?;
            chunks.undo_keys.push(undo_key);
        }
        Ok(())
    }

    /// Undoes the chunks of a large change that never committed, newest first, each chunk's
    /// undo and the removal of its entry in one batch. Returns how many chunks were undone.
    pub fn roll_back_interrupted(&self) -> Result<usize> {
        let mut entries: Vec<(sled::IVec, sled::IVec)> = self
            .db()?
            .scan_prefix(UNDO_PREFIX)
            .collect::<std::result::Result<_, _>>()?;
        entries.reverse();
        for (key, value) in &entries {
            let undo = decode_undo(value).ok_or_else(|| StoreError::Damaged {
                path: self.dir.clone(),
                detail: "an undo entry of an interrupted change cannot be read".into(),
            })?;
            let mut batch = sled::Batch::default();
            for (k, old) in undo.into_iter().rev() {
                match old {
                    Some(v) => batch.insert(k, v),
                    None => batch.remove(k),
                }
            }
            batch.remove(key.clone());
            self.db()?.apply_batch(batch)?;
        }
        if !entries.is_empty() {
            self.flush()?;
        }
        Ok(entries.len())
    }
}

/// The undo entries of a change written in chunks so far.
#[derive(Default)]
pub(super) struct Chunks {
    pub(super) undo_keys: Vec<Vec<u8>>,
}

/// A key and the value it had before a chunk was written (`None`: it was absent).
pub(super) type UndoEntry = (Vec<u8>, Option<Vec<u8>>);

pub(super) const UNDO_PREFIX: &[u8] = b"M\0undo\0";

pub(super) fn undo_key(seq: u64) -> Vec<u8> {
    [UNDO_PREFIX, &seq.to_be_bytes()].concat()
}

/// Undo entries: for each key, its length and bytes, then 0 (was absent) or 1 with the old
/// value's length and bytes. Lengths are u32 big-endian.
pub(super) fn encode_undo(entries: &[UndoEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, old) in entries {
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k);
        match old {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                out.extend_from_slice(&(v.len() as u32).to_be_bytes());
                out.extend_from_slice(v);
            }
        }
    }
    out
}

pub(super) fn decode_undo(mut b: &[u8]) -> Option<Vec<UndoEntry>> {
    pub(super) fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        if b.len() < n {
            return None;
        }
        let (head, tail) = b.split_at(n);
        *b = tail;
        Some(head)
    }
    pub(super) fn len(b: &mut &[u8]) -> Option<usize> {
        Some(u32::from_be_bytes(take(b, 4)?.try_into().ok()?) as usize)
    }
    let mut out = Vec::new();
    while !b.is_empty() {
        let n = len(&mut b)?;
        let key = take(&mut b, n)?.to_vec();
        let old = match take(&mut b, 1)?[0] {
            0 => None,
            1 => {
                let n = len(&mut b)?;
                Some(take(&mut b, n)?.to_vec())
            }
            _ => return None,
        };
        out.push((key, old));
    }
    Some(out)
}
