//! The gateway's view of its HA LUNs' paths, read from the devices' counters.

use crate::daemon::registry::DeviceRegistry;
use crate::export::{PathAccess, PathStatus};
use crate::gateway::LunPaths;
use crate::scsi::alua::AccessState;

impl LunPaths for DeviceRegistry {
    fn path(&self, lun: &str) -> Option<PathStatus> {
        let stats = self.stats_of(self.find_by_name(lun)?)?;
        Some(PathStatus {
            access: path_access(stats.alua_state?),
            takeovers: stats.ha_takeovers,
            fenced: stats.ha_fenced,
        })
    }
}

/// The report's word for an SPC-4 access state code.
fn path_access(code: u8) -> PathAccess {
    match AccessState::from_code(code) {
        Some(AccessState::ActiveOptimized) => PathAccess::ActiveOptimized,
        Some(AccessState::ActiveNonOptimized) => PathAccess::ActiveNonOptimized,
        Some(AccessState::Standby) => PathAccess::Standby,
        Some(AccessState::Unavailable) => PathAccess::Unavailable,
        Some(AccessState::Offline) => PathAccess::Offline,
        Some(AccessState::Transitioning) => PathAccess::Transitioning,
        None => PathAccess::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_code_has_its_word() {
        let words: Vec<&str> = [0x0, 0x1, 0x2, 0x3, 0xE, 0xF, 0x4]
            .into_iter()
            .map(|c| path_access(c).as_str())
            .collect();
        assert_eq!(
            words,
            [
                "active",
                "active-non-optimized",
                "standby",
                "unavailable",
                "offline",
                "transitioning",
                "unknown"
            ]
        );
    }
}
