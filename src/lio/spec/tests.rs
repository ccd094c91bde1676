use super::*;

fn export() -> ExportLun {
    ExportLun {
        name: BackstoreName::parse("vol").unwrap(),
        dev_config: DevConfig::parse("glfs/gt1@127.0.0.1/images/vol.img").unwrap(),
        size: 1 << 30,
        hw_max_sectors: 1024,
        cmd_time_out: 30,
        serial: UnitSerial::parse("serial-vol").unwrap(),
        target: TargetIqn::parse("iqn.2024-01.org.example.gw:vol").unwrap(),
        lun: 0,
        portals: vec!["10.0.0.1:3260".parse().unwrap()],
        access: Access::Any,
        chap: Chap::None,
        alua: None,
    }
}

fn secret(s: &str) -> ChapSecret {
    ChapSecret::parse(s).unwrap()
}

#[test]
fn a_complete_export_is_valid() {
    assert_eq!(export().validate(), Ok(()));
}

#[test]
fn numbers_are_checked() {
    let mut e = export();
    e.size = 1000;
    assert_eq!(e.validate(), Err(SpecError::Size { size: 1000 }));
    e.size = 0;
    assert_eq!(e.validate(), Err(SpecError::Size { size: 0 }));
    let mut e = export();
    e.hw_max_sectors = 0;
    assert_eq!(e.validate(), Err(SpecError::HwMaxSectors));
    let mut e = export();
    e.lun = LUN_MAX + 1;
    assert_eq!(e.validate(), Err(SpecError::Lun { lun: LUN_MAX + 1 }));
}

#[test]
fn portals_are_checked() {
    let mut e = export();
    e.portals.clear();
    assert_eq!(e.validate(), Err(SpecError::NoPortal));
    let p: std::net::SocketAddr = "[fd00::1]:3260".parse().unwrap();
    e.portals = vec![p, p];
    assert_eq!(e.validate(), Err(SpecError::DuplicatePortal { portal: p }));
    let zero: std::net::SocketAddr = "10.0.0.1:0".parse().unwrap();
    e.portals = vec![zero];
    assert_eq!(e.validate(), Err(SpecError::PortalPort { portal: zero }));
}

#[test]
fn initiators_are_unique() {
    let mut e = export();
    let c1 = InitiatorName::parse("iqn.1994-05.com.redhat:c1").unwrap();
    e.access = Access::Initiators(vec![c1.clone(), c1]);
    assert_eq!(
        e.validate(),
        Err(SpecError::DuplicateInitiator {
            name: "iqn.1994-05.com.redhat:c1".into()
        })
    );
    e.access = Access::Initiators(Vec::new());
    assert_eq!(e.validate(), Ok(()));
}

#[test]
fn dev_config_rules() {
    assert!(DevConfig::parse("glfs/vol@h1,h2/x").is_err());
    assert!(DevConfig::parse("glfs/vol@host:24007/x").is_err());
    assert!(DevConfig::parse("glfs/vol@host/a b").is_err());
    assert!(DevConfig::parse("glfs").is_err());
    assert!(DevConfig::parse("/x").is_err());
    assert!(DevConfig::parse("glfs/").is_err());
    assert!(DevConfig::parse(&format!("glfs/{}", "x".repeat(251))).is_err());
    assert!(DevConfig::parse(&format!("glfs/{}", "x".repeat(250))).is_ok());
}

#[test]
fn chap_field_rules() {
    assert!(ChapUser::parse("").is_err());
    assert!(ChapUser::parse("a user").is_err());
    assert!(ChapUser::parse("NULLuser").is_err());
    assert!(ChapUser::parse(&"u".repeat(256)).is_err());
    assert!(ChapUser::parse(&"u".repeat(255)).is_ok());
    assert!(ChapSecret::parse("short").is_err());
    assert!(ChapSecret::parse("NULL-and-long-enough").is_err());
    assert!(ChapSecret::parse("twelve-chars").is_ok());
    let err = ChapSecret::parse("shortsecret").unwrap_err();
    assert_eq!(
        err,
        SpecError::Chap {
            what: "secret",
            why: "shorter than 12 characters"
        }
    );
}

#[test]
fn mutual_chap_needs_two_secrets() {
    let mut e = export();
    e.chap = Chap::Mutual {
        user: ChapUser::parse("ini").unwrap(),
        secret: secret("same-secret-1"),
        target_user: ChapUser::parse("tgt").unwrap(),
        target_secret: secret("same-secret-1"),
    };
    assert_eq!(e.validate(), Err(SpecError::SameChapSecret));
}

#[test]
fn secrets_never_show_in_debug() {
    let mut e = export();
    e.chap = Chap::Mutual {
        user: ChapUser::parse("ini").unwrap(),
        secret: secret("initiator-secret-1"),
        target_user: ChapUser::parse("tgt").unwrap(),
        target_secret: secret("target-secret-22"),
    };
    let text = format!("{e:?} {:#?}", e.chap);
    assert!(!text.contains("initiator-secret-1"), "{text}");
    assert!(!text.contains("target-secret-22"), "{text}");
    assert!(text.contains("<redacted>") && text.contains("ini"));
    let one_way = Chap::OneWay {
        user: ChapUser::parse("ini").unwrap(),
        secret: secret("one-way-secret"),
    };
    assert!(!format!("{one_way:?}").contains("one-way-secret"));
}

#[test]
fn chap_fields_as_lio_stores_them() {
    assert!(Chap::None.fields().iter().all(|(_, v)| *v == "NULL"));
    let one_way = Chap::OneWay {
        user: ChapUser::parse("ini").unwrap(),
        secret: secret("one-way-secret"),
    };
    assert_eq!(
        one_way.fields(),
        [
            ("userid", "ini"),
            ("password", "one-way-secret"),
            ("userid_mutual", "NULL"),
            ("password_mutual", "NULL"),
        ]
    );
    assert!(one_way.enabled() && !Chap::None.enabled());
}

#[test]
fn port_groups_need_several_gateways_and_this_one_among_them() {
    let with = |local, gateways| ExportLun {
        alua: Some(PortGroups { local, gateways }),
        ..export()
    };
    assert_eq!(with(1, 2).validate(), Ok(()));
    assert_eq!(with(GATEWAYS_MAX, GATEWAYS_MAX).validate(), Ok(()));
    for (local, gateways) in [(1, 1), (0, 2), (3, 2), (1, GATEWAYS_MAX + 1)] {
        assert_eq!(
            with(local, gateways).validate(),
            Err(SpecError::Gateways { local, gateways })
        );
    }
}
