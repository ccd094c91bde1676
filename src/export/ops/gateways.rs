//! What the gateways say of an export, from their reports on the volume: how `info`
//! shows each gateway, what `delete` waits for, and who is logged in.

use crate::export::layout;
use crate::export::report::{ExportStatus, GatewayReport, PathStatus, StatusState};
use crate::export::store::{MetaStore, StoreError};
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// How one export stands on one gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GatewayState {
    /// The gateway serves it.
    Ready,
    /// The gateway tried and failed (`reason` says why).
    Error,
    /// The gateway's report is fresh but does not list the export (yet).
    Pending,
    /// The gateway has not reported for a while: down, or cut off from the volume.
    Stale,
    /// There is no report of this gateway on the volume.
    NoReport,
    /// The gateway's report cannot be read.
    Unreadable,
}

impl GatewayState {
    /// The word tables show.
    pub fn as_str(self) -> &'static str {
        match self {
            GatewayState::Ready => "ready",
            GatewayState::Error => "error",
            GatewayState::Pending => "pending",
            GatewayState::Stale => "stale",
            GatewayState::NoReport => "no-report",
            GatewayState::Unreadable => "unreadable",
        }
    }
}

/// One gateway's view of one export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GatewayView {
    /// The portal, `IP:PORT`.
    pub gateway: SocketAddr,
    /// The export's record names this gateway.
    pub named: bool,
    pub state: GatewayState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Initiators logged in through this gateway.
    pub sessions: Vec<String>,
    /// The size LIO serves there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The record generation that state is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation: Option<u64>,
    /// When the gateway last reported (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<u64>,
    /// For an export with several gateways: the path through this gateway (its ALUA
    /// state, takeovers, fenced requests), by a fresh report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathStatus>,
}

impl GatewayView {
    /// Whether this gateway is the export's active one (writes the image), by a fresh
    /// report.
    pub fn is_active(&self) -> bool {
        self.path.is_some_and(|p| p.access.is_active())
    }
}

/// Every gateway report on a volume.
#[derive(Debug, Default)]
pub(crate) struct Reports {
    by_gateway: BTreeMap<SocketAddr, GatewayReport>,
    /// Reports that cannot be read, by the portal their file is named after.
    unreadable: BTreeMap<SocketAddr, String>,
}

/// Reads the reports in [`layout::GATEWAYS`]. One that cannot be parsed is kept as
/// unreadable (with the reason); one that cannot be read at all fails the call.
pub(crate) fn read_reports(store: &dyn MetaStore) -> Result<Reports, StoreError> {
    let mut reports = Reports::default();
    for file in store.list(layout::GATEWAYS)? {
        let Some(portal) = file.strip_suffix(".json") else {
            continue;
        };
        let Some(bytes) = store.read(&format!("{}/{file}", layout::GATEWAYS))? else {
            continue;
        };
        match (GatewayReport::from_json(&bytes), portal.parse()) {
            (Ok(report), _) => {
                reports.by_gateway.insert(report.gateway, report);
            }
            (Err(e), Ok(portal)) => {
                reports.unreadable.insert(portal, e.to_string());
            }
            (Err(_), Err(_)) => {}
        }
    }
    Ok(reports)
}

impl Reports {
    /// Each gateway's view of export `name`: the gateways `named` by its record, in
    /// their order, then any other gateway whose fresh report still lists it.
    pub fn views(&self, name: &str, named: &[SocketAddr], now: u64) -> Vec<GatewayView> {
        let others = self
            .serving(name, now)
            .into_iter()
            .map(|(g, _)| g)
            .filter(|g| !named.contains(g));
        let mut views: Vec<GatewayView> = named.iter().map(|g| self.view(name, *g, now)).collect();
        views.extend(others.map(|g| GatewayView {
            named: false,
            ..self.view(name, g, now)
        }));
        views
    }

    /// Fresh reports that list export `name`, with what they say of it.
    pub fn serving(&self, name: &str, now: u64) -> Vec<(SocketAddr, &ExportStatus)> {
        self.by_gateway
            .values()
            .filter(|r| !r.is_stale(now))
            .filter_map(|r| r.exports.get(name).map(|s| (r.gateway, s)))
            .collect()
    }

    /// The initiators logged in to export `name`, as `IQN on GATEWAY`, by fresh reports.
    pub fn sessions(&self, name: &str, now: u64) -> Vec<String> {
        self.serving(name, now)
            .into_iter()
            .flat_map(|(g, s)| s.sessions.iter().map(move |i| format!("{i} on {g}")))
            .collect()
    }

    fn view(&self, name: &str, gateway: SocketAddr, now: u64) -> GatewayView {
        let mut view = GatewayView {
            gateway,
            named: true,
            state: GatewayState::NoReport,
            reason: None,
            sessions: Vec::new(),
            size: None,
            generation: None,
            updated: None,
            path: None,
        };
        let Some(report) = self.by_gateway.get(&gateway) else {
            if let Some(why) = self.unreadable.get(&gateway) {
                view.state = GatewayState::Unreadable;
                view.reason = Some(why.clone());
            }
            return view;
        };
        view.updated = Some(report.updated);
        if report.is_stale(now) {
            view.state = GatewayState::Stale;
            return view;
        }
        match report.exports.get(name) {
            Some(status) => fill(&mut view, status),
            None => {
                view.state = GatewayState::Pending;
                view.reason = report.problem.clone();
            }
        }
        view
    }
}

fn fill(view: &mut GatewayView, status: &ExportStatus) {
    view.state = match status.state {
        StatusState::Ready => GatewayState::Ready,
        StatusState::Error => GatewayState::Error,
    };
    view.reason = status.reason.clone();
    view.sessions = status.sessions.clone();
    view.size = Some(status.size);
    view.generation = Some(status.generation);
    view.path = status.path;
}
