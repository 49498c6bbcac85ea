//! Seed inputs from the test vectors (`vectors/*.json`), so campaigns start
//! from valid inputs and every target's seeds reach its success path.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The generated vectors: every vector object with its file name.
#[derive(Clone, Debug, Default)]
pub struct Vectors {
    /// `(file name, vector object)` in file order.
    pub all: Vec<(String, Value)>,
}

impl Vectors {
    /// The repository's `vectors/` folder.
    pub fn default_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("vectors")
    }

    /// Reads every generated file in `dir`.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let mut all = Vec::new();
        for name in blindsync_testkit::generated_names() {
            let path = dir.join(name);
            let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let json: Value = serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
            for v in json.get("vectors").and_then(Value::as_array).into_iter().flatten() {
                all.push((name.to_owned(), v.clone()));
            }
        }
        Ok(Vectors { all })
    }

    /// The vectors of one kind.
    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.all.iter().map(|(_, v)| v).filter(move |v| v.get("kind").and_then(Value::as_str) == Some(kind))
    }
}

/// A field of a vector's `input` (or `intermediate`, `output`) as a string.
pub fn field<'a>(v: &'a Value, part: &str, key: &str) -> Option<&'a str> {
    v.get(part)?.get(key)?.as_str()
}

/// A hex field of a vector part, decoded.
pub fn hex_field(v: &Value, part: &str, key: &str) -> Option<Vec<u8>> {
    blindsync_testkit::hex::decode(field(v, part, key)?)
}

/// An integer field of a vector part.
pub fn u64_field(v: &Value, part: &str, key: &str) -> Option<u64> {
    v.get(part)?.get(key)?.as_u64()
}

/// The corpus file name of an input: the first 16 hex digits of its SHA-256.
pub fn file_name(input: &[u8]) -> String {
    let d = blindsync::primitives::sha256(&[input]);
    blindsync_testkit::hex::encode(&d[..8])
}
