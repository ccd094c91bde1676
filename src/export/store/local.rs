//! [`MetaStore`] on a local directory standing for the volume's root.

use super::{
    Grown, ImageFile, MAX_META_FILE, MetaStore, StoreError, StoreOpener, is_leftover, tmp_name,
};
use crate::export::layout;
use crate::export::location::VolumeAddr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Zeroes written per call when an image is preallocated by writing.
const ZERO_CHUNK: usize = 1 << 20;

/// A directory that stands for a volume's root.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// The store whose volume root is `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The local path of volume path `path`.
    pub fn local(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    fn write_tmp(&self, path: &str, data: &[u8], mode: u32) -> Result<PathBuf, StoreError> {
        let tmp = self.local(&tmp_name(path));
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .map_err(|e| StoreError::io("create", &tmp.to_string_lossy(), e))?;
        f.write_all(data)
            .and_then(|()| f.sync_all())
            .map_err(|e| StoreError::io("write", &tmp.to_string_lossy(), e))?;
        Ok(tmp)
    }

    fn sync_parent(&self, path: &str) -> Result<(), StoreError> {
        let local = self.local(path);
        let dir = local.parent().unwrap_or(&self.root);
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| StoreError::io("sync folder of", path, e))
    }
}

/// One [`LocalStore`] per volume name, under a common directory: `<root>/<volume>/`, made
/// on first open. The servers are ignored (tests).
#[derive(Debug, Clone)]
pub struct LocalVolumes {
    root: PathBuf,
}

impl LocalVolumes {
    /// Volumes under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
}

impl StoreOpener for LocalVolumes {
    fn open(&self, volume: &VolumeAddr) -> Result<Arc<dyn MetaStore>, StoreError> {
        let dir = self.root.join(&volume.volume);
        fs::create_dir_all(&dir).map_err(|e| StoreError::io("make", &dir.to_string_lossy(), e))?;
        Ok(Arc::new(LocalStore::new(dir)))
    }
}

impl MetaStore for LocalStore {
    fn ensure_folders(&self) -> Result<(), StoreError> {
        for dir in layout::FOLDERS {
            let made = fs::DirBuilder::new()
                .mode(layout::folder_mode(dir))
                .create(self.local(dir));
            match made {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(StoreError::io("make folder", dir, e)),
            }
        }
        Ok(())
    }

    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut f = match File::open(self.local(path)) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io("open", path, e)),
        };
        let mut out = Vec::new();
        (&mut f)
            .take(MAX_META_FILE as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| StoreError::io("read", path, e))?;
        if out.len() > MAX_META_FILE {
            let size = f.metadata().map_or(out.len() as u64, |m| m.len());
            return Err(StoreError::TooLarge {
                path: path.to_owned(),
                size,
                max: MAX_META_FILE,
            });
        }
        Ok(Some(out))
    }

    fn list(&self, dir: &str) -> Result<Vec<String>, StoreError> {
        let entries = match fs::read_dir(self.local(dir)) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::io("list", dir, e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io("list", dir, e))?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    fn publish(&self, path: &str, data: &[u8], mode: u32) -> Result<(), StoreError> {
        let tmp = self.write_tmp(path, data, mode)?;
        let linked = fs::hard_link(&tmp, self.local(path));
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => self.sync_parent(path),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(StoreError::Exists {
                path: path.to_owned(),
            }),
            Err(e) => Err(StoreError::io("link", path, e)),
        }
    }

    fn replace(&self, path: &str, data: &[u8], mode: u32) -> Result<(), StoreError> {
        let tmp = self.write_tmp(path, data, mode)?;
        if let Err(e) = fs::rename(&tmp, self.local(path)) {
            let _ = fs::remove_file(&tmp);
            return Err(StoreError::io("rename over", path, e));
        }
        self.sync_parent(path)
    }

    fn remove(&self, path: &str) -> Result<bool, StoreError> {
        match fs::remove_file(self.local(path)) {
            Ok(()) => self.sync_parent(path).map(|()| true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(StoreError::io("remove", path, e)),
        }
    }

    fn size_of(&self, path: &str) -> Result<Option<u64>, StoreError> {
        match fs::metadata(self.local(path)) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io("stat", path, e)),
        }
    }

    fn grow(&self, path: &str, size: u64, prealloc: bool, mode: u32) -> Result<Grown, StoreError> {
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .mode(mode)
            .open(self.local(path))
            .map_err(|e| StoreError::io("create", path, e))?;
        let len = f
            .metadata()
            .map_err(|e| StoreError::io("stat", path, e))?
            .len();
        if len > size {
            return Err(StoreError::Larger {
                path: path.to_owned(),
                size: len,
                wanted: size,
            });
        }
        let grown = if prealloc {
            allocate(&f, path, len, size)?
        } else if len < size {
            f.set_len(size)
                .map_err(|e| StoreError::io("extend", path, e))?;
            Grown::Sparse
        } else {
            Grown::Unchanged
        };
        f.sync_all().map_err(|e| StoreError::io("sync", path, e))?;
        self.sync_parent(path)?;
        Ok(grown)
    }

    /// A local directory has no bricks: it stands for a volume made for HA, so that
    /// exports with several gateways can be tested on it.
    fn fencing(&self) -> Result<super::Fencing, StoreError> {
        Ok(super::Fencing::Ready)
    }

    fn free_bytes(&self) -> Result<u64, StoreError> {
        let st = rustix::fs::statvfs(&self.root)
            .map_err(|e| StoreError::io("statvfs", "/", e.into()))?;
        Ok(st.f_bavail.saturating_mul(st.f_frsize))
    }

    fn sweep_tmp(&self, age: Duration) -> Result<usize, StoreError> {
        let mut removed = 0;
        for name in self.list(layout::TMP)? {
            let path = self.local(&format!("{}/{name}", layout::TMP));
            let old = fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|elapsed| elapsed > age);
            if old && is_leftover(&name) && fs::remove_file(&path).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn open_image(&self, path: &str) -> Result<Box<dyn ImageFile + '_>, StoreError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(self.local(path))
            .map_err(|e| StoreError::io("open", path, e))?;
        Ok(Box::new(LocalImage {
            file,
            path: path.to_owned(),
        }))
    }
}

/// An image of a [`LocalStore`], opened.
#[derive(Debug)]
struct LocalImage {
    file: File,
    path: String,
}

impl ImageFile for LocalImage {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, StoreError> {
        use std::os::unix::fs::FileExt;
        loop {
            match self.file.read_at(buf, offset) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => return other.map_err(|e| StoreError::io("read", &self.path, e)),
            }
        }
    }

    fn write_all_at(&self, data: &[u8], offset: u64) -> Result<(), StoreError> {
        use std::os::unix::fs::FileExt;
        self.file
            .write_all_at(data, offset)
            .map_err(|e| StoreError::io("write", &self.path, e))
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.file
            .sync_all()
            .map_err(|e| StoreError::io("sync", &self.path, e))
    }
}

/// Allocates the whole image: `fallocate`, or zeroes written from `from` where the file
/// system refuses it.
fn allocate(f: &File, path: &str, from: u64, size: u64) -> Result<Grown, StoreError> {
    use rustix::fs::{FallocateFlags, fallocate};
    match fallocate(f, FallocateFlags::empty(), 0, size) {
        Ok(()) => return Ok(Grown::Allocated),
        Err(e) if e == rustix::io::Errno::OPNOTSUPP => {}
        Err(e) => return Err(StoreError::io("allocate", path, e.into())),
    }
    zero_fill(f, path, from, size).map(|()| Grown::ZeroFilled)
}

fn zero_fill(f: &File, path: &str, from: u64, size: u64) -> Result<(), StoreError> {
    use std::os::unix::fs::FileExt;
    let zeroes = vec![0u8; ZERO_CHUNK];
    let mut at = from;
    while at < size {
        let n = (size - at).min(ZERO_CHUNK as u64) as usize;
        f.write_all_at(&zeroes[..n], at)
            .map_err(|e| StoreError::io("write zeroes to", path, e))?;
        at += n as u64;
    }
    Ok(())
}
