use super::*;
use crate::region::{DataSeg, SharedRegion};
use std::sync::Arc;

fn buf(region: &Arc<SharedRegion>, segs: &[(u64, u64)]) -> DataBuf {
    let segs: Vec<DataSeg> = segs
        .iter()
        .map(|&(off, len)| DataSeg { off, len })
        .collect();
    let len = segs.iter().map(|s| s.len).sum();
    DataBuf::new(region.clone(), &segs, len)
}

fn roundtrip(ram: &mut RamBackstore, op: IoOp) -> Result<u64, BackstoreError> {
    ram.submit(IoRequest { tag: 1, op }).unwrap();
    let mut out = Vec::new();
    ram.drain(&mut out);
    out.pop().unwrap().result
}

#[test]
fn a_terabyte_costs_nothing_until_written() {
    let mut ram = RamBackstore::new(1 << 40);
    assert_eq!(ram.allocated(), 0);
    let region = Arc::new(SharedRegion::heap(8192));
    region.fill(0, 4096, 0x5a).unwrap();
    let w = buf(&region, &[(0, 4096)]);
    assert_eq!(
        roundtrip(
            &mut ram,
            IoOp::Write {
                offset: (1 << 40) - 4096,
                buf: w,
                fua: false
            }
        ),
        Ok(4096)
    );
    assert_eq!(ram.allocated(), CHUNK);
}

#[test]
fn writes_across_chunks_and_segments_read_back() {
    let mut ram = RamBackstore::new(1 << 20);
    let region = Arc::new(SharedRegion::heap(4 * 4096));
    for i in 0..8192u64 {
        region.write_u8(i, (i % 251) as u8).unwrap();
    }
    let w = buf(&region, &[(0, 4096), (4096, 4096)]);
    roundtrip(
        &mut ram,
        IoOp::Write {
            offset: CHUNK - 1000,
            buf: w,
            fua: true,
        },
    )
    .unwrap();
    let r = buf(&region, &[(8192, 5000), (13192, 3192)]);
    roundtrip(
        &mut ram,
        IoOp::Read {
            offset: CHUNK - 1000,
            buf: r,
        },
    )
    .unwrap();
    let mut a = vec![0u8; 8192];
    let mut b = vec![0u8; 8192];
    region.read_bytes(0, &mut a).unwrap();
    region.read_bytes(8192, &mut b).unwrap();
    assert_eq!(a, b);
}

#[test]
fn discard_reads_back_zeroes_and_frees_whole_chunks() {
    let mut ram = RamBackstore::new(4 * CHUNK);
    let region = Arc::new(SharedRegion::heap(CHUNK as usize));
    region.fill(0, CHUNK, 1).unwrap();
    for i in 0..4 {
        let w = buf(&region, &[(0, CHUNK)]);
        roundtrip(
            &mut ram,
            IoOp::Write {
                offset: i * CHUNK,
                buf: w,
                fua: false,
            },
        )
        .unwrap();
    }
    roundtrip(
        &mut ram,
        IoOp::Discard {
            offset: CHUNK / 2,
            len: 2 * CHUNK,
        },
    )
    .unwrap();
    assert_eq!(ram.allocated(), 3 * CHUNK);
    let r = buf(&region, &[(0, CHUNK)]);
    roundtrip(&mut ram, IoOp::Read { offset: 0, buf: r }).unwrap();
    assert_eq!(region.read_u8(CHUNK / 2 - 1).unwrap(), 1);
    assert_eq!(region.read_u8(CHUNK / 2).unwrap(), 0);
}

#[test]
fn out_of_range_is_refused_without_touching_data() {
    let mut ram = RamBackstore::new(4096);
    let region = Arc::new(SharedRegion::heap(8192));
    let w = buf(&region, &[(0, 8192)]);
    let err = roundtrip(
        &mut ram,
        IoOp::Write {
            offset: 0,
            buf: w,
            fua: false,
        },
    );
    assert!(matches!(err, Err(BackstoreError::OutOfRange { .. })));
    assert_eq!(ram.allocated(), 0);
    let err = roundtrip(
        &mut ram,
        IoOp::Discard {
            offset: u64::MAX,
            len: 2,
        },
    );
    assert!(matches!(err, Err(BackstoreError::OutOfRange { .. })));
}
