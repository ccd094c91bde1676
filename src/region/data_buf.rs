//! Byte ranges of a shared region: the segments of a command's data buffer, and the
//! buffer a backstore request reads into or writes from.

#![forbid(unsafe_code)]

use super::shared::SharedRegion;
use smallvec::SmallVec;
use std::sync::Arc;

/// A byte range of the data area, as an offset from the start of the shared map.
///
/// It has been checked against the map's data area when the entry was parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataSeg {
    pub off: u64,
    pub len: u64,
}

/// The data buffer of a command: its validated segments in order.
pub type Segments = SmallVec<[DataSeg; 4]>;

/// Byte ranges of the shared region a request reads into or writes from.
#[derive(Debug, Clone)]
pub struct DataBuf {
    region: Arc<SharedRegion>,
    segs: Segments,
}

impl DataBuf {
    /// The first `len` bytes of `segs` (which the ring has validated against `region`).
    pub fn new(region: Arc<SharedRegion>, segs: &[DataSeg], len: u64) -> Self {
        let mut left = len;
        let mut out = Segments::new();
        for seg in segs {
            if left == 0 {
                break;
            }
            let take = seg.len.min(left);
            out.push(DataSeg {
                off: seg.off,
                len: take,
            });
            left -= take;
        }
        Self { region, segs: out }
    }

    /// The region the segments point into.
    pub fn region(&self) -> &SharedRegion {
        &self.region
    }

    /// The segments, in order.
    pub fn segments(&self) -> &[DataSeg] {
        &self.segs
    }

    /// Total bytes covered.
    pub fn len(&self) -> u64 {
        self.segs.iter().map(|s| s.len).sum()
    }

    /// True when no bytes are covered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The region (still held alive) and the segments, for a request that keeps the
    /// region until the kernel is done with it.
    pub fn into_parts(self) -> (Arc<SharedRegion>, Segments) {
        (self.region, self.segs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_takes_the_first_bytes_of_its_segments() {
        let region = Arc::new(SharedRegion::heap(4096));
        let segs = [
            DataSeg { off: 0, len: 512 },
            DataSeg {
                off: 1024,
                len: 512,
            },
            DataSeg {
                off: 2048,
                len: 512,
            },
        ];
        let buf = DataBuf::new(region.clone(), &segs, 700);
        assert_eq!(buf.len(), 700);
        assert_eq!(
            buf.segments(),
            [
                DataSeg { off: 0, len: 512 },
                DataSeg {
                    off: 1024,
                    len: 188
                }
            ]
        );
        assert!(DataBuf::new(region.clone(), &segs, 0).is_empty());
        let (kept, parts) = buf.into_parts();
        assert!(Arc::ptr_eq(&kept, &region));
        assert_eq!(parts.len(), 2);
    }
}
