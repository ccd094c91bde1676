//! The wiring between the other two rooms: a volume's watch (glusterd client) is the
//! volfile feed of the gfapi connections built from it, and a LUN's mailbox (gfapi) is
//! what the watch wakes after a change. Neither room knows the other; only the pool
//! knows both.

use crate::glfs::gfapi::{Mailbox, VolfileFeed};
use crate::glfs::glusterd::{Subscriber, Watch};
use std::sync::{Arc, Weak};

impl VolfileFeed for Watch {
    fn generation(&self) -> u64 {
        Watch::generation(self)
    }

    fn wake_on_change(&self, mailbox: &Arc<Mailbox>) {
        let weak: Weak<dyn Subscriber> = Arc::downgrade(mailbox) as Weak<Mailbox>;
        Watch::wake_on_change(self, weak);
    }
}

impl Subscriber for Mailbox {
    fn volfile_changed(&self) {
        self.wake();
    }
}
