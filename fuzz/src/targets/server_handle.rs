//! The reference server on arbitrary request bytes (spec 11.2 to 11.7,
//! [SRV-12]): a sequence of requests, raw or built from the input with the
//! ids, tokens and nonces the world knows (and every token or nonce the
//! server returned so far), sent to a server holding two accounts. (Was
//! `decoders_and_server_never_panic` and the server half of
//! `mutated_requests_never_panic` in `tests/fuzz_sync.rs`.)
//!
//! Oracles: every response decodes; a refused request changes no account
//! and opens no session ([SRV-12]; an unknown or mismatched login nonce is
//! still consumed, [SYNC-4] single use); account B, whose credentials the
//! input never has, changes only by the unauthenticated PostPending of
//! [SRV-8] (a pending device and its audit entry).

use blindsync::keys::AccountId;
use blindsync::server::wire::{Action, Actor, Request, Response};
use blindsync::server::{Account, Storage};

use crate::Vectors;
use crate::input::Bytes;
use crate::wire::{Known, request};
use crate::world::{Snapshot, snapshot};

/// Longest input worth trying: a handful of requests.
pub const MAX_LEN: usize = 2048;

/// Every account, without the failed-login count a refused login adds ([SRV-15]).
fn accounts(s: &impl Storage) -> Vec<(AccountId, Account)> {
    s.account_ids()
        .into_iter()
        .filter_map(|id| {
            s.account(&id).map(|a| {
                let mut a = a.clone();
                a.failed_logins.clear();
                (id, a)
            })
        })
        .collect()
}

/// B's account without what [SRV-8] and [SRV-15] let anyone add.
fn b_view(a: &Account) -> Account {
    let mut a = a.clone();
    a.pending.clear();
    a.pending_expiry.clear();
    a.failed_logins.clear();
    a.audit.clear();
    a
}

fn known(s: &Snapshot) -> Known {
    let a = &s.clients;
    let mut ids = vec![s.account_a.0, s.account_b.0, s.password_token, s.b_ed25519];
    for c in a {
        ids.extend(c.token());
        ids.push(c.device().public().ed25519);
        ids.push(c.device().public().x25519);
        ids.push(c.id().0);
    }
    Known { ids }
}

/// Runs one input.
// [SRV-12] [SYNC-2] [SRV-8] [SYNC-4] total, refused requests change nothing, no cross-account writes.
pub fn run(data: &[u8]) {
    // The old target: both decoders on the raw input.
    let _ = Request::decode(data);
    let _ = Response::decode(data);
    let snap = snapshot();
    let (mut net, _) = snap.start();
    let mut k = known(snap);
    let mut b = Bytes::new(data);
    let b_before = net.server.store.account(&snap.account_b).map(b_view);
    assert!(b_before.is_some(), "fixture account B");
    for round in 0..8 {
        if round > 0 && b.clone().rest().is_empty() {
            break;
        }
        let mode = b.u8();
        let bytes = match mode % 4 {
            // Raw bytes.
            0 => {
                let n = usize::from(b.u8());
                b.take(n).to_vec()
            }
            // A registration of a new account, or of B's email again.
            1 if mode & 0x10 != 0 => {
                let mut r = snap.register_c.clone();
                if mode & 0x20 != 0
                    && let Request::Register { email, .. } = &mut r
                {
                    email.clone_from(&snap.b_email);
                }
                r.encode()
            }
            // A request built from the input, its ids from what the world knows.
            _ => request(&mut b, &k).encode(),
        };
        let before = accounts(&net.server.store);
        let sessions_before = net.server.store.sessions().clone();
        let out = net.bytes(&bytes);
        let resp = Response::decode(&out);
        let Ok(resp) = resp else { panic!("undecodable response: {:?}", resp.err()) };
        match &resp {
            Response::Error(e) => {
                // [SRV-12] a refused request changes no account (but for [SRV-15]'s count) and opens no session.
                assert!(before == accounts(&net.server.store), "refused ({e:?}) but an account changed");
                let sessions = net.server.store.sessions();
                assert!(sessions.keys().all(|t| sessions_before.contains_key(t)), "refused but a session opened");
            }
            Response::Token { token, .. } => k.ids.push(*token),
            Response::Nonce { nonce } => k.ids.push(*nonce),
            _ => {}
        }
        // Nobody is authenticated for account B: it changes only by PostPending.
        let b_now = net.server.store.account(&snap.account_b);
        assert!(b_now.map(b_view) == b_before, "account B changed");
        if let Some(acct) = b_now {
            assert!(
                acct.audit.iter().all(|e| e.actor == Actor::Anonymous
                    && matches!(e.action, Action::PostPending | Action::Register)),
                "account B's audit log has an authenticated entry"
            );
        }
        let sessions = net.server.store.sessions();
        assert!(sessions.values().all(|s| s.account != snap.account_b), "a session of account B");
    }
}

/// Raw requests of the vectors behind a raw-mode prefix, and one structured request of each kind.
pub fn seeds(v: &Vectors) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = crate::targets::sync_request::seeds(v)
        .into_iter()
        .filter(|r| r.len() < 256)
        .map(|r| {
            let mut s = vec![0, r.len() as u8];
            s.extend_from_slice(&r);
            s
        })
        .collect();
    for kind in 0..20u8 {
        out.push(vec![2, kind, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
    out.push(vec![0x11, 0x31, 0, 0]);
    out
}
