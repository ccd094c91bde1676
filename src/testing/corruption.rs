//! Deliberately malformed command entries, for the handler's validation tests.
//!
//! The real kernel never writes these, but a handler must treat every offset and count in
//! the ring as untrusted (a bug or a hostile kernel module would look just like this), and
//! answer such a command with CHECK CONDITION instead of touching memory it was not given.
//! The command is otherwise normal: it has a cmd_id, owns its blocks and must be completed.

#![forbid(unsafe_code)]

use crate::abi::{self, entry_off};
use crate::region::{RegionError, SharedRegion};

use super::config::Geometry;

/// A defect applied to one command entry before it is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corruption {
    /// `iov[0].iov_base` points at the end of the map (`iov_cnt` becomes at least 1).
    IovBaseOutsideMap,
    /// `iov[0]` points into the command ring instead of the data area.
    IovIntoCmdRing,
    /// `iov[0].iov_len` makes `iov_base + iov_len` wrap around `u64`.
    IovLenOverflow,
    /// `cdb_off` points past the end of the map.
    CdbOffOutsideMap,
    /// `iov_cnt` claims one more iovec than the entry can hold.
    IovCntTooLarge,
    /// `len_op` carries this opcode (only the low 3 bits count; use 3..=7 for one the
    /// protocol does not define). The handler should set `UFLAG_UNKNOWN_OP` and complete
    /// the slot; the kernel then fails the command with CHECK CONDITION.
    UnknownOpcode(u8),
}

impl Corruption {
    /// Rewrites the entry of `len` bytes at map offset `at`. Returns the entry's new
    /// `len_op` when it changed, so the kernel's shadow of the ring stays truthful.
    pub(crate) fn apply(
        self,
        region: &SharedRegion,
        geom: &Geometry,
        at: u64,
        len: u32,
    ) -> Result<Option<u32>, RegionError> {
        let map_len = geom.map_len as u64;
        match self {
            Self::IovBaseOutsideMap => set_iov0(region, at, map_len, 512).map(|_| None),
            Self::IovIntoCmdRing => {
                let block = geom.data_block_size as u64;
                set_iov0(region, at, geom.cmdr_off as u64, block).map(|_| None)
            }
            Self::IovLenOverflow => {
                let base = geom.data_off as u64;
                set_iov0(region, at, base, u64::MAX - base + 1).map(|_| None)
            }
            Self::CdbOffOutsideMap => {
                region.write_u64(at + entry_off::CDB_OFF as u64, map_len + 16)?;
                Ok(None)
            }
            Self::IovCntTooLarge => {
                let fit = (len as usize - entry_off::IOV) / entry_off::IOV_SIZE;
                region.write_u32(at + entry_off::IOV_CNT as u64, fit as u32 + 1)?;
                Ok(None)
            }
            Self::UnknownOpcode(op) => {
                let len_op = abi::join_len_op(u32::from(op), len);
                region.write_u32(at + entry_off::LEN_OP as u64, len_op)?;
                Ok(Some(len_op))
            }
        }
    }
}

/// Overwrites `iov[0]`, making sure `iov_cnt` covers it. Every entry's base size leaves
/// room for at least four iovecs, so this never runs into the CDB.
fn set_iov0(region: &SharedRegion, at: u64, base: u64, len: u64) -> Result<(), RegionError> {
    let cnt_at = at + entry_off::IOV_CNT as u64;
    let cnt = region.read_u32(cnt_at)?.max(1);
    region.write_u32(cnt_at, cnt)?;
    let iov_at = at + entry_off::IOV as u64;
    region.write_u64(iov_at, base)?;
    region.write_u64(iov_at + 8, len)
}
