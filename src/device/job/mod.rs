//! Where a multi-step command is between its backstore requests: a comparison (VERIFY,
//! COMPARE AND WRITE) or an EXTENDED COPY, each with the private buffer its steps read
//! into and write from. These are plain state machines: the in-flight table keeps one
//! in a pending command's [`Waiting`](super::Waiting), and the device's `compare` and
//! `copy` modules drive them, so they import neither.

#![forbid(unsafe_code)]

mod compare;
mod copy;

pub use compare::{Compare, Kind};
pub use copy::CopyJob;
