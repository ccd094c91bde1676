//! libgfapi in two layers: [`sys`] declares the C functions, the rest of this module
//! wraps them in owned types that the glfs backstore (`crate::backstore::GlfsBackstore`)
//! uses without any `unsafe`.
//!
//! * [`Volume`]: one connection (`glfs_t`). Heavy (gfapi starts its own threads), so
//!   shared by every LUN on the same volume and servers through the [`Registry`]. Built
//!   from the volfile of the volume's [`Watch`], which asks glusterd for it directly
//!   ([`getspec`]) and follows the volume's changes, so that gfapi never switches the
//!   graph under a LUN's open file; a LUN moves to a new connection instead (see
//!   [`Volume::is_stale`]). A connect (the volfile, then `glfs_init`) runs on a helper
//!   thread under a deadline (a server that accepts and never answers would hold it
//!   forever); an attempt that outlives its deadline is kept, and the next connect to
//!   that volume waits on it ([`attempt`]). `glfs_fini` (~10 s) runs on a background
//!   thread when the last user lets go.
//! * [`GlfsFile`]: an open file, reference counted; it keeps its `Volume` alive and is
//!   closed on a background thread, never on a gfapi callback thread or the reactor.
//! * [`Mailbox`]: where asynchronous requests land. [`GlfsFile::submit`] takes the
//!   request's buffer by value and gives it back in the [`Done`] record, so the memory
//!   gfapi reads into stays owned until its callback has fired.
//! * [`check_volume`]: the CheckConfig probe with an operator-readable answer.

pub mod gfapi;
pub mod glusterd;
pub mod pool;

pub use gfapi::callback::{AsyncOp, Done, Mailbox, SubmitError};
pub use gfapi::file::GlfsFile;
pub use gfapi::volume::{ConnectOptions, Server, Volume};
pub use glusterd::getspec;
pub use glusterd::watch::Watch;
pub use pool::check::{CHECK_KEEP, check_volume};
pub use pool::registry::{Registry, VolumeKey};

use std::io;
use std::time::Duration;

/// The volfile port every config-string server uses.
pub const GLUSTERD_PORT: u16 = 24007;

/// Why a gfapi call failed (off the data path: connect, open, size).
#[derive(Debug, thiserror::Error)]
pub enum GlfsError {
    #[error("{what} contains a NUL byte: {value:?}")]
    Nul { what: &'static str, value: String },
    #[error("cannot set up a gfapi connection for volume `{volume}`")]
    New {
        volume: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot connect to volume `{volume}` through {servers}")]
    Init {
        volume: String,
        servers: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "gfapi could not start volume `{volume}`: no brick answered (`gluster volume \
         status {volume}`), or its graph did not build (gfapi's log: {log})"
    )]
    Start {
        volume: String,
        log: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot get the volfile of volume `{volume}` from {servers}")]
    Volfile {
        volume: String,
        servers: String,
        #[source]
        source: getspec::GetspecError,
    },
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
    #[error("cannot {what} `{path}` in volume `{volume}`")]
    File {
        what: &'static str,
        volume: String,
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot start a helper thread")]
    Thread(#[source] io::Error),
}

impl GlfsError {
    /// The errno behind the failure (for the kernel's ADDED_DEVICE reply).
    pub fn errno(&self) -> i32 {
        match self {
            GlfsError::Nul { .. } => libc::EINVAL,
            GlfsError::InitTimeout { .. } => libc::ETIMEDOUT,
            GlfsError::RecentFailure { .. } => libc::ENOTCONN,
            GlfsError::Volfile { source, .. } => source.errno(),
            GlfsError::New { source, .. }
            | GlfsError::Init { source, .. }
            | GlfsError::Start { source, .. }
            | GlfsError::File { source, .. }
            | GlfsError::Thread(source) => source.raw_os_error().unwrap_or(libc::EIO),
        }
    }
}

/// True for errnos that mean the connection (not the data) is gone: the request may
/// succeed once the client has reconnected.
pub fn is_disconnect(errno: i32) -> bool {
    matches!(
        errno,
        libc::ENOTCONN
            | libc::ETIMEDOUT
            | libc::ECONNREFUSED
            | libc::ECONNRESET
            | libc::ECONNABORTED
            | libc::EHOSTUNREACH
            | libc::ENETUNREACH
            | libc::ESHUTDOWN
            | libc::EPIPE
            | libc::EBADFD
    )
}

/// `errno` after a failed gfapi call; EIO when gfapi failed without setting one.
fn last_errno() -> i32 {
    match io::Error::last_os_error().raw_os_error() {
        Some(0) | None => libc::EIO,
        Some(e) => e,
    }
}

fn cstring(what: &'static str, value: &str) -> Result<std::ffi::CString, GlfsError> {
    std::ffi::CString::new(value).map_err(|_| GlfsError::Nul {
        what,
        value: value.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disconnect_errnos_are_told_apart_from_data_errors() {
        assert!(is_disconnect(libc::ENOTCONN));
        assert!(is_disconnect(libc::ETIMEDOUT));
        assert!(!is_disconnect(libc::EIO));
        assert!(!is_disconnect(libc::ENOSPC));
    }
}
