//! The JSON the export commands print with `--json`. Field names are stable; secrets
//! appear only in `create`'s output (`chap.secret`, `chap.target_secret`).

use crate::export::ops::{
    ChapMode, CreateOutcome, DeleteOutcome, ExportInfo, GatewayView, ListEntry, ResizeOutcome,
    VolumeListing,
};
use crate::export::record::{Record, State};
use serde::Serialize;

/// An export as `create`, `info` and `resize` print it.
#[derive(Debug, Serialize)]
pub struct ExportJson<'a> {
    pub name: &'a str,
    /// `VOLUME@SERVER[+SERVER...]/NAME`.
    pub location: String,
    pub volume: &'a str,
    pub servers: &'a [String],
    pub state: State,
    pub size: u64,
    pub prealloc: bool,
    pub iqn: &'a str,
    pub lun: u16,
    /// Every gateway's portal, the first being the one clients try first.
    pub portals: Vec<String>,
    pub serial: &'a str,
    /// The NAA identifier initiators see (`naa.` and 32 hex digits).
    pub wwid: String,
    /// Initiators allowed in; empty for any.
    pub initiators: &'a [String],
    pub chap: ChapJson<'a>,
    pub hw_max_sectors: u32,
    pub cmd_time_out: u32,
    pub generation: u64,
    /// The export this one was cloned from, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clone_of: Option<&'a str>,
    pub gateways: &'a [GatewayView],
}

/// CHAP of an export: the mode and user names, and the secrets where they may be shown.
#[derive(Debug, Serialize)]
pub struct ChapJson<'a> {
    /// `none`, `one-way` or `mutual`.
    pub mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_secret: Option<&'a str>,
}

/// Whether secrets go into the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    Shown,
    Hidden,
}

impl<'a> ChapJson<'a> {
    fn of(record: &'a Record, secrets: Secrets) -> Self {
        let shown = |s: &'a str| (secrets == Secrets::Shown).then_some(s);
        let chap = record.chap.as_ref();
        let target = chap.and_then(|c| c.target.as_ref());
        ChapJson {
            mode: ChapMode::of(record).to_string(),
            user: chap.map(|c| c.initiator.user.as_str()),
            secret: chap.and_then(|c| shown(&c.initiator.secret)),
            target_user: target.map(|t| t.user.as_str()),
            target_secret: target.and_then(|t| shown(&t.secret)),
        }
    }
}

/// The WWID initiators see for a unit serial, as LIO derives it.
pub fn wwid(serial: &str) -> String {
    let naa = crate::scsi::LunConfig::naa_from_serial(serial);
    let hex: String = naa.iter().map(|b| format!("{b:02x}")).collect();
    format!("naa.{hex}")
}

impl<'a> ExportJson<'a> {
    pub fn new(
        location: String,
        record: &'a Record,
        gateways: &'a [GatewayView],
        secrets: Secrets,
    ) -> Self {
        ExportJson {
            name: &record.name,
            location,
            volume: &record.volume,
            servers: &record.servers,
            state: record.state,
            size: record.size,
            prealloc: record.prealloc,
            iqn: &record.iqn,
            lun: record.lun,
            portals: record.gateways.iter().map(ToString::to_string).collect(),
            serial: &record.serial,
            wwid: wwid(&record.serial),
            initiators: &record.initiators,
            chap: ChapJson::of(record, secrets),
            hw_max_sectors: record.hw_max_sectors,
            cmd_time_out: record.cmd_time_out,
            generation: record.generation,
            clone_of: record.clone_of.as_deref(),
            gateways,
        }
    }
}

/// `create`: the export with its secrets.
pub fn create(out: &CreateOutcome) -> String {
    let json = ExportJson::new(
        out.location.to_string(),
        &out.record,
        &out.gateways,
        Secrets::Shown,
    );
    to_text(&json)
}

/// `info`: the export without secrets, and its image's size.
pub fn info(info: &ExportInfo) -> String {
    #[derive(Serialize)]
    struct Info<'a> {
        #[serde(flatten)]
        export: ExportJson<'a>,
        image_size: Option<u64>,
    }
    to_text(&Info {
        export: ExportJson::new(
            info.location.to_string(),
            &info.record,
            &info.gateways,
            Secrets::Hidden,
        ),
        image_size: info.image_size,
    })
}

/// `resize`: the export without secrets, and the size it had.
pub fn resize(out: &ResizeOutcome) -> String {
    #[derive(Serialize)]
    struct Resized<'a> {
        #[serde(flatten)]
        export: ExportJson<'a>,
        previous_size: u64,
    }
    to_text(&Resized {
        export: ExportJson::new(
            out.location.to_string(),
            &out.record,
            &out.gateways,
            Secrets::Hidden,
        ),
        previous_size: out.previous_size,
    })
}

/// `delete`.
pub fn delete(out: &DeleteOutcome) -> String {
    #[derive(Serialize)]
    struct Deleted<'a> {
        name: &'a str,
        location: String,
        deleted: bool,
        /// Gateways that still listed it (`--force`).
        still_served_by: &'a [String],
        /// The record could not be read (`--force`).
        corrupt_record: bool,
    }
    to_text(&Deleted {
        name: out.location.name.as_str(),
        location: out.location.to_string(),
        deleted: true,
        still_served_by: &out.still_served_by,
        corrupt_record: out.corrupt,
    })
}

/// `list`: every export of every volume, and the volumes that could not be listed.
pub fn list(listings: &[VolumeListing]) -> String {
    #[derive(Serialize)]
    struct Entry<'a> {
        volume: String,
        #[serde(flatten)]
        entry: &'a ListEntry,
    }
    #[derive(Serialize)]
    struct Failure {
        volume: String,
        error: String,
    }
    #[derive(Serialize)]
    struct Listing<'a> {
        exports: Vec<Entry<'a>>,
        errors: Vec<Failure>,
    }
    let mut out = Listing {
        exports: Vec::new(),
        errors: Vec::new(),
    };
    for l in listings {
        match &l.exports {
            Ok(entries) => out.exports.extend(entries.iter().map(|entry| Entry {
                volume: l.volume.to_string(),
                entry,
            })),
            Err(e) => out.errors.push(Failure {
                volume: l.volume.to_string(),
                error: super::one_line(e),
            }),
        }
    }
    to_text(&out)
}

fn to_text(value: &impl Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}
