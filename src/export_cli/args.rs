//! The arguments of `gluster-tcmu export ...` (clap). Values are taken as text and checked
//! by the commands, so that a bad one is an error of the command (exit 1, one line saying
//! what is wrong) and only a malformed command line is a usage error (exit 2).

use clap::{Args, Subcommand};
use std::path::PathBuf;

/// Default path of the local daemon's control socket.
pub const CONTROL_SOCKET: &str = "/run/gluster-tcmu/control.sock";

/// `gluster-tcmu export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(subcommand)]
    pub command: ExportCommand,
}

/// Block exports: images on Gluster volumes served as iSCSI LUNs by every gateway named.
#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Create an export: its image on the volume and its record, which the gateways serve
    /// within their polling period. Prints the target IQN, the portals, the LUN and the
    /// CHAP credentials. Running it again with the same arguments gives the same export.
    Create(CreateArgs),
    /// Delete an export: the gateways drop it, then its image and record are removed.
    Delete(DeleteArgs),
    /// List the exports of volumes (no CHAP secrets).
    List(ListArgs),
    /// Show one export and each gateway's state (no CHAP secrets).
    Info(InfoArgs),
    /// Grow an export, online.
    Resize(ResizeArgs),
    /// Print a Kubernetes PersistentVolume for an export and its CHAP Secret (YAML).
    Manifest(ManifestArgs),
}

/// Options of every export command.
#[derive(Debug, Args)]
pub struct Common {
    /// Settings file (TOML), for `[glfs] connect_timeout_secs` and `log_dir`; default
    /// /etc/gluster-tcmu/gluster-tcmu.toml if present.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Print JSON (stable field names) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Options of the commands that change an export.
#[derive(Debug, Args)]
pub struct Changing {
    /// Control socket of a local daemon, asked to look at the change at once.
    #[arg(long, default_value = CONTROL_SOCKET)]
    pub control_socket: PathBuf,
    /// Seconds to wait for the gateways that report to act on the change (0: do not wait).
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub wait: u64,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// VOLUME@SERVER[+SERVER...]/NAME.
    pub location: String,
    /// Size: bytes, or with K, M, G, T (KiB, MiB...: powers of 1024); a multiple of 512.
    #[arg(long)]
    pub size: String,
    /// Allocate every block now (else the image is sparse).
    #[arg(long)]
    pub prealloc: bool,
    /// A gateway's portal, IP or IP:PORT (port 3260 if not given); the first is the one
    /// clients try first. Repeat for each gateway. Default: this host's `[exports] portal`.
    #[arg(long = "gateway", value_name = "ADDR")]
    pub gateways: Vec<String>,
    /// An initiator allowed to log in (IQN); repeat for each. Default: any initiator.
    #[arg(long = "initiator", value_name = "IQN")]
    pub initiators: Vec<String>,
    /// Require CHAP of initiators (a user and secret are generated).
    #[arg(long, conflicts_with = "mutual_chap")]
    pub chap: bool,
    /// Require CHAP both ways (initiator and target credentials are generated).
    #[arg(long)]
    pub mutual_chap: bool,
    /// Largest command in 512-byte sectors (1-8192).
    #[arg(long, default_value_t = crate::export::record::DEFAULT_HW_MAX_SECTORS)]
    pub hw_max_sectors: u32,
    /// Start as a copy of the image of export NAME on the same volume (ready, nobody
    /// logged in, no larger than --size). The whole image is read and its data written.
    #[arg(long, value_name = "NAME")]
    pub clone_from: Option<String>,
    #[command(flatten)]
    pub changing: Changing,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// VOLUME@SERVER[+SERVER...]/NAME, or NAME in the configured volumes.
    pub export: String,
    /// Delete even with initiators logged in, or gateways that do not let go in time,
    /// or a record that cannot be read.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub changing: Changing,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Volumes (VOLUME@SERVER[+SERVER...]); default the configured ones.
    pub volumes: Vec<String>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// VOLUME@SERVER[+SERVER...]/NAME, or NAME in the configured volumes.
    pub export: String,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct ResizeArgs {
    /// VOLUME@SERVER[+SERVER...]/NAME, or NAME in the configured volumes.
    pub export: String,
    /// The new size (as for create); exports only grow.
    #[arg(long)]
    pub size: String,
    #[command(flatten)]
    pub changing: Changing,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct ManifestArgs {
    /// VOLUME@SERVER[+SERVER...]/NAME, or NAME in the configured volumes.
    pub export: String,
    /// File system the kubelet makes and mounts.
    #[arg(long, default_value = "ext4")]
    pub fs_type: String,
    /// Namespace of the CHAP Secret.
    #[arg(long, default_value = "default")]
    pub namespace: String,
    /// Name of the CHAP Secret (default NAME-chap).
    #[arg(long)]
    pub secret_name: Option<String>,
    /// Name of the PersistentVolume (default NAME).
    #[arg(long)]
    pub pv_name: Option<String>,
    /// Settings file, as for the other commands.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

impl ExportArgs {
    /// The settings file named on the command line.
    pub fn config(&self) -> Option<PathBuf> {
        match &self.command {
            ExportCommand::Create(a) => a.common.config.clone(),
            ExportCommand::Delete(a) => a.common.config.clone(),
            ExportCommand::List(a) => a.common.config.clone(),
            ExportCommand::Info(a) => a.common.config.clone(),
            ExportCommand::Resize(a) => a.common.config.clone(),
            ExportCommand::Manifest(a) => a.config.clone(),
        }
    }
}
