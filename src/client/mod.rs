//! The device's sync engine (spec 11.8 and 11.9), sans-IO.
//!
//! [`Client`] is one device: its persistent [`State`] (keys, verified chain,
//! accepted records, the highest `(revision, writer)` per record, the last
//! sequence number per writer, envelope identities, revocation boundaries,
//! cursor, outbox), its session, and at most one operation in progress. It
//! never does I/O: operations are state machines ([`Exchange`]) that hand
//! out [`Request`]s and take [`Response`]s; randomness and time are
//! parameters of the `start_*` calls. Each step that changes the state
//! commits it through the client's [`Persist`] before the next request
//! leaves or the result is reported ([PERSIST-1]): [`Volatile`] keeps
//! nothing (tests, the model checker), [`Persistent`] writes any
//! [`crate::store::KvStore`].
//!
//! The blocking methods ([`Client::login`], [`Client::write`],
//! [`Client::sync`], ...) run one operation over a [`Transport`] with
//! [`run`]; [`Client::apply_items`] and [`Client::apply_chain`] are the pure
//! verification cores.
//!
//! ```
//! use blindsync::client::{Registration, Volatile, run};
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
//! let mut server = Server::new(MemoryStorage::default(), ServerConfig::new([1; 32]));
//! let mut srng = SeededRng::from_label("server");
//! let mut t = |r: Request| server.handle(r, 0, &mut srng);
//! let mut reg = Registration::new(Volatile, dev, b"a@example.org", &rec, &pw, &kdf, &mut rng)?;
//! let mut client = run(&mut reg, &mut t)?;
//! client.write(&mut t, "notes", RecordId([1; 16]), b"hello", &mut rng)?;
//! let report = client.sync(&mut t)?;
//! assert!(report.alerts.is_empty());
//! assert_eq!(client.get("notes", &RecordId([1; 16])), Some(&b"hello"[..]));
//! # Ok::<(), blindsync::Error>(())
//! ```

mod alerts;
mod ops;
mod persist;
mod shared;
mod state;
mod switches;
mod verify;

use std::collections::BTreeMap;

pub use alerts::{
    Alert, ChainLink, MAX_REVISION_STEP, SeqItem, Step, SyncReport, classify, listing_in_order, revision_steps,
    revision_within_step, revoked_incomplete, stale_head, writer_chain_break, writer_sequence,
};
pub use ops::{
    Enrollment, Exchange, Joining, Outcome, PartnerOpen, PartnerState, Registration, Transport, run, server_may_answer,
};
pub use persist::{
    Entries, FORMAT_VERSION, Persist, Persistent, TABLES, Volatile, encode, load, migrate, stored_version,
};
pub use state::{MAX_UNREAD_ALERTS, Record, State};

use crate::chain::{ChainState, PendingDevice, UnlockPathKeys};
use crate::defences::Defences;
use crate::device::{DeviceId, DeviceKeys};
use crate::envelope::RecordId;
use crate::error::{Error, Result};
use crate::keys::{AccountId, Bucket, CollectionKey, Epoch, EpochKeys, Umk};
use crate::primitives::CryptoRng;
use crate::server::wire::Token;
use crate::store::KvStore;
use crate::unlock::password::{PasswordKdf, PasswordKeys};
use ops::Running;

/// The reserved collection of device metadata (name, operating system). [SRV-11]
pub const DEVICES_COLLECTION: &str = state::DEVICES_COLLECTION;

fn device_record(id: &DeviceId) -> RecordId {
    let mut r = [0u8; 16];
    r.copy_from_slice(id.0.get(..16).unwrap_or(&[0; 16]));
    RecordId(r)
}

/// One device. [SYNC-8]
///
/// `P` is where its state is committed ([`Volatile`] by default). Equality
/// compares state, session, defences and the operation in progress.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Client<P = Volatile> {
    /// Shared with clones until one changes it.
    state: shared::Shared<State>,
    token: Option<Token>,
    defences: Defences,
    op: Option<Running>,
    done: Option<Result<Outcome>>,
    store: P,
    /// Opened from a store and not yet synced to the end of the listing: the
    /// stored state may be older than this device's last write. [CLIENT-5]
    reopened: bool,
}

impl<P> core::fmt::Debug for Client<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client")
            .field("state", &*self.state) // [PRIM-8] State's Debug shows sizes, never values or keys
            .field("logged_in", &self.token.is_some())
            .field("busy", &self.op.is_some())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A device with its keys, its verified chain and the UMKs it holds
    /// (from [`crate::chain::create_account`], [`crate::chain::accept_pairing`]
    /// or [`crate::chain::enroll`]), keeping its state in memory only.
    pub fn new(device: DeviceKeys, chain: ChainState, umks: BTreeMap<Epoch, Umk>) -> Self {
        Client::with_store(Volatile, device, chain, umks)
    }
}

impl<S: KvStore> Client<Persistent<S>> {
    /// Reloads the device stored in `store` ([PERSIST-1]): `Ok(None)` for a
    /// store that holds no device; [`Error::StoreVersion`] for a format this
    /// code does not know, [`Error::StoreCorrupt`] for bytes that do not
    /// decode or a chain or UMK that does not verify ([PERSIST-2],
    /// [PERSIST-3]). Older known formats are migrated first, in one commit.
    /// The session is not stored: log in again.
    ///
    /// ```
    /// # use blindsync::client::{Client, Persistent};
    /// use blindsync::store::MemoryStore;
    /// assert!(Client::open(MemoryStore::default())?.is_none());
    /// # Ok::<(), blindsync::Error>(())
    /// ```
    pub fn open(mut store: S) -> Result<Option<Self>> {
        migrate(&mut store)?;
        let p = Persistent::new(store)?;
        Ok(p.load()?.map(|state| Client {
            state: shared::Shared::new(state),
            token: None,
            defences: Defences::ALL,
            op: None,
            done: None,
            store: p,
            reopened: true,
        }))
    }

    /// Gives the store back (the state stays in it).
    pub fn into_store(self) -> S {
        self.store.into_store()
    }
}

impl<P: Persist> Client<P> {
    /// A device as [`Client::new`], committing to `store` (nothing is written
    /// before its first step or [`Client::save`]).
    pub fn with_store(store: P, device: DeviceKeys, chain: ChainState, umks: BTreeMap<Epoch, Umk>) -> Self {
        Client {
            state: shared::Shared::new(State::new(device, chain, umks)),
            token: None,
            defences: Defences::ALL,
            op: None,
            done: None,
            store,
            reopened: false,
        }
    }

    /// Where the state is committed.
    pub fn persist(&self) -> &P {
        &self.store
    }

    /// Where the state is committed, mutably.
    pub fn persist_mut(&mut self) -> &mut P {
        &mut self.store
    }

    /// The persistent state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Commits the whole state now (after [`Client::apply_items`] or
    /// [`Client::apply_chain`], which never commit). [PERSIST-1]
    pub fn save(&mut self) -> Result<()> {
        // [PERSIST-5] never in the middle of an operation (a sync commits once, at its end)
        if self.op.is_some() {
            return Err(Error::ClientBusy);
        }
        self.store.commit(&self.state)
    }

    /// Declares a collection this device reads (writing declares it too); committed. [PERSIST-1]
    pub fn subscribe(&mut self, collection: &str) -> Result<()> {
        // [PERSIST-5] its commit would write a sync's state before the sync's own commit
        if self.op.is_some() {
            return Err(Error::ClientBusy);
        }
        self.bucket(collection)?;
        let before = self.snapshot();
        self.state.collections.insert(collection.to_owned());
        self.commit_since(before)
    }

    /// Adds a new epoch's UMK (after this device rotated by hand; the
    /// operations that rotate add it themselves, in their commit). Not
    /// committed: call [`Client::save`]. [PERSIST-1]
    pub fn add_umk(&mut self, epoch: Epoch, umk: Umk) {
        self.state.keys.umks.insert(epoch, umk);
    }

    /// The sequence number of a signed write not yet confirmed stored. [SYNC-6]
    pub fn pending_write(&self) -> Option<u64> {
        self.state.pending_write()
    }

    // ---- blocking wrappers: one operation each, over a Transport ([CLIENT-1]) ----

    fn drive(&mut self, t: &mut dyn Transport) -> Result<Outcome> {
        run(self, t)
    }

    /// Challenge-response login with the device key. [SYNC-4]
    pub fn login(&mut self, t: &mut dyn Transport) -> Result<()> {
        self.start_login()?;
        self.drive(t).map(|_| ())
    }

    /// Appends statements this device made (approval, revocation, rotation,
    /// password change) and adopts the chain after them. [SYNC-5]
    pub fn append_chain(&mut self, t: &mut dyn Transport, statements: Vec<Vec<u8>>) -> Result<()> {
        self.start_append_chain(statements)?;
        self.drive(t).map(|_| ())
    }

    /// Resubmits the outbox's exact bytes, if any; on `Stored` applies the
    /// write locally. [SYNC-6]
    pub fn flush(&mut self, t: &mut dyn Transport) -> Result<()> {
        self.start_flush()?;
        self.drive(t).map(|_| ())
    }

    /// Seals `value` as the next revision of a record and stores it (see
    /// [`Client::start_write`]). A write still waiting in the outbox is
    /// resubmitted first, byte for byte; a refused write stays in the outbox
    /// (and this call returns the refusal), so no sequence number is ever
    /// signed twice and the device's own sequence stays gap-free. [SYNC-6]
    pub fn write<R: CryptoRng + ?Sized>(
        &mut self,
        t: &mut dyn Transport,
        collection: &str,
        record_id: RecordId,
        value: &[u8],
        rng: &mut R,
    ) -> Result<u64> {
        self.flush(t)?;
        self.start_write(collection, record_id, value, rng)?;
        match self.drive(t)? {
            Outcome::Written { revision } => Ok(revision),
            _ => Err(Error::ClientUnexpectedResponse),
        }
    }

    /// Pulls the chain, then every item after the cursor, verifies
    /// everything and applies only what verified; the cursor moves only
    /// when no alert was raised. [SYNC-7] [SYNC-8]
    pub fn sync(&mut self, t: &mut dyn Transport) -> Result<SyncReport> {
        self.start_sync()?;
        match self.drive(t)? {
            Outcome::Synced(report) => Ok(report),
            _ => Err(Error::ClientUnexpectedResponse),
        }
    }

    /// The devices waiting for approval. [SRV-13]
    pub fn list_pending(&mut self, t: &mut dyn Transport) -> Result<Vec<PendingDevice>> {
        self.start_list_pending()?;
        match self.drive(t)? {
            Outcome::Pending(p) => Ok(p),
            _ => Err(Error::ClientUnexpectedResponse),
        }
    }

    /// Approves a pending device and stores its bundle ([`Client::start_approve`]). [DEV-5]
    pub fn approve<R: CryptoRng + ?Sized>(
        &mut self,
        t: &mut dyn Transport,
        pending: &PendingDevice,
        rng: &mut R,
    ) -> Result<()> {
        self.start_approve(pending, rng)?;
        self.drive(t).map(|_| ())
    }

    /// Revokes a device and rotates ([`Client::start_revoke`]). [CHAIN-20]
    pub fn revoke<R: CryptoRng + ?Sized>(
        &mut self,
        t: &mut dyn Transport,
        target: &DeviceId,
        rng: &mut R,
    ) -> Result<()> {
        self.start_revoke(target, rng)?;
        self.drive(t).map(|_| ())
    }

    /// Changes the password ([`Client::start_change_password`]). [CHAIN-14]
    pub fn change_password<R: CryptoRng + ?Sized>(
        &mut self,
        t: &mut dyn Transport,
        signer: &UnlockPathKeys,
        kdf: &PasswordKdf,
        password: &PasswordKeys,
        rng: &mut R,
    ) -> Result<()> {
        self.start_change_password(signer, kdf, password, rng)?;
        self.drive(t).map(|_| ())
    }

    /// Pins a partner's key ([`Client::start_pin_partner`]). [BAT-4]
    pub fn pin_partner(&mut self, t: &mut dyn Transport, key: [u8; 32], label: &str) -> Result<()> {
        self.start_pin_partner(key, label)?;
        self.drive(t).map(|_| ())
    }

    /// The identity ([SYNC-14]) of the item with `(writer, seq)` this device
    /// took, if any: what a revoke statement pins as `last_envelope` ([CHAIN-20]).
    pub fn envelope_identity(&self, writer: &DeviceId, seq: u64) -> Option<[u8; 32]> {
        self.state.identities.get(&(*writer, seq)).copied()
    }

    danger_api! {
    /// Switches defences off, for the model checker only (feature `danger`):
    /// it proves each defence necessary by finding the attack it stops.
    /// A deployment never calls this. [MODEL-5]
    pub fn dangerous_set_defences(&mut self, defences: Defences) {
        self.defences = defences;
    }
    }

    danger_api! {
    /// The defences in effect ([`Defences::ALL`] unless the model checker
    /// switched some off; feature `danger`).
    pub fn defences(&self) -> Defences {
        self.defences
    }
    }

    /// The last sequence number accepted from `writer` (0: none). [SYNC-8]
    pub fn last_seq(&self, writer: &DeviceId) -> u64 {
        self.state.writer_seq.get(writer).copied().unwrap_or(0)
    }

    /// The cursor: the server sequence number up to which this device has
    /// listed without an alert. [SYNC-7]
    pub fn cursor(&self) -> u64 {
        self.state.cursor
    }

    /// The alerts of committed syncs that the application has not acknowledged
    /// yet, oldest first. A durable device keeps them in its store with the
    /// commit that made them fire, so an alert that fires only once (a revoked
    /// writer's write above its bound, a stale head) survives a crash between
    /// that commit and the application reading the sync's report. A volatile
    /// device keeps none. [PERSIST-6]
    pub fn unread_alerts(&self) -> &[Alert] {
        &self.state.unread_alerts
    }

    /// Forgets the first `count` unread alerts (the ones the application has
    /// shown or recorded; later ones stay), durably. `E_CLIENT_BUSY` while an
    /// operation runs or its outcome is untaken. [PERSIST-6]
    pub fn acknowledge_alerts(&mut self, count: usize) -> Result<()> {
        if self.op.is_some() || self.done.is_some() {
            return Err(Error::ClientBusy);
        }
        let before = self.snapshot();
        let n = count.min(self.state.unread_alerts.len());
        self.state.unread_alerts.drain(..n);
        self.commit_since(before)
    }

    /// This device's id.
    pub fn id(&self) -> DeviceId {
        self.state.keys.device.id()
    }

    /// The device keys.
    pub fn device(&self) -> &DeviceKeys {
        &self.state.keys.device
    }

    /// The verified chain.
    pub fn chain(&self) -> &ChainState {
        &self.state.chain
    }

    /// The UMKs this device holds.
    pub fn umks(&self) -> &BTreeMap<Epoch, Umk> {
        &self.state.keys.umks
    }

    /// The session token, if logged in.
    pub fn token(&self) -> Option<Token> {
        self.token
    }

    /// Every accepted record.
    pub fn records(&self) -> &BTreeMap<(String, RecordId), Record> {
        &self.state.records
    }

    /// An accepted record's value. Only verified data is ever returned. [SYNC-8]
    pub fn get(&self, collection: &str, id: &RecordId) -> Option<&[u8]> {
        self.state.records.get(&(collection.to_owned(), *id)).map(|r| r.value.as_slice())
    }

    pub(crate) fn bucket(&self, collection: &str) -> Result<Bucket> {
        let umk0 = self.state.keys.umks.get(&0).ok_or(Error::EnvEpoch)?;
        EpochKeys::derive(umk0, &self.state.chain.account(), 0).routing_key().bucket(collection)
    }

    pub(crate) fn collection_key(&self, collection: &str, epoch: Epoch) -> Result<CollectionKey> {
        let umk = self.state.keys.umks.get(&epoch).ok_or(Error::EnvEpoch)?;
        EpochKeys::derive(umk, &self.state.chain.account(), epoch).collection_key(collection)
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

    /// The name and operating system another device stored, once verified:
    /// only a record that device wrote itself, and only while no other
    /// device's item outranks it ([SRV-11]: a device-metadata item under this
    /// device's record id that another device signed is never applied, but
    /// where it is the record's greatest `(revision, writer)` the name is
    /// no longer shown, rather than a stale one).
    pub fn device_info(&self, id: &DeviceId) -> Option<(String, String)> {
        let record = self.state.records.get(&(DEVICES_COLLECTION.to_owned(), device_record(id)))?;
        if record.writer != *id {
            return None;
        }
        let bucket = self.bucket(DEVICES_COLLECTION).ok()?;
        if self.state.accepted.get(&(bucket, device_record(id))).is_some_and(|(_, w)| w != id) {
            return None;
        }
        let v: serde_json::Value = serde_json::from_slice(&record.value).ok()?;
        Some((v.get("name")?.as_str()?.to_owned(), v.get("os")?.as_str()?.to_owned()))
    }

    /// The account id.
    pub fn account(&self) -> AccountId {
        self.state.chain.account()
    }
}
