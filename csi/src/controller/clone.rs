//! CreateVolume from another volume (CLONE_VOLUME): the export's image starts as a copy
//! of the source's, made by `export create --clone-from` on the same Gluster volume.
//! From a snapshot: refused, since Gluster snapshots whole volumes, not single images.
//!
//! The codes are the specification's CreateVolume table: a source that is not there is
//! NOT_FOUND, a source this driver cannot copy from (a snapshot, another volume) is
//! INVALID_ARGUMENT, a capacity smaller than the source OUT_OF_RANGE, and an existing
//! volume of that name with another source ALREADY_EXISTS. A source an initiator is
//! logged in to is FAILED_PRECONDITION (the table names no code for a source in use).

use super::Range;
use crate::core::{ExportLocation, ExportName, ExportRef, Ops, OpsError, VolumeAddr};
use crate::proto::VolumeContentSource;
use crate::proto::volume_content_source::{Type, VolumeSource};
use crate::status;
use crate::volume_id;
use tonic::Status;

/// The export a request's `volume_content_source` asks to copy, on `volume` (the
/// StorageClass's); `None` for a request without a source.
pub fn source(
    given: Option<&VolumeContentSource>,
    volume: &VolumeAddr,
) -> Result<Option<ExportName>, Status> {
    let Some(given) = given else {
        return Ok(None);
    };
    match &given.r#type {
        Some(Type::Volume(VolumeSource { volume_id: id })) => same_volume(id, volume).map(Some),
        Some(Type::Snapshot(_)) => Err(Status::invalid_argument(
            "volumes from a snapshot are not offered: Gluster snapshots a whole volume (every \
             export on it at once), not one image; clone the volume instead (a copy, made \
             while no node uses it)",
        )),
        None => Err(Status::invalid_argument(
            "volume_content_source names neither a snapshot nor a volume",
        )),
    }
}

/// The export of the source volume ID `id`, which must be on `volume`.
fn same_volume(id: &str, volume: &VolumeAddr) -> Result<ExportName, Status> {
    if id.is_empty() {
        return Err(Status::invalid_argument(
            "volume_content_source.volume.volume_id is required",
        ));
    }
    let Some(location) = volume_id::parse(id) else {
        return Err(Status::not_found(format!(
            "source volume {id:?} does not exist: it is not a gluster-tcmu volume ID"
        )));
    };
    if location.volume != *volume {
        return Err(Status::invalid_argument(format!(
            "source volume {id} is on {}, and this StorageClass makes volumes on {volume}: \
             a clone is a copy within one Gluster volume (named through the same servers)",
            location.volume
        )));
    }
    Ok(location.name)
}

/// The size of a new clone of `source` (an export beside `location`): the source's when
/// no size is required, else the size asked, never less than the source's.
pub fn size(
    ops: &Ops<'_>,
    location: &ExportLocation,
    source: &ExportName,
    range: &Range,
) -> Result<u64, Status> {
    let at = ExportRef::At(ExportLocation {
        volume: location.volume.clone(),
        name: source.clone(),
    });
    let source_size = match ops.record(&at) {
        Ok((_, record)) => record.size,
        Err(OpsError::NotFound { .. }) => {
            return Err(Status::not_found(format!(
                "source volume {} does not exist",
                volume_id_of(location, source)
            )));
        }
        Err(e) => return Err(status::of(e)),
    };
    let size = match range.required {
        0 => source_size,
        _ => range.size()?.max(source_size),
    };
    if !range.admits(size) {
        return Err(Status::out_of_range(format!(
            "the source volume is {source_size} bytes, more than the {range} asked: a clone \
             is at least as large as its source"
        )));
    }
    Ok(size)
}

/// The content source of a volume cloned from `clone_of` (an export beside `location`).
pub fn content_source(location: &ExportLocation, clone_of: &str) -> Option<VolumeContentSource> {
    let name = ExportName::parse(clone_of).ok()?;
    Some(VolumeContentSource {
        r#type: Some(Type::Volume(VolumeSource {
            volume_id: volume_id_of(location, &name),
        })),
    })
}

fn volume_id_of(location: &ExportLocation, name: &ExportName) -> String {
    ExportLocation {
        volume: location.volume.clone(),
        name: name.clone(),
    }
    .to_string()
}
