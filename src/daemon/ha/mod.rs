//! Starting an HA LUN's control thread once the daemon serves it (docs/HA.md).

pub mod adopt;
pub mod driver;
mod paths;

use super::registry::DeviceRegistry;
use crate::device::Device;
use driver::DeviceAccess;
use std::sync::Arc;

/// A served device, found by minor and checked by name (a minor is reused once its
/// device is gone, and the thread must never reach another LUN).
struct InRegistry {
    registry: Arc<DeviceRegistry>,
    minor: u32,
    name: String,
}

impl DeviceAccess for InRegistry {
    fn with<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Device) -> R + Send + 'static,
    ) -> Option<R> {
        let name = self.name.clone();
        let ran = self
            .registry
            .with_device(self.minor, move |d| (d.name() == name).then(|| job(d)));
        ran.flatten()
    }
}

/// Starts the control thread of the device served as `minor` when it is an HA LUN
/// (`Device::enable_ha` at open); nothing otherwise.
pub fn start(registry: &Arc<DeviceRegistry>, minor: u32) {
    let taken = registry.with_device(minor, |d| {
        d.take_ha_events()
            .map(|events| (d.name().to_owned(), events))
    });
    let Some(Some((name, events))) = taken else {
        return;
    };
    let access = InRegistry {
        registry: registry.clone(),
        minor,
        name: name.clone(),
    };
    match driver::spawn(&name, access, events) {
        Ok(_) => {
            tracing::info!(device = %name, "HA: no image lock (Active/Non-optimized) until a command takes it")
        }
        Err(e) => tracing::error!(device = %name, "cannot start the HA thread: {e}"),
    }
}
