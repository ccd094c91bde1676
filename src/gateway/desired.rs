//! What LIO should have on this gateway for one export record: [`export_lun`], pure.

use crate::export::{ChapRecord, Record};
use crate::lio::{
    Access, BackstoreName, Chap, ChapSecret, ChapUser, DevConfig, ExportLun, InitiatorName,
    NameError, PortGroups, SpecError, TargetIqn, UnitSerial,
};
use std::net::SocketAddr;

/// A record field LIO cannot take as it is. A validated record never has one; the
/// conversion checks again rather than trust it.
#[derive(Debug, thiserror::Error)]
pub enum LunError {
    #[error("record field `{field}`")]
    Name {
        field: &'static str,
        #[source]
        source: NameError,
    },
    #[error("record field `{field}`")]
    Spec {
        field: &'static str,
        #[source]
        source: SpecError,
    },
}

fn name_err(field: &'static str) -> impl FnOnce(NameError) -> LunError {
    move |source| LunError::Name { field, source }
}

fn spec_err(field: &'static str) -> impl FnOnce(SpecError) -> LunError {
    move |source| LunError::Spec { field, source }
}

/// The LUN `record` asks for, served on `portal` (this gateway's only portal): the
/// storage object is named after the export and carries the record's `user:glfs` config
/// string, size, unit serial (the same on every gateway, so an initiator sees one WWID),
/// `hw_max_sectors` and `cmd_time_out`; its target, LUN, allowed initiators (none listed:
/// any) and CHAP are the record's.
pub fn export_lun(record: &Record, portal: SocketAddr) -> Result<ExportLun, LunError> {
    Ok(ExportLun {
        name: BackstoreName::parse(&record.name).map_err(name_err("name"))?,
        dev_config: DevConfig::parse(&record.dev_config()).map_err(spec_err("image"))?,
        size: record.size,
        hw_max_sectors: record.hw_max_sectors,
        cmd_time_out: record.cmd_time_out,
        serial: UnitSerial::parse(&record.serial).map_err(name_err("serial"))?,
        target: TargetIqn::parse(&record.iqn).map_err(name_err("iqn"))?,
        lun: record.lun,
        portals: vec![portal],
        access: access(&record.initiators)?,
        chap: chap(record.chap.as_ref())?,
        alua: port_groups(&record.gateways, portal),
    })
}

/// One target port group per gateway when there are several (multipath HA), this
/// gateway's by its place in the record's list, so every gateway numbers them alike.
fn port_groups(gateways: &[SocketAddr], portal: SocketAddr) -> Option<PortGroups> {
    if !crate::export::record::is_multipath(gateways) {
        return None;
    }
    let local = gateways.iter().position(|g| *g == portal)?;
    Some(PortGroups {
        local: u16::try_from(local + 1).ok()?,
        gateways: u16::try_from(gateways.len()).ok()?,
    })
}

fn access(initiators: &[String]) -> Result<Access, LunError> {
    if initiators.is_empty() {
        return Ok(Access::Any);
    }
    let names = initiators.iter().map(|i| InitiatorName::parse(i));
    let names: Result<Vec<_>, _> = names.collect();
    Ok(Access::Initiators(names.map_err(name_err("initiators"))?))
}

fn chap(chap: Option<&ChapRecord>) -> Result<Chap, LunError> {
    let Some(chap) = chap else {
        return Ok(Chap::None);
    };
    let user = ChapUser::parse(&chap.initiator.user).map_err(spec_err("chap"))?;
    let secret = ChapSecret::parse(&chap.initiator.secret).map_err(spec_err("chap"))?;
    let Some(target) = &chap.target else {
        return Ok(Chap::OneWay { user, secret });
    };
    Ok(Chap::Mutual {
        user,
        secret,
        target_user: ChapUser::parse(&target.user).map_err(spec_err("chap"))?,
        target_secret: ChapSecret::parse(&target.secret).map_err(spec_err("chap"))?,
    })
}

#[cfg(test)]
mod tests;
