//! Durability of the glfs backstore, checked where it happens: on the bricks.
//!
//! Each brick process of the replica-3 volume gt3 is traced with strace while a command
//! goes through the LUN. A FUA write must reach every brick as a write that the brick
//! follows with fsync/fdatasync of the same file, and that sync must have returned
//! before the command completed; likewise SYNCHRONIZE CACHE after plain writes. strace
//! holds a traced thread at each syscall exit until it has logged it, so a brick cannot
//! answer before its sync's log line (with its timestamp) exists. A plain write (the LUN
//! reports a write cache) must be on every brick, synced or not, before GOOD: with the
//! volume's `performance.strict-o-direct` off, which this test sets for its run, gfapi's
//! write-behind would answer it from the daemon's memory.
//! Needs tests/gluster/setup.sh's volumes and strace; never skips.
#![cfg(feature = "glfs")]

mod common;

use common::gluster::{HOST, Image, brick_pid, require_started, test_options, volume_key};
use common::*;
use gluster_tcmu::backstore::GlfsBackstore;
use gluster_tcmu::reactor::Reactor;
use gluster_tcmu::testing::{Completed, DataDir, FakeKernel};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const VOLUME: &str = "gt3";

/// An strace attached to one brick; detached (SIGTERM) when dropped, so a failing test
/// never leaves a brick traced.
struct BrickTrace {
    pid: u32,
    log: PathBuf,
    strace: Child,
}

impl BrickTrace {
    /// Attaches to every thread of `pid` and returns once strace says so.
    fn attach(pid: u32) -> BrickTrace {
        let log =
            std::env::temp_dir().join(format!("gt-brick-{pid}-{}.strace", std::process::id()));
        let mut strace = Command::new("strace")
            .args(["-f", "-ttt", "-s", "64", "-e", "signal=none"])
            .args(["-e", "trace=pwrite64,pwritev,pwritev2,fsync,fdatasync"])
            .arg("-o")
            .arg(&log)
            .args(["-p", &pid.to_string()])
            .stderr(Stdio::piped())
            .spawn()
            .expect("strace runs (tests/install-host-deps.sh installs it)");
        let stderr = strace.stderr.take().expect("piped");
        let mut lines = BufReader::new(stderr).lines();
        let attached = lines.next().and_then(Result::ok).unwrap_or_default();
        assert!(
            attached.contains("attached"),
            "strace -p {pid} did not attach: {attached}"
        );
        // strace attaches thread by thread: a write served by a thread it has not
        // reached yet would be missed. Threads started later are clones of traced ones,
        // which -f follows.
        let tracer = strace.id();
        let start = std::time::Instant::now();
        while !every_thread_traced_by(pid, tracer) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "strace {tracer} did not attach to every thread of {pid} in 10 s"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        BrickTrace { pid, log, strace }
    }

    fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .arg(self.strace.id().to_string())
            .status();
        let _ = self.strace.wait();
        std::fs::read_to_string(&self.log).expect("strace log")
    }
}

/// Whether every thread of `pid` is traced by `tracer` (a thread that ended while being
/// looked at counts as traced).
fn every_thread_traced_by(pid: u32, tracer: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().all(|task| {
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
            return true;
        };
        status
            .lines()
            .find_map(|l| l.strip_prefix("TracerPid:"))
            .is_some_and(|t| t.trim() == tracer.to_string())
    })
}

impl Drop for BrickTrace {
    fn drop(&mut self) {
        let _ = self.strace.kill();
        let _ = self.strace.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
}

/// One parsed strace line: thread, timestamp, and the text after them. strace pads the
/// thread id to the widest one it has printed ("3937  1795710040.52 pwrite64(...").
fn parse(line: &str) -> Option<(u32, f64, &str)> {
    let (tid, rest) = line.trim_start().split_once(' ')?;
    let (ts, call) = rest.trim_start().split_once(' ')?;
    Some((tid.parse().ok()?, ts.parse().ok()?, call.trim_start()))
}

#[test]
fn strace_lines_parse_with_padded_thread_ids() {
    let line = "3937  1795710040.520627 pwrite64(270, \"gt\"..., 4096, 32768) = 4096";
    assert_eq!(
        parse(line),
        Some((
            3937,
            1795710040.520627,
            "pwrite64(270, \"gt\"..., 4096, 32768) = 4096"
        ))
    );
    let log = format!(
        "12732 1795710040.5 fsync(270)      = 0\n{line}\n3937  1795710040.53 fdatasync(270)  = 0"
    );
    assert_eq!(write_of(&log, "gt"), Some((3937, "270".to_string())));
    assert_eq!(
        sync_returned(&log, "270", 1795710040.52),
        Some(1795710040.53)
    );
}

/// The brick file descriptor the write starting with `marker` went to, and the thread.
fn write_of(log: &str, marker: &str) -> Option<(u32, String)> {
    log.lines().filter_map(parse).find_map(|(tid, _, call)| {
        let rest = call.strip_prefix("pwrite")?;
        let args = &rest[rest.find('(')? + 1..];
        let (fd, data) = args.split_once(", ")?;
        data.contains(marker).then(|| (tid, fd.to_string()))
    })
}

/// When the brick's write of the data starting with `marker` was logged (s).
fn write_logged(log: &str, marker: &str) -> Option<f64> {
    log.lines().filter_map(parse).find_map(|(_, ts, call)| {
        (call.starts_with("pwrite") && call.contains(marker)).then_some(ts)
    })
}

/// Sets a volume option for the life of the guard, and tests/gluster/setup.sh's value
/// (`on`) back after.
struct VolumeOption(&'static str);

impl VolumeOption {
    fn set(key: &'static str, value: &str) -> VolumeOption {
        common::gluster::gluster(&["volume", "set", VOLUME, key, value]);
        VolumeOption(key)
    }
}

impl Drop for VolumeOption {
    fn drop(&mut self) {
        // No assertion here: a panic while a failed test unwinds would abort the run.
        let _ = Command::new("gluster")
            .args(["--mode=script", "volume", "set", VOLUME, self.0, "on"])
            .status();
    }
}

/// When the first successful fsync/fdatasync of `fd` returned, at or after `from` (s).
fn sync_returned(log: &str, fd: &str, from: f64) -> Option<f64> {
    let mut open: Vec<u32> = Vec::new(); // threads inside a sync of fd
    for (tid, ts, call) in log.lines().filter_map(parse) {
        let is_sync = ["fsync(", "fdatasync("].iter().any(|s| {
            call.starts_with(&format!("{s}{fd})"))
                || call.starts_with(&format!("{s}{fd} <unfinished"))
        });
        if is_sync && call.contains("<unfinished") {
            open.push(tid);
            continue;
        }
        let resumed =
            call.starts_with("<... fsync resumed>") || call.starts_with("<... fdatasync resumed>");
        let done = (is_sync || (resumed && open.contains(&tid))) && call.ends_with("= 0");
        if resumed {
            open.retain(|&t| t != tid);
        }
        if done && ts >= from {
            return Some(ts);
        }
    }
    None
}

fn open_lun(path: &str, blocks: u64) -> GlfsBackstore {
    require_started(VOLUME);
    GlfsBackstore::open_at(
        volume_key(VOLUME, HOST),
        path,
        blocks * 512,
        &test_options(),
    )
    .expect("open the image on gt3")
}

/// 8 blocks whose first bytes are `marker`, so the brick's write can be found in strace.
fn marked(marker: &str) -> Vec<u8> {
    let mut data = pattern(0, 8, 5);
    data[..marker.len()].copy_from_slice(marker.as_bytes());
    data
}

fn wait_one(k: &mut FakeKernel) -> Completed {
    assert!(
        k.wait_kick(Duration::from_secs(30)).unwrap(),
        "no answer in 30 s"
    );
    let mut got = k.reap().expect("protocol");
    assert_eq!(got.len(), 1, "{got:?}");
    got.pop().unwrap()
}

/// Every brick wrote `marker`'s data to some fd and synced that fd, the sync returning
/// after `from` and before `completed`.
fn assert_durable_on_every_brick(logs: &[(u32, String)], marker: &str, from: f64, completed: f64) {
    for (pid, log) in logs {
        let (tid, fd) = write_of(log, marker)
            .unwrap_or_else(|| panic!("brick {pid} never wrote {marker}:\n{log}"));
        let synced = sync_returned(log, &fd, from)
            .unwrap_or_else(|| panic!("brick {pid} (thread {tid}) never synced fd {fd}:\n{log}"));
        assert!(
            synced <= completed,
            "brick {pid} synced fd {fd} at {synced:.6}, after the command completed at {completed:.6}"
        );
    }
}

#[test]
fn fua_writes_and_sync_cache_are_on_every_bricks_disk_before_good() {
    // tests/gluster/setup.sh turns it on for every test volume; the default is off.
    let _wb = VolumeOption::set("performance.strict-o-direct", "off");
    let blocks = 2048;
    let path = Image::on(volume_key(VOLUME, HOST), "t-durable");
    let bs = open_lun(&path, blocks);
    let (mut k, dev) = device_with(Default::default(), lun(blocks), Box::new(bs));
    let reactor = Reactor::spawn("glfs-durability").unwrap();
    let id = reactor.add(dev).unwrap();
    let traces: Vec<BrickTrace> = (1..=3)
        .map(|n| BrickTrace::attach(brick_pid(VOLUME, n).unsigned_abs()))
        .collect();

    // A FUA write: GOOD only once every brick has the data on its disk.
    let fua_marker = format!("gt-fua-probe-{}", std::process::id());
    let from = now();
    k.submit(
        &write16(0, 8, true),
        DataDir::ToDevice(&marked(&fua_marker)),
    )
    .unwrap();
    let c = wait_one(&mut k);
    let fua_done = now();
    assert_eq!(c.status, 0, "{c:?}");

    // A plain write, then SYNCHRONIZE CACHE: GOOD for the latter only after the sync.
    let plain_marker = format!("gt-plain-probe-{}", std::process::id());
    k.submit(
        &write16(64, 8, false),
        DataDir::ToDevice(&marked(&plain_marker)),
    )
    .unwrap();
    assert_eq!(wait_one(&mut k).status, 0);
    let plain_done = now();
    let sync_from = now();
    k.submit(&sync_cache10(), DataDir::None).unwrap();
    let c = wait_one(&mut k);
    let sync_done = now();
    assert_eq!(c.status, 0, "{c:?}");

    let logs: Vec<(u32, String)> = traces.into_iter().map(|t| (t.pid, t.stop())).collect();
    assert_durable_on_every_brick(&logs, &fua_marker, from, fua_done);
    assert_durable_on_every_brick(&logs, &plain_marker, sync_from, sync_done);
    for (pid, log) in &logs {
        let written = write_logged(log, &plain_marker).expect("found above");
        assert!(
            written <= plain_done,
            "brick {pid} wrote the plain write at {written:.6}, after its GOOD at {plain_done:.6}: held by write-behind"
        );
    }
    drop(reactor.remove(id).unwrap());
}
