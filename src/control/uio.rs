//! Discovery and naming of TCMU's UIO devices.
//!
//! The kernel names each device `tcm-user/<hba>/<device>/<dev_config>`
//! (`tcmu_update_uio_info`), and `dev_config` is what rtslib wrote:
//! `<subtype>/<cfgstring>`. The config string may itself contain `/` (a glfs config is
//! `volume@host/path/in/volume`), so only the first four separators split the name.
//!
//! [`scan`] lists the devices that already exist: a restarted daemon gets no
//! `ADDED_DEVICE` for them and has to find them in sysfs.

use super::sysfs::read_attr;
use std::fmt;
use std::io;
use std::num::ParseIntError;
use std::path::{Path, PathBuf};

/// Prefix of every TCMU UIO device name.
pub const PREFIX: &str = "tcm-user";

/// A parsed `tcm-user/<hba>/<device>/<subtype>/<cfgstring>` name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UioName {
    /// The `user_<hba>` HBA number in configfs.
    pub hba: u32,
    /// The device's configfs directory name.
    pub device: String,
    /// The handler (`glfs` for a `user:glfs` backstore).
    pub subtype: String,
    /// The handler's configuration; may be empty and may contain `/`.
    pub config: String,
}

/// Why a UIO name is not a TCMU device name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UioNameError {
    #[error("{name:?} does not start with \"tcm-user/\"")]
    NotTcmUser { name: String },
    #[error("{name:?} has no {field}")]
    MissingField { name: String, field: &'static str },
    #[error("{name:?} has an invalid HBA number")]
    BadHba {
        name: String,
        #[source]
        source: ParseIntError,
    },
}

impl UioName {
    /// Parses a UIO name (without trailing newline).
    pub fn parse(name: &str) -> Result<Self, UioNameError> {
        let mut parts = name.splitn(5, '/');
        if parts.next() != Some(PREFIX) {
            return Err(UioNameError::NotTcmUser {
                name: name.to_owned(),
            });
        }
        let mut field = |field| match parts.next() {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(UioNameError::MissingField {
                name: name.to_owned(),
                field,
            }),
        };
        let hba = field("HBA number")?;
        let device = field("device name")?.to_owned();
        let subtype = field("handler subtype")?.to_owned();
        let config = parts.next().unwrap_or_default().to_owned();
        let hba = hba.parse().map_err(|source| UioNameError::BadHba {
            name: name.to_owned(),
            source,
        })?;
        Ok(Self {
            hba,
            device,
            subtype,
            config,
        })
    }
}

impl fmt::Display for UioName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            hba,
            device,
            subtype,
            config,
        } = self;
        write!(f, "{PREFIX}/{hba}/{device}/{subtype}/{config}")
    }
}

/// One TCMU UIO device found in sysfs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UioDevice {
    /// The `N` of `uioN`.
    pub index: u32,
    pub name: UioName,
    /// Size of `map0` (`/sys/class/uio/uioN/maps/map0/size`): the kernel's UIO mmap refuses
    /// any other length.
    pub map_size: u64,
    /// `/dev/uioN`.
    pub dev_path: PathBuf,
}

/// A `uioN` entry that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum UioError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: not a TCMU device name", path.display())]
    Name {
        path: PathBuf,
        #[source]
        source: UioNameError,
    },
    #[error("{}: {text:?} is not a hexadecimal size", path.display())]
    MapSize { path: PathBuf, text: String },
}

/// What [`scan`] found: the TCMU devices, and the entries that could not be read.
#[derive(Debug, Default)]
pub struct Scan {
    /// TCMU devices, sorted by index.
    pub devices: Vec<UioDevice>,
    /// Entries that looked like TCMU devices (or could not be told apart) but failed.
    pub errors: Vec<UioError>,
}

/// Lists the `tcm-user` devices under `<sys_root>/class/uio`. Other UIO devices are
/// ignored; a missing `class/uio` (no UIO module) means no devices.
pub fn scan(sys_root: &Path) -> Result<Scan, UioError> {
    let class = sys_root.join("class/uio");
    let entries = match std::fs::read_dir(&class) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Scan::default()),
        other => other.map_err(|source| UioError::Read {
            path: class.clone(),
            source,
        })?,
    };
    let mut scan = Scan::default();
    for entry in entries {
        let entry = entry.map_err(|source| UioError::Read {
            path: class.clone(),
            source,
        })?;
        let Some(index) = uio_index(&entry.file_name().to_string_lossy()) else {
            continue;
        };
        match read_device(&entry.path(), index) {
            Ok(Some(dev)) => scan.devices.push(dev),
            Ok(None) => {}
            Err(e) => scan.errors.push(e),
        }
    }
    scan.devices.sort();
    Ok(scan)
}

/// The `N` of a `uioN` directory name.
fn uio_index(file_name: &str) -> Option<u32> {
    let digits = file_name.strip_prefix("uio")?;
    digits
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| digits.parse().ok())
        .flatten()
}

/// Reads one `uioN` directory; `None` if it is not a TCMU device.
fn read_device(dir: &Path, index: u32) -> Result<Option<UioDevice>, UioError> {
    let name_path = dir.join("name");
    let name = read(&name_path)?;
    if !name
        .strip_prefix(PREFIX)
        .is_some_and(|rest| rest.starts_with('/'))
    {
        return Ok(None);
    }
    let name = UioName::parse(&name).map_err(|source| UioError::Name {
        path: name_path,
        source,
    })?;
    let size_path = dir.join("maps/map0/size");
    let text = read(&size_path)?;
    let map_size = parse_hex(&text).ok_or(UioError::MapSize {
        path: size_path,
        text,
    })?;
    let dev_path = PathBuf::from(format!("/dev/uio{index}"));
    Ok(Some(UioDevice {
        index,
        name,
        map_size,
        dev_path,
    }))
}

/// Reads an attribute, naming the file on failure.
fn read(path: &Path) -> Result<String, UioError> {
    read_attr(path).map_err(|source| UioError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Parses sysfs's `0x%lx` (the prefix is optional, surrounding blanks are ignored).
pub fn parse_hex(text: &str) -> Option<u64> {
    let t = text.trim();
    let digits = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(digits, 16).ok()
}

#[cfg(test)]
mod tests;
