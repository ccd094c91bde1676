//! The daemon: recover devices left by a previous run, then serve kernel events until
//! SIGTERM. The data path runs on the reactor threads; this module is control only.

#![forbid(unsafe_code)]

pub mod events;
pub mod list;
pub mod metrics;
pub mod open;
mod recover;
pub mod registry;
pub mod service;
pub mod time_out;

use crate::control::dbus;
use crate::control::netlink::{NetlinkError, TcmuNetlink};
use events::EventContext;
use open::{OpenDefaults, Roots};
use recover::recover;
use registry::Registry;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    pub reactor_threads: usize,
    /// How the reactor threads wait for work (busy polling).
    pub reactor: crate::reactor::ReactorOptions,
    pub roots: Roots,
    pub defaults: OpenDefaults,
    /// Unix socket answering `gluster-tcmu list`.
    pub control_socket: PathBuf,
    /// Register `org.kernel.TCMUService1` on the system bus for targetcli.
    pub dbus: bool,
    /// Serve Prometheus metrics here (off when `None`).
    pub metrics: Option<std::net::SocketAddr>,
}

/// Why the daemon stopped.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("cannot start reactor threads")]
    Reactor(#[from] crate::reactor::ReactorError),
    #[error("netlink")]
    Netlink(#[from] NetlinkError),
    #[error("control socket")]
    Control(#[source] std::io::Error),
    #[error("signal handling")]
    Signals(#[source] std::io::Error),
    #[error("D-Bus service")]
    Dbus(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Runs until SIGTERM or SIGINT; releases every device before returning.
pub fn run(opts: DaemonOptions) -> Result<(), DaemonError> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone()).map_err(DaemonError::Signals)?;
    }
    let registry = Arc::new(Registry::new(opts.reactor_threads, opts.reactor)?);
    let ctx = Arc::new(EventContext {
        registry: registry.clone(),
        roots: opts.roots.clone(),
        defaults: opts.defaults,
    });
    let mut nl = TcmuNetlink::open()?;
    recover(&ctx);
    let _list =
        list::serve(&opts.control_socket, registry.clone()).map_err(DaemonError::Control)?;
    if let Some(addr) = opts.metrics {
        let bound = metrics::serve(addr, registry.clone()).map_err(DaemonError::Control)?;
        tracing::info!("metrics on http://{bound}/metrics");
    }
    let _dbus = if opts.dbus {
        Some(dbus_service(&ctx)?)
    } else {
        None
    };
    tracing::info!(reactors = registry.reactor_count(), "gluster-tcmu ready");
    let result = events::run(&mut nl, ctx.clone(), &stop);
    tracing::info!("stopping: releasing devices");
    registry.shutdown();
    result.map_err(Into::into)
}

/// Registers `org.kernel.TCMUService1` on the system bus, so targetcli lists and
/// validates `user:` backstores.
fn dbus_service(ctx: &Arc<EventContext>) -> Result<dbus::DbusService, DaemonError> {
    let ops = Arc::new(service::DaemonOps {
        registry: ctx.registry.clone(),
        defaults: ctx.defaults.clone(),
    });
    dbus::serve(dbus::BusChoice::System, dbus::HandlerInfo::builtin(), ops)
        .map_err(|e| DaemonError::Dbus(Box::new(e)))
}
