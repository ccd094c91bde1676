//! Arbitrary CDBs and parameter data through the whole device path: the fake kernel's
//! ring, the SCSI emulation, the device layer (VERIFY, COMPARE AND WRITE, EXTENDED COPY,
//! UNMAP, WRITE SAME, GET LBA STATUS, ...) and a RAM backstore. The unit lives across
//! inputs, so mode changes, unit attentions, held copy results and written data carry
//! over. Every command must be answered (no hang), nothing may panic, and every CHECK
//! CONDITION must carry sense that decodes. Input format:
//! `gluster_tcmu::testing::ScsiFuzzUnit::run`.
#![no_main]

use gluster_tcmu::testing::ScsiFuzzUnit;
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;

thread_local! {
    static UNIT: RefCell<ScsiFuzzUnit> = RefCell::new(ScsiFuzzUnit::new());
}

fuzz_target!(|data: &[u8]| {
    UNIT.with(|u| u.borrow_mut().run(data));
});
