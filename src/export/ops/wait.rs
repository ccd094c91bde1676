//! Bounded waits for the gateways to act on a change, with progress lines.
//!
//! Only gateways whose report is fresh are waited for: one that is down (stale report) or
//! never reported cannot answer, and catches up when it comes back, because the record
//! is what it converges to.

use super::gateways::{GatewayView, read_reports};
use super::{Found, Ops, OpsError};
use crate::export::record::Record;
use crate::export::report::unix_now;
use std::time::Instant;

impl Ops<'_> {
    /// Polls `pending` (what is still awaited, as names to print) until it is empty or
    /// the wait's time is up; returns what was still pending then.
    fn wait_for(
        &self,
        what: &str,
        mut pending: impl FnMut() -> Result<Vec<String>, OpsError>,
    ) -> Result<Vec<String>, OpsError> {
        let start = Instant::now();
        let mut last_note: Option<Instant> = None;
        loop {
            let left = pending()?;
            let waited = start.elapsed();
            if left.is_empty() || waited >= self.waits.timeout {
                return Ok(left);
            }
            if last_note.is_none_or(|t| t.elapsed() >= self.waits.progress_every) {
                self.observer.progress(&format!(
                    "waiting for {} to {what} ({}s of at most {}s)",
                    left.join(", "),
                    waited.as_secs(),
                    self.waits.timeout.as_secs()
                ));
                last_note = Some(Instant::now());
            }
            std::thread::sleep(self.waits.poll.min(self.waits.timeout - waited));
        }
    }

    /// Waits for every gateway that `record` names and that reports freshly to have acted
    /// on this generation of it (served it, or said why not); then each one's view.
    pub(crate) fn await_gateways(
        &self,
        found: &Found,
        record: &Record,
    ) -> Result<Vec<GatewayView>, OpsError> {
        let volume = &found.location.volume;
        let behind = || -> Result<Vec<String>, OpsError> {
            let reports = read_reports(&*found.store).map_err(OpsError::store(volume))?;
            let now = unix_now();
            let views = reports.views(&record.name, &record.gateways, now);
            Ok(views
                .iter()
                .filter(|v| v.named && is_behind(v, record.generation))
                .map(|v| v.gateway.to_string())
                .collect())
        };
        self.wait_for(&format!("serve {}", record.name), behind)?;
        self.views(found, record)
    }

    /// Waits for every gateway whose fresh report lists `name` to drop it; returns the
    /// ones that still list it when the wait is over.
    pub(crate) fn await_dropped(&self, found: &Found, name: &str) -> Result<Vec<String>, OpsError> {
        let volume = &found.location.volume;
        let serving = || -> Result<Vec<String>, OpsError> {
            let reports = read_reports(&*found.store).map_err(OpsError::store(volume))?;
            Ok(reports
                .serving(name, unix_now())
                .into_iter()
                .map(|(g, _)| g.to_string())
                .collect())
        };
        self.wait_for(&format!("drop {name}"), serving)
    }

    /// Each gateway's view of the export of `record`.
    pub(crate) fn views(
        &self,
        found: &Found,
        record: &Record,
    ) -> Result<Vec<GatewayView>, OpsError> {
        let reports =
            read_reports(&*found.store).map_err(OpsError::store(&found.location.volume))?;
        Ok(reports.views(&record.name, &record.gateways, unix_now()))
    }
}

/// A gateway with a fresh report that has not yet acted on `generation`.
fn is_behind(view: &GatewayView, generation: u64) -> bool {
    use super::gateways::GatewayState::*;
    match view.state {
        Pending => true,
        Ready | Error => view.generation.is_none_or(|g| g < generation),
        Stale | NoReport | Unreadable => false,
    }
}
