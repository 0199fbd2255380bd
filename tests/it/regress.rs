//! Every file under `tests/data/regress/<target>/` runs through the fuzz target `<target>`'s
//! checks (the same harness functions the fuzzers call): inputs that once crashed or hung a
//! target, and hand-made hostile ones. Each must end cleanly and quickly.

use std::time::{Duration, Instant};

use crate::common::{data, repo};

#[path = "../../firmware/fuzz/harness.rs"]
mod wire;

#[path = "../fuzz/harness.rs"]
mod runtime;

/// A fuzz target's checks.
type Check = fn(&[u8]);

/// The fuzz targets, by directory name.
const TARGETS: [(&str, Check); 7] = [
    ("container", wire::container),
    ("packet", wire::packet),
    ("reassembly", wire::reassembly),
    ("symbols", wire::symbols),
    ("frames", runtime::frames),
    ("bundle_meta", runtime::bundle_meta),
    ("idx", runtime::idx),
];

#[test]
fn regression_files_end_cleanly() {
    let root = data("regress");
    for (target, check) in TARGETS {
        let dir = root.join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{} holds no inputs", dir.display());
        for file in files {
            let data = std::fs::read(&file).unwrap();
            let start = Instant::now();
            check(&data);
            // Generous for debug builds under qemu; a hang shows as minutes.
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{} took {:?}",
                file.display(),
                start.elapsed()
            );
        }
    }
}

#[test]
fn every_fuzz_target_has_a_regression_directory() {
    for manifest in ["firmware/fuzz/Cargo.toml", "tests/fuzz/Cargo.toml"] {
        let text = std::fs::read_to_string(repo(manifest)).unwrap();
        for line in text
            .lines()
            .filter(|l| l.starts_with("name = ") && !l.contains("fuzz\""))
        {
            let name = line.trim_start_matches("name = ").trim_matches('"');
            assert!(
                TARGETS.iter().any(|(t, _)| *t == name),
                "{manifest}: target {name} is not checked by tests/regress.rs"
            );
        }
    }
}
