//! A tiny fio-like load through the fake kernel, the reactor and the glfs backstore, to
//! compare with `fio --ioengine=gfapi_async` on the same image:
//!
//!     cargo run --release --example glfs_fio --features glfs,test-utils -- \
//!         gt1 127.0.0.2 fio-bench.img 256 randread 4096 32 15
//!
//! Arguments: volume host image size_MiB {randread|randwrite|read|write} bs qd seconds.

use gluster_tcmu::backstore::{GlfsBackstore, GlfsOptions};
use gluster_tcmu::device::Device;
use gluster_tcmu::doorbell::Doorbell;
use gluster_tcmu::glfs::{Server, VolumeKey};
use gluster_tcmu::reactor::Reactor;
use gluster_tcmu::region::SharedRegion;
use gluster_tcmu::scsi::LunConfig;
use gluster_tcmu::testing::{DataDir, FakeKernel, FakeKernelConfig, SubmitError};
use std::time::{Duration, Instant};

fn cdb(op: u8, lba: u64, blocks: u32) -> [u8; 16] {
    let mut c = [0u8; 16];
    c[0] = op;
    c[2..10].copy_from_slice(&lba.to_be_bytes());
    c[10..14].copy_from_slice(&blocks.to_be_bytes());
    c
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() != 8 {
        return Err("usage: volume host image size_MiB mode bs qd seconds".into());
    }
    let size = a[3].parse::<u64>()? << 20;
    let (mode, bs, qd) = (a[4].as_str(), a[5].parse::<u64>()?, a[6].parse::<usize>()?);
    let secs = Duration::from_secs(a[7].parse()?);
    let key = VolumeKey {
        volume: a[0].clone(),
        servers: vec![Server {
            host: a[1].clone(),
            port: 24007,
        }],
    };
    let backstore = GlfsBackstore::open_at(key, &a[2], size, &GlfsOptions::default())?;
    let kernel = FakeKernel::new(FakeKernelConfig {
        data_blocks: 4096,
        ..Default::default()
    })?;
    let end = kernel.handler_end()?;
    let region = SharedRegion::map(&end.memfd, end.map_len)?;
    let doorbell = Doorbell::EventFds {
        irq: end.irq,
        kick: end.kick,
    };
    let mut lun = LunConfig::new(512, size / 512, "bench0001");
    lun.max_transfer_blocks = 2048; // 1 MiB, as LIO's hw_max_sectors allows
    let device = Device::new("bench", region, doorbell, lun, Box::new(backstore))?;
    let mut k = kernel;
    let reactor = Reactor::spawn("bench")?;
    let id = reactor.add(device)?;
    // The first command gets the power-on UNIT ATTENTION.
    k.submit(&[0u8; 6], DataDir::None)?;
    while k.reap()?.is_empty() {
        k.wait_kick(Duration::from_secs(5))?;
    }
    let write = mode.ends_with("write");
    let random = mode.starts_with("rand");
    let data = vec![0x5au8; bs as usize];
    let slots = size / bs;
    let (mut rng, mut next, mut inflight, mut done) = (0x2545_f491_4f6c_dd1du64, 0u64, 0, 0u64);
    let start = Instant::now();
    while start.elapsed() < secs || inflight > 0 {
        while inflight < qd && start.elapsed() < secs {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let slot = if random { rng % slots } else { next % slots };
            next += 1;
            let (lba, blocks) = (slot * bs / 512, (bs / 512) as u32);
            let r = if write {
                k.submit(&cdb(0x8a, lba, blocks), DataDir::ToDevice(&data))
            } else {
                k.submit(&cdb(0x88, lba, blocks), DataDir::FromDevice(bs as usize))
            };
            match r {
                Ok(_) => inflight += 1,
                Err(SubmitError::RingFull | SubmitError::DataFull) => break,
                Err(e) => return Err(format!("submit: {e:?}").into()),
            }
        }
        k.wait_kick(Duration::from_secs(30))?;
        for c in k.reap()? {
            if c.status != 0 {
                return Err(format!("command failed: {c:?}").into());
            }
            inflight -= 1;
            done += 1;
        }
    }
    let t = start.elapsed().as_secs_f64();
    println!(
        "{mode} bs={bs} qd={qd}: {:.0} IOPS, {:.1} MiB/s over {t:.1} s",
        done as f64 / t,
        (done * bs) as f64 / t / (1 << 20) as f64
    );
    reactor.remove(id)?;
    Ok(())
}
