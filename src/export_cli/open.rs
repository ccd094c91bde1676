//! Where the commands get their stores: the volumes through gfapi, each connection kept
//! until the process exits.

use crate::export::location::VolumeAddr;
use crate::export::store::{MetaStore, StoreError, StoreOpener};
use crate::settings::Settings;
use std::sync::{Arc, Mutex};

/// An opener that holds every store it opened until it is dropped.
pub(super) struct KeepOpen {
    inner: Box<dyn StoreOpener>,
    opened: Mutex<Vec<Arc<dyn MetaStore>>>,
}

impl std::fmt::Debug for KeepOpen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeepOpen")
            .field("inner", &self.inner)
            .finish()
    }
}

impl KeepOpen {
    pub(super) fn new(inner: Box<dyn StoreOpener>) -> Self {
        KeepOpen {
            inner,
            opened: Mutex::default(),
        }
    }
}

impl StoreOpener for KeepOpen {
    fn open(&self, volume: &VolumeAddr) -> Result<Arc<dyn MetaStore>, StoreError> {
        let store = self.inner.open(volume)?;
        let mut opened = self.opened.lock().unwrap_or_else(|e| e.into_inner());
        opened.push(store.clone());
        Ok(store)
    }
}

/// The volumes a bare export name is looked up in: the settings' `[exports] volumes`
/// (none without an `[exports]` section: commands then ask for `VOLUME@SERVER/NAME`).
pub(super) fn configured_volumes(settings: &Settings) -> Vec<VolumeAddr> {
    settings
        .exports
        .as_ref()
        .map_or_else(Vec::new, |e| e.volumes.clone())
}

#[cfg(feature = "glfs")]
pub(super) fn opener(settings: &Settings) -> Result<Box<dyn StoreOpener>, String> {
    let connect = crate::glfs::ConnectOptions {
        deadline: settings.glfs.connect_timeout,
        log_file: settings.glfs.log_dir.join("gfapi.log"),
        ..crate::glfs::ConnectOptions::default()
    };
    let volumes = crate::export::store::GlfsVolumes::new(connect);
    Ok(Box::new(test_glusterd_port(volumes)))
}

/// Test hook (feature `test-utils`): `GLUSTER_TCMU_TEST_GLUSTERD_PORT=<port>` asks the
/// volfile servers on that port, so tests can name a server where nothing listens (the
/// loopback glusterd listens on every 127.0.0.0/8 address).
#[cfg(all(feature = "glfs", feature = "test-utils"))]
fn test_glusterd_port(
    volumes: crate::export::store::GlfsVolumes,
) -> crate::export::store::GlfsVolumes {
    let port = std::env::var("GLUSTER_TCMU_TEST_GLUSTERD_PORT").ok();
    match port.and_then(|p| p.parse().ok()) {
        Some(port) => volumes.with_glusterd_port(port),
        None => volumes,
    }
}

#[cfg(all(feature = "glfs", not(feature = "test-utils")))]
fn test_glusterd_port(
    volumes: crate::export::store::GlfsVolumes,
) -> crate::export::store::GlfsVolumes {
    volumes
}

#[cfg(not(feature = "glfs"))]
pub(super) fn opener(_settings: &Settings) -> Result<Box<dyn StoreOpener>, String> {
    Err("this gluster-tcmu is built without Gluster support (feature glfs)".into())
}
