//! One io_uring submission prepared by its owner for a ring that someone else drives.
//!
//! A file backstore served by a reactor does not submit to a ring of its own: it hands
//! prepared submissions to the reactor ([`super::RingTenant::take_submissions`]), which
//! pushes them with its own doorbell polls, submits the lot in the one `io_uring_enter`
//! it makes per turn, and hands each completion back by token
//! ([`super::RingTenant::complete`]). That saves a second ring, its notifier poll and a
//! wake-up per batch.
//!
//! The promise the kernel needs (whatever an entry names stays valid until its
//! completion) is made where an entry is built, by [`Submission::new`], which is `unsafe`
//! for that reason; pushing a `Submission` ([`super::Uring::push_prepared`]) then relies
//! on it.

#![allow(unsafe_code)]

use io_uring::squeue;

/// One prepared submission and its owner's token for it.
pub struct Submission {
    entry: squeue::Entry,
    token: u64,
    gather: bool,
}

impl std::fmt::Debug for Submission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Submission")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl Submission {
    /// Wraps `entry`, whose completion is to be handed back under `token`.
    ///
    /// # Safety
    /// Every piece of memory `entry` names (iovec arrays and the buffers they point at)
    /// must stay valid, and must not be touched by Rust code in a way that conflicts with
    /// the operation, until the completion for `token` has been handed back to the
    /// owner that built the entry, or for ever if it never is (an owner dropped with
    /// such work outstanding must leak that memory rather than free it).
    pub unsafe fn new(entry: squeue::Entry, token: u64) -> Self {
        Self {
            entry,
            token,
            gather: false,
        }
    }

    /// Marks the request as one whose completion is worth waiting a moment for (the
    /// reactor's `gather` window): a small read or write that io_uring
    /// will hand to one of its worker threads, so that its completion, and those of its
    /// neighbours, each arrive alone from another thread.
    pub fn gathered(mut self, gather: bool) -> Self {
        self.gather = gather;
        self
    }

    /// See [`Submission::gathered`].
    pub fn gather(&self) -> bool {
        self.gather
    }

    /// The owner's token for this submission.
    pub fn token(&self) -> u64 {
        self.token
    }

    /// The entry, tagged with `user_data` for whoever submits it.
    pub(super) fn into_entry(self, user_data: u64) -> squeue::Entry {
        self.entry.user_data(user_data)
    }
}
