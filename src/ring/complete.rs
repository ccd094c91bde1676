//! Writing answers into the ring, in ring order, for commands finished in any order.

#![forbid(unsafe_code)]

use super::command::{Command, Problem, Response};
use super::{CommandRing, RingError};
use crate::abi::{self, entry_off};
use crate::region::SharedRegion;

impl CommandRing {
    /// Answers `cmd` and consumes it. The answer goes into the next CMD slot at the
    /// completion cursor, rewritten to carry `cmd`'s id; it becomes visible to the
    /// kernel at the next [`CommandRing::publish`].
    pub fn complete(
        &mut self,
        region: &SharedRegion,
        cmd: Command,
        rsp: &Response<'_>,
    ) -> Result<(), RingError> {
        self.skip_non_commands(region)?;
        if self.done == self.next || self.outstanding == 0 {
            return Err(RingError::NoSlot);
        }
        let slot = self.geo.abs(self.done);
        let len_op = region.read_u32(slot + entry_off::LEN_OP as u64)?;
        let (_, len) = abi::split_len_op(len_op);
        self.write_response(region, slot, &cmd, rsp)?;
        self.done = self.geo.advance(self.done, len);
        self.outstanding -= 1;
        Ok(())
    }

    fn write_response(
        &self,
        region: &SharedRegion,
        slot: u64,
        cmd: &Command,
        rsp: &Response<'_>,
    ) -> Result<(), RingError> {
        let mut uflags = 0;
        if let Problem::UnknownOp(_) = cmd.problem {
            uflags |= abi::UFLAG_UNKNOWN_OP;
        }
        let read_len = rsp.read_len.filter(|_| self.geo.has(abi::CAP_READ_LEN));
        if read_len.is_some() {
            uflags |= abi::UFLAG_READ_LEN;
        }
        region.write_u16(slot + entry_off::CMD_ID as u64, cmd.cmd_id)?;
        region.write_u8(slot + entry_off::UFLAGS as u64, uflags)?;
        region.write_u8(slot + entry_off::SCSI_STATUS as u64, rsp.status)?;
        region.write_u32(slot + entry_off::READ_LEN as u64, read_len.unwrap_or(0))?;
        let sense = &rsp.sense[..rsp.sense.len().min(abi::SENSE_BUFFER_SIZE)];
        region.write_bytes(slot + entry_off::SENSE as u64, sense)?;
        Ok(())
    }

    /// Moves the completion cursor over PAD and TMR entries that need no answer, so the
    /// kernel can reclaim their space.
    pub(super) fn skip_non_commands(&mut self, region: &SharedRegion) -> Result<(), RingError> {
        while self.done != self.next {
            let len_op = region.read_u32(self.geo.abs(self.done) + entry_off::LEN_OP as u64)?;
            let (op, len) = abi::split_len_op(len_op);
            if op != abi::OP_PAD && op != abi::OP_TMR {
                break;
            }
            if len < abi::OP_ALIGN {
                return Err(RingError::BadEntry {
                    pos: self.done,
                    len,
                });
            }
            self.done = self.geo.advance(self.done, len);
        }
        Ok(())
    }
}
