//! The daemon's control socket: a client sends one request line, the daemon answers and
//! closes the connection.
//!
//! * `list`: the table of served LUNs ([`super::list`]), one line per LUN after a header;
//! * `converge`: runs a gateway pass now (after the one under way, if any) and answers
//!   one line of JSON: this gateway's report over all its volumes
//!   ([`crate::export::GatewayReport`]), or `{"error": "..."}` (no gateway configured,
//!   the pass did not finish in time).
//!
//! Anything else is answered with a one-line `{"error": ...}`. Only root can connect
//! (the socket file is root's, without write permission for others).

#![forbid(unsafe_code)]

use super::list;
use super::registry::DeviceRegistry;
use crate::gateway::GatewayHandle;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::Shutdown;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The request for the table of served LUNs.
pub const LIST: &str = "list";
/// The request for a gateway pass and its report.
pub const CONVERGE: &str = "converge";
/// How long a client may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest request line read.
const REQUEST_MAX: u64 = 256;
/// How long a `converge` waits for its pass. A pass may wait for every volume's
/// connection deadline and for the kernel to enable new LUNs; a client that gives up
/// sooner simply closes the connection.
pub const CONVERGE_WAIT: Duration = Duration::from_secs(300);

/// Keeps the socket file until dropped.
#[derive(Debug)]
pub struct ControlSocket {
    path: PathBuf,
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What the requests are answered from.
#[derive(Debug, Clone)]
struct Served {
    registry: Arc<DeviceRegistry>,
    gateway: Option<GatewayHandle>,
}

/// Listens on `path`; each connection is answered on its own thread, so a `converge`
/// waiting for its pass holds up no `list`.
pub fn serve(
    path: &Path,
    registry: Arc<DeviceRegistry>,
    gateway: Option<GatewayHandle>,
) -> io::Result<ControlSocket> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    // Root's alone, whatever the umask: connecting is all a client needs to ask.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    let served = Served { registry, gateway };
    std::thread::Builder::new()
        .name("control-socket".into())
        .spawn(move || accept(&listener, &served))?;
    Ok(ControlSocket {
        path: path.to_path_buf(),
    })
}

fn accept(listener: &UnixListener, served: &Served) {
    for stream in listener.incoming().flatten() {
        let served = served.clone();
        let spawned = std::thread::Builder::new()
            .name("control".into())
            .spawn(move || answer(stream, &served));
        if let Err(e) = spawned {
            tracing::warn!("control socket: cannot start a thread for a request: {e}");
        }
    }
}

fn answer(mut stream: UnixStream, served: &Served) {
    let request = match read_request(&stream) {
        Ok(request) => request,
        Err(e) => return tracing::debug!("control socket: no request read: {e}"),
    };
    let written = match request.trim() {
        LIST => list::write_table(&mut stream, &served.registry),
        CONVERGE => writeln!(stream, "{}", converge(served.gateway.as_ref())),
        other => {
            let why = format!("unknown request {other:?}; the requests are {LIST} and {CONVERGE}");
            writeln!(stream, "{}", json_error(&why))
        }
    };
    if let Err(e) = written {
        tracing::debug!("control socket: request not answered: {e}");
    }
}

fn read_request(stream: &UnixStream) -> io::Result<String> {
    stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    let mut line = String::new();
    BufReader::new(stream.take(REQUEST_MAX)).read_line(&mut line)?;
    Ok(line)
}

/// The answer to `converge`: the report of a pass run for it, as one line of JSON.
fn converge(gateway: Option<&GatewayHandle>) -> String {
    let Some(gateway) = gateway else {
        return json_error("no gateway: the settings file has no [exports] section");
    };
    match gateway.converge(CONVERGE_WAIT) {
        Ok(report) => serde_json::to_string(&report)
            .unwrap_or_else(|e| json_error(&format!("report not encoded: {e}"))),
        Err(e) => json_error(&e),
    }
}

fn json_error(message: &str) -> String {
    serde_json::json!({ "error": message }).to_string()
}

/// Client side: sends `request` to the daemon listening on `path` and returns its
/// answer's lines.
pub fn request(path: &Path, request: &str) -> io::Result<Vec<String>> {
    let mut stream = UnixStream::connect(path)?;
    stream.write_all(format!("{request}\n").as_bytes())?;
    stream.shutdown(Shutdown::Write)?;
    BufReader::new(stream).lines().collect()
}

#[cfg(test)]
mod tests {
    //! The control socket's requests, end to end over a Unix socket.

    use super::*;
    use crate::export::{GatewayReport, StatusState};
    use crate::gateway::tests::{Env, PORTAL, put_record, record, volume_in};
    use std::sync::atomic::{AtomicBool, Ordering};

    fn registry() -> Arc<DeviceRegistry> {
        Arc::new(DeviceRegistry::new(1, Default::default()).unwrap())
    }

    fn socket(dir: &tempfile::TempDir, gateway: Option<GatewayHandle>) -> (ControlSocket, PathBuf) {
        let path = dir.path().join("run/control.sock");
        (serve(&path, registry(), gateway).unwrap(), path)
    }

    #[test]
    fn the_socket_is_roots_alone_whatever_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let (_socket, path) = socket(&dir, None);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "socket mode {mode:o}");
    }

    #[test]
    fn list_answers_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let (_socket, path) = socket(&dir, None);
        let lines = request(&path, LIST).unwrap();
        assert_eq!(lines, [list::HEADER]);
    }

    #[test]
    fn converge_without_a_gateway_and_unknown_requests_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let (_socket, path) = socket(&dir, None);
        let lines = request(&path, CONVERGE).unwrap();
        assert_eq!(
            lines,
            [r#"{"error":"no gateway: the settings file has no [exports] section"}"#]
        );
        let lines = request(&path, "lsit").unwrap();
        assert_eq!(
            lines,
            [r#"{"error":"unknown request \"lsit\"; the requests are list and converge"}"#]
        );
    }

    #[test]
    fn converge_runs_a_pass_and_answers_its_report() {
        let Env {
            dir,
            settings,
            gateway,
            ..
        } = Env::new();
        let gv0 = volume_in(dir.path(), "gv0");
        let mut slot = Some(gateway);
        let open = move || Ok(slot.take().expect("opened once"));
        let (handle, requests) = crate::gateway::channel();
        let stop = Arc::new(AtomicBool::new(false));
        // A long period: only requests make passes after the first.
        let thread =
            crate::gateway::spawn(open, requests, Duration::from_secs(300), stop.clone()).unwrap();
        let (_socket, path) = socket(&dir, Some(handle));

        let report = converge_report(&path);
        assert!(report.exports.is_empty());
        put_record(&gv0, &record("disk1", &[PORTAL]));
        let report = converge_report(&path);
        assert_eq!(report.gateway, settings.portal);
        assert_eq!(report.exports["disk1"].state, StatusState::Ready);
        assert!(
            settings
                .configfs
                .join("iscsi/iqn.2016-12.org.gluster-tcmu:disk1")
                .exists()
        );
        // `list` is answered while the gateway runs.
        assert_eq!(request(&path, LIST).unwrap(), [list::HEADER]);

        stop.store(true, Ordering::Relaxed);
        thread.join().unwrap();
        let lines = request(&path, CONVERGE).unwrap();
        assert_eq!(lines, [r#"{"error":"the gateway has stopped"}"#]);
    }

    fn converge_report(path: &Path) -> GatewayReport {
        let lines = request(path, CONVERGE).unwrap();
        assert_eq!(lines.len(), 1, "one line: {lines:?}");
        GatewayReport::from_json(lines[0].as_bytes()).unwrap()
    }
}
