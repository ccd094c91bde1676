//! [`MetaStore`] on a Gluster volume itself, through the safe gfapi layer: what the CLI
//! and the gateways use in production. Every call blocks on the volume's servers, so it
//! belongs to the control plane only.
//!
//! The exclusive publish is gfapi's `link`, which the bricks carry out atomically (EEXIST
//! to all but one of any number of linkers of a name, on one client or many); the
//! replace is `rename`. A temporary file is written whole and `fsync`ed before either.

use super::{Fencing, Grown, ImageFile, MetaStore, StoreError, StoreOpener, is_leftover, tmp_name};
use crate::export::layout;
use crate::export::location::VolumeAddr;
use crate::glfs::gfapi::{GfapiError, Preallocation, SMALL_FILE_MAX, SyncFile};
use crate::glfs::{ConnectOptions, GLUSTERD_PORT, Server, Volume, VolumeKey, connect_checked};
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// The export folder of one connected volume.
#[derive(Debug, Clone)]
pub struct GlfsStore {
    volume: Arc<Volume>,
}

impl GlfsStore {
    /// The store of a connected volume.
    pub fn new(volume: Arc<Volume>) -> Self {
        GlfsStore { volume }
    }

    /// Writes `data` to a new temporary file for `path`, durably; returns its path.
    fn write_tmp(&self, path: &str, data: &[u8], mode: u32) -> Result<String, StoreError> {
        let tmp = tmp_name(path);
        self.volume
            .create_file(&tmp, mode, data)
            .map_err(failed("write", &tmp))?;
        Ok(tmp)
    }

    /// Removes a temporary file whose work is done; one left behind is swept later.
    fn drop_tmp(&self, tmp: &str) {
        if let Err(e) = self.volume.unlink(tmp) {
            tracing::warn!("temporary file left for the next sweep: {e}");
        }
    }

    /// Opens the image `path`, creating it with `mode` when missing.
    fn open_image(&self, path: &str, mode: u32) -> Result<SyncFile<'_>, StoreError> {
        match self.volume.create_new(path, mode) {
            Ok(file) => Ok(file),
            Err(e) if e.already_exists() => {
                self.volume.open_file(path).map_err(failed("open", path))
            }
            Err(e) => Err(failed("create", path)(e)),
        }
    }

    /// Makes the folder `dir`; one already there is fine.
    fn make_folder(&self, dir: &str) -> Result<(), StoreError> {
        match self.volume.mkdir(dir, layout::folder_mode(dir)) {
            Ok(()) => Ok(()),
            Err(e) if e.already_exists() => match self.volume.stat(dir) {
                Ok(st) if st.is_dir() => Ok(()),
                Ok(_) => Err(StoreError::io(
                    "make folder",
                    dir,
                    io::Error::from_raw_os_error(libc::ENOTDIR),
                )),
                Err(e) => Err(failed("look up", dir)(e)),
            },
            Err(e) => Err(failed("make folder", dir)(e)),
        }
    }
}

/// Maps a gfapi error on `path` to the store's, keeping its errno.
fn failed<'p>(op: &'static str, path: &'p str) -> impl Fn(GfapiError) -> StoreError + 'p {
    move |e| StoreError::io(op, path, io::Error::from_raw_os_error(e.errno()))
}

impl MetaStore for GlfsStore {
    fn ensure_folders(&self) -> Result<(), StoreError> {
        layout::FOLDERS
            .iter()
            .try_for_each(|dir| self.make_folder(dir))
    }

    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self.volume.read_file(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.not_found() => Ok(None),
            Err(GfapiError::TooLarge { .. }) => Err(StoreError::TooLarge {
                path: path.to_owned(),
                size: self
                    .volume
                    .stat(path)
                    .map_or(SMALL_FILE_MAX + 1, |s| s.size),
                max: super::MAX_META_FILE,
            }),
            Err(e) => Err(failed("read", path)(e)),
        }
    }

    fn list(&self, dir: &str) -> Result<Vec<String>, StoreError> {
        match self.volume.read_dir(dir) {
            Ok(mut names) => {
                names.sort();
                Ok(names)
            }
            Err(e) if e.not_found() => Ok(Vec::new()),
            Err(e) => Err(failed("list", dir)(e)),
        }
    }

    fn publish(&self, path: &str, data: &[u8], mode: u32) -> Result<(), StoreError> {
        let tmp = self.write_tmp(path, data, mode)?;
        let linked = self.volume.link(&tmp, path);
        self.drop_tmp(&tmp);
        match linked {
            Ok(()) => Ok(()),
            Err(e) if e.already_exists() => Err(StoreError::Exists {
                path: path.to_owned(),
            }),
            Err(e) => Err(failed("link", path)(e)),
        }
    }

    fn replace(&self, path: &str, data: &[u8], mode: u32) -> Result<(), StoreError> {
        let tmp = self.write_tmp(path, data, mode)?;
        self.volume.rename(&tmp, path).map_err(|e| {
            self.drop_tmp(&tmp);
            failed("rename over", path)(e)
        })
    }

    fn remove(&self, path: &str) -> Result<bool, StoreError> {
        match self.volume.unlink(path) {
            Ok(()) => Ok(true),
            Err(e) if e.not_found() => Ok(false),
            Err(e) => Err(failed("remove", path)(e)),
        }
    }

    fn size_of(&self, path: &str) -> Result<Option<u64>, StoreError> {
        match self.volume.stat(path) {
            Ok(st) => Ok(Some(st.size)),
            Err(e) if e.not_found() => Ok(None),
            Err(e) => Err(failed("look up", path)(e)),
        }
    }

    fn grow(&self, path: &str, size: u64, prealloc: bool, mode: u32) -> Result<Grown, StoreError> {
        let file = self.open_image(path, mode)?;
        let len = file.stat().map_err(failed("look up", path))?.size;
        if len > size {
            return Err(StoreError::Larger {
                path: path.to_owned(),
                size: len,
                wanted: size,
            });
        }
        let grown = extend(&file, len, size, prealloc).map_err(failed("extend", path))?;
        file.fsync().map_err(failed("fsync", path))?;
        file.close().map_err(failed("close", path))?;
        Ok(grown)
    }

    fn free_bytes(&self) -> Result<u64, StoreError> {
        let space = self.volume.statvfs().map_err(failed("statvfs", "/"))?;
        Ok(space.available)
    }

    /// Sharding from the client graph (the shard translator hides its attributes from
    /// clients); enforcement by marking a scratch file, which a volume without it refuses
    /// with EINVAL.
    fn fencing(&self) -> Result<Fencing, StoreError> {
        let volfile = self.volume.current_volfile();
        if String::from_utf8_lossy(&volfile).contains("type features/shard") {
            return Ok(Fencing::Sharded);
        }
        let tmp = self.write_tmp(&format!("{}/fencing-probe", layout::TMP), b"", 0o600)?;
        let marked = self
            .volume
            .open_file(&tmp)
            .and_then(|f| f.enforce_mandatory_locks());
        self.drop_tmp(&tmp);
        match marked {
            Ok(()) => Ok(Fencing::Ready),
            Err(e) if e.errno() == libc::EINVAL => Ok(Fencing::NotEnforced),
            Err(e) => Err(failed("mark for lock enforcement", &tmp)(e)),
        }
    }

    fn sweep_tmp(&self, age: Duration) -> Result<usize, StoreError> {
        let now = crate::export::report::unix_now();
        let mut removed = 0;
        for name in self.list(layout::TMP)? {
            let path = format!("{}/{name}", layout::TMP);
            let old = self.volume.stat(&path).is_ok_and(|st| {
                let modified = u64::try_from(st.modified).unwrap_or(0);
                now.saturating_sub(modified) > age.as_secs()
            });
            if old && is_leftover(&name) && self.volume.unlink(&path).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn open_image(&self, path: &str) -> Result<Box<dyn ImageFile + '_>, StoreError> {
        let file = self.volume.open_file(path).map_err(failed("open", path))?;
        Ok(Box::new(GlfsImage { file }))
    }
}

/// An image of a [`GlfsStore`], opened.
#[derive(Debug)]
struct GlfsImage<'vol> {
    file: SyncFile<'vol>,
}

impl ImageFile for GlfsImage<'_> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, StoreError> {
        let path = self.file.path();
        self.file.read_at(buf, offset).map_err(failed("read", path))
    }

    fn write_all_at(&self, data: &[u8], offset: u64) -> Result<(), StoreError> {
        let path = self.file.path();
        self.file
            .write_all_at(data, offset)
            .map_err(failed("write", path))
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.file.fsync().map_err(failed("fsync", self.file.path()))
    }
}

/// Extends `file` from `len` to `size` bytes: sparsely, or with every block allocated
/// (never overwriting the first `len` bytes, which may hold data after a resize).
fn extend(file: &SyncFile<'_>, len: u64, size: u64, prealloc: bool) -> Result<Grown, GfapiError> {
    if len == size {
        return Ok(Grown::Unchanged);
    }
    if !prealloc {
        file.set_len(size)?;
        return Ok(Grown::Sparse);
    }
    Ok(match file.preallocate(len, size - len)? {
        Preallocation::Fallocated => Grown::Allocated,
        Preallocation::ZeroesWritten => Grown::ZeroFilled,
    })
}

/// Opens the stores of volumes through the process's connection registry, each within
/// the connect deadline.
#[derive(Debug, Clone)]
pub struct GlfsVolumes {
    connect: ConnectOptions,
    glusterd_port: u16,
}

impl GlfsVolumes {
    /// Volumes connected with `connect` (its deadline bounds every open).
    pub fn new(connect: ConnectOptions) -> Self {
        GlfsVolumes {
            connect,
            glusterd_port: GLUSTERD_PORT,
        }
    }

    /// The same, asking the volfile servers' glusterd on `port` instead of 24007 (tests:
    /// a port where nothing listens, or a server that never answers).
    pub fn with_glusterd_port(self, port: u16) -> Self {
        GlfsVolumes {
            glusterd_port: port,
            ..self
        }
    }
}

impl StoreOpener for GlfsVolumes {
    fn open(&self, volume: &VolumeAddr) -> Result<Arc<dyn MetaStore>, StoreError> {
        let key = VolumeKey {
            volume: volume.volume.clone(),
            servers: volume
                .servers
                .iter()
                .map(|host| Server {
                    host: host.clone(),
                    port: self.glusterd_port,
                })
                .collect(),
        };
        let connected = connect_checked(&key, &self.connect)
            .map_err(|why| StoreError::Unreachable(why.into()))?;
        Ok(Arc::new(GlfsStore::new(connected)))
    }
}
