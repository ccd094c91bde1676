//! An EXTENDED COPY in progress: the checked plan, the segment and step being copied, and
//! the buffer each step is read into and written back from.

#![forbid(unsafe_code)]

use crate::backstore::IoOp;
use crate::region::{DataBuf, DataSeg, SharedRegion};
use crate::scsi::{CopyPlan, CopyResult};
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
    /// A copy of `plan` on a medium of `block`-byte blocks, its writes with `fua`, and a
    /// buffer of at most [`STEP`] (at least one block). Starts at the first segment that
    /// copies anything.
    pub(in crate::device) fn new(plan: CopyPlan, block: u64, fua: bool) -> Self {
        let largest = plan
            .segments
            .iter()
            .map(|s| u64::from(s.blocks) * block)
            .max()
            .unwrap_or(0);
        let mut job = Self {
            plan,
            segment: 0,
            done: 0,
            writing: None,
            copied: 0,
            block,
            fua,
            buffer: Arc::new(SharedRegion::heap(STEP.min(largest).max(block) as usize)),
        };
        job.skip_empty();
        job
    }

    /// The request to submit next: the write of a step whose read finished, else the
    /// read of the next step; `None` when everything is copied.
    pub(in crate::device) fn next_op(&self) -> Option<IoOp> {
        if let Some(step) = self.writing {
            return Some(IoOp::Write {
                offset: step.dst,
                buf: self.step_buf(step),
                fua: self.fua,
            });
        }
        let step = self.next_step()?;
        Some(IoOp::Read {
            offset: step.src,
            buf: self.step_buf(step),
        })
    }

    /// Bytes the request in flight (the one [`CopyJob::next_op`] gave) must move.
    pub(in crate::device) fn expected(&self) -> u64 {
        match self.writing {
            Some(step) => step.len,
            None => self.next_step().map_or(0, |s| s.len),
        }
    }

    /// The request in flight finished: after a read, its step is to be written; after a
    /// write, the copy moves on.
    pub(in crate::device) fn request_done(&mut self) {
        match self.writing.take() {
            Some(step) => self.advance(step),
            None => self.writing = self.next_step(),
        }
    }

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
    pub(in crate::device) fn held_result(&self, ok: bool) -> Option<CopyResult> {
        self.plan.hold.then(|| CopyResult {
            list_id: self.plan.list_id,
            ok,
            segments_done: u16::try_from(self.segment).unwrap_or(u16::MAX),
            bytes: self.copied,
        })
    }
}
