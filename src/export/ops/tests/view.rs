use super::*;

#[test]
fn list_shows_every_export_and_a_corrupt_record_by_name() {
    let fx = Fixture::new();
    let ops = fx.ops(&Quiet);
    ops.create(&request("a")).unwrap();
    let mut two = request("b");
    two.gateways.push(gw(GW2));
    two.chap = ChapMode::OneWay;
    let secret = ops
        .create(&two)
        .unwrap()
        .record
        .chap
        .unwrap()
        .initiator
        .secret;
    fx.store()
        .publish("/gluster-tcmu/exports/broken.json", b"{}", 0o600)
        .unwrap();
    fx.store()
        .publish("/gluster-tcmu/exports/notes.txt", b"admin's", 0o600)
        .unwrap();
    fx.report(GW1, 0, &[("b", serving(2, &["iqn.1994-05.com.redhat:n1"]))]);

    let listing = ops.list(&[volume()]).unwrap();
    assert_eq!(listing.len(), 1);
    let entries = listing[0].exports.as_ref().unwrap();
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "broken"]);
    assert_eq!(entries[0].state, ListedState::Ready);
    assert_eq!((entries[1].gateways_ready, entries[1].gateways), (1, 2));
    assert_eq!(entries[1].sessions, 1);
    assert_eq!(entries[2].state, ListedState::Corrupt);
    assert!(
        entries[2]
            .reason
            .as_ref()
            .unwrap()
            .contains("missing field"),
        "{entries:?}"
    );
    assert!(!format!("{entries:?}").contains(&secret));
}

#[test]
fn a_record_in_another_names_file_is_corrupt() {
    let fx = Fixture::new();
    fx.ops(&Quiet).create(&request("a")).unwrap();
    let bytes = fx
        .store()
        .read("/gluster-tcmu/exports/a.json")
        .unwrap()
        .unwrap();
    fx.store()
        .publish("/gluster-tcmu/exports/b.json", &bytes, 0o600)
        .unwrap();
    let err = fx.ops(&Quiet).info(&at("b")).unwrap_err().to_string();
    assert!(
        err.contains("record field `name`: \"a\" in the record file of \"b\""),
        "{err}"
    );
}

#[test]
fn list_without_volumes_says_to_name_one() {
    let fx = Fixture::new();
    let err = fx.ops(&Quiet).list(&[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "name the volume: VOLUME@SERVER (no [exports] volumes configured)"
    );
}

#[test]
fn info_shows_each_gateway() {
    let fx = Fixture::new();
    let mut req = request("disk1");
    req.gateways = vec![gw(GW1), gw(GW2), gw("127.0.0.3:3260")];
    fx.ops(&Quiet).create(&req).unwrap();
    fx.report(
        GW1,
        0,
        &[("disk1", serving(2, &["iqn.1994-05.com.redhat:n1"]))],
    );
    fx.report(GW2, 3600, &[("disk1", serving(2, &[]))]);
    fx.report("127.0.0.4:3260", 0, &[("disk1", serving(1, &[]))]);
    let info = fx.ops(&Quiet).info(&at("disk1")).unwrap();
    assert_eq!(info.image_size, Some(4 * MIB));
    let states: Vec<(String, GatewayState, bool)> = info
        .gateways
        .iter()
        .map(|v| (v.gateway.to_string(), v.state, v.named))
        .collect();
    assert_eq!(
        states,
        [
            (GW1.into(), GatewayState::Ready, true),
            (GW2.into(), GatewayState::Stale, true),
            ("127.0.0.3:3260".into(), GatewayState::NoReport, true),
            ("127.0.0.4:3260".into(), GatewayState::Ready, false),
        ]
    );
    assert_eq!(info.gateways[0].sessions, ["iqn.1994-05.com.redhat:n1"]);
}

#[test]
fn a_bare_name_is_looked_up_in_the_configured_volumes() {
    let fx = Fixture::new();
    fx.ops(&Quiet).create(&request("disk1")).unwrap();
    let bare = ExportRef::parse("disk1").unwrap();
    let err = fx.ops(&Quiet).info(&bare).unwrap_err();
    assert_eq!(
        err.to_string(),
        "name the volume: VOLUME@SERVER/disk1 (no [exports] volumes configured)"
    );
    let other = VolumeAddr::parse("gv1@server1").unwrap();
    let volumes = [other.clone(), volume()];
    let info = fx.ops_with(&volumes, &Quiet).info(&bare).unwrap();
    assert_eq!(info.location, location("disk1"));

    let missing = ExportRef::parse("disk2").unwrap();
    let err = fx.ops_with(&volumes, &Quiet).info(&missing).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("no export disk2 on gv1@server1, {VOLUME}")
    );

    let twice = CreateRequest {
        location: ExportLocation {
            volume: other,
            name: ExportName::parse("disk1").unwrap(),
        },
        ..request("disk1")
    };
    fx.ops(&Quiet).create(&twice).unwrap();
    let err = fx.ops_with(&volumes, &Quiet).info(&bare).unwrap_err();
    assert!(matches!(err, OpsError::Ambiguous { .. }), "{err}");
}

#[test]
fn export_refs_parse_both_forms() {
    assert_eq!(ExportRef::parse(&format!("{VOLUME}/d")).unwrap(), at("d"));
    assert!(matches!(ExportRef::parse("d").unwrap(), ExportRef::Bare(_)));
    assert!(ExportRef::parse("gv0@s1").is_err());
    assert!(ExportRef::parse("D").is_err());
}
