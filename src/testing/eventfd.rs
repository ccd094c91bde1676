//! The UIO interrupt, replaced by eventfds: one the kernel rings when it publishes
//! commands (`uio_event_notify`), one the handler rings when it publishes completions
//! (its `write()` to `/dev/uioN`, which runs `tcmu_irqcontrol`).

#![forbid(unsafe_code)]

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use rustix::event::{EventfdFlags, PollFd, PollFlags, Timespec, eventfd, poll};
use rustix::io::Errno;

/// A counting eventfd, non-blocking so a drain never hangs.
#[derive(Debug)]
pub(crate) struct EventFd {
    fd: OwnedFd,
}

impl EventFd {
    pub(crate) fn new() -> io::Result<Self> {
        let fd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        Ok(Self { fd })
    }

    /// Adds one to the counter. An eventfd write fails only when the counter is already at
    /// its maximum, and then the fd is readable anyway: the wakeup is not lost, so the
    /// error carries no information and is dropped.
    pub(crate) fn ring(&self) {
        let _ = rustix::io::write(&self.fd, &1u64.to_ne_bytes());
    }

    /// Reads and clears the counter; 0 if nobody rang.
    pub(crate) fn take(&self) -> io::Result<u64> {
        let mut buf = [0u8; 8];
        match rustix::io::read(&self.fd, &mut buf) {
            Ok(_) => Ok(u64::from_ne_bytes(buf)),
            Err(Errno::AGAIN) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    /// Waits up to `timeout` for a ring, then clears the counter. Returns the count, 0 on
    /// timeout.
    pub(crate) fn wait(&self, timeout: Duration) -> io::Result<u64> {
        let ts = Timespec::try_from(timeout).map_err(|_| io::Error::other("timeout too long"))?;
        let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
        loop {
            match poll(&mut fds, Some(&ts)) {
                Ok(_) => return self.take(),
                Err(Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// A second descriptor for the other side.
    pub(crate) fn dup(&self) -> io::Result<OwnedFd> {
        self.fd.as_fd().try_clone_to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_rings_and_times_out_when_silent() {
        let bell = EventFd::new().unwrap();
        assert_eq!(bell.wait(Duration::from_millis(1)).unwrap(), 0);
        bell.ring();
        let other = bell.dup().unwrap();
        rustix::io::write(&other, &2u64.to_ne_bytes()).unwrap();
        assert_eq!(bell.wait(Duration::from_secs(1)).unwrap(), 3);
        assert_eq!(bell.take().unwrap(), 0);
    }
}
