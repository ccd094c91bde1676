//! A checked walk over a flat run of netlink attributes (`struct nlattr` + value +
//! padding to 4 bytes).
//!
//! Every length comes from the wire, so each one is checked against what is left
//! before it becomes a slice; the walk stops at the first error (after a bad length
//! nothing that follows can be trusted).

use super::{DecodeError, NLA_HDRLEN, NLA_TYPE_MASK};

/// One attribute as found on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawAttr<'a> {
    /// Byte offset of the attribute header inside the attribute run.
    pub offset: usize,
    /// Attribute type with the `NLA_F_*` flag bits masked off.
    pub kind: u16,
    /// The value, without header or padding.
    pub value: &'a [u8],
}

/// Iterator over the attributes of a buffer; yields at most one error, then stops.
#[derive(Debug, Clone)]
pub struct RawAttrs<'a> {
    buf: &'a [u8],
    offset: usize,
    failed: bool,
}

impl<'a> RawAttrs<'a> {
    /// Walks `buf`, which must hold only attributes (no genl header).
    pub fn new(buf: &'a [u8]) -> Self {
        Self {
            buf,
            offset: 0,
            failed: false,
        }
    }

    /// Parses the attribute at `self.offset` and returns it with the offset after it.
    fn parse_one(&self) -> Result<(RawAttr<'a>, usize), DecodeError> {
        let offset = self.offset;
        let rest = self.buf.get(offset..).unwrap_or_default();
        let (Some(len), Some(kind)) = (ne_u16(rest, 0), ne_u16(rest, 2)) else {
            let remaining = rest.len();
            return Err(DecodeError::AttrHeaderTruncated { offset, remaining });
        };
        let len = usize::from(len);
        if len < NLA_HDRLEN {
            return Err(DecodeError::AttrTooShort { offset, len });
        }
        let remaining = rest.len();
        let value = rest.get(NLA_HDRLEN..len).ok_or(DecodeError::AttrOverrun {
            offset,
            len,
            remaining,
        })?;
        let padded = align4(len);
        if padded > remaining {
            let missing = padded - remaining;
            return Err(DecodeError::AttrUnpadded { offset, missing });
        }
        let kind = kind & NLA_TYPE_MASK;
        Ok((
            RawAttr {
                offset,
                kind,
                value,
            },
            offset + padded,
        ))
    }
}

impl<'a> Iterator for RawAttrs<'a> {
    type Item = Result<RawAttr<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.offset >= self.buf.len() {
            return None;
        }
        match self.parse_one() {
            Ok((attr, next)) => {
                self.offset = next;
                Some(Ok(attr))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Rounds an attribute length up to the 4-byte netlink alignment (`NLA_ALIGN`).
/// Lengths come from a `u16`, so this cannot overflow.
pub(super) fn align4(len: usize) -> usize {
    (len + 3) & !3
}

/// Netlink headers and values are in host byte order: a `u16` at `at`, if present.
fn ne_u16(buf: &[u8], at: usize) -> Option<u16> {
    array(buf, at).map(u16::from_ne_bytes)
}

/// The `N` bytes at `at`, if the buffer holds them.
pub(super) fn array<const N: usize>(buf: &[u8], at: usize) -> Option<[u8; N]> {
    buf.get(at..at.checked_add(N)?)?.try_into().ok()
}
