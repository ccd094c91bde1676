//! The store contract, checked on [`LocalStore`]; the gfapi store runs the same checks
//! against a real volume in tests/.

use super::*;
use std::sync::Arc;

fn store() -> (tempfile::TempDir, LocalStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = LocalStore::new(dir.path());
    s.ensure_folders().unwrap();
    (dir, s)
}

const REC: &str = "/gluster-tcmu/exports/disk1.json";

#[test]
fn the_local_store_keeps_the_store_contract() {
    let (_d, s) = store();
    contract::all(Arc::new(s), "local");
}

#[test]
fn records_and_folders_get_their_modes() {
    use std::os::unix::fs::PermissionsExt;
    let (_d, s) = store();
    s.publish(REC, b"one", 0o600).unwrap();
    let mode = |p: &str| std::fs::metadata(s.local(p)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(REC), 0o600);
    for dir in layout::FOLDERS {
        assert_eq!(mode(dir), layout::folder_mode(dir), "{dir}");
    }
}

#[test]
fn an_oversized_metadata_file_is_refused() {
    let (_d, s) = store();
    std::fs::write(s.local(REC), vec![b' '; MAX_META_FILE + 1]).unwrap();
    assert!(matches!(s.read(REC), Err(StoreError::TooLarge { .. })));
}

#[test]
fn preallocated_images_have_their_blocks() {
    let (_d, s) = store();
    let img = "/gluster-tcmu/images/disk1.img";
    s.grow(img, 2 << 20, true, 0o600).unwrap();
    use std::os::unix::fs::MetadataExt;
    let blocks = std::fs::metadata(s.local(img)).unwrap().blocks();
    assert!(blocks * 512 >= 2 << 20, "{blocks} blocks allocated");
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
