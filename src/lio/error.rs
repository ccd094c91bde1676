//! The writer's error type and its reports.

use super::journal::JournalError;
use super::spec::SpecError;
use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why `apply`, `remove`, `observe` or `sessions` failed. Paths are absolute.
#[derive(Debug, thiserror::Error)]
pub enum LioError {
    #[error("invalid export")]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("{} exists and was not created by this daemon; nothing was changed", path.display())]
    Foreign { path: PathBuf },
    #[error("target {target} belongs to export {owner}; nothing was changed")]
    TargetOfOtherExport { target: String, owner: String },
    #[error(
        "{name}: LIO has {current} bytes, the export asks for {wanted}: shrinking is refused; nothing was changed"
    )]
    Shrink {
        name: String,
        current: u64,
        wanted: u64,
    },
    #[error("storage object {} is still linked by a LUN this daemon does not own", path.display())]
    InUse { path: PathBuf },
    #[error("no free HBA index under {}", path.display())]
    NoFreeHba { path: PathBuf },
    #[error("unexpected contents in {}: {text:?}", path.display())]
    Unexpected { path: PathBuf, text: String },
    #[error("{op} {} failed", path.display())]
    Io {
        op: Op,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// A file-system operation on configfs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Mkdir,
    Rmdir,
    Write,
    Read,
    Symlink,
    Unlink,
    ReadLink,
    ReadDir,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Mkdir => "mkdir",
            Op::Rmdir => "rmdir",
            Op::Write => "write",
            Op::Read => "read",
            Op::Symlink => "symlink",
            Op::Unlink => "unlink",
            Op::ReadLink => "readlink",
            Op::ReadDir => "readdir",
        })
    }
}

/// One change made to configfs. Written values are never kept (some are secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// `Mkdir`, `Rmdir`, `Write`, `Symlink` or `Unlink`.
    pub op: Op,
    /// The path, relative to the target root.
    pub path: PathBuf,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.op, self.path.display())
    }
}

/// An attribute of a live storage object that differs from the export and that LIO
/// cannot change in place (the config string, `hw_max_sectors`; the serial and the
/// command timeout while the object is exported). Removing and re-applying the export
/// fixes it, which the caller may do when no initiator is logged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// The attribute, e.g. `wwn/vpd_unit_serial`.
    pub attribute: &'static str,
    /// What LIO has.
    pub current: String,
    /// What the export asks for.
    pub wanted: String,
}

/// What [`super::Lio::apply`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// The changes, in the order they were made.
    pub changes: Vec<Change>,
    /// Differences left in place (see [`Drift`]).
    pub drift: Vec<Drift>,
}

impl ApplyReport {
    /// Whether configfs was left exactly as it was.
    pub fn is_noop(&self) -> bool {
        self.changes.is_empty()
    }
}

/// What [`super::Lio::remove`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoveReport {
    /// The changes, in the order they were made.
    pub changes: Vec<Change>,
}
