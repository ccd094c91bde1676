//! Where an export is: `VOLUME@SERVER[+SERVER...]/NAME` on the command line, the same
//! volume-and-servers syntax as a `user:glfs` config string (so the rules for volume and
//! server names are those of [`crate::cfgstring::glfs`]), followed by the export's name.

use super::name::{ExportName, ExportNameError};
use crate::cfgstring::glfs::{GlfsConfig, GlfsFormat};
use crate::cfgstring::{CfgStringError, SubtypeFormat};
use std::fmt;

/// A Gluster volume and the volfile servers to reach it through, in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VolumeAddr {
    pub volume: String,
    pub servers: Vec<String>,
}

/// An export's volume and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportLocation {
    pub volume: VolumeAddr,
    pub name: ExportName,
}

/// Why a location was refused.
#[derive(Debug, thiserror::Error)]
pub enum LocationError {
    #[error("{given:?} is not VOLUME@SERVER[+SERVER...]: {source}")]
    Volume {
        given: String,
        #[source]
        source: CfgStringError,
    },
    #[error("{given:?} is not VOLUME@SERVER[+SERVER...]/NAME: the export's name is missing")]
    NoName { given: String },
    #[error(transparent)]
    Name(#[from] ExportNameError),
}

impl VolumeAddr {
    /// Parses `VOLUME@SERVER[+SERVER...]`.
    pub fn parse(given: &str) -> Result<Self, LocationError> {
        if given.contains('/') {
            return Err(LocationError::Volume {
                given: given.to_owned(),
                source: CfgStringError::DirectoryPath(given.to_owned()),
            });
        }
        // The volume part of a config string, with a stand-in path, is parsed by the
        // config-string parser, so both accept exactly the same volumes and servers.
        let cfg = parse_config(given, &format!("{given}/x"))?;
        Ok(Self::from_config(&cfg))
    }

    fn from_config(cfg: &GlfsConfig) -> Self {
        Self {
            volume: cfg.volume.clone(),
            servers: cfg.servers.iter().map(ToString::to_string).collect(),
        }
    }

    /// The servers as a config string writes them (`s1+s2`).
    pub fn servers_joined(&self) -> String {
        self.servers.join("+")
    }
}

impl fmt::Display for VolumeAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.volume, self.servers_joined())
    }
}

impl ExportLocation {
    /// Parses `VOLUME@SERVER[+SERVER...]/NAME`.
    pub fn parse(given: &str) -> Result<Self, LocationError> {
        let (volume, name) = given.split_once('/').ok_or_else(|| LocationError::NoName {
            given: given.to_owned(),
        })?;
        if name.is_empty() {
            return Err(LocationError::NoName {
                given: given.to_owned(),
            });
        }
        let cfg = parse_config(given, &format!("{volume}/x"))?;
        Ok(Self {
            volume: VolumeAddr::from_config(&cfg),
            name: ExportName::parse(name)?,
        })
    }
}

impl fmt::Display for ExportLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.volume, self.name)
    }
}

fn parse_config(given: &str, config: &str) -> Result<GlfsConfig, LocationError> {
    GlfsFormat::parse(config).map_err(|source| LocationError::Volume {
        given: given.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_has_a_volume_servers_and_a_name() {
        let l = ExportLocation::parse("gv0@10.0.0.1+gluster2/disk1").unwrap();
        assert_eq!(l.volume.volume, "gv0");
        assert_eq!(l.volume.servers, ["10.0.0.1", "gluster2"]);
        assert_eq!(l.name.as_str(), "disk1");
        assert_eq!(l.to_string(), "gv0@10.0.0.1+gluster2/disk1");
    }

    #[test]
    fn bad_locations_say_what_is_wrong() {
        assert!(matches!(
            ExportLocation::parse("gv0@s1"),
            Err(LocationError::NoName { .. })
        ));
        assert!(matches!(
            ExportLocation::parse("gv0@s1/"),
            Err(LocationError::NoName { .. })
        ));
        assert!(matches!(
            ExportLocation::parse("gv0/disk1"),
            Err(LocationError::Volume { .. })
        ));
        assert!(matches!(
            ExportLocation::parse("gv0@s1+s1/disk1"),
            Err(LocationError::Volume { .. })
        ));
        assert!(matches!(
            ExportLocation::parse("gv0@s1/Disk1"),
            Err(LocationError::Name(ExportNameError::Uppercase(_)))
        ));
        assert!(matches!(
            ExportLocation::parse("gv0@s1/a/b"),
            Err(LocationError::Name(ExportNameError::BadChar {
                bad: '/',
                ..
            }))
        ));
    }

    #[test]
    fn a_volume_address_alone() {
        let v = VolumeAddr::parse("gv0@s1+s2").unwrap();
        assert_eq!(v.to_string(), "gv0@s1+s2");
        assert!(VolumeAddr::parse("gv0@s1/x").is_err());
        assert!(VolumeAddr::parse("gv0").is_err());
    }
}
