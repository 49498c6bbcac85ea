//! Reading vector inputs: every accessor returns a typed failure, never panics.

use core::fmt;

use serde_json::{Map, Value};

use super::hex;
use blindsync::error::Error;

/// Why a procedure did not produce an outcome.
#[derive(Clone, Debug, PartialEq)]
pub enum Fail {
    /// The protocol refused the input with this error (what negative vectors expect).
    Protocol(Error),
    /// The vector itself is malformed (missing field, bad hex...).
    Harness(String),
}

impl Fail {
    /// A harness failure.
    pub fn harness(msg: impl Into<String>) -> Self {
        Fail::Harness(msg.into())
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Protocol(e)
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fail::Protocol(e) => write!(f, "{e}"),
            Fail::Harness(m) => write!(f, "malformed vector: {m}"),
        }
    }
}

/// Field accessors over a JSON object.
pub(crate) struct JsonObject<'a>(pub &'a Value);

impl<'a> JsonObject<'a> {
    pub fn get(&self, k: &str) -> Result<&'a Value, Fail> {
        self.0.get(k).ok_or_else(|| Fail::harness(format!("missing field {k}")))
    }
    pub fn hex(&self, k: &str) -> Result<Vec<u8>, Fail> {
        let s = self.get(k)?.as_str().ok_or_else(|| Fail::harness(format!("{k} is not a string")))?;
        hex::decode(s).ok_or_else(|| Fail::harness(format!("{k} is not hex")))
    }
    pub fn hex_n<const N: usize>(&self, k: &str) -> Result<[u8; N], Fail> {
        self.hex(k)?.try_into().map_err(|_| Fail::harness(format!("{k} is not {N} bytes")))
    }
    pub fn str(&self, k: &str) -> Result<&'a str, Fail> {
        self.get(k)?.as_str().ok_or_else(|| Fail::harness(format!("{k} is not a string")))
    }
    pub fn u64(&self, k: &str) -> Result<u64, Fail> {
        self.get(k)?.as_u64().ok_or_else(|| Fail::harness(format!("{k} is not an unsigned integer")))
    }
    pub fn u32(&self, k: &str) -> Result<u32, Fail> {
        u32::try_from(self.u64(k)?).map_err(|_| Fail::harness(format!("{k} exceeds u32")))
    }
    pub fn arr(&self, k: &str) -> Result<&'a Vec<Value>, Fail> {
        self.get(k)?.as_array().ok_or_else(|| Fail::harness(format!("{k} is not an array")))
    }
}

/// Builds a JSON object from `(key, value)` pairs, in order.
pub(crate) fn obj<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert(k.to_owned(), v);
    }
    Value::Object(m)
}

/// Hex of bytes as a JSON string.
pub(crate) fn hex_value(bytes: &[u8]) -> Value {
    Value::String(hex::encode(bytes))
}

/// A copy of the object `v` with `key` set to `val` (negative vectors change one field).
pub(crate) fn set(v: &Value, key: &str, val: Value) -> Value {
    let mut v = v.clone();
    if let Value::Object(m) = &mut v {
        m.insert(key.to_owned(), val);
    }
    v
}
