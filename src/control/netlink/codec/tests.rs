//! Byte-exact tests of the TCM-USER codec. Fixtures are written by hand in host
//! (little-endian) order, as `nla_put_*` lays them out.
#![cfg(target_endian = "little")]

use super::*;
use proptest::prelude::*;

const NAME: &str = "tcm-user/1/d/ram/"; // 17 bytes + NUL = 18: attribute needs 2 padding bytes

/// `ADDED_DEVICE` for NAME, minor 3, device id 7, exactly as the kernel sends it.
#[rustfmt::skip]
const ADDED: [u8; 44] = [
    1, 2, 0, 0,                                  // genlmsghdr: cmd 1, version 2
    22, 0, 1, 0,                                 // DEVICE, 4 + 18 bytes
    b't', b'c', b'm', b'-', b'u', b's', b'e', b'r', b'/', b'1', b'/', b'd', b'/',
    b'r', b'a', b'm', b'/', 0, 0, 0,             // NUL + 2 bytes padding
    8, 0, 2, 0, 3, 0, 0, 0,                      // MINOR 3
    8, 0, 8, 0, 7, 0, 0, 0,                      // DEVICE_ID 7
];

/// A hand-built attribute: header, value, zero padding.
fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
    let len = 4 + value.len();
    let mut a = Vec::new();
    a.extend_from_slice(&(len as u16).to_le_bytes());
    a.extend_from_slice(&kind.to_le_bytes());
    a.extend_from_slice(value);
    a.resize((len + 3) & !3, 0);
    a
}

/// A hand-built payload: genl header then the attributes.
fn msg(cmd: u8, attrs: &[Vec<u8>]) -> Vec<u8> {
    let mut m = vec![cmd, 2, 0, 0];
    attrs.iter().for_each(|a| m.extend_from_slice(a));
    m
}

fn name() -> Vec<u8> {
    attr(1, b"tcm-user/1/d/ram/\0")
}
fn minor() -> Vec<u8> {
    attr(2, &3u32.to_le_bytes())
}
fn dev_id() -> Vec<u8> {
    attr(8, &7u32.to_le_bytes())
}

fn event(kind: EventKind) -> DeviceEvent {
    DeviceEvent {
        kind,
        uio_name: NAME.into(),
        minor: 3,
        device_id: 7,
    }
}

fn reconfig_event(attrs: Vec<u8>) -> Result<DeviceEvent, DecodeError> {
    decode_event(&msg(3, &[name(), minor(), dev_id(), attrs]))
}

#[test]
fn added_literal_decodes_and_reencodes_byte_exact() {
    assert_eq!(decode_event(&ADDED), Ok(event(EventKind::Added)));
    assert_eq!(encode_event(&event(EventKind::Added)).unwrap(), ADDED);
    assert_eq!(msg(1, &[name(), minor(), dev_id()]), ADDED);
}

#[test]
fn removed_decodes() {
    let m = msg(2, &[name(), minor(), dev_id()]);
    assert_eq!(decode_event(&m), Ok(event(EventKind::Removed)));
    assert_eq!(encode_event(&event(EventKind::Removed)).unwrap(), m);
}

#[test]
fn reconfig_dev_cfg() {
    let r = Reconfig {
        dev_cfg: Some("ram/x".into()),
        ..Reconfig::default()
    };
    assert_eq!(
        reconfig_event(attr(4, b"ram/x\0")),
        Ok(event(EventKind::Reconfig(r)))
    );
}

#[test]
fn reconfig_dev_size() {
    let r = Reconfig {
        dev_size: Some(1 << 40),
        ..Reconfig::default()
    };
    let a = attr(5, &(1u64 << 40).to_le_bytes());
    assert_eq!(a, [12, 0, 5, 0, 0, 0, 0, 0, 0, 1, 0, 0]);
    assert_eq!(reconfig_event(a), Ok(event(EventKind::Reconfig(r))));
}

#[test]
fn reconfig_write_cache() {
    let a = attr(6, &[1]);
    assert_eq!(a, [5, 0, 6, 0, 1, 0, 0, 0]);
    let on = Reconfig {
        write_cache: Some(true),
        ..Reconfig::default()
    };
    assert_eq!(reconfig_event(a), Ok(event(EventKind::Reconfig(on))));
    let off = Reconfig {
        write_cache: Some(false),
        ..Reconfig::default()
    };
    assert_eq!(
        reconfig_event(attr(6, &[0])),
        Ok(event(EventKind::Reconfig(off)))
    );
}

#[test]
fn reconfig_round_trips_all_fields() {
    let r = Reconfig {
        dev_cfg: Some("glfs/v@h/f".into()),
        dev_size: Some(4096),
        write_cache: Some(true),
    };
    let ev = event(EventKind::Reconfig(r));
    assert_eq!(decode_event(&encode_event(&ev).unwrap()), Ok(ev));
}

#[test]
fn reconfig_without_change_is_refused() {
    let m = msg(3, &[name(), minor(), dev_id()]);
    assert_eq!(decode_event(&m), Err(DecodeError::EmptyReconfig));
}

#[test]
fn replies_are_byte_exact() {
    #[rustfmt::skip]
    let added = [4, 2, 0, 0, 8, 0, 7, 0, 0xea, 0xff, 0xff, 0xff, 8, 0, 8, 0, 7, 0, 0, 0];
    assert_eq!(encode_reply(EventType::Added, -22, 7), added);
    let removed = encode_reply(EventType::Removed, 0, 0x0102_0304);
    assert_eq!(
        removed,
        [5, 2, 0, 0, 8, 0, 7, 0, 0, 0, 0, 0, 8, 0, 8, 0, 4, 3, 2, 1]
    );
    assert_eq!(encode_reply(EventType::Reconfig, 0, 1)[0], 6);
}

#[test]
fn replies_round_trip() {
    for event in [EventType::Added, EventType::Removed, EventType::Reconfig] {
        let reply = Reply {
            event,
            status: -5,
            device_id: 9,
        };
        assert_eq!(decode_reply(&encode_reply(event, -5, 9)), Ok(reply));
    }
}

#[test]
fn reply_decoder_needs_status_and_id() {
    let no_status = msg(4, &[dev_id()]);
    assert_eq!(
        decode_reply(&no_status),
        Err(DecodeError::Missing {
            attr: Attr::CmdStatus
        })
    );
    let no_id = msg(4, &[attr(7, &0i32.to_le_bytes())]);
    assert_eq!(
        decode_reply(&no_id),
        Err(DecodeError::Missing {
            attr: Attr::DeviceId
        })
    );
    assert_eq!(
        decode_reply(&ADDED),
        Err(DecodeError::UnexpectedCommand(GenlCommand::AddedDevice))
    );
}

#[test]
fn set_features_is_byte_exact() {
    assert_eq!(
        encode_set_features(true),
        [7, 2, 0, 0, 5, 0, 9, 0, 1, 0, 0, 0]
    );
    assert_eq!(
        encode_set_features(false),
        [7, 2, 0, 0, 5, 0, 9, 0, 0, 0, 0, 0]
    );
}

#[test]
fn truncated_genl_header() {
    for len in 0..4 {
        assert_eq!(
            decode_event(&ADDED[..len]),
            Err(DecodeError::HeaderTruncated { len })
        );
    }
}

#[test]
fn unknown_and_unexpected_commands() {
    assert_eq!(
        decode_event(&[8, 2, 0, 0]),
        Err(DecodeError::UnknownCommand(8))
    );
    assert_eq!(
        decode_event(&[255, 2, 0, 0]),
        Err(DecodeError::UnknownCommand(255))
    );
    for (cmd, c) in [
        (0, GenlCommand::Unspec),
        (4, GenlCommand::AddedDeviceDone),
        (7, GenlCommand::SetFeatures),
    ] {
        assert_eq!(
            decode_event(&msg(cmd, &[])),
            Err(DecodeError::UnexpectedCommand(c))
        );
    }
}

#[test]
fn attribute_header_truncated() {
    let mut m = ADDED.to_vec();
    m.extend_from_slice(&[8, 0]);
    let e = DecodeError::AttrHeaderTruncated {
        offset: 40,
        remaining: 2,
    };
    assert_eq!(decode_event(&m), Err(e));
}

#[test]
fn attribute_shorter_than_header() {
    let m = msg(1, &[vec![3, 0, 1, 0]]);
    assert_eq!(
        decode_event(&m),
        Err(DecodeError::AttrTooShort { offset: 0, len: 3 })
    );
}

#[test]
fn attribute_overruns_message() {
    let mut m = msg(1, &[name()]);
    m[4] = 100;
    let e = DecodeError::AttrOverrun {
        offset: 0,
        len: 100,
        remaining: 24,
    };
    assert_eq!(decode_event(&m), Err(e));
}

#[test]
fn attribute_missing_its_padding() {
    let m = &ADDED[..ADDED.len() - 16 - 2];
    let e = DecodeError::AttrUnpadded {
        offset: 0,
        missing: 2,
    };
    assert_eq!(decode_event(m), Err(e));
}

#[test]
fn duplicate_attribute() {
    let m = msg(1, &[name(), minor(), minor(), dev_id()]);
    assert_eq!(
        decode_event(&m),
        Err(DecodeError::Duplicate { attr: Attr::Minor })
    );
}

#[test]
fn oversized_and_undersized_integers() {
    let big = msg(1, &[name(), attr(2, &[0; 8]), dev_id()]);
    let e = DecodeError::Size {
        attr: Attr::Minor,
        expected: 4,
        got: 8,
    };
    assert_eq!(decode_event(&big), Err(e));
    let small = msg(1, &[name(), minor(), attr(8, &[1, 0])]);
    let e = DecodeError::Size {
        attr: Attr::DeviceId,
        expected: 4,
        got: 2,
    };
    assert_eq!(decode_event(&small), Err(e));
    let size = reconfig_event(attr(5, &[0; 4]));
    assert_eq!(
        size,
        Err(DecodeError::Size {
            attr: Attr::DevSize,
            expected: 8,
            got: 4
        })
    );
    let wc = reconfig_event(attr(6, &[1, 0]));
    assert_eq!(
        wc,
        Err(DecodeError::Size {
            attr: Attr::WriteCache,
            expected: 1,
            got: 2
        })
    );
}

#[test]
fn bad_strings() {
    let decode_name = |v: &[u8]| decode_event(&msg(1, &[attr(1, v), minor(), dev_id()]));
    let unterminated = Err(DecodeError::Unterminated { attr: Attr::Device });
    assert_eq!(decode_name(b"tcm-user"), unterminated);
    assert_eq!(decode_name(b""), unterminated);
    assert_eq!(
        decode_name(b"a\0b\0"),
        Err(DecodeError::InteriorNul { attr: Attr::Device })
    );
    assert!(matches!(
        decode_name(b"\xff\xfe\0"),
        Err(DecodeError::NotUtf8 {
            attr: Attr::Device,
            ..
        })
    ));
    let cfg = reconfig_event(attr(4, b"x"));
    assert_eq!(cfg, Err(DecodeError::Unterminated { attr: Attr::DevCfg }));
}

#[test]
fn missing_required_attributes() {
    let cases = [
        (msg(1, &[minor(), dev_id()]), Attr::Device),
        (msg(1, &[name(), dev_id()]), Attr::Minor),
        (msg(2, &[name(), minor()]), Attr::DeviceId),
    ];
    for (m, attr) in cases {
        assert_eq!(decode_event(&m), Err(DecodeError::Missing { attr }));
    }
}

#[test]
fn unknown_pad_and_flagged_attributes() {
    let m = msg(
        1,
        &[
            attr(42, b"future"),
            attr(3, &[0; 4]),
            attr(3, &[]),
            name(),
            minor(),
            dev_id(),
        ],
    );
    assert_eq!(decode_event(&m), Ok(event(EventKind::Added)));
    let flagged = msg(1, &[name(), minor(), attr(0x4000 | 8, &7u32.to_le_bytes())]);
    assert_eq!(decode_event(&flagged), Ok(event(EventKind::Added)));
}

#[test]
fn reply_target_salvages_what_it_can() {
    let bad_name = msg(1, &[attr(1, b"\xff\0"), minor(), dev_id()]);
    assert!(decode_event(&bad_name).is_err());
    assert_eq!(reply_target(&bad_name), Some((EventType::Added, 7)));
    let truncated_after_id = [msg(3, &[dev_id()]), vec![1]].concat();
    assert_eq!(
        reply_target(&truncated_after_id),
        Some((EventType::Reconfig, 7))
    );
    let broken_before_id = msg(2, &[vec![2, 0, 1, 0], dev_id()]);
    assert_eq!(reply_target(&broken_before_id), None);
    assert_eq!(reply_target(&msg(2, &[name()])), None);
    assert_eq!(reply_target(&encode_reply(EventType::Added, 0, 7)), None);
    assert_eq!(reply_target(&[1, 2]), None);
}

#[test]
fn encoder_refuses_nul_in_strings() {
    let mut ev = event(EventKind::Added);
    ev.uio_name = "a\0b".into();
    assert_eq!(
        encode_event(&ev),
        Err(EncodeError::InteriorNul { attr: Attr::Device })
    );
    ev.uio_name = "x".repeat(70_000);
    let e = encode_event(&ev).unwrap_err();
    assert_eq!(
        e,
        EncodeError::TooLong {
            attr: Attr::Device,
            len: 70_001
        }
    );
}

#[test]
fn command_and_attr_tables() {
    assert_eq!(GenlCommand::from_u8(7), Some(GenlCommand::SetFeatures));
    assert_eq!(GenlCommand::from_u8(8), None);
    assert_eq!(Attr::from_u16(0), None);
    assert_eq!(Attr::from_u16(9), Some(Attr::SuppKernCmdReply));
    assert_eq!(Attr::from_u16(10), None);
    assert_eq!(Attr::DeviceId.to_string(), "TCMU_ATTR_DEVICE_ID");
}

fn arb_event() -> impl Strategy<Value = DeviceEvent> {
    let reconfig = (
        proptest::option::of("[^\0]{0,40}"),
        proptest::option::of(any::<u64>()),
        proptest::option::of(any::<bool>()),
    )
        .prop_filter_map("empty reconfig", |(dev_cfg, dev_size, write_cache)| {
            let r = Reconfig {
                dev_cfg,
                dev_size,
                write_cache,
            };
            (r != Reconfig::default()).then_some(EventKind::Reconfig(r))
        });
    let kind = prop_oneof![Just(EventKind::Added), Just(EventKind::Removed), reconfig];
    (kind, "[^\0]{0,80}", any::<u32>(), any::<u32>()).prop_map(
        |(kind, uio_name, minor, device_id)| DeviceEvent {
            kind,
            uio_name,
            minor,
            device_id,
        },
    )
}

proptest! {
    #[test]
    fn encode_then_decode_is_identity(ev in arb_event()) {
        let bytes = encode_event(&ev).unwrap();
        prop_assert_eq!(bytes.len() % 4, 0);
        prop_assert_eq!(decode_event(&bytes), Ok(ev));
    }

    #[test]
    fn decoders_are_total(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        let _ = decode_event(&bytes);
        let _ = decode_reply(&bytes);
        let _ = reply_target(&bytes);
    }
}
