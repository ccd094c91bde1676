//! CHAP, secrets, sessions.

use super::*;
use std::io::Write;
use std::sync::{Arc, Mutex};

const TPG: &str = "iscsi/iqn.2024-01.org.example.gw:vol/tpgt_1";

fn acl_auth(field: &str) -> String {
    format!("{TPG}/acls/{C1}/auth/{field}")
}

fn mutual(secret: &str, target_secret: &str) -> Chap {
    Chap::Mutual {
        user: ChapUser::parse("ini-user").unwrap(),
        secret: ChapSecret::parse(secret).unwrap(),
        target_user: ChapUser::parse("tgt-user").unwrap(),
        target_secret: ChapSecret::parse(target_secret).unwrap(),
    }
}

#[test]
fn acl_chap_is_written_before_authentication_is_switched_on() {
    let mut env = Env::new();
    let mut want = export("vol");
    env.apply(&want);
    want.chap = one_way("initiator-secret");
    env.lio.apply(&want).unwrap();
    let ops = env.fake().ops();
    assert_eq!(
        ops,
        [
            format!("write {}", acl_auth("userid")),
            format!("write {}", acl_auth("password")),
            format!("write {TPG}/attrib/authentication"),
        ]
    );
    assert_eq!(env.read(&acl_auth("userid")), "ini-user");
    assert_eq!(env.read(&acl_auth("password")), "initiator-secret");
    assert_eq!(env.read(&format!("{TPG}/attrib/authentication")), "1");
}

#[test]
fn a_chap_change_rewrites_only_what_changed() {
    let mut env = Env::new();
    let mut want = export("vol");
    want.chap = one_way("initiator-secret");
    env.apply(&want);
    want.chap = one_way("another-secret");
    env.lio.apply(&want).unwrap();
    assert_eq!(
        env.fake().ops(),
        [format!("write {}", acl_auth("password"))]
    );
    env.fake().clear_ops();
    want.chap = mutual("another-secret", "target-secret-1");
    env.lio.apply(&want).unwrap();
    assert_eq!(
        env.fake().ops(),
        [
            format!("write {}", acl_auth("userid_mutual")),
            format!("write {}", acl_auth("password_mutual")),
        ]
    );
    env.fake().clear_ops();
    want.chap = Chap::None;
    env.lio.apply(&want).unwrap();
    // The ACL's credentials go first: in between, logins fail (closed, not open).
    let fields = ["userid", "password", "userid_mutual", "password_mutual"];
    let mut expected: Vec<String> = fields
        .iter()
        .map(|f| format!("write {}", acl_auth(f)))
        .collect();
    expected.push(format!("write {TPG}/attrib/authentication"));
    assert_eq!(env.fake().ops(), expected);
    assert_eq!(env.read(&acl_auth("password")), "NULL");
    assert_eq!(env.read(&format!("{TPG}/attrib/authentication")), "0");
    env.fake().clear_ops();
    assert!(env.lio.apply(&want).unwrap().is_noop());
}

#[test]
fn an_open_tpg_takes_chap_at_tpg_level_and_discovery_is_left_alone() {
    let mut env = Env::new();
    let discovery = env.fake().tree();
    let mut want = export("vol");
    want.access = Access::Any;
    want.chap = mutual("initiator-secret", "target-secret-1");
    env.apply(&want);
    assert_eq!(env.read(&format!("{TPG}/auth/userid")), "ini-user");
    assert_eq!(
        env.read(&format!("{TPG}/auth/password_mutual")),
        "target-secret-1"
    );
    assert_eq!(env.read(&format!("{TPG}/attrib/authentication")), "1");
    assert_eq!(env.read("iscsi/discovery_auth/userid"), "");
    assert!(discovery.contains(&"iscsi/discovery_auth".to_owned()));
    // Closing it clears the TPG-level credentials, after switching ACLs on.
    want.access = initiators(&[C1]);
    env.lio.apply(&want).unwrap();
    assert_eq!(env.read(&format!("{TPG}/auth/userid")), "NULL");
    assert_eq!(env.read(&format!("{TPG}/auth/password")), "NULL");
    assert_eq!(env.read(&acl_auth("password")), "initiator-secret");
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn secrets_appear_in_no_log_report_or_debug_output() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let mut env = Env::new();
    let mut want = export("vol");
    want.chap = mutual("initiator-secret", "target-secret-1");
    let mut text = String::new();
    // With a single registered dispatcher, tracing computes a call site's interest from
    // the default of whichever thread hits it first: another test's thread, without a
    // subscriber, would turn these call sites off. A second registered dispatcher makes
    // it ask every dispatcher instead.
    let _second = tracing::Dispatch::new(tracing_subscriber::registry());
    tracing::subscriber::with_default(subscriber, || {
        let report = env.lio.apply(&want).unwrap();
        want.access = Access::Any;
        let open = env.lio.apply(&want).unwrap();
        let removed = env.lio.remove("vol").unwrap();
        text = format!("{report:?} {open:?} {removed:?} {want:?}");
    });
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("auth/password"), "{log}");
    for secret in ["initiator-secret", "target-secret-1"] {
        assert!(!log.contains(secret), "{log}");
        assert!(!text.contains(secret), "{text}");
        assert!(
            !std::fs::read_to_string(env.journal_path())
                .unwrap()
                .contains(secret)
        );
    }
}

#[test]
fn sessions_through_acls_and_generated_acls() {
    let mut env = Env::new();
    let mut want = export("vol");
    want.access = initiators(&[C1, C2]);
    env.apply(&want);
    assert!(env.lio.sessions(&want.target).unwrap().is_empty());
    env.fake().login(TARGET, C2).unwrap();
    assert_eq!(env.lio.sessions(&want.target).unwrap(), [C2]);
    want.access = Access::Any;
    env.apply(&want);
    env.fake().login(TARGET, C3).unwrap();
    env.fake().login(TARGET, C1).unwrap();
    assert_eq!(env.lio.sessions(&want.target).unwrap(), [C1, C3]);
    let absent = TargetIqn::parse("iqn.2024-01.org.example.gw:none").unwrap();
    assert!(env.lio.sessions(&absent).unwrap().is_empty());
}
