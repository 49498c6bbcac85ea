//! Payload encodings (spec 7.11, `spec/07-envelope.md`).
//!
//! Schema 0 is raw bytes that BlindSync does not interpret. Schema 1 is a
//! record as canonical JSON:
//!
//! ```text
//! canonical(v):
//!   object  -> "{" ‖ join(",", canonical_string(k) ‖ ":" ‖ canonical(v_k)
//!                          for k in keys sorted by their UTF-8 bytes) ‖ "}"
//!   array   -> "[" ‖ join(",", canonical(x) for x in v) ‖ "]"
//!   string  -> '"' ‖ s with only '"', '\' and U+0000..U+001F escaped ‖ '"'
//!              (\" \\ \b \f \n \r \t, else \u00xx in lowercase hex)
//!   integer -> shortest decimal, '-' for negatives, |n| <= 2^53 - 1
//!   true / false / null
//! a payload of schema 1 is valid iff it is UTF-8 JSON whose top level is an
//! object, nesting depth <= 64, no duplicate keys, and canonical(parse(p)) == p
//! ```

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Largest integer magnitude canonical JSON allows: `2^53 - 1`. [PAY-4]
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// Deepest nesting of arrays and objects canonical JSON allows. [PAY-3]
pub const MAX_DEPTH: usize = 64;

/// The payload encodings an envelope's `schema` field names. [PAY-1]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Schema {
    /// Opaque bytes, not interpreted.
    Raw = 0,
    /// A record as a canonical JSON object.
    Json = 1,
}

impl Schema {
    /// The schema with wire value `v`, or [`Error::EnvSchema`]. [PAY-1] The one way
    /// from a number to a schema: a writer cannot seal another value. [PAY-6]
    pub fn from_u16(v: u16) -> Result<Self> {
        match v {
            0 => Ok(Schema::Raw),
            1 => Ok(Schema::Json),
            _ => Err(Error::EnvSchema),
        }
    }

    /// Checks `payload` against the schema. [PAY-1] [PAY-2]
    pub fn check(self, payload: &[u8]) -> Result<()> {
        match self {
            Schema::Raw => Ok(()),
            Schema::Json => check_canonical_json(payload),
        }
    }
}

/// The canonical JSON bytes of `v`. `v` must be an object (at the top), hold
/// only integers within ±(2^53 - 1) and nest at most [`MAX_DEPTH`] deep;
/// anything else is [`Error::EnvJson`]. [PAY-2] [PAY-3] [PAY-4] [PAY-5]
///
/// ```
/// use blindsync::envelope::payload::canonical_json;
/// let v = serde_json::json!({"b": [1, "x\n"], "a": null});
/// assert_eq!(canonical_json(&v)?, br#"{"a":null,"b":[1,"x\n"]}"#);
/// # Ok::<(), blindsync::Error>(())
/// ```
pub fn canonical_json(v: &Value) -> Result<Vec<u8>> {
    if !v.is_object() {
        return Err(Error::EnvJson);
    }
    let mut out = Vec::new();
    write_value(&mut out, v, 0)?;
    Ok(out)
}

/// Parses `bytes` and returns their canonical form (a canonicalizer for
/// writers whose JSON comes from elsewhere). [PAY-2]
pub fn canonicalize(bytes: &[u8]) -> Result<Vec<u8>> {
    let v: Value = serde_json::from_slice(bytes).map_err(|_| Error::EnvJson)?;
    canonical_json(&v)
}

/// Accepts `payload` only if it is exactly the canonical JSON of an object:
/// `canonical(parse(payload)) == payload`. Duplicate keys, unsorted keys,
/// whitespace, non-minimal escapes, fractions, exponents, `-0` and integers
/// out of range all fail that equation. [PAY-2] [PAY-3] [PAY-4] [PAY-5]
pub fn check_canonical_json(payload: &[u8]) -> Result<()> {
    if canonicalize(payload)? == payload { Ok(()) } else { Err(Error::EnvJson) }
}

fn write_value(out: &mut Vec<u8>, v: &Value, depth: usize) -> Result<()> {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            // [PAY-4] integers only, within ±(2^53 - 1).
            let i = n.as_i64().filter(|i| (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(i)).ok_or(Error::EnvJson)?;
            out.extend_from_slice(i.to_string().as_bytes());
        }
        Value::String(s) => write_string(out, s),
        Value::Array(a) => {
            let depth = enter(depth)?;
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, x, depth)?;
            }
            out.push(b']');
        }
        Value::Object(m) => {
            let depth = enter(depth)?;
            write_object(out, m, depth)?;
        }
    }
    Ok(())
}

fn enter(depth: usize) -> Result<usize> {
    // [PAY-3]
    if depth >= MAX_DEPTH { Err(Error::EnvJson) } else { Ok(depth + 1) }
}

fn write_object(out: &mut Vec<u8>, m: &Map<String, Value>, depth: usize) -> Result<()> {
    // [PAY-2] keys sorted by their UTF-8 bytes (str's Ord is bytewise).
    let mut keys: Vec<(&String, &Value)> = m.iter().collect();
    keys.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    out.push(b'{');
    for (i, (k, x)) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(out, k);
        out.push(b':');
        write_value(out, x, depth)?;
    }
    out.push(b'}');
    Ok(())
}

fn write_string(out: &mut Vec<u8>, s: &str) {
    // [PAY-5] minimal escaping.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x00..=0x1f => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 15)]);
            }
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    // [PAY-2] [PAY-3] [PAY-4] [PAY-5] accepted and refused payloads.
    #[test]
    fn canonical_rules() {
        let ok: &[&[u8]] = &[
            br#"{}"#,
            br#"{"a":1,"b":[true,false,null],"c":{"d":"e"}}"#,
            br#"{"":0,"A":-9007199254740991,"a":9007199254740991}"#,
            "{\"k\":\"\\u0001\\n\\\"\\\\/é\u{2028}\"}".as_bytes(),
        ];
        for p in ok {
            assert_eq!(check_canonical_json(p), Ok(()), "{}", String::from_utf8_lossy(p));
        }
        let bad: &[&[u8]] = &[
            br#"[]"#,
            br#""x""#,
            br#"{ }"#,
            br#"{"b":1,"a":2}"#,
            br#"{"a":1,"a":1}"#,
            br#"{"a":1.0}"#,
            br#"{"a":1e2}"#,
            br#"{"a":-0}"#,
            br#"{"a":9007199254740992}"#,
            br#"{"a":"\u0041"}"#,
            br#"{"a":"\/"}"#,
            br#"{"a":"\u000A"}"#,
            br#"{"a":"\u001F"}"#,
            br#"{"a":1}  "#,
            b"{\"a\":\"\xff\"}",
            br#"{"a":"\ud800"}"#,
            b"",
        ];
        for p in bad {
            assert_eq!(check_canonical_json(p), Err(Error::EnvJson), "{}", String::from_utf8_lossy(p));
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(63), "]".repeat(63));
        assert_eq!(check_canonical_json(deep.as_bytes()), Ok(()));
        let deeper = format!("{{\"a\":{}{}}}", "[".repeat(64), "]".repeat(64));
        assert_eq!(check_canonical_json(deeper.as_bytes()), Err(Error::EnvJson));
        assert_eq!(canonical_json(&json!({"z": 1, "é": 2, "a": 3})).unwrap(), "{\"a\":3,\"z\":1,\"é\":2}".as_bytes());
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).prop_map(|i| json!(i)),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map(any::<String>(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        // [PAY-2] canonical output is accepted, is a fixed point, and parses back to the value.
        #[test]
        fn canonical_is_fixed_point(v in proptest::collection::btree_map(any::<String>(), json_value(), 0..6)) {
            let v = Value::Object(v.into_iter().collect());
            let c = canonical_json(&v).unwrap();
            prop_assert_eq!(check_canonical_json(&c), Ok(()));
            let back: Value = serde_json::from_slice(&c).unwrap();
            prop_assert_eq!(back, v);
        }

        // [PAY-2] the checker never panics and accepts only fixed points.
        #[test]
        fn checker_total(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if check_canonical_json(&bytes).is_ok() {
                prop_assert_eq!(canonicalize(&bytes).unwrap(), bytes);
            }
        }
    }
}
