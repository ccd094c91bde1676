//! Turning a kernel UIO device into a served [`Device`]: read its configfs attributes,
//! parse its config string, open the backstore, map the ring.

#![forbid(unsafe_code)]

use crate::backstore::{Backstore, FileBackstore, FileOptions, RamBackstore};
use crate::cfgstring::{CfgStringError, SubtypeConfig, parse_dev_config};
use crate::control::configfs::{ConfigfsDevice, ConfigfsError};
use crate::control::uio::UioDevice;
use crate::device::{Device, DeviceError};
use crate::doorbell::Doorbell;
use crate::region::{MapError, SharedRegion};
use crate::scsi::{Identity, LunConfig};
use crate::settings::{ClientIoThreads, Settings, WriteCache};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the kernel's files live (overridable so tests can use a fake tree).
#[derive(Debug, Clone)]
pub struct Roots {
    pub sys: PathBuf,
    pub configfs: PathBuf,
    pub dev: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Self {
            sys: "/sys".into(),
            configfs: "/sys/kernel/config".into(),
            dev: "/dev".into(),
        }
    }
}

/// The daemon's settings that shape how LUNs are opened (a config string may override
/// some of them).
#[derive(Debug, Clone)]
pub struct OpenDefaults {
    /// `O_DIRECT` for file LUNs that do not say.
    pub file_direct: bool,
    /// `[ram] max_size`: the largest `user:ram` LUN served.
    pub ram_max_size: u64,
    /// `[glfs] connect_timeout_secs`: how long connecting to a volume may take.
    pub glfs_connect_timeout: Duration,
    /// `[glfs] log_dir`: where libgfapi writes `gfapi.log`.
    pub glfs_log_dir: PathBuf,
    /// `[glfs] cmd_time_out_secs`: the kernel time-out a new glfs LUN gets (0: left alone).
    pub glfs_cmd_time_out: u32,
    /// `[file] write_cache`: the WCE of file LUNs whose config string has no `wce=`.
    pub file_write_cache: WriteCache,
    /// `[glfs] write_cache`: the WCE of glfs LUNs whose config string has no `wce=`.
    pub glfs_write_cache: WriteCache,
    /// `[glfs] client_io_threads`: whether gfapi connections pass the translator by.
    pub glfs_client_io_threads: ClientIoThreads,
}

impl Default for OpenDefaults {
    fn default() -> Self {
        Self::from(&Settings::default())
    }
}

impl From<&Settings> for OpenDefaults {
    fn from(settings: &Settings) -> Self {
        Self {
            file_direct: settings.file.direct_io,
            ram_max_size: settings.ram.max_size.bytes(),
            glfs_connect_timeout: settings.glfs.connect_timeout,
            glfs_log_dir: settings.glfs.log_dir.clone(),
            glfs_cmd_time_out: settings.glfs.cmd_time_out_secs,
            file_write_cache: settings.file.write_cache,
            glfs_write_cache: settings.glfs.write_cache,
            glfs_client_io_threads: settings.glfs.client_io_threads,
        }
    }
}

#[cfg(feature = "glfs")]
impl OpenDefaults {
    /// How `user:glfs` connections are made: the timeout and gfapi's log file.
    pub fn glfs_connect(&self) -> crate::glfs::ConnectOptions {
        crate::glfs::ConnectOptions {
            deadline: self.glfs_connect_timeout,
            log_file: self.glfs_log_dir.join("gfapi.log"),
            bypass_client_io_threads: self.glfs_client_io_threads == ClientIoThreads::Bypass,
            ..crate::glfs::ConnectOptions::default()
        }
    }
}

/// Why a device could not be served; its errno is what the kernel is told.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("configfs")]
    Configfs(#[from] ConfigfsError),
    #[error("config string rejected: {0}")]
    CfgString(#[from] CfgStringError),
    #[error("handler `{0}` is not built into this daemon")]
    HandlerUnavailable(String),
    #[error("cannot open the backing file")]
    File(#[from] crate::backstore::FileOpenError),
    #[cfg(feature = "glfs")]
    #[error("cannot open the Gluster image")]
    Glfs(#[from] crate::backstore::GlfsOpenError),
    #[error("cannot open {path}")]
    Uio {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("ALUA configuration")]
    Alua(#[from] crate::control::configfs::alua::AluaError),
    #[error("cannot map the command ring")]
    Map(#[from] MapError),
    #[error("cannot attach to the command ring")]
    Device(#[from] DeviceError),
    #[error("LUN size {size} is not a multiple of the {block}-byte block size")]
    Size { size: u64, block: u32 },
    #[error(
        "a user:ram LUN of {size} bytes is larger than the daemon's [ram] max_size ({max} bytes)"
    )]
    RamTooLarge { size: u64, max: u64 },
}

impl OpenError {
    /// The negative errno the kernel gets in the ADDED_DEVICE_DONE reply.
    pub fn errno(&self) -> i32 {
        let e = match self {
            OpenError::CfgString(_) | OpenError::Size { .. } | OpenError::Alua(_) => libc::EINVAL,
            OpenError::RamTooLarge { .. } => libc::EFBIG,
            OpenError::HandlerUnavailable(_) => libc::EOPNOTSUPP,
            OpenError::File(crate::backstore::FileOpenError::Open { source, .. })
            | OpenError::Uio { source, .. } => source.raw_os_error().unwrap_or(libc::EIO),
            #[cfg(feature = "glfs")]
            OpenError::Glfs(e) => e.errno(),
            _ => libc::EIO,
        };
        -e
    }
}

/// Why a device is being opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    /// The kernel announced a new device (an admin created it): a backend that cannot
    /// be reached fails the open, and targetcli reports why.
    Added,
    /// A device a previous daemon served (restart recovery): a Gluster volume that
    /// cannot be reached leaves the LUN reconnecting, answering BUSY, rather than
    /// leaving its initiators with a device nobody serves.
    Recovered,
}

/// Opens the UIO device and everything behind it.
pub fn open_device(
    roots: &Roots,
    uio: &UioDevice,
    defaults: &OpenDefaults,
    opening: Opening,
) -> Result<Device, OpenError> {
    let cfs = ConfigfsDevice::locate(&roots.configfs, &uio.name)?;
    let size = cfs.info()?.size;
    let block = cfs.hw_block_size()?;
    if block == 0 || size % u64::from(block) != 0 || size == 0 {
        return Err(OpenError::Size { size, block });
    }
    let subtype_config = parse_dev_config(&format!("{}/{}", uio.name.subtype, uio.name.config))?;
    if matches!(subtype_config, SubtypeConfig::Glfs(_)) {
        let added = opening == Opening::Added;
        super::time_out::review(&cfs, &uio.name, defaults.glfs_cmd_time_out, added);
    }
    let identity = read_identity(cfs.dir());
    let serial = identity
        .as_ref()
        .map_or(uio.name.device.as_str(), |id| id.serial.as_str());
    let mut lun = LunConfig::new(block, size / u64::from(block), serial);
    lun.max_transfer_blocks = cfs.hw_max_sectors()?.max(1);
    lun.write_cache = cfs.emulate_write_cache()?;
    if let Some(id) = identity {
        (lun.vendor, lun.product, lun.revision) = (id.vendor, id.product, id.revision);
    }
    lun.alua = read_alua(&cfs, &uio.name.device)?;
    let backstore = open_backstore(&subtype_config, size, defaults, &mut lun, opening)?;
    let caps = backstore.capabilities();
    // UNMAP and GET LBA STATUS are offered only where blocks can really be deallocated.
    lun.thin = caps.discard;
    lun.unmapped_read_zeroes = caps.discard && caps.discard_zeroes;
    let path = roots.dev.join(format!("uio{}", uio.index));
    let fd = open_uio(&path).map_err(|source| OpenError::Uio {
        path: path.clone(),
        source,
    })?;
    let region = SharedRegion::map(&fd, uio.map_size as usize)?;
    let mut device = Device::new(
        uio.name.to_string(),
        region,
        Doorbell::Uio(fd),
        lun,
        backstore,
    )?;
    if device.enable_ha() {
        tracing::info!(device = %uio.name, "HA LUN: its ALUA state follows the image lock");
    }
    let late_after = subtype_config.tcmur_options().cmd_time_out;
    device.set_late_after(late_after.map(|secs| std::time::Duration::from_secs(secs.into())));
    Ok(device)
}

fn open_backstore(
    subtype_config: &SubtypeConfig,
    size: u64,
    defaults: &OpenDefaults,
    lun: &mut LunConfig,
    // Only a glfs LUN opens differently when recovered.
    #[cfg_attr(not(feature = "glfs"), allow(unused_variables))] opening: Opening,
) -> Result<Box<dyn Backstore>, OpenError> {
    match subtype_config {
        SubtypeConfig::Ram(cfg) => {
            if size > defaults.ram_max_size {
                return Err(OpenError::RamTooLarge {
                    size,
                    max: defaults.ram_max_size,
                });
            }
            lun.write_cache = cfg.write_cache.unwrap_or(lun.write_cache);
            Ok(Box::new(RamBackstore::new(size)))
        }
        SubtypeConfig::File(cfg) => {
            let policy = defaults.file_write_cache.reports_cache(lun.write_cache);
            lun.write_cache = cfg.write_cache.unwrap_or(policy);
            lun.read_only = cfg.read_only;
            let mut opts = FileOptions {
                direct: cfg.direct.unwrap_or(defaults.file_direct),
                read_only: cfg.read_only,
                ..FileOptions::default()
            };
            match FileBackstore::open(&cfg.path, size, &opts) {
                // The daemon-wide default asked for O_DIRECT and the filesystem (tmpfs,
                // some FUSE mounts) refuses it: serve through the page cache instead.
                // Durability does not change: flushes and FUA still reach the disk.
                Err(e) if cfg.direct.is_none() && opts.direct && is_einval(&e) => {
                    tracing::warn!(path = %cfg.path.display(), "O_DIRECT not supported here; using the page cache");
                    opts.direct = false;
                    Ok(Box::new(FileBackstore::open(&cfg.path, size, &opts)?))
                }
                other => Ok(Box::new(other?)),
            }
        }
        #[cfg(feature = "glfs")]
        SubtypeConfig::Glfs(cfg) => {
            let policy = defaults.glfs_write_cache.reports_cache(lun.write_cache);
            lun.write_cache = cfg.write_cache.unwrap_or(policy);
            // A glfs LUN with target port groups is an HA LUN: its ALUA state comes
            // from the image lock (docs/HA.md, "Port groups from configfs").
            let opts = crate::backstore::GlfsOptions {
                connect: defaults.glfs_connect(),
                image_lock: lun.alua.is_some(),
                ..crate::backstore::GlfsOptions::default()
            };
            use crate::backstore::GlfsBackstore;
            let lun = match opening {
                Opening::Added => GlfsBackstore::open(cfg, size, &opts),
                Opening::Recovered => {
                    let key = crate::glfs::VolumeKey::from(cfg);
                    GlfsBackstore::open_or_reconnect_at(key, &cfg.path, size, &opts)
                }
            };
            Ok(Box::new(lun?))
        }
        #[cfg(not(feature = "glfs"))]
        SubtypeConfig::Glfs(_) => Err(OpenError::HandlerUnavailable("glfs".into())),
    }
}

/// The LUN's target port groups from configfs, `None` when this gateway's ports are
/// in no group but the kernel's default one (docs/HA.md, "Port groups from configfs").
fn read_alua(
    cfs: &ConfigfsDevice,
    device: &str,
) -> Result<Option<crate::scsi::alua::LunAlua>, OpenError> {
    let groups = cfs.alua_groups()?;
    let alua = crate::control::configfs::alua::lun_alua(&groups)?;
    if let Some(a) = &alua {
        let local = groups.iter().find(|g| g.id == Some(a.receiving_port));
        if local.is_some_and(|g| !g.access_type.allows_implicit()) {
            tracing::warn!(
                device,
                "the LUN's target port group does not allow implicit ALUA; reporting it anyway"
            );
        }
        tracing::info!(
            device,
            port = a.receiving_port,
            "target port groups from configfs"
        );
    }
    Ok(alua)
}

fn is_einval(e: &crate::backstore::FileOpenError) -> bool {
    matches!(e, crate::backstore::FileOpenError::Open { source, .. } if source.raw_os_error() == Some(libc::EINVAL))
}

fn open_uio(path: &Path) -> std::io::Result<std::os::fd::OwnedFd> {
    use rustix::fs::{Mode, OFlags, open};
    open(
        path,
        OFlags::RDWR | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(Into::into)
}

/// The identity LIO keeps for the device under `wwn/` (`vendor_id`, `product_id`,
/// `revision`, `vpd_unit_serial`), so the LUN identifies itself exactly as an in-kernel
/// backstore would (multipath's tables match on `LIO-ORG`). `None` while the serial is
/// still empty: rtslib writes `wwn/` only after enabling the device, i.e. after
/// ADDED_DEVICE was answered.
pub fn read_identity(dir: &Path) -> Option<Identity> {
    let read = |name: &str, max: usize| {
        let text = std::fs::read_to_string(dir.join("wwn").join(name)).ok()?;
        let text = text
            .rsplit(':')
            .next()
            .filter(|_| name == "vpd_unit_serial")
            .unwrap_or(&text);
        let value: String = text
            .trim()
            .chars()
            .filter(|c| c.is_ascii_graphic() || *c == ' ')
            .take(max)
            .collect();
        (!value.is_empty()).then_some(value)
    };
    Some(Identity {
        serial: read("vpd_unit_serial", 200)?,
        vendor: read("vendor_id", 8).unwrap_or_else(|| "LIO-ORG".into()),
        product: read("product_id", 16).unwrap_or_else(|| "TCMU device".into()),
        revision: read("revision", 4).unwrap_or_else(|| "0001".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_waits_for_the_serial_and_defaults_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let wwn = dir.path().join("wwn");
        std::fs::create_dir(&wwn).unwrap();
        std::fs::write(
            wwn.join("vpd_unit_serial"),
            "T10 VPD Unit Serial Number: \n",
        )
        .unwrap();
        assert_eq!(
            read_identity(dir.path()),
            None,
            "empty serial: rtslib has not written wwn/ yet"
        );
        std::fs::write(
            wwn.join("vpd_unit_serial"),
            "T10 VPD Unit Serial Number: 5a1e-77\n",
        )
        .unwrap();
        std::fs::write(wwn.join("product_id"), "disk1\n").unwrap();
        let id = read_identity(dir.path()).unwrap();
        assert_eq!(id.serial, "5a1e-77");
        assert_eq!(id.product, "disk1");
        assert_eq!(id.vendor, "LIO-ORG");
        std::fs::write(wwn.join("product_id"), "a-very-long-product-name\n").unwrap();
        assert_eq!(
            read_identity(dir.path()).unwrap().product,
            "a-very-long-prod"
        );
    }

    #[test]
    fn the_daemon_settings_reach_the_open() {
        let mut settings = Settings::default();
        settings.file.direct_io = false;
        settings.ram.max_size = crate::settings::Size::gib(1);
        settings.glfs.connect_timeout = Duration::from_secs(3);
        settings.glfs.log_dir = "/srv/log/glfs".into();
        let defaults = OpenDefaults::from(&settings);
        assert!(!defaults.file_direct);
        assert_eq!(defaults.ram_max_size, 1 << 30);
        #[cfg(feature = "glfs")]
        {
            let connect = defaults.glfs_connect();
            assert_eq!(connect.deadline, Duration::from_secs(3));
            assert_eq!(connect.log_file, PathBuf::from("/srv/log/glfs/gfapi.log"));
        }
    }

    /// `lun.write_cache` holds the attribute when open_backstore runs; the config
    /// string's `wce=` beats the `[file] write_cache` policy, which beats the attribute.
    #[test]
    fn a_file_luns_write_cache_comes_from_wce_then_the_policy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lun.img");
        let wce_of = |cfg: &str, policy: WriteCache, attribute: bool| {
            let defaults = OpenDefaults {
                file_write_cache: policy,
                ..OpenDefaults::default()
            };
            let config = parse_dev_config(&format!("file/{}{cfg}", path.display())).unwrap();
            let mut lun = LunConfig::new(512, 2048, "s");
            lun.write_cache = attribute;
            open_backstore(&config, 1 << 20, &defaults, &mut lun, Opening::Added).unwrap();
            lun.write_cache
        };
        assert!(
            wce_of("", WriteCache::On, false),
            "the default reports a cache"
        );
        assert!(!wce_of("", WriteCache::Off, true));
        assert!(!wce_of("", WriteCache::Attribute, false));
        assert!(wce_of("", WriteCache::Attribute, true));
        assert!(!wce_of(";wce=0", WriteCache::On, true));
        assert!(wce_of(";wce=1", WriteCache::Off, false));
    }

    #[test]
    fn a_ram_lun_above_max_size_is_refused() {
        let defaults = OpenDefaults {
            ram_max_size: 1 << 20,
            ..OpenDefaults::default()
        };
        let ram = parse_dev_config("ram/").unwrap();
        let mut lun = LunConfig::new(512, 2048, "s");
        assert!(open_backstore(&ram, 1 << 20, &defaults, &mut lun, Opening::Added).is_ok());
        let Err(e) = open_backstore(&ram, (1 << 20) + 512, &defaults, &mut lun, Opening::Added)
        else {
            panic!("a LUN above max_size was opened");
        };
        assert_eq!(e.errno(), -libc::EFBIG);
        assert_eq!(
            e.to_string(),
            "a user:ram LUN of 1049088 bytes is larger than the daemon's [ram] max_size (1048576 bytes)"
        );
    }
}
