//! The glusterd client: a volume's volfile fetched from glusterd over its own RPC
//! ([`fetch`], [`Client`]: the GETSPEC call, no gfapi), and the [`Watch`] that follows
//! a volume's volfile through glusterd's change notices and counts its generations.
//!
//! Who calls it: the connection pool (`super::pool`) starts one watch per volume and
//! servers and builds gfapi connections from its volfile; tests and tools fetch
//! volfiles directly. Plain TCP: this room imports neither gfapi nor the pool. A watch
//! wakes whatever [`Subscriber`]s it is given (the pool subscribes LUN mailboxes).

#![forbid(unsafe_code)]

mod getspec;
mod watch;

pub use getspec::{Client, GetspecError, connect_and_fetch, fetch};
pub use watch::{POLL, Subscriber, VolfileError, Watch};

use std::fmt;

/// The volfile port every config-string server uses.
pub const GLUSTERD_PORT: u16 = 24007;

/// A volfile server: host name or address, and the glusterd port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Server {
    pub host: String,
    pub port: u16,
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// Servers as a human-readable list for messages.
pub fn server_list(servers: &[Server]) -> String {
    let names: Vec<String> = servers.iter().map(Server::to_string).collect();
    names.join(", ")
}
