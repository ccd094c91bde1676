//! Tests of the fake kernel against a hand-written "handler" of a few lines that uses its
//! own mapping of the memfd, the way the real handler maps `/dev/uioN`.

mod reaping;
mod submitting;

use std::sync::atomic::Ordering;

use crate::abi::{self, entry_off, mailbox_off};
use crate::region::SharedRegion;

use super::{FakeKernel, FakeKernelConfig, HandlerEnd};

const TUR: [u8; 6] = [0; 6];
const READ10: [u8; 10] = [0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0];
const WRITE10: [u8; 10] = [0x2a, 0, 0, 0, 0, 0, 0, 0, 8, 0];

fn kernel(cfg: FakeKernelConfig) -> (FakeKernel, MiniHandler) {
    let k = FakeKernel::new(cfg).unwrap();
    let h = MiniHandler::new(&k);
    (k, h)
}

/// Just enough of a handler to drive the fake. It trusts every offset, so it is no model
/// for the real one; it reads entries at its private tail and answers them in place.
struct MiniHandler {
    region: SharedRegion,
    end: HandlerEnd,
    cmdr_off: u64,
    size: u32,
    tail: u32,
}

impl MiniHandler {
    fn new(k: &FakeKernel) -> Self {
        let end = k.handler_end().unwrap();
        let region = SharedRegion::map(&end.memfd, end.map_len).unwrap();
        let cmdr_off = u64::from(region.read_u32(mailbox_off::CMDR_OFF as u64).unwrap());
        let size = region.read_u32(mailbox_off::CMDR_SIZE as u64).unwrap();
        Self {
            region,
            end,
            cmdr_off,
            size,
            tail: 0,
        }
    }

    fn head(&self) -> u32 {
        self.region
            .load_u32(mailbox_off::CMD_HEAD, Ordering::Acquire)
            .unwrap()
    }

    /// Map offset of the entry at ring offset `off`.
    fn at(&self, off: u32) -> u64 {
        self.cmdr_off + u64::from(off)
    }

    /// (opcode, length) of the entry at ring offset `off`.
    fn op_len(&self, off: u32) -> (u32, u32) {
        abi::split_len_op(self.region.read_u32(self.at(off)).unwrap())
    }

    fn cmd_id(&self, off: u32) -> u16 {
        self.region
            .read_u16(self.at(off) + entry_off::CMD_ID as u64)
            .unwrap()
    }

    fn iov(&self, off: u32, i: usize) -> (u64, u64) {
        let at = self.at(off) + (entry_off::IOV + i * entry_off::IOV_SIZE) as u64;
        (
            self.region.read_u64(at).unwrap(),
            self.region.read_u64(at + 8).unwrap(),
        )
    }

    /// Skips PAD and TMR entries at the tail; returns the offset of the CMD slot there.
    fn next_cmd_slot(&mut self) -> u32 {
        while self.op_len(self.tail).0 != abi::OP_CMD {
            self.step();
        }
        self.tail
    }

    /// Answers `cmd_id` in the CMD slot at the tail and moves past it (not yet published).
    fn answer(&mut self, cmd_id: u16, status: u8, uflags: u8, read_len: u32) {
        let slot = self.next_cmd_slot();
        let at = self.at(slot);
        let r = &self.region;
        r.write_u16(at + entry_off::CMD_ID as u64, cmd_id).unwrap();
        r.write_u8(at + entry_off::UFLAGS as u64, uflags).unwrap();
        r.write_u8(at + entry_off::SCSI_STATUS as u64, status)
            .unwrap();
        r.write_u32(at + entry_off::READ_LEN as u64, read_len)
            .unwrap();
        self.step();
    }

    /// Answers the command in the next CMD slot with GOOD.
    fn answer_next(&mut self) -> u16 {
        let slot = self.next_cmd_slot();
        let id = self.cmd_id(slot);
        self.answer(id, 0, 0, 0);
        id
    }

    /// Moves the private tail past one entry.
    fn step(&mut self) {
        self.tail = (self.tail + self.op_len(self.tail).1) % self.size;
    }

    /// Publishes the tail (Release, so the answers are visible first) and kicks.
    fn publish(&self) {
        self.set_tail(self.tail);
        rustix::io::write(&self.end.kick, &1u64.to_ne_bytes()).unwrap();
    }

    fn set_tail(&self, tail: u32) {
        self.region
            .store_u32(mailbox_off::CMD_TAIL, tail, Ordering::Release)
            .unwrap();
    }

    /// Fills a command's data-in iovecs with `byte`.
    fn fill_data(&self, off: u32, byte: u8) {
        let at = self.at(off) + entry_off::IOV_CNT as u64;
        for i in 0..self.region.read_u32(at).unwrap() as usize {
            let (base, len) = self.iov(off, i);
            self.region.fill(base, len, byte).unwrap();
        }
    }
}
