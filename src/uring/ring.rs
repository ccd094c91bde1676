//! The ring a reactor thread drives: readiness polls on doorbells and notifiers, and the
//! prepared submissions of the backstores it serves ([`Submission`]).
//!
//! Pushing an SQE promises the kernel that whatever it names stays valid until its
//! completion arrives. Polls and cancels name only an fd and a tag: the caller keeps the
//! fd open until the completion (the reactor never drops a device while a poll on one of
//! its fds is outstanding). A prepared submission carries its owner's promise
//! ([`Submission::new`]).

#![allow(unsafe_code)]

use super::Submission;
use io_uring::{IoUring, opcode, squeue, types};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// A completion: the `user_data` given at submission, the kernel's result, and whether
/// the request stays armed and will post more (`IORING_CQE_F_MORE`, multishot polls).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cqe {
    pub user_data: u64,
    pub result: i32,
    pub more: bool,
}

/// A thin, safe front over `io_uring::IoUring` for the operations a reactor needs.
pub struct Uring {
    ring: IoUring,
    cooperative: bool,
}

impl std::fmt::Debug for Uring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uring").finish_non_exhaustive()
    }
}

/// An io_uring with room for `entries` submissions and `completions` completions that
/// runs task work cooperatively where the kernel allows (Linux 5.19; see [`Uring::new`]),
/// and whether it does. Completions that need the owning thread's context are posted when
/// that thread next enters the kernel (any syscall); a thread that only peeks the
/// completion queue sees them after its next interrupt at the latest.
pub(super) fn cooperative_ring(entries: u32, completions: u32) -> io::Result<(IoUring, bool)> {
    let cooperative = IoUring::builder()
        .setup_cqsize(completions)
        .setup_coop_taskrun()
        .setup_taskrun_flag()
        .build(entries);
    match cooperative {
        Ok(ring) => Ok((ring, true)),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            let ring = IoUring::builder()
                .setup_cqsize(completions)
                .build(entries)?;
            Ok((ring, false))
        }
        Err(e) => Err(e),
    }
}

impl Uring {
    /// A ring with room for `entries` submissions and `completions` completions (file
    /// backstores' reads and writes share it with the polls).
    ///
    /// Cooperative task running (Linux 5.19): a completion that needs the reactor
    /// thread's own context (a poll firing on a doorbell or notifier) waits for the
    /// thread's next `io_uring_enter` instead of interrupting it with an IPI while it
    /// works in user space. Only the reactor thread submits and waits, and it enters the
    /// kernel at the end of every turn, so nothing waits longer than a turn; with
    /// [`Uring::task_work_pending`] a busy-polling reactor sees when to enter early.
    /// docs/BENCHMARKS.md has what it gains on small requests. An older kernel refuses
    /// the flags; the ring is then made without them.
    pub fn new(entries: u32, completions: u32) -> io::Result<Self> {
        let (ring, cooperative) = cooperative_ring(entries, completions)?;
        Ok(Self { ring, cooperative })
    }

    /// True when the ring runs task work cooperatively (see [`Uring::new`]).
    #[cfg(test)]
    pub fn is_cooperative(&self) -> bool {
        self.cooperative
    }

    /// True when completions wait for this thread to enter the kernel (cooperative task
    /// running): a polling loop should enter it (`submit_and_wait(0, ..)`) to get them.
    pub fn task_work_pending(&mut self) -> bool {
        self.ring.submission().taskrun()
    }

    /// Asks for one completion when `fd` becomes readable.
    ///
    /// The caller must keep `fd` open until the completion tagged `user_data` arrives
    /// (or was cancelled and its completion arrived).
    pub fn poll_readable(&mut self, fd: BorrowedFd<'_>, user_data: u64) -> io::Result<()> {
        let entry = opcode::PollAdd::new(types::Fd(fd.as_raw_fd()), libc::POLLIN as u32)
            .build()
            .user_data(user_data);
        self.push(&entry)
    }

    /// True when a poll can stay armed and post a completion each time its fd signals
    /// ([`Uring::watch_readable`]). Multishot polls came with Linux 5.13; a cooperative
    /// ring (5.19) proves the kernel is newer, so that is the test.
    pub fn polls_multishot(&self) -> bool {
        self.cooperative
    }

    /// Asks for a completion each time `fd` signals readiness (a wake-up on its wait
    /// queue), until the request is cancelled or the kernel ends it: its last completion
    /// comes without [`Cqe::more`]. Nothing needs to read the fd to re-arm it, which
    /// saves a doorbell a read and a re-arm per batch. Needs [`Uring::polls_multishot`].
    ///
    /// The caller must keep `fd` open until that last completion arrives.
    pub fn watch_readable(&mut self, fd: BorrowedFd<'_>, user_data: u64) -> io::Result<()> {
        let entry = opcode::PollAdd::new(types::Fd(fd.as_raw_fd()), libc::POLLIN as u32)
            .multi(true)
            .build()
            .user_data(user_data);
        self.push(&entry)
    }

    /// Cancels the outstanding request tagged `target`; its completion still arrives.
    pub fn cancel(&mut self, target: u64, user_data: u64) -> io::Result<()> {
        let entry = opcode::AsyncCancel::new(target)
            .build()
            .user_data(user_data);
        self.push(&entry)
    }

    /// Queues a prepared submission under `user_data`. On error (the queue stays full
    /// even after submitting) the entry was not queued and the kernel never saw it.
    pub fn push_prepared(&mut self, sqe: Submission, user_data: u64) -> io::Result<()> {
        let entry = sqe.into_entry(user_data);
        if self.ring.submission().is_full() {
            self.ring.submit()?;
        }
        // SAFETY: `Submission::new`'s contract: the owner that built the entry keeps what
        // it names valid until the completion is handed back to it (or leaks it).
        unsafe { self.ring.submission().push(&entry) }
            .map_err(|_| io::Error::other("io_uring submission queue full"))
    }

    fn push(&mut self, entry: &squeue::Entry) -> io::Result<()> {
        if self.ring.submission().is_full() {
            self.ring.submit()?;
        }
        // SAFETY: poll and cancel entries reference no memory, only an fd and a tag;
        // the caller keeps the fd open until the completion (see `poll_readable`).
        unsafe { self.ring.submission().push(entry) }
            .map_err(|_| io::Error::other("io_uring submission queue full"))
    }

    /// Moves the completions already posted into `out`, without entering the kernel.
    pub fn peek(&mut self, out: &mut Vec<Cqe>) {
        out.extend(self.ring.completion().map(|c| Cqe {
            user_data: c.user_data(),
            result: c.result(),
            more: io_uring::cqueue::more(c.flags()),
        }));
    }

    /// True when the kernel takes a timeout on `io_uring_enter` (Linux 5.11), which
    /// [`Uring::wait_for`] needs.
    pub fn waits_with_timeout(&self) -> bool {
        self.ring.params().is_feature_ext_arg()
    }

    /// Submits everything queued and waits up to `timeout` for `min` more completions,
    /// then moves all available completions into `out`. Running out of time is not an
    /// error. Needs [`Uring::waits_with_timeout`].
    pub fn wait_for(
        &mut self,
        min: usize,
        timeout: std::time::Duration,
        out: &mut Vec<Cqe>,
    ) -> io::Result<()> {
        let ts = types::Timespec::from(timeout);
        let args = types::SubmitArgs::new().timespec(&ts);
        let entered = self.ring.submitter().submit_with_args(min, &args);
        self.collect(entered, out)
    }

    /// Submits everything queued and waits for at least `min` completions, then moves
    /// all available completions into `out`.
    pub fn submit_and_wait(&mut self, min: usize, out: &mut Vec<Cqe>) -> io::Result<()> {
        let entered = self.ring.submit_and_wait(min);
        self.collect(entered, out)
    }

    /// After an `io_uring_enter`: moves the posted completions into `out`. A wait cut
    /// short by a signal (EINTR) or by its timeout (ETIME) is not an error: the caller
    /// takes what arrived.
    fn collect(&mut self, entered: io::Result<usize>, out: &mut Vec<Cqe>) -> io::Result<()> {
        match entered {
            Ok(_) => {}
            Err(e) if matches!(e.raw_os_error(), Some(libc::ETIME | libc::EINTR)) => {}
            Err(e) => return Err(e),
        }
        self.peek(out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Uring;

    /// The running kernel's (major, minor) version.
    fn kernel() -> (u32, u32) {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
        let mut parts = release.split(|c: char| !c.is_ascii_digit());
        let mut next = || parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        (next(), next())
    }

    /// From Linux 5.19 on the reactor's ring runs task work cooperatively, and takes a
    /// wait timeout (5.11) for gathering.
    #[test]
    #[cfg_attr(miri, ignore = "io_uring is a syscall miri does not run")]
    fn rings_are_cooperative_where_the_kernel_allows() {
        let ring = Uring::new(8, 16).unwrap();
        assert_eq!(ring.is_cooperative(), kernel() >= (5, 19), "{:?}", kernel());
        assert_eq!(ring.waits_with_timeout(), kernel() >= (5, 11));
    }

    /// A watch fires once per signal on its fd, though nobody reads the fd in between,
    /// and stays armed until cancelled: its last completion comes without `more`.
    #[test]
    #[cfg_attr(miri, ignore = "io_uring is a syscall miri does not run")]
    fn a_watch_fires_for_every_signal_until_cancelled() {
        use std::os::fd::AsFd;
        let mut ring = Uring::new(8, 16).unwrap();
        assert_eq!(ring.polls_multishot(), kernel() >= (5, 19));
        if !ring.polls_multishot() {
            return;
        }
        let fd = rustix::event::eventfd(0, rustix::event::EventfdFlags::NONBLOCK).unwrap();
        ring.watch_readable(fd.as_fd(), 7).unwrap();
        let mut cqes = Vec::new();
        for signal in 1..=3 {
            rustix::io::write(&fd, &1u64.to_ne_bytes()).unwrap();
            ring.submit_and_wait(1, &mut cqes).unwrap();
            assert_eq!(cqes.len(), signal, "one completion per signal: {cqes:?}");
            let last = cqes[signal - 1];
            assert_eq!((last.user_data, last.more), (7, true), "{last:?}");
            assert_ne!(last.result & libc::POLLIN as i32, 0, "{last:?}");
        }
        ring.cancel(7, 8).unwrap();
        ring.submit_and_wait(2, &mut cqes).unwrap();
        let ended = cqes.iter().find(|c| c.user_data == 7 && !c.more);
        assert_eq!(ended.map(|c| c.result), Some(-libc::ECANCELED), "{cqes:?}");
    }

    /// Nothing pending on an idle ring.
    #[test]
    #[cfg_attr(miri, ignore = "io_uring is a syscall miri does not run")]
    fn an_idle_ring_has_no_task_work() {
        let mut ring = Uring::new(8, 16).unwrap();
        assert!(!ring.task_work_pending());
    }
}
