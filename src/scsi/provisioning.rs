//! Commands that write or deallocate many blocks with little data, and the query that
//! reports what is allocated: WRITE SAME(10/16), UNMAP and GET LBA STATUS (SBC-3 5.42-5.44,
//! 5.28, 5.7).
//!
//! UNMAP and GET LBA STATUS are only offered on thin units (the backstore can
//! deallocate); on others they are unknown, matching what VPD page B2h and READ
//! CAPACITY(16) report.

#![forbid(unsafe_code)]

use super::DataOut;
use super::block::{in_range, writable};
use super::cdb::Range;
use super::config::LunConfig;
use super::outcome::{BlockIo, BlockOp, Dispatch, LbaRange};
use super::param::read_param_list;
use super::sense::Sense;
use super::wire::{Bytes, PageBuf};

/// Most UNMAP block descriptors one command may carry (VPD B0h).
pub const MAX_UNMAP_DESCRIPTORS: u32 = 256;
/// Longest WRITE SAME, in blocks (VPD B0h): 4 Mi blocks, so one command stays bounded.
pub const MAX_WRITE_SAME_BLOCKS: u64 = 1 << 22;

/// Size of the UNMAP parameter list header and of each block descriptor.
const UNMAP_HEADER: usize = 8;
const UNMAP_DESCRIPTOR: usize = 16;

/// WRITE SAME: we report WSNZ, so a zero NUMBER OF LOGICAL BLOCKS is refused like a
/// too-long one; UNMAP is honoured only where the backstore can deallocate. With the
/// write cache disabled the writes are FUA, as for every write.
pub fn write_same(
    cfg: &LunConfig,
    wce: bool,
    r: Range,
    unmap: bool,
    ndob: bool,
) -> Result<Dispatch, Sense> {
    writable(cfg)?;
    if r.blocks == 0 || u64::from(r.blocks) > MAX_WRITE_SAME_BLOCKS {
        return Err(Sense::invalid_field_in_cdb(r.len_byte, None));
    }
    in_range(cfg, r)?;
    let op = BlockOp::WriteSame {
        unmap: unmap && cfg.thin,
        ndob,
    };
    Ok(Dispatch::Io(BlockIo {
        op,
        lba: r.lba,
        blocks: r.blocks,
        fua: !wce,
    }))
}

/// UNMAP: reads and checks the parameter list; an empty list or one whose descriptors
/// are all empty is GOOD without I/O.
pub fn unmap(cfg: &LunConfig, param_len: u32, data_out: &dyn DataOut) -> Result<Dispatch, Sense> {
    if !cfg.thin {
        return Err(Sense::invalid_opcode());
    }
    writable(cfg)?;
    let list = read_param_list(data_out, param_len)?;
    if list.is_empty() {
        return Ok(Dispatch::good());
    }
    if list.len() < UNMAP_HEADER {
        return Err(Sense::parameter_list_length_error());
    }
    let ranges = descriptors(cfg, &list)?;
    if ranges.is_empty() {
        return Ok(Dispatch::good());
    }
    Ok(Dispatch::Io(BlockIo {
        op: BlockOp::Unmap(ranges),
        lba: 0,
        blocks: 0,
        fua: false,
    }))
}

/// The non-empty ranges of an UNMAP parameter list. The BLOCK DESCRIPTOR DATA LENGTH
/// is capped at the data actually sent, and a trailing partial descriptor is ignored,
/// as SBC-3 allows.
fn descriptors(cfg: &LunConfig, list: &[u8]) -> Result<Vec<LbaRange>, Sense> {
    let b = Bytes(list);
    let avail = list.len().saturating_sub(UNMAP_HEADER);
    let count = usize::from(b.be16(2)).min(avail) / UNMAP_DESCRIPTOR;
    if count > MAX_UNMAP_DESCRIPTORS as usize {
        return Err(Sense::invalid_field_in_param_list(2, None));
    }
    let mut ranges = Vec::with_capacity(count);
    for i in 0..count {
        let at = UNMAP_HEADER + i * UNMAP_DESCRIPTOR;
        let blocks = b.be32(at + 8);
        let r = Range {
            lba: b.be(at, 8),
            blocks,
            fua: false,
            len_byte: 0,
        };
        in_range(cfg, r)?;
        if blocks != 0 {
            ranges.push(LbaRange { lba: r.lba, blocks });
        }
    }
    Ok(ranges)
}

/// GET LBA STATUS: checks the starting LBA and hands the query to the backstore, which
/// knows where its holes are. An allocation length of zero is GOOD without I/O.
pub fn get_lba_status(cfg: &LunConfig, lba: u64, alloc_len: u32) -> Result<Dispatch, Sense> {
    if !cfg.thin {
        return Err(Sense::invalid_field_in_cdb(1, Some(4)));
    }
    if lba >= cfg.num_blocks {
        return Err(Sense::lba_out_of_range());
    }
    if alloc_len == 0 {
        return Ok(Dispatch::good());
    }
    let blocks = u32::try_from(cfg.num_blocks.saturating_sub(lba)).unwrap_or(u32::MAX);
    let op = BlockOp::LbaStatus { alloc_len };
    Ok(Dispatch::Io(BlockIo {
        op,
        lba,
        blocks,
        fua: false,
    }))
}

/// Provisioning status of an extent (SBC-3 table 38).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvisioningStatus {
    Mapped = 0,
    Deallocated = 1,
    Anchored = 2,
}

/// One extent of a GET LBA STATUS answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LbaStatus {
    pub lba: u64,
    pub blocks: u32,
    pub status: ProvisioningStatus,
}

/// GET LBA STATUS parameter data for `extents` (which should start at the requested
/// LBA and be contiguous), cut to `alloc_len`; the length field always counts them all.
pub fn encode_lba_status(extents: &[LbaStatus], alloc_len: u32) -> Vec<u8> {
    let len = extents.len().saturating_mul(16).saturating_add(4);
    let mut p = PageBuf::zeroed(8);
    p.put(0, &u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
    for e in extents {
        p.push(&e.lba.to_be_bytes()).push(&e.blocks.to_be_bytes());
        p.push(&[e.status as u8, 0, 0, 0]);
    }
    let mut data = p.into_vec();
    data.truncate(usize::try_from(alloc_len).unwrap_or(usize::MAX));
    data
}
