//! 4 KiB commands through the fake kernel + device + file backstore (io_uring) on one
//! thread, at queue depths 1, 32 and 128: every iteration submits `depth` commands,
//! steps the device once (drain, submit to io_uring), waits on the backstore's notifier
//! until every request is back, publishes once and reaps.
//!
//! The file lives in `$GT_BENCH_DIR` (default /dev/shm, else the temp dir): on tmpfs
//! this measures our dataplane plus io_uring, not a disk. `benches/report.py file` turns
//! criterion's estimates into commands/s and the ratio to the RAM dataplane.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gluster_tcmu::backstore::{FileBackstore, FileOptions};
use gluster_tcmu::device::Device;
use gluster_tcmu::scsi::LunConfig;
use gluster_tcmu::testing::{DataDir, FakeKernel, FakeKernelConfig, SubmitOpts, attach_device};
use rustix::event::{PollFd, PollFlags, poll};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

const IO: usize = 4096;
const BLOCK: u32 = 512;
const DISK_BLOCKS: u64 = 1 << 17; // 64 MiB, written once before measuring
const DEPTHS: [usize; 3] = [1, 32, 128];

fn bench_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("GT_BENCH_DIR") {
        return d.into();
    }
    let shm = PathBuf::from("/dev/shm");
    if shm.is_dir() {
        shm
    } else {
        std::env::temp_dir()
    }
}

fn setup(dir: &tempfile::TempDir) -> (FakeKernel, Device) {
    let cfg = FakeKernelConfig {
        cmd_ring_bytes: 1 << 20,
        data_blocks: 2048,
        ..Default::default()
    };
    let mut kernel = FakeKernel::new(cfg).expect("fake kernel");
    let lun = LunConfig::new(BLOCK, DISK_BLOCKS, "bench0001");
    let size = DISK_BLOCKS * u64::from(BLOCK);
    let path = dir.path().join("lun.img");
    let file = FileBackstore::open(&path, size, &FileOptions::default()).expect("file");
    let mut device = attach_device(&kernel, lun, Box::new(file)).expect("device");
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

/// Waits for the backstore's notifier and answers what finished, until nothing is left.
fn settle(dev: &mut Device) {
    while dev.backstore_in_flight() > 0 {
        if let Some(fd) = dev.backstore_fd() {
            let mut fds = [PollFd::from_borrowed_fd(fd, PollFlags::IN)];
            poll(&mut fds, None).expect("poll");
        }
        dev.reap().expect("reap");
    }
}

/// One batch: `depth` commands in, one device step, `depth` completions out.
fn batch(
    k: &mut FakeKernel,
    dev: &mut Device,
    write: bool,
    depth: usize,
    next: &mut u64,
    data: &[u8],
) {
    let span = DISK_BLOCKS / u64::from(IO as u32 / BLOCK);
    for _ in 0..depth {
        let lba = (*next % span) * u64::from(IO as u32 / BLOCK);
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

fn commands(c: &mut Criterion) {
    let data = vec![0x5au8; IO];
    let dir = tempfile::tempdir_in(bench_dir()).expect("bench dir");
    for write in [false, true] {
        let name = if write {
            "file_write_4k"
        } else {
            "file_read_4k"
        };
        let mut group = c.benchmark_group(name);
        group
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3))
            .sample_size(30);
        for depth in DEPTHS {
            let (mut k, mut dev) = setup(&dir);
            let mut next = 12345u64;
            for _ in 0..(DISK_BLOCKS as usize * BLOCK as usize / IO / 128) {
                batch(&mut k, &mut dev, true, 128, &mut next, &data);
            }
            group.throughput(Throughput::Elements(depth as u64));
            group.bench_with_input(BenchmarkId::from_parameter(depth), &depth, |b, &d| {
                b.iter(|| batch(&mut k, &mut dev, write, d, &mut next, &data))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, commands);
criterion_main!(benches);
