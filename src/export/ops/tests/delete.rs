use super::*;
use crate::export::record::State;

#[test]
fn delete_removes_the_image_then_the_record() {
    let fx = Fixture::new();
    let seen = Recorder::default();
    fx.ops(&Quiet).create(&request("disk1")).unwrap();
    let out = fx.ops(&seen).delete(&at("disk1"), false).unwrap();
    assert_eq!(out.location, location("disk1"));
    assert_eq!(record_on(&fx, "disk1"), None);
    assert_eq!(image_on(&fx, "disk1"), None);
    assert_eq!(seen.changes(), [format!("{VOLUME}/disk1")]);
    let err = fx.ops(&Quiet).delete(&at("disk1"), false).unwrap_err();
    assert_eq!(err.to_string(), format!("no export disk1 on {VOLUME}"));
}

#[test]
fn delete_is_refused_while_a_fresh_report_shows_a_session() {
    let fx = Fixture::new();
    fx.ops(&Quiet).create(&request("disk1")).unwrap();
    fx.report(
        GW1,
        0,
        &[("disk1", serving(2, &["iqn.1994-05.com.redhat:node1"]))],
    );
    let before = fx.snapshot();
    let err = fx.ops(&Quiet).delete(&at("disk1"), false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "export disk1 has initiators logged in (iqn.1994-05.com.redhat:node1 on \
         127.0.0.1:3260): log them out first, or use --force"
    );
    assert_eq!(fx.snapshot(), before);
}

/// A gateway on this host that saw the initiator log out after its last report: asked to
/// look again, it writes a report without the session; told of the change, it drops the
/// export.
struct RefreshingGateway<'a> {
    fx: &'a Fixture,
    refreshed: Mutex<usize>,
}

impl Observer for RefreshingGateway<'_> {
    fn progress(&self, _line: &str) {}
    fn changed(&self, _location: &ExportLocation) {
        self.fx.report(GW1, 0, &[]);
    }
    fn refresh(&self, _location: &ExportLocation) {
        *self.refreshed.lock().unwrap() += 1;
        self.fx.report(GW1, 0, &[("disk1", serving(2, &[]))]);
    }
}

#[test]
fn delete_asks_the_local_gateway_to_look_again_before_refusing() {
    let fx = Fixture::new();
    fx.ops(&Quiet).create(&request("disk1")).unwrap();
    fx.report(
        GW1,
        0,
        &[("disk1", serving(2, &["iqn.1994-05.com.redhat:node1"]))],
    );
    let gateway = RefreshingGateway {
        fx: &fx,
        refreshed: Mutex::new(0),
    };
    fx.ops(&gateway).delete(&at("disk1"), false).unwrap();
    assert_eq!(*gateway.refreshed.lock().unwrap(), 1);
    assert_eq!(record_on(&fx, "disk1"), None);
}

#[test]
fn delete_with_force_goes_ahead_despite_sessions_and_gateways_that_do_not_let_go() {
    let fx = Fixture::new();
    fx.ops(&Quiet).create(&request("disk1")).unwrap();
    fx.report(
        GW1,
        0,
        &[("disk1", serving(2, &["iqn.1994-05.com.redhat:node1"]))],
    );
    let seen = Recorder::default();
    let out = fx.ops(&seen).delete(&at("disk1"), true).unwrap();
    assert_eq!(out.still_served_by, [GW1]);
    assert_eq!(record_on(&fx, "disk1"), None);
    assert!(
        seen.lines()
            .iter()
            .any(|l| l.contains("with initiators logged in"))
    );
}

#[test]
fn stale_reports_do_not_block_a_delete() {
    let fx = Fixture::new();
    fx.ops(&Quiet).create(&request("disk1")).unwrap();
    fx.report(
        GW1,
        3600,
        &[("disk1", serving(2, &["iqn.1994-05.com.redhat:node1"]))],
    );
    fx.ops(&Quiet).delete(&at("disk1"), false).unwrap();
    assert_eq!(record_on(&fx, "disk1"), None);
}

#[test]
fn delete_waits_for_fresh_gateways_to_drop_the_export() {
    let fx = Fixture::new();
    fx.ops(&Quiet).create(&request("disk1")).unwrap();
    fx.report(GW1, 0, &[("disk1", serving(2, &[]))]);
    let seen = Recorder::default();
    std::thread::scope(|s| {
        let delete = s.spawn(|| fx.patient_ops(&seen).delete(&at("disk1"), false));
        seen.await_line("waiting for 127.0.0.1:3260 to drop disk1");
        assert_eq!(record_on(&fx, "disk1").unwrap().state, State::Deleting);
        assert!(
            image_on(&fx, "disk1").is_some(),
            "the image outlives the LUN"
        );
        // The gateway sees the record marked deleting and drops the export.
        fx.report(GW1, 0, &[]);
        delete.join().unwrap().unwrap();
    });
    assert_eq!(record_on(&fx, "disk1"), None);
}

#[test]
fn a_gateway_that_does_not_drop_the_export_stops_the_delete_before_the_image_goes() {
    let fx = Fixture::new();
    fx.ops(&Quiet).create(&request("disk1")).unwrap();
    fx.report(GW2, 0, &[("disk1", serving(2, &[]))]);
    let err = fx.ops(&Quiet).delete(&at("disk1"), false).unwrap_err();
    assert!(matches!(err, OpsError::StillServed { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("gateways 127.0.0.2:3260 still serve export disk1")
    );
    assert_eq!(record_on(&fx, "disk1").unwrap().state, State::Deleting);
    assert!(image_on(&fx, "disk1").is_some());
    // Once it has let go, the same delete finishes.
    fx.report(GW2, 0, &[]);
    fx.ops(&Quiet).delete(&at("disk1"), false).unwrap();
    assert_eq!(record_on(&fx, "disk1"), None);
}

#[test]
fn a_corrupt_record_is_deleted_only_with_force() {
    let fx = Fixture::new();
    fx.ops(&Quiet).create(&request("disk1")).unwrap();
    fx.store()
        .replace("/gluster-tcmu/exports/disk1.json", b"not json", 0o600)
        .unwrap();
    let before = fx.snapshot();
    let err = fx.ops(&Quiet).delete(&at("disk1"), false).unwrap_err();
    assert!(matches!(err, OpsError::Corrupt { .. }), "{err}");
    assert_eq!(fx.snapshot(), before);
    let out = fx.ops(&Quiet).delete(&at("disk1"), true).unwrap();
    assert!(out.corrupt);
    assert_eq!(image_on(&fx, "disk1"), None);
    assert!(
        fx.store()
            .read("/gluster-tcmu/exports/disk1.json")
            .unwrap()
            .is_none()
    );
}

#[test]
fn delete_removes_the_temporary_copies_killed_commands_left() {
    let fx = Fixture::new();
    fx.ops(&Quiet).create(&request("disk1")).unwrap();
    let store = fx.store();
    let left = "/gluster-tcmu/tmp/disk1.json.77.0.0a0b.tmp";
    let other = "/gluster-tcmu/tmp/disk10.json.77.0.0a0b.tmp";
    std::fs::write(store.local(left), b"{").unwrap();
    std::fs::write(store.local(other), b"{").unwrap();
    fx.ops(&Quiet).delete(&at("disk1"), false).unwrap();
    assert_eq!(store.read(left).unwrap(), None);
    assert!(store.read(other).unwrap().is_some());
}
