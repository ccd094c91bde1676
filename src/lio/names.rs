//! Validated names: what configfs, the kernel's LIO code, rtslib (targetcli) and iSCSI
//! itself can all hold.
//!
//! Each type is built only through its `parse` constructor, so a value in hand is
//! always writable to configfs as it is. The limits, and where they come from:
//!
//! * storage object names: rtslib refuses `/` and white space, configfs refuses `/`;
//!   we keep to `[A-Za-z0-9_.-]`, no leading `.` (a hidden directory), at most
//!   [`BACKSTORE_NAME_MAX`] bytes (the kernel's `TARGET_CORE_NAME_MAX_LEN` for HBA
//!   names, reused as a sane bound);
//! * iSCSI names (RFC 3720 §3.2.6): `iqn.YYYY-MM.reversed.domain[:anything]`,
//!   lowercase, at most 223 bytes (the kernel's `ISCSI_IQN_LEN` is 224 with the NUL);
//!   initiators may also use `eui.` + 16 hex digits or `naa.` + 16 or 32 hex digits
//!   (RFC 3720 §3.2.6.3.2, RFC 3980);
//! * the unit serial: printable ASCII without `:`, at most [`UNIT_SERIAL_MAX`] bytes.
//!   The kernel keeps 253 (`INQUIRY_VPD_SERIAL_LEN` 254 with the NUL); the handler
//!   reads the serial back as the text after the last `:` of
//!   `T10 VPD Unit Serial Number: <serial>` and keeps 200 characters, so a longer serial
//!   or one with `:` would reach initiators differently through the handler.

use std::fmt;

/// Longest storage object (backstore) name we create.
pub const BACKSTORE_NAME_MAX: usize = 63;
/// Longest iSCSI name (RFC 3720 §3.2.6.1: 223 bytes).
pub const ISCSI_NAME_MAX: usize = 223;
/// Longest unit serial (see the module documentation).
pub const UNIT_SERIAL_MAX: usize = 200;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("{what} is empty")]
    Empty { what: &'static str },
    #[error("{what} {value:?} is longer than {max} bytes")]
    TooLong {
        what: &'static str,
        value: String,
        max: usize,
    },
    #[error("{what} {value:?} has the character {bad:?}, allowed: {allowed}")]
    BadChar {
        what: &'static str,
        value: String,
        bad: char,
        allowed: &'static str,
    },
    #[error("{what} {value:?} does not have the form {form}")]
    BadForm {
        what: &'static str,
        value: String,
        form: &'static str,
    },
}

/// A storage object (backstore) name: the directory `core/user_<H>/<name>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BackstoreName(String);

impl BackstoreName {
    /// Checks `name` against the rules in the module documentation.
    pub fn parse(name: &str) -> Result<Self, NameError> {
        const WHAT: &str = "backstore name";
        check_len(WHAT, name, BACKSTORE_NAME_MAX)?;
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
        check_chars(WHAT, name, allowed, "A-Z a-z 0-9 _ . -")?;
        if name.starts_with('.') {
            return Err(bad_form(WHAT, name, "a name not starting with '.'"));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as written in configfs.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An iSCSI target name (`iqn.` form only).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TargetIqn(String);

impl TargetIqn {
    /// Checks `name` as an `iqn.` name (RFC 3720 §3.2.6.3.1).
    pub fn parse(name: &str) -> Result<Self, NameError> {
        check_iqn("target IQN", name)?;
        Ok(Self(name.to_owned()))
    }

    /// The name as written in configfs.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An iSCSI initiator name: `iqn.`, `eui.` or `naa.` form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InitiatorName(String);

impl InitiatorName {
    /// Checks `name` as an iSCSI name of any of the three forms.
    pub fn parse(name: &str) -> Result<Self, NameError> {
        const WHAT: &str = "initiator name";
        if let Some(hex) = name.strip_prefix("eui.") {
            check_hex(WHAT, name, hex, &[16], "eui. followed by 16 hex digits")?;
        } else if let Some(hex) = name.strip_prefix("naa.") {
            check_hex(
                WHAT,
                name,
                hex,
                &[16, 32],
                "naa. followed by 16 or 32 hex digits",
            )?;
        } else {
            check_iqn(WHAT, name)?;
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as written in configfs.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The T10 unit serial number the LUN reports (VPD page 80h).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnitSerial(String);

impl UnitSerial {
    /// Checks `serial` against the rules in the module documentation.
    pub fn parse(serial: &str) -> Result<Self, NameError> {
        const WHAT: &str = "unit serial";
        check_len(WHAT, serial, UNIT_SERIAL_MAX)?;
        let allowed = |c: char| c.is_ascii_graphic() && c != ':';
        check_chars(WHAT, serial, allowed, "printable ASCII except ':'")?;
        Ok(Self(serial.to_owned()))
    }

    /// The serial as written to `wwn/vpd_unit_serial`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! display_as_str {
    ($($ty:ty),*) => {$(
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}
display_as_str!(BackstoreName, TargetIqn, InitiatorName, UnitSerial);

/// The `iqn.` form: `iqn.` + `YYYY-MM` + `.` + reversed domain name, then optionally
/// `:` and a free-form unique part; lowercase letters, digits, `-`, `.` and `:` only
/// (the stringprep profile of RFC 3722 maps letters to lowercase; we also keep to
/// ASCII so every initiator and tool can type the name).
fn check_iqn(what: &'static str, name: &str) -> Result<(), NameError> {
    const FORM: &str = "iqn.YYYY-MM.reversed.domain[:unique]";
    check_len(what, name, ISCSI_NAME_MAX)?;
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.:".contains(c);
    check_chars(what, name, allowed, "a-z 0-9 - . :")?;
    let rest = name
        .strip_prefix("iqn.")
        .ok_or_else(|| bad_form(what, name, FORM))?;
    let (date, rest) = rest.split_at_checked(7).unwrap_or(("", ""));
    let authority = rest.strip_prefix('.').unwrap_or("");
    let domain = authority.split(':').next().unwrap_or("");
    if !is_year_month(date) || !is_reversed_domain(domain) {
        return Err(bad_form(what, name, FORM));
    }
    Ok(())
}

/// `YYYY-MM` with a month from 01 to 12.
fn is_year_month(date: &str) -> bool {
    let b = date.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 7 || b[4] != b'-' || !digits(0..4) || !digits(5..7) {
        return false;
    }
    matches!(date[5..].parse::<u8>(), Ok(1..=12))
}

/// Dot-separated labels, none empty, none starting or ending with `-`.
fn is_reversed_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain
            .split('.')
            .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'))
}

fn check_hex(
    what: &'static str,
    name: &str,
    hex: &str,
    lens: &[usize],
    form: &'static str,
) -> Result<(), NameError> {
    if !lens.contains(&hex.len()) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad_form(what, name, form));
    }
    Ok(())
}

fn check_len(what: &'static str, value: &str, max: usize) -> Result<(), NameError> {
    if value.is_empty() {
        return Err(NameError::Empty { what });
    }
    if value.len() > max {
        let value = value.to_owned();
        return Err(NameError::TooLong { what, value, max });
    }
    Ok(())
}

fn check_chars(
    what: &'static str,
    value: &str,
    allowed: impl Fn(char) -> bool,
    allowed_text: &'static str,
) -> Result<(), NameError> {
    match value.chars().find(|&c| !allowed(c)) {
        Some(bad) => Err(NameError::BadChar {
            what,
            value: value.to_owned(),
            bad,
            allowed: allowed_text,
        }),
        None => Ok(()),
    }
}

fn bad_form(what: &'static str, value: &str, form: &'static str) -> NameError {
    let value = value.to_owned();
    NameError::BadForm { what, value, form }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backstore_names() {
        for ok in ["vol1", "a.b-c_D", "x"] {
            assert_eq!(BackstoreName::parse(ok).unwrap().as_str(), ok);
        }
        assert!(matches!(
            BackstoreName::parse("a/b"),
            Err(NameError::BadChar { bad: '/', .. })
        ));
        assert!(matches!(
            BackstoreName::parse("a b"),
            Err(NameError::BadChar { bad: ' ', .. })
        ));
        assert!(matches!(
            BackstoreName::parse(".hidden"),
            Err(NameError::BadForm { .. })
        ));
        assert!(matches!(
            BackstoreName::parse(""),
            Err(NameError::Empty { .. })
        ));
        let long = "a".repeat(BACKSTORE_NAME_MAX + 1);
        assert!(matches!(
            BackstoreName::parse(&long),
            Err(NameError::TooLong { max: 63, .. })
        ));
    }

    #[test]
    fn iqns() {
        for ok in [
            "iqn.2003-01.org.linux-iscsi.host:sn.1234",
            "iqn.2024-12.com.example",
            "iqn.1992-08.com.netapp:sn.1:vs.3",
        ] {
            assert!(TargetIqn::parse(ok).is_ok(), "{ok}");
            assert!(InitiatorName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "iqn.2024-13.com.example",
            "iqn.24-01.com.example",
            "iqn.2024-01",
            "iqn.2024-01.",
            "iqn.2024-01..com",
            "iqn.2024-01.-com",
            "iqn.2024-01com.example",
            "iqx.2024-01.com.example",
        ] {
            let err = TargetIqn::parse(bad);
            assert!(
                matches!(err, Err(NameError::BadForm { .. })),
                "{bad}: {err:?}"
            );
        }
        assert!(matches!(
            TargetIqn::parse("iqn.2024-01.com.Example"),
            Err(NameError::BadChar { bad: 'E', .. })
        ));
        let long = format!("iqn.2024-01.com.example:{}", "a".repeat(200));
        assert!(matches!(
            TargetIqn::parse(&long),
            Err(NameError::TooLong { max: 223, .. })
        ));
    }

    #[test]
    fn eui_and_naa_only_for_initiators() {
        assert!(InitiatorName::parse("eui.02004567A425678D").is_ok());
        assert!(InitiatorName::parse("naa.52004567BA64678D").is_ok());
        assert!(InitiatorName::parse("naa.62004567BA64678D0123456789ABCDEF").is_ok());
        assert!(InitiatorName::parse("eui.0200").is_err());
        assert!(InitiatorName::parse("naa.62004567BA64678D01").is_err());
        assert!(InitiatorName::parse("eui.02004567A425678G").is_err());
        assert!(TargetIqn::parse("eui.02004567A425678D").is_err());
    }

    #[test]
    fn unit_serials() {
        assert!(UnitSerial::parse("5a1e0c2e-77d4-4f3c-9d84-2f3c1a2b3c4d").is_ok());
        assert!(matches!(
            UnitSerial::parse("a:b"),
            Err(NameError::BadChar { bad: ':', .. })
        ));
        assert!(matches!(
            UnitSerial::parse("a b"),
            Err(NameError::BadChar { bad: ' ', .. })
        ));
        let long = "s".repeat(UNIT_SERIAL_MAX + 1);
        assert!(UnitSerial::parse(&long).is_err());
    }
}
