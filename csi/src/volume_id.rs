//! Volume IDs and export names.
//!
//! A volume ID is the export's location, `VOLUME@SERVER[+SERVER...]/NAME`: every call
//! that names a volume (delete, expand, the node's) finds the export from the ID alone,
//! with no lookup table to keep. The export's name derives from the CreateVolume request
//! name, always the same way, so a repeated request finds the export its first run made.

use crate::core::{ExportLocation, ExportName, NAME_MAX, VolumeAddr};
use tonic::Status;

/// The CSI specification's size limit of a string field, volume IDs included.
pub const ID_MAX: usize = 128;
/// Hex digits of the hash a derived name ends with.
const HASH_DIGITS: usize = 12;

/// Parses a volume ID; `None` when it is not one this driver makes.
pub fn parse(volume_id: &str) -> Option<ExportLocation> {
    ExportLocation::parse(volume_id).ok()
}

/// Parses a volume ID that must be one of ours (INVALID_ARGUMENT otherwise; an empty
/// one is refused as missing).
pub fn require(volume_id: &str) -> Result<ExportLocation, Status> {
    if volume_id.is_empty() {
        return Err(Status::invalid_argument("volume_id is required"));
    }
    ExportLocation::parse(volume_id).map_err(|e| {
        Status::not_found(format!(
            "volume {volume_id:?} is not a gluster-tcmu volume (VOLUME@SERVER/NAME): {e}"
        ))
    })
}

/// The volume ID of an export on `volume` for the request `name`, checked against the
/// specification's size limit.
pub fn for_request(volume: &VolumeAddr, name: &str) -> Result<ExportLocation, Status> {
    let location = ExportLocation {
        volume: volume.clone(),
        name: export_name(name),
    };
    let id = location.to_string();
    if id.len() > ID_MAX {
        return Err(Status::invalid_argument(format!(
            "the volume ID {id} would be {} bytes, more than CSI's {ID_MAX}: use shorter \
             volume or server names in the StorageClass",
            id.len()
        )));
    }
    Ok(location)
}

/// The export name for a CreateVolume request name: the name itself when it is a valid
/// export name (Kubernetes' `pvc-<uuid>` is), otherwise its letters and digits lowercased,
/// other characters as `-`, cut short, and a hash of the whole request name, so two
/// request names never share an export by being alike.
pub fn export_name(request: &str) -> ExportName {
    if let Ok(name) = ExportName::parse(request) {
        return name;
    }
    let hash = format!("{:016x}", fnv1a(request.as_bytes()));
    let keep = NAME_MAX - HASH_DIGITS - 1;
    let mut base: String = request
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '.') => c,
            _ => '-',
        })
        .take(keep)
        .collect();
    base = base.trim_matches(|c| c == '-' || c == '.').to_owned();
    let name = if base.is_empty() {
        format!("v-{}", &hash[..HASH_DIGITS])
    } else {
        format!("{base}-{}", &hash[..HASH_DIGITS])
    };
    // Only a-z, 0-9, '-' and '.', starting and ending alphanumeric, at most NAME_MAX: valid.
    ExportName::parse(&name).unwrap_or_else(|_| fallback(&hash))
}

/// A name of the hash alone (never reached: the derived name is valid by construction).
fn fallback(hash: &str) -> ExportName {
    ExportName::parse(&format!("v-{hash}")).unwrap_or_else(|_| fallback("0"))
}

/// FNV-1a, 64 bits: stable across builds and platforms (unlike std's hasher).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pv_name_is_the_export_name() {
        let pv = "pvc-0b7a6c4e-1f2d-4c3b-9a8e-7d6c5b4a3f21";
        assert_eq!(export_name(pv).as_str(), pv);
    }

    #[test]
    fn other_names_are_sanitised_with_a_hash_of_the_whole_name() {
        let a = export_name("My_Volume");
        assert!(a.as_str().starts_with("my-volume-"), "{a}");
        assert_eq!(a.as_str().len(), "my-volume-".len() + HASH_DIGITS);
        assert_eq!(a, export_name("My_Volume"), "deterministic");
        assert_ne!(a, export_name("my_volume"), "case keeps names apart");
        assert_ne!(a, export_name("My-Volume"));
        let long = "X".repeat(300);
        let n = export_name(&long);
        assert!(n.as_str().len() <= NAME_MAX, "{n}");
        assert_eq!(export_name("___").as_str().len(), 2 + HASH_DIGITS);
        assert!(export_name("-a-").as_str().starts_with("a-"));
        assert!(export_name("ünïcode").as_str().starts_with("n-c"));
        // Names that are valid only after trimming still get a hash.
        assert_ne!(export_name("a.").as_str(), "a");
    }

    #[test]
    fn volume_ids_round_trip_and_respect_the_size_limit() {
        let v = VolumeAddr::parse("gv0@10.0.0.1+10.0.0.2").unwrap();
        let l = for_request(&v, "pvc-1").unwrap();
        assert_eq!(l.to_string(), "gv0@10.0.0.1+10.0.0.2/pvc-1");
        assert_eq!(parse(&l.to_string()), Some(l));
        let long = VolumeAddr::parse(&format!("gv0@{0}.{0}", "s".repeat(50))).unwrap();
        let err = for_request(&long, &"p".repeat(40)).unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        assert!(parse("not-ours").is_none());
        assert_eq!(
            require("").unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
        assert_eq!(require("nope").unwrap_err().code(), tonic::Code::NotFound);
    }
}
