//! The data path's side of multipath HA (docs/HA.md): a LUN whose ALUA state the image
//! lock decides tells its HA control thread (`daemon::ha::driver`) when a command
//! means the initiator moved its I/O here, and when the bricks fenced a request; the
//! thread answers by setting the LUN's state ([`Device::set_alua_state`]). Nothing
//! here blocks: the events go through a channel.

use super::Device;
use crate::backstore::BackstoreError;
use crate::ha::{self, Event, ImageLock};
use crate::scsi::alua::{self, AccessState};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

/// The channel to the LUN's HA control thread.
#[derive(Debug)]
pub(super) struct HaLink {
    events: Sender<Event>,
    /// Handed to the control thread once, when it starts.
    receiver: Option<Receiver<Event>>,
}

impl Device {
    /// Makes this an HA LUN: its ALUA state is the image lock's from now on, starting
    /// without the lock ([`ha::WITHOUT_LOCK`]), even when its backstore is still
    /// reconnecting. False, and nothing changed, for a LUN without port groups or whose
    /// backstore has no image lock.
    pub fn enable_ha(&mut self) -> bool {
        if self.lun.config().alua.is_none() || !self.backstore.has_image_lock() {
            return false;
        }
        let (events, receiver) = channel();
        self.ha = Some(HaLink {
            events,
            receiver: Some(receiver),
        });
        self.lun.set_alua_state(ha::WITHOUT_LOCK, false);
        true
    }

    /// Gives a LUN opened without target port groups the ones configured since (the
    /// admin or the gateway made them after the open) and makes it an HA LUN; false,
    /// with nothing changed, when it has groups already or its backstore has no image
    /// lock. The caller starts the HA control thread.
    pub fn adopt_port_groups(&mut self, alua: alua::LunAlua) -> bool {
        if self.lun.config().alua.is_some() {
            return false;
        }
        if let Err(e) = alua.validate() {
            tracing::warn!(device = %self.name(), "target port groups refused: {e}");
            return false;
        }
        if !self.backstore.has_image_lock() && !self.backstore.enable_image_lock() {
            return false;
        }
        if let Err(e) = self.lun.set_port_groups(alua) {
            tracing::warn!(device = %self.name(), "target port groups refused: {e}");
            return false;
        }
        self.enable_ha()
    }

    /// The events for the HA control thread, once (`None` for a LUN without HA).
    pub fn take_ha_events(&mut self) -> Option<Receiver<Event>> {
        self.ha.as_mut()?.receiver.take()
    }

    /// Sets the local target port group's state (the HA control thread decided);
    /// `announce` raises ASYMMETRIC ACCESS STATE CHANGED.
    pub fn set_alua_state(&mut self, state: AccessState, announce: bool) {
        let was = self.alua_state();
        if state == AccessState::ActiveOptimized && was.is_some_and(|w| w != state) {
            self.stats.ha_takeovers += 1;
        }
        self.lun.set_alua_state(state, announce);
    }

    /// The local group's ALUA state, `None` without port groups.
    pub fn alua_state(&self) -> Option<AccessState> {
        self.lun.config().alua.as_ref().map(|a| a.local_state())
    }

    /// The image lock of an HA LUN's current file (for the control thread).
    pub fn image_lock(&mut self) -> Option<Arc<dyn ImageLock>> {
        self.backstore.image_lock()
    }

    /// Before a command runs: on an HA LUN without the lock, a command that means the
    /// initiator moved its I/O here starts the takeover; the LUN reports Transitioning
    /// at once, so this command and the next ones get 04h/0Ah until the lock is held.
    pub(super) fn note_command(&mut self, cdb: &[u8]) {
        let Some(ha) = &self.ha else { return };
        if self.alua_state() == Some(ha::WITHOUT_LOCK) && alua::takes_over(cdb) {
            // Once per takeover (the state leaves WITHOUT_LOCK here): which command moved
            // the lock is what an admin needs when gateways trade it back and forth.
            tracing::info!(
                device = %self.name(),
                "command {:#04x} on this non-optimized path: taking the image lock",
                cdb[0]
            );
            let _ = ha.events.send(Event::MediaAccessOnStandby);
            self.lun.set_alua_state(AccessState::Transitioning, false);
        }
    }

    /// After a backstore request: a fenced one reports Transitioning at once (the next
    /// commands are refused before they reach the bricks) and tells the thread. Without
    /// the lock there is nothing to fence: a flush served there (`alua::takes_over`)
    /// that fails fails alone, and the LUN stays ready to take the lock.
    pub(super) fn note_result(&mut self, result: &Result<u64, BackstoreError>) {
        let Some(ha) = &self.ha else { return };
        if self.alua_state() == Some(ha::WITHOUT_LOCK) {
            return;
        }
        if let Err(BackstoreError::Fenced(_)) = result {
            self.stats.ha_fenced += 1;
            let _ = ha.events.send(Event::Fenced);
            self.lun.set_alua_state(AccessState::Transitioning, false);
        }
    }
}
