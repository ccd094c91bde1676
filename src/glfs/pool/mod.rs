//! The connection pool: how the daemon gets a gfapi connection to a volume, and how
//! long it waits for one.
//!
//! * [`ConnectionPool`]: one connection per volume and servers ([`VolumeKey`]), shared by
//!   every LUN on it, built from the volfile of that volume's watch (the glusterd
//!   client's `Watch`, one per key) and replaced when the volfile changes.
//! * Attempts under a deadline: a connect (the volfile, then `glfs_init`) runs on a
//!   helper thread; a caller waits at most [`ConnectOptions::deadline`], and an attempt
//!   that outlives it is kept for the next caller to that volume instead of starting
//!   another (a server that accepts and never answers would otherwise hold one thread
//!   per retry). A resize's `ftruncate` is bounded the same way ([`grow_within`]).
//! * [`check_volume`]: the CheckConfig probe with an operator-readable answer; a
//!   connection that passed it is kept for [`CHECK_KEEP`] for the LUN created next.
//!
//! Who calls it: the glfs backstore (open, reconnect, move, resize) and the daemon's
//! control plane (CheckConfig, LUN takeover). It is the only room that knows both
//! others: it wires each volume's watch into its gfapi connections (`feed`).

#![forbid(unsafe_code)]

mod attempt;
mod check;
mod feed;
mod keep;
mod registry;

pub use attempt::grow_within;
pub use check::{CHECK_KEEP, check_volume, connect_checked};
pub use registry::{ConnectionPool, VolumeKey};

use super::gfapi::GfapiError;
use super::glusterd::VolfileError;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// How connections are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// How long a caller waits for `glfs_init` before its open fails; the attempt goes
    /// on in the background and the next connect to the volume waits on it.
    pub deadline: Duration,
    /// gfapi's own log (`glfs_set_logging`); its directory is created if missing.
    pub log_file: PathBuf,
    /// gfapi log level (gluster's scale: 4 error, 5 warning, 7 info, 8 debug).
    pub log_level: i32,
    /// Pass requests through the client-side io-threads translator (the settings'
    /// `[glfs] client_io_threads = "bypass"`) instead of queueing them for its threads.
    pub bypass_client_io_threads: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(30),
            log_file: "/var/log/gluster-tcmu/gfapi.log".into(),
            log_level: 7,
            bypass_client_io_threads: false,
        }
    }
}

/// Why no connection (or no open file on one) could be had.
#[derive(Debug, thiserror::Error)]
pub enum GlfsError {
    #[error(transparent)]
    Gfapi(#[from] GfapiError),
    #[error(transparent)]
    Volfile(#[from] VolfileError),
    #[error(
        "no answer from {servers} for volume `{volume}` within {deadline:?} \
         (the server accepts connections but does not respond)"
    )]
    InitTimeout {
        volume: String,
        servers: String,
        deadline: Duration,
    },
    #[error(
        "a connect to volume `{volume}` through {servers} failed {ago:.1?} ago; \
         not waiting for it again here"
    )]
    RecentFailure {
        volume: String,
        servers: String,
        ago: Duration,
    },
    #[error("cannot start a helper thread")]
    Thread(#[source] io::Error),
}

impl GlfsError {
    /// The errno behind the failure (for the kernel's ADDED_DEVICE reply).
    pub fn errno(&self) -> i32 {
        match self {
            GlfsError::Gfapi(e) => e.errno(),
            GlfsError::Volfile(e) => e.errno(),
            GlfsError::InitTimeout { .. } => libc::ETIMEDOUT,
            GlfsError::RecentFailure { .. } => libc::ENOTCONN,
            GlfsError::Thread(source) => source.raw_os_error().unwrap_or(libc::EIO),
        }
    }
}
