//! [`ScsiLun`]: one logical unit's configuration and emulation state, and the dispatcher
//! that routes each decoded command to its family module.

#![forbid(unsafe_code)]

use super::DataOut;
use super::block;
use super::cdb::Command;
use super::config::{ConfigError, LunConfig};
use super::inquiry;
use super::outcome::Dispatch;
use super::sense::Sense;

/// A logical unit as the initiators see it.
#[derive(Debug, Clone)]
pub struct ScsiLun {
    config: LunConfig,
}

impl ScsiLun {
    /// A unit described by `config`, which must pass [`LunConfig::validate`].
    pub fn new(config: LunConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(ScsiLun { config })
    }

    /// The unit's configuration, including the current capacity.
    pub fn config(&self) -> &LunConfig {
        &self.config
    }

    /// Changes the capacity (after the backstore grew or shrank).
    pub fn set_capacity(&mut self, num_blocks: u64) {
        self.config.num_blocks = num_blocks;
    }

    /// Decides one command: a finished reply, or checked block I/O for the backstore.
    /// Never panics, whatever the bytes.
    pub fn dispatch(&mut self, cdb: &[u8], data_out: &dyn DataOut) -> Dispatch {
        let _ = data_out;
        Command::parse(cdb).and_then(|cmd| self.execute(cmd)).into()
    }

    fn execute(&mut self, cmd: Command) -> Result<Dispatch, Sense> {
        let cfg = &self.config;
        match cmd {
            Command::TestUnitReady => Ok(Dispatch::good()),
            Command::Inquiry {
                evpd,
                page,
                alloc_len,
            } => {
                let data = if evpd {
                    inquiry::vpd(cfg, page)?
                } else {
                    inquiry::standard(cfg)
                };
                Ok(Dispatch::data(data, alloc_len))
            }
            Command::ReadCapacity10 => Ok(Dispatch::data(block::capacity_10(cfg), 8)),
            Command::ReadCapacity16 { alloc_len } => {
                Ok(Dispatch::data(block::capacity_16(cfg), alloc_len))
            }
            Command::Read(r) => block::read(cfg, r),
            Command::Write(r) => block::write(cfg, r),
            Command::SynchronizeCache(r) => block::synchronize_cache(cfg, r),
            Command::Unsupported(_) => Err(Sense::invalid_opcode()),
        }
    }
}
