//! The data area's block allocator, as `tcmu_get_empty_block` does it: always the lowest
//! free blocks, so a freed hole is reused first and a command can get a fragmented buffer.
//! Consecutive blocks are described by one iovec (`new_block_to_iov`), so fragmentation is
//! what gives a command several iovecs.

#![forbid(unsafe_code)]

use crate::abi::RawIovec;
use crate::region::{RegionError, SharedRegion};

use super::config::Geometry;

/// Which blocks are in use, one bit per block.
#[derive(Debug)]
pub(crate) struct DataArea {
    /// Bits past the last block are set forever, so a scan never hands them out.
    bitmap: Vec<u64>,
    free: usize,
    data_off: u64,
    block_size: usize,
}

impl DataArea {
    pub(crate) fn new(geom: &Geometry) -> Self {
        let words = geom.data_blocks.div_ceil(64);
        let mut bitmap = vec![0u64; words];
        let tail_bits = geom.data_blocks % 64;
        if let (Some(last), true) = (bitmap.last_mut(), tail_bits != 0) {
            *last = !0u64 << tail_bits;
        }
        Self {
            bitmap,
            free: geom.data_blocks,
            data_off: geom.data_off as u64,
            block_size: geom.data_block_size,
        }
    }

    /// Blocks not owned by any command.
    pub(crate) fn free_blocks(&self) -> usize {
        self.free
    }

    /// Blocks needed for `len` bytes.
    pub(crate) fn blocks_for(&self, len: usize) -> usize {
        len.div_ceil(self.block_size)
    }

    /// Claims the `n` lowest free blocks into `out` (cleared first, so a reused vector does
    /// not allocate). Claims nothing and returns false when fewer than `n` are free.
    pub(crate) fn alloc(&mut self, n: usize, out: &mut Vec<u32>) -> bool {
        out.clear();
        if n > self.free {
            return false;
        }
        for (w, word) in self.bitmap.iter_mut().enumerate() {
            while *word != u64::MAX && out.len() < n {
                let bit = (!*word).trailing_zeros();
                *word |= 1 << bit;
                out.push((w * 64) as u32 + bit);
            }
            if out.len() == n {
                break;
            }
        }
        self.free -= out.len();
        true
    }

    /// Returns `dbis` to the pool.
    pub(crate) fn release(&mut self, dbis: &[u32]) {
        for &dbi in dbis {
            let (w, bit) = (dbi as usize / 64, dbi % 64);
            if let Some(word) = self.bitmap.get_mut(w) {
                if *word & (1 << bit) != 0 {
                    *word &= !(1 << bit);
                    self.free += 1;
                }
            }
        }
    }

    /// The iovecs that describe `len` bytes held in `dbis`, in order.
    pub(crate) fn iovecs<'a>(&self, dbis: &'a [u32], len: usize) -> Iovecs<'a> {
        Iovecs {
            dbis,
            left: len,
            data_off: self.data_off,
            block_size: self.block_size,
        }
    }

    /// Copies `src` into the blocks, iovec by iovec.
    pub(crate) fn scatter(
        &self,
        region: &SharedRegion,
        dbis: &[u32],
        src: &[u8],
    ) -> Result<(), RegionError> {
        let mut done = 0;
        for iov in self.iovecs(dbis, src.len()) {
            let end = done + iov.len as usize;
            region.write_bytes(iov.base, &src[done..end])?;
            done = end;
        }
        Ok(())
    }

    /// Copies the first `dst.len()` bytes of the blocks out into `dst`.
    pub(crate) fn gather(
        &self,
        region: &SharedRegion,
        dbis: &[u32],
        dst: &mut [u8],
    ) -> Result<(), RegionError> {
        let mut done = 0;
        for iov in self.iovecs(dbis, dst.len()) {
            let end = done + iov.len as usize;
            region.read_bytes(iov.base, &mut dst[done..end])?;
            done = end;
        }
        Ok(())
    }
}

/// Iterator over the iovecs of a buffer: one per run of consecutive blocks, the last one
/// cut to the buffer's length. `iov_base` is an offset from the mailbox start.
#[derive(Debug, Clone)]
pub(crate) struct Iovecs<'a> {
    dbis: &'a [u32],
    left: usize,
    data_off: u64,
    block_size: usize,
}

impl Iterator for Iovecs<'_> {
    type Item = RawIovec;

    fn next(&mut self) -> Option<RawIovec> {
        let (&first, _) = self.dbis.split_first().filter(|_| self.left > 0)?;
        let run = 1 + self
            .dbis
            .windows(2)
            .take_while(|w| w[1] == w[0] + 1)
            .count();
        let len = (run * self.block_size).min(self.left);
        self.dbis = &self.dbis[run..];
        self.left -= len;
        Some(RawIovec {
            base: self.data_off + u64::from(first) * self.block_size as u64,
            len: len as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeKernelConfig;

    fn area(blocks: usize) -> DataArea {
        let cfg = FakeKernelConfig {
            data_blocks: blocks,
            ..FakeKernelConfig::default()
        };
        DataArea::new(&cfg.geometry().unwrap())
    }

    #[test]
    fn hands_out_the_lowest_free_blocks() {
        let mut a = area(100);
        let mut v = Vec::new();
        assert!(a.alloc(3, &mut v));
        assert_eq!(v, [0, 1, 2]);
        a.release(&[1]);
        assert!(a.alloc(3, &mut v));
        assert_eq!(v, [1, 3, 4]);
        assert_eq!(a.free_blocks(), 95);
    }

    #[test]
    fn refuses_without_claiming_and_never_passes_the_last_block() {
        let mut a = area(65);
        let mut v = Vec::new();
        assert!(!a.alloc(66, &mut v));
        assert_eq!(a.free_blocks(), 65);
        assert!(a.alloc(65, &mut v));
        assert_eq!(v.last(), Some(&64));
        assert!(!a.alloc(1, &mut v));
    }

    #[test]
    fn merges_consecutive_blocks_into_one_iovec() {
        let a = area(16);
        let base = a.data_off;
        let iovs: Vec<_> = a.iovecs(&[1, 3, 4, 5], 4 * 4096 - 100).collect();
        assert_eq!(iovs.len(), 2);
        assert_eq!((iovs[0].base, iovs[0].len), (base + 4096, 4096));
        assert_eq!(
            (iovs[1].base, iovs[1].len),
            (base + 3 * 4096, 3 * 4096 - 100)
        );
        assert_eq!(a.iovecs(&[], 0).count(), 0);
    }
}
