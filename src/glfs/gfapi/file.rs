//! An open file on a volume. Its asynchronous I/O ([`GlfsFile::submit`]) is in
//! `callback`, beside the completion callback gfapi calls.

use super::error::{GfapiError, cstring};
use super::fd::Fd;
use super::sys;
use super::volume::Volume;
use std::fmt;
use std::io;
use std::mem::ManuallyDrop;
use std::sync::Arc;

/// An open file. It keeps its [`Volume`] connected; dropping the last reference closes
/// it on a background thread (`glfs_close` waits for the server).
pub struct GlfsFile {
    /// Taken out only by Drop, which closes it before letting go of `volume`.
    fd: ManuallyDrop<Fd>,
    path: String,
    volume: Arc<Volume>,
}

impl fmt::Debug for GlfsFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GlfsFile")
            .field("volume", &self.volume.name())
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl GlfsFile {
    /// Opens `path` read-write with `O_DIRECT`, creating it (mode 0600) when missing.
    pub fn open_or_create(volume: Arc<Volume>, path: &str) -> Result<Self, GfapiError> {
        let c_path = cstring("path", path)?;
        let flags = libc::O_RDWR | libc::O_DIRECT;
        // SAFETY: the GlfsFile each Fd made here goes into holds an Arc of the volume,
        // and its Drop closes the fd before letting go of that.
        let open = || unsafe { Fd::open(&volume, &c_path, flags) };
        let fd = match open() {
            // O_EXCL: if another opener won the race, open what it created.
            Err(libc::ENOENT) => {
                // SAFETY: as above.
                match unsafe { Fd::create(&volume, &c_path, flags | libc::O_EXCL, 0o600) } {
                    Err(libc::EEXIST) => open(),
                    created => created,
                }
            }
            opened => opened,
        };
        let fd = fd.map_err(|errno| GfapiError::File {
            what: "open",
            volume: volume.name().to_owned(),
            path: path.to_owned(),
            source: io::Error::from_raw_os_error(errno),
        })?;
        Ok(Self {
            fd: ManuallyDrop::new(fd),
            path: path.to_owned(),
            volume,
        })
    }

    /// Removes the image at `path` from the volume (`glfs_unlink`). Blocks on the
    /// servers. Files open on it stay readable until closed, as on a local file system.
    pub fn remove(volume: &Volume, path: &str) -> Result<(), GfapiError> {
        volume.unlink(path)
    }

    /// The connection this file is open on.
    pub fn volume(&self) -> &Arc<Volume> {
        &self.volume
    }

    /// Path inside the volume.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The open fd, for the lock calls (`super::lock`).
    pub(super) fn fd(&self) -> &Fd {
        &self.fd
    }

    /// The fd's pointer, for the asynchronous calls.
    pub(super) fn raw(&self) -> *mut sys::glfs_fd_t {
        self.fd.raw()
    }

    /// Current size (`glfs_fstat`). Blocks on the server.
    pub fn len(&self) -> io::Result<u64> {
        let st = self.fd.stat().map_err(io::Error::from_raw_os_error)?;
        Ok(st.st_size as u64)
    }

    /// True when the file is empty.
    pub fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Sets the size (`glfs_ftruncate`). Blocks on the server.
    pub fn set_len(&self, len: u64) -> io::Result<()> {
        self.fd.truncate(len).map_err(io::Error::from_raw_os_error)
    }

    /// Reads at `offset` synchronously (`glfs_pread`); for checks and tests, not the
    /// data path.
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.fd
            .read_at(buf, offset)
            .map_err(io::Error::from_raw_os_error)
    }

    /// Writes `buf` at `offset` synchronously (`glfs_pwrite`): the bytes written. For
    /// checks and tests, not the data path.
    pub fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        self.fd
            .write_at(buf, offset)
            .map_err(io::Error::from_raw_os_error)
    }
}

impl Drop for GlfsFile {
    fn drop(&mut self) {
        // SAFETY: this is the drop of the fd's only owner: the field is not used again.
        // The last reference to the file is gone, so no request is in flight on the fd
        // either (each holds a reference).
        let fd = ManuallyDrop::new(unsafe { ManuallyDrop::take(&mut self.fd) });
        let volume = self.volume.clone();
        let close = move || {
            drop(ManuallyDrop::into_inner(fd)); // glfs_close, waiting for the server
            drop(volume); // may start glfs_fini, after the close
        };
        // If no thread can be started, the closure is dropped unrun: the fd is leaked
        // (ManuallyDrop) rather than closed on the caller's thread.
        if let Err(e) = std::thread::Builder::new()
            .name("glfs-close".into())
            .spawn(close)
        {
            tracing::warn!(path = %self.path, "gfapi fd leaked, no thread to close it: {e}");
        }
    }
}
