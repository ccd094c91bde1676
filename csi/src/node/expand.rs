//! NodeExpandVolume and NodeGetVolumeStats.
//!
//! Expansion: the controller has grown the export and the gateways serve the new size;
//! here each session of the volume's IQN is rescanned (the kernel reads the new capacity),
//! multipathd resizes the map when there is one, and a mounted filesystem grows online.

use super::device::{self, Disk};
use super::host::{Host, Kind};
use super::{NodeConfig, fs, iscsi, mounts};
use crate::core::{ExportLocation, iqn_for};
use std::path::Path;
use std::time::Instant;
use tonic::Status;

/// The disk of the volume at `location`, through its sessions.
fn session_disk(host: &dyn Host, location: &ExportLocation) -> Result<(Vec<u32>, Disk), Status> {
    let sessions = iscsi::sessions(host, &iqn_for(&location.name))?;
    let paths = device::paths_of_sessions(host, &sessions);
    let disk =
        match device::map_of(host, &paths) {
            Some(map) => map,
            None => paths.first().cloned().map(Disk::Path).ok_or_else(|| {
                Status::not_found(format!("{location} is not attached to this node"))
            })?,
        };
    Ok((sessions.iter().map(|s| s.sid).collect(), disk))
}

/// Grows the volume at `location` used at `path` to at least `required` bytes; returns
/// its size.
pub fn expand(
    host: &dyn Host,
    cfg: &NodeConfig,
    location: &ExportLocation,
    path: &Path,
    required: u64,
    block: bool,
) -> Result<u64, Status> {
    let (sessions, disk) = session_disk(host, location)?;
    let start = Instant::now();
    let size = loop {
        for sid in &sessions {
            iscsi::rescan(host, *sid)?;
        }
        if let Disk::Map { name, .. } = &disk {
            device::resize_map(host, name)?;
        }
        let size = device::size(host, disk.kernel())?;
        if size >= required {
            break size;
        }
        if start.elapsed() >= cfg.device_wait {
            return Err(Status::unavailable(format!(
                "{location} still shows {size} bytes on this node, {required} asked: the \
                 gateways do not serve the new size yet"
            )));
        }
        host.sleep(cfg.poll);
    };
    if block {
        return Ok(size);
    }
    let table = mounts::table(host)?;
    let mount = mounts::at(&table, path)
        .ok_or_else(|| Status::not_found(format!("nothing is mounted at {}", path.display())))?;
    fs::grow(host, &mount.fs_type, &disk.node(), path)?;
    Ok(size)
}

/// What NodeGetVolumeStats reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stats {
    /// A filesystem: bytes and inodes.
    Filesystem(super::host::FsStats),
    /// A raw block volume: its size.
    Block(u64),
}

/// The use of the volume at `location` published at `path`.
pub fn stats(host: &dyn Host, location: &ExportLocation, path: &Path) -> Result<Stats, Status> {
    match host.kind(path) {
        None => Err(Status::not_found(format!(
            "{} does not exist",
            path.display()
        ))),
        Some(Kind::Dir) => host
            .statvfs(path)
            .map(Stats::Filesystem)
            .map_err(|e| Status::internal(format!("statvfs {}: {e}", path.display()))),
        Some(Kind::Other) => {
            let (_, disk) = session_disk(host, location)?;
            device::size(host, disk.kernel()).map(Stats::Block)
        }
    }
}
