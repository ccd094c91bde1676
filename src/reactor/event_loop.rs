//! The reactor thread's loop: one io_uring wait per turn for every device's doorbell,
//! every asynchronous backstore's notifier, the file backstores' I/O and the control
//! eventfd; then drain, submit and answer (see the module above for the turn's shape).
//! A file READ's submission and completion each pass through here once: the device
//! queues the request with its backstore while reading its ring, the loop takes the
//! prepared submission from the backstore's [`crate::uring::RingTenant`] (reached through
//! [`Device::ring_tenant`]) and pushes it; the completion goes back to the same tenant,
//! and the device's reap answers the command.

#![forbid(unsafe_code)]

use super::gather::Gathering;
use super::slot::{Slot, SlotState};
use super::tag::{IoKey, Tag};
use super::{Control, DeviceId, ReactorOptions};
use crate::device::{Device, DeviceStats};
use crate::slab::Slab;
use crate::uring::{Cqe, Submission, Uring};
use std::collections::BTreeSet;
use std::io;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
use std::time::Instant;

/// A backstore submission in flight: whose it is and whether it counts for gathering.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    slot: u32,
    generation: u16,
    token: u64,
    gather: bool,
}

pub(super) struct EventLoop {
    uring: Uring,
    control: Receiver<Control>,
    wake: Arc<OwnedFd>,
    slots: Vec<Option<Slot>>,
    generation: u16,
    cqes: Vec<Cqe>,
    /// Backstore submissions in flight on `uring`, by key.
    io: Slab<InFlight>,
    /// The marked ones among them (see [`ReactorOptions::gather`]).
    gathering: Gathering,
    /// Scratch for the submissions a device's backstore hands over.
    sqes: Vec<Submission>,
    touched: BTreeSet<u32>,
    running: bool,
    options: ReactorOptions,
}

impl EventLoop {
    pub(super) fn new(
        uring: Uring,
        control: Receiver<Control>,
        wake: Arc<OwnedFd>,
        options: ReactorOptions,
    ) -> Self {
        Self {
            uring,
            control,
            wake,
            slots: Vec::new(),
            generation: 0,
            cqes: Vec::with_capacity(256),
            io: Slab::default(),
            gathering: Gathering::default(),
            sqes: Vec::new(),
            touched: BTreeSet::new(),
            running: true,
            options,
        }
    }

    pub(super) fn run(mut self) {
        if let Err(e) = self.arm_wake() {
            tracing::error!("reactor cannot poll its control eventfd: {e}");
            return;
        }
        while self.running || self.slots.iter().any(Option::is_some) {
            if let Err(e) = self.turn() {
                tracing::error!("reactor stopped: {e}");
                break;
            }
        }
    }

    fn arm_wake(&mut self) -> io::Result<()> {
        use std::os::fd::AsFd;
        let wake = self.wake.clone();
        self.uring.poll_readable(wake.as_fd(), Tag::Wake.encode())
    }

    /// One wake-up: wait, handle every completion, then finish each touched device.
    fn turn(&mut self) -> io::Result<()> {
        let mut cqes = std::mem::take(&mut self.cqes);
        if !self.busy_poll(&mut cqes)? {
            self.uring.submit_and_wait(1, &mut cqes)?;
        }
        self.gather(&mut cqes)?;
        for cqe in cqes.drain(..) {
            match Tag::decode(cqe.user_data) {
                Some(Tag::Wake) => self.on_wake()?,
                Some(Tag::Doorbell(slot, g)) => self.on_doorbell(slot, g, cqe.more),
                Some(Tag::Notifier(slot, g)) => self.on_notifier(slot, g),
                Some(Tag::Io(key)) => self.on_io(key, cqe.result),
                Some(Tag::Cancel) => {}
                None => tracing::error!(
                    user_data = cqe.user_data,
                    "reactor ignores a completion it never asked for"
                ),
            }
        }
        self.cqes = cqes;
        let touched = std::mem::take(&mut self.touched);
        for slot in &touched {
            self.finish(*slot)?;
        }
        self.touched = touched;
        self.touched.clear();
        Ok(())
    }

    /// With [`ReactorOptions::busy_poll`] set: submits this turn's work; unless some of
    /// its file I/O went to io_uring's workers (then it sleeps as usual), looks for
    /// posted completions, new commands in every device's ring and finished requests of
    /// notifier-driven backstores (glfs) — memory only, no syscall — until the window
    /// ends. Devices with new commands are read at once, as their doorbell would have
    /// them read; devices with finished requests are reaped at the end of the turn, as
    /// their notifier would have them reaped. True if anything turned up.
    fn busy_poll(&mut self, cqes: &mut Vec<Cqe>) -> io::Result<bool> {
        if self.options.busy_poll.is_zero() {
            return Ok(false);
        }
        self.uring.submit_and_wait(0, cqes)?;
        if self.io_left_to_workers(cqes) {
            // Spinning now would take a core from the threads doing that I/O.
            return Ok(!cqes.is_empty());
        }
        let start = Instant::now();
        loop {
            if self.uring.task_work_pending() {
                // Poll completions wait for this thread to enter the kernel.
                self.uring.submit_and_wait(0, cqes)?;
            } else {
                self.uring.peek(cqes);
            }
            let mut found = !cqes.is_empty();
            for index in 0..self.slots.len() as u32 {
                let Some(Some(s)) = self.slots.get(index as usize) else {
                    continue;
                };
                let finished =
                    s.device.backstore_in_flight() > 0 && s.device.has_backstore_completions();
                let new_commands = s.state.reads_commands() && s.device.has_new_commands();
                let generation = s.generation;
                if finished {
                    self.touched.insert(index);
                }
                if new_commands {
                    self.read_ring(index, generation);
                }
                found |= finished || new_commands;
            }
            if found {
                return Ok(true);
            }
            if start.elapsed() >= self.options.busy_poll {
                return Ok(false);
            }
            std::hint::spin_loop();
        }
    }

    /// With [`ReactorOptions::gather`] set: when `cqes` hold completions of marked
    /// requests and more of them are still in flight, waits up to the window for those
    /// and adds whatever arrived to `cqes`.
    fn gather(&mut self, cqes: &mut Vec<Cqe>) -> io::Result<()> {
        if self.options.gather.is_zero() || self.gathering.is_idle() {
            return Ok(());
        }
        let arrived = cqes
            .iter()
            .filter(|c| match Tag::decode(c.user_data) {
                Some(Tag::Io(key)) => self.io.get(key.get()).is_some_and(|f| f.gather),
                _ => false,
            })
            .count();
        match self.gathering.wait_for(arrived) {
            Some(left) => self.uring.wait_for(left, self.options.gather, cqes),
            None => Ok(()),
        }
    }

    /// True when file I/O submitted on the loop's ring is still running after the submit
    /// returned: the kernel handed it to io_uring's worker threads (tmpfs, buffered
    /// writes, fsync) or to a device, instead of completing it inline (page-cache reads
    /// on ext4/xfs). `cqes` holds the completions the submit found.
    fn io_left_to_workers(&self, cqes: &[Cqe]) -> bool {
        let finished = cqes
            .iter()
            .filter(|c| matches!(Tag::decode(c.user_data), Some(Tag::Io(_))))
            .count();
        finished < self.io.len()
    }

    fn slot(&mut self, slot: u32, generation: u16) -> Option<&mut Slot> {
        self.slots
            .get_mut(slot as usize)?
            .as_mut()
            .filter(|s| s.generation == generation)
    }

    /// The doorbell's poll fired; `still_armed` when it is a multishot poll that stays
    /// armed (its last completion, after a cancel or an overflow, comes without).
    fn on_doorbell(&mut self, index: u32, generation: u16, still_armed: bool) {
        let Some(s) = self.slot(index, generation) else {
            return;
        };
        s.doorbell_armed = still_armed;
        self.read_ring(index, generation);
    }

    /// Reads a device's new commands and starts work on them.
    ///
    /// Where the ring polls multishot ([`Uring::polls_multishot`], Linux 5.19), doorbells
    /// are watched by multishot polls ([`Uring::watch_readable`]) that need no read to
    /// fire again, so the doorbell is not cleared; older kernels get a one-shot poll and
    /// a read each time.
    fn read_ring(&mut self, index: u32, generation: u16) {
        let multishot = self.uring.polls_multishot();
        let Some(s) = self.slot(index, generation) else {
            return;
        };
        if s.state.reads_commands() {
            let read = if multishot {
                s.device.process_new_entries()
            } else {
                s.device.process_ring()
            };
            if let Err(e) = read {
                s.stop_serving(&e);
            }
        }
        self.touched.insert(index);
    }

    fn on_notifier(&mut self, index: u32, generation: u16) {
        if let Some(s) = self.slot(index, generation) {
            s.notifier_armed = false;
            self.touched.insert(index);
        }
    }

    /// A backstore submission finished: hand the result back to the backstore's io_uring
    /// work; the device answers it when it reaps at the end of the turn.
    fn on_io(&mut self, key: IoKey, result: i32) {
        let Some(f) = self.io.remove(key.get()) else {
            return;
        };
        if f.gather {
            self.gathering.completed();
        }
        if let Some(s) = self.slot(f.slot, f.generation) {
            if let Some(tenant) = s.device.ring_tenant() {
                tenant.complete(f.token, result);
            }
            self.touched.insert(f.slot);
        }
    }

    /// Queues the device's backstore submissions on the loop's ring; they go to the
    /// kernel with this turn's single `io_uring_enter`. One that cannot be queued is
    /// completed with EAGAIN at once (the initiator gets BUSY and retries).
    fn push_backstore_io(&mut self, index: u32) {
        let Some(Some(s)) = self.slots.get_mut(index as usize) else {
            return;
        };
        let Some(tenant) = s.device.ring_tenant() else {
            return;
        };
        tenant.take_submissions(&mut self.sqes);
        let generation = s.generation;
        let mut refused = false;
        for sqe in self.sqes.drain(..) {
            let (token, gather) = (sqe.token(), sqe.gather());
            let in_flight = InFlight {
                slot: index,
                generation,
                token,
                gather,
            };
            let queued = push(&mut self.uring, &mut self.io, in_flight, sqe);
            match queued {
                Ok(()) if gather => self.gathering.submitted(),
                Ok(()) => {}
                Err(e) => {
                    tracing::warn!(device = s.device.name(), "cannot queue backstore I/O: {e}");
                    if let Some(tenant) = s.device.ring_tenant() {
                        tenant.complete(token, -libc::EAGAIN);
                    }
                    refused = true;
                }
            }
        }
        if refused {
            // Answer the refused ones now: no completion will come for them.
            if let Err(e) = s.device.reap().and_then(|()| s.device.finish_batch()) {
                s.stop_serving(&e);
            }
        }
    }

    /// Reaps backstore completions, publishes, rings the doorbell once, re-arms polls,
    /// and releases a closing device when nothing refers to it any more.
    fn finish(&mut self, index: u32) -> io::Result<()> {
        let Some(Some(s)) = self.slots.get_mut(index as usize) else {
            return Ok(());
        };
        if s.state.is_broken() {
            s.device.discard_completions();
        } else if let Err(e) = s.device.reap().and_then(|()| s.device.finish_batch()) {
            s.stop_serving(&e);
        }
        self.push_backstore_io(index);
        let Some(Some(s)) = self.slots.get_mut(index as usize) else {
            return Ok(());
        };
        let (doorbell, notifier) = (
            Tag::Doorbell(index, s.generation),
            Tag::Notifier(index, s.generation),
        );
        if s.state.reads_commands() && !s.doorbell_armed {
            if self.uring.polls_multishot() {
                self.uring
                    .watch_readable(s.device.doorbell_fd(), doorbell.encode())?;
            } else {
                self.uring
                    .poll_readable(s.device.doorbell_fd(), doorbell.encode())?;
            }
            s.doorbell_armed = true;
        } else if s.state.is_broken() && s.doorbell_armed && self.uring.polls_multishot() {
            // A multishot poll would go on firing for a device nobody reads any more.
            self.uring.cancel(doorbell.encode(), Tag::Cancel.encode())?;
        }
        // A closing device's notifier matters only while its backstore has work.
        let async_work = !s.state.is_closing() || s.device.backstore_in_flight() > 0;
        if !s.notifier_armed && async_work {
            if let Some(fd) = s.device.backstore_fd() {
                self.uring.poll_readable(fd, notifier.encode())?;
                s.notifier_armed = true;
            }
        }
        self.release_if_idle(index)
    }

    fn release_if_idle(&mut self, index: u32) -> io::Result<()> {
        let Some(Some(s)) = self.slots.get_mut(index as usize) else {
            return Ok(());
        };
        if !s.state.is_closing() || s.device.backstore_in_flight() > 0 {
            return Ok(());
        }
        let g = s.generation;
        if s.doorbell_armed {
            self.uring
                .cancel(Tag::Doorbell(index, g).encode(), Tag::Cancel.encode())?;
            return Ok(());
        }
        if s.notifier_armed {
            self.uring
                .cancel(Tag::Notifier(index, g).encode(), Tag::Cancel.encode())?;
            return Ok(());
        }
        if let Some(Slot {
            mut device,
            state: SlotState::Closing { reply, .. },
            ..
        }) = self.slots[index as usize].take()
        {
            if let Some(tenant) = device.ring_tenant() {
                tenant.detach();
            }
            let _ = reply.send(Some(device));
        }
        Ok(())
    }

    fn on_wake(&mut self) -> io::Result<()> {
        let _ = rustix::io::read(&*self.wake, &mut [0u8; 8]);
        while let Ok(msg) = self.control.try_recv() {
            self.on_control(msg)?;
        }
        self.arm_wake()
    }

    fn on_control(&mut self, msg: Control) -> io::Result<()> {
        match msg {
            Control::Add(device, reply) => {
                let index = self.insert(device);
                // Commands queued before the device was added raised no doorbell we
                // could see: look at the ring once now.
                if let Some(Some(s)) = self.slots.get(index as usize) {
                    self.read_ring(index, s.generation);
                }
                let _ = reply.send(DeviceId(index));
            }
            Control::Remove(DeviceId(index), reply) => {
                let closing = match self.slots.get_mut(index as usize) {
                    Some(Some(s)) => s.state.close(reply),
                    _ => Err(reply),
                };
                match closing {
                    Ok(()) => {
                        self.touched.insert(index);
                    }
                    Err(reply) => {
                        let _ = reply.send(None);
                    }
                }
            }
            Control::Stats(DeviceId(index), reply) => {
                let stats = self
                    .slots
                    .get(index as usize)
                    .and_then(|s| s.as_ref())
                    .map(|s| DeviceStats {
                        stopped: s.state.is_broken(),
                        ..s.device.stats()
                    });
                let _ = reply.send(stats);
            }
            Control::Run(DeviceId(index), job) => {
                let device = self.slots.get_mut(index as usize).and_then(|s| s.as_mut());
                job(device.map(|s| &mut *s.device));
                self.touched.insert(index);
            }
            Control::Shutdown => self.shutdown(),
        }
        Ok(())
    }

    /// Stops taking new commands on every device; the loop ends when all are released.
    fn shutdown(&mut self) {
        self.running = false;
        for (index, slot) in self.slots.iter_mut().enumerate() {
            if let Some(s) = slot {
                if !s.state.is_closing() {
                    let (tx, _rx) = mpsc::channel();
                    let _ = s.state.close(tx);
                }
                self.touched.insert(index as u32);
            }
        }
    }

    fn insert(&mut self, mut device: Box<Device>) -> u32 {
        self.generation = self.generation.wrapping_add(1);
        if let Some(tenant) = device.ring_tenant() {
            // Refused while work the backstore submitted on its own is outstanding; it
            // then goes on with its private ring and notifier.
            tenant.attach();
        }
        let slot = Slot::new(device, self.generation);
        if let Some(i) = self.slots.iter().position(Option::is_none) {
            self.slots[i] = Some(slot);
            return i as u32;
        }
        self.slots.push(Some(slot));
        (self.slots.len() - 1) as u32
    }
}

/// Records `in_flight` under a new key and queues `sqe` on `uring` tagged with it; on
/// failure the record is dropped again and nothing was queued. A key a tag cannot carry
/// (more submissions in flight than memory holds) is refused the same way.
fn push(
    uring: &mut Uring,
    io: &mut Slab<InFlight>,
    in_flight: InFlight,
    sqe: Submission,
) -> io::Result<()> {
    let key = io.insert(in_flight);
    let pushed = match IoKey::new(key) {
        Some(tag) => uring.push_prepared(sqe, Tag::Io(tag).encode()),
        None => Err(io::Error::other("too many backstore submissions in flight")),
    };
    if pushed.is_err() {
        io.remove(key);
    }
    pushed
}
