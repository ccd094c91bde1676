//! What a pass asks of LIO, decided from the records alone (pure): which exports to
//! apply, which to report as errors without touching LIO, and which names LIO must keep
//! as they are although nothing applies them.

use super::desired::export_lun;
use super::records::Records;
use crate::error_text::admin_message;
use crate::export::{ExportStatus, State, StatusState};
use crate::lio::ExportLun;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

/// An export to apply.
#[derive(Debug)]
pub(super) struct Want {
    /// Index of its volume in the gateway's list.
    pub volume: usize,
    /// The record's generation.
    pub generation: u64,
    pub lun: ExportLun,
}

/// The plan of one pass.
#[derive(Debug, Default)]
pub(super) struct Plan {
    /// Exports to apply, by volume then name.
    pub wants: Vec<Want>,
    /// Exports reported as errors without LIO: (volume index, name, status).
    pub errors: Vec<(usize, String, ExportStatus)>,
    /// Names LIO keeps as they are: their record could not be used, so what is wanted
    /// of them is unknown.
    pub keep: BTreeSet<String>,
}

impl Plan {
    /// Whether export `name` must stay in LIO.
    pub fn wanted(&self, name: &str) -> bool {
        self.keep.contains(name) || self.wants.iter().any(|w| w.lun.name.as_str() == name)
    }
}

/// An error status of an export (no LUN served as asked).
pub(super) fn error_status(reason: String, generation: u64) -> ExportStatus {
    ExportStatus {
        state: StatusState::Error,
        reason: Some(reason),
        size: 0,
        generation,
        sessions: Vec::new(),
        path: None,
    }
}

/// Plans a pass over `volumes` (by index; `None`: not readable this pass) for the
/// gateway on `portal`. A record is served when it is ready and names `portal`; a record
/// that cannot be used is an error under its name and its LIO objects are kept; a name
/// served from two volumes is an error on both (LIO names are the gateway's, not a
/// volume's) and is kept as it is.
pub(super) fn plan(volumes: &[Option<&Records>], portal: SocketAddr) -> Plan {
    let mut plan = Plan::default();
    let mut candidates: BTreeMap<&str, Vec<(usize, u64, ExportLun)>> = BTreeMap::new();
    for (v, records) in volumes.iter().enumerate() {
        for (name, entry) in records.iter().flat_map(|r| r.iter()) {
            let record = match entry {
                Ok(r) if r.state == State::Ready && r.names_gateway(&portal) => r,
                Ok(_) => continue,
                Err(reason) => {
                    plan.refuse(v, name, reason.clone(), 0);
                    continue;
                }
            };
            match export_lun(record, portal) {
                Ok(lun) => candidates
                    .entry(name)
                    .or_default()
                    .push((v, record.generation, lun)),
                Err(e) => plan.refuse(v, name, admin_message(&e), record.generation),
            }
        }
    }
    for (name, found) in candidates {
        plan.add(name, found);
    }
    plan
}

impl Plan {
    fn refuse(&mut self, volume: usize, name: &str, reason: String, generation: u64) {
        let status = error_status(reason, generation);
        self.errors.push((volume, name.to_owned(), status));
        self.keep.insert(name.to_owned());
    }

    /// Adds the exports found under `name`: one is wanted, more are a conflict.
    fn add(&mut self, name: &str, mut found: Vec<(usize, u64, ExportLun)>) {
        if found.len() == 1 {
            if let Some((volume, generation, lun)) = found.pop() {
                self.wants.push(Want {
                    volume,
                    generation,
                    lun,
                });
            }
            return;
        }
        let on: Vec<String> = found.iter().map(|(v, ..)| format!("#{}", v + 1)).collect();
        for (volume, generation, _) in &found {
            let reason = format!(
                "export {name} is on more than one of this gateway's volumes (entries {} of \
                 [exports] volumes): a gateway serves one export of a name",
                on.join(" and ")
            );
            self.refuse(*volume, name, reason, *generation);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::tests::record;

    fn portal() -> SocketAddr {
        "10.0.0.1:3260".parse().unwrap()
    }

    fn records(list: Vec<(&str, Result<crate::export::Record, String>)>) -> Records {
        list.into_iter().map(|(n, r)| (n.to_owned(), r)).collect()
    }

    #[test]
    fn ready_records_naming_this_portal_are_wanted() {
        let mut creating = record("creating", &["10.0.0.1:3260"]);
        creating.state = State::Creating;
        let mut deleting = record("deleting", &["10.0.0.1:3260"]);
        deleting.state = State::Deleting;
        let v0 = records(vec![
            (
                "mine",
                Ok(record("mine", &["10.0.0.2:3260", "10.0.0.1:3260"])),
            ),
            ("theirs", Ok(record("theirs", &["10.0.0.2:3260"]))),
            ("creating", Ok(creating)),
            ("deleting", Ok(deleting)),
        ]);
        let p = plan(&[Some(&v0)], portal());
        let names: Vec<&str> = p.wants.iter().map(|w| w.lun.name.as_str()).collect();
        assert_eq!(names, ["mine"]);
        assert!(p.errors.is_empty() && p.keep.is_empty());
        assert!(p.wanted("mine") && !p.wanted("theirs") && !p.wanted("deleting"));
    }

    #[test]
    fn a_bad_record_is_an_error_and_kept() {
        let v0 = records(vec![
            ("bad", Err("corrupt record: x".into())),
            ("good", Ok(record("good", &["10.0.0.1:3260"]))),
        ]);
        let p = plan(&[None, Some(&v0)], portal());
        assert_eq!(p.wants.len(), 1);
        assert_eq!(p.wants[0].volume, 1);
        let (v, name, status) = &p.errors[0];
        assert_eq!((*v, name.as_str()), (1, "bad"));
        assert_eq!(status.reason.as_deref(), Some("corrupt record: x"));
        assert_eq!(status.state, StatusState::Error);
        assert!(p.wanted("bad"));
    }

    #[test]
    fn one_name_on_two_volumes_is_an_error_on_both() {
        let v0 = records(vec![("disk", Ok(record("disk", &["10.0.0.1:3260"])))]);
        let v1 = records(vec![("disk", Ok(record("disk", &["10.0.0.1:3260"])))]);
        let p = plan(&[Some(&v0), Some(&v1)], portal());
        assert!(p.wants.is_empty());
        assert_eq!(p.errors.len(), 2);
        let reason = p.errors[0].2.reason.clone().unwrap();
        assert!(reason.contains("entries #1 and #2"), "{reason}");
        assert!(p.wanted("disk"), "left as it is");
    }
}
