//! Synchronous operations on the paths of a volume, for the control plane (CheckConfig,
//! export records, tools): each blocks on the servers, so none belongs on the data
//! path. Every error keeps gfapi's errno and names the path (see
//! [`GfapiError::already_exists`] for the one an exclusive create or a link loses with).

use super::error::{GfapiError, cstring, last_errno};
use super::fd::Fd;
use super::stat::{Space, Stat};
use super::sync_file::SyncFile;
use super::sys;
use super::volume::Volume;
use std::ffi::CStr;
use std::io;

/// The most [`Volume::read_file`] reads: records are small, and a larger file is not one.
pub const SMALL_FILE_MAX: u64 = 1 << 20;

impl Volume {
    /// `stat` of `path` (following a symbolic link).
    pub fn stat(&self, path: &str) -> Result<Stat, GfapiError> {
        let c_path = cstring("path", path)?;
        // SAFETY: stat is plain old data; all-zero is a valid value.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: the volume is connected for as long as `self` lives; c_path and st
        // are valid for the call's duration.
        if unsafe { sys::glfs_stat(self.raw(), c_path.as_ptr(), &mut st) } != 0 {
            return Err(self.path_error("look up", path, last_errno()));
        }
        Ok(Stat::from_raw(&st))
    }

    /// Makes the directory `path` with `mode` (less the umask); EEXIST
    /// ([`GfapiError::already_exists`]) when something is there already.
    pub fn mkdir(&self, path: &str, mode: u32) -> Result<(), GfapiError> {
        // SAFETY: the volume is connected; p is valid for the call's duration.
        self.on_path("make directory", path, |p| unsafe {
            sys::glfs_mkdir(self.raw(), p.as_ptr(), mode)
        })
    }

    /// Makes `path` and every missing directory above it (`mkdir -p`); a directory
    /// already there is fine, anything else in the way is ENOTDIR.
    pub fn mkdir_all(&self, path: &str, mode: u32) -> Result<(), GfapiError> {
        let mut prefix = String::with_capacity(path.len());
        if path.starts_with('/') {
            prefix.push('/');
        }
        for part in path.split('/').filter(|p| !p.is_empty()) {
            if !prefix.is_empty() && !prefix.ends_with('/') {
                prefix.push('/');
            }
            prefix.push_str(part);
            match self.mkdir(&prefix, mode) {
                Err(e) if e.already_exists() => self.require_dir(&prefix)?,
                other => other?,
            }
        }
        Ok(())
    }

    /// Fails with ENOTDIR unless `path` is a directory.
    fn require_dir(&self, path: &str) -> Result<(), GfapiError> {
        if self.stat(path)?.is_dir() {
            return Ok(());
        }
        Err(self.path_error("make directory", path, libc::ENOTDIR))
    }

    /// Removes the empty directory `path`.
    pub fn rmdir(&self, path: &str) -> Result<(), GfapiError> {
        // SAFETY: the volume is connected; p is valid for the call's duration.
        self.on_path("remove directory", path, |p| unsafe {
            sys::glfs_rmdir(self.raw(), p.as_ptr())
        })
    }

    /// Removes the file `path` (`unlink`). Files open on it stay readable until closed.
    pub fn unlink(&self, path: &str) -> Result<(), GfapiError> {
        self.name_changed();
        // SAFETY: the volume is connected; p is valid for the call's duration.
        self.on_path("remove", path, |p| unsafe {
            sys::glfs_unlink(self.raw(), p.as_ptr())
        })
    }

    /// Sets the permission bits of `path`.
    pub fn chmod(&self, path: &str, mode: u32) -> Result<(), GfapiError> {
        // SAFETY: the volume is connected; p is valid for the call's duration.
        self.on_path("change the mode of", path, |p| unsafe {
            sys::glfs_chmod(self.raw(), p.as_ptr(), mode)
        })
    }

    /// Sets the size of the file `path` (growing it sparsely, or cutting it).
    pub fn truncate(&self, path: &str, len: u64) -> Result<(), GfapiError> {
        let len = libc::off_t::try_from(len)
            .map_err(|_| self.path_error("truncate", path, libc::EFBIG))?;
        // SAFETY: the volume is connected; p is valid for the call's duration.
        self.on_path("truncate", path, |p| unsafe {
            sys::glfs_truncate(self.raw(), p.as_ptr(), len)
        })
    }

    /// A second name `to` for the file `from`; EEXIST
    /// ([`GfapiError::already_exists`]) when `to` exists: of two linkers of one name,
    /// exactly one wins, which makes this the way to publish a file under a name once.
    pub fn link(&self, from: &str, to: &str) -> Result<(), GfapiError> {
        // SAFETY: the volume is connected; f and t are valid for the call's duration.
        self.on_paths("link", from, to, |f, t| unsafe {
            sys::glfs_link(self.raw(), f.as_ptr(), t.as_ptr())
        })
    }

    /// Renames `from` to `to`, atomically replacing a file `to`.
    pub fn rename(&self, from: &str, to: &str) -> Result<(), GfapiError> {
        self.name_changed();
        // SAFETY: the volume is connected; f and t are valid for the call's duration.
        self.on_paths("rename", from, to, |f, t| unsafe {
            sys::glfs_rename(self.raw(), f.as_ptr(), t.as_ptr())
        })
    }

    /// The size and free space of the volume.
    pub fn statvfs(&self) -> Result<Space, GfapiError> {
        // SAFETY: statvfs is plain old data; all-zero is a valid value.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: the volume is connected; the path is static and st is valid for the
        // call's duration.
        if unsafe { sys::glfs_statvfs(self.raw(), c"/".as_ptr(), &mut st) } != 0 {
            return Err(self.path_error("get the free space of", "/", last_errno()));
        }
        let unit = if st.f_frsize > 0 {
            st.f_frsize
        } else {
            st.f_bsize
        };
        Ok(Space {
            total: st.f_blocks.saturating_mul(unit),
            free: st.f_bfree.saturating_mul(unit),
            available: st.f_bavail.saturating_mul(unit),
        })
    }

    /// Creates the file `path` with `mode`, exclusively (`O_CREAT | O_EXCL`), open for
    /// reading and writing. EEXIST ([`GfapiError::already_exists`]) when `path` exists:
    /// of two creators of one name, exactly one wins.
    pub fn create_new(&self, path: &str, mode: u32) -> Result<SyncFile<'_>, GfapiError> {
        let c_path = cstring("path", path)?;
        let flags = libc::O_RDWR | libc::O_CREAT | libc::O_EXCL;
        // SAFETY: the SyncFile the fd goes into borrows this volume, so it is dropped
        // first.
        let fd = unsafe { Fd::create(self, &c_path, flags, mode) }
            .map_err(|errno| self.path_error("create", path, errno))?;
        Ok(SyncFile::new(fd, self, path))
    }

    /// Opens the existing file `path` for reading and writing.
    pub fn open_file(&self, path: &str) -> Result<SyncFile<'_>, GfapiError> {
        self.open_with(path, libc::O_RDWR)
    }

    fn open_with(&self, path: &str, flags: libc::c_int) -> Result<SyncFile<'_>, GfapiError> {
        let c_path = cstring("path", path)?;
        // SAFETY: the SyncFile the fd goes into borrows this volume, so it is dropped
        // first.
        let fd = unsafe { Fd::open(self, &c_path, flags) }
            .map_err(|errno| self.path_error("open", path, errno))?;
        Ok(SyncFile::new(fd, self, path))
    }

    /// Creates the file `path` exclusively (as [`Volume::create_new`]) holding
    /// `contents`, on stable storage when this returns. If writing fails after the
    /// create, the partial file is removed (it is this call's own).
    pub fn create_file(&self, path: &str, mode: u32, contents: &[u8]) -> Result<(), GfapiError> {
        let file = self.create_new(path, mode)?;
        let written = file
            .write_all_at(contents, 0)
            .and_then(|()| file.fsync())
            .and_then(|()| file.close());
        if written.is_err() {
            if let Err(e) = self.unlink(path) {
                tracing::warn!("partial file left behind: {e}");
            }
        }
        written
    }

    /// The whole file `path`, refused (EFBIG, [`GfapiError::TooLarge`]) when larger than
    /// [`SMALL_FILE_MAX`].
    pub fn read_file(&self, path: &str) -> Result<Vec<u8>, GfapiError> {
        self.open_with(path, libc::O_RDONLY)?
            .read_to_end(SMALL_FILE_MAX)
    }

    /// Runs `call` on `path` as a C string: 0 is success, anything else fails with the
    /// errno it left.
    fn on_path(
        &self,
        what: &'static str,
        path: &str,
        call: impl FnOnce(&CStr) -> libc::c_int,
    ) -> Result<(), GfapiError> {
        let c_path = cstring("path", path)?;
        if call(&c_path) != 0 {
            return Err(self.path_error(what, path, last_errno()));
        }
        Ok(())
    }

    /// [`Volume::on_path`] for a call on two paths.
    fn on_paths(
        &self,
        what: &'static str,
        from: &str,
        to: &str,
        call: impl FnOnce(&CStr, &CStr) -> libc::c_int,
    ) -> Result<(), GfapiError> {
        let (c_from, c_to) = (cstring("path", from)?, cstring("path", to)?);
        if call(&c_from, &c_to) != 0 {
            let source = io::Error::from_raw_os_error(last_errno());
            return Err(GfapiError::PathPair {
                what,
                volume: self.name().to_owned(),
                from: from.to_owned(),
                to: to.to_owned(),
                source,
            });
        }
        Ok(())
    }
}
