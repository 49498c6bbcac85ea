//! Comparison QR codes (spec 8.2, [CHAIN-5], [CHAIN-19]): the decoder
//! against a model of the spec's check order, the round trip, and the
//! comparison, which accepts exactly the identical code.

use blindsync::Error;
use blindsync::device::{ComparisonKind, ComparisonQr};

use crate::Vectors;
use crate::input::Bytes;
use crate::seeds::hex_field;

/// Longest input worth trying: a code is 34 bytes.
pub const MAX_LEN: usize = 80;

/// The spec's reader, written from [CHAIN-19]: version, length, kind.
fn model(data: &[u8]) -> Result<(u8, [u8; 32]), Error> {
    let (&version, _) = data.split_first().ok_or(Error::DecodeTruncated)?;
    if version != 1 {
        return Err(Error::PairingVersion);
    }
    if data.len() < 34 {
        return Err(Error::DecodeTruncated);
    }
    if data.len() > 34 {
        return Err(Error::DecodeTrailing);
    }
    if !(1..=3).contains(&data[1]) {
        return Err(Error::DecodeValue);
    }
    let mut d = [0u8; 32];
    d.copy_from_slice(&data[2..]);
    Ok((data[1], d))
}

/// Runs one input.
// [CHAIN-19] check order, round trip, and a comparison that accepts only an identical code.
pub fn run(data: &[u8]) {
    let got = ComparisonQr::decode(data);
    assert_eq!(got.map(|q| (q.kind as u8, q.digest)), model(data), "decoder and [CHAIN-19] model disagree");
    if let Ok(q) = got {
        assert_eq!(q.encode(), data, "decode then encode");
        // A code built from the rest of the input matches iff it is the same code.
        let mut b = Bytes::new(data.get(2..).unwrap_or(&[]));
        let kind = match b.u8() % 3 {
            0 => ComparisonKind::Account,
            1 => ComparisonKind::Partner,
            _ => ComparisonKind::Pairing,
        };
        let mut other = ComparisonQr { kind, digest: q.digest };
        other.digest[usize::from(b.u8()) % 32] ^= b.u8();
        let same = other == q;
        assert_eq!(q.matches(&other).is_ok(), same);
        assert_eq!(q.matches(&other).err(), (!same).then_some(Error::CompareMismatch));
        assert_eq!(q.matches(&q), Ok(()));
    }
}

/// The scanned and computed codes of the vectors.
pub fn seeds(v: &Vectors) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = v.of_kind("comparison_qr_check").filter_map(|x| hex_field(x, "input", "scanned")).collect();
    out.extend(v.of_kind("comparison_qr_check").filter_map(|x| hex_field(x, "input", "mine")));
    out.sort();
    out.dedup();
    out
}
