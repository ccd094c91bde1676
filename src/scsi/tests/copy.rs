//! EXTENDED COPY parameter lists, RECEIVE COPY RESULTS and FORMAT UNIT.

use super::*;

const XCOPY: u8 = 0x83;

fn xcopy_cdb(len: u32) -> [u8; 16] {
    let mut c = [0u8; 16];
    c[0] = XCOPY;
    c[10..14].copy_from_slice(&len.to_be_bytes());
    c
}

/// An identification target descriptor naming the unit with `naa`.
fn target(naa: [u8; 16], block: u32) -> Vec<u8> {
    let mut d = vec![0u8; 32];
    d[0] = 0xE4;
    d[4] = 0x01; // binary
    d[5] = 0x03; // NAA
    d[7] = 16;
    d[8..24].copy_from_slice(&naa);
    d[29..32].copy_from_slice(&block.to_be_bytes()[1..]);
    d
}

/// `naa` with its last bit flipped: another unit's designator.
fn other_unit(mut naa: [u8; 16]) -> [u8; 16] {
    naa[15] ^= 1;
    naa
}

fn segment(src_index: u16, dst_index: u16, blocks: u16, src: u64, dst: u64) -> Vec<u8> {
    let mut d = vec![0u8; 28];
    d[0] = 0x02;
    d[2..4].copy_from_slice(&0x18u16.to_be_bytes());
    d[4..6].copy_from_slice(&src_index.to_be_bytes());
    d[6..8].copy_from_slice(&dst_index.to_be_bytes());
    d[10..12].copy_from_slice(&blocks.to_be_bytes());
    d[12..20].copy_from_slice(&src.to_be_bytes());
    d[20..28].copy_from_slice(&dst.to_be_bytes());
    d
}

fn list(list_id: u8, usage: u8, targets: Vec<Vec<u8>>, segments: Vec<Vec<u8>>) -> Vec<u8> {
    let t: Vec<u8> = targets.concat();
    let s: Vec<u8> = segments.concat();
    let mut h = vec![0u8; 16];
    h[0] = list_id;
    h[1] = usage << 3;
    h[2..4].copy_from_slice(&(t.len() as u16).to_be_bytes());
    h[8..12].copy_from_slice(&(s.len() as u32).to_be_bytes());
    [h, t, s].concat()
}

fn unit() -> (ScsiLun, [u8; 16]) {
    let cfg = LunConfig {
        num_blocks: 10_000,
        ..LunConfig::default()
    };
    let naa = cfg.naa;
    (lun_with(cfg), naa)
}

fn xcopy(l: &mut ScsiLun, data: &[u8]) -> Dispatch {
    run_with(l, &xcopy_cdb(data.len() as u32), data)
}

#[test]
fn a_valid_list_becomes_a_plan() {
    let (mut l, naa) = unit();
    let data = list(
        7,
        0,
        vec![target(naa, 512)],
        vec![segment(0, 0, 2048, 0, 7952)],
    );
    let got = io(xcopy(&mut l, &data));
    let BlockOp::Copy(plan) = got.op else {
        panic!("{got:?}")
    };
    assert_eq!((plan.list_id, plan.hold), (7, true));
    assert_eq!(
        plan.segments,
        vec![CopySegment {
            src_lba: 0,
            dst_lba: 7952,
            blocks: 2048
        }]
    );
    assert!(
        good_data(run_with(&mut l, &xcopy_cdb(0), &[])).is_empty(),
        "empty list"
    );
}

#[test]
fn list_errors_get_precise_sense() {
    let (mut l, naa) = unit();
    let t = target(naa, 512);
    let seg = segment(0, 0, 8, 0, 100);
    let ok = list(1, 0, vec![t.clone()], vec![seg.clone()]);
    // Truncated target or segment descriptor.
    for cut in [16 + 31, ok.len() - 1] {
        assert_eq!(
            check(xcopy(&mut l, &ok[..cut])),
            Sense::parameter_list_length_error()
        );
    }
    let too_many_targets = list(
        1,
        0,
        vec![t.clone(), t.clone(), t.clone()],
        vec![seg.clone()],
    );
    assert_eq!(check(xcopy(&mut l, &too_many_targets)).ascq, 0x06);
    let nine = vec![seg.clone(); 9];
    let s = check(xcopy(&mut l, &list(1, 0, vec![t.clone()], nine)));
    assert_eq!(
        (s.key, s.asc, s.ascq),
        (SenseKey::IllegalRequest, 0x26, 0x08)
    );
    let mut fc = t.clone();
    fc[0] = 0xE0;
    assert_eq!(
        check(xcopy(&mut l, &list(1, 0, vec![fc], vec![seg.clone()]))).ascq,
        0x07
    );
    let mut stream = seg.clone();
    stream[0] = 0x01;
    assert_eq!(
        check(xcopy(&mut l, &list(1, 0, vec![t.clone()], vec![stream]))).ascq,
        0x09
    );
    let mut lu_id_type = t.clone();
    lu_id_type[1] = 0xC0;
    // SPC-4 made LU ID TYPE obsolete: it is ignored.
    io(xcopy(
        &mut l,
        &list(1, 0, vec![lu_id_type], vec![seg.clone()]),
    ));
    let mut nul = t.clone();
    nul[1] = 0x20;
    let copy_aborted = |s: Sense| assert_eq!(s.key, SenseKey::CopyAborted, "{s:?}");
    copy_aborted(check(xcopy(
        &mut l,
        &list(1, 0, vec![nul], vec![seg.clone()]),
    )));
    copy_aborted(check(xcopy(
        &mut l,
        &list(1, 0, vec![target(other_unit(naa), 512)], vec![seg.clone()]),
    )));
    copy_aborted(check(xcopy(
        &mut l,
        &list(1, 0, vec![t.clone()], vec![segment(0, 1, 8, 0, 100)]),
    )));
    copy_aborted(check(xcopy(
        &mut l,
        &list(1, 0, vec![t.clone()], vec![segment(0, 0, 2048, 0, 9999)]),
    )));
    let s = check(xcopy(
        &mut l,
        &list(1, 0, vec![target(naa, 4096)], vec![seg.clone()]),
    ));
    assert_eq!(s, Sense::invalid_field_in_param_list(16 + 29, None));
    let mut inline = ok.clone();
    inline[15] = 1;
    assert_eq!(
        check(xcopy(&mut l, &inline)),
        Sense::invalid_field_in_param_list(12, None)
    );
    let mut lid4 = xcopy_cdb(ok.len() as u32);
    lid4[1] = 0x01;
    assert_invalid_cdb(run_with(&mut l, &lid4, &ok), 1, Some(4));
}

#[test]
fn operating_parameters_and_copy_status() {
    let (mut l, _) = unit();
    let mut rcr = [0u8; 16];
    rcr[0] = 0x84;
    rcr[1] = 0x03;
    rcr[13] = 255;
    let p = good_data(run(&mut l, &rcr));
    assert_eq!(
        u32::from_be_bytes(p[0..4].try_into().unwrap()) as usize,
        p.len() - 4
    );
    assert_eq!(u16::from_be_bytes([p[8], p[9]]), 2, "target descriptors");
    assert_eq!(&p[44..], &[0x02, 0xE4]);

    rcr[1] = 0x00;
    rcr[2] = 5;
    assert_invalid_cdb(run(&mut l, &rcr), 2, None);
    l.record_copy(CopyResult {
        list_id: 5,
        ok: true,
        segments_done: 1,
        bytes: 1 << 20,
    });
    let s = good_data(run(&mut l, &rcr));
    assert_eq!(s[4], 0x01, "completed without errors");
    assert_eq!(u16::from_be_bytes([s[5], s[6]]), 1);
    assert_eq!(
        u32::from_be_bytes(s[8..12].try_into().unwrap()),
        1024,
        "KiB"
    );
    assert_invalid_cdb(run(&mut l, &rcr), 2, None);
    rcr[1] = 0x01;
    assert_invalid_cdb(run(&mut l, &rcr), 1, Some(4));
}

#[test]
fn inquiry_reports_third_party_copy() {
    let d = good_data(run(&mut lun(), &[0x12, 0, 0, 0, 96, 0]));
    assert_eq!(d[5] & 0x08, 0x08);
}

#[test]
fn format_unit_checks_its_parameter_list() {
    let mut l = lun();
    assert!(good_data(run(&mut l, &[0x04, 0, 0, 0, 0, 0])).is_empty());
    assert_invalid_cdb(run(&mut l, &[0x04, 0x40, 0, 0, 0, 0]), 1, Some(7));
    let fmtdata = [0x04, 0x10, 0, 0, 0, 0];
    assert!(
        good_data(run_with(&mut l, &fmtdata, &[0, 0x02, 0, 0])).is_empty(),
        "IMMED"
    );
    assert_eq!(
        check(run_with(&mut l, &fmtdata, &[0, 0x80, 0, 0])),
        Sense::invalid_field_in_param_list(1, Some(7))
    );
    assert_eq!(
        check(run_with(&mut l, &fmtdata, &[0, 0, 0, 8])),
        Sense::invalid_field_in_param_list(2, None)
    );
    assert_eq!(
        check(run_with(&mut l, &fmtdata, &[0, 0])),
        Sense::parameter_list_length_error()
    );
    let long = [0x04, 0x30, 0, 0, 0, 0];
    assert!(good_data(run_with(&mut l, &long, &[0; 8])).is_empty());
    let mut ro = lun_with(LunConfig {
        read_only: true,
        ..LunConfig::default()
    });
    assert_eq!(
        check(run(&mut ro, &[0x04, 0, 0, 0, 0, 0])),
        Sense::write_protected()
    );
}
