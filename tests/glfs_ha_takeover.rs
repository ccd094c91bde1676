//! The HA daemon's wiring on the real glusterd (docs/HA.md): two HA LUNs, each a fake
//! kernel, a GlfsBackstore with the image lock on its own gfapi connection, and an HA
//! control thread (`daemon::ha::driver`), play two gateways of one export on volume gtha.
//!
//! A write on the side without the lock (Active/Non-optimized) takes the image lock over (answered 04h/0Ah until it
//! holds it, then served); the other side's writes that follow are refused by the
//! bricks and answered 04h/0Ah, never GOOD; the image holds what each side wrote while
//! it was active and nothing else. Fails (never skips) without gtha.
#![cfg(feature = "glfs")]

mod common;

use common::gluster::{HOST, require_started, test_options, volume_key, volume_key_at};
use gluster_tcmu::backstore::{GlfsBackstore, GlfsOptions};
use gluster_tcmu::daemon::ha::driver::{self, OnReactor};
use gluster_tcmu::device::Device;
use gluster_tcmu::glfs::VolumeKey;
use gluster_tcmu::reactor::Reactor;
use gluster_tcmu::scsi::SenseKey;
use gluster_tcmu::scsi::alua::{AccessState, LunAlua, PortGroup};
use gluster_tcmu::testing::{Completed, DataDir, FakeKernel};
use std::sync::Arc;
use std::time::{Duration, Instant};

const VOLUME: &str = "gtha";
const BLOCKS: u64 = 64;

/// One gateway: its fake kernel and the LUN served on a shared reactor.
struct Gateway {
    kernel: FakeKernel,
    lun: OnReactor,
}

/// Both gateways' groups, as every gateway reports them; `local` is this one's.
fn groups(local: u16) -> LunAlua {
    let group = |id| PortGroup {
        id,
        state: AccessState::Standby,
        preferred: id == 1,
        status: 0,
        ports: vec![id],
    };
    LunAlua {
        groups: vec![group(1), group(2)],
        receiving_port: local,
        transition_secs: 0,
    }
}

/// Opens `path` through `key` (a connection of its own) as gateway `local`'s HA LUN
/// and starts its control thread.
fn gateway(reactor: &Arc<Reactor>, key: VolumeKey, path: &str, local: u16) -> Gateway {
    let opts = GlfsOptions {
        image_lock: true,
        ..test_options()
    };
    let bs = GlfsBackstore::open_at(key, path, BLOCKS * 512, &opts).expect("open the image");
    let mut lun = common::lun(BLOCKS);
    lun.alua = Some(groups(local));
    let (kernel, mut device) = common::device_with(Default::default(), lun, Box::new(bs));
    assert!(device.enable_ha(), "an HA LUN");
    let events = device.take_ha_events().expect("the HA events");
    let id = reactor.add(device).expect("serve");
    let lun = OnReactor {
        reactor: reactor.clone(),
        id,
    };
    driver::spawn(&format!("gw{local}"), lun.clone(), events).expect("HA thread");
    Gateway { kernel, lun }
}

/// Opens `path` as a plain LUN (no image lock, no groups: opened before the admin or
/// the gateway made the target port groups), then gives it gateway `local`'s groups as
/// the daemon does when they appear in configfs, and starts its control thread.
fn adopted_gateway(reactor: &Arc<Reactor>, key: VolumeKey, path: &str, local: u16) -> Gateway {
    let bs = GlfsBackstore::open_at(key, path, BLOCKS * 512, &test_options()).expect("open");
    let (kernel, device) =
        common::device_with(Default::default(), common::lun(BLOCKS), Box::new(bs));
    let id = reactor.add(device).expect("serve");
    let adopt = move |d: Option<&mut Device>| {
        let d = d.expect("served");
        assert_eq!(d.alua_state(), None, "no groups at open");
        assert!(d.adopt_port_groups(groups(local)), "adopted");
        d.take_ha_events().expect("the HA events")
    };
    let events = reactor.with_device(id, adopt).expect("reactor");
    let lun = OnReactor {
        reactor: reactor.clone(),
        id,
    };
    driver::spawn(&format!("gw{local}"), lun.clone(), events).expect("HA thread");
    Gateway { kernel, lun }
}

impl Gateway {
    /// Sends one command and waits for its answer.
    fn command(&mut self, cdb: &[u8], dir: DataDir<'_>) -> Completed {
        self.kernel.submit(cdb, dir).expect("submit");
        self.answers(1).remove(0)
    }

    /// Waits for `n` answers.
    fn answers(&mut self, n: usize) -> Vec<Completed> {
        let mut got = Vec::new();
        while got.len() < n {
            let kicked = self
                .kernel
                .wait_kick(Duration::from_secs(30))
                .expect("kick");
            assert!(kicked, "no answer within 30 s");
            got.extend(self.kernel.reap().expect("protocol violation"));
        }
        got
    }

    fn write(&mut self, lba: u64, seed: u64) -> Completed {
        let data = common::pattern(lba, 8, seed);
        self.command(&common::write16(lba, 8, false), DataDir::ToDevice(&data))
    }

    /// Writes until the write is GOOD (the takeover it starts completes), checking
    /// that every answer before is the transition sense or the state-change attention;
    /// returns how many were refused.
    fn write_taking_over(&mut self, lba: u64, seed: u64) -> usize {
        let started = Instant::now();
        let mut refused = 0;
        loop {
            let c = self.write(lba, seed);
            if c.status == 0 {
                return refused;
            }
            let s = common::sense_of(&c);
            let ok = [
                (SenseKey::NotReady, 0x04, 0x0A),
                (SenseKey::UnitAttention, 0x2A, 0x06),
            ];
            assert!(ok.contains(&(s.key, s.asc, s.ascq)), "{c:?}");
            refused += 1;
            assert!(started.elapsed() < Duration::from_secs(10), "no takeover");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// (takeovers, fenced requests) the LUN counted for the metrics.
    fn ha_counts(&self) -> (u64, u64) {
        let stats = self.lun.reactor.stats(self.lun.id).expect("stats");
        (stats.ha_takeovers, stats.ha_fenced)
    }

    fn state(&self) -> Option<AccessState> {
        self.lun
            .reactor
            .with_device(self.lun.id, |d| d.and_then(|d: &mut Device| d.alua_state()))
            .expect("reactor")
    }

    /// Waits until the LUN reports `state`.
    fn wait_state(&self, state: AccessState) {
        let started = Instant::now();
        while self.state() != Some(state) {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{:?}",
                self.state()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn is_transition_sense(c: &Completed) -> bool {
    c.status == 0x02 && {
        let s = common::sense_of(c);
        (s.key, s.asc, s.ascq) == (SenseKey::NotReady, 0x04, 0x0A)
    }
}

#[test]
fn a_takeover_moves_the_active_side_and_fences_the_old_ones_writes() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("info")
        .try_init();
    require_started(VOLUME);
    let image = common::gluster::Image::on(volume_key(VOLUME, HOST), "ha-takeover-luns");
    let reactor = Arc::new(Reactor::spawn("ha-takeover").expect("reactor"));
    let mut a = gateway(&reactor, volume_key(VOLUME, HOST), &image, 1);
    let mut b = gateway(
        &reactor,
        volume_key_at(VOLUME, "127.0.0.1", 24007),
        &image,
        2,
    );
    // Without the lock: Active/Non-optimized (Linux sends no I/O to a Standby path).
    assert_eq!(a.state(), Some(AccessState::ActiveNonOptimized));
    assert_eq!(b.state(), Some(AccessState::ActiveNonOptimized));

    // A path checker's TEST UNIT READY is served and takes nothing over.
    let tur = a.command(&[0; 6], DataDir::None);
    assert_eq!(tur.status, 0, "{tur:?}");
    assert_eq!(a.state(), Some(AccessState::ActiveNonOptimized));

    // The initiator sends its I/O to A: A takes the lock and serves.
    let refused = a.write_taking_over(0, 1);
    eprintln!("A took over after {refused} refused write(s)");
    assert!(
        refused >= 1,
        "the first write on a path without the lock is not served"
    );
    a.wait_state(AccessState::ActiveOptimized);
    assert_eq!(a.write(8, 1).status, 0);

    // The initiator moves to B: B preempts A.
    let refused = b.write_taking_over(8, 2);
    eprintln!("B took over after {refused} refused write(s)");
    b.wait_state(AccessState::ActiveOptimized);

    // Writes still queued on A reach the bricks after the takeover: each refused.
    for lba in [0u64, 16, 24] {
        let data = common::pattern(lba, 8, 3);
        a.kernel
            .submit(&common::write16(lba, 8, false), DataDir::ToDevice(&data))
            .expect("submit");
    }
    for c in a.answers(3) {
        assert!(
            is_transition_sense(&c),
            "A's write after the takeover: {c:?}"
        );
    }
    a.wait_state(AccessState::ActiveNonOptimized);
    assert_eq!(b.state(), Some(AccessState::ActiveOptimized));

    // A flush on A, which no longer holds the lock (Linux sends one down every path's
    // disk when a session logs out): the bricks accept the fsync, and nothing moves.
    let sync = [0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let mut flush = a.command(&sync, DataDir::None);
    if flush.status == 0x02 && common::sense_of(&flush).key == SenseKey::UnitAttention {
        flush = a.command(&sync, DataDir::None); // A's step down, announced first
    }
    assert_eq!(
        flush.status, 0,
        "SYNCHRONIZE CACHE without the lock: {flush:?}"
    );
    assert_eq!(a.state(), Some(AccessState::ActiveNonOptimized));
    assert_eq!(b.state(), Some(AccessState::ActiveOptimized));
    assert_eq!(b.write(40, 2).status, 0, "B still holds the lock");

    // The image, read through B: A's data from when it was active, B's, and none of
    // A's later writes.
    let expect = [(0u64, Some(1u64)), (8, Some(2)), (16, None), (24, None)];
    for (lba, seed) in expect {
        let c = b.command(&common::read16(lba, 8), DataDir::FromDevice(8 * 512));
        assert_eq!(c.status, 0, "read at {lba}");
        let want = seed.map_or(vec![0u8; 8 * 512], |s| common::pattern(lba, 8, s));
        assert!(
            c.data_in == want,
            "LBA {lba}: not the data of seed {seed:?}"
        );
    }

    // Failback: the initiator returns to A, which preempts B in turn.
    let refused = a.write_taking_over(32, 4);
    eprintln!("A took it back after {refused} refused write(s)");
    a.wait_state(AccessState::ActiveOptimized);
    assert!(
        is_transition_sense(&b.write(32, 5)),
        "B's write after the failback"
    );
    b.wait_state(AccessState::ActiveNonOptimized);
    let c = a.command(&common::read16(32, 8), DataDir::FromDevice(8 * 512));
    assert!(
        c.status == 0 && c.data_in == common::pattern(32, 8, 4),
        "LBA 32"
    );
    drop((a, b));
    drop(reactor);
}

/// A LUN that got its port groups after it opened is fenced like one opened with them:
/// the first media access after adoption is refused (INQUIRY DATA HAS CHANGED, then the
/// takeover), its lock enforces the image itself (a fresh image, never enforced), and
/// once the other gateway took over, its writes are refused, never landed.
#[test]
fn a_lun_given_port_groups_after_its_open_takes_over_and_is_fenced() {
    require_started(VOLUME);
    let image = common::gluster::Image::on(volume_key(VOLUME, HOST), "ha-adopted-lun");
    let reactor = Arc::new(Reactor::spawn("ha-adopt").expect("reactor"));
    let mut a = adopted_gateway(&reactor, volume_key(VOLUME, HOST), &image, 1);
    assert_eq!(a.state(), Some(AccessState::ActiveNonOptimized));
    let first = a.write(0, 1);
    let s = common::sense_of(&first);
    assert_eq!(
        (s.key, s.asc, s.ascq),
        (SenseKey::UnitAttention, 0x3F, 0x03),
        "INQUIRY DATA HAS CHANGED first: {first:?}"
    );
    a.write_taking_over(0, 1);
    a.wait_state(AccessState::ActiveOptimized);

    // A's lock alone fences the image: a writer without it (its own connection, the
    // image opened plainly) is refused. (On an image not enforced, the same write
    // would wait on the brick for the lock: bounded here so that shows as a failure.)
    let other = gluster_tcmu::glfs::ConnectionPool::global()
        .get(
            &volume_key_at(VOLUME, "localhost", 24007),
            &test_options().connect,
        )
        .expect("a third connection");
    let plain = gluster_tcmu::glfs::GlfsFile::open_or_create(other, &image).expect("open");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(
            plain
                .write_at(&[7u8; 512], 40 * 512)
                .map_err(|e| e.raw_os_error()),
        );
    });
    let refused = rx.recv_timeout(Duration::from_secs(10));
    assert_eq!(
        refused,
        Ok(Err(Some(libc::EBUSY))),
        "a write without the lock"
    );

    let mut b = gateway(
        &reactor,
        volume_key_at(VOLUME, "127.0.0.1", 24007),
        &image,
        2,
    );
    b.write_taking_over(8, 2);
    b.wait_state(AccessState::ActiveOptimized);
    assert!(
        is_transition_sense(&a.write(16, 3)),
        "A's write after B took over"
    );
    a.wait_state(AccessState::ActiveNonOptimized);
    let c = b.command(&common::read16(16, 8), DataDir::FromDevice(8 * 512));
    assert!(
        c.status == 0 && c.data_in == vec![0u8; 8 * 512],
        "A's late write did not land"
    );
    let c = b.command(&common::read16(0, 8), DataDir::FromDevice(8 * 512));
    assert!(
        c.status == 0 && c.data_in == common::pattern(0, 8, 1),
        "A's write while active"
    );
    assert_eq!(a.ha_counts(), (1, 1), "A: one takeover, one fenced request");
    assert_eq!(b.ha_counts(), (1, 0), "B: one takeover");
    drop((a, b));
    drop(reactor);
}
