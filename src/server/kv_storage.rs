//! The server's [`Storage`] over a [`KvStore`]: the same state as [`MemoryStorage`], made
//! durable one request at a time (spec 11.4, [SRV-1], [SRV-12], [PERSIST-1]).
//!
//! The state is loaded whole when the storage opens (the reference server's simplicity: it
//! is held in memory as [`MemoryStorage`] holds it) and every change a request makes is
//! written back in **one** [`KvStore::commit`] when [`Server::handle`](super::Server::handle)
//! ends, before the response leaves. A crash therefore loses at most the request in flight,
//! whose response was never sent: the server never acknowledges a write it has not
//! committed. Only the rows that changed are written ([`account_codec`]
//! gives the format).
//!
//! What stays in memory, on purpose: sessions ([SYNC-4]). A restart ends them and devices
//! log in again; bearer tokens never reach the disk. The used-nonce cache of [SRV-14] is
//! persisted: without it a login captured in the minute before a restart could be replayed
//! after it.
//!
//! Changes made through the [`Storage`] methods outside `handle` (tests, tools) are written
//! by the next [`Storage::commit`]: call it yourself to make them durable at once.
//!
//! A failed commit puts the storage back at its last committed state and stops it: every
//! later request answers `E_STORE_IO` until it is reopened, because after a failed `fsync`
//! what is on the medium is unknown. [PERSIST-2]
//!
//! ```
//! use blindsync::server::{KvStorage, Server, ServerConfig, wire::{Request, Response}};
//! use blindsync::store::MemoryStore;
//! use blindsync::primitives::SeededRng;
//! let storage = KvStorage::open(MemoryStore::default()).unwrap(); // or a DiskStore
//! let mut server = Server::new(storage, ServerConfig::new([9; 32]));
//! let mut rng = SeededRng::from_label("doc");
//! let r = server.handle(Request::GetKdf { email: b"nobody@example.org".to_vec() }, 0, &mut rng);
//! assert!(matches!(r, Response::Kdf { .. }));
//! ```

use std::collections::BTreeMap;

use super::account_codec::{self, Rows};
use super::wire::Token;
use super::{Account, MemoryStorage, Session, Storage};
use crate::error::{Error, Result};
use crate::keys::AccountId;
use crate::store::schema::Schema;
use crate::store::{KvStore, WriteBatch};

/// The server's stored format: version [`account_codec::FORMAT_VERSION`], no migration yet
/// (version 1 is the first). [PERSIST-3]
pub const SERVER_SCHEMA: Schema =
    Schema { name: "server", current: account_codec::FORMAT_VERSION, tables: account_codec::TABLES, migrations: &[] };

/// A [`Storage`] that commits each request's changes to a [`KvStore`].
#[derive(Clone)]
pub struct KvStorage<K: KvStore> {
    store: K,
    mem: MemoryStorage,
    /// Accounts touched since the last commit, as they were then (`None`: did not exist).
    before: BTreeMap<AccountId, Option<Account>>,
    /// The used-nonce cache as of the last commit, once touched.
    nonces_before: Option<BTreeMap<[u8; 32], u64>>,
    failed: bool,
}

impl<K: KvStore> core::fmt::Debug for KvStorage<K> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KvStorage").field("state", &self.mem).field("failed", &self.failed).finish_non_exhaustive()
    }
}

impl<K: KvStore> KvStorage<K> {
    /// Opens the server state in `store`: migrates an older format forward ([PERSIST-3]),
    /// decodes everything (total: malformed data is `E_STORE_CORRUPT`, [PERSIST-2]). A new
    /// store is an empty server.
    pub fn open(mut store: K) -> Result<Self> {
        SERVER_SCHEMA.open(&mut store)?;
        let decoded = account_codec::decode_state(&store)?;
        let mut mem = MemoryStorage::default();
        for (id, a) in decoded.accounts {
            // One account per email. [SRV-2]
            if mem.emails.insert(a.email.clone(), id).is_some() {
                return Err(Error::StoreCorrupt);
            }
            mem.accounts.insert(id, a);
        }
        mem.used_nonces = decoded.used_nonces;
        Ok(KvStorage { store, mem, before: BTreeMap::new(), nonces_before: None, failed: false })
    }

    /// Whether a commit failed: the storage then refuses every request until reopened.
    /// [PERSIST-2]
    pub fn stopped(&self) -> bool {
        self.failed
    }

    /// The store underneath (tests: reopen it as a restarted server would).
    pub fn into_inner(self) -> K {
        self.store
    }

    /// The store underneath.
    pub fn inner(&self) -> &K {
        &self.store
    }

    /// The state as it is in memory (equal to the stored state after each commit).
    pub fn state(&self) -> &MemoryStorage {
        &self.mem
    }

    fn touch(&mut self, id: &AccountId) {
        if !self.before.contains_key(id) {
            self.before.insert(*id, self.mem.accounts.get(id).cloned());
        }
    }

    fn batch(&self) -> WriteBatch {
        let mut batch = WriteBatch::default();
        for (id, old) in &self.before {
            let old = old.as_ref().map(|a| account_codec::account_rows(id, a)).unwrap_or_default();
            let new = self.mem.accounts.get(id).map(|a| account_codec::account_rows(id, a)).unwrap_or_default();
            diff(&mut batch, &old, &new);
        }
        if let Some(old) = &self.nonces_before {
            let rows = |m: &BTreeMap<[u8; 32], u64>| -> Rows {
                m.iter().map(|(n, t)| account_codec::nonce_row(n, *t)).collect()
            };
            diff(&mut batch, &rows(old), &rows(&self.mem.used_nonces));
        }
        batch
    }

    fn rollback(&mut self) {
        for (id, old) in core::mem::take(&mut self.before) {
            match old {
                Some(a) => {
                    self.mem.accounts.insert(id, a);
                }
                None => {
                    if let Some(a) = self.mem.accounts.remove(&id) {
                        self.mem.emails.remove(&a.email);
                    }
                }
            }
        }
        if let Some(n) = self.nonces_before.take() {
            self.mem.used_nonces = n;
        }
    }
}

fn diff(batch: &mut WriteBatch, old: &Rows, new: &Rows) {
    for ((table, key), value) in new {
        if old.get(&(*table, key.clone())) != Some(value) {
            batch.put(table, key, value);
        }
    }
    for (table, key) in old.keys() {
        if !new.contains_key(&(*table, key.clone())) {
            batch.delete(table, key);
        }
    }
}

impl<K: KvStore> Storage for KvStorage<K> {
    fn account(&self, id: &AccountId) -> Option<&Account> {
        self.mem.account(id)
    }
    fn account_mut(&mut self, id: &AccountId) -> Option<&mut Account> {
        self.touch(id);
        self.mem.account_mut(id)
    }
    fn insert_account(&mut self, id: AccountId, account: Account) {
        self.touch(&id);
        self.mem.insert_account(id, account);
    }
    fn account_by_email(&self, email: &[u8]) -> Option<AccountId> {
        self.mem.account_by_email(email)
    }
    fn account_ids(&self) -> Vec<AccountId> {
        self.mem.account_ids()
    }
    fn sessions(&mut self) -> &mut BTreeMap<Token, Session> {
        // In memory only (see the module documentation). [SYNC-4]
        self.mem.sessions()
    }
    fn used_nonces(&mut self) -> &mut BTreeMap<[u8; 32], u64> {
        if self.nonces_before.is_none() {
            self.nonces_before = Some(self.mem.used_nonces.clone());
        }
        self.mem.used_nonces()
    }

    /// Writes the rows that changed since the last commit in one atomic, durable commit.
    /// [PERSIST-1] [SRV-12]
    fn commit(&mut self) -> Result<()> {
        if self.failed {
            self.rollback();
            return Err(Error::StoreIo);
        }
        let batch = self.batch();
        let result = if batch.is_empty() { Ok(()) } else { self.store.commit(batch) };
        match result {
            Ok(()) => {
                self.before.clear();
                self.nonces_before = None;
                Ok(())
            }
            Err(e) => {
                self.rollback();
                self.failed = true;
                Err(e)
            }
        }
    }
}
