//! What follows a volume's volfile, one per volume and servers.
//!
//! The watch asks glusterd for the volume's client volfile ([`getspec`](super::getspec))
//! when it starts, keeps that connection open, and asks again whenever glusterd sends
//! its change notice down it (glusterd notices every client connection when a volume's
//! volfiles change: an admin's `gluster volume set`, a brick added or replaced). A new
//! volfile starts a new generation; gfapi connections built from an older one are stale,
//! and their LUNs move to a new one. When the connection fails (glusterd restarted, its
//! host gone: TCP keepalive), the watch reconnects to the first server that answers and
//! fetches again, once a [`POLL`] until one does.
//!
//! It does not poll: every fetch is an INFO line in glusterd's log ("Received mount
//! request").

use super::getspec::{Client, GetspecError, connect_and_fetch};
use super::{Server, server_list};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

/// How often the watch's thread looks up from waiting for a notice (to end once the
/// watch is dropped), and how often it tries to reconnect while no server answers. A
/// LUN keeps serving on its connection meanwhile, which is still a working graph of
/// the volume.
pub const POLL: Duration = Duration::from_secs(1);

/// How long the volfile must stay the same after a change before the idle LUNs are woken
/// to move ([`Watch::wake_on_change`]): a script's `gluster volume set` calls come a
/// second or so apart, and each move leaves memory behind in gfapi (docs/DECISIONS.md,
/// "Gluster connections"), so a burst of changes costs an idle LUN one move, not one per
/// change. A LUN with commands moves on its next one, as soon as the volfile changed.
const SETTLE: Duration = Duration::from_secs(2);

/// How long one fetch waits for a glusterd (connect or answer) before it tries the next
/// server; the LUNs keep serving meanwhile.
const FETCH_DEADLINE: Duration = Duration::from_secs(5);

/// What a watch wakes once a change has settled (a LUN's mailbox, wired in by the pool).
pub trait Subscriber: Send + Sync {
    /// The volfile changed: a newer generation is there to move to.
    fn volfile_changed(&self);
}

/// No volfile server handed out the volume's volfile.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("cannot get the volfile of volume `{volume}` from {servers}")]
pub struct VolfileError {
    pub volume: String,
    /// The servers tried, as a list.
    pub servers: String,
    /// The failure that says most: glusterd's own answer over an unreachable server.
    #[source]
    pub source: GetspecError,
}

impl VolfileError {
    /// The errno a LUN's open reports for it.
    pub fn errno(&self) -> i32 {
        self.source.errno()
    }
}

/// A volume's latest volfile and how many times it changed.
pub struct Watch {
    volume: String,
    servers: Vec<Server>,
    volfile: Mutex<Vec<u8>>,
    generation: AtomicU64,
    /// The LUNs served on connections from this watch: a change wakes them, so an idle
    /// LUN moves too (see [`Watch::wake_on_change`]).
    subscribers: Mutex<Vec<Weak<dyn Subscriber>>>,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("volume", &self.volume)
            .field("generation", &self.generation())
            .finish_non_exhaustive()
    }
}

impl Watch {
    /// Fetches the volume's volfile from the first of `servers` that hands it out, then
    /// follows it on a thread of its own. Each server but the last gets `deadline`; the
    /// last one gets `patience`, since there is none left to try (a glusterd that is
    /// slow, not dead, answers in the end). Without the thread the watch still serves
    /// its first volfile; LUNs then keep their connection until they reconnect for
    /// another reason.
    pub fn start(
        volume: &str,
        servers: &[Server],
        deadline: Duration,
        patience: Duration,
    ) -> Result<Arc<Watch>, VolfileError> {
        let (client, volfile) = first_volfile(volume, servers, deadline, patience)?;
        let watch = Arc::new(Watch {
            volume: volume.to_owned(),
            servers: servers.to_vec(),
            volfile: Mutex::new(volfile),
            generation: AtomicU64::new(0),
            subscribers: Mutex::new(Vec::new()),
        });
        let weak = Arc::downgrade(&watch);
        let name = format!("glfs-watch-{volume}");
        if let Err(e) = std::thread::Builder::new()
            .name(name)
            .spawn(move || follow(&weak, Some(client)))
        {
            tracing::warn!(volume, "volfile changes not followed, no thread: {e}");
        }
        Ok(watch)
    }

    /// The current generation and its volfile.
    pub fn current(&self) -> (u64, Vec<u8>) {
        let volfile = self.volfile.lock().unwrap_or_else(PoisonError::into_inner);
        (self.generation(), volfile.clone())
    }

    /// How many times the volfile changed since the watch started.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The volume followed.
    pub fn volume(&self) -> &str {
        &self.volume
    }

    /// Its volfile servers, in the order they are tried.
    pub fn servers(&self) -> &[Server] {
        &self.servers
    }

    /// Wakes `subscriber` after every change from now on (once the volfile has stayed
    /// the same for `SETTLE`), for as long as it lives: a LUN moves off a stale
    /// connection when its reactor next drains its mailbox, and without the wake-up an
    /// idle LUN would keep its old connection (a gfapi graph, its threads and brick
    /// connections) until a command came. Once per subscriber.
    pub fn wake_on_change(&self, subscriber: Weak<dyn Subscriber>) {
        let mut subscribers = self
            .subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        subscribers.retain(|m| m.strong_count() > 0);
        if !subscribers.iter().any(|m| m.ptr_eq(&subscriber)) {
            subscribers.push(subscriber);
        }
    }

    /// Takes `latest`; a new volfile starts a new generation. True if it did.
    fn update(&self, latest: Vec<u8>) -> bool {
        let mut volfile = self.volfile.lock().unwrap_or_else(PoisonError::into_inner);
        if !changed(&volfile, &latest) {
            return false;
        }
        *volfile = latest;
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        tracing::info!(
            volume = %self.volume,
            "volfile changed (generation {generation}); LUNs move to a new connection"
        );
        true
    }

    /// Wakes every LUN that asked to be ([`Watch::wake_on_change`]) and is still there.
    fn wake_subscribers(&self) {
        let mut subscribers = self
            .subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        subscribers.retain(|m| match m.upgrade() {
            Some(subscriber) => {
                subscriber.volfile_changed();
                true
            }
            None => false,
        });
    }
}

/// The volfile from the first server that hands it out, and the connection it came over.
/// When none does, the error that says most: glusterd's own answer (no such volume, a
/// refusal) over a server that could not be reached.
fn first_volfile(
    volume: &str,
    servers: &[Server],
    deadline: Duration,
    patience: Duration,
) -> Result<(Client, Vec<u8>), VolfileError> {
    let mut failures = Vec::new();
    for (i, server) in servers.iter().enumerate() {
        let wait = if i + 1 == servers.len() {
            patience
        } else {
            deadline
        };
        match connect_and_fetch(server, volume, wait) {
            Ok(got) => return Ok(got),
            Err(e) => failures.push(e),
        }
    }
    let telling = failures
        .iter()
        .position(|e| {
            matches!(
                e,
                GetspecError::NoSuchVolume { .. } | GetspecError::Refused { .. }
            )
        })
        .or(failures.len().checked_sub(1));
    let source = match telling {
        Some(i) => failures.swap_remove(i),
        None => GetspecError::Unreachable {
            server: String::new(),
            reason: "no volfile server given".into(),
        },
    };
    Err(VolfileError {
        volume: volume.to_owned(),
        servers: server_list(servers),
        source,
    })
}

/// The latest volfile, over `client` while it works, else over a new connection to the
/// first server that answers. `None` when no server handed it out; `client` is then
/// `None` too.
fn fetch_latest(watch: &Watch, client: &mut Option<Client>) -> Option<Vec<u8>> {
    if let Some(c) = client.as_mut() {
        match c.fetch(&watch.volume, FETCH_DEADLINE) {
            Ok(v) => return Some(v),
            Err(e) => tracing::debug!(volume = %watch.volume, "volfile fetch: {e}"),
        }
    }
    match first_volfile(
        &watch.volume,
        &watch.servers,
        FETCH_DEADLINE,
        FETCH_DEADLINE,
    ) {
        Ok((c, v)) => {
            *client = Some(c);
            Some(v)
        }
        Err(e) => {
            *client = None;
            let why = crate::error_text::admin_message(&e);
            tracing::debug!(volume = %watch.volume, "volfile fetch: {why}");
            None
        }
    }
}

/// Whether `latest` replaces `held` (an empty one never does; getspec refuses an empty
/// answer before it gets here, this keeps the rule where generations are counted).
fn changed(held: &[u8], latest: &[u8]) -> bool {
    !latest.is_empty() && held != latest
}

/// Fetches the volfile whenever glusterd sends a notice or the connection had to be
/// made again, until the watch is dropped. A volfile that cannot be had is logged once
/// when that starts and once when it ends; the LUNs keep serving on what they run.
/// Idle LUNs are woken once the volfile has stayed the same for [`SETTLE`].
fn follow(watch: &Weak<Watch>, mut client: Option<Client>) {
    let mut failing = false;
    let mut wake_at: Option<Instant> = None;
    loop {
        let wait = wake_at.map_or(POLL, |t| {
            t.saturating_duration_since(Instant::now()).min(POLL)
        });
        let fetch = match client.as_mut().map(|c| c.wait_notice(wait)) {
            Some(Ok(notice)) => notice,
            Some(Err(e)) => {
                tracing::debug!("volfile connection lost: {e}");
                client = None;
                true
            }
            None => {
                std::thread::sleep(wait);
                true
            }
        };
        let Some(w) = watch.upgrade() else {
            return;
        };
        if wake_at.is_some_and(|t| Instant::now() >= t) {
            wake_at = None;
            w.wake_subscribers();
        }
        if !fetch {
            continue;
        }
        match fetch_latest(&w, &mut client) {
            Some(latest) => {
                if std::mem::take(&mut failing) {
                    tracing::info!(volume = %w.volume, "volfile servers answer again");
                }
                if w.update(latest) {
                    wake_at = Some(Instant::now() + SETTLE);
                }
            }
            None if !failing => {
                failing = true;
                tracing::warn!(
                    volume = %w.volume,
                    servers = %server_list(&w.servers),
                    "no volfile server answers; volume changes are not followed meanwhile"
                );
            }
            None => {}
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
