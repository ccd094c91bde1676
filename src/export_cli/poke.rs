//! Asking a local daemon to look at a change now: one line `converge` on its control
//! socket, answered (once its gateway pass is over) with one line of JSON. Without a
//! daemon, or one that does not know the request, nothing is lost: the gateways pick the
//! change up within their polling period.

use crate::export::location::ExportLocation;
use crate::export::report::GatewayReport;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// How long a converge pass may take before the command stops waiting for its answer.
pub const CONVERGE_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest answer read.
const ANSWER_MAX: u64 = 1 << 20;

/// What the local daemon said.
#[derive(Debug)]
pub enum Converge {
    /// It ran a pass and answered with JSON.
    Done(serde_json::Value),
    /// It answered something else (a daemon without the request).
    NotUnderstood(String),
    /// No daemon listens there, or it did not answer in time.
    NoAnswer(std::io::Error),
}

/// Sends `converge` to the daemon at `socket` and reads its answer.
pub fn converge(socket: &Path, timeout: Duration) -> Converge {
    match exchange(socket, timeout) {
        Ok(line) => match serde_json::from_str::<serde_json::Value>(line.trim()) {
            Ok(value) if value.is_object() => Converge::Done(value),
            _ => Converge::NotUnderstood(line.trim().to_owned()),
        },
        Err(e) => Converge::NoAnswer(e),
    }
}

fn exchange(socket: &Path, timeout: Duration) -> std::io::Result<String> {
    let mut stream = UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(b"converge\n")?;
    let mut line = String::new();
    BufReader::new(stream.take(ANSWER_MAX)).read_line(&mut line)?;
    Ok(line)
}

/// The line to print for the admin about `answer`, for the export at `location`.
pub fn note(socket: &Path, answer: &Converge, location: &ExportLocation) -> String {
    let later = "the gateways pick the change up within their polling period";
    match answer {
        Converge::Done(value) => match local_status(value, location) {
            Some(status) => format!("local gateway: {status}"),
            None => "the local daemon has looked at the change".to_owned(),
        },
        Converge::NotUnderstood(_) => {
            format!(
                "the daemon at {} does not take `converge`: {later}",
                socket.display()
            )
        }
        Converge::NoAnswer(e) => {
            format!("no local daemon at {} ({e}): {later}", socket.display())
        }
    }
}

/// What the local gateway's report (the daemon's answer) says of the export.
fn local_status(value: &serde_json::Value, location: &ExportLocation) -> Option<String> {
    let report = value
        .get("report")
        .cloned()
        .or_else(|| Some(value.clone()))
        .and_then(|v| serde_json::from_value::<GatewayReport>(v).ok())?;
    let Some(status) = report.exports.get(location.name.as_str()) else {
        return Some(format!(
            "{} does not serve {}",
            report.gateway, location.name
        ));
    };
    let state = serde_json::to_value(status.state).ok()?;
    let reason = status
        .reason
        .as_ref()
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    Some(format!("{} {}{reason}", report.gateway, state.as_str()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    fn serve_once(answer: &'static str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("control.sock");
        let listener = UnixListener::bind(&path).unwrap();
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut request = String::new();
            BufReader::new(&stream).read_line(&mut request).unwrap();
            assert_eq!(request, "converge\n");
            (&stream).write_all(answer.as_bytes()).unwrap();
        });
        (dir, path)
    }

    fn location() -> ExportLocation {
        ExportLocation::parse("gv0@s1/disk1").unwrap()
    }

    #[test]
    fn a_json_answer_is_a_converged_daemon() {
        let report = r#"{"version":1,"gateway":"127.0.0.1:3260","updated":1,"poll_secs":3,
            "exports":{"disk1":{"state":"ready","size":512,"generation":2,"sessions":[]}}}"#
            .replace('\n', "");
        let answer: &'static str = Box::leak(format!("{report}\n").into_boxed_str());
        let (_d, path) = serve_once(answer);
        let got = converge(&path, Duration::from_secs(5));
        assert!(matches!(got, Converge::Done(_)), "{got:?}");
        assert_eq!(
            note(&path, &got, &location()),
            "local gateway: 127.0.0.1:3260 ready"
        );
    }

    #[test]
    fn a_daemon_answering_its_table_or_no_daemon_means_the_polling_period() {
        let (_d, path) = serve_once("DEVICE\tHANDLER\tCOMMANDS\n");
        let got = converge(&path, Duration::from_secs(5));
        assert!(matches!(got, Converge::NotUnderstood(_)), "{got:?}");
        assert!(note(&path, &got, &location()).ends_with("within their polling period"));
        let missing = converge(
            Path::new("/nonexistent/control.sock"),
            Duration::from_secs(1),
        );
        assert!(matches!(missing, Converge::NoAnswer(_)), "{missing:?}");
    }
}
