//! Shared pieces of the fake-kernel integration tests: CDB builders, a device wired to a
//! fake kernel, and a backstore that finishes requests out of order.
#![allow(dead_code)]

pub mod exports;
pub mod gluster;

pub mod model;

use gluster_tcmu::backstore::{
    Backstore, BackstoreError, IoCompletion, IoRequest, RamBackstore, Rejected,
};
use gluster_tcmu::device::Device;
use gluster_tcmu::scsi::{LunConfig, Sense};
use gluster_tcmu::testing::{Completed, FakeKernel, FakeKernelConfig};

pub const BLOCK: u32 = 512;

pub fn read16(lba: u64, blocks: u32) -> [u8; 16] {
    rw16(0x88, lba, blocks, false)
}

pub fn write16(lba: u64, blocks: u32, fua: bool) -> [u8; 16] {
    rw16(0x8a, lba, blocks, fua)
}

fn rw16(op: u8, lba: u64, blocks: u32, fua: bool) -> [u8; 16] {
    let mut c = [0u8; 16];
    c[0] = op;
    c[1] = if fua { 0x08 } else { 0 };
    c[2..10].copy_from_slice(&lba.to_be_bytes());
    c[10..14].copy_from_slice(&blocks.to_be_bytes());
    c
}

pub fn read10(lba: u32, blocks: u16) -> [u8; 10] {
    let mut c = [0u8; 10];
    c[0] = 0x28;
    c[2..6].copy_from_slice(&lba.to_be_bytes());
    c[7..9].copy_from_slice(&blocks.to_be_bytes());
    c
}

pub fn write10(lba: u32, blocks: u16) -> [u8; 10] {
    let mut c = read10(lba, blocks);
    c[0] = 0x2a;
    c
}

pub fn sync_cache10() -> [u8; 10] {
    let mut c = [0u8; 10];
    c[0] = 0x35;
    c
}

pub fn inquiry(alloc: u16) -> [u8; 6] {
    let a = alloc.to_be_bytes();
    [0x12, 0, 0, a[0], a[1], 0]
}

pub fn read_capacity16() -> [u8; 16] {
    let mut c = [0u8; 16];
    c[0] = 0x9e;
    c[1] = 0x10;
    c[13] = 32;
    c
}

/// Decodes the sense a completion carries.
pub fn sense_of(c: &Completed) -> Sense {
    Sense::decode(&c.sense).unwrap_or_else(|| panic!("undecodable sense in {c:?}"))
}

/// A deterministic data pattern for `blocks` blocks starting at `lba`, tagged by `seed`.
pub fn pattern(lba: u64, blocks: u32, seed: u64) -> Vec<u8> {
    let mut out = vec![0u8; (blocks * BLOCK) as usize];
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        let v = (lba * 64 + i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ seed;
        chunk.copy_from_slice(&v.to_le_bytes()[..chunk.len()]);
    }
    out
}

/// A thin-provisioned test LUN (UNMAP and WRITE SAME with UNMAP allowed).
pub fn lun(blocks: u64) -> LunConfig {
    let mut l = LunConfig::new(BLOCK, blocks, "test0001");
    l.thin = true;
    l
}

/// A fake kernel and a device attached to it, stepped by hand.
pub fn device_with(
    cfg: FakeKernelConfig,
    lun: LunConfig,
    backstore: Box<dyn Backstore>,
) -> (FakeKernel, Device) {
    let mut kernel = FakeKernel::new(cfg).expect("fake kernel");
    let mut device = gluster_tcmu::testing::attach_device(&kernel, lun, backstore).expect("device");
    clear_power_on_attention(&mut kernel, &mut device);
    (kernel, device)
}

/// Sends TEST UNIT READY and expects the POWER ON/RESET unit attention every new unit
/// reports once, as an initiator's first command would.
pub fn clear_power_on_attention(kernel: &mut FakeKernel, device: &mut Device) {
    kernel
        .submit(&[0, 0, 0, 0, 0, 0], gluster_tcmu::testing::DataDir::None)
        .expect("submit TUR");
    let c = run_until(kernel, device, 1).pop().expect("TUR completion");
    // Consume the doorbell the TUR rang, so the next wait_kick waits for new work.
    kernel
        .wait_kick(std::time::Duration::ZERO)
        .expect("kick eventfd");
    assert_eq!(c.status, 2);
    let s = sense_of(&c);
    assert_eq!(
        (s.key, s.asc, s.ascq),
        (gluster_tcmu::scsi::SenseKey::UnitAttention, 0x29, 0x00)
    );
}

pub fn ram_device(blocks: u64) -> (FakeKernel, Device) {
    let ram = RamBackstore::new(blocks * u64::from(BLOCK));
    device_with(FakeKernelConfig::default(), lun(blocks), Box::new(ram))
}

/// One reactor-less turn: read the ring, run the backstore, publish, kick.
pub fn step(device: &mut Device) {
    device.process_ring().expect("process ring");
    device.reap().expect("reap");
    device.finish_batch().expect("finish batch");
}

/// Reaps until `n` completions arrived, stepping the device in between.
pub fn run_until(kernel: &mut FakeKernel, device: &mut Device, n: usize) -> Vec<Completed> {
    let mut got = Vec::new();
    for _ in 0..1000 {
        step(device);
        got.extend(kernel.reap().expect("protocol violation"));
        if got.len() >= n {
            return got;
        }
    }
    panic!(
        "only {} of {n} completions arrived: {:?}",
        got.len(),
        got.iter().map(|c| (c.cmd_id, c.status)).collect::<Vec<_>>()
    );
}

/// A RAM backstore whose completions are held back and released in a scrambled order,
/// so the ring sees out-of-order completion.
#[derive(Debug)]
pub struct Scrambler {
    inner: RamBackstore,
    held: Vec<IoCompletion>,
    seed: u64,
}

impl Scrambler {
    pub fn new(size: u64, seed: u64) -> Self {
        Self {
            inner: RamBackstore::new(size),
            held: Vec::new(),
            seed,
        }
    }

    fn next(&mut self) -> u64 {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        self.seed
    }
}

impl Backstore for Scrambler {
    fn size(&self) -> u64 {
        self.inner.size()
    }

    fn submit(&mut self, request: IoRequest) -> Result<(), Box<Rejected>> {
        self.inner.submit(request)?;
        self.inner.drain(&mut self.held);
        Ok(())
    }

    /// Releases a random subset of what is held, in a random order.
    fn drain(&mut self, out: &mut Vec<IoCompletion>) {
        let mut keep = Vec::new();
        let held = std::mem::take(&mut self.held);
        for c in held {
            if self.next() % 3 == 0 {
                keep.push(c)
            } else {
                out.push(c)
            }
        }
        let n = out.len();
        for i in (1..n).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            out.swap(i, j);
        }
        self.held = keep;
    }

    fn in_flight(&self) -> usize {
        self.held.len()
    }

    fn resize(&mut self, new_size: u64) -> Result<(), BackstoreError> {
        self.inner.resize(new_size)
    }
}

/// A RAM backstore that finishes requests on a worker thread after a delay and signals
/// an eventfd, like an asynchronous network backstore.
#[derive(Debug)]
pub struct Delayed {
    inner: RamBackstore,
    to_worker: Option<std::sync::mpsc::Sender<IoCompletion>>,
    ready: std::sync::Arc<std::sync::Mutex<Vec<IoCompletion>>>,
    event: std::sync::Arc<std::os::fd::OwnedFd>,
    in_flight: usize,
    worker: Option<std::thread::JoinHandle<()>>,
}

impl Delayed {
    pub fn new(size: u64, delay: std::time::Duration) -> Self {
        Self::with_signal(size, delay, true)
    }

    /// Like [`Delayed::new`], but finished requests do not make the notifier readable
    /// (only [`Delayed::signal`] does): they are found through
    /// [`Backstore::has_completions`] or not at all.
    pub fn silent(size: u64, delay: std::time::Duration) -> Self {
        Self::with_signal(size, delay, false)
    }

    /// Makes the notifier readable.
    pub fn signal(event: &std::os::fd::OwnedFd) {
        rustix::io::write(event, &1u64.to_ne_bytes()).unwrap();
    }

    /// The notifier eventfd, for [`Delayed::signal`] from the test.
    pub fn event(&self) -> std::sync::Arc<std::os::fd::OwnedFd> {
        self.event.clone()
    }

    fn with_signal(size: u64, delay: std::time::Duration, signal: bool) -> Self {
        use rustix::event::{EventfdFlags, eventfd};
        let event = std::sync::Arc::new(
            eventfd(0, EventfdFlags::NONBLOCK | EventfdFlags::CLOEXEC).unwrap(),
        );
        let ready = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel::<IoCompletion>();
        let (ev, rd) = (event.clone(), ready.clone());
        let worker = std::thread::spawn(move || {
            for c in rx {
                std::thread::sleep(delay);
                rd.lock().unwrap().push(c);
                if signal {
                    Self::signal(&ev);
                }
            }
        });
        Self {
            inner: RamBackstore::new(size),
            to_worker: Some(tx),
            ready,
            event,
            in_flight: 0,
            worker: Some(worker),
        }
    }
}

impl Drop for Delayed {
    fn drop(&mut self) {
        self.to_worker.take();
        if let Some(w) = self.worker.take() {
            w.join().unwrap();
        }
    }
}

impl Backstore for Delayed {
    fn size(&self) -> u64 {
        self.inner.size()
    }

    fn submit(&mut self, request: IoRequest) -> Result<(), Box<Rejected>> {
        self.inner.submit(request)?;
        let mut done = Vec::new();
        self.inner.drain(&mut done);
        for c in done {
            self.in_flight += 1;
            self.to_worker.as_ref().unwrap().send(c).unwrap();
        }
        Ok(())
    }

    fn notifier(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        use std::os::fd::AsFd;
        Some(self.event.as_fd())
    }

    fn drain(&mut self, out: &mut Vec<IoCompletion>) {
        let _ = rustix::io::read(&*self.event, &mut [0u8; 8]);
        let mut ready = self.ready.lock().unwrap();
        self.in_flight -= ready.len();
        out.append(&mut ready);
    }

    fn has_completions(&self) -> bool {
        !self.ready.lock().unwrap().is_empty()
    }

    fn in_flight(&self) -> usize {
        self.in_flight
    }
}
