//! What [`ScsiLun::dispatch`](super::ScsiLun::dispatch) hands back to the device layer.
//!
//! A command either finishes inside the emulation ([`Dispatch::Reply`]: status plus
//! data-in bytes) or needs the backstore ([`Dispatch::Io`]: a [`BlockIo`] that the device
//! layer runs and then completes itself). Nothing else can happen, so the device layer's
//! `match` is exhaustive and a command cannot be left unanswered.

#![forbid(unsafe_code)]

use super::sense::{Sense, SenseKey};

/// The emulation's verdict on one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dispatch {
    /// Finished: send this status and data-in.
    Reply(Reply),
    /// Validated block I/O for the backstore.
    Io(BlockIo),
}

impl Dispatch {
    /// A GOOD reply without data.
    pub(crate) fn good() -> Self {
        Dispatch::Reply(Reply {
            status: Status::Good,
            data: Vec::new(),
        })
    }

    /// A GOOD reply with `data`, cut to `alloc_len` bytes.
    pub(crate) fn data(mut data: Vec<u8>, alloc_len: u32) -> Self {
        data.truncate(usize::try_from(alloc_len).unwrap_or(usize::MAX));
        Dispatch::Reply(Reply {
            status: Status::Good,
            data,
        })
    }

    /// A CHECK CONDITION reply.
    pub(crate) fn check(sense: Sense) -> Self {
        Dispatch::Reply(Reply {
            status: Status::CheckCondition(sense),
            data: Vec::new(),
        })
    }
}

impl From<Result<Dispatch, Sense>> for Dispatch {
    fn from(r: Result<Dispatch, Sense>) -> Self {
        r.unwrap_or_else(Dispatch::check)
    }
}

/// A finished command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: Status,
    /// Data-in bytes, already cut to the CDB's allocation length; empty for none.
    pub data: Vec<u8>,
}

/// SAM-5 status of a finished command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Good,
    CheckCondition(Sense),
    Busy,
    ReservationConflict,
    TaskSetFull,
}

impl Status {
    /// The status byte on the wire.
    pub fn byte(&self) -> u8 {
        match self {
            Status::Good => 0x00,
            Status::CheckCondition(_) => 0x02,
            Status::Busy => 0x08,
            Status::ReservationConflict => 0x18,
            Status::TaskSetFull => 0x28,
        }
    }

    /// Whether this answer refuses the command as sent rather than reporting a failure
    /// of the LUN or its backend: ILLEGAL REQUEST (an opcode, field or LBA the LUN does
    /// not take, as initiators probe for at scan), UNIT ATTENTION (a condition to
    /// collect, such as the power-on reset every new unit reports once), DATA PROTECT (a
    /// write to a write-protected LUN), MISCOMPARE (COMPARE AND WRITE found other data)
    /// and RESERVATION CONFLICT. MEDIUM ERROR, HARDWARE ERROR, NOT READY, BUSY and the
    /// rest are failures.
    pub fn is_refusal(&self) -> bool {
        match self {
            Status::CheckCondition(s) => matches!(
                s.key,
                SenseKey::IllegalRequest
                    | SenseKey::UnitAttention
                    | SenseKey::DataProtect
                    | SenseKey::Miscompare
            ),
            Status::ReservationConflict => true,
            Status::Good | Status::Busy | Status::TaskSetFull => false,
        }
    }

    /// The sense data to send with this status, if any.
    #[cfg(test)]
    pub fn sense(&self) -> Option<&Sense> {
        match self {
            Status::CheckCondition(s) => Some(s),
            _ => None,
        }
    }
}

/// Block I/O that passed every check the emulation can make: the range lies inside the
/// capacity, the length is within the limits, the unit is writable for writes. The
/// backstore works on byte offset `lba * block_size` for `blocks * block_size` bytes and
/// answers GOOD or a CHECK CONDITION from its error (e.g. [`Sense::medium_error_read`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockIo {
    pub op: BlockOp,
    pub lba: u64,
    /// Number of blocks; never 0 except for [`BlockOp::Flush`], where 0 means "to the end".
    pub blocks: u32,
    /// Force unit access: the data must be on stable storage before GOOD.
    pub fua: bool,
}

/// What the backstore does with a [`BlockIo`]'s range. Data-out (for writes and compares)
/// is the command's buffer, which the device layer owns; the emulation only checked its
/// shape.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlockOp {
    /// Read the range into the data-in buffer.
    Read,
    /// Write the data-out buffer to the range.
    Write,
    /// Make the range durable (SYNCHRONIZE CACHE); an empty range means the whole unit
    /// from `lba` on, and a backstore without finer control may flush everything.
    Flush,
    /// VERIFY: read the range and check it. With [`ByteCheck::None`] only read errors
    /// count (medium verification); otherwise compare against data-out and fail with
    /// [`Sense::miscompare`] at the first differing byte.
    Verify(ByteCheck),
    /// WRITE SAME: data-out holds one block (all zeroes, and no data-out, with `ndob`);
    /// write it to every block of the range. With
    /// `unmap` set the initiator allows deallocating instead, which a thin backstore may
    /// do when the block is all zeros and its deallocated blocks read back as zeros.
    WriteSame { unmap: bool, ndob: bool },
    /// COMPARE AND WRITE, atomically with respect to other commands on the range:
    /// data-out holds `blocks` blocks to compare with the medium, then `blocks` blocks to
    /// write. On a difference nothing is written and the command fails with
    /// [`Sense::miscompare`] at the offset of the first differing byte.
    CompareAndWrite,
    /// UNMAP: deallocate these ranges (all checked against the capacity, none empty).
    /// The [`BlockIo`]'s own `lba` and `blocks` are 0 for this operation.
    Unmap(Vec<LbaRange>),
    /// GET LBA STATUS: find the provisioning status of the blocks from `lba` on (at most
    /// `blocks` of them), encode it with
    /// [`encode_lba_status`](super::encode_lba_status) and send it as
    /// data-in, cut to `alloc_len`.
    LbaStatus { alloc_len: u32 },
    /// EXTENDED COPY within this unit: copy each segment in order, then record the
    /// result with [`ScsiLun::record_copy`](super::ScsiLun::record_copy) when the plan
    /// asks to hold it. The [`BlockIo`]'s own `lba` and `blocks` are 0.
    Copy(super::copy::CopyPlan),
}

/// A run of blocks in an UNMAP request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LbaRange {
    pub lba: u64,
    pub blocks: u32,
}

/// The BYTCHK field of VERIFY (SBC-3 5.27): what the read data is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteCheck {
    /// No comparison; only check that the range can be read.
    None,
    /// Data-out holds `blocks` blocks; compare block for block.
    Full,
    /// Data-out holds one block; compare it with every block of the range.
    SingleBlock,
}
