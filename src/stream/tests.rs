use proptest::prelude::*;

use super::*;
use crate::primitives::SeededRng;

pub(crate) fn params(suite: Suite) -> StreamParams {
    StreamParams { account: AccountId([1; 32]), suite, stream_id: [2; 16], context: [3; 32] }
}

fn sk() -> SigningKey {
    SigningKey::from_bytes(&[5; 32])
}

fn ctx(suite: Suite) -> StreamOpenContext {
    StreamOpenContext { params: params(suite), verifying_key: sk().verifying_key().to_bytes() }
}

fn source() -> StreamKeySource {
    StreamKeySource::from_bytes([4; 32])
}

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

// [STR-1] [STR-9] the streaming sealer and the in-memory sealer give the same bytes,
// whatever the write sizes; [STR-10] and so does every thread count.
#[test]
fn streaming_and_parallel_agree() {
    for n in [0, 1, CHUNK_LEN - 1, CHUNK_LEN, CHUNK_LEN + 1, 3 * CHUNK_LEN + 17] {
        let pt = data(n);
        let salt = [9u8; 32];
        let (m1, b1) = seal_parallel(&params(Suite::Aes256Gcm), &source(), &sk(), &salt, &pt, 1).unwrap();
        for threads in [2, 3, 8] {
            let (m2, b2) = seal_parallel(&params(Suite::Aes256Gcm), &source(), &sk(), &salt, &pt, threads).unwrap();
            assert_eq!((&m1, &b1), (&m2, &b2));
        }
        let key = sk();
        let mut w = StreamSealer::with_salt(params(Suite::Aes256Gcm), &source(), &key, salt, Vec::new());
        for part in pt.chunks(1000) {
            w.write_all(part).unwrap();
        }
        let (m3, b3) = w.finish().unwrap();
        assert_eq!((&m1, &b1), (&m3, &b3), "n = {n}");
        // a body buffer filled in odd pieces seals to the same bytes
        let mut bb = BodyBuffer::with_plaintext_len(n);
        for part in pt.chunks(777) {
            bb.write_all(part).unwrap();
        }
        assert_eq!(bb.plaintext_len(), n);
        let (m4, b4) = seal_body(&params(Suite::Aes256Gcm), &source(), &key, &salt, bb, 2).unwrap();
        assert_eq!((&m1, &b1), (&m4, &b4), "n = {n}");
        assert_eq!(open(&m1, &b1, &ctx(Suite::Aes256Gcm), &source()).unwrap(), pt);
        let m = Manifest::decode(&m1).unwrap();
        assert_eq!(m.chunk_count() as usize, n.div_ceil(CHUNK_LEN).max(1));
        assert_eq!(m.body_len() as usize, b1.len());
    }
}

fn three_chunks() -> (Vec<u8>, Vec<u8>) {
    seal_parallel(&params(Suite::Aes256Gcm), &source(), &sk(), &[9; 32], &data(2 * CHUNK_LEN + 5), 1).unwrap()
}

fn open_err(m: &[u8], b: &[u8]) -> Error {
    let c = ctx(Suite::Aes256Gcm);
    let e = open(m, b, &c, &source()).unwrap_err();
    // [STR-11] the in-memory open and the streaming opener refuse with the same error.
    if let Ok(man) = Manifest::verify(m, &c) {
        let mut opener = StreamOpener::new(man, &c, &source(), b).unwrap();
        let streamed = opener.read_to_end(&mut Vec::new()).map_err(|x| error_of(&x));
        assert_eq!(streamed.unwrap_err(), Some(e), "streaming and in-memory open disagree");
    }
    e
}

// [STR-11] truncation, duplication, reordering, foreign chunks and trailing bytes.
#[test]
fn chunk_errors() {
    let (m, b) = three_chunks();
    assert_eq!(open_err(&m, &b[..2 * FRAME_LEN]), Error::StreamTruncated);
    assert_eq!(open_err(&m, &b[..b.len() - 1]), Error::StreamTruncated);
    let mut dup = b.clone();
    dup.copy_within(0..FRAME_LEN, FRAME_LEN);
    assert_eq!(open_err(&m, &dup), Error::StreamDuplicate);
    let mut swapped = b.clone();
    swapped[..FRAME_LEN].copy_from_slice(&b[FRAME_LEN..2 * FRAME_LEN]);
    swapped[FRAME_LEN..2 * FRAME_LEN].copy_from_slice(&b[..FRAME_LEN]);
    assert_eq!(open_err(&m, &swapped), Error::StreamReordered);
    // [STR-6] a frame whose digest the manifest does not list is foreign, whichever byte changed.
    let mut foreign = b.clone();
    foreign[FRAME_LEN - 1] ^= 1;
    assert_eq!(open_err(&m, &foreign), Error::StreamForeign);
    let mut altered = b.clone();
    altered[10] ^= 1;
    assert_eq!(open_err(&m, &altered), Error::StreamForeign);
    // a chunk of another stream (same key source, other salt) is foreign
    let (_, other) =
        seal_parallel(&params(Suite::Aes256Gcm), &source(), &sk(), &[8; 32], &data(2 * CHUNK_LEN + 5), 1).unwrap();
    let mut spliced = b.clone();
    spliced[..FRAME_LEN].copy_from_slice(&other[..FRAME_LEN]);
    assert_eq!(open_err(&m, &spliced), Error::StreamForeign);
    let mut trailing = b.clone();
    trailing.push(0);
    assert_eq!(open_err(&m, &trailing), Error::DecodeTrailing);
}

// [STR-7] [STR-8] manifest checks, in order.
#[test]
fn manifest_errors() {
    let (m, b) = three_chunks();
    let mut wrong_ctx = ctx(Suite::Aes256Gcm);
    wrong_ctx.params.stream_id = [0; 16];
    assert_eq!(open(&m, &b, &wrong_ctx, &source()).unwrap_err(), Error::StreamContext);
    let mut bad_sig = m.clone();
    let l = bad_sig.len();
    bad_sig[l - 1] ^= 1;
    assert_eq!(open_err(&bad_sig, &b), Error::StreamSignature);
    assert_eq!(
        open(&m, &b, &ctx(Suite::Aes256Gcm), &StreamKeySource::from_bytes([0; 32])).unwrap_err(),
        Error::StreamCommitment
    );
    let mut v = m.clone();
    v[0] = 2;
    assert_eq!(Manifest::decode(&v).unwrap_err(), Error::EnvVersion);
}

// [ENC-7] [STR-8] reads and checks interleave: the count checks run on the 122-byte fixed part
// alone (a manifest cut after it still gets them), a manifest cut inside the fixed part is
// truncated whatever its counts, and the digests are one read.
#[test]
fn manifest_truncation_against_value_checks() {
    let (m, _) = three_chunks();
    let decode = |b: &[u8]| Manifest::decode(b).unwrap_err();
    let mut v = m[..1].to_vec();
    v[0] = 2;
    assert_eq!(decode(&v), Error::EnvVersion);
    let mut s = m[..2].to_vec();
    s[1] = 3;
    assert_eq!(decode(&s), Error::EnvSuite);
    let count_at = 2 + 16 + 32 + 32 + 32;
    let mut big = m.clone();
    big[count_at..count_at + 4].copy_from_slice(&(MAX_CHUNKS + 1).to_be_bytes());
    assert_eq!(decode(&big[..122]), Error::StreamTooLarge);
    assert_eq!(decode(&big[..121]), Error::DecodeTruncated);
    let mut zero = m.clone();
    zero[count_at..count_at + 4].copy_from_slice(&0u32.to_be_bytes());
    assert_eq!(decode(&zero[..122]), Error::StreamLength);
    let mut empty_last = m.clone();
    empty_last[count_at + 4..count_at + 8].copy_from_slice(&0u32.to_be_bytes());
    assert_eq!(decode(&empty_last[..130]), Error::StreamEmptyChunk);
    assert_eq!(decode(&m[..122 + 3 * 32 - 1]), Error::DecodeTruncated);
    assert_eq!(decode(&m[..m.len() - 1]), Error::DecodeTruncated);
}

// [STR-6] [STR-11] [MODEL-5] insider-chunk-forgery: a key holder rewrites chunk 0 so that its
// AES-GCM tag still verifies. With the digest check the frame is foreign; with it switched off
// (the tag-only manifest of before) the reader releases the forged plaintext.
#[test]
fn key_holder_same_tag_forgery() {
    use crate::defences::{DataWeakening, Defences};
    let (m, b) = three_chunks();
    let pt = data(2 * CHUNK_LEN + 5);
    let key = Manifest::decode(&m).unwrap().key(&source()).unwrap().key;
    let mut forged = b.clone();
    assert!(forge::gcm_same_tag(&key, &mut forged[..CHUNK_LEN], 0, 1, *b"forged screen!!!"));
    assert_eq!(forged[CHUNK_LEN..FRAME_LEN], b[CHUNK_LEN..FRAME_LEN], "tag unchanged");
    let c = ctx(Suite::Aes256Gcm);
    assert_eq!(open_with_defences(&m, &forged, &c, &source(), &Defences::ALL), Err(Error::StreamForeign));
    let weak = Defences::ALL.without_data(DataWeakening::TagOnlyChunks);
    let out = open_with_defences(&m, &forged, &c, &source(), &weak).unwrap();
    assert_ne!(out, pt);
    let want: Vec<u8> = pt[..16].iter().zip(b"forged screen!!!").map(|(x, y)| x ^ y).collect();
    assert_eq!(out[..16], want[..]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    // [STR-1] [STR-11] round trip at arbitrary lengths, both suites.
    #[test]
    fn round_trip(len in 0usize..200_000, chacha in any::<bool>(), seed in any::<u64>()) {
        let suite = if chacha { Suite::ChaCha20Poly1305 } else { Suite::Aes256Gcm };
        let pt = data(len);
        let mut rng = SeededRng::from_seed([seed as u8; 32]);
        let (m, b) = seal(&params(suite), &source(), &sk(), &pt, &mut rng).unwrap();
        prop_assert_eq!(open(&m, &b, &ctx(suite), &source()).unwrap(), pt);
    }
}

/// An input that yields `body`, but fails once with `kind` when `at` bytes were read.
struct FailsOnce {
    body: Vec<u8>,
    pos: usize,
    at: usize,
    kind: Option<io::ErrorKind>,
}

impl Read for FailsOnce {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.at
            && let Some(k) = self.kind.take()
        {
            return Err(io::Error::from(k));
        }
        let stop = if self.pos < self.at { self.at } else { self.body.len() };
        let n = out.len().min(stop - self.pos);
        out[..n].copy_from_slice(&self.body[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

// [STR-11] the opener reads whole frames and then probes that the input ends: an interrupted
// read is retried, any other input error is the caller's error (never taken for the end of a
// frame or of the stream), both inside a frame and at the end probe.
#[test]
fn input_errors_are_retried_or_reported() {
    let pt = data(CHUNK_LEN + 100);
    let mut rng = SeededRng::from_label("stream/input-errors");
    let (m, b) = seal(&params(Suite::Aes256Gcm), &source(), &sk(), &pt, &mut rng).unwrap();
    let c = ctx(Suite::Aes256Gcm);
    for at in [10, b.len()] {
        for (kind, ok) in [(io::ErrorKind::Interrupted, true), (io::ErrorKind::BrokenPipe, false)] {
            let input = FailsOnce { body: b.clone(), pos: 0, at, kind: Some(kind) };
            let mut opener = StreamOpener::new(Manifest::verify(&m, &c).unwrap(), &c, &source(), input).unwrap();
            let mut out = Vec::new();
            match opener.read_to_end(&mut out) {
                Ok(_) => {
                    assert!(ok, "{kind:?} at {at} was swallowed");
                    assert_eq!(out, pt);
                }
                Err(e) => {
                    assert!(!ok, "{kind:?} at {at} was not retried");
                    assert_eq!(e.kind(), kind);
                }
            }
        }
    }
}
