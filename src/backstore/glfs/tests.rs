use super::slab::{Kind, Pending};
use super::{BackstoreError, classify, outcome};

fn pending(kind: Kind, expected: u64) -> Pending {
    Pending {
        tag: 0,
        kind,
        expected,
    }
}

#[test]
fn connection_errnos_are_busy_and_data_errnos_are_medium_errors() {
    for errno in [libc::ENOTCONN, libc::ETIMEDOUT, libc::EAGAIN, libc::EBUSY] {
        assert_eq!(
            classify(Kind::Write, errno),
            BackstoreError::Retryable(errno)
        );
        assert_eq!(
            classify(Kind::Read, errno),
            BackstoreError::Retryable(errno)
        );
    }
    assert_eq!(
        classify(Kind::Read, libc::EIO),
        BackstoreError::Read(libc::EIO)
    );
    assert_eq!(
        classify(Kind::Write, libc::ENOSPC),
        BackstoreError::Write(libc::ENOSPC)
    );
    assert_eq!(
        classify(Kind::Sync, libc::EIO),
        BackstoreError::Write(libc::EIO)
    );
    assert_eq!(
        classify(Kind::Discard, libc::EIO),
        BackstoreError::Other(libc::EIO)
    );
    assert!(matches!(
        classify(Kind::Zero, libc::EOPNOTSUPP),
        BackstoreError::Unsupported(_)
    ));
}

#[test]
fn short_writes_fail_short_reads_report_what_came() {
    assert_eq!(outcome(pending(Kind::Write, 4096), 4096), Ok(4096));
    assert_eq!(
        outcome(pending(Kind::Write, 4096), 512),
        Err(BackstoreError::Write(libc::EIO))
    );
    assert_eq!(outcome(pending(Kind::Read, 4096), 512), Ok(512));
    assert_eq!(outcome(pending(Kind::Discard, 8192), 0), Ok(8192));
    assert_eq!(outcome(pending(Kind::Sync, 0), 0), Ok(0));
}
