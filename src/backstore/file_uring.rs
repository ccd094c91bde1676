//! io_uring submission for the file backstore: vectored reads and writes straight from
//! and into the shared region, flushes and fallocate, submitted through the serving
//! reactor's ring or, without a reactor, a private one.
//!
//! This module holds the file backstore's `unsafe`: each SQE names memory (the iovec
//! array and the data it points to) that must stay valid until its completion. The
//! slab of parked requests keeps every request's iovecs and its [`DataBuf`] (which holds
//! the region alive through an `Arc`) until the completion has been reaped; the private
//! ring is drained before it is dropped, and what a reactor still owes is leaked.

#![allow(unsafe_code)]

use super::DataBuf;
use super::UringSqe;
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

/// The file backstore's io_uring work: the requests the kernel may still use, and where
/// their submissions go. Served by a reactor ([`FileRing::attach`]) they are handed to the
/// reactor's ring and their completions come back through [`FileRing::complete`];
/// otherwise (tests, tools driving a device by hand) they go to a private ring created on
/// first use, whose fd is the backstore's notifier.
pub struct FileRing {
    /// The private ring, when not attached to a reactor.
    own: Option<IoUring>,
    /// Size for the private ring (the kernel's per-device queue depth).
    depth: u32,
    /// A reactor submits `outbox` and hands completions back.
    attached: bool,
    /// Requests the kernel may still use, under their token.
    parked: Slab<Request>,
    /// Prepared submissions not handed to a ring yet.
    outbox: Vec<UringSqe>,
    /// Completions handed back by the reactor, or of requests whose submission failed.
    done: Vec<(u64, i32)>,
    /// Reads and writes of at most this many bytes are marked for gathering
    /// ([`UringSqe::gathered`]); zero marks none.
    gather_up_to: u64,
}

impl std::fmt::Debug for FileRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileRing")
            .field("attached", &self.attached)
            .field("live", &self.parked.len())
            .finish_non_exhaustive()
    }
}

impl FileRing {
    /// Work for up to `depth` requests at a time; the private ring is set up at once so
    /// that a ring failure shows at open.
    pub fn new(depth: u32) -> io::Result<Self> {
        let depth = depth.max(1).next_power_of_two();
        Ok(Self {
            own: Some(private_ring(depth)?.0),
            depth,
            attached: false,
            parked: Slab::default(),
            outbox: Vec::new(),
            done: Vec::new(),
            gather_up_to: 0,
        })
    }

    /// The private ring's fd (readable when completions are waiting); `None` while a
    /// reactor submits for us.
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        let own = self.own.as_ref().filter(|_| !self.attached)?;
        // SAFETY: the ring fd is owned by `own` and outlives the borrow of `self`.
        Some(unsafe { BorrowedFd::borrow_raw(own.as_raw_fd()) })
    }

    /// Marks reads and writes of at most `bytes` for gathering from now on (zero: none):
    /// the backstore knows io_uring hands them to its worker threads.
    pub fn gather_up_to(&mut self, bytes: u64) {
        self.gather_up_to = bytes;
    }

    /// Requests submitted and not yet reaped.
    pub fn live(&self) -> usize {
        self.parked.len()
    }

    /// From now on a reactor takes the submissions ([`FileRing::take`]) and hands back
    /// completions. Refused (false) while the private ring still has work.
    pub fn attach(&mut self) -> bool {
        if self.attached {
            return true;
        }
        if !self.parked.is_empty() || !self.outbox.is_empty() {
            return false;
        }
        self.own = None;
        self.attached = true;
        true
    }

    /// Back to a private ring (created on the next submission). Refused (false) while
    /// the reactor still owes completions.
    pub fn detach(&mut self) -> bool {
        if self.attached && !self.parked.is_empty() {
            return false;
        }
        self.attached = false;
        true
    }

    /// Moves the prepared submissions into `out` for the reactor to push.
    pub fn take(&mut self, out: &mut Vec<UringSqe>) {
        if self.attached {
            out.append(&mut self.outbox);
        }
    }

    /// The reactor's completion for `token`: the kernel's result, or a negative errno
    /// when the submission never reached the kernel.
    pub fn complete(&mut self, token: u64, result: i32) {
        self.done.push((token, result));
    }

    /// Parks `request` and prepares `entry` (built for it) under its token.
    fn park_and_queue(&mut self, request: Request, entry: squeue::Entry, gather: bool) {
        let token = self.parked.insert(request);
        // SAFETY: `entry` names only memory owned by the request parked under `token`
        // (its iovec array and the shared region kept alive by its `DataBuf`), or none.
        // A parked request is released only when its completion for `token` is reaped
        // (`reap`), and `Drop` leaks what a reactor still owes instead of freeing it.
        let sqe = unsafe { UringSqe::new(entry, token) };
        self.outbox.push(sqe.gathered(gather));
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
        let iovecs = iovecs_of(&buf)?;
        let (ptr, n) = (iovecs.as_ptr(), iovecs.len() as u32);
        let kind = if write { Kind::Write } else { Kind::Read };
        let gather = (1..=self.gather_up_to).contains(&buf.len());
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
        self.park_and_queue(request, entry, gather);
        Ok(())
    }

    /// Queues an fdatasync.
    pub fn fdatasync(&mut self, fd: RawFd, tag: u64) {
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
        self.park_and_queue(request, entry, false);
    }

    /// Queues an fallocate with `mode` (punch hole, zero range) over `offset..offset+len`.
    pub fn fallocate(&mut self, fd: RawFd, tag: u64, mode: i32, offset: u64, len: u64) {
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
        self.park_and_queue(request, entry, false);
    }

    /// Hands prepared submissions to the private ring and submits them (once per batch).
    /// Attached to a reactor there is nothing to do: the reactor takes them. A submission
    /// the private ring cannot take completes at once with the error.
    pub fn submit(&mut self) -> io::Result<()> {
        if self.attached || self.outbox.is_empty() {
            return Ok(());
        }
        if self.own.is_none() {
            self.own = Some(private_ring(self.depth)?.0);
        }
        let Some(ring) = self.own.as_mut() else {
            return Ok(());
        };
        for sqe in self.outbox.drain(..) {
            let token = sqe.token();
            if ring.submission().is_full() {
                ring.submit()?;
            }
            // SAFETY: `UringSqe::new`'s contract: what the entry names lives until its
            // completion is reaped from this ring (`reap`) or is leaked.
            if unsafe { ring.submission().push(&sqe.into_entry(token)) }.is_err() {
                self.done.push((token, -libc::EAGAIN));
            }
        }
        ring.submit().map(drop)
    }

    /// Moves every finished request into `out`, releasing its parked memory.
    pub fn reap(&mut self, out: &mut Vec<Finished>) {
        if let Some(ring) = self.own.as_mut().filter(|_| !self.attached) {
            self.done
                .extend(ring.completion().map(|c| (c.user_data(), c.result())));
        }
        for (token, result) in self.done.drain(..) {
            if let Some(request) = self.parked.remove(token) {
                out.push(Finished { request, result });
            }
        }
    }

    /// Blocks until every request on the private ring has completed (used before
    /// dropping). Work owed by a reactor cannot be waited for here.
    pub fn wait_all(&mut self, out: &mut Vec<Finished>) {
        if self.attached {
            return;
        }
        if self.submit().is_err() {
            return;
        }
        while !self.parked.is_empty() {
            let Some(ring) = self.own.as_mut() else {
                return;
            };
            if ring.submit_and_wait(1).is_err() {
                return;
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
        if !self.parked.is_empty() {
            // Still owed by a reactor (or a ring that failed): the kernel may yet use
            // this memory, so it is leaked, never freed.
            tracing::error!(
                requests = self.parked.len(),
                "file backstore dropped with io_uring requests outstanding; leaking their buffers"
            );
            std::mem::forget(std::mem::take(&mut self.parked));
        }
    }
}

/// The private ring, cooperative like a reactor's ([`crate::reactor::cooperative_ring`]):
/// a completion finished by one of io_uring's workers then no longer interrupts the
/// owning thread with an IPI while it works in user space; it is posted at that thread's
/// next syscall. Every wait here enters the kernel (`poll` on [`FileRing::fd`],
/// `io_uring_enter`). On /dev/shm, where every request goes to a worker, the IPIs took a
/// fifth of the run (docs/BENCHMARKS.md).
fn private_ring(depth: u32) -> io::Result<(IoUring, bool)> {
    crate::reactor::cooperative_ring(depth, depth * 2)
}

/// The iovecs naming `buf`'s segments of the shared region (checked against it).
fn iovecs_of(buf: &DataBuf) -> io::Result<Vec<libc::iovec>> {
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
    Ok(iovecs)
}

/// Writes `buf` at `offset` now, in the calling thread (`pwritev2`; `dsync` adds
/// `RWF_DSYNC`): for large writes to files in memory (tmpfs), where the call is a copy
/// and io_uring would only hand it to a worker thread. The kernel's result: bytes
/// written, or a negative errno.
pub fn write_now(fd: RawFd, offset: u64, buf: &DataBuf, dsync: bool) -> i32 {
    let iovecs = match iovecs_of(buf) {
        Ok(v) => v,
        Err(_) => return -libc::EFAULT,
    };
    let (ptr, n) = (iovecs.as_ptr(), iovecs.len() as libc::c_int);
    let off = offset.min(i64::MAX as u64) as libc::off_t;
    let flags = if dsync { libc::RWF_DSYNC } else { 0 };
    // SAFETY: every iovec names a range of the shared region that `segment_ptr` checked
    // against its length; `buf` holds the region (mapped, through its Arc) for the whole
    // call, and the command that owns the range is not completed before this returns.
    // The kernel only reads within those ranges, and `iovecs` outlives the call.
    let n = unsafe { libc::pwritev2(fd, ptr, n, off, flags) };
    if n < 0 {
        -io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO)
    } else {
        n.min(i32::MAX as isize) as i32
    }
}

#[cfg(test)]
mod tests {
    /// The private ring runs task work cooperatively wherever a reactor's ring does, so
    /// io_uring's workers do not interrupt the thread driving it with an IPI per request.
    #[test]
    #[cfg_attr(miri, ignore = "io_uring is a syscall miri does not run")]
    fn the_private_ring_is_cooperative_where_a_reactors_is() {
        // Whether the kernel allows it is checked against its version in reactor::uring.
        let (_, kernel_allows) = crate::reactor::cooperative_ring(8, 16).unwrap();
        let (_, cooperative) = super::private_ring(8).unwrap();
        assert_eq!(cooperative, kernel_allows);
    }
}
