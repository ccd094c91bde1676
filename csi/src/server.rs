//! Serving the services on a unix socket, as the Kubernetes sidecars expect
//! (`unix:///csi/csi.sock`).

use crate::proto::controller_server::ControllerServer;
use crate::proto::identity_server::IdentityServer;
use crate::proto::node_server::NodeServer;
use crate::{controller::ControllerService, identity::IdentityService, node::NodeService};
use std::future::Future;
use std::path::{Path, PathBuf};
use tokio::net::UnixListener;
use tokio_stream::wrappers::UnixListenerStream;

/// Why the driver could not serve.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("endpoint {0:?} is not unix:///PATH (or a plain PATH)")]
    Endpoint(String),
    #[error("cannot remove the old socket {path}")]
    Stale {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot listen on {path}")]
    Listen {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("gRPC server")]
    Grpc(#[from] tonic::transport::Error),
}

/// The socket path of an endpoint: `unix:///csi/csi.sock`, `unix:/csi/csi.sock` or a path.
pub fn socket_path(endpoint: &str) -> Result<PathBuf, ServeError> {
    let path = endpoint
        .strip_prefix("unix://")
        .or_else(|| endpoint.strip_prefix("unix:"))
        .unwrap_or(endpoint);
    if !path.starts_with('/') {
        return Err(ServeError::Endpoint(endpoint.to_owned()));
    }
    Ok(PathBuf::from(path))
}

/// Listens on `path`, replacing a socket a previous run left.
pub fn listen(path: &Path) -> Result<UnixListener, ServeError> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(ServeError::Stale {
                path: path.to_owned(),
                source,
            });
        }
    }
    UnixListener::bind(path).map_err(|source| ServeError::Listen {
        path: path.to_owned(),
        source,
    })
}

/// The services a driver process offers.
#[derive(Debug)]
pub struct Services {
    pub identity: IdentityService,
    pub controller: Option<ControllerService>,
    pub node: Option<NodeService>,
}

/// Serves `services` on `listener` until `shutdown` completes.
pub async fn serve(
    services: Services,
    listener: UnixListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let router = tonic::transport::Server::builder()
        .add_service(IdentityServer::new(services.identity))
        .add_optional_service(services.controller.map(ControllerServer::new))
        .add_optional_service(services.node.map(NodeServer::new));
    router
        .serve_with_incoming_shutdown(UnixListenerStream::new(listener), shutdown)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(
            socket_path("unix:///csi/csi.sock").unwrap(),
            Path::new("/csi/csi.sock")
        );
        assert_eq!(socket_path("unix:/csi/x").unwrap(), Path::new("/csi/x"));
        assert_eq!(socket_path("/tmp/s").unwrap(), Path::new("/tmp/s"));
        assert!(socket_path("tcp://1.2.3.4:5").is_err());
    }
}
