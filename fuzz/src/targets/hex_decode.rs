//! `vectors::hex::decode`, the byte notation every vector file uses.
//!
//! Checks: decoding is total, accepts exactly the even-length strings of
//! hex digits, and decode then encode gives back the input in lowercase.

use blindsync_testkit::hex;

use crate::Vectors;
use crate::input::text;
use crate::seeds::hex_field;

/// Longest input worth trying.
pub const MAX_LEN: usize = 256;

/// Runs one input.
pub fn run(data: &[u8]) {
    let s = text(data);
    let valid = s.len().is_multiple_of(2) && s.bytes().all(|c| c.is_ascii_hexdigit());
    match hex::decode(&s) {
        Some(bytes) => {
            assert!(valid, "{s:?} decoded");
            assert_eq!(hex::encode(&bytes), s.to_ascii_lowercase());
        }
        None => assert!(!valid, "{s:?} refused"),
    }
}

/// The hex of a few vector inputs.
pub fn seeds(v: &Vectors) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = v
        .of_kind("canonical_decode")
        .filter_map(|x| hex_field(x, "input", "bytes"))
        .map(|b| hex::encode(&b).into_bytes())
        .collect();
    out.push(b"00ABff".to_vec());
    out
}
