//! A connection to one glusterd: volfiles fetched over it call after call, and
//! glusterd's change notices waited for on it.

use super::{GetspecError, Kind, parse_reply, record_kind, request, take_record};
use crate::glfs::glusterd::Server;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// TCP keepalive on the connection, so that a glusterd host that vanished without
/// closing it is noticed (as gfapi's own: `transport.socket.keepalive-time` 20 s): idle
/// time, probe interval, probes.
const KEEPALIVE: (Duration, Duration, u32) = (Duration::from_secs(20), Duration::from_secs(2), 9);

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

/// A connection to one glusterd.
///
/// glusterd sends a call of its own (GF_CBK_FETCHSPEC) down every client connection
/// when a volume's volfiles change; [`Client::wait_notice`] waits for one, so a watch
/// fetches only when something changed (each fetch is an INFO line in glusterd's log).
/// Reads are buffered until a whole record is in, so a timeout leaves the connection
/// usable; a failed write or read, or a reply that is not RPC, ends it: every later
/// call fails, make a new one.
#[derive(Debug)]
pub struct Client {
    stream: TcpStream,
    server: String,
    inbuf: Vec<u8>,
    next_xid: u32,
    broken: bool,
    /// Notices read while waiting for a reply, not yet handed out.
    pending: bool,
    notices: u64,
}

impl Client {
    /// Connects to the glusterd at `server` within `deadline`.
    pub fn connect(server: &Server, deadline: Duration) -> Result<Client, GetspecError> {
        let name = server.to_string();
        let io = |e| io_error(&name, deadline, e);
        let addr = (server.host.as_str(), server.port)
            .to_socket_addrs()
            .map_err(io)?
            .next()
            .ok_or_else(|| io(std::io::ErrorKind::NotFound.into()))?;
        let stream = TcpStream::connect_timeout(&addr, deadline).map_err(io)?;
        keep_alive(&stream).map_err(io)?;
        Ok(Client {
            stream,
            server: name,
            inbuf: Vec::new(),
            // Any start will do, as long as each reply echoes its call's.
            next_xid: std::process::id(),
            broken: false,
            pending: false,
            notices: 0,
        })
    }

    /// The glusterd this client talks to, as `host:port`.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// How many notices of glusterd's own this connection has read.
    pub fn notices(&self) -> u64 {
        self.notices
    }

    /// The client volfile of `volume`, within `deadline`.
    pub fn fetch(&mut self, volume: &str, deadline: Duration) -> Result<Vec<u8>, GetspecError> {
        self.fetch_since(volume, Instant::now(), deadline)
    }

    /// Whether glusterd sent a notice (a volume changed) within `timeout`, or since the
    /// last call to this; a notice read during a fetch counts too, since the fetch's
    /// answer may predate the change it announces.
    pub fn wait_notice(&mut self, timeout: Duration) -> Result<bool, GetspecError> {
        if std::mem::take(&mut self.pending) {
            return Ok(true);
        }
        let until = Instant::now() + timeout;
        loop {
            match self.next_record(until, timeout)? {
                None => return Ok(false),
                Some((Kind::Call, _)) => {
                    self.notices += 1;
                    return Ok(true);
                }
                Some((Kind::Reply(_), _)) => {}
            }
        }
    }

    /// [`Client::fetch`] with a deadline that started counting at `started`.
    fn fetch_since(
        &mut self,
        volume: &str,
        started: Instant,
        deadline: Duration,
    ) -> Result<Vec<u8>, GetspecError> {
        self.usable()?;
        let xid = self.next_xid;
        self.next_xid = xid.wrapping_add(1);
        let until = started.checked_add(deadline).unwrap_or(started);
        let left = until
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        let sent = self
            .stream
            .set_write_timeout(Some(left))
            .and_then(|()| self.stream.write_all(&request(xid, volume)));
        if let Err(e) = sent {
            self.broken = true;
            return Err(io_error(&self.server, deadline, e));
        }
        loop {
            match self.next_record(until, deadline)? {
                None => {
                    return Err(GetspecError::Timeout {
                        server: self.server.clone(),
                        deadline,
                    });
                }
                Some((Kind::Reply(x), record)) if x == xid => {
                    return parse_reply(xid, volume, &record);
                }
                Some((Kind::Call, _)) => {
                    self.notices += 1;
                    self.pending = true;
                }
                // The late reply to a call that timed out.
                Some((Kind::Reply(_), _)) => {}
            }
        }
    }

    /// The next whole record and what it is, reading until `until`; `None` when it did
    /// not come in time (what was read stays buffered). Errors end the connection.
    fn next_record(
        &mut self,
        until: Instant,
        deadline: Duration,
    ) -> Result<Option<(Kind, Vec<u8>)>, GetspecError> {
        self.usable()?;
        let got = self.read_record(until, deadline);
        self.broken = got.is_err();
        got
    }

    fn read_record(
        &mut self,
        until: Instant,
        deadline: Duration,
    ) -> Result<Option<(Kind, Vec<u8>)>, GetspecError> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if let Some(record) = take_record(&mut self.inbuf)? {
                let kind =
                    record_kind(&record).ok_or(GetspecError::Malformed("not an RPC message"))?;
                return Ok(Some((kind, record)));
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let read = self
                .stream
                .set_read_timeout(Some(left))
                .and_then(|()| self.stream.read(&mut chunk));
            match read {
                Ok(0) => {
                    return Err(GetspecError::Unreachable {
                        server: self.server.clone(),
                        reason: "glusterd closed the connection".into(),
                    });
                }
                Ok(n) => self.inbuf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(io_error(&self.server, deadline, e)),
            }
        }
    }

    fn usable(&self) -> Result<(), GetspecError> {
        if self.broken {
            return Err(GetspecError::Unreachable {
                server: self.server.clone(),
                reason: "the connection failed earlier".into(),
            });
        }
        Ok(())
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

/// Turns on TCP keepalive with [`KEEPALIVE`]'s timing.
fn keep_alive(stream: &TcpStream) -> std::io::Result<()> {
    use rustix::net::sockopt;
    let (idle, interval, probes) = KEEPALIVE;
    sockopt::set_socket_keepalive(stream, true)?;
    sockopt::set_tcp_keepidle(stream, idle)?;
    sockopt::set_tcp_keepintvl(stream, interval)?;
    sockopt::set_tcp_keepcnt(stream, probes)?;
    Ok(())
}
