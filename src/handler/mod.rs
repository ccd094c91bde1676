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
//! subtype and returned in [`RunnerOptions`]. Empty pieces (`;;`, a trailing `;`) are
//! ignored so that strings edited by hand or by scripts do not fail on a stray separator.
//!
//! The filesystem check of `file` ([`file::check_on_disk`]) is the only part that does I/O;
//! everything else here is pure.

#![forbid(unsafe_code)]

pub mod file;
pub mod glfs;
pub mod ram;
mod shared;

#[cfg(test)]
mod tests;

pub use file::FileConfig;
pub use glfs::{GlfsConfig, Host};
pub use ram::RamConfig;
pub use shared::ConfigError;

/// Longest `"<subtype>/<config>"` the kernel keeps without truncating it.
pub const MAX_DEV_CONFIG_LEN: usize = 255;

/// tcmu-runner options that any subtype's config string may carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunnerOptions {
    /// `tcmur_cmd_time_out=N`: seconds after which a command still running in the handler
    /// is reported as timed out (tcmu-runner only logs it; so will we).
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
pub enum HandlerConfig {
    /// `user:file`.
    File(FileConfig),
    /// `user:ram`.
    Ram(RamConfig),
    /// `user:glfs`.
    Glfs(GlfsConfig),
}

/// What each subtype module provides: its name, the help targetcli shows, and its parser.
pub trait Handler {
    /// The typed config its strings parse into.
    type Config;
    /// The subtype as it appears in configfs and targetcli (`user:<SUBTYPE>`).
    const SUBTYPE: &'static str;
    /// Help text shown under "CFGSTRING FORMAT" by `targetcli ... help create`.
    fn config_desc() -> &'static str;
    /// Parses the part after `"<subtype>/"`. Pure: touches no file or network.
    fn parse(cfg: &str) -> Result<Self::Config, ConfigError>;
}

impl Subtype {
    /// Every subtype, in the order they are listed to targetcli.
    pub const ALL: [Subtype; 3] = [Subtype::File, Subtype::Glfs, Subtype::Ram];

    /// Looks a subtype up by its configfs name.
    pub fn from_name(name: &str) -> Result<Self, ConfigError> {
        Self::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| ConfigError::UnknownSubtype(name.to_owned()))
    }

    /// The configfs / targetcli name.
    pub fn name(self) -> &'static str {
        match self {
            Subtype::File => file::File::SUBTYPE,
            Subtype::Ram => ram::Ram::SUBTYPE,
            Subtype::Glfs => glfs::Glfs::SUBTYPE,
        }
    }

    /// The admin help text (D-Bus property `ConfigDesc`).
    pub fn config_desc(self) -> &'static str {
        match self {
            Subtype::File => file::File::config_desc(),
            Subtype::Ram => ram::Ram::config_desc(),
            Subtype::Glfs => glfs::Glfs::config_desc(),
        }
    }

    /// Parses `cfg` (the part after `"<subtype>/"`), applying the shared rules first.
    pub fn parse(self, cfg: &str) -> Result<HandlerConfig, ConfigError> {
        check_shared_rules(self.name(), cfg)?;
        Ok(match self {
            Subtype::File => HandlerConfig::File(file::File::parse(cfg)?),
            Subtype::Ram => HandlerConfig::Ram(ram::Ram::parse(cfg)?),
            Subtype::Glfs => HandlerConfig::Glfs(glfs::Glfs::parse(cfg)?),
        })
    }
}

impl HandlerConfig {
    /// The subtype this config belongs to.
    pub fn subtype(&self) -> Subtype {
        match self {
            HandlerConfig::File(_) => Subtype::File,
            HandlerConfig::Ram(_) => Subtype::Ram,
            HandlerConfig::Glfs(_) => Subtype::Glfs,
        }
    }

    /// The tcmu-runner options carried by the string.
    pub fn runner_options(&self) -> RunnerOptions {
        match self {
            HandlerConfig::File(c) => c.runner,
            HandlerConfig::Ram(c) => c.runner,
            HandlerConfig::Glfs(c) => c.runner,
        }
    }
}

/// Splits `"<subtype>/<config>"` at the first `/`: `"file//var/lib/x.img"` gives
/// `("file", "/var/lib/x.img")`. The subtype must be non-empty; the config may be empty
/// (`"ram/"`).
pub fn split_subtype(dev_config: &str) -> Result<(&str, &str), ConfigError> {
    match dev_config.split_once('/') {
        Some(("", _)) => Err(ConfigError::EmptySubtype),
        Some(pair) => Ok(pair),
        None => Err(ConfigError::NoSubtype(dev_config.to_owned())),
    }
}

/// Parses a full `"<subtype>/<config>"` string (uio name tail, targetcli's argument).
pub fn parse_dev_config(dev_config: &str) -> Result<HandlerConfig, ConfigError> {
    let (subtype, cfg) = split_subtype(dev_config)?;
    Subtype::from_name(subtype)?.parse(cfg)
}

/// The kernel and rtslib limits every config string obeys (see the module docs).
pub fn check_shared_rules(subtype: &str, cfg: &str) -> Result<(), ConfigError> {
    let len = subtype.len() + 1 + cfg.len();
    if len > MAX_DEV_CONFIG_LEN {
        return Err(ConfigError::TooLong { len });
    }
    match cfg.chars().find(|c| forbidden_reason(*c).is_some()) {
        Some(ch) => Err(ConfigError::Forbidden {
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

/// Joins an error and its sources into one line, for messages shown to the admin over
/// D-Bus, where only a string travels.
pub fn admin_message(err: &dyn std::error::Error) -> String {
    let mut msg = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        msg.push_str(": ");
        msg.push_str(&cause.to_string());
        source = cause.source();
    }
    msg
}
