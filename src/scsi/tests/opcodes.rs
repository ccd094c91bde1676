//! REPORT SUPPORTED OPERATION CODES / TASK MANAGEMENT FUNCTIONS, and the claim that
//! the report matches what dispatch really serves.

use super::*;

fn rsoc(l: &mut ScsiLun, rctd_opts: u8, opcode: u8, sa: u16, alloc: u32) -> Dispatch {
    let mut c = vec![0xA3, 0x0C, rctd_opts, opcode];
    c.extend(sa.to_be_bytes());
    c.extend(alloc.to_be_bytes());
    c.extend([0, 0]);
    run(l, &c)
}

/// (opcode, service action) pairs listed by the all-commands format.
fn listed(d: &[u8], stride: usize) -> Vec<(u8, Option<u16>, u16)> {
    assert_eq!(
        u32::from_be_bytes(d[..4].try_into().unwrap()) as usize,
        d.len() - 4
    );
    d[4..]
        .chunks(stride)
        .map(|e| {
            let sa = (e[5] & 1 != 0).then(|| u16::from_be_bytes([e[2], e[3]]));
            (e[0], sa, u16::from_be_bytes([e[6], e[7]]))
        })
        .collect()
}

#[test]
fn all_commands_match_the_decoder() {
    for thin in [false, true] {
        let mut l = lun_with(LunConfig {
            thin,
            ..LunConfig::default()
        });
        let d = good_data(rsoc(&mut l, 0, 0, 0, 4096));
        let cmds = listed(&d, 8);
        assert_eq!(
            cmds.iter().any(|c| c.0 == 0x42),
            thin,
            "UNMAP only when thin"
        );
        for op in 0..=255u8 {
            let supported = cmds.iter().any(|c| c.0 == op);
            let cdb = [op, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            let invalid_opcode = matches!(
                l.dispatch(&cdb, &vec![0u8; 4096]),
                Dispatch::Reply(Reply { status: Status::CheckCondition(s), .. }) if s.asc == 0x20
            );
            assert_eq!(supported, !invalid_opcode, "opcode {op:#04x}");
        }
        for (op, _, len) in cmds {
            assert_eq!(Some(usize::from(len)), cdb::cdb_len(op));
        }
    }
}

#[test]
fn all_commands_with_timeouts() {
    let mut l = lun();
    let plain = listed(&good_data(rsoc(&mut l, 0, 0, 0, 4096)), 8);
    let d = good_data(rsoc(&mut l, 0x80, 0, 0, 4096));
    let timed = listed(&d, 20);
    assert_eq!(plain, timed);
    assert_eq!(d[4 + 5] & 0x02, 0x02, "CTDP");
    assert_eq!(&d[12..14], &[0, 0x0A]);
}

#[test]
fn one_command_without_service_action() {
    let mut l = lun();
    let d = good_data(rsoc(&mut l, 1, 0x28, 0, 512));
    assert_eq!(&d[..4], &[0, 0x03, 0, 10]);
    assert_eq!(
        &d[4..],
        &[0x28, 0xF8, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0xFF, 0xFF, 0]
    );
    let d = good_data(rsoc(&mut l, 0x81, 0x28, 0, 512));
    assert_eq!(d[1], 0x83);
    assert_eq!(d.len(), 4 + 10 + 12);
}

#[test]
fn one_command_with_service_action() {
    let mut l = lun();
    let d = good_data(rsoc(&mut l, 2, 0x9E, 0x10, 512));
    assert_eq!(&d[..6], &[0, 0x03, 0, 16, 0x9E, 0x10]);
    assert_eq!(good_data(rsoc(&mut l, 2, 0x9E, 0x11, 512))[1], 0x01);
    assert_eq!(good_data(rsoc(&mut l, 3, 0xA3, 0x0D, 512))[5], 0x0D);
    assert_eq!(good_data(rsoc(&mut l, 3, 0x00, 0x55, 512))[1], 0x03);
}

#[test]
fn one_command_not_supported() {
    let mut l = lun();
    assert_eq!(
        good_data(rsoc(&mut l, 1, 0x42, 0, 512)),
        [0, 0x01, 0, 0],
        "UNMAP on thick"
    );
    assert_eq!(good_data(rsoc(&mut l, 1, 0xC0, 0, 512)), [0, 0x01, 0, 0]);
}

#[test]
fn reporting_option_errors() {
    let mut l = lun();
    assert_invalid_cdb(rsoc(&mut l, 1, 0x9E, 0, 512), 2, Some(2));
    assert_invalid_cdb(rsoc(&mut l, 2, 0x28, 0, 512), 2, Some(2));
    assert_invalid_cdb(rsoc(&mut l, 4, 0x28, 0, 512), 2, Some(2));
    assert_invalid_cdb(
        run(&mut l, &[0xA3, 0x05, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]),
        1,
        Some(4),
    );
}

#[test]
fn allocation_length_cuts() {
    assert_eq!(good_data(rsoc(&mut lun(), 0, 0, 0, 6)).len(), 6);
}

#[test]
fn task_management_functions() {
    let mut l = lun();
    let d = good_data(run(&mut l, &[0xA3, 0x0D, 0, 0, 0, 0, 0, 0, 0, 255, 0, 0]));
    assert_eq!(d, [0xDA, 0x01, 0, 0]);
    let d = good_data(run(
        &mut l,
        &[0xA3, 0x0D, 0x80, 0, 0, 0, 0, 0, 0, 255, 0, 0],
    ));
    assert_eq!(d.len(), 16);
    assert_eq!(d[3], 0x0C);
}

#[test]
fn usage_data_is_well_formed() {
    let mut l = lun_with(LunConfig {
        thin: true,
        ..LunConfig::default()
    });
    let all = listed(&good_data(rsoc(&mut l, 0, 0, 0, 4096)), 8);
    for (op, sa, len) in all {
        let d = good_data(rsoc(
            &mut l,
            if sa.is_some() { 2 } else { 1 },
            op,
            sa.unwrap_or(0),
            512,
        ));
        assert_eq!(d[1] & 0x07, 0x03, "{op:#x} supported");
        assert_eq!(u16::from_be_bytes([d[2], d[3]]), len);
        assert_eq!(d.len(), 4 + usize::from(len));
        assert_eq!(d[4], op);
        if let Some(sa) = sa {
            assert_eq!(u16::from(d[5] & 0x1F), sa);
        }
    }
}
