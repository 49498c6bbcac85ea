//! Differential: seal then open gives back the plaintext (spec 9.3 to 9.8),
//! for suites, stream ids, contexts, keys and lengths up to three chunks
//! taken from the input; one and two sealing threads give the same bytes
//! ([STR-10]); the manifest's lengths match the body ([STR-1]).

use blindsync::Error;
use blindsync::envelope::Suite;
use blindsync::keys::AccountId;
use blindsync::stream::{self, CHUNK_LEN, Manifest, StreamKeySource, StreamOpenContext, StreamParams};

use crate::Vectors;
use crate::input::Bytes;

/// Longest input worth trying.
pub const MAX_LEN: usize = 1024;

/// Runs one input.
// [STR-1] [STR-8] [STR-10] [STR-11] seal then open is the identity.
pub fn run(data: &[u8]) {
    let mut b = Bytes::new(data);
    let flags = b.u8();
    let suite = if flags & 1 == 0 { Suite::Aes256Gcm } else { Suite::ChaCha20Poly1305 };
    let params = StreamParams { account: AccountId(b.array()), suite, stream_id: b.array(), context: b.array() };
    let source = StreamKeySource::from_bytes(b.array());
    let salt: [u8; 32] = b.array();
    let sk = ed25519_dalek::SigningKey::from_bytes(&b.array());
    // Lengths around the chunk boundaries when asked, else the input's rest.
    let sizes = [0, 1, CHUNK_LEN - 1, CHUNK_LEN, CHUNK_LEN + 1, 2 * CHUNK_LEN, 2 * CHUNK_LEN + 17];
    let rest = b.rest();
    let plaintext: Vec<u8> = if flags & 2 == 0 {
        rest.to_vec()
    } else {
        let n = sizes[usize::from((flags >> 2) & 0x1f) % sizes.len()];
        rest.iter().copied().chain(core::iter::repeat(flags)).take(n).collect()
    };
    let Ok((manifest, body)) = stream::seal_parallel(&params, &source, &sk, &salt, &plaintext, 1) else {
        panic!("sealing {} bytes failed", plaintext.len())
    };
    if flags & 0x80 != 0 {
        let two = stream::seal_parallel(&params, &source, &sk, &salt, &plaintext, 2);
        assert_eq!(two, Ok((manifest.clone(), body.clone())), "[STR-10] thread count changed the bytes");
    }
    let m = Manifest::decode(&manifest);
    assert!(m.as_ref().is_ok_and(|m| m.plaintext_len() == plaintext.len() as u64 && m.body_len() == body.len() as u64));
    let ctx = StreamOpenContext { params, verifying_key: sk.verifying_key().to_bytes() };
    assert_eq!(stream::open(&manifest, &body, &ctx, &source).as_deref(), Ok(plaintext.as_slice()), "seal then open");
    // Another stream id is another stream; another key source fails the commitment.
    let mut other = params;
    other.stream_id[0] ^= 1;
    let octx = StreamOpenContext { params: other, ..ctx };
    assert_eq!(stream::open(&manifest, &body, &octx, &source), Err(Error::StreamContext));
    let mut k = [0u8; 32];
    k[31] = 1;
    if data.get(81..113) != Some(&k[..]) {
        let wrong = StreamKeySource::from_bytes(k);
        assert_eq!(stream::open(&manifest, &body, &ctx, &wrong), Err(Error::StreamCommitment));
    }
}

/// Empty, a short text, and each chunk-boundary length.
pub fn seeds(_: &Vectors) -> Vec<Vec<u8>> {
    let mut out = vec![Vec::new()];
    let mut short = vec![0u8; 1 + 32 + 16 + 32 + 32 + 32 + 32];
    short.extend_from_slice(b"a short stream");
    out.push(short);
    for i in 0..7u8 {
        out.push(vec![2 | (i << 2) | ((i & 1) << 7)]);
    }
    out
}
