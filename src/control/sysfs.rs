//! The two file operations every sysfs/configfs attribute needs, done the way the
//! kernel expects them.
//!
//! Attribute files are tiny and their `store` handler sees exactly one `write()`, so a
//! value is written whole in one call, exactly like `echo 1 > file` (open with
//! `O_TRUNC`, never `O_CREAT`: a missing attribute must stay an error, not become a
//! regular file in a fake tree or a confusing `EACCES` on the real one).

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// Reads an attribute and strips the trailing newline the kernel appends.
pub(crate) fn read_attr(path: &Path) -> io::Result<String> {
    let text = fs::read_to_string(path)?;
    Ok(text.trim_end_matches(['\n', '\0']).to_owned())
}

/// Writes `value` to an existing attribute in a single `write()`.
pub(crate) fn write_attr(path: &Path, value: &str) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).truncate(true).open(path)?;
    file.write_all(value.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_strips_newline_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a");
        fs::write(&p, " 512 \n").unwrap();
        assert_eq!(read_attr(&p).unwrap(), " 512 ");
    }

    #[test]
    fn write_replaces_and_never_creates() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a");
        fs::write(&p, "0\n").unwrap();
        write_attr(&p, "1").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "1");
        let missing = dir.path().join("missing");
        let err = write_attr(&missing, "1").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(!missing.exists());
    }
}
