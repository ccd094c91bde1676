//! What a completion on the reactor's ring refers to, packed into its 64-bit `user_data`.
//!
//! Layout, from the least significant bit:
//!
//! ```text
//!  63            32 31     24 23          8 7      0
//! +----------------+---------+-------------+--------+
//! |      slot      |    0    | generation  |  kind  |   Doorbell, Notifier
//! +----------------+---------+-------------+--------+
//! |                  key                   |  kind  |   Io
//! +----------------------------------------+--------+
//! |                   0                    |  kind  |   Wake, Cancel
//! +----------------------------------------+--------+
//! ```
//!
//! Every field fits by construction ([`IoKey`] checks the one that might not), and
//! [`Tag::decode`] refuses any value [`Tag::encode`] does not produce.

#![forbid(unsafe_code)]

/// Bits of the kind, at the bottom.
const KIND_BITS: u32 = 8;
const KIND_MASK: u64 = (1 << KIND_BITS) - 1;
/// Bits of a device generation, right above the kind.
const GENERATION_BITS: u32 = u16::BITS;
const GENERATION_SHIFT: u32 = KIND_BITS;
/// Bits of a device slot, at the top.
const SLOT_BITS: u32 = u32::BITS;
const SLOT_SHIFT: u32 = u64::BITS - SLOT_BITS;
/// Bits between the generation and the slot, always zero.
const DEVICE_RESERVED: u64 =
    ((1 << SLOT_SHIFT) - 1) & !((1 << (GENERATION_SHIFT + GENERATION_BITS)) - 1);
/// Bits of an I/O key: all above the kind.
const KEY_BITS: u32 = u64::BITS - KIND_BITS;
const KEY_SHIFT: u32 = KIND_BITS;

/// The kinds, as stored in the low [`KIND_BITS`].
const WAKE: u64 = 0;
const CANCEL: u64 = 1;
const DOORBELL: u64 = 2;
const NOTIFIER: u64 = 3;
const IO: u64 = 4;

/// The key of a backstore submission in the loop's table, known to fit a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct IoKey(u64);

impl IoKey {
    /// The largest key a tag holds. The table's keys are indices of live entries, so
    /// they stay far below it; a larger one is refused rather than cut short.
    pub(super) const MAX: u64 = (1 << KEY_BITS) - 1;

    /// `key`, if a tag can carry it.
    pub(super) fn new(key: u64) -> Option<Self> {
        (key <= Self::MAX).then_some(Self(key))
    }

    /// The table key.
    pub(super) fn get(self) -> u64 {
        self.0
    }
}

/// What a completion's `user_data` refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tag {
    /// The control eventfd's poll.
    Wake,
    /// A device's doorbell poll: its slot and the slot's generation.
    Doorbell(u32, u16),
    /// A backstore notifier's poll: the device's slot and generation.
    Notifier(u32, u16),
    /// A backstore's io_uring submission, by its key in the loop's `io` table.
    Io(IoKey),
    /// A cancel request (its completion carries nothing to act on).
    Cancel,
}

impl Tag {
    /// The `user_data` for this tag.
    pub(super) fn encode(self) -> u64 {
        let device = |slot: u32, generation: u16, kind: u64| {
            (u64::from(slot) << SLOT_SHIFT) | (u64::from(generation) << GENERATION_SHIFT) | kind
        };
        match self {
            Tag::Wake => WAKE,
            Tag::Cancel => CANCEL,
            Tag::Doorbell(slot, g) => device(slot, g, DOORBELL),
            Tag::Notifier(slot, g) => device(slot, g, NOTIFIER),
            Tag::Io(key) => (key.get() << KEY_SHIFT) | IO,
        }
    }

    /// The tag `user_data` was encoded from; `None` for a value no tag encodes to (an
    /// unknown kind, or bits set where the kind has none).
    pub(super) fn decode(v: u64) -> Option<Self> {
        let payload = v >> KIND_BITS;
        let slot = (v >> SLOT_SHIFT) as u32;
        let generation = (v >> GENERATION_SHIFT) as u16;
        match v & KIND_MASK {
            WAKE if payload == 0 => Some(Tag::Wake),
            CANCEL if payload == 0 => Some(Tag::Cancel),
            DOORBELL if v & DEVICE_RESERVED == 0 => Some(Tag::Doorbell(slot, generation)),
            NOTIFIER if v & DEVICE_RESERVED == 0 => Some(Tag::Notifier(slot, generation)),
            IO => IoKey::new(v >> KEY_SHIFT).map(Tag::Io),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io(key: u64) -> Tag {
        Tag::Io(IoKey::new(key).unwrap())
    }

    #[test]
    fn tags_round_trip() {
        for t in [
            Tag::Wake,
            Tag::Cancel,
            Tag::Doorbell(0, 0),
            Tag::Doorbell(7, 300),
            Tag::Notifier(u32::MAX, u16::MAX),
            Tag::Doorbell(u32::MAX, u16::MAX),
            io(0),
            io(1),
            io(IoKey::MAX),
        ] {
            assert_eq!(Tag::decode(t.encode()), Some(t), "{t:?}");
        }
    }

    /// The layout as documented: kind at the bottom, generation above it, slot at the top.
    #[test]
    fn fields_sit_where_the_layout_says() {
        assert_eq!(
            Tag::Doorbell(1, 1).encode(),
            (1 << 32) | (1 << 8) | DOORBELL
        );
        assert_eq!(
            Tag::Notifier(2, 3).encode(),
            (2 << 32) | (3 << 8) | NOTIFIER
        );
        assert_eq!(io(5).encode(), (5 << 8) | IO);
        assert_eq!(io(IoKey::MAX).encode(), !KIND_MASK | IO);
        assert_eq!(DEVICE_RESERVED, 0xff00_0000);
    }

    /// The boundary of the I/O key: the largest that fits is taken, the next refused
    /// rather than losing its top bits.
    #[test]
    fn io_keys_that_do_not_fit_are_refused() {
        assert_eq!(IoKey::MAX, u64::MAX >> 8);
        assert!(IoKey::new(IoKey::MAX).is_some());
        assert_eq!(IoKey::new(IoKey::MAX + 1), None);
        assert_eq!(IoKey::new(u64::MAX), None);
    }

    /// Values no tag encodes to decode to nothing, not to a wake-up.
    #[test]
    fn unknown_values_are_rejected() {
        for kind in 5..=KIND_MASK {
            assert_eq!(Tag::decode(kind), None, "kind {kind}");
            assert_eq!(Tag::decode((9 << 32) | kind), None, "kind {kind}");
        }
        assert_eq!(Tag::decode(WAKE | 1 << 8), None, "a wake-up with a payload");
        assert_eq!(
            Tag::decode(CANCEL | 1 << 40),
            None,
            "a cancel with a payload"
        );
        let reserved = Tag::Doorbell(3, 4).encode() | 1 << 24;
        assert_eq!(Tag::decode(reserved), None, "reserved bits of a doorbell");
        let reserved = Tag::Notifier(3, 4).encode() | 1 << 31;
        assert_eq!(Tag::decode(reserved), None, "reserved bits of a notifier");
    }
}
