//! io_uring submission for the file backstore: vectored reads and writes straight from
//! and into the shared region, flushes and fallocate.
//!
//! This module holds the file backstore's `unsafe`: each SQE names memory (the iovec
//! array and the data it points to) that must stay valid until its completion. The
//! slab of parked requests keeps every request's iovecs and its [`DataBuf`] (which holds
//! the region alive through an `Arc`) until the completion has been reaped, and the ring
//! is drained before it is dropped.

#![allow(unsafe_code)]

use super::DataBuf;
use crate::slab::Slab;
use io_uring::{IoUring, opcode, squeue, types};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

/// What one in-flight request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Read,
    Write,
    Sync,
    Fallocate,
}

/// Pointers into the shared region, kept for the kernel until the request completes.
struct Iovecs(Vec<libc::iovec>);

// SAFETY: the pointers refer to the shared region, which is `Send + Sync` and kept alive
// by the `DataBuf` stored next to them; the vector itself is plain owned memory.
unsafe impl Send for Iovecs {}

impl std::fmt::Debug for Iovecs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Iovecs({})", self.0.len())
    }
}

/// One request the kernel may still be working on.
#[derive(Debug)]
pub struct Request {
    pub tag: u64,
    pub kind: Kind,
    pub expected: u64,
    _iovecs: Option<Iovecs>,
    _buf: Option<DataBuf>,
}

/// A finished request and the kernel's result (bytes, or a negative errno).
#[derive(Debug)]
pub struct Finished {
    pub request: Request,
    pub result: i32,
}

/// The file backstore's private io_uring and its in-flight requests.
pub struct FileRing {
    ring: IoUring,
    /// Requests the kernel may still use, under their `user_data`.
    parked: Slab<Request>,
}

impl std::fmt::Debug for FileRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileRing")
            .field("live", &self.parked.len())
            .finish_non_exhaustive()
    }
}

impl FileRing {
    /// A ring with room for `depth` requests (the kernel's per-device queue depth).
    pub fn new(depth: u32) -> io::Result<Self> {
        Ok(Self {
            ring: IoUring::new(depth.next_power_of_two())?,
            parked: Slab::default(),
        })
    }

    /// The ring's fd: readable when completions are waiting.
    pub fn fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the ring fd is owned by `self.ring` and outlives the borrow of `self`.
        unsafe { BorrowedFd::borrow_raw(self.ring.as_raw_fd()) }
    }

    /// Requests submitted and not yet reaped.
    pub fn live(&self) -> usize {
        self.parked.len()
    }

    /// Parks `request` and queues `entry` (built for it) under its token. If the entry
    /// cannot be queued the request is unparked again: the kernel never saw it, and a
    /// request left parked would keep [`FileRing::wait_all`] waiting for ever.
    fn park_and_push(&mut self, request: Request, entry: squeue::Entry) -> io::Result<()> {
        let slot = self.parked.insert(request);
        let pushed = self.push(entry.user_data(slot));
        if pushed.is_err() {
            self.parked.remove(slot);
        }
        pushed
    }

    fn push(&mut self, entry: squeue::Entry) -> io::Result<()> {
        if self.ring.submission().is_full() {
            self.ring.submit()?;
        }
        // SAFETY: every entry built below points only at memory parked in `self.parked`
        // (iovec arrays and the shared region kept alive by their `DataBuf`) or at
        // nothing; parked requests are released only when their completion is reaped,
        // or right away when the entry never reached the queue.
        unsafe { self.ring.submission().push(&entry) }
            .map_err(|_| io::Error::other("submission queue full"))
    }

    /// Queues a vectored read or write of `buf` at `offset`; `dsync` makes a write
    /// durable before it completes (FUA).
    pub fn readv_writev(
        &mut self,
        fd: RawFd,
        tag: u64,
        write: bool,
        offset: u64,
        buf: DataBuf,
        dsync: bool,
    ) -> io::Result<()> {
        let mut iovecs = Vec::with_capacity(buf.segments().len());
        for seg in buf.segments() {
            let ptr = buf
                .region()
                .segment_ptr(seg.off, seg.len)
                .map_err(io::Error::other)?;
            iovecs.push(libc::iovec {
                iov_base: ptr.as_ptr().cast(),
                iov_len: seg.len as usize,
            });
        }
        let (ptr, n) = (iovecs.as_ptr(), iovecs.len() as u32);
        let kind = if write { Kind::Write } else { Kind::Read };
        let request = Request {
            tag,
            kind,
            expected: buf.len(),
            _iovecs: Some(Iovecs(iovecs)),
            _buf: Some(buf),
        };
        let entry = if write {
            let flags = if dsync { libc::RWF_DSYNC } else { 0 };
            opcode::Writev::new(types::Fd(fd), ptr, n)
                .offset(offset)
                .rw_flags(flags)
                .build()
        } else {
            opcode::Readv::new(types::Fd(fd), ptr, n)
                .offset(offset)
                .build()
        };
        self.park_and_push(request, entry)
    }

    /// Queues an fdatasync.
    pub fn fdatasync(&mut self, fd: RawFd, tag: u64) -> io::Result<()> {
        let request = Request {
            tag,
            kind: Kind::Sync,
            expected: 0,
            _iovecs: None,
            _buf: None,
        };
        let entry = opcode::Fsync::new(types::Fd(fd))
            .flags(types::FsyncFlags::DATASYNC)
            .build();
        self.park_and_push(request, entry)
    }

    /// Queues an fallocate with `mode` (punch hole, zero range) over `offset..offset+len`.
    pub fn fallocate(
        &mut self,
        fd: RawFd,
        tag: u64,
        mode: i32,
        offset: u64,
        len: u64,
    ) -> io::Result<()> {
        let request = Request {
            tag,
            kind: Kind::Fallocate,
            expected: len,
            _iovecs: None,
            _buf: None,
        };
        let entry = opcode::Fallocate::new(types::Fd(fd), len)
            .offset(offset)
            .mode(mode)
            .build();
        self.park_and_push(request, entry)
    }

    /// Hands queued submissions to the kernel (once per batch).
    pub fn submit(&mut self) -> io::Result<()> {
        self.ring.submit().map(drop)
    }

    /// Moves every available completion into `out`, releasing its parked memory.
    pub fn reap(&mut self, out: &mut Vec<Finished>) {
        let done: Vec<(u64, i32)> = self
            .ring
            .completion()
            .map(|c| (c.user_data(), c.result()))
            .collect();
        for (slot, result) in done {
            if let Some(request) = self.parked.remove(slot) {
                out.push(Finished { request, result });
            }
        }
    }

    /// Blocks until every in-flight request has completed (used before dropping).
    pub fn wait_all(&mut self, out: &mut Vec<Finished>) {
        while !self.parked.is_empty() {
            if self.ring.submit_and_wait(1).is_err() {
                break;
            }
            self.reap(out);
        }
    }
}

impl Drop for FileRing {
    fn drop(&mut self) {
        // The kernel may still write into parked buffers: wait before freeing them.
        let mut sink = Vec::new();
        self.wait_all(&mut sink);
    }
}
