//! Creates with CHAP credentials given (a Kubernetes Secret's) instead of generated.

use super::*;
use crate::export::record::{ChapPair, ChapRecord};

fn pair(user: &str, secret: &str) -> ChapPair {
    ChapPair {
        user: user.into(),
        secret: secret.into(),
    }
}

fn one_way() -> ChapRecord {
    ChapRecord {
        initiator: pair("node-user", "initiatorSecret1"),
        target: None,
    }
}

fn mutual() -> ChapRecord {
    ChapRecord {
        target: Some(pair("target-user", "targetSecret22")),
        ..one_way()
    }
}

#[test]
fn given_credentials_are_the_records_and_set_the_mode() {
    let fx = Fixture::new();
    let ops = fx.ops(&Quiet);
    let req = request("given").with_chap_credentials(mutual());
    assert_eq!(req.chap, ChapMode::Mutual);
    let out = ops.create(&req).unwrap();
    assert_eq!(out.record.chap, Some(mutual()));
    assert_eq!(record_on(&fx, "given").unwrap().chap, Some(mutual()));

    let req = request("oneway").with_chap_credentials(one_way());
    assert_eq!(req.chap, ChapMode::OneWay);
    assert_eq!(ops.create(&req).unwrap().record.chap, Some(one_way()));
}

#[test]
fn a_repeated_create_adopts_only_the_same_credentials() {
    let fx = Fixture::new();
    let ops = fx.ops(&Quiet);
    let req = request("disk1").with_chap_credentials(mutual());
    let first = ops.create(&req).unwrap();
    assert_eq!(ops.create(&req).unwrap().record, first.record);
    let before = fx.snapshot();

    let mut other = mutual();
    other.initiator.secret = "anotherSecret9".into();
    if let Some(t) = other.target.as_mut() {
        t.user = "someone-else".into();
    }
    let err = ops
        .create(&request("disk1").with_chap_credentials(other))
        .unwrap_err();
    assert!(matches!(err, OpsError::Exists { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("chap_secret set (asked another)"), "{text}");
    assert!(
        text.contains("chap_target_user target-user (asked someone-else)"),
        "{text}"
    );
    assert!(!text.contains("anotherSecret9"), "a secret shown: {text}");
    assert!(!text.contains("initiatorSecret1"), "a secret shown: {text}");

    // One-way credentials against a mutual export: the mode differs.
    let err = ops
        .create(&request("disk1").with_chap_credentials(one_way()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("chap mutual (asked one-way)"), "{err}");
    assert_eq!(fx.snapshot(), before);
}

#[test]
fn generated_chap_is_not_adopted_by_a_create_with_credentials() {
    let fx = Fixture::new();
    let ops = fx.ops(&Quiet);
    let mut generated = request("disk1");
    generated.chap = ChapMode::OneWay;
    ops.create(&generated).unwrap();
    let err = ops
        .create(&request("disk1").with_chap_credentials(one_way()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("chap_user disk1-"), "{err}");
    assert!(err.contains("chap_secret set (asked another)"), "{err}");
}

#[test]
fn bad_credentials_are_refused_without_showing_a_secret() {
    let fx = Fixture::new();
    let ops = fx.ops(&Quiet);
    let before = fx.snapshot();
    let short = ChapRecord {
        initiator: pair("node-user", "short"),
        target: None,
    };
    let same = ChapRecord {
        target: Some(pair("target-user", "initiatorSecret1")),
        ..one_way()
    };
    let spaced = ChapRecord {
        initiator: pair("node user", "initiatorSecret1"),
        target: None,
    };
    let mut mismatched = request("bad").with_chap_credentials(mutual());
    mismatched.chap = ChapMode::OneWay;
    let cases = [
        (
            request("bad").with_chap_credentials(short),
            "CHAP secret of node-user: ",
        ),
        (
            request("bad").with_chap_credentials(same),
            "CHAP secret of node-user: mutual CHAP needs two different secrets",
        ),
        (
            request("bad").with_chap_credentials(spaced),
            "CHAP user node user: ",
        ),
        (
            mismatched,
            "--chap one-way: the credentials given are for mutual CHAP",
        ),
    ];
    for (req, want) in cases {
        let err = ops.create(&req).unwrap_err();
        assert!(matches!(err, OpsError::Input { .. }), "{err}");
        let text = err.to_string();
        assert!(text.starts_with(want), "{want}: {text}");
        assert!(!text.contains("initiatorSecret1"), "a secret shown: {text}");
        assert!(!text.contains("short:"), "a secret shown: {text}");
    }
    assert_eq!(fx.snapshot(), before);
}
