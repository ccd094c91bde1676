//! The iSCSI initiator through `iscsiadm` (open-iscsi): node records made directly for
//! each portal (never a SendTargets discovery, which can hang on a gateway that is down
//! and would record every target the gateway has), CHAP set on them, login, logout, and
//! the sessions there are.

use super::host::{Cmd, Host, Output};
use crate::core::ChapRecord;
use std::net::SocketAddr;
use std::time::Duration;
use tonic::Status;

pub const ISCSIADM: &str = "iscsiadm";
/// `iscsiadm` exit codes (open-iscsi's iscsi_err.h).
pub const ERR_SESSION_EXISTS: i32 = 15;
pub const ERR_NO_OBJECTS: i32 = 21;
pub const ERR_LOGIN_AUTH_FAILED: i32 = 24;
/// How many times a first login to a portal is tried, each for `node.conn[0].timeo.
/// login_timeout` (15 s). open-iscsi's default, 8, spends 120 s on a gateway that is down:
/// all of the 2 minutes the kubelet gives a NodeStageVolume call, so the kubelet would
/// cancel it before it could answer UNAVAILABLE, and a multipath volume would wait that
/// long for each gateway down. 2 gives up after about 30 s.
pub const LOGIN_TRIES: &str = "2";
/// The longest an iscsiadm call may take: a login with open-iscsi's defaults (a record
/// made by hand) tries for 15 s times 8.
const LIMIT: Duration = Duration::from_secs(150);

/// One logged-in session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The session id (`/sys/class/iscsi_session/session<sid>`).
    pub sid: u32,
    pub portal: SocketAddr,
    pub iqn: String,
}

/// Runs iscsiadm with `args`.
fn iscsiadm(host: &dyn Host, cmd: Cmd) -> Result<Output, Status> {
    host.run(&cmd, LIMIT)
        .map_err(|e| Status::internal(format!("cannot run {}: {e}", cmd.program)))
}

fn node(iqn: &str, portal: &SocketAddr) -> Cmd {
    let portal = portal.to_string();
    Cmd::new(ISCSIADM).args(["-m", "node", "-T", iqn, "-p", &portal, "-I", "default"])
}

fn failed(what: &str, out: &Output) -> Status {
    Status::internal(format!(
        "iscsiadm {what} failed (exit {:?}): {}",
        out.code,
        out.stderr.trim()
    ))
}

/// Makes the node record of `iqn` at `portal` with the settings the driver wants: CHAP
/// from `chap` (or none), no login at boot (the kubelet stages volumes again), and few
/// tries of a first login ([`LOGIN_TRIES`]).
pub fn make_record(
    host: &dyn Host,
    iqn: &str,
    portal: &SocketAddr,
    chap: Option<&ChapRecord>,
) -> Result<(), Status> {
    let out = iscsiadm(host, node(iqn, portal).args(["-o", "new"]))?;
    if !out.ok() {
        return Err(failed(&format!("new node record {iqn} at {portal}"), &out));
    }
    let mut settings = vec![
        ("node.startup", "manual".to_owned(), false),
        (
            "node.session.initial_login_retry_max",
            LOGIN_TRIES.to_owned(),
            false,
        ),
    ];
    match chap {
        None => settings.push(("node.session.auth.authmethod", "None".into(), false)),
        Some(c) => {
            settings.push(("node.session.auth.authmethod", "CHAP".into(), false));
            settings.push((
                "node.session.auth.username",
                c.initiator.user.clone(),
                false,
            ));
            settings.push((
                "node.session.auth.password",
                c.initiator.secret.clone(),
                true,
            ));
            if let Some(t) = &c.target {
                settings.push(("node.session.auth.username_in", t.user.clone(), false));
                settings.push(("node.session.auth.password_in", t.secret.clone(), true));
            }
        }
    }
    for (key, value, secret) in settings {
        let cmd = node(iqn, portal).args(["-o", "update", "-n", key, "-v"]);
        let cmd = if secret {
            cmd.secret(&value)
        } else {
            cmd.args([&value])
        };
        let out = iscsiadm(host, cmd)?;
        if !out.ok() {
            return Err(failed(&format!("update {key} of {iqn} at {portal}"), &out));
        }
    }
    Ok(())
}

/// Logs in to `iqn` at `portal`; a session already there is fine.
pub fn login(host: &dyn Host, iqn: &str, portal: &SocketAddr) -> Result<(), Status> {
    let out = iscsiadm(host, node(iqn, portal).args(["--login"]))?;
    match out.code {
        Some(0) | Some(ERR_SESSION_EXISTS) => Ok(()),
        Some(ERR_LOGIN_AUTH_FAILED) => Err(Status::permission_denied(format!(
            "the gateway {portal} refused the CHAP credentials for {iqn}: check the \
             node-stage secret (it must hold the credentials the volume was made with)"
        ))),
        _ => Err(Status::unavailable(format!(
            "cannot log in to {iqn} at {portal} (iscsiadm exit {:?}): {}",
            out.code,
            out.stderr.trim()
        ))),
    }
}

/// Logs out of every session of `iqn`; none is fine.
pub fn logout(host: &dyn Host, iqn: &str) -> Result<(), Status> {
    let cmd = Cmd::new(ISCSIADM).args(["-m", "node", "-T", iqn, "--logout"]);
    let out = iscsiadm(host, cmd)?;
    match out.code {
        Some(0) | Some(ERR_NO_OBJECTS) => Ok(()),
        _ => Err(failed(&format!("logout of {iqn}"), &out)),
    }
}

/// Deletes every node record of `iqn`; none is fine.
pub fn delete_records(host: &dyn Host, iqn: &str) -> Result<(), Status> {
    let cmd = Cmd::new(ISCSIADM).args(["-m", "node", "-T", iqn, "-o", "delete"]);
    let out = iscsiadm(host, cmd)?;
    match out.code {
        Some(0) | Some(ERR_NO_OBJECTS) => Ok(()),
        _ => Err(failed(
            &format!("delete of the node records of {iqn}"),
            &out,
        )),
    }
}

/// Asks the target of session `sid` for its LUNs' sizes again.
pub fn rescan(host: &dyn Host, sid: u32) -> Result<(), Status> {
    let sid = sid.to_string();
    let cmd = Cmd::new(ISCSIADM).args(["-m", "session", "-r", &sid, "--rescan"]);
    let out = iscsiadm(host, cmd)?;
    if !out.ok() {
        return Err(failed(&format!("rescan of session {sid}"), &out));
    }
    Ok(())
}

/// The sessions of `iqn`.
pub fn sessions(host: &dyn Host, iqn: &str) -> Result<Vec<Session>, Status> {
    let out = iscsiadm(host, Cmd::new(ISCSIADM).args(["-m", "session"]))?;
    match out.code {
        Some(0) => Ok(parse_sessions(&out.stdout)
            .into_iter()
            .filter(|s| s.iqn == iqn)
            .collect()),
        Some(ERR_NO_OBJECTS) => Ok(Vec::new()),
        _ => Err(failed("session list", &out)),
    }
}

/// Parses `iscsiadm -m session`: `tcp: [SID] IP:PORT,TPGT IQN (non-flash)` per line.
pub fn parse_sessions(text: &str) -> Vec<Session> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace().skip(1);
            let sid = words.next()?.strip_prefix('[')?.strip_suffix(']')?;
            let (portal, _tpgt) = words.next()?.rsplit_once(',')?;
            Some(Session {
                sid: sid.parse().ok()?,
                portal: portal.parse().ok()?,
                iqn: words.next()?.to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_lines() {
        let text = "tcp: [3] 127.0.0.1:3260,1 iqn.2016-12.org.gluster-tcmu:a (non-flash)\n\
                    tcp: [12] [fd00::1]:3261,1 iqn.2016-12.org.gluster-tcmu:b (non-flash)\n\
                    junk\n";
        let s = parse_sessions(text);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].sid, 3);
        assert_eq!(s[1].portal, "[fd00::1]:3261".parse().unwrap());
        assert_eq!(s[1].iqn, "iqn.2016-12.org.gluster-tcmu:b");
    }
}
