//! The fake kernel: a memfd laid out like `target_core_user`'s UIO map, and the producer
//! half of the ring protocol (`queue_cmd_ring`, `queue_tmr_ring`). The consumer half
//! (`tcmu_handle_completions`) is in `reap.rs`.
//!
//! The kernel's view of the map is its own [`SharedRegion`]; the handler gets a separate
//! mapping of the same memfd through [`FakeKernel::handler_end`], exactly as it would map
//! `/dev/uioN`, so the two sides share nothing but memory and two eventfds.

#![forbid(unsafe_code)]

use std::io;
use std::os::fd::OwnedFd;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rustix::fs::{MemfdFlags, ftruncate, memfd_create};

use crate::abi::{self, mailbox_off};
use crate::region::{MapError, RegionError, SharedRegion};

use super::cmd_ids::{CmdTable, Xfer};
use super::cmd_ring::{self, CmdEntry, CmdRing, Slot, SlotKind};
use super::config::{FakeKernelConfig, FakeKernelConfigError, Geometry};
use super::corruption::Corruption;
use super::data_area::DataArea;
use super::eventfd::EventFd;

/// Which way a submitted command moves data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataDir<'a> {
    /// No data phase.
    None,
    /// Data-out: these bytes are copied into the data area before the command is published.
    ToDevice(&'a [u8]),
    /// Data-in of this many bytes: copied out of the data area when the command is reaped.
    FromDevice(usize),
}

impl DataDir<'_> {
    fn xfer(&self) -> Xfer {
        match *self {
            Self::None => Xfer::None,
            Self::ToDevice(_) => Xfer::ToDevice,
            Self::FromDevice(len) => Xfer::FromDevice(len),
        }
    }

    fn len(&self) -> usize {
        match *self {
            Self::None => 0,
            Self::ToDevice(d) => d.len(),
            Self::FromDevice(len) => len,
        }
    }
}

/// Knobs for one submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubmitOpts {
    /// Ring the irq eventfd after publishing. Turn off to queue a batch, then call
    /// [`FakeKernel::notify`] once (the kernel's plugging does the same).
    pub notify: bool,
    /// Damage the entry before it is published.
    pub corruption: Option<Corruption>,
}

impl Default for SubmitOpts {
    fn default() -> Self {
        Self {
            notify: true,
            corruption: None,
        }
    }
}

impl SubmitOpts {
    /// Publish without ringing the doorbell.
    pub fn quiet() -> Self {
        Self {
            notify: false,
            ..Self::default()
        }
    }

    /// Publish an entry damaged by `c`.
    pub fn corrupt(c: Corruption) -> Self {
        Self {
            corruption: Some(c),
            ..Self::default()
        }
    }
}

/// Why a command was not queued. Nothing is left allocated when this is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// No room in the command ring; reap completions and retry.
    #[error("command ring full")]
    RingFull,
    /// Not enough free data blocks; reap completions and retry.
    #[error("data area full")]
    DataFull,
    /// The in-flight limit is reached; reap completions and retry.
    #[error("too many commands in flight")]
    TooManyInFlight,
    /// The kernel fails such a command with INVALID FIELD IN CDB; retrying cannot help.
    #[error("{len} bytes of data exceed the {max}-byte data area")]
    DataTooLarge { len: usize, max: usize },
    /// The entry exceeds half the ring, which the kernel refuses outright.
    #[error("a {len}-byte entry exceeds half of the {ring}-byte ring")]
    EntryTooLarge { len: usize, ring: usize },
    /// The CDB is shorter than its opcode's group says.
    #[error("CDB of {len} bytes, its opcode needs {need}")]
    BadCdb { len: usize, need: usize },
    /// TMR notifications need `CAP_TMR` in the configured caps.
    #[error("TMR notification without CAP_TMR")]
    TmrNotOffered,
    /// The ring is broken by a protocol violation; call `reset_ring`.
    #[error("ring is broken; reset_ring first")]
    Broken,
    /// A write outside the map: a bug in the fake itself.
    #[error("fake kernel wrote outside its map")]
    Region(#[from] RegionError),
}

/// Failure to build a fake kernel.
#[derive(Debug, thiserror::Error)]
pub enum FakeKernelError {
    #[error("invalid configuration")]
    Config(#[from] FakeKernelConfigError),
    #[error("creating or sizing the memfd failed")]
    Memfd(#[source] io::Error),
    #[error("mapping the memfd failed")]
    Map(#[from] MapError),
    #[error("creating an eventfd failed")]
    Eventfd(#[source] io::Error),
    #[error("writing the mailbox failed")]
    Region(#[from] RegionError),
}

/// What a handler gets instead of `/dev/uioN`: the map and the two doorbells.
#[derive(Debug)]
pub struct HandlerEnd {
    /// Map this with `SharedRegion::map(&memfd, map_len)`.
    pub memfd: OwnedFd,
    /// The only length the map may have (`/sys/class/uio/uioN/maps/map0/size`).
    pub map_len: usize,
    /// Readable when new commands are published; read 8 bytes (an eventfd counter) to
    /// clear it, where the UIO fd takes a 4-byte read.
    pub irq: OwnedFd,
    /// Write a native-endian `1u64` after advancing `cmd_tail`, where the UIO fd takes a
    /// 4-byte write.
    pub kick: OwnedFd,
}

/// The kernel side of one TCMU device.
#[derive(Debug)]
pub struct FakeKernel {
    // Fields drop in order: the mapping is released before the memfd is closed.
    pub(super) region: SharedRegion,
    memfd: OwnedFd,
    irq: EventFd,
    kick: EventFd,
    pub(super) geom: Geometry,
    pub(super) caps: u16,
    pub(super) ring: CmdRing,
    pub(super) data: DataArea,
    pub(super) cmds: CmdTable,
    /// Set on a protocol violation, like `TCMU_DEV_BIT_BROKEN`; cleared by `reset_ring`.
    pub(super) broken: bool,
    /// Reused buffer for data-in, so reaping does not allocate.
    pub(super) scratch: Vec<u8>,
}

impl FakeKernel {
    /// Creates the memfd, maps it and writes the mailbox.
    pub fn new(config: FakeKernelConfig) -> Result<Self, FakeKernelError> {
        let geom = config.geometry()?;
        let memfd = memfd_create("tcmu-fake-kernel", MemfdFlags::CLOEXEC)
            .map_err(|e| FakeKernelError::Memfd(e.into()))?;
        ftruncate(&memfd, geom.map_len as u64).map_err(|e| FakeKernelError::Memfd(e.into()))?;
        let region = SharedRegion::map(&memfd, geom.map_len)?;
        write_mailbox(&region, &geom, config.caps)?;
        Ok(Self {
            region,
            memfd,
            irq: EventFd::new().map_err(FakeKernelError::Eventfd)?,
            kick: EventFd::new().map_err(FakeKernelError::Eventfd)?,
            geom,
            caps: config.caps,
            ring: CmdRing::new(geom.cmdr_size as u32),
            data: DataArea::new(&geom),
            cmds: CmdTable::new(config.max_inflight),
            broken: false,
            scratch: Vec::new(),
        })
    }

    /// New descriptors for the handler: the memfd to map, and both doorbells.
    pub fn handler_end(&self) -> io::Result<HandlerEnd> {
        Ok(HandlerEnd {
            memfd: self.memfd.try_clone()?,
            map_len: self.geom.map_len,
            irq: self.irq.dup()?,
            kick: self.kick.dup()?,
        })
    }

    /// Queues a command and rings the irq doorbell; returns its cmd_id.
    pub fn submit(&mut self, cdb: &[u8], dir: DataDir<'_>) -> Result<u16, SubmitError> {
        self.submit_with(cdb, dir, SubmitOpts::default())
    }

    /// Queues a command whose entry is damaged by `c`; returns its cmd_id.
    pub fn submit_corrupt(
        &mut self,
        cdb: &[u8],
        dir: DataDir<'_>,
        c: Corruption,
    ) -> Result<u16, SubmitError> {
        self.submit_with(cdb, dir, SubmitOpts::corrupt(c))
    }

    /// Queues a command like `queue_cmd_ring`: data blocks first, then the entry (after a
    /// PAD if it would cross the ring's end), then `cmd_head`, then the doorbell.
    pub fn submit_with(
        &mut self,
        cdb: &[u8],
        dir: DataDir<'_>,
        opts: SubmitOpts,
    ) -> Result<u16, SubmitError> {
        self.usable()?;
        let cdb = checked_cdb(cdb)?;
        let (id, iov_cnt) = self.claim_blocks(dir.len())?;
        let base = abi::cmd_entry_base_size(iov_cnt);
        let len = base + abi::align_entry(cdb.len());
        if let Err(e) = self.check_entry_space(len) {
            self.release_claim(id);
            return Err(e);
        }
        self.cmds.commit(id, dir.xfer());
        let len = len as u32;
        let at = self.write_command(id, len, base, iov_cnt as u32, cdb, dir)?;
        if let Some(c) = opts.corruption {
            self.corrupt(c, at, len)?;
        }
        self.publish(opts.notify)?;
        Ok(id)
    }

    /// Reserves the slot and writes the entry and the data-out; returns its map offset.
    fn write_command(
        &mut self,
        id: u16,
        len: u32,
        base: usize,
        iov_cnt: u32,
        cdb: &[u8],
        dir: DataDir<'_>,
    ) -> Result<u64, RegionError> {
        let kind = SlotKind::Cmd { cmd_id: id };
        let slot = self.push_slot(len, abi::join_len_op(abi::OP_CMD, len), kind)?;
        let at = self.ring_off(slot.off);
        let dbis = self.cmds.get(id).map_or(&[][..], |r| &r.dbis);
        let iovs = self.data.iovecs(dbis, dir.len());
        let entry = CmdEntry {
            cmd_id: id,
            len,
            base,
            iov_cnt,
            iovs,
            cdb,
        };
        cmd_ring::write_cmd(&self.region, at, entry)?;
        if let DataDir::ToDevice(out) = dir {
            self.data.scatter(&self.region, dbis, out)?;
        }
        Ok(at)
    }

    /// Queues a TMR notification naming `cmd_ids` (`queue_tmr_ring`). The kernel parks a
    /// TMR that does not fit and queues it before any later command; here the caller gets
    /// `RingFull` and must reap and retry before submitting more.
    pub fn submit_tmr(&mut self, tmr_type: u8, cmd_ids: &[u16]) -> Result<(), SubmitError> {
        self.usable()?;
        if self.caps & abi::CAP_TMR == 0 {
            return Err(SubmitError::TmrNotOffered);
        }
        let len = u32::try_from(cmd_ring::tmr_entry_len(cmd_ids.len()))
            .map_err(|_| SubmitError::RingFull)?;
        if !self.ring.fits(len) {
            return Err(SubmitError::RingFull);
        }
        let len_op = abi::join_len_op(abi::OP_TMR, len);
        let slot = self.push_slot(len, len_op, SlotKind::Tmr)?;
        cmd_ring::write_tmr(
            &self.region,
            self.ring_off(slot.off),
            &slot,
            tmr_type,
            cmd_ids,
        )?;
        self.publish(true)?;
        Ok(())
    }

    /// Rings the irq doorbell once (after a batch of quiet submissions).
    pub fn notify(&self) {
        self.irq.ring();
    }

    /// How often the irq doorbell rang since the handler last cleared it (its read of
    /// the UIO fd); clears it now. A handler that never reads leaves every ring counted.
    pub fn unread_notifications(&self) -> io::Result<u64> {
        self.irq.take()
    }

    /// Waits up to `timeout` for the handler's kick; true if it came. Clears the kick.
    pub fn wait_kick(&self, timeout: Duration) -> io::Result<bool> {
        Ok(self.kick.wait(timeout)? > 0)
    }

    /// Commands the handler has not completed yet.
    pub fn inflight(&self) -> usize {
        self.cmds.len()
    }

    /// The `cmd_head` the kernel last published.
    pub fn head(&self) -> u32 {
        self.ring.head()
    }

    /// The `cmd_tail` the handler last published (read from the mailbox).
    pub fn tail(&self) -> u32 {
        let tail = self
            .region
            .load_u32(mailbox_off::CMD_TAIL, Ordering::Acquire);
        tail.unwrap_or(0)
    }

    /// How far the kernel has reaped (`cmdr_last_cleaned`).
    pub fn last_cleaned(&self) -> u32 {
        self.ring.last_cleaned()
    }

    /// Where the mailbox, ring and data area lie.
    pub fn geometry(&self) -> Geometry {
        self.geom
    }

    /// The capability flags written into the mailbox.
    pub fn caps(&self) -> u16 {
        self.caps
    }

    /// True after a protocol violation, until `reset_ring`.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// Data blocks not owned by any in-flight command.
    pub fn free_data_blocks(&self) -> usize {
        self.data.free_blocks()
    }

    /// The kernel's own mapping, for tests that inspect what was written.
    pub fn region(&self) -> &SharedRegion {
        &self.region
    }

    fn usable(&self) -> Result<(), SubmitError> {
        if self.broken {
            return Err(SubmitError::Broken);
        }
        Ok(())
    }

    /// Picks the command's id and claims its blocks; returns the id and the iovec count.
    fn claim_blocks(&mut self, len: usize) -> Result<(u16, usize), SubmitError> {
        let max = self.geom.data_size();
        if len > max {
            return Err(SubmitError::DataTooLarge { len, max });
        }
        let (id, rec) = self.cmds.vacant().ok_or(SubmitError::TooManyInFlight)?;
        if !self.data.alloc(self.data.blocks_for(len), &mut rec.dbis) {
            return Err(SubmitError::DataFull);
        }
        Ok((id, self.data.iovecs(&rec.dbis, len).count()))
    }

    /// Gives back the blocks of a claim that was not committed.
    fn release_claim(&mut self, id: u16) {
        if let Some((_, rec)) = self.cmds.vacant().filter(|(v, _)| *v == id) {
            self.data.release(&rec.dbis);
            rec.dbis.clear();
        }
    }

    fn check_entry_space(&self, len: usize) -> Result<(), SubmitError> {
        let ring = self.geom.cmdr_size;
        if len > ring / 2 {
            return Err(SubmitError::EntryTooLarge { len, ring });
        }
        if !self.ring.fits(len as u32) {
            return Err(SubmitError::RingFull);
        }
        Ok(())
    }

    /// Reserves the slot, writing the PAD before it if needed.
    fn push_slot(&mut self, len: u32, len_op: u32, kind: SlotKind) -> Result<Slot, RegionError> {
        let (pad, slot) = self.ring.push(len, len_op, kind);
        if let Some(pad) = pad {
            cmd_ring::write_pad(&self.region, self.ring_off(pad.off), &pad)?;
        }
        Ok(slot)
    }

    fn corrupt(&mut self, c: Corruption, at: u64, len: u32) -> Result<(), RegionError> {
        if let Some(len_op) = c.apply(&self.region, &self.geom, at, len)? {
            self.ring.amend_last(len_op);
        }
        Ok(())
    }

    /// Publishes `cmd_head` and optionally rings the doorbell.
    fn publish(&self, notify: bool) -> Result<(), RegionError> {
        // Release: the entries, CDBs and data-out bytes written above must be visible
        // before the handler can observe the new head; this pairs with its Acquire load of
        // cmd_head (the kernel's UPDATE_HEAD is smp_store_release for the same reason).
        self.region
            .store_u32(mailbox_off::CMD_HEAD, self.ring.head(), Ordering::Release)?;
        if notify {
            self.irq.ring();
        }
        Ok(())
    }

    /// Map offset of a ring offset.
    pub(super) fn ring_off(&self, off: u32) -> u64 {
        (self.geom.cmdr_off + off as usize) as u64
    }
}

/// Writes the mailbox as `tcmu_configure_device` does; head and tail start at zero.
fn write_mailbox(region: &SharedRegion, geom: &Geometry, caps: u16) -> Result<(), RegionError> {
    region.write_u16(mailbox_off::VERSION as u64, abi::MAILBOX_VERSION)?;
    region.write_u16(mailbox_off::FLAGS as u64, caps)?;
    region.write_u32(mailbox_off::CMDR_OFF as u64, geom.cmdr_off as u32)?;
    region.write_u32(mailbox_off::CMDR_SIZE as u64, geom.cmdr_size as u32)?;
    region.store_u32(mailbox_off::CMD_HEAD, 0, Ordering::Relaxed)?;
    region.store_u32(mailbox_off::CMD_TAIL, 0, Ordering::Relaxed)
}

/// The CDB cut to the length its opcode implies (`scsi_command_size`), which is all the
/// kernel copies into the ring.
fn checked_cdb(cdb: &[u8]) -> Result<&[u8], SubmitError> {
    let first = *cdb.first().ok_or(SubmitError::BadCdb { len: 0, need: 6 })?;
    let need = abi::cdb_length(first, cdb.get(7).copied());
    cdb.get(..need).ok_or(SubmitError::BadCdb {
        len: cdb.len(),
        need,
    })
}
