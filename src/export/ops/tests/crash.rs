//! Every step of create, resize and delete, cut short as a `kill -9` would, then the same
//! command again: it ends in the state asked for, with nothing orphaned.

use super::*;
use crate::export::record::State;

/// No image without a record, no ready record without its image, no temporary files.
fn assert_consistent(fx: &Fixture) {
    let store = fx.store();
    let records = store.list("/gluster-tcmu/exports").unwrap();
    for image in store.list("/gluster-tcmu/images").unwrap() {
        let name = image.trim_end_matches(".img");
        assert!(
            records.contains(&format!("{name}.json")),
            "image {image} has no record"
        );
    }
    for file in &records {
        let name = file.trim_end_matches(".json");
        let record = record_on(fx, name).unwrap();
        if record.state == State::Ready {
            assert!(
                image_on(fx, name).unwrap_or(0) >= record.size,
                "{name}: image"
            );
        }
    }
    assert!(store.list("/gluster-tcmu/tmp").unwrap().is_empty());
}

fn steps(prefix: &str) -> Vec<Step> {
    Step::ALL
        .into_iter()
        .filter(|s| format!("{s:?}").starts_with(prefix))
        .collect()
}

#[test]
fn a_create_stopped_after_any_step_is_finished_by_the_same_create() {
    for step in steps("Create") {
        for prealloc in [false, true] {
            let fx = Fixture::new();
            let mut req = request("disk1");
            req.prealloc = prealloc;
            req.chap = ChapMode::OneWay;
            let stopped = fx.ops(&Quiet).stop_after(Some(step)).create(&req);
            assert!(
                matches!(stopped, Err(OpsError::Stopped(s)) if s == step),
                "{step:?}"
            );
            assert_consistent(&fx);
            let interrupted = record_on(&fx, "disk1").unwrap();
            let out = fx.ops(&Quiet).create(&req).unwrap();
            assert_eq!(out.record.state, State::Ready, "{step:?}");
            // The record the first run published wins: same serial, same secrets.
            assert_eq!(out.record.serial, interrupted.serial, "{step:?}");
            assert_eq!(out.record.chap, interrupted.chap, "{step:?}");
            assert_eq!(image_on(&fx, "disk1"), Some(4 * MIB), "{step:?}");
            assert_consistent(&fx);
        }
    }
}

#[test]
fn a_resize_stopped_after_any_step_is_finished_by_the_same_resize() {
    for step in steps("Resize") {
        let fx = Fixture::new();
        fx.ops(&Quiet).create(&request("disk1")).unwrap();
        let stopped = fx
            .ops(&Quiet)
            .stop_after(Some(step))
            .resize(&at("disk1"), 8 * MIB);
        assert!(
            matches!(stopped, Err(OpsError::Stopped(s)) if s == step),
            "{step:?}"
        );
        assert_consistent(&fx);
        // A resize to the old size would now be refused as the unfinished one it is.
        if step == Step::ResizeImageGrown {
            let err = fx.ops(&Quiet).resize(&at("disk1"), 4 * MIB).unwrap_err();
            assert!(
                matches!(err, OpsError::UnfinishedResize { image, .. } if image == 8 * MIB),
                "{err}"
            );
        }
        let out = fx.ops(&Quiet).resize(&at("disk1"), 8 * MIB).unwrap();
        assert_eq!(out.record.size, 8 * MIB, "{step:?}");
        assert_eq!(record_on(&fx, "disk1").unwrap().size, 8 * MIB, "{step:?}");
        assert_eq!(image_on(&fx, "disk1"), Some(8 * MIB), "{step:?}");
        assert_consistent(&fx);
    }
}

#[test]
fn a_delete_stopped_after_any_step_is_finished_by_the_same_delete() {
    for step in steps("Delete") {
        let fx = Fixture::new();
        fx.ops(&Quiet).create(&request("disk1")).unwrap();
        fx.ops(&Quiet).create(&request("keep")).unwrap();
        let stopped = fx
            .ops(&Quiet)
            .stop_after(Some(step))
            .delete(&at("disk1"), false);
        assert!(
            matches!(stopped, Err(OpsError::Stopped(s)) if s == step),
            "{step:?}"
        );
        assert_consistent(&fx);
        let again = fx.ops(&Quiet).delete(&at("disk1"), false);
        if step == Step::DeleteRecordRemoved {
            // The first run had finished: the export is gone, as asked.
            assert!(matches!(again, Err(OpsError::NotFound { .. })), "{again:?}");
        } else {
            again.unwrap();
        }
        assert_eq!(record_on(&fx, "disk1"), None, "{step:?}");
        assert_eq!(image_on(&fx, "disk1"), None, "{step:?}");
        assert!(record_on(&fx, "keep").is_some());
        assert_consistent(&fx);
    }
}

/// A create cut short can also be undone: the delete of a `creating` export removes it.
#[test]
fn a_half_made_export_can_be_deleted() {
    let fx = Fixture::new();
    let stopped = fx
        .ops(&Quiet)
        .stop_after(Some(Step::CreateImageMade))
        .create(&request("disk1"));
    assert!(stopped.is_err());
    fx.ops(&Quiet).delete(&at("disk1"), false).unwrap();
    assert_eq!(record_on(&fx, "disk1"), None);
    assert_eq!(image_on(&fx, "disk1"), None);
}

#[test]
fn step_names_round_trip() {
    for step in Step::ALL {
        assert_eq!(Step::named(&format!("{step:?}")), Some(step));
    }
    assert_eq!(Step::named("Nothing"), None);
}
