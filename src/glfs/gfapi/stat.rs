//! What gfapi's `stat` and `statvfs` say, as plain values.

#![forbid(unsafe_code)]

/// What `stat` says about a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Bytes.
    pub size: u64,
    /// `st_mode`: the file type bits and the permission bits.
    pub mode: u32,
    /// Last modification, in seconds since the Unix epoch.
    pub modified: i64,
}

impl Stat {
    /// The fields kept from a `stat` buffer gfapi filled.
    pub(super) fn from_raw(st: &libc::stat) -> Stat {
        Stat {
            size: u64::try_from(st.st_size).unwrap_or(0),
            mode: st.st_mode,
            modified: st.st_mtime,
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

/// The space of a volume, in bytes (`statvfs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    pub total: u64,
    /// Free for root.
    pub free: u64,
    /// Free for everyone else.
    pub available: u64,
}

#[cfg(test)]
mod tests {
    use super::Stat;

    #[test]
    fn the_mode_says_the_type_and_the_permissions() {
        let file = Stat {
            size: 3,
            mode: libc::S_IFREG | 0o4640,
            modified: 0,
        };
        assert!(file.is_file() && !file.is_dir());
        assert_eq!(file.permissions(), 0o4640);
        let dir = Stat {
            size: 0,
            mode: libc::S_IFDIR | 0o755,
            modified: 0,
        };
        assert!(dir.is_dir() && !dir.is_file());
    }
}
