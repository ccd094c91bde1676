//! ALUA through the LUN: TPGS, VPD 83h designators, REPORT TARGET PORT GROUPS and
//! standby refusals when the LUN has port groups; nothing of it when it has none.

use super::*;
use crate::scsi::alua::{AccessState, LunAlua, PortGroup};

fn with_alua(state: AccessState) -> ScsiLun {
    lun_with(LunConfig {
        alua: Some(LunAlua {
            groups: vec![PortGroup {
                id: 7,
                state,
                preferred: false,
                status: 0,
                ports: vec![3],
            }],
            receiving_port: 3,
            transition_secs: 0,
        }),
        ..LunConfig::default()
    })
}

const RTPG: [u8; 12] = [0xA3, 0x0A, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0];

#[test]
fn without_port_groups_nothing_changes() {
    let mut l = lun();
    let inquiry = good_data(run(&mut l, &[0x12, 0, 0, 0, 74, 0]));
    assert_eq!(inquiry[5] & 0x30, 0, "no TPGS");
    assert_eq!(
        check(run(&mut l, &RTPG)),
        Sense::invalid_field_in_cdb(1, Some(4))
    );
    assert!(matches!(
        run(&mut l, &[0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0]),
        Dispatch::Io(_)
    ));
}

#[test]
fn an_active_lun_reports_implicit_alua_and_its_group() {
    let mut l = with_alua(AccessState::ActiveOptimized);
    let inquiry = good_data(run(&mut l, &[0x12, 0, 0, 0, 74, 0]));
    assert_eq!(inquiry[5] & 0x30, 0x10, "TPGS 01b: implicit");
    let groups = good_data(run(&mut l, &RTPG));
    assert_eq!(
        groups,
        [0, 0, 0, 12, 0x00, 0x8F, 0, 7, 0, 0, 0, 1, 0, 0, 0, 3]
    );
    let vpd83 = good_data(run(&mut l, &[0x12, 1, 0x83, 1, 0, 0]));
    assert!(vpd83.ends_with(&[1, 0x14, 0, 4, 0, 0, 0, 3, 1, 0x15, 0, 4, 0, 0, 0, 7]));
    assert!(matches!(
        run(&mut l, &[0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0]),
        Dispatch::Io(_)
    ));
}

#[test]
fn a_standby_lun_refuses_media_access_but_answers_the_queries() {
    let mut l = with_alua(AccessState::Standby);
    let write = [0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0];
    assert_eq!(
        check(run(&mut l, &write)),
        Sense::new(SenseKey::NotReady, 0x04, 0x0B)
    );
    assert_eq!(good_data(run(&mut l, &RTPG))[4] & 0x0F, 0x2);
    good_data(run(&mut l, &[0x12, 0, 0, 0, 74, 0]));
}

#[test]
fn an_extended_report_and_a_reserved_format() {
    let mut l = with_alua(AccessState::ActiveOptimized);
    let extended = [0xA3, 0x2A, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0];
    assert_eq!(
        &good_data(run(&mut l, &extended))[..8],
        &[0, 0, 0, 16, 0x10, 0, 0, 0]
    );
    let reserved = [0xA3, 0x4A, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0];
    assert_eq!(
        check(run(&mut l, &reserved)),
        Sense::invalid_field_in_cdb(1, Some(7))
    );
}

#[test]
fn report_supported_operation_codes_lists_rtpg_only_with_port_groups() {
    // One command, opcode A3h service action 0Ah (reporting options 2).
    let rsoc = [0xA3, 0x0C, 0x02, 0xA3, 0, 0x0A, 0, 0, 1, 0, 0, 0];
    let with = good_data(run(&mut with_alua(AccessState::Standby), &rsoc));
    assert_eq!(with[1] & 0x07, 0x03, "supported");
    assert_eq!(
        &with[4..6],
        &[0xA3, 0xEA],
        "usage: the service action and its format"
    );
    let without = good_data(run(&mut lun(), &rsoc));
    assert_eq!(without[1] & 0x07, 0x01, "not supported");
}

#[test]
fn the_lock_moving_the_local_group_is_announced_and_leaves_one_group_optimized() {
    let mut l = with_alua(AccessState::Standby);
    let mut cfg = l.config().clone();
    if let Some(a) = cfg.alua.as_mut() {
        a.groups.push(PortGroup {
            id: 8,
            state: AccessState::ActiveOptimized,
            preferred: false,
            status: 0,
            ports: vec![4],
        });
    }
    l = lun_with(cfg);
    l.set_alua_state(AccessState::ActiveOptimized, true);
    let groups = &l.config().alua.as_ref().unwrap().groups;
    assert_eq!(groups[0].state, AccessState::ActiveOptimized);
    assert_eq!(
        groups[0].status,
        crate::scsi::alua::STATUS_ALTERED_BY_IMPLICIT_ALUA
    );
    // The other group is left active but non-optimized, never Standby: Linux takes
    // it as the state of its path through that group and would send it no I/O.
    assert_eq!(
        groups[1].state,
        AccessState::ActiveNonOptimized,
        "one optimized group"
    );
    let read = [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0];
    assert_eq!(
        check(run(&mut l, &read)),
        Sense::new(SenseKey::UnitAttention, 0x2A, 0x06)
    );
    assert!(matches!(run(&mut l, &read), Dispatch::Io(_)));

    l.set_alua_state(AccessState::ActiveOptimized, true);
    assert!(
        matches!(run(&mut l, &read), Dispatch::Io(_)),
        "no change, no UA"
    );
    l.set_alua_state(AccessState::Transitioning, false);
    assert_eq!(
        check(run(&mut l, &read)),
        Sense::new(SenseKey::NotReady, 0x04, 0x0A),
        "unannounced"
    );
}

#[test]
fn a_lun_without_port_groups_ignores_alua_states() {
    let mut l = lun();
    l.set_alua_state(AccessState::Standby, true);
    assert!(l.config().alua.is_none());
    assert!(matches!(
        run(&mut l, &[0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0]),
        Dispatch::Io(_)
    ));
}

#[test]
fn port_groups_given_to_a_live_lun_are_announced_once_and_only_once() {
    let mut l = lun();
    let groups = with_alua(AccessState::Standby)
        .config()
        .alua
        .clone()
        .unwrap();
    l.set_port_groups(groups.clone()).unwrap();
    let read = [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0];
    assert_eq!(
        check(run(&mut l, &read)),
        Sense::ua_inquiry_data_changed(),
        "INQUIRY DATA HAS CHANGED first"
    );
    let inquiry = good_data(run(&mut l, &[0x12, 0, 0, 0, 74, 0]));
    assert_eq!(inquiry[5] & 0x30, 0x10, "TPGS now reported");
    assert_eq!(
        check(run(&mut l, &read)),
        crate::scsi::alua::not_accessible(AccessState::Standby),
        "then the group's state applies"
    );
    assert_eq!(
        l.set_port_groups(groups),
        Err(LunConfigError::PortGroupsSet),
        "a second set is refused"
    );
}
