//! What the node service asks of its machine, behind one small trait: the commands it
//! runs (iscsiadm, multipath, blkid, mkfs, mount, resize) and the few files it reads
//! (sysfs, mountinfo). Unit tests give it a fake machine and check the exact commands,
//! what is done twice and what is undone after a failure; the real one is [`System`].

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A command line. Arguments marked secret (CHAP secrets) are shown as `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Cmd {
    pub program: String,
    args: Vec<(String, bool)>,
}

impl Cmd {
    /// `program` with no arguments yet.
    pub fn new(program: &str) -> Cmd {
        Cmd {
            program: program.to_owned(),
            args: Vec::new(),
        }
    }

    /// Adds arguments.
    pub fn args<S: AsRef<str>>(mut self, args: impl IntoIterator<Item = S>) -> Cmd {
        let new = args.into_iter().map(|a| (a.as_ref().to_owned(), false));
        self.args.extend(new);
        self
    }

    /// Adds an argument never to be shown.
    pub fn secret(mut self, arg: &str) -> Cmd {
        self.args.push((arg.to_owned(), true));
        self
    }

    /// The arguments as they are passed.
    pub fn argv(&self) -> impl Iterator<Item = &str> {
        self.args.iter().map(|(a, _)| a.as_str())
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.program)?;
        for (arg, secret) in &self.args {
            f.write_str(" ")?;
            f.write_str(if *secret { "***" } else { arg })?;
        }
        Ok(())
    }
}

impl fmt::Debug for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cmd({self})")
    }
}

/// How a command ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// The exit code; `None` when a signal ended it (or the time-out did).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Exit code 0.
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }
}

/// A filesystem's size and use, from statvfs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FsStats {
    pub total_bytes: u64,
    pub free_bytes: u64,
    pub available_bytes: u64,
    pub total_inodes: u64,
    pub free_inodes: u64,
}

/// The node's machine.
pub trait Host: Send + Sync + fmt::Debug {
    /// Runs `cmd` (no standard input) to its end, or kills it after `limit`.
    fn run(&self, cmd: &Cmd, limit: Duration) -> io::Result<Output>;
    /// A small file's text (sysfs, /proc).
    fn read(&self, path: &Path) -> io::Result<String>;
    /// The names in a folder; none when it does not exist.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Whether anything is at `path`, and whether it is a folder.
    fn kind(&self, path: &Path) -> Option<Kind>;
    /// `mkdir -p`.
    fn make_dir(&self, path: &Path) -> io::Result<()>;
    /// Creates an empty file unless one is there.
    fn make_file(&self, path: &Path) -> io::Result<()>;
    /// Removes a file or an empty folder; nothing there is fine.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// statvfs of the filesystem holding `path`.
    fn statvfs(&self, path: &Path) -> io::Result<FsStats>;
    /// Waits `d` (the fake machine lets time pass instead).
    fn sleep(&self, d: Duration);
}

/// What is at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    Other,
}

/// The real machine.
#[derive(Debug, Clone, Copy, Default)]
pub struct System;

impl Host for System {
    fn run(&self, cmd: &Cmd, limit: Duration) -> io::Result<Output> {
        tracing::debug!("running {cmd}");
        let mut child = Command::new(&cmd.program)
            .args(cmd.argv())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break Some(status);
            }
            if start.elapsed() >= limit {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut out = Output {
            code: status.and_then(|s| s.code()),
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        };
        if status.is_none() {
            out.stderr
                .push_str(&format!("(killed after {}s)", limit.as_secs()));
        }
        Ok(out)
    }

    fn read(&self, path: &Path) -> io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut names = Vec::new();
        for entry in entries {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    fn kind(&self, path: &Path) -> Option<Kind> {
        let meta = std::fs::metadata(path).ok()?;
        Some(if meta.is_dir() {
            Kind::Dir
        } else {
            Kind::Other
        })
    }

    fn make_dir(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir_all(path)
    }

    fn make_file(&self, path: &Path) -> io::Result<()> {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map(drop)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let removed = match self.kind(path) {
            None => return Ok(()),
            Some(Kind::Dir) => std::fs::remove_dir(path),
            Some(Kind::Other) => std::fs::remove_file(path),
        };
        match removed {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    fn statvfs(&self, path: &Path) -> io::Result<FsStats> {
        let s = rustix::fs::statvfs(path)?;
        Ok(FsStats {
            total_bytes: s.f_blocks.saturating_mul(s.f_frsize),
            free_bytes: s.f_bfree.saturating_mul(s.f_frsize),
            available_bytes: s.f_bavail.saturating_mul(s.f_frsize),
            total_inodes: s.f_files,
            free_inodes: s.f_ffree,
        })
    }

    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// Reads a child's pipe to its end on a thread of its own (so a full pipe never stalls
/// the child).
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut p) = pipe {
            let mut bytes = Vec::new();
            let _ = p.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    })
}

/// `dir/name`.
pub fn join(dir: &str, name: &str) -> PathBuf {
    Path::new(dir).join(name)
}
