//! A TCMU device's configfs directory,
//! `<configfs_root>/target/core/user_<hba>/<device>/`: its attributes and its
//! `block_dev` / `reset_ring` levers (drivers/target/target_core_user.c, the `action/`
//! attributes).
//!
//! The `info` file is two lines built by the target core and by
//! `tcmu_show_configfs_dev_params`:
//!
//! ```text
//! Status: ACTIVATED  Max Queue Depth: 128  SectorSize: 512  HwMaxSectors: 128
//!         Config: glfs/vol@host/file Size: 1073741824 MaxDataAreaMB: 1024 DataPagesPerBlk: 1 CmdRingSizeMB: 8
//! ```
//!
//! Older kernels print fewer fields after `Size:`, so [`parse_info`] only relies on
//! `Config: <text> Size: <n>` and ignores the rest.

pub mod alua;

use super::sysfs::{read_attr, write_attr};
use super::uio::UioName;
use std::io;
use std::path::{Path, PathBuf};

/// What the `info` file says about the backing store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// `dev_config` (`<subtype>/<cfgstring>`), `None` when the kernel prints `NULL`.
    pub config: Option<String>,
    /// `dev_size` in bytes.
    pub size: u64,
}

/// Why the text of an attribute could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("no \"Config: \" field")]
    NoConfig,
    #[error("no \"Size: \" field after \"Config: \"")]
    NoSize,
    #[error("{text:?} is not a decimal number")]
    NotDecimal { text: String },
}

/// Errors of configfs access; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigfsError {
    #[error("TCMU device directory {} does not exist", path.display())]
    DeviceMissing { path: PathBuf },
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("unexpected contents in {}", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: ParseError,
    },
}

/// How `reset_ring` fails the commands that are still outstanding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetMode {
    /// `1`: complete them with BUSY, so the initiator retries.
    Busy,
    /// `2`: complete them with CHECK CONDITION (hard failure).
    CheckCondition,
}

/// One device's configfs directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigfsDevice {
    dir: PathBuf,
}

impl ConfigfsDevice {
    /// Finds the directory of the device a UIO name refers to under `configfs_root`
    /// (normally `/sys/kernel/config`).
    pub fn locate(configfs_root: &Path, name: &UioName) -> Result<Self, ConfigfsError> {
        let dir = configfs_root
            .join("target/core")
            .join(format!("user_{}", name.hba))
            .join(&name.device);
        if !dir.is_dir() {
            return Err(ConfigfsError::DeviceMissing { path: dir });
        }
        Ok(Self { dir })
    }

    /// The device directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Config string and size from `info`.
    pub fn info(&self) -> Result<DeviceInfo, ConfigfsError> {
        self.parsed("info", parse_info)
    }

    /// `attrib/hw_block_size`: the logical block size in bytes.
    pub fn hw_block_size(&self) -> Result<u32, ConfigfsError> {
        self.parsed("attrib/hw_block_size", parse_decimal)
    }

    /// `attrib/hw_max_sectors`: the largest command, in blocks.
    pub fn hw_max_sectors(&self) -> Result<u32, ConfigfsError> {
        self.parsed("attrib/hw_max_sectors", parse_decimal)
    }

    /// `attrib/emulate_write_cache`: whether the LUN reports a volatile write cache.
    pub fn emulate_write_cache(&self) -> Result<bool, ConfigfsError> {
        self.parsed("attrib/emulate_write_cache", |t| {
            parse_decimal::<u32>(t).map(|v| v != 0)
        })
    }

    /// `attrib/max_data_area_mb`: the size of the ring's data area.
    pub fn max_data_area_mb(&self) -> Result<u32, ConfigfsError> {
        self.parsed("attrib/max_data_area_mb", parse_decimal)
    }

    /// `attrib/cmd_time_out`: seconds before the kernel times a command out (0 = never).
    pub fn cmd_time_out(&self) -> Result<u32, ConfigfsError> {
        self.parsed("attrib/cmd_time_out", parse_decimal)
    }

    /// Sets `attrib/cmd_time_out` (the kernel refuses while the device has exports).
    pub fn set_cmd_time_out(&self, secs: u32) -> Result<(), ConfigfsError> {
        self.write("attrib/cmd_time_out", &secs.to_string())
    }

    /// Sets `attrib/dev_size`. On an enabled device the kernel sends it to the handler as
    /// a RECONFIG event and returns the handler's answer from this write.
    pub fn set_dev_size(&self, bytes: u64) -> Result<(), ConfigfsError> {
        self.write("attrib/dev_size", &bytes.to_string())
    }

    /// The target port groups under `alua/` (see [`alua`]).
    pub fn alua_groups(&self) -> Result<Vec<alua::TargetPortGroup>, ConfigfsError> {
        alua::read_groups(&self.dir)
    }

    /// `action/block_dev`: stop (`true`) or resume queueing commands to the ring, used
    /// around a ring reset when a restarted daemon takes a device over.
    pub fn block_dev(&self, on: bool) -> Result<(), ConfigfsError> {
        self.write("action/block_dev", if on { "1" } else { "0" })
    }

    /// `action/reset_ring`: fail outstanding commands and empty the ring, so a new
    /// handler starts from a clean `cmd_head == cmd_tail == 0`.
    pub fn reset_ring(&self, mode: ResetMode) -> Result<(), ConfigfsError> {
        let value = match mode {
            ResetMode::Busy => "1",
            ResetMode::CheckCondition => "2",
        };
        self.write("action/reset_ring", value)
    }

    /// Reads `file` and parses it, naming the file in any error.
    fn parsed<T>(
        &self,
        file: &str,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Result<T, ConfigfsError> {
        let path = self.dir.join(file);
        let text = match read_attr(&path) {
            Ok(text) => text,
            Err(source) => return Err(ConfigfsError::Read { path, source }),
        };
        parse(&text).map_err(|source| ConfigfsError::Parse { path, source })
    }

    /// Writes `value` to `file`.
    fn write(&self, file: &str, value: &str) -> Result<(), ConfigfsError> {
        let path = self.dir.join(file);
        write_attr(&path, value).map_err(|source| ConfigfsError::Write { path, source })
    }
}

/// Parses the `info` text: the config is everything between `Config: ` and the last
/// ` Size: ` after it (a config string may contain spaces), the size the number after.
pub fn parse_info(text: &str) -> Result<DeviceInfo, ParseError> {
    let (_, after_config) = text.split_once("Config: ").ok_or(ParseError::NoConfig)?;
    let (config, after_size) = after_config
        .rsplit_once(" Size: ")
        .ok_or(ParseError::NoSize)?;
    let size = after_size.split_whitespace().next().unwrap_or_default();
    let size = parse_decimal(size)?;
    let config = (config != "NULL").then(|| config.to_owned());
    Ok(DeviceInfo { config, size })
}

/// Parses a decimal attribute value, ignoring surrounding blanks.
pub fn parse_decimal<T: std::str::FromStr>(text: &str) -> Result<T, ParseError> {
    let t = text.trim();
    let digits_only = !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let value = digits_only.then(|| t.parse().ok()).flatten();
    value.ok_or_else(|| ParseError::NotDecimal {
        text: text.to_owned(),
    })
}

#[cfg(test)]
mod tests;
