//! The file operations exports need on their volume, behind one trait so the logic above it
//! (idempotent creates, crash recovery, races between machines) is written once:
//! [`LocalStore`] works on a local directory (tests; any POSIX mount of the volume), and a
//! gfapi implementation talks to the volume itself.
//!
//! Two primitives carry the crash safety:
//! * [`MetaStore::publish`]: a new file appears whole or not at all, and only if no file of
//!   that name exists: written to a temporary file in [`layout::TMP`], made durable, then
//!   `link`ed to its name (`link` fails when the name exists, atomically on the server);
//! * [`MetaStore::replace`]: the same, `rename`d over the old file (atomic replace).
//!
//! A crash leaves at most a temporary file behind, which [`MetaStore::sweep_tmp`] removes.

use super::layout;
use std::fmt;
use std::io;

#[cfg(any(test, feature = "test-utils"))]
pub mod contract;
#[cfg(feature = "glfs")]
mod glfs;
mod local;

#[cfg(feature = "glfs")]
pub use glfs::{GlfsStore, GlfsVolumes};
pub use local::{LocalStore, LocalVolumes};

use super::location::VolumeAddr;
use std::sync::Arc;

/// Largest metadata file read (records and reports are a few KiB).
pub const MAX_META_FILE: usize = 1 << 20;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path} exists")]
    Exists { path: String },
    #[error("{path} is {size} bytes, more than the {max} a metadata file may have")]
    TooLarge { path: String, size: u64, max: usize },
    #[error("{path} is {size} bytes, larger than the {wanted} asked for (images never shrink)")]
    Larger {
        path: String,
        size: u64,
        wanted: u64,
    },
    #[error("cannot {op} {path}")]
    Io {
        op: &'static str,
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot reach the volume")]
    Unreachable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Wraps an I/O error with what was being done to which path.
    pub fn io(op: &'static str, path: &str, source: io::Error) -> Self {
        StoreError::Io {
            op,
            path: path.to_owned(),
            source,
        }
    }

    /// The errno behind the error, when there is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            StoreError::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

/// How an image was made as large as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grown {
    /// It already was.
    Unchanged,
    /// Extended sparsely.
    Sparse,
    /// Allocated with `fallocate`.
    Allocated,
    /// Allocated by writing zeroes (the volume refused `fallocate`).
    ZeroFilled,
}

impl Grown {
    /// What was done, for people.
    pub fn describe(self) -> &'static str {
        match self {
            Grown::Unchanged => "had its size already",
            Grown::Sparse => "extended (sparse)",
            Grown::Allocated => "allocated",
            Grown::ZeroFilled => "allocated by writing zeroes (the volume refused fallocate)",
        }
    }
}

/// Files of one volume's export folder. Paths are volume paths ([`layout`]).
pub trait MetaStore: Send + Sync + fmt::Debug {
    /// Makes every folder of [`layout::FOLDERS`]; existing ones are fine.
    fn ensure_folders(&self) -> Result<(), StoreError>;

    /// The whole file at `path` (at most [`MAX_META_FILE`] bytes); `None` if there is none.
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// The names in folder `dir` (not `.` and `..`), sorted.
    fn list(&self, dir: &str) -> Result<Vec<String>, StoreError>;

    /// Makes `path` hold `data`, with `mode`, only if no file `path` exists
    /// ([`StoreError::Exists`] otherwise; then nothing changed). Durable when it returns.
    fn publish(&self, path: &str, data: &[u8], mode: u32) -> Result<(), StoreError>;

    /// Makes `path` hold `data`, with `mode`, replacing what is there atomically.
    fn replace(&self, path: &str, data: &[u8], mode: u32) -> Result<(), StoreError>;

    /// Removes the file `path`; false when there was none.
    fn remove(&self, path: &str) -> Result<bool, StoreError>;

    /// The size of the file `path`; `None` if there is none.
    fn size_of(&self, path: &str) -> Result<Option<u64>, StoreError>;

    /// Makes the image `path` (created with `mode` if missing) `size` bytes long, fully
    /// allocated with `prealloc`, durable when it returns. A larger image is an error
    /// ([`StoreError::Larger`]), never shrunk.
    fn grow(&self, path: &str, size: u64, prealloc: bool, mode: u32) -> Result<Grown, StoreError>;

    /// Bytes free on the volume for new data.
    fn free_bytes(&self) -> Result<u64, StoreError>;

    /// Whether the volume can fence an image for multipath HA (docs/HA.md, section 1):
    /// unsharded, with mandatory locks enforced by the bricks. Needs [`Self::ensure_folders`].
    fn fencing(&self) -> Result<Fencing, StoreError>;

    /// Removes temporary files and locks older than `age` that crashed writers left in
    /// [`layout::TMP`]; returns how many.
    fn sweep_tmp(&self, age: std::time::Duration) -> Result<usize, StoreError>;

    /// Opens the existing image `path` for positional reads and writes (the copy of a
    /// clone); a missing one is an error with ENOENT.
    fn open_image(&self, path: &str) -> Result<Box<dyn ImageFile + '_>, StoreError>;
}

/// What a volume offers an export with several gateways.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fencing {
    /// Mandatory locks are enforced on the whole image: one writer at a time.
    Ready,
    /// Sharded: a lock on the image does not cover its shards.
    Sharded,
    /// The bricks refuse to enforce mandatory locks (the volume's locks options).
    NotEnforced,
}

impl Fencing {
    /// What to change on the volume, for a refusal.
    pub fn remedy(self) -> &'static str {
        match self {
            Fencing::Ready => "",
            Fencing::Sharded => {
                "it is sharded, and a lock on an image does not cover its shards (features.shard off)"
            }
            Fencing::NotEnforced => {
                "its bricks do not enforce mandatory locks (locks.mandatory-locking optimal, features.enforce-mandatory-lock on)"
            }
        }
    }
}

/// An open image of a volume, for the control plane: every call blocks until done.
pub trait ImageFile: fmt::Debug {
    /// Reads into `buf` at `offset`: the bytes read (fewer than asked is not the end of
    /// the file), 0 at the end.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, StoreError>;

    /// Writes all of `data` at `offset`.
    fn write_all_at(&self, data: &[u8], offset: u64) -> Result<(), StoreError>;

    /// Everything written is on stable storage when this returns.
    fn sync(&self) -> Result<(), StoreError>;
}

/// Opens the store of a volume: through gfapi in production, a local directory per volume
/// in tests ([`LocalVolumes`]). Opening may connect, within the opener's deadline.
pub trait StoreOpener: Send + Sync + fmt::Debug {
    /// The store of `volume`.
    fn open(&self, volume: &VolumeAddr) -> Result<Arc<dyn MetaStore>, StoreError>;
}

/// A file in [`layout::TMP`] that a crashed writer may have left: a temporary file or a
/// lock (see [`sweep_tmp`](MetaStore::sweep_tmp)).
pub fn is_leftover(name: &str) -> bool {
    name.ends_with(".tmp") || name.ends_with(".lock")
}

/// A temporary file name in [`layout::TMP`] for a file that will become `path`: unique per
/// process and call, so two writers never share one.
pub fn tmp_name(path: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let base = path.rsplit('/').next().unwrap_or("file");
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{}/{base}.{}.{n}.{nanos:08x}.tmp",
        layout::TMP,
        std::process::id()
    )
}

#[cfg(test)]
mod tests {
    //! The store contract, checked on [`LocalStore`]; the gfapi store runs the same checks
    //! against a real volume in tests/.

    use super::*;
    use std::sync::Arc;

    fn store() -> (tempfile::TempDir, LocalStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStore::new(dir.path());
        s.ensure_folders().unwrap();
        (dir, s)
    }

    const REC: &str = "/gluster-tcmu/exports/disk1.json";

    #[test]
    fn the_local_store_keeps_the_store_contract() {
        let (_d, s) = store();
        contract::all(Arc::new(s), "local");
    }

    #[test]
    fn records_and_folders_get_their_modes() {
        use std::os::unix::fs::PermissionsExt;
        let (_d, s) = store();
        s.publish(REC, b"one", 0o600).unwrap();
        let mode = |p: &str| std::fs::metadata(s.local(p)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(REC), 0o600);
        for dir in layout::FOLDERS {
            assert_eq!(mode(dir), layout::folder_mode(dir), "{dir}");
        }
    }

    #[test]
    fn an_oversized_metadata_file_is_refused() {
        let (_d, s) = store();
        std::fs::write(s.local(REC), vec![b' '; MAX_META_FILE + 1]).unwrap();
        assert!(matches!(s.read(REC), Err(StoreError::TooLarge { .. })));
    }

    #[test]
    fn preallocated_images_have_their_blocks() {
        let (_d, s) = store();
        let img = "/gluster-tcmu/images/disk1.img";
        s.grow(img, 2 << 20, true, 0o600).unwrap();
        use std::os::unix::fs::MetadataExt;
        let blocks = std::fs::metadata(s.local(img)).unwrap().blocks();
        assert!(blocks * 512 >= 2 << 20, "{blocks} blocks allocated");
    }

    #[test]
    fn old_temporary_files_are_swept_and_young_ones_kept() {
        let (_d, s) = store();
        let old = s.local(&format!("{}/a.json.1.0.0.tmp", layout::TMP));
        std::fs::write(&old, b"x").unwrap();
        let past = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(past)
            .unwrap();
        std::fs::write(s.local(&format!("{}/b.json.1.0.0.tmp", layout::TMP)), b"y").unwrap();
        assert_eq!(
            s.sweep_tmp(std::time::Duration::from_secs(3600)).unwrap(),
            1
        );
        assert_eq!(s.list(layout::TMP).unwrap(), ["b.json.1.0.0.tmp"]);
    }

    use std::fs::File;
}
