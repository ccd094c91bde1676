//! The mount table, from `/proc/self/mountinfo` (proc(5)): what is mounted where, from
//! which device, with which filesystem.

use super::host::Host;
use std::path::{Path, PathBuf};
use tonic::Status;

/// Where the mount table is read.
pub const MOUNTINFO: &str = "/proc/self/mountinfo";

/// One mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// `major:minor` of the mounted filesystem's device.
    pub device: String,
    /// The folder of the filesystem that is mounted (`/` for a whole filesystem).
    pub root: PathBuf,
    pub mount_point: PathBuf,
    pub options: String,
    pub fs_type: String,
    pub source: String,
}

impl Mount {
    /// Mounted read-only.
    pub fn read_only(&self) -> bool {
        self.options.split(',').any(|o| o == "ro")
    }
}

/// Parses mountinfo's text; lines it cannot read are skipped.
pub fn parse(text: &str) -> Vec<Mount> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Mount> {
    let (head, tail) = line.split_once(" - ")?;
    let head: Vec<&str> = head.split(' ').collect();
    let mut tail = tail.split(' ');
    Some(Mount {
        device: head.get(2)?.to_string(),
        root: PathBuf::from(unescape(head.get(3)?)),
        mount_point: PathBuf::from(unescape(head.get(4)?)),
        options: head.get(5)?.to_string(),
        fs_type: tail.next()?.to_owned(),
        source: unescape(tail.next()?),
    })
}

/// Undoes mountinfo's octal escapes (`\040` for a space, and tab, newline, backslash).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match octal {
            Some(d) => {
                let v = d.iter().fold(0u32, |v, b| v * 8 + u32::from(b - b'0'));
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The mount table now.
pub fn table(host: &dyn Host) -> Result<Vec<Mount>, Status> {
    host.read(Path::new(MOUNTINFO))
        .map(|t| parse(&t))
        .map_err(|e| Status::internal(format!("cannot read {MOUNTINFO}: {e}")))
}

/// The last (topmost) mount at `path`.
pub fn at<'m>(table: &'m [Mount], path: &Path) -> Option<&'m Mount> {
    table.iter().rev().find(|m| m.mount_point == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
98 22 8:16 / /var/lib/kubelet/plugins/staging/pv\\0401 rw,relatime shared:50 - xfs /dev/sdb rw,attr2
99 22 8:16 / /var/lib/kubelet/pods/p/volumes/v/mount ro,relatime shared:50 - xfs /dev/sdb rw
100 22 0:5 /sdb /var/lib/kubelet/pods/p/volumeDevices/v rw,nosuid - devtmpfs udev rw,size=1k
";

    #[test]
    fn reads_mountinfo() {
        let t = parse(SAMPLE);
        assert_eq!(t.len(), 4);
        let staged = at(&t, Path::new("/var/lib/kubelet/plugins/staging/pv 1")).unwrap();
        assert_eq!(staged.device, "8:16");
        assert_eq!(staged.fs_type, "xfs");
        assert_eq!(staged.source, "/dev/sdb");
        assert!(!staged.read_only());
        assert!(
            at(&t, Path::new("/var/lib/kubelet/pods/p/volumes/v/mount"))
                .unwrap()
                .read_only()
        );
        let block = at(&t, Path::new("/var/lib/kubelet/pods/p/volumeDevices/v")).unwrap();
        assert_eq!(block.root, Path::new("/sdb"));
        assert!(at(&t, Path::new("/nowhere")).is_none());
        assert!(parse("garbage\n").is_empty());
    }
}
