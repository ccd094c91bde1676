//! The HA control thread of one LUN (docs/HA.md): runs [`Gateway`] on the events the
//! data path sends (`device::Device::enable_ha`), makes the blocking lock calls, and
//! sets the LUN's ALUA state through its reactor. It never runs on a reactor; it ends
//! when the LUN is gone (its sender dropped with the device).

use crate::device::Device;
use crate::ha::{Action, Event, Gateway, ImageLock, LockState};
use crate::scsi::alua::AccessState;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How often the thread looks whether a fenced LUN's commands have drained.
const DRAIN_POLL: Duration = Duration::from_millis(5);

/// How long a gateway that lost the lock waits before taking it back. Without it, two
/// paths that both get I/O at once (the initiator's partition scans at login run on each
/// path's disk) move the lock back and forth every second and neither is served: each
/// side's retried command takes the lock from the other before the other's command is
/// (seen on the guest tier, `ha-pair`). Meanwhile this side answers 04h/0Ah, which the
/// initiator retries or sends elsewhere.
pub const TAKE_BACK_HOLD_OFF: Duration = Duration::from_secs(5);

/// How often an active LUN asks the bricks whether another gateway took its lock. A
/// takeover preempts the holder silently: the bricks refuse its next write, but until
/// then it would go on reporting Active/Optimized (to the initiator's path checker and
/// in `export info`) beside the new holder.
pub const LOCK_CHECK: Duration = Duration::from_secs(5);

/// Reaches the served device from the control thread (through its reactor).
pub trait DeviceAccess: Send + 'static {
    /// Runs `job` on the device inside its reactor; `None` once it is gone.
    fn with<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Device) -> R + Send + 'static,
    ) -> Option<R>;
}

/// A device served by a [`crate::reactor::Reactor`] the caller shares.
#[derive(Debug, Clone)]
pub struct OnReactor {
    pub reactor: Arc<crate::reactor::Reactor>,
    pub id: crate::reactor::DeviceId,
}

impl DeviceAccess for OnReactor {
    fn with<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Device) -> R + Send + 'static,
    ) -> Option<R> {
        self.reactor
            .with_device(self.id, |d| d.map(job))
            .ok()
            .flatten()
    }
}

/// Starts the control thread of the LUN `device` reaches, fed by `events`.
pub fn spawn(
    name: &str,
    device: impl DeviceAccess,
    events: Receiver<Event>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let name = name.to_owned();
    std::thread::Builder::new()
        .name("ha".into())
        .spawn(move || Driver::new(name, device).run(events))
}

struct Driver<D> {
    name: String,
    gateway: Gateway,
    device: D,
    /// The lock taken last, so a release goes to the same file.
    lock: Option<Arc<dyn ImageLock>>,
    /// When the bricks last fenced this LUN (another gateway took the lock).
    fenced_at: Option<Instant>,
}

impl<D: DeviceAccess> Driver<D> {
    fn new(name: String, device: D) -> Self {
        Driver {
            name,
            gateway: Gateway::default(),
            device,
            lock: None,
            fenced_at: None,
        }
    }

    fn run(mut self, events: Receiver<Event>) {
        loop {
            let event = match events.recv_timeout(LOCK_CHECK) {
                Ok(event) => event,
                Err(RecvTimeoutError::Timeout) => match self.check_lock() {
                    Some(event) => event,
                    None => continue,
                },
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let action = self.gateway.on(event);
            if !self.act(action) {
                return;
            }
        }
    }

    /// While active: `Fenced` when another gateway holds the lock now (see
    /// [`LOCK_CHECK`]). A failed check says nothing (the bricks fence the next write if
    /// the lock is gone).
    fn check_lock(&self) -> Option<Event> {
        if self.gateway.state() != LockState::Active {
            return None;
        }
        match self.lock.as_ref()?.taken_by_another() {
            Ok(true) => {
                tracing::info!(device = %self.name, "another gateway took the image lock");
                Some(Event::Fenced)
            }
            Ok(false) => None,
            Err(e) => {
                tracing::debug!(device = %self.name, "cannot check the image lock: {e}");
                None
            }
        }
    }

    /// Does what the state machine asked, feeding it the outcome; false once the
    /// device is gone.
    fn act(&mut self, action: Action) -> bool {
        match action {
            Action::None => true,
            Action::TakeLock => {
                self.hold_off();
                let outcome = self.take_lock();
                let next = self.gateway.on(outcome);
                self.act(next)
            }
            Action::AnnounceStateChange => self.report(true),
            Action::FailInFlight => {
                tracing::warn!(device = %self.name, "fenced: another gateway holds the image lock, or this one lost it");
                self.lock = None;
                self.fenced_at = Some(Instant::now());
                if !self.report(false) || !self.wait_drained() {
                    return false;
                }
                let next = self.gateway.on(Event::Drained);
                self.act(next)
            }
            Action::ReleaseLock => {
                if let Some(lock) = self.lock.take() {
                    if let Err(e) = lock.release() {
                        tracing::warn!(device = %self.name, "releasing the image lock: {e}");
                    }
                }
                self.report(true)
            }
        }
    }

    /// Waits out [`TAKE_BACK_HOLD_OFF`] after a fence (the LUN reports Transitioning).
    fn hold_off(&self) {
        let Some(fenced) = self.fenced_at else { return };
        let left = TAKE_BACK_HOLD_OFF.saturating_sub(fenced.elapsed());
        if !left.is_zero() {
            tracing::info!(device = %self.name, "lost the image lock {:?} ago: taking it back in {left:?}", fenced.elapsed());
            std::thread::sleep(left);
        }
    }

    /// Takes the lock on the LUN's current file (blocks on the bricks).
    fn take_lock(&mut self) -> Event {
        let Some(lock) = self.device.with(|d| d.image_lock()).flatten() else {
            return Event::LockFailed;
        };
        let started = std::time::Instant::now();
        match lock.take() {
            Ok(()) => {
                tracing::info!(device = %self.name, "took the image lock in {:?}; active", started.elapsed());
                self.lock = Some(lock);
                Event::LockGranted
            }
            Err(e) => {
                tracing::warn!(device = %self.name, "cannot take the image lock: {e}");
                Event::LockFailed
            }
        }
    }

    /// Sets the LUN's ALUA state to the gateway's; false once the device is gone.
    fn report(&self, announce: bool) -> bool {
        let state: AccessState = self.gateway.access_state();
        self.device
            .with(move |d| d.set_alua_state(state, announce))
            .is_some()
    }

    /// Waits until the fenced LUN has no command in flight (the bricks refuse each, so
    /// they come back); false once the device is gone.
    fn wait_drained(&self) -> bool {
        loop {
            match self.device.with(|d| d.outstanding()) {
                None => return false,
                Some(0) => return true,
                Some(_) => std::thread::sleep(DRAIN_POLL),
            }
        }
    }
}
