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

/// One export on one gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
}

/// Everything one gateway says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
