//! The stored form of the server's state, format version 1 (spec 11.4, [SRV-1], [PERSIST-3]).
//!
//! An [`Account`] is stored as rows of [`KvStore`] tables, so that a
//! request that adds one record or one audit entry rewrites a few rows, not the account.
//! Every integer is big-endian; `bytes` is `u32 length ‖ bytes`; `list(x)` is `u32 count ‖ x…`;
//! `a` is the 32-byte account id.
//!
//! | table | key | value |
//! |---|---|---|
//! | `srv.account` | `a` | the account row (below) |
//! | `srv.record` | `a ‖ bucket(32) ‖ record_id(16)` | `u64 seq ‖ u64 revision ‖ writer(32)` |
//! | `srv.item` | `a ‖ u64 seq` | `u8 kind (1 envelope, 2 stub) ‖ bytes item` |
//! | `srv.batch` | `a ‖ batch_ref(32)` | `u8 uploaded (0/1) ‖ bytes blob ‖ list(bytes slot) ‖ event_hash(32) ‖ list(reported(32)) ‖ signature(64) ‖ u64 events ‖ u64 created_ms` |
//! | `srv.audit` | `a ‖ u64 index` (0, 1, … with no gap) | `u64 at_ms ‖ u8 actor ‖ id(32) ‖ u8 action` |
//! | `srv.nonce` | `nonce(32)` | `u64 expires_ms` (the used-nonce cache of [SRV-14]) |
//!
//! The account row: `bytes email ‖ bytes kdf ‖ auth_hash(32) ‖ bytes recovery_wrap ‖
//! bytes password_wrap ‖ list(bytes statement) ‖ list(id(32) ‖ ed25519(32) ‖ x25519(32) ‖
//! pop(64)) pending ‖ list(id(32) ‖ u64 expires_ms) pending_expiry ‖ list(u64) failed_logins ‖
//! list(id(32) ‖ bytes bundle) ‖ list(id(32) ‖ bytes meta) device_meta ‖ list(id(32) ‖ u64)
//! last_sync_ms ‖ u64 last_seq`. Lists of keyed entries are in strictly ascending key order.
//!
//! Actor tags: 0 anonymous, 1 device, 2 password, 3 recovery; the 32-byte id after the tag
//! is the device id for a device and all zero otherwise. Action tags: 1 Register, 2 Login,
//! 3 AppendChain, 4 PutRecord, 5 PutBatch, 6 ReportEvent, 7 SetPassword, 8 PostPending,
//! 9 PutBundle, 10 Expire, 11 SetRecoveryWrap. This is a storage format: its tags are
//! frozen with version 1, whatever the wire does.
//!
//! Decoders are total: anything that is not exactly what the encoder writes (truncated or
//! trailing bytes, an unknown tag, keys out of order, a chain that does not verify or
//! belongs to another account, rows of an unknown account, a gap in the audit log) is
//! [`Error::StoreCorrupt`]. [PERSIST-2]

use std::collections::BTreeMap;

use super::wire::{Action, Actor, AuditEntry, Item, ItemKind};
use super::{Account, StoredBatch};
use crate::chain::{ChainState, PendingDevice};
use crate::device::{DeviceId, DevicePublic};
use crate::encoding::{Encoder, Reader};
use crate::envelope::RecordId;
use crate::error::{Error, Result};
use crate::keys::{AccountId, Bucket};
use crate::store::KvStore;

/// The version of this format. [PERSIST-3]
pub const FORMAT_VERSION: u32 = 1;

/// Account rows.
pub const ACCOUNTS: &str = "srv.account";
/// Record index rows.
pub const RECORDS: &str = "srv.record";
/// Item rows.
pub const ITEMS: &str = "srv.item";
/// Batch rows.
pub const BATCHES: &str = "srv.batch";
/// Audit rows.
pub const AUDIT: &str = "srv.audit";
/// Used login nonces.
pub const NONCES: &str = "srv.nonce";
/// Every table of the format.
pub const TABLES: &[&str] = &[ACCOUNTS, RECORDS, ITEMS, BATCHES, AUDIT, NONCES];

/// Rows by `(table, key)`.
pub type Rows = BTreeMap<(&'static str, Vec<u8>), Vec<u8>>;

const MAX: usize = u32::MAX as usize;

fn corrupt<E>(_: E) -> Error {
    Error::StoreCorrupt
}

fn key(account: &AccountId, rest: &[&[u8]]) -> Vec<u8> {
    let mut k = account.0.to_vec();
    for r in rest {
        k.extend_from_slice(r);
    }
    k
}

fn list<T>(mut e: Encoder, xs: impl ExactSizeIterator<Item = T>, f: impl Fn(Encoder, T) -> Encoder) -> Encoder {
    e = e.u32(xs.len() as u32);
    for x in xs {
        e = f(e, x);
    }
    e
}

fn actor_tag(a: &Actor) -> (u8, [u8; 32]) {
    match a {
        Actor::Anonymous => (0, [0; 32]),
        Actor::Device(d) => (1, *d),
        Actor::Password => (2, [0; 32]),
        Actor::Recovery => (3, [0; 32]),
    }
}

fn actor_from(tag: u8, id: [u8; 32]) -> Result<Actor> {
    let zero = id == [0; 32];
    Ok(match tag {
        0 if zero => Actor::Anonymous,
        1 => Actor::Device(id),
        2 if zero => Actor::Password,
        3 if zero => Actor::Recovery,
        _ => return Err(Error::StoreCorrupt),
    })
}

fn action_from(tag: u8) -> Result<Action> {
    Ok(match tag {
        1 => Action::Register,
        2 => Action::Login,
        3 => Action::AppendChain,
        4 => Action::PutRecord,
        5 => Action::PutBatch,
        6 => Action::ReportEvent,
        7 => Action::SetPassword,
        8 => Action::PostPending,
        9 => Action::PutBundle,
        10 => Action::Expire,
        11 => Action::SetRecoveryWrap,
        _ => return Err(Error::StoreCorrupt),
    })
}

fn action_tag(a: Action) -> u8 {
    match a {
        Action::Register => 1,
        Action::Login => 2,
        Action::AppendChain => 3,
        Action::PutRecord => 4,
        Action::PutBatch => 5,
        Action::ReportEvent => 6,
        Action::SetPassword => 7,
        Action::PostPending => 8,
        Action::PutBundle => 9,
        Action::Expire => 10,
        Action::SetRecoveryWrap => 11,
    }
}

/// The account row (everything but the rows of their own tables).
fn account_row(a: &Account) -> Vec<u8> {
    let mut e = Encoder::raw()
        .bytes(&a.email)
        .bytes(&a.kdf)
        .fixed(&a.auth_hash)
        .bytes(&a.recovery_wrap)
        .bytes(&a.password_wrap);
    e = list(e, a.chain.encoded().iter(), |e, s| e.bytes(s));
    e = list(e, a.pending.iter(), |e, (id, p)| {
        e.fixed(&id.0).fixed(&p.public.ed25519).fixed(&p.public.x25519).fixed(&p.pop)
    });
    e = list(e, a.pending_expiry.iter(), |e, (id, t)| e.fixed(&id.0).u64(*t));
    e = list(e, a.failed_logins.iter(), |e, t| e.u64(*t));
    e = list(e, a.bundles.iter(), |e, (id, b)| e.fixed(&id.0).bytes(b));
    e = list(e, a.device_meta.iter(), |e, (id, m)| e.fixed(&id.0).bytes(m));
    e = list(e, a.last_sync_ms.iter(), |e, (id, t)| e.fixed(&id.0).u64(*t));
    e.u64(a.last_seq).finish()
}

fn batch_row(b: &StoredBatch) -> Vec<u8> {
    let mut e = Encoder::raw().u8(u8::from(b.uploaded)).bytes(&b.blob);
    e = list(e, b.slots.iter(), |e, s| e.bytes(s));
    e = e.fixed(&b.event_hash);
    e = list(e, b.reported.iter(), |e, r| e.fixed(r));
    e.fixed(&b.signature).u64(b.events).u64(b.created_ms).finish()
}

/// Every row of one account. [SRV-1]
pub fn account_rows(id: &AccountId, a: &Account) -> Rows {
    let mut rows = Rows::new();
    rows.insert((ACCOUNTS, id.0.to_vec()), account_row(a));
    for ((bucket, record), (seq, revision, writer)) in &a.records {
        let v = Encoder::raw().u64(*seq).u64(*revision).fixed(&writer.0).finish();
        rows.insert((RECORDS, key(id, &[&bucket.0, &record.0])), v);
    }
    for (seq, item) in &a.items {
        let kind = match item.kind {
            ItemKind::Envelope => 1,
            ItemKind::Stub => 2,
        };
        rows.insert((ITEMS, key(id, &[&seq.to_be_bytes()])), Encoder::raw().u8(kind).bytes(&item.bytes).finish());
    }
    for (r, b) in &a.batches {
        rows.insert((BATCHES, key(id, &[r])), batch_row(b));
    }
    for (i, entry) in a.audit.iter().enumerate() {
        let (tag, actor) = actor_tag(&entry.actor);
        let v = Encoder::raw().u64(entry.at_ms).u8(tag).fixed(&actor).u8(action_tag(entry.action)).finish();
        rows.insert((AUDIT, key(id, &[&(i as u64).to_be_bytes()])), v);
    }
    rows
}

/// The row of one used nonce. [SRV-14]
pub fn nonce_row(nonce: &[u8; 32], expires_ms: u64) -> ((&'static str, Vec<u8>), Vec<u8>) {
    ((NONCES, nonce.to_vec()), expires_ms.to_be_bytes().to_vec())
}

/// Reads `count` keyed entries in strictly ascending key order.
fn keyed<K: Ord + Copy, V>(
    r: &mut Reader<'_>,
    mut entry: impl FnMut(&mut Reader<'_>) -> Result<(K, V)>,
) -> Result<BTreeMap<K, V>> {
    let n = r.u32().map_err(corrupt)?;
    let mut out = BTreeMap::new();
    let mut last: Option<K> = None;
    for _ in 0..n {
        let (k, v) = entry(r)?;
        if last.is_some_and(|l| l >= k) {
            return Err(Error::StoreCorrupt);
        }
        last = Some(k);
        out.insert(k, v);
    }
    Ok(out)
}

fn read_list<T>(r: &mut Reader<'_>, mut each: impl FnMut(&mut Reader<'_>) -> Result<T>) -> Result<Vec<T>> {
    let n = r.u32().map_err(corrupt)?;
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(each(r)?);
    }
    Ok(out)
}

fn bytes(r: &mut Reader<'_>) -> Result<Vec<u8>> {
    r.bytes(MAX).map(<[u8]>::to_vec).map_err(corrupt)
}

fn arr<const N: usize>(r: &mut Reader<'_>) -> Result<[u8; N]> {
    r.array().map_err(corrupt)
}

fn u64_(r: &mut Reader<'_>) -> Result<u64> {
    r.u64().map_err(corrupt)
}

/// Decodes an account row (the account's other rows are added by [`decode_state`]).
fn decode_account(id: &AccountId, v: &[u8]) -> Result<Account> {
    let mut r = Reader::new(v);
    let email = bytes(&mut r)?;
    let kdf = bytes(&mut r)?;
    let auth_hash = arr(&mut r)?;
    let recovery_wrap = bytes(&mut r)?;
    let password_wrap = bytes(&mut r)?;
    let statements = read_list(&mut r, bytes)?;
    // The chain verifies again, and is this account's. [CHAIN-8]
    let (genesis, rest) = statements.split_first().ok_or(Error::StoreCorrupt)?;
    let mut chain = ChainState::from_genesis(genesis).map_err(corrupt)?;
    for s in rest {
        chain.append(s).map_err(corrupt)?;
    }
    if chain.account() != *id {
        return Err(Error::StoreCorrupt);
    }
    let pending = keyed(&mut r, |r| {
        let id = DeviceId(arr(r)?);
        let public = DevicePublic { ed25519: arr(r)?, x25519: arr(r)? };
        if public.id() != id {
            return Err(Error::StoreCorrupt);
        }
        Ok((id, PendingDevice { public, pop: arr(r)? }))
    })?;
    let pending_expiry = keyed(&mut r, |r| Ok((DeviceId(arr(r)?), u64_(r)?)))?;
    let failed_logins = read_list(&mut r, u64_)?;
    let bundles = keyed(&mut r, |r| Ok((DeviceId(arr(r)?), bytes(r)?)))?;
    let device_meta = keyed(&mut r, |r| Ok((DeviceId(arr(r)?), bytes(r)?)))?;
    let last_sync_ms = keyed(&mut r, |r| Ok((DeviceId(arr(r)?), u64_(r)?)))?;
    let last_seq = u64_(&mut r)?;
    r.finish().map_err(corrupt)?;
    Ok(Account {
        email,
        kdf,
        auth_hash,
        recovery_wrap,
        password_wrap,
        chain,
        pending,
        pending_expiry,
        failed_logins,
        bundles,
        records: BTreeMap::new(),
        items: BTreeMap::new(),
        last_seq,
        batches: BTreeMap::new(),
        audit: Vec::new(),
        device_meta,
        last_sync_ms,
    })
}

fn decode_batch(v: &[u8]) -> Result<StoredBatch> {
    let mut r = Reader::new(v);
    let uploaded = match r.u8().map_err(corrupt)? {
        0 => false,
        1 => true,
        _ => return Err(Error::StoreCorrupt),
    };
    let blob = bytes(&mut r)?;
    let slots = read_list(&mut r, bytes)?;
    let event_hash = arr(&mut r)?;
    let reported = read_list(&mut r, arr::<32>)?;
    let signature = arr(&mut r)?;
    let events = u64_(&mut r)?;
    let created_ms = u64_(&mut r)?;
    r.finish().map_err(corrupt)?;
    Ok(StoredBatch { uploaded, blob, slots, event_hash, reported, signature, events, created_ms })
}

/// Splits `a ‖ rest` with `rest` of exactly `N` bytes.
fn split_key<const N: usize>(k: &[u8]) -> Result<(AccountId, [u8; N])> {
    if k.len() != 32 + N {
        return Err(Error::StoreCorrupt);
    }
    let (a, rest) = k.split_at(32);
    Ok((AccountId(a.try_into().map_err(corrupt)?), rest.try_into().map_err(corrupt)?))
}

fn fixed_value<const N: usize>(v: &[u8]) -> Result<[u8; N]> {
    v.try_into().map_err(corrupt)
}

/// The server's state, decoded from the rows of every table (each in ascending key order, as
/// [`KvStore::scan`] returns them).
pub struct Decoded {
    /// Accounts by id.
    pub accounts: BTreeMap<AccountId, Account>,
    /// The used-nonce cache. [SRV-14]
    pub used_nonces: BTreeMap<[u8; 32], u64>,
}

/// Decodes the whole state from the tables of `store`. [PERSIST-2]
pub fn decode_state<K: KvStore + ?Sized>(store: &K) -> Result<Decoded> {
    let scan = |t| store.scan(t);
    let mut accounts = BTreeMap::new();
    for (k, v) in scan(ACCOUNTS)? {
        let id = AccountId(fixed_value(&k)?);
        accounts.insert(id, decode_account(&id, &v)?);
    }
    for (k, v) in scan(RECORDS)? {
        let (id, rest) = split_key::<48>(&k)?;
        let a = accounts.get_mut(&id).ok_or(Error::StoreCorrupt)?;
        let (bucket, record) = rest.split_at(32);
        let mut r = Reader::new(&v);
        let entry = (u64_(&mut r)?, u64_(&mut r)?, DeviceId(arr(&mut r)?));
        r.finish().map_err(corrupt)?;
        let key = (Bucket(fixed_value(bucket)?), RecordId(fixed_value(record)?));
        a.records.insert(key, entry);
    }
    for (k, v) in scan(ITEMS)? {
        let (id, seq) = split_key::<8>(&k)?;
        let a = accounts.get_mut(&id).ok_or(Error::StoreCorrupt)?;
        let seq = u64::from_be_bytes(seq);
        let mut r = Reader::new(&v);
        let kind = match r.u8().map_err(corrupt)? {
            1 => ItemKind::Envelope,
            2 => ItemKind::Stub,
            _ => return Err(Error::StoreCorrupt),
        };
        let bytes = bytes(&mut r)?;
        r.finish().map_err(corrupt)?;
        a.items.insert(seq, Item { seq, kind, bytes });
    }
    for (k, v) in scan(BATCHES)? {
        let (id, r) = split_key::<32>(&k)?;
        let a = accounts.get_mut(&id).ok_or(Error::StoreCorrupt)?;
        a.batches.insert(r, decode_batch(&v)?);
    }
    for (k, v) in scan(AUDIT)? {
        let (id, index) = split_key::<8>(&k)?;
        let a = accounts.get_mut(&id).ok_or(Error::StoreCorrupt)?;
        // Rows come in key order: the log has no gap.
        if u64::from_be_bytes(index) != a.audit.len() as u64 {
            return Err(Error::StoreCorrupt);
        }
        let mut r = Reader::new(&v);
        let at_ms = u64_(&mut r)?;
        let tag = r.u8().map_err(corrupt)?;
        let actor = actor_from(tag, arr(&mut r)?)?;
        let action = action_from(r.u8().map_err(corrupt)?)?;
        r.finish().map_err(corrupt)?;
        a.audit.push(AuditEntry { at_ms, actor, action });
    }
    let mut used_nonces = BTreeMap::new();
    for (k, v) in scan(NONCES)? {
        used_nonces.insert(fixed_value(&k)?, u64::from_be_bytes(fixed_value(&v)?));
    }
    Ok(Decoded { accounts, used_nonces })
}
