//! The canonical [`Reader`] as a generic structure decoder (spec 2.6).
//!
//! Input layout (see [`Bytes`]): `u8 n ‖ label(n)`, a field count, one
//! descriptor byte per field, then the bytes to decode. The descriptor
//! `d` is a field type `d % 6` (u8, u16, u32, u64, fixed, bytes) with
//! parameter `d / 6`: the width of a fixed field, or a quarter of a variable
//! field's maximum.
//!
//! Checks: the Reader never panics; it agrees, error for error, with a
//! second decoder written from the text of spec 2.6 ([ENC-5]); and every
//! accepted input re-encodes to exactly the same bytes ([ENC-6]: decode then
//! encode is the identity, so the encoding is canonical).

use blindsync::Error;
use blindsync::encoding::{Encoder, MAX_LABEL_LEN, Reader};
use serde_json::Value;

use crate::Vectors;
use crate::input::Bytes;
use crate::seeds::{field, hex_field};

/// Longest input worth trying.
pub const MAX_LEN: usize = 512;

/// Most fields in a shape.
const MAX_FIELDS: u8 = 16;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Ty {
    U8,
    U16,
    U32,
    U64,
    Fixed(usize),
    Bytes(usize),
}

impl Ty {
    fn from_descriptor(d: u8) -> Ty {
        let p = usize::from(d / 6);
        match d % 6 {
            0 => Ty::U8,
            1 => Ty::U16,
            2 => Ty::U32,
            3 => Ty::U64,
            4 => Ty::Fixed(p),
            _ => Ty::Bytes(p * 4),
        }
    }

    fn descriptor(self) -> Option<u8> {
        let (kind, p) = match self {
            Ty::U8 => (0, 0),
            Ty::U16 => (1, 0),
            Ty::U32 => (2, 0),
            Ty::U64 => (3, 0),
            Ty::Fixed(n) => (4, n),
            Ty::Bytes(m) if m % 4 == 0 => (5, m / 4),
            Ty::Bytes(_) => return None,
        };
        u8::try_from(kind + 6 * p).ok().filter(|d| Ty::from_descriptor(*d) == self)
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Field {
    Int(Ty, u64),
    Raw(Ty, Vec<u8>),
}

/// The label: `u8 n` then `n % 81` bytes of text (so over-long labels are
/// tried too). Given inline, not by index into the registry, so that a kept
/// input means the same thing after labels are added.
fn label(b: &mut Bytes<'_>) -> String {
    let n = usize::from(b.u8() % 81);
    String::from_utf8_lossy(b.take(n)).into_owned()
}

fn decode(label: &str, shape: &[Ty], bytes: &[u8]) -> Result<Vec<Field>, Error> {
    let mut r = Reader::new(bytes);
    r.expect_label(label)?;
    let mut out = Vec::with_capacity(shape.len());
    for ty in shape {
        out.push(match *ty {
            Ty::U8 => Field::Int(*ty, u64::from(r.u8()?)),
            Ty::U16 => Field::Int(*ty, u64::from(r.u16()?)),
            Ty::U32 => Field::Int(*ty, u64::from(r.u32()?)),
            Ty::U64 => Field::Int(*ty, r.u64()?),
            Ty::Fixed(n) => Field::Raw(*ty, r.fixed(n)?.to_vec()),
            Ty::Bytes(max) => Field::Raw(*ty, r.bytes(max)?.to_vec()),
        });
    }
    r.finish()?;
    Ok(out)
}

fn encode(label: &str, fields: &[Field]) -> Vec<u8> {
    fields
        .iter()
        .fold(Encoder::new(label), |e, f| match f {
            Field::Int(Ty::U8, v) => e.u8(*v as u8),
            Field::Int(Ty::U16, v) => e.u16(*v as u16),
            Field::Int(Ty::U32, v) => e.u32(*v as u32),
            Field::Int(_, v) => e.u64(*v),
            Field::Raw(Ty::Fixed(_), v) => e.fixed(v),
            Field::Raw(_, v) => e.bytes(v),
        })
        .finish()
}

/// Spec 2.6 read literally, on offsets: the error a decoder must return, or `Ok`.
fn spec_model(label: &str, shape: &[Ty], bytes: &[u8]) -> Result<(), Error> {
    let len_at = |at: usize| -> Option<usize> {
        let b = bytes.get(at..at.checked_add(4)?)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    // The label: length prefix, limit 64 (E_DECODE_LABEL), bytes, comparison.
    let n = len_at(0).ok_or(Error::DecodeTruncated)?;
    if n > MAX_LABEL_LEN {
        return Err(Error::DecodeLabel);
    }
    let got = bytes.get(4..4 + n).ok_or(Error::DecodeTruncated)?;
    if got != label.as_bytes() {
        return Err(Error::DecodeLabel);
    }
    let mut at = 4 + n;
    for ty in shape {
        let width = match *ty {
            Ty::U8 => 1,
            Ty::U16 => 2,
            Ty::U32 => 4,
            Ty::U64 => 8,
            Ty::Fixed(n) => n,
            Ty::Bytes(max) => {
                let n = len_at(at).ok_or(Error::DecodeTruncated)?;
                if n > max {
                    return Err(Error::DecodeLength);
                }
                at += 4;
                n
            }
        };
        if bytes.len() - at < width {
            return Err(Error::DecodeTruncated);
        }
        at += width;
    }
    if at == bytes.len() { Ok(()) } else { Err(Error::DecodeTrailing) }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut b = Bytes::new(data);
    let label = label(&mut b);
    let count = b.u8() % (MAX_FIELDS + 1);
    let shape: Vec<Ty> = (0..count).map(|_| Ty::from_descriptor(b.u8())).collect();
    let bytes = b.rest();

    // [ENC-5] the decoder is total and fails exactly as the spec says.
    let got = decode(&label, &shape, bytes);
    let want = spec_model(&label, &shape, bytes);
    assert_eq!(got.as_ref().map(|_| ()).map_err(|e| *e), want, "label {label:?} shape {shape:?}");

    // [ENC-6] an accepted input is the unique encoding of what was decoded.
    if let Ok(fields) = got {
        assert_eq!(encode(&label, &fields), bytes, "decode then encode changed the bytes");
    }
}

/// The `canonical_decode` vectors, in this target's layout.
pub fn seeds(v: &Vectors) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for vec in v.of_kind("canonical_decode") {
        let (Some(label), Some(bytes)) = (field(vec, "input", "label"), hex_field(vec, "input", "bytes")) else {
            continue;
        };
        let Some(shape) = vec.get("input").and_then(|i| i.get("shape")).and_then(Value::as_array) else {
            continue;
        };
        let tys: Option<Vec<u8>> = shape.iter().map(|s| parse_shape(s.as_str()?)?.descriptor()).collect();
        let Some(tys) = tys else { continue };
        let mut seed = Vec::new();
        let Ok(n) = u8::try_from(label.len()) else { continue };
        seed.push(n);
        seed.extend_from_slice(label.as_bytes());
        seed.push(tys.len() as u8);
        seed.extend_from_slice(&tys);
        seed.extend_from_slice(&bytes);
        out.push(seed);
    }
    out
}

fn parse_shape(s: &str) -> Option<Ty> {
    let (ty, n) = match s.split_once(':') {
        Some((t, n)) => (t, n.parse().ok()?),
        None => (s, 0),
    };
    Some(match ty {
        "u8" => Ty::U8,
        "u16" => Ty::U16,
        "u32" => Ty::U32,
        "u64" => Ty::U64,
        "fixed" => Ty::Fixed(n),
        "bytes" => Ty::Bytes(n),
        _ => return None,
    })
}
