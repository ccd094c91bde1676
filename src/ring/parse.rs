//! Reading new entries between the private cursor and the kernel's `cmd_head`.

#![forbid(unsafe_code)]

use super::command::{Cdb, Command, MAX_CDB, Malformed, Problem};
use super::{CommandRing, RingError};
use crate::abi::{self, entry_off};
use crate::region::{DataSeg, Segments, SharedRegion};
use smallvec::SmallVec;
use std::sync::atomic::Ordering;

/// A ring entry the handler has to act on (PAD entries are consumed silently).
#[derive(Debug)]
pub enum Entry {
    /// A SCSI command, possibly malformed or of an unknown type; it must be completed.
    Cmd(Command),
    /// The kernel aborted these commands (task management); they are still completed
    /// normally, the kernel just ignores their answers.
    Tmr {
        tmr_type: u8,
        cmd_ids: SmallVec<[u16; 8]>,
    },
}

impl CommandRing {
    /// Hands every entry the kernel has published to `sink`, in ring order, and returns
    /// how many there were. Stops at the first entry whose framing is impossible: the
    /// ring is then unusable until the kernel resets it.
    pub fn drain(
        &mut self,
        region: &SharedRegion,
        mut sink: impl FnMut(Entry),
    ) -> Result<usize, RingError> {
        let head = self.load_head(region)?;
        let mut count = 0;
        while self.next != head {
            let pos = self.next;
            let (op, len) = self.frame(region, pos, head)?;
            self.next = self.geo.advance(pos, len);
            match op {
                abi::OP_PAD => continue,
                abi::OP_TMR => sink(self.read_tmr(region, pos, len)?),
                _ => {
                    self.outstanding += 1;
                    sink(Entry::Cmd(self.read_cmd(region, pos, len, op)?));
                }
            }
            count += 1;
        }
        Ok(count)
    }

    /// Loads `cmd_head` and checks it is a ring offset.
    fn load_head(&self, region: &SharedRegion) -> Result<u32, RingError> {
        // Acquire: the entries and data the kernel wrote before publishing this head
        // must be visible before we read them (tcmu-runner corrupted rings on aarch64
        // with a relaxed load here).
        let head = region.load_u32(abi::mailbox_off::CMD_HEAD, Ordering::Acquire)?;
        if head >= self.geo.cmdr_size || head % abi::OP_ALIGN != 0 {
            return Err(RingError::BadHead { head });
        }
        Ok(head)
    }

    /// Reads the header at `pos` and checks the entry fits between `pos` and `head`
    /// without crossing the ring's end.
    fn frame(&self, region: &SharedRegion, pos: u32, head: u32) -> Result<(u32, u32), RingError> {
        let len_op = region.read_u32(self.geo.abs(pos) + entry_off::LEN_OP as u64)?;
        let (op, len) = abi::split_len_op(len_op);
        let available = if head > pos {
            head - pos
        } else {
            self.geo.cmdr_size - pos + head
        };
        let to_end = self.geo.cmdr_size - pos;
        if len < 8 || len > available || len > to_end {
            return Err(RingError::BadEntry { pos, len });
        }
        Ok((op, len))
    }

    fn read_tmr(&self, region: &SharedRegion, pos: u32, len: u32) -> Result<Entry, RingError> {
        let base = self.geo.abs(pos);
        if (len as usize) < entry_off::TMR_CMD_IDS {
            return Err(RingError::BadEntry { pos, len });
        }
        let tmr_type = region.read_u8(base + entry_off::TMR_TYPE as u64)?;
        let claimed = region.read_u32(base + entry_off::TMR_CMD_CNT as u64)? as usize;
        let room = (len as usize - entry_off::TMR_CMD_IDS) / 2;
        let mut cmd_ids = SmallVec::new();
        for i in 0..claimed.min(room) {
            let off = base + (entry_off::TMR_CMD_IDS + 2 * i) as u64;
            cmd_ids.push(region.read_u16(off)?);
        }
        Ok(Entry::Tmr { tmr_type, cmd_ids })
    }

    fn read_cmd(
        &self,
        region: &SharedRegion,
        pos: u32,
        len: u32,
        op: u32,
    ) -> Result<Command, RingError> {
        let base = self.geo.abs(pos);
        let cmd_id = region.read_u16(base + entry_off::CMD_ID as u64)?;
        let mut cmd = Command {
            cmd_id,
            cdb: Cdb::new(&[]),
            segs: Segments::new(),
            bidi_segs: Vec::new(),
            problem: Problem::None,
        };
        if op != abi::OP_CMD {
            cmd.problem = Problem::UnknownOp(op);
            return Ok(cmd);
        }
        if let Err(why) = self.fill_request(region, base, len, &mut cmd) {
            cmd.segs.clear();
            cmd.bidi_segs.clear();
            cmd.problem = Problem::Malformed(why);
        }
        Ok(cmd)
    }

    /// Copies CDB and iovecs out of the entry, validating every offset.
    fn fill_request(
        &self,
        region: &SharedRegion,
        base: u64,
        len: u32,
        cmd: &mut Command,
    ) -> Result<(), Malformed> {
        let rd32 = |off: usize| region.read_u32(base + off as u64).unwrap_or(u32::MAX);
        let (iov_cnt, bidi_cnt, dif_cnt) = (
            rd32(entry_off::IOV_CNT),
            rd32(entry_off::IOV_BIDI_CNT),
            rd32(entry_off::IOV_DIF_CNT),
        );
        if dif_cnt != 0 {
            return Err(Malformed::DifNotSupported);
        }
        let count = u64::from(iov_cnt) + u64::from(bidi_cnt);
        let needed = entry_off::IOV as u64 + count * entry_off::IOV_SIZE as u64;
        if needed > u64::from(len) {
            return Err(Malformed::TooManyIovecs {
                count,
                entry_len: len,
            });
        }
        cmd.cdb = self.read_cdb(region, base)?;
        for index in 0..iov_cnt + bidi_cnt {
            let seg = self.read_iovec(region, base, index)?;
            if index < iov_cnt {
                cmd.segs.push(seg);
            } else {
                cmd.bidi_segs.push(seg);
            }
        }
        Ok(())
    }

    fn read_iovec(
        &self,
        region: &SharedRegion,
        base: u64,
        index: u32,
    ) -> Result<DataSeg, Malformed> {
        let at = base + entry_off::IOV as u64 + u64::from(index) * entry_off::IOV_SIZE as u64;
        let off = region.read_u64(at).unwrap_or(u64::MAX);
        let len = region.read_u64(at + 8).unwrap_or(u64::MAX);
        let inside = off >= self.geo.data_off
            && off
                .checked_add(len)
                .is_some_and(|end| end <= self.geo.map_len);
        if !inside {
            return Err(Malformed::IovecOutOfBounds { index, off, len });
        }
        Ok(DataSeg { off, len })
    }

    /// The CDB must lie inside the command ring, where the kernel writes it.
    fn read_cdb(&self, region: &SharedRegion, base: u64) -> Result<Cdb, Malformed> {
        let off = region
            .read_u64(base + entry_off::CDB_OFF as u64)
            .unwrap_or(u64::MAX);
        let bad = Malformed::CdbOutOfBounds { off };
        let ring_start = u64::from(self.geo.cmdr_off);
        let ring_end = self.geo.data_off;
        let in_ring =
            |o: u64, n: u64| o >= ring_start && o.checked_add(n).is_some_and(|e| e <= ring_end);
        if !in_ring(off, 1) {
            return Err(bad);
        }
        let first = region.read_u8(off).map_err(|_| bad)?;
        let byte7 = if in_ring(off, 8) {
            region.read_u8(off + 7).ok()
        } else {
            None
        };
        let cdb_len = abi::cdb_length(first, byte7) as u64;
        if !in_ring(off, cdb_len) {
            return Err(bad);
        }
        let mut buf = [0u8; MAX_CDB + 1];
        let keep = (cdb_len as usize).min(buf.len());
        region.read_bytes(off, &mut buf[..keep]).map_err(|_| bad)?;
        Ok(Cdb::new(&buf[..keep]))
    }
}
