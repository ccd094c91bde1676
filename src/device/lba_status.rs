//! GET LBA STATUS: the backstore's allocated and unallocated byte extents turned into
//! block descriptors.

#![forbid(unsafe_code)]

use super::{Device, DeviceError};
use crate::backstore::Extent;
use crate::ring::Command;
use crate::scsi::{BlockIo, LbaStatus, ProvisioningStatus, Status, encode_lba_status};

/// Most bytes one GET LBA STATUS looks at: the answer may stop before the end of the
/// unit (SBC lets the initiator ask again from there), and the scan stays short.
const SCAN_BYTES: u64 = 16 << 30;

/// Most descriptors in one answer, whatever the allocation length.
const MAX_DESCRIPTORS: usize = 1024;

impl Device {
    /// Answers GET LBA STATUS for the blocks from `io.lba` on.
    pub(super) fn lba_status(
        &mut self,
        cmd: Command,
        io: &BlockIo,
        alloc_len: u32,
    ) -> Result<(), DeviceError> {
        let block = u64::from(self.lun.config().block_size);
        let room = (alloc_len as usize).saturating_sub(8) / 16;
        let max = room.clamp(1, MAX_DESCRIPTORS);
        let offset = io.lba * block;
        let len = (u64::from(io.blocks) * block).min(SCAN_BYTES);
        match self.backstore.allocation(offset, len, max) {
            Ok(extents) => {
                let descriptors = block_extents(&extents, block, max);
                let data = encode_lba_status(&descriptors, alloc_len);
                self.answer(cmd, &Status::Good, &data)
            }
            Err(e) => self.answer(cmd, &e.status(), &[]),
        }
    }
}

/// Block descriptors for byte extents (which start block-aligned). A block is
/// deallocated only when a hole covers all of it; any allocated byte maps it. Runs of
/// one status merge; a run longer than a descriptor can hold is split.
pub fn block_extents(extents: &[Extent], block: u64, max: usize) -> Vec<LbaStatus> {
    let mut out: Vec<LbaStatus> = Vec::new();
    let Some(first) = extents.first() else {
        return out;
    };
    let end = extents.last().map_or(0, |e| e.offset + e.len) / block;
    let mut lba = first.offset / block;
    for e in extents.iter().filter(|e| !e.allocated) {
        let hole_start = e.offset.div_ceil(block);
        let hole_end = ((e.offset + e.len) / block).min(end);
        if hole_start >= hole_end {
            continue;
        }
        push_run(&mut out, lba, hole_start, ProvisioningStatus::Mapped);
        push_run(
            &mut out,
            hole_start,
            hole_end,
            ProvisioningStatus::Deallocated,
        );
        lba = hole_end;
    }
    push_run(&mut out, lba, end, ProvisioningStatus::Mapped);
    out.truncate(max);
    out
}

/// Appends blocks `start..end` with `status`, merging with the previous run.
fn push_run(out: &mut Vec<LbaStatus>, start: u64, end: u64, status: ProvisioningStatus) {
    let mut at = start;
    while at < end {
        if let Some(last) = out.last_mut() {
            let last_end = last.lba + u64::from(last.blocks);
            if last.status == status && last_end == at && last.blocks < u32::MAX {
                let grow = (end - at).min(u64::from(u32::MAX - last.blocks));
                last.blocks += grow as u32;
                at += grow;
                continue;
            }
        }
        let blocks = (end - at).min(u64::from(u32::MAX));
        out.push(LbaStatus {
            lba: at,
            blocks: blocks as u32,
            status,
        });
        at += blocks;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(offset: u64, len: u64, allocated: bool) -> Extent {
        Extent {
            offset,
            len,
            allocated,
        }
    }

    fn runs(v: &[LbaStatus]) -> Vec<(u64, u32, u8)> {
        v.iter()
            .map(|d| (d.lba, d.blocks, d.status as u8))
            .collect()
    }

    #[test]
    fn partial_holes_stay_mapped() {
        // 512-byte blocks from LBA 2: data, a hole covering blocks 4-5 and half of 6.
        let e = [
            ext(1024, 1024, true),
            ext(2048, 1280, false),
            ext(3328, 768, true),
        ];
        assert_eq!(
            runs(&block_extents(&e, 512, 16)),
            vec![(2, 2, 0), (4, 2, 1), (6, 2, 0)]
        );
    }

    #[test]
    fn whole_hole_and_limits() {
        let e = [ext(0, 4096, false)];
        assert_eq!(runs(&block_extents(&e, 512, 16)), vec![(0, 8, 1)]);
        let e = [
            ext(0, 512, true),
            ext(512, 512, false),
            ext(1024, 512, true),
        ];
        assert_eq!(runs(&block_extents(&e, 512, 2)).len(), 2);
        assert!(block_extents(&[], 512, 4).is_empty());
        let huge = [ext(0, 512 * (u64::from(u32::MAX) + 10), true)];
        assert_eq!(
            runs(&block_extents(&huge, 512, 4)),
            vec![(0, u32::MAX, 0), (u64::from(u32::MAX), 10, 0)]
        );
    }
}
