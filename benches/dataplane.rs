//! 4 KiB commands through the fake kernel + device + RAM backstore on one thread, at queue
//! depths 1, 32 and 128, beside a memcpy-only loop that moves the same bytes (the
//! physical limit). Every iteration submits `depth` commands, steps the device once
//! (drain, dispatch, complete, one doorbell) and reaps them.
//!
//! `benches/report.py` turns criterion's estimates into commands/s and the ratio to memcpy.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gluster_tcmu::backstore::RamBackstore;
use gluster_tcmu::device::Device;
use gluster_tcmu::scsi::LunConfig;
use gluster_tcmu::testing::{DataDir, FakeKernel, FakeKernelConfig, SubmitOpts, attach_device};
use std::hint::black_box;

const IO: usize = 4096;
const BLOCK: u32 = 512;
const DISK_BLOCKS: u64 = 1 << 16; // 32 MiB, written once before measuring
const DEPTHS: [usize; 3] = [1, 32, 128];

fn setup() -> (FakeKernel, Device) {
    let cfg = FakeKernelConfig {
        cmd_ring_bytes: 1 << 20,
        data_blocks: 2048,
        ..Default::default()
    };
    let mut kernel = FakeKernel::new(cfg).expect("fake kernel");
    let lun = LunConfig::new(BLOCK, DISK_BLOCKS, "bench0001");
    let ram = RamBackstore::new(DISK_BLOCKS * u64::from(BLOCK));
    let mut device = attach_device(&kernel, lun, Box::new(ram)).expect("device");
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
    dev.reap().expect("reap");
    dev.finish_batch().expect("finish");
    let mut got = 0;
    k.reap_with(|c| {
        black_box(c.data_in);
        got += 1;
    })
    .expect("protocol");
    assert_eq!(got, depth);
}

fn commands(c: &mut Criterion) {
    let data = vec![0x5au8; IO];
    for write in [false, true] {
        let name = if write { "write_4k" } else { "read_4k" };
        let mut group = c.benchmark_group(name);
        for depth in DEPTHS {
            let (mut k, mut dev) = setup();
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
