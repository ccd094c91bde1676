//! `gluster-tcmu`: the daemon and its admin commands.

use clap::{Parser, Subcommand};
use gluster_tcmu::daemon::{self, DaemonOptions, control, open::OpenDefaults, open::Roots};
use gluster_tcmu::gateway::{self, GatewayOptions};
use gluster_tcmu::reactor::ReactorOptions;
use gluster_tcmu::settings::{Layer, Sources};
use std::path::PathBuf;
use std::process::ExitCode;

/// Default path of the socket `gluster-tcmu list` asks.
const CONTROL_SOCKET: &str = "/run/gluster-tcmu/control.sock";

/// Serves LIO TCM-User (`user:glfs`, `user:file`, `user:ram`) LUNs: the kernel hands every
/// SCSI command of such a LUN to this daemon, which answers it from a file on a GlusterFS
/// volume, a local file, or RAM. Create LUNs with targetcli, e.g.
///   targetcli /backstores/user:file create disk1 10G /var/lib/luns/disk1.img
#[derive(Debug, Parser)]
#[command(name = "gluster-tcmu", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Run the daemon (as systemd does): take over existing LUNs, then serve new ones.
    Run {
        /// Settings file (TOML); default /etc/gluster-tcmu/gluster-tcmu.toml if present.
        /// tcmu-runner's /etc/tcmu/tcmu.conf (log_level, log_dir) is read first.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Reactor threads serving I/O (default: number of CPUs, at most 8).
        #[arg(long)]
        reactor_threads: Option<std::num::NonZeroUsize>,
        /// Microseconds a reactor keeps looking for new commands after a busy turn
        /// before it sleeps (0-10000; default 0: never spin). Lowers queue-depth-1
        /// latency at the price of a busy core while I/O flows.
        #[arg(long, value_parser = parse_micros::<gluster_tcmu::settings::BusyPollUs>)]
        busy_poll_us: Option<gluster_tcmu::settings::BusyPollUs>,
        /// Microseconds a reactor waits for the rest of a batch of small reads and
        /// writes to files in memory (tmpfs), which io_uring's worker threads complete
        /// one by one, so that the batch is answered with one doorbell (0-1000; default
        /// 100; 0: never wait).
        #[arg(long, value_parser = parse_micros::<gluster_tcmu::settings::GatherUs>)]
        gather_us: Option<gluster_tcmu::settings::GatherUs>,
        /// Log level (error, warn, info, debug, trace) or a filter such as
        /// `gluster_tcmu=debug`.
        #[arg(long)]
        log_level: Option<String>,
        /// Open file LUNs with O_DIRECT (1) or through the page cache (0) unless their
        /// config string says otherwise (default 1).
        #[arg(long)]
        direct_io: Option<u8>,
        /// Do not register on the system D-Bus (targetcli will not list user: backstores).
        #[arg(long)]
        no_dbus: bool,
        /// Control socket (answers `gluster-tcmu list`, and `converge` on a gateway).
        #[arg(long, default_value = CONTROL_SOCKET)]
        control_socket: PathBuf,
    },
    /// Check a config string as targetcli's CheckConfig would: `<subtype>/<config>`,
    /// e.g. `file//var/lib/luns/disk1.img` or `glfs/vol@server/dir/disk1.img`.
    CheckConfig {
        /// `<subtype>/<config>`.
        config: String,
        /// Settings file (TOML) whose connection settings (`[glfs] connect_timeout_secs`,
        /// `log_dir`) the check uses, as the daemon's own check does; default as for `run`.
        #[arg(long = "config")]
        settings: Option<PathBuf>,
    },
    /// Block exports: an image on a Gluster volume served as an iSCSI LUN by the gateways
    /// named (create, delete, list, info, resize, manifest).
    Export(gluster_tcmu::export_cli::ExportArgs),
    /// List the LUNs the running daemon serves, with their counters.
    List {
        /// Socket of the running daemon.
        #[arg(long, default_value = CONTROL_SOCKET)]
        control_socket: PathBuf,
    },
}

/// A microsecond setting from the command line, checked as the settings file checks it.
fn parse_micros<T: TryFrom<u64, Error = String>>(s: &str) -> Result<T, String> {
    let us: u64 = s.parse().map_err(|e| format!("{s}: {e}"))?;
    us.try_into()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.action {
        Action::Run {
            config,
            reactor_threads,
            busy_poll_us,
            gather_us,
            log_level,
            direct_io,
            no_dbus,
            control_socket,
        } => {
            let mut overrides = Layer::default();
            overrides.reactor.threads = reactor_threads;
            overrides.reactor.busy_poll_us = busy_poll_us;
            overrides.reactor.gather_us = gather_us;
            overrides.file.direct_io = direct_io.map(|d| d != 0);
            let Some(loaded) = load_settings(config, &overrides) else {
                return ExitCode::FAILURE;
            };
            if let Err(e) = gluster_tcmu::logging::init(&loaded.settings.log, log_level.as_deref())
            {
                eprintln!("gluster-tcmu: cannot set up logging: {e}");
                return ExitCode::FAILURE;
            }
            loaded.warnings.iter().for_each(|w| tracing::warn!("{w}"));
            let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
            let opts = DaemonOptions {
                reactor_threads: loaded.settings.reactor.effective_threads(cpus),
                reactor: ReactorOptions {
                    busy_poll: loaded.settings.reactor.busy_poll,
                    gather: loaded.settings.reactor.gather,
                },
                roots: Roots::default(),
                defaults: OpenDefaults::from(&loaded.settings),
                control_socket,
                dbus: !no_dbus,
                metrics: loaded.settings.metrics.listen,
                gateway: loaded
                    .settings
                    .exports
                    .clone()
                    .map(|settings| GatewayOptions {
                        settings,
                        opener: gateway_store_opener(&loaded.settings),
                    }),
            };
            match daemon::run(opts) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{}", gluster_tcmu::error_text::admin_message(&e));
                    ExitCode::FAILURE
                }
            }
        }
        Action::CheckConfig { config, settings } => {
            match load_settings(settings, &Layer::default()) {
                Some(loaded) => check_config(&config, &OpenDefaults::from(&loaded.settings)),
                None => ExitCode::FAILURE,
            }
        }
        Action::Export(args) => match load_settings(args.config(), &Layer::default()) {
            Some(loaded) => gluster_tcmu::export_cli::run(args, &loaded.settings),
            None => ExitCode::FAILURE,
        },
        Action::List { control_socket } => match control::request(&control_socket, control::LIST) {
            Ok(lines) => {
                lines.iter().for_each(|l| println!("{l}"));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!(
                    "cannot reach the daemon at {}: {e}",
                    control_socket.display()
                );
                ExitCode::FAILURE
            }
        },
    }
}

/// The settings from `path` (required when given; else the default files if present) and
/// the command line's `overrides`; `None` after printing why they cannot be used.
fn load_settings(
    path: Option<PathBuf>,
    overrides: &Layer,
) -> Option<gluster_tcmu::settings::Loaded> {
    let sources = match path {
        Some(path) => Sources {
            ours: path,
            ours_required: true,
            ..Sources::default()
        },
        None => Sources::default(),
    };
    match gluster_tcmu::settings::load(&sources, overrides) {
        Ok(l) => Some(l),
        Err(e) => {
            eprintln!(
                "gluster-tcmu: {}",
                gluster_tcmu::error_text::admin_message(&e)
            );
            None
        }
    }
}

fn check_config(dev_config: &str, defaults: &OpenDefaults) -> ExitCode {
    // The same checks as D-Bus CheckConfig: parsing and local checks, then the backing.
    let outcome = gluster_tcmu::cfgstring::split_subtype(dev_config)
        .and_then(|(subtype, _)| gluster_tcmu::control::dbus::validate(subtype, dev_config))
        .map_err(|e| e.to_string())
        .and_then(|cfg| gluster_tcmu::daemon::service::check_backing(&cfg, defaults, false));
    match outcome {
        Ok(found) => {
            println!("valid: {found}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("invalid: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Where the gateway reaches its volumes' export records.
#[cfg(feature = "glfs")]
fn gateway_store_opener(
    settings: &gluster_tcmu::settings::Settings,
) -> std::sync::Arc<dyn gluster_tcmu::export::StoreOpener> {
    gateway::store_opener(OpenDefaults::from(settings).glfs_connect())
}

/// Where the gateway reaches its volumes' export records.
#[cfg(not(feature = "glfs"))]
fn gateway_store_opener(
    _settings: &gluster_tcmu::settings::Settings,
) -> std::sync::Arc<dyn gluster_tcmu::export::StoreOpener> {
    gateway::store_opener()
}
