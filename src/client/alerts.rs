//! What a device alerts on, and the pure sequence rules it checks them with
//! (spec 11.9): per-writer sequence numbers, revision steps, the writer
//! chain, listing order and stale heads. Every function here is pure: the
//! vectors and the model checker call them directly.

use std::collections::BTreeMap;

use crate::device::DeviceId;
use crate::error::{Error, Result};

/// A problem a device detected in what the server served. [SYNC-8]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Alert {
    /// A write of `writer` with sequence number `missing_seq` was not served
    /// although a later one was (or only its unsuperseded stub was). [SYNC-9]
    Withheld {
        /// The writer.
        writer: DeviceId,
        /// The first missing sequence number.
        missing_seq: u64,
    },
    /// An envelope older than the accepted state of its record was served
    /// again as current. [SYNC-10]
    Rollback {
        /// Its writer.
        writer: DeviceId,
        /// Its writer sequence number.
        seq: u64,
    },
    /// Two chains: the served chain differs from the verified one, or an
    /// envelope names a chain head the verified chain does not contain. [SYNC-11]
    Fork,
    /// The served chain was refused for another reason (shorter: rollback; a wrap
    /// to this device whose UMK fails its key check: `E_KEY_CHECK`). [SYNC-11] [CHAIN-16]
    Chain(Error),
    /// Two different verified envelopes carry the same `(writer, writer_seq)`:
    /// the writer signed twice with one sequence number, which an honest
    /// device never does ([SYNC-6]), so the server may be showing different
    /// histories to different devices. Neither is applied. [SYNC-14]
    Equivocation {
        /// The writer.
        writer: DeviceId,
        /// The sequence number used twice.
        seq: u64,
    },
    /// A write stored after a revocation this device knows cites a chain
    /// head older than the revocation: sealed in an epoch the revoked device
    /// can read (a view the server froze, or a writer that had not synced).
    /// Unlike the other alerts, the (authentic) data is applied. [SYNC-17]
    StaleHead {
        /// The writer.
        writer: DeviceId,
        /// Its writer sequence number.
        seq: u64,
    },
    /// An item failed verification (signature, writer, epoch, commitment,
    /// decryption, structure, revision step): forged, tampered or swapped. [SYNC-12]
    Forged {
        /// The server sequence number it was listed under.
        item_seq: u64,
        /// Why.
        error: Error,
    },
}

impl Alert {
    /// The error code of the alert.
    pub fn error(&self) -> Error {
        match self {
            Alert::Withheld { .. } => Error::SyncWithheld,
            Alert::Rollback { .. } => Error::SyncRollback,
            Alert::Fork => Error::ChainFork,
            Alert::Equivocation { .. } => Error::SyncEquivocation,
            Alert::StaleHead { .. } => Error::SyncStaleHead,
            Alert::Chain(e) | Alert::Forged { error: e, .. } => *e,
        }
    }
}

/// What one sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SyncReport {
    /// Envelopes whose payload became the record's value.
    pub applied: usize,
    /// Problems found; the data they concern was not applied (except for
    /// [`Alert::StaleHead`], which warns about authentic data).
    pub alerts: Vec<Alert>,
}

/// What to do with one verified item of a writer. [SYNC-9] [SYNC-10]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Already passed: a harmless replay.
    Ignore,
    /// The next write of the writer: accept (and merge, if it has a payload).
    Accept,
}

/// The per-writer sequence rule of 11.9 for one item, given the writer's
/// last accepted sequence number `last`. `stub`: the item is a stub;
/// `superseded`: a verified newer revision of its record exists; `older`:
/// it is a full envelope below the record's accepted `(revision, writer)`. [SYNC-9] [SYNC-10]
///
/// ```text
/// seq <= last:                  older -> E_SYNC_ROLLBACK, else Ignore
/// seq != last + 1:              E_SYNC_WITHHELD
/// stub and not superseded:      E_SYNC_WITHHELD
/// otherwise:                    Accept
/// ```
pub fn classify(last: u64, seq: u64, stub: bool, superseded: bool, older: bool) -> Result<Step> {
    if seq <= last {
        return if older { Err(Error::SyncRollback) } else { Ok(Step::Ignore) };
    }
    if seq != last.saturating_add(1) || (stub && !superseded) {
        return Err(Error::SyncWithheld);
    }
    Ok(Step::Accept)
}

/// One verified item of a writer, as [`writer_sequence`] sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeqItem {
    /// Its writer sequence number.
    pub seq: u64,
    /// It is a stub.
    pub stub: bool,
    /// A verified greater `(revision, writer)` of its record exists.
    pub superseded: bool,
    /// A full envelope below the record's accepted `(revision, writer)`.
    pub older: bool,
    /// Its identity, `SHA-256(header ‖ body_digest)`.
    pub digest: [u8; 32],
}

/// Runs [`classify`] over a writer's items ascending by sequence number;
/// returns the new last sequence number or the first alert's code (the
/// vectors' procedure). Two items with one sequence number and different
/// identities are `E_SYNC_EQUIVOCATION`. [SYNC-9] [SYNC-10] [SYNC-14] The state as data: [SYNC-21].
pub fn writer_sequence(mut last: u64, items: &[SeqItem]) -> Result<u64> {
    let mut by_seq: BTreeMap<u64, SeqItem> = BTreeMap::new();
    for i in items {
        match by_seq.entry(i.seq) {
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(*i);
            }
            std::collections::btree_map::Entry::Occupied(mut e) => {
                if e.get().digest != i.digest {
                    return Err(Error::SyncEquivocation);
                }
                // [SYNC-21] one identity counts once: an envelope and its stub, as the envelope
                if e.get().stub && !i.stub {
                    e.insert(*i);
                }
            }
        }
    }
    for i in by_seq.values() {
        if classify(last, i.seq, i.stub, i.superseded, i.older)? == Step::Accept {
            last = i.seq;
        }
    }
    Ok(last)
}

/// The greatest step by which a write's revision may exceed the greatest
/// revision the reader knows for its record: 2^16. An honest writer steps by
/// exactly 1 over a revision listed before its write; 2^16 leaves room for
/// any bookkeeping a port may add, while reaching u64::MAX from 1 would
/// need 2^48 writes. [SYNC-16]
pub const MAX_REVISION_STEP: u64 = 1 << 16;

/// Whether `revision` is within [`MAX_REVISION_STEP`] of `base`, the greatest
/// revision known for the record (0: none). [SYNC-16]
pub fn revision_within_step(base: u64, revision: u64) -> bool {
    revision <= base.saturating_add(MAX_REVISION_STEP)
}

/// The revision-step rule over one record's verified items in listing
/// order, starting from the greatest revision accepted before (0: none):
/// returns the greatest revision, or `E_SYNC_REVISION_STEP` at the first
/// item that steps too far (the vectors' procedure). [SYNC-16]
pub fn revision_steps(accepted: u64, revisions: &[u64]) -> Result<u64> {
    let mut base = accepted;
    for r in revisions {
        if !revision_within_step(base, *r) {
            return Err(Error::SyncRevisionStep);
        }
        base = base.max(*r);
    }
    Ok(base)
}

/// One verified item of a writer, as [`writer_chain_break`] sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainLink {
    /// Its identity, `SHA-256(header ‖ body_digest)`.
    pub identity: [u8; 32],
    /// Its header's `prev`.
    pub prev: [u8; 32],
}

/// The per-writer identity checks of [SYNC-14] and [SYNC-15] over one
/// writer's verified items of a listing (by sequence number), given the
/// identities the device already holds for the writer (`known`: taken in
/// earlier syncs, or pinned by a revoke statement's `last_envelope`) and the
/// writer's last accepted sequence number. Returns the sequence number from
/// which the writer's items are an equivocation, if any:
///
/// ```text
/// for each listed (s, item), ascending:
///   known[s] exists and != item.identity                 -> s
///   s == 1 and item.prev != 0^32                          -> 1
///   p = identity at s-1: listed[s-1], else known[s-1]     (none: no check)
///   p exists and item.prev != p -> s-1 if s-1 is listed and above last, else s
/// ```
///
/// `check_prev` false skips the `prev` rules (model checking only, [MODEL-5]).
pub fn writer_chain_break(
    last: u64,
    known: impl Fn(u64) -> Option<[u8; 32]>,
    listed: &BTreeMap<u64, ChainLink>,
    check_prev: bool,
) -> Option<u64> {
    let mut first: Option<u64> = None;
    let mut mark = |s: u64| first = Some(first.map_or(s, |f| f.min(s)));
    for (s, item) in listed {
        if known(*s).is_some_and(|k| k != item.identity) {
            mark(*s);
        }
        if !check_prev {
            continue;
        }
        if *s == 1 {
            if item.prev != [0; 32] {
                mark(1);
            }
            continue;
        }
        let before = s.saturating_sub(1);
        let listed_before = listed.get(&before).map(|l| l.identity);
        if let Some(p) = listed_before.or_else(|| known(before))
            && p != item.prev
        {
            mark(if listed_before.is_some() && before > last { before } else { *s });
        }
    }
    first
}

/// [SYNC-15] a revoked writer's items are taken only all the way to its bound:
/// with `last` accepted and `max_seq` pinned, every sequence number in
/// `last+1 ..= max_seq` must be listed (its `prev` links, checked by
/// [`writer_chain_break`], then tie every one of them to the pinned
/// `last_envelope`). Returns the first missing number, if any.
pub fn revoked_incomplete(last: u64, max_seq: u64, listed: impl Fn(u64) -> bool) -> Option<u64> {
    (last.saturating_add(1)..=max_seq).find(|s| !listed(*s))
}

/// [SYNC-7] a listing page is taken only if its server sequence numbers are
/// strictly ascending and all above `cursor` (the one the page was asked
/// for); anything else is [`Error::SyncOrder`].
pub fn listing_in_order(cursor: u64, seqs: &[u64]) -> Result<()> {
    let mut prev = cursor;
    for s in seqs {
        if *s <= prev {
            return Err(Error::SyncOrder);
        }
        prev = *s;
    }
    Ok(())
}

/// Whether an item listed under server sequence number `item_seq`, citing
/// the chain head at `head_position`, is stale: some revocation at position
/// `at` was taken by this device in a sync whose listing ended at `boundary`,
/// and the item was listed after that (`item_seq > boundary`) yet cites a
/// head before the revocation (`head_position < at`). [SYNC-17]
pub fn stale_head(revocations: &BTreeMap<u64, u64>, item_seq: u64, head_position: u64) -> bool {
    revocations.iter().any(|(at, boundary)| item_seq > *boundary && head_position < *at)
}
