//! Block exports: an image on a Gluster volume served as an iSCSI LUN by every gateway named
//! in its record, with the volume itself as the single source of truth.
//!
//! What lives here is the vocabulary every party shares and the operations on it:
//!
//! * [`name`]: what an export may be called (it becomes a file name, a backstore name and
//!   part of an IQN);
//! * [`location`]: `VOLUME@SERVER[+SERVER...]/NAME`, how commands name an export;
//! * [`layout`]: where records, images and gateway reports live on the volume;
//! * [`record`]: the desired state of one export (JSON, strict);
//! * [`report`]: what a gateway says of the exports it serves (JSON);
//! * [`store`]: the few file operations all of that needs, over a trait with a local
//!   directory implementation (tests, any POSIX mount) and a gfapi one.
//!
//! * [`ops`]: the commands (create, delete, resize, list, info), written once over the store;
//! * [`manifest`]: a Kubernetes PersistentVolume and CHAP Secret for an export.
//!
//! The CLI (`crate::export_cli`, `gluster-tcmu export ...`) and the daemon's gateway loop
//! (`crate::gateway`) call this room; it knows nothing of LIO or of the data path.

#![forbid(unsafe_code)]

pub mod layout;
pub mod location;
pub mod manifest;
pub mod name;
pub mod ops;
mod random;
pub mod record;
pub mod report;
pub mod store;

pub use location::{ExportLocation, LocationError, VolumeAddr};
pub use name::{ExportName, ExportNameError};
pub use record::{ChapPair, ChapRecord, Record, RecordError, State};
pub use report::{ExportStatus, GatewayReport, PathAccess, PathStatus, StatusState};
pub use store::{Fencing, ImageFile, LocalStore, LocalVolumes, MetaStore, StoreError, StoreOpener};
#[cfg(feature = "glfs")]
pub use store::{GlfsStore, GlfsVolumes};
