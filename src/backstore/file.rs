//! A LUN backed by a local file, served through the backstore's own io_uring.
//!
//! Reads and writes go from and into the shared region's data segments with no bounce
//! buffer. FUA writes use `RWF_DSYNC`; SYNCHRONIZE CACHE is `fdatasync`; discard punches
//! a hole and write-zeroes uses `FALLOC_FL_ZERO_RANGE`. The ring's own fd is the
//! backstore's notifier, so the reactor wakes when completions are waiting.

#![forbid(unsafe_code)]

use super::file_uring::{FileRing, Finished, Kind};
use super::{
    Backstore, BackstoreError, Capabilities, Extent, IoCompletion, IoOp, IoRequest, Rejected,
    check_range, walk_extents,
};
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

/// A file LUN.
#[derive(Debug)]
pub struct FileBackstore {
    path: PathBuf,
    file: File,
    size: u64,
    ring: FileRing,
    /// Completions that never reached the kernel (refused at submission).
    early: Vec<IoCompletion>,
    finished: Vec<Finished>,
    pending_submit: bool,
    /// What `fallocate` can do on this file's filesystem, probed at open.
    caps: Capabilities,
}

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
        Ok(Self {
            path: path.to_path_buf(),
            file,
            size,
            ring,
            early: Vec::new(),
            finished: Vec::new(),
            pending_submit: false,
            caps,
        })
    }

    /// The backing file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn queue(&mut self, request: IoRequest) -> std::io::Result<()> {
        let fd = self.file.as_raw_fd();
        let tag = request.tag;
        match request.op {
            IoOp::Read { offset, buf } => {
                self.ring.readv_writev(fd, tag, false, offset, buf, false)
            }
            IoOp::Write { offset, buf, fua } => {
                self.ring.readv_writev(fd, tag, true, offset, buf, fua)
            }
            IoOp::Flush => self.ring.fdatasync(fd, tag),
            IoOp::Discard { offset, len } => {
                let mode = libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE;
                self.ring.fallocate(fd, tag, mode, offset, len)
            }
            IoOp::WriteZeroes { offset, len } => {
                let mode = libc::FALLOC_FL_ZERO_RANGE | libc::FALLOC_FL_KEEP_SIZE;
                self.ring.fallocate(fd, tag, mode, offset, len)
            }
        }
    }
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
        if let Err(e) = self.queue(request) {
            let errno = e.raw_os_error().unwrap_or(libc::EIO);
            self.early.push(IoCompletion {
                tag,
                result: Err(BackstoreError::Other(errno)),
            });
        }
        self.pending_submit = true;
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
        Some(self.ring.fd())
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
mod tests {
    use super::*;

    #[test]
    fn short_writes_are_errors_and_errnos_map_precisely() {
        assert_eq!(outcome(Kind::Write, 4096, 4096), Ok(4096));
        assert_eq!(
            outcome(Kind::Write, 4096, 512),
            Err(BackstoreError::Write(libc::EIO))
        );
        assert_eq!(outcome(Kind::Read, 4096, 512), Ok(512));
        assert_eq!(
            outcome(Kind::Read, 4096, -libc::EIO),
            Err(BackstoreError::Read(libc::EIO))
        );
        assert_eq!(
            outcome(Kind::Sync, 0, -libc::EIO),
            Err(BackstoreError::Write(libc::EIO))
        );
        assert_eq!(
            outcome(Kind::Write, 4096, -libc::EAGAIN),
            Err(BackstoreError::Retryable(libc::EAGAIN))
        );
        assert_eq!(outcome(Kind::Fallocate, 8192, 0), Ok(8192));
        assert!(matches!(
            outcome(Kind::Fallocate, 8192, -libc::EOPNOTSUPP),
            Err(BackstoreError::Unsupported(_))
        ));
    }
}
