//! One gfapi connection to a volume (`glfs_t`): either a watch's, which fetches the
//! volfile from glusterd, or one built from a watch's volfile, which files are opened
//! on. Connected under a deadline, finished on a background thread.

use super::watch::Watch;
use super::{GlfsError, cstring, last_errno, sys};
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::Duration;

/// A volfile server: host name or address, and the glusterd port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Server {
    pub host: String,
    pub port: u16,
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// How connections are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// How long a caller waits for `glfs_init` before its open fails; the attempt goes
    /// on in the background and the next connect to the volume waits on it.
    pub deadline: Duration,
    /// gfapi's own log (`glfs_set_logging`); its directory is created if missing.
    pub log_file: PathBuf,
    /// gfapi log level (gluster's scale: 4 error, 5 warning, 7 info, 8 debug).
    pub log_level: i32,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(30),
            log_file: "/var/log/gluster-tcmu/gfapi.log".into(),
            log_level: 7,
        }
    }
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
    servers: Vec<Server>,
    /// Where the graph came from, for a connection built from a watch's volfile.
    feed: Option<Feed>,
}

/// The watch a connection's volfile came from, and that volfile's generation.
struct Feed {
    watch: Arc<Watch>,
    generation: u64,
}

// SAFETY: gfapi allows concurrent calls on one glfs_t from any thread; Volume exposes
// no interior state besides the pointer and immutable strings.
unsafe impl Sync for Volume {}

impl fmt::Debug for Volume {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Volume")
            .field("name", &self.name)
            .field("servers", &self.servers)
            .finish_non_exhaustive()
    }
}

/// Servers as a human-readable list for messages.
pub(super) fn server_list(servers: &[Server]) -> String {
    let names: Vec<String> = servers.iter().map(Server::to_string).collect();
    names.join(", ")
}

impl Volume {
    /// `glfs_new` .. `glfs_init` with the volfile fetched from `servers` (tried in
    /// order), blocking for as long as gfapi takes. Such a connection follows the
    /// volume's changes: it is the [`Watch`], never the one files are opened on.
    pub(super) fn connect_blocking(
        volume: &str,
        servers: &[Server],
        opts: &ConnectOptions,
    ) -> Result<Volume, GlfsError> {
        let tcp = cstring("transport", "tcp")?;
        let hosts = servers
            .iter()
            .map(|s| Ok((cstring("server", &s.host)?, s.port)))
            .collect::<Result<Vec<_>, GlfsError>>()?;
        Self::init_blocking(volume, servers, opts, None, |vol| {
            for (host, port) in &hosts {
                // SAFETY: fs is a live glfs_t from glfs_new; the strings outlive the call.
                let rc = unsafe {
                    sys::glfs_set_volfile_server(
                        vol.raw(),
                        tcp.as_ptr(),
                        host.as_ptr(),
                        i32::from(*port),
                    )
                };
                if rc != 0 {
                    return Err(io::Error::from_raw_os_error(last_errno()));
                }
            }
            Ok(())
        })
    }

    /// `glfs_new` .. `glfs_init` with the graph built from the watch's current volfile.
    ///
    /// Files are opened on connections like this one because gfapi never switches
    /// their graph: a graph switch under asynchronous I/O makes gfapi 10 release the
    /// new graph's fd once for every request in flight on the old one (its
    /// `glfs_io_async_cbk` unrefs `glfd->fd` rather than the fd the request was wound
    /// on; gluster/glusterfs#4799), and the freed fd crashes the process or sends
    /// later requests to whatever reuses its memory. A volfile change instead moves
    /// each LUN to a new connection ([`Volume::is_stale`]).
    pub(super) fn from_watch(
        watch: Arc<Watch>,
        opts: &ConnectOptions,
    ) -> Result<Volume, GlfsError> {
        let (generation, volfile) = watch.current();
        let conn = watch.connection();
        let (volume, servers) = (conn.name().to_owned(), conn.servers().to_vec());
        let memfd =
            rustix::fs::memfd_create("gluster-tcmu-volfile", rustix::fs::MemfdFlags::CLOEXEC)
                .map_err(io::Error::from)
                .and_then(|fd| {
                    let mut file = std::fs::File::from(fd);
                    std::io::Write::write_all(&mut file, &volfile)?;
                    Ok(file)
                })
                .map_err(|source| GlfsError::Init {
                    volume: volume.clone(),
                    servers: server_list(&servers),
                    source,
                })?;
        let path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&memfd));
        let c_path = cstring("volfile path", &path)?;
        let feed = Feed { watch, generation };
        // The memfd stays open until glfs_init has read it.
        Self::init_blocking(&volume, &servers, opts, Some(feed), |vol| {
            // SAFETY: fs is a live glfs_t from glfs_new; c_path outlives the call.
            if unsafe { sys::glfs_set_volfile(vol.raw(), c_path.as_ptr()) } != 0 {
                return Err(io::Error::from_raw_os_error(last_errno()));
            }
            Ok(())
        })
    }

    /// The steps both kinds of connection share; `source` says where the volfile
    /// comes from.
    fn init_blocking(
        volume: &str,
        servers: &[Server],
        opts: &ConnectOptions,
        feed: Option<Feed>,
        source: impl FnOnce(&Volume) -> io::Result<()>,
    ) -> Result<Volume, GlfsError> {
        let c_volume = cstring("volume name", volume)?;
        // SAFETY: c_volume is a valid NUL-terminated string for the call's duration.
        let fs = unsafe { sys::glfs_new(c_volume.as_ptr()) };
        let fs = NonNull::new(fs).ok_or_else(|| GlfsError::New {
            volume: volume.to_owned(),
            source: io::Error::from_raw_os_error(last_errno()),
        })?;
        // From here on, dropping `vol` finishes the glfs_t.
        let vol = Volume {
            fs: Fs(fs),
            name: volume.to_owned(),
            servers: servers.to_vec(),
            feed,
        };
        let init_err = |source| GlfsError::Init {
            volume: volume.to_owned(),
            servers: server_list(servers),
            source,
        };
        source(&vol).map_err(init_err)?;
        vol.set_logging(opts);
        vol.bypass_client_io_threads().map_err(init_err)?;
        // SAFETY: fs is a live, configured glfs_t; glfs_init is called once.
        if unsafe { sys::glfs_init(vol.raw()) } != 0 {
            return Err(init_err(io::Error::from_raw_os_error(last_errno())));
        }
        Ok(vol)
    }

    /// The volfile this connection runs (as gfapi last received it), or `None` when
    /// gfapi has none or it kept changing while being read.
    ///
    /// gfapi copies as many bytes as it is asked for, so the copy asks for exactly the
    /// size it was just told, and is kept only if the size is still the same after it.
    /// A volfile that shrank in the microseconds between the two calls makes gfapi read
    /// past its own buffer once (its API's flaw); volfiles change seconds apart.
    pub(super) fn volfile(&self) -> Option<Vec<u8>> {
        for _ in 0..3 {
            let size = self.volfile_size()?;
            let mut buf = vec![0u8; size];
            // SAFETY: buf has exactly `size` writable bytes, and gfapi writes at most
            // `len` = `size` bytes into it.
            let got = unsafe { sys::glfs_get_volfile(self.raw(), buf.as_mut_ptr().cast(), size) };
            if usize::try_from(got).ok() == Some(size) && self.volfile_size() == Some(size) {
                return Some(buf);
            }
        }
        None
    }

    /// The volfile's size (`None`: no volfile yet).
    fn volfile_size(&self) -> Option<usize> {
        // SAFETY: fs is a live glfs_t; with len 0 gfapi copies nothing and returns
        // minus the volfile's size.
        let size = unsafe { sys::glfs_get_volfile(self.raw(), std::ptr::null_mut(), 0) };
        usize::try_from(size.checked_neg()?).ok().filter(|&n| n > 0)
    }

    /// Whether the volume's volfile changed since this connection was built: its LUNs
    /// should move to a new one. Always false for a watch.
    pub fn is_stale(&self) -> bool {
        self.feed
            .as_ref()
            .is_some_and(|f| f.watch.generation() != f.generation)
    }

    /// The generation of the volfile this connection was built from (none for a watch).
    pub fn generation(&self) -> Option<u64> {
        self.feed.as_ref().map(|f| f.generation)
    }

    /// The watch this connection was built from (none for a watch itself).
    pub(super) fn watch(&self) -> Option<&Arc<Watch>> {
        self.feed.as_ref().map(|f| &f.watch)
    }

    /// Points gfapi's log at `opts.log_file`, or at /dev/null if its directory cannot
    /// be made (a missing log must not stop a LUN from opening).
    fn set_logging(&self, opts: &ConnectOptions) {
        let dir_ok = opts
            .log_file
            .parent()
            .is_none_or(|d| std::fs::create_dir_all(d).is_ok());
        let path = if dir_ok {
            opts.log_file.to_string_lossy().into_owned()
        } else {
            "/dev/null".to_owned()
        };
        let Ok(c_path) = cstring("log file", &path) else {
            return;
        };
        // SAFETY: fs is a live glfs_t; c_path outlives the call.
        let rc = unsafe { sys::glfs_set_logging(self.raw(), c_path.as_ptr(), opts.log_level) };
        if rc != 0 {
            tracing::warn!(volume = %self.name, "gfapi logging to {path} not set up");
        }
    }

    /// Makes the client-side io-threads translator pass every call straight through.
    ///
    /// Volumes with `performance.client-io-threads on` (the gluster-block profile) put it
    /// in the client graph, where it queues each call for a pool thread that winds it on.
    /// That serves a caller which would block; the reactor only makes asynchronous calls,
    /// whose wind path does not wait (the network send is non-blocking), so the queue
    /// adds a thread hand-off per request and nothing else (in the guest it cost 128 KiB
    /// reads about a sixth of their rate: docs/BENCHMARKS.md). A pattern that matches no
    /// translator (io-threads off) is ignored.
    fn bypass_client_io_threads(&self) -> io::Result<()> {
        let (xlator, key, value) = (c"*-io-threads", c"pass-through", c"on");
        // SAFETY: fs is a live glfs_t not yet initialised; the strings are static (gfapi
        // copies them anyway).
        let rc = unsafe {
            sys::glfs_set_xlator_option(self.raw(), xlator.as_ptr(), key.as_ptr(), value.as_ptr())
        };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(last_errno()));
        }
        Ok(())
    }

    /// The raw connection, for the sibling modules' gfapi calls.
    pub(super) fn raw(&self) -> *mut sys::glfs_t {
        self.fs.0.as_ptr()
    }

    /// Volume name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Volfile servers, in the order they are tried.
    pub fn servers(&self) -> &[Server] {
        &self.servers
    }
}

impl Drop for Volume {
    fn drop(&mut self) {
        let fs = Fs(self.fs.0);
        let name = std::mem::take(&mut self.name);
        let fini = move || {
            let fs = fs;
            // SAFETY: this Volume owned the glfs_t and is gone; no GlfsFile refers to
            // it (each holds an Arc<Volume>), so nothing else can use the pointer.
            unsafe { sys::glfs_fini(fs.0.as_ptr()) };
            tracing::debug!(volume = %name, "gfapi connection finished");
        };
        // glfs_fini takes ~10 s: never on the caller's thread. If no thread can be
        // started, the connection is leaked rather than blocking the data path.
        if let Err(e) = std::thread::Builder::new()
            .name("glfs-fini".into())
            .spawn(fini)
        {
            tracing::warn!("gfapi connection leaked, no thread for glfs_fini: {e}");
        }
    }
}
