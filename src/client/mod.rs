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
use crate::device::{DeviceId, DeviceKeys};
use crate::envelope::payload::Schema;
use crate::envelope::{
    self, AuthorizedWriter, EnvelopeRef, EpochAccess, Header, OpenContext, RecordId, RecordMeta, Stub, Suite,
};
use crate::error::{Error, Result};
use crate::keys::{AccountId, Bucket, CollectionKey, Epoch, EpochKeys, Umk};
use crate::primitives::CryptoRng;
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
    /// The served chain was refused for another reason (shorter: rollback). [SYNC-11]
    Chain(Error),
    /// An item failed verification (signature, writer, epoch, commitment,
    /// decryption, structure): forged, tampered or swapped. [SYNC-12]
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
            Alert::Chain(e) | Alert::Forged { error: e, .. } => *e,
        }
    }
}

/// What one sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SyncReport {
    /// Envelopes whose payload became the record's value.
    pub applied: usize,
    /// Problems found; the data they concern was not applied.
    pub alerts: Vec<Alert>,
}

/// An accepted record value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Record {
    /// Its revision.
    pub revision: u64,
    /// Who wrote it.
    pub writer: DeviceId,
    /// The payload.
    pub value: Vec<u8>,
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

/// A verified item, before the sequence checks.
struct Verified {
    header: Header,
    /// The payload, if it was an envelope of a collection this device knows.
    payload: Option<(String, Vec<u8>)>,
    /// A stub: it counts for the sequence only if superseded.
    stub: bool,
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

/// Runs [`classify`] over a writer's items in order; returns the new last
/// sequence number or the first alert's code (the vectors' procedure). [SYNC-9] [SYNC-10]
pub fn writer_sequence(mut last: u64, items: &[(u64, bool, bool, bool)]) -> Result<u64> {
    for &(seq, stub, superseded, older) in items {
        if classify(last, seq, stub, superseded, older)? == Step::Accept {
            last = seq;
        }
    }
    Ok(last)
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
}

impl core::fmt::Debug for Client {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client")
            .field("device", &self.keys.device.id())
            .field("chain_len", &self.chain.head().len)
            .field("records", &self.records)
            .field("writer_seq", &self.writer_seq)
            .field("cursor", &self.cursor)
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
        }
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
            next.append(s)?;
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
    /// in the header, current epoch. Applied locally only once the server
    /// stored it, so a refused write leaves no gap. [SYNC-6]
    pub fn write<R: CryptoRng + ?Sized>(
        &mut self,
        t: &mut dyn Transport,
        collection: &str,
        record_id: RecordId,
        value: &[u8],
        rng: &mut R,
    ) -> Result<u64> {
        let bucket = self.bucket(collection)?;
        let me = self.id();
        let revision = self
            .accepted
            .get(&(bucket, record_id))
            .map_or(Ok(1), |(r, _)| r.checked_add(1).ok_or(Error::SrvRevision))?;
        let seq = self.writer_seq.get(&me).copied().unwrap_or(0).checked_add(1).ok_or(Error::SyncWithheld)?;
        let epoch = self.chain.epoch();
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
            chain_head: self.chain.head().hash,
        };
        let sk = ed25519_dalek::SigningKey::from_bytes(self.keys.device.signing_seed().expose());
        let env = envelope::seal(&self.chain.account(), &meta, &ck, &sk, value, rng)?;
        match t.call(Request::PutRecord { token: self.tok()?, envelope: env }) {
            Response::Stored { .. } => {}
            Response::Error(e) => return Err(e),
            _ => return Err(Error::DecodeValue),
        }
        self.collections.insert(collection.to_owned());
        self.writer_seq.insert(me, seq);
        self.accepted.insert((bucket, record_id), (revision, me));
        self.records.insert((collection.to_owned(), record_id), Record { revision, writer: me, value: value.to_vec() });
        Ok(revision)
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
        if let Err(e) = next.update(statements) {
            return Some(if e == Error::ChainFork { Alert::Fork } else { Alert::Chain(e) });
        }
        match next.open_epoch_umks(self.keys.device.hpke_key()) {
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
                    cursor = last;
                    items.extend(batch);
                }
                Response::Error(e) => return Err(e),
                _ => return Err(Error::DecodeValue),
            }
        }
        let report = self.apply_items(&items);
        if report.alerts.is_empty() {
            self.cursor = cursor;
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
    /// (for a stub, or an envelope of another collection), then that its
    /// chain head is in the verified chain. [SYNC-8]
    fn verify(
        &self,
        item: &Item,
        writers: &[AuthorizedWriter],
        buckets: &BTreeMap<Bucket, String>,
    ) -> Result<Verified> {
        let account = self.chain.account();
        let dummy = CollectionKey::from_bytes([0; 32]);
        let sig_epochs: Vec<EpochAccess<'_>> =
            (0..=self.chain.epoch()).map(|epoch| EpochAccess { epoch, collection_key: &dummy, writers }).collect();
        let sig_ctx = OpenContext { account, epochs: &sig_epochs, bucket: None, record_id: None };
        let v = match item.kind {
            ItemKind::Stub => {
                let stub = Stub::decode(&item.bytes)?;
                envelope::verify_stub(&stub, &sig_ctx)?;
                Verified { header: stub.header, payload: None, stub: true }
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
                        let ctx = OpenContext { account, epochs: &epochs, bucket: None, record_id: None };
                        let opened = envelope::open(&item.bytes, &ctx)?;
                        Verified {
                            header: opened.header,
                            payload: Some((name.clone(), opened.into_payload())),
                            stub: false,
                        }
                    }
                    None => {
                        envelope::verify_stub(&env.stub(), &sig_ctx)?;
                        Verified { header: env.header, payload: None, stub: false }
                    }
                }
            }
        };
        // [SYNC-11] the writer's chain head must be one this device verified.
        let len = self.chain.head().len;
        if !(0..len).any(|p| self.chain.hash_at(p) == Some(v.header.chain_head)) {
            return Err(Error::ChainFork);
        }
        Ok(v)
    }

    /// The pure verification core of [`Client::sync`]: verifies every item,
    /// checks writer sequence numbers and revisions, then merges by
    /// last-writer-wins on `(revision, writer id)`. [SYNC-8] [SYNC-9] [SYNC-10] [SYNC-13]
    ///
    /// ```text
    /// for each item: verify (ENV-12, or the stub checks) and its chain head   else Forged / Fork
    /// for each writer w, its verified items ascending by writer_seq:
    ///   seq <= last[w]:  a full envelope older than the record's accepted state  -> Rollback; else ignore
    ///   seq != last[w]+1                                                         -> Withheld(last[w]+1), stop w
    ///   a stub not superseded by a verified newer revision                       -> Withheld(seq), stop w
    ///   last[w] = seq; merge: (revision, writer) > accepted[record] -> record := payload
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
        let mut newest: BTreeMap<(Bucket, RecordId), u64> = self.accepted.iter().map(|(k, (r, _))| (*k, *r)).collect();
        for item in items {
            match self.verify(item, &writers, &buckets) {
                Ok(v) => {
                    if !v.stub {
                        let n = newest.entry((v.header.bucket, v.header.record_id)).or_insert(0);
                        *n = (*n).max(v.header.revision);
                    }
                    by_writer.entry(v.header.writer).or_default().entry(v.header.writer_seq).or_insert(v);
                }
                Err(Error::ChainFork) => report.alerts.push(Alert::Fork),
                Err(error) => report.alerts.push(Alert::Forged { item_seq: item.seq, error }),
            }
        }
        for (writer, seqs) in by_writer {
            let mut last = self.writer_seq.get(&writer).copied().unwrap_or(0);
            for (seq, v) in seqs {
                let key = (v.header.bucket, v.header.record_id);
                let acc = self.accepted.get(&key).copied();
                let older = !v.stub && acc.is_some_and(|a| a > (v.header.revision, writer));
                let superseded = newest.get(&key).is_some_and(|n| *n > v.header.revision);
                match classify(last, seq, v.stub, superseded, older) {
                    Ok(Step::Ignore) => continue,
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
                last = seq;
                // [SYNC-13] last writer wins on (revision, writer id).
                if let Some((collection, value)) = v.payload
                    && acc.is_none_or(|a| (v.header.revision, writer) > a)
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
