//! The `TCM-USER` netlink socket: the only part of [`netlink`](super) that does I/O.
//!
//! # Every event must be answered
//!
//! [`TcmuNetlink::open`] sends `SET_FEATURES` with `SUPP_KERN_CMD_REPLY=1`. From then on
//! the kernel blocks, **without time-out**, after every `ADDED_DEVICE`,
//! `REMOVED_DEVICE` and `RECONFIG_DEVICE` until it gets the matching `*_DONE`: the
//! configfs write that created, removed or reconfigured the device (targetcli, rtslib)
//! hangs until then, and later events for that device queue behind it. So every event
//! returned by [`recv`](TcmuNetlink::recv) must reach [`reply`](TcmuNetlink::reply),
//! whether the device could be served or not (answer failures with a negative errno).
//! If the daemon dies with events unanswered, the kernel stays stuck until someone
//! writes `reset_netlink` (see [`kmod`](crate::control::kmod)).

use super::NetlinkError;
use super::codec::{self, DeviceEvent, EventType};
use super::frame::{self, Family};
use super::inbox::Inbox;
use netlink_sys::Socket;
use netlink_sys::protocols::NETLINK_GENERIC;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

/// Receive buffer size. Kernel messages fit one page (`NLMSG_GOODSIZE`); 64 KiB leaves
/// room for several per datagram.
const RECV_BUFFER: usize = 64 * 1024;

/// A generic netlink socket joined to `TCM-USER`'s `config` group, with command
/// replies enabled. See the module docs: every event must be answered.
#[derive(Debug)]
pub struct TcmuNetlink {
    socket: Socket,
    family: u16,
    seq: u32,
    buf: Vec<u8>,
    inbox: Inbox,
}

impl TcmuNetlink {
    /// Resolves the `TCM-USER` family and its `config` group, joins the group and
    /// enables kernel command replies (`SET_FEATURES`, needs CAP_NET_ADMIN).
    ///
    /// Fails with [`NetlinkError::FamilyMissing`] when `target_core_user` is not loaded.
    pub fn open() -> Result<Self, NetlinkError> {
        let mut me = Self::bare()?;
        let family = me.resolve_family(codec::FAMILY_NAME, codec::MCAST_GROUP)?;
        me.family = family.id;
        me.inbox = Inbox::new(family.id);
        let join = NetlinkError::io("join multicast group \"config\"");
        me.socket
            .add_membership(family.config_group)
            .map_err(join)?;
        me.transact(codec::encode_set_features(true), "SET_FEATURES")?;
        Ok(me)
    }

    /// A bound generic netlink socket that knows no family yet.
    fn bare() -> Result<Self, NetlinkError> {
        let mut socket = Socket::new(NETLINK_GENERIC).map_err(NetlinkError::io("create"))?;
        socket.bind_auto().map_err(NetlinkError::io("bind"))?;
        Ok(Self {
            socket,
            family: 0,
            seq: 0,
            buf: Vec::with_capacity(RECV_BUFFER),
            inbox: Inbox::new(0),
        })
    }

    /// Blocks until the next kernel event. Unrelated messages are skipped; an
    /// undecodable event is logged and answered `-EINVAL` here, so it never leaves the
    /// kernel waiting. The returned event must be passed to [`reply`](Self::reply).
    pub fn recv(&mut self) -> Result<DeviceEvent, NetlinkError> {
        loop {
            if let Some(ev) = self.next_queued()? {
                return Ok(ev);
            }
            self.read(0, None)?;
        }
    }

    /// Like [`recv`](Self::recv) but returns `Ok(None)` instead of blocking, for use
    /// after [`as_fd`](AsFd::as_fd) polled readable or while
    /// [`has_pending`](Self::has_pending) is true.
    pub fn try_recv(&mut self) -> Result<Option<DeviceEvent>, NetlinkError> {
        loop {
            if let Some(ev) = self.next_queued()? {
                return Ok(Some(ev));
            }
            match self.read(libc::MSG_DONTWAIT, None) {
                Err(NetlinkError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::WouldBlock =>
                {
                    return Ok(None);
                }
                other => {
                    other?;
                }
            }
        }
    }

    /// Answers `ev` with its `*_DONE`, `CMD_STATUS = status` (0, or a negative errno
    /// the kernel hands to whoever made the change) and `DEVICE_ID`, and waits for the
    /// kernel's acknowledgement. [`NetlinkError::Kernel`] here means the kernel was not
    /// waiting for this answer (e.g. the device set `nl_reply_supported=-1`).
    pub fn reply(&mut self, ev: &DeviceEvent, status: i32) -> Result<(), NetlinkError> {
        let payload = codec::encode_reply(ev.kind.event_type(), status, ev.device_id);
        self.transact(payload, "*_DONE reply")
    }

    /// Whether events (or owed answers) are queued that polling the fd would not
    /// announce: they arrived while a reply waited for its ack. Drain them with
    /// [`try_recv`](Self::try_recv) before polling again.
    pub fn has_pending(&self) -> bool {
        self.inbox.has_pending()
    }

    /// Sends owed `-EINVAL` answers, then hands out the oldest queued event.
    fn next_queued(&mut self) -> Result<Option<DeviceEvent>, NetlinkError> {
        while let Some((event, device_id)) = self.inbox.pop_owed() {
            if let Err(e) = self.answer_undecodable(event, device_id) {
                self.inbox.unpop_owed((event, device_id));
                return Err(e);
            }
        }
        Ok(self.inbox.pop_event())
    }

    /// The `-EINVAL` answer to an event we could not decode.
    fn answer_undecodable(&mut self, event: EventType, device_id: u32) -> Result<(), NetlinkError> {
        let payload = codec::encode_reply(event, -libc::EINVAL, device_id);
        match self.transact(payload, "-EINVAL reply to an undecodable event") {
            Err(NetlinkError::Kernel { op, source }) => {
                tracing::warn!(op, error = %source, device_id, "kernel refused our -EINVAL answer");
                Ok(())
            }
            other => other,
        }
    }

    /// Asks the controller for family `name` and its multicast group `group`; the
    /// answer comes back on our port.
    fn resolve_family(&mut self, name: &str, group: &str) -> Result<Family, NetlinkError> {
        let seq = self.next_seq();
        self.send(&frame::get_family_request(seq, name), "send GETFAMILY")?;
        loop {
            let msgs = self.recv_datagram(0)?;
            if let Some(answer) = msgs
                .iter()
                .find_map(|m| frame::family_answer(m, seq, group))
            {
                return answer;
            }
        }
    }

    /// Sends a request with `NLM_F_ACK` and waits for its ack, queueing whatever
    /// else arrives meanwhile.
    fn transact(&mut self, payload: Vec<u8>, op: &'static str) -> Result<(), NetlinkError> {
        let seq = self.next_seq();
        self.send(&frame::request(self.family, seq, payload, true), op)?;
        loop {
            match self.read(0, Some(seq))? {
                Some(0) => return Ok(()),
                Some(errno) => return Err(NetlinkError::kernel(op, errno)),
                None => continue,
            }
        }
    }

    /// Reads one datagram and sorts all its messages into the inbox; returns the
    /// errno of the `awaited` ack if the datagram carried it.
    fn read(
        &mut self,
        flags: libc::c_int,
        awaited: Option<u32>,
    ) -> Result<Option<i32>, NetlinkError> {
        let msgs = self.recv_datagram(flags)?;
        let mut ack = None;
        for msg in msgs {
            ack = ack.or(self.inbox.accept(msg, awaited));
        }
        Ok(ack)
    }

    /// Receives one datagram and splits it. A malformed tail is logged: the messages
    /// before it are still delivered.
    fn recv_datagram(&mut self, flags: libc::c_int) -> Result<Vec<frame::Incoming>, NetlinkError> {
        self.buf.clear();
        let len = self
            .socket
            .recv(&mut self.buf, flags | libc::MSG_TRUNC)
            .map_err(NetlinkError::io("receive"))?;
        if len > self.buf.len() {
            let capacity = self.buf.capacity();
            return Err(NetlinkError::Truncated { len, capacity });
        }
        let (msgs, err) = frame::split(&self.buf);
        if let Some(err) = err {
            tracing::warn!(error = %err, "dropping the rest of a malformed netlink datagram");
        }
        Ok(msgs)
    }

    /// Sends one complete request to the kernel (port 0).
    fn send(&self, bytes: &[u8], op: &'static str) -> Result<(), NetlinkError> {
        let kernel = netlink_sys::SocketAddr::new(0, 0);
        self.socket
            .send_to(bytes, &kernel, 0)
            .map_err(NetlinkError::io(op))?;
        Ok(())
    }

    /// Sequence numbers match acks to requests; 0 is what multicasts carry.
    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }
}

impl AsFd for TcmuNetlink {
    /// The socket, for `poll`/`epoll`: readable when a datagram is waiting. Check
    /// [`has_pending`](TcmuNetlink::has_pending) too.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl AsRawFd for TcmuNetlink {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// On a kernel without target_core_user (this development host), `open` must fail
    /// and say which module is missing. Skipped where the module is loaded: there a
    /// successful `open` would switch the kernel to waiting for replies.
    #[test]
    fn open_names_the_missing_module() {
        if Path::new("/sys/module/target_core_user").exists() {
            return;
        }
        match TcmuNetlink::open() {
            Err(e @ NetlinkError::FamilyMissing) => {
                assert!(e.to_string().contains("target_core_user"))
            }
            Err(NetlinkError::Io { op: "create", .. }) => {} // sandbox without netlink sockets
            other => panic!("unexpected: {other:?}"),
        }
    }

    /// The controller exchange against the real kernel, on a family every kernel has:
    /// the controller itself (`nlctrl`, id 16, multicast group `notify`).
    #[test]
    fn resolves_a_real_family() {
        let Ok(mut nl) = TcmuNetlink::bare() else {
            return; // sandbox without netlink sockets
        };
        let family = nl.resolve_family("nlctrl", "notify").unwrap();
        assert_eq!(family.id, netlink_packet_generic::constants::GENL_ID_CTRL);
        assert!(family.config_group > 0);
        let err = nl.resolve_family("nlctrl", "no-such-group").unwrap_err();
        assert!(matches!(err, NetlinkError::GroupMissing));
    }
}
