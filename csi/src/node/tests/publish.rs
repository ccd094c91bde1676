//! NodePublishVolume, NodeUnpublishVolume, NodeExpandVolume and NodeGetVolumeStats.

use super::*;
use crate::node::expand::{Stats, expand, stats};
use crate::node::host::Kind;
use crate::node::publish::{Publish, publish, unpublish};
use crate::node::stage::stage;
use tonic::Code;

fn staged(block: bool) -> FakeHost {
    let host = machine(&[P1]);
    let mut req = stage_request(&[P1]);
    if block {
        req.wanted.access = Access::Block;
    }
    stage(&host, &cfg(), &req).unwrap();
    host.take_log();
    host
}

fn publish_request(read_only: bool, block: bool) -> Publish {
    let s = stage_request(&[P1]);
    let mut wanted = s.wanted.clone();
    if block {
        wanted.access = Access::Block;
    }
    Publish {
        location: s.location,
        staging: s.staging,
        target: TARGET.into(),
        context: s.context,
        wanted,
        read_only,
    }
}

#[test]
fn publish_binds_the_staging_mount_and_honours_read_only() {
    let host = staged(false);
    publish(&host, &publish_request(true, false)).unwrap();
    assert_eq!(
        host.take_log(),
        [
            format!("mount --bind {STAGING} {TARGET}"),
            format!("mount -o remount,bind,ro {TARGET}"),
        ]
    );
    assert_eq!(host.state().made[&PathBuf::from(TARGET)], Kind::Dir);
    publish(&host, &publish_request(true, false)).unwrap();
    assert!(host.take_log().is_empty());
    let err = publish(&host, &publish_request(false, false)).unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);

    unpublish(&host, TARGET.as_ref()).unwrap();
    assert_eq!(host.take_log(), [format!("umount {TARGET}")]);
    assert!(!host.state().made.contains_key(&PathBuf::from(TARGET)));
    unpublish(&host, TARGET.as_ref()).unwrap();
    assert!(host.take_log().is_empty());
}

#[test]
fn a_failed_read_only_remount_leaves_no_writable_bind() {
    let host = staged(false);
    host.fail("mount -o remount", 32);
    assert!(publish(&host, &publish_request(true, false)).is_err());
    assert_eq!(host.take_log().last().unwrap(), &format!("umount {TARGET}"));
    assert_eq!(host.state().mounts.len(), 1, "only the staging mount");
}

#[test]
fn a_block_volume_binds_the_device_onto_a_file() {
    let host = staged(true);
    publish(&host, &publish_request(false, true)).unwrap();
    assert_eq!(host.take_log(), [format!("mount --bind /dev/sdb {TARGET}")]);
    assert_eq!(host.state().made[&PathBuf::from(TARGET)], Kind::Other);
    unpublish(&host, TARGET.as_ref()).unwrap();
    assert!(!host.state().made.contains_key(&PathBuf::from(TARGET)));
}

#[test]
fn publish_of_a_volume_not_staged_is_a_failed_precondition() {
    let host = machine(&[P1]);
    for block in [false, true] {
        let err = publish(&host, &publish_request(false, block)).unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
    }
    assert!(host.take_log().is_empty());
}

#[test]
fn expand_rescans_and_grows_the_filesystem() {
    let host = staged(false);
    host.state().targets.get_mut(IQN).unwrap().size = 128 * MIB;
    let location = stage_request(&[P1]).location;
    let size = expand(&host, &cfg(), &location, STAGING.as_ref(), 128 * MIB, false).unwrap();
    assert_eq!(size, 128 * MIB);
    assert_eq!(
        host.take_log(),
        [
            "iscsiadm -m session".to_owned(),
            "iscsiadm -m session -r 1 --rescan".to_owned(),
            "resize2fs /dev/sdb".to_owned(),
        ]
    );
}

#[test]
fn expand_before_the_gateways_serve_the_size_is_unavailable() {
    let host = staged(false);
    let location = stage_request(&[P1]).location;
    let err = expand(&host, &cfg(), &location, STAGING.as_ref(), 128 * MIB, false).unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert!(!host.take_log().iter().any(|c| c.starts_with("resize2fs")));
}

#[test]
fn expand_of_a_block_volume_only_rescans() {
    let host = staged(true);
    let location = stage_request(&[P1]).location;
    let size = expand(&host, &cfg(), &location, TARGET.as_ref(), 0, true).unwrap();
    assert_eq!(size, 64 * MIB);
    assert!(!host.take_log().iter().any(|c| c.starts_with("resize2fs")));
}

#[test]
fn stats_of_a_filesystem_a_block_volume_and_nothing() {
    let host = staged(false);
    let location = stage_request(&[P1]).location;
    host.state().made.insert(STAGING.into(), Kind::Dir);
    let Stats::Filesystem(fs) = stats(&host, &location, STAGING.as_ref()).unwrap() else {
        panic!("a filesystem");
    };
    assert_eq!((fs.total_bytes, fs.available_bytes), (1000, 500));
    host.state().made.insert(TARGET.into(), Kind::Other);
    assert_eq!(
        stats(&host, &location, TARGET.as_ref()).unwrap(),
        Stats::Block(64 * MIB)
    );
    let err = stats(&host, &location, "/nowhere".as_ref()).unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}
