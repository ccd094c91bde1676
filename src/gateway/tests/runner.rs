//! The gateway thread: a gateway that cannot start yet, periodic passes, stopping.

use super::*;
use std::sync::atomic::{AtomicBool, Ordering};

#[test]
fn a_gateway_that_cannot_start_says_why_and_is_tried_again() {
    let Env { dir, gateway, .. } = Env::new();
    let mut gateway = Some(gateway);
    let startable = Arc::new(AtomicBool::new(false));
    let can_start = startable.clone();
    let open = move || match can_start.load(Ordering::Relaxed) {
        false => Err(GatewayError::StateDir {
            path: "/nowhere".into(),
            source: std::io::Error::from_raw_os_error(libc::EACCES),
        }),
        true => Ok(gateway.take().expect("opened once")),
    };
    let (handle, requests) = channel();
    let stop = Arc::new(AtomicBool::new(false));
    let thread = spawn(open, requests, Duration::from_secs(300), stop.clone()).unwrap();
    let err = handle.converge(Duration::from_secs(30)).unwrap_err();
    assert!(
        err.starts_with("the gateway cannot start: cannot make the state directory /nowhere"),
        "{err}"
    );
    put_record(&volume_in(dir.path(), "gv0"), &record("disk1", &[PORTAL]));
    startable.store(true, Ordering::Relaxed);
    let report = handle.converge(Duration::from_secs(30)).unwrap();
    assert_eq!(report.exports["disk1"].state, StatusState::Ready);
    stop.store(true, Ordering::Relaxed);
    thread.join().unwrap();
}

#[test]
fn passes_come_every_period_without_requests() {
    let Env {
        dir,
        settings,
        gateway,
        ..
    } = Env::new();
    let mut gateway = Some(gateway);
    let open = move || Ok(gateway.take().expect("opened once"));
    let (_handle, requests) = channel();
    let stop = Arc::new(AtomicBool::new(false));
    let thread = spawn(open, requests, Duration::from_millis(100), stop.clone()).unwrap();
    put_record(&volume_in(dir.path(), "gv0"), &record("disk1", &[PORTAL]));
    let target = settings.configfs.join(target("disk1"));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !target.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(target.exists(), "a later pass applied the new record");
    stop.store(true, Ordering::Relaxed);
    thread.join().unwrap();
    assert!(target.exists(), "stopping leaves LIO as it is");
}
