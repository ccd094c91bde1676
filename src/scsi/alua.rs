//! Asymmetric logical unit access (SPC-4 5.15): the target port groups a LUN is reached
//! through, their access states, and what each state lets a command do.
//!
//! A [`LunAlua`] describes the LUN as one gateway sees it: every group with its id,
//! state and relative target port identifiers, and the port the commands arrive on. The
//! TCMU ring does not say which port a command came in on (`struct tcmu_cmd_entry` in
//! the kernel's `target_core_user.h` carries only the CDB and the data area), so
//! `receiving_port` is the gateway's own port for this LUN: one target port group per
//! gateway, as docs/HA.md lays out. Only implicit ALUA is offered (TPGS 01b): the
//! gateways change states themselves, SET TARGET PORT GROUPS is not served.

#![forbid(unsafe_code)]

use super::sense::{Sense, SenseKey};
use super::wire::PageBuf;

/// Asymmetric access states (SPC-4 table "Asymmetric access state").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessState {
    ActiveOptimized,
    ActiveNonOptimized,
    Standby,
    Unavailable,
    Offline,
    Transitioning,
}

impl AccessState {
    /// The 4-bit code REPORT TARGET PORT GROUPS carries.
    pub fn code(self) -> u8 {
        match self {
            AccessState::ActiveOptimized => 0x0,
            AccessState::ActiveNonOptimized => 0x1,
            AccessState::Standby => 0x2,
            AccessState::Unavailable => 0x3,
            AccessState::Offline => 0xE,
            AccessState::Transitioning => 0xF,
        }
    }

    /// The state of a code (configfs' `alua_access_state` holds the same numbers);
    /// `None` for reserved codes and LBA dependent (4h), which is not offered.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0x0 => AccessState::ActiveOptimized,
            0x1 => AccessState::ActiveNonOptimized,
            0x2 => AccessState::Standby,
            0x3 => AccessState::Unavailable,
            0xE => AccessState::Offline,
            0xF => AccessState::Transitioning,
            _ => return None,
        })
    }
}

/// One target port group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortGroup {
    /// TARGET PORT GROUP identifier (configfs `tg_pt_gp_id`).
    pub id: u16,
    pub state: AccessState,
    /// PREF: the preferred group for this LUN.
    pub preferred: bool,
    /// STATUS CODE: 0 none, 1 altered by SET TARGET PORT GROUPS, 2 altered by implicit
    /// ALUA (SPC-4 table "STATUS CODE field").
    pub status: u8,
    /// RELATIVE TARGET PORT IDENTIFIERs of the group's ports (at most 255).
    pub ports: Vec<u16>,
}

/// STATUS CODE 2: the state was altered by implicit ALUA.
pub const STATUS_ALTERED_BY_IMPLICIT_ALUA: u8 = 0x02;

/// INQUIRY byte 5, TPGS 01b: implicit asymmetric access only.
pub const TPGS_IMPLICIT: u8 = 0x10;

/// The states every group supports (byte 1 of its descriptor): T_SUP, U_SUP, S_SUP,
/// AN_SUP, AO_SUP; offline and LBA dependent are never used.
const SUPPORTED_STATES: u8 = 0x80 | 0x08 | 0x04 | 0x02 | 0x01;

/// MAINTENANCE IN service action REPORT TARGET PORT GROUPS.
pub const REPORT_TARGET_PORT_GROUPS: u8 = 0x0A;

/// A LUN's ALUA description as one gateway sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LunAlua {
    pub groups: Vec<PortGroup>,
    /// Relative target port identifier of the port commands arrive on.
    pub receiving_port: u16,
    /// IMPLICIT TRANSITION TIME in seconds (extended header), 0 when unspecified.
    pub transition_secs: u8,
}

/// A [`LunAlua`] that cannot be reported faithfully.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AluaConfigError {
    #[error("target port group {0} is listed twice")]
    DuplicateGroup(u16),
    #[error("target port group {0} has more than 255 ports")]
    TooManyPorts(u16),
    #[error("relative target port {0} is in no target port group, or in several")]
    ReceivingPort(u16),
}

impl LunAlua {
    /// Checks the description: unique group ids, at most 255 ports a group, and the
    /// receiving port in exactly one group.
    pub fn validate(&self) -> Result<(), AluaConfigError> {
        for (i, g) in self.groups.iter().enumerate() {
            if self.groups[..i].iter().any(|o| o.id == g.id) {
                return Err(AluaConfigError::DuplicateGroup(g.id));
            }
            if g.ports.len() > 255 {
                return Err(AluaConfigError::TooManyPorts(g.id));
            }
        }
        let port = self.receiving_port;
        let holding = self.groups.iter().filter(|g| g.ports.contains(&port));
        match holding.count() {
            1 => Ok(()),
            _ => Err(AluaConfigError::ReceivingPort(port)),
        }
    }

    /// The group of the receiving port.
    pub fn local_group(&self) -> Option<&PortGroup> {
        let port = self.receiving_port;
        self.groups.iter().find(|g| g.ports.contains(&port))
    }

    /// The access state commands arriving here are held to (unavailable when the
    /// receiving port is in no group, which `validate` refuses).
    pub fn local_state(&self) -> AccessState {
        self.local_group()
            .map_or(AccessState::Unavailable, |g| g.state)
    }

    /// Puts the local group in `state`, altered by implicit ALUA (the HA lock moved).
    /// A local group going Active/Optimized leaves every other active group
    /// Active/Non-optimized: one writer at a time, and the report must not show two. Not
    /// Standby: Linux's ALUA handler takes the states of every group in a report as the
    /// states of its paths through them, and sends no I/O down a Standby path, so the
    /// other gateway could never take over. Whether anything changed.
    pub fn set_local_state(&mut self, state: AccessState) -> bool {
        let port = self.receiving_port;
        let optimized = state == AccessState::ActiveOptimized;
        let mut changed = false;
        for g in &mut self.groups {
            let next = if g.ports.contains(&port) {
                state
            } else if optimized && is_active(g.state) {
                AccessState::ActiveNonOptimized
            } else {
                continue;
            };
            if g.state != next {
                (g.state, g.status) = (next, STATUS_ALTERED_BY_IMPLICIT_ALUA);
                changed = true;
            }
        }
        changed
    }

    /// REPORT TARGET PORT GROUPS parameter data (SPC-4 6.36), whole: RETURN DATA LENGTH
    /// counts every byte after itself, the extended header's included.
    pub fn report(&self, extended: bool) -> Vec<u8> {
        let mut p = PageBuf::zeroed(4);
        if extended {
            p.push(&[0x10, self.transition_secs, 0, 0]); // FORMAT TYPE 001b
        }
        for g in &self.groups {
            p.push(&group_descriptor(g));
        }
        let mut out = p.into_vec();
        let len = u32::try_from(out.len() - 4).unwrap_or(u32::MAX);
        out[..4].copy_from_slice(&len.to_be_bytes());
        out
    }

    /// VPD page 83h designators for the receiving port (association 01b, target port):
    /// its relative target port identifier (type 4h) and its target port group (5h).
    pub fn designators(&self) -> Vec<u8> {
        let group = self.local_group().map_or(0, |g| g.id);
        let mut out = port_designator(DESIGNATOR_RELATIVE_PORT, self.receiving_port);
        out.extend(port_designator(DESIGNATOR_PORT_GROUP, group));
        out
    }

    /// Whether a command may run in the local state; the sense to refuse it with
    /// otherwise (NOT READY, LOGICAL UNIT NOT ACCESSIBLE, with the state's ASCQ), which
    /// dm-multipath answers by trying another path.
    pub fn check_access(&self, cdb: &[u8]) -> Result<(), Sense> {
        let state = self.local_state();
        let allowed = match state {
            AccessState::ActiveOptimized | AccessState::ActiveNonOptimized => true,
            AccessState::Standby => allowed_in_standby(cdb),
            AccessState::Transitioning => allowed_in_any_state(cdb) || is_test_unit_ready(cdb),
            AccessState::Unavailable | AccessState::Offline => allowed_in_any_state(cdb),
        };
        if allowed {
            return Ok(());
        }
        Err(not_accessible(state))
    }
}

fn is_active(state: AccessState) -> bool {
    matches!(
        state,
        AccessState::ActiveOptimized | AccessState::ActiveNonOptimized
    )
}

/// TEST UNIT READY in Transitioning is answered GOOD: the logical unit is ready and only
/// its medium is moving between gateways. SPC-4 lets a device server support more than
/// the state queries while transitioning, and path checkers need it: multipath-tools'
/// `tur` checker takes NOT READY with any ASCQ but standby's for a dead path, and
/// multipathd failing the path of a gateway that is taking (or giving up) the lock moves
/// the I/O to the other gateway, which takes the lock back: two gateways trading it every
/// few seconds (seen on the guest tier's `ha-pair`). Media access still gets 04h/0Ah.
fn is_test_unit_ready(cdb: &[u8]) -> bool {
    const TEST_UNIT_READY: u8 = 0x00;
    cdb.first() == Some(&TEST_UNIT_READY)
}

/// Whether `cdb`, arriving on a Standby port, means the initiator moved its I/O to this
/// path (implicit ALUA takeover, docs/HA.md): every command Standby refuses except TEST
/// UNIT READY, which path checkers send down every path all the time, and SYNCHRONIZE
/// CACHE, which Linux sends down every path's disk when a session logs out. A flush
/// moves no data, and a brick's fsync covers the file whichever client wrote it, so a
/// gateway without the lock serves it.
pub fn takes_over(cdb: &[u8]) -> bool {
    const SYNCHRONIZE_CACHE_10: u8 = 0x35;
    const SYNCHRONIZE_CACHE_16: u8 = 0x91;
    !allowed_in_standby(cdb)
        && !cdb.is_empty()
        && !is_test_unit_ready(cdb)
        && !matches!(cdb[0], SYNCHRONIZE_CACHE_10 | SYNCHRONIZE_CACHE_16)
}

/// The sense a command refused in `state` gets (SPC-4 5.15.2.4, ASC 04h).
pub fn not_accessible(state: AccessState) -> Sense {
    let ascq = match state {
        AccessState::Transitioning => 0x0A, // ASYMMETRIC ACCESS STATE TRANSITION
        AccessState::Standby => 0x0B,       // TARGET PORT IN STANDBY STATE
        AccessState::Offline => 0x12,       // OFFLINE
        _ => 0x0C,                          // TARGET PORT IN UNAVAILABLE STATE
    };
    Sense::new(SenseKey::NotReady, 0x04, ascq)
}

/// UNIT ATTENTION, ASYMMETRIC ACCESS STATE CHANGED: raised on a gateway whose state
/// changed, so the initiator asks for the groups again.
pub fn state_changed() -> Sense {
    Sense::new(SenseKey::UnitAttention, 0x2A, 0x06)
}

const DESIGNATOR_RELATIVE_PORT: u8 = 0x4;
const DESIGNATOR_PORT_GROUP: u8 = 0x5;

/// A 4-byte designator with association 01b (target port), binary code set, PIV 0
/// (no protocol named: the handler does not know the fabric).
fn port_designator(kind: u8, id: u16) -> Vec<u8> {
    let [hi, lo] = id.to_be_bytes();
    vec![0x01, 0x10 | kind, 0, 4, 0, 0, hi, lo]
}

fn group_descriptor(g: &PortGroup) -> Vec<u8> {
    let pref = if g.preferred { 0x80 } else { 0 };
    let [id_hi, id_lo] = g.id.to_be_bytes();
    let count = u8::try_from(g.ports.len()).unwrap_or(u8::MAX);
    let mut d = vec![pref | g.state.code(), SUPPORTED_STATES, id_hi, id_lo];
    d.extend([0, g.status, 0, count]);
    for port in g.ports.iter().take(usize::from(count)) {
        d.extend([0, 0]);
        d.extend(port.to_be_bytes());
    }
    d
}

/// Commands SPC-4 lets through in every state: they touch no medium and tell the
/// initiator where it stands.
fn allowed_in_any_state(cdb: &[u8]) -> bool {
    const INQUIRY: u8 = 0x12;
    const REQUEST_SENSE: u8 = 0x03;
    const REPORT_LUNS: u8 = 0xA0;
    match cdb.first().copied() {
        Some(INQUIRY | REQUEST_SENSE | REPORT_LUNS) => true,
        Some(MAINTENANCE_IN) => service_action(cdb) == REPORT_TARGET_PORT_GROUPS,
        _ => false,
    }
}

const MAINTENANCE_IN: u8 = 0xA3;

fn service_action(cdb: &[u8]) -> u8 {
    cdb.get(1).map_or(0, |b| b & 0x1F)
}

/// Standby (SPC-4 5.15.2.4.4): the commands of every state, mode and log pages,
/// diagnostics, persistent reservations, all of MAINTENANCE IN; and READ CAPACITY,
/// which SPC-4 does not list but which reads no user data, so a host scanning a
/// standby path learns the size (fencing is about the medium only).
fn allowed_in_standby(cdb: &[u8]) -> bool {
    const MODE_SELECT_6: u8 = 0x15;
    const MODE_SENSE_6: u8 = 0x1A;
    const RECEIVE_DIAGNOSTIC: u8 = 0x1C;
    const SEND_DIAGNOSTIC: u8 = 0x1D;
    const READ_CAPACITY_10: u8 = 0x25;
    const LOG_SELECT: u8 = 0x4C;
    const LOG_SENSE: u8 = 0x4D;
    const MODE_SELECT_10: u8 = 0x55;
    const MODE_SENSE_10: u8 = 0x5A;
    const PERSISTENT_RESERVE_IN: u8 = 0x5E;
    const PERSISTENT_RESERVE_OUT: u8 = 0x5F;
    const SERVICE_ACTION_IN_16: u8 = 0x9E;
    const READ_CAPACITY_16: u8 = 0x10;
    match cdb.first().copied() {
        Some(
            MODE_SELECT_6
            | MODE_SENSE_6
            | RECEIVE_DIAGNOSTIC
            | SEND_DIAGNOSTIC
            | READ_CAPACITY_10
            | LOG_SELECT
            | LOG_SENSE
            | MODE_SELECT_10
            | MODE_SENSE_10
            | PERSISTENT_RESERVE_IN
            | PERSISTENT_RESERVE_OUT
            | MAINTENANCE_IN,
        ) => true,
        Some(SERVICE_ACTION_IN_16) => service_action(cdb) == READ_CAPACITY_16,
        _ => allowed_in_any_state(cdb),
    }
}

#[cfg(test)]
mod tests;
