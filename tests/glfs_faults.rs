//! Brick failures on the replica-3 volume gt3 (tests/gluster/setup.sh) under a running
//! LUN: one brick down is invisible, quorum loss answers BUSY and nothing else, and I/O
//! resumes on the same LUN once the bricks are back. A LUN taken over after a daemon
//! restart while its volfile server is away answers BUSY until the server returns (gt1).
//! Fails (never skips) without gt1 and gt3.
#![cfg(feature = "glfs")]

mod common;

use common::gluster::{
    HOST, brick_pid, gluster, relay_to_glusterd, require_started, test_options, volume_key,
    volume_key_at,
};
use common::model::*;
use common::*;
use gluster_tcmu::backstore::{GlfsBackstore, GlfsOptions};
use gluster_tcmu::reactor::Reactor;
use gluster_tcmu::testing::{Completed, DataDir, FakeKernel};
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

const BUSY: u8 = 0x08;

fn kill_brick(n: u32) {
    let pid = brick_pid("gt3", n);
    let pid = rustix::process::Pid::from_raw(pid).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::KILL).expect("kill brick");
    eprintln!("killed brick b{n} (pid {})", pid.as_raw_nonzero());
}

/// Waits until `n` completions arrived (the reactor serves the device).
fn collect(k: &mut FakeKernel, n: usize) -> Vec<Completed> {
    let mut got = Vec::new();
    while got.len() < n {
        assert!(
            k.wait_kick(Duration::from_secs(60)).unwrap(),
            "no answer in 60 s"
        );
        got.extend(k.reap().expect("protocol violation"));
    }
    got
}

/// Writes `seed`'s pattern at LBA 0 every `pause` until it succeeds; every other answer
/// must be BUSY, and success must come within `limit`. Returns how long it took.
fn write_until_served(k: &mut FakeKernel, seed: u64, limit: Duration, pause: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let c = write_once(k, 0, seed);
        if c.status == 0 {
            return start.elapsed();
        }
        assert_eq!(c.status, BUSY, "while waiting to be served: {c:?}");
        assert!(start.elapsed() < limit, "not served within {limit:?}");
        std::thread::sleep(pause);
    }
}

fn write_once(k: &mut FakeKernel, lba: u64, seed: u64) -> Completed {
    k.submit(
        &write16(lba, 64, false),
        DataDir::ToDevice(&pattern(lba, 64, seed)),
    )
    .unwrap();
    collect(k, 1).remove(0)
}

#[test]
fn replica3_survives_a_brick_answers_busy_without_quorum_and_resumes() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("gluster_tcmu=info")
        .with_test_writer()
        .try_init();
    // Start from a healthy volume (a previous failed run may have left bricks dead).
    gluster(&["volume", "start", "gt3", "force"]);
    std::thread::sleep(Duration::from_secs(2));
    let blocks = 8192;
    let key = volume_key("gt3", HOST);
    let path = format!("t-faults-{}.img", std::process::id());
    let bs = GlfsBackstore::open_at(key, &path, blocks * 512, &GlfsOptions::default())
        .unwrap_or_else(|e| panic!("open gt3/{path}: {e}: run tests/gluster/setup.sh"));
    let (mut k, device) = device_with(Default::default(), lun(blocks), Box::new(bs));
    let reactor = Reactor::spawn("glfs-faults").unwrap();
    let id = reactor.add(device).unwrap();
    let mut model = Model::new(blocks);
    let mut rng = Rng(0xfa17);
    run_model(&mut k, &mut model, 300, 16, &mut rng);

    // One brick of three down: quorum holds, the initiator sees nothing.
    kill_brick(1);
    std::thread::sleep(Duration::from_secs(1));
    run_model(&mut k, &mut model, 600, 16, &mut rng);

    // Two down: quorum lost. Writes must be BUSY; no write may report success and no
    // command may fail any other way. Reads are BUSY or return the acknowledged data.
    kill_brick(2);
    std::thread::sleep(Duration::from_secs(2));
    let (mut busy, start) = (0, Instant::now());
    while start.elapsed() < Duration::from_secs(6) {
        let c = write_once(&mut k, 0, 0xdead);
        assert_eq!(c.status, BUSY, "write without quorum answered {c:?}");
        busy += 1;
        k.submit(&read16(1024, 64), DataDir::FromDevice(64 * 512))
            .unwrap();
        let c = collect(&mut k, 1).remove(0);
        match c.status {
            BUSY => busy += 1,
            0 => assert!(
                c.data_in == model.bytes[1024 * 512..1088 * 512],
                "stale read"
            ),
            _ => panic!("read without quorum answered {c:?}"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("quorum lost: {busy} commands answered BUSY");

    // Bricks back: the same LUN serves again, with no re-creation.
    gluster(&["volume", "start", "gt3", "force"]);
    let took = write_until_served(
        &mut k,
        0xbeef,
        Duration::from_secs(90),
        Duration::from_millis(250),
    );
    eprintln!("writes succeed again {took:?} after the bricks restarted");
    model.bytes[..64 * 512].copy_from_slice(&pattern(0, 64, 0xbeef));
    run_model(&mut k, &mut model, 600, 16, &mut rng);
    let device = reactor.remove(id).unwrap();
    assert_eq!(device.backstore_in_flight(), 0);
    let _ = Command::new("gluster")
        .args(["--mode=script", "volume", "heal", "gt3"])
        .output();
}

#[test]
fn a_lun_taken_over_while_its_server_is_away_answers_busy_until_it_returns() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("gluster_tcmu=info")
        .with_test_writer()
        .try_init();
    require_started("gt1");
    // A port nobody listens on yet: the LUN's volfile server is down.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let key = volume_key_at("gt1", "127.0.0.1", port);
    let mut opts = test_options();
    opts.connect.deadline = Duration::from_secs(5);
    opts.retry_min = Duration::from_millis(200);
    opts.retry_max = Duration::from_secs(1);
    let blocks = 2048;
    let path = format!("t-takeover-{}.img", std::process::id());
    let mut bs = GlfsBackstore::open_or_reconnect_at(key, &path, blocks * 512, &opts)
        .expect("a LUN taken over opens without its server");
    assert!(bs.is_reconnecting(), "no server, yet the LUN is connected");
    let (mut k, device) = device_with(Default::default(), lun(blocks), Box::new(bs));
    let reactor = Reactor::spawn("glfs-takeover").unwrap();
    let id = reactor.add(device).unwrap();

    assert!(
        reactor.stats(id).unwrap().reconnecting,
        "list and metrics say so"
    );
    // Commands the LUN answers itself still work; I/O is BUSY, nothing else.
    k.submit(&read_capacity16(), DataDir::FromDevice(32))
        .unwrap();
    let c = collect(&mut k, 1).remove(0);
    assert_eq!(c.status, 0, "READ CAPACITY while reconnecting: {c:?}");
    for _ in 0..5 {
        let c = write_once(&mut k, 0, 0x7a4e);
        assert_eq!(c.status, BUSY, "write without a server answered {c:?}");
        std::thread::sleep(Duration::from_millis(100));
    }

    // The server appears on that port: the LUN connects and serves, not re-created.
    relay_to_glusterd(
        TcpListener::bind(("127.0.0.1", port)).expect("the port is still free"),
        Duration::ZERO,
    );
    let took = write_until_served(
        &mut k,
        0x7a4e,
        Duration::from_secs(60),
        Duration::from_millis(100),
    );
    eprintln!("served {took:?} after the server appeared");
    assert!(!reactor.stats(id).unwrap().reconnecting, "serving again");
    k.submit(&read16(0, 64), DataDir::FromDevice(64 * 512))
        .unwrap();
    let c = collect(&mut k, 1).remove(0);
    assert_eq!(c.status, 0, "read back: {c:?}");
    assert!(
        c.data_in == pattern(0, 64, 0x7a4e),
        "read back other data than written"
    );
    let device = reactor.remove(id).unwrap();
    assert_eq!(device.backstore_in_flight(), 0);
}
