//! The fake behaves like the kernel where the writer depends on it.

use super::*;

struct Tree {
    _dir: tempfile::TempDir,
    fake: FakeConfigfs,
}

impl Tree {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let fake = FakeConfigfs::new(dir.path()).unwrap();
        Self { _dir: dir, fake }
    }

    fn p(&self, rel: &str) -> PathBuf {
        self.fake.root().join(rel)
    }

    fn code(&self, r: io::Result<()>) -> Option<i32> {
        r.err().and_then(|e| e.raw_os_error())
    }

    /// An enabled storage object `core/user_0/d` and LUN 0 of `iscsi/iqn.t/tpgt_1`.
    fn exported(&self) {
        let f = &self.fake;
        f.mkdir(&self.p("core/user_0")).unwrap();
        f.mkdir(&self.p("core/user_0/d")).unwrap();
        f.write(&self.p("core/user_0/d/enable"), "1").unwrap();
        f.mkdir(&self.p("iscsi/iqn.t")).unwrap();
        f.mkdir(&self.p("iscsi/iqn.t/tpgt_1")).unwrap();
        f.mkdir(&self.p("iscsi/iqn.t/tpgt_1/lun/lun_0")).unwrap();
        f.symlink(
            &self.p("core/user_0/d"),
            &self.p("iscsi/iqn.t/tpgt_1/lun/lun_0/l"),
        )
        .unwrap();
    }
}

#[test]
fn mkdir_fills_in_objects_and_refuses_unknown_places() {
    let t = Tree::new();
    let f = &t.fake;
    assert_eq!(t.code(f.mkdir(&t.p("core/user_0/d"))), Some(libc::ENOENT));
    f.mkdir(&t.p("core/user_0")).unwrap();
    f.mkdir(&t.p("core/user_0/d")).unwrap();
    assert_eq!(f.read(&t.p("core/user_0/d/enable")).unwrap(), "0");
    assert!(
        f.read(&t.p("core/user_0/d/info"))
            .unwrap()
            .contains("Config: NULL Size: 0")
    );
    assert_eq!(
        t.code(f.mkdir(&t.p("core/user_0/d/attrib/x"))),
        Some(libc::EPERM)
    );
    assert_eq!(t.code(f.mkdir(&t.p("core/nohba"))), Some(libc::EPERM));
    f.mkdir(&t.p("iscsi/iqn.t")).unwrap();
    f.mkdir(&t.p("iscsi/iqn.t/tpgt_1")).unwrap();
    assert_eq!(
        f.read(&t.p("iscsi/iqn.t/tpgt_1/attrib/authentication"))
            .unwrap(),
        "1"
    );
    assert_eq!(
        t.code(f.mkdir(&t.p("iscsi/iqn.t/tpgt_1/np/nonsense"))),
        Some(libc::EINVAL)
    );
    assert_eq!(
        t.code(f.mkdir(&t.p("iscsi/iqn.t/tpgt_1/lun/lun"))),
        Some(libc::EPERM)
    );
    assert_eq!(
        t.code(f.write(&t.p("core/user_0/d/nothing"), "1")),
        Some(libc::ENOENT)
    );
    assert_eq!(
        t.code(f.write(&t.p("core/user_0/d/info"), "1")),
        Some(libc::EACCES)
    );
}

#[test]
fn tcmu_control_enable_and_size() {
    let t = Tree::new();
    let f = &t.fake;
    f.mkdir(&t.p("core/user_0")).unwrap();
    let d = t.p("core/user_0/d");
    f.mkdir(&d).unwrap();
    f.write(
        &d.join("control"),
        "dev_config=glfs/v@h/i,dev_size=4096,hw_max_sectors=64",
    )
    .unwrap();
    f.write(&d.join("enable"), "1").unwrap();
    assert_eq!(t.code(f.write(&d.join("enable"), "1")), Some(libc::EEXIST));
    f.write(&d.join("attrib/dev_size"), "8192").unwrap();
    let info = f.read(&d.join("info")).unwrap();
    assert_eq!(
        crate::control::configfs::parse_info(&info).unwrap(),
        crate::control::configfs::DeviceInfo {
            config: Some("glfs/v@h/i".into()),
            size: 8192
        }
    );
    assert!(info.contains("Status: ACTIVATED") && info.contains("HwMaxSectors: 64"));
    assert_eq!(
        t.code(f.write(&d.join("control"), "bogus=1")),
        Some(libc::EINVAL)
    );
}

#[test]
fn rmdir_refuses_user_made_children_and_linked_objects() {
    let t = Tree::new();
    t.exported();
    let f = &t.fake;
    assert_eq!(t.code(f.rmdir(&t.p("core/user_0"))), Some(libc::ENOTEMPTY));
    assert_eq!(t.code(f.rmdir(&t.p("core/user_0/d"))), Some(libc::EBUSY));
    assert_eq!(
        t.code(f.rmdir(&t.p("iscsi/iqn.t/tpgt_1/lun/lun_0"))),
        Some(libc::ENOTEMPTY)
    );
    assert_eq!(
        t.code(f.rmdir(&t.p("iscsi/iqn.t/tpgt_1"))),
        Some(libc::ENOTEMPTY)
    );
    assert_eq!(
        t.code(f.rmdir(&t.p("iscsi/iqn.t/tpgt_1/attrib"))),
        Some(libc::EPERM)
    );
    f.unlink(&t.p("iscsi/iqn.t/tpgt_1/lun/lun_0/l")).unwrap();
    f.rmdir(&t.p("iscsi/iqn.t/tpgt_1/lun/lun_0")).unwrap();
    f.rmdir(&t.p("iscsi/iqn.t/tpgt_1")).unwrap();
    f.rmdir(&t.p("iscsi/iqn.t")).unwrap();
    f.rmdir(&t.p("core/user_0/d")).unwrap();
    f.rmdir(&t.p("core/user_0")).unwrap();
    assert_eq!(f.tree(), ["core", "iscsi", "iscsi/discovery_auth"]);
}

#[test]
fn links_are_checked_and_stored_relative() {
    let t = Tree::new();
    t.exported();
    let f = &t.fake;
    let lun = t.p("iscsi/iqn.t/tpgt_1/lun/lun_0");
    let stored = f.read_link(&lun.join("l")).unwrap();
    assert_eq!(stored, PathBuf::from("../../../../../core/user_0/d"));
    assert_eq!(
        t.code(f.symlink(&t.p("core/user_0/d"), &lun.join("second"))),
        Some(libc::EEXIST)
    );
    f.mkdir(&t.p("core/user_0/off")).unwrap();
    f.mkdir(&t.p("iscsi/iqn.t/tpgt_1/lun/lun_1")).unwrap();
    let lun1 = t.p("iscsi/iqn.t/tpgt_1/lun/lun_1/l");
    assert_eq!(
        t.code(f.symlink(&t.p("core/user_0/off"), &lun1)),
        Some(libc::ENODEV)
    );
    let acl = t.p("iscsi/iqn.t/tpgt_1/acls/iqn.1994-05.com.redhat:c1");
    f.mkdir(&acl).unwrap();
    f.mkdir(&acl.join("lun_0")).unwrap();
    assert_eq!(
        t.code(f.symlink(&t.p("core/user_0/d"), &acl.join("lun_0/x"))),
        Some(libc::EINVAL)
    );
    f.symlink(&lun, &acl.join("lun_0/x")).unwrap();
    assert_eq!(t.code(f.rmdir(&lun)), Some(libc::ENOTEMPTY));
}

#[test]
fn serial_and_timeout_are_fixed_while_exported() {
    let t = Tree::new();
    t.exported();
    let f = &t.fake;
    let d = t.p("core/user_0/d");
    assert_eq!(
        t.code(f.write(&d.join("wwn/vpd_unit_serial"), "s")),
        Some(libc::EINVAL)
    );
    assert_eq!(
        t.code(f.write(&d.join("attrib/cmd_time_out"), "5")),
        Some(libc::EINVAL)
    );
    f.unlink(&t.p("iscsi/iqn.t/tpgt_1/lun/lun_0/l")).unwrap();
    f.write(&d.join("wwn/vpd_unit_serial"), "s").unwrap();
    assert_eq!(
        f.read(&d.join("wwn/vpd_unit_serial")).unwrap(),
        "T10 VPD Unit Serial Number: s"
    );
}

#[test]
fn injected_failures_fire_once_and_ops_are_recorded() {
    let t = Tree::new();
    let f = &t.fake;
    f.fail_next(Op::Mkdir, "core/user_0", libc::EIO);
    assert_eq!(t.code(f.mkdir(&t.p("core/user_0"))), Some(libc::EIO));
    f.mkdir(&t.p("core/user_0")).unwrap();
    assert_eq!(f.ops(), ["mkdir core/user_0"]);
    f.clear_ops();
    assert!(f.ops().is_empty());
}
