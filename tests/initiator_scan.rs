//! What a Linux initiator sends when it finds a new disk (scsi_scan and sd on a 6.1
//! kernel, then one probe newer kernels add), replayed through the fake kernel against a
//! fresh LUN: none of it may count as an error, because an admin alerts on errors and the
//! LUN has not failed anything. The unit attention every new unit reports once, and a
//! probe refused as an unsupported field, count as refusals instead.

mod common;

use common::*;
use gluster_tcmu::backstore::RamBackstore;
use gluster_tcmu::device::Device;
use gluster_tcmu::scsi::SenseKey;
use gluster_tcmu::testing::{Completed, DataDir, FakeKernel, FakeKernelConfig};

struct Initiator {
    kernel: FakeKernel,
    device: Device,
}

impl Initiator {
    /// A fresh LUN whose power-on unit attention is still pending.
    fn new() -> Self {
        let kernel = FakeKernel::new(FakeKernelConfig::default()).expect("fake kernel");
        let ram = RamBackstore::new(2048 * u64::from(BLOCK));
        let device = gluster_tcmu::testing::attach_device(&kernel, lun(2048), Box::new(ram))
            .expect("device");
        Self { kernel, device }
    }

    fn send(&mut self, cdb: &[u8], dir: DataDir) -> Completed {
        self.kernel.submit(cdb, dir).expect("submit");
        run_until(&mut self.kernel, &mut self.device, 1)
            .pop()
            .expect("completion")
    }

    /// Sends `cdb` with `alloc` bytes of data-in and expects GOOD.
    fn read_good(&mut self, cdb: &[u8], alloc: usize) -> Vec<u8> {
        let c = self.send(cdb, DataDir::FromDevice(alloc));
        assert_eq!(c.status, 0, "{cdb:02x?} answered {c:?}");
        c.data_in
    }
}

fn vpd(page: u8, alloc: u16) -> [u8; 6] {
    let a = alloc.to_be_bytes();
    [0x12, 0x01, page, a[0], a[1], 0]
}

fn mode_sense6(page: u8, alloc: u8) -> [u8; 6] {
    [0x1A, 0, page, 0, alloc, 0]
}

/// REPORT SUPPORTED OPERATION CODES for one opcode, as scsi_report_opcode asks.
fn report_opcode(opcode: u8) -> [u8; 12] {
    [0xA3, 0x0C, 0x01, opcode, 0, 0, 0, 0, 0, 20, 0, 0]
}

/// scsi_probe_lun and scsi_attach_vpd: the standard INQUIRY, then the VPD page list and,
/// for each page the kernel keeps that the list names, its 4-byte header and then the page.
fn identify(ini: &mut Initiator) {
    ini.read_good(&inquiry(36), 36);
    let header = ini.read_good(&vpd(0, 4), 4);
    let len = 4 + u16::from_be_bytes([header[2], header[3]]);
    let list = ini.read_good(&vpd(0, len), usize::from(len));
    for &page in &list[4..] {
        if [0x80, 0x83, 0x89, 0xB0, 0xB1, 0xB2, 0xB7].contains(&page) {
            let header = ini.read_good(&vpd(page, 4), 4);
            let len = 4 + u16::from_be_bytes([header[2], header[3]]);
            ini.read_good(&vpd(page, len), usize::from(len));
        }
    }
}

/// sd_revalidate_disk: capacity, write protection and cache type from the mode pages,
/// which commands exist (scsi_report_opcode), then the partition table.
fn revalidate(ini: &mut Initiator) {
    ini.read_good(&read_capacity16(), 32);
    for page in [0x3F, 0x08] {
        let header = ini.read_good(&mode_sense6(page, 4), 4);
        let len = header[0] + 1;
        ini.read_good(&mode_sense6(page, len), usize::from(len));
    }
    for opcode in [0x12, 0x93, 0x41, 0xA2, 0xB5] {
        ini.read_good(&report_opcode(opcode), 20);
    }
    ini.read_good(&read10(0, 8), 8 * BLOCK as usize);
    ini.read_good(&read10(2040, 8), 8 * BLOCK as usize);
}

#[test]
fn a_linux_scan_counts_no_error() {
    let mut ini = Initiator::new();
    identify(&mut ini);
    // sd_spinup_disk: the first TEST UNIT READY collects the power-on unit attention.
    let tur = ini.send(&[0; 6], DataDir::None);
    assert_eq!(
        sense_of(&tur).key,
        SenseKey::UnitAttention,
        "the first command after INQUIRY reports the power-on reset"
    );
    assert_eq!(ini.send(&[0; 6], DataDir::None).status, 0);
    revalidate(&mut ini);
    // Linux 6.10 and later (sd_read_io_hints) ask for the I/O advice hints grouping mode
    // subpage (control page 0Ah, subpage 05h), which this LUN does not have.
    let hints = [0x5A, 0x08, 0x0A, 0x05, 0, 0, 0, 0x02, 0x00, 0];
    let c = ini.send(&hints, DataDir::FromDevice(512));
    assert_eq!(sense_of(&c).key, SenseKey::IllegalRequest);
    let stats = ini.device.stats();
    assert_eq!(stats.errors, 0, "a scan is not a failure: {stats:?}");
    assert_eq!(stats.refused, 2, "the unit attention and the hints subpage");
}

/// A failed read still counts as an error and not as a refusal (the other side of the
/// split is in data_commands.rs: each failed command counts one error).
#[test]
fn an_out_of_range_read_is_refused_not_failed() {
    let mut ini = Initiator::new();
    ini.send(&[0; 6], DataDir::None);
    let c = ini.send(&read16(2048, 1), DataDir::FromDevice(512));
    assert_eq!(sense_of(&c).key, SenseKey::IllegalRequest);
    let stats = ini.device.stats();
    assert_eq!((stats.errors, stats.refused), (0, 2));
}
