//! `export resize`: grow a ready export, online. The image grows first and the record
//! follows, so a gateway is never told of a size the image does not have yet; a kill in
//! between leaves an image larger than its record, which the same resize, run again,
//! finishes.

use super::gateways::GatewayView;
use super::request::check_size;
use super::{Advanced, ExportRef, Found, Ops, OpsError, RETRIES, Step};
use crate::export::layout;
use crate::export::location::ExportLocation;
use crate::export::record::{Record, State};

/// What `export resize` did.
#[derive(Debug, Clone)]
pub struct ResizeOutcome {
    pub location: ExportLocation,
    /// The size before, in bytes.
    pub previous_size: u64,
    /// The record now.
    pub record: Record,
    pub gateways: Vec<GatewayView>,
}

impl Ops<'_> {
    /// `export resize`: see the module documentation. Asking for the size the export has
    /// changes nothing (and finishes a resize to that size that was cut short).
    pub fn resize(&self, r: &ExportRef, size: u64) -> Result<ResizeOutcome, OpsError> {
        check_size(size)?;
        let found = self.locate(r)?;
        let mut record = self.existing_record(&found)?;
        let previous_size = record.size;
        for _ in 0..RETRIES {
            self.check_resizable(&found, &record, size)?;
            self.grow_image(&found, &record, size)?;
            if record.size == size {
                return self.resized(found, previous_size, record);
            }
            let bigger = Record {
                size,
                generation: record.generation + 1,
                ..record.clone()
            };
            match self.advance(&found, &record, bigger)? {
                Advanced::Done(bigger) => {
                    self.done(Step::ResizeRecordUpdated)?;
                    return self.resized(found, previous_size, bigger);
                }
                Advanced::Moved(current) => record = current,
            }
        }
        Err(OpsError::Raced { name: record.name })
    }

    /// A ready export asked not to shrink.
    fn check_resizable(&self, found: &Found, record: &Record, size: u64) -> Result<(), OpsError> {
        let name = record.name.clone();
        match record.state {
            State::Ready => {}
            State::Creating => return Err(OpsError::BeingCreated { name }),
            State::Deleting => {
                let volume = found.location.volume.to_string();
                return Err(OpsError::BeingDeleted { name, volume });
            }
        }
        if size < record.size {
            return Err(OpsError::Shrink {
                name,
                size: record.size,
                asked: size,
            });
        }
        Ok(())
    }

    /// Grows the image to `size` after checking there is room for it.
    fn grow_image(&self, found: &Found, record: &Record, size: u64) -> Result<(), OpsError> {
        let store = &*found.store;
        let err = OpsError::store(&found.location.volume);
        let image = layout::image(&found.location.name);
        let Some(current) = store.size_of(&image).map_err(&err)? else {
            return self.check_image(found, record);
        };
        if current > size {
            return Err(OpsError::UnfinishedResize {
                name: record.name.clone(),
                image: current,
                asked: size,
            });
        }
        if current < size {
            let free = store.free_bytes().map_err(&err)?;
            if size - current > free {
                return Err(OpsError::NoSpace {
                    name: record.name.clone(),
                    volume: found.location.volume.to_string(),
                    needed: size - current,
                    free,
                });
            }
        }
        let grown = store
            .grow(&image, size, record.prealloc, layout::IMAGE_MODE)
            .map_err(&err)?;
        self.observer
            .progress(&format!("image {image}: {}", grown.describe()));
        self.done(Step::ResizeImageGrown)
    }

    fn resized(
        &self,
        found: Found,
        previous_size: u64,
        record: Record,
    ) -> Result<ResizeOutcome, OpsError> {
        self.observer.changed(&found.location);
        let gateways = self.await_gateways(&found, &record)?;
        Ok(ResizeOutcome {
            location: found.location,
            previous_size,
            record,
            gateways,
        })
    }
}
