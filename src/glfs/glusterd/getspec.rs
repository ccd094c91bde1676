//! Asking glusterd for a volume's client volfile directly: the GETSPEC call of the
//! GlusterFS handshake program over TCP, without gfapi.
//!
//! Why: a gfapi connection that follows a volume builds a graph for every new volfile
//! and never frees the old ones (docs/DECISIONS.md, "Gluster connections"). A watch only
//! needs the volfile's bytes, which this call returns; the watch ([`super::Watch`])
//! keeps one [`Client`] per volume.
//!
//! The wire format is ONC RPC (RFC 5531) with record marking, AUTH_NULL credentials, and
//! the XDR arguments `gf_getspec_req { unsigned flags; string key<>; opaque xdata<>; }`
//! (rpc/xdr/src/glusterfs3-xdr.x). glusterd refuses the request with ENOTSUP unless
//! `xdata` (a serialized gluster dict) says which op-versions the client supports.
//! glusterd's default `rpc-auth-allow-insecure on` lets a client on any port in.

mod client;

pub use client::{Client, connect_and_fetch, fetch};

use std::time::Duration;

/// GLUSTER_HNDSK_PROGRAM (rpc/rpc-lib/src/protocol-common.h).
const PROGRAM: u32 = 14_398_633;
/// GLUSTER_HNDSK_VERSION.
const VERSION: u32 = 2;
/// GF_HNDSK_GETSPEC, the procedure gfapi and the FUSE client fetch volfiles with.
const PROC_GETSPEC: u32 = 2;
/// The op-version range gfapi 10 announces: GD_OP_VERSION_MIN ...
const MIN_OP_VERSION: u32 = 1;
/// ... and GD_OP_VERSION_10_0.
const MAX_OP_VERSION: u32 = 100_000;
/// The last fragment of a record has the top bit of its length word set.
const LAST_FRAGMENT: u32 = 0x8000_0000;
/// Far above any volfile (a few KiB for a 3-brick volume): a larger reply is not one.
const MAX_REPLY: usize = 16 << 20;

/// Why no volfile came back.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GetspecError {
    #[error("cannot reach glusterd at {server}: {reason}")]
    Unreachable { server: String, reason: String },
    #[error("glusterd at {server} did not answer within {deadline:?}")]
    Timeout { server: String, deadline: Duration },
    #[error("glusterd has no volume {volume:?}")]
    NoSuchVolume { volume: String },
    #[error("glusterd refused the volfile of {volume:?} (errno {errno})")]
    Refused { volume: String, errno: i32 },
    #[error("malformed reply from glusterd: {0}")]
    Malformed(&'static str),
}

impl GetspecError {
    /// The errno a LUN's open reports for it (the kernel's ADDED_DEVICE reply).
    pub fn errno(&self) -> i32 {
        match self {
            GetspecError::Unreachable { .. } => libc::ENOTCONN,
            GetspecError::Timeout { .. } => libc::ETIMEDOUT,
            GetspecError::NoSuchVolume { .. } => libc::ENOENT,
            GetspecError::Refused { errno, .. } if *errno > 0 => *errno,
            GetspecError::Refused { .. } => libc::EINVAL,
            GetspecError::Malformed(_) => libc::EPROTO,
        }
    }
}

/// One record taken off the front of `buf` once all its fragments are there (RFC 5531,
/// record marking), `None` while it is incomplete. A record declared larger than any
/// volfile is refused before its bytes arrive.
fn take_record(buf: &mut Vec<u8>) -> Result<Option<Vec<u8>>, GetspecError> {
    let mut at = 0;
    let mut total = 0usize;
    let mut last = false;
    while !last {
        let Some(mark) = buf.get(at..at + 4) else {
            return Ok(None);
        };
        let mark = u32::from_be_bytes([mark[0], mark[1], mark[2], mark[3]]);
        let len = (mark & !LAST_FRAGMENT) as usize;
        total += len;
        if total > MAX_REPLY {
            return Err(GetspecError::Malformed("reply larger than any volfile"));
        }
        if buf.len() < at + 4 + len {
            return Ok(None);
        }
        at += 4 + len;
        last = mark & LAST_FRAGMENT != 0;
    }
    let mut record = Vec::with_capacity(total);
    let mut pos = 0;
    while pos < at {
        let len = (u32::from_be_bytes([buf[pos], buf[pos + 1], buf[pos + 2], buf[pos + 3]])
            & !LAST_FRAGMENT) as usize;
        record.extend_from_slice(&buf[pos + 4..pos + 4 + len]);
        pos += 4 + len;
    }
    buf.drain(..at);
    Ok(Some(record))
}

/// Whether a record is a call (glusterd's notices) or the reply to call `xid`.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Call,
    Reply(u32),
}

fn record_kind(record: &[u8]) -> Option<Kind> {
    let mut r = Reader {
        buf: record,
        pos: 0,
    };
    let xid = r.word().ok()?;
    match r.word().ok()? {
        0 => Some(Kind::Call),
        1 => Some(Kind::Reply(xid)),
        _ => None,
    }
}

/// One record: the call header, AUTH_NULL credentials and verifier, the arguments.
fn request(xid: u32, volume: &str) -> Vec<u8> {
    let mut body = Vec::with_capacity(128);
    for word in [xid, 0, 2, PROGRAM, VERSION, PROC_GETSPEC, 0, 0, 0, 0] {
        body.extend_from_slice(&word.to_be_bytes());
    }
    body.extend_from_slice(&0u32.to_be_bytes()); // flags
    put_opaque(&mut body, volume.as_bytes());
    put_opaque(&mut body, &op_version_dict());
    let mut record = (LAST_FRAGMENT | body.len() as u32).to_be_bytes().to_vec();
    record.extend_from_slice(&body);
    record
}

/// XDR variable-length opaque: length, bytes, zero padding to four bytes.
fn put_opaque(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
    out.resize(out.len() + (4 - bytes.len() % 4) % 4, 0);
}

/// A serialized gluster dict (libglusterfs `dict_serialize`): the pair count, then per
/// pair the key's length, the value's length, the key with its NUL and the value. An
/// integer value travels as its decimal text with a NUL, as `dict_set_int32` stores it.
fn op_version_dict() -> Vec<u8> {
    let pairs = [
        ("min-op-version", MIN_OP_VERSION),
        ("max-op-version", MAX_OP_VERSION),
    ];
    let mut out = (pairs.len() as u32).to_be_bytes().to_vec();
    for (key, value) in pairs {
        let value = format!("{value}\0");
        out.extend_from_slice(&(key.len() as u32).to_be_bytes());
        out.extend_from_slice(&(value.len() as u32).to_be_bytes());
        out.extend_from_slice(key.as_bytes());
        out.push(0);
        out.extend_from_slice(value.as_bytes());
    }
    out
}

/// Reads the reply to call `xid`: an accepted, successful reply whose `gf_getspec_rsp`
/// carries `op_ret` (the volfile's length, or -1), `op_errno` and the volfile.
fn parse_reply(xid: u32, volume: &str, reply: &[u8]) -> Result<Vec<u8>, GetspecError> {
    let mut r = Reader { buf: reply, pos: 0 };
    if r.word()? != xid {
        return Err(GetspecError::Malformed("reply to another call"));
    }
    if r.word()? != 1 {
        return Err(GetspecError::Malformed("not a reply"));
    }
    if r.word()? != 0 {
        return Err(GetspecError::Malformed("call denied"));
    }
    let _verifier_flavor = r.word()?;
    r.opaque()?;
    if r.word()? != 0 {
        return Err(GetspecError::Malformed("call not executed"));
    }
    let op_ret = r.word()? as i32;
    let op_errno = r.word()? as i32;
    let spec = r.opaque()?;
    match (op_ret, op_errno) {
        (n, _) if n >= 0 && !spec.is_empty() => Ok(spec.to_vec()),
        (_, libc::ENOENT) => Err(GetspecError::NoSuchVolume {
            volume: volume.to_string(),
        }),
        (_, errno) => Err(GetspecError::Refused {
            volume: volume.to_string(),
            errno,
        }),
    }
}

/// Big-endian words and XDR opaques from a reply, never past its end.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], GetspecError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.buf.len())
            .ok_or(GetspecError::Malformed("reply ends early"))?;
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn word(&mut self) -> Result<u32, GetspecError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn opaque(&mut self) -> Result<&'a [u8], GetspecError> {
        let len = self.word()? as usize;
        let bytes = self.take(len)?;
        self.take((4 - len % 4) % 4)?;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests;
