//! Node ACLs `tpgt_1/acls/<initiator>`: one per allowed initiator, each mapping the
//! export's LUN (`acls/<initiator>/lun_<n>`, a symlink to `tpgt_1/lun/lun_<n>`) and
//! holding the initiator's CHAP credentials in `auth/`.

use super::error::LioError;
use super::fs::ConfigFs;
use super::layout;
use super::ops::{Ctx, Value};
use super::spec::{Access, Chap, ExportLun};
use std::path::Path;

/// Creates and fixes the ACLs of the allowed initiators and removes the others (an
/// open TPG has none: the kernel generates them at login).
pub(super) fn converge<F: ConfigFs>(
    ctx: &mut Ctx<'_, F>,
    tpg: &Path,
    want: &ExportLun,
    alias: &str,
) -> Result<(), LioError> {
    let allowed: Vec<&str> = match &want.access {
        Access::Any => Vec::new(),
        Access::Initiators(list) => list.iter().map(|i| i.as_str()).collect(),
    };
    let acls = tpg.join("acls");
    for initiator in &allowed {
        ensure(ctx, tpg, &acls.join(initiator), want, alias)?;
    }
    for name in ctx.subdirs(&acls)? {
        if !allowed.contains(&name.as_str()) {
            remove(ctx, &acls.join(name))?;
        }
    }
    Ok(())
}

/// One allowed initiator's ACL: the directory, the mapped LUN and the credentials.
fn ensure<F: ConfigFs>(
    ctx: &mut Ctx<'_, F>,
    tpg: &Path,
    acl: &Path,
    want: &ExportLun,
    alias: &str,
) -> Result<(), LioError> {
    ctx.ensure_dir(acl)?;
    let lun_name = layout::lun_dir(want.lun);
    let tpg_lun = tpg.join("lun").join(&lun_name);
    for name in ctx.subdirs(acl)? {
        let maps_ours = name == lun_name;
        if layout::parse_lun(&name).is_some() && !maps_ours {
            ctx.unlink_all_and_rmdir(&acl.join(name))?;
        }
    }
    map(ctx, &acl.join(&lun_name), &tpg_lun, alias)?;
    set_auth(ctx, &acl.join("auth"), &want.chap)
}

/// Makes the mapped LUN `mapped` link `tpg_lun` and nothing else.
fn map<F: ConfigFs>(
    ctx: &mut Ctx<'_, F>,
    mapped: &Path,
    tpg_lun: &Path,
    alias: &str,
) -> Result<(), LioError> {
    ctx.ensure_dir(mapped)?;
    let mut linked = false;
    for (link, to) in ctx.links(mapped)? {
        if to == tpg_lun && !linked {
            linked = true;
        } else {
            ctx.unlink(&link)?;
        }
    }
    if !linked {
        ctx.symlink(tpg_lun, &mapped.join(alias))?;
    }
    Ok(())
}

/// Writes the four CHAP fields of an `auth/` group (ACL or TPG) that differ. The
/// kernel shows an unset field as empty or `NULL`; secrets are never logged.
pub(super) fn set_auth<F: ConfigFs>(
    ctx: &mut Ctx<'_, F>,
    auth: &Path,
    chap: &Chap,
) -> Result<(), LioError> {
    let same = |current: &str, wanted: &str| {
        let current = if current.is_empty() { "NULL" } else { current };
        current == wanted
    };
    for (field, value) in chap.fields() {
        let kind = if field.starts_with("password") {
            Value::Secret
        } else {
            Value::Plain
        };
        ctx.set_with(&auth.join(field), value, kind, same)?;
    }
    Ok(())
}

/// Removes every mapped LUN, in any ACL of the TPG, that links the TPG LUN `lun`.
pub(super) fn unmap_lun<F: ConfigFs>(
    ctx: &mut Ctx<'_, F>,
    tpg: &Path,
    lun: &Path,
) -> Result<(), LioError> {
    let acls = tpg.join("acls");
    for name in ctx.subdirs(&acls)? {
        let acl = acls.join(name);
        for mapped in ctx.subdirs(&acl)? {
            let mapped = acl.join(mapped);
            if ctx.links(&mapped)?.iter().any(|(_, to)| to == lun) {
                ctx.unlink_all_and_rmdir(&mapped)?;
            }
        }
    }
    Ok(())
}

/// Removes an ACL: its mapped LUNs' links, the mapped LUNs, then the ACL.
pub(super) fn remove<F: ConfigFs>(ctx: &mut Ctx<'_, F>, acl: &Path) -> Result<(), LioError> {
    for name in ctx.subdirs(acl)? {
        if layout::parse_lun(&name).is_some() {
            ctx.unlink_all_and_rmdir(&acl.join(name))?;
        }
    }
    ctx.rmdir(acl)
}
