//! The commands in flight, keyed by `cmd_id`.
//!
//! The kernel keeps them in an xarray with `xa_alloc(.., XA_LIMIT(1, 0xffff))`, which hands
//! out the lowest free id above zero; ids are therefore reused as soon as a command is
//! reaped, which is exactly what exposes a handler that answers a stale id. Each record
//! keeps its block list in a vector that survives reuse, so steady state does not allocate.

#![forbid(unsafe_code)]

/// Which way a command's data moves, as far as the reaper cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Xfer {
    None,
    /// Data-out: copied into the blocks at submit time.
    ToDevice,
    /// Data-in of this many bytes: copied out of the blocks at completion.
    FromDevice(usize),
}

/// One command the handler owes an answer for.
#[derive(Debug)]
pub(crate) struct CmdRecord {
    live: bool,
    pub(crate) xfer: Xfer,
    /// Data blocks owned by the command, in buffer order.
    pub(crate) dbis: Vec<u32>,
}

/// The in-flight table: record `i` belongs to cmd_id `i + 1`.
#[derive(Debug)]
pub(crate) struct CmdTable {
    recs: Vec<CmdRecord>,
    live: usize,
}

impl CmdTable {
    pub(crate) fn new(max_inflight: usize) -> Self {
        let recs = (0..max_inflight)
            .map(|_| CmdRecord {
                live: false,
                xfer: Xfer::None,
                dbis: Vec::new(),
            })
            .collect();
        Self { recs, live: 0 }
    }

    /// Commands in flight.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// The id the next command will get (lowest free), and its record to fill; `None` when
    /// the in-flight limit is reached. Nothing is claimed until [`Self::commit`].
    pub(crate) fn vacant(&mut self) -> Option<(u16, &mut CmdRecord)> {
        let (i, rec) = self.recs.iter_mut().enumerate().find(|(_, r)| !r.live)?;
        Some((i as u16 + 1, rec))
    }

    /// Marks `id` (from [`Self::vacant`]) in flight.
    pub(crate) fn commit(&mut self, id: u16, xfer: Xfer) {
        if let Some(rec) = self.slot_mut(id).filter(|r| !r.live) {
            rec.live = true;
            rec.xfer = xfer;
            self.live += 1;
        }
    }

    /// The in-flight record for `id`, if `id` is in flight.
    pub(crate) fn get(&self, id: u16) -> Option<&CmdRecord> {
        let i = usize::from(id).checked_sub(1)?;
        self.recs.get(i).filter(|r| r.live)
    }

    /// Ends `id`'s life; its block list stays for reuse. False if it was not in flight.
    pub(crate) fn retire(&mut self, id: u16) -> bool {
        match self.slot_mut(id).filter(|r| r.live) {
            Some(rec) => {
                rec.live = false;
                self.live -= 1;
                true
            }
            None => false,
        }
    }

    /// The ids in flight, ascending.
    pub(crate) fn live_ids(&self) -> impl Iterator<Item = u16> + '_ {
        (self.recs.iter().enumerate())
            .filter(|(_, r)| r.live)
            .map(|(i, _)| i as u16 + 1)
    }

    fn slot_mut(&mut self, id: u16) -> Option<&mut CmdRecord> {
        let i = usize::from(id).checked_sub(1)?;
        self.recs.get_mut(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(t: &mut CmdTable) -> Option<u16> {
        let (id, _) = t.vacant()?;
        t.commit(id, Xfer::None);
        Some(id)
    }

    #[test]
    fn ids_start_at_one_and_reuse_the_lowest_free() {
        let mut t = CmdTable::new(4);
        assert_eq!(
            [issue(&mut t), issue(&mut t), issue(&mut t)],
            [Some(1), Some(2), Some(3)]
        );
        assert!(t.retire(2));
        assert!(!t.retire(2));
        assert_eq!(issue(&mut t), Some(2));
        assert_eq!(issue(&mut t), Some(4));
        assert_eq!(issue(&mut t), None);
        assert_eq!(t.len(), 4);
    }

    #[test]
    fn unknown_ids_are_not_in_flight() {
        let mut t = CmdTable::new(2);
        issue(&mut t);
        assert!(t.get(0).is_none());
        assert!(t.get(2).is_none());
        assert!(t.get(9).is_none());
        assert!(t.get(1).is_some());
        assert_eq!(t.live_ids().collect::<Vec<_>>(), [1]);
    }
}
