//! `encoding.json` (spec 2): decoding canonical structures of a given shape.
//!
//! A shape is a list of field types: `u8`, `u16`, `u32`, `u64`, `fixed:N`
//! (N raw bytes) and `bytes:MAX` (a u32 length then at most MAX bytes).

use serde_json::{Value, json};

use super::{Fault, Gen, fault, outcome};
use crate::Flag;
use crate::Outcome;
use crate::json::{Fail, JsonObject, hex_value, obj};
use blindsync::encoding::{Encoder, Reader};
use blindsync::error::Error;

fn decode(label: &str, shape: &[Value], bytes: &[u8]) -> Result<Vec<Value>, Fail> {
    let mut r = Reader::new(bytes);
    r.expect_label(label)?;
    let mut out = Vec::new();
    for f in shape {
        let f = f.as_str().ok_or_else(|| Fail::harness("shape entry is not a string"))?;
        let (ty, n) = match f.split_once(':') {
            Some((t, n)) => (t, n.parse::<usize>().map_err(|_| Fail::harness("bad size in shape"))?),
            None => (f, 0),
        };
        out.push(match ty {
            "u8" => json!(r.u8()?),
            "u16" => json!(r.u16()?),
            "u32" => json!(r.u32()?),
            "u64" => json!(r.u64()?),
            "fixed" => hex_value(r.fixed(n)?),
            "bytes" => hex_value(r.bytes(n)?),
            other => return Err(Fail::harness(format!("unknown field type {other}"))),
        });
    }
    r.finish()?;
    Ok(out)
}

pub(super) fn run(kind: &str, input: &Value) -> Option<Result<Outcome, Fail>> {
    let i = JsonObject(input);
    Some(match kind {
        "canonical_decode" => (|| {
            let fields = decode(i.str("label")?, i.arr("shape")?, &i.hex("bytes")?)?;
            outcome(json!({}), obj([("fields", Value::Array(fields))]))
        })(),
        _ => return None,
    })
}

pub(super) fn generate(g: &mut Gen) -> Result<(), String> {
    let label = blindsync::labels::EXAMPLE;
    let shape = json!(["u8", "u16", "u32", "u64", "fixed:4", "bytes:16"]);
    let good = Encoder::new(label)
        .u8(0xab)
        .u16(0x0102)
        .u32(0x0304_0506)
        .u64(0x0708_090a_0b0c_0d0e)
        .fixed(&[1, 2, 3, 4])
        .bytes(b"hello")
        .finish();
    let input = |bytes: &[u8]| obj([("label", json!(label)), ("shape", shape.clone()), ("bytes", hex_value(bytes))]);
    let r = ["ENC-1", "ENC-2", "ENC-3", "ENC-4"];
    g.ok("canonical_decode", "every field type once, big-endian, label first", &r, input(&good))?;
    let empty = Encoder::new(label).u8(0).u16(0).u32(0).u64(0).fixed(&[0; 4]).bytes(b"").finish();
    g.ok("canonical_decode", "zero values and an empty variable-length field", &r, input(&empty))?;
    let r5 = ["ENC-5"];
    g.err("canonical_decode", "truncated by one byte", &r5, input(&good[..good.len() - 1]), Error::DecodeTruncated)?;
    g.err(
        "canonical_decode",
        "truncated inside the label's length prefix",
        &r5,
        input(&good[..2]),
        Error::DecodeTruncated,
    )?;
    let mut trailing = good.clone();
    trailing.push(0);
    g.err(
        "canonical_decode",
        "one trailing byte after a complete structure",
        &r5,
        input(&trailing),
        Error::DecodeTrailing,
    )?;
    let long = Encoder::new(label).u8(0).u16(0).u32(0).u64(0).fixed(&[0; 4]).bytes(&[7; 17]).finish();
    g.err(
        "canonical_decode",
        "a variable-length field one byte over its limit",
        &r5,
        input(&long),
        Error::DecodeLength,
    )?;
    g.tag(&[Flag::EdgeCase])?;
    let other = Encoder::new(&label[..label.len() - 1]).u8(0).finish();
    g.err(
        "canonical_decode",
        "a different label (a prefix of the expected one)",
        &r5,
        input(&other),
        Error::DecodeLabel,
    )?;
    let mut huge = vec![0xff, 0xff, 0xff, 0xff];
    huge.extend_from_slice(label.as_bytes());
    g.err(
        "canonical_decode",
        "a label length prefix far over the 64-byte label limit",
        &r5,
        input(&huge),
        Error::DecodeLabel,
    )?;

    // ---- multi-fault: the field in wire order that fails first decides ([ENC-5]) ----
    let mf = |what: &str, e: Error, alone: Value| fault(what, e, alone);
    let plus = |b: &[u8]| [b, &[0u8][..]].concat();
    let mut relabel = good.clone();
    relabel[4] ^= 0x01;
    let cases: Vec<(&str, Value, Vec<Fault>)> = vec![
        (
            "a different label and a trailing byte",
            input(&plus(&other)),
            vec![
                mf("a different label", Error::DecodeLabel, input(&other)),
                mf("a trailing byte", Error::DecodeTrailing, input(&trailing)),
            ],
        ),
        (
            "a label length prefix over 64, cut inside the label",
            input(&huge[..6]),
            vec![
                mf("label length prefix over 64", Error::DecodeLabel, input(&huge)),
                mf("cut inside the label", Error::DecodeTruncated, input(&good[..6])),
            ],
        ),
        (
            "a label byte changed, cut by one byte",
            input(&relabel[..relabel.len() - 1]),
            vec![
                mf("a label byte changed", Error::DecodeLabel, input(&relabel)),
                mf("cut by one byte", Error::DecodeTruncated, input(&good[..good.len() - 1])),
            ],
        ),
        (
            "a variable-length field over its limit, cut inside its content",
            input(&long[..long.len() - 5]),
            vec![
                mf("field of 17 bytes (limit 16)", Error::DecodeLength, input(&long)),
                mf("cut inside the field", Error::DecodeTruncated, input(&good[..good.len() - 1])),
            ],
        ),
        (
            "a variable-length field over its limit, and a trailing byte",
            input(&plus(&long)),
            vec![
                mf("field of 17 bytes (limit 16)", Error::DecodeLength, input(&long)),
                mf("a trailing byte", Error::DecodeTrailing, input(&trailing)),
            ],
        ),
    ];
    for (what, i, faults) in cases {
        g.multi("canonical_decode", what, &["ENC-5"], i, faults)?;
    }
    Ok(())
}
