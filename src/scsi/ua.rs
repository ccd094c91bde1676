//! Unit attention conditions (SAM-5 5.14, SPC-4 5.14).
//!
//! A unit attention tells initiators that something they may have cached changed: the
//! unit was (re)started, its capacity or its mode parameters changed. The next command
//! that is not exempt fails with it, once. TCMU does not tell us which I_T nexus sent a
//! command, so the conditions are kept for the unit as a whole and are reported to the
//! first initiator that comes along; the kernel keeps its own per-nexus conditions for
//! resets it handles itself.

#![forbid(unsafe_code)]

use super::cdb::op;
use super::sense::Sense;

/// A condition that the next non-exempt command reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnitAttention {
    /// POWER ON, RESET, OR BUS DEVICE RESET OCCURRED (29h/00h): the handler (re)opened
    /// the unit, so initiators must assume all state was lost.
    PowerOnReset,
    /// CAPACITY DATA HAS CHANGED (2Ah/09h).
    CapacityChanged,
    /// MODE PARAMETERS CHANGED (2Ah/01h).
    ModeParametersChanged,
    /// ASYMMETRIC ACCESS STATE CHANGED (2Ah/06h): the HA lock moved the LUN's target
    /// port group to another ALUA state.
    AccessStateChanged,
    /// INQUIRY DATA HAS CHANGED (3Fh/03h): target port groups were configured on a
    /// live LUN, so INQUIRY now reports TPGS and VPD 83h the port designators.
    InquiryDataChanged,
}

impl UnitAttention {
    /// The sense data that reports this condition.
    pub fn sense(self) -> Sense {
        match self {
            UnitAttention::PowerOnReset => Sense::ua_power_on_reset(),
            UnitAttention::CapacityChanged => Sense::ua_capacity_changed(),
            UnitAttention::ModeParametersChanged => Sense::ua_mode_parameters_changed(),
            UnitAttention::AccessStateChanged => super::alua::state_changed(),
            UnitAttention::InquiryDataChanged => Sense::ua_inquiry_data_changed(),
        }
    }
}

/// The unit attentions waiting to be reported, oldest first, each at most once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PendingAttentions(Vec<UnitAttention>);

impl PendingAttentions {
    /// Queues `ua` unless it is already pending. A power-on/reset supersedes everything
    /// else, because it tells the initiator to rediscover all of it anyway.
    pub fn raise(&mut self, ua: UnitAttention) {
        if ua == UnitAttention::PowerOnReset {
            self.0.clear();
        }
        if !self.0.contains(&ua) {
            self.0.push(ua);
        }
    }

    /// Removes and returns the oldest condition.
    pub fn take(&mut self) -> Option<UnitAttention> {
        (!self.0.is_empty()).then(|| self.0.remove(0))
    }
}

/// Commands that a pending unit attention does not fail (SAM-5 5.14): INQUIRY,
/// REPORT LUNS and REQUEST SENSE, so initiators can always identify the unit and
/// collect the condition.
pub(crate) fn exempt(opcode: u8) -> bool {
    matches!(opcode, op::INQUIRY | op::REPORT_LUNS | op::REQUEST_SENSE)
}
