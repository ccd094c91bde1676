//! Property tests: arbitrary bytes never panic, every error is well-formed sense, and
//! the range check is exact at and past the capacity.

use super::block::rw;
use super::*;
use proptest::prelude::*;

/// Every CHECK CONDITION must encode to sense that decodes back to itself in both
/// formats, with a defined key and, for ILLEGAL REQUEST, a non-zero ASC.
fn assert_well_formed(d: &Dispatch) {
    let Dispatch::Reply(Reply {
        status: Status::CheckCondition(s),
        data,
    }) = d
    else {
        return;
    };
    assert!(data.is_empty());
    for desc in [false, true] {
        let bytes = s.to_vec(desc);
        assert!(bytes.len() <= crate::scsi::sense::SENSE_BUFFER_LEN);
        assert_eq!(Sense::decode(&bytes).as_ref(), Some(s));
    }
    assert_ne!(s.key, SenseKey::NoSense);
    assert_ne!(s.asc, 0);
}

/// CDBs whose first byte is one of the opcodes we implement, so fields get exercised.
fn known_cdb() -> impl Strategy<Value = Vec<u8>> {
    let ops = [
        0x00u8, 0x03, 0x08, 0x0A, 0x12, 0x15, 0x1A, 0x1B, 0x25, 0x28, 0x2A, 0x2E, 0x2F, 0x34, 0x35,
        0x55, 0x5A, 0x88, 0x8A, 0x8E, 0x8F, 0x90, 0x91, 0x9E, 0xA3, 0xA8, 0xAA, 0xAE, 0xAF, 0x41,
        0x42, 0x89, 0x93,
    ];
    (
        proptest::sample::select(ops.to_vec()),
        proptest::collection::vec(any::<u8>(), 0..20),
    )
        .prop_map(|(op, mut rest)| {
            rest.insert(0, op);
            rest
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_cdbs_never_panic(
        cdb in proptest::collection::vec(any::<u8>(), 0..32),
        data in proptest::collection::vec(any::<u8>(), 0..64),
        ro in any::<bool>(),
        thin in any::<bool>(),
    ) {
        let mut l = lun_with(LunConfig { read_only: ro, thin, num_blocks: 5000, ..LunConfig::default() });
        let d = l.dispatch(&cdb, &data);
        assert_well_formed(&d);
    }

    #[test]
    fn known_opcodes_never_panic(
        cdb in known_cdb(),
        data in proptest::collection::vec(any::<u8>(), 0..64),
        ro in any::<bool>(),
    ) {
        let mut l = lun_with(LunConfig { read_only: ro, thin: !ro, num_blocks: 5000, ..LunConfig::default() });
        for _ in 0..2 {
            let d = l.dispatch(&cdb, &data);
            assert_well_formed(&d);
            if let Dispatch::Io(io) = &d {
                let end = io.lba.checked_add(u64::from(io.blocks));
                prop_assert!(end.is_some_and(|e| e <= 5000));
                if let BlockOp::Unmap(ranges) = &io.op {
                    prop_assert!(ranges.iter().all(|r| r.blocks > 0 && r.lba + u64::from(r.blocks) <= 5000));
                }
            }
        }
    }

    #[test]
    fn range_check_is_exact(
        op in proptest::sample::select(vec![0x28u8, 0x2A, 0xA8, 0xAA, 0x88, 0x8A]),
        back in 0u64..300,
        blocks in 0u32..300,
    ) {
        let cap = 100_000u64;
        let lba = cap.saturating_sub(back).saturating_add(back % 3);
        let mut l = lun_with(LunConfig { num_blocks: cap, max_transfer_blocks: 64, ..LunConfig::default() });
        let d = l.dispatch(&rw(op, 0, lba, blocks), &Vec::new());
        let fits = lba + u64::from(blocks) <= cap;
        match d {
            _ if !fits => prop_assert_eq!(check(d), Sense::lba_out_of_range()),
            _ if blocks == 0 => prop_assert!(good_data(d).is_empty()),
            _ => {
                let io = io(d);
                prop_assert_eq!((io.lba, io.blocks), (lba, blocks));
            }
        }
    }

    #[test]
    fn sense_round_trips(
        key in 0u8..16, asc in 1u8.., ascq in any::<u8>(),
        info in proptest::option::of(any::<u64>()),
        fp in proptest::option::of((any::<bool>(), any::<u16>(), proptest::option::of(0u8..8))),
    ) {
        prop_assume!(key != 0x0C);
        let mut s = Sense::new(SenseKey::from_code(key).unwrap(), asc, ascq);
        s.info = info;
        s.field_pointer = fp.map(|(in_cdb, byte, bit)| FieldPointer { in_cdb, byte, bit });
        prop_assert_eq!(Sense::decode(&s.to_vec(true)), Some(s));
        let fixed = Sense::decode(&s.to_vec(false)).unwrap();
        prop_assert_eq!(fixed.info, info.filter(|&i| i <= u64::from(u32::MAX)));
        prop_assert_eq!(fixed.field_pointer, s.field_pointer);
    }
}

/// Current values of all mode pages as a MODE SELECT(6) list, with each page's offset.
fn current_pages_list(l: &mut ScsiLun) -> (Vec<u8>, Vec<(usize, u8)>) {
    let d = good_data(l.dispatch(&[0x1A, 0x08, 0x3F, 0, 255, 0], &Vec::new()));
    let mut list = vec![0, 0, 0, 0];
    list.extend(&d[4..]);
    let mut pages = Vec::new();
    let mut at = 4;
    while at < list.len() {
        pages.push((at, list[at]));
        at += usize::from(list[at + 1]) + 2;
    }
    (list, pages)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Flipping any one bit of a valid MODE SELECT list is accepted exactly when the bit
    /// is changeable (or the ignored PS bit), and otherwise refused with a field pointer
    /// at that very bit; a refused list changes nothing.
    #[test]
    fn mode_select_single_bit_flips(pos in 4usize..60, bit in 0u8..8) {
        let mut l = lun();
        let (mut list, pages) = current_pages_list(&mut l);
        prop_assume!(pos < list.len());
        list[pos] ^= 1 << bit;
        let (start, code) = *pages.iter().rev().find(|(s, _)| *s <= pos).unwrap();
        let off = pos - start;
        let changeable = off == 2 && bit == 2 && (code == 0x08 || code == 0x0A);
        let ps = off == 0 && bit == 7;
        let before = (l.write_cache_enabled(), l.descriptor_sense());
        let d = l.dispatch(&[0x15, 0x10, 0, 0, list.len() as u8, 0], &list);
        if changeable || ps {
            prop_assert!(good_data(d).is_empty());
        } else {
            let s = check(d);
            prop_assert_eq!(s.key, SenseKey::IllegalRequest);
            if off >= 2 {
                prop_assert_eq!(s, Sense::invalid_field_in_param_list(pos as u16, Some(bit)));
            }
            prop_assert_eq!((l.write_cache_enabled(), l.descriptor_sense()), before);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn sense_decode_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
        if let Some(s) = Sense::decode(&bytes) {
            prop_assert!(Sense::decode(&s.to_vec(true)).is_some());
        }
    }

    /// Data-in never exceeds the allocation length of the CDB that asked for it.
    #[test]
    fn allocation_length_is_honoured(
        which in 0usize..6,
        flags in any::<u8>(),
        page in any::<u8>(),
        sub in any::<u8>(),
        alloc in any::<u16>(),
    ) {
        let [hi, lo] = alloc.to_be_bytes();
        let (cdb, limit): (Vec<u8>, usize) = match which {
            0 => (vec![0x12, flags & 1, page, hi, lo, 0], usize::from(alloc)),
            1 => (vec![0x1A, flags, page, sub, lo, 0], usize::from(lo)),
            2 => (vec![0x5A, flags, page, sub, 0, 0, 0, hi, lo, 0], usize::from(alloc)),
            3 => (vec![0x03, flags, 0, 0, lo, 0], usize::from(lo)),
            4 => (vec![0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, hi, lo, 0, 0], usize::from(alloc)),
            _ => (vec![0xA3, 0x0C, flags, page, 0, sub, 0, 0, hi, lo, 0, 0], usize::from(alloc)),
        };
        let mut l = lun_with(LunConfig { thin: true, ..LunConfig::default() });
        if let Dispatch::Reply(r) = l.dispatch(&cdb, &Vec::new()) {
            prop_assert!(r.data.len() <= limit, "{} > {}", r.data.len(), limit);
        }
    }
}
