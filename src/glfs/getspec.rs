//! Asking glusterd for a volume's client volfile directly: the GETSPEC call of the
//! GlusterFS handshake program over TCP, without gfapi.
//!
//! Why: a gfapi connection that follows a volume builds a graph for every new volfile
//! and never frees the old ones (3 MB per volume change, docs/ARCHITECTURE.md, "Volume
//! changes"). A watch only needs the volfile's bytes, which this call returns; the
//! watch ([`super::Watch`]) keeps one [`Client`] per volume.
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

/// The client volfile of `volume` from the glusterd at `server`, within `deadline`: one
/// connection, one call.
pub fn fetch(server: &Server, volume: &str, deadline: Duration) -> Result<Vec<u8>, GetspecError> {
    connect_and_fetch(server, volume, deadline).map(|(_, volfile)| volfile)
}

/// A new connection to `server`, and `volume`'s volfile fetched over it, both within
/// `deadline`.
pub fn connect_and_fetch(
    server: &Server,
    volume: &str,
    deadline: Duration,
) -> Result<(Client, Vec<u8>), GetspecError> {
    let started = Instant::now();
    let mut client = Client::connect(server, deadline)?;
    let volfile = client.fetch_since(volume, started, deadline)?;
    Ok((client, volfile))
}

/// A connection to one glusterd that volfiles are fetched over, one call after another.
///
/// A watch polls its volume once a second; a new TCP connection per poll would leave a
/// socket in TIME_WAIT per poll (60 per volume at any time). glusterd also sends calls
/// of its own down every connection a client made (its FETCHSPEC notice when a volume
/// changes); they are read and passed over. After any error the connection's state is
/// unknown (half a record may be left unread), so every later call fails: make a new one.
#[derive(Debug)]
pub struct Client {
    stream: TcpStream,
    server: String,
    next_xid: u32,
    broken: bool,
    notices: u64,
}

impl Client {
    /// Connects to the glusterd at `server` within `deadline`.
    pub fn connect(server: &Server, deadline: Duration) -> Result<Client, GetspecError> {
        let name = server.to_string();
        let addr = (server.host.as_str(), server.port)
            .to_socket_addrs()
            .map_err(|e| io_error(&name, deadline, e))?
            .next()
            .ok_or_else(|| io_error(&name, deadline, std::io::ErrorKind::NotFound.into()))?;
        let stream = TcpStream::connect_timeout(&addr, deadline)
            .map_err(|e| io_error(&name, deadline, e))?;
        Ok(Client {
            stream,
            server: name,
            // Any start will do, as long as each reply echoes its call's.
            next_xid: std::process::id(),
            broken: false,
            notices: 0,
        })
    }

    /// How many calls of glusterd's own (change notices) were read and passed over.
    pub fn notices(&self) -> u64 {
        self.notices
    }

    /// The glusterd this client talks to, as `host:port`.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The client volfile of `volume`, within `deadline`.
    pub fn fetch(&mut self, volume: &str, deadline: Duration) -> Result<Vec<u8>, GetspecError> {
        self.fetch_since(volume, Instant::now(), deadline)
    }

    /// [`Client::fetch`] with a deadline that started counting at `started`.
    fn fetch_since(
        &mut self,
        volume: &str,
        started: Instant,
        deadline: Duration,
    ) -> Result<Vec<u8>, GetspecError> {
        if self.broken {
            return Err(GetspecError::Unreachable {
                server: self.server.clone(),
                reason: "the connection failed earlier".into(),
            });
        }
        let result = self.call(volume, started, deadline);
        self.broken = result.as_ref().is_err_and(|e| {
            !matches!(
                e,
                GetspecError::NoSuchVolume { .. } | GetspecError::Refused { .. }
            )
        });
        result
    }

    fn call(
        &mut self,
        volume: &str,
        started: Instant,
        deadline: Duration,
    ) -> Result<Vec<u8>, GetspecError> {
        let xid = self.next_xid;
        self.next_xid = xid.wrapping_add(1);
        let server = self.server.clone();
        let err = |e| io_error(&server, deadline, e);
        let left = deadline
            .saturating_sub(started.elapsed())
            .max(Duration::from_millis(1));
        self.stream.set_write_timeout(Some(left)).map_err(err)?;
        self.stream.write_all(&request(xid, volume)).map_err(err)?;
        loop {
            let left = deadline
                .saturating_sub(started.elapsed())
                .max(Duration::from_millis(1));
            self.stream.set_read_timeout(Some(left)).map_err(err)?;
            let record = read_record(&mut self.stream).map_err(|e| match e {
                RecordError::Io(e) => err(e),
                RecordError::TooLarge => GetspecError::Malformed("reply larger than any volfile"),
            })?;
            match record_kind(&record) {
                Some(Kind::Reply(x)) if x == xid => return parse_reply(xid, volume, &record),
                Some(Kind::Call) => self.notices += 1,
                // A late reply to a call given up on (not sent by this client, which
                // stops at its first error, but harmless to pass over).
                Some(Kind::Reply(_)) => {}
                None => return Err(GetspecError::Malformed("not an RPC message")),
            }
        }
    }
}

/// An I/O error as what it means for a fetch from `server`.
fn io_error(server: &str, deadline: Duration, e: std::io::Error) -> GetspecError {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => GetspecError::Timeout {
            server: server.to_owned(),
            deadline,
        },
        _ => GetspecError::Unreachable {
            server: server.to_owned(),
            reason: e.to_string(),
        },
    }
}

enum RecordError {
    Io(std::io::Error),
    TooLarge,
}

/// One record, its fragments joined (RFC 5531, record marking).
fn read_record(stream: &mut impl Read) -> Result<Vec<u8>, RecordError> {
    let mut record = Vec::new();
    loop {
        let mut mark = [0u8; 4];
        stream.read_exact(&mut mark).map_err(RecordError::Io)?;
        let mark = u32::from_be_bytes(mark);
        let len = (mark & !LAST_FRAGMENT) as usize;
        if record.len() + len > MAX_REPLY {
            return Err(RecordError::TooLarge);
        }
        let start = record.len();
        record.resize(start + len, 0);
        stream
            .read_exact(&mut record[start..])
            .map_err(RecordError::Io)?;
        if mark & LAST_FRAGMENT != 0 {
            return Ok(record);
        }
    }
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
