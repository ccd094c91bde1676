//! Every accepted and refused form of every subtype, with the exact admin message.

use super::file::{FileFormat, check_on_disk};
use super::glfs::{GlfsFormat, parse_host};
use super::ram::RamFormat;
use super::*;
use crate::error_text::admin_message;
use std::net::Ipv4Addr;
use std::path::PathBuf;

fn err<T: std::fmt::Debug>(r: Result<T, CfgStringError>) -> String {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => admin_message(&e),
    }
}

fn file_cfg(path: &str) -> FileConfig {
    FileConfig {
        path: PathBuf::from(path),
        direct: None,
        write_cache: None,
        read_only: false,
        tcmur: TcmurOptions::default(),
    }
}

// ---- shared rules -------------------------------------------------------------------

#[test]
fn split_subtype_takes_the_first_slash() {
    assert_eq!(
        split_subtype("file//var/lib/x.img").unwrap(),
        ("file", "/var/lib/x.img")
    );
    assert_eq!(
        split_subtype("glfs/gv0@h/dir/img").unwrap(),
        ("glfs", "gv0@h/dir/img")
    );
    assert_eq!(split_subtype("ram/").unwrap(), ("ram", ""));
}

#[test]
fn split_subtype_refusals() {
    assert_eq!(
        err(split_subtype("file")),
        "expected \"<subtype>/<config>\", found no '/' in \"file\""
    );
    assert_eq!(
        err(split_subtype("/var/x")),
        "expected \"<subtype>/<config>\", found an empty subtype"
    );
}

#[test]
fn unknown_subtype() {
    assert_eq!(
        err(parse_dev_config("rbd/pool/img")),
        "unknown handler \"rbd\": this daemon serves file, glfs and ram"
    );
}

#[test]
fn subtype_table() {
    let names: Vec<_> = Subtype::ALL.iter().map(|s| s.name()).collect();
    assert_eq!(names, ["file", "glfs", "ram"]);
    for s in Subtype::ALL {
        assert_eq!(Subtype::from_name(s.name()).unwrap(), s);
        assert!(s.config_desc().contains("Example"), "{s:?}");
        assert!(s.config_desc().lines().all(|l| l.len() <= 80), "{s:?}");
    }
}

#[test]
fn length_limit_counts_the_subtype_prefix() {
    // "file/" is 5 bytes, so a 250-byte path is the longest accepted.
    let ok = format!("/{}", "a".repeat(249));
    assert!(Subtype::File.parse(&ok).is_ok());
    let long = format!("/{}", "a".repeat(250));
    assert_eq!(
        err(Subtype::File.parse(&long)),
        "config string is 256 bytes with its \"<subtype>/\" prefix; the kernel keeps at most 255"
    );
    assert!(parse_dev_config(&format!("file/{long}")).is_err());
}

#[test]
fn forbidden_characters() {
    let cases = [
        (
            "/a,b",
            "',' is not allowed in a config string: the kernel splits its control file on ','",
        ),
        (
            "/a:b",
            "':' is not allowed in a config string: rtslib refuses ':' in config strings",
        ),
        (
            "/a\nb",
            "'\\n' is not allowed in a config string: the kernel splits its control file on newlines",
        ),
        (
            "/a\tb",
            "'\\t' is not allowed in a config string: control characters cannot be typed in targetcli",
        ),
    ];
    for (cfg, msg) in cases {
        for s in Subtype::ALL {
            assert_eq!(err(s.parse(cfg)), msg, "{s:?} {cfg:?}");
        }
    }
}

#[test]
fn runner_time_out_before_or_after() {
    for cfg in [
        ";tcmur_cmd_time_out=30;/x.img",
        "/x.img;tcmur_cmd_time_out=30",
        "tcmur_cmd_time_out=30;/x.img;",
    ] {
        let c = FileFormat::parse(cfg).unwrap();
        assert_eq!(c.tcmur.cmd_time_out, Some(30), "{cfg}");
        assert_eq!(c.path, PathBuf::from("/x.img"));
    }
    assert_eq!(
        err(FileFormat::parse("/x;tcmur_cmd_time_out=abc")),
        "option tcmur_cmd_time_out=\"abc\": expected a whole number from 0 to 4294967295"
    );
    assert_eq!(
        err(FileFormat::parse("/x;tcmur_cmd_time_out=4294967296")),
        "option tcmur_cmd_time_out=\"4294967296\": expected a whole number from 0 to 4294967295"
    );
    assert_eq!(
        err(FileFormat::parse("/x;tcmur_cmd_time_out=-1")),
        "option tcmur_cmd_time_out=\"-1\": expected a whole number from 0 to 4294967295"
    );
    assert_eq!(
        err(FileFormat::parse("/x;tcmur_cmd_time_out=")),
        "option tcmur_cmd_time_out=\"\": expected a whole number from 0 to 4294967295"
    );
    assert_eq!(
        err(FileFormat::parse(
            "/x;tcmur_cmd_time_out=1;tcmur_cmd_time_out=2"
        )),
        "option \"tcmur_cmd_time_out\" is given twice"
    );
    let via_enum = parse_dev_config("ram/tcmur_cmd_time_out=0").unwrap();
    assert_eq!(via_enum.tcmur_options().cmd_time_out, Some(0));
}

// ---- file ---------------------------------------------------------------------------

#[test]
fn file_accepts() {
    assert_eq!(
        FileFormat::parse("/var/lib/x.img").unwrap(),
        file_cfg("/var/lib/x.img")
    );
    let c = FileFormat::parse("/v/x.img;direct=0;wce=1;ro=1").unwrap();
    assert_eq!(
        (c.direct, c.write_cache, c.read_only),
        (Some(false), Some(true), true)
    );
    let c = FileFormat::parse("/v/x.img;ro=0;direct=1;").unwrap();
    assert_eq!(
        (c.direct, c.write_cache, c.read_only),
        (Some(true), None, false)
    );
    // "." components and doubled slashes are harmless and kept as written.
    assert!(FileFormat::parse("/v/./x.img").is_ok());
    assert!(FileFormat::parse("//v//x.img").is_ok());
    assert!(FileFormat::parse("/v/x=1.img").is_ok());
    let full = parse_dev_config("file//var/lib/x.img").unwrap();
    assert_eq!(full, SubtypeConfig::File(file_cfg("/var/lib/x.img")));
    assert_eq!(full.subtype(), Subtype::File);
}

#[test]
fn file_refuses() {
    let cases = [
        (
            "",
            "missing the backing file path, e.g. /var/lib/gluster-tcmu/lun0.img",
        ),
        (
            ";;",
            "missing the backing file path, e.g. /var/lib/gluster-tcmu/lun0.img",
        ),
        (
            "var/x.img",
            "backing file path \"var/x.img\" is not absolute; it must start with '/'",
        ),
        (
            "direct=1;/x.img",
            "backing file path \"direct=1\" is not absolute; it must start with '/'",
        ),
        (
            "/var/../etc/x",
            "path \"/var/../etc/x\" contains a '..' component; write the path without it",
        ),
        (
            "/var/lib/..",
            "path \"/var/lib/..\" contains a '..' component; write the path without it",
        ),
        ("/", "path \"/\" names a directory; give the path of a file"),
        (
            "/var/lib/",
            "path \"/var/lib/\" names a directory; give the path of a file",
        ),
        (
            "/var/lib/.",
            "path \"/var/lib/.\" names a directory; give the path of a file",
        ),
        (
            "/x;direct",
            "option \"direct\" is not of the form key=value",
        ),
        ("/x;direct=yes", "option direct=\"yes\": expected 0 or 1"),
        ("/x;wce=2", "option wce=\"2\": expected 0 or 1"),
        ("/x;ro=", "option ro=\"\": expected 0 or 1"),
        ("/x;ro=1;ro=0", "option \"ro\" is given twice"),
        ("/x;direct=1;direct=1", "option \"direct\" is given twice"),
        ("/x;wce=1;wce=1", "option \"wce\" is given twice"),
        (
            "/x;size=1G",
            "unknown option \"size\" for file; known options: direct, wce, ro",
        ),
        ("/x;/y", "option \"/y\" is not of the form key=value"),
    ];
    for (cfg, msg) in cases {
        assert_eq!(err(Subtype::File.parse(cfg)), msg, "{cfg:?}");
    }
}

#[test]
fn file_on_disk_accepts_existing_and_creatable() {
    let dir = tempdir();
    let existing = dir.join("lun.img");
    std::fs::write(&existing, b"").unwrap();
    check_on_disk(&file_cfg(existing.to_str().unwrap())).unwrap();
    let mut ro = file_cfg(existing.to_str().unwrap());
    ro.read_only = true;
    check_on_disk(&ro).unwrap();
    check_on_disk(&file_cfg(dir.join("new.img").to_str().unwrap())).unwrap();
    cleanup(&dir);
}

#[test]
fn file_on_disk_refusals() {
    let dir = tempdir();
    let d = dir.display();
    let plain = dir.join("plain");
    std::fs::write(&plain, b"").unwrap();
    let cases = [
        (
            format!("{d}"),
            format!("{d} is a directory; give the path of a file"),
        ),
        (
            "/dev/null".to_owned(),
            "/dev/null exists but is not a regular file".to_owned(),
        ),
        (
            format!("{d}/missing/x.img"),
            format!(
                "{d}/missing/x.img does not exist and cannot be created: directory {d}/missing does not exist"
            ),
        ),
        (
            format!("{d}/plain/x.img"),
            format!("{d}/plain/x.img cannot be created: {d}/plain is not a directory"),
        ),
    ];
    for (path, msg) in cases {
        assert_eq!(err(check_on_disk(&file_cfg(&path))), msg);
    }
    let mut ro = file_cfg(&format!("{d}/absent.img"));
    ro.read_only = true;
    assert_eq!(
        err(check_on_disk(&ro)),
        format!("{d}/absent.img does not exist; a read-only LUN (ro=1) needs an existing file")
    );
    cleanup(&dir);
}

#[test]
fn file_on_disk_permissions() {
    if rustix::process::geteuid().is_root() {
        // root passes access(2) on any local directory; nothing to observe.
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir();
    let locked = dir.join("locked");
    std::fs::create_dir(&locked).unwrap();
    let file = dir.join("ro.img");
    std::fs::write(&file, b"").unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o500)).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o400)).unwrap();
    let l = locked.display();
    assert_eq!(
        err(check_on_disk(&file_cfg(&format!("{l}/x.img")))),
        format!("{l}/x.img does not exist and cannot be created: directory {l} is not writable")
    );
    assert_eq!(
        err(check_on_disk(&file_cfg(file.to_str().unwrap()))),
        format!(
            "{} is not writable; fix its permissions or add ;ro=1",
            file.display()
        )
    );
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
    cleanup(&dir);
}

fn tempdir() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("gt-handler-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn cleanup(dir: &std::path::Path) {
    let _ = std::fs::remove_dir_all(dir);
}

// ---- ram ----------------------------------------------------------------------------

#[test]
fn ram_accepts() {
    assert_eq!(RamFormat::parse("").unwrap(), RamConfig::default());
    assert_eq!(RamFormat::parse(";").unwrap(), RamConfig::default());
    assert_eq!(RamFormat::parse("wce=1").unwrap().write_cache, Some(true));
    assert_eq!(RamFormat::parse("wce=0;").unwrap().write_cache, Some(false));
    let c = RamFormat::parse("tcmur_cmd_time_out=5;wce=1").unwrap();
    assert_eq!((c.write_cache, c.tcmur.cmd_time_out), (Some(true), Some(5)));
    assert_eq!(
        parse_dev_config("ram/").unwrap(),
        SubtypeConfig::Ram(RamConfig::default())
    );
}

#[test]
fn ram_refuses() {
    let cases = [
        ("wce", "option \"wce\" is not of the form key=value"),
        ("wce=on", "option wce=\"on\": expected 0 or 1"),
        ("wce=1;wce=1", "option \"wce\" is given twice"),
        (
            "size=1G",
            "unknown option \"size\" for ram; known options: wce",
        ),
        ("/x.img", "option \"/x.img\" is not of the form key=value"),
    ];
    for (cfg, msg) in cases {
        assert_eq!(err(Subtype::Ram.parse(cfg)), msg, "{cfg:?}");
    }
}

// ---- glfs ---------------------------------------------------------------------------

fn dns(name: &str) -> Host {
    Host::Dns(name.to_owned())
}

#[test]
fn glfs_tcmu_runner_form() {
    let c = GlfsFormat::parse("gv0@gluster1/block-store/lun0").unwrap();
    assert_eq!(
        c,
        GlfsConfig {
            volume: "gv0".into(),
            servers: vec![dns("gluster1")],
            path: "block-store/lun0".into(),
            write_cache: None,
            tcmur: TcmurOptions::default(),
        }
    );
    let c = parse_dev_config("glfs/my_vol-2@10.0.0.1/img").unwrap();
    let SubtypeConfig::Glfs(c) = c else {
        panic!("not glfs")
    };
    assert_eq!(c.servers, [Host::Ipv4(Ipv4Addr::new(10, 0, 0, 1))]);
    assert_eq!((c.volume.as_str(), c.path.as_str()), ("my_vol-2", "img"));
}

#[test]
fn glfs_write_cache_option() {
    let c = GlfsFormat::parse("gv0@h/p.img;wce=0").unwrap();
    assert_eq!((c.path.as_str(), c.write_cache), ("p.img", Some(false)));
    let c = GlfsFormat::parse("gv0@h/p.img;tcmur_cmd_time_out=9;wce=1").unwrap();
    assert_eq!((c.write_cache, c.tcmur.cmd_time_out), (Some(true), Some(9)));
    assert_eq!(GlfsFormat::parse("gv0@h/p.img").unwrap().write_cache, None);
    for (bad, why) in [
        ("gv0@h/p;wce=on", "option wce=\"on\": expected 0 or 1"),
        ("gv0@h/p;wce=1;wce=0", "option \"wce\" is given twice"),
    ] {
        assert_eq!(
            GlfsFormat::parse(bad).unwrap_err().to_string(),
            why,
            "{bad}"
        );
    }
}

#[test]
fn glfs_several_servers_and_runner_option() {
    let c =
        GlfsFormat::parse("gv0@a.example.com+10.0.0.2+b./d/f.img;tcmur_cmd_time_out=7").unwrap();
    assert_eq!(
        c.servers,
        [
            dns("a.example.com"),
            Host::Ipv4(Ipv4Addr::new(10, 0, 0, 2)),
            dns("b.")
        ]
    );
    assert_eq!(c.path, "d/f.img");
    assert_eq!(c.tcmur.cmd_time_out, Some(7));
    // gluster-block's form: the option after the path.
    let c = GlfsFormat::parse("bv@10.1.1.1/block-store/1c2;tcmur_cmd_time_out=42").unwrap();
    assert_eq!(c.tcmur.cmd_time_out, Some(42));
    let c = GlfsFormat::parse(";tcmur_cmd_time_out=42;bv@h/p").unwrap();
    assert_eq!(c.tcmur.cmd_time_out, Some(42));
    assert_eq!(
        c.servers.iter().map(Host::to_string).collect::<Vec<_>>(),
        ["h"]
    );
}

#[test]
fn glfs_refuses() {
    let cases = [
        (
            "",
            "expected volume@server/path, found no '@' after the volume name",
        ),
        (
            "gv0",
            "expected volume@server/path, found no '@' after the volume name",
        ),
        (
            "gv0/h/p",
            "expected volume@server/path, found no '@' after the volume name",
        ),
        (
            "@h/p",
            "missing the volume name before '@', as in volume@server/path",
        ),
        (
            "g.v@h/p",
            "volume name \"g.v\" may contain only letters, digits, '-' and '_'",
        ),
        (
            "gv0@h",
            "missing the path inside the volume after the server, as in volume@server/path",
        ),
        (
            "gv0@h/",
            "missing the path inside the volume after the server, as in volume@server/path",
        ),
        (
            "gv0@h//abs",
            "path inside the volume \"/abs\" must be relative to the volume root; write volume@server/dir/file without a second '/'",
        ),
        (
            "gv0@h/a/../b",
            "path \"a/../b\" contains a '..' component; write the path without it",
        ),
        (
            "gv0@h/dir/",
            "path \"dir/\" names a directory; give the path of a file",
        ),
        (
            "gv0@h/.",
            "path \".\" names a directory; give the path of a file",
        ),
        (
            "gv0@h/d/.",
            "path \"d/.\" names a directory; give the path of a file",
        ),
        (
            "gv0@/p",
            "empty server name in \"\"; separate several servers with '+', as in vol@h1+h2/path",
        ),
        (
            "gv0@a++b/p",
            "empty server name in \"a++b\"; separate several servers with '+', as in vol@h1+h2/path",
        ),
        (
            "gv0@a+/p",
            "empty server name in \"a+\"; separate several servers with '+', as in vol@h1+h2/path",
        ),
        ("gv0@a+b+a/p", "server \"a\" is listed twice"),
        (
            "gv0@1.2.3.4+1.2.3.4/p",
            "server \"1.2.3.4\" is listed twice",
        ),
        (
            "gv0@h/p;x=1",
            "unknown option \"x\" for glfs; known options: wce, tcmur_cmd_time_out",
        ),
        (
            "gv0@h/p;junk",
            "option \"junk\" is not of the form key=value",
        ),
        (
            "gv0@[fe80--1]/p",
            "server \"[fe80--1]\" is not a valid host: IPv6 addresses need ':', which config strings cannot contain; use a DNS name",
        ),
        (
            "gv0@h@x/p",
            "server \"h@x\" is not a valid host: a host name may contain only letters, digits, '-' and '.'",
        ),
    ];
    for (cfg, msg) in cases {
        assert_eq!(err(Subtype::Glfs.parse(cfg)), msg, "{cfg:?}");
    }
    // ':' is stopped by the shared rules before the host parser sees it.
    assert_eq!(
        err(Subtype::Glfs.parse("gv0@fe80::1/p")),
        "':' is not allowed in a config string: rtslib refuses ':' in config strings"
    );
}

#[test]
fn host_rules() {
    assert_eq!(parse_host("gluster-1").unwrap(), dns("gluster-1"));
    assert_eq!(parse_host("G1.Example.COM").unwrap(), dns("G1.Example.COM"));
    assert_eq!(parse_host("1host").unwrap(), dns("1host"));
    assert_eq!(parse_host("a.b.c.").unwrap(), dns("a.b.c."));
    assert_eq!(
        parse_host("192.168.0.1").unwrap(),
        Host::Ipv4(Ipv4Addr::new(192, 168, 0, 1))
    );
    let long_label = "a".repeat(64);
    let long_name = vec!["a".repeat(63); 4].join(".");
    let cases = [
        ("10.0.0.256", "not a valid IPv4 address"),
        ("1.2.3", "not a valid IPv4 address"),
        ("01.2.3.4", "not a valid IPv4 address"),
        ("1..2", "not a valid IPv4 address"),
        ("a..b", "empty label between dots"),
        (".a", "empty label between dots"),
        (
            long_label.as_str(),
            "a label between dots is at most 63 characters",
        ),
        (long_name.as_str(), "a host name is at most 253 characters"),
        ("-a.b", "a label may not start or end with '-'"),
        ("a-.b", "a label may not start or end with '-'"),
        (
            "a_b",
            "a host name may contain only letters, digits, '-' and '.'",
        ),
        (
            "h\u{e9}te",
            "a host name may contain only letters, digits, '-' and '.'",
        ),
    ];
    for (host, why) in cases {
        assert_eq!(
            err(parse_host(host)),
            format!("server {host:?} is not a valid host: {why}")
        );
    }
}

#[test]
fn admin_message_joins_sources() {
    let e = CfgStringError::Inspect {
        path: PathBuf::from("/x"),
        source: std::io::Error::from_raw_os_error(libc::EACCES),
    };
    assert_eq!(
        admin_message(&e),
        "cannot inspect /x: Permission denied (os error 13)"
    );
}
