//! The Identity service: the driver's name and version, what it offers, and whether it
//! can work now (Probe).

use crate::backend::Backend;
use crate::proto::identity_server::Identity;
use crate::proto::plugin_capability::{Service, Type, VolumeExpansion, service, volume_expansion};
use crate::proto::*;
use tonic::{Request, Response, Status};

/// The driver's name: the CSIDriver object's, the StorageClass's provisioner.
pub const DRIVER_NAME: &str = "block.gluster-tcmu.org";
/// The driver's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The Identity service.
#[derive(Debug, Clone)]
pub struct IdentityService {
    /// The controller's side, when this process serves it: Probe asks its volumes.
    controller: Option<Backend>,
}

impl IdentityService {
    /// Identity of a driver serving the controller over `controller` (if any).
    pub fn new(controller: Option<Backend>) -> Self {
        IdentityService { controller }
    }

    /// Ready when every volume the controller was told of answers; the first that does
    /// not is logged and makes the answer "not ready" (the plugin lives, but cannot
    /// provision on it now).
    async fn ready(&self) -> bool {
        let Some(backend) = &self.controller else {
            return true;
        };
        for volume in backend.volumes() {
            if let Err(e) = backend.free_bytes(volume.clone()).await {
                tracing::warn!("Probe: volume {volume}: {}", e.message());
                return false;
            }
        }
        true
    }
}

type Answer<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl Identity for IdentityService {
    async fn get_plugin_info(
        &self,
        _: Request<GetPluginInfoRequest>,
    ) -> Answer<GetPluginInfoResponse> {
        Ok(Response::new(GetPluginInfoResponse {
            name: DRIVER_NAME.into(),
            vendor_version: VERSION.into(),
            manifest: Default::default(),
        }))
    }

    async fn get_plugin_capabilities(
        &self,
        _: Request<GetPluginCapabilitiesRequest>,
    ) -> Answer<GetPluginCapabilitiesResponse> {
        let mut capabilities = Vec::new();
        if self.controller.is_some() {
            capabilities.push(PluginCapability {
                r#type: Some(Type::Service(Service {
                    r#type: service::Type::ControllerService.into(),
                })),
            });
        }
        capabilities.push(PluginCapability {
            r#type: Some(Type::VolumeExpansion(VolumeExpansion {
                r#type: volume_expansion::Type::Online.into(),
            })),
        });
        Ok(Response::new(GetPluginCapabilitiesResponse {
            capabilities,
        }))
    }

    async fn probe(&self, _: Request<ProbeRequest>) -> Answer<ProbeResponse> {
        Ok(Response::new(ProbeResponse {
            ready: Some(self.ready().await),
        }))
    }
}
