//! The committed fuzz corpora (`fuzz/corpus/<target>/`), replayed through
//! the harness a libFuzzer target calls, so plain `cargo test` checks every
//! seed and every past crash.

use std::path::PathBuf;

/// Feeds every file of `fuzz/corpus/<target>/` to `harness`; the number of
/// inputs. Panics (a test failure) when the folder cannot be read.
pub fn replay_corpus(target: &str, harness: fn(&[u8])) -> usize {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus dir {} for target {target}: {e}", dir.display()));
    let mut count = 0;
    for entry in entries {
        let path = entry.expect("dir entry").path();
        if path.is_file() {
            harness(&std::fs::read(&path).expect("read seed"));
            count += 1;
        }
    }
    count
}
