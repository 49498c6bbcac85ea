//! The verification hash chain (spec 10.3, `spec/10-batches.md`).
//!
//! The device reports each event's keyed hash to the server as the event
//! happens, with its signature over the running value; the server folds it
//! in and keeps the latest signature; a partner who downloads and decrypts
//! the batch recomputes the chain from the events and compares. A device
//! that drops, alters, reorders or inserts events between recording and
//! upload is caught, each with its own error; the server alone can cause none
//! of the accusations, because it cannot sign a report. [HCH-1]
//!
//! ```text
//! event_key = HKDF-Expand(HKDF-Extract(0^32, data_key), enc(HCH_EVENT_KEY, account_id(32), batch_id(16)), 32)
//! e_i = BLAKE3-keyed(event_key, enc(HCH_EVENT, u64 t_ms, u8 kind, bytes data))
//! ref = SHA-256(enc(BATCH_REF, account_id(32), batch_id(16)))      -- the batch's server key
//! v_0 = 0^32
//! v_i = SHA-256(enc(HCH_LINK, ref(32), v_{i-1}(32), e_i(32)))
//! report_i = (e_i, Ed25519-Sign(device, SHA-256(enc(SIG_HCH_REPORT, ref(32), u64 i, v_i(32)))))
//! ```

use super::{BatchId, Event};
use crate::defences::Defences;
use crate::device::DeviceKeys;
use crate::encoding::Encoder;
use crate::error::{Error, Result};
use crate::keys::AccountId;
use crate::labels;
use crate::primitives::{blake3_hash, blake3_keyed, hkdf_expand32, hkdf_extract, sha256};
use crate::secret_type;
use crate::stream::StreamKeySource;

secret_type!(
    /// A batch's event key: keys every event hash of the batch. Partners
    /// derive it from the data key in their slot; the server never has it. [HCH-2]
    EventKey,
    32
);

/// `enc(HCH_EVENT_KEY, account_id(32), batch_id(16))`. [HCH-2]
pub fn event_key_info(account: &AccountId, batch: &BatchId) -> Vec<u8> {
    Encoder::new(labels::HCH_EVENT_KEY).fixed(&account.0).fixed(&batch.0).finish()
}

/// `HKDF-Expand(HKDF-Extract(0^32, data_key), enc(HCH_EVENT_KEY, account, batch), 32)`. [HCH-2]
pub fn event_key(data_key: &StreamKeySource, account: &AccountId, batch: &BatchId) -> EventKey {
    let prk = hkdf_extract(&[0u8; 32], data_key.expose());
    EventKey::from_bytes(*hkdf_expand32(&prk, &event_key_info(account, batch)).expose())
}

/// `enc(HCH_EVENT, u64 t_ms, u8 kind, u32 len(data))`: what is hashed before the data. [HCH-2]
/// Of event 0, the vectors' `first_event_prefix`. [BAT-13]
pub fn event_prefix(event: &Event) -> Vec<u8> {
    let len = u32::try_from(event.data.len()).unwrap_or(u32::MAX);
    Encoder::new(labels::HCH_EVENT).u64(event.t_ms).u8(event.kind as u8).u32(len).finish()
}

/// `e = BLAKE3-keyed(event_key, enc(HCH_EVENT, u64 t_ms, u8 kind, bytes data))`. [HCH-2]
pub fn event_hash(key: &EventKey, event: &Event) -> [u8; 32] {
    blake3_keyed(key.expose(), &[&event_prefix(event), &event.data])
}

danger_api! {
/// [`event_hash`] under the model's switches: with `data.keyed_events` off the
/// hash is unkeyed BLAKE3 of the same bytes, which anyone can recompute from a
/// guessed event (the leak of finding H3). [HCH-2] [MODEL-5]
pub fn event_hash_with(key: &EventKey, event: &Event, defences: &Defences) -> [u8; 32] {
    if defences.data.keyed_events { event_hash(key, event) } else { blake3_hash(&[&event_prefix(event), &event.data]) }
}
}

/// `ref = SHA-256(enc(BATCH_REF, account_id(32), batch_id(16)))`: the 32-byte key the
/// server stores a batch under, bound into every link. [BAT-1] [HCH-3]
pub fn reference(account: &AccountId, batch: &BatchId) -> [u8; 32] {
    sha256(&[&Encoder::new(labels::BATCH_REF).fixed(&account.0).fixed(&batch.0).finish()])
}

/// `v_0`: 32 zero bytes (the batch is bound by `ref` in every link). [HCH-3]
pub const START: [u8; 32] = [0; 32];

/// `v_i = SHA-256(enc(HCH_LINK, ref(32), v_{i-1}(32), e_i(32)))`. [HCH-3]
pub fn link(reference: &[u8; 32], prev: &[u8; 32], event_hash: &[u8; 32]) -> [u8; 32] {
    sha256(&[&Encoder::new(labels::HCH_LINK).fixed(reference).fixed(prev).fixed(event_hash).finish()])
}

/// The fold of [HCH-3] over a list of event hashes.
pub fn fold(reference: &[u8; 32], hashes: &[[u8; 32]]) -> [u8; 32] {
    hashes.iter().fold(START, |v, e| link(reference, &v, e))
}

/// `SHA-256(enc(SIG_HCH_REPORT, ref(32), u64 count, value(32)))`: what the recording
/// device signs with each report, the chain value after `count` events. [HCH-6]
pub fn report_digest(reference: &[u8; 32], count: u64, value: &[u8; 32]) -> [u8; 32] {
    sha256(&[&Encoder::new(labels::SIG_HCH_REPORT).fixed(reference).u64(count).fixed(value).finish()])
}

/// One report as the device sends it (ReportEvent, chapter 11). [HCH-4] [HCH-6]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Report {
    /// The batch reference.
    pub reference: [u8; 32],
    /// The event's keyed hash.
    pub event_hash: [u8; 32],
    /// The device's signature over the chain value after this event.
    pub signature: [u8; 64],
}

/// The recording device's side: keeps the running value and signs each report. [HCH-4] [HCH-6]
pub struct Recorder {
    reference: [u8; 32],
    key: EventKey,
    value: [u8; 32],
    count: u64,
}

impl Recorder {
    /// Starts recording batch `batch` whose data key (drawn when the batch is opened) is `data_key`.
    pub fn new(data_key: &StreamKeySource, account: &AccountId, batch: &BatchId) -> Self {
        Recorder {
            reference: reference(account, batch),
            key: event_key(data_key, account, batch),
            value: START,
            count: 0,
        }
    }

    /// Hashes, folds and signs one event as it happens. [HCH-4] [HCH-6]
    pub fn record(&mut self, event: &Event, device: &DeviceKeys) -> Report {
        let event_hash = event_hash(&self.key, event);
        self.value = link(&self.reference, &self.value, &event_hash);
        self.count = self.count.saturating_add(1);
        let signature = device.sign(&report_digest(&self.reference, self.count, &self.value));
        Report { reference: self.reference, event_hash, signature }
    }

    /// The running value `v_n` and the count `n`.
    pub fn value(&self) -> ([u8; 32], u64) {
        (self.value, self.count)
    }
}

/// What the server keeps for one batch: every reported hash, in the order
/// it received them, the running value and the latest report's signature. [HCH-4]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerRecord {
    /// The batch reference the server keys the batch by.
    pub reference: [u8; 32],
    /// The reported event hashes, in arrival order.
    pub reported: Vec<[u8; 32]>,
    /// The running value `v_n` over `reported`.
    pub value: [u8; 32],
    /// The signature of the latest report (all zero while there is none). [HCH-6]
    pub signature: [u8; 64],
}

impl ServerRecord {
    /// The empty record of a new batch: `v_0`. [HCH-4]
    pub fn new(account: &AccountId, batch: &BatchId) -> Self {
        ServerRecord { reference: reference(account, batch), reported: Vec::new(), value: START, signature: [0; 64] }
    }

    /// Folds one report in, as the server does on each ReportEvent. [HCH-4]
    pub fn report(&mut self, event_hash: [u8; 32], signature: [u8; 64]) {
        self.value = link(&self.reference, &self.value, &event_hash);
        self.reported.push(event_hash);
        self.signature = signature;
    }
}

fn is_subsequence(short: &[[u8; 32]], long: &[[u8; 32]]) -> bool {
    let mut it = long.iter();
    short.iter().all(|s| it.any(|l| l == s))
}

/// A partner's check of a decrypted batch against the server's record. [HCH-5] [HCH-6]
///
/// ```text
/// verify(account, batch_id, event_key, writer, events, record):
///   fold(ref(account, batch_id), record.reported) == record.value   else E_HCH_RECORD
///   reported non-empty: strict Ed25519 verify of
///     SHA-256(enc(SIG_HCH_REPORT, ref, u64 len(reported), value)) under writer   else E_HCH_SIGNATURE
///   c = [event_hash(event_key, e) for e in events]
///   c == record.reported                                  -> ok
///   len(c) < len(r) and c is a subsequence of r           -> E_HCH_DROPPED
///   len(c) > len(r) and r is a subsequence of c           -> E_HCH_INSERTED
///   len(c) == len(r) and c is a permutation of r          -> E_HCH_REORDERED
///   otherwise                                             -> E_HCH_ALTERED
/// ```
pub fn verify(
    account: &AccountId,
    batch: &BatchId,
    key: &EventKey,
    writer: &[u8; 32],
    events: &[Event],
    record: &ServerRecord,
) -> Result<()> {
    verify_with(account, batch, key, writer, events, record, &Defences::ALL)
}

danger_api! {
/// [`verify`] under the model's switches: with `data.report_signature` off the
/// record's signature is not checked, so a server that appends reports of its
/// own makes an honest device look as if it dropped events (finding M1). [MODEL-5]
pub fn verify_with(
    account: &AccountId,
    batch: &BatchId,
    key: &EventKey,
    writer: &[u8; 32],
    events: &[Event],
    record: &ServerRecord,
    defences: &Defences,
) -> Result<()> {
    verify_with_impl(account, batch, key, writer, events, record, defences)
}
}

/// The body of `verify_with`, outside `danger_api!` so that cargo-mutants mutates it.
fn verify_with_impl(
    account: &AccountId,
    batch: &BatchId,
    key: &EventKey,
    writer: &[u8; 32],
    events: &[Event],
    record: &ServerRecord,
    defences: &Defences,
) -> Result<()> {
    let reference = reference(account, batch);
    if fold(&reference, &record.reported) != record.value {
        return Err(Error::HchRecord);
    }
    if defences.data.report_signature && !record.reported.is_empty() {
        // [HCH-6] RFC 8032 strict, as chapters 7 and 9; the key is the batch writer's from the reader's chain.
        let digest = report_digest(&reference, record.reported.len() as u64, &record.value);
        if !crate::primitives::verify_strict(writer, &digest, &record.signature) {
            return Err(Error::HchSignature);
        }
    }
    let c: Vec<[u8; 32]> = events.iter().map(|e| event_hash_with(key, e, defences)).collect();
    let r = &record.reported;
    if c == *r {
        return Ok(());
    }
    if c.len() < r.len() && is_subsequence(&c, r) {
        return Err(Error::HchDropped);
    }
    if c.len() > r.len() && is_subsequence(r, &c) {
        return Err(Error::HchInserted);
    }
    if c.len() == r.len() {
        let (mut a, mut b) = (c.clone(), r.clone());
        a.sort_unstable();
        b.sort_unstable();
        if a == b {
            return Err(Error::HchReordered);
        }
    }
    Err(Error::HchAltered)
}
