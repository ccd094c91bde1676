//! Creation, idempotence and convergence.

use super::*;

const TPG: &str = "iscsi/iqn.2024-01.org.example.gw:vol/tpgt_1";

fn tpg(rel: &str) -> String {
    format!("{TPG}/{rel}")
}

#[test]
fn objects_are_created_in_the_kernels_order() {
    let mut env = Env::new();
    let report = env.lio.apply(&export("vol")).unwrap();
    let alias = layout::link_alias("vol");
    let expected = [
        "mkdir core/user_0".to_owned(),
        "mkdir core/user_0/vol".to_owned(),
        "write core/user_0/vol/control".to_owned(),
        "write core/user_0/vol/wwn/vpd_unit_serial".to_owned(),
        "write core/user_0/vol/attrib/cmd_time_out".to_owned(),
        "write core/user_0/vol/enable".to_owned(),
        "mkdir iscsi/iqn.2024-01.org.example.gw:vol".to_owned(),
        format!("mkdir {TPG}"),
        format!("mkdir {}", tpg("np/10.0.0.1:3260")),
        format!("mkdir {}", tpg("lun/lun_0")),
        format!("symlink {}", tpg(&format!("lun/lun_0/{alias}"))),
        format!("mkdir {}", tpg(&format!("acls/{C1}"))),
        format!("mkdir {}", tpg(&format!("acls/{C1}/lun_0"))),
        format!("symlink {}", tpg(&format!("acls/{C1}/lun_0/{alias}"))),
        format!("write {}", tpg("attrib/authentication")),
        format!("write {}", tpg("enable")),
    ];
    assert_eq!(env.fake().ops(), expected);
    let reported: Vec<String> = report.changes.iter().map(|c| c.to_string()).collect();
    assert_eq!(reported, expected);
    assert!(report.drift.is_empty());
}

#[test]
fn the_kernel_sees_the_export() {
    let mut env = Env::new();
    env.apply(&export("vol"));
    let info = env.read("core/user_0/vol/info");
    assert!(info.contains("Status: ACTIVATED"), "{info}");
    assert!(info.contains("HwMaxSectors: 1024"), "{info}");
    assert!(
        info.contains("Config: glfs/gt1@127.0.0.1/images/vol.img Size: 1073741824"),
        "{info}"
    );
    assert_eq!(
        env.read("core/user_0/vol/wwn/vpd_unit_serial"),
        "T10 VPD Unit Serial Number: serial-vol"
    );
    assert_eq!(env.read(&tpg("enable")), "1");
    assert_eq!(env.read(&tpg("attrib/authentication")), "0");
    assert_eq!(env.read(&tpg("attrib/generate_node_acls")), "0");
    let journal = env.lio.journal().get("vol").unwrap().clone();
    assert_eq!(
        (journal.hba, journal.target.as_deref()),
        (Some(0), Some(TARGET))
    );
}

#[test]
fn a_second_apply_changes_nothing() {
    let mut env = Env::new();
    let mut want = export("vol");
    want.access = initiators(&[C1, C2]);
    want.chap = one_way("initiator-secret");
    want.portals.push("[fd00::1]:3260".parse().unwrap());
    env.apply(&want);
    let tree = env.fake().tree();
    let again = env.lio.apply(&want).unwrap();
    assert!(again.is_noop(), "{:#?}", again.changes);
    assert!(env.fake().ops().is_empty());
    assert_eq!(env.fake().tree(), tree);
    env.restart();
    assert!(env.lio.apply(&want).unwrap().is_noop());
}

#[test]
fn acl_list_changes_touch_only_those_acls() {
    let mut env = Env::new();
    let mut want = export("vol");
    want.access = initiators(&[C1, C2]);
    env.apply(&want);
    want.access = initiators(&[C2, C3]);
    env.lio.apply(&want).unwrap();
    let alias = layout::link_alias("vol");
    let expected = [
        format!("mkdir {}", tpg(&format!("acls/{C3}"))),
        format!("mkdir {}", tpg(&format!("acls/{C3}/lun_0"))),
        format!("symlink {}", tpg(&format!("acls/{C3}/lun_0/{alias}"))),
        format!("unlink {}", tpg(&format!("acls/{C1}/lun_0/{alias}"))),
        format!("rmdir {}", tpg(&format!("acls/{C1}/lun_0"))),
        format!("rmdir {}", tpg(&format!("acls/{C1}"))),
    ];
    assert_eq!(env.fake().ops(), expected);
}

#[test]
fn opening_and_closing_access() {
    let mut env = Env::new();
    let mut want = export("vol");
    want.access = initiators(&[C1]);
    env.apply(&want);
    want.access = Access::Any;
    env.lio.apply(&want).unwrap();
    let ops = env.fake().ops();
    let removed_acl = at(&ops, &format!("rmdir {}", tpg(&format!("acls/{C1}"))));
    let opened = at(&ops, &format!("write {}", tpg("attrib/generate_node_acls")));
    assert!(removed_acl < opened, "{ops:#?}");
    assert_eq!(env.read(&tpg("attrib/generate_node_acls")), "1");
    assert_eq!(env.read(&tpg("attrib/cache_dynamic_acls")), "1");
    assert_eq!(env.read(&tpg("attrib/demo_mode_write_protect")), "0");
    assert!(
        env.fake()
            .read_dir(&env.path(&tpg("acls")))
            .unwrap()
            .is_empty()
    );
    env.fake().clear_ops();
    want.access = initiators(&[C2]);
    env.lio.apply(&want).unwrap();
    assert_eq!(env.read(&tpg("attrib/generate_node_acls")), "0");
    assert!(
        env.fake()
            .exists(&env.path(&tpg(&format!("acls/{C2}/lun_0"))))
    );
}

#[test]
fn growth_writes_dev_size_and_a_shrink_is_refused() {
    let mut env = Env::new();
    let mut want = export("vol");
    env.apply(&want);
    want.size = 2 << 30;
    let report = env.lio.apply(&want).unwrap();
    assert_eq!(
        env.fake().ops(),
        ["write core/user_0/vol/attrib/dev_size"],
        "{report:?}"
    );
    assert!(
        env.read("core/user_0/vol/info")
            .contains("Size: 2147483648")
    );
    env.fake().clear_ops();
    let tree = env.fake().tree();
    want.size = 1 << 30;
    let err = env.lio.apply(&want).unwrap_err();
    assert!(
        matches!(
            err,
            LioError::Shrink {
                current: 2147483648,
                wanted: 1073741824,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(env.fake().ops().is_empty());
    assert_eq!(env.fake().tree(), tree);
}

#[test]
fn portals_follow_the_list() {
    let mut env = Env::new();
    let mut want = export("vol");
    env.apply(&want);
    want.portals = vec!["[fd00::1]:3260".parse().unwrap()];
    env.lio.apply(&want).unwrap();
    assert_eq!(
        env.fake().ops(),
        [
            format!("mkdir {}", tpg("np/[fd00::1]:3260")),
            format!("rmdir {}", tpg("np/10.0.0.1:3260")),
        ]
    );
}

#[test]
fn a_new_lun_number_replaces_the_old_lun_and_its_mappings() {
    let mut env = Env::new();
    let mut want = export("vol");
    env.apply(&want);
    want.lun = 3;
    env.lio.apply(&want).unwrap();
    let ops = env.fake().ops();
    let alias = layout::link_alias("vol");
    let unmapped = at(&ops, &format!("rmdir {}", tpg(&format!("acls/{C1}/lun_0"))));
    let old_lun = at(&ops, &format!("rmdir {}", tpg("lun/lun_0")));
    let new_lun = at(
        &ops,
        &format!("symlink {}", tpg(&format!("lun/lun_3/{alias}"))),
    );
    let mapped = at(
        &ops,
        &format!("symlink {}", tpg(&format!("acls/{C1}/lun_3/{alias}"))),
    );
    assert!(new_lun < mapped && unmapped < old_lun, "{ops:#?}");
    env.fake().clear_ops();
    assert!(env.lio.apply(&want).unwrap().is_noop());
}

#[test]
fn a_new_target_name_moves_the_export() {
    let mut env = Env::new();
    let mut want = export("vol");
    env.apply(&want);
    want.target = TargetIqn::parse("iqn.2024-01.org.example.gw:moved").unwrap();
    // Unexported for a moment, the storage object may take a new serial.
    want.serial = UnitSerial::parse("moved-serial").unwrap();
    let report = env.lio.apply(&want).unwrap();
    assert!(report.drift.is_empty(), "{:?}", report.drift);
    let ops = env.fake().ops();
    let old_gone = at(&ops, &format!("rmdir iscsi/{TARGET}"));
    let serial = at(&ops, "write core/user_0/vol/wwn/vpd_unit_serial");
    assert!(old_gone < serial, "{ops:#?}");
    assert!(!env.fake().exists(&env.path(&format!("iscsi/{TARGET}"))));
    assert!(
        env.fake()
            .exists(&env.path("iscsi/iqn.2024-01.org.example.gw:moved/tpgt_1/lun/lun_0"))
    );
    let owned = env.lio.journal().get("vol").unwrap();
    assert_eq!(
        owned.target.as_deref(),
        Some("iqn.2024-01.org.example.gw:moved")
    );
}

#[test]
fn fixed_attributes_of_a_live_lun_are_reported_not_written() {
    let mut env = Env::new();
    let mut want = export("vol");
    env.apply(&want);
    want.serial = UnitSerial::parse("another-serial").unwrap();
    want.cmd_time_out = 60;
    want.hw_max_sectors = 256;
    want.dev_config = DevConfig::parse("glfs/gt3@127.0.0.1/images/vol.img").unwrap();
    let report = env.lio.apply(&want).unwrap();
    assert!(report.is_noop(), "{:#?}", report.changes);
    let drifted: Vec<_> = report.drift.iter().map(|d| d.attribute).collect();
    assert_eq!(
        drifted,
        [
            "dev_config",
            "attrib/hw_max_sectors",
            "wwn/vpd_unit_serial",
            "attrib/cmd_time_out"
        ]
    );
    assert_eq!(report.drift[2].current, "serial-vol");
    assert_eq!(report.drift[2].wanted, "another-serial");
}

#[test]
fn each_storage_object_gets_an_unused_hba_index() {
    let mut env = Env::new();
    env.admin_export("fileio_0", "f", None);
    env.admin_export("user_1", "u", None);
    env.apply(&export("vol"));
    assert!(env.fake().exists(&env.path("core/user_2/vol")));
    env.apply(&export("other"));
    assert!(env.fake().exists(&env.path("core/user_3/other")));
}
