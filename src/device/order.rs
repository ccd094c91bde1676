//! Ordering between writes and COMPARE AND WRITE.
//!
//! COMPARE AND WRITE must be atomic against every other write to the same blocks: no
//! write may land between its read and its write. Each write-type command carries a
//! [`Guard`] over the blocks it changes; a COMPARE AND WRITE's guard is exclusive. A
//! command whose guard conflicts with one in flight waits in the device's hold queue
//! (in arrival order) and is submitted when the conflict is gone. Reads never wait:
//! a read racing a write may see either version, as with any two unordered commands.

#![forbid(unsafe_code)]

use crate::scsi::{BlockIo, BlockOp};

/// The blocks a write-type command changes, and whether it needs them to itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guard {
    /// First block.
    pub start: u64,
    /// One past the last block.
    pub end: u64,
    /// COMPARE AND WRITE: nothing else may write these blocks meanwhile.
    pub exclusive: bool,
}

impl Guard {
    /// Whether the two block ranges share a block.
    pub fn overlaps(&self, other: &Guard) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// Whether the two may not run at the same time.
    pub fn conflicts(&self, other: &Guard) -> bool {
        (self.exclusive || other.exclusive) && self.overlaps(other)
    }
}

/// The guard for `io`, or `None` for commands that change nothing (reads, VERIFY,
/// flushes, GET LBA STATUS). UNMAP's ranges are covered by one guard over their hull,
/// which can only make it wait more often, never less.
pub fn guard_for(io: &BlockIo) -> Option<Guard> {
    let span = |start: u64, blocks: u64, exclusive| Guard {
        start,
        end: start.saturating_add(blocks),
        exclusive,
    };
    match &io.op {
        BlockOp::Write | BlockOp::WriteSame { .. } => {
            Some(span(io.lba, u64::from(io.blocks), false))
        }
        BlockOp::CompareAndWrite => Some(span(io.lba, u64::from(io.blocks), true)),
        BlockOp::Copy(plan) => {
            let start = plan.segments.iter().map(|s| s.dst_lba).min()?;
            let end = plan
                .segments
                .iter()
                .map(|s| s.dst_lba.saturating_add(u64::from(s.blocks)))
                .max()?;
            Some(span(start, end - start, false))
        }
        BlockOp::Unmap(ranges) => {
            let start = ranges.iter().map(|r| r.lba).min()?;
            let end = ranges
                .iter()
                .map(|r| r.lba.saturating_add(u64::from(r.blocks)))
                .max()?;
            Some(span(start, end - start, false))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scsi::LbaRange;

    fn io(op: BlockOp, lba: u64, blocks: u32) -> BlockIo {
        BlockIo {
            op,
            lba,
            blocks,
            fua: false,
        }
    }

    #[test]
    fn only_exclusive_overlaps_conflict() {
        let w = guard_for(&io(BlockOp::Write, 10, 4)).unwrap();
        let caw = guard_for(&io(BlockOp::CompareAndWrite, 13, 1)).unwrap();
        let far = guard_for(&io(BlockOp::CompareAndWrite, 14, 1)).unwrap();
        assert!(caw.exclusive && !w.exclusive);
        assert!(w.conflicts(&caw) && caw.conflicts(&w));
        assert!(
            !w.conflicts(&far),
            "blocks 10..14 and 14..15 do not overlap"
        );
        assert!(!w.conflicts(&w), "plain writes never wait for each other");
        assert!(caw.conflicts(&caw));
    }

    #[test]
    fn reads_have_no_guard_and_unmap_covers_its_hull() {
        assert_eq!(guard_for(&io(BlockOp::Read, 0, 8)), None);
        assert_eq!(guard_for(&io(BlockOp::Flush, 0, 0)), None);
        let ranges = vec![
            LbaRange { lba: 50, blocks: 2 },
            LbaRange { lba: 5, blocks: 1 },
        ];
        let g = guard_for(&io(BlockOp::Unmap(ranges), 0, 0)).unwrap();
        assert_eq!((g.start, g.end, g.exclusive), (5, 52, false));
    }
}
