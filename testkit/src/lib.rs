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
mod flags;
pub mod hex;
mod json;
pub mod net;
pub mod scenarios;
mod upstream;

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Map, Value};

use blindsync::error::Error;
pub use flags::Flag;
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
    /// Negative vectors: the check or attack classes it exercises (at least one; empty for a
    /// positive vector).
    pub flags: Vec<Flag>,
    /// Multi-fault vectors: each fault with the code of the check that catches it, in the spec's
    /// check order (the first one's code is the expected error); empty otherwise.
    pub faults: Vec<FaultNote>,
}

/// One fault of a multi-fault vector.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultNote {
    /// What was changed.
    pub fault: String,
    /// The code the procedure gives for this fault alone (the generator checks it).
    pub error: Error,
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
                m.insert("flags".into(), self.flags.iter().map(|f| Value::from(f.name())).collect());
                if !self.faults.is_empty() {
                    let faults = self.faults.iter().map(|f| {
                        let mut o = Map::new();
                        o.insert("fault".into(), f.fault.clone().into());
                        o.insert("error".into(), f.error.code().into());
                        Value::Object(o)
                    });
                    m.insert("faults".into(), faults.collect());
                }
            }
        }
        Value::Object(m)
    }

    /// Parses a vector object. Every malformation is a [`Fail::Harness`] naming the field.
    pub fn from_json(v: &Value) -> Result<Self, Fail> {
        let o = v.as_object().ok_or_else(|| Fail::harness("vector is not an object"))?;
        let s = |k: &str| -> Result<String, Fail> {
            match o.get(k) {
                None => Err(Fail::harness(format!("missing field {k}"))),
                Some(v) => v.as_str().map(str::to_owned).ok_or_else(|| Fail::harness(format!("{k} is not a string"))),
            }
        };
        let strings = |k: &str| -> Result<Vec<String>, Fail> {
            o.get(k)
                .ok_or_else(|| Fail::harness(format!("missing field {k}")))?
                .as_array()
                .ok_or_else(|| Fail::harness(format!("{k} is not an array")))?
                .iter()
                .map(|r| {
                    r.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| Fail::harness(format!("an entry of {k} is not a string")))
                })
                .collect()
        };
        let code = |v: &Value, what: &str| -> Result<Error, Fail> {
            let c = v.as_str().ok_or_else(|| Fail::harness(format!("{what} is not a string")))?;
            Error::from_code(c).ok_or_else(|| Fail::harness(format!("unknown error code {c} in {what}")))
        };
        let id = s("id")?;
        let kind = s("kind")?;
        let requirements = strings("requirements")?;
        let expected = match (o.get("error"), o.get("output")) {
            (Some(e), None) => Expected::Err(code(e, "error")?),
            (None, Some(out)) => Expected::Ok {
                intermediate: o.get("intermediate").cloned().unwrap_or(Value::Object(Map::new())),
                output: out.clone(),
            },
            _ => return Err(Fail::harness("a vector has exactly one of output and error")),
        };
        let flags = match o.get("flags") {
            None => Vec::new(),
            Some(_) => strings("flags")?
                .iter()
                .map(|n| {
                    Flag::from_name(n)
                        .ok_or_else(|| Fail::harness(format!("unknown flag {n} (not in the set of vectors/README.md)")))
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let faults = match o.get("faults") {
            None => Vec::new(),
            Some(list) => list
                .as_array()
                .ok_or_else(|| Fail::harness("faults is not an array"))?
                .iter()
                .map(|f| {
                    let fault = f
                        .get("fault")
                        .and_then(Value::as_str)
                        .ok_or_else(|| Fail::harness("a fault has no fault text"))?;
                    let error = code(f.get("error").unwrap_or(&Value::Null), "a fault's error")?;
                    Ok(FaultNote { fault: fault.to_owned(), error })
                })
                .collect::<Result<Vec<_>, Fail>>()?,
        };
        match &expected {
            Expected::Ok { .. } if !flags.is_empty() || !faults.is_empty() => {
                return Err(Fail::harness("a positive vector has no flags or faults"));
            }
            Expected::Err(_) if flags.is_empty() => {
                return Err(Fail::harness("a negative vector needs at least one flag"));
            }
            Expected::Err(e) => {
                let multi = flags.contains(&Flag::MultiFault);
                let class = flags.get(usize::from(multi)).copied();
                if (multi && flags[0] != Flag::MultiFault) || class != Flag::of_error(*e) {
                    return Err(Fail::harness(format!(
                        "the first flag (after MultiFault) is the class of {}: {}",
                        e.code(),
                        Flag::of_error(*e).map_or("none", Flag::name)
                    )));
                }
                if (1..flags.len()).any(|i| flags[..i].contains(&flags[i])) {
                    return Err(Fail::harness("a flag appears twice"));
                }
                if multi != (faults.len() >= 2) {
                    return Err(Fail::harness(
                        "a vector flagged MultiFault lists two or more faults, and only such a vector",
                    ));
                }
                if multi && faults[0].error != *e {
                    return Err(Fail::harness("the first fault's error is the vector's error"));
                }
            }
            Expected::Ok { .. } => {}
        }
        Ok(Vector {
            id,
            kind,
            description: s("description")?,
            requirements,
            input: o.get("input").cloned().ok_or_else(|| Fail::harness("missing field input"))?,
            expected,
            flags,
            faults,
        })
    }

    /// Runs the vector's procedure and compares with what it expects.
    pub fn check(&self) -> Result<(), String> {
        let got = areas::run(&self.kind, &self.input);
        match (&self.expected, got) {
            (_, Err(Fail::Harness(m))) => Err(format!("malformed vector: {m}")),
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
    verify_generated_kind(name, json, None)
}

/// Verifies the vectors of one generated file's JSON, only those of `kind` if given.
/// A vector that does not parse is a failure naming the file, its index and its id.
pub fn verify_generated_kind(name: &str, json: &Value, kind: Option<&str>) -> FileReport {
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
        if kind.is_some_and(|k| v.get("kind").and_then(Value::as_str) != Some(k)) {
            continue;
        }
        let vector = match Vector::from_json(v) {
            Ok(v) => v,
            Err(e) => {
                let id = v.get("id").and_then(Value::as_str).unwrap_or("(no id)");
                rep.failures.push(format!("{name}: vector {i}, id {id}: {e}"));
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
            Err(msg) => rep.failures.push(format!("{name}: {}: {msg}", vector.id)),
        }
    }
    rep
}

/// Verifies every file in `dir`: the generated files and `upstream/`. Every file must be
/// present (an absent one is a failure); [`verify_path`] takes any subset.
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

/// The reports of [`verify_path`] and the known files it did not find.
#[derive(Clone, Debug, Default)]
pub struct PathReport {
    /// One report per verified file.
    pub reports: Vec<FileReport>,
    /// Known file names (relative to the folder) that were absent and skipped.
    pub skipped: Vec<String>,
}

/// Verifies what `path` names: a folder holding any subset of the generated files and of
/// `upstream/` (absent files are skipped and listed), or a single vector file, generated or
/// upstream. With `kind`, only the vectors of that kind run (upstream files have no kinds
/// and are skipped). An `Err` says why nothing could be verified (no such path, no vector
/// file in the folder, an unknown kind, no vector of the kind).
pub fn verify_path(path: &Path, kind: Option<&str>) -> Result<PathReport, String> {
    if let Some(k) = kind.filter(|k| !areas::is_kind(k)) {
        return Err(format!("unknown kind {k} (vectors/README.md lists the kinds)"));
    }
    let mut out = PathReport::default();
    if path.is_dir() {
        for name in generated_names() {
            let file = path.join(name);
            if file.is_file() {
                out.reports.push(verify_file_as(&file, name, kind));
            } else {
                out.skipped.push(name.to_owned());
            }
        }
        for name in upstream::FILES {
            let rel = format!("upstream/{name}");
            if !path.join(&rel).is_file() {
                out.skipped.push(rel);
            } else if kind.is_none() {
                out.reports.push(verify_upstream_file(path, name));
            }
        }
        if out.reports.is_empty() && kind.is_none() {
            return Err(format!("{}: no vector file (none of {})", path.display(), generated_names().join(", ")));
        }
    } else if path.is_file() {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_owned();
        let in_upstream = path.parent().and_then(Path::file_name).is_some_and(|p| p == "upstream");
        if in_upstream && upstream::FILES.contains(&name.as_str()) {
            if kind.is_some() {
                return Err(format!(
                    "{}: upstream files have no kinds; --kind selects generated vectors",
                    path.display()
                ));
            }
            let dir = path.parent().and_then(Path::parent).unwrap_or(Path::new("."));
            out.reports.push(verify_upstream_file(dir, &name));
        } else {
            out.reports.push(verify_file_as(path, &name, kind));
        }
    } else {
        return Err(format!("{}: no such file or folder", path.display()));
    }
    if let Some(k) = kind {
        out.reports.retain(|r| r.positive.1 + r.negative.1 > 0 || !r.failures.is_empty());
        if out.reports.is_empty() {
            return Err(format!("{}: no vector of kind {k}", path.display()));
        }
    }
    Ok(out)
}

fn verify_file_as(path: &Path, name: &str, kind: Option<&str>) -> FileReport {
    match read_json(path) {
        Ok(json) => verify_generated_kind(name, &json, kind),
        Err(e) => FileReport { name: name.to_owned(), failures: vec![e], ..Default::default() },
    }
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
