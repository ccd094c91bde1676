//! A device's ALUA configuration in configfs: the target port groups under
//! `<device>/alua/<group>/` (drivers/target/target_core_configfs.c, the `tg_pt_gp`
//! attributes) and which of them hold this gateway's ports, turned into the
//! [`LunAlua`] the LUN answers with (docs/HA.md, "Port groups from configfs").
//!
//! What the kernel prints, per group:
//!
//! * `tg_pt_gp_id`: `%hu\n`, empty until the admin sets one;
//! * `alua_access_state`: the SPC-4 state code, `%d\n`;
//! * `alua_access_type`: `Implicit and Explicit`, `Implicit`, `Explicit` or `None`;
//! * `preferred`: `0` or `1`;
//! * `members`: one line per LUN in the group, `<fabric>/<wwn>/tpgt_<n>/<lun_m>`.
//!
//! Every device has `default_tg_pt_gp` (id 0), which every LUN joins when it is made.
//! A LUN whose ports are all still there has no ALUA configuration: [`lun_alua`] gives
//! `None` and the LUN answers as it always did.

use super::ConfigfsError;
use crate::control::sysfs::read_attr;
use crate::scsi::alua::{AccessState, LunAlua, PortGroup};
use std::path::Path;

/// The group the kernel makes for every device and puts every new LUN in.
pub const DEFAULT_GROUP: &str = "default_tg_pt_gp";

/// `alua_access_type`: which kinds of state change the group allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessType {
    None,
    Implicit,
    Explicit,
    ImplicitAndExplicit,
}

impl AccessType {
    fn parse(text: &str) -> Option<Self> {
        Some(match text.trim() {
            "None" => AccessType::None,
            "Implicit" => AccessType::Implicit,
            "Explicit" => AccessType::Explicit,
            "Implicit and Explicit" => AccessType::ImplicitAndExplicit,
            _ => return None,
        })
    }

    /// Whether the target itself may change the group's state (the HA lock does).
    pub fn allows_implicit(self) -> bool {
        matches!(self, AccessType::Implicit | AccessType::ImplicitAndExplicit)
    }
}

/// One `alua/<name>/` directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetPortGroup {
    pub name: String,
    /// `None` while `tg_pt_gp_id` is empty (no id set yet).
    pub id: Option<u16>,
    /// The raw `alua_access_state` code.
    pub state: u8,
    pub access_type: AccessType,
    pub preferred: bool,
    /// `members`, one `<fabric>/<wwn>/tpgt_<n>/<lun>` a line.
    pub members: Vec<String>,
}

/// Why a device's groups do not make one LUN description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AluaError {
    #[error(
        "this gateway's ports of the device are in several target port groups ({0}); \
         the handler cannot tell them apart"
    )]
    SeveralLocalGroups(String),
    #[error("target port group {group} has access state {code:#x}, which is not offered")]
    State { group: String, code: u8 },
    #[error("target port group {0} holds ports but has no tg_pt_gp_id")]
    NoId(String),
}

/// Reads every group under `<device_dir>/alua/`, sorted by name; none when the
/// directory is missing (a device not enabled yet has none).
pub fn read_groups(device_dir: &Path) -> Result<Vec<TargetPortGroup>, ConfigfsError> {
    let dir = device_dir.join("alua");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(ConfigfsError::Read { path: dir, source }),
    };
    let mut groups = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| ConfigfsError::Read {
            path: dir.clone(),
            source,
        })?;
        if entry.path().is_dir() {
            groups.push(read_group(&entry.path())?);
        }
    }
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(groups)
}

fn read_group(dir: &Path) -> Result<TargetPortGroup, ConfigfsError> {
    let read = |file: &str| {
        let path = dir.join(file);
        read_attr(&path).map_err(|source| ConfigfsError::Read { path, source })
    };
    let parse_err = |file: &str, text: &str| ConfigfsError::Parse {
        path: dir.join(file),
        source: super::ParseError::NotDecimal {
            text: text.to_owned(),
        },
    };
    let id_text = read("tg_pt_gp_id")?;
    let id = match id_text.trim() {
        "" => None,
        t => Some(super::parse_decimal(t).map_err(|_| parse_err("tg_pt_gp_id", t))?),
    };
    let state_text = read("alua_access_state")?;
    let state = super::parse_decimal(&state_text)
        .map_err(|_| parse_err("alua_access_state", &state_text))?;
    let type_text = read("alua_access_type")?;
    let access_type =
        AccessType::parse(&type_text).ok_or_else(|| parse_err("alua_access_type", &type_text))?;
    let preferred = read("preferred")?.trim() == "1";
    let members = read("members")?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(TargetPortGroup {
        name: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        id,
        state,
        access_type,
        preferred,
        members,
    })
}

/// The LUN description the groups make, `None` when no group but the default holds a
/// port of this gateway (no ALUA configured).
///
/// One group per gateway (docs/HA.md): the group holding this gateway's ports is the
/// local one; each group has one port whose relative target port identifier is the
/// group's id, so every gateway reports the same groups and ports. The default group
/// and groups without an id are left out (a port in the default group while another
/// group holds one too would be a port the handler cannot tell apart).
pub fn lun_alua(groups: &[TargetPortGroup]) -> Result<Option<LunAlua>, AluaError> {
    let configured = || groups.iter().filter(|g| g.name != DEFAULT_GROUP);
    let local: Vec<&TargetPortGroup> = configured().filter(|g| !g.members.is_empty()).collect();
    let local = match local.as_slice() {
        [] => return Ok(None),
        [one] => *one,
        several => {
            let names: Vec<&str> = several.iter().map(|g| g.name.as_str()).collect();
            return Err(AluaError::SeveralLocalGroups(names.join(", ")));
        }
    };
    let receiving_port = local
        .id
        .ok_or_else(|| AluaError::NoId(local.name.clone()))?;
    let mut out = Vec::new();
    for g in configured() {
        let Some(id) = g.id else { continue };
        let state = AccessState::from_code(g.state).ok_or_else(|| AluaError::State {
            group: g.name.clone(),
            code: g.state,
        })?;
        out.push(PortGroup {
            id,
            state,
            preferred: g.preferred,
            status: 0,
            ports: vec![id],
        });
    }
    Ok(Some(LunAlua {
        groups: out,
        receiving_port,
        transition_secs: 0,
    }))
}

#[cfg(test)]
mod tests;
