//! MODE SENSE and MODE SELECT.

use super::*;

fn sense6(l: &mut ScsiLun, flags: u8, pc_page: u8, sub: u8, alloc: u8) -> Dispatch {
    run(l, &[0x1A, flags, pc_page, sub, alloc, 0])
}

fn sense10(l: &mut ScsiLun, flags: u8, pc_page: u8, alloc: u16) -> Dispatch {
    let [hi, lo] = alloc.to_be_bytes();
    run(l, &[0x5A, flags, pc_page, 0, 0, 0, 0, hi, lo, 0])
}

/// Finds page `code` after the header and block descriptor of MODE SENSE(6) data.
fn page6(d: &[u8], code: u8) -> Vec<u8> {
    let mut at = 4 + usize::from(d[3]);
    while at < d.len() {
        let len = usize::from(d[at + 1]) + 2;
        if d[at] & 0x3F == code {
            return d[at..at + len].to_vec();
        }
        at += len;
    }
    panic!("page {code:#x} missing");
}

fn select6(l: &mut ScsiLun, list: &[u8]) -> Dispatch {
    run_with(l, &[0x15, 0x10, 0, 0, list.len() as u8, 0], list)
}

/// A MODE SELECT(6) list with no block descriptor and the current page `code`.
fn list_with_page(l: &mut ScsiLun, code: u8) -> Vec<u8> {
    let d = good_data(sense6(l, 0x08, code, 0, 255));
    let mut list = vec![0, 0, 0, 0];
    list.extend(page6(&d, code));
    list
}

#[test]
fn all_pages_current() {
    let cfg = LunConfig {
        num_blocks: 5000,
        ..LunConfig::default()
    };
    let d = good_data(sense6(&mut lun_with(cfg), 0, 0x3F, 0, 255));
    assert_eq!(usize::from(d[0]) + 1, d.len(), "mode data length");
    assert_eq!(
        (d[1], d[2], d[3]),
        (0, 0x10, 8),
        "medium, DPOFUA, block descriptor length"
    );
    assert_eq!(&d[4..12], &[0, 0, 0x13, 0x88, 0, 0, 0x02, 0]);
    assert_eq!(page6(&d, 0x01), [0x01, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let caching = page6(&d, 0x08);
    assert_eq!((caching.len(), caching[2]), (20, 0x04), "WCE");
    let control = page6(&d, 0x0A);
    assert_eq!(control, [0x0A, 0x0A, 0, 0x10, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0]);
    assert_eq!(d.len(), 12 + 12 + 20 + 12);
}

#[test]
fn all_pages_and_subpages_is_the_same() {
    let mut l = lun();
    let a = good_data(sense6(&mut l, 0, 0x3F, 0, 255));
    assert_eq!(good_data(sense6(&mut l, 0, 0x3F, 0xFF, 255)), a);
}

#[test]
fn dbd_and_write_protect() {
    let mut l = lun_with(LunConfig {
        read_only: true,
        write_cache: false,
        ..LunConfig::default()
    });
    let d = good_data(sense6(&mut l, 0x08, 0x08, 0, 255));
    assert_eq!(d, {
        let mut v = vec![23, 0, 0x90, 0, 0x08, 0x12];
        v.resize(24, 0);
        v
    });
}

#[test]
fn mode_sense_10_long_lba() {
    let mut l = lun_with(LunConfig {
        num_blocks: 1 << 33,
        ..LunConfig::default()
    });
    let d = good_data(sense10(&mut l, 0x10, 0x0A, 512));
    assert_eq!(usize::from(u16::from_be_bytes([d[0], d[1]])) + 2, d.len());
    assert_eq!((d[3], d[4], d[7]), (0x10, 0x01, 16));
    assert_eq!(&d[8..16], &(1u64 << 33).to_be_bytes());
    assert_eq!(&d[20..24], &512u32.to_be_bytes());
    assert_eq!(&d[24..26], &[0x0A, 0x0A]);
    let d = good_data(sense10(&mut l, 0x00, 0x0A, 512));
    assert_eq!((d[4], d[7]), (0, 8));
    assert_eq!(&d[8..12], &[0xFF; 4], "short descriptor saturates");
}

#[test]
fn changeable_and_default_values() {
    let mut l = lun();
    let d = good_data(sense6(&mut l, 0, 0x40 | 0x3F, 0, 255));
    assert_eq!(
        &d[4..12],
        &[0; 8],
        "nothing in the block descriptor is changeable"
    );
    assert_eq!(page6(&d, 0x08)[2], 0x04);
    assert_eq!(
        page6(&d, 0x0A),
        [0x0A, 0x0A, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    );
    assert!(page6(&d, 0x01)[2..].iter().all(|&b| b == 0));
    let mut thick = lun_with(LunConfig {
        write_cache: false,
        ..LunConfig::default()
    });
    let d = good_data(sense6(&mut thick, 0, 0x40 | 0x08, 0, 255));
    assert_eq!(page6(&d, 0x08)[2], 0, "no cache to switch");
    let d = good_data(sense6(&mut l, 0, 0x80 | 0x0A, 0, 255));
    assert_eq!(page6(&d, 0x0A)[2], 0);
}

#[test]
fn saved_values_are_not_supported() {
    let s = check(sense6(&mut lun(), 0, 0xC0 | 0x3F, 0, 255));
    assert_eq!(
        (s.key, s.asc, s.ascq),
        (SenseKey::IllegalRequest, 0x39, 0x00)
    );
}

#[test]
fn unknown_page_and_subpage_are_refused() {
    let mut l = lun();
    assert_invalid_cdb(sense6(&mut l, 0, 0x1C, 0, 255), 2, Some(5));
    assert_invalid_cdb(sense6(&mut l, 0, 0x08, 1, 255), 3, None);
    assert_invalid_cdb(sense6(&mut l, 0, 0x3F, 1, 255), 3, None);
    assert_invalid_cdb(sense10(&mut l, 0, 0x00, 255), 2, Some(5));
}

#[test]
fn allocation_length_cuts() {
    let mut l = lun();
    assert_eq!(good_data(sense6(&mut l, 0, 0x3F, 0, 3)).len(), 3);
    let d = good_data(sense10(&mut l, 0, 0x3F, 10));
    assert_eq!(d.len(), 10);
    assert_eq!(
        u16::from_be_bytes([d[0], d[1]]),
        8 + 8 + 44 - 2,
        "length of the whole data"
    );
}

#[test]
fn select_d_sense_switches_sense_format() {
    let mut l = lun();
    let mut list = list_with_page(&mut l, 0x0A);
    list[6] |= 0x04;
    assert!(good_data(select6(&mut l, &list)).is_empty());
    assert!(l.descriptor_sense());
    assert_eq!(
        check(run(&mut l, &[0; 6])),
        Sense::ua_mode_parameters_changed()
    );
    let d = good_data(sense6(&mut l, 0x08, 0x0A, 0, 255));
    assert_eq!(page6(&d, 0x0A)[2], 0x04);
    select6(&mut l, &list);
    good_data(run(&mut l, &[0; 6]));
}

#[test]
fn select_wce_off_makes_writes_fua() {
    let mut l = lun();
    let mut list = list_with_page(&mut l, 0x08);
    list[6] &= !0x04;
    good_data(select6(&mut l, &list));
    assert!(!l.write_cache_enabled());
    check(run(&mut l, &[0; 6]));
    let io = io(run(&mut l, &[0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0]));
    assert!(io.fua);
}

#[test]
fn select_refuses_fixed_bits_with_exact_pointer() {
    let mut l = lun();
    let mut list = list_with_page(&mut l, 0x0A);
    list[4 + 3] ^= 0x20;
    assert_eq!(
        check(select6(&mut l, &list)),
        Sense::invalid_field_in_param_list(7, Some(5))
    );
    let mut list = list_with_page(&mut l, 0x08);
    list[4 + 2] |= 0x01;
    assert_eq!(
        check(select6(&mut l, &list)),
        Sense::invalid_field_in_param_list(6, Some(0))
    );
    let mut thick = lun_with(LunConfig {
        write_cache: false,
        ..LunConfig::default()
    });
    let mut list = list_with_page(&mut thick, 0x08);
    list[6] |= 0x04;
    assert_eq!(
        check(select6(&mut thick, &list)),
        Sense::invalid_field_in_param_list(6, Some(2))
    );
    assert!(!thick.write_cache_enabled());
}

#[test]
fn select_ignores_the_ps_bit_and_unchanged_pages() {
    let mut l = lun();
    let mut list = list_with_page(&mut l, 0x01);
    list[4] |= 0x80;
    good_data(select6(&mut l, &list));
    good_data(run(&mut l, &[0; 6]));
}

#[test]
fn select_page_errors() {
    let mut l = lun();
    let list = list_with_page(&mut l, 0x0A);
    let mut bad_len = list.clone();
    bad_len[5] = 0x0B;
    bad_len.push(0);
    assert_eq!(
        check(select6(&mut l, &bad_len)),
        Sense::invalid_field_in_param_list(5, None)
    );
    let mut unknown = list.clone();
    unknown[4] = 0x1C;
    assert_eq!(
        check(select6(&mut l, &unknown)),
        Sense::invalid_field_in_param_list(4, Some(5))
    );
    let mut spf = list.clone();
    spf[4] |= 0x40;
    assert_eq!(
        check(select6(&mut l, &spf)),
        Sense::invalid_field_in_param_list(4, Some(6))
    );
    assert_eq!(
        check(select6(&mut l, &list[..10])),
        Sense::parameter_list_length_error()
    );
    assert_eq!(
        check(select6(&mut l, &list[..3])),
        Sense::parameter_list_length_error()
    );
    let mut medium = list.clone();
    medium[1] = 1;
    assert_eq!(
        check(select6(&mut l, &medium)),
        Sense::invalid_field_in_param_list(1, None)
    );
}

#[test]
fn select_block_descriptor() {
    let mut l = lun();
    let page = list_with_page(&mut l, 0x0A)[4..].to_vec();
    let with_bd = |bd: &[u8]| {
        let mut v = vec![0, 0, 0, bd.len() as u8];
        v.extend(bd);
        v.extend(&page);
        v
    };
    good_data(select6(&mut l, &with_bd(&[0, 0, 0, 0, 0, 0, 0x02, 0])));
    good_data(select6(&mut l, &with_bd(&[0, 0x20, 0, 0, 0, 0, 0x02, 0])));
    let s = check(select6(&mut l, &with_bd(&[0, 0, 0, 0, 0, 0, 0x10, 0])));
    assert_eq!(s, Sense::invalid_field_in_param_list(9, None));
    let s = check(select6(&mut l, &with_bd(&[0, 0, 0, 1, 0, 0, 0x02, 0])));
    assert_eq!(s, Sense::invalid_field_in_param_list(4, None));
    let s = check(select6(&mut l, &with_bd(&[0; 4])));
    assert_eq!(s, Sense::invalid_field_in_param_list(3, None));
}

#[test]
fn select_10_with_long_descriptor() {
    let mut l = lun();
    let page = list_with_page(&mut l, 0x08)[4..].to_vec();
    let mut list = vec![0, 0, 0, 0, 0x01, 0, 0, 16];
    list.extend(l.config().num_blocks.to_be_bytes());
    list.extend([0, 0, 0, 0, 0, 0, 0x02, 0]);
    list.extend(&page);
    let [hi, lo] = (list.len() as u16).to_be_bytes();
    good_data(run_with(
        &mut l,
        &[0x55, 0x10, 0, 0, 0, 0, 0, hi, lo, 0],
        &list,
    ));
}

#[test]
fn select_cdb_errors() {
    let mut l = lun();
    let list = list_with_page(&mut l, 0x0A);
    assert_invalid_cdb(
        run_with(&mut l, &[0x15, 0x11, 0, 0, list.len() as u8, 0], &list),
        1,
        Some(0),
    );
    assert_invalid_cdb(
        run_with(&mut l, &[0x15, 0x00, 0, 0, list.len() as u8, 0], &list),
        1,
        Some(4),
    );
    good_data(run(&mut l, &[0x15, 0x10, 0, 0, 0, 0]));
    let s = check(run_with(&mut l, &[0x15, 0x10, 0, 0, 40, 0], &list));
    assert_eq!(
        s,
        Sense::parameter_list_length_error(),
        "data-out shorter than the list"
    );
}

#[test]
fn wce_off_makes_every_kind_of_write_fua() {
    let mut l = lun_with(LunConfig {
        thin: true,
        ..LunConfig::default()
    });
    let mut list = list_with_page(&mut l, 0x08);
    list[6] &= !0x04;
    good_data(select6(&mut l, &list));
    check(run(&mut l, &[0; 6]));
    assert!(io(run(&mut l, &[0x0A, 0, 0, 0, 1, 0])).fua, "WRITE(6)");
    assert!(
        io(run(&mut l, &[0x41, 0, 0, 0, 0, 0, 0, 0, 1, 0])).fua,
        "WRITE SAME"
    );
    let caw = vec![0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0];
    assert!(io(run(&mut l, &caw)).fua, "COMPARE AND WRITE");
    assert!(
        !io(run(&mut l, &[0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0])).fua,
        "reads are unaffected"
    );
}

#[test]
fn select_10_descriptor_length_must_match_longlba() {
    let mut l = lun();
    let page = list_with_page(&mut l, 0x08)[4..].to_vec();
    let mut list = vec![0, 0, 0, 0, 0x00, 0, 0, 16];
    list.extend([0u8; 12]);
    list.extend(512u32.to_be_bytes());
    list.extend(&page);
    let [hi, lo] = (list.len() as u16).to_be_bytes();
    let s = check(run_with(
        &mut l,
        &[0x55, 0x10, 0, 0, 0, 0, 0, hi, lo, 0],
        &list,
    ));
    assert_eq!(s, Sense::invalid_field_in_param_list(6, None));
    list[4] = 1;
    good_data(run_with(
        &mut l,
        &[0x55, 0x10, 0, 0, 0, 0, 0, hi, lo, 0],
        &list,
    ));
    let s = check(run_with(
        &mut l,
        &[0x55, 0x10, 0, 0, 0, 0, 0, 0, 12, 0],
        &list[..12],
    ));
    assert_eq!(
        s,
        Sense::parameter_list_length_error(),
        "descriptor cut short"
    );
}
