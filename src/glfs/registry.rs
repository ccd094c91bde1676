//! One connection per (volume, servers), shared by every LUN that uses it.
//!
//! The registry holds `Weak` references: a connection lives as long as some open file
//! (or in-flight request) holds it, and is finished when the last one lets go. Each key
//! has its own lock, so a slow connect to one volume does not hold up LUNs on others,
//! while two LUNs opening on the same volume at once still share one connection.

use super::volume::{ConnectOptions, Server, Volume};
use super::{GLUSTERD_PORT, GlfsError};
use crate::handler::glfs::GlfsConfig;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};

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

type Slot = Arc<Mutex<Weak<Volume>>>;

/// The process-wide table of live connections.
#[derive(Debug, Default)]
pub struct Registry {
    slots: Mutex<HashMap<VolumeKey, Slot>>,
}

impl Registry {
    /// The registry every backstore uses.
    pub fn global() -> &'static Registry {
        static GLOBAL: OnceLock<Registry> = OnceLock::new();
        GLOBAL.get_or_init(Registry::default)
    }

    fn slot(&self, key: &VolumeKey) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.retain(|_, s| Arc::strong_count(s) > 1 || s_alive(s));
        slots.entry(key.clone()).or_default().clone()
    }

    /// The live connection for `key`, or a new one.
    pub fn get(&self, key: &VolumeKey, opts: &ConnectOptions) -> Result<Arc<Volume>, GlfsError> {
        let slot = self.slot(key);
        let mut current = slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(vol) = current.upgrade() {
            return Ok(vol);
        }
        let vol = Arc::new(Volume::connect(&key.volume, &key.servers, opts)?);
        *current = Arc::downgrade(&vol);
        Ok(vol)
    }

    /// A connection to replace `stale` (one that lost its servers): a new one, unless
    /// another LUN has already replaced it, in which case that one is shared.
    pub fn replace(
        &self,
        key: &VolumeKey,
        stale: &Weak<Volume>,
        opts: &ConnectOptions,
    ) -> Result<Arc<Volume>, GlfsError> {
        let slot = self.slot(key);
        let mut current = slot.lock().unwrap_or_else(PoisonError::into_inner);
        if !Weak::ptr_eq(&current, stale) {
            if let Some(vol) = current.upgrade() {
                return Ok(vol);
            }
        }
        let vol = Arc::new(Volume::connect(&key.volume, &key.servers, opts)?);
        *current = Arc::downgrade(&vol);
        Ok(vol)
    }

    /// How many holders the current connection for `key` has (open files and requests
    /// in flight); 0 when there is none.
    pub fn users(&self, key: &VolumeKey) -> usize {
        let slot = self.slot(key);
        let current = slot.lock().unwrap_or_else(PoisonError::into_inner);
        current.strong_count()
    }
}

fn s_alive(slot: &Slot) -> bool {
    slot.try_lock().is_ok_and(|w| w.strong_count() > 0)
}
