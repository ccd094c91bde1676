//! Where exports live on their volume. Everything is under one folder at the volume's root,
//! so an admin sees at once what belongs to gluster-tcmu:
//!
//! ```text
//! /gluster-tcmu/exports/<name>.json     records (mode 0600: they hold CHAP secrets)
//! /gluster-tcmu/images/<name>.img       LUN images
//! /gluster-tcmu/gateways/<portal>.json  one report per gateway (no secrets)
//! /gluster-tcmu/tmp/                    files being written, before their atomic publish
//! ```
//!
//! Paths are volume paths: absolute, `/`-separated, from the volume's root.

use super::name::ExportName;
use std::net::SocketAddr;

/// The folder holding everything.
pub const ROOT: &str = "/gluster-tcmu";
/// Records.
pub const EXPORTS: &str = "/gluster-tcmu/exports";
/// Images.
pub const IMAGES: &str = "/gluster-tcmu/images";
/// Gateway reports.
pub const GATEWAYS: &str = "/gluster-tcmu/gateways";
/// Temporary files.
pub const TMP: &str = "/gluster-tcmu/tmp";
/// Every folder, parents first (as they are made).
pub const FOLDERS: [&str; 5] = [ROOT, EXPORTS, IMAGES, GATEWAYS, TMP];

/// Suffix of a record file.
pub const RECORD_SUFFIX: &str = ".json";
/// Suffix of an image file.
pub const IMAGE_SUFFIX: &str = ".img";

/// Mode of records: they hold CHAP secrets.
pub const RECORD_MODE: u32 = 0o600;
/// Mode of images: only the daemon (root) opens them.
pub const IMAGE_MODE: u32 = 0o600;
/// Mode of gateway reports: no secrets in them.
pub const REPORT_MODE: u32 = 0o644;

/// The mode a folder of [`FOLDERS`] is made with: records, images and files being written
/// (which may be records) are root's alone; the root and the reports are for everyone to
/// read.
pub fn folder_mode(dir: &str) -> u32 {
    match dir {
        EXPORTS | IMAGES | TMP => 0o700,
        _ => 0o755,
    }
}

/// The record of `name`.
pub fn record(name: &ExportName) -> String {
    format!("{EXPORTS}/{name}{RECORD_SUFFIX}")
}

/// The image of `name`.
pub fn image(name: &ExportName) -> String {
    format!("{IMAGES}/{name}{IMAGE_SUFFIX}")
}

/// The lock of `name`, held by a command while it changes the export's files.
pub fn lock(name: &ExportName) -> String {
    format!("{TMP}/{name}.lock")
}

/// The report of the gateway whose portal is `portal`.
pub fn report(portal: &SocketAddr) -> String {
    format!("{GATEWAYS}/{portal}.json")
}

/// The name a record file in [`EXPORTS`] stands for, if it is a record's file name (others,
/// such as an editor's leftovers, are not records).
pub fn name_of_record_file(file: &str) -> Option<&str> {
    file.strip_suffix(RECORD_SUFFIX).filter(|n| !n.is_empty())
}

/// True when `file` in [`TMP`] is what a killed command on export `name` may have left:
/// a temporary copy of its record or of its lock (see [`super::store::tmp_name`]), such as
/// `<name>.json.<writer>.tmp`, or the lock itself.
pub fn is_leftover_of(file: &str, name: &ExportName) -> bool {
    let Some(rest) = file.strip_prefix(name.as_str()) else {
        return false;
    };
    let copy = |suffix: &str| {
        rest.strip_prefix(suffix)
            .is_some_and(|r| r.starts_with('.') && r.ends_with(".tmp"))
    };
    rest == ".lock" || copy(RECORD_SUFFIX) || copy(".lock")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let n = ExportName::parse("disk1").unwrap();
        assert_eq!(record(&n), "/gluster-tcmu/exports/disk1.json");
        assert_eq!(image(&n), "/gluster-tcmu/images/disk1.img");
        assert_eq!(
            report(&"127.0.0.1:3260".parse().unwrap()),
            "/gluster-tcmu/gateways/127.0.0.1:3260.json"
        );
        assert_eq!(
            report(&"[::1]:3260".parse().unwrap()),
            "/gluster-tcmu/gateways/[::1]:3260.json"
        );
        assert_eq!(name_of_record_file("disk1.json"), Some("disk1"));
        assert_eq!(name_of_record_file(".json"), None);
        assert_eq!(name_of_record_file("disk1.json~"), None);
        assert!(is_leftover_of("disk1.json.42.0.1a2b.tmp", &n));
        assert!(is_leftover_of("disk1.lock.42.0.1a2b.tmp", &n));
        assert!(is_leftover_of("disk1.lock", &n));
        assert!(!is_leftover_of("disk10.json.42.0.1a2b.tmp", &n));
        assert!(!is_leftover_of("disk1.json", &n));
        assert!(!is_leftover_of("127.0.0.1:3260.json.1.0.0.tmp", &n));
    }
}
