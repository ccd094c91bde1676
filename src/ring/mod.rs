//! The TCMU command-ring protocol, handler side.
//!
//! [`CommandRing`] keeps two private cursors into the ring: `next`, where the next
//! unread entry starts, and `done`, where the next completion will be written. Entries
//! from the published `cmd_tail` up to `next` have been handed out; the kernel reaps
//! completions strictly in ring order from `cmd_tail`, so a command finished out of
//! order is written into the next CMD slot at `done` with its own `cmd_id`
//! (the kernel's `tcmu_handle_completions` looks each reaped entry up by `cmd_id`;
//! include/uapi/linux/target_core_user.h describes the entries).
//!
//! The module makes no syscalls: it only reads and writes [`SharedRegion`], so it runs
//! unchanged against the real UIO map, the fake kernel's memfd and a heap buffer under miri.

#![forbid(unsafe_code)]

mod command;
mod complete;
mod parse;

pub use command::{Cdb, Command, MAX_CDB, Malformed, Problem, Response};
pub use parse::Entry;

use crate::abi;
use crate::region::{RegionError, SharedRegion};
use std::sync::atomic::Ordering;

/// The ring cannot be used any more (the kernel's view and ours disagree).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RingError {
    #[error("unsupported mailbox version {0}")]
    Version(u16),
    #[error(
        "mailbox geometry is impossible: ring {cmdr_off:#x}+{cmdr_size:#x} in a {map_len:#x}-byte map"
    )]
    Geometry {
        cmdr_off: u32,
        cmdr_size: u32,
        map_len: usize,
    },
    #[error("cmd_head {head:#x} is not a valid ring offset")]
    BadHead { head: u32 },
    #[error("entry at {pos:#x} has an impossible length {len:#x}")]
    BadEntry { pos: u32, len: u32 },
    #[error("no CMD slot left at the tail to complete into")]
    NoSlot,
    #[error(transparent)]
    Region(#[from] RegionError),
}

/// Where the ring and the data area live inside the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub cmdr_off: u32,
    pub cmdr_size: u32,
    pub data_off: u64,
    pub map_len: u64,
    pub flags: u16,
}

impl Geometry {
    /// Reads and checks the mailbox.
    pub fn read(region: &SharedRegion) -> Result<Self, RingError> {
        let version = region.read_u16(abi::mailbox_off::VERSION as u64)?;
        if version != abi::MAILBOX_VERSION {
            return Err(RingError::Version(version));
        }
        let flags = region.read_u16(abi::mailbox_off::FLAGS as u64)?;
        let cmdr_off = region.read_u32(abi::mailbox_off::CMDR_OFF as u64)?;
        let cmdr_size = region.read_u32(abi::mailbox_off::CMDR_SIZE as u64)?;
        let map_len = region.len();
        let data_off = u64::from(cmdr_off) + u64::from(cmdr_size);
        let sane = (cmdr_off as usize) >= abi::MAILBOX_SIZE
            && cmdr_size >= abi::CMD_ENTRY_SIZE as u32
            && cmdr_size % abi::OP_ALIGN == 0
            && data_off <= map_len as u64;
        if !sane {
            return Err(RingError::Geometry {
                cmdr_off,
                cmdr_size,
                map_len,
            });
        }
        Ok(Self {
            cmdr_off,
            cmdr_size,
            data_off,
            map_len: map_len as u64,
            flags,
        })
    }

    /// Whether the kernel offers capability `cap` (an `abi::CAP_*` bit).
    pub fn has(&self, cap: u16) -> bool {
        self.flags & cap != 0
    }

    /// Absolute map offset of ring position `pos`.
    fn abs(&self, pos: u32) -> u64 {
        u64::from(self.cmdr_off) + u64::from(pos)
    }

    /// Ring position `len` bytes after `pos`, wrapping at the ring's end.
    fn advance(&self, pos: u32, len: u32) -> u32 {
        ((u64::from(pos) + u64::from(len)) % u64::from(self.cmdr_size)) as u32
    }
}

/// The handler's side of one device's command ring.
#[derive(Debug)]
pub struct CommandRing {
    geo: Geometry,
    /// Next entry to read.
    next: u32,
    /// Next slot a completion goes into; `cmd_tail` is published from here.
    done: u32,
    /// The last `cmd_tail` value stored, to skip redundant stores and doorbells.
    published: u32,
    /// Commands handed out and not yet completed.
    outstanding: usize,
}

impl CommandRing {
    /// Attaches to a ring, starting at the kernel's current `cmd_tail`: entries before
    /// it are finished, entries after it have not been read by anybody alive.
    pub fn attach(region: &SharedRegion) -> Result<Self, RingError> {
        let geo = Geometry::read(region)?;
        let tail = region.load_u32(abi::mailbox_off::CMD_TAIL, Ordering::Acquire)?;
        if tail >= geo.cmdr_size || tail % abi::OP_ALIGN != 0 {
            return Err(RingError::BadHead { head: tail });
        }
        Ok(Self {
            geo,
            next: tail,
            done: tail,
            published: tail,
            outstanding: 0,
        })
    }

    /// The ring's geometry.
    pub fn geometry(&self) -> &Geometry {
        &self.geo
    }

    /// Commands handed out and not completed yet.
    pub fn outstanding(&self) -> usize {
        self.outstanding
    }

    /// True when the kernel has queued entries not read yet: one load from shared
    /// memory, no syscall, for a busy-polling reactor. Relaxed is enough: this only says
    /// whether to look; [`CommandRing::drain`] loads the head again with Acquire before
    /// it reads any entry.
    pub fn has_new(&self, region: &SharedRegion) -> bool {
        region
            .load_u32(abi::mailbox_off::CMD_HEAD, Ordering::Relaxed)
            .is_ok_and(|head| head != self.next)
    }

    /// Stores the completion cursor as `cmd_tail` if it moved. Returns true when the
    /// kernel should be told (the caller rings the doorbell once per batch).
    pub fn publish(&mut self, region: &SharedRegion) -> Result<bool, RingError> {
        self.skip_non_commands(region)?;
        if self.done == self.published {
            return Ok(false);
        }
        // Release: the statuses, sense and cmd_ids written into the slots before this
        // point must be visible to the kernel before it sees the new tail and reaps them.
        region.store_u32(abi::mailbox_off::CMD_TAIL, self.done, Ordering::Release)?;
        self.published = self.done;
        Ok(true)
    }
}

#[cfg(test)]
mod tests;

/// Constructors for other modules' unit tests (a command without a ring behind it).
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;
    use crate::region::Segments;

    pub(crate) fn command(cmd_id: u16) -> Command {
        Command {
            cmd_id,
            cdb: Cdb::new(&[0]),
            segs: Segments::new(),
            bidi_segs: Vec::new(),
            problem: Problem::None,
        }
    }
}
