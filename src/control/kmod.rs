//! The module-wide restart levers of `target_core_user`
//! (`/sys/module/target_core_user/parameters/`).
//!
//! A restarting daemon blocks new netlink events (`block_netlink=1`), fails the events
//! a dead predecessor left unanswered (`reset_netlink=1`, the kernel completes them with
//! `-EINTR`), re-discovers the devices that already exist, and unblocks
//! (drivers/target/target_core_user.c, module parameters `block_netlink` and
//! `reset_netlink`). On kernels that predate them, or when the
//! module is not loaded, they are missing and the error says so.

use super::sysfs::{read_attr, write_attr};
use std::io;
use std::path::{Path, PathBuf};

/// Errors of the module parameter levers.
#[derive(Debug, thiserror::Error)]
pub enum KmodError {
    /// The parameter file does not exist.
    #[error(
        "{} is missing: target_core_user is not loaded or the kernel is too old to have it",
        path.display()
    )]
    Missing { path: PathBuf },
    /// Reading or writing the parameter failed.
    #[error("cannot access {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The parameter held something other than a number.
    #[error("{} holds {text:?}, not 0 or 1", path.display())]
    Value { path: PathBuf, text: String },
}

/// Path of a parameter under `sys_root` (normally `/sys`).
fn param(sys_root: &Path, name: &str) -> PathBuf {
    sys_root
        .join("module/target_core_user/parameters")
        .join(name)
}

/// Maps an I/O error on `path`, singling out a missing file.
fn io_error(path: PathBuf) -> impl FnOnce(io::Error) -> KmodError {
    move |source| match source.kind() {
        io::ErrorKind::NotFound => KmodError::Missing { path },
        _ => KmodError::Io { path, source },
    }
}

/// Blocks (`on`) or unblocks new netlink events for every TCMU device.
pub fn block_netlink(sys_root: &Path, on: bool) -> Result<(), KmodError> {
    let path = param(sys_root, "block_netlink");
    let value = if on { "1" } else { "0" };
    write_attr(&path, value).map_err(io_error(path))
}

/// Whether new netlink events are currently blocked.
pub fn netlink_blocked(sys_root: &Path) -> Result<bool, KmodError> {
    let path = param(sys_root, "block_netlink");
    let text = read_attr(&path).map_err(io_error(path.clone()))?;
    match text.trim() {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(KmodError::Value { path, text }),
    }
}

/// Fails every netlink event still waiting for an answer (the kernel completes them
/// with `-EINTR`), so a restarted daemon does not inherit a predecessor's hang.
pub fn reset_netlink(sys_root: &Path) -> Result<(), KmodError> {
    let path = param(sys_root, "reset_netlink");
    write_attr(&path, "1").map_err(io_error(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A fake /sys with the module's parameter files.
    fn fake_sys() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let params = dir.path().join("module/target_core_user/parameters");
        fs::create_dir_all(&params).unwrap();
        fs::write(params.join("block_netlink"), "0\n").unwrap();
        fs::write(params.join("reset_netlink"), "").unwrap();
        dir
    }

    #[test]
    fn block_and_unblock() {
        let sys = fake_sys();
        block_netlink(sys.path(), true).unwrap();
        assert!(netlink_blocked(sys.path()).unwrap());
        block_netlink(sys.path(), false).unwrap();
        assert!(!netlink_blocked(sys.path()).unwrap());
    }

    #[test]
    fn reset_writes_one() {
        let sys = fake_sys();
        reset_netlink(sys.path()).unwrap();
        let text = fs::read_to_string(param(sys.path(), "reset_netlink")).unwrap();
        assert_eq!(text, "1");
    }

    #[test]
    fn missing_module_is_explained() {
        let empty = tempfile::tempdir().unwrap();
        let err = block_netlink(empty.path(), true).unwrap_err();
        assert!(matches!(err, KmodError::Missing { .. }));
        assert!(err.to_string().contains("not loaded"), "{err}");
        assert!(matches!(
            reset_netlink(empty.path()),
            Err(KmodError::Missing { .. })
        ));
        assert!(matches!(
            netlink_blocked(empty.path()),
            Err(KmodError::Missing { .. })
        ));
        assert!(!param(empty.path(), "reset_netlink").exists());
    }

    #[test]
    fn garbage_value_is_reported() {
        let sys = fake_sys();
        fs::write(param(sys.path(), "block_netlink"), "Y\n").unwrap();
        let err = netlink_blocked(sys.path()).unwrap_err();
        assert!(
            matches!(err, KmodError::Value { ref text, .. } if text == "Y"),
            "{err}"
        );
    }
}
