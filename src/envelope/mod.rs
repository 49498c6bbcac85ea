//! Record envelopes (spec chapter 7, `spec/07-envelope.md`).
//!
//! An envelope is what the server stores for every synced record: a header
//! that every reader checks, a committing AEAD ciphertext of the padded
//! payload, and the writer device's Ed25519 signature over a digest of both.
//!
//! ```text
//! envelope = header(236) ‖ u32(len(body)) ‖ body ‖ signature(64)
//! body     = nonce(12) ‖ ciphertext(padded_len) ‖ tag(16)
//! stub     = header(236) ‖ body_digest(32) ‖ signature(64)
//! ```
//!
//! [`seal`] and [`open`] take every input explicitly: the account id, the
//! collection key of the epoch, the writer's signing key and an RNG on seal;
//! the devices authorized per epoch and the collection keys on open.
//! [`open`] returns the payload only after every check of [ENV-12] passed.
//!
//! ```
//! use blindsync::envelope::{
//!     self, AuthorizedWriter, DeviceId, EpochAccess, OpenContext, RecordId, RecordMeta, Suite,
//! };
//! use blindsync::envelope::payload::Schema;
//! use blindsync::keys::{AccountId, Bucket, CollectionKey};
//! use blindsync::primitives::SeededRng;
//!
//! let account = AccountId([1; 32]);
//! let ck = CollectionKey::from_bytes([2; 32]);
//! let sk = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
//! let meta = RecordMeta {
//!     suite: Suite::Aes256Gcm,
//!     bucket: Bucket([4; 32]),
//!     record_id: RecordId([5; 16]),
//!     revision: 1,
//!     writer: DeviceId([6; 32]),
//!     writer_seq: 1,
//!     epoch: 0,
//!     schema: Schema::Json,
//!     chain_head: [7; 32],
//!     prev: [0; 32],
//! };
//! let env = envelope::seal(&account, &meta, &ck, &sk, br#"{"title":"hi"}"#, &mut SeededRng::from_label("doc"))?;
//!
//! let writers = [AuthorizedWriter {
//!     device: DeviceId([6; 32]),
//!     verifying_key: sk.verifying_key().to_bytes(),
//!     max_seq: None,
//! }];
//! let epochs = [EpochAccess { epoch: 0, collection_key: &ck, writers: &writers }];
//! let ctx = OpenContext { account, epochs: &epochs, bucket: Some(Bucket([4; 32])), record_id: None, heads: &[] };
//! let opened = envelope::open(&env, &ctx)?;
//! assert_eq!(opened.payload(), br#"{"title":"hi"}"#);
//! assert_eq!(opened.header.revision, 1);
//! # Ok::<(), blindsync::Error>(())
//! ```

pub mod header;
pub mod padding;
pub mod payload;

use crate::defences::Defences;
use aes_gcm::Aes256Gcm;
use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{AeadInOut, KeyInit};
use ed25519_dalek::{Signer, SigningKey};
use zeroize::Zeroize;

use crate::encoding::{Codec, Encoder, Reader};
use crate::error::{Error, Result};
use crate::keys::{AccountId, Bucket, CollectionKey, Epoch};
use crate::labels;
use crate::primitives::{CryptoRng, TAG_LEN, ct_eq, ed25519_key_valid, hkdf_expand32, hkdf_extract, verify_strict};
use crate::secret::Secret32;
use crate::secret_type;

pub use header::{DeviceId, HEADER_LEN, Header, RecordId, Suite, VERSION, body_digest};
use padding::MAX_PADDED_LEN;
use payload::Schema;

/// AEAD nonce length of both suites. [ENV-7]
pub const NONCE_LEN: usize = 12;
/// Ed25519 signature length. [ENV-9]
pub const SIG_LEN: usize = 64;
/// Per-envelope salt length. [ENV-6]
pub const SALT_LEN: usize = 32;
/// Bytes the body adds to the padded plaintext: nonce and tag. [ENV-7]
pub const BODY_OVERHEAD: usize = NONCE_LEN + TAG_LEN;
/// Bytes an envelope adds to its padded plaintext. [ENV-4]
pub const ENVELOPE_OVERHEAD: usize = HEADER_LEN + 4 + BODY_OVERHEAD + SIG_LEN;
/// Length of an encoded stub. [ENV-15]
pub const STUB_LEN: usize = HEADER_LEN + 32 + SIG_LEN;
/// Largest envelope on the wire. [ENV-14]
pub const MAX_ENVELOPE_LEN: usize = MAX_PADDED_LEN + ENVELOPE_OVERHEAD;

secret_type!(
    /// The AEAD key of one envelope, never used for a second one. [ENV-6]
    EnvelopeKey,
    32
);

/// The per-envelope key schedule's outputs. [ENV-6]
pub struct KeySchedule {
    /// `PRK_env = HKDF-Extract(salt, CK_e)`.
    pub prk: Secret32,
    /// The AEAD key.
    pub key: EnvelopeKey,
    /// The key commitment the header carries.
    pub commitment: [u8; 32],
}

/// The per-envelope key schedule. [ENV-6]
///
/// ```text
/// PRK_env    = HKDF-Extract(salt = salt(32), IKM = CK_e)
/// key        = HKDF-Expand(PRK_env, enc(ENVELOPE_KEY, u8 version, u8 suite), 32)
/// commitment = HKDF-Expand(PRK_env, enc(ENVELOPE_COMMIT, u8 version, u8 suite), 32)
/// ```
pub fn key_schedule(collection_key: &CollectionKey, salt: &[u8; SALT_LEN], suite: Suite) -> KeySchedule {
    let prk = hkdf_extract(salt, collection_key.expose());
    let key_info = Encoder::new(labels::ENVELOPE_KEY).u8(VERSION).u8(suite as u8).finish();
    let commit_info = Encoder::new(labels::ENVELOPE_COMMIT).u8(VERSION).u8(suite as u8).finish();
    let key = EnvelopeKey::from_bytes(*hkdf_expand32(&prk, &key_info).expose());
    let commitment = *hkdf_expand32(&prk, &commit_info).expose();
    KeySchedule { prk, key, commitment }
}

/// The header fields a writer chooses; the rest (padded length, salt,
/// commitment) are computed by [`seal`]. [ENV-2]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecordMeta {
    /// The content AEAD.
    pub suite: Suite,
    /// The collection's opaque bucket.
    pub bucket: Bucket,
    /// The record id (16 random bytes, chosen when the record is created).
    pub record_id: RecordId,
    /// The record's revision.
    pub revision: u64,
    /// The writer's device id.
    pub writer: DeviceId,
    /// The writer's next sequence number.
    pub writer_seq: u64,
    /// The epoch of `collection_key`.
    pub epoch: Epoch,
    /// The payload schema.
    pub schema: Schema,
    /// The account chain head the writer has.
    pub chain_head: [u8; 32],
    /// The identity of this writer's envelope at `writer_seq - 1` (zeros at 1). [SYNC-15]
    pub prev: [u8; 32],
}

impl RecordMeta {
    fn header(&self, padded_len: u32, salt: [u8; 32], commitment: [u8; 32]) -> Header {
        Header {
            version: VERSION,
            suite: self.suite,
            bucket: self.bucket,
            record_id: self.record_id,
            revision: self.revision,
            writer: self.writer,
            writer_seq: self.writer_seq,
            epoch: self.epoch,
            schema: self.schema as u16,
            padded_len,
            chain_head: self.chain_head,
            salt,
            commitment,
            prev: self.prev,
        }
    }
}

/// Seals `payload` into an envelope, drawing the salt and the nonce from `rng`. [ENV-1] [ENV-7]
pub fn seal<R: CryptoRng + ?Sized>(
    account: &AccountId,
    meta: &RecordMeta,
    collection_key: &CollectionKey,
    signing_key: &SigningKey,
    payload: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>> {
    dangerous_seal_with_defences(account, meta, collection_key, signing_key, payload, &Defences::ALL, rng)
}

/// [`seal`] with an explicit salt and nonce (test vectors). Never reuse a salt. [ENV-6] [ENV-7]
///
/// ```text
/// seal(account, meta, CK_e, sk, payload):
///   schema check of payload                                  -- [PAY-1]
///   padded      = pad(payload)                               -- [PAD-2]
///   salt, nonce = random(32), random(12)
///   key, commitment = key_schedule(CK_e, salt, suite)        -- [ENV-6]
///   header      = meta ‖ len(padded) ‖ salt ‖ commitment     -- [ENV-2]
///   ct ‖ tag    = AEAD_suite(key, nonce, aad(account, header), padded)  -- [ENV-5] [ENV-7]
///   body        = nonce ‖ ct ‖ tag
///   signature   = Ed25519(sk, sig_digest(account, header, body_digest(body)))  -- [ENV-8] [ENV-9]
///   return header ‖ u32(len(body)) ‖ body ‖ signature        -- [ENV-4]
/// ```
pub fn seal_with(
    account: &AccountId,
    meta: &RecordMeta,
    collection_key: &CollectionKey,
    signing_key: &SigningKey,
    payload: &[u8],
    salt: &[u8; SALT_LEN],
    nonce: &[u8; NONCE_LEN],
) -> Result<Vec<u8>> {
    seal_meta(account, meta, collection_key, signing_key, payload, salt, nonce, &Defences::ALL)
}

/// [PAY-1] schema check, [PAD-2] padding, header, then [`seal_inner`].
#[allow(clippy::too_many_arguments)]
fn seal_meta(
    account: &AccountId,
    meta: &RecordMeta,
    collection_key: &CollectionKey,
    signing_key: &SigningKey,
    payload: &[u8],
    salt: &[u8; SALT_LEN],
    nonce: &[u8; NONCE_LEN],
    defences: &Defences,
) -> Result<Vec<u8>> {
    meta.schema.check(payload)?;
    let padded = padding::padded_len(payload.len())?;
    let header = meta.header(u32::try_from(padded).map_err(|_| Error::EnvTooLarge)?, *salt, [0; 32]);
    seal_inner(account, header, collection_key, signing_key, nonce, defences, |out| {
        padding::pad_into(out, payload).map(|_| ())
    })
}

danger_api! {
/// [`seal`] with defences switched off: for the model checker only, which
/// proves each defence necessary ([`crate::defences`]). [MODEL-5]
pub fn dangerous_seal_with_defences<R: CryptoRng + ?Sized>(
    account: &AccountId,
    meta: &RecordMeta,
    collection_key: &CollectionKey,
    signing_key: &SigningKey,
    payload: &[u8],
    defences: &Defences,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut salt);
    rng.fill_bytes(&mut nonce);
    seal_meta(account, meta, collection_key, signing_key, payload, &salt, &nonce, defences)
}
}

/// Seals an already padded plaintext under `template` (its `padded_len` and
/// `commitment` are replaced) without checking padding or schema: a tool to
/// build the negative vectors of a misbehaving writer. Not for applications.
#[doc(hidden)]
pub fn seal_padded_unchecked(
    account: &AccountId,
    template: &Header,
    collection_key: &CollectionKey,
    signing_key: &SigningKey,
    padded: &[u8],
    nonce: &[u8; NONCE_LEN],
) -> Result<Vec<u8>> {
    let mut header = *template;
    header.padded_len = u32::try_from(padded.len()).map_err(|_| Error::EnvTooLarge)?;
    seal_inner(account, header, collection_key, signing_key, nonce, &Defences::ALL, |out| {
        out.extend_from_slice(padded);
        Ok(())
    })
}

fn seal_inner(
    account: &AccountId,
    mut header: Header,
    collection_key: &CollectionKey,
    signing_key: &SigningKey,
    nonce: &[u8; NONCE_LEN],
    defences: &Defences,
    write_plaintext: impl FnOnce(&mut Vec<u8>) -> Result<()>,
) -> Result<Vec<u8>> {
    let padded = header.padded_len as usize;
    let ks = key_schedule(collection_key, &header.salt, header.suite); // [ENV-6]
    header.commitment = ks.commitment;
    let body_len = BODY_OVERHEAD + padded;
    let mut out = Vec::with_capacity(HEADER_LEN + 4 + body_len + SIG_LEN);
    out.extend_from_slice(&header.encode()); // [ENV-2]
    out.extend_from_slice(&u32::try_from(body_len).map_err(|_| Error::EnvTooLarge)?.to_be_bytes()); // [ENV-4]
    out.extend_from_slice(nonce); // [ENV-7]
    let ct_start = out.len();
    write_plaintext(&mut out)?; // the one copy of the payload [PAD-2]
    let aad = header.bound(defences).aad(account); // [ENV-5]
    let tag = aead_seal_in_place(header.suite, &ks.key, nonce, &aad, out.get_mut(ct_start..).unwrap_or_default())?;
    out.extend_from_slice(&tag);
    let digest = body_digest(out.get(HEADER_LEN + 4..).unwrap_or_default()); // [ENV-8]
    let msg = header.bound(defences).sig_digest(account, &digest);
    // [ENV-9]; deterministic (RFC 8032): the model checker may answer it from a cache ([MODEL-19])
    let mut seed = signing_key.to_bytes();
    let sig = crate::memo::sign(&seed, &msg, || signing_key.sign(&msg).to_bytes());
    seed.zeroize();
    out.extend_from_slice(&sig);
    Ok(out)
}

/// A device allowed to write in an epoch, as the account chain says. [ENV-10]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AuthorizedWriter {
    /// The device id.
    pub device: DeviceId,
    /// The device's Ed25519 public key.
    pub verifying_key: [u8; 32],
    /// For a revoked device: the highest writer sequence number accepted from it.
    pub max_seq: Option<u64>,
}

/// What a reader has for one epoch of one collection. [ENV-10]
#[derive(Clone, Copy)]
pub struct EpochAccess<'a> {
    /// The epoch.
    pub epoch: Epoch,
    /// `CK_e` of the collection.
    pub collection_key: &'a CollectionKey,
    /// The devices authorized to write in the epoch.
    pub writers: &'a [AuthorizedWriter],
}

/// The epoch in force at one head of the reader's verified chain: the epoch
/// of the last statement up to that head that started one. [ENV-16]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HeadEpoch {
    /// The chain head (a statement hash).
    pub head: [u8; 32],
    /// The epoch in force there.
    pub epoch: Epoch,
}

/// Everything [`open`] and [`verify_stub`] check an envelope against. [ENV-10] [ENV-11] [ENV-16]
#[derive(Clone, Copy)]
pub struct OpenContext<'a> {
    /// The account the reader belongs to (bound in AAD and signature, never on the wire).
    pub account: AccountId,
    /// The epochs the reader can open.
    pub epochs: &'a [EpochAccess<'a>],
    /// The bucket the caller asked for, if it has one.
    pub bucket: Option<Bucket>,
    /// The record id the caller asked for, if it has one.
    pub record_id: Option<RecordId>,
    /// The epoch in force at chain heads the reader knows (empty: no check).
    /// A header whose `chain_head` is listed with a later epoch than its own
    /// is refused. [ENV-16]
    pub heads: &'a [HeadEpoch],
}

/// A decoded envelope, borrowing the input. [ENV-4]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnvelopeRef<'a> {
    /// The header.
    pub header: Header,
    /// `nonce ‖ ciphertext ‖ tag`.
    pub body: &'a [u8],
    /// The writer's signature.
    pub signature: [u8; SIG_LEN],
}

impl<'a> Codec<'a> for EnvelopeRef<'a> {
    /// `header ‖ u32(len(body)) ‖ body ‖ signature`: the bytes it was decoded from. [ENV-4]
    fn encode(&self) -> Vec<u8> {
        Encoder::raw().fixed(&self.header.encode()).bytes(self.body).fixed(&self.signature).finish()
    }

    fn read(r: &mut Reader<'a>) -> Result<Self> {
        let header = Header::read(r)?;
        let body_len = r.u32()? as usize;
        if body_len != header.padded_len as usize + BODY_OVERHEAD {
            return Err(Error::EnvLength);
        }
        let body = r.fixed(body_len)?;
        let signature = r.array()?;
        Ok(EnvelopeRef { header, body, signature })
    }
}

impl<'a> EnvelopeRef<'a> {
    /// Decodes an envelope's structure (no cryptography). [ENV-4] [ENV-13] [ENV-14]
    ///
    /// ```text
    /// decode(bytes):
    ///   header = read 236 bytes; version == 1 else E_ENV_VERSION; suite in {1, 2} else E_ENV_SUITE
    ///   padded_len <= 16 MiB else E_ENV_TOO_LARGE; padded_len is a bucket else E_ENV_LENGTH
    ///   body_len = u32; body_len == padded_len + 28 else E_ENV_LENGTH
    ///   body = read body_len bytes; signature = read 64 bytes      (E_DECODE_TRUNCATED)
    ///   no byte may follow                                          (E_DECODE_TRAILING)
    /// ```
    pub fn decode(bytes: &'a [u8]) -> Result<Self> {
        <Self as Codec>::decode(bytes)
    }

    /// The stub that compaction keeps: header, body digest, signature. [ENV-15]
    pub fn stub(&self) -> Stub {
        Stub { header: self.header, body_digest: body_digest(self.body), signature: self.signature }
    }
}

/// A superseded envelope with its ciphertext dropped. [ENV-15]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stub {
    /// The envelope's header.
    pub header: Header,
    /// `body_digest` of the dropped body.
    pub body_digest: [u8; 32],
    /// The envelope's signature.
    pub signature: [u8; SIG_LEN],
}

impl Codec<'_> for Stub {
    fn encode(&self) -> Vec<u8> {
        Stub::encode(self)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let header = Header::read(r)?;
        let body_digest = r.array()?;
        let signature = r.array()?;
        Ok(Stub { header, body_digest, signature })
    }
}

impl Stub {
    /// `header(236) ‖ body_digest(32) ‖ signature(64)`. [ENV-15]
    pub fn encode(&self) -> Vec<u8> {
        Encoder::raw().fixed(&self.header.encode()).fixed(&self.body_digest).fixed(&self.signature).finish()
    }

    /// Decodes a stub. [ENV-15]
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        <Self as Codec>::decode(bytes)
    }
}

/// An opened envelope: the verified header and the payload.
pub struct Opened {
    /// The verified header.
    pub header: Header,
    padded: Vec<u8>,
    range: core::ops::Range<usize>,
}

impl Opened {
    /// The payload.
    pub fn payload(&self) -> &[u8] {
        self.padded.get(self.range.clone()).unwrap_or_default()
    }

    /// The payload, owned.
    pub fn into_payload(mut self) -> Vec<u8> {
        self.padded.truncate(self.range.end);
        self.padded.drain(..self.range.start.min(self.padded.len()));
        self.padded
    }
}

/// Steps 2 to 5 of [ENV-12], shared by [`open`] and [`verify_stub`]:
/// context, epoch, writer, signature.
fn check_signed<'c>(
    header: &Header,
    digest: &[u8; 32],
    signature: &[u8; SIG_LEN],
    ctx: &OpenContext<'c>,
    defences: &Defences,
) -> Result<&'c EpochAccess<'c>> {
    // [ENV-11] the caller's expected bucket and record.
    if ctx.bucket.is_some_and(|b| b != header.bucket) || ctx.record_id.is_some_and(|r| r != header.record_id) {
        return Err(Error::EnvContext);
    }
    // [ENV-10] the epoch, the writer, its sequence bound.
    let access = ctx.epochs.iter().find(|e| e.epoch == header.epoch).ok_or(Error::EnvEpoch)?;
    let writer = access.writers.iter().find(|w| w.device == header.writer).ok_or(Error::EnvSignerUnknown)?;
    if writer.max_seq.is_some_and(|m| header.writer_seq > m) {
        return Err(Error::EnvWriterRevoked);
    }
    // [ENV-16] not sealed in an epoch that the head it cites has already superseded.
    if defences.stale_epoch && ctx.heads.iter().any(|h| h.head == header.chain_head && h.epoch > header.epoch) {
        return Err(Error::EnvStaleEpoch);
    }
    // [ENV-9] RFC 8032 strict: canonical S, canonical R, no small-order R or A.
    if !ed25519_key_valid(&writer.verifying_key) {
        return Err(Error::EnvSignerKey);
    }
    if defences.signature
        && !verify_strict(&writer.verifying_key, &header.bound(defences).sig_digest(&ctx.account, digest), signature)
    {
        return Err(Error::EnvSignature);
    }
    Ok(access)
}

/// Verifies a stub: everything [`open`] checks before decryption. [ENV-15]
pub fn verify_stub(stub: &Stub, ctx: &OpenContext<'_>) -> Result<()> {
    dangerous_verify_stub_with_defences(stub, ctx, &Defences::ALL)
}

danger_api! {
/// [`verify_stub`] with defences switched off: model checking only. [MODEL-5]
pub fn dangerous_verify_stub_with_defences(stub: &Stub, ctx: &OpenContext<'_>, defences: &Defences) -> Result<()> {
    check_signed(&stub.header, &stub.body_digest, &stub.signature, ctx, defences).map(|_| ())
}
}

/// Opens an envelope. Returns the payload only after every check. [ENV-12]
///
/// ```text
/// open(bytes, ctx):
///   1. env = decode(bytes)                                          -- [ENV-4]
///   2. expected bucket / record id                  else E_ENV_CONTEXT         -- [ENV-11]
///   3. epoch known; writer authorized in it; writer_seq <= its bound
///                        else E_ENV_EPOCH / E_ENV_SIGNER_UNKNOWN / E_ENV_WRITER_REVOKED -- [ENV-10]
///      epoch >= the epoch in force at the cited chain head, if given  else E_ENV_STALE_EPOCH -- [ENV-16]
///   4. key valid and not small order               else E_ENV_SIGNER_KEY
///      Ed25519 strict verify of sig_digest         else E_ENV_SIGNATURE       -- [ENV-9]
///   5. key_schedule; commitment == header.commitment (constant time) else E_ENV_COMMITMENT -- [ENV-6]
///   6. AEAD decrypt in place                        else E_ENV_DECRYPT         -- [ENV-7]
///   7. unpad                                        else E_ENV_PADDING         -- [PAD-3]
///   8. schema known and payload valid for it        else E_ENV_SCHEMA / E_ENV_JSON -- [PAY-1]
/// ```
pub fn open(envelope: &[u8], ctx: &OpenContext<'_>) -> Result<Opened> {
    dangerous_open_with_defences(envelope, ctx, &Defences::ALL)
}

danger_api! {
/// [`open`] with defences switched off: model checking only. [MODEL-5]
pub fn dangerous_open_with_defences(envelope: &[u8], ctx: &OpenContext<'_>, defences: &Defences) -> Result<Opened> {
    open_decoded(&EnvelopeRef::decode(envelope)?, ctx, defences)
}
}

impl EnvelopeRef<'_> {
    /// [`open`] of an envelope this crate decoded (step 1 done): steps 2 to 8,
    /// so a reader that decoded it to route it does not decode it twice.
    /// Crate-private: an `EnvelopeRef` built by hand has skipped [ENV-4]'s
    /// checks. [ENV-12]
    pub(crate) fn open(&self, ctx: &OpenContext<'_>) -> Result<Opened> {
        open_decoded(self, ctx, &Defences::ALL)
    }
}

/// Steps 2 to 8 of [`open`] on a decoded envelope, under `defences`. [ENV-12]
pub(crate) fn open_decoded(env: &EnvelopeRef<'_>, ctx: &OpenContext<'_>, defences: &Defences) -> Result<Opened> {
    let h = env.header;
    let access = check_signed(&h, &body_digest(env.body), &env.signature, ctx, defences)?;
    let ks = key_schedule(access.collection_key, &h.salt, h.suite);
    if defences.key_commitment && !ct_eq(&ks.commitment, &h.commitment) {
        return Err(Error::EnvCommitment);
    }
    let (nonce, rest) = env.body.split_first_chunk::<NONCE_LEN>().ok_or(Error::DecodeTruncated)?;
    let (ct, tag) = rest.split_last_chunk::<TAG_LEN>().ok_or(Error::DecodeTruncated)?;
    let mut buf = ct.to_vec(); // the one copy of the ciphertext
    if aead_open_in_place(h.suite, &ks.key, nonce, &h.bound(defences).aad(&ctx.account), &mut buf, tag).is_err() {
        buf.zeroize();
        return Err(Error::EnvDecrypt);
    }
    let range = match padding::unpad(&buf) {
        Ok(r) => r,
        Err(e) => {
            buf.zeroize();
            return Err(e);
        }
    };
    let schema = h.schema();
    if let Err(e) = schema.and_then(|s| s.check(buf.get(range.clone()).unwrap_or_default())) {
        buf.zeroize();
        return Err(e);
    }
    Ok(Opened { header: h, padded: buf, range })
}

/// Suite AEAD, detached and in place. [ENV-3] [ENV-7]
pub fn aead_seal_in_place(
    suite: Suite,
    key: &EnvelopeKey,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buf: &mut [u8],
) -> Result<[u8; TAG_LEN]> {
    let tag = match suite {
        Suite::Aes256Gcm => Aes256Gcm::new(key.expose().into()).encrypt_inout_detached(nonce.into(), aad, buf.into()),
        Suite::ChaCha20Poly1305 => {
            ChaCha20Poly1305::new(key.expose().into()).encrypt_inout_detached(nonce.into(), aad, buf.into())
        }
    };
    tag.map(Into::into).map_err(|_| Error::EnvTooLarge)
}

/// Suite AEAD open, detached and in place; `Err` on any failure. [ENV-3] [ENV-7]
pub fn aead_open_in_place(
    suite: Suite,
    key: &EnvelopeKey,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> Result<()> {
    let r = match suite {
        Suite::Aes256Gcm => {
            Aes256Gcm::new(key.expose().into()).decrypt_inout_detached(nonce.into(), aad, buf.into(), tag.into())
        }
        Suite::ChaCha20Poly1305 => {
            ChaCha20Poly1305::new(key.expose().into()).decrypt_inout_detached(nonce.into(), aad, buf.into(), tag.into())
        }
    };
    r.map_err(|_| Error::EnvDecrypt)
}

#[cfg(test)]
mod tests;
