//! Dispatcher-level behaviour: opcode decoding, configuration, data-out access.

use super::*;

#[test]
fn test_unit_ready() {
    assert!(good_data(run(&mut lun(), &[0; 6])).is_empty());
}

#[test]
fn unknown_opcode_is_invalid_opcode_at_byte_0() {
    for op in [0x01, 0x5F, 0x7F, 0xC0, 0xFF] {
        let s = check(run(&mut lun(), &[op; 16]));
        assert_eq!(s, Sense::invalid_opcode());
        let b = s.to_vec(false);
        assert_eq!((b[2], b[12], b[13]), (0x05, 0x20, 0x00));
        assert_eq!(&b[15..18], &[0xC0, 0, 0]);
    }
}

#[test]
fn unknown_opcode_wins_over_short_cdb() {
    assert_eq!(check(run(&mut lun(), &[0x01])), Sense::invalid_opcode());
}

#[test]
fn empty_cdb_is_invalid_opcode() {
    assert_eq!(check(run(&mut lun(), &[])), Sense::invalid_opcode());
}

#[test]
fn config_validation() {
    let ok = LunConfig::default();
    assert_eq!(ok.validate(), Ok(()));
    let bad = [
        LunConfig {
            block_size: 520,
            ..ok.clone()
        },
        LunConfig {
            block_size: 256,
            ..ok.clone()
        },
        LunConfig {
            num_blocks: 0,
            ..ok.clone()
        },
        LunConfig {
            max_transfer_blocks: 0,
            ..ok.clone()
        },
        LunConfig {
            vendor: "TOO LONG!".into(),
            ..ok.clone()
        },
        LunConfig {
            product: String::new(),
            ..ok.clone()
        },
        LunConfig {
            revision: "r\u{e9}v".into(),
            ..ok.clone()
        },
        LunConfig {
            serial: "a\nb".into(),
            ..ok.clone()
        },
        LunConfig {
            naa: [0x01; 16],
            ..ok.clone()
        },
    ];
    for cfg in bad {
        assert!(ScsiLun::new(cfg.clone()).is_err(), "{cfg:?}");
    }
}

#[test]
fn set_capacity_is_visible() {
    let mut l = lun();
    l.set_capacity(42).unwrap();
    assert_eq!(l.config().num_blocks, 42);
    assert_eq!(l.set_capacity(0), Err(LunConfigError::NoBlocks));
    assert_eq!(l.config().num_blocks, 42);
}

#[test]
fn data_out_reads_by_offset() {
    let v = vec![1u8, 2, 3, 4];
    let mut buf = [0u8; 3];
    assert_eq!(DataOut::read_at(&v, 2, &mut buf), 2);
    assert_eq!(buf, [3, 4, 0]);
    assert_eq!(DataOut::read_at(&v, 9, &mut buf), 0);
    let s: &[u8] = &v;
    assert_eq!(DataOut::len(&s), 4);
    assert!(!DataOut::is_empty(&[0u8; 1]));
    assert!(DataOut::is_empty(&Vec::new()));
}

#[test]
fn short_cdb_wins_over_field_errors() {
    let mut l = lun();
    assert_invalid_cdb(run(&mut l, &[0x28, 0xE0, 0, 0, 0]), 0, None);
    assert_invalid_cdb(run(&mut l, &[0x12, 0x02]), 0, None);
}
