//! Sense encoding in both formats, byte for byte.

use super::*;

#[test]
fn fixed_format_invalid_field() {
    let s = Sense::invalid_field_in_cdb(2, Some(4));
    let b = s.to_vec(false);
    assert_eq!(b.len(), 18);
    assert_eq!(b[0], 0x70);
    assert_eq!(b[2], 0x05);
    assert_eq!(b[7], 10);
    assert_eq!((b[12], b[13]), (0x24, 0x00));
    assert_eq!(&b[15..18], &[0x80 | 0x40 | 0x08 | 4, 0, 2]);
}

#[test]
fn fixed_format_info_sets_valid() {
    let b = Sense::medium_error_read()
        .with_info(0x1234_5678)
        .to_vec(false);
    assert_eq!(b[0], 0xF0);
    assert_eq!(&b[3..7], &[0x12, 0x34, 0x56, 0x78]);
    assert_eq!(b[2], 0x03);
    assert_eq!(b[15], 0, "no SKSV without a field pointer");
}

#[test]
fn fixed_format_wide_info_clears_valid() {
    let b = Sense::medium_error_write().with_info(1 << 40).to_vec(false);
    assert_eq!(b[0], 0x70);
    assert_eq!(&b[3..7], &[0; 4]);
}

#[test]
fn descriptor_format_with_both_descriptors() {
    let mut s = Sense::invalid_field_in_param_list(0x102, None);
    s.info = Some(1 << 40);
    let b = s.to_vec(true);
    assert_eq!(&b[..8], &[0x72, 0x05, 0x26, 0x00, 0, 0, 0, 20]);
    assert_eq!(&b[8..12], &[0x00, 0x0A, 0x80, 0x00]);
    assert_eq!(&b[12..20], &(1u64 << 40).to_be_bytes());
    assert_eq!(&b[20..28], &[0x02, 0x06, 0, 0, 0x80, 0x01, 0x02, 0]);
    assert_eq!(Sense::decode(&b), Some(s));
}

#[test]
fn descriptor_format_bare() {
    let b = Sense::ua_capacity_changed().to_vec(true);
    assert_eq!(b, vec![0x72, 0x06, 0x2A, 0x09, 0, 0, 0, 0]);
}

#[test]
fn encode_clears_the_buffer() {
    let mut buf = [0xAA; 96];
    let n = Sense::write_protected().encode(false, &mut buf);
    assert_eq!(n, 18);
    assert!(buf[18..].iter().all(|&b| b == 0));
    assert_eq!((buf[2], buf[12], buf[13]), (0x07, 0x27, 0x00));
}

#[test]
fn constructors_have_the_spc_codes() {
    let cases = [
        (Sense::invalid_opcode(), 0x5, 0x20, 0x00),
        (Sense::lba_out_of_range(), 0x5, 0x21, 0x00),
        (Sense::parameter_list_length_error(), 0x5, 0x1A, 0x00),
        (Sense::hardware_error_internal(), 0x4, 0x44, 0x00),
        (Sense::not_ready(), 0x2, 0x04, 0x00),
        (Sense::medium_not_present(), 0x2, 0x3A, 0x00),
        (Sense::ua_power_on_reset(), 0x6, 0x29, 0x00),
        (Sense::ua_mode_parameters_changed(), 0x6, 0x2A, 0x01),
        (Sense::miscompare(7), 0xE, 0x1D, 0x00),
    ];
    for (s, key, asc, ascq) in cases {
        assert_eq!((s.key.code(), s.asc, s.ascq), (key, asc, ascq), "{s}");
    }
}

#[test]
fn decode_rejects_garbage() {
    assert_eq!(Sense::decode(&[]), None);
    assert_eq!(Sense::decode(&[0x70; 10]), None, "truncated fixed");
    assert_eq!(Sense::decode(&[0x00; 18]), None, "bad response code");
    let mut b = Sense::not_ready().to_vec(false);
    b[2] = 0x0C;
    assert_eq!(Sense::decode(&b), None, "reserved key");
    assert_eq!(
        Sense::decode(&[0x72, 5, 0x24, 0, 0, 0, 0, 4, 0x02, 0x06]),
        None
    );
}

#[test]
fn status_bytes() {
    let cc = Status::CheckCondition(Sense::not_ready());
    let all = [
        Status::Good,
        cc,
        Status::Busy,
        Status::ReservationConflict,
        Status::TaskSetFull,
    ];
    let bytes: Vec<u8> = all.iter().map(Status::byte).collect();
    assert_eq!(bytes, [0x00, 0x02, 0x08, 0x18, 0x28]);
    assert_eq!(cc.sense(), Some(&Sense::not_ready()));
    assert_eq!(Status::Good.sense(), None);
}

/// Answers that refuse the command as sent count apart from failures of the LUN, so a
/// scan's probes and unit attentions never look like a failed read or write.
#[test]
fn refusals_are_the_answers_about_the_command_not_the_lun() {
    use crate::scsi::Status;
    let refused = [
        Sense::invalid_opcode(),
        Sense::invalid_field_in_cdb(2, None),
        Sense::lba_out_of_range(),
        Sense::ua_power_on_reset(),
        Sense::ua_capacity_changed(),
        Sense::write_protected(),
        Sense::miscompare(0),
    ];
    for s in refused {
        assert!(Status::CheckCondition(s).is_refusal(), "{s}");
    }
    let failed = [
        Sense::medium_error_read(),
        Sense::medium_error_write(),
        Sense::hardware_error_internal(),
        Sense::not_ready(),
        Sense::medium_not_present(),
    ];
    for s in failed {
        assert!(!Status::CheckCondition(s).is_refusal(), "{s}");
    }
    assert!(Status::ReservationConflict.is_refusal());
    for status in [Status::Good, Status::Busy, Status::TaskSetFull] {
        assert!(!status.is_refusal(), "{status:?}");
    }
}
