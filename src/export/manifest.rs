//! `export manifest`: a Kubernetes PersistentVolume for an export, with the in-tree
//! `iscsi` volume source, and the CHAP Secret it refers to, as the kubelet's iSCSI volume
//! plugin reads them: the Secret of type `kubernetes.io/iscsi-chap` holds
//! `node.session.auth.username`/`password` (and `username_in`/`password_in`, the
//! target's side, for mutual CHAP); the PV's `secretRef` names it with its namespace
//! (without one the kubelet would look in the namespace of each pod that mounts it).
//!
//! Discovery is not authenticated (the gateways leave `discovery_auth` alone), so
//! `chapAuthDiscovery` is false; CHAP applies to the session.
//!
//! The YAML is written by hand: every string that YAML could read as something else
//! (a number, a boolean, a key, a comment) is double-quoted and escaped.

use super::record::Record;
use std::fmt::Write;

/// What a manifest is made with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestOptions {
    /// The file system the kubelet makes on the LUN (if it has none) and mounts.
    pub fs_type: String,
    /// The Secret's namespace.
    pub namespace: String,
    /// The Secret's name; default `<export>-chap`.
    pub secret_name: Option<String>,
    /// The PersistentVolume's name; default the export's name.
    pub pv_name: Option<String>,
}

impl Default for ManifestOptions {
    fn default() -> Self {
        ManifestOptions {
            fs_type: "ext4".into(),
            namespace: "default".into(),
            secret_name: None,
            pv_name: None,
        }
    }
}

/// Why no manifest could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("{option} {value:?}: {reason}")]
    Option {
        option: &'static str,
        value: String,
        reason: &'static str,
    },
}

/// Longest Kubernetes object name (a DNS-1123 subdomain).
const OBJECT_NAME_MAX: usize = 253;
/// Longest namespace (a DNS-1123 label).
const NAMESPACE_MAX: usize = 63;

/// The Secret (when the export has CHAP) and the PersistentVolume, as one YAML stream.
pub fn render(record: &Record, opts: &ManifestOptions) -> Result<String, ManifestError> {
    let pv_name = opts.pv_name.clone().unwrap_or_else(|| record.name.clone());
    let secret_name = (opts.secret_name.clone()).unwrap_or_else(|| format!("{}-chap", record.name));
    check_dns("--pv-name", &pv_name, OBJECT_NAME_MAX, true)?;
    check_dns("--secret-name", &secret_name, OBJECT_NAME_MAX, true)?;
    check_dns("--namespace", &opts.namespace, NAMESPACE_MAX, false)?;
    check_fs_type(&opts.fs_type)?;
    let mut out = String::new();
    if record.chap.is_some() {
        secret(&mut out, record, &secret_name, &opts.namespace);
        out.push_str("---\n");
    }
    let secret_ref = record
        .chap
        .as_ref()
        .map(|_| (secret_name.as_str(), opts.namespace.as_str()));
    volume(&mut out, record, &pv_name, &opts.fs_type, secret_ref);
    Ok(out)
}

fn secret(out: &mut String, record: &Record, name: &str, namespace: &str) {
    let Some(chap) = &record.chap else {
        return;
    };
    let _ = write!(
        out,
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {}\n  namespace: {}\n\
         type: kubernetes.io/iscsi-chap\nstringData:\n",
        scalar(name),
        scalar(namespace)
    );
    let mut entry = |key: &str, value: &str| {
        let _ = writeln!(out, "  node.session.auth.{key}: {}", scalar(value));
    };
    entry("username", &chap.initiator.user);
    entry("password", &chap.initiator.secret);
    if let Some(target) = &chap.target {
        entry("username_in", &target.user);
        entry("password_in", &target.secret);
    }
}

fn volume(
    out: &mut String,
    record: &Record,
    name: &str,
    fs_type: &str,
    secret_ref: Option<(&str, &str)>,
) {
    let _ = write!(
        out,
        "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: {}\nspec:\n  \
         capacity:\n    storage: {}\n  accessModes:\n    - ReadWriteOnce\n  \
         persistentVolumeReclaimPolicy: Retain\n  volumeMode: Filesystem\n  iscsi:\n",
        scalar(name),
        quantity(record.size)
    );
    let (first, others) = record
        .gateways
        .split_first()
        .map_or((None, &[][..]), |(f, o)| (Some(f), o));
    if let Some(first) = first {
        let _ = writeln!(out, "    targetPortal: {}", scalar(&first.to_string()));
    }
    if !others.is_empty() {
        out.push_str("    portals:\n");
        for portal in others {
            let _ = writeln!(out, "      - {}", scalar(&portal.to_string()));
        }
    }
    let _ = write!(
        out,
        "    iqn: {}\n    lun: {}\n    fsType: {}\n    readOnly: false\n    \
         chapAuthDiscovery: false\n    chapAuthSession: {}\n",
        scalar(&record.iqn),
        record.lun,
        scalar(fs_type),
        secret_ref.is_some()
    );
    if let Some((secret, namespace)) = secret_ref {
        let _ = write!(
            out,
            "    secretRef:\n      name: {}\n      namespace: {}\n",
            scalar(secret),
            scalar(namespace)
        );
    }
}

/// `bytes` as a Kubernetes quantity: with the largest binary suffix that divides it
/// exactly (`512Mi`), else plain bytes.
pub fn quantity(bytes: u64) -> String {
    const SUFFIXES: [(u32, &str); 5] = [(50, "Pi"), (40, "Ti"), (30, "Gi"), (20, "Mi"), (10, "Ki")];
    for (shift, suffix) in SUFFIXES {
        let unit = 1u64 << shift;
        if bytes >= unit && bytes % unit == 0 {
            return format!("{}{suffix}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// A YAML scalar for `text`: plain when YAML can only read it as that string, else
/// double-quoted with `\` and `"` escaped and anything unprintable as `\xNN`/`\uNNNN`.
pub fn scalar(text: &str) -> String {
    if is_plain_safe(text) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Starts with a letter, holds only letters, digits, `.`, `_`, `-` and `/`, and is not one
/// of the words YAML 1.1 reads as a boolean or null.
fn is_plain_safe(text: &str) -> bool {
    const WORDS: [&str; 11] = [
        "y", "n", "yes", "no", "true", "false", "on", "off", "null", "nan", "inf",
    ];
    let starts_with_letter = text.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/');
    starts_with_letter
        && text.chars().all(safe)
        && !WORDS.contains(&text.to_ascii_lowercase().as_str())
}

/// A Kubernetes name: lowercase letters, digits and `-` (and `.` in a subdomain), starting
/// and ending with a letter or digit.
fn check_dns(
    option: &'static str,
    value: &str,
    max: usize,
    dots: bool,
) -> Result<(), ManifestError> {
    let bad = |reason| ManifestError::Option {
        option,
        value: value.to_owned(),
        reason,
    };
    if value.is_empty() || value.len() > max {
        return Err(bad(if dots {
            "must be 1 to 253 characters"
        } else {
            "must be 1 to 63 characters"
        }));
    }
    let allowed =
        |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (dots && c == '.');
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !value.chars().all(allowed) || !edge(value.chars().next()) || !edge(value.chars().last()) {
        return Err(bad(if dots {
            "not a Kubernetes name: a-z, 0-9, '-' and '.', starting and ending with a letter or digit"
        } else {
            "not a Kubernetes namespace: a-z, 0-9 and '-', starting and ending with a letter or digit"
        }));
    }
    Ok(())
}

fn check_fs_type(fs_type: &str) -> Result<(), ManifestError> {
    let ok = !fs_type.is_empty()
        && fs_type.len() <= 32
        && fs_type
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if ok {
        return Ok(());
    }
    Err(ManifestError::Option {
        option: "--fs-type",
        value: fs_type.to_owned(),
        reason: "not a file system type such as ext4 or xfs",
    })
}

#[cfg(test)]
mod tests;
