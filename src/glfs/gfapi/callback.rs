//! The hand-off from gfapi's callback threads to the reactor.
//!
//! Each submitted request travels as a heap [`Ctx`] whose pointer is gfapi's `data`
//! argument. gfapi calls [`on_done`] exactly once for every call that returned 0 (and
//! never for one that returned -1), on one of its own threads or inline inside the
//! submitting call. `on_done` takes the box back, moves the result, the buffer and the
//! file reference into a [`Done`] record, pushes it onto the [`Mailbox`]'s vector under
//! a short mutex and, if the vector was empty, writes the mailbox's eventfd, which is the
//! backstore's notifier.
//! It never blocks on anything else and catches any panic. The submitting side holds
//! no lock across the gfapi call, so an inline callback cannot deadlock with it.

use super::file::GlfsFile;
use super::sys;
use crate::region::DataBuf;
use rustix::event::{EventfdFlags, eventfd};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// An asynchronous request on a [`GlfsFile`]. Buffers are owned by the request until
/// its [`Done`] record is taken from the mailbox.
#[derive(Debug)]
pub enum AsyncOp {
    /// `glfs_preadv_async` into `buf`'s region segments.
    Read { offset: u64, buf: DataBuf },
    /// `glfs_pwritev_async` from `buf`'s region segments. `durable` passes `O_DSYNC`
    /// as the write's own flag: write-behind then winds it through at once, and every
    /// brick's posix layer writes and fsyncs before it answers (`posix_writev`), so the
    /// callback means the data is on stable storage on each replica, in one round trip.
    Write {
        offset: u64,
        buf: DataBuf,
        durable: bool,
    },
    /// `glfs_fdatasync_async`.
    Fdatasync,
    /// `glfs_discard_async`.
    Discard { offset: u64, len: u64 },
    /// `glfs_zerofill_async`.
    Zerofill { offset: u64, len: u64 },
}

/// A request gfapi refused at submission (it will not call back): the errno, and the
/// request handed back.
#[derive(Debug)]
pub struct SubmitError {
    pub errno: i32,
    pub op: AsyncOp,
}

/// A finished request.
#[derive(Debug)]
pub struct Done {
    /// The caller's token from [`GlfsFile::submit`].
    pub token: u64,
    /// Bytes moved, or the errno.
    pub result: Result<u64, i32>,
    /// The request, with its buffer (released when this record is dropped).
    pub op: AsyncOp,
    /// The file the request ran on (kept open until the request finished).
    pub file: Arc<GlfsFile>,
}

/// Completed requests waiting for the reactor, and the eventfd that says so.
#[derive(Debug)]
pub struct Mailbox {
    done: Mutex<Vec<Done>>,
    /// Set after a request is queued, cleared when the queue is taken: lets a polling
    /// reactor look without the lock (a stale `true` costs one empty take).
    posted: AtomicBool,
    event: OwnedFd,
}

impl Mailbox {
    /// An empty mailbox with a non-blocking eventfd.
    pub fn new() -> io::Result<Arc<Self>> {
        let event = eventfd(0, EventfdFlags::NONBLOCK | EventfdFlags::CLOEXEC)?;
        Ok(Arc::new(Self {
            done: Mutex::new(Vec::new()),
            posted: AtomicBool::new(false),
            event,
        }))
    }

    /// Readable while finished requests wait.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.event.as_fd()
    }

    /// Moves every finished request into `out`. The eventfd is reset before the vector
    /// is taken, so a request posted in between is either taken now or, finding the
    /// vector empty, makes the fd readable again (at worst one spurious wake-up, never a
    /// lost one).
    pub fn take(&self, out: &mut Vec<Done>) {
        let _ = rustix::io::read(&self.event, &mut [0u8; 8]);
        self.posted.store(false, Ordering::Relaxed);
        let mut done = self.done.lock().unwrap_or_else(PoisonError::into_inner);
        out.append(&mut done);
    }

    /// True when a request may be waiting (no lock, no syscall). A request queued while
    /// [`Mailbox::take`] runs is either taken by it or leaves this true.
    pub fn has_posted(&self) -> bool {
        self.posted.load(Ordering::Acquire)
    }

    /// Finished requests waiting to be taken.
    pub fn waiting(&self) -> usize {
        self.done
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Makes the fd readable (work was queued outside gfapi).
    pub fn wake(&self) {
        // EAGAIN only when the counter is about to overflow: the fd is readable anyway.
        let _ = rustix::io::write(&self.event, &1u64.to_ne_bytes());
    }

    /// Queues a finished request; only the first one since the reactor last took the
    /// queue writes the eventfd. A later one finds the queue non-empty, which means the
    /// fd is still readable or the reactor is inside [`Mailbox::take`] and has not locked
    /// the queue yet (it resets the fd before it locks), so it will take this one too.
    /// That saves gfapi's event thread a syscall per completion under load.
    fn post(&self, done: Done) {
        let first = {
            let mut queue = self.done.lock().unwrap_or_else(PoisonError::into_inner);
            queue.push(done);
            queue.len() == 1
        };
        self.posted.store(true, Ordering::Release);
        if first {
            self.wake();
        }
    }
}

/// What gfapi's `data` pointer refers to while a request is in flight.
pub(super) struct Ctx {
    pub mailbox: Arc<Mailbox>,
    pub token: u64,
    /// For reads and writes: pointers into `op`'s buffer, which this box keeps alive.
    pub iovecs: Vec<libc::iovec>,
    pub op: AsyncOp,
    pub file: Arc<GlfsFile>,
}

impl Ctx {
    fn finish(self, ret: isize, errno: i32) {
        let result = if ret < 0 { Err(errno) } else { Ok(ret as u64) };
        let Ctx {
            mailbox,
            token,
            op,
            file,
            ..
        } = self;
        mailbox.post(Done {
            token,
            result,
            op,
            file,
        });
    }
}

/// gfapi's completion callback (GFAPI_6.0 `glfs_io_cbk`).
pub(super) unsafe extern "C" fn on_done(
    _fd: *mut sys::glfs_fd_t,
    ret: libc::ssize_t,
    _prestat: *mut sys::glfs_stat,
    _poststat: *mut sys::glfs_stat,
    data: *mut libc::c_void,
) {
    // gfapi sets errno right before calling back; read it before anything can clobber it.
    let errno = if ret < 0 {
        super::error::last_errno()
    } else {
        0
    };
    let ctx = data.cast::<Ctx>();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: `data` is the Box<Ctx> leaked by GlfsFile::submit for a call that
        // returned 0; gfapi calls back exactly once for it (glfs_io_async_cbk), so the
        // box is reclaimed exactly once, here.
        let ctx = unsafe { Box::from_raw(ctx) };
        ctx.finish(ret, errno);
    }));
    if outcome.is_err() {
        // Nothing may unwind into C. The request is lost; the LUN's in-flight count
        // keeps it visible, and the next reconnect or device removal reports it.
        tracing::error!("panic in the gfapi completion callback");
    }
}
