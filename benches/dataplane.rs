//! 4 KiB commands through the fake kernel + device + RAM backstore on one thread, at queue
//! depths 1, 32 and 128, beside a memcpy-only loop that moves the same bytes (the
//! physical limit). Every iteration submits `depth` commands, steps the device once
//! (drain, dispatch, complete, one doorbell) and reaps them.
//!
//! `benches/report.py` turns criterion's estimates into commands/s and the ratio to memcpy.

mod common;

use common::{BLOCK, DEPTHS, IO, batch, fill, setup};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gluster_tcmu::backstore::RamBackstore;
use std::hint::black_box;

const DISK_BLOCKS: u64 = 1 << 16; // 32 MiB, written once before measuring

fn commands(c: &mut Criterion) {
    let data = vec![0x5au8; IO];
    for write in [false, true] {
        let name = if write { "write_4k" } else { "read_4k" };
        let mut group = c.benchmark_group(name);
        for depth in DEPTHS {
            let ram = RamBackstore::new(DISK_BLOCKS * u64::from(BLOCK));
            let (mut k, mut dev) = setup(DISK_BLOCKS, Box::new(ram));
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

/// The same bytes moved by memcpy alone: per command, 4 KiB into the data area (the
/// kernel's copy) and 4 KiB between data area and RAM disk (the handler's copy).
fn memcpy(c: &mut Criterion) {
    let mut group = c.benchmark_group("memcpy_4k");
    let area = vec![0u8; 2048 * 4096];
    let mut disk = vec![0u8; (DISK_BLOCKS * u64::from(BLOCK)) as usize];
    let mut area = area;
    let src = vec![0x5au8; IO];
    for depth in DEPTHS {
        group.throughput(Throughput::Elements(depth as u64));
        let mut next = 12345u64;
        group.bench_with_input(BenchmarkId::from_parameter(depth), &depth, |b, &d| {
            b.iter(|| {
                for i in 0..d {
                    let slot = (i % 2048) * IO;
                    area[slot..slot + IO].copy_from_slice(black_box(&src));
                    let off = ((next as usize) % (disk.len() / IO)) * IO;
                    next = next
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407)
                        >> 1;
                    disk[off..off + IO].copy_from_slice(&area[slot..slot + IO]);
                }
                black_box(&disk);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, commands, memcpy);
criterion_main!(benches);
