//! Where a glfs LUN's requests go, and how that changes: the link state machine.
//!
//! ```text
//!   Up ──connection lost──▶ Down ──image reopened──▶ Up
//!   Up ──volfile changed──▶ Moving ──image open on a new connection──▶ Handover
//!   Handover ──old file idle, its last fdatasync returned──▶ Up (on the new file)
//!   Moving ──old connection lost──▶ Down (the move's job delivers the reopened file)
//! ```
//!
//! Down answers every new request BUSY; Moving still serves on the old file; Handover
//! holds new requests until the switch, then sends them to the new file. The reactor
//! never waits: each transition happens when the backstore is next called (a request,
//! a drain after the job's mailbox wake-up). The transitions live on the backstore
//! because a handover needs its in-flight table and sends the requests it held.

use super::reconnect::Reconnect;
use super::{AsyncOp, GlfsBackstore};
use crate::glfs::GlfsFile;
use std::sync::Arc;
use std::time::Duration;

/// Where the LUN's requests go.
#[derive(Debug)]
pub(super) enum Link {
    Up(Arc<GlfsFile>),
    /// Connection lost; the background job delivers a reopened file.
    Down(Arc<Reconnect>),
    /// The volume's volfile changed: requests still go to `file` while the job opens
    /// the image on a connection built from the new one.
    Moving {
        file: Arc<GlfsFile>,
        job: Arc<Reconnect>,
    },
    /// The new file is open. New requests are held (not answered) until the old
    /// file's requests are done and one last `fdatasync` on it returned, so a
    /// SYNCHRONIZE CACHE on the new connection never skips data the old one still
    /// caches; `flushing` says that `fdatasync` is in flight.
    Handover {
        old: Arc<GlfsFile>,
        new: Arc<GlfsFile>,
        flushing: bool,
    },
}

/// The token of the handover's last `fdatasync` (slab tokens are indices, never this).
pub(super) const HANDOVER_FLUSH: u64 = u64::MAX;

impl GlfsBackstore {
    /// The open file while connected (for tests and tools: read back through gfapi).
    #[cfg(any(test, feature = "test-utils"))]
    pub fn file(&self) -> Option<&Arc<GlfsFile>> {
        match &self.link {
            Link::Up(f) | Link::Moving { file: f, .. } | Link::Handover { new: f, .. } => Some(f),
            Link::Down(_) => None,
        }
    }

    /// True while the LUN waits for its connection to come back.
    pub fn is_reconnecting(&mut self) -> bool {
        self.advance();
        matches!(self.link, Link::Down(_))
    }

    /// The file to use, after moving the link on (see [`GlfsBackstore::advance`]).
    pub(super) fn current(&mut self) -> Option<Arc<GlfsFile>> {
        self.advance();
        match &self.link {
            Link::Up(f) | Link::Moving { file: f, .. } => Some(f.clone()),
            Link::Down(_) | Link::Handover { .. } => None,
        }
    }

    /// Picks up a finished reconnect, starts moving off a stale connection, picks up
    /// the file a move opened, and starts the handover's flush once the old file is
    /// idle.
    fn advance(&mut self) {
        match &self.link {
            Link::Down(job) => {
                if let Some(file) = job.take() {
                    tracing::info!(volume = %self.key.volume, path = %self.path, "reconnected; serving again");
                    file.volume().wake_on_change(self.mailbox.wakeup());
                    self.link = Link::Up(file);
                }
            }
            Link::Up(file) if file.volume().is_stale() => {
                let file = file.clone();
                self.start_moving(file);
            }
            Link::Moving { file, job } => {
                if let Some(new) = job.take() {
                    let old = file.clone();
                    self.link = Link::Handover {
                        old,
                        new,
                        flushing: false,
                    };
                    self.flush_if_idle();
                }
            }
            Link::Handover { .. } => self.flush_if_idle(),
            Link::Up(_) => {}
        }
    }

    /// The volume changed under `file`: open the image on a new connection in the
    /// background while requests still go to `file`.
    fn start_moving(&mut self, file: Arc<GlfsFile>) {
        let job = Reconnect::start(
            (
                self.key.clone(),
                self.path.clone(),
                self.size,
                self.opts.image_lock,
            ),
            Arc::downgrade(file.volume()),
            self.opts.connect.clone(),
            Duration::ZERO,
            Arc::downgrade(&self.mailbox),
        );
        match job {
            Ok(job) => {
                tracing::info!(
                    volume = %self.key.volume, path = %self.path,
                    "volume changed; opening the image on a new connection"
                );
                self.link = Link::Moving { file, job };
            }
            // Stays Up: the next request tries again.
            Err(e) => tracing::error!("cannot start the thread to move to a new connection: {e}"),
        }
    }

    /// In a handover, once no request of the old file is in flight: its last
    /// `fdatasync` (or, if that cannot be sent, the switch right away).
    fn flush_if_idle(&mut self) {
        let Link::Handover {
            old,
            flushing: flushing @ false,
            ..
        } = &mut self.link
        else {
            return;
        };
        if !self.slab.is_empty() {
            return;
        }
        *flushing = true;
        let old = old.clone();
        if let Err(e) = old.submit(AsyncOp::Fdatasync, HANDOVER_FLUSH, &self.mailbox) {
            self.finish_handover(Err(e.errno));
        }
    }

    /// The handover's flush returned: serve on the new file.
    pub(super) fn finish_handover(&mut self, flushed: Result<u64, i32>) {
        let Link::Handover { new, .. } = &self.link else {
            return;
        };
        if let Err(errno) = flushed {
            tracing::error!(
                volume = %self.key.volume, path = %self.path,
                "the last fdatasync on the old connection failed ({}); writes it acknowledged \
                 from a client-side cache may be lost",
                std::io::Error::from_raw_os_error(errno)
            );
        }
        tracing::info!(
            volume = %self.key.volume, path = %self.path,
            "serving on the new connection ({} requests held meanwhile)", self.held.len()
        );
        let new = new.clone();
        new.volume().wake_on_change(self.mailbox.wakeup());
        self.link = Link::Up(new.clone());
        self.moves += 1;
        for request in std::mem::take(&mut self.held) {
            self.send(&new, request);
        }
    }

    /// The connection `file` belongs to failed with `errno`: go down, unless a newer
    /// connection is already in use.
    pub(super) fn lost(&mut self, file: &Arc<GlfsFile>, errno: i32) {
        let current = match &self.link {
            Link::Up(current) => current,
            // Already opening the image on a new connection: wait for that.
            Link::Moving { file: current, job } => {
                if Arc::ptr_eq(current, file) {
                    self.link = Link::Down(job.clone());
                }
                return;
            }
            // The old file is being left anyway; its flush reports the failure.
            Link::Down(_) | Link::Handover { .. } => return,
        };
        if !Arc::ptr_eq(current, file) {
            return;
        }
        let delay = self
            .opts
            .retry_min
            .saturating_mul(1 << self.outages.min(16))
            .min(self.opts.retry_max);
        self.outages = self.outages.saturating_add(1);
        let stale = Arc::downgrade(file.volume());
        let job = Reconnect::start(
            (
                self.key.clone(),
                self.path.clone(),
                self.size,
                self.opts.image_lock,
            ),
            stale,
            self.opts.connect.clone(),
            delay,
            Arc::downgrade(&self.mailbox),
        );
        match job {
            Ok(job) => {
                tracing::warn!(
                    volume = %self.key.volume, path = %self.path,
                    "connection lost ({}); answering BUSY while reconnecting in {delay:?}",
                    std::io::Error::from_raw_os_error(errno)
                );
                self.link = Link::Down(job);
            }
            Err(e) => tracing::error!("cannot start the reconnect thread: {e}"),
        }
    }
}
