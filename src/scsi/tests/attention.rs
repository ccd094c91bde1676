//! Unit attentions and REQUEST SENSE.

use super::*;

#[test]
fn power_on_is_reported_once_to_the_first_command() {
    let mut l = fresh(LunConfig::default());
    let s = check(run(&mut l, &[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    assert_eq!(
        (s.key, s.asc, s.ascq),
        (SenseKey::UnitAttention, 0x29, 0x00)
    );
    good_data(run(&mut l, &[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
}

#[test]
fn inquiry_and_report_luns_do_not_consume_it() {
    let mut l = fresh(LunConfig::default());
    good_data(run(&mut l, &[0x12, 0, 0, 0, 36, 0]));
    // REPORT LUNS is the kernel's, so we refuse it, but not with the attention.
    assert_eq!(
        check(run(&mut l, &[0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0])),
        Sense::invalid_opcode()
    );
    assert_eq!(check(run(&mut l, &[0; 6])), Sense::ua_power_on_reset());
}

#[test]
fn unknown_opcode_gets_the_attention_first() {
    let mut l = fresh(LunConfig::default());
    assert_eq!(check(run(&mut l, &[0xFF; 16])), Sense::ua_power_on_reset());
    assert_eq!(check(run(&mut l, &[0xFF; 16])), Sense::invalid_opcode());
}

#[test]
fn request_sense_collects_it() {
    let mut l = fresh(LunConfig::default());
    let d = good_data(run(&mut l, &[0x03, 0, 0, 0, 252, 0]));
    assert_eq!(d.len(), 18);
    assert_eq!((d[0], d[2], d[12], d[13]), (0x70, 0x06, 0x29, 0x00));
    good_data(run(&mut l, &[0; 6]));
}

#[test]
fn request_sense_when_idle_is_no_sense() {
    let mut l = lun();
    let d = good_data(run(&mut l, &[0x03, 0, 0, 0, 252, 0]));
    assert_eq!(Sense::decode(&d), Some(Sense::no_sense()));
    assert_eq!(d[0], 0x70);
    let d = good_data(run(&mut l, &[0x03, 1, 0, 0, 252, 0]));
    assert_eq!(
        d,
        [0x72, 0, 0, 0, 0, 0, 0, 0],
        "DESC asks for descriptor format"
    );
    assert_eq!(good_data(run(&mut l, &[0x03, 0, 0, 0, 4, 0])).len(), 4);
}

#[test]
fn capacity_change_is_announced() {
    let mut l = lun();
    l.set_capacity(l.config().num_blocks).unwrap();
    good_data(run(&mut l, &[0; 6]));
    l.set_capacity(4096).unwrap();
    assert_eq!(check(run(&mut l, &[0; 6])), Sense::ua_capacity_changed());
    let d = good_data(run(&mut l, &[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    assert_eq!(&d[..4], &4095u32.to_be_bytes());
}

#[test]
fn attentions_queue_in_order_and_reset_supersedes() {
    let mut l = lun();
    l.raise_unit_attention(UnitAttention::CapacityChanged);
    l.raise_unit_attention(UnitAttention::ModeParametersChanged);
    l.raise_unit_attention(UnitAttention::CapacityChanged);
    assert_eq!(check(run(&mut l, &[0; 6])), Sense::ua_capacity_changed());
    assert_eq!(
        check(run(&mut l, &[0; 6])),
        Sense::ua_mode_parameters_changed()
    );
    good_data(run(&mut l, &[0; 6]));
    l.raise_unit_attention(UnitAttention::CapacityChanged);
    l.raise_unit_attention(UnitAttention::PowerOnReset);
    assert_eq!(check(run(&mut l, &[0; 6])), Sense::ua_power_on_reset());
    good_data(run(&mut l, &[0; 6]));
}
