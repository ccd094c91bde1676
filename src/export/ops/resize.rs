//! `export resize`: grow a ready export, online. The image grows first and the record
//! follows, so a gateway is never told of a size the image does not have yet; a kill in
//! between leaves an image larger than its record, which the same resize, run again,
//! finishes. One exception: the image of an HA export whose LUN is active somewhere is
//! locked by that gateway (docs/HA.md), and only the lock's holder may change it. Then the
//! record goes first, the active gateway grows the image when it resizes its LUN, and
//! the standby gateways, whose LUN resize fails until then, follow on their next pass.

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
        match store.grow(&image, size, record.prealloc, layout::IMAGE_MODE) {
            Ok(grown) => self
                .observer
                .progress(&format!("image {image}: {}", grown.describe())),
            Err(e) if held_by_a_gateway(record, &e) => self.observer.progress(&format!(
                "image {image}: held by the active gateway, which grows it with its LUN"
            )),
            Err(e) => return Err(err(e)),
        }
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

/// Whether `error` of growing the image of `record` means another gateway holds its image
/// lock: the bricks refuse the truncate of a locked image with EAGAIN (or EBUSY), and
/// only a multipath export's image is ever locked.
fn held_by_a_gateway(record: &Record, error: &crate::export::store::StoreError) -> bool {
    crate::export::record::is_multipath(&record.gateways)
        && matches!(error.errno(), Some(libc::EAGAIN | libc::EBUSY))
}
