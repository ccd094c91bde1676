//! The image lock that fences a gateway (docs/HA.md), on the real glusterd: volume gtha
//! (tests/gluster/setup.sh: one brick, mandatory locks enforced, no sharding). Two gfapi
//! connections on one image play two gateways: one straight to the brick, the other
//! through a relay the test can cut (a gateway cut off from the bricks) or handed to a
//! child process the test kills with SIGKILL (a gateway that dies).
//!
//! Every test checks the fencing model: once the new holder has the lock, every write of
//! the old one fails, and the image holds only what the new holder wrote over it.
//! Fails (never skips) without gtha.
#![cfg(feature = "glfs")]

mod common;

use common::gluster::{HOST, StandInGlusterd, gluster, require_started, test_options};
use gluster_tcmu::backstore::BackendState;
use gluster_tcmu::glfs::{ConnectionPool, GlfsFile, LockHolder, Volume, VolumeKey};
use gluster_tcmu::scsi::SenseKey;
use std::io::{BufRead, BufReader};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const VOLUME: &str = "gtha";
const BLOCK: usize = 4096;
const BLOCKS: u64 = 8;
/// The child holder's image, named by the parent (the child runs this binary again).
const CHILD_ENV: &str = "GT_HA_CHILD_IMAGE";

fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("warn")
        .try_init();
}

fn direct_key() -> VolumeKey {
    common::gluster::volume_key(VOLUME, HOST)
}

/// A connection of its own (the pool shares one per key: the key's port makes it apart).
fn connect(key: &VolumeKey) -> Arc<Volume> {
    ConnectionPool::global()
        .get(key, &test_options().connect)
        .expect("connect to gtha")
}

/// The image at `path`, opened (created when missing) and marked for enforcement.
fn open(volume: &Arc<Volume>, path: &str) -> GlfsFile {
    let file = GlfsFile::open_or_create(volume.clone(), path).expect("open the image");
    file.enforce_mandatory_locks()
        .expect("enforce mandatory locks (gtha configured by setup.sh?)");
    file
}

/// A block stamped with who wrote it and when: `writer` byte, then `seq` repeated.
fn stamp(writer: u8, seq: u64) -> Vec<u8> {
    let mut block = vec![writer; BLOCK];
    for chunk in block[8..].chunks_exact_mut(8) {
        chunk.copy_from_slice(&seq.to_le_bytes());
    }
    block
}

/// Writes one stamped block; `Err(errno)` when the bricks refused it.
fn write(file: &GlfsFile, lba: u64, writer: u8, seq: u64) -> Result<(), i32> {
    let data = stamp(writer, seq);
    match file.write_at(&data, lba * BLOCK as u64) {
        Ok(n) if n == BLOCK => Ok(()),
        Ok(n) => panic!("short write of {n} bytes"),
        Err(e) => Err(e.raw_os_error().unwrap_or(libc::EIO)),
    }
}

fn read_block(file: &GlfsFile, lba: u64) -> Vec<u8> {
    let mut buf = vec![0u8; BLOCK];
    let n = file.read_at(&mut buf, lba * BLOCK as u64).expect("read");
    assert_eq!(n, BLOCK, "short read at block {lba}");
    buf
}

/// What the image must hold: per block, the last stamp an acknowledged write put there.
#[derive(Default)]
struct Model {
    acked: std::collections::BTreeMap<u64, (u8, u64)>,
    seq: u64,
}

impl Model {
    /// A write that must be acknowledged.
    fn write_ok(&mut self, file: &GlfsFile, lba: u64, writer: u8) {
        self.seq += 1;
        write(file, lba, writer, self.seq)
            .unwrap_or_else(|e| panic!("writer {writer} refused at block {lba}: errno {e}"));
        self.acked.insert(lba, (writer, self.seq));
    }

    /// A write from a fenced holder: it must fail, and leave nothing behind.
    fn write_fenced(&mut self, file: &GlfsFile, lba: u64, writer: u8) -> i32 {
        self.seq += 1;
        match write(file, lba, writer, self.seq) {
            Ok(()) => panic!("fenced writer {writer} wrote block {lba}"),
            Err(errno) => errno,
        }
    }

    /// Reads every block through `reader` (the holder) and compares.
    fn check(&self, reader: &GlfsFile) {
        for lba in 0..BLOCKS {
            let got = read_block(reader, lba);
            let want = match self.acked.get(&lba) {
                Some(&(writer, seq)) => stamp(writer, seq),
                None => vec![0; BLOCK],
            };
            assert!(
                got == want,
                "block {lba}: holds writer {} seq {:?}, the model says {:?}",
                got[0],
                got.get(8..16),
                self.acked.get(&lba)
            );
        }
    }
}

/// Every block zeroed by the holder, so the model starts from zeroes.
fn zero_all(file: &GlfsFile) {
    for lba in 0..BLOCKS {
        file.write_at(&[0u8; BLOCK], lba * BLOCK as u64)
            .expect("zero");
    }
}

/// `NAME-PID.img`, removed when dropped.
fn image(name: &str) -> common::gluster::Image {
    init_logs();
    require_started(VOLUME);
    common::gluster::Image::on(direct_key(), name)
}

/// Two connections on one image: a writer without the lock is refused, taking the lock
/// preempts the holder at once, and from then on every write of the old holder fails.
#[test]
fn taking_the_lock_preempts_the_holder_and_fences_its_writes() {
    let path = image("ha-takeover");
    let a_conn = connect(&direct_key());
    let (_glusterd, b_key) = stand_in_with_brick_port(None);
    let b_conn = connect(&b_key);
    let (a, b) = (open(&a_conn, &path), open(&b_conn, &path));
    let mut model = Model::default();

    a.take_image_lock().expect("A takes the lock");
    zero_all(&a);
    model.write_ok(&a, 0, b'A');
    model.write_ok(&a, 1, b'A');
    assert_eq!(b.image_lock_holder().expect("F_GETLK"), LockHolder::Other);
    let refused = model.write_fenced(&b, 2, b'B');
    eprintln!("a write without the lock: errno {refused}");

    let started = Instant::now();
    b.take_image_lock().expect("B preempts A");
    eprintln!("takeover took {:?}", started.elapsed());
    let fenced = model.write_fenced(&a, 0, b'A');
    eprintln!("the preempted holder's write: errno {fenced}");
    assert_eq!(fenced, libc::EBUSY);
    model.write_ok(&b, 1, b'B');
    model.write_ok(&b, 3, b'B');
    model.write_fenced(&a, 3, b'A');
    assert_eq!(a.image_lock_holder().expect("F_GETLK"), LockHolder::Other);
    model.check(&b);

    // Failback: A takes it again, B is fenced in turn.
    a.take_image_lock().expect("A takes it back");
    model.write_fenced(&b, 1, b'B');
    model.write_ok(&a, 1, b'A');
    model.check(&a);
}

/// The child side of `a_holder_killed_with_sigkill_leaves_no_lock_behind`: run by the
/// parent with CHILD_ENV naming the image; takes the lock, writes block 0, says so on
/// stdout and waits to be killed. A no-op when run as a test of its own.
#[test]
fn ha_child_holds_the_lock() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let conn = connect(&direct_key());
    let file = open(&conn, &path);
    file.take_image_lock().expect("child takes the lock");
    write(&file, 0, b'C', 1).expect("child writes");
    println!("HELD");
    std::thread::sleep(Duration::from_secs(600));
}

/// A holder process killed with SIGKILL: its connections close with it, the brick drops
/// its locks at once (no other owner is seen a moment later), and a new holder takes
/// the lock and writes.
#[test]
fn a_holder_killed_with_sigkill_leaves_no_lock_behind() {
    let path = image("ha-killed");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "ha_child_holds_the_lock", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(CHILD_ENV, &*path)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the child holder");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let held = lines.any(|l| l.map(|l| l.contains("HELD")).unwrap_or(false));
    assert!(held, "the child did not take the lock");

    let conn = connect(&direct_key());
    let file = open(&conn, &path);
    assert_eq!(
        file.image_lock_holder().expect("F_GETLK"),
        LockHolder::Other
    );
    assert!(
        write(&file, 1, b'P', 1).is_err(),
        "the child holds the lock"
    );

    let killed = Instant::now();
    child.kill().expect("SIGKILL the holder");
    child.wait().expect("reap");
    let released = poll_until(Duration::from_secs(30), || {
        file.image_lock_holder().expect("F_GETLK") == LockHolder::NoOther
    });
    eprintln!("a killed holder's lock was gone after {released:?}");
    assert!(released < Duration::from_secs(2), "{released:?}");

    file.take_image_lock().expect("take the dead holder's lock");
    let mut model = Model::default();
    zero_all(&file);
    model.write_ok(&file, 0, b'P');
    model.check(&file);
    eprintln!("takeover complete {:?} after the kill", killed.elapsed());
}

/// A holder cut off from the brick (its relay to the brick closed): another connection
/// takes the lock at once; the cut-off side's writes fail while it is cut off and after
/// it reconnects (it holds no lock any more), and the image holds only the new
/// holder's data.
#[test]
fn a_holder_cut_off_from_the_brick_is_fenced_and_stays_fenced_when_it_returns() {
    let path = image("ha-cutoff");
    let relay = BrickRelay::start(brick_port());
    let (_glusterd, b_key) = stand_in_with_brick_port(Some(relay.port));
    let b_conn = connect(&b_key);
    let a_conn = connect(&direct_key());
    let (a, b) = (open(&a_conn, &path), open(&b_conn, &path));
    let mut model = Model::default();

    b.take_image_lock()
        .expect("B (through the relay) takes the lock");
    zero_all(&b);
    model.write_ok(&b, 0, b'B');
    model.write_ok(&b, 1, b'B');

    relay.cut();
    let started = Instant::now();
    let errno = model.write_fenced(&b, 2, b'B');
    eprintln!(
        "a cut-off holder's write failed with errno {errno} after {:?}",
        started.elapsed()
    );

    let takeover = Instant::now();
    a.take_image_lock()
        .expect("A takes the lock from the cut-off B");
    eprintln!(
        "takeover from a cut-off holder took {:?}",
        takeover.elapsed()
    );
    model.write_ok(&a, 1, b'A');
    model.write_ok(&a, 3, b'A');

    relay.restore();
    let back = poll_until(Duration::from_secs(30), || {
        b.image_lock_holder().is_ok_and(|h| h == LockHolder::Other)
    });
    eprintln!("B back on the brick after {back:?}");
    let errno = model.write_fenced(&b, 3, b'B');
    eprintln!("B's write once back: errno {errno}");
    model.check(&a);
}

/// The LUN's data path (gfapi's asynchronous writes through a GlfsBackstore) on an image
/// another connection holds, without the HA image lock option: each write fails at the
/// bricks, nothing lands, and the LUN answers BUSY as it always did (a LUN that is not
/// an HA LUN keeps its behaviour).
#[test]
fn a_luns_asynchronous_writes_are_fenced_too() {
    let (answers, _) = writes_of_a_lun_on_a_held_image("ha-lun", false);
    for (lba, status, _) in answers {
        assert_eq!(status, 0x08, "write at LBA {lba}: not BUSY");
    }
}

/// The same with the image lock on (an HA LUN): every refused write is answered with
/// the ALUA transition sense (NOT READY, 04h/0Ah), which the initiator retries on
/// another path; never GOOD, never BUSY, nothing lands, and the LUN does not start
/// reconnecting for a fenced image.
#[test]
fn an_ha_luns_fenced_writes_get_the_alua_transition_sense() {
    let (answers, health) = writes_of_a_lun_on_a_held_image("ha-lun-sense", true);
    for (lba, status, sense) in answers {
        assert_eq!(status, 0x02, "write at LBA {lba}: not CHECK CONDITION");
        assert_eq!(
            sense,
            Some((SenseKey::NotReady, 0x04, 0x0A)),
            "write at LBA {lba}"
        );
    }
    assert_eq!(
        health,
        BackendState::Serving,
        "a fenced LUN must not reconnect"
    );
}

/// A write's LBA, status and (on CHECK CONDITION) sense key, ASC and ASCQ.
type Answer = (u64, u8, Option<(SenseKey, u8, u8)>);

/// A LUN (fake kernel, reactor, GlfsBackstore with `image_lock` as given) writes three
/// ranges of an image another connection holds the lock on; returns each write's
/// status and sense and the LUN's backend state after them, having checked that the
/// image still holds only zeroes.
fn writes_of_a_lun_on_a_held_image(name: &str, image_lock: bool) -> (Vec<Answer>, BackendState) {
    use gluster_tcmu::backstore::{GlfsBackstore, GlfsOptions};
    use gluster_tcmu::testing::DataDir;
    let path = image(name);
    let blocks = 64;
    let (_glusterd, holder_key) = stand_in_with_brick_port(None);
    let holder = open(&connect(&holder_key), &path);
    holder.take_image_lock().expect("holder takes the lock");
    holder
        .set_len(blocks * 512)
        .expect("size (a truncate is fenced too)");
    zero_all(&holder);

    let opts = GlfsOptions {
        image_lock,
        ..test_options()
    };
    let bs = GlfsBackstore::open_at(direct_key(), &path, blocks * 512, &opts)
        .expect("the LUN opens the image");
    let lun = common::lun(blocks);
    let (mut k, device) = common::device_with(Default::default(), lun, Box::new(bs));
    let reactor = gluster_tcmu::reactor::Reactor::spawn("ha-lun").expect("reactor");
    let id = reactor.add(device).expect("serve");
    let mut answers = Vec::new();
    for lba in [0u64, 8, 40] {
        let data = common::pattern(lba, 8, 7);
        k.submit(&common::write16(lba, 8, false), DataDir::ToDevice(&data))
            .expect("submit");
        assert!(
            k.wait_kick(Duration::from_secs(30)).expect("kick"),
            "no answer"
        );
        let c = k.reap().expect("protocol violation").remove(0);
        eprintln!(
            "the fenced LUN's write at LBA {lba}: status {:#04x}",
            c.status
        );
        assert_ne!(c.status, 0, "a fenced write was acknowledged");
        let sense = (c.status == 0x02).then(|| {
            let s = common::sense_of(&c);
            (s.key, s.asc, s.ascq)
        });
        answers.push((lba, c.status, sense));
    }
    let health = reactor.stats(id).expect("stats").health.state;
    reactor.remove(id).expect("remove");
    for lba in 0..blocks * 512 / BLOCK as u64 {
        assert_eq!(
            read_block(&holder, lba),
            vec![0; BLOCK],
            "block {lba} changed"
        );
    }
    (answers, health)
}

/// A write of the old holder held up in the network (the relay paused) while another
/// connection takes the lock and writes the same block: when the held write reaches the
/// brick after the takeover, the brick refuses it, and the block keeps the new data.
#[test]
fn a_write_delayed_in_the_network_is_refused_when_it_arrives_after_the_takeover() {
    let path = image("ha-delayed");
    let relay = BrickRelay::start(brick_port());
    let (_glusterd, b_key) = stand_in_with_brick_port(Some(relay.port));
    let b_conn = connect(&b_key);
    let a_conn = connect(&direct_key());
    let a = open(&a_conn, &path);
    let b = Arc::new(open(&b_conn, &path));
    let mut model = Model::default();
    b.take_image_lock()
        .expect("B (through the relay) takes the lock");
    zero_all(&b);
    model.write_ok(&b, 2, b'B');

    relay.pause(true);
    let held = b.clone();
    let stale = std::thread::spawn(move || write(&held, 2, b'S', 999));
    std::thread::sleep(Duration::from_millis(500)); // the write is in the relay now
    a.take_image_lock()
        .expect("A takes the lock while B's write is held");
    model.write_ok(&a, 2, b'A');
    relay.pause(false);
    let arrived = stale.join().expect("the stale writer");
    eprintln!("the delayed write, delivered after the takeover: {arrived:?}");
    assert_eq!(arrived, Err(libc::EBUSY), "the held write must be refused");
    model.check(&a);
}

/// Polls `cond` every 20 ms until it holds, failing after `limit`; returns how long.
fn poll_until(limit: Duration, mut cond: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "not within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    start.elapsed()
}

/// gtha's brick port, from `gluster volume status --xml`.
fn brick_port() -> u16 {
    let xml = gluster(&["volume", "status", VOLUME, "--xml"]);
    xml.split("<port>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no brick port for {VOLUME}:\n{xml}"))
}

/// A stand-in glusterd handing out gtha's volfile, its brick reached at `relay_port` on
/// 127.0.0.1 when given (else through glusterd's port map, as usual); and the pool key
/// that connects through it (a connection of its own).
fn stand_in_with_brick_port(relay_port: Option<u16>) -> (StandInGlusterd, VolumeKey) {
    let server = gluster_tcmu::glfs::Server {
        host: HOST.into(),
        port: 24007,
    };
    let real = gluster_tcmu::glfs::glusterd::fetch(&server, VOLUME, Duration::from_secs(10))
        .expect("gtha's volfile");
    let mut volfile = String::from_utf8(real).expect("a text volfile");
    if let Some(port) = relay_port {
        let host = format!("option remote-host {HOST}");
        assert!(volfile.contains(&host), "{volfile}");
        let relayed = format!("option remote-host 127.0.0.1\n    option remote-port {port}");
        volfile = volfile.replace(&host, &relayed);
    }
    let glusterd = StandInGlusterd::serve(volfile.into_bytes());
    let key = common::gluster::volume_key_at(VOLUME, "127.0.0.1", glusterd.port);
    (glusterd, key)
}

/// A TCP relay on 127.0.0.1 to the brick that the test can cut (every connection shut,
/// new ones refused) and restore, or pause (bytes held, as a congested or partitioned
/// network holds them, and delivered on resume).
struct BrickRelay {
    port: u16,
    open: Arc<AtomicBool>,
    paused: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl BrickRelay {
    fn start(brick_port: u16) -> BrickRelay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().expect("bound").port();
        let relay = BrickRelay {
            port,
            open: Arc::new(AtomicBool::new(true)),
            paused: Arc::new(AtomicBool::new(false)),
            conns: Arc::new(Mutex::new(Vec::new())),
        };
        let (open, conns) = (relay.open.clone(), relay.conns.clone());
        let paused = relay.paused.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !open.load(Ordering::SeqCst) {
                    drop(client); // refused while cut
                    continue;
                }
                let Ok(brick) = TcpStream::connect((HOST, brick_port)) else {
                    continue;
                };
                splice(client, brick, &conns, &paused);
            }
        });
        relay
    }

    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for conn in self.conns.lock().expect("conns").drain(..) {
            let _ = conn.shutdown(Shutdown::Both);
        }
        eprintln!("relay cut");
    }

    fn pause(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst);
        eprintln!("relay {}", if paused { "paused" } else { "resumed" });
    }

    fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
        eprintln!("relay restored");
    }
}

/// Copies both ways between `a` and `b` until either side closes; keeps both in `conns`
/// so a cut can shut them.
fn splice(a: TcpStream, b: TcpStream, conns: &Mutex<Vec<TcpStream>>, paused: &Arc<AtomicBool>) {
    let mut held = conns.lock().expect("conns");
    held.push(a.try_clone().expect("clone"));
    held.push(b.try_clone().expect("clone"));
    let pairs = [
        (a.try_clone().expect("clone"), b.try_clone().expect("clone")),
        (b, a),
    ];
    for (from, to) in pairs {
        let paused = paused.clone();
        std::thread::spawn(move || copy_unless_paused(from, to, &paused));
    }
}

/// Copies `from` to `to` until either closes; what arrives while paused is held and
/// sent on resume.
fn copy_unless_paused(mut from: TcpStream, mut to: TcpStream, paused: &AtomicBool) {
    use std::io::{Read, Write};
    let mut buf = vec![0u8; 64 << 10];
    while let Ok(n @ 1..) = from.read(&mut buf) {
        while paused.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
}
