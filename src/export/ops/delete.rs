//! `export delete`: refuse while initiators are logged in (unless forced), mark the record
//! `deleting`, wait for the gateways that report freshly to drop the export, then remove
//! the image and, last, the record.

use super::{Advanced, ExportRef, Found, Ops, OpsError, RETRIES, Step};
use crate::export::layout;
use crate::export::location::ExportLocation;
use crate::export::record::{Record, State};
use crate::export::report::unix_now;

/// What `export delete` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteOutcome {
    pub location: ExportLocation,
    /// Gateways that still listed the export when it was removed (`--force` only).
    pub still_served_by: Vec<String>,
    /// The record could not be read and was removed as it was (`--force` only).
    pub corrupt: bool,
}

impl Ops<'_> {
    /// `export delete`: see the module documentation. Run again after any failure (or a
    /// kill), it finishes what the first run began.
    pub fn delete(&self, r: &ExportRef, force: bool) -> Result<DeleteOutcome, OpsError> {
        let found = self.locate(r)?;
        let record = match self.existing_record(&found) {
            Err(OpsError::Corrupt { .. }) if force => return self.remove_corrupt(&found),
            other => other?,
        };
        if record.state != State::Deleting {
            // A gateway of this host reports sessions at its next pass; a logout made
            // since must not refuse the delete.
            self.observer.refresh(&found.location);
        }
        let record = self.mark_deleting(&found, record, force)?;
        self.observer.changed(&found.location);
        let still = self.await_dropped(&found, &record.name)?;
        if !still.is_empty() && !force {
            return Err(OpsError::StillServed {
                name: record.name,
                gateways: still,
                waited: self.waits.timeout,
            });
        }
        self.remove_files(&found)?;
        Ok(DeleteOutcome {
            location: found.location,
            still_served_by: still,
            corrupt: false,
        })
    }

    /// The record, marked `deleting` (unless it was already), once nobody is logged in.
    fn mark_deleting(
        &self,
        found: &Found,
        mut record: Record,
        force: bool,
    ) -> Result<Record, OpsError> {
        for _ in 0..RETRIES {
            if record.state == State::Deleting {
                return Ok(record);
            }
            self.refuse_sessions(found, &record, force)?;
            let deleting = Record {
                state: State::Deleting,
                generation: record.generation + 1,
                ..record.clone()
            };
            match self.advance(found, &record, deleting)? {
                Advanced::Done(marked) => {
                    self.done(Step::DeleteMarked)?;
                    return Ok(marked);
                }
                Advanced::Moved(current) => record = current,
            }
        }
        Err(OpsError::Raced { name: record.name })
    }

    /// Fails when a fresh gateway report shows an initiator logged in, unless `force`.
    fn refuse_sessions(&self, found: &Found, record: &Record, force: bool) -> Result<(), OpsError> {
        let reports = super::gateways::read_reports(&*found.store)
            .map_err(OpsError::store(&found.location.volume))?;
        let sessions = reports.sessions(&record.name, unix_now());
        if sessions.is_empty() {
            return Ok(());
        }
        if force {
            self.observer.progress(&format!(
                "deleting {} with initiators logged in: {}",
                record.name,
                sessions.join(", ")
            ));
            return Ok(());
        }
        Err(OpsError::Sessions {
            name: record.name.clone(),
            sessions,
        })
    }

    /// Removes the image, what killed commands left in the temporary folder, then the
    /// record, under the export's lock.
    fn remove_files(&self, found: &Found) -> Result<(), OpsError> {
        let _held = self.lock(found)?;
        let store = &*found.store;
        let err = OpsError::store(&found.location.volume);
        let name = &found.location.name;
        store.remove(&layout::image(name)).map_err(&err)?;
        self.done(Step::DeleteImageRemoved)?;
        for tmp in store.list(layout::TMP).map_err(&err)? {
            let ours = tmp != format!("{name}.lock"); // held: released last
            if ours && layout::is_leftover_of(&tmp, name) {
                store
                    .remove(&format!("{}/{tmp}", layout::TMP))
                    .map_err(&err)?;
            }
        }
        store.remove(&layout::record(name)).map_err(err)?;
        self.done(Step::DeleteRecordRemoved)
    }

    /// `--force` on a record that cannot be read: its image and the record go as they are
    /// (gateways drop an export whose record is gone).
    fn remove_corrupt(&self, found: &Found) -> Result<DeleteOutcome, OpsError> {
        self.observer.progress(&format!(
            "removing the unreadable record of {} and its image",
            found.location.name
        ));
        self.remove_files(found)?;
        Ok(DeleteOutcome {
            location: found.location.clone(),
            still_served_by: Vec::new(),
            corrupt: true,
        })
    }
}
