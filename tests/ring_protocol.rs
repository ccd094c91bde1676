//! The handler's ring protocol against the fake kernel, which checks every completion
//! the way target_core_user does (cmd_id, slot order, flags, tail position).

mod common;

use common::*;
use gluster_tcmu::scsi::{Sense, SenseKey};
use gluster_tcmu::testing::{Corruption, DataDir, FakeKernelConfig, SubmitError, SubmitOpts};

#[test]
fn a_full_ring_of_128_commands_completes_in_one_batch() {
    let (mut k, mut dev) = ram_device(1 << 16);
    let counted = |dev: &gluster_tcmu::device::Device| (dev.stats().batches, dev.stats().kicks);
    let before = counted(&dev);
    let data = pattern(0, 8, 1);
    let mut ids = Vec::new();
    for i in 0..128u64 {
        let cdb = write16(i * 8, 8, false);
        ids.push(
            k.submit_with(&cdb, DataDir::ToDevice(&data), SubmitOpts::quiet())
                .unwrap(),
        );
    }
    assert_eq!(
        k.submit(&write16(0, 8, false), DataDir::ToDevice(&data)),
        Err(SubmitError::TooManyInFlight)
    );
    k.notify();
    step(&mut dev);
    assert!(
        k.wait_kick(std::time::Duration::ZERO).unwrap(),
        "one doorbell for the batch"
    );
    let done = k.reap().unwrap();
    assert_eq!(done.len(), 128);
    assert!(done.iter().all(|c| c.status == 0), "{done:?}");
    assert_eq!(dev.outstanding(), 0);
    assert_eq!(dev.stats().write_bytes, 128 * 8 * 512);
    let one_more = (before.0 + 1, before.1 + 1);
    assert_eq!(counted(&dev), one_more, "one batch read, one kick");
    step(&mut dev);
    assert_eq!(
        counted(&dev),
        one_more,
        "a turn with nothing to read or answer counts neither"
    );
}

#[test]
fn wrap_around_with_pad_keeps_data_intact() {
    let cfg = FakeKernelConfig::tiny_ring();
    let blocks = 4096;
    let ram = gluster_tcmu::backstore::RamBackstore::new(blocks * 512);
    let (mut k, mut dev) = device_with(cfg, lun(blocks), Box::new(ram));
    for round in 0..200u64 {
        let lba = (round * 7) % (blocks - 16);
        let data = pattern(lba, 16, round);
        k.submit(&write16(lba, 16, false), DataDir::ToDevice(&data))
            .unwrap();
        k.submit(&read16(lba, 16), DataDir::FromDevice(16 * 512))
            .unwrap();
        let done = run_until(&mut k, &mut dev, 2);
        assert_eq!(done[1].data_in, data, "round {round}");
    }
    assert!(k.head() < k.geometry().cmdr_size as u32);
}

#[test]
fn out_of_order_completions_are_accepted_by_the_kernel() {
    let blocks = 1 << 14;
    let scrambler = Scrambler::new(blocks * 512, 0x1234_5678);
    let (mut k, mut dev) = device_with(
        FakeKernelConfig::default(),
        lun(blocks),
        Box::new(scrambler),
    );
    let mut expected = std::collections::HashMap::new();
    for i in 0..64u64 {
        let data = pattern(i * 4, 4, 9);
        let id = k
            .submit(&write16(i * 4, 4, false), DataDir::ToDevice(&data))
            .unwrap();
        expected.insert(id, ());
    }
    let done = run_until(&mut k, &mut dev, 64);
    let ids: Vec<u16> = done.iter().map(|c| c.cmd_id).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_ne!(
        ids, sorted,
        "the scrambler should have reordered completions"
    );
    assert!(
        done.iter()
            .all(|c| c.status == 0 && expected.contains_key(&c.cmd_id))
    );
    for i in 0..64u64 {
        k.submit(&read16(i * 4, 4), DataDir::FromDevice(4 * 512))
            .unwrap();
    }
    let reads = run_until(&mut k, &mut dev, 64);
    let mut seen: Vec<Vec<u8>> = reads.into_iter().map(|c| c.data_in).collect();
    let mut want: Vec<Vec<u8>> = (0..64u64).map(|i| pattern(i * 4, 4, 9)).collect();
    seen.sort();
    want.sort();
    assert_eq!(seen, want);
}

#[test]
fn tmr_entries_are_noted_and_commands_still_answered() {
    let (mut k, mut dev) = ram_device(1024);
    let a = k.submit(&read16(0, 1), DataDir::FromDevice(512)).unwrap();
    k.submit_tmr(gluster_tcmu::abi::tmr::ABORT_TASK, &[a])
        .unwrap();
    let b = k.submit(&read16(1, 1), DataDir::FromDevice(512)).unwrap();
    let done = run_until(&mut k, &mut dev, 2);
    assert_eq!(
        done.iter().map(|c| c.cmd_id).collect::<Vec<_>>(),
        vec![a, b]
    );
    assert_eq!(dev.stats().aborted, 1);
}

#[test]
fn malformed_entries_get_check_condition_and_the_ring_goes_on() {
    let (mut k, mut dev) = ram_device(1024);
    let data = pattern(0, 1, 3);
    let cases = [
        Corruption::IovBaseOutsideMap,
        Corruption::IovIntoCmdRing,
        Corruption::IovLenOverflow,
        Corruption::CdbOffOutsideMap,
        Corruption::IovCntTooLarge,
    ];
    for c in cases {
        k.submit_corrupt(&write16(0, 1, false), DataDir::ToDevice(&data), c)
            .unwrap();
        let done = run_until(&mut k, &mut dev, 1);
        assert_eq!(done[0].status, 2, "{c:?}");
        let s = sense_of(&done[0]);
        assert_eq!(
            (s.key, s.asc, s.ascq),
            (SenseKey::HardwareError, 0x44, 0x00),
            "{c:?}"
        );
    }
    k.submit_corrupt(
        &inquiry(36),
        DataDir::FromDevice(36),
        Corruption::UnknownOpcode(5),
    )
    .unwrap();
    let done = run_until(&mut k, &mut dev, 1);
    assert!(done[0].unknown_op);
    // The data the bad entries claimed was never written.
    k.submit(&read16(0, 1), DataDir::FromDevice(512)).unwrap();
    let done = run_until(&mut k, &mut dev, 1);
    assert_eq!(done[0].data_in, vec![0u8; 512]);
}

#[test]
fn emulated_commands_answer_through_the_ring() {
    let (mut k, mut dev) = ram_device(2048);
    k.submit(&inquiry(96), DataDir::FromDevice(96)).unwrap();
    k.submit(&read_capacity16(), DataDir::FromDevice(32))
        .unwrap();
    k.submit(&sync_cache10(), DataDir::None).unwrap();
    k.submit(&[0x02, 0, 0, 0, 0, 0], DataDir::None).unwrap();
    let mut done = run_until(&mut k, &mut dev, 4);
    // Emulated answers may overtake the flush, which goes through the backstore.
    done.sort_by_key(|c| c.cmd_id);
    assert_eq!(done[0].status, 0, "{:?}", Sense::decode(&done[0].sense));
    assert_eq!(done[0].data_in[0], 0x00, "direct-access block device");
    assert!(done[0].data_in.len() <= 96);
    assert_eq!(&done[1].data_in[0..8], &2047u64.to_be_bytes());
    assert_eq!(&done[1].data_in[8..12], &512u32.to_be_bytes());
    assert_eq!(done[2].status, 0, "{:?}", Sense::decode(&done[2].sense));
    assert_eq!(done[3].status, 2);
    let s = sense_of(&done[3]);
    assert_eq!(
        (s.key, s.asc, s.ascq),
        (SenseKey::IllegalRequest, 0x20, 0x00)
    );
}

fn write_same16(lba: u64, blocks: u32, unmap: bool) -> [u8; 16] {
    let mut c = write16(lba, blocks, false);
    c[0] = 0x93;
    c[1] = if unmap { 0x08 } else { 0 };
    c
}

fn unmap_cdb(param_len: u16) -> [u8; 10] {
    let mut c = [0u8; 10];
    c[0] = 0x42;
    c[7..9].copy_from_slice(&param_len.to_be_bytes());
    c
}

fn unmap_list(ranges: &[(u64, u32)]) -> Vec<u8> {
    let mut l = vec![0u8; 8];
    for (lba, n) in ranges {
        l.extend_from_slice(&lba.to_be_bytes());
        l.extend_from_slice(&n.to_be_bytes());
        l.extend_from_slice(&[0; 4]);
    }
    let n = l.len();
    l[0..2].copy_from_slice(&((n - 2) as u16).to_be_bytes());
    l[2..4].copy_from_slice(&((n - 8) as u16).to_be_bytes());
    l
}

#[test]
fn write_same_and_unmap_reach_the_backstore() {
    let (mut k, mut dev) = ram_device(8192);
    let data = pattern(0, 4096, 5);
    for i in 0..32u64 {
        let part = &data[(i * 128 * 512) as usize..((i + 1) * 128 * 512) as usize];
        k.submit(&write16(i * 128, 128, false), DataDir::ToDevice(part))
            .unwrap();
        run_until(&mut k, &mut dev, 1);
    }
    // A non-zero pattern over 3000 blocks (written in chunks from one buffer).
    let block: Vec<u8> = (0..512u32).map(|i| (i % 251) as u8 + 1).collect();
    k.submit(&write_same16(100, 3000, false), DataDir::ToDevice(&block))
        .unwrap();
    // Zeroes with UNMAP over blocks 3500..3600, and an UNMAP of two ranges.
    k.submit(
        &write_same16(3500, 100, true),
        DataDir::ToDevice(&[0u8; 512]),
    )
    .unwrap();
    let list = unmap_list(&[(10, 5), (4000, 96)]);
    k.submit(&unmap_cdb(list.len() as u16), DataDir::ToDevice(&list))
        .unwrap();
    let done = run_until(&mut k, &mut dev, 3);
    assert!(done.iter().all(|c| c.status == 0), "{done:?}");
    let mut got = Vec::new();
    for i in 0..32u64 {
        k.submit(&read16(i * 128, 128), DataDir::FromDevice(128 * 512))
            .unwrap();
        got.extend(run_until(&mut k, &mut dev, 1).pop().unwrap().data_in);
    }
    let mut want = data.clone();
    for b in 100..3100usize {
        want[b * 512..(b + 1) * 512].copy_from_slice(&block);
    }
    for b in (3500..3600).chain(10..15).chain(4000..4096) {
        want[b * 512..(b + 1) * 512].fill(0);
    }
    assert!(
        got == want,
        "WRITE SAME / UNMAP result differs from the model"
    );
}

#[test]
fn unmap_past_capacity_is_refused_without_touching_data() {
    let (mut k, mut dev) = ram_device(1024);
    let data = pattern(0, 8, 1);
    k.submit(&write16(1016, 8, false), DataDir::ToDevice(&data))
        .unwrap();
    let list = unmap_list(&[(1016, 16)]);
    k.submit(&unmap_cdb(list.len() as u16), DataDir::ToDevice(&list))
        .unwrap();
    let mut done = run_until(&mut k, &mut dev, 2);
    done.sort_by_key(|c| c.cmd_id);
    assert_eq!(done[1].status, 2);
    let s = sense_of(&done[1]);
    assert_eq!((s.key, s.asc), (SenseKey::IllegalRequest, 0x21));
    k.submit(&read16(1016, 8), DataDir::FromDevice(8 * 512))
        .unwrap();
    assert_eq!(run_until(&mut k, &mut dev, 1)[0].data_in, data);
}
