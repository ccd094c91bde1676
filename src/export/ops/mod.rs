//! The export commands (create, delete, resize, list, info), written once over
//! [`MetaStore`] so that the same logic runs on a real volume and on a local directory.
//!
//! Every command is a short sequence of steps, each leaving the volume in a state the
//! same command, run again, finishes from:
//!
//! * the record exists before the image, and the image is removed before the record, so
//!   there is never an image without a record, nor a `ready` record without its image;
//! * a `creating` or `deleting` record is a command that has not finished: the same
//!   create (or delete) finishes it;
//! * a new record appears whole through an exclusive publish, so of two creates of one
//!   name, on one machine or two, exactly one makes the record and the other adopts it
//!   (when it asked the same) or fails naming what differs.
//!
//! For tests, `Ops::stop_after` (feature `test-utils`) ends a command right after a
//! named [`Step`] with nothing cleaned up, as a `kill -9` there would.

mod clone;
mod create;
mod delete;
mod error;
mod gateways;
mod lock;
mod request;
mod resize;
mod view;
mod wait;

#[cfg(test)]
mod tests;

pub use create::CreateOutcome;
pub use delete::DeleteOutcome;
pub use error::{Difference, OpsError};
pub use gateways::{GatewayState, GatewayView};
pub use request::{ChapMode, CreateRequest, DEFAULT_PORT, parse_gateway};
pub use resize::ResizeOutcome;
pub use view::{ExportInfo, ListEntry, ListedState, VolumeListing};

use super::layout;
use super::location::{ExportLocation, LocationError, VolumeAddr};
use super::name::ExportName;
use super::record::{Record, RecordError};
use super::store::{MetaStore, StoreOpener};
use std::sync::Arc;
use std::time::Duration;

/// The steps a test can stop a command after (`Ops::stop_after`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// create: the `creating` record is published.
    CreateRecordPublished,
    /// create: the image has its size (and its blocks, with `--prealloc`).
    CreateImageMade,
    /// create: the record says `ready`.
    CreateReady,
    /// create of a clone: the first chunk holding data is copied (more may follow).
    CloneChunkCopied,
    /// resize: the image has the new size.
    ResizeImageGrown,
    /// resize: the record has the new size.
    ResizeRecordUpdated,
    /// delete: the record says `deleting`.
    DeleteMarked,
    /// delete: the image is gone.
    DeleteImageRemoved,
    /// delete: the record is gone.
    DeleteRecordRemoved,
}

impl Step {
    /// Every step, in the order the commands take them.
    pub const ALL: [Step; 9] = [
        Step::CreateRecordPublished,
        Step::CreateImageMade,
        Step::CreateReady,
        Step::CloneChunkCopied,
        Step::ResizeImageGrown,
        Step::ResizeRecordUpdated,
        Step::DeleteMarked,
        Step::DeleteImageRemoved,
        Step::DeleteRecordRemoved,
    ];

    /// The step called `name` (its `Debug` form, as `CreateImageMade`).
    pub fn named(name: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| format!("{s:?}") == name)
    }
}

/// What a command tells its caller while it runs.
pub trait Observer {
    /// A line of progress (waiting for gateways, what was found).
    fn progress(&self, line: &str);
    /// The export at `location` changed on its volume: the place to ask a local daemon
    /// to look now rather than at its next poll.
    fn changed(&self, location: &ExportLocation);
    /// A decision is about to be taken on the gateways' reports of the export at
    /// `location` (a delete checks that nobody is logged in): the place to ask a local
    /// daemon to look now, so that its report is current.
    fn refresh(&self, _location: &ExportLocation) {}
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Observer for Quiet {
    fn progress(&self, _line: &str) {}
    fn changed(&self, _location: &ExportLocation) {}
}

/// How long commands wait for the gateways.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waits {
    /// The longest wait for the gateways to act on a change.
    pub timeout: Duration,
    /// How often their reports are read meanwhile.
    pub poll: Duration,
    /// How often a progress line is printed while waiting.
    pub progress_every: Duration,
    /// The longest wait for another command on the same export to finish.
    pub lock: Duration,
}

impl Default for Waits {
    fn default() -> Self {
        Waits {
            timeout: Duration::from_secs(60),
            poll: Duration::from_millis(500),
            progress_every: Duration::from_secs(5),
            lock: Duration::from_secs(30),
        }
    }
}

/// How a command names an export: `VOLUME@SERVER[+SERVER...]/NAME`, or a bare `NAME` looked
/// up in the configured volumes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportRef {
    At(ExportLocation),
    Bare(ExportName),
}

impl ExportRef {
    /// Parses either form.
    pub fn parse(given: &str) -> Result<ExportRef, LocationError> {
        if given.contains('/') || given.contains('@') {
            return ExportLocation::parse(given).map(ExportRef::At);
        }
        Ok(ExportRef::Bare(ExportName::parse(given)?))
    }

    /// The export's name.
    pub fn name(&self) -> &ExportName {
        match self {
            ExportRef::At(l) => &l.name,
            ExportRef::Bare(n) => n,
        }
    }
}

/// The commands, over the stores `opener` opens.
pub struct Ops<'a> {
    opener: &'a dyn StoreOpener,
    volumes: &'a [VolumeAddr],
    observer: &'a dyn Observer,
    waits: Waits,
    stop_after: Option<Step>,
}

impl std::fmt::Debug for Ops<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ops")
            .field("opener", &self.opener)
            .field("volumes", &self.volumes)
            .field("waits", &self.waits)
            .finish_non_exhaustive()
    }
}

/// An export's location and the store of its volume.
pub(crate) struct Found {
    pub location: ExportLocation,
    pub store: Arc<dyn MetaStore>,
}

impl<'a> Ops<'a> {
    /// Commands on the volumes `opener` opens; a bare name is looked up in `volumes`.
    pub fn new(
        opener: &'a dyn StoreOpener,
        volumes: &'a [VolumeAddr],
        observer: &'a dyn Observer,
    ) -> Self {
        Ops {
            opener,
            volumes,
            observer,
            waits: Waits::default(),
            stop_after: None,
        }
    }

    /// The same with other waits.
    pub fn with_waits(self, waits: Waits) -> Self {
        Ops { waits, ..self }
    }

    /// Test hook: every command ends right after `step` (with [`OpsError::Stopped`]),
    /// cleaning nothing up, as if killed there.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn stop_after(self, step: Option<Step>) -> Self {
        Ops {
            stop_after: step,
            ..self
        }
    }

    /// Marks `step` done: the end of the command when the test hook asks for it.
    fn done(&self, step: Step) -> Result<(), OpsError> {
        match self.stop_after {
            Some(stop) if stop == step => Err(OpsError::Stopped(step)),
            _ => Ok(()),
        }
    }

    /// The store of `volume`.
    fn open(&self, volume: &VolumeAddr) -> Result<Arc<dyn MetaStore>, OpsError> {
        self.opener.open(volume).map_err(OpsError::store(volume))
    }

    /// Where the export `r` is: its own volume, or the one configured volume holding a
    /// record of that name.
    pub(crate) fn locate(&self, r: &ExportRef) -> Result<Found, OpsError> {
        match r {
            ExportRef::At(location) => Ok(Found {
                store: self.open(&location.volume)?,
                location: location.clone(),
            }),
            ExportRef::Bare(name) => self.look_up(name),
        }
    }

    fn look_up(&self, name: &ExportName) -> Result<Found, OpsError> {
        if self.volumes.is_empty() {
            return Err(OpsError::NoVolumes {
                name: name.to_string(),
            });
        }
        let mut found = Vec::new();
        let mut failures = Vec::new();
        for volume in self.volumes {
            let store = match self.open(volume) {
                Ok(store) => store,
                Err(e) => {
                    failures.push(e);
                    continue;
                }
            };
            match store.read(&layout::record(name)) {
                Ok(Some(_)) => found.push(Found {
                    location: ExportLocation {
                        volume: volume.clone(),
                        name: name.clone(),
                    },
                    store,
                }),
                Ok(None) => {}
                Err(e) => failures.push(OpsError::store(volume)(e)),
            }
        }
        match (found.len(), failures.into_iter().next()) {
            (1, _) => Ok(found.remove(0)),
            (0, Some(failure)) => Err(failure),
            (0, None) => Err(OpsError::NotFound {
                name: name.to_string(),
                looked_in: join_volumes(self.volumes.iter()),
            }),
            _ => Err(OpsError::Ambiguous {
                name: name.to_string(),
                volumes: join_volumes(found.iter().map(|f| &f.location.volume)),
            }),
        }
    }

    /// The record of the export at `location`: `None` when there is none, an error naming
    /// it when it cannot be used.
    pub(crate) fn read_record(
        &self,
        store: &dyn MetaStore,
        location: &ExportLocation,
    ) -> Result<Option<Record>, OpsError> {
        let path = layout::record(&location.name);
        let Some(bytes) = store
            .read(&path)
            .map_err(OpsError::store(&location.volume))?
        else {
            return Ok(None);
        };
        parse_record(&bytes, location.name.as_str())
            .map(Some)
            .map_err(|source| OpsError::Corrupt {
                name: location.name.to_string(),
                volume: location.volume.to_string(),
                path,
                source,
            })
    }

    /// The record of an export that must exist.
    pub(crate) fn existing_record(&self, found: &Found) -> Result<Record, OpsError> {
        self.read_record(&*found.store, &found.location)?
            .ok_or_else(|| OpsError::NotFound {
                name: found.location.name.to_string(),
                looked_in: found.location.volume.to_string(),
            })
    }

    /// Replaces the record `from` with `to`, unless another command changed it since it
    /// was read: then the record as that command left it comes back instead. Under the
    /// export's lock, so this is a compare-and-swap.
    pub(crate) fn advance(
        &self,
        found: &Found,
        from: &Record,
        to: Record,
    ) -> Result<Advanced, OpsError> {
        let _held = self.lock(found)?;
        let current = self.existing_record(found)?;
        if current != *from {
            return Ok(Advanced::Moved(current));
        }
        let path = layout::record(&found.location.name);
        found
            .store
            .replace(&path, &to.to_json(), layout::RECORD_MODE)
            .map_err(OpsError::store(&found.location.volume))?;
        Ok(Advanced::Done(to))
    }

    /// The export `r` with its secrets, for `export manifest`.
    pub fn record(&self, r: &ExportRef) -> Result<(ExportLocation, Record), OpsError> {
        let found = self.locate(r)?;
        let record = self.existing_record(&found)?;
        Ok((found.location, record))
    }
}

/// What [`Ops::advance`] did.
pub(crate) enum Advanced {
    /// The record is now this.
    Done(Record),
    /// Another command changed the record first; this is what it is now.
    Moved(Record),
}

/// Parses the record in the file of export `name`: a valid record, for that name.
pub(crate) fn parse_record(bytes: &[u8], name: &str) -> Result<Record, RecordError> {
    let record = Record::from_json(bytes)?;
    if record.name != name {
        return Err(RecordError::Field {
            field: "name",
            reason: format!("{:?} in the record file of {name:?}", record.name),
        });
    }
    Ok(record)
}

/// How often a command starts over when another one changed the record under it.
const RETRIES: usize = 3;

fn join_volumes<'v>(volumes: impl Iterator<Item = &'v VolumeAddr>) -> String {
    let names: Vec<String> = volumes.map(ToString::to_string).collect();
    names.join(", ")
}
