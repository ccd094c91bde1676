//! Reading the export records of one volume: each record file on its own, so that one
//! bad file costs only its own export.

use crate::error_text::admin_message;
use crate::export::{ExportName, MetaStore, Record, StoreError, VolumeAddr, layout};
use std::collections::BTreeMap;

/// A volume's records by export name: the record, or why it cannot be used.
pub(super) type Records = BTreeMap<String, Result<Record, String>>;

/// Every record file in the volume's export folder. Only the listing failing fails the
/// whole: a file that cannot be read or parsed is an entry with its reason. Files that
/// are not record files (an editor's leftovers) are skipped; so is a record removed
/// between the listing and its read.
pub(super) fn read(store: &dyn MetaStore, volume: &VolumeAddr) -> Result<Records, StoreError> {
    let mut records = Records::new();
    for file in store.list(layout::EXPORTS)? {
        let Some(name) = layout::name_of_record_file(&file) else {
            continue;
        };
        let path = format!("{}/{file}", layout::EXPORTS);
        let entry = match store.read(&path) {
            Ok(Some(bytes)) => parse(name, &bytes, volume),
            Ok(None) => continue,
            Err(e) => Err(format!("cannot read record: {}", admin_message(&e))),
        };
        records.insert(name.to_owned(), entry);
    }
    Ok(records)
}

/// The record in `bytes` of the file for export `name` on `volume`.
fn parse(name: &str, bytes: &[u8], volume: &VolumeAddr) -> Result<Record, String> {
    let corrupt = |why: String| format!("corrupt record: {why}");
    ExportName::parse(name).map_err(|e| corrupt(e.to_string()))?;
    let record = Record::from_json(bytes).map_err(|e| corrupt(admin_message(&e)))?;
    if record.name != name {
        return Err(corrupt(format!(
            "it is the record of export {:?}, in the file of {name:?}",
            record.name
        )));
    }
    if record.volume != volume.volume {
        return Err(corrupt(format!(
            "it names volume {:?}, and is on volume {:?}",
            record.volume, volume.volume
        )));
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::LocalStore;
    use crate::gateway::tests::{put_file, put_record, record};

    fn volume() -> VolumeAddr {
        VolumeAddr::parse("gv0@gl1+gl2").unwrap()
    }

    #[test]
    fn good_and_bad_records_each_on_their_own() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        store.ensure_folders().unwrap();
        put_record(&store, &record("good", &["10.0.0.1:3260"]));
        put_file(&store, "broken.json", b"{ not json");
        put_file(&store, "Upper.json", b"{}");
        put_file(&store, "notes.txt", b"not a record");
        put_file(
            &store,
            "swapped.json",
            &record("other", &["10.0.0.1:3260"]).to_json(),
        );
        let mut elsewhere = record("moved", &["10.0.0.1:3260"]);
        elsewhere.volume = "gv9".into();
        elsewhere.servers = vec!["gl9".into()];
        put_record(&store, &elsewhere);

        let records = read(&store, &volume()).unwrap();
        let names: Vec<&str> = records.keys().map(String::as_str).collect();
        assert_eq!(names, ["Upper", "broken", "good", "moved", "swapped"]);
        assert_eq!(records["good"].as_ref().unwrap().name, "good");
        let reason = |n: &str| records[n].as_ref().unwrap_err().clone();
        assert!(
            reason("broken").starts_with("corrupt record: not a valid export record: "),
            "{}",
            reason("broken")
        );
        assert!(reason("Upper").contains("uppercase"), "{}", reason("Upper"));
        assert_eq!(
            reason("swapped"),
            "corrupt record: it is the record of export \"other\", in the file of \"swapped\""
        );
        assert_eq!(
            reason("moved"),
            "corrupt record: it names volume \"gv9\", and is on volume \"gv0\""
        );
    }

    #[test]
    fn a_volume_without_exports_has_no_records() {
        let dir = tempfile::tempdir().unwrap();
        let records = read(&LocalStore::new(dir.path()), &volume()).unwrap();
        assert!(records.is_empty());
    }
}
