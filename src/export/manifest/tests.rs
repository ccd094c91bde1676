use super::*;
use crate::export::layout;
use crate::export::name::ExportName;
use crate::export::record::{ChapPair, ChapRecord, RECORD_VERSION, State};

fn record(chap: Option<ChapRecord>, gateways: &[&str]) -> Record {
    let name = ExportName::parse("disk1").unwrap();
    Record {
        version: RECORD_VERSION,
        name: name.to_string(),
        state: State::Ready,
        volume: "gv0".into(),
        servers: vec!["server1".into()],
        image: layout::image(&name),
        size: 512 << 20,
        block_size: 512,
        prealloc: false,
        serial: "5a2d6b1e-8f0c-4d3a-9b7e-2c1f0e9d8a7b".into(),
        iqn: Record::iqn_for(&name),
        lun: 0,
        gateways: gateways.iter().map(|g| g.parse().unwrap()).collect(),
        initiators: vec![],
        chap,
        hw_max_sectors: 1024,
        cmd_time_out: 130,
        generation: 2,
        clone_of: None,
    }
}

fn pair(user: &str, secret: &str) -> ChapPair {
    ChapPair {
        user: user.into(),
        secret: secret.into(),
    }
}

#[test]
fn one_way_chap_gives_a_secret_and_a_volume_that_refers_to_it() {
    let chap = ChapRecord {
        initiator: pair("disk1-0a1b2c3d", "Secret0123456789"),
        target: None,
    };
    let r = record(
        Some(chap),
        &["10.0.0.1:3260", "10.0.0.2:3260", "[fd00::3]:3260"],
    );
    let yaml = render(&r, &ManifestOptions::default()).unwrap();
    assert_eq!(
        yaml,
        r#"apiVersion: v1
kind: Secret
metadata:
  name: disk1-chap
  namespace: default
type: kubernetes.io/iscsi-chap
stringData:
  node.session.auth.username: disk1-0a1b2c3d
  node.session.auth.password: Secret0123456789
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: disk1
spec:
  capacity:
    storage: 512Mi
  accessModes:
    - ReadWriteOnce
  persistentVolumeReclaimPolicy: Retain
  volumeMode: Filesystem
  iscsi:
    targetPortal: "10.0.0.1:3260"
    portals:
      - "10.0.0.2:3260"
      - "[fd00::3]:3260"
    iqn: "iqn.2016-12.org.gluster-tcmu:disk1"
    lun: 0
    fsType: ext4
    readOnly: false
    chapAuthDiscovery: false
    chapAuthSession: true
    secretRef:
      name: disk1-chap
      namespace: default
"#
    );
}

#[test]
fn mutual_chap_adds_the_targets_side_and_options_rename_things() {
    let chap = ChapRecord {
        initiator: pair("u1", "Secret0123456789"),
        target: Some(pair("u2", "Other0123456789x")),
    };
    let opts = ManifestOptions {
        fs_type: "xfs".into(),
        namespace: "storage".into(),
        secret_name: Some("my-secret".into()),
        pv_name: Some("pv.disk1".into()),
    };
    let yaml = render(&record(Some(chap), &["10.0.0.1:3260"]), &opts).unwrap();
    let expected_secret = "stringData:
  node.session.auth.username: u1
  node.session.auth.password: Secret0123456789
  node.session.auth.username_in: u2
  node.session.auth.password_in: Other0123456789x
---
";
    assert!(yaml.contains(expected_secret), "{yaml}");
    assert!(
        yaml.contains("  name: my-secret\n  namespace: storage\n"),
        "{yaml}"
    );
    assert!(
        yaml.contains("metadata:\n  name: pv.disk1\nspec:"),
        "{yaml}"
    );
    assert!(yaml.contains("    fsType: xfs\n"), "{yaml}");
    assert!(yaml.contains("    secretRef:\n      name: my-secret\n      namespace: storage\n"));
    assert!(
        !yaml.contains("portals:"),
        "one gateway: no other portals\n{yaml}"
    );
}

#[test]
fn without_chap_there_is_no_secret() {
    let yaml = render(
        &record(None, &["10.0.0.1:3260"]),
        &ManifestOptions::default(),
    )
    .unwrap();
    assert!(
        yaml.starts_with("apiVersion: v1\nkind: PersistentVolume\n"),
        "{yaml}"
    );
    assert!(!yaml.contains("Secret"), "{yaml}");
    assert!(!yaml.contains("secretRef"), "{yaml}");
    assert!(
        yaml.ends_with("    chapAuthDiscovery: false\n    chapAuthSession: false\n"),
        "{yaml}"
    );
}

/// CHAP secrets may hold any printable character (a record edited by hand): each comes out
/// as a YAML string that reads back as exactly the secret.
#[test]
fn secrets_with_yaml_special_characters_are_quoted() {
    let cases = [
        (r#"a"b\c:d #e"#, r#""a\"b\\c:d #e""#),
        ("123456789012", r#""123456789012""#),
        ("true", r#""true""#),
        ("No", r#""No""#),
        ("- item", r#""- item""#),
        ("&anchor*ref!tag", r#""&anchor*ref!tag""#),
        ("{a: b}, [c]", r#""{a: b}, [c]""#),
        ("'single'", r#""'single'""#),
        ("%percent@at`tick|pipe>gt", r#""%percent@at`tick|pipe>gt""#),
        ("Plain-secret_1.2/3", "Plain-secret_1.2/3"),
    ];
    for (secret, quoted) in cases {
        assert_eq!(scalar(secret), quoted, "{secret}");
    }
    let chap = ChapRecord {
        initiator: pair("user: x", r#"p"w\d #1"#),
        target: None,
    };
    let yaml = render(
        &record(Some(chap), &["10.0.0.1:3260"]),
        &ManifestOptions::default(),
    )
    .unwrap();
    assert!(
        yaml.contains("  node.session.auth.username: \"user: x\"\n"),
        "{yaml}"
    );
    assert!(
        yaml.contains("  node.session.auth.password: \"p\\\"w\\\\d #1\"\n"),
        "{yaml}"
    );
    assert_eq!(scalar("tab\there"), "\"tab\\x09here\"");
}

#[test]
fn sizes_are_kubernetes_quantities() {
    assert_eq!(quantity(536870912), "512Mi");
    assert_eq!(quantity(1 << 30), "1Gi");
    assert_eq!(quantity(3 << 40), "3Ti");
    assert_eq!(quantity(3072), "3Ki");
    assert_eq!(quantity(1536), "1536");
    assert_eq!(quantity(512), "512");
    assert_eq!(quantity((1 << 30) + 512), "1073742336");
}

#[test]
fn bad_options_are_refused() {
    let r = record(None, &["10.0.0.1:3260"]);
    let with = |f: &dyn Fn(&mut ManifestOptions)| {
        let mut o = ManifestOptions::default();
        f(&mut o);
        render(&r, &o).unwrap_err().to_string()
    };
    assert!(
        with(&|o| o.pv_name = Some("Disk".into()))
            .starts_with("--pv-name \"Disk\": not a Kubernetes name")
    );
    assert!(
        with(&|o| o.namespace = "a.b".into())
            .starts_with("--namespace \"a.b\": not a Kubernetes namespace")
    );
    assert!(with(&|o| o.secret_name = Some("-x".into())).starts_with("--secret-name"));
    assert!(with(&|o| o.fs_type = "ext4; rm".into()).starts_with("--fs-type"));
}
