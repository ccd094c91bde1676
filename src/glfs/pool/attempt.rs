//! A blocking gfapi call that outlives the caller who started it.
//!
//! `glfs_init` cannot be cancelled, and a caller may not wait for it forever, so a
//! connect runs on a helper thread and each caller waits with its own deadline (a
//! resize's `glfs_ftruncate` runs the same way, with one caller: [`grow_within`]). An
//! attempt the caller gave up on keeps running; the pool keeps it, so the next caller
//! for the same volume waits on that same attempt instead of starting another one:
//!
//! * a server slower than the deadline (a loaded glusterd) is still connected in the
//!   end: the second caller picks up the first attempt's late success, where starting
//!   over would time out again, forever;
//! * a mute server holds one parked helper thread per volume, not one per retry.

use super::GlfsError;
use crate::glfs::gfapi::GlfsFile;
use std::io;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How an attempt stands.
#[derive(Debug)]
enum State<T> {
    Running,
    /// Finished at that instant, with a result nobody has taken yet.
    Finished(Instant, Result<T, GlfsError>),
    /// Finished and handed out (or given up on).
    Taken,
}

/// Where the helper thread leaves the result.
#[derive(Debug)]
struct Shared<T> {
    state: Mutex<State<T>>,
    changed: Condvar,
}

/// One connect in progress (or finished, not yet picked up). `T` is the connection
/// (a gfapi `Volume` and the watch it came from), a resize's result, or plain values in
/// the tests.
#[derive(Debug)]
pub(super) struct Attempt<T> {
    shared: Arc<Shared<T>>,
    started: Instant,
}

impl<T: Send + 'static> Attempt<T> {
    /// Runs `connect` on a thread called `name`.
    pub(super) fn start<F>(name: &str, connect: F) -> Result<Self, GlfsError>
    where
        F: FnOnce() -> Result<T, GlfsError> + Send + 'static,
    {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::Running),
            changed: Condvar::new(),
        });
        let theirs = shared.clone();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || finish(&theirs, connect()))
            .map_err(GlfsError::Thread)?;
        Ok(Self {
            shared,
            started: Instant::now(),
        })
    }

    /// Waits at most `deadline` for the result and takes it; `None` while it still runs.
    pub(super) fn wait(&self, deadline: Duration) -> Option<Result<T, GlfsError>> {
        let state = self.lock();
        let (mut state, _) = self
            .shared
            .changed
            .wait_timeout_while(state, deadline, |s| matches!(s, State::Running))
            .unwrap_or_else(PoisonError::into_inner);
        match std::mem::replace(&mut *state, State::Taken) {
            State::Running => {
                *state = State::Running;
                None
            }
            State::Finished(_, result) => Some(result),
            State::Taken => None,
        }
    }

    /// Whether a new caller should wait on this attempt rather than start another: it
    /// still runs (for at most `max_running`: past that it is presumed stuck, and a
    /// fresh attempt is allowed), or it connected within `max_idle` and nobody has
    /// taken the connection yet. A failure is never reused: the next caller tries again.
    pub(super) fn worth_waiting_for(&self, max_running: Duration, max_idle: Duration) -> bool {
        match &*self.lock() {
            State::Running => self.started.elapsed() < max_running,
            State::Finished(at, Ok(_)) => at.elapsed() < max_idle,
            State::Finished(_, Err(_)) | State::Taken => false,
        }
    }
}

impl<T> Attempt<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T> Drop for Attempt<T> {
    /// Nobody will pick the result up: a connection already made is let go now (its
    /// `Volume` finishes itself on a background thread); one still running is let go
    /// by its helper thread when it ends.
    fn drop(&mut self) {
        let mut state = self.lock();
        if let State::Finished(..) = std::mem::replace(&mut *state, State::Taken) {
            tracing::debug!("an unused gfapi connection attempt is dropped");
        }
    }
}

/// The helper thread's end: hand the result over, or drop it if the attempt is gone.
fn finish<T>(shared: &Shared<T>, result: Result<T, GlfsError>) {
    let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
    if matches!(*state, State::Running) {
        *state = State::Finished(Instant::now(), result);
        shared.changed.notify_all();
    }
    // Otherwise `result` drops here: nobody holds the attempt any more.
}

/// Grows `file` to at least `len` bytes, giving up after `deadline` (ETIMEDOUT) so a
/// silent server cannot stall the caller. Never shrinks.
pub fn grow_within(file: &Arc<GlfsFile>, len: u64, deadline: Duration) -> io::Result<()> {
    let file = file.clone();
    let grow = move || match file.len() {
        Ok(have) if have >= len => Ok(()),
        Ok(_) => file.set_len(len),
        Err(e) => Err(e),
    };
    // Dropping the attempt on timeout lets a late result go when it comes.
    let attempt = Attempt::start("glfs-resize", move || Ok(grow())).map_err(io::Error::other)?;
    match attempt.wait(deadline) {
        Some(Ok(r)) => r,
        Some(Err(e)) => Err(io::Error::other(e)),
        None => Err(io::Error::from_raw_os_error(libc::ETIMEDOUT)),
    }
}

#[cfg(test)]
mod tests;
