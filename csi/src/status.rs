//! The one mapping from the export commands' errors to the gRPC codes the CSI
//! specification gives them. Messages go through as they are: they say what is wrong and
//! what to do, and never hold a secret.

use crate::core::OpsError;
use tonic::{Code, Status};

/// The code of an export command's error.
pub fn code(e: &OpsError) -> Code {
    use OpsError::*;
    match e {
        Input { .. } | NoGateway | ConfigTooLong { .. } | NoVolumes { .. } | NoVolumeToList => {
            Code::InvalidArgument
        }
        Ambiguous { .. } => Code::InvalidArgument,
        // The StorageClass names several gateways on a volume that cannot fence.
        NotForHa { .. } => Code::InvalidArgument,
        NotFound { .. } | SourceNotFound { .. } => Code::NotFound,
        Exists { .. } | OrphanImage { .. } => Code::AlreadyExists,
        NoSpace { .. } => Code::ResourceExhausted,
        Unreachable { .. } | StillServed { .. } => Code::Unavailable,
        // Another command works on the export: the caller retries.
        BeingDeleted { .. } | BeingCreated { .. } | Locked { .. } | Raced { .. } => Code::Aborted,
        // Initiators are logged in (the volume is in use), or a resize was cut short and
        // must be finished with its own size first.
        Sessions { .. } | UnfinishedResize { .. } | Shrink { .. } => Code::FailedPrecondition,
        // A clone's source must be ready and nobody logged in to it: the caller retries
        // once the source's workload has stopped.
        SourceNotReady { .. } | SourceInUse { .. } => Code::FailedPrecondition,
        // The specification's code for a capacity smaller than the source.
        CloneTooSmall { .. } => Code::OutOfRange,
        SplitBrain { .. }
        | Store { .. }
        | Corrupt { .. }
        | ImageLost { .. }
        | Random(_)
        | Stopped(_) => Code::Internal,
    }
}

/// The status of an export command's error.
pub fn of(e: OpsError) -> Status {
    Status::new(code(&e), e.to_string())
}

/// A blocking task that did not finish (it panicked or was cancelled).
pub fn lost(e: tokio::task::JoinError) -> Status {
    Status::internal(format!("the operation did not finish: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_specification() {
        let cases = [
            (OpsError::input("--size", 0, "x"), Code::InvalidArgument),
            (
                OpsError::NotFound {
                    name: "a".into(),
                    looked_in: "v".into(),
                },
                Code::NotFound,
            ),
            (
                OpsError::Exists {
                    name: "a".into(),
                    volume: "v".into(),
                    differences: vec![],
                },
                Code::AlreadyExists,
            ),
            (
                OpsError::NoSpace {
                    name: "a".into(),
                    volume: "v".into(),
                    needed: 2,
                    free: 1,
                },
                Code::ResourceExhausted,
            ),
            (
                OpsError::Unreachable {
                    volume: "v".into(),
                    reason: "r".into(),
                },
                Code::Unavailable,
            ),
            (
                OpsError::Locked {
                    name: "a".into(),
                    holder: "h".into(),
                    path: "p".into(),
                },
                Code::Aborted,
            ),
            (
                OpsError::Sessions {
                    name: "a".into(),
                    sessions: vec!["iqn.x".into()],
                },
                Code::FailedPrecondition,
            ),
            (
                OpsError::SourceNotFound {
                    from: "a".into(),
                    volume: "v".into(),
                },
                Code::NotFound,
            ),
            (
                OpsError::SourceInUse {
                    from: "a".into(),
                    sessions: vec!["iqn.x".into()],
                },
                Code::FailedPrecondition,
            ),
            (
                OpsError::CloneTooSmall {
                    from: "a".into(),
                    size: 2,
                    asked: 1,
                },
                Code::OutOfRange,
            ),
        ];
        for (e, want) in cases {
            let text = e.to_string();
            let s = of(e);
            assert_eq!(s.code(), want, "{text}");
            assert_eq!(s.message(), text);
        }
    }
}
