//! A sparse in-memory backstore: only written chunks take memory, so a 1 TiB RAM LUN
//! costs nothing until it is written. Completes every request inline.

#![forbid(unsafe_code)]

use super::{
    Backstore, BackstoreError, Capabilities, Extent, IoCompletion, IoOp, IoRequest, Rejected,
    check_range, walk_extents,
};
use crate::region::DataBuf;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Allocation unit: big enough that a 128 KiB I/O touches few chunks, small enough that
/// scattered 4 KiB writes do not balloon memory.
const CHUNK: u64 = 64 * 1024;

/// Chunk indices are already well spread; a multiplicative hash is enough and far
/// cheaper than SipHash on the data path.
#[derive(Default)]
struct ChunkHasher(u64);

impl Hasher for ChunkHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type Chunks = HashMap<u64, Chunk, BuildHasherDefault<ChunkHasher>>;

/// Copies split at page boundaries, so each lands inside one [`Page`].
const PAGE: u64 = 4096;
const PAGES_PER_CHUNK: u64 = CHUNK / PAGE;

/// One page of a chunk, page-aligned: the data area is page-aligned too, so a 4 KiB
/// command copies between two equally aligned buffers. From a chunk wherever malloc put
/// it, the same random 4 KiB copy cost 5-10 % more (docs/BENCHMARKS.md, issue 28 notes).
#[derive(Clone)]
#[repr(C, align(4096))]
struct Page([u8; PAGE as usize]);

/// `PAGES_PER_CHUNK` pages, allocated together on first write.
type Chunk = Box<[Page]>;

fn zeroed_chunk() -> Chunk {
    vec![Page([0; PAGE as usize]); PAGES_PER_CHUNK as usize].into_boxed_slice()
}

/// A sparse RAM disk.
#[derive(Debug)]
pub struct RamBackstore {
    size: u64,
    chunks: Chunks,
    done: Vec<IoCompletion>,
}

impl std::fmt::Debug for Page {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Page")
    }
}

impl std::fmt::Debug for ChunkHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChunkHasher")
    }
}

impl RamBackstore {
    /// A zero-filled RAM disk of `size` bytes.
    pub fn new(size: u64) -> Self {
        Self {
            size,
            chunks: Chunks::default(),
            done: Vec::new(),
        }
    }

    /// Bytes of chunk memory allocated so far.
    #[cfg(test)]
    pub fn allocated(&self) -> u64 {
        self.chunks.len() as u64 * CHUNK
    }

    /// Calls `f(unit_index, offset_in_unit, offset_in_range, len)` for each piece of
    /// `offset..offset+len` split at multiples of `unit` (a page or a chunk).
    fn pieces(offset: u64, len: u64, unit: u64, mut f: impl FnMut(u64, usize, u64, usize)) {
        let mut done = 0;
        while done < len {
            let pos = offset + done;
            let in_unit = pos % unit;
            let take = (unit - in_unit).min(len - done);
            f(pos / unit, in_unit as usize, done, take as usize);
            done += take;
        }
    }

    /// Runs `f(page_index, offset_in_page, buf_offset, len)` for each piece where a data
    /// segment meets a page of the disk, walking the buffer's segments in order.
    fn per_segment(
        offset: u64,
        buf: &DataBuf,
        mut f: impl FnMut(u64, usize, u64, usize) -> Result<(), BackstoreError>,
    ) -> Result<(), BackstoreError> {
        let mut pos = offset;
        for seg in buf.segments() {
            let mut result = Ok(());
            Self::pieces(pos, seg.len, PAGE, |page, in_page, rel, n| {
                if result.is_ok() {
                    result = f(page, in_page, seg.off + rel, n);
                }
            });
            result?;
            pos += seg.len;
        }
        Ok(())
    }

    /// Page `page` of the disk, if its chunk was written.
    fn page(&self, page: u64) -> Option<&Page> {
        let chunk = self.chunks.get(&(page / PAGES_PER_CHUNK))?;
        chunk.get((page % PAGES_PER_CHUNK) as usize)
    }

    fn read(&self, offset: u64, buf: &DataBuf) -> Result<u64, BackstoreError> {
        let region = buf.region();
        Self::per_segment(offset, buf, |page, in_page, shm, n| {
            match self.page(page) {
                Some(p) => region.write_bytes(shm, &p.0[in_page..in_page + n])?,
                None => region.fill(shm, n as u64, 0)?,
            }
            Ok(())
        })?;
        Ok(buf.len())
    }

    fn write(&mut self, offset: u64, buf: &DataBuf) -> Result<u64, BackstoreError> {
        let region = buf.region();
        let chunks = &mut self.chunks;
        Self::per_segment(offset, buf, |page, in_page, shm, n| {
            let chunk = chunks
                .entry(page / PAGES_PER_CHUNK)
                .or_insert_with(zeroed_chunk);
            if let Some(p) = chunk.get_mut((page % PAGES_PER_CHUNK) as usize) {
                region.read_bytes(shm, &mut p.0[in_page..in_page + n])?;
            }
            Ok(())
        })?;
        Ok(buf.len())
    }

    /// Zeroes a range, freeing chunks it covers entirely.
    fn zero(&mut self, offset: u64, len: u64) -> u64 {
        let chunks = &mut self.chunks;
        Self::pieces(offset, len, CHUNK, |index, in_chunk, _, n| {
            if n as u64 == CHUNK {
                chunks.remove(&index);
            } else if let Some(c) = chunks.get_mut(&index) {
                Self::pieces(in_chunk as u64, n as u64, PAGE, |page, in_page, _, n| {
                    if let Some(p) = c.get_mut(page as usize) {
                        p.0[in_page..in_page + n].fill(0);
                    }
                });
            }
        });
        len
    }

    fn run(&mut self, op: &IoOp) -> Result<u64, BackstoreError> {
        check_range(op, self.size)?;
        match op {
            IoOp::Read { offset, buf } => self.read(*offset, buf),
            IoOp::Write { offset, buf, .. } => self.write(*offset, buf),
            IoOp::Flush => Ok(0),
            IoOp::Discard { offset, len } | IoOp::WriteZeroes { offset, len } => {
                Ok(self.zero(*offset, *len))
            }
        }
    }
}

impl Backstore for RamBackstore {
    fn size(&self) -> u64 {
        self.size
    }

    fn submit(&mut self, request: IoRequest) -> Result<(), Box<Rejected>> {
        let result = self.run(&request.op);
        self.done.push(IoCompletion {
            tag: request.tag,
            result,
        });
        Ok(())
    }

    fn drain(&mut self, out: &mut Vec<IoCompletion>) {
        out.append(&mut self.done);
    }

    fn in_flight(&self) -> usize {
        self.done.len()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            flush: false,
            discard: true,
            write_zeroes: true,
            discard_zeroes: true,
            resize: true,
        }
    }

    fn resize(&mut self, new_size: u64) -> Result<(), BackstoreError> {
        if new_size < self.size {
            self.zero(new_size, self.size - new_size);
            self.chunks.retain(|index, _| index * CHUNK < new_size);
        }
        self.size = new_size;
        Ok(())
    }

    /// Allocated at chunk granularity: a chunk exists once written and goes away when
    /// it is discarded or zeroed as a whole.
    fn allocation(
        &self,
        offset: u64,
        len: u64,
        max_extents: usize,
    ) -> Result<Vec<Extent>, BackstoreError> {
        let end = offset.saturating_add(len).min(self.size);
        walk_extents(offset, end, max_extents, |pos| {
            let next = ((pos / CHUNK) + 1).saturating_mul(CHUNK);
            Ok((next, self.chunks.contains_key(&(pos / CHUNK))))
        })
    }
}

#[cfg(test)]
mod tests;
