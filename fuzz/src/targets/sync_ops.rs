//! Operation sequences (spec 11.5 to 11.9): register, login, write, sync,
//! append chain (an epoch rotation) and sync through a server that tampers
//! with one response, chosen by the input and fed to the real client engine
//! ([`Client`]) and the reference server.
//!
//! Oracles:
//! - [SYNC-8] a device only ever holds values some device of the account
//!   wrote, with that revision and writer: unverified data is never returned;
//! - [SYNC-12] [SYNC-11] a tampered envelope or chain statement raises an alert;
//! - with an honest server throughout: every operation succeeds or fails
//!   with the error the spec names, no sync raises an alert, and after
//!   both devices sync they hold the same records ([SYNC-13]).

use std::collections::BTreeSet;

use blindsync::Error;
use blindsync::chain::rotate;
use blindsync::client::{Client, Transport};
use blindsync::device::DeviceId;
use blindsync::envelope::RecordId;
use blindsync::primitives::SeededRng;
use blindsync::server::wire::{Item, ItemKind, Request, Response};

use crate::Vectors;
use crate::input::Bytes;
use crate::world::{COLLECTIONS, Net, snapshot};

/// Longest input worth trying: a few dozen operations.
pub const MAX_LEN: usize = 512;

/// Most operations per input, and most rotations.
const MAX_OPS: usize = 24;
const MAX_ROTATIONS: usize = 3;

/// `(collection, record, revision, writer, value)` of every accepted write.
type Ledger = BTreeSet<(String, RecordId, u64, DeviceId, Vec<u8>)>;

/// A server that changes one response: the `at`-th call's, as `how` says.
struct Tamper<'a> {
    net: &'a mut Net,
    calls: u8,
    at: u8,
    how: u8,
    arg: usize,
    replay: Vec<Item>,
    /// What was changed, once it was.
    done: Option<u8>,
}

impl Transport for Tamper<'_> {
    fn call(&mut self, r: Request) -> Response {
        let mut resp = self.net.call(r);
        let n = self.calls;
        self.calls = self.calls.saturating_add(1);
        if n != self.at {
            return resp;
        }
        let how = self.how % 8;
        let arg = self.arg;
        let changed = match (&mut resp, how) {
            (Response::Items { items }, 0) if !items.is_empty() => {
                items.remove(arg % items.len());
                true
            }
            (Response::Items { items }, 1) if !items.is_empty() => {
                let i = arg % items.len();
                let b = &mut items[i].bytes;
                let at = (arg / 7) % b.len().max(1);
                if let Some(x) = b.get_mut(at) {
                    *x ^= 1 << (arg % 8);
                }
                true
            }
            (Response::Items { items }, 2) if !items.is_empty() => {
                let i = arg % items.len();
                items[i].kind = if items[i].kind == ItemKind::Envelope { ItemKind::Stub } else { ItemKind::Envelope };
                true
            }
            (Response::Items { items }, 3) if !self.replay.is_empty() => {
                let old = self.replay[arg % self.replay.len()].clone();
                let at = arg % (items.len() + 1);
                items.insert(at, old);
                true
            }
            (Response::Items { items }, 4) => {
                items.reverse();
                true
            }
            (Response::Chain { statements }, 5) if statements.len() > 1 => {
                statements.truncate(statements.len() - 1 - arg % (statements.len() - 1));
                true
            }
            (Response::Chain { statements }, 6) if !statements.is_empty() => {
                let i = arg % statements.len();
                let s = &mut statements[i];
                let at = (arg / 5) % s.len().max(1);
                if let Some(x) = s.get_mut(at) {
                    *x ^= 1 << (arg % 8);
                }
                true
            }
            (_, 7) => {
                resp = if arg & 1 == 0 { Response::Ok } else { Response::Error(Error::SrvAuth) };
                true
            }
            _ => false,
        };
        if changed {
            self.done = Some(how);
        }
        resp
    }
}

fn check_ledger(clients: &[Client], ledger: &Ledger) {
    for c in clients {
        for ((collection, id), r) in c.records() {
            let entry = (collection.clone(), *id, r.revision, r.writer, r.value.clone());
            assert!(ledger.contains(&entry), "[SYNC-8] a device holds a value nobody wrote: {collection} {id:?}");
        }
    }
}

/// Runs one input.
// [SYNC-8] [SYNC-11] [SYNC-12] [SYNC-13] [SRV-6] [SRV-2] invariants over operation sequences.
pub fn run(data: &[u8]) {
    let snap = snapshot();
    let (mut net, mut clients) = snap.start();
    let mut rng = SeededRng::from_label("fuzz/sync_ops");
    let mut ledger = Ledger::new();
    let mut honest = true;
    let mut rotations = 0;
    let mut registered = false;
    let mut b = Bytes::new(data);
    for _ in 0..MAX_OPS {
        if b.clone().rest().is_empty() {
            break;
        }
        let op = b.u8();
        let i = usize::from(op >> 7);
        let me = clients[i].id();
        match op % 8 {
            // Write a value to one of four records of a collection.
            0 | 1 => {
                let collection = COLLECTIONS[usize::from(op >> 3) & 1];
                let id = RecordId([(op >> 4) & 3; 16]);
                let n = usize::from(b.u8() % 16);
                let value = b.take(n).to_vec();
                match clients[i].write(&mut net, collection, id, &value, &mut rng) {
                    Ok(rev) => {
                        ledger.insert((collection.to_owned(), id, rev, me, value));
                    }
                    // [SRV-6] the other device wrote the record and this one has not synced it.
                    Err(Error::SrvRevision) => {}
                    Err(e) => assert!(!honest, "write failed with an honest server: {e:?}"),
                }
            }
            // Sync with the honest server.
            2 => match clients[i].sync(&mut net) {
                Ok(r) => assert!(!honest || r.alerts.is_empty(), "[SYNC-8] alerts with an honest server: {:?}", r.alerts),
                Err(e) => assert!(!honest, "sync failed with an honest server: {e:?}"),
            },
            // Log in again.
            3 => {
                let r = clients[i].login(&mut net);
                assert!(r.is_ok() || !honest, "login failed: {r:?}");
            }
            // Append chain: rotate the epoch (refused if this device's chain is behind).
            4 if rotations < MAX_ROTATIONS => {
                rotations += 1;
                let Ok(rot) = rotate(clients[i].chain(), clients[i].device(), &mut rng) else {
                    panic!("rotation failed")
                };
                let epoch = rot.state.epoch();
                match clients[i].append_chain(&mut net, rot.statements) {
                    Ok(()) => clients[i].add_umk(epoch, rot.umk),
                    Err(e) => assert!(e == Error::SrvChainHead || !honest, "append failed: {e:?}"),
                }
            }
            4 => {}
            // Register: a new account once, then E_SRV_EXISTS; an existing email always E_SRV_EXISTS. [SRV-2]
            5 => {
                let mut r = snap.register_c.clone();
                let again = op & 0x10 != 0;
                if again && let Request::Register { email, .. } = &mut r {
                    email.clone_from(&snap.b_email);
                }
                let resp = net.call(r);
                let want = if again || registered { Response::Error(Error::SrvExists) } else { Response::Ok };
                assert_eq!(resp, want, "register");
                registered |= !again;
            }
            // Sync through a server that tampers with one response.
            _ => {
                honest = false;
                let mut replay = net.server.store_items(&snap.account_a);
                replay.truncate(16);
                let mut t = Tamper { net: &mut net, calls: 0, at: b.u8() % 4, how: b.u8(), arg: b.u8().into(), replay, done: None };
                let r = clients[i].sync(&mut t);
                let done = t.done;
                // [SYNC-12] [SYNC-11] a changed envelope or statement is always noticed.
                if let (Ok(r), Some(1 | 6)) = (&r, done) {
                    assert!(!r.alerts.is_empty(), "tampering ({done:?}) went unnoticed");
                }
            }
        }
        check_ledger(&clients, &ledger);
    }
    if honest {
        // [SYNC-13] both devices converge.
        for c in clients.iter_mut() {
            let r = c.sync(&mut net);
            assert!(r.is_ok_and(|r| r.alerts.is_empty()), "final sync");
        }
        let r = clients[0].sync(&mut net);
        assert!(r.is_ok_and(|r| r.alerts.is_empty()), "final sync");
        assert_eq!(clients[0].records(), clients[1].records(), "[SYNC-13] the devices did not converge");
        check_ledger(&clients, &ledger);
    }
}

/// Hand-written sequences: writes and syncs on both devices, a rotation, a registration, tampering.
pub fn seeds(_: &Vectors) -> Vec<Vec<u8>> {
    vec![
        vec![0, 2, b'h', b'i', 0x82, 0x80, 3, b'y', b'o', b'u', 2],
        vec![0x10, 1, b'a', 4, 0x82, 0x90, 1, b'b', 2, 5, 0x15],
        vec![0, 1, b'x', 0x08, 1, b'y', 6, 1, 1, 9, 2],
        vec![0, 1, b'x', 0x80, 1, b'z', 6, 0, 5, 0, 7, 1, 6, 3],
    ]
}
