//! The kernel's TCMU ABI (`include/uapi/linux/target_core_user.h`, mailbox version 2).
//!
//! The structs mirror the C layout so the compile-time asserts below can prove every size
//! and offset; the rest of the crate reads and writes the shared memory through
//! [`crate::region::SharedRegion`] at the offsets named here, never through references
//! into kernel-writable memory.

#![forbid(unsafe_code)]

use core::mem::{align_of, offset_of, size_of};

/// Mailbox layout version this crate speaks.
pub const MAILBOX_VERSION: u16 = 2;

/// Mailbox capability: the kernel accepts completions out of ring order.
pub const CAP_OOOC: u16 = 1 << 0;
/// Mailbox capability: the kernel honours `rsp.read_len` when `UFLAG_READ_LEN` is set.
pub const CAP_READ_LEN: u16 = 1 << 1;
/// Mailbox capability: the kernel may queue TMR entries (task management notifications).
pub const CAP_TMR: u16 = 1 << 2;
/// Mailbox capability: the kernel can keep a command's data buffer after completion.
pub const CAP_KEEP_BUF: u16 = 1 << 3;

/// Entry opcode: padding up to the ring's end; skip it.
pub const OP_PAD: u32 = 0;
/// Entry opcode: a SCSI command.
pub const OP_CMD: u32 = 1;
/// Entry opcode: a task management notification listing aborted commands.
pub const OP_TMR: u32 = 2;
/// The low bits of `len_op` that hold the opcode; the rest is the entry length.
pub const OP_MASK: u32 = 0x7;
/// Every entry length and ring offset is a multiple of this.
pub const OP_ALIGN: u32 = 8;

/// Userspace flag: the handler did not understand this entry's opcode.
pub const UFLAG_UNKNOWN_OP: u8 = 0x1;
/// Userspace flag: `rsp.read_len` holds the number of bytes really read.
pub const UFLAG_READ_LEN: u8 = 0x2;
/// Userspace flag: keep the data buffer after completion (unused by this handler).
pub const UFLAG_KEEP_BUF: u8 = 0x4;

/// Size of the sense buffer inside a completion.
pub const SENSE_BUFFER_SIZE: usize = 96;

/// TMR types carried in [`TmrEntry::tmr_type`].
pub mod tmr {
    pub const UNKNOWN: u8 = 0;
    pub const ABORT_TASK: u8 = 1;
    pub const ABORT_TASK_SET: u8 = 2;
    pub const CLEAR_ACA: u8 = 3;
    pub const CLEAR_TASK_SET: u8 = 4;
    pub const LUN_RESET: u8 = 5;
    pub const TARGET_WARM_RESET: u8 = 6;
    pub const TARGET_COLD_RESET: u8 = 7;
    /// Pseudo reset caused by a PERSISTENT RESERVE OUT.
    pub const LUN_RESET_PRO: u8 = 128;
}

/// `struct tcmu_mailbox`: the first 128 bytes of the map.
///
/// `cmd_tail` sits on its own cache line (offset 64) because userspace writes it while the
/// kernel writes `cmd_head`; a `packed` port that puts it at offset 16 corrupts the ring.
#[repr(C, align(64))]
#[derive(Debug, Clone, Copy)]
pub struct Mailbox {
    pub version: u16,
    pub flags: u16,
    pub cmdr_off: u32,
    pub cmdr_size: u32,
    pub cmd_head: u32,
    pub _pad: [u8; 48],
    pub cmd_tail: u32,
    pub _pad_tail: [u8; 60],
}

/// `struct tcmu_cmd_entry_hdr`, at the start of every ring entry.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct EntryHeader {
    pub len_op: u32,
    pub cmd_id: u16,
    pub kflags: u8,
    pub uflags: u8,
}

/// `struct iovec` as the kernel writes it: `base` is an offset from the mailbox start.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RawIovec {
    pub base: u64,
    pub len: u64,
}

/// The request half of `struct tcmu_cmd_entry` (before the flexible `iov[]`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct CmdRequest {
    pub hdr: EntryHeader,
    pub iov_cnt: u32,
    pub iov_bidi_cnt: u32,
    pub iov_dif_cnt: u32,
    pub _pad0: u32,
    pub cdb_off: u64,
    pub _pad1: u64,
    pub _pad2: u64,
}

/// The response half of `struct tcmu_cmd_entry` (a union with the request).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct CmdResponse {
    pub hdr: EntryHeader,
    pub scsi_status: u8,
    pub _pad1: u8,
    pub _pad2: u16,
    pub read_len: u32,
    pub sense_buffer: [u8; SENSE_BUFFER_SIZE],
}

/// `struct tcmu_tmr_entry` (before the flexible `cmd_ids[]`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TmrEntry {
    pub hdr: EntryHeader,
    pub tmr_type: u8,
    pub _pad1: u8,
    pub _pad2: u16,
    pub cmd_cnt: u32,
    pub _pad3: u64,
    pub _pad4: u64,
}

/// Size of `struct tcmu_cmd_entry` (the union's larger member, the response).
pub const CMD_ENTRY_SIZE: usize = size_of::<CmdResponse>();
/// Size of the mailbox; the kernel puts the command ring right after it.
pub const MAILBOX_SIZE: usize = size_of::<Mailbox>();

/// Byte offsets inside the mailbox.
pub mod mailbox_off {
    pub const VERSION: usize = core::mem::offset_of!(super::Mailbox, version);
    pub const FLAGS: usize = core::mem::offset_of!(super::Mailbox, flags);
    pub const CMDR_OFF: usize = core::mem::offset_of!(super::Mailbox, cmdr_off);
    pub const CMDR_SIZE: usize = core::mem::offset_of!(super::Mailbox, cmdr_size);
    pub const CMD_HEAD: usize = core::mem::offset_of!(super::Mailbox, cmd_head);
    pub const CMD_TAIL: usize = core::mem::offset_of!(super::Mailbox, cmd_tail);
}

/// Byte offsets inside a ring entry (relative to the entry's start).
pub mod entry_off {
    use super::{CmdRequest, CmdResponse, EntryHeader, TmrEntry};
    use core::mem::{offset_of, size_of};
    pub const LEN_OP: usize = offset_of!(EntryHeader, len_op);
    pub const CMD_ID: usize = offset_of!(EntryHeader, cmd_id);
    pub const KFLAGS: usize = offset_of!(EntryHeader, kflags);
    pub const UFLAGS: usize = offset_of!(EntryHeader, uflags);
    pub const IOV_CNT: usize = offset_of!(CmdRequest, iov_cnt);
    pub const IOV_BIDI_CNT: usize = offset_of!(CmdRequest, iov_bidi_cnt);
    pub const IOV_DIF_CNT: usize = offset_of!(CmdRequest, iov_dif_cnt);
    pub const CDB_OFF: usize = offset_of!(CmdRequest, cdb_off);
    pub const IOV: usize = size_of::<CmdRequest>();
    pub const IOV_SIZE: usize = size_of::<super::RawIovec>();
    pub const SCSI_STATUS: usize = offset_of!(CmdResponse, scsi_status);
    pub const READ_LEN: usize = offset_of!(CmdResponse, read_len);
    pub const SENSE: usize = offset_of!(CmdResponse, sense_buffer);
    pub const TMR_TYPE: usize = offset_of!(TmrEntry, tmr_type);
    pub const TMR_CMD_CNT: usize = offset_of!(TmrEntry, cmd_cnt);
    pub const TMR_CMD_IDS: usize = size_of::<TmrEntry>();
}

/// Splits `len_op` into (opcode, entry length).
pub const fn split_len_op(len_op: u32) -> (u32, u32) {
    (len_op & OP_MASK, len_op & !OP_MASK)
}

/// Joins an opcode and an entry length into `len_op` (the kernel's side: the fake kernel).
#[cfg(any(test, feature = "test-utils"))]
pub const fn join_len_op(op: u32, len: u32) -> u32 {
    (len & !OP_MASK) | (op & OP_MASK)
}

/// The kernel's size for a command entry with `iov_cnt` iovecs before the CDB:
/// `max(offsetof(req.iov[iov_cnt]), sizeof(struct tcmu_cmd_entry))`.
#[cfg(any(test, feature = "test-utils"))]
pub const fn cmd_entry_base_size(iov_cnt: usize) -> usize {
    let with_iovs = entry_off::IOV + iov_cnt * entry_off::IOV_SIZE;
    if with_iovs > CMD_ENTRY_SIZE {
        with_iovs
    } else {
        CMD_ENTRY_SIZE
    }
}

/// Rounds `n` up to the entry alignment.
#[cfg(any(test, feature = "test-utils"))]
pub const fn align_entry(n: usize) -> usize {
    (n + OP_ALIGN as usize - 1) & !(OP_ALIGN as usize - 1)
}

/// The length of a CDB as the kernel computes it (`scsi_command_size`): by group code,
/// or from byte 7 for variable-length CDBs (opcode 0x7f).
pub fn cdb_length(first: u8, byte7: Option<u8>) -> usize {
    const BY_GROUP: [usize; 8] = [6, 10, 10, 12, 16, 12, 10, 10];
    if first == 0x7f {
        byte7.map_or(8, |b| usize::from(b) + 8)
    } else {
        BY_GROUP[usize::from(first >> 5)]
    }
}

// Layout of include/uapi/linux/target_core_user.h as gcc lays it out on x86-64 (mailbox
// version 2); the build fails if any drifts.
const _: () = {
    assert!(size_of::<Mailbox>() == 128);
    assert!(align_of::<Mailbox>() == 64);
    assert!(offset_of!(Mailbox, version) == 0);
    assert!(offset_of!(Mailbox, flags) == 2);
    assert!(offset_of!(Mailbox, cmdr_off) == 4);
    assert!(offset_of!(Mailbox, cmdr_size) == 8);
    assert!(offset_of!(Mailbox, cmd_head) == 12);
    assert!(offset_of!(Mailbox, cmd_tail) == 64);
    assert!(size_of::<EntryHeader>() == 8);
    assert!(offset_of!(EntryHeader, cmd_id) == 4);
    assert!(offset_of!(EntryHeader, kflags) == 6);
    assert!(offset_of!(EntryHeader, uflags) == 7);
    assert!(size_of::<RawIovec>() == 16);
    assert!(offset_of!(CmdRequest, iov_cnt) == 8);
    assert!(offset_of!(CmdRequest, iov_bidi_cnt) == 12);
    assert!(offset_of!(CmdRequest, iov_dif_cnt) == 16);
    assert!(offset_of!(CmdRequest, cdb_off) == 24);
    assert!(size_of::<CmdRequest>() == 48);
    assert!(offset_of!(CmdResponse, scsi_status) == 8);
    assert!(offset_of!(CmdResponse, read_len) == 12);
    assert!(offset_of!(CmdResponse, sense_buffer) == 16);
    assert!(size_of::<CmdResponse>() == 112);
    assert!(CMD_ENTRY_SIZE == 112);
    assert!(size_of::<TmrEntry>() == 32);
    assert!(offset_of!(TmrEntry, tmr_type) == 8);
    assert!(offset_of!(TmrEntry, cmd_cnt) == 12);
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_size_is_at_least_a_whole_entry() {
        assert_eq!(cmd_entry_base_size(0), 112);
        assert_eq!(cmd_entry_base_size(4), 112);
        assert_eq!(cmd_entry_base_size(5), 128);
    }

    #[test]
    fn len_op_round_trips() {
        let v = join_len_op(OP_CMD, 136);
        assert_eq!(split_len_op(v), (OP_CMD, 136));
    }

    #[test]
    fn cdb_lengths_follow_group_codes() {
        assert_eq!(cdb_length(0x00, None), 6);
        assert_eq!(cdb_length(0x28, None), 10);
        assert_eq!(cdb_length(0xa8, None), 12);
        assert_eq!(cdb_length(0x88, None), 16);
        assert_eq!(cdb_length(0x7f, Some(24)), 32);
    }
}
