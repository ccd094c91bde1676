//! For the export tests on the real volumes: names unique to each test run, and the
//! `gluster-tcmu export` command line with a settings file of its own.

use std::process::{Command, Output};

/// A name no other test run uses.
pub fn unique(what: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("t-{what}-{}-{n}", std::process::id())
}

/// A gateway portal no real gateway has, so no gateway run by another test serves the
/// tests' exports (and a delete never waits for one).
pub fn gateway() -> String {
    format!("127.0.0.1:{}", 20000 + std::process::id() % 20000)
}

/// `gluster-tcmu export ARGS` with a settings file of its own: the connect deadline, and
/// gfapi's log in a directory of its own.
pub struct ExportCli {
    dir: tempfile::TempDir,
    /// Every command is told to wait for no gateway and to poke no daemon.
    daemonless: bool,
}

impl ExportCli {
    pub fn with_deadline(secs: u64) -> ExportCli {
        let dir = tempfile::tempdir().unwrap();
        let toml = format!(
            "[glfs]\nconnect_timeout_secs = {secs}\nlog_dir = \"{}\"\n",
            dir.path().display()
        );
        std::fs::write(dir.path().join("settings.toml"), toml).unwrap();
        ExportCli {
            dir,
            daemonless: false,
        }
    }

    /// As [`ExportCli::with_deadline`], each command with `--wait 0` and a control socket
    /// where no daemon listens.
    pub fn daemonless(secs: u64) -> ExportCli {
        ExportCli {
            daemonless: true,
            ..ExportCli::with_deadline(secs)
        }
    }

    /// `gluster-tcmu export ARGS --config FILE`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gluster-tcmu"));
        cmd.arg("export").args(args);
        cmd.arg("--config")
            .arg(self.dir.path().join("settings.toml"));
        if self.daemonless {
            cmd.arg("--wait").arg("0");
            cmd.arg("--control-socket").arg(self.no_daemon());
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("gluster-tcmu runs")
    }

    /// Runs a command that must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    }

    /// Runs a command that must fail with status 1; its stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            text(&out.stdout)
        );
        text(&out.stderr)
    }

    /// A control socket where no daemon listens.
    pub fn no_daemon(&self) -> String {
        self.dir.path().join("none.sock").display().to_string()
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
