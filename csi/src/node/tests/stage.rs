//! NodeStageVolume and NodeUnstageVolume.

use super::*;
use crate::node::stage::{stage, unstage};
use tonic::Code;

fn location() -> ExportLocation {
    ExportLocation::parse("gv0@127.0.0.2/pvc-1").unwrap()
}

#[test]
fn stage_logs_in_with_chap_formats_an_empty_disk_and_mounts_it() {
    let host = machine(&[P1]);
    stage(&host, &cfg(), &stage_request(&[P1])).unwrap();
    let mut want = login_commands(P1);
    want.extend([
        "blkid -p -o export /dev/sdb".to_owned(),
        "mkfs.ext4 -q -E nodiscard /dev/sdb".to_owned(),
        format!("mount -t ext4 /dev/sdb {STAGING}"),
    ]);
    assert_eq!(host.take_log(), want);
    let s = host.state();
    let record = &s.records[&(IQN.to_owned(), P1.to_owned())];
    assert_eq!(record["node.session.auth.password"], "initiatorSecret1");
    assert_eq!(s.mounts.len(), 1);
}

#[test]
fn a_repeated_stage_does_nothing_and_unstage_undoes_everything_twice() {
    let host = machine(&[P1]);
    stage(&host, &cfg(), &stage_request(&[P1])).unwrap();
    host.take_log();
    stage(&host, &cfg(), &stage_request(&[P1])).unwrap();
    assert_eq!(host.take_log(), Vec::<String>::new());

    unstage(&host, &location(), STAGING.as_ref()).unwrap();
    let mut want = vec![format!("umount {STAGING}")];
    want.extend(teardown_commands());
    assert_eq!(host.take_log(), want);
    assert!(host.clean_of(IQN));
    unstage(&host, &location(), STAGING.as_ref()).unwrap();
    assert_eq!(host.take_log(), teardown_commands());
}

#[test]
fn a_disk_with_a_filesystem_is_mounted_as_it_is() {
    let host = machine(&[P1]);
    host.state()
        .filesystems
        .insert("/dev/sdb".into(), "ext4".into());
    stage(&host, &cfg(), &stage_request(&[P1])).unwrap();
    let log = host.take_log();
    assert!(!log.iter().any(|c| c.starts_with("mkfs")), "{log:?}");
    assert_eq!(
        log.last().unwrap(),
        &format!("mount -t ext4 /dev/sdb {STAGING}")
    );
}

#[test]
fn another_filesystem_or_a_partition_table_is_never_formatted_over() {
    for (found, want) in [
        ("xfs", "holds a xfs filesystem"),
        ("PTTYPE=dos", "partition table"),
    ] {
        let host = machine(&[P1]);
        host.state()
            .filesystems
            .insert("/dev/sdb".into(), found.into());
        let err = stage(&host, &cfg(), &stage_request(&[P1])).unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert!(err.message().contains(want), "{}", err.message());
        let log = host.take_log();
        assert!(!log.iter().any(|c| c.starts_with("mkfs")), "{log:?}");
        assert!(host.clean_of(IQN), "{log:?}");
    }
}

#[test]
fn a_stage_failing_at_any_step_leaves_no_session_record_or_mount() {
    let login = format!("iscsiadm -m node -T {IQN} -p {P1} -I default --login");
    let steps = [
        (
            format!("iscsiadm -m node -T {IQN} -p {P1} -I default -o new"),
            6,
        ),
        (update(P1, "node.session.auth.password", "***"), 6),
        (login, 8),
        ("blkid".to_owned(), 4),
        ("mkfs.ext4".to_owned(), 1),
        ("mount -t ext4".to_owned(), 32),
    ];
    for (step, code) in steps {
        let host = machine(&[P1]);
        host.fail(&step, code);
        let err = stage(&host, &cfg(), &stage_request(&[P1])).unwrap_err();
        assert_ne!(err.code(), Code::Ok, "{step}");
        let log = host.take_log();
        assert!(host.clean_of(IQN), "after {step}: {log:?}");
        assert_eq!(host.state().mounts.len(), 0, "after {step}");
        if step == "blkid" {
            assert!(!log.iter().any(|c| c.starts_with("mkfs")), "{log:?}");
        }
        // The undo ends with the records gone.
        assert_eq!(
            log.last().unwrap(),
            &format!("iscsiadm -m node -T {IQN} -o delete")
        );
    }
}

#[test]
fn refused_chap_is_permission_denied_and_undone() {
    let host = machine(&[P1]);
    let mut req = stage_request(&[P1]);
    if let Some(c) = req.chap.as_mut() {
        c.initiator.secret = "wrongSecret123".into();
    }
    let err = stage(&host, &cfg(), &req).unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(!err.message().contains("wrongSecret123"));
    let log = host.take_log();
    assert!(log.iter().all(|c| !c.contains("wrongSecret123")), "{log:?}");
    assert!(host.clean_of(IQN));
}

#[test]
fn chap_without_the_node_stage_secret_is_refused_before_anything_runs() {
    let host = machine(&[P1]);
    let mut req = stage_request(&[P1]);
    req.chap = None;
    let err = stage(&host, &cfg(), &req).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(host.take_log().is_empty());
}

#[test]
fn a_disk_that_never_appears_times_out_and_is_undone() {
    let host = machine(&[P1]);
    let mut req = stage_request(&[P1]);
    req.context.wwid = "naa.60014050000000000000000000000000".into();
    let err = stage(&host, &cfg(), &req).unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert!(
        err.message().contains("naa.6001405000"),
        "{}",
        err.message()
    );
    assert!(host.clean_of(IQN));
}

#[test]
fn another_volume_at_the_staging_path_is_refused_and_left_alone() {
    let host = machine(&[P1]);
    host.state().mounts.push((
        "8:99".into(),
        STAGING.into(),
        "ext4".into(),
        "/dev/sdz".into(),
        "rw".into(),
    ));
    let err = stage(&host, &cfg(), &stage_request(&[P1])).unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert!(host.take_log().is_empty());
    assert_eq!(host.state().mounts.len(), 1);
}

#[test]
fn a_block_volume_is_attached_only() {
    let host = machine(&[P1]);
    let mut req = stage_request(&[P1]);
    req.wanted.access = Access::Block;
    stage(&host, &cfg(), &req).unwrap();
    assert_eq!(host.take_log(), login_commands(P1));
    stage(&host, &cfg(), &req).unwrap();
    assert!(host.take_log().is_empty());
    unstage(&host, &location(), STAGING.as_ref()).unwrap();
    assert_eq!(host.take_log(), teardown_commands());
}

#[test]
fn xfs_from_the_capability_wins_over_the_storage_class() {
    let host = machine(&[P1]);
    let mut req = stage_request(&[P1]);
    req.wanted = mount_access(Some(FsType::Xfs));
    req.wanted.read_only = false;
    stage(&host, &cfg(), &req).unwrap();
    let log = host.take_log();
    assert!(
        log.contains(&"mkfs.xfs -q -K /dev/sdb".to_owned()),
        "{log:?}"
    );
    assert_eq!(
        log.last().unwrap(),
        &format!("mount -t xfs /dev/sdb {STAGING}")
    );
}

#[test]
fn several_portals_make_a_multipath_map_and_unstage_flushes_it() {
    let host = machine(&[P1, P2]);
    host.state().multipathd = true;
    stage(&host, &cfg(), &stage_request(&[P1, P2])).unwrap();
    let mut want = login_commands(P1);
    want.extend(login_commands(P2));
    want.extend([
        "multipath -a /dev/sdb".to_owned(),
        "multipathd add path /dev/sdb".to_owned(),
        "multipathd add path /dev/sdc".to_owned(),
        "blkid -p -o export /dev/dm-0".to_owned(),
        "mkfs.ext4 -q -E nodiscard /dev/dm-0".to_owned(),
        format!("mount -t ext4 /dev/dm-0 {STAGING}"),
    ]);
    assert_eq!(host.take_log(), want);
    stage(&host, &cfg(), &stage_request(&[P1, P2])).unwrap();
    assert!(host.take_log().is_empty());

    unstage(&host, &location(), STAGING.as_ref()).unwrap();
    let log = host.take_log();
    assert_eq!(
        log,
        [
            format!("umount {STAGING}"),
            "iscsiadm -m session".into(),
            "multipath -f 3600140500".into(),
            format!("iscsiadm -m node -T {IQN} --logout"),
            format!("iscsiadm -m node -T {IQN} -o delete"),
        ]
    );
    assert!(host.clean_of(IQN));
}

#[test]
fn a_gateway_down_is_one_path_less() {
    let host = machine(&[P2]);
    host.state().multipathd = true;
    stage(&host, &cfg(), &stage_request(&[P1, P2])).unwrap();
    let s = host.state();
    assert_eq!(s.sessions.len(), 1);
    assert_eq!(s.mounts[0].3, "/dev/dm-0");
}

#[test]
fn several_portals_without_multipathd_fail_and_are_undone() {
    let host = machine(&[P1, P2]);
    let err = stage(&host, &cfg(), &stage_request(&[P1, P2])).unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("multipathd"), "{}", err.message());
    assert!(host.clean_of(IQN));
}

#[test]
fn no_portal_answering_is_unavailable() {
    let host = machine(&[]);
    let err = stage(&host, &cfg(), &stage_request(&[P1])).unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert!(host.clean_of(IQN));
}
