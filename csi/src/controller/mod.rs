//! The Controller service: volumes made, grown and removed as block exports on the
//! Gluster volume a StorageClass names. It runs anywhere that reaches the volume; it
//! never touches a node.

mod clone;
mod create;
mod size;
mod volume;

pub use size::{DEFAULT_SIZE, Range};

use crate::backend::Backend;
use crate::inflight::InFlight;
use crate::proto::controller_server::Controller;
use crate::proto::controller_service_capability::{Rpc, Type, rpc};
use crate::proto::*;
use tonic::{Request, Response, Status};

/// The Controller service.
#[derive(Debug, Clone)]
pub struct ControllerService {
    backend: Backend,
    inflight: InFlight,
}

impl ControllerService {
    /// The service over `backend`.
    pub fn new(backend: Backend) -> Self {
        ControllerService {
            backend,
            inflight: InFlight::default(),
        }
    }
}

/// What the Controller service does.
const CAPABILITIES: [rpc::Type; 4] = [
    rpc::Type::CreateDeleteVolume,
    rpc::Type::CloneVolume,
    rpc::Type::ExpandVolume,
    rpc::Type::GetCapacity,
];

fn unimplemented(what: &str) -> Status {
    Status::unimplemented(format!(
        "{what} is not offered by this driver (see its capabilities)"
    ))
}

type Answer<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl Controller for ControllerService {
    async fn create_volume(&self, r: Request<CreateVolumeRequest>) -> Answer<CreateVolumeResponse> {
        self.create(r.into_inner()).await.map(Response::new)
    }

    async fn delete_volume(&self, r: Request<DeleteVolumeRequest>) -> Answer<DeleteVolumeResponse> {
        self.delete(r.into_inner()).await.map(Response::new)
    }

    async fn controller_publish_volume(
        &self,
        _: Request<ControllerPublishVolumeRequest>,
    ) -> Answer<ControllerPublishVolumeResponse> {
        Err(unimplemented("ControllerPublishVolume"))
    }

    async fn controller_unpublish_volume(
        &self,
        _: Request<ControllerUnpublishVolumeRequest>,
    ) -> Answer<ControllerUnpublishVolumeResponse> {
        Err(unimplemented("ControllerUnpublishVolume"))
    }

    async fn validate_volume_capabilities(
        &self,
        r: Request<ValidateVolumeCapabilitiesRequest>,
    ) -> Answer<ValidateVolumeCapabilitiesResponse> {
        self.validate(r.into_inner()).await.map(Response::new)
    }

    async fn list_volumes(&self, _: Request<ListVolumesRequest>) -> Answer<ListVolumesResponse> {
        Err(unimplemented("ListVolumes"))
    }

    async fn get_capacity(&self, r: Request<GetCapacityRequest>) -> Answer<GetCapacityResponse> {
        self.capacity(r.into_inner()).await.map(Response::new)
    }

    async fn controller_get_capabilities(
        &self,
        _: Request<ControllerGetCapabilitiesRequest>,
    ) -> Answer<ControllerGetCapabilitiesResponse> {
        let capabilities = CAPABILITIES
            .into_iter()
            .map(|t| ControllerServiceCapability {
                r#type: Some(Type::Rpc(Rpc { r#type: t.into() })),
            })
            .collect();
        Ok(Response::new(ControllerGetCapabilitiesResponse {
            capabilities,
        }))
    }

    async fn create_snapshot(
        &self,
        _: Request<CreateSnapshotRequest>,
    ) -> Answer<CreateSnapshotResponse> {
        Err(unimplemented("CreateSnapshot"))
    }

    async fn delete_snapshot(
        &self,
        _: Request<DeleteSnapshotRequest>,
    ) -> Answer<DeleteSnapshotResponse> {
        Err(unimplemented("DeleteSnapshot"))
    }

    async fn list_snapshots(
        &self,
        _: Request<ListSnapshotsRequest>,
    ) -> Answer<ListSnapshotsResponse> {
        Err(unimplemented("ListSnapshots"))
    }

    async fn controller_expand_volume(
        &self,
        r: Request<ControllerExpandVolumeRequest>,
    ) -> Answer<ControllerExpandVolumeResponse> {
        self.expand(r.into_inner()).await.map(Response::new)
    }

    async fn controller_get_volume(
        &self,
        _: Request<ControllerGetVolumeRequest>,
    ) -> Answer<ControllerGetVolumeResponse> {
        Err(unimplemented("ControllerGetVolume"))
    }
}
