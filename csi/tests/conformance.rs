//! CSI conformance, written from the specification (the cases csi-sanity checks:
//! required fields, idempotency, error codes, capabilities), against the real driver
//! process over its unix socket, its controller on the loopback Gluster volume gt1.
//! Every volume a test makes is deleted (and checked gone) at its end. Fails (never
//! skips) without the volumes: run tests/gluster/setup.sh.

mod driver;

use driver::*;
use gluster_tcmu_csi::caps;
use gluster_tcmu_csi::identity::DRIVER_NAME;
use gluster_tcmu_csi::proto::plugin_capability::{self, service, volume_expansion};
use gluster_tcmu_csi::proto::volume_capability::access_mode::Mode;
use gluster_tcmu_csi::proto::*;
use std::time::{Duration, Instant};
use tonic::Code;

const VOLUME: &str = "gt1";

fn code<T>(r: Result<tonic::Response<T>, tonic::Status>) -> Code {
    match r {
        Ok(_) => Code::Ok,
        Err(e) => e.code(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn identity_names_the_driver_and_probes_the_volume() {
    let driver = Driver::start(VOLUME, None);
    let ch = driver.channel().await;
    let info = identity(&ch)
        .get_plugin_info(GetPluginInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.name, DRIVER_NAME);
    assert!(!info.vendor_version.is_empty());
    let caps = identity(&ch)
        .get_plugin_capabilities(GetPluginCapabilitiesRequest {})
        .await
        .unwrap()
        .into_inner()
        .capabilities;
    let types: Vec<_> = caps.into_iter().filter_map(|c| c.r#type).collect();
    assert!(types.contains(&plugin_capability::Type::Service(
        plugin_capability::Service {
            r#type: service::Type::ControllerService.into()
        }
    )));
    assert!(types.contains(&plugin_capability::Type::VolumeExpansion(
        plugin_capability::VolumeExpansion {
            r#type: volume_expansion::Type::Online.into()
        }
    )));
    let probe = identity(&ch)
        .probe(ProbeRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(probe.ready, Some(true));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_volume_is_not_ready_and_unavailable() {
    // A glusterd port where nothing listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver = Driver::start(VOLUME, Some(port));
    let ch = driver.channel().await;
    let start = Instant::now();
    let probe = identity(&ch)
        .probe(ProbeRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(probe.ready, Some(false));
    let err = controller(&ch)
        .create_volume(create_request(&unique("down"), VOLUME, MIB))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{}", err.message());
    assert!(
        err.message().contains("cannot reach volume gt1"),
        "{}",
        err.message()
    );
    let err = controller(&ch)
        .get_capacity(GetCapacityRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn capabilities_and_node_info() {
    let driver = Driver::start(VOLUME, None);
    let ch = driver.channel().await;
    let ctl = controller(&ch)
        .controller_get_capabilities(ControllerGetCapabilitiesRequest {})
        .await
        .unwrap()
        .into_inner();
    let rpcs: Vec<i32> = ctl
        .capabilities
        .iter()
        .filter_map(|c| c.r#type.as_ref())
        .map(|controller_service_capability::Type::Rpc(r)| r.r#type)
        .collect();
    use controller_service_capability::rpc::Type as C;
    assert_eq!(
        rpcs,
        [
            C::CreateDeleteVolume,
            C::CloneVolume,
            C::ExpandVolume,
            C::GetCapacity
        ]
        .map(i32::from)
    );
    let nodecaps = node(&ch)
        .node_get_capabilities(NodeGetCapabilitiesRequest {})
        .await
        .unwrap()
        .into_inner();
    use node_service_capability::rpc::Type as N;
    let rpcs: Vec<i32> = nodecaps
        .capabilities
        .iter()
        .filter_map(|c| c.r#type.as_ref())
        .map(|node_service_capability::Type::Rpc(r)| r.r#type)
        .collect();
    assert_eq!(
        rpcs,
        [N::StageUnstageVolume, N::ExpandVolume, N::GetVolumeStats].map(i32::from)
    );
    let info = node(&ch)
        .node_get_info(NodeGetInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.node_id, "test-node");
    // What the driver does not offer says so.
    let list = controller(&ch)
        .list_volumes(ListVolumesRequest::default())
        .await;
    assert_eq!(code(list), Code::Unimplemented);
    let snap = controller(&ch)
        .create_snapshot(CreateSnapshotRequest::default())
        .await;
    assert_eq!(code(snap), Code::Unimplemented);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_rpc_refuses_a_missing_required_field() {
    let driver = Driver::start(VOLUME, None);
    let ch = driver.channel().await;
    let id = format!("{VOLUME}@{HOST}/missing-field");
    let mut c = controller(&ch);
    let mut n = node(&ch);
    let no_name = CreateVolumeRequest {
        name: String::new(),
        ..create_request("x", VOLUME, MIB)
    };
    let no_caps = CreateVolumeRequest {
        volume_capabilities: vec![],
        ..create_request("x", VOLUME, MIB)
    };
    let stage = NodeStageVolumeRequest {
        volume_id: id.clone(),
        staging_target_path: "/tmp/staging".into(),
        volume_capability: Some(writer()),
        ..Default::default()
    };
    let publish = NodePublishVolumeRequest {
        volume_id: id.clone(),
        staging_target_path: "/tmp/staging".into(),
        target_path: "/tmp/target".into(),
        volume_capability: Some(writer()),
        ..Default::default()
    };
    let cases: Vec<(&str, Code)> = vec![
        ("CreateVolume name", code(c.create_volume(no_name).await)),
        (
            "CreateVolume capabilities",
            code(c.create_volume(no_caps).await),
        ),
        (
            "DeleteVolume volume_id",
            code(c.delete_volume(DeleteVolumeRequest::default()).await),
        ),
        (
            "ControllerExpandVolume volume_id",
            code(
                c.controller_expand_volume(ControllerExpandVolumeRequest {
                    capacity_range: Some(CapacityRange {
                        required_bytes: MIB,
                        limit_bytes: 0,
                    }),
                    ..Default::default()
                })
                .await,
            ),
        ),
        (
            "ControllerExpandVolume capacity_range",
            code(
                c.controller_expand_volume(ControllerExpandVolumeRequest {
                    volume_id: id.clone(),
                    ..Default::default()
                })
                .await,
            ),
        ),
        (
            "ValidateVolumeCapabilities volume_id",
            code(
                c.validate_volume_capabilities(ValidateVolumeCapabilitiesRequest {
                    volume_capabilities: vec![writer()],
                    ..Default::default()
                })
                .await,
            ),
        ),
        (
            "ValidateVolumeCapabilities capabilities",
            code(
                c.validate_volume_capabilities(ValidateVolumeCapabilitiesRequest {
                    volume_id: id.clone(),
                    ..Default::default()
                })
                .await,
            ),
        ),
        (
            "NodeStageVolume volume_id",
            code(
                n.node_stage_volume(NodeStageVolumeRequest {
                    volume_id: String::new(),
                    ..stage.clone()
                })
                .await,
            ),
        ),
        (
            "NodeStageVolume staging_target_path",
            code(
                n.node_stage_volume(NodeStageVolumeRequest {
                    staging_target_path: String::new(),
                    ..stage.clone()
                })
                .await,
            ),
        ),
        (
            "NodeStageVolume volume_capability",
            code(
                n.node_stage_volume(NodeStageVolumeRequest {
                    volume_capability: None,
                    ..stage.clone()
                })
                .await,
            ),
        ),
        (
            "NodeStageVolume volume_context",
            code(n.node_stage_volume(stage.clone()).await),
        ),
        (
            "NodeUnstageVolume volume_id",
            code(
                n.node_unstage_volume(NodeUnstageVolumeRequest {
                    staging_target_path: "/tmp/staging".into(),
                    ..Default::default()
                })
                .await,
            ),
        ),
        (
            "NodeUnstageVolume staging_target_path",
            code(
                n.node_unstage_volume(NodeUnstageVolumeRequest {
                    volume_id: id.clone(),
                    ..Default::default()
                })
                .await,
            ),
        ),
        (
            "NodePublishVolume volume_id",
            code(
                n.node_publish_volume(NodePublishVolumeRequest {
                    volume_id: String::new(),
                    ..publish.clone()
                })
                .await,
            ),
        ),
        (
            "NodePublishVolume target_path",
            code(
                n.node_publish_volume(NodePublishVolumeRequest {
                    target_path: String::new(),
                    ..publish.clone()
                })
                .await,
            ),
        ),
        (
            "NodePublishVolume staging_target_path",
            code(
                n.node_publish_volume(NodePublishVolumeRequest {
                    staging_target_path: String::new(),
                    ..publish.clone()
                })
                .await,
            ),
        ),
        (
            "NodePublishVolume volume_capability",
            code(
                n.node_publish_volume(NodePublishVolumeRequest {
                    volume_capability: None,
                    ..publish.clone()
                })
                .await,
            ),
        ),
        (
            "NodeUnpublishVolume volume_id",
            code(
                n.node_unpublish_volume(NodeUnpublishVolumeRequest {
                    target_path: "/tmp/target".into(),
                    ..Default::default()
                })
                .await,
            ),
        ),
        (
            "NodeUnpublishVolume target_path",
            code(
                n.node_unpublish_volume(NodeUnpublishVolumeRequest {
                    volume_id: id.clone(),
                    ..Default::default()
                })
                .await,
            ),
        ),
        (
            "NodeGetVolumeStats volume_id",
            code(
                n.node_get_volume_stats(NodeGetVolumeStatsRequest {
                    volume_path: "/tmp".into(),
                    ..Default::default()
                })
                .await,
            ),
        ),
        (
            "NodeGetVolumeStats volume_path",
            code(
                n.node_get_volume_stats(NodeGetVolumeStatsRequest {
                    volume_id: id.clone(),
                    ..Default::default()
                })
                .await,
            ),
        ),
        (
            "NodeExpandVolume volume_id",
            code(
                n.node_expand_volume(NodeExpandVolumeRequest {
                    volume_path: "/tmp".into(),
                    ..Default::default()
                })
                .await,
            ),
        ),
        (
            "NodeExpandVolume volume_path",
            code(
                n.node_expand_volume(NodeExpandVolumeRequest {
                    volume_id: id.clone(),
                    ..Default::default()
                })
                .await,
            ),
        ),
    ];
    for (what, got) in cases {
        assert_eq!(got, Code::InvalidArgument, "{what}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn create_is_idempotent_by_name_and_refuses_another_size() {
    let driver = Driver::start(VOLUME, None);
    let ch = driver.channel().await;
    let cleanup = Cleanup::new(&driver);
    let name = unique("idem");
    let req = create_request(&name, VOLUME, 10 * MIB);
    let first = controller(&ch)
        .create_volume(req.clone())
        .await
        .unwrap()
        .into_inner();
    let v = first.volume.clone().unwrap();
    cleanup.add(&v.volume_id);
    assert_eq!(v.volume_id, format!("{VOLUME}@{HOST}/{name}"));
    assert_eq!(v.capacity_bytes, 10 * MIB);
    assert_eq!(v.volume_context["portals"], GATEWAY);
    assert_eq!(
        v.volume_context["iqn"],
        format!("iqn.2016-12.org.gluster-tcmu:{name}")
    );
    assert_eq!(v.volume_context["chap"], "none");
    assert!(v.volume_context["wwid"].starts_with("naa.6001405"));

    let again = controller(&ch)
        .create_volume(req.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        again, first,
        "the same name and parameters: the same volume"
    );
    // A range the volume satisfies is the same volume too.
    let mut range = req.clone();
    range.capacity_range = Some(CapacityRange {
        required_bytes: 5 * MIB,
        limit_bytes: 20 * MIB,
    });
    let ranged = controller(&ch)
        .create_volume(range)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ranged, first);

    let bigger = create_request(&name, VOLUME, 20 * MIB);
    let err = controller(&ch).create_volume(bigger).await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists, "{}", err.message());
    let mut other_params = req.clone();
    other_params
        .parameters
        .insert("hwMaxSectors".into(), "2048".into());
    let err = controller(&ch)
        .create_volume(other_params)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists, "{}", err.message());
    assert!(
        err.message().contains("hw_max_sectors 1024 (asked 2048)"),
        "{}",
        err.message()
    );
    cleanup.run().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_creates_are_refused_with_the_right_code() {
    let driver = Driver::start(VOLUME, None);
    let ch = driver.channel().await;
    let mut c = controller(&ch);
    let name = unique("bad");
    let base = create_request(&name, VOLUME, MIB);
    let mut cases: Vec<(&str, CreateVolumeRequest, Code)> = Vec::new();
    let mut limit_below = base.clone();
    limit_below.capacity_range = Some(CapacityRange {
        required_bytes: 10 * MIB,
        limit_bytes: MIB,
    });
    cases.push(("limit below required", limit_below, Code::InvalidArgument));
    let mut tight = base.clone();
    tight.capacity_range = Some(CapacityRange {
        required_bytes: 1000,
        limit_bytes: 1010,
    });
    cases.push(("no block-multiple in range", tight, Code::OutOfRange));
    for mode in [
        Mode::MultiNodeMultiWriter,
        Mode::MultiNodeReaderOnly,
        Mode::MultiNodeSingleWriter,
    ] {
        let mut multi = base.clone();
        multi.volume_capabilities = vec![caps::block(mode)];
        cases.push(("a multi-node access mode", multi, Code::InvalidArgument));
    }
    let mut unknown = base.clone();
    unknown.parameters.insert("replicas".into(), "3".into());
    cases.push(("an unknown parameter", unknown, Code::InvalidArgument));
    let mut chap_no_secret = base.clone();
    chap_no_secret
        .parameters
        .insert("chap".into(), "true".into());
    cases.push((
        "CHAP without its secret",
        chap_no_secret,
        Code::InvalidArgument,
    ));
    let mut snapshot = base.clone();
    snapshot.volume_content_source = Some(VolumeContentSource {
        r#type: Some(volume_content_source::Type::Snapshot(
            volume_content_source::SnapshotSource {
                snapshot_id: "s".into(),
            },
        )),
    });
    cases.push(("a snapshot source", snapshot, Code::InvalidArgument));
    let mut huge = base.clone();
    huge.capacity_range = Some(CapacityRange {
        required_bytes: 1 << 60,
        limit_bytes: 0,
    });
    cases.push((
        "more than the volume's free space",
        huge,
        Code::ResourceExhausted,
    ));
    for (what, req, want) in cases {
        let err = c.create_volume(req).await.unwrap_err();
        assert_eq!(err.code(), want, "{what}: {}", err.message());
    }
    // Nothing was made by any of them.
    let gone = c
        .validate_volume_capabilities(ValidateVolumeCapabilitiesRequest {
            volume_id: format!("{VOLUME}@{HOST}/{name}"),
            volume_capabilities: vec![writer()],
            ..Default::default()
        })
        .await;
    assert_eq!(code(gone), Code::NotFound);
}

#[tokio::test(flavor = "multi_thread")]
async fn chap_credentials_come_from_the_provisioner_secret() {
    let driver = Driver::start(VOLUME, None);
    let ch = driver.channel().await;
    let cleanup = Cleanup::new(&driver);
    let mut req = create_request(&unique("chap"), VOLUME, MIB);
    req.parameters.insert("chap".into(), "true".into());
    req.secrets = [
        ("node.session.auth.username", "csi-node"),
        ("node.session.auth.password", "provisionerSecret1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let v = controller(&ch)
        .create_volume(req.clone())
        .await
        .unwrap()
        .into_inner()
        .volume
        .unwrap();
    cleanup.add(&v.volume_id);
    assert_eq!(v.volume_context["chap"], "one-way");
    assert!(
        v.volume_context
            .values()
            .all(|s| !s.contains("provisionerSecret1")),
        "no secret in the volume context"
    );
    let same = controller(&ch).create_volume(req.clone()).await.unwrap();
    assert_eq!(same.into_inner().volume.unwrap(), v);
    req.secrets.insert(
        "node.session.auth.password".into(),
        "anotherSecret12".into(),
    );
    let err = controller(&ch).create_volume(req).await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert!(!err.message().contains("anotherSecret12"));
    assert!(!err.message().contains("provisionerSecret1"));
    cleanup.run().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_validate_and_expand() {
    let driver = Driver::start(VOLUME, None);
    let ch = driver.channel().await;
    let cleanup = Cleanup::new(&driver);
    let mut c = controller(&ch);
    for id in ["not-a-volume-id", &format!("{VOLUME}@{HOST}/never-made")] {
        let deleted = c
            .delete_volume(DeleteVolumeRequest {
                volume_id: id.to_owned(),
                ..Default::default()
            })
            .await;
        assert_eq!(code(deleted), Code::Ok, "delete of unknown {id}");
        let validated = c
            .validate_volume_capabilities(ValidateVolumeCapabilitiesRequest {
                volume_id: id.to_owned(),
                volume_capabilities: vec![writer()],
                ..Default::default()
            })
            .await;
        assert_eq!(code(validated), Code::NotFound, "validate of unknown {id}");
        let expanded = c
            .controller_expand_volume(ControllerExpandVolumeRequest {
                volume_id: id.to_owned(),
                capacity_range: Some(CapacityRange {
                    required_bytes: MIB,
                    limit_bytes: 0,
                }),
                ..Default::default()
            })
            .await;
        assert_eq!(code(expanded), Code::NotFound, "expand of unknown {id}");
    }

    let v = c
        .create_volume(create_request(&unique("grow"), VOLUME, 4 * MIB))
        .await
        .unwrap()
        .into_inner()
        .volume
        .unwrap();
    cleanup.add(&v.volume_id);
    let validate = |caps: Vec<VolumeCapability>| ValidateVolumeCapabilitiesRequest {
        volume_id: v.volume_id.clone(),
        volume_capabilities: caps,
        ..Default::default()
    };
    let ok = c
        .validate_volume_capabilities(validate(vec![
            writer(),
            caps::block(Mode::SingleNodeReaderOnly),
        ]))
        .await
        .unwrap()
        .into_inner();
    assert!(ok.confirmed.is_some(), "{}", ok.message);
    let refused = c
        .validate_volume_capabilities(validate(vec![caps::mount(Mode::MultiNodeMultiWriter, "")]))
        .await
        .unwrap()
        .into_inner();
    assert!(refused.confirmed.is_none());
    assert!(
        refused.message.contains("MULTI_NODE_MULTI_WRITER"),
        "{}",
        refused.message
    );

    let expand = |required: i64| ControllerExpandVolumeRequest {
        volume_id: v.volume_id.clone(),
        capacity_range: Some(CapacityRange {
            required_bytes: required,
            limit_bytes: 0,
        }),
        ..Default::default()
    };
    let grown = c
        .controller_expand_volume(expand(9 * MIB))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(grown.capacity_bytes, 9 * MIB);
    assert!(grown.node_expansion_required);
    let again = c
        .controller_expand_volume(expand(9 * MIB))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.capacity_bytes, 9 * MIB);
    let smaller = c
        .controller_expand_volume(expand(MIB))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(smaller.capacity_bytes, 9 * MIB, "never shrinks");

    let del = DeleteVolumeRequest {
        volume_id: v.volume_id.clone(),
        ..Default::default()
    };
    c.delete_volume(del.clone()).await.unwrap();
    c.delete_volume(del).await.expect("a second delete is fine");
    let gone = c
        .validate_volume_capabilities(validate(vec![writer()]))
        .await;
    assert_eq!(code(gone), Code::NotFound);
    cleanup.run().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn capacity_is_the_free_space_and_falls_with_an_allocated_volume() {
    let driver = Driver::start(VOLUME, None);
    let ch = driver.channel().await;
    let cleanup = Cleanup::new(&driver);
    let mut c = controller(&ch);
    let capacity = |params| GetCapacityRequest {
        parameters: params,
        ..Default::default()
    };
    let before = c
        .get_capacity(capacity(params(VOLUME)))
        .await
        .unwrap()
        .into_inner()
        .available_capacity;
    assert!(before > 0);
    let default = c
        .get_capacity(GetCapacityRequest::default())
        .await
        .unwrap()
        .into_inner()
        .available_capacity;
    assert!(default > 0, "no parameters: the --volume");
    let multi = c
        .get_capacity(GetCapacityRequest {
            volume_capabilities: vec![caps::block(Mode::MultiNodeMultiWriter)],
            parameters: params(VOLUME),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        multi.available_capacity, 0,
        "no room for what is not served"
    );

    let mut req = create_request(&unique("full"), VOLUME, 64 * MIB);
    req.parameters.insert("prealloc".into(), "true".into());
    let v = c
        .create_volume(req)
        .await
        .unwrap()
        .into_inner()
        .volume
        .unwrap();
    cleanup.add(&v.volume_id);
    let after = c
        .get_capacity(capacity(params(VOLUME)))
        .await
        .unwrap()
        .into_inner()
        .available_capacity;
    assert!(
        before - after >= 32 * MIB,
        "free space {before} -> {after} after a 64 MiB allocated volume"
    );
    let mut nowhere = params(VOLUME);
    nowhere.insert("volume".into(), "no-such-volume".into());
    let err = c.get_capacity(capacity(nowhere)).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{}", err.message());
    cleanup.run().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn node_calls_that_need_no_initiator() {
    let driver = Driver::start(VOLUME, None);
    let ch = driver.channel().await;
    let mut n = node(&ch);
    let id = format!("{VOLUME}@{HOST}/pvc-none");
    let stats = n
        .node_get_volume_stats(NodeGetVolumeStatsRequest {
            volume_id: id.clone(),
            volume_path: "/nonexistent/path".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(code(stats), Code::NotFound);
    let dir = driver.dir.path().join("stats");
    std::fs::create_dir(&dir).unwrap();
    let usage = n
        .node_get_volume_stats(NodeGetVolumeStatsRequest {
            volume_id: id.clone(),
            volume_path: dir.display().to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .usage;
    assert_eq!(usage.len(), 2, "bytes and inodes");
    assert!(usage[0].total > 0 && usage[1].total > 0);
    // Unpublish of a target that is not mounted removes it; twice is fine.
    let target = driver.dir.path().join("target");
    std::fs::create_dir(&target).unwrap();
    for _ in 0..2 {
        n.node_unpublish_volume(NodeUnpublishVolumeRequest {
            volume_id: id.clone(),
            target_path: target.display().to_string(),
        })
        .await
        .unwrap();
        assert!(!target.exists());
    }
    // A stage whose volume context is not this driver's is refused before anything runs.
    let mut ctx = std::collections::HashMap::new();
    ctx.insert("iqn".to_owned(), "x".to_owned());
    let stage = n
        .node_stage_volume(NodeStageVolumeRequest {
            volume_id: id,
            staging_target_path: "/tmp/staging".into(),
            volume_capability: Some(writer()),
            volume_context: ctx,
            ..Default::default()
        })
        .await;
    assert_eq!(code(stage), Code::InvalidArgument);
}
