use super::*;
use crate::export::ops::{GatewayState, GatewayView, ListEntry, ListedState, VolumeListing};
use crate::export::record::{ChapPair, ChapRecord, RECORD_VERSION, Record, State};
use crate::export::{ExportName, layout};
use clap::Parser;

const SECRET: &str = "Secret0123456789";
const TARGET_SECRET: &str = "Target0123456789";

fn record() -> Record {
    let name = ExportName::parse("disk1").unwrap();
    Record {
        version: RECORD_VERSION,
        name: name.to_string(),
        state: State::Ready,
        volume: "gv0".into(),
        servers: vec!["s1".into()],
        image: layout::image(&name),
        size: 1 << 30,
        block_size: 512,
        prealloc: false,
        serial: "5a2d6b1e-8f0c-4d3a-9b7e-2c1f0e9d8a7b".into(),
        iqn: Record::iqn_for(&name),
        lun: 0,
        gateways: vec!["10.0.0.1:3260".parse().unwrap()],
        initiators: vec![],
        chap: Some(ChapRecord {
            initiator: ChapPair {
                user: "disk1-u".into(),
                secret: SECRET.into(),
            },
            target: Some(ChapPair {
                user: "disk1-t".into(),
                secret: TARGET_SECRET.into(),
            }),
        }),
        hw_max_sectors: 1024,
        cmd_time_out: 130,
        generation: 2,
        clone_of: None,
    }
}

fn views() -> Vec<GatewayView> {
    vec![GatewayView {
        gateway: "10.0.0.1:3260".parse().unwrap(),
        named: true,
        state: GatewayState::Ready,
        reason: None,
        sessions: vec!["iqn.1994-05.com.redhat:n1".into()],
        size: Some(1 << 30),
        generation: Some(2),
        updated: Some(1),
        path: None,
    }]
}

fn location() -> ExportLocation {
    ExportLocation::parse("gv0@s1/disk1").unwrap()
}

#[test]
fn create_prints_the_secrets_and_nothing_else_does() {
    let created = crate::export::ops::CreateOutcome {
        location: location(),
        record: record(),
        gateways: views(),
    };
    for text in [human::create(&created), json::create(&created)] {
        assert!(
            text.contains(SECRET) && text.contains(TARGET_SECRET),
            "{text}"
        );
        assert!(
            text.contains("naa.60014055a2d6b1e8f0c4d3a9b7e2c1f"),
            "{text}"
        );
    }
    let info = crate::export::ops::ExportInfo {
        location: location(),
        record: record(),
        image_size: Some(1 << 30),
        gateways: views(),
    };
    let resized = crate::export::ops::ResizeOutcome {
        location: location(),
        previous_size: 1 << 29,
        record: record(),
        gateways: views(),
    };
    for text in [
        human::info(&info),
        json::info(&info),
        human::resize(&resized),
        json::resize(&resized),
        format!("{:?}", record()),
    ] {
        assert!(
            !text.contains(SECRET) && !text.contains(TARGET_SECRET),
            "{text}"
        );
    }
    assert!(human::info(&info).contains("  chap user      disk1-u\n"));
    let v: serde_json::Value = serde_json::from_str(&json::info(&info)).unwrap();
    assert_eq!(
        v["chap"],
        serde_json::json!({"mode": "mutual", "user": "disk1-u", "target_user": "disk1-t"})
    );
    assert_eq!(v["image_size"], 1 << 30);
    assert_eq!(v["gateways"][0]["state"], "ready");
}

#[test]
fn info_names_the_active_gateway_and_each_path_of_an_ha_export() {
    use crate::export::{PathAccess, PathStatus};
    let path = |access, takeovers, fenced| {
        Some(PathStatus {
            access,
            takeovers,
            fenced,
        })
    };
    let mut gateways = views();
    gateways[0].path = path(PathAccess::Standby, 1, 3);
    gateways.push(GatewayView {
        gateway: "10.0.0.2:3260".parse().unwrap(),
        path: path(PathAccess::ActiveOptimized, 2, 0),
        ..views()[0].clone()
    });
    let mut info = crate::export::ops::ExportInfo {
        location: location(),
        record: record(),
        image_size: Some(1 << 30),
        gateways,
    };
    let text = human::info(&info);
    assert!(text.contains("  active gateway 10.0.0.2:3260\n"), "{text}");
    assert!(text.contains("PATH"), "{text}");
    assert!(text.contains("standby (takeovers 1, fenced 3)"), "{text}");
    assert!(text.contains("active (takeovers 2, fenced 0)"), "{text}");
    let v: serde_json::Value = serde_json::from_str(&json::info(&info)).unwrap();
    assert_eq!(v["gateways"][1]["path"]["access"], "active-optimized");
    assert_eq!(v["gateways"][0]["path"]["fenced"], 3);

    // No holder (no initiator I/O yet: a gateway without the lock reports
    // Active/Non-optimized), and one gateway down (no path reported).
    info.gateways[1].path = path(PathAccess::ActiveNonOptimized, 0, 0);
    info.gateways[0].path = None;
    let text = human::info(&info);
    assert!(
        text.contains("  active gateway none (no gateway holds the image yet)\n"),
        "{text}"
    );

    // A one-gateway export shows neither the line nor the column.
    let text = human::info(&crate::export::ops::ExportInfo {
        gateways: views(),
        ..info
    });
    assert!(
        !text.contains("active gateway") && !text.contains("PATH"),
        "{text}"
    );
}

#[test]
fn list_is_a_table_and_problems_go_apart() {
    let entry = |name: &str, state, size| ListEntry {
        name: name.into(),
        state,
        reason: (state == ListedState::Corrupt).then(|| "missing field `name`".to_owned()),
        size,
        gateways_ready: 1,
        gateways: 2,
        sessions: 3,
    };
    let listings = vec![
        VolumeListing {
            volume: VolumeAddr::parse("gv0@s1").unwrap(),
            exports: Ok(vec![
                entry("disk1", ListedState::Ready, Some(1 << 30)),
                entry("broken", ListedState::Corrupt, None),
            ]),
        },
        VolumeListing {
            volume: VolumeAddr::parse("gv9@s9").unwrap(),
            exports: Err(OpsError::NotFound {
                name: "x".into(),
                looked_in: "gv9@s9".into(),
            }),
        },
    ];
    let (table, problems) = human::list(&listings);
    assert_eq!(
        table,
        "VOLUME  NAME    STATE    SIZE   GATEWAYS  SESSIONS\n\
         gv0@s1  disk1   ready    1 GiB  1/2       3\n\
         gv0@s1  broken  corrupt  -      1/2       3\n"
    );
    assert_eq!(
        problems,
        [
            "gv0@s1/broken: missing field `name`",
            "no export x on gv9@s9"
        ]
    );
    let v: serde_json::Value = serde_json::from_str(&json::list(&listings)).unwrap();
    assert_eq!(v["exports"][0]["volume"], "gv0@s1");
    assert_eq!(v["exports"][0]["name"], "disk1");
    assert_eq!(v["exports"][1]["state"], "corrupt");
    assert_eq!(v["errors"][0]["volume"], "gv9@s9");
}

#[test]
fn sizes_for_people() {
    assert_eq!(human::size(1 << 30), "1 GiB");
    assert_eq!(human::size(3 << 20), "3 MiB");
    assert_eq!(human::size(1536), "1536 B");
}

#[test]
fn an_error_chain_is_one_line_with_each_cause_once() {
    let e = OpsError::Store {
        volume: "gv0@s1".into(),
        source: crate::export::StoreError::io(
            "read",
            "/x",
            std::io::Error::from_raw_os_error(libc::EACCES),
        ),
    };
    assert_eq!(
        one_line(&e),
        "volume gv0@s1: cannot read /x: Permission denied (os error 13)"
    );
}

#[test]
fn an_eio_points_at_split_brain() {
    let volume = VolumeAddr::parse("gv0@s1").unwrap();
    let eio = std::io::Error::from_raw_os_error(libc::EIO);
    let e = OpsError::store(&volume)(crate::export::StoreError::io("read", "/x", eio));
    assert_eq!(
        one_line(&e),
        "volume gv0@s1: cannot read /x: input/output error; on a replicated volume this is \
         most often a split-brain (`gluster volume heal gv0 info split-brain`)"
    );
}

#[derive(Debug, Parser)]
struct Wrapper {
    #[command(subcommand)]
    command: ExportCommand,
}

#[test]
fn the_command_line_parses() {
    use clap::CommandFactory;
    Wrapper::command().debug_assert();
    let w = Wrapper::try_parse_from([
        "x",
        "create",
        "gv0@s1/d",
        "--size",
        "1G",
        "--gateway",
        "10.0.0.1",
        "--gateway",
        "10.0.0.2:3261",
        "--mutual-chap",
        "--json",
    ])
    .unwrap();
    let ExportCommand::Create(a) = w.command else {
        panic!("{w:?}");
    };
    assert_eq!(a.gateways, ["10.0.0.1", "10.0.0.2:3261"]);
    assert!(a.mutual_chap && a.common.json && !a.chap);
    assert_eq!(a.changing.wait, 60);
    let both = Wrapper::try_parse_from([
        "x",
        "create",
        "gv0@s1/d",
        "--size",
        "1G",
        "--chap",
        "--mutual-chap",
    ]);
    assert!(both.is_err());
    assert_eq!(parse_size("512MiB"), Ok(512 << 20));
    assert!(parse_size("12X").unwrap_err().starts_with("--size 12X: "));
}
