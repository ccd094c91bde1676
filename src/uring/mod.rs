//! io_uring, in one place: the ring a reactor thread drives ([`Uring`]), the submissions
//! prepared for it ([`Submission`]), and a file's reads, writes, flushes and fallocates
//! straight from and into the shared region ([`FileRing`]).
//!
//! This room holds all of the crate's io_uring `unsafe` (the promise to the kernel that
//! whatever an SQE names stays valid until its completion) and the `pwritev2` a file in
//! memory is written with at once ([`write_now`]). It depends only on the shared region
//! and its data segments; the reactor and the file backstore build on it, and meet
//! through [`RingTenant`]: a backstore whose requests can run on its reactor's ring
//! offers them through that capability, and the reactor pushes them with its own polls.

#![deny(unsafe_code)] // ring.rs, submission.rs, file_ring.rs and iovec.rs allow it, each block with a SAFETY note

mod file_ring;
mod iovec;
mod ring;
mod submission;

pub use file_ring::{FileOp, FileRing, Finished};
pub use iovec::write_now;
pub use ring::{Cqe, Uring};
pub use submission::Submission;

/// io_uring work that can move onto a ring its owner does not drive: a reactor serving a
/// file backstore submits the backstore's requests with everything else it submits in a
/// turn, and hands their completions back. Meanwhile the work needs no ring, notifier or
/// wake-up of its own.
pub trait RingTenant {
    /// Offered by the driver of a ring: true if the work moves onto it, after which the
    /// driver takes its submissions ([`RingTenant::take_submissions`], after each batch)
    /// and hands back their completions ([`RingTenant::complete`]). False leaves the work
    /// where it is.
    fn attach(&mut self) -> bool;

    /// The driver lets go (it owes no completion any more). False when refused because
    /// it still does.
    fn detach(&mut self) -> bool;

    /// Moves prepared submissions into `out` (attached work only).
    fn take_submissions(&mut self, out: &mut Vec<Submission>);

    /// The completion of the submission with `token`: the kernel's result, or a negative
    /// errno when it never reached the kernel. Its owner reports it like any other.
    fn complete(&mut self, token: u64, result: i32);
}
