//! The daemon's settings: built-in defaults, then tcmu-runner's `/etc/tcmu/tcmu.conf` (so
//! a host switching from tcmu-runner keeps its log level and directory), then our own TOML
//! file, then the command line. Each source is a [`Layer`] holding only what it sets;
//! [`Settings::merge`] applies them in that order.
//!
//! Our file is strict — an unknown key is an error naming the key, because a misspelt
//! setting silently ignored is worse than a daemon that refuses to start. tcmu.conf is
//! not ours, so its unknown keys and bad values only produce warnings.
//!
//! Parsing is pure; [`load`] is the only function that reads files.

#![forbid(unsafe_code)]

use serde::Deserialize;
use std::net::SocketAddr;
use std::num::{NonZeroU64, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::time::Duration;

mod exports;
mod size;
#[cfg(test)]
mod tests;

pub use exports::{ExportVolumes, ExportsLayer, ExportsSettings, PollSecs, Portal, parse_portal};
pub use size::Size;

/// Where our configuration file lives unless the command line says otherwise.
pub const DEFAULT_PATH: &str = "/etc/gluster-tcmu/gluster-tcmu.toml";
/// tcmu-runner's configuration file, read for `log_level` and `log_dir`.
pub const TCMU_CONF_PATH: &str = "/etc/tcmu/tcmu.conf";
/// Reactor threads when not configured: one per CPU up to this many. More threads than
/// this only add wake-ups; io_uring keeps each one busy.
pub const MAX_DEFAULT_REACTOR_THREADS: usize = 8;

/// The effective settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `[log]`.
    pub log: LogSettings,
    /// `[metrics]`.
    pub metrics: MetricsSettings,
    /// `[reactor]`.
    pub reactor: ReactorSettings,
    /// `[file]`: defaults for `user:file` LUNs.
    pub file: FileDefaults,
    /// `[ram]`: limits for `user:ram` LUNs.
    pub ram: RamDefaults,
    /// `[glfs]`: defaults for `user:glfs` LUNs.
    pub glfs: GlfsDefaults,
    /// `[exports]`: this host as a gateway of block exports; `None` (no section): no gateway.
    pub exports: Option<ExportsSettings>,
}

/// Logging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// Most verbose level written. Default `info` (tcmu-runner's 3).
    pub level: LogLevel,
    /// Where log lines go. Default [`LogTarget::Auto`].
    pub target: LogTarget,
    /// Directory for [`LogTarget::File`]. Default `/var/log/gluster-tcmu`.
    pub dir: PathBuf,
}

/// Log verbosity, least to most verbose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Errors and warnings.
    Warn,
    /// Normal operation: LUNs added and removed, paths failing over.
    Info,
    /// Control-plane detail.
    Debug,
    /// Per-command detail; slow.
    Trace,
}

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogTarget {
    /// `journald` when started by systemd (`JOURNAL_STREAM` is set), else `stderr`.
    Auto,
    /// Plain lines on stderr.
    Stderr,
    /// Lines on stderr prefixed `<N>` with the syslog priority, which journald reads.
    Journald,
    /// `gluster-tcmu.log` in the log directory.
    File,
}

/// Prometheus-style metrics endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetricsSettings {
    /// Address to serve metrics on; `None` (the default) serves none.
    pub listen: Option<SocketAddr>,
}

/// The io_uring reactor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactorSettings {
    /// Threads; `None` means one per CPU up to [`MAX_DEFAULT_REACTOR_THREADS`].
    pub threads: Option<NonZeroUsize>,
    /// How long a reactor keeps looking for work after a busy turn before it sleeps
    /// (see [`crate::reactor::ReactorOptions::busy_poll`]); zero, the default, never
    /// spins.
    pub busy_poll: Duration,
    /// How long a reactor waits for the rest of a batch of small in-memory file I/O
    /// (see [`crate::reactor::ReactorOptions::gather`]); [`GatherUs::DEFAULT`] unless set.
    pub gather: Duration,
}

impl Default for ReactorSettings {
    fn default() -> Self {
        Self {
            threads: None,
            busy_poll: Duration::ZERO,
            gather: GatherUs::DEFAULT.duration(),
        }
    }
}

/// `gather_us`: microseconds, at most [`GatherUs::MAX`]. io_uring's workers finish the
/// small requests it applies to within microseconds of each other; a longer window would
/// only hold a batch back when a worker is descheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "u64")]
pub struct GatherUs(u64);

impl GatherUs {
    /// The largest window accepted, in microseconds.
    pub const MAX: u64 = 1_000;
    /// The window when none is configured (docs/BENCHMARKS.md has the measurements).
    pub const DEFAULT: GatherUs = GatherUs(100);

    /// The window.
    pub fn duration(self) -> Duration {
        Duration::from_micros(self.0)
    }
}

impl TryFrom<u64> for GatherUs {
    type Error = String;

    fn try_from(us: u64) -> Result<Self, String> {
        micros_at_most("gather_us", us, Self::MAX).map(Self)
    }
}

/// `busy_poll_us`: microseconds, at most [`BusyPollUs::MAX`] (a longer window only burns
/// a core for longer; it cannot make a wake-up cheaper).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "u64")]
pub struct BusyPollUs(u64);

impl BusyPollUs {
    /// The largest window accepted, in microseconds.
    pub const MAX: u64 = 10_000;

    /// The window.
    pub fn duration(self) -> Duration {
        Duration::from_micros(self.0)
    }
}

impl TryFrom<u64> for BusyPollUs {
    type Error = String;

    fn try_from(us: u64) -> Result<Self, String> {
        micros_at_most("busy_poll_us", us, Self::MAX).map(Self)
    }
}

/// `us` for the setting `key` when it is at most `max` microseconds; otherwise why not.
fn micros_at_most(key: &str, us: u64, max: u64) -> Result<u64, String> {
    if us > max {
        return Err(format!("{key} {us} is above {max} ({} ms)", max / 1000));
    }
    Ok(us)
}

/// Defaults for `user:file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDefaults {
    /// Open backing files with `O_DIRECT` unless the config string says `direct=0`.
    /// Default true: the page cache would acknowledge writes the disk does not have.
    pub direct_io: bool,
    /// Whether a LUN whose config string has no `wce=` reports a volatile write cache.
    pub write_cache: WriteCache,
}

/// What a LUN tells initiators about a volatile write cache (the WCE bit of the Caching
/// mode page, SBC-4 §6.5.5) when its config string has no `wce=`. Either way a write is
/// on stable storage before GOOD when the initiator asked for it (FUA, or any write while
/// WCE is 0), and SYNCHRONIZE CACHE makes every completed write durable.
/// In the file: `"on"`, `"off"` or `"attribute"`; `true` and `false` stand for on and off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "WriteCacheValue")]
pub enum WriteCache {
    /// Report a write cache (WCE=1): writes complete once the backend has them, and the
    /// initiator's flushes (SYNCHRONIZE CACHE, FUA) make them durable. tcmu-runner's
    /// behaviour, and what a filesystem on the initiator is built for.
    On,
    /// Report none (WCE=0): every write is durable before GOOD (write-through).
    Off,
    /// Follow the LUN's `emulate_write_cache` attribute (0 for a `user:` LUN made by
    /// targetcli, so write-through unless the admin sets it).
    Attribute,
}

/// `write_cache` as written in the file.
#[derive(Deserialize)]
#[serde(untagged)]
enum WriteCacheValue {
    Flag(bool),
    Word(String),
}

impl TryFrom<WriteCacheValue> for WriteCache {
    type Error = String;

    fn try_from(value: WriteCacheValue) -> Result<Self, String> {
        match value {
            WriteCacheValue::Flag(on) => Ok(if on { WriteCache::On } else { WriteCache::Off }),
            WriteCacheValue::Word(w) => WriteCache::ALL
                .into_iter()
                .find(|c| c.word() == w)
                .ok_or_else(|| {
                    let words: Vec<String> =
                        WriteCache::ALL.map(|c| format!("{:?}", c.word())).to_vec();
                    format!("write_cache {w:?} is not one of {}", words.join(", "))
                }),
        }
    }
}

impl WriteCache {
    /// Every choice, in the order the settings file's documentation names them.
    const ALL: [WriteCache; 3] = [WriteCache::On, WriteCache::Off, WriteCache::Attribute];

    /// The word for it in the settings file.
    pub fn word(self) -> &'static str {
        match self {
            WriteCache::On => "on",
            WriteCache::Off => "off",
            WriteCache::Attribute => "attribute",
        }
    }

    /// The WCE bit for a LUN whose `emulate_write_cache` attribute is `attribute`.
    pub fn reports_cache(self, attribute: bool) -> bool {
        match self {
            WriteCache::On => true,
            WriteCache::Off => false,
            WriteCache::Attribute => attribute,
        }
    }
}

/// Limits for `user:ram`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RamDefaults {
    /// Largest RAM LUN accepted. Default 16 GiB: RAM LUNs are sparse, but an initiator
    /// filling one takes real memory.
    pub max_size: Size,
}

/// Defaults for `user:glfs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlfsDefaults {
    /// How long connecting to a volume may take, in `CheckConfig` and when a LUN opens.
    /// Default 10 s.
    pub connect_timeout: Duration,
    /// Directory for libgfapi's own log files. Default `/var/log/gluster-tcmu`.
    pub log_dir: PathBuf,
    /// The kernel's command time-out (`attrib/cmd_time_out`) given to a new LUN that
    /// has the kernel's default of 30 s. Default 130, as gluster-block: a hung brick
    /// holds writes for the volume's `network.ping-timeout` (42 s by default), and the
    /// kernel would fail them at 30 s. 0 leaves every LUN's value alone.
    pub cmd_time_out_secs: u32,
    /// Whether a LUN whose config string has no `wce=` reports a volatile write cache.
    pub write_cache: WriteCache,
    /// Whether requests go through the volume's client-side io-threads translator.
    pub client_io_threads: ClientIoThreads,
}

/// What a LUN's gfapi connection does with the client-side io-threads translator, which
/// volumes with `performance.client-io-threads on` (the gluster-block profile) put in the
/// client graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientIoThreads {
    /// Let it queue each request for one of its threads, which winds it down the graph
    /// (default: replicated writes wind in parallel; docs/DECISIONS.md).
    Use,
    /// Pass requests through it: the reactor winds each one itself, with no thread
    /// hand-off (less CPU per request, about 10 % more 4 KiB random reads in the guest,
    /// a third fewer replicated writes).
    Bypass,
}

/// One source of settings; `None` leaves the value to earlier sources. Deserialized
/// from our TOML file (unknown keys refused); the command line builds one too.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Layer {
    #[serde(default)]
    pub log: LogLayer,
    #[serde(default)]
    pub metrics: MetricsLayer,
    #[serde(default)]
    pub reactor: ReactorLayer,
    #[serde(default)]
    pub file: FileLayer,
    #[serde(default)]
    pub ram: RamLayer,
    #[serde(default)]
    pub glfs: GlfsLayer,
    #[serde(default)]
    pub exports: Option<ExportsLayer>,
}

/// `[log]` keys.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct LogLayer {
    pub level: Option<LogLevel>,
    pub target: Option<LogTarget>,
    pub dir: Option<PathBuf>,
}

/// `[metrics]` keys.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct MetricsLayer {
    pub listen: Option<SocketAddr>,
}

/// `[reactor]` keys.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ReactorLayer {
    pub threads: Option<NonZeroUsize>,
    pub busy_poll_us: Option<BusyPollUs>,
    pub gather_us: Option<GatherUs>,
}

/// `[file]` keys.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct FileLayer {
    pub direct_io: Option<bool>,
    pub write_cache: Option<WriteCache>,
}

/// `[ram]` keys.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RamLayer {
    pub max_size: Option<Size>,
}

/// `[glfs]` keys.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct GlfsLayer {
    pub connect_timeout_secs: Option<NonZeroU64>,
    pub log_dir: Option<PathBuf>,
    pub cmd_time_out_secs: Option<u32>,
    pub write_cache: Option<WriteCache>,
    pub client_io_threads: Option<ClientIoThreads>,
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// Our TOML file is malformed or has an unknown key or bad value; the source names it.
    #[error("invalid configuration file {path}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// toml's message, with line, column and key.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// A file exists but cannot be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
}

impl Default for Settings {
    fn default() -> Self {
        let log_dir = PathBuf::from("/var/log/gluster-tcmu");
        Settings {
            log: LogSettings {
                level: LogLevel::Info,
                target: LogTarget::Auto,
                dir: log_dir.clone(),
            },
            metrics: MetricsSettings::default(),
            reactor: ReactorSettings::default(),
            file: FileDefaults {
                direct_io: true,
                write_cache: WriteCache::On,
            },
            ram: RamDefaults {
                max_size: Size::gib(16),
            },
            glfs: GlfsDefaults {
                connect_timeout: Duration::from_secs(10),
                log_dir,
                cmd_time_out_secs: 130,
                write_cache: WriteCache::On,
                client_io_threads: ClientIoThreads::Use,
            },
            exports: None,
        }
    }
}

impl Settings {
    /// Defaults, then `tcmu_conf`, then `ours`, then `overrides` (the command line).
    pub fn merge(tcmu_conf: &Layer, ours: &Layer, overrides: &Layer) -> Settings {
        let mut settings = Settings::default();
        for layer in [tcmu_conf, ours, overrides] {
            settings.apply(layer);
        }
        settings
    }

    /// Overwrites every value `layer` sets.
    pub fn apply(&mut self, layer: &Layer) {
        set(&mut self.log.level, layer.log.level);
        set(&mut self.log.target, layer.log.target);
        set(&mut self.log.dir, layer.log.dir.clone());
        if let Some(listen) = layer.metrics.listen {
            self.metrics.listen = Some(listen);
        }
        if let Some(threads) = layer.reactor.threads {
            self.reactor.threads = Some(threads);
        }
        let busy_poll = layer.reactor.busy_poll_us.map(BusyPollUs::duration);
        set(&mut self.reactor.busy_poll, busy_poll);
        let gather = layer.reactor.gather_us.map(GatherUs::duration);
        set(&mut self.reactor.gather, gather);
        set(&mut self.file.direct_io, layer.file.direct_io);
        set(&mut self.file.write_cache, layer.file.write_cache);
        set(&mut self.ram.max_size, layer.ram.max_size);
        let timeout = layer.glfs.connect_timeout_secs;
        set(&mut self.glfs.connect_timeout, timeout.map(secs));
        set(&mut self.glfs.log_dir, layer.glfs.log_dir.clone());
        set(
            &mut self.glfs.cmd_time_out_secs,
            layer.glfs.cmd_time_out_secs,
        );
        set(&mut self.glfs.write_cache, layer.glfs.write_cache);
        set(
            &mut self.glfs.client_io_threads,
            layer.glfs.client_io_threads,
        );
        if let Some(exports) = &layer.exports {
            self.exports = Some(exports.to_settings());
        }
    }
}

impl ReactorSettings {
    /// Threads to start on a machine with `cpus` CPUs.
    pub fn effective_threads(&self, cpus: usize) -> usize {
        match self.threads {
            Some(n) => n.get(),
            None => cpus.clamp(1, MAX_DEFAULT_REACTOR_THREADS),
        }
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

fn secs(n: NonZeroU64) -> Duration {
    Duration::from_secs(n.get())
}

/// Parses our TOML file's text.
pub fn parse_toml(path: &Path, text: &str) -> Result<Layer, SettingsError> {
    toml::from_str(text).map_err(|e| SettingsError::Parse {
        path: path.to_path_buf(),
        source: Box::new(e),
    })
}

/// What tcmu.conf contributes, and what in it was ignored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TcmuConf {
    /// `log_level` and `log_dir`, mapped to our settings.
    pub layer: Layer,
    /// One sentence per line that was skipped, for the log.
    pub warnings: Vec<String>,
}

/// Parses tcmu-runner's `key = value` file (`#` starts a comment; values may be quoted).
/// `log_level` 0-5 maps to error, error, warn, info, debug, trace (tcmu-runner's CRIT has
/// no equal); `log_dir` sets both our log directory and libgfapi's, as it did for
/// tcmu-runner. Anything else is reported in [`TcmuConf::warnings`].
pub fn parse_tcmu_conf(text: &str) -> TcmuConf {
    let mut conf = TcmuConf::default();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Err(why) = tcmu_line(&mut conf.layer, line) {
            conf.warnings
                .push(format!("tcmu.conf line {}: {why}; ignored", n + 1));
        }
    }
    conf
}

/// Applies one non-empty, comment-free tcmu.conf line.
fn tcmu_line(layer: &mut Layer, line: &str) -> Result<(), String> {
    let (key, value) = line
        .split_once('=')
        .ok_or_else(|| format!("{line:?} is not key = value"))?;
    let value = unquote(value.trim());
    match key.trim() {
        "log_level" => {
            layer.log.level = Some(tcmu_log_level(value)?);
        }
        "log_dir" | "log_dir_path" => {
            layer.log.dir = Some(PathBuf::from(value));
            layer.glfs.log_dir = Some(PathBuf::from(value));
        }
        other => return Err(format!("key {other:?} has no gluster-tcmu equivalent")),
    }
    Ok(())
}

/// tcmu-runner's numeric levels (0 CRIT .. 5 DEBUG SCSI CMD) to ours.
fn tcmu_log_level(value: &str) -> Result<LogLevel, String> {
    match value {
        "0" | "1" => Ok(LogLevel::Error),
        "2" => Ok(LogLevel::Warn),
        "3" => Ok(LogLevel::Info),
        "4" => Ok(LogLevel::Debug),
        "5" => Ok(LogLevel::Trace),
        _ => Err(format!("log_level {value:?} is not a number from 0 to 5")),
    }
}

fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

/// Which files [`load`] reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    /// Our TOML file.
    pub ours: PathBuf,
    /// Fail if `ours` is missing (the admin named it on the command line).
    pub ours_required: bool,
    /// tcmu-runner's file; skipped when missing.
    pub tcmu_conf: PathBuf,
}

impl Default for Sources {
    fn default() -> Self {
        Sources {
            ours: PathBuf::from(DEFAULT_PATH),
            ours_required: false,
            tcmu_conf: PathBuf::from(TCMU_CONF_PATH),
        }
    }
}

/// The merged settings and the warnings to log once logging is up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// Effective settings.
    pub settings: Settings,
    /// Skipped tcmu.conf lines.
    pub warnings: Vec<String>,
}

/// Reads both files (missing ones count as empty, unless `ours_required`) and merges
/// them with `overrides`.
pub fn load(sources: &Sources, overrides: &Layer) -> Result<Loaded, SettingsError> {
    let tcmu = read_optional(&sources.tcmu_conf)?
        .map(|text| parse_tcmu_conf(&text))
        .unwrap_or_default();
    let ours = match read_optional(&sources.ours)? {
        Some(text) => parse_toml(&sources.ours, &text)?,
        None if sources.ours_required => return Err(missing(&sources.ours)),
        None => Layer::default(),
    };
    Ok(Loaded {
        settings: Settings::merge(&tcmu.layer, &ours, overrides),
        warnings: tcmu.warnings,
    })
}

fn read_optional(path: &Path) -> Result<Option<String>, SettingsError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(SettingsError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn missing(path: &Path) -> SettingsError {
    SettingsError::Read {
        path: path.to_path_buf(),
        source: std::io::Error::from(std::io::ErrorKind::NotFound),
    }
}
