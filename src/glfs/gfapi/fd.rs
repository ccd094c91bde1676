//! An open gfapi fd (`glfs_fd_t`) and the synchronous calls on it, shared by the LUN's
//! [`GlfsFile`](super::GlfsFile) and the control plane's [`SyncFile`](super::SyncFile).
//!
//! An `Fd` does not keep its connection alive; its owner does (a `GlfsFile` holds an
//! `Arc<Volume>` and closes the fd before letting it go, a `SyncFile` borrows the
//! `Volume`), which is why making one is `unsafe`. Each call returns the errno, read
//! right after the call and before anything else can change it.

use super::error::last_errno;
use super::sys;
use super::volume::Volume;
use std::ffi::CStr;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;

/// The extended attribute that turns mandatory-lock enforcement on for one file (the HA
/// fence, docs/HA.md); the bricks keep it on disk, so it survives their restart. Refused
/// with EINVAL by a volume without mandatory locking and
/// `features.enforce-mandatory-lock`.
pub(super) const ENFORCE_XATTR: &CStr = c"trusted.glusterfs.enforce-mandatory-lock";

/// An open fd, closed (`glfs_close`, which waits for the server) when dropped. The
/// volume it was opened on outlives it (the promise of whoever made it).
pub(super) struct Fd(NonNull<sys::glfs_fd_t>);

// SAFETY: gfapi fds may be used and closed from any thread; the wrapper only moves the
// pointer.
unsafe impl Send for Fd {}

// SAFETY: gfapi serialises concurrent calls on one glfs_fd_t internally.
unsafe impl Sync for Fd {}

/// An `off_t` for gfapi, EINVAL when it does not fit.
fn off_t(value: u64) -> Result<libc::off_t, i32> {
    libc::off_t::try_from(value).map_err(|_| libc::EINVAL)
}

impl Fd {
    /// `glfs_open` of `path` with `flags` on `volume`.
    ///
    /// # Safety
    /// The `Fd` must be dropped (or closed) before `volume` is.
    pub(super) unsafe fn open(volume: &Volume, path: &CStr, flags: libc::c_int) -> Result<Fd, i32> {
        // SAFETY: the volume is connected; path outlives the call.
        let fd = unsafe { sys::glfs_open(volume.raw(), path.as_ptr(), flags) };
        NonNull::new(fd).map(Fd).ok_or_else(last_errno)
    }

    /// `glfs_creat` of `path` with `flags` and `mode` on `volume`.
    ///
    /// # Safety
    /// The `Fd` must be dropped (or closed) before `volume` is.
    pub(super) unsafe fn create(
        volume: &Volume,
        path: &CStr,
        flags: libc::c_int,
        mode: u32,
    ) -> Result<Fd, i32> {
        // SAFETY: the volume is connected; path outlives the call.
        let fd = unsafe { sys::glfs_creat(volume.raw(), path.as_ptr(), flags, mode) };
        NonNull::new(fd).map(Fd).ok_or_else(last_errno)
    }

    /// The pointer, for the asynchronous calls and their callback.
    pub(super) fn raw(&self) -> *mut sys::glfs_fd_t {
        self.0.as_ptr()
    }

    /// `glfs_fstat`.
    pub(super) fn stat(&self) -> Result<libc::stat, i32> {
        // SAFETY: stat is plain old data; all-zero is a valid value.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: the fd is open; st is a valid out-pointer for the call.
        if unsafe { sys::glfs_fstat(self.raw(), &mut st) } != 0 {
            return Err(last_errno());
        }
        Ok(st)
    }

    /// `glfs_ftruncate` to `len` bytes.
    pub(super) fn truncate(&self, len: u64) -> Result<(), i32> {
        let len = libc::off_t::try_from(len).map_err(|_| libc::EFBIG)?;
        let (pre, post) = (std::ptr::null_mut(), std::ptr::null_mut());
        // SAFETY: the fd is open; NULL pre/post stat pointers are allowed by gfapi.
        if unsafe { sys::glfs_ftruncate(self.raw(), len, pre, post) } != 0 {
            return Err(last_errno());
        }
        Ok(())
    }

    /// `glfs_pread` into `buf` at `offset`: the bytes read, 0 at the end of the file.
    pub(super) fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, i32> {
        let off = off_t(offset)?;
        let (ptr, len) = (buf.as_mut_ptr().cast(), buf.len());
        // SAFETY: the fd is open; buf is valid for writes of len bytes for the call's
        // duration; a NULL poststat is allowed.
        let n = unsafe { sys::glfs_pread(self.raw(), ptr, len, off, 0, std::ptr::null_mut()) };
        usize::try_from(n).map_err(|_| last_errno())
    }

    /// `glfs_pwrite` of `buf` at `offset`: the bytes written.
    pub(super) fn write_at(&self, buf: &[u8], offset: u64) -> Result<usize, i32> {
        let off = off_t(offset)?;
        let (ptr, len) = (buf.as_ptr().cast(), buf.len());
        let (pre, post) = (std::ptr::null_mut(), std::ptr::null_mut());
        // SAFETY: the fd is open; buf is valid for reads of len bytes for the call's
        // duration; NULL pre/post stat pointers are allowed.
        let n = unsafe { sys::glfs_pwrite(self.raw(), ptr, len, off, 0, pre, post) };
        usize::try_from(n).map_err(|_| last_errno())
    }

    /// `glfs_fsync`: data and metadata on stable storage on every brick.
    pub(super) fn fsync(&self) -> Result<(), i32> {
        let (pre, post) = (std::ptr::null_mut(), std::ptr::null_mut());
        // SAFETY: the fd is open; NULL pre/post stat pointers are allowed.
        if unsafe { sys::glfs_fsync(self.raw(), pre, post) } != 0 {
            return Err(last_errno());
        }
        Ok(())
    }

    /// `glfs_fallocate` of `len` bytes at `offset`, growing the file past its end.
    pub(super) fn allocate(&self, offset: u64, len: u64) -> Result<(), i32> {
        let off = off_t(offset)?;
        let len = usize::try_from(len).map_err(|_| libc::EINVAL)?;
        // SAFETY: the fd is open; keep_size 0 lets the size grow.
        if unsafe { sys::glfs_fallocate(self.raw(), 0, off, len) } != 0 {
            return Err(last_errno());
        }
        Ok(())
    }

    /// `glfs_fchmod`.
    pub(super) fn chmod(&self, mode: u32) -> Result<(), i32> {
        // SAFETY: the fd is open.
        if unsafe { sys::glfs_fchmod(self.raw(), mode) } != 0 {
            return Err(last_errno());
        }
        Ok(())
    }

    /// A whole-file mandatory lock request without waiting (F_SETLK of `l_type`
    /// F_WRLCK, F_RDLCK or F_UNLCK).
    pub(super) fn set_mandatory_lock(&self, l_type: libc::c_short) -> Result<(), i32> {
        let mut flock = whole_file(l_type);
        let (cmd, mode) = (libc::F_SETLK, sys::GLFS_LK_MANDATORY);
        // SAFETY: the fd is open; flock is a valid in/out pointer for the call.
        if unsafe { sys::glfs_file_lock(self.raw(), cmd, &mut flock, mode) } != 0 {
            return Err(last_errno());
        }
        Ok(())
    }

    /// F_GETLK for a whole-file lock of `l_type`: the type of a conflicting lock
    /// another owner holds, F_UNLCK when there is none.
    pub(super) fn conflicting_lock(&self, l_type: libc::c_short) -> Result<libc::c_short, i32> {
        let mut flock = whole_file(l_type);
        // SAFETY: the fd is open; flock is a valid in/out pointer for the call.
        if unsafe { sys::glfs_posix_lock(self.raw(), libc::F_GETLK, &mut flock) } != 0 {
            return Err(last_errno());
        }
        Ok(flock.l_type)
    }

    /// `glfs_fsetxattr` of `name` to `value`.
    pub(super) fn set_xattr(&self, name: &CStr, value: &[u8]) -> Result<(), i32> {
        let (ptr, len) = (value.as_ptr().cast(), value.len());
        // SAFETY: the fd is open; name is NUL-terminated and value valid for len bytes,
        // both for the call's duration.
        if unsafe { sys::glfs_fsetxattr(self.raw(), name.as_ptr(), ptr, len, 0) } != 0 {
            return Err(last_errno());
        }
        Ok(())
    }

    /// Closes the fd and says whether the close failed (a dropped `Fd` cannot).
    pub(super) fn close(self) -> Result<(), i32> {
        let fd = ManuallyDrop::new(self);
        // SAFETY: the fd is open and, with Drop skipped, closed exactly once, here.
        if unsafe { sys::glfs_close(fd.raw()) } != 0 {
            return Err(last_errno());
        }
        Ok(())
    }
}

/// A `flock` of `l_type` over the whole file: l_start 0 and l_len 0 reach from the first
/// byte to the end, however far the file grows.
fn whole_file(l_type: libc::c_short) -> libc::flock {
    // SAFETY: flock is plain old data; all-zero is a valid value.
    let mut flock: libc::flock = unsafe { std::mem::zeroed() };
    flock.l_type = l_type;
    flock.l_whence = libc::SEEK_SET as libc::c_short;
    flock
}

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: the fd is open, its volume still there (the maker's promise), and its
        // owner lets go of it: nothing uses it after this (a request in flight holds its
        // GlfsFile, which holds this fd).
        unsafe { sys::glfs_close(self.raw()) };
    }
}
