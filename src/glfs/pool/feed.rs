//! The wiring between the other two rooms: a volume's watch (glusterd client) is the
//! volfile feed of the gfapi connections built from it, and a LUN's mailbox (gfapi, its
//! [`Wakeup`]) is what the watch wakes after a change. Neither room knows the other; only the pool
//! knows both.

use crate::glfs::gfapi::{VolfileFeed, Wakeup};
use crate::glfs::glusterd::{Subscriber, Watch};
use std::sync::{Arc, Weak};

impl VolfileFeed for Watch {
    fn generation(&self) -> u64 {
        Watch::generation(self)
    }

    fn wake_on_change(&self, wakeup: &Arc<Wakeup>) {
        let weak: Weak<dyn Subscriber> = Arc::downgrade(wakeup) as Weak<Wakeup>;
        Watch::wake_on_change(self, weak);
    }

    fn volfile(&self) -> Vec<u8> {
        Watch::current(self).1
    }
}

impl Subscriber for Wakeup {
    fn volfile_changed(&self) {
        self.wake();
    }
}
