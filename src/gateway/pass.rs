//! [`Gateway`]: one pass makes LIO match the records of the configured volumes and
//! reports the outcome on each volume.

use super::GatewayError;
use super::log_once::LogOnce;
use super::paths::{LunPaths, NoPaths};
use super::plan::{Plan, Want, error_status, plan};
use super::portal;
use super::volume::{Volume, report_of};
use crate::error_text::admin_message;
use crate::export::{ExportStatus, GatewayReport, StatusState, StoreOpener, report};
use crate::lio::{ApplyReport, ConfigFs, Drift, Lio, OwnedExport, StdFs};
use crate::settings::ExportsSettings;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The ownership journal's file in the state directory.
pub const JOURNAL_FILE: &str = "lio-owned.toml";
/// A report is written again after this long even when nothing changed: well within
/// the age at which readers take it for stale (`report::STALE_MIN_SECS`, 30 s at the
/// least), even when a pass comes a polling period late or takes a volume's connection
/// deadline.
pub const HEARTBEAT: Duration = Duration::from_secs(report::STALE_MIN_SECS / 3);

/// The gateway: its portal, its volumes, and LIO.
#[derive(Debug)]
pub struct Gateway<F: ConfigFs = StdFs> {
    portal: SocketAddr,
    poll_secs: u64,
    volumes: Vec<Volume>,
    opener: Arc<dyn StoreOpener>,
    lio: Lio<F>,
    heartbeat: Duration,
    logged: LogOnce,
    paths: Arc<dyn LunPaths>,
}

impl<F: ConfigFs> Gateway<F> {
    /// The gateway of `settings`, over the configfs tree `fs` (at `settings.configfs`),
    /// opening its volumes through `opener`. Makes the state directory (mode 0700) and
    /// loads the ownership journal from it.
    pub fn open(
        settings: &ExportsSettings,
        opener: Arc<dyn StoreOpener>,
        fs: F,
    ) -> Result<Self, GatewayError> {
        make_state_dir(&settings.state_dir)?;
        let journal = settings.state_dir.join(JOURNAL_FILE);
        Ok(Self {
            portal: settings.portal,
            poll_secs: settings.poll.as_secs(),
            volumes: settings.volumes.iter().cloned().map(Volume::new).collect(),
            opener,
            lio: Lio::open(fs, &settings.configfs, journal)?,
            heartbeat: HEARTBEAT,
            logged: LogOnce::default(),
            paths: Arc::new(NoPaths),
        })
    }

    /// Where the reports' path states of HA exports come from (none until set).
    pub fn set_paths(&mut self, paths: Arc<dyn LunPaths>) {
        self.paths = paths;
    }

    /// Writes reports after `every` even when unchanged (tests shorten it).
    pub fn set_heartbeat(&mut self, every: Duration) {
        self.heartbeat = every;
    }

    /// LIO as the gateway sees it (tests look at their fake tree through it).
    pub fn lio(&self) -> &Lio<F> {
        &self.lio
    }

    /// One pass: check the portal; read every volume's records; remove from LIO the
    /// exports no longer wanted (except those of a volume that could not be read, or
    /// whose record could not be used); apply every wanted export (an error is that
    /// export's status, never the end of the pass); write each readable volume's report
    /// (if it changed, or as a heartbeat). Returns the report of all volumes together.
    pub fn pass(&mut self) -> GatewayReport {
        let portal_problem = self.check_portal();
        let reads: Vec<Option<_>> = (0..self.volumes.len()).map(|v| self.read(v)).collect();
        let plan = plan(
            &reads.iter().map(Option::as_ref).collect::<Vec<_>>(),
            self.portal,
        );
        let unread: BTreeSet<usize> = (0..reads.len()).filter(|v| reads[*v].is_none()).collect();
        let present = self.remove_unwanted(&plan, &unread);
        let mut statuses: Vec<BTreeMap<String, ExportStatus>> = vec![BTreeMap::new(); reads.len()];
        let problem = match (&portal_problem, plan.wants.is_empty()) {
            (Some(p), _) => Some(p.clone()),
            (None, false) => self.iscsi_problem(),
            (None, true) => None,
        };
        for want in &plan.wants {
            let status = self.converge(want, &present, problem.as_deref());
            statuses[want.volume].insert(want.lun.name.as_str().to_owned(), status);
        }
        for (v, name, status) in plan.errors {
            self.note(&name, &status);
            statuses[v].insert(name, status);
        }
        for (v, exports) in statuses.into_iter().enumerate() {
            if !unread.contains(&v) {
                self.publish(v, exports, portal_problem.clone());
            }
        }
        self.merged(portal_problem)
    }

    /// Why the portal cannot be served here, logged when that changes.
    fn check_portal(&mut self) -> Option<String> {
        let problem = portal::problem(self.portal.ip());
        if self
            .logged
            .changed("portal", problem.as_deref().unwrap_or(""))
        {
            match &problem {
                Some(p) => tracing::error!("exports not applied: {p}"),
                None => tracing::info!(portal = %self.portal, "serving exports on this portal"),
            }
        }
        problem
    }

    /// Why LIO's iSCSI fabric cannot be used, if it cannot; logged when that changes.
    fn iscsi_problem(&mut self) -> Option<String> {
        let problem = self.make_iscsi_fabric();
        let text = problem.as_deref().unwrap_or("");
        if self.logged.changed("iscsi", text) && !text.is_empty() {
            tracing::error!("exports not applied: {text}");
        }
        problem
    }

    /// Makes LIO's iSCSI fabric directory if it is missing: it appears when the kernel
    /// module is loaded, which a `mkdir` of it does (as targetcli does). It is shared by
    /// every iSCSI target on the host and never removed.
    fn make_iscsi_fabric(&self) -> Option<String> {
        let iscsi = self.lio.root().join("iscsi");
        let fs = self.lio.fs();
        if fs.exists(&iscsi) {
            return None;
        }
        let made = fs.mkdir(&iscsi);
        made.err().map(|e| {
            format!(
                "LIO's iSCSI target is not available (mkdir {}: {e}; is the kernel module \
                 iscsi_target_mod installed?)",
                iscsi.display()
            )
        })
    }

    /// The records of volume `v`, or `None` (logged when that changes) if it cannot be
    /// read: its exports then keep their LIO objects and their last statuses.
    fn read(&mut self, v: usize) -> Option<super::records::Records> {
        let volume = &mut self.volumes[v];
        let result = volume.read(&*self.opener);
        let key = format!("volume {}", volume.addr);
        let text = result.as_ref().err().map_or("", String::as_str);
        if self.logged.changed(&key, text) {
            match &result {
                Err(e) => tracing::warn!("{e}; its exports are left as they are"),
                Ok(_) => tracing::info!(volume = %volume.addr, "reading export records"),
            }
        }
        volume.sweep();
        result.ok()
    }

    /// Removes every owned export `plan` does not want, unless it may belong to a
    /// volume in `unread`. Returns the names whose LIO objects were present before.
    fn remove_unwanted(&mut self, plan: &Plan, unread: &BTreeSet<usize>) -> BTreeSet<String> {
        let owned = match self.lio.observe() {
            Ok(owned) => owned,
            Err(e) => {
                tracing::warn!(
                    "cannot list the LIO objects of exports: {}",
                    admin_message(&e)
                );
                return BTreeSet::new();
            }
        };
        let present = owned
            .iter()
            .filter(|o| o.backstore_present || o.target_present)
            .map(|o| o.name.clone())
            .collect();
        for o in owned {
            if !plan.wanted(&o.name) && !self.may_be_unread(&o, unread) {
                self.remove(&o.name);
            }
        }
        present
    }

    /// Whether `owned` may be an export of a volume that could not be read: its storage
    /// object's config string names one, or names none and some volume was not read.
    fn may_be_unread(&self, owned: &OwnedExport, unread: &BTreeSet<usize>) -> bool {
        if unread.is_empty() {
            return false;
        }
        match owner_volume(&self.lio, owned) {
            Some(name) => unread.iter().any(|v| self.volumes[*v].addr.volume == name),
            None => true,
        }
    }

    fn remove(&mut self, name: &str) {
        match self.lio.remove(name) {
            Ok(report) => {
                self.logged.forget(&format!("export {name}"));
                self.logged.forget(&format!("remove {name}"));
                if !report.changes.is_empty() {
                    tracing::info!(export = name, "export removed");
                }
            }
            Err(e) => {
                let why = admin_message(&e);
                if self.logged.changed(&format!("remove {name}"), &why) {
                    tracing::warn!(export = name, "cannot remove the export from LIO: {why}");
                }
            }
        }
    }

    /// Applies `want` unless the gateway has a `problem` (then the export's error); the
    /// export's status.
    fn converge(
        &mut self,
        want: &Want,
        present: &BTreeSet<String>,
        problem: Option<&str>,
    ) -> ExportStatus {
        let name = want.lun.name.as_str();
        let mut status = match problem {
            Some(p) => error_status(p.to_owned(), want.generation),
            None => match self.lio.apply(&want.lun) {
                Ok(report) => {
                    self.log_applied(want, &report, present.contains(name));
                    applied_status(want, &report.drift)
                }
                Err(e) => error_status(admin_message(&e), want.generation),
            },
        };
        status.sessions = self.lio.sessions(&want.lun.target).unwrap_or_default();
        if want.lun.alua.is_some() && status.state == StatusState::Ready {
            status.path = self.paths.path(name);
        }
        self.note(name, &status);
        status
    }

    fn log_applied(&mut self, want: &Want, report: &ApplyReport, was_present: bool) {
        let name = want.lun.name.as_str();
        let generation = want.generation;
        let changed = !report.is_noop();
        if changed && !was_present {
            tracing::info!(export = name, generation, "export added");
        } else if changed {
            tracing::info!(export = name, generation, "export updated");
        }
        if changed {
            // Logged as it is now; `note` stays quiet about the same state.
            self.logged.changed(&format!("export {name}"), "ready");
        }
    }

    /// Logs an export's state when it changed since the last pass.
    fn note(&mut self, name: &str, status: &ExportStatus) {
        let text = match (&status.state, &status.reason) {
            (StatusState::Ready, _) => "ready",
            (StatusState::Error, reason) => reason.as_deref().unwrap_or("error"),
        };
        if !self.logged.changed(&format!("export {name}"), text) {
            return;
        }
        let generation = status.generation;
        match status.state {
            StatusState::Ready => tracing::info!(export = name, generation, "export ready"),
            StatusState::Error => tracing::warn!(export = name, generation, "export: {text}"),
        }
    }

    /// Writes volume `v`'s report and keeps its statuses.
    fn publish(
        &mut self,
        v: usize,
        exports: BTreeMap<String, ExportStatus>,
        problem: Option<String>,
    ) {
        let report = report_of(self.portal, self.poll_secs, problem, exports);
        let volume = &mut self.volumes[v];
        volume.statuses = report.exports.clone();
        let outcome = volume.publish(&report, self.heartbeat);
        let key = format!("report {}", volume.addr);
        let text = match &outcome {
            Ok(false) => return,
            Ok(true) => "",
            Err(e) => e.as_str(),
        };
        if self.logged.changed(&key, text) {
            // From its first report on, `export create` (and the CSI driver) wait for this
            // gateway to act on a new record; before it they cannot tell it is there.
            match outcome {
                Ok(_) => tracing::info!(volume = %volume.addr, "reporting on the volume"),
                Err(e) => tracing::warn!("{e}"),
            }
        }
    }

    /// The report of every volume together: the exports of the volumes read in this
    /// pass and the last known ones of the others, whose read errors join `problem`.
    fn merged(&self, portal_problem: Option<String>) -> GatewayReport {
        let mut exports = BTreeMap::new();
        let mut problems: Vec<String> = portal_problem.into_iter().collect();
        for volume in &self.volumes {
            exports.extend(volume.statuses.clone());
            problems.extend(volume.problem.clone());
        }
        let problem = (!problems.is_empty()).then(|| problems.join("; "));
        report_of(self.portal, self.poll_secs, problem, exports)
    }
}

/// The status of an export `apply` succeeded for: ready, unless LIO keeps attributes
/// the record asks otherwise (a live LUN's config string, serial, `hw_max_sectors` or
/// command timeout cannot change while it is exported).
fn applied_status(want: &Want, drift: &[Drift]) -> ExportStatus {
    if drift.is_empty() {
        return ExportStatus {
            state: StatusState::Ready,
            reason: None,
            size: want.lun.size,
            generation: want.generation,
            sessions: Vec::new(),
            path: None,
        };
    }
    let kept: Vec<String> = drift
        .iter()
        .map(|d| {
            format!(
                "{} is {} (the record asks {})",
                d.attribute, d.current, d.wanted
            )
        })
        .collect();
    let reason = format!(
        "served, but LIO cannot change a live LUN's {}: remove the export from this \
         gateway and let it be applied again",
        kept.join(", ")
    );
    ExportStatus {
        size: want.lun.size,
        ..error_status(reason, want.generation)
    }
}

/// The volume named by the config string of an owned storage object
/// (`core/user_<H>/<name>`, `glfs/VOLUME@SERVERS/PATH`), if it exists.
fn owner_volume<F: ConfigFs>(lio: &Lio<F>, owned: &OwnedExport) -> Option<String> {
    let h = owned.hba.filter(|_| owned.backstore_present)?;
    let path = lio
        .root()
        .join(format!("core/user_{h}/{}/attrib/dev_config", owned.name));
    let config = lio.fs().read(&path).ok()?;
    let (volume, _) = config.trim().strip_prefix("glfs/")?.split_once('@')?;
    Some(volume.to_owned())
}

/// Makes the state directory, readable by root only.
fn make_state_dir(dir: &Path) -> Result<(), GatewayError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| GatewayError::StateDir {
            path: dir.to_path_buf(),
            source,
        })
}
