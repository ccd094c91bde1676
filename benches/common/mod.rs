//! What the criterion benches share: a fake kernel with a device on the calling thread,
//! and one batch of 4 KiB commands (submit `depth`, step the device once, wait for the
//! backstore, publish once, reap `depth`).

use gluster_tcmu::backstore::Backstore;
use gluster_tcmu::device::Device;
use gluster_tcmu::scsi::LunConfig;
use gluster_tcmu::testing::{DataDir, FakeKernel, FakeKernelConfig, SubmitOpts, attach_device};
use rustix::event::{PollFd, PollFlags, poll};
use std::hint::black_box;

pub const IO: usize = 4096;
pub const BLOCK: u32 = 512;
pub const DEPTHS: [usize; 3] = [1, 32, 128];

/// A fake kernel with a 2048-block data area and a device of `disk_blocks` blocks on
/// `backstore`, its POWER ON unit attention already collected.
pub fn setup(disk_blocks: u64, backstore: Box<dyn Backstore>) -> (FakeKernel, Device) {
    let cfg = FakeKernelConfig {
        cmd_ring_bytes: 1 << 20,
        data_blocks: 2048,
        ..Default::default()
    };
    let mut kernel = FakeKernel::new(cfg).expect("fake kernel");
    let lun = LunConfig::new(BLOCK, disk_blocks, "bench0001");
    let mut device = attach_device(&kernel, lun, backstore).expect("device");
    // Consume the POWER ON/RESET unit attention, as an initiator's first command does.
    kernel.submit(&[0; 6], DataDir::None).expect("TUR");
    device.process_ring().expect("process");
    device.finish_batch().expect("finish");
    assert_eq!(kernel.reap().expect("protocol").len(), 1);
    (kernel, device)
}

fn cdb(op: u8, lba: u64) -> [u8; 16] {
    let mut c = [0u8; 16];
    c[0] = op;
    c[2..10].copy_from_slice(&lba.to_be_bytes());
    c[10..14].copy_from_slice(&((IO as u32) / BLOCK).to_be_bytes());
    c
}

/// Waits for the backstore's notifier (if it has one) and answers what finished, until
/// nothing is left; an inline backstore is done after one reap.
fn settle(dev: &mut Device) {
    dev.reap().expect("reap");
    while dev.backstore_in_flight() > 0 {
        if let Some(fd) = dev.backstore_fd() {
            let mut fds = [PollFd::from_borrowed_fd(fd, PollFlags::IN)];
            poll(&mut fds, None).expect("poll");
        }
        dev.reap().expect("reap");
    }
}

/// One batch of `depth` random 4 KiB reads or writes over `disk_blocks` blocks.
pub fn batch(
    k: &mut FakeKernel,
    dev: &mut Device,
    (write, depth, disk_blocks): (bool, usize, u64),
    next: &mut u64,
    data: &[u8],
) {
    let per_io = u64::from(IO as u32 / BLOCK);
    let span = disk_blocks / per_io;
    for _ in 0..depth {
        let lba = (*next % span) * per_io;
        *next = next
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407)
            >> 1;
        let (op, dir) = if write {
            (0x8a, DataDir::ToDevice(data))
        } else {
            (0x88, DataDir::FromDevice(IO))
        };
        k.submit_with(&cdb(op, lba), dir, SubmitOpts::quiet())
            .expect("submit");
    }
    k.notify();
    dev.process_ring().expect("process");
    settle(dev);
    dev.finish_batch().expect("finish");
    let mut got = 0;
    k.reap_with(|c| {
        assert_eq!(c.status, 0, "command failed");
        black_box(c.data_in);
        got += 1;
    })
    .expect("protocol");
    assert_eq!(got, depth);
}

/// Writes the whole disk once, so reads hit data.
pub fn fill(k: &mut FakeKernel, dev: &mut Device, disk_blocks: u64, next: &mut u64, data: &[u8]) {
    for _ in 0..(disk_blocks as usize * BLOCK as usize / IO / 128) {
        batch(k, dev, (true, 128, disk_blocks), next, data);
    }
}
