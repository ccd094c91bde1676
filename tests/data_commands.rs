//! VERIFY, COMPARE AND WRITE (with its ordering against other writes), EXTENDED COPY
//! and GET LBA STATUS, executed through the fake kernel ring against real backstores.

mod common;

use common::*;
use gluster_tcmu::backstore::{FileBackstore, FileOptions};
use gluster_tcmu::device::Device;
use gluster_tcmu::scsi::SenseKey;
use gluster_tcmu::testing::{Completed, DataDir, FakeKernel, FakeKernelConfig};
use std::time::Duration;

fn verify16(lba: u64, blocks: u32, bytchk: u8) -> [u8; 16] {
    let mut c = [0u8; 16];
    c[0] = 0x8F;
    c[1] = bytchk << 1;
    c[2..10].copy_from_slice(&lba.to_be_bytes());
    c[10..14].copy_from_slice(&blocks.to_be_bytes());
    c
}

fn caw(lba: u64) -> [u8; 16] {
    let mut c = [0u8; 16];
    c[0] = 0x89;
    c[2..10].copy_from_slice(&lba.to_be_bytes());
    c[13] = 1;
    c
}

fn get_lba_status(lba: u64, alloc: u32) -> [u8; 16] {
    let mut c = [0u8; 16];
    c[0] = 0x9E;
    c[1] = 0x12;
    c[2..10].copy_from_slice(&lba.to_be_bytes());
    c[10..14].copy_from_slice(&alloc.to_be_bytes());
    c
}

fn one(kernel: &mut FakeKernel, device: &mut Device, cdb: &[u8], dir: DataDir) -> Completed {
    kernel.submit(cdb, dir).expect("submit");
    run_async(kernel, device, 1).pop().unwrap()
}

fn write(kernel: &mut FakeKernel, device: &mut Device, lba: u64, data: &[u8]) {
    let blocks = (data.len() / BLOCK as usize) as u32;
    let c = one(
        kernel,
        device,
        &write16(lba, blocks, false),
        DataDir::ToDevice(data),
    );
    assert_eq!(c.status, 0, "write at {lba}");
}

fn read(kernel: &mut FakeKernel, device: &mut Device, lba: u64, blocks: u32) -> Vec<u8> {
    let len = (blocks * BLOCK) as usize;
    let c = one(
        kernel,
        device,
        &read16(lba, blocks),
        DataDir::FromDevice(len),
    );
    assert_eq!(c.status, 0, "read at {lba}");
    c.data_in
}

/// A 1024-block LUN on a backstore that finishes every request 20 ms after submission.
fn delayed_device() -> (FakeKernel, Device) {
    let backstore = Delayed::new(1024 * u64::from(BLOCK), Duration::from_millis(20));
    device_with(FakeKernelConfig::default(), lun(1024), Box::new(backstore))
}

/// Steps the device until `n` completions arrived from an asynchronous backstore.
fn run_async(kernel: &mut FakeKernel, device: &mut Device, n: usize) -> Vec<Completed> {
    let mut got = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while got.len() < n {
        assert!(std::time::Instant::now() < deadline, "stuck after {got:?}");
        step(device);
        got.extend(kernel.reap().expect("protocol violation"));
        std::thread::sleep(Duration::from_millis(1));
    }
    got
}

fn assert_miscompare(c: &Completed, offset: u64) {
    assert_eq!(c.status, 2);
    let s = sense_of(c);
    assert_eq!((s.key, s.asc, s.ascq), (SenseKey::Miscompare, 0x1D, 0x00));
    assert_eq!(s.info, Some(offset));
}

#[test]
fn verify_with_and_without_byte_check() {
    let (mut k, mut d) = ram_device(8192);
    // 3000 blocks: more than one 1 MiB comparison step.
    let data = pattern(100, 3000, 7);
    write(&mut k, &mut d, 100, &data);
    let c = one(
        &mut k,
        &mut d,
        &verify16(100, 3000, 1),
        DataDir::ToDevice(&data),
    );
    assert_eq!(c.status, 0, "identical data verifies");
    let c = one(&mut k, &mut d, &verify16(100, 3000, 0), DataDir::None);
    assert_eq!(c.status, 0, "medium verification reads the range");

    let mut wrong = data.clone();
    let at = 2500 * BLOCK as usize + 17;
    wrong[at] ^= 0xFF;
    let c = one(
        &mut k,
        &mut d,
        &verify16(100, 3000, 1),
        DataDir::ToDevice(&wrong),
    );
    assert_miscompare(&c, at as u64);
}

#[test]
fn verify_single_block_pattern() {
    let (mut k, mut d) = ram_device(1024);
    let block = pattern(0, 1, 3);
    let many: Vec<u8> = block
        .iter()
        .copied()
        .cycle()
        .take(8 * BLOCK as usize)
        .collect();
    write(&mut k, &mut d, 40, &many);
    let c = one(
        &mut k,
        &mut d,
        &verify16(40, 8, 3),
        DataDir::ToDevice(&block),
    );
    assert_eq!(c.status, 0);
    write(&mut k, &mut d, 45, &pattern(45, 1, 9));
    let c = one(
        &mut k,
        &mut d,
        &verify16(40, 8, 3),
        DataDir::ToDevice(&block),
    );
    assert_eq!(c.status, 2);
    let s = sense_of(&c);
    assert_eq!(s.key, SenseKey::Miscompare);
    assert!(s.info.unwrap() >= 5 * u64::from(BLOCK) && s.info.unwrap() < 6 * u64::from(BLOCK));
}

#[test]
fn compare_and_write_of_more_than_one_block_is_refused() {
    let (mut k, mut d) = ram_device(1024);
    let mut cdb = caw(0);
    cdb[13] = 2;
    let c = one(&mut k, &mut d, &cdb, DataDir::ToDevice(&[0x41; 2048]));
    assert_eq!(c.status, 2);
    assert_eq!(
        sense_of(&c),
        gluster_tcmu::scsi::Sense::invalid_field_in_cdb(13, None)
    );
}

#[test]
fn compare_and_write_writes_only_on_a_match() {
    let (mut k, mut d) = ram_device(1024);
    let old = pattern(9, 1, 1);
    let new = pattern(9, 1, 2);
    write(&mut k, &mut d, 9, &old);

    let mut wrong_then_new = pattern(9, 1, 5);
    wrong_then_new.extend_from_slice(&new);
    let first_diff = old
        .iter()
        .zip(&wrong_then_new)
        .position(|(a, b)| a != b)
        .unwrap();
    let c = one(&mut k, &mut d, &caw(9), DataDir::ToDevice(&wrong_then_new));
    assert_miscompare(&c, first_diff as u64);
    assert_eq!(
        read(&mut k, &mut d, 9, 1),
        old,
        "a miscompare writes nothing"
    );

    let mut old_then_new = old.clone();
    old_then_new.extend_from_slice(&new);
    let c = one(&mut k, &mut d, &caw(9), DataDir::ToDevice(&old_then_new));
    assert_eq!(c.status, 0);
    assert_eq!(read(&mut k, &mut d, 9, 1), new);
}

/// A write that arrives while a COMPARE AND WRITE on the same block is in flight waits
/// for it: the CAW compares against the old data and the later write wins. The delayed
/// backstore applies data at submission, so without the hold the write would land
/// between the CAW's read and its write and be overwritten.
#[test]
fn writes_wait_for_an_overlapping_compare_and_write() {
    let (mut k, mut d) = delayed_device();
    let old = vec![0u8; BLOCK as usize];
    let by_caw = pattern(3, 1, 11);
    let by_write = pattern(3, 1, 12);
    let mut caw_data = old.clone();
    caw_data.extend_from_slice(&by_caw);

    k.submit(&caw(3), DataDir::ToDevice(&caw_data)).unwrap();
    k.submit(&write16(3, 1, false), DataDir::ToDevice(&by_write))
        .unwrap();
    // A write elsewhere is not held.
    k.submit(&write16(500, 1, false), DataDir::ToDevice(&by_write))
        .unwrap();
    d.process_ring().unwrap();
    assert_eq!(d.held(), 1, "only the overlapping write waits");
    let done = run_async(&mut k, &mut d, 3);
    assert!(done.iter().all(|c| c.status == 0), "{done:?}");
    assert_eq!(d.held(), 0);
    assert_eq!(
        read(&mut k, &mut d, 3, 1),
        by_write,
        "the write after the CAW wins"
    );
}

/// A COMPARE AND WRITE waits for a write in flight on its block, and then compares
/// against what that write stored.
#[test]
fn compare_and_write_waits_for_an_overlapping_write() {
    let (mut k, mut d) = delayed_device();
    let written = pattern(7, 1, 21);
    let replaced = pattern(7, 1, 22);
    let mut caw_data = written.clone();
    caw_data.extend_from_slice(&replaced);
    k.submit(&write16(7, 1, false), DataDir::ToDevice(&written))
        .unwrap();
    k.submit(&caw(7), DataDir::ToDevice(&caw_data)).unwrap();
    d.process_ring().unwrap();
    assert_eq!(d.held(), 1, "the CAW waits for the write");
    let done = run_async(&mut k, &mut d, 2);
    assert!(done.iter().all(|c| c.status == 0), "{done:?}");
    assert_eq!(read(&mut k, &mut d, 7, 1), replaced);
}

/// Parses GET LBA STATUS data into (lba, blocks, status) descriptors.
fn descriptors(data: &[u8]) -> Vec<(u64, u32, u8)> {
    data[8..]
        .chunks_exact(16)
        .map(|d| {
            (
                u64::from_be_bytes(d[0..8].try_into().unwrap()),
                u32::from_be_bytes(d[8..12].try_into().unwrap()),
                d[12] & 0x0F,
            )
        })
        .collect()
}

fn unmap(kernel: &mut FakeKernel, device: &mut Device, lba: u64, blocks: u32) {
    let mut list = vec![0u8; 24];
    list[0..2].copy_from_slice(&22u16.to_be_bytes());
    list[2..4].copy_from_slice(&16u16.to_be_bytes());
    list[8..16].copy_from_slice(&lba.to_be_bytes());
    list[16..20].copy_from_slice(&blocks.to_be_bytes());
    let cdb = [0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0];
    let c = one(kernel, device, &cdb, DataDir::ToDevice(&list));
    assert_eq!(c.status, 0, "unmap");
}

#[test]
fn lba_status_follows_ram_chunks() {
    // RAM allocates 64 KiB chunks = 128 blocks.
    let (mut k, mut d) = ram_device(1024);
    write(&mut k, &mut d, 130, &pattern(130, 2, 1));
    let c = one(
        &mut k,
        &mut d,
        &get_lba_status(0, 64),
        DataDir::FromDevice(64),
    );
    assert_eq!(c.status, 0);
    assert_eq!(
        descriptors(&c.data_in),
        vec![(0, 128, 1), (128, 128, 0), (256, 768, 1)]
    );
    unmap(&mut k, &mut d, 128, 128);
    let c = one(
        &mut k,
        &mut d,
        &get_lba_status(200, 24),
        DataDir::FromDevice(24),
    );
    assert_eq!(descriptors(&c.data_in), vec![(200, 824, 1)]);
    // The length field counts every descriptor even when the allocation length cuts them.
    let c = one(
        &mut k,
        &mut d,
        &get_lba_status(1023, 8),
        DataDir::FromDevice(8),
    );
    assert_eq!(c.status, 0);
    assert_eq!(u32::from_be_bytes(c.data_in[0..4].try_into().unwrap()), 20);
}

#[test]
fn lba_status_follows_file_holes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lun.img");
    let blocks = 4096u64;
    let file =
        FileBackstore::open(&path, blocks * u64::from(BLOCK), &FileOptions::default()).unwrap();
    let (mut k, mut d) = device_with(FakeKernelConfig::default(), lun(blocks), Box::new(file));
    // Filesystems allocate in pages: map 64 KiB at block 1024, then punch its middle.
    write(&mut k, &mut d, 1024, &pattern(1024, 128, 4));
    let c = one(
        &mut k,
        &mut d,
        &get_lba_status(0, 1024),
        DataDir::FromDevice(1024),
    );
    let got = descriptors(&c.data_in);
    let mapped: Vec<_> = got.iter().filter(|d| d.2 == 0).collect();
    assert_eq!(got[0], (0, 1024, 1), "{got:?}");
    assert!(
        mapped
            .iter()
            .any(|d| d.0 <= 1024 && d.0 + u64::from(d.1) >= 1152),
        "{got:?}"
    );
    unmap(&mut k, &mut d, 1056, 64);
    let c = one(
        &mut k,
        &mut d,
        &get_lba_status(1056, 1024),
        DataDir::FromDevice(1024),
    );
    let got = descriptors(&c.data_in);
    assert_eq!(
        got[0],
        (1056, 64, 1),
        "punched blocks are deallocated: {got:?}"
    );
    assert_eq!(got[1].0, 1120);
    assert_eq!(
        got[1].2, 0,
        "the rest of the write is still mapped: {got:?}"
    );
}

/// Records the kind of every request it passes on to a RAM disk.
#[derive(Debug)]
struct Recorder {
    inner: gluster_tcmu::backstore::RamBackstore,
    log: std::sync::Arc<std::sync::Mutex<Vec<&'static str>>>,
}

impl gluster_tcmu::backstore::Backstore for Recorder {
    fn size(&self) -> u64 {
        self.inner.size()
    }
    fn submit(
        &mut self,
        request: gluster_tcmu::backstore::IoRequest,
    ) -> Result<(), Box<gluster_tcmu::backstore::Rejected>> {
        use gluster_tcmu::backstore::IoOp;
        let kind = match &request.op {
            IoOp::Read { .. } => "read",
            IoOp::Write { .. } => "write",
            IoOp::Flush => "flush",
            IoOp::Discard { .. } => "discard",
            IoOp::WriteZeroes { .. } => "zeroes",
        };
        self.log.lock().unwrap().push(kind);
        self.inner.submit(request)
    }
    fn drain(&mut self, out: &mut Vec<gluster_tcmu::backstore::IoCompletion>) {
        self.inner.drain(out)
    }
    fn in_flight(&self) -> usize {
        self.inner.in_flight()
    }
    fn capabilities(&self) -> gluster_tcmu::backstore::Capabilities {
        gluster_tcmu::backstore::Capabilities::ALL
    }
}

/// With the write cache off, a WRITE SAME that becomes a zeroing or a discard is
/// followed by a flush before GOOD, like every other write under WCE=0.
#[test]
fn write_same_of_zeroes_is_flushed_when_the_cache_is_off() {
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let rec = Recorder {
        inner: gluster_tcmu::backstore::RamBackstore::new(1024 * u64::from(BLOCK)),
        log: log.clone(),
    };
    let (mut k, mut d) = device_with(FakeKernelConfig::default(), lun(1024), Box::new(rec));
    let zero = vec![0u8; BLOCK as usize];
    let mut ws16 = [0u8; 16];
    ws16[0] = 0x93;
    ws16[1] = 0x08; // UNMAP
    ws16[9] = 10;
    ws16[13] = 100;
    let c = one(&mut k, &mut d, &ws16, DataDir::ToDevice(&zero));
    assert_eq!(c.status, 0);
    assert_eq!(*log.lock().unwrap(), vec!["discard"], "WCE=1: no flush");
    log.lock().unwrap().clear();
    d.set_write_cache(false);
    let ua = one(&mut k, &mut d, &[0, 0, 0, 0, 0, 0], DataDir::None);
    assert_eq!(
        sense_of(&ua).key,
        SenseKey::UnitAttention,
        "mode change reported"
    );
    log.lock().unwrap().clear();
    let c = one(&mut k, &mut d, &ws16, DataDir::ToDevice(&zero));
    assert_eq!(c.status, 0);
    assert_eq!(*log.lock().unwrap(), vec!["discard", "flush"]);
}

/// An EXTENDED COPY parameter list with one identification target descriptor for the
/// unit `naa` and one block-to-block segment.
fn xcopy_list(list_id: u8, naa: [u8; 16], blocks: u16, src: u64, dst: u64) -> Vec<u8> {
    let mut l = vec![0u8; 16 + 32 + 28];
    l[0] = list_id;
    l[3] = 32;
    l[11] = 28;
    let t = &mut l[16..48];
    t[0] = 0xE4;
    t[4] = 0x01;
    t[5] = 0x03;
    t[7] = 16;
    t[8..24].copy_from_slice(&naa);
    t[29..32].copy_from_slice(&BLOCK.to_be_bytes()[1..]);
    let s = &mut l[48..];
    s[0] = 0x02;
    s[3] = 0x18;
    s[10..12].copy_from_slice(&blocks.to_be_bytes());
    s[12..20].copy_from_slice(&src.to_be_bytes());
    s[20..28].copy_from_slice(&dst.to_be_bytes());
    l
}

fn xcopy(k: &mut FakeKernel, d: &mut Device, list: &[u8]) -> Completed {
    let mut cdb = [0u8; 16];
    cdb[0] = 0x83;
    cdb[10..14].copy_from_slice(&(list.len() as u32).to_be_bytes());
    one(k, d, &cdb, DataDir::ToDevice(list))
}

#[test]
fn extended_copy_copies_within_the_lun() {
    let (mut k, mut d) = ram_device(16384);
    let naa = d.lun_config().naa;
    // 3000 blocks: several copy steps.
    let data = pattern(0, 3000, 31);
    write(&mut k, &mut d, 0, &data);
    let c = xcopy(&mut k, &mut d, &xcopy_list(1, naa, 3000, 0, 10000));
    assert_eq!(c.status, 0, "{:?}", sense_of(&c));
    assert_eq!(read(&mut k, &mut d, 10000, 3000), data);

    // The result is held (LIST ID USAGE 00b) and reported once.
    let mut rcr = [0u8; 16];
    rcr[0] = 0x84;
    rcr[2] = 1;
    rcr[13] = 12;
    let s = one(&mut k, &mut d, &rcr, DataDir::FromDevice(12));
    assert_eq!(s.status, 0);
    assert_eq!(s.data_in[4], 0x01);
    assert_eq!(
        u32::from_be_bytes(s.data_in[8..12].try_into().unwrap()),
        3000 / 2
    );
    assert_eq!(one(&mut k, &mut d, &rcr, DataDir::FromDevice(12)).status, 2);
}

/// A destination that starts inside the source still receives the source's old data.
#[test]
fn overlapping_extended_copy_reads_before_it_overwrites() {
    let (mut k, mut d) = ram_device(16384);
    let naa = d.lun_config().naa;
    let data = pattern(500, 4000, 5);
    write(&mut k, &mut d, 500, &data);
    let c = xcopy(&mut k, &mut d, &xcopy_list(2, naa, 4000, 500, 1500));
    assert_eq!(c.status, 0);
    assert_eq!(read(&mut k, &mut d, 1500, 4000), data, "forward overlap");
    let c = xcopy(&mut k, &mut d, &xcopy_list(3, naa, 4000, 1500, 700));
    assert_eq!(c.status, 0);
    assert_eq!(read(&mut k, &mut d, 700, 4000), data, "backward overlap");
}

/// tmpfs punches holes but cannot zero a range: the file backstore finds that out at
/// open, and WRITE SAME of zeroes (without UNMAP) is written as data instead of failing.
#[test]
fn write_same_of_zeroes_on_tmpfs_is_written_as_data() {
    use gluster_tcmu::backstore::Backstore;
    let dir = tempfile::tempdir_in("/dev/shm").unwrap();
    let path = dir.path().join("lun.img");
    let blocks = 2048u64;
    let file =
        FileBackstore::open(&path, blocks * u64::from(BLOCK), &FileOptions::default()).unwrap();
    let caps = file.capabilities();
    assert!(caps.discard && !caps.write_zeroes, "{caps:?}");
    let (mut k, mut d) = device_with(FakeKernelConfig::default(), lun(blocks), Box::new(file));
    write(&mut k, &mut d, 10, &pattern(10, 300, 8));
    let mut ws10 = [0x41, 0, 0, 0, 0, 20, 0, 0, 200, 0];
    let c = one(&mut k, &mut d, &ws10, DataDir::ToDevice(&[0u8; 512]));
    assert_eq!(c.status, 0, "{:?}", sense_of(&c));
    assert_eq!(read(&mut k, &mut d, 20, 200), vec![0u8; 200 * 512]);
    assert_eq!(
        read(&mut k, &mut d, 10, 10),
        pattern(10, 300, 8)[..10 * 512]
    );
    // With UNMAP the range is punched instead.
    ws10[1] = 0x08;
    let c = one(&mut k, &mut d, &ws10, DataDir::ToDevice(&[0u8; 512]));
    assert_eq!(c.status, 0);
    assert_eq!(read(&mut k, &mut d, 20, 200), vec![0u8; 200 * 512]);
}

/// A backstore that completes inline (RAM) finishes every step of a multi-step command
/// (COMPARE AND WRITE, EXTENDED COPY, VERIFY) within one reap: the reactor reaps a
/// synchronous backstore only after new commands, so a step left for "the next reap"
/// would wait for a command that may never come.
#[test]
fn multi_step_commands_finish_in_one_pass_on_an_inline_backstore() {
    let (mut k, mut d) = ram_device(16384);
    let naa = d.lun_config().naa;
    let block = pattern(5, 1, 1);
    let mut caw_data = vec![0u8; 512];
    caw_data.extend_from_slice(&block);
    let cases: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (caw(5).to_vec(), caw_data),
        (verify16(0, 5000, 0).to_vec(), Vec::new()),
        (
            {
                let mut c = vec![0u8; 16];
                c[0] = 0x83;
                c[13] = 76;
                c
            },
            xcopy_list(9, naa, 3000, 0, 8000),
        ),
    ];
    for (cdb, data) in cases {
        let dir = if data.is_empty() {
            DataDir::None
        } else {
            DataDir::ToDevice(&data)
        };
        k.submit(&cdb, dir).unwrap();
        d.process_ring().unwrap();
        d.reap().unwrap();
        d.finish_batch().unwrap();
        let done = k.reap().unwrap();
        assert_eq!(done.len(), 1, "{:02x} not answered in one pass", cdb[0]);
        assert_eq!(done[0].status, 0);
    }
}

/// WRITE SAME(16) with NDOB carries no data-out and writes zeroes.
#[test]
fn write_same_without_data_out_writes_zeroes() {
    let (mut k, mut d) = ram_device(1024);
    write(&mut k, &mut d, 100, &pattern(100, 50, 3));
    let mut ws16 = [0u8; 16];
    ws16[0] = 0x93;
    ws16[1] = 0x01; // NDOB
    ws16[9] = 110;
    ws16[13] = 20;
    let c = one(&mut k, &mut d, &ws16, DataDir::None);
    assert_eq!(c.status, 0);
    let after = read(&mut k, &mut d, 100, 50);
    assert_eq!(after[..10 * 512], pattern(100, 50, 3)[..10 * 512]);
    assert!(after[10 * 512..30 * 512].iter().all(|b| *b == 0));
    assert_eq!(after[30 * 512..], pattern(100, 50, 3)[30 * 512..]);
}

/// Fails every request: reads complete with EIO, or (with `reject`) submission refuses
/// them as retryable.
#[derive(Debug)]
struct Failing {
    reject: bool,
    done: Vec<gluster_tcmu::backstore::IoCompletion>,
}

impl gluster_tcmu::backstore::Backstore for Failing {
    fn size(&self) -> u64 {
        1024 * u64::from(BLOCK)
    }
    fn submit(
        &mut self,
        request: gluster_tcmu::backstore::IoRequest,
    ) -> Result<(), Box<gluster_tcmu::backstore::Rejected>> {
        use gluster_tcmu::backstore::{BackstoreError, IoCompletion, Rejected};
        if self.reject {
            let error = BackstoreError::Retryable(libc::ENOTCONN);
            return Err(Box::new(Rejected { error, request }));
        }
        self.done.push(IoCompletion {
            tag: request.tag,
            result: Err(BackstoreError::Read(libc::EIO)),
        });
        Ok(())
    }
    fn drain(&mut self, out: &mut Vec<gluster_tcmu::backstore::IoCompletion>) {
        out.append(&mut self.done)
    }
    fn in_flight(&self) -> usize {
        self.done.len()
    }
}

/// A failed command counts as one error, whether the backstore refused it at submission
/// (BUSY) or failed it later (MEDIUM ERROR), and for a multi-step command as well.
#[test]
fn each_failed_command_counts_one_error() {
    for reject in [false, true] {
        let failing = Failing {
            reject,
            done: Vec::new(),
        };
        let (mut k, mut d) = device_with(FakeKernelConfig::default(), lun(1024), Box::new(failing));
        let before = d.stats().errors;
        let c = one(&mut k, &mut d, &read16(0, 1), DataDir::FromDevice(512));
        let want = if reject { 0x08 } else { 0x02 };
        assert_eq!(c.status, want, "reject={reject}");
        let c = one(&mut k, &mut d, &verify16(0, 4, 0), DataDir::None);
        assert_eq!(c.status, want, "reject={reject}");
        assert_eq!(d.stats().errors - before, 2, "reject={reject}");
    }
}

/// The latency histogram measures from reading a command to answering it, so a
/// backstore that takes 20 ms shows at least 20 ms per command (the clock is read once
/// per batch, not per command, and must still span the backstore's time).
#[test]
fn latency_covers_the_time_in_the_backstore() {
    let (mut k, mut d) = delayed_device();
    let data = pattern(5, 1, 31);
    for lba in 0..4 {
        k.submit(&write16(lba, 1, false), DataDir::ToDevice(&data))
            .unwrap();
    }
    d.process_ring().unwrap();
    // Only reap from here on, as a reactor woken by the backstore's notifier does.
    let mut done = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while done.len() < 4 {
        assert!(std::time::Instant::now() < deadline, "stuck after {done:?}");
        std::thread::sleep(Duration::from_millis(1));
        d.reap().unwrap();
        d.finish_batch().unwrap();
        done.extend(k.reap().expect("protocol violation"));
    }
    assert!(done.iter().all(|c| c.status == 0), "{done:?}");
    let latency = d.stats().latency;
    assert_eq!(latency.count, 4);
    assert!(
        latency.sum_us >= 4 * 20_000,
        "4 commands of 20 ms each took {} us in all",
        latency.sum_us
    );
}
