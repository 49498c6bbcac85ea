//! Without the `danger` feature no public function of the library takes a
//! defence switch: every `pub fn` whose signature names `Defences` is declared
//! through `danger_api!`, which makes it crate-private unless the feature is on
//! ([MODEL-5], spec 12.5). A static check over `src/`, because every test build
//! of this workspace has the feature on (the test kit enables it).

use std::fs;
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The signature of the function starting at `lines[i]`: up to its body's `{` or a `;`.
fn signature(lines: &[&str], i: usize) -> String {
    let mut sig = String::new();
    for l in &lines[i..] {
        sig.push_str(l);
        if l.trim_end().ends_with('{') || l.trim_end().ends_with(';') {
            break;
        }
    }
    sig
}

// [MODEL-5] the defence switches are public only under the `danger` feature.
#[test]
fn every_public_function_taking_defences_is_danger_gated() {
    let mut files = Vec::new();
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let mut ungated = Vec::new();
    let mut gated = 0;
    for f in &files {
        if f.ends_with("danger.rs") || f.ends_with("defences.rs") {
            continue;
        }
        let text = fs::read_to_string(f).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            let t = l.trim_start();
            if !t.starts_with("pub fn ") && !t.starts_with("pub const fn ") {
                continue;
            }
            if !signature(&lines, i).contains("Defences") {
                continue;
            }
            let mut k = i;
            while k > 0 && (lines[k - 1].trim_start().starts_with("///") || lines[k - 1].trim_start().starts_with("#["))
            {
                k -= 1;
            }
            if k > 0 && lines[k - 1].trim() == "danger_api! {" {
                gated += 1;
            } else {
                ungated.push(format!("{}:{}", f.display(), i + 1));
            }
        }
    }
    assert!(ungated.is_empty(), "public functions taking Defences outside danger_api!: {ungated:?}");
    assert!(gated >= 20, "only {gated} gated functions found: the scan is broken");
}
