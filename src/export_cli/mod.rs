//! `gluster-tcmu export ...`: the command line over [`crate::export::ops`]. Tables for
//! people by default, JSON with `--json`; progress and notes go to stderr, so stdout holds
//! only the answer. Exit codes: 0 done, 1 failed (one line on stderr saying what is wrong
//! and what to do), 2 usage (clap).

pub mod args;
pub mod human;
pub mod json;
mod open;
pub mod poke;

pub use args::{CONTROL_SOCKET, ExportArgs, ExportCommand};

use crate::export::location::{ExportLocation, VolumeAddr};
use crate::export::manifest::{self, ManifestOptions};
use crate::export::name::ExportName;
use crate::export::ops::{
    ChapMode, CreateRequest, ExportRef, Observer, Ops, OpsError, Waits, parse_gateway,
};
use crate::export::store::StoreOpener;
use crate::settings::{Settings, Size};
use args::{Changing, CreateArgs, DeleteArgs, InfoArgs, ListArgs, ManifestArgs, ResizeArgs};
use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Runs an export command with the daemon's `settings`.
pub fn run(args: ExportArgs, settings: &Settings) -> ExitCode {
    init_logging();
    match dispatch(args.command, settings) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("gluster-tcmu: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Warnings of the layers below (gfapi) on stderr; never a record's content.
fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::WARN)
        .without_time()
        .try_init();
}

/// The command's output, or the one line saying why it failed.
fn dispatch(command: ExportCommand, settings: &Settings) -> Result<String, String> {
    let opener = open::KeepOpen::new(open::opener(settings)?);
    let volumes = open::configured_volumes(settings);
    let context = Context {
        opener: &opener,
        volumes: &volumes,
        local_portal: settings.exports.as_ref().map(|e| e.portal),
    };
    let result = context.run(command);
    // The process exits next, which ends its connections. Finishing them first
    // (`glfs_fini`) would race the shard translator's background removal of an image just
    // deleted: gluster 10.3 crashes in it (seen in tests/glfs_backstore.rs, which removes
    // images and then drops their connection), and a delete that succeeded would exit
    // with SIGSEGV. What is left of that removal is resumed by the volume's next client.
    std::mem::forget(opener);
    result
}

impl Context<'_> {
    fn run(&self, command: ExportCommand) -> Result<String, String> {
        match command {
            ExportCommand::Create(a) => self.create(a),
            ExportCommand::Delete(a) => self.delete(a),
            ExportCommand::List(a) => self.list(a),
            ExportCommand::Info(a) => self.info(a),
            ExportCommand::Resize(a) => self.resize(a),
            ExportCommand::Manifest(a) => self.manifest(a),
        }
    }
}

/// An error and its causes on one line, each cause once.
pub fn one_line(e: &dyn Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text.replace('\n', " ")
}

/// Progress on stderr; a change is announced to the local daemon.
struct Console {
    control_socket: PathBuf,
}

impl Observer for Console {
    fn progress(&self, line: &str) {
        eprintln!("{line}");
    }

    fn changed(&self, location: &ExportLocation) {
        let answer = poke::converge(&self.control_socket, poke::CONVERGE_TIMEOUT);
        eprintln!("{}", poke::note(&self.control_socket, &answer, location));
    }

    fn refresh(&self, _location: &ExportLocation) {
        // The answer is the fresh report, which the command reads from the volume next.
        let _ = poke::converge(&self.control_socket, poke::CONVERGE_TIMEOUT);
    }
}

struct Context<'a> {
    opener: &'a dyn StoreOpener,
    volumes: &'a [VolumeAddr],
    /// This host's portal when it is a gateway (`[exports] portal`): the gateway of a
    /// create that names none.
    local_portal: Option<std::net::SocketAddr>,
}

impl Context<'_> {
    fn ops<'o>(&'o self, observer: &'o dyn Observer, wait_secs: u64) -> Ops<'o> {
        let waits = Waits {
            timeout: Duration::from_secs(wait_secs),
            ..Waits::default()
        };
        let ops = Ops::new(self.opener, self.volumes, observer).with_waits(waits);
        test_hook(ops)
    }

    fn create(&self, a: CreateArgs) -> Result<String, String> {
        let location = ExportLocation::parse(&a.location).map_err(|e| one_line(&e))?;
        let mut gateways = a
            .gateways
            .iter()
            .map(|g| parse_gateway(g))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| one_line(&e))?;
        if gateways.is_empty() {
            gateways.extend(self.local_portal);
        }
        let clone_from = a
            .clone_from
            .as_deref()
            .map(ExportName::parse)
            .transpose()
            .map_err(|e| format!("--clone-from: {e}"))?;
        let request = CreateRequest {
            size: parse_size(&a.size)?,
            clone_from,
            prealloc: a.prealloc,
            initiators: a.initiators,
            chap: match (a.chap, a.mutual_chap) {
                (_, true) => ChapMode::Mutual,
                (true, false) => ChapMode::OneWay,
                (false, false) => ChapMode::None,
            },
            hw_max_sectors: a.hw_max_sectors,
            ..CreateRequest::new(location, 0, gateways)
        };
        let console = console(&a.changing);
        let out = self
            .ops(&console, a.changing.wait)
            .create(&request)
            .map_err(failed)?;
        Ok(pick(
            a.common.json,
            || json::create(&out),
            || human::create(&out),
        ))
    }

    fn delete(&self, a: DeleteArgs) -> Result<String, String> {
        let export = parse_ref(&a.export)?;
        let console = console(&a.changing);
        let out = self
            .ops(&console, a.changing.wait)
            .delete(&export, a.force)
            .map_err(failed)?;
        Ok(pick(
            a.common.json,
            || json::delete(&out),
            || human::delete(&out),
        ))
    }

    fn list(&self, a: ListArgs) -> Result<String, String> {
        let volumes = a
            .volumes
            .iter()
            .map(|v| VolumeAddr::parse(v))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| one_line(&e))?;
        let console = console_without_daemon();
        let listings = self.ops(&console, 0).list(&volumes).map_err(failed)?;
        let all_listed = listings.iter().all(|l| l.exports.is_ok());
        let text = if a.common.json {
            json::list(&listings)
        } else {
            let (table, problems) = human::list(&listings);
            problems.iter().for_each(|p| eprintln!("gluster-tcmu: {p}"));
            table
        };
        if !all_listed {
            // The table goes out, and the exit status says it is not complete.
            print!("{text}");
            return Err("some volumes could not be listed (see above)".into());
        }
        Ok(text)
    }

    fn info(&self, a: InfoArgs) -> Result<String, String> {
        let export = parse_ref(&a.export)?;
        let console = console_without_daemon();
        let info = self.ops(&console, 0).info(&export).map_err(failed)?;
        Ok(pick(
            a.common.json,
            || json::info(&info),
            || human::info(&info),
        ))
    }

    fn resize(&self, a: ResizeArgs) -> Result<String, String> {
        let export = parse_ref(&a.export)?;
        let size = parse_size(&a.size)?;
        let console = console(&a.changing);
        let out = self
            .ops(&console, a.changing.wait)
            .resize(&export, size)
            .map_err(failed)?;
        Ok(pick(
            a.common.json,
            || json::resize(&out),
            || human::resize(&out),
        ))
    }

    fn manifest(&self, a: ManifestArgs) -> Result<String, String> {
        let export = parse_ref(&a.export)?;
        let console = console_without_daemon();
        let (_, record) = self.ops(&console, 0).record(&export).map_err(failed)?;
        let opts = ManifestOptions {
            fs_type: a.fs_type,
            namespace: a.namespace,
            secret_name: a.secret_name,
            pv_name: a.pv_name,
        };
        manifest::render(&record, &opts).map_err(|e| one_line(&e))
    }
}

fn console(changing: &Changing) -> Console {
    Console {
        control_socket: changing.control_socket.clone(),
    }
}

/// For commands that change nothing (the daemon is never asked).
fn console_without_daemon() -> Console {
    Console {
        control_socket: PathBuf::new(),
    }
}

fn pick(json: bool, as_json: impl FnOnce() -> String, as_table: impl FnOnce() -> String) -> String {
    if json { as_json() } else { as_table() }
}

fn parse_ref(given: &str) -> Result<ExportRef, String> {
    ExportRef::parse(given).map_err(|e| one_line(&e))
}

fn parse_size(given: &str) -> Result<u64, String> {
    given
        .parse::<Size>()
        .map(Size::bytes)
        .map_err(|e| format!("--size {given}: {e}"))
}

/// The message of a failed command. Under the test hook, a command stopped after a step
/// ends the process with SIGKILL, exactly as a `kill -9` there would.
fn failed(e: OpsError) -> String {
    #[cfg(feature = "test-utils")]
    if matches!(e, OpsError::Stopped(_)) {
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    }
    one_line(&e)
}

/// Test hook (feature `test-utils`): `GLUSTER_TCMU_TEST_STOP_AFTER=<Step>` kills the
/// command right after that step.
#[cfg(feature = "test-utils")]
fn test_hook(ops: Ops<'_>) -> Ops<'_> {
    let step = std::env::var("GLUSTER_TCMU_TEST_STOP_AFTER").ok();
    ops.stop_after(step.and_then(|s| crate::export::ops::Step::named(&s)))
}

#[cfg(not(feature = "test-utils"))]
fn test_hook(ops: Ops<'_>) -> Ops<'_> {
    ops
}

#[cfg(test)]
mod tests;
