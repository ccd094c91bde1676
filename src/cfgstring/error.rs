//! Why a config string was refused: one enum for every subtype, worded for the admin.

use super::MAX_DEV_CONFIG_LEN;
use std::path::PathBuf;

/// Why a config string was refused. `Display` is the exact sentence targetcli shows after
/// "cfgstring invalid: ", so each says what is wrong and, where useful, what to write.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CfgStringError {
    /// `"<subtype>/<config>"` longer than the kernel keeps.
    #[error(
        "config string is {len} bytes with its \"<subtype>/\" prefix; the kernel keeps at most {MAX_DEV_CONFIG_LEN}"
    )]
    TooLong {
        /// Length including `"<subtype>/"`.
        len: usize,
    },
    /// A character the kernel or rtslib cannot carry.
    #[error("{ch:?} is not allowed in a config string: {why}")]
    Forbidden {
        /// The offending character.
        ch: char,
        /// Which layer refuses it.
        why: &'static str,
    },
    /// No `/` between subtype and config.
    #[error("expected \"<subtype>/<config>\", found no '/' in {0:?}")]
    NoSubtype(String),
    /// Nothing before the first `/`.
    #[error("expected \"<subtype>/<config>\", found an empty subtype")]
    EmptySubtype,
    /// A subtype we do not serve.
    #[error("unknown handler {0:?}: this daemon serves file, glfs and ram")]
    UnknownSubtype(String),
    /// A string sent to one handler's object that names another.
    #[error("config string is for handler {found:?} but was sent to handler {expected:?}")]
    WrongSubtype {
        /// The handler the call reached.
        expected: String,
        /// The handler named in the string.
        found: String,
    },
    /// An option piece without `=`.
    #[error("option {0:?} is not of the form key=value")]
    NotKeyValue(String),
    /// An option the subtype does not know.
    #[error("unknown option {key:?} for {subtype}; known options: {known}")]
    UnknownOption {
        /// The subtype parsing it.
        subtype: &'static str,
        /// The key as written.
        key: String,
        /// Comma-free list of valid keys.
        known: &'static str,
    },
    /// The same option twice.
    #[error("option {0:?} is given twice")]
    DuplicateOption(String),
    /// A boolean option with another value.
    #[error("option {key}={value:?}: expected 0 or 1")]
    BadBool {
        /// The key.
        key: String,
        /// The value as written.
        value: String,
    },
    /// A numeric option with a non-numeric or out-of-range value.
    #[error("option {key}={value:?}: expected a whole number from 0 to {max}")]
    BadNumber {
        /// The key.
        key: String,
        /// The value as written.
        value: String,
        /// Largest accepted value.
        max: u64,
    },
    /// `file` without a path.
    #[error("missing the backing file path, e.g. /var/lib/gluster-tcmu/lun0.img")]
    MissingPath,
    /// `file` with a relative path.
    #[error("backing file path {0:?} is not absolute; it must start with '/'")]
    NotAbsolute(String),
    /// A `..` component.
    #[error("path {0:?} contains a '..' component; write the path without it")]
    DotDot(String),
    /// A path that can only name a directory.
    #[error("path {0:?} names a directory; give the path of a file")]
    DirectoryPath(String),
    /// The file exists but is a directory.
    #[error("{0} is a directory; give the path of a file")]
    IsDirectory(PathBuf),
    /// The file exists but is a device, FIFO or socket.
    #[error("{0} exists but is not a regular file")]
    NotRegularFile(PathBuf),
    /// The file does not exist and its directory does not either.
    #[error("{path} does not exist and cannot be created: directory {dir} does not exist")]
    NoParentDir {
        /// The backing file.
        path: PathBuf,
        /// Its missing parent.
        dir: PathBuf,
    },
    /// The parent exists but is not a directory.
    #[error("{path} cannot be created: {dir} is not a directory")]
    ParentNotDir {
        /// The backing file.
        path: PathBuf,
        /// Its parent.
        dir: PathBuf,
    },
    /// The file does not exist and its directory is not writable.
    #[error("{path} does not exist and cannot be created: directory {dir} is not writable")]
    ParentNotWritable {
        /// The backing file.
        path: PathBuf,
        /// Its parent.
        dir: PathBuf,
    },
    /// The file exists but cannot be opened for writing (and `ro=1` was not given).
    #[error("{0} is not writable; fix its permissions or add ;ro=1")]
    NotWritable(PathBuf),
    /// `ro=1` on a file that does not exist: there is nothing to serve.
    #[error("{0} does not exist; a read-only LUN (ro=1) needs an existing file")]
    ReadOnlyMissing(PathBuf),
    /// Any other failure inspecting the path.
    #[error("cannot inspect {path}")]
    Inspect {
        /// The path inspected.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// `glfs` string without `@`.
    #[error("expected volume@server/path, found no '@' after the volume name")]
    MissingAt,
    /// `glfs` string with an empty volume name.
    #[error("missing the volume name before '@', as in volume@server/path")]
    EmptyVolume,
    /// A volume name Gluster would not accept.
    #[error("volume name {0:?} may contain only letters, digits, '-' and '_'")]
    BadVolume(String),
    /// `glfs` string without `/` after the servers.
    #[error("missing the path inside the volume after the server, as in volume@server/path")]
    MissingVolumePath,
    /// An empty entry in the server list.
    #[error("empty server name in {0:?}; separate several servers with '+', as in vol@h1+h2/path")]
    EmptyServer(String),
    /// A server that is neither a DNS name nor an IPv4 address.
    #[error("server {host:?} is not a valid host: {why}")]
    BadHost {
        /// The server as written.
        host: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The same server twice.
    #[error("server {0:?} is listed twice")]
    DuplicateServer(String),
    /// A path inside the volume that starts with `/`.
    #[error(
        "path inside the volume {0:?} must be relative to the volume root; write volume@server/dir/file without a second '/'"
    )]
    VolumePathAbsolute(String),
}
