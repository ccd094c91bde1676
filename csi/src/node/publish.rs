//! NodePublishVolume and NodeUnpublishVolume: the staged volume made visible at a pod's
//! target path, a bind mount of the staging mount (a filesystem volume) or of the disk's
//! device node onto a file (a raw block volume), read-only when asked; and removed.

use super::device::Disk;
use super::host::{Host, Kind};
use super::{fs, mounts, stage};
use crate::caps::{Access, Wanted};
use crate::context::VolumeContext;
use crate::core::ExportLocation;
use std::path::{Path, PathBuf};
use tonic::Status;

/// A NodePublishVolume request, checked.
#[derive(Debug, Clone)]
pub struct Publish {
    pub location: ExportLocation,
    pub staging: PathBuf,
    pub target: PathBuf,
    pub context: VolumeContext,
    pub wanted: Wanted,
    /// The request's `readonly`, or a read-only access mode.
    pub read_only: bool,
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> Status {
    Status::internal(format!("cannot {what} {}: {e}", path.display()))
}

/// Publishes `p`; a target already mounted (as asked) is left as it is.
pub fn publish(host: &dyn Host, p: &Publish) -> Result<(), Status> {
    let table = mounts::table(host)?;
    if let Some(mounted) = mounts::at(&table, &p.target) {
        if mounted.read_only() != p.read_only {
            return Err(Status::already_exists(format!(
                "{} is published at {} already, {}",
                p.location,
                p.target.display(),
                if mounted.read_only() {
                    "read-only"
                } else {
                    "read-write"
                }
            )));
        }
        return Ok(());
    }
    let from = match p.wanted.access {
        Access::Mount { .. } => {
            if mounts::at(&table, &p.staging).is_none() {
                return Err(Status::failed_precondition(format!(
                    "{} is not staged at {}",
                    p.location,
                    p.staging.display()
                )));
            }
            host.make_dir(&p.target)
                .map_err(|e| io_error("make", &p.target, e))?;
            p.staging.clone()
        }
        Access::Block => {
            let disk = disk(host, &p.context).ok_or_else(|| {
                Status::failed_precondition(format!("{} is not staged on this node", p.location))
            })?;
            if let Some(parent) = p.target.parent() {
                host.make_dir(parent)
                    .map_err(|e| io_error("make", parent, e))?;
            }
            host.make_file(&p.target)
                .map_err(|e| io_error("make", &p.target, e))?;
            disk.node()
        }
    };
    fs::bind(host, &from, &p.target, p.read_only)
}

/// The disk of a staged volume (its map when it has several portals).
pub fn disk(host: &dyn Host, context: &VolumeContext) -> Option<Disk> {
    let paths = super::device::paths_by_wwid(host, &context.wwid);
    if context.portals.len() > 1 {
        return super::device::map_of(host, &paths);
    }
    paths.into_iter().next().map(Disk::Path)
}

/// Unmounts the target and removes it (the folder or file publish made); a target that
/// is not there is fine.
pub fn unpublish(host: &dyn Host, target: &Path) -> Result<(), Status> {
    stage::unmount_all(host, target)?;
    match host.kind(target) {
        None => Ok(()),
        Some(Kind::Dir | Kind::Other) => host
            .remove(target)
            .map_err(|e| io_error("remove", target, e)),
    }
}
