//! 4 KiB commands through the fake kernel + device + file backstore (io_uring) on one
//! thread, at queue depths 1, 32 and 128: every iteration submits `depth` commands,
//! steps the device once (drain, submit to io_uring), waits on the backstore's notifier
//! until every request is back, publishes once and reaps.
//!
//! The file lives in `$GT_BENCH_DIR` (default /dev/shm, else the temp dir): on tmpfs
//! this measures our dataplane plus io_uring, not a disk. `benches/report.py file` turns
//! criterion's estimates into commands/s and the ratio to the RAM dataplane.

mod common;

use common::{BLOCK, DEPTHS, IO, batch, fill, setup};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gluster_tcmu::backstore::{FileBackstore, FileOptions};
use std::path::PathBuf;
use std::time::Duration;

const DISK_BLOCKS: u64 = 1 << 17; // 64 MiB, written once before measuring

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
            let path = dir.path().join("lun.img");
            let size = DISK_BLOCKS * u64::from(BLOCK);
            let file = FileBackstore::open(&path, size, &FileOptions::default()).expect("file");
            let (mut k, mut dev) = setup(DISK_BLOCKS, Box::new(file));
            let mut next = 12345u64;
            fill(&mut k, &mut dev, DISK_BLOCKS, &mut next, &data);
            group.throughput(Throughput::Elements(depth as u64));
            group.bench_with_input(BenchmarkId::from_parameter(depth), &depth, |b, &d| {
                b.iter(|| batch(&mut k, &mut dev, (write, d, DISK_BLOCKS), &mut next, &data))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, commands);
criterion_main!(benches);
