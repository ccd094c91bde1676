//! [`FakeConfigfs`]: a directory that behaves like LIO's configfs tree, for tests
//! (feature `test-utils`).
//!
//! Like the kernel it fills in attribute files and default groups on `mkdir` of a known
//! object, refuses `mkdir` anywhere else, removes those files itself on `rmdir` but
//! refuses while user-made children remain (`ENOTEMPTY`) or while a symlink still
//! points at the object (`EBUSY`), checks LUN links (an enabled storage object) and
//! mapped-LUN links (a LUN of the same TPG), stores symlinks as relative paths, applies
//! the TCMU `control`/`enable`/`dev_size` writes to `info`, and refuses serial and
//! command-timeout writes while the object is exported. Every change is recorded, and
//! a failure can be injected into the next matching operation (a crash stand-in).

mod alua;
mod groups;

use super::error::Op;
use super::fs::{ConfigFs, Entry, EntryKind, StdFs, normalize, resolve_link};
use groups::Group;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// A fake configfs target root in a directory the caller provides (and cleans up).
#[derive(Debug)]
pub struct FakeConfigfs {
    root: PathBuf,
    log: Mutex<Vec<String>>,
    failures: Mutex<Vec<(Op, PathBuf, i32)>>,
}

impl FakeConfigfs {
    /// Lays out an empty target root (`core/`, `iscsi/`, `iscsi/discovery_auth/`) in
    /// `root`, which must exist.
    pub fn new(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        fs::create_dir_all(root.join("core"))?;
        fs::create_dir_all(root.join("iscsi/discovery_auth"))?;
        for f in ["userid", "password", "enforce_discovery_auth"] {
            fs::write(root.join("iscsi/discovery_auth").join(f), "\n")?;
        }
        Ok(Self {
            root,
            log: Mutex::new(Vec::new()),
            failures: Mutex::new(Vec::new()),
        })
    }

    /// The target root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The changes so far, as `"<op> <path relative to the root>"`.
    pub fn ops(&self) -> Vec<String> {
        lock(&self.log).clone()
    }

    /// Forgets the recorded changes.
    pub fn clear_ops(&self) {
        lock(&self.log).clear();
    }

    /// Makes the next `op` on `rel` (relative to the root) fail with `errno`, once.
    pub fn fail_next(&self, op: Op, rel: impl Into<PathBuf>, errno: i32) {
        lock(&self.failures).push((op, rel.into(), errno));
    }

    /// Every directory and symlink under the root, relative and sorted (symlinks as
    /// `path -> target`), for before/after comparisons.
    pub fn tree(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.root, &self.root, &mut out);
        out.sort();
        out
    }

    /// Simulates initiator `initiator` logging in to `tpgt_1` of target `iqn`: through
    /// its ACL when there is one, else as a dynamic session.
    pub fn login(&self, iqn: &str, initiator: &str) -> io::Result<()> {
        let tpg = self.root.join("iscsi").join(iqn).join("tpgt_1");
        let acl = tpg.join("acls").join(initiator);
        if acl.is_dir() {
            return fs::write(acl.join("info"), groups::busy_acl_info(initiator));
        }
        let path = tpg.join("dynamic_sessions");
        let mut text = fs::read_to_string(&path)?;
        text.push_str(&format!("{initiator}\n\0"));
        fs::write(path, text)
    }

    fn rel<'a>(&self, path: &'a Path) -> &'a Path {
        path.strip_prefix(&self.root).unwrap_or(path)
    }

    fn record(&self, op: Op, path: &Path) {
        let line = format!("{op} {}", self.rel(path).display());
        lock(&self.log).push(line);
    }

    /// Fires an injected failure for `op` on `path`, if one is pending.
    fn injected(&self, op: Op, path: &Path) -> io::Result<()> {
        let rel = self.rel(path).to_path_buf();
        let mut failures = lock(&self.failures);
        match failures.iter().position(|(o, p, _)| *o == op && *p == rel) {
            Some(at) => Err(io::Error::from_raw_os_error(failures.remove(at).2)),
            None => Ok(()),
        }
    }

    /// Whether a symlink anywhere under `iscsi/` points at `target`.
    fn is_linked(&self, target: &Path) -> bool {
        let mut links = Vec::new();
        collect_links(&self.root.join("iscsi"), &mut links);
        links.iter().any(|(_, to)| to == target)
    }

    fn populate(&self, dir: &Path, group: Group) -> io::Result<()> {
        for d in groups::default_dirs(group) {
            fs::create_dir_all(dir.join(d))?;
        }
        for (file, text) in groups::files(group) {
            let path = dir.join(file);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::write(path, text)?;
        }
        match group {
            Group::Device => self.refresh_info(dir),
            Group::Acl => {
                let initiator = dir.file_name().unwrap_or_default().to_string_lossy();
                fs::write(dir.join("info"), groups::idle_acl_info(&initiator))
            }
            _ => Ok(()),
        }
    }

    /// Rebuilds a device's `info` from its attributes, as the kernel shows live state.
    fn refresh_info(&self, dev: &Path) -> io::Result<()> {
        let read = |f: &str| StdFs.read(&dev.join(f));
        let info = groups::device_info(
            read("enable")? == "1",
            &read("attrib/hw_max_sectors")?,
            &read("attrib/dev_config")?,
            &read("attrib/dev_size")?,
        );
        fs::write(dev.join("info"), info)
    }

    /// The kernel's side of a write, after the file was found writable.
    fn store(&self, path: &Path, value: &str) -> io::Result<()> {
        let rel = self.rel(path).to_path_buf();
        let p = groups::parts(&rel);
        let dev = |n: usize| self.root.join(p[..p.len() - n].join("/"));
        match p.as_slice() {
            ["core", _, _, "control"] => self.store_control(&dev(1), value),
            ["core", _, _, "enable"] => self.store_enable(&dev(1), value),
            ["core", _, _, "attrib", "dev_size"] => {
                parse_u64(value)?;
                fs::write(path, format!("{}\n", value.trim()))?;
                self.refresh_info(&dev(2))
            }
            ["core", _, _, "wwn", "vpd_unit_serial"] => {
                self.refuse_if_exported(&dev(2))?;
                if value.len() >= 254 {
                    return Err(errno(libc::EOVERFLOW));
                }
                let serial = value.trim();
                fs::write(path, format!("T10 VPD Unit Serial Number: {serial}\n"))
            }
            ["core", _, _, "attrib", "cmd_time_out"] => {
                self.refuse_if_exported(&dev(2))?;
                parse_u64(value)?;
                fs::write(path, format!("{}\n", value.trim()))
            }
            ["core", _, _, "alua", _, "tg_pt_gp_id"] => alua::store_group_id(path, value),
            ["core", _, _, "alua", _, "alua_access_type"] => alua::store_access_type(path, value),
            ["iscsi", _, _, "lun", _, "alua_tg_pt_gp"] => {
                let lun_dir = dev(1);
                alua::store_lun_group(&alua::member_name(&p), &lun_dir, value)
            }
            ["iscsi", _, _, "acls", _, "auth", _] if value.len() >= 256 => Err(errno(libc::EINVAL)),
            ["iscsi", _, _, "auth", _] => {
                let kept: String = value.chars().take(255).collect();
                fs::write(path, format!("{kept}\n"))
            }
            [.., "auth", _] => fs::write(path, format!("{value}\n")),
            ["iscsi", _, _, "enable"] | ["iscsi", _, _, "attrib", _] => {
                parse_u64(value)?;
                fs::write(path, format!("{}\n", value.trim()))
            }
            _ => StdFs.write(path, value),
        }
    }

    /// `dev_config=`, `dev_size=`, `hw_max_sectors=` tokens, comma-separated.
    fn store_control(&self, dev: &Path, value: &str) -> io::Result<()> {
        for token in value.split([',', '\n']).filter(|t| !t.is_empty()) {
            let (key, v) = token.split_once('=').unwrap_or((token, ""));
            let file = match key {
                "dev_config" if v.len() < 256 => "attrib/dev_config",
                "dev_size" => "attrib/dev_size",
                "hw_max_sectors" if parse_u64(v)? > 0 => "attrib/hw_max_sectors",
                "hw_block_size" | "max_data_area_mb" => continue,
                _ => return Err(errno(libc::EINVAL)),
            };
            fs::write(dev.join(file), format!("{v}\n"))?;
        }
        self.refresh_info(dev)
    }

    fn store_enable(&self, dev: &Path, value: &str) -> io::Result<()> {
        if value.trim() != "1" {
            return Err(errno(libc::EINVAL));
        }
        if StdFs.read(&dev.join("enable"))? == "1" {
            return Err(errno(libc::EEXIST));
        }
        fs::write(dev.join("enable"), "1\n")?;
        if StdFs.read(&dev.join("attrib/hw_max_sectors"))? == "0" {
            fs::write(dev.join("attrib/hw_max_sectors"), "128\n")?;
        }
        fs::write(dev.join("attrib/hw_block_size"), "512\n")?;
        self.refresh_info(dev)
    }

    fn refuse_if_exported(&self, dev: &Path) -> io::Result<()> {
        if self.is_linked(dev) {
            return Err(errno(libc::EINVAL));
        }
        Ok(())
    }

    /// The kernel's checks of a new symlink `link` -> `target` (absolute).
    fn check_link(&self, link: &Path, target: &Path) -> io::Result<()> {
        let dir = link.parent().unwrap_or(link);
        let here = groups::classify(self.rel(dir));
        let there = groups::classify(self.rel(target));
        match (here, there) {
            (Some(Group::Lun), Some(Group::Device)) => {
                if StdFs.read(&target.join("enable"))? != "1" {
                    return Err(errno(libc::ENODEV));
                }
            }
            (Some(Group::MappedLun), Some(Group::Lun)) => {
                let tpg = |p: &Path| groups::parts(self.rel(p))[..3].join("/");
                if tpg(dir) != tpg(target) || !target.is_dir() {
                    return Err(errno(libc::EINVAL));
                }
            }
            (Some(Group::Lun | Group::MappedLun), _) => return Err(errno(libc::EINVAL)),
            _ => return Err(errno(libc::EPERM)),
        }
        let mut existing = Vec::new();
        collect_links_in(dir, &mut existing);
        if !existing.is_empty() {
            return Err(errno(libc::EEXIST));
        }
        Ok(())
    }

    /// `rmdir` of an object: no user-made children (also inside its default groups,
    /// as configfs checks them too), no link pointing at it.
    fn check_rmdir(&self, path: &Path, group: Group) -> io::Result<()> {
        let defaults = groups::default_dirs(group);
        let default_parents = groups::files(group)
            .iter()
            .filter_map(|(f, _)| f.split_once('/').map(|(d, _)| d));
        for entry in StdFs.read_dir(path)? {
            let is_default = defaults.contains(&entry.name.as_str())
                || default_parents.clone().any(|d| d == entry.name);
            match entry.kind {
                EntryKind::Dir if is_default => holds_nothing_made(&path.join(&entry.name))?,
                EntryKind::Dir | EntryKind::Symlink => return Err(errno(libc::ENOTEMPTY)),
                EntryKind::File => {}
            }
        }
        if self.is_linked(path) {
            return Err(errno(libc::EBUSY));
        }
        Ok(())
    }
}

/// A default group holds only attributes in this model: a directory or symlink in it
/// was made by a user.
fn holds_nothing_made(dir: &Path) -> io::Result<()> {
    match StdFs
        .read_dir(dir)?
        .iter()
        .any(|e| e.kind != EntryKind::File)
    {
        true => Err(errno(libc::ENOTEMPTY)),
        false => Ok(()),
    }
}

impl ConfigFs for FakeConfigfs {
    fn mkdir(&self, path: &Path) -> io::Result<()> {
        self.injected(Op::Mkdir, path)?;
        let group = groups::classify(self.rel(path)).ok_or_else(|| errno(libc::EPERM))?;
        if group == Group::Portal {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            name.parse::<std::net::SocketAddr>()
                .map_err(|_| errno(libc::EINVAL))?;
        }
        fs::create_dir(path)?;
        self.populate(path, group)?;
        self.record(Op::Mkdir, path);
        Ok(())
    }

    fn rmdir(&self, path: &Path) -> io::Result<()> {
        self.injected(Op::Rmdir, path)?;
        let group = groups::classify(self.rel(path)).ok_or_else(|| errno(libc::EPERM))?;
        if !path.is_dir() {
            return Err(errno(libc::ENOENT));
        }
        self.check_rmdir(path, group)?;
        fs::remove_dir_all(path)?;
        self.record(Op::Rmdir, path);
        Ok(())
    }

    fn write(&self, path: &Path, value: &str) -> io::Result<()> {
        self.injected(Op::Write, path)?;
        if !path.is_file() {
            return Err(errno(libc::ENOENT));
        }
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if groups::read_only(&name) {
            return Err(errno(libc::EACCES));
        }
        self.store(path, value)?;
        self.record(Op::Write, path);
        Ok(())
    }

    fn read(&self, path: &Path) -> io::Result<String> {
        StdFs.read(path)
    }

    fn symlink(&self, target: &Path, link: &Path) -> io::Result<()> {
        self.injected(Op::Symlink, link)?;
        let target = normalize(target);
        self.check_link(link, &target)?;
        let stored = relative_to(link.parent().unwrap_or(link), &target);
        std::os::unix::fs::symlink(stored, link)?;
        self.record(Op::Symlink, link);
        Ok(())
    }

    fn unlink(&self, link: &Path) -> io::Result<()> {
        self.injected(Op::Unlink, link)?;
        if !fs::symlink_metadata(link)?.file_type().is_symlink() {
            return Err(errno(libc::EPERM));
        }
        let dir = link.parent().unwrap_or(link);
        if groups::classify(self.rel(dir)) == Some(Group::Lun) {
            alua::forget_lun(&alua::member_name(&groups::parts(self.rel(dir))), dir);
        }
        fs::remove_file(link)?;
        self.record(Op::Unlink, link);
        Ok(())
    }

    fn read_link(&self, link: &Path) -> io::Result<PathBuf> {
        StdFs.read_link(link)
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<Entry>> {
        StdFs.read_dir(path)
    }

    fn exists(&self, path: &Path) -> bool {
        StdFs.exists(path)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn errno(code: i32) -> io::Error {
    io::Error::from_raw_os_error(code)
}

fn parse_u64(value: &str) -> io::Result<u64> {
    value.trim().parse().map_err(|_| errno(libc::EINVAL))
}

/// `target` as a path relative to `dir` (both absolute and normalised), like the
/// `../../core/...` paths configfs shows for its symlinks.
fn relative_to(dir: &Path, target: &Path) -> PathBuf {
    let d: Vec<_> = dir.components().collect();
    let t: Vec<_> = target.components().collect();
    let common = d.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..d.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c);
    }
    out
}

fn collect_links_in(dir: &Path, out: &mut Vec<(PathBuf, PathBuf)>) {
    for entry in StdFs.read_dir(dir).unwrap_or_default() {
        let path = dir.join(&entry.name);
        if entry.kind == EntryKind::Symlink {
            if let Ok(stored) = fs::read_link(&path) {
                let target = resolve_link(&path, &stored);
                out.push((path, target));
            }
        }
    }
}

fn collect_links(dir: &Path, out: &mut Vec<(PathBuf, PathBuf)>) {
    collect_links_in(dir, out);
    for entry in StdFs.read_dir(dir).unwrap_or_default() {
        if entry.kind == EntryKind::Dir {
            collect_links(&dir.join(entry.name), out);
        }
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in StdFs.read_dir(dir).unwrap_or_default() {
        let path = dir.join(&entry.name);
        let rel = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        match entry.kind {
            EntryKind::Dir => {
                out.push(rel);
                walk(root, &path, out);
            }
            EntryKind::Symlink => {
                let to = fs::read_link(&path).unwrap_or_default();
                out.push(format!("{rel} -> {}", to.display()));
            }
            EntryKind::File => {}
        }
    }
}

#[cfg(test)]
mod tests;
