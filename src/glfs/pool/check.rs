//! CheckConfig for `user:glfs`: can this config string become a LUN?

use super::registry::{ConnectionPool, VolumeKey};
use super::{ConnectOptions, GlfsError};
use crate::cfgstring::glfs::GlfsConfig;
use crate::glfs::gfapi::{GfapiError, Volume};
use crate::glfs::glusterd::{GetspecError, Server, VolfileError, server_list};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the daemon keeps a connection that passed CheckConfig. targetcli's `create`
/// checks the config string and enables the device a moment later: the LUN then shares
/// this connection instead of making a second one while the first is still being
/// finished (`glfs_fini` takes seconds), and its open skips a `glfs_init`.
pub const CHECK_KEEP: Duration = Duration::from_secs(30);

/// Connects to the volume within `connect.deadline` and checks that the image exists as a
/// regular file or can be created (its directory exists). `Ok` says what was found,
/// `Err` says exactly what is wrong, for targetcli to show the operator. After a check
/// that passed, the connection stays up for `keep` (see [`CHECK_KEEP`]).
pub fn check_volume(
    cfg: &GlfsConfig,
    connect: &ConnectOptions,
    keep: Duration,
) -> Result<String, String> {
    let (found, volume) = check_image(cfg, connect)?;
    super::keep::hold(volume, keep);
    Ok(found)
}

fn check_image(
    cfg: &GlfsConfig,
    connect: &ConnectOptions,
) -> Result<(String, Arc<Volume>), String> {
    let volume = connect_checked(&VolumeKey::from(cfg), connect)?;
    let found = match volume.stat(&cfg.path).map_err(|e| e.errno()) {
        Ok(st) if st.is_file() => Ok(format!(
            "{}: existing image, {} bytes",
            describe(cfg),
            st.size
        )),
        Ok(_) => Err(format!(
            "{}: exists but is not a regular file",
            describe(cfg)
        )),
        Err(libc::ENOENT) => check_parent(&volume, cfg),
        Err(errno) => Err(format!(
            "{}: cannot look it up: {}",
            describe(cfg),
            std::io::Error::from_raw_os_error(errno)
        )),
    }?;
    Ok((found, volume))
}

/// A connection to `key` from the pool, within `connect.deadline` all told, or an
/// admin's answer: which servers are down, whether the volume exists, whether it answered
/// in time. A TCP probe of each server first makes a server where nothing listens fail
/// at once, naming it.
pub fn connect_checked(key: &VolumeKey, connect: &ConnectOptions) -> Result<Arc<Volume>, String> {
    let start = Instant::now();
    let reachable = probe_servers(&key.servers, connect.deadline)?;
    let opts = ConnectOptions {
        deadline: connect.deadline.saturating_sub(start.elapsed()),
        ..connect.clone()
    };
    ConnectionPool::global()
        .get(key, &opts)
        .map_err(|e| connect_message(&e, key, &reachable))
}

fn describe(cfg: &GlfsConfig) -> String {
    format!("`{}` in volume `{}`", cfg.path, cfg.volume)
}

/// TCP-connects to each volfile server so the message can name the ones that are down.
/// Fails only when none accepts a connection.
fn probe_servers(servers: &[Server], deadline: Duration) -> Result<Vec<Server>, String> {
    let per = (deadline / 2 / servers.len().max(1) as u32).max(Duration::from_millis(200));
    let mut up = Vec::new();
    let mut down = Vec::new();
    for s in servers {
        match tcp_probe(s, per) {
            Ok(()) => up.push(s.clone()),
            Err(why) => down.push(format!("{s}: {why}")),
        }
    }
    if up.is_empty() {
        return Err(format!("no glusterd reachable: {}", down.join("; ")));
    }
    for d in &down {
        tracing::info!("glusterd not reachable at {d}; using the other servers");
    }
    Ok(up)
}

fn tcp_probe(s: &Server, timeout: Duration) -> Result<(), String> {
    let addrs = (s.host.as_str(), s.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve host: {e}"))?;
    let mut last = String::from("host has no addresses");
    for a in addrs {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

fn connect_message(e: &GlfsError, key: &VolumeKey, reachable: &[Server]) -> String {
    let servers = server_list(reachable);
    match e {
        GlfsError::Volfile(VolfileError {
            source: GetspecError::NoSuchVolume { .. },
            ..
        }) => format!("volume `{}` does not exist on {servers}", key.volume),
        // The caller's deadline, or the volfile fetch's own when it ran out first.
        GlfsError::InitTimeout { deadline, .. }
        | GlfsError::Volfile(VolfileError {
            source: GetspecError::Timeout { deadline, .. },
            ..
        }) => format!(
            "no answer from {servers} for volume `{}` within {deadline:?}: the server \
             accepts connections but does not respond",
            key.volume
        ),
        GlfsError::Volfile(VolfileError { source, .. }) => format!(
            "cannot get the volfile of volume `{}` from {servers}: {source}",
            key.volume
        ),
        GlfsError::Gfapi(GfapiError::Init { source, .. }) => format!(
            "cannot connect to volume `{}` through {servers}: {source} \
             (is the volume started, and server.allow-insecure on?)",
            key.volume
        ),
        other => other.to_string(),
    }
}

/// The image is missing: fine if its directory exists (the LUN creates the file).
fn check_parent(volume: &Volume, cfg: &GlfsConfig) -> Result<String, String> {
    let parent = match cfg.path.rsplit_once('/') {
        Some((dir, _)) if !dir.is_empty() => dir,
        _ => return Ok(format!("{}: will be created", describe(cfg))),
    };
    match volume.stat(parent).map_err(|e| e.errno()) {
        Ok(st) if st.is_dir() => Ok(format!("{}: will be created", describe(cfg))),
        Ok(_) => Err(format!("{}: `{parent}` is not a directory", describe(cfg))),
        Err(libc::ENOENT) => Err(format!(
            "{}: directory `{parent}` does not exist in volume `{}`",
            describe(cfg),
            cfg.volume
        )),
        Err(errno) => Err(format!(
            "{}: cannot look up `{parent}`: {}",
            describe(cfg),
            std::io::Error::from_raw_os_error(errno)
        )),
    }
}
