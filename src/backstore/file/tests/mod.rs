mod inline;

use super::*;
use crate::region::{DataBuf, DataSeg, SharedRegion};
use std::sync::Arc;

/// The backstore's io_uring work, which a file backstore always offers.
fn tenant(b: &mut FileBackstore) -> &mut dyn RingTenant {
    b.ring_tenant().expect("a file backstore has io_uring work")
}

fn file_lun(dir: &tempfile::TempDir, size: u64) -> FileBackstore {
    FileBackstore::open(&dir.path().join("lun.img"), size, &FileOptions::default()).unwrap()
}

fn read_request(region: &Arc<SharedRegion>, tag: u64) -> IoRequest {
    let seg = DataSeg { off: 0, len: 4096 };
    IoRequest {
        tag,
        op: IoOp::Read {
            offset: 0,
            buf: DataBuf::new(region.clone(), &[seg], 4096),
        },
    }
}

/// Attached, the backstore hands its submissions over instead of submitting them,
/// has no notifier, and turns handed-back results into completions.
#[test]
fn attached_backstore_hands_submissions_to_the_reactor() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = file_lun(&dir, 1 << 20);
    let region = Arc::new(SharedRegion::heap(8192));
    assert!(b.notifier().is_some(), "a private ring before attaching");
    assert!(tenant(&mut b).attach());
    assert!(b.notifier().is_none(), "no private ring while attached");
    b.submit(read_request(&region, 7)).unwrap();
    b.commit();
    let mut sqes = Vec::new();
    tenant(&mut b).take_submissions(&mut sqes);
    assert_eq!(sqes.len(), 1);
    assert_eq!(b.in_flight(), 1);
    let mut out = Vec::new();
    b.drain(&mut out);
    assert!(
        out.is_empty(),
        "nothing finished before the reactor says so"
    );
    tenant(&mut b).complete(sqes[0].token(), 4096);
    b.drain(&mut out);
    assert_eq!(
        out,
        vec![IoCompletion {
            tag: 7,
            result: Ok(4096)
        }]
    );
    assert_eq!(b.in_flight(), 0);
    tenant(&mut b).complete(sqes[0].token(), 4096);
    b.drain(&mut out);
    assert_eq!(out.len(), 1, "a stale token completes nothing");
}

/// Work on the private ring keeps the backstore from being attached; detached again
/// it submits on a private ring of its own.
#[test]
fn attach_waits_for_private_work_and_detach_goes_back_to_a_private_ring() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = file_lun(&dir, 1 << 20);
    let region = Arc::new(SharedRegion::heap(8192));
    b.submit(read_request(&region, 1)).unwrap();
    assert!(!tenant(&mut b).attach(), "private work outstanding");
    b.commit();
    let mut out = Vec::new();
    while out.is_empty() {
        b.drain(&mut out);
    }
    assert!(tenant(&mut b).attach());
    tenant(&mut b).detach();
    b.submit(read_request(&region, 2)).unwrap();
    b.commit();
    assert!(b.notifier().is_some(), "a new private ring");
    out.clear();
    while out.is_empty() {
        b.drain(&mut out);
    }
    assert_eq!(
        out,
        vec![IoCompletion {
            tag: 2,
            result: Ok(4096)
        }]
    );
}

/// Dropped while a reactor still owes a completion, the backstore leaks the request's
/// memory (the kernel may still write into it) instead of freeing it.
#[test]
fn dropping_with_reactor_work_outstanding_keeps_the_region_alive() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = file_lun(&dir, 1 << 20);
    let region = Arc::new(SharedRegion::heap(8192));
    assert!(tenant(&mut b).attach());
    b.submit(read_request(&region, 3)).unwrap();
    let mut sqes = Vec::new();
    tenant(&mut b).take_submissions(&mut sqes);
    drop(b);
    assert_eq!(
        Arc::strong_count(&region),
        2,
        "the parked request still holds it"
    );
}

#[test]
fn short_writes_are_errors_and_errnos_map_precisely() {
    assert_eq!(outcome(Kind::Write, 4096, 4096), Ok(4096));
    assert_eq!(
        outcome(Kind::Write, 4096, 512),
        Err(BackstoreError::Write(libc::EIO))
    );
    assert_eq!(outcome(Kind::Read, 4096, 512), Ok(512));
    assert_eq!(
        outcome(Kind::Read, 4096, -libc::EIO),
        Err(BackstoreError::Read(libc::EIO))
    );
    assert_eq!(
        outcome(Kind::Sync, 0, -libc::EIO),
        Err(BackstoreError::Write(libc::EIO))
    );
    assert_eq!(
        outcome(Kind::Write, 4096, -libc::EAGAIN),
        Err(BackstoreError::Retryable(libc::EAGAIN))
    );
    assert_eq!(outcome(Kind::Fallocate, 8192, 0), Ok(8192));
    assert!(matches!(
        outcome(Kind::Fallocate, 8192, -libc::EOPNOTSUPP),
        Err(BackstoreError::Unsupported(_))
    ));
}
