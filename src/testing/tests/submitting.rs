//! What the fake writes into the ring, and when it refuses.

use std::time::Duration;

use super::*;
use crate::testing::{Corruption, DataDir, SubmitError, SubmitOpts};

#[test]
fn mailbox_and_first_entry_match_the_abi() {
    let (mut k, h) = kernel(FakeKernelConfig::default());
    let g = k.geometry();
    let r = &h.region;
    assert_eq!(r.read_u16(mailbox_off::VERSION as u64).unwrap(), 2);
    assert_eq!(
        r.read_u16(mailbox_off::FLAGS as u64).unwrap(),
        abi::CAP_OOOC | abi::CAP_READ_LEN | abi::CAP_TMR
    );
    assert_eq!((h.cmdr_off, h.size), (128, g.cmdr_size as u32));

    let id = k.submit(&READ10, DataDir::FromDevice(8192)).unwrap();
    assert_eq!(id, 1);
    let at = h.at(0);
    // One iovec fits in the 112-byte minimum, so the CDB starts at 112; 112 + 16 = 128.
    assert_eq!(h.op_len(0), (abi::OP_CMD, 128));
    assert_eq!((h.head(), k.head()), (128, 128));
    assert_eq!(h.cmd_id(0), 1);
    assert_eq!(r.read_u32(at + entry_off::IOV_CNT as u64).unwrap(), 1);
    assert_eq!(r.read_u32(at + entry_off::IOV_BIDI_CNT as u64).unwrap(), 0);
    assert_eq!(r.read_u32(at + entry_off::IOV_DIF_CNT as u64).unwrap(), 0);
    assert_eq!(h.iov(0, 0), (g.data_off as u64, 8192));
    let cdb_off = r.read_u64(at + entry_off::CDB_OFF as u64).unwrap();
    assert_eq!(cdb_off, 128 + 112);
    let mut cdb = [0u8; 10];
    r.read_bytes(cdb_off, &mut cdb).unwrap();
    assert_eq!(cdb, READ10);
    assert_eq!(rustix::io::read(&h.end.irq, &mut [0u8; 8]).unwrap(), 8);
}

#[test]
fn data_out_is_copied_into_the_blocks() {
    let (mut k, h) = kernel(FakeKernelConfig::default());
    let data: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
    k.submit(&WRITE10, DataDir::ToDevice(&data)).unwrap();
    let (base, len) = h.iov(0, 0);
    assert_eq!(len, 5000);
    let mut back = vec![0u8; 5000];
    h.region.read_bytes(base, &mut back).unwrap();
    assert_eq!(back, data);
    assert_eq!(k.free_data_blocks(), 1022);
}

#[test]
fn pad_fills_the_ring_end_and_counts_against_space() {
    let (mut k, mut h) = kernel(FakeKernelConfig::tiny_ring());
    // A no-data entry is 112 + 8 = 120 bytes; 33 of them end at 3960 of 3968.
    for _ in 0..33 {
        k.submit(&TUR, DataDir::None).unwrap();
    }
    assert_eq!(k.head(), 3960);
    assert_eq!(k.submit(&TUR, DataDir::None), Err(SubmitError::RingFull));
    for _ in 0..33 {
        h.answer_next();
    }
    h.publish();
    assert_eq!(k.reap().unwrap().len(), 33);
    let id = k.submit(&TUR, DataDir::None).unwrap();
    assert_eq!(h.op_len(3960), (abi::OP_PAD, 8));
    assert_eq!(h.cmd_id(3960), 0);
    assert_eq!((h.op_len(0), k.head()), ((abi::OP_CMD, 120), 120));
    assert_eq!(h.answer_next(), id);
    h.publish();
    assert_eq!(k.reap().unwrap()[0].cmd_id, id);
    assert_eq!((k.last_cleaned(), k.tail()), (120, 120));
}

#[test]
fn fragmented_blocks_give_several_iovecs() {
    let (mut k, mut h) = kernel(FakeKernelConfig::default());
    let ids: Vec<u16> = (0..3)
        .map(|_| k.submit(&READ10, DataDir::FromDevice(4096)).unwrap())
        .collect();
    h.answer(ids[1], 0, 0, 0); // out of order: frees block 1 only
    h.publish();
    assert_eq!(k.reap().unwrap()[0].cmd_id, ids[1]);
    let data = vec![7u8; 3 * 4096];
    let id = k.submit(&WRITE10, DataDir::ToDevice(&data)).unwrap();
    assert_eq!(id, ids[1], "the lowest free cmd_id is reused");
    let off = 3 * 128;
    let d = k.geometry().data_off as u64;
    assert_eq!(
        h.region
            .read_u32(h.at(off) + entry_off::IOV_CNT as u64)
            .unwrap(),
        2
    );
    assert_eq!(h.iov(off, 0), (d + 4096, 4096));
    assert_eq!(h.iov(off, 1), (d + 3 * 4096, 8192));
}

#[test]
fn many_iovecs_grow_the_entry() {
    let (mut k, mut h) = kernel(FakeKernelConfig::default());
    for _ in 0..12 {
        k.submit(&READ10, DataDir::FromDevice(4096)).unwrap();
    }
    for id in (2..=12).step_by(2) {
        h.answer(id, 0, 0, 0);
    }
    h.publish();
    assert_eq!(k.reap().unwrap().len(), 6);
    // Blocks 1, 3, 5, 7, 9 and 11 are free: six iovecs, 48 + 6 * 16 = 144 > 112.
    k.submit(&WRITE10, DataDir::ToDevice(&[1u8; 6 * 4096]))
        .unwrap();
    let off = 12 * 128;
    assert_eq!(h.op_len(off), (abi::OP_CMD, 144 + 16));
    let cdb_off = h
        .region
        .read_u64(h.at(off) + entry_off::CDB_OFF as u64)
        .unwrap();
    assert_eq!(cdb_off, h.at(off) + 144);
    assert_eq!(
        h.iov(off, 5),
        (k.geometry().data_off as u64 + 11 * 4096, 4096)
    );
}

#[test]
fn in_flight_limit_is_128_and_ids_are_reused() {
    let (mut k, mut h) = kernel(FakeKernelConfig::default());
    for want in 1..=128u16 {
        assert_eq!(k.submit(&TUR, DataDir::None), Ok(want));
    }
    assert_eq!(
        k.submit(&TUR, DataDir::None),
        Err(SubmitError::TooManyInFlight)
    );
    assert_eq!(k.inflight(), 128);
    h.answer(57, 0, 0, 0);
    h.publish();
    assert_eq!(k.reap().unwrap()[0].cmd_id, 57);
    assert_eq!(k.submit(&TUR, DataDir::None), Ok(57));
}

#[test]
fn refuses_what_cannot_be_queued_and_leaks_nothing() {
    let cfg = FakeKernelConfig {
        data_blocks: 4,
        ..FakeKernelConfig::tiny_ring()
    };
    let (mut k, _h) = kernel(cfg);
    assert_eq!(
        k.submit(&[0x28, 0], DataDir::None),
        Err(SubmitError::BadCdb { len: 2, need: 10 })
    );
    assert_eq!(
        k.submit(&[], DataDir::None),
        Err(SubmitError::BadCdb { len: 0, need: 6 })
    );
    let too_big = DataDir::FromDevice(5 * 4096);
    assert_eq!(
        k.submit(&READ10, too_big),
        Err(SubmitError::DataTooLarge {
            len: 5 * 4096,
            max: 4 * 4096
        })
    );
    k.submit(&READ10, DataDir::FromDevice(3 * 4096)).unwrap();
    assert_eq!(
        k.submit(&READ10, DataDir::FromDevice(8192)),
        Err(SubmitError::DataFull)
    );
    assert_eq!((k.inflight(), k.free_data_blocks()), (1, 1));
    let mut k = FakeKernel::new(FakeKernelConfig {
        caps: 0,
        ..FakeKernelConfig::default()
    })
    .unwrap();
    assert_eq!(
        k.submit_tmr(abi::tmr::LUN_RESET, &[]),
        Err(SubmitError::TmrNotOffered)
    );
}

#[test]
fn tmr_entry_lists_the_aborted_ids() {
    let (mut k, h) = kernel(FakeKernelConfig::default());
    k.submit(&TUR, DataDir::None).unwrap();
    k.submit(&TUR, DataDir::None).unwrap();
    k.submit_tmr(abi::tmr::ABORT_TASK_SET, &[1, 2]).unwrap();
    let at = h.at(240);
    assert_eq!(h.op_len(240), (abi::OP_TMR, 40));
    assert_eq!(
        h.region.read_u8(at + entry_off::TMR_TYPE as u64).unwrap(),
        abi::tmr::ABORT_TASK_SET
    );
    assert_eq!(
        h.region
            .read_u32(at + entry_off::TMR_CMD_CNT as u64)
            .unwrap(),
        2
    );
    let ids = at + entry_off::TMR_CMD_IDS as u64;
    assert_eq!(
        [
            h.region.read_u16(ids).unwrap(),
            h.region.read_u16(ids + 2).unwrap()
        ],
        [1, 2]
    );
    assert_eq!(k.head(), 280);
}

#[test]
fn quiet_submissions_ring_once() {
    let (mut k, h) = kernel(FakeKernelConfig::default());
    for _ in 0..5 {
        k.submit_with(&TUR, DataDir::None, SubmitOpts::quiet())
            .unwrap();
    }
    let mut buf = [0u8; 8];
    assert!(
        rustix::io::read(&h.end.irq, &mut buf).is_err(),
        "no doorbell yet"
    );
    k.notify();
    rustix::io::read(&h.end.irq, &mut buf).unwrap();
    assert_eq!(u64::from_ne_bytes(buf), 1);
    assert!(!k.wait_kick(Duration::from_millis(1)).unwrap());
    h.publish();
    assert!(k.wait_kick(Duration::from_secs(5)).unwrap());
}

#[test]
fn corruptions_write_what_they_promise() {
    let (mut k, h) = kernel(FakeKernelConfig::default());
    let g = k.geometry();
    let r = &h.region;
    let mut next = 0;
    let mut corrupt = |c| {
        k.submit_corrupt(&TUR, DataDir::None, c).unwrap();
        let off = next;
        next += 120;
        off
    };
    let off = corrupt(Corruption::IovBaseOutsideMap);
    assert_eq!(h.iov(off, 0).0, g.map_len as u64);
    assert_eq!(
        r.read_u32(h.at(off) + entry_off::IOV_CNT as u64).unwrap(),
        1
    );
    let off = corrupt(Corruption::IovIntoCmdRing);
    assert_eq!(h.iov(off, 0), (128, 4096));
    let off = corrupt(Corruption::IovLenOverflow);
    let (base, len) = h.iov(off, 0);
    assert!(base.checked_add(len).is_none());
    let off = corrupt(Corruption::CdbOffOutsideMap);
    assert!(r.read_u64(h.at(off) + entry_off::CDB_OFF as u64).unwrap() > g.map_len as u64);
    let off = corrupt(Corruption::IovCntTooLarge);
    let cnt = r.read_u32(h.at(off) + entry_off::IOV_CNT as u64).unwrap() as usize;
    assert!(entry_off::IOV + cnt * entry_off::IOV_SIZE > 120);
    let off = corrupt(Corruption::UnknownOpcode(5));
    assert_eq!(h.op_len(off), (5, 120));
}
