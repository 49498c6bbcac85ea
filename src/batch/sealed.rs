//! Full batches: signed metadata, key slots and the stream body tied
//! together (spec 10.4, [BAT-5] to [BAT-9]).
//!
//! ```text
//! meta_core = enc(BATCH_META, u8 version, batch_id(16), writer(32), u8 suite, u64 start_ms, u64 end_ms,
//!                 u64 expires_ms, u32 event_count, u64 seq, prev_batch(16), u64 head_len, head_hash(32),
//!                 u16 n, recipient(32) × n, slots_digest(32))
//! meta      = meta_core ‖ manifest_digest(32) ‖ signature(64)
//! blob      = enc(BATCH_BLOB, bytes meta, bytes manifest) ‖ body
//! ```

use std::collections::BTreeMap;

use super::hchain::{self, ServerRecord};
use super::slots::{self, SLOT_LEN};
use super::{BatchId, Event, decode_events, encode_events_to};
use crate::chain::{ChainState, Statement};
use crate::defences::Defences;
use crate::device::{ChainHead, DeviceId, DeviceKeys};
use crate::encoding::{Codec, Encoder, Reader};
use crate::envelope::{SIG_LEN, Suite};
use crate::error::{Error, Result};
use crate::hpke::HpkeSecretKey;
use crate::keys::AccountId;
use crate::labels;
use crate::primitives::{CryptoRng, ct_eq, hkdf_expand32, hkdf_extract, sha256};
use crate::stream::{self, StreamKeySource, StreamOpenContext, StreamParams};

/// Metadata format version. [BAT-5]
pub const META_VERSION: u8 = 1;
/// Longest metadata a blob may carry: exactly 4194304 bytes. [BAT-7] [BAT-14]
pub const MAX_META: usize = 4 << 20;
/// Longest manifest a blob may carry: the 32 MiB manifest of [STR-9] and its fixed parts,
/// exactly 33554618 bytes. [BAT-7] [BAT-14]
pub const MAX_MANIFEST: usize =
    stream::MANIFEST_HEADER_LEN + stream::DIGEST_LEN * stream::MAX_CHUNKS as usize + SIG_LEN;

/// What the reader's chain says about writers and recipients. [BAT-4] [BAT-8]
pub trait BatchPolicy {
    /// The Ed25519 key of `id` if it is an active device of the account.
    fn writer_key(&self, id: &DeviceId) -> Option<[u8; 32]>;
    /// True when a data key may be wrapped to `key` (an active device or a pinned partner).
    fn allows(&self, key: &[u8; 32]) -> bool;
    /// True when `head` is a head of the reader's verified chain (a prefix of it). [BAT-10]
    fn has_head(&self, head: &ChainHead) -> bool;
    /// Length of the reader's verified chain. [BAT-10]
    fn chain_len(&self) -> u64;
    /// The active devices of the reader's chain. [BAT-11]
    fn writers(&self) -> Vec<DeviceId>;
    /// True when a data key may be wrapped to every one of `keys` at the chain head `head`
    /// the batch names (a device active or a partner pinned there): recipients are judged
    /// when the writer sealed, so a batch sealed before a revocation or an unpin still
    /// opens. [BAT-8]
    fn all_allowed_at(&self, head: &ChainHead, keys: &[[u8; 32]]) -> bool {
        let _ = head;
        keys.iter().all(|k| self.allows(k))
    }
}

impl BatchPolicy for ChainState {
    fn writer_key(&self, id: &DeviceId) -> Option<[u8; 32]> {
        if self.is_active(id) { self.device_key(id).map(|d| d.ed25519) } else { None }
    }
    fn allows(&self, key: &[u8; 32]) -> bool {
        slots::chain_allows(self, key)
    }
    fn has_head(&self, head: &ChainHead) -> bool {
        head.len.checked_sub(1).and_then(|p| self.hash_at(p)) == Some(head.hash)
    }
    fn chain_len(&self) -> u64 {
        self.head().len
    }
    fn writers(&self) -> Vec<DeviceId> {
        self.devices().keys().filter(|d| self.is_active(d)).copied().collect()
    }
    fn all_allowed_at(&self, head: &ChainHead, keys: &[[u8; 32]]) -> bool {
        if !self.has_head(head) {
            return false;
        }
        // The writer is up to date (the usual case): the reader's own state is the state there.
        if *head == self.head() {
            return keys.iter().all(|k| slots::chain_allows(self, k));
        }
        // Otherwise the state at `head`, once per batch: the verified prefix, re-verified
        // (a deterministic function of it).
        let n = usize::try_from(head.len).unwrap_or(usize::MAX);
        let prefix: Vec<Vec<u8>> = self.statements().iter().take(n).map(Statement::encode).collect();
        ChainState::verify(&prefix).is_ok_and(|at| keys.iter().all(|k| slots::chain_allows(&at, k)))
    }
}

/// A policy given as lists (test vectors, tests): it stands for a chain. [BAT-8]
#[derive(Clone, Debug, Default)]
pub struct ListPolicy {
    /// Active devices: id and Ed25519 key.
    pub writers: Vec<(DeviceId, [u8; 32])>,
    /// Allowed recipient keys.
    pub allowed: Vec<[u8; 32]>,
    /// The chain's statement hashes in order (its heads are the prefixes). [BAT-10]
    pub chain: Vec<[u8; 32]>,
}

impl BatchPolicy for ListPolicy {
    fn writer_key(&self, id: &DeviceId) -> Option<[u8; 32]> {
        self.writers.iter().find(|(d, _)| d == id).map(|(_, k)| *k)
    }
    fn allows(&self, key: &[u8; 32]) -> bool {
        self.allowed.contains(key)
    }
    fn has_head(&self, head: &ChainHead) -> bool {
        head.len.checked_sub(1).and_then(|p| usize::try_from(p).ok()).and_then(|p| self.chain.get(p))
            == Some(&head.hash)
    }
    fn chain_len(&self) -> u64 {
        self.chain.len() as u64
    }
    fn writers(&self) -> Vec<DeviceId> {
        self.writers.iter().map(|(d, _)| *d).collect()
    }
}

/// Where a batch stands in its writer's sequence and in the account chain. [BAT-10] [BAT-11]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BatchLink {
    /// The writer's batch counter: 0 for its first batch, then one more each batch.
    pub seq: u64,
    /// The id of the writer's previous batch (all zero when `seq` is 0).
    pub prev_batch: BatchId,
    /// The head of the account chain the writer sealed under.
    pub chain_head: ChainHead,
}

/// The recording window and retention of a batch, ms since the Unix epoch. [BAT-5]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    /// First moment recorded.
    pub start_ms: u64,
    /// Last moment recorded.
    pub end_ms: u64,
    /// Retention expiry: readers refuse the batch from this moment on.
    pub expires_ms: u64,
}

impl Window {
    /// `start <= end <= expires` else `E_BATCH_RANGE`. [BAT-5]
    pub fn check(&self) -> Result<()> {
        if self.start_ms <= self.end_ms && self.end_ms <= self.expires_ms { Ok(()) } else { Err(Error::BatchRange) }
    }

    /// `start <= t <= end`. [BAT-6] [BAT-8]
    pub fn contains(&self, t_ms: u64) -> bool {
        self.start_ms <= t_ms && t_ms <= self.end_ms
    }
}

/// Decoded batch metadata. [BAT-5] It is in clear: the server reads it, cannot change it. [BAT-9]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchMeta {
    /// The batch id.
    pub batch_id: BatchId,
    /// The recording device.
    pub writer: DeviceId,
    /// The body's content AEAD.
    pub suite: Suite,
    /// Recording window and retention expiry.
    pub window: Window,
    /// Number of events in the body.
    pub event_count: u32,
    /// The writer's batch counter, previous batch and chain head. [BAT-10] [BAT-11]
    pub link: BatchLink,
    /// The key slots' recipients, strictly ascending, at least one.
    pub recipients: Vec<[u8; 32]>,
    /// `SHA-256(enc(HASH_BATCH_SLOTS, bytes slots))`.
    pub slots_digest: [u8; 32],
    /// `SHA-256(enc(HASH_BATCH_MANIFEST, bytes manifest))`.
    pub manifest_digest: [u8; 32],
    /// The writer's Ed25519 signature.
    pub signature: [u8; SIG_LEN],
}

impl Codec<'_> for BatchMeta {
    fn encode(&self) -> Vec<u8> {
        BatchMeta::encode(self)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self> {
        r.expect_label(labels::BATCH_META)?;
        if r.u8()? != META_VERSION {
            return Err(Error::EnvVersion);
        }
        let batch_id = BatchId(r.array()?);
        let writer = DeviceId(r.array()?);
        let suite = Suite::from_u8(r.u8()?)?;
        let window = Window { start_ms: r.u64()?, end_ms: r.u64()?, expires_ms: r.u64()? };
        window.check()?;
        let event_count = r.u32()?;
        let seq = r.u64()?;
        let prev_batch = BatchId(r.array()?);
        let chain_head = ChainHead { len: r.u64()?, hash: r.array()? };
        let n = usize::from(r.u16()?);
        if r.remaining() < n.saturating_mul(32) {
            return Err(Error::DecodeTruncated);
        }
        let mut recipients: Vec<[u8; 32]> = Vec::with_capacity(n);
        for _ in 0..n {
            let k: [u8; 32] = r.array()?;
            if recipients.last().is_some_and(|p| *p >= k) {
                return Err(Error::DecodeValue);
            }
            recipients.push(k);
        }
        if recipients.is_empty() {
            return Err(Error::DecodeValue);
        }
        let slots_digest = r.array()?;
        let manifest_digest = r.array()?;
        let signature = r.array()?;
        Ok(BatchMeta {
            batch_id,
            writer,
            suite,
            window,
            event_count,
            link: BatchLink { seq, prev_batch, chain_head },
            recipients,
            slots_digest,
            manifest_digest,
            signature,
        })
    }
}

impl BatchMeta {
    /// `meta_core`: everything the stream context binds (all but the manifest digest and signature). [BAT-5]
    pub fn core(&self) -> Vec<u8> {
        let n = u16::try_from(self.recipients.len()).unwrap_or(u16::MAX);
        let mut e = Encoder::new(labels::BATCH_META)
            .u8(META_VERSION)
            .fixed(&self.batch_id.0)
            .fixed(&self.writer.0)
            .u8(self.suite as u8)
            .u64(self.window.start_ms)
            .u64(self.window.end_ms)
            .u64(self.window.expires_ms)
            .u32(self.event_count)
            .u64(self.link.seq)
            .fixed(&self.link.prev_batch.0)
            .u64(self.link.chain_head.len)
            .fixed(&self.link.chain_head.hash)
            .u16(n);
        for r in self.recipients.iter().take(usize::from(n)) {
            e = e.fixed(r);
        }
        e.fixed(&self.slots_digest).finish()
    }

    /// `meta_core ‖ manifest_digest`: what the signature covers. [BAT-5]
    pub fn unsigned(&self) -> Vec<u8> {
        let mut out = self.core();
        out.extend_from_slice(&self.manifest_digest);
        out
    }

    /// The wire encoding `meta_core ‖ manifest_digest ‖ signature`. [BAT-5]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.unsigned();
        out.extend_from_slice(&self.signature);
        out
    }

    /// `SHA-256(enc(SIG_BATCH_META, account_id(32), bytes(meta_core ‖ manifest_digest)))`. [BAT-5]
    /// The bytes before `meta_core ‖ manifest_digest` are the vectors' `sig_message_prefix`. [BAT-13]
    pub fn sig_digest(&self, account: &AccountId) -> [u8; 32] {
        let unsigned = self.unsigned();
        let len = u32::try_from(unsigned.len()).unwrap_or(u32::MAX);
        let prefix = Encoder::new(labels::SIG_BATCH_META).fixed(&account.0).u32(len).finish();
        sha256(&[&prefix, &unsigned])
    }

    /// The body's stream context `SHA-256(enc(HASH_BATCH_CONTEXT, account_id(32), bytes meta_core))`. [BAT-6]
    /// `prefix` is the vectors' `context_prefix`. [BAT-13]
    pub fn context(&self, account: &AccountId) -> [u8; 32] {
        let core = self.core();
        let len = u32::try_from(core.len()).unwrap_or(u32::MAX);
        let prefix = Encoder::new(labels::HASH_BATCH_CONTEXT).fixed(&account.0).u32(len).finish();
        sha256(&[&prefix, &core])
    }

    /// The body's stream parameters. [BAT-6]
    pub fn stream_params(&self, account: &AccountId) -> StreamParams {
        StreamParams {
            account: *account,
            suite: self.suite,
            stream_id: self.batch_id.0,
            context: self.context(account),
        }
    }

    /// Decodes metadata (no cryptography). [BAT-5] Reads and checks interleave: the
    /// recipients are one read, before their order is checked. [ENC-7]
    ///
    /// ```text
    /// decode(bytes):
    ///   label BATCH_META                              else E_DECODE_LABEL
    ///   version == 1                                  else E_ENV_VERSION
    ///   batch_id, writer; suite in {1, 2}             else E_ENV_SUITE
    ///   start <= end <= expires                       else E_BATCH_RANGE
    ///   event_count; n >= 1, recipients ascending     else E_DECODE_VALUE
    ///   slots_digest, manifest_digest, signature      (E_DECODE_TRUNCATED)
    ///   nothing follows                               else E_DECODE_TRAILING
    /// ```
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        <Self as Codec>::decode(bytes)
    }

    /// Steps 2 to 5 of [BAT-8]: the batch asked for, an active writer, a valid signature, not expired.
    pub fn verify(&self, account: &AccountId, batch: &BatchId, policy: &dyn BatchPolicy, now_ms: u64) -> Result<()> {
        if self.batch_id != *batch {
            return Err(Error::BatchId);
        }
        let key = policy.writer_key(&self.writer).ok_or(Error::BatchWriter)?;
        // RFC 8032 strict, as chapters 7 and 9; a key of small order is a failed signature.
        if !crate::primitives::verify_strict(&key, &self.sig_digest(account), &self.signature) {
            return Err(Error::BatchSignature);
        }
        if now_ms >= self.window.expires_ms {
            return Err(Error::BatchExpired);
        }
        Ok(())
    }
}

/// `SHA-256(enc(HASH_BATCH_SLOTS, bytes slots))`. [BAT-5] The bytes before `slots` are the
/// vectors' `slots_digest_prefix`. [BAT-13]
pub fn slots_digest(slots: &[u8]) -> [u8; 32] {
    let len = u32::try_from(slots.len()).unwrap_or(u32::MAX);
    sha256(&[&Encoder::new(labels::HASH_BATCH_SLOTS).u32(len).finish(), slots])
}

/// `SHA-256(enc(HASH_BATCH_MANIFEST, bytes manifest))`. [BAT-5] The bytes before `manifest` are
/// the vectors' `manifest_digest_prefix`. [BAT-13]
pub fn manifest_digest(manifest: &[u8]) -> [u8; 32] {
    let len = u32::try_from(manifest.len()).unwrap_or(u32::MAX);
    sha256(&[&Encoder::new(labels::HASH_BATCH_MANIFEST).u32(len).finish(), manifest])
}

/// `enc(BATCH_STREAM_KEY, account_id(32), batch_id(16))`. [BAT-6]
pub fn stream_key_info(account: &AccountId, batch: &BatchId) -> Vec<u8> {
    Encoder::new(labels::BATCH_STREAM_KEY).fixed(&account.0).fixed(&batch.0).finish()
}

/// `source = HKDF-Expand(HKDF-Extract(0^32, data_key), enc(BATCH_STREAM_KEY, account, batch_id), 32)`. [BAT-6]
pub fn stream_source(data_key: &StreamKeySource, account: &AccountId, batch: &BatchId) -> StreamKeySource {
    let prk = hkdf_extract(&[0u8; 32], data_key.expose());
    StreamKeySource::from_bytes(*hkdf_expand32(&prk, &stream_key_info(account, batch)).expose())
}

/// A sealed batch: what a writer uploads. [BAT-7]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedBatch {
    /// Signed metadata ([BAT-5]).
    pub meta: Vec<u8>,
    /// The key slots ([BAT-3]).
    pub slots: Vec<u8>,
    /// The body's stream manifest (chapter 9).
    pub manifest: Vec<u8>,
    /// The body (chapter 9).
    pub body: Vec<u8>,
}

impl SealedBatch {
    /// `blob = enc(BATCH_BLOB, bytes meta, bytes manifest) ‖ body`. [BAT-7]
    pub fn blob(&self) -> Vec<u8> {
        let mut out = Encoder::new(labels::BATCH_BLOB).bytes(&self.meta).bytes(&self.manifest).finish();
        out.extend_from_slice(&self.body);
        out
    }

    /// The slots as the server's list of 112-byte slots. [BAT-7]
    pub fn slot_list(&self) -> Vec<Vec<u8>> {
        self.slots.get(2..).unwrap_or_default().chunks(SLOT_LEN).map(<[u8]>::to_vec).collect()
    }

    /// Rebuilds a batch from the server's blob and slot list. [BAT-7]
    ///
    /// ```text
    /// from_wire(blob, list):
    ///   label BATCH_BLOB; bytes meta (<= 4 MiB); bytes manifest (<= MAX_MANIFEST); body = the rest
    ///   slots = u16 len(list) ‖ list[0] ‖ ...        (more than 65535: E_DECODE_LENGTH)
    /// ```
    pub fn from_wire(blob: &[u8], slot_list: &[Vec<u8>]) -> Result<Self> {
        let mut r = Reader::new(blob);
        r.expect_label(labels::BATCH_BLOB)?;
        let meta = r.bytes(MAX_META)?.to_vec();
        let manifest = r.bytes(MAX_MANIFEST)?.to_vec();
        let body = r.fixed(r.remaining())?.to_vec();
        r.finish()?;
        let count = u16::try_from(slot_list.len()).map_err(|_| Error::DecodeLength)?;
        let mut slots = count.to_be_bytes().to_vec();
        for s in slot_list {
            slots.extend_from_slice(s);
        }
        Ok(SealedBatch { meta, slots, manifest, body })
    }
}

/// What a writer seals. [BAT-6]
pub struct BatchInput<'a> {
    /// The account.
    pub account: AccountId,
    /// The batch id (16 random bytes, [BAT-1]).
    pub batch_id: BatchId,
    /// The body's content AEAD.
    pub suite: Suite,
    /// Recording window and retention.
    pub window: Window,
    /// The events, timestamps non-decreasing.
    pub events: &'a [Event],
    /// Who may read: the owner's devices and pinned partners.
    pub recipients: &'a [[u8; 32]],
    /// The batch's data key, drawn when the batch was opened: the event key of the
    /// reports made while recording derives from it ([HCH-2]).
    pub data_key: &'a StreamKeySource,
    /// Sequence, previous batch and chain head ([BAT-10], [BAT-11]).
    pub link: BatchLink,
}

/// A fresh data key for a batch about to be recorded: 32 bytes from `rng`. [BAT-6] [HCH-2]
pub fn new_data_key<R: CryptoRng + ?Sized>(rng: &mut R) -> StreamKeySource {
    StreamKeySource::random(rng)
}

/// Seals a batch. [BAT-6]
///
/// ```text
/// seal(chain, device, batch_id, start, end, expires, events, recipients, suite, rng):
///   start <= end <= expires                                          else E_BATCH_RANGE
///   every event: start <= t_ms <= end                                else E_BATCH_TIME
///   framed = encode_events(events)                                   -- [BAT-2]
///   data_key = 32 random bytes
///   slots = seal_slots(recipients)                                   -- [BAT-3], [BAT-4]: E_BATCH_UNPINNED
///   meta_core (with slots_digest); (manifest, body) = stream seal     -- [BAT-6]
///   meta = meta_core ‖ manifest_digest ‖ signature                   -- [BAT-5]
/// ```
pub fn seal<R: CryptoRng + ?Sized>(
    input: &BatchInput<'_>,
    device: &DeviceKeys,
    policy: &dyn BatchPolicy,
    rng: &mut R,
) -> Result<SealedBatch> {
    seal_threads(input, device, policy, rng, 1)
}

/// [`seal`] with the body's chunks sealed on `threads` threads (same bytes for any count). [STR-10] [BAT-6]
pub fn seal_threads<R: CryptoRng + ?Sized>(
    input: &BatchInput<'_>,
    device: &DeviceKeys,
    policy: &dyn BatchPolicy,
    rng: &mut R,
    threads: usize,
) -> Result<SealedBatch> {
    input.window.check()?;
    if input.events.iter().any(|e| !input.window.contains(e.t_ms)) {
        return Err(Error::BatchTime);
    }
    seal_inner(input, device, policy, rng, threads, &|_| {})
}

/// A misbehaving writer, for test vectors and tests only: seals like [`seal`]
/// without the writer-side window checks and signs metadata after `edit`
/// changed it (before the body's stream context is derived). Readers must
/// refuse what it produces ([BAT-8]).
#[doc(hidden)]
pub fn seal_misbehaving<R: CryptoRng + ?Sized>(
    input: &BatchInput<'_>,
    device: &DeviceKeys,
    policy: &dyn BatchPolicy,
    rng: &mut R,
    edit: &dyn Fn(&mut BatchMeta),
) -> Result<SealedBatch> {
    seal_inner(input, device, policy, rng, 1, edit)
}

fn seal_inner<R: CryptoRng + ?Sized>(
    input: &BatchInput<'_>,
    device: &DeviceKeys,
    policy: &dyn BatchPolicy,
    rng: &mut R,
    threads: usize,
    edit: &dyn Fn(&mut BatchMeta),
) -> Result<SealedBatch> {
    // [BAT-2] [STR-10] the events are framed straight into the body's frame layout and sealed in
    // place: one copy. The framed plaintext is not a key and the caller's events hold the same
    // bytes, so it is not wiped (a volatile wipe of a 2.8 MB batch cost 10-15 % of sealing).
    let mut body = stream::BodyBuffer::with_plaintext_len(super::framed_len(input.events));
    encode_events_to(input.events, &mut body)?;
    let event_count = u32::try_from(input.events.len()).map_err(|_| Error::DecodeLength)?;
    let data_key = input.data_key;
    let allowed = |k: &[u8; 32]| policy.allows(k);
    let slots = slots::seal_slots(&input.account, &input.batch_id, input.recipients, &allowed, data_key, rng)?;
    let recipients = slots::slot_recipients(&slots)?;
    if recipients.is_empty() {
        return Err(Error::DecodeValue);
    }
    let mut meta = BatchMeta {
        batch_id: input.batch_id,
        writer: device.id(),
        suite: input.suite,
        window: input.window,
        event_count,
        link: input.link,
        recipients,
        slots_digest: slots_digest(&slots),
        manifest_digest: [0; 32],
        signature: [0; SIG_LEN],
    };
    edit(&mut meta);
    let params = meta.stream_params(&input.account);
    let source = stream_source(data_key, &input.account, &input.batch_id);
    let signing = ed25519_dalek::SigningKey::from_bytes(device.signing_seed().expose());
    let mut salt = [0u8; stream::SALT_LEN];
    rng.fill_bytes(&mut salt);
    let (manifest, body) = stream::seal_body(&params, &source, &signing, &salt, body, threads)?;
    meta.manifest_digest = manifest_digest(&manifest);
    meta.signature = ed25519_dalek::Signer::sign(&signing, &meta.sig_digest(&input.account)).to_bytes();
    Ok(SealedBatch { meta: meta.encode(), slots, manifest, body })
}

/// An opened batch: its verified metadata and events. [BAT-8]
/// Its `Debug` shows the metadata and the number of events, never their bytes. [PRIM-8]
#[derive(Clone, PartialEq, Eq)]
pub struct OpenedBatch {
    /// The verified metadata.
    pub meta: BatchMeta,
    /// The events, checked against the server's hash-chain record.
    pub events: Vec<Event>,
}

impl core::fmt::Debug for OpenedBatch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OpenedBatch").field("meta", &self.meta).field("events", &self.events.len()).finish()
    }
}

/// Opens a batch: every check of [BAT-8], in order.
///
/// ```text
/// open(account, batch_id, blob, slots, record, chain, me, now_ms):
///   1. decode blob and meta                                          -- [BAT-7], [BAT-5]
///   2. meta.batch_id == batch_id                                     else E_BATCH_ID
///   3. meta.writer is an active device of my chain                   else E_BATCH_WRITER
///   4. strict Ed25519 verify of sig_digest with that device's key    else E_BATCH_SIGNATURE
///   5. now_ms < meta.expires_ms                                      else E_BATCH_EXPIRED
///   6. meta.chain_head is a head of my chain                         else E_BATCH_CHAIN_HEAD
///   7. every recipient of meta is allowed by my chain                else E_BATCH_UNPINNED
///   8. slots digest and recipients match meta                        else E_BATCH_SLOTS
///   9. manifest digest matches meta                                  else E_BATCH_MANIFEST
///  10. data_key = open_slot(slots, me)                               -- [BAT-4]
///  11. events = decode_events(stream open of the body)               -- chapter 9, [BAT-2]
///  12. len(events) == meta.event_count                               else E_BATCH_COUNT
///  13. every event: start_ms <= t_ms <= end_ms                       else E_BATCH_TIME
///  14. hchain verify(account, batch_id, event_key, writer, events, record)   -- [HCH-5], [HCH-6]
/// ```
pub fn open(
    account: &AccountId,
    batch: &BatchId,
    sealed: &SealedBatch,
    record: &ServerRecord,
    policy: &dyn BatchPolicy,
    me: &HpkeSecretKey,
    now_ms: u64,
) -> Result<OpenedBatch> {
    open_with(account, batch, sealed, record, policy, me, now_ms, &Defences::ALL)
}

danger_api! {
/// [`open`] under the model's defence switches (`data.chain_head`, `data.chunk_digests`,
/// `data.report_signature`, `data.keyed_events`). [MODEL-5]
#[allow(clippy::too_many_arguments)]
pub fn open_with(
    account: &AccountId,
    batch: &BatchId,
    sealed: &SealedBatch,
    record: &ServerRecord,
    policy: &dyn BatchPolicy,
    me: &HpkeSecretKey,
    now_ms: u64,
    defences: &Defences,
) -> Result<OpenedBatch> {
    open_with_impl(account, batch, sealed, record, policy, me, now_ms, defences)
}
}

/// The body of `open_with`, outside `danger_api!` so that cargo-mutants mutates it.
#[allow(clippy::too_many_arguments)]
fn open_with_impl(
    account: &AccountId,
    batch: &BatchId,
    sealed: &SealedBatch,
    record: &ServerRecord,
    policy: &dyn BatchPolicy,
    me: &HpkeSecretKey,
    now_ms: u64,
    defences: &Defences,
) -> Result<OpenedBatch> {
    let meta = verified_meta(account, batch, sealed, policy, now_ms, defences)?;
    open_body(account, batch, sealed, record, policy, me, meta, defences)
}

/// Steps 1 to 6 of [BAT-8]: the metadata, verified, and its chain head known. [BAT-10]
fn verified_meta(
    account: &AccountId,
    batch: &BatchId,
    sealed: &SealedBatch,
    policy: &dyn BatchPolicy,
    now_ms: u64,
    defences: &Defences,
) -> Result<BatchMeta> {
    let meta = BatchMeta::decode(&sealed.meta)?;
    meta.verify(account, batch, policy, now_ms)?;
    if defences.data.chain_head && !policy.has_head(&meta.link.chain_head) {
        return Err(Error::BatchChainHead);
    }
    Ok(meta)
}

/// Steps 7 to 14 of [BAT-8].
#[allow(clippy::too_many_arguments)]
fn open_body(
    account: &AccountId,
    batch: &BatchId,
    sealed: &SealedBatch,
    record: &ServerRecord,
    policy: &dyn BatchPolicy,
    me: &HpkeSecretKey,
    meta: BatchMeta,
    defences: &Defences,
) -> Result<OpenedBatch> {
    if !policy.all_allowed_at(&meta.link.chain_head, &meta.recipients) {
        return Err(Error::BatchUnpinned);
    }
    if !ct_eq(&slots_digest(&sealed.slots), &meta.slots_digest) {
        return Err(Error::BatchSlots);
    }
    if slots::slot_recipients(&sealed.slots)? != meta.recipients {
        return Err(Error::BatchSlots);
    }
    if !ct_eq(&manifest_digest(&sealed.manifest), &meta.manifest_digest) {
        return Err(Error::BatchManifest);
    }
    let allowed = |k: &[u8; 32]| policy.allows(k);
    let data_key = slots::open_slot(account, batch, &sealed.slots, &allowed, me)?;
    let writer_key = policy.writer_key(&meta.writer).ok_or(Error::BatchWriter)?;
    let ctx = StreamOpenContext { params: meta.stream_params(account), verifying_key: writer_key };
    let source = stream_source(&data_key, account, batch);
    let framed = stream::open_with_defences(&sealed.manifest, &sealed.body, &ctx, &source, defences)?;
    let events = decode_events(&framed)?;
    if events.len() != meta.event_count as usize {
        return Err(Error::BatchCount);
    }
    if events.iter().any(|e| !meta.window.contains(e.t_ms)) {
        return Err(Error::BatchTime);
    }
    let event_key = hchain::event_key(&data_key, account, batch);
    hchain::verify_with(account, batch, &event_key, &writer_key, &events, record, defences)?;
    Ok(OpenedBatch { meta, events })
}

/// [BAT-11] the link of a batch to the last one its reader accepted from the same writer.
///
/// ```text
/// check_link(last, meta):
///   last is none (the first batch read from this writer)          -> ok
///   meta.seq == last.seq + 1 and meta.prev_batch == last.batch_id  -> ok
///   otherwise                                                     -> E_BATCH_GAP
/// ```
pub fn check_link(last: Option<(u64, BatchId)>, meta: &BatchMeta) -> Result<()> {
    match last {
        None => Ok(()),
        Some((seq, id)) if seq.checked_add(1) == Some(meta.link.seq) && id == meta.link.prev_batch => Ok(()),
        Some(_) => Err(Error::BatchGap),
    }
}

/// A chain head a verified batch named that the reader's chain does not have yet: the
/// writer, the head, and the batch that named it. [BAT-10]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PendingHead {
    /// The batch's writer (an active device of the reader's chain when it was verified).
    pub writer: DeviceId,
    /// The head it named.
    pub head: ChainHead,
    /// The batch.
    pub batch: BatchId,
}

/// A recipient of an accepted batch that the writer's head allowed and the reader's chain
/// no longer does: the writer sealed on a stale view (frozen by the server, or simply not
/// refreshed) and a revoked device or an unpinned partner got the batch key. [BAT-12]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StaleRecipient {
    /// The writer.
    pub writer: DeviceId,
    /// The batch.
    pub batch: BatchId,
    /// The recipient key the writer's head allowed and the reader's chain no longer does.
    pub key: [u8; 32],
}

/// A batch accepted at a chain head older than the newest head an accepted batch named
/// before: the writer sealed on a stale view of the account chain. Not a refusal: an
/// honest writer that has not refreshed its chain does the same. [BAT-12]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StaleBatchHead {
    /// The writer.
    pub writer: DeviceId,
    /// The batch.
    pub batch: BatchId,
    /// The head it named.
    pub head_len: u64,
    /// The newest head named before it.
    pub newest_len: u64,
}

/// What a reader (a partner, or the owner's device reading another device's
/// batches) keeps between batches: the rollback state of [BAT-10], [BAT-11] and [BAT-12].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReaderState {
    /// Heads verified batches named that the reader's chain does not have yet; while one
    /// stands, the reader refuses every batch. Re-checked against each chain. [BAT-10]
    pub pending: Vec<PendingHead>,
    /// Per writer, the sequence number and id of the newest batch accepted. [BAT-11]
    pub last: BTreeMap<DeviceId, (u64, BatchId)>,
    /// The active writers of the reader's chain when it first read (none before). [BAT-11]
    pub initial_writers: Option<Vec<DeviceId>>,
    /// The longest head an accepted batch named. [BAT-12]
    pub newest_head_len: u64,
    /// Per writer, the `end_ms` of the newest batch accepted. [BAT-12]
    pub last_end_ms: BTreeMap<DeviceId, u64>,
    /// Accepted batches that named a head older than `newest_head_len`. [BAT-12]
    pub stale_heads: Vec<StaleBatchHead>,
    /// Recipients of accepted batches that the reader's chain no longer allows (revoked
    /// devices, unpinned partners): each is an alert a partner shows. [BAT-12]
    pub stale_recipients: Vec<StaleRecipient>,
}

impl ReaderState {
    /// [BAT-10] re-checks the pending heads against the reader's (refreshed) chain: a claim
    /// whose writer is no longer active is dropped, one the chain now has is met and dropped.
    /// `Err(E_CHAIN_FORK)` if the chain reached a claimed length with another hash (the claim
    /// stays: the writer and the reader saw different chains), `Err(E_BATCH_CHAIN_HEAD)` while
    /// a claim is longer than the chain.
    ///
    /// ```text
    /// recheck(state, chain):
    ///   drop every claim whose writer is not an active device of my chain
    ///   drop every claim whose head is a head of my chain
    ///   a claim with head_len <= len(my chain)                     -> E_CHAIN_FORK
    ///   a claim left                                                -> E_BATCH_CHAIN_HEAD
    /// ```
    pub fn recheck(&mut self, policy: &dyn BatchPolicy) -> Result<()> {
        // A claim the chain has reached with another hash is a fork, whoever made it and whether
        // or not its writer is still active (a fork can make it inactive): checked first.
        self.pending.retain(|p| !policy.has_head(&p.head));
        if self.pending.iter().any(|p| p.head.len <= policy.chain_len()) {
            return Err(Error::ChainFork);
        }
        // Claims longer than the chain, by writers no longer active, are dropped (a revoked
        // writer cannot hold the reader hostage with a huge head).
        self.pending.retain(|p| policy.writer_key(&p.writer).is_some());
        if self.pending.is_empty() { Ok(()) } else { Err(Error::BatchChainHead) }
    }

    /// [BAT-12] the writers this reader has read from that are still active in its chain and
    /// whose newest accepted batch ended more than `max_silence_ms` before `now_ms`. A partner
    /// shows each as an alert: the device stopped recording, or the server withholds its
    /// batches (which is how a server keeps a partner on a stale chain, [BAT-10]).
    pub fn silent_writers(&self, policy: &dyn BatchPolicy, now_ms: u64, max_silence_ms: u64) -> Vec<DeviceId> {
        self.last_end_ms
            .iter()
            .filter(|(w, end)| policy.writer_key(w).is_some() && now_ms > end.saturating_add(max_silence_ms))
            .map(|(w, _)| *w)
            .collect()
    }

    /// Opens the writer's next batch: [BAT-10], [BAT-8], [BAT-11] and [BAT-12].
    ///
    /// ```text
    /// next(state, batch, ...):
    ///   recheck(state, my chain)                                     -- E_CHAIN_FORK / E_BATCH_CHAIN_HEAD
    ///   steps 1-5 of [BAT-8]
    ///   meta.chain_head is a head of my chain                        else add (writer, head, batch_id)
    ///                                                                   to state.pending; E_BATCH_CHAIN_HEAD
    ///   steps 7-14 of [BAT-8]
    ///   check_first(state, meta)                                     else E_BATCH_GAP
    ///   check_link(state.last[writer], meta)                         else E_BATCH_GAP
    ///   accept; [BAT-12] bookkeeping
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn open_next(
        &mut self,
        account: &AccountId,
        batch: &BatchId,
        sealed: &SealedBatch,
        record: &ServerRecord,
        policy: &dyn BatchPolicy,
        me: &HpkeSecretKey,
        now_ms: u64,
    ) -> Result<OpenedBatch> {
        self.open_next_with(account, batch, sealed, record, policy, me, now_ms, &Defences::ALL)
    }

    danger_api! {
    /// [`ReaderState::open_next`] under the model's defence switches (feature `danger`). [MODEL-5]
    #[allow(clippy::too_many_arguments)]
    pub fn open_next_with(
        &mut self,
        account: &AccountId,
        batch: &BatchId,
        sealed: &SealedBatch,
        record: &ServerRecord,
        policy: &dyn BatchPolicy,
        me: &HpkeSecretKey,
        now_ms: u64,
        defences: &Defences,
    ) -> Result<OpenedBatch> {
        self.open_next_with_impl(account, batch, sealed, record, policy, me, now_ms, defences)
    }
    }

    /// The body of `open_next_with`, outside `danger_api!` so that cargo-mutants mutates it.
    #[allow(clippy::too_many_arguments)]
    fn open_next_with_impl(
        &mut self,
        account: &AccountId,
        batch: &BatchId,
        sealed: &SealedBatch,
        record: &ServerRecord,
        policy: &dyn BatchPolicy,
        me: &HpkeSecretKey,
        now_ms: u64,
        defences: &Defences,
    ) -> Result<OpenedBatch> {
        // [BAT-11] the writers active when this reader began: fixed at its first attempt,
        // accepted or not (a server that withholds every batch cannot move it later).
        self.initial_writers.get_or_insert_with(|| policy.writers());
        if defences.data.chain_head {
            self.recheck(policy)?;
        }
        let meta = BatchMeta::decode(&sealed.meta)?;
        meta.verify(account, batch, policy, now_ms)?;
        if defences.data.chain_head && !policy.has_head(&meta.link.chain_head) {
            // [BAT-10] signed by an active writer: it claims a chain this long exists.
            let claim = PendingHead { writer: meta.writer, head: meta.link.chain_head, batch: *batch };
            if !self.pending.contains(&claim) {
                self.pending.push(claim);
            }
            return Err(Error::BatchChainHead);
        }
        let writer = meta.writer;
        let link = meta.link;
        let end_ms = meta.window.end_ms;
        let stale_recipients: Vec<[u8; 32]> = meta.recipients.iter().filter(|k| !policy.allows(k)).copied().collect();
        let opened = open_body(account, batch, sealed, record, policy, me, meta, defences)?;
        let initial = self.initial_writers.get_or_insert_with(|| policy.writers());
        if defences.data.batch_links {
            // [BAT-11] a writer added to the chain after this reader began starts at seq 0.
            let first = self.last.get(&writer).copied();
            if first.is_none() && !initial.contains(&writer) && link.seq != 0 {
                return Err(Error::BatchGap);
            }
            check_link(first, &opened.meta)?;
        }
        self.last.insert(writer, (link.seq, *batch));
        let newest = self.newest_head_len;
        if link.chain_head.len < newest {
            self.stale_heads.push(StaleBatchHead {
                writer,
                batch: *batch,
                head_len: link.chain_head.len,
                newest_len: newest,
            });
        }
        self.newest_head_len = newest.max(link.chain_head.len);
        // [BAT-12] recipients the writer's (older) head allowed and the reader's chain no longer
        // does: a revoked device or an unpinned partner received this batch's key.
        for key in stale_recipients {
            self.stale_recipients.push(StaleRecipient { writer, batch: *batch, key });
        }
        let e = self.last_end_ms.entry(writer).or_insert(end_ms);
        *e = (*e).max(end_ms);
        Ok(opened)
    }
}
