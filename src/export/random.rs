//! The random parts of a new export: its unit serial (a version 4 UUID, so that every
//! export's WWID is unique without any registry) and its CHAP user names and secrets.
//! All of it comes from the kernel's random source (`/dev/urandom`, which never blocks
//! once the system has booted and is what `getrandom(2)` reads).

use std::fs::File;
use std::io::{self, Read};

/// The kernel's random source.
const URANDOM: &str = "/dev/urandom";
/// Characters of a generated CHAP secret: letters and digits only, so a secret needs no
/// quoting in iscsiadm, configfs or YAML.
const ALPHANUMERIC: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Length of a generated CHAP secret: 16 of 62 characters is 95 bits, within the 12 to
/// 16 characters every initiator (the Windows one included) accepts.
pub const SECRET_LEN: usize = 16;
/// Random hex digits after the export's name in a generated CHAP user name.
const USER_SUFFIX_BYTES: usize = 4;

/// `n` random bytes.
pub fn bytes(n: usize) -> io::Result<Vec<u8>> {
    let mut out = vec![0u8; n];
    File::open(URANDOM)?.read_exact(&mut out)?;
    Ok(out)
}

/// A random version 4 UUID in its 36-character text form (RFC 9562 §5.4).
pub fn uuid_v4() -> io::Result<String> {
    let mut b = bytes(16)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// A random secret of [`SECRET_LEN`] letters and digits, each equally likely.
pub fn secret() -> io::Result<String> {
    let mut out = String::with_capacity(SECRET_LEN);
    while out.len() < SECRET_LEN {
        for b in bytes(SECRET_LEN * 2)? {
            // 248 = 4 * 62: bytes at or above it are dropped so that no character is
            // likelier than another.
            if b < 248 && out.len() < SECRET_LEN {
                out.push(char::from(ALPHANUMERIC[usize::from(b % 62)]));
            }
        }
    }
    Ok(out)
}

/// A CHAP user name `<base>-<8 random hex digits>`: readable (it says which export it is
/// for) and unique to this export's life (a re-created export of the same name gets
/// another).
pub fn user(base: &str) -> io::Result<String> {
    let suffix: String = bytes(USER_SUFFIX_BYTES)?
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect();
    Ok(format!("{base}-{suffix}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn uuids_have_the_version_4_form_and_differ() {
        let a = uuid_v4().unwrap();
        let b = uuid_v4().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'), "{a}");
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"), "{a}");
        assert!(crate::lio::UnitSerial::parse(&a).is_ok());
    }

    #[test]
    fn secrets_are_alphanumeric_and_differ() {
        let all: HashSet<String> = (0..50).map(|_| secret().unwrap()).collect();
        assert_eq!(all.len(), 50);
        for s in &all {
            assert_eq!(s.len(), SECRET_LEN);
            assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()), "{s}");
            assert!(crate::lio::ChapSecret::parse(s).is_ok());
        }
    }

    #[test]
    fn users_name_their_export() {
        let u = user("disk1").unwrap();
        assert!(
            u.starts_with("disk1-") && u.len() == "disk1-".len() + 8,
            "{u}"
        );
        assert_ne!(u, user("disk1").unwrap());
    }
}
