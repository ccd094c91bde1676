//! Arbitrary text as our TOML settings file and as tcmu-runner's tcmu.conf: nothing may
//! panic, and an accepted file merges over the defaults the same way once or twice.
//! Harness: `gluster_tcmu::testing::run_settings_file`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| gluster_tcmu::testing::run_settings_file(data));
