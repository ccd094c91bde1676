//! Arbitrary bytes as a whole shared region (mailbox, ring, data): attaching, draining
//! and completing must never panic, whatever the kernel side wrote.
#![no_main]

use gluster_tcmu::region::SharedRegion;
use gluster_tcmu::ring::{CommandRing, Entry, Response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 256 {
        return;
    }
    let region = SharedRegion::heap(data.len());
    let _ = region.write_bytes(0, data);
    let Ok(mut ring) = CommandRing::attach(&region) else { return };
    let mut cmds = Vec::new();
    let _ = ring.drain(&region, |e| {
        if let Entry::Cmd(c) = e {
            cmds.push(c);
        }
    });
    for c in cmds.into_iter().rev() {
        let _ = ring.complete(&region, c, &Response::GOOD);
    }
    let _ = ring.publish(&region);
});
