//! The netlink loop: every kernel event gets exactly one `*_DONE` reply.
//!
//! Opening a device can take seconds (a Gluster volume), so ADDED and REMOVED events are
//! handled on their own threads and their replies come back through a channel plus an
//! eventfd; the loop keeps receiving events for other devices meanwhile.

#![forbid(unsafe_code)]

use super::open::{OpenDefaults, Opening, Roots, open_device};
use super::registry::DeviceRegistry;
use crate::control::netlink::{DeviceEvent, EventKind, NetlinkError, Reconfig, TcmuNetlink};
use crate::control::uio;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

/// A finished event waiting for its reply.
type Done = (DeviceEvent, i32);

/// State shared by the loop and the threads it starts.
#[derive(Debug)]
pub struct EventContext {
    pub registry: Arc<DeviceRegistry>,
    pub roots: Roots,
    pub defaults: OpenDefaults,
}

/// Receives and answers events until `stop` says so (it is asked at least every 250 ms).
/// `serving` runs once, just before the first event is received: from then on a
/// configfs write that waits for this daemon's answer (enabling a storage object) gets
/// it, so a thread that makes such writes may start.
pub fn run(
    nl: &mut TcmuNetlink,
    ctx: Arc<EventContext>,
    mut stop: impl FnMut() -> bool,
    serving: impl FnOnce(),
) -> Result<(), NetlinkError> {
    let wake = Arc::new(
        rustix::event::eventfd(
            0,
            rustix::event::EventfdFlags::CLOEXEC | rustix::event::EventfdFlags::NONBLOCK,
        )
        .map_err(|e| NetlinkError::Io {
            op: "eventfd",
            source: e.into(),
        })?,
    );
    let (tx, rx) = channel::<Done>();
    serving();
    while !stop() {
        wait(nl, &wake);
        send_replies(nl, &rx, &wake)?;
        while let Some(ev) = nl.try_recv()? {
            handle(ev, &ctx, &tx, &wake, nl)?;
        }
    }
    Ok(())
}

fn wait(nl: &TcmuNetlink, wake: &OwnedFd) {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    if nl.has_pending() {
        return;
    }
    let nl_fd = nl.as_fd();
    let mut fds = [
        PollFd::new(&nl_fd, PollFlags::IN),
        PollFd::new(wake, PollFlags::IN),
    ];
    let timeout = Timespec {
        tv_sec: 0,
        tv_nsec: 250_000_000,
    };
    let _ = poll(&mut fds, Some(&timeout));
}

fn send_replies(
    nl: &mut TcmuNetlink,
    rx: &Receiver<Done>,
    wake: &OwnedFd,
) -> Result<(), NetlinkError> {
    let _ = rustix::io::read(wake, &mut [0u8; 8]);
    while let Ok((ev, status)) = rx.try_recv() {
        reply(nl, &ev, status)?;
    }
    Ok(())
}

fn reply(nl: &mut TcmuNetlink, ev: &DeviceEvent, status: i32) -> Result<(), NetlinkError> {
    match nl.reply(ev, status) {
        Ok(()) => Ok(()),
        // The kernel stopped waiting (device already gone): nothing more to tell it.
        Err(NetlinkError::Kernel { op, source }) => {
            tracing::warn!(
                device = ev.uio_name,
                "kernel refused the {op} reply: {source}"
            );
            Ok(())
        }
        Err(e) => Err(e),
    }
}

fn handle(
    ev: DeviceEvent,
    ctx: &Arc<EventContext>,
    tx: &Sender<Done>,
    wake: &Arc<OwnedFd>,
    nl: &mut TcmuNetlink,
) -> Result<(), NetlinkError> {
    tracing::info!(device = ev.uio_name, minor = ev.minor, "{:?}", ev.kind);
    if let EventKind::Reconfig(r) = &ev.kind {
        let status = reconfigure(&ctx.registry, ev.minor, r);
        return reply(nl, &ev, status);
    }
    let (ctx, tx, wake) = (ctx.clone(), tx.clone(), wake.clone());
    let spawned = std::thread::Builder::new()
        .name(format!("event-uio{}", ev.minor))
        .spawn(move || {
            let status = match ev.kind {
                EventKind::Added => add(&ctx, ev.minor),
                _ => {
                    ctx.registry.remove(ev.minor);
                    0
                }
            };
            let _ = tx.send((ev, status));
            let _ = rustix::io::write(&*wake, &1u64.to_ne_bytes());
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start an event thread: {e}");
    }
    Ok(())
}

/// Opens and serves the device with UIO minor `minor`; returns the reply status.
pub fn add(ctx: &EventContext, minor: u32) -> i32 {
    let scan = match uio::scan(&ctx.roots.sys) {
        Ok(scan) => scan,
        Err(e) => {
            tracing::error!(minor, "cannot scan UIO devices: {e}");
            return -libc::EIO;
        }
    };
    let Some(dev) = scan.devices.into_iter().find(|d| d.index == minor) else {
        tracing::error!(minor, "no tcm-user UIO device with this minor");
        return -libc::ENODEV;
    };
    match open_device(&ctx.roots, &dev, &ctx.defaults, Opening::Added) {
        Ok(device) => match ctx.registry.serve(dev.clone(), device) {
            Ok(()) => {
                tracing::info!(device = %dev.name, "serving");
                super::ha::start(&ctx.registry, dev.index);
                if dev.name.subtype == "glfs" {
                    super::ha::adopt::watch_new(&ctx.registry, &ctx.roots.configfs, dev.index);
                }
                adopt_identity_later(ctx, dev);
                0
            }
            Err(e) => {
                tracing::error!(device = %dev.name, "cannot start serving: {e}");
                -libc::EIO
            }
        },
        Err(e) => {
            tracing::error!(device = %dev.name, "cannot open: {}", crate::error_text::admin_message(&e));
            e.errno()
        }
    }
}

/// Applies a RECONFIG event; returns the reply status.
fn reconfigure(registry: &DeviceRegistry, minor: u32, r: &Reconfig) -> i32 {
    if r.dev_cfg.is_some() {
        tracing::warn!(
            minor,
            "changing the config string of a live LUN is not supported; use targetcli changemedium"
        );
        return -libc::EOPNOTSUPP;
    }
    let (size, wce) = (r.dev_size, r.write_cache);
    let result = registry.with_device(minor, move |d| {
        if let Some(on) = wce {
            d.set_write_cache(on);
        }
        match size {
            Some(bytes) => d.resize(bytes).map_err(|e| {
                tracing::error!(device = d.name(), "resize to {bytes} failed: {e}");
                -libc::EINVAL
            }),
            None => Ok(()),
        }
    });
    match result {
        Some(Ok(())) => 0,
        Some(Err(errno)) => errno,
        None => -libc::ENODEV,
    }
}

/// rtslib writes the device's `wwn/` attributes (unit serial, product) right after the
/// enable that produced ADDED_DEVICE; this waits for them off the data path and hands
/// them to the device, so INQUIRY and VPD 80h/83h match what targetcli shows.
fn adopt_identity_later(ctx: &EventContext, dev: uio::UioDevice) {
    let Ok(cfs) = crate::control::configfs::ConfigfsDevice::locate(&ctx.roots.configfs, &dev.name)
    else {
        return;
    };
    let registry = ctx.registry.clone();
    let spawned = std::thread::Builder::new()
        .name("identity".into())
        .spawn(move || {
            for _ in 0..100 {
                if let Some(id) = super::open::read_identity(cfs.dir()) {
                    let applied = registry.with_device(dev.index, move |d| {
                        let changed = d.lun_config().serial != id.serial
                            || d.lun_config().product != id.product;
                        if changed {
                            d.set_identity(&id).map(|()| true)
                        } else {
                            Ok(false)
                        }
                    });
                    if let Some(Ok(true)) = applied {
                        tracing::info!(device = %dev.name, "identity taken from configfs wwn/");
                    }
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("cannot start the identity thread: {e}");
    }
}
