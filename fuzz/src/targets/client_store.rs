//! `client::load` on a device's stored state (spec 11.8, [PERSIST-2] [PERSIST-4]).
//!
//! The input either builds a store entry by entry, or changes one entry of a
//! valid format-1 store (the checked-in fixture): replaces its value, cuts it,
//! deletes it or adds an entry. Checks: loading is total and fails only with
//! `E_STORE_CORRUPT` or `E_STORE_VERSION`; a state that loads encodes to
//! entries that load to the same state.

use blindsync::Error;
use blindsync::client::{TABLES, encode, load};
use blindsync::store::{KvStore, MemoryStore, WriteBatch};

use crate::Vectors;
use crate::input::Bytes;

/// Longest input worth trying.
pub const MAX_LEN: usize = 4096;

/// A valid store of format version 1 (`table key-hex value-hex` per line).
const FIXTURE: &str = include_str!("../../../tests/fixtures/client_store_v1.txt");

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).filter_map(|i| s.get(2 * i..2 * i + 2)).filter_map(|h| u8::from_str_radix(h, 16).ok()).collect()
}

fn fixture() -> Vec<(&'static str, Vec<u8>, Vec<u8>)> {
    FIXTURE
        .lines()
        .filter_map(|l| {
            let mut f = l.split(' ');
            let t = f.next()?;
            let t = TABLES.iter().copied().find(|x| *x == t)?;
            Some((t, unhex(f.next()?), unhex(f.next().unwrap_or(""))))
        })
        .collect()
}

/// A put (`Some`) or a delete (`None`) of one entry.
type Change = (&'static str, Vec<u8>, Option<Vec<u8>>);

fn store(entries: &[Change]) -> MemoryStore {
    let mut b = WriteBatch::default();
    for (t, k, v) in entries {
        match v {
            Some(v) => b.put(t, k, v),
            None => b.delete(t, k),
        }
    }
    let mut s = MemoryStore::default();
    let _ = s.commit(b);
    s
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut input = Bytes::new(data);
    let mode = input.u8();
    let mut entries: Vec<Change> = Vec::new();
    if mode & 1 == 0 {
        // entries carved from the input: table, key, value
        while !input.clone().rest().is_empty() && entries.len() < 64 {
            let t = TABLES[usize::from(input.u8()) % TABLES.len()];
            let kl = usize::from(input.u8());
            let k = input.take(kl).to_vec();
            let vl = usize::from(input.u8()) * 2;
            let v = input.take(vl).to_vec();
            entries.push((t, k, Some(v)));
        }
    } else {
        let base = fixture();
        entries.extend(base.iter().map(|(t, k, v)| (*t, k.clone(), Some(v.clone()))));
        let i = usize::from(input.u8()) % base.len().max(1);
        let how = input.u8() % 4;
        let rest = input.rest().to_vec();
        if let Some((t, k, v)) = base.get(i) {
            match how {
                0 => entries.push((t, k.clone(), Some(rest))),
                1 => entries.push((t, k.clone(), Some(v[..v.len().min(rest.len())].to_vec()))),
                2 => entries.push((t, k.clone(), None)),
                _ => entries.push((t, rest, Some(Vec::new()))),
            }
        }
    }
    let s = store(&entries);
    match load(&s) {
        Ok(None) => {}
        Ok(Some(state)) => {
            // [PERSIST-4] what loads, encodes to entries that load to the same state
            let again: Vec<_> = encode(&state).into_iter().map(|((t, k), v)| (t, k, Some(v.to_vec()))).collect();
            assert_eq!(load(&store(&again)), Ok(Some(state)));
        }
        Err(e) => assert!(matches!(e, Error::StoreCorrupt | Error::StoreVersion), "{e:?}"),
    }
}

/// The fixture unchanged (mode 1, a no-op change: entry 0 re-put as itself is
/// approximated by cutting it to its own length) and a few carved stores.
pub fn seeds(_: &Vectors) -> Vec<Vec<u8>> {
    let first = fixture().first().map(|(_, _, v)| v.clone()).unwrap_or_default();
    let mut keep = vec![1u8, 0, 1];
    keep.extend_from_slice(&first);
    vec![keep, vec![1, 3, 2], vec![0], vec![0, 0, 7, b'v', b'e', b'r', b's', b'i', b'o', b'n', 2, 0, 0, 0, 1]]
}
