//! Tables of the model's own pure derivations, shared by clones of one [`crate::Model`]
//! (spec 12.1, [MODEL-19]): each answer is a function of its key and of the model's fixture,
//! which never changes once built, so a table changes no answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use blindsync::keys::Epoch;

/// [`crate::Model`]'s secrets (what no request may carry) by the set of `(epoch, UMK)` the
/// devices hold: the rest of them is the fixture's.
#[derive(Clone, Default)]
pub(crate) struct SecretsTable(Arc<Mutex<HashMap<Vec<(Epoch, [u8; 32])>, Arc<[[u8; 32]]>>>>);

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
