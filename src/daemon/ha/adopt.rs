//! Target port groups made after a `user:glfs` LUN opened (docs/HA.md, "Port groups
//! from configfs"). The kernel asks the handler to open a storage object when it is
//! enabled, and a LUN can join a group only once it is exported, so the groups an
//! admin (`targetcli ... alua`) or the gateway (an export with several gateways) makes
//! always come after the open: the kernel does not tell the handler about them.
//!
//! So the daemon looks: closely for a few seconds after each glfs LUN opens (the
//! gateway moves the LUN into its group moments after enabling it, before the TPG is
//! enabled and any initiator can log in), then every few seconds for all of them.
//! A LUN whose groups appear becomes an HA LUN: Standby, fenced by the image lock,
//! with its own control thread ([`super::start`]).

use crate::control::configfs::{ConfigfsDevice, alua};
use crate::daemon::registry::DeviceRegistry;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How long, and how often, a new LUN is watched closely.
const NEW_LUN_WATCH: Duration = Duration::from_secs(10);
const NEW_LUN_POLL: Duration = Duration::from_millis(50);
/// How often every glfs LUN without port groups is looked at.
const ALL_LUNS_POLL: Duration = Duration::from_secs(3);

/// Whether the device served as `minor` got port groups configured since it opened
/// (and so became an HA LUN now). Only `user:glfs` LUNs can: the fence is Gluster's.
pub fn adopt(registry: &Arc<DeviceRegistry>, configfs_root: &Path, minor: u32) -> bool {
    let Some(name) = registry.uio_name(minor) else {
        return false;
    };
    if name.subtype != "glfs" {
        return false;
    }
    let Ok(cfs) = ConfigfsDevice::locate(configfs_root, &name) else {
        return false;
    };
    let groups = match cfs.alua_groups() {
        Ok(groups) => groups,
        Err(e) => {
            tracing::debug!(device = %name, "target port groups unreadable: {e}");
            return false;
        }
    };
    let local = match alua::lun_alua(&groups) {
        Ok(Some(local)) => local,
        Ok(None) => return false,
        Err(e) => {
            tracing::debug!(device = %name, "target port groups not usable: {e}");
            return false;
        }
    };
    let port = local.receiving_port;
    let adopted = registry.with_device(minor, move |d| d.adopt_port_groups(local));
    if adopted != Some(true) {
        return false;
    }
    tracing::info!(device = %name, port, "target port groups configured: HA LUN from now on");
    super::start(registry, minor);
    true
}

/// Watches the LUN just served as `minor` closely (every 50 ms for 10 s).
pub fn watch_new(registry: &Arc<DeviceRegistry>, configfs_root: &Path, minor: u32) {
    let (registry, root) = (registry.clone(), configfs_root.to_path_buf());
    let spawned = std::thread::Builder::new()
        .name("port-groups".into())
        .spawn(move || {
            let rounds = NEW_LUN_WATCH.as_millis() / NEW_LUN_POLL.as_millis();
            for _ in 0..rounds {
                if registry.uio_name(minor).is_none() || adopt(&registry, &root, minor) {
                    return;
                }
                std::thread::sleep(NEW_LUN_POLL);
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("cannot watch the LUN's target port groups: {e}");
    }
}

/// Looks at every served LUN every 3 s until `stop`.
pub fn watch_all(
    registry: Arc<DeviceRegistry>,
    configfs_root: PathBuf,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("port-groups".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for minor in registry.minors_of("glfs") {
                    adopt(&registry, &configfs_root, minor);
                }
                std::thread::sleep(ALL_LUNS_POLL);
            }
        })
}
