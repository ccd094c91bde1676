//! Encoding of our messages to the kernel (and, for tests and fake kernels, of events).
//!
//! Attribute order and sizes match what the kernel and tcmu-runner write
//! (`nla_put_s32(CMD_STATUS)` then `nla_put_u32(DEVICE_ID)`), padded to 4 bytes.

use super::attrs::align4;
use super::{Attr, EventType, FAMILY_VERSION, GENL_HDRLEN, GenlCommand, NLA_HDRLEN};
#[cfg(any(test, feature = "test-utils"))]
use super::{DeviceEvent, EncodeError, EventKind};

/// The `*_DONE` answer to an event: `CMD_STATUS` (0 or a negative errno, which the
/// kernel passes on to whoever created or changed the device) and `DEVICE_ID`.
pub fn encode_reply(event: EventType, status: i32, device_id: u32) -> Vec<u8> {
    let mut msg = header(event.done());
    put(&mut msg, Attr::CmdStatus, &status.to_ne_bytes());
    put(&mut msg, Attr::DeviceId, &device_id.to_ne_bytes());
    msg
}

/// `SET_FEATURES` with `SUPP_KERN_CMD_REPLY`: once the kernel has seen `true`, it
/// waits for a `*_DONE` reply to every event it sends, without time-out.
pub fn encode_set_features(reply_supported: bool) -> Vec<u8> {
    let mut msg = header(GenlCommand::SetFeatures);
    put(
        &mut msg,
        Attr::SuppKernCmdReply,
        &[u8::from(reply_supported)],
    );
    msg
}

/// An event as the kernel's `tcmu_netlink_event_init` would build it (for fake
/// kernels, tests and fuzzing).
#[cfg(any(test, feature = "test-utils"))]
pub fn encode_event(ev: &DeviceEvent) -> Result<Vec<u8>, EncodeError> {
    let mut msg = header(ev.kind.event_type().command());
    put_string(&mut msg, Attr::Device, &ev.uio_name)?;
    put(&mut msg, Attr::Minor, &ev.minor.to_ne_bytes());
    put(&mut msg, Attr::DeviceId, &ev.device_id.to_ne_bytes());
    if let EventKind::Reconfig(r) = &ev.kind {
        if let Some(cfg) = &r.dev_cfg {
            put_string(&mut msg, Attr::DevCfg, cfg)?;
        }
        if let Some(size) = r.dev_size {
            put(&mut msg, Attr::DevSize, &size.to_ne_bytes());
        }
        if let Some(wc) = r.write_cache {
            put(&mut msg, Attr::WriteCache, &[u8::from(wc)]);
        }
    }
    Ok(msg)
}

/// A `genlmsghdr` for `cmd` (reserved bytes zero).
fn header(cmd: GenlCommand) -> Vec<u8> {
    let mut msg = Vec::with_capacity(64);
    msg.extend_from_slice(&[cmd as u8, FAMILY_VERSION, 0, 0]);
    debug_assert_eq!(msg.len(), GENL_HDRLEN);
    msg
}

/// Appends a NUL-terminated string attribute (`nla_put_string`).
#[cfg(any(test, feature = "test-utils"))]
fn put_string(msg: &mut Vec<u8>, attr: Attr, s: &str) -> Result<(), EncodeError> {
    if s.as_bytes().contains(&0) {
        return Err(EncodeError::InteriorNul { attr });
    }
    let mut value = Vec::with_capacity(s.len() + 1);
    value.extend_from_slice(s.as_bytes());
    value.push(0);
    if value.len() + NLA_HDRLEN > usize::from(u16::MAX) {
        return Err(EncodeError::TooLong {
            attr,
            len: value.len(),
        });
    }
    put(msg, attr, &value);
    Ok(())
}

/// Appends one attribute and its padding. Callers guarantee `value` fits a `u16`
/// length (fixed-size values, or checked by [`put_string`]).
fn put(msg: &mut Vec<u8>, attr: Attr, value: &[u8]) {
    let len = NLA_HDRLEN + value.len();
    let nla_len = u16::try_from(len).unwrap_or(u16::MAX);
    msg.extend_from_slice(&nla_len.to_ne_bytes());
    msg.extend_from_slice(&(attr as u16).to_ne_bytes());
    msg.extend_from_slice(value);
    msg.resize(msg.len() + align4(len) - len, 0);
}
