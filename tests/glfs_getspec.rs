//! Asking the real glusterd for a volfile without gfapi (`glfs::glusterd`): it must be
//! byte for byte the client volfile glusterd keeps for local clients, an unknown volume
//! and a silent server must each give their own error. Fails (never skips) without gt1.
#![cfg(feature = "glfs")]

mod common;

use common::gluster::{HOST, gluster, mute_server, require_started};
use gluster_tcmu::glfs::Server;
use gluster_tcmu::glfs::glusterd::{Client, GetspecError, VolfileError, fetch};
use gluster_tcmu::glfs::{ConnectionPool, GlfsError, VolumeKey};
use std::time::{Duration, Instant};

/// Held by the tests that toggle a gt1 option, which would see each other's changes.
static GT1_OPTION: std::sync::Mutex<()> = std::sync::Mutex::new(());

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
    let _one_at_a_time = GT1_OPTION.lock().unwrap_or_else(|e| e.into_inner());
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

/// What the watch does once a second: call after call over one connection. glusterd
/// sends its own change notice down that connection when the volume changes; the next
/// fetch passes over it and returns the new volfile.
#[test]
fn one_connection_follows_a_volume_change() {
    require_started("gt1");
    let _one_at_a_time = GT1_OPTION.lock().unwrap_or_else(|e| e.into_inner());
    let mut client = Client::connect(&glusterd(), Duration::from_secs(10)).expect("glusterd");
    let before = client
        .fetch("gt1", Duration::from_secs(10))
        .expect("gt1's volfile");
    assert_eq!(
        client.fetch("gt1", Duration::from_secs(10)).as_ref(),
        Ok(&before),
        "nothing changed"
    );
    gluster(&["volume", "set", "gt1", "performance.quick-read", "on"]);
    let after = client.fetch("gt1", Duration::from_secs(10));
    gluster(&["volume", "set", "gt1", "performance.quick-read", "off"]);
    let after = after.expect("gt1's volfile after the change");
    assert!(String::from_utf8_lossy(&after).contains("performance/quick-read"));
    let back = client
        .fetch("gt1", Duration::from_secs(10))
        .expect("gt1's volfile");
    assert_eq!(before, back, "the old value gives the first volfile back");
    assert!(
        client.notices() >= 1,
        "glusterd noticed the connection of each change"
    );
}

fn closed_port() -> Server {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    Server {
        host: "127.0.0.1".into(),
        port,
    }
}

/// A volfile server that is down is passed over for the next; when none has the volume,
/// the answer is glusterd's ("no such volume"), not the last server's refused connect.
#[test]
fn a_server_that_is_down_is_passed_over_and_glusterds_answer_wins() {
    require_started("gt1");
    let opts = common::gluster::test_options().connect;
    let key = VolumeKey {
        volume: "gt1".into(),
        servers: vec![closed_port(), glusterd()],
    };
    let volume = ConnectionPool::global()
        .get(&key, &opts)
        .expect("gt1 through its second server");
    assert_eq!(volume.name(), "gt1");
    let key = VolumeKey {
        volume: "gt-no-such-volume".into(),
        servers: vec![glusterd(), closed_port()],
    };
    let e = ConnectionPool::global().get(&key, &opts).unwrap_err();
    assert!(
        matches!(
            e,
            GlfsError::Volfile(VolfileError {
                source: GetspecError::NoSuchVolume { .. },
                ..
            })
        ),
        "{e:?}"
    );
    assert_eq!(e.errno(), libc::ENOENT);
}
