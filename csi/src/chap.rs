//! CHAP credentials from a Kubernetes Secret. One Secret serves both sides: the
//! provisioner secret given to CreateVolume (the export's record then holds exactly these
//! credentials) and the node-stage secret given to NodeStageVolume (the node logs in with
//! them). Its keys are those of the `kubernetes.io/iscsi-chap` Secret type, which the
//! in-tree iSCSI volume plugin reads too.

use crate::core::{ChapPair, ChapRecord};
use std::collections::HashMap;
use tonic::Status;

/// The initiator's CHAP user name.
pub const USERNAME: &str = "node.session.auth.username";
/// The initiator's CHAP secret.
pub const PASSWORD: &str = "node.session.auth.password";
/// Mutual CHAP: the target's user name.
pub const USERNAME_IN: &str = "node.session.auth.username_in";
/// Mutual CHAP: the target's secret.
pub const PASSWORD_IN: &str = "node.session.auth.password_in";

/// The credentials in `secrets` (`which` says which Secret, for the message): one-way, or
/// mutual when the `_in` pair is there too. Missing keys are named; values never are.
pub fn from_secrets(secrets: &HashMap<String, String>, which: &str) -> Result<ChapRecord, Status> {
    let get = |key: &str| secrets.get(key).filter(|v| !v.is_empty()).cloned();
    let missing = |key: &str| {
        Status::invalid_argument(format!(
            "CHAP is on but the {which} secret has no {key} (see the StorageClass example)"
        ))
    };
    let initiator = ChapPair {
        user: get(USERNAME).ok_or_else(|| missing(USERNAME))?,
        secret: get(PASSWORD).ok_or_else(|| missing(PASSWORD))?,
    };
    let target = match (get(USERNAME_IN), get(PASSWORD_IN)) {
        (None, None) => None,
        (Some(user), Some(secret)) => Some(ChapPair { user, secret }),
        (Some(_), None) => return Err(missing(PASSWORD_IN)),
        (None, Some(_)) => return Err(missing(USERNAME_IN)),
    };
    Ok(ChapRecord { initiator, target })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn one_way_and_mutual() {
        let one = from_secrets(&secrets(&[(USERNAME, "u"), (PASSWORD, "p")]), "x").unwrap();
        assert_eq!(one.initiator.user, "u");
        assert!(one.target.is_none());
        let both = secrets(&[
            (USERNAME, "u"),
            (PASSWORD, "p"),
            (USERNAME_IN, "t"),
            (PASSWORD_IN, "q"),
        ]);
        let two = from_secrets(&both, "x").unwrap();
        assert_eq!(two.target.unwrap().secret, "q");
    }

    #[test]
    fn missing_keys_are_named_and_values_never_shown() {
        let err = from_secrets(&secrets(&[(USERNAME, "u")]), "provisioner").unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        assert!(
            err.message()
                .contains("provisioner secret has no node.session.auth.password")
        );
        let half = secrets(&[(USERNAME, "u"), (PASSWORD, "hush"), (USERNAME_IN, "t")]);
        let err = from_secrets(&half, "node-stage").unwrap_err();
        assert!(err.message().contains(PASSWORD_IN), "{err:?}");
        assert!(!err.message().contains("hush"));
    }
}
