//! gluster-tcmu's CSI driver: Kubernetes PersistentVolumeClaims become block exports on
//! a Gluster volume (Controller service), attached over iSCSI to the pod's node and
//! mounted there (Node service). See README.md and DESIGN.md beside this crate.

pub mod backend;
pub mod caps;
pub mod chap;
pub mod context;
pub mod controller;
pub mod core;
pub mod identity;
pub mod inflight;
pub mod node;
pub mod params;
pub mod server;
pub mod status;
pub mod volume_id;

/// The CSI specification's messages and services (v1.3.0), generated from
/// `proto/csi.proto`.
#[allow(
    missing_docs,
    clippy::all,
    clippy::pedantic,
    missing_debug_implementations
)]
pub mod proto {
    tonic::include_proto!("csi.v1");
}
