//! The daemon: recover devices left by a previous run, then serve kernel events until
//! SIGTERM. The data path runs on the reactor threads; this module is control only.

#![forbid(unsafe_code)]

pub mod events;
pub mod list;
pub mod metrics;
pub mod open;
pub mod registry;
pub mod service;

use crate::control::configfs::{ConfigfsDevice, ResetMode};
use crate::control::netlink::{NetlinkError, TcmuNetlink};
use crate::control::{dbus, kmod, uio};
use events::EventContext;
use open::{OpenDefaults, Opening, Roots, open_device};
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

/// Takes over devices a previous daemon served: with netlink events held back, each
/// device is blocked, its ring reset (outstanding commands return BUSY, so initiators
/// retry them), mapped, served, and unblocked.
fn recover(ctx: &EventContext) {
    let sys = &ctx.roots.sys;
    let blocked = kmod::block_netlink(sys, true).is_ok();
    if !blocked {
        tracing::warn!("cannot block netlink (old kernel?): recovering without it");
    } else if let Err(e) = kmod::reset_netlink(sys) {
        tracing::warn!("cannot reset pending netlink events: {e}");
    }
    match uio::scan(sys) {
        Ok(scan) => {
            for e in &scan.errors {
                tracing::warn!("skipping a UIO device: {e}");
            }
            for dev in scan.devices {
                recover_one(ctx, dev);
            }
        }
        Err(e) => tracing::error!("cannot scan UIO devices: {e}"),
    }
    if blocked {
        if let Err(e) = kmod::block_netlink(sys, false) {
            tracing::error!("cannot unblock netlink: {e}");
        }
    }
}

fn recover_one(ctx: &EventContext, dev: uio::UioDevice) {
    let cfs = match ConfigfsDevice::locate(&ctx.roots.configfs, &dev.name) {
        Ok(c) => c,
        Err(e) => return tracing::error!(device = %dev.name, "cannot find configfs entry: {e}"),
    };
    let blocked = cfs.block_dev(true).is_ok();
    if let Err(e) = cfs.reset_ring(ResetMode::Busy) {
        tracing::warn!(device = %dev.name, "cannot reset the ring: {e}");
    }
    match open_device(&ctx.roots, &dev, &ctx.defaults, Opening::Recovered) {
        Ok(device) => match ctx.registry.serve(dev.clone(), device) {
            Ok(()) => tracing::info!(device = %dev.name, "recovered"),
            Err(e) => tracing::error!(device = %dev.name, "cannot serve: {e}"),
        },
        Err(e) => {
            tracing::error!(device = %dev.name, "cannot recover: {}", crate::handler::admin_message(&e))
        }
    }
    if blocked {
        if let Err(e) = cfs.block_dev(false) {
            tracing::error!(device = %dev.name, "cannot unblock: {e}");
        }
    }
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
