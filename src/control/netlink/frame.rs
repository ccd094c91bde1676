//! `nlmsghdr` framing (via `netlink-packet-core`) around the TCMU payloads of
//! [`codec`](super::codec), and the generic netlink controller exchange that turns the
//! family name into its dynamic id and multicast group (via `netlink-packet-generic`).
//!
//! Pure: builds byte vectors and parses byte slices; the socket lives in `socket.rs`.

use super::NetlinkError;
use netlink_packet_core::{
    NLM_F_ACK, NLM_F_REQUEST, NetlinkBuffer, NetlinkDeserializable, NetlinkHeader, NetlinkMessage,
    NetlinkPayload, NetlinkSerializable, ParseableParametrized,
};
use netlink_packet_generic::GenlMessage;
use netlink_packet_generic::constants::GENL_ID_CTRL;
use netlink_packet_generic::ctrl::nlas::{GenlCtrlAttrs, McastGrpAttrs};
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use std::convert::Infallible;

/// A generic netlink payload (genl header + attributes) that the codec builds and
/// reads itself; `netlink-packet-core` only adds or strips the `nlmsghdr`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RawGenl {
    family: u16,
    bytes: Vec<u8>,
}

impl NetlinkSerializable for RawGenl {
    fn message_type(&self) -> u16 {
        self.family
    }

    fn buffer_len(&self) -> usize {
        self.bytes.len()
    }

    fn serialize(&self, buffer: &mut [u8]) {
        buffer.copy_from_slice(&self.bytes);
    }
}

impl NetlinkDeserializable for RawGenl {
    type Error = Infallible;

    fn deserialize(header: &NetlinkHeader, payload: &[u8]) -> Result<Self, Infallible> {
        Ok(RawGenl {
            family: header.message_type,
            bytes: payload.to_vec(),
        })
    }
}

/// What the family resolution found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Family {
    /// The dynamic generic netlink id of `TCM-USER`.
    pub id: u16,
    /// The id of its `config` multicast group.
    pub config_group: u32,
}

/// One message of a received datagram, sorted by what it means to us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Incoming {
    /// A generic netlink message of `family` (an event, or a controller answer).
    Genl {
        family: u16,
        seq: u32,
        payload: Vec<u8>,
    },
    /// `NLMSG_ERROR`: an acknowledgement (`errno` 0) or a refusal (positive errno).
    Ack { seq: u32, errno: i32 },
    /// `NLMSG_NOOP`, `NLMSG_DONE`, `NLMSG_OVERRUN`: nothing for us.
    Other { message_type: u16 },
}

/// A request carrying a codec-built payload to `family`. With `ack`, the kernel
/// answers with an `NLMSG_ERROR` carrying `seq` and the handler's return code.
pub(super) fn request(family: u16, seq: u32, payload: Vec<u8>, ack: bool) -> Vec<u8> {
    let inner = NetlinkPayload::InnerMessage(RawGenl {
        family,
        bytes: payload,
    });
    let flags = if ack {
        NLM_F_REQUEST | NLM_F_ACK
    } else {
        NLM_F_REQUEST
    };
    emit(NetlinkMessage::new(header(flags, seq), inner))
}

/// `CTRL_CMD_GETFAMILY` for `name` (`TCM-USER`); the kernel answers with `NEWFAMILY`
/// or, when the module is not loaded, `NLMSG_ERROR` `-ENOENT` (errors are sent even
/// without `ACK`).
pub(super) fn get_family_request(seq: u32, name: &str) -> Vec<u8> {
    let ctrl = GenlCtrl {
        cmd: GenlCtrlCmd::GetFamily,
        nlas: vec![GenlCtrlAttrs::FamilyName(name.to_owned())],
    };
    let inner = NetlinkPayload::InnerMessage(GenlMessage::from_payload(ctrl));
    emit(NetlinkMessage::new(header(NLM_F_REQUEST, seq), inner))
}

/// Reads the family id and the id of multicast group `group` (`config`) out of a
/// controller `NEWFAMILY` payload.
pub(super) fn parse_family(payload: &[u8], group: &str) -> Result<Family, NetlinkError> {
    let msg = GenlMessage::<GenlCtrl>::parse_with_param(payload, GENL_ID_CTRL)
        .map_err(NetlinkError::Controller)?;
    let nlas = msg.payload.nlas;
    let id = nlas.iter().find_map(|a| match a {
        GenlCtrlAttrs::FamilyId(id) => Some(*id),
        _ => None,
    });
    let group = nlas.iter().find_map(|a| match a {
        GenlCtrlAttrs::McastGroups(groups) => groups.iter().find_map(|g| group_id(g, group)),
        _ => None,
    });
    let id = id.ok_or(NetlinkError::FamilyMissing)?;
    let config_group = group.ok_or(NetlinkError::GroupMissing)?;
    Ok(Family { id, config_group })
}

/// Whether `msg` is the controller's answer to the `GETFAMILY` request `seq`, and if
/// so what it says about multicast group `group`. `ENOENT` is how the controller says
/// "no such family".
pub(super) fn family_answer(
    msg: &Incoming,
    seq: u32,
    group: &str,
) -> Option<Result<Family, NetlinkError>> {
    match msg {
        Incoming::Genl {
            family: GENL_ID_CTRL,
            seq: s,
            payload,
        } if *s == seq => Some(parse_family(payload, group)),
        Incoming::Ack { seq: s, errno } if *s == seq && *errno == libc::ENOENT => {
            Some(Err(NetlinkError::FamilyMissing))
        }
        Incoming::Ack { seq: s, errno } if *s == seq && *errno != 0 => {
            Some(Err(NetlinkError::kernel("resolve family TCM-USER", *errno)))
        }
        _ => None,
    }
}

/// The id of one multicast group entry if it is called `name`.
fn group_id(group: &[McastGrpAttrs], name: &str) -> Option<u32> {
    let is_config = group
        .iter()
        .any(|a| matches!(a, McastGrpAttrs::Name(n) if n == name));
    let id = group.iter().find_map(|a| match a {
        McastGrpAttrs::Id(id) => Some(*id),
        McastGrpAttrs::Name(_) => None,
    });
    id.filter(|_| is_config)
}

/// Splits a datagram into its messages. Stops at the first malformed one: after a bad
/// length nothing further in the datagram can be located.
pub(super) fn split(datagram: &[u8]) -> (Vec<Incoming>, Option<NetlinkError>) {
    let mut out = Vec::new();
    let mut offset = 0;
    while offset < datagram.len() {
        let rest = datagram.get(offset..).unwrap_or_default();
        match parse_one(rest) {
            Ok((incoming, len)) => {
                out.push(incoming);
                offset = offset.saturating_add(align4(len));
            }
            Err(source) => return (out, Some(NetlinkError::Frame { offset, source })),
        }
    }
    (out, None)
}

/// Parses the message at the start of `rest`, returning it and its length.
fn parse_one(rest: &[u8]) -> Result<(Incoming, usize), netlink_packet_core::DecodeError> {
    let len = NetlinkBuffer::new_checked(rest)?.length() as usize;
    let msg = NetlinkMessage::<RawGenl>::deserialize(rest.get(..len).unwrap_or(rest))?;
    let seq = msg.header.sequence_number;
    let message_type = msg.header.message_type;
    let incoming = match msg.payload {
        NetlinkPayload::InnerMessage(g) => Incoming::Genl {
            family: g.family,
            seq,
            payload: g.bytes,
        },
        NetlinkPayload::Error(e) => Incoming::Ack {
            seq,
            errno: e.raw_code().saturating_neg(),
        },
        _ => Incoming::Other { message_type },
    };
    Ok((incoming, len))
}

/// A request header; length and type are filled in by `finalize`.
fn header(flags: u16, seq: u32) -> NetlinkHeader {
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = seq;
    header
}

/// Serializes a message after making its header consistent with its payload.
fn emit<I: NetlinkSerializable>(mut msg: NetlinkMessage<I>) -> Vec<u8> {
    msg.finalize();
    let mut buf = vec![0; msg.buffer_len()];
    msg.serialize(&mut buf);
    buf
}

/// `NLMSG_ALIGN`.
fn align4(len: usize) -> usize {
    len.saturating_add(3) & !3
}

#[cfg(test)]
mod tests;
