//! INQUIRY: standard data and the vital product data pages (SPC-4 6.6, 7.8; SBC-3 6.6).
//!
//! Each page is built whole and cut to the allocation length by the caller, so the
//! length fields always describe the full page as SPC-4 requires, whatever the initiator
//! asked for.

#![forbid(unsafe_code)]

use super::alua::TPGS_IMPLICIT;
use super::block::MAX_COMPARE_AND_WRITE_BLOCKS;
use super::config::LunConfig;
use super::provisioning::{MAX_UNMAP_DESCRIPTORS, MAX_WRITE_SAME_BLOCKS};
use super::sense::Sense;
use super::wire::{PageBuf, len16};

/// Peripheral qualifier 0 (connected), device type 00h (direct access block device).
const PERIPHERAL_DISK: u8 = 0x00;

/// VPD pages we serve, in the ascending order page 00h lists them.
pub const SUPPORTED_VPD_PAGES: [u8; 6] = [0x00, 0x80, 0x83, 0xB0, 0xB1, 0xB2];

/// Version descriptors claimed in standard INQUIRY data: SAM-5, SPC-4, SBC-3.
const VERSION_DESCRIPTORS: [u16; 3] = [0x00A0, 0x0460, 0x04C0];

/// Standard INQUIRY data: 36 mandatory bytes plus the version descriptors (bytes 58-73).
pub fn standard(cfg: &LunConfig) -> Vec<u8> {
    let mut p = PageBuf::zeroed(74);
    p.set(0, PERIPHERAL_DISK)
        .set(2, 0x06) // VERSION: SPC-4
        .set(3, 0x02) // RESPONSE DATA FORMAT 2
        .set(4, 74 - 5) // ADDITIONAL LENGTH: bytes after byte 4
        .set(5, 0x08 | tpgs(cfg)) // 3PC: EXTENDED COPY is served; TPGS
        .set(7, 0x02) // CMDQUE: full task management model
        .text(8, 8, &cfg.vendor)
        .text(16, 16, &cfg.product)
        .text(32, 4, &cfg.revision);
    for (i, v) in VERSION_DESCRIPTORS.iter().enumerate() {
        p.put(58 + 2 * i, &v.to_be_bytes());
    }
    p.into_vec()
}

/// The TPGS bits of standard INQUIRY byte 5: implicit ALUA when the LUN has port groups.
fn tpgs(cfg: &LunConfig) -> u8 {
    if cfg.alua.is_some() { TPGS_IMPLICIT } else { 0 }
}

/// The VPD page `page`, or INVALID FIELD IN CDB (PAGE CODE) if we do not have it.
pub fn vpd(cfg: &LunConfig, page: u8) -> Result<Vec<u8>, Sense> {
    let body = match page {
        0x00 => SUPPORTED_VPD_PAGES.to_vec(),
        0x80 => cfg.serial.as_bytes().to_vec(),
        0x83 => device_identification(cfg),
        0xB0 => block_limits(cfg),
        0xB1 => block_device_characteristics(),
        0xB2 => logical_block_provisioning(cfg),
        _ => return Err(Sense::invalid_field_in_cdb(2, None)),
    };
    Ok(vpd_page(page, &body))
}

/// Wraps a VPD page body in its 4-byte header.
fn vpd_page(page: u8, body: &[u8]) -> Vec<u8> {
    let mut p = PageBuf::zeroed(4);
    p.set(0, PERIPHERAL_DISK)
        .set(1, page)
        .put(2, &len16(body.len()))
        .push(body);
    p.into_vec()
}

/// Page 83h: the NAA designator LIO derives from the serial (what udev, multipath and
/// most initiators key on; see [`LunConfig::naa_from_serial`]) and a T10 vendor ID
/// designator (vendor plus serial, as LIO reports); with ALUA, the receiving port's
/// relative target port and target port group designators.
fn device_identification(cfg: &LunConfig) -> Vec<u8> {
    let mut t10 = PageBuf::default();
    t10.text(0, 8, &cfg.vendor).push(cfg.serial.as_bytes());
    let mut p = PageBuf::default();
    p.push(&designator(CODE_SET_BINARY, DESIGNATOR_NAA, &cfg.naa));
    p.push(&designator(CODE_SET_ASCII, DESIGNATOR_T10, &t10.into_vec()));
    if let Some(alua) = &cfg.alua {
        p.push(&alua.designators());
    }
    p.into_vec()
}

const CODE_SET_BINARY: u8 = 0x1;
const CODE_SET_ASCII: u8 = 0x2;
const DESIGNATOR_T10: u8 = 0x1;
const DESIGNATOR_NAA: u8 = 0x3;

/// One designation descriptor with association 0 (the logical unit) and no protocol.
fn designator(code_set: u8, kind: u8, id: &[u8]) -> Vec<u8> {
    let len = u8::try_from(id.len()).unwrap_or(u8::MAX);
    let mut d = vec![code_set, kind, 0, len];
    d.extend(id.iter().take(usize::from(len)));
    d
}

/// Page B0h body (bytes 4-63): transfer limits from the configuration, one-block
/// COMPARE AND WRITE, the WRITE SAME limit, and the UNMAP limits when the unit is thin.
fn block_limits(cfg: &LunConfig) -> Vec<u8> {
    let mut p = PageBuf::zeroed(0x3C);
    let max = cfg.max_transfer_blocks.to_be_bytes();
    let caw = u8::try_from(MAX_COMPARE_AND_WRITE_BLOCKS).unwrap_or(u8::MAX);
    p.set(0, 0x01) // WSNZ: WRITE SAME with zero blocks is refused
        .set(1, caw) // MAXIMUM COMPARE AND WRITE LENGTH
        .put(2, &1u16.to_be_bytes()) // OPTIMAL TRANSFER LENGTH GRANULARITY
        .put(4, &max) // MAXIMUM TRANSFER LENGTH
        .put(8, &max); // OPTIMAL TRANSFER LENGTH
    if cfg.thin {
        p.put(16, &u32::MAX.to_be_bytes()) // MAXIMUM UNMAP LBA COUNT: unlimited
            .put(20, &MAX_UNMAP_DESCRIPTORS.to_be_bytes())
            .put(24, &1u32.to_be_bytes()); // OPTIMAL UNMAP GRANULARITY
    }
    p.put(32, &MAX_WRITE_SAME_BLOCKS.to_be_bytes());
    p.into_vec()
}

/// Page B1h body: a non-rotating medium (so initiators do not bother with seek-friendly
/// ordering); form factor not reported.
fn block_device_characteristics() -> Vec<u8> {
    let mut p = PageBuf::zeroed(0x3C);
    p.put(0, &1u16.to_be_bytes());
    p.into_vec()
}

/// Page B2h body: thin provisioning with UNMAP and WRITE SAME(10/16) with UNMAP when the
/// backstore can deallocate, and LBPRZ when it reads deallocated blocks as zeroes;
/// otherwise fully provisioned.
fn logical_block_provisioning(cfg: &LunConfig) -> Vec<u8> {
    let (flags, kind) = if cfg.thin {
        let lbprz = if cfg.unmapped_read_zeroes { 0x04 } else { 0 };
        (0x80 | 0x40 | 0x20 | lbprz, 0x02)
    } else {
        (0, 0)
    };
    vec![0, flags, kind, 0]
}
