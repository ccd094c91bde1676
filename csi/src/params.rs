//! StorageClass parameters: what CreateVolume (and GetCapacity) are given, checked one by
//! one, each error naming the parameter. Unknown parameters are refused, so a typo never
//! silently becomes a default; those the Kubernetes sidecars add (`csi.storage.k8s.io/…`)
//! are left alone.

use crate::core::{DEFAULT_HW_MAX_SECTORS, MAX_HW_MAX_SECTORS, VolumeAddr, parse_gateway};
use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use tonic::Status;

/// The Gluster volume's name.
pub const VOLUME: &str = "volume";
/// Its volfile servers, comma-separated, in the order to try them.
pub const SERVERS: &str = "servers";
/// The gateways' portals, comma-separated, `IP[:PORT]`.
pub const GATEWAYS: &str = "gateways";
/// `"true"` (the default) or `"false"`.
pub const CHAP: &str = "chap";
/// `ext4` (the default) or `xfs`.
pub const FS_TYPE: &str = "fsType";
/// The LUN's largest command, in 512-byte sectors.
pub const HW_MAX_SECTORS: &str = "hwMaxSectors";
/// `"true"` allocates every block at create; `"false"` (the default) is sparse.
pub const PREALLOC: &str = "prealloc";
/// Parameters the Kubernetes sidecars add start with this.
const SIDECAR_PREFIX: &str = "csi.storage.k8s.io/";
const KNOWN: [&str; 7] = [
    VOLUME,
    SERVERS,
    GATEWAYS,
    CHAP,
    FS_TYPE,
    HW_MAX_SECTORS,
    PREALLOC,
];

/// The filesystems the node makes and grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsType {
    #[default]
    Ext4,
    Xfs,
}

impl FsType {
    /// Parses a filesystem type name (`ext4` or `xfs`).
    pub fn parse(given: &str) -> Option<FsType> {
        match given {
            "ext4" => Some(FsType::Ext4),
            "xfs" => Some(FsType::Xfs),
            _ => None,
        }
    }

    /// The name `mount -t` and `blkid` use.
    pub fn as_str(self) -> &'static str {
        match self {
            FsType::Ext4 => "ext4",
            FsType::Xfs => "xfs",
        }
    }
}

impl fmt::Display for FsType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A StorageClass's parameters, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    pub volume: VolumeAddr,
    pub gateways: Vec<SocketAddr>,
    pub chap: bool,
    pub fs_type: FsType,
    pub hw_max_sectors: u32,
    pub prealloc: bool,
}

fn bad(param: &str, value: &str, why: impl fmt::Display) -> Status {
    Status::invalid_argument(format!("parameter {param} {value:?}: {why}"))
}

fn required<'p>(given: &'p HashMap<String, String>, param: &str) -> Result<&'p str, Status> {
    match given.get(param).map(|v| v.trim()) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(Status::invalid_argument(format!(
            "parameter {param} is required (see the StorageClass example)"
        ))),
    }
}

fn flag(given: &HashMap<String, String>, param: &str, default: bool) -> Result<bool, Status> {
    match given.get(param).map(|v| v.trim()) {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(bad(param, other, "must be \"true\" or \"false\"")),
    }
}

fn list(value: &str) -> Vec<&str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

impl Params {
    /// Checks every parameter a CreateVolume gets.
    pub fn parse(given: &HashMap<String, String>) -> Result<Params, Status> {
        refuse_unknown(given)?;
        let gateways = list(required(given, GATEWAYS)?)
            .into_iter()
            .map(|g| parse_gateway(g).map_err(|e| bad(GATEWAYS, g, e)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Params {
            volume: volume(given)?,
            gateways,
            chap: flag(given, CHAP, true)?,
            fs_type: fs_type(given)?,
            hw_max_sectors: hw_max_sectors(given)?,
            prealloc: flag(given, PREALLOC, false)?,
        })
    }
}

/// The volume the parameters name (all GetCapacity needs); unknown parameters refused.
pub fn volume_of(given: &HashMap<String, String>) -> Result<VolumeAddr, Status> {
    refuse_unknown(given)?;
    volume(given)
}

fn refuse_unknown(given: &HashMap<String, String>) -> Result<(), Status> {
    let mut unknown: Vec<&str> = given
        .keys()
        .map(String::as_str)
        .filter(|k| !KNOWN.contains(k) && !k.starts_with(SIDECAR_PREFIX))
        .collect();
    unknown.sort_unstable();
    match unknown.first() {
        None => Ok(()),
        Some(_) => Err(Status::invalid_argument(format!(
            "unknown parameter {} (known: {})",
            unknown.join(", "),
            KNOWN.join(", ")
        ))),
    }
}

fn volume(given: &HashMap<String, String>) -> Result<VolumeAddr, Status> {
    let name = required(given, VOLUME)?;
    let servers = list(required(given, SERVERS)?);
    if name.contains(['@', '/', '+']) {
        return Err(bad(VOLUME, name, "a Gluster volume's name alone"));
    }
    if let Some(s) = servers.iter().find(|s| s.contains(['@', '/', '+'])) {
        return Err(bad(SERVERS, s, "a host name or address"));
    }
    let addr = format!("{name}@{}", servers.join("+"));
    VolumeAddr::parse(&addr).map_err(|e| bad(SERVERS, &servers.join(","), e))
}

fn fs_type(given: &HashMap<String, String>) -> Result<FsType, Status> {
    match given.get(FS_TYPE).map(|v| v.trim()) {
        None | Some("") => Ok(FsType::default()),
        Some(v) => FsType::parse(v).ok_or_else(|| bad(FS_TYPE, v, "ext4 or xfs")),
    }
}

fn hw_max_sectors(given: &HashMap<String, String>) -> Result<u32, Status> {
    let Some(v) = given.get(HW_MAX_SECTORS).map(|v| v.trim()) else {
        return Ok(DEFAULT_HW_MAX_SECTORS);
    };
    match v.parse::<u32>() {
        Ok(n) if (1..=MAX_HW_MAX_SECTORS).contains(&n) => Ok(n),
        _ => Err(bad(
            HW_MAX_SECTORS,
            v,
            format!("a number of 512-byte sectors, 1 to {MAX_HW_MAX_SECTORS}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn minimal() -> Vec<(&'static str, &'static str)> {
        vec![
            (VOLUME, "gv0"),
            (SERVERS, "10.0.0.1, 10.0.0.2"),
            (GATEWAYS, "10.0.0.1,10.0.0.2:3261"),
        ]
    }

    #[test]
    fn defaults_fill_what_is_not_given() {
        let p = Params::parse(&map(&minimal())).unwrap();
        assert_eq!(p.volume.to_string(), "gv0@10.0.0.1+10.0.0.2");
        assert_eq!(
            p.gateways,
            [
                "10.0.0.1:3260".parse::<SocketAddr>().unwrap(),
                "10.0.0.2:3261".parse().unwrap()
            ]
        );
        assert!(p.chap);
        assert!(!p.prealloc);
        assert_eq!(p.fs_type, FsType::Ext4);
        assert_eq!(p.hw_max_sectors, DEFAULT_HW_MAX_SECTORS);
    }

    #[test]
    fn every_parameter_is_read() {
        let mut given = minimal();
        given.extend([
            (CHAP, "false"),
            (FS_TYPE, "xfs"),
            (HW_MAX_SECTORS, "2048"),
            (PREALLOC, "true"),
            ("csi.storage.k8s.io/pvc/name", "data"),
        ]);
        let p = Params::parse(&map(&given)).unwrap();
        assert!(!p.chap && p.prealloc);
        assert_eq!((p.fs_type, p.hw_max_sectors), (FsType::Xfs, 2048));
    }

    #[test]
    fn each_bad_parameter_is_named() {
        let cases: &[(&str, &str, &str)] = &[
            (CHAP, "yes", "parameter chap \"yes\""),
            (FS_TYPE, "btrfs", "parameter fsType \"btrfs\""),
            (HW_MAX_SECTORS, "0", "parameter hwMaxSectors \"0\""),
            (HW_MAX_SECTORS, "9000", "parameter hwMaxSectors"),
            (GATEWAYS, "nowhere", "parameter gateways \"nowhere\""),
            (GATEWAYS, "", "parameter gateways is required"),
            (SERVERS, "a/b", "parameter servers \"a/b\""),
            (VOLUME, "gv0@x", "parameter volume \"gv0@x\""),
            (VOLUME, "", "parameter volume is required"),
            ("fstype", "ext4", "unknown parameter fstype"),
        ];
        for (param, value, want) in cases {
            let mut given = map(&minimal());
            given.insert((*param).into(), (*value).into());
            let err = Params::parse(&given).unwrap_err();
            assert_eq!(err.code(), tonic::Code::InvalidArgument);
            assert!(err.message().starts_with(want), "{want}: {}", err.message());
        }
        let mut no_servers = map(&minimal());
        no_servers.remove(SERVERS);
        let err = Params::parse(&no_servers).unwrap_err();
        assert!(err.message().contains("servers is required"), "{err:?}");
    }

    #[test]
    fn capacity_needs_only_the_volume() {
        let v = volume_of(&map(&[(VOLUME, "gv0"), (SERVERS, "s1")])).unwrap();
        assert_eq!(v.to_string(), "gv0@s1");
        assert!(volume_of(&map(&[(VOLUME, "gv0")])).is_err());
    }
}
