//! Names for the export tests on the real volumes, unique to each test run.

/// A name no other test run uses.
pub fn unique(what: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("t-{what}-{}-{n}", std::process::id())
}

/// A gateway portal no real gateway has, so no gateway run by another test serves the
/// tests' exports (and a delete never waits for one).
pub fn gateway() -> String {
    format!("127.0.0.1:{}", 20000 + std::process::id() % 20000)
}
