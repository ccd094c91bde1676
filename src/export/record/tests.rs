use super::*;

pub(crate) fn sample() -> Record {
    let name = ExportName::parse("disk1").unwrap();
    Record {
        version: RECORD_VERSION,
        name: name.to_string(),
        state: State::Ready,
        volume: "gv0".into(),
        servers: vec!["server1".into(), "server2".into()],
        image: layout::image(&name),
        size: 1 << 30,
        block_size: BLOCK_SIZE,
        prealloc: false,
        serial: "5a2d6b1e-8f0c-4d3a-9b7e-2c1f0e9d8a7b".into(),
        iqn: Record::iqn_for(&name),
        lun: 0,
        gateways: vec!["127.0.0.1:3260".parse().unwrap()],
        initiators: vec!["iqn.1994-05.com.redhat:node1".into()],
        chap: Some(ChapRecord {
            initiator: ChapPair {
                user: "disk1".into(),
                secret: "Secret0123456789".into(),
            },
            target: None,
        }),
        hw_max_sectors: DEFAULT_HW_MAX_SECTORS,
        cmd_time_out: DEFAULT_CMD_TIME_OUT,
        generation: 1,
        clone_of: None,
    }
}

#[test]
fn a_record_round_trips_through_json() {
    let r = sample();
    assert_eq!(Record::from_json(&r.to_json()).unwrap(), r);
}

#[test]
fn the_config_string_names_the_image_on_every_server() {
    assert_eq!(
        sample().dev_config(),
        "glfs/gv0@server1+server2/gluster-tcmu/images/disk1.img"
    );
}

#[test]
fn debug_never_shows_a_secret() {
    let mut r = sample();
    if let Some(c) = r.chap.as_mut() {
        c.target = Some(ChapPair {
            user: "target1".into(),
            secret: "OtherSecret98765".into(),
        });
    }
    let text = format!("{r:?}");
    assert!(!text.contains("Secret0123456789"), "{text}");
    assert!(!text.contains("OtherSecret98765"), "{text}");
    assert!(text.contains("disk1"), "{text}");
}

#[test]
fn an_unknown_field_is_refused_by_name() {
    let mut v: serde_json::Value = serde_json::from_slice(&sample().to_json()).unwrap();
    v["colour"] = "blue".into();
    let err = Record::from_json(v.to_string().as_bytes()).unwrap_err();
    assert!(err.to_string().contains("colour"), "{err}");
}

#[test]
fn a_newer_format_is_refused() {
    let r = Record {
        version: 2,
        ..sample()
    };
    assert!(matches!(
        Record::from_json(&r.to_json()),
        Err(RecordError::Version { found: 2 })
    ));
}

/// Spoils one field of a record.
type Spoil = Box<dyn Fn(&mut Record)>;

#[test]
fn bad_fields_are_named() {
    let cases: Vec<(&str, Spoil)> = vec![
        ("name", Box::new(|r| r.name = "Disk1".into())),
        ("volume", Box::new(|r| r.volume.clear())),
        ("servers", Box::new(|r| r.servers.clear())),
        ("image", Box::new(|r| r.image = "/elsewhere.img".into())),
        ("size", Box::new(|r| r.size = 1000)),
        ("size", Box::new(|r| r.size = 0)),
        ("block_size", Box::new(|r| r.block_size = 4096)),
        ("hw_max_sectors", Box::new(|r| r.hw_max_sectors = 0)),
        ("cmd_time_out", Box::new(|r| r.cmd_time_out = 0)),
        ("serial", Box::new(|r| r.serial = "a:b".into())),
        ("iqn", Box::new(|r| r.iqn = "IQN.bad".into())),
        ("lun", Box::new(|r| r.lun = u16::MAX)),
        ("gateways", Box::new(|r| r.gateways.clear())),
        (
            "gateways",
            Box::new(|r| r.gateways.push("127.0.0.1:3260".parse().unwrap())),
        ),
        (
            "initiators",
            Box::new(|r| r.initiators.push("nobody".into())),
        ),
        (
            "initiators",
            Box::new(|r| r.initiators.push("iqn.1994-05.com.redhat:node1".into())),
        ),
        (
            "chap",
            Box::new(|r| {
                if let Some(c) = r.chap.as_mut() {
                    c.initiator.secret = "short".into()
                }
            }),
        ),
        (
            "chap",
            Box::new(|r| {
                if let Some(c) = r.chap.as_mut() {
                    c.target = Some(c.initiator.clone())
                }
            }),
        ),
    ];
    for (name, spoil) in cases {
        let mut r = sample();
        spoil(&mut r);
        match r.validate() {
            Err(RecordError::Field { field, .. }) => assert_eq!(field, name, "{r:?}"),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn a_config_string_too_long_for_the_kernel_is_refused() {
    let mut r = sample();
    r.servers = (0..40).map(|i| format!("server-number-{i}")).collect();
    let err = r.validate().unwrap_err();
    assert!(err.to_string().contains("image"), "{err}");
}

#[test]
fn the_source_of_a_clone_is_kept_only_when_there_is_one() {
    let plain = sample();
    let json = String::from_utf8(plain.to_json()).unwrap();
    // A record written before clones existed has no such field, and reads as no source.
    assert!(!json.contains("clone_of"), "{json}");
    assert_eq!(Record::from_json(json.as_bytes()).unwrap().clone_of, None);
    let clone = Record {
        clone_of: Some("golden".into()),
        ..sample()
    };
    assert_eq!(Record::from_json(&clone.to_json()).unwrap(), clone);
    for (bad, said) in [("disk1", "clone of itself"), ("Bad Name", "clone_of")] {
        let r = Record {
            clone_of: Some(bad.into()),
            ..sample()
        };
        let err = Record::from_json(&r.to_json()).unwrap_err().to_string();
        assert!(err.contains(said), "{err}");
    }
}
