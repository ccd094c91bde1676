//! Where finished asynchronous requests wait for the reactor: gfapi's callback threads
//! post a [`Done`] record for each (see `callback`), and the reactor takes them all at
//! once when the mailbox's eventfd says there are some.

#![forbid(unsafe_code)]

use super::file::GlfsFile;
use super::wakeup::Wakeup;
use crate::region::DataBuf;
use std::io;
use std::os::fd::BorrowedFd;
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
    /// Shared only with the volfile feeds that wake this mailbox (which hold it weakly).
    wakeup: Arc<Wakeup>,
}

impl Mailbox {
    /// An empty mailbox with a non-blocking eventfd.
    pub fn new() -> io::Result<Arc<Self>> {
        Ok(Arc::new(Self {
            done: Mutex::new(Vec::new()),
            posted: AtomicBool::new(false),
            wakeup: Arc::new(Wakeup::new()?),
        }))
    }

    /// Readable while finished requests wait.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.wakeup.fd()
    }

    /// The eventfd, for a volume to wake after a volfile change
    /// ([`Volume::wake_on_change`](super::Volume::wake_on_change)).
    pub fn wakeup(&self) -> &Arc<Wakeup> {
        &self.wakeup
    }

    /// Moves every finished request into `out`. The eventfd is reset before the vector
    /// is taken, so a request posted in between is either taken now or, finding the
    /// vector empty, makes the fd readable again (at worst one spurious wake-up, never a
    /// lost one).
    pub fn take(&self, out: &mut Vec<Done>) {
        self.wakeup.clear();
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
        self.wakeup.wake();
    }

    /// Queues a finished request; only the first one since the reactor last took the
    /// queue writes the eventfd. A later one finds the queue non-empty, which means the
    /// fd is still readable or the reactor is inside [`Mailbox::take`] and has not locked
    /// the queue yet (it resets the fd before it locks), so it will take this one too.
    /// That saves gfapi's event thread a syscall per completion under load.
    pub(super) fn post(&self, done: Done) {
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
