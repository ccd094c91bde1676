//! Brick failures on the replica-3 volume gt3 (tests/gluster/setup.sh) under a running
//! LUN: one brick down is invisible, quorum loss answers BUSY and nothing else, and I/O
//! resumes on the same LUN once the bricks are back; a hung brick (SIGSTOP) only delays
//! writes until the ping-timeout; a volfile change (a translator toggled) moves running
//! LUNs to a new connection without an error or a BUSY. A LUN taken over after a daemon
//! restart while its volfile server is away answers BUSY until the server returns (gt1).
//! Fails (never skips) without gt1 and gt3.
#![cfg(feature = "glfs")]

mod common;

use common::gluster::{
    HOST, Image, brick_pid, gluster, relay_to_glusterd, require_started, test_options, volume_key,
    volume_key_at,
};
use common::model::*;
use common::*;
use gluster_tcmu::backstore::{GlfsBackstore, GlfsOptions};
use gluster_tcmu::glfs::{ConnectionPool, VolumeKey};
use gluster_tcmu::reactor::Reactor;
use gluster_tcmu::testing::{Completed, DataDir, FakeKernel};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

const BUSY: u8 = 0x08;

/// The tests that stop or kill gt3's bricks run one at a time.
static GT3: Mutex<()> = Mutex::new(());

fn signal_brick(n: u32, signal: rustix::process::Signal) {
    let pid = brick_pid("gt3", n);
    let pid = rustix::process::Pid::from_raw(pid).expect("pid");
    rustix::process::kill_process(pid, signal).expect("signal brick");
    eprintln!("{signal:?} to brick b{n} (pid {})", pid.as_raw_nonzero());
}

fn kill_brick(n: u32) {
    signal_brick(n, rustix::process::Signal::KILL);
}

/// Asks glusterd to heal gt3 (a failure is not the test's business: the checks that
/// follow say whether the data is right).
fn heal_gt3() {
    let _ = Command::new("gluster")
        .args(["--mode=script", "volume", "heal", "gt3"])
        .output();
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

/// A LUN on gt3 served by its own reactor, while this test has the bricks to itself.
struct Gt3Lun {
    k: FakeKernel,
    reactor: Reactor,
    id: gluster_tcmu::reactor::DeviceId,
    model: Model,
    rng: Rng,
    /// Removed once the reactor (and with it the LUN's file) is gone.
    _image: Image,
    _bricks: MutexGuard<'static, ()>,
}

const GT3_BLOCKS: u64 = 8192;

/// Starts every brick of gt3 (a previous failed run may have left some dead), serves a
/// new image `name`-PID.img on it and runs 300 commands of the model (seeded `seed`).
fn gt3_lun(name: &str, seed: u64) -> Gt3Lun {
    gt3_lun_with(name, seed, volume_key("gt3", HOST), GlfsOptions::default())
}

/// [`gt3_lun`] through `key`'s servers, with `opts`.
fn gt3_lun_with(name: &str, seed: u64, key: VolumeKey, opts: GlfsOptions) -> Gt3Lun {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("gluster_tcmu=info")
        .with_test_writer()
        .try_init();
    let bricks = GT3.lock().unwrap_or_else(PoisonError::into_inner);
    gluster(&["volume", "start", "gt3", "force"]);
    std::thread::sleep(Duration::from_secs(2));
    let path = Image::on(key.clone(), name);
    let size = GT3_BLOCKS * 512;
    let bs = GlfsBackstore::open_at(key, &path, size, &opts)
        .unwrap_or_else(|e| panic!("open gt3/{path}: {e}: run tests/gluster/setup.sh"));
    let (mut k, device) = device_with(Default::default(), lun(GT3_BLOCKS), Box::new(bs));
    let reactor = Reactor::spawn(name).unwrap();
    let id = reactor.add(device).unwrap();
    let (mut model, mut rng) = (Model::new(GT3_BLOCKS), Rng(seed));
    run_model(&mut k, &mut model, 300, 16, &mut rng);
    Gt3Lun {
        k,
        reactor,
        id,
        model,
        rng,
        _image: path,
        _bricks: bricks,
    }
}

#[test]
fn replica3_survives_a_brick_answers_busy_without_quorum_and_resumes() {
    let mut t = gt3_lun("t-faults", 0xfa17);

    // One brick of three down: quorum holds, the initiator sees nothing.
    kill_brick(1);
    std::thread::sleep(Duration::from_secs(1));
    run_model(&mut t.k, &mut t.model, 600, 16, &mut t.rng);

    // Two down: quorum lost. Writes must be BUSY; no write may report success and no
    // command may fail any other way. Reads are BUSY or return the acknowledged data.
    kill_brick(2);
    std::thread::sleep(Duration::from_secs(2));
    let (mut busy, start) = (0, Instant::now());
    while start.elapsed() < Duration::from_secs(6) {
        let c = write_once(&mut t.k, 0, 0xdead);
        assert_eq!(c.status, BUSY, "write without quorum answered {c:?}");
        busy += 1;
        t.k.submit(&read16(1024, 64), DataDir::FromDevice(64 * 512))
            .unwrap();
        let c = collect(&mut t.k, 1).remove(0);
        match c.status {
            BUSY => busy += 1,
            0 => assert!(
                c.data_in == t.model.bytes[1024 * 512..1088 * 512],
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
        &mut t.k,
        0xbeef,
        Duration::from_secs(90),
        Duration::from_millis(250),
    );
    eprintln!("writes succeed again {took:?} after the bricks restarted");
    t.model.bytes[..64 * 512].copy_from_slice(&pattern(0, 64, 0xbeef));
    run_model(&mut t.k, &mut t.model, 600, 16, &mut t.rng);
    let device = t.reactor.remove(t.id).unwrap();
    assert_eq!(device.backstore_in_flight(), 0);
    heal_gt3();
}

/// A brick that hangs (SIGSTOP: a stuck disk, a frozen host) rather than dies: the
/// client gives up on it after gt3's `network.ping-timeout` (5 s), and until then the
/// writes it holds wait. Every command still ends GOOD with the right data, none is lost,
/// and once the brick resumes (stale) and is healed, reads still return what was written.
#[test]
fn a_hung_brick_delays_writes_by_the_ping_timeout_and_loses_nothing() {
    let mut t = gt3_lun("t-hung", 0x57);

    signal_brick(3, rustix::process::Signal::STOP);
    let mut longest = Duration::ZERO;
    let mut patient = |k: &mut FakeKernel| {
        let t = Instant::now();
        assert!(
            k.wait_kick(Duration::from_secs(60)).unwrap(),
            "no answer within 60 s of a hung brick"
        );
        longest = longest.max(t.elapsed());
    };
    run_model_with(&mut t.k, &mut t.model, 600, 16, &mut t.rng, &mut patient);
    eprintln!("brick b3 hung: 600 commands GOOD, longest wait {longest:?}");
    signal_brick(3, rustix::process::Signal::CONT);
    std::thread::sleep(Duration::from_secs(3));
    heal_gt3();
    run_model(&mut t.k, &mut t.model, 600, 16, &mut t.rng);
    let device = t.reactor.remove(t.id).unwrap();
    assert_eq!(device.backstore_in_flight(), 0);
}

/// Sets a gt3 option for as long as it lives, then puts the old value back.
struct VolumeOption(&'static str, &'static str);

impl Drop for VolumeOption {
    fn drop(&mut self) {
        gluster(&["volume", "set", "gt3", self.0, self.1]);
    }
}

/// Toggling a translator (`performance.quick-read`) changes the volfile. gfapi would
/// build a new graph and switch the open file to it under the requests in flight,
/// which in gfapi 10 frees the file's fd once per such request (gluster/glusterfs#4799;
/// this test crashed the process in 2 runs of 8 that way). Instead the LUN moves to a
/// connection built from the new volfile: four toggles, each followed by a move, and
/// every command GOOD with the model's data, none answered BUSY.
#[test]
fn volfile_changes_move_the_lun_to_a_new_connection_without_an_error() {
    // A connection of its own (glusterd listens on every address).
    let key = volume_key("gt3", "127.0.0.1");
    let mut t = gt3_lun_with("t-graph", 0x9a, key.clone(), GlfsOptions::default());
    let _restore = VolumeOption("performance.quick-read", "off");
    let first = ConnectionPool::global()
        .generation(&key)
        .expect("connected");
    for (n, value) in (1..).zip(["on", "off", "on", "off"]) {
        gluster(&["volume", "set", "gt3", "performance.quick-read", value]);
        let start = Instant::now();
        while ConnectionPool::global().generation(&key) < Some(first + n) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no connection from the volfile with quick-read {value} after 30 s"
            );
            run_model(&mut t.k, &mut t.model, 100, 16, &mut t.rng);
        }
        eprintln!("moved to generation {n} after {:?}", start.elapsed());
        run_model(&mut t.k, &mut t.model, 300, 16, &mut t.rng);
        assert_eq!(
            ConnectionPool::global().users(&key),
            1,
            "the LUN's file is the new connection's only user once the move is done"
        );
    }
    let device = t.reactor.remove(t.id).unwrap();
    assert_eq!(device.backstore_in_flight(), 0);
    assert!(
        device.stats().health.connection_moves >= 4,
        "one move per change, counted for metrics: {:?}",
        device.stats().health.connection_moves
    );
}

/// A LUN with nothing to do moves too: the watch wakes it when the volume changes, and
/// its old connection (a whole gfapi graph) is let go without waiting for a command.
#[test]
fn an_idle_lun_moves_off_a_changed_volume_without_a_command() {
    // A connection of its own (glusterd listens on every loopback address).
    let key = volume_key("gt3", "127.0.0.3");
    let mut t = gt3_lun_with("t-idle", 0x1d, key.clone(), GlfsOptions::default());
    run_model(&mut t.k, &mut t.model, 100, 16, &mut t.rng);
    let first = ConnectionPool::global()
        .generation(&key)
        .expect("connected");
    let _restore = VolumeOption("performance.quick-read", "off");
    gluster(&["volume", "set", "gt3", "performance.quick-read", "on"]);
    let start = Instant::now();
    let moves = |t: &Gt3Lun| {
        t.reactor
            .stats(t.id)
            .expect("stats")
            .health
            .connection_moves
    };
    while moves(&t) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the idle LUN did not move within 30 s (generation {:?}, was {first})",
            ConnectionPool::global().generation(&key)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("the idle LUN moved after {:?}", start.elapsed());
    assert!(ConnectionPool::global().generation(&key) > Some(first));
    assert_eq!(
        ConnectionPool::global().users(&key),
        1,
        "the LUN's file is on the new connection, the old one let go"
    );
    run_model(&mut t.k, &mut t.model, 300, 16, &mut t.rng);
    assert_eq!(t.reactor.remove(t.id).unwrap().backstore_in_flight(), 0);
}

/// Two LUNs on one volume both move when its volfile changes, and share the one new
/// connection, as they shared the old one.
#[test]
fn luns_of_one_volume_move_together_to_one_new_connection() {
    // Its own server spelling, so no other test's LUNs are counted.
    let key = volume_key("gt3", "localhost");
    let mut a = gt3_lun_with("t-move-a", 0x31, key.clone(), GlfsOptions::default());
    let path = Image::on(key.clone(), "t-move-b");
    let opts = GlfsOptions::default();
    let bs = GlfsBackstore::open_at(key.clone(), &path, GT3_BLOCKS * 512, &opts).unwrap();
    let (mut kb, device) = device_with(Default::default(), lun(GT3_BLOCKS), Box::new(bs));
    let rb = Reactor::spawn("t-move-b").unwrap();
    let idb = rb.add(device).unwrap();
    let (mut mb, mut rngb) = (Model::new(GT3_BLOCKS), Rng(0x32));
    assert_eq!(
        ConnectionPool::global().users(&key),
        2,
        "one connection for both"
    );
    let first = ConnectionPool::global()
        .generation(&key)
        .expect("connected");

    let _restore = VolumeOption("performance.quick-read", "off");
    gluster(&["volume", "set", "gt3", "performance.quick-read", "on"]);
    let start = Instant::now();
    let pool = ConnectionPool::global();
    while pool.generation(&key) <= Some(first) || pool.users(&key) < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "both LUNs not on a new connection after 30 s"
        );
        run_model(&mut a.k, &mut a.model, 50, 16, &mut a.rng);
        run_model(&mut kb, &mut mb, 50, 16, &mut rngb);
    }
    eprintln!("both LUNs moved after {:?}", start.elapsed());
    run_model(&mut a.k, &mut a.model, 300, 16, &mut a.rng);
    run_model(&mut kb, &mut mb, 300, 16, &mut rngb);
    assert_eq!(pool.users(&key), 2, "both files on the one new connection");
    assert_eq!(a.reactor.remove(a.id).unwrap().backstore_in_flight(), 0);
    assert_eq!(rb.remove(idb).unwrap().backstore_in_flight(), 0);
}

/// The directory of gt3's brick `name` (`b3`, `b3r`) as the volume lists it, if it does.
fn brick_dir(name: &str) -> Option<String> {
    let info = gluster(&["volume", "info", "gt3"]);
    info.lines()
        .filter_map(|l| l.split_once(": ").map(|(_, brick)| brick))
        .filter_map(|brick| brick.strip_prefix(&format!("{HOST}:")))
        .find(|dir| dir.ends_with(&format!("/{name}")))
        .map(str::to_owned)
}

/// `replace-brick ... commit force` from `from` to `to` (an empty directory).
fn replace_brick(from: &str, to: &str) {
    let (from, to) = (format!("{HOST}:{from}"), format!("{HOST}:{to}"));
    gluster(&[
        "volume",
        "replace-brick",
        "gt3",
        &from,
        &to,
        "commit",
        "force",
    ]);
}

/// Whether no brick of gt3 lists an entry to heal.
fn gt3_healed() -> bool {
    let info = gluster(&["volume", "heal", "gt3", "info"]);
    let counts: Vec<&str> = info
        .lines()
        .filter(|l| l.starts_with("Number of entries:"))
        .collect();
    counts.len() == 3 && counts.iter().all(|l| l.ends_with(": 0"))
}

/// Heals gt3 until `file` (a path on a brick) holds `want`, for at most 120 s; the
/// difference if it never does.
fn heal_until(file: &str, want: &[u8]) -> Result<(), String> {
    let start = Instant::now();
    loop {
        heal_gt3();
        std::thread::sleep(Duration::from_secs(2));
        let have = std::fs::read(file).unwrap_or_default();
        // A brick's copy may end before the image's zeroed tail (the image's size is
        // shard's, kept in an xattr).
        let n = have.len().min(want.len());
        let same = have[..n] == want[..n] && want[n..].iter().all(|&b| b == 0);
        if same && gt3_healed() {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(120) {
            let first = have.iter().zip(want).position(|(a, b)| a != b);
            return Err(format!(
                "{file}: {} bytes, want {}, first difference at {first:?}; healed: {}",
                have.len(),
                want.len(),
                gt3_healed()
            ));
        }
    }
}

/// Puts brick b3 back if a failed run left b3r in its place.
struct BrickB3Back(String);

impl Drop for BrickB3Back {
    fn drop(&mut self) {
        if let Some(b3r) = brick_dir("b3r") {
            let _ = std::fs::remove_dir_all(&self.0);
            let _ = std::fs::create_dir_all(&self.0);
            replace_brick(&b3r, &self.0);
            let _ = std::fs::remove_dir_all(&b3r);
        }
    }
}

/// Replacing a brick (the admin's answer to a failed disk) under a running LUN: the
/// LUN moves to a connection whose graph has the new brick, every command stays GOOD,
/// and once healed the new brick holds exactly the model's data. Then the same back.
#[test]
fn a_brick_replaced_under_a_running_lun_ends_up_with_its_data() {
    let key = volume_key("gt3", HOST);
    let mut t = gt3_lun("t-replace", 0x4e);
    let path = format!("t-replace-{}.img", std::process::id());
    let b3 = brick_dir("b3").expect("gt3 has brick b3: run tests/gluster/setup.sh");
    let b3r = format!("{b3}r");
    let _back = BrickB3Back(b3.clone());
    let _ = std::fs::remove_dir_all(&b3r);
    for (from, to) in [(&b3, &b3r), (&b3r, &b3)] {
        let generation = ConnectionPool::global()
            .generation(&key)
            .expect("connected");
        if to == &b3 {
            // The old directory still carries the volume's marks; start it afresh.
            std::fs::remove_dir_all(&b3).unwrap();
        }
        std::fs::create_dir_all(to).unwrap();
        replace_brick(from, to);
        let start = Instant::now();
        while ConnectionPool::global().generation(&key) <= Some(generation)
            || ConnectionPool::global().users(&key) < 1
        {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no connection with {to} after 30 s"
            );
            run_model(&mut t.k, &mut t.model, 100, 16, &mut t.rng);
        }
        run_model(&mut t.k, &mut t.model, 300, 16, &mut t.rng);
        if let Err(e) = heal_until(&format!("{to}/{path}"), &t.model.bytes) {
            panic!("the new brick does not hold the LUN's data after healing: {e}");
        }
        eprintln!("{from} replaced by {to}: moved, healed, data in place");
    }
    let _ = std::fs::remove_dir_all(&b3r);
    let device = t.reactor.remove(t.id).unwrap();
    assert_eq!(device.backstore_in_flight(), 0);
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
    let path = Image::on(volume_key("gt1", HOST), "t-takeover");
    let mut bs = GlfsBackstore::open_or_reconnect_at(key, &path, blocks * 512, &opts)
        .expect("a LUN taken over opens without its server");
    assert!(bs.is_reconnecting(), "no server, yet the LUN is connected");
    let (mut k, device) = device_with(Default::default(), lun(blocks), Box::new(bs));
    let reactor = Reactor::spawn("glfs-takeover").unwrap();
    let id = reactor.add(device).unwrap();

    assert!(
        reactor.stats(id).unwrap().health.is_reconnecting(),
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
    assert!(
        !reactor.stats(id).unwrap().health.is_reconnecting(),
        "serving again"
    );
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

/// The HA fence across a brick restart (docs/HA.md), on gtha (one brick, mandatory locks
/// enforced): the holder's fd loses its lock with the brick and every write through it
/// fails from then on (none lands), another connection takes the lock and writes, and
/// the enforcement, kept on disk, still refuses a writer without the lock.
#[test]
fn a_brick_restart_fences_the_lock_holder_for_good() {
    use gluster_tcmu::glfs::{GlfsFile, LockHolder};
    let _gt3 = GT3.lock().unwrap_or_else(PoisonError::into_inner);
    require_started("gtha");
    let key = volume_key("gtha", HOST);
    let image = Image::on(key.clone(), "ha-brick-restart");
    let holder_conn = ConnectionPool::global()
        .get(&key, &test_options().connect)
        .expect("gtha");
    let holder = GlfsFile::open_or_create(holder_conn, &image).expect("open");
    holder.enforce_mandatory_locks().expect("enforce");
    holder.take_image_lock().expect("lock");
    let block = |byte: u8| vec![byte; 4096];
    assert_eq!(
        holder.write_at(&block(b'O'), 0).expect("holder writes"),
        4096
    );

    let pid = rustix::process::Pid::from_raw(brick_pid("gtha", 1)).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::KILL).expect("kill brick");
    let killed = Instant::now();
    // glusterd starts a brick again only once it has seen it down.
    while gtha_brick_online() {
        assert!(
            killed.elapsed() < Duration::from_secs(20),
            "brick still online"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (mut bad_fd, mut busy) = (0, 0);
    while busy == 0 {
        assert!(killed.elapsed() < Duration::from_secs(60), "brick not back");
        if !gtha_brick_online() {
            gluster(&["volume", "start", "gtha", "force"]);
        }
        match holder.write_at(&block(b'S'), 0) {
            Ok(n) => panic!("a write of {n} bytes through the fenced fd"),
            Err(e) if e.raw_os_error() == Some(libc::EBADFD) => bad_fd += 1,
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => busy += 1,
            Err(e) => eprintln!("holder's write: {e}"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "the holder's writes after the brick died: {bad_fd} EBADFD while it was down, EBUSY {:?} after the kill",
        killed.elapsed()
    );

    // A connection of its own (through a stand-in glusterd's port, a key of its own).
    let real = gluster_tcmu::glfs::glusterd::fetch(
        &gluster_tcmu::glfs::Server {
            host: HOST.into(),
            port: 24007,
        },
        "gtha",
        Duration::from_secs(10),
    )
    .expect("gtha's volfile");
    let glusterd = common::gluster::StandInGlusterd::serve(real);
    let other_key = volume_key_at("gtha", "127.0.0.1", glusterd.port);
    let other_conn = ConnectionPool::global()
        .get(&other_key, &test_options().connect)
        .expect("gtha again");
    let other = GlfsFile::open_or_create(other_conn, &image).expect("open");
    assert!(
        other.write_at(&block(b'X'), 4096).is_err(),
        "enforced after the restart"
    );
    assert_eq!(
        other.image_lock_holder().expect("F_GETLK"),
        LockHolder::NoOther
    );
    other.take_image_lock().expect("the new holder's lock");
    assert_eq!(
        other.write_at(&block(b'N'), 0).expect("new holder writes"),
        4096
    );
    assert!(holder.write_at(&block(b'S'), 0).is_err());
    let mut got = vec![0u8; 4096];
    other.read_at(&mut got, 0).expect("read");
    assert_eq!(got, block(b'N'), "only the new holder's data");
}

fn gtha_brick_online() -> bool {
    gluster(&["volume", "status", "gtha", "--xml"]).contains("<status>1</status>")
}
