//! Filesystems and mounts through their commands: blkid decides whether a disk has a
//! filesystem (and only its "nothing found" makes the node format one), mkfs, mount,
//! bind mounts, umount, and online growth.

use super::host::{Cmd, Host, Output};
use crate::params::FsType;
use std::path::Path;
use std::time::Duration;
use tonic::Status;

/// blkid's exit code when it found no signature at all.
const BLKID_NOTHING: i32 = 2;
/// mkfs of a large disk, and resize2fs of a large filesystem, can take long.
const SLOW: Duration = Duration::from_secs(600);
const QUICK: Duration = Duration::from_secs(60);

fn run(host: &dyn Host, cmd: Cmd, limit: Duration) -> Result<Output, Status> {
    host.run(&cmd, limit)
        .map_err(|e| Status::internal(format!("cannot run {cmd}: {e}")))
}

fn check(cmd: Cmd, out: &Output) -> Result<(), Status> {
    if out.ok() {
        return Ok(());
    }
    Err(Status::internal(format!(
        "{cmd} failed (exit {:?}): {}",
        out.code,
        out.stderr.trim()
    )))
}

fn run_ok(host: &dyn Host, cmd: Cmd, limit: Duration) -> Result<(), Status> {
    let out = run(host, cmd.clone(), limit)?;
    check(cmd, &out)
}

/// What a disk holds, by blkid's low-level probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Nothing,
    Filesystem(String),
    /// A partition table (and no filesystem on the whole disk).
    Partitioned(String),
}

/// Probes `dev` (bypassing blkid's cache). Only a clean "nothing found" is `Nothing`: a
/// probe that fails otherwise is an error, never a reason to format.
pub fn probe(host: &dyn Host, dev: &Path) -> Result<Content, Status> {
    let dev_text = dev.display().to_string();
    let cmd = Cmd::new("blkid").args(["-p", "-o", "export", &dev_text]);
    let out = run(host, cmd.clone(), QUICK)?;
    if out.code == Some(BLKID_NOTHING) {
        return Ok(Content::Nothing);
    }
    check(cmd, &out)?;
    let value = |key: &str| {
        out.stdout
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('=').map(str::to_owned))
    };
    match (value("TYPE"), value("PTTYPE")) {
        (Some(t), _) => Ok(Content::Filesystem(t)),
        (None, Some(p)) => Ok(Content::Partitioned(p)),
        (None, None) => Ok(Content::Nothing),
    }
}

/// Makes a filesystem on an empty disk. Neither mkfs is forced: one that finds a
/// signature after all refuses.
pub fn make(host: &dyn Host, dev: &Path, fs: FsType) -> Result<(), Status> {
    let dev = dev.display().to_string();
    // No discard of a fresh sparse image: nothing is allocated to give back.
    let cmd = match fs {
        FsType::Ext4 => Cmd::new("mkfs.ext4").args(["-q", "-E", "nodiscard", &dev]),
        FsType::Xfs => Cmd::new("mkfs.xfs").args(["-q", "-K", &dev]),
    };
    run_ok(host, cmd, SLOW)
}

/// `mount -t FS -o OPTIONS DEV TARGET`.
pub fn mount(
    host: &dyn Host,
    dev: &Path,
    target: &Path,
    fs: &str,
    options: &[String],
) -> Result<(), Status> {
    let mut cmd = Cmd::new("mount").args(["-t", fs]);
    if !options.is_empty() {
        cmd = cmd.args(["-o", &options.join(",")]);
    }
    let cmd = cmd.args([dev.display().to_string(), target.display().to_string()]);
    run_ok(host, cmd, QUICK)
}

/// Bind-mounts `from` on `target`, read-only when asked (a bind mount takes `ro` only
/// on a remount, which is done here too; if it fails the bind goes again).
pub fn bind(host: &dyn Host, from: &Path, target: &Path, read_only: bool) -> Result<(), Status> {
    let (from, to) = (from.display().to_string(), target.display().to_string());
    run_ok(host, Cmd::new("mount").args(["--bind", &from, &to]), QUICK)?;
    if !read_only {
        return Ok(());
    }
    let remount = Cmd::new("mount").args(["-o", "remount,bind,ro", &to]);
    if let Err(e) = run_ok(host, remount, QUICK) {
        unmount(host, target)?;
        return Err(e);
    }
    Ok(())
}

/// `umount TARGET`.
pub fn unmount(host: &dyn Host, target: &Path) -> Result<(), Status> {
    let target = target.display().to_string();
    run_ok(host, Cmd::new("umount").args([&target]), QUICK)
}

/// Grows the filesystem mounted at `mount_point` from `dev` to its disk's size.
pub fn grow(host: &dyn Host, fs: &str, dev: &Path, mount_point: &Path) -> Result<(), Status> {
    let cmd = match fs {
        "ext4" | "ext3" | "ext2" => Cmd::new("resize2fs").args([dev.display().to_string()]),
        "xfs" => Cmd::new("xfs_growfs").args([mount_point.display().to_string()]),
        other => {
            return Err(Status::invalid_argument(format!(
                "cannot grow a {other} filesystem (ext4 or xfs)"
            )));
        }
    };
    run_ok(host, cmd, SLOW)
}
