//! The device's sync engine (spec 11.8 and 11.9).
//!
//! [`Client`] is the whole local state of one device: its keys, the verified
//! account chain, the accepted records, the highest `(revision, writer)`
//! accepted per record, the last writer sequence number accepted per writer,
//! and the list cursor. It is `Clone + Eq + Hash` and deterministic: no
//! clock, no RNG and no `HashMap` inside; randomness is a parameter of
//! [`Client::write`]. The model checker (issue 7) drives it directly.
//!
//! The API is a simple request/response step API: each operation takes a
//! [`Transport`] (any `FnMut(Request) -> Response`, for example a closure
//! over [`crate::server::Server::handle`], or an adversary) and issues
//! requests through it. [`Client::apply_items`] and [`Client::apply_chain`]
//! are the pure verification cores, usable without any transport.
//!
//! ```
//! use blindsync::chain::create_account;
//! use blindsync::client::Client;
//! use blindsync::device::DeviceKeys;
//! use blindsync::envelope::RecordId;
//! use blindsync::primitives::SeededRng;
//! use blindsync::server::{MemoryStorage, Server, ServerConfig, wire::Request};
//! use blindsync::unlock::{password::{KdfParams, PasswordKdf}, recovery::RecoveryCode};
//! let mut rng = SeededRng::from_label("doc");
//! let dev = DeviceKeys::generate(&mut rng);
//! let rec = RecoveryCode::generate(&mut rng).derive();
//! let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut rng) };
//! let pw = kdf.derive(b"correct horse battery")?;
//! let acct = create_account(&dev, &rec, &pw, &kdf, &mut rng)?;
//! let mut server = Server::new(MemoryStorage::default(), ServerConfig::new([1; 32]));
//! let mut srng = SeededRng::from_label("server");
//! let mut t = |r: Request| server.handle(r, 0, &mut srng);
//! t(Request::Register {
//!     email: b"a@example.org".to_vec(), kdf: kdf.encode(), auth: *pw.auth.expose(),
//!     genesis: acct.genesis.clone(), recovery_wrap: acct.recovery_wrap.to_vec(),
//!     password_wrap: acct.password_wrap.to_vec(),
//! });
//! let mut client = Client::new(dev, acct.state.clone(), acct.umks());
//! client.login(&mut t)?;
//! client.write(&mut t, "notes", RecordId([1; 16]), b"hello", &mut rng)?;
//! let report = client.sync(&mut t)?;
//! assert!(report.alerts.is_empty());
//! assert_eq!(client.get("notes", &RecordId([1; 16])), Some(&b"hello"[..]));
//! # Ok::<(), blindsync::Error>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};

use crate::chain::ChainState;
use crate::defences::Defences;
use crate::device::{DeviceId, DeviceKeys};
use crate::envelope::payload::Schema;
use crate::envelope::{
    self, AuthorizedWriter, EnvelopeRef, EpochAccess, HeadEpoch, Header, OpenContext, RecordId, RecordMeta, Stub, Suite,
};
use crate::error::{Error, Result};
use crate::keys::{AccountId, Bucket, CollectionKey, Epoch, EpochKeys, Umk};
use crate::primitives::{CryptoRng, sha256};
use crate::server::login_message;
use crate::server::wire::{Item, ItemKind, MAX_ITEMS, Request, Response, Token};

/// The reserved collection of device metadata (name, operating system). [SRV-11]
pub const DEVICES_COLLECTION: &str = "blindsync/devices";

fn device_record(id: &DeviceId) -> RecordId {
    let mut r = [0u8; 16];
    r.copy_from_slice(id.0.get(..16).unwrap_or(&[0; 16]));
    RecordId(r)
}

/// Anything that answers requests: the in-process server, a network client,
/// or a misbehaving server in a test or the model.
pub trait Transport {
    /// Sends one request, returns its response.
    fn call(&mut self, request: Request) -> Response;
}

impl<F: FnMut(Request) -> Response> Transport for F {
    fn call(&mut self, request: Request) -> Response {
        self(request)
    }
}

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
struct Keys {
    device: DeviceKeys,
    umks: BTreeMap<Epoch, Umk>,
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
struct Outbox {
    collection: String,
    record_id: RecordId,
    bucket: Bucket,
    revision: u64,
    seq: u64,
    value: Vec<u8>,
    envelope: Vec<u8>,
}

/// A verified item, before the sequence checks.
struct Verified {
    header: Header,
    /// The payload, if it was an envelope of a collection this device knows.
    payload: Option<(String, Vec<u8>)>,
    /// A stub: it counts for the sequence only if superseded.
    stub: bool,
    /// `SHA-256(header ‖ body_digest)`, the same for an envelope and its
    /// stub: two different envelopes with one `(writer, writer_seq)` differ
    /// here. [SYNC-14]
    digest: [u8; 32],
    /// The position of its chain head in the verified chain. [SYNC-17]
    head_pos: u64,
    /// The server sequence number it was listed under. [SYNC-17]
    item_seq: u64,
}

/// An item's identity: `SHA-256(header ‖ body_digest)`, equal for an
/// envelope and its stub. [SYNC-14]
fn identity(stub: &Stub) -> [u8; 32] {
    sha256(&[&stub.header.encode(), &stub.body_digest])
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
        if let Some(prev) = by_seq.insert(i.seq, *i)
            && prev.digest != i.digest
        {
            return Err(Error::SyncEquivocation);
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

/// One device's sync state. [SYNC-8]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Client {
    keys: Keys,
    chain: ChainState,
    collections: BTreeSet<String>,
    records: BTreeMap<(String, RecordId), Record>,
    accepted: BTreeMap<(Bucket, RecordId), (u64, DeviceId)>,
    writer_seq: BTreeMap<DeviceId, u64>,
    cursor: u64,
    token: Option<Token>,
    outbox: Option<Outbox>,
    defences: Defences,
    /// `(writer, writer_seq)` → identity of every item taken, kept across
    /// syncs: a second identity for a pair is equivocation. [SYNC-14]
    identities: BTreeMap<(DeviceId, u64), [u8; 32]>,
    /// Revocation position → the last server sequence number listed in the
    /// sync in which this device first held it. [SYNC-17]
    revocations: BTreeMap<u64, u64>,
    /// Items refused because their writer was revoked below their sequence number, by item
    /// bytes' digest: refused once with an alert, then skipped, so that a write a revoked
    /// device made above its bound cannot hold the cursor for ever. [SYNC-15] [CHAIN-20]
    refused_above_bound: BTreeSet<[u8; 32]>,
}

impl core::fmt::Debug for Client {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client")
            .field("device", &self.keys.device.id())
            .field("chain_len", &self.chain.head().len)
            .field("records", &self.records.len()) // [PRIM-8] decrypted values never print
            .field("writer_seq", &self.writer_seq)
            .field("cursor", &self.cursor)
            .field("outbox_seq", &self.outbox.as_ref().map(|o| o.seq))
            .finish_non_exhaustive()
    }
}

fn expect_ok(r: Response) -> Result<()> {
    match r {
        Response::Ok => Ok(()),
        Response::Error(e) => Err(e),
        _ => Err(Error::DecodeValue),
    }
}

impl Client {
    /// A device with its keys, its verified chain and the UMKs it holds
    /// (from [`crate::chain::create_account`], [`crate::chain::accept_pairing`]
    /// or [`crate::chain::enroll`]).
    pub fn new(device: DeviceKeys, chain: ChainState, umks: BTreeMap<Epoch, Umk>) -> Self {
        Client {
            keys: Keys { device, umks },
            chain,
            collections: BTreeSet::from([DEVICES_COLLECTION.to_owned()]),
            records: BTreeMap::new(),
            accepted: BTreeMap::new(),
            writer_seq: BTreeMap::new(),
            cursor: 0,
            token: None,
            outbox: None,
            defences: Defences::ALL,
            identities: BTreeMap::new(),
            revocations: BTreeMap::new(),
            refused_above_bound: BTreeSet::new(),
        }
    }

    /// The identity ([SYNC-14]) of the item with `(writer, seq)` this device
    /// took, if any: what a revoke statement pins as `last_envelope` ([CHAIN-20]).
    pub fn envelope_identity(&self, writer: &DeviceId, seq: u64) -> Option<[u8; 32]> {
        self.identities.get(&(*writer, seq)).copied()
    }

    /// Switches defences off, for the model checker only: it proves each
    /// defence necessary by finding the attack it stops ([`crate::defences`]).
    /// A deployment never calls this. [MODEL-5]
    pub fn dangerous_set_defences(&mut self, defences: Defences) {
        self.defences = defences;
    }

    /// The defences in effect ([`Defences::ALL`] unless the model checker
    /// switched some off).
    pub fn defences(&self) -> Defences {
        self.defences
    }

    /// The last sequence number accepted from `writer` (0: none). [SYNC-8]
    pub fn last_seq(&self, writer: &DeviceId) -> u64 {
        self.writer_seq.get(writer).copied().unwrap_or(0)
    }

    /// The cursor: the server sequence number up to which this device has
    /// listed without an alert. [SYNC-7]
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// This device's id.
    pub fn id(&self) -> DeviceId {
        self.keys.device.id()
    }

    /// The device keys.
    pub fn device(&self) -> &DeviceKeys {
        &self.keys.device
    }

    /// The verified chain.
    pub fn chain(&self) -> &ChainState {
        &self.chain
    }

    /// The UMKs this device holds.
    pub fn umks(&self) -> &BTreeMap<Epoch, Umk> {
        &self.keys.umks
    }

    /// The session token, if logged in.
    pub fn token(&self) -> Option<Token> {
        self.token
    }

    /// Every accepted record.
    pub fn records(&self) -> &BTreeMap<(String, RecordId), Record> {
        &self.records
    }

    /// An accepted record's value. Only verified data is ever returned. [SYNC-8]
    pub fn get(&self, collection: &str, id: &RecordId) -> Option<&[u8]> {
        self.records.get(&(collection.to_owned(), *id)).map(|r| r.value.as_slice())
    }

    /// Declares a collection this device reads (writing declares it too).
    pub fn subscribe(&mut self, collection: &str) -> Result<()> {
        self.bucket(collection)?;
        self.collections.insert(collection.to_owned());
        Ok(())
    }

    fn bucket(&self, collection: &str) -> Result<Bucket> {
        let umk0 = self.keys.umks.get(&0).ok_or(Error::EnvEpoch)?;
        EpochKeys::derive(umk0, &self.chain.account(), 0).routing_key().bucket(collection)
    }

    fn collection_key(&self, collection: &str, epoch: Epoch) -> Result<CollectionKey> {
        let umk = self.keys.umks.get(&epoch).ok_or(Error::EnvEpoch)?;
        EpochKeys::derive(umk, &self.chain.account(), epoch).collection_key(collection)
    }

    /// Challenge-response login with the device key. [SYNC-4]
    pub fn login(&mut self, t: &mut dyn Transport) -> Result<()> {
        let account = self.chain.account();
        let key = self.keys.device.public().ed25519;
        let nonce = match t.call(Request::Challenge { account: account.0, key }) {
            Response::Nonce { nonce } => nonce,
            Response::Error(e) => return Err(e),
            _ => return Err(Error::DecodeValue),
        };
        let signature = self.keys.device.sign(&login_message(&account, &key, &nonce));
        match t.call(Request::LoginKey { account: account.0, key, nonce, signature }) {
            Response::Token { token, .. } => {
                self.token = Some(token);
                Ok(())
            }
            Response::Error(e) => Err(e),
            _ => Err(Error::DecodeValue),
        }
    }

    fn tok(&self) -> Result<Token> {
        self.token.ok_or(Error::SrvAuth)
    }

    /// Appends statements this device made (approval, revocation, rotation,
    /// password change) and adopts the chain after them. [SYNC-5]
    pub fn append_chain(&mut self, t: &mut dyn Transport, statements: Vec<Vec<u8>>) -> Result<()> {
        let mut next = self.chain.clone();
        for s in &statements {
            next.append_with(s, &self.defences)?;
        }
        expect_ok(t.call(Request::AppendChain { token: self.tok()?, statements }))?;
        self.chain = next;
        Ok(())
    }

    /// Adds a new epoch's UMK (after this device rotated).
    pub fn add_umk(&mut self, epoch: Epoch, umk: Umk) {
        self.keys.umks.insert(epoch, umk);
    }

    /// Seals `value` as the next revision of a record and stores it: writer
    /// sequence number one above this device's last stored write, chain head
    /// in the header, current epoch. A write still waiting in the outbox is
    /// resubmitted first, byte for byte; a refused write stays in the outbox
    /// (and this call returns the refusal), so no sequence number is ever
    /// signed twice and the device's own sequence stays gap-free. Applied
    /// locally once the server stored it. [SYNC-6]
    ///
    /// ```text
    /// write(c, id, v):
    ///   flush()?                                      -- resubmit the outbox's exact bytes
    ///   rev = accepted[c, id].revision + 1 (or 1); seq = last[me] + 1
    ///   outbox = seal(rev, seq, epoch, head, v); flush()
    /// flush():
    ///   PutRecord(outbox.bytes) = Stored -> last[me] = seq; merge (rev, me); outbox = none
    ///   otherwise                        -> keep the outbox, return the error
    /// ```
    pub fn write<R: CryptoRng + ?Sized>(
        &mut self,
        t: &mut dyn Transport,
        collection: &str,
        record_id: RecordId,
        value: &[u8],
        rng: &mut R,
    ) -> Result<u64> {
        self.flush(t)?;
        let bucket = self.bucket(collection)?;
        let me = self.id();
        // [SYNC-16] accepted revisions are bounded by the step rule; saturate rather than fail, so no
        // received value can make this device's writes impossible.
        let revision = self.accepted.get(&(bucket, record_id)).map_or(1, |(r, _)| r.saturating_add(1));
        let last = self.writer_seq.get(&me).copied().unwrap_or(0);
        let seq = last.checked_add(1).ok_or(Error::SyncWithheld)?;
        // [SYNC-15] commit to this device's previous envelope: the stored outbox write ([SYNC-6]).
        let prev = match last {
            0 => [0; 32],
            l => self.identities.get(&(me, l)).copied().ok_or(Error::SyncWithheld)?,
        };
        let epoch = self.chain.epoch();
        // [ENV-16] never seal in an epoch that the head this write cites has superseded.
        let head = self.chain.head().hash;
        if self.chain.epoch_at_head(&head).is_some_and(|(_, e)| e > epoch) {
            return Err(Error::EnvStaleEpoch);
        }
        let ck = self.collection_key(collection, epoch)?;
        let meta = RecordMeta {
            suite: Suite::Aes256Gcm,
            bucket,
            record_id,
            revision,
            writer: me,
            writer_seq: seq,
            epoch,
            schema: Schema::Raw,
            chain_head: head,
            prev,
        };
        let sk = ed25519_dalek::SigningKey::from_bytes(self.keys.device.signing_seed().expose());
        let envelope =
            envelope::dangerous_seal_with_defences(&self.chain.account(), &meta, &ck, &sk, value, &self.defences, rng)?;
        self.outbox = Some(Outbox {
            collection: collection.to_owned(),
            record_id,
            bucket,
            revision,
            seq,
            value: value.to_vec(),
            envelope,
        });
        self.flush(t)?;
        Ok(revision)
    }

    /// The sequence number of a signed write not yet confirmed stored. [SYNC-6]
    pub fn pending_write(&self) -> Option<u64> {
        self.outbox.as_ref().map(|o| o.seq)
    }

    /// Resubmits the outbox's exact bytes, if any; on `Stored` applies the
    /// write locally. [SYNC-6]
    pub fn flush(&mut self, t: &mut dyn Transport) -> Result<()> {
        let Some(o) = self.outbox.as_ref() else { return Ok(()) };
        match t.call(Request::PutRecord { token: self.tok()?, envelope: o.envelope.clone() }) {
            Response::Stored { .. } => {
                self.confirm();
                Ok(())
            }
            Response::Error(e) => Err(e),
            _ => Err(Error::DecodeValue),
        }
    }

    /// The outbox's write is stored: apply it by the merge rule. [SYNC-6] [SYNC-13]
    fn confirm(&mut self) {
        let Some(o) = self.outbox.take() else { return };
        let me = self.id();
        if let Ok(env) = EnvelopeRef::decode(&o.envelope) {
            self.identities.insert((me, o.seq), identity(&env.stub()));
        }
        self.collections.insert(o.collection.clone());
        let last = self.writer_seq.entry(me).or_insert(0);
        *last = (*last).max(o.seq);
        let key = (o.bucket, o.record_id);
        if self.accepted.get(&key).is_none_or(|a| (o.revision, me) > *a) {
            self.accepted.insert(key, (o.revision, me));
            self.records
                .insert((o.collection, o.record_id), Record { revision: o.revision, writer: me, value: o.value });
        }
    }

    /// Stores this device's name and operating system encrypted: an ordinary
    /// record of the reserved collection [`DEVICES_COLLECTION`] whose record id
    /// is the first 16 bytes of the device id, so the server sees only a
    /// bucket and every device of the account reads the list. [SRV-11]
    pub fn set_device_info<R: CryptoRng + ?Sized>(
        &mut self,
        t: &mut dyn Transport,
        name: &str,
        os: &str,
        rng: &mut R,
    ) -> Result<u64> {
        let value = serde_json::json!({ "name": name, "os": os }).to_string();
        self.write(t, DEVICES_COLLECTION, device_record(&self.id()), value.as_bytes(), rng)
    }

    /// The name and operating system another device stored, once verified. [SRV-11]
    pub fn device_info(&self, id: &DeviceId) -> Option<(String, String)> {
        let v: serde_json::Value = serde_json::from_slice(self.get(DEVICES_COLLECTION, &device_record(id))?).ok()?;
        Some((v.get("name")?.as_str()?.to_owned(), v.get("os")?.as_str()?.to_owned()))
    }

    /// Takes a served chain: [CHAIN-10] no rollback, no fork, every new
    /// statement verified; then opens any new epoch's UMK wrapped to this
    /// device. On an alert the state is unchanged. [SYNC-11]
    pub fn apply_chain(&mut self, statements: &[Vec<u8>]) -> Option<Alert> {
        let mut next = self.chain.clone();
        if let Err(e) = next.update_with(statements, &self.defences) {
            // [MODEL-5] weakened: a served chain that forks or is shorter is taken if it verifies
            let weakened = (e == Error::ChainFork && !self.defences.fork)
                || (e == Error::ChainRollback && !self.defences.rollback);
            match weakened.then(|| ChainState::verify_with(statements, &self.defences)) {
                Some(Ok(served)) if served.account() == self.chain.account() => next = served,
                _ => return Some(if e == Error::ChainFork { Alert::Fork } else { Alert::Chain(e) }),
            }
        }
        if next.head() == self.chain.head() {
            return None; // the same chain: nothing new to open
        }
        // [CHAIN-16] every new epoch's UMK is checked against the chain before the chain is taken:
        // a split rotation is an alert (E_KEY_CHECK) and leaves the state unchanged.
        match next.open_epoch_umks_with(self.keys.device.hpke_key(), &self.defences) {
            Ok(umks) => {
                for (e, k) in umks {
                    self.keys.umks.entry(e).or_insert(k);
                }
            }
            Err(e) => return Some(Alert::Chain(e)),
        }
        self.chain = next;
        None
    }

    /// Pulls the chain, then every item after the cursor, verifies
    /// everything and applies only what verified; the cursor moves only
    /// when no alert was raised. [SYNC-7] [SYNC-8]
    pub fn sync(&mut self, t: &mut dyn Transport) -> Result<SyncReport> {
        let token = self.tok()?;
        let statements = match t.call(Request::GetChain { token }) {
            Response::Chain { statements } => statements,
            Response::Error(e) => return Err(e),
            _ => return Err(Error::DecodeValue),
        };
        if let Some(a) = self.apply_chain(&statements) {
            return Ok(SyncReport { applied: 0, alerts: vec![a] });
        }
        let mut items = Vec::new();
        let mut cursor = self.cursor;
        loop {
            match t.call(Request::ListSince { token, cursor, limit: MAX_ITEMS as u32 }) {
                Response::Items { items: batch } => {
                    let Some(last) = batch.last().map(|i| i.seq) else { break };
                    if last <= cursor {
                        break; // a server that does not advance cannot loop us
                    }
                    // [SYNC-7] a page out of order (relabelled or replayed numbers) is refused whole
                    let seqs: Vec<u64> = batch.iter().map(|i| i.seq).collect();
                    if self.defences.listing_order
                        && let Err(e) = listing_in_order(cursor, &seqs)
                    {
                        return Ok(SyncReport { applied: 0, alerts: vec![Alert::Chain(e)] });
                    }
                    cursor = last;
                    items.extend(batch);
                }
                Response::Error(e) => return Err(e),
                _ => return Err(Error::DecodeValue),
            }
        }
        let mut report = self.apply_items(&items);
        // [SYNC-15] a listing to the end that leaves a revoked writer short of its bound is
        // withheld data: the chain says it wrote up to max_seq.
        if self.defences.writer_chain {
            for (id, r) in self.chain.revoked() {
                let last = self.writer_seq.get(id).copied().unwrap_or(0);
                let alerted = report.alerts.iter().any(|a| matches!(a, Alert::Withheld { writer, .. } if writer == id));
                if last < r.max_seq && !alerted {
                    report.alerts.push(Alert::Withheld { writer: *id, missing_seq: last.saturating_add(1) });
                }
            }
        }
        if report.alerts.is_empty() {
            self.cursor = cursor;
            // [SYNC-17] a revocation held for the first time, in a sync that commits: what this
            // listing showed may predate it; whatever is listed after it was stored after this
            // device held the revocation. (A sync with an alert commits nothing, not even this:
            // a server cannot raise the boundary by listing one bad item under a huge number.)
            for r in self.chain.revoked().values() {
                self.revocations.entry(r.at).or_insert(cursor);
            }
        }
        Ok(report)
    }

    /// The writers the chain authorizes, for every epoch: active devices
    /// unbounded, revoked devices up to their `max_seq`. [SYNC-8] [CHAIN-9]
    fn writers(&self) -> Vec<AuthorizedWriter> {
        let mut w: Vec<AuthorizedWriter> = self
            .chain
            .devices()
            .iter()
            .map(|(id, d)| AuthorizedWriter { device: *id, verifying_key: d.ed25519, max_seq: None })
            .collect();
        w.extend(self.chain.revoked().iter().map(|(id, r)| AuthorizedWriter {
            device: *id,
            verifying_key: r.public.ed25519,
            max_seq: Some(r.max_seq),
        }));
        w
    }

    /// Verifies one item: structure, then every [ENV-12] check (for an
    /// envelope of a collection this device knows) or the signature checks
    /// (for a stub, or an envelope of another collection), with the epoch in
    /// force at its chain head ([ENV-16]), then that its chain head is in the
    /// verified chain. [SYNC-8]
    fn verify(
        &self,
        item: &Item,
        writers: &[AuthorizedWriter],
        buckets: &BTreeMap<Bucket, String>,
        heads: &BTreeMap<[u8; 32], (u64, Epoch)>,
    ) -> Result<Verified> {
        let account = self.chain.account();
        let header = match item.kind {
            ItemKind::Stub => Stub::decode(&item.bytes)?.header,
            ItemKind::Envelope => EnvelopeRef::decode(&item.bytes)?.header,
        };
        let at_head = heads.get(&header.chain_head).copied();
        let he: Vec<HeadEpoch> =
            at_head.iter().map(|(_, epoch)| HeadEpoch { head: header.chain_head, epoch: *epoch }).collect();
        let head_pos = at_head.map_or(0, |(p, _)| p);
        let dummy = CollectionKey::from_bytes([0; 32]);
        let sig_epochs: Vec<EpochAccess<'_>> =
            (0..=self.chain.epoch()).map(|epoch| EpochAccess { epoch, collection_key: &dummy, writers }).collect();
        let sig_ctx = OpenContext { account, epochs: &sig_epochs, bucket: None, record_id: None, heads: &he };
        let v = match item.kind {
            ItemKind::Stub => {
                let stub = Stub::decode(&item.bytes)?;
                envelope::dangerous_verify_stub_with_defences(&stub, &sig_ctx, &self.defences)?;
                let digest = identity(&stub);
                Verified { header: stub.header, payload: None, stub: true, digest, head_pos, item_seq: item.seq }
            }
            ItemKind::Envelope => {
                let env = EnvelopeRef::decode(&item.bytes)?;
                match buckets.get(&env.header.bucket) {
                    Some(name) => {
                        let keys: Vec<(Epoch, CollectionKey)> = self
                            .keys
                            .umks
                            .keys()
                            .map(|e| self.collection_key(name, *e).map(|k| (*e, k)))
                            .collect::<Result<_>>()?;
                        let epochs: Vec<EpochAccess<'_>> = keys
                            .iter()
                            .map(|(epoch, ck)| EpochAccess { epoch: *epoch, collection_key: ck, writers })
                            .collect();
                        let ctx = OpenContext { account, epochs: &epochs, bucket: None, record_id: None, heads: &he };
                        let opened = envelope::dangerous_open_with_defences(&item.bytes, &ctx, &self.defences)?;
                        let digest = identity(&env.stub());
                        Verified {
                            header: opened.header,
                            payload: Some((name.clone(), opened.into_payload())),
                            stub: false,
                            digest,
                            head_pos,
                            item_seq: item.seq,
                        }
                    }
                    None => {
                        envelope::dangerous_verify_stub_with_defences(&env.stub(), &sig_ctx, &self.defences)?;
                        let digest = identity(&env.stub());
                        Verified {
                            header: env.header,
                            payload: None,
                            stub: false,
                            digest,
                            head_pos,
                            item_seq: item.seq,
                        }
                    }
                }
            }
        };
        // [SYNC-11] the writer's chain head must be one this device verified.
        if self.defences.fork && at_head.is_none() {
            return Err(Error::ChainFork);
        }
        Ok(v)
    }

    /// The pure verification core of [`Client::sync`]: verifies every item,
    /// checks writer sequence numbers and revisions, then merges by
    /// last-writer-wins on `(revision, writer id)`. [SYNC-8] [SYNC-9] [SYNC-10] [SYNC-13]
    ///
    /// ```text
    /// for each item, in listing order: verify (ENV-12 with ENV-16, or the stub checks) and its chain head
    ///                                                                  else Forged / Fork
    ///   revision <= greatest known revision of its record + 2^16          else Forged(E_SYNC_REVISION_STEP)
    /// per writer: identities and prev links (writer_chain_break)          else Equivocation, stop w there
    /// for each writer w, its verified items ascending by writer_seq:
    ///   seq <= last[w]:  a full envelope older than the record's accepted state  -> Rollback; else ignore
    ///   seq != last[w]+1                                                         -> Withheld(last[w]+1), stop w
    ///   a stub not superseded by a verified newer revision                       -> Withheld(seq), stop w
    ///   last[w] = seq; merge: (revision, writer) > accepted[record] -> record := payload
    ///   listed after a known revocation's boundary, head before it         -> StaleHead (still applied)
    /// ```
    pub fn apply_items(&mut self, items: &[Item]) -> SyncReport {
        let writers = self.writers();
        let mut buckets = BTreeMap::new();
        for c in &self.collections {
            if let Ok(b) = self.bucket(c) {
                buckets.insert(b, c.clone());
            }
        }
        let mut report = SyncReport::default();
        let mut by_writer: BTreeMap<DeviceId, BTreeMap<u64, Verified>> = BTreeMap::new();
        let mut equivocated: BTreeSet<(DeviceId, u64)> = BTreeSet::new();
        // the greatest verified (revision, writer) per record: a stub below it is superseded
        let mut newest: BTreeMap<(Bucket, RecordId), (u64, DeviceId)> = self.accepted.clone();
        // [ENV-16] [SYNC-17] the position and epoch in force at every verified head
        let heads: BTreeMap<[u8; 32], (u64, Epoch)> = (0..self.chain.head().len)
            .filter_map(|p| self.chain.hash_at(p))
            .filter_map(|h| self.chain.epoch_at_head(&h).map(|pe| (h, pe)))
            .collect();
        // [SYNC-16] the greatest revision known per record, in listing order
        let mut base: BTreeMap<(Bucket, RecordId), u64> = self.accepted.iter().map(|(k, (r, _))| (*k, *r)).collect();
        for item in items {
            match self.verify(item, &writers, &buckets, &heads) {
                Ok(v) => {
                    let key = (v.header.bucket, v.header.record_id);
                    let known = base.get(&key).copied().unwrap_or(0);
                    if self.defences.revision_step && !revision_within_step(known, v.header.revision) {
                        report.alerts.push(Alert::Forged { item_seq: item.seq, error: Error::SyncRevisionStep });
                        continue;
                    }
                    base.insert(key, known.max(v.header.revision));
                    if !v.stub {
                        let n = newest.entry((v.header.bucket, v.header.record_id)).or_insert((0, v.header.writer));
                        *n = (*n).max((v.header.revision, v.header.writer));
                    }
                    let (writer, seq) = (v.header.writer, v.header.writer_seq);
                    match by_writer.entry(writer).or_default().entry(seq) {
                        std::collections::btree_map::Entry::Vacant(e) => {
                            e.insert(v);
                        }
                        // [SYNC-14] one sequence number, two different signed envelopes
                        std::collections::btree_map::Entry::Occupied(e) => {
                            if e.get().digest != v.digest {
                                equivocated.insert((writer, seq));
                            }
                        }
                    }
                }
                Err(Error::ChainFork) => report.alerts.push(Alert::Fork),
                // [SYNC-15] a revoked writer's write above its bound: refused and alerted once
                Err(Error::EnvWriterRevoked) => {
                    if self.refused_above_bound.insert(sha256(&[&item.bytes])) {
                        report.alerts.push(Alert::Forged { item_seq: item.seq, error: Error::EnvWriterRevoked });
                    }
                }
                Err(error) => report.alerts.push(Alert::Forged { item_seq: item.seq, error }),
            }
        }
        // [SYNC-14] across syncs: a pair seen before with another identity, and a revoked writer's
        // envelope at its bound that is not the one its revoke statement pins ([CHAIN-20]);
        // [SYNC-15] every item's prev is the identity of the writer's item before it, where held.
        for (writer, seqs) in &by_writer {
            let pinned = self.chain.revoked().get(writer).map(|r| (r.max_seq, r.last_envelope));
            let known = |s: u64| {
                self.identities.get(&(*writer, s)).copied().or_else(|| pinned.filter(|(m, _)| *m == s).map(|(_, l)| l))
            };
            let listed: BTreeMap<u64, ChainLink> =
                seqs.iter().map(|(s, v)| (*s, ChainLink { identity: v.digest, prev: v.header.prev })).collect();
            let last = self.writer_seq.get(writer).copied().unwrap_or(0);
            if let Some(s) = writer_chain_break(last, known, &listed, self.defences.writer_chain) {
                equivocated.insert((*writer, s));
            }
        }
        for (writer, seqs) in by_writer {
            let mut last = self.writer_seq.get(&writer).copied().unwrap_or(0);
            // [SYNC-15] a revoked writer's items only up to its bound, complete, or none of them
            if self.defences.writer_chain
                && let Some(r) = self.chain.revoked().get(&writer)
                && let Some(missing_seq) = revoked_incomplete(last, r.max_seq, |s| seqs.contains_key(&s))
                && seqs.keys().any(|s| *s > last)
            {
                report.alerts.push(Alert::Withheld { writer, missing_seq });
                continue;
            }
            for (seq, v) in seqs {
                if equivocated.contains(&(writer, seq)) {
                    report.alerts.push(Alert::Equivocation { writer, seq });
                    break;
                }
                let key = (v.header.bucket, v.header.record_id);
                let acc = self.accepted.get(&key).copied();
                let d = self.defences;
                let older = d.rollback && !v.stub && acc.is_some_and(|a| a > (v.header.revision, writer));
                let superseded = newest.get(&key).is_some_and(|n| *n > (v.header.revision, writer));
                // [MODEL-5] weakened: without the gap check, any later item is the next one
                let expected = if d.sequence_gaps { last } else { last.max(seq.saturating_sub(1)) };
                let step = classify(expected, seq, v.stub, superseded || !d.sequence_gaps, older);
                match step {
                    // [MODEL-5] weakened: without high-water marks, a replay is applied again
                    Ok(Step::Ignore) if d.rollback => continue,
                    Ok(Step::Ignore) => {}
                    Ok(Step::Accept) => {}
                    Err(Error::SyncRollback) => {
                        report.alerts.push(Alert::Rollback { writer, seq });
                        continue;
                    }
                    Err(_) => {
                        let missing_seq = if seq == last.saturating_add(1) { seq } else { last.saturating_add(1) };
                        report.alerts.push(Alert::Withheld { writer, missing_seq });
                        break;
                    }
                }
                // [SYNC-17] a write listed after a known revocation's boundary that cites an older head
                if d.stale_head
                    && step == Ok(Step::Accept)
                    && !self.chain.revoked().contains_key(&writer)
                    && stale_head(&self.revocations, v.item_seq, v.head_pos)
                {
                    report.alerts.push(Alert::StaleHead { writer, seq });
                }
                last = last.max(seq);
                self.identities.entry((writer, seq)).or_insert(v.digest);
                // [SYNC-8] [SYNC-16] a record of a collection this device does not read: its greatest
                // (revision, writer) is still kept, so the revision step has a base.
                if v.payload.is_none() && !v.stub && acc.is_none_or(|a| (v.header.revision, writer) > a) {
                    self.accepted.insert(key, (v.header.revision, writer));
                }
                // [SYNC-13] last writer wins on (revision, writer id).
                if let Some((collection, value)) = v.payload
                    && (acc.is_none_or(|a| (v.header.revision, writer) > a) || !d.rollback)
                {
                    self.accepted.insert(key, (v.header.revision, writer));
                    self.records.insert(
                        (collection, v.header.record_id),
                        Record { revision: v.header.revision, writer, value },
                    );
                    report.applied += 1;
                }
            }
            self.writer_seq.insert(writer, last);
        }
        // [SYNC-6] our own outbox write, listed: it was stored (its answer was lost)
        if self.outbox.as_ref().is_some_and(|o| self.writer_seq.get(&self.id()).is_some_and(|l| *l >= o.seq)) {
            self.confirm();
        }
        let mut unique = Vec::new();
        for a in report.alerts {
            if !unique.contains(&a) {
                unique.push(a);
            }
        }
        report.alerts = unique;
        report
    }

    /// The account id.
    pub fn account(&self) -> AccountId {
        self.chain.account()
    }
}
