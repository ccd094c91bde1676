//! The file-system operations the writer needs, as a trait, so tests can run it on a
//! temporary directory that behaves like configfs (see `fake`).
//!
//! configfs is driven by plain system calls: `mkdir` creates an object (the kernel fills
//! in its attribute files and default groups), `rmdir` removes it, a write to an
//! attribute file is one `store` call, and `symlink` links a LUN to a storage object.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// What a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A directory: in configfs, an object (group).
    Dir,
    /// A symbolic link: in configfs, a LUN or mapped-LUN link.
    Symlink,
    /// Anything else: in configfs, an attribute.
    File,
}

/// One entry of [`ConfigFs::read_dir`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// File name (configfs names are ASCII; others are skipped).
    pub name: String,
    /// Its kind, not following symlinks.
    pub kind: EntryKind,
}

/// File-system operations on absolute paths.
pub trait ConfigFs {
    /// Creates one directory (never its parents).
    fn mkdir(&self, path: &Path) -> io::Result<()>;
    /// Removes one directory.
    fn rmdir(&self, path: &Path) -> io::Result<()>;
    /// Writes `value` to an existing attribute in a single `write()`.
    fn write(&self, path: &Path, value: &str) -> io::Result<()>;
    /// Reads an attribute, without the kernel's trailing newline and NULs.
    fn read(&self, path: &Path) -> io::Result<String>;
    /// Creates `link` pointing at `target`.
    fn symlink(&self, target: &Path, link: &Path) -> io::Result<()>;
    /// Removes the symlink `link`.
    fn unlink(&self, link: &Path) -> io::Result<()>;
    /// Where the symlink `link` points, as stored (configfs stores relative paths).
    fn read_link(&self, link: &Path) -> io::Result<PathBuf>;
    /// The entries of a directory, sorted by name.
    fn read_dir(&self, path: &Path) -> io::Result<Vec<Entry>>;
    /// Whether anything exists at `path` (a dangling symlink counts).
    fn exists(&self, path: &Path) -> bool;
}

/// [`ConfigFs`] through `std::fs`: the production implementation.
#[derive(Debug, Clone, Copy, Default)]
pub struct StdFs;

impl ConfigFs for StdFs {
    fn mkdir(&self, path: &Path) -> io::Result<()> {
        fs::create_dir(path)
    }

    fn rmdir(&self, path: &Path) -> io::Result<()> {
        fs::remove_dir(path)
    }

    /// Opened without `O_CREAT`: a missing attribute stays an error instead of becoming
    /// a regular file.
    fn write(&self, path: &Path, value: &str) -> io::Result<()> {
        let mut file = OpenOptions::new().write(true).truncate(true).open(path)?;
        file.write_all(value.as_bytes())
    }

    fn read(&self, path: &Path) -> io::Result<String> {
        let text = fs::read_to_string(path)?;
        Ok(text.trim_end_matches(['\n', '\0']).to_owned())
    }

    fn symlink(&self, target: &Path, link: &Path) -> io::Result<()> {
        std::os::unix::fs::symlink(target, link)
    }

    fn unlink(&self, link: &Path) -> io::Result<()> {
        fs::remove_file(link)
    }

    fn read_link(&self, link: &Path) -> io::Result<PathBuf> {
        fs::read_link(link)
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<Entry>> {
        let mut entries = Vec::new();
        for entry in fs::read_dir(path)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let ty = entry.file_type()?;
            let kind = if ty.is_symlink() {
                EntryKind::Symlink
            } else if ty.is_dir() {
                EntryKind::Dir
            } else {
                EntryKind::File
            };
            entries.push(Entry { name, kind });
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    fn exists(&self, path: &Path) -> bool {
        fs::symlink_metadata(path).is_ok()
    }
}

/// Resolves a symlink's stored target against the directory holding the link, without
/// touching the file system (`..` is applied lexically, as configfs paths have no
/// symlinked directories).
pub fn resolve_link(link: &Path, stored: &Path) -> PathBuf {
    let base = link.parent().unwrap_or(Path::new("/"));
    normalize(&base.join(stored))
}

/// Applies `.` and `..` components lexically.
pub fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_resolve_relative_and_absolute() {
        let link = Path::new("/cfg/target/iscsi/iqn.x/tpgt_1/lun/lun_0/abc");
        let rel = Path::new("../../../../../core/user_0/vol");
        assert_eq!(
            resolve_link(link, rel),
            PathBuf::from("/cfg/target/core/user_0/vol")
        );
        let abs = Path::new("/cfg/target/core/./user_0/vol");
        assert_eq!(
            resolve_link(link, abs),
            PathBuf::from("/cfg/target/core/user_0/vol")
        );
    }

    #[test]
    fn std_fs_basics() {
        let dir = tempfile::tempdir().unwrap();
        let fs = StdFs;
        let d = dir.path().join("d");
        fs.mkdir(&d).unwrap();
        std::fs::write(d.join("attr"), "0\n\0").unwrap();
        assert_eq!(fs.read(&d.join("attr")).unwrap(), "0");
        fs.write(&d.join("attr"), "1").unwrap();
        assert_eq!(std::fs::read_to_string(d.join("attr")).unwrap(), "1");
        let missing = fs.write(&d.join("none"), "1").unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
        fs.symlink(Path::new("../x"), &d.join("l")).unwrap();
        assert!(fs.exists(&d.join("l")));
        assert_eq!(fs.read_link(&d.join("l")).unwrap(), PathBuf::from("../x"));
        let kinds: Vec<_> = fs
            .read_dir(&d)
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(kinds, [EntryKind::File, EntryKind::Symlink]);
        fs.unlink(&d.join("l")).unwrap();
        std::fs::remove_file(d.join("attr")).unwrap();
        fs.rmdir(&d).unwrap();
        assert!(!fs.exists(&d));
    }
}
