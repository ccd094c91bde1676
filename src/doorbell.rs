//! The notification channel between kernel and handler.
//!
//! On a real device both directions share the UIO fd: it becomes readable when the
//! kernel queued commands (a 4-byte read clears it) and a 4-byte write tells the kernel
//! to reap completions. The fake kernel uses two eventfds instead, one per direction,
//! because an eventfd would read back its own writes.

#![forbid(unsafe_code)]

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// How a device is notified and how it notifies the kernel.
#[derive(Debug)]
pub enum Doorbell {
    /// `/dev/uioN`: read 4 bytes to clear, write 4 bytes to kick.
    Uio(OwnedFd),
    /// Two eventfds (tests, benches): `irq` from the kernel, `kick` to the kernel.
    EventFds { irq: OwnedFd, kick: OwnedFd },
}

impl Doorbell {
    /// The fd that becomes readable when the kernel has queued new entries.
    pub fn wait_fd(&self) -> BorrowedFd<'_> {
        match self {
            Doorbell::Uio(fd) => fd.as_fd(),
            Doorbell::EventFds { irq, .. } => irq.as_fd(),
        }
    }

    /// Clears a pending notification. A spurious wake-up (nothing to clear) is fine.
    pub fn ack(&self) -> io::Result<()> {
        let result = match self {
            Doorbell::Uio(fd) => rustix::io::read(fd, &mut [0u8; 4]),
            Doorbell::EventFds { irq, .. } => rustix::io::read(irq, &mut [0u8; 8]),
        };
        match result {
            Ok(_) | Err(rustix::io::Errno::AGAIN) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Tells the kernel that completions were published. Called once per batch.
    pub fn kick(&self) -> io::Result<()> {
        let result = match self {
            Doorbell::Uio(fd) => rustix::io::write(fd, &0u32.to_ne_bytes()),
            Doorbell::EventFds { kick, .. } => rustix::io::write(kick, &1u64.to_ne_bytes()),
        };
        result.map(drop).map_err(Into::into)
    }
}
