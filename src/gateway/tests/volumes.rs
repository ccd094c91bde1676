//! What the gateway leaves alone: an administrator's LIO objects, and the exports of a
//! volume it cannot read.

use super::*;
use crate::lio::ConfigFs;

const ADMIN_IQN: &str = "iqn.2003-01.org.linux-iscsi.admin:sn.1";

/// What an administrator makes with targetcli: a storage object in its own HBA, and a
/// target exporting it.
fn admin_export(env: &Env) {
    let f = env.fake();
    let root = &env.settings.configfs;
    let dev = root.join("core/user_5/adminvol");
    f.mkdir(&root.join("core/user_5")).unwrap();
    f.mkdir(&dev).unwrap();
    f.write(&dev.join("control"), "dev_config=file/x,dev_size=4096")
        .unwrap();
    f.write(&dev.join("enable"), "1").unwrap();
    let tpg = root.join(format!("iscsi/{ADMIN_IQN}/tpgt_1"));
    f.mkdir(tpg.parent().unwrap()).unwrap();
    f.mkdir(&tpg).unwrap();
    f.mkdir(&tpg.join("lun/lun_0")).unwrap();
    f.symlink(&dev, &tpg.join("lun/lun_0/admin")).unwrap();
    f.clear_ops();
}

fn admin_part(tree: &[String]) -> Vec<String> {
    tree.iter()
        .filter(|e| e.contains("user_5") || e.contains(ADMIN_IQN))
        .cloned()
        .collect()
}

#[test]
fn an_administrators_objects_stay_as_they_are_across_passes() {
    let mut env = Env::new();
    admin_export(&env);
    let before = admin_part(&env.fake().tree());
    assert!(before.len() > 5, "{before:#?}");
    let gv0 = env.volume("gv0");
    put_record(&gv0, &record("disk1", &[PORTAL]));
    env.gateway.pass();
    gv0.remove(&layout::record(&ExportName::parse("disk1").unwrap()))
        .unwrap();
    env.gateway.pass();
    env.restart();
    env.gateway.pass();
    assert_eq!(admin_part(&env.fake().tree()), before);
    assert!(!env.has_backstore("disk1"));
}

#[test]
fn an_export_named_like_an_administrators_object_is_an_error_and_touches_nothing() {
    let mut env = Env::new();
    admin_export(&env);
    let before = env.fake().tree();
    put_record(&env.volume("gv0"), &record("adminvol", &[PORTAL]));
    let merged = env.gateway.pass();
    let (s, reason) = state(&merged, "adminvol");
    assert_eq!(s, StatusState::Error);
    assert!(
        reason.unwrap().contains("was not created by this daemon"),
        "{merged:?}"
    );
    assert_eq!(env.fake().tree(), before);
}

#[test]
fn a_volume_that_cannot_be_read_keeps_its_exports() {
    let mut env = Env::new();
    let (gv0, gv1) = (env.volume("gv0"), env.volume("gv1"));
    put_record(&gv0, &record("on-gv0", &[PORTAL]));
    let mut other = record("on-gv1", &[PORTAL]);
    other.volume = "gv1".into();
    other.servers = vec!["gl3".into()];
    put_record(&gv1, &other);
    env.gateway.pass();
    let tree = env.fake().tree();

    env.opener.set_down("gv0", true);
    let merged = env.gateway.pass();
    assert_eq!(env.fake().tree(), tree, "nothing removed");
    let problem = merged.problem.unwrap();
    assert!(
        problem.contains("volume gv0@gl1+gl2: cannot reach the volume"),
        "{problem}"
    );

    // The other volume is still served: its deleted export goes.
    gv1.remove(&layout::record(&ExportName::parse("on-gv1").unwrap()))
        .unwrap();
    let merged = env.gateway.pass();
    assert!(env.has_backstore("on-gv0"));
    assert!(!env.has_backstore("on-gv1"));
    assert!(!merged.exports.contains_key("on-gv1"));

    // Back: gv0's records are read again; it was kept, so nothing changes.
    env.opener.set_down("gv0", false);
    env.fake().clear_ops();
    let merged = env.gateway.pass();
    assert_eq!(merged.problem, None);
    assert_eq!(state(&merged, "on-gv0"), (StatusState::Ready, None));
    assert!(env.fake().ops().is_empty(), "{:#?}", env.fake().ops());
}

#[test]
fn an_unreadable_volume_reports_the_last_known_statuses_and_a_restart_keeps_its_luns() {
    let mut env = Env::new();
    put_record(&env.volume("gv0"), &record("disk1", &[PORTAL]));
    let first = env.gateway.pass();
    env.opener.set_down("gv0", true);
    let merged = env.gateway.pass();
    assert_eq!(merged.exports, first.exports, "last known");
    assert!(merged.problem.is_some());

    env.restart();
    let merged = env.gateway.pass();
    assert!(
        merged.exports.is_empty(),
        "a restarted gateway knows nothing yet"
    );
    assert!(env.has_backstore("disk1"), "and removes nothing");
    env.opener.set_down("gv0", false);
    let merged = env.gateway.pass();
    assert_eq!(merged.exports, first.exports);
}

#[test]
fn sessions_are_reported() {
    let mut env = Env::new();
    put_record(&env.volume("gv0"), &record("disk1", &[PORTAL]));
    env.gateway.pass();
    env.fake()
        .login(
            "iqn.2016-12.org.gluster-tcmu:disk1",
            "iqn.1994-05.com.redhat:c1",
        )
        .unwrap();
    let merged = env.gateway.pass();
    assert_eq!(
        merged.exports["disk1"].sessions,
        ["iqn.1994-05.com.redhat:c1"]
    );
    let written = env.report_on("gv0").unwrap();
    assert_eq!(
        written.exports["disk1"].sessions,
        ["iqn.1994-05.com.redhat:c1"]
    );
}

#[test]
fn without_lios_iscsi_fabric_every_export_says_so() {
    let mut env = Env::new();
    std::fs::remove_dir_all(env.settings.configfs.join("iscsi")).unwrap();
    put_record(&env.volume("gv0"), &record("disk1", &[PORTAL]));
    let merged = env.gateway.pass();
    let (s, reason) = state(&merged, "disk1");
    assert_eq!(s, StatusState::Error);
    let reason = reason.unwrap();
    assert!(
        reason.starts_with("LIO's iSCSI target is not available (mkdir "),
        "{reason}"
    );
    assert!(!env.has_backstore("disk1"), "nothing half made");
}
