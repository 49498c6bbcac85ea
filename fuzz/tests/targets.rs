//! Every fuzz target as a test: bolero's random engine under `cargo test`
//! (and libFuzzer under `cargo bolero test NAME`), then the seeds from the
//! vectors, the checked-in `regressions/` and any generated `corpus/`.
//!
//! Under `cargo test` each bolero test runs for about a second; set
//! `BOLERO_RANDOM_ITERATIONS=N` for a fixed, larger count (the CI smoke
//! campaign does).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use blindsync_fuzz::{Target, Vectors, targets};

macro_rules! bolero_tests {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            let t = blindsync_fuzz::target(stringify!($name)).unwrap();
            bolero::check!().with_max_len(t.max_len).for_each(|input: &[u8]| (t.run)(input));
        }
    )*};
}

blindsync_fuzz::for_each_target!(bolero_tests);

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The files of `dir/<target>/`, sorted (none if the folder is missing).
fn inputs(dir: &Path, t: &Target) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(rd) = fs::read_dir(dir.join(t.name)) else { return Vec::new() };
    let mut paths: Vec<PathBuf> = rd.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
    paths.sort();
    // A running libFuzzer campaign replaces corpus files as it reduces them: skip one that vanished.
    paths.into_iter().filter_map(|p| fs::read(&p).ok().map(|b| (p, b))).collect()
}

fn replay(t: &Target, what: &str, input: &[u8]) {
    if std::panic::catch_unwind(|| (t.run)(input)).is_err() {
        panic!("{} failed on {what}", t.name);
    }
}

// [ENC-5] [KEY-3] [KEY-6] [WRAP-4] every seed built from the vectors passes its target.
#[test]
fn seeds_from_vectors() {
    let v = Vectors::load(&Vectors::default_dir()).unwrap();
    for t in targets::ALL {
        let seeds = (t.seeds)(&v);
        assert!(!seeds.is_empty(), "{} has no seeds", t.name);
        for s in &seeds {
            assert!(s.len() <= t.max_len, "{}: a seed is longer than MAX_LEN", t.name);
            replay(t, &format!("seed {}", blindsync_fuzz::seeds::file_name(s)), s);
        }
    }
}

/// Every input kept in `fuzz/regressions/<target>/` (checked in: crashes found
/// once, and hand-written edge cases) and in a generated `fuzz/corpus/<target>/`.
#[test]
fn regressions_and_corpus() {
    let known: BTreeSet<&str> = targets::ALL.iter().map(|t| t.name).collect();
    let regressions = fuzz_dir().join("regressions");
    for e in fs::read_dir(&regressions).unwrap().flatten() {
        let name = e.file_name().into_string().unwrap();
        if e.path().is_dir() {
            assert!(known.contains(name.as_str()), "regressions/{name} is not a target");
        }
    }
    for t in targets::ALL {
        for dir in [regressions.clone(), fuzz_dir().join("corpus")] {
            for (path, input) in inputs(&dir, t) {
                replay(t, &path.display().to_string(), &input);
            }
        }
    }
}

/// The registry, the modules, the cargo-fuzz bins and their manifest agree.
#[test]
fn registry_matches_files() {
    let names: BTreeSet<String> = targets::ALL.iter().map(|t| t.name.to_owned()).collect();
    assert_eq!(names.len(), targets::ALL.len(), "duplicate target names");
    let stems = |dir: &Path| -> BTreeSet<String> {
        fs::read_dir(dir)
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok()?.strip_suffix(".rs").map(str::to_owned))
            .filter(|n| n != "mod")
            .collect()
    };
    assert_eq!(stems(&fuzz_dir().join("src/targets")), names, "src/targets/ and for_each_target! disagree");
    let cf = fuzz_dir().join("cargo-fuzz");
    assert_eq!(stems(&cf.join("fuzz_targets")), names, "cargo-fuzz/fuzz_targets/ and for_each_target! disagree");
    let manifest = fs::read_to_string(cf.join("Cargo.toml")).unwrap();
    for n in &names {
        let entry = format!("[[bin]]\nname = \"{n}\"\npath = \"fuzz_targets/{n}.rs\"");
        assert!(manifest.contains(&entry), "cargo-fuzz/Cargo.toml lacks:\n{entry}");
        let bin = fs::read_to_string(cf.join(format!("fuzz_targets/{n}.rs"))).unwrap();
        assert!(bin.contains(&format!("blindsync_fuzz::targets::{n}::run")), "fuzz_targets/{n}.rs runs another target");
    }
}
