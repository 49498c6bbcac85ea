//! Keeps the spec, the code, the tests and the vectors in step.
//!
//! - every requirement id defined in `spec/` (in bold) is cited by library
//!   code and by at least one test or vector, and every cited id exists;
//! - the label registry table equals `blindsync::labels::ALL`, and every
//!   label occurs (hex-encoded) in some vector;
//! - the error registry table equals `blindsync::Error::ALL`, and every code
//!   is the expected error of some vector.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "target" || n == "corpus") {
                continue;
            }
            files(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

/// Every `[ABC-12]` in `text`, with whether it was written in bold (`**[ABC-12]**`).
fn ids(text: &str) -> Vec<(String, bool)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'[' {
            let mut j = i + 1;
            while j < b.len() && b[j].is_ascii_uppercase() {
                j += 1;
            }
            if j > i + 1 && j < b.len() && b[j] == b'-' {
                let mut k = j + 1;
                while k < b.len() && b[k].is_ascii_digit() {
                    k += 1;
                }
                if k > j + 1 && k < b.len() && b[k] == b']' {
                    let bold = i >= 2 && &b[i - 2..i] == b"**" && b.get(k + 1..k + 3) == Some(b"**");
                    out.push((text[i + 1..k].to_owned(), bold));
                    i = k;
                }
            }
        }
        i += 1;
    }
    out
}

struct Trace {
    defined: BTreeMap<String, String>,
    spec_refs: BTreeSet<String>,
    code: BTreeSet<String>,
    tests: BTreeSet<String>,
}

fn trace() -> Trace {
    let r = root();
    let mut defined = BTreeMap::new();
    let mut spec_refs = BTreeSet::new();
    let mut md = Vec::new();
    files(&r.join("spec"), "md", &mut md);
    for f in &md {
        let text = fs::read_to_string(f).unwrap();
        for (id, bold) in ids(&text) {
            if bold {
                let name = f.file_name().unwrap().to_string_lossy().into_owned();
                if let Some(prev) = defined.insert(id.clone(), name.clone()) {
                    panic!("{id} defined twice: {prev} and {name}");
                }
            } else {
                spec_refs.insert(id);
            }
        }
    }
    let (mut code, mut tests) = (BTreeSet::new(), BTreeSet::new());
    let mut rs = Vec::new();
    // The library, and the workspace crates that are code too: the model
    // checker, the command-line tool, the vector generator and verifier.
    for d in ["src", "model/src", "cli/src", "testkit/src"] {
        files(&r.join(d), "rs", &mut rs);
    }
    for f in &rs {
        let text = fs::read_to_string(f).unwrap();
        let split = text.find("#[cfg(test)]").unwrap_or(text.len());
        code.extend(ids(&text[..split]).into_iter().map(|(i, _)| i));
        tests.extend(ids(&text[split..]).into_iter().map(|(i, _)| i));
    }
    let mut test_files = Vec::new();
    for d in ["tests", "fuzz", "model/tests", "benches"] {
        files(&r.join(d), "rs", &mut test_files);
    }
    for f in test_files.iter().filter(|f| !f.ends_with("tests/traceability.rs")) {
        tests.extend(ids(&fs::read_to_string(f).unwrap()).into_iter().map(|(i, _)| i));
    }
    for v in vector_files() {
        let json: serde_json::Value = serde_json::from_str(&fs::read_to_string(&v).unwrap()).unwrap();
        for vec in json["vectors"].as_array().into_iter().flatten() {
            for req in vec["requirements"].as_array().into_iter().flatten() {
                tests.insert(req.as_str().unwrap().to_owned());
            }
        }
        // a scenario file (spec 13.3) lists its requirements at the top
        for req in json["requirements"].as_array().into_iter().flatten() {
            tests.insert(req.as_str().unwrap().to_owned());
        }
    }
    Trace { defined, spec_refs, code, tests }
}

/// The generated vector files and the scenario vectors (spec chapter 13).
fn vector_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> =
        blindsync_testkit::generated_names().into_iter().map(|n| root().join("vectors").join(n)).collect();
    let mut scenarios = Vec::new();
    files(&root().join("vectors").join("scenarios"), "json", &mut scenarios);
    scenarios.sort();
    v.extend(scenarios);
    v
}

#[test]
fn every_spec_requirement_is_implemented_and_tested() {
    let t = trace();
    assert!(t.defined.len() > 20, "too few requirement ids found: {}", t.defined.len());
    let no_code: Vec<_> = t.defined.keys().filter(|id| !t.code.contains(*id)).collect();
    let no_test: Vec<_> = t.defined.keys().filter(|id| !t.tests.contains(*id)).collect();
    assert!(no_code.is_empty(), "requirements with no citing code: {no_code:?}");
    assert!(no_test.is_empty(), "requirements with no citing test or vector: {no_test:?}");
}

#[test]
fn every_cited_id_is_defined() {
    let t = trace();
    let undefined: Vec<_> =
        t.code.iter().chain(&t.tests).chain(&t.spec_refs).filter(|id| !t.defined.contains_key(*id)).collect();
    assert!(undefined.is_empty(), "ids cited but not defined in spec/: {undefined:?}");
}

#[test]
fn the_id_scanner_works() {
    let found = ids("x **[ENV-3]** y [KEY-12] [bad] [A-] [lower-1] [AB-7");
    assert_eq!(found, vec![("ENV-3".to_owned(), true), ("KEY-12".to_owned(), false)]);
}

/// Rows of the first Markdown table whose header starts with `first_col`.
fn table(file: &str, first_col: &str) -> Vec<Vec<String>> {
    let text = fs::read_to_string(root().join("spec").join(file)).unwrap();
    let mut rows = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if !line.starts_with('|') {
            if inside {
                break;
            }
            continue;
        }
        let cells: Vec<String> =
            line.trim_matches('|').split('|').map(|c| c.trim().trim_matches('`').to_owned()).collect();
        if !inside {
            inside = cells.first().is_some_and(|c| c == first_col);
            continue;
        }
        if cells.iter().all(|c| c.chars().all(|ch| ch == '-' || ch == ':')) {
            continue;
        }
        rows.push(cells);
    }
    rows
}

fn all_vector_text() -> String {
    vector_files().iter().map(|f| fs::read_to_string(f).unwrap()).collect()
}

#[test]
fn label_registry_matches_code_and_every_label_has_a_vector() {
    use blindsync::labels::{ALL, Use};
    let spec: Vec<(String, String)> =
        table("03-labels.md", "label").into_iter().map(|r| (r[0].clone(), r[1].clone())).collect();
    let code: Vec<(String, String)> = ALL
        .iter()
        .map(|(l, u)| {
            let u = match u {
                Use::HkdfSalt => "hkdf-salt",
                Use::HkdfInfo => "hkdf-info",
                Use::Aad => "aad",
                Use::Hmac => "hmac",
                Use::Hash => "hash",
                Use::Blake3 => "blake3",
                Use::Signature => "signature",
                Use::HpkeInfo => "hpke-info",
                Use::Wire => "wire",
                Use::Example => "example",
            };
            ((*l).to_owned(), u.to_owned())
        })
        .collect();
    assert_eq!(spec, code, "spec/03-labels.md and src/labels.rs disagree");
    let vectors = all_vector_text();
    for (label, _) in ALL {
        let hex = blindsync_testkit::hex::encode(label.as_bytes());
        assert!(vectors.contains(&hex), "label {label} appears in no vector");
    }
}

#[test]
fn error_registry_matches_code_and_every_error_has_a_vector() {
    use blindsync::{Error, Fault};
    let spec: Vec<(String, String)> =
        table("06-errors.md", "code").into_iter().map(|r| (r[0].clone(), r[1].clone())).collect();
    let code: Vec<(String, String)> = Error::ALL
        .iter()
        .map(|e| {
            let f = match e.fault() {
                Fault::Input => "input",
                Fault::Peer => "peer",
                Fault::Misuse => "misuse",
                Fault::Refused => "refused",
                Fault::Internal => "internal",
            };
            (e.code().to_owned(), f.to_owned())
        })
        .collect();
    assert_eq!(spec, code, "spec/06-errors.md and src/error.rs disagree");
    let vectors = all_vector_text();
    // [ERR-2] the internal class describes the local environment, E_SRV_UNAVAILABLE the server's
    // storage medium, the E_CLIENT_ codes the order of a device's own calls: no vector can produce
    // them (tests do: tests/persistence.rs, tests/client_*.rs).
    let exempt =
        |e: &Error| e.fault() == Fault::Internal || *e == Error::SrvUnavailable || e.code().starts_with("E_CLIENT_");
    for e in Error::ALL.iter().filter(|e| !exempt(e)) {
        let needle = format!("\"error\": \"{}\"", e.code());
        assert!(vectors.contains(&needle), "error {} is expected by no vector", e.code());
    }
}
