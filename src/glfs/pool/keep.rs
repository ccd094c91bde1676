//! Connections held for a while without a user (see [`super::CHECK_KEEP`]). One thread
//! holds them all and lets each go when its time is up; holding a connection it already
//! holds moves that time instead of adding a holder, so repeated checks of one volume
//! cost neither threads nor references.

use crate::glfs::gfapi::Volume;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Keeps `volume` connected for `keep` from now (zero: not at all). If no thread can be
/// started to hold it, it is released now.
pub fn hold(volume: Arc<Volume>, keep: Duration) {
    if keep.is_zero() {
        return;
    }
    if let Some(holder) = holder() {
        let _ = holder.send((volume, Instant::now() + keep));
    }
}

type Hold = (Arc<Volume>, Instant);

fn holder() -> Option<&'static Sender<Hold>> {
    static HOLDER: OnceLock<Option<Sender<Hold>>> = OnceLock::new();
    HOLDER
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel();
            std::thread::Builder::new()
                .name("glfs-keep".into())
                .spawn(move || run(&rx))
                .ok()?;
            Some(tx)
        })
        .as_ref()
}

fn run(rx: &Receiver<Hold>) {
    let mut held = Held::default();
    loop {
        let next = match held.next_due() {
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(due) => rx.recv_timeout(due.saturating_duration_since(Instant::now())),
        };
        match next {
            Ok((volume, until)) => held.hold(volume, until),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        held.release_due(Instant::now());
    }
}

/// What is held and until when (pure; the thread above drives it).
#[derive(Debug)]
struct Held<T> {
    items: Vec<(Arc<T>, Instant)>,
}

impl<T> Default for Held<T> {
    fn default() -> Self {
        Self { items: Vec::new() }
    }
}

impl<T> Held<T> {
    /// Holds `item` until `until`, or later if it is already held longer.
    fn hold(&mut self, item: Arc<T>, until: Instant) {
        match self
            .items
            .iter_mut()
            .find(|(held, _)| Arc::ptr_eq(held, &item))
        {
            Some((_, due)) => *due = (*due).max(until),
            None => self.items.push((item, until)),
        }
    }

    /// Drops every item whose time is up at `now`.
    fn release_due(&mut self, now: Instant) {
        self.items.retain(|(_, due)| *due > now);
    }

    /// When the next item is due.
    fn next_due(&self) -> Option<Instant> {
        self.items.iter().map(|(_, due)| *due).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holding_again_moves_the_time_instead_of_adding_a_holder() {
        let t0 = Instant::now();
        let s = |n| t0 + Duration::from_secs(n);
        let (a, b) = (Arc::new(1), Arc::new(2));
        let mut held = Held::default();
        assert_eq!(held.next_due(), None);
        held.hold(a.clone(), s(30));
        held.hold(b.clone(), s(10));
        held.hold(a.clone(), s(40));
        held.hold(a.clone(), s(35));
        assert_eq!(Arc::strong_count(&a), 2, "one hold per item");
        assert_eq!(held.next_due(), Some(s(10)));
        held.release_due(s(10));
        assert_eq!(Arc::strong_count(&b), 1, "b released when due");
        assert_eq!(held.next_due(), Some(s(40)), "the later time counts");
        held.release_due(s(39));
        assert_eq!(Arc::strong_count(&a), 2);
        held.release_due(s(40));
        assert_eq!(Arc::strong_count(&a), 1);
        assert_eq!(held.next_due(), None);
    }
}
