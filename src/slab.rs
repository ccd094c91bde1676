//! A table of values in flight, indexed by a small integer token that travels with a
//! request (a backstore tag, an io_uring `user_data`, a gfapi callback cookie) and comes
//! back with its completion. Slots are reused through a free list, so tokens stay small
//! and a finished token misses instead of finding a newer value only after reuse.

#![forbid(unsafe_code)]

/// Values parked under tokens.
#[derive(Debug)]
pub struct Slab<T> {
    slots: Vec<Option<T>>,
    free: Vec<usize>,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Slab<T> {
    /// Parks `value` and returns its token.
    pub fn insert(&mut self, value: T) -> u64 {
        self.len += 1;
        if let Some(i) = self.free.pop() {
            self.slots[i] = Some(value);
            return i as u64;
        }
        self.slots.push(Some(value));
        (self.slots.len() - 1) as u64
    }

    /// The value under `token`, left in place.
    pub fn get(&self, token: u64) -> Option<&T> {
        self.slots.get(usize::try_from(token).ok()?)?.as_ref()
    }

    /// The value under `token`, left in place, for changing.
    pub fn get_mut(&mut self, token: u64) -> Option<&mut T> {
        self.slots.get_mut(usize::try_from(token).ok()?)?.as_mut()
    }

    /// Takes the value under `token` and frees its slot; `None` for an unknown or
    /// already removed token.
    pub fn remove(&mut self, token: u64) -> Option<T> {
        let index = usize::try_from(token).ok()?;
        let value = self.slots.get_mut(index)?.take()?;
        self.free.push(index);
        self.len -= 1;
        Some(value)
    }

    /// Values parked.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is parked.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every parked value.
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_reused_and_removed_once() {
        let mut s = Slab::default();
        let a = s.insert("a");
        let b = s.insert("b");
        assert_eq!((s.len(), s.get(b)), (2, Some(&"b")));
        assert_eq!(s.remove(a), Some("a"));
        assert_eq!(s.remove(a), None, "a token completes once");
        assert_eq!(s.remove(999), None);
        assert_eq!(s.remove(u64::MAX), None);
        assert_eq!(s.insert("c"), a, "the freed slot is reused");
        if let Some(v) = s.get_mut(b) {
            *v = "B";
        }
        assert_eq!(s.values().copied().collect::<Vec<_>>(), vec!["c", "B"]);
        assert_eq!(s.len(), 2);
        assert!(!s.is_empty());
    }
}
