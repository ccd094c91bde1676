//! CreateVolume from a volume (CLONE_VOLUME) over gRPC against the real driver process,
//! its controller on the loopback Gluster volume gt1: the clone holds the source's
//! bytes and says where they came from, and each refusal has the code the
//! specification's CreateVolume table gives it. Every volume a test makes is deleted at
//! its end. Fails (never skips) without the volumes: run tests/gluster/setup.sh.

mod driver;

use driver::*;
use gluster_tcmu::export::report::{
    ExportStatus, GatewayReport, REPORT_VERSION, StatusState, unix_now,
};
use gluster_tcmu::export::{ExportName, GlfsVolumes, MetaStore, StoreOpener, VolumeAddr, layout};
use gluster_tcmu::glfs::ConnectOptions;
use gluster_tcmu_csi::proto::*;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tonic::Code;

const VOLUME: &str = "gt1";

/// gt1, one connection for the whole test process (a connection finished while the
/// shard translator removes shards in the background crashes gluster 10.3).
fn store() -> Arc<dyn MetaStore> {
    static STORE: OnceLock<Arc<dyn MetaStore>> = OnceLock::new();
    STORE
        .get_or_init(|| {
            let connect = ConnectOptions {
                deadline: Duration::from_secs(20),
                log_file: "/var/log/gluster-tcmu/gfapi-tests.log".into(),
                log_level: 5,
                ..Default::default()
            };
            let addr = VolumeAddr::parse(&format!("{VOLUME}@{HOST}")).unwrap();
            GlfsVolumes::new(connect).open(&addr).unwrap()
        })
        .clone()
}

/// The export name of a volume ID.
fn name_of(volume_id: &str) -> ExportName {
    ExportName::parse(volume_id.rsplit('/').next().unwrap()).unwrap()
}

/// The image of volume `volume_id`, whole.
fn image(volume_id: &str) -> Vec<u8> {
    let path = layout::image(&name_of(volume_id));
    let store = store();
    let size = store.size_of(&path).unwrap().unwrap();
    let file = store.open_image(&path).unwrap();
    let mut out = vec![0u8; size as usize];
    let mut at = 0;
    while at < out.len() {
        match file.read_at(&mut out[at..], at as u64).unwrap() {
            0 => panic!("{path} ends at {at}"),
            n => at += n,
        }
    }
    out
}

/// Writes a pattern into the first MiB of volume `volume_id`'s image.
fn write_pattern(volume_id: &str) {
    let path = layout::image(&name_of(volume_id));
    let store = store();
    let file = store.open_image(&path).unwrap();
    let pattern: Vec<u8> = (0..MIB).map(|i| (i % 251) as u8 + 1).collect();
    file.write_all_at(&pattern, 0).unwrap();
    file.sync().unwrap();
}

fn from_volume(volume_id: &str) -> Option<VolumeContentSource> {
    Some(VolumeContentSource {
        r#type: Some(volume_content_source::Type::Volume(
            volume_content_source::VolumeSource {
                volume_id: volume_id.into(),
            },
        )),
    })
}

fn clone_request(name: &str, source: &str, range: Option<CapacityRange>) -> CreateVolumeRequest {
    CreateVolumeRequest {
        capacity_range: range,
        volume_content_source: from_volume(source),
        ..create_request(name, VOLUME, MIB)
    }
}

/// A source volume of 8 MiB with a pattern in its first MiB.
async fn source(ch: &tonic::transport::Channel, cleanup: &Cleanup) -> Volume {
    let made = controller(ch)
        .create_volume(create_request(&unique("src"), VOLUME, 8 * MIB))
        .await
        .unwrap()
        .into_inner()
        .volume
        .unwrap();
    cleanup.add(&made.volume_id);
    write_pattern(&made.volume_id);
    made
}

#[tokio::test(flavor = "multi_thread")]
async fn a_volume_cloned_over_grpc_holds_the_sources_bytes() {
    let driver = Driver::start(VOLUME, None);
    let ch = driver.channel().await;
    let cleanup = Cleanup::new(&driver);
    let src = source(&ch, &cleanup).await;
    let req = clone_request(&unique("clone"), &src.volume_id, None);
    let made = controller(&ch)
        .create_volume(req.clone())
        .await
        .unwrap()
        .into_inner();
    let v = made.volume.clone().unwrap();
    cleanup.add(&v.volume_id);
    assert_eq!(v.capacity_bytes, 8 * MIB, "no range: the source's size");
    assert_eq!(v.content_source, from_volume(&src.volume_id));
    assert!(
        image(&v.volume_id) == image(&src.volume_id),
        "the copy differs"
    );
    let again = controller(&ch).create_volume(req.clone()).await.unwrap();
    assert_eq!(
        again.into_inner(),
        made,
        "a repeated request: the same volume"
    );
    // The same name from another source, or from none: another volume.
    let other = source(&ch, &cleanup).await;
    let mut elsewhere = req.clone();
    elsewhere.volume_content_source = from_volume(&other.volume_id);
    let mut plain = req.clone();
    plain.volume_content_source = None;
    for changed in [elsewhere, plain] {
        let err = controller(&ch).create_volume(changed).await.unwrap_err();
        assert_eq!(err.code(), Code::AlreadyExists, "{}", err.message());
        assert!(err.message().contains("clone_of"), "{}", err.message());
    }
    // A larger clone: the source's bytes, then zeroes.
    let larger = CapacityRange {
        required_bytes: 12 * MIB,
        limit_bytes: 0,
    };
    let big = controller(&ch)
        .create_volume(clone_request(&unique("big"), &src.volume_id, Some(larger)))
        .await
        .unwrap()
        .into_inner()
        .volume
        .unwrap();
    cleanup.add(&big.volume_id);
    assert_eq!(big.capacity_bytes, 12 * MIB);
    let bytes = image(&big.volume_id);
    assert!(
        bytes[..8 << 20] == image(&src.volume_id)[..],
        "the copy differs"
    );
    assert!(bytes[8 << 20..].iter().all(|b| *b == 0), "the tail");
    cleanup.run().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn clones_that_cannot_be_made_have_the_specifications_codes() {
    let driver = Driver::start(VOLUME, None);
    let ch = driver.channel().await;
    let cleanup = Cleanup::new(&driver);
    let src = source(&ch, &cleanup).await;
    let name = unique("refused");
    let missing = format!("{VOLUME}@{HOST}/{}", unique("nosuch"));
    let elsewhere = format!("gt3@{HOST}/{}", name_of(&src.volume_id));
    let smaller = CapacityRange {
        required_bytes: MIB,
        limit_bytes: 4 * MIB,
    };
    let cases = [
        (
            "a source that does not exist",
            missing.clone(),
            None,
            Code::NotFound,
        ),
        (
            "not a volume ID",
            "not/ours@".to_owned(),
            None,
            Code::NotFound,
        ),
        (
            "a source on another volume",
            elsewhere,
            None,
            Code::InvalidArgument,
        ),
        (
            "an empty source ID",
            String::new(),
            None,
            Code::InvalidArgument,
        ),
        (
            "a limit below the source's size",
            src.volume_id.clone(),
            Some(smaller),
            Code::OutOfRange,
        ),
    ];
    for (what, source, range, want) in cases {
        let err = controller(&ch)
            .create_volume(clone_request(&name, &source, range))
            .await
            .unwrap_err();
        assert_eq!(err.code(), want, "{what}: {}", err.message());
    }
    // A source an initiator is logged in to (as a gateway's fresh report says).
    let portal: std::net::SocketAddr = format!("127.0.0.1:{}", 20000 + std::process::id() % 20000)
        .parse()
        .unwrap();
    let status = ExportStatus {
        state: StatusState::Ready,
        reason: None,
        size: 8 << 20,
        generation: 2,
        sessions: vec!["iqn.1994-05.com.redhat:node1".into()],
        path: None,
    };
    let report = GatewayReport {
        version: REPORT_VERSION,
        gateway: portal,
        updated: unix_now(),
        poll_secs: 3,
        problem: None,
        exports: [(name_of(&src.volume_id).to_string(), status)]
            .into_iter()
            .collect(),
    };
    let path = layout::report(&portal);
    store()
        .replace(&path, &report.to_json(), layout::REPORT_MODE)
        .unwrap();
    let busy = controller(&ch)
        .create_volume(clone_request(&name, &src.volume_id, None))
        .await;
    store().remove(&path).unwrap();
    let err = busy.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{}", err.message());
    assert!(
        err.message().contains("initiators logged in"),
        "{}",
        err.message()
    );
    // Nothing was made by any of them.
    let gone = controller(&ch)
        .validate_volume_capabilities(ValidateVolumeCapabilitiesRequest {
            volume_id: format!("{VOLUME}@{HOST}/{name}"),
            volume_capabilities: vec![writer()],
            ..Default::default()
        })
        .await;
    assert_eq!(gone.map(drop).unwrap_err().code(), Code::NotFound);
    cleanup.run().await;
}
