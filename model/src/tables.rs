//! Tables of the model's own pure derivations, shared by clones of one [`crate::Model`]
//! (spec 12.1, [MODEL-19]): each answer is a function of its key and of the model's fixture,
//! which never changes once built, so a table changes no answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use blindsync::envelope::Header;
use blindsync::keys::Epoch;

/// [`crate::Model`]'s secrets (what no request may carry) by the set of `(epoch, UMK)` the
/// devices hold: the rest of them is the fixture's.
#[derive(Clone, Default)]
pub(crate) struct SecretsTable(Arc<Mutex<SecretsMap>>);

type SecretsMap = HashMap<Vec<(Epoch, [u8; 32])>, Arc<[[u8; 32]]>, foldhash::fast::FixedState>;

impl SecretsTable {
    /// The secrets of `umks` (sorted, without duplicates), or `compute()` kept under it.
    pub(crate) fn get_or(
        &self,
        umks: Vec<(Epoch, [u8; 32])>,
        compute: impl FnOnce() -> Vec<[u8; 32]>,
    ) -> Arc<[[u8; 32]]> {
        if let Ok(t) = self.0.lock()
            && let Some(v) = t.get(&umks)
        {
            return v.clone();
        }
        let v: Arc<[[u8; 32]]> = compute().into();
        if let Ok(mut t) = self.0.lock() {
            t.insert(umks, v.clone());
        }
        v
    }
}

/// A pure function of bytes through a process-wide table keyed by the whole input, for the
/// digests the model takes of the same few envelopes in every transition. [MODEL-19]
pub(crate) struct BytesTable<V>(OnceLockTable<V>);

type OnceLockTable<V> = std::sync::OnceLock<Mutex<HashMap<Vec<u8>, V, foldhash::fast::FixedState>>>;

impl<V: Clone> BytesTable<V> {
    /// An empty table.
    pub(crate) const fn new() -> Self {
        BytesTable(std::sync::OnceLock::new())
    }

    /// The value of `bytes`, or `compute(bytes)` kept under them.
    pub(crate) fn get_or(&self, bytes: &[u8], compute: impl FnOnce(&[u8]) -> V) -> V {
        let table = self.0.get_or_init(Default::default);
        if let Ok(t) = table.lock()
            && let Some(v) = t.get(bytes)
        {
            return v.clone();
        }
        let v = compute(bytes);
        if let Ok(mut t) = table.lock() {
            t.insert(bytes.to_vec(), v.clone());
        }
        v
    }
}

/// An envelope's identity and header ([SYNC-14]), by its bytes.
pub(crate) static ENVELOPE_IDENTITIES: BytesTable<Option<([u8; 32], Header)>> = BytesTable::new();

/// A stub's identity ([SYNC-14]), by its bytes.
pub(crate) static STUB_IDENTITIES: BytesTable<Option<[u8; 32]>> = BytesTable::new();
