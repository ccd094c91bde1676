//! Arbitrary bytes as a TCM-USER generic netlink payload: decoding must never panic,
//! an accepted event must survive a re-encode unchanged, and the salvage path used to
//! answer undecodable events must never panic either.
#![no_main]

use gluster_tcmu::control::netlink::codec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = codec::decode_event(data) {
        let bytes = codec::encode_event(&event).expect("decoded strings have no NUL and fit u16");
        assert_eq!(codec::decode_event(&bytes), Ok(event));
    }
    let _ = codec::decode_reply(data);
    let _ = codec::reply_target(data);
});
