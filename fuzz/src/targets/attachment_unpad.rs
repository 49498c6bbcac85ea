//! `attachment::unpad`, the decoder of an attachment's padded plaintext ([ATT-6]).
//!
//! Checks: total; accepts exactly what a model written from spec 10.6 accepts
//! (label, a length within the bytes, the Padmé total, zero padding) and
//! returns the plaintext it names; pad then unpad is the identity for
//! plaintexts built from the input, and the padded length is Padmé's.

use blindsync::Error;
use blindsync::attachment::{pad, pad_header_len, padme, unpad};

use crate::Vectors;

/// Longest input worth trying.
pub const MAX_LEN: usize = 4096;

const LABEL: &[u8] = b"blindsync/v1/attachment/padded";

/// Padmé from the PURBs paper's definition: keep the top floor(log2 E) + 1 bits of L.
fn model_padme(l: u64) -> u64 {
    if l < 2 {
        return l;
    }
    let e = 63 - l.leading_zeros() as u64;
    let s = 64 - e.leading_zeros() as u64;
    let zero_bits = e - s.min(e);
    let step = 1u64 << zero_bits;
    l.div_ceil(step) * step
}

/// [ATT-6] as the spec states it.
fn model(data: &[u8]) -> Result<Vec<u8>, Error> {
    let bad = Err(Error::AttachmentPadding);
    let header = 4 + LABEL.len() + 8;
    if data.len() < header || data[..4] != (LABEL.len() as u32).to_be_bytes() || &data[4..4 + LABEL.len()] != LABEL {
        return bad;
    }
    let mut n = [0u8; 8];
    n.copy_from_slice(&data[4 + LABEL.len()..header]);
    let len = u64::from_be_bytes(n);
    if len > (data.len() - header) as u64 {
        return bad;
    }
    if model_padme(header as u64 + len) != data.len() as u64 {
        return bad;
    }
    let end = header + len as usize;
    if data[end..].iter().any(|b| *b != 0) {
        return bad;
    }
    Ok(data[header..end].to_vec())
}

/// Runs one input.
// [ATT-6] unpad is the model; pad then unpad is the identity; lengths are Padmé's.
pub fn run(data: &[u8]) {
    assert_eq!(unpad(data), model(data), "unpad and [ATT-6] disagree");
    let Ok(padded) = pad(data) else { panic!("pad refused {} bytes", data.len()) };
    assert_eq!(padded.len() as u64, model_padme((pad_header_len() + data.len()) as u64));
    assert_eq!(padme((pad_header_len() + data.len()) as u64), Ok(padded.len() as u64));
    assert_eq!(unpad(&padded).as_deref(), Ok(data), "pad then unpad");
    // The padded input itself, with its last byte set, is refused when that byte is padding.
    if padded.len() > pad_header_len() + data.len() {
        let mut dirty = padded.clone();
        if let Some(b) = dirty.last_mut() {
            *b = 1;
        }
        assert_eq!(unpad(&dirty), Err(Error::AttachmentPadding));
    }
}

/// A padded empty file, a padded small file and raw bytes.
pub fn seeds(_: &Vectors) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = [&b""[..], b"photo", &[7; 300]].iter().filter_map(|p| pad(p).ok()).collect();
    out.push(vec![0; 16]);
    out
}
