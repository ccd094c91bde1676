//! `[exports]`: this host as a gateway of block exports. The daemon serves, as iSCSI LUNs
//! on its portal, the exports recorded on the listed volumes that name that portal
//! (`crate::gateway`). Without the section the daemon is no gateway.
//!
//! ```toml
//! [exports]
//! portal = "10.0.0.1"            # IP[:PORT], port 3260 unless given; IPv6 as "[fd00::1]:3260"
//! volumes = ["gv0@gl1+gl2"]      # VOLUME@SERVER[+SERVER...], the volumes whose exports it serves
//! poll_secs = 3                  # how often it reads the records (1-300)
//! state_dir = "/var/lib/gluster-tcmu"        # its LIO ownership journal
//! configfs = "/sys/kernel/config/target"     # LIO's configfs tree
//! ```

use crate::export::VolumeAddr;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// The iSCSI port when the portal names none.
pub const DEFAULT_PORT: u16 = 3260;
/// Seconds between two reads of the records unless configured.
pub const DEFAULT_POLL_SECS: u64 = 3;
/// The longest polling period accepted: a change made from another machine should not
/// wait for more than a few minutes.
pub const MAX_POLL_SECS: u64 = 300;
/// Where the gateway keeps its state unless configured.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/gluster-tcmu";
/// LIO's configfs tree unless configured.
pub const DEFAULT_CONFIGFS: &str = "/sys/kernel/config/target";

/// The effective `[exports]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportsSettings {
    /// This gateway's portal: the address records name it by, and the one it listens on.
    pub portal: SocketAddr,
    /// The volumes whose exports it serves, in the order given.
    pub volumes: Vec<VolumeAddr>,
    /// How often it reads the records when nothing wakes it.
    pub poll: Duration,
    /// Its state directory (the LIO ownership journal).
    pub state_dir: PathBuf,
    /// LIO's configfs tree.
    pub configfs: PathBuf,
}

/// `[exports]` keys as written; `portal` and `volumes` are required.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ExportsLayer {
    pub portal: Portal,
    pub volumes: ExportVolumes,
    pub poll_secs: Option<PollSecs>,
    pub state_dir: Option<PathBuf>,
    pub configfs: Option<PathBuf>,
}

impl ExportsLayer {
    /// The settings, with defaults for what the section leaves out.
    pub fn to_settings(&self) -> ExportsSettings {
        ExportsSettings {
            portal: self.portal.0,
            volumes: self.volumes.0.clone(),
            poll: Duration::from_secs(self.poll_secs.map_or(DEFAULT_POLL_SECS, |p| p.0)),
            state_dir: self
                .state_dir
                .clone()
                .unwrap_or_else(|| DEFAULT_STATE_DIR.into()),
            configfs: self
                .configfs
                .clone()
                .unwrap_or_else(|| DEFAULT_CONFIGFS.into()),
        }
    }
}

/// `portal`: `IP[:PORT]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Portal(pub SocketAddr);

impl TryFrom<String> for Portal {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        parse_portal(&text).map(Portal)
    }
}

/// Parses `IP[:PORT]` (IPv6 as `[ADDR]:PORT`, or a bare address), port 3260
/// (`DEFAULT_PORT`) unless given. The address must be one initiators can be sent to:
/// not the unspecified address, and the port not 0.
pub fn parse_portal(text: &str) -> Result<SocketAddr, String> {
    let bare = text.strip_prefix('[').and_then(|t| t.strip_suffix(']'));
    let addr = match (
        text.parse::<SocketAddr>(),
        bare.unwrap_or(text).parse::<IpAddr>(),
    ) {
        (Ok(addr), _) => addr,
        (Err(_), Ok(ip)) => SocketAddr::new(ip, DEFAULT_PORT),
        _ => {
            return Err(format!(
                "portal {text:?} is not IP[:PORT] (IPv6 as [ADDRESS]:PORT)"
            ));
        }
    };
    if addr.ip().is_unspecified() {
        return Err(format!(
            "portal {text:?} is the unspecified address: name the address of this host that \
             initiators reach, as the export records do"
        ));
    }
    if addr.port() == 0 {
        return Err(format!("portal {text:?} has port 0"));
    }
    Ok(addr)
}

/// `volumes`: at least one `VOLUME@SERVER[+SERVER...]`, no volume twice.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Vec<String>")]
pub struct ExportVolumes(pub Vec<VolumeAddr>);

impl TryFrom<Vec<String>> for ExportVolumes {
    type Error = String;

    fn try_from(given: Vec<String>) -> Result<Self, String> {
        if given.is_empty() {
            return Err("volumes is empty: name at least one VOLUME@SERVER[+SERVER...]".into());
        }
        let mut volumes: Vec<VolumeAddr> = Vec::with_capacity(given.len());
        for (i, text) in given.iter().enumerate() {
            let volume = VolumeAddr::parse(text)
                .map_err(|e| format!("volumes entry {} of {}: {e}", i + 1, given.len()))?;
            if let Some(first) = volumes.iter().find(|v| v.volume == volume.volume) {
                return Err(format!(
                    "volume {} is listed twice ({first} and {volume})",
                    volume.volume
                ));
            }
            volumes.push(volume);
        }
        Ok(Self(volumes))
    }
}

/// `poll_secs`: 1 to 300 (`MAX_POLL_SECS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "u64")]
pub struct PollSecs(u64);

impl TryFrom<u64> for PollSecs {
    type Error = String;

    fn try_from(secs: u64) -> Result<Self, String> {
        if !(1..=MAX_POLL_SECS).contains(&secs) {
            return Err(format!("poll_secs {secs} is not in 1..={MAX_POLL_SECS}"));
        }
        Ok(Self(secs))
    }
}
