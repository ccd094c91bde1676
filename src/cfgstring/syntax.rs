//! The `;`-separated option syntax every subtype shares: pieces, `key=value`, flags,
//! numbers, each option at most once, and tcmu-runner's own options taken out.

use super::{CfgStringError, TcmurOptions};

/// The option pieces of a config string with tcmu-runner's options taken out.
#[derive(Debug, Default)]
pub(crate) struct Pieces<'a> {
    /// Non-empty pieces in order, excluding tcmu-runner's options.
    pub items: Vec<&'a str>,
    /// `tcmur_cmd_time_out` and friends.
    pub tcmur: TcmurOptions,
}

/// Key of tcmu-runner's command time-out option.
const CMD_TIME_OUT: &str = "tcmur_cmd_time_out";

/// Splits `cfg` on `;`, drops empty pieces and takes out tcmu-runner's options.
pub(crate) fn split_pieces(cfg: &str) -> Result<Pieces<'_>, CfgStringError> {
    let mut pieces = Pieces::default();
    for piece in cfg.split(';').filter(|p| !p.is_empty()) {
        match piece.split_once('=') {
            Some((CMD_TIME_OUT, value)) => {
                if pieces.tcmur.cmd_time_out.is_some() {
                    return Err(CfgStringError::DuplicateOption(CMD_TIME_OUT.to_owned()));
                }
                let secs = parse_number(CMD_TIME_OUT, value, u64::from(u32::MAX))?;
                pieces.tcmur.cmd_time_out = u32::try_from(secs).ok();
            }
            _ => pieces.items.push(piece),
        }
    }
    Ok(pieces)
}

/// Splits `key=value`.
pub(crate) fn key_value(piece: &str) -> Result<(&str, &str), CfgStringError> {
    piece
        .split_once('=')
        .ok_or_else(|| CfgStringError::NotKeyValue(piece.to_owned()))
}

/// `0` or `1`; nothing else, so that `wce=false` typos are caught rather than guessed.
pub(crate) fn parse_bool(key: &str, value: &str) -> Result<bool, CfgStringError> {
    match value {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(CfgStringError::BadBool {
            key: key.to_owned(),
            value: value.to_owned(),
        }),
    }
}

/// A decimal number in `0..=max`.
pub(crate) fn parse_number(key: &str, value: &str, max: u64) -> Result<u64, CfgStringError> {
    let bad = || CfgStringError::BadNumber {
        key: key.to_owned(),
        value: value.to_owned(),
        max,
    };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    value
        .parse::<u64>()
        .ok()
        .filter(|n| *n <= max)
        .ok_or_else(bad)
}

/// Stores `value` in `slot`, refusing a second assignment of the same option.
pub(crate) fn set_once<T>(slot: &mut Option<T>, key: &str, value: T) -> Result<(), CfgStringError> {
    if slot.is_some() {
        return Err(CfgStringError::DuplicateOption(key.to_owned()));
    }
    *slot = Some(value);
    Ok(())
}
