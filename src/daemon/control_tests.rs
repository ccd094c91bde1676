//! The control socket's requests, end to end over a Unix socket.

use super::*;
use crate::export::{GatewayReport, StatusState};
use crate::gateway::tests::{Env, PORTAL, put_record, record, volume_in};
use std::sync::atomic::{AtomicBool, Ordering};

fn registry() -> Arc<DeviceRegistry> {
    Arc::new(DeviceRegistry::new(1, Default::default()).unwrap())
}

fn socket(dir: &tempfile::TempDir, gateway: Option<GatewayHandle>) -> (ControlSocket, PathBuf) {
    let path = dir.path().join("run/control.sock");
    (serve(&path, registry(), gateway).unwrap(), path)
}

#[test]
fn list_answers_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let (_socket, path) = socket(&dir, None);
    let lines = request(&path, LIST).unwrap();
    assert_eq!(lines, [list::HEADER]);
}

#[test]
fn converge_without_a_gateway_and_unknown_requests_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (_socket, path) = socket(&dir, None);
    let lines = request(&path, CONVERGE).unwrap();
    assert_eq!(
        lines,
        [r#"{"error":"no gateway: the settings file has no [exports] section"}"#]
    );
    let lines = request(&path, "lsit").unwrap();
    assert_eq!(
        lines,
        [r#"{"error":"unknown request \"lsit\"; the requests are list and converge"}"#]
    );
}

#[test]
fn converge_runs_a_pass_and_answers_its_report() {
    let Env {
        dir,
        settings,
        gateway,
        ..
    } = Env::new();
    let gv0 = volume_in(dir.path(), "gv0");
    let mut slot = Some(gateway);
    let open = move || Ok(slot.take().expect("opened once"));
    let (handle, requests) = crate::gateway::channel();
    let stop = Arc::new(AtomicBool::new(false));
    // A long period: only requests make passes after the first.
    let thread =
        crate::gateway::spawn(open, requests, Duration::from_secs(300), stop.clone()).unwrap();
    let (_socket, path) = socket(&dir, Some(handle));

    let report = converge_report(&path);
    assert!(report.exports.is_empty());
    put_record(&gv0, &record("disk1", &[PORTAL]));
    let report = converge_report(&path);
    assert_eq!(report.gateway, settings.portal);
    assert_eq!(report.exports["disk1"].state, StatusState::Ready);
    assert!(
        settings
            .configfs
            .join("iscsi/iqn.2016-12.org.gluster-tcmu:disk1")
            .exists()
    );
    // `list` is answered while the gateway runs.
    assert_eq!(request(&path, LIST).unwrap(), [list::HEADER]);

    stop.store(true, Ordering::Relaxed);
    thread.join().unwrap();
    let lines = request(&path, CONVERGE).unwrap();
    assert_eq!(lines, [r#"{"error":"the gateway has stopped"}"#]);
}

fn converge_report(path: &Path) -> GatewayReport {
    let lines = request(path, CONVERGE).unwrap();
    assert_eq!(lines.len(), 1, "one line: {lines:?}");
    GatewayReport::from_json(lines[0].as_bytes()).unwrap()
}
