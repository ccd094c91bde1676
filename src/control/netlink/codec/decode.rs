//! Decoding of kernel events (and, for tests and fake kernels, of our replies).

#[cfg(any(test, feature = "test-utils"))]
use super::Reply;
use super::attrs::{RawAttrs, array};
use super::{
    ATTR_MAX, Attr, DecodeError, DeviceEvent, EventKind, EventType, GENL_HDRLEN, GenlCommand,
    Reconfig,
};

/// Decodes the generic netlink payload of a `TCM-USER` event (`ADDED_DEVICE`,
/// `REMOVED_DEVICE` or `RECONFIG_DEVICE`).
pub fn decode_event(payload: &[u8]) -> Result<DeviceEvent, DecodeError> {
    let (cmd, attrs) = split_header(payload)?;
    let event = EventType::from_command(cmd).ok_or(DecodeError::UnexpectedCommand(cmd))?;
    let slots = Slots::collect(attrs)?;
    let kind = match event {
        EventType::Added => EventKind::Added,
        EventType::Removed => EventKind::Removed,
        EventType::Reconfig => EventKind::Reconfig(reconfig(&slots)?),
    };
    Ok(DeviceEvent {
        kind,
        uio_name: required(slots.string(Attr::Device)?, Attr::Device)?,
        minor: required(slots.u32(Attr::Minor)?, Attr::Minor)?,
        device_id: required(slots.u32(Attr::DeviceId)?, Attr::DeviceId)?,
    })
}

/// Decodes a `*_DONE` reply as the kernel's `tcmu_genl_cmd_done` would read it.
#[cfg(any(test, feature = "test-utils"))]
pub fn decode_reply(payload: &[u8]) -> Result<Reply, DecodeError> {
    let (cmd, attrs) = split_header(payload)?;
    let event = done_event(cmd).ok_or(DecodeError::UnexpectedCommand(cmd))?;
    let slots = Slots::collect(attrs)?;
    Ok(Reply {
        event,
        status: required(slots.i32(Attr::CmdStatus)?, Attr::CmdStatus)?,
        device_id: required(slots.u32(Attr::DeviceId)?, Attr::DeviceId)?,
    })
}

/// Best effort for a payload [`decode_event`] rejected: if it is an event whose
/// `DEVICE_ID` can still be read, returns what is needed to answer it, so that the
/// kernel (which waits without time-out once replies are enabled) is never left hanging.
pub fn reply_target(payload: &[u8]) -> Option<(EventType, u32)> {
    let (cmd, attrs) = split_header(payload).ok()?;
    let event = EventType::from_command(cmd)?;
    let id = RawAttrs::new(attrs)
        .map_while(Result::ok)
        .filter(|a| a.kind == Attr::DeviceId as u16)
        .find_map(|a| a.value.try_into().ok().map(u32::from_ne_bytes))?;
    Some((event, id))
}

/// Splits off the `genlmsghdr`; its version byte is not checked, as the kernel does not
/// check it either.
fn split_header(payload: &[u8]) -> Result<(GenlCommand, &[u8]), DecodeError> {
    let truncated = DecodeError::HeaderTruncated { len: payload.len() };
    let [cmd, _version, _, _] = array::<GENL_HDRLEN>(payload, 0).ok_or(truncated)?;
    let cmd = GenlCommand::from_u8(cmd).ok_or(DecodeError::UnknownCommand(cmd))?;
    Ok((cmd, payload.get(GENL_HDRLEN..).unwrap_or_default()))
}

/// The event a `*_DONE` command answers.
#[cfg(any(test, feature = "test-utils"))]
fn done_event(cmd: GenlCommand) -> Option<EventType> {
    [EventType::Added, EventType::Removed, EventType::Reconfig]
        .into_iter()
        .find(|e| e.done() == cmd)
}

/// The reconfig fields; at least one must be present.
fn reconfig(slots: &Slots<'_>) -> Result<Reconfig, DecodeError> {
    let r = Reconfig {
        dev_cfg: slots.string(Attr::DevCfg)?,
        dev_size: slots.u64(Attr::DevSize)?,
        write_cache: slots.u8(Attr::WriteCache)?.map(|v| v != 0),
    };
    if r == Reconfig::default() {
        return Err(DecodeError::EmptyReconfig);
    }
    Ok(r)
}

/// Turns an absent attribute into [`DecodeError::Missing`].
fn required<T>(value: Option<T>, attr: Attr) -> Result<T, DecodeError> {
    value.ok_or(DecodeError::Missing { attr })
}

/// The value of each known attribute, each seen at most once.
struct Slots<'a>([Option<&'a [u8]>; ATTR_MAX + 1]);

impl<'a> Slots<'a> {
    /// Walks the attributes, skipping `PAD` and unknown types, refusing duplicates.
    fn collect(buf: &'a [u8]) -> Result<Self, DecodeError> {
        let mut slots = [None; ATTR_MAX + 1];
        for raw in RawAttrs::new(buf) {
            let raw = raw?;
            let Some(attr) = Attr::from_u16(raw.kind).filter(|a| *a != Attr::Pad) else {
                continue;
            };
            // Always `Some`: every `Attr` is at most `ATTR_MAX`.
            let Some(slot) = slots.get_mut(attr as usize) else {
                continue;
            };
            if slot.replace(raw.value).is_some() {
                return Err(DecodeError::Duplicate { attr });
            }
        }
        Ok(Self(slots))
    }

    /// The raw value of `attr`, if present.
    fn get(&self, attr: Attr) -> Option<&'a [u8]> {
        self.0.get(attr as usize).copied().flatten()
    }

    /// A fixed-size value: exactly `N` bytes, as `nla_put_u*` writes them.
    fn fixed<const N: usize>(&self, attr: Attr) -> Result<Option<[u8; N]>, DecodeError> {
        let Some(v) = self.get(attr) else {
            return Ok(None);
        };
        let got = v.len();
        let bytes = v.try_into().map_err(|_| DecodeError::Size {
            attr,
            expected: N,
            got,
        })?;
        Ok(Some(bytes))
    }

    fn u8(&self, attr: Attr) -> Result<Option<u8>, DecodeError> {
        Ok(self.fixed::<1>(attr)?.map(|[b]| b))
    }

    fn u32(&self, attr: Attr) -> Result<Option<u32>, DecodeError> {
        Ok(self.fixed(attr)?.map(u32::from_ne_bytes))
    }

    #[cfg(any(test, feature = "test-utils"))]
    fn i32(&self, attr: Attr) -> Result<Option<i32>, DecodeError> {
        Ok(self.fixed(attr)?.map(i32::from_ne_bytes))
    }

    fn u64(&self, attr: Attr) -> Result<Option<u64>, DecodeError> {
        Ok(self.fixed(attr)?.map(u64::from_ne_bytes))
    }

    /// A `nla_put_string` value: UTF-8 text followed by exactly one NUL.
    fn string(&self, attr: Attr) -> Result<Option<String>, DecodeError> {
        let Some(v) = self.get(attr) else {
            return Ok(None);
        };
        let Some((0, text)) = v.split_last() else {
            return Err(DecodeError::Unterminated { attr });
        };
        if text.contains(&0) {
            return Err(DecodeError::InteriorNul { attr });
        }
        let text =
            std::str::from_utf8(text).map_err(|source| DecodeError::NotUtf8 { attr, source })?;
        Ok(Some(text.to_owned()))
    }
}
