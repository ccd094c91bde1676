//! The control plane: how the outside world (targetcli, the kernel's netlink events,
//! systemd) talks to the daemon. Nothing here runs on the data path.

pub mod dbus;
