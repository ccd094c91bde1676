//! gluster-tcmu: a userspace handler for the Linux LIO TCM-User (TCMU) backstore.
//!
//! The crate is split along the data path: [`abi`] describes the kernel's shared ring,
//! [`region`] is the only code that touches the mapped memory, [`ring`] speaks the ring
//! protocol over it, [`scsi`] emulates SCSI commands without any I/O, [`backstore`] moves
//! blocks, and [`reactor`] ties devices and backstores to io_uring threads. [`uring`],
//! below both, holds io_uring and all of its `unsafe`. `glfs` (feature `glfs`) wraps
//! libgfapi for the GlusterFS backstore.

pub mod abi;
pub mod backstore;
pub mod cfgstring;
pub mod control;
pub mod daemon;
pub mod device;
pub mod doorbell;
pub mod error_text;
pub mod export;
pub mod export_cli;
pub mod gateway;
#[cfg(feature = "glfs")]
pub mod glfs;
pub mod ha;
pub mod lio;
pub mod logging;
pub mod reactor;
pub mod region;
pub mod ring;
pub mod scsi;
pub mod settings;
pub mod slab;
#[cfg(feature = "test-utils")]
pub mod testing;
pub mod uring;
