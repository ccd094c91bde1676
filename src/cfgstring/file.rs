//! `user:file`: a LUN backed by a local file.
//!
//! Grammar: `/absolute/path[;direct=0|1][;wce=0|1][;ro=0|1]` — the path first, options
//! after it in any order, each at most once. The path therefore cannot contain `;`.

use super::syntax::{key_value, parse_bool, set_once, split_pieces};
use super::{CfgStringError, SubtypeFormat, TcmurOptions};
use rustix::fs::Access;
use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

/// A parsed `user:file` config string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileConfig {
    /// Absolute path of the backing file, without `..`.
    pub path: PathBuf,
    /// `direct=`: open with `O_DIRECT`. `None` means the daemon's `[file] direct_io`.
    pub direct: Option<bool>,
    /// `wce=`: report a volatile write cache. `None` means the daemon's `[file]
    /// write_cache` setting.
    pub write_cache: Option<bool>,
    /// `ro=1`: refuse writes with DATA PROTECT.
    pub read_only: bool,
    /// tcmu-runner options found in the string.
    pub tcmur: TcmurOptions,
}

/// The `file` subtype's config string format: its name, help text and parser.
#[derive(Debug)]
pub struct FileFormat;

/// Option keys, listed in errors.
const KNOWN: &str = "direct, wce, ro";

impl SubtypeFormat for FileFormat {
    type Config = FileConfig;
    const SUBTYPE: &'static str = "file";

    fn config_desc() -> &'static str {
        DESC
    }

    fn parse(cfg: &str) -> Result<FileConfig, CfgStringError> {
        let pieces = split_pieces(cfg)?;
        let (path, options) = pieces
            .items
            .split_first()
            .ok_or(CfgStringError::MissingPath)?;
        let mut config = FileConfig {
            path: check_path(path)?,
            direct: None,
            write_cache: None,
            read_only: false,
            tcmur: pieces.tcmur,
        };
        let mut ro = None;
        for piece in options {
            let (key, value) = key_value(piece)?;
            let flag = parse_bool(key, value);
            match key {
                "direct" => set_once(&mut config.direct, key, flag?)?,
                "wce" => set_once(&mut config.write_cache, key, flag?)?,
                "ro" => set_once(&mut ro, key, flag?)?,
                _ => return Err(unknown(key)),
            }
        }
        config.read_only = ro.unwrap_or(false);
        Ok(config)
    }
}

fn unknown(key: &str) -> CfgStringError {
    CfgStringError::UnknownOption {
        subtype: FileFormat::SUBTYPE,
        key: key.to_owned(),
        known: KNOWN,
    }
}

/// Absolute, no `..`, and not a form that can only name a directory.
fn check_path(path: &str) -> Result<PathBuf, CfgStringError> {
    if !path.starts_with('/') {
        return Err(CfgStringError::NotAbsolute(path.to_owned()));
    }
    let parsed = Path::new(path);
    if parsed.components().any(|c| c == Component::ParentDir) {
        return Err(CfgStringError::DotDot(path.to_owned()));
    }
    if path.ends_with('/') || path.ends_with("/.") {
        return Err(CfgStringError::DirectoryPath(path.to_owned()));
    }
    Ok(parsed.to_path_buf())
}

/// The filesystem half of `CheckConfig`: the backing file is a writable regular file, or
/// it does not exist yet and its directory exists and is writable (the daemon creates it
/// at the LUN size). Kept apart from [`FileFormat::parse`] because it does I/O.
pub fn check_on_disk(config: &FileConfig) -> Result<(), CfgStringError> {
    let path = &config.path;
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Err(CfgStringError::IsDirectory(path.clone())),
        Ok(meta) if !meta.is_file() => Err(CfgStringError::NotRegularFile(path.clone())),
        Ok(_) if config.read_only => Ok(()),
        Ok(_) => writable(path).map_err(|_| CfgStringError::NotWritable(path.clone())),
        Err(e) if missing(&e) && config.read_only => {
            Err(CfgStringError::ReadOnlyMissing(path.clone()))
        }
        Err(e) if missing(&e) => check_creatable(path),
        Err(source) => Err(CfgStringError::Inspect {
            path: path.clone(),
            source,
        }),
    }
}

/// A missing file can be created: its parent is an existing, writable directory.
fn check_creatable(path: &Path) -> Result<(), CfgStringError> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    let (p, d) = (path.to_path_buf(), dir.to_path_buf());
    match std::fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => Err(CfgStringError::ParentNotDir { path: p, dir: d }),
        Ok(_) if rustix::fs::access(dir, Access::WRITE_OK | Access::EXEC_OK).is_err() => {
            Err(CfgStringError::ParentNotWritable { path: p, dir: d })
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            Err(CfgStringError::NoParentDir { path: p, dir: d })
        }
        Err(source) => Err(CfgStringError::Inspect { path: d, source }),
    }
}

/// The path does not exist, or one of its parents is not a directory.
fn missing(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory)
}

fn writable(path: &Path) -> rustix::io::Result<()> {
    rustix::fs::access(path, Access::WRITE_OK)
}

const DESC: &str = "\
The absolute path of the backing file, optionally followed by options
separated by ';':

    /path/to/file[;direct=0|1][;wce=0|1][;ro=0|1]

  direct=1  bypass the page cache (O_DIRECT). Default: the daemon's
            [file] direct_io setting in /etc/gluster-tcmu/gluster-tcmu.toml.
  wce=1     tell initiators the LUN has a volatile write cache, so they
            send SYNCHRONIZE CACHE (which fdatasyncs the file) or FUA;
            wce=0 says there is none: every write is synced before it is
            answered. Default: the daemon's [file] write_cache setting (on).
  ro=1      serve the LUN read-only; writes fail with DATA PROTECT.

The path may not contain '..', ';', ',' or ':'. It must name a regular
file, or a file that can be created in an existing writable directory;
a missing file is created, sparse, at the LUN size.

Examples:
    create lun0 10G /var/lib/gluster-tcmu/lun0.img
    create lun1 1T /srv/luns/lun1.img;direct=0;wce=1
    create golden 20G /srv/images/base.img;ro=1";
