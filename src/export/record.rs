//! The record of one export: its desired state, kept on the export's own volume
//! ([`super::layout::record`]) and read by every gateway.
//!
//! JSON, strict: an unknown field or a value out of range makes the whole record corrupt,
//! reported by name, because a gateway that half-understood a record would serve something
//! nobody asked for. `version` lets a later format be told apart.
//!
//! The record holds the CHAP secrets (the file is readable by root only), so neither
//! `Debug` nor any listing shows them.

use super::layout;
use super::name::ExportName;
use crate::lio::{ChapSecret, ChapUser, InitiatorName, LUN_MAX, TargetIqn, UnitSerial};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;

/// The record format this build reads and writes.
pub const RECORD_VERSION: u32 = 1;
/// The only logical block size exports have.
pub const BLOCK_SIZE: u32 = 512;
/// `hw_max_sectors` of an export unless asked otherwise: 512 KiB commands (the kernel's
/// default of 128 splits every large I/O into 64 KiB pieces).
pub const DEFAULT_HW_MAX_SECTORS: u32 = 1024;
/// Largest `hw_max_sectors` accepted (4 MiB commands).
pub const MAX_HW_MAX_SECTORS: u32 = 8192;
/// The kernel's command time-out of an export's LUN unless asked otherwise: longer than
/// Gluster's default `network.ping-timeout` (42 s), so that a hung brick is given up by
/// Gluster before the kernel fails the command.
pub const DEFAULT_CMD_TIME_OUT: u32 = 130;
/// The command time-out of an HA export's LUN (several gateways): shorter than the
/// initiator's own SCSI command time-out (30 s in Linux), so that the commands a gateway
/// whose daemon died still holds are failed by its kernel, and dm-multipath retries them
/// on another gateway, before the initiator's error handling starts (which took 80 s to
/// drop the dead gateway's session in `ha-pair`). A hung brick does not need the long
/// time-out here: a command given up on one gateway is written on another under the
/// image lock, and a late write of the first is refused by the bricks (docs/HA.md).
pub const HA_CMD_TIME_OUT: u32 = 20;
/// Whether an export served by `gateways` is a multipath HA export (docs/HA.md): two
/// gateways or more. It decides the LUN's target port groups, its command time-out, the
/// volume it needs (one that fences) and who may grow its image.
pub fn is_multipath(gateways: &[SocketAddr]) -> bool {
    gateways.len() > 1
}

/// Prefix of the target IQN; the export's name follows it.
pub const IQN_PREFIX: &str = "iqn.2016-12.org.gluster-tcmu:";

/// Where an export is in its life. Gateways serve only `Ready` exports; `Creating` and
/// `Deleting` mark a command that has not finished (the same command, run again, finishes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Creating,
    Ready,
    Deleting,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Creating => "creating",
            State::Ready => "ready",
            State::Deleting => "deleting",
        })
    }
}

/// A CHAP user name and secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChapPair {
    pub user: String,
    pub secret: String,
}

impl fmt::Debug for ChapPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChapPair")
            .field("user", &self.user)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// CHAP of an export: the initiator proves itself with `initiator`; with `target` set
/// (mutual CHAP) the target proves itself too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChapRecord {
    pub initiator: ChapPair,
    pub target: Option<ChapPair>,
}

/// One export's desired state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub version: u32,
    pub name: String,
    pub state: State,
    /// The Gluster volume and the volfile servers the gateways connect through, in order.
    pub volume: String,
    pub servers: Vec<String>,
    /// The image's path on the volume ([`layout::image`]).
    pub image: String,
    /// Bytes; a multiple of `block_size`.
    pub size: u64,
    pub block_size: u32,
    /// The image was fully allocated at create.
    pub prealloc: bool,
    /// T10 unit serial, the same on every gateway, so the initiator sees one WWID.
    pub serial: String,
    pub iqn: String,
    pub lun: u16,
    /// The gateways' portals (`IP:PORT`), the first being the one a client tries first.
    pub gateways: Vec<SocketAddr>,
    /// Initiators allowed to log in; empty lets any initiator in (with CHAP if set).
    pub initiators: Vec<String>,
    pub chap: Option<ChapRecord>,
    pub hw_max_sectors: u32,
    pub cmd_time_out: u32,
    /// Counts changes of the record, so that a gateway's report can say which one it serves.
    pub generation: u64,
    /// The export of the same volume whose image this one's was copied from (`export
    /// create --clone-from`). Absent from the file when there is none, so a record written
    /// before clones existed reads as `None` and an older build still reads every record
    /// that is not a clone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clone_of: Option<String>,
}

/// A record that cannot be used, and why.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("not a valid export record: {0}")]
    Json(#[from] serde_json::Error),
    #[error("record format {found} is not known to this gluster-tcmu (it reads {RECORD_VERSION})")]
    Version { found: u32 },
    #[error("record field `{field}`: {reason}")]
    Field { field: &'static str, reason: String },
}

fn field(field: &'static str, reason: impl fmt::Display) -> RecordError {
    RecordError::Field {
        field,
        reason: reason.to_string(),
    }
}

impl Record {
    /// Parses and checks a record file's bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Self, RecordError> {
        let record: Record = serde_json::from_slice(bytes)?;
        record.validate()?;
        Ok(record)
    }

    /// The record file's bytes (pretty, one field per line, for an admin who looks).
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// The checked name.
    pub fn export_name(&self) -> Result<ExportName, RecordError> {
        ExportName::parse(&self.name).map_err(|e| field("name", e))
    }

    /// The target IQN an export of `name` gets.
    pub fn iqn_for(name: &ExportName) -> String {
        format!("{IQN_PREFIX}{name}")
    }

    /// The `user:glfs` config string of the export's LUN: `glfs/VOL@S1+S2/path`.
    pub fn dev_config(&self) -> String {
        let path = self.image.trim_start_matches('/');
        format!("glfs/{}@{}/{path}", self.volume, self.servers.join("+"))
    }

    /// True when `portal` is one of the export's gateways.
    pub fn names_gateway(&self, portal: &SocketAddr) -> bool {
        self.gateways.contains(portal)
    }

    /// Checks every field; the first problem found is the answer.
    pub fn validate(&self) -> Result<(), RecordError> {
        if self.version != RECORD_VERSION {
            return Err(RecordError::Version {
                found: self.version,
            });
        }
        let name = self.export_name()?;
        self.validate_location(&name)?;
        self.validate_geometry()?;
        UnitSerial::parse(&self.serial).map_err(|e| field("serial", e))?;
        TargetIqn::parse(&self.iqn).map_err(|e| field("iqn", e))?;
        if self.lun > LUN_MAX {
            return Err(field("lun", format!("{} is above {LUN_MAX}", self.lun)));
        }
        self.validate_access()?;
        if let Some(chap) = &self.chap {
            validate_chap(chap)?;
        }
        self.validate_clone_of(&name)
    }

    /// The source of a clone is another export's name.
    fn validate_clone_of(&self, name: &ExportName) -> Result<(), RecordError> {
        let Some(source) = &self.clone_of else {
            return Ok(());
        };
        let source = ExportName::parse(source).map_err(|e| field("clone_of", e))?;
        if source == *name {
            return Err(field("clone_of", "an export cannot be a clone of itself"));
        }
        Ok(())
    }

    fn validate_location(&self, name: &ExportName) -> Result<(), RecordError> {
        if self.volume.is_empty() {
            return Err(field("volume", "empty"));
        }
        if self.servers.is_empty() || self.servers.iter().any(String::is_empty) {
            return Err(field("servers", "at least one volfile server, none empty"));
        }
        let image = layout::image(name);
        if self.image != image {
            return Err(field(
                "image",
                format!("{:?}, expected {image:?}", self.image),
            ));
        }
        crate::lio::DevConfig::parse(&self.dev_config()).map_err(|e| field("image", e))?;
        Ok(())
    }

    fn validate_geometry(&self) -> Result<(), RecordError> {
        if self.block_size != BLOCK_SIZE {
            return Err(field(
                "block_size",
                format!("{}, expected {BLOCK_SIZE}", self.block_size),
            ));
        }
        if self.size == 0 || self.size % u64::from(BLOCK_SIZE) != 0 {
            return Err(field(
                "size",
                format!("{} is not a positive multiple of {BLOCK_SIZE}", self.size),
            ));
        }
        if !(1..=MAX_HW_MAX_SECTORS).contains(&self.hw_max_sectors) {
            return Err(field(
                "hw_max_sectors",
                format!("{} is not in 1..={MAX_HW_MAX_SECTORS}", self.hw_max_sectors),
            ));
        }
        if self.cmd_time_out == 0 {
            return Err(field("cmd_time_out", "0 seconds"));
        }
        Ok(())
    }

    fn validate_access(&self) -> Result<(), RecordError> {
        if self.gateways.is_empty() {
            return Err(field("gateways", "at least one gateway"));
        }
        if let Some(dup) = first_duplicate(&self.gateways) {
            return Err(field("gateways", format!("{dup} is listed twice")));
        }
        for i in &self.initiators {
            InitiatorName::parse(i).map_err(|e| field("initiators", e))?;
        }
        if let Some(dup) = first_duplicate(&self.initiators) {
            return Err(field("initiators", format!("{dup} is listed twice")));
        }
        Ok(())
    }
}

fn validate_chap(chap: &ChapRecord) -> Result<(), RecordError> {
    let pairs = std::iter::once(&chap.initiator).chain(chap.target.as_ref());
    for pair in pairs {
        ChapUser::parse(&pair.user).map_err(|e| field("chap", e))?;
        ChapSecret::parse(&pair.secret).map_err(|e| field("chap", e))?;
    }
    if let Some(target) = &chap.target {
        if target.secret == chap.initiator.secret {
            // RFC 3720 §8.2.1: the two directions must not share a secret.
            return Err(field("chap", "mutual CHAP needs two different secrets"));
        }
    }
    Ok(())
}

fn first_duplicate<T: PartialEq + fmt::Display>(items: &[T]) -> Option<&T> {
    items
        .iter()
        .enumerate()
        .find(|(i, a)| items[..*i].contains(a))
        .map(|(_, a)| a)
}

#[cfg(test)]
mod tests;
