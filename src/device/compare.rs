//! VERIFY and COMPARE AND WRITE: the medium is read chunk by chunk into a private
//! buffer (never into the command's data area, which holds the data to compare) and
//! compared with the data-out; COMPARE AND WRITE then writes its second half.
//!
//! Chunks are read one after the other through the same buffer, so a VERIFY of a whole
//! terabyte unit costs one [`CHUNK`] of memory and never floods the backstore.

#![forbid(unsafe_code)]

use super::{Device, DeviceError, Pending, SegmentReader, Waiting, data};
use crate::backstore::{BackstoreError, IoOp};
use crate::region::{DataBuf, DataSeg, SharedRegion};
use crate::ring::Command;
use crate::scsi::{BlockIo, ByteCheck, DataOut, Sense, Status};
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
    /// Length of the step that starts at `done`.
    fn step_len(&self) -> u64 {
        (self.total - self.done).min(self.buffer.len() as u64)
    }

    /// Data-out bytes the command must carry.
    fn data_out_needed(&self) -> u64 {
        match self.kind {
            Kind::Verify(ByteCheck::None) => 0,
            Kind::Verify(ByteCheck::Full) => self.total,
            Kind::Verify(ByteCheck::SingleBlock) => self.block,
            Kind::CompareAndWrite { .. } => self.total * 2,
        }
    }

    /// Offset (from the start of the compared range) of the first byte of this step's
    /// medium data that differs from the data-out, if any.
    fn first_difference(
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

impl Device {
    /// Starts a VERIFY or COMPARE AND WRITE of `io`'s range (never empty: the emulation
    /// answers zero-length ones itself).
    pub(super) fn start_compare(
        &mut self,
        cmd: Command,
        io: &BlockIo,
        kind: Kind,
        guard: Option<super::order::Guard>,
    ) -> Result<(), DeviceError> {
        let block = u64::from(self.lun.config().block_size);
        let total = u64::from(io.blocks) * block;
        let chunk = CHUNK.min(total).max(block);
        let compare = Compare {
            kind,
            offset: io.lba * block,
            done: 0,
            total,
            block,
            buffer: Arc::new(SharedRegion::heap(chunk as usize)),
        };
        if cmd.data_len() < compare.data_out_needed() {
            let status = Status::CheckCondition(Sense::parameter_list_length_error());
            return self.answer(cmd, &status, &[]);
        }
        let tag = self.inflight.insert(Pending::new(
            cmd,
            Waiting::Compare(compare),
            guard,
            self.clock,
        ));
        self.read_step(tag)
    }

    /// Submits the read of the next step of the comparison stored under `tag`.
    fn read_step(&mut self, tag: u64) -> Result<(), DeviceError> {
        let Some(Pending {
            waiting: Waiting::Compare(c),
            ..
        }) = self.inflight.get_mut(tag)
        else {
            return Ok(());
        };
        let n = c.step_len();
        let buf = DataBuf::new(c.buffer.clone(), &[DataSeg { off: 0, len: n }], n);
        let op = IoOp::Read {
            offset: c.offset + c.done,
            buf,
        };
        self.stats.read_bytes += n;
        self.submit_tagged(tag, op)
    }

    /// Handles the completed read of one step: compare, then go on, write or answer.
    pub(super) fn compare_step(
        &mut self,
        mut pending: Pending,
        result: Result<u64, BackstoreError>,
    ) -> Result<(), DeviceError> {
        let Waiting::Compare(c) = &mut pending.waiting else {
            return self.answer(pending.cmd, &Status::Good, &[]);
        };
        let n = c.step_len();
        let checked = match result {
            Ok(moved) if moved >= n => {
                let reader = SegmentReader {
                    region: &self.region,
                    segs: pending.cmd.segments(),
                };
                c.first_difference(&reader, n)
            }
            Ok(_) => Err(BackstoreError::Read(libc::EIO)),
            Err(e) => Err(e),
        };
        match checked {
            Err(e) => return self.answer(pending.cmd, &e.status(), &[]),
            Ok(Some(at)) => {
                let status = Status::CheckCondition(Sense::miscompare(at));
                return self.answer(pending.cmd, &status, &[]);
            }
            Ok(None) => c.done += n,
        }
        if c.done < c.total {
            let tag = self.inflight.insert(pending);
            return self.read_step(tag);
        }
        match c.kind {
            Kind::Verify(_) => self.answer(pending.cmd, &Status::Good, &[]),
            Kind::CompareAndWrite { fua } => self.write_after_compare(pending, fua),
        }
    }

    /// COMPARE AND WRITE matched: write the second half of the data-out, still under the
    /// command's exclusive guard.
    fn write_after_compare(&mut self, mut pending: Pending, fua: bool) -> Result<(), DeviceError> {
        let Waiting::Compare(c) = &pending.waiting else {
            return Ok(());
        };
        let (offset, total) = (c.offset, c.total);
        let segs = data::sub_segments(pending.cmd.segments(), total, total);
        let buf = DataBuf::new(self.region.clone(), &segs, total);
        pending.waiting = Waiting::NoData;
        let tag = self.inflight.insert(pending);
        self.stats.write_bytes += total;
        self.submit_tagged(tag, IoOp::Write { offset, buf, fua })
    }
}
