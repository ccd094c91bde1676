//! One configured volume as the gateway sees it: its store (kept open between passes),
//! the statuses last reported for its exports, and what was last written to it.

use super::records::{self, Records};
use crate::error_text::admin_message;
use crate::export::{
    ExportStatus, GatewayReport, MetaStore, StoreOpener, VolumeAddr, layout, report,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often temporary files are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(600);
/// A temporary file this old was left by a writer that crashed (a live one finishes in
/// seconds).
const TMP_AGE: Duration = Duration::from_secs(3600);

/// A volume of the gateway.
#[derive(Debug)]
pub(super) struct Volume {
    pub addr: VolumeAddr,
    store: Option<Arc<dyn MetaStore>>,
    /// The statuses of its exports on this gateway as of the last pass that read it;
    /// kept while it cannot be read, since its exports are left as they were.
    pub statuses: BTreeMap<String, ExportStatus>,
    /// Why it could not be read in the last pass.
    pub problem: Option<String>,
    /// The last report written to it, and when.
    written: Option<(GatewayReport, Instant)>,
    swept: Option<Instant>,
}

impl Volume {
    pub fn new(addr: VolumeAddr) -> Self {
        Self {
            addr,
            store: None,
            statuses: BTreeMap::new(),
            problem: None,
            written: None,
            swept: None,
        }
    }

    /// Its records, through the store opened by an earlier pass or a new one. After an
    /// error the store is dropped, so the next pass connects anew.
    pub fn read(&mut self, opener: &dyn StoreOpener) -> Result<Records, String> {
        let result = self.open_and_read(opener);
        self.problem = result.as_ref().err().cloned();
        result
    }

    fn open_and_read(&mut self, opener: &dyn StoreOpener) -> Result<Records, String> {
        let store = match self.store.take() {
            Some(store) => store,
            None => opener
                .open(&self.addr)
                .map_err(|e| format!("cannot open volume {}: {}", self.addr, admin_message(&e)))?,
        };
        let records = records::read(&*store, &self.addr).map_err(|e| {
            let why = admin_message(&e);
            format!("cannot read the records on volume {}: {why}", self.addr)
        })?;
        self.store = Some(store);
        Ok(records)
    }

    /// Removes temporary files crashed writers left, every [`SWEEP_EVERY`].
    pub fn sweep(&mut self) {
        let Some(store) = &self.store else { return };
        if self.swept.is_some_and(|t| t.elapsed() < SWEEP_EVERY) {
            return;
        }
        self.swept = Some(Instant::now());
        match store.sweep_tmp(TMP_AGE) {
            Ok(0) => {}
            Ok(n) => tracing::info!(volume = %self.addr, "removed {n} stale temporary files"),
            Err(e) => tracing::debug!(volume = %self.addr, "temporary files not swept: {e}"),
        }
    }

    /// Writes `report` when it says something new, or when the last one is `heartbeat`
    /// old (so readers can tell a live gateway from a gone one). True when written.
    pub fn publish(&mut self, report: &GatewayReport, heartbeat: Duration) -> Result<bool, String> {
        let fresh = self
            .written
            .as_ref()
            .is_some_and(|(last, at)| last.same_content(report) && at.elapsed() < heartbeat);
        let Some(store) = &self.store else {
            return Ok(false);
        };
        if fresh {
            return Ok(false);
        }
        let path = layout::report(&report.gateway);
        let written = store
            .ensure_folders()
            .and_then(|()| store.replace(&path, &report.to_json(), layout::REPORT_MODE));
        if let Err(e) = written {
            self.store = None;
            let why = admin_message(&e);
            return Err(format!(
                "cannot write {path} on volume {}: {why}",
                self.addr
            ));
        }
        self.written = Some((report.clone(), Instant::now()));
        Ok(true)
    }
}

/// This gateway's report: the `exports` of one volume (or of all, for the control
/// socket), and `problem` if the gateway as a whole has one.
pub(super) fn report_of(
    gateway: std::net::SocketAddr,
    poll_secs: u64,
    problem: Option<String>,
    exports: BTreeMap<String, ExportStatus>,
) -> GatewayReport {
    GatewayReport {
        version: report::REPORT_VERSION,
        gateway,
        updated: report::unix_now(),
        poll_secs,
        problem,
        exports,
    }
}
