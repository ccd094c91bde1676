//! A tiny fio-like load through the fake kernel, the reactor and the glfs backstore, to
//! compare with `fio --ioengine=gfapi_async` on the same image:
//!
//!     cargo run --release --example glfs_fio --features glfs,test-utils -- \
//!         gt1 127.0.0.2 fio-bench.img 256 randread 4096 32 15
//!
//! Arguments: [--one-thread] volume host image size_MiB {randread|randwrite|read|write} bs
//! qd seconds [busy_poll_us [wce]] (the reactor's polling window, default 0, the fake
//! kernel sleeps; the LUN's write cache, default 1: with 0 every write is FUA, one
//! `O_DSYNC` write that each brick syncs before answering). `--one-thread` runs the device
//! on the calling thread as the criterion benches do (no reactor; it waits on the
//! backstore's notifier for gfapi's completions).
//! Prints one `gluster-tcmu-bench backstore=glfs ...` line (see `examples/common`).

mod common;

use common::{Job, Res};
use gluster_tcmu::backstore::{GlfsBackstore, GlfsOptions};
use gluster_tcmu::glfs::{Server, VolumeKey};
use std::time::Duration;

fn main() -> Res<()> {
    let mut a: Vec<String> = std::env::args().skip(1).collect();
    let one_thread = a.first().is_some_and(|f| f == "--one-thread");
    if one_thread {
        a.remove(0);
    }
    if !(8..=10).contains(&a.len()) {
        return Err("usage: [--one-thread] volume host image size_MiB mode bs qd seconds [busy_poll_us [wce]]".into());
    }
    let busy_poll_us = a.get(8).map_or(Ok(0), |s| s.parse::<u64>())?;
    let write_cache = a.get(9).map_or(Ok(1), |s| s.parse::<u8>())? != 0;
    let size = a[3].parse::<u64>()? << 20;
    let job = Job {
        pattern: a[4].parse()?,
        bs: a[5].parse()?,
        qd: a[6].parse()?,
        runtime: Duration::from_secs(a[7].parse()?),
        max_ios: u64::MAX,
        size,
        busy_poll: Duration::from_micros(busy_poll_us),
        gather: Duration::ZERO,
        kernel_poll: Duration::ZERO,
        write_cache,
    };
    let key = VolumeKey {
        volume: a[0].clone(),
        servers: vec![Server {
            host: a[1].clone(),
            port: 24007,
        }],
    };
    let backstore = GlfsBackstore::open_at(key, &a[2], size, &GlfsOptions::default())?;
    if one_thread {
        return common::bench_one_thread("glfs", &job, Box::new(backstore));
    }
    common::bench_one("glfs", &job, Box::new(backstore))
}
