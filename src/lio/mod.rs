//! The kernel's LIO iSCSI configuration, written through configfs
//! (`/sys/kernel/config/target`) for the exports this daemon serves.
//!
//! For each export ([`ExportLun`]) on this gateway, [`Lio::apply`] converges configfs to:
//!
//! ```text
//! core/user_<H>/                         HBA, one per storage object (as rtslib does)
//! core/user_<H>/<name>/                  user:<handler> storage object, served by us
//! iscsi/<target-iqn>/tpgt_1/             target and its TPG
//!     np/<ip>:<port>, np/[<ipv6>]:<port> portals of this gateway
//!     lun/lun_<n>/<link> -> core/user_<H>/<name>
//!     acls/<initiator>/lun_<n>/<link> -> tpgt_1/lun/lun_<n>     (listed initiators)
//!     acls/<initiator>/auth/, auth/      CHAP (per ACL, or TPG-wide when open)
//!     attrib/{generate_node_acls,cache_dynamic_acls,demo_mode_write_protect,authentication}
//!     enable
//! ```
//!
//! [`Lio::remove`] takes it down in reverse order, [`Lio::observe`] lists what the
//! daemon owns, [`Lio::sessions`] tells who is logged in.
//!
//! **Ownership.** The daemon never touches LIO objects it did not create: an
//! administrator's targetcli work stays as it is. What it creates is listed in a
//! [`Journal`] *before* the `mkdir` and forgotten only *after* the `rmdir`, so a crash
//! anywhere leaves nothing unrecognised; the next `apply` or `remove` finishes the job.
//! A storage object or target of the wanted name that the journal does not list is a
//! [`LioError::Foreign`] conflict, refused before anything changes.
//!
//! **Authentication.** CHAP is enforced on the session login. Discovery stays
//! unauthenticated: `iscsi/discovery_auth` is shared by every target on the host and
//! is left alone.
//!
//! **Secrets** (CHAP passwords) are written to configfs and nowhere else: they are never
//! logged, never kept in reports, and the `Debug` of the types holding them is redacted.
//!
//! All file access goes through the [`ConfigFs`] trait; [`StdFs`] is the real one, and
//! `fake::FakeConfigfs` (tests and feature `test-utils`) a temporary directory that
//! behaves like the kernel's tree.

#![forbid(unsafe_code)]

mod acl;
mod alua;
mod backstore;
mod error;
#[cfg(any(test, feature = "test-utils"))]
pub mod fake;
mod fs;
mod journal;
mod layout;
mod names;
mod ops;
mod spec;
mod target;
mod writer;

pub use error::{ApplyReport, Change, Drift, LioError, Op, RemoveReport};
pub use fs::{ConfigFs, Entry, EntryKind, StdFs};
pub use journal::{Journal, JournalError, Owned};
pub use names::{
    BACKSTORE_NAME_MAX, BackstoreName, ISCSI_NAME_MAX, InitiatorName, NameError, TargetIqn,
    UNIT_SERIAL_MAX, UnitSerial,
};
pub use spec::{
    Access, BLOCK_SIZE, CHAP_FIELD_MAX, CHAP_SECRET_MIN, Chap, ChapSecret, ChapUser,
    DEV_CONFIG_MAX, DevConfig, ExportLun, GATEWAYS_MAX, LUN_MAX, PortGroups, SpecError,
};
pub use writer::{Lio, OwnedExport, SYSTEM_ROOT};

#[cfg(test)]
mod tests;
