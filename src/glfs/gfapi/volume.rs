//! One gfapi connection to a volume (`glfs_t`), built from a volfile handed to it,
//! which files are opened on. Finished on a background thread.

use super::error::{GfapiError, cstring, last_errno};
use super::shard_quiet::NameChanges;
use super::sys;
use super::wakeup::Wakeup;
use std::ffi::CStr;
use std::fmt;
use std::io;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::Arc;

/// Where a connection's volfile came from (the volume's watch, which the pool wires in):
/// it tells whether a newer volfile came since, and wakes a LUN's mailbox (its
/// [`Wakeup`]) when one does.
/// gfapi never switches a connection's graph itself (see [`Volume::start`]).
pub trait VolfileFeed: Send + Sync + fmt::Debug {
    /// The generation of the newest volfile.
    fn generation(&self) -> u64;
    /// Wakes `wakeup` after every change from now on, for as long as it lives.
    fn wake_on_change(&self, wakeup: &Arc<Wakeup>);
    /// The newest volfile (the client graph glusterd hands out now).
    fn volfile(&self) -> Vec<u8>;
}

/// What a connection is built from.
#[derive(Debug)]
pub struct VolumeSpec {
    pub volume: String,
    /// The volfile servers, as a list for messages (`host:port, ...`).
    pub servers: String,
    pub volfile: Vec<u8>,
    /// The volfile's generation, as its feed counts them.
    pub generation: u64,
    pub feed: Arc<dyn VolfileFeed>,
}

/// The `glfs_t` pointer, moved to the helper threads that init and fini it.
struct Fs(NonNull<sys::glfs_t>);

// SAFETY: a glfs_t is used from many threads by design (gfapi locks internally); the
// wrapper only moves the pointer between threads, each use is a gfapi call.
unsafe impl Send for Fs {}

/// A connected volume. Drop finishes it (`glfs_fini`) on a background thread.
pub struct Volume {
    fs: Fs,
    name: String,
    /// The volfile servers, for messages.
    servers: String,
    /// Where the graph came from, and its generation there.
    feed: Arc<dyn VolfileFeed>,
    generation: u64,
    /// Its last unlink or rename, which decides when `glfs_fini` is safe.
    name_changes: NameChanges,
}

// SAFETY: gfapi allows concurrent calls on one glfs_t from any thread; Volume exposes
// no interior state besides the pointer, immutable strings and its feed (Sync itself).
unsafe impl Sync for Volume {}

impl fmt::Debug for Volume {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Volume")
            .field("name", &self.name)
            .field("servers", &self.servers)
            .finish_non_exhaustive()
    }
}

/// How [`Volume::start`] sets up a connection.
#[derive(Debug, Clone, Copy)]
pub struct StartOptions<'a> {
    /// gfapi's own log file.
    pub log_file: &'a Path,
    /// gfapi's log level (gluster's scale: 4 error, 5 warning, 7 info, 8 debug).
    pub log_level: i32,
    /// Pass requests through the client-side io-threads translator.
    pub bypass_client_io_threads: bool,
}

impl Volume {
    /// `glfs_new` .. `glfs_init` with the graph built from `spec.volfile`, blocking for
    /// as long as gfapi takes (the pool bounds that with a deadline). gfapi logs to
    /// `log_file` at `log_level` (gluster's scale: 4 error, 5 warning, 7 info, 8 debug);
    /// its directory is created if missing.
    ///
    /// Files are opened on connections like this one because gfapi never switches
    /// their graph: a graph switch under asynchronous I/O makes gfapi 10 release the
    /// new graph's fd once for every request in flight on the old one (its
    /// `glfs_io_async_cbk` unrefs `glfd->fd` rather than the fd the request was wound
    /// on; gluster/glusterfs#4799), and the freed fd crashes the process or sends
    /// later requests to whatever reuses its memory. A volfile change instead moves
    /// each LUN to a new connection ([`Volume::is_stale`]).
    pub fn start(spec: VolumeSpec, how: &StartOptions<'_>) -> Result<Volume, GfapiError> {
        let log_file = how.log_file;
        // gfapi reads the volfile from a path: a memfd's, open until glfs_init is done.
        let memfd =
            volfile_memfd(&spec.volfile).map_err(|e| init_error(&spec.volume, &spec.servers, e))?;
        let vol = Volume::new(spec)?;
        vol.set_volfile(&memfd)?;
        vol.set_logging(log_file, how.log_level);
        (if how.bypass_client_io_threads {
            vol.bypass_client_io_threads()
        } else {
            Ok(())
        })
        .and_then(|()| vol.write_behind_honours_o_direct())
        .map_err(|e| vol.init_error(e))?;
        vol.init(log_file)?;
        Ok(vol)
    }

    /// `glfs_new`: from here on, dropping the volume finishes the `glfs_t`.
    fn new(spec: VolumeSpec) -> Result<Volume, GfapiError> {
        let c_volume = cstring("volume name", &spec.volume)?;
        // SAFETY: c_volume is a valid NUL-terminated string for the call's duration.
        let fs = unsafe { sys::glfs_new(c_volume.as_ptr()) };
        let fs = NonNull::new(fs).ok_or_else(|| GfapiError::New {
            volume: spec.volume.clone(),
            source: io::Error::from_raw_os_error(last_errno()),
        })?;
        Ok(Volume {
            fs: Fs(fs),
            name: spec.volume,
            servers: spec.servers,
            feed: spec.feed,
            generation: spec.generation,
            name_changes: NameChanges::default(),
        })
    }

    /// Tells gfapi to build the graph from the volfile in `memfd` at `glfs_init`.
    fn set_volfile(&self, memfd: &std::fs::File) -> Result<(), GfapiError> {
        let path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(memfd));
        let c_path = cstring("volfile path", &path)?;
        // SAFETY: fs is a live glfs_t from glfs_new; c_path outlives the call.
        if unsafe { sys::glfs_set_volfile(self.raw(), c_path.as_ptr()) } != 0 {
            return Err(self.init_error(io::Error::from_raw_os_error(last_errno())));
        }
        Ok(())
    }

    /// `glfs_init`, once, on the configured connection.
    fn init(&self, log_file: &Path) -> Result<(), GfapiError> {
        // SAFETY: fs is a live, configured glfs_t; glfs_init is called once.
        if unsafe { sys::glfs_init(self.raw()) } != 0 {
            // EIO both when no brick answered (gfapi's `chdir("/")` after a first
            // CHILD_DOWN) and when the graph did not build; only gfapi's log tells.
            return Err(GfapiError::Start {
                volume: self.name.clone(),
                log: log_file.display().to_string(),
                source: io::Error::from_raw_os_error(last_errno()),
            });
        }
        Ok(())
    }

    fn init_error(&self, source: io::Error) -> GfapiError {
        init_error(&self.name, &self.servers, source)
    }

    /// The volume's newest client volfile, from the feed this connection came from.
    pub fn current_volfile(&self) -> Vec<u8> {
        self.feed.volfile()
    }

    /// Whether the volume's volfile changed since this connection was built: its LUNs
    /// should move to a new one.
    pub fn is_stale(&self) -> bool {
        self.feed.generation() != self.generation
    }

    /// The generation of the volfile this connection was built from.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Wakes a LUN's mailbox (its [`Mailbox::wakeup`](super::Mailbox::wakeup)) whenever
    /// the volume's volfile changes, so that the LUN moves off this connection even with
    /// no command to send (see [`Volume::is_stale`]).
    pub fn wake_on_change(&self, wakeup: &Arc<Wakeup>) {
        self.feed.wake_on_change(wakeup);
    }

    /// Points gfapi's log at `log_file`, or at /dev/null if its directory cannot be
    /// made (a missing log must not stop a LUN from opening).
    fn set_logging(&self, log_file: &Path, log_level: i32) {
        let dir_ok = log_file
            .parent()
            .is_none_or(|d| std::fs::create_dir_all(d).is_ok());
        let path = if dir_ok {
            log_file.to_string_lossy().into_owned()
        } else {
            "/dev/null".to_owned()
        };
        let Ok(c_path) = cstring("log file", &path) else {
            return;
        };
        // SAFETY: fs is a live glfs_t; c_path outlives the call.
        let rc = unsafe { sys::glfs_set_logging(self.raw(), c_path.as_ptr(), log_level) };
        if rc != 0 {
            tracing::warn!(volume = %self.name, "gfapi logging to {path} not set up");
        }
    }

    /// Makes the client-side io-threads translator pass every call straight through
    /// (`[glfs] client_io_threads = "bypass"`).
    ///
    /// Volumes with `performance.client-io-threads on` (the gluster-block profile) put it
    /// in the client graph, where it queues each call for a pool thread that winds it on.
    /// Passed by, the reactor winds each call itself: no hand-off, less CPU, but the
    /// replicated writes' winds then run one after another (docs/DECISIONS.md, "Gluster
    /// requests go through the client io-threads"). A pattern that matches no translator
    /// (io-threads off) is ignored.
    fn bypass_client_io_threads(&self) -> io::Result<()> {
        self.set_client_option(c"*-io-threads", c"pass-through", c"on")
    }

    /// Makes the client-side write-behind translator send writes on a file opened
    /// `O_DIRECT` straight to the bricks, whatever the volume's
    /// `performance.strict-o-direct`.
    ///
    /// With the volume default (off) write-behind answers such a write at once and sends
    /// it later: the data would then sit in this process, lost if the daemon is killed
    /// or its gateway fails over although the initiator got GOOD. With it on, a write is
    /// answered once every brick has it; a LUN's write cache (WCE) is then the bricks'
    /// page cache, which SYNCHRONIZE CACHE and FUA flush (docs/DECISIONS.md, "Durability").
    fn write_behind_honours_o_direct(&self) -> io::Result<()> {
        self.set_client_option(c"*-write-behind", c"strict-O_DIRECT", c"on")
    }

    /// `glfs_set_xlator_option` for the client translators matching `xlator` (a glob); a
    /// pattern that matches none is ignored by gfapi.
    fn set_client_option(&self, xlator: &CStr, key: &CStr, value: &CStr) -> io::Result<()> {
        // SAFETY: fs is a live glfs_t not yet initialised; the strings outlive the call
        // (gfapi copies them).
        let rc = unsafe {
            sys::glfs_set_xlator_option(self.raw(), xlator.as_ptr(), key.as_ptr(), value.as_ptr())
        };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(last_errno()));
        }
        Ok(())
    }

    /// The raw connection, for the sibling modules' gfapi calls.
    /// Notes an unlink or rename about to be made: it delays this connection's
    /// `glfs_fini` past the shard translator's work it wakes ([`super::shard_quiet`]).
    pub(super) fn name_changed(&self) {
        self.name_changes.record();
    }

    pub(super) fn raw(&self) -> *mut sys::glfs_t {
        self.fs.0.as_ptr()
    }

    /// `errno` of a failed call on `path` as an error naming both.
    pub(super) fn path_error(&self, what: &'static str, path: &str, errno: i32) -> GfapiError {
        GfapiError::File {
            what,
            volume: self.name().to_owned(),
            path: path.to_owned(),
            source: io::Error::from_raw_os_error(errno),
        }
    }

    /// Volume name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The volfile servers it was built through, as a list for messages.
    pub fn servers(&self) -> &str {
        &self.servers
    }
}

/// A connection to `volume` through `servers` could not be set up.
fn init_error(volume: &str, servers: &str, source: io::Error) -> GfapiError {
    GfapiError::Init {
        volume: volume.to_owned(),
        servers: servers.to_owned(),
        source,
    }
}

/// A memfd holding `volfile`, an empty one refused (gfapi would fail to parse it, and
/// say so only in its log).
fn volfile_memfd(volfile: &[u8]) -> io::Result<std::fs::File> {
    if volfile.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "empty volfile"));
    }
    let fd = rustix::fs::memfd_create("gluster-tcmu-volfile", rustix::fs::MemfdFlags::CLOEXEC)?;
    let mut file = std::fs::File::from(fd);
    std::io::Write::write_all(&mut file, volfile)?;
    Ok(file)
}

impl Drop for Volume {
    fn drop(&mut self) {
        let fs = Fs(self.fs.0);
        let name = std::mem::take(&mut self.name);
        let delay = self.name_changes.fini_delay();
        let fini = move || {
            let fs = fs;
            std::thread::sleep(delay);
            // SAFETY: this Volume owned the glfs_t and is gone; no GlfsFile refers to
            // it (each holds an Arc<Volume>), so nothing else can use the pointer.
            unsafe { sys::glfs_fini(fs.0.as_ptr()) };
            tracing::debug!(volume = %name, "gfapi connection finished");
        };
        // glfs_fini takes seconds (and, after an unlink or rename, waits first for
        // the shard translator, see shard_quiet): never on the caller's thread. If no thread can be
        // started, the connection is leaked rather than blocking the data path.
        if let Err(e) = std::thread::Builder::new()
            .name("glfs-fini".into())
            .spawn(fini)
        {
            tracing::warn!("gfapi connection leaked, no thread for glfs_fini: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::volfile_memfd;
    use std::io::Read;

    /// gfapi given an empty volfile fails its init with a bare EIO and a parser error in
    /// its own log; an empty one is refused by name before gfapi sees it.
    #[test]
    fn an_empty_volfile_is_refused_and_a_real_one_is_readable_by_path() {
        let e = volfile_memfd(b"").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        assert!(e.to_string().contains("empty volfile"));
        let file = volfile_memfd(b"volume v\nend-volume\n").unwrap();
        let path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&file));
        let mut text = String::new();
        std::fs::File::open(path)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "volume v\nend-volume\n");
    }
}
