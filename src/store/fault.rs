//! Fault injection for crash tests: a [`KvStore`] wrapper that "crashes" at a chosen
//! commit (spec 11.8, [PERSIST-1]).
//!
//! A crash test runs an operation over `FaultyStore::crash_at(store, k, mode)` for every
//! `k` from 0 up to the number of commits the operation makes, then takes the inner store
//! back with [`FaultyStore::into_inner`] (for a [`DiskStore`](super::DiskStore): reopens the
//! file) and checks that the state is the one before the operation or the one after it.
//!
//! From the crash on, the wrapper behaves like a dead process: every call returns
//! [`Error::StoreIo`] and nothing more reaches the inner store.
//!
//! ```
//! use blindsync::error::Error;
//! use blindsync::store::{Crash, FaultyStore, KvStore, MemoryStore, WriteBatch};
//! let mut batch = WriteBatch::default();
//! batch.put("t", b"k", b"v");
//! let mut store = FaultyStore::crash_at(MemoryStore::default(), 0, Crash::BeforeCommit);
//! assert_eq!(store.commit(batch.clone()), Err(Error::StoreIo));
//! assert!(store.crashed());
//! assert_eq!(store.into_inner().get("t", b"k").unwrap(), None); // the state before
//! let mut store = FaultyStore::crash_at(MemoryStore::default(), 0, Crash::AfterCommit);
//! assert_eq!(store.commit(batch), Err(Error::StoreIo)); // the caller never learns it landed
//! assert_eq!(store.into_inner().get("t", b"k").unwrap(), Some(b"v".to_vec())); // the state after
//! ```

use super::{KvStore, WriteBatch};
use crate::error::{Error, Result};

/// Where in a commit the simulated crash happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Crash {
    /// Before the batch is durable: the inner store never commits it (what the crash
    /// leaves of it is the [`FaultyStore::with_torn_write`] hook's to say; by default nothing).
    BeforeCommit,
    /// After the batch is durable, before the caller hears so: the inner store has it, the
    /// caller gets an error.
    AfterCommit,
}

/// A [`KvStore`] that fails its `k`-th commit (counted from 0) as a crash would.
pub struct FaultyStore<S> {
    inner: S,
    commits: usize,
    crash: Option<(usize, Crash)>,
    crashed: bool,
    torn: Option<fn(&mut S, WriteBatch) -> Result<()>>,
}

impl<S> core::fmt::Debug for FaultyStore<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FaultyStore")
            .field("commits", &self.commits)
            .field("crash", &self.crash)
            .field("crashed", &self.crashed)
            .finish_non_exhaustive()
    }
}

impl<S: KvStore> FaultyStore<S> {
    /// A wrapper that never crashes but counts commits ([`commits`](Self::commits)): run an
    /// operation through it once to learn how many crash points it has.
    pub fn new(inner: S) -> Self {
        FaultyStore { inner, commits: 0, crash: None, crashed: false, torn: None }
    }

    /// A wrapper whose commit number `k` (from 0) crashes the way `mode` says.
    pub fn crash_at(inner: S, k: usize, mode: Crash) -> Self {
        FaultyStore { crash: Some((k, mode)), ..Self::new(inner) }
    }

    /// What a [`Crash::BeforeCommit`] leaves of the batch in flight: `hook` gets the inner
    /// store and the batch, and should write it without committing (for a
    /// [`DiskStore`](super::DiskStore), `DiskStore::write_then_abandon`). Its error is ignored:
    /// the process is gone either way.
    pub fn with_torn_write(mut self, hook: fn(&mut S, WriteBatch) -> Result<()>) -> Self {
        self.torn = Some(hook);
        self
    }

    /// Commits attempted so far (the crashing one included).
    pub fn commits(&self) -> usize {
        self.commits
    }

    /// Whether the crash has happened.
    pub fn crashed(&self) -> bool {
        self.crashed
    }

    /// The inner store, as a restarted process would find it.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: KvStore> KvStore for FaultyStore<S> {
    fn get(&self, table: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if self.crashed {
            return Err(Error::StoreIo);
        }
        self.inner.get(table, key)
    }

    fn scan(&self, table: &'static str) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        if self.crashed {
            return Err(Error::StoreIo);
        }
        self.inner.scan(table)
    }

    fn commit(&mut self, batch: WriteBatch) -> Result<()> {
        if self.crashed {
            return Err(Error::StoreIo);
        }
        let k = self.commits;
        self.commits = self.commits.saturating_add(1);
        match self.crash {
            Some((at, mode)) if at == k => {
                self.crashed = true;
                match mode {
                    Crash::BeforeCommit => {
                        if let Some(hook) = self.torn {
                            let _ = hook(&mut self.inner, batch);
                        }
                    }
                    Crash::AfterCommit => {
                        let _ = self.inner.commit(batch);
                    }
                }
                Err(Error::StoreIo)
            }
            _ => self.inner.commit(batch),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn one(v: &[u8]) -> WriteBatch {
        let mut b = WriteBatch::default();
        b.put("t", b"k", v);
        b
    }

    // [PERSIST-1] the k-th commit crashes; earlier ones land, later calls fail.
    #[test]
    fn crashes_at_the_chosen_commit() {
        for mode in [Crash::BeforeCommit, Crash::AfterCommit] {
            let mut s = FaultyStore::crash_at(MemoryStore::default(), 1, mode);
            s.commit(one(b"0")).unwrap();
            assert_eq!(s.get("t", b"k").unwrap(), Some(b"0".to_vec()));
            assert_eq!(s.commit(one(b"1")), Err(Error::StoreIo));
            assert!(s.crashed());
            assert_eq!(s.get("t", b"k"), Err(Error::StoreIo));
            assert_eq!(s.scan("t"), Err(Error::StoreIo));
            assert_eq!(s.commit(one(b"2")), Err(Error::StoreIo));
            assert_eq!(s.commits(), 2);
            let want: &[u8] = if mode == Crash::BeforeCommit { b"0" } else { b"1" };
            assert_eq!(s.into_inner().get("t", b"k").unwrap(), Some(want.to_vec()));
        }
    }

    #[test]
    fn counts_without_crashing() {
        let mut s = FaultyStore::new(MemoryStore::default());
        for i in 0..3u8 {
            s.commit(one(&[i])).unwrap();
        }
        assert_eq!(s.commits(), 3);
        assert!(!s.crashed());
    }

    // [PERSIST-1] a crash in the middle of a disk commit: the transaction was written and
    // dropped; reopening shows the last committed state.
    #[cfg(feature = "disk")]
    #[test]
    fn torn_disk_commit_reopens_at_the_last_commit() {
        use crate::store::DiskStore;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        let mut s = FaultyStore::crash_at(DiskStore::create(&path).unwrap(), 1, Crash::BeforeCommit)
            .with_torn_write(DiskStore::write_then_abandon);
        s.commit(one(b"before")).unwrap();
        assert_eq!(s.commit(one(b"torn")), Err(Error::StoreIo));
        drop(s.into_inner());
        let s = DiskStore::open(&path).unwrap();
        assert_eq!(s.scan("t").unwrap(), vec![(b"k".to_vec(), b"before".to_vec())]);
    }
}
