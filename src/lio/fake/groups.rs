//! Which LIO object a directory is, by its place in the tree, and what the kernel puts
//! in it at `mkdir` (attribute files with their initial text, default groups).
//!
//! Sources: `target_core_configfs.c` (HBA, storage object), `target_core_user.c`
//! (TCMU attributes), `target_core_fabric_configfs.c` (target, TPG, LUN, ACL, mapped
//! LUN default groups) and `iscsi_target_configfs.c` (iSCSI attributes), Linux 6.x.
//! Only what the writer touches or tests look at is modelled.

use std::path::{Component, Path};

/// The group every LUN of a storage object is in until moved (not modelled as a
/// directory: the writer never touches it).
pub(super) const DEFAULT_ALUA_GROUP: &str = "default_tg_pt_gp";

/// `alua_access_type` as the kernel shows the value written (0 to 3).
pub(super) fn access_type_text(value: u64) -> Option<&'static str> {
    Some(match value {
        0 => "None",
        1 => "Implicit",
        2 => "Explicit",
        3 => "Implicit and Explicit",
        _ => return None,
    })
}

/// An object the kernel creates on `mkdir`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Group {
    Hba,
    Device,
    Target,
    Tpg,
    Portal,
    Lun,
    Acl,
    MappedLun,
    /// A target port group a user made in a storage object's `alua/`.
    TargetPortSet,
}

/// The components of `rel` (a path relative to the target root) as text.
pub(super) fn parts(rel: &Path) -> Vec<&str> {
    rel.components()
        .filter_map(|c| match c {
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect()
}

/// The object a directory at `rel` would be, by its place.
pub(super) fn classify(rel: &Path) -> Option<Group> {
    let p = parts(rel);
    let tpg = |s: &str| s.starts_with("tpgt_");
    let lun = |s: &str| {
        s.strip_prefix("lun_")
            .is_some_and(|n| n.parse::<u64>().is_ok())
    };
    match p.as_slice() {
        ["core", hba] if hba.contains('_') => Some(Group::Hba),
        ["core", _, _] => Some(Group::Device),
        ["core", _, _, "alua", g] if *g != DEFAULT_ALUA_GROUP => Some(Group::TargetPortSet),
        ["iscsi", iqn] if *iqn != "discovery_auth" => Some(Group::Target),
        ["iscsi", _, t] if tpg(t) => Some(Group::Tpg),
        ["iscsi", _, t, "np", _] if tpg(t) => Some(Group::Portal),
        ["iscsi", _, t, "lun", l] if tpg(t) && lun(l) => Some(Group::Lun),
        ["iscsi", _, t, "acls", _] if tpg(t) => Some(Group::Acl),
        ["iscsi", _, t, "acls", _, l] if tpg(t) && lun(l) => Some(Group::MappedLun),
        _ => None,
    }
}

/// Attribute files (path inside the object, initial text) the kernel shows.
pub(super) fn files(group: Group) -> &'static [(&'static str, &'static str)] {
    match group {
        Group::Hba => &[
            ("hba_info", "HBA Index: 1 plugin: user version: v4.0\n"),
            ("hba_mode", "0\n"),
        ],
        Group::Device => DEVICE_FILES,
        Group::Target => &[],
        Group::Tpg => TPG_FILES,
        Group::Portal => &[("iser", "0\n"), ("cxgbit", "0\n")],
        Group::Lun => &[
            ("alua_tg_pt_gp", ""),
            ("alua_tg_pt_offline", "0\n"),
            ("alua_tg_pt_status", "0\n"),
            ("alua_tg_pt_write_md", "0\n"),
        ],
        Group::Acl => ACL_FILES,
        Group::MappedLun => &[("write_protect", "0\n")],
        Group::TargetPortSet => &[
            ("tg_pt_gp_id", ""),
            ("alua_access_state", "0\n"),
            ("alua_access_type", "Implicit and Explicit\n"),
            ("preferred", "0\n"),
            ("members", ""),
        ],
    }
}

/// Default groups (directories) the kernel adds, besides the parents of [`files`].
pub(super) fn default_dirs(group: Group) -> &'static [&'static str] {
    match group {
        Group::Hba | Group::Portal | Group::TargetPortSet => &[],
        Group::Device => &["alua", "pr", "statistics", "attrib", "wwn"],
        Group::Target => &["fabric_statistics", "param"],
        Group::Tpg => &["lun", "np", "acls", "attrib", "auth", "param"],
        Group::Lun | Group::MappedLun => &["statistics"],
        Group::Acl => &["attrib", "auth", "param", "fabric_statistics"],
    }
}

const DEVICE_FILES: &[(&str, &str)] = &[
    ("control", ""),
    ("enable", "0\n"),
    ("info", ""),
    ("alias", "\n"),
    ("udev_path", "\n"),
    ("attrib/cmd_time_out", "30\n"),
    ("attrib/dev_config", "\n"),
    ("attrib/dev_size", "0\n"),
    ("attrib/hw_max_sectors", "0\n"),
    ("attrib/hw_block_size", "0\n"),
    ("attrib/emulate_write_cache", "0\n"),
    ("wwn/vpd_unit_serial", "T10 VPD Unit Serial Number: \n"),
    ("wwn/vendor_id", "LIO-ORG\n"),
    ("wwn/product_id", "TCMU device\n"),
    ("pr/res_holder", "No SPC-3 Reservation holder\n"),
];

/// `iscsi_target_tpg.h` defaults: authentication on, ACLs not generated, demo mode
/// write-protected.
const TPG_FILES: &[(&str, &str)] = &[
    ("enable", "0\n"),
    ("dynamic_sessions", ""),
    ("rtpi", "0x1\n"),
    ("attrib/authentication", "1\n"),
    ("attrib/login_timeout", "15\n"),
    ("attrib/generate_node_acls", "0\n"),
    ("attrib/default_cmdsn_depth", "64\n"),
    ("attrib/cache_dynamic_acls", "0\n"),
    ("attrib/demo_mode_write_protect", "1\n"),
    ("attrib/prod_mode_write_protect", "0\n"),
    ("attrib/demo_mode_discovery", "1\n"),
    ("auth/userid", "\n"),
    ("auth/password", "\n"),
    ("auth/userid_mutual", "\n"),
    ("auth/password_mutual", "\n"),
    ("auth/authenticate_target", "0\n"),
    ("param/AuthMethod", "CHAP,None\n"),
];

const ACL_FILES: &[(&str, &str)] = &[
    ("info", ""),
    ("cmdsn_depth", "64\n"),
    ("tag", ""),
    ("attrib/authentication", "-1\n"),
    ("auth/userid", "\n"),
    ("auth/password", "\n"),
    ("auth/userid_mutual", "\n"),
    ("auth/password_mutual", "\n"),
    ("auth/authenticate_target", "0\n"),
];

/// Attributes that only show (mode 0444): writing them is `EACCES`.
pub(super) fn read_only(name: &str) -> bool {
    matches!(
        name,
        "info" | "dynamic_sessions" | "hba_info" | "authenticate_target" | "members"
    )
}

/// The `info` text of a TCMU device (see `control::configfs` for the format).
pub(super) fn device_info(enabled: bool, hw_max_sectors: &str, config: &str, size: &str) -> String {
    let status = if enabled { "ACTIVATED" } else { "DEACTIVATED" };
    let config = if config.is_empty() { "NULL" } else { config };
    format!(
        "Status: {status}  Max Queue Depth: 128  SectorSize: 512  HwMaxSectors: {hw_max_sectors}\n        \
         Config: {config} Size: {size} MaxDataAreaMB: 1024 DataPagesPerBlk: 1 CmdRingSizeMB: 8\n"
    )
}

/// The `info` text of an ACL without a session.
pub(super) fn idle_acl_info(initiator: &str) -> String {
    format!("No active iSCSI Session for Initiator Endpoint: {initiator}\n")
}

/// The `info` text of an ACL with a session (the first lines the kernel prints).
pub(super) fn busy_acl_info(initiator: &str) -> String {
    format!(
        "InitiatorName: {initiator}\nInitiatorAlias: \n\
         LIO Session ID: 1   ISID: 0x00 02 3d 00 00 00  TSIH: 1  SessionType: Normal\n\
         Session State: TARG_SESS_STATE_LOGGED_IN\n"
    )
}
