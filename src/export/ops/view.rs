//! `export list` and `export info`: what the records and the gateways' reports say. Never
//! a secret: the records are read whole, but only what is shown here leaves.

use super::gateways::{GatewayState, GatewayView, Reports, read_reports};
use super::{ExportRef, Ops, OpsError, parse_record};
use crate::export::layout;
use crate::export::location::{ExportLocation, VolumeAddr};
use crate::export::record::{Record, State};
use crate::export::report::unix_now;
use crate::export::store::MetaStore;
use serde::Serialize;

/// An export's state as `list` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ListedState {
    Creating,
    Ready,
    Deleting,
    /// The record cannot be read (`reason` says why).
    Corrupt,
}

impl From<State> for ListedState {
    fn from(s: State) -> Self {
        match s {
            State::Creating => ListedState::Creating,
            State::Ready => ListedState::Ready,
            State::Deleting => ListedState::Deleting,
        }
    }
}

impl ListedState {
    /// The word tables show.
    pub fn as_str(self) -> &'static str {
        match self {
            ListedState::Creating => "creating",
            ListedState::Ready => "ready",
            ListedState::Deleting => "deleting",
            ListedState::Corrupt => "corrupt",
        }
    }
}

/// One export in `list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListEntry {
    pub name: String,
    pub state: ListedState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Bytes (unknown for a corrupt record).
    pub size: Option<u64>,
    /// Gateways of the record that serve it, by their fresh reports.
    pub gateways_ready: usize,
    /// Gateways the record names.
    pub gateways: usize,
    /// Initiators logged in, over all gateways.
    pub sessions: usize,
}

/// The exports of one volume, or why they could not be listed.
#[derive(Debug)]
pub struct VolumeListing {
    pub volume: VolumeAddr,
    pub exports: Result<Vec<ListEntry>, OpsError>,
}

/// One export in `info`.
#[derive(Debug, Clone)]
pub struct ExportInfo {
    pub location: ExportLocation,
    /// The record (its secrets are not shown by `info`).
    pub record: Record,
    /// The image's size on the volume (`None`: missing).
    pub image_size: Option<u64>,
    pub gateways: Vec<GatewayView>,
}

impl Ops<'_> {
    /// `export list` of `volumes` (the configured ones when empty). A volume that cannot
    /// be listed has its error in its entry; the others are still listed.
    pub fn list(&self, volumes: &[VolumeAddr]) -> Result<Vec<VolumeListing>, OpsError> {
        let volumes = if volumes.is_empty() {
            self.volumes
        } else {
            volumes
        };
        if volumes.is_empty() {
            return Err(OpsError::NoVolumeToList);
        }
        Ok(volumes
            .iter()
            .map(|v| VolumeListing {
                volume: v.clone(),
                exports: self.list_volume(v),
            })
            .collect())
    }

    fn list_volume(&self, volume: &VolumeAddr) -> Result<Vec<ListEntry>, OpsError> {
        let store = self.open(volume)?;
        let err = OpsError::store(volume);
        let files = store.list(layout::EXPORTS).map_err(&err)?;
        let reports = read_reports(&*store).map_err(&err)?;
        let mut entries = Vec::new();
        for file in &files {
            let Some(name) = layout::name_of_record_file(file) else {
                continue;
            };
            let path = format!("{}/{file}", layout::EXPORTS);
            if let Some(bytes) = store.read(&path).map_err(&err)? {
                entries.push(entry(name, &bytes, &reports));
            }
        }
        Ok(entries)
    }

    /// `export info`.
    pub fn info(&self, r: &ExportRef) -> Result<ExportInfo, OpsError> {
        let found = self.locate(r)?;
        let record = self.existing_record(&found)?;
        let image_size =
            image_size(&*found.store, &record).map_err(OpsError::store(&found.location.volume))?;
        let gateways = self.views(&found, &record)?;
        Ok(ExportInfo {
            location: found.location,
            record,
            image_size,
            gateways,
        })
    }
}

fn image_size(
    store: &dyn MetaStore,
    record: &Record,
) -> Result<Option<u64>, crate::export::store::StoreError> {
    store.size_of(&record.image)
}

/// The list entry of the record file of `name`.
fn entry(name: &str, bytes: &[u8], reports: &Reports) -> ListEntry {
    let record = match parse_record(bytes, name) {
        Ok(record) => record,
        Err(e) => {
            return ListEntry {
                name: name.to_owned(),
                state: ListedState::Corrupt,
                reason: Some(e.to_string()),
                size: None,
                gateways_ready: 0,
                gateways: 0,
                sessions: 0,
            };
        }
    };
    let now = unix_now();
    let views = reports.views(name, &record.gateways, now);
    let ready = views
        .iter()
        .filter(|v| v.named && v.state == GatewayState::Ready)
        .count();
    ListEntry {
        name: name.to_owned(),
        state: record.state.into(),
        reason: None,
        size: Some(record.size),
        gateways_ready: ready,
        gateways: record.gateways.len(),
        sessions: reports.sessions(name, now).len(),
    }
}
