//! The export's lock: a holder that died is taken over, a live one is waited for.

use super::*;
use crate::export::ops::lock::holder_json;
use crate::export::report::unix_now;

const LOCK: &str = "/gluster-tcmu/tmp/disk1.lock";

fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned()
}

/// The pid of a process that has ended.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    child.wait().unwrap();
    child.id()
}

#[test]
fn a_lock_left_by_a_process_of_this_host_that_is_gone_is_taken_over_at_once() {
    let fx = Fixture::new();
    fx.ops(&Quiet).create(&request("disk1")).unwrap();
    let lock = holder_json(&this_host(), dead_pid(), unix_now());
    fx.store().publish(LOCK, &lock, 0o600).unwrap();
    let seen = Recorder::default();
    let started = std::time::Instant::now();
    fx.ops(&seen).resize(&at("disk1"), 8 * MIB).unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    assert!(
        seen.lines()
            .iter()
            .any(|l| l.starts_with("taking over the lock process"))
    );
    assert_eq!(fx.store().read(LOCK).unwrap(), None, "released");
}

#[test]
fn an_old_lock_of_another_host_is_taken_over() {
    let fx = Fixture::new();
    fx.ops(&Quiet).create(&request("disk1")).unwrap();
    let lock = holder_json("elsewhere", 1, unix_now() - 3600);
    fx.store().publish(LOCK, &lock, 0o600).unwrap();
    fx.ops(&Quiet).delete(&at("disk1"), false).unwrap();
    assert_eq!(record_on(&fx, "disk1"), None);
    assert_eq!(fx.store().read(LOCK).unwrap(), None);
}

#[test]
fn a_live_lock_is_waited_for_and_then_the_command_gives_up_changing_nothing() {
    let fx = Fixture::new();
    fx.ops(&Quiet).create(&request("disk1")).unwrap();
    let lock = holder_json("elsewhere", 4242, unix_now());
    fx.store().publish(LOCK, &lock, 0o600).unwrap();
    let before = fx.snapshot();
    let waits = Waits {
        lock: std::time::Duration::from_millis(200),
        ..fast_waits()
    };
    let ops = Ops::new(&fx.opener, &[], &Quiet).with_waits(waits);
    let err = ops.delete(&at("disk1"), false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "export disk1 is being changed by process 4242 on elsewhere \
         (/gluster-tcmu/tmp/disk1.lock on the volume): try again when it is done"
    );
    assert_eq!(fx.snapshot(), before);
}

#[test]
fn a_lock_released_while_waiting_lets_the_command_through() {
    let fx = Fixture::new();
    fx.ops(&Quiet).create(&request("disk1")).unwrap();
    let lock = holder_json(&this_host(), std::process::id(), unix_now());
    fx.store().publish(LOCK, &lock, 0o600).unwrap();
    std::thread::scope(|s| {
        let resize = s.spawn(|| fx.ops(&Quiet).resize(&at("disk1"), 8 * MIB));
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert_eq!(record_on(&fx, "disk1").unwrap().size, 4 * MIB, "waits");
        fx.store().remove(LOCK).unwrap();
        resize.join().unwrap().unwrap();
    });
    assert_eq!(record_on(&fx, "disk1").unwrap().size, 8 * MIB);
}

/// A long command (a clone's copy) says it is alive: its lock's time moves on, so it
/// never looks stale to another host.
#[test]
fn a_refreshed_lock_is_held_with_a_new_time() {
    let fx = Fixture::new();
    fx.ops(&Quiet).create(&request("disk1")).unwrap();
    let ops = fx.ops(&Quiet);
    let found = ops.locate(&at("disk1")).unwrap();
    let held = ops.lock(&found).unwrap();
    let old = holder_json(&this_host(), std::process::id(), unix_now() - 50);
    fx.store().replace(LOCK, &old, 0o600).unwrap();
    held.refresh().unwrap();
    let now: serde_json::Value =
        serde_json::from_slice(&fx.store().read(LOCK).unwrap().unwrap()).unwrap();
    assert!(now["taken"].as_u64().unwrap() + 5 >= unix_now(), "{now}");
    assert_eq!(now["pid"].as_u64(), Some(u64::from(std::process::id())));
    drop(held);
    assert_eq!(fx.store().read(LOCK).unwrap(), None, "released");
}
