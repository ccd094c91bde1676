//! A VERIFY or COMPARE AND WRITE in progress: the compared range, how much of it matched
//! so far, and the buffer each chunk of the medium is read into.

#![forbid(unsafe_code)]

use crate::backstore::BackstoreError;
use crate::region::{DataBuf, DataSeg, SharedRegion};
use crate::scsi::{ByteCheck, DataOut};
use std::sync::Arc;

/// Largest read of one comparison step.
pub const CHUNK: u64 = 1 << 20;

/// What is compared, and what follows a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Verify(ByteCheck),
    /// Write the second half of the data-out (with FUA when asked) after a match.
    CompareAndWrite {
        fua: bool,
    },
}

/// A comparison in progress.
#[derive(Debug, Clone)]
pub struct Compare {
    kind: Kind,
    /// Byte offset of the range on the medium.
    offset: u64,
    /// Bytes of the range already compared.
    done: u64,
    /// Bytes in the range.
    total: u64,
    block: u64,
    buffer: Arc<SharedRegion>,
}

impl PartialEq for Compare {
    fn eq(&self, other: &Self) -> bool {
        (self.kind, self.offset, self.done, self.total)
            == (other.kind, other.offset, other.done, other.total)
            && Arc::ptr_eq(&self.buffer, &other.buffer)
    }
}

impl Eq for Compare {}

impl Compare {
    /// A comparison of the `total` bytes at `offset` (never empty) on a medium of
    /// `block`-byte blocks, with a buffer of at most [`CHUNK`] (at least one block).
    pub(in crate::device) fn new(kind: Kind, offset: u64, total: u64, block: u64) -> Self {
        let chunk = CHUNK.min(total).max(block);
        Self {
            kind,
            offset,
            done: 0,
            total,
            block,
            buffer: Arc::new(SharedRegion::heap(chunk as usize)),
        }
    }

    /// What is compared.
    pub(in crate::device) fn kind(&self) -> Kind {
        self.kind
    }

    /// Byte offset and length of the compared range on the medium.
    pub(in crate::device) fn range(&self) -> (u64, u64) {
        (self.offset, self.total)
    }

    /// Length of the step that starts at `done`.
    pub(in crate::device) fn step_len(&self) -> u64 {
        (self.total - self.done).min(self.buffer.len() as u64)
    }

    /// The medium offset of the next step and the buffer its read fills.
    pub(in crate::device) fn step_read(&self) -> (u64, DataBuf) {
        let n = self.step_len();
        let buf = DataBuf::new(self.buffer.clone(), &[DataSeg { off: 0, len: n }], n);
        (self.offset + self.done, buf)
    }

    /// Records `n` more bytes as matching.
    pub(in crate::device) fn advance(&mut self, n: u64) {
        self.done += n;
    }

    /// True when the whole range matched.
    pub(in crate::device) fn is_done(&self) -> bool {
        self.done >= self.total
    }

    /// Data-out bytes the command must carry.
    pub(in crate::device) fn data_out_needed(&self) -> u64 {
        match self.kind {
            Kind::Verify(ByteCheck::None) => 0,
            Kind::Verify(ByteCheck::Full) => self.total,
            Kind::Verify(ByteCheck::SingleBlock) => self.block,
            Kind::CompareAndWrite { .. } => self.total * 2,
        }
    }

    /// Offset (from the start of the compared range) of the first byte of this step's
    /// medium data that differs from the data-out, if any.
    pub(in crate::device) fn first_difference(
        &self,
        data_out: &dyn DataOut,
        n: u64,
    ) -> Result<Option<u64>, BackstoreError> {
        let mut medium = vec![0u8; n as usize];
        self.buffer.read_bytes(0, &mut medium)?;
        let mut expected = vec![0u8; n as usize];
        match self.kind {
            Kind::Verify(ByteCheck::None) => return Ok(None),
            Kind::Verify(ByteCheck::SingleBlock) => {
                let mut one = vec![0u8; self.block as usize];
                data_out.read_at(0, &mut one);
                for piece in expected.chunks_mut(one.len()) {
                    piece.copy_from_slice(&one[..piece.len()]);
                }
            }
            Kind::Verify(ByteCheck::Full) | Kind::CompareAndWrite { .. } => {
                data_out.read_at(self.done as usize, &mut expected);
            }
        }
        Ok(medium
            .iter()
            .zip(&expected)
            .position(|(m, e)| m != e)
            .map(|i| self.done + i as u64))
    }
}
