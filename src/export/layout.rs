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

/// The report of the gateway whose portal is `portal`.
pub fn report(portal: &SocketAddr) -> String {
    format!("{GATEWAYS}/{portal}.json")
}

/// The name a record file in [`EXPORTS`] stands for, if it is a record's file name (others,
/// such as an editor's leftovers, are not records).
pub fn name_of_record_file(file: &str) -> Option<&str> {
    file.strip_suffix(RECORD_SUFFIX).filter(|n| !n.is_empty())
}

/// True when `file` in [`TMP`] is a temporary copy of the record of `name` (see
/// [`super::store::tmp_name`]): `<name>.json.<writer>.tmp`.
pub fn is_tmp_of_record(file: &str, name: &ExportName) -> bool {
    file.strip_prefix(name.as_str())
        .and_then(|rest| rest.strip_prefix(RECORD_SUFFIX))
        .is_some_and(|rest| rest.starts_with('.') && rest.ends_with(".tmp"))
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
        assert!(is_tmp_of_record("disk1.json.42.0.1a2b.tmp", &n));
        assert!(!is_tmp_of_record("disk10.json.42.0.1a2b.tmp", &n));
        assert!(!is_tmp_of_record("disk1.json", &n));
        assert!(!is_tmp_of_record("127.0.0.1:3260.json.1.0.0.tmp", &n));
    }
}
