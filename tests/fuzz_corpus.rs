//! Replays the committed corpus of the `scsi_commands` fuzz target (fuzz/corpus/) through
//! the same harness, in order, on one unit: a crash or hang the fuzzer once found stays
//! fixed, and the host tier exercises every seed without cargo-fuzz.

use gluster_tcmu::testing::ScsiFuzzUnit;

#[test]
fn scsi_commands_corpus_replays_cleanly() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/scsi_commands");
    let mut inputs: Vec<_> = std::fs::read_dir(dir)
        .expect("corpus directory")
        .map(|e| e.expect("corpus entry").path())
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 20, "only {} corpus inputs", inputs.len());
    let mut unit = ScsiFuzzUnit::new();
    for path in &inputs {
        let data = std::fs::read(path).expect("corpus input");
        unit.run(&data);
    }
}
