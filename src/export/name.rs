//! Export names.
//!
//! A name becomes the record's file name, the image's file name, the LIO backstore name and
//! the last part of the target IQN, and a Kubernetes provisioner derives it from a
//! PersistentVolume name. So it keeps to what all of them hold: 1 to [`NAME_MAX`] of
//! `a-z 0-9 - .`, starting and ending with a letter or digit (a DNS-1123 label, with dots).
//! Letters are lowercase because iSCSI names are (RFC 3722 maps them to lowercase).

use std::fmt;

/// Longest export name.
pub const NAME_MAX: usize = 63;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportNameError {
    #[error("an export name may not be empty")]
    Empty,
    #[error("export name {0:?} is longer than {NAME_MAX} characters")]
    TooLong(String),
    #[error("export name {0:?} has uppercase letters: names are lowercase, as IQNs are")]
    Uppercase(String),
    #[error("export name {name:?} has the character {bad:?}; allowed are a-z, 0-9, '-' and '.'")]
    BadChar { name: String, bad: char },
    #[error("export name {0:?} must start and end with a letter or a digit")]
    BadEdge(String),
}

/// A checked export name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExportName(String);

impl ExportName {
    /// Checks `name` against the rules above.
    pub fn parse(name: &str) -> Result<Self, ExportNameError> {
        if name.is_empty() {
            return Err(ExportNameError::Empty);
        }
        if name.len() > NAME_MAX {
            return Err(ExportNameError::TooLong(name.to_owned()));
        }
        if name.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(ExportNameError::Uppercase(name.to_owned()));
        }
        let allowed =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
        if let Some(bad) = name.chars().find(|c| !allowed(*c)) {
            return Err(ExportNameError::BadChar {
                name: name.to_owned(),
                bad,
            });
        }
        let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        if !edge(name.chars().next()) || !edge(name.chars().last()) {
            return Err(ExportNameError::BadEdge(name.to_owned()));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as written everywhere.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ExportName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_names_pass() {
        for n in ["a", "disk1", "pvc-0b1e2c3d", "a.b-c", &"x".repeat(NAME_MAX)] {
            assert_eq!(
                ExportName::parse(n).map(|e| e.to_string()),
                Ok(n.to_owned())
            );
        }
    }

    #[test]
    fn bad_names_say_why() {
        assert_eq!(ExportName::parse(""), Err(ExportNameError::Empty));
        let long = "x".repeat(NAME_MAX + 1);
        assert_eq!(
            ExportName::parse(&long),
            Err(ExportNameError::TooLong(long.clone()))
        );
        assert!(matches!(
            ExportName::parse("Disk"),
            Err(ExportNameError::Uppercase(_))
        ));
        for (n, bad) in [
            ("a/b", '/'),
            ("a_b", '_'),
            ("a:b", ':'),
            ("a b", ' '),
            ("é", 'é'),
        ] {
            assert_eq!(
                ExportName::parse(n),
                Err(ExportNameError::BadChar {
                    name: n.into(),
                    bad
                }),
                "{n}"
            );
        }
        for n in ["-a", "a-", ".a", "a."] {
            assert_eq!(
                ExportName::parse(n),
                Err(ExportNameError::BadEdge(n.into())),
                "{n}"
            );
        }
    }
}
