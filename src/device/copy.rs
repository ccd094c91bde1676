//! EXTENDED COPY within one LUN: each segment is copied in steps of at most [`STEP`]
//! bytes, read into a private buffer and written back from it, one step at a time, so a
//! copy never floods the backstore and costs one buffer of memory. Overlapping source
//! and destination ranges are copied in the direction that reads every block before
//! it is overwritten.

#![forbid(unsafe_code)]

use super::{Device, DeviceError, Pending, Waiting};
use crate::backstore::{BackstoreError, IoOp};
use crate::region::{DataBuf, DataSeg, SharedRegion};
use crate::ring::Command;
use crate::scsi::{CopyPlan, CopyResult, Status};
use std::sync::Arc;

/// Largest read or write of one step.
pub const STEP: u64 = 1 << 20;

/// An EXTENDED COPY in progress.
#[derive(Debug, Clone)]
pub struct CopyJob {
    plan: CopyPlan,
    /// Index of the segment being copied.
    segment: usize,
    /// Bytes of that segment already copied.
    done: u64,
    /// The step whose read finished and whose write is in flight, if any.
    writing: Option<Step>,
    /// Bytes copied by finished segments and steps.
    copied: u64,
    block: u64,
    fua: bool,
    buffer: Arc<SharedRegion>,
}

/// One read-then-write step: medium offsets and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Step {
    src: u64,
    dst: u64,
    len: u64,
}

impl PartialEq for CopyJob {
    fn eq(&self, other: &Self) -> bool {
        (&self.plan, self.segment, self.done, self.writing)
            == (&other.plan, other.segment, other.done, other.writing)
    }
}

impl Eq for CopyJob {}

impl CopyJob {
    /// The next step of the current segment, or `None` when every segment is done.
    fn next_step(&self) -> Option<Step> {
        let s = self.plan.segments.get(self.segment)?;
        let total = u64::from(s.blocks) * self.block;
        let len = (total - self.done).min(self.buffer.len() as u64);
        let (src, dst) = (s.src_lba * self.block, s.dst_lba * self.block);
        // A destination that starts inside the source is copied from the end backwards.
        let backward = dst > src && dst < src + total;
        let rel = if backward {
            total - self.done - len
        } else {
            self.done
        };
        Some(Step {
            src: src + rel,
            dst: dst + rel,
            len,
        })
    }

    /// Marks `step` written and moves on to the next segment when this one is done.
    fn advance(&mut self, step: Step) {
        self.done += step.len;
        self.copied += step.len;
        let total = self
            .plan
            .segments
            .get(self.segment)
            .map_or(0, |s| u64::from(s.blocks) * self.block);
        if self.done >= total {
            self.segment += 1;
            self.done = 0;
        }
        self.skip_empty();
    }

    /// Moves past segments with NUMBER OF BLOCKS 0, which copy nothing.
    fn skip_empty(&mut self) {
        while self
            .plan
            .segments
            .get(self.segment)
            .is_some_and(|s| s.blocks == 0)
        {
            self.segment += 1;
        }
    }

    /// The first `step.len` bytes of the copy buffer, which a step reads into and
    /// writes from.
    fn step_buf(&self, step: Step) -> DataBuf {
        let seg = DataSeg {
            off: 0,
            len: step.len,
        };
        DataBuf::new(self.buffer.clone(), &[seg], step.len)
    }

    /// How the copy ended, if its plan asked for the result to be held (LIST ID USAGE
    /// 00b) for RECEIVE COPY RESULTS.
    pub(super) fn held_result(&self, ok: bool) -> Option<CopyResult> {
        self.plan.hold.then(|| CopyResult {
            list_id: self.plan.list_id,
            ok,
            segments_done: u16::try_from(self.segment).unwrap_or(u16::MAX),
            bytes: self.copied,
        })
    }
}

impl Device {
    /// Starts an EXTENDED COPY whose plan the emulation has checked.
    pub(super) fn start_copy(
        &mut self,
        cmd: Command,
        plan: CopyPlan,
        guard: Option<super::order::Guard>,
    ) -> Result<(), DeviceError> {
        let block = u64::from(self.lun.config().block_size);
        let largest = plan
            .segments
            .iter()
            .map(|s| u64::from(s.blocks) * block)
            .max()
            .unwrap_or(0);
        let mut job = CopyJob {
            plan,
            segment: 0,
            done: 0,
            writing: None,
            copied: 0,
            block,
            fua: !self.lun.write_cache_enabled(),
            buffer: Arc::new(SharedRegion::heap(STEP.min(largest).max(block) as usize)),
        };
        job.skip_empty();
        let tag = self.inflight.insert(Pending::new(
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
        let Some(Pending {
            waiting: Waiting::Copy(job),
            ..
        }) = self.inflight.get_mut(tag)
        else {
            return Ok(());
        };
        let op = match job.writing {
            Some(step) => IoOp::Write {
                offset: step.dst,
                buf: job.step_buf(step),
                fua: job.fua,
            },
            None => match job.next_step() {
                Some(step) => IoOp::Read {
                    offset: step.src,
                    buf: job.step_buf(step),
                },
                None => {
                    let held = job.held_result(true);
                    if let Some(p) = self.inflight.take(tag) {
                        if let Some(result) = held {
                            self.lun.record_copy(result);
                        }
                        return self.answer(p.cmd, &Status::Good, &[]);
                    }
                    return Ok(());
                }
            },
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
        mut pending: Pending,
        result: Result<u64, BackstoreError>,
    ) -> Result<(), DeviceError> {
        let Waiting::Copy(job) = &mut pending.waiting else {
            return self.answer(pending.cmd, &Status::Good, &[]);
        };
        let expected = match job.writing {
            Some(step) => step.len,
            None => job.next_step().map_or(0, |s| s.len),
        };
        match result {
            Err(e) => return self.fail(pending, &e),
            Ok(moved) if moved < expected => {
                return self.fail(pending, &BackstoreError::Read(libc::EIO));
            }
            Ok(_) => {}
        }
        match job.writing.take() {
            Some(step) => job.advance(step),
            None => job.writing = job.next_step(),
        }
        let tag = self.inflight.insert(pending);
        self.copy_submit(tag)
    }
}
