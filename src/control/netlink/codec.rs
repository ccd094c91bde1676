//! Pure encode/decode of `TCM-USER` generic netlink payloads (the part after the
//! `nlmsghdr`: a 4-byte `genlmsghdr` followed by attributes).
//!
//! The constants mirror `include/uapi/linux/target_core_user.h`; the message shapes
//! follow `drivers/target/target_core_user.c`: every event carries `DEVICE` (the UIO
//! name, NUL-terminated), `MINOR` and `DEVICE_ID`, a reconfig event adds exactly one of
//! `DEV_CFG`, `DEV_SIZE` or `WRITECACHE`; the kernel's `tcmu_genl_cmd_done` needs
//! `CMD_STATUS` and `DEVICE_ID` in every `*_DONE` reply.
//!
//! Decoding is total: any byte string yields an event or a precise [`DecodeError`].
//! Attribute types we do not know are skipped, as the kernel's own non-strict
//! `nla_parse` does: rejecting them would make every event of a newer kernel fail with
//! `-EINVAL` (and so every device creation), which is worse than ignoring an extension.

use std::str::Utf8Error;

/// The generic netlink family name registered by `target_core_user`.
pub const FAMILY_NAME: &str = "TCM-USER";
/// The family version the kernel registers and tcmu-runner sends (`genl_family.version`).
pub const FAMILY_VERSION: u8 = 2;
/// The multicast group events are sent to.
pub const MCAST_GROUP: &str = "config";
/// Length of the generic netlink header (`struct genlmsghdr`).
pub const GENL_HDRLEN: usize = 4;
/// Length of an attribute header (`struct nlattr`).
const NLA_HDRLEN: usize = 4;
/// `nla_type` bits that are flags (`NLA_F_NESTED`, `NLA_F_NET_BYTEORDER`), not the type.
const NLA_TYPE_MASK: u16 = 0x3fff;

/// `enum tcmu_genl_cmd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum GenlCommand {
    Unspec = 0,
    AddedDevice = 1,
    RemovedDevice = 2,
    ReconfigDevice = 3,
    AddedDeviceDone = 4,
    RemovedDeviceDone = 5,
    ReconfigDeviceDone = 6,
    SetFeatures = 7,
}

impl GenlCommand {
    /// Maps the wire value; `None` for values past `TCMU_CMD_MAX`.
    pub fn from_u8(v: u8) -> Option<Self> {
        use GenlCommand::*;
        [
            Unspec,
            AddedDevice,
            RemovedDevice,
            ReconfigDevice,
            AddedDeviceDone,
            RemovedDeviceDone,
            ReconfigDeviceDone,
            SetFeatures,
        ]
        .get(usize::from(v))
        .copied()
    }
}

/// `enum tcmu_genl_attr` (without `UNSPEC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Attr {
    Device = 1,
    Minor = 2,
    Pad = 3,
    DevCfg = 4,
    DevSize = 5,
    WriteCache = 6,
    CmdStatus = 7,
    DeviceId = 8,
    SuppKernCmdReply = 9,
}

/// Highest attribute number we understand (`TCMU_ATTR_MAX`).
const ATTR_MAX: usize = Attr::SuppKernCmdReply as usize;

impl Attr {
    /// Maps the wire value; `None` for `UNSPEC` and for attributes newer than us.
    pub fn from_u16(v: u16) -> Option<Self> {
        use Attr::*;
        let all = [
            Device,
            Minor,
            Pad,
            DevCfg,
            DevSize,
            WriteCache,
            CmdStatus,
            DeviceId,
            SuppKernCmdReply,
        ];
        usize::from(v)
            .checked_sub(1)
            .and_then(|i| all.get(i))
            .copied()
    }

    /// The uapi name, for error messages that can be grepped in the kernel source.
    pub fn name(self) -> &'static str {
        match self {
            Attr::Device => "TCMU_ATTR_DEVICE",
            Attr::Minor => "TCMU_ATTR_MINOR",
            Attr::Pad => "TCMU_ATTR_PAD",
            Attr::DevCfg => "TCMU_ATTR_DEV_CFG",
            Attr::DevSize => "TCMU_ATTR_DEV_SIZE",
            Attr::WriteCache => "TCMU_ATTR_WRITECACHE",
            Attr::CmdStatus => "TCMU_ATTR_CMD_STATUS",
            Attr::DeviceId => "TCMU_ATTR_DEVICE_ID",
            Attr::SuppKernCmdReply => "TCMU_ATTR_SUPP_KERN_CMD_REPLY",
        }
    }
}

impl std::fmt::Display for Attr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which of the three events a message is, without its data: what a reply needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    Added,
    Removed,
    Reconfig,
}

impl EventType {
    /// The command the kernel sends for this event.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn command(self) -> GenlCommand {
        match self {
            EventType::Added => GenlCommand::AddedDevice,
            EventType::Removed => GenlCommand::RemovedDevice,
            EventType::Reconfig => GenlCommand::ReconfigDevice,
        }
    }

    /// The `*_DONE` command that answers this event.
    pub fn done(self) -> GenlCommand {
        match self {
            EventType::Added => GenlCommand::AddedDeviceDone,
            EventType::Removed => GenlCommand::RemovedDeviceDone,
            EventType::Reconfig => GenlCommand::ReconfigDeviceDone,
        }
    }

    /// The event for a command the kernel sends, `None` for everything else.
    pub fn from_command(cmd: GenlCommand) -> Option<Self> {
        match cmd {
            GenlCommand::AddedDevice => Some(EventType::Added),
            GenlCommand::RemovedDevice => Some(EventType::Removed),
            GenlCommand::ReconfigDevice => Some(EventType::Reconfig),
            _ => None,
        }
    }
}

/// What a `RECONFIG_DEVICE` event asks to change. The kernel sends exactly one field
/// per event (`tcmu_send_dev_config_event` and friends), but nothing forbids several.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconfig {
    /// New configuration string (`dev_config`, `<subtype>/<cfgstring>`).
    pub dev_cfg: Option<String>,
    /// New device size in bytes.
    pub dev_size: Option<u64>,
    /// New `emulate_write_cache` value.
    pub write_cache: Option<bool>,
}

/// What happened to the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    Added,
    Removed,
    Reconfig(Reconfig),
}

impl EventKind {
    /// The event's type, dropping the reconfig data.
    pub fn event_type(&self) -> EventType {
        match self {
            EventKind::Added => EventType::Added,
            EventKind::Removed => EventType::Removed,
            EventKind::Reconfig(_) => EventType::Reconfig,
        }
    }
}

/// One decoded kernel event. Every one must be answered (see `TcmuNetlink`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceEvent {
    pub kind: EventKind,
    /// The UIO device name, `tcm-user/<hba>/<device>/<subtype>/<cfgstring>`.
    pub uio_name: String,
    /// The UIO minor: the `N` of `/dev/uioN`.
    pub minor: u32,
    /// The kernel's `se_dev.dev_index`, echoed in the reply.
    pub device_id: u32,
}

/// A decoded `*_DONE` reply (what the kernel's `tcmu_genl_cmd_done` reads).
#[cfg(any(test, feature = "test-utils"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    pub event: EventType,
    pub status: i32,
    pub device_id: u32,
}

/// Why a payload is not a valid `TCM-USER` message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("generic netlink header truncated: {len} bytes, need {GENL_HDRLEN}")]
    HeaderTruncated { len: usize },
    #[error("unknown TCM-USER command {0}")]
    UnknownCommand(u8),
    #[error("command {0:?} is not what was expected here")]
    UnexpectedCommand(GenlCommand),
    #[error("attribute header at offset {offset} truncated: {remaining} bytes left")]
    AttrHeaderTruncated { offset: usize, remaining: usize },
    #[error("attribute at offset {offset} has length {len}, shorter than its header")]
    AttrTooShort { offset: usize, len: usize },
    #[error("attribute at offset {offset} has length {len} but only {remaining} bytes remain")]
    AttrOverrun {
        offset: usize,
        len: usize,
        remaining: usize,
    },
    #[error("attribute at offset {offset} misses {missing} bytes of alignment padding")]
    AttrUnpadded { offset: usize, missing: usize },
    #[error("{attr} appears twice")]
    Duplicate { attr: Attr },
    #[error("{attr} is {got} bytes long, expected {expected}")]
    Size {
        attr: Attr,
        expected: usize,
        got: usize,
    },
    #[error("{attr} is not NUL-terminated")]
    Unterminated { attr: Attr },
    #[error("{attr} contains a NUL byte before its end")]
    InteriorNul { attr: Attr },
    #[error("{attr} is not UTF-8")]
    NotUtf8 {
        attr: Attr,
        #[source]
        source: Utf8Error,
    },
    #[error("required attribute {attr} is missing")]
    Missing { attr: Attr },
    #[error("reconfig event changes nothing (no DEV_CFG, DEV_SIZE or WRITECACHE)")]
    EmptyReconfig,
}

/// Why an event could not be encoded.
#[cfg(any(test, feature = "test-utils"))]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("{attr} value of {len} bytes does not fit a netlink attribute")]
    TooLong { attr: Attr, len: usize },
    #[error("{attr} contains a NUL byte")]
    InteriorNul { attr: Attr },
}

mod attrs;
mod decode;
mod encode;
#[cfg(test)]
mod tests;

pub use attrs::{RawAttr, RawAttrs};
pub use decode::{decode_event, reply_target};
pub use encode::{encode_reply, encode_set_features};
#[cfg(any(test, feature = "test-utils"))]
pub use {decode::decode_reply, encode::encode_event};
