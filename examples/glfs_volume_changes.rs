//! What each change of a volume's volfile costs the process in memory and threads: one
//! glfs LUN served through the fake kernel and a reactor, a volume option toggled
//! `changes` times (each toggle is a new volfile: the watch builds a graph, and with I/O
//! flowing the LUN moves to a new connection), resident memory and threads read after
//! each phase and again once the old connections' `glfs_fini` had time to return.
//!
//!     cargo run --release --example glfs_volume_changes --features glfs,test-utils -- \
//!         gt3 127.0.0.2 changes.img 16 performance.quick-read 10
//!
//! Arguments: volume host image size_MiB option changes. Two phases of `changes` toggles
//! each, 2.5 s apart: the LUN idle (only the watch follows the volfile), then 4 KiB random
//! writes at depth 16 between the toggles (every change also moves the LUN). The option
//! gets its old value back at the end. Runs `gluster volume set`, so it needs the
//! glusterd of `host` on this machine (tests/gluster/setup.sh).

mod common;

use common::{Job, Pattern, Res};
use gluster_tcmu::backstore::{GlfsBackstore, GlfsOptions};
use gluster_tcmu::glfs::{Server, VolumeKey};
use gluster_tcmu::reactor::{Reactor, ReactorOptions};
use std::process::Command;
use std::time::Duration;

/// Time for every old connection's `glfs_fini` (about 10 s each) to return.
const SETTLE: Duration = Duration::from_secs(20);
/// Time between changes: more than the watch's one-second poll, so that it sees each
/// change on its own (two inside one poll can count as one, or cancel out).
const SPACING: Duration = Duration::from_millis(2500);

fn main() -> Res<()> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let [volume, host, image, size_mib, option, changes] = a.as_slice() else {
        return Err("usage: volume host image size_MiB option changes".into());
    };
    let size = size_mib.parse::<u64>()? << 20;
    let changes: u32 = changes.parse()?;
    let job = Job {
        pattern: Pattern::RandWrite,
        bs: 4096,
        qd: 16,
        runtime: SPACING,
        max_ios: u64::MAX,
        size,
        busy_poll: Duration::ZERO,
        gather: Duration::ZERO,
        kernel_poll: Duration::ZERO,
        write_cache: true,
    };
    let key = VolumeKey {
        volume: volume.clone(),
        servers: vec![Server {
            host: host.clone(),
            port: 24007,
        }],
    };
    let restore = Restore {
        volume: volume.clone(),
        option: option.clone(),
        value: volume_get(volume, option)?,
    };
    let backstore = GlfsBackstore::open_at(key, image, size, &GlfsOptions::default())?;
    let mut kernel = common::kernel_for(&job)?;
    let reactor = Reactor::spawn_with("changes-reactor", ReactorOptions::default())?;
    let lun = common::lun(size, "chg00001");
    let id = common::serve(&reactor, &kernel, lun, Box::new(backstore))?;
    common::clear_unit_attention(&mut kernel)?;
    common::run(&mut kernel, &job)?;
    println!("start: {}", status()?);
    let mut on = restore.value != "on";
    for io in [false, true] {
        for _ in 0..changes {
            volume_set(volume, option, if on { "on" } else { "off" })?;
            on = !on;
            if io {
                common::run(&mut kernel, &job)?;
            } else {
                std::thread::sleep(SPACING);
            }
        }
        let what = if io {
            "with I/O (the LUN moves)"
        } else {
            "idle (the watch only)"
        };
        println!("after {changes} changes {what}: {}", status()?);
        std::thread::sleep(SETTLE);
        println!("  {} s later: {}", SETTLE.as_secs(), status()?);
    }
    reactor.remove(id)?;
    Ok(())
}

/// Puts the option's old value back, however the run ends.
struct Restore {
    volume: String,
    option: String,
    value: String,
}

impl Drop for Restore {
    fn drop(&mut self) {
        if let Err(e) = volume_set(&self.volume, &self.option, &self.value) {
            eprintln!("could not restore {}: {e}", self.option);
        }
    }
}

/// Resident memory and threads of this process.
fn status() -> Res<String> {
    let s = common::proc_status(&["VmRSS", "Threads"])?;
    let get = |k| {
        s.get(k)
            .copied()
            .ok_or(format!("no {k} in /proc/self/status"))
    };
    Ok(format!(
        "resident {} kB, threads {}",
        get("VmRSS")?,
        get("Threads")?
    ))
}

fn volume_set(volume: &str, option: &str, value: &str) -> Res<()> {
    let out = Command::new("gluster")
        .args(["--mode=script", "volume", "set", volume, option, value])
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "gluster volume set {volume} {option} {value}: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(())
}

/// The option's current value (`gluster volume get`'s last column).
fn volume_get(volume: &str, option: &str) -> Res<String> {
    let out = Command::new("gluster")
        .args(["--mode=script", "volume", "get", volume, option])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.starts_with(option))
        .and_then(|l| l.split_whitespace().nth(1))
        .map(str::to_string)
        .ok_or_else(|| format!("gluster volume get {volume} {option}: {text}").into())
}
