//! The file backstore under a fio-like load: the fake kernel (this thread) keeps `--qd`
//! commands of `--bs` bytes in flight against a `user:file` LUN served by one reactor
//! thread, for `--runtime` seconds, and prints one machine-readable line:
//!
//!     cargo run --release --features test-utils --example file_bench -- \
//!         --file /dev/shm/bench.img --pattern randread --bs 4096 --qd 32 --runtime 10
//!     gluster-tcmu-bench backstore=file pattern=randread bs=4096 qd=32 runtime_s=10.00 ios=... iops=... mib_s=...
//!
//! `benches/file-vs-fio.sh` runs it beside `fio --ioengine=io_uring` on the same file.
//! The fake kernel copies data into and out of the data area itself (the real kernel
//! does that copy too, in its own context), so the figures include that memcpy.

mod common;

use clap::Parser;
use common::{Job, Pattern, Res};
use gluster_tcmu::backstore::{FileBackstore, FileOptions};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(about = "fio-like load through the fake kernel, a reactor and the file backstore")]
struct Args {
    /// Backing file (created and sized sparsely when missing or smaller than --size-mib).
    #[arg(long)]
    file: PathBuf,
    /// LUN size in MiB; default: the file's current size.
    #[arg(long)]
    size_mib: Option<u64>,
    /// randread, randwrite, read or write.
    #[arg(long, default_value = "randread")]
    pattern: Pattern,
    /// Bytes per command.
    #[arg(long, default_value_t = 4096)]
    bs: u64,
    /// Commands in flight.
    #[arg(long, default_value_t = 32)]
    qd: usize,
    /// Seconds to run.
    #[arg(long, default_value_t = 10.0)]
    runtime: f64,
    /// Open the file with O_DIRECT (not on tmpfs).
    #[arg(long)]
    direct: bool,
    /// Busy-poll window of the reactor in microseconds (0: none).
    #[arg(long, default_value_t = 0)]
    busy_poll_us: u64,
    /// Gathering window of the reactor in microseconds (0: none; the daemon's default
    /// is 100).
    #[arg(long, default_value_t = gluster_tcmu::settings::GatherUs::DEFAULT.duration().as_micros() as u64)]
    gather_us: u64,
    /// How long the fake kernel spins for completions before sleeping, in microseconds
    /// (0: it sleeps, as the real kernel's side does).
    #[arg(long, default_value_t = 0)]
    kernel_poll_us: u64,
    /// Run the device on this thread, as the criterion benches do: no reactor, no
    /// wake-ups between kernel and handler (the busy-poll and gather windows do not
    /// apply).
    #[arg(long)]
    one_thread: bool,
}

fn main() -> Res<()> {
    let a = Args::parse();
    let size = match a.size_mib {
        Some(mib) => mib << 20,
        None => std::fs::metadata(&a.file)
            .map_err(|e| format!("{}: {e} (give --size-mib to create it)", a.file.display()))?
            .len(),
    };
    let job = Job {
        pattern: a.pattern,
        bs: a.bs,
        qd: a.qd,
        runtime: Duration::from_secs_f64(a.runtime),
        max_ios: u64::MAX,
        size,
        busy_poll: Duration::from_micros(a.busy_poll_us),
        gather: Duration::from_micros(a.gather_us),
        kernel_poll: Duration::from_micros(a.kernel_poll_us),
        write_cache: true,
    };
    let opts = FileOptions {
        direct: a.direct,
        depth: a.qd.max(128) as u32,
        ..FileOptions::default()
    };
    let backstore = FileBackstore::open(&a.file, size, &opts)?;
    if a.one_thread {
        return common::bench_one_thread("file", &job, Box::new(backstore));
    }
    common::bench_one("file", &job, Box::new(backstore))
}
