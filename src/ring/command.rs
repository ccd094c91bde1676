//! What one ring entry becomes once it has been read and validated.
//!
//! Everything a handler needs is copied out of the ring at parse time (CDB, iovecs),
//! because completing another command out of order may overwrite this entry's slot.

#![forbid(unsafe_code)]

use crate::region::{DataSeg, Segments};

/// Longest CDB kept inline; longer (variable-length) CDBs are marked truncated.
pub const MAX_CDB: usize = 32;

/// A CDB copied out of the ring.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Cdb {
    bytes: [u8; MAX_CDB],
    len: u8,
    truncated: bool,
}

impl Cdb {
    /// Copies `src` (at most [`MAX_CDB`] bytes are kept).
    pub fn new(src: &[u8]) -> Self {
        let len = src.len().min(MAX_CDB);
        let mut bytes = [0u8; MAX_CDB];
        bytes[..len].copy_from_slice(&src[..len]);
        Self {
            bytes,
            len: len as u8,
            truncated: src.len() > MAX_CDB,
        }
    }

    /// The CDB bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// True when the kernel's CDB was longer than [`MAX_CDB`].
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }
}

impl std::fmt::Debug for Cdb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cdb(")?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

/// Why an entry could not be turned into a serviceable command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("iovec {index} ({off:#x}+{len:#x}) lies outside the data area")]
    IovecOutOfBounds { index: u32, off: u64, len: u64 },
    #[error("{count} iovecs do not fit in a {entry_len}-byte entry")]
    TooManyIovecs { count: u64, entry_len: u32 },
    #[error("CDB at {off:#x} lies outside the command ring")]
    CdbOutOfBounds { off: u64 },
    #[error("entry carries DIF iovecs, which this handler does not support")]
    DifNotSupported,
}

/// What is wrong with a command the handler must still answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// A well-formed command.
    None,
    /// The entry's buffers could not be trusted; answer CHECK CONDITION.
    Malformed(Malformed),
    /// The entry's opcode is unknown; it is answered with `UFLAG_UNKNOWN_OP`.
    UnknownOp(u32),
}

/// A command taken from the ring. It is not `Clone`: the only way to get rid of it is
/// to complete it through [`super::CommandRing::complete`], which consumes it, so a
/// command can be answered exactly once.
#[derive(Debug)]
#[must_use = "a command must be completed, or the kernel waits for it until cmd_time_out"]
pub struct Command {
    pub(super) cmd_id: u16,
    pub(super) cdb: Cdb,
    pub(super) segs: Segments,
    /// A `Vec`, not [`Segments`]: bidirectional commands are rare, and an empty `Vec`
    /// allocates nothing and keeps every command 48 bytes smaller as it moves through the
    /// device (ring, in-flight table, completion).
    pub(super) bidi_segs: Vec<DataSeg>,
    pub(super) problem: Problem,
}

impl Command {
    /// The kernel's identifier for this command.
    pub fn cmd_id(&self) -> u16 {
        self.cmd_id
    }

    /// The command's CDB.
    pub fn cdb(&self) -> &Cdb {
        &self.cdb
    }

    /// The data buffer (data-out for writes, data-in for reads).
    pub fn segments(&self) -> &[DataSeg] {
        &self.segs
    }

    /// The second buffer of a bidirectional command (empty otherwise).
    pub fn bidi_segments(&self) -> &[DataSeg] {
        &self.bidi_segs
    }

    /// Total bytes in the data buffer.
    pub fn data_len(&self) -> u64 {
        self.segs.iter().map(|s| s.len).sum()
    }

    /// Whether the entry was malformed or of an unknown type.
    pub fn problem(&self) -> Problem {
        self.problem
    }
}

/// What the handler answers for a command.
#[derive(Debug, Clone, Copy)]
pub struct Response<'a> {
    /// SAM status byte (0 GOOD, 2 CHECK CONDITION, 8 BUSY, ...).
    pub status: u8,
    /// Sense data for CHECK CONDITION, at most 96 bytes.
    pub sense: &'a [u8],
    /// Bytes really transferred for a data-in command, when fewer than the buffer.
    pub read_len: Option<u32>,
}

impl Response<'static> {
    /// GOOD status, no data residual.
    pub const GOOD: Self = Self {
        status: 0,
        sense: &[],
        read_len: None,
    };
    /// BUSY: the initiator retries later.
    pub const BUSY: Self = Self {
        status: 0x08,
        sense: &[],
        read_len: None,
    };
}
