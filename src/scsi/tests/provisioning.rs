//! VERIFY, WRITE AND VERIFY, PRE-FETCH, START STOP UNIT, COMPARE AND WRITE,
//! WRITE SAME and UNMAP.

use super::block::rw;
use super::*;

fn small(thin: bool) -> ScsiLun {
    lun_with(LunConfig {
        num_blocks: 1000,
        max_transfer_blocks: 64,
        thin,
        ..LunConfig::default()
    })
}

#[test]
fn verify_modes() {
    let mut l = small(false);
    for op in [0x2F, 0xAF, 0x8F] {
        for (flags, check) in [
            (0, ByteCheck::None),
            (0x02, ByteCheck::Full),
            (0x06, ByteCheck::SingleBlock),
        ] {
            let got = io(run(&mut l, &rw(op, flags | 0x08, 5, 3)));
            assert_eq!(
                got,
                BlockIo {
                    op: BlockOp::Verify(check),
                    lba: 5,
                    blocks: 3,
                    fua: false
                }
            );
        }
        assert_invalid_cdb(run(&mut l, &rw(op, 0x04, 5, 3)), 1, Some(2));
        assert_invalid_cdb(run(&mut l, &rw(op, 0x20, 5, 3)), 1, Some(7));
        assert_eq!(
            check(run(&mut l, &rw(op, 0, 999, 2))),
            Sense::lba_out_of_range()
        );
        assert!(good_data(run(&mut l, &rw(op, 0, 1000, 0))).is_empty());
    }
}

#[test]
fn write_and_verify_is_a_fua_write() {
    let mut l = small(false);
    for op in [0x2E, 0xAE, 0x8E] {
        let got = io(run(&mut l, &rw(op, 0x02, 7, 2)));
        assert_eq!(
            got,
            BlockIo {
                op: BlockOp::Write,
                lba: 7,
                blocks: 2,
                fua: true
            }
        );
        assert_invalid_cdb(run(&mut l, &rw(op, 0x40, 0, 1)), 1, Some(7));
        assert_eq!(
            check(run(&mut l, &rw(op, 0, 1000, 1))),
            Sense::lba_out_of_range()
        );
    }
    let mut ro = lun_with(LunConfig {
        read_only: true,
        ..LunConfig::default()
    });
    assert_eq!(
        check(run(&mut ro, &rw(0x2E, 0, 0, 1))),
        Sense::write_protected()
    );
}

#[test]
fn pre_fetch_checks_the_range_only() {
    let mut l = small(false);
    for op in [0x34, 0x90] {
        assert!(good_data(run(&mut l, &rw(op, 0x02, 0, 1000))).is_empty());
        assert!(good_data(run(&mut l, &rw(op, 0, 1000, 0))).is_empty());
        assert_eq!(
            check(run(&mut l, &rw(op, 0, 1000, 1))),
            Sense::lba_out_of_range()
        );
    }
}

#[test]
fn start_stop_unit() {
    let mut l = lun();
    for byte4 in [0x00, 0x01, 0x03, 0x04, 0x10, 0x32, 0xF2] {
        good_data(run(&mut l, &[0x1B, 0x01, 0, 0, byte4, 0]));
    }
    assert_invalid_cdb(run(&mut l, &[0x1B, 0, 0, 0, 0x02, 0]), 4, Some(1));
}

fn caw(lba: u64, blocks: u8, flags: u8) -> Vec<u8> {
    let mut c = vec![0x89, flags];
    c.extend(lba.to_be_bytes());
    c.extend([0, 0, 0, blocks, 0, 0]);
    c
}

#[test]
fn compare_and_write() {
    let mut l = small(false);
    let got = io(run(&mut l, &caw(999, 1, 0x08)));
    assert_eq!(
        got,
        BlockIo {
            op: BlockOp::CompareAndWrite,
            lba: 999,
            blocks: 1,
            fua: true
        }
    );
    assert!(good_data(run(&mut l, &caw(0, 0, 0))).is_empty());
    assert_invalid_cdb(run(&mut l, &caw(0, 2, 0)), 13, None);
    assert_invalid_cdb(run(&mut l, &caw(0, 1, 0x20)), 1, Some(7));
    assert_eq!(
        check(run(&mut l, &caw(1000, 1, 0))),
        Sense::lba_out_of_range()
    );
    let mut ro = lun_with(LunConfig {
        read_only: true,
        ..LunConfig::default()
    });
    assert_eq!(check(run(&mut ro, &caw(0, 1, 0))), Sense::write_protected());
}

#[test]
fn write_same() {
    let mut thin = small(true);
    let mut thick = small(false);
    for op in [0x41, 0x93] {
        let got = io(run(&mut thin, &rw(op, 0x08, 10, 990)));
        assert_eq!(
            got,
            BlockIo {
                op: BlockOp::WriteSame {
                    unmap: true,
                    ndob: false
                },
                lba: 10,
                blocks: 990,
                fua: false
            }
        );
        let got = io(run(&mut thick, &rw(op, 0x08, 10, 5)));
        assert_eq!(
            got.op,
            BlockOp::WriteSame {
                unmap: false,
                ndob: false
            },
            "no deallocation on thick units"
        );
        assert_invalid_cdb(
            run(&mut thin, &rw(op, 0, 10, 0)),
            if op == 0x41 { 7 } else { 10 },
            None,
        );
        assert_invalid_cdb(run(&mut thin, &rw(op, 0x10, 10, 1)), 1, Some(4));
        // NDOB exists in WRITE SAME(16) only (bit 0 of WRITE SAME(10) is obsolete).
        let ndob = io(run(&mut thin, &rw(op, 0x01, 10, 4))).op;
        let want = BlockOp::WriteSame {
            unmap: false,
            ndob: op == 0x93,
        };
        assert_eq!(ndob, want);
        assert_invalid_cdb(run(&mut thin, &rw(op, 0x60, 10, 1)), 1, Some(7));
        assert_eq!(
            check(run(&mut thin, &rw(op, 0, 991, 10))),
            Sense::lba_out_of_range()
        );
    }
    assert_invalid_cdb(run(&mut thin, &rw(0x41, 0x04, 0, 1)), 1, Some(2));
    let mut big = lun_with(LunConfig {
        num_blocks: 1 << 30,
        ..LunConfig::default()
    });
    assert_invalid_cdb(run(&mut big, &rw(0x93, 0, 0, (1 << 22) + 1)), 10, None);
    let mut ro = lun_with(LunConfig {
        read_only: true,
        ..LunConfig::default()
    });
    assert_eq!(
        check(run(&mut ro, &rw(0x93, 0, 0, 1))),
        Sense::write_protected()
    );
}

/// An UNMAP CDB and parameter list for `ranges`.
fn unmap(ranges: &[(u64, u32)]) -> (Vec<u8>, Vec<u8>) {
    let mut list = vec![0u8; 8];
    for &(lba, n) in ranges {
        list.extend(lba.to_be_bytes());
        list.extend(n.to_be_bytes());
        list.extend([0; 4]);
    }
    let bd = (ranges.len() * 16) as u16;
    list[0..2].copy_from_slice(&(bd + 6).to_be_bytes());
    list[2..4].copy_from_slice(&bd.to_be_bytes());
    let [hi, lo] = (list.len() as u16).to_be_bytes();
    (vec![0x42, 0, 0, 0, 0, 0, 0, hi, lo, 0], list)
}

#[test]
fn unmap_ranges() {
    let mut l = small(true);
    let (c, list) = unmap(&[(0, 10), (500, 0), (990, 10)]);
    let got = io(run_with(&mut l, &c, &list));
    let ranges = vec![
        LbaRange { lba: 0, blocks: 10 },
        LbaRange {
            lba: 990,
            blocks: 10,
        },
    ];
    assert_eq!(
        got,
        BlockIo {
            op: BlockOp::Unmap(ranges),
            lba: 0,
            blocks: 0,
            fua: false
        }
    );
}

#[test]
fn unmap_empty_cases_are_good() {
    let mut l = small(true);
    good_data(run(&mut l, &[0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    let (c, list) = unmap(&[]);
    good_data(run_with(&mut l, &c, &list));
    let (c, list) = unmap(&[(3, 0)]);
    good_data(run_with(&mut l, &c, &list));
}

#[test]
fn unmap_errors() {
    let mut l = small(true);
    let (c, list) = unmap(&[(0, 1), (995, 6)]);
    assert_eq!(
        check(run_with(&mut l, &c, &list)),
        Sense::lba_out_of_range()
    );
    let (c, list) = unmap(&[(u64::MAX, 1)]);
    assert_eq!(
        check(run_with(&mut l, &c, &list)),
        Sense::lba_out_of_range()
    );
    let s = check(run_with(
        &mut l,
        &[0x42, 0, 0, 0, 0, 0, 0, 0, 4, 0],
        &[0u8; 4],
    ));
    assert_eq!(s, Sense::parameter_list_length_error());
    let (mut c, list) = unmap(&[(0, 1)]);
    c[1] = 1;
    assert_invalid_cdb(run_with(&mut l, &c, &list), 1, Some(0));
    let many: Vec<(u64, u32)> = (0..257).map(|i| (i, 1)).collect();
    let (c, list) = unmap(&many);
    assert_eq!(
        check(run_with(&mut l, &c, &list)),
        Sense::invalid_field_in_param_list(2, None)
    );
    let (c, list) = unmap(&[(0, 1)]);
    assert_eq!(
        check(run_with(&mut small(false), &c, &list)),
        Sense::invalid_opcode()
    );
    let mut ro = lun_with(LunConfig {
        read_only: true,
        thin: true,
        ..LunConfig::default()
    });
    assert_eq!(
        check(run_with(&mut ro, &c, &list)),
        Sense::write_protected()
    );
}

fn get_lba_status(lba: u64, alloc: u32) -> Vec<u8> {
    let mut c = vec![0x9E, 0x12];
    c.extend(lba.to_be_bytes());
    c.extend(alloc.to_be_bytes());
    c.extend([0, 0]);
    c
}

#[test]
fn get_lba_status_goes_to_the_backstore() {
    let mut l = small(true);
    let got = io(run(&mut l, &get_lba_status(990, 24)));
    assert_eq!(
        got,
        BlockIo {
            op: BlockOp::LbaStatus { alloc_len: 24 },
            lba: 990,
            blocks: 10,
            fua: false
        }
    );
    assert!(good_data(run(&mut l, &get_lba_status(0, 0))).is_empty());
    assert_eq!(
        check(run(&mut l, &get_lba_status(1000, 24))),
        Sense::lba_out_of_range()
    );
    assert_invalid_cdb(run(&mut small(false), &get_lba_status(0, 24)), 1, Some(4));
    let mut huge = lun_with(LunConfig {
        num_blocks: 1 << 40,
        thin: true,
        ..LunConfig::default()
    });
    assert_eq!(io(run(&mut huge, &get_lba_status(0, 24))).blocks, u32::MAX);
}

#[test]
fn lba_status_encoding() {
    let extents = [
        LbaStatus {
            lba: 5,
            blocks: 3,
            status: ProvisioningStatus::Mapped,
        },
        LbaStatus {
            lba: 8,
            blocks: 100,
            status: ProvisioningStatus::Deallocated,
        },
    ];
    let d = encode_lba_status(&extents, 1024);
    assert_eq!(d.len(), 8 + 32);
    assert_eq!(&d[..8], &[0, 0, 0, 36, 0, 0, 0, 0]);
    assert_eq!(&d[8..24], &[0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 3, 0, 0, 0, 0]);
    assert_eq!(
        &d[24..40],
        &[0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 100, 1, 0, 0, 0]
    );
    let cut = encode_lba_status(&extents, 10);
    assert_eq!(cut, d[..10]);
}
