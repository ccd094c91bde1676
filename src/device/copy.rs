//! EXTENDED COPY within one LUN: each segment is copied in steps of at most 1 MiB (see
//! [`CopyJob::new`]), read into a private buffer and written back from it, one step at a
//! time, so a copy never floods the backstore and costs one buffer of memory. Overlapping
//! source and destination ranges are copied in the direction that reads every block
//! before it is overwritten. Where a copy stands between its steps is a [`CopyJob`].

#![forbid(unsafe_code)]

use super::job::CopyJob;
use super::{Device, DeviceError, PendingCommand, Waiting};
use crate::backstore::{BackstoreError, IoOp};
use crate::ring::Command;
use crate::scsi::{CopyPlan, Status};

impl Device {
    /// Starts an EXTENDED COPY whose plan the emulation has checked.
    pub(super) fn start_copy(
        &mut self,
        cmd: Command,
        plan: CopyPlan,
        guard: Option<super::order::Guard>,
    ) -> Result<(), DeviceError> {
        let block = u64::from(self.lun.config().block_size);
        let job = CopyJob::new(plan, block, !self.lun.write_cache_enabled());
        let tag = self.inflight.insert(PendingCommand::new(
            cmd,
            Waiting::Copy(Box::new(job)),
            guard,
            self.clock,
        ));
        self.copy_submit(tag)
    }

    /// Submits the next read (or, after a read, the write) of the copy under `tag`, or
    /// answers it when everything is copied.
    fn copy_submit(&mut self, tag: u64) -> Result<(), DeviceError> {
        let Some(PendingCommand {
            waiting: Waiting::Copy(job),
            ..
        }) = self.inflight.get_mut(tag)
        else {
            return Ok(());
        };
        let Some(op) = job.next_op() else {
            let held = job.held_result(true);
            if let Some(p) = self.inflight.take(tag) {
                if let Some(result) = held {
                    self.lun.record_copy(result);
                }
                return self.answer(p.cmd, &Status::Good, &[]);
            }
            return Ok(());
        };
        match &op {
            IoOp::Write { buf, .. } => self.stats.write_bytes += buf.len(),
            IoOp::Read { buf, .. } => self.stats.read_bytes += buf.len(),
            _ => {}
        }
        self.submit_tagged(tag, op)
    }

    /// Handles a finished read or write of a copy step.
    pub(super) fn copy_step(
        &mut self,
        mut pending: PendingCommand,
        result: Result<u64, BackstoreError>,
    ) -> Result<(), DeviceError> {
        let Waiting::Copy(job) = &mut pending.waiting else {
            return self.answer(pending.cmd, &Status::Good, &[]);
        };
        let expected = job.expected();
        match result {
            Err(e) => return self.fail(pending, &e),
            Ok(moved) if moved < expected => {
                return self.fail(pending, &BackstoreError::Read(libc::EIO));
            }
            Ok(_) => {}
        }
        job.request_done();
        let tag = self.inflight.insert(pending);
        self.copy_submit(tag)
    }
}
