//! When a connection that removed or replaced a file may be finished (`glfs_fini`).
//!
//! On a sharded volume, gluster 10's shard translator answers an unlink or a rename
//! over an existing file by waking a thread of its own ("shard_unlink") that starts a
//! background removal of the file's shards, then sleeps ten minutes and starts
//! another, for as long as the connection lives. Its start is not a call in flight,
//! so `glfs_fini` does not wait for it: when one starts after `glfs_fini` destroyed
//! the connection's inode table, and before the translator's own teardown stops the
//! thread (about ten seconds later), the removal dereferences the freed table root
//! and the whole process dies with SIGSEGV (seen with gfapi 10.3 in
//! tests/glfs_backstore.rs under load, three runs in eight).
//!
//! So a connection that changed names is finished only where no start falls inside
//! that window: some seconds after its last change (the wake-up has run), and not in
//! the stretch before a ten-minute start. Connections that never changed a name have
//! no such thread and are finished at once.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Time for the translator's thread to run the start an unlink or rename woke it for.
const SETTLE: Duration = Duration::from_secs(5);
/// The translator thread's sleep between two starts.
const PERIOD: Duration = Duration::from_secs(600);
/// How long `glfs_fini` takes from destroying the inode tables to stopping the
/// thread (measured about ten seconds), with margin.
const FINI_SPAN: Duration = Duration::from_secs(30);

/// When the connection last removed or replaced a name (none: never).
#[derive(Debug, Default)]
pub struct NameChanges {
    last: Mutex<Option<Instant>>,
}

impl NameChanges {
    /// Records an unlink or rename made now.
    pub fn record(&self) {
        if let Ok(mut last) = self.last.lock() {
            *last = Some(Instant::now());
        }
    }

    /// How long to wait, from now, before `glfs_fini`.
    pub fn fini_delay(&self) -> Duration {
        let since = self
            .last
            .lock()
            .ok()
            .and_then(|last| last.map(|t| t.elapsed()));
        delay_after(since)
    }
}

/// The wait before `glfs_fini` when the last name change was `since` ago (pure).
fn delay_after(since: Option<Duration>) -> Duration {
    let Some(since) = since else {
        return Duration::ZERO;
    };
    let phase = Duration::from_nanos((since.as_nanos() % PERIOD.as_nanos()) as u64);
    if phase < SETTLE {
        SETTLE - phase
    } else if phase + FINI_SPAN > PERIOD {
        PERIOD - phase + SETTLE
    } else {
        Duration::ZERO
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Option<Duration> {
        Some(Duration::from_secs(s))
    }

    #[test]
    fn a_connection_that_changed_no_name_is_finished_at_once() {
        assert_eq!(delay_after(None), Duration::ZERO);
        assert_eq!(NameChanges::default().fini_delay(), Duration::ZERO);
    }

    #[test]
    fn a_fresh_change_waits_for_the_wakeup_it_caused() {
        assert_eq!(delay_after(secs(0)), SETTLE);
        assert_eq!(delay_after(secs(2)), Duration::from_secs(3));
        assert_eq!(delay_after(secs(5)), Duration::ZERO);
        let changes = NameChanges::default();
        changes.record();
        let wait = changes.fini_delay();
        assert!(wait > Duration::from_secs(4) && wait <= SETTLE, "{wait:?}");
    }

    #[test]
    fn the_stretch_before_a_periodic_start_is_avoided() {
        assert_eq!(delay_after(secs(569)), Duration::ZERO);
        assert_eq!(delay_after(secs(571)), Duration::from_secs(29 + 5));
        assert_eq!(delay_after(secs(599)), Duration::from_secs(1 + 5));
        assert_eq!(delay_after(secs(601)), Duration::from_secs(4));
        assert_eq!(delay_after(secs(1200 + 100)), Duration::ZERO);
        assert_eq!(delay_after(secs(1200 + 590)), Duration::from_secs(15));
    }
}
