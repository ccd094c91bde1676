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

type Chunks = HashMap<u64, Box<[u8]>, BuildHasherDefault<ChunkHasher>>;

/// A sparse RAM disk.
#[derive(Debug)]
pub struct RamBackstore {
    size: u64,
    chunks: Chunks,
    done: Vec<IoCompletion>,
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

    /// Calls `f(chunk_index, offset_in_chunk, offset_in_range, len)` for each piece
    /// of `offset..offset+len` split at chunk boundaries.
    fn pieces(offset: u64, len: u64, mut f: impl FnMut(u64, usize, u64, usize)) {
        let mut done = 0;
        while done < len {
            let pos = offset + done;
            let in_chunk = pos % CHUNK;
            let take = (CHUNK - in_chunk).min(len - done);
            f(pos / CHUNK, in_chunk as usize, done, take as usize);
            done += take;
        }
    }

    /// Runs `f(chunk_offset, buf_offset, len)` for each piece where a data segment
    /// meets a chunk, walking the buffer's segments in order.
    fn per_segment(
        offset: u64,
        buf: &DataBuf,
        mut f: impl FnMut(u64, u64, usize) -> Result<(), BackstoreError>,
    ) -> Result<(), BackstoreError> {
        let mut pos = offset;
        for seg in buf.segments() {
            let mut result = Ok(());
            Self::pieces(pos, seg.len, |chunk, in_chunk, rel, n| {
                if result.is_ok() {
                    let byte = chunk * CHUNK + in_chunk as u64;
                    result = f(byte, seg.off + rel, n);
                }
            });
            result?;
            pos += seg.len;
        }
        Ok(())
    }

    fn read(&self, offset: u64, buf: &DataBuf) -> Result<u64, BackstoreError> {
        let region = buf.region();
        Self::per_segment(offset, buf, |byte, shm, n| {
            let in_chunk = (byte % CHUNK) as usize;
            match self.chunks.get(&(byte / CHUNK)) {
                Some(c) => region.write_bytes(shm, &c[in_chunk..in_chunk + n])?,
                None => region.fill(shm, n as u64, 0)?,
            }
            Ok(())
        })?;
        Ok(buf.len())
    }

    fn write(&mut self, offset: u64, buf: &DataBuf) -> Result<u64, BackstoreError> {
        let region = buf.region();
        let chunks = &mut self.chunks;
        Self::per_segment(offset, buf, |byte, shm, n| {
            let in_chunk = (byte % CHUNK) as usize;
            let chunk = chunks
                .entry(byte / CHUNK)
                .or_insert_with(|| vec![0u8; CHUNK as usize].into_boxed_slice());
            region.read_bytes(shm, &mut chunk[in_chunk..in_chunk + n])?;
            Ok(())
        })?;
        Ok(buf.len())
    }

    /// Zeroes a range, freeing chunks it covers entirely.
    fn zero(&mut self, offset: u64, len: u64) -> u64 {
        let chunks = &mut self.chunks;
        Self::pieces(offset, len, |index, in_chunk, _, n| {
            if n as u64 == CHUNK {
                chunks.remove(&index);
            } else if let Some(c) = chunks.get_mut(&index) {
                c[in_chunk..in_chunk + n].fill(0);
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
