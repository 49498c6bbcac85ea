//! `RecoveryCode::parse` on arbitrary text (spec 5.3).
//!
//! Checks: parsing never panics and fails only with `E_RECOVERY_FORMAT` or
//! `E_RECOVERY_CHECKSUM`, exactly when a model of [KEY-3] written from the
//! spec says so; an accepted text is the canonical text up to the
//! normalisation the spec allows (separators, case, O/I/L); and
//! parse → `to_text` → parse gives back the same code.

use blindsync::Error;
use blindsync::unlock::recovery::{ALPHABET, DATA_SYMBOLS, RecoveryCode, SYMBOLS, check_symbols};

use crate::Vectors;
use crate::input::text;
use crate::seeds::field;

/// Longest input worth trying.
pub const MAX_LEN: usize = 160;

/// [KEY-3] as the spec states it: the symbols after normalisation, or `None`
/// for a character outside the alphabet.
fn normalise(text: &str) -> Option<Vec<u8>> {
    text.bytes()
        .filter(|c| *c != b'-' && *c != b' ')
        .map(|c| {
            let c = match c.to_ascii_uppercase() {
                b'O' => b'0',
                b'I' | b'L' => b'1',
                c => c,
            };
            ALPHABET.iter().position(|a| *a == c).map(|p| p as u8)
        })
        .collect()
}

fn spec_model(text: &str) -> Result<Vec<u8>, Error> {
    let syms = normalise(text).ok_or(Error::RecoveryFormat)?;
    if syms.len() != SYMBOLS {
        return Err(Error::RecoveryFormat);
    }
    let mut data = [0u8; DATA_SYMBOLS];
    data.copy_from_slice(&syms[..DATA_SYMBOLS]);
    if check_symbols(&data)[..] != syms[DATA_SYMBOLS..] {
        return Err(Error::RecoveryChecksum);
    }
    if data[DATA_SYMBOLS - 1] & 0b11 != 0 {
        return Err(Error::RecoveryFormat);
    }
    Ok(syms)
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let text = text(data);
    let got = RecoveryCode::parse(&text);
    let want = spec_model(&text);
    match (&got, &want) {
        (Ok(code), Ok(syms)) => {
            let canonical = code.to_text();
            // The canonical text: 7 groups of 4 symbols.
            assert_eq!(canonical.len(), SYMBOLS + 6);
            assert!(canonical.bytes().enumerate().all(|(i, c)| (i % 5 == 4) == (c == b'-')));
            // [KEY-3] the input is the canonical text up to normalisation.
            assert_eq!(normalise(&canonical).as_deref(), Some(&syms[..]), "{text:?} is not {:?}", *canonical);
            // parse -> to_text -> parse is the identity.
            let again = RecoveryCode::parse(&canonical);
            assert!(again.is_ok_and(|c| c == *code), "canonical text does not parse back");
        }
        (Err(g), Err(w)) => assert_eq!(g, w, "{text:?}"),
        _ => panic!("parse and the spec model disagree on {text:?}: {:?} vs {:?}", got.err(), want.err()),
    }
}

/// Every recovery text in the vectors (valid and invalid), and the canonical texts.
pub fn seeds(v: &Vectors) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for kind in ["recovery_code_derive", "recovery_unlock"] {
        out.extend(v.of_kind(kind).filter_map(|x| field(x, "input", "text")).map(|t| t.as_bytes().to_vec()));
    }
    out.extend(v.of_kind("recovery_code_format").filter_map(|x| field(x, "output", "text")).map(|t| t.as_bytes().to_vec()));
    out
}
