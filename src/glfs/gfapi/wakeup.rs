//! The eventfd that makes a reactor look at a LUN's mailbox.

#![forbid(unsafe_code)]

use rustix::event::{EventfdFlags, eventfd};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// A non-blocking eventfd, readable after a wake-up until it is cleared. A LUN's
/// [`Mailbox`](super::Mailbox) owns one; gfapi's callback threads ring it when a request
/// finishes, and a volume's [`VolfileFeed`](super::VolfileFeed) when the volfile
/// changes, so it sits below both the volume and the mailbox.
#[derive(Debug)]
pub struct Wakeup {
    event: OwnedFd,
}

impl Wakeup {
    pub(super) fn new() -> io::Result<Self> {
        let event = eventfd(0, EventfdFlags::NONBLOCK | EventfdFlags::CLOEXEC)?;
        Ok(Self { event })
    }

    /// Readable after a wake-up, until cleared.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.event.as_fd()
    }

    /// Makes the fd readable.
    pub fn wake(&self) {
        // EAGAIN only when the counter is about to overflow: the fd is readable anyway.
        let _ = rustix::io::write(&self.event, &1u64.to_ne_bytes());
    }

    /// Resets the fd (nothing to read: it was not readable, which is fine).
    pub(super) fn clear(&self) {
        let _ = rustix::io::read(&self.event, &mut [0u8; 8]);
    }
}
