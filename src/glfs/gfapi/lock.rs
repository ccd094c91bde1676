//! The image lock that fences a gateway (docs/HA.md): a mandatory whole-file write lock
//! on an image whose bricks enforce mandatory locks.
//!
//! What the bricks do with it (the locks translator, `features.enforce-mandatory-lock`
//! on and `locks.mandatory-locking` not off): once [`GlfsFile::enforce_mandatory_locks`]
//! has marked the file, a write, discard or truncate from an owner that holds no lock
//! over the range fails (EBUSY or EAGAIN) instead of waiting, and a new mandatory lock
//! request from another owner preempts the one held: it is granted at once and the
//! previous holder's next write fails. The owner is the connection (each gfapi
//! connection is its own client on every brick) with gfapi's empty lock owner, so
//! every fd of one connection is the same owner, and closing any of them on this
//! image (a flush) drops the lock.
//!
//! Every call blocks on the bricks: the HA control thread makes them, never a reactor.

#![forbid(unsafe_code)]

use super::file::GlfsFile;
use std::io;

/// Who, besides this connection, holds a lock on the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockHolder {
    /// Nobody else (this connection may hold it, or nobody does).
    NoOther,
    /// Another owner holds a lock that conflicts with a whole-file write lock.
    Other,
}

impl GlfsFile {
    /// Marks the image so its bricks enforce mandatory locks on it (see the module
    /// docs). Idempotent. EINVAL: the volume is not configured for it.
    pub fn enforce_mandatory_locks(&self) -> io::Result<()> {
        self.fd()
            .set_xattr(super::fd::ENFORCE_XATTR, b"set")
            .map_err(io::Error::from_raw_os_error)
    }

    /// Takes the whole-image mandatory write lock without waiting (F_SETLK). On an
    /// enforced image this preempts any other holder.
    pub fn take_image_lock(&self) -> io::Result<()> {
        self.set_whole(libc::F_WRLCK)
    }

    /// Lets go of the whole-image mandatory lock.
    pub fn release_image_lock(&self) -> io::Result<()> {
        self.set_whole(libc::F_UNLCK)
    }

    /// Asks the bricks whether another owner holds a conflicting lock (F_GETLK).
    pub fn image_lock_holder(&self) -> io::Result<LockHolder> {
        match self.fd().conflicting_lock(libc::F_WRLCK as libc::c_short) {
            Ok(t) if t == libc::F_UNLCK as libc::c_short => Ok(LockHolder::NoOther),
            Ok(_) => Ok(LockHolder::Other),
            Err(errno) => Err(io::Error::from_raw_os_error(errno)),
        }
    }

    fn set_whole(&self, l_type: libc::c_int) -> io::Result<()> {
        self.fd()
            .set_mandatory_lock(l_type as libc::c_short)
            .map_err(io::Error::from_raw_os_error)
    }
}

impl crate::ha::ImageLock for GlfsFile {
    /// Enforces mandatory locks on the image first (idempotent, and what makes the lock
    /// a fence), so a LUN that became HA after its open is fenced like one opened so.
    fn take(&self) -> io::Result<()> {
        self.enforce_mandatory_locks().map_err(|e| {
            if e.raw_os_error() == Some(libc::EINVAL) {
                let why = "the volume does not enforce mandatory locks (it needs \
                           locks.mandatory-locking optimal and features.enforce-mandatory-lock on)";
                io::Error::new(e.kind(), why)
            } else {
                e
            }
        })?;
        self.take_image_lock()
    }

    fn release(&self) -> io::Result<()> {
        self.release_image_lock()
    }

    fn taken_by_another(&self) -> io::Result<bool> {
        Ok(self.image_lock_holder()? == LockHolder::Other)
    }
}
