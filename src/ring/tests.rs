//! Ring protocol tests on a heap region written by hand (they run under miri).

use super::*;
use crate::abi::{entry_off, mailbox_off};
use crate::region::{DataSeg, Segments};

const CMDR_OFF: u32 = 128;
const CMDR_SIZE: u32 = 1024;
const DATA_OFF: u64 = (CMDR_OFF + CMDR_SIZE) as u64;
const MAP_LEN: usize = DATA_OFF as usize + 8192;

/// A minimal kernel stand-in: enough to lay entries down by hand.
struct Hand {
    region: SharedRegion,
    head: u32,
}

impl Hand {
    fn new(flags: u16) -> Self {
        let region = SharedRegion::heap(MAP_LEN);
        region.write_u16(mailbox_off::VERSION as u64, 2).unwrap();
        region.write_u16(mailbox_off::FLAGS as u64, flags).unwrap();
        region
            .write_u32(mailbox_off::CMDR_OFF as u64, CMDR_OFF)
            .unwrap();
        region
            .write_u32(mailbox_off::CMDR_SIZE as u64, CMDR_SIZE)
            .unwrap();
        Self { region, head: 0 }
    }

    fn abs(&self, pos: u32) -> u64 {
        u64::from(CMDR_OFF + pos)
    }

    fn publish(&self) {
        self.region
            .store_u32(mailbox_off::CMD_HEAD, self.head, Ordering::Release)
            .unwrap();
    }

    fn pad_to_end(&mut self) {
        let len = CMDR_SIZE - self.head;
        self.region
            .write_u32(self.abs(self.head), abi::join_len_op(abi::OP_PAD, len))
            .unwrap();
        self.head = 0;
    }

    /// Writes a CMD entry with a READ(10) CDB and the given iovecs; returns its length.
    fn cmd(&mut self, id: u16, iovs: &[(u64, u64)]) -> u32 {
        let base_size = abi::cmd_entry_base_size(iovs.len());
        let len = (base_size + abi::align_entry(10)) as u32;
        let at = self.abs(self.head);
        let r = &self.region;
        r.write_u32(at, abi::join_len_op(abi::OP_CMD, len)).unwrap();
        r.write_u16(at + entry_off::CMD_ID as u64, id).unwrap();
        r.write_u32(at + entry_off::IOV_CNT as u64, iovs.len() as u32)
            .unwrap();
        r.write_u64(at + entry_off::CDB_OFF as u64, at + base_size as u64)
            .unwrap();
        r.write_bytes(at + base_size as u64, &[0x28, 0, 0, 0, 0, 1, 0, 0, 1, 0])
            .unwrap();
        for (i, (b, l)) in iovs.iter().enumerate() {
            let io = at + (entry_off::IOV + 16 * i) as u64;
            r.write_u64(io, *b).unwrap();
            r.write_u64(io + 8, *l).unwrap();
        }
        self.head = (self.head + len) % CMDR_SIZE;
        len
    }

    fn tail(&self) -> u32 {
        self.region
            .load_u32(mailbox_off::CMD_TAIL, Ordering::Acquire)
            .unwrap()
    }

    fn slot_id(&self, pos: u32) -> u16 {
        self.region
            .read_u16(self.abs(pos) + entry_off::CMD_ID as u64)
            .unwrap()
    }

    fn slot_status(&self, pos: u32) -> u8 {
        self.region
            .read_u8(self.abs(pos) + entry_off::SCSI_STATUS as u64)
            .unwrap()
    }
}

fn commands(ring: &mut CommandRing, region: &SharedRegion) -> Vec<Command> {
    let mut out = Vec::new();
    ring.drain(region, |e| {
        if let Entry::Cmd(c) = e {
            out.push(c)
        }
    })
    .unwrap();
    out
}

#[test]
fn in_order_completion_moves_tail_by_entry_lengths() {
    let mut k = Hand::new(abi::CAP_OOOC);
    let l1 = k.cmd(1, &[(DATA_OFF, 512)]);
    let l2 = k.cmd(2, &[(DATA_OFF + 512, 512)]);
    k.publish();
    let mut ring = CommandRing::attach(&k.region).unwrap();
    let cmds = commands(&mut ring, &k.region);
    assert_eq!(cmds.len(), 2);
    assert_eq!(cmds[0].cdb().as_bytes()[0], 0x28);
    assert_eq!(
        cmds[1].segments(),
        &[DataSeg {
            off: DATA_OFF + 512,
            len: 512
        }]
    );
    for c in cmds {
        ring.complete(&k.region, c, &Response::GOOD).unwrap();
    }
    assert!(ring.publish(&k.region).unwrap());
    assert_eq!(k.tail(), l1 + l2);
    assert!(
        !ring.publish(&k.region).unwrap(),
        "nothing new: no doorbell"
    );
}

#[test]
fn out_of_order_completion_rewrites_the_tail_slot() {
    let mut k = Hand::new(abi::CAP_OOOC);
    let l1 = k.cmd(7, &[(DATA_OFF, 512)]);
    k.cmd(9, &[(DATA_OFF + 512, 512)]);
    k.publish();
    let mut ring = CommandRing::attach(&k.region).unwrap();
    let mut cmds = commands(&mut ring, &k.region);
    let second = cmds.pop().unwrap();
    let rsp = Response {
        status: 2,
        sense: &[0x70, 0, 5],
        read_len: None,
    };
    ring.complete(&k.region, second, &rsp).unwrap();
    ring.publish(&k.region).unwrap();
    assert_eq!(k.tail(), l1, "first slot now answers for command 9");
    assert_eq!(k.slot_id(0), 9);
    assert_eq!(k.slot_status(0), 2);
    let first = cmds.pop().unwrap();
    ring.complete(&k.region, first, &Response::GOOD).unwrap();
    ring.publish(&k.region).unwrap();
    assert_eq!(k.slot_id(l1), 7);
    assert_eq!(ring.outstanding(), 0);
}

#[test]
fn pad_at_ring_end_is_skipped_and_wraps() {
    let mut k = Hand::new(abi::CAP_OOOC);
    let mut ring = CommandRing::attach(&k.region).unwrap();
    // Fill most of the ring, complete, then force a PAD and a wrapped entry.
    let mut used = 0;
    while CMDR_SIZE - k.head >= 200 {
        used += k.cmd(1, &[(DATA_OFF, 512)]);
        k.publish();
        for c in commands(&mut ring, &k.region) {
            ring.complete(&k.region, c, &Response::GOOD).unwrap();
        }
        ring.publish(&k.region).unwrap();
    }
    assert_eq!(k.tail(), used);
    k.pad_to_end();
    let l = k.cmd(3, &[(DATA_OFF, 512)]);
    k.publish();
    let cmds = commands(&mut ring, &k.region);
    assert_eq!(cmds.len(), 1);
    assert_eq!(cmds[0].cmd_id(), 3);
    ring.complete(&k.region, cmds.into_iter().next().unwrap(), &Response::GOOD)
        .unwrap();
    ring.publish(&k.region).unwrap();
    assert_eq!(k.tail(), l, "tail wrapped past the PAD");
}

#[test]
fn bad_iovecs_and_cdb_become_malformed_commands() {
    let mut k = Hand::new(0);
    k.cmd(1, &[(DATA_OFF - 16, 512)]); // into the command ring
    k.cmd(2, &[(DATA_OFF, u64::MAX)]); // wraps
    k.cmd(3, &[(MAP_LEN as u64, 1)]); // past the end
    let at = k.abs(k.head);
    k.cmd(4, &[(DATA_OFF, 512)]);
    k.region
        .write_u64(at + entry_off::CDB_OFF as u64, MAP_LEN as u64 + 4)
        .unwrap();
    k.publish();
    let mut ring = CommandRing::attach(&k.region).unwrap();
    let cmds = commands(&mut ring, &k.region);
    assert_eq!(cmds.len(), 4);
    for c in &cmds {
        assert!(matches!(c.problem(), Problem::Malformed(_)), "{c:?}");
        assert!(c.segments().is_empty());
    }
    assert!(matches!(
        cmds[3].problem(),
        Problem::Malformed(Malformed::CdbOutOfBounds { .. })
    ));
}

#[test]
fn impossible_framing_stops_the_ring() {
    let mut k = Hand::new(0);
    k.cmd(1, &[(DATA_OFF, 512)]);
    k.region
        .write_u32(k.abs(0), abi::join_len_op(abi::OP_CMD, 4096))
        .unwrap();
    k.publish();
    let mut ring = CommandRing::attach(&k.region).unwrap();
    assert!(matches!(
        ring.drain(&k.region, |_| ()),
        Err(RingError::BadEntry { .. })
    ));
}

#[test]
fn completing_more_than_was_handed_out_is_refused() {
    let mut k = Hand::new(0);
    k.cmd(1, &[(DATA_OFF, 512)]);
    k.publish();
    let mut ring = CommandRing::attach(&k.region).unwrap();
    let mut cmds = commands(&mut ring, &k.region);
    ring.complete(&k.region, cmds.pop().unwrap(), &Response::GOOD)
        .unwrap();
    // A forged second command (same id) has no slot left.
    let forged = Command {
        cmd_id: 1,
        cdb: Cdb::new(&[0]),
        segs: Segments::new(),
        bidi_segs: Vec::new(),
        problem: Problem::None,
    };
    assert_eq!(
        ring.complete(&k.region, forged, &Response::GOOD),
        Err(RingError::NoSlot)
    );
}

mod arbitrary_rings {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the kernel side wrote, draining and completing neither panics nor
        /// hands out a segment outside the data area.
        #[test]
        fn garbage_is_answered_or_refused(
            ring_bytes in proptest::collection::vec(any::<u8>(), CMDR_SIZE as usize),
            head in 0u32..CMDR_SIZE,
        ) {
            let k = Hand::new(abi::CAP_OOOC | abi::CAP_READ_LEN);
            k.region.write_bytes(u64::from(CMDR_OFF), &ring_bytes).unwrap();
            k.region.store_u32(mailbox_off::CMD_HEAD, head & !7, Ordering::Release).unwrap();
            let mut ring = CommandRing::attach(&k.region).unwrap();
            let mut cmds = Vec::new();
            let _ = ring.drain(&k.region, |e| if let Entry::Cmd(c) = e { cmds.push(c) });
            for c in &cmds {
                for s in c.segments().iter().chain(c.bidi_segments()) {
                    prop_assert!(s.off >= DATA_OFF && s.off + s.len <= MAP_LEN as u64);
                }
            }
            for c in cmds.into_iter().rev() {
                prop_assert!(ring.complete(&k.region, c, &Response::GOOD).is_ok());
            }
            prop_assert_eq!(ring.outstanding(), 0);
            ring.publish(&k.region).unwrap();
        }
    }
}
