//! The table behind `gluster-tcmu list`: one line per served device (the control
//! socket's `list` request, [`super::control`]).

#![forbid(unsafe_code)]

use super::registry::{DeviceRegistry, Listing};
use crate::device::DeviceStats;
use std::io::Write;

/// Header of the table `list` prints. ERRORS counts commands that failed (medium,
/// hardware or backend failures, BUSY); REFUSED counts commands refused as sent
/// (unsupported opcodes and fields an initiator probes for, unit attentions, writes to a
/// write-protected LUN), which are no fault of the LUN. MOVES counts a glfs LUN's moves to a new gfapi
/// connection after its volume changed (0 for other handlers). STATE stays last: scripts
/// match it at the end of the line.
pub const HEADER: &str =
    "DEVICE\tHANDLER\tCOMMANDS\tREAD_BYTES\tWRITE_BYTES\tERRORS\tMOVES\tREFUSED\tSTATE";

/// Writes the table of the devices `registry` serves to `out`.
pub fn write_table(out: &mut impl Write, registry: &DeviceRegistry) -> std::io::Result<()> {
    writeln!(out, "{HEADER}")?;
    for l in registry.list() {
        writeln!(out, "{}", line(&l))?;
    }
    Ok(())
}

fn line(l: &Listing) -> String {
    let name = format!("{}/{}", l.uio.name.hba, l.uio.name.device);
    match l.stats {
        Some(s) => format!(
            "{name}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            l.uio.name.subtype,
            s.commands,
            s.read_bytes,
            s.write_bytes,
            s.errors,
            s.health.connection_moves,
            s.refused,
            state_word(&s)
        ),
        None => format!(
            "{name}\t{}\t-\t-\t-\t-\t-\t-\tunavailable",
            l.uio.name.subtype
        ),
    }
}

/// What the STATE column says for a device the reactor answered for.
fn state_word(s: &DeviceStats) -> &'static str {
    if s.stopped {
        "stopped"
    } else if s.health.is_reconnecting() {
        "reconnecting"
    } else {
        "serving"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backstore::{BackendState, Health};
    use crate::control::uio::{UioDevice, UioName};

    fn listing(stats: Option<DeviceStats>) -> Listing {
        let uio = UioDevice {
            index: 0,
            name: UioName::parse("tcm-user/1/lun0/glfs/v@h/x.img").unwrap(),
            map_size: 4096,
            dev_path: "/dev/uio0".into(),
        };
        Listing { uio, stats }
    }

    #[test]
    fn the_state_column_says_serving_reconnecting_stopped_or_unavailable() {
        let up = DeviceStats {
            commands: 3,
            refused: 1,
            health: Health {
                state: BackendState::Serving,
                connection_moves: 2,
            },
            ..Default::default()
        };
        let down = DeviceStats {
            health: Health {
                state: BackendState::Reconnecting,
                ..up.health
            },
            ..up
        };
        assert_eq!(
            line(&listing(Some(up))),
            "1/lun0\tglfs\t3\t0\t0\t0\t2\t1\tserving"
        );
        assert_eq!(
            line(&listing(Some(down))),
            "1/lun0\tglfs\t3\t0\t0\t0\t2\t1\treconnecting"
        );
        let broken = DeviceStats {
            stopped: true,
            ..up
        };
        assert_eq!(
            line(&listing(Some(broken))),
            "1/lun0\tglfs\t3\t0\t0\t0\t2\t1\tstopped"
        );
        assert_eq!(
            line(&listing(None)),
            "1/lun0\tglfs\t-\t-\t-\t-\t-\t-\tunavailable"
        );
        assert_eq!(HEADER.split('\t').count(), 9, "one header per column");
        assert!(HEADER.ends_with("\tSTATE"), "scripts match the state last");
    }
}
