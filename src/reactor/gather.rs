//! Gathering the completions that io_uring's worker threads post one at a time.
//!
//! A file in memory (tmpfs) takes no non-blocking I/O, so io_uring hands each of its
//! reads and writes to a worker thread. The workers finish a batch a few microseconds
//! apart, and each completion wakes the reactor on its own: one turn, one doorbell to the
//! kernel and one wake-up of the initiator per command instead of per batch. When a
//! wake-up brings some of those completions while others of the same kind are still with
//! the workers, waiting a moment for the rest answers them together. Only requests the
//! backstore marked ([`crate::uring::Submission::gathered`]) count: a request a device
//! completes by interrupt may take a disk's time, and a large one keeps a worker busy
//! long enough that the wait costs more than the wake-ups it saves.

/// The reactor's marked requests in flight, and the rule for when to wait for them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Gathering {
    in_flight: usize,
}

impl Gathering {
    /// A marked request went to the kernel.
    pub fn submitted(&mut self) {
        self.in_flight += 1;
    }

    /// A marked request's completion was handled.
    pub fn completed(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Marked requests in flight.
    #[cfg(test)]
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// True when no marked request is in flight: nothing to gather, and no completion
    /// needs looking at (the common case of a reactor without files in memory).
    pub fn is_idle(&self) -> bool {
        self.in_flight == 0
    }

    /// After a wake-up that brought `arrived` completions of marked requests (not yet
    /// handled): how many more to wait for, if any. None when none arrived (the wake-up
    /// is for something else, such as new commands, which should not wait) or none is
    /// left with the workers.
    pub fn wait_for(&self, arrived: usize) -> Option<usize> {
        if arrived == 0 {
            return None;
        }
        let left = self.in_flight.saturating_sub(arrived);
        (left > 0).then_some(left)
    }
}

#[cfg(test)]
mod tests {
    use super::Gathering;

    fn with(n: usize) -> Gathering {
        let mut g = Gathering::default();
        (0..n).for_each(|_| g.submitted());
        g
    }

    #[test]
    fn waits_for_the_rest_of_a_batch() {
        assert_eq!(with(32).wait_for(1), Some(31));
        assert_eq!(with(32).wait_for(30), Some(2));
    }

    #[test]
    fn does_not_wait_when_nothing_marked_arrived() {
        assert_eq!(with(32).wait_for(0), None);
        assert_eq!(with(0).wait_for(0), None);
    }

    #[test]
    fn does_not_wait_when_the_batch_is_complete() {
        assert_eq!(with(1).wait_for(1), None);
        assert_eq!(with(4).wait_for(4), None);
        // Never more arrives than was counted in; if it did, there is nothing to wait for.
        assert_eq!(with(2).wait_for(5), None);
    }

    #[test]
    fn completions_count_off() {
        let mut g = with(3);
        g.completed();
        assert_eq!(g.in_flight(), 2);
        assert_eq!(g.wait_for(1), Some(1));
        g.completed();
        g.completed();
        g.completed();
        assert_eq!(g.in_flight(), 0);
        assert!(g.is_idle());
        assert!(!with(1).is_idle());
    }
}
