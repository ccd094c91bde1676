//! The driver as the Kubernetes sidecars see it: its binary started as a process,
//! serving on a unix socket, and a real gRPC client (tonic's, generated from the CSI
//! specification's proto) talking to it. For the controller, the loopback glusterd's
//! volumes (tests/gluster/setup.sh); no gateway runs here, so the driver is told not to
//! wait for one.
#![allow(dead_code)]

use gluster_tcmu_csi::caps;
use gluster_tcmu_csi::proto::controller_client::ControllerClient;
use gluster_tcmu_csi::proto::identity_client::IdentityClient;
use gluster_tcmu_csi::proto::node_client::NodeClient;
use gluster_tcmu_csi::proto::volume_capability::access_mode::Mode;
use gluster_tcmu_csi::proto::*;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tonic::transport::{Channel, Endpoint, Uri};

/// The loopback glusterd's address (tests/gluster/setup.sh).
pub const HOST: &str = "127.0.0.2";
/// A gateway portal no real gateway has.
pub const GATEWAY: &str = "127.0.0.1:3260";
pub const MIB: i64 = 1 << 20;

/// Holds the fault tests (which stop bricks) off while it lives.
pub fn steady_volumes() -> std::fs::File {
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open("/tmp/gt-gluster-faults.lock")
        .expect("the fault tests' lock file");
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockShared).expect("a shared lock");
    lock
}

/// A running driver; killed when dropped.
pub struct Driver {
    child: Child,
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    _steady: std::fs::File,
}

impl Driver {
    /// The driver in `all` mode for `volume` (the glusterd port given, or the real one).
    pub fn start(volume: &str, glusterd_port: Option<u16>) -> Driver {
        let steady = steady_volumes();
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("csi.sock");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gluster-tcmu-csi"));
        cmd.arg(format!("--endpoint=unix://{}", socket.display()))
            .args(["--mode=all", "--node-id=test-node", "--gateway-wait-secs=0"])
            .args(["--connect-timeout-secs=10"])
            .arg(format!("--volume={volume}@{HOST}"))
            .arg(format!(
                "--gfapi-log={}",
                dir.path().join("gfapi.log").display()
            ))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null());
        if let Some(port) = glusterd_port {
            cmd.arg(format!("--glusterd-port={port}"));
        }
        let child = cmd.spawn().expect("the driver starts");
        let start = Instant::now();
        // The socket's file appears at bind, before the driver listens on it: a connect
        // in between is refused (seen on a loaded machine), so wait for one to succeed.
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the driver does not accept connections on {}",
                socket.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Driver {
            child,
            dir,
            socket,
            _steady: steady,
        }
    }

    pub async fn channel(&self) -> Channel {
        connect(&self.socket).await
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A gRPC channel over the unix socket at `path`.
pub async fn connect(path: &Path) -> Channel {
    let path = path.to_owned();
    Endpoint::try_from("http://[::]:50051")
        .unwrap()
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(path).await?;
                Ok::<_, std::io::Error>(TokioIo::new(stream))
            }
        }))
        .await
        .expect("a channel to the driver")
}

pub fn identity(c: &Channel) -> IdentityClient<Channel> {
    IdentityClient::new(c.clone())
}
pub fn controller(c: &Channel) -> ControllerClient<Channel> {
    ControllerClient::new(c.clone())
}
pub fn node(c: &Channel) -> NodeClient<Channel> {
    NodeClient::new(c.clone())
}

/// A request name no other test (or run) uses.
pub fn unique(what: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("csi-{what}-{}-{n}", std::process::id())
}

/// A StorageClass's parameters for `volume`, without CHAP.
pub fn params(volume: &str) -> HashMap<String, String> {
    [
        ("volume", volume.to_owned()),
        ("servers", HOST.to_owned()),
        ("gateways", GATEWAY.to_owned()),
        ("chap", "false".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

pub fn writer() -> VolumeCapability {
    caps::mount(Mode::SingleNodeWriter, "ext4")
}

/// A CreateVolume request of `required` bytes.
pub fn create_request(name: &str, volume: &str, required: i64) -> CreateVolumeRequest {
    CreateVolumeRequest {
        name: name.into(),
        capacity_range: Some(CapacityRange {
            required_bytes: required,
            limit_bytes: 0,
        }),
        volume_capabilities: vec![writer()],
        parameters: params(volume),
        ..Default::default()
    }
}

/// Volume IDs to delete at the end of a test, whatever happened.
#[derive(Clone, Default)]
pub struct Cleanup {
    socket: Arc<Mutex<Option<PathBuf>>>,
    ids: Arc<Mutex<Vec<String>>>,
}

impl Cleanup {
    pub fn new(driver: &Driver) -> Cleanup {
        let c = Cleanup::default();
        *c.socket.lock().unwrap() = Some(driver.socket.clone());
        c
    }

    pub fn add(&self, id: &str) {
        let mut ids = self.ids.lock().unwrap();
        if !ids.iter().any(|i| i == id) {
            ids.push(id.to_owned());
        }
    }

    /// Deletes every volume noted, and checks each is gone.
    pub async fn run(&self) {
        let Some(socket) = self.socket.lock().unwrap().clone() else {
            return;
        };
        let ids = std::mem::take(&mut *self.ids.lock().unwrap());
        let ch = connect(&socket).await;
        for id in ids {
            let req = DeleteVolumeRequest {
                volume_id: id.clone(),
                ..Default::default()
            };
            let deleted = retry_aborted(|| {
                let mut c = controller(&ch);
                let req = req.clone();
                async move { c.delete_volume(req).await }
            })
            .await;
            if let Err(e) = deleted {
                eprintln!("cleanup: volume {id} left: {e}");
                continue;
            }
            let gone = controller(&ch)
                .validate_volume_capabilities(ValidateVolumeCapabilitiesRequest {
                    volume_id: id.clone(),
                    volume_capabilities: vec![writer()],
                    ..Default::default()
                })
                .await;
            assert_eq!(
                gone.map(drop).unwrap_err().code(),
                tonic::Code::NotFound,
                "{id} is gone"
            );
        }
    }
}

impl Drop for Cleanup {
    /// A test that panicked still removes what it made.
    fn drop(&mut self) {
        if Arc::strong_count(&self.ids) > 1 || self.ids.lock().unwrap().is_empty() {
            return;
        }
        let me = self.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(me.run());
        })
        .join();
    }
}

/// Calls `f` again while it answers ABORTED (another call on the volume runs), as the
/// sidecars do.
pub async fn retry_aborted<T, F, Fut>(mut f: F) -> Result<T, tonic::Status>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    for _ in 0..600 {
        match f().await {
            Err(e) if e.code() == tonic::Code::Aborted => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return other.map(tonic::Response::into_inner),
        }
    }
    Err(tonic::Status::deadline_exceeded("still ABORTED after 30 s"))
}
