//! A fake of the kernel's side of TCMU, for tests, benches and fuzz targets (feature
//! `test-utils`).
//!
//! [`FakeKernel`] behaves like `drivers/target/target_core_user.c` (Linux 6.1) towards a
//! handler: it lays out a memfd like the UIO map (mailbox, command ring, data area of
//! fixed-size blocks), queues commands and TMR notifications the way `queue_cmd_ring` and
//! `queue_tmr_ring` do, and reaps completions like `tcmu_handle_completions`, but checks
//! far more than the kernel so that handler bugs surface as a [`ProtocolViolation`]
//! instead of a silently corrupted ring. The UIO interrupt becomes two eventfds (see
//! [`HandlerEnd`]).
//!
//! It is written independently of the handler's ring code on purpose: sharing a parser
//! would let one misreading of the ABI pass both sides' tests.
//!
//! ```
//! use gluster_tcmu::testing::{DataDir, FakeKernel, FakeKernelConfig};
//! let mut kernel = FakeKernel::new(FakeKernelConfig::default()).unwrap();
//! let read10 = [0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0];
//! let id = kernel.submit(&read10, DataDir::FromDevice(4096)).unwrap();
//! assert_eq!((id, kernel.inflight()), (1, 1));
//! // ... a handler maps `kernel.handler_end()` and completes the command ...
//! assert!(kernel.reap().unwrap().is_empty());
//! ```

#![forbid(unsafe_code)]

mod cmd_ids;
mod cmd_ring;
mod config;
mod config_input;
mod corruption;
mod data_area;
mod eventfd;
mod fake_kernel;
mod reap;
mod scsi_input;
#[cfg(test)]
mod tests;

pub use config::{FakeKernelConfig, FakeKernelConfigError, Geometry, PAGE_SIZE};
pub use config_input::{run_cfg_string, run_settings_file};
pub use corruption::Corruption;
pub use fake_kernel::{DataDir, FakeKernel, FakeKernelError, HandlerEnd, SubmitError, SubmitOpts};
pub use reap::{
    Completed, Completion, ProtocolViolation, STATUS_BUSY, STATUS_CHECK_CONDITION, STATUS_GOOD,
};
pub use scsi_input::ScsiFuzzUnit;

/// A [`crate::device::Device`] attached to `kernel` exactly as the daemon attaches one to
/// `/dev/uioN`: its own mapping of the memfd and the eventfd doorbells. Shared by the
/// integration tests and the benches.
pub fn attach_device(
    kernel: &FakeKernel,
    lun: crate::scsi::LunConfig,
    backstore: Box<dyn crate::backstore::Backstore>,
) -> Result<crate::device::Device, Box<dyn std::error::Error>> {
    let end = kernel.handler_end()?;
    let region = crate::region::SharedRegion::map(&end.memfd, end.map_len)?;
    let doorbell = crate::doorbell::Doorbell::EventFds {
        irq: end.irq,
        kick: end.kick,
    };
    Ok(crate::device::Device::new(
        "fake", region, doorbell, lun, backstore,
    )?)
}
