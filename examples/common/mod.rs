//! The fio-like load shared by the examples: the calling thread plays the kernel (a
//! [`FakeKernel`] queueing READ(16)/WRITE(16) at a fixed queue depth, copying data in and
//! out of the data area as target_core_user does), while a [`Reactor`] thread serves the
//! device exactly as the daemon does. Results are printed as one `key=value` line that
//! `benches/file-vs-fio.sh` and `benches/regenerate.sh` parse; `cpu_pct` is the whole
//! process's CPU time over the run (fake kernel, reactor and io_uring workers) in percent
//! of one core.
// Each example uses a subset of these helpers.
#![allow(dead_code)]

use gluster_tcmu::backstore::Backstore;
use gluster_tcmu::device::Device;
use gluster_tcmu::reactor::{DeviceId, Reactor, ReactorOptions};
use gluster_tcmu::scsi::LunConfig;
use gluster_tcmu::testing::{
    DataDir, FakeKernel, FakeKernelConfig, PAGE_SIZE, STATUS_GOOD, SubmitError, SubmitOpts,
    attach_device,
};
use rustix::event::{PollFd, PollFlags, poll};
use std::error::Error;
use std::str::FromStr;
use std::time::{Duration, Instant};

pub type Res<T> = Result<T, Box<dyn Error>>;

const BLOCK: u64 = 512;
const READ16: u8 = 0x88;
const WRITE16: u8 = 0x8a;
/// How long to wait for one completion before calling the run hung.
const STALL: Duration = Duration::from_secs(30);

/// fio's `rw=` patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    RandRead,
    RandWrite,
    Read,
    Write,
}

impl Pattern {
    pub fn is_write(self) -> bool {
        matches!(self, Pattern::RandWrite | Pattern::Write)
    }

    pub fn is_random(self) -> bool {
        matches!(self, Pattern::RandRead | Pattern::RandWrite)
    }

    pub fn name(self) -> &'static str {
        match self {
            Pattern::RandRead => "randread",
            Pattern::RandWrite => "randwrite",
            Pattern::Read => "read",
            Pattern::Write => "write",
        }
    }
}

impl FromStr for Pattern {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "randread" => Ok(Pattern::RandRead),
            "randwrite" => Ok(Pattern::RandWrite),
            "read" => Ok(Pattern::Read),
            "write" => Ok(Pattern::Write),
            _ => Err(format!("{s}: expected randread, randwrite, read or write")),
        }
    }
}

/// One fio-like job against a LUN of `size` bytes.
#[derive(Debug, Clone, Copy)]
pub struct Job {
    pub pattern: Pattern,
    /// Bytes per command; a multiple of 512.
    pub bs: u64,
    /// Commands kept in flight.
    pub qd: usize,
    /// Stop submitting after this long ...
    pub runtime: Duration,
    /// ... or after this many commands, whichever comes first.
    pub max_ios: u64,
    /// LUN size in bytes.
    pub size: u64,
    /// The reactor's busy-poll window ([`ReactorOptions::busy_poll`]); zero: none.
    pub busy_poll: Duration,
    /// The reactor's gathering window ([`ReactorOptions::gather`]); zero: none.
    pub gather: Duration,
    /// How long the fake kernel spins on `cmd_tail` before it sleeps on the kick. The
    /// real kernel never spins (the initiator sleeps; completions run inside the
    /// handler's doorbell write), so the benchmarks leave this at zero; it exists to show
    /// what a spinning peer would add.
    pub kernel_poll: Duration,
    /// The LUN's write cache (WCE). Off, every write is FUA: durable before GOOD, as on a
    /// `user:` LUN targetcli creates with its default `emulate_write_cache=0`.
    pub write_cache: bool,
}

/// What a job did.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    pub ios: u64,
    pub elapsed: Duration,
    /// CPU time of the whole process meanwhile (both sides and io_uring's workers).
    pub cpu: Duration,
}

impl Outcome {
    pub fn iops(&self) -> f64 {
        self.ios as f64 / self.elapsed.as_secs_f64()
    }

    pub fn mib_s(&self, bs: u64) -> f64 {
        self.iops() * bs as f64 / f64::from(1 << 20)
    }

    /// CPU use in percent of one core, like fio's usr_cpu + sys_cpu.
    pub fn cpu_pct(&self) -> f64 {
        100.0 * self.cpu.as_secs_f64() / self.elapsed.as_secs_f64()
    }
}

/// User plus system time of this process (all its threads) from /proc/self/stat, in
/// clock ticks of 10 ms (Linux's USER_HZ is 100).
pub fn process_cpu() -> Res<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').ok_or("malformed /proc/self/stat")?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11).ok_or("short /proc/self/stat")?.parse::<u64>()?
        + f.get(12).ok_or("short /proc/self/stat")?.parse::<u64>()?;
    Ok(Duration::from_millis(ticks * 10))
}

/// The named fields of `/proc/self/status` (memory in KiB, `Threads` a count), each
/// as the number it starts with; a field the kernel does not report is left out.
pub fn proc_status<'a>(fields: &[&'a str]) -> Res<std::collections::BTreeMap<&'a str, u64>> {
    let text = std::fs::read_to_string("/proc/self/status")?;
    let mut found = std::collections::BTreeMap::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        if let Some(k) = fields.iter().find(|f| **f == key) {
            found.insert(*k, value.split_whitespace().next().unwrap_or("0").parse()?);
        }
    }
    Ok(found)
}

/// A fake kernel sized like the real one for `job`: room for `qd` commands of `bs` bytes
/// twice over, and at least LIO's default 128 commands in flight.
pub fn kernel_for(job: &Job) -> Res<FakeKernel> {
    let bytes = job.qd as u64 * job.bs * 2;
    Ok(FakeKernel::new(FakeKernelConfig {
        cmd_ring_bytes: 1 << 20,
        data_blocks: (bytes as usize / PAGE_SIZE).max(1024),
        max_inflight: job.qd.max(128),
        ..Default::default()
    })?)
}

/// A LUN of `size` bytes that takes transfers up to 4 MiB (`hw_max_sectors=8192`).
pub fn lun(size: u64, serial: &str) -> LunConfig {
    let mut lun = LunConfig::new(BLOCK as u32, size / BLOCK, serial);
    lun.max_transfer_blocks = 8192;
    lun
}

/// Attaches `backstore` to `kernel` and hands the device to `reactor`.
pub fn serve(
    reactor: &Reactor,
    kernel: &FakeKernel,
    lun: LunConfig,
    backstore: Box<dyn Backstore>,
) -> Res<DeviceId> {
    let device = attach_device(kernel, lun, backstore)?;
    Ok(reactor.add(device)?)
}

/// Sends TEST UNIT READY and waits for its answer: the first command after attach gets
/// the power-on UNIT ATTENTION, as an initiator's first command does.
pub fn clear_unit_attention(k: &mut FakeKernel) -> Res<()> {
    k.submit(&[0u8; 6], DataDir::None)?;
    let mut answered = 0;
    while answered == 0 {
        if !k.wait_kick(STALL)? {
            return Err("no answer to TEST UNIT READY".into());
        }
        answered = k.reap_with(|_| {})?;
    }
    Ok(())
}

fn rw16(op: u8, lba: u64, blocks: u32) -> [u8; 16] {
    let mut c = [0u8; 16];
    c[0] = op;
    c[2..10].copy_from_slice(&lba.to_be_bytes());
    c[10..14].copy_from_slice(&blocks.to_be_bytes());
    c
}

/// Where the next command goes: xorshift for random patterns, ascending (wrapping) for
/// sequential ones.
#[derive(Debug)]
struct Offsets {
    rng: u64,
    next: u64,
    slots: u64,
    random: bool,
}

impl Offsets {
    fn next_slot(&mut self) -> u64 {
        if !self.random {
            let slot = self.next % self.slots;
            self.next += 1;
            return slot;
        }
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng % self.slots
    }
}

/// One job's state while it runs.
struct Load<'j> {
    job: &'j Job,
    data: Vec<u8>,
    at: Offsets,
    inflight: usize,
    submitted: u64,
    done: u64,
    /// `cmd_tail` when last reaped.
    tail_seen: u32,
}

impl<'j> Load<'j> {
    /// A job about to start; refuses a block size that is not a multiple of 512 within
    /// the LUN, or depth 0.
    fn new(k: &FakeKernel, job: &'j Job) -> Res<Self> {
        if job.bs == 0 || job.bs % BLOCK != 0 || job.size < job.bs || job.qd == 0 {
            let bs = job.bs;
            return Err(format!("bs {bs}: not a multiple of 512 within the LUN, or qd 0").into());
        }
        Ok(Load {
            job,
            data: vec![0x5au8; job.bs as usize],
            at: Offsets {
                rng: 0x2545_f491_4f6c_dd1d,
                next: 0,
                slots: job.size / job.bs,
                random: job.pattern.is_random(),
            },
            inflight: 0,
            submitted: 0,
            done: 0,
            tail_seen: k.tail(),
        })
    }

    /// Queues commands until `qd` are in flight (or the ring or data area is full) and
    /// rings the doorbell once for the batch, as the kernel's plugging does.
    fn fill(&mut self, k: &mut FakeKernel) -> Res<()> {
        let (bs, blocks) = (self.job.bs, (self.job.bs / BLOCK) as u32);
        let mut queued = 0;
        while self.inflight < self.job.qd && self.submitted < self.job.max_ios {
            let lba = self.at.next_slot() * bs / BLOCK;
            let (cdb, dir) = if self.job.pattern.is_write() {
                (rw16(WRITE16, lba, blocks), DataDir::ToDevice(&self.data))
            } else {
                (rw16(READ16, lba, blocks), DataDir::FromDevice(bs as usize))
            };
            match k.submit_with(&cdb, dir, SubmitOpts::quiet()) {
                Ok(_) => {}
                Err(SubmitError::RingFull | SubmitError::DataFull) => break,
                Err(e) => return Err(format!("submit: {e}").into()),
            }
            (self.inflight, self.submitted, queued) =
                (self.inflight + 1, self.submitted + 1, queued + 1);
        }
        if queued > 0 {
            k.notify();
        }
        Ok(())
    }

    /// Waits for completions (spinning on `cmd_tail` first when busy polling, then
    /// sleeping on the handler's kick) and reaps; any status but GOOD is an error.
    fn collect(&mut self, k: &mut FakeKernel) -> Res<()> {
        let spin_until = Instant::now() + self.job.kernel_poll;
        while k.tail() == self.tail_seen && Instant::now() < spin_until {
            std::hint::spin_loop();
        }
        if k.tail() == self.tail_seen && !k.wait_kick(STALL)? {
            let n = self.inflight;
            return Err(format!("no completion within {STALL:?} ({n} in flight)").into());
        }
        self.reap(k).map(drop)
    }

    /// Reaps what the handler published; any status but GOOD is an error.
    fn reap(&mut self, k: &mut FakeKernel) -> Res<usize> {
        self.tail_seen = k.tail();
        let mut failed = None;
        let reaped = k.reap_with(|c| {
            if c.status != STATUS_GOOD && failed.is_none() {
                failed = Some((c.cmd_id, c.status, c.sense));
            }
        })?;
        if let Some((id, status, sense)) = failed {
            return Err(format!("command {id}: status {status:#x}, sense {sense:02x?}").into());
        }
        self.inflight -= reaped;
        self.done += reaped as u64;
        Ok(reaped)
    }
}

/// Keeps `job.qd` commands in flight until the runtime or the command budget is used up,
/// then waits for the rest. Fails on any non-GOOD status.
pub fn run(k: &mut FakeKernel, job: &Job) -> Res<Outcome> {
    let mut load = Load::new(k, job)?;
    let (start, cpu) = (Instant::now(), process_cpu()?);
    while start.elapsed() < job.runtime && load.submitted < job.max_ios {
        load.fill(k)?;
        load.collect(k)?;
    }
    while load.inflight > 0 {
        load.collect(k)?;
    }
    Ok(Outcome {
        ios: load.done,
        elapsed: start.elapsed(),
        cpu: process_cpu()?.saturating_sub(cpu),
    })
}

/// The criterion harness's way, for a whole job: the calling thread is both the kernel
/// and the device (no reactor thread, so no wake-ups between the two sides). It keeps
/// `qd` commands in flight as fio does: queue up to `qd`, run the device (drain the
/// ring, submit to the backstore's own io_uring or gfapi), answer what has finished
/// (waiting on the backstore's notifier only when nothing has), publish, kick, reap, and
/// queue again. Fails on any non-GOOD status.
pub fn run_one_thread(k: &mut FakeKernel, dev: &mut Device, job: &Job) -> Res<Outcome> {
    let mut load = Load::new(k, job)?;
    let (start, cpu) = (Instant::now(), process_cpu()?);
    while start.elapsed() < job.runtime && load.submitted < job.max_ios {
        load.fill(k)?;
        dev.process_ring()?;
        answer_some(k, dev, &mut load)?;
    }
    while load.inflight > 0 {
        answer_some(k, dev, &mut load)?;
    }
    Ok(Outcome {
        ios: load.done,
        elapsed: start.elapsed(),
        cpu: process_cpu()?.saturating_sub(cpu),
    })
}

/// Answers and reaps what the backstore has finished; when nothing has, waits on its
/// notifier (up to [`STALL`]) first.
fn answer_some(k: &mut FakeKernel, dev: &mut Device, load: &mut Load) -> Res<()> {
    loop {
        dev.reap()?;
        dev.finish_batch()?;
        if load.reap(k)? > 0 || load.inflight == 0 {
            return Ok(());
        }
        let Some(fd) = dev.backstore_fd() else {
            return Err("commands unanswered and no backstore notifier to wait on".into());
        };
        let mut fds = [PollFd::from_borrowed_fd(fd, PollFlags::IN)];
        let timeout = rustix::time::Timespec {
            tv_sec: STALL.as_secs() as i64,
            tv_nsec: 0,
        };
        if poll(&mut fds, Some(&timeout))? == 0 {
            let n = load.inflight;
            return Err(format!("no completion within {STALL:?} ({n} in flight)").into());
        }
    }
}

/// The machine-readable result line.
pub fn report(backstore: &str, job: &Job, out: &Outcome) {
    println!(
        "gluster-tcmu-bench backstore={backstore} pattern={} bs={} qd={} busy_poll_us={} gather_us={} kernel_poll_us={} runtime_s={:.2} ios={} iops={:.0} mib_s={:.1} cpu_pct={:.0}",
        job.pattern.name(),
        job.bs,
        job.qd,
        job.busy_poll.as_micros(),
        job.gather.as_micros(),
        job.kernel_poll.as_micros(),
        out.elapsed.as_secs_f64(),
        out.ios,
        out.iops(),
        out.mib_s(job.bs),
        out.cpu_pct(),
    );
}

/// One job against one backstore on its own reactor thread, with the result line printed:
/// what `file_bench` and `glfs_fio` both do once they have opened their backstore.
pub fn bench_one(name: &str, job: &Job, backstore: Box<dyn Backstore>) -> Res<()> {
    let mut kernel = kernel_for(job)?;
    let options = ReactorOptions {
        busy_poll: job.busy_poll,
        gather: job.gather,
    };
    let reactor = Reactor::spawn_with("bench-reactor", options)?;
    let mut config = lun(job.size, "bench0001");
    config.write_cache = job.write_cache;
    let id = serve(&reactor, &kernel, config, backstore)?;
    clear_unit_attention(&mut kernel)?;
    let outcome = run(&mut kernel, job)?;
    reactor.remove(id)?;
    report(name, job, &outcome);
    Ok(())
}

/// One job against one backstore with the device on the calling thread
/// ([`run_one_thread`]), with the result line printed.
pub fn bench_one_thread(name: &str, job: &Job, backstore: Box<dyn Backstore>) -> Res<()> {
    let mut kernel = kernel_for(job)?;
    let mut config = lun(job.size, "bench0001");
    config.write_cache = job.write_cache;
    let mut device = attach_device(&kernel, config, backstore)?;
    // The power-on UNIT ATTENTION goes to the first command, as an initiator's does.
    kernel.submit(&[0u8; 6], DataDir::None)?;
    device.process_ring()?;
    device.finish_batch()?;
    if kernel.reap_with(|_| {})? != 1 {
        return Err("no answer to TEST UNIT READY".into());
    }
    let outcome = run_one_thread(&mut kernel, &mut device, job)?;
    // No reactor: its busy-poll and gathering windows did not apply.
    let job = Job {
        busy_poll: Duration::ZERO,
        gather: Duration::ZERO,
        ..*job
    };
    report(&format!("{name} harness=one-thread"), &job, &outcome);
    Ok(())
}
