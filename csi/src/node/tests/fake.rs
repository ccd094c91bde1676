//! A fake node machine: an iSCSI initiator whose logins make SCSI disks appear in a
//! fake sysfs, dm-multipath, blkid/mkfs, a mount table, and a log of every command run
//! (secrets shown as `***`). A command can be made to fail.

use crate::node::host::{Cmd, FsStats, Host, Kind, Output};
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// A target the fake initiator can log in to.
#[derive(Debug, Clone)]
pub struct Target {
    pub wwid: String,
    pub size: u64,
    /// The portals that answer.
    pub up: Vec<SocketAddr>,
    /// The CHAP user and secret the target wants (`None`: no CHAP).
    pub chap: Option<(String, String)>,
}

#[derive(Debug, Default)]
pub struct State {
    pub log: Vec<String>,
    /// (iqn, portal) → settings.
    pub records: BTreeMap<(String, String), BTreeMap<String, String>>,
    /// sid → (iqn, portal, disk).
    pub sessions: BTreeMap<u32, (String, SocketAddr, String)>,
    pub targets: BTreeMap<String, Target>,
    /// sysfs files.
    pub files: BTreeMap<PathBuf, String>,
    /// Folders and files made by the node service.
    pub made: BTreeMap<PathBuf, Kind>,
    /// disk → filesystem on it.
    pub filesystems: BTreeMap<String, String>,
    /// (dev number, mount point, fs type, source, options).
    pub mounts: Vec<(String, PathBuf, String, String, String)>,
    /// Commands starting with this fail with this exit code.
    pub fail: Option<(String, i32)>,
    /// multipathd runs (maps are made).
    pub multipathd: bool,
    next_sid: u32,
    next_disk: u8,
    pub grown: BTreeSet<String>,
}

#[derive(Debug, Default)]
pub struct FakeHost {
    state: Mutex<State>,
}

fn ok(stdout: &str) -> io::Result<Output> {
    Ok(Output {
        code: Some(0),
        stdout: stdout.into(),
        stderr: String::new(),
    })
}

fn exit(code: i32, why: &str) -> io::Result<Output> {
    Ok(Output {
        code: Some(code),
        stdout: String::new(),
        stderr: why.into(),
    })
}

impl FakeHost {
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// The commands run so far, and forgets them.
    pub fn take_log(&self) -> Vec<String> {
        std::mem::take(&mut self.state().log)
    }

    pub fn add_target(&self, iqn: &str, target: Target) {
        self.state().targets.insert(iqn.into(), target);
    }

    pub fn fail(&self, prefix: &str, code: i32) {
        self.state().fail = Some((prefix.into(), code));
    }

    /// Nothing of the volume `iqn` is left: no session, record, map or mount.
    pub fn clean_of(&self, iqn: &str) -> bool {
        let s = self.state();
        s.sessions.values().all(|(i, _, _)| i != iqn)
            && s.records.keys().all(|(i, _)| i != iqn)
            && s.mounts.iter().all(|m| !m.3.starts_with("/dev/"))
            && !s.files.keys().any(|p| p.starts_with("/sys/block/dm-0"))
    }
}

impl State {
    fn dispatch(&mut self, argv: &[&str]) -> io::Result<Output> {
        match argv {
            ["iscsiadm", "-m", "session"] => self.session_list(),
            ["iscsiadm", "-m", "session", "-r", _, "--rescan"] => self.rescan(),
            [
                "iscsiadm",
                "-m",
                "node",
                "-T",
                iqn,
                "-p",
                portal,
                "-I",
                "default",
                rest @ ..,
            ] => self.node_op(iqn, portal, rest),
            ["iscsiadm", "-m", "node", "-T", iqn, "--logout"] => self.logout(iqn),
            ["iscsiadm", "-m", "node", "-T", iqn, "-o", "delete"] => self.delete(iqn),
            ["multipath", "-a", _] => self.multipath_ok(),
            ["multipathd", "add", "path", dev] => self.add_path(dev),
            ["multipath", "-f", name] => self.flush(name),
            ["multipathd", "resize", "map", _] => ok("ok\n"),
            ["blkid", "-p", "-o", "export", dev] => self.blkid(dev),
            ["mkfs.ext4", .., dev] => self.mkfs(dev, "ext4"),
            ["mkfs.xfs", .., dev] => self.mkfs(dev, "xfs"),
            ["mount", "--bind", from, to] => self.bind(from, to),
            ["mount", "-o", "remount,bind,ro", to] => self.remount_ro(to),
            ["mount", "-t", fs, "-o", opts, dev, to] => self.mount(dev, to, fs, opts),
            ["mount", "-t", fs, dev, to] => self.mount(dev, to, fs, "rw"),
            ["umount", to] => self.umount(to),
            ["resize2fs", dev] | ["xfs_growfs", dev] => {
                self.grown.insert((*dev).into());
                ok("")
            }
            other => exit(127, &format!("fake: unknown command {other:?}")),
        }
    }

    fn session_list(&self) -> io::Result<Output> {
        if self.sessions.is_empty() {
            return exit(21, "iscsiadm: No active sessions.");
        }
        let lines: String = self
            .sessions
            .iter()
            .map(|(sid, (iqn, portal, _))| format!("tcp: [{sid}] {portal},1 {iqn} (non-flash)\n"))
            .collect();
        ok(&lines)
    }

    fn node_op(&mut self, iqn: &str, portal: &str, rest: &[&str]) -> io::Result<Output> {
        let key = (iqn.to_owned(), portal.to_owned());
        match rest {
            ["-o", "new"] => {
                self.records.insert(key, BTreeMap::new());
                ok("New iSCSI node added")
            }
            ["-o", "update", "-n", name, "-v", value] => match self.records.get_mut(&key) {
                Some(r) => {
                    r.insert((*name).into(), (*value).into());
                    ok("")
                }
                None => exit(21, "no records found"),
            },
            ["--login"] => self.login(&key),
            other => exit(127, &format!("fake: unknown node op {other:?}")),
        }
    }

    fn login(&mut self, key: &(String, String)) -> io::Result<Output> {
        let Some(record) = self.records.get(key).cloned() else {
            return exit(21, "no records found");
        };
        let portal: SocketAddr = key.1.parse().unwrap();
        if self
            .sessions
            .values()
            .any(|(i, p, _)| *i == key.0 && *p == portal)
        {
            return exit(15, "session exists");
        }
        let Some(target) = self.targets.get(&key.0).cloned() else {
            return exit(24, "no such target");
        };
        if !target.up.contains(&portal) {
            return exit(8, "connection timed out");
        }
        if let Some((user, secret)) = &target.chap {
            let given = (
                record.get("node.session.auth.username"),
                record.get("node.session.auth.password"),
            );
            if given != (Some(user), Some(secret)) {
                return exit(24, "iscsiadm: Login failed to authenticate");
            }
        }
        self.next_sid += 1;
        let sid = self.next_sid;
        let disk = format!("sd{}", char::from(b'b' + self.next_disk));
        self.next_disk += 1;
        let major_minor = format!("8:{}", 16 * u32::from(self.next_disk));
        let block = PathBuf::from("/sys/block").join(&disk);
        self.files
            .insert(block.join("device/wwid"), format!("{}\n", target.wwid));
        self.files
            .insert(block.join("size"), format!("{}\n", target.size / 512));
        self.files
            .insert(block.join("dev"), format!("{major_minor}\n"));
        let host = sid + 1;
        let lun = format!(
            "/sys/class/iscsi_session/session{sid}/device/target{host}:0:0/{host}:0:0:0/block/{disk}/dev"
        );
        self.files.insert(lun.into(), major_minor);
        self.sessions.insert(sid, (key.0.clone(), portal, disk));
        ok("Login successful")
    }

    fn logout(&mut self, iqn: &str) -> io::Result<Output> {
        let gone: Vec<u32> = self
            .sessions
            .iter()
            .filter(|(_, (i, _, _))| i == iqn)
            .map(|(sid, _)| *sid)
            .collect();
        if gone.is_empty() {
            return exit(21, "No matching sessions found");
        }
        for sid in gone {
            if let Some((_, _, disk)) = self.sessions.remove(&sid) {
                let session = format!("/sys/class/iscsi_session/session{sid}");
                self.files.retain(|p, _| {
                    !p.starts_with(format!("/sys/block/{disk}")) && !p.starts_with(&session)
                });
            }
        }
        ok("Logout successful")
    }

    fn delete(&mut self, iqn: &str) -> io::Result<Output> {
        let before = self.records.len();
        self.records.retain(|(i, _), _| i != iqn);
        if before == self.records.len() {
            return exit(21, "no records found");
        }
        ok("")
    }

    fn rescan(&mut self) -> io::Result<Output> {
        let sizes: Vec<(String, u64)> = self
            .sessions
            .values()
            .filter_map(|(iqn, _, disk)| Some((disk.clone(), self.targets.get(iqn)?.size)))
            .collect();
        for (disk, size) in sizes {
            let file = PathBuf::from("/sys/block").join(disk).join("size");
            self.files.insert(file, format!("{}\n", size / 512));
        }
        ok("Rescanning session")
    }

    fn multipath_ok(&self) -> io::Result<Output> {
        if self.multipathd {
            ok("wwid added")
        } else {
            exit(127, "multipath: command not found")
        }
    }

    fn add_path(&mut self, dev: &str) -> io::Result<Output> {
        let disk = dev.trim_start_matches("/dev/");
        let dm = Path::new("/sys/block/dm-0");
        self.files
            .insert(dm.join("dm/uuid"), "mpath-3600140500\n".into());
        self.files.insert(dm.join("dm/name"), "3600140500\n".into());
        self.files.insert(dm.join("dev"), "254:0\n".into());
        self.files.insert(dm.join("size"), "8192\n".into());
        let holder = PathBuf::from("/sys/block").join(disk).join("holders/dm-0");
        self.files.insert(holder, String::new());
        ok("ok")
    }

    fn flush(&mut self, _name: &str) -> io::Result<Output> {
        self.files
            .retain(|p, _| !p.starts_with("/sys/block/dm-0") && !p.ends_with("holders/dm-0"));
        ok("")
    }

    fn blkid(&self, dev: &str) -> io::Result<Output> {
        match self.filesystems.get(dev) {
            Some(fs) if fs.starts_with("PTTYPE=") => ok(&format!("DEVNAME={dev}\n{fs}\n")),
            Some(fs) => ok(&format!("DEVNAME={dev}\nUUID=x\nTYPE={fs}\n")),
            None => exit(2, ""),
        }
    }

    fn mkfs(&mut self, dev: &str, fs: &str) -> io::Result<Output> {
        self.filesystems.insert(dev.into(), fs.into());
        ok("")
    }

    fn dev_number(&self, dev: &str) -> String {
        let kernel = dev.trim_start_matches("/dev/");
        self.files
            .get(&PathBuf::from("/sys/block").join(kernel).join("dev"))
            .map_or("0:0".into(), |d| d.trim().to_owned())
    }

    fn mount(&mut self, dev: &str, to: &str, fs: &str, opts: &str) -> io::Result<Output> {
        let number = self.dev_number(dev);
        let entry = (
            number,
            PathBuf::from(to),
            fs.into(),
            dev.into(),
            opts.into(),
        );
        self.mounts.push(entry);
        ok("")
    }

    fn bind(&mut self, from: &str, to: &str) -> io::Result<Output> {
        let source = self
            .mounts
            .iter()
            .rev()
            .find(|m| m.1 == Path::new(from))
            .cloned();
        let entry = match source {
            Some((n, _, fs, src, _)) => (n, to.into(), fs, src, "rw".into()),
            None => (
                "0:5".into(),
                to.into(),
                "devtmpfs".into(),
                "udev".into(),
                "rw".into(),
            ),
        };
        self.mounts.push(entry);
        ok("")
    }

    fn remount_ro(&mut self, to: &str) -> io::Result<Output> {
        match self.mounts.iter_mut().rev().find(|m| m.1 == Path::new(to)) {
            Some(m) => {
                m.4 = "ro".into();
                ok("")
            }
            None => exit(32, "not mounted"),
        }
    }

    fn umount(&mut self, to: &str) -> io::Result<Output> {
        match self.mounts.iter().rposition(|m| m.1 == Path::new(to)) {
            Some(i) => {
                self.mounts.remove(i);
                ok("")
            }
            None => exit(32, "not mounted"),
        }
    }

    fn mountinfo(&self) -> String {
        self.mounts
            .iter()
            .enumerate()
            .map(|(i, (n, at, fs, src, opts))| {
                format!(
                    "{} 1 {n} / {} {opts} - {fs} {src} rw\n",
                    100 + i,
                    at.display()
                )
            })
            .collect()
    }
}

impl Host for FakeHost {
    fn run(&self, cmd: &Cmd, _limit: Duration) -> io::Result<Output> {
        let mut s = self.state();
        let shown = cmd.to_string();
        s.log.push(shown.clone());
        if let Some((_, code)) = s.fail.clone().filter(|(p, _)| shown.starts_with(p)) {
            return exit(code, "fake: made to fail");
        }
        let argv: Vec<&str> = std::iter::once(cmd.program.as_str())
            .chain(cmd.argv())
            .collect();
        s.dispatch(&argv)
    }

    fn read(&self, path: &Path) -> io::Result<String> {
        let s = self.state();
        if path == Path::new(crate::node::mounts::MOUNTINFO) {
            return Ok(s.mountinfo());
        }
        s.files
            .get(path)
            .cloned()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let s = self.state();
        let names: BTreeSet<String> = s
            .files
            .keys()
            .filter_map(|p| p.strip_prefix(dir).ok())
            .filter_map(|rest| rest.components().next())
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        Ok(names.into_iter().collect())
    }

    fn kind(&self, path: &Path) -> Option<Kind> {
        self.state().made.get(path).copied()
    }

    fn make_dir(&self, path: &Path) -> io::Result<()> {
        self.state().made.insert(path.into(), Kind::Dir);
        Ok(())
    }

    fn make_file(&self, path: &Path) -> io::Result<()> {
        self.state().made.entry(path.into()).or_insert(Kind::Other);
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        self.state().made.remove(path);
        Ok(())
    }

    fn statvfs(&self, _path: &Path) -> io::Result<FsStats> {
        Ok(FsStats {
            total_bytes: 1000,
            free_bytes: 600,
            available_bytes: 500,
            total_inodes: 100,
            free_inodes: 90,
        })
    }

    fn sleep(&self, _d: Duration) {
        std::thread::sleep(Duration::from_millis(1));
    }
}
