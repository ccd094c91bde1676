//! A file opened for synchronous use by the control plane (export records, LUN images
//! being created or grown): every call blocks on the servers, so it never serves a LUN.

#![forbid(unsafe_code)]

use super::error::GfapiError;
use super::fd::Fd;
use super::stat::Stat;
use super::volume::Volume;
use std::fmt;

/// How [`SyncFile::preallocate`] reserved the space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preallocation {
    /// `fallocate`: the bricks reserved the blocks.
    Fallocated,
    /// The volume refused `fallocate` (EOPNOTSUPP, ENOSYS): zeroes were written instead.
    ZeroesWritten,
}

/// How many bytes of zeroes one write carries.
const ZEROES_CHUNK: u64 = 1 << 20;

/// An open file of a volume. It borrows the [`Volume`], so it cannot outlive the
/// connection; dropping it closes it (`glfs_close`, waiting for the server), and
/// [`SyncFile::close`] does the same and says whether the close failed.
pub struct SyncFile<'vol> {
    fd: Fd,
    volume: &'vol Volume,
    path: String,
}

impl fmt::Debug for SyncFile<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncFile")
            .field("volume", &self.volume.name())
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl<'vol> SyncFile<'vol> {
    pub(super) fn new(fd: Fd, volume: &'vol Volume, path: &str) -> SyncFile<'vol> {
        SyncFile {
            fd,
            volume,
            path: path.to_owned(),
        }
    }

    /// Path inside the volume.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// `fstat`.
    pub fn stat(&self) -> Result<Stat, GfapiError> {
        let st = self.fd.stat().map_err(|e| self.error("look up", e))?;
        Ok(Stat::from_raw(&st))
    }

    /// Writes all of `buf` at `offset` (looping over short writes).
    pub fn write_all_at(&self, buf: &[u8], offset: u64) -> Result<(), GfapiError> {
        let mut done = 0;
        while done < buf.len() {
            let at = offset + done as u64;
            match self.fd.write_at(&buf[done..], at) {
                Ok(0) => return Err(self.error("write", libc::EIO)),
                Ok(n) => done += n,
                Err(libc::EINTR) => {}
                Err(errno) => return Err(self.error("write", errno)),
            }
        }
        Ok(())
    }

    /// Reads into `buf` at `offset`: the bytes read, 0 at the end of the file.
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, GfapiError> {
        self.fd
            .read_at(buf, offset)
            .map_err(|e| self.error("read", e))
    }

    /// The whole file, refused ([`GfapiError::TooLarge`]) when it is, or grows while
    /// being read to, more than `limit` bytes.
    pub fn read_to_end(&self, limit: u64) -> Result<Vec<u8>, GfapiError> {
        let too_large = || GfapiError::TooLarge {
            volume: self.volume.name().to_owned(),
            path: self.path.clone(),
            limit,
        };
        let size = self.stat()?.size;
        if size > limit {
            return Err(too_large());
        }
        // One byte past the limit tells a file that grew meanwhile.
        let cap = usize::try_from(limit.saturating_add(1)).unwrap_or(usize::MAX);
        let first = usize::try_from(size.saturating_add(1)).unwrap_or(usize::MAX);
        let mut out = vec![0u8; first.max(4096).min(cap)];
        let mut len = 0;
        loop {
            if len == out.len() {
                out.resize((out.len() * 2).min(cap), 0);
                if len == out.len() {
                    return Err(too_large());
                }
            }
            match self.read_at(&mut out[len..], len as u64)? {
                0 => break,
                n => len += n,
            }
        }
        out.truncate(len);
        Ok(out)
    }

    /// Marks the file for mandatory-lock enforcement by the bricks (the HA fence,
    /// docs/HA.md); a volume without `features.enforce-mandatory-lock` refuses it with
    /// EINVAL.
    pub fn enforce_mandatory_locks(&self) -> Result<(), GfapiError> {
        let set = self.fd.set_xattr(super::fd::ENFORCE_XATTR, b"set");
        set.map_err(|errno| self.error("mark for lock enforcement", errno))
    }

    /// `fsync`: data and metadata on stable storage on every brick when this returns.
    pub fn fsync(&self) -> Result<(), GfapiError> {
        self.fd.fsync().map_err(|e| self.error("fsync", e))
    }

    /// Sets the size (`ftruncate`): growing leaves a sparse tail of zeroes.
    pub fn set_len(&self, len: u64) -> Result<(), GfapiError> {
        self.fd.truncate(len).map_err(|e| self.error("truncate", e))
    }

    /// Sets the permission bits (`fchmod`).
    pub fn chmod(&self, mode: u32) -> Result<(), GfapiError> {
        self.fd
            .chmod(mode)
            .map_err(|e| self.error("change the mode of", e))
    }

    /// Reserves `len` bytes at `offset`, growing the file if they reach past its end:
    /// `fallocate`, or, on a volume that refuses it, zeroes written over the range
    /// (which overwrites what was there). Says which happened.
    pub fn preallocate(&self, offset: u64, len: u64) -> Result<Preallocation, GfapiError> {
        match self.fd.allocate(offset, len) {
            Ok(()) => Ok(Preallocation::Fallocated),
            Err(libc::EOPNOTSUPP | libc::ENOSYS) => {
                self.write_zeroes(offset, len)?;
                Ok(Preallocation::ZeroesWritten)
            }
            Err(errno) => Err(self.error("preallocate", errno)),
        }
    }

    /// Writes `len` bytes of zeroes at `offset`, a chunk at a time.
    pub fn write_zeroes(&self, offset: u64, len: u64) -> Result<(), GfapiError> {
        let zeroes = vec![0u8; len.min(ZEROES_CHUNK) as usize];
        let mut done = 0;
        while done < len {
            let n = (len - done).min(ZEROES_CHUNK) as usize;
            self.write_all_at(&zeroes[..n], offset + done)?;
            done += n as u64;
        }
        Ok(())
    }

    /// Closes the file, saying whether the close failed (a drop cannot).
    pub fn close(self) -> Result<(), GfapiError> {
        let SyncFile { fd, volume, path } = self;
        fd.close()
            .map_err(|errno| volume.path_error("close", &path, errno))
    }

    fn error(&self, what: &'static str, errno: i32) -> GfapiError {
        self.volume.path_error(what, &self.path, errno)
    }
}
