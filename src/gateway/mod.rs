//! The gateway: inside the daemon, it serves as iSCSI LUNs the block exports recorded on
//! its configured volumes (settings `[exports]`) that name its portal.
//!
//! The volumes are the single source of truth. Each pass ([`Gateway::pass`]) reads every
//! volume's export records ([`crate::export`]), turns the ready ones naming this portal
//! into [`crate::lio::ExportLun`]s, makes LIO's configfs match them ([`crate::lio::Lio`]:
//! only objects the daemon created are ever changed or removed), and writes this
//! gateway's report to each volume, where `export list` and `info` read it.
//!
//! Passes run on their own thread ([`spawn`]), never on the netlink thread: enabling a
//! storage object waits until this daemon answered the kernel's ADDED event. The first
//! runs as soon as the daemon serves netlink events, and rebuilds every export after a
//! reboot or a daemon restart; then one runs every `poll_secs`, and one at once when the
//! control socket asks (`converge`). Stopping the daemon leaves LIO as it is, so its
//! initiators keep their sessions across a restart.
//!
//! What is kept as it is in LIO, although no ready record asks for it: the exports of a
//! volume that cannot be read (an outage must not tear down live LUNs), and exports
//! whose record cannot be used (a corrupt record is an error under its name; the
//! others are served).

#![forbid(unsafe_code)]

mod desired;
mod log_once;
mod pass;
mod paths;
mod plan;
mod portal;
mod records;
mod runner;
mod volume;

pub use desired::{LunError, export_lun};
pub use pass::{Gateway, HEARTBEAT, JOURNAL_FILE};
pub use paths::{LunPaths, NoPaths};
pub use runner::{Answer, GatewayHandle, Requests, channel, spawn};

use crate::export::StoreOpener;
#[cfg(not(feature = "glfs"))]
use crate::export::{MetaStore, StoreError, VolumeAddr};
use crate::lio::{LioError, StdFs};
use crate::settings::ExportsSettings;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread::JoinHandle;

/// Why the gateway cannot start (it tries again every polling period).
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("cannot make the state directory {}", path.display())]
    StateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Lio(#[from] LioError),
}

/// What the daemon needs to run a gateway.
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    /// `[exports]`.
    pub settings: ExportsSettings,
    /// Opens the volumes' stores.
    pub opener: Arc<dyn StoreOpener>,
}

/// Starts the gateway thread on the system's configfs tree at `settings.configfs`; its
/// reports take HA paths' states from `paths`.
pub fn start(
    opts: GatewayOptions,
    paths: Arc<dyn LunPaths>,
    requests: Requests,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    let GatewayOptions { settings, opener } = opts;
    let poll = settings.poll;
    let open = move || {
        let mut gateway = Gateway::open(&settings, opener.clone(), StdFs)?;
        gateway.set_paths(paths.clone());
        Ok(gateway)
    };
    spawn(open, requests, poll, stop)
}

/// The store opener of the daemon's gateway: volumes are reached through gfapi, with the
/// connect deadline and gfapi log of `connect`, sharing the daemon's connections to them.
#[cfg(feature = "glfs")]
pub fn store_opener(connect: crate::glfs::ConnectOptions) -> Arc<dyn StoreOpener> {
    Arc::new(crate::export::store::GlfsVolumes::new(connect))
}

/// Without the glfs handler built in, no volume can be reached.
#[cfg(not(feature = "glfs"))]
pub fn store_opener() -> Arc<dyn StoreOpener> {
    Arc::new(NoGfapi)
}

/// Stands for the gfapi store opener in a build without the glfs handler.
#[cfg(not(feature = "glfs"))]
#[derive(Debug)]
struct NoGfapi;

#[cfg(not(feature = "glfs"))]
impl StoreOpener for NoGfapi {
    fn open(&self, _volume: &VolumeAddr) -> Result<Arc<dyn MetaStore>, StoreError> {
        Err(StoreError::Unreachable(
            "this gluster-tcmu is built without the glfs handler, which exports need".into(),
        ))
    }
}

#[cfg(test)]
pub(crate) mod tests;
