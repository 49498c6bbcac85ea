//! Chunked streams for large payloads (spec chapter 9, `spec/09-stream.md`).
//!
//! A stream is two objects: a signed **manifest** (header, chunk count, the
//! length of the last chunk, each frame's BLAKE3 digest, signature) and a **body**,
//! the concatenation of the sealed chunks. Every chunk holds 64 KiB of
//! plaintext except the last, which holds 1 to 64 KiB (0 only in the empty
//! stream, which has exactly one chunk). Each chunk is its own AEAD under the
//! per-stream key, with a nonce made of the chunk counter and a last-chunk
//! flag. [STR-1]
//!
//! ```text
//! manifest = u8 version ‖ u8 suite ‖ stream_id(16) ‖ context(32) ‖ salt(32) ‖ commitment(32)
//!            ‖ u32 chunk_count ‖ u32 last_len ‖ digest(32) × chunk_count ‖ signature(64)
//! body     = (ct_0 ‖ tag_0) ‖ (ct_1 ‖ tag_1) ‖ ... ‖ (ct_{n-1} ‖ tag_{n-1})
//! ```
//!
//! The writer streams the body out as it seals ([`StreamSealer`], any
//! [`std::io::Write`]) and produces the manifest at the end; the reader
//! verifies the manifest completely first ([`Manifest::verify`]) and then
//! reads the body through [`StreamOpener`] (any [`std::io::Read`]), checking
//! each frame's digest against the manifest (constant time) before decrypting it.
//! Memory is two chunk buffers plus the manifest (32 bytes per 64 KiB chunk:
//! 512 KiB for 1 GiB), never the payload. [STR-6] [STR-9]
//!
//! ```
//! use blindsync::envelope::Suite;
//! use blindsync::keys::AccountId;
//! use blindsync::primitives::SeededRng;
//! use blindsync::stream::{self, StreamKeySource, StreamOpenContext, StreamParams};
//!
//! let params = StreamParams { account: AccountId([1; 32]), suite: Suite::Aes256Gcm, stream_id: [2; 16], context: [3; 32] };
//! let source = StreamKeySource::from_bytes([4; 32]);
//! let sk = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
//! let data = vec![7u8; 200_000];
//! let (manifest, body) = stream::seal(&params, &source, &sk, &data, &mut SeededRng::from_label("doc"))?;
//! let ctx = StreamOpenContext { params, verifying_key: sk.verifying_key().to_bytes() };
//! assert_eq!(stream::open(&manifest, &body, &ctx, &source)?, data);
//! # Ok::<(), blindsync::Error>(())
//! ```

use std::io::{self, Read, Write};

use ed25519_dalek::{Signer, SigningKey};
use zeroize::{Zeroize, Zeroizing};

use crate::defences::Defences;
use crate::encoding::{Codec, Encoder, Reader};
use crate::envelope::{EnvelopeKey, NONCE_LEN, SIG_LEN, Suite, aead_open_in_place, aead_seal_in_place};
use crate::error::{Error, Result};
use crate::keys::AccountId;
use crate::labels;
use crate::primitives::{CryptoRng, TAG_LEN, blake3_hash, ct_eq, hkdf_expand32, hkdf_extract, sha256};

/// A frame's digest as the manifest lists it. [STR-6]
pub type ChunkDigest = [u8; DIGEST_LEN];
/// Length of a manifest entry: a 32-byte BLAKE3 digest. [STR-6]
pub const DIGEST_LEN: usize = 32;
use crate::secret::Secret32;
use crate::secret_type;

/// Stream format version. [STR-2]
pub const VERSION: u8 = 1;
/// Plaintext bytes per chunk (all chunks but the last). [STR-1]
pub const CHUNK_LEN: usize = 65536;
/// A sealed chunk: ciphertext and tag. [STR-1]
pub const FRAME_LEN: usize = CHUNK_LEN + TAG_LEN;
/// Largest chunk count: 2^20 chunks = 64 GiB of plaintext, a 32 MiB manifest. [STR-9]
pub const MAX_CHUNKS: u32 = 1 << 20;
/// Length of the manifest's fixed part (before the tags). [STR-2]
pub const MANIFEST_HEADER_LEN: usize = 2 + 16 + 32 + 32 + 32 + 4 + 4;
/// Per-stream salt length. [STR-3]
pub const SALT_LEN: usize = 32;

secret_type!(
    /// The 32-byte secret a stream's key is derived from (a batch's data key). [STR-3]
    StreamKeySource,
    32
);

/// What a writer binds a stream to; the reader passes the same values. [STR-2] [STR-5]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StreamParams {
    /// The account (bound in AAD and signature, never on the wire).
    pub account: AccountId,
    /// The content AEAD (chapter 7's suites).
    pub suite: Suite,
    /// 16 random bytes naming the stream (a batch's id).
    pub stream_id: [u8; 16],
    /// 32 bytes the caller binds the stream to (a batch's context digest).
    pub context: [u8; 32],
}

/// The per-stream key schedule's outputs. [STR-3]
pub struct StreamKeySchedule {
    /// `PRK_str = HKDF-Extract(salt, source)`.
    pub prk: Secret32,
    /// The AEAD key of every chunk of this stream.
    pub key: EnvelopeKey,
    /// The key commitment the manifest carries.
    pub commitment: [u8; 32],
}

/// The per-stream key schedule. [STR-3]
///
/// ```text
/// PRK_str    = HKDF-Extract(salt = salt(32), IKM = source)
/// key        = HKDF-Expand(PRK_str, enc(STREAM_KEY,    u8 version, u8 suite), 32)
/// commitment = HKDF-Expand(PRK_str, enc(STREAM_COMMIT, u8 version, u8 suite), 32)
/// ```
pub fn key_schedule(source: &StreamKeySource, salt: &[u8; SALT_LEN], suite: Suite) -> StreamKeySchedule {
    let prk = hkdf_extract(salt, source.expose());
    let key = EnvelopeKey::from_bytes(*hkdf_expand32(&prk, &key_info(suite)).expose());
    let commitment = *hkdf_expand32(&prk, &commit_info(suite)).expose();
    StreamKeySchedule { prk, key, commitment }
}

/// `enc(STREAM_KEY, u8 version, u8 suite)`. [STR-3]
pub fn key_info(suite: Suite) -> Vec<u8> {
    Encoder::new(labels::STREAM_KEY).u8(VERSION).u8(suite as u8).finish()
}

/// `enc(STREAM_COMMIT, u8 version, u8 suite)`. [STR-3]
pub fn commit_info(suite: Suite) -> Vec<u8> {
    Encoder::new(labels::STREAM_COMMIT).u8(VERSION).u8(suite as u8).finish()
}

/// `nonce(i, last) = u8(last) ‖ 0x000000 ‖ u64be(i)`. [STR-4]
pub fn chunk_nonce(index: u64, last: bool) -> [u8; NONCE_LEN] {
    let mut n = [0u8; NONCE_LEN];
    n[0] = u8::from(last);
    n[4..].copy_from_slice(&index.to_be_bytes());
    n
}

/// `enc(AAD_STREAM_CHUNK, account(32), u8 version, u8 suite, stream_id(16), context(32), u64 i, u8 last)`. [STR-5]
pub fn chunk_aad(params: &StreamParams, index: u64, last: bool) -> Vec<u8> {
    Encoder::new(labels::AAD_STREAM_CHUNK)
        .fixed(&params.account.0)
        .u8(VERSION)
        .u8(params.suite as u8)
        .fixed(&params.stream_id)
        .fixed(&params.context)
        .u64(index)
        .u8(u8::from(last))
        .finish()
}

/// The manifest entry of a sealed frame `ct ‖ tag`:
/// `BLAKE3(enc(HASH_STREAM_CHUNK, bytes frame))`. [STR-6] The vectors'
/// `first_digest_prefix` is the prefix hashed before frame 0. [STR-12]
pub fn frame_digest(frame: &[u8]) -> ChunkDigest {
    let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
    blake3_hash(&[&Encoder::new(labels::HASH_STREAM_CHUNK).u32(len).finish(), frame])
}

/// Seals one chunk in place: `buf` holds the plaintext, gets the ciphertext; returns the tag. [STR-4] [STR-5]
fn seal_chunk(
    params: &StreamParams,
    key: &EnvelopeKey,
    index: u64,
    last: bool,
    buf: &mut [u8],
) -> Result<[u8; TAG_LEN]> {
    aead_seal_in_place(params.suite, key, &chunk_nonce(index, last), &chunk_aad(params, index, last), buf)
}

/// A manifest: the signed description of a stream's chunks. [STR-2]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// The content AEAD.
    pub suite: Suite,
    /// The stream id.
    pub stream_id: [u8; 16],
    /// The caller's context digest.
    pub context: [u8; 32],
    /// The per-stream salt.
    pub salt: [u8; SALT_LEN],
    /// The key commitment.
    pub commitment: [u8; 32],
    /// Plaintext length of the last chunk (0 only when there is one chunk).
    pub last_len: u32,
    /// Each frame's digest, in order (never empty). [STR-6]
    pub digests: Vec<ChunkDigest>,
    /// The writer's Ed25519 signature.
    pub signature: [u8; SIG_LEN],
}

impl Codec<'_> for Manifest {
    fn encode(&self) -> Vec<u8> {
        Manifest::encode(self)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self> {
        if r.u8()? != VERSION {
            return Err(Error::EnvVersion);
        }
        let suite = Suite::from_u8(r.u8()?)?;
        let stream_id = r.array()?;
        let context = r.array()?;
        let salt = r.array()?;
        let commitment = r.array()?;
        let count = r.u32()?;
        let last_len = r.u32()?;
        if count == 0 || last_len as usize > CHUNK_LEN {
            return Err(Error::StreamLength);
        }
        if count > MAX_CHUNKS {
            return Err(Error::StreamTooLarge);
        }
        if last_len == 0 && count > 1 {
            return Err(Error::StreamEmptyChunk);
        }
        // The count is bounded and the input must hold every digest: allocate what the input bounds.
        if r.remaining() < count as usize * DIGEST_LEN {
            return Err(Error::DecodeTruncated);
        }
        let mut digests = Vec::with_capacity(count as usize);
        for _ in 0..count {
            digests.push(r.array()?);
        }
        let signature = r.array()?;
        Ok(Manifest { suite, stream_id, context, salt, commitment, last_len, digests, signature })
    }
}

impl Manifest {
    /// Number of chunks.
    pub fn chunk_count(&self) -> u32 {
        u32::try_from(self.digests.len()).unwrap_or(u32::MAX)
    }

    /// Plaintext length of the whole stream.
    pub fn plaintext_len(&self) -> u64 {
        u64::from(self.chunk_count().saturating_sub(1)) * CHUNK_LEN as u64 + u64::from(self.last_len)
    }

    /// Body length on the wire: plaintext plus one tag per chunk. [STR-1]
    pub fn body_len(&self) -> u64 {
        self.plaintext_len() + TAG_LEN as u64 * u64::from(self.chunk_count())
    }

    /// The manifest without its signature. [STR-2]
    pub fn unsigned(&self) -> Vec<u8> {
        let mut e = Encoder::raw()
            .u8(VERSION)
            .u8(self.suite as u8)
            .fixed(&self.stream_id)
            .fixed(&self.context)
            .fixed(&self.salt)
            .fixed(&self.commitment)
            .u32(self.chunk_count())
            .u32(self.last_len);
        for d in &self.digests {
            e = e.fixed(d);
        }
        e.finish()
    }

    /// The wire encoding. [STR-2]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.unsigned();
        out.extend_from_slice(&self.signature);
        out
    }

    /// `SHA-256(enc(SIG_STREAM, account(32), bytes(unsigned manifest)))`, the Ed25519 message. [STR-7]
    /// `prefix` is the vectors' `sig_message_prefix`. [STR-12]
    pub fn sig_digest(&self, account: &AccountId) -> [u8; 32] {
        let unsigned = self.unsigned();
        let len = u32::try_from(unsigned.len()).unwrap_or(u32::MAX);
        let prefix = Encoder::new(labels::SIG_STREAM).fixed(&account.0).u32(len).finish();
        sha256(&[&prefix, &unsigned])
    }

    /// Decodes a manifest (no cryptography), with the checks of [STR-8] in order, reads
    /// and checks interleaved ([ENC-7]: the digests are one read).
    ///
    /// ```text
    /// decode(bytes):
    ///   version == 1                                   else E_ENV_VERSION
    ///   suite in {1, 2}                                else E_ENV_SUITE
    ///   stream_id, context, salt, commitment           (E_DECODE_TRUNCATED)
    ///   chunk_count >= 1 and last_len <= 65536         else E_STREAM_LENGTH
    ///   chunk_count <= MAX_CHUNKS                      else E_STREAM_TOO_LARGE
    ///   last_len > 0 or chunk_count == 1               else E_STREAM_EMPTY_CHUNK
    ///   digests, signature                             (E_DECODE_TRUNCATED)
    ///   nothing may follow                             (E_DECODE_TRAILING)
    /// ```
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        <Self as Codec>::decode(bytes)
    }

    /// Decodes and verifies a manifest before any chunk is read: decoding,
    /// context, signature; the commitment is checked by [`Manifest::key`]. [STR-8]
    ///
    /// ```text
    /// verify(bytes, ctx):
    ///   1. m = decode(bytes)                                          -- [STR-8]
    ///   2. m.suite, m.stream_id, m.context == ctx's     else E_STREAM_CONTEXT
    ///   3. strict Ed25519 verify of sig_digest(ctx.account, m)  else E_STREAM_SIGNATURE  -- [STR-7]
    /// ```
    pub fn verify(bytes: &[u8], ctx: &StreamOpenContext) -> Result<Self> {
        let m = Manifest::decode(bytes)?;
        let p = &ctx.params;
        if m.suite != p.suite || m.stream_id != p.stream_id || m.context != p.context {
            return Err(Error::StreamContext);
        }
        // [STR-7] RFC 8032 strict, as chapter 7; an invalid or weak key is a failed signature.
        if !crate::primitives::verify_strict(&ctx.verifying_key, &m.sig_digest(&p.account), &m.signature) {
            return Err(Error::StreamSignature);
        }
        Ok(m)
    }

    /// Step 4 of [STR-8]: derives the stream key and compares the commitment
    /// in constant time, before any chunk is decrypted. [STR-3]
    pub fn key(&self, source: &StreamKeySource) -> Result<StreamKeySchedule> {
        let ks = key_schedule(source, &self.salt, self.suite);
        if !ct_eq(&ks.commitment, &self.commitment) {
            return Err(Error::StreamCommitment);
        }
        Ok(ks)
    }
}

/// What a reader checks a manifest against. [STR-8]
#[derive(Clone, Copy, Debug)]
pub struct StreamOpenContext {
    /// The parameters the writer must have used.
    pub params: StreamParams,
    /// The writer's Ed25519 key, from the reader's own view of the account chain.
    pub verifying_key: [u8; 32],
}

/// Streaming sealer: writes sealed chunks to `out` as the plaintext arrives,
/// holding at most one chunk; [`StreamSealer::finish`] returns the signed
/// manifest. [STR-1] [STR-9]
pub struct StreamSealer<'k, W: Write> {
    params: StreamParams,
    ks: StreamKeySchedule,
    signing_key: &'k SigningKey,
    salt: [u8; SALT_LEN],
    out: W,
    buf: Zeroizing<Vec<u8>>,
    digests: Vec<ChunkDigest>,
}

impl<'k, W: Write> StreamSealer<'k, W> {
    /// A sealer drawing its salt from `rng`. [STR-3]
    pub fn new<R: CryptoRng + ?Sized>(
        params: StreamParams,
        source: &StreamKeySource,
        signing_key: &'k SigningKey,
        rng: &mut R,
        out: W,
    ) -> Self {
        let mut salt = [0u8; SALT_LEN];
        rng.fill_bytes(&mut salt);
        Self::with_salt(params, source, signing_key, salt, out)
    }

    /// A sealer with an explicit salt (test vectors). Never reuse a salt. [STR-3]
    pub fn with_salt(
        params: StreamParams,
        source: &StreamKeySource,
        signing_key: &'k SigningKey,
        salt: [u8; SALT_LEN],
        out: W,
    ) -> Self {
        let ks = key_schedule(source, &salt, params.suite);
        StreamSealer {
            params,
            ks,
            signing_key,
            salt,
            out,
            buf: Zeroizing::new(Vec::with_capacity(FRAME_LEN)),
            digests: Vec::new(),
        }
    }

    /// Seals the buffered chunk and writes it out. [STR-4]
    fn flush_chunk(&mut self, last: bool) -> io::Result<()> {
        if !last && self.digests.len() + 1 >= MAX_CHUNKS as usize {
            return Err(io::Error::other(Error::StreamTooLarge));
        }
        let index = self.digests.len() as u64;
        let tag = seal_chunk(&self.params, &self.ks.key, index, last, &mut self.buf).map_err(io::Error::other)?;
        self.buf.extend_from_slice(&tag);
        self.digests.push(frame_digest(&self.buf)); // [STR-6]
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// Seals the last chunk (possibly empty only when nothing was written)
    /// and returns `(manifest, out)`. [STR-1] [STR-7]
    pub fn finish(mut self) -> io::Result<(Vec<u8>, W)> {
        let last_len = u32::try_from(self.buf.len()).map_err(|_| io::Error::other(Error::StreamTooLarge))?;
        self.flush_chunk(true)?;
        self.out.flush()?;
        let mut m = Manifest {
            suite: self.params.suite,
            stream_id: self.params.stream_id,
            context: self.params.context,
            salt: self.salt,
            commitment: self.ks.commitment,
            last_len,
            digests: core::mem::take(&mut self.digests),
            signature: [0; SIG_LEN],
        };
        m.signature = self.signing_key.sign(&m.sig_digest(&self.params.account)).to_bytes();
        Ok((m.encode(), self.out))
    }
}

impl<W: Write> Write for StreamSealer<'_, W> {
    /// Buffers up to one chunk; a full chunk is sealed (as not last) only when
    /// more plaintext arrives, so the last chunk is never empty. [STR-1]
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        if self.buf.len() == CHUNK_LEN {
            self.flush_chunk(false)?;
        }
        let n = (CHUNK_LEN - self.buf.len()).min(data.len());
        self.buf.extend_from_slice(data.get(..n).unwrap_or_default());
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Seals a whole plaintext held in memory: `(manifest, body)`. [STR-1]
pub fn seal<R: CryptoRng + ?Sized>(
    params: &StreamParams,
    source: &StreamKeySource,
    signing_key: &SigningKey,
    plaintext: &[u8],
    rng: &mut R,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let mut salt = [0u8; SALT_LEN];
    rng.fill_bytes(&mut salt);
    seal_parallel(params, source, signing_key, &salt, plaintext, 1)
}

/// Seals a plaintext in memory on `threads` threads (`std::thread::scope`
/// over chunk ranges); the bytes are the same for every thread count. [STR-10]
pub fn seal_parallel(
    params: &StreamParams,
    source: &StreamKeySource,
    signing_key: &SigningKey,
    salt: &[u8; SALT_LEN],
    plaintext: &[u8],
    threads: usize,
) -> Result<(Vec<u8>, Vec<u8>)> {
    if plaintext.len().div_ceil(CHUNK_LEN) > MAX_CHUNKS as usize {
        return Err(Error::StreamTooLarge);
    }
    let mut body = BodyBuffer::with_plaintext_len(plaintext.len());
    body.extend(plaintext);
    seal_body(params, source, signing_key, salt, body, threads)
}

/// A body under construction: plaintext written to it lands at its place in
/// the frame layout of [STR-1] (with a 16-byte gap for each chunk's tag), so
/// [`seal_body`] seals it in place without another copy. [STR-1] [STR-10]
pub struct BodyBuffer {
    buf: Vec<u8>,
    plaintext_len: usize,
}

impl BodyBuffer {
    /// An empty body with room for `plaintext_len` bytes of plaintext and their tags.
    pub fn with_plaintext_len(plaintext_len: usize) -> Self {
        let tags = plaintext_len.div_ceil(CHUNK_LEN).max(1).saturating_mul(TAG_LEN);
        BodyBuffer { buf: Vec::with_capacity(plaintext_len.saturating_add(tags)), plaintext_len: 0 }
    }

    /// Appends plaintext, leaving a tag gap after every full chunk that more plaintext follows.
    pub fn extend(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.plaintext_len > 0 && self.plaintext_len.is_multiple_of(CHUNK_LEN) {
                self.buf.extend_from_slice(&[0; TAG_LEN]);
            }
            let room = CHUNK_LEN - self.plaintext_len % CHUNK_LEN;
            let (now, rest) = data.split_at(room.min(data.len()));
            self.buf.extend_from_slice(now);
            self.plaintext_len += now.len();
            data = rest;
        }
    }

    /// Plaintext bytes written so far.
    pub fn plaintext_len(&self) -> usize {
        self.plaintext_len
    }
}

impl Write for BodyBuffer {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.extend(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Seals the chunks of `frames` (plaintext, tag gap; the last one without its gap) in place. [STR-4] [STR-6]
fn seal_frames(
    params: &StreamParams,
    key: &EnvelopeKey,
    frames: &mut [u8],
    digests: &mut [ChunkDigest],
    first: usize,
    count: usize,
) -> Result<()> {
    for (k, (frame, d)) in frames.chunks_mut(FRAME_LEN).zip(digests.iter_mut()).enumerate() {
        let i = first + k;
        let pt_len = frame.len().checked_sub(TAG_LEN).ok_or(Error::StreamLength)?;
        let (ct, tag_out) = frame.split_at_mut(pt_len);
        let tag = seal_chunk(params, key, i as u64, i + 1 == count, ct)?;
        tag_out.copy_from_slice(&tag);
        *d = frame_digest(frame); // [STR-6]
    }
    Ok(())
}

/// Seals a [`BodyBuffer`] in place on `threads` threads: `(manifest, body)`,
/// byte for byte what [`seal_parallel`] gives for the same plaintext. [STR-1] [STR-10]
pub fn seal_body(
    params: &StreamParams,
    source: &StreamKeySource,
    signing_key: &SigningKey,
    salt: &[u8; SALT_LEN],
    body: BodyBuffer,
    threads: usize,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let len = body.plaintext_len;
    let mut body = body.buf;
    body.extend_from_slice(&[0; TAG_LEN]); // the last chunk's tag
    let count = len.div_ceil(CHUNK_LEN).max(1);
    if count > MAX_CHUNKS as usize {
        return Err(Error::StreamTooLarge);
    }
    let last_len = len - (count - 1) * CHUNK_LEN;
    let ks = key_schedule(source, salt, params.suite);
    let mut digests = vec![[0u8; DIGEST_LEN]; count];
    let threads = threads.clamp(1, count);
    let per = count.div_ceil(threads);
    let key = &ks.key;
    if threads == 1 {
        seal_frames(params, key, &mut body, &mut digests, 0, count)?;
    } else {
        let results: Vec<Result<()>> = std::thread::scope(|s| {
            let handles: Vec<_> = body
                .chunks_mut(per * FRAME_LEN)
                .zip(digests.chunks_mut(per))
                .enumerate()
                .map(|(t, (out, tg))| s.spawn(move || seal_frames(params, key, out, tg, t * per, count)))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
        });
        results.into_iter().collect::<Result<()>>()?;
    }
    let mut m = Manifest {
        suite: params.suite,
        stream_id: params.stream_id,
        context: params.context,
        salt: *salt,
        commitment: ks.commitment,
        last_len: u32::try_from(last_len).map_err(|_| Error::StreamLength)?,
        digests,
        signature: [0; SIG_LEN],
    };
    m.signature = signing_key.sign(&m.sig_digest(&params.account)).to_bytes();
    Ok((m.encode(), body))
}

/// Streaming opener over a verified manifest: reads the body from `input`,
/// releases a chunk's plaintext only after its digest matched the manifest and its AEAD check
/// passed, and reports EOF only after the last chunk and the end of the input.
/// [STR-8] [STR-9] [STR-11]
///
/// Errors are `io::Error`s wrapping an [`Error`]; [`error_of`] recovers it.
pub struct StreamOpener<R: Read> {
    params: StreamParams,
    manifest: Manifest,
    key: EnvelopeKey,
    input: R,
    next: u32,
    frame: Zeroizing<Vec<u8>>,
    pos: usize,
    done: bool,
    check_digests: bool,
}

impl<R: Read> StreamOpener<R> {
    /// Checks the commitment (step 4 of [STR-8]) and prepares to read `input`. [STR-3]
    pub fn new(manifest: Manifest, ctx: &StreamOpenContext, source: &StreamKeySource, input: R) -> Result<Self> {
        Self::new_with_defences(manifest, ctx, source, input, &Defences::ALL)
    }

    danger_api! {
    /// [`StreamOpener::new`] with the model's defence switches: with
    /// `data.chunk_digests` off it does not compare frame digests and relies on
    /// the AEAD tag alone (what a key holder can forge). [STR-11] [MODEL-5]
    pub fn new_with_defences(
        manifest: Manifest,
        ctx: &StreamOpenContext,
        source: &StreamKeySource,
        input: R,
        defences: &Defences,
    ) -> Result<Self> {
        Self::new_with_defences_impl(manifest, ctx, source, input, defences)
    }
    }

    /// The body of `new_with_defences`, outside `danger_api!` so that cargo-mutants mutates it.
    fn new_with_defences_impl(
        manifest: Manifest,
        ctx: &StreamOpenContext,
        source: &StreamKeySource,
        input: R,
        defences: &Defences,
    ) -> Result<Self> {
        let ks = manifest.key(source)?;
        Ok(StreamOpener {
            params: ctx.params,
            manifest,
            key: ks.key,
            input,
            next: 0,
            frame: Zeroizing::new(Vec::with_capacity(FRAME_LEN)),
            pos: 0,
            done: false,
            check_digests: defences.data.chunk_digests,
        })
    }

    /// Reads, checks and decrypts the next chunk into `self.frame`. [STR-11]
    ///
    /// ```text
    /// chunk i of n:  frame = read len_i + 16 bytes           else E_STREAM_TRUNCATED
    ///   d = BLAKE3(enc(HASH_STREAM_CHUNK, bytes frame))
    ///   d == digests[i] (constant time)           else, with j the index where digests[j] == d:
    ///        j < i -> E_STREAM_DUPLICATE;  j > i -> E_STREAM_REORDERED;  none -> E_STREAM_FOREIGN
    ///   AEAD open with nonce(i, i == n-1), aad(i, i == n-1)  else E_STREAM_DECRYPT
    ///   after chunk n-1: the input must end       else E_DECODE_TRAILING
    /// ```
    fn next_chunk(&mut self) -> io::Result<()> {
        let count = self.manifest.chunk_count();
        let i = self.next;
        let last = i + 1 == count;
        let pt_len = if last { self.manifest.last_len as usize } else { CHUNK_LEN };
        self.frame.clear();
        self.frame.resize(pt_len + TAG_LEN, 0);
        read_full(&mut self.input, &mut self.frame)?;
        // [STR-6] [STR-11] the frame's digest must be the one the signed manifest lists at i.
        let d = frame_digest(&self.frame);
        let expected = self.manifest.digests.get(i as usize).ok_or(io::Error::other(Error::StreamLength))?;
        if self.check_digests && !ct_eq(&d, expected) {
            return Err(io::Error::other(match self.manifest.digests.iter().position(|x| *x == d) {
                Some(j) if j < i as usize => Error::StreamDuplicate,
                Some(_) => Error::StreamReordered,
                None => Error::StreamForeign,
            }));
        }
        let (ct, tag) = self.frame.split_at_mut(pt_len);
        let tag: [u8; TAG_LEN] = (&*tag).try_into().map_err(|_| io::Error::other(Error::StreamTruncated))?;
        let nonce = chunk_nonce(u64::from(i), last);
        let aad = chunk_aad(&self.params, u64::from(i), last);
        if aead_open_in_place(self.params.suite, &self.key, &nonce, &aad, ct, &tag).is_err() {
            self.frame.zeroize();
            return Err(io::Error::other(Error::StreamDecrypt));
        }
        self.frame.truncate(pt_len);
        self.pos = 0;
        self.next += 1;
        if last {
            let mut probe = [0u8; 1];
            loop {
                match self.input.read(&mut probe) {
                    Ok(0) => break,
                    Ok(_) => return Err(io::Error::other(Error::DecodeTrailing)),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }
}

/// Fills `buf` or fails with `E_STREAM_TRUNCATED` at end of input. [STR-11]
fn read_full<R: Read>(input: &mut R, buf: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(buf.get_mut(filled..).unwrap_or_default()) {
            Ok(0) => return Err(io::Error::other(Error::StreamTruncated)),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl<R: Read> Read for StreamOpener<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.done || out.is_empty() {
            return Ok(0);
        }
        while self.pos == self.frame.len() {
            if self.next == self.manifest.chunk_count() {
                self.done = true;
                return Ok(0);
            }
            if let Err(e) = self.next_chunk() {
                self.frame.zeroize();
                self.frame.clear();
                self.pos = 0;
                self.done = true;
                return Err(e);
            }
        }
        let avail = self.frame.get(self.pos..).unwrap_or_default();
        let n = avail.len().min(out.len());
        out.get_mut(..n).unwrap_or_default().copy_from_slice(avail.get(..n).unwrap_or_default());
        self.pos += n;
        Ok(n)
    }
}

/// The BlindSync [`Error`] inside an `io::Error` from [`StreamOpener`] or
/// [`StreamSealer`]; `None` for a genuine I/O failure of the underlying reader or writer.
pub fn error_of(e: &io::Error) -> Option<Error> {
    e.get_ref().and_then(|inner| inner.downcast_ref::<Error>()).copied()
}

/// Verifies `manifest` and opens a body held in memory. [STR-8] [STR-11]
pub fn open(manifest: &[u8], body: &[u8], ctx: &StreamOpenContext, source: &StreamKeySource) -> Result<Vec<u8>> {
    open_with_defences(manifest, body, ctx, source, &Defences::ALL)
}

danger_api! {
/// [`open`] with the model's defence switches ([`StreamOpener::new_with_defences`]). [MODEL-5]
pub fn open_with_defences(
    manifest: &[u8],
    body: &[u8],
    ctx: &StreamOpenContext,
    source: &StreamKeySource,
    defences: &Defences,
) -> Result<Vec<u8>> {
    open_with_defences_impl(manifest, body, ctx, source, defences)
}
}

/// The body of `open_with_defences`, outside `danger_api!` so that cargo-mutants mutates it.
fn open_with_defences_impl(
    manifest: &[u8],
    body: &[u8],
    ctx: &StreamOpenContext,
    source: &StreamKeySource,
    defences: &Defences,
) -> Result<Vec<u8>> {
    let m = Manifest::verify(manifest, ctx)?;
    let len = usize::try_from(m.plaintext_len()).map_err(|_| Error::StreamTooLarge)?;
    let ks = m.key(source)?;
    // [STR-11] the checks of `StreamOpener::next_chunk`, in the same order, over a body held in
    // memory: each frame's digest is computed on the input, its ciphertext copied once into the
    // output and decrypted there in place (one copy of the body instead of two).
    let mut out: Vec<u8> = Vec::with_capacity(len.min(body.len()));
    let fail = |out: &mut Vec<u8>, e: Error| {
        out.zeroize();
        Err(e)
    };
    let count = m.digests.len();
    let mut rest = body;
    for (i, expected) in m.digests.iter().enumerate() {
        let last = i + 1 == count;
        let pt_len = if last { m.last_len as usize } else { CHUNK_LEN };
        let Some((frame, after)) = rest.split_at_checked(pt_len + TAG_LEN) else {
            return fail(&mut out, Error::StreamTruncated);
        };
        rest = after;
        let d = frame_digest(frame);
        if defences.data.chunk_digests && !ct_eq(&d, expected) {
            let e = match m.digests.iter().position(|x| *x == d) {
                Some(j) if j < i => Error::StreamDuplicate,
                Some(_) => Error::StreamReordered,
                None => Error::StreamForeign,
            };
            return fail(&mut out, e);
        }
        let (ct, tag) = frame.split_at(pt_len);
        let Ok(tag) = <[u8; TAG_LEN]>::try_from(tag) else { return fail(&mut out, Error::StreamTruncated) };
        let start = out.len();
        out.extend_from_slice(ct);
        let nonce = chunk_nonce(i as u64, last);
        let aad = chunk_aad(&ctx.params, i as u64, last);
        let chunk = out.get_mut(start..).unwrap_or_default();
        if aead_open_in_place(m.suite, &ks.key, &nonce, &aad, chunk, &tag).is_err() {
            return fail(&mut out, Error::StreamDecrypt);
        }
    }
    if !rest.is_empty() {
        return fail(&mut out, Error::DecodeTrailing);
    }
    Ok(out)
}

#[doc(hidden)]
pub mod forge;

#[cfg(test)]
mod tests;
