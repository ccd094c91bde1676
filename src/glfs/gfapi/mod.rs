//! libgfapi, and the only `unsafe` of the Gluster client: `sys` declares the C functions
//! (private to this room), the rest wraps them in owned types that need no `unsafe` to
//! use.
//!
//! * [`Volume`]: one connection (`glfs_t`), built from a volfile handed to it
//!   ([`VolumeSpec`]) and never switched to another graph; its [`VolfileFeed`] says when
//!   a newer volfile makes it stale. `glfs_fini` runs on a background thread when the
//!   last holder lets go. Its synchronous path operations (stat, mkdir, exclusive
//!   create, link, rename, read a small file, list a directory, statvfs...) and
//!   [`SyncFile`] serve the control plane, never the data path.
//! * [`GlfsFile`]: an open file, reference counted; it keeps its `Volume` alive and is
//!   closed on a background thread, never on a gfapi callback thread or the reactor.
//! * [`Mailbox`]: where asynchronous requests land. [`GlfsFile::submit`] takes the
//!   request's buffer by value and gives it back in the [`Done`] record, so the memory
//!   gfapi reads into stays owned until its callback has fired. Its eventfd, a
//!   [`Wakeup`], is also what a volume's feed rings after a volfile change.
//!
//! Inside, each module uses only those before it: `sys` and `error`; `wakeup` and
//! `shard_quiet` (when a connection that removed a name may be finished); `volume`;
//! `fd`; `stat`, `dir` and `sync_file`; `paths`; `file`; `lock` (the image lock that
//! fences a gateway); `mailbox`; and `callback`
//! (submission and gfapi's completion callback) on top.
//!
//! Who calls it: the connection pool (`super::pool`) builds and shares the `Volume`s;
//! the glfs backstore opens `GlfsFile`s on them and submits through a `Mailbox`. This
//! room imports neither the pool nor the glusterd client: the pool wires a volume's
//! watch in as its `VolfileFeed`.

mod callback;
mod dir;
mod error;
mod fd;
mod file;
mod lock;
mod mailbox;
mod paths;
mod shard_quiet;
mod stat;
mod sync_file;
mod sys;
mod volume;
mod wakeup;

pub use error::{GfapiError, is_disconnect};
pub use file::GlfsFile;
pub use lock::LockHolder;
pub use mailbox::{AsyncOp, Done, Mailbox, SubmitError};
pub use paths::SMALL_FILE_MAX;
pub use stat::{Space, Stat};
pub use sync_file::{Preallocation, SyncFile};
pub use volume::{StartOptions, VolfileFeed, Volume, VolumeSpec};
pub use wakeup::Wakeup;
