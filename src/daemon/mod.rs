//! The daemon: recover devices left by a previous run, then serve kernel events until
//! SIGTERM; on a gateway (settings `[exports]`), converge LIO to the block exports of its
//! volumes ([`crate::gateway`]) once events are served. The data path runs on the reactor
//! threads; this module is control only.

#![forbid(unsafe_code)]

pub mod control;
pub mod events;
pub mod ha;
pub mod list;
pub mod metrics;
pub mod open;
mod recover;
pub mod registry;
pub mod service;
pub mod time_out;

use crate::control::dbus;
use crate::control::netlink::{NetlinkError, TcmuNetlink};
use crate::gateway::{self, GatewayHandle, GatewayOptions, Requests};
use events::EventContext;
use open::{OpenDefaults, Roots};
use recover::recover;
use registry::DeviceRegistry;
use std::cell::OnceCell;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long, once asked to stop, the daemon keeps answering netlink events for a
/// gateway pass that is still running (it may be enabling a storage object, which waits
/// for the daemon's answer).
const GATEWAY_STOP_WAIT: Duration = Duration::from_secs(10);

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    pub reactor_threads: usize,
    /// How the reactor threads wait for work (busy polling).
    pub reactor: crate::reactor::ReactorOptions,
    pub roots: Roots,
    pub defaults: OpenDefaults,
    /// Unix socket answering `gluster-tcmu list` and `converge` ([`control`]).
    pub control_socket: PathBuf,
    /// Register `org.kernel.TCMUService1` on the system bus for targetcli.
    pub dbus: bool,
    /// Serve Prometheus metrics here (off when `None`).
    pub metrics: Option<std::net::SocketAddr>,
    /// Be a gateway of block exports (settings `[exports]`; none when `None`).
    pub gateway: Option<GatewayOptions>,
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
    // SIGHUP reopens a log file (logging); with any other log target it must still not
    // end the daemon (its default action), since admins send it to reload or reopen.
    signal_hook::flag::register(
        signal_hook::consts::SIGHUP,
        Arc::new(AtomicBool::new(false)),
    )
    .map_err(DaemonError::Signals)?;
    let registry = Arc::new(DeviceRegistry::new(opts.reactor_threads, opts.reactor)?);
    let ctx = Arc::new(EventContext {
        registry: registry.clone(),
        roots: opts.roots.clone(),
        defaults: opts.defaults,
    });
    let mut nl = TcmuNetlink::open()?;
    recover(&ctx);
    let watch = ha::adopt::watch_all(registry.clone(), opts.roots.configfs.clone(), stop.clone());
    if let Err(e) = watch {
        tracing::warn!("cannot watch for target port groups made after a LUN opened: {e}");
    }
    let (handle, requests) = gateway_channel(opts.gateway.is_some());
    let _control = control::serve(&opts.control_socket, registry.clone(), handle)
        .map_err(DaemonError::Control)?;
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
    let gateway_thread = OnceCell::new();
    let serving = || {
        if let (Some(opts), Some(requests)) = (opts.gateway.clone(), requests) {
            start_gateway(opts, registry.clone(), requests, &stop, &gateway_thread);
        }
    };
    let stop_events = stop_after_gateway(&stop, &gateway_thread);
    let result = events::run(&mut nl, ctx.clone(), stop_events, serving);
    tracing::info!("stopping: releasing devices");
    registry.shutdown();
    result.map_err(Into::into)
}

/// The gateway's handle and requests, when there is a gateway.
fn gateway_channel(gateway: bool) -> (Option<GatewayHandle>, Option<Requests>) {
    if !gateway {
        return (None, None);
    }
    let (handle, requests) = gateway::channel();
    (Some(handle), Some(requests))
}

/// Starts the gateway thread (called once netlink events are served).
fn start_gateway(
    opts: GatewayOptions,
    registry: Arc<DeviceRegistry>,
    requests: Requests,
    stop: &Arc<AtomicBool>,
    thread: &OnceCell<JoinHandle<()>>,
) {
    match gateway::start(opts, registry, requests, stop.clone()) {
        Ok(handle) => {
            let _ = thread.set(handle);
        }
        Err(e) => tracing::error!("cannot start the gateway thread: {e}"),
    }
}

/// When the netlink loop ends: once `stop` is set and the gateway thread (if any) has
/// finished its pass, or [`GATEWAY_STOP_WAIT`] after `stop`, whichever comes first.
fn stop_after_gateway<'a>(
    stop: &'a AtomicBool,
    gateway: &'a OnceCell<JoinHandle<()>>,
) -> impl FnMut() -> bool + 'a {
    let mut asked: Option<Instant> = None;
    move || {
        if !stop.load(Ordering::Relaxed) {
            return false;
        }
        let since = *asked.get_or_insert_with(Instant::now);
        let finished = gateway.get().is_none_or(JoinHandle::is_finished);
        if !finished && since.elapsed() >= GATEWAY_STOP_WAIT {
            tracing::warn!("the gateway's pass has not finished; stopping without it");
        }
        finished || since.elapsed() >= GATEWAY_STOP_WAIT
    }
}

/// Registers `org.kernel.TCMUService1` on the system bus, so targetcli lists and
/// validates `user:` backstores.
fn dbus_service(ctx: &Arc<EventContext>) -> Result<dbus::DbusService, DaemonError> {
    let ops = Arc::new(service::DaemonOps {
        registry: ctx.registry.clone(),
        defaults: ctx.defaults.clone(),
        configfs: ctx.roots.configfs.clone(),
    });
    dbus::serve(dbus::BusChoice::System, dbus::HandlerInfo::builtin(), ops)
        .map_err(|e| DaemonError::Dbus(Box::new(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netlink_serving_outlasts_a_running_gateway_pass() {
        let stop = AtomicBool::new(false);
        let gateway = OnceCell::new();
        let (finish, finished) = std::sync::mpsc::channel::<()>();
        let _ = gateway.set(std::thread::spawn(move || {
            let _ = finished.recv();
        }));
        let mut should_stop = stop_after_gateway(&stop, &gateway);
        assert!(!should_stop(), "not asked to stop");
        stop.store(true, Ordering::Relaxed);
        assert!(!should_stop(), "the gateway's pass still runs");
        finish.send(()).unwrap();
        while gateway.get().is_some_and(|t| !t.is_finished()) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(should_stop());

        let none = OnceCell::new();
        assert!(stop_after_gateway(&stop, &none)(), "no gateway: at once");
    }
}
