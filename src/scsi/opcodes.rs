//! REPORT SUPPORTED OPERATION CODES and REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS
//! (SPC-4 6.35, 6.36).
//!
//! [`COMMANDS`] is the one list of what we implement, with each CDB's usage bitmap (the
//! bits we evaluate). The tests check it against the decoder in both directions, so
//! the report cannot claim a command that dispatch refuses or miss one it serves.

#![forbid(unsafe_code)]

use super::cdb::{ReportOpcodes, cdb_len, op, sa};
use super::sense::Sense;
use super::wire::PageBuf;

/// One supported command: opcode, service action (if the opcode has them) and usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandInfo {
    pub opcode: u8,
    pub service_action: Option<u8>,
    /// CDB usage data: byte 0 is the opcode, a service action sits in its field, and
    /// every other set bit is one the device server evaluates.
    pub usage: &'static [u8],
}

const fn cmd(opcode: u8, usage: &'static [u8]) -> CommandInfo {
    CommandInfo {
        opcode,
        service_action: None,
        usage,
    }
}

const fn cmd_sa(opcode: u8, sa: u8, usage: &'static [u8]) -> CommandInfo {
    CommandInfo {
        opcode,
        service_action: Some(sa),
        usage,
    }
}

/// Usage of a 10-byte READ/WRITE-style CDB with `b1` as byte 1.
macro_rules! rw10 {
    ($op:expr, $b1:expr) => {
        cmd($op, &[$op, $b1, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0xFF, 0xFF, 0])
    };
}
macro_rules! rw12 {
    ($op:expr, $b1:expr) => {
        cmd(
            $op,
            &[
                $op, $b1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0,
            ],
        )
    };
}
macro_rules! rw16 {
    ($op:expr, $b1:expr) => {
        cmd(
            $op,
            &[
                $op, $b1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                0, 0,
            ],
        )
    };
}

/// Every command we implement, in opcode order. DPO (byte 1 bit 4) is marked wherever
/// it is accepted: there is no cache to bypass, so it is honoured by doing nothing, and
/// MODE SENSE reports DPOFUA.
#[rustfmt::skip]
pub const COMMANDS: &[CommandInfo] = &[
    cmd(op::TEST_UNIT_READY, &[op::TEST_UNIT_READY, 0, 0, 0, 0, 0]),
    cmd(op::REQUEST_SENSE, &[op::REQUEST_SENSE, 0x01, 0, 0, 0xFF, 0]),
    cmd(op::FORMAT_UNIT, &[op::FORMAT_UNIT, 0xFF, 0, 0, 0, 0]),
    cmd(op::READ_6, &[op::READ_6, 0x1F, 0xFF, 0xFF, 0xFF, 0]),
    cmd(op::WRITE_6, &[op::WRITE_6, 0x1F, 0xFF, 0xFF, 0xFF, 0]),
    cmd(op::INQUIRY, &[op::INQUIRY, 0x03, 0xFF, 0xFF, 0xFF, 0]),
    cmd(op::MODE_SELECT_6, &[op::MODE_SELECT_6, 0x11, 0, 0, 0xFF, 0]),
    cmd(op::MODE_SENSE_6, &[op::MODE_SENSE_6, 0x08, 0xFF, 0xFF, 0xFF, 0]),
    cmd(op::START_STOP_UNIT, &[op::START_STOP_UNIT, 0, 0, 0, 0xF3, 0]),
    cmd(op::READ_CAPACITY_10, &[op::READ_CAPACITY_10, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0x01, 0]),
    rw10!(op::READ_10, 0xF8),
    rw10!(op::WRITE_10, 0xF8),
    rw10!(op::WRITE_AND_VERIFY_10, 0xF0),
    rw10!(op::VERIFY_10, 0xF6),
    rw10!(op::PRE_FETCH_10, 0x00),
    rw10!(op::SYNCHRONIZE_CACHE_10, 0x00),
    rw10!(op::WRITE_SAME_10, 0xFE),
    cmd(op::UNMAP, &[op::UNMAP, 0x01, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0]),
    cmd(op::MODE_SELECT_10, &[op::MODE_SELECT_10, 0x11, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0]),
    cmd(op::MODE_SENSE_10, &[op::MODE_SENSE_10, 0x18, 0xFF, 0xFF, 0, 0, 0, 0xFF, 0xFF, 0]),
    cmd_sa(op::EXTENDED_COPY, sa::EXTENDED_COPY_LID1, &[
        op::EXTENDED_COPY, sa::EXTENDED_COPY_LID1, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        0, 0,
    ]),
    cmd_sa(op::RECEIVE_COPY_RESULTS, sa::COPY_STATUS, &[
        op::RECEIVE_COPY_RESULTS, sa::COPY_STATUS, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF,
        0xFF, 0, 0,
    ]),
    cmd_sa(op::RECEIVE_COPY_RESULTS, sa::OPERATING_PARAMETERS, &[
        op::RECEIVE_COPY_RESULTS, sa::OPERATING_PARAMETERS, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF,
        0xFF, 0xFF, 0, 0,
    ]),
    rw16!(op::READ_16, 0xF8),
    rw16!(op::WRITE_16, 0xF8),
    cmd(op::COMPARE_AND_WRITE, &[
        op::COMPARE_AND_WRITE, 0xF8, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0, 0, 0, 0xFF, 0, 0,
    ]),
    rw16!(op::WRITE_AND_VERIFY_16, 0xF0),
    rw16!(op::VERIFY_16, 0xF6),
    rw16!(op::PRE_FETCH_16, 0x00),
    rw16!(op::SYNCHRONIZE_CACHE_16, 0x00),
    rw16!(op::WRITE_SAME_16, 0xF9),
    cmd_sa(op::SERVICE_ACTION_IN_16, sa::READ_CAPACITY_16, &[
        op::SERVICE_ACTION_IN_16, sa::READ_CAPACITY_16, 0, 0, 0, 0, 0, 0, 0, 0,
        0xFF, 0xFF, 0xFF, 0xFF, 0, 0,
    ]),
    cmd_sa(op::SERVICE_ACTION_IN_16, sa::GET_LBA_STATUS, &[
        op::SERVICE_ACTION_IN_16, sa::GET_LBA_STATUS, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0, 0,
    ]),
    cmd_sa(op::MAINTENANCE_IN, sa::REPORT_SUPPORTED_OPCODES, &[
        op::MAINTENANCE_IN, sa::REPORT_SUPPORTED_OPCODES, 0x87, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0, 0,
    ]),
    cmd_sa(op::MAINTENANCE_IN, sa::REPORT_SUPPORTED_TMFS, &[
        op::MAINTENANCE_IN, sa::REPORT_SUPPORTED_TMFS, 0x80, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        0, 0,
    ]),
    rw12!(op::READ_12, 0xF8),
    rw12!(op::WRITE_12, 0xF8),
    rw12!(op::WRITE_AND_VERIFY_12, 0xF0),
    rw12!(op::VERIFY_12, 0xF6),
];

/// SUPPORT field values of the one-command format.
const SUPPORT_NO: u8 = 0x01;
const SUPPORT_YES: u8 = 0x03;

/// Command timeouts descriptor: length 0Ah, no timeouts reported (zero = unknown).
const TIMEOUTS: [u8; 12] = [0x00, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/// REPORT TARGET PORT GROUPS, served only by a unit with target port groups (ALUA).
#[rustfmt::skip]
const REPORT_TARGET_PORT_GROUPS: CommandInfo = cmd_sa(
    op::MAINTENANCE_IN, sa::REPORT_TARGET_PORT_GROUPS, &[
        op::MAINTENANCE_IN, 0xE0 | sa::REPORT_TARGET_PORT_GROUPS, 0, 0, 0, 0, 0xFF, 0xFF,
        0xFF, 0xFF, 0, 0,
    ],
);

/// The commands a unit supports: all of [`COMMANDS`], except UNMAP and GET LBA STATUS
/// on a unit that cannot deallocate; and REPORT TARGET PORT GROUPS on a unit with ALUA.
pub fn supported(thin: bool, alua: bool) -> impl Iterator<Item = &'static CommandInfo> {
    let rtpg = std::iter::once(&REPORT_TARGET_PORT_GROUPS).filter(move |_| alua);
    COMMANDS
        .iter()
        .filter(move |c| thin || !thin_only(c))
        .chain(rtpg)
}

fn thin_only(c: &CommandInfo) -> bool {
    c.opcode == op::UNMAP || c.service_action == Some(sa::GET_LBA_STATUS)
}

/// The REPORT SUPPORTED OPERATION CODES response for the decoded CDB.
pub fn report(r: ReportOpcodes, thin: bool, alua: bool) -> Result<Vec<u8>, Sense> {
    match r.options {
        0 => Ok(all_commands(r.timeouts, thin, alua)),
        options => one_command(r, options, thin, alua),
    }
}

/// Format for all commands: a 4-byte length header, then one descriptor each.
fn all_commands(timeouts: bool, thin: bool, alua: bool) -> Vec<u8> {
    let mut p = PageBuf::zeroed(4);
    for c in supported(thin, alua) {
        let servactv = c.service_action.is_some();
        let flags = (u8::from(timeouts) << 1) | u8::from(servactv);
        let sa = u16::from(c.service_action.unwrap_or(0)).to_be_bytes();
        let len = cdb_len(c.opcode).unwrap_or(0) as u16;
        p.push(&[c.opcode, 0, sa[0], sa[1], 0, flags])
            .push(&len.to_be_bytes());
        if timeouts {
            p.push(&TIMEOUTS);
        }
    }
    let body_len = p.len().saturating_sub(4);
    p.put(
        0,
        &u32::try_from(body_len).unwrap_or(u32::MAX).to_be_bytes(),
    );
    p.into_vec()
}

/// The one-command formats (reporting options 1-3).
fn one_command(r: ReportOpcodes, options: u8, thin: bool, alua: bool) -> Result<Vec<u8>, Sense> {
    let mut same_opcode = supported(thin, alua)
        .filter(|c| c.opcode == r.opcode)
        .peekable();
    let known = same_opcode.peek().is_some();
    let has_sa = same_opcode.any(|c| c.service_action.is_some());
    let found = match options {
        1 if has_sa => return Err(Sense::invalid_field_in_cdb(2, Some(2))),
        2 if known && !has_sa => return Err(Sense::invalid_field_in_cdb(2, Some(2))),
        _ => supported(thin, alua).find(|c| {
            c.opcode == r.opcode
                && c.service_action
                    .is_none_or(|s| u16::from(s) == r.service_action)
        }),
    };
    let mut p = PageBuf::zeroed(4);
    match found {
        Some(c) => {
            p.set(1, SUPPORT_YES | (u8::from(r.timeouts) << 7));
            p.put(2, &(c.usage.len() as u16).to_be_bytes())
                .push(c.usage);
            if r.timeouts {
                p.push(&TIMEOUTS);
            }
        }
        None => {
            p.set(1, SUPPORT_NO);
        }
    }
    Ok(p.into_vec())
}

/// REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS: what LIO carries out for us (the kernel
/// handles task management; we only see aborted commands): ABORT TASK, ABORT TASK SET,
/// CLEAR TASK SET, LOGICAL UNIT RESET, TARGET RESET and I_T NEXUS RESET.
pub fn task_management(extended: bool) -> Vec<u8> {
    let mut p = PageBuf::zeroed(4);
    p.set(0, 0x80 | 0x40 | 0x10 | 0x08 | 0x02).set(1, 0x01);
    if extended {
        p.set(3, 0x0C).put(15, &[0]);
    }
    p.into_vec()
}
