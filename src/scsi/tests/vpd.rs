//! VPD pages B0h, B1h and B2h.

use super::*;

fn vpd(l: &mut ScsiLun, page: u8) -> Vec<u8> {
    let d = good_data(run(l, &[0x12, 1, page, 1, 0, 0]));
    assert_eq!(d[1], page);
    assert_eq!(usize::from(u16::from_be_bytes([d[2], d[3]])) + 4, d.len());
    d
}

fn be32(d: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(d[at..at + 4].try_into().unwrap())
}

#[test]
fn block_limits_thick() {
    let d = vpd(
        &mut lun_with(LunConfig {
            max_transfer_blocks: 1024,
            ..LunConfig::default()
        }),
        0xB0,
    );
    assert_eq!(d.len(), 64);
    assert_eq!(d[4], 0x01, "WSNZ");
    assert_eq!(d[5], 1, "MAXIMUM COMPARE AND WRITE LENGTH");
    assert_eq!(&d[6..8], &[0, 1]);
    assert_eq!(be32(&d, 8), 1024, "MAXIMUM TRANSFER LENGTH");
    assert_eq!(be32(&d, 12), 1024, "OPTIMAL TRANSFER LENGTH");
    assert_eq!(be32(&d, 20), 0, "no UNMAP on a thick unit");
    assert_eq!(be32(&d, 24), 0);
    assert_eq!(u64::from_be_bytes(d[36..44].try_into().unwrap()), 1 << 22);
}

#[test]
fn block_limits_thin() {
    let d = vpd(
        &mut lun_with(LunConfig {
            thin: true,
            ..LunConfig::default()
        }),
        0xB0,
    );
    assert_eq!(be32(&d, 20), u32::MAX, "MAXIMUM UNMAP LBA COUNT");
    assert_eq!(be32(&d, 24), 256, "MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT");
    assert_eq!(be32(&d, 28), 1, "OPTIMAL UNMAP GRANULARITY");
}

#[test]
fn block_device_characteristics_non_rotating() {
    let d = vpd(&mut lun(), 0xB1);
    assert_eq!(d.len(), 64);
    assert_eq!(&d[4..6], &[0, 1]);
    assert!(d[6..].iter().all(|&b| b == 0));
}

#[test]
fn provisioning_matches_thin() {
    let d = vpd(
        &mut lun_with(LunConfig {
            thin: true,
            ..LunConfig::default()
        }),
        0xB2,
    );
    assert_eq!(
        d,
        [0, 0xB2, 0, 4, 0, 0xE0, 0x02, 0],
        "LBPU, LBPWS, LBPWS10, thin"
    );
    let d = vpd(&mut lun(), 0xB2);
    assert_eq!(d, [0, 0xB2, 0, 4, 0, 0, 0, 0]);
    let zeroes = LunConfig {
        thin: true,
        unmapped_read_zeroes: true,
        ..LunConfig::default()
    };
    let d = vpd(&mut lun_with(zeroes), 0xB2);
    assert_eq!(d[5], 0xE4, "LBPRZ");
}
