//! The gateway's thread: a pass every polling period, and one at once when asked
//! ([`GatewayHandle::converge`], the control socket's `converge`).

use super::{Gateway, GatewayError};
use crate::error_text::admin_message;
use crate::export::GatewayReport;
use crate::lio::ConfigFs;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the thread looks at the stop flag while it waits.
const TICK: Duration = Duration::from_millis(250);

/// What a `converge` request gets: the report of a pass that started after the request
/// arrived, or why there is none.
pub type Answer = Result<GatewayReport, String>;

/// Asks the gateway thread for passes; cheap to clone.
#[derive(Debug, Clone)]
pub struct GatewayHandle {
    tx: Sender<Sender<Answer>>,
}

/// The gateway thread's end of the requests.
#[derive(Debug)]
pub struct Requests {
    rx: Receiver<Sender<Answer>>,
}

/// A handle and the requests it sends.
pub fn channel() -> (GatewayHandle, Requests) {
    let (tx, rx) = mpsc::channel();
    (GatewayHandle { tx }, Requests { rx })
}

impl GatewayHandle {
    /// Runs a pass now (after the one under way, if any) and returns its report; waits
    /// at most `wait`.
    pub fn converge(&self, wait: Duration) -> Answer {
        let (tx, rx) = mpsc::channel();
        self.tx
            .send(tx)
            .map_err(|_| "the gateway has stopped".to_owned())?;
        rx.recv_timeout(wait).map_err(|e| match e {
            RecvTimeoutError::Timeout => {
                format!("no gateway pass finished within {} s", wait.as_secs())
            }
            RecvTimeoutError::Disconnected => "the gateway stopped before its pass".to_owned(),
        })?
    }
}

/// Starts the gateway thread: it opens the gateway with `open` (again each period until
/// that succeeds), runs a pass at once, then one every `poll` and one for each batch of
/// requests, until `stop` is set. It stops between passes and leaves LIO as it is.
pub fn spawn<F, O>(
    open: O,
    requests: Requests,
    poll: Duration,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>>
where
    F: ConfigFs + Send + 'static,
    O: FnMut() -> Result<Gateway<F>, GatewayError> + Send + 'static,
{
    std::thread::Builder::new()
        .name("gateway".into())
        .spawn(move || run(open, &requests, poll, &stop))
}

fn run<F: ConfigFs>(
    mut open: impl FnMut() -> Result<Gateway<F>, GatewayError>,
    requests: &Requests,
    poll: Duration,
    stop: &AtomicBool,
) {
    let mut gateway = None;
    let mut last_error = None;
    let mut next = Instant::now();
    while let Some(waiting) = wait(requests, next, stop) {
        let answer = match ensure_open(&mut gateway, &mut open, &mut last_error) {
            Some(g) => Ok(g.pass()),
            None => Err(last_error.clone().unwrap_or_default()),
        };
        for reply in waiting {
            let _ = reply.send(answer.clone());
        }
        next = Instant::now() + poll;
    }
    tracing::info!("gateway stopped; LIO is left as it is");
}

/// The gateway, opened now if it was not yet; logs a new failure once.
fn ensure_open<'g, F: ConfigFs>(
    gateway: &'g mut Option<Gateway<F>>,
    open: &mut impl FnMut() -> Result<Gateway<F>, GatewayError>,
    last_error: &mut Option<String>,
) -> Option<&'g mut Gateway<F>> {
    if gateway.is_none() {
        match open() {
            Ok(g) => *gateway = Some(g),
            Err(e) => {
                let why = format!("the gateway cannot start: {}", admin_message(&e));
                if last_error.as_ref() != Some(&why) {
                    tracing::error!("{why}");
                }
                *last_error = Some(why);
            }
        }
    }
    gateway.as_mut()
}

/// Waits until `next` or a request, whichever comes first; returns the requests to
/// answer with the coming pass (all that arrived until now), or `None` once `stop` is set.
fn wait(requests: &Requests, next: Instant, stop: &AtomicBool) -> Option<Vec<Sender<Answer>>> {
    let mut waiting = Vec::new();
    loop {
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        let now = Instant::now();
        if now >= next {
            break;
        }
        match requests.rx.recv_timeout((next - now).min(TICK)) {
            Ok(reply) => {
                waiting.push(reply);
                break;
            }
            Err(RecvTimeoutError::Timeout) => {}
            // No handle left (no control socket): polling goes on.
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep((next - now).min(TICK)),
        }
    }
    waiting.extend(requests.rx.try_iter());
    Some(waiting)
}
