//! What can go wrong on the netlink side.

use std::io;

/// Errors of [`TcmuNetlink`](super::TcmuNetlink).
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    /// The controller does not know the family: the module is not loaded.
    #[error(
        "generic netlink family \"TCM-USER\" is not registered: the target_core_user \
         kernel module is not loaded (modprobe target_core_user)"
    )]
    FamilyMissing,
    /// The family exists but offers no `config` multicast group.
    #[error("generic netlink family \"TCM-USER\" has no multicast group \"config\"")]
    GroupMissing,
    /// A socket call failed.
    #[error("netlink socket: cannot {op}")]
    Io {
        op: &'static str,
        #[source]
        source: io::Error,
    },
    /// The socket's receive queue overflowed (`ENOBUFS`): the kernel dropped messages,
    /// possibly events. Rescan the UIO devices to find out what changed.
    #[error("netlink receive queue overflowed: kernel events were lost, rescan devices")]
    Overrun,
    /// The kernel answered a request with an error (`EPERM`: replies and
    /// `SET_FEATURES` need CAP_NET_ADMIN; `ENODEV`/`EINVAL` on a reply: the kernel was
    /// not waiting for that answer).
    #[error("kernel refused {op}")]
    Kernel {
        op: &'static str,
        #[source]
        source: io::Error,
    },
    /// A datagram did not parse as netlink messages.
    #[error("malformed netlink message at offset {offset} of a datagram")]
    Frame {
        offset: usize,
        #[source]
        source: netlink_packet_core::DecodeError,
    },
    /// The controller's answer about the family did not parse.
    #[error("malformed generic netlink controller reply")]
    Controller(#[source] netlink_packet_core::DecodeError),
    /// A datagram was larger than our buffer and was cut; its messages are lost.
    #[error("a {len}-byte netlink datagram exceeded the {capacity}-byte receive buffer")]
    Truncated { len: usize, capacity: usize },
}

impl NetlinkError {
    /// A kernel refusal from the (positive) errno of an `NLMSG_ERROR`.
    pub(crate) fn kernel(op: &'static str, errno: i32) -> Self {
        NetlinkError::Kernel {
            op,
            source: io::Error::from_raw_os_error(errno),
        }
    }

    /// A failed socket call, keeping `ENOBUFS` apart because it means lost events.
    pub(crate) fn io(op: &'static str) -> impl FnOnce(io::Error) -> Self {
        move |source| match source.raw_os_error() {
            Some(libc::ENOBUFS) => NetlinkError::Overrun,
            _ => NetlinkError::Io { op, source },
        }
    }
}
