//! The desired state of one export on this gateway: [`ExportLun`].
//!
//! One export is one `user:` storage object served by this daemon, exported as LUN
//! [`ExportLun::lun`] of TPG 1 of its own iSCSI target: a target carries exactly one
//! export, so the target's access list and CHAP settings are the export's.

use super::names::{BackstoreName, InitiatorName, NameError, TargetIqn, UnitSerial};
use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;

/// Longest `dev_config` (the kernel's `TCMU_CONFIG_LEN` is 256 with the NUL).
pub const DEV_CONFIG_MAX: usize = 255;
/// Longest CHAP user name or secret LIO stores (`auth/*` buffers of 256 bytes with the
/// NUL; the TPG-level store silently truncates, so the limit is ours to enforce).
pub const CHAP_FIELD_MAX: usize = 255;
/// Shortest CHAP secret we accept: RFC 3720 §8.2.1 asks for at least 96 bits when the
/// secret is not random. (Microsoft's initiator accepts only 12 to 16 characters.)
pub const CHAP_SECRET_MIN: usize = 12;
/// Highest LUN number: the flat-space addressing range of SAM.
pub const LUN_MAX: u16 = 16383;
/// The logical block size TCMU devices get; the size must be a multiple of it.
pub const BLOCK_SIZE: u64 = 512;

/// Why a desired export cannot be written to configfs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error(transparent)]
    Name(#[from] NameError),
    #[error("dev_config {value:?}: {why}")]
    DevConfig { value: String, why: &'static str },
    #[error("size {size} is not a positive multiple of {BLOCK_SIZE} bytes")]
    Size { size: u64 },
    #[error("hw_max_sectors must be at least 1")]
    HwMaxSectors,
    #[error("LUN {lun} is above {LUN_MAX}")]
    Lun { lun: u16 },
    #[error("no portal: the export would not be reachable")]
    NoPortal,
    #[error("portal {portal} has port 0")]
    PortalPort { portal: SocketAddr },
    #[error("portal {portal} is listed twice")]
    DuplicatePortal { portal: SocketAddr },
    #[error("initiator {name} is listed twice")]
    DuplicateInitiator { name: String },
    #[error("CHAP {what}: {why}")]
    Chap {
        what: &'static str,
        why: &'static str,
    },
    #[error("mutual CHAP: the target's secret must differ from the initiator's (RFC 3720 §8.2.1)")]
    SameChapSecret,
    #[error(
        "gateway {local} of {gateways}: target port groups need 2 to {GATEWAYS_MAX} gateways and this one among them"
    )]
    Gateways { local: u16, gateways: u16 },
}

/// Everything this gateway needs to export one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportLun {
    /// The storage object name (`core/user_<H>/<name>`), also the export's key in the
    /// ownership journal.
    pub name: BackstoreName,
    /// `<handler>/<config>` handed to the handler, e.g. `glfs/vol@host/images/a.img`.
    pub dev_config: DevConfig,
    /// Size in bytes.
    pub size: u64,
    /// Largest command, in 512-byte blocks.
    pub hw_max_sectors: u32,
    /// Seconds before the kernel times a command out (0: never).
    pub cmd_time_out: u32,
    /// T10 unit serial number.
    pub serial: UnitSerial,
    /// The iSCSI target carrying this export.
    pub target: TargetIqn,
    /// LUN number, in the TPG and in every ACL.
    pub lun: u16,
    /// The portals (address and port) of this gateway.
    pub portals: Vec<SocketAddr>,
    /// Who may log in.
    pub access: Access,
    /// Session authentication.
    pub chap: Chap,
    /// Target port groups, when several gateways export the image (multipath HA).
    pub alua: Option<PortGroups>,
}

/// Most gateways one export may have (target port group ids are 16-bit; a handful is
/// what dm-multipath users run, this bounds the groups made on every gateway).
pub const GATEWAYS_MAX: u16 = 16;

/// One target port group per gateway of the export, the same on every gateway: group
/// `gw<i>` with id `i` (1-based, in the export record's gateway order; id 0 is the
/// kernel's default group), and this gateway's LUN in group `gw<local>`. The daemon
/// reads them back from configfs and answers REPORT TARGET PORT GROUPS from them
/// (docs/HA.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortGroups {
    /// This gateway's group id.
    pub local: u16,
    /// How many gateways (groups) there are.
    pub gateways: u16,
}

impl PortGroups {
    /// The name of group `id`.
    pub fn name(id: u16) -> String {
        format!("gw{id}")
    }

    fn validate(self) -> Result<(), SpecError> {
        let ok = (2..=GATEWAYS_MAX).contains(&self.gateways)
            && (1..=self.gateways).contains(&self.local);
        if ok {
            return Ok(());
        }
        Err(SpecError::Gateways {
            local: self.local,
            gateways: self.gateways,
        })
    }
}

impl ExportLun {
    /// Checks what the field types cannot: numbers, duplicates, portals, CHAP.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.size == 0 || self.size % BLOCK_SIZE != 0 {
            return Err(SpecError::Size { size: self.size });
        }
        if self.hw_max_sectors == 0 {
            return Err(SpecError::HwMaxSectors);
        }
        if self.lun > LUN_MAX {
            return Err(SpecError::Lun { lun: self.lun });
        }
        check_portals(&self.portals)?;
        if let Access::Initiators(list) = &self.access {
            check_initiators(list)?;
        }
        if let Some(groups) = self.alua {
            groups.validate()?;
        }
        self.chap.validate()
    }
}

fn check_portals(portals: &[SocketAddr]) -> Result<(), SpecError> {
    if portals.is_empty() {
        return Err(SpecError::NoPortal);
    }
    let mut seen = HashSet::new();
    for &portal in portals {
        if portal.port() == 0 {
            return Err(SpecError::PortalPort { portal });
        }
        if !seen.insert(portal) {
            return Err(SpecError::DuplicatePortal { portal });
        }
    }
    Ok(())
}

fn check_initiators(list: &[InitiatorName]) -> Result<(), SpecError> {
    let mut seen = HashSet::new();
    match list.iter().find(|i| !seen.insert(*i)) {
        Some(dup) => Err(SpecError::DuplicateInitiator {
            name: dup.to_string(),
        }),
        None => Ok(()),
    }
}

/// Who may log in to the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Any initiator (LIO's "demo mode": ACLs generated at login, TPG-level CHAP).
    Any,
    /// Only these initiators, one ACL each (an empty list lets nobody in).
    Initiators(Vec<InitiatorName>),
}

/// Session authentication. Discovery stays unauthenticated: the discovery credentials
/// (`iscsi/discovery_auth`) are shared by every target on the host and are left alone,
/// so CHAP is enforced when the initiator logs in to the target's session.
#[derive(Clone, PartialEq, Eq)]
pub enum Chap {
    /// No authentication.
    None,
    /// The target authenticates the initiator.
    OneWay { user: ChapUser, secret: ChapSecret },
    /// Both authenticate each other; `target_*` is what the target answers with.
    Mutual {
        user: ChapUser,
        secret: ChapSecret,
        target_user: ChapUser,
        target_secret: ChapSecret,
    },
}

impl Chap {
    fn validate(&self) -> Result<(), SpecError> {
        match self {
            Chap::Mutual {
                secret,
                target_secret,
                ..
            } if secret == target_secret => Err(SpecError::SameChapSecret),
            _ => Ok(()),
        }
    }

    /// Whether the TPG's `attrib/authentication` is on.
    pub fn enabled(&self) -> bool {
        !matches!(self, Chap::None)
    }

    /// `(userid, password, userid_mutual, password_mutual)` as LIO stores them, with
    /// `NULL` meaning "unset" (the kernel's convention).
    pub(crate) fn fields(&self) -> [(&'static str, &str); 4] {
        let (u, s, tu, ts) = match self {
            Chap::None => ("NULL", "NULL", "NULL", "NULL"),
            Chap::OneWay { user, secret } => (user.as_str(), secret.expose(), "NULL", "NULL"),
            Chap::Mutual {
                user,
                secret,
                target_user,
                target_secret,
            } => (
                user.as_str(),
                secret.expose(),
                target_user.as_str(),
                target_secret.expose(),
            ),
        };
        [
            ("userid", u),
            ("password", s),
            ("userid_mutual", tu),
            ("password_mutual", ts),
        ]
    }
}

impl fmt::Debug for Chap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Chap::None => f.write_str("None"),
            Chap::OneWay { user, secret } => f
                .debug_struct("OneWay")
                .field("user", user)
                .field("secret", secret)
                .finish(),
            Chap::Mutual {
                user,
                secret,
                target_user,
                target_secret,
            } => f
                .debug_struct("Mutual")
                .field("user", user)
                .field("secret", secret)
                .field("target_user", target_user)
                .field("target_secret", target_secret)
                .finish(),
        }
    }
}

/// A CHAP user name: 1 to 255 printable ASCII characters, not starting with `NULL`
/// (LIO takes any value starting with those four letters as "unset").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChapUser(String);

impl ChapUser {
    /// Checks `user`.
    pub fn parse(user: &str) -> Result<Self, SpecError> {
        check_chap_field("user", user, 1)?;
        Ok(Self(user.to_owned()))
    }

    /// The user name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A CHAP secret: 12 to 255 printable ASCII characters, not starting with `NULL`.
/// Its `Debug` never shows it and it has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct ChapSecret(String);

impl ChapSecret {
    /// Checks `secret`.
    pub fn parse(secret: &str) -> Result<Self, SpecError> {
        check_chap_field("secret", secret, CHAP_SECRET_MIN)?;
        Ok(Self(secret.to_owned()))
    }

    /// The secret itself, only for the configfs write.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ChapSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChapSecret(<redacted>)")
    }
}

fn check_chap_field(what: &'static str, value: &str, min: usize) -> Result<(), SpecError> {
    let why = if value.len() < min {
        Some(if min == 1 {
            "empty"
        } else {
            "shorter than 12 characters"
        })
    } else if value.len() > CHAP_FIELD_MAX {
        Some("longer than 255 bytes")
    } else if !value.bytes().all(|b| b.is_ascii_graphic()) {
        Some("only printable ASCII without spaces is allowed")
    } else if value.starts_with("NULL") {
        Some("LIO reads a value starting with NULL as unset")
    } else {
        None
    };
    why.map_or(Ok(()), |why| Err(SpecError::Chap { what, why }))
}

/// The `dev_config` string: `<handler>/<config>`, at most 255 bytes, printable ASCII
/// without spaces, `,` (the kernel splits `control` at commas) or `:` (rtslib refuses
/// it); spaces would cut the config in targetcli's view of `info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevConfig(String);

impl DevConfig {
    /// Checks `config`.
    pub fn parse(config: &str) -> Result<Self, SpecError> {
        let why = |why| SpecError::DevConfig {
            value: config.to_owned(),
            why,
        };
        if config.len() > DEV_CONFIG_MAX {
            return Err(why("longer than 255 bytes"));
        }
        if !config
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b',' && b != b':')
        {
            return Err(why(
                "only printable ASCII without spaces, ',' or ':' is allowed",
            ));
        }
        match config.split_once('/') {
            Some((handler, rest)) if !handler.is_empty() && !rest.is_empty() => {}
            _ => return Err(why("not of the form <handler>/<config>")),
        }
        Ok(Self(config.to_owned()))
    }

    /// The string as written after `dev_config=`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests;
