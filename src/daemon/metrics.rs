//! Per-LUN metrics in the Prometheus text format on a local address (off unless
//! `[metrics] listen` is set). A tiny HTTP responder: every request gets the current text.

#![forbid(unsafe_code)]

use super::registry::{DeviceRegistry, Listing};
use crate::device::LATENCY_BOUNDS_US;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// Starts the responder thread on `addr`; returns the bound address.
pub fn serve(addr: SocketAddr, registry: Arc<DeviceRegistry>) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let bound = listener.local_addr()?;
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = respond(stream, &registry);
            }
        })?;
    Ok(bound)
}

fn respond(mut stream: TcpStream, registry: &DeviceRegistry) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut request = [0u8; 1024];
    let _ = stream.read(&mut request)?;
    let body = render(&registry.list());
    write!(
        stream,
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// A metric name, its help text and how to read it from a LUN's counters.
type Series = (
    &'static str,
    &'static str,
    fn(&crate::device::DeviceStats) -> u64,
);

/// The exposition text for every served LUN.
pub fn render(luns: &[Listing]) -> String {
    let mut out = String::new();
    let counters: [Series; 11] = [
        (
            "gluster_tcmu_commands_total",
            "SCSI commands received",
            |s| s.commands,
        ),
        (
            "gluster_tcmu_read_bytes_total",
            "bytes read by initiators",
            |s| s.read_bytes,
        ),
        (
            "gluster_tcmu_write_bytes_total",
            "bytes written by initiators",
            |s| s.write_bytes,
        ),
        (
            "gluster_tcmu_errors_total",
            "commands that failed (medium, hardware or backend failure, BUSY)",
            |s| s.errors,
        ),
        (
            "gluster_tcmu_refused_total",
            "commands refused as sent, no fault of the LUN (unsupported opcode or field an initiator probes for, unit attention, write to a write-protected LUN)",
            |s| s.refused,
        ),
        (
            "gluster_tcmu_ring_batches_total",
            "wake-ups that found new commands in the ring (commands / batches: commands per wake-up)",
            |s| s.batches,
        ),
        (
            "gluster_tcmu_completion_kicks_total",
            "doorbell writes handing answers back to the kernel (commands / kicks: answers per kick)",
            |s| s.kicks,
        ),
        (
            "gluster_tcmu_in_flight",
            "commands read and not yet answered",
            |s| s.in_flight,
        ),
        (
            "gluster_tcmu_connection_moves_total",
            "moves to a new connection after the LUN's volume changed (volume set, brick added or replaced)",
            |s| s.health.connection_moves,
        ),
        (
            "gluster_tcmu_reconnecting",
            "1 while the LUN answers BUSY waiting for its backend (a Gluster volume) to come back",
            |s| u64::from(s.health.is_reconnecting()),
        ),
        (
            "gluster_tcmu_stopped",
            "1 once the LUN stopped serving after an error on its ring; it answers nothing until removed",
            |s| u64::from(s.stopped),
        ),
    ];
    for (name, help, get) in counters {
        let kind = if name.ends_with("_total") {
            "counter"
        } else {
            "gauge"
        };
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for l in luns {
            if let Some(s) = &l.stats {
                let _ = writeln!(out, "{name}{{{}}} {}", labels(l), get(s));
            }
        }
    }
    render_ha(&mut out, luns);
    let name = "gluster_tcmu_latency_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} time from reading a command to answering it (backstore I/O)"
    );
    let _ = writeln!(out, "# TYPE {name} histogram");
    for l in luns {
        let Some(s) = &l.stats else { continue };
        let mut cumulative = 0;
        for (i, count) in s.latency.buckets.iter().enumerate() {
            cumulative += count;
            let le = LATENCY_BOUNDS_US
                .get(i)
                .map_or("+Inf".to_string(), |us| format!("{}", *us as f64 / 1e6));
            let _ = writeln!(
                out,
                "{name}_bucket{{{},le=\"{le}\"}} {cumulative}",
                labels(l)
            );
        }
        let _ = writeln!(
            out,
            "{name}_sum{{{}}} {}",
            labels(l),
            s.latency.sum_us as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count{{{}}} {}", labels(l), s.latency.count);
    }
    out
}

/// A metric name, its type, its help text and how to read it from a LUN's counters.
type TypedSeries = (
    &'static str,
    &'static str,
    &'static str,
    fn(&crate::device::DeviceStats) -> u64,
);

/// The HA series, for the LUNs with target port groups only.
fn render_ha(out: &mut String, luns: &[Listing]) {
    let series: [TypedSeries; 3] = [
        (
            "gluster_tcmu_alua_state",
            "gauge",
            "this gateway's ALUA state for the LUN, as SPC-4 codes it (0 active/optimized, 2 standby, 15 transitioning)",
            |s| s.alua_state.map_or(0, u64::from),
        ),
        (
            "gluster_tcmu_ha_takeovers_total",
            "counter",
            "times this gateway took the image lock and became the LUN's active path (failovers and failbacks to it)",
            |s| s.ha_takeovers,
        ),
        (
            "gluster_tcmu_ha_fenced_total",
            "counter",
            "requests the bricks refused because another gateway holds the image lock",
            |s| s.ha_fenced,
        ),
    ];
    for (name, kind, help, get) in series {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for l in luns {
            if let Some(s) = l.stats.as_ref().filter(|s| s.alua_state.is_some()) {
                let _ = writeln!(out, "{name}{{{}}} {}", labels(l), get(s));
            }
        }
    }
}

fn labels(l: &Listing) -> String {
    let clean = |v: &str| v.replace(['"', '\\', '\n'], "_");
    format!(
        "lun=\"{}\",handler=\"{}\"",
        clean(&format!("{}/{}", l.uio.name.hba, l.uio.name.device)),
        clean(&l.uio.name.subtype)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backstore::{BackendState, Health};
    use crate::control::uio::{UioDevice, UioName};
    use crate::device::DeviceStats;

    #[test]
    fn ha_series_cover_only_the_luns_with_port_groups() {
        let uio = |index, name: &str| UioDevice {
            index,
            name: UioName::parse(name).unwrap(),
            map_size: 4096,
            dev_path: "/dev/uio0".into(),
        };
        let ha = DeviceStats {
            alua_state: Some(2),
            ha_takeovers: 3,
            ha_fenced: 5,
            ..Default::default()
        };
        let text = render(&[
            Listing {
                uio: uio(0, "tcm-user/1/ha/glfs/v@h/x.img"),
                stats: Some(ha),
            },
            Listing {
                uio: uio(1, "tcm-user/1/plain/glfs/v@h/y.img"),
                stats: Some(DeviceStats::default()),
            },
        ]);
        assert!(text.contains("# TYPE gluster_tcmu_alua_state gauge"));
        assert!(text.contains("gluster_tcmu_alua_state{lun=\"1/ha\",handler=\"glfs\"} 2"));
        assert!(text.contains("gluster_tcmu_ha_takeovers_total{lun=\"1/ha\",handler=\"glfs\"} 3"));
        assert!(text.contains("gluster_tcmu_ha_fenced_total{lun=\"1/ha\",handler=\"glfs\"} 5"));
        assert!(
            !text.contains("gluster_tcmu_alua_state{lun=\"1/plain\""),
            "{text}"
        );
    }

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let mut stats = DeviceStats {
            commands: 7,
            batches: 3,
            kicks: 2,
            write_bytes: 4096,
            in_flight: 2,
            errors: 1,
            refused: 4,
            ..Default::default()
        };
        stats.latency.record(40);
        stats.latency.record(3_000);
        stats.latency.record(1_000_000);
        let uio = UioDevice {
            index: 0,
            name: UioName::parse("tcm-user/1/disk1/file//x.img").unwrap(),
            map_size: 4096,
            dev_path: "/dev/uio0".into(),
        };
        let down = UioDevice {
            index: 1,
            name: UioName::parse("tcm-user/1/disk2/glfs/v@h/x.img").unwrap(),
            ..uio.clone()
        };
        let text = render(&[
            Listing {
                uio,
                stats: Some(stats),
            },
            Listing {
                uio: down,
                stats: Some(DeviceStats {
                    health: Health {
                        state: BackendState::Reconnecting,
                        connection_moves: 3,
                    },
                    ..Default::default()
                }),
            },
        ]);
        assert!(text.contains("gluster_tcmu_reconnecting{lun=\"1/disk1\",handler=\"file\"} 0"));
        assert!(text.contains("gluster_tcmu_reconnecting{lun=\"1/disk2\",handler=\"glfs\"} 1"));
        assert!(text.contains("# TYPE gluster_tcmu_connection_moves_total counter"));
        assert!(
            text.contains(
                "gluster_tcmu_connection_moves_total{lun=\"1/disk2\",handler=\"glfs\"} 3"
            )
        );
        assert!(
            text.contains("gluster_tcmu_commands_total{lun=\"1/disk1\",handler=\"file\"} 7"),
            "{text}"
        );
        assert!(text.contains("gluster_tcmu_in_flight{lun=\"1/disk1\",handler=\"file\"} 2"));
        assert!(text.contains("gluster_tcmu_errors_total{lun=\"1/disk1\",handler=\"file\"} 1"));
        assert!(text.contains("# TYPE gluster_tcmu_refused_total counter"));
        assert!(text.contains("gluster_tcmu_refused_total{lun=\"1/disk1\",handler=\"file\"} 4"));
        assert!(
            text.contains("gluster_tcmu_ring_batches_total{lun=\"1/disk1\",handler=\"file\"} 3")
        );
        assert!(
            text.contains(
                "gluster_tcmu_completion_kicks_total{lun=\"1/disk1\",handler=\"file\"} 2"
            )
        );
        assert!(text.contains("le=\"0.00005\"} 1"));
        assert!(text.contains("le=\"0.005\"} 2"));
        assert!(text.contains("le=\"+Inf\"} 3"));
        assert!(
            text.contains("gluster_tcmu_latency_seconds_count{lun=\"1/disk1\",handler=\"file\"} 3")
        );
    }
}
