//! The Gluster client, in three rooms, each importing only the ones below it:
//!
//! * [`gfapi`]: libgfapi's C declarations and the owned safe types over them (a
//!   connection, an open file, the mailbox asynchronous requests land in, synchronous
//!   path operations). All of the client's `unsafe` is there; it imports neither room
//!   below.
//! * [`glusterd`]: glusterd's own RPC, without gfapi: the volfile fetch (GETSPEC) and the
//!   watch that follows a volume's volfile through glusterd's change notices.
//! * [`pool`]: the connection pool that the backstore and the control plane get
//!   connections from, connects under a deadline, the keep-alive of checked connections,
//!   and CheckConfig. It uses both rooms above and wires them together.
//!
//! The names the rest of the crate uses are re-exported here.

pub mod gfapi;
pub mod glusterd;
pub mod pool;

pub use gfapi::{
    AsyncOp, Done, GfapiError, GlfsFile, LockHolder, Mailbox, Stat, SubmitError, Volume,
    is_disconnect,
};
pub use glusterd::{GLUSTERD_PORT, Server};
pub use pool::{
    CHECK_KEEP, ConnectOptions, ConnectionPool, GlfsError, VolumeKey, check_volume, connect_checked,
};
