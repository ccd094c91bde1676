//! Where LIO keeps things under the target root (`/sys/kernel/config/target`), and the
//! few kernel texts the writer reads back. Pure: no file access.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The TPG every export uses.
pub const TPG: &str = "tpgt_1";
/// The HBA plugin name of TCMU (`core/user_<H>`).
pub const USER_PLUGIN: &str = "user";

/// Paths under one target root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// Paths under `root` (normally `/sys/kernel/config/target`), with `.` and `..`
    /// applied so that resolved symlinks compare equal to these paths.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = super::fs::normalize(&root.into());
        Self { root }
    }

    /// The target root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `core/`: the HBA directories.
    pub fn core(&self) -> PathBuf {
        self.root.join("core")
    }

    /// `core/user_<h>`.
    pub fn hba(&self, h: u32) -> PathBuf {
        self.core().join(format!("{USER_PLUGIN}_{h}"))
    }

    /// `core/user_<h>/<name>`: the storage object.
    pub fn device(&self, h: u32, name: &str) -> PathBuf {
        self.hba(h).join(name)
    }

    /// `iscsi/`.
    pub fn iscsi(&self) -> PathBuf {
        self.root.join("iscsi")
    }

    /// `iscsi/<iqn>`.
    pub fn target(&self, iqn: &str) -> PathBuf {
        self.iscsi().join(iqn)
    }

    /// `iscsi/<iqn>/tpgt_1`.
    pub fn tpg(&self, iqn: &str) -> PathBuf {
        self.target(iqn).join(TPG)
    }

    /// `path` relative to the root, for reports and logs.
    pub fn relative<'a>(&self, path: &'a Path) -> &'a Path {
        path.strip_prefix(&self.root).unwrap_or(path)
    }
}

/// Splits an HBA directory name `<plugin>_<index>` (the kernel takes the text after the
/// last `_` as the index; `rd_mcp_3` is plugin `rd_mcp`).
pub fn parse_hba(name: &str) -> Option<(&str, u32)> {
    let (plugin, index) = name.rsplit_once('_')?;
    let digits = !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| index.parse().ok().map(|i| (plugin, i)))?
}

/// The number of a `lun_<n>` directory (TPG LUN or mapped LUN).
pub fn parse_lun(name: &str) -> Option<u64> {
    let n = name.strip_prefix("lun_")?;
    let digits = !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| n.parse().ok())?
}

/// `lun_<n>`.
pub fn lun_dir(lun: u16) -> String {
    format!("lun_{lun}")
}

/// The directory name of a portal: `ip:port`, `[ipv6]:port`.
pub fn portal_dir(portal: &SocketAddr) -> String {
    portal.to_string()
}

/// A portal directory name read back, if it is an address we can compare.
pub fn parse_portal(name: &str) -> Option<SocketAddr> {
    name.parse().ok()
}

/// The name of the symlinks we create in LUN directories. Any name works; rtslib uses
/// ten hex digits, so targetcli shows ours like its own. Derived from the export name
/// (FNV-1a) so that the same export always gets the same link.
pub fn link_alias(name: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:010x}", hash & 0xff_ffff_ffff)
}

/// The serial in `wwn/vpd_unit_serial`, shown as `T10 VPD Unit Serial Number: <serial>`.
pub fn parse_unit_serial(text: &str) -> &str {
    text.trim()
        .strip_prefix("T10 VPD Unit Serial Number:")
        .unwrap_or(text)
        .trim()
}

/// Whether an ACL's `info` shows a session: it starts with `InitiatorName: ...` when
/// one exists and with `No active iSCSI Session ...` otherwise.
pub fn acl_has_session(info: &str) -> bool {
    info.lines().any(|l| l.starts_with("InitiatorName:"))
}

/// The initiator names in a TPG's `dynamic_sessions`: one per line, each followed by a
/// NUL the kernel counts into the length.
pub fn parse_dynamic_sessions(text: &str) -> Vec<String> {
    text.split(['\n', '\0'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let l = Layout::new("/sys/kernel/config/target");
        assert_eq!(
            l.device(3, "vol"),
            PathBuf::from("/sys/kernel/config/target/core/user_3/vol")
        );
        assert_eq!(
            l.tpg("iqn.2024-01.org.example:a"),
            PathBuf::from("/sys/kernel/config/target/iscsi/iqn.2024-01.org.example:a/tpgt_1")
        );
        assert_eq!(l.relative(&l.hba(0)), Path::new("core/user_0"));
    }

    #[test]
    fn names_read_back() {
        assert_eq!(parse_hba("user_12"), Some(("user", 12)));
        assert_eq!(parse_hba("rd_mcp_3"), Some(("rd_mcp", 3)));
        assert_eq!(parse_hba("user_"), None);
        assert_eq!(parse_hba("user"), None);
        assert_eq!(parse_hba("user_x1"), None);
        assert_eq!(parse_lun("lun_0"), Some(0));
        assert_eq!(parse_lun("lun_"), None);
        assert_eq!(parse_lun("lun_+1"), None);
        assert_eq!(lun_dir(7), "lun_7");
        let v6: SocketAddr = "[fd00::1]:3260".parse().unwrap();
        assert_eq!(portal_dir(&v6), "[fd00::1]:3260");
        assert_eq!(parse_portal("[fd00:0::1]:3260"), Some(v6));
        assert_eq!(parse_portal("10.0.0.1:3260").map(|p| p.port()), Some(3260));
        assert_eq!(parse_portal("junk"), None);
    }

    #[test]
    fn link_alias_is_stable_ten_hex_digits() {
        let a = link_alias("vol1");
        assert_eq!(a.len(), 10);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(a, link_alias("vol1"));
        assert_ne!(a, link_alias("vol2"));
    }

    #[test]
    fn kernel_texts() {
        assert_eq!(
            parse_unit_serial("T10 VPD Unit Serial Number: 5a1e-77\n"),
            "5a1e-77"
        );
        assert_eq!(parse_unit_serial("T10 VPD Unit Serial Number: \n"), "");
        let busy = "InitiatorName: iqn.1994-05.com.redhat:c1\nInitiatorAlias: \n";
        assert!(acl_has_session(busy));
        let idle = "No active iSCSI Session for Initiator Endpoint: iqn.1994-05.com.redhat:c1\n";
        assert!(!acl_has_session(idle));
        let dynamic = "iqn.1994-05.com.redhat:c1\n\0iqn.1994-05.com.redhat:c2\n\0";
        assert_eq!(
            parse_dynamic_sessions(dynamic),
            ["iqn.1994-05.com.redhat:c1", "iqn.1994-05.com.redhat:c2"]
        );
        assert!(parse_dynamic_sessions("").is_empty());
    }
}
