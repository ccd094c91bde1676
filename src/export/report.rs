//! A gateway's report: what it serves of each export, written by the gateway to
//! [`super::layout::report`] on the volume and read by `export list`/`info`/`delete` on any
//! machine. No secrets: the file is readable by everyone who can read the volume.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// The report format this build reads and writes.
pub const REPORT_VERSION: u32 = 1;
/// A report older than this many of its gateway's polling periods is stale: the gateway is
/// down or cut off from the volume.
pub const STALE_AFTER_POLLS: u64 = 3;
/// However short the polling period, a report this young (seconds) is never stale.
pub const STALE_MIN_SECS: u64 = 30;

/// How one export stands on a gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusState {
    /// The LUN is configured in LIO and served.
    Ready,
    /// The gateway could not make it so; `reason` says why.
    Error,
}

/// This gateway's ALUA access state for an HA export's LUN (SPC-4's names; the words the
/// report carries). A word a newer gateway writes that this build does not know reads as
/// `Unknown`, so that one new state never makes the whole report unreadable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PathAccess {
    ActiveOptimized,
    ActiveNonOptimized,
    Standby,
    Unavailable,
    Offline,
    Transitioning,
    #[serde(other)]
    Unknown,
}

impl PathAccess {
    /// The word tables show.
    pub fn as_str(self) -> &'static str {
        match self {
            PathAccess::ActiveOptimized => "active",
            PathAccess::ActiveNonOptimized => "active-non-optimized",
            PathAccess::Standby => "standby",
            PathAccess::Unavailable => "unavailable",
            PathAccess::Offline => "offline",
            PathAccess::Transitioning => "transitioning",
            PathAccess::Unknown => "unknown",
        }
    }

    /// Whether this gateway writes the image: only the lock's holder reports
    /// Active/Optimized (the others report Active/Non-optimized or Standby, docs/HA.md).
    pub fn is_active(self) -> bool {
        self == PathAccess::ActiveOptimized
    }
}

/// The path through this gateway to an HA export's LUN: its ALUA state and how often
/// it took over or was fenced since the daemon started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathStatus {
    pub access: PathAccess,
    /// Times this gateway took the image lock (became the active one).
    pub takeovers: u64,
    /// Requests the bricks refused because another gateway held the lock.
    pub fenced: u64,
}

/// One export on one gateway. Readers skip fields they do not know (no
/// `deny_unknown_fields` here, unlike the records): a newer gateway may report more, and
/// an older `export info` must still read what it knows of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportStatus {
    pub state: StatusState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The size LIO serves (bytes).
    pub size: u64,
    /// The record generation this state is for.
    pub generation: u64,
    /// Initiators with a session to the export's target on this gateway.
    pub sessions: Vec<String>,
    /// For an export with several gateways whose LUN this daemon serves: the path's state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathStatus>,
}

/// Everything one gateway says (unknown fields skipped, as in [`ExportStatus`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayReport {
    pub version: u32,
    pub gateway: SocketAddr,
    /// Seconds since the Unix epoch when the gateway wrote this.
    pub updated: u64,
    /// How often the gateway looks at the records (seconds).
    pub poll_secs: u64,
    /// A problem of the gateway as a whole (its portal address is not one of its host's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// By export name: the exports of this volume that name this gateway.
    pub exports: BTreeMap<String, ExportStatus>,
}

impl GatewayReport {
    /// Parses a report file.
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// The report file's bytes.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// True when the report is too old to speak for the gateway at `now` (Unix seconds).
    pub fn is_stale(&self, now: u64) -> bool {
        let limit = (self.poll_secs * STALE_AFTER_POLLS).max(STALE_MIN_SECS);
        now.saturating_sub(self.updated) > limit
    }

    /// The same report with another time stamp, to tell whether anything but the time
    /// changed since the last one written.
    pub fn same_content(&self, other: &GatewayReport) -> bool {
        GatewayReport {
            updated: other.updated,
            ..self.clone()
        } == *other
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(updated: u64) -> GatewayReport {
        let mut exports = BTreeMap::new();
        exports.insert(
            "disk1".to_owned(),
            ExportStatus {
                state: StatusState::Ready,
                reason: None,
                size: 1 << 30,
                generation: 3,
                sessions: vec!["iqn.1994-05.com.redhat:node1".into()],
                path: Some(PathStatus {
                    access: PathAccess::Standby,
                    takeovers: 2,
                    fenced: 1,
                }),
            },
        );
        GatewayReport {
            version: REPORT_VERSION,
            gateway: "127.0.0.1:3260".parse().unwrap(),
            updated,
            poll_secs: 3,
            problem: None,
            exports,
        }
    }

    #[test]
    fn round_trips_through_json() {
        let r = report(100);
        assert_eq!(GatewayReport::from_json(&r.to_json()).unwrap(), r);
    }

    #[test]
    fn a_newer_gateways_fields_and_states_do_not_make_the_report_unreadable() {
        let mut json: serde_json::Value = serde_json::from_slice(&report(100).to_json()).unwrap();
        json["zone"] = "b".into();
        let disk = &mut json["exports"]["disk1"];
        disk["queue_depth"] = 7.into();
        disk["path"]["access"] = "lba-dependent".into();
        disk["path"]["since"] = 12.into();
        let read = GatewayReport::from_json(json.to_string().as_bytes()).unwrap();
        let path = read.exports["disk1"].path.unwrap();
        assert_eq!(path.access, PathAccess::Unknown);
        assert_eq!((path.takeovers, path.fenced), (2, 1));
    }

    #[test]
    fn a_report_without_paths_reads_as_before() {
        let mut r = report(100);
        r.exports.get_mut("disk1").unwrap().path = None;
        let text = String::from_utf8(r.to_json()).unwrap();
        assert!(!text.contains("path"), "{text}");
        assert_eq!(GatewayReport::from_json(text.as_bytes()).unwrap(), r);
    }

    #[test]
    fn staleness_counts_polls_with_a_floor() {
        let r = report(1000);
        assert!(!r.is_stale(1030));
        assert!(r.is_stale(1031));
        let slow = GatewayReport {
            poll_secs: 20,
            ..report(1000)
        };
        assert!(!slow.is_stale(1060));
        assert!(slow.is_stale(1061));
    }

    #[test]
    fn same_content_ignores_only_the_time() {
        assert!(report(1).same_content(&report(2)));
        let mut other = report(2);
        other.problem = Some("x".into());
        assert!(!report(1).same_content(&other));
    }
}
