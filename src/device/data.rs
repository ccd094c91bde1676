//! Moving emulated replies and parameter lists between Rust buffers and a command's
//! data segments in the shared region.

#![forbid(unsafe_code)]

use crate::region::{DataSeg, RegionError, SharedRegion};
use crate::scsi::DataOut;

/// Copies `data` into the segments in order; returns the bytes copied (at most the
/// segments' total).
pub fn scatter(region: &SharedRegion, segs: &[DataSeg], data: &[u8]) -> Result<usize, RegionError> {
    let mut done = 0;
    for seg in segs {
        if done == data.len() {
            break;
        }
        let take = (seg.len as usize).min(data.len() - done);
        region.write_bytes(seg.off, &data[done..done + take])?;
        done += take;
    }
    Ok(done)
}

/// The `len` bytes of `segs` that start `skip` bytes in (fewer if the segments end).
pub fn sub_segments(segs: &[DataSeg], skip: u64, len: u64) -> Vec<DataSeg> {
    let mut out = Vec::new();
    let (mut skip, mut left) = (skip, len);
    for seg in segs {
        if left == 0 {
            break;
        }
        if skip >= seg.len {
            skip -= seg.len;
            continue;
        }
        let take = (seg.len - skip).min(left);
        out.push(DataSeg {
            off: seg.off + skip,
            len: take,
        });
        left -= take;
        skip = 0;
    }
    out
}

/// A command's data-out buffer, read lazily by the SCSI emulation.
#[derive(Debug)]
pub struct SegmentReader<'a> {
    pub region: &'a SharedRegion,
    pub segs: &'a [DataSeg],
}

impl DataOut for SegmentReader<'_> {
    fn len(&self) -> usize {
        self.segs.iter().map(|s| s.len as usize).sum()
    }

    fn read_at(&self, off: usize, buf: &mut [u8]) -> usize {
        let mut skip = off as u64;
        let mut done = 0;
        for seg in self.segs {
            if done == buf.len() {
                break;
            }
            if skip >= seg.len {
                skip -= seg.len;
                continue;
            }
            let take = ((seg.len - skip) as usize).min(buf.len() - done);
            if self
                .region
                .read_bytes(seg.off + skip, &mut buf[done..done + take])
                .is_err()
            {
                break;
            }
            done += take;
            skip = 0;
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scatter_and_gather_across_segments() {
        let region = SharedRegion::heap(4096);
        let segs = [DataSeg { off: 100, len: 3 }, DataSeg { off: 200, len: 5 }];
        assert_eq!(scatter(&region, &segs, b"abcdefghij").unwrap(), 8);
        let reader = SegmentReader {
            region: &region,
            segs: &segs,
        };
        assert_eq!(reader.len(), 8);
        let mut buf = [0u8; 6];
        assert_eq!(reader.read_at(2, &mut buf), 6);
        assert_eq!(&buf, b"cdefgh");
        assert_eq!(reader.read_at(7, &mut buf), 1);
        assert_eq!(reader.read_at(9, &mut buf), 0);
    }

    #[test]
    fn sub_segments_skip_and_cut_across_segments() {
        let segs = [DataSeg { off: 100, len: 3 }, DataSeg { off: 200, len: 5 }];
        let got = sub_segments(&segs, 2, 4);
        assert_eq!(
            got,
            vec![DataSeg { off: 102, len: 1 }, DataSeg { off: 200, len: 3 }]
        );
        assert_eq!(
            sub_segments(&segs, 3, 100),
            vec![DataSeg { off: 200, len: 5 }]
        );
        assert!(sub_segments(&segs, 8, 1).is_empty());
    }
}
