//! One gfapi connection to a volume (`glfs_t`): connected under a deadline, finished on
//! a background thread.

use super::{GlfsError, cstring, last_errno, sys};
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::ptr::NonNull;
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
    /// `glfs_new` .. `glfs_init`, trying `servers` in order, blocking for as long as
    /// gfapi takes: the registry runs it on a helper thread and waits with a deadline
    /// (`super::attempt`).
    pub(super) fn connect_blocking(
        volume: &str,
        servers: &[Server],
        opts: &ConnectOptions,
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
        };
        let init_err = |source| GlfsError::Init {
            volume: volume.to_owned(),
            servers: server_list(servers),
            source,
        };
        let tcp = cstring("transport", "tcp")?;
        for server in servers {
            let host = cstring("server", &server.host)?;
            // SAFETY: fs is a live glfs_t from glfs_new; the strings outlive the call.
            let rc = unsafe {
                sys::glfs_set_volfile_server(
                    vol.raw(),
                    tcp.as_ptr(),
                    host.as_ptr(),
                    i32::from(server.port),
                )
            };
            if rc != 0 {
                return Err(init_err(io::Error::from_raw_os_error(last_errno())));
            }
        }
        vol.set_logging(opts);
        vol.bypass_client_io_threads().map_err(init_err)?;
        // SAFETY: fs is a live, configured glfs_t; glfs_init is called once.
        if unsafe { sys::glfs_init(vol.raw()) } != 0 {
            return Err(init_err(io::Error::from_raw_os_error(last_errno())));
        }
        Ok(vol)
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
