//! The ownership journal: which LIO objects this daemon created.
//!
//! An object is recorded *before* it is created and forgotten only *after* it is
//! removed, so after a crash at any point every object the daemon made is still listed
//! (a listed object may be missing; that is harmless). Objects not listed are never
//! modified or removed.
//!
//! The file is small TOML, mode 0600, replaced atomically (temporary file, `fsync`,
//! `rename`, `fsync` of the directory):
//!
//! ```toml
//! version = 1
//!
//! [[export]]
//! name = "vol1"
//! hba = 3
//! target = "iqn.2024-01.org.example:vol1"
//! ```

use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

const VERSION: u32 = 1;

/// Errors of the journal file; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot read the LIO ownership journal {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the LIO ownership journal {} is not valid", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: Box<toml::de::Error>,
    },
    #[error("the LIO ownership journal {} has version {found}, this daemon knows {VERSION}", path.display())]
    Version { path: PathBuf, found: u32 },
    #[error("cannot write the LIO ownership journal {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// What this daemon owns for one export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owned {
    /// The export (and storage object) name.
    pub name: String,
    /// Index `H` of the HBA directory `core/user_<H>` holding the storage object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hba: Option<u32>,
    /// The iSCSI target (`iscsi/<iqn>`, with everything inside it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

impl Owned {
    fn is_empty(&self) -> bool {
        self.hba.is_none() && self.target.is_none()
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct JournalFile {
    version: u32,
    #[serde(default, rename = "export")]
    exports: Vec<Owned>,
}

/// The journal: an in-memory copy written through to its file on every change.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    exports: Vec<Owned>,
}

impl Journal {
    /// Loads the journal at `path`; a missing file is an empty journal.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, JournalError> {
        let path = path.into();
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(source) => return Err(JournalError::Read { path, source }),
        };
        if text.trim().is_empty() {
            return Ok(Self {
                path,
                exports: Vec::new(),
            });
        }
        let file: JournalFile = match toml::from_str(&text) {
            Ok(file) => file,
            Err(e) => {
                return Err(JournalError::Parse {
                    path,
                    source: Box::new(e),
                });
            }
        };
        if file.version != VERSION {
            let found = file.version;
            return Err(JournalError::Version { path, found });
        }
        Ok(Self {
            path,
            exports: file.exports,
        })
    }

    /// The file this journal lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every export with something owned, in name order.
    pub fn exports(&self) -> &[Owned] {
        &self.exports
    }

    /// What is owned for `name`.
    pub fn get(&self, name: &str) -> Option<&Owned> {
        self.exports.iter().find(|o| o.name == name)
    }

    /// The export owning target `iqn`, if any.
    pub fn target_owner(&self, iqn: &str) -> Option<&Owned> {
        self.exports
            .iter()
            .find(|o| o.target.as_deref() == Some(iqn))
    }

    /// Records (`Some`) or forgets (`None`) the HBA of `name`, then saves.
    pub(super) fn set_hba(&mut self, name: &str, hba: Option<u32>) -> Result<(), JournalError> {
        self.update(name, |o| o.hba = hba)
    }

    /// Records (`Some`) or forgets (`None`) the target of `name`, then saves.
    pub(super) fn set_target(
        &mut self,
        name: &str,
        target: Option<&str>,
    ) -> Result<(), JournalError> {
        self.update(name, |o| o.target = target.map(str::to_owned))
    }

    /// Applies `change` to the entry of `name` (created if missing, dropped when it
    /// holds nothing any more) and saves; nothing is saved when nothing changed. On a
    /// failed save the in-memory copy is left as the file is.
    fn update(&mut self, name: &str, change: impl FnOnce(&mut Owned)) -> Result<(), JournalError> {
        let mut next = self.exports.clone();
        let at = match next.iter().position(|o| o.name == name) {
            Some(at) => at,
            None => {
                next.push(Owned {
                    name: name.to_owned(),
                    hba: None,
                    target: None,
                });
                next.len() - 1
            }
        };
        change(&mut next[at]);
        next.retain(|o| !o.is_empty());
        next.sort_by(|a, b| a.name.cmp(&b.name));
        if next == self.exports {
            return Ok(());
        }
        self.save(&next)?;
        self.exports = next;
        Ok(())
    }

    fn save(&self, exports: &[Owned]) -> Result<(), JournalError> {
        let file = JournalFile {
            version: VERSION,
            exports: exports.to_vec(),
        };
        let text = toml::to_string(&file).map_err(|e| self.write_error(io::Error::other(e)))?;
        write_atomically(&self.path, text.as_bytes()).map_err(|e| self.write_error(e))
    }

    fn write_error(&self, source: io::Error) -> JournalError {
        let path = self.path.clone();
        JournalError::Write { path, source }
    }
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new file.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)?;
    let mut tmp_name = path.file_name().unwrap_or_default().to_owned();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path)?;
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn missing_file_is_empty_and_changes_persist() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/lio-owned.toml");
        let mut j = Journal::open(&path).unwrap();
        assert!(j.exports().is_empty());
        j.set_hba("b", Some(3)).unwrap();
        j.set_target("b", Some("iqn.2024-01.org.example:b"))
            .unwrap();
        j.set_hba("a", Some(0)).unwrap();
        let again = Journal::open(&path).unwrap();
        assert_eq!(again.exports(), j.exports());
        assert_eq!(again.exports()[0].name, "a");
        assert_eq!(
            again
                .target_owner("iqn.2024-01.org.example:b")
                .unwrap()
                .name,
            "b"
        );
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!dir.path().join("sub/lio-owned.toml.tmp").exists());
    }

    #[test]
    fn entries_holding_nothing_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.toml");
        let mut j = Journal::open(&path).unwrap();
        j.set_hba("a", Some(1)).unwrap();
        j.set_hba("a", None).unwrap();
        assert!(j.get("a").is_none());
        assert!(Journal::open(&path).unwrap().exports().is_empty());
    }

    #[test]
    fn bad_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.toml");
        fs::write(&path, "version = 1\n[[export]]\nhba = 1\n").unwrap();
        let err = Journal::open(&path).unwrap_err();
        assert!(matches!(err, JournalError::Parse { .. }), "{err:?}");
        assert!(err.to_string().contains("j.toml"));
        fs::write(&path, "version = 9\n").unwrap();
        let err = Journal::open(&path).unwrap_err();
        assert!(matches!(err, JournalError::Version { found: 9, .. }));
    }

    #[test]
    fn a_failed_save_leaves_memory_as_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path().join("sub/j.toml")).unwrap();
        // The journal's directory turns out to be a regular file: every save fails.
        fs::write(dir.path().join("sub"), "").unwrap();
        assert!(j.set_hba("a", Some(1)).is_err());
        assert!(j.get("a").is_none());
    }
}
