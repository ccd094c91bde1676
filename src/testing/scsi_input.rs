//! One fuzz input turned into one SCSI command through the whole device path, shared by
//! the `scsi_commands` fuzz target and the test that replays its corpus.

#![forbid(unsafe_code)]

use super::{DataDir, FakeKernel, FakeKernelConfig, attach_device};
use crate::backstore::RamBackstore;
use crate::device::Device;
use crate::scsi::{LunConfig, Sense};

const BLOCK: u32 = 512;
const BLOCKS: u64 = 8192;

/// A thin 4 MiB RAM LUN behind a fake kernel; it keeps its state across inputs.
#[derive(Debug)]
pub struct ScsiFuzzUnit {
    kernel: FakeKernel,
    device: Device,
}

impl ScsiFuzzUnit {
    /// A fresh unit (its POWER ON unit attention still pending).
    pub fn new() -> Self {
        let kernel = FakeKernel::new(FakeKernelConfig::default()).expect("fake kernel");
        let mut lun = LunConfig::new(BLOCK, BLOCKS, "fuzz0001");
        lun.thin = true;
        let ram = RamBackstore::new(BLOCKS * u64::from(BLOCK));
        let device = attach_device(&kernel, lun, Box::new(ram)).expect("device");
        Self { kernel, device }
    }

    /// Runs one input. Byte 0 selects the data direction (bit 0: data-out, else data-in)
    /// and, with bit 1, writes the unit's NAA into the first EXTENDED COPY target
    /// descriptor (so the fuzzer reaches the copy itself); byte 1 is the CDB length
    /// (6..=16), then the CDB, then the data-out or the data-in length (2 bytes).
    ///
    /// Panics (the fuzzer's finding) when the command is not answered within one reactor
    /// pass (the RAM disk completes inline) or a CHECK CONDITION carries sense that does
    /// not decode.
    pub fn run(&mut self, data: &[u8]) {
        let [dir, cdb_len, rest @ ..] = data else {
            return;
        };
        let cdb_len = usize::from(*cdb_len).clamp(6, 16);
        if rest.len() < cdb_len {
            return;
        }
        let (cdb, payload) = rest.split_at(cdb_len);
        let mut payload = payload[..payload.len().min(1 << 20)].to_vec();
        if dir & 2 != 0 && cdb[0] == 0x83 && payload.len() >= 40 {
            let naa = self.device.lun_config().naa;
            payload[24..40].copy_from_slice(&naa);
        }
        let dir = if dir & 1 == 1 {
            DataDir::ToDevice(&payload)
        } else {
            let len = payload
                .get(..2)
                .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
            DataDir::FromDevice(usize::from(len))
        };
        if self.kernel.submit(cdb, dir).is_err() {
            return;
        }
        // The RAM disk completes inline, so one reactor pass must answer the command,
        // whatever steps it takes (see `Device::reap`).
        self.device.process_ring().expect("ring");
        self.device.reap().expect("reap");
        self.device.finish_batch().expect("publish");
        let Some(c) = self.kernel.reap().expect("protocol violation").pop() else {
            panic!("command {cdb:02x?} was not answered in one reactor pass");
        };
        if c.status == 2 {
            assert!(Sense::decode(&c.sense).is_some(), "undecodable sense {c:?}");
        }
    }
}

impl Default for ScsiFuzzUnit {
    fn default() -> Self {
        Self::new()
    }
}
