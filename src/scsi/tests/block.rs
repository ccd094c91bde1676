//! READ CAPACITY, READ/WRITE 6/10/12/16 and SYNCHRONIZE CACHE.

use super::*;

/// A 10/12/16-byte CDB for `op` with the LBA and length placed by the CDB size.
pub(super) fn rw(op: u8, flags: u8, lba: u64, blocks: u32) -> Vec<u8> {
    let mut c = vec![0u8; cdb::cdb_len(op).unwrap_or(16)];
    c[0] = op;
    c[1] = flags;
    match c.len() {
        10 => {
            c[2..6].copy_from_slice(&(lba as u32).to_be_bytes());
            c[7..9].copy_from_slice(&(blocks as u16).to_be_bytes());
        }
        12 => {
            c[2..6].copy_from_slice(&(lba as u32).to_be_bytes());
            c[6..10].copy_from_slice(&blocks.to_be_bytes());
        }
        _ => {
            c[2..10].copy_from_slice(&lba.to_be_bytes());
            c[10..14].copy_from_slice(&blocks.to_be_bytes());
        }
    }
    c
}

fn small() -> ScsiLun {
    lun_with(LunConfig {
        num_blocks: 1000,
        max_transfer_blocks: 64,
        ..LunConfig::default()
    })
}

const READS: [u8; 3] = [0x28, 0xA8, 0x88];
const WRITES: [u8; 3] = [0x2A, 0xAA, 0x8A];

#[test]
fn read_capacity_10() {
    let d = good_data(run(&mut small(), &[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    assert_eq!(d, [0, 0, 0x03, 0xE7, 0, 0, 0x02, 0]);
}

#[test]
fn read_capacity_10_saturates() {
    for (blocks, last) in [
        (0xFFFF_FFFF, 0xFFFF_FFFE_u32),
        (0x1_0000_0000, u32::MAX),
        (1 << 40, u32::MAX),
    ] {
        let mut l = lun_with(LunConfig {
            num_blocks: blocks,
            ..LunConfig::default()
        });
        let d = good_data(run(&mut l, &[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
        assert_eq!(&d[..4], &last.to_be_bytes(), "{blocks:#x}");
    }
}

#[test]
fn read_capacity_10_lba_without_pmi_is_refused() {
    assert_invalid_cdb(
        run(&mut small(), &[0x25, 0, 0, 0, 0, 1, 0, 0, 0, 0]),
        2,
        None,
    );
    good_data(run(&mut small(), &[0x25, 0, 0, 0, 0, 1, 0, 0, 1, 0]));
}

fn rc16(alloc: u32) -> Vec<u8> {
    let mut c = vec![0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    c[10..14].copy_from_slice(&alloc.to_be_bytes());
    c
}

#[test]
fn read_capacity_16() {
    let cfg = LunConfig {
        num_blocks: 1 << 40,
        block_size: 4096,
        ..LunConfig::default()
    };
    let d = good_data(run(&mut lun_with(cfg), &rc16(32)));
    assert_eq!(d.len(), 32);
    assert_eq!(&d[..8], &((1u64 << 40) - 1).to_be_bytes());
    assert_eq!(&d[8..12], &4096u32.to_be_bytes());
    assert_eq!(d[13], 0, "one logical block per physical block");
    assert_eq!(d[14], 0, "no LBPME on a thick unit");
}

#[test]
fn read_capacity_16_thin_sets_lbpme_and_honours_alloc_len() {
    let mut l = lun_with(LunConfig {
        thin: true,
        ..LunConfig::default()
    });
    assert_eq!(good_data(run(&mut l, &rc16(32)))[14], 0x80);
    assert_eq!(good_data(run(&mut l, &rc16(12))).len(), 12);
    assert_eq!(good_data(run(&mut l, &rc16(500))).len(), 32);
    let mut z = lun_with(LunConfig {
        thin: true,
        unmapped_read_zeroes: true,
        ..LunConfig::default()
    });
    assert_eq!(
        good_data(run(&mut z, &rc16(32)))[14],
        0xC0,
        "LBPME and LBPRZ"
    );
}

#[test]
fn service_action_in_other_actions_are_refused() {
    let mut c = rc16(32);
    c[1] = 0x12;
    assert_invalid_cdb(run(&mut small(), &c), 1, Some(4));
}

#[test]
fn reads_and_writes_become_io() {
    let mut l = small();
    for (op, want) in READS
        .iter()
        .map(|&o| (o, BlockOp::Read))
        .chain(WRITES.iter().map(|&o| (o, BlockOp::Write)))
    {
        let got = io(run(&mut l, &rw(op, 0x08, 990, 10)));
        assert_eq!(
            got,
            BlockIo {
                op: want,
                lba: 990,
                blocks: 10,
                fua: true
            },
            "{op:#x}"
        );
        assert!(!io(run(&mut l, &rw(op, 0, 0, 1))).fua);
    }
}

#[test]
fn six_byte_read_write() {
    let mut l = lun();
    let got = io(run(&mut l, &[0x08, 0x1F, 0xFF, 0xF0, 5, 0]));
    assert_eq!(
        got,
        BlockIo {
            op: BlockOp::Read,
            lba: 0x1F_FFF0,
            blocks: 5,
            fua: false
        }
    );
    let got = io(run(&mut l, &[0x0A, 0xE0, 0, 1, 7, 0]));
    assert_eq!(
        (got.op, got.lba, got.blocks),
        (BlockOp::Write, 1, 7),
        "top bits are not LBA"
    );
}

#[test]
fn six_byte_zero_length_means_256() {
    let mut l = lun_with(LunConfig {
        max_transfer_blocks: 256,
        ..LunConfig::default()
    });
    assert_eq!(io(run(&mut l, &[0x08, 0, 0, 0, 0, 0])).blocks, 256);
    assert_eq!(io(run(&mut small(), &[0x0A, 0, 0, 0, 0, 0])).blocks, 256);
}

#[test]
fn zero_length_is_good_without_io() {
    let mut l = small();
    for op in READS.iter().chain(&WRITES) {
        assert!(good_data(run(&mut l, &rw(*op, 0, 1000, 0))).is_empty());
    }
}

#[test]
fn zero_length_past_the_end_is_out_of_range() {
    let mut l = small();
    for op in READS.iter().chain(&WRITES) {
        assert_eq!(
            check(run(&mut l, &rw(*op, 0, 1001, 0))),
            Sense::lba_out_of_range()
        );
    }
}

#[test]
fn past_the_end_is_out_of_range() {
    let mut l = small();
    for op in READS.iter().chain(&WRITES) {
        for (lba, n) in [(991, 10), (1000, 1), (999, 2), (u32::MAX as u64, 1)] {
            let s = check(run(&mut l, &rw(*op, 0, lba, n)));
            assert_eq!(
                (s.key, s.asc, s.ascq),
                (SenseKey::IllegalRequest, 0x21, 0x00)
            );
        }
    }
    assert_eq!(
        check(run(&mut l, &rw(0x88, 0, u64::MAX, 1))),
        Sense::lba_out_of_range()
    );
    assert_eq!(
        check(run(&mut l, &[0x08, 0, 0x03, 0xE8, 1, 0])),
        Sense::lba_out_of_range()
    );
}

/// MAXIMUM TRANSFER LENGTH is advertised, not enforced (see `block::transfer`): a
/// transfer above it is served like any other, and its range is still checked.
#[test]
fn longer_than_advertised_limit_is_served() {
    let mut l = small();
    for op in READS.iter().chain(&WRITES) {
        let got = io(run(&mut l, &rw(*op, 0, 0, 65)));
        assert_eq!((got.lba, got.blocks), (0, 65));
        assert_eq!(
            check(run(&mut l, &rw(*op, 0, 990, 65))),
            Sense::lba_out_of_range()
        );
    }
}

#[test]
fn protection_fields_are_refused() {
    let mut l = small();
    for op in READS.iter().chain(&WRITES) {
        for prot in 1..8u8 {
            assert_invalid_cdb(run(&mut l, &rw(*op, prot << 5, 0, 1)), 1, Some(7));
        }
    }
}

#[test]
fn writes_to_read_only_unit_are_protected() {
    let mut l = lun_with(LunConfig {
        read_only: true,
        ..LunConfig::default()
    });
    for op in WRITES {
        let s = check(run(&mut l, &rw(op, 0, 0, 1)));
        assert_eq!((s.key, s.asc, s.ascq), (SenseKey::DataProtect, 0x27, 0x00));
    }
    assert_eq!(
        check(run(&mut l, &[0x0A, 0, 0, 0, 1, 0])),
        Sense::write_protected()
    );
    io(run(&mut l, &rw(0x28, 0, 0, 1)));
}

#[test]
fn short_read_cdbs_are_refused() {
    let mut l = small();
    for op in READS.iter().chain(&WRITES) {
        let c = rw(*op, 0, 0, 1);
        assert_invalid_cdb(run(&mut l, &c[..c.len() - 1]), 0, None);
    }
}

#[test]
fn synchronize_cache() {
    let mut l = small();
    for op in [0x35, 0x91] {
        let got = io(run(&mut l, &rw(op, 0x02, 10, 20)));
        assert_eq!(
            got,
            BlockIo {
                op: BlockOp::Flush,
                lba: 10,
                blocks: 20,
                fua: false
            }
        );
        assert_eq!(
            io(run(&mut l, &rw(op, 0, 0, 0))).blocks,
            0,
            "0 = to the end"
        );
        io(run(&mut l, &rw(op, 0, 1000, 0)));
        assert_eq!(
            check(run(&mut l, &rw(op, 0, 1001, 0))),
            Sense::lba_out_of_range()
        );
        assert_eq!(
            check(run(&mut l, &rw(op, 0, 990, 11))),
            Sense::lba_out_of_range()
        );
    }
}

#[test]
fn synchronize_cache_ignores_transfer_limit() {
    io(run(&mut small(), &rw(0x35, 0, 0, 1000)));
}
