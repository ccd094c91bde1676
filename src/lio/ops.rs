//! The writer's hands: every configfs operation goes through [`Ctx`], which maps errors
//! to [`LioError`] naming the path, records each change and logs it. Values written
//! are logged only when they are not secret.

use super::error::{Change, LioError, Op};
use super::fs::{ConfigFs, Entry, EntryKind, resolve_link};
use super::layout::Layout;
use std::io;
use std::path::{Path, PathBuf};

/// Whether a written value may appear in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Value {
    Plain,
    Secret,
}

/// One operation's context: the file system, the layout and the changes so far.
pub(super) struct Ctx<'a, F: ConfigFs> {
    pub fs: &'a F,
    pub layout: &'a Layout,
    pub changes: Vec<Change>,
}

impl<'a, F: ConfigFs> Ctx<'a, F> {
    pub fn new(fs: &'a F, layout: &'a Layout) -> Self {
        Self {
            fs,
            layout,
            changes: Vec::new(),
        }
    }

    pub fn exists(&self, path: &Path) -> bool {
        self.fs.exists(path)
    }

    pub fn read(&self, path: &Path) -> Result<String, LioError> {
        self.fs.read(path).map_err(|e| io_error(Op::Read, path, e))
    }

    /// The entries of `path`; a missing directory has none.
    pub fn read_dir(&self, path: &Path) -> Result<Vec<Entry>, LioError> {
        match self.fs.read_dir(path) {
            Ok(entries) => Ok(entries),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(io_error(Op::ReadDir, path, e)),
        }
    }

    /// The names of the subdirectories (objects) of `path`.
    pub fn subdirs(&self, path: &Path) -> Result<Vec<String>, LioError> {
        Ok(self.entries_of(path, EntryKind::Dir)?.collect())
    }

    /// The symlinks in `path`, with where each points (resolved to an absolute path).
    pub fn links(&self, path: &Path) -> Result<Vec<(PathBuf, PathBuf)>, LioError> {
        let mut links = Vec::new();
        for name in self.entries_of(path, EntryKind::Symlink)? {
            let link = path.join(name);
            let stored = self
                .fs
                .read_link(&link)
                .map_err(|e| io_error(Op::ReadLink, &link, e))?;
            let target = resolve_link(&link, &stored);
            links.push((link, target));
        }
        Ok(links)
    }

    fn entries_of(
        &self,
        path: &Path,
        kind: EntryKind,
    ) -> Result<impl Iterator<Item = String>, LioError> {
        let entries = self.read_dir(path)?;
        Ok(entries
            .into_iter()
            .filter(move |e| e.kind == kind)
            .map(|e| e.name))
    }

    pub fn mkdir(&mut self, path: &Path) -> Result<(), LioError> {
        self.fs
            .mkdir(path)
            .map_err(|e| io_error(Op::Mkdir, path, e))?;
        self.record(Op::Mkdir, path);
        Ok(())
    }

    /// Creates `path` unless it exists; says whether it did.
    pub fn ensure_dir(&mut self, path: &Path) -> Result<bool, LioError> {
        if self.exists(path) {
            return Ok(false);
        }
        self.mkdir(path).map(|()| true)
    }

    pub fn rmdir(&mut self, path: &Path) -> Result<(), LioError> {
        self.fs
            .rmdir(path)
            .map_err(|e| io_error(Op::Rmdir, path, e))?;
        self.record(Op::Rmdir, path);
        Ok(())
    }

    pub fn write(&mut self, path: &Path, value: &str, kind: Value) -> Result<(), LioError> {
        if kind == Value::Plain {
            tracing::debug!(path = %self.layout.relative(path).display(), value, "lio write");
        }
        self.fs
            .write(path, value)
            .map_err(|e| io_error(Op::Write, path, e))?;
        self.record(Op::Write, path);
        Ok(())
    }

    /// Writes `value` unless the attribute already reads so (`same` decides, so that
    /// callers can normalise the kernel's text); says whether it wrote.
    pub fn set_with(
        &mut self,
        path: &Path,
        value: &str,
        kind: Value,
        same: impl Fn(&str, &str) -> bool,
    ) -> Result<bool, LioError> {
        let current = self.read(path)?;
        if same(&current, value) {
            return Ok(false);
        }
        self.write(path, value, kind).map(|()| true)
    }

    /// [`Self::set_with`] comparing the trimmed text.
    pub fn set(&mut self, path: &Path, value: &str) -> Result<bool, LioError> {
        self.set_with(path, value, Value::Plain, |a, b| a.trim() == b)
    }

    pub fn symlink(&mut self, target: &Path, link: &Path) -> Result<(), LioError> {
        self.fs
            .symlink(target, link)
            .map_err(|e| io_error(Op::Symlink, link, e))?;
        self.record(Op::Symlink, link);
        Ok(())
    }

    pub fn unlink(&mut self, link: &Path) -> Result<(), LioError> {
        self.fs
            .unlink(link)
            .map_err(|e| io_error(Op::Unlink, link, e))?;
        self.record(Op::Unlink, link);
        Ok(())
    }

    /// Unlinks every symlink in `dir`, then removes `dir` (a LUN or a mapped LUN).
    pub fn unlink_all_and_rmdir(&mut self, dir: &Path) -> Result<(), LioError> {
        for (link, _) in self.links(dir)? {
            self.unlink(&link)?;
        }
        self.rmdir(dir)
    }

    fn record(&mut self, op: Op, path: &Path) {
        let path = self.layout.relative(path).to_path_buf();
        tracing::info!(path = %path.display(), "lio {op}");
        self.changes.push(Change { op, path });
    }
}

pub(super) fn io_error(op: Op, path: &Path, source: io::Error) -> LioError {
    let path = path.to_path_buf();
    LioError::Io { op, path, source }
}
