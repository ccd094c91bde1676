//! One served LUN: its shared region, ring, SCSI state and backstore.
//!
//! A [`Device`] is driven by a reactor thread in three steps per wake-up:
//! [`Device::process_ring`] (read every new command, answer emulated ones, submit block
//! I/O), [`Device::reap`] (answer commands whose backstore request finished) and
//! [`Device::finish_batch`] (publish `cmd_tail` and ring the doorbell once). Nothing here
//! blocks, and no input from the ring or the backstore can panic it. A backstore whose
//! requests run on the reactor's io_uring is reached for that through one accessor,
//! [`Device::ring_tenant`]; the device itself knows nothing of io_uring.

#![forbid(unsafe_code)]

mod compare;
mod copy;
mod data;
mod ha;
mod inflight;
mod job;
mod lba_status;
mod multi;
mod order;

pub use data::{SegmentReader, scatter};
pub use inflight::{InFlight, PendingCommand, Waiting};

use crate::backstore::{Backstore, BackstoreError, Health, IoCompletion, IoOp, IoRequest};
use crate::doorbell::Doorbell;
use crate::region::{DataBuf, SharedRegion};
use crate::ring::{Command, CommandRing, Entry, Problem, Response, RingError};
use crate::scsi::{BlockIo, BlockOp, Dispatch, LunConfig, ScsiLun, Sense, Status};
use crate::uring::RingTenant;
use order::Guard;
use std::collections::VecDeque;
use std::os::fd::BorrowedFd;
use std::sync::Arc;
use std::time::Instant;

/// Counters a device keeps for `list` and metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeviceStats {
    pub commands: u64,
    pub read_bytes: u64,
    pub write_bytes: u64,
    /// Commands that failed: answered with a status that reports a failure of the LUN
    /// or its backend (MEDIUM ERROR, HARDWARE ERROR, BUSY, ...), once each.
    pub errors: u64,
    /// Commands refused as sent, not failed ([`Status::is_refusal`]): unsupported
    /// opcodes and fields an initiator probes for, unit attentions, writes to a
    /// write-protected LUN.
    pub refused: u64,
    pub aborted: u64,
    /// Turns that found new commands in the ring: `commands / batches` is how many
    /// commands one wake-up brings on average.
    pub batches: u64,
    /// Doorbell writes that handed completions back to the kernel: `commands / kicks` is
    /// how many answers one kick carries on average.
    pub kicks: u64,
    /// Commands taken from the ring and not answered yet (at the time of reading).
    pub in_flight: u64,
    /// Time from reading a command to answering it, for commands that went to the backstore.
    pub latency: LatencyHistogram,
    /// Whether the backstore reaches its backend (at the time of reading; while it
    /// reconnects, I/O is answered BUSY) and how often it moved to a new connection.
    pub health: Health,
    /// Commands answered after spending longer in the handler than the LUN's
    /// `tcmur_cmd_time_out` (config string; none unless set).
    pub late: u64,
    /// The device stopped serving after an error (its ring broke, or its doorbell
    /// failed): no command is read or answered any more until the kernel removes it (set
    /// by the reactor that serves it).
    pub stopped: bool,
    /// The local target port group's ALUA state (its SPC-4 code), for a LUN with port
    /// groups (at the time of reading).
    pub alua_state: Option<u8>,
    /// Times this gateway became the active one for an HA LUN (took the image lock).
    pub ha_takeovers: u64,
    /// Requests of an HA LUN the bricks refused because another gateway holds the lock.
    pub ha_fenced: u64,
}

/// Upper bounds (microseconds) of the latency buckets; the last bucket is +Inf.
pub const LATENCY_BOUNDS_US: [u64; 11] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000,
];

/// A fixed-bucket latency histogram (cumulative counts are computed when exported).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LatencyHistogram {
    pub buckets: [u64; 12],
    pub sum_us: u64,
    pub count: u64,
}

impl LatencyHistogram {
    /// Records one command that took `us` microseconds.
    pub fn record(&mut self, us: u64) {
        let i = LATENCY_BOUNDS_US
            .iter()
            .position(|b| us <= *b)
            .unwrap_or(LATENCY_BOUNDS_US.len());
        self.buckets[i] += 1;
        self.sum_us = self.sum_us.saturating_add(us);
        self.count += 1;
    }
}

/// A device that cannot be served any more.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("command ring is broken")]
    Ring(#[from] RingError),
    #[error("doorbell failed")]
    Doorbell(#[source] std::io::Error),
    #[error("invalid LUN configuration")]
    LunConfig(#[from] crate::scsi::LunConfigError),
}

/// A LUN being served.
#[derive(Debug)]
pub struct Device {
    name: String,
    region: Arc<SharedRegion>,
    doorbell: Doorbell,
    ring: CommandRing,
    lun: ScsiLun,
    backstore: Box<dyn Backstore>,
    inflight: InFlight,
    entries: Vec<Entry>,
    completions: Vec<IoCompletion>,
    /// Read once per batch (ring drain or completion reap), not per command: the
    /// latency histogram has microsecond buckets, and a clock read per command is a
    /// measurable share of the reactor's time on small requests.
    clock: Instant,
    /// Write-type commands waiting for an overlapping COMPARE AND WRITE (or a CAW
    /// waiting for overlapping writes), in arrival order; see [`order`].
    held: VecDeque<(Command, BlockIo, Guard)>,
    stats: DeviceStats,
    /// tcmu-runner's handler time-out: commands slower than this are counted and logged.
    late: Option<LateCommands>,
    /// The HA control thread's channel, for an HA LUN ([`Device::enable_ha`]).
    ha: Option<ha::HaLink>,
}

/// Commands answered later than a LUN's `tcmur_cmd_time_out`, logged at most once per
/// [`LateCommands::LOG_EVERY`] so a hung backend does not flood the log.
#[derive(Debug)]
struct LateCommands {
    after: std::time::Duration,
    unlogged: u64,
    logged_at: Option<Instant>,
}

impl LateCommands {
    const LOG_EVERY: std::time::Duration = std::time::Duration::from_secs(10);
}

impl Device {
    /// Attaches to a mapped ring. The region must be the whole UIO map.
    pub fn new(
        name: impl Into<String>,
        region: SharedRegion,
        doorbell: Doorbell,
        lun: LunConfig,
        backstore: Box<dyn Backstore>,
    ) -> Result<Self, DeviceError> {
        let ring = CommandRing::attach(&region)?;
        Ok(Self {
            name: name.into(),
            region: Arc::new(region),
            doorbell,
            ring,
            lun: ScsiLun::new(lun)?,
            backstore,
            inflight: InFlight::default(),
            entries: Vec::with_capacity(128),
            completions: Vec::with_capacity(128),
            clock: Instant::now(),
            held: VecDeque::new(),
            stats: DeviceStats::default(),
            late: None,
            ha: None,
        })
    }

    /// The device's name (the UIO name or a test label).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Counters since the device was attached.
    pub fn stats(&self) -> DeviceStats {
        DeviceStats {
            in_flight: self.ring.outstanding() as u64,
            health: self.backstore.health(),
            alua_state: self.alua_state().map(|s| s.code()),
            ..self.stats
        }
    }

    /// The fd that signals new commands.
    pub fn doorbell_fd(&self) -> BorrowedFd<'_> {
        self.doorbell.wait_fd()
    }

    /// The backstore's completion fd, if it completes asynchronously.
    pub fn backstore_fd(&self) -> Option<BorrowedFd<'_>> {
        self.backstore.notifier()
    }

    /// The backstore's io_uring work, for the serving reactor to run on its own ring
    /// ([`Backstore::ring_tenant`]); `None` for backstores without io_uring.
    pub fn ring_tenant(&mut self) -> Option<&mut dyn RingTenant> {
        self.backstore.ring_tenant()
    }

    /// True when the kernel has queued commands this device has not read yet (no
    /// syscall; the doorbell says the same, later).
    pub fn has_new_commands(&self) -> bool {
        self.ring.has_new(&self.region)
    }

    /// True when the backstore has finished requests waiting (no syscall; its notifier
    /// says the same, later).
    pub fn has_backstore_completions(&self) -> bool {
        self.backstore.has_completions()
    }

    /// Commands taken from the ring and not answered yet.
    pub fn outstanding(&self) -> usize {
        self.ring.outstanding()
    }

    /// Backstore requests not drained yet; the region must outlive them.
    pub fn backstore_in_flight(&self) -> usize {
        self.backstore.in_flight()
    }

    /// Clears the doorbell, reads every new entry and starts work on it.
    pub fn process_ring(&mut self) -> Result<(), DeviceError> {
        self.doorbell.ack().map_err(DeviceError::Doorbell)?;
        self.process_new_entries()
    }

    /// Reads every new entry and starts work on it, leaving the doorbell as it is: for a
    /// driver whose wait on the doorbell does not need it cleared (a multishot poll fires
    /// on every notification whether or not anyone read the last one).
    pub fn process_new_entries(&mut self) -> Result<(), DeviceError> {
        let mut entries = std::mem::take(&mut self.entries);
        let drained = self.ring.drain(&self.region, |e| entries.push(e));
        self.clock = Instant::now();
        for entry in entries.drain(..) {
            match entry {
                Entry::Cmd(cmd) => self.dispatch(cmd)?,
                Entry::Tmr { cmd_ids, .. } => self.stats.aborted += cmd_ids.len() as u64,
            }
        }
        self.entries = entries;
        if matches!(drained, Ok(n) if n > 0) {
            self.stats.batches += 1;
        }
        self.release_held()?;
        self.backstore.commit();
        drained.map(drop).map_err(Into::into)
    }

    /// Answers every command whose backstore request has finished.
    pub fn reap(&mut self) -> Result<(), DeviceError> {
        let mut done = std::mem::take(&mut self.completions);
        // Steps of multi-step commands and released held commands submit more work while
        // completions are handled; a backstore that completes inline (RAM) has those
        // done at once, so drain again until nothing is left rather than leave them for
        // a wake-up that only a new command would bring.
        loop {
            self.backstore.drain(&mut done);
            if done.is_empty() {
                break;
            }
            self.clock = Instant::now();
            for c in done.drain(..) {
                self.complete(c)?;
            }
            self.release_held()?;
            self.backstore.commit();
        }
        self.completions = done;
        Ok(())
    }

    /// Takes the backstore's finished requests and drops them: for a device that stopped
    /// serving, whose ring is not written any more, so that its backstore still runs dry
    /// and the device can be released.
    pub fn discard_completions(&mut self) {
        let mut done = std::mem::take(&mut self.completions);
        self.backstore.drain(&mut done);
        done.clear();
        self.completions = done;
    }

    /// Handles one finished backstore request: the next step of its command, or the answer.
    fn complete(&mut self, c: IoCompletion) -> Result<(), DeviceError> {
        self.note_result(&c.result);
        match self.take_finished(c.tag, &c.result) {
            Some(p) if matches!(p.waiting, Waiting::Compare(_)) => self.compare_step(p, c.result),
            Some(p) if matches!(p.waiting, Waiting::Copy(_)) => self.copy_step(p, c.result),
            Some(p) => {
                let spent = self.clock.duration_since(p.started);
                self.stats.latency.record(spent.as_micros() as u64);
                self.note_if_late(spent);
                if matches!(p.waiting, Waiting::Parts { .. }) {
                    self.finish_parts(p)
                } else {
                    self.finish_io(p, c.result)
                }
            }
            None => Ok(()),
        }
    }

    fn note_if_late(&mut self, spent: std::time::Duration) {
        let Some(late) = self.late.as_mut().filter(|l| spent > l.after) else {
            return;
        };
        self.stats.late += 1;
        late.unlogged += 1;
        if late
            .logged_at
            .is_none_or(|t| t.elapsed() >= LateCommands::LOG_EVERY)
        {
            tracing::warn!(
                device = %self.name,
                "{} command(s) answered later than tcmur_cmd_time_out ({} s), the last after {} ms",
                late.unlogged,
                late.after.as_secs(),
                spent.as_millis()
            );
            late.unlogged = 0;
            late.logged_at = Some(self.clock);
        }
    }

    /// Publishes this batch's completions and rings the doorbell once if any.
    pub fn finish_batch(&mut self) -> Result<(), DeviceError> {
        if self.ring.publish(&self.region)? {
            self.doorbell.kick().map_err(DeviceError::Doorbell)?;
            self.stats.kicks += 1;
        }
        Ok(())
    }

    /// Changes the LUN's size after the backstore was resized (RECONFIG, ChangeMedium).
    /// The new capacity is reported to initiators as CAPACITY DATA HAS CHANGED.
    pub fn resize(&mut self, new_size: u64) -> Result<(), BackstoreError> {
        let blocks = new_size / u64::from(self.lun.config().block_size.max(1));
        if blocks == 0 {
            return Err(BackstoreError::OutOfRange {
                offset: 0,
                len: new_size,
                size: new_size,
            });
        }
        self.backstore.resize(new_size)?;
        // Cannot fail: zero blocks was refused above.
        let _ = self.lun.set_capacity(blocks);
        Ok(())
    }

    /// The LUN's SCSI configuration (identity, geometry).
    pub fn lun_config(&self) -> &LunConfig {
        self.lun.config()
    }

    /// Replaces the INQUIRY identity (see [`ScsiLun::set_identity`]).
    pub fn set_identity(
        &mut self,
        id: &crate::scsi::Identity,
    ) -> Result<(), crate::scsi::LunConfigError> {
        self.lun
            .set_identity(&id.vendor, &id.product, &id.revision, &id.serial)
    }

    /// Counts and logs commands answered after spending longer than `after` in the
    /// handler (tcmu-runner's `tcmur_cmd_time_out`, which only reports them too: the
    /// kernel's own `cmd_time_out` is what fails a command). `None`: no such check.
    pub fn set_late_after(&mut self, after: Option<std::time::Duration>) {
        self.late = after.map(|after| LateCommands {
            after,
            unlogged: 0,
            logged_at: None,
        });
    }

    /// Reports a write-back cache (or not) from now on (RECONFIG of `emulate_write_cache`).
    pub fn set_write_cache(&mut self, on: bool) {
        self.lun.set_write_cache(on);
    }

    fn dispatch(&mut self, cmd: Command) -> Result<(), DeviceError> {
        self.stats.commands += 1;
        match cmd.problem() {
            Problem::UnknownOp(_) => return self.answer(cmd, &Status::Good, &[]),
            Problem::Malformed(_) => {
                let status = Status::CheckCondition(Sense::hardware_error_internal());
                return self.answer(cmd, &status, &[]);
            }
            Problem::None => {}
        }
        if cmd.cdb().is_truncated() {
            return self.answer(cmd, &Status::CheckCondition(Sense::invalid_opcode()), &[]);
        }
        self.note_command(cmd.cdb().as_bytes());
        let reader = SegmentReader {
            region: &self.region,
            segs: cmd.segments(),
        };
        match self.lun.dispatch(cmd.cdb().as_bytes(), &reader) {
            Dispatch::Reply(reply) => self.answer(cmd, &reply.status, &reply.data),
            Dispatch::Io(io) => self.submit(cmd, io),
        }
    }

    /// Starts `io`, or holds it while an overlapping COMPARE AND WRITE (or, for a CAW,
    /// an overlapping write) is in flight.
    fn submit(&mut self, cmd: Command, io: BlockIo) -> Result<(), DeviceError> {
        let guard = order::guard_for(&io);
        if let Some(g) = guard {
            if self.must_wait(&g) {
                self.held.push_back((cmd, io, g));
                return Ok(());
            }
        }
        self.start(cmd, io, guard)
    }

    /// Whether a command guarded by `g` must wait: for a conflicting command in flight,
    /// or behind an overlapping held one (so overlapping writes keep their order).
    fn must_wait(&self, g: &Guard) -> bool {
        self.held.iter().any(|(_, _, h)| h.overlaps(g)) || self.inflight.conflicts(g)
    }

    /// Starts every held command whose conflict has finished, keeping the order of
    /// those that still wait.
    fn release_held(&mut self) -> Result<(), DeviceError> {
        if self.held.is_empty() {
            return Ok(());
        }
        let waiting = std::mem::take(&mut self.held);
        for (cmd, io, g) in waiting {
            if self.must_wait(&g) {
                self.held.push_back((cmd, io, g));
            } else {
                self.start(cmd, io, Some(g))?;
            }
        }
        Ok(())
    }

    /// Commands held for ordering (for tests and `list`).
    pub fn held(&self) -> usize {
        self.held.len()
    }

    fn start(
        &mut self,
        cmd: Command,
        io: BlockIo,
        guard: Option<Guard>,
    ) -> Result<(), DeviceError> {
        let block = u64::from(self.lun.config().block_size);
        let offset = io.lba.saturating_mul(block);
        let len = u64::from(io.blocks).saturating_mul(block);
        if matches!(io.op, BlockOp::Read | BlockOp::Write) && cmd.data_len() < len {
            let status = Status::CheckCondition(Sense::invalid_field_in_cdb(7, None));
            return self.answer(cmd, &status, &[]);
        }
        let buf = || DataBuf::new(self.region.clone(), cmd.segments(), len);
        let (op, waiting) = match io.op {
            BlockOp::Read => (IoOp::Read { offset, buf: buf() }, Waiting::Read { len }),
            BlockOp::Write => (
                IoOp::Write {
                    offset,
                    buf: buf(),
                    fua: io.fua,
                },
                Waiting::NoData,
            ),
            BlockOp::Flush => (IoOp::Flush, Waiting::NoData),
            BlockOp::Unmap(ranges) => return self.unmap(cmd, &ranges, guard),
            BlockOp::WriteSame { unmap, ndob } => {
                return self.write_same(cmd, &io, (unmap, ndob), guard);
            }
            BlockOp::Verify(check) => {
                return self.start_compare(cmd, &io, job::Kind::Verify(check), guard);
            }
            BlockOp::CompareAndWrite => {
                let kind = job::Kind::CompareAndWrite { fua: io.fua };
                return self.start_compare(cmd, &io, kind, guard);
            }
            BlockOp::LbaStatus { alloc_len } => return self.lba_status(cmd, &io, alloc_len),
            BlockOp::Copy(plan) => return self.start_copy(cmd, plan, guard),
        };
        match &op {
            IoOp::Read { .. } => self.stats.read_bytes += len,
            IoOp::Write { .. } => self.stats.write_bytes += len,
            _ => {}
        }
        let tag = self
            .inflight
            .insert(PendingCommand::new(cmd, waiting, guard, self.clock));
        self.submit_tagged(tag, op)
    }

    /// Hands `op` for the pending command under `tag` to the backstore; if the backstore
    /// refuses it, the command is answered with that error at once.
    fn submit_tagged(&mut self, tag: u64, op: IoOp) -> Result<(), DeviceError> {
        match self.backstore.submit(IoRequest { tag, op }) {
            Ok(()) => Ok(()),
            Err(rejected) => match self.inflight.take(tag) {
                Some(pending) => {
                    self.note_result(&Err(rejected.error.clone()));
                    self.fail(pending, &rejected.error)
                }
                None => Ok(()),
            },
        }
    }

    /// Answers a pending command whose backstore request failed; a failed EXTENDED COPY
    /// first keeps its result for RECEIVE COPY RESULTS when it asked to.
    fn fail(&mut self, pending: PendingCommand, error: &BackstoreError) -> Result<(), DeviceError> {
        if let Waiting::Copy(job) = &pending.waiting {
            if let Some(result) = job.held_result(false) {
                self.lun.record_copy(result);
            }
        }
        self.answer(pending.cmd, &error.status(), &[])
    }

    fn finish_io(
        &mut self,
        pending: PendingCommand,
        result: Result<u64, BackstoreError>,
    ) -> Result<(), DeviceError> {
        match result {
            Ok(moved) => {
                let read_len = match pending.waiting {
                    Waiting::Read { len } if moved < len => Some(moved as u32),
                    _ => None,
                };
                let rsp = Response {
                    status: 0,
                    sense: &[],
                    read_len,
                };
                self.ring.complete(&self.region, pending.cmd, &rsp)?;
                Ok(())
            }
            Err(e) => self.fail(pending, &e),
        }
    }

    /// Completes `cmd` with `status` and, for data-in, `data` copied into its buffer.
    /// Every answer other than GOOD counts once, as a refusal or as an error, here and
    /// nowhere else.
    fn answer(&mut self, cmd: Command, status: &Status, data: &[u8]) -> Result<(), DeviceError> {
        if status.is_refusal() {
            self.stats.refused += 1;
        } else if *status != Status::Good {
            self.stats.errors += 1;
        }
        let mut sense = [0u8; crate::abi::SENSE_BUFFER_SIZE];
        let mut sense_len = 0;
        if let Status::CheckCondition(s) = status {
            sense_len = s.encode(self.lun.descriptor_sense(), &mut sense);
        }
        let mut read_len = None;
        if !data.is_empty() {
            let copied = scatter(&self.region, cmd.segments(), data).unwrap_or(0);
            if (copied as u64) < cmd.data_len() {
                read_len = Some(copied as u32);
            }
        }
        // The whole sense area is written, so no stale ring bytes follow the sense.
        let sense = if sense_len > 0 { &sense[..] } else { &[][..] };
        let rsp = Response {
            status: status.byte(),
            sense,
            read_len,
        };
        self.ring.complete(&self.region, cmd, &rsp)?;
        Ok(())
    }
}

impl BackstoreError {
    /// The SCSI answer for a failed backstore request (the one place this is decided).
    pub fn status(&self) -> Status {
        match self {
            BackstoreError::OutOfRange { .. } => Status::CheckCondition(Sense::lba_out_of_range()),
            BackstoreError::Unsupported(_) => Status::CheckCondition(Sense::invalid_opcode()),
            BackstoreError::Retryable(_) | BackstoreError::QueueFull => Status::Busy,
            BackstoreError::Fenced(_) => Status::CheckCondition(crate::scsi::alua::not_accessible(
                crate::scsi::alua::AccessState::Transitioning,
            )),
            BackstoreError::Read(_) => Status::CheckCondition(Sense::medium_error_read()),
            BackstoreError::Write(_) => Status::CheckCondition(Sense::medium_error_write()),
            BackstoreError::Other(_) | BackstoreError::Region(_) => {
                Status::CheckCondition(Sense::hardware_error_internal())
            }
        }
    }
}
