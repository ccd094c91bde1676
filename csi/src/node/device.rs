//! Finding an export's disk on the node, through sysfs only (no udev rules needed): its
//! SCSI paths by WWID (`/sys/block/sd*/device/wwid` is `naa.` and the NAA designator of
//! VPD page 83h), the dm-multipath map holding them (a `dm-*` holder whose dm uuid is
//! `mpath-…`), and the disks of an IQN's sessions.

use super::host::{Cmd, Host, join};
use super::iscsi::Session;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tonic::Status;

const SYS_BLOCK: &str = "/sys/block";
const SYS_SESSIONS: &str = "/sys/class/iscsi_session";
const MULTIPATH: &str = "multipath";
const MULTIPATHD: &str = "multipathd";
const LIMIT: Duration = Duration::from_secs(60);

/// The disk an export is on: one SCSI path, or the multipath map over several.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disk {
    Path(String),
    /// The map's kernel name (`dm-3`) and its dm name.
    Map {
        kernel: String,
        name: String,
    },
}

impl Disk {
    /// The kernel's name (`sdb`, `dm-3`).
    pub fn kernel(&self) -> &str {
        match self {
            Disk::Path(n) => n,
            Disk::Map { kernel, .. } => kernel,
        }
    }

    /// The device node (made by the kernel's devtmpfs, udev or not).
    pub fn node(&self) -> PathBuf {
        join("/dev", self.kernel())
    }
}

fn read_trim(host: &dyn Host, path: &Path) -> Option<String> {
    host.read(path).ok().map(|s| s.trim().to_owned())
}

/// The SCSI disks whose WWID is `wwid` (`naa.<hex>`).
pub fn paths_by_wwid(host: &dyn Host, wwid: &str) -> Vec<String> {
    let names = host.list(Path::new(SYS_BLOCK)).unwrap_or_default();
    names
        .into_iter()
        .filter(|n| n.starts_with("sd"))
        .filter(|n| {
            let file = Path::new(SYS_BLOCK).join(n).join("device/wwid");
            read_trim(host, &file).is_some_and(|w| w.eq_ignore_ascii_case(wwid))
        })
        .collect()
}

/// The multipath map holding any of `paths`.
pub fn map_of(host: &dyn Host, paths: &[String]) -> Option<Disk> {
    paths.iter().find_map(|p| {
        let holders = host
            .list(&Path::new(SYS_BLOCK).join(p).join("holders"))
            .unwrap_or_default();
        holders.into_iter().find_map(|dm| {
            let dir = Path::new(SYS_BLOCK).join(&dm).join("dm");
            let uuid = read_trim(host, &dir.join("uuid"))?;
            let name = read_trim(host, &dir.join("name"))?;
            uuid.starts_with("mpath-")
                .then_some(Disk::Map { kernel: dm, name })
        })
    })
}

/// The SCSI disks of `sessions` (`session<sid>/device/target*/H:C:T:L/block/*`).
pub fn paths_of_sessions(host: &dyn Host, sessions: &[Session]) -> Vec<String> {
    let mut disks = Vec::new();
    for s in sessions {
        let device = Path::new(SYS_SESSIONS)
            .join(format!("session{}", s.sid))
            .join("device");
        for target in host.list(&device).unwrap_or_default() {
            if !target.starts_with("target") {
                continue;
            }
            for lun in host.list(&device.join(&target)).unwrap_or_default() {
                let block = device.join(&target).join(&lun).join("block");
                disks.extend(host.list(&block).unwrap_or_default());
            }
        }
    }
    disks
}

/// The size of the disk `kernel` in bytes (sysfs counts 512-byte sectors).
pub fn size(host: &dyn Host, kernel: &str) -> Result<u64, Status> {
    let file = Path::new(SYS_BLOCK).join(kernel).join("size");
    read_trim(host, &file)
        .and_then(|s| s.parse::<u64>().ok())
        .map(|sectors| sectors.saturating_mul(512))
        .ok_or_else(|| Status::internal(format!("cannot read {}", file.display())))
}

/// `major:minor` of the disk `kernel`, as mountinfo shows it.
pub fn dev_number(host: &dyn Host, kernel: &str) -> Option<String> {
    read_trim(host, &Path::new(SYS_BLOCK).join(kernel).join("dev"))
}

fn run(host: &dyn Host, cmd: Cmd) -> Result<super::host::Output, Status> {
    host.run(&cmd, LIMIT)
        .map_err(|e| Status::internal(format!("cannot run {cmd}: {e}")))
}

/// Asks dm-multipath for a map over `paths`: the WWID goes into multipath's list of
/// known WWIDs (so the map is made whatever `find_multipaths` says), and multipathd
/// takes each path. A path it has already is no failure; whether the map appears is what
/// the caller waits for.
pub fn ask_for_map(host: &dyn Host, paths: &[String]) -> Result<(), Status> {
    let Some(first) = paths.first() else {
        return Ok(());
    };
    let dev = format!("/dev/{first}");
    let out = run(host, Cmd::new(MULTIPATH).args(["-a", &dev]))?;
    if !out.ok() {
        return Err(Status::failed_precondition(format!(
            "multipath -a {dev} failed (exit {:?}): {}; several portals need \
             multipath-tools with multipathd running",
            out.code,
            out.stderr.trim()
        )));
    }
    for p in paths {
        let dev = format!("/dev/{p}");
        let out = run(host, Cmd::new(MULTIPATHD).args(["add", "path", &dev]))?;
        if !out.ok() {
            tracing::info!("multipathd add path {dev}: {}", out.stdout.trim());
        }
    }
    Ok(())
}

/// Removes the multipath map `name` (after its last user is gone).
pub fn flush_map(host: &dyn Host, name: &str) -> Result<(), Status> {
    let out = run(host, Cmd::new(MULTIPATH).args(["-f", name]))?;
    if out.ok() {
        return Ok(());
    }
    Err(Status::failed_precondition(format!(
        "cannot remove multipath map {name} (exit {:?}): {}; is it still in use?",
        out.code,
        out.stderr.trim()
    )))
}

/// Has multipathd take the new size of the map `name`'s paths.
pub fn resize_map(host: &dyn Host, name: &str) -> Result<(), Status> {
    let out = run(host, Cmd::new(MULTIPATHD).args(["resize", "map", name]))?;
    if out.ok() && !out.stdout.trim().starts_with("fail") {
        return Ok(());
    }
    Err(Status::internal(format!(
        "multipathd resize map {name} failed: {}{}",
        out.stdout.trim(),
        out.stderr.trim()
    )))
}
