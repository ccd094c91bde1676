//! The export commands over [`LocalStore`]s: behaviour, bad input, crash points, races.

mod clone;
mod crash;
mod create;
mod credentials;
mod delete;
mod lock;
mod resize;
mod view;

use super::*;
use crate::export::report::{ExportStatus, GatewayReport, REPORT_VERSION, StatusState};
use crate::export::store::{LocalStore, LocalVolumes};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The volume of most tests.
const VOLUME: &str = "gv0@server1+server2";
/// A gateway of most tests.
const GW1: &str = "127.0.0.1:3260";
const GW2: &str = "127.0.0.2:3260";
const MIB: u64 = 1 << 20;

/// Volumes in a temporary directory.
struct Fixture {
    dir: tempfile::TempDir,
    opener: LocalVolumes,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let opener = LocalVolumes::new(dir.path());
        // Opening makes the volume's directory: done here so that snapshots taken later
        // see only what commands do.
        opener.open(&volume()).unwrap();
        Fixture { dir, opener }
    }

    fn ops<'a>(&'a self, observer: &'a dyn Observer) -> Ops<'a> {
        Ops::new(&self.opener, &[], observer).with_waits(fast_waits())
    }

    /// Commands that wait long for the gateways: for tests where a gateway answers.
    fn patient_ops<'a>(&'a self, observer: &'a dyn Observer) -> Ops<'a> {
        let waits = Waits {
            timeout: std::time::Duration::from_secs(30),
            ..fast_waits()
        };
        Ops::new(&self.opener, &[], observer).with_waits(waits)
    }

    fn ops_with<'a>(&'a self, volumes: &'a [VolumeAddr], observer: &'a dyn Observer) -> Ops<'a> {
        Ops::new(&self.opener, volumes, observer).with_waits(fast_waits())
    }

    /// The local directory of volume `gv0`.
    fn root(&self) -> PathBuf {
        self.dir.path().join("gv0")
    }

    fn store(&self) -> LocalStore {
        LocalStore::new(self.root())
    }

    /// Every file and folder of the volume with its mode and content.
    fn snapshot(&self) -> BTreeMap<PathBuf, (u32, Vec<u8>)> {
        let mut out = BTreeMap::new();
        walk(&self.root(), &self.root(), &mut out);
        out
    }

    /// Writes a gateway report, `updated` seconds ago.
    fn report(&self, gateway: &str, age: u64, exports: &[(&str, ExportStatus)]) {
        let gateway: SocketAddr = gateway.parse().unwrap();
        let report = GatewayReport {
            version: REPORT_VERSION,
            gateway,
            updated: crate::export::report::unix_now() - age,
            poll_secs: 3,
            problem: None,
            exports: exports
                .iter()
                .map(|(n, s)| ((*n).to_owned(), s.clone()))
                .collect(),
        };
        let store = self.store();
        store.ensure_folders().unwrap();
        store
            .replace(
                &crate::export::layout::report(&gateway),
                &report.to_json(),
                crate::export::layout::REPORT_MODE,
            )
            .unwrap();
    }
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, (u32, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::metadata(&path).unwrap();
        let rel = path.strip_prefix(root).unwrap().to_path_buf();
        let mode = meta.permissions().mode();
        if meta.is_dir() {
            out.insert(rel, (mode, Vec::new()));
            walk(root, &path, out);
        } else {
            out.insert(rel, (mode, std::fs::read(&path).unwrap()));
        }
    }
}

fn fast_waits() -> Waits {
    Waits {
        timeout: std::time::Duration::from_millis(300),
        poll: std::time::Duration::from_millis(10),
        progress_every: std::time::Duration::from_millis(100),
        lock: std::time::Duration::from_secs(5),
    }
}

fn volume() -> VolumeAddr {
    VolumeAddr::parse(VOLUME).unwrap()
}

fn location(name: &str) -> ExportLocation {
    ExportLocation::parse(&format!("{VOLUME}/{name}")).unwrap()
}

fn at(name: &str) -> ExportRef {
    ExportRef::At(location(name))
}

fn gw(addr: &str) -> SocketAddr {
    addr.parse().unwrap()
}

/// A sparse 4 MiB export `name` on gateway GW1.
fn request(name: &str) -> CreateRequest {
    CreateRequest::new(location(name), 4 * MIB, vec![gw(GW1)])
}

/// What a gateway says of an export it serves.
fn serving(generation: u64, sessions: &[&str]) -> ExportStatus {
    ExportStatus {
        state: StatusState::Ready,
        reason: None,
        size: 4 * MIB,
        generation,
        sessions: sessions.iter().map(|s| (*s).to_owned()).collect(),
        path: None,
    }
}

/// An observer that keeps what it is told.
#[derive(Debug, Default)]
struct Recorder {
    lines: Mutex<Vec<String>>,
    changes: Mutex<Vec<String>>,
}

impl Observer for Recorder {
    fn progress(&self, line: &str) {
        self.lines.lock().unwrap().push(line.to_owned());
    }
    fn changed(&self, location: &ExportLocation) {
        self.changes.lock().unwrap().push(location.to_string());
    }
}

impl Recorder {
    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Blocks until a progress line contains `text`.
    fn await_line(&self, text: &str) {
        while !self.lines().iter().any(|l| l.contains(text)) {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }
    fn changes(&self) -> Vec<String> {
        self.changes.lock().unwrap().clone()
    }
}

/// The record of `name` as it is on the volume.
fn record_on(fx: &Fixture, name: &str) -> Option<Record> {
    let bytes = fx
        .store()
        .read(&crate::export::layout::record(
            &ExportName::parse(name).unwrap(),
        ))
        .unwrap()?;
    Some(Record::from_json(&bytes).unwrap())
}

/// The image size of `name` on the volume.
fn image_on(fx: &Fixture, name: &str) -> Option<u64> {
    fx.store()
        .size_of(&crate::export::layout::image(
            &ExportName::parse(name).unwrap(),
        ))
        .unwrap()
}
