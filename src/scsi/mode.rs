//! MODE SENSE and MODE SELECT (SPC-4 6.9-6.12, 7.5) with the pages a disk needs:
//! Read-Write Error Recovery (01h), Caching (08h) and Control (0Ah).
//!
//! Every page is generated from [`ModeState`] for a given page control, so the current,
//! changeable and default views cannot drift apart, and MODE SELECT is checked against
//! exactly the same bytes: a parameter list may only differ from the current values in
//! changeable bits. Only WCE (when the backstore has a write cache) and D_SENSE change.
//! Saved values are not implemented; we have nowhere to keep them.

#![forbid(unsafe_code)]

use super::config::LunConfig;
use super::sense::Sense;
use super::wire::{Bytes, PageBuf, len16};

/// The changeable mode parameters of a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModeState {
    /// Write cache enable (Caching page): when clear, every write is done with FUA.
    pub wce: bool,
    /// Descriptor-format sense (Control page).
    pub d_sense: bool,
}

impl ModeState {
    /// Power-on values: the write cache as configured, fixed-format sense.
    pub fn defaults(cfg: &LunConfig) -> Self {
        ModeState {
            wce: cfg.write_cache,
            d_sense: false,
        }
    }
}

/// The PC field of MODE SENSE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageControl {
    Current,
    Changeable,
    Default,
    Saved,
}

impl PageControl {
    fn from_bits(b: u8) -> Self {
        match b & 3 {
            0 => PageControl::Current,
            1 => PageControl::Changeable,
            2 => PageControl::Default,
            _ => PageControl::Saved,
        }
    }
}

/// A decoded MODE SENSE(6) or (10) CDB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModeSenseCdb {
    pub ten: bool,
    pub dbd: bool,
    pub llbaa: bool,
    pub pc: PageControl,
    pub page: u8,
    pub subpage: u8,
    pub alloc_len: u32,
}

/// A decoded MODE SELECT(6) or (10) CDB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModeSelectCdb {
    pub ten: bool,
    pub param_len: u32,
}

/// Decodes MODE SENSE(6)/(10); `ten` selects the layout.
pub(crate) fn parse_sense(b: Bytes<'_>, ten: bool) -> ModeSenseCdb {
    ModeSenseCdb {
        ten,
        dbd: b.bit(1, 3),
        llbaa: ten && b.bit(1, 4),
        pc: PageControl::from_bits(b.u8(2) >> 6),
        page: b.u8(2) & 0x3F,
        subpage: b.u8(3),
        alloc_len: if ten {
            u32::from(b.be16(7))
        } else {
            u32::from(b.u8(4))
        },
    }
}

/// Decodes MODE SELECT(6)/(10): PF must be set (we only speak the SPC page format) and
/// SP clear (saving is not supported).
pub(crate) fn parse_select(b: Bytes<'_>, ten: bool) -> Result<ModeSelectCdb, Sense> {
    if !b.bit(1, 4) {
        return Err(Sense::invalid_field_in_cdb(1, Some(4)));
    }
    if b.bit(1, 0) {
        return Err(Sense::invalid_field_in_cdb(1, Some(0)));
    }
    let param_len = if ten {
        u32::from(b.be16(7))
    } else {
        u32::from(b.u8(4))
    };
    Ok(ModeSelectCdb { ten, param_len })
}

/// Page codes we implement, in the order "all pages" returns them.
const PAGES: [u8; 3] = [0x01, 0x08, 0x0A];
/// Page code meaning "return all pages".
const ALL_PAGES: u8 = 0x3F;

/// One mode page, header included, as seen through `pc`; `None` for unknown codes.
fn page(code: u8, pc: PageControl, cfg: &LunConfig, st: ModeState) -> Option<Vec<u8>> {
    let changeable = pc == PageControl::Changeable;
    let st = match pc {
        PageControl::Current => st,
        _ => ModeState::defaults(cfg),
    };
    Some(match code {
        0x01 => error_recovery_page(),
        0x08 if changeable => caching_page(cfg.write_cache),
        0x08 => caching_page(st.wce),
        0x0A if changeable => control_page(true, true),
        0x0A => control_page(st.d_sense, false),
        _ => return None,
    })
}

/// Read-Write Error Recovery: all zero (no retry tuning to offer), nothing changeable.
fn error_recovery_page() -> Vec<u8> {
    let mut p = vec![0u8; 12];
    p.splice(..2, [0x01, 0x0A]);
    p
}

/// Caching: WCE in byte 2, bit 2.
fn caching_page(wce: bool) -> Vec<u8> {
    let mut p = vec![0u8; 20];
    p.splice(..3, [0x08, 0x12, if wce { 0x04 } else { 0 }]);
    p
}

/// Control: D_SENSE in byte 2, bit 2; unrestricted command reordering; no busy
/// timeout limit. As a changeable mask only D_SENSE is set.
fn control_page(d_sense: bool, mask: bool) -> Vec<u8> {
    let mut p = vec![0u8; 12];
    p.splice(..3, [0x0A, 0x0A, if d_sense { 0x04 } else { 0 }]);
    if !mask {
        p.splice(3..4, [0x10]);
        p.splice(8..10, [0xFF, 0xFF]);
    }
    p
}

/// MODE SENSE data: header, optional block descriptor, requested pages.
pub fn sense(c: ModeSenseCdb, cfg: &LunConfig, st: ModeState) -> Result<Vec<u8>, Sense> {
    if c.pc == PageControl::Saved {
        return Err(Sense::saving_parameters_not_supported());
    }
    let pages = requested_pages(c)?;
    let body: Vec<u8> = pages
        .iter()
        .filter_map(|&p| page(p, c.pc, cfg, st))
        .flatten()
        .collect();
    let bd = if c.dbd {
        Vec::new()
    } else {
        block_descriptor(c, cfg)
    };
    let wp_dpofua = if cfg.read_only { 0x90 } else { 0x10 };
    Ok(header(
        c.ten,
        c.llbaa && !bd.is_empty(),
        wp_dpofua,
        &bd,
        &body,
    ))
}

/// The page codes a MODE SENSE asks for, or INVALID FIELD IN CDB at the page or
/// subpage code. We have no subpages; "all pages and subpages" (FFh) is allowed.
fn requested_pages(c: ModeSenseCdb) -> Result<Vec<u8>, Sense> {
    match (c.page, c.subpage) {
        (ALL_PAGES, 0x00 | 0xFF) => Ok(PAGES.to_vec()),
        (p, 0) if PAGES.contains(&p) => Ok(vec![p]),
        (p, _) if p == ALL_PAGES || PAGES.contains(&p) => Err(Sense::invalid_field_in_cdb(3, None)),
        _ => Err(Sense::invalid_field_in_cdb(2, Some(5))),
    }
}

/// The short (8-byte) or, with LLBAA in MODE SENSE(10), long (16-byte) block descriptor.
/// Nothing in it is changeable, so the changeable view is all zero.
fn block_descriptor(c: ModeSenseCdb, cfg: &LunConfig) -> Vec<u8> {
    let (blocks, len) = match c.pc {
        PageControl::Changeable => (0, 0),
        _ => (cfg.num_blocks, cfg.block_size),
    };
    let mut p = PageBuf::default();
    if c.llbaa {
        p.put(0, &blocks.to_be_bytes()).put(12, &len.to_be_bytes());
    } else {
        let short = u32::try_from(blocks).unwrap_or(u32::MAX);
        p.put(0, &short.to_be_bytes())
            .put(4, &len.to_be_bytes())
            .set(4, 0);
    }
    p.into_vec()
}

/// Prepends the mode parameter header (4 bytes for the 6-byte CDB, 8 for the 10-byte).
fn header(ten: bool, long_lba: bool, dev_specific: u8, bd: &[u8], body: &[u8]) -> Vec<u8> {
    let mut p = PageBuf::default();
    let hdr_len = if ten { 8 } else { 4 };
    let total = hdr_len + bd.len() + body.len();
    if ten {
        p.put(0, &len16(total - 2)).set(3, dev_specific);
        p.set(4, u8::from(long_lba)).put(6, &len16(bd.len()));
    } else {
        let short = |n: usize| u8::try_from(n).unwrap_or(u8::MAX);
        p.set(0, short(total - 1))
            .set(2, dev_specific)
            .set(3, short(bd.len()));
    }
    p.push(bd).push(body);
    p.into_vec()
}

/// Checks a MODE SELECT parameter list against the current values and returns the new
/// state. Nothing is applied unless the whole list is acceptable.
pub fn select(
    c: ModeSelectCdb,
    list: &[u8],
    cfg: &LunConfig,
    st: ModeState,
) -> Result<ModeState, Sense> {
    let h = SelectHeader::parse(c, Bytes(list))?;
    h.check_block_descriptor(Bytes(list), cfg)?;
    let pages_at = h.len.saturating_add(h.bd_len);
    let pages = list
        .get(pages_at..)
        .ok_or(Sense::parameter_list_length_error())?;
    select_pages(pages, pages_at, cfg, st)
}

/// What MODE SELECT needs from the mode parameter header.
#[derive(Debug, Clone, Copy)]
struct SelectHeader {
    /// Header length: 4 for MODE SELECT(6), 8 for (10).
    len: usize,
    /// BLOCK DESCRIPTOR LENGTH and where that field sits.
    bd_len: usize,
    bd_len_at: u16,
    /// LONGLBA (MODE SELECT(10) only).
    long_lba: bool,
}

impl SelectHeader {
    /// Reads the header; MEDIUM TYPE must be 0 (the mode data length and the device
    /// specific parameter are reserved in MODE SELECT and ignored).
    fn parse(c: ModeSelectCdb, b: Bytes<'_>) -> Result<Self, Sense> {
        let (len, medium_at) = if c.ten { (8, 2) } else { (4, 1) };
        if b.0.len() < len {
            return Err(Sense::parameter_list_length_error());
        }
        if b.u8(medium_at) != 0 {
            return Err(Sense::invalid_field_in_param_list(medium_at as u16, None));
        }
        Ok(if c.ten {
            SelectHeader {
                len,
                bd_len: usize::from(b.be16(6)),
                bd_len_at: 6,
                long_lba: b.bit(4, 0),
            }
        } else {
            SelectHeader {
                len,
                bd_len: usize::from(b.u8(3)),
                bd_len_at: 3,
                long_lba: false,
            }
        })
    }

    /// A block descriptor may only restate the current geometry (or leave the number of
    /// blocks zero), and its length must match the LONGLBA bit.
    fn check_block_descriptor(&self, b: Bytes<'_>, cfg: &LunConfig) -> Result<(), Sense> {
        match (self.bd_len, self.long_lba) {
            (0, _) => return Ok(()),
            (8, false) | (16, true) => {}
            _ => return Err(Sense::invalid_field_in_param_list(self.bd_len_at, None)),
        }
        let at = self.len;
        if b.0.len() < at.saturating_add(self.bd_len) {
            return Err(Sense::parameter_list_length_error());
        }
        let (blocks, reported, len_at, len) = if self.long_lba {
            (b.be(at, 8), cfg.num_blocks, at + 12, b.be(at + 12, 4))
        } else {
            let reported = cfg.num_blocks.min(u64::from(u32::MAX));
            (b.be(at, 4), reported, at + 5, b.be(at + 5, 3))
        };
        if blocks != 0 && blocks != reported {
            return Err(Sense::invalid_field_in_param_list(at as u16, None));
        }
        if len != u64::from(cfg.block_size) {
            return Err(Sense::invalid_field_in_param_list(len_at as u16, None));
        }
        Ok(())
    }
}

/// Walks the mode pages of a parameter list; `base` is their offset in the list, for
/// field pointers.
fn select_pages(
    mut pages: &[u8],
    base: usize,
    cfg: &LunConfig,
    mut st: ModeState,
) -> Result<ModeState, Sense> {
    let mut off = base;
    while let [code, len, ..] = pages {
        let at = |i: usize| u16::try_from(off.saturating_add(i)).unwrap_or(u16::MAX);
        if code & 0x40 != 0 {
            return Err(Sense::invalid_field_in_param_list(at(0), Some(6)));
        }
        let code = code & 0x3F;
        let cur = page(code, PageControl::Current, cfg, st)
            .ok_or(Sense::invalid_field_in_param_list(at(0), Some(5)))?;
        if usize::from(*len) + 2 != cur.len() {
            return Err(Sense::invalid_field_in_param_list(at(1), None));
        }
        let new = pages
            .get(..cur.len())
            .ok_or(Sense::parameter_list_length_error())?;
        st = apply_page(code, new, &cur, cfg, st)
            .map_err(|(i, bit)| Sense::invalid_field_in_param_list(at(i), Some(bit)))?;
        pages = pages.get(cur.len()..).unwrap_or_default();
        off = off.saturating_add(cur.len());
    }
    match pages {
        [] => Ok(st),
        _ => Err(Sense::parameter_list_length_error()),
    }
}

/// Compares one page with the current values: any difference outside the changeable
/// mask is refused as `(byte, most significant differing bit)`. The PS bit (byte 0,
/// bit 7) is reserved in MODE SELECT and ignored.
fn apply_page(
    code: u8,
    new: &[u8],
    cur: &[u8],
    cfg: &LunConfig,
    st: ModeState,
) -> Result<ModeState, (usize, u8)> {
    let mask = page(code, PageControl::Changeable, cfg, st).unwrap_or_default();
    let fixed = |i: usize| !mask.get(i).copied().unwrap_or(0);
    for (i, (n, c)) in new.iter().zip(cur).enumerate().skip(2) {
        let diff = (n ^ c) & fixed(i);
        if diff != 0 {
            return Err((i, 7 - diff.leading_zeros() as u8));
        }
    }
    let bit2 = Bytes(new).bit(2, 2);
    Ok(match code {
        0x08 => ModeState { wce: bit2, ..st },
        0x0A => ModeState {
            d_sense: bit2,
            ..st
        },
        _ => st,
    })
}
