//! `gluster-tcmu-csi`: the CSI driver's process. One binary for both sides: the
//! controller Deployment runs it with `--mode controller`, the node DaemonSet with
//! `--mode node`.

use clap::{Parser, ValueEnum};
use gluster_tcmu_csi::backend::Backend;
use gluster_tcmu_csi::controller::ControllerService;
use gluster_tcmu_csi::core::{ConnectOptions, GlfsVolumes, VolumeAddr, Waits};
use gluster_tcmu_csi::identity::IdentityService;
use gluster_tcmu_csi::node::{NodeConfig, NodeService, System};
use gluster_tcmu_csi::server::{self, Services};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// The Controller service (with Identity).
    Controller,
    /// The Node service (with Identity).
    Node,
    /// Both (tests, single-machine setups).
    All,
}

/// gluster-tcmu's CSI driver: Gluster block volumes for Kubernetes.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The gRPC endpoint: unix:///PATH.
    #[arg(long, default_value = "unix:///csi/csi.sock")]
    endpoint: String,
    /// Which services to serve.
    #[arg(long, value_enum, default_value = "all")]
    mode: Mode,
    /// This node's ID (the Kubernetes node name); the host name when not given.
    #[arg(long)]
    node_id: Option<String>,
    /// A Gluster volume the driver serves, VOLUME@SERVER[+SERVER...]: Probe checks it,
    /// and GetCapacity without parameters reports it. Repeatable.
    #[arg(long = "volume")]
    volumes: Vec<String>,
    /// The longest wait for a Gluster volume's servers.
    #[arg(long, default_value_t = 20)]
    connect_timeout_secs: u64,
    /// The longest wait for the gateways to serve a change (0: do not wait).
    #[arg(long, default_value_t = 30)]
    gateway_wait_secs: u64,
    /// The glusterd port of the volfile servers.
    #[arg(long, default_value_t = 24007)]
    glusterd_port: u16,
    /// gfapi's log file.
    #[arg(long, default_value = "/var/log/gluster-tcmu/csi-gfapi.log")]
    gfapi_log: PathBuf,
    /// The longest wait for a disk to appear after a login, or to grow after a rescan.
    #[arg(long, default_value_t = 30)]
    device_wait_secs: u64,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gluster-tcmu-csi: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let services = services(&args)?;
    let path = server::socket_path(&args.endpoint).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("tokio: {e}"))?;
    runtime.block_on(async {
        let listener = server::listen(&path).map_err(|e| error_chain(&e))?;
        tracing::info!("serving {:?} on {}", args.mode, path.display());
        server::serve(services, listener, shutdown())
            .await
            .map_err(|e| error_chain(&e))
    })
}

fn services(args: &Args) -> Result<Services, String> {
    let backend = match args.mode {
        Mode::Node => None,
        Mode::Controller | Mode::All => Some(backend(args)?),
    };
    let node = match args.mode {
        Mode::Controller => None,
        Mode::Node | Mode::All => Some(NodeService::new(Arc::new(System), node_config(args))),
    };
    Ok(Services {
        identity: IdentityService::new(backend.clone()),
        controller: backend.map(ControllerService::new),
        node,
    })
}

fn backend(args: &Args) -> Result<Backend, String> {
    let volumes = args
        .volumes
        .iter()
        .map(|v| VolumeAddr::parse(v).map_err(|e| format!("--volume {v}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let connect = ConnectOptions {
        deadline: Duration::from_secs(args.connect_timeout_secs),
        log_file: args.gfapi_log.clone(),
        ..ConnectOptions::default()
    };
    let opener = GlfsVolumes::new(connect).with_glusterd_port(args.glusterd_port);
    let waits = Waits {
        timeout: Duration::from_secs(args.gateway_wait_secs),
        ..Waits::default()
    };
    Ok(Backend::new(Box::new(opener), waits, volumes))
}

fn node_config(args: &Args) -> NodeConfig {
    let node_id = args.node_id.clone().unwrap_or_else(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "unknown".into())
    });
    NodeConfig {
        device_wait: Duration::from_secs(args.device_wait_secs),
        ..NodeConfig::new(node_id)
    }
}

/// SIGTERM (the kubelet stopping the pod) or SIGINT.
async fn shutdown() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!("stopping");
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}
