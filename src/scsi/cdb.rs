//! Total decoding of command descriptor blocks into [`Command`].
//!
//! Decoding checks syntax only: that the CDB is long enough for its opcode and that no
//! field holds a value we never accept (a protection field, an unknown service action).
//! Checks that need the unit's state (capacity, limits, write protection) happen when
//! the command runs. An opcode we do not emulate decodes to [`Command::Unsupported`],
//! never to an error of the decoder, so the caller answers it like any other command.

#![forbid(unsafe_code)]

use super::sense::Sense;
use super::wire::Bytes;

/// Opcodes we decode.
pub mod op {
    pub const TEST_UNIT_READY: u8 = 0x00;
    pub const READ_6: u8 = 0x08;
    pub const WRITE_6: u8 = 0x0A;
    pub const INQUIRY: u8 = 0x12;
    pub const READ_CAPACITY_10: u8 = 0x25;
    pub const READ_10: u8 = 0x28;
    pub const WRITE_10: u8 = 0x2A;
    pub const SYNCHRONIZE_CACHE_10: u8 = 0x35;
    pub const READ_16: u8 = 0x88;
    pub const WRITE_16: u8 = 0x8A;
    pub const SYNCHRONIZE_CACHE_16: u8 = 0x91;
    pub const SERVICE_ACTION_IN_16: u8 = 0x9E;
    pub const READ_12: u8 = 0xA8;
    pub const WRITE_12: u8 = 0xAA;
}

/// Service action of SERVICE ACTION IN(16) that reads the capacity.
const SA_READ_CAPACITY_16: u8 = 0x10;

/// A decoded command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    TestUnitReady,
    Inquiry {
        evpd: bool,
        page: u8,
        alloc_len: u32,
    },
    ReadCapacity10,
    ReadCapacity16 {
        alloc_len: u32,
    },
    Read(Range),
    Write(Range),
    SynchronizeCache(Range),
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

/// The LBA/length layout of an opcode's group (6-byte CDBs are decoded by hand).
fn layout(opcode: u8) -> Layout {
    match cdb_len(opcode) {
        Some(16) => Layout {
            lba_at: 2,
            lba_width: 8,
            len_at: 10,
            len_width: 4,
        },
        Some(12) => Layout {
            lba_at: 2,
            lba_width: 4,
            len_at: 6,
            len_width: 4,
        },
        _ => Layout {
            lba_at: 2,
            lba_width: 4,
            len_at: 7,
            len_width: 2,
        },
    }
}

impl Command {
    /// Decodes `cdb`. Errors are ILLEGAL REQUEST sense naming the offending field.
    pub fn parse(cdb: &[u8]) -> Result<Command, Sense> {
        let opcode = *cdb.first().ok_or(Sense::invalid_opcode())?;
        let b = Bytes(cdb);
        let cmd = Self::parse_known(opcode, b)?;
        let short = cdb_len(opcode).is_none_or(|need| cdb.len() < need);
        match cmd {
            Command::Unsupported(_) => Ok(cmd),
            _ if short => Err(Sense::invalid_field_in_cdb(0, None)),
            _ => Ok(cmd),
        }
    }

    fn parse_known(opcode: u8, b: Bytes<'_>) -> Result<Command, Sense> {
        use op::*;
        Ok(match opcode {
            TEST_UNIT_READY => Command::TestUnitReady,
            INQUIRY => inquiry(b)?,
            READ_CAPACITY_10 => read_capacity_10(b)?,
            SERVICE_ACTION_IN_16 => service_action_in(b)?,
            READ_6 => Command::Read(range_6(b)),
            WRITE_6 => Command::Write(range_6(b)),
            READ_10 | READ_12 | READ_16 => Command::Read(transfer(opcode, b)?),
            WRITE_10 | WRITE_12 | WRITE_16 => Command::Write(transfer(opcode, b)?),
            SYNCHRONIZE_CACHE_10 | SYNCHRONIZE_CACHE_16 => {
                Command::SynchronizeCache(range(opcode, b))
            }
            other => Command::Unsupported(other),
        })
    }
}

fn inquiry(b: Bytes<'_>) -> Result<Command, Sense> {
    if b.bit(1, 1) {
        // CMDDT is obsolete; SPC-4 says to refuse it.
        return Err(Sense::invalid_field_in_cdb(1, Some(1)));
    }
    let (evpd, page) = (b.bit(1, 0), b.u8(2));
    if !evpd && page != 0 {
        return Err(Sense::invalid_field_in_cdb(2, None));
    }
    Ok(Command::Inquiry {
        evpd,
        page,
        alloc_len: u32::from(b.be16(3)),
    })
}

fn read_capacity_10(b: Bytes<'_>) -> Result<Command, Sense> {
    // With PMI clear the (obsolete) LOGICAL BLOCK ADDRESS field must be zero (SBC-3 5.16).
    if !b.bit(8, 0) && b.be32(2) != 0 {
        return Err(Sense::invalid_field_in_cdb(2, None));
    }
    Ok(Command::ReadCapacity10)
}

fn service_action_in(b: Bytes<'_>) -> Result<Command, Sense> {
    match b.u8(1) & 0x1F {
        SA_READ_CAPACITY_16 => Ok(Command::ReadCapacity16 {
            alloc_len: b.be32(10),
        }),
        _ => Err(Sense::invalid_field_in_cdb(1, Some(4))),
    }
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
