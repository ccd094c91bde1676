//! `export create`: check everything, publish a `creating` record (or adopt the one a
//! create of the same export made), make the image, mark the record `ready`.

use super::gateways::GatewayView;
use super::request::CreateRequest;
use super::{Advanced, Found, Ops, OpsError, RETRIES, Step};
use crate::export::layout;
use crate::export::location::ExportLocation;
use crate::export::record::{Record, State};
use crate::export::store::{Fencing, StoreError};
use std::time::Duration;

/// Temporary files older than this are a crashed writer's, swept by a create.
const TMP_AGE: Duration = Duration::from_secs(3600);

/// What `export create` made (or found made by an earlier create of the same).
#[derive(Debug, Clone)]
pub struct CreateOutcome {
    pub location: ExportLocation,
    /// The record, with its secrets (the admin needs them).
    pub record: Record,
    pub gateways: Vec<GatewayView>,
}

/// An export with several gateways needs a volume that can fence its image (refused
/// before anything is written for it).
fn check_fencing(found: &Found, req: &CreateRequest) -> Result<(), OpsError> {
    if !crate::export::record::is_multipath(&req.gateways) {
        return Ok(());
    }
    let volume = &found.location.volume;
    let fencing = found.store.fencing().map_err(OpsError::store(volume))?;
    if fencing == Fencing::Ready {
        return Ok(());
    }
    Err(OpsError::NotForHa {
        name: found.location.name.to_string(),
        volume: volume.to_string(),
        gateways: req.gateways.len(),
        why: fencing.remedy(),
    })
}

impl Ops<'_> {
    /// `export create`: see the module documentation. Run again after any failure (or a
    /// kill), it finishes what the first run began.
    pub fn create(&self, req: &CreateRequest) -> Result<CreateOutcome, OpsError> {
        req.check()?;
        let fresh = req.new_record()?;
        let found = Found {
            store: self.open(&req.location.volume)?,
            location: req.location.clone(),
        };
        let claimed = self.claim(&found, req, fresh)?;
        let record = self.finish_create(&found, req, claimed)?;
        self.observer.changed(&found.location);
        let gateways = self.await_gateways(&found, &record)?;
        Ok(CreateOutcome {
            location: found.location,
            record,
            gateways,
        })
    }

    /// The export's record: the one there (when it asked the same), or `fresh`, published.
    fn claim(&self, found: &Found, req: &CreateRequest, fresh: Record) -> Result<Record, OpsError> {
        if let Some(existing) = self.read_record(&*found.store, &found.location)? {
            let adopted = req.adopt(existing)?;
            self.observer.progress(&match adopted.state {
                State::Creating => format!("finishing the unfinished create of {}", adopted.name),
                _ => format!("export {} exists with the same settings", adopted.name),
            });
            return Ok(adopted);
        }
        self.check_clone_source(found, req)?;
        self.check_room(found, req)?;
        let volume = &found.location.volume;
        found
            .store
            .ensure_folders()
            .map_err(OpsError::store(volume))?;
        if let Err(e) = found.store.sweep_tmp(TMP_AGE) {
            self.observer
                .progress(&format!("old temporary files left: {e}"));
        }
        check_fencing(found, req)?;
        let path = layout::record(&found.location.name);
        match found
            .store
            .publish(&path, &fresh.to_json(), layout::RECORD_MODE)
        {
            Ok(()) => {
                self.done(Step::CreateRecordPublished)?;
                Ok(fresh)
            }
            Err(StoreError::Exists { .. }) => req.adopt(self.existing_record(found)?),
            Err(e) => Err(OpsError::store(volume)(e)),
        }
    }

    /// Before a new record: no stray image of that name, and room for the image.
    fn check_room(&self, found: &Found, req: &CreateRequest) -> Result<(), OpsError> {
        let volume = &found.location.volume;
        let image = layout::image(&found.location.name);
        let store = &*found.store;
        if store
            .size_of(&image)
            .map_err(OpsError::store(volume))?
            .is_some()
        {
            // A create that won a race since the record was read made it: the publish
            // then finds its record.
            if self.read_record(store, &found.location)?.is_some() {
                return Ok(());
            }
            return Err(OpsError::OrphanImage {
                volume: volume.to_string(),
                image,
            });
        }
        let free = store.free_bytes().map_err(OpsError::store(volume))?;
        if req.size > free {
            return Err(OpsError::NoSpace {
                name: found.location.name.to_string(),
                volume: volume.to_string(),
                needed: req.size,
                free,
            });
        }
        Ok(())
    }

    /// From a `creating` record to a `ready` one with its image.
    fn finish_create(
        &self,
        found: &Found,
        req: &CreateRequest,
        mut record: Record,
    ) -> Result<Record, OpsError> {
        for _ in 0..RETRIES {
            match record.state {
                State::Ready => return self.check_image(found, &record).map(|()| record),
                State::Deleting => return req.adopt(record),
                State::Creating => {}
            }
            if record.clone_of.is_some() {
                return self.finish_clone(found, req, record);
            }
            self.make_image(found, &record)?;
            let ready = Record {
                state: State::Ready,
                generation: record.generation + 1,
                ..record.clone()
            };
            match self.advance(found, &record, ready)? {
                Advanced::Done(ready) => {
                    self.done(Step::CreateReady)?;
                    return Ok(ready);
                }
                Advanced::Moved(current) => record = req.adopt(current)?,
            }
        }
        Err(OpsError::Raced {
            name: record.name.clone(),
        })
    }

    pub(super) fn make_image(&self, found: &Found, record: &Record) -> Result<(), OpsError> {
        let grown = found
            .store
            .grow(
                &record.image,
                record.size,
                record.prealloc,
                layout::IMAGE_MODE,
            )
            .map_err(OpsError::store(&found.location.volume))?;
        self.observer
            .progress(&format!("image {}: {}", record.image, grown.describe()));
        self.done(Step::CreateImageMade)
    }

    /// A `ready` export's image is there, at least as large as the record says.
    pub(crate) fn check_image(&self, found: &Found, record: &Record) -> Result<(), OpsError> {
        let size = found
            .store
            .size_of(&record.image)
            .map_err(OpsError::store(&found.location.volume))?;
        match size {
            Some(n) if n >= record.size => Ok(()),
            found_size => Err(OpsError::ImageLost {
                name: record.name.clone(),
                state: record.state.to_string(),
                image: record.image.clone(),
                size: record.size,
                found: found_size,
            }),
        }
    }
}
