//! The synchronous path operations of the safe gfapi layer (directories, exclusive
//! creates, links, renames, small files, sizes, free space) against the real glusterd on
//! loopback: gt1 (one brick) and gt3 (replica 3) of tests/gluster/setup.sh. Each test
//! works in a directory of its own and removes it when done. Fails (never skips)
//! without the volumes.
#![cfg(feature = "glfs")]

mod common;

use common::gluster::{HOST, require_started, test_options, volume_key};
use gluster_tcmu::glfs::gfapi::{Preallocation, SMALL_FILE_MAX, SyncFile};
use gluster_tcmu::glfs::{ConnectionPool, GfapiError, Volume};
use std::sync::{Arc, Barrier};

/// `volume` through the volfile server `host`: a connection of its own per host.
fn connect(volume: &str, host: &str) -> Arc<Volume> {
    require_started(volume);
    ConnectionPool::global()
        .get(&volume_key(volume, host), &test_options().connect)
        .unwrap_or_else(|e| panic!("connect to {volume} through {host}: {e}"))
}

/// A directory of the test's own on a volume, removed with everything in it when
/// dropped (when its test fails too).
struct TestDir {
    volume: Arc<Volume>,
    path: String,
}

impl TestDir {
    fn on(volume: Arc<Volume>, name: &str) -> TestDir {
        let path = format!("/t-paths-{name}-{}", std::process::id());
        remove_tree(&volume, &path);
        volume.mkdir(&path, 0o755).expect("the test directory");
        TestDir { volume, path }
    }

    /// `name` inside the directory.
    fn join(&self, name: &str) -> String {
        format!("{}/{name}", self.path)
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        remove_tree(&self.volume, &self.path);
    }
}

/// `rm -r path`, reporting (not failing on) what it cannot remove.
fn remove_tree(volume: &Volume, path: &str) {
    let names = match volume.read_dir(path) {
        Ok(names) => names,
        Err(e) if e.not_found() => return,
        Err(e) => return eprintln!("test directory left: {e}"),
    };
    for name in names {
        let child = format!("{path}/{name}");
        match volume.stat(&child) {
            Ok(st) if st.is_dir() => remove_tree(volume, &child),
            _ => {
                if let Err(e) = volume.unlink(&child) {
                    eprintln!("test file left: {e}");
                }
            }
        }
    }
    if let Err(e) = volume.rmdir(path) {
        eprintln!("test directory left: {e}");
    }
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

#[test]
fn directories_are_made_listed_and_removed() {
    let dir = TestDir::on(connect("gt1", HOST), "dirs");
    let vol = &dir.volume;
    let a = dir.join("a");
    vol.mkdir(&a, 0o700).unwrap();
    let again = vol.mkdir(&a, 0o700).unwrap_err();
    assert!(again.already_exists(), "{again:?}");
    assert!(again.to_string().contains(&a), "{again}");

    let deep = dir.join("a/b/c");
    vol.mkdir_all(&deep, 0o700).unwrap();
    vol.mkdir_all(&deep, 0o700)
        .expect("mkdir -p of what is there");
    assert!(vol.stat(&deep).unwrap().is_dir());

    vol.create_file(&dir.join("a/f"), 0o600, b"x").unwrap();
    let through_file = vol.mkdir_all(&dir.join("a/f/g"), 0o700).unwrap_err();
    assert_eq!(through_file.errno(), libc::ENOTDIR, "{through_file}");
    assert_eq!(sorted(vol.read_dir(&a).unwrap()), ["b", "f"]);
    assert_eq!(
        vol.read_dir(&dir.join("a/b/c")).unwrap(),
        Vec::<String>::new()
    );

    let not_empty = vol.rmdir(&dir.join("a/b")).unwrap_err();
    assert_eq!(not_empty.errno(), libc::ENOTEMPTY, "{not_empty}");
    vol.rmdir(&deep).unwrap();
    vol.rmdir(&dir.join("a/b")).unwrap();
    assert!(vol.stat(&deep).unwrap_err().not_found());
    let missing = vol.read_dir(&deep).unwrap_err();
    assert!(missing.not_found(), "{missing:?}");
}

/// Two connections create one name exclusively at the same moment, round after round:
/// exactly one wins, the other is told the name exists, and the file holds the
/// winner's bytes. On gt3, whose three bricks each see both creates.
#[test]
fn of_two_connections_creating_one_name_exactly_one_wins() {
    let (a, b) = (connect("gt3", HOST), connect("gt3", "127.0.0.1"));
    assert!(!Arc::ptr_eq(&a, &b), "two separate gfapi connections");
    let dir = TestDir::on(a.clone(), "create-race");
    for round in 0..20 {
        let path = dir.join(&format!("record-{round}"));
        let results = race(&a, &b, |vol, me| {
            vol.create_file(&path, 0o600, me.as_bytes())
        });
        let winner = one_winner(&results, round);
        let held = a.read_file(&path).unwrap();
        assert_eq!(held, ["a", "b"][winner].as_bytes(), "round {round}");
    }
}

/// Two connections link their own file to one name at the same moment: exactly one
/// link wins (the publish step of a record), the other is told the name exists; a
/// rename then replaces the published file at once.
#[test]
fn of_two_links_to_one_name_exactly_one_wins_and_a_rename_replaces() {
    let (a, b) = (connect("gt3", HOST), connect("gt3", "127.0.0.1"));
    let dir = TestDir::on(a.clone(), "link-race");
    for round in 0..20 {
        let name = dir.join(&format!("published-{round}"));
        let results = race(&a, &b, |vol, me| {
            let tmp = dir.join(&format!("tmp-{round}-{me}"));
            vol.create_file(&tmp, 0o600, me.as_bytes())?;
            let linked = vol.link(&tmp, &name);
            vol.unlink(&tmp)?;
            linked
        });
        let winner = one_winner(&results, round);
        let lost = results[1 - winner].as_ref().unwrap_err();
        assert!(lost.to_string().contains(&name), "{lost}");
        assert_eq!(a.read_file(&name).unwrap(), ["a", "b"][winner].as_bytes());
    }

    let (name, next) = (dir.join("published-0"), dir.join("next"));
    a.create_file(&next, 0o600, b"replacement").unwrap();
    b.rename(&next, &name).unwrap();
    assert_eq!(a.read_file(&name).unwrap(), b"replacement");
    assert!(a.stat(&next).unwrap_err().not_found());
    let gone = a.rename(&next, &name).unwrap_err();
    assert!(gone.not_found(), "{gone:?}");
    assert!(gone.to_string().contains(&next), "{gone}");
}

/// Runs `op` on connection `a` (as "a") and `b` (as "b") on two threads released at
/// the same moment.
fn race<T: Send>(
    a: &Volume,
    b: &Volume,
    op: impl Fn(&Volume, &str) -> Result<T, GfapiError> + Sync,
) -> [Result<T, GfapiError>; 2] {
    let start = Barrier::new(2);
    let run = |vol: &Volume, me: &str| {
        start.wait();
        op(vol, me)
    };
    std::thread::scope(|s| {
        let ta = s.spawn(|| run(a, "a"));
        let tb = s.spawn(|| run(b, "b"));
        [ta.join().unwrap(), tb.join().unwrap()]
    })
}

/// The index of the one racer that succeeded; the other must have lost with EEXIST.
fn one_winner<T>(results: &[Result<T, GfapiError>; 2], round: usize) -> usize {
    match results {
        [Ok(_), Err(e)] | [Err(e), Ok(_)] => {
            assert!(
                e.already_exists(),
                "round {round}: the loser's error: {e:?}"
            );
            usize::from(results[0].is_err())
        }
        [Ok(_), Ok(_)] => panic!("round {round}: both won"),
        [Err(a), Err(b)] => panic!("round {round}: neither won: {a}; {b}"),
    }
}

#[test]
fn small_files_are_written_whole_read_whole_and_bounded() {
    let dir = TestDir::on(connect("gt1", HOST), "small");
    let vol = &dir.volume;
    let secret = dir.join("secret");
    vol.create_file(&secret, 0o600, b"chap password").unwrap();
    let st = vol.stat(&secret).unwrap();
    assert!(st.is_file());
    assert_eq!((st.size, st.permissions()), (13, 0o600));
    assert_eq!(vol.read_file(&secret).unwrap(), b"chap password");
    vol.chmod(&secret, 0o400).unwrap();
    assert_eq!(vol.stat(&secret).unwrap().permissions(), 0o400);

    let empty = dir.join("empty");
    vol.create_file(&empty, 0o644, b"").unwrap();
    assert_eq!(vol.read_file(&empty).unwrap(), b"");

    let limit = dir.join("limit");
    let file = vol.create_new(&limit, 0o600).unwrap();
    let big = vec![0x5au8; SMALL_FILE_MAX as usize];
    file.write_all_at(&big, 0).unwrap();
    file.close().unwrap();
    assert_eq!(
        vol.read_file(&limit).unwrap(),
        big,
        "exactly the limit is read"
    );
    vol.truncate(&limit, SMALL_FILE_MAX + 1).unwrap();
    let too_large = vol.read_file(&limit).unwrap_err();
    assert!(
        matches!(too_large, GfapiError::TooLarge { .. }),
        "{too_large:?}"
    );
    assert_eq!(too_large.errno(), libc::EFBIG);
    assert!(too_large.to_string().contains(&limit), "{too_large}");

    let missing = vol.read_file(&dir.join("missing")).unwrap_err();
    assert!(missing.not_found(), "{missing:?}");
    assert!(missing.to_string().contains("missing"), "{missing}");
    let nul = vol.read_file("bad\0name").unwrap_err();
    assert_eq!(nul.errno(), libc::EINVAL, "{nul}");
}

#[test]
fn an_image_grows_and_is_preallocated_and_the_free_space_is_reported() {
    let dir = TestDir::on(connect("gt1", HOST), "grow");
    let vol = &dir.volume;
    let path = dir.join("lun.img");
    const MIB: u64 = 1 << 20;
    let image = vol.create_new(&path, 0o600).unwrap();
    image.set_len(8 * MIB).unwrap();
    assert_eq!(image.stat().unwrap().size, 8 * MIB);
    vol.truncate(&path, 16 * MIB).unwrap();
    assert_eq!(vol.stat(&path).unwrap().size, 16 * MIB);

    let how = image.preallocate(16 * MIB, 4 * MIB).unwrap();
    eprintln!("gt1 preallocates by {how:?}");
    assert!(matches!(
        how,
        Preallocation::Fallocated | Preallocation::ZeroesWritten
    ));
    assert_eq!(
        image.stat().unwrap().size,
        20 * MIB,
        "grown by the allocation"
    );

    // The fallback's own path, over data: zeroes where the bytes were.
    image.write_all_at(&[0xff; 8192], 3 * MIB).unwrap();
    image.write_zeroes(3 * MIB + 100, 5000).unwrap();
    image.fsync().unwrap();
    let got = read_exactly(&image, 3 * MIB, 8192);
    assert!(got[..100].iter().all(|&b| b == 0xff));
    assert!(got[100..5100].iter().all(|&b| b == 0));
    assert!(got[5100..].iter().all(|&b| b == 0xff));
    image.close().unwrap();

    let space = vol.statvfs().unwrap();
    eprintln!("gt1: {space:?}");
    assert!(space.total > 0);
    assert!(space.free <= space.total && space.available <= space.free);
}

fn read_exactly(file: &SyncFile<'_>, offset: u64, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    let mut done = 0;
    while done < len {
        let n = file
            .read_at(&mut out[done..], offset + done as u64)
            .unwrap();
        assert!(n > 0, "short read at {}", offset + done as u64);
        done += n;
    }
    out
}
