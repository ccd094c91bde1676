//! `user:ram`: a sparse RAM disk, for tests and scratch LUNs.
//!
//! Grammar: empty, or `wce=0|1`. The LUN's size is the `size` given to targetcli; the
//! daemon's `[ram] max_size` caps it when the device is added, not here, because the
//! config string does not carry the size.

use super::syntax::{key_value, parse_bool, set_once, split_pieces};
use super::{CfgStringError, SubtypeFormat, TcmurOptions};

/// A parsed `user:ram` config string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RamConfig {
    /// `wce=`: report a volatile write cache. `None` means follow the LUN's
    /// `emulate_write_cache` attribute.
    pub write_cache: Option<bool>,
    /// tcmu-runner options found in the string.
    pub tcmur: TcmurOptions,
}

/// The `ram` subtype's config string format: its name, help text and parser.
#[derive(Debug)]
pub struct RamFormat;

impl SubtypeFormat for RamFormat {
    type Config = RamConfig;
    const SUBTYPE: &'static str = "ram";

    fn config_desc() -> &'static str {
        DESC
    }

    fn parse(cfg: &str) -> Result<RamConfig, CfgStringError> {
        let pieces = split_pieces(cfg)?;
        let mut config = RamConfig {
            write_cache: None,
            tcmur: pieces.tcmur,
        };
        for piece in pieces.items {
            let (key, value) = key_value(piece)?;
            match key {
                "wce" => set_once(&mut config.write_cache, key, parse_bool(key, value)?)?,
                _ => {
                    return Err(CfgStringError::UnknownOption {
                        subtype: Self::SUBTYPE,
                        key: key.to_owned(),
                        known: "wce",
                    });
                }
            }
        }
        Ok(config)
    }
}

const DESC: &str = "\
Nothing, or options separated by ';':

    [wce=0|1]

  wce=1  tell initiators the LUN has a volatile write cache; wce=0 says
         there is none. Default: the LUN's emulate_write_cache attribute.

The disk starts zero-filled and takes memory only where it is written. Its
contents are lost when the LUN is deleted or the daemon stops. The size
given to create may not exceed the daemon's [ram] max_size setting.

Examples:
    create name=scratch size=1G cfgstring=
    create name=scratch2 size=64G cfgstring=wce=1";
