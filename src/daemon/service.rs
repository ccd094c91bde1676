//! What the D-Bus service asks of the running daemon: validating config strings beyond
//! parsing, and changing the medium of a live LUN.

#![forbid(unsafe_code)]

use super::open::OpenDefaults;
use super::registry::DeviceRegistry;
use crate::cfgstring::SubtypeConfig;
use crate::control::configfs::{ConfigfsDevice, ConfigfsError};
use crate::control::dbus::ServiceOps;
use std::path::PathBuf;
use std::sync::Arc;

/// The daemon's side of `org.kernel.TCMUService1`.
#[derive(Debug)]
pub struct DaemonOps {
    pub registry: Arc<DeviceRegistry>,
    /// The daemon's settings: CheckConfig reaches a Gluster volume as a LUN would
    /// (`[glfs] connect_timeout_secs`, gfapi's log in `[glfs] log_dir`).
    pub defaults: OpenDefaults,
    /// The kernel's configfs root, where ChangeMedium records a LUN's new size.
    pub configfs: PathBuf,
}

impl ServiceOps for DaemonOps {
    fn check_config(&self, config: &SubtypeConfig) -> Result<(), String> {
        check_backing(config, &self.defaults, true).map(drop)
    }

    /// Resizes the LUN named `name` when `dev_config` is its current config string;
    /// swapping to another backing file is refused with EOPNOTSUPP. The size is written to
    /// the device's configfs `attrib/dev_size`, which the kernel hands to this daemon as a
    /// RECONFIG (the netlink loop resizes the LUN) and keeps: `targetcli ls`, the kernel
    /// and a restarted daemon all see the new size, not only this process.
    fn change_medium(
        &self,
        name: &str,
        size: u64,
        dev_config: &str,
        _config: &SubtypeConfig,
    ) -> Result<(), (i32, String)> {
        let minor = self
            .registry
            .find_by_name(name)
            .ok_or((-libc::ENODEV, format!("no LUN named {name} is served")))?;
        let current = self.registry.dev_config(minor).unwrap_or_default();
        if current != dev_config {
            return Err((
                -libc::EOPNOTSUPP,
                format!(
                    "{name} is served from {current}; swapping it to {dev_config} is not supported, only resizing"
                ),
            ));
        }
        let uio = self
            .registry
            .uio_name(minor)
            .ok_or((-libc::ENODEV, format!("{name} went away")))?;
        ConfigfsDevice::locate(&self.configfs, &uio)
            .and_then(|cfs| cfs.set_dev_size(size))
            .map_err(|e| {
                let errno = match &e {
                    ConfigfsError::Write { source, .. } => {
                        source.raw_os_error().unwrap_or(libc::EIO)
                    }
                    _ => libc::ENODEV,
                };
                let why = crate::error_text::admin_message(&e);
                (
                    -errno,
                    format!("cannot resize {name} to {size} bytes: {why}"),
                )
            })
    }
}

/// What CheckConfig checks of a config string beyond parsing it and the local checks of
/// [`crate::control::dbus::validate`]: that its Gluster volume answers and its image
/// exists or can be created, connecting as a LUN would (`defaults`). `Ok` says what was
/// found. With `keep_connection` (the daemon, not a one-shot command), a connection
/// that passed stays up for [`crate::glfs::CHECK_KEEP`] so the LUN created next shares it.
pub fn check_backing(
    config: &SubtypeConfig,
    defaults: &OpenDefaults,
    keep_connection: bool,
) -> Result<String, String> {
    match config {
        SubtypeConfig::File(_) | SubtypeConfig::Ram(_) => Ok(format!("{config:?}")),
        #[cfg(feature = "glfs")]
        SubtypeConfig::Glfs(cfg) => {
            let keep = if keep_connection {
                crate::glfs::CHECK_KEEP
            } else {
                std::time::Duration::ZERO
            };
            crate::glfs::check_volume(cfg, &defaults.glfs_connect(), keep)
        }
        #[cfg(not(feature = "glfs"))]
        SubtypeConfig::Glfs(_) => {
            let _ = (defaults, keep_connection);
            Err("the glfs handler is not built into this gluster-tcmu".into())
        }
    }
}
