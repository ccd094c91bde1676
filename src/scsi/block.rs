//! Capacity reporting and the checks that turn a media-access CDB into [`BlockIo`]
//! (SBC-3 5.16, 5.17, and the READ/WRITE/SYNCHRONIZE CACHE commands).
//!
//! The order of the checks follows the Linux target core (protection field at decode,
//! then write protection, then range), so initiators see the same sense
//! for the same bad command as with the kernel's own backstores.

#![forbid(unsafe_code)]

use super::cdb::Range;
use super::config::LunConfig;
use super::outcome::{BlockIo, BlockOp, ByteCheck, Dispatch};
use super::sense::Sense;
use super::wire::PageBuf;

/// READ CAPACITY(10) data: last LBA (or FFFFFFFFh when it does not fit) and block size.
pub fn capacity_10(cfg: &LunConfig) -> Vec<u8> {
    let last = u32::try_from(last_lba(cfg)).unwrap_or(u32::MAX);
    let mut p = PageBuf::zeroed(8);
    p.put(0, &last.to_be_bytes())
        .put(4, &cfg.block_size.to_be_bytes());
    p.into_vec()
}

/// READ CAPACITY(16) data: 32 bytes with LBPME set when the backstore can unmap, and
/// LBPRZ when its unmapped blocks read as zeroes.
/// Physical block exponent and lowest aligned LBA stay 0 (one logical per physical).
pub fn capacity_16(cfg: &LunConfig) -> Vec<u8> {
    let mut p = PageBuf::zeroed(32);
    p.put(0, &last_lba(cfg).to_be_bytes())
        .put(8, &cfg.block_size.to_be_bytes());
    if cfg.thin {
        p.set(14, 0x80 | if cfg.unmapped_read_zeroes { 0x40 } else { 0 });
    }
    p.into_vec()
}

fn last_lba(cfg: &LunConfig) -> u64 {
    cfg.num_blocks.saturating_sub(1)
}

/// A READ: range and length checked, an empty transfer answered at once.
pub fn read(cfg: &LunConfig, r: Range) -> Result<Dispatch, Sense> {
    transfer(cfg, r, BlockOp::Read)
}

/// A WRITE: like [`read`], but refused first on a write-protected unit. With the write
/// cache disabled (`wce` false, from the Caching mode page) every write gets FUA, which
/// is what WCE=0 promises the initiator. WRITE AND VERIFY comes here with `wce` false:
/// reading back what the backstore just made durable would only test the page cache,
/// so its verification is the backstore's own integrity guarantee.
pub fn write(cfg: &LunConfig, wce: bool, r: Range) -> Result<Dispatch, Sense> {
    writable(cfg)?;
    transfer(
        cfg,
        Range {
            fua: r.fua || !wce,
            ..r
        },
        BlockOp::Write,
    )
}

/// VERIFY: the device reads the range (in bounded steps, so any length is fine) and,
/// with BYTCHK, compares it with the data-out.
pub fn verify(cfg: &LunConfig, r: Range, check: ByteCheck) -> Result<Dispatch, Sense> {
    transfer(cfg, Range { fua: false, ..r }, BlockOp::Verify(check))
}

/// PRE-FETCH: only the range is checked. The backstore's own read-ahead is all the
/// cache there is, so we report GOOD ("not all blocks cached") without I/O.
pub fn pre_fetch(cfg: &LunConfig, r: Range) -> Result<Dispatch, Sense> {
    in_range(cfg, r)?;
    Ok(Dispatch::good())
}

/// SYNCHRONIZE CACHE: always handed to the backstore, which may cache even when we
/// report WCE=0. A zero length means "to the end of the unit"; the range is still checked.
pub fn synchronize_cache(cfg: &LunConfig, r: Range) -> Result<Dispatch, Sense> {
    in_range(cfg, r)?;
    Ok(Dispatch::Io(BlockIo {
        op: BlockOp::Flush,
        lba: r.lba,
        blocks: r.blocks,
        fua: false,
    }))
}

/// COMPARE AND WRITE of `r.blocks` blocks (at most 1, the limit VPD B0h reports);
/// zero blocks is GOOD without I/O. FUA as for [`write()`].
pub fn compare_and_write(cfg: &LunConfig, wce: bool, r: Range) -> Result<Dispatch, Sense> {
    writable(cfg)?;
    if r.blocks > MAX_COMPARE_AND_WRITE_BLOCKS {
        return Err(Sense::invalid_field_in_cdb(r.len_byte, None));
    }
    transfer(
        cfg,
        Range {
            fua: r.fua || !wce,
            ..r
        },
        BlockOp::CompareAndWrite,
    )
}

/// MAXIMUM COMPARE AND WRITE LENGTH: one block is what VMware's ATS and the kernel's
/// own backstores use, and keeps the backstore's atomic section small.
pub const MAX_COMPARE_AND_WRITE_BLOCKS: u32 = 1;

/// Refuses writes to a read-only unit with DATA PROTECT / WRITE PROTECTED.
pub fn writable(cfg: &LunConfig) -> Result<(), Sense> {
    if cfg.read_only {
        Err(Sense::write_protected())
    } else {
        Ok(())
    }
}

/// Checks a data transfer and builds its I/O; zero blocks is GOOD without I/O
/// (SBC-3: "not an error"), but only after the range check, as the kernel does.
///
/// MAXIMUM TRANSFER LENGTH (VPD B0h, from `hw_max_sectors`) is advice to initiators,
/// not enforced here: the kernel has already placed the whole transfer in the data
/// area, LIO's passthrough path and tcmu-runner accept it, and initiators that do not
/// read page B0h (libiscsi's iSCSI tests, some boot loaders) send up to 256 blocks on
/// a unit whose `user:` default is 128. Refusing data that is already here would only
/// turn a working transfer into an error.
fn transfer(cfg: &LunConfig, r: Range, op: BlockOp) -> Result<Dispatch, Sense> {
    in_range(cfg, r)?;
    if r.blocks == 0 {
        return Ok(Dispatch::good());
    }
    Ok(Dispatch::Io(BlockIo {
        op,
        lba: r.lba,
        blocks: r.blocks,
        fua: r.fua,
    }))
}

/// Refuses a range that ends past the last block (or overflows).
pub fn in_range(cfg: &LunConfig, r: Range) -> Result<(), Sense> {
    match r.lba.checked_add(u64::from(r.blocks)) {
        Some(end) if end <= cfg.num_blocks => Ok(()),
        _ => Err(Sense::lba_out_of_range()),
    }
}
