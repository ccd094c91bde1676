//! Byte-exact framing tests (host order = little-endian).
#![cfg(target_endian = "little")]

use super::*;
use crate::control::netlink::codec::{MCAST_GROUP, encode_set_features};

/// A hand-built attribute: header, value, zero padding.
fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
    let len = 4 + value.len();
    let mut a = [(len as u16).to_le_bytes(), kind.to_le_bytes()].concat();
    a.extend_from_slice(value);
    a.resize((len + 3) & !3, 0);
    a
}

/// A hand-built `nlmsghdr` + payload.
fn nlmsg(message_type: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let len = (16 + payload.len()) as u32;
    let mut m = [
        &len.to_le_bytes()[..],
        &message_type.to_le_bytes(),
        &flags.to_le_bytes(),
    ]
    .concat();
    m.extend_from_slice(&seq.to_le_bytes());
    m.extend_from_slice(&[0; 4]);
    m.extend_from_slice(payload);
    m
}

/// A controller `NEWFAMILY` payload for TCM-USER with the given multicast groups.
fn newfamily(groups: &[(&str, u32)]) -> Vec<u8> {
    let nested: Vec<u8> = groups
        .iter()
        .enumerate()
        .flat_map(|(i, (name, id))| {
            let name = [name.as_bytes(), b"\0"].concat();
            let inner = [attr(2, &id.to_le_bytes()), attr(1, &name)].concat();
            attr(i as u16 + 1, &inner)
        })
        .collect();
    let mut p = vec![1, 2, 0, 0];
    p.extend(attr(1, &0x1cu16.to_le_bytes()));
    p.extend(attr(2, b"TCM-USER\0"));
    p.extend(attr(7, &nested));
    p
}

#[test]
fn request_is_byte_exact() {
    let bytes = request(0x1c, 5, encode_set_features(true), true);
    #[rustfmt::skip]
    let want = [
        28, 0, 0, 0, 0x1c, 0, 5, 0, 5, 0, 0, 0, 0, 0, 0, 0, // len, type, REQUEST|ACK, seq, port
        7, 2, 0, 0, 5, 0, 9, 0, 1, 0, 0, 0,                 // SET_FEATURES, SUPP_KERN_CMD_REPLY=1
    ];
    assert_eq!(bytes, want);
    assert_eq!(request(0x1c, 5, vec![4, 2, 0, 0], false)[6], 1);
}

#[test]
fn get_family_request_is_byte_exact() {
    let payload = [&[3u8, 2, 0, 0][..], &attr(2, b"TCM-USER\0")].concat();
    assert_eq!(get_family_request(9, "TCM-USER"), nlmsg(16, 1, 9, &payload));
}

#[test]
fn family_and_config_group_are_found() {
    let fam = parse_family(&newfamily(&[("other", 3), ("config", 11)]), MCAST_GROUP).unwrap();
    assert_eq!(
        fam,
        Family {
            id: 0x1c,
            config_group: 11
        }
    );
}

#[test]
fn missing_config_group() {
    let err = parse_family(&newfamily(&[("other", 3)]), MCAST_GROUP).unwrap_err();
    assert!(matches!(err, NetlinkError::GroupMissing), "{err}");
}

#[test]
fn malformed_controller_reply() {
    let err = parse_family(&[1, 2], MCAST_GROUP).unwrap_err();
    assert!(matches!(err, NetlinkError::Controller(_)), "{err}");
}

#[test]
fn family_answer_matches_sequence_and_errno() {
    let reply = Incoming::Genl {
        family: GENL_ID_CTRL,
        seq: 4,
        payload: newfamily(&[("config", 2)]),
    };
    assert!(matches!(
        family_answer(&reply, 4, MCAST_GROUP),
        Some(Ok(Family {
            id: 0x1c,
            config_group: 2
        }))
    ));
    assert!(family_answer(&reply, 5, MCAST_GROUP).is_none());
    let enoent = Incoming::Ack {
        seq: 4,
        errno: libc::ENOENT,
    };
    assert!(matches!(
        family_answer(&enoent, 4, MCAST_GROUP),
        Some(Err(NetlinkError::FamilyMissing))
    ));
    let eperm = Incoming::Ack {
        seq: 4,
        errno: libc::EPERM,
    };
    assert!(matches!(
        family_answer(&eperm, 4, MCAST_GROUP),
        Some(Err(NetlinkError::Kernel { .. }))
    ));
    assert!(family_answer(&Incoming::Ack { seq: 4, errno: 0 }, 4, MCAST_GROUP).is_none());
}

#[test]
fn split_sorts_events_acks_and_noise() {
    let event = nlmsg(0x1c, 0, 0, &[1, 2, 0, 0, 0]); // 21 bytes: next one starts after padding
    let mut datagram = event.clone();
    datagram.resize(24, 0);
    let original = nlmsg(0x1c, 5, 9, &[]);
    datagram.extend(nlmsg(
        2,
        0,
        9,
        &[&(-19i32).to_le_bytes()[..], &original].concat(),
    ));
    datagram.extend(nlmsg(
        2,
        0,
        10,
        &[&0i32.to_le_bytes()[..], &original].concat(),
    ));
    datagram.extend(nlmsg(1, 0, 0, &[]));
    let (msgs, err) = split(&datagram);
    assert!(err.is_none());
    let want = vec![
        Incoming::Genl {
            family: 0x1c,
            seq: 0,
            payload: vec![1, 2, 0, 0, 0],
        },
        Incoming::Ack { seq: 9, errno: 19 },
        Incoming::Ack { seq: 10, errno: 0 },
        Incoming::Other { message_type: 1 },
    ];
    assert_eq!(msgs, want);
}

#[test]
fn split_stops_at_malformed_message() {
    let mut datagram = nlmsg(0x1c, 0, 0, &[1, 2, 0, 0]);
    datagram.extend([1, 2, 3]);
    let (msgs, err) = split(&datagram);
    assert_eq!(msgs.len(), 1);
    assert!(matches!(err, Some(NetlinkError::Frame { offset: 20, .. })));
    let mut lying = nlmsg(0x1c, 0, 0, &[]);
    lying[0] = 200;
    let (msgs, err) = split(&lying);
    assert!(msgs.is_empty());
    assert!(matches!(err, Some(NetlinkError::Frame { offset: 0, .. })));
}

#[test]
fn split_of_nothing_is_nothing() {
    let (msgs, err) = split(&[]);
    assert!(msgs.is_empty() && err.is_none());
}
