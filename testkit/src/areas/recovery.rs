//! `recovery.json` (spec 5.3): human format, parsing, derivation.

use serde_json::{Value, json};

use super::{Fault, Gen, fault, outcome};
use crate::Flag;
use crate::Outcome;
use crate::json::{Fail, JsonObject, hex_value, obj};
use blindsync::encoding::Encoder;
use blindsync::error::Error;
use blindsync::labels;
use blindsync::primitives::SeededRng;
use blindsync::unlock::recovery::{ALPHABET, RecoveryCode};

/// The derivation output of a parsed code, shared with `wrap.json`.
pub(super) fn derive_json(code: &RecoveryCode) -> (Value, Value) {
    let k = code.derive();
    (
        obj([
            ("extract_salt", hex_value(&Encoder::new(labels::RECOVERY_EXTRACT).finish())),
            ("prk", hex_value(k.prk.expose())),
            ("kek_info", hex_value(&Encoder::new(labels::RECOVERY_KEK).finish())),
            ("authority_info", hex_value(&Encoder::new(labels::RECOVERY_AUTHORITY).finish())),
        ]),
        obj([
            ("kek", hex_value(k.kek.expose())),
            ("authority_seed", hex_value(k.authority.expose())),
            ("authority_public_key", hex_value(&k.authority.public_key())),
        ]),
    )
}

pub(super) fn run(kind: &str, input: &Value) -> Option<Result<Outcome, Fail>> {
    let i = JsonObject(input);
    Some(match kind {
        "recovery_code_format" => (|| {
            let code = RecoveryCode::from_bytes(i.hex_n("code")?);
            outcome(json!({}), obj([("text", json!(code.to_text().as_str()))]))
        })(),
        "recovery_code_derive" => (|| {
            let code = RecoveryCode::parse(i.str("text")?)?;
            let (inter, out) = derive_json(&code);
            let mut inter = inter;
            if let Value::Object(m) = &mut inter {
                m.insert("code".into(), hex_value(code.expose()));
            }
            outcome(inter, out)
        })(),
        _ => return None,
    })
}

pub(super) fn generate(g: &mut Gen) -> Result<(), String> {
    let mut rng = SeededRng::from_label("blindsync/vectors/v1/recovery");
    let fmt = ["KEY-3"];
    let both = ["KEY-3", "KEY-4"];
    g.ok("recovery_code_format", "the all-zero code", &fmt, obj([("code", hex_value(&[0; 16]))]))?;
    g.ok(
        "recovery_code_format",
        "the all-ones code (last data symbol carries two zero padding bits)",
        &fmt,
        obj([("code", hex_value(&[0xff; 16]))]),
    )?;
    let code = RecoveryCode::generate(&mut rng);
    g.ok("recovery_code_format", "a seeded random code", &fmt, obj([("code", hex_value(code.expose()))]))?;
    let text = code.to_text().as_str().to_owned();
    g.ok(
        "recovery_code_derive",
        "parse the canonical text, then derive KEK and authority key",
        &both,
        obj([("text", json!(text))]),
    )?;
    let loose = text.to_lowercase().replace('-', " ").replace('0', "o").replace('1', "l");
    g.ok(
        "recovery_code_derive",
        "lowercase, spaces, O for 0 and L for 1 read as the same code",
        &both,
        obj([("text", json!(loose))]),
    )?;
    let other = RecoveryCode::generate(&mut rng);
    g.ok(
        "recovery_code_derive",
        "a second code derives unrelated keys",
        &both,
        obj([("text", json!(other.to_text().as_str()))]),
    )?;

    // One wrong character: the first data symbol moved by one.
    let mut typo: Vec<u8> = text.clone().into_bytes();
    let pos = ALPHABET.iter().position(|c| *c == typo[0]).unwrap_or(0);
    typo[0] = ALPHABET[(pos + 1) % 32];
    let typo = String::from_utf8(typo).map_err(|e| e.to_string())?;
    g.err(
        "recovery_code_derive",
        "one wrong character is caught by the check symbols",
        &fmt,
        obj([("text", json!(typo))]),
        Error::RecoveryChecksum,
    )?;
    let bytes = text.as_bytes();
    let mut swapped = bytes.to_vec();
    let (a, b) = (0..bytes.len() - 1)
        .find(|&k| bytes[k] != b'-' && bytes[k + 1] != b'-' && bytes[k] != bytes[k + 1])
        .map(|k| (k, k + 1))
        .unwrap_or((0, 1));
    swapped.swap(a, b);
    let swapped = String::from_utf8(swapped).map_err(|e| e.to_string())?;
    g.err(
        "recovery_code_derive",
        "two adjacent data symbols swapped",
        &fmt,
        obj([("text", json!(swapped))]),
        Error::RecoveryChecksum,
    )?;
    g.err(
        "recovery_code_derive",
        "one symbol missing",
        &fmt,
        obj([("text", json!(&text[1..]))]),
        Error::RecoveryFormat,
    )?;
    g.err(
        "recovery_code_derive",
        "one symbol too many",
        &fmt,
        obj([("text", json!(format!("{text}0")))]),
        Error::RecoveryFormat,
    )?;
    let mut bad_char = text.clone().into_bytes();
    bad_char[0] = b'U';
    let bad_char = String::from_utf8(bad_char).map_err(|e| e.to_string())?;
    g.err(
        "recovery_code_derive",
        "a character outside the alphabet (U)",
        &fmt,
        obj([("text", json!(bad_char))]),
        Error::RecoveryFormat,
    )?;
    g.err("recovery_code_derive", "the empty string", &fmt, obj([("text", json!(""))]), Error::RecoveryFormat)?;
    // 26 data symbols whose last one sets a padding bit, with matching checks.
    g.err(
        "recovery_code_derive",
        "non-zero padding bits with valid check symbols (non-canonical)",
        &fmt,
        obj([("text", json!("0000-0000-0000-0000-0000-0000-011T"))]),
        Error::RecoveryFormat,
    )?;
    g.tag(&[Flag::NonCanonical])?;

    // ---- multi-fault: the parse steps of [KEY-3] in order ----
    let mf = |what: &str, e: Error, alone: Value| fault(what, e, alone);
    let t = |s: &str| obj([("text", json!(s))]);
    let at = |s: &str, k: usize, c: u8| -> Result<String, String> {
        let mut b = s.as_bytes().to_vec();
        *b.get_mut(k).ok_or("at")? = c;
        String::from_utf8(b).map_err(|e| e.to_string())
    };
    let u10 = at(&typo, 10, b'U')?;
    let canonical_pad = "0000-0000-0000-0000-0000-0000-011T";
    let pad_typo = at(canonical_pad, 0, b'1')?;
    let cases: Vec<(&str, Value, Vec<Fault>)> = vec![
        (
            "a character outside the alphabet (U) and a wrong character",
            t(&u10),
            vec![
                mf("U at position 10", Error::RecoveryFormat, t(&at(&text, 10, b'U')?)),
                mf("one wrong character", Error::RecoveryChecksum, t(&typo)),
            ],
        ),
        (
            "one symbol missing, and a wrong character",
            t(&typo[..typo.len() - 1]),
            vec![
                mf("one symbol missing", Error::RecoveryFormat, t(&text[..text.len() - 1])),
                mf("one wrong character", Error::RecoveryChecksum, t(&typo)),
            ],
        ),
        (
            "a wrong character in a text whose padding bits are set",
            t(&pad_typo),
            vec![
                mf("one wrong character", Error::RecoveryChecksum, t(&at(&text, 0, b'1')?)),
                mf("non-zero padding bits", Error::RecoveryFormat, t(canonical_pad)),
            ],
        ),
        (
            "a dotless i (U+0131, which Unicode uppercases to I) as the last symbol, and a wrong character",
            t(&format!("{}\u{131}", &typo[..typo.len() - 1])),
            vec![
                mf("dotless i", Error::RecoveryFormat, t(&format!("{}\u{131}", &text[..text.len() - 1]))),
                mf("one wrong character", Error::RecoveryChecksum, t(&typo)),
            ],
        ),
    ];
    for (what, input, faults) in cases {
        g.multi("recovery_code_derive", what, &["KEY-3", "KEY-15"], input, faults)?;
    }
    Ok(())
}
