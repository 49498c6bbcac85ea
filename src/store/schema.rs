//! Format versions of what is stored, and migrations between them (spec 11.8, [PERSIST-3]).
//!
//! A [`Schema`] names one stored format (the server's state, a device's state), its current
//! version, its tables and the migration steps from each older version. [`Schema::open`]
//! reads the version record (table [`META_TABLE`], key [`Schema::name`], a `u32` big-endian),
//! then:
//!
//! - no record and every table of the schema empty: a new store; the current version is
//!   written (and nothing else);
//! - no record but data: [`Error::StoreCorrupt`];
//! - the current version: nothing to do;
//! - a newer version, or an older one without a migration path: [`Error::StoreVersion`];
//! - an older version: every step from it up to the current version runs against a staged
//!   view of the store (each step sees the changes of the steps before it), and everything,
//!   the new version record included, goes into **one** commit: a crash during a migration
//!   leaves the old version intact.
//!
//! ```
//! use blindsync::store::schema::{Migration, Schema};
//! use blindsync::store::{KvStore, MemoryStore, WriteBatch};
//! // Version 2 renamed table "old" to "new".
//! fn rename(store: &mut dyn KvStore) -> blindsync::error::Result<()> {
//!     let mut batch = WriteBatch::default();
//!     for (k, v) in store.scan("old")? {
//!         batch.delete("old", &k);
//!         batch.put("new", &k, &v);
//!     }
//!     store.commit(batch)
//! }
//! const V2: Schema = Schema { name: "doc", current: 2, tables: &["new"], migrations: &[Migration { from: 1, step: rename }] };
//! let mut store = MemoryStore::default();
//! let mut v1 = WriteBatch::default();
//! v1.put("meta", b"doc", &1u32.to_be_bytes());
//! v1.put("old", b"k", b"v");
//! store.commit(v1).unwrap();
//! assert_eq!(V2.open(&mut store).unwrap(), 1); // it was version 1
//! assert_eq!(store.get("new", b"k").unwrap(), Some(b"v".to_vec()));
//! assert_eq!(V2.open(&mut store).unwrap(), 2); // and is version 2 now
//! ```

use super::{KvStore, WriteBatch, WriteOp};
use crate::error::{Error, Result};

/// The table of version records (one key per schema).
pub const META_TABLE: &str = "meta";

/// One migration step: rewrites a store of version `from` into version `from + 1`. It reads
/// and commits through the [`KvStore`] it is given; its commits are staged, not applied.
#[derive(Clone, Copy)]
pub struct Migration {
    /// The version this step starts from.
    pub from: u32,
    /// The step.
    pub step: fn(&mut dyn KvStore) -> Result<()>,
}

impl core::fmt::Debug for Migration {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Migration").field("from", &self.from).finish_non_exhaustive()
    }
}

/// A versioned stored format. [PERSIST-3]
#[derive(Clone, Copy, Debug)]
pub struct Schema {
    /// Its key in [`META_TABLE`].
    pub name: &'static str,
    /// The version this code writes (versions start at 1).
    pub current: u32,
    /// Its tables (to tell a new store from one whose version record is missing).
    pub tables: &'static [&'static str],
    /// The steps from older versions, any order.
    pub migrations: &'static [Migration],
}

impl Schema {
    /// The stored version, if any (0 and malformed records are [`Error::StoreCorrupt`]).
    pub fn stored_version<K: KvStore + ?Sized>(&self, store: &K) -> Result<Option<u32>> {
        match store.get(META_TABLE, self.name.as_bytes())? {
            None => Ok(None),
            Some(v) => {
                let b: [u8; 4] = v.as_slice().try_into().map_err(|_| Error::StoreCorrupt)?;
                match u32::from_be_bytes(b) {
                    0 => Err(Error::StoreCorrupt),
                    n => Ok(Some(n)),
                }
            }
        }
    }

    /// Brings `store` to the current version (see the module documentation); returns the
    /// version it found (the current one for a new store). [PERSIST-3]
    pub fn open<K: KvStore + ?Sized>(&self, store: &mut K) -> Result<u32> {
        let found = match self.stored_version(store)? {
            Some(v) => v,
            None => {
                for t in self.tables {
                    if !store.scan(t)?.is_empty() {
                        return Err(Error::StoreCorrupt);
                    }
                }
                let mut batch = WriteBatch::default();
                batch.put(META_TABLE, self.name.as_bytes(), &self.current.to_be_bytes());
                store.commit(batch)?;
                return Ok(self.current);
            }
        };
        if found == self.current {
            return Ok(found);
        }
        if found > self.current {
            return Err(Error::StoreVersion);
        }
        let mut staged = Staged { base: &*store, batch: WriteBatch::default() };
        for v in found..self.current {
            let m = self.migrations.iter().find(|m| m.from == v).ok_or(Error::StoreVersion)?;
            (m.step)(&mut staged)?;
        }
        let mut batch = staged.batch;
        batch.put(META_TABLE, self.name.as_bytes(), &self.current.to_be_bytes());
        store.commit(batch)?;
        Ok(found)
    }
}

/// A store seen through uncommitted changes: reads see `batch` over `base`; commits append
/// to `batch`.
struct Staged<'a, K: ?Sized> {
    base: &'a K,
    batch: WriteBatch,
}

impl<K: KvStore + ?Sized> KvStore for Staged<'_, K> {
    fn get(&self, table: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.batch.ops.iter().rev().find(|o| o.table == table && o.key == key) {
            Some(op) => Ok(op.value.clone()),
            None => self.base.get(table, key),
        }
    }

    fn scan(&self, table: &'static str) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut rows: std::collections::BTreeMap<Vec<u8>, Vec<u8>> = self.base.scan(table)?.into_iter().collect();
        for WriteOp { table: t, key, value } in &self.batch.ops {
            if *t != table {
                continue;
            }
            match value {
                Some(v) => {
                    rows.insert(key.clone(), v.clone());
                }
                None => {
                    rows.remove(key);
                }
            }
        }
        Ok(rows.into_iter().collect())
    }

    fn commit(&mut self, batch: WriteBatch) -> Result<()> {
        self.batch.ops.extend(batch.ops);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Crash, FaultyStore, MemoryStore};

    fn double(store: &mut dyn KvStore) -> Result<()> {
        let mut b = WriteBatch::default();
        for (k, v) in store.scan("t")? {
            b.put("t", &k, &[v.as_slice(), v.as_slice()].concat());
        }
        store.commit(b)
    }
    fn tag(store: &mut dyn KvStore) -> Result<()> {
        // sees the doubled values of the step before
        let v = store.get("t", b"a")?.ok_or(Error::StoreCorrupt)?;
        let mut b = WriteBatch::default();
        b.put("t", b"seen", &v);
        b.delete("t", b"gone");
        store.commit(b)
    }
    const V3: Schema = Schema {
        name: "test",
        current: 3,
        tables: &["t"],
        migrations: &[Migration { from: 2, step: tag }, Migration { from: 1, step: double }],
    };

    fn v1() -> MemoryStore {
        let mut s = MemoryStore::default();
        let mut b = WriteBatch::default();
        b.put(META_TABLE, b"test", &1u32.to_be_bytes());
        b.put("t", b"a", b"x");
        b.put("t", b"gone", b"y");
        s.commit(b).unwrap();
        s
    }

    // [PERSIST-3] steps run in order, each seeing the last, in one commit.
    #[test]
    fn migrates_in_one_commit() {
        let mut s = FaultyStore::new(v1());
        assert_eq!(V3.open(&mut s).unwrap(), 1);
        assert_eq!(s.commits(), 1);
        let s = s.into_inner();
        assert_eq!(s.scan("t").unwrap(), vec![(b"a".to_vec(), b"xx".to_vec()), (b"seen".to_vec(), b"xx".to_vec())]);
        assert_eq!(V3.stored_version(&s).unwrap(), Some(3));
    }

    // [PERSIST-3] a crash at the migration's commit leaves version 1 as it was.
    #[test]
    fn crashed_migration_leaves_the_old_version() {
        let mut s = FaultyStore::crash_at(v1(), 0, Crash::BeforeCommit);
        assert_eq!(V3.open(&mut s), Err(Error::StoreIo));
        assert_eq!(s.into_inner(), v1());
    }

    #[test]
    fn new_store_gets_the_current_version() {
        let mut s = MemoryStore::default();
        assert_eq!(V3.open(&mut s).unwrap(), 3);
        assert_eq!(V3.stored_version(&s).unwrap(), Some(3));
        assert_eq!(V3.open(&mut s).unwrap(), 3);
    }

    // [PERSIST-2] [PERSIST-3] newer, unknown-path, zero, malformed and missing records.
    #[test]
    fn refusals() {
        let with = |version: &[u8]| {
            let mut s = MemoryStore::default();
            let mut b = WriteBatch::default();
            b.put(META_TABLE, b"test", version);
            b.put("t", b"a", b"x");
            s.commit(b).unwrap();
            s
        };
        assert_eq!(V3.open(&mut with(&99u32.to_be_bytes())), Err(Error::StoreVersion));
        assert_eq!(V3.open(&mut with(&4u32.to_be_bytes())), Err(Error::StoreVersion));
        let no_path = Schema { migrations: &[Migration { from: 2, step: tag }], ..V3 };
        assert_eq!(no_path.open(&mut with(&1u32.to_be_bytes())), Err(Error::StoreVersion));
        assert_eq!(V3.open(&mut with(&0u32.to_be_bytes())), Err(Error::StoreCorrupt));
        assert_eq!(V3.open(&mut with(&[0, 0, 3])), Err(Error::StoreCorrupt));
        let mut data_only = MemoryStore::default();
        let mut b = WriteBatch::default();
        b.put("t", b"a", b"x");
        data_only.commit(b).unwrap();
        assert_eq!(V3.open(&mut data_only), Err(Error::StoreCorrupt));
    }
}
