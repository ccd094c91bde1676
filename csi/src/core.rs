//! Everything the driver takes from the gluster-tcmu library, named in this one place so
//! that a rename there is one edit here.

pub use gluster_tcmu::export::ops::{
    ChapMode, CreateRequest, ExportRef, Observer, Ops, OpsError, Waits, parse_gateway,
};
pub use gluster_tcmu::export::record::{BLOCK_SIZE, DEFAULT_HW_MAX_SECTORS, MAX_HW_MAX_SECTORS};
pub use gluster_tcmu::export::{
    ChapPair, ChapRecord, ExportLocation, ExportName, GlfsVolumes, MetaStore, Record, StoreError,
    StoreOpener, VolumeAddr,
};
pub use gluster_tcmu::glfs::ConnectOptions;

/// The longest export name ([`ExportName`]'s rule).
pub use gluster_tcmu::export::name::NAME_MAX;

/// The WWID initiators see for an export's unit serial, as Linux shows it in
/// `/sys/block/*/device/wwid`: `naa.` and the 32 hex digits of the NAA designator the
/// gateways derive from the serial (SPC-4 VPD page 83h, NAA type 6h).
pub fn wwid(serial: &str) -> String {
    let naa = gluster_tcmu::scsi::LunConfig::naa_from_serial(serial);
    let hex: String = naa.iter().map(|b| format!("{b:02x}")).collect();
    format!("naa.{hex}")
}

/// The target IQN of the export `name`.
pub fn iqn_for(name: &ExportName) -> String {
    Record::iqn_for(name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_wwid_is_the_naa_designator_lio_derives_from_the_serial() {
        let w = super::wwid("5a2d6b1e-8f0c-4d3a-9b7e-2c1f0e9d8a7b");
        assert!(w.starts_with("naa.60014055a2d6b1e8f0c4d3a9b7e2c1f"), "{w}");
        assert_eq!(w.len(), 4 + 32);
    }
}
