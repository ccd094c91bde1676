use super::*;
use std::fs;

fn name(hba: u32, device: &str, subtype: &str, config: &str) -> UioName {
    UioName {
        hba,
        device: device.into(),
        subtype: subtype.into(),
        config: config.into(),
    }
}

#[test]
fn parses_glfs_name_with_slashes_in_config() {
    let n = UioName::parse("tcm-user/3/lun0/glfs/vol@host/dir/file.img").unwrap();
    assert_eq!(n, name(3, "lun0", "glfs", "vol@host/dir/file.img"));
    assert_eq!(n.to_string(), "tcm-user/3/lun0/glfs/vol@host/dir/file.img");
}

#[test]
fn config_may_be_empty_or_absent() {
    assert_eq!(
        UioName::parse("tcm-user/0/d/ram/").unwrap(),
        name(0, "d", "ram", "")
    );
    assert_eq!(
        UioName::parse("tcm-user/0/d/ram").unwrap(),
        name(0, "d", "ram", "")
    );
}

#[test]
fn rejects_foreign_and_incomplete_names() {
    let not = |s: &str| UioNameError::NotTcmUser { name: s.into() };
    assert_eq!(
        UioName::parse("uio_pci_generic"),
        Err(not("uio_pci_generic"))
    );
    assert_eq!(
        UioName::parse("tcm-userx/1/d/ram/"),
        Err(not("tcm-userx/1/d/ram/"))
    );
    assert_eq!(UioName::parse(""), Err(not("")));
    let missing = |s: &str, field| {
        Err(UioNameError::MissingField {
            name: s.into(),
            field,
        })
    };
    assert_eq!(
        UioName::parse("tcm-user"),
        missing("tcm-user", "HBA number")
    );
    assert_eq!(
        UioName::parse("tcm-user//d/ram/"),
        missing("tcm-user//d/ram/", "HBA number")
    );
    assert_eq!(
        UioName::parse("tcm-user/1"),
        missing("tcm-user/1", "device name")
    );
    assert_eq!(
        UioName::parse("tcm-user/1/dev"),
        missing("tcm-user/1/dev", "handler subtype")
    );
    assert_eq!(
        UioName::parse("tcm-user/1/dev/"),
        missing("tcm-user/1/dev/", "handler subtype")
    );
    let bad = UioName::parse("tcm-user/-1/d/ram/x");
    assert!(matches!(bad, Err(UioNameError::BadHba { .. })));
    assert!(matches!(
        UioName::parse("tcm-user/99999999999/d/r/"),
        Err(UioNameError::BadHba { .. })
    ));
}

#[test]
fn hex_sizes() {
    assert_eq!(parse_hex("0x40801000\n"), Some(0x4080_1000));
    assert_eq!(parse_hex("ff"), Some(255));
    assert_eq!(parse_hex("0x"), None);
    assert_eq!(parse_hex("0x12g"), None);
    assert_eq!(parse_hex("+12"), None);
    assert_eq!(parse_hex("0x1ffffffffffffffff"), None);
}

#[test]
fn uio_indices() {
    assert_eq!(uio_index("uio0"), Some(0));
    assert_eq!(uio_index("uio17"), Some(17));
    assert_eq!(uio_index("uio"), None);
    assert_eq!(uio_index("uio+1"), None);
    assert_eq!(uio_index("uiox"), None);
    assert_eq!(uio_index("event0"), None);
}

/// Adds `class/uio/uio<n>` with a name and, if given, a map size.
fn add(root: &Path, n: u32, uio_name: &str, size: Option<&str>) {
    let dir = root.join(format!("class/uio/uio{n}"));
    fs::create_dir_all(dir.join("maps/map0")).unwrap();
    fs::write(dir.join("name"), format!("{uio_name}\n")).unwrap();
    if let Some(size) = size {
        fs::write(dir.join("maps/map0/size"), format!("{size}\n")).unwrap();
    }
}

#[test]
fn scan_lists_tcmu_devices_sorted_and_reports_broken_ones() {
    let sys = tempfile::tempdir().unwrap();
    let root = sys.path();
    add(root, 10, "tcm-user/1/b/glfs/v@h/f", Some("0x40801000"));
    add(root, 2, "tcm-user/1/a/ram/", Some("0x1000"));
    add(root, 3, "uio_pci_generic", None);
    add(root, 4, "tcm-user/1/c/ram/", None);
    add(root, 5, "tcm-user/1/c/ram/", Some("lots"));
    add(root, 6, "tcm-user/x/c/ram/", Some("0x1000"));
    fs::create_dir_all(root.join("class/uio/uio7")).unwrap();
    fs::create_dir_all(root.join("class/uio/not-a-uio")).unwrap();

    let scan = scan(root).unwrap();
    let found: Vec<_> = scan.devices.iter().map(|d| (d.index, d.map_size)).collect();
    assert_eq!(found, [(2, 0x1000), (10, 0x4080_1000)]);
    assert_eq!(scan.devices[1].name, name(1, "b", "glfs", "v@h/f"));
    assert_eq!(scan.devices[1].dev_path, Path::new("/dev/uio10"));

    let mut errors: Vec<String> = scan.errors.iter().map(|e| e.to_string()).collect();
    errors.sort();
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert!(
        errors.iter().any(|e| e.contains("uio4/maps/map0/size")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("uio5") && e.contains("\"lots\"")),
        "{errors:?}"
    );
    assert!(errors.iter().any(|e| e.contains("uio6/name")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("uio7/name")), "{errors:?}");
}

#[test]
fn scan_without_uio_class_is_empty() {
    let sys = tempfile::tempdir().unwrap();
    let scan = scan(sys.path()).unwrap();
    assert!(scan.devices.is_empty() && scan.errors.is_empty());
}
