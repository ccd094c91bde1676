//! The static description of a logical unit: geometry, limits and identity.
//!
//! Everything the emulation reports about the unit (INQUIRY strings, VPD designators,
//! capacity, block limits) comes from here, so [`LunConfig::validate`] checks once that
//! the values fit their wire fields instead of every encoder truncating silently.

#![forbid(unsafe_code)]

use super::alua::{AluaConfigError, LunAlua};

/// What a unit calls itself in INQUIRY, as the control plane learns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub vendor: String,
    pub product: String,
    pub revision: String,
    pub serial: String,
}

/// The first 28 bits of every NAA designator LIO reports: NAA type 6h (IEEE Registered
/// Extended) and the OpenFabrics IEEE company ID 00-14-05. The low nibble of the fourth
/// byte starts the vendor-specific identifier.
const LIO_NAA_PREFIX: [u8; 4] = [0x60, 0x01, 0x40, 0x50];

/// How a logical unit looks to initiators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LunConfig {
    /// Logical block length in bytes: a power of two from 512 to 65536.
    pub block_size: u32,
    /// Capacity in logical blocks; at least 1.
    pub num_blocks: u64,
    /// Largest transfer one command may ask for, in blocks (the kernel's `hw_max_sectors`).
    pub max_transfer_blocks: u32,
    /// Whether the backstore has a volatile write cache (reported as WCE, initially).
    pub write_cache: bool,
    /// Refuse writes with DATA PROTECT / WRITE PROTECTED.
    pub read_only: bool,
    /// T10 vendor identification: up to 8 printable ASCII characters.
    pub vendor: String,
    /// Product identification: up to 16 printable ASCII characters.
    pub product: String,
    /// Product revision level: up to 4 printable ASCII characters.
    pub revision: String,
    /// Unit serial number (VPD page 80h): 1 to 252 printable ASCII characters.
    pub serial: String,
    /// The 16-byte NAA designator of VPD page 83h; its top nibble is the NAA type
    /// (6h, IEEE Registered Extended, when made by [`LunConfig::naa_from_serial`]).
    pub naa: [u8; 16],
    /// The backstore can deallocate blocks (reported as logical block provisioning).
    pub thin: bool,
    /// Deallocated blocks read back as zeroes (LBPRZ in READ CAPACITY(16) and VPD B2h).
    pub unmapped_read_zeroes: bool,
    /// The target port groups when the LUN is reached through several gateways
    /// (implicit ALUA, docs/HA.md); `None`: no ALUA, as a LUN always was.
    pub alua: Option<LunAlua>,
}

impl Default for LunConfig {
    /// A 1 GiB unit of 512-byte blocks with the kernel's default 128-block transfer limit.
    fn default() -> Self {
        let serial = String::from("gluster-tcmu-0");
        LunConfig {
            block_size: 512,
            num_blocks: 1 << 21,
            max_transfer_blocks: 128,
            write_cache: true,
            read_only: false,
            vendor: "LIO-ORG".into(),
            product: "TCMU device".into(),
            revision: "0001".into(),
            naa: Self::naa_from_serial(&serial),
            serial,
            thin: false,
            unmapped_read_zeroes: false,
            alua: None,
        }
    }
}

/// A [`LunConfig`] value that does not fit its wire field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LunConfigError {
    #[error("block size {0} is not a power of two between 512 and 65536")]
    BlockSize(u32),
    #[error("a logical unit needs at least one block")]
    NoBlocks,
    #[error("maximum transfer length must be at least one block")]
    NoTransfer,
    #[error("{field} {value:?} must be 1 to {max} printable ASCII characters")]
    Text {
        field: &'static str,
        value: String,
        max: usize,
    },
    #[error("NAA designator {} has NAA type 0", hex(.0))]
    Naa([u8; 16]),
    #[error(transparent)]
    Alua(#[from] AluaConfigError),
    #[error("the unit has target port groups already")]
    PortGroupsSet,
}

impl LunConfig {
    /// A new configuration for `num_blocks` blocks of `block_size` bytes, identified by
    /// `serial`; everything else as in [`Default`].
    pub fn new(block_size: u32, num_blocks: u64, serial: &str) -> Self {
        LunConfig {
            block_size,
            num_blocks,
            serial: serial.into(),
            naa: Self::naa_from_serial(serial),
            ..Self::default()
        }
    }

    /// The NAA IEEE Registered Extended (6h) designator LIO's own backstores and
    /// tcmu-runner build from a unit serial: the OpenFabrics company ID, then the serial's
    /// first 25 hexadecimal digits one per nibble (other characters skipped, missing digits
    /// zero). A LUN moved from tcmu-runner or from an in-kernel backstore keeps its WWID
    /// (`36001405…` to udev and multipath), and so does every restart.
    pub fn naa_from_serial(serial: &str) -> [u8; 16] {
        let mut naa = [0u8; 16];
        naa[..4].copy_from_slice(&LIO_NAA_PREFIX);
        let digits = serial.chars().filter_map(|c| c.to_digit(16));
        // Nibble 7 is the low half of byte 3; 25 nibbles fill it and bytes 4-15.
        for (nibble, digit) in (7..32).zip(digits) {
            let digit = u8::try_from(digit).unwrap_or(0);
            let shift = if nibble % 2 == 0 { 4 } else { 0 };
            naa[nibble / 2] |= digit << shift;
        }
        naa
    }

    /// Checks every field against the limits of the fields it is reported in.
    pub fn validate(&self) -> Result<(), LunConfigError> {
        if !(512..=65536).contains(&self.block_size) || !self.block_size.is_power_of_two() {
            return Err(LunConfigError::BlockSize(self.block_size));
        }
        if self.num_blocks == 0 {
            return Err(LunConfigError::NoBlocks);
        }
        if self.max_transfer_blocks == 0 {
            return Err(LunConfigError::NoTransfer);
        }
        check_text("vendor", &self.vendor, 8)?;
        check_text("product", &self.product, 16)?;
        check_text("revision", &self.revision, 4)?;
        check_text("serial", &self.serial, 252)?;
        if self.naa[0] >> 4 == 0 {
            return Err(LunConfigError::Naa(self.naa));
        }
        if let Some(alua) = &self.alua {
            alua.validate()?;
        }
        Ok(())
    }
}

/// INQUIRY strings must be printable ASCII (SPC-4 4.4.1) and fit their field.
fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), LunConfigError> {
    let printable = value.bytes().all(|b| (0x20..0x7F).contains(&b));
    if printable && (1..=max).contains(&value.len()) {
        Ok(())
    } else {
        Err(LunConfigError::Text {
            field,
            value: value.into(),
            max,
        })
    }
}

/// Lower-case hexadecimal, for error messages.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
