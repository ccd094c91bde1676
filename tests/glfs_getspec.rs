//! Asking the real glusterd for a volfile without gfapi (`glfs::getspec`): it must be
//! byte for byte the client volfile glusterd keeps for local clients, an unknown volume
//! and a silent server must each give their own error. Fails (never skips) without gt1.
#![cfg(feature = "glfs")]

mod common;

use common::gluster::{HOST, gluster, mute_server, require_started};
use gluster_tcmu::glfs::Server;
use gluster_tcmu::glfs::getspec::{GetspecError, fetch};
use std::time::{Duration, Instant};

fn glusterd() -> Server {
    Server {
        host: HOST.into(),
        port: 24007,
    }
}

#[test]
fn glusterd_hands_out_the_trusted_client_volfile() {
    require_started("gt1");
    let on_disk = std::fs::read("/var/lib/glusterd/vols/gt1/trusted-gt1.tcp-fuse.vol")
        .expect("glusterd keeps gt1's client volfile");
    let fetched = fetch(&glusterd(), "gt1", Duration::from_secs(10)).expect("gt1's volfile");
    assert_eq!(
        String::from_utf8_lossy(&fetched),
        String::from_utf8_lossy(&on_disk)
    );
    assert!(String::from_utf8_lossy(&fetched).contains("volume gt1-client-0"));
}

#[test]
fn a_volume_option_shows_in_the_next_volfile() {
    require_started("gt1");
    let before = fetch(&glusterd(), "gt1", Duration::from_secs(10)).expect("gt1's volfile");
    // gt1 runs with quick-read off (tests/gluster/setup.sh).
    gluster(&["volume", "set", "gt1", "performance.quick-read", "on"]);
    let after = fetch(&glusterd(), "gt1", Duration::from_secs(10));
    gluster(&["volume", "set", "gt1", "performance.quick-read", "off"]);
    let after = after.expect("gt1's volfile");
    assert_ne!(before, after, "quick-read joined the graph");
    assert!(String::from_utf8_lossy(&after).contains("performance/quick-read"));
    let back = fetch(&glusterd(), "gt1", Duration::from_secs(10)).expect("gt1's volfile");
    assert_eq!(before, back, "the old value gives the first volfile back");
}

#[test]
fn an_unknown_volume_is_named_as_such() {
    require_started("gt1");
    assert_eq!(
        fetch(&glusterd(), "gt-no-such-volume", Duration::from_secs(10)),
        Err(GetspecError::NoSuchVolume {
            volume: "gt-no-such-volume".into()
        })
    );
}

#[test]
fn a_silent_server_times_out_at_the_deadline_and_a_closed_port_is_unreachable() {
    let (port, accepted) = mute_server();
    let mute = Server {
        host: "127.0.0.1".into(),
        port,
    };
    let started = Instant::now();
    let err = fetch(&mute, "gt1", Duration::from_millis(500)).unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, GetspecError::Timeout { .. }), "{err}");
    assert!(err.to_string().ends_with("within 500ms"), "{err}");
    assert!(took >= Duration::from_millis(500), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let err = fetch(
        &Server {
            host: "127.0.0.1".into(),
            port,
        },
        "gt1",
        Duration::from_secs(2),
    )
    .unwrap_err();
    assert!(matches!(err, GetspecError::Unreachable { .. }), "{err}");
}
