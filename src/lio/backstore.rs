//! The `user:` storage object: `core/user_<H>/<name>`.
//!
//! Like rtslib, every storage object gets its own HBA directory, at an index no HBA of
//! any plugin uses, so targetcli lists and deletes it like its own. Configuration goes
//! in before `enable` (the kernel copies `control` into the device and the handler
//! reads the serial at the ADDED event); once enabled, only the size can change
//! (`attrib/dev_size`, which the kernel forwards to the handler as RECONFIG), and the
//! serial and command timeout only while no LUN links the object.

use super::error::{Drift, LioError};
use super::fs::ConfigFs;
use super::journal::Journal;
use super::layout::{self, USER_PLUGIN};
use super::ops::{Ctx, Value};
use super::spec::ExportLun;
use crate::control::configfs::{parse_decimal, parse_info};
use std::path::{Path, PathBuf};

/// HBA indices rtslib allocates from; we stay in the same range.
const HBA_INDEX_LIMIT: u32 = 1 << 20;

/// What a storage object's attributes say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DeviceState {
    pub enabled: bool,
    pub config: Option<String>,
    pub size: u64,
    pub hw_max_sectors: u32,
    pub cmd_time_out: u32,
    pub serial: String,
}

/// The HBA indices `H` that hold a `core/user_<H>/<name>`.
pub(super) fn find<F: ConfigFs>(ctx: &Ctx<'_, F>, name: &str) -> Result<Vec<u32>, LioError> {
    let mut found = Vec::new();
    for hba in ctx.subdirs(&ctx.layout.core())? {
        if let Some((USER_PLUGIN, h)) = layout::parse_hba(&hba) {
            if ctx.exists(&ctx.layout.device(h, name)) {
                found.push(h);
            }
        }
    }
    Ok(found)
}

/// Reads the state of the storage object at `dir`.
pub(super) fn read_state<F: ConfigFs>(
    ctx: &Ctx<'_, F>,
    dir: &Path,
) -> Result<DeviceState, LioError> {
    let info_path = dir.join("info");
    let info = ctx.read(&info_path)?;
    let info = parse_info(&info).map_err(|_| unexpected(info_path, info))?;
    Ok(DeviceState {
        enabled: ctx.read(&dir.join("enable"))?.trim() == "1",
        config: info.config,
        size: info.size,
        hw_max_sectors: read_decimal(ctx, &dir.join("attrib/hw_max_sectors"))?,
        cmd_time_out: read_decimal(ctx, &dir.join("attrib/cmd_time_out"))?,
        serial: layout::parse_unit_serial(&ctx.read(&dir.join("wwn/vpd_unit_serial"))?).to_owned(),
    })
}

fn read_decimal<F: ConfigFs>(ctx: &Ctx<'_, F>, path: &Path) -> Result<u32, LioError> {
    let text = ctx.read(path)?;
    parse_decimal(&text).map_err(|_| unexpected(path.to_path_buf(), text))
}

fn unexpected(path: PathBuf, text: String) -> LioError {
    LioError::Unexpected { path, text }
}

/// Creates the HBA and storage object directories of `want`, recording the HBA in the
/// journal first; `hint` is the index the journal already holds, reused when free.
/// Returns the storage object's directory.
pub(super) fn create<F: ConfigFs>(
    ctx: &mut Ctx<'_, F>,
    journal: &mut Journal,
    name: &str,
    hint: Option<u32>,
) -> Result<(u32, PathBuf), LioError> {
    let h = match hint {
        Some(h) if hba_usable(ctx, h)? => h,
        _ => free_index(ctx)?,
    };
    journal.set_hba(name, Some(h))?;
    ctx.ensure_dir(&ctx.layout.hba(h))?;
    let dir = ctx.layout.device(h, name);
    ctx.mkdir(&dir)?;
    Ok((h, dir))
}

/// An HBA the journal names can be used again if it is gone or holds no object (a
/// crash between its `mkdir` and the object's).
fn hba_usable<F: ConfigFs>(ctx: &Ctx<'_, F>, h: u32) -> Result<bool, LioError> {
    let hba = ctx.layout.hba(h);
    Ok(!ctx.exists(&hba) || ctx.subdirs(&hba)?.is_empty())
}

/// The lowest index no `core/<plugin>_<index>` directory uses.
fn free_index<F: ConfigFs>(ctx: &Ctx<'_, F>) -> Result<u32, LioError> {
    let core = ctx.layout.core();
    let used: std::collections::HashSet<u32> = ctx
        .subdirs(&core)?
        .iter()
        .filter_map(|d| layout::parse_hba(d).map(|(_, i)| i))
        .collect();
    (0..HBA_INDEX_LIMIT)
        .find(|i| !used.contains(i))
        .ok_or(LioError::NoFreeHba { path: core })
}

/// Writes the configuration of a storage object that is not enabled yet, then
/// enables it. The `enable` write returns once the handler (this daemon, on another
/// thread) has answered the kernel's ADDED event.
pub(super) fn configure<F: ConfigFs>(
    ctx: &mut Ctx<'_, F>,
    dir: &Path,
    want: &ExportLun,
) -> Result<(), LioError> {
    let control = format!(
        "dev_config={},dev_size={},hw_max_sectors={}",
        want.dev_config.as_str(),
        want.size,
        want.hw_max_sectors
    );
    ctx.write(&dir.join("control"), &control, Value::Plain)?;
    let serial = want.serial.as_str();
    ctx.write(&dir.join("wwn/vpd_unit_serial"), serial, Value::Plain)?;
    let timeout = want.cmd_time_out.to_string();
    ctx.write(&dir.join("attrib/cmd_time_out"), &timeout, Value::Plain)?;
    ctx.write(&dir.join("enable"), "1", Value::Plain)
}

/// Brings an enabled storage object towards `want`: grows it (a shrink was refused
/// before anything changed), rewrites the serial and command timeout unless a LUN
/// links it (`exported`), and reports what cannot change in place.
pub(super) fn converge<F: ConfigFs>(
    ctx: &mut Ctx<'_, F>,
    dir: &Path,
    have: &DeviceState,
    want: &ExportLun,
    exported: bool,
) -> Result<Vec<Drift>, LioError> {
    let mut drift = Vec::new();
    let mut differs = |attribute, current: String, wanted: String| {
        if current != wanted {
            drift.push(Drift {
                attribute,
                current,
                wanted,
            });
        }
    };
    let config = have.config.clone().unwrap_or_default();
    differs("dev_config", config, want.dev_config.as_str().to_owned());
    let sectors = want.hw_max_sectors.to_string();
    differs(
        "attrib/hw_max_sectors",
        have.hw_max_sectors.to_string(),
        sectors,
    );
    if have.size < want.size {
        let size = want.size.to_string();
        ctx.write(&dir.join("attrib/dev_size"), &size, Value::Plain)?;
    }
    let serial = want.serial.as_str();
    if have.serial != serial && exported {
        differs(
            "wwn/vpd_unit_serial",
            have.serial.clone(),
            serial.to_owned(),
        );
    } else if have.serial != serial {
        ctx.write(&dir.join("wwn/vpd_unit_serial"), serial, Value::Plain)?;
    }
    let timeout = want.cmd_time_out.to_string();
    if have.cmd_time_out != want.cmd_time_out && exported {
        differs(
            "attrib/cmd_time_out",
            have.cmd_time_out.to_string(),
            timeout,
        );
    } else if have.cmd_time_out != want.cmd_time_out {
        ctx.write(&dir.join("attrib/cmd_time_out"), &timeout, Value::Plain)?;
    }
    Ok(drift)
}

/// Removes the storage object `name` from HBA `h`, then the HBA unless another object
/// moved in, then forgets the HBA. Already gone is fine.
pub(super) fn remove<F: ConfigFs>(
    ctx: &mut Ctx<'_, F>,
    journal: &mut Journal,
    name: &str,
    h: u32,
) -> Result<(), LioError> {
    let dir = ctx.layout.device(h, name);
    if ctx.exists(&dir) {
        // Groups made in the object must go first: the kernel refuses to remove a
        // directory holding directories a user made.
        super::alua::remove_groups(ctx, &dir, 0)?;
        ctx.rmdir(&dir).map_err(|e| in_use(e, &dir))?;
    }
    let hba = ctx.layout.hba(h);
    if ctx.exists(&hba) {
        match ctx.subdirs(&hba)?.as_slice() {
            [] => ctx.rmdir(&hba)?,
            others => tracing::warn!(
                hba = %hba.display(),
                ?others,
                "lio: HBA kept, it holds storage objects this daemon did not create"
            ),
        }
    }
    journal.set_hba(name, None)?;
    Ok(())
}

/// The kernel refuses (`EBUSY`) to remove an object a LUN still links.
fn in_use(e: LioError, dir: &Path) -> LioError {
    match &e {
        LioError::Io { source, .. } if source.raw_os_error() == Some(libc::EBUSY) => {
            LioError::InUse {
                path: dir.to_path_buf(),
            }
        }
        _ => e,
    }
}
