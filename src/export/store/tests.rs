//! The store contract, checked on [`LocalStore`]; the gfapi store runs the same checks
//! against a real volume in tests/.

use super::*;
use std::sync::{Arc, Barrier};

fn store() -> (tempfile::TempDir, LocalStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = LocalStore::new(dir.path());
    s.ensure_folders().unwrap();
    (dir, s)
}

const REC: &str = "/gluster-tcmu/exports/disk1.json";

#[test]
fn folders_are_made_once_and_again() {
    let (_d, s) = store();
    s.ensure_folders().unwrap();
    assert_eq!(
        s.list(layout::ROOT).unwrap(),
        ["exports", "gateways", "images", "tmp"]
    );
}

#[test]
fn publish_is_exclusive_and_leaves_no_temporary_file() {
    let (_d, s) = store();
    s.publish(REC, b"one", 0o600).unwrap();
    let again = s.publish(REC, b"two", 0o600);
    assert!(matches!(again, Err(StoreError::Exists { .. })), "{again:?}");
    assert_eq!(s.read(REC).unwrap().as_deref(), Some(&b"one"[..]));
    assert!(s.list(layout::TMP).unwrap().is_empty());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(s.local(REC))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn of_racing_publishers_exactly_one_wins() {
    let (_d, s) = store();
    let s = Arc::new(s);
    let start = Arc::new(Barrier::new(8));
    let racers: Vec<_> = (0..8)
        .map(|i| {
            let (s, start) = (s.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                s.publish(REC, format!("writer {i}").as_bytes(), 0o600)
            })
        })
        .collect();
    let results: Vec<_> = racers.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(StoreError::Exists { .. })))
    );
}

#[test]
fn replace_swaps_the_content_whole() {
    let (_d, s) = store();
    s.replace(REC, b"first", 0o600).unwrap();
    s.replace(REC, b"second", 0o600).unwrap();
    assert_eq!(s.read(REC).unwrap().as_deref(), Some(&b"second"[..]));
    assert!(s.list(layout::TMP).unwrap().is_empty());
}

#[test]
fn missing_files_are_none_and_removing_twice_is_false() {
    let (_d, s) = store();
    assert_eq!(s.read(REC).unwrap(), None);
    assert_eq!(s.size_of(REC).unwrap(), None);
    s.publish(REC, b"x", 0o600).unwrap();
    assert!(s.remove(REC).unwrap());
    assert!(!s.remove(REC).unwrap());
    assert_eq!(s.list("/no/such/folder").unwrap(), Vec::<String>::new());
}

#[test]
fn an_oversized_metadata_file_is_refused() {
    let (_d, s) = store();
    std::fs::write(s.local(REC), vec![b' '; MAX_META_FILE + 1]).unwrap();
    assert!(matches!(s.read(REC), Err(StoreError::TooLarge { .. })));
}

#[test]
fn images_grow_sparse_or_allocated_and_never_shrink() {
    let (_d, s) = store();
    let img = "/gluster-tcmu/images/disk1.img";
    assert_eq!(s.grow(img, 1 << 20, false, 0o600).unwrap(), Grown::Sparse);
    assert_eq!(
        s.grow(img, 1 << 20, false, 0o600).unwrap(),
        Grown::Unchanged
    );
    assert_eq!(s.size_of(img).unwrap(), Some(1 << 20));
    let grown = s.grow(img, 2 << 20, true, 0o600).unwrap();
    assert!(
        matches!(grown, Grown::Allocated | Grown::ZeroFilled),
        "{grown:?}"
    );
    use std::os::unix::fs::MetadataExt;
    let blocks = std::fs::metadata(s.local(img)).unwrap().blocks();
    assert!(blocks * 512 >= 2 << 20, "{blocks} blocks allocated");
    let shrink = s.grow(img, 1 << 20, false, 0o600);
    assert!(
        matches!(shrink, Err(StoreError::Larger { size, wanted, .. }) if size == 2 << 20 && wanted == 1 << 20)
    );
    assert!(s.free_bytes().unwrap() > 0);
}

#[test]
fn old_temporary_files_are_swept_and_young_ones_kept() {
    let (_d, s) = store();
    let old = s.local(&format!("{}/a.json.1.0.0.tmp", layout::TMP));
    std::fs::write(&old, b"x").unwrap();
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(past)
        .unwrap();
    std::fs::write(s.local(&format!("{}/b.json.1.0.0.tmp", layout::TMP)), b"y").unwrap();
    assert_eq!(
        s.sweep_tmp(std::time::Duration::from_secs(3600)).unwrap(),
        1
    );
    assert_eq!(s.list(layout::TMP).unwrap(), ["b.json.1.0.0.tmp"]);
}

use std::fs::File;
