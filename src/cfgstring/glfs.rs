//! `user:glfs`: a LUN backed by a file on a GlusterFS volume.
//!
//! Grammar: `volume@server[+server...]/path/in/volume[;wce=0|1]`, with tcmu-runner's
//! `tcmur_cmd_time_out=N` allowed as a `;`-separated piece before or after it.
//!
//! With one server this is exactly tcmu-runner's form (volume before the first `@`, the
//! server up to the next `/`, the rest is the path inside the volume). Several volfile
//! servers, tried in order so a LUN can open while one is down, are joined with `+`:
//! configfs forbids `,` and rtslib `:`, and `+` is neither a hostname character nor special
//! to targetcli's command line. For the same reason no port can be given (always 24007)
//! and IPv6 literals cannot be written at all — a DNS name resolving to one works.

use super::syntax::{key_value, parse_bool, set_once, split_pieces};
use super::{CfgStringError, SubtypeFormat, TcmurOptions};
use std::fmt;
use std::net::Ipv4Addr;
use std::path::{Component, Path};

/// A parsed `user:glfs` config string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlfsConfig {
    /// Gluster volume name.
    pub volume: String,
    /// Volfile servers in the order to try them; never empty, no duplicates.
    pub servers: Vec<Host>,
    /// Path of the image inside the volume, relative to its root (no leading `/`).
    pub path: String,
    /// `wce=`: report a volatile write cache. `None` means the daemon's `[glfs]
    /// write_cache` setting.
    pub write_cache: Option<bool>,
    /// tcmu-runner options found in the string.
    pub tcmur: TcmurOptions,
}

/// A volfile server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A DNS name, as written (a trailing dot is kept).
    Dns(String),
    /// A dotted-quad IPv4 address.
    Ipv4(Ipv4Addr),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Dns(name) => f.write_str(name),
            Host::Ipv4(addr) => addr.fmt(f),
        }
    }
}

/// The `glfs` subtype's config string format: its name, help text and parser.
#[derive(Debug)]
pub struct GlfsFormat;

impl SubtypeFormat for GlfsFormat {
    type Config = GlfsConfig;
    const SUBTYPE: &'static str = "glfs";

    fn config_desc() -> &'static str {
        DESC
    }

    fn parse(cfg: &str) -> Result<GlfsConfig, CfgStringError> {
        let pieces = split_pieces(cfg)?;
        let (main, rest) = pieces
            .items
            .split_first()
            .ok_or(CfgStringError::MissingAt)?;
        let mut write_cache = None;
        for piece in rest {
            let (key, value) = key_value(piece)?;
            match key {
                "wce" => set_once(&mut write_cache, key, parse_bool(key, value)?)?,
                _ => {
                    return Err(CfgStringError::UnknownOption {
                        subtype: Self::SUBTYPE,
                        key: key.to_owned(),
                        known: "wce, tcmur_cmd_time_out",
                    });
                }
            }
        }
        let (volume, servers, path) = split_main(main)?;
        Ok(GlfsConfig {
            volume: check_volume(volume)?,
            servers: parse_servers(servers)?,
            path: check_volume_path(path)?,
            write_cache,
            tcmur: pieces.tcmur,
        })
    }
}

/// `volume@servers/path` into its three parts, as tcmu-runner splits it.
fn split_main(main: &str) -> Result<(&str, &str, &str), CfgStringError> {
    let (volume, rest) = main.split_once('@').ok_or(CfgStringError::MissingAt)?;
    let (servers, path) = rest
        .split_once('/')
        .ok_or(CfgStringError::MissingVolumePath)?;
    Ok((volume, servers, path))
}

/// Gluster's own rule for volume names: letters, digits, `-` and `_`.
fn check_volume(volume: &str) -> Result<String, CfgStringError> {
    if volume.is_empty() {
        return Err(CfgStringError::EmptyVolume);
    }
    let ok = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    if !volume.bytes().all(ok) {
        return Err(CfgStringError::BadVolume(volume.to_owned()));
    }
    Ok(volume.to_owned())
}

/// Non-empty, relative to the volume root, no `..`, not a directory form.
fn check_volume_path(path: &str) -> Result<String, CfgStringError> {
    if path.is_empty() {
        return Err(CfgStringError::MissingVolumePath);
    }
    if path.starts_with('/') {
        return Err(CfgStringError::VolumePathAbsolute(path.to_owned()));
    }
    if Path::new(path)
        .components()
        .any(|c| c == Component::ParentDir)
    {
        return Err(CfgStringError::DotDot(path.to_owned()));
    }
    if path.ends_with('/') || path == "." || path.ends_with("/.") {
        return Err(CfgStringError::DirectoryPath(path.to_owned()));
    }
    Ok(path.to_owned())
}

/// `h1+h2+...` into hosts, refusing empty entries and duplicates.
fn parse_servers(list: &str) -> Result<Vec<Host>, CfgStringError> {
    let mut hosts: Vec<Host> = Vec::new();
    for name in list.split('+') {
        if name.is_empty() {
            return Err(CfgStringError::EmptyServer(list.to_owned()));
        }
        let host = parse_host(name)?;
        if hosts.contains(&host) {
            return Err(CfgStringError::DuplicateServer(name.to_owned()));
        }
        hosts.push(host);
    }
    Ok(hosts)
}

/// A DNS name (RFC 1123 labels) or a dotted-quad IPv4 address. A name made only of
/// digits and dots is taken as an address, so `10.0.0.256` is refused rather than
/// looked up.
pub fn parse_host(name: &str) -> Result<Host, CfgStringError> {
    let bad = |why| CfgStringError::BadHost {
        host: name.to_owned(),
        why,
    };
    if name.starts_with('[') {
        return Err(bad(
            "IPv6 addresses need ':', which config strings cannot contain; use a DNS name",
        ));
    }
    if name.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return name
            .parse()
            .map(Host::Ipv4)
            .map_err(|_| bad("not a valid IPv4 address"));
    }
    check_dns_name(name).map_err(bad)?;
    Ok(Host::Dns(name.to_owned()))
}

/// RFC 1123 host name rules; the error says which one is broken.
fn check_dns_name(name: &str) -> Result<(), &'static str> {
    let body = name.strip_suffix('.').unwrap_or(name);
    if body.len() > 253 {
        return Err("a host name is at most 253 characters");
    }
    for label in body.split('.') {
        check_label(label)?;
    }
    Ok(())
}

fn check_label(label: &str) -> Result<(), &'static str> {
    if label.is_empty() {
        return Err("empty label between dots");
    }
    if label.len() > 63 {
        return Err("a label between dots is at most 63 characters");
    }
    if !label
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err("a host name may contain only letters, digits, '-' and '.'");
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err("a label may not start or end with '-'");
    }
    Ok(())
}

const DESC: &str = "\
A Gluster volume, its servers, and the image file inside the volume:

    volume@server[+server...]/path/in/volume[;wce=0|1]

  volume  the Gluster volume name.
  server  DNS name or IPv4 address of a server to fetch the volume layout
          from (TCP port 24007). List several, separated by '+', so the
          LUN can be opened while one of them is down; they are tried in
          the order given.
  path    the image file, relative to the volume root.
  wce=1   tell initiators the LUN has a volatile write cache: a write is
          answered once every brick has it, and SYNCHRONIZE CACHE or FUA
          makes it durable (synced on every brick). wce=0: every write is
          synced on every brick before it is answered (write-through).
          Default: the daemon's [glfs] write_cache setting (on).

IPv6 addresses cannot be written here because ':' is not allowed in config
strings; use a DNS name that resolves to the address. tcmu-runner's option
';tcmur_cmd_time_out=N' (seconds) is accepted before or after the rest.
create checks that the volume can be reached before making the LUN.

Examples:
    create lun0 100G gv0@gluster1.example.com/block-store/lun0.img
    create lun1 1T gv0@10.0.0.1+10.0.0.2+10.0.0.3/luns/lun1.img
    create lun2 50G gv0@gluster1/lun2.img;tcmur_cmd_time_out=30
    create lun3 50G gv0@gluster1/lun3.img;wce=0";
