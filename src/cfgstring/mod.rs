//! Config strings of the TCMU subtypes we serve (`file`, `ram`, `glfs`), parsed into typed
//! configs with errors written for the storage admin.
//!
//! A config string reaches us three ways, always as `"<subtype>/<config>"`: targetcli's
//! `CheckConfig` and `ChangeMedium` D-Bus calls, and the uio device name the kernel creates
//! (`tcm-user/<hba>/<device>/<subtype>/<config>`). [`split_subtype`] separates the two
//! halves; each subtype module parses its half.
//!
//! Rules shared by every subtype, because the kernel and rtslib impose them:
//!
//! * the whole `"<subtype>/<config>"` is at most [`MAX_DEV_CONFIG_LEN`] bytes — the kernel
//!   silently truncates longer strings (`TCMU_CONFIG_LEN` is 256 with the NUL);
//! * no `,` or newline — the kernel splits its `control` file on them;
//! * no `:` — rtslib refuses it;
//! * no other control characters — they cannot be typed in targetcli and only hide mistakes.
//!
//! Options are separated by `;`. tcmu-runner's own option `tcmur_cmd_time_out=N` (seconds,
//! written by gluster-block, before or after the handler's part) is accepted by every
//! subtype and returned in [`TcmurOptions`]. Empty pieces (`;;`, a trailing `;`) are
//! ignored so that strings edited by hand or by scripts do not fail on a stray separator.
//!
//! The filesystem check of `file` ([`file::check_on_disk`]) is the only part that does I/O;
//! everything else here is pure.

#![forbid(unsafe_code)]

mod error;
pub mod file;
pub mod glfs;
pub mod ram;
mod syntax;

#[cfg(test)]
mod tests;

pub use error::CfgStringError;
pub use file::FileConfig;
pub use glfs::{GlfsConfig, Host};
pub use ram::RamConfig;

/// Longest `"<subtype>/<config>"` the kernel keeps without truncating it.
pub const MAX_DEV_CONFIG_LEN: usize = 255;

/// tcmu-runner options that any subtype's config string may carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcmurOptions {
    /// `tcmur_cmd_time_out=N`: seconds after which a command is late in the handler:
    /// tcmu-runner only reports such commands, and so does the device
    /// (`Device::set_late_after`); the kernel's `cmd_time_out` is what fails one.
    pub cmd_time_out: Option<u32>,
}

/// The subtypes this daemon serves; each is one `user:<subtype>` backstore in targetcli.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subtype {
    /// A local file (or one on a mounted filesystem).
    File,
    /// A sparse RAM disk, lost when the daemon stops.
    Ram,
    /// A file on a GlusterFS volume, reached through libgfapi.
    Glfs,
}

/// A parsed config string of any subtype.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubtypeConfig {
    /// `user:file`.
    File(FileConfig),
    /// `user:ram`.
    Ram(RamConfig),
    /// `user:glfs`.
    Glfs(GlfsConfig),
}

/// What each subtype module provides: its name, the help targetcli shows, and its parser.
pub trait SubtypeFormat {
    /// The typed config its strings parse into.
    type Config;
    /// The subtype as it appears in configfs and targetcli (`user:<SUBTYPE>`).
    const SUBTYPE: &'static str;
    /// Help text shown under "CFGSTRING FORMAT" by `targetcli ... help create`.
    fn config_desc() -> &'static str;
    /// Parses the part after `"<subtype>/"`. Pure: touches no file or network.
    fn parse(cfg: &str) -> Result<Self::Config, CfgStringError>;
}

impl Subtype {
    /// Every subtype, in the order they are listed to targetcli.
    pub const ALL: [Subtype; 3] = [Subtype::File, Subtype::Glfs, Subtype::Ram];

    /// Looks a subtype up by its configfs name.
    pub fn from_name(name: &str) -> Result<Self, CfgStringError> {
        Self::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| CfgStringError::UnknownSubtype(name.to_owned()))
    }

    /// The configfs / targetcli name.
    pub fn name(self) -> &'static str {
        match self {
            Subtype::File => file::FileFormat::SUBTYPE,
            Subtype::Ram => ram::RamFormat::SUBTYPE,
            Subtype::Glfs => glfs::GlfsFormat::SUBTYPE,
        }
    }

    /// The admin help text (D-Bus property `ConfigDesc`).
    pub fn config_desc(self) -> &'static str {
        match self {
            Subtype::File => file::FileFormat::config_desc(),
            Subtype::Ram => ram::RamFormat::config_desc(),
            Subtype::Glfs => glfs::GlfsFormat::config_desc(),
        }
    }

    /// Parses `cfg` (the part after `"<subtype>/"`), applying the shared rules first.
    pub fn parse(self, cfg: &str) -> Result<SubtypeConfig, CfgStringError> {
        check_shared_rules(self.name(), cfg)?;
        Ok(match self {
            Subtype::File => SubtypeConfig::File(file::FileFormat::parse(cfg)?),
            Subtype::Ram => SubtypeConfig::Ram(ram::RamFormat::parse(cfg)?),
            Subtype::Glfs => SubtypeConfig::Glfs(glfs::GlfsFormat::parse(cfg)?),
        })
    }
}

impl SubtypeConfig {
    /// The subtype this config belongs to.
    pub fn subtype(&self) -> Subtype {
        match self {
            SubtypeConfig::File(_) => Subtype::File,
            SubtypeConfig::Ram(_) => Subtype::Ram,
            SubtypeConfig::Glfs(_) => Subtype::Glfs,
        }
    }

    /// The tcmu-runner options carried by the string.
    pub fn tcmur_options(&self) -> TcmurOptions {
        match self {
            SubtypeConfig::File(c) => c.tcmur,
            SubtypeConfig::Ram(c) => c.tcmur,
            SubtypeConfig::Glfs(c) => c.tcmur,
        }
    }
}

/// Splits `"<subtype>/<config>"` at the first `/`: `"file//var/lib/x.img"` gives
/// `("file", "/var/lib/x.img")`. The subtype must be non-empty; the config may be empty
/// (`"ram/"`).
pub fn split_subtype(dev_config: &str) -> Result<(&str, &str), CfgStringError> {
    match dev_config.split_once('/') {
        Some(("", _)) => Err(CfgStringError::EmptySubtype),
        Some(pair) => Ok(pair),
        None => Err(CfgStringError::NoSubtype(dev_config.to_owned())),
    }
}

/// Parses a full `"<subtype>/<config>"` string (uio name tail, targetcli's argument).
pub fn parse_dev_config(dev_config: &str) -> Result<SubtypeConfig, CfgStringError> {
    let (subtype, cfg) = split_subtype(dev_config)?;
    Subtype::from_name(subtype)?.parse(cfg)
}

/// The kernel and rtslib limits every config string obeys (see the module docs).
pub fn check_shared_rules(subtype: &str, cfg: &str) -> Result<(), CfgStringError> {
    let len = subtype.len() + 1 + cfg.len();
    if len > MAX_DEV_CONFIG_LEN {
        return Err(CfgStringError::TooLong { len });
    }
    match cfg.chars().find(|c| forbidden_reason(*c).is_some()) {
        Some(ch) => Err(CfgStringError::Forbidden {
            ch,
            why: forbidden_reason(ch).unwrap_or_default(),
        }),
        None => Ok(()),
    }
}

/// Why `c` may not appear in a config string, or `None` if it may.
fn forbidden_reason(c: char) -> Option<&'static str> {
    match c {
        ',' => Some("the kernel splits its control file on ','"),
        '\n' => Some("the kernel splits its control file on newlines"),
        ':' => Some("rtslib refuses ':' in config strings"),
        c if c.is_control() => Some("control characters cannot be typed in targetcli"),
        _ => None,
    }
}
