//! The HA control thread (`daemon::ha::driver`) and an HA LUN's data-path side without
//! Gluster: a RAM backstore behind a fake image lock that fences writes the way the
//! bricks do (docs/HA.md), driven through the fake kernel and a reactor. Covers what the
//! real-glusterd test cannot provoke at will: a lock call that fails.

mod common;

use gluster_tcmu::backstore::{
    Backstore, BackstoreError, IoCompletion, IoOp, IoRequest, RamBackstore, Rejected,
};
use gluster_tcmu::daemon::ha::driver::{self, OnReactor, TAKE_BACK_HOLD_OFF};
use gluster_tcmu::device::Device;
use gluster_tcmu::ha::ImageLock;
use gluster_tcmu::reactor::Reactor;
use gluster_tcmu::scsi::SenseKey;
use gluster_tcmu::scsi::alua::{AccessState, LunAlua, PortGroup};
use gluster_tcmu::testing::{Completed, DataDir, FakeKernel};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BLOCKS: u64 = 64;
const ME: u8 = 1;
const OTHER: u8 = 2;

/// Who holds the image lock, whether the next lock calls fail (bricks away), and whether
/// this gateway has lost its connection to them (its backstore refuses every request as
/// the glfs backstore of an HA LUN does while it has no connection).
#[derive(Debug, Default)]
struct Bricks {
    holder: Mutex<Option<u8>>,
    refuse: AtomicBool,
    link_down: AtomicBool,
}

impl Bricks {
    fn holder(&self) -> Option<u8> {
        *self.holder.lock().expect("holder")
    }

    fn set_holder(&self, who: Option<u8>) {
        *self.holder.lock().expect("holder") = who;
    }
}

/// The lock as gateway `me` takes it.
#[derive(Debug)]
struct FakeLock {
    bricks: Arc<Bricks>,
}

impl ImageLock for FakeLock {
    fn take(&self) -> std::io::Result<()> {
        if self.bricks.refuse.load(Ordering::SeqCst) {
            return Err(std::io::Error::from_raw_os_error(libc::ENOTCONN));
        }
        self.bricks.set_holder(Some(ME));
        Ok(())
    }

    fn release(&self) -> std::io::Result<()> {
        self.bricks.set_holder(None);
        Ok(())
    }

    fn taken_by_another(&self) -> std::io::Result<bool> {
        Ok(self.bricks.holder().is_some_and(|h| h != ME))
    }
}

/// A RAM LUN whose writes the "bricks" refuse unless this gateway holds the lock.
#[derive(Debug)]
struct LockedRam {
    ram: RamBackstore,
    bricks: Arc<Bricks>,
    fenced: Vec<IoCompletion>,
}

impl Backstore for LockedRam {
    fn size(&self) -> u64 {
        self.ram.size()
    }

    fn submit(&mut self, request: IoRequest) -> Result<(), Box<Rejected>> {
        if self.bricks.link_down.load(Ordering::SeqCst) {
            let error = BackstoreError::Fenced(libc::ENOTCONN);
            return Err(Box::new(Rejected { error, request }));
        }
        let writes = matches!(request.op, IoOp::Write { .. });
        if writes && self.bricks.holder() != Some(ME) {
            let result = Err(BackstoreError::Fenced(libc::EBUSY));
            self.fenced.push(IoCompletion {
                tag: request.tag,
                result,
            });
            return Ok(());
        }
        self.ram.submit(request)
    }

    fn has_completions(&self) -> bool {
        !self.fenced.is_empty() || self.ram.has_completions()
    }

    fn drain(&mut self, out: &mut Vec<IoCompletion>) {
        out.append(&mut self.fenced);
        self.ram.drain(out);
    }

    fn in_flight(&self) -> usize {
        self.fenced.len() + self.ram.in_flight()
    }

    fn has_image_lock(&self) -> bool {
        true
    }

    fn image_lock(&mut self) -> Option<Arc<dyn ImageLock>> {
        Some(Arc::new(FakeLock {
            bricks: self.bricks.clone(),
        }))
    }
}

struct Lun {
    kernel: FakeKernel,
    on: OnReactor,
}

fn ha_lun(reactor: &Arc<Reactor>, bricks: &Arc<Bricks>) -> Lun {
    let backstore = LockedRam {
        ram: RamBackstore::new(BLOCKS * 512),
        bricks: bricks.clone(),
        fenced: Vec::new(),
    };
    let mut lun = common::lun(BLOCKS);
    let group = |id| PortGroup {
        id,
        state: AccessState::ActiveOptimized,
        preferred: false,
        status: 0,
        ports: vec![id],
    };
    lun.alua = Some(LunAlua {
        groups: vec![group(1), group(2)],
        receiving_port: 1,
        transition_secs: 0,
    });
    let (kernel, mut device) = common::device_with(Default::default(), lun, Box::new(backstore));
    assert!(device.enable_ha());
    assert_eq!(
        device.alua_state(),
        Some(AccessState::ActiveNonOptimized),
        "HA starts without the lock: Active/Non-optimized, never Standby (Linux sends no I/O to a Standby path)"
    );
    let events = device.take_ha_events().expect("events");
    let id = reactor.add(device).expect("serve");
    let on = OnReactor {
        reactor: reactor.clone(),
        id,
    };
    driver::spawn("fake", on.clone(), events).expect("HA thread");
    Lun { kernel, on }
}

impl Lun {
    fn command(&mut self, cdb: &[u8], dir: DataDir<'_>) -> Completed {
        self.kernel.submit(cdb, dir).expect("submit");
        loop {
            assert!(
                self.kernel
                    .wait_kick(Duration::from_secs(10))
                    .expect("kick")
            );
            if let Some(c) = self.kernel.reap().expect("protocol").pop() {
                return c;
            }
        }
    }

    fn write(&mut self, lba: u64) -> Completed {
        let data = common::pattern(lba, 8, 9);
        self.command(&common::write16(lba, 8, false), DataDir::ToDevice(&data))
    }

    /// A write on this standby LUN takes the lock: 04h/0Ah until it holds it, then the
    /// state-change attention, then the write is served.
    fn take_over_with_a_write(&mut self, lba: u64) {
        assert_eq!(sense(&self.write(lba)), TRANSITIONING);
        self.wait_state(AccessState::ActiveOptimized);
        assert_eq!(sense(&self.write(lba)), STATE_CHANGED);
        assert_eq!(self.write(lba).status, 0);
    }

    fn state(&self) -> Option<AccessState> {
        let job = |d: Option<&mut Device>| d.and_then(|d| d.alua_state());
        self.on
            .reactor
            .with_device(self.on.id, job)
            .expect("reactor")
    }

    fn wait_state(&self, state: AccessState) {
        let started = Instant::now();
        while self.state() != Some(state) {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{:?}",
                self.state()
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

fn sense(c: &Completed) -> (SenseKey, u8, u8) {
    assert_eq!(c.status, 0x02, "{c:?}");
    let s = common::sense_of(c);
    (s.key, s.asc, s.ascq)
}

const TRANSITIONING: (SenseKey, u8, u8) = (SenseKey::NotReady, 0x04, 0x0A);
const STATE_CHANGED: (SenseKey, u8, u8) = (SenseKey::UnitAttention, 0x2A, 0x06);

#[test]
fn a_failed_lock_call_leaves_the_lun_without_the_lock_and_the_next_media_access_tries_again() {
    let reactor = Arc::new(Reactor::spawn("ha-fake").expect("reactor"));
    let bricks = Arc::new(Bricks::default());
    bricks.refuse.store(true, Ordering::SeqCst);
    let mut lun = ha_lun(&reactor, &bricks);

    assert_eq!(sense(&lun.write(0)), TRANSITIONING);
    lun.wait_state(AccessState::ActiveNonOptimized);
    assert_eq!(sense(&lun.command(&[0; 6], DataDir::None)), STATE_CHANGED);
    // A path checker's TEST UNIT READY is served and takes nothing over.
    assert_eq!(lun.command(&[0; 6], DataDir::None).status, 0);
    assert_eq!(bricks.holder(), None);

    bricks.refuse.store(false, Ordering::SeqCst);
    lun.take_over_with_a_write(0);
    assert_eq!(bricks.holder(), Some(ME));
}

#[test]
fn a_preempted_lun_fails_its_writes_drains_to_non_optimized_and_takes_the_lock_back() {
    let reactor = Arc::new(Reactor::spawn("ha-fake").expect("reactor"));
    let bricks = Arc::new(Bricks::default());
    let mut lun = ha_lun(&reactor, &bricks);
    lun.take_over_with_a_write(0);

    bricks.set_holder(Some(OTHER)); // another gateway preempts this one
    assert_eq!(sense(&lun.write(8)), TRANSITIONING, "fenced, never GOOD");
    let fenced = Instant::now();
    lun.wait_state(AccessState::ActiveNonOptimized);
    assert_eq!(bricks.holder(), Some(OTHER), "a fence takes nothing back");
    assert_eq!(sense(&lun.command(&[0; 6], DataDir::None)), STATE_CHANGED);
    assert_eq!(
        lun.command(&[0; 6], DataDir::None).status,
        0,
        "TEST UNIT READY served"
    );
    assert_eq!(
        bricks.holder(),
        Some(OTHER),
        "TEST UNIT READY takes nothing over"
    );
    // The fake's bricks do not refuse reads, but a read without the lock is media access:
    // it takes the lock back (the initiator moved its I/O here again).
    let read = lun.command(&common::read16(0, 8), DataDir::FromDevice(8 * 512));
    assert_eq!(sense(&read), TRANSITIONING);
    // Not at once: a gateway that lost the lock waits before taking it back, so two
    // paths with I/O on both do not move it back and forth (the other one is served).
    std::thread::sleep(TAKE_BACK_HOLD_OFF / 2);
    assert_eq!(
        bricks.holder(),
        Some(OTHER),
        "taken back within the hold-off"
    );
    assert_eq!(lun.state(), Some(AccessState::Transitioning));
    // multipathd's `tur` checker would fail the path on 04h/0Ah and move the I/O away.
    assert_eq!(
        lun.command(&[0; 6], DataDir::None).status,
        0,
        "TEST UNIT READY served while the lock moves"
    );
    lun.wait_state(AccessState::ActiveOptimized);
    // (The test's clock started after the daemon's, when the fenced write came back.)
    let waited = fenced.elapsed() + Duration::from_millis(200);
    assert!(waited >= TAKE_BACK_HOLD_OFF, "{waited:?}");
    assert_eq!(bricks.holder(), Some(ME));
}

#[test]
fn an_active_lun_that_loses_its_bricks_steps_down_instead_of_answering_busy() {
    let reactor = Arc::new(Reactor::spawn("ha-fake").expect("reactor"));
    let bricks = Arc::new(Bricks::default());
    let mut lun = ha_lun(&reactor, &bricks);
    lun.take_over_with_a_write(0);

    // BUSY would keep the initiator retrying this path; the transition sense makes it
    // give the path up after a few tries and move to a gateway that reaches the bricks.
    bricks.link_down.store(true, Ordering::SeqCst);
    bricks.refuse.store(true, Ordering::SeqCst);
    assert_eq!(sense(&lun.write(8)), TRANSITIONING, "refused at submit");
    lun.wait_state(AccessState::ActiveNonOptimized);
    assert_eq!(sense(&lun.command(&[0; 6], DataDir::None)), STATE_CHANGED);
    let fenced = lun
        .on
        .reactor
        .with_device(lun.on.id, |d| d.map(|d| d.stats().ha_fenced))
        .expect("reactor");
    assert_eq!(fenced, Some(1));

    // Back in touch: the next media access takes the lock again (after the hold-off).
    bricks.link_down.store(false, Ordering::SeqCst);
    bricks.refuse.store(false, Ordering::SeqCst);
    lun.take_over_with_a_write(8);
}

#[test]
fn a_holder_whose_lock_another_gateway_took_steps_down_without_a_write() {
    let reactor = Arc::new(Reactor::spawn("ha-fake").expect("reactor"));
    let bricks = Arc::new(Bricks::default());
    let mut lun = ha_lun(&reactor, &bricks);
    lun.take_over_with_a_write(0);

    // The other gateway takes the lock and this one gets no I/O: it would report
    // Active/Optimized until its next write is refused; its check of the lock finds out.
    bricks.set_holder(Some(OTHER));
    lun.wait_state(AccessState::ActiveNonOptimized);
    assert_eq!(sense(&lun.command(&[0; 6], DataDir::None)), STATE_CHANGED);
    assert_eq!(lun.command(&[0; 6], DataDir::None).status, 0);
    assert_eq!(bricks.holder(), Some(OTHER), "nothing taken back");
}
