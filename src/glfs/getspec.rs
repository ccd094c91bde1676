//! Asking glusterd for a volume's client volfile directly: the GETSPEC call of the
//! GlusterFS handshake program, over one TCP exchange, without gfapi.
//!
//! Why: a gfapi connection that follows a volume builds a graph for every new volfile
//! and never frees the old ones (3 MB per volume change, docs/ARCHITECTURE.md, "Volume
//! changes"). A watch only needs the volfile's bytes, which this call returns. Not used
//! by the watch yet.
//!
//! The wire format is ONC RPC (RFC 5531) with record marking, AUTH_NULL credentials, and
//! the XDR arguments `gf_getspec_req { unsigned flags; string key<>; opaque xdata<>; }`
//! (rpc/xdr/src/glusterfs3-xdr.x). glusterd refuses the request with ENOTSUP unless
//! `xdata` (a serialized gluster dict) says which op-versions the client supports.
//! glusterd's default `rpc-auth-allow-insecure on` lets a client on any port in.

#![forbid(unsafe_code)]

use super::Server;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

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

/// The client volfile of `volume` from the glusterd at `server`, within `deadline`.
pub fn fetch(server: &Server, volume: &str, deadline: Duration) -> Result<Vec<u8>, GetspecError> {
    let started = Instant::now();
    let name = server.to_string();
    let io_error = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => GetspecError::Timeout {
            server: name.clone(),
            deadline,
        },
        _ => GetspecError::Unreachable {
            server: name.clone(),
            reason: e.to_string(),
        },
    };
    let addr = (server.host.as_str(), server.port)
        .to_socket_addrs()
        .map_err(io_error)?
        .next()
        .ok_or_else(|| io_error(std::io::ErrorKind::NotFound.into()))?;
    let mut stream = TcpStream::connect_timeout(&addr, deadline).map_err(io_error)?;
    // One call per connection: any xid will do, as long as the reply echoes it.
    let xid = std::process::id();
    stream.set_write_timeout(Some(deadline)).map_err(io_error)?;
    stream.write_all(&request(xid, volume)).map_err(io_error)?;
    let mut reply = Vec::new();
    loop {
        let left = deadline
            .saturating_sub(started.elapsed())
            .max(Duration::from_millis(1));
        stream.set_read_timeout(Some(left)).map_err(io_error)?;
        let mut mark = [0u8; 4];
        stream.read_exact(&mut mark).map_err(io_error)?;
        let mark = u32::from_be_bytes(mark);
        let len = (mark & !LAST_FRAGMENT) as usize;
        if reply.len() + len > MAX_REPLY {
            return Err(GetspecError::Malformed("reply larger than any volfile"));
        }
        let start = reply.len();
        reply.resize(start + len, 0);
        stream.read_exact(&mut reply[start..]).map_err(io_error)?;
        if mark & LAST_FRAGMENT != 0 {
            break;
        }
    }
    parse_reply(xid, volume, &reply)
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
