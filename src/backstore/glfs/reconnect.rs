//! The background job that brings a glfs LUN back after its connection failed.

use crate::glfs::{ConnectOptions, ConnectionPool, GlfsFile, Mailbox, Volume, VolumeKey};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

/// The shortest wait after a failed attempt (a move to a new connection starts with
/// none).
const FIRST_RETRY: Duration = Duration::from_millis(500);

/// A reconnect in progress; the LUN polls [`Reconnect::take`].
#[derive(Debug, Default)]
pub struct Reconnect {
    ready: Mutex<Option<Arc<GlfsFile>>>,
}

impl Reconnect {
    /// Starts the job: after `delay`, get a connection that replaces `stale` (or the
    /// one another LUN already made) and reopen the image (marked for the HA lock's
    /// enforcement when `lun.3` says so); on failure wait twice as
    /// long (at least 0.5 s, at most 30 s) and try again. The job ends when
    /// it succeeds or when the LUN drops the returned handle. `wake` is poked when the
    /// file is ready, so the reactor notices without a new command.
    pub fn start(
        lun: (VolumeKey, String, u64, bool),
        stale: Weak<Volume>,
        opts: ConnectOptions,
        delay: Duration,
        wake: Weak<Mailbox>,
    ) -> std::io::Result<Arc<Self>> {
        let job = Arc::new(Reconnect::default());
        let weak = Arc::downgrade(&job);
        std::thread::Builder::new()
            .name(format!("glfs-reconnect-{}", lun.0.volume))
            .spawn(move || run(lun, stale, opts, delay, weak, wake))?;
        Ok(job)
    }

    /// The reopened file, once.
    pub fn take(&self) -> Option<Arc<GlfsFile>> {
        self.ready
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

fn run(
    (key, path, size, image_lock): (VolumeKey, String, u64, bool),
    mut stale: Weak<Volume>,
    opts: ConnectOptions,
    mut delay: Duration,
    job: Weak<Reconnect>,
    wake: Weak<Mailbox>,
) {
    let mut failures = 0u32;
    loop {
        std::thread::sleep(delay);
        if job.strong_count() == 0 {
            return; // the LUN went away
        }
        let attempt = ConnectionPool::global()
            .replace(&key, &stale, &opts)
            .map_err(super::GlfsOpenError::from)
            .and_then(|vol| {
                stale = Arc::downgrade(&vol);
                super::open_image(&key, &path, size, vol, image_lock)
            });
        match attempt {
            Ok(file) => {
                if let Some(job) = job.upgrade() {
                    *job.ready.lock().unwrap_or_else(PoisonError::into_inner) = Some(file);
                }
                if let Some(mailbox) = wake.upgrade() {
                    mailbox.wake();
                }
                return;
            }
            Err(e) => {
                // The first failure says why (a LUN still moving serves on its old
                // connection meanwhile, with nothing else to show); the rest repeat it.
                failures += 1;
                if failures == 1 {
                    let why = crate::error_text::admin_message(&e);
                    tracing::warn!(volume = %key.volume, %path, "cannot open the image on a new connection yet ({why}); retrying with back-off");
                } else {
                    let why = crate::error_text::admin_message(&e);
                    tracing::debug!(volume = %key.volume, %path, failures, "reconnect failed: {why}");
                }
                delay = (delay * 2).clamp(FIRST_RETRY, Duration::from_secs(30));
            }
        }
    }
}
