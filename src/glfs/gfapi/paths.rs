//! Synchronous operations on paths of a volume, for the control plane (CheckConfig,
//! tools): each blocks on the servers, so none belongs on the data path.

use super::error::{GfapiError, cstring, last_errno};
use super::sys;
use super::volume::Volume;
use std::io;

/// What `stat` says about a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Bytes.
    pub size: u64,
    /// `st_mode`: the file type bits and the permission bits.
    pub mode: u32,
}

impl Stat {
    fn from_raw(st: &libc::stat) -> Stat {
        Stat {
            size: u64::try_from(st.st_size).unwrap_or(0),
            mode: st.st_mode,
        }
    }

    /// A regular file.
    pub fn is_file(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFREG
    }

    /// A directory.
    pub fn is_dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }

    /// The permission bits (`0o7777`).
    pub fn permissions(&self) -> u32 {
        self.mode & 0o7777
    }
}

impl Volume {
    /// `stat` of `path` (following a symbolic link).
    pub fn stat(&self, path: &str) -> Result<Stat, GfapiError> {
        let c_path = cstring("path", path)?;
        // SAFETY: stat is plain old data; all-zero is a valid value.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: the volume is connected for as long as `self` lives; c_path and st
        // are valid for the call's duration.
        if unsafe { sys::glfs_stat(self.raw(), c_path.as_ptr(), &mut st) } != 0 {
            return Err(self.path_error("look up", path));
        }
        Ok(Stat::from_raw(&st))
    }

    /// The failed call's errno as an error about `path`.
    fn path_error(&self, what: &'static str, path: &str) -> GfapiError {
        GfapiError::File {
            what,
            volume: self.name().to_owned(),
            path: path.to_owned(),
            source: io::Error::from_raw_os_error(last_errno()),
        }
    }
}
