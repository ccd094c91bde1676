//! Connecting under a deadline to volfile servers that are slow or silent (gt1 through
//! stand-in servers on 127.0.0.1): a connect that outlives its caller's deadline goes on,
//! and the next caller for that volume waits on it instead of starting another. Fails
//! (never skips) without gt1.
#![cfg(feature = "glfs")]

mod common;

use common::gluster::{
    HOST, StandInGlusterd, mute_server, relay_to_glusterd, require_started, test_options,
    volume_key_at,
};
use gluster_tcmu::backstore::GlfsBackstore;
use gluster_tcmu::glfs::{ConnectionPool, GfapiError, GlfsError, Volume};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("gluster_tcmu=debug")
        .with_test_writer()
        .try_init();
}

/// A server that takes longer to answer than the deadline: each caller gives up, yet the
/// first attempt goes on, and a later caller gets its connection. Starting a new attempt
/// per call (each held back as long) would never connect.
#[test]
fn a_server_slower_than_the_deadline_is_connected_by_a_later_call() {
    init_logs();
    require_started("gt1");
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("bound").port();
    let accepted = relay_to_glusterd(listener, Duration::from_secs(3));
    let key = volume_key_at("gt1", "127.0.0.1", port);
    let mut opts = test_options().connect;
    opts.deadline = Duration::from_secs(2);

    let first = ConnectionPool::global().get(&key, &opts);
    assert!(
        matches!(first, Err(GlfsError::InitTimeout { .. })),
        "the first call outlasted by a 3 s server: {first:?}"
    );
    let mut calls = 1;
    let volume = loop {
        calls += 1;
        match ConnectionPool::global().get(&key, &opts) {
            Ok(v) => break v,
            Err(e) if calls < 5 => eprintln!("call {calls}: {e}"),
            Err(e) => panic!("still not connected after {calls} calls: {e}"),
        }
    };
    eprintln!("connected on call {calls}");
    assert_eq!(volume.name(), "gt1");
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "every call shared the first attempt's connection to the server"
    );
    assert_eq!(
        ConnectionPool::global().users(&key),
        1,
        "the pool holds the connection"
    );
}

/// Three LUNs taken over at once on a server that accepts and never answers: one waits
/// out the deadline, the other two start reconnecting at once, and the server sees a
/// single connect.
#[test]
fn luns_taken_over_together_on_a_silent_server_wait_one_deadline_between_them() {
    init_logs();
    let (port, accepted) = mute_server();
    let key = volume_key_at("gt1", "127.0.0.1", port);
    let mut opts = test_options();
    opts.connect.deadline = Duration::from_secs(3);
    // The background retries stay out of the test's way.
    opts.retry_min = Duration::from_secs(120);
    let openers: Vec<_> = (0..3)
        .map(|i| {
            let (key, opts) = (key.clone(), opts.clone());
            std::thread::spawn(move || {
                let path = format!("silent-{i}.img");
                let mut lun = GlfsBackstore::open_or_reconnect_at(key, &path, 1 << 20, &opts)
                    .expect("a LUN taken over opens without its server");
                assert!(
                    lun.is_reconnecting(),
                    "LUN {i} connected to a silent server"
                );
            })
        })
        .collect();
    for opener in openers {
        opener.join().expect("opener");
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "only the first LUN waited on the silent server"
    );
    // A failure more than a deadline old is tried again (here: waited on again).
    std::thread::sleep(opts.connect.deadline);
    let again = ConnectionPool::global().get_unless_failed(&key, &opts.connect);
    assert!(
        matches!(again, Err(GlfsError::InitTimeout { .. })),
        "{again:?}"
    );
}

/// A volume whose only brick is down: glusterd hands out the volfile, and gfapi's
/// `glfs_init` then fails with a bare EIO. The open fails at once and says what to
/// check and where gfapi's log is.
#[test]
fn a_volume_whose_bricks_are_all_down_fails_at_once_saying_what_to_check() {
    init_logs();
    let closed = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let brick_port = closed.local_addr().expect("bound").port();
    drop(closed);
    let volfile = format!(
        "volume nobrick-client-0\n    type protocol/client\n    \
         option remote-host 127.0.0.1\n    option remote-port {brick_port}\n    \
         option remote-subvolume /bricks/nobrick\n    option transport-type socket\n\
         end-volume\n"
    );
    let glusterd = StandInGlusterd::serve(volfile.into_bytes());
    let key = volume_key_at("nobrick", "127.0.0.1", glusterd.port);
    let opts = test_options().connect;
    let started = std::time::Instant::now();
    let e = ConnectionPool::global().get(&key, &opts).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        matches!(e, GlfsError::Gfapi(GfapiError::Start { .. })),
        "{e:?}"
    );
    assert_eq!(e.errno(), libc::EIO, "{e}");
    let text = e.to_string();
    assert!(text.contains("no brick answered"), "{text}");
    assert!(text.contains("gluster volume status nobrick"), "{text}");
    assert!(
        text.contains(&opts.log_file.display().to_string()),
        "{text}"
    );
}

/// Waits up to 5 s for `cond`.
fn within_5s(mut cond: impl FnMut() -> bool) -> bool {
    let until = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < until {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

/// gt1's real volfile, a stand-in glusterd that hands it out and counts the asks, and gt1
/// connected through that stand-in (a pool key of its own: the stand-in's port).
fn gt1_through_a_stand_in() -> (Vec<u8>, StandInGlusterd, Arc<Volume>) {
    init_logs();
    require_started("gt1");
    let real = gluster_tcmu::glfs::glusterd::fetch(
        &gluster_tcmu::glfs::Server {
            host: HOST.into(),
            port: 24007,
        },
        "gt1",
        Duration::from_secs(10),
    )
    .expect("gt1's volfile");
    let glusterd = StandInGlusterd::serve(real.clone());
    let key = volume_key_at("gt1", "127.0.0.1", glusterd.port);
    let volume = ConnectionPool::global()
        .get(&key, &test_options().connect)
        .expect("gt1 through the stand-in");
    (real, glusterd, volume)
}

/// The watch asks for the volfile when it starts, when glusterd sends its change notice,
/// and when it had to reconnect, and at no other time (each ask is a line in glusterd's
/// log). gt1's real volfile, handed out by a stand-in glusterd that counts the asks.
#[test]
fn the_watch_fetches_the_volfile_only_on_a_notice_or_a_reconnect() {
    let (real, glusterd, volume) = gt1_through_a_stand_in();
    assert_eq!(glusterd.calls(), 1);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(glusterd.calls(), 1, "no ask without a notice");

    glusterd.notify();
    assert!(within_5s(|| glusterd.calls() == 2), "asked on the notice");
    std::thread::sleep(Duration::from_millis(500));
    assert!(!volume.is_stale(), "the same volfile is no new generation");

    let mut changed = real.clone();
    changed.extend_from_slice(b"\n");
    glusterd.set_volfile(changed);
    glusterd.notify();
    assert!(
        within_5s(|| volume.is_stale()),
        "a new volfile is a new generation"
    );
    assert_eq!(glusterd.calls(), 3);

    glusterd.drop_connections();
    assert!(
        within_5s(|| glusterd.calls() == 4),
        "asked again after reconnecting"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(glusterd.calls(), 4, "and then no more");
}

/// The wake-ups a mailbox got since it was last read (its eventfd's count).
fn wakes(mailbox: &gluster_tcmu::glfs::Mailbox) -> u64 {
    let mut count = [0u8; 8];
    match rustix::io::read(mailbox.fd(), &mut count) {
        Ok(_) => u64::from_ne_bytes(count),
        Err(rustix::io::Errno::AGAIN) => 0,
        Err(e) => panic!("read the mailbox's eventfd: {e}"),
    }
}

/// A change wakes the LUNs that asked for it (`Volume::wake_on_change`, so that an idle
/// LUN moves too) once the volfile has stayed the same for the watch's settling time (2
/// s): a burst of three changes is one wake-up, one move, not three. Asking twice is
/// asking once.
#[test]
fn a_burst_of_volume_changes_wakes_a_lun_once_it_has_settled() {
    let (real, glusterd, volume) = gt1_through_a_stand_in();
    let mailbox = gluster_tcmu::glfs::Mailbox::new().unwrap();
    volume.wake_on_change(mailbox.wakeup());
    volume.wake_on_change(mailbox.wakeup());

    for n in 1..=3 {
        let mut changed = real.clone();
        changed.extend(std::iter::repeat_n(b'\n', n));
        glusterd.set_volfile(changed);
        glusterd.notify();
        assert!(
            within_5s(|| glusterd.calls() == 1 + n),
            "change {n} fetched"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let settled = std::time::Instant::now();
    assert!(volume.is_stale());
    let mut woken = 0;
    assert!(
        within_5s(|| {
            std::thread::sleep(Duration::from_millis(200));
            woken = wakes(&mailbox);
            woken > 0
        }),
        "no wake-up within 5 s of the last change"
    );
    assert_eq!(woken, 1, "one wake-up for the whole burst");
    // The watch took the last change before `settled`, and waits 2 s after it.
    assert!(
        settled.elapsed() >= Duration::from_millis(1700),
        "woken {:?} after the last change, before it settled",
        settled.elapsed()
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(wakes(&mailbox), 0, "one wake-up for the burst, and no more");
}
