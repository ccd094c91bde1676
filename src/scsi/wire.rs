//! Total byte access for CDBs, parameter lists and response pages.
//!
//! SCSI fields live at fixed offsets in buffers whose length the initiator controls.
//! [`Bytes`] reads them so that a missing byte reads as zero instead of panicking (callers
//! check lengths first where a short buffer is an error of its own), and [`PageBuf`] writes
//! them so that a write past the end grows the page. Neither can panic or overflow, which
//! keeps the encoders free of index arithmetic.

#![forbid(unsafe_code)]

/// A read-only view of wire bytes where out-of-range reads yield zero.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bytes<'a>(pub &'a [u8]);

impl Bytes<'_> {
    /// The byte at `at`, or 0 past the end.
    pub fn u8(self, at: usize) -> u8 {
        self.0.get(at).copied().unwrap_or(0)
    }

    /// Whether bit `bit` (0 = least significant) of byte `at` is set.
    pub fn bit(self, at: usize, bit: u8) -> bool {
        self.u8(at) & (1u8 << (bit & 7)) != 0
    }

    /// A big-endian number of `width` bytes (at most 8) starting at `at`.
    pub fn be(self, at: usize, width: usize) -> u64 {
        (0..width.min(8)).fold(0, |acc, k| {
            (acc << 8) | u64::from(self.u8(at.saturating_add(k)))
        })
    }

    /// A big-endian 16-bit number at `at`.
    pub fn be16(self, at: usize) -> u16 {
        u16::from_be_bytes([self.u8(at), self.u8(at.saturating_add(1))])
    }

    /// A big-endian 32-bit number at `at`.
    pub fn be32(self, at: usize) -> u32 {
        let b = |k: usize| self.u8(at.saturating_add(k));
        u32::from_be_bytes([b(0), b(1), b(2), b(3)])
    }
}

/// A response page under construction; writes past the end extend it with zeros.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PageBuf(Vec<u8>);

impl PageBuf {
    /// A zeroed page of `len` bytes.
    pub fn zeroed(len: usize) -> Self {
        PageBuf(vec![0; len])
    }

    /// Writes `bytes` at `at`, growing the page as needed.
    pub fn put(&mut self, at: usize, bytes: &[u8]) -> &mut Self {
        let end = at.saturating_add(bytes.len());
        if self.0.len() < end {
            self.0.resize(end, 0);
        }
        if let Some(dst) = self.0.get_mut(at..end) {
            dst.copy_from_slice(bytes);
        }
        self
    }

    /// Writes one byte at `at`.
    pub fn set(&mut self, at: usize, byte: u8) -> &mut Self {
        self.put(at, &[byte])
    }

    /// Appends `bytes` at the end.
    pub fn push(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.extend_from_slice(bytes);
        self
    }

    /// Writes `text` at `at`, space padded (or cut) to exactly `width` bytes, as INQUIRY
    /// strings are.
    pub fn text(&mut self, at: usize, width: usize, text: &str) -> &mut Self {
        let mut field = vec![b' '; width];
        field.iter_mut().zip(text.bytes()).for_each(|(d, s)| *d = s);
        self.put(at, &field)
    }

    /// Current length.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The finished bytes.
    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }
}

/// `len` as a 16-bit length field, saturating (our pages are far shorter).
pub(crate) fn len16(len: usize) -> [u8; 2] {
    u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes()
}
