//! The CSI driver's services.
pub mod proto {
    tonic::include_proto!("csi.v1");
}
