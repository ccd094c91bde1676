//! The kernel-facing control plane: everything that tells us which TCMU devices exist
//! and what the kernel wants done with them.
//!
//! [`netlink`] speaks the `TCM-USER` generic netlink family (device added / removed /
//! reconfigured, and our `*_DONE` answers); [`uio`] discovers the `tcm-user` UIO devices
//! already present (needed after a restart, when no `ADDED_DEVICE` will come again);
//! [`configfs`] reads a device's attributes and pulls its `block_dev` / `reset_ring`
//! levers; [`kmod`] pulls the module-wide `block_netlink` / `reset_netlink` levers.
//!
//! [`dbus`] is the `org.kernel.TCMUService1` service targetcli talks to.
//!
//! Parsers are pure and unit-tested; file access takes a root directory so tests build
//! a fake sysfs/configfs tree in a temporary directory. Nothing here
//! runs on the data path.

#![forbid(unsafe_code)]

pub mod configfs;
pub mod dbus;
pub mod kmod;
pub mod netlink;
mod sysfs;
pub mod uio;
