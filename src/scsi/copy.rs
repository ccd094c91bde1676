//! EXTENDED COPY (LID1) and RECEIVE COPY RESULTS (SPC-4 6.3, 6.18): the parameter list
//! is checked whole here and turned into a [`CopyPlan`] of block ranges that the device
//! layer copies; the copy manager's operating parameters and the status of finished
//! copies are answered from here.
//!
//! What is offered: identification-descriptor target descriptors (E4h) naming this
//! logical unit by its NAA designator, and block-to-block segment descriptors (02h).
//! A target descriptor naming any other unit gets COPY ABORTED / COPY TARGET DEVICE
//! NOT REACHABLE: a TCMU handler sees one LUN per ring and cannot address the others.

#![forbid(unsafe_code)]

use super::DataOut;
use super::config::LunConfig;
use super::param::read_param_list;
use super::sense::{Sense, SenseKey};
use super::wire::{Bytes, PageBuf};
use std::collections::VecDeque;

/// Most target descriptors in one EXTENDED COPY (source and destination).
pub const MAX_TARGET_DESCRIPTORS: u16 = 2;
/// Most segment descriptors in one EXTENDED COPY.
pub const MAX_SEGMENT_DESCRIPTORS: u16 = 8;
/// Most bytes of target plus segment descriptors.
pub const MAX_DESCRIPTOR_LIST_LEN: u32 = 1024;
/// Most bytes one segment may copy.
pub const MAX_SEGMENT_BYTES: u32 = 256 << 20;

const HEADER: usize = 16;
const TARGET_DESCRIPTOR: usize = 32;
const IDENTIFICATION_DESCRIPTOR: u8 = 0xE4;
const BLOCK_TO_BLOCK: u8 = 0x02;
/// DESCRIPTOR LENGTH of a block-to-block segment descriptor (bytes after byte 3).
const BLOCK_TO_BLOCK_LEN: u16 = 0x18;
const DESIGNATOR_NAA: u8 = 0x3;

/// What the copy manager is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyPlan {
    pub list_id: u8,
    /// LIST ID USAGE 00b: keep the result for RECEIVE COPY RESULTS.
    pub hold: bool,
    pub segments: Vec<CopySegment>,
}

/// One block-to-block segment, already checked against the capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopySegment {
    pub src_lba: u64,
    pub dst_lba: u64,
    pub blocks: u32,
}

/// COPY ABORTED / COPY TARGET DEVICE NOT REACHABLE (0Dh/02h).
pub const fn copy_target_not_reachable() -> Sense {
    Sense::new(SenseKey::CopyAborted, 0x0D, 0x02)
}

/// COPY ABORTED with no more specific code: a segment outside a unit's capacity.
pub const fn copy_aborted() -> Sense {
    Sense::new(SenseKey::CopyAborted, 0x00, 0x00)
}

fn too_many_target_descriptors() -> Sense {
    Sense::new(SenseKey::IllegalRequest, 0x26, 0x06)
}

fn unsupported_target_descriptor() -> Sense {
    Sense::new(SenseKey::IllegalRequest, 0x26, 0x07)
}

fn too_many_segment_descriptors() -> Sense {
    Sense::new(SenseKey::IllegalRequest, 0x26, 0x08)
}

fn unsupported_segment_descriptor() -> Sense {
    Sense::new(SenseKey::IllegalRequest, 0x26, 0x09)
}

/// Parses and checks an EXTENDED COPY parameter list of `param_len` bytes; `None` for
/// an empty list (GOOD, nothing to do).
pub fn plan(
    cfg: &LunConfig,
    param_len: u32,
    data_out: &dyn DataOut,
) -> Result<Option<CopyPlan>, Sense> {
    if param_len == 0 {
        return Ok(None);
    }
    let list = read_param_list(data_out, param_len)?;
    if list.len() < HEADER {
        return Err(Sense::parameter_list_length_error());
    }
    let b = Bytes(&list);
    let usage = (b.u8(1) >> 3) & 3;
    if usage == 1 {
        return Err(Sense::invalid_field_in_param_list(1, Some(4)));
    }
    let targets_len = usize::from(b.be16(2));
    let segments_len = b.be32(8) as usize;
    if b.be32(12) != 0 {
        return Err(Sense::invalid_field_in_param_list(12, None));
    }
    let described = targets_len.saturating_add(segments_len);
    if described > MAX_DESCRIPTOR_LIST_LEN as usize || HEADER.saturating_add(described) > list.len()
    {
        return Err(Sense::parameter_list_length_error());
    }
    if targets_len % TARGET_DESCRIPTOR != 0 {
        return Err(Sense::invalid_field_in_param_list(2, None));
    }
    let targets = targets_len / TARGET_DESCRIPTOR;
    if targets > usize::from(MAX_TARGET_DESCRIPTORS) {
        return Err(too_many_target_descriptors());
    }
    let seg_list = &list[HEADER + targets_len..HEADER + described];
    let segment_at = segment_offsets(seg_list, HEADER + targets_len)?;
    for t in 0..targets {
        check_target(cfg, &list, HEADER + t * TARGET_DESCRIPTOR)?;
    }
    let segments = segment_at
        .iter()
        .map(|at| segment(cfg, &list, *at, targets))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(CopyPlan {
        list_id: b.u8(0),
        hold: usage == 0,
        segments,
    }))
}

/// Offsets (in the whole list) of each segment descriptor, checking their count and
/// that each is complete.
fn segment_offsets(seg_list: &[u8], base: usize) -> Result<Vec<usize>, Sense> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < seg_list.len() {
        if out.len() >= usize::from(MAX_SEGMENT_DESCRIPTORS) {
            return Err(too_many_segment_descriptors());
        }
        if at + 4 > seg_list.len() {
            return Err(Sense::parameter_list_length_error());
        }
        let len = 4 + usize::from(Bytes(seg_list).be16(at + 2));
        if at + len > seg_list.len() {
            return Err(Sense::parameter_list_length_error());
        }
        out.push(base + at);
        at += len;
    }
    Ok(out)
}

/// Checks one target descriptor: an identification descriptor for a block device that
/// names this unit by NAA, with our block size.
fn check_target(cfg: &LunConfig, list: &[u8], at: usize) -> Result<(), Sense> {
    let b = Bytes(list);
    let field = |off: usize| u16::try_from(at + off).unwrap_or(u16::MAX);
    if b.u8(at) != IDENTIFICATION_DESCRIPTOR {
        return Err(unsupported_target_descriptor());
    }
    // Bits 7-6 (LU ID TYPE in SPC-3) are ignored: SPC-4, which we claim, made the field
    // obsolete, and the designator alone names the unit.
    let flags = b.u8(at + 1);
    if flags & 0x20 != 0 {
        // NUL: the descriptor names no unit.
        return Err(copy_target_not_reachable());
    }
    if flags & 0x1F != 0 {
        return Err(unsupported_target_descriptor());
    }
    let designator_type = b.u8(at + 5) & 0x0F;
    let len = usize::from(b.u8(at + 7));
    let naa = (designator_type == DESIGNATOR_NAA && len == cfg.naa.len())
        .then(|| list.get(at + 8..at + 8 + len))
        .flatten();
    if naa != Some(&cfg.naa[..]) {
        return Err(copy_target_not_reachable());
    }
    let block = b.be(at + 29, 3);
    if block != u64::from(cfg.block_size) {
        return Err(Sense::invalid_field_in_param_list(field(29), None));
    }
    Ok(())
}

/// Decodes one block-to-block segment descriptor and checks its ranges.
fn segment(cfg: &LunConfig, list: &[u8], at: usize, targets: usize) -> Result<CopySegment, Sense> {
    let b = Bytes(list);
    let field = |off: usize| u16::try_from(at + off).unwrap_or(u16::MAX);
    if b.u8(at) != BLOCK_TO_BLOCK {
        return Err(unsupported_segment_descriptor());
    }
    if b.be16(at + 2) != BLOCK_TO_BLOCK_LEN {
        return Err(Sense::invalid_field_in_param_list(field(2), None));
    }
    let (src, dst) = (usize::from(b.be16(at + 4)), usize::from(b.be16(at + 6)));
    if src >= targets || dst >= targets {
        return Err(copy_target_not_reachable());
    }
    let s = CopySegment {
        blocks: u32::from(b.be16(at + 10)),
        src_lba: b.be(at + 12, 8),
        dst_lba: b.be(at + 20, 8),
    };
    if u64::from(s.blocks) * u64::from(cfg.block_size) > u64::from(MAX_SEGMENT_BYTES) {
        return Err(Sense::invalid_field_in_param_list(field(10), None));
    }
    let fits = |lba: u64| {
        lba.checked_add(u64::from(s.blocks))
            .is_some_and(|e| e <= cfg.num_blocks)
    };
    if !fits(s.src_lba) || !fits(s.dst_lba) {
        return Err(copy_aborted());
    }
    Ok(s)
}

/// RECEIVE COPY RESULTS / OPERATING PARAMETERS (SPC-4 6.18.4).
pub fn operating_parameters() -> Vec<u8> {
    let mut p = PageBuf::zeroed(44);
    p.set(4, 0x01) // SNLID: copies without a list identifier are supported
        .put(8, &MAX_TARGET_DESCRIPTORS.to_be_bytes())
        .put(10, &MAX_SEGMENT_DESCRIPTORS.to_be_bytes())
        .put(12, &MAX_DESCRIPTOR_LIST_LEN.to_be_bytes())
        .put(16, &MAX_SEGMENT_BYTES.to_be_bytes())
        .put(34, &1u16.to_be_bytes()) // TOTAL CONCURRENT COPIES
        .set(36, 1) // MAXIMUM CONCURRENT COPIES
        .set(43, 2) // IMPLEMENTED DESCRIPTOR LIST LENGTH
        .push(&[BLOCK_TO_BLOCK, IDENTIFICATION_DESCRIPTOR]);
    let len = p.len() - 4;
    p.put(0, &(len as u32).to_be_bytes());
    p.into_vec()
}

/// How a held copy ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyResult {
    pub list_id: u8,
    pub ok: bool,
    pub segments_done: u16,
    pub bytes: u64,
}

/// Results of finished copies that asked to be held (LIST ID USAGE 00b), newest last;
/// a result is handed out once, then forgotten.
#[derive(Debug, Default, Clone)]
pub struct CopyResults(VecDeque<CopyResult>);

/// How many results are kept before the oldest is dropped.
const HELD_RESULTS: usize = 16;

impl CopyResults {
    /// Keeps `r`, replacing an older result with the same list identifier.
    pub fn hold(&mut self, r: CopyResult) {
        self.0.retain(|old| old.list_id != r.list_id);
        if self.0.len() == HELD_RESULTS {
            self.0.pop_front();
        }
        self.0.push_back(r);
    }

    /// RECEIVE COPY RESULTS / COPY STATUS for `list_id`: INVALID FIELD IN CDB (LIST
    /// IDENTIFIER) when no such copy is held.
    pub fn copy_status(&mut self, list_id: u8) -> Result<Vec<u8>, Sense> {
        let at = self
            .0
            .iter()
            .position(|r| r.list_id == list_id)
            .ok_or(Sense::invalid_field_in_cdb(2, None))?;
        let r = self
            .0
            .remove(at)
            .ok_or(Sense::invalid_field_in_cdb(2, None))?;
        let mut p = PageBuf::zeroed(12);
        let kib = u32::try_from(r.bytes / 1024).unwrap_or(u32::MAX);
        p.put(0, &8u32.to_be_bytes())
            .set(4, if r.ok { 0x01 } else { 0x02 }) // completed, without or with errors
            .put(5, &r.segments_done.to_be_bytes())
            .set(7, 0x01) // TRANSFER COUNT UNITS: kibibytes
            .put(8, &kib.to_be_bytes());
        Ok(p.into_vec())
    }
}
