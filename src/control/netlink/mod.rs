//! The `TCM-USER` generic netlink family: kernel events about TCMU devices, and our
//! answers to them.
//!
//! [`codec`] is the pure TCMU payload codec (fuzzed); `frame` puts it in `nlmsghdr`s
//! and talks to the generic netlink controller through `netlink-packet-core` /
//! `netlink-packet-generic`; `inbox` sorts what arrives (events, acks, noise) without
//! any I/O; [`TcmuNetlink`] is the thin socket layer over `netlink-sys`.

pub mod codec;
mod error;
mod frame;
mod inbox;
mod socket;

pub use codec::{DecodeError, DeviceEvent, EventKind, EventType, Reconfig};
pub use error::NetlinkError;
pub use socket::TcmuNetlink;
