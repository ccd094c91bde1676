//! The tables and summaries the export commands print for people. Secrets appear only in
//! `create`'s summary.

use super::json::{Secrets, wwid};
use crate::export::ops::{
    ChapMode, CreateOutcome, DeleteOutcome, ExportInfo, GatewayState, GatewayView, ResizeOutcome,
    VolumeListing,
};
use crate::export::record::Record;
use crate::export::report::unix_now;
use std::fmt::Write;

/// `create`: the export, with the credentials the initiators need.
pub fn create(out: &CreateOutcome) -> String {
    let mut text = format!("export {} is {}\n", out.location, out.record.state);
    summary(&mut text, &out.record, Secrets::Shown);
    text.push_str(&gateways(&out.gateways));
    text
}

/// `info`: the export without secrets, its image and each gateway.
pub fn info(info: &ExportInfo) -> String {
    let r = &info.record;
    let mut text = format!("export {} is {}\n", info.location, r.state);
    summary(&mut text, r, Secrets::Hidden);
    let image = info
        .image_size
        .map_or_else(|| "missing".to_owned(), |n| format!("{n} bytes"));
    line(&mut text, "image", &format!("{} ({image})", r.image));
    line(&mut text, "hw max sectors", &r.hw_max_sectors.to_string());
    line(&mut text, "cmd time out", &format!("{} s", r.cmd_time_out));
    line(&mut text, "generation", &r.generation.to_string());
    if let Some(source) = &r.clone_of {
        line(&mut text, "cloned from", source);
    }
    if let Some(active) = active_gateway(&info.gateways) {
        line(&mut text, "active gateway", &active);
    }
    text.push_str(&gateways(&info.gateways));
    text
}

/// `resize`.
pub fn resize(out: &ResizeOutcome) -> String {
    let mut text = if out.previous_size == out.record.size {
        format!(
            "export {} is {} already\n",
            out.location,
            size(out.record.size)
        )
    } else {
        format!(
            "export {} grew from {} to {}\n",
            out.location,
            size(out.previous_size),
            size(out.record.size)
        )
    };
    text.push_str(&gateways(&out.gateways));
    text
}

/// `delete`.
pub fn delete(out: &DeleteOutcome) -> String {
    let mut text = format!("export {} deleted\n", out.location);
    if out.corrupt {
        text.push_str("  (its record could not be read; removed as it was)\n");
    }
    if !out.still_served_by.is_empty() {
        let _ = writeln!(
            text,
            "  still listed by {}: they drop it at their next look",
            out.still_served_by.join(", ")
        );
    }
    text
}

/// `list`: one table over all volumes; the volumes that could not be listed, and the
/// reasons of corrupt records, come back separately (for stderr).
pub fn list(listings: &[VolumeListing]) -> (String, Vec<String>) {
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for l in listings {
        let entries = match &l.exports {
            Ok(entries) => entries,
            Err(e) => {
                problems.push(super::one_line(e));
                continue;
            }
        };
        for e in entries {
            if let Some(reason) = &e.reason {
                problems.push(format!("{}/{}: {reason}", l.volume, e.name));
            }
            rows.push(vec![
                l.volume.to_string(),
                e.name.clone(),
                e.state.as_str().to_owned(),
                e.size.map_or_else(|| "-".to_owned(), size),
                format!("{}/{}", e.gateways_ready, e.gateways),
                e.sessions.to_string(),
            ]);
        }
    }
    let header = ["VOLUME", "NAME", "STATE", "SIZE", "GATEWAYS", "SESSIONS"];
    (table(&header, &rows), problems)
}

fn summary(text: &mut String, r: &Record, secrets: Secrets) {
    let portals: Vec<String> = r.gateways.iter().map(ToString::to_string).collect();
    line(text, "target", &r.iqn);
    line(text, "portals", &portals.join(", "));
    line(text, "lun", &r.lun.to_string());
    line(
        text,
        "size",
        &format!("{} ({} bytes)", size(r.size), r.size),
    );
    line(text, "wwid", &wwid(&r.serial));
    line(text, "serial", &r.serial);
    let initiators = if r.initiators.is_empty() {
        "any".to_owned()
    } else {
        r.initiators.join(", ")
    };
    line(text, "initiators", &initiators);
    line(text, "chap", &ChapMode::of(r).to_string());
    let Some(chap) = &r.chap else {
        return;
    };
    line(text, "chap user", &chap.initiator.user);
    if secrets == Secrets::Shown {
        line(text, "chap secret", &chap.initiator.secret);
    }
    if let Some(target) = &chap.target {
        line(text, "target user", &target.user);
        if secrets == Secrets::Shown {
            line(text, "target secret", &target.secret);
        }
    }
}

fn line(text: &mut String, key: &str, value: &str) {
    let _ = writeln!(text, "  {key:<15}{value}");
}

/// For an export whose gateways report paths (several gateways): the active one(s), or
/// "none" while no gateway holds the image (until an initiator's I/O reaches one).
fn active_gateway(views: &[GatewayView]) -> Option<String> {
    if views.iter().all(|v| v.path.is_none()) {
        return None;
    }
    let active: Vec<String> = views
        .iter()
        .filter(|v| v.is_active())
        .map(|v| v.gateway.to_string())
        .collect();
    Some(if active.is_empty() {
        "none (no gateway holds the image yet)".to_owned()
    } else {
        active.join(", ")
    })
}

/// Each gateway's state, as a table; with a PATH column (ALUA state, takeovers, fenced
/// requests) when a gateway reports one.
fn gateways(views: &[GatewayView]) -> String {
    let now = unix_now();
    let with_paths = views.iter().any(|v| v.path.is_some());
    let rows: Vec<Vec<String>> = views
        .iter()
        .map(|v| {
            let gateway = if v.named {
                v.gateway.to_string()
            } else {
                format!("{} (not named)", v.gateway)
            };
            let sessions = if v.sessions.is_empty() {
                "-".to_owned()
            } else {
                v.sessions.join(",")
            };
            let mut row = vec![
                gateway,
                v.state.as_str().to_owned(),
                sessions,
                v.size.map_or_else(|| "-".to_owned(), size),
            ];
            if with_paths {
                row.push(path(v));
            }
            row.push(detail(v, now));
            row
        })
        .collect();
    let header: &[&str] = if with_paths {
        &["GATEWAY", "STATE", "SESSIONS", "SIZE", "PATH", "DETAIL"]
    } else {
        &["GATEWAY", "STATE", "SESSIONS", "SIZE", "DETAIL"]
    };
    table(header, &rows)
}

/// `standby (takeovers 1, fenced 0)`, or `-` for a gateway that reports no path.
fn path(v: &GatewayView) -> String {
    v.path.map_or_else(
        || "-".to_owned(),
        |p| {
            format!(
                "{} (takeovers {}, fenced {})",
                p.access.as_str(),
                p.takeovers,
                p.fenced
            )
        },
    )
}

fn detail(v: &GatewayView, now: u64) -> String {
    match (v.state, &v.reason, v.updated) {
        (_, Some(reason), _) => reason.clone(),
        (GatewayState::Stale, None, Some(t)) => {
            format!("last report {}s ago", now.saturating_sub(t))
        }
        (GatewayState::Pending, None, _) => "not served yet".to_owned(),
        (GatewayState::NoReport, None, _) => {
            "the gateway has not reported on this volume".to_owned()
        }
        _ => String::new(),
    }
}

/// Columns padded to their widest cell, two spaces apart.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut text = String::new();
    let mut push_row = |cells: &mut dyn Iterator<Item = &str>| {
        let mut line = String::new();
        for (cell, w) in cells.zip(&widths) {
            let _ = write!(line, "{cell:<w$}  ");
        }
        text.push_str(line.trim_end());
        text.push('\n');
    };
    push_row(&mut header.iter().copied());
    for row in rows {
        push_row(&mut row.iter().map(String::as_str));
    }
    text
}

/// Bytes for people: `512 MiB` when a whole number of a binary unit, else bytes.
pub fn size(bytes: u64) -> String {
    const UNITS: [(u32, &str); 4] = [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")];
    for (shift, unit) in UNITS {
        if bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    format!("{bytes} B")
}
