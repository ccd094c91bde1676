//! Random mixed I/O through fake kernel + reactor + RAM backstore, checked against a
//! model disk; and LBA/length at and past the capacity.

mod common;

use common::model::*;
use common::*;
use gluster_tcmu::reactor::{Reactor, ReactorOptions};
use gluster_tcmu::scsi::SenseKey;
use gluster_tcmu::testing::DataDir;
use gluster_tcmu::uring::Uring;
use proptest::prelude::*;
use std::time::Duration;

#[test]
fn ten_thousand_random_commands_match_the_model_disk() {
    let blocks = 8192;
    let (mut k, device) = ram_device(blocks);
    let reactor = Reactor::spawn("model-reactor").unwrap();
    let id = reactor.add(device).unwrap();
    let mut model = Model::new(blocks);
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for depth in [1, 32, 128] {
        run_model(&mut k, &mut model, 3400, depth, &mut rng);
    }
    let stats = reactor.stats(id).unwrap();
    assert_eq!(stats.commands, 3 * 3400 + 1, "plus the TEST UNIT READY");
    let device = reactor.remove(id).unwrap();
    assert_eq!(device.outstanding(), 0);
}

#[test]
fn busy_polling_reactor_matches_the_model() {
    let blocks = 8192;
    let (mut k, device) = ram_device(blocks);
    let options = ReactorOptions {
        busy_poll: Duration::from_micros(200),
        ..Default::default()
    };
    let reactor = Reactor::spawn_with("busy-reactor", options).unwrap();
    let id = reactor.add(device).unwrap();
    let mut model = Model::new(blocks);
    let mut rng = Rng(0x5eed_1234_abcd_0002);
    for depth in [1, 32] {
        run_model(&mut k, &mut model, 2000, depth, &mut rng);
    }
    reactor.remove(id).unwrap();
}

/// A polling reactor serving file LUNs, on tmpfs (every request goes to io_uring's
/// workers, so the reactor sleeps instead of spinning) and on the temp directory's file
/// system (page-cache reads complete inline, so it spins): both match the model, and the
/// file holds what the model holds.
#[test]
fn busy_polling_reactor_with_file_luns_matches_the_model() {
    let options = ReactorOptions {
        busy_poll: Duration::from_micros(200),
        ..Default::default()
    };
    file_luns_match_the_model("busy-file", options, 0x5eed_1234_abcd_0003, &[1, 32]);
}

/// A file LUN of `blocks` blocks at `path`, with its fake kernel.
fn file_device(
    path: &std::path::Path,
    blocks: u64,
) -> (
    gluster_tcmu::testing::FakeKernel,
    gluster_tcmu::device::Device,
) {
    let opts = gluster_tcmu::backstore::FileOptions::default();
    let file = gluster_tcmu::backstore::FileBackstore::open(path, blocks * 512, &opts).unwrap();
    device_with(Default::default(), lun(blocks), Box::new(file))
}

/// A reactor named `name` with `options` serves a file LUN in the temp directory and
/// one on /dev/shm, 1,500 random commands at each of `depths`: every answer matches the
/// model, nothing is left in flight at removal, and the file holds what the model holds.
fn file_luns_match_the_model(name: &str, options: ReactorOptions, seed: u64, depths: &[usize]) {
    let blocks = 4096;
    let tmp = tempfile::tempdir().unwrap();
    let shm = tempfile::tempdir_in("/dev/shm").unwrap();
    for dir in [tmp.path(), shm.path()] {
        let path = dir.join("lun.img");
        let (mut k, device) = file_device(&path, blocks);
        let reactor = Reactor::spawn_with(name, options).unwrap();
        let id = reactor.add(device).unwrap();
        let mut model = Model::new(blocks);
        let mut rng = Rng(seed);
        for &depth in depths {
            run_model(&mut k, &mut model, 1500, depth, &mut rng);
        }
        let device = reactor.remove(id).unwrap();
        assert_eq!(device.outstanding(), 0);
        assert!(
            std::fs::read(&path).unwrap() == model.bytes,
            "{}: file differs from the model",
            path.display()
        );
    }
}

/// A reactor that gathers completions, serving file LUNs on tmpfs (small requests are
/// marked and gathered) and on the temp directory's file system (none is): mixed sizes
/// of 512 B to 32 KiB, flushes included, match the model and the file holds what the
/// model holds.
#[test]
fn gathering_reactor_with_file_luns_matches_the_model() {
    let options = ReactorOptions {
        gather: Duration::from_micros(100),
        ..Default::default()
    };
    file_luns_match_the_model("gather-file", options, 0x5eed_1234_abcd_0004, &[1, 32, 128]);
}

/// A batch of 32 small reads of a tmpfs file, rung in with one doorbell, comes back
/// whole with the reactor's first kick: the reactor waited for io_uring's workers to
/// finish them all instead of answering each as it arrived.
#[test]
fn gathering_reactor_answers_a_tmpfs_batch_with_one_kick() {
    let shm = tempfile::tempdir_in("/dev/shm").unwrap();
    let (mut k, device) = file_device(&shm.path().join("lun.img"), 4096);
    let options = ReactorOptions {
        gather: Duration::from_millis(100),
        ..Default::default()
    };
    let reactor = Reactor::spawn_with("gather-batch", options).unwrap();
    let id = reactor.add(device).unwrap();
    let quiet = gluster_tcmu::testing::SubmitOpts::quiet();
    for round in 0..20u64 {
        for i in 0..32 {
            let lba = (round * 32 + i) % 4096;
            k.submit_with(&read16(lba, 8), DataDir::FromDevice(4096), quiet)
                .unwrap();
        }
        k.notify();
        assert!(k.wait_kick(Duration::from_secs(5)).unwrap());
        let done = k.reap().unwrap();
        assert_eq!(done.len(), 32, "round {round}: answered in pieces");
        assert!(done.iter().all(|c| c.status == 0));
    }
    reactor.remove(id).unwrap();
}

/// Right after a busy turn a polling reactor finds new commands in the ring by itself,
/// without the doorbell. Each round submits one command with the doorbell, then one
/// without; scheduling may make a round miss the window (the doorbell is rung then), but
/// a reactor that does not poll misses every one.
#[test]
fn busy_polling_reactor_finds_commands_without_the_doorbell() {
    let (mut k, device) = ram_device(64);
    let options = ReactorOptions {
        busy_poll: Duration::from_millis(10),
        ..Default::default()
    };
    let reactor = Reactor::spawn_with("busy-doorbell", options).unwrap();
    let id = reactor.add(device).unwrap();
    let quiet = gluster_tcmu::testing::SubmitOpts::quiet();
    let mut found = 0;
    for _ in 0..20 {
        k.submit(&read16(0, 1), DataDir::FromDevice(512)).unwrap();
        assert!(k.wait_kick(Duration::from_secs(5)).unwrap());
        assert_eq!(k.reap().unwrap().len(), 1);
        k.submit_with(&read16(1, 1), DataDir::FromDevice(512), quiet)
            .unwrap();
        if k.wait_kick(Duration::from_millis(200)).unwrap() {
            found += 1;
        } else {
            k.notify();
            assert!(k.wait_kick(Duration::from_secs(5)).unwrap());
        }
        assert_eq!(k.reap().unwrap()[0].status, 0);
    }
    assert!(
        found > 0,
        "no command found without its doorbell in 20 rounds"
    );
    reactor.remove(id).unwrap();
}

/// Where the kernel has multishot polls, a reactor watches each doorbell with one: it
/// serves every batch without the read that clears the doorbell (a syscall per batch on
/// `/dev/uioN`), so every notification the kernel sent is still unread at the end. On an
/// older kernel it reads each one, as a one-shot poll needs.
#[test]
fn a_reactor_serves_every_batch_without_reading_the_doorbell() {
    let (mut k, device) = ram_device(64);
    assert_eq!(
        k.unread_notifications().unwrap(),
        0,
        "the set-up read its own"
    );
    let reactor = Reactor::spawn("unread-doorbell").unwrap();
    let id = reactor.add(device).unwrap();
    let rounds = 20;
    for lba in 0..rounds {
        k.submit(&read16(lba, 1), DataDir::FromDevice(512)).unwrap();
        assert!(k.wait_kick(Duration::from_secs(5)).unwrap(), "round {lba}");
        assert_eq!(k.reap().unwrap()[0].status, 0);
    }
    let multishot = Uring::new(8, 16).unwrap().polls_multishot();
    let unread = k.unread_notifications().unwrap();
    assert_eq!(
        unread,
        if multishot { rounds } else { 0 },
        "multishot: {multishot}"
    );
    reactor.remove(id).unwrap();
}

/// A device whose ring turns impossible (a `cmd_head` off the ring) stops being served
/// and its doorbell is no longer watched, while the reactor goes on serving its other
/// devices; the broken one is still handed back when removed.
#[test]
fn a_broken_device_leaves_the_reactor_serving_the_others() {
    let (bad_k, bad) = ram_device(64);
    let (mut good_k, good) = ram_device(64);
    let reactor = Reactor::spawn("broken-device").unwrap();
    let bad_id = reactor.add(bad).unwrap();
    let good_id = reactor.add(good).unwrap();
    let head = gluster_tcmu::abi::mailbox_off::CMD_HEAD as u64;
    bad_k.region().write_u32(head, 3).unwrap();
    for lba in 0..10 {
        bad_k.notify();
        good_k
            .submit(&read16(lba, 1), DataDir::FromDevice(512))
            .unwrap();
        assert!(
            good_k.wait_kick(Duration::from_secs(5)).unwrap(),
            "round {lba}"
        );
        assert_eq!(good_k.reap().unwrap()[0].status, 0);
    }
    assert!(!bad_k.wait_kick(Duration::from_millis(50)).unwrap());
    let bad = reactor.remove(bad_id).unwrap();
    assert_eq!(bad.outstanding(), 0);
    reactor.remove(good_id).unwrap();
}

/// A polling reactor also finds finished requests of a notifier-driven backstore without
/// the notifier: this backstore never signals it unless the test does. Each round sends
/// one read; a round that misses the window is rescued by signalling, but a reactor that
/// does not poll is rescued every round.
#[test]
fn busy_polling_reactor_finds_backstore_completions_without_the_notifier() {
    let blocks = 64;
    let backstore = Delayed::silent(blocks * 512, Duration::from_micros(200));
    let event = backstore.event();
    let (mut k, device) = device_with(Default::default(), lun(blocks), Box::new(backstore));
    let options = ReactorOptions {
        busy_poll: Duration::from_millis(20),
        ..Default::default()
    };
    let reactor = Reactor::spawn_with("busy-notifier", options).unwrap();
    let id = reactor.add(device).unwrap();
    let mut found = 0;
    for _ in 0..20 {
        k.submit(&read16(0, 1), DataDir::FromDevice(512)).unwrap();
        if k.wait_kick(Duration::from_millis(200)).unwrap() {
            found += 1;
        } else {
            Delayed::signal(&event);
            assert!(k.wait_kick(Duration::from_secs(5)).unwrap());
        }
        let done = k.reap().unwrap();
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].status, 0);
    }
    assert!(
        found > 0,
        "no completion found without the notifier in 20 rounds"
    );
    reactor.remove(id).unwrap();
}

#[test]
fn stepped_device_matches_the_model() {
    let blocks = 8192;
    let (mut k, mut device) = ram_device(blocks);
    let mut model = Model::new(blocks);
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for depth in [1, 32, 128] {
        run_model_with(&mut k, &mut model, 3400, depth, &mut rng, &mut |_| {
            step(&mut device)
        });
    }
}

#[test]
fn asynchronous_backstore_through_the_reactor_matches_the_model() {
    let blocks = 4096;
    let backstore = Delayed::new(blocks * 512, Duration::from_micros(50));
    let (mut k, device) = device_with(Default::default(), lun(blocks), Box::new(backstore));
    let reactor = Reactor::spawn("async-reactor").unwrap();
    let id = reactor.add(device).unwrap();
    run_model(&mut k, &mut Model::new(blocks), 2000, 64, &mut Rng(77));
    reactor.remove(id).unwrap();
}

#[test]
fn file_backstore_through_the_reactor_matches_the_model() {
    let blocks = 8192;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lun.img");
    let (mut k, device) = file_device(&path, blocks);
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        blocks * 512,
        "sized sparsely at open"
    );
    let reactor = Reactor::spawn("file-reactor").unwrap();
    let id = reactor.add(device).unwrap();
    let mut model = Model::new(blocks);
    run_model(&mut k, &mut model, 4000, 32, &mut Rng(99));
    reactor.remove(id).unwrap();
    // What the initiator was told is on disk really is in the file.
    assert!(
        std::fs::read(&path).unwrap() == model.bytes,
        "file content differs from the model"
    );
}

#[test]
fn removing_a_device_with_backstore_io_in_flight_waits_for_it() {
    let blocks = 1024;
    let backstore = Delayed::new(blocks * 512, Duration::from_millis(20));
    let (mut k, device) = device_with(Default::default(), lun(blocks), Box::new(backstore));
    let reactor = Reactor::spawn("remove-reactor").unwrap();
    let id = reactor.add(device).unwrap();
    for i in 0..16 {
        k.submit(
            &write16(i * 8, 8, false),
            DataDir::ToDevice(&pattern(i * 8, 8, 1)),
        )
        .unwrap();
    }
    // Give the reactor time to pick the commands up, then remove while they are in flight.
    std::thread::sleep(Duration::from_millis(30));
    let device = reactor.remove(id).unwrap();
    assert_eq!(
        device.backstore_in_flight(),
        0,
        "region released before I/O finished"
    );
    // Commands still unanswered in the ring are the kernel's to fail; the handler does
    // not crash and the reactor keeps serving others.
    let (mut k2, d2) = ram_device(64);
    let id2 = reactor.add(d2).unwrap();
    k2.submit(&read16(0, 1), DataDir::FromDevice(512)).unwrap();
    assert!(k2.wait_kick(Duration::from_secs(5)).unwrap());
    assert_eq!(k2.reap().unwrap()[0].status, 0);
    reactor.remove(id2).unwrap();
    drop(k);
}

/// A device whose ring breaks (the kernel published an impossible `cmd_head`) while its
/// backstore still has requests in flight is handed back once they are done: removal does
/// not wait for completions that nobody reaps (the kernel would wait for the REMOVED event's
/// answer for ever).
#[test]
fn removing_a_device_broken_with_backstore_io_in_flight_returns() {
    let blocks = 1024;
    let backstore = Delayed::new(blocks * 512, Duration::from_millis(300));
    let (mut k, device) = device_with(Default::default(), lun(blocks), Box::new(backstore));
    let reactor = Reactor::spawn("broken-reactor").unwrap();
    let id = reactor.add(device).unwrap();
    for i in 0..8 {
        k.submit(
            &write16(i * 8, 8, false),
            DataDir::ToDevice(&pattern(i * 8, 8, 1)),
        )
        .unwrap();
    }
    // The TUR that cleared the power-on attention counts too.
    await_stats(&reactor, id, |s| s.commands >= 9);
    k.region()
        .write_u32(gluster_tcmu::abi::mailbox_off::CMD_HEAD as u64, 3)
        .unwrap();
    k.notify();
    await_stats(&reactor, id, |s| s.stopped);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let device = reactor.remove(id).map(|d| d.backstore_in_flight());
        let _ = tx.send(device);
    });
    let in_flight = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("removing the broken device never returned");
    assert_eq!(in_flight.unwrap(), 0, "handed back with I/O in flight");
}

/// Waits (up to 30 s) until the device's counters satisfy `ready`.
fn await_stats(
    reactor: &Reactor,
    id: gluster_tcmu::reactor::DeviceId,
    ready: impl Fn(&gluster_tcmu::device::DeviceStats) -> bool,
) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let stats = reactor.stats(id).unwrap();
        if ready(&stats) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never reached: {stats:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A file LUN in a reactor submits on the reactor's ring (it has no notifier of its
/// own there); removed with writes in flight it comes back only when they are done, and
/// then serves again on a private ring, driven by hand, with the data the reactor wrote.
#[test]
fn file_lun_uses_the_reactor_ring_and_leaves_it_cleanly() {
    let blocks = 8192;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lun.img");
    let (mut k, device) = file_device(&path, blocks);
    assert!(
        device.backstore_fd().is_some(),
        "private ring before the reactor"
    );
    let reactor = Reactor::spawn("file-ring-reactor").unwrap();
    let id = reactor.add(device).unwrap();
    let notifier = reactor
        .with_device(id, |d| d.map(|d| d.backstore_fd().is_some()))
        .unwrap();
    assert_eq!(notifier, Some(false), "submits on the reactor's ring");
    for i in 0..32 {
        k.submit_with(
            &write16(i * 128, 128, false),
            DataDir::ToDevice(&pattern(i * 128, 128, 5)),
            gluster_tcmu::testing::SubmitOpts::quiet(),
        )
        .unwrap();
    }
    k.notify();
    std::thread::sleep(Duration::from_millis(5));
    let mut device = reactor.remove(id).unwrap();
    assert_eq!(
        device.backstore_in_flight(),
        0,
        "released with I/O in flight"
    );
    let mut done = k.reap().unwrap();
    done.extend(run_until(&mut k, &mut device, 32 - done.len()));
    assert!(done.iter().all(|c| c.status == 0), "{done:?}");
    k.submit(&read16(31 * 128, 128), DataDir::FromDevice(128 * 512))
        .unwrap();
    let c = run_until(&mut k, &mut device, 1).pop().unwrap();
    assert_eq!(c.status, 0);
    assert_eq!(c.data_in, pattern(31 * 128, 128, 5));
}

#[test]
fn removing_a_device_with_unread_commands_returns_promptly() {
    let (mut k, device) = ram_device(64);
    let reactor = Reactor::spawn("unread-reactor").unwrap();
    let id = reactor.add(device).unwrap();
    k.submit_with(
        &read16(0, 1),
        DataDir::FromDevice(512),
        gluster_tcmu::testing::SubmitOpts::quiet(),
    )
    .unwrap();
    let device = reactor.remove(id).unwrap();
    assert!(device.outstanding() <= 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Transfers inside the capacity succeed; any block past it is LBA OUT OF RANGE.
    #[test]
    fn transfers_at_and_past_capacity(
        back in 0u64..80,
        blocks in 0u32..64,
        write in any::<bool>(),
    ) {
        let capacity = 1000u64;
        let lba = (capacity + 16).saturating_sub(back);
        let (mut k, mut dev) = ram_device(capacity);
        let data = vec![0xa5u8; (blocks * BLOCK) as usize];
        if write {
            k.submit(&write16(lba, blocks, false), DataDir::ToDevice(&data)).unwrap();
        } else {
            k.submit(&read16(lba, blocks), DataDir::FromDevice(data.len())).unwrap();
        }
        let c = run_until(&mut k, &mut dev, 1).pop().unwrap();
        if lba + u64::from(blocks) <= capacity {
            prop_assert_eq!(c.status, 0);
        } else {
            prop_assert_eq!(c.status, 2);
            let s = sense_of(&c);
            prop_assert_eq!((s.key, s.asc, s.ascq), (SenseKey::IllegalRequest, 0x21, 0x00));
        }
    }
}

/// tcmu-runner's `tcmur_cmd_time_out=N` config-string option: a command that spent longer
/// than N in the handler is counted (and logged) as late when it is answered; the answer
/// itself is unchanged, as in tcmu-runner.
#[test]
fn commands_slower_than_the_handler_time_out_are_counted_late() {
    let blocks = 1024;
    for (late_after, expected) in [(Duration::from_millis(40), 2), (Duration::from_secs(5), 0)] {
        let backstore = Delayed::new(blocks * 512, Duration::from_millis(120));
        let (mut k, mut device) = device_with(Default::default(), lun(blocks), Box::new(backstore));
        device.set_late_after(Some(late_after));
        for i in 0..2 {
            k.submit(
                &write16(i * 8, 8, false),
                DataDir::ToDevice(&pattern(i * 8, 8, 1)),
            )
            .unwrap();
        }
        let reactor = Reactor::spawn("late-reactor").unwrap();
        let id = reactor.add(device).unwrap();
        // The TUR that cleared the power-on attention counts as a command too.
        await_stats(&reactor, id, |s| s.commands == 3 && s.latency.count == 2);
        let mut done = Vec::new();
        while done.len() < 2 && k.wait_kick(Duration::from_secs(5)).unwrap() {
            done.extend(k.reap().unwrap());
        }
        let statuses: Vec<u8> = done.iter().map(|c| c.status).collect();
        assert_eq!(statuses, [0, 0], "answers unchanged");
        let stats = reactor.stats(id).unwrap();
        assert_eq!(stats.late, expected, "late after {late_after:?}");
    }
}
