//! The `[glfs] client_io_threads` setting against a real glusterd: gt1 runs
//! `performance.client-io-threads on` (a one-brick volume's default, and the gluster-block
//! profile's), so its client graph has the io-threads translator. By default a connection
//! lets it queue every request for one of its worker threads; with `bypass` the reactor
//! winds each request itself and the workers (almost) never wake.
//!
//! A test binary of its own: it counts the wake-ups of every io-threads worker in the
//! process, which other tests' connections would add to. Needs tests/gluster/setup.sh's
//! gt1; never skips.
#![cfg(feature = "glfs")]

mod common;

use common::gluster::{HOST, Image, gluster, require_started, test_options, volume_key};
use common::*;
use gluster_tcmu::backstore::{GlfsBackstore, GlfsOptions};
use gluster_tcmu::glfs::ConnectOptions;
use gluster_tcmu::reactor::Reactor;
use gluster_tcmu::testing::DataDir;
use std::time::Duration;

/// Voluntary context switches of gfapi's io-threads workers (`glfs_iotwr*`) in this
/// process: a request queued to them wakes one.
fn io_thread_wakeups() -> u64 {
    let tasks = std::fs::read_dir("/proc/self/task").expect("/proc/self/task");
    let mut total = 0;
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if !comm.starts_with("glfs_iotwr") {
            continue;
        }
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        total += status
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0);
    }
    total
}

/// Wake-ups of the io-threads workers while 300 single-block reads go, one at a time,
/// through a LUN on a new connection to gt1 named by `server` (a spelling no other
/// connection uses, so this one is made with `bypass`).
fn wakeups_for_reads(server: &str, bypass: bool, reads: u64) -> u64 {
    let blocks = 2048;
    let path = Image::on(volume_key("gt1", HOST), &format!("t-iot-{bypass}"));
    let opts = GlfsOptions {
        connect: ConnectOptions {
            bypass_client_io_threads: bypass,
            ..test_options().connect
        },
        ..test_options()
    };
    let bs = GlfsBackstore::open_at(volume_key("gt1", server), &path, blocks * 512, &opts)
        .unwrap_or_else(|e| panic!("open gt1/{}: {e}", &*path));
    let (mut k, device) = device_with(Default::default(), lun(blocks), Box::new(bs));
    let reactor = Reactor::spawn("glfs-iot").unwrap();
    let id = reactor.add(device).unwrap();
    let before = io_thread_wakeups();
    for lba in 0..reads {
        k.submit(&read16(lba, 1), DataDir::FromDevice(512)).unwrap();
        assert!(
            k.wait_kick(Duration::from_secs(30)).unwrap(),
            "no answer in 30 s"
        );
        let done = k.reap().expect("protocol");
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].status, 0, "read {lba}");
    }
    let woken = io_thread_wakeups().saturating_sub(before);
    reactor.remove(id).unwrap();
    woken
}

#[test]
fn client_io_threads_are_used_by_default_and_passed_by_on_request() {
    require_started("gt1");
    let option = gluster(&["volume", "get", "gt1", "performance.client-io-threads"]);
    let on = option.lines().any(|l| {
        let mut words = l.split_whitespace();
        words.next() == Some("performance.client-io-threads") && words.next() == Some("on")
    });
    assert!(
        on,
        "gt1 must keep client io-threads on for this test:\n{option}"
    );
    let reads = 300;
    // Own server spellings (glusterd listens on every address): new connections.
    let bypassed = wakeups_for_reads("127.0.0.4", true, reads);
    assert!(
        bypassed < reads / 10,
        "with bypass, gfapi's io-threads workers woke {bypassed} times for {reads} reads"
    );
    let used = wakeups_for_reads("127.0.0.5", false, reads);
    assert!(
        used >= reads / 2,
        "by default each read goes through an io-threads worker: {used} wake-ups for {reads} reads"
    );
}
