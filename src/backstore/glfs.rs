//! A LUN backed by a file on a GlusterFS volume, through libgfapi's async calls.
//!
//! Reads and writes go straight between the shared region and gfapi (the region's
//! segments become the iovecs); each request's buffer and iovecs are owned by the
//! gfapi call until its callback has fired (see `crate::glfs::gfapi`). A FUA write is
//! one write carrying `O_DSYNC` (each brick writes and fsyncs before answering: one
//! round trip, not a write and then an `fdatasync`); SYNCHRONIZE CACHE is `fdatasync`;
//! UNMAP is `glfs_discard_async` and WRITE SAME of zeroes `glfs_zerofill_async`.
//!
//! Size policy at open: a missing image is created; a smaller one is grown (sparsely) to
//! the LUN size; a larger one is served up to the LUN size and left as it is (logged).
//!
//! Faults: an errno meaning the connection is gone (`crate::glfs::is_disconnect`)
//! answers the command BUSY so the initiator retries, and marks the LUN reconnecting:
//! a background thread connects anew (through the pool, so LUNs on the same
//! volume share the new connection) and reopens the image, with back-off. Until then
//! every new command is answered BUSY at once; the reactor never waits. Each state
//! change is logged once. A LUN the daemon takes over after a restart starts in that
//! state when its volume cannot be reached ([`GlfsBackstore::open_or_reconnect_at`]).
//!
//! Volume changes: when the volume's volfile changed ([`Volume::is_stale`]), the LUN
//! opens its image on a connection built from the new one in the background, still
//! serving on the old; then holds new requests until the old file's are done and
//! flushed, and sends them to the new file. No BUSY, no error (docs/DECISIONS.md,
//! "A volume change moves a LUN to a new connection").

#![forbid(unsafe_code)]

use super::{
    Backstore, BackstoreError, Capabilities, IoCompletion, IoOp, IoRequest, Rejected, check_range,
};
use crate::cfgstring::glfs::GlfsConfig;
use crate::glfs::{
    AsyncOp, ConnectOptions, ConnectionPool, Done, GlfsError, GlfsFile, Mailbox, Volume, VolumeKey,
    is_disconnect,
};
use std::os::fd::BorrowedFd;
use std::sync::Arc;
use std::time::Duration;

mod link;
mod reconnect;
mod slab;

use link::{HANDOVER_FLUSH, Link};
use reconnect::Reconnect;
use slab::{GfapiRequest, RequestKind, RequestSlab};

/// How an open gets its volume connection (a [`ConnectionPool`] method).
type Connect = fn(&ConnectionPool, &VolumeKey, &ConnectOptions) -> Result<Arc<Volume>, GlfsError>;

/// How a glfs LUN is opened and kept up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlfsOptions {
    pub connect: ConnectOptions,
    /// First wait before reconnecting; doubles per failed attempt up to `retry_max`.
    pub retry_min: Duration,
    pub retry_max: Duration,
    /// How long `resize` may wait for the server.
    pub resize_deadline: Duration,
    /// The image is fenced by the HA image lock (docs/HA.md): marked for enforcement at
    /// open, and a request the bricks refuse for the lock (`ha::is_fencing_errno`) is
    /// answered [`BackstoreError::Fenced`], never BUSY, and starts no reconnect.
    pub image_lock: bool,
}

impl Default for GlfsOptions {
    fn default() -> Self {
        Self {
            connect: ConnectOptions::default(),
            retry_min: Duration::from_millis(500),
            retry_max: Duration::from_secs(8),
            resize_deadline: Duration::from_secs(10),
            image_lock: false,
        }
    }
}

/// Why a glfs LUN could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum GlfsOpenError {
    #[error(transparent)]
    Glfs(#[from] GlfsError),
    #[error("cannot size `{path}` to {size} bytes")]
    Size {
        path: String,
        size: u64,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create the completion eventfd")]
    Mailbox(#[source] std::io::Error),
    #[error("cannot start the reconnect thread")]
    Reconnect(#[source] std::io::Error),
    #[error(
        "cannot mark `{path}` for the HA image lock (a volume without \
         features.enforce-mandatory-lock and locks.mandatory-locking refuses it)"
    )]
    Enforce {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl GlfsOpenError {
    /// The errno for the kernel's reply.
    pub fn errno(&self) -> i32 {
        match self {
            GlfsOpenError::Glfs(e) => e.errno(),
            GlfsOpenError::Size { source, .. }
            | GlfsOpenError::Mailbox(source)
            | GlfsOpenError::Reconnect(source)
            | GlfsOpenError::Enforce { source, .. } => source.raw_os_error().unwrap_or(libc::EIO),
        }
    }
}

/// A glfs LUN.
#[derive(Debug)]
pub struct GlfsBackstore {
    key: VolumeKey,
    path: String,
    size: u64,
    opts: GlfsOptions,
    link: Link,
    mailbox: Arc<Mailbox>,
    slab: RequestSlab,
    early: Vec<IoCompletion>,
    done: Vec<Done>,
    /// Requests that arrived during a handover, sent to the new file after it.
    held: Vec<IoRequest>,
    /// Reconnects since the last request that succeeded (for back-off).
    outages: u32,
    /// Moves to a connection built from a new volfile, finished.
    moves: u64,
}

/// Opens (creating or growing) the image and returns the file, per the size policy.
fn open_image(
    key: &VolumeKey,
    path: &str,
    size: u64,
    volume: Arc<crate::glfs::Volume>,
    image_lock: bool,
) -> Result<Arc<GlfsFile>, GlfsOpenError> {
    let file = GlfsFile::open_or_create(volume, path).map_err(GlfsError::from)?;
    let size_err = |source| GlfsOpenError::Size {
        path: path.to_owned(),
        size,
        source,
    };
    let have = file.len().map_err(size_err)?;
    if have < size {
        file.set_len(size).map_err(size_err)?;
        if have > 0 {
            tracing::info!(volume = %key.volume, path, "image grown from {have} to {size} bytes");
        }
    } else if have > size {
        tracing::info!(
            volume = %key.volume, path,
            "image is {have} bytes; serving the LUN's {size} and leaving the rest untouched"
        );
    }
    // After sizing: on an enforced image a truncate without the lock is refused.
    if image_lock {
        file.enforce_mandatory_locks()
            .map_err(|source| GlfsOpenError::Enforce {
                path: path.to_owned(),
                source,
            })?;
    }
    Ok(Arc::new(file))
}

impl GlfsBackstore {
    /// Opens the LUN a `user:glfs` config string describes.
    pub fn open(cfg: &GlfsConfig, size: u64, opts: &GlfsOptions) -> Result<Self, GlfsOpenError> {
        Self::open_at(VolumeKey::from(cfg), &cfg.path, size, opts)
    }

    /// Opens `path` on the volume and servers `key` names (any port).
    pub fn open_at(
        key: VolumeKey,
        path: &str,
        size: u64,
        opts: &GlfsOptions,
    ) -> Result<Self, GlfsOpenError> {
        Self::open_through(key, path, size, opts, ConnectionPool::get)
    }

    /// Opens with the volume connection `connect` gives.
    fn open_through(
        key: VolumeKey,
        path: &str,
        size: u64,
        opts: &GlfsOptions,
        connect: Connect,
    ) -> Result<Self, GlfsOpenError> {
        let mailbox = Mailbox::new().map_err(GlfsOpenError::Mailbox)?;
        let volume = connect(ConnectionPool::global(), &key, &opts.connect)?;
        let file = open_image(&key, path, size, volume, opts.image_lock)?;
        Ok(Self::with_link(
            key,
            path,
            size,
            opts,
            Link::Up(file),
            mailbox,
        ))
    }

    fn with_link(
        key: VolumeKey,
        path: &str,
        size: u64,
        opts: &GlfsOptions,
        link: Link,
        mailbox: Arc<Mailbox>,
    ) -> Self {
        if let Link::Up(file) = &link {
            file.volume().wake_on_change(mailbox.wakeup());
        }
        Self {
            key,
            path: path.to_owned(),
            size,
            opts: opts.clone(),
            link,
            mailbox,
            slab: RequestSlab::default(),
            early: Vec::new(),
            done: Vec::new(),
            held: Vec::new(),
            outages: 0,
            moves: 0,
        }
    }

    /// Opens like [`GlfsBackstore::open_at`], except that when the volume cannot be
    /// reached or the image cannot be opened, the LUN starts out reconnecting (every
    /// command BUSY, the background job retrying with back-off) instead of failing.
    ///
    /// For a LUN the daemon takes over after a restart: it was being served, so its
    /// configuration held, and a Gluster outage at that moment must leave the initiators
    /// retrying until the servers answer, not a device nobody serves. When a connect to
    /// the volume failed less than a deadline ago (another LUN's, during the same
    /// takeover), it does not wait again ([`ConnectionPool::get_unless_failed`]).
    pub fn open_or_reconnect_at(
        key: VolumeKey,
        path: &str,
        size: u64,
        opts: &GlfsOptions,
    ) -> Result<Self, GlfsOpenError> {
        let e = match Self::open_through(
            key.clone(),
            path,
            size,
            opts,
            ConnectionPool::get_unless_failed,
        ) {
            Ok(lun) => return Ok(lun),
            Err(e @ GlfsOpenError::Mailbox(_)) => return Err(e),
            Err(e) => e,
        };
        let mailbox = Mailbox::new().map_err(GlfsOpenError::Mailbox)?;
        let job = Reconnect::start(
            (key.clone(), path.to_owned(), size, opts.image_lock),
            std::sync::Weak::new(),
            opts.connect.clone(),
            opts.retry_min,
            Arc::downgrade(&mailbox),
        )
        .map_err(GlfsOpenError::Reconnect)?;
        tracing::warn!(
            volume = %key.volume, path,
            "cannot open ({}); answering BUSY while reconnecting in the background",
            crate::error_text::admin_message(&e)
        );
        let mut lun = Self::with_link(key, path, size, opts, Link::Down(job), mailbox);
        lun.outages = 1;
        Ok(lun)
    }

    /// Starts `request` on `file`.
    fn send(&mut self, file: &Arc<GlfsFile>, request: IoRequest) {
        let (op, pending) = translate(request);
        let token = self.slab.insert(pending);
        self.start(file, token, op);
    }

    fn start(&mut self, file: &Arc<GlfsFile>, token: u64, op: AsyncOp) {
        if let Err(e) = file.submit(op, token, &self.mailbox) {
            let kind = self.slab.get(token).map_or(RequestKind::Read, |p| p.kind);
            let error = self.failed(file, kind, e.errno);
            self.finish(token, Err(error));
            self.mailbox.wake();
        }
    }

    /// A request while there is no connection: BUSY (the initiator retries it here once
    /// the volume is back), except on an HA LUN, which cannot hold the image lock without
    /// a connection: fenced, so the initiator gives this path up and moves to a gateway
    /// that reaches the bricks.
    fn unconnected(&self) -> BackstoreError {
        if self.opts.image_lock {
            BackstoreError::Fenced(libc::ENOTCONN)
        } else {
            BackstoreError::Retryable(libc::ENOTCONN)
        }
    }

    /// What a request that failed with `errno` on `file` is answered with; a lost
    /// connection starts the reconnect, unless the lock fenced the image (a fenced
    /// gateway is not brought back: another one is writing).
    fn failed(&mut self, file: &Arc<GlfsFile>, kind: RequestKind, errno: i32) -> BackstoreError {
        if self.opts.image_lock && crate::ha::is_fencing_errno(errno) {
            return BackstoreError::Fenced(errno);
        }
        if is_disconnect(errno) {
            self.lost(file, errno);
        }
        classify(kind, errno)
    }

    fn finish(&mut self, token: u64, result: Result<u64, BackstoreError>) {
        if let Some(p) = self.slab.remove(token) {
            self.early.push(IoCompletion { tag: p.tag, result });
        }
    }

    /// One finished gfapi call: complete its request.
    fn on_done(&mut self, done: Done) {
        if done.token == HANDOVER_FLUSH {
            self.finish_handover(done.result);
            return;
        }
        let Some(p) = self.slab.get(done.token).copied() else {
            return;
        };
        let result = match done.result {
            Err(errno) => Err(self.failed(&done.file, p.kind, errno)),
            Ok(n) => outcome(p, n),
        };
        if result.is_ok() {
            self.outages = 0;
        }
        self.finish(done.token, result);
    }
}

/// Errno to backstore error; disconnects and transient errnos are retryable.
fn classify(kind: RequestKind, errno: i32) -> BackstoreError {
    if is_disconnect(errno) || matches!(errno, libc::EAGAIN | libc::EINTR | libc::EBUSY) {
        return BackstoreError::Retryable(errno);
    }
    match (kind, errno) {
        (RequestKind::Discard | RequestKind::Zero, libc::EOPNOTSUPP | libc::ENOSYS) => {
            BackstoreError::Unsupported("glfs discard/zerofill")
        }
        (RequestKind::Read, _) => BackstoreError::Read(errno),
        (RequestKind::Write | RequestKind::Sync | RequestKind::Zero, _) => {
            BackstoreError::Write(errno)
        }
        (RequestKind::Discard, _) => BackstoreError::Other(errno),
    }
}

/// Bytes gfapi reported to the request's result. A short write is an error.
fn outcome(p: GfapiRequest, n: u64) -> Result<u64, BackstoreError> {
    match p.kind {
        RequestKind::Write if n < p.expected => Err(BackstoreError::Write(libc::EIO)),
        RequestKind::Read => Ok(n),
        _ => Ok(p.expected),
    }
}

impl Backstore for GlfsBackstore {
    fn size(&self) -> u64 {
        self.size
    }

    fn submit(&mut self, request: IoRequest) -> Result<(), Box<Rejected>> {
        if let Err(error) = check_range(&request.op, self.size) {
            return Err(Box::new(Rejected { error, request }));
        }
        let Some(file) = self.current() else {
            if matches!(self.link, Link::Handover { .. }) {
                self.held.push(request);
                return Ok(());
            }
            let error = self.unconnected();
            return Err(Box::new(Rejected { error, request }));
        };
        self.send(&file, request);
        Ok(())
    }

    fn notifier(&self) -> Option<BorrowedFd<'_>> {
        Some(self.mailbox.fd())
    }

    fn has_completions(&self) -> bool {
        !self.early.is_empty() || self.mailbox.has_posted()
    }

    fn drain(&mut self, out: &mut Vec<IoCompletion>) {
        self.mailbox.take(&mut self.done);
        let mut done = std::mem::take(&mut self.done);
        for d in done.drain(..) {
            self.on_done(d);
        }
        self.done = done;
        let _ = self.current(); // log a finished reconnect promptly
        out.append(&mut self.early);
    }

    /// Reconnecting while down, until the reactor picks up a finished reconnect, which
    /// the job's mailbox wake-up makes it do promptly.
    fn health(&self) -> super::Health {
        let state = match self.link {
            Link::Down(_) => super::BackendState::Reconnecting,
            _ => super::BackendState::Serving,
        };
        super::Health {
            state,
            connection_moves: self.moves,
        }
    }

    fn in_flight(&self) -> usize {
        let flushing = matches!(self.link, Link::Handover { flushing: true, .. });
        self.slab.len() + usize::from(flushing) + self.held.len()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    fn has_image_lock(&self) -> bool {
        self.opts.image_lock
    }

    /// The enforcement the open would have set is left to the lock: taking it sets it
    /// first (`ImageLock::take` on a `GlfsFile`).
    fn enable_image_lock(&mut self) -> bool {
        self.opts.image_lock = true;
        true
    }

    /// The file requests go to now: its connection is the lock's owner, so every
    /// request on it writes under the lock this takes.
    fn image_lock(&mut self) -> Option<Arc<dyn crate::ha::ImageLock>> {
        if !self.opts.image_lock {
            return None;
        }
        let file = self.current()?;
        Some(file)
    }

    fn resize(&mut self, new_size: u64) -> Result<(), BackstoreError> {
        let file = self
            .current()
            .ok_or(BackstoreError::Retryable(libc::ENOTCONN))?;
        let grown = crate::glfs::pool::grow_within(&file, new_size, self.opts.resize_deadline);
        if let Err(e) = grown {
            let errno = e.raw_os_error().unwrap_or(libc::EIO);
            return Err(self.failed(&file, RequestKind::Write, errno));
        }
        self.size = new_size;
        Ok(())
    }
}

/// The gfapi op and the bookkeeping for a request.
fn translate(request: IoRequest) -> (AsyncOp, GfapiRequest) {
    let tag = request.tag;
    let p = |kind, expected| GfapiRequest {
        tag,
        kind,
        expected,
    };
    match request.op {
        IoOp::Read { offset, buf } => {
            let n = buf.len();
            (AsyncOp::Read { offset, buf }, p(RequestKind::Read, n))
        }
        IoOp::Write { offset, buf, fua } => {
            let n = buf.len();
            (
                AsyncOp::Write {
                    offset,
                    buf,
                    durable: fua,
                },
                p(RequestKind::Write, n),
            )
        }
        IoOp::Flush => (AsyncOp::Fdatasync, p(RequestKind::Sync, 0)),
        IoOp::Discard { offset, len } => (
            AsyncOp::Discard { offset, len },
            p(RequestKind::Discard, len),
        ),
        IoOp::WriteZeroes { offset, len } => {
            (AsyncOp::Zerofill { offset, len }, p(RequestKind::Zero, len))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::slab::{GfapiRequest, RequestKind};
    use super::{BackstoreError, classify, outcome};

    fn pending(kind: RequestKind, expected: u64) -> GfapiRequest {
        GfapiRequest {
            tag: 0,
            kind,
            expected,
        }
    }

    #[test]
    fn connection_errnos_are_busy_and_data_errnos_are_medium_errors() {
        for errno in [libc::ENOTCONN, libc::ETIMEDOUT, libc::EAGAIN, libc::EBUSY] {
            assert_eq!(
                classify(RequestKind::Write, errno),
                BackstoreError::Retryable(errno)
            );
            assert_eq!(
                classify(RequestKind::Read, errno),
                BackstoreError::Retryable(errno)
            );
        }
        assert_eq!(
            classify(RequestKind::Read, libc::EIO),
            BackstoreError::Read(libc::EIO)
        );
        assert_eq!(
            classify(RequestKind::Write, libc::ENOSPC),
            BackstoreError::Write(libc::ENOSPC)
        );
        assert_eq!(
            classify(RequestKind::Sync, libc::EIO),
            BackstoreError::Write(libc::EIO)
        );
        assert_eq!(
            classify(RequestKind::Discard, libc::EIO),
            BackstoreError::Other(libc::EIO)
        );
        assert!(matches!(
            classify(RequestKind::Zero, libc::EOPNOTSUPP),
            BackstoreError::Unsupported(_)
        ));
    }

    #[test]
    fn short_writes_fail_short_reads_report_what_came() {
        assert_eq!(outcome(pending(RequestKind::Write, 4096), 4096), Ok(4096));
        assert_eq!(
            outcome(pending(RequestKind::Write, 4096), 512),
            Err(BackstoreError::Write(libc::EIO))
        );
        assert_eq!(outcome(pending(RequestKind::Read, 4096), 512), Ok(512));
        assert_eq!(outcome(pending(RequestKind::Discard, 8192), 0), Ok(8192));
        assert_eq!(outcome(pending(RequestKind::Sync, 0), 0), Ok(0));
    }
}
