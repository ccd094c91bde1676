//! The Node service: runs on every Kubernetes node as the iSCSI initiator, attaching
//! exports, mounting them for pods and growing them. Every call works from what the
//! request carries (volume ID, volume context, secrets) and what the node shows (iscsiadm
//! sessions, sysfs, mountinfo): nothing is kept between calls, so a restarted driver
//! picks up where the last one was.
//!
//! The machine is reached through [`Host`], so the command sequences are unit-tested on
//! a fake machine (see `tests`).

mod device;
mod expand;
mod fs;
pub mod host;
mod iscsi;
mod mounts;
mod publish;
mod stage;

#[cfg(test)]
mod tests;

pub use host::{Cmd, FsStats, Host, Kind, Output, System};

use crate::caps;
use crate::chap;
use crate::context::VolumeContext;
use crate::inflight::InFlight;
use crate::proto::node_server::Node;
use crate::proto::node_service_capability::{Rpc, Type, rpc};
use crate::proto::volume_usage::Unit;
use crate::proto::*;
use crate::status;
use crate::volume_id;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tonic::{Request, Response, Status};

/// How the node service runs.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// This node's ID (its Kubernetes node name).
    pub node_id: String,
    /// The longest wait for a disk (or map) after a login, or a new size after a rescan.
    pub device_wait: Duration,
    /// How often the node looks meanwhile.
    pub poll: Duration,
}

impl NodeConfig {
    /// The defaults for node `node_id`.
    pub fn new(node_id: String) -> Self {
        NodeConfig {
            node_id,
            device_wait: Duration::from_secs(30),
            poll: Duration::from_millis(250),
        }
    }
}

/// The Node service.
#[derive(Debug, Clone)]
pub struct NodeService {
    host: Arc<dyn Host>,
    config: NodeConfig,
    inflight: InFlight,
}

impl NodeService {
    /// The service on the machine `host`.
    pub fn new(host: Arc<dyn Host>, config: NodeConfig) -> Self {
        NodeService {
            host,
            config,
            inflight: InFlight::default(),
        }
    }

    /// Runs `f` on a blocking thread, one call per volume at a time (ABORTED otherwise).
    async fn on_volume<T, F>(&self, volume_id: &str, f: F) -> Result<T, Status>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Host, &NodeConfig) -> Result<T, Status> + Send + 'static,
    {
        let held = self.inflight.enter(volume_id)?;
        let host = self.host.clone();
        let config = self.config.clone();
        tokio::task::spawn_blocking(move || {
            let _held = held;
            f(&*host, &config)
        })
        .await
        .map_err(status::lost)?
    }
}

fn path(given: &str, field: &str) -> Result<PathBuf, Status> {
    if given.is_empty() {
        return Err(Status::invalid_argument(format!("{field} is required")));
    }
    Ok(PathBuf::from(given))
}

fn capability(given: Option<&VolumeCapability>) -> Result<caps::Wanted, Status> {
    let cap = given.ok_or_else(|| Status::invalid_argument("volume_capability is required"))?;
    caps::check(cap).map_err(Status::invalid_argument)
}

fn check_stage(r: NodeStageVolumeRequest) -> Result<stage::Stage, Status> {
    let location = volume_id::require(&r.volume_id)?;
    let staging = path(&r.staging_target_path, "staging_target_path")?;
    let wanted = capability(r.volume_capability.as_ref())?;
    let context = VolumeContext::from_map(&r.volume_context)?;
    let chap = match context.chap {
        crate::context::Chap::None => None,
        _ => Some(chap::from_secrets(&r.secrets, "node-stage")?),
    };
    Ok(stage::Stage {
        location,
        staging,
        context,
        wanted,
        chap,
    })
}

fn check_publish(r: NodePublishVolumeRequest) -> Result<publish::Publish, Status> {
    let location = volume_id::require(&r.volume_id)?;
    let staging = path(&r.staging_target_path, "staging_target_path")?;
    let target = path(&r.target_path, "target_path")?;
    let wanted = capability(r.volume_capability.as_ref())?;
    let context = VolumeContext::from_map(&r.volume_context)?;
    Ok(publish::Publish {
        location,
        staging,
        target,
        context,
        read_only: r.readonly || wanted.read_only,
        wanted,
    })
}

const CAPABILITIES: [rpc::Type; 3] = [
    rpc::Type::StageUnstageVolume,
    rpc::Type::ExpandVolume,
    rpc::Type::GetVolumeStats,
];

fn bytes(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn usage(stats: expand::Stats) -> Vec<VolumeUsage> {
    match stats {
        expand::Stats::Block(size) => vec![VolumeUsage {
            total: bytes(size),
            unit: Unit::Bytes.into(),
            ..Default::default()
        }],
        expand::Stats::Filesystem(s) => vec![
            VolumeUsage {
                available: bytes(s.available_bytes),
                total: bytes(s.total_bytes),
                used: bytes(s.total_bytes.saturating_sub(s.free_bytes)),
                unit: Unit::Bytes.into(),
            },
            VolumeUsage {
                available: bytes(s.free_inodes),
                total: bytes(s.total_inodes),
                used: bytes(s.total_inodes.saturating_sub(s.free_inodes)),
                unit: Unit::Inodes.into(),
            },
        ],
    }
}

type Answer<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl Node for NodeService {
    async fn node_stage_volume(
        &self,
        r: Request<NodeStageVolumeRequest>,
    ) -> Answer<NodeStageVolumeResponse> {
        let r = r.into_inner();
        let id = r.volume_id.clone();
        let s = check_stage(r)?;
        self.on_volume(&id, move |host, cfg| stage::stage(host, cfg, &s))
            .await?;
        Ok(Response::new(NodeStageVolumeResponse {}))
    }

    async fn node_unstage_volume(
        &self,
        r: Request<NodeUnstageVolumeRequest>,
    ) -> Answer<NodeUnstageVolumeResponse> {
        let r = r.into_inner();
        let location = volume_id::require(&r.volume_id)?;
        let staging = path(&r.staging_target_path, "staging_target_path")?;
        self.on_volume(&r.volume_id, move |host, _| {
            stage::unstage(host, &location, &staging)
        })
        .await?;
        Ok(Response::new(NodeUnstageVolumeResponse {}))
    }

    async fn node_publish_volume(
        &self,
        r: Request<NodePublishVolumeRequest>,
    ) -> Answer<NodePublishVolumeResponse> {
        let r = r.into_inner();
        let id = r.volume_id.clone();
        let p = check_publish(r)?;
        self.on_volume(&id, move |host, _| publish::publish(host, &p))
            .await?;
        Ok(Response::new(NodePublishVolumeResponse {}))
    }

    async fn node_unpublish_volume(
        &self,
        r: Request<NodeUnpublishVolumeRequest>,
    ) -> Answer<NodeUnpublishVolumeResponse> {
        let r = r.into_inner();
        volume_id::require(&r.volume_id)?;
        let target = path(&r.target_path, "target_path")?;
        self.on_volume(&r.volume_id, move |host, _| {
            publish::unpublish(host, &target)
        })
        .await?;
        Ok(Response::new(NodeUnpublishVolumeResponse {}))
    }

    async fn node_get_volume_stats(
        &self,
        r: Request<NodeGetVolumeStatsRequest>,
    ) -> Answer<NodeGetVolumeStatsResponse> {
        let r = r.into_inner();
        let location = volume_id::require(&r.volume_id)?;
        let volume_path = path(&r.volume_path, "volume_path")?;
        let host = self.host.clone();
        let stats =
            tokio::task::spawn_blocking(move || expand::stats(&*host, &location, &volume_path))
                .await
                .map_err(status::lost)??;
        Ok(Response::new(NodeGetVolumeStatsResponse {
            usage: usage(stats),
            volume_condition: None,
        }))
    }

    async fn node_expand_volume(
        &self,
        r: Request<NodeExpandVolumeRequest>,
    ) -> Answer<NodeExpandVolumeResponse> {
        let r = r.into_inner();
        let location = volume_id::require(&r.volume_id)?;
        let volume_path = path(&r.volume_path, "volume_path")?;
        let range = crate::controller::Range::from_request(r.capacity_range.as_ref())?;
        let block = match r.volume_capability.as_ref() {
            Some(cap) => {
                let wanted = caps::check(cap).map_err(Status::invalid_argument)?;
                wanted.access == caps::Access::Block
            }
            None => false,
        };
        let size = self
            .on_volume(&r.volume_id, move |host, cfg| {
                expand::expand(host, cfg, &location, &volume_path, range.required, block)
            })
            .await?;
        Ok(Response::new(NodeExpandVolumeResponse {
            capacity_bytes: bytes(size),
        }))
    }

    async fn node_get_capabilities(
        &self,
        _: Request<NodeGetCapabilitiesRequest>,
    ) -> Answer<NodeGetCapabilitiesResponse> {
        let capabilities = CAPABILITIES
            .into_iter()
            .map(|t| NodeServiceCapability {
                r#type: Some(Type::Rpc(Rpc { r#type: t.into() })),
            })
            .collect();
        Ok(Response::new(NodeGetCapabilitiesResponse { capabilities }))
    }

    async fn node_get_info(&self, _: Request<NodeGetInfoRequest>) -> Answer<NodeGetInfoResponse> {
        Ok(Response::new(NodeGetInfoResponse {
            node_id: self.config.node_id.clone(),
            max_volumes_per_node: 0,
            accessible_topology: None,
        }))
    }
}
