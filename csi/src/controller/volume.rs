//! DeleteVolume, ControllerExpandVolume, ValidateVolumeCapabilities and GetCapacity.

use super::{ControllerService, Range};
use crate::caps;
use crate::core::{ExportRef, OpsError};
use crate::params;
use crate::proto::validate_volume_capabilities_response::Confirmed;
use crate::proto::*;
use crate::status;
use crate::volume_id;
use tonic::Status;

impl ControllerService {
    /// Removes the export; a volume that is not there (or not ours) is already deleted.
    pub(super) async fn delete(
        &self,
        req: DeleteVolumeRequest,
    ) -> Result<DeleteVolumeResponse, Status> {
        if req.volume_id.is_empty() {
            return Err(Status::invalid_argument("volume_id is required"));
        }
        let Some(location) = volume_id::parse(&req.volume_id) else {
            tracing::info!(
                "DeleteVolume {:?}: not a volume of this driver",
                req.volume_id
            );
            return Ok(DeleteVolumeResponse {});
        };
        let _held = self.inflight.enter(&req.volume_id)?;
        tracing::info!("DeleteVolume {location}");
        self.backend
            .ops(
                move |ops| match ops.delete(&ExportRef::At(location), false) {
                    Ok(_) | Err(OpsError::NotFound { .. }) => Ok(DeleteVolumeResponse {}),
                    Err(e) => Err(status::of(e)),
                },
            )
            .await
    }

    /// Grows the export to the range's size; one at least that large already is left.
    pub(super) async fn expand(
        &self,
        req: ControllerExpandVolumeRequest,
    ) -> Result<ControllerExpandVolumeResponse, Status> {
        let location = volume_id::require(&req.volume_id)?;
        let Some(range) = req.capacity_range.as_ref() else {
            return Err(Status::invalid_argument("capacity_range is required"));
        };
        let range = Range::from_request(Some(range))?;
        let _held = self.inflight.enter(&req.volume_id)?;
        tracing::info!("ControllerExpandVolume {location} to {range}");
        let size = self
            .backend
            .ops(move |ops| {
                let at = ExportRef::At(location);
                let (_, record) = ops.record(&at).map_err(status::of)?;
                if record.size >= range.required {
                    return Ok(record.size);
                }
                let size = range.size()?;
                ops.resize(&at, size)
                    .map(|out| out.record.size)
                    .map_err(status::of)
            })
            .await?;
        Ok(ControllerExpandVolumeResponse {
            capacity_bytes: i64::try_from(size).unwrap_or(i64::MAX),
            // The initiator must rescan for the new size, and the filesystem grow.
            node_expansion_required: true,
        })
    }

    /// Confirms the capabilities when the export exists and all of them are served.
    pub(super) async fn validate(
        &self,
        req: ValidateVolumeCapabilitiesRequest,
    ) -> Result<ValidateVolumeCapabilitiesResponse, Status> {
        let location = volume_id::require(&req.volume_id)?;
        if req.volume_capabilities.is_empty() {
            return Err(Status::invalid_argument("volume_capabilities are required"));
        }
        self.backend
            .ops(move |ops| {
                ops.record(&ExportRef::At(location))
                    .map(drop)
                    .map_err(status::of)
            })
            .await?;
        let refused = req
            .volume_capabilities
            .iter()
            .find_map(|c| caps::check(c).err());
        if !req.parameters.is_empty() {
            params::Params::parse(&req.parameters)?;
        }
        Ok(match refused {
            Some(message) => ValidateVolumeCapabilitiesResponse {
                confirmed: None,
                message,
            },
            None => ValidateVolumeCapabilitiesResponse {
                confirmed: Some(Confirmed {
                    volume_context: req.volume_context,
                    volume_capabilities: req.volume_capabilities,
                    parameters: req.parameters,
                }),
                message: String::new(),
            },
        })
    }

    /// The free space of the volume the parameters name (or of the driver's first
    /// volume when none are given): what a new volume can have at most.
    pub(super) async fn capacity(
        &self,
        req: GetCapacityRequest,
    ) -> Result<GetCapacityResponse, Status> {
        let volume = if req.parameters.is_empty() {
            self.backend.volumes().first().cloned().ok_or_else(|| {
                Status::invalid_argument(
                    "parameters naming the volume are required (the driver was started \
                     without --volume)",
                )
            })?
        } else {
            params::volume_of(&req.parameters)?
        };
        if req
            .volume_capabilities
            .iter()
            .any(|c| caps::check(c).is_err())
        {
            return Ok(GetCapacityResponse {
                available_capacity: 0,
            });
        }
        let free = self.backend.free_bytes(volume).await?;
        Ok(GetCapacityResponse {
            available_capacity: i64::try_from(free).unwrap_or(i64::MAX),
        })
    }
}
