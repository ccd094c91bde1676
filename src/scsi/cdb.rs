//! Total decoding of command descriptor blocks into [`DecodedCdb`].
//!
//! Decoding checks syntax only: that the CDB is long enough for its opcode and that no
//! field holds a value we never accept (a protection field, an unknown service action).
//! Checks that need the unit's state (capacity, limits, write protection) happen when
//! the command runs. An opcode we do not emulate decodes to [`DecodedCdb::Unsupported`],
//! never to an error of the decoder, so the caller answers it like any other command.

#![forbid(unsafe_code)]

use super::mode::{self, ModeSelectCdb, ModeSenseCdb};
use super::outcome::ByteCheck;
use super::sense::Sense;
use super::wire::Bytes;

/// Opcodes we decode.
pub mod op {
    pub const TEST_UNIT_READY: u8 = 0x00;
    pub const REQUEST_SENSE: u8 = 0x03;
    pub const FORMAT_UNIT: u8 = 0x04;
    pub const READ_6: u8 = 0x08;
    pub const WRITE_6: u8 = 0x0A;
    pub const INQUIRY: u8 = 0x12;
    pub const MODE_SELECT_6: u8 = 0x15;
    pub const MODE_SENSE_6: u8 = 0x1A;
    pub const START_STOP_UNIT: u8 = 0x1B;
    pub const READ_CAPACITY_10: u8 = 0x25;
    pub const READ_10: u8 = 0x28;
    pub const WRITE_10: u8 = 0x2A;
    pub const WRITE_AND_VERIFY_10: u8 = 0x2E;
    pub const VERIFY_10: u8 = 0x2F;
    pub const PRE_FETCH_10: u8 = 0x34;
    pub const SYNCHRONIZE_CACHE_10: u8 = 0x35;
    pub const WRITE_SAME_10: u8 = 0x41;
    pub const UNMAP: u8 = 0x42;
    pub const MODE_SELECT_10: u8 = 0x55;
    pub const MODE_SENSE_10: u8 = 0x5A;
    pub const EXTENDED_COPY: u8 = 0x83;
    pub const RECEIVE_COPY_RESULTS: u8 = 0x84;
    pub const READ_16: u8 = 0x88;
    pub const WRITE_16: u8 = 0x8A;
    pub const COMPARE_AND_WRITE: u8 = 0x89;
    pub const WRITE_AND_VERIFY_16: u8 = 0x8E;
    pub const VERIFY_16: u8 = 0x8F;
    pub const PRE_FETCH_16: u8 = 0x90;
    pub const SYNCHRONIZE_CACHE_16: u8 = 0x91;
    pub const WRITE_SAME_16: u8 = 0x93;
    pub const SERVICE_ACTION_IN_16: u8 = 0x9E;
    /// Answered by the kernel; named here because unit attentions exempt it.
    pub const REPORT_LUNS: u8 = 0xA0;
    pub const MAINTENANCE_IN: u8 = 0xA3;
    pub const READ_12: u8 = 0xA8;
    pub const WRITE_12: u8 = 0xAA;
    pub const WRITE_AND_VERIFY_12: u8 = 0xAE;
    pub const VERIFY_12: u8 = 0xAF;
}

/// Service actions we decode.
pub mod sa {
    /// SERVICE ACTION IN(16): READ CAPACITY(16).
    pub const READ_CAPACITY_16: u8 = 0x10;
    /// SERVICE ACTION IN(16): GET LBA STATUS.
    pub const GET_LBA_STATUS: u8 = 0x12;
    /// MAINTENANCE IN: REPORT SUPPORTED OPERATION CODES.
    pub const REPORT_SUPPORTED_OPCODES: u8 = 0x0C;
    /// MAINTENANCE IN: REPORT TARGET PORT GROUPS.
    pub const REPORT_TARGET_PORT_GROUPS: u8 = 0x0A;
    /// MAINTENANCE IN: REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS.
    pub const REPORT_SUPPORTED_TMFS: u8 = 0x0D;
    /// EXTENDED COPY: the LID1 form (SPC-4's original EXTENDED COPY).
    pub const EXTENDED_COPY_LID1: u8 = 0x00;
    /// RECEIVE COPY RESULTS: COPY STATUS.
    pub const COPY_STATUS: u8 = 0x00;
    /// RECEIVE COPY RESULTS: OPERATING PARAMETERS.
    pub const OPERATING_PARAMETERS: u8 = 0x03;
}

/// A command descriptor block, decoded: what the command asks for, its fields checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodedCdb {
    TestUnitReady,
    RequestSense {
        desc: bool,
        alloc_len: u32,
    },
    Inquiry {
        evpd: bool,
        page: u8,
        alloc_len: u32,
    },
    ModeSense(ModeSenseCdb),
    ModeSelect(ModeSelectCdb),
    /// START STOP UNIT that passed decoding; we have no power states, so it has no
    /// parameters left to act on.
    StartStopUnit,
    ReadCapacity10,
    ReadCapacity16 {
        alloc_len: u32,
    },
    Read(Range),
    Write(Range),
    /// WRITE AND VERIFY: a write that must be durable before GOOD.
    WriteAndVerify(Range),
    Verify {
        range: Range,
        check: ByteCheck,
    },
    PreFetch(Range),
    WriteSame {
        range: Range,
        unmap: bool,
        /// NDOB: no data-out; the block to write is all zeroes.
        ndob: bool,
    },
    CompareAndWrite(Range),
    Unmap {
        param_len: u32,
    },
    GetLbaStatus {
        lba: u64,
        alloc_len: u32,
    },
    SynchronizeCache(Range),
    /// FORMAT UNIT; `param_data`: FMTDATA set, a parameter list header follows, in the
    /// long form when `long_list`.
    FormatUnit {
        param_data: bool,
        long_list: bool,
    },
    ExtendedCopy {
        param_len: u32,
    },
    ReceiveCopyResults {
        service_action: u8,
        list_id: u8,
        alloc_len: u32,
    },
    ReportOpcodes(ReportOpcodes),
    /// REPORT TARGET PORT GROUPS; `extended`: PARAMETER DATA FORMAT 001b.
    ReportTargetPortGroups {
        extended: bool,
        alloc_len: u32,
    },
    ReportTmfs {
        extended: bool,
        alloc_len: u32,
    },
    /// An opcode this emulation does not implement.
    Unsupported(u8),
}

/// The block range of a media-access CDB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub lba: u64,
    pub blocks: u32,
    pub fua: bool,
    /// Offset of the TRANSFER LENGTH field, for the field pointer of a too-long request.
    pub len_byte: u16,
}

/// A decoded REPORT SUPPORTED OPERATION CODES CDB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportOpcodes {
    /// RCTD: append command timeouts descriptors.
    pub timeouts: bool,
    /// REPORTING OPTIONS (0-3; larger values are refused at decode).
    pub options: u8,
    pub opcode: u8,
    pub service_action: u16,
    pub alloc_len: u32,
}

/// Where the LBA and length fields of a 10-, 12- or 16-byte CDB sit.
#[derive(Debug, Clone, Copy)]
struct Layout {
    lba_at: usize,
    lba_width: usize,
    len_at: usize,
    len_width: usize,
}

/// The CDB length SAM-5 assigns to an opcode's group; `None` for the reserved and
/// vendor-specific groups (none of which we implement).
pub fn cdb_len(opcode: u8) -> Option<usize> {
    match opcode >> 5 {
        0 => Some(6),
        1 | 2 => Some(10),
        4 => Some(16),
        5 => Some(12),
        _ => None,
    }
}

const LAYOUT_10: Layout = Layout {
    lba_at: 2,
    lba_width: 4,
    len_at: 7,
    len_width: 2,
};
const LAYOUT_12: Layout = Layout {
    lba_at: 2,
    lba_width: 4,
    len_at: 6,
    len_width: 4,
};
const LAYOUT_16: Layout = Layout {
    lba_at: 2,
    lba_width: 8,
    len_at: 10,
    len_width: 4,
};

/// The LBA/length layout of an opcode's group (6-byte CDBs are decoded by hand).
fn layout(opcode: u8) -> Layout {
    match cdb_len(opcode) {
        Some(16) => LAYOUT_16,
        Some(12) => LAYOUT_12,
        _ => LAYOUT_10,
    }
}

impl DecodedCdb {
    /// Decodes `cdb`. Errors are ILLEGAL REQUEST sense naming the offending field; a
    /// known opcode in a CDB shorter than its group's length is refused at byte 0 before
    /// any of its fields are looked at (they read as zero).
    pub fn parse(cdb: &[u8]) -> Result<DecodedCdb, Sense> {
        let opcode = *cdb.first().ok_or(Sense::invalid_opcode())?;
        let short = cdb_len(opcode).is_none_or(|need| cdb.len() < need);
        match Self::parse_known(opcode, Bytes(cdb)) {
            Ok(DecodedCdb::Unsupported(op)) => Ok(DecodedCdb::Unsupported(op)),
            _ if short => Err(Sense::invalid_field_in_cdb(0, None)),
            decoded => decoded,
        }
    }

    fn parse_known(opcode: u8, b: Bytes<'_>) -> Result<DecodedCdb, Sense> {
        use op::*;
        Ok(match opcode {
            TEST_UNIT_READY => DecodedCdb::TestUnitReady,
            REQUEST_SENSE => DecodedCdb::RequestSense {
                desc: b.bit(1, 0),
                alloc_len: u32::from(b.u8(4)),
            },
            INQUIRY => inquiry(b)?,
            MODE_SENSE_6 => DecodedCdb::ModeSense(mode::parse_sense(b, false)),
            MODE_SENSE_10 => DecodedCdb::ModeSense(mode::parse_sense(b, true)),
            MODE_SELECT_6 => DecodedCdb::ModeSelect(mode::parse_select(b, false)?),
            MODE_SELECT_10 => DecodedCdb::ModeSelect(mode::parse_select(b, true)?),
            START_STOP_UNIT => start_stop_unit(b)?,
            READ_CAPACITY_10 => read_capacity_10(b)?,
            SERVICE_ACTION_IN_16 => service_action_in(b)?,
            MAINTENANCE_IN => maintenance_in(b)?,
            READ_6 => DecodedCdb::Read(range_6(b)),
            WRITE_6 => DecodedCdb::Write(range_6(b)),
            READ_10 | READ_12 | READ_16 => DecodedCdb::Read(transfer(opcode, b)?),
            WRITE_10 | WRITE_12 | WRITE_16 => DecodedCdb::Write(transfer(opcode, b)?),
            WRITE_AND_VERIFY_10 | WRITE_AND_VERIFY_12 | WRITE_AND_VERIFY_16 => {
                DecodedCdb::WriteAndVerify(transfer(opcode, b)?)
            }
            VERIFY_10 | VERIFY_12 | VERIFY_16 => verify(opcode, b)?,
            PRE_FETCH_10 | PRE_FETCH_16 => DecodedCdb::PreFetch(range(opcode, b)),
            WRITE_SAME_10 | WRITE_SAME_16 => write_same(opcode, b)?,
            COMPARE_AND_WRITE => compare_and_write(b)?,
            UNMAP => unmap(b)?,
            SYNCHRONIZE_CACHE_10 | SYNCHRONIZE_CACHE_16 => {
                DecodedCdb::SynchronizeCache(range(opcode, b))
            }
            FORMAT_UNIT => format_unit(b)?,
            EXTENDED_COPY => extended_copy(b)?,
            RECEIVE_COPY_RESULTS => receive_copy_results(b)?,
            other => DecodedCdb::Unsupported(other),
        })
    }
}

fn inquiry(b: Bytes<'_>) -> Result<DecodedCdb, Sense> {
    if b.bit(1, 1) {
        // CMDDT is obsolete; SPC-4 says to refuse it.
        return Err(Sense::invalid_field_in_cdb(1, Some(1)));
    }
    let (evpd, page) = (b.bit(1, 0), b.u8(2));
    if !evpd && page != 0 {
        return Err(Sense::invalid_field_in_cdb(2, None));
    }
    Ok(DecodedCdb::Inquiry {
        evpd,
        page,
        alloc_len: u32::from(b.be16(3)),
    })
}

fn read_capacity_10(b: Bytes<'_>) -> Result<DecodedCdb, Sense> {
    // With PMI clear the (obsolete) LOGICAL BLOCK ADDRESS field must be zero (SBC-3 5.16).
    if !b.bit(8, 0) && b.be32(2) != 0 {
        return Err(Sense::invalid_field_in_cdb(2, None));
    }
    Ok(DecodedCdb::ReadCapacity10)
}

fn service_action_in(b: Bytes<'_>) -> Result<DecodedCdb, Sense> {
    match b.u8(1) & 0x1F {
        sa::READ_CAPACITY_16 => Ok(DecodedCdb::ReadCapacity16 {
            alloc_len: b.be32(10),
        }),
        sa::GET_LBA_STATUS => Ok(DecodedCdb::GetLbaStatus {
            lba: b.be(2, 8),
            alloc_len: b.be32(10),
        }),
        _ => Err(Sense::invalid_field_in_cdb(1, Some(4))),
    }
}

fn maintenance_in(b: Bytes<'_>) -> Result<DecodedCdb, Sense> {
    let alloc_len = b.be32(6);
    match b.u8(1) & 0x1F {
        sa::REPORT_SUPPORTED_OPCODES => report_opcodes(b, alloc_len),
        sa::REPORT_TARGET_PORT_GROUPS => match b.u8(1) >> 5 {
            0 | 1 => Ok(DecodedCdb::ReportTargetPortGroups {
                extended: b.u8(1) >> 5 == 1,
                alloc_len,
            }),
            _ => Err(Sense::invalid_field_in_cdb(1, Some(7))),
        },
        sa::REPORT_SUPPORTED_TMFS => Ok(DecodedCdb::ReportTmfs {
            extended: b.bit(2, 7),
            alloc_len,
        }),
        _ => Err(Sense::invalid_field_in_cdb(1, Some(4))),
    }
}

/// REPORT SUPPORTED OPERATION CODES; reporting options above 3 are reserved.
fn report_opcodes(b: Bytes<'_>, alloc_len: u32) -> Result<DecodedCdb, Sense> {
    let options = b.u8(2) & 0x07;
    if options > 3 {
        return Err(Sense::invalid_field_in_cdb(2, Some(2)));
    }
    Ok(DecodedCdb::ReportOpcodes(ReportOpcodes {
        timeouts: b.bit(2, 7),
        options,
        opcode: b.u8(3),
        service_action: b.be16(4),
        alloc_len,
    }))
}

/// START STOP UNIT on a disk without removable medium or power states: any power
/// condition is accepted as a no-op, but ejecting (LOEJ with START clear, power condition
/// 0) is refused, as our medium cannot be removed.
fn start_stop_unit(b: Bytes<'_>) -> Result<DecodedCdb, Sense> {
    let power_condition = b.u8(4) >> 4;
    if power_condition == 0 && b.bit(4, 1) && !b.bit(4, 0) {
        return Err(Sense::invalid_field_in_cdb(4, Some(1)));
    }
    Ok(DecodedCdb::StartStopUnit)
}

/// VERIFY(10/12/16): no protection information, and BYTCHK 10b is reserved.
fn verify(opcode: u8, b: Bytes<'_>) -> Result<DecodedCdb, Sense> {
    no_protect(b)?;
    let check = match (b.u8(1) >> 1) & 3 {
        0 => ByteCheck::None,
        1 => ByteCheck::Full,
        3 => ByteCheck::SingleBlock,
        _ => return Err(Sense::invalid_field_in_cdb(1, Some(2))),
    };
    Ok(DecodedCdb::Verify {
        range: range(opcode, b),
        check,
    })
}

/// READ(6)/WRITE(6): 21-bit LBA, 8-bit length where 0 means 256 blocks, no FUA.
fn range_6(b: Bytes<'_>) -> Range {
    let lba = b.be(1, 3) & 0x1F_FFFF;
    let blocks = match b.u8(4) {
        0 => 256,
        n => u32::from(n),
    };
    Range {
        lba,
        blocks,
        fua: false,
        len_byte: 4,
    }
}

/// The LBA, length and FUA bit of a 10-, 12- or 16-byte CDB.
fn range(opcode: u8, b: Bytes<'_>) -> Range {
    let l = layout(opcode);
    Range {
        lba: b.be(l.lba_at, l.lba_width),
        blocks: u32::try_from(b.be(l.len_at, l.len_width)).unwrap_or(u32::MAX),
        fua: b.bit(1, 3),
        len_byte: l.len_at as u16,
    }
}

/// A READ or WRITE range; we have no protection information, so RDPROTECT/WRPROTECT
/// (byte 1, bits 7-5) must be zero.
fn transfer(opcode: u8, b: Bytes<'_>) -> Result<Range, Sense> {
    no_protect(b)?;
    Ok(range(opcode, b))
}

/// Refuses a non-zero RDPROTECT/WRPROTECT/VRPROTECT field.
fn no_protect(b: Bytes<'_>) -> Result<(), Sense> {
    match b.u8(1) >> 5 {
        0 => Ok(()),
        _ => Err(Sense::invalid_field_in_cdb(1, Some(7))),
    }
}

/// WRITE SAME(10/16): no protection information, no anchoring, and none of the
/// obsolete PBDATA/LBDATA variants; NDOB (WRITE SAME(16) only) writes zeroes without a
/// data-out buffer.
fn write_same(opcode: u8, b: Bytes<'_>) -> Result<DecodedCdb, Sense> {
    no_protect(b)?;
    let sixteen = opcode == op::WRITE_SAME_16;
    let refused = if sixteen { 0x10 } else { 0x16 };
    if let Some(bit) = highest_bit(b.u8(1) & refused) {
        return Err(Sense::invalid_field_in_cdb(1, Some(bit)));
    }
    let r = range(opcode, b);
    Ok(DecodedCdb::WriteSame {
        range: Range { fua: false, ..r },
        unmap: b.bit(1, 3),
        ndob: sixteen && b.bit(1, 0),
    })
}

/// COMPARE AND WRITE: LBA in bytes 2-9, NUMBER OF LOGICAL BLOCKS in byte 13.
fn compare_and_write(b: Bytes<'_>) -> Result<DecodedCdb, Sense> {
    no_protect(b)?;
    let blocks = u32::from(b.u8(13));
    Ok(DecodedCdb::CompareAndWrite(Range {
        lba: b.be(2, 8),
        blocks,
        fua: b.bit(1, 3),
        len_byte: 13,
    }))
}

/// UNMAP: ANCHOR is not supported; the parameter list length is in bytes 7-8.
fn unmap(b: Bytes<'_>) -> Result<DecodedCdb, Sense> {
    if b.bit(1, 0) {
        return Err(Sense::invalid_field_in_cdb(1, Some(0)));
    }
    Ok(DecodedCdb::Unmap {
        param_len: u32::from(b.be16(7)),
    })
}

/// FORMAT UNIT: no protection information (FMTPINFO 0); the defect list format and
/// CMPLST are accepted (there are no defects to list).
fn format_unit(b: Bytes<'_>) -> Result<DecodedCdb, Sense> {
    if b.u8(1) >> 6 != 0 {
        return Err(Sense::invalid_field_in_cdb(1, Some(7)));
    }
    Ok(DecodedCdb::FormatUnit {
        param_data: b.bit(1, 4),
        long_list: b.bit(1, 5),
    })
}

/// EXTENDED COPY: only the LID1 service action; PARAMETER LIST LENGTH in bytes 10-13.
fn extended_copy(b: Bytes<'_>) -> Result<DecodedCdb, Sense> {
    if b.u8(1) & 0x1F != sa::EXTENDED_COPY_LID1 {
        return Err(Sense::invalid_field_in_cdb(1, Some(4)));
    }
    Ok(DecodedCdb::ExtendedCopy {
        param_len: b.be32(10),
    })
}

/// RECEIVE COPY RESULTS: COPY STATUS and OPERATING PARAMETERS.
fn receive_copy_results(b: Bytes<'_>) -> Result<DecodedCdb, Sense> {
    let service_action = b.u8(1) & 0x1F;
    if !matches!(service_action, sa::COPY_STATUS | sa::OPERATING_PARAMETERS) {
        return Err(Sense::invalid_field_in_cdb(1, Some(4)));
    }
    Ok(DecodedCdb::ReceiveCopyResults {
        service_action,
        list_id: b.u8(2),
        alloc_len: b.be32(10),
    })
}

/// The number of the most significant set bit, if any.
fn highest_bit(v: u8) -> Option<u8> {
    (v != 0).then(|| 7 - v.leading_zeros() as u8)
}
