//! Removal, objects the daemon does not own, crashes between journal and configfs.

use super::*;

const ADMIN_IQN: &str = "iqn.2003-01.org.linux-iscsi.admin:sn.1";

#[test]
fn remove_leaves_nothing_of_the_export_and_the_admins_objects_as_they_were() {
    let mut env = Env::new();
    env.admin_export("user_0", "adminvol", Some(ADMIN_IQN));
    let before = env.fake().tree();
    let mut want = export("vol");
    want.access = initiators(&[C1, C2]);
    want.chap = one_way("initiator-secret");
    env.apply(&want);
    let report = env.lio.remove("vol").unwrap();
    assert_eq!(env.fake().tree(), before);
    assert!(env.lio.journal().exports().is_empty());
    assert!(env.lio.observe().unwrap().is_empty());
    let ops = env.fake().ops();
    let reported: Vec<String> = report.changes.iter().map(|c| c.to_string()).collect();
    assert_eq!(reported, ops);
    assert!(ops.iter().all(|o| !o.contains("admin")), "{ops:#?}");
    // Reverse order: disable, ACLs, LUN, portal, TPG, target, storage object, HBA.
    let tpg = format!("iscsi/{TARGET}/tpgt_1");
    let steps = [
        format!("write {tpg}/enable"),
        format!("rmdir {tpg}/acls/{C1}"),
        format!("rmdir {tpg}/acls/{C2}"),
        format!("rmdir {tpg}/lun/lun_0"),
        format!("rmdir {tpg}/np/10.0.0.1:3260"),
        format!("rmdir {tpg}"),
        format!("rmdir iscsi/{TARGET}"),
        "rmdir core/user_1/vol".to_owned(),
        "rmdir core/user_1".to_owned(),
    ];
    let positions: Vec<usize> = steps.iter().map(|s| at(&ops, s)).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{ops:#?}");
}

#[test]
fn remove_is_idempotent() {
    let mut env = Env::new();
    env.apply(&export("vol"));
    env.lio.remove("vol").unwrap();
    env.fake().clear_ops();
    let again = env.lio.remove("vol").unwrap();
    assert!(again.changes.is_empty());
    assert!(env.lio.remove("never-existed").unwrap().changes.is_empty());
    assert!(env.fake().ops().is_empty());
}

#[test]
fn a_foreign_storage_object_of_that_name_is_a_conflict_with_no_change() {
    let mut env = Env::new();
    env.admin_export("user_7", "vol", None);
    let before = env.fake().tree();
    let err = env.lio.apply(&export("vol")).unwrap_err();
    let LioError::Foreign { path } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(path, &env.path("core/user_7/vol"));
    assert_eq!(env.fake().tree(), before);
    assert!(env.fake().ops().is_empty());
    assert!(!env.journal_path().exists());
    // Removing "our" export of that name leaves the admin's object alone.
    assert!(env.lio.remove("vol").unwrap().changes.is_empty());
    assert_eq!(env.fake().tree(), before);
}

#[test]
fn a_foreign_target_of_that_name_is_a_conflict_with_no_change() {
    let mut env = Env::new();
    env.admin_export("user_0", "adminvol", Some(TARGET));
    let before = env.fake().tree();
    let err = env.lio.apply(&export("vol")).unwrap_err();
    assert!(matches!(err, LioError::Foreign { .. }), "{err:?}");
    assert!(err.to_string().contains(TARGET), "{err}");
    assert_eq!(env.fake().tree(), before);
    assert!(env.fake().ops().is_empty());
}

#[test]
fn a_target_is_carried_by_one_export_only() {
    let mut env = Env::new();
    env.apply(&export("vol"));
    let before = env.fake().tree();
    let mut other = export("other");
    other.target = TargetIqn::parse(TARGET).unwrap();
    let err = env.lio.apply(&other).unwrap_err();
    assert!(
        matches!(&err, LioError::TargetOfOtherExport { owner, .. } if owner == "vol"),
        "{err:?}"
    );
    assert_eq!(env.fake().tree(), before);
}

#[test]
fn an_admins_lun_on_our_storage_object_blocks_its_removal() {
    let mut env = Env::new();
    env.apply(&export("vol"));
    let f = env.fake();
    let tpg = env.path(&format!("iscsi/{ADMIN_IQN}/tpgt_1"));
    f.mkdir(tpg.parent().unwrap()).unwrap();
    f.mkdir(&tpg).unwrap();
    f.mkdir(&tpg.join("lun/lun_0")).unwrap();
    f.symlink(&env.path("core/user_0/vol"), &tpg.join("lun/lun_0/x"))
        .unwrap();
    let err = env.lio.remove("vol").unwrap_err();
    assert!(matches!(err, LioError::InUse { .. }), "{err:?}");
    assert!(env.fake().exists(&tpg.join("lun/lun_0/x")));
    let owned = env.lio.journal().get("vol").unwrap();
    assert_eq!((owned.hba, owned.target.as_deref()), (Some(0), None));
}

#[test]
fn a_crash_between_journal_and_mkdir_is_finished_by_the_next_apply() {
    let mut env = Env::new();
    env.fake().fail_next(Op::Mkdir, "core/user_0", libc::EIO);
    assert!(env.lio.apply(&export("vol")).is_err());
    assert_eq!(env.lio.journal().get("vol").unwrap().hba, Some(0));
    env.restart();
    let observed = env.lio.observe().unwrap();
    assert!(!observed[0].backstore_present && observed[0].target.is_none());
    env.lio.apply(&export("vol")).unwrap();
    assert!(
        env.fake()
            .exists(&env.path(&format!("iscsi/{TARGET}/tpgt_1/enable")))
    );

    // The same between the target's journal entry and its mkdir.
    let mut env = Env::new();
    env.fake()
        .fail_next(Op::Mkdir, format!("iscsi/{TARGET}"), libc::EIO);
    assert!(env.lio.apply(&export("vol")).is_err());
    assert_eq!(
        env.lio.journal().get("vol").unwrap().target.as_deref(),
        Some(TARGET)
    );
    env.restart();
    env.lio.apply(&export("vol")).unwrap();
    assert_eq!(env.read(&format!("iscsi/{TARGET}/tpgt_1/enable")), "1");
}

#[test]
fn a_crash_between_hba_and_storage_object_reuses_the_hba() {
    let mut env = Env::new();
    env.fake()
        .fail_next(Op::Mkdir, "core/user_0/vol", libc::EIO);
    assert!(env.lio.apply(&export("vol")).is_err());
    env.restart();
    env.lio.apply(&export("vol")).unwrap();
    let hbas = env.fake().read_dir(&env.path("core")).unwrap();
    assert_eq!(hbas.len(), 1, "{hbas:?}");
    assert!(env.fake().exists(&env.path("core/user_0/vol")));
}

#[test]
fn a_failed_enable_is_retried_by_the_next_apply() {
    let mut env = Env::new();
    // The handler refused the ADDED event: the kernel fails the enable write.
    env.fake()
        .fail_next(Op::Write, "core/user_0/vol/enable", libc::EIO);
    assert!(env.lio.apply(&export("vol")).is_err());
    assert_eq!(env.read("core/user_0/vol/enable"), "0");
    env.fake().clear_ops();
    env.lio.apply(&export("vol")).unwrap();
    let ops = env.fake().ops();
    assert_eq!(
        ops[..4],
        [
            "write core/user_0/vol/control",
            "write core/user_0/vol/wwn/vpd_unit_serial",
            "write core/user_0/vol/attrib/cmd_time_out",
            "write core/user_0/vol/enable",
        ]
    );
    assert_eq!(env.read("core/user_0/vol/enable"), "1");
}

#[test]
fn a_crash_before_the_journal_forgets_is_finished_by_the_next_remove() {
    let mut env = Env::new();
    env.apply(&export("vol"));
    // The HBA's rmdir fails after the storage object's succeeded.
    env.fake().fail_next(Op::Rmdir, "core/user_0", libc::EIO);
    assert!(env.lio.remove("vol").is_err());
    env.restart();
    assert_eq!(env.lio.journal().get("vol").unwrap().hba, Some(0));
    env.lio.remove("vol").unwrap();
    assert!(env.lio.journal().exports().is_empty());
    assert!(env.fake().read_dir(&env.path("core")).unwrap().is_empty());

    // Everything removed but the journal never told: a stale journal.
    let mut env = Env::new();
    env.apply(&export("vol"));
    let stale = std::fs::read(env.journal_path()).unwrap();
    env.lio.remove("vol").unwrap();
    std::fs::write(env.journal_path(), stale).unwrap();
    env.restart();
    let observed = env.lio.observe().unwrap();
    assert_eq!(observed.len(), 1);
    assert!(!observed[0].backstore_present && !observed[0].target_present);
    assert!(env.lio.remove("vol").unwrap().changes.is_empty());
    assert!(env.lio.journal().exports().is_empty());
}

#[test]
fn observe_lists_what_the_journal_owns() {
    let mut env = Env::new();
    env.admin_export("user_0", "adminvol", Some(ADMIN_IQN));
    env.apply(&export("a"));
    env.apply(&export("b"));
    let observed = env.lio.observe().unwrap();
    let names: Vec<_> = observed.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert!(
        observed
            .iter()
            .all(|o| o.backstore_present && o.target_present)
    );
    assert_eq!(observed[1].hba, Some(2));
    assert_eq!(
        observed[1].target.as_deref(),
        Some("iqn.2024-01.org.example.gw:b")
    );
}
