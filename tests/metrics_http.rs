//! The metrics endpoint end to end: a fake-kernel LUN served by a real registry and
//! reactor, I/O through it, then an HTTP GET of the Prometheus text.

mod common;

use common::*;
use gluster_tcmu::control::uio::{UioDevice, UioName};
use gluster_tcmu::daemon::{metrics, registry::DeviceRegistry};
use gluster_tcmu::testing::DataDir;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn metrics_report_commands_bytes_and_latency_per_lun() {
    let (mut k, device) = ram_device(1024);
    let registry = Arc::new(DeviceRegistry::new(1, Default::default()).unwrap());
    let uio = UioDevice {
        index: 3,
        name: UioName::parse("tcm-user/2/lun7/ram/").unwrap(),
        map_size: 0,
        dev_path: "/dev/uio3".into(),
    };
    registry.serve(uio, device).unwrap();
    for i in 0..10 {
        k.submit(
            &write16(i * 8, 8, false),
            DataDir::ToDevice(&pattern(i * 8, 8, 1)),
        )
        .unwrap();
        assert!(k.wait_kick(Duration::from_secs(5)).unwrap());
        assert_eq!(k.reap().unwrap()[0].status, 0);
    }
    let addr = metrics::serve("127.0.0.1:0".parse().unwrap(), registry.clone()).unwrap();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("HTTP/1.0 200 OK"), "{text}");
    let lun = "lun=\"2/lun7\",handler=\"ram\"";
    assert!(
        text.contains(&format!("gluster_tcmu_commands_total{{{lun}}} 11")),
        "{text}"
    );
    assert!(text.contains(&format!(
        "gluster_tcmu_write_bytes_total{{{lun}}} {}",
        10 * 8 * 512
    )));
    assert!(text.contains(&format!("gluster_tcmu_latency_seconds_count{{{lun}}} 10")));
    assert!(text.contains(&format!("gluster_tcmu_in_flight{{{lun}}} 0")));
    assert!(text.contains(&format!("gluster_tcmu_reconnecting{{{lun}}} 0")));
    registry.shutdown();
}
