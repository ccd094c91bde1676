//! The iSCSI side: target `iscsi/<iqn>`, TPG `tpgt_1`, its portals, LUN, access mode,
//! TPG-level CHAP and `enable`; its removal in reverse order; its sessions.
//!
//! The target as a whole belongs to one export (see the journal), so everything inside
//! it is the writer's to converge: portals, LUNs and ACLs that the export does not list
//! are removed.

use super::acl;
use super::error::LioError;
use super::fs::ConfigFs;
use super::layout;
use super::ops::Ctx;
use super::spec::{Access, ExportLun};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;

/// Creates or fixes everything under the target directory, which exists.
pub(super) fn converge<F: ConfigFs>(
    ctx: &mut Ctx<'_, F>,
    want: &ExportLun,
    device: &Path,
) -> Result<(), LioError> {
    let tpg = ctx.layout.tpg(want.target.as_str());
    ctx.ensure_dir(&tpg)?;
    portals(ctx, &tpg, &want.portals)?;
    let alias = layout::link_alias(want.name.as_str());
    lun(ctx, &tpg, want.lun, device, &alias)?;
    let lun_dir = tpg.join("lun").join(layout::lun_dir(want.lun));
    super::alua::converge(ctx, device, &lun_dir, want.alua)?;
    acl::converge(ctx, &tpg, want, &alias)?;
    stale_luns(ctx, &tpg, want.lun)?;
    access(ctx, &tpg, want)?;
    ctx.set(&tpg.join("enable"), "1").map(drop)
}

/// Adds the missing portals and removes the others.
fn portals<F: ConfigFs>(
    ctx: &mut Ctx<'_, F>,
    tpg: &Path,
    want: &[SocketAddr],
) -> Result<(), LioError> {
    let np = tpg.join("np");
    let existing = ctx.subdirs(&np)?;
    let have: BTreeSet<SocketAddr> = existing
        .iter()
        .filter_map(|d| layout::parse_portal(d))
        .collect();
    for portal in want.iter().filter(|p| !have.contains(p)) {
        ctx.mkdir(&np.join(layout::portal_dir(portal)))?;
    }
    for dir in existing {
        if !layout::parse_portal(&dir).is_some_and(|p| want.contains(&p)) {
            ctx.rmdir(&np.join(dir))?;
        }
    }
    Ok(())
}

/// Makes `lun/lun_<n>` link the storage object, replacing a LUN that links elsewhere.
fn lun<F: ConfigFs>(
    ctx: &mut Ctx<'_, F>,
    tpg: &Path,
    n: u16,
    device: &Path,
    alias: &str,
) -> Result<(), LioError> {
    let dir = tpg.join("lun").join(layout::lun_dir(n));
    if ctx.exists(&dir) {
        let links = ctx.links(&dir)?;
        if matches!(links.as_slice(), [(_, to)] if to == device) {
            return Ok(());
        }
        remove_lun(ctx, tpg, &dir)?;
    }
    ctx.mkdir(&dir)?;
    ctx.symlink(device, &dir.join(alias))
}

/// Removes the TPG's LUNs other than `keep`.
fn stale_luns<F: ConfigFs>(ctx: &mut Ctx<'_, F>, tpg: &Path, keep: u16) -> Result<(), LioError> {
    let luns = tpg.join("lun");
    for name in ctx.subdirs(&luns)? {
        if layout::parse_lun(&name) != Some(u64::from(keep)) {
            remove_lun(ctx, tpg, &luns.join(name))?;
        }
    }
    Ok(())
}

/// Removes a TPG LUN and first every mapped LUN linking it (the kernel keeps a mapped
/// LUN's access entry while its link exists).
fn remove_lun<F: ConfigFs>(ctx: &mut Ctx<'_, F>, tpg: &Path, lun: &Path) -> Result<(), LioError> {
    acl::unmap_lun(ctx, tpg, lun)?;
    ctx.unlink_all_and_rmdir(lun)
}

/// The access mode and TPG-level CHAP. Credentials go in before `authentication` is
/// switched on and are cleared after it is switched off, so a change never opens a
/// window without authentication.
fn access<F: ConfigFs>(ctx: &mut Ctx<'_, F>, tpg: &Path, want: &ExportLun) -> Result<(), LioError> {
    let attrib = tpg.join("attrib");
    let open = matches!(want.access, Access::Any);
    let tpg_chap = if open {
        &want.chap
    } else {
        &super::spec::Chap::None
    };
    let auth = if want.chap.enabled() { "1" } else { "0" };
    if want.chap.enabled() {
        acl::set_auth(ctx, &tpg.join("auth"), tpg_chap)?;
        ctx.set(&attrib.join("authentication"), auth)?;
    }
    if open {
        ctx.set(&attrib.join("demo_mode_write_protect"), "0")?;
        ctx.set(&attrib.join("cache_dynamic_acls"), "1")?;
        ctx.set(&attrib.join("generate_node_acls"), "1")?;
    } else {
        ctx.set(&attrib.join("generate_node_acls"), "0")?;
    }
    if !want.chap.enabled() {
        ctx.set(&attrib.join("authentication"), auth)?;
        acl::set_auth(ctx, &tpg.join("auth"), tpg_chap)?;
    }
    Ok(())
}

/// Removes target `iqn` and everything in it, in reverse order of creation. Already
/// gone is fine.
pub(super) fn remove<F: ConfigFs>(ctx: &mut Ctx<'_, F>, iqn: &str) -> Result<(), LioError> {
    let target = ctx.layout.target(iqn);
    if !ctx.exists(&target) {
        return Ok(());
    }
    for name in ctx.subdirs(&target)? {
        if name.starts_with("tpgt_") {
            remove_tpg(ctx, &target.join(name))?;
        }
    }
    ctx.rmdir(&target)
}

fn remove_tpg<F: ConfigFs>(ctx: &mut Ctx<'_, F>, tpg: &Path) -> Result<(), LioError> {
    ctx.set(&tpg.join("enable"), "0")?;
    let acls = tpg.join("acls");
    for name in ctx.subdirs(&acls)? {
        acl::remove(ctx, &acls.join(name))?;
    }
    let luns = tpg.join("lun");
    for name in ctx.subdirs(&luns)? {
        ctx.unlink_all_and_rmdir(&luns.join(name))?;
    }
    let np = tpg.join("np");
    for name in ctx.subdirs(&np)? {
        ctx.rmdir(&np.join(name))?;
    }
    ctx.rmdir(tpg)
}

/// The initiators with a session on target `iqn` (through an ACL or, for an open TPG,
/// a generated one), sorted. A missing target has none.
pub(super) fn sessions<F: ConfigFs>(ctx: &Ctx<'_, F>, iqn: &str) -> Result<Vec<String>, LioError> {
    let target = ctx.layout.target(iqn);
    let mut found = BTreeSet::new();
    let tpgs = ctx.subdirs(&target)?;
    for tpg in tpgs.iter().filter(|n| n.starts_with("tpgt_")) {
        let tpg = target.join(tpg);
        let acls = tpg.join("acls");
        for name in ctx.subdirs(&acls)? {
            if layout::acl_has_session(&ctx.read(&acls.join(&name).join("info"))?) {
                found.insert(name);
            }
        }
        let dynamic = ctx.read(&tpg.join("dynamic_sessions"))?;
        found.extend(layout::parse_dynamic_sessions(&dynamic));
    }
    Ok(found.into_iter().collect())
}

/// Whether any LUN of the TPG links `device` (the kernel then refuses to change the
/// object's serial and command timeout).
pub(super) fn links_device<F: ConfigFs>(
    ctx: &Ctx<'_, F>,
    iqn: &str,
    device: &Path,
) -> Result<bool, LioError> {
    let luns = ctx.layout.tpg(iqn).join("lun");
    for name in ctx.subdirs(&luns)? {
        if ctx
            .links(&luns.join(name))?
            .iter()
            .any(|(_, to)| to == device)
        {
            return Ok(true);
        }
    }
    Ok(false)
}
