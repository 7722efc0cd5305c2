//! Replays the committed fuzz corpora (`fuzz/corpus/<target>/*`) through the
//! same harness functions the libFuzzer targets call, so plain `cargo test`
//! (no nightly, no cargo-fuzz) checks every seed and every past crash.

// This test reads the corpus from disk; the sans-IO rule is for the library.
#![allow(clippy::disallowed_methods)]

use std::path::PathBuf;

#[test]
fn every_target_has_seeds_and_they_pass() {
    let mut total = 0;
    for &(name, harness) in sstp_core::fuzzing::TARGETS {
        let count = sstp_testkit::replay_corpus(name, harness);
        assert!(count > 0, "target {name} has no seeds");
        total += count;
    }
    eprintln!("replayed {total} corpus inputs");
}

#[test]
fn every_corpus_dir_is_a_known_target() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    for entry in std::fs::read_dir(&root).expect("fuzz/corpus exists") {
        let entry = entry.expect("dir entry");
        let name = entry.file_name().into_string().expect("utf-8 name");
        // sstp-radius's target, replayed by its own tests/corpus_replay.rs.
        if name == "radius_packet" {
            continue;
        }
        assert!(
            sstp_core::fuzzing::TARGETS.iter().any(|(t, _)| *t == name),
            "fuzz/corpus/{name} has no harness in sstp_core::fuzzing::TARGETS"
        );
    }
}
