//! What LIO should have on this gateway for one export record: [`export_lun`], pure.

use crate::export::{ChapRecord, Record};
use crate::lio::{
    Access, BackstoreName, Chap, ChapSecret, ChapUser, DevConfig, ExportLun, InitiatorName,
    NameError, SpecError, TargetIqn, UnitSerial,
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
mod tests {
    use super::*;
    use crate::export::ChapPair;
    use crate::gateway::tests::record;

    fn portal() -> SocketAddr {
        "10.0.0.1:3260".parse().unwrap()
    }

    #[test]
    fn a_record_becomes_its_lun_on_this_portal() {
        let r = record("disk1", &["10.0.0.1:3260", "10.0.0.2:3260"]);
        let lun = export_lun(&r, portal()).unwrap();
        assert_eq!(lun.name.as_str(), "disk1");
        assert_eq!(
            lun.dev_config.as_str(),
            "glfs/gv0@gl1+gl2/gluster-tcmu/images/disk1.img"
        );
        assert_eq!(lun.size, r.size);
        assert_eq!((lun.hw_max_sectors, lun.cmd_time_out), (1024, 130));
        assert_eq!(lun.serial.as_str(), r.serial);
        assert_eq!(lun.target.as_str(), "iqn.2016-12.org.gluster-tcmu:disk1");
        assert_eq!(lun.lun, 0);
        assert_eq!(lun.portals, [portal()], "only this gateway's portal");
        assert_eq!(lun.access, Access::Any, "no initiators listed: any");
        assert_eq!(lun.chap, Chap::None);
        lun.validate().unwrap();
    }

    #[test]
    fn the_records_own_values_win() {
        let mut r = record("disk1", &["10.0.0.1:3260"]);
        r.hw_max_sectors = 256;
        r.cmd_time_out = 60;
        r.lun = 3;
        r.initiators = vec!["iqn.1994-05.com.redhat:c1".into()];
        let lun = export_lun(&r, portal()).unwrap();
        assert_eq!(
            (lun.hw_max_sectors, lun.cmd_time_out, lun.lun),
            (256, 60, 3)
        );
        let Access::Initiators(list) = &lun.access else {
            panic!("{:?}", lun.access)
        };
        assert_eq!(list[0].as_str(), "iqn.1994-05.com.redhat:c1");
    }

    #[test]
    fn chap_one_way_and_mutual() {
        let pair = |user: &str, secret: &str| ChapPair {
            user: user.into(),
            secret: secret.into(),
        };
        let mut r = record("disk1", &["10.0.0.1:3260"]);
        r.chap = Some(ChapRecord {
            initiator: pair("ini", "initiatorsecret1"),
            target: None,
        });
        let one_way = export_lun(&r, portal()).unwrap().chap;
        assert_eq!(
            one_way,
            Chap::OneWay {
                user: ChapUser::parse("ini").unwrap(),
                secret: ChapSecret::parse("initiatorsecret1").unwrap(),
            }
        );
        r.chap = Some(ChapRecord {
            initiator: pair("ini", "initiatorsecret1"),
            target: Some(pair("tgt", "targetsecret22")),
        });
        let Chap::Mutual {
            user, target_user, ..
        } = export_lun(&r, portal()).unwrap().chap
        else {
            panic!("not mutual")
        };
        assert_eq!((user.as_str(), target_user.as_str()), ("ini", "tgt"));
    }

    #[test]
    fn a_field_lio_cannot_take_is_named() {
        let mut r = record("disk1", &["10.0.0.1:3260"]);
        r.serial = "has:colon".into();
        let err = export_lun(&r, portal()).unwrap_err();
        assert!(
            crate::error_text::admin_message(&err).starts_with("record field `serial`: "),
            "{err:?}"
        );
        let mut r = record("disk1", &["10.0.0.1:3260"]);
        r.chap = Some(ChapRecord {
            initiator: ChapPair {
                user: "ini".into(),
                secret: "tiny1".into(),
            },
            target: None,
        });
        let err = export_lun(&r, portal()).unwrap_err();
        let msg = crate::error_text::admin_message(&err);
        assert!(msg.starts_with("record field `chap`: "), "{msg}");
        assert!(!msg.contains("tiny1"), "no secret in messages: {msg}");
    }
}
