//! The static description of a logical unit: geometry, limits and identity.
//!
//! Everything the emulation reports about the unit (INQUIRY strings, VPD designators,
//! capacity, block limits) comes from here, so [`LunConfig::validate`] checks once that
//! the values fit their wire fields instead of every encoder truncating silently.

#![forbid(unsafe_code)]

/// What a unit calls itself in INQUIRY, as the control plane learns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub vendor: String,
    pub product: String,
    pub revision: String,
    pub serial: String,
}

/// OUI used in our NAA designators: 00-14-05, the one Linux-IO targets use, so initiators
/// that special-case LIO keep working.
const LIO_OUI: u64 = 0x00_1405;

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
    /// The 8-byte NAA designator of VPD page 83h; its top nibble is the NAA type
    /// (5h, IEEE Registered, when made by [`LunConfig::naa_from_serial`]).
    pub naa_wwn: u64,
    /// The backstore can deallocate blocks (reported as logical block provisioning).
    pub thin: bool,
    /// Deallocated blocks read back as zeroes (LBPRZ in READ CAPACITY(16) and VPD B2h).
    pub unmapped_read_zeroes: bool,
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
            naa_wwn: Self::naa_from_serial(&serial),
            serial,
            thin: false,
            unmapped_read_zeroes: false,
        }
    }
}

/// A [`LunConfig`] value that does not fit its wire field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
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
    #[error("NAA designator {0:#018x} has NAA type 0")]
    Naa(u64),
}

impl LunConfig {
    /// A new configuration for `num_blocks` blocks of `block_size` bytes, identified by
    /// `serial`; everything else as in [`Default`].
    pub fn new(block_size: u32, num_blocks: u64, serial: &str) -> Self {
        LunConfig {
            block_size,
            num_blocks,
            serial: serial.into(),
            naa_wwn: Self::naa_from_serial(serial),
            ..Self::default()
        }
    }

    /// An NAA IEEE Registered (5h) designator: the LIO OUI and 36 bits of an FNV-1a hash
    /// of the serial, so the same serial always yields the same WWN across restarts.
    pub fn naa_from_serial(serial: &str) -> u64 {
        let hash = serial.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        (0x5 << 60) | (LIO_OUI << 36) | (hash & ((1 << 36) - 1))
    }

    /// Checks every field against the limits of the fields it is reported in.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(512..=65536).contains(&self.block_size) || !self.block_size.is_power_of_two() {
            return Err(ConfigError::BlockSize(self.block_size));
        }
        if self.num_blocks == 0 {
            return Err(ConfigError::NoBlocks);
        }
        if self.max_transfer_blocks == 0 {
            return Err(ConfigError::NoTransfer);
        }
        check_text("vendor", &self.vendor, 8)?;
        check_text("product", &self.product, 16)?;
        check_text("revision", &self.revision, 4)?;
        check_text("serial", &self.serial, 252)?;
        if self.naa_wwn >> 60 == 0 {
            return Err(ConfigError::Naa(self.naa_wwn));
        }
        Ok(())
    }
}

/// INQUIRY strings must be printable ASCII (SPC-4 4.4.1) and fit their field.
fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), ConfigError> {
    let printable = value.bytes().all(|b| (0x20..0x7F).contains(&b));
    if printable && (1..=max).contains(&value.len()) {
        Ok(())
    } else {
        Err(ConfigError::Text {
            field,
            value: value.into(),
            max,
        })
    }
}
