use super::*;

/// Two gateways: group 1 (port 1, here) and group 2 (port 2, the other gateway).
fn two_gateways(here: AccessState, there: AccessState) -> LunAlua {
    LunAlua {
        groups: vec![
            PortGroup {
                id: 1,
                state: here,
                preferred: false,
                status: STATUS_ALTERED_BY_IMPLICIT_ALUA,
                ports: vec![1],
            },
            PortGroup {
                id: 2,
                state: there,
                preferred: true,
                status: 0,
                ports: vec![2],
            },
        ],
        receiving_port: 1,
        transition_secs: 10,
    }
}

#[test]
fn state_codes_round_trip_and_lba_dependent_is_not_offered() {
    for code in 0..16 {
        if let Some(state) = AccessState::from_code(code) {
            assert_eq!(state.code(), code);
        }
    }
    assert_eq!(AccessState::from_code(0x4), None);
    assert_eq!(AccessState::from_code(0x2), Some(AccessState::Standby));
}

#[test]
fn report_in_the_length_only_format() {
    let alua = two_gateways(AccessState::ActiveOptimized, AccessState::Standby);
    let data = alua.report(false);
    #[rustfmt::skip]
    let want = [
        0, 0, 0, 24,                 // RETURN DATA LENGTH: two 12-byte descriptors
        0x00, 0x8F, 0, 1, 0, 2, 0, 1, // AO, T/U/S/AN/AO_SUP, group 1, implicit, 1 port
        0, 0, 0, 1,                  // relative target port 1
        0x82, 0x8F, 0, 2, 0, 0, 0, 1, // PREF, standby, group 2, no status, 1 port
        0, 0, 0, 2,                  // relative target port 2
    ];
    assert_eq!(data, want);
}

#[test]
fn report_in_the_extended_format_counts_its_header() {
    let alua = two_gateways(AccessState::Standby, AccessState::ActiveOptimized);
    let data = alua.report(true);
    assert_eq!(&data[..8], &[0, 0, 0, 28, 0x10, 10, 0, 0]);
    assert_eq!(data.len(), 32);
    assert_eq!(data[8] & 0x0F, 0x2, "this gateway's group is standby");
    assert_eq!(
        data[20], 0x80,
        "the other is preferred and active/optimized"
    );
}

#[test]
fn designators_name_the_receiving_port_and_its_group() {
    let mut alua = two_gateways(AccessState::ActiveOptimized, AccessState::Standby);
    alua.receiving_port = 2;
    assert_eq!(
        alua.designators(),
        [0x01, 0x14, 0, 4, 0, 0, 0, 2, 0x01, 0x15, 0, 4, 0, 0, 0, 2]
    );
}

#[test]
fn active_serves_everything() {
    let alua = two_gateways(AccessState::ActiveOptimized, AccessState::Standby);
    for cdb in [[0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0], [0x28; 10], [0x00; 10]] {
        assert_eq!(alua.check_access(&cdb), Ok(()));
    }
}

#[test]
fn standby_refuses_media_access_with_target_port_in_standby_state() {
    let alua = two_gateways(AccessState::Standby, AccessState::ActiveOptimized);
    let refused = Err(Sense::new(SenseKey::NotReady, 0x04, 0x0B));
    for cdb in [
        &[0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0][..], // WRITE(10)
        &[0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0],     // READ(10)
        &[0x00, 0, 0, 0, 0, 0],                 // TEST UNIT READY
        &[0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0],     // SYNCHRONIZE CACHE(10)
        &[0x9E, 0x12, 0, 0, 0, 0, 0, 0, 0, 0],  // GET LBA STATUS
        &[],
    ] {
        assert_eq!(alua.check_access(cdb), refused, "{cdb:02x?}");
    }
    for cdb in [
        &[0x12, 0, 0, 0, 36, 0][..],                              // INQUIRY
        &[0xA3, 0x0A, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0],              // REPORT TARGET PORT GROUPS
        &[0x1A, 0, 0x3F, 0, 255, 0],                              // MODE SENSE(6)
        &[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0],                       // READ CAPACITY(10)
        &[0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0], // READ CAPACITY(16)
        &[0x03, 0, 0, 0, 18, 0],                                  // REQUEST SENSE
    ] {
        assert_eq!(alua.check_access(cdb), Ok(()), "{cdb:02x?}");
    }
}

#[test]
fn transitioning_lets_only_the_state_queries_and_test_unit_ready_through() {
    let alua = two_gateways(AccessState::Transitioning, AccessState::Standby);
    let write = [0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0];
    let transition = Sense::new(SenseKey::NotReady, 0x04, 0x0A);
    assert_eq!(alua.check_access(&write), Err(transition));
    let mode_sense = [0x1A, 0, 0x3F, 0, 255, 0];
    assert!(alua.check_access(&mode_sense).is_err());
    let rtpg = [0xA3, 0x0A, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0];
    assert_eq!(alua.check_access(&rtpg), Ok(()));
    // A path checker's TEST UNIT READY must not see a dead path while the lock moves.
    let tur = [0x00, 0, 0, 0, 0, 0];
    assert_eq!(alua.check_access(&tur), Ok(()));
    let unavailable = two_gateways(AccessState::Unavailable, AccessState::Standby);
    let refused = Sense::new(SenseKey::NotReady, 0x04, 0x0C);
    assert_eq!(unavailable.check_access(&write), Err(refused));
    assert_eq!(unavailable.check_access(&tur), Err(refused));
}

#[test]
fn validate_refuses_what_cannot_be_reported() {
    let mut alua = two_gateways(AccessState::ActiveOptimized, AccessState::Standby);
    assert_eq!(alua.validate(), Ok(()));
    alua.receiving_port = 7;
    assert_eq!(alua.validate(), Err(AluaConfigError::ReceivingPort(7)));
    assert_eq!(alua.local_state(), AccessState::Unavailable);
    alua.receiving_port = 1;
    alua.groups[1].id = 1;
    assert_eq!(alua.validate(), Err(AluaConfigError::DuplicateGroup(1)));
    alua.groups[1].id = 2;
    alua.groups[1].ports = (3..300).collect();
    assert_eq!(alua.validate(), Err(AluaConfigError::TooManyPorts(2)));
}

#[test]
fn media_access_takes_over_a_path_checkers_probe_and_a_flush_do_not() {
    assert!(takes_over(&[0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0]), "WRITE(10)");
    assert!(takes_over(&[0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0]), "READ(10)");
    // Linux flushes every path's disk at logout: that must not move the lock.
    assert!(
        !takes_over(&[0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        "SYNCHRONIZE CACHE(10)"
    );
    assert!(
        !takes_over(&[0x91, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        "SYNCHRONIZE CACHE(16)"
    );
    assert!(!takes_over(&[0x00, 0, 0, 0, 0, 0]), "TEST UNIT READY");
    assert!(!takes_over(&[0x12, 0, 0, 0, 36, 0]), "INQUIRY");
    assert!(
        !takes_over(&[0xA3, 0x0A, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]),
        "RTPG"
    );
    assert!(!takes_over(&[]));
}
