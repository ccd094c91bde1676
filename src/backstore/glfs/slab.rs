//! The glfs backstore's table of requests in flight, indexed by the token gfapi's
//! callback carries back.

/// What a request is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Read,
    Write,
    /// The fdatasync after a FUA write.
    FuaSync,
    /// SYNCHRONIZE CACHE.
    Sync,
    Discard,
    Zero,
}

/// One request in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    /// The device's tag.
    pub tag: u64,
    pub kind: Kind,
    /// Bytes the request covers.
    pub expected: u64,
    /// A write that must be durable before it completes.
    pub fua: bool,
}

/// Slots reused through a free list; a token is a slot index.
#[derive(Debug, Default)]
pub struct Slab {
    slots: Vec<Option<Pending>>,
    free: Vec<usize>,
    live: usize,
}

impl Slab {
    /// Parks `p` and returns its token.
    pub fn insert(&mut self, p: Pending) -> u64 {
        self.live += 1;
        if let Some(i) = self.free.pop() {
            self.slots[i] = Some(p);
            return i as u64;
        }
        self.slots.push(Some(p));
        (self.slots.len() - 1) as u64
    }

    pub fn get(&self, token: u64) -> Option<&Pending> {
        self.slots.get(token as usize)?.as_ref()
    }

    pub fn set_kind(&mut self, token: u64, kind: Kind) {
        if let Some(Some(p)) = self.slots.get_mut(token as usize) {
            p.kind = kind;
        }
    }

    /// Releases the token's slot.
    pub fn remove(&mut self, token: u64) -> Option<Pending> {
        let p = self.slots.get_mut(token as usize)?.take()?;
        self.free.push(token as usize);
        self.live -= 1;
        Some(p)
    }

    /// Requests parked.
    pub fn live(&self) -> usize {
        self.live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_reused_and_removed_once() {
        let p = Pending {
            tag: 1,
            kind: Kind::Read,
            expected: 512,
            fua: false,
        };
        let mut s = Slab::default();
        let a = s.insert(p);
        let b = s.insert(Pending { tag: 2, ..p });
        assert_eq!(s.live(), 2);
        assert_eq!(s.remove(a).map(|p| p.tag), Some(1));
        assert_eq!(s.remove(a), None);
        assert_eq!(s.insert(Pending { tag: 3, ..p }), a);
        s.set_kind(b, Kind::FuaSync);
        assert_eq!(s.get(b).map(|p| p.kind), Some(Kind::FuaSync));
        assert_eq!(s.live(), 2);
    }
}
