//! iovec arrays naming data segments of the shared region, for the kernel's vectored I/O
//! (io_uring's READV/WRITEV, and `pwritev2` for a write done at once).
//!
//! Every pointer comes from [`SharedRegion::segment_ptr`], which checks the segment
//! against the region; whoever hands an array to the kernel keeps the region (and the
//! command that owns the segments) alive until the kernel is done with it.

#![allow(unsafe_code)]

use crate::region::{DataSeg, SharedRegion};
use std::io;
use std::os::fd::RawFd;

/// Pointers into the shared region, kept for the kernel until the request completes.
pub(super) struct Iovecs(Vec<libc::iovec>);

// SAFETY: the pointers refer to the shared region, which is `Send + Sync` and kept alive
// by the `Arc<SharedRegion>` stored next to them (see `file_ring::Parked`); the vector
// itself is plain owned memory.
unsafe impl Send for Iovecs {}

impl std::fmt::Debug for Iovecs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Iovecs({})", self.0.len())
    }
}

impl Iovecs {
    /// The iovecs naming `segs` of `region` (each checked against it).
    pub(super) fn of(region: &SharedRegion, segs: &[DataSeg]) -> io::Result<Self> {
        let mut iovecs = Vec::with_capacity(segs.len());
        for seg in segs {
            let ptr = region
                .segment_ptr(seg.off, seg.len)
                .map_err(io::Error::other)?;
            iovecs.push(libc::iovec {
                iov_base: ptr.as_ptr().cast(),
                iov_len: seg.len as usize,
            });
        }
        Ok(Self(iovecs))
    }

    /// The array's address, for an SQE or a syscall.
    pub(super) fn as_ptr(&self) -> *const libc::iovec {
        self.0.as_ptr()
    }

    /// Entries in the array.
    pub(super) fn len(&self) -> usize {
        self.0.len()
    }
}

/// Writes `segs` of `region` at `offset` now, in the calling thread (`pwritev2`; `dsync`
/// adds `RWF_DSYNC`): for large writes to files in memory (tmpfs), where the call is a
/// copy and io_uring would only hand it to a worker thread. The kernel's result: bytes
/// written, or a negative errno.
pub fn write_now(
    fd: RawFd,
    offset: u64,
    region: &SharedRegion,
    segs: &[DataSeg],
    dsync: bool,
) -> i32 {
    let iovecs = match Iovecs::of(region, segs) {
        Ok(v) => v,
        Err(_) => return -libc::EFAULT,
    };
    let (ptr, n) = (iovecs.as_ptr(), iovecs.len() as libc::c_int);
    let off = offset.min(i64::MAX as u64) as libc::off_t;
    let flags = if dsync { libc::RWF_DSYNC } else { 0 };
    // SAFETY: every iovec names a range of the shared region that `segment_ptr` checked
    // against its length; the caller's borrow of `region` keeps it mapped for the whole
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
