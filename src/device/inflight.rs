//! Commands waiting for their backstore request, indexed by the request's tag.

#![forbid(unsafe_code)]

use super::job::{Compare, CopyJob};
use super::order::Guard;
use crate::ring::Command;
use crate::slab::Slab;

/// What a pending command was waiting for, so its completion can be answered right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waiting {
    /// Data-in of `len` bytes.
    Read { len: u64 },
    /// Data-out, discard, zeroing or flush: no data comes back.
    NoData,
    /// Several backstore requests under one tag (UNMAP, WRITE SAME): the command is
    /// answered when the last finishes, with the first error if any.
    Parts {
        remaining: u32,
        error: Option<crate::backstore::BackstoreError>,
        /// Flush once every part succeeded, before GOOD (WRITE SAME with FUA, whose
        /// zeroing or discard has no FUA of its own).
        then_flush: bool,
    },
    /// VERIFY or COMPARE AND WRITE reading the medium chunk by chunk to compare it.
    Compare(Compare),
    /// EXTENDED COPY reading and writing step by step.
    Copy(Box<CopyJob>),
}

/// A command and what it waits for.
#[derive(Debug)]
pub struct PendingCommand {
    pub cmd: Command,
    pub waiting: Waiting,
    /// When the command was read from the ring (for the latency histogram).
    pub started: std::time::Instant,
    /// The blocks it writes, for ordering against COMPARE AND WRITE.
    pub guard: Option<Guard>,
}

impl PendingCommand {
    /// A command read from the ring at `started` that waits for `waiting`.
    pub fn new(
        cmd: Command,
        waiting: Waiting,
        guard: Option<Guard>,
        started: std::time::Instant,
    ) -> Self {
        Self {
            cmd,
            waiting,
            started,
            guard,
        }
    }
}

/// The pending commands, under the tag their backstore requests carry
/// ([`crate::slab::Slab`]), plus a count of exclusive guards so that a write checks for a
/// conflicting COMPARE AND WRITE without a scan when there is none.
#[derive(Debug, Default)]
pub struct InFlight {
    pending: Slab<PendingCommand>,
    /// How many pending commands hold an exclusive guard (fast path: usually 0).
    exclusive: usize,
}

fn is_exclusive(p: &PendingCommand) -> bool {
    p.guard.is_some_and(|g| g.exclusive)
}

impl InFlight {
    /// Stores `pending` and returns its tag.
    pub fn insert(&mut self, pending: PendingCommand) -> u64 {
        self.exclusive += usize::from(is_exclusive(&pending));
        self.pending.insert(pending)
    }

    /// Takes the command stored under `tag`; `None` for an unknown or reused tag.
    pub fn take(&mut self, tag: u64) -> Option<PendingCommand> {
        let pending = self.pending.remove(tag)?;
        self.exclusive -= usize::from(is_exclusive(&pending));
        Some(pending)
    }

    /// The command stored under `tag`, left in place (its guard must not change there:
    /// the exclusive count follows insert and take).
    pub fn get_mut(&mut self, tag: u64) -> Option<&mut PendingCommand> {
        self.pending.get_mut(tag)
    }

    /// Whether a command guarded by `guard` must wait for one in flight.
    pub fn conflicts(&self, guard: &Guard) -> bool {
        if !guard.exclusive && self.exclusive == 0 {
            return false;
        }
        self.pending
            .values()
            .filter_map(|p| p.guard.as_ref())
            .any(|g| g.conflicts(guard))
    }

    /// Number of pending commands.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn now() -> Instant {
        Instant::now()
    }

    #[test]
    fn tags_are_reused_and_stale_tags_miss() {
        let mut t = InFlight::default();
        let cmd = crate::ring::tests_support::command(1);
        let a = t.insert(PendingCommand::new(cmd, Waiting::NoData, None, now()));
        assert_eq!(t.len(), 1);
        assert!(t.take(a).is_some());
        assert!(t.take(a).is_none(), "a tag completes once");
        assert!(t.take(999).is_none());
        let b = t.insert(PendingCommand::new(
            crate::ring::tests_support::command(2),
            Waiting::NoData,
            None,
            now(),
        ));
        assert_eq!(a, b);
        assert!(!t.is_empty());
    }

    #[test]
    fn conflicts_follow_exclusive_guards_in_flight() {
        let mut t = InFlight::default();
        let write = Guard {
            start: 0,
            end: 8,
            exclusive: false,
        };
        let caw = Guard {
            start: 4,
            end: 5,
            exclusive: true,
        };
        let w = t.insert(PendingCommand::new(
            crate::ring::tests_support::command(1),
            Waiting::NoData,
            Some(write),
            now(),
        ));
        assert!(!t.conflicts(&write), "writes do not wait for writes");
        assert!(t.conflicts(&caw), "a CAW waits for an overlapping write");
        t.take(w);
        let c = t.insert(PendingCommand::new(
            crate::ring::tests_support::command(2),
            Waiting::NoData,
            Some(caw),
            now(),
        ));
        assert!(t.conflicts(&write), "a write waits for an overlapping CAW");
        t.take(c);
        assert!(!t.conflicts(&write) && !t.conflicts(&caw));
    }
}
