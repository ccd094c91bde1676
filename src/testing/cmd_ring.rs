//! The kernel's side of the command ring: whether an entry fits, the PAD that keeps every
//! entry contiguous, the writers for CMD, PAD and TMR entries, and a shadow list of every
//! published entry. The shadow is what lets the reaper know entry boundaries and notice an
//! entry that userspace rewrote, instead of trusting `len_op` read back from shared memory.

#![forbid(unsafe_code)]

use std::collections::VecDeque;

use crate::abi::{self, entry_off};
use crate::region::{RegionError, SharedRegion};

use super::data_area::Iovecs;

/// What the kernel published in a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotKind {
    Pad,
    Tmr,
    /// A command; `cmd_id` is the id the kernel wrote (with OOOC the handler may answer a
    /// different in-flight command in this slot).
    Cmd {
        cmd_id: u16,
    },
}

/// One published entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    /// Offset inside the ring (add `cmdr_off` for the map offset).
    pub(crate) off: u32,
    pub(crate) len: u32,
    /// The `len_op` the kernel wrote; userspace must leave it alone.
    pub(crate) len_op: u32,
    pub(crate) kind: SlotKind,
}

/// Head, last-cleaned position and the entries between them.
#[derive(Debug)]
pub(crate) struct CmdRing {
    size: u32,
    head: u32,
    last_cleaned: u32,
    slots: VecDeque<Slot>,
}

impl CmdRing {
    pub(crate) fn new(size: u32) -> Self {
        Self {
            size,
            head: 0,
            last_cleaned: 0,
            slots: VecDeque::with_capacity(256),
        }
    }

    pub(crate) fn head(&self) -> u32 {
        self.head
    }

    pub(crate) fn last_cleaned(&self) -> u32 {
        self.last_cleaned
    }

    /// Bytes between last-cleaned and head (the kernel's `spc_used`).
    pub(crate) fn used(&self) -> u32 {
        self.dist(self.head)
    }

    /// Distance from last-cleaned forward to `pos`, modulo the ring size.
    pub(crate) fn dist(&self, pos: u32) -> u32 {
        (pos + self.size - self.last_cleaned) % self.size
    }

    /// `is_ring_space_avail`: one byte always stays unused so that full differs from empty,
    /// and an entry that would cross the end also needs the PAD up to the end.
    pub(crate) fn fits(&self, len: u32) -> bool {
        let to_end = self.size - self.head;
        let needed = if to_end >= len { len } else { len + to_end };
        u64::from(needed) < u64::from(self.size - self.used())
    }

    /// Claims `len` bytes at head for an entry of `kind` (the caller checked [`Self::fits`]).
    /// Returns the PAD slot inserted to the end first, if the entry would not fit before it
    /// (`ring_insert_padding`), and the entry's slot.
    pub(crate) fn push(&mut self, len: u32, len_op: u32, kind: SlotKind) -> (Option<Slot>, Slot) {
        let to_end = self.size - self.head;
        let pad = (to_end < len)
            .then(|| self.record(to_end, abi::join_len_op(abi::OP_PAD, to_end), SlotKind::Pad));
        (pad, self.record(len, len_op, kind))
    }

    fn record(&mut self, len: u32, len_op: u32, kind: SlotKind) -> Slot {
        let slot = Slot {
            off: self.head,
            len,
            len_op,
            kind,
        };
        self.slots.push_back(slot);
        self.head = (self.head + len) % self.size;
        slot
    }

    /// Changes the recorded `len_op` of the newest entry (for deliberate corruption).
    pub(crate) fn amend_last(&mut self, len_op: u32) {
        if let Some(s) = self.slots.back_mut() {
            s.len_op = len_op;
        }
    }

    /// The oldest entry userspace has not yet handed back.
    pub(crate) fn front(&self) -> Option<Slot> {
        self.slots.front().copied()
    }

    /// Entries from the oldest on.
    pub(crate) fn slots(&self) -> impl Iterator<Item = &Slot> {
        self.slots.iter()
    }

    /// Hands the oldest entry's space back.
    pub(crate) fn pop_front(&mut self) {
        if let Some(s) = self.slots.pop_front() {
            self.last_cleaned = (s.off + s.len) % self.size;
        }
    }

    /// Forgets everything and starts at offset 0 again (`reset_ring`).
    pub(crate) fn reset(&mut self) {
        self.slots.clear();
        self.head = 0;
        self.last_cleaned = 0;
    }
}

/// A command entry to write.
#[derive(Debug)]
pub(crate) struct CmdEntry<'a> {
    pub(crate) cmd_id: u16,
    /// Whole entry length (base size plus the aligned CDB).
    pub(crate) len: u32,
    /// `cmd_entry_base_size(iov_cnt)`: where the CDB starts inside the entry.
    pub(crate) base: usize,
    pub(crate) iov_cnt: u32,
    pub(crate) iovs: Iovecs<'a>,
    pub(crate) cdb: &'a [u8],
}

/// Writes a CMD entry at map offset `at` the way `queue_cmd_ring` does: zeroed, header,
/// iovecs, and the CDB right after the base size with `cdb_off` counted from the mailbox.
pub(crate) fn write_cmd(
    region: &SharedRegion,
    at: u64,
    e: CmdEntry<'_>,
) -> Result<(), RegionError> {
    region.fill(at, u64::from(e.len), 0)?;
    write_header(region, at, abi::join_len_op(abi::OP_CMD, e.len), e.cmd_id)?;
    region.write_u32(at + entry_off::IOV_CNT as u64, e.iov_cnt)?;
    let mut iov_at = at + entry_off::IOV as u64;
    for iov in e.iovs {
        region.write_u64(iov_at, iov.base)?;
        region.write_u64(iov_at + 8, iov.len)?;
        iov_at += entry_off::IOV_SIZE as u64;
    }
    let cdb_off = at + e.base as u64;
    region.write_u64(at + entry_off::CDB_OFF as u64, cdb_off)?;
    region.write_bytes(cdb_off, e.cdb)
}

/// Writes a PAD entry (header only, cmd_id and flags zero) at map offset `at`.
pub(crate) fn write_pad(region: &SharedRegion, at: u64, slot: &Slot) -> Result<(), RegionError> {
    write_header(region, at, slot.len_op, 0)
}

/// Writes a TMR entry (`queue_tmr_ring`): zeroed, type, count and the aborted ids.
pub(crate) fn write_tmr(
    region: &SharedRegion,
    at: u64,
    slot: &Slot,
    tmr_type: u8,
    cmd_ids: &[u16],
) -> Result<(), RegionError> {
    region.fill(at, u64::from(slot.len), 0)?;
    write_header(region, at, slot.len_op, 0)?;
    region.write_u8(at + entry_off::TMR_TYPE as u64, tmr_type)?;
    region.write_u32(at + entry_off::TMR_CMD_CNT as u64, cmd_ids.len() as u32)?;
    let ids_at = at + entry_off::TMR_CMD_IDS as u64;
    for (i, id) in cmd_ids.iter().enumerate() {
        region.write_u16(ids_at + 2 * i as u64, *id)?;
    }
    Ok(())
}

fn write_header(
    region: &SharedRegion,
    at: u64,
    len_op: u32,
    cmd_id: u16,
) -> Result<(), RegionError> {
    region.write_u32(at + entry_off::LEN_OP as u64, len_op)?;
    region.write_u16(at + entry_off::CMD_ID as u64, cmd_id)?;
    region.write_u8(at + entry_off::KFLAGS as u64, 0)?;
    region.write_u8(at + entry_off::UFLAGS as u64, 0)
}

/// Length of a TMR entry naming `n` commands.
pub(crate) fn tmr_entry_len(n: usize) -> usize {
    abi::align_entry(entry_off::TMR_CMD_IDS + 2 * n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(ring: &mut CmdRing, len: u32) -> (Option<Slot>, Slot) {
        let op = abi::join_len_op(abi::OP_CMD, len);
        ring.push(len, op, SlotKind::Cmd { cmd_id: 1 })
    }

    #[test]
    fn keeps_one_byte_free() {
        let mut r = CmdRing::new(256);
        assert!(r.fits(248));
        assert!(!r.fits(256));
        cmd(&mut r, 248);
        assert_eq!(r.used(), 248);
        assert!(!r.fits(8));
    }

    #[test]
    fn pads_to_the_end_when_an_entry_would_cross_it() {
        let mut r = CmdRing::new(256);
        cmd(&mut r, 200);
        r.pop_front();
        // 56 bytes left before the end: a 112-byte entry needs 56 of PAD first.
        assert!(r.fits(112));
        let (pad, slot) = cmd(&mut r, 112);
        let pad = pad.unwrap();
        assert_eq!((pad.off, pad.len, pad.kind), (200, 56, SlotKind::Pad));
        assert_eq!(slot.off, 0);
        assert_eq!(r.head(), 112);
        assert_eq!(r.used(), 56 + 112);
    }

    #[test]
    fn counts_the_pad_against_free_space() {
        let mut r = CmdRing::new(256);
        cmd(&mut r, 200);
        cmd(&mut r, 8);
        r.pop_front();
        // head 208, last_cleaned 200: free is 247, but 48 of PAD + 200 > 247.
        assert!(!r.fits(200));
        assert!(r.fits(48));
    }

    #[test]
    fn an_entry_may_end_exactly_at_the_end() {
        let mut r = CmdRing::new(256);
        cmd(&mut r, 144);
        r.pop_front();
        let (pad, slot) = cmd(&mut r, 112);
        assert!(pad.is_none());
        assert_eq!((slot.off, r.head()), (144, 0));
    }

    #[test]
    fn tmr_entries_are_aligned() {
        assert_eq!(tmr_entry_len(0), 32);
        assert_eq!(tmr_entry_len(1), 40);
        assert_eq!(tmr_entry_len(4), 40);
        assert_eq!(tmr_entry_len(5), 48);
    }
}
