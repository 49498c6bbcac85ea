//! Test vectors: the generator and the verifier (format in `vectors/README.md`).
//!
//! Every vector names a `kind` (the procedure a port runs), its `input`, the
//! `intermediate` values a porter needs to debug, and either an `output` or
//! the stable `error` code the procedure must fail with. The generator draws
//! inputs from fixed seeds and runs the same procedures the verifier runs, so
//! `generate` then `verify` is a round trip, and regenerating is byte-exact.
//!
//! The `vectors/upstream/` files are the published known-answer tests of the
//! primitives (RFC 5869, RFC 9106, RFC 8032, RFC 9180, the XChaCha20-Poly1305
//! draft); they anchor our own vectors to values we did not generate.

mod areas;
pub mod ed25519;
pub mod hex;
mod json;
pub mod net;
pub mod scenarios;
mod upstream;

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Map, Value};

use blindsync::error::Error;
pub use json::Fail;

/// The format tag every generated file carries.
pub const FORMAT: &str = "blindsync-vectors/1";

/// One test vector.
#[derive(Clone, Debug, PartialEq)]
pub struct Vector {
    /// Stable id, unique across all files.
    pub id: String,
    /// The procedure (see `vectors/README.md`).
    pub kind: String,
    /// What the vector shows.
    pub description: String,
    /// Spec requirement ids the vector exercises.
    pub requirements: Vec<String>,
    /// Inputs of the procedure.
    pub input: Value,
    /// Expected outcome.
    pub expected: Expected,
}

/// What a vector expects.
#[derive(Clone, Debug, PartialEq)]
pub enum Expected {
    /// Success with these intermediate values and outputs.
    Ok {
        /// Values a porter needs to debug (AAD bytes, HKDF outputs...).
        intermediate: Value,
        /// The procedure's outputs.
        output: Value,
    },
    /// Failure with this error.
    Err(Error),
}

/// A generated vector file.
pub struct VectorFile {
    /// File name inside `vectors/`.
    pub name: &'static str,
    /// What the file covers.
    pub description: &'static str,
    /// The vectors.
    pub vectors: Vec<Vector>,
}

impl VectorFile {
    /// The file's JSON.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("format".into(), FORMAT.into());
        m.insert("file".into(), self.name.into());
        m.insert("description".into(), self.description.into());
        m.insert("generator".into(), "blindsync vectors generate".into());
        m.insert("vectors".into(), Value::Array(self.vectors.iter().map(Vector::to_json).collect()));
        Value::Object(m)
    }

    /// The file's bytes: pretty JSON and a final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = serde_json::to_string_pretty(&self.to_json()).unwrap_or_default();
        s.push('\n');
        s.into_bytes()
    }
}

impl Vector {
    /// The vector's JSON object.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), self.id.clone().into());
        m.insert("kind".into(), self.kind.clone().into());
        m.insert("description".into(), self.description.clone().into());
        m.insert("requirements".into(), self.requirements.iter().cloned().map(Value::from).collect());
        m.insert("input".into(), self.input.clone());
        match &self.expected {
            Expected::Ok { intermediate, output } => {
                m.insert("intermediate".into(), intermediate.clone());
                m.insert("output".into(), output.clone());
            }
            Expected::Err(e) => {
                m.insert("error".into(), e.code().into());
            }
        }
        Value::Object(m)
    }

    /// Parses a vector object.
    pub fn from_json(v: &Value) -> Result<Self, Fail> {
        let o = v.as_object().ok_or_else(|| Fail::harness("vector is not an object"))?;
        let s = |k: &str| -> Result<String, Fail> {
            o.get(k).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| Fail::harness(format!("missing {k}")))
        };
        let requirements = o
            .get("requirements")
            .and_then(Value::as_array)
            .ok_or_else(|| Fail::harness("missing requirements"))?
            .iter()
            .map(|r| r.as_str().map(str::to_owned).ok_or_else(|| Fail::harness("requirement is not a string")))
            .collect::<Result<_, _>>()?;
        let expected = match (o.get("error"), o.get("output")) {
            (Some(e), None) => {
                let code = e.as_str().ok_or_else(|| Fail::harness("error is not a string"))?;
                Expected::Err(Error::from_code(code).ok_or_else(|| Fail::harness(format!("unknown error {code}")))?)
            }
            (None, Some(out)) => Expected::Ok {
                intermediate: o.get("intermediate").cloned().unwrap_or(Value::Object(Map::new())),
                output: out.clone(),
            },
            _ => return Err(Fail::harness("a vector has exactly one of output and error")),
        };
        Ok(Vector {
            id: s("id")?,
            kind: s("kind")?,
            description: s("description")?,
            requirements,
            input: o.get("input").cloned().ok_or_else(|| Fail::harness("missing input"))?,
            expected,
        })
    }

    /// Runs the vector's procedure and compares with what it expects.
    pub fn check(&self) -> Result<(), String> {
        let got = areas::run(&self.kind, &self.input);
        match (&self.expected, got) {
            (Expected::Ok { intermediate, output }, Ok(outcome)) => {
                if &outcome.intermediate != intermediate {
                    return Err(format!("intermediate values differ: got {}", outcome.intermediate));
                }
                if &outcome.output != output {
                    return Err(format!("output differs: got {}", outcome.output));
                }
                Ok(())
            }
            (Expected::Ok { .. }, Err(f)) => Err(format!("expected success, got {f}")),
            (Expected::Err(e), Ok(_)) => Err(format!("expected {}, got success", e.code())),
            (Expected::Err(e), Err(Fail::Protocol(got))) if got == *e => Ok(()),
            (Expected::Err(e), Err(f)) => Err(format!("expected {}, got {f}", e.code())),
        }
    }
}

/// What a procedure produced.
pub struct Outcome {
    /// Intermediate values.
    pub intermediate: Value,
    /// Outputs.
    pub output: Value,
}

/// Generates every vector file, deterministically. An `Err` means a
/// generator's own expectation failed (a bug, never an input).
pub fn generate() -> Result<Vec<VectorFile>, String> {
    areas::generate()
}

/// Writes every generated file into `dir`.
pub fn write_all(dir: &Path) -> Result<Vec<&'static str>, String> {
    let io = |e: std::io::Error| format!("{}: {e}", dir.display());
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut names = Vec::new();
    for f in generate()? {
        std::fs::write(dir.join(f.name), f.to_bytes()).map_err(io)?;
        names.push(f.name);
    }
    Ok(names)
}

/// The names of the files the generator writes.
pub fn generated_names() -> Vec<&'static str> {
    areas::FILES.iter().map(|(name, _)| *name).collect()
}

/// The result of verifying one file.
#[derive(Clone, Debug, Default)]
pub struct FileReport {
    /// File name (relative to the vectors folder).
    pub name: String,
    /// Positive vectors that passed / in all.
    pub positive: (usize, usize),
    /// Negative vectors that passed / in all.
    pub negative: (usize, usize),
    /// One line per failure.
    pub failures: Vec<String>,
}

impl FileReport {
    /// True when every vector passed and the file could be read.
    pub fn ok(&self) -> bool {
        self.failures.is_empty() && self.positive.0 == self.positive.1 && self.negative.0 == self.negative.1
    }
}

/// Verifies one generated file's JSON.
pub fn verify_generated(name: &str, json: &Value) -> FileReport {
    let mut rep = FileReport { name: name.to_owned(), ..Default::default() };
    if json.get("format").and_then(Value::as_str) != Some(FORMAT) {
        rep.failures.push(format!("{name}: format is not {FORMAT}"));
        return rep;
    }
    let Some(list) = json.get("vectors").and_then(Value::as_array) else {
        rep.failures.push(format!("{name}: no vectors array"));
        return rep;
    };
    for (i, v) in list.iter().enumerate() {
        let vector = match Vector::from_json(v) {
            Ok(v) => v,
            Err(e) => {
                rep.failures.push(format!("{name}[{i}]: {e}"));
                continue;
            }
        };
        let slot = match vector.expected {
            Expected::Ok { .. } => &mut rep.positive,
            Expected::Err(_) => &mut rep.negative,
        };
        slot.1 += 1;
        match vector.check() {
            Ok(()) => slot.0 += 1,
            Err(msg) => rep.failures.push(format!("{}: {msg}", vector.id)),
        }
    }
    rep
}

/// Verifies every file in `dir`: the generated files and `upstream/`.
pub fn verify_dir(dir: &Path) -> Vec<FileReport> {
    let mut out = Vec::new();
    for name in generated_names() {
        let path = dir.join(name);
        let rep = match read_json(&path) {
            Ok(json) => verify_generated(name, &json),
            Err(e) => FileReport { name: name.to_owned(), failures: vec![e], ..Default::default() },
        };
        out.push(rep);
    }
    for name in upstream::FILES {
        out.push(verify_upstream_file(dir, name));
    }
    out
}

/// Verifies one file of `upstream/` (a name from the upstream list).
pub fn verify_upstream_file(dir: &Path, name: &str) -> FileReport {
    let rel = format!("upstream/{name}");
    match read_json(&dir.join(&rel)) {
        Ok(json) => upstream::verify(&rel, name, &json),
        Err(e) => FileReport { name: rel, failures: vec![e], ..Default::default() },
    }
}

fn read_json(path: &Path) -> Result<Value, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: invalid JSON: {e}", path.display()))
}

/// A readable table of reports.
pub fn render_table(reports: &[FileReport]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{:<40} {:>10} {:>10}  result", "vector file", "positive", "negative");
    for r in reports {
        let _ = writeln!(
            s,
            "{:<40} {:>10} {:>10}  {}",
            r.name,
            format!("{}/{}", r.positive.0, r.positive.1),
            format!("{}/{}", r.negative.0, r.negative.1),
            if r.ok() { "ok" } else { "FAILED" }
        );
        for f in &r.failures {
            let _ = writeln!(s, "    {f}");
        }
    }
    s
}
