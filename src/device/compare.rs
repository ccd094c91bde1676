//! VERIFY and COMPARE AND WRITE: the medium is read chunk by chunk into a private
//! buffer (never into the command's data area, which holds the data to compare) and
//! compared with the data-out; COMPARE AND WRITE then writes its second half.
//!
//! Chunks are read one after the other through the same buffer, so a VERIFY of a whole
//! terabyte unit costs one chunk of memory (at most 1 MiB, see [`Compare::new`]) and never
//! floods the backstore. Where a comparison stands between its reads is a [`Compare`].

#![forbid(unsafe_code)]

use super::job::{Compare, Kind};
use super::{Device, DeviceError, PendingCommand, SegmentReader, Waiting, data};
use crate::backstore::{BackstoreError, IoOp};
use crate::region::DataBuf;
use crate::ring::Command;
use crate::scsi::{BlockIo, Sense, Status};

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
        let compare = Compare::new(kind, io.lba * block, total, block);
        if cmd.data_len() < compare.data_out_needed() {
            let status = Status::CheckCondition(Sense::parameter_list_length_error());
            return self.answer(cmd, &status, &[]);
        }
        let tag = self.inflight.insert(PendingCommand::new(
            cmd,
            Waiting::Compare(compare),
            guard,
            self.clock,
        ));
        self.read_step(tag)
    }

    /// Submits the read of the next step of the comparison stored under `tag`.
    fn read_step(&mut self, tag: u64) -> Result<(), DeviceError> {
        let Some(PendingCommand {
            waiting: Waiting::Compare(c),
            ..
        }) = self.inflight.get_mut(tag)
        else {
            return Ok(());
        };
        let n = c.step_len();
        let (offset, buf) = c.step_read();
        self.stats.read_bytes += n;
        self.submit_tagged(tag, IoOp::Read { offset, buf })
    }

    /// Handles the completed read of one step: compare, then go on, write or answer.
    pub(super) fn compare_step(
        &mut self,
        mut pending: PendingCommand,
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
            Ok(None) => c.advance(n),
        }
        if !c.is_done() {
            let tag = self.inflight.insert(pending);
            return self.read_step(tag);
        }
        match c.kind() {
            Kind::Verify(_) => self.answer(pending.cmd, &Status::Good, &[]),
            Kind::CompareAndWrite { fua } => self.write_after_compare(pending, fua),
        }
    }

    /// COMPARE AND WRITE matched: write the second half of the data-out, still under the
    /// command's exclusive guard.
    fn write_after_compare(
        &mut self,
        mut pending: PendingCommand,
        fua: bool,
    ) -> Result<(), DeviceError> {
        let Waiting::Compare(c) = &pending.waiting else {
            return Ok(());
        };
        let (offset, total) = c.range();
        let segs = data::sub_segments(pending.cmd.segments(), total, total);
        let buf = DataBuf::new(self.region.clone(), &segs, total);
        pending.waiting = Waiting::NoData;
        let tag = self.inflight.insert(pending);
        self.stats.write_bytes += total;
        self.submit_tagged(tag, IoOp::Write { offset, buf, fua })
    }
}
