//! The glfs backstore against a real glusterd on loopback (no mock). Needs the volumes
//! tests/gluster/setup.sh creates: gt1 (one brick) and gt3 (replica 3) on 127.0.0.2.
//! A missing glusterd or volume FAILS these tests; they never skip.
#![cfg(feature = "glfs")]

mod common;

use common::gluster::{
    HOST, Image, mute_server, require_started, test_options, volume_key, volume_key_at,
};
use common::model::*;
use common::*;
use gluster_tcmu::backstore::{Backstore, GlfsBackstore, IoCompletion, IoOp, IoRequest};
use gluster_tcmu::cfgstring::{SubtypeFormat, glfs::GlfsFormat};
use gluster_tcmu::glfs::{
    AsyncOp, ConnectOptions, ConnectionPool, GlfsFile, Mailbox, VolumeKey, check_volume,
};
use gluster_tcmu::reactor::Reactor;
use gluster_tcmu::testing::{Completed, DataDir, FakeKernel};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("gluster_tcmu=info")
        .with_test_writer()
        .try_init();
}

/// A fresh image path per test run on gt1, removed from the volume when dropped.
fn image(name: &str) -> Image {
    Image::on(volume_key("gt1", HOST), &format!("t-{name}"))
}

fn open(volume: &str, host: &str, path: &str, blocks: u64) -> GlfsBackstore {
    require_started(volume);
    GlfsBackstore::open_at(
        volume_key(volume, host),
        path,
        blocks * u64::from(BLOCK),
        &test_options(),
    )
    .unwrap_or_else(|e| panic!("open {volume}/{path}: {e} ({:?})", e))
}

/// Reads the whole image through gfapi, bypassing the LUN.
fn read_back(file: &GlfsFile, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    let mut done = 0;
    while done < len {
        let end = (done + (1 << 20)).min(len);
        let n = file
            .read_at(&mut out[done..end], done as u64)
            .expect("gfapi read");
        assert!(n > 0, "short read at {done}");
        done += n;
    }
    out
}

/// Submits one request straight to the backstore and waits for its completion.
fn direct(bs: &mut GlfsBackstore, op: IoOp) -> IoCompletion {
    bs.submit(IoRequest { tag: 7, op }).expect("submitted");
    bs.commit();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut out = Vec::new();
    while out.is_empty() {
        assert!(Instant::now() < deadline, "no completion within 30 s");
        let fd = bs.notifier().expect("notifier");
        let mut p = [rustix::event::PollFd::new(
            &fd,
            rustix::event::PollFlags::IN,
        )];
        let _ = rustix::event::poll(&mut p, None);
        bs.drain(&mut out);
    }
    out.pop().expect("one completion")
}

/// Waits (the reactor serves the device) until `n` completions arrived.
fn collect(k: &mut FakeKernel, n: usize) -> Vec<Completed> {
    let mut got = Vec::new();
    while got.len() < n {
        assert!(
            k.wait_kick(Duration::from_secs(30)).unwrap(),
            "no answer in 30 s"
        );
        got.extend(k.reap().expect("protocol violation"));
    }
    got
}

#[test]
fn random_io_through_the_ring_matches_the_model_and_gfapi() {
    init_logs();
    let blocks = 16384; // 8 MiB
    let path = image("model");
    let bs = open("gt1", HOST, &path, blocks);
    let file = bs.file().expect("connected").clone();
    let (mut k, device) = device_with(Default::default(), lun(blocks), Box::new(bs));
    let reactor = Reactor::spawn("glfs-model").unwrap();
    let id = reactor.add(device).unwrap();
    let mut model = Model::new(blocks);
    let mut rng = Rng(0x91f5_0001);
    for depth in [1, 32] {
        run_model(&mut k, &mut model, 1500, depth, &mut rng);
    }
    let device = reactor.remove(id).unwrap();
    assert_eq!(device.backstore_in_flight(), 0);
    let disk = read_back(&file, model.bytes.len());
    assert!(
        disk == model.bytes,
        "gfapi sees other data than the LUN acknowledged"
    );
}

#[test]
fn fua_flush_discard_and_write_zeroes() {
    init_logs();
    let blocks = 4096;
    let path = image("semantics");
    let bs = open("gt1", HOST, &path, blocks);
    let file = bs.file().expect("connected").clone();
    assert!(bs.capabilities().discard && bs.capabilities().write_zeroes);
    let (mut k, dev) = device_with(Default::default(), lun(blocks), Box::new(bs));
    let reactor = Reactor::spawn("glfs-semantics").unwrap();
    let id = reactor.add(dev).unwrap();
    // FUA write, plain write, SYNCHRONIZE CACHE: all GOOD, data on the volume.
    k.submit(&write16(0, 64, true), DataDir::ToDevice(&pattern(0, 64, 1)))
        .unwrap();
    k.submit(
        &write16(64, 64, false),
        DataDir::ToDevice(&pattern(64, 64, 2)),
    )
    .unwrap();
    for c in collect(&mut k, 2) {
        assert_eq!(c.status, 0, "{c:?}");
    }
    k.submit(&sync_cache10(), DataDir::None).unwrap();
    assert_eq!(collect(&mut k, 1)[0].status, 0);
    let disk = read_back(&file, 128 * 512);
    assert!(disk[..64 * 512] == pattern(0, 64, 1)[..]);
    assert!(disk[64 * 512..] == pattern(64, 64, 2)[..]);
    drop(reactor.remove(id).unwrap());

    let mut bs = open("gt1", HOST, &path, blocks);
    let c = direct(
        &mut bs,
        IoOp::Discard {
            offset: 0,
            len: 32 * 512,
        },
    );
    assert_eq!(c.result, Ok(32 * 512));
    let c = direct(
        &mut bs,
        IoOp::WriteZeroes {
            offset: 96 * 512,
            len: 16 * 512,
        },
    );
    assert_eq!(c.result, Ok(16 * 512));
    let c = direct(&mut bs, IoOp::Flush);
    assert_eq!(c.result, Ok(0));
    // Discard and write-zeroes go straight to the backstore (the device does not route
    // UNMAP/WRITE SAME to backstores yet).
    let disk = read_back(&file, 128 * 512);
    assert!(
        disk[..32 * 512].iter().all(|&b| b == 0),
        "discarded range reads zeroes"
    );
    assert!(disk[32 * 512..64 * 512] == pattern(0, 64, 1)[32 * 512..]);
    assert!(disk[64 * 512..96 * 512] == pattern(64, 64, 2)[..32 * 512]);
    assert!(
        disk[96 * 512..112 * 512].iter().all(|&b| b == 0),
        "zeroed range"
    );
    assert!(disk[112 * 512..] == pattern(64, 64, 2)[48 * 512..]);
    // Out of range is refused before gfapi sees it.
    let past = blocks * 512;
    assert!(
        bs.submit(IoRequest {
            tag: 1,
            op: IoOp::Discard {
                offset: past,
                len: 512
            }
        })
        .is_err()
    );
}

/// Completions that pile up before the reactor looks cost gfapi's event thread one
/// eventfd write in all, not one each; taking them re-arms the notifier.
#[test]
fn completions_arriving_together_signal_the_notifier_once() {
    init_logs();
    let path = image("notify");
    let bs = open("gt1", HOST, &path, 2048);
    let file = bs.file().expect("connected").clone();
    let mailbox = Mailbox::new().unwrap();
    let eventfd_count = |m: &Mailbox| {
        let mut counter = [0u8; 8];
        match rustix::io::read(m.fd(), &mut counter) {
            Ok(_) => u64::from_ne_bytes(counter),
            Err(rustix::io::Errno::AGAIN) => 0,
            Err(e) => panic!("eventfd read: {e}"),
        }
    };
    for round in 0..2 {
        for token in 0..16 {
            file.submit(AsyncOp::Fdatasync, token, &mailbox)
                .expect("submitted");
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while mailbox.waiting() < 16 {
            assert!(
                Instant::now() < deadline,
                "round {round}: not all done in 30 s"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(
            eventfd_count(&mailbox),
            1,
            "round {round}: one signal for 16"
        );
        assert!(mailbox.has_posted(), "round {round}: a poller sees them");
        let mut done = Vec::new();
        mailbox.take(&mut done);
        assert!(!mailbox.has_posted(), "round {round}: taken");
        assert_eq!(done.len(), 16);
        assert!(done.iter().all(|d| d.result.is_ok()), "{done:?}");
    }
}

#[test]
fn images_are_created_grown_and_resized() {
    init_logs();
    let path = image("sizes");
    let bs = open("gt1", HOST, &path, 2048);
    let file = bs.file().unwrap().clone();
    assert_eq!(file.len().unwrap(), 2048 * 512, "created at the LUN size");
    drop(bs);
    let mut bs = open("gt1", HOST, &path, 4096);
    assert_eq!(file.len().unwrap(), 4096 * 512, "a smaller image is grown");
    drop(bs);
    bs = open("gt1", HOST, &path, 1024);
    assert_eq!(bs.size(), 1024 * 512, "a larger image serves the LUN size");
    assert_eq!(file.len().unwrap(), 4096 * 512, "and is left as it is");
    bs.resize(8192 * 512).expect("resize");
    assert_eq!(bs.size(), 8192 * 512);
    assert_eq!(file.len().unwrap(), 8192 * 512);
}

/// `GlfsFile::remove` takes an image off the volume (the tests' `Image` cleans up with
/// it): a second remove finds nothing, and says so.
#[test]
fn an_image_is_removed_from_the_volume() {
    require_started("gt1");
    let volume = ConnectionPool::global()
        .get(&volume_key("gt1", HOST), &test_options().connect)
        .expect("connect gt1");
    let path = format!("t-remove-{}.img", std::process::id());
    drop(GlfsFile::open_or_create(volume.clone(), &path).expect("create"));
    GlfsFile::remove(&volume, &path).expect("removed");
    let e = GlfsFile::remove(&volume, &path).expect_err("already gone");
    assert_eq!(e.errno(), libc::ENOENT, "{e}");
    assert!(e.to_string().contains("cannot remove"), "{e}");
}

#[test]
fn two_luns_on_one_volume_share_one_connection() {
    init_logs();
    // Its own server spelling, so no other test's LUNs are counted.
    let host = "127.0.0.1";
    let (path_a, path_b) = (image("share-a"), image("share-b"));
    let a = open("gt1", host, &path_a, 1024);
    let b = open("gt1", host, &path_b, 1024);
    let (fa, fb) = (a.file().unwrap().clone(), b.file().unwrap().clone());
    assert!(
        Arc::ptr_eq(fa.volume(), fb.volume()),
        "one glfs_t for both LUNs"
    );
    assert_eq!(ConnectionPool::global().users(&volume_key("gt1", host)), 2);
    // Files close on a background thread, which holds the connection until then.
    drop((a, fa));
    assert!(users_become(&volume_key("gt1", host), 1), "one LUN left");
    drop((b, fb));
    assert!(
        users_become(&volume_key("gt1", host), 0),
        "connection released when unused"
    );
}

#[test]
fn a_checked_volume_stays_connected_for_the_lun_that_follows() {
    init_logs();
    require_started("gt1");
    // Its own server spelling, so no other test's LUNs are counted.
    let host = "localhost";
    let key = volume_key("gt1", host);
    let path = image("kept");
    let cfg = GlfsFormat::parse(&format!("gt1@{host}/{path}")).expect("parses");
    let found = check_volume(&cfg, &test_options().connect, Duration::from_secs(2));
    assert!(found.expect("the check passes").contains("will be created"));
    assert_eq!(
        ConnectionPool::global().users(&key),
        1,
        "kept after the check"
    );
    let lun = open("gt1", host, &path, 1024);
    assert_eq!(
        ConnectionPool::global().users(&key),
        2,
        "the LUN shares the checked connection"
    );
    drop(lun);
    assert!(users_become(&key, 1), "still kept after the LUN is gone");
    assert!(
        users_become(&key, 0),
        "released once the LUN is gone and the keep ran out"
    );
}

fn users_become(key: &VolumeKey, n: usize) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if ConnectionPool::global().users(key) == n {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn bad_config_strings_get_precise_errors() {
    init_logs();
    require_started("gt1");
    let deadline = Duration::from_secs(15);
    let connect = ConnectOptions {
        deadline,
        ..test_options().connect
    };
    let check = |s: &str| {
        check_volume(
            &GlfsFormat::parse(s).expect("parses"),
            &connect,
            Duration::ZERO,
        )
    };
    let ok = check("gt1@127.0.0.2/check-new.img").expect("creatable");
    assert!(ok.contains("will be created"), "{ok}");
    let err = check("nosuchvol@127.0.0.2/x.img").unwrap_err();
    assert!(
        err.contains("volume `nosuchvol` does not exist on 127.0.0.2:24007"),
        "{err}"
    );
    let err = check("gt1@127.0.0.2/no/such/dir/x.img").unwrap_err();
    assert!(
        err.contains("directory `no/such/dir` does not exist in volume `gt1`"),
        "{err}"
    );
    let err = check("gt1@no-such-host.invalid/x.img").unwrap_err();
    assert!(
        err.contains("no glusterd reachable: no-such-host.invalid:24007"),
        "{err}"
    );
    // Strings the parser refuses never reach the network.
    assert!(GlfsFormat::parse("gt1@127.0.0.2").is_err());
    assert!(GlfsFormat::parse("gt 1@127.0.0.2/x").is_err());
    assert!(GlfsFormat::parse("gt1@127.0.0.2+127.0.0.2/x").is_err());
    // Opening a LUN on a missing volume fails with ENOENT, not a hang.
    let e = GlfsBackstore::open_at(volume_key("nosuchvol", HOST), "x.img", 512, &test_options())
        .unwrap_err();
    assert_eq!(e.errno(), libc::ENOENT, "{e}");
}

#[test]
fn gfapi_logs_where_the_connect_options_say() {
    require_started("gt1");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("glfs").join("gfapi.log");
    let connect = ConnectOptions {
        log_file: log.clone(),
        ..test_options().connect
    };
    // Its own server spelling: a new connection, not one another test made.
    let cfg = GlfsFormat::parse(&format!("gt1@127.0.0.3/{}", image("logdir"))).expect("parses");
    check_volume(&cfg, &connect, Duration::ZERO).expect("the check passes");
    let text = std::fs::read_to_string(&log).expect("gfapi's log is in the directory given");
    assert!(!text.is_empty(), "gfapi wrote nothing to {}", log.display());
}

/// Runs `gluster-tcmu check-config ARGS...`: whether it succeeded, its stdout and its
/// stderr.
fn check_config_cli<I, S>(args: I) -> (bool, String, String)
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gluster-tcmu"))
        .arg("check-config")
        .args(args)
        .output()
        .expect("runs gluster-tcmu");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_check_config_command_reaches_the_volume() {
    require_started("gt1");
    let (ok, out, err) = check_config_cli([format!("glfs/gt1@{HOST}/{}", image("cli"))]);
    let text = out + &err;
    assert!(ok && text.contains("will be created"), "{text}");
    let (ok, out, err) = check_config_cli([format!("glfs/nosuchvol@{HOST}/x.img")]);
    let text = out + &err;
    assert!(!ok, "{text}");
    assert!(
        text.contains("invalid: volume `nosuchvol` does not exist on 127.0.0.2:24007"),
        "{text}"
    );
}

/// `check-config --config FILE` connects with the file's settings, as the daemon's own
/// check does: gfapi logs into the file's `[glfs] log_dir`.
#[test]
fn the_check_config_command_connects_with_the_settings_file() {
    require_started("gt1");
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let settings = dir.path().join("gluster-tcmu.toml");
    std::fs::write(&settings, format!("[glfs]\nlog_dir = {:?}\n", logs)).unwrap();
    let lun = std::ffi::OsString::from(format!("glfs/gt1@{HOST}/{}", image("cli-settings")));
    let (ok, out, err) =
        check_config_cli([std::ffi::OsStr::new("--config"), settings.as_os_str(), &lun]);
    let text = out + &err;
    assert!(ok && text.contains("valid:"), "{text}");
    let log = std::fs::read_to_string(logs.join("gfapi.log")).unwrap_or_default();
    assert!(
        !log.is_empty(),
        "gfapi wrote nothing into the settings' log_dir: {text}"
    );

    let missing = dir.path().join("absent.toml");
    let (ok, _, text) =
        check_config_cli([std::ffi::OsStr::new("--config"), missing.as_os_str(), &lun]);
    assert!(!ok, "a named settings file must exist: {text}");
    assert!(text.contains("absent.toml"), "{text}");
}

#[test]
fn a_mute_server_times_out_while_another_lun_keeps_serving() {
    init_logs();
    let (port, _) = mute_server();
    let blocks = 4096;
    let path = image("beside-mute");
    let bs = open("gt1", HOST, &path, blocks);
    let (mut k, device) = device_with(Default::default(), lun(blocks), Box::new(bs));
    let reactor = Reactor::spawn("glfs-mute").unwrap();
    let id = reactor.add(device).unwrap();

    let mute = volume_key_at("gt1", "127.0.0.1", port);
    let mut o = test_options();
    o.connect.deadline = Duration::from_secs(3);
    let opener = std::thread::spawn(move || {
        let t = Instant::now();
        let r = GlfsBackstore::open_at(mute, "x.img", 512 * 8, &o);
        (r.map(drop), t.elapsed())
    });
    let mut model = Model::new(blocks);
    let mut rng = Rng(5);
    let mut rounds = 0;
    while !opener.is_finished() {
        run_model(&mut k, &mut model, 50, 8, &mut rng);
        rounds += 1;
    }
    let (r, took) = opener.join().unwrap();
    let e = r.unwrap_err();
    assert_eq!(e.errno(), libc::ETIMEDOUT, "{e}");
    assert!(e.to_string().contains("within 3s"), "{e}");
    assert!(took < Duration::from_secs(5), "open gave up after {took:?}");
    assert!(
        rounds >= 2,
        "the other LUN served only {rounds} rounds meanwhile"
    );
    reactor.remove(id).unwrap();
}
