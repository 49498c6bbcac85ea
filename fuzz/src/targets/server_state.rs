//! The server's stored state (spec 11.4, [SRV-1], [PERSIST-2]): `KvStorage::open` on the
//! rows of a store, as a restarted server reads them back from disk.
//!
//! Modes (first byte): rows carved from the input; or the fuzz world's server state (two
//! accounts, records, a used nonce) with one row XORed, cut or extended by the input.
//!
//! Checks: opening is total and refuses only with `E_STORE_CORRUPT` or `E_STORE_VERSION`;
//! an accepted state re-encodes to exactly the rows it was read from (one encoding per
//! state); the world's unchanged rows open to the world's state.

use std::sync::OnceLock;

use blindsync::Error;
use blindsync::server::account_codec::{self, TABLES};
use blindsync::server::{KvStorage, Storage};
use blindsync::store::schema::META_TABLE;
use blindsync::store::{KvStore, MemoryStore, WriteBatch};

use crate::Vectors;
use crate::input::Bytes;

/// Longest input worth trying.
pub const MAX_LEN: usize = 1024;

/// The tables a carved row may land in.
const ALL_TABLES: [&str; 7] = [META_TABLE, TABLES[0], TABLES[1], TABLES[2], TABLES[3], TABLES[4], TABLES[5]];

fn world_rows() -> &'static MemoryStore {
    static ROWS: OnceLock<MemoryStore> = OnceLock::new();
    ROWS.get_or_init(|| {
        let world = &crate::world::snapshot().server.store;
        let Ok(mut kv) = KvStorage::open(MemoryStore::default()) else { panic!("a new store opens") };
        for id in world.account_ids() {
            if let Some(a) = world.account(&id) {
                kv.insert_account(id, a.clone());
            }
        }
        kv.used_nonces().insert([7; 32], 60_000);
        assert_eq!(kv.commit(), Ok(()));
        kv.into_inner()
    })
}

/// Every row of the server tables, as `(table, key, value)`.
fn rows_of(store: &MemoryStore) -> Vec<(&'static str, Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    for t in ALL_TABLES {
        for (k, v) in store.scan(t).unwrap_or_default() {
            out.push((t, k, v));
        }
    }
    out
}

fn check(store: MemoryStore) {
    let stored = rows_of(&store);
    match KvStorage::open(store) {
        Ok(mut kv) => {
            // [PERSIST-2] one encoding per state: re-encoding gives back every row.
            let mut again = account_codec::Rows::new();
            for id in kv.account_ids() {
                if let Some(a) = kv.account(&id) {
                    again.extend(account_codec::account_rows(&id, a));
                }
            }
            for (n, t) in kv.used_nonces().iter() {
                let (k, v) = account_codec::nonce_row(n, *t);
                again.insert(k, v);
            }
            let server_rows: Vec<_> = stored.into_iter().filter(|(t, _, _)| *t != META_TABLE).collect();
            let again: Vec<_> = again.into_iter().map(|((t, k), v)| (t, k, v)).collect();
            assert_eq!(again, server_rows, "decode then encode");
        }
        Err(e) => assert!(matches!(e, Error::StoreCorrupt | Error::StoreVersion), "{e:?}"),
    }
}

/// Runs one input.
// [PERSIST-2] [PERSIST-3] total, canonical decoding of the stored server state.
pub fn run(data: &[u8]) {
    let mut b = Bytes::new(data);
    let mut batch = WriteBatch::default();
    match b.u8() % 2 {
        0 => {
            batch.put(META_TABLE, b"server", &1u32.to_be_bytes());
            for _ in 0..8 {
                let table = ALL_TABLES[usize::from(b.u8()) % ALL_TABLES.len()];
                let key_len = usize::from(b.u8() % 82);
                let key = b.take(key_len).to_vec();
                let value_len = usize::from(b.u8());
                batch.put(table, &key, b.take(value_len));
            }
            let mut store = MemoryStore::default();
            if store.commit(batch).is_ok() {
                check(store);
            }
        }
        _ => {
            let mut store = world_rows().clone();
            let rows = rows_of(&store);
            if data.len() <= 1 {
                // the unchanged world opens to itself
                let Ok(kv) = KvStorage::open(store) else { panic!("the world's rows open") };
                assert_eq!(kv.account_ids().len(), 2);
                return;
            }
            let Some((table, key, value)) = rows.get(usize::from(b.u8()) % rows.len()).cloned() else { return };
            let mut value = value;
            match b.u8() % 3 {
                0 => {
                    let at = usize::from(b.u8()) * 256 + usize::from(b.u8());
                    let at = at % value.len().max(1);
                    if let Some(x) = value.get_mut(at) {
                        *x ^= b.u8() | 1;
                    }
                }
                1 => value.truncate(usize::from(b.u8()) % value.len().max(1)),
                _ => value.extend_from_slice(b.rest()),
            }
            batch.put(table, &key, &value);
            if store.commit(batch).is_ok() {
                check(store);
            }
        }
    }
}

/// No vector holds stored state: the world is the seed (mode 1, no change).
pub fn seeds(_: &Vectors) -> Vec<Vec<u8>> {
    vec![vec![1], vec![0]]
}
