use super::*;
use crate::export::record::State;
use std::sync::{Arc, Barrier};

#[test]
fn create_makes_a_ready_record_and_a_sparse_image() {
    let fx = Fixture::new();
    let seen = Recorder::default();
    let out = fx.ops(&seen).create(&request("disk1")).unwrap();
    let r = &out.record;
    assert_eq!(r.state, State::Ready);
    assert_eq!(r.size, 4 * MIB);
    assert_eq!(r.iqn, "iqn.2016-12.org.gluster-tcmu:disk1");
    assert_eq!(r.servers, ["server1", "server2"]);
    assert_eq!(r.gateways, [gw(GW1)]);
    assert_eq!(r.generation, 2);
    assert!(r.chap.is_none());
    assert_eq!(record_on(&fx, "disk1").as_ref(), Some(r));
    assert_eq!(image_on(&fx, "disk1"), Some(4 * MIB));
    assert_eq!(seen.changes(), [format!("{VOLUME}/disk1")]);
    // No gateway has reported: nothing to wait for, and each says so.
    assert_eq!(out.gateways.len(), 1);
    assert_eq!(out.gateways[0].state, GatewayState::NoReport);

    use std::os::unix::fs::MetadataExt;
    let img = std::fs::metadata(fx.root().join("gluster-tcmu/images/disk1.img")).unwrap();
    assert_eq!(img.mode() & 0o777, 0o600);
    assert!(img.blocks() * 512 < 4 * MIB, "sparse");
    let rec = std::fs::metadata(fx.root().join("gluster-tcmu/exports/disk1.json")).unwrap();
    assert_eq!(rec.mode() & 0o777, 0o600);
    let exports = std::fs::metadata(fx.root().join("gluster-tcmu/exports")).unwrap();
    assert_eq!(exports.mode() & 0o777, 0o700);
}

#[test]
fn an_export_with_several_gateways_gets_a_command_time_out_below_the_initiators() {
    let fx = Fixture::new();
    let seen = Recorder::default();
    let single = fx.ops(&seen).create(&request("one")).unwrap();
    assert_eq!(single.record.cmd_time_out, 130, "rides out a hung brick");
    let mut two = request("two");
    two.gateways.push(gw(GW2));
    let ha = fx.ops(&seen).create(&two).unwrap();
    assert_eq!(
        ha.record.cmd_time_out, 20,
        "fails a dead gateway's held commands before the initiator's 30 s"
    );
}

#[test]
fn chap_secrets_are_generated_per_export() {
    let fx = Fixture::new();
    let ops = fx.ops(&Quiet);
    let mut one = request("one");
    one.chap = ChapMode::OneWay;
    let mut two = request("two");
    two.chap = ChapMode::Mutual;
    let one = ops.create(&one).unwrap().record.chap.unwrap();
    let two = ops.create(&two).unwrap().record.chap.unwrap();
    assert!(one.target.is_none());
    let target = two.target.unwrap();
    assert!(one.initiator.user.starts_with("one-"));
    assert!(target.user.starts_with("two-target-"));
    let secrets = [&one.initiator.secret, &two.initiator.secret, &target.secret];
    assert_ne!(secrets[0], secrets[1]);
    assert_ne!(secrets[1], secrets[2]);
    assert_ne!(one.initiator.user, two.initiator.user);
}

#[test]
fn the_same_create_twice_gives_the_same_export() {
    let fx = Fixture::new();
    let seen = Recorder::default();
    let ops = fx.ops(&seen);
    let mut req = request("disk1");
    req.chap = ChapMode::Mutual;
    req.initiators = vec![
        "iqn.1994-05.com.redhat:b".into(),
        "iqn.1994-05.com.redhat:a".into(),
    ];
    let first = ops.create(&req).unwrap();
    let before = fx.snapshot();
    // The initiators in another order are the same set.
    req.initiators.reverse();
    let second = ops.create(&req).unwrap();
    assert_eq!(first.record, second.record);
    assert_eq!(fx.snapshot(), before);
}

#[test]
fn a_create_asking_otherwise_names_every_difference_and_changes_nothing() {
    let fx = Fixture::new();
    let ops = fx.ops(&Quiet);
    ops.create(&request("disk1")).unwrap();
    let before = fx.snapshot();
    let mut other = request("disk1");
    other.size = 8 * MIB;
    other.prealloc = true;
    other.chap = ChapMode::OneWay;
    other.gateways.push(gw(GW2));
    let err = ops.create(&other).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "export disk1 exists on {VOLUME} with size {} (asked {})",
            4 * MIB,
            8 * MIB
        )),
        "{text}"
    );
    for part in [
        "prealloc false (asked true)",
        "chap none (asked one-way)",
        "gateways 127.0.0.1:3260 (asked 127.0.0.1:3260,127.0.0.2:3260)",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
    assert_eq!(fx.snapshot(), before);

    let mut servers = request("disk1");
    servers.location = ExportLocation::parse("gv0@server3/disk1").unwrap();
    let err = ops.create(&servers).unwrap_err().to_string();
    assert!(
        err.contains("servers server1+server2 (asked server3)"),
        "{err}"
    );
}

#[test]
fn prealloc_allocates_every_block() {
    let fx = Fixture::new();
    let mut req = request("full");
    req.prealloc = true;
    let out = fx.ops(&Quiet).create(&req).unwrap();
    assert!(out.record.prealloc);
    use std::os::unix::fs::MetadataExt;
    let img = std::fs::metadata(fx.root().join("gluster-tcmu/images/full.img")).unwrap();
    assert_eq!(img.len(), 4 * MIB);
    assert!(img.blocks() * 512 >= 4 * MIB, "{} blocks", img.blocks());
}

/// Each bad request fails with its own message and leaves the volume as it was.
#[test]
fn bad_input_is_refused_precisely_and_changes_nothing() {
    let fx = Fixture::new();
    let ops = fx.ops(&Quiet);
    ops.create(&request("other")).unwrap();
    let before = fx.snapshot();
    let cases: Vec<(CreateRequest, &str)> = vec![
        (
            CreateRequest {
                size: 0,
                ..request("d")
            },
            "--size 0: an export needs at least one block",
        ),
        (
            CreateRequest {
                size: 1000,
                ..request("d")
            },
            "--size 1000: not a multiple of the 512-byte block size",
        ),
        (
            CreateRequest {
                size: 1 << 60,
                ..request("d")
            },
            "bytes free, 1152921504606846976 needed for d",
        ),
        (
            CreateRequest {
                gateways: vec![],
                ..request("d")
            },
            "name at least one --gateway",
        ),
        (
            CreateRequest {
                gateways: vec![gw(GW1), gw(GW1)],
                ..request("d")
            },
            "--gateway 127.0.0.1:3260: given twice",
        ),
        (
            CreateRequest {
                initiators: vec!["node1".into()],
                ..request("d")
            },
            "--initiator node1: initiator name \"node1\" does not have the form",
        ),
        (
            CreateRequest {
                hw_max_sectors: 0,
                ..request("d")
            },
            "--hw-max-sectors 0: must be 1 to 8192",
        ),
        (
            CreateRequest {
                location: ExportLocation::parse(&format!(
                    "gv0@{}/d",
                    (0..12)
                        .map(|i| format!("server-{i:02}.example.com"))
                        .collect::<Vec<_>>()
                        .join("+")
                ))
                .unwrap(),
                ..request("d")
            },
            "more than the kernel's 255: use a name of at most",
        ),
    ];
    for (req, expected) in cases {
        let err = ops.create(&req).unwrap_err().to_string();
        assert!(err.contains(expected), "expected {expected:?} in {err:?}");
        assert_eq!(fx.snapshot(), before, "after {expected:?}");
    }
    assert!(matches!(
        parse_gateway("gw.example.com"),
        Err(OpsError::Input { .. })
    ));
    assert!(parse_gateway("10.0.0.1:0").is_err());
    assert!(parse_gateway("0.0.0.0").is_err());
    assert_eq!(parse_gateway("10.0.0.1").unwrap(), gw("10.0.0.1:3260"));
    assert_eq!(parse_gateway("[fd00::1]").unwrap(), gw("[fd00::1]:3260"));
    assert_eq!(parse_gateway("fd00::1").unwrap(), gw("[fd00::1]:3260"));
    assert_eq!(
        parse_gateway("[fd00::1]:3261").unwrap(),
        gw("[fd00::1]:3261")
    );
}

#[test]
fn an_image_without_a_record_is_not_taken_over() {
    let fx = Fixture::new();
    let store = fx.store();
    store.ensure_folders().unwrap();
    store
        .grow("/gluster-tcmu/images/d.img", MIB, false, 0o600)
        .unwrap();
    let before = fx.snapshot();
    let err = fx.ops(&Quiet).create(&request("d")).unwrap_err();
    assert!(matches!(err, OpsError::OrphanImage { .. }), "{err}");
    assert_eq!(fx.snapshot(), before);
}

#[test]
fn a_corrupt_record_is_reported_by_name_and_left_alone() {
    let fx = Fixture::new();
    let store = fx.store();
    store.ensure_folders().unwrap();
    store
        .publish("/gluster-tcmu/exports/d.json", b"{\"version\": 1", 0o600)
        .unwrap();
    let before = fx.snapshot();
    let err = fx
        .ops(&Quiet)
        .create(&request("d"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("the record of export d on gv0@server1+server2 is corrupt"),
        "{err}"
    );
    assert_eq!(fx.snapshot(), before);
}

/// Eight creates of one name at once: one record, one serial, the same for all.
#[test]
fn racing_creates_of_one_name_make_one_export() {
    let fx = Fixture::new();
    let outcomes = race(&fx, |_| request("shared"));
    let serials: Vec<String> = outcomes
        .into_iter()
        .map(|o| o.unwrap().record.serial)
        .collect();
    assert!(serials.iter().all(|s| *s == serials[0]), "{serials:?}");
    assert_eq!(record_on(&fx, "shared").unwrap().serial, serials[0]);
    let files = fx.store().list("/gluster-tcmu/exports").unwrap();
    assert_eq!(files, ["shared.json"]);
    assert!(fx.store().list("/gluster-tcmu/tmp").unwrap().is_empty());
}

/// Eight creates of one name with eight sizes: one wins, the others are told it exists.
#[test]
fn racing_creates_asking_different_sizes_have_one_winner() {
    let fx = Fixture::new();
    let outcomes = race(&fx, |i| CreateRequest {
        size: (i as u64 + 1) * MIB,
        ..request("contested")
    });
    let won: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    assert_eq!(won.len(), 1, "{outcomes:?}");
    for o in &outcomes {
        if let Err(e) = o {
            assert!(matches!(e, OpsError::Exists { .. }), "{e}");
        }
    }
    let record = record_on(&fx, "contested").unwrap();
    assert_eq!(record.serial, won[0].record.serial);
    assert_eq!(image_on(&fx, "contested"), Some(record.size));
}

fn race(
    fx: &Fixture,
    request: impl Fn(usize) -> CreateRequest,
) -> Vec<Result<CreateOutcome, OpsError>> {
    let start = Arc::new(Barrier::new(8));
    std::thread::scope(|s| {
        let racers: Vec<_> = (0..8)
            .map(|i| {
                let (start, req) = (start.clone(), request(i));
                s.spawn(move || {
                    start.wait();
                    fx.ops(&Quiet).create(&req)
                })
            })
            .collect();
        racers.into_iter().map(|t| t.join().unwrap()).collect()
    })
}

#[test]
fn a_create_of_an_export_being_deleted_says_so() {
    let fx = Fixture::new();
    let ops = fx.ops(&Quiet);
    ops.create(&request("d")).unwrap();
    let stopped = fx.ops(&Quiet).stop_after(Some(Step::DeleteMarked));
    assert!(matches!(
        stopped.delete(&at("d"), false),
        Err(OpsError::Stopped(_))
    ));
    let err = ops.create(&request("d")).unwrap_err().to_string();
    assert!(
        err.contains("is being deleted: finish with `gluster-tcmu export delete"),
        "{err}"
    );
}

#[test]
fn create_waits_for_a_reporting_gateway_to_serve_the_new_generation() {
    let fx = Fixture::new();
    // A fresh report that does not list the export yet: the create waits for it.
    fx.report(GW1, 0, &[]);
    let seen = Recorder::default();
    let out = std::thread::scope(|s| {
        let create = s.spawn(|| fx.patient_ops(&seen).create(&request("disk1")));
        seen.await_line("waiting for 127.0.0.1:3260 to serve disk1");
        fx.report(GW1, 0, &[("disk1", serving(2, &[]))]);
        create.join().unwrap().unwrap()
    });
    assert_eq!(out.gateways[0].state, GatewayState::Ready);
}
