//! The writer against [`FakeConfigfs`]: order, idempotence, convergence, ownership,
//! crash recovery, secrets.

mod alua;
mod apply;
mod auth;
mod ownership;

use super::fake::FakeConfigfs;
use super::*;
use std::path::{Path, PathBuf};

pub(super) const TARGET: &str = "iqn.2024-01.org.example.gw:vol";
pub(super) const C1: &str = "iqn.1994-05.com.redhat:c1";
pub(super) const C2: &str = "iqn.1994-05.com.redhat:c2";
pub(super) const C3: &str = "iqn.1994-05.com.redhat:c3";

/// A fake target root and a journal in a temporary directory.
pub(super) struct Env {
    dir: tempfile::TempDir,
    pub lio: Lio<FakeConfigfs>,
}

impl Env {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("target");
        std::fs::create_dir(&root).unwrap();
        let lio = Self::open_lio(&root, &dir.path().join("state/lio-owned.toml"));
        Self { dir, lio }
    }

    fn open_lio(root: &Path, journal: &Path) -> Lio<FakeConfigfs> {
        Lio::open(FakeConfigfs::new(root).unwrap(), root, journal).unwrap()
    }

    /// A new `Lio` on the same tree and journal file, as after a daemon restart.
    pub fn restart(&mut self) {
        self.lio = Self::open_lio(&self.root(), &self.journal_path());
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("target")
    }

    pub fn journal_path(&self) -> PathBuf {
        self.dir.path().join("state/lio-owned.toml")
    }

    pub fn fake(&self) -> &FakeConfigfs {
        self.lio.fs()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    pub fn read(&self, rel: &str) -> String {
        self.fake().read(&self.path(rel)).unwrap()
    }

    /// Applies and clears the fake's log.
    pub fn apply(&mut self, want: &ExportLun) -> ApplyReport {
        let report = self.lio.apply(want).unwrap();
        self.fake().clear_ops();
        report
    }

    /// What an administrator creates with targetcli: a storage object in its own HBA
    /// and, if `iqn` is given, a target with LUN 0 linking it.
    pub fn admin_export(&self, hba: &str, name: &str, iqn: Option<&str>) {
        let f = self.fake();
        let dev = self.path(&format!("core/{hba}/{name}"));
        if !f.exists(&self.path(&format!("core/{hba}"))) {
            f.mkdir(&self.path(&format!("core/{hba}"))).unwrap();
        }
        f.mkdir(&dev).unwrap();
        f.write(&dev.join("control"), "dev_config=file/x,dev_size=4096")
            .unwrap();
        f.write(&dev.join("enable"), "1").unwrap();
        if let Some(iqn) = iqn {
            let tpg = self.path(&format!("iscsi/{iqn}/tpgt_1"));
            f.mkdir(tpg.parent().unwrap()).unwrap();
            f.mkdir(&tpg).unwrap();
            f.mkdir(&tpg.join("lun/lun_0")).unwrap();
            f.symlink(&dev, &tpg.join("lun/lun_0/admin")).unwrap();
        }
        f.clear_ops();
    }
}

pub(super) fn initiators(names: &[&str]) -> Access {
    Access::Initiators(
        names
            .iter()
            .map(|n| InitiatorName::parse(n).unwrap())
            .collect(),
    )
}

pub(super) fn one_way(secret: &str) -> Chap {
    Chap::OneWay {
        user: ChapUser::parse("ini-user").unwrap(),
        secret: ChapSecret::parse(secret).unwrap(),
    }
}

pub(super) fn export(name: &str) -> ExportLun {
    ExportLun {
        name: BackstoreName::parse(name).unwrap(),
        dev_config: DevConfig::parse(&format!("glfs/gt1@127.0.0.1/images/{name}.img")).unwrap(),
        size: 1 << 30,
        hw_max_sectors: 1024,
        cmd_time_out: 30,
        serial: UnitSerial::parse(&format!("serial-{name}")).unwrap(),
        target: TargetIqn::parse(&format!("iqn.2024-01.org.example.gw:{name}")).unwrap(),
        lun: 0,
        portals: vec!["10.0.0.1:3260".parse().unwrap()],
        access: initiators(&[C1]),
        chap: Chap::None,
        alua: None,
    }
}

/// The position of `line` in `ops`, failing with the whole log if it is missing.
pub(super) fn at(ops: &[String], line: &str) -> usize {
    ops.iter()
        .position(|o| o == line)
        .unwrap_or_else(|| panic!("{line:?} not in {ops:#?}"))
}
