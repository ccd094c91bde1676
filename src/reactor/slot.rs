//! One device as the reactor's loop sees it: the device, where it stands in its life
//! ([`SlotState`]), and which of its polls are armed.

#![forbid(unsafe_code)]

use crate::device::{Device, DeviceError};
use std::sync::mpsc::Sender;

/// Where the device is handed when it leaves the reactor (`None`: it was not there).
pub(super) type Reply = Sender<Option<Box<Device>>>;

/// Where a device stands.
#[derive(Debug)]
pub(super) enum SlotState {
    /// Reading new commands and answering them.
    Serving,
    /// Stopped after an error: its ring is not read again and nothing more is answered.
    Broken,
    /// Leaving: no new commands are read; once nothing refers to its memory or fds any
    /// more it goes to `reply`. Until then what is in flight is still answered, unless it
    /// is also `broken`.
    Closing { reply: Reply, broken: bool },
}

impl SlotState {
    /// True while new commands are read.
    pub(super) fn reads_commands(&self) -> bool {
        matches!(self, SlotState::Serving)
    }

    /// True once an error stopped the device (closing or not).
    pub(super) fn is_broken(&self) -> bool {
        matches!(
            self,
            SlotState::Broken | SlotState::Closing { broken: true, .. }
        )
    }

    /// True once the device was asked to leave.
    pub(super) fn is_closing(&self) -> bool {
        matches!(self, SlotState::Closing { .. })
    }

    /// An error stopped the device: it keeps closing if it was.
    pub(super) fn break_down(&mut self) {
        match self {
            SlotState::Serving => *self = SlotState::Broken,
            SlotState::Closing { broken, .. } => *broken = true,
            SlotState::Broken => {}
        }
    }

    /// Asks the device to leave, answering `reply` when it has; hands `reply` back if it
    /// is leaving already.
    pub(super) fn close(&mut self, reply: Reply) -> Result<(), Reply> {
        let broken = match self {
            SlotState::Closing { .. } => return Err(reply),
            SlotState::Serving => false,
            SlotState::Broken => true,
        };
        *self = SlotState::Closing { reply, broken };
        Ok(())
    }
}

/// One device in the loop.
#[derive(Debug)]
pub(super) struct Slot {
    pub(super) device: Box<Device>,
    /// Tells this device's completions from those of an earlier one in the same slot.
    pub(super) generation: u16,
    pub(super) state: SlotState,
    /// A poll on the doorbell is outstanding (it may post more).
    pub(super) doorbell_armed: bool,
    /// A poll on the backstore's notifier is outstanding.
    pub(super) notifier_armed: bool,
}

impl Slot {
    /// A device that starts serving, with no poll armed yet.
    pub(super) fn new(device: Box<Device>, generation: u16) -> Self {
        Self {
            device,
            generation,
            state: SlotState::Serving,
            doorbell_armed: false,
            notifier_armed: false,
        }
    }

    /// The device stopped serving after `error`.
    pub(super) fn stop_serving(&mut self, error: &DeviceError) {
        tracing::error!(device = self.device.name(), "stopped serving: {error}");
        self.state.break_down();
    }
}

#[cfg(test)]
mod tests {
    use super::SlotState;
    use std::sync::mpsc;

    #[test]
    fn a_serving_device_breaks_and_closes() {
        let mut s = SlotState::Serving;
        assert!(s.reads_commands() && !s.is_broken() && !s.is_closing());
        s.break_down();
        assert!(!s.reads_commands() && s.is_broken() && !s.is_closing());
        let (tx, _rx) = mpsc::channel();
        assert!(s.close(tx).is_ok());
        assert!(!s.reads_commands() && s.is_broken() && s.is_closing());
    }

    #[test]
    fn a_closing_device_stays_closing_and_can_still_break() {
        let mut s = SlotState::Serving;
        let (tx, _rx) = mpsc::channel();
        assert!(s.close(tx.clone()).is_ok());
        assert!(!s.reads_commands() && !s.is_broken() && s.is_closing());
        assert!(s.close(tx).is_err(), "closed twice");
        s.break_down();
        assert!(s.is_broken() && s.is_closing());
    }
}
