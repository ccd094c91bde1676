//! An open file on a volume, and asynchronous I/O on it.

use super::callback::{AsyncOp, Ctx, Mailbox, SubmitError, on_done};
use super::error::{GfapiError, cstring, last_errno};
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

    fn raw(&self) -> *mut sys::glfs_fd_t {
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

    /// Starts `op`; its [`Done`](super::Done) record, carrying `token`, lands in `mailbox`
    /// (possibly before this returns). On refusal the op is handed back and no record
    /// will come.
    pub fn submit(
        self: &Arc<Self>,
        op: AsyncOp,
        token: u64,
        mailbox: &Arc<Mailbox>,
    ) -> Result<(), SubmitError> {
        let iovecs = match iovecs_for(&op) {
            Ok(v) => v,
            Err(errno) => return Err(SubmitError { errno, op }),
        };
        let ctx = Box::new(Ctx {
            mailbox: mailbox.clone(),
            token,
            iovecs,
            op,
            file: self.clone(),
        });
        let (iov, iov_count) = (ctx.iovecs.as_ptr(), ctx.iovecs.len() as libc::c_int);
        let call = Call::of(&ctx.op);
        let data = Box::into_raw(ctx);
        let fd = self.raw();
        let cb: sys::glfs_io_cbk = Some(on_done);
        // SAFETY: fd is open and stays open (the Ctx holds an Arc of this file). `iov`
        // points into the Ctx's iovec vector, whose heap storage does not move when
        // the box does, and the iovecs point into the region segments of the DataBuf
        // in the same Ctx, which keeps the region mapped. The Ctx lives until on_done
        // reclaims it, so everything gfapi may touch outlives the request. `data` is
        // not used here again after a successful call: the callback may already have
        // freed it.
        let rc = unsafe {
            match call {
                Call::Read(off) => {
                    sys::glfs_preadv_async(fd, iov, iov_count, off, 0, cb, data.cast())
                }
                Call::Write(off, flags) => {
                    sys::glfs_pwritev_async(fd, iov, iov_count, off, flags, cb, data.cast())
                }
                Call::Fdatasync => sys::glfs_fdatasync_async(fd, cb, data.cast()),
                Call::Discard(off, len) => {
                    sys::glfs_discard_async(fd, off, len as usize, cb, data.cast())
                }
                Call::Zerofill(off, len) => sys::glfs_zerofill_async(fd, off, len, cb, data.cast()),
            }
        };
        if rc == 0 {
            return Ok(());
        }
        let errno = last_errno();
        // SAFETY: the call failed before reaching STACK_WIND (glfs-fops.c), so gfapi
        // will not call back: the box is still ours to reclaim, once.
        let ctx = unsafe { Box::from_raw(data) };
        Err(SubmitError { errno, op: ctx.op })
    }
}

/// The gfapi call for an op, with its integer arguments converted.
#[derive(Clone, Copy)]
enum Call {
    Read(i64),
    /// Offset and the write's flags (`O_DSYNC` or 0).
    Write(i64, libc::c_int),
    Fdatasync,
    Discard(i64, u64),
    Zerofill(i64, i64),
}

impl Call {
    fn of(op: &AsyncOp) -> Call {
        // Offsets were checked against the LUN size, far below i64::MAX.
        let off = |o: u64| o.min(i64::MAX as u64) as i64;
        match *op {
            AsyncOp::Read { offset, .. } => Call::Read(off(offset)),
            AsyncOp::Write {
                offset, durable, ..
            } => Call::Write(off(offset), if durable { libc::O_DSYNC } else { 0 }),
            AsyncOp::Fdatasync => Call::Fdatasync,
            AsyncOp::Discard { offset, len } => Call::Discard(off(offset), len),
            AsyncOp::Zerofill { offset, len } => Call::Zerofill(off(offset), off(len)),
        }
    }
}

/// Raw iovecs for a read or write's region segments (checked by the region).
fn iovecs_for(op: &AsyncOp) -> Result<Vec<libc::iovec>, i32> {
    let buf = match op {
        AsyncOp::Read { buf, .. } | AsyncOp::Write { buf, .. } => buf,
        _ => return Ok(Vec::new()),
    };
    let mut out = Vec::with_capacity(buf.segments().len());
    for seg in buf.segments() {
        let ptr = buf
            .region()
            .segment_ptr(seg.off, seg.len)
            .map_err(|_| libc::EFAULT)?;
        out.push(libc::iovec {
            iov_base: ptr.as_ptr().cast(),
            iov_len: seg.len as usize,
        });
    }
    Ok(out)
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
