//! Persistence seam: an atomic key-value store that client and server state
//! are written to (spec 11.8, [PERSIST-1]).
//!
//! The protocol library never does I/O itself: a [`KvStore`] is handed to
//! the code that persists state, in the spirit of OpenMLS's
//! `StorageProvider`. Every change an operation makes goes into one
//! [`WriteBatch`] that [`KvStore::commit`] applies atomically, so after a
//! crash the store holds the state before the operation or the state after
//! it, never a mix. [`MemoryStore`] keeps everything in memory (tests, the
//! model checker); [`DiskStore`] (cargo feature `disk`, on by default) is the
//! embedded on-disk default, one crash-safe redb file. [`schema`] versions what
//! is stored and migrates it in one commit ([PERSIST-3]); [`FaultyStore`]
//! simulates a crash at any commit for tests.
//!
//! ```
//! use blindsync::store::{KvStore, MemoryStore, WriteBatch};
//! let mut store = MemoryStore::default();
//! let mut batch = WriteBatch::default();
//! batch.put("meta", b"version", b"\x01");
//! batch.put("writers", b"device-a", b"\x00\x00\x00\x00\x00\x00\x00\x07");
//! store.commit(batch).unwrap();
//! assert_eq!(store.get("meta", b"version").unwrap().as_deref(), Some(&b"\x01"[..]));
//! assert_eq!(store.scan("writers").unwrap().len(), 1);
//! ```

use std::collections::BTreeMap;

use crate::error::{Error, Result};

#[cfg(feature = "disk")]
pub mod disk;
pub mod fault;
pub mod schema;

#[cfg(feature = "disk")]
pub use disk::DiskStore;
pub use fault::{Crash, FaultyStore};

/// One change of a [`WriteBatch`]: a put (`Some`) or a delete (`None`).
#[derive(Clone, PartialEq, Eq)]
pub struct WriteOp {
    /// The table (a short static name; tables are created on first use).
    pub table: &'static str,
    /// The key inside the table.
    pub key: Vec<u8>,
    /// The new value, or `None` to delete the key.
    pub value: Option<Vec<u8>>,
}

// Values may hold key material: never print them.
impl core::fmt::Debug for WriteOp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WriteOp")
            .field("table", &self.table)
            .field("key_len", &self.key.len())
            .field("put", &self.value.is_some())
            .finish()
    }
}

/// The changes of one operation, applied all together or not at all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteBatch {
    ops: Vec<WriteOp>,
}

impl WriteBatch {
    /// Records a put of `value` under `key` in `table`.
    pub fn put(&mut self, table: &'static str, key: &[u8], value: &[u8]) {
        self.ops.push(WriteOp { table, key: key.to_vec(), value: Some(value.to_vec()) });
    }

    /// Records a delete of `key` in `table`.
    pub fn delete(&mut self, table: &'static str, key: &[u8]) {
        self.ops.push(WriteOp { table, key: key.to_vec(), value: None });
    }

    /// The changes, in the order they were recorded (later ones win).
    pub fn ops(&self) -> &[WriteOp] {
        &self.ops
    }

    /// Whether the batch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// An atomic key-value store of named tables.
///
/// Implementations must make [`commit`](KvStore::commit) atomic and durable:
/// when it returns `Ok`, every change of the batch survives a crash; when the
/// process stops before it returns, none of them is visible after reopening.
/// Reads see only committed data. Errors are [`Error::StoreIo`] (the medium
/// failed) or [`Error::StoreCorrupt`] (the stored bytes are not what this code
/// wrote).
pub trait KvStore {
    /// The value under `key` in `table`, if any.
    fn get(&self, table: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Every `(key, value)` of `table`, in ascending key order.
    fn scan(&self, table: &'static str) -> Result<Vec<(Vec<u8>, Vec<u8>)>>;
    /// Applies every change of `batch` atomically and durably.
    fn commit(&mut self, batch: WriteBatch) -> Result<()>;
}

impl<T: KvStore + ?Sized> KvStore for &mut T {
    fn get(&self, table: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        (**self).get(table, key)
    }
    fn scan(&self, table: &'static str) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        (**self).scan(table)
    }
    fn commit(&mut self, batch: WriteBatch) -> Result<()> {
        (**self).commit(batch)
    }
}

impl<T: KvStore + ?Sized> KvStore for Box<T> {
    fn get(&self, table: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        (**self).get(table, key)
    }
    fn scan(&self, table: &'static str) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        (**self).scan(table)
    }
    fn commit(&mut self, batch: WriteBatch) -> Result<()> {
        (**self).commit(batch)
    }
}

/// A [`KvStore`] in memory: atomic by construction, durable only as long as
/// the value lives.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct MemoryStore {
    tables: BTreeMap<&'static str, BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl core::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let sizes: BTreeMap<&str, usize> = self.tables.iter().map(|(t, m)| (*t, m.len())).collect();
        f.debug_struct("MemoryStore").field("tables", &sizes).finish()
    }
}

impl KvStore for MemoryStore {
    fn get(&self, table: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.tables.get(table).and_then(|t| t.get(key)).cloned())
    }

    fn scan(&self, table: &'static str) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        Ok(self.tables.get(table).map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default())
    }

    fn commit(&mut self, batch: WriteBatch) -> Result<()> {
        for op in batch.ops {
            let table = self.tables.entry(op.table).or_default();
            match op.value {
                Some(v) => {
                    table.insert(op.key, v);
                }
                None => {
                    table.remove(&op.key);
                }
            }
        }
        Ok(())
    }
}

/// Maps an I/O failure of a store backend to [`Error::StoreIo`].
pub fn io_error<E>(_: E) -> Error {
    Error::StoreIo
}

#[cfg(test)]
mod tests {
    use super::*;

    // [PERSIST-1] a batch applies as a whole, later changes winning.
    #[test]
    fn later_ops_win_and_deletes_remove() {
        let mut s = MemoryStore::default();
        let mut b = WriteBatch::default();
        b.put("t", b"k", b"1");
        b.put("t", b"k", b"2");
        b.put("t", b"gone", b"x");
        b.delete("t", b"gone");
        s.commit(b).unwrap();
        assert_eq!(s.get("t", b"k").unwrap(), Some(b"2".to_vec()));
        assert_eq!(s.get("t", b"gone").unwrap(), None);
        assert_eq!(s.scan("t").unwrap(), vec![(b"k".to_vec(), b"2".to_vec())]);
        assert!(s.scan("absent").unwrap().is_empty());
    }

    // [PERSIST-2] [PERSIST-3] store failures are internal, never blamed on a peer.
    #[test]
    fn store_errors_are_internal() {
        use crate::error::Fault;
        for e in [Error::StoreIo, Error::StoreCorrupt, Error::StoreVersion] {
            assert_eq!(e.fault(), Fault::Internal);
        }
    }

    #[test]
    fn debug_hides_values() {
        let mut b = WriteBatch::default();
        b.put("t", b"k", b"secret-bytes");
        assert!(!format!("{b:?}").contains("secret"));
    }
}
