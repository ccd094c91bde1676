//! Block exports on the real loopback volumes (gt1, gt3 of tests/gluster/setup.sh): the
//! gfapi store keeps the same contract as the local one, and the `gluster-tcmu export`
//! commands work end to end, race safely between processes and fail in bounded time on
//! volumes they cannot reach. Each test uses export names of its own and removes what it
//! made. Fails (never skips) without the volumes.
#![cfg(feature = "glfs")]

mod common;

use common::gluster::{HOST, require_started, test_options};
use gluster_tcmu::export::store::contract;
use gluster_tcmu::export::{GlfsVolumes, MetaStore, StoreOpener, VolumeAddr};
use std::sync::Arc;
use std::time::Instant;

/// `volume` through the loopback glusterd.
fn addr(volume: &str) -> String {
    format!("{volume}@{HOST}")
}

/// The store of `volume`, connected as the CLI connects.
fn store(volume: &str) -> Arc<dyn MetaStore> {
    require_started(volume);
    GlfsVolumes::new(test_options().connect)
        .open(&VolumeAddr::parse(&addr(volume)).unwrap())
        .unwrap_or_else(|e| panic!("open {volume}: {e}"))
}

/// A name no other test run uses.
fn unique(what: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("t-{what}-{}-{n}", std::process::id())
}

#[test]
fn the_gfapi_store_keeps_the_store_contract_on_gt1_and_gt3() {
    for volume in ["gt1", "gt3"] {
        let started = Instant::now();
        contract::all(store(volume), &unique("contract"));
        eprintln!("{volume}: contract checks in {:?}", started.elapsed());
    }
}
