//! The gluster CLI for the glfs tests (volumes made by tests/gluster/setup.sh).

use std::process::Command;

/// Runs `gluster --mode=script ARGS` and returns its stdout; fails loudly when the CLI or
/// the loopback volumes are missing.
pub fn gluster(args: &[&str]) -> String {
    let out = Command::new("gluster")
        .arg("--mode=script")
        .args(args)
        .output()
        .expect("the gluster CLI is missing: run tests/gluster/setup.sh");
    assert!(
        out.status.success(),
        "`gluster {}` failed ({}): run tests/gluster/setup.sh first\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
