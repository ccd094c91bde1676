//! Arbitrary text as a TCMU config string (`"<subtype>/<config>"`, as CheckConfig,
//! ChangeMedium and the uio device name bring it) and as each subtype's part: nothing may
//! panic, and an accepted string keeps the kernel's and rtslib's limits and each
//! subtype's promises. Harness: `gluster_tcmu::testing::run_cfg_string`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| gluster_tcmu::testing::run_cfg_string(data));
