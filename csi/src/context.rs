//! The volume context: what CreateVolume tells the node about an export, so the node
//! needs no access to the Gluster volume. Only what is not secret: the CHAP credentials
//! come to the node in the node-stage Secret.

use crate::params::FsType;
use std::collections::HashMap;
use std::net::SocketAddr;
use tonic::Status;

const PORTALS: &str = "portals";
const IQN: &str = "iqn";
const LUN: &str = "lun";
const WWID: &str = "wwid";
const FS_TYPE: &str = "fsType";
const CHAP: &str = "chap";

/// How the node logs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chap {
    None,
    OneWay,
    Mutual,
}

impl Chap {
    fn as_str(self) -> &'static str {
        match self {
            Chap::None => "none",
            Chap::OneWay => "one-way",
            Chap::Mutual => "mutual",
        }
    }

    fn parse(given: &str) -> Option<Chap> {
        [Chap::None, Chap::OneWay, Chap::Mutual]
            .into_iter()
            .find(|c| c.as_str() == given)
    }
}

/// An export as the node needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeContext {
    /// The gateways' portals, the first being the one to prefer.
    pub portals: Vec<SocketAddr>,
    pub iqn: String,
    pub lun: u16,
    /// `naa.` and 32 hex digits, as `/sys/block/*/device/wwid` shows it.
    pub wwid: String,
    pub fs_type: FsType,
    pub chap: Chap,
}

impl VolumeContext {
    /// The context map CreateVolume returns.
    pub fn to_map(&self) -> HashMap<String, String> {
        let portals: Vec<String> = self.portals.iter().map(ToString::to_string).collect();
        [
            (PORTALS, portals.join(",")),
            (IQN, self.iqn.clone()),
            (LUN, self.lun.to_string()),
            (WWID, self.wwid.clone()),
            (FS_TYPE, self.fs_type.to_string()),
            (CHAP, self.chap.as_str().to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Reads the context a node call got (INVALID_ARGUMENT naming what is missing or wrong).
    pub fn from_map(map: &HashMap<String, String>) -> Result<VolumeContext, Status> {
        let get = |key: &str| {
            map.get(key).filter(|v| !v.is_empty()).ok_or_else(|| {
                Status::invalid_argument(format!(
                    "volume_context has no {key}: the volume was not made by this driver"
                ))
            })
        };
        let bad = |key: &str, why: &str| {
            Status::invalid_argument(format!("volume_context {key} {:?}: {why}", map.get(key)))
        };
        let portals = get(PORTALS)?
            .split(',')
            .map(|p| p.parse::<SocketAddr>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| bad(PORTALS, "not a list of IP:PORT"))?;
        let wwid = get(WWID)?.clone();
        let hex = wwid.strip_prefix("naa.").unwrap_or_default();
        if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad(WWID, "not naa. and 32 hex digits"));
        }
        Ok(VolumeContext {
            portals,
            iqn: get(IQN)?.clone(),
            lun: get(LUN)?.parse().map_err(|_| bad(LUN, "not a LUN"))?,
            wwid: wwid.to_ascii_lowercase(),
            fs_type: FsType::parse(get(FS_TYPE)?).ok_or_else(|| bad(FS_TYPE, "ext4 or xfs"))?,
            chap: Chap::parse(get(CHAP)?).ok_or_else(|| bad(CHAP, "none, one-way or mutual"))?,
        })
    }

    /// The WWID's 32 hex digits.
    pub fn naa_hex(&self) -> &str {
        self.wwid.strip_prefix("naa.").unwrap_or(&self.wwid)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> VolumeContext {
        VolumeContext {
            portals: vec![
                "127.0.0.1:3260".parse().unwrap(),
                "[::1]:3261".parse().unwrap(),
            ],
            iqn: "iqn.2016-12.org.gluster-tcmu:pvc-1".into(),
            lun: 0,
            wwid: "naa.6001405a1b2c3d4e5f60718293a4b5c6".into(),
            fs_type: FsType::Xfs,
            chap: Chap::Mutual,
        }
    }

    #[test]
    fn the_map_round_trips() {
        let c = sample();
        let map = c.to_map();
        assert_eq!(map["portals"], "127.0.0.1:3260,[::1]:3261");
        assert_eq!(VolumeContext::from_map(&map).unwrap(), c);
        assert_eq!(c.naa_hex(), "6001405a1b2c3d4e5f60718293a4b5c6");
    }

    #[test]
    fn missing_or_bad_entries_are_named() {
        for (key, value, want) in [
            ("iqn", None, "volume_context has no iqn"),
            ("wwid", Some("naa.12"), "volume_context wwid"),
            ("portals", Some("x"), "volume_context portals"),
            ("chap", Some("maybe"), "volume_context chap"),
        ] {
            let mut map = sample().to_map();
            match value {
                None => map.remove(key),
                Some(v) => map.insert(key.into(), v.into()),
            };
            let err = VolumeContext::from_map(&map).unwrap_err();
            assert_eq!(err.code(), tonic::Code::InvalidArgument);
            assert!(err.message().starts_with(want), "{}", err.message());
        }
    }
}
