//! Log setup: stderr (which journald captures), journald-style priority prefixes, or a
//! file in the log directory that SIGHUP reopens (for logrotate).

#![forbid(unsafe_code)]

use crate::settings::{LogLevel, LogSettings, LogTarget};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tracing_subscriber::fmt::MakeWriter;

/// A log file reopened at the next line after SIGHUP.
#[derive(Debug, Clone)]
pub struct ReopeningFile {
    path: PathBuf,
    file: Arc<Mutex<File>>,
    reopen: Arc<AtomicBool>,
}

impl ReopeningFile {
    fn open(path: PathBuf) -> io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let reopen = Arc::new(AtomicBool::new(false));
        signal_hook::flag::register(signal_hook::consts::SIGHUP, reopen.clone())?;
        Ok(Self {
            path,
            file: Arc::new(Mutex::new(file)),
            reopen,
        })
    }
}

impl Write for &ReopeningFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if self.reopen.swap(false, Ordering::Relaxed) {
            if let Ok(f) = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
            {
                *file = f;
            }
        }
        file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.lock().unwrap_or_else(|p| p.into_inner()).flush()
    }
}

impl<'a> MakeWriter<'a> for ReopeningFile {
    type Writer = &'a ReopeningFile;
    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

fn filter(level: LogLevel, spec: Option<&str>) -> tracing_subscriber::EnvFilter {
    let name = match level {
        LogLevel::Error => "error",
        LogLevel::Warn => "warn",
        LogLevel::Info => "info",
        LogLevel::Debug => "debug",
        LogLevel::Trace => "trace",
    };
    tracing_subscriber::EnvFilter::new(spec.unwrap_or(name))
}

/// Installs the global subscriber. `spec` (an `EnvFilter` string) overrides the level.
pub fn init(cfg: &LogSettings, spec: Option<&str>) -> io::Result<()> {
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt().with_env_filter(filter(cfg.level, spec));
    let journald = matches!(cfg.target, LogTarget::Journald)
        || (matches!(cfg.target, LogTarget::Auto) && std::env::var_os("JOURNAL_STREAM").is_some());
    match cfg.target {
        LogTarget::File => {
            let writer = ReopeningFile::open(cfg.dir.join("gluster-tcmu.log"))?;
            builder.with_ansi(false).with_writer(writer).init();
        }
        _ if journald => builder
            .with_ansi(false)
            .without_time()
            .with_writer(io::stderr)
            .init(),
        _ => builder
            .with_ansi(io::stderr().is_terminal())
            .with_writer(io::stderr)
            .init(),
    }
    Ok(())
}
