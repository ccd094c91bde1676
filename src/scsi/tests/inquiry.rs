//! INQUIRY standard data and VPD pages.

use super::*;

fn inquiry(lun: &mut ScsiLun, evpd: bool, page: u8, alloc: u16) -> Dispatch {
    let [hi, lo] = alloc.to_be_bytes();
    run(lun, &[0x12, u8::from(evpd), page, hi, lo, 0])
}

#[test]
fn standard_data_layout() {
    let d = good_data(inquiry(&mut lun(), false, 0, 255));
    assert_eq!(d.len(), 74);
    assert_eq!(d[0], 0x00, "connected direct-access device");
    assert_eq!(d[1], 0x00, "not removable");
    assert_eq!(d[2], 0x06, "SPC-4");
    assert_eq!(d[3], 0x02, "response data format 2");
    assert_eq!(usize::from(d[4]) + 5, d.len(), "additional length");
    assert_eq!(d[7], 0x02, "CmdQue");
    assert_eq!(&d[8..16], b"LIO-ORG ");
    assert_eq!(&d[16..32], b"TCMU device     ");
    assert_eq!(&d[32..36], b"0001");
    assert!(d[36..58].iter().all(|&b| b == 0));
    assert_eq!(&d[58..64], &[0x00, 0xA0, 0x04, 0x60, 0x04, 0xC0]);
    assert!(d[64..].iter().all(|&b| b == 0));
}

#[test]
fn allocation_length_is_exact() {
    let mut l = lun();
    for alloc in [0u16, 1, 5, 36, 73, 74, 75, 4096] {
        let d = good_data(inquiry(&mut l, false, 0, alloc));
        assert_eq!(d.len(), usize::from(alloc).min(74));
    }
    let d = good_data(inquiry(&mut l, true, 0x83, 3));
    assert_eq!(d, vec![0, 0x83, 0]);
}

#[test]
fn page_code_without_evpd_is_refused() {
    assert_invalid_cdb(inquiry(&mut lun(), false, 0x80, 255), 2, None);
}

#[test]
fn cmddt_is_refused() {
    assert_invalid_cdb(run(&mut lun(), &[0x12, 0x02, 0, 0, 255, 0]), 1, Some(1));
}

#[test]
fn unknown_vpd_page_is_refused() {
    assert_invalid_cdb(inquiry(&mut lun(), true, 0xC7, 255), 2, None);
}

#[test]
fn short_inquiry_cdb_is_refused() {
    assert_invalid_cdb(run(&mut lun(), &[0x12, 0, 0, 0, 255]), 0, None);
}

#[test]
fn supported_pages_are_ascending_and_all_served() {
    let mut l = lun();
    let d = good_data(inquiry(&mut l, true, 0x00, 255));
    assert_eq!(&d[..2], &[0, 0]);
    let pages = &d[4..];
    assert_eq!(usize::from(u16::from_be_bytes([d[2], d[3]])), pages.len());
    assert!(pages.windows(2).all(|w| w[0] < w[1]));
    for &p in pages {
        let page = good_data(inquiry(&mut l, true, p, 1024));
        assert_eq!(page[1], p);
        assert_eq!(
            usize::from(u16::from_be_bytes([page[2], page[3]])) + 4,
            page.len()
        );
    }
}

#[test]
fn unit_serial_number() {
    let d = good_data(inquiry(&mut lun(), true, 0x80, 255));
    assert_eq!(&d[..4], &[0, 0x80, 0, 14]);
    assert_eq!(&d[4..], b"gluster-tcmu-0");
}

#[test]
fn device_identification() {
    let cfg = LunConfig::new(4096, 1000, "abc123");
    let d = good_data(inquiry(&mut lun_with(cfg), true, 0x83, 255));
    assert_eq!(&d[..2], &[0, 0x83]);
    assert_eq!(usize::from(u16::from_be_bytes([d[2], d[3]])), d.len() - 4);
    // NAA: binary, LU association, type 3, 16 bytes; type 6h, company 001405, then the
    // serial's hex digits a, b, c, 1, 2, 3 one per nibble.
    assert_eq!(&d[4..8], &[0x01, 0x03, 0x00, 0x10]);
    let naa = [
        0x60, 0x01, 0x40, 0x5a, 0xbc, 0x12, 0x30, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    assert_eq!(&d[8..24], &naa);
    // T10 vendor ID: ASCII, LU association, type 1, vendor + serial.
    assert_eq!(&d[24..28], &[0x02, 0x01, 0x00, 14]);
    assert_eq!(&d[28..], b"LIO-ORG abc123");
}

/// targetcli's serials are UUIDs: the first 25 of their 32 hex digits make the WWID
/// LIO and tcmu-runner report (`sg_vpd -p di`: 0x6001405 followed by them).
#[test]
fn naa_is_lios_designator_for_the_serial() {
    let naa = LunConfig::naa_from_serial("1f0a2f8c-4e1b-4b2e-9A0E-7c3e2e5b6d11");
    let hex: String = naa.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, format!("6001405{}", "1f0a2f8c4e1b4b2e9a0e7c3e2"));
    assert_eq!(
        naa,
        LunConfig::naa_from_serial("1f0a2f8c4e1b4b2e9a0e7c3e2e5b6d11")
    );
    assert_ne!(
        naa,
        LunConfig::naa_from_serial("2f0a2f8c-4e1b-4b2e-9a0e-7c3e2e5b6d11")
    );
}

#[test]
fn naa_without_hex_digits_is_the_bare_prefix() {
    let naa = LunConfig::naa_from_serial("xyz");
    assert_eq!(naa[..4], [0x60, 0x01, 0x40, 0x50]);
    assert!(naa[4..].iter().all(|&b| b == 0));
}
