//! Target port groups of an export served by several gateways ([`PortGroups`]): the
//! groups `gw1..gwN` on the storage object (`alua/<group>/`) and this gateway's LUN in
//! its own group (`lun/lun_<n>/alua_tg_pt_gp`), as `target_core_configfs.c` and
//! `target_core_alua.c` take them. Groups other than `gw<i>` (the kernel's
//! `default_tg_pt_gp`, or an admin's) are left alone.
//!
//! The kernel's own view of the groups stays Active/Optimized: a TCMU device hands
//! REPORT TARGET PORT GROUPS to its handler, and the daemon reports the state the image
//! lock decides (docs/HA.md). The groups here say which port is which.

use super::error::LioError;
use super::fs::ConfigFs;
use super::ops::{Ctx, Value};
use super::spec::PortGroups;
use std::path::Path;

/// `alua_access_type` value for implicit ALUA only (SPC-4 TPGS 01b): the gateways move
/// the states themselves, and SET TARGET PORT GROUPS is not offered.
const IMPLICIT: &str = "1";

/// Makes the groups and puts the LUN at `lun_dir` in this gateway's; with `None`, moves
/// the LUN back to the default group and removes the `gw<i>` groups.
pub(super) fn converge<F: ConfigFs>(
    ctx: &mut Ctx<'_, F>,
    device: &Path,
    lun_dir: &Path,
    want: Option<PortGroups>,
) -> Result<(), LioError> {
    let Some(groups) = want else {
        if ctx.exists(&lun_dir.join("alua_tg_pt_gp")) && in_group_named_gw(ctx, lun_dir)? {
            ctx.write(
                &lun_dir.join("alua_tg_pt_gp"),
                "default_tg_pt_gp",
                Value::Plain,
            )?;
        }
        return remove_groups(ctx, device, 0);
    };
    for id in 1..=groups.gateways {
        group(ctx, device, id)?;
    }
    remove_groups(ctx, device, groups.gateways)?;
    let name = PortGroups::name(groups.local);
    let alias = format!("TG Port Alias: {name}\n");
    ctx.set_with(
        &lun_dir.join("alua_tg_pt_gp"),
        &name,
        Value::Plain,
        |have, _| have.starts_with(&alias),
    )
    .map(drop)
}

/// Group `gw<id>` with its id and implicit access; an id the kernel already holds is
/// never written again (it refuses a second one with EINVAL).
fn group<F: ConfigFs>(ctx: &mut Ctx<'_, F>, device: &Path, id: u16) -> Result<(), LioError> {
    let dir = device.join("alua").join(PortGroups::name(id));
    ctx.ensure_dir(&dir)?;
    ctx.set(&dir.join("tg_pt_gp_id"), &id.to_string())?;
    ctx.set_with(
        &dir.join("alua_access_type"),
        IMPLICIT,
        Value::Plain,
        |have, _| have.trim() == "Implicit",
    )
    .map(drop)
}

/// Removes the `gw<i>` groups with `i` above `keep` (the kernel moves their members
/// back to the default group).
pub(super) fn remove_groups<F: ConfigFs>(
    ctx: &mut Ctx<'_, F>,
    device: &Path,
    keep: u16,
) -> Result<(), LioError> {
    let alua = device.join("alua");
    if !ctx.exists(&alua) {
        return Ok(());
    }
    for name in ctx.subdirs(&alua)? {
        if gateway_id(&name).is_some_and(|id| id > keep) {
            ctx.rmdir(&alua.join(name))?;
        }
    }
    Ok(())
}

/// The id of a group this writer names (`gw<i>`, `i` ≥ 1).
fn gateway_id(name: &str) -> Option<u16> {
    let id: u16 = name.strip_prefix("gw")?.parse().ok()?;
    (id >= 1 && PortGroups::name(id) == name).then_some(id)
}

fn in_group_named_gw<F: ConfigFs>(ctx: &Ctx<'_, F>, lun_dir: &Path) -> Result<bool, LioError> {
    let info = ctx.read(&lun_dir.join("alua_tg_pt_gp"))?;
    let alias = info
        .lines()
        .find_map(|l| l.strip_prefix("TG Port Alias: "))
        .unwrap_or("");
    Ok(gateway_id(alias.trim()).is_some())
}

#[cfg(test)]
mod tests {
    use super::gateway_id;

    #[test]
    fn only_the_writers_group_names_are_its_own() {
        assert_eq!(gateway_id("gw1"), Some(1));
        assert_eq!(gateway_id("gw16"), Some(16));
        assert_eq!(gateway_id("gw0"), None);
        assert_eq!(gateway_id("gw01"), None);
        assert_eq!(gateway_id("default_tg_pt_gp"), None);
        assert_eq!(gateway_id("gwx"), None);
    }
}
