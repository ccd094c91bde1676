//! Byte sizes written the way admins write them in targetcli: `4096`, `"512M"`, `"16G"`.

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// A size in bytes. In TOML: a whole number of bytes, or a string with a binary suffix
/// `K`, `M`, `G`, `T` (optionally followed by `iB` or `B`, any case): `"16G"` is 16 GiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Size(pub u64);

impl Size {
    /// `n` GiB.
    pub const fn gib(n: u64) -> Size {
        Size(n << 30)
    }

    /// Bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl std::str::FromStr for Size {
    type Err = String;

    fn from_str(text: &str) -> Result<Size, String> {
        let bad = || format!("{text:?} is not a size like 4096, 512M or 16G");
        let lower = text.trim().to_ascii_lowercase();
        let body = lower
            .strip_suffix("ib")
            .or_else(|| lower.strip_suffix('b'))
            .unwrap_or(&lower);
        let (digits, shift) = match body.as_bytes().last() {
            Some(b'k') => (&body[..body.len() - 1], 10),
            Some(b'm') => (&body[..body.len() - 1], 20),
            Some(b'g') => (&body[..body.len() - 1], 30),
            Some(b't') => (&body[..body.len() - 1], 40),
            _ => (body, 0),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n: u64 = digits.parse().map_err(|_| bad())?;
        n.checked_mul(1u64 << shift).map(Size).ok_or_else(bad)
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Size, D::Error> {
        d.deserialize_any(SizeVisitor)
    }
}

struct SizeVisitor;

impl Visitor<'_> for SizeVisitor {
    type Value = Size;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a size in bytes, or a string like \"512M\" or \"16G\"")
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Size, E> {
        Ok(Size(n))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Size, E> {
        u64::try_from(n)
            .map(Size)
            .map_err(|_| E::custom(format!("size {n} is negative")))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Size, E> {
        text.parse().map_err(E::custom)
    }
}
