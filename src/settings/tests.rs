use super::*;

fn toml(text: &str) -> Layer {
    parse_toml(Path::new("test.toml"), text).unwrap()
}

fn toml_err(text: &str) -> String {
    match parse_toml(Path::new("test.toml"), text) {
        Ok(layer) => panic!("accepted: {layer:?}"),
        Err(e) => crate::error_text::admin_message(&e),
    }
}

#[test]
fn defaults() {
    let c = Settings::default();
    assert_eq!(c.log.level, LogLevel::Info);
    assert_eq!(c.log.target, LogTarget::Auto);
    assert_eq!(c.log.dir, PathBuf::from("/var/log/gluster-tcmu"));
    assert_eq!(c.metrics.listen, None);
    assert_eq!(c.reactor.threads, None);
    assert!(c.file.direct_io);
    assert_eq!(c.file.write_cache, WriteCache::On);
    assert_eq!(c.glfs.write_cache, WriteCache::On);
    assert_eq!(c.glfs.client_io_threads, ClientIoThreads::Use);
    assert_eq!(c.ram.max_size, Size(16 << 30));
    assert_eq!(c.glfs.connect_timeout, Duration::from_secs(10));
    assert_eq!(c.glfs.log_dir, PathBuf::from("/var/log/gluster-tcmu"));
    assert_eq!(c.glfs.cmd_time_out_secs, 130);
    assert_eq!(
        Settings::merge(&Layer::default(), &toml(""), &Layer::default()),
        c
    );
}

#[test]
fn reactor_threads_follow_cpus_capped() {
    let auto = ReactorSettings::default();
    assert_eq!(auto.effective_threads(0), 1);
    assert_eq!(auto.effective_threads(2), 2);
    assert_eq!(auto.effective_threads(64), MAX_DEFAULT_REACTOR_THREADS);
    let fixed = ReactorSettings {
        threads: NonZeroUsize::new(12),
        ..ReactorSettings::default()
    };
    assert_eq!(fixed.effective_threads(2), 12);
}

#[test]
fn full_file() {
    let layer = toml(
        r#"
        [log]
        level = "debug"
        target = "journald"
        dir = "/srv/log"
        [metrics]
        listen = "127.0.0.1:9464"
        [reactor]
        threads = 3
        busy_poll_us = 50
        gather_us = 0
        [file]
        direct_io = false
        write_cache = "attribute"
        [ram]
        max_size = "2G"
        [glfs]
        connect_timeout_secs = 30
        log_dir = "/srv/log/glfs"
        cmd_time_out_secs = 0
        write_cache = "off"
        client_io_threads = "bypass"
        "#,
    );
    let c = Settings::merge(&Layer::default(), &layer, &Layer::default());
    assert_eq!(c.log.level, LogLevel::Debug);
    assert_eq!(c.log.target, LogTarget::Journald);
    assert_eq!(c.log.dir, PathBuf::from("/srv/log"));
    assert_eq!(c.metrics.listen, Some("127.0.0.1:9464".parse().unwrap()));
    assert_eq!(c.reactor.effective_threads(64), 3);
    assert_eq!(c.reactor.busy_poll, Duration::from_micros(50));
    assert_eq!(c.reactor.gather, Duration::ZERO);
    assert!(!c.file.direct_io);
    assert_eq!(c.file.write_cache, WriteCache::Attribute);
    assert_eq!(c.glfs.write_cache, WriteCache::Off);
    assert_eq!(c.glfs.client_io_threads, ClientIoThreads::Bypass);
    assert_eq!(c.ram.max_size, Size(2 << 30));
    assert_eq!(c.glfs.connect_timeout, Duration::from_secs(30));
    assert_eq!(c.glfs.log_dir, PathBuf::from("/srv/log/glfs"));
    assert_eq!(c.glfs.cmd_time_out_secs, 0, "0 leaves LUNs alone");
}

#[test]
fn unknown_keys_are_named() {
    for (text, key) in [
        ("bogus = 1", "bogus"),
        ("[log]\nlevle = \"info\"", "levle"),
        ("[glfs]\nconnect_timeout = 5", "connect_timeout"),
        ("[scsi]\nx = 1", "scsi"),
    ] {
        let msg = toml_err(text);
        assert!(
            msg.starts_with("invalid configuration file test.toml: "),
            "{msg}"
        );
        assert!(msg.contains(&format!("unknown field `{key}`")), "{msg}");
    }
}

#[test]
fn bad_values_are_refused() {
    for (text, needle) in [
        ("[log]\nlevel = \"loud\"", "unknown variant `loud`"),
        ("[log]\nlevel = 3", "wanted string"),
        ("[log]\ntarget = \"syslog\"", "unknown variant `syslog`"),
        ("[reactor]\nthreads = 0", "nonzero"),
        (
            "[reactor]\nbusy_poll_us = 10001",
            "busy_poll_us 10001 is above 10000",
        ),
        (
            "[reactor]\ngather_us = 1001",
            "gather_us 1001 is above 1000",
        ),
        ("[glfs]\nconnect_timeout_secs = 0", "nonzero"),
        (
            "[metrics]\nlisten = \"localhost\"",
            "invalid socket address",
        ),
        (
            "[ram]\nmax_size = \"lots\"",
            "\"lots\" is not a size like 4096, 512M or 16G",
        ),
        ("[ram]\nmax_size = -1", "size -1 is negative"),
        ("[file]\ndirect_io = 1", "invalid type"),
        (
            "[file]\nwrite_cache = \"back\"",
            "write_cache \"back\" is not one of \"on\", \"off\", \"attribute\"",
        ),
        ("[glfs]\nwrite_cache = 1", "write_cache"),
        (
            "[glfs]\nclient_io_threads = \"off\"",
            "unknown variant `off`, expected `use` or `bypass`",
        ),
        ("[log", "invalid"),
    ] {
        let msg = toml_err(text);
        assert!(msg.contains(needle), "{text:?}: {msg}");
    }
}

#[test]
fn sizes() {
    let ok = [
        ("4096", 4096),
        ("0", 0),
        ("1k", 1 << 10),
        ("512M", 512 << 20),
        ("16G", 16 << 30),
        ("16GiB", 16 << 30),
        ("16gb", 16 << 30),
        ("2T", 2 << 40),
        ("7B", 7),
    ];
    for (text, bytes) in ok {
        assert_eq!(text.parse::<Size>(), Ok(Size(bytes)), "{text}");
    }
    for text in ["", "G", "1.5G", "-1", "1P", "99999999999T", "1 G x"] {
        assert!(text.parse::<Size>().is_err(), "{text}");
    }
    assert_eq!(
        toml("[ram]\nmax_size = 1024").ram.max_size,
        Some(Size(1024))
    );
}

#[test]
fn tcmu_conf_keys() {
    let conf = parse_tcmu_conf(
        "# Master TCMU configuration file\n\
         log_level = 4\n\
         #log_level = 1\n\
         log_dir = \"/var/log/tcmu\"   # trailing comment\n",
    );
    assert!(conf.warnings.is_empty(), "{:?}", conf.warnings);
    assert_eq!(conf.layer.log.level, Some(LogLevel::Debug));
    assert_eq!(conf.layer.log.dir, Some(PathBuf::from("/var/log/tcmu")));
    assert_eq!(
        conf.layer.glfs.log_dir,
        Some(PathBuf::from("/var/log/tcmu"))
    );
    assert_eq!(
        parse_tcmu_conf("log_dir=/x").layer.log.dir,
        Some("/x".into())
    );
}

#[test]
fn tcmu_conf_levels() {
    let expect = [
        LogLevel::Error,
        LogLevel::Error,
        LogLevel::Warn,
        LogLevel::Info,
        LogLevel::Debug,
        LogLevel::Trace,
    ];
    for (n, level) in expect.into_iter().enumerate() {
        let conf = parse_tcmu_conf(&format!("log_level = {n}"));
        assert_eq!(conf.layer.log.level, Some(level), "{n}");
    }
}

#[test]
fn tcmu_conf_oddities_are_warnings() {
    let conf = parse_tcmu_conf("log_level = 9\nmax_data_area_mb = 8\njunk\n\nlog_level = 2");
    assert_eq!(
        conf.warnings,
        [
            "tcmu.conf line 1: log_level \"9\" is not a number from 0 to 5; ignored",
            "tcmu.conf line 2: key \"max_data_area_mb\" has no gluster-tcmu equivalent; ignored",
            "tcmu.conf line 3: \"junk\" is not key = value; ignored",
        ]
    );
    assert_eq!(conf.layer.log.level, Some(LogLevel::Warn));
}

#[test]
fn precedence() {
    let tcmu = parse_tcmu_conf("log_level = 5\nlog_dir = /tcmu").layer;
    let ours = toml("[log]\nlevel = \"warn\"\n[glfs]\nlog_dir = \"/ours\"");
    let mut cli = Layer::default();
    cli.log.level = Some(LogLevel::Error);
    // defaults < tcmu.conf
    let c = Settings::merge(&tcmu, &Layer::default(), &Layer::default());
    assert_eq!(c.log.level, LogLevel::Trace);
    assert_eq!(c.log.dir, PathBuf::from("/tcmu"));
    // tcmu.conf < our file, key by key
    let c = Settings::merge(&tcmu, &ours, &Layer::default());
    assert_eq!(c.log.level, LogLevel::Warn);
    assert_eq!(c.log.dir, PathBuf::from("/tcmu"));
    assert_eq!(c.glfs.log_dir, PathBuf::from("/ours"));
    // our file < command line
    let c = Settings::merge(&tcmu, &ours, &cli);
    assert_eq!(c.log.level, LogLevel::Error);
    assert_eq!(c.glfs.log_dir, PathBuf::from("/ours"));
}

#[test]
fn load_reads_files_and_tolerates_missing_ones() {
    let dir = std::env::temp_dir().join(format!("gt-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sources = Sources {
        ours: dir.join("gluster-tcmu.toml"),
        ours_required: false,
        tcmu_conf: dir.join("tcmu.conf"),
    };
    let loaded = load(&sources, &Layer::default()).unwrap();
    assert_eq!(loaded.settings, Settings::default());

    std::fs::write(&sources.tcmu_conf, "log_level = 0\nfoo = 1\n").unwrap();
    std::fs::write(&sources.ours, "[reactor]\nthreads = 2\n").unwrap();
    let loaded = load(&sources, &Layer::default()).unwrap();
    assert_eq!(loaded.settings.log.level, LogLevel::Error);
    assert_eq!(loaded.settings.reactor.effective_threads(64), 2);
    assert_eq!(loaded.warnings.len(), 1);

    std::fs::write(&sources.ours, "[reactor]\nthread = 2\n").unwrap();
    let err = load(&sources, &Layer::default()).unwrap_err();
    assert!(crate::error_text::admin_message(&err).contains("unknown field `thread`"));

    let required = Sources {
        ours: dir.join("absent.toml"),
        ours_required: true,
        ..sources
    };
    let err = load(&required, &Layer::default()).unwrap_err();
    assert!(matches!(err, SettingsError::Read { .. }), "{err:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn no_exports_section_no_gateway() {
    assert_eq!(Settings::default().exports, None);
    let c = Settings::merge(
        &Layer::default(),
        &toml("[log]\nlevel = \"info\""),
        &Layer::default(),
    );
    assert_eq!(c.exports, None);
}

#[test]
fn exports_defaults() {
    let layer = toml("[exports]\nportal = \"10.0.0.1\"\nvolumes = [\"gv0@gl1+gl2\"]");
    let c = Settings::merge(&Layer::default(), &layer, &Layer::default());
    let e = c.exports.unwrap();
    assert_eq!(e.portal, "10.0.0.1:3260".parse().unwrap());
    assert_eq!(e.volumes.len(), 1);
    assert_eq!(e.volumes[0].volume, "gv0");
    assert_eq!(e.volumes[0].servers, ["gl1", "gl2"]);
    assert_eq!(e.poll, Duration::from_secs(3));
    assert_eq!(e.state_dir, PathBuf::from("/var/lib/gluster-tcmu"));
    assert_eq!(e.configfs, PathBuf::from("/sys/kernel/config/target"));
}

#[test]
fn exports_full_section() {
    let layer = toml(
        r#"
        [exports]
        portal = "[fd00::1]:3261"
        volumes = ["gv0@gl1", "gv1@gl3+gl4"]
        poll_secs = 300
        state_dir = "/srv/state"
        configfs = "/tmp/target"
        "#,
    );
    let e = Settings::merge(&Layer::default(), &layer, &Layer::default())
        .exports
        .unwrap();
    assert_eq!(e.portal, "[fd00::1]:3261".parse().unwrap());
    let names: Vec<String> = e.volumes.iter().map(ToString::to_string).collect();
    assert_eq!(names, ["gv0@gl1", "gv1@gl3+gl4"]);
    assert_eq!(e.poll, Duration::from_secs(300));
    assert_eq!(e.state_dir, PathBuf::from("/srv/state"));
    assert_eq!(e.configfs, PathBuf::from("/tmp/target"));
}

#[test]
fn portals_as_admins_write_them() {
    for (text, addr) in [
        ("10.0.0.1", "10.0.0.1:3260"),
        ("10.0.0.1:3261", "10.0.0.1:3261"),
        ("fd00::1", "[fd00::1]:3260"),
        ("[fd00::1]", "[fd00::1]:3260"),
        ("[fd00::1]:3261", "[fd00::1]:3261"),
    ] {
        assert_eq!(parse_portal(text), Ok(addr.parse().unwrap()), "{text}");
    }
}

#[test]
fn bad_exports_settings_are_refused_precisely() {
    let section = |body: &str| format!("[exports]\n{body}");
    let base = "portal = \"10.0.0.1\"\nvolumes = [\"gv0@gl1\"]";
    for (body, needle) in [
        (
            format!("{base}\nbogus = 1"),
            "unknown field `bogus`".to_owned(),
        ),
        (
            "volumes = [\"gv0@gl1\"]".into(),
            "missing field `portal`".into(),
        ),
        (
            "portal = \"10.0.0.1\"".into(),
            "missing field `volumes`".into(),
        ),
        (
            "portal = \"gw1\"\nvolumes = [\"gv0@gl1\"]".into(),
            "portal \"gw1\" is not IP[:PORT] (IPv6 as [ADDRESS]:PORT)".into(),
        ),
        (
            "portal = \"fd00::1:3260:x\"\nvolumes = [\"gv0@gl1\"]".into(),
            "is not IP[:PORT]".into(),
        ),
        (
            "portal = \"0.0.0.0\"\nvolumes = [\"gv0@gl1\"]".into(),
            "portal \"0.0.0.0\" is the unspecified address".into(),
        ),
        (
            "portal = \"10.0.0.1:0\"\nvolumes = [\"gv0@gl1\"]".into(),
            "portal \"10.0.0.1:0\" has port 0".into(),
        ),
        (
            "portal = \"10.0.0.1\"\nvolumes = []".into(),
            "volumes is empty: name at least one VOLUME@SERVER[+SERVER...]".into(),
        ),
        (
            "portal = \"10.0.0.1\"\nvolumes = [\"gv0@gl1\", \"gv1\"]".into(),
            "volumes entry 2 of 2: \"gv1\" is not VOLUME@SERVER[+SERVER...]".into(),
        ),
        (
            "portal = \"10.0.0.1\"\nvolumes = [\"gv0@gl1/disk1\"]".into(),
            "volumes entry 1 of 1: \"gv0@gl1/disk1\" is not VOLUME@SERVER".into(),
        ),
        (
            "portal = \"10.0.0.1\"\nvolumes = [\"gv0@gl1\", \"gv0@gl2\"]".into(),
            "volume gv0 is listed twice (gv0@gl1 and gv0@gl2)".into(),
        ),
        (
            format!("{base}\npoll_secs = 0"),
            "poll_secs 0 is not in 1..=300".into(),
        ),
        (
            format!("{base}\npoll_secs = 301"),
            "poll_secs 301 is not in 1..=300".into(),
        ),
        (format!("{base}\nstate_dir = 1"), "invalid type".into()),
    ] {
        let msg = toml_err(&section(&body));
        assert!(msg.contains(&needle), "{body:?}: {msg}");
    }
}

#[test]
fn write_cache_policy_and_the_attribute() {
    for (policy, attribute, wce) in [
        (WriteCache::On, false, true),
        (WriteCache::On, true, true),
        (WriteCache::Off, true, false),
        (WriteCache::Attribute, false, false),
        (WriteCache::Attribute, true, true),
    ] {
        let written = toml(&format!("[glfs]\nwrite_cache = \"{}\"", policy.word()));
        assert_eq!(written.glfs.write_cache, Some(policy));
        assert_eq!(
            policy.reports_cache(attribute),
            wce,
            "{policy:?} {attribute}"
        );
    }
}

#[test]
fn write_cache_takes_true_and_false_for_on_and_off() {
    assert_eq!(
        toml("[file]\nwrite_cache = true").file.write_cache,
        Some(WriteCache::On)
    );
    assert_eq!(
        toml("[file]\nwrite_cache = false").file.write_cache,
        Some(WriteCache::Off)
    );
}
