use super::slab::{GfapiRequest, RequestKind};
use super::{BackstoreError, classify, outcome};

fn pending(kind: RequestKind, expected: u64) -> GfapiRequest {
    GfapiRequest {
        tag: 0,
        kind,
        expected,
    }
}

#[test]
fn connection_errnos_are_busy_and_data_errnos_are_medium_errors() {
    for errno in [libc::ENOTCONN, libc::ETIMEDOUT, libc::EAGAIN, libc::EBUSY] {
        assert_eq!(
            classify(RequestKind::Write, errno),
            BackstoreError::Retryable(errno)
        );
        assert_eq!(
            classify(RequestKind::Read, errno),
            BackstoreError::Retryable(errno)
        );
    }
    assert_eq!(
        classify(RequestKind::Read, libc::EIO),
        BackstoreError::Read(libc::EIO)
    );
    assert_eq!(
        classify(RequestKind::Write, libc::ENOSPC),
        BackstoreError::Write(libc::ENOSPC)
    );
    assert_eq!(
        classify(RequestKind::Sync, libc::EIO),
        BackstoreError::Write(libc::EIO)
    );
    assert_eq!(
        classify(RequestKind::Discard, libc::EIO),
        BackstoreError::Other(libc::EIO)
    );
    assert!(matches!(
        classify(RequestKind::Zero, libc::EOPNOTSUPP),
        BackstoreError::Unsupported(_)
    ));
}

#[test]
fn short_writes_fail_short_reads_report_what_came() {
    assert_eq!(outcome(pending(RequestKind::Write, 4096), 4096), Ok(4096));
    assert_eq!(
        outcome(pending(RequestKind::Write, 4096), 512),
        Err(BackstoreError::Write(libc::EIO))
    );
    assert_eq!(outcome(pending(RequestKind::Read, 4096), 512), Ok(512));
    assert_eq!(outcome(pending(RequestKind::Discard, 8192), 0), Ok(8192));
    assert_eq!(outcome(pending(RequestKind::Sync, 0), 0), Ok(0));
}
