//! Where a LUN's blocks live.
//!
//! A backstore is driven the same way whether it completes inline (RAM) or on its own
//! schedule (io_uring files, libgfapi callbacks): the device [`Backstore::submit`]s
//! requests, waits for the [`Backstore::notifier`] fd if there is one, and
//! [`Backstore::drain`]s completions. Data never passes through a bounce buffer: a
//! request names byte ranges of the shared region ([`DataBuf`], from [`crate::region`])
//! that stay valid until its completion has been drained.
//!
//! A backstore whose requests can run on its reactor's io_uring (a file) says so with
//! the optional [`Backstore::ring_tenant`] capability; the io_uring itself, and all of
//! its `unsafe`, lives in [`crate::uring`], and gfapi's in `crate::glfs`.

#![forbid(unsafe_code)]

mod file;
#[cfg(feature = "glfs")]
mod glfs;
mod ram;

pub use file::{FileBackstore, FileOpenError, FileOptions, GATHER_MAX as FILE_GATHER_MAX};
#[cfg(feature = "glfs")]
pub use glfs::{GlfsBackstore, GlfsOpenError, GlfsOptions};
pub use ram::RamBackstore;

use crate::region::{DataBuf, RegionError};
use crate::uring::RingTenant;
use std::os::fd::BorrowedFd;

/// Why a backstore request failed. The device maps each variant to a SCSI status
/// in exactly one place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackstoreError {
    #[error("request {offset:#x}+{len:#x} lies beyond the {size:#x}-byte backstore")]
    OutOfRange { offset: u64, len: u64, size: u64 },
    #[error("the backstore does not support {0}")]
    Unsupported(&'static str),
    #[error("backend temporarily unavailable (errno {0}); the initiator should retry")]
    Retryable(i32),
    #[error("read failed (errno {0})")]
    Read(i32),
    #[error("write failed (errno {0})")]
    Write(i32),
    #[error("backend failure (errno {0})")]
    Other(i32),
    /// The bricks refused the request because another gateway holds the image lock, or
    /// this one lost it (docs/HA.md): never retried here, answered with the ALUA
    /// transition sense so the initiator retries it on another path.
    #[error("fenced: the image lock is not held (errno {0})")]
    Fenced(i32),
    #[error("backstore queue is full")]
    QueueFull,
    #[error(transparent)]
    Region(#[from] RegionError),
}

/// What to do.
#[derive(Debug)]
pub enum IoOp {
    /// Read `buf.len()` bytes at `offset` into `buf`.
    Read { offset: u64, buf: DataBuf },
    /// Write `buf` at `offset`; with `fua`, durable before completion.
    Write {
        offset: u64,
        buf: DataBuf,
        fua: bool,
    },
    /// Make every completed write durable.
    Flush,
    /// Deallocate a byte range (reads of it return zeroes afterwards).
    Discard { offset: u64, len: u64 },
    /// Write zeroes to a byte range.
    WriteZeroes { offset: u64, len: u64 },
}

impl IoOp {
    /// Byte range the op touches, if any (for bounds checks).
    pub fn range(&self) -> Option<(u64, u64)> {
        match self {
            IoOp::Read { offset, buf } | IoOp::Write { offset, buf, .. } => {
                Some((*offset, buf.len()))
            }
            IoOp::Discard { offset, len } | IoOp::WriteZeroes { offset, len } => {
                Some((*offset, *len))
            }
            IoOp::Flush => None,
        }
    }
}

/// A run of a backstore's bytes and whether storage backs it (`false`: a hole, which
/// reads as zeroes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    pub offset: u64,
    pub len: u64,
    pub allocated: bool,
}

/// The extents of `offset..end`, at most `max_extents` of them: `next_run(pos)` says
/// where the run starting at `pos` ends and whether it is allocated; neighbouring runs of
/// the same kind merge. Shared by the backstores' [`Backstore::allocation`].
pub(crate) fn walk_extents(
    offset: u64,
    end: u64,
    max_extents: usize,
    mut next_run: impl FnMut(u64) -> Result<(u64, bool), BackstoreError>,
) -> Result<Vec<Extent>, BackstoreError> {
    let mut out: Vec<Extent> = Vec::new();
    let mut pos = offset;
    while pos < end {
        let (run_end, allocated) = next_run(pos)?;
        let next = run_end.min(end);
        if next <= pos {
            break;
        }
        let full = out.len() >= max_extents.max(1);
        match out.last_mut() {
            Some(last) if last.allocated == allocated => last.len += next - pos,
            _ if full => break,
            _ => out.push(Extent {
                offset: pos,
                len: next - pos,
                allocated,
            }),
        }
        pos = next;
    }
    Ok(out)
}

/// A request and the tag its completion carries back.
#[derive(Debug)]
pub struct IoRequest {
    pub tag: u64,
    pub op: IoOp,
}

/// A finished request: bytes moved, or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoCompletion {
    pub tag: u64,
    pub result: Result<u64, BackstoreError>,
}

/// A refused submission hands the request back so the caller can still answer it.
#[derive(Debug)]
pub struct Rejected {
    pub error: BackstoreError,
    pub request: IoRequest,
}

/// Optional abilities; a backstore that lacks one gets the device's fallback
/// (e.g. WRITE SAME of zeroes written as data) or a precise SCSI refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Flush does real work (a volatile write cache exists).
    pub flush: bool,
    /// Discard deallocates.
    pub discard: bool,
    /// Write-zeroes is cheaper than writing zero buffers.
    pub write_zeroes: bool,
    /// Discarded ranges read back as zeroes.
    pub discard_zeroes: bool,
    /// [`Backstore::resize`] works.
    pub resize: bool,
}

impl Capabilities {
    /// Every optional ability (the RAM, file and glfs backstores have them all).
    pub const ALL: Self = Self {
        flush: true,
        discard: true,
        write_zeroes: true,
        discard_zeroes: true,
        resize: true,
    };
}

/// Whether a backstore reaches its backend, for `list` and metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum BackendState {
    /// Requests go to the backend.
    #[default]
    Serving,
    /// The backstore waits for its backend to come back and answers every request BUSY
    /// meanwhile (a glfs LUN whose volume is unreachable).
    Reconnecting,
}

/// How a backstore's backend is doing ([`Backstore::health`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Health {
    pub state: BackendState,
    /// Moves to a new connection because the backend changed (a glfs LUN's volume after
    /// a `gluster volume set`, a brick added or replaced).
    pub connection_moves: u64,
}

impl Health {
    /// True while the backstore waits for its backend ([`BackendState::Reconnecting`]).
    pub fn is_reconnecting(&self) -> bool {
        self.state == BackendState::Reconnecting
    }
}

impl Default for Capabilities {
    fn default() -> Self {
        Self {
            flush: true,
            discard: false,
            write_zeroes: false,
            discard_zeroes: false,
            resize: false,
        }
    }
}

/// A LUN's storage. Implementations must not block in `submit` for long: a slow
/// backend queues the work and signals its notifier.
pub trait Backstore: Send + std::fmt::Debug {
    /// Size in bytes.
    fn size(&self) -> u64;

    /// Starts a request (a refusal is boxed: it is rare and carries the request back).
    /// Synchronous backstores may finish it before returning; its
    /// completion is then available from the next [`Backstore::drain`].
    fn submit(&mut self, request: IoRequest) -> Result<(), Box<Rejected>>;

    /// Hands everything submitted since the last call to the backend at once; the device
    /// calls it after each batch of [`Backstore::submit`]s.
    fn commit(&mut self) {}

    /// An fd that becomes readable when completions are waiting, for backstores that
    /// finish requests asynchronously. `None`: completions are ready right after submit.
    fn notifier(&self) -> Option<BorrowedFd<'_>> {
        None
    }

    /// Moves finished requests into `out`.
    fn drain(&mut self, out: &mut Vec<IoCompletion>);

    /// Whether the backend is reachable and how often the backstore moved to a new
    /// connection, for `list` and metrics. Local backstores are always serving.
    fn health(&self) -> Health {
        Health::default()
    }

    /// True when finished requests wait to be drained, found by reading memory only (no
    /// syscall): a busy-polling reactor asks this instead of waiting for the notifier.
    /// False when unsure; the notifier still tells.
    fn has_completions(&self) -> bool {
        false
    }

    /// The backstore's io_uring work, for a reactor that can run it on its own ring
    /// (see [`RingTenant`]); `None` (the default) for backstores without io_uring.
    /// Attached, the backstore hands its submissions over after each `commit` instead of
    /// submitting them, its completions come back through the reactor and are drained
    /// like any other, and its notifier is unused.
    fn ring_tenant(&mut self) -> Option<&mut dyn RingTenant> {
        None
    }

    /// Requests submitted and not yet drained.
    fn in_flight(&self) -> usize;

    /// Optional abilities.
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    /// Whether an image lock fences this LUN's image (an HA LUN, docs/HA.md).
    fn has_image_lock(&self) -> bool {
        false
    }

    /// Makes this an HA LUN's backstore from now on (port groups were configured after
    /// it opened): its image is fenced by the lock the HA thread takes, and a refused
    /// write means fenced. False, with nothing changed, where no image lock exists.
    fn enable_image_lock(&mut self) -> bool {
        false
    }

    /// The image lock of an HA LUN's current file, for the HA control thread, which
    /// makes the (blocking) calls on it; `None` for every other LUN, and while an HA
    /// LUN has no file open (reconnecting).
    fn image_lock(&mut self) -> Option<std::sync::Arc<dyn crate::ha::ImageLock>> {
        None
    }

    /// Changes the size (RECONFIG, ChangeMedium).
    fn resize(&mut self, _new_size: u64) -> Result<(), BackstoreError> {
        Err(BackstoreError::Unsupported("resize"))
    }

    /// Which bytes of `offset..offset+len` are allocated, as contiguous extents in
    /// order from `offset`, at most `max_extents` of them (the last may end before
    /// `offset+len`). It must answer at once (GET LBA STATUS runs on the reactor thread);
    /// a backstore that cannot tell quickly reports everything allocated, which SBC
    /// allows ("mapped or unknown").
    fn allocation(
        &self,
        offset: u64,
        len: u64,
        _max_extents: usize,
    ) -> Result<Vec<Extent>, BackstoreError> {
        Ok(vec![Extent {
            offset,
            len,
            allocated: true,
        }])
    }
}

/// Checks that an op's range lies inside a backstore of `size` bytes.
pub fn check_range(op: &IoOp, size: u64) -> Result<(), BackstoreError> {
    if let Some((offset, len)) = op.range() {
        if offset.checked_add(len).is_none_or(|end| end > size) {
            return Err(BackstoreError::OutOfRange { offset, len, size });
        }
    }
    Ok(())
}
