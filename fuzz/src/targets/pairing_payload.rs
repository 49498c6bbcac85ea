//! The pairing payload a new device shows as a QR code (spec 8.5, [DEV-3]):
//! the decoder against a model of the spec's check order, decode then
//! encode, and encode then decode for arbitrary keys.

use blindsync::Error;
use blindsync::device::{DevicePublic, PairingPayload};
use blindsync::encoding::Encoder;
use blindsync::primitives::sha256;

use crate::Vectors;
use crate::input::Bytes;
use crate::seeds::hex_field;

/// Longest input worth trying: the payload is 69 bytes.
pub const MAX_LEN: usize = 96;

/// The payload's length. [DEV-3]
const LEN: usize = 1 + 32 + 32 + 4;

/// The spec's reader, written from [DEV-3]: version, length, checksum, keys.
fn model(data: &[u8]) -> Result<DevicePublic, Error> {
    let (&version, _) = data.split_first().ok_or(Error::DecodeTruncated)?;
    if version != 1 {
        return Err(Error::PairingVersion);
    }
    if data.len() < LEN {
        return Err(Error::DecodeTruncated);
    }
    if data.len() > LEN {
        return Err(Error::DecodeTrailing);
    }
    let mut b = Bytes::new(&data[1..]);
    let p = DevicePublic { ed25519: b.array(), x25519: b.array() };
    let sum = sha256(&[&Encoder::new("blindsync/v1/pairing/payload").u8(1).fixed(&p.ed25519).fixed(&p.x25519).finish()]);
    if b.take(4) != &sum[..4] {
        return Err(Error::PairingChecksum);
    }
    p.check()?;
    Ok(p)
}

/// Runs one input.
// [DEV-3] check order and the 69-byte round trip; [DEV-2] key checks last.
pub fn run(data: &[u8]) {
    let got = PairingPayload::decode(data);
    assert_eq!(got.map(|p| p.0), model(data), "decoder and [DEV-3] model disagree");
    if let Ok(p) = got {
        assert_eq!(p.encode(), data, "decode then encode");
    }
    // Encode any two keys (the first 64 input bytes): decoding gives them
    // back exactly when they pass [DEV-2].
    let mut b = Bytes::new(data);
    let p = DevicePublic { ed25519: b.array(), x25519: b.array() };
    let enc = PairingPayload(p).encode();
    assert_eq!(enc.len(), LEN);
    assert_eq!(PairingPayload::decode(&enc).map(|q| q.0), p.check().map(|()| p));
}

/// The payloads of the vectors.
pub fn seeds(v: &Vectors) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> =
        v.of_kind("pairing_payload_decode").filter_map(|x| hex_field(x, "input", "payload")).collect();
    out.extend(v.of_kind("pairing_payload_encode").filter_map(|x| hex_field(x, "output", "payload")));
    out
}
