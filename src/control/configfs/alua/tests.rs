use super::*;
use std::fs;

/// Writes `alua/<name>/` as the kernel shows it.
fn group(dev: &Path, name: &str, id: &str, state: u8, preferred: bool, members: &[&str]) {
    let dir = dev.join("alua").join(name);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("tg_pt_gp_id"), format!("{id}\n")).unwrap();
    fs::write(dir.join("alua_access_state"), format!("{state}\n")).unwrap();
    fs::write(dir.join("alua_access_type"), "Implicit and Explicit\n").unwrap();
    fs::write(dir.join("preferred"), if preferred { "1\n" } else { "0\n" }).unwrap();
    let text: String = members.iter().map(|m| format!("{m}\n")).collect();
    fs::write(dir.join("members"), text).unwrap();
}

const PORT: &str = "iscsi/iqn.2026-12.org.gluster-tcmu:gw1/tpgt_1/lun_0";

#[test]
fn a_device_without_groups_or_only_the_default_one_has_no_alua() {
    let dev = tempfile::tempdir().unwrap();
    assert_eq!(read_groups(dev.path()).unwrap(), vec![]);
    group(dev.path(), DEFAULT_GROUP, "0", 0, false, &[PORT]);
    let groups = read_groups(dev.path()).unwrap();
    assert_eq!(groups[0].id, Some(0));
    assert_eq!(groups[0].members, vec![PORT.to_owned()]);
    assert_eq!(lun_alua(&groups), Ok(None));
}

#[test]
fn the_group_holding_the_port_is_local_and_every_group_has_its_id_as_port() {
    let dev = tempfile::tempdir().unwrap();
    group(dev.path(), DEFAULT_GROUP, "0", 0, false, &[]);
    group(dev.path(), "gw1", "1", 2, true, &[PORT]);
    group(dev.path(), "gw2", "2", 0, false, &[]);
    group(dev.path(), "unset", "", 0, false, &[]);
    let groups = read_groups(dev.path()).unwrap();
    assert_eq!(groups.len(), 4);
    assert_eq!(groups[3].id, None);
    assert_eq!(groups[1].access_type, AccessType::ImplicitAndExplicit);
    let alua = lun_alua(&groups).unwrap().unwrap();
    assert_eq!(alua.receiving_port, 1);
    assert_eq!(alua.local_state(), AccessState::Standby);
    let ids: Vec<(u16, bool, Vec<u16>)> = alua
        .groups
        .iter()
        .map(|g| (g.id, g.preferred, g.ports.clone()))
        .collect();
    assert_eq!(ids, vec![(1, true, vec![1]), (2, false, vec![2])]);
    assert_eq!(alua.validate(), Ok(()));
}

#[test]
fn ports_in_two_groups_an_unset_id_and_unknown_states_are_refused() {
    let dev = tempfile::tempdir().unwrap();
    group(dev.path(), "gw1", "1", 0, false, &[PORT]);
    group(dev.path(), "gw2", "2", 0, false, &[PORT]);
    let groups = read_groups(dev.path()).unwrap();
    assert!(matches!(
        lun_alua(&groups),
        Err(AluaError::SeveralLocalGroups(_))
    ));

    let dev = tempfile::tempdir().unwrap();
    group(dev.path(), "gw1", "", 0, false, &[PORT]);
    assert!(matches!(
        lun_alua(&read_groups(dev.path()).unwrap()),
        Err(AluaError::NoId(_))
    ));

    let dev = tempfile::tempdir().unwrap();
    group(dev.path(), "gw1", "1", 4, false, &[PORT]); // LBA dependent
    assert!(matches!(
        lun_alua(&read_groups(dev.path()).unwrap()),
        Err(AluaError::State { code: 4, .. })
    ));
}

#[test]
fn unreadable_values_name_the_file() {
    let dev = tempfile::tempdir().unwrap();
    group(dev.path(), "gw1", "1", 0, false, &[PORT]);
    fs::write(dev.path().join("alua/gw1/alua_access_type"), "Sideways\n").unwrap();
    let e = read_groups(dev.path()).unwrap_err();
    assert!(e.to_string().contains("alua_access_type"), "{e}");
}
