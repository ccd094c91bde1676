//! The hand-off of asynchronous requests to gfapi and back to the reactor.
//!
//! [`GlfsFile::submit`] sends each request as a heap [`Ctx`] whose pointer is gfapi's
//! `data` argument. gfapi calls [`on_done`] exactly once for every call that returned 0
//! (and never for one that returned -1), on one of its own threads or inline inside the
//! submitting call. `on_done` takes the box back, moves the result, the buffer and the
//! file reference into a [`Done`] record and posts it to the request's [`Mailbox`],
//! which writes its eventfd (the backstore's notifier) if it was empty.
//! It never blocks on anything else and catches any panic. The submitting side holds
//! no lock across the gfapi call, so an inline callback cannot deadlock with it.

use super::error::last_errno;
use super::file::GlfsFile;
use super::mailbox::{AsyncOp, Done, Mailbox, SubmitError};
use super::sys;
use std::sync::Arc;

/// What gfapi's `data` pointer refers to while a request is in flight.
struct Ctx {
    mailbox: Arc<Mailbox>,
    token: u64,
    /// For reads and writes: pointers into `op`'s buffer, which this box keeps alive.
    iovecs: Vec<libc::iovec>,
    op: AsyncOp,
    file: Arc<GlfsFile>,
}

impl Ctx {
    fn finish(self, ret: isize, errno: i32) {
        let result = if ret < 0 { Err(errno) } else { Ok(ret as u64) };
        let Ctx {
            mailbox,
            token,
            op,
            file,
            ..
        } = self;
        mailbox.post(Done {
            token,
            result,
            op,
            file,
        });
    }
}

impl GlfsFile {
    /// Starts `op`; its [`Done`] record, carrying `token`, lands in `mailbox`
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

/// gfapi's completion callback (GFAPI_6.0 `glfs_io_cbk`).
unsafe extern "C" fn on_done(
    _fd: *mut sys::glfs_fd_t,
    ret: libc::ssize_t,
    _prestat: *mut sys::glfs_stat,
    _poststat: *mut sys::glfs_stat,
    data: *mut libc::c_void,
) {
    // gfapi sets errno right before calling back; read it before anything can clobber it.
    let errno = if ret < 0 { last_errno() } else { 0 };
    let ctx = data.cast::<Ctx>();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: `data` is the Box<Ctx> leaked by GlfsFile::submit for a call that
        // returned 0; gfapi calls back exactly once for it (glfs_io_async_cbk), so the
        // box is reclaimed exactly once, here.
        let ctx = unsafe { Box::from_raw(ctx) };
        ctx.finish(ret, errno);
    }));
    if outcome.is_err() {
        // Nothing may unwind into C. The request is lost; the LUN's in-flight count
        // keeps it visible, and the next reconnect or device removal reports it.
        tracing::error!("panic in the gfapi completion callback");
    }
}
