//! The consumer half of the ring, like `tcmu_handle_completions`: walk from the last
//! cleaned position to the handler's `cmd_tail`, skip PAD and TMR entries, and finish the
//! command named in each CMD slot.
//!
//! Where the kernel trusts `len_op` read back from shared memory (and just marks the ring
//! broken on an unknown cmd_id), the fake checks everything against its shadow of what it
//! published, because its job is to catch handler bugs: a tail that is not on an entry
//! boundary or runs past the head, a rewritten header, a PAD or TMR slot used for an
//! answer, an unknown or repeated cmd_id, flags for capabilities never offered, and a
//! `read_len` longer than the buffer. Any of these breaks the ring until `reset_ring`.

#![forbid(unsafe_code)]

use std::sync::atomic::Ordering;

use crate::abi::{self, SENSE_BUFFER_SIZE, entry_off, mailbox_off};
use crate::region::RegionError;

use super::cmd_ids::Xfer;
use super::cmd_ring::{Slot, SlotKind};
use super::fake_kernel::FakeKernel;

/// SAM status GOOD.
pub const STATUS_GOOD: u8 = 0x00;
/// SAM status CHECK CONDITION; the kernel also reports it for `UFLAG_UNKNOWN_OP`.
pub const STATUS_CHECK_CONDITION: u8 = 0x02;
/// SAM status BUSY, what `reset_ring` (level 1) fails in-flight commands with.
pub const STATUS_BUSY: u8 = 0x08;

/// A finished command, borrowed from the fake's reused buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion<'a> {
    pub cmd_id: u16,
    pub status: u8,
    /// `rsp.sense_buffer` as the handler left it (meaningful on CHECK CONDITION).
    pub sense: [u8; SENSE_BUFFER_SIZE],
    /// The data-in bytes the kernel would pass on: none for other directions, none on
    /// CHECK CONDITION without a valid `read_len`, and `read_len` bytes when one is valid.
    pub data_in: &'a [u8],
    /// `rsp.read_len` when the kernel honours it: data-in, `UFLAG_READ_LEN` set, non-zero.
    pub read_len: Option<u32>,
    /// The handler set `UFLAG_UNKNOWN_OP`; `status` is then CHECK CONDITION.
    pub unknown_op: bool,
}

/// A finished command with owned data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed {
    pub cmd_id: u16,
    pub status: u8,
    pub sense: [u8; SENSE_BUFFER_SIZE],
    pub data_in: Vec<u8>,
    pub read_len: Option<u32>,
    pub unknown_op: bool,
}

impl Completion<'_> {
    /// Copies the borrowed data out.
    pub fn to_completed(&self) -> Completed {
        Completed {
            cmd_id: self.cmd_id,
            status: self.status,
            sense: self.sense,
            data_in: self.data_in.to_vec(),
            read_len: self.read_len,
            unknown_op: self.unknown_op,
        }
    }
}

/// A handler bug the kernel would punish by marking the ring broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolViolation {
    #[error("the ring is broken by an earlier violation; reset_ring first")]
    Broken,
    #[error("cmd_tail {tail:#x} lies outside the {size:#x}-byte command ring")]
    TailOutOfRing { tail: u32, size: u32 },
    #[error("cmd_tail {tail:#x} runs past cmd_head {head:#x} (last cleaned {last_cleaned:#x})")]
    TailBeyondHead {
        tail: u32,
        head: u32,
        last_cleaned: u32,
    },
    #[error("cmd_tail {tail:#x} falls inside the entry at {entry_off:#x}")]
    TailInsideEntry { tail: u32, entry_off: u32 },
    #[error("userspace changed cmd_head from {expected:#x} to {found:#x}")]
    HeadModified { expected: u32, found: u32 },
    #[error("entry at {off:#x}: len_op changed from {expected:#x} to {found:#x}")]
    HeaderChanged { off: u32, expected: u32, found: u32 },
    #[error(
        "{kind} entry at {off:#x} was written: cmd_id {cmd_id}, kflags {kflags:#x}, uflags {uflags:#x}"
    )]
    NonCmdSlotWritten {
        off: u32,
        kind: &'static str,
        cmd_id: u16,
        kflags: u8,
        uflags: u8,
    },
    #[error(
        "completion at {off:#x} names cmd_id {cmd_id}, which is not in flight (never issued or already completed)"
    )]
    UnknownCmdId { off: u32, cmd_id: u16 },
    #[error(
        "slot at {off:#x} (cmd_id {expected}) answers cmd_id {cmd_id}, but CAP_OOOC was not offered"
    )]
    OutOfOrderWithoutCap {
        off: u32,
        cmd_id: u16,
        expected: u16,
    },
    #[error("cmd_id {cmd_id}: uflags {uflags:#x} use a capability that was not offered")]
    FlagNotOffered { cmd_id: u16, uflags: u8 },
    #[error("cmd_id {cmd_id}: read_len {read_len} exceeds the {len}-byte data-in buffer")]
    ReadLenTooLong {
        cmd_id: u16,
        read_len: u32,
        len: usize,
    },
    #[error("the fake kernel read outside its own map (a bug in the fake)")]
    Internal(#[from] RegionError),
}

impl FakeKernel {
    /// Reaps everything the handler completed. On a violation the completions before it
    /// are lost to the caller; use [`Self::reap_into`] to keep them.
    pub fn reap(&mut self) -> Result<Vec<Completed>, ProtocolViolation> {
        let mut out = Vec::new();
        self.reap_into(&mut out)?;
        Ok(out)
    }

    /// Appends the completions to `out`; returns how many. Those found before a violation
    /// stay in `out`.
    pub fn reap_into(&mut self, out: &mut Vec<Completed>) -> Result<usize, ProtocolViolation> {
        self.reap_with(|c| out.push(c.to_completed()))
    }

    /// Calls `f` for each completion, in ring order, without allocating in steady state.
    pub fn reap_with(
        &mut self,
        mut f: impl FnMut(&Completion<'_>),
    ) -> Result<usize, ProtocolViolation> {
        if self.broken {
            return Err(ProtocolViolation::Broken);
        }
        let result = self.walk(&mut f);
        self.broken = result.is_err();
        result
    }

    /// Fails every in-flight command with BUSY and restarts the ring at offset 0, like
    /// writing 1 to configfs `action/reset_ring`; also clears the broken state.
    pub fn reset_ring(&mut self) -> Vec<Completed> {
        let ids: Vec<u16> = self.cmds.live_ids().collect();
        let failed = ids.into_iter().map(|id| {
            self.retire(id);
            Completed {
                cmd_id: id,
                status: STATUS_BUSY,
                sense: [0; SENSE_BUFFER_SIZE],
                data_in: Vec::new(),
                read_len: None,
                unknown_op: false,
            }
        });
        let failed = failed.collect();
        self.ring.reset();
        // Fixed, aligned offsets inside the mailbox: these stores cannot fail.
        let _ = self
            .region
            .store_u32(mailbox_off::CMD_TAIL, 0, Ordering::Release);
        let _ = self
            .region
            .store_u32(mailbox_off::CMD_HEAD, 0, Ordering::Release);
        self.broken = false;
        failed
    }

    fn walk(&mut self, f: &mut impl FnMut(&Completion<'_>)) -> Result<usize, ProtocolViolation> {
        // Acquire: pairs with the handler's Release store of cmd_tail, so the status,
        // sense, read_len and data-in bytes it wrote before advancing the tail are visible
        // to the reads below.
        let tail = self
            .region
            .load_u32(mailbox_off::CMD_TAIL, Ordering::Acquire)?;
        self.check_head()?;
        self.check_tail(tail)?;
        let mut done = 0;
        while self.ring.last_cleaned() != tail {
            let Some(slot) = self.ring.front() else { break };
            self.check_header(&slot)?;
            match slot.kind {
                SlotKind::Cmd { cmd_id } => {
                    self.complete(&slot, cmd_id, f)?;
                    done += 1;
                }
                SlotKind::Pad => self.check_untouched(&slot, "PAD")?,
                SlotKind::Tmr => self.check_untouched(&slot, "TMR")?,
            }
            self.ring.pop_front();
        }
        Ok(done)
    }

    fn check_head(&self) -> Result<(), ProtocolViolation> {
        let found = self
            .region
            .load_u32(mailbox_off::CMD_HEAD, Ordering::Relaxed)?;
        let expected = self.ring.head();
        if found != expected {
            return Err(ProtocolViolation::HeadModified { expected, found });
        }
        Ok(())
    }

    /// The tail must lie between last-cleaned and head, on an entry boundary.
    fn check_tail(&self, tail: u32) -> Result<(), ProtocolViolation> {
        let size = self.geom.cmdr_size as u32;
        if tail >= size {
            return Err(ProtocolViolation::TailOutOfRing { tail, size });
        }
        let want = self.ring.dist(tail);
        if want > self.ring.used() {
            let (head, last_cleaned) = (self.ring.head(), self.ring.last_cleaned());
            return Err(ProtocolViolation::TailBeyondHead {
                tail,
                head,
                last_cleaned,
            });
        }
        let mut walked = 0;
        for slot in self.ring.slots() {
            if walked == want {
                break;
            }
            walked += slot.len;
            if walked > want {
                return Err(ProtocolViolation::TailInsideEntry {
                    tail,
                    entry_off: slot.off,
                });
            }
        }
        Ok(())
    }

    fn check_header(&self, slot: &Slot) -> Result<(), ProtocolViolation> {
        let found = self
            .region
            .read_u32(self.ring_off(slot.off) + entry_off::LEN_OP as u64)?;
        if found != slot.len_op {
            let (off, expected) = (slot.off, slot.len_op);
            return Err(ProtocolViolation::HeaderChanged {
                off,
                expected,
                found,
            });
        }
        Ok(())
    }

    /// PAD and TMR slots are skipped by the kernel; an answer written into one is lost.
    fn check_untouched(&self, slot: &Slot, kind: &'static str) -> Result<(), ProtocolViolation> {
        let at = self.ring_off(slot.off);
        let cmd_id = self.region.read_u16(at + entry_off::CMD_ID as u64)?;
        let kflags = self.region.read_u8(at + entry_off::KFLAGS as u64)?;
        let uflags = self.region.read_u8(at + entry_off::UFLAGS as u64)?;
        if (cmd_id, kflags, uflags) != (0, 0, 0) {
            let off = slot.off;
            return Err(ProtocolViolation::NonCmdSlotWritten {
                off,
                kind,
                cmd_id,
                kflags,
                uflags,
            });
        }
        Ok(())
    }

    /// `tcmu_handle_completion` for the command named in `slot`.
    fn complete(
        &mut self,
        slot: &Slot,
        expected: u16,
        f: &mut impl FnMut(&Completion<'_>),
    ) -> Result<(), ProtocolViolation> {
        let at = self.ring_off(slot.off);
        let cmd_id = self.region.read_u16(at + entry_off::CMD_ID as u64)?;
        let uflags = self.region.read_u8(at + entry_off::UFLAGS as u64)?;
        if cmd_id != expected && self.caps & abi::CAP_OOOC == 0 {
            let off = slot.off;
            return Err(ProtocolViolation::OutOfOrderWithoutCap {
                off,
                cmd_id,
                expected,
            });
        }
        self.check_uflags(cmd_id, uflags)?;
        let off = slot.off;
        let xfer = (self.cmds.get(cmd_id).map(|r| r.xfer))
            .ok_or(ProtocolViolation::UnknownCmdId { off, cmd_id })?;
        let mut sense = [0u8; SENSE_BUFFER_SIZE];
        self.region
            .read_bytes(at + entry_off::SENSE as u64, &mut sense)?;
        let raw_status = self.region.read_u8(at + entry_off::SCSI_STATUS as u64)?;
        let raw_read_len = self.region.read_u32(at + entry_off::READ_LEN as u64)?;
        let unknown_op = uflags & abi::UFLAG_UNKNOWN_OP != 0;
        let status = if unknown_op {
            STATUS_CHECK_CONDITION
        } else {
            raw_status
        };
        let read_len = match unknown_op {
            true => None,
            false => read_len(cmd_id, xfer, uflags, raw_read_len)?,
        };
        let len = data_in_len(xfer, status, unknown_op, read_len);
        self.gather(cmd_id, len)?;
        self.retire(cmd_id);
        let data_in = &self.scratch[..len];
        f(&Completion {
            cmd_id,
            status,
            sense,
            data_in,
            read_len,
            unknown_op,
        });
        Ok(())
    }

    /// Only `UNKNOWN_OP` and, if offered, `READ_LEN`; kept buffers are not emulated.
    fn check_uflags(&self, cmd_id: u16, uflags: u8) -> Result<(), ProtocolViolation> {
        let mut allowed = abi::UFLAG_UNKNOWN_OP;
        if self.caps & abi::CAP_READ_LEN != 0 {
            allowed |= abi::UFLAG_READ_LEN;
        }
        if uflags & !allowed != 0 {
            return Err(ProtocolViolation::FlagNotOffered { cmd_id, uflags });
        }
        Ok(())
    }

    /// Copies the first `len` data bytes of `cmd_id` into the start of the scratch
    /// buffer, which only grows: zeroing it again for every command would double the
    /// memory traffic of a read, which the real kernel does not pay.
    fn gather(&mut self, cmd_id: u16, len: usize) -> Result<(), RegionError> {
        if self.scratch.len() < len {
            self.scratch.resize(len, 0);
        }
        let dbis = self.cmds.get(cmd_id).map_or(&[][..], |r| &r.dbis);
        self.data
            .gather(&self.region, dbis, &mut self.scratch[..len])
    }

    /// Frees the command's blocks and id.
    fn retire(&mut self, cmd_id: u16) {
        if let Some(rec) = self.cmds.get(cmd_id) {
            self.data.release(&rec.dbis);
        }
        self.cmds.retire(cmd_id);
    }
}

/// The kernel honours `read_len` only for data-in with `UFLAG_READ_LEN` and a non-zero
/// value; it clamps a longer one silently, the fake calls it a violation.
fn read_len(
    cmd_id: u16,
    xfer: Xfer,
    uflags: u8,
    raw: u32,
) -> Result<Option<u32>, ProtocolViolation> {
    let Xfer::FromDevice(len) = xfer else {
        return Ok(None);
    };
    if uflags & abi::UFLAG_READ_LEN == 0 || raw == 0 {
        return Ok(None);
    }
    if raw as usize > len {
        return Err(ProtocolViolation::ReadLenTooLong {
            cmd_id,
            read_len: raw,
            len,
        });
    }
    Ok(Some(raw))
}

/// How many data-in bytes the kernel copies back (`gather_data_area`): none on CHECK
/// CONDITION unless `read_len` is valid, otherwise `read_len` or the whole buffer.
fn data_in_len(xfer: Xfer, status: u8, unknown_op: bool, read_len: Option<u32>) -> usize {
    match xfer {
        Xfer::FromDevice(_) if unknown_op => 0,
        Xfer::FromDevice(_) if status == STATUS_CHECK_CONDITION && read_len.is_none() => 0,
        Xfer::FromDevice(len) => read_len.map_or(len, |r| r as usize),
        Xfer::None | Xfer::ToDevice => 0,
    }
}
