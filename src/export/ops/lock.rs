//! One command at a time changes an export's record: a lock file on the volume,
//! `/gluster-tcmu/tmp/NAME.lock`, taken with the exclusive publish (so of two machines only
//! one holds it) and removed when the change is made.
//!
//! Two reasons. A record is replaced by reading it, checking it is still what the command
//! saw, and renaming a new one over it: under the lock that is a compare-and-swap, and a
//! change by another command is never lost. And Gluster's shard translator (10.3) does
//! not survive two clients replacing or removing one file at the same moment: both
//! create the same marker in `.shard/.remove_me`, which can end in a gfid split-brain and
//! a rename that never returns (seen with two racing creates on gt3).
//!
//! A lock whose holder died is taken over: at once when the holder was a process of this
//! host that is gone (a killed command run again), after [`STALE_AFTER`] otherwise.

use super::{Found, Ops, OpsError};
use crate::export::layout;
use crate::export::report::unix_now;
use crate::export::store::{MetaStore, StoreError};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// A lock older than this is taken over: its holder changes a record in milliseconds, so
/// it died, or lost the volume.
pub const STALE_AFTER: Duration = Duration::from_secs(60);
/// How often a waiting command looks at the lock again.
const RETRY: Duration = Duration::from_millis(50);

/// Who holds a lock (the file's content).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Holder {
    host: String,
    pid: u32,
    /// Unix seconds.
    taken: u64,
}

impl Holder {
    fn me() -> Holder {
        Holder {
            host: host_name(),
            pid: std::process::id(),
            taken: unix_now(),
        }
    }

    /// The holder is gone: a process of this host that no longer runs, or a lock too old.
    fn is_gone(&self, now: u64) -> bool {
        let dead_here = self.host == host_name()
            && !std::path::Path::new(&format!("/proc/{}", self.pid)).exists();
        dead_here || now.saturating_sub(self.taken) > STALE_AFTER.as_secs()
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "process {} on {}", self.pid, self.host)
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into())
}

/// A held lock; dropping it releases it.
pub(crate) struct Held<'a> {
    store: &'a dyn MetaStore,
    path: String,
}

impl Held<'_> {
    /// Says again that the holder is alive (a new time taken), so that a command that
    /// holds the lock longer than [`STALE_AFTER`] (the copy of a clone) keeps it.
    pub(crate) fn refresh(&self) -> Result<(), StoreError> {
        let me = serde_json::to_vec(&Holder::me()).unwrap_or_default();
        self.store.replace(&self.path, &me, layout::RECORD_MODE)
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        // A lock left behind is taken over by the next command (see the module).
        let _ = self.store.remove(&self.path);
    }
}

impl Ops<'_> {
    /// Takes the lock of the export at `found`, waiting for another command to let go
    /// (at most the lock wait).
    pub(crate) fn lock<'f>(&self, found: &'f Found) -> Result<Held<'f>, OpsError> {
        let store = &*found.store;
        let path = layout::lock(&found.location.name);
        let err = OpsError::store(&found.location.volume);
        let start = Instant::now();
        loop {
            let me = serde_json::to_vec(&Holder::me()).unwrap_or_default();
            match store.publish(&path, &me, layout::RECORD_MODE) {
                Ok(()) => return Ok(Held { store, path }),
                Err(StoreError::Exists { .. }) => {}
                Err(e) => return Err(err(e)),
            }
            let Some(holder) = read_holder(store, &path).map_err(&err)? else {
                continue; // released meanwhile
            };
            if holder.is_gone(unix_now()) {
                self.observer
                    .progress(&format!("taking over the lock {holder} left on {path}"));
                store.remove(&path).map_err(&err)?;
            } else if start.elapsed() >= self.waits.lock {
                return Err(OpsError::Locked {
                    name: found.location.name.to_string(),
                    holder: holder.to_string(),
                    path,
                });
            } else {
                std::thread::sleep(RETRY);
            }
        }
    }
}

/// The holder named in the lock file; `None` when there is none. A file that does not
/// say who holds it (it is written whole, so only a hand could make one) counts as a
/// holder long gone.
fn read_holder(store: &dyn MetaStore, path: &str) -> Result<Option<Holder>, StoreError> {
    let Some(bytes) = store.read(path)? else {
        return Ok(None);
    };
    Ok(Some(serde_json::from_slice(&bytes).unwrap_or(Holder {
        host: "unknown".into(),
        pid: 0,
        taken: 0,
    })))
}

#[cfg(test)]
pub(super) fn holder_json(host: &str, pid: u32, taken: u64) -> Vec<u8> {
    let holder = Holder {
        host: host.into(),
        pid,
        taken,
    };
    serde_json::to_vec(&holder).unwrap_or_default()
}
