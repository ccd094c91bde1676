//! The D-Bus service on a private `dbus-daemon`, called the way targetcli calls it.
//!
//! Skipped (with a note) when `dbus-daemon` is not installed (`apt-get install dbus`).

use gluster_tcmu::cfgstring::{Subtype, SubtypeConfig};
use gluster_tcmu::control::dbus::{
    BUS_NAME, BusChoice, DbusError, DbusService, HANDLER_INTERFACE, HANDLER_MANAGER_PATH,
    HandlerInfo, ROOT_PATH, SYNTAX_ONLY, ServiceOps, serve,
};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use zbus::blocking::Connection;
use zbus::zvariant::{OwnedObjectPath, OwnedValue};

/// A private bus daemon, killed on drop.
struct PrivateBus {
    child: Child,
    dir: PathBuf,
    address: String,
}

impl PrivateBus {
    fn start() -> Option<PrivateBus> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("gt-dbus-{}-{n}", std::process::id());
        let dir = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&dir).ok()?;
        let config = dir.join("bus.conf");
        std::fs::write(&config, bus_config(&dir)).ok()?;
        let mut child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address"])
            .stdout(Stdio::piped())
            .spawn()
            .ok()?;
        let mut address = String::new();
        let stdout = child.stdout.take()?;
        BufReader::new(stdout).read_line(&mut address).ok()?;
        let address = address.trim().to_owned();
        Some(PrivateBus {
            child,
            dir,
            address,
        })
    }

    fn client(&self) -> Connection {
        zbus::blocking::connection::Builder::address(self.address.as_str())
            .unwrap()
            .method_timeout(std::time::Duration::from_secs(20))
            .build()
            .unwrap()
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn bus_config(dir: &std::path::Path) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
        dir.display()
    )
}

/// Records what reached it; refuses volume "down" and LUN "missing".
#[derive(Default)]
struct FakeOps {
    checked: Mutex<Vec<SubtypeConfig>>,
    changed: Mutex<Vec<(String, u64, String)>>,
}

impl ServiceOps for FakeOps {
    fn check_config(&self, config: &SubtypeConfig) -> Result<(), String> {
        self.checked.lock().unwrap().push(config.clone());
        match config {
            SubtypeConfig::Glfs(g) if g.volume == "down" => {
                Err("cannot reach volume down within 10 s".to_owned())
            }
            _ => Ok(()),
        }
    }

    fn change_medium(
        &self,
        name: &str,
        size: u64,
        dev_config: &str,
        _config: &SubtypeConfig,
    ) -> Result<(), (i32, String)> {
        let call = (name.to_owned(), size, dev_config.to_owned());
        self.changed.lock().unwrap().push(call);
        if name == "missing" {
            return Err((-libc::ENODEV, "no LUN named missing".to_owned()));
        }
        Ok(())
    }
}

type ManagedObjects = HashMap<OwnedObjectPath, HashMap<String, HashMap<String, OwnedValue>>>;

fn call<B, R>(conn: &Connection, path: &str, iface: &str, method: &str, body: &B) -> R
where
    B: serde::Serialize + zbus::zvariant::DynamicType,
    R: for<'d> serde::Deserialize<'d> + zbus::zvariant::Type,
{
    let reply = conn
        .call_method(Some(BUS_NAME), path, Some(iface), method, body)
        .unwrap();
    reply.body().deserialize().unwrap()
}

fn check(conn: &Connection, subtype: &str, cfg: &str) -> (bool, String) {
    let path = format!("{ROOT_PATH}/{subtype}");
    call(conn, &path, HANDLER_INTERFACE, "CheckConfig", &(cfg,))
}

fn start() -> Option<(PrivateBus, DbusService, Arc<FakeOps>)> {
    // No silent skip: tests/install-host-deps.sh installs Debian's dbus package.
    let bus = PrivateBus::start()
        .expect("cannot start a private dbus-daemon (is the dbus package installed?)");
    let ops = Arc::new(FakeOps::default());
    let service = serve(
        BusChoice::Address(bus.address.clone()),
        HandlerInfo::builtin(),
        ops.clone(),
    )
    .unwrap();
    Some((bus, service, ops))
}

#[test]
fn targetcli_view_of_the_service() {
    let Some((bus, service, ops)) = start() else {
        return;
    };
    let conn = bus.client();
    managed_objects(&conn);
    config_desc_property(&conn);
    check_config_calls(&conn, &ops);
    change_medium_calls(&conn, &ops);
    register_handler_refused(&conn);
    second_instance_refused(&bus);
    drop(service);
    let dbus = zbus::blocking::fdo::DBusProxy::new(&conn).unwrap();
    let owned = dbus.name_has_owner(BUS_NAME.try_into().unwrap()).unwrap();
    assert!(!owned, "name still owned after the service was dropped");
}

fn managed_objects(conn: &Connection) {
    let objects: ManagedObjects = call(
        conn,
        ROOT_PATH,
        "org.freedesktop.DBus.ObjectManager",
        "GetManagedObjects",
        &(),
    );
    let mut paths: Vec<_> = objects.keys().map(|p| p.as_str().to_owned()).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/org/kernel/TCMUService1/file",
            "/org/kernel/TCMUService1/glfs",
            "/org/kernel/TCMUService1/ram",
        ]
    );
    for s in Subtype::ALL {
        let path = OwnedObjectPath::try_from(format!("{ROOT_PATH}/{}", s.name())).unwrap();
        let ifaces = &objects[&path];
        assert_eq!(ifaces.keys().collect::<Vec<_>>(), [HANDLER_INTERFACE]);
        let desc = String::try_from(ifaces[HANDLER_INTERFACE]["ConfigDesc"].clone()).unwrap();
        assert_eq!(desc, s.config_desc());
    }
}

fn config_desc_property(conn: &Connection) {
    let path = format!("{ROOT_PATH}/glfs");
    let (value,): (OwnedValue,) = call(
        conn,
        &path,
        "org.freedesktop.DBus.Properties",
        "Get",
        &(HANDLER_INTERFACE, "ConfigDesc"),
    );
    let desc = String::try_from(value).unwrap();
    assert!(desc.contains("volume@server[+server...]/path/in/volume"));
}

fn check_config_calls(conn: &Connection, ops: &FakeOps) {
    let tmp = std::env::temp_dir();
    let ok_file = format!("file/{}/gt-new.img;direct=1", tmp.display());
    assert_eq!(check(conn, "file", &ok_file), (true, "success".into()));
    assert_eq!(
        check(conn, "file", "file/var/x.img"),
        (
            false,
            "backing file path \"var/x.img\" is not absolute; it must start with '/'".into()
        )
    );
    assert_eq!(
        check(conn, "file", "file//nonexistent-dir/x.img"),
        (
            false,
            "/nonexistent-dir/x.img does not exist and cannot be created: directory /nonexistent-dir does not exist".into()
        )
    );
    assert_eq!(check(conn, "ram", "ram/"), (true, "success".into()));
    assert_eq!(
        check(conn, "ram", "glfs/gv0@h/p"),
        (
            false,
            "config string is for handler \"glfs\" but was sent to handler \"ram\"".into()
        )
    );
    assert_eq!(
        check(conn, "glfs", "glfs/gv0@h1+h2/img"),
        (true, "success".into())
    );
    assert_eq!(
        check(conn, "glfs", "glfs/down@h1/img"),
        (false, "cannot reach volume down within 10 s".into())
    );
    assert_eq!(
        check(conn, "glfs", "glfs/gv0@h1,h2/img"),
        (
            false,
            "',' is not allowed in a config string: the kernel splits its control file on ','"
                .into()
        )
    );
    // Only strings the cfgstring module accepted reach the injected checker.
    let checked = ops.checked.lock().unwrap();
    let kinds: Vec<_> = checked.iter().map(|c| c.subtype()).collect();
    assert_eq!(
        kinds,
        [Subtype::File, Subtype::Ram, Subtype::Glfs, Subtype::Glfs]
    );
}

fn change_medium_calls(conn: &Connection, ops: &FakeOps) {
    let path = format!("{ROOT_PATH}/ram");
    let medium = |name: &str, size: u64, cfg: &str| -> (i32, String) {
        call(
            conn,
            &path,
            HANDLER_INTERFACE,
            "ChangeMedium",
            &(name, size, cfg),
        )
    };
    assert_eq!(medium("lun0", 1 << 30, "ram/"), (0, "success".into()));
    assert_eq!(
        medium("missing", 1 << 30, "ram/wce=1"),
        (-libc::ENODEV, "no LUN named missing".into())
    );
    assert_eq!(
        medium("lun0", 1 << 30, "ram/wce=2"),
        (-libc::EINVAL, "option wce=\"2\": expected 0 or 1".into())
    );
    let changed = ops.changed.lock().unwrap();
    assert_eq!(
        *changed,
        [
            ("lun0".to_owned(), 1 << 30, "ram/".to_owned()),
            ("missing".to_owned(), 1 << 30, "ram/wce=1".to_owned()),
        ]
    );
}

fn register_handler_refused(conn: &Connection) {
    let (ok, msg): (bool, String) = call(
        conn,
        HANDLER_MANAGER_PATH,
        "org.kernel.TCMUService1.HandlerManager1",
        "RegisterHandler",
        &("qcow", "qcow image path"),
    );
    assert!(!ok);
    assert_eq!(
        msg,
        "gluster-tcmu does not accept external handlers; \"qcow\" was not registered (built-in handlers: file, glfs, ram)"
    );
}

fn second_instance_refused(bus: &PrivateBus) {
    let other = serve(
        BusChoice::Address(bus.address.clone()),
        HandlerInfo::builtin(),
        Arc::new(FakeOps::default()),
    );
    assert!(matches!(other, Err(DbusError::NameTaken)), "{other:?}");
}

/// The same calls through GLib's client, the way targetcli makes them (Debian's
/// python3-gi, installed by tests/install-host-deps.sh).
#[test]
fn gio_client_sees_what_targetcli_needs() {
    let python = "/usr/bin/python3";
    let has_gi = Command::new(python)
        .args(["-c", "from gi.repository import Gio"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        has_gi,
        "python3-gi is missing: run tests/install-host-deps.sh"
    );
    let Some((bus, _service, ops)) = start() else {
        return;
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/targetcli_gio_client.py");
    let out = Command::new(python)
        .arg(script)
        .args(["ram/", "glfs/gv0@h1+h2/img", "glfs/gv0@h1/", "file/rel"])
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let mut expected: Vec<String> = ["file", "glfs", "ram"]
        .iter()
        .map(|name| {
            let desc = Subtype::from_name(name).unwrap().config_desc();
            format!("backstore\tuser:{name}\t{}", desc.replace('\n', "\\n"))
        })
        .collect();
    expected.extend([
        "check\tram/\tTrue\tsuccess".to_owned(),
        "check\tglfs/gv0@h1+h2/img\tTrue\tsuccess".to_owned(),
        "check\tglfs/gv0@h1/\tFalse\tmissing the path inside the volume after the server, as in volume@server/path".to_owned(),
        "check\tfile/rel\tFalse\tbacking file path \"rel\" is not absolute; it must start with '/'".to_owned(),
        "change\t0\tsuccess".to_owned(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().collect::<Vec<_>>(), expected);
    let changed = ops.changed.lock().unwrap();
    assert_eq!(*changed, [("lun9".to_owned(), 4096, "ram/".to_owned())]);
}

/// Sends one method call to a handler object as user nobody (through `setpriv` and
/// `dbus-send`) and returns the reply's values as dbus-send prints them, one per line.
fn call_as_nobody(bus: &PrivateBus, subtype: &str, method: &str, args: &[&str]) -> Vec<String> {
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "dbus-send",
        ])
        .arg(format!("--bus={}", bus.address))
        .args(["--print-reply", &format!("--dest={BUS_NAME}")])
        .arg(format!("{ROOT_PATH}/{subtype}"))
        .arg(format!("{HANDLER_INTERFACE}.{method}"))
        .args(args)
        .output()
        .expect("setpriv and dbus-send (util-linux, dbus)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .skip(1)
        .map(|l| l.trim().to_owned())
        .collect()
}

/// An unprivileged caller's CheckConfig checks the syntax only: the service neither asks
/// its checker (which connects to the volume) nor looks at the file; and ChangeMedium is
/// refused even on a bus whose policy lets the call through.
#[test]
fn unprivileged_callers_get_a_syntax_check_only() {
    use std::os::unix::fs::MetadataExt;
    if std::fs::metadata("/proc/self").unwrap().uid() != 0 {
        eprintln!("skipped: calling as another user needs root");
        return;
    }
    let Some((bus, _service, ops)) = start() else {
        return;
    };
    let syntax_only = [
        "boolean true".to_owned(),
        format!("string \"{SYNTAX_ONLY}\""),
    ];
    for (subtype, cfg) in [
        ("glfs", "glfs/down@attacker.example/img"),
        ("file", "file//nonexistent-dir/x.img"),
        ("file", "file//root/.ssh/id_rsa"),
    ] {
        let reply = call_as_nobody(&bus, subtype, "CheckConfig", &[&format!("string:{cfg}")]);
        assert_eq!(reply, syntax_only, "{cfg}");
    }
    let reply = call_as_nobody(&bus, "file", "CheckConfig", &["string:file/var/x.img"]);
    assert_eq!(reply[0], "boolean false");
    assert!(reply[1].contains("is not absolute"), "{reply:?}");
    assert!(
        ops.checked.lock().unwrap().is_empty(),
        "no volume was reached"
    );
    let args = ["string:lun0", "uint64:4096", "string:ram/"];
    let reply = call_as_nobody(&bus, "ram", "ChangeMedium", &args);
    assert_eq!(reply[0], format!("int32 {}", -libc::EPERM));
    assert!(ops.changed.lock().unwrap().is_empty());
}

#[test]
fn bad_subtype_is_refused_before_connecting() {
    let info = HandlerInfo {
        subtype: "no-dashes".into(),
        config_desc: String::new(),
    };
    let r = serve(
        BusChoice::Address("unix:path=/nonexistent".into()),
        vec![info],
        Arc::new(FakeOps::default()),
    );
    assert!(
        matches!(&r, Err(DbusError::BadSubtype(s)) if s == "no-dashes"),
        "{r:?}"
    );
}
