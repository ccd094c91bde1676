//! Replays the committed corpora of the fuzz targets (fuzz/corpus/) through the same
//! harnesses: a crash or hang the fuzzer once found stays fixed, and the host tier
//! exercises every seed without cargo-fuzz.

use gluster_tcmu::testing::{ScsiFuzzUnit, run_cfg_string, run_settings_file};
use std::path::PathBuf;

/// The inputs of one target's corpus, in name order; at least `min` of them.
fn corpus(target: &str, min: usize) -> Vec<PathBuf> {
    let dir = format!("{}/fuzz/corpus/{target}", env!("CARGO_MANIFEST_DIR"));
    let mut inputs: Vec<_> = std::fs::read_dir(dir)
        .expect("corpus directory")
        .map(|e| e.expect("corpus entry").path())
        .collect();
    inputs.sort();
    assert!(inputs.len() >= min, "only {} {target} inputs", inputs.len());
    inputs
}

fn replay(target: &str, min: usize, mut run: impl FnMut(&[u8])) {
    for path in corpus(target, min) {
        run(&std::fs::read(&path).expect("corpus input"));
    }
}

/// In order, on one unit, as the fuzzer runs them.
#[test]
fn scsi_commands_corpus_replays_cleanly() {
    let mut unit = ScsiFuzzUnit::new();
    replay("scsi_commands", 20, |data| unit.run(data));
}

#[test]
fn cfg_string_corpus_replays_cleanly() {
    replay("cfg_string", 20, run_cfg_string);
}

#[test]
fn settings_file_corpus_replays_cleanly() {
    replay("settings_file", 10, run_settings_file);
}
