//! Why a gfapi call failed, and what its errno means for a LUN.

#![forbid(unsafe_code)]

use std::io;

/// Why a gfapi call failed (off the data path: connect, open, size, path operations).
#[derive(Debug, thiserror::Error)]
pub enum GfapiError {
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
    #[error("cannot {what} `{path}` in volume `{volume}`")]
    File {
        what: &'static str,
        volume: String,
        path: String,
        #[source]
        source: io::Error,
    },
    /// A call on two paths (link, rename).
    #[error("cannot {what} `{from}` to `{to}` in volume `{volume}`")]
    PathPair {
        what: &'static str,
        volume: String,
        from: String,
        to: String,
        #[source]
        source: io::Error,
    },
    #[error("`{path}` in volume `{volume}` is larger than the {limit} bytes it may have")]
    TooLarge {
        volume: String,
        path: String,
        limit: u64,
    },
}

impl GfapiError {
    /// The errno behind the failure (for the kernel's ADDED_DEVICE reply).
    pub fn errno(&self) -> i32 {
        match self {
            GfapiError::Nul { .. } => libc::EINVAL,
            GfapiError::TooLarge { .. } => libc::EFBIG,
            GfapiError::New { source, .. }
            | GfapiError::Init { source, .. }
            | GfapiError::Start { source, .. }
            | GfapiError::File { source, .. }
            | GfapiError::PathPair { source, .. } => source.raw_os_error().unwrap_or(libc::EIO),
        }
    }

    /// The name already exists (EEXIST): an exclusive create or a link lost to another
    /// creator, or a directory that is already there.
    pub fn already_exists(&self) -> bool {
        self.is_path_error(libc::EEXIST)
    }

    /// The path, or a directory on the way to it, does not exist (ENOENT).
    pub fn not_found(&self) -> bool {
        self.is_path_error(libc::ENOENT)
    }

    /// A call on a path (or two) that failed with `errno`.
    fn is_path_error(&self, errno: i32) -> bool {
        matches!(self, GfapiError::File { .. } | GfapiError::PathPair { .. })
            && self.errno() == errno
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
pub(super) fn last_errno() -> i32 {
    match io::Error::last_os_error().raw_os_error() {
        Some(0) | None => libc::EIO,
        Some(e) => e,
    }
}

/// `value` as a C string for gfapi; `what` names it in the error.
pub(super) fn cstring(what: &'static str, value: &str) -> Result<std::ffi::CString, GfapiError> {
    std::ffi::CString::new(value).map_err(|_| GfapiError::Nul {
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
