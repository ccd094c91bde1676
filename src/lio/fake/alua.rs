//! The kernel's side of the ALUA attributes the writer sets (`target_core_configfs.c`,
//! `target_core_alua.c`): a group's id (once), its access type, and a LUN's move into a
//! group, which lists the LUN in the group's `members`.

use super::groups::{self, DEFAULT_ALUA_GROUP};
use super::{StdFs, collect_links_in, errno, parse_u64};
use crate::lio::fs::ConfigFs;
use std::fs;
use std::io;
use std::path::Path;

/// How a group's `members` names the LUN at `parts` (`iscsi/<iqn>/tpgt_<n>/lun/lun_<m>`
/// and below): by the fabric's name, `iSCSI/<iqn>/tpgt_<n>/lun_<m>`.
pub(super) fn member_name(parts: &[&str]) -> String {
    let at = |i: usize| parts.get(i).copied().unwrap_or_default();
    format!("iSCSI/{}/{}/{}", at(1), at(2), at(4))
}

/// `alua/<group>/tg_pt_gp_id`: set once, unique among the object's groups.
pub(super) fn store_group_id(path: &Path, value: &str) -> io::Result<()> {
    let id = parse_u64(value)?;
    if id > u64::from(u16::MAX) || !StdFs.read(path)?.is_empty() {
        return Err(errno(libc::EINVAL));
    }
    let group = path.parent().ok_or_else(|| errno(libc::EINVAL))?;
    let alua = group.parent().ok_or_else(|| errno(libc::EINVAL))?;
    for other in StdFs.read_dir(alua)? {
        let taken = StdFs.read(&alua.join(&other.name).join("tg_pt_gp_id"));
        if taken.is_ok_and(|t| t == id.to_string()) {
            return Err(errno(libc::EINVAL));
        }
    }
    fs::write(path, format!("{id}\n"))
}

/// `alua/<group>/alua_access_type`: 0 to 3, shown as text.
pub(super) fn store_access_type(path: &Path, value: &str) -> io::Result<()> {
    let text = groups::access_type_text(parse_u64(value)?).ok_or_else(|| errno(libc::EINVAL))?;
    fs::write(path, format!("{text}\n"))
}

/// `lun/lun_<n>/alua_tg_pt_gp`: moves the LUN (`rel` its [`member_name`], `lun_dir` its
/// directory) into the named group of the object it links.
pub(super) fn store_lun_group(rel: &str, lun_dir: &Path, value: &str) -> io::Result<()> {
    let mut links = Vec::new();
    collect_links_in(lun_dir, &mut links);
    let Some((_, device)) = links.first() else {
        return Err(errno(libc::ENODEV));
    };
    let name = value.trim();
    let alua = device.join("alua");
    let id = if name == DEFAULT_ALUA_GROUP {
        "0".to_owned()
    } else {
        let id = StdFs
            .read(&alua.join(name).join("tg_pt_gp_id"))
            .map_err(|_| errno(libc::ENODEV))?;
        if id.is_empty() {
            return Err(errno(libc::EINVAL));
        }
        id
    };
    let member = format!("{rel}\n");
    leave_groups(&alua, &member)?;
    if name != DEFAULT_ALUA_GROUP {
        let members = alua.join(name).join("members");
        let text = fs::read_to_string(&members)?;
        fs::write(&members, text + &member)?;
    }
    fs::write(
        lun_dir.join("alua_tg_pt_gp"),
        format!("TG Port Alias: {name}\nTG Port Group ID: {id}\n"),
    )
}

/// A LUN being removed leaves every group's `members`.
pub(super) fn forget_lun(rel: &str, lun_dir: &Path) {
    let mut links = Vec::new();
    collect_links_in(lun_dir, &mut links);
    let Some((_, device)) = links.first() else {
        return;
    };
    let _ = leave_groups(&device.join("alua"), &format!("{rel}\n"));
}

/// Takes the `member` line out of the `members` of every group under `alua`.
fn leave_groups(alua: &Path, member: &str) -> io::Result<()> {
    for group in StdFs.read_dir(alua)? {
        let members = alua.join(&group.name).join("members");
        if let Ok(text) = fs::read_to_string(&members) {
            fs::write(&members, text.replace(member, ""))?;
        }
    }
    Ok(())
}
