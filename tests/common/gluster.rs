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

/// The loopback address tests/gluster/setup.sh serves its volumes on (the CLI refuses
/// localhost and 127.0.0.1 for bricks).
pub const HOST: &str = "127.0.0.2";

/// Fails loudly unless `volume` is started.
pub fn require_started(volume: &str) {
    let info = gluster(&["volume", "info", volume]);
    assert!(
        info.contains("Status: Started"),
        "volume {volume} is not started: run tests/gluster/setup.sh\n{info}"
    );
}

/// The pid of `volume`'s brick `b{n}`, from `gluster volume status --xml`.
pub fn brick_pid(volume: &str, n: u32) -> i32 {
    let xml = gluster(&["volume", "status", volume, "--xml"]);
    let suffix = format!("/{volume}/b{n}</path>");
    let node = xml
        .split("<node>")
        .find(|node| node.contains(&suffix))
        .unwrap_or_else(|| panic!("brick b{n} of {volume} not in volume status:\n{xml}"));
    let pid = node
        .split("<pid>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no pid for brick b{n}:\n{node}"));
    assert!(
        pid > 0,
        "brick b{n} of {volume} is not running: run tests/gluster/setup.sh"
    );
    pid
}

/// `volume` through the volfile server `host`:24007.
#[cfg(feature = "glfs")]
pub fn volume_key(volume: &str, host: &str) -> gluster_tcmu::glfs::VolumeKey {
    volume_key_at(volume, host, 24007)
}

/// `volume` through a volfile server at `host:port` (a stand-in server in fault tests).
pub fn volume_key_at(volume: &str, host: &str, port: u16) -> gluster_tcmu::glfs::VolumeKey {
    gluster_tcmu::glfs::VolumeKey {
        volume: volume.into(),
        servers: vec![gluster_tcmu::glfs::Server {
            host: host.into(),
            port,
        }],
    }
}

/// Backstore options for the tests: a 20 s connect deadline, gfapi's log in its own file.
#[cfg(feature = "glfs")]
pub fn test_options() -> gluster_tcmu::backstore::GlfsOptions {
    gluster_tcmu::backstore::GlfsOptions {
        connect: gluster_tcmu::glfs::ConnectOptions {
            deadline: std::time::Duration::from_secs(20),
            log_file: "/var/log/gluster-tcmu/gfapi-tests.log".into(),
            log_level: 5,
        },
        ..Default::default()
    }
}
