//! Sorting what arrives on the socket, without touching it.
//!
//! Events and acknowledgements share one socket, so while we wait for the ack of a
//! reply, events for other devices keep arriving: they are queued here and handed out
//! by the next `recv`. An event that does not decode is still owed an answer (the
//! kernel waits for it without time-out); if its command and `DEVICE_ID` can be read,
//! a `-EINVAL` reply is queued for the socket layer to send.

use super::codec::{DeviceEvent, EventType, decode_event, reply_target};
use super::frame::Incoming;
use std::collections::VecDeque;

/// Queued events and owed `-EINVAL` answers.
#[derive(Debug)]
pub(super) struct Inbox {
    family: u16,
    events: VecDeque<DeviceEvent>,
    owed: VecDeque<(EventType, u32)>,
}

impl Inbox {
    /// An empty inbox for the resolved `TCM-USER` family id.
    pub(super) fn new(family: u16) -> Self {
        Self {
            family,
            events: VecDeque::new(),
            owed: VecDeque::new(),
        }
    }

    /// Sorts one message. Returns the errno (0 = success) if it is the ack of the
    /// request numbered `awaited`; everything else is queued or logged.
    pub(super) fn accept(&mut self, msg: Incoming, awaited: Option<u32>) -> Option<i32> {
        match msg {
            Incoming::Ack { seq, errno } if Some(seq) == awaited => return Some(errno),
            Incoming::Ack { seq, errno: 0 } => tracing::debug!(seq, "stray netlink ack"),
            Incoming::Ack { seq, errno } => tracing::warn!(seq, errno, "stray netlink error"),
            Incoming::Genl {
                family, payload, ..
            } if family == self.family => self.event(&payload),
            Incoming::Genl { family, .. } => tracing::debug!(family, "skipping foreign message"),
            Incoming::Other { message_type } => tracing::debug!(message_type, "skipping"),
        }
        None
    }

    /// Decodes an event payload into the queue, or records the answer it is owed.
    fn event(&mut self, payload: &[u8]) {
        let err = match decode_event(payload) {
            Ok(ev) => return self.events.push_back(ev),
            Err(err) => err,
        };
        match reply_target(payload) {
            Some((event, device_id)) => {
                tracing::warn!(?event, device_id, error = %err, "undecodable TCM-USER event, answering -EINVAL");
                self.owed.push_back((event, device_id));
            }
            None => tracing::error!(
                error = %err,
                "undecodable TCM-USER message without a readable device id: if it was an \
                 event the kernel now waits forever; recover with reset_netlink"
            ),
        }
    }

    /// The oldest queued event.
    pub(super) fn pop_event(&mut self) -> Option<DeviceEvent> {
        self.events.pop_front()
    }

    /// The oldest owed `-EINVAL` answer.
    pub(super) fn pop_owed(&mut self) -> Option<(EventType, u32)> {
        self.owed.pop_front()
    }

    /// Puts back an owed answer that could not be sent, to be retried first.
    pub(super) fn unpop_owed(&mut self, owed: (EventType, u32)) {
        self.owed.push_front(owed);
    }

    /// Whether work is queued that a `poll` on the socket would not announce.
    pub(super) fn has_pending(&self) -> bool {
        !self.events.is_empty() || !self.owed.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::netlink::codec::{EventKind, encode_event, encode_reply};

    const FAMILY: u16 = 0x1c;

    fn added(device_id: u32) -> DeviceEvent {
        DeviceEvent {
            kind: EventKind::Added,
            uio_name: "tcm-user/1/d/ram/".into(),
            minor: 0,
            device_id,
        }
    }

    fn genl(family: u16, payload: Vec<u8>) -> Incoming {
        Incoming::Genl {
            family,
            seq: 0,
            payload,
        }
    }

    #[test]
    fn events_queue_in_order() {
        let mut inbox = Inbox::new(FAMILY);
        for id in [1, 2] {
            assert_eq!(
                inbox.accept(genl(FAMILY, encode_event(&added(id)).unwrap()), Some(7)),
                None
            );
        }
        assert!(inbox.has_pending());
        assert_eq!(inbox.pop_event(), Some(added(1)));
        assert_eq!(inbox.pop_event(), Some(added(2)));
        assert!(!inbox.has_pending());
    }

    #[test]
    fn only_the_awaited_ack_is_returned() {
        let mut inbox = Inbox::new(FAMILY);
        assert_eq!(
            inbox.accept(Incoming::Ack { seq: 3, errno: 0 }, Some(4)),
            None
        );
        assert_eq!(inbox.accept(Incoming::Ack { seq: 3, errno: 1 }, None), None);
        assert_eq!(
            inbox.accept(Incoming::Ack { seq: 4, errno: 19 }, Some(4)),
            Some(19)
        );
        assert_eq!(
            inbox.accept(Incoming::Ack { seq: 5, errno: 0 }, Some(5)),
            Some(0)
        );
        assert!(!inbox.has_pending());
    }

    #[test]
    fn foreign_and_other_messages_are_skipped() {
        let mut inbox = Inbox::new(FAMILY);
        inbox.accept(genl(FAMILY + 1, encode_event(&added(1)).unwrap()), None);
        inbox.accept(Incoming::Other { message_type: 1 }, None);
        assert!(!inbox.has_pending());
    }

    #[test]
    fn undecodable_event_with_id_is_owed_an_answer() {
        let mut inbox = Inbox::new(FAMILY);
        let bad = vec![3, 2, 0, 0, 8, 0, 8, 0, 9, 0, 0, 0]; // reconfig with only DEVICE_ID 9
        inbox.accept(genl(FAMILY, bad), None);
        assert!(inbox.has_pending());
        assert_eq!(inbox.pop_event(), None);
        let owed = inbox.pop_owed();
        assert_eq!(owed, Some((EventType::Reconfig, 9)));
        inbox.unpop_owed((EventType::Reconfig, 9));
        assert_eq!(inbox.pop_owed(), Some((EventType::Reconfig, 9)));
    }

    #[test]
    fn undecodable_without_id_or_non_event_is_dropped() {
        let mut inbox = Inbox::new(FAMILY);
        inbox.accept(genl(FAMILY, vec![1, 2]), None);
        inbox.accept(genl(FAMILY, encode_reply(EventType::Added, 0, 1)), None);
        assert!(!inbox.has_pending());
    }
}
