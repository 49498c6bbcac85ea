//! The verification hash chain (spec 10.3, `spec/10-batches.md`).
//!
//! The device reports each event's hash to the server as the event happens;
//! the server folds it into a running value; a partner who downloads and
//! decrypts the batch recomputes the chain from the events and compares. A
//! device that drops, alters, reorders or inserts events between recording
//! and upload is caught, each with its own error. [HCH-1]
//!
//! ```text
//! e_i = SHA-256(enc(HCH_EVENT, u64 t_ms, u8 kind, bytes data))
//! ref = SHA-256(enc(BATCH_REF, account_id(32), batch_id(16)))      -- the batch's server key
//! v_0 = 0^32
//! v_i = SHA-256(enc(HCH_LINK, ref(32), v_{i-1}(32), e_i(32)))
//! ```

use super::{BatchId, Event};
use crate::encoding::Encoder;
use crate::error::{Error, Result};
use crate::keys::AccountId;
use crate::labels;
use crate::primitives::sha256;

/// `e = SHA-256(enc(HCH_EVENT, u64 t_ms, u8 kind, bytes data))`. [HCH-2]
pub fn event_hash(event: &Event) -> [u8; 32] {
    let len = u32::try_from(event.data.len()).unwrap_or(u32::MAX);
    let prefix = Encoder::new(labels::HCH_EVENT).u64(event.t_ms).u8(event.kind as u8).u32(len).finish();
    sha256(&[&prefix, &event.data])
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

/// What the server keeps for one batch: every reported hash, in the order
/// it received them, and the running value. [HCH-4]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerRecord {
    /// The batch reference the server keys the batch by.
    pub reference: [u8; 32],
    /// The reported event hashes, in arrival order.
    pub reported: Vec<[u8; 32]>,
    /// The running value `v_n` over `reported`.
    pub value: [u8; 32],
}

impl ServerRecord {
    /// The empty record of a new batch: `v_0`. [HCH-4]
    pub fn new(account: &AccountId, batch: &BatchId) -> Self {
        ServerRecord { reference: reference(account, batch), reported: Vec::new(), value: START }
    }

    /// Folds one reported event hash in, as the server does on each report. [HCH-4]
    pub fn report(&mut self, event_hash: [u8; 32]) {
        self.value = link(&self.reference, &self.value, &event_hash);
        self.reported.push(event_hash);
    }
}

fn is_subsequence(short: &[[u8; 32]], long: &[[u8; 32]]) -> bool {
    let mut it = long.iter();
    short.iter().all(|s| it.any(|l| l == s))
}

/// A partner's check of a decrypted batch against the server's record. [HCH-5]
///
/// ```text
/// verify(account, batch_id, events, record):
///   fold(ref(account, batch_id), record.reported) == record.value   else E_HCH_RECORD
///   c = [event_hash(e) for e in events]
///   c == record.reported                                  -> ok
///   len(c) < len(r) and c is a subsequence of r           -> E_HCH_DROPPED
///   len(c) > len(r) and r is a subsequence of c           -> E_HCH_INSERTED
///   len(c) == len(r) and c is a permutation of r          -> E_HCH_REORDERED
///   otherwise                                             -> E_HCH_ALTERED
/// ```
pub fn verify(account: &AccountId, batch: &BatchId, events: &[Event], record: &ServerRecord) -> Result<()> {
    if fold(&reference(account, batch), &record.reported) != record.value {
        return Err(Error::HchRecord);
    }
    let c: Vec<[u8; 32]> = events.iter().map(event_hash).collect();
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
