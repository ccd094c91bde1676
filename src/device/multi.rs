//! Commands that become several backstore requests: UNMAP (one discard per range) and
//! WRITE SAME (one zeroing or discard, or pattern writes in chunks).

#![forbid(unsafe_code)]

use super::order::Guard;
use super::{Device, DeviceError, PendingCommand, Waiting};
use crate::backstore::{BackstoreError, IoOp, IoRequest};
use crate::region::{DataBuf, DataSeg, SharedRegion};
use crate::ring::Command;
use crate::scsi::{BlockIo, LbaRange, Sense, Status};
use std::sync::Arc;

/// Largest write a WRITE SAME pattern is expanded into (the pattern buffer's size).
const PATTERN_CHUNK: u64 = 1 << 20;

impl Device {
    /// Counts one finished part; returns the command once nothing else is pending for it.
    pub(super) fn take_finished(
        &mut self,
        tag: u64,
        result: &Result<u64, BackstoreError>,
    ) -> Option<PendingCommand> {
        let pending = self.inflight.get_mut(tag)?;
        if let Waiting::Parts {
            remaining, error, ..
        } = &mut pending.waiting
        {
            *remaining = remaining.saturating_sub(1);
            if let (Err(e), None) = (result, &error) {
                *error = Some(e.clone());
            }
            if *remaining > 0 {
                return None;
            }
        }
        self.inflight.take(tag)
    }

    /// Answers a command whose parts all finished, or first makes them durable.
    pub(super) fn finish_parts(&mut self, mut pending: PendingCommand) -> Result<(), DeviceError> {
        match pending.waiting {
            Waiting::Parts { error: Some(e), .. } => {
                let status = e.status();
                self.answer(pending.cmd, &status, &[])
            }
            Waiting::Parts {
                then_flush: true, ..
            } => {
                pending.waiting = Waiting::NoData;
                let tag = self.inflight.insert(pending);
                self.submit_tagged(tag, IoOp::Flush)
            }
            _ => self.answer(pending.cmd, &Status::Good, &[]),
        }
    }

    pub(super) fn unmap(
        &mut self,
        cmd: Command,
        ranges: &[LbaRange],
        guard: Option<Guard>,
    ) -> Result<(), DeviceError> {
        let block = u64::from(self.lun.config().block_size);
        let ops = ranges
            .iter()
            .filter(|r| r.blocks > 0)
            .map(|r| IoOp::Discard {
                offset: r.lba * block,
                len: u64::from(r.blocks) * block,
            })
            .collect();
        self.submit_parts(cmd, ops, guard, false)
    }

    /// WRITE SAME: an all-zero block becomes one zeroing (or, with UNMAP, a discard, which
    /// every backstore here reads back as zeroes); any other pattern is written in chunks
    /// from a buffer filled with it.
    pub(super) fn write_same(
        &mut self,
        cmd: Command,
        io: &BlockIo,
        (unmap, ndob): (bool, bool),
        guard: Option<Guard>,
    ) -> Result<(), DeviceError> {
        let block = u64::from(self.lun.config().block_size);
        let mut pattern = vec![0u8; block as usize];
        let reader = super::SegmentReader {
            region: &self.region,
            segs: cmd.segments(),
        };
        if !ndob && crate::scsi::DataOut::read_at(&reader, 0, &mut pattern) < pattern.len() {
            let status = Status::CheckCondition(Sense::parameter_list_length_error());
            return self.answer(cmd, &status, &[]);
        }
        let (offset, len) = (io.lba * block, u64::from(io.blocks) * block);
        let zeroes = pattern.iter().all(|b| *b == 0);
        let caps = self.backstore.capabilities();
        let zero_by_discard = unmap && caps.discard && caps.discard_zeroes;
        let ops = if zeroes && zero_by_discard {
            vec![IoOp::Discard { offset, len }]
        } else if zeroes && caps.write_zeroes {
            vec![IoOp::WriteZeroes { offset, len }]
        } else {
            // Any other pattern, or zeroes on a backstore that cannot zero a range
            // (tmpfs has no FALLOC_FL_ZERO_RANGE): written as data.
            pattern_writes(&pattern, offset, len, io.fua)
        };
        self.stats.write_bytes += len;
        let flush_after = io.fua
            && matches!(
                ops.first(),
                Some(IoOp::Discard { .. } | IoOp::WriteZeroes { .. })
            );
        self.submit_parts(cmd, ops, guard, flush_after)
    }

    fn submit_parts(
        &mut self,
        cmd: Command,
        ops: Vec<IoOp>,
        guard: Option<Guard>,
        then_flush: bool,
    ) -> Result<(), DeviceError> {
        if ops.is_empty() {
            return self.answer(cmd, &Status::Good, &[]);
        }
        let waiting = Waiting::Parts {
            remaining: ops.len() as u32,
            error: None,
            then_flush,
        };
        let tag = self
            .inflight
            .insert(PendingCommand::new(cmd, waiting, guard, self.clock));
        for op in ops {
            if let Err(rejected) = self.backstore.submit(IoRequest { tag, op }) {
                let result = Err(rejected.error);
                self.note_result(&result);
                if let Some(done) = self.take_finished(tag, &result) {
                    return self.finish_parts(done);
                }
            }
        }
        Ok(())
    }
}

/// Writes of `pattern` repeated over `offset..offset+len`, each at most [`PATTERN_CHUNK`]
/// bytes, all reading from one heap buffer shared by the requests.
fn pattern_writes(pattern: &[u8], offset: u64, len: u64, fua: bool) -> Vec<IoOp> {
    let chunk = PATTERN_CHUNK.min(len).max(pattern.len() as u64);
    let buffer = SharedRegion::heap(chunk as usize);
    let mut at = 0;
    while at < chunk {
        let _ = buffer.write_bytes(at, pattern);
        at += pattern.len() as u64;
    }
    let buffer = Arc::new(buffer);
    let mut ops = Vec::new();
    let mut done = 0;
    while done < len {
        let n = chunk.min(len - done);
        let buf = DataBuf::new(buffer.clone(), &[DataSeg { off: 0, len: n }], n);
        ops.push(IoOp::Write {
            offset: offset + done,
            buf,
            fua,
        });
        done += n;
    }
    ops
}
