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
    assert_eq!(
        lun.alua,
        Some(PortGroups {
            local: 1,
            gateways: 2
        }),
        "two gateways: one target port group each, this one first"
    );
    lun.validate().unwrap();
}

#[test]
fn port_groups_follow_the_records_gateway_order() {
    let r = record(
        "disk1",
        &["10.0.0.2:3260", "10.0.0.3:3260", "10.0.0.1:3260"],
    );
    let lun = export_lun(&r, portal()).unwrap();
    let groups = lun.alua.expect("three gateways");
    assert_eq!((groups.local, groups.gateways), (3, 3));
    let alone = record("disk1", &["10.0.0.1:3260"]);
    assert_eq!(
        export_lun(&alone, portal()).unwrap().alua,
        None,
        "one gateway: no groups"
    );
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
