//! A LUN backed by a local file, served through io_uring.
//!
//! Reads and writes go from and into the shared region's data segments with no bounce
//! buffer. FUA writes use `RWF_DSYNC`; SYNCHRONIZE CACHE is `fdatasync`; discard punches
//! a hole and write-zeroes uses `FALLOC_FL_ZERO_RANGE`. The io_uring work itself is a
//! [`FileRing`] of [`crate::uring`]; this file decides what to ask of it and turns its
//! results into completions. Served by a reactor, the submissions go into the reactor's
//! own ring, batched with everything else it submits in a turn
//! ([`Backstore::ring_tenant`]); without one, into a private ring whose fd is the
//! backstore's notifier.

#![forbid(unsafe_code)]

use super::{
    Backstore, BackstoreError, Capabilities, Extent, IoCompletion, IoOp, IoRequest, Rejected,
    check_range, walk_extents,
};
use crate::region::DataBuf;
use crate::uring::{FileOp, FileRing, Finished, RingTenant};
use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// How a file LUN is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOptions {
    /// Bypass the page cache (`O_DIRECT`); needs block-aligned I/O, which LIO guarantees.
    pub direct: bool,
    /// Refuse writes at open (the SCSI layer reports WRITE PROTECTED).
    pub read_only: bool,
    /// In-flight requests the ring must hold (the kernel's queue depth).
    pub depth: u32,
}

impl Default for FileOptions {
    fn default() -> Self {
        Self {
            direct: false,
            read_only: false,
            depth: 128,
        }
    }
}

/// Why a file could not be opened as a LUN.
#[derive(Debug, thiserror::Error)]
pub enum FileOpenError {
    #[error("cannot open {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a regular file")]
    NotRegular { path: PathBuf },
    #[error("cannot size {path} to {size} bytes")]
    Resize {
        path: PathBuf,
        size: u64,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot set up io_uring for {path}")]
    Ring {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What one in-flight request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
    Sync,
    Fallocate,
}

/// What the file backstore remembers of a request while the kernel works on it.
#[derive(Debug, Clone, Copy)]
struct Request {
    tag: u64,
    kind: Kind,
    /// Bytes it must move (a shorter write is an error).
    expected: u64,
}

/// A file LUN.
#[derive(Debug)]
pub struct FileBackstore {
    path: PathBuf,
    file: File,
    size: u64,
    ring: FileRing<Request>,
    /// Completions that never reached the kernel (refused at submission).
    early: Vec<IoCompletion>,
    finished: Vec<Finished<Request>>,
    pending_submit: bool,
    /// What `fallocate` can do on this file's filesystem, probed at open.
    caps: Capabilities,
    /// The file lives in memory (tmpfs): large writes are done at submission, in the
    /// reactor's thread (see [`INLINE_WRITE_MIN`]).
    in_memory: bool,
}

/// Writes of at least this many bytes to a file in memory are copied at submission.
/// tmpfs takes no non-blocking I/O, so io_uring hands each request to a worker thread, and
/// its buffered writes to one file run one at a time there: a large write gains no
/// parallelism from the hand-off and pays for it; copying it in the reactor cannot wait on
/// a device. Reads (which the workers run in parallel) and small writes (one
/// `io_uring_enter` for a whole batch instead of a syscall each) stay on io_uring. In the
/// guest benchmark, copying every request inline helped large overwrites and cost small
/// random I/O (docs/BENCHMARKS.md).
pub const INLINE_WRITE_MIN: u64 = 64 << 10;

/// Reads and writes of at most this many bytes to a file in memory are marked for
/// gathering ([`crate::reactor::ReactorOptions::gather`]): io_uring's workers finish such
/// requests a few microseconds apart, each waking the reactor alone, and a short wait
/// turns those wake-ups into one batch. Larger requests lose by it (docs/BENCHMARKS.md).
pub const GATHER_MAX: u64 = 16 << 10;

impl FileBackstore {
    /// Opens (creating if needed) `path` for a LUN of `size` bytes. A smaller file is
    /// extended (sparsely) to `size`; a larger one is served up to `size` and left as is.
    pub fn open(path: &Path, size: u64, opts: &FileOptions) -> Result<Self, FileOpenError> {
        let err = |source| FileOpenError::Open {
            path: path.to_path_buf(),
            source,
        };
        let mut oo = OpenOptions::new();
        oo.read(true).write(!opts.read_only).create(!opts.read_only);
        if opts.direct {
            oo.custom_flags(libc::O_DIRECT);
        }
        let file = oo.open(path).map_err(err)?;
        let meta = file.metadata().map_err(err)?;
        if !meta.is_file() {
            return Err(FileOpenError::NotRegular {
                path: path.to_path_buf(),
            });
        }
        if meta.len() < size && !opts.read_only {
            file.set_len(size).map_err(|source| FileOpenError::Resize {
                path: path.to_path_buf(),
                size,
                source,
            })?;
        }
        let ring = FileRing::new(opts.depth).map_err(|source| FileOpenError::Ring {
            path: path.to_path_buf(),
            source,
        })?;
        let caps = if opts.read_only {
            Capabilities::default()
        } else {
            probe_fallocate(&file, size)
        };
        let in_memory = !opts.direct && in_memory(&file);
        if in_memory {
            tracing::info!(
                path = %path.display(),
                "file LUN: in memory (tmpfs): writes of {} KiB and more copied at submission, the rest through io_uring",
                INLINE_WRITE_MIN >> 10
            );
        } else {
            tracing::info!(path = %path.display(), direct = opts.direct, "file LUN: reads and writes through io_uring");
        }
        Ok(Self {
            path: path.to_path_buf(),
            file,
            size,
            ring,
            early: Vec::new(),
            finished: Vec::new(),
            pending_submit: false,
            caps,
            in_memory,
        })
    }

    /// The backing file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True when large writes are done at submission (the file is in memory).
    #[cfg(test)]
    pub fn copies_inline(&self) -> bool {
        self.in_memory
    }

    /// True for a request done at submission rather than on io_uring.
    fn inline(&self, op: &IoOp) -> bool {
        self.in_memory && matches!(op, IoOp::Write { buf, .. } if buf.len() >= INLINE_WRITE_MIN)
    }

    /// A write done now (file in memory); its completion waits in `early`.
    fn write_inline(&mut self, tag: u64, offset: u64, buf: &DataBuf, fua: bool) {
        let fd = self.file.as_raw_fd();
        let result = crate::uring::write_now(fd, offset, buf.region(), buf.segments(), fua);
        self.early.push(IoCompletion {
            tag,
            result: outcome(Kind::Write, buf.len(), result),
        });
    }

    /// True for a read or write worth gathering ([`GATHER_MAX`]): small, to a file in
    /// memory, which io_uring hands to its worker threads.
    fn gathers(&self, len: u64) -> bool {
        self.in_memory && (1..=GATHER_MAX).contains(&len)
    }

    /// Queues `request` on the ring, or does it now when `inline` (see [`Self::inline`]).
    fn queue(&mut self, request: IoRequest, inline: bool) -> std::io::Result<()> {
        let tag = request.tag;
        match request.op {
            IoOp::Write {
                offset,
                ref buf,
                fua,
            } if inline => {
                self.write_inline(tag, offset, buf, fua);
                Ok(())
            }
            op => {
                let (op, request, gather) = self.file_op(tag, op);
                self.ring.queue(self.file.as_raw_fd(), op, request, gather)
            }
        }
    }

    /// What to ask of the ring for `op`, what to remember of it, and whether to gather it.
    fn file_op(&self, tag: u64, op: IoOp) -> (FileOp, Request, bool) {
        let record = |kind, expected| Request {
            tag,
            kind,
            expected,
        };
        match op {
            IoOp::Read { offset, buf } => {
                let (len, gather) = (buf.len(), self.gathers(buf.len()));
                let (region, segs) = buf.into_parts();
                let op = FileOp::Read {
                    offset,
                    region,
                    segs,
                };
                (op, record(Kind::Read, len), gather)
            }
            IoOp::Write { offset, buf, fua } => {
                let (len, gather) = (buf.len(), self.gathers(buf.len()));
                let (region, segs) = buf.into_parts();
                let op = FileOp::Write {
                    offset,
                    region,
                    segs,
                    dsync: fua,
                };
                (op, record(Kind::Write, len), gather)
            }
            IoOp::Flush => (FileOp::Fdatasync, record(Kind::Sync, 0), false),
            IoOp::Discard { offset, len } => {
                let mode = libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE;
                let op = FileOp::Fallocate { mode, offset, len };
                (op, record(Kind::Fallocate, len), false)
            }
            IoOp::WriteZeroes { offset, len } => {
                let mode = libc::FALLOC_FL_ZERO_RANGE | libc::FALLOC_FL_KEEP_SIZE;
                let op = FileOp::Fallocate { mode, offset, len };
                (op, record(Kind::Fallocate, len), false)
            }
        }
    }
}

/// True when `file` lives in memory (tmpfs or ramfs): no device behind it.
fn in_memory(file: &File) -> bool {
    const TMPFS_MAGIC: i64 = 0x0102_1994;
    const RAMFS_MAGIC: i64 = 0x8584_58f6;
    rustix::fs::fstatfs(file).is_ok_and(|s| {
        // f_type is i64 on x86_64 and narrower on some other architectures.
        #[allow(clippy::unnecessary_cast)]
        let kind = s.f_type as i64;
        kind == TMPFS_MAGIC || kind == RAMFS_MAGIC
    })
}

/// Which `fallocate` modes the file's filesystem supports (tmpfs, for one, punches holes
/// but cannot zero a range), tried on one page past the end of the LUN and the file with
/// KEEP_SIZE, so no byte of the LUN and not the file's size changes; the punch also
/// frees what the zeroing may have preallocated there.
fn probe_fallocate(file: &File, size: u64) -> Capabilities {
    use rustix::fs::{FallocateFlags, fallocate};
    let len = file.metadata().map_or(size, |m| m.len()).max(size);
    let at = len.div_ceil(1 << 20).saturating_add(1) << 20;
    let zero = fallocate(
        file,
        FallocateFlags::ZERO_RANGE | FallocateFlags::KEEP_SIZE,
        at,
        4096,
    );
    let punch = fallocate(
        file,
        FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE,
        at,
        4096,
    );
    Capabilities {
        flush: true,
        discard: punch.is_ok(),
        write_zeroes: zero.is_ok(),
        discard_zeroes: punch.is_ok(),
        resize: true,
    }
}

/// Turns the kernel's result for a request into bytes moved or a backstore error. A
/// short write is an error: acknowledging it would lose the rest.
fn outcome(kind: Kind, expected: u64, result: i32) -> Result<u64, BackstoreError> {
    if result < 0 {
        let errno = -result;
        return Err(match (kind, errno) {
            (_, libc::EAGAIN | libc::EINTR) => BackstoreError::Retryable(errno),
            (Kind::Fallocate, libc::EOPNOTSUPP) => BackstoreError::Unsupported("fallocate mode"),
            (Kind::Read, _) => BackstoreError::Read(errno),
            (Kind::Write | Kind::Sync, _) => BackstoreError::Write(errno),
            (Kind::Fallocate, _) => BackstoreError::Other(errno),
        });
    }
    let moved = result as u64;
    match kind {
        Kind::Write if moved < expected => Err(BackstoreError::Write(libc::EIO)),
        Kind::Fallocate => Ok(expected),
        _ => Ok(moved),
    }
}

impl Backstore for FileBackstore {
    fn size(&self) -> u64 {
        self.size
    }

    fn submit(&mut self, request: IoRequest) -> Result<(), Box<Rejected>> {
        if let Err(error) = check_range(&request.op, self.size) {
            return Err(Box::new(Rejected { error, request }));
        }
        let tag = request.tag;
        let inline = self.inline(&request.op);
        if let Err(e) = self.queue(request, inline) {
            let errno = e.raw_os_error().unwrap_or(libc::EIO);
            self.early.push(IoCompletion {
                tag,
                result: Err(BackstoreError::Other(errno)),
            });
        }
        self.pending_submit |= !inline;
        Ok(())
    }

    fn commit(&mut self) {
        if std::mem::take(&mut self.pending_submit) {
            if let Err(e) = self.ring.submit() {
                tracing::warn!(path = %self.path.display(), "io_uring submit failed: {e}");
            }
        }
    }

    fn notifier(&self) -> Option<BorrowedFd<'_>> {
        self.ring.fd()
    }

    fn ring_tenant(&mut self) -> Option<&mut dyn RingTenant> {
        Some(&mut self.ring)
    }

    fn drain(&mut self, out: &mut Vec<IoCompletion>) {
        out.append(&mut self.early);
        self.ring.reap(&mut self.finished);
        for f in self.finished.drain(..) {
            let result = outcome(f.request.kind, f.request.expected, f.result);
            out.push(IoCompletion {
                tag: f.request.tag,
                result,
            });
        }
    }

    fn in_flight(&self) -> usize {
        self.ring.live() + self.early.len()
    }

    fn capabilities(&self) -> Capabilities {
        self.caps
    }

    fn resize(&mut self, new_size: u64) -> Result<(), BackstoreError> {
        let len = self
            .file
            .metadata()
            .map_err(|e| BackstoreError::Other(e.raw_os_error().unwrap_or(libc::EIO)))?
            .len();
        if len < new_size {
            self.file
                .set_len(new_size)
                .map_err(|e| BackstoreError::Other(e.raw_os_error().unwrap_or(libc::EIO)))?;
        }
        self.size = new_size;
        Ok(())
    }

    /// The file's holes, from `SEEK_DATA`/`SEEK_HOLE` (a few local syscalls per extent).
    /// Past the end of a shorter file is a hole.
    fn allocation(
        &self,
        offset: u64,
        len: u64,
        max_extents: usize,
    ) -> Result<Vec<Extent>, BackstoreError> {
        use rustix::fs::{SeekFrom, seek};
        let end = offset.saturating_add(len).min(self.size);
        let errno = |e: rustix::io::Errno| BackstoreError::Other(e.raw_os_error());
        walk_extents(offset, end, max_extents, |pos| {
            let data = match seek(&self.file, SeekFrom::Data(pos)) {
                Ok(d) => d,
                Err(rustix::io::Errno::NXIO) => end,
                Err(e) => return Err(errno(e)),
            };
            if data > pos {
                return Ok((data, false));
            }
            match seek(&self.file, SeekFrom::Hole(pos)) {
                Ok(h) => Ok((h, true)),
                Err(rustix::io::Errno::NXIO) => Ok((end, false)),
                Err(e) => Err(errno(e)),
            }
        })
    }
}

#[cfg(test)]
mod tests;
