//! Records appearing, changing and going; what LIO and the reports show.

use super::*;
use crate::export::{PathAccess, PathStatus};
use crate::lio::{ConfigFs, Op};
use std::collections::BTreeMap;

#[test]
fn records_naming_this_gateway_become_lio_objects_and_a_ready_report() {
    let mut env = Env::new();
    let gv0 = env.volume("gv0");
    put_record(&gv0, &record("disk1", &[OTHER, PORTAL]));
    put_record(&gv0, &record("theirs", &[OTHER]));

    let merged = env.gateway.pass();
    assert_eq!(merged.problem, None);
    assert_eq!(state(&merged, "disk1"), (StatusState::Ready, None));
    assert!(
        !merged.exports.contains_key("theirs"),
        "another gateway's only"
    );
    assert!(env.has_backstore("disk1") && !env.has_backstore("theirs"));
    assert!(env.has(&format!("{}/tpgt_1/np/{PORTAL}", target("disk1"))));
    assert!(!env.has(&format!("{}/tpgt_1/np/{OTHER}", target("disk1"))));
    assert!(!env.has(&target("theirs")));

    let written = env.report_on("gv0").unwrap();
    assert_eq!(written.exports, merged.exports);
    assert_eq!(written.gateway, PORTAL.parse().unwrap());
    assert_eq!(written.poll_secs, 3);
    let status = &written.exports["disk1"];
    assert_eq!((status.size, status.generation), (1 << 30, 1));
    assert!(env.report_on("gv1").unwrap().exports.is_empty());
}

#[test]
fn a_second_pass_changes_nothing_and_writes_no_report_until_the_heartbeat() {
    let mut env = Env::new();
    put_record(&env.volume("gv0"), &record("disk1", &[PORTAL]));
    env.gateway.pass();
    let inode = env.report_inode("gv0");
    env.fake().clear_ops();
    env.gateway.pass();
    assert!(env.fake().ops().is_empty(), "{:#?}", env.fake().ops());
    assert_eq!(
        env.report_inode("gv0"),
        inode,
        "same content: not rewritten"
    );

    env.gateway.set_heartbeat(Duration::ZERO);
    env.gateway.pass();
    assert_ne!(env.report_inode("gv0"), inode, "heartbeat: rewritten");
}

#[test]
fn a_changed_record_changes_lio_and_the_report() {
    let mut env = Env::new();
    let gv0 = env.volume("gv0");
    let mut r = record("disk1", &[PORTAL]);
    put_record(&gv0, &r);
    env.gateway.pass();
    r.size *= 2;
    r.generation = 2;
    r.initiators = vec!["iqn.1994-05.com.redhat:c1".into()];
    put_record(&gv0, &r);
    let merged = env.gateway.pass();
    let status = &merged.exports["disk1"];
    assert_eq!(
        (status.state, status.size, status.generation),
        (StatusState::Ready, 2 << 30, 2)
    );
    assert!(env.has(&format!(
        "{}/tpgt_1/acls/iqn.1994-05.com.redhat:c1",
        target("disk1")
    )));
    assert_eq!(env.report_on("gv0").unwrap().exports, merged.exports);
}

#[test]
fn a_removed_or_deleting_record_takes_its_objects_away() {
    let mut env = Env::new();
    let gv0 = env.volume("gv0");
    put_record(&gv0, &record("gone", &[PORTAL]));
    put_record(&gv0, &record("leaving", &[PORTAL]));
    put_record(&gv0, &record("staying", &[PORTAL]));
    env.gateway.pass();
    assert!(env.has_backstore("gone") && env.has_backstore("leaving"));

    gv0.remove(&layout::record(&ExportName::parse("gone").unwrap()))
        .unwrap();
    let mut leaving = record("leaving", &[PORTAL]);
    leaving.state = State::Deleting;
    leaving.generation = 2;
    put_record(&gv0, &leaving);
    let merged = env.gateway.pass();
    let names: Vec<&String> = merged.exports.keys().collect();
    assert_eq!(names, ["staying"]);
    assert!(!env.has_backstore("gone") && !env.has(&target("gone")));
    assert!(!env.has_backstore("leaving") && !env.has(&target("leaving")));
    assert!(env.has_backstore("staying"));
    let owned = env.gateway.lio().journal().exports();
    assert_eq!(owned.len(), 1, "{owned:?}");
    assert_eq!(env.report_on("gv0").unwrap().exports.len(), 1);
}

#[test]
fn a_record_no_longer_naming_this_gateway_is_removed_here() {
    let mut env = Env::new();
    let gv0 = env.volume("gv0");
    let mut r = record("disk1", &[PORTAL, OTHER]);
    put_record(&gv0, &r);
    env.gateway.pass();
    r.gateways = vec![OTHER.parse().unwrap()];
    put_record(&gv0, &r);
    let merged = env.gateway.pass();
    assert!(merged.exports.is_empty());
    assert!(!env.has_backstore("disk1"));
}

#[test]
fn a_corrupt_record_is_an_error_by_name_and_the_others_are_served() {
    let mut env = Env::new();
    let gv0 = env.volume("gv0");
    put_record(&gv0, &record("good", &[PORTAL]));
    put_record(&gv0, &record("was-good", &[PORTAL]));
    env.gateway.pass();
    put_file(&gv0, "broken.json", b"{\"version\": 1,");
    put_file(
        &gv0,
        "was-good.json",
        b"{\"version\": 1, \"surprise\": true}",
    );
    let merged = env.gateway.pass();
    assert_eq!(state(&merged, "good"), (StatusState::Ready, None));
    for name in ["broken", "was-good"] {
        let (s, reason) = state(&merged, name);
        assert_eq!(s, StatusState::Error);
        let reason = reason.unwrap();
        assert!(reason.starts_with("corrupt record: "), "{reason}");
    }
    assert!(
        env.has_backstore("was-good"),
        "what a corrupt record wants is unknown: its LUN stays as it is"
    );
    assert_eq!(env.report_on("gv0").unwrap().exports, merged.exports);
}

#[test]
fn one_name_on_two_volumes_is_an_error_and_applies_neither() {
    let mut env = Env::new();
    put_record(&env.volume("gv0"), &record("disk1", &[PORTAL]));
    let mut twin = record("disk1", &[PORTAL]);
    twin.volume = "gv1".into();
    twin.servers = vec!["gl3".into()];
    put_record(&env.volume("gv1"), &twin);
    let merged = env.gateway.pass();
    let (s, reason) = state(&merged, "disk1");
    assert_eq!(s, StatusState::Error);
    assert!(reason.unwrap().contains("more than one"));
    assert!(!env.has_backstore("disk1"));
    for v in ["gv0", "gv1"] {
        assert_eq!(
            env.report_on(v).unwrap().exports["disk1"].state,
            StatusState::Error
        );
    }
}

#[test]
fn a_pass_cut_short_in_an_apply_is_finished_by_the_next() {
    let mut env = Env::new();
    put_record(&env.volume("gv0"), &record("disk1", &[PORTAL]));
    put_record(&env.volume("gv0"), &record("disk2", &[PORTAL]));
    let enable = format!("{}/tpgt_1/enable", target("disk1"));
    env.fake().fail_next(Op::Write, &enable, libc::EIO);
    let merged = env.gateway.pass();
    let (s, reason) = state(&merged, "disk1");
    assert_eq!(s, StatusState::Error);
    assert!(reason.unwrap().contains("write"), "{merged:?}");
    assert_eq!(
        state(&merged, "disk2").0,
        StatusState::Ready,
        "the pass went on"
    );

    let merged = env.gateway.pass();
    assert_eq!(state(&merged, "disk1"), (StatusState::Ready, None));
    let path = env.settings.configfs.join(&enable);
    assert_eq!(env.fake().read(&path).unwrap(), "1");
}

#[test]
fn a_restart_adopts_what_is_there_and_a_reboot_rebuilds_it() {
    let mut env = Env::new();
    let mut r = record("disk1", &[PORTAL]);
    r.chap = Some(crate::export::ChapRecord {
        initiator: crate::export::ChapPair {
            user: "disk1-user".into(),
            secret: "initiatorsecret1".into(),
        },
        target: None,
    });
    put_record(&env.volume("gv0"), &r);
    env.gateway.pass();
    let tree = env.fake().tree();

    env.restart();
    let merged = env.gateway.pass();
    assert_eq!(state(&merged, "disk1"), (StatusState::Ready, None));
    assert!(env.fake().ops().is_empty(), "{:#?}", env.fake().ops());

    env.clear_lio();
    assert!(!env.has_backstore("disk1"));
    let merged = env.gateway.pass();
    assert_eq!(state(&merged, "disk1"), (StatusState::Ready, None));
    assert_eq!(env.fake().tree(), tree, "rebuilt as it was");
}

#[test]
fn a_portal_that_is_not_this_hosts_is_reported_and_nothing_applied() {
    let portal = "192.0.2.1:3260";
    let mut env = Env::on(portal);
    put_record(&env.volume("gv0"), &record("disk1", &[portal]));
    let merged = env.gateway.pass();
    let problem = "portal IP 192.0.2.1 is not an address of this host (check [exports] portal)";
    assert_eq!(merged.problem.as_deref(), Some(problem));
    assert_eq!(
        state(&merged, "disk1"),
        (StatusState::Error, Some(problem.to_owned()))
    );
    assert!(env.fake().ops().is_empty(), "{:#?}", env.fake().ops());
    let path = layout::report(&portal.parse().unwrap());
    let bytes = env.volume("gv0").read(&path).unwrap().unwrap();
    let written = GatewayReport::from_json(&bytes).unwrap();
    assert_eq!(written.problem.as_deref(), Some(problem));
}

#[test]
fn never_a_secret_in_a_report() {
    let mut env = Env::new();
    let mut r = record("disk1", &[PORTAL]);
    r.chap = Some(crate::export::ChapRecord {
        initiator: crate::export::ChapPair {
            user: "disk1-user".into(),
            secret: "initiatorsecret1".into(),
        },
        target: None,
    });
    put_record(&env.volume("gv0"), &r);
    let merged = env.gateway.pass();
    let path = layout::report(&PORTAL.parse().unwrap());
    let bytes = env.volume("gv0").read(&path).unwrap().unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains("initiatorsecret1"));
    assert!(
        !serde_json::to_string(&merged)
            .unwrap()
            .contains("initiatorsecret1")
    );
}

/// Paths as a daemon would tell them: one LUN known, in a state the test sets.
#[derive(Debug, Default)]
struct SomePaths(std::sync::Mutex<BTreeMap<String, PathStatus>>);

impl LunPaths for SomePaths {
    fn path(&self, lun: &str) -> Option<PathStatus> {
        self.0.lock().unwrap().get(lun).copied()
    }
}

#[test]
fn an_exports_path_through_this_gateway_is_reported_when_it_has_several_gateways() {
    let mut env = Env::new();
    let gv0 = env.volume("gv0");
    put_record(&gv0, &record("ha", &[PORTAL, OTHER]));
    put_record(&gv0, &record("single", &[PORTAL]));
    let paths = Arc::new(SomePaths::default());
    let standby = PathStatus {
        access: PathAccess::Standby,
        takeovers: 0,
        fenced: 0,
    };
    for lun in ["ha", "single"] {
        paths.0.lock().unwrap().insert(lun.into(), standby);
    }
    env.gateway.set_paths(paths.clone());

    env.gateway.pass();
    let written = env.report_on("gv0").unwrap();
    assert_eq!(written.exports["ha"].path, Some(standby));
    assert_eq!(
        written.exports["single"].path, None,
        "one gateway: no ALUA, no path"
    );

    // The LUN takes over: the next pass writes the new state at once, not at the heartbeat.
    let active = PathStatus {
        access: PathAccess::ActiveOptimized,
        takeovers: 1,
        fenced: 0,
    };
    paths.0.lock().unwrap().insert("ha".into(), active);
    env.gateway.pass();
    assert_eq!(
        env.report_on("gv0").unwrap().exports["ha"].path,
        Some(active)
    );
}
