//! io_uring work on one file: vectored reads and writes straight from and into the
//! shared region, flushes and fallocate, submitted through the serving reactor's ring
//! ([`RingTenant`]) or, without a reactor, a private one.
//!
//! Each SQE names memory (the iovec array and the data it points to) that must stay
//! valid until its completion. The slab of parked requests keeps every request's iovecs
//! and the region they point into (through an `Arc`) until the completion has been
//! reaped; the private ring is drained before it is dropped, and what a reactor still
//! owes is leaked.

#![allow(unsafe_code)]

use super::iovec::Iovecs;
use super::ring::cooperative_ring;
use super::{RingTenant, Submission};
use crate::region::{Segments, SharedRegion};
use crate::slab::Slab;
use io_uring::{IoUring, opcode, squeue, types};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::Arc;

/// One operation on the file.
#[derive(Debug)]
pub enum FileOp {
    /// Read from `offset` into `segs` of `region`.
    Read {
        offset: u64,
        region: Arc<SharedRegion>,
        segs: Segments,
    },
    /// Write `segs` of `region` at `offset`; `dsync` makes it durable before it
    /// completes (`RWF_DSYNC`, for FUA).
    Write {
        offset: u64,
        region: Arc<SharedRegion>,
        segs: Segments,
        dsync: bool,
    },
    /// `fdatasync`.
    Fdatasync,
    /// `fallocate` with `mode` (punch hole, zero range) over `offset..offset+len`.
    Fallocate { mode: i32, offset: u64, len: u64 },
}

/// One request the kernel may still be working on: its owner's record, and the memory
/// its SQE names.
#[derive(Debug)]
struct Parked<T> {
    request: T,
    _iovecs: Option<Iovecs>,
    _region: Option<Arc<SharedRegion>>,
}

/// A finished request (its owner's record) and the kernel's result (bytes, or a
/// negative errno).
#[derive(Debug)]
pub struct Finished<T> {
    pub request: T,
    pub result: i32,
}

/// A file's io_uring work: the requests the kernel may still use (each with its owner's
/// record `T`), and where their submissions go. Served by a reactor
/// ([`RingTenant::attach`]) they are handed to the reactor's ring and their completions
/// come back through [`RingTenant::complete`]; otherwise (tests, tools driving a device
/// by hand) they go to a private ring, whose fd is the backstore's notifier.
pub struct FileRing<T> {
    /// The private ring, when not attached to a reactor.
    own: Option<IoUring>,
    /// Size for the private ring (the kernel's per-device queue depth).
    depth: u32,
    /// A reactor submits `outbox` and hands completions back.
    attached: bool,
    /// Requests the kernel may still use, under their token.
    parked: Slab<Parked<T>>,
    /// Prepared submissions not handed to a ring yet.
    outbox: Vec<Submission>,
    /// Completions handed back by the reactor, or of requests whose submission failed.
    done: Vec<(u64, i32)>,
}

impl<T> std::fmt::Debug for FileRing<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileRing")
            .field("attached", &self.attached)
            .field("live", &self.parked.len())
            .finish_non_exhaustive()
    }
}

impl<T> FileRing<T> {
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
        })
    }

    /// The private ring's fd (readable when completions are waiting); `None` while a
    /// reactor submits for us.
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        let own = self.own.as_ref().filter(|_| !self.attached)?;
        // SAFETY: the ring fd is owned by `own` and outlives the borrow of `self`.
        Some(unsafe { BorrowedFd::borrow_raw(own.as_raw_fd()) })
    }

    /// Requests submitted and not yet reaped.
    pub fn live(&self) -> usize {
        self.parked.len()
    }

    /// Prepares `op` on `fd` for `request` (the owner's record, handed back with the
    /// result); `gather` marks it for the reactor's gathering ([`Submission::gathered`]).
    /// An error (a segment outside the region) leaves nothing queued.
    pub fn queue(&mut self, fd: RawFd, op: FileOp, request: T, gather: bool) -> io::Result<()> {
        let types_fd = types::Fd(fd);
        let (entry, iovecs, region) = match op {
            FileOp::Read {
                offset,
                region,
                segs,
            } => {
                let iovecs = Iovecs::of(&region, &segs)?;
                let entry = opcode::Readv::new(types_fd, iovecs.as_ptr(), iovecs.len() as u32)
                    .offset(offset)
                    .build();
                (entry, Some(iovecs), Some(region))
            }
            FileOp::Write {
                offset,
                region,
                segs,
                dsync,
            } => {
                let iovecs = Iovecs::of(&region, &segs)?;
                let flags = if dsync { libc::RWF_DSYNC } else { 0 };
                let entry = opcode::Writev::new(types_fd, iovecs.as_ptr(), iovecs.len() as u32)
                    .offset(offset)
                    .rw_flags(flags)
                    .build();
                (entry, Some(iovecs), Some(region))
            }
            FileOp::Fdatasync => {
                let entry = opcode::Fsync::new(types_fd)
                    .flags(types::FsyncFlags::DATASYNC)
                    .build();
                (entry, None, None)
            }
            FileOp::Fallocate { mode, offset, len } => {
                let entry = opcode::Fallocate::new(types_fd, len)
                    .offset(offset)
                    .mode(mode)
                    .build();
                (entry, None, None)
            }
        };
        let parked = Parked {
            request,
            _iovecs: iovecs,
            _region: region,
        };
        self.park_and_queue(parked, entry, gather);
        Ok(())
    }

    /// Parks `request` and prepares `entry` (built for it) under its token.
    fn park_and_queue(&mut self, request: Parked<T>, entry: squeue::Entry, gather: bool) {
        let token = self.parked.insert(request);
        // SAFETY: `entry` names only memory owned by the request parked under `token`
        // (its iovec array, moving which does not move the heap array the entry points
        // at, and the shared region its `Arc` keeps alive), or none. A parked request is
        // released only when its completion for `token` is reaped (`reap`), and `Drop`
        // leaks what a reactor still owes instead of freeing it.
        let sqe = unsafe { Submission::new(entry, token) };
        self.outbox.push(sqe.gathered(gather));
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
            // SAFETY: `Submission::new`'s contract: what the entry names lives until its
            // completion is reaped from this ring (`reap`) or is leaked.
            if unsafe { ring.submission().push(&sqe.into_entry(token)) }.is_err() {
                self.done.push((token, -libc::EAGAIN));
            }
        }
        ring.submit().map(drop)
    }

    /// Moves every finished request into `out`, releasing its parked memory.
    pub fn reap(&mut self, out: &mut Vec<Finished<T>>) {
        if let Some(ring) = self.own.as_mut().filter(|_| !self.attached) {
            self.done
                .extend(ring.completion().map(|c| (c.user_data(), c.result())));
        }
        for (token, result) in self.done.drain(..) {
            if let Some(parked) = self.parked.remove(token) {
                out.push(Finished {
                    request: parked.request,
                    result,
                });
            }
        }
    }

    /// Blocks until every request on the private ring has completed (used before
    /// dropping). Work owed by a reactor cannot be waited for here.
    fn wait_all(&mut self, out: &mut Vec<Finished<T>>) {
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

impl<T> RingTenant for FileRing<T> {
    /// Refused while the private ring still has work.
    fn attach(&mut self) -> bool {
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

    /// Back to a private ring (created on the next submission). Refused while the
    /// reactor still owes completions.
    fn detach(&mut self) -> bool {
        if self.attached && !self.parked.is_empty() {
            return false;
        }
        self.attached = false;
        true
    }

    fn take_submissions(&mut self, out: &mut Vec<Submission>) {
        if self.attached {
            out.append(&mut self.outbox);
        }
    }

    fn complete(&mut self, token: u64, result: i32) {
        self.done.push((token, result));
    }
}

impl<T> Drop for FileRing<T> {
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

/// The private ring, cooperative like a reactor's ([`cooperative_ring`]): a completion
/// finished by one of io_uring's workers then no longer interrupts the owning thread with
/// an IPI while it works in user space; it is posted at that thread's next syscall. Every
/// wait here enters the kernel (`poll` on [`FileRing::fd`], `io_uring_enter`). On
/// /dev/shm, where every request goes to a worker, the IPIs cost a large share of the run
/// (docs/BENCHMARKS.md).
fn private_ring(depth: u32) -> io::Result<(IoUring, bool)> {
    cooperative_ring(depth, depth * 2)
}

#[cfg(test)]
mod tests {
    /// The private ring runs task work cooperatively wherever a reactor's ring does, so
    /// io_uring's workers do not interrupt the thread driving it with an IPI per request.
    #[test]
    #[cfg_attr(miri, ignore = "io_uring is a syscall miri does not run")]
    fn the_private_ring_is_cooperative_where_a_reactors_is() {
        // Whether the kernel allows it is checked against its version in uring::ring.
        let (_, kernel_allows) = super::cooperative_ring(8, 16).unwrap();
        let (_, cooperative) = super::private_ring(8).unwrap();
        assert_eq!(cooperative, kernel_allows);
    }
}
