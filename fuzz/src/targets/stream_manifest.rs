//! Stream manifests (spec 9.2, 9.7): the decoder against a model of [STR-8]'s
//! check order, decode then encode, and verification and opening of
//! arbitrary manifest and body bytes. (Was `manifest_decoding_never_panics`
//! in `tests/fuzz_stream.rs`.)

use std::sync::OnceLock;

use blindsync::Error;
use blindsync::envelope::Suite;
use blindsync::keys::AccountId;
use blindsync::stream::{self, CHUNK_LEN, MAX_CHUNKS, Manifest, StreamKeySource, StreamOpenContext, StreamParams};

use crate::Vectors;
use crate::seeds::hex_field;

/// Longest input worth trying: a manifest of a few dozen chunks.
pub const MAX_LEN: usize = 4096;

/// The reader's context: what [`fixture`]'s stream was sealed for.
pub fn params() -> StreamParams {
    StreamParams { account: AccountId([1; 32]), suite: Suite::Aes256Gcm, stream_id: [2; 16], context: [3; 32] }
}

struct Fixture {
    ctx: StreamOpenContext,
    source: StreamKeySource,
    manifest: Vec<u8>,
    body: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let sk = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
        let source = StreamKeySource::from_bytes([4; 32]);
        let (manifest, body) =
            stream::seal_parallel(&params(), &source, &sk, &[9; 32], b"a small stream", 1).unwrap_or_default();
        Fixture { ctx: StreamOpenContext { params: params(), verifying_key: sk.verifying_key().to_bytes() }, source, manifest, body }
    })
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// [STR-8] decode, written from the spec's pseudocode.
fn model(data: &[u8]) -> Result<(), Error> {
    let Some(&version) = data.first() else { return Err(Error::DecodeTruncated) };
    if version != 1 {
        return Err(Error::EnvVersion);
    }
    let Some(&suite) = data.get(1) else { return Err(Error::DecodeTruncated) };
    if !(1..=2).contains(&suite) {
        return Err(Error::EnvSuite);
    }
    let fixed = 2 + 16 + 32 + 32 + 32;
    if data.len() < fixed + 8 {
        return Err(Error::DecodeTruncated);
    }
    let (count, last_len) = (be32(&data[fixed..]), be32(&data[fixed + 4..]));
    if count == 0 || last_len as usize > CHUNK_LEN {
        return Err(Error::StreamLength);
    }
    if count > MAX_CHUNKS {
        return Err(Error::StreamTooLarge);
    }
    if last_len == 0 && count > 1 {
        return Err(Error::StreamEmptyChunk);
    }
    // [STR-6] one 32-byte BLAKE3 frame digest per chunk, then the 64-byte signature
    let want = fixed + 8 + 32 * count as usize + 64;
    match data.len().cmp(&want) {
        core::cmp::Ordering::Less => Err(Error::DecodeTruncated),
        core::cmp::Ordering::Greater => Err(Error::DecodeTrailing),
        core::cmp::Ordering::Equal => Ok(()),
    }
}

/// Runs one input.
// [STR-2] [STR-8] decode order, round trip; verify and open are total and agree with decode.
pub fn run(data: &[u8]) {
    let f = fixture();
    let m = Manifest::decode(data);
    assert_eq!(m.as_ref().map(|_| ()), model(data).as_ref().copied(), "Manifest::decode and [STR-8] disagree");
    let v = Manifest::verify(data, &f.ctx);
    match &m {
        Ok(m) => {
            assert_eq!(m.encode(), data, "decode then encode");
            let p = f.ctx.params;
            if m.suite != p.suite || m.stream_id != p.stream_id || m.context != p.context {
                assert_eq!(v, Err(Error::StreamContext));
            } else if let Ok(v) = &v {
                assert_eq!(v, m);
            } else {
                assert_eq!(v, Err(Error::StreamSignature));
            }
        }
        Err(e) => assert_eq!(v.as_ref().err(), Some(e), "verify must fail as decode does"),
    }
    // Manifest and body from one input.
    let split = data.first().copied().unwrap_or(0) as usize % (data.len() + 1);
    let (mb, bb) = data.split_at(split);
    if let Ok(pt) = stream::open(mb, bb, &f.ctx, &f.source) {
        assert_eq!(mb, f.manifest.as_slice(), "only the signed manifest opens");
        assert_eq!(bb, f.body.as_slice());
        assert_eq!(pt, b"a small stream");
    }
    // The fixture's manifest with this input as its body.
    if let Ok(pt) = stream::open(&f.manifest, data, &f.ctx, &f.source) {
        assert_eq!((data, pt.as_slice()), (f.body.as_slice(), &b"a small stream"[..]));
    }
}

/// The manifests of the vectors, and the fixture's manifest and body.
pub fn seeds(v: &Vectors) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = v
        .of_kind("stream_manifest_decode")
        .chain(v.of_kind("stream_open"))
        .filter_map(|x| hex_field(x, "input", "manifest"))
        .filter(|m| m.len() <= MAX_LEN)
        .collect();
    let f = fixture();
    out.push(f.manifest.clone());
    out.push(f.body.clone());
    out
}
