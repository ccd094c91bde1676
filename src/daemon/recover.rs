//! Restart takeover: serve the devices a previous daemon left behind.
//!
//! Devices are taken over by a few worker threads at once. Opening one can take a
//! connect deadline (a Gluster server that accepts and never answers), and each device
//! stays blocked (its initiators' commands wait in the kernel) until it is served, so
//! one silent volume must not hold up the LUNs of every other volume behind it.

#![forbid(unsafe_code)]

use super::events::EventContext;
use super::open::{Opening, open_device};
use crate::control::configfs::{ConfigfsDevice, ResetMode};
use crate::control::{kmod, uio};
use std::sync::{Mutex, PoisonError};

/// How many devices are taken over at once.
const WORKERS: usize = 8;

/// Takes over devices a previous daemon served: with netlink events held back, each
/// device is blocked, its ring reset (outstanding commands return BUSY, so initiators
/// retry them), mapped, served, and unblocked.
pub(super) fn recover(ctx: &EventContext) {
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
            on_workers(scan.devices, WORKERS, |dev| recover_one(ctx, dev));
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
            Ok(()) => {
                tracing::info!(device = %dev.name, "recovered");
                super::ha::start(&ctx.registry, dev.index);
            }
            Err(e) => tracing::error!(device = %dev.name, "cannot serve: {e}"),
        },
        Err(e) => {
            tracing::error!(device = %dev.name, "cannot recover: {}", crate::error_text::admin_message(&e))
        }
    }
    if blocked {
        if let Err(e) = cfs.block_dev(false) {
            tracing::error!(device = %dev.name, "cannot unblock: {e}");
        }
    }
}

/// Runs `work` on every item, on up to `workers` threads (the calling thread is one of
/// them), and returns when all are done. If no thread can be started, the calling
/// thread does all the work.
fn on_workers<T: Send>(items: Vec<T>, workers: usize, work: impl Fn(T) + Sync) {
    let extra = workers.min(items.len()).saturating_sub(1);
    let queue = Mutex::new(items.into_iter());
    let next = || queue.lock().unwrap_or_else(PoisonError::into_inner).next();
    let drain = || {
        while let Some(item) = next() {
            work(item);
        }
    };
    std::thread::scope(|s| {
        for i in 0..extra {
            let spawned = std::thread::Builder::new()
                .name(format!("recover-{i}"))
                .spawn_scoped(s, drain);
            if let Err(e) = spawned {
                tracing::warn!("takeover continues on fewer threads: {e}");
                break;
            }
        }
        drain();
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Condvar;
    use std::time::Duration;

    /// Each item waits (at most 30 s) until `workers` items run at once: with fewer
    /// threads the rendezvous never happens and the test fails instead of hanging.
    #[test]
    fn every_item_is_done_once_with_the_workers_running_at_once() {
        const WORKERS: usize = 4;
        #[derive(Default)]
        struct Seen {
            active: usize,
            most: usize,
            met: bool,
            done: Vec<u32>,
        }
        let seen = Mutex::new(Seen::default());
        let changed = Condvar::new();
        on_workers((0..3 * WORKERS as u32).collect(), WORKERS, |item| {
            let mut s = seen.lock().unwrap();
            s.active += 1;
            s.most = s.most.max(s.active);
            s.met |= s.active == WORKERS;
            changed.notify_all();
            let (mut s, _) = changed
                .wait_timeout_while(s, Duration::from_secs(30), |s| !s.met)
                .unwrap();
            s.active -= 1;
            s.done.push(item);
        });
        let mut s = seen.into_inner().unwrap();
        assert!(s.met, "{WORKERS} items never ran at once");
        assert_eq!(s.most, WORKERS, "never more than the workers");
        s.done.sort_unstable();
        assert_eq!(s.done, (0..3 * WORKERS as u32).collect::<Vec<_>>());
    }

    #[test]
    fn fewer_items_than_workers_and_none_at_all() {
        let done = Mutex::new(Vec::new());
        on_workers(vec![7, 8], 8, |i| done.lock().unwrap().push(i));
        let mut done = done.into_inner().unwrap();
        done.sort_unstable();
        assert_eq!(done, [7, 8]);
        on_workers(Vec::<u32>::new(), 8, |_| unreachable!("no items"));
    }
}
