//! Where the controller reaches the Gluster volumes: the export commands (blocking, over
//! gfapi) run on tokio's blocking threads, over stores kept open for the life of the
//! process (a connection per volume, shared by every call).

use crate::core::{MetaStore, Observer, Ops, OpsError, StoreError, StoreOpener, VolumeAddr, Waits};
use crate::status;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tonic::Status;

/// The export commands' side of the driver.
#[derive(Debug, Clone)]
pub struct Backend {
    opener: Arc<KeepOpen>,
    waits: Waits,
    /// The volumes the driver is meant for: what Probe checks, and GetCapacity reports
    /// when it is given no parameters.
    volumes: Arc<Vec<VolumeAddr>>,
}

impl Backend {
    /// Commands over the stores `opener` opens, waiting for the gateways as `waits` says.
    pub fn new(opener: Box<dyn StoreOpener>, waits: Waits, volumes: Vec<VolumeAddr>) -> Self {
        Backend {
            opener: Arc::new(KeepOpen::new(opener)),
            waits,
            volumes: Arc::new(volumes),
        }
    }

    /// The volumes the driver was told of.
    pub fn volumes(&self) -> &[VolumeAddr] {
        &self.volumes
    }

    /// Runs `f` with the export commands on a blocking thread.
    pub async fn ops<T, F>(&self, f: F) -> Result<T, Status>
    where
        T: Send + 'static,
        F: FnOnce(&Ops<'_>) -> Result<T, Status> + Send + 'static,
    {
        let opener = self.opener.clone();
        let waits = self.waits;
        tokio::task::spawn_blocking(move || {
            let ops = Ops::new(&*opener, &[], &Log).with_waits(waits);
            f(&ops)
        })
        .await
        .map_err(status::lost)?
    }

    /// Bytes free on `volume`.
    pub async fn free_bytes(&self, volume: VolumeAddr) -> Result<u64, Status> {
        let opener = self.opener.clone();
        tokio::task::spawn_blocking(move || {
            let on = |e| status::of(OpsError::store(&volume)(e));
            opener
                .open(&volume)
                .and_then(|s| s.free_bytes())
                .map_err(on)
        })
        .await
        .map_err(status::lost)?
    }
}

/// Progress of the commands, into the driver's log.
#[derive(Debug)]
struct Log;

impl Observer for Log {
    fn progress(&self, line: &str) {
        tracing::info!("{line}");
    }
    fn changed(&self, location: &crate::core::ExportLocation) {
        tracing::debug!("changed {location}");
    }
}

/// An opener that holds the newest store of each volume, so a volume's gfapi connection
/// lives from its first use to the end of the process instead of being made and finished
/// for each call (the connection registry shares a live connection; holding it is what
/// keeps it live). A connection finished while Gluster's shard translator still removes a
/// deleted image's shards can crash glusterfs 10.3, as the export commands note: a store
/// replaced here holds the same connection as its successor, unless the registry made a
/// new one (a volume whose volfile changed).
#[derive(Debug)]
struct KeepOpen {
    inner: Box<dyn StoreOpener>,
    open: Mutex<HashMap<VolumeAddr, Arc<dyn MetaStore>>>,
}

impl KeepOpen {
    fn new(inner: Box<dyn StoreOpener>) -> Self {
        KeepOpen {
            inner,
            open: Mutex::default(),
        }
    }
}

impl StoreOpener for KeepOpen {
    fn open(&self, volume: &VolumeAddr) -> Result<Arc<dyn MetaStore>, StoreError> {
        // Not under the map's lock: a connect may take the whole deadline, and calls on
        // other volumes should not wait for it.
        let store = self.inner.open(volume)?;
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.insert(volume.clone(), store.clone());
        Ok(store)
    }
}
