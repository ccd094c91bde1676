//! Reactor threads: one io_uring each, driving many devices.
//!
//! A reactor waits in one `io_uring_enter` for every device's doorbell, every
//! asynchronous backstore's notifier, its file backstores' reads and writes (submitted on
//! this same ring) and its own control eventfd. Per wake-up it drains each signalled ring
//! completely, queues the resulting backstore requests, answers what finished, publishes
//! `cmd_tail` and rings each touched device's doorbell once; the next `io_uring_enter`
//! submits the whole turn's I/O and waits. Devices are added and removed while it runs,
//! through a channel. The ring itself, and all of its `unsafe`, is [`crate::uring`]'s;
//! a file backstore's requests reach it through the backstore's
//! [`crate::uring::RingTenant`] capability ([`Device::ring_tenant`]).

#![forbid(unsafe_code)]

mod event_loop;
mod gather;
mod slot;
mod tag;

use event_loop::EventLoop;

use crate::device::{Device, DeviceStats};
use crate::uring::Uring;
use std::io;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::sync::mpsc::{self, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

/// Submission queue entries of a reactor's ring (polls, and file backstores' I/O).
const SUBMISSIONS: u32 = 1024;
/// Completion queue entries: room for many devices' I/O at once; beyond it the kernel
/// keeps completions on its overflow list (IORING_FEAT_NODROP), none is lost.
const COMPLETIONS: u32 = 8192;

/// A device's handle inside one reactor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceId(u32);

/// The reactor thread is gone or refused the request.
#[derive(Debug, thiserror::Error)]
pub enum ReactorError {
    #[error("reactor thread has stopped")]
    Stopped,
    #[error("no device {0:?} in this reactor")]
    NoSuchDevice(DeviceId),
    #[error("reactor I/O failed")]
    Io(#[from] io::Error),
}

enum Control {
    Add(Box<Device>, Sender<DeviceId>),
    Remove(DeviceId, Sender<Option<Box<Device>>>),
    Stats(DeviceId, Sender<Option<DeviceStats>>),
    Run(DeviceId, DeviceJob),
    Shutdown,
}

/// Work to do on a device inside its reactor thread (resize, reconfigure).
type DeviceJob = Box<dyn FnOnce(Option<&mut Device>) + Send>;

/// How a reactor waits for work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReactorOptions {
    /// After a turn that did work, keep looking for more (new commands in any device's
    /// ring, posted completions) for this long before sleeping in the kernel. It saves
    /// the wake-up of the reactor thread on each command of a latency-bound stream
    /// (queue depth 1), at the price of a busy core while I/O flows. It does not spin
    /// while file I/O it submitted runs in io_uring's worker threads: on a small machine
    /// that would take their core. Zero (the default) never spins: the thread sleeps as
    /// soon as it has nothing to do.
    pub busy_poll: Duration,
    /// After a wake-up that brought completions of small reads and writes that io_uring
    /// ran in its worker threads (files in memory: see
    /// [`crate::backstore::FILE_GATHER_MAX`]) while others of them are still there, wait
    /// up to this long for the rest, so that a batch is answered with one doorbell
    /// instead of one per command. Zero never waits. Needs Linux 5.11 (a timeout on
    /// `io_uring_enter`); on an older kernel the reactor logs it and does not wait.
    pub gather: Duration,
}

/// A running reactor thread.
#[derive(Debug)]
pub struct Reactor {
    control: Sender<Control>,
    wake: Arc<OwnedFd>,
    thread: Option<JoinHandle<()>>,
}

impl Reactor {
    /// Starts a reactor thread named `name` that sleeps whenever it is idle.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn spawn(name: &str) -> Result<Self, ReactorError> {
        Self::spawn_with(name, ReactorOptions::default())
    }

    /// Starts a reactor thread named `name` with `options`.
    pub fn spawn_with(name: &str, options: ReactorOptions) -> Result<Self, ReactorError> {
        let wake = Arc::new(
            rustix::event::eventfd(
                0,
                rustix::event::EventfdFlags::CLOEXEC | rustix::event::EventfdFlags::NONBLOCK,
            )
            .map_err(io::Error::from)?,
        );
        let uring = Uring::new(SUBMISSIONS, COMPLETIONS)?;
        let mut options = options;
        if !options.gather.is_zero() && !uring.waits_with_timeout() {
            tracing::warn!(
                "this kernel's io_uring takes no wait timeout (Linux 5.11): reactor {name} will not gather completions"
            );
            options.gather = Duration::ZERO;
        }
        let (tx, rx) = mpsc::channel();
        let loop_wake = wake.clone();
        let thread = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || EventLoop::new(uring, rx, loop_wake, options).run())?;
        Ok(Self {
            control: tx,
            wake,
            thread: Some(thread),
        })
    }

    fn send(&self, msg: Control) -> Result<(), ReactorError> {
        self.control.send(msg).map_err(|_| ReactorError::Stopped)?;
        rustix::io::write(&*self.wake, &1u64.to_ne_bytes()).map_err(io::Error::from)?;
        Ok(())
    }

    /// Starts serving `device`.
    pub fn add(&self, device: Device) -> Result<DeviceId, ReactorError> {
        let (tx, rx) = mpsc::channel();
        self.send(Control::Add(Box::new(device), tx))?;
        rx.recv().map_err(|_| ReactorError::Stopped)
    }

    /// Stops serving a device and hands it back once nothing in flight refers to its
    /// memory or fds. Commands still in the ring stay unanswered (the kernel fails
    /// them when it removes the device, or a restarted daemon resets the ring).
    pub fn remove(&self, id: DeviceId) -> Result<Device, ReactorError> {
        let (tx, rx) = mpsc::channel();
        self.send(Control::Remove(id, tx))?;
        match rx.recv().map_err(|_| ReactorError::Stopped)? {
            Some(device) => Ok(*device),
            None => Err(ReactorError::NoSuchDevice(id)),
        }
    }

    /// A device's counters.
    pub fn stats(&self, id: DeviceId) -> Result<DeviceStats, ReactorError> {
        let (tx, rx) = mpsc::channel();
        self.send(Control::Stats(id, tx))?;
        rx.recv()
            .map_err(|_| ReactorError::Stopped)?
            .ok_or(ReactorError::NoSuchDevice(id))
    }
}

impl Reactor {
    /// Runs `job` on the device inside the reactor thread, between batches, and returns
    /// its result; `None` reaches the job when the device is gone.
    pub fn with_device<R: Send + 'static>(
        &self,
        id: DeviceId,
        job: impl FnOnce(Option<&mut Device>) -> R + Send + 'static,
    ) -> Result<R, ReactorError> {
        let (tx, rx) = mpsc::channel();
        let job: DeviceJob = Box::new(move |d| {
            let _ = tx.send(job(d));
        });
        self.send(Control::Run(id, job))?;
        rx.recv().map_err(|_| ReactorError::Stopped)
    }
}

impl Drop for Reactor {
    fn drop(&mut self) {
        let _ = self.send(Control::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
