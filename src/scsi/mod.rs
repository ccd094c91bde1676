//! SCSI command emulation for a direct-access block device (SPC-4, SBC-3), with no I/O.
//!
//! [`ScsiLun::dispatch`] takes one CDB and the command's data-out and decides everything
//! that can be decided without touching the backstore: it answers inquiry, capacity and
//! mode commands itself ([`Dispatch::Reply`]) and turns media access into a checked
//! [`BlockIo`] ([`Dispatch::Io`]) that the device layer runs. Because the module owns no
//! file descriptors, threads or shared memory, tests, fuzzers and miri drive it directly.
//!
//! Layout: [`cdb`] decodes bytes into [`DecodedCdb`], [`sense`] encodes errors, [`outcome`]
//! is what comes back, [`ua`] keeps unit attentions, and one private module per command
//! family builds the responses (`inquiry`, `block`, `mode`, `provisioning`, `opcodes`).
//!
//! Errors are [`Sense`] values from the start: every failure of a SCSI command is
//! reported to the initiator as sense data, so there is no intermediate error enum to map.
//! The device layer encodes it with [`Sense::encode`] in the format
//! [`ScsiLun::descriptor_sense`] names, and maps backstore failures to sense the same way.
//!
//! ```
//! use gluster_tcmu::scsi::{BlockOp, Dispatch, LunConfig, ScsiLun, Sense, Status};
//!
//! let mut lun = ScsiLun::new(LunConfig::default())?;
//! let no_data = Vec::new();
//! // A fresh unit reports POWER ON/RESET to the first command.
//! let Dispatch::Reply(reply) = lun.dispatch(&[0x00, 0, 0, 0, 0, 0], &no_data) else {
//!     unreachable!()
//! };
//! assert_eq!(reply.status, Status::CheckCondition(Sense::ua_power_on_reset()));
//! // READ(10) of one block at LBA 8 goes to the backstore.
//! match lun.dispatch(&[0x28, 0, 0, 0, 0, 8, 0, 0, 1, 0], &no_data) {
//!     Dispatch::Io(io) => assert_eq!((io.op, io.lba, io.blocks), (BlockOp::Read, 8, 1)),
//!     Dispatch::Reply(reply) => panic!("unexpected {reply:?}"),
//! }
//! # Ok::<(), gluster_tcmu::scsi::LunConfigError>(())
//! ```

#![forbid(unsafe_code)]

pub mod alua;
mod block;
pub mod cdb;
pub mod config;
pub mod copy;
mod inquiry;
mod lun;
mod mode;
mod opcodes;
pub mod outcome;
mod param;
mod provisioning;
pub mod sense;
pub mod ua;
mod wire;

#[cfg(test)]
mod tests;

pub use cdb::DecodedCdb;
pub use config::{Identity, LunConfig, LunConfigError};
pub use copy::{CopyPlan, CopyResult, CopySegment};
pub use lun::ScsiLun;
pub use mode::{ModeSelectCdb, ModeSenseCdb, PageControl};
pub use outcome::{BlockIo, BlockOp, ByteCheck, Dispatch, LbaRange, Reply, Status};
pub use provisioning::{LbaStatus, ProvisioningStatus, encode_lba_status};
pub use sense::{FieldPointer, Sense, SenseKey};
pub use ua::UnitAttention;

/// A command's data-out buffer (parameter lists, write data), read by offset.
///
/// The device layer implements it over the ring's shared memory, which must never be
/// borrowed as a slice; tests use plain byte buffers.
pub trait DataOut {
    /// Total number of data-out bytes.
    fn len(&self) -> usize;

    /// Copies bytes from offset `off` into `buf`; returns how many were copied (fewer
    /// than `buf.len()` only at the end of the data).
    fn read_at(&self, off: usize, buf: &mut [u8]) -> usize;

    /// Whether there is no data-out at all.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl DataOut for [u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }

    fn read_at(&self, off: usize, buf: &mut [u8]) -> usize {
        let src = self.get(off..).unwrap_or_default();
        let n = src.len().min(buf.len());
        if let (Some(d), Some(s)) = (buf.get_mut(..n), src.get(..n)) {
            d.copy_from_slice(s);
        }
        n
    }
}

impl DataOut for Vec<u8> {
    fn len(&self) -> usize {
        self.as_slice().len()
    }

    fn read_at(&self, off: usize, buf: &mut [u8]) -> usize {
        self.as_slice().read_at(off, buf)
    }
}

impl<const N: usize> DataOut for [u8; N] {
    fn len(&self) -> usize {
        N
    }

    fn read_at(&self, off: usize, buf: &mut [u8]) -> usize {
        self.as_slice().read_at(off, buf)
    }
}

impl DataOut for &[u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }

    fn read_at(&self, off: usize, buf: &mut [u8]) -> usize {
        (**self).read_at(off, buf)
    }
}
