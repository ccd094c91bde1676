//! Volume capabilities: which the driver serves, and what one asks of the node.
//!
//! An export is an iSCSI LUN; a filesystem on it can be mounted by one node only, and a
//! raw block device shared by several nodes would need a cluster filesystem or
//! application the driver knows nothing of. So the single-node access modes only.

use crate::params::FsType;
use crate::proto::volume_capability::access_mode::Mode;
use crate::proto::volume_capability::{AccessMode, AccessType};
use crate::proto::{VolumeCapability, volume_capability};
use tonic::Status;

/// How a volume is used on the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// A filesystem (of this type, when the capability names one), mounted with `flags`.
    Mount {
        fs_type: Option<FsType>,
        flags: Vec<String>,
    },
    /// The raw block device.
    Block,
}

/// A capability the driver serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub access: Access,
    /// SINGLE_NODE_READER_ONLY.
    pub read_only: bool,
}

/// Checks one capability; the error says what is not served.
pub fn check(cap: &VolumeCapability) -> Result<Wanted, String> {
    let mode = cap.access_mode.as_ref().map(|m| m.mode());
    let read_only = match mode {
        Some(Mode::SingleNodeWriter) => false,
        Some(Mode::SingleNodeReaderOnly) => true,
        Some(other) => {
            return Err(format!(
                "access mode {} is not served: a gluster-tcmu volume is for one node at a time",
                other.as_str_name()
            ));
        }
        None => return Err("volume_capability has no access_mode".into()),
    };
    let access = match &cap.access_type {
        Some(AccessType::Block(_)) => Access::Block,
        Some(AccessType::Mount(m)) => Access::Mount {
            fs_type: fs_type(&m.fs_type)?,
            flags: mount_flags(&m.mount_flags)?,
        },
        None => return Err("volume_capability has no access_type (mount or block)".into()),
    };
    Ok(Wanted { access, read_only })
}

fn fs_type(given: &str) -> Result<Option<FsType>, String> {
    if given.is_empty() {
        return Ok(None);
    }
    FsType::parse(given)
        .map(Some)
        .ok_or_else(|| format!("filesystem {given:?} is not served (ext4 or xfs)"))
}

/// Mount flags go to `mount -o` as they are, joined by commas: each must be one option.
fn mount_flags(flags: &[String]) -> Result<Vec<String>, String> {
    for f in flags {
        let odd = |c: char| c.is_whitespace() || c == ',' || c.is_control();
        if f.is_empty() || f.contains(odd) {
            return Err(format!("mount flag {f:?} is not a single mount option"));
        }
    }
    Ok(flags.to_vec())
}

/// Checks every capability of a request (INVALID_ARGUMENT on the first not served, or
/// on none given).
pub fn check_all(caps: &[VolumeCapability]) -> Result<Vec<Wanted>, Status> {
    if caps.is_empty() {
        return Err(Status::invalid_argument("volume_capabilities are required"));
    }
    caps.iter()
        .map(|c| check(c).map_err(Status::invalid_argument))
        .collect()
}

/// A capability of the given access mode and type (tests, and the client's side).
pub fn capability(mode: Mode, access: AccessType) -> VolumeCapability {
    VolumeCapability {
        access_mode: Some(AccessMode { mode: mode.into() }),
        access_type: Some(access),
    }
}

/// A mount capability with `fs_type` (empty for the StorageClass's).
pub fn mount(mode: Mode, fs_type: &str) -> VolumeCapability {
    capability(
        mode,
        AccessType::Mount(volume_capability::MountVolume {
            fs_type: fs_type.into(),
            mount_flags: Vec::new(),
        }),
    )
}

/// A raw block capability.
pub fn block(mode: Mode) -> VolumeCapability {
    capability(mode, AccessType::Block(volume_capability::BlockVolume {}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_node_modes_are_served() {
        let w = check(&mount(Mode::SingleNodeWriter, "xfs")).unwrap();
        assert_eq!(
            w.access,
            Access::Mount {
                fs_type: Some(FsType::Xfs),
                flags: vec![]
            }
        );
        assert!(!w.read_only);
        let r = check(&block(Mode::SingleNodeReaderOnly)).unwrap();
        assert_eq!((r.access, r.read_only), (Access::Block, true));
    }

    #[test]
    fn others_are_refused_saying_why() {
        for mode in [
            Mode::MultiNodeReaderOnly,
            Mode::MultiNodeSingleWriter,
            Mode::MultiNodeMultiWriter,
            Mode::Unknown,
        ] {
            let err = check(&block(mode)).unwrap_err();
            assert!(err.contains(mode.as_str_name()), "{err}");
        }
        assert!(check(&mount(Mode::SingleNodeWriter, "btrfs")).is_err());
        let none = VolumeCapability::default();
        assert!(check(&none).unwrap_err().contains("access_mode"));
        let mut flags = mount(Mode::SingleNodeWriter, "");
        if let Some(AccessType::Mount(m)) = flags.access_type.as_mut() {
            m.mount_flags = vec!["noatime,exec".into()];
        }
        assert!(check(&flags).unwrap_err().contains("noatime,exec"));
        assert_eq!(
            check_all(&[]).unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
    }
}
