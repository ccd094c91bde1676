//! Large writes to files in memory (tmpfs) are done at submission, in the caller's
//! thread; reads, small writes and every request to a file on disk go through io_uring.

use super::*;
use crate::region::{DataBuf, DataSeg, SharedRegion};
use std::process::Command;
use std::sync::Arc;

fn lun_in(dir: &Path, size: u64) -> FileBackstore {
    FileBackstore::open(&dir.join("lun.img"), size, &FileOptions::default()).unwrap()
}

fn rw(region: &Arc<SharedRegion>, tag: u64, write: bool, offset: u64, seg: DataSeg) -> IoRequest {
    let buf = DataBuf::new(region.clone(), &[seg], seg.len);
    let op = if write {
        IoOp::Write {
            offset,
            buf,
            fua: false,
        }
    } else {
        IoOp::Read { offset, buf }
    };
    IoRequest { tag, op }
}

/// Submits one request and returns its completion, which must be there at once.
fn now(b: &mut FileBackstore, request: IoRequest) -> IoCompletion {
    b.submit(request).unwrap();
    let mut out = Vec::new();
    b.drain(&mut out);
    assert_eq!(out.len(), 1, "completed at submission: {out:?}");
    assert_eq!(b.in_flight(), 0);
    out.pop().unwrap()
}

/// Submits one request, which must not be finished at submission, and waits for it on
/// the private ring.
fn on_ring(b: &mut FileBackstore, request: IoRequest) -> IoCompletion {
    b.submit(request).unwrap();
    let mut out = Vec::new();
    b.drain(&mut out);
    assert!(out.is_empty(), "not done at submission: {out:?}");
    b.commit();
    while out.is_empty() {
        b.drain(&mut out);
    }
    out.pop().unwrap()
}

#[test]
fn tmpfs_files_take_large_writes_at_submission_and_the_rest_on_io_uring() {
    let dir = tempfile::tempdir_in("/dev/shm").unwrap();
    let mut b = lun_in(dir.path(), 1 << 20);
    assert!(b.copies_inline(), "/dev/shm is tmpfs");
    let len = INLINE_WRITE_MIN;
    let region = Arc::new(SharedRegion::heap(2 * len as usize));
    let data: Vec<u8> = (0..len as u32).map(|i| (i * 7 % 251) as u8).collect();
    region.write_bytes(0, &data).unwrap();
    let whole = DataSeg { off: 0, len };
    let c = now(&mut b, rw(&region, 1, true, 65536, whole));
    assert_eq!(
        c,
        IoCompletion {
            tag: 1,
            result: Ok(len)
        }
    );
    let file = std::fs::read(dir.path().join("lun.img")).unwrap();
    assert!(
        file[65536..65536 + len as usize] == data[..],
        "the file has the data"
    );
    let back = DataSeg { off: len, len };
    let c = on_ring(&mut b, rw(&region, 2, false, 65536, back));
    assert_eq!(
        c,
        IoCompletion {
            tag: 2,
            result: Ok(len)
        }
    );
    let mut got = vec![0u8; len as usize];
    region.read_bytes(len, &mut got).unwrap();
    assert_eq!(got, data, "read back into the region");
    let small = DataSeg { off: 0, len: 4096 };
    let c = on_ring(&mut b, rw(&region, 3, true, 0, small));
    assert_eq!(
        c,
        IoCompletion {
            tag: 3,
            result: Ok(4096)
        },
        "a small write"
    );
}

#[test]
fn disk_files_go_through_io_uring() {
    let dir = tempfile::tempdir_in("/var/tmp").unwrap();
    let b = lun_in(dir.path(), 1 << 20);
    assert!(!b.copies_inline(), "/var/tmp is on a disk file system here");
}

/// A tmpfs mounted for one test, unmounted when dropped.
struct SmallTmpfs(tempfile::TempDir);

impl SmallTmpfs {
    fn mount(size: &str) -> SmallTmpfs {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "gt-test"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "mount a {size} tmpfs (the tests run as root)");
        SmallTmpfs(dir)
    }
}

impl Drop for SmallTmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

#[test]
fn a_full_tmpfs_fails_the_write_and_keeps_serving_reads() {
    let fs = SmallTmpfs::mount("64k");
    let mut b = lun_in(fs.0.path(), 1 << 20);
    assert!(b.copies_inline());
    let region = Arc::new(SharedRegion::heap(256 << 10));
    region.fill(0, 256 << 10, 0xa5).unwrap();
    let big = DataSeg {
        off: 0,
        len: 256 << 10,
    };
    let c = now(&mut b, rw(&region, 1, true, 0, big));
    assert!(
        matches!(c.result, Err(BackstoreError::Write(_))),
        "256 KiB into a 64 KiB tmpfs: {c:?}"
    );
    let c = on_ring(
        &mut b,
        rw(&region, 2, false, 512 << 10, DataSeg { off: 0, len: 4096 }),
    );
    assert_eq!(
        c,
        IoCompletion {
            tag: 2,
            result: Ok(4096)
        },
        "reads still served"
    );
    drop(b);
}

/// Attached to a reactor, reads and writes of at most [`GATHER_MAX`] bytes to a file in
/// memory are marked for gathering; larger ones, flushes, and every request to a file on
/// disk are not.
#[test]
fn small_io_to_files_in_memory_is_marked_for_gathering() {
    let shm = tempfile::tempdir_in("/dev/shm").unwrap();
    let disk = tempfile::tempdir().unwrap();
    let region = Arc::new(SharedRegion::heap(64 << 10));
    let seg = |len: u64| DataSeg { off: 0, len };
    for (dir, in_memory) in [(shm.path(), true), (disk.path(), false)] {
        let mut b = lun_in(dir, 1 << 20);
        assert!(tenant(&mut b).attach());
        b.submit(rw(&region, 1, false, 0, seg(4096))).unwrap();
        b.submit(rw(&region, 2, true, 0, seg(GATHER_MAX))).unwrap();
        b.submit(rw(&region, 3, false, 0, seg(GATHER_MAX + 512)))
            .unwrap();
        b.submit(IoRequest {
            tag: 4,
            op: IoOp::Flush,
        })
        .unwrap();
        b.commit();
        let mut sqes = Vec::new();
        tenant(&mut b).take_submissions(&mut sqes);
        let marked: Vec<bool> = sqes.iter().map(|s| s.gather()).collect();
        let want = [in_memory, in_memory, false, false];
        assert_eq!(marked, want, "{}", dir.display());
        for s in &sqes {
            tenant(&mut b).complete(s.token(), 0);
        }
        let mut out = Vec::new();
        b.drain(&mut out);
        assert_eq!(out.len(), 4);
    }
}
