//! The D-Bus service targetcli looks for: without it, `targetcli` shows no `user:`
//! backstores and cannot create `user:glfs` LUNs.
//!
//! What targetcli-fb (`ui_backstore.py`) does, and what we therefore export on the bus
//! name [`BUS_NAME`]:
//!
//! * `GetManagedObjects()` on `org.freedesktop.DBus.ObjectManager` at [`ROOT_PATH`]; every
//!   returned path `/org/kernel/TCMUService1/<subtype>` becomes `/backstores/user:<subtype>`
//!   and its `ConfigDesc` property is printed by `help create`.
//! * `CheckConfig(s) -> (b, s)` with `"<subtype>/<cfgstring>"` before `create`; a false
//!   answer aborts with `"cfgstring invalid: <message>"`.
//! * `ChangeMedium(s name, t size, s config) -> (i, s)` for `changemedium`, `config` again
//!   `"<subtype>/<cfgstring>"`; rc 0 is success, anything else shows the message.
//!
//! tcmu-runner also exports `HandlerManager1.RegisterHandler` for out-of-process handlers;
//! we answer it with a refusal so such a handler fails loudly instead of waiting forever.
//!
//! The ObjectManager is our own rather than `zbus::fdo::ObjectManager`: zbus's lists every
//! object below the root, which would include `HandlerManager1` and make targetcli show a
//! bogus `user:HandlerManager1` backstore. The handler set never changes while we run, so
//! there are no `InterfacesAdded` signals to send; the bus name is requested only after
//! every object is exported.
//!
//! Who may do what: the policy file (`systemd/org.kernel.TCMUService1.conf`) lets anyone
//! list the handlers, read `ConfigDesc` and call `CheckConfig`, and only root call
//! `ChangeMedium`. The service asks the bus for each caller's Unix user
//! (`GetConnectionUnixUser`) and decides again itself, so a missing or edited policy
//! file gives no one more: for a [`Caller::Unprivileged`], `CheckConfig` checks the
//! string's syntax only (the root daemon neither connects to the Gluster servers it
//! names nor looks at the file it names, which would let any user probe servers and
//! root-only paths), and `ChangeMedium` is refused with `-EPERM`.
//!
//! Method calls run on zbus's own executor thread, and anything slow (a `glfs` volume
//! probe, a medium change) is moved to a blocking pool, so neither the data path nor other
//! D-Bus callers wait on it.

#![forbid(unsafe_code)]

use crate::cfgstring::{self, CfgStringError, Subtype, SubtypeConfig};
use crate::error_text::admin_message;
use std::collections::HashMap;
use std::sync::Arc;
use zbus::fdo::{RequestNameFlags, RequestNameReply};
use zbus::message::Header;
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

/// The well-known name tcmu-runner owns and targetcli calls.
pub const BUS_NAME: &str = "org.kernel.TCMUService1";
/// Path of the ObjectManager; handler objects live right below it.
pub const ROOT_PATH: &str = "/org/kernel/TCMUService1";
/// Interface carried by each handler object.
pub const HANDLER_INTERFACE: &str = "org.kernel.TCMUService1";
/// Path of tcmu-runner's handler registration object.
pub const HANDLER_MANAGER_PATH: &str = "/org/kernel/TCMUService1/HandlerManager1";

/// Which bus to serve on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusChoice {
    /// The system bus, where targetcli looks.
    System,
    /// A bus at a D-Bus address (tests, private buses).
    Address(String),
}

/// One `user:<subtype>` backstore as targetcli sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerInfo {
    /// The subtype; also the last element of the object path.
    pub subtype: String,
    /// The `ConfigDesc` property.
    pub config_desc: String,
}

impl From<Subtype> for HandlerInfo {
    fn from(s: Subtype) -> Self {
        Self {
            subtype: s.name().to_owned(),
            config_desc: s.config_desc().to_owned(),
        }
    }
}

impl HandlerInfo {
    /// Every subtype the cfgstring module knows.
    pub fn builtin() -> Vec<HandlerInfo> {
        Subtype::ALL.into_iter().map(HandlerInfo::from).collect()
    }
}

/// What the service cannot decide itself; implemented by the daemon.
///
/// Both methods may block (they run on a blocking pool, never on the data path).
pub trait ServiceOps: Send + Sync + 'static {
    /// Checks that the outside world can serve `config`, after the cfgstring module has
    /// accepted the string (for `file` including [`cfgstring::file::check_on_disk`]). For
    /// `glfs` this is where the volume is reached within a deadline. `Err` carries the
    /// sentence shown to the admin.
    fn check_config(&self, config: &SubtypeConfig) -> Result<(), String>;

    /// Resizes or swaps the backing store of the live LUN whose storage object is `name`.
    /// `dev_config` is the new `"<subtype>/<cfgstring>"` as targetcli sent it, `config` its
    /// parsed form. `Err` carries a negative errno and the message for the admin.
    fn change_medium(
        &self,
        name: &str,
        size: u64,
        dev_config: &str,
        config: &SubtypeConfig,
    ) -> Result<(), (i32, String)>;
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum DbusError {
    /// A subtype that cannot be an object path element.
    #[error("handler subtype {0:?} cannot be a D-Bus object path element")]
    BadSubtype(String),
    /// Connecting or exporting objects failed.
    #[error("cannot set up the D-Bus service")]
    Setup(#[source] zbus::Error),
    /// Asking the bus for [`BUS_NAME`] failed.
    #[error("cannot request the bus name {BUS_NAME}")]
    RequestName(#[source] zbus::Error),
    /// Someone else owns [`BUS_NAME`].
    #[error("the bus name {BUS_NAME} is owned by another process (tcmu-runner?)")]
    NameTaken,
}

/// The running service; serves until dropped, then gives the bus name back.
#[derive(Debug)]
pub struct DbusService {
    connection: Option<zbus::blocking::Connection>,
}

impl DbusService {
    /// Our unique connection name (`:1.42`), for logs and tests.
    pub fn unique_name(&self) -> Option<String> {
        let conn = self.connection.as_ref()?;
        conn.unique_name().map(|n| n.to_string())
    }
}

impl Drop for DbusService {
    fn drop(&mut self) {
        if let Some(conn) = self.connection.take() {
            // Best effort: the bus frees the name when the socket closes anyway.
            let _ = conn.release_name(BUS_NAME);
            let _ = conn.close();
        }
    }
}

/// Exports the handler objects, the ObjectManager and `HandlerManager1` on `bus`, then
/// takes [`BUS_NAME`]. Returns once the name is ours.
pub fn serve(
    bus: BusChoice,
    handlers: Vec<HandlerInfo>,
    ops: Arc<dyn ServiceOps>,
) -> Result<DbusService, DbusError> {
    let mut builder = match &bus {
        BusChoice::System => zbus::blocking::connection::Builder::system(),
        BusChoice::Address(addr) => zbus::blocking::connection::Builder::address(addr.as_str()),
    }
    .map_err(DbusError::Setup)?;
    for info in &handlers {
        let object = HandlerObject {
            subtype: info.subtype.clone(),
            config_desc: info.config_desc.clone(),
            ops: Arc::clone(&ops),
        };
        builder = builder
            .serve_at(handler_path(&info.subtype)?, object)
            .map_err(DbusError::Setup)?;
    }
    let connection = builder
        .serve_at(ROOT_PATH, ObjectManager { handlers })
        .and_then(|b| b.serve_at(HANDLER_MANAGER_PATH, HandlerManager))
        .and_then(|b| b.build())
        .map_err(DbusError::Setup)?;
    take_name(&connection)?;
    Ok(DbusService {
        connection: Some(connection),
    })
}

/// Owns [`BUS_NAME`] or fails: queueing behind tcmu-runner would leave targetcli talking
/// to the wrong daemon.
fn take_name(connection: &zbus::blocking::Connection) -> Result<(), DbusError> {
    let flags = RequestNameFlags::DoNotQueue.into();
    match connection.request_name_with_flags(BUS_NAME, flags) {
        Ok(RequestNameReply::PrimaryOwner | RequestNameReply::AlreadyOwner) => Ok(()),
        Ok(RequestNameReply::InQueue | RequestNameReply::Exists) => Err(DbusError::NameTaken),
        Err(zbus::Error::NameTaken) => Err(DbusError::NameTaken),
        Err(e) => Err(DbusError::RequestName(e)),
    }
}

/// `/org/kernel/TCMUService1/<subtype>`, refusing subtypes D-Bus paths cannot carry.
fn handler_path(subtype: &str) -> Result<OwnedObjectPath, DbusError> {
    let valid = !subtype.is_empty()
        && subtype
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let bad = || DbusError::BadSubtype(subtype.to_owned());
    if !valid {
        return Err(bad());
    }
    OwnedObjectPath::try_from(format!("{ROOT_PATH}/{subtype}")).map_err(|_| bad())
}

/// Who sent a method call, as far as what the service does for them goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// root, or the daemon's own user: `CheckConfig` reaches volumes and looks at files,
    /// `ChangeMedium` runs.
    Privileged,
    /// Anyone else, or a caller the bus could not name: `CheckConfig` checks the syntax
    /// only, `ChangeMedium` is refused.
    Unprivileged,
}

impl Caller {
    /// The caller whose Unix user is `uid`; `None` (the bus did not say) is unprivileged.
    pub fn from_uid(uid: Option<u32>) -> Caller {
        let own = rustix::process::geteuid().as_raw();
        match uid {
            Some(uid) if uid == 0 || uid == own => Caller::Privileged,
            _ => Caller::Unprivileged,
        }
    }

    /// The sender of the call `header` belongs to, asked of the bus.
    async fn of(connection: &zbus::Connection, header: &Header<'_>) -> Caller {
        let Some(sender) = header.sender() else {
            return Caller::from_uid(None);
        };
        let uid = match zbus::fdo::DBusProxy::new(connection).await {
            Ok(bus) => bus
                .get_connection_unix_user(sender.clone().into())
                .await
                .ok(),
            Err(_) => None,
        };
        Caller::from_uid(uid)
    }
}

/// Parses `"<subtype>/<cfg>"` sent to the object of `subtype`: the syntax only, touching
/// no file and no network.
pub fn parse_for(subtype: &str, dev_config: &str) -> Result<SubtypeConfig, CfgStringError> {
    let (named, cfg) = cfgstring::split_subtype(dev_config)?;
    if named != subtype {
        return Err(CfgStringError::WrongSubtype {
            expected: subtype.to_owned(),
            found: named.to_owned(),
        });
    }
    Subtype::from_name(named)?.parse(cfg)
}

/// Parses `"<subtype>/<cfg>"` sent to the object of `subtype` and runs the local checks.
pub fn validate(subtype: &str, dev_config: &str) -> Result<SubtypeConfig, CfgStringError> {
    let config = parse_for(subtype, dev_config)?;
    if let SubtypeConfig::File(file) = &config {
        cfgstring::file::check_on_disk(file)?;
    }
    Ok(config)
}

/// What `CheckConfig` answers an unprivileged caller whose string parses.
pub const SYNTAX_ONLY: &str =
    "success (syntax only: the volume and the file are checked when root asks)";

/// The `CheckConfig` answer: `(true, "success")` as tcmu-runner says, or the reason. An
/// unprivileged caller gets the syntax check only ([`SYNTAX_ONLY`]).
pub fn check_config_reply(
    subtype: &str,
    dev_config: &str,
    caller: Caller,
    ops: &dyn ServiceOps,
) -> (bool, String) {
    if caller == Caller::Unprivileged {
        return match parse_for(subtype, dev_config) {
            Ok(_) => (true, SYNTAX_ONLY.to_owned()),
            Err(e) => (false, admin_message(&e)),
        };
    }
    let outcome = validate(subtype, dev_config)
        .map_err(|e| admin_message(&e))
        .and_then(|config| ops.check_config(&config));
    match outcome {
        Ok(()) => (true, "success".to_owned()),
        Err(reason) => (false, reason),
    }
}

/// The `ChangeMedium` answer: `(0, "success")` or a negative errno and the reason. A
/// non-negative errno from `ops` becomes `-EIO` so targetcli never mistakes it for success.
/// An unprivileged caller gets `-EPERM`.
pub fn change_medium_reply(
    subtype: &str,
    name: &str,
    size: u64,
    dev_config: &str,
    caller: Caller,
    ops: &dyn ServiceOps,
) -> (i32, String) {
    if caller == Caller::Unprivileged {
        return (
            -libc::EPERM,
            "only root may change a LUN's medium".to_owned(),
        );
    }
    if name.is_empty() {
        return (-libc::EINVAL, "missing the storage object name".to_owned());
    }
    let config = match validate(subtype, dev_config) {
        Ok(config) => config,
        Err(e) => return (-libc::EINVAL, admin_message(&e)),
    };
    match ops.change_medium(name, size, dev_config, &config) {
        Ok(()) => (0, "success".to_owned()),
        Err((rc, msg)) if rc < 0 => (rc, msg),
        Err((_, msg)) => (-libc::EIO, msg),
    }
}

/// One handler object, `/org/kernel/TCMUService1/<subtype>`.
struct HandlerObject {
    subtype: String,
    config_desc: String,
    ops: Arc<dyn ServiceOps>,
}

#[zbus::interface(name = "org.kernel.TCMUService1")]
impl HandlerObject {
    /// Help text for `targetcli ... help create`.
    #[zbus(property(emits_changed_signal = "const"))]
    fn config_desc(&self) -> String {
        self.config_desc.clone()
    }

    /// `(is_valid, message)` for `"<subtype>/<cfgstring>"`.
    async fn check_config(
        &self,
        configstr: String,
        #[zbus(connection)] connection: &zbus::Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> (bool, String) {
        let caller = Caller::of(connection, &header).await;
        let (subtype, ops) = (self.subtype.clone(), Arc::clone(&self.ops));
        blocking::unblock(move || check_config_reply(&subtype, &configstr, caller, ops.as_ref()))
            .await
    }

    /// `(rc, message)`; rc 0 is success, otherwise a negative errno.
    async fn change_medium(
        &self,
        name: String,
        size: u64,
        config: String,
        #[zbus(connection)] connection: &zbus::Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> (i32, String) {
        let caller = Caller::of(connection, &header).await;
        let (subtype, ops) = (self.subtype.clone(), Arc::clone(&self.ops));
        blocking::unblock(move || {
            change_medium_reply(&subtype, &name, size, &config, caller, ops.as_ref())
        })
        .await
    }
}

/// One interface's properties, by name.
type Properties = HashMap<String, OwnedValue>;
/// One object's interfaces, by name.
type Interfaces = HashMap<String, Properties>;
/// `GetManagedObjects`' answer: every object's interfaces, by path.
type ManagedObjects = HashMap<OwnedObjectPath, Interfaces>;

/// `org.freedesktop.DBus.ObjectManager` listing only the handler objects.
struct ObjectManager {
    handlers: Vec<HandlerInfo>,
}

#[zbus::interface(name = "org.freedesktop.DBus.ObjectManager")]
impl ObjectManager {
    /// Every handler object with its `org.kernel.TCMUService1` properties.
    fn get_managed_objects(&self) -> zbus::fdo::Result<ManagedObjects> {
        self.handlers.iter().map(managed_object).collect()
    }
}

fn managed_object(info: &HandlerInfo) -> zbus::fdo::Result<(OwnedObjectPath, Interfaces)> {
    let path = handler_path(&info.subtype).map_err(|e| zbus::fdo::Error::Failed(e.to_string()))?;
    let desc = OwnedValue::try_from(Value::from(info.config_desc.as_str()))
        .map_err(|e| zbus::fdo::Error::Failed(e.to_string()))?;
    let props = HashMap::from([("ConfigDesc".to_owned(), desc)]);
    Ok((path, HashMap::from([(HANDLER_INTERFACE.to_owned(), props)])))
}

/// tcmu-runner's registration point for out-of-process handlers, which we do not load.
struct HandlerManager;

#[zbus::interface(name = "org.kernel.TCMUService1.HandlerManager1")]
impl HandlerManager {
    /// Always `(false, reason)`.
    fn register_handler(&self, subtype: String, cfgstr_desc: String) -> (bool, String) {
        let _ = cfgstr_desc;
        (false, register_refusal(&subtype))
    }
}

/// The reason `RegisterHandler` gives.
pub fn register_refusal(subtype: &str) -> String {
    format!(
        "gluster-tcmu does not accept external handlers; {subtype:?} was not registered \
         (built-in handlers: file, glfs, ram)"
    )
}
