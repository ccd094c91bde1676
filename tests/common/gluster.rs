//! The gluster CLI for the glfs tests (volumes made by tests/gluster/setup.sh), and
//! stand-in volfile servers for the fault tests.

use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

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

/// A test image's path on a volume, removed from the volume when dropped (when its test
/// fails too), so images do not pile up on the bricks from run to run. Bind it to a
/// variable declared before the LUN that uses it: the LUN then closes first.
#[cfg(feature = "glfs")]
pub struct Image {
    key: gluster_tcmu::glfs::VolumeKey,
    path: String,
}

#[cfg(feature = "glfs")]
impl Image {
    /// `NAME-PID.img` on the volume of `key`.
    pub fn on(key: gluster_tcmu::glfs::VolumeKey, name: &str) -> Image {
        let path = format!("{name}-{}.img", std::process::id());
        Image { key, path }
    }
}

#[cfg(feature = "glfs")]
impl std::ops::Deref for Image {
    type Target = str;
    fn deref(&self) -> &str {
        &self.path
    }
}

#[cfg(feature = "glfs")]
impl std::fmt::Display for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.path)
    }
}

#[cfg(feature = "glfs")]
impl Drop for Image {
    fn drop(&mut self) {
        use gluster_tcmu::glfs::{ConnectionPool, GlfsError, GlfsFile};
        let removed = ConnectionPool::global()
            .get(&self.key, &test_options().connect)
            .and_then(|volume| GlfsFile::remove(&volume, &self.path).map_err(GlfsError::from));
        match removed {
            Ok(()) => {}
            // Some tests only name an image (bad configs, CheckConfig).
            Err(e) if e.errno() == libc::ENOENT => {}
            Err(e) => eprintln!("test image {} left on {}: {e}", self.path, self.key.volume),
        }
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
            ..Default::default()
        },
        ..Default::default()
    }
}

/// A volfile server on a free port of 127.0.0.1 that accepts connections and never
/// answers. Returns the port and how many connections it has accepted.
pub fn mute_server() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("bound").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(s); // accept, never answer
        }
    });
    (port, accepted)
}

/// Serves `listener` as a volfile server that relays every connection to glusterd,
/// each after holding it silent for `delay` (a slow server). Returns how many
/// connections it has accepted.
pub fn relay_to_glusterd(listener: TcpListener, delay: Duration) -> Arc<AtomicUsize> {
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || relay(client, delay));
        }
    });
    accepted
}

fn relay(client: TcpStream, delay: Duration) {
    std::thread::sleep(delay);
    let Ok(server) = TcpStream::connect((HOST, 24007)) else {
        return;
    };
    let pairs = [
        (
            client.try_clone().expect("clone"),
            server.try_clone().expect("clone"),
        ),
        (server, client),
    ];
    for (mut from, mut to) in pairs {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut to);
            let _ = to.shutdown(Shutdown::Write);
        });
    }
}

/// A stand-in glusterd on a free port of 127.0.0.1 that answers every GETSPEC call, on
/// any number of connections, with the volfile it holds (a graph the test wrote, or a
/// real volume's), counts the calls, and sends glusterd's change notice on request.
pub struct StandInGlusterd {
    pub port: u16,
    volfile: Arc<std::sync::Mutex<Vec<u8>>>,
    calls: Arc<AtomicUsize>,
    conns: Arc<std::sync::Mutex<Vec<TcpStream>>>,
}

impl StandInGlusterd {
    pub fn serve(volfile: Vec<u8>) -> StandInGlusterd {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().expect("bound").port();
        let server = StandInGlusterd {
            port,
            volfile: Arc::new(std::sync::Mutex::new(volfile)),
            calls: Arc::new(AtomicUsize::new(0)),
            conns: Arc::new(std::sync::Mutex::new(Vec::new())),
        };
        let (volfile, calls, conns) = (
            server.volfile.clone(),
            server.calls.clone(),
            server.conns.clone(),
        );
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                conns.lock().unwrap().push(conn.try_clone().expect("clone"));
                let (volfile, calls) = (volfile.clone(), calls.clone());
                std::thread::spawn(move || answer_getspec(conn, &volfile, &calls));
            }
        });
        server
    }

    /// How many GETSPEC calls it has answered.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// What it hands out from now on.
    pub fn set_volfile(&self, volfile: Vec<u8>) {
        *self.volfile.lock().unwrap() = volfile;
    }

    /// glusterd's change notice (a GF_CBK_FETCHSPEC call) down every open connection.
    pub fn notify(&self) {
        use std::io::Write;
        let mut call = Vec::new();
        for word in [0x8000_0018u32, 1, 0, 2, 52_743_234, 1, 1] {
            call.extend_from_slice(&word.to_be_bytes());
        }
        for conn in self.conns.lock().unwrap().iter_mut() {
            let _ = conn.write_all(&call);
        }
    }

    /// Closes every open connection (a glusterd restart, as its clients see it).
    pub fn drop_connections(&self) {
        for conn in self.conns.lock().unwrap().drain(..) {
            let _ = conn.shutdown(Shutdown::Both);
        }
    }
}

/// Answers each call on `conn` (ONC RPC records) with an accepted reply carrying
/// `gf_getspec_rsp { op_ret = len, op_errno = 0, spec = volfile, xdata = {} }`.
fn answer_getspec(mut conn: TcpStream, volfile: &std::sync::Mutex<Vec<u8>>, calls: &AtomicUsize) {
    use std::io::{Read, Write};
    loop {
        let mut mark = [0u8; 4];
        if conn.read_exact(&mut mark).is_err() {
            return;
        }
        let mut call = vec![0u8; (u32::from_be_bytes(mark) & 0x7fff_ffff) as usize];
        if conn.read_exact(&mut call).is_err() || call.len() < 4 {
            return;
        }
        let volfile = volfile.lock().unwrap().clone();
        let mut body = call[..4].to_vec(); // the call's xid
        for word in [
            1u32,
            0,
            0,
            0,
            0,
            volfile.len() as u32,
            0,
            volfile.len() as u32,
        ] {
            body.extend_from_slice(&word.to_be_bytes());
        }
        body.extend_from_slice(&volfile);
        body.resize(body.len().next_multiple_of(4), 0);
        body.extend_from_slice(&0u32.to_be_bytes()); // empty xdata
        let mut record = (0x8000_0000u32 | body.len() as u32).to_be_bytes().to_vec();
        record.extend_from_slice(&body);
        calls.fetch_add(1, Ordering::SeqCst);
        if conn.write_all(&record).is_err() {
            return;
        }
    }
}
