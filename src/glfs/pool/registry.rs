//! One connection per (volume, servers), shared by every LUN that uses it.
//!
//! The pool holds `Weak` references: a connection lives as long as some open file
//! (or in-flight request) holds it, and is finished when the last one lets go. Each key
//! has its own lock, so a slow connect to one volume does not hold up LUNs on others,
//! while two LUNs opening on the same volume at once still share one connection. A
//! connect that outlasts its caller's deadline goes on in the background and the next
//! caller for that key waits on it ([`Attempt`]) rather than starting another.

use super::attempt::Attempt;
use super::{ConnectOptions, GlfsError};
use crate::cfgstring::glfs::GlfsConfig;
use crate::glfs::gfapi::{StartOptions, Volume, VolumeSpec};
use crate::glfs::glusterd::{GLUSTERD_PORT, Server, Watch, server_list};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

/// What identifies a shareable connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VolumeKey {
    pub volume: String,
    pub servers: Vec<Server>,
}

impl From<&GlfsConfig> for VolumeKey {
    fn from(cfg: &GlfsConfig) -> Self {
        Self {
            volume: cfg.volume.clone(),
            servers: cfg
                .servers
                .iter()
                .map(|h| Server {
                    host: h.to_string(),
                    port: GLUSTERD_PORT,
                })
                .collect(),
        }
    }
}

/// How long a connect may run before a new caller stops waiting on it and starts
/// another. gfapi ends an attempt when its server closes the connection (a hung
/// glusterd killed, a host rebooted); one still running after this is presumed stuck
/// for good, and costs one more parked thread per period, not one per retry.
const STUCK_AFTER: Duration = Duration::from_secs(300);

/// How long a connection that came in after its caller gave up is kept for the next
/// one (a reconnecting LUN retries within 30 s plus a deadline).
const UNCLAIMED_FOR: Duration = Duration::from_secs(90);

/// How long a slot remembers that a connect failed, for [`ConnectionPool::get_unless_failed`].
const FAILURE_MEMORY: Duration = Duration::from_secs(300);

/// One key's connection, the watch it was built from, the attempt to make one, and
/// when the last attempt failed.
#[derive(Debug, Default)]
struct SlotState {
    current: Weak<Volume>,
    /// Kept alive by the connections built from it; a new one reuses it while it lives.
    watch: Weak<Watch>,
    attempt: Option<Attempt<Fed>>,
    failed_at: Option<Instant>,
}

impl SlotState {
    /// Connects, sharing an attempt a caller before us gave up on (see [`Attempt`]).
    fn connect(
        &mut self,
        key: &VolumeKey,
        opts: &ConnectOptions,
    ) -> Result<Arc<Volume>, GlfsError> {
        let attempt = match self.attempt.take() {
            Some(a) if a.worth_waiting_for(STUCK_AFTER, UNCLAIMED_FOR) => a,
            _ => {
                let (volume, servers, o) = (key.volume.clone(), key.servers.clone(), opts.clone());
                let watch = self.watch.upgrade();
                Attempt::start(&format!("glfs-init-{}", key.volume), move || {
                    connect_fed(&volume, &servers, &o, watch)
                })?
            }
        };
        match attempt.wait(opts.deadline) {
            Some(Ok((vol, watch))) => {
                let vol = Arc::new(vol);
                self.current = Arc::downgrade(&vol);
                self.watch = Arc::downgrade(&watch);
                self.failed_at = None;
                Ok(vol)
            }
            Some(Err(e)) => {
                self.failed_at = Some(Instant::now());
                Err(e)
            }
            None => {
                self.attempt = Some(attempt);
                self.failed_at = Some(Instant::now());
                Err(GlfsError::InitTimeout {
                    volume: key.volume.clone(),
                    servers: server_list(&key.servers),
                    deadline: opts.deadline,
                })
            }
        }
    }

    /// The current connection, unless it is gone or built from an old volfile.
    fn live(&self) -> Option<Arc<Volume>> {
        self.current.upgrade().filter(|v| !v.is_stale())
    }

    /// Whether the slot still holds anything worth keeping in the table.
    fn in_use(&self) -> bool {
        self.current.strong_count() > 0
            || self
                .attempt
                .as_ref()
                .is_some_and(|a| a.worth_waiting_for(STUCK_AFTER, UNCLAIMED_FOR))
            || self.failed_at.is_some_and(|t| t.elapsed() < FAILURE_MEMORY)
    }
}

/// A connection and the watch whose volfile it was built from.
type Fed = (Volume, Arc<Watch>);

/// A connection built from `watch`'s volfile, or from a new watch's when there is none
/// (the volfile then comes from glusterd first: each server is tried for a deadline,
/// the last one for as long as an attempt is worth waiting for).
fn connect_fed(
    volume: &str,
    servers: &[Server],
    opts: &ConnectOptions,
    watch: Option<Arc<Watch>>,
) -> Result<Fed, GlfsError> {
    let watch = match watch {
        Some(w) => w,
        None => Watch::start(volume, servers, opts.deadline, STUCK_AFTER)?,
    };
    let (generation, volfile) = watch.current();
    let spec = VolumeSpec {
        volume: volume.to_owned(),
        servers: server_list(servers),
        volfile,
        generation,
        feed: watch.clone(),
    };
    let how = StartOptions {
        log_file: &opts.log_file,
        log_level: opts.log_level,
        bypass_client_io_threads: opts.bypass_client_io_threads,
    };
    let vol = Volume::start(spec, &how)?;
    Ok((vol, watch))
}

type Slot = Arc<Mutex<SlotState>>;

/// The process-wide table of live connections.
#[derive(Debug, Default)]
pub struct ConnectionPool {
    slots: Mutex<HashMap<VolumeKey, Slot>>,
}

impl ConnectionPool {
    /// The pool every backstore uses.
    pub fn global() -> &'static ConnectionPool {
        static GLOBAL: OnceLock<ConnectionPool> = OnceLock::new();
        GLOBAL.get_or_init(ConnectionPool::default)
    }

    fn slot(&self, key: &VolumeKey) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.retain(|_, s| Arc::strong_count(s) > 1 || slot_in_use(s));
        slots.entry(key.clone()).or_default().clone()
    }

    fn lock(slot: &Slot) -> MutexGuard<'_, SlotState> {
        slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The live connection for `key`, or a new one.
    pub fn get(&self, key: &VolumeKey, opts: &ConnectOptions) -> Result<Arc<Volume>, GlfsError> {
        let slot = self.slot(key);
        let mut state = Self::lock(&slot);
        if let Some(vol) = state.live() {
            return Ok(vol);
        }
        state.connect(key, opts)
    }

    /// Like [`ConnectionPool::get`], except that when a connect to `key` failed or timed out
    /// less than one deadline ago, it fails at once instead of waiting again.
    ///
    /// For LUNs taken over after a restart: they fall back to reconnecting in the
    /// background, so when one LUN has just waited out a silent server, the others on
    /// that volume start serving BUSY now instead of each waiting a deadline in turn.
    pub fn get_unless_failed(
        &self,
        key: &VolumeKey,
        opts: &ConnectOptions,
    ) -> Result<Arc<Volume>, GlfsError> {
        let slot = self.slot(key);
        let mut state = Self::lock(&slot);
        if let Some(vol) = state.live() {
            return Ok(vol);
        }
        if let Some(ago) = state.failed_at.map(|t| t.elapsed()) {
            if ago < opts.deadline {
                return Err(GlfsError::RecentFailure {
                    volume: key.volume.clone(),
                    servers: server_list(&key.servers),
                    ago,
                });
            }
        }
        state.connect(key, opts)
    }

    /// A connection to replace `stale` (one that lost its servers, or was built from a
    /// volfile since changed): a new one, unless another LUN has already replaced it,
    /// in which case that one is shared.
    pub fn replace(
        &self,
        key: &VolumeKey,
        stale: &Weak<Volume>,
        opts: &ConnectOptions,
    ) -> Result<Arc<Volume>, GlfsError> {
        let slot = self.slot(key);
        let mut state = Self::lock(&slot);
        if !Weak::ptr_eq(&state.current, stale) {
            if let Some(vol) = state.live() {
                return Ok(vol);
            }
        }
        state.connect(key, opts)
    }

    /// The volfile generation the current connection for `key` was built from (as its
    /// volume's watch counts them); `None` when there is no connection, or only a stale
    /// one.
    pub fn generation(&self, key: &VolumeKey) -> Option<u64> {
        let slot = self.slot(key);
        let state = Self::lock(&slot);
        state.live().map(|v| v.generation())
    }

    /// How many holders the current connection for `key` has (open files and requests
    /// in flight); 0 when there is none.
    pub fn users(&self, key: &VolumeKey) -> usize {
        let slot = self.slot(key);
        let state = Self::lock(&slot);
        state.current.strong_count()
    }
}

/// Whether an unreferenced slot is kept (one being used is locked: kept by its count).
fn slot_in_use(slot: &Slot) -> bool {
    slot.try_lock().is_ok_and(|s| s.in_use())
}
