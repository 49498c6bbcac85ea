//! The device's persistent state (spec 11.8, [SYNC-8], [PERSIST-1]).
//!
//! [`State`] is everything a device must keep across restarts; the
//! [`Client`](super::Client) around it adds only what a restart may lose (the
//! session token, the operation in progress). It is a deterministic value:
//! no clock, no RNG, no `HashMap`.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};

use crate::chain::ChainState;
use crate::client::alerts::Alert;
use crate::device::{DeviceId, DeviceKeys};
use crate::envelope::{RecordId, Stub};
use crate::keys::{Bucket, Epoch, Umk};
use crate::primitives::sha256;

/// An accepted record value. Its `Debug` shows the revision, writer and length, never the
/// decrypted value. [PRIM-8]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Record {
    /// Its revision.
    pub revision: u64,
    /// Who wrote it.
    pub writer: DeviceId,
    /// The payload.
    pub value: Vec<u8>,
}

impl core::fmt::Debug for Record {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Record")
            .field("revision", &self.revision)
            .field("writer", &self.writer)
            .field("value_len", &self.value.len())
            .finish_non_exhaustive()
    }
}

/// The device's secrets. Equality compares them in constant time; the hash
/// covers only public parts (device id, epochs held), which is consistent.
#[derive(Clone)]
pub(crate) struct Keys {
    pub(crate) device: DeviceKeys,
    pub(crate) umks: BTreeMap<Epoch, Umk>,
}

impl PartialEq for Keys {
    fn eq(&self, other: &Self) -> bool {
        self.device.id() == other.device.id()
            && crate::primitives::ct_eq(self.device.signing_seed().expose(), other.device.signing_seed().expose())
            && self.umks == other.umks
    }
}

impl Eq for Keys {}

impl Hash for Keys {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.device.id().hash(state);
        for e in self.umks.keys() {
            e.hash(state);
        }
    }
}

/// A write that is sealed and signed but not yet confirmed stored. Its bytes
/// are resubmitted unchanged until the server stores them: a sequence number
/// is never signed twice. [SYNC-6]
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct Outbox {
    pub(crate) collection: String,
    pub(crate) record_id: RecordId,
    pub(crate) bucket: Bucket,
    pub(crate) revision: u64,
    pub(crate) seq: u64,
    pub(crate) value: Vec<u8>,
    pub(crate) envelope: Vec<u8>,
}

/// An item's identity: `SHA-256(header ‖ body_digest)`, equal for an
/// envelope and its stub. [SYNC-14]
pub(crate) fn identity(stub: &Stub) -> [u8; 32] {
    sha256(&[&stub.header.encode(), &stub.body_digest])
}

/// Everything a device keeps across restarts: its keys and UMKs, the
/// verified chain, the accepted records, the highest `(revision, writer)`
/// per record, the last sequence number per writer, the identity of every
/// item taken, the revocation boundaries, the cursor, the outbox, the
/// collections it reads, the items refused above a revoked writer's
/// bound and the revoked writers short of their bound already alerted. [SYNC-8] [PERSIST-1]
///
/// Equality compares the secrets in constant time; `Debug` shows sizes only. [PRIM-8]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct State {
    pub(crate) keys: Keys,
    pub(crate) chain: ChainState,
    pub(crate) collections: BTreeSet<String>,
    pub(crate) records: BTreeMap<(String, RecordId), Record>,
    pub(crate) accepted: BTreeMap<(Bucket, RecordId), (u64, DeviceId)>,
    pub(crate) writer_seq: BTreeMap<DeviceId, u64>,
    pub(crate) cursor: u64,
    pub(crate) outbox: Option<Outbox>,
    /// `(writer, writer_seq)` → identity of every item taken, kept across
    /// syncs: a second identity for a pair is equivocation. [SYNC-14]
    pub(crate) identities: BTreeMap<(DeviceId, u64), [u8; 32]>,
    /// Revocation position → the last server sequence number listed in the
    /// sync in which this device first held it. [SYNC-17]
    pub(crate) revocations: BTreeMap<u64, u64>,
    /// Items refused because their writer was revoked below their sequence number, by item
    /// bytes' digest: refused once with an alert, then skipped, so that a write a revoked
    /// device made above its bound cannot hold the cursor for ever. [SYNC-15] [CHAIN-20]
    pub(crate) refused_above_bound: BTreeSet<[u8; 32]>,
    /// Revoked writer → its accepted sequence number when this device last alerted that the
    /// writer's items up to its bound are incomplete: the alert fires once per accepted
    /// sequence number, so an unreachable bound cannot hold the cursor for ever. [SYNC-15]
    pub(crate) bound_alerted: BTreeMap<DeviceId, u64>,
    /// Alerts of committed syncs that the application has not acknowledged yet, oldest
    /// first, at most [`MAX_UNREAD_ALERTS`] (the newest kept). Kept by durable clients only:
    /// an alert that fires once must survive a crash after its sync's commit. [PERSIST-6]
    pub(crate) unread_alerts: Vec<Alert>,
}

/// Most unacknowledged alerts a device keeps. [PERSIST-6]
pub const MAX_UNREAD_ALERTS: usize = 1024;

impl core::fmt::Debug for State {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("State")
            .field("device", &self.keys.device.id())
            .field("epochs", &self.keys.umks.keys().collect::<Vec<_>>())
            .field("chain_len", &self.chain.head().len)
            .field("records", &self.records.len()) // [PRIM-8] decrypted values never print
            .field("writer_seq", &self.writer_seq)
            .field("cursor", &self.cursor)
            .field("outbox_seq", &self.outbox.as_ref().map(|o| o.seq))
            .finish_non_exhaustive()
    }
}

/// The collection every device reads: device metadata. [SRV-11]
pub(crate) const DEVICES_COLLECTION: &str = "blindsync/devices";

impl State {
    /// A fresh state: keys, verified chain and UMKs, nothing accepted yet.
    pub(crate) fn new(device: DeviceKeys, chain: ChainState, umks: BTreeMap<Epoch, Umk>) -> Self {
        State {
            keys: Keys { device, umks },
            chain,
            collections: BTreeSet::from([DEVICES_COLLECTION.to_owned()]),
            records: BTreeMap::new(),
            accepted: BTreeMap::new(),
            writer_seq: BTreeMap::new(),
            cursor: 0,
            outbox: None,
            identities: BTreeMap::new(),
            revocations: BTreeMap::new(),
            refused_above_bound: BTreeSet::new(),
            bound_alerted: BTreeMap::new(),
            unread_alerts: Vec::new(),
        }
    }

    /// The device's id.
    pub fn device_id(&self) -> DeviceId {
        self.keys.device.id()
    }

    /// The verified chain.
    pub fn chain(&self) -> &ChainState {
        &self.chain
    }

    /// The cursor. [SYNC-7]
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// The last sequence number accepted per writer. [SYNC-8]
    pub fn writer_seqs(&self) -> &BTreeMap<DeviceId, u64> {
        &self.writer_seq
    }

    /// The highest `(revision, writer)` accepted per record. [SYNC-8]
    pub fn accepted(&self) -> &BTreeMap<(Bucket, RecordId), (u64, DeviceId)> {
        &self.accepted
    }

    /// The identity of every item taken, per `(writer, writer_seq)`. [SYNC-14]
    pub fn identities(&self) -> &BTreeMap<(DeviceId, u64), [u8; 32]> {
        &self.identities
    }

    /// The revocation boundaries. [SYNC-17]
    pub fn revocations(&self) -> &BTreeMap<u64, u64> {
        &self.revocations
    }

    /// The accepted records.
    pub fn records(&self) -> &BTreeMap<(String, RecordId), Record> {
        &self.records
    }

    /// The sequence number of the signed write waiting in the outbox. [SYNC-6]
    pub fn pending_write(&self) -> Option<u64> {
        self.outbox.as_ref().map(|o| o.seq)
    }
}
