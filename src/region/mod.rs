//! Memory shared with the kernel, and the byte ranges of it that requests name.
//!
//! * [`SharedRegion`] (`shared`): the one type that owns the mapped memory (or a private
//!   heap buffer), with bounds-checked loads, stores and copies, and all of this room's
//!   `unsafe`.
//! * [`DataSeg`] and [`DataBuf`] (`data_buf`): ranges of a region. The ring hands out a
//!   command's data buffer as segments; a backstore request reads into or writes from a
//!   [`DataBuf`], which keeps its region alive until the request has been drained. The
//!   backstores, io_uring (`crate::uring`) and gfapi (`crate::glfs`) all name them, so
//!   they live here, below each of those rooms.

#![deny(unsafe_code)] // shared.rs allows it, each block with a SAFETY note

mod data_buf;
mod shared;

pub use data_buf::{DataBuf, DataSeg, Segments};
pub use shared::{MapError, RegionError, SharedRegion};
