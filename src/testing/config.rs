//! Sizes of the fake kernel's shared map and the geometry derived from them.
//!
//! The layout rules are the kernel's (`tcmu_configure_device`): the mailbox and the command
//! ring together fill `cmd_ring_bytes`, and the data area starts right after them on a page
//! boundary, cut into fixed-size blocks.

#![forbid(unsafe_code)]

use crate::abi;

/// The page size the kernel aligns the data area to (x86-64).
pub const PAGE_SIZE: usize = 4096;

/// How the fake kernel sizes its map and what it offers to the handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FakeKernelConfig {
    /// Mailbox plus command ring in bytes, like the kernel's `cmd_ring_size_mb` (which also
    /// counts the mailbox). A multiple of [`PAGE_SIZE`] so the data area is page-aligned.
    pub cmd_ring_bytes: usize,
    /// Number of data blocks (the kernel's `max_data_area_mb` / block size).
    pub data_blocks: usize,
    /// Bytes per data block, a multiple of [`PAGE_SIZE`] (the kernel's `data_pages_per_blk`).
    pub data_block_size: usize,
    /// Commands in flight at once; LIO's default `hw_queue_depth` for TCMU is 128.
    pub max_inflight: usize,
    /// Mailbox capability flags (`abi::CAP_*`).
    pub caps: u16,
}

impl Default for FakeKernelConfig {
    /// A small map for tests: 64 KiB of ring, 1024 blocks of 4 KiB (a 4 MiB data area).
    fn default() -> Self {
        Self {
            cmd_ring_bytes: 64 * 1024,
            data_blocks: 1024,
            data_block_size: PAGE_SIZE,
            max_inflight: 128,
            caps: abi::CAP_OOOC | abi::CAP_READ_LEN | abi::CAP_TMR,
        }
    }
}

impl FakeKernelConfig {
    /// The smallest ring the layout allows (one page: 3968 bytes of ring), so that a few
    /// dozen commands wrap it and PAD entries appear early.
    pub fn tiny_ring() -> Self {
        Self {
            cmd_ring_bytes: PAGE_SIZE,
            ..Self::default()
        }
    }

    /// Checks the sizes and computes where everything lives in the map.
    pub fn geometry(&self) -> Result<Geometry, FakeKernelConfigError> {
        self.check()?;
        let data_bytes = self
            .data_blocks
            .checked_mul(self.data_block_size)
            .ok_or(FakeKernelConfigError::TooBig)?;
        let map_len = self
            .cmd_ring_bytes
            .checked_add(data_bytes)
            .ok_or(FakeKernelConfigError::TooBig)?;
        let cmdr_size = self.cmd_ring_bytes - abi::MAILBOX_SIZE;
        u32::try_from(cmdr_size).map_err(|_| FakeKernelConfigError::TooBig)?;
        u32::try_from(self.data_blocks).map_err(|_| FakeKernelConfigError::TooBig)?;
        Ok(Geometry {
            map_len,
            cmdr_off: abi::MAILBOX_SIZE,
            cmdr_size,
            data_off: self.cmd_ring_bytes,
            data_block_size: self.data_block_size,
            data_blocks: self.data_blocks,
        })
    }

    fn check(&self) -> Result<(), FakeKernelConfigError> {
        if self.cmd_ring_bytes == 0 || self.cmd_ring_bytes % PAGE_SIZE != 0 {
            return Err(FakeKernelConfigError::RingSize(self.cmd_ring_bytes));
        }
        if self.data_block_size == 0 || self.data_block_size % PAGE_SIZE != 0 {
            return Err(FakeKernelConfigError::BlockSize(self.data_block_size));
        }
        if self.data_blocks == 0 {
            return Err(FakeKernelConfigError::NoDataBlocks);
        }
        // cmd_ids are u16 and never 0, so at most 0xffff commands can be in flight.
        if self.max_inflight == 0 || self.max_inflight > usize::from(u16::MAX) {
            return Err(FakeKernelConfigError::MaxInflight(self.max_inflight));
        }
        Ok(())
    }
}

/// A configuration the kernel would refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FakeKernelConfigError {
    #[error("cmd_ring_bytes {0} is not a non-zero multiple of the page size")]
    RingSize(usize),
    #[error("data_block_size {0} is not a non-zero multiple of the page size")]
    BlockSize(usize),
    #[error("the data area needs at least one block")]
    NoDataBlocks,
    #[error("max_inflight {0} is not in 1..=65535")]
    MaxInflight(usize),
    #[error("the map does not fit the address space or the ABI's 32-bit fields")]
    TooBig,
}

/// Where the mailbox, the command ring and the data area lie in the map (byte offsets from
/// the mailbox start, which is how every offset in the ring is expressed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Length of the whole map; the handler must map exactly this much.
    pub map_len: usize,
    /// Offset of the command ring (`mailbox.cmdr_off`, always 128).
    pub cmdr_off: usize,
    /// Size of the command ring (`mailbox.cmdr_size`); not a power of two in general.
    pub cmdr_size: usize,
    /// Offset of the data area (`cmdr_off + cmdr_size`).
    pub data_off: usize,
    /// Bytes per data block.
    pub data_block_size: usize,
    /// Number of data blocks.
    pub data_blocks: usize,
}

impl Geometry {
    /// Size of the data area in bytes.
    pub fn data_size(&self) -> usize {
        self.data_blocks * self.data_block_size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_geometry_puts_data_after_the_ring() {
        let g = FakeKernelConfig::default().geometry().unwrap();
        assert_eq!(g.cmdr_off, 128);
        assert_eq!(g.cmdr_size, 64 * 1024 - 128);
        assert_eq!(g.data_off, g.cmdr_off + g.cmdr_size);
        assert_eq!(g.data_off % PAGE_SIZE, 0);
        assert_eq!(g.map_len, 64 * 1024 + 1024 * 4096);
    }

    #[test]
    fn tiny_ring_is_one_page() {
        let g = FakeKernelConfig::tiny_ring().geometry().unwrap();
        assert_eq!(g.cmdr_size, 4096 - 128);
    }

    #[test]
    fn refuses_what_the_kernel_refuses() {
        let bad = |f: fn(&mut FakeKernelConfig)| {
            let mut c = FakeKernelConfig::default();
            f(&mut c);
            c.geometry().unwrap_err()
        };
        assert_eq!(
            bad(|c| c.cmd_ring_bytes = 1000),
            FakeKernelConfigError::RingSize(1000)
        );
        assert_eq!(
            bad(|c| c.data_block_size = 512),
            FakeKernelConfigError::BlockSize(512)
        );
        assert_eq!(
            bad(|c| c.data_blocks = 0),
            FakeKernelConfigError::NoDataBlocks
        );
        assert_eq!(
            bad(|c| c.max_inflight = 0),
            FakeKernelConfigError::MaxInflight(0)
        );
        assert_eq!(
            bad(|c| c.data_blocks = usize::MAX),
            FakeKernelConfigError::TooBig
        );
    }
}
