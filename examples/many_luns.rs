//! Many LUNs on a few reactor threads: attaches `--luns` devices (file or RAM backstore)
//! to `--reactors` threads, drives a little I/O through each, and prints the process's
//! threads and resident memory after each phase, from /proc/self/status:
//!
//!     cargo run --release --features test-utils --example many_luns -- --luns 256 --reactors 2
//!
//! Every LUN has its own fake kernel: a memfd laid out like target_core_user's map,
//! mapped twice (the kernel's side and the handler's, as the daemon maps /dev/uioN).
//! Those pages stand for the kernel's ring and data areas, so they are reported apart
//! (`RssShmem`) and left out of "own": own = RssAnon + RssFile. The fake kernels' own
//! heap is counted in the "kernels" phase and subtracted from the per-LUN figure.

mod common;

use clap::{Parser, ValueEnum};
use common::{Job, Pattern, Res};
use gluster_tcmu::backstore::{Backstore, FileBackstore, FileOptions, RamBackstore};
use gluster_tcmu::reactor::{DeviceId, Reactor};
use gluster_tcmu::testing::{FakeKernel, FakeKernelConfig};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Kind {
    File,
    Ram,
}

#[derive(Debug, Parser)]
#[command(about = "threads and resident memory of many LUNs on a few reactors")]
struct Args {
    /// Number of LUNs.
    #[arg(long, default_value_t = 256)]
    luns: usize,
    /// Reactor threads; LUNs are spread round-robin.
    #[arg(long, default_value_t = 2)]
    reactors: usize,
    /// Backstore of every LUN.
    #[arg(long, value_enum, default_value_t = Kind::File)]
    backstore: Kind,
    /// LUN size in MiB.
    #[arg(long, default_value_t = 16)]
    size_mib: u64,
    /// Where the file backstores' images go (a temporary directory is made inside).
    #[arg(long, default_value = "/dev/shm")]
    dir: PathBuf,
    /// 4 KiB writes, then as many reads, per LUN.
    #[arg(long, default_value_t = 64)]
    ios: u64,
    /// Queue depth of that I/O.
    #[arg(long, default_value_t = 8)]
    qd: usize,
}

/// The /proc/self/status fields we report, in KiB (threads: a count).
#[derive(Debug, Clone, Default)]
struct Status {
    fields: BTreeMap<&'static str, u64>,
    threads_by_name: BTreeMap<String, usize>,
}

const FIELDS: [&str; 5] = ["Threads", "VmRSS", "RssAnon", "RssFile", "RssShmem"];

impl Status {
    fn now() -> Res<Self> {
        let mut s = Status {
            fields: common::proc_status(&FIELDS)?,
            ..Status::default()
        };
        for task in std::fs::read_dir("/proc/self/task")? {
            let comm = std::fs::read_to_string(task?.path().join("comm")).unwrap_or_default();
            // io_uring's workers are named iou-wrk-<tid> (or iou-sqp-<tid>): group them.
            let comm = comm.trim();
            let name = match comm.get(..8) {
                Some(p @ ("iou-wrk-" | "iou-sqp-")) => format!("{p}*"),
                _ => comm.to_string(),
            };
            *s.threads_by_name.entry(name).or_default() += 1;
        }
        Ok(s)
    }

    fn get(&self, k: &str) -> u64 {
        self.fields.get(k).copied().unwrap_or(0)
    }

    /// Resident memory that is the process's own: anonymous plus file-backed pages.
    fn own(&self) -> u64 {
        self.get("RssAnon") + self.get("RssFile")
    }

    fn row(&self, phase: &str) -> String {
        let threads: Vec<String> = self
            .threads_by_name
            .iter()
            .map(|(n, c)| {
                if *c == 1 {
                    n.clone()
                } else {
                    format!("{n}×{c}")
                }
            })
            .collect();
        format!(
            "| {phase} | {} ({}) | {} | {} | {} | {} | {} |",
            self.get("Threads"),
            threads.join(", "),
            mib(self.get("VmRSS")),
            mib(self.get("RssAnon")),
            mib(self.get("RssFile")),
            mib(self.get("RssShmem")),
            mib(self.own()),
        )
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

fn backstore(kind: Kind, dir: &std::path::Path, i: usize, size: u64) -> Res<Box<dyn Backstore>> {
    Ok(match kind {
        Kind::Ram => Box::new(RamBackstore::new(size)),
        Kind::File => {
            let opts = FileOptions::default();
            Box::new(FileBackstore::open(
                &dir.join(format!("lun{i}.img")),
                size,
                &opts,
            )?)
        }
    })
}

fn main() -> Res<()> {
    let a = Args::parse();
    let size = a.size_mib << 20;
    let tmp = tempfile::tempdir_in(&a.dir)?;
    let mut phases = vec![("start".to_string(), Status::now()?)];

    let mut kernels = Vec::with_capacity(a.luns);
    for _ in 0..a.luns {
        kernels.push(FakeKernel::new(FakeKernelConfig::default())?);
    }
    phases.push((format!("{} fake kernels", a.luns), Status::now()?));

    let reactors = (0..a.reactors.max(1))
        .map(|r| Reactor::spawn(&format!("reactor-{r}")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut ids: Vec<(usize, DeviceId)> = Vec::with_capacity(a.luns);
    for (i, k) in kernels.iter().enumerate() {
        let r = i % reactors.len();
        let lun = common::lun(size, &format!("lun{i:04}"));
        let bs = backstore(a.backstore, tmp.path(), i, size)?;
        ids.push((r, common::serve(&reactors[r], k, lun, bs)?));
    }
    phases.push(("devices attached".to_string(), Status::now()?));

    let mut ios = 0;
    for k in &mut kernels {
        common::clear_unit_attention(k)?;
        for pattern in [Pattern::RandWrite, Pattern::RandRead] {
            let job = Job {
                pattern,
                bs: 4096,
                qd: a.qd,
                runtime: Duration::from_secs(3600),
                max_ios: a.ios,
                size,
                busy_poll: Duration::ZERO,
                gather: Duration::ZERO,
                kernel_poll: Duration::ZERO,
                write_cache: true,
            };
            ios += common::run(k, &job)?.ios;
        }
    }
    phases.push((format!("after {ios} I/Os"), Status::now()?));

    print_report(&a, &phases);
    for (r, id) in ids {
        reactors[r].remove(id)?;
    }
    Ok(())
}

fn print_report(a: &Args, phases: &[(String, Status)]) {
    let kind = format!("{:?}", a.backstore).to_lowercase();
    println!(
        "{} LUNs ({kind}, {} MiB each) on {} reactor threads; memory in MiB",
        a.luns, a.size_mib, a.reactors
    );
    println!();
    println!(
        "| phase | threads | VmRSS | RssAnon | RssFile | RssShmem (kernel's areas) | own (Anon+File) |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    for (phase, s) in phases {
        println!("{}", s.row(phase));
    }
    let (kernels, last) = (&phases[1].1, &phases[phases.len() - 1].1);
    let own = last.own().saturating_sub(kernels.own());
    let per_lun = own as f64 / a.luns.max(1) as f64;
    println!();
    println!(
        "gluster-tcmu-luns backstore={kind} luns={} reactors={} threads={} own_kib={own} per_lun_kib={per_lun:.1} shmem_kib={}",
        a.luns,
        a.reactors,
        last.get("Threads"),
        last.get("RssShmem"),
    );
}
