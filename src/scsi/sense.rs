//! Sense data: what a CHECK CONDITION tells the initiator (SPC-4 4.5).
//!
//! A [`Sense`] is plain data (key, additional sense code and qualifier, optional
//! INFORMATION and field pointer) so every error path in the emulation can return it by
//! value. Encoding is separate because the initiator picks the format: fixed (70h) by
//! default, descriptor (72h) once it sets D_SENSE in the Control mode page or DESC in
//! REQUEST SENSE. `Sense::decode` (feature `test-utils`) reads either format back, which
//! the tests use to check every error path byte for byte.

#![forbid(unsafe_code)]

use std::fmt;

/// Size of the sense buffer the kernel hands back to the initiator (`TCMU_SENSE_BUFFERSIZE`).
pub const SENSE_BUFFER_LEN: usize = 96;

/// Length of fixed-format sense data as we encode it (header plus 10 additional bytes).
const FIXED_LEN: usize = 18;

/// The sense key (SPC-4 table 48): the broad class of a CHECK CONDITION.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SenseKey {
    NoSense = 0x0,
    RecoveredError = 0x1,
    NotReady = 0x2,
    MediumError = 0x3,
    HardwareError = 0x4,
    IllegalRequest = 0x5,
    UnitAttention = 0x6,
    DataProtect = 0x7,
    BlankCheck = 0x8,
    VendorSpecific = 0x9,
    CopyAborted = 0xA,
    AbortedCommand = 0xB,
    VolumeOverflow = 0xD,
    Miscompare = 0xE,
    Completed = 0xF,
}

impl SenseKey {
    /// The key as its 4-bit code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Decodes the low nibble of `b`; `None` for the reserved code 0Ch.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn from_code(b: u8) -> Option<Self> {
        use SenseKey::*;
        const KEYS: [Option<SenseKey>; 16] = [
            Some(NoSense),
            Some(RecoveredError),
            Some(NotReady),
            Some(MediumError),
            Some(HardwareError),
            Some(IllegalRequest),
            Some(UnitAttention),
            Some(DataProtect),
            Some(BlankCheck),
            Some(VendorSpecific),
            Some(CopyAborted),
            Some(AbortedCommand),
            None,
            Some(VolumeOverflow),
            Some(Miscompare),
            Some(Completed),
        ];
        KEYS.get(usize::from(b & 0x0F)).copied().flatten()
    }
}

/// Where in the CDB or parameter list the offending field sits (the sense-key specific
/// "field pointer" of SPC-4 4.5.2.4.2). Initiators and test suites use it to tell which
/// field we refused, so every INVALID FIELD error carries one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldPointer {
    /// `true` for a CDB field, `false` for a field of the data-out parameter list.
    pub in_cdb: bool,
    /// Byte offset of the field.
    pub byte: u16,
    /// The most significant bit of the field (0-7), or `None` when the whole byte is meant.
    pub bit: Option<u8>,
}

impl FieldPointer {
    /// The three sense-key specific bytes: SKSV, C/D, BPV and bit pointer, then the field
    /// pointer.
    fn encode(self) -> [u8; 3] {
        let cd = if self.in_cdb { 0x40 } else { 0 };
        let bpv = match self.bit {
            Some(bit) => 0x08 | (bit & 0x07),
            None => 0,
        };
        let [hi, lo] = self.byte.to_be_bytes();
        [0x80 | cd | bpv, hi, lo]
    }

    /// Reads the sense-key specific bytes back; `None` when SKSV is clear.
    #[cfg(any(test, feature = "test-utils"))]
    fn decode(sks: [u8; 3]) -> Option<Self> {
        let [flags, hi, lo] = sks;
        (flags & 0x80 != 0).then(|| FieldPointer {
            in_cdb: flags & 0x40 != 0,
            byte: u16::from_be_bytes([hi, lo]),
            bit: (flags & 0x08 != 0).then_some(flags & 0x07),
        })
    }
}

/// One CHECK CONDITION's sense data, independent of its wire format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub struct Sense {
    pub key: SenseKey,
    /// Additional sense code.
    pub asc: u8,
    /// Additional sense code qualifier.
    pub ascq: u8,
    /// The INFORMATION field, e.g. the first failing LBA of a medium error.
    pub info: Option<u64>,
    /// The field pointer for ILLEGAL REQUEST errors that name a field.
    pub field_pointer: Option<FieldPointer>,
}

impl fmt::Display for Sense {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} {:02X}h/{:02X}h", self.key, self.asc, self.ascq)
    }
}

/// Constructors for the conditions the emulation and the backstores report.
impl Sense {
    /// Sense with just a key and additional sense code/qualifier.
    pub const fn new(key: SenseKey, asc: u8, ascq: u8) -> Self {
        Sense {
            key,
            asc,
            ascq,
            info: None,
            field_pointer: None,
        }
    }

    /// The same sense with the INFORMATION field set.
    pub const fn with_info(mut self, info: u64) -> Self {
        self.info = Some(info);
        self
    }

    /// NO SENSE / NO ADDITIONAL SENSE INFORMATION: what REQUEST SENSE reports when idle.
    pub const fn no_sense() -> Self {
        Self::new(SenseKey::NoSense, 0x00, 0x00)
    }

    /// ILLEGAL REQUEST / INVALID COMMAND OPERATION CODE (20h/00h), pointing at byte 0.
    pub const fn invalid_opcode() -> Self {
        let mut s = Self::new(SenseKey::IllegalRequest, 0x20, 0x00);
        s.field_pointer = Some(FieldPointer {
            in_cdb: true,
            byte: 0,
            bit: None,
        });
        s
    }

    /// ILLEGAL REQUEST / INVALID FIELD IN CDB (24h/00h) at `byte`, `bit` (the field's
    /// most significant bit, or `None` for the whole byte).
    pub const fn invalid_field_in_cdb(byte: u16, bit: Option<u8>) -> Self {
        let mut s = Self::new(SenseKey::IllegalRequest, 0x24, 0x00);
        s.field_pointer = Some(FieldPointer {
            in_cdb: true,
            byte,
            bit,
        });
        s
    }

    /// ILLEGAL REQUEST / INVALID FIELD IN PARAMETER LIST (26h/00h) at `byte`, `bit`.
    pub const fn invalid_field_in_param_list(byte: u16, bit: Option<u8>) -> Self {
        let mut s = Self::new(SenseKey::IllegalRequest, 0x26, 0x00);
        s.field_pointer = Some(FieldPointer {
            in_cdb: false,
            byte,
            bit,
        });
        s
    }

    /// ILLEGAL REQUEST / PARAMETER LIST LENGTH ERROR (1Ah/00h).
    pub const fn parameter_list_length_error() -> Self {
        Self::new(SenseKey::IllegalRequest, 0x1A, 0x00)
    }

    /// ILLEGAL REQUEST / LOGICAL BLOCK ADDRESS OUT OF RANGE (21h/00h).
    pub const fn lba_out_of_range() -> Self {
        Self::new(SenseKey::IllegalRequest, 0x21, 0x00)
    }

    /// ILLEGAL REQUEST / SAVING PARAMETERS NOT SUPPORTED (39h/00h).
    pub const fn saving_parameters_not_supported() -> Self {
        Self::new(SenseKey::IllegalRequest, 0x39, 0x00)
    }

    /// MEDIUM ERROR / UNRECOVERED READ ERROR (11h/00h).
    pub const fn medium_error_read() -> Self {
        Self::new(SenseKey::MediumError, 0x11, 0x00)
    }

    /// MEDIUM ERROR / WRITE ERROR (0Ch/00h).
    pub const fn medium_error_write() -> Self {
        Self::new(SenseKey::MediumError, 0x0C, 0x00)
    }

    /// MISCOMPARE / MISCOMPARE DURING VERIFY OPERATION (1Dh/00h); `info` is the byte
    /// offset of the first difference.
    pub const fn miscompare(offset: u64) -> Self {
        Self::new(SenseKey::Miscompare, 0x1D, 0x00).with_info(offset)
    }

    /// HARDWARE ERROR / INTERNAL TARGET FAILURE (44h/00h): the backstore failed in a way
    /// no more specific code describes.
    pub const fn hardware_error_internal() -> Self {
        Self::new(SenseKey::HardwareError, 0x44, 0x00)
    }

    /// NOT READY / LOGICAL UNIT NOT READY, CAUSE NOT REPORTABLE (04h/00h).
    pub const fn not_ready() -> Self {
        Self::new(SenseKey::NotReady, 0x04, 0x00)
    }

    /// NOT READY / LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED (04h/02h):
    /// the unit was stopped with START STOP UNIT.
    pub const fn not_ready_stopped() -> Self {
        Self::new(SenseKey::NotReady, 0x04, 0x02)
    }

    /// NOT READY / MEDIUM NOT PRESENT (3Ah/00h): the backstore is gone.
    pub const fn medium_not_present() -> Self {
        Self::new(SenseKey::NotReady, 0x3A, 0x00)
    }

    /// DATA PROTECT / WRITE PROTECTED (27h/00h).
    pub const fn write_protected() -> Self {
        Self::new(SenseKey::DataProtect, 0x27, 0x00)
    }

    /// UNIT ATTENTION / POWER ON, RESET, OR BUS DEVICE RESET OCCURRED (29h/00h).
    pub const fn ua_power_on_reset() -> Self {
        Self::new(SenseKey::UnitAttention, 0x29, 0x00)
    }

    /// UNIT ATTENTION / CAPACITY DATA HAS CHANGED (2Ah/09h).
    pub const fn ua_capacity_changed() -> Self {
        Self::new(SenseKey::UnitAttention, 0x2A, 0x09)
    }

    /// UNIT ATTENTION / MODE PARAMETERS CHANGED (2Ah/01h).
    pub const fn ua_mode_parameters_changed() -> Self {
        Self::new(SenseKey::UnitAttention, 0x2A, 0x01)
    }

    /// UNIT ATTENTION / INQUIRY DATA HAS CHANGED (3Fh/03h).
    pub const fn ua_inquiry_data_changed() -> Self {
        Self::new(SenseKey::UnitAttention, 0x3F, 0x03)
    }
}

/// Wire formats.
impl Sense {
    /// Writes the sense into `out` in descriptor (72h) or fixed (70h) format and returns
    /// the number of bytes used. Fixed format sets VALID only when the information fits
    /// its 32-bit field, as SPC-4 requires.
    pub fn encode(&self, descriptor_format: bool, out: &mut [u8; SENSE_BUFFER_LEN]) -> usize {
        out.fill(0);
        if descriptor_format {
            self.encode_descriptor(out)
        } else {
            self.encode_fixed(out)
        }
    }

    /// The encoding as a vector, for REQUEST SENSE and tests.
    pub fn to_vec(&self, descriptor_format: bool) -> Vec<u8> {
        let mut buf = [0u8; SENSE_BUFFER_LEN];
        let len = self.encode(descriptor_format, &mut buf);
        buf.get(..len).unwrap_or_default().to_vec()
    }

    fn encode_fixed(&self, out: &mut [u8; SENSE_BUFFER_LEN]) -> usize {
        let info32 = self.info.and_then(|i| u32::try_from(i).ok());
        out[0] = if info32.is_some() { 0xF0 } else { 0x70 };
        out[2] = self.key.code();
        out[3..7].copy_from_slice(&info32.unwrap_or(0).to_be_bytes());
        out[7] = (FIXED_LEN - 8) as u8;
        out[12] = self.asc;
        out[13] = self.ascq;
        if let Some(fp) = self.field_pointer {
            out[15..18].copy_from_slice(&fp.encode());
        }
        FIXED_LEN
    }

    fn encode_descriptor(&self, out: &mut [u8; SENSE_BUFFER_LEN]) -> usize {
        out[0] = 0x72;
        out[1] = self.key.code();
        out[2] = self.asc;
        out[3] = self.ascq;
        let mut len = 8;
        if let Some(info) = self.info {
            // Information descriptor: type 00h, 0Ah more bytes, VALID, 8-byte information.
            out[8..12].copy_from_slice(&[0x00, 0x0A, 0x80, 0x00]);
            out[12..20].copy_from_slice(&info.to_be_bytes());
            len = 20;
        }
        if let Some(fp) = self.field_pointer {
            // Sense-key specific descriptor: type 02h, 06h more bytes, SKS in bytes 4-6.
            let [a, b, c] = fp.encode();
            if let Some(d) = out.get_mut(len..len + 8) {
                d.copy_from_slice(&[0x02, 0x06, 0, 0, a, b, c, 0]);
            }
            len += 8;
        }
        out[7] = (len - 8) as u8;
        len
    }
}

/// Reading sense data back, which only tests need: the daemon only writes it.
#[cfg(any(test, feature = "test-utils"))]
impl Sense {
    /// Parses fixed or descriptor sense data; `None` if it is not well formed (unknown
    /// response code, reserved sense key, truncated, or descriptors overrunning).
    pub fn decode(buf: &[u8]) -> Option<Sense> {
        match buf.first()? & 0x7F {
            0x70 | 0x71 => Self::decode_fixed(buf),
            0x72 | 0x73 => Self::decode_descriptor(buf),
            _ => None,
        }
    }

    fn decode_fixed(buf: &[u8]) -> Option<Sense> {
        let b: &[u8; FIXED_LEN] = buf.get(..FIXED_LEN)?.try_into().ok()?;
        if usize::from(b[7]) + 8 < FIXED_LEN {
            return None;
        }
        let mut sense = Sense::new(SenseKey::from_code(b[2])?, b[12], b[13]);
        if b[0] & 0x80 != 0 {
            sense.info = Some(u64::from(u32::from_be_bytes([b[3], b[4], b[5], b[6]])));
        }
        sense.field_pointer = FieldPointer::decode([b[15], b[16], b[17]]);
        Some(sense)
    }

    fn decode_descriptor(buf: &[u8]) -> Option<Sense> {
        let h: &[u8; 8] = buf.get(..8)?.try_into().ok()?;
        let end = usize::from(h[7]) + 8;
        let mut sense = Sense::new(SenseKey::from_code(h[1])?, h[2], h[3]);
        let mut descs = buf.get(8..end)?;
        while let [kind, add_len, rest @ ..] = descs {
            let body = rest.get(..usize::from(*add_len))?;
            sense.apply_descriptor(*kind, body)?;
            descs = rest.get(usize::from(*add_len)..)?;
        }
        descs.is_empty().then_some(sense)
    }

    /// Folds one descriptor into the sense; `None` if a known descriptor is malformed.
    fn apply_descriptor(&mut self, kind: u8, body: &[u8]) -> Option<()> {
        match (kind, body) {
            (0x00, [valid, _, info @ ..]) => {
                let info: [u8; 8] = info.try_into().ok()?;
                if valid & 0x80 != 0 {
                    self.info = Some(u64::from_be_bytes(info));
                }
            }
            (0x02, [_, _, a, b, c, _]) => self.field_pointer = FieldPointer::decode([*a, *b, *c]),
            (0x00 | 0x02, _) => return None,
            _ => {}
        }
        Some(())
    }
}
