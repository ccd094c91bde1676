use super::*;
use std::sync::mpsc;

const LONG: Duration = Duration::from_secs(30);

/// An attempt whose connect returns `value` once the returned sender is used.
fn gated<T: Send + 'static>(value: Result<T, GlfsError>) -> (Attempt<T>, mpsc::Sender<()>) {
    let (go, gate) = mpsc::channel();
    let attempt = Attempt::start("t-gated", move || {
        let _ = gate.recv();
        value
    })
    .unwrap();
    (attempt, go)
}

fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let until = Instant::now() + LONG;
    while !cond() {
        assert!(
            Instant::now() < until,
            "{what} did not happen within {LONG:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_late_result_is_there_for_the_next_caller() {
    let (attempt, go) = gated(Ok(9));
    assert!(
        attempt.wait(Duration::from_millis(20)).is_none(),
        "still running"
    );
    assert!(
        attempt.worth_waiting_for(LONG, LONG),
        "a running attempt is shared"
    );
    go.send(()).unwrap();
    assert!(matches!(attempt.wait(LONG), Some(Ok(9))));
    assert!(
        !attempt.worth_waiting_for(LONG, LONG),
        "taken: nothing left to share"
    );
    assert!(attempt.wait(Duration::ZERO).is_none(), "handed out once");
}

#[test]
fn a_failure_is_not_shared() {
    let (attempt, go) = gated::<u32>(Err(GlfsError::Thread(std::io::Error::other("x"))));
    go.send(()).unwrap();
    eventually("the attempt finishing", || {
        !attempt.worth_waiting_for(LONG, LONG)
    });
    assert!(matches!(
        attempt.wait(LONG),
        Some(Err(GlfsError::Thread(_)))
    ));
}

#[test]
fn an_old_connection_or_a_stuck_attempt_is_not_shared() {
    let (stuck, go_stuck) = gated(Ok(1));
    assert!(
        !stuck.worth_waiting_for(Duration::ZERO, LONG),
        "running too long"
    );
    let (idle, go) = gated(Ok(2));
    go.send(()).unwrap();
    eventually("the connection aging out", || {
        !idle.worth_waiting_for(LONG, Duration::ZERO)
    });
    go_stuck.send(()).unwrap();
}

/// Tells the test when it is dropped.
struct Conn(mpsc::Sender<&'static str>);
impl Drop for Conn {
    fn drop(&mut self) {
        let _ = self.0.send("dropped");
    }
}

#[test]
fn a_result_nobody_waits_for_is_let_go() {
    let (tx, rx) = mpsc::channel();
    let (running, go) = gated(Ok(Conn(tx.clone())));
    drop(running);
    go.send(()).unwrap();
    assert_eq!(
        rx.recv_timeout(LONG),
        Ok("dropped"),
        "dropped on the helper thread"
    );

    let (finished, go) = gated(Ok(Conn(tx)));
    go.send(()).unwrap();
    eventually("the attempt finishing", || {
        !finished.worth_waiting_for(LONG, Duration::ZERO)
    });
    assert!(rx.try_recv().is_err(), "kept while the attempt is held");
    drop(finished);
    assert_eq!(rx.try_recv(), Ok("dropped"), "dropped with the attempt");
}
