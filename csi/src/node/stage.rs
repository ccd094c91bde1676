//! NodeStageVolume and NodeUnstageVolume: the export's disk attached to this node (and,
//! for a filesystem volume, mounted at the staging path), and all of it undone.
//!
//! Stage: a node record per portal with CHAP, a login to each, the disk found by its
//! WWID (a multipath map over the paths when there are several portals), a filesystem
//! made only on a disk blkid finds empty, and the mount. A stage that fails undoes
//! everything the volume has on the node (no session, record, map or mount left), unless
//! the volume was already staged, in which case it is left as it was.
//!
//! Unstage works from the volume ID alone: the staging mount, the IQN's sessions, their
//! disks and map, then the records. Both are idempotent.

use super::device::{self, Disk};
use super::host::Host;
use super::{NodeConfig, fs, iscsi, mounts};
use crate::caps::{Access, Wanted};
use crate::context::{Chap, VolumeContext};
use crate::core::{ChapRecord, ExportLocation, iqn_for};
use crate::params::FsType;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tonic::Status;

/// A NodeStageVolume request, checked.
#[derive(Debug, Clone)]
pub struct Stage {
    pub location: ExportLocation,
    pub staging: PathBuf,
    pub context: VolumeContext,
    pub wanted: Wanted,
    pub chap: Option<ChapRecord>,
}

impl Stage {
    /// The filesystem to find or make: the capability's, else the StorageClass's.
    fn fs_type(&self) -> Option<(FsType, &[String])> {
        match &self.wanted.access {
            Access::Block => None,
            Access::Mount { fs_type, flags } => {
                Some((fs_type.unwrap_or(self.context.fs_type), flags.as_slice()))
            }
        }
    }
}

/// Stages `s`: see the module documentation.
pub fn stage(host: &dyn Host, cfg: &NodeConfig, s: &Stage) -> Result<(), Status> {
    if s.context.chap != Chap::None && s.chap.is_none() {
        return Err(Status::invalid_argument(
            "the volume has CHAP on: NodeStageVolume needs the node-stage secret",
        ));
    }
    if let Some(disk) = staged(host, s)? {
        tracing::info!(
            "{} is staged already on {}",
            s.location,
            disk.node().display()
        );
        return Ok(());
    }
    let result = attach(host, cfg, s).and_then(|disk| {
        if let Some((fs_type, flags)) = s.fs_type() {
            mount_staging(host, s, &disk, fs_type, flags)?;
        }
        Ok(disk)
    });
    match result {
        Ok(disk) => {
            tracing::info!("staged {} on {}", s.location, disk.node().display());
            Ok(())
        }
        Err(e) => {
            tracing::warn!(
                "stage of {} failed, undoing it: {}",
                s.location,
                e.message()
            );
            if let Err(undo) = teardown(host, &s.context.iqn) {
                tracing::error!("undoing the stage of {}: {}", s.location, undo.message());
            }
            Err(e)
        }
    }
}

/// The volume's disk, when the volume is fully staged already: attached, and for a
/// filesystem volume mounted at the staging path. A different mount there is refused.
fn staged(host: &dyn Host, s: &Stage) -> Result<Option<Disk>, Status> {
    let disk = current_disk(host, &s.context, s.context.portals.len() > 1);
    if s.fs_type().is_none() {
        return Ok(disk);
    }
    let table = mounts::table(host)?;
    let Some(mounted) = mounts::at(&table, &s.staging) else {
        return Ok(None);
    };
    let ours = disk
        .as_ref()
        .and_then(|d| device::dev_number(host, d.kernel()))
        .is_some_and(|dev| dev == mounted.device);
    if ours {
        return Ok(disk);
    }
    Err(Status::already_exists(format!(
        "{} has another volume mounted ({} from {})",
        s.staging.display(),
        mounted.fs_type,
        mounted.source
    )))
}

/// The disk of the volume with WWID `context.wwid` as it is now.
fn current_disk(host: &dyn Host, context: &VolumeContext, multipath: bool) -> Option<Disk> {
    let paths = device::paths_by_wwid(host, &context.wwid);
    if multipath {
        return device::map_of(host, &paths);
    }
    paths.into_iter().next().map(Disk::Path)
}

/// Records, logins and the disk.
fn attach(host: &dyn Host, cfg: &NodeConfig, s: &Stage) -> Result<Disk, Status> {
    let iqn = &s.context.iqn;
    let mut logged_in = 0;
    let mut last_error = None;
    for portal in &s.context.portals {
        let done = iscsi::make_record(host, iqn, portal, s.chap.as_ref())
            .and_then(|()| iscsi::login(host, iqn, portal));
        match done {
            Ok(()) => logged_in += 1,
            // A gateway that is down is one path less; CHAP refused is final.
            Err(e) if e.code() == tonic::Code::PermissionDenied => return Err(e),
            Err(e) => {
                tracing::warn!("{}", e.message());
                last_error = Some(e);
            }
        }
    }
    if logged_in == 0 {
        return Err(last_error.unwrap_or_else(|| Status::invalid_argument("no portal")));
    }
    wait_for_disk(host, cfg, &s.context, logged_in)
}

/// Waits for the volume's paths (one per session) and, with several portals, for the
/// multipath map over them.
fn wait_for_disk(
    host: &dyn Host,
    cfg: &NodeConfig,
    context: &VolumeContext,
    sessions: usize,
) -> Result<Disk, Status> {
    let multipath = context.portals.len() > 1;
    let start = Instant::now();
    let mut asked = false;
    loop {
        let paths = device::paths_by_wwid(host, &context.wwid);
        let all_there = paths.len() >= sessions;
        let late = start.elapsed() >= cfg.device_wait;
        if !paths.is_empty() && (all_there || late) {
            if !multipath {
                return Ok(Disk::Path(paths[0].clone()));
            }
            if let Some(map) = device::map_of(host, &paths) {
                return Ok(map);
            }
            if !asked {
                device::ask_for_map(host, &paths)?;
                asked = true;
                continue;
            }
        }
        if late {
            return Err(no_disk(context, multipath, start));
        }
        host.sleep(cfg.poll);
    }
}

fn no_disk(context: &VolumeContext, multipath: bool, start: Instant) -> Status {
    let what = if multipath {
        "a multipath map (is multipathd running?)"
    } else {
        "a disk"
    };
    Status::deadline_exceeded(format!(
        "no {what} with WWID {} appeared within {}s of the login to {}",
        context.wwid,
        start.elapsed().as_secs(),
        context.iqn
    ))
}

/// The filesystem (made when the disk has none) mounted at the staging path.
fn mount_staging(
    host: &dyn Host,
    s: &Stage,
    disk: &Disk,
    fs_type: FsType,
    flags: &[String],
) -> Result<(), Status> {
    let dev = disk.node();
    match fs::probe(host, &dev)? {
        fs::Content::Filesystem(found) if found == fs_type.as_str() => {}
        fs::Content::Filesystem(found) => {
            return Err(Status::failed_precondition(format!(
                "{} holds a {found} filesystem, not the {fs_type} asked: it is mounted only \
                 as what it is (ask for {found})",
                s.location
            )));
        }
        fs::Content::Partitioned(table) => {
            return Err(Status::failed_precondition(format!(
                "{} has a {table} partition table and no filesystem on the whole disk: \
                 it is not formatted over",
                s.location
            )));
        }
        fs::Content::Nothing if s.wanted.read_only => {
            return Err(Status::failed_precondition(format!(
                "{} has no filesystem and is asked read-only",
                s.location
            )));
        }
        fs::Content::Nothing => {
            tracing::info!("making a {fs_type} filesystem on {}", dev.display());
            fs::make(host, &dev, fs_type)?;
        }
    }
    host.make_dir(&s.staging)
        .map_err(|e| Status::internal(format!("cannot make {}: {e}", s.staging.display())))?;
    let mut options = flags.to_vec();
    if s.wanted.read_only {
        options.push("ro".into());
    }
    fs::mount(host, &dev, &s.staging, fs_type.as_str(), &options)
}

/// Unstages the volume at `location` staged at `staging`: see the module documentation.
pub fn unstage(host: &dyn Host, location: &ExportLocation, staging: &Path) -> Result<(), Status> {
    unmount_all(host, staging)?;
    teardown(host, &iqn_for(&location.name))?;
    tracing::info!("unstaged {location}");
    Ok(())
}

/// Unmounts whatever is mounted at `path`, however many times.
pub fn unmount_all(host: &dyn Host, path: &Path) -> Result<(), Status> {
    for _ in 0..8 {
        let table = mounts::table(host)?;
        if mounts::at(&table, path).is_none() {
            return Ok(());
        }
        fs::unmount(host, path)?;
    }
    Err(Status::internal(format!(
        "{} is still mounted after 8 unmounts",
        path.display()
    )))
}

/// Everything of `iqn` on this node: its multipath map, sessions and node records.
fn teardown(host: &dyn Host, iqn: &str) -> Result<(), Status> {
    let sessions = iscsi::sessions(host, iqn)?;
    let paths = device::paths_of_sessions(host, &sessions);
    if let Some(Disk::Map { name, .. }) = device::map_of(host, &paths) {
        device::flush_map(host, &name)?;
    }
    iscsi::logout(host, iqn)?;
    iscsi::delete_records(host, iqn)
}
