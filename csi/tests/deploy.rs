//! The Kubernetes manifests in deploy/kubernetes/ parse as YAML and agree with each other
//! and with the driver (tests/check-deploy.py says what is checked). Needs python3 with
//! its yaml module (python3-yaml).

#[test]
fn the_manifests_parse_and_agree_with_the_driver() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/check-deploy.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .output()
        .expect("python3 runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(" 0 problems"), "{text}");
}
