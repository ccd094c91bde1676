//! [`ScsiLun`]: one logical unit's configuration and emulation state, and the dispatcher
//! that routes each decoded command to its family module.
//!
//! The state that commands can change lives here and nowhere else: pending unit
//! attentions, the changeable mode parameters (WCE, D_SENSE) and held EXTENDED COPY
//! results. Everything else is a pure function of the configuration.

#![forbid(unsafe_code)]

use super::DataOut;
use super::alua::{AccessState, LunAlua};
use super::cdb::{DecodedCdb, sa};
use super::config::{LunConfig, LunConfigError};
use super::copy::{self, CopyResult, CopyResults};
use super::mode::{self, ModeSelectCdb, ModeState};
use super::outcome::{BlockIo, BlockOp, Dispatch};
use super::param::read_param_list;
use super::provisioning;
use super::sense::Sense;
use super::ua::{self, PendingAttentions, UnitAttention};
use super::{block, inquiry, opcodes};

/// A logical unit as the initiators see it.
#[derive(Debug, Clone)]
pub struct ScsiLun {
    config: LunConfig,
    mode: ModeState,
    attentions: PendingAttentions,
    copies: CopyResults,
}

/// A GOOD reply carrying `bytes`, cut to the allocation length.
fn data(bytes: Vec<u8>, alloc_len: u32) -> Result<Dispatch, Sense> {
    Ok(Dispatch::data(bytes, alloc_len))
}

impl ScsiLun {
    /// A unit described by `config`, which must pass [`LunConfig::validate`]. It starts
    /// with a POWER ON/RESET unit attention pending, as a freshly started disk does.
    pub fn new(config: LunConfig) -> Result<Self, LunConfigError> {
        config.validate()?;
        let mut attentions = PendingAttentions::default();
        attentions.raise(UnitAttention::PowerOnReset);
        Ok(ScsiLun {
            mode: ModeState::defaults(&config),
            config,
            attentions,
            copies: CopyResults::default(),
        })
    }

    /// Keeps the result of a finished EXTENDED COPY for RECEIVE COPY RESULTS.
    pub fn record_copy(&mut self, result: CopyResult) {
        self.copies.hold(result);
    }

    /// The unit's configuration, including the current capacity.
    pub fn config(&self) -> &LunConfig {
        &self.config
    }

    /// Whether CHECK CONDITION sense must be sent in descriptor format (D_SENSE in the
    /// Control mode page); the device layer passes this to [`Sense::encode`] for sense
    /// from the backstore too.
    pub fn descriptor_sense(&self) -> bool {
        self.mode.d_sense
    }

    /// Whether the write cache is enabled (WCE). When it is not, dispatch already sets
    /// FUA on every write.
    pub fn write_cache_enabled(&self) -> bool {
        self.mode.wce
    }

    /// Replaces the identity reported by INQUIRY (vendor, product, revision, unit serial
    /// and the NAA derived from it); refused, leaving the old identity, when a field does
    /// not fit its INQUIRY field.
    pub fn set_identity(
        &mut self,
        vendor: &str,
        product: &str,
        revision: &str,
        serial: &str,
    ) -> Result<(), LunConfigError> {
        let mut next = self.config.clone();
        next.vendor = vendor.to_string();
        next.product = product.to_string();
        next.revision = revision.to_string();
        next.serial = serial.to_string();
        next.naa = LunConfig::naa_from_serial(serial);
        next.validate()?;
        self.config = next;
        Ok(())
    }

    /// Turns the reported write-back cache on or off (the admin changed
    /// `emulate_write_cache`); initiators learn of it through MODE PARAMETERS CHANGED.
    pub fn set_write_cache(&mut self, on: bool) {
        if self.config.write_cache != on || self.mode.wce != on {
            self.config.write_cache = on;
            self.mode.wce = on;
            self.attentions.raise(UnitAttention::ModeParametersChanged);
        }
    }

    /// Gives a LUN that had none its target port groups (configured after it was
    /// opened); initiators learn of it through INQUIRY DATA HAS CHANGED. Refused, with
    /// nothing changed, when the LUN has groups already or `alua` does not validate.
    pub fn set_port_groups(&mut self, alua: LunAlua) -> Result<(), LunConfigError> {
        if self.config.alua.is_some() {
            return Err(LunConfigError::PortGroupsSet);
        }
        let mut next = self.config.clone();
        next.alua = Some(alua);
        next.validate()?;
        self.config = next;
        self.attentions.raise(UnitAttention::InquiryDataChanged);
        Ok(())
    }

    /// Moves the local target port group to `state` (the HA lock decided, docs/HA.md);
    /// with `announce`, initiators learn of it through ASYMMETRIC ACCESS STATE CHANGED.
    /// Nothing for a LUN without port groups.
    pub fn set_alua_state(&mut self, state: AccessState, announce: bool) {
        let Some(alua) = self.config.alua.as_mut() else {
            return;
        };
        if alua.set_local_state(state) && announce {
            self.attentions.raise(UnitAttention::AccessStateChanged);
        }
    }

    /// Changes the capacity (after the backstore grew or shrank) and tells initiators
    /// with CAPACITY DATA HAS CHANGED. A unit cannot shrink to nothing: READ CAPACITY
    /// has no way to say so.
    pub fn set_capacity(&mut self, num_blocks: u64) -> Result<(), LunConfigError> {
        if num_blocks == 0 {
            return Err(LunConfigError::NoBlocks);
        }
        if num_blocks != self.config.num_blocks {
            self.config.num_blocks = num_blocks;
            self.attentions.raise(UnitAttention::CapacityChanged);
        }
        Ok(())
    }

    /// Queues a unit attention for the next non-exempt command.
    #[cfg(test)]
    pub fn raise_unit_attention(&mut self, ua: UnitAttention) {
        self.attentions.raise(ua);
    }

    /// Decides one command: a finished reply, or checked block I/O for the backstore.
    /// A pending unit attention fails the command first unless it is exempt. Never
    /// panics, whatever the bytes.
    pub fn dispatch(&mut self, cdb: &[u8], data_out: &dyn DataOut) -> Dispatch {
        let opcode = cdb.first().copied();
        if !opcode.is_some_and(ua::exempt) {
            if let Some(ua) = self.attentions.take() {
                return Dispatch::check(ua.sense());
            }
        }
        if let Some(Err(refused)) = self.config.alua.as_ref().map(|a| a.check_access(cdb)) {
            return Dispatch::check(refused);
        }
        DecodedCdb::parse(cdb)
            .and_then(|cmd| self.execute(cmd, data_out))
            .into()
    }

    /// Runs a decoded command. The match is exhaustive on purpose: a new [`DecodedCdb`]
    /// variant does not compile until it is routed here.
    fn execute(&mut self, cmd: DecodedCdb, data_out: &dyn DataOut) -> Result<Dispatch, Sense> {
        let (cfg, wce) = (&self.config, self.mode.wce);
        match cmd {
            DecodedCdb::TestUnitReady | DecodedCdb::StartStopUnit => Ok(Dispatch::good()),
            DecodedCdb::RequestSense { desc, alloc_len } => {
                data(self.request_sense(desc), alloc_len)
            }
            DecodedCdb::Inquiry {
                evpd: false,
                alloc_len,
                ..
            } => data(inquiry::standard(cfg), alloc_len),
            DecodedCdb::Inquiry {
                page, alloc_len, ..
            } => data(inquiry::vpd(cfg, page)?, alloc_len),
            DecodedCdb::ModeSense(c) => data(mode::sense(c, cfg, self.mode)?, c.alloc_len),
            DecodedCdb::ModeSelect(c) => self.mode_select(c, data_out),
            DecodedCdb::ReadCapacity10 => data(block::capacity_10(cfg), 8),
            DecodedCdb::ReadCapacity16 { alloc_len } => data(block::capacity_16(cfg), alloc_len),
            DecodedCdb::ReportOpcodes(r) => {
                let alua = cfg.alua.is_some();
                data(opcodes::report(r, cfg.thin, alua)?, r.alloc_len)
            }
            DecodedCdb::ReportTargetPortGroups {
                extended,
                alloc_len,
            } => match &cfg.alua {
                Some(alua) => data(alua.report(extended), alloc_len),
                // As before ALUA: an unknown MAINTENANCE IN service action.
                None => Err(Sense::invalid_field_in_cdb(1, Some(4))),
            },
            DecodedCdb::ReportTmfs {
                extended,
                alloc_len,
            } => data(opcodes::task_management(extended), alloc_len),
            DecodedCdb::Read(r) => block::read(cfg, r),
            DecodedCdb::Write(r) => block::write(cfg, wce, r),
            DecodedCdb::WriteAndVerify(r) => block::write(cfg, false, r),
            DecodedCdb::Verify { range, check } => block::verify(cfg, range, check),
            DecodedCdb::PreFetch(r) => block::pre_fetch(cfg, r),
            DecodedCdb::SynchronizeCache(r) => block::synchronize_cache(cfg, r),
            DecodedCdb::CompareAndWrite(r) => block::compare_and_write(cfg, wce, r),
            DecodedCdb::WriteSame { range, unmap, ndob } => {
                provisioning::write_same(cfg, wce, range, unmap, ndob)
            }
            DecodedCdb::Unmap { param_len } => provisioning::unmap(cfg, param_len, data_out),
            DecodedCdb::GetLbaStatus { lba, alloc_len } => {
                provisioning::get_lba_status(cfg, lba, alloc_len)
            }
            DecodedCdb::FormatUnit {
                param_data,
                long_list,
            } => format_unit(cfg, param_data, long_list, data_out),
            DecodedCdb::ExtendedCopy { param_len } => extended_copy(cfg, param_len, data_out),
            DecodedCdb::ReceiveCopyResults {
                service_action,
                list_id,
                alloc_len,
            } => match service_action {
                sa::OPERATING_PARAMETERS => data(copy::operating_parameters(), alloc_len),
                _ => data(self.copies.copy_status(list_id)?, alloc_len),
            },
            DecodedCdb::Unsupported(_) => Err(Sense::invalid_opcode()),
        }
    }

    /// REQUEST SENSE returns (and clears) the oldest pending unit attention, or NO SENSE,
    /// in the format the DESC bit asks for.
    fn request_sense(&mut self, desc: bool) -> Vec<u8> {
        let sense = self
            .attentions
            .take()
            .map_or(Sense::no_sense(), UnitAttention::sense);
        sense.to_vec(desc)
    }

    /// MODE SELECT: applies the new WCE/D_SENSE and raises MODE PARAMETERS CHANGED if
    /// anything changed. TCMU cannot tell initiators apart, so unlike SPC-4's per-nexus
    /// rule the changing initiator sees the attention too.
    fn mode_select(&mut self, c: ModeSelectCdb, data_out: &dyn DataOut) -> Result<Dispatch, Sense> {
        let list = read_param_list(data_out, c.param_len)?;
        if list.is_empty() {
            return Ok(Dispatch::good());
        }
        let new = mode::select(c, &list, &self.config, self.mode)?;
        if new != self.mode {
            self.mode = new;
            self.attentions.raise(UnitAttention::ModeParametersChanged);
        }
        Ok(Dispatch::good())
    }
}

/// FORMAT UNIT: the medium is a file or memory that needs no formatting and has no
/// defects, so the only work is checking the request: a parameter list header (if
/// FMTDATA) may ask for nothing but the defaults (FOV 0) and carry no defect list. The
/// data stays as it was; SBC leaves the content after FORMAT UNIT unspecified unless an
/// initialization pattern is requested, which FOV 0 excludes.
fn format_unit(
    cfg: &LunConfig,
    param_data: bool,
    long_list: bool,
    data_out: &dyn DataOut,
) -> Result<Dispatch, Sense> {
    block::writable(cfg)?;
    if !param_data {
        return Ok(Dispatch::good());
    }
    let header_len = if long_list { 8 } else { 4 };
    let header = read_param_list(data_out, header_len)?;
    if header[1] & 0x80 != 0 {
        return Err(Sense::invalid_field_in_param_list(1, Some(7)));
    }
    let defects = if long_list {
        u32::from_be_bytes([header[4], header[5], header[6], header[7]])
    } else {
        u32::from(u16::from_be_bytes([header[2], header[3]]))
    };
    if defects != 0 {
        return Err(Sense::invalid_field_in_param_list(
            if long_list { 4 } else { 2 },
            None,
        ));
    }
    Ok(Dispatch::good())
}

/// EXTENDED COPY: a checked plan for the device layer, or GOOD for an empty list.
fn extended_copy(
    cfg: &LunConfig,
    param_len: u32,
    data_out: &dyn DataOut,
) -> Result<Dispatch, Sense> {
    block::writable(cfg)?;
    match copy::plan(cfg, param_len, data_out)? {
        None => Ok(Dispatch::good()),
        Some(plan) => Ok(Dispatch::Io(BlockIo {
            op: BlockOp::Copy(plan),
            lba: 0,
            blocks: 0,
            fua: false,
        })),
    }
}
