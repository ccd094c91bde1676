//! The connection that follows a volume's volfile, one per volume and servers.
//!
//! gfapi fetches the volfile from glusterd and, when an admin changes the volume
//! (`gluster volume set`, a brick added or replaced), fetches the new one and builds a
//! new graph. Files are never opened on this connection (see [`Volume::from_watch`]
//! for why): it only keeps the latest volfile, and a thread compares it once a
//! [`POLL`] and counts a new generation when it changed. Connections built from an
//! older generation report [`Volume::is_stale`], and their LUNs move to a new one.

use super::volume::Volume;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

/// How often the volfile is compared. A LUN keeps serving on its old connection in
/// the meantime, which is still a working graph of the volume.
pub const POLL: Duration = Duration::from_secs(1);

/// A volfile-following connection and the volfile it last had.
pub struct Watch {
    conn: Volume,
    volfile: Mutex<Vec<u8>>,
    generation: AtomicU64,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("volume", &self.conn.name())
            .field("generation", &self.generation())
            .finish_non_exhaustive()
    }
}

impl Watch {
    /// Starts following `conn` (a connection made with a volfile server). Without a
    /// thread to poll, the watch still serves its first volfile; LUNs then keep their
    /// connection until they reconnect for another reason.
    pub(super) fn start(conn: Volume) -> Arc<Watch> {
        let volfile = conn.volfile().unwrap_or_default();
        let watch = Arc::new(Watch {
            conn,
            volfile: Mutex::new(volfile),
            generation: AtomicU64::new(0),
        });
        let weak = Arc::downgrade(&watch);
        let name = format!("glfs-watch-{}", watch.conn.name());
        if let Err(e) = std::thread::Builder::new()
            .name(name)
            .spawn(move || follow(&weak))
        {
            tracing::warn!(volume = %watch.conn.name(), "volfile changes not followed, no thread: {e}");
        }
        watch
    }

    /// The current generation and its volfile.
    pub(super) fn current(&self) -> (u64, Vec<u8>) {
        let volfile = self.volfile.lock().unwrap_or_else(PoisonError::into_inner);
        (self.generation(), volfile.clone())
    }

    /// How many times the volfile changed since the watch started.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The volfile-following connection (its name and servers name the volume).
    pub(super) fn connection(&self) -> &Volume {
        &self.conn
    }

    /// Takes gfapi's latest volfile; a new one starts a new generation.
    fn refresh(&self) {
        let Some(latest) = self.conn.volfile() else {
            return;
        };
        let mut volfile = self.volfile.lock().unwrap_or_else(PoisonError::into_inner);
        if changed(&volfile, &latest) {
            *volfile = latest;
            let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
            tracing::info!(
                volume = %self.conn.name(),
                "volfile changed (generation {generation}); LUNs move to a new connection"
            );
        }
    }
}

/// Whether `latest` replaces `held` (an empty one never does: gfapi had none).
fn changed(held: &[u8], latest: &[u8]) -> bool {
    !latest.is_empty() && held != latest
}

/// Polls until the watch is dropped.
fn follow(watch: &Weak<Watch>) {
    loop {
        std::thread::sleep(POLL);
        match watch.upgrade() {
            Some(w) => w.refresh(),
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::changed;

    #[test]
    fn only_a_different_nonempty_volfile_is_a_change() {
        assert!(!changed(b"a", b"a"));
        assert!(changed(b"a", b"b"));
        assert!(changed(b"", b"b"));
        assert!(!changed(b"a", b""));
    }
}
