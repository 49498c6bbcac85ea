//! The device's state on a [`KvStore`] (spec 11.8, [PERSIST-1] to [PERSIST-5]).
//!
//! A [`Client`](super::Client) commits through a [`Persist`]: [`Volatile`]
//! keeps nothing (tests, the model checker), [`Persistent`] writes the
//! [`State`] to any [`KvStore`] in the format of [PERSIST-4], one
//! [`WriteBatch`] per operation step, holding only the entries that changed.
//!
//! ```text
//! table               key                                  value
//! client.meta         "version"                            u32 = 1
//! client.meta         "device"                             signing seed[32] ‖ hpke secret[32]
//! client.meta         "cursor"                             u64
//! client.meta         "head"                               u64 chain length ‖ head hash[32]
//! client.meta         "outbox"                             bytes collection ‖ record_id[16] ‖ bucket[32]
//!                                                          ‖ u64 revision ‖ u64 seq ‖ bytes value ‖ bytes envelope
//! client.umks         u32 epoch                            umk[32]
//! client.chain        u64 position                         statement
//! client.collections  name                                 (empty)
//! client.records      bytes collection ‖ record_id[16]     u64 revision ‖ writer[32] ‖ bytes value
//! client.accepted     bucket[32] ‖ record_id[16]           u64 revision ‖ writer[32]
//! client.writers      writer[32]                           u64 last sequence number
//! client.identities   writer[32] ‖ u64 seq                 identity[32]
//! client.revocations  u64 position                         u64 boundary
//! client.refused      digest[32]                           (empty)
//! client.bounds       writer[32]                           u64 accepted sequence number when alerted
//! ```

use std::collections::BTreeMap;

use zeroize::Zeroizing;

use super::alerts::Alert;
use super::state::{Outbox, Record, State};
use crate::chain::ChainState;
use crate::device::{DeviceId, DeviceKeys, DeviceSigningSeed};
use crate::encoding::{Encoder, Reader};
use crate::envelope::RecordId;
use crate::error::{Error, Result};
use crate::hpke::HpkeSecretKey;
use crate::keys::{Bucket, Umk};
use crate::primitives::sha256;
use crate::store::{KvStore, WriteBatch};

/// The format version this code writes. [PERSIST-3]
pub const FORMAT_VERSION: u32 = 1;

const META: &str = "client.meta";
const UMKS: &str = "client.umks";
const CHAIN: &str = "client.chain";
const COLLECTIONS: &str = "client.collections";
const RECORDS: &str = "client.records";
const ACCEPTED: &str = "client.accepted";
const WRITERS: &str = "client.writers";
const IDENTITIES: &str = "client.identities";
const REVOCATIONS: &str = "client.revocations";
const REFUSED: &str = "client.refused";
const ALERTS: &str = "client.alerts";
const BOUNDS: &str = "client.bounds";

/// Every table of the format. [PERSIST-4]
pub const TABLES: [&str; 12] =
    [META, UMKS, CHAIN, COLLECTIONS, RECORDS, ACCEPTED, WRITERS, IDENTITIES, REVOCATIONS, REFUSED, ALERTS, BOUNDS];

/// Longest stored value field (a record value, an envelope, a statement): the
/// longest envelope, which bounds the others. [PERSIST-4]
const MAX_FIELD: usize = crate::envelope::MAX_ENVELOPE_LEN;

/// Where a client's state goes after each operation step. [PERSIST-1]
pub trait Persist {
    /// Whether commits reach a store that outlives the client (and can fail).
    const DURABLE: bool;
    /// Makes `state` durable atomically (all of it or none of it), or fails
    /// with an [`Error::StoreIo`]-like internal error and changes nothing.
    fn commit(&mut self, state: &State) -> Result<()>;
}

/// Keeps nothing: the state lives as long as the client value (tests, the
/// model checker). Its commits always succeed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Volatile;

impl Persist for Volatile {
    const DURABLE: bool = false;
    fn commit(&mut self, _: &State) -> Result<()> {
        Ok(())
    }
}

/// Encoded entries: `(table, key)` → value (values may hold keys: zeroized on drop).
pub type Entries = BTreeMap<(&'static str, Vec<u8>), Zeroizing<Vec<u8>>>;

/// A client state kept in a [`KvStore`], in format version 1. [PERSIST-4]
///
/// It remembers a digest of every entry it wrote, so each commit's batch holds
/// only the entries that changed (and deletes of the ones that went away).
#[derive(Clone, PartialEq, Eq)]
pub struct Persistent<S: KvStore> {
    store: S,
    written: BTreeMap<(&'static str, Vec<u8>), [u8; 32]>,
}

impl<S: KvStore> core::fmt::Debug for Persistent<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Persistent").field("entries", &self.written.len()).finish_non_exhaustive()
    }
}

impl<S: KvStore> Persistent<S> {
    /// Wraps `store`, remembering what it holds now (so that a first commit
    /// replaces it completely).
    pub fn new(store: S) -> Result<Self> {
        let mut written = BTreeMap::new();
        for t in TABLES {
            for (k, v) in store.scan(t)? {
                written.insert((t, k), sha256(&[&v]));
            }
        }
        Ok(Persistent { store, written })
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, mutably (a test's fault injection; writing to it behind the
    /// client's back desynchronizes the change tracking: reopen instead).
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Gives the store back.
    pub fn into_store(self) -> S {
        self.store
    }

    /// Loads the state the store holds: `None` for a store that holds no
    /// client state; [`Error::StoreVersion`] for a version this code does not
    /// know, [`Error::StoreCorrupt`] for anything that does not decode or
    /// does not verify. [PERSIST-2] [PERSIST-3]
    pub fn load(&self) -> Result<Option<State>> {
        load(&self.store)
    }
}

impl<S: KvStore> Persist for Persistent<S> {
    const DURABLE: bool = true;
    fn commit(&mut self, state: &State) -> Result<()> {
        let entries = encode(state);
        let mut batch = WriteBatch::default();
        let mut next = BTreeMap::new();
        for ((t, k), v) in &entries {
            let d = sha256(&[v.as_slice()]);
            if self.written.get(&(*t, k.clone())) != Some(&d) {
                batch.put(t, k, v);
            }
            next.insert((*t, k.clone()), d);
        }
        for (t, k) in self.written.keys() {
            if !entries.contains_key(&(*t, k.clone())) {
                batch.delete(t, k);
            }
        }
        if batch.is_empty() {
            return Ok(());
        }
        self.store.commit(batch)?;
        self.written = next;
        Ok(())
    }
}

fn put(e: &mut Entries, table: &'static str, key: Vec<u8>, value: Vec<u8>) {
    e.insert((table, key), Zeroizing::new(value));
}

/// The entries of `state` in format version 1. [PERSIST-4]
pub fn encode(state: &State) -> Entries {
    let mut e = Entries::new();
    put(&mut e, META, b"version".to_vec(), FORMAT_VERSION.to_be_bytes().to_vec());
    let dev = &state.keys.device;
    let mut seeds = dev.signing_seed().expose().to_vec();
    seeds.extend_from_slice(dev.hpke_key().expose());
    put(&mut e, META, b"device".to_vec(), seeds);
    put(&mut e, META, b"cursor".to_vec(), state.cursor.to_be_bytes().to_vec());
    let head = state.chain.head();
    put(&mut e, META, b"head".to_vec(), Encoder::raw().u64(head.len).fixed(&head.hash).finish());
    if let Some(o) = &state.outbox {
        let v = Encoder::raw()
            .bytes(o.collection.as_bytes())
            .fixed(&o.record_id.0)
            .fixed(&o.bucket.0)
            .u64(o.revision)
            .u64(o.seq)
            .bytes(&o.value)
            .bytes(&o.envelope)
            .finish();
        put(&mut e, META, b"outbox".to_vec(), v);
    }
    for (epoch, umk) in &state.keys.umks {
        put(&mut e, UMKS, epoch.to_be_bytes().to_vec(), umk.expose().to_vec());
    }
    for (p, s) in state.chain.encoded().into_iter().enumerate() {
        put(&mut e, CHAIN, (p as u64).to_be_bytes().to_vec(), s);
    }
    for c in &state.collections {
        put(&mut e, COLLECTIONS, c.as_bytes().to_vec(), Vec::new());
    }
    for ((c, id), r) in &state.records {
        let k = Encoder::raw().bytes(c.as_bytes()).fixed(&id.0).finish();
        let v = Encoder::raw().u64(r.revision).fixed(&r.writer.0).bytes(&r.value).finish();
        put(&mut e, RECORDS, k, v);
    }
    for ((b, id), (rev, w)) in &state.accepted {
        let k = Encoder::raw().fixed(&b.0).fixed(&id.0).finish();
        put(&mut e, ACCEPTED, k, Encoder::raw().u64(*rev).fixed(&w.0).finish());
    }
    for (w, s) in &state.writer_seq {
        put(&mut e, WRITERS, w.0.to_vec(), s.to_be_bytes().to_vec());
    }
    for ((w, s), id) in &state.identities {
        put(&mut e, IDENTITIES, Encoder::raw().fixed(&w.0).u64(*s).finish(), id.to_vec());
    }
    for (at, boundary) in &state.revocations {
        put(&mut e, REVOCATIONS, at.to_be_bytes().to_vec(), boundary.to_be_bytes().to_vec());
    }
    for d in &state.refused_above_bound {
        put(&mut e, REFUSED, d.to_vec(), Vec::new());
    }
    for (w, last) in &state.bound_alerted {
        put(&mut e, BOUNDS, w.0.to_vec(), last.to_be_bytes().to_vec());
    }
    for (i, a) in state.unread_alerts.iter().enumerate() {
        put(&mut e, ALERTS, (i as u32).to_be_bytes().to_vec(), encode_alert(a));
    }
    e
}

/// An unread alert: `tag(1) ‖ fields` ([PERSIST-6]): 1 withheld, 2 rollback,
/// 3 equivocation, 4 stale head (`writer(32) ‖ u64(seq)`); 5 fork (nothing);
/// 6 chain (`bytes(code)`); 7 forged (`u64(item_seq) ‖ bytes(code)`).
fn encode_alert(a: &Alert) -> Vec<u8> {
    let e = Encoder::raw();
    match a {
        Alert::Withheld { writer, missing_seq } => e.u8(1).fixed(&writer.0).u64(*missing_seq),
        Alert::Rollback { writer, seq } => e.u8(2).fixed(&writer.0).u64(*seq),
        Alert::Equivocation { writer, seq } => e.u8(3).fixed(&writer.0).u64(*seq),
        Alert::StaleHead { writer, seq } => e.u8(4).fixed(&writer.0).u64(*seq),
        Alert::Fork => e.u8(5),
        Alert::Chain(err) => e.u8(6).bytes(err.code().as_bytes()),
        Alert::Forged { item_seq, error } => e.u8(7).u64(*item_seq).bytes(error.code().as_bytes()),
    }
    .finish()
}

fn decode_alert(bytes: &[u8]) -> Result<Alert> {
    let code = |r: &mut Reader<'_>| -> Result<Error> {
        let c = core::str::from_utf8(r.bytes(64)?).map_err(corrupt)?;
        Error::from_code(c).ok_or(Error::StoreCorrupt)
    };
    read(bytes, |r| {
        Ok(match r.u8()? {
            1 => Alert::Withheld { writer: DeviceId(r.array()?), missing_seq: r.u64()? },
            2 => Alert::Rollback { writer: DeviceId(r.array()?), seq: r.u64()? },
            3 => Alert::Equivocation { writer: DeviceId(r.array()?), seq: r.u64()? },
            4 => Alert::StaleHead { writer: DeviceId(r.array()?), seq: r.u64()? },
            5 => Alert::Fork,
            6 => Alert::Chain(code(r)?),
            7 => Alert::Forged { item_seq: r.u64()?, error: code(r)? },
            _ => return Err(Error::StoreCorrupt),
        })
    })
}

/// Any decoding failure of stored bytes is `E_STORE_CORRUPT`. [PERSIST-2]
fn corrupt<E>(_: E) -> Error {
    Error::StoreCorrupt
}

/// Reads a whole value with `f`, refusing trailing bytes. [PERSIST-2]
fn read<T>(bytes: &[u8], f: impl FnOnce(&mut Reader<'_>) -> Result<T>) -> Result<T> {
    let mut r = Reader::new(bytes);
    let v = f(&mut r).map_err(corrupt)?;
    r.finish().map_err(corrupt)?;
    Ok(v)
}

fn u64_of(bytes: &[u8]) -> Result<u64> {
    read(bytes, |r| r.u64())
}

fn string(bytes: &[u8]) -> Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(corrupt)
}

fn empty(bytes: &[u8]) -> Result<()> {
    if bytes.is_empty() { Ok(()) } else { Err(Error::StoreCorrupt) }
}

/// The stored format version: `None` when the store holds no client state. [PERSIST-3]
pub fn stored_version(store: &dyn KvStore) -> Result<Option<u32>> {
    match store.get(META, b"version")? {
        Some(v) => read(&v, |r| r.u32()).map(Some),
        None => {
            for t in TABLES {
                if !store.scan(t)?.is_empty() {
                    return Err(Error::StoreCorrupt);
                }
            }
            Ok(None)
        }
    }
}

/// Brings an older format forward inside one atomic commit. Version 1 is the
/// first format: there is nothing to migrate yet, and every later version
/// adds its step here (`from` → `from + 1`) so that a store of any known
/// version reaches [`FORMAT_VERSION`]. [PERSIST-3]
pub fn migrate(store: &mut dyn KvStore) -> Result<()> {
    match stored_version(store)? {
        None => Ok(()),
        Some(FORMAT_VERSION) => Ok(()),
        Some(_) => Err(Error::StoreVersion),
    }
}

/// Decodes a state of format version 1, checking that the chain verifies
/// from genesis and that every UMK matches its key check. [PERSIST-2] [PERSIST-4]
pub fn load(store: &dyn KvStore) -> Result<Option<State>> {
    match stored_version(store)? {
        None => return Ok(None),
        Some(FORMAT_VERSION) => {}
        Some(_) => return Err(Error::StoreVersion),
    }
    let get = |k: &[u8]| -> Result<Option<Vec<u8>>> { store.get(META, k) };
    let seeds = Zeroizing::new(get(b"device")?.ok_or(Error::StoreCorrupt)?);
    let (signing, hpke) = read(&seeds, |r| Ok((r.array::<32>()?, r.array::<32>()?)))?;
    let device = DeviceKeys::from_seeds(DeviceSigningSeed::from_bytes(signing), HpkeSecretKey::from_bytes(hpke));
    let cursor = u64_of(&get(b"cursor")?.ok_or(Error::StoreCorrupt)?)?;
    let mut statements = Vec::new();
    for (p, (k, v)) in store.scan(CHAIN)?.into_iter().enumerate() {
        if u64_of(&k)? != p as u64 {
            return Err(Error::StoreCorrupt);
        }
        statements.push(v);
    }
    let chain = ChainState::verify(&statements).map_err(corrupt)?;
    // the chain table must end at the head committed with it: a lost tail is not a shorter chain
    let head = read(&get(b"head")?.ok_or(Error::StoreCorrupt)?, |r| Ok((r.u64()?, r.array::<32>()?)))?;
    if (chain.head().len, chain.head().hash) != head {
        return Err(Error::StoreCorrupt);
    }
    let mut umks = BTreeMap::new();
    for (k, v) in store.scan(UMKS)? {
        let epoch = read(&k, |r| r.u32())?;
        let umk = Umk::from_bytes(read(&v, |r| r.array::<32>())?);
        chain.check_umk(epoch, &umk).map_err(corrupt)?;
        umks.insert(epoch, umk);
    }
    let mut state = State::new(device, chain, umks);
    state.cursor = cursor;
    state.collections.clear();
    for (k, v) in store.scan(COLLECTIONS)? {
        empty(&v)?;
        state.collections.insert(string(&k)?);
    }
    for (k, v) in store.scan(RECORDS)? {
        let (c, id) = read(&k, |r| Ok((r.bytes(255)?.to_vec(), r.array::<16>()?)))?;
        let (revision, writer, value) = read(&v, |r| Ok((r.u64()?, r.array::<32>()?, r.bytes(MAX_FIELD)?.to_vec())))?;
        let record = Record { revision, writer: DeviceId(writer), value };
        state.records.insert((string(&c)?, RecordId(id)), record);
    }
    for (k, v) in store.scan(ACCEPTED)? {
        let (b, id) = read(&k, |r| Ok((r.array::<32>()?, r.array::<16>()?)))?;
        let (rev, w) = read(&v, |r| Ok((r.u64()?, r.array::<32>()?)))?;
        state.accepted.insert((Bucket(b), RecordId(id)), (rev, DeviceId(w)));
    }
    for (k, v) in store.scan(WRITERS)? {
        let w = read(&k, |r| r.array::<32>())?;
        state.writer_seq.insert(DeviceId(w), u64_of(&v)?);
    }
    for (k, v) in store.scan(IDENTITIES)? {
        let (w, s) = read(&k, |r| Ok((r.array::<32>()?, r.u64()?)))?;
        state.identities.insert((DeviceId(w), s), read(&v, |r| r.array::<32>())?);
    }
    for (k, v) in store.scan(REVOCATIONS)? {
        state.revocations.insert(u64_of(&k)?, u64_of(&v)?);
    }
    for (k, v) in store.scan(REFUSED)? {
        empty(&v)?;
        state.refused_above_bound.insert(read(&k, |r| r.array::<32>())?);
    }
    // [SYNC-15] [PERSIST-4] absent from stores written before the table existed: nothing alerted
    for (k, v) in store.scan(BOUNDS)? {
        state.bound_alerted.insert(DeviceId(read(&k, |r| r.array::<32>())?), u64_of(&v)?);
    }
    // [PERSIST-6] unread alerts, in order: keys 0, 1, 2, ... (a gap is corruption)
    for (i, (k, v)) in store.scan(ALERTS)?.into_iter().enumerate() {
        if read(&k, |r| r.u32())? as usize != i || i >= crate::client::state::MAX_UNREAD_ALERTS {
            return Err(Error::StoreCorrupt);
        }
        state.unread_alerts.push(decode_alert(&v)?);
    }
    if let Some(v) = get(b"outbox")? {
        let o = read(&v, |r| {
            Ok((
                r.bytes(255)?.to_vec(),
                r.array::<16>()?,
                r.array::<32>()?,
                r.u64()?,
                r.u64()?,
                r.bytes(MAX_FIELD)?.to_vec(),
                r.bytes(MAX_FIELD)?.to_vec(),
            ))
        })?;
        state.outbox = Some(Outbox {
            collection: string(&o.0)?,
            record_id: RecordId(o.1),
            bucket: Bucket(o.2),
            revision: o.3,
            seq: o.4,
            value: o.5,
            envelope: o.6,
        });
    }
    for (k, _) in store.scan(META)? {
        if !matches!(k.as_slice(), b"version" | b"device" | b"cursor" | b"head" | b"outbox") {
            return Err(Error::StoreCorrupt);
        }
    }
    Ok(Some(state))
}
