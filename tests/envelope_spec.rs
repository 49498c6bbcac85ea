//! Spec chapter 7 against the code: every requirement id the chapter defines
//! is cited by the implementation and by a test or vector, the label and error
//! registries of chapters 3 and 6 match the code, and every envelope error
//! code is the expected error of a negative vector.

use std::collections::BTreeSet;
use std::path::Path;

const PREFIXES: [&str; 3] = ["ENV-", "PAD-", "PAY-"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(p: &str) -> String {
    std::fs::read_to_string(root().join(p)).unwrap()
}

/// Ids written `[XXX-n]` in `text` with one of the chapter's prefixes.
fn cited(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices('[') {
        let rest = &text[i + 1..];
        for p in PREFIXES {
            if let Some(num) = rest.strip_prefix(p) {
                let digits: String = num.chars().take_while(char::is_ascii_digit).collect();
                if !digits.is_empty() && num[digits.len()..].starts_with(']') {
                    out.insert(format!("{p}{digits}"));
                }
            }
        }
    }
    out
}

fn rs_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

// [ENV-1] .. [ENV-15], [PAD-1] .. [PAD-3], [PAY-1] .. [PAY-5]: defined once, cited by code and by tests.
#[test]
fn chapter_7_ids_are_traced() {
    let spec = read("spec/07-envelope.md");
    let defined: BTreeSet<String> =
        cited(&spec).into_iter().filter(|id| spec.contains(&format!("**[{id}]**"))).collect();
    assert!(defined.len() >= 20, "{defined:?}");
    let (mut code, mut tests) = (BTreeSet::new(), BTreeSet::new());
    let mut files = Vec::new();
    rs_files(&root().join("src"), &mut files);
    for f in files {
        let s = std::fs::read_to_string(&f).unwrap();
        let split = s.find("#[cfg(test)]").unwrap_or(s.len());
        if f.ends_with("envelope/tests.rs") {
            tests.extend(cited(&s));
        } else {
            code.extend(cited(&s[..split]));
            tests.extend(cited(&s[split..]));
        }
    }
    for f in ["tests/fuzz_envelope.rs", "tests/envelope_spec.rs"] {
        tests.extend(cited(&read(f)));
    }
    let vectors: serde_json::Value = serde_json::from_str(&read("vectors/envelope.json")).unwrap();
    for v in vectors["vectors"].as_array().unwrap() {
        for r in v["requirements"].as_array().unwrap() {
            tests.insert(r.as_str().unwrap().to_owned());
        }
    }
    for id in &defined {
        assert!(code.contains(id), "{id} is not cited by the implementation");
        assert!(tests.contains(id), "{id} is not cited by a test or vector");
    }
    for id in code.iter().chain(&tests).filter(|id| PREFIXES.iter().any(|p| id.starts_with(p))) {
        assert!(defined.contains(id), "{id} is cited but not defined in spec/07-envelope.md");
    }
}

// [ENV-5] [ENV-6] [ENV-8] [ENV-9] the label registry table lists exactly the labels of the code.
#[test]
fn label_registry_matches() {
    let spec = read("spec/03-labels.md");
    let in_spec: Vec<&str> = spec.lines().filter_map(|l| l.strip_prefix("| `")?.split('`').next()).collect();
    let in_code: Vec<&str> = blindsync::labels::ALL.iter().map(|(l, _)| *l).collect();
    assert_eq!(in_spec, in_code);
}

// [ENV-12] the error registry table lists exactly the codes of the code, and every
// envelope error is the expected error of a negative vector.
#[test]
fn error_registry_matches() {
    let spec = read("spec/06-errors.md");
    let in_spec: Vec<&str> = spec.lines().filter_map(|l| l.strip_prefix("| `")?.split('`').next()).collect();
    let in_code: Vec<&str> = blindsync::Error::ALL.iter().map(|e| e.code()).collect();
    assert_eq!(in_spec, in_code);
    let vectors = read("vectors/envelope.json");
    for code in in_code.iter().filter(|c| c.starts_with("E_ENV_")) {
        assert!(vectors.contains(&format!("\"error\": \"{code}\"")), "{code} has no negative vector");
    }
}
