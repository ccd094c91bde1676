//! The gateway's passes over local volumes ([`LocalVolumes`]) and a fake configfs tree.

mod passes;
mod runner;
mod volumes;

use super::*;
use crate::export::{
    ExportName, GatewayReport, LocalStore, MetaStore, Record, State, StatusState, StoreError,
    VolumeAddr, layout,
};
use crate::lio::fake::FakeConfigfs;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// This gateway's portal in the tests (loopback: an address of every host).
pub(crate) const PORTAL: &str = "127.0.0.1:3260";
/// Another gateway's.
pub(crate) const OTHER: &str = "127.0.0.2:3260";

/// A valid ready record of export `name` on volume gv0, naming `gateways`.
pub(crate) fn record(name: &str, gateways: &[&str]) -> Record {
    let export = ExportName::parse(name).unwrap();
    Record {
        version: crate::export::record::RECORD_VERSION,
        name: name.to_owned(),
        state: State::Ready,
        volume: "gv0".into(),
        servers: vec!["gl1".into(), "gl2".into()],
        image: layout::image(&export),
        size: 1 << 30,
        block_size: 512,
        prealloc: false,
        serial: format!("0f1e2d3c-4b5a-4978-8695-{:0>12}", name.len()),
        iqn: Record::iqn_for(&export),
        lun: 0,
        gateways: gateways.iter().map(|g| g.parse().unwrap()).collect(),
        initiators: Vec::new(),
        chap: None,
        hw_max_sectors: 1024,
        cmd_time_out: 130,
        generation: 1,
        clone_of: None,
    }
}

/// Writes `record` as its record file (replacing one that is there).
pub(crate) fn put_record(store: &LocalStore, record: &Record) {
    let name = ExportName::parse(&record.name).unwrap();
    store.ensure_folders().unwrap();
    store
        .replace(
            &layout::record(&name),
            &record.to_json(),
            layout::RECORD_MODE,
        )
        .unwrap();
}

/// Writes `bytes` as the file `file` of the export folder.
pub(crate) fn put_file(store: &LocalStore, file: &str, bytes: &[u8]) {
    store.ensure_folders().unwrap();
    std::fs::write(store.local(&format!("{}/{file}", layout::EXPORTS)), bytes).unwrap();
}

/// Local volumes, some of which can be made unreachable: opening them fails, and so
/// does every call on a store opened before.
#[derive(Debug)]
pub(crate) struct Flaky {
    root: PathBuf,
    down: Arc<Mutex<BTreeSet<String>>>,
}

impl Flaky {
    pub fn set_down(&self, volume: &str, down: bool) {
        let mut set = self.down.lock().unwrap();
        if down {
            set.insert(volume.to_owned());
        } else {
            set.remove(volume);
        }
    }
}

impl StoreOpener for Flaky {
    fn open(&self, volume: &VolumeAddr) -> Result<Arc<dyn MetaStore>, StoreError> {
        let store = FlakyStore {
            inner: LocalStore::new(self.root.join(&volume.volume)),
            volume: volume.volume.clone(),
            down: self.down.clone(),
        };
        store.check()?;
        std::fs::create_dir_all(store.inner.local("/")).unwrap();
        Ok(Arc::new(store))
    }
}

#[derive(Debug)]
struct FlakyStore {
    inner: LocalStore,
    volume: String,
    down: Arc<Mutex<BTreeSet<String>>>,
}

impl FlakyStore {
    fn check(&self) -> Result<(), StoreError> {
        match self.down.lock().unwrap().contains(&self.volume) {
            true => Err(StoreError::Unreachable("no volfile server answers".into())),
            false => Ok(()),
        }
    }
}

impl MetaStore for FlakyStore {
    fn ensure_folders(&self) -> Result<(), StoreError> {
        self.check()?;
        self.inner.ensure_folders()
    }
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.check()?;
        self.inner.read(path)
    }
    fn list(&self, dir: &str) -> Result<Vec<String>, StoreError> {
        self.check()?;
        self.inner.list(dir)
    }
    fn publish(&self, path: &str, data: &[u8], mode: u32) -> Result<(), StoreError> {
        self.check()?;
        self.inner.publish(path, data, mode)
    }
    fn replace(&self, path: &str, data: &[u8], mode: u32) -> Result<(), StoreError> {
        self.check()?;
        self.inner.replace(path, data, mode)
    }
    fn remove(&self, path: &str) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.remove(path)
    }
    fn size_of(&self, path: &str) -> Result<Option<u64>, StoreError> {
        self.check()?;
        self.inner.size_of(path)
    }
    fn grow(
        &self,
        path: &str,
        size: u64,
        prealloc: bool,
        mode: u32,
    ) -> Result<crate::export::store::Grown, StoreError> {
        self.check()?;
        self.inner.grow(path, size, prealloc, mode)
    }
    fn free_bytes(&self) -> Result<u64, StoreError> {
        self.check()?;
        self.inner.free_bytes()
    }

    fn fencing(&self) -> Result<crate::export::Fencing, StoreError> {
        self.check()?;
        self.inner.fencing()
    }
    fn sweep_tmp(&self, age: Duration) -> Result<usize, StoreError> {
        self.check()?;
        self.inner.sweep_tmp(age)
    }
    fn open_image(
        &self,
        path: &str,
    ) -> Result<Box<dyn crate::export::store::ImageFile + '_>, StoreError> {
        self.check()?;
        self.inner.open_image(path)
    }
}

/// Two volumes (gv0, gv1), a fake configfs tree and a state directory, in a temporary
/// directory; the gateway on [`PORTAL`].
pub(crate) struct Env {
    pub dir: tempfile::TempDir,
    pub settings: ExportsSettings,
    pub opener: Arc<Flaky>,
    pub gateway: Gateway<FakeConfigfs>,
}

impl Env {
    pub fn new() -> Self {
        Self::on(PORTAL)
    }

    /// The gateway on `portal`.
    pub fn on(portal: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let settings = ExportsSettings {
            portal: portal.parse().unwrap(),
            volumes: vec![
                VolumeAddr::parse("gv0@gl1+gl2").unwrap(),
                VolumeAddr::parse("gv1@gl3").unwrap(),
            ],
            poll: Duration::from_secs(3),
            state_dir: dir.path().join("state"),
            configfs: dir.path().join("target"),
        };
        let opener = Arc::new(Flaky {
            root: dir.path().join("volumes"),
            down: Arc::default(),
        });
        let gateway = open_gateway(&settings, &opener);
        Self {
            dir,
            settings,
            opener,
            gateway,
        }
    }

    /// A new gateway on the same tree, journal and volumes (a daemon restart).
    pub fn restart(&mut self) {
        self.gateway = open_gateway(&self.settings, &self.opener);
    }

    /// Empties LIO (a reboot, or `targetcli clearconfig`); the journal stays.
    pub fn clear_lio(&mut self) {
        std::fs::remove_dir_all(&self.settings.configfs).unwrap();
        self.restart();
    }

    /// Volume `name` (`gv0` or `gv1`).
    pub fn volume(&self, name: &str) -> LocalStore {
        volume_in(self.dir.path(), name)
    }

    pub fn fake(&self) -> &FakeConfigfs {
        self.gateway.lio().fs()
    }

    /// Whether `rel` exists in the fake tree.
    pub fn has(&self, rel: &str) -> bool {
        self.settings.configfs.join(rel).exists()
    }

    /// Whether a storage object `name` exists in any HBA of the fake tree.
    pub fn has_backstore(&self, name: &str) -> bool {
        let core = self.settings.configfs.join("core");
        std::fs::read_dir(core)
            .unwrap()
            .any(|hba| hba.unwrap().path().join(name).is_dir())
    }

    /// This gateway's report on volume `name`, as written there.
    pub fn report_on(&self, name: &str) -> Option<GatewayReport> {
        let path = layout::report(&PORTAL.parse().unwrap());
        let bytes = self.volume(name).read(&path).unwrap()?;
        Some(GatewayReport::from_json(&bytes).unwrap())
    }

    /// The report file's inode on volume `name` (a rewrite replaces the file).
    pub fn report_inode(&self, name: &str) -> u64 {
        use std::os::unix::fs::MetadataExt;
        let path = layout::report(&PORTAL.parse().unwrap());
        std::fs::metadata(self.volume(name).local(&path))
            .unwrap()
            .ino()
    }
}

fn open_gateway(settings: &ExportsSettings, opener: &Arc<Flaky>) -> Gateway<FakeConfigfs> {
    std::fs::create_dir_all(&settings.configfs).unwrap();
    let fake = FakeConfigfs::new(&settings.configfs).unwrap();
    let opener: Arc<dyn StoreOpener> = opener.clone();
    Gateway::open(settings, opener, fake).unwrap()
}

/// Volume `name` of the [`Env`] in `dir`.
pub(crate) fn volume_in(dir: &std::path::Path, name: &str) -> LocalStore {
    let store = LocalStore::new(dir.join("volumes").join(name));
    std::fs::create_dir_all(store.local("/")).unwrap();
    store
}

/// The target directory of export `name`.
pub(crate) fn target(name: &str) -> String {
    format!("iscsi/iqn.2016-12.org.gluster-tcmu:{name}")
}

/// The state of `name` in `report`, and its reason.
pub(crate) fn state(report: &GatewayReport, name: &str) -> (StatusState, Option<String>) {
    let s = &report.exports[name];
    (s.state, s.reason.clone())
}
