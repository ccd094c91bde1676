//! The kernel's command time-out on `user:glfs` LUNs.
//!
//! target_core_user fails a command that has sat in the ring for `attrib/cmd_time_out`
//! seconds (30 by default) with NOT READY / LOGICAL UNIT COMMUNICATION FAILURE, which
//! Linux initiators turn into an I/O error. A Gluster brick that hangs (a stuck disk, a
//! frozen host; not one that dies) holds every write to its replica set until the
//! client's `network.ping-timeout` (42 s by default) gives up on it, so with the kernel's
//! default a hang of half a minute fails writes that Gluster would have completed on the
//! other bricks. gluster-block sets 130 s on every LUN it makes; so does this daemon on
//! a new `user:glfs` LUN that still has the kernel's default (the kernel allows the
//! change only while the device has no exports, which is so while it is being added).

#![forbid(unsafe_code)]

use crate::control::configfs::ConfigfsDevice;
use crate::control::uio::UioName;

/// The kernel's default `cmd_time_out` for a TCMU device, in seconds.
pub const KERNEL_DEFAULT: u32 = 30;

/// Gluster's default `network.ping-timeout`, in seconds.
pub const GLUSTER_PING_TIMEOUT: u32 = 42;

/// What to do about a LUN's `cmd_time_out`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Keep,
    /// Write this value (a new LUN with the kernel's default).
    Raise(u32),
    /// Leave it, but say that a hung brick will fail commands at this time-out.
    Warn(u32),
}

/// `current` as configfs shows it; `want` from `[glfs] cmd_time_out_secs` (0: leave
/// every LUN alone); `added`: the LUN is being added, not recovered, so the kernel's
/// default is nobody's choice yet and can still be changed. An admin's own value is
/// kept; only one from the kernel's default up to Gluster's default ping-timeout is
/// worth a warning. A value below the kernel's default is a choice to fail commands
/// fast (an HA export's LUN gets 20 s, so that another gateway takes them over) and is
/// kept quietly, as is 0 (never time out).
pub fn plan(current: u32, want: u32, added: bool) -> Plan {
    if want == 0 || current == 0 || current >= want {
        Plan::Keep
    } else if added && current == KERNEL_DEFAULT {
        Plan::Raise(want)
    } else if (KERNEL_DEFAULT..=GLUSTER_PING_TIMEOUT).contains(&current) {
        Plan::Warn(current)
    } else {
        Plan::Keep
    }
}

/// Reads the LUN's `cmd_time_out` and raises it or warns, as [`plan`] says. Failures
/// are logged: the LUN is served either way.
pub fn review(cfs: &ConfigfsDevice, name: &UioName, want: u32, added: bool) {
    let current = match cfs.cmd_time_out() {
        Ok(v) => v,
        Err(e) => return tracing::debug!(device = %name, "cmd_time_out not read: {e}"),
    };
    match plan(current, want, added) {
        Plan::Keep => {}
        Plan::Raise(secs) => match cfs.set_cmd_time_out(secs) {
            Ok(()) => tracing::info!(
                device = %name,
                "cmd_time_out raised from {current} s to {secs} s ([glfs] cmd_time_out_secs), \
                 so that a hung brick delays writes instead of failing them"
            ),
            Err(e) => tracing::warn!(device = %name, "cannot raise cmd_time_out to {secs} s: {e}"),
        },
        Plan::Warn(secs) => tracing::warn!(
            device = %name,
            "cmd_time_out is {secs} s: a Gluster brick that hangs for longer (network.ping-timeout \
             is {GLUSTER_PING_TIMEOUT} s by default) makes the kernel fail this LUN's commands; \
             set `targetcli {} set attribute cmd_time_out={want}` while it is not exported",
            backstore_path(name)
        ),
    }
}

/// targetcli's path of the device.
fn backstore_path(name: &UioName) -> String {
    format!("/backstores/user:{}/{}", name.subtype, name.device)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `plan`'s last argument.
    const ADDED: bool = true;
    const RECOVERED: bool = false;

    #[test]
    fn a_new_lun_with_the_kernel_default_is_raised() {
        assert_eq!(plan(30, 130, ADDED), Plan::Raise(130));
    }

    #[test]
    fn an_admins_value_is_kept_and_only_a_short_one_warned_about() {
        assert_eq!(plan(30, 130, RECOVERED), Plan::Warn(30));
        assert_eq!(plan(35, 130, ADDED), Plan::Warn(35));
        assert_eq!(plan(42, 130, ADDED), Plan::Warn(42));
        assert_eq!(plan(60, 130, ADDED), Plan::Keep);
        assert_eq!(plan(130, 130, RECOVERED), Plan::Keep);
        assert_eq!(plan(600, 130, ADDED), Plan::Keep);
    }

    #[test]
    fn a_time_out_below_the_kernels_default_is_a_choice_to_fail_fast() {
        assert_eq!(plan(20, 130, ADDED), Plan::Keep, "an HA export's LUN");
        assert_eq!(plan(5, 130, RECOVERED), Plan::Keep);
    }

    #[test]
    fn never_timing_out_or_a_setting_of_zero_is_left_alone() {
        assert_eq!(plan(0, 130, ADDED), Plan::Keep);
        assert_eq!(plan(30, 0, ADDED), Plan::Keep);
    }

    #[test]
    fn the_targetcli_path_names_the_backstore() {
        let name = UioName::parse("tcm-user/1/disk1/glfs/gv0@h/disk1.img").unwrap();
        assert_eq!(backstore_path(&name), "/backstores/user:glfs/disk1");
    }
}
