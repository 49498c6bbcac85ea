//! Envelope structure decoders (spec 7.4, 7.13, 7.14, 7.15): the header,
//! the envelope framing and the stub, each against a model of the spec's
//! check order, and each decode then encode giving back the bytes.

use blindsync::Error;
use blindsync::envelope::{self, EnvelopeRef, HEADER_LEN, Header, SIG_LEN, Stub};
use blindsync::envelope::padding::{MAX_PADDED_LEN, is_bucket};

use crate::Vectors;
use crate::seeds::hex_field;

/// Longest input worth trying: a header, a small body and a signature.
pub const MAX_LEN: usize = 2048;

/// [ENV-2] [ENV-3] [ENV-13] [ENV-14], written from the spec: the checks a
/// header read makes, in order, on the first 236 bytes (`prev`, the last 32,
/// is taken as it is: the sync engine checks it, [SYNC-15]).
fn header_model(data: &[u8]) -> Result<(), Error> {
    let Some(&version) = data.first() else { return Err(Error::DecodeTruncated) };
    if version != 1 {
        return Err(Error::EnvVersion);
    }
    let Some(&suite) = data.get(1) else { return Err(Error::DecodeTruncated) };
    if !(1..=2).contains(&suite) {
        return Err(Error::EnvSuite);
    }
    if data.len() < HEADER_LEN {
        return Err(Error::DecodeTruncated);
    }
    // padded_len sits after version, suite, bucket, record id, revision, writer, seq, epoch, schema.
    let at = 1 + 1 + 32 + 16 + 8 + 32 + 8 + 4 + 2;
    let padded = u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]) as usize;
    if padded > MAX_PADDED_LEN {
        return Err(Error::EnvTooLarge);
    }
    if !is_bucket(padded) {
        return Err(Error::EnvLength);
    }
    Ok(())
}

/// The framing of [ENV-4] after a valid header.
fn envelope_model(data: &[u8]) -> Result<(), Error> {
    header_model(data)?;
    let at = 1 + 1 + 32 + 16 + 8 + 32 + 8 + 4 + 2;
    let padded = u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]) as usize;
    let rest = &data[HEADER_LEN..];
    let Some(len) = rest.get(..4) else { return Err(Error::DecodeTruncated) };
    let body_len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    if body_len != padded + envelope::BODY_OVERHEAD {
        return Err(Error::EnvLength);
    }
    let want = 4 + body_len + SIG_LEN;
    match rest.len().cmp(&want) {
        core::cmp::Ordering::Less => Err(Error::DecodeTruncated),
        core::cmp::Ordering::Greater => Err(Error::DecodeTrailing),
        core::cmp::Ordering::Equal => Ok(()),
    }
}

/// [ENV-15]: header, body digest, signature, nothing after.
fn stub_model(data: &[u8]) -> Result<(), Error> {
    header_model(data)?;
    match data.len().cmp(&envelope::STUB_LEN) {
        core::cmp::Ordering::Less => Err(Error::DecodeTruncated),
        core::cmp::Ordering::Greater => Err(Error::DecodeTrailing),
        core::cmp::Ordering::Equal => Ok(()),
    }
}

/// Runs one input.
// [ENV-2] [ENV-4] [ENV-13] [ENV-14] [ENV-15] check order; decode then encode is the identity.
pub fn run(data: &[u8]) {
    let h = Header::decode(data);
    let trailing = if data.len() > HEADER_LEN { Err(Error::DecodeTrailing) } else { Ok(()) };
    let want = header_model(data).and(trailing);
    assert_eq!(h.map(|_| ()), want, "Header::decode and the spec disagree");
    if let Ok(h) = h {
        assert_eq!(h.encode().as_slice(), data);
        assert_eq!(&h.prev[..], &data[HEADER_LEN - 32..], "[ENV-2] prev is the header's last 32 bytes");
    }

    let e = EnvelopeRef::decode(data);
    assert_eq!(e.map(|_| ()), envelope_model(data), "EnvelopeRef::decode and the spec disagree");
    if let Ok(e) = e {
        let mut again = e.header.encode().to_vec();
        again.extend_from_slice(&(e.body.len() as u32).to_be_bytes());
        again.extend_from_slice(e.body);
        again.extend_from_slice(&e.signature);
        assert_eq!(again, data, "envelope decode then encode");
        // The stub keeps the header and signature and commits to the body.
        let stub = e.stub();
        assert_eq!(Stub::decode(&stub.encode()), Ok(stub));
        assert_eq!(stub.body_digest, envelope::body_digest(e.body));
    }

    let s = Stub::decode(data);
    assert_eq!(s.map(|_| ()), stub_model(data), "Stub::decode and the spec disagree");
    if let Ok(s) = s {
        assert_eq!(s.encode(), data, "stub decode then encode");
    }
}

/// The envelopes and stubs of the vectors, and their headers alone.
pub fn seeds(v: &Vectors) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = v
        .of_kind("envelope_open")
        .filter_map(|x| hex_field(x, "input", "envelope"))
        .filter(|e| e.len() <= MAX_LEN)
        .collect();
    out.extend(v.of_kind("envelope_verify_stub").filter_map(|x| hex_field(x, "input", "stub")));
    let headers: Vec<Vec<u8>> = out.iter().filter_map(|e| e.get(..HEADER_LEN).map(<[u8]>::to_vec)).collect();
    out.extend(headers);
    out
}
