//! Block exports on the real loopback volumes (gt1, gt3 of tests/gluster/setup.sh): the
//! gfapi store keeps the same contract as the local one, and the `gluster-tcmu export`
//! commands work end to end, race safely between processes, finish after a kill, and
//! fail in bounded time on volumes they cannot reach. Each test uses export names of its
//! own, names gateways no real gateway has, and removes what it made; none runs while
//! the fault tests stop bricks. Fails (never skips) without the volumes.
#![cfg(feature = "glfs")]

mod common;

use common::exports::{ExportCli, gateway, text, unique};
use common::gluster::{HOST, mute_server, require_started, test_options};
use gluster_tcmu::export::store::contract;
use gluster_tcmu::export::{
    ExportName, GlfsVolumes, MetaStore, Record, StoreError, StoreOpener, VolumeAddr, layout,
};
use serde_json::Value;
use std::collections::HashMap;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Holds the fault tests off while it lives, and first waits for one that runs: they stop
/// bricks, under `flock /tmp/gt-gluster-faults.lock` (a shared lock here, so these tests
/// still run side by side).
fn steady_volumes() -> std::fs::File {
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open("/tmp/gt-gluster-faults.lock")
        .expect("the fault tests' lock file");
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockShared).expect("a shared lock");
    lock
}

/// `volume` through the loopback glusterd.
fn addr(volume: &str) -> String {
    format!("{volume}@{HOST}")
}

/// The store of `volume`, connected as the CLI connects.
fn store(volume: &str) -> Arc<dyn MetaStore> {
    require_started(volume);
    try_store(volume).unwrap_or_else(|e| panic!("open {volume}: {e}"))
}

/// The store of `volume`, one connection per volume for the whole test process: a
/// connection finished (`glfs_fini`) while the shard translator still removes an image's
/// shards in the background crashes gluster 10.3 (the CLI does not finish its
/// connections either).
fn try_store(volume: &str) -> Result<Arc<dyn MetaStore>, StoreError> {
    static STORES: OnceLock<Mutex<HashMap<String, Arc<dyn MetaStore>>>> = OnceLock::new();
    let mut stores = STORES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(store) = stores.get(volume) {
        return Ok(store.clone());
    }
    let addr = VolumeAddr::parse(&addr(volume)).expect("a volume address");
    let store = GlfsVolumes::new(test_options().connect).open(&addr)?;
    stores.insert(volume.to_owned(), store.clone());
    Ok(store)
}

/// An export of the test's own, deleted (forced) when dropped, whatever happened.
struct Export {
    location: String,
    name: String,
    volume: String,
}

impl Export {
    fn on(volume: &str, what: &str) -> Export {
        let name = unique(what);
        Export {
            location: format!("{}/{name}", addr(volume)),
            name,
            volume: volume.to_owned(),
        }
    }

    fn record(&self) -> Option<Record> {
        let name = ExportName::parse(&self.name).unwrap();
        let bytes = store(&self.volume).read(&layout::record(&name)).unwrap()?;
        Some(Record::from_json(&bytes).unwrap())
    }

    fn image_size(&self) -> Option<u64> {
        let name = ExportName::parse(&self.name).unwrap();
        store(&self.volume).size_of(&layout::image(&name)).unwrap()
    }
}

impl Drop for Export {
    fn drop(&mut self) {
        let settings = ExportCli::with_deadline(10);
        let none = settings.no_daemon();
        let args = ["delete", &self.location, "--force", "--wait", "0"];
        let out = settings.run(&[&args[..], &["--control-socket", &none]].concat());
        let err = text(&out.stderr);
        if !out.status.success() && !err.contains("no export") {
            eprintln!("test export {} left: {err}", self.location);
        }
        // A command killed while writing a file leaves a temporary copy, or its lock. (No
        // panic here: this may run while a failed test unwinds.)
        let store = match try_store(&self.volume) {
            Ok(store) => store,
            Err(e) => return eprintln!("temporary files of {} not checked: {e}", self.name),
        };
        let Ok(name) = ExportName::parse(&self.name) else {
            return;
        };
        for tmp in store.list(layout::TMP).unwrap_or_default() {
            if layout::is_leftover_of(&tmp, &name) {
                let _ = store.remove(&format!("{}/{tmp}", layout::TMP));
            }
        }
    }
}

#[test]
fn the_gfapi_store_keeps_the_store_contract_on_gt1_and_gt3() {
    let _steady = steady_volumes();
    for volume in ["gt1", "gt3"] {
        contract::all(store(volume), &unique("contract"));
    }
}

/// create, list, info, resize, manifest and delete through the binary, on gtha (two
/// gateways make an HA export, which needs a volume that fences).
#[test]
fn the_commands_work_end_to_end() {
    let _steady = steady_volumes();
    require_started("gtha");
    let s = ExportCli::with_deadline(10);
    let e = Export::on("gtha", "e2e");
    let (gw, none) = (gateway(), s.no_daemon());
    let started = Instant::now();
    let created = s.ok(&[
        "create",
        &e.location,
        "--size",
        "64M",
        "--gateway",
        &gw,
        "--gateway",
        "127.0.0.2:3260",
        "--mutual-chap",
        "--json",
        "--control-socket",
        &none,
    ]);
    eprintln!("create of a 64 MiB export on gt3: {:?}", started.elapsed());
    let c: Value = serde_json::from_str(&created).unwrap();
    assert_eq!(c["name"], e.name.as_str());
    assert_eq!(c["state"], "ready");
    assert_eq!(c["size"], 64 << 20);
    assert_eq!(c["iqn"], format!("iqn.2016-12.org.gluster-tcmu:{}", e.name));
    assert_eq!(c["portals"], serde_json::json!([gw, "127.0.0.2:3260"]));
    assert_eq!(c["lun"], 0);
    assert_eq!(c["chap"]["mode"], "mutual");
    let secret = c["chap"]["secret"].as_str().unwrap().to_owned();
    let target_secret = c["chap"]["target_secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 16);
    assert_eq!(e.image_size(), Some(64 << 20));
    assert_modes(&e);

    // The same create again: the same export, byte for byte.
    let again = s.ok(&[
        "create",
        &e.location,
        "--size",
        "64M",
        "--gateway",
        &gw,
        "--gateway",
        "127.0.0.2:3260",
        "--mutual-chap",
        "--json",
        "--control-socket",
        &none,
    ]);
    assert_eq!(again, created);

    for listing in [
        s.ok(&["list", &addr("gtha")]),
        s.ok(&["list", &addr("gtha"), "--json"]),
        s.ok(&["info", &e.location]),
        s.ok(&["info", &e.location, "--json"]),
    ] {
        assert!(listing.contains(&e.name), "{listing}");
        assert!(
            !listing.contains(&secret) && !listing.contains(&target_secret),
            "{listing}"
        );
    }
    let listed: Value = serde_json::from_str(&s.ok(&["list", &addr("gtha"), "--json"])).unwrap();
    let mine = listed["exports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == e.name.as_str());
    assert_eq!(mine.unwrap()["gateways"], 2);

    let resized = s.ok(&[
        "resize",
        &e.location,
        "--size",
        "128MiB",
        "--json",
        "--control-socket",
        &none,
    ]);
    let r: Value = serde_json::from_str(&resized).unwrap();
    assert_eq!(
        (r["previous_size"].as_u64(), r["size"].as_u64()),
        (Some(64 << 20), Some(128 << 20))
    );
    assert_eq!(e.image_size(), Some(128 << 20));
    let shrink = s.fails(&[
        "resize",
        &e.location,
        "--size",
        "64M",
        "--control-socket",
        &none,
    ]);
    assert!(shrink.contains("exports only grow"), "{shrink}");

    let manifest = s.ok(&["manifest", &e.location, "--namespace", "storage"]);
    for line in [
        "type: kubernetes.io/iscsi-chap",
        &format!("  node.session.auth.password: {}", yaml(&secret)),
        &format!("  node.session.auth.password_in: {}", yaml(&target_secret)),
        "    storage: 128Mi",
        &format!("    targetPortal: \"{gw}\""),
        "      - \"127.0.0.2:3260\"",
        "    chapAuthSession: true",
        &format!("      name: {}-chap\n      namespace: storage", e.name),
    ] {
        assert!(manifest.contains(line), "{line:?} in\n{manifest}");
    }

    let deleted = s.ok(&["delete", &e.location, "--json", "--control-socket", &none]);
    assert_eq!(
        serde_json::from_str::<Value>(&deleted).unwrap()["deleted"],
        true
    );
    assert_eq!(e.record(), None);
    assert_eq!(e.image_size(), None);
    let gone = s.fails(&["info", &e.location]);
    assert!(gone.contains(&format!("no export {}", e.name)), "{gone}");
}

/// The record and the image are root's alone (the record holds CHAP secrets), and so
/// are their folders.
fn assert_modes(e: &Export) {
    use gluster_tcmu::glfs::ConnectionPool;
    // The cached store holds the connection, so the pool hands out that one.
    let _held = store(&e.volume);
    let key = common::gluster::volume_key(&e.volume, HOST);
    let volume = ConnectionPool::global()
        .get(&key, &test_options().connect)
        .unwrap();
    let name = ExportName::parse(&e.name).unwrap();
    let mode = |path: &str| volume.stat(path).unwrap().permissions();
    assert_eq!(mode(&layout::record(&name)), 0o600);
    assert_eq!(mode(&layout::image(&name)), 0o600);
    assert_eq!(mode(layout::EXPORTS), 0o700);
    assert_eq!(mode(layout::IMAGES), 0o700);
    assert_eq!(mode(layout::GATEWAYS), 0o755);
}

/// A secret as the manifest writes it (letters and digits: plain unless it starts with
/// a digit).
fn yaml(secret: &str) -> String {
    gluster_tcmu::export::manifest::scalar(secret)
}

/// `export create LOCATION --size SIZE --gateway GW ARGS...`, started, not waited for.
fn spawn_create(s: &ExportCli, location: &str, size: &str, args: &[&str]) -> std::process::Child {
    let none = s.no_daemon();
    s.command(&["create", location, "--size", size, "--gateway", &gateway()])
        .args(args)
        .args(["--control-socket", &none])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Two processes create one name at once: exactly one export, and both print it.
#[test]
fn two_processes_creating_one_name_make_one_export() {
    let _steady = steady_volumes();
    let s = ExportCli::with_deadline(10);
    for round in 0..3 {
        let e = Export::on("gt3", &format!("race{round}"));
        let args = ["--chap", "--json"];
        let a = spawn_create(&s, &e.location, "32M", &args);
        let b = spawn_create(&s, &e.location, "32M", &args);
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        let errs = format!("{}{}", text(&a.stderr), text(&b.stderr));
        assert!(a.status.success() && b.status.success(), "{errs}");
        assert_eq!(text(&a.stdout), text(&b.stdout), "one serial, one secret");
        let serial = e.record().unwrap().serial;
        assert!(text(&a.stdout).contains(&serial));
    }
    // Two sizes: one wins, the other is told what differs.
    let e = Export::on("gt3", "race-sizes");
    let a = spawn_create(&s, &e.location, "16M", &[]);
    let b = spawn_create(&s, &e.location, "32M", &[]);
    let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let won: Vec<&Output> = outs.iter().filter(|o| o.status.success()).collect();
    assert_eq!(won.len(), 1, "{outs:?}");
    let lost = outs.iter().find(|o| !o.status.success()).unwrap();
    let why = text(&lost.stderr);
    assert!(why.contains("exists on gt3@127.0.0.2 with size"), "{why}");
    assert_eq!(e.image_size(), Some(e.record().unwrap().size));
}

/// Killed right after each step (the test hook sends the command SIGKILL there), then run
/// again: the export ends as asked, with nothing orphaned.
#[cfg(feature = "test-utils")]
#[test]
fn a_killed_command_run_again_finishes_its_work() {
    let _steady = steady_volumes();
    use std::os::unix::process::ExitStatusExt;
    let s = ExportCli::with_deadline(10);
    let none = s.no_daemon();
    let gw = gateway();
    let killed_after_step = |step: &str, args: &[&str]| {
        let out = s
            .command(&[args, &["--control-socket", &none]].concat())
            .env("GLUSTER_TCMU_TEST_STOP_AFTER", step)
            .output()
            .unwrap();
        assert_eq!(
            out.status.signal(),
            Some(9),
            "{step}: {}",
            text(&out.stderr)
        );
    };
    for step in ["CreateRecordPublished", "CreateImageMade", "CreateReady"] {
        let e = Export::on("gt3", "kill-create");
        let create = [
            "create",
            &e.location,
            "--size",
            "8M",
            "--gateway",
            &gw,
            "--prealloc",
        ];
        killed_after_step(step, &create);
        assert!(e.record().is_some(), "{step}: the record comes first");
        s.ok(&[&create[..], &["--control-socket", &none]].concat());
        assert_eq!(e.record().unwrap().state.to_string(), "ready", "{step}");
        assert_eq!(e.image_size(), Some(8 << 20), "{step}");
    }
    for step in ["ResizeImageGrown", "ResizeRecordUpdated"] {
        let e = Export::on("gt3", "kill-resize");
        s.ok(&[
            "create",
            &e.location,
            "--size",
            "8M",
            "--gateway",
            &gw,
            "--control-socket",
            &none,
        ]);
        let resize = ["resize", &e.location, "--size", "16M"];
        killed_after_step(step, &resize);
        s.ok(&[&resize[..], &["--control-socket", &none]].concat());
        assert_eq!(e.record().unwrap().size, 16 << 20, "{step}");
        assert_eq!(e.image_size(), Some(16 << 20), "{step}");
    }
    for step in ["DeleteMarked", "DeleteImageRemoved"] {
        let e = Export::on("gt3", "kill-delete");
        s.ok(&[
            "create",
            &e.location,
            "--size",
            "8M",
            "--gateway",
            &gw,
            "--control-socket",
            &none,
        ]);
        let delete = ["delete", &e.location];
        killed_after_step(step, &delete);
        assert!(e.record().is_some(), "{step}: the record goes last");
        s.ok(&[&delete[..], &["--control-socket", &none]].concat());
        assert_eq!((e.record(), e.image_size()), (None, None), "{step}");
    }
}

/// `kill -9` at moments spread over a create and a delete, then the same command again:
/// it ends as asked (the first run may have finished before the kill: then a re-run of
/// the delete finds nothing to delete).
///
/// On gt1 (one brick). On a replicated volume, a client killed in the middle of a rename
/// over an existing file can leave the bricks disagreeing on which file has the name (a
/// gfid split-brain, read as EIO until healed: seen on gt3, whose volume has no
/// `cluster.favorite-child-policy`); that is Gluster's to heal, not the command's. The
/// kills at step boundaries (above) run on gt3.
#[test]
fn a_command_killed_at_any_moment_is_finished_by_running_it_again() {
    let _steady = steady_volumes();
    let s = ExportCli::with_deadline(10);
    let none = s.no_daemon();
    let gw = gateway();
    for round in 0..8u64 {
        let delay = Duration::from_millis(round * 12);
        let e = Export::on("gt1", "kill-any");
        let create = [
            "create",
            &e.location,
            "--size",
            "256M",
            "--gateway",
            &gw,
            "--prealloc",
        ];
        let create = [&create[..], &["--control-socket", &none]].concat();
        kill_after(s.command(&create), delay);
        s.ok(&create);
        assert_eq!(e.record().unwrap().state.to_string(), "ready", "{delay:?}");
        assert_eq!(e.image_size(), Some(256 << 20), "{delay:?}");
        let delete = ["delete", &e.location, "--control-socket", &none];
        kill_after(s.command(&delete), delay);
        let again = s.run(&delete);
        let err = text(&again.stderr);
        assert!(again.status.success() || err.contains("no export"), "{err}");
        assert_eq!((e.record(), e.image_size()), (None, None), "{delay:?}");
    }
}

/// Starts `cmd`, sends it SIGKILL after `delay` (if it still runs) and reaps it.
fn kill_after(mut cmd: Command, delay: Duration) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let _ = child.kill();
    let _ = child.wait();
}

/// A volume that does not exist, a server where nothing listens and a server that never
/// answers: each fails within the connect deadline, naming the volume and the server.
#[test]
fn an_unreachable_or_unknown_volume_fails_in_bounded_time() {
    let _steady = steady_volumes();
    let s = ExportCli::with_deadline(3);
    let gw = gateway();
    let create = |location: &str| {
        let none = s.no_daemon();
        let mut cmd = s.command(&["create", location, "--size", "1M", "--gateway", &gw]);
        cmd.args(["--control-socket", &none]);
        cmd
    };
    let timed = |mut cmd: Command| {
        let started = Instant::now();
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
        (text(&out.stderr), started.elapsed())
    };
    let (err, took) = timed(create(&format!("gtnope@{HOST}/{}", unique("nope"))));
    assert!(
        err.contains("volume `gtnope` does not exist on 127.0.0.2:24007"),
        "{err}"
    );
    assert!(took < Duration::from_secs(3), "{took:?}");

    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let mut cmd = create(&format!("gt3@127.0.0.1/{}", unique("refused")));
    cmd.env("GLUSTER_TCMU_TEST_GLUSTERD_PORT", port.to_string());
    let (err, took) = timed(cmd);
    assert!(err.contains("cannot reach volume gt3@127.0.0.1: "), "{err}");
    assert!(
        err.contains(&format!("no glusterd reachable: 127.0.0.1:{port}")),
        "{err}"
    );
    assert!(took < Duration::from_secs(3), "{took:?}");

    let (port, _accepted) = mute_server();
    let mut cmd = create(&format!("gt3@127.0.0.1/{}", unique("mute")));
    cmd.env("GLUSTER_TCMU_TEST_GLUSTERD_PORT", port.to_string());
    let (err, took) = timed(cmd);
    assert!(
        err.contains(&format!("no answer from 127.0.0.1:{port} for volume `gt3`")),
        "{err}"
    );
    assert!(
        took < Duration::from_secs(3) + Duration::from_secs(2),
        "{took:?}"
    );
    eprintln!("a server that never answers, 3 s deadline: failed after {took:?}");
}

/// A corrupt record is reported by name; the other exports are still listed, and
/// `delete --force` removes it.
#[test]
fn a_corrupt_record_is_listed_by_name_beside_the_others() {
    let _steady = steady_volumes();
    let s = ExportCli::with_deadline(10);
    let none = s.no_daemon();
    let good = Export::on("gt1", "good");
    s.ok(&[
        "create",
        &good.location,
        "--size",
        "1M",
        "--gateway",
        &gateway(),
        "--control-socket",
        &none,
    ]);
    let bad = Export::on("gt1", "bad");
    let path = layout::record(&ExportName::parse(&bad.name).unwrap());
    store("gt1")
        .publish(&path, b"{\"version\": 1, \"colour\": 2}", 0o600)
        .unwrap();
    let out = s.run(&["list", &addr("gt1")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (table, problems) = (text(&out.stdout), text(&out.stderr));
    assert!(
        table.contains(&good.name) && table.contains(&bad.name),
        "{table}"
    );
    assert!(
        problems.contains(&format!("{}/{}: ", addr("gt1"), bad.name)),
        "{problems}"
    );
    let info = s.fails(&["info", &bad.location]);
    assert!(
        info.contains(&format!(
            "the record of export {} on gt1@127.0.0.2 is corrupt",
            bad.name
        )),
        "{info}"
    );
    s.ok(&[
        "delete",
        &bad.location,
        "--force",
        "--control-socket",
        &none,
    ]);
    assert_eq!(store("gt1").read(&path).unwrap(), None);
}

/// The arguments as the command helpers take them.
fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// An export with two gateways is a multipath HA export: refused, with the reason and
/// nothing written for it, on a volume that cannot fence its image (gt1 and gt3 are
/// sharded); made on gtha, which can (tests/gluster/setup.sh: no sharding, mandatory locks
/// enforced, so its probe file takes the enforcement mark).
#[test]
fn several_gateways_need_a_volume_that_fences() {
    let _steady = steady_volumes();
    require_started("gtha");
    let s = ExportCli::daemonless(10);
    let (a, b) = (gateway(), "127.0.0.3:3260".to_owned());
    let create = |location: &str| -> Vec<String> {
        let args = [
            "create",
            location,
            "--size",
            "1M",
            "--gateway",
            &a,
            "--gateway",
            &b,
        ];
        args.map(str::to_owned).to_vec()
    };
    for (volume, why) in [("gt1", "it is sharded"), ("gt3", "it is sharded")] {
        let location = format!("{volume}@{HOST}/{}", unique("ha-refused"));
        let err = s.fails(&strs(&create(&location)));
        assert!(
            err.contains("multipath HA export") && err.contains(why),
            "{err}"
        );
        let info = s.run(&["info", &location]);
        assert!(!info.status.success(), "no record left for {location}");
    }
    let location = format!("gtha@{HOST}/{}", unique("ha-made"));
    s.ok(&strs(&create(&location)));
    s.ok(&["delete", &location]);
}

/// `export resize` of an HA export whose image a gateway holds (its LUN is active: the
/// image is marked for mandatory locks and locked by that gateway's connection): the
/// bricks refuse the command's truncate, so the record goes first and the holder grows
/// the image, as the active gateway's LUN resize does; the holder keeps its lock.
#[test]
fn an_ha_export_held_by_its_active_gateway_grows_through_that_gateway() {
    use gluster_tcmu::glfs::{ConnectionPool, GlfsFile};
    let _steady = steady_volumes();
    require_started("gtha");
    let s = ExportCli::daemonless(10);
    let e = Export::on("gtha", "ha-grow");
    let (a, b) = (gateway(), "127.0.0.3:3260".to_owned());
    let create = [
        "create",
        &e.location,
        "--size",
        "8M",
        "--gateway",
        &a,
        "--gateway",
        &b,
    ];
    s.ok(&create);
    // The active gateway, on a connection of its own (the CLI runs in its own process).
    let key = common::gluster::volume_key("gtha", HOST);
    let volume = ConnectionPool::global()
        .get(&key, &test_options().connect)
        .expect("connect to gtha");
    let name = ExportName::parse(&e.name).unwrap();
    let holder = Arc::new(GlfsFile::open_or_create(volume, &layout::image(&name)).expect("open"));
    holder.enforce_mandatory_locks().expect("enforce");
    holder.take_image_lock().expect("take the image lock");

    let out = s.run(&["resize", &e.location, "--size", "16M"]);
    let said = text(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("held by the active gateway"), "{said}");
    assert_eq!(e.record().unwrap().size, 16 << 20);
    assert_eq!(e.image_size(), Some(8 << 20), "only the holder may grow it");

    // What the active gateway's LUN resize does with its locked file.
    gluster_tcmu::glfs::pool::grow_within(&holder, 16 << 20, Duration::from_secs(10))
        .expect("the holder grows its image");
    assert_eq!(e.image_size(), Some(16 << 20));
    holder
        .write_at(&[0x5a; 4096], 12 << 20)
        .expect("the holder still holds the lock and writes past the old end");

    // The same resize again: nothing left to do.
    s.ok(&["resize", &e.location, "--size", "16M"]);
}
