//! Which device is served by which reactor, shared by the netlink loop, D-Bus and the
//! `list` socket.

#![forbid(unsafe_code)]

use crate::control::uio::UioDevice;
use crate::device::{Device, DeviceStats};
use crate::reactor::{DeviceId, Reactor, ReactorError, ReactorOptions};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// A device as the control plane knows it.
#[derive(Debug, Clone)]
pub struct ServedDevice {
    pub uio: UioDevice,
    pub reactor: usize,
    pub id: DeviceId,
}

/// One line of `gluster-tcmu list`.
#[derive(Debug, Clone)]
pub struct Listing {
    pub uio: UioDevice,
    pub stats: Option<DeviceStats>,
}

/// The reactors and the devices they serve, keyed by UIO minor.
#[derive(Debug)]
pub struct DeviceRegistry {
    reactors: Vec<Reactor>,
    devices: Mutex<BTreeMap<u32, ServedDevice>>,
}

impl DeviceRegistry {
    /// Starts `threads` reactor threads.
    pub fn new(threads: usize, options: ReactorOptions) -> Result<Self, ReactorError> {
        let reactors = (0..threads.max(1))
            .map(|i| Reactor::spawn_with(&format!("reactor-{i}"), options))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            reactors,
            devices: Mutex::new(BTreeMap::new()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u32, ServedDevice>> {
        self.devices
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Serves `device` on the reactor with the fewest devices.
    pub fn serve(&self, uio: UioDevice, device: Device) -> Result<(), ReactorError> {
        let mut devices = self.lock();
        let mut load = vec![0usize; self.reactors.len()];
        for s in devices.values() {
            load[s.reactor] += 1;
        }
        let reactor = (0..load.len()).min_by_key(|&i| load[i]).unwrap_or(0);
        let id = self.reactors[reactor].add(device)?;
        devices.insert(uio.index, ServedDevice { uio, reactor, id });
        Ok(())
    }

    /// Stops serving the device with UIO minor `minor`; waits until nothing in flight
    /// refers to it. Returns false when it was not served.
    pub fn remove(&self, minor: u32) -> bool {
        let Some(served) = self.lock().remove(&minor) else {
            return false;
        };
        match self.reactors[served.reactor].remove(served.id) {
            Ok(device) => {
                tracing::info!(device = device.name(), "released");
                true
            }
            Err(e) => {
                tracing::error!(minor, "release failed: {e}");
                false
            }
        }
    }

    /// Runs `job` on a served device inside its reactor thread.
    pub fn with_device<R: Send + 'static>(
        &self,
        minor: u32,
        job: impl FnOnce(&mut Device) -> R + Send + 'static,
    ) -> Option<R> {
        let served = self.lock().get(&minor).cloned()?;
        self.reactors[served.reactor]
            .with_device(served.id, |d| d.map(job))
            .ok()
            .flatten()
    }

    /// The minor of the device whose configfs name is `name` (`targetcli` names).
    pub fn find_by_name(&self, name: &str) -> Option<u32> {
        self.lock()
            .values()
            .find(|s| s.uio.name.device == name)
            .map(|s| s.uio.index)
    }

    /// The UIO name (HBA, device, subtype, config) of the device with UIO minor `minor`.
    pub fn uio_name(&self, minor: u32) -> Option<crate::control::uio::UioName> {
        self.lock().get(&minor).map(|s| s.uio.name.clone())
    }

    /// The `<subtype>/<config>` string the device with UIO minor `minor` was created with.
    pub fn dev_config(&self, minor: u32) -> Option<String> {
        self.lock()
            .get(&minor)
            .map(|s| format!("{}/{}", s.uio.name.subtype, s.uio.name.config))
    }

    /// The UIO minors of the served devices of `subtype` (`glfs`, ...), without asking
    /// their reactors anything.
    pub fn minors_of(&self, subtype: &str) -> Vec<u32> {
        let devices = self.lock();
        let served = devices.values().filter(|s| s.uio.name.subtype == subtype);
        served.map(|s| s.uio.index).collect()
    }

    /// The counters of the device with UIO minor `minor`, if it is served.
    pub fn stats_of(&self, minor: u32) -> Option<crate::device::DeviceStats> {
        let served = self.lock().get(&minor).cloned()?;
        self.reactors[served.reactor].stats(served.id).ok()
    }

    /// Every served device with its counters.
    pub fn list(&self) -> Vec<Listing> {
        let devices: Vec<ServedDevice> = self.lock().values().cloned().collect();
        devices
            .into_iter()
            .map(|s| {
                let stats = self.reactors[s.reactor].stats(s.id).ok();
                Listing { uio: s.uio, stats }
            })
            .collect()
    }

    /// Releases every device (SIGTERM): in-flight backstore I/O finishes first.
    pub fn shutdown(&self) {
        let minors: Vec<u32> = self.lock().keys().copied().collect();
        for minor in minors {
            self.remove(minor);
        }
    }

    /// Number of reactor threads.
    pub fn reactor_count(&self) -> usize {
        self.reactors.len()
    }
}
