//! Opening a stream whose body the input mutates (spec 9.8, [STR-11]): bytes
//! XORed and cut (was `body_reading_never_panics` in `tests/fuzz_stream.rs`),
//! chunks swapped, duplicated, taken from another stream, the body cut or
//! extended. Each structural change has the error [STR-11] names; any other
//! change is refused; only the unchanged body opens, to the plaintext.

use std::sync::OnceLock;

use blindsync::Error;
use blindsync::stream::{self, CHUNK_LEN, StreamKeySource, StreamOpenContext};

use crate::Vectors;
use crate::input::Bytes;
use crate::targets::stream_manifest::params;

/// Longest input worth trying.
pub const MAX_LEN: usize = 512;

/// Full-chunk frame length (ciphertext and tag).
const FRAME: usize = CHUNK_LEN + 16;
/// Plaintext length of the last chunk.
const LAST: usize = 100;

struct Fixture {
    ctx: StreamOpenContext,
    source: StreamKeySource,
    plaintext: Vec<u8>,
    manifest: Vec<u8>,
    body: Vec<u8>,
    /// Another stream under the same key and manifest context (another salt).
    foreign: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let sk = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
        let source = StreamKeySource::from_bytes([4; 32]);
        let plaintext: Vec<u8> = (0..2 * CHUNK_LEN + LAST).map(|i| (i % 251) as u8).collect();
        let (manifest, body) = stream::seal_parallel(&params(), &source, &sk, &[9; 32], &plaintext, 2).unwrap_or_default();
        let (_, foreign) = stream::seal_parallel(&params(), &source, &sk, &[8; 32], &plaintext, 1).unwrap_or_default();
        let ctx = StreamOpenContext { params: params(), verifying_key: sk.verifying_key().to_bytes() };
        Fixture { ctx, source, plaintext, manifest, body, foreign }
    })
}

/// The byte range of frame `i` (0 and 1 are full chunks, 2 is the last).
fn frame(i: usize) -> core::ops::Range<usize> {
    let start = i * FRAME;
    start..if i == 2 { start + LAST + 16 } else { start + FRAME }
}

/// Runs one input.
// [STR-11] every change to a stream body is refused with the error the spec names.
pub fn run(data: &[u8]) {
    let f = fixture();
    assert_eq!(f.body.len(), 2 * FRAME + LAST + 16, "fixture stream");
    let mut b = Bytes::new(data);
    let op = b.u8();
    let (x, y) = (usize::from(b.u8()), usize::from(b.u8()));
    let mut body = f.body.clone();
    // The error [STR-11] names for the change, None for "no change".
    let expected: Option<Error> = match op % 7 {
        // Swap the two full chunks: chunk 1 arrives first.
        0 => {
            let (a, c) = body.split_at_mut(FRAME);
            a.swap_with_slice(&mut c[..FRAME]);
            Some(Error::StreamReordered)
        }
        // Chunk x (0 or 1) in place of chunk y (0 or 1).
        1 => {
            let (src, dst) = (x % 2, y % 2);
            let copy = f.body[frame(src)].to_vec();
            body[frame(dst)].copy_from_slice(&copy);
            match src.cmp(&dst) {
                core::cmp::Ordering::Less => Some(Error::StreamDuplicate),
                core::cmp::Ordering::Greater => Some(Error::StreamReordered),
                core::cmp::Ordering::Equal => None,
            }
        }
        // Chunk x of another stream in its place.
        2 => {
            let i = x % 3;
            body[frame(i)].copy_from_slice(&f.foreign[frame(i)]);
            Some(Error::StreamForeign)
        }
        // Cut the body; a cut inside a chunk, or at a chunk boundary, is truncation.
        3 => {
            let keep = (usize::from(b.u8()) << 16 | (x << 8) | y) % body.len();
            body.truncate(keep);
            Some(Error::StreamTruncated)
        }
        // Bytes after the last chunk.
        4 => {
            let extra = b.rest();
            body.extend_from_slice(extra);
            (!extra.is_empty()).then_some(Error::DecodeTrailing)
        }
        // [STR-6] a key holder rewrites two blocks of chunk x (0 or 1) so that its AES-GCM tag
        // stays valid: the frame digest no longer matches.
        5 => {
            let i = x % 2;
            let (a, c) = (y % 64, y % 64 + 1 + x % 64);
            let mut delta = [0u8; 16];
            for (d, v) in delta.iter_mut().zip(b.rest()) {
                *d = *v;
            }
            let key = stream::Manifest::decode(&f.manifest).and_then(|m| m.key(&f.source)).map(|k| k.key);
            match key {
                Ok(key) if delta != [0; 16] => {
                    let r = frame(i);
                    let ct = &mut body[r.start..r.start + CHUNK_LEN];
                    assert!(stream::forge::gcm_same_tag(&key, ct, a, c, delta), "forge");
                    Some(Error::StreamForeign)
                }
                _ => None,
            }
        }
        // XOR the input over the body, spread out (and cut, as the old test did).
        _ => {
            let rest = b.rest();
            for (i, v) in rest.iter().enumerate() {
                if let Some(t) = body.get_mut(i * 997 % f.body.len()) {
                    *t ^= v;
                }
            }
            if x & 1 == 1 {
                body.truncate(body.len() - rest.len().min(body.len()));
            }
            None
        }
    };
    let got = stream::open(&f.manifest, &body, &f.ctx, &f.source);
    if body == f.body {
        assert_eq!(got.as_deref(), Ok(f.plaintext.as_slice()), "the unchanged body opens");
        return;
    }
    match (got, expected) {
        (Ok(_), _) => panic!("a changed body opened"),
        (Err(e), Some(want)) => assert_eq!(e, want),
        (Err(e), None) => assert!(
            matches!(
                e,
                Error::StreamForeign
                    | Error::StreamTruncated
                    | Error::StreamDecrypt
                    | Error::StreamDuplicate
                    | Error::StreamReordered
                    | Error::DecodeTrailing
            ),
            "{e:?} is not a [STR-11] error"
        ),
    }
}

/// One input per kind of change.
pub fn seeds(_: &Vectors) -> Vec<Vec<u8>> {
    vec![vec![0], vec![1, 0, 1], vec![1, 1, 0], vec![2, 2], vec![3, 0x10, 0, 1], vec![4, 0, 0, 7], vec![5, 0, 0, 1, 2, 3]]
}
