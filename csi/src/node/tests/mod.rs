//! The node's command sequences on a fake machine: exactly what runs, that a repeated
//! call does nothing more, and that a failed stage leaves nothing behind.

mod fake;
mod publish;
mod stage;

use super::NodeConfig;
use super::stage::Stage;
use crate::caps::{Access, Wanted};
use crate::context::{Chap, VolumeContext};
use crate::core::{ChapPair, ChapRecord, ExportLocation};
use crate::params::FsType;
use fake::{FakeHost, Target};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

const IQN: &str = "iqn.2016-12.org.gluster-tcmu:pvc-1";
const WWID: &str = "naa.6001405a1b2c3d4e5f60718293a4b5c6";
const P1: &str = "127.0.0.1:3260";
const P2: &str = "127.0.0.2:3260";
const STAGING: &str = "/var/lib/kubelet/plugins/staging/pvc-1";
const TARGET: &str = "/var/lib/kubelet/pods/p1/volumes/pvc-1/mount";
const MIB: u64 = 1 << 20;

fn cfg() -> NodeConfig {
    NodeConfig {
        device_wait: Duration::from_millis(50),
        poll: Duration::from_millis(1),
        ..NodeConfig::new("node-1".into())
    }
}

fn portal(p: &str) -> SocketAddr {
    p.parse().unwrap()
}

fn credentials() -> ChapRecord {
    ChapRecord {
        initiator: ChapPair {
            user: "node-user".into(),
            secret: "initiatorSecret1".into(),
        },
        target: None,
    }
}

/// A machine where the export answers on `up` (with CHAP).
fn machine(up: &[&str]) -> FakeHost {
    let host = FakeHost::default();
    host.add_target(
        IQN,
        Target {
            wwid: WWID.into(),
            size: 64 * MIB,
            up: up.iter().map(|p| portal(p)).collect(),
            chap: Some(("node-user".into(), "initiatorSecret1".into())),
        },
    );
    host
}

fn mount_access(fs_type: Option<FsType>) -> Wanted {
    Wanted {
        access: Access::Mount {
            fs_type,
            flags: Vec::new(),
        },
        read_only: false,
    }
}

/// A stage of the export on `portals`, with CHAP, of a filesystem volume.
fn stage_request(portals: &[&str]) -> Stage {
    Stage {
        location: ExportLocation::parse("gv0@127.0.0.2/pvc-1").unwrap(),
        staging: PathBuf::from(STAGING),
        context: VolumeContext {
            portals: portals.iter().map(|p| portal(p)).collect(),
            iqn: IQN.into(),
            lun: 0,
            wwid: WWID.into(),
            fs_type: FsType::Ext4,
            chap: Chap::OneWay,
        },
        wanted: mount_access(None),
        chap: Some(credentials()),
    }
}

/// What a record update for `portal` looks like in the log.
fn update(portal: &str, key: &str, value: &str) -> String {
    format!("iscsiadm -m node -T {IQN} -p {portal} -I default -o update -n {key} -v {value}")
}

/// The commands that make the record of `portal` with one-way CHAP and log in.
fn login_commands(portal: &str) -> Vec<String> {
    vec![
        format!("iscsiadm -m node -T {IQN} -p {portal} -I default -o new"),
        update(portal, "node.startup", "manual"),
        update(portal, "node.session.initial_login_retry_max", "2"),
        update(portal, "node.session.auth.authmethod", "CHAP"),
        update(portal, "node.session.auth.username", "node-user"),
        update(portal, "node.session.auth.password", "***"),
        format!("iscsiadm -m node -T {IQN} -p {portal} -I default --login"),
    ]
}

/// The commands of an unstage of a single-path volume.
fn teardown_commands() -> Vec<String> {
    vec![
        "iscsiadm -m session".into(),
        format!("iscsiadm -m node -T {IQN} --logout"),
        format!("iscsiadm -m node -T {IQN} -o delete"),
    ]
}
