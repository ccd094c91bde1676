use super::*;
use std::fs;

const INFO_6_1: &str = "Status: ACTIVATED  Max Queue Depth: 128  SectorSize: 512  HwMaxSectors: 128\n        \
    Config: glfs/vol@host/file Size: 1073741824 MaxDataAreaMB: 1024 DataPagesPerBlk: 1 CmdRingSizeMB: 8\n";

#[test]
fn info_of_current_kernels() {
    let info = parse_info(INFO_6_1).unwrap();
    assert_eq!(
        info,
        DeviceInfo {
            config: Some("glfs/vol@host/file".into()),
            size: 1 << 30
        }
    );
}

#[test]
fn info_of_older_kernels_and_odd_configs() {
    let old = "Status: DEACTIVATED  Max Queue Depth: 0  SectorSize: 512  HwMaxSectors: 128\n        \
               Config: NULL Size: 0 MaxDataAreaMB: 1024\n";
    assert_eq!(
        parse_info(old).unwrap(),
        DeviceInfo {
            config: None,
            size: 0
        }
    );
    let spaced = "Config: ram/a Size: b Size: 4096\n";
    assert_eq!(
        parse_info(spaced).unwrap().config.as_deref(),
        Some("ram/a Size: b")
    );
    assert_eq!(parse_info("Config: file/x Size: 7").unwrap().size, 7);
}

#[test]
fn info_errors() {
    assert_eq!(
        parse_info("Status: ACTIVATED SectorSize: 512"),
        Err(ParseError::NoConfig)
    );
    assert_eq!(parse_info("Config: glfs/x"), Err(ParseError::NoSize));
    let bad = parse_info("Config: glfs/x Size: big MaxDataAreaMB: 8");
    assert_eq!(bad, Err(ParseError::NotDecimal { text: "big".into() }));
    let empty = parse_info("Config: glfs/x Size: ");
    assert_eq!(empty, Err(ParseError::NotDecimal { text: "".into() }));
}

#[test]
fn decimals() {
    assert_eq!(parse_decimal::<u32>("512\n"), Ok(512));
    assert_eq!(parse_decimal::<u32>(" 0 "), Ok(0));
    for bad in ["", "-1", "+1", "0x10", "1 2", "4294967296"] {
        let err = parse_decimal::<u32>(bad);
        assert_eq!(
            err,
            Err(ParseError::NotDecimal { text: bad.into() }),
            "{bad:?}"
        );
    }
}

/// A fake configfs with `user_1/lun0` and its attribute and action files.
fn fake_configfs() -> (tempfile::TempDir, ConfigfsDevice) {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("target/core/user_1/lun0");
    fs::create_dir_all(dir.join("attrib")).unwrap();
    fs::create_dir_all(dir.join("action")).unwrap();
    fs::write(dir.join("info"), INFO_6_1).unwrap();
    for (file, value) in [
        ("attrib/hw_block_size", "4096\n"),
        ("attrib/hw_max_sectors", "1024\n"),
        ("attrib/emulate_write_cache", "1\n"),
        ("attrib/max_data_area_mb", "1024\n"),
        ("attrib/cmd_time_out", "30\n"),
        ("action/block_dev", ""),
        ("action/reset_ring", ""),
    ] {
        fs::write(dir.join(file), value).unwrap();
    }
    let name = UioName::parse("tcm-user/1/lun0/glfs/vol@host/file").unwrap();
    let dev = ConfigfsDevice::locate(root.path(), &name).unwrap();
    (root, dev)
}

#[test]
fn readers() {
    let (_root, dev) = fake_configfs();
    assert!(dev.dir().ends_with("target/core/user_1/lun0"));
    assert_eq!(dev.info().unwrap().size, 1 << 30);
    assert_eq!(dev.hw_block_size().unwrap(), 4096);
    assert_eq!(dev.hw_max_sectors().unwrap(), 1024);
    assert!(dev.emulate_write_cache().unwrap());
    assert_eq!(dev.max_data_area_mb().unwrap(), 1024);
    assert_eq!(dev.cmd_time_out().unwrap(), 30);
}

#[test]
fn writers() {
    let (_root, dev) = fake_configfs();
    let read = |f: &str| fs::read_to_string(dev.dir().join(f)).unwrap();
    dev.block_dev(true).unwrap();
    assert_eq!(read("action/block_dev"), "1");
    dev.block_dev(false).unwrap();
    assert_eq!(read("action/block_dev"), "0");
    dev.reset_ring(ResetMode::Busy).unwrap();
    assert_eq!(read("action/reset_ring"), "1");
    dev.reset_ring(ResetMode::CheckCondition).unwrap();
    assert_eq!(read("action/reset_ring"), "2");
    dev.set_cmd_time_out(130).unwrap();
    assert_eq!(dev.cmd_time_out().unwrap(), 130);
}

#[test]
fn errors_name_the_file() {
    let (_root, dev) = fake_configfs();
    fs::write(dev.dir().join("attrib/hw_block_size"), "lots\n").unwrap();
    let err = dev.hw_block_size().unwrap_err();
    assert!(
        matches!(&err, ConfigfsError::Parse { path, .. } if path.ends_with("attrib/hw_block_size"))
    );
    fs::remove_file(dev.dir().join("attrib/cmd_time_out")).unwrap();
    let err = dev.cmd_time_out().unwrap_err();
    assert!(err.to_string().contains("attrib/cmd_time_out"), "{err}");
    fs::remove_file(dev.dir().join("action/reset_ring")).unwrap();
    let err = dev.reset_ring(ResetMode::Busy).unwrap_err();
    assert!(
        matches!(&err, ConfigfsError::Write { path, .. } if path.ends_with("action/reset_ring"))
    );
    assert!(!dev.dir().join("action/reset_ring").exists());
}

#[test]
fn locate_reports_missing_device() {
    let root = tempfile::tempdir().unwrap();
    let name = UioName::parse("tcm-user/2/gone/ram/").unwrap();
    let err = ConfigfsDevice::locate(root.path(), &name).unwrap_err();
    assert!(matches!(&err, ConfigfsError::DeviceMissing { path } if path.ends_with("user_2/gone")));
}
