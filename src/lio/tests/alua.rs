//! Target port groups of an export with several gateways.

use super::*;
use crate::control::configfs::alua::{lun_alua, read_groups};
use crate::lio::PortGroups;

const TPG: &str = "iscsi/iqn.2024-01.org.example.gw:vol/tpgt_1";
const DEV: &str = "core/user_0/vol";

fn ha(local: u16, gateways: u16) -> ExportLun {
    ExportLun {
        alua: Some(PortGroups { local, gateways }),
        ..export("vol")
    }
}

#[test]
fn each_gateway_gets_a_group_and_this_ones_lun_is_in_its_own_before_the_tpg_is_enabled() {
    let mut env = Env::new();
    env.lio.apply(&ha(2, 3)).unwrap();
    for id in 1..=3 {
        let group = format!("{DEV}/alua/gw{id}");
        assert_eq!(env.read(&format!("{group}/tg_pt_gp_id")), id.to_string());
        assert_eq!(env.read(&format!("{group}/alua_access_type")), "Implicit");
    }
    assert_eq!(
        env.read(&format!("{DEV}/alua/gw2/members")),
        format!("iSCSI/{TARGET}/tpgt_1/lun_0")
    );
    assert_eq!(env.read(&format!("{DEV}/alua/gw1/members")), "");
    let ops = env.fake().ops();
    let moved = at(&ops, &format!("write {TPG}/lun/lun_0/alua_tg_pt_gp"));
    assert!(moved < at(&ops, &format!("write {TPG}/enable")), "{ops:#?}");
}

#[test]
fn the_daemon_reads_back_the_groups_the_writer_made() {
    let mut env = Env::new();
    env.apply(&ha(2, 2));
    let groups = read_groups(&env.path(DEV)).unwrap();
    let alua = lun_alua(&groups).unwrap().expect("a local group");
    assert_eq!(alua.receiving_port, 2);
    let ids: Vec<u16> = alua.groups.iter().map(|g| g.id).collect();
    assert_eq!(ids, [1, 2]);
}

#[test]
fn a_second_apply_changes_nothing() {
    let mut env = Env::new();
    env.apply(&ha(1, 2));
    let again = env.lio.apply(&ha(1, 2)).unwrap();
    assert!(again.is_noop(), "{:#?}", again.changes);
    env.restart();
    assert!(env.lio.apply(&ha(1, 2)).unwrap().is_noop());
}

#[test]
fn fewer_gateways_drop_their_groups_and_one_gateway_drops_all() {
    let mut env = Env::new();
    env.apply(&ha(1, 3));
    env.apply(&ha(1, 2));
    assert!(!env.fake().exists(&env.path(&format!("{DEV}/alua/gw3"))));
    assert!(env.fake().exists(&env.path(&format!("{DEV}/alua/gw2"))));
    env.apply(&export("vol"));
    assert!(read_groups(&env.path(DEV)).unwrap().is_empty());
    let info = env.read(&format!("{TPG}/lun/lun_0/alua_tg_pt_gp"));
    assert!(
        info.starts_with("TG Port Alias: default_tg_pt_gp"),
        "{info}"
    );
}

#[test]
fn an_ha_export_is_removed_whole() {
    let mut env = Env::new();
    env.apply(&ha(2, 2));
    env.lio.remove("vol").unwrap();
    assert!(!env.fake().exists(&env.path(DEV)));
    assert!(!env.fake().exists(&env.path(TPG)));
}
