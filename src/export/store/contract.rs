//! What every [`MetaStore`] must do, as checks any implementation is run through: the
//! local one in unit tests, the gfapi one against a real volume in tests/. They panic on
//! failure (they are tests).
//!
//! Each check works on file names of its own, made from `tag`, and removes them, so the
//! checks can run on a volume that others use at the same time.

use super::{Grown, MetaStore, StoreError};
use crate::export::layout;
use std::sync::{Arc, Barrier};

/// Runs every check; `tag` makes the file names unique (such as `pid-N`).
pub fn all(store: Arc<dyn MetaStore>, tag: &str) {
    folders_are_made_once_and_again(&*store);
    publish_is_exclusive_and_leaves_no_temporary_file(&*store, tag);
    of_racing_publishers_exactly_one_wins(store.clone(), tag);
    replace_swaps_the_content_whole(&*store, tag);
    missing_files_are_none_and_removing_twice_is_false(&*store, tag);
    images_grow_sparse_or_allocated_and_never_shrink(&*store, tag);
    young_temporary_files_are_kept(&*store, tag);
    images_are_read_and_written_at_offsets(&*store, tag);
}

fn record(tag: &str) -> String {
    format!("{}/contract-{tag}.json", layout::EXPORTS)
}

/// The temporary files left for `path`.
fn leftovers(store: &dyn MetaStore, path: &str) -> Vec<String> {
    let base = path.rsplit('/').next().unwrap_or(path);
    let tmp = store.list(layout::TMP).unwrap();
    tmp.into_iter()
        .filter(|n| n.starts_with(&format!("{base}.")))
        .collect()
}

pub fn folders_are_made_once_and_again(store: &dyn MetaStore) {
    store.ensure_folders().unwrap();
    store.ensure_folders().unwrap();
    let listed = store.list(layout::ROOT).unwrap();
    for dir in ["exports", "gateways", "images", "tmp"] {
        assert!(listed.iter().any(|n| n == dir), "{dir} in {listed:?}");
    }
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted, "list is sorted");
}

pub fn publish_is_exclusive_and_leaves_no_temporary_file(store: &dyn MetaStore, tag: &str) {
    let rec = record(&format!("{tag}-publish"));
    store.publish(&rec, b"one", 0o600).unwrap();
    let again = store.publish(&rec, b"two", 0o600);
    assert!(matches!(again, Err(StoreError::Exists { .. })), "{again:?}");
    assert_eq!(store.read(&rec).unwrap().as_deref(), Some(&b"one"[..]));
    assert_eq!(leftovers(store, &rec), Vec::<String>::new());
    assert!(store.remove(&rec).unwrap());
}

pub fn of_racing_publishers_exactly_one_wins(store: Arc<dyn MetaStore>, tag: &str) {
    let rec = record(&format!("{tag}-race"));
    let start = Arc::new(Barrier::new(8));
    let racers: Vec<_> = (0..8)
        .map(|i| {
            let (store, start, rec) = (store.clone(), start.clone(), rec.clone());
            std::thread::spawn(move || {
                start.wait();
                store.publish(&rec, format!("writer {i}").as_bytes(), 0o600)
            })
        })
        .collect();
    let results: Vec<_> = racers.into_iter().map(|t| t.join().unwrap()).collect();
    let winners = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(StoreError::Exists { .. }))),
        "{results:?}"
    );
    let held = store.read(&rec).unwrap().unwrap();
    assert!(held.starts_with(b"writer "), "{held:?}");
    assert_eq!(leftovers(&*store, &rec), Vec::<String>::new());
    assert!(store.remove(&rec).unwrap());
}

pub fn replace_swaps_the_content_whole(store: &dyn MetaStore, tag: &str) {
    let rec = record(&format!("{tag}-replace"));
    store.replace(&rec, b"first", 0o600).unwrap();
    store.replace(&rec, b"second", 0o600).unwrap();
    assert_eq!(store.read(&rec).unwrap().as_deref(), Some(&b"second"[..]));
    assert_eq!(leftovers(store, &rec), Vec::<String>::new());
    assert!(store.remove(&rec).unwrap());
}

pub fn missing_files_are_none_and_removing_twice_is_false(store: &dyn MetaStore, tag: &str) {
    let rec = record(&format!("{tag}-missing"));
    assert_eq!(store.read(&rec).unwrap(), None);
    assert_eq!(store.size_of(&rec).unwrap(), None);
    store.publish(&rec, b"x", 0o600).unwrap();
    assert_eq!(store.size_of(&rec).unwrap(), Some(1));
    assert!(store.remove(&rec).unwrap());
    assert!(!store.remove(&rec).unwrap());
    let nowhere = format!("{}/no-such-folder-{tag}", layout::ROOT);
    assert_eq!(store.list(&nowhere).unwrap(), Vec::<String>::new());
}

pub fn images_grow_sparse_or_allocated_and_never_shrink(store: &dyn MetaStore, tag: &str) {
    let img = format!("{}/contract-{tag}.img", layout::IMAGES);
    const MIB: u64 = 1 << 20;
    assert_eq!(store.grow(&img, MIB, false, 0o600).unwrap(), Grown::Sparse);
    assert_eq!(
        store.grow(&img, MIB, false, 0o600).unwrap(),
        Grown::Unchanged
    );
    assert_eq!(store.size_of(&img).unwrap(), Some(MIB));
    let grown = store.grow(&img, 2 * MIB, true, 0o600).unwrap();
    assert!(
        matches!(grown, Grown::Allocated | Grown::ZeroFilled),
        "{grown:?}"
    );
    assert_eq!(store.size_of(&img).unwrap(), Some(2 * MIB));
    let shrink = store.grow(&img, MIB, false, 0o600);
    assert!(
        matches!(shrink, Err(StoreError::Larger { size, wanted, .. }) if size == 2 * MIB && wanted == MIB),
        "{shrink:?}"
    );
    assert_eq!(store.size_of(&img).unwrap(), Some(2 * MIB));
    assert!(store.free_bytes().unwrap() > 0);
    assert!(store.remove(&img).unwrap());
}

pub fn young_temporary_files_are_kept(store: &dyn MetaStore, tag: &str) {
    let young = format!("{}/contract-{tag}.young.tmp", layout::TMP);
    store.replace(&young, b"being written", 0o600).unwrap();
    store
        .sweep_tmp(std::time::Duration::from_secs(3600))
        .unwrap();
    assert_eq!(store.size_of(&young).unwrap(), Some(13));
    assert!(store.remove(&young).unwrap());
}

pub fn images_are_read_and_written_at_offsets(store: &dyn MetaStore, tag: &str) {
    let img = format!("{}/contract-{tag}-io.img", layout::IMAGES);
    let missing = store.open_image(&img).map(drop);
    assert!(
        matches!(&missing, Err(e) if e.errno() == Some(libc::ENOENT)),
        "{missing:?}"
    );
    store.grow(&img, 1 << 20, false, 0o600).unwrap();
    let file = store.open_image(&img).unwrap();
    file.write_all_at(b"pattern", 4096).unwrap();
    file.sync().unwrap();
    let mut buf = [0xffu8; 16];
    let n = file.read_at(&mut buf, 4090).unwrap();
    assert!(n > 0, "read {n}");
    let mut want = [0u8; 16];
    want[6..13].copy_from_slice(b"pattern");
    assert_eq!(&buf[..n], &want[..n]);
    assert_eq!(file.read_at(&mut buf, 1 << 20).unwrap(), 0, "at the end");
    drop(file);
    assert!(store.remove(&img).unwrap());
}
