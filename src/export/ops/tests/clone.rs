//! `export create --clone-from`: the copy, its refusals, its repeats and its crash points.

use super::*;
use crate::export::record::State;
use std::os::unix::fs::FileExt;

/// The local path of `name`'s image.
fn image_path(fx: &Fixture, name: &str) -> PathBuf {
    fx.root().join(format!("gluster-tcmu/images/{name}.img"))
}

/// A ready 12 MiB export `name` holding a pattern in its first and third 4 MiB, its
/// second all zeroes (a hole).
fn source(fx: &Fixture, name: &str) -> Vec<u8> {
    let req = CreateRequest {
        size: 12 * MIB,
        ..request(name)
    };
    fx.ops(&Quiet).create(&req).unwrap();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(image_path(fx, name))
        .unwrap();
    let pattern: Vec<u8> = (0..MIB).map(|i| (i % 251) as u8 + 1).collect();
    file.write_all_at(&pattern, 0).unwrap();
    file.write_all_at(&pattern[..4096], 8 * MIB + 512).unwrap();
    std::fs::read(image_path(fx, name)).unwrap()
}

fn clone_request(name: &str, from: &str, size: u64) -> CreateRequest {
    CreateRequest {
        size,
        clone_from: Some(ExportName::parse(from).unwrap()),
        ..request(name)
    }
}

#[test]
fn a_clone_holds_the_sources_bytes_with_its_holes_and_a_zero_tail() {
    let fx = Fixture::new();
    let bytes = source(&fx, "src");
    let out = fx
        .ops(&Quiet)
        .create(&clone_request("copy", "src", 16 * MIB))
        .unwrap();
    assert_eq!(out.record.state, State::Ready);
    assert_eq!(out.record.clone_of.as_deref(), Some("src"));
    assert_ne!(out.record.serial, record_on(&fx, "src").unwrap().serial);
    let copy = std::fs::read(image_path(&fx, "copy")).unwrap();
    assert_eq!(copy.len() as u64, 16 * MIB);
    assert!(copy[..bytes.len()] == bytes[..], "the copy differs");
    assert!(copy[bytes.len()..].iter().all(|b| *b == 0), "the tail");
    use std::os::unix::fs::MetadataExt;
    let allocated = std::fs::metadata(image_path(&fx, "copy")).unwrap().blocks() * 512;
    assert!(
        allocated <= 8 * MIB + 64 * 1024,
        "{allocated} bytes allocated"
    );
}

#[test]
fn a_clone_that_cannot_be_made_is_refused_and_leaves_nothing() {
    let fx = Fixture::new();
    source(&fx, "src");
    let stopped = fx
        .ops(&Quiet)
        .stop_after(Some(Step::CreateRecordPublished))
        .create(&request("half"));
    assert!(stopped.is_err());
    fx.report(
        GW1,
        0,
        &[("src", serving(2, &["iqn.1994-05.com.redhat:node1"]))],
    );
    let before = fx.snapshot();
    let cases = [
        (
            clone_request("c", "nosuch", 12 * MIB),
            "no export nosuch on",
        ),
        (
            clone_request("c", "src", 8 * MIB),
            "export src is 12582912 bytes: a clone of it needs at least that much",
        ),
        (
            clone_request("c", "src", 12 * MIB),
            "export src has initiators logged in (iqn.1994-05.com.redhat:node1 on",
        ),
        (
            clone_request("c", "half", 12 * MIB),
            "export half is creating, not ready",
        ),
        (
            clone_request("c", "c", 12 * MIB),
            "--clone-from c: an export cannot be a clone of itself",
        ),
    ];
    for (req, expected) in cases {
        let err = fx.ops(&Quiet).create(&req).unwrap_err().to_string();
        assert!(err.contains(expected), "{err}");
        assert_eq!(fx.snapshot(), before, "{expected}");
    }
}

#[test]
fn a_repeated_clone_is_the_same_export_and_another_source_is_refused() {
    let fx = Fixture::new();
    source(&fx, "src");
    source(&fx, "other");
    let req = clone_request("copy", "src", 12 * MIB);
    let first = fx.ops(&Quiet).create(&req).unwrap();
    // Repeated while the source is in use: the export exists, nothing is copied.
    fx.report(
        GW1,
        0,
        &[("src", serving(2, &["iqn.1994-05.com.redhat:node1"]))],
    );
    let again = fx.ops(&Quiet).create(&req).unwrap();
    assert_eq!(again.record, first.record);
    for (other, said) in [
        (
            clone_request("copy", "other", 12 * MIB),
            "clone_of src (asked other)",
        ),
        (
            CreateRequest {
                size: 12 * MIB,
                ..request("copy")
            },
            "clone_of src (asked none)",
        ),
    ] {
        let err = fx.ops(&Quiet).create(&other).unwrap_err();
        assert!(matches!(err, OpsError::Exists { .. }), "{err}");
        assert!(err.to_string().contains(said), "{err}");
    }
    let plain = fx
        .ops(&Quiet)
        .create(&CreateRequest {
            size: 12 * MIB,
            ..request("plain")
        })
        .unwrap();
    let err = fx
        .ops(&Quiet)
        .create(&clone_request("plain", "src", 12 * MIB))
        .unwrap_err();
    assert!(
        err.to_string().contains("clone_of none (asked src)"),
        "{err}"
    );
    assert_eq!(plain.record.clone_of, None);
}

#[test]
fn a_clone_cut_short_at_any_step_and_repeated_ends_identical() {
    let steps = [
        Step::CreateRecordPublished,
        Step::CreateImageMade,
        Step::CloneChunkCopied,
        Step::CreateReady,
    ];
    for step in steps {
        let fx = Fixture::new();
        let bytes = source(&fx, "src");
        let req = clone_request("copy", "src", 12 * MIB);
        let stopped = fx.ops(&Quiet).stop_after(Some(step)).create(&req);
        assert!(
            matches!(stopped, Err(OpsError::Stopped(s)) if s == step),
            "{step:?}: {stopped:?}"
        );
        let out = fx.ops(&Quiet).create(&req).unwrap();
        assert_eq!(out.record.state, State::Ready, "{step:?}");
        let copy = std::fs::read(image_path(&fx, "copy")).unwrap();
        assert!(copy == bytes, "{step:?}: the copy differs");
        let tmp = fx.store().list("/gluster-tcmu/tmp").unwrap();
        assert!(tmp.is_empty(), "{step:?}: {tmp:?}");
    }
}

#[test]
fn a_source_being_cloned_is_locked_against_other_commands() {
    let fx = Fixture::new();
    source(&fx, "src");
    let observer = Recorder::default();
    std::thread::scope(|s| {
        let copying = s.spawn(|| {
            fx.ops(&observer)
                .create(&clone_request("copy", "src", 12 * MIB))
        });
        observer.await_line("image /gluster-tcmu/images/copy.img");
        // The delete waits for the copy's lock, then goes ahead.
        fx.ops(&Quiet).delete(&at("src"), false).unwrap();
        copying.join().unwrap().unwrap();
    });
    assert_eq!(record_on(&fx, "src"), None);
    assert_eq!(record_on(&fx, "copy").unwrap().state, State::Ready);
}
