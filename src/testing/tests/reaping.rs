//! What the fake accepts back from a handler, and what it calls a violation.

use super::*;
use crate::testing::{
    Corruption, DataDir, ProtocolViolation as V, STATUS_BUSY, STATUS_CHECK_CONDITION,
};

#[test]
fn in_order_completion_returns_status_sense_and_data() {
    let (mut k, mut h) = kernel(FakeKernelConfig::default());
    let w = k.submit(&WRITE10, DataDir::ToDevice(&[9u8; 512])).unwrap();
    let r = k.submit(&READ10, DataDir::FromDevice(5000)).unwrap();
    let n = k.submit(&TUR, DataDir::None).unwrap();
    h.fill_data(128, 0xab);
    assert_eq!([h.answer_next(), h.answer_next()], [w, r]);
    let slot = h.next_cmd_slot();
    h.region
        .write_bytes(h.at(slot) + entry_off::SENSE as u64, &[0x70, 0, 5])
        .unwrap();
    h.answer(n, STATUS_CHECK_CONDITION, 0, 0);
    h.publish();
    assert!(k.wait_kick(std::time::Duration::from_secs(5)).unwrap());
    let done = k.reap().unwrap();
    assert_eq!(done.iter().map(|c| c.cmd_id).collect::<Vec<_>>(), [w, r, n]);
    assert!(done[0].data_in.is_empty());
    assert_eq!(done[1].data_in, vec![0xab; 5000]);
    assert_eq!((done[1].status, done[1].read_len), (0, None));
    assert_eq!(
        (done[2].status, &done[2].sense[..3]),
        (2, &[0x70, 0, 5][..])
    );
    assert_eq!((k.inflight(), k.free_data_blocks()), (0, 1024));
}

#[test]
fn out_of_order_completion_is_matched_by_cmd_id() {
    let (mut k, mut h) = kernel(FakeKernelConfig::default());
    for _ in 0..3 {
        k.submit(&READ10, DataDir::FromDevice(512)).unwrap();
    }
    h.fill_data(256, 3);
    h.answer(3, 0, 0, 0); // slot 0 carries command 3's answer
    h.publish();
    let done = k.reap().unwrap();
    assert_eq!((done[0].cmd_id, done[0].data_in[0]), (3, 3));
    h.answer(1, 0, 0, 0);
    h.answer(2, 0, 0, 0);
    h.publish();
    assert_eq!(k.reap().unwrap().len(), 2);
}

#[test]
fn out_of_order_without_the_capability_is_a_violation() {
    let cfg = FakeKernelConfig {
        caps: 0,
        ..FakeKernelConfig::default()
    };
    let (mut k, mut h) = kernel(cfg);
    k.submit(&TUR, DataDir::None).unwrap();
    k.submit(&TUR, DataDir::None).unwrap();
    h.answer(2, 0, 0, 0);
    h.publish();
    let want = V::OutOfOrderWithoutCap {
        off: 0,
        cmd_id: 2,
        expected: 1,
    };
    assert_eq!(k.reap(), Err(want));
}

#[test]
fn unknown_cmd_id_breaks_the_ring_until_reset() {
    let (mut k, mut h) = kernel(FakeKernelConfig::default());
    k.submit(&READ10, DataDir::FromDevice(4096)).unwrap();
    h.answer(77, 0, 0, 0);
    h.publish();
    assert_eq!(k.reap(), Err(V::UnknownCmdId { off: 0, cmd_id: 77 }));
    assert!(k.is_broken());
    assert_eq!(k.reap(), Err(V::Broken));
    assert_eq!(
        k.submit(&TUR, DataDir::None),
        Err(crate::testing::SubmitError::Broken)
    );
    let failed = k.reset_ring();
    assert_eq!(
        (failed.len(), failed[0].cmd_id, failed[0].status),
        (1, 1, STATUS_BUSY)
    );
    assert_eq!(
        (k.head(), k.tail(), k.inflight(), k.free_data_blocks()),
        (0, 0, 0, 1024)
    );
    assert_eq!(h.head(), 0);
    assert_eq!(k.submit(&TUR, DataDir::None), Ok(1));
}

#[test]
fn a_second_answer_for_one_command_is_unknown_but_the_first_is_kept() {
    let (mut k, mut h) = kernel(FakeKernelConfig::default());
    k.submit(&TUR, DataDir::None).unwrap();
    k.submit(&TUR, DataDir::None).unwrap();
    h.answer(1, 0, 0, 0);
    h.answer(1, 0, 0, 0);
    h.publish();
    let mut out = Vec::new();
    assert_eq!(
        k.reap_into(&mut out),
        Err(V::UnknownCmdId {
            off: 120,
            cmd_id: 1
        })
    );
    assert_eq!(out.len(), 1);
}

#[test]
fn the_tail_must_sit_on_an_entry_boundary_up_to_the_head() {
    let cases = [
        (
            8,
            V::TailInsideEntry {
                tail: 8,
                entry_off: 0,
            },
        ),
        (
            360,
            V::TailInsideEntry {
                tail: 360,
                entry_off: 240,
            },
        ),
        (
            480,
            V::TailBeyondHead {
                tail: 480,
                head: 368,
                last_cleaned: 0,
            },
        ),
        (
            70_000,
            V::TailOutOfRing {
                tail: 70_000,
                size: 65_408,
            },
        ),
    ];
    for (tail, want) in cases {
        let (mut k, h) = kernel(FakeKernelConfig::default());
        for _ in 0..2 {
            k.submit(&TUR, DataDir::None).unwrap();
        }
        k.submit(&READ10, DataDir::FromDevice(4096)).unwrap();
        h.set_tail(tail);
        assert_eq!(k.reap(), Err(want));
        assert_eq!(k.inflight(), 3, "nothing is reaped past a bad tail");
    }
}

#[test]
fn tmr_entries_are_skipped_but_must_not_carry_answers() {
    let (mut k, mut h) = kernel(FakeKernelConfig::default());
    k.submit(&TUR, DataDir::None).unwrap();
    k.submit_tmr(abi::tmr::ABORT_TASK, &[1]).unwrap();
    k.submit(&TUR, DataDir::None).unwrap();
    h.answer(1, 0, 0, 0);
    h.answer(2, 0, 0, 0);
    h.publish();
    assert_eq!(k.reap().unwrap().len(), 2);

    k.submit_tmr(abi::tmr::LUN_RESET, &[]).unwrap();
    let at = h.at(h.tail);
    h.region
        .write_u16(at + entry_off::CMD_ID as u64, 5)
        .unwrap();
    h.step();
    h.publish();
    let want = V::NonCmdSlotWritten {
        off: 280,
        kind: "TMR",
        cmd_id: 5,
        kflags: 0,
        uflags: 0,
    };
    assert_eq!(k.reap(), Err(want));
}

#[test]
fn read_len_shortens_data_in_and_may_not_exceed_it() {
    let (mut k, mut h) = kernel(FakeKernelConfig::default());
    k.submit(&READ10, DataDir::FromDevice(8192)).unwrap();
    k.submit(&READ10, DataDir::FromDevice(8192)).unwrap();
    h.answer(1, 0, abi::UFLAG_READ_LEN, 100);
    h.answer(2, STATUS_CHECK_CONDITION, abi::UFLAG_READ_LEN, 0);
    h.publish();
    let done = k.reap().unwrap();
    assert_eq!((done[0].data_in.len(), done[0].read_len), (100, Some(100)));
    assert_eq!((done[1].data_in.len(), done[1].read_len), (0, None));

    k.submit(&READ10, DataDir::FromDevice(8192)).unwrap();
    h.answer(1, 0, abi::UFLAG_READ_LEN, 8193);
    h.publish();
    assert_eq!(
        k.reap(),
        Err(V::ReadLenTooLong {
            cmd_id: 1,
            read_len: 8193,
            len: 8192
        })
    );
}

#[test]
fn flags_need_their_capability() {
    let cfg = FakeKernelConfig {
        caps: abi::CAP_OOOC,
        ..FakeKernelConfig::default()
    };
    let (mut k, mut h) = kernel(cfg);
    k.submit(&READ10, DataDir::FromDevice(512)).unwrap();
    h.answer(1, 0, abi::UFLAG_READ_LEN, 10);
    h.publish();
    assert_eq!(
        k.reap(),
        Err(V::FlagNotOffered {
            cmd_id: 1,
            uflags: abi::UFLAG_READ_LEN
        })
    );
}

#[test]
fn unknown_opcode_is_answered_with_the_unknown_op_flag() {
    let (mut k, mut h) = kernel(FakeKernelConfig::default());
    k.submit_corrupt(
        &READ10,
        DataDir::FromDevice(512),
        Corruption::UnknownOpcode(5),
    )
    .unwrap();
    // A handler leaves the opcode alone, flags the slot and moves past it.
    h.region
        .write_u8(h.at(0) + entry_off::UFLAGS as u64, abi::UFLAG_UNKNOWN_OP)
        .unwrap();
    h.step();
    h.publish();
    let done = k.reap().unwrap();
    assert!(done[0].unknown_op);
    assert_eq!(
        (done[0].status, done[0].data_in.len()),
        (STATUS_CHECK_CONDITION, 0)
    );
}

#[test]
fn rewritten_headers_and_heads_are_caught() {
    let (mut k, mut h) = kernel(FakeKernelConfig::default());
    k.submit(&TUR, DataDir::None).unwrap();
    h.answer(1, 0, 0, 0);
    h.region
        .write_u32(h.at(0), abi::join_len_op(abi::OP_CMD, 112))
        .unwrap();
    h.publish();
    let want = V::HeaderChanged {
        off: 0,
        expected: abi::join_len_op(abi::OP_CMD, 120),
        found: 0x71,
    };
    assert_eq!(k.reap(), Err(want));

    let (mut k, h) = kernel(FakeKernelConfig::default());
    k.submit(&TUR, DataDir::None).unwrap();
    h.region
        .store_u32(mailbox_off::CMD_HEAD, 0, Ordering::Release)
        .unwrap();
    assert_eq!(
        k.reap(),
        Err(V::HeadModified {
            expected: 120,
            found: 0
        })
    );
}

/// Many laps of a tiny ring with mixed sizes: PADs appear at varying offsets, blocks are
/// reused, and every byte still arrives intact.
#[test]
fn wraps_many_times_with_data_intact() {
    let (mut k, mut h) = kernel(FakeKernelConfig::tiny_ring());
    let mut laps = 0;
    for round in 0..400u32 {
        let batch = 1 + (round % 7) as usize;
        let len = |i: usize| 1 + (round as usize * 977 + i * 4099) % (20 * 4096);
        let ids: Vec<u16> = (0..batch)
            .map(|i| k.submit(&READ10, DataDir::FromDevice(len(i))).unwrap())
            .collect();
        let before = h.tail;
        // Answer in reverse, each slot carrying another command's answer.
        for &id in ids.iter().rev() {
            let slot = h.next_cmd_slot();
            h.fill_data(slot, h.cmd_id(slot) as u8 ^ round as u8);
            h.answer(id, 0, 0, 0);
        }
        h.publish();
        let done = k.reap().unwrap();
        laps += usize::from(h.tail <= before);
        assert_eq!(done.len(), batch);
        for c in &done {
            let i = ids.iter().position(|&id| id == c.cmd_id).unwrap();
            assert_eq!(c.data_in.len(), len(i));
            assert!(c.data_in.iter().all(|&b| b == c.cmd_id as u8 ^ round as u8));
        }
    }
    assert!(laps > 50, "only {laps} laps");
    assert_eq!((k.inflight(), k.free_data_blocks()), (0, 1024));
}
