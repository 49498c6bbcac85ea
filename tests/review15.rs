//! Regression tests from the adversarial review of issue 15 (workspace split, sans-IO client,
//! persistence, danger gating, one crypto seam). Each test replays an attack or a broken spec
//! claim the review demonstrated on an earlier main and asserts the secure behaviour now.
//!
//! Finding D1 (the danger gating) is checked statically by `tests/danger_gating.rs` (every test
//! build of the workspace has the `danger` feature on).

use blindsync::client::{Client, Exchange, Joining, Persistent, Registration, Transport, Volatile, run};
use blindsync::device::DeviceKeys;
use blindsync::envelope::RecordId;
use blindsync::error::{Error, Fault};
use blindsync::primitives::SeededRng;
use blindsync::server::wire::{Item, ItemKind, Request, Response};
use blindsync::server::{MemoryStorage, Server, ServerConfig};
use blindsync::store::MemoryStore;
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;

type Device = Client<Persistent<MemoryStore>>;

struct Net {
    server: Server<MemoryStorage>,
    srng: SeededRng,
    now: u64,
}

impl Clone for Net {
    fn clone(&self) -> Self {
        let srng = SeededRng::from_seed([self.now as u8; 32]);
        Net { server: self.server.clone(), srng, now: self.now }
    }
}

impl Transport for Net {
    fn call(&mut self, r: Request) -> Response {
        self.now += 1_000;
        // through the wire encoding, as a network transport would
        let bytes = self.server.handle_bytes(&r.encode(), self.now, &mut self.srng);
        Response::decode(&bytes).unwrap_or_else(Response::Error)
    }
}

struct World {
    net: Net,
    rng: SeededRng,
    /// Device A: persistent (a MemoryStore behind the format-1 encoding).
    a: Device,
    /// Device B: volatile, paired, wrote notes 1 to 3.
    b: Client,
}

fn rid(n: u8) -> RecordId {
    RecordId([n; 16])
}

fn world() -> World {
    let mut rng = SeededRng::from_label("review15");
    let mut net = Net {
        server: Server::new(MemoryStorage::default(), ServerConfig::new([9; 32])),
        srng: SeededRng::from_label("review15/server"),
        now: 1_000_000,
    };
    let dev = DeviceKeys::generate(&mut rng);
    let code = RecoveryCode::generate(&mut rng);
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut rng) };
    let pw = kdf.derive(b"review15 password").unwrap();
    let store = Persistent::new(MemoryStore::default()).unwrap();
    let mut reg = Registration::new(store, dev, b"r15@example.org", &code.derive(), &pw, &kdf, &mut rng).unwrap();
    let mut a = run(&mut reg, &mut net).unwrap();
    // pairing B through the server, both sides' operations
    let new = DeviceKeys::generate(&mut rng);
    let mut join = Joining::new(Volatile, new.clone(), a.account(), a.id());
    assert_eq!(run(&mut join, &mut net).err(), Some(Error::SrvNotFound));
    let pending = a.list_pending(&mut net).unwrap();
    a.approve(&mut net, &pending[0], &mut rng).unwrap();
    assert!(join.retry());
    let mut b = run(&mut join, &mut net).unwrap();
    a.subscribe("notes").unwrap();
    b.subscribe("notes").unwrap();
    for n in 1..=3 {
        b.write(&mut net, "notes", rid(n), format!("note {n}").as_bytes(), &mut rng).unwrap();
    }
    World { net, rng, a, b }
}

/// Reopens a device from what its store holds: the process that held `a` is gone.
fn reopen(a: &Device) -> Device {
    Client::open(a.clone().into_store()).unwrap().unwrap()
}

/// The world after A took B's three notes and revoked B (B's bound: max_seq 3), plus an
/// envelope B sealed afterwards (B never fetched the chain; its writer_seq is 4, above the bound).
fn revoked_b_wrote_again() -> (World, Vec<u8>) {
    let mut w = world();
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
    let b = w.b.id();
    w.a.revoke(&mut w.net, &b, &mut w.rng).unwrap();
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
    // B still holds its token and its old chain: it seals seq 4 (the honest server would refuse
    // the PutRecord, but a malicious one lists the bytes to A anyway)
    w.b.start_write("notes", rid(1), b"after revocation", &mut w.rng).unwrap();
    let Some(Request::PutRecord { ref envelope, .. }) = w.b.poll_request() else { panic!("no PutRecord") };
    let envelope = envelope.clone();
    (w, envelope)
}

/// A malicious server: the honest one, plus `extra` listed under server sequence number 10_000.
fn with_extra(mut net: Net, extra: &[u8]) -> impl Transport + use<> {
    let extra = extra.to_vec();
    move |r: Request| match r {
        Request::ListSince { token, cursor, limit } if cursor < 10_000 => {
            match net.call(Request::ListSince { token, cursor, limit }) {
                Response::Items { mut items } => {
                    items.push(Item { seq: 10_000, kind: ItemKind::Envelope, bytes: extra.clone() });
                    Response::Items { items }
                }
                other => other,
            }
        }
        Request::ListSince { .. } => Response::Items { items: vec![] },
        r => net.call(r),
    }
}

// FINDING P1 (medium): an alert that "fires once" is lost for good by a crash between the sync's
// commit and the moment the application reads the outcome.
//
// [PERSIST-1] orders "commit, then show the result"; [SYNC-15] (a revoked writer's item above its
// bound is "alerted once: a later listing of the same bytes is skipped", kept in client.refused)
// and [SYNC-17] (E_SYNC_STALE_HEAD "fires once") store the fact that the alert was raised in the
// same commit as the sync, before anybody saw the alert. A crash (or a driver that dies) after
// the last handle_response and before poll_outcome leaves a device that will never raise it
// again: the reopened device skips the item silently and moves its cursor past it.
// src/client/verify.rs:239 (refused_above_bound inserted in the pass), verify.rs:308 (stale head),
// src/client/ops/sync.rs:54 (committed inside handle_response, before poll_outcome).
// EXPECTED (secure): the reopened device still reports the alert (alerts persisted until the
// application has taken them, or the once-marker committed only after the outcome is taken).
// [PERSIST-6] [SYNC-15]
#[test]
fn p1_alert_lost_when_the_process_dies_after_the_sync_commit() {
    let (w, env) = revoked_b_wrote_again();
    // control: an uncrashed device shows the alert, once
    let mut a = w.a.clone();
    let mut evil = with_extra(w.net.clone(), &env);
    let r = a.sync(&mut evil).unwrap();
    assert!(r.alerts.iter().any(|x| x.error() == Error::EnvWriterRevoked), "control: {:?}", r.alerts);
    // the crash: the sync runs to its last response (its one commit happens there) and the process
    // stops before the application reads the outcome
    let mut a = w.a.clone();
    let mut evil = with_extra(w.net.clone(), &env);
    a.start_sync().unwrap();
    while let Some(req) = a.poll_request() {
        a.handle_response(evil.call(req)).unwrap();
    }
    let mut a = reopen(&a); // (poll_outcome never called: the report died with the process)
    assert!(
        a.unread_alerts().iter().any(|x| x.error() == Error::EnvWriterRevoked),
        "the revoked writer's write above its bound was never reported: unread {:?}, cursor {}",
        a.unread_alerts(),
        a.cursor()
    );
    // acknowledged, durably: a later reopen has none
    a.acknowledge_alerts().unwrap();
    let a = reopen(&a);
    assert!(a.unread_alerts().is_empty());
}

// FINDING E1 (medium): a malicious server can make the device report ITS OWN internal or misuse
// fault, e.g. E_STORE_CORRUPT, for which [PERSIST-2] prescribes "stop; re-enrolling is the way
// back" (a fresh state, which is exactly what the persisted high-water marks exist to avoid).
//
// [ERR-2] says an `internal` fault is one where "neither the input nor a peer caused it", and
// [SRV-12] that a server's E_STORE_* never go on the wire; but [SYNC-18] decodes any registry code
// and [CLIENT-1] / src/client/ops/mod.rs:156-161 (`unexpected`) and :402-407 (`refused`) end the
// operation with the server's code unchanged. So the fault class the application acts on is the
// server's choice.
// EXPECTED (secure): a server-sent code outside the classes a server may answer (input, peer,
// refused) ends the operation with E_CLIENT_UNEXPECTED_RESPONSE (fault peer).
// [CLIENT-2] [ERR-2]
#[test]
fn e1_server_sent_internal_codes_surface_as_local_faults() {
    let w = world();
    for code in [Error::StoreCorrupt, Error::StoreIo, Error::StoreVersion, Error::ClientState, Error::ClientBusy] {
        let mut a = w.a.clone();
        let mut net = w.net.clone();
        let mut evil = |r: Request| match r {
            // through the wire: the code decodes ([SYNC-18])
            Request::GetChain { .. } => Response::decode(&Response::Error(code).encode()).unwrap(),
            r => net.call(r),
        };
        let got = a.sync(&mut evil).unwrap_err();
        assert_eq!(
            got.fault(),
            Fault::Peer,
            "the server's {code:?} surfaced as the device's own {:?} fault ({got:?})",
            got.fault()
        );
    }
}

// FINDING S1 (low): one sync has no bound. A server that answers every ListSince with a page that
// advances keeps the operation running for ever, and the client holds every listed item in memory
// until the end ([PERSIST-5]: one commit "after the last page"); there is no limit on pages or
// items (src/client/ops/sync.rs:74-84). Each page is well-formed and ascending ([SYNC-7]), so no
// check stops it; the device ends by exhausting memory, not with an error or an alert.
// EXPECTED (secure): a sync ends (or commits and restarts) after a bounded number of pages/items.
// [CLIENT-4] an endless listing: the sync verifies a bounded chunk (here the first one, whose
// malformed stubs end it with alerts) instead of gathering every page in memory.
#[test]
fn s1_a_sync_never_ends_while_pages_advance() {
    let w = world();
    let mut a = w.a.clone();
    let mut net = w.net.clone();
    a.start_sync().unwrap();
    let mut pages = 0usize;
    const LIMIT: usize = 200_000;
    while let Some(req) = a.poll_request() {
        let resp = match req {
            Request::ListSince { cursor, .. } => {
                pages += 1;
                Response::Items { items: vec![Item { seq: cursor + 1, kind: ItemKind::Stub, bytes: vec![0; 64] }] }
            }
            r => net.call(r),
        };
        a.handle_response(resp).unwrap();
        if pages >= LIMIT {
            break;
        }
    }
    assert!(pages < LIMIT, "one sync still asks for more after {pages} pages, holding all {pages} items in memory");
    assert_eq!(pages, blindsync::client::MAX_SYNC_ITEMS, "the chunk is verified when it is full");
    let Some(Ok(blindsync::client::Outcome::Synced(r))) = a.poll_outcome() else { panic!("no report") };
    assert!(!r.alerts.is_empty());
}

// FINDING C1 (low): starting an operation silently discards the outcome of the one that just
// ended, alerts included. [CLIENT-2] makes a second start while one is in progress E_CLIENT_BUSY,
// but `begin` (src/client/ops/mod.rs:164-170) only looks at `op` and clears `done`: a driver
// that starts the next operation before polling the outcome (an async driver racing a timer, a
// retry loop) loses a sync's report; with the once-only alerts of P1 the alert is gone for good.
// EXPECTED (secure): E_CLIENT_BUSY until the finished operation's outcome has been taken.
// [CLIENT-2]
#[test]
fn c1_a_new_start_discards_an_unread_sync_report() {
    let (w, env) = revoked_b_wrote_again();
    let mut a = w.a.clone();
    let mut evil = with_extra(w.net.clone(), &env);
    a.start_sync().unwrap();
    while let Some(req) = a.poll_request() {
        a.handle_response(evil.call(req)).unwrap();
    }
    // the sync is over; its report (with the alert) waits in poll_outcome
    let started = a.start_login();
    assert_eq!(started, Err(Error::ClientBusy), "a new operation started over an unread sync report");
}

// FINDING P2 (medium, spec gap): a device store that is authentic but OLD (restored from a backup
// of the phone or laptop, a copied profile, a VM snapshot) is loaded by Client::open without
// complaint, and the device then signs a second, different envelope for a writer sequence number
// it already used. Every other device raises E_SYNC_EQUIVOCATION against the honest device and
// parks its later writes for ever ([SYNC-14]), and the restored device accepts rollbacks down to
// the backup's high-water marks. [PERSIST-1] claims "a high-water mark ... never goes back" and
// [PERSIST-2] "never falls back to a fresh state, which would accept any rollback", but nothing
// in 11.8 or in src/client/persist.rs:282 (load) or src/client/ops/write.rs:67-68 (the
// sequence number is the stored one, no sync first) covers a stale store; a malicious server that
// withholds the device's own later writes can even trigger this on purpose after a restore.
// EXPECTED (secure): the spec forbids restoring a device store (excluded from backups) and/or the
// device re-learns its own sequence number (its own items listed, or a server-independent anchor)
// before its first write after open; here: B never sees A equivocate.
// [CLIENT-5] [SYNC-14]
#[test]
fn p2_a_store_restored_from_a_backup_makes_the_device_equivocate() {
    let mut w = world();
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
    w.a.write(&mut w.net, "notes", rid(7), b"seven", &mut w.rng).unwrap(); // A's seq 1
    let backup = w.a.clone().into_store(); // the nightly backup
    w.a.write(&mut w.net, "notes", rid(8), b"eight", &mut w.rng).unwrap(); // A's seq 2
    // the device is restored from the backup: it loads (it is authentic), but it may not write
    // before a sync to the end of the listing, which teaches it its own seq 2 ([CLIENT-5])
    let mut a = Client::open(backup).expect("the stale store loads").unwrap();
    a.login(&mut w.net).unwrap();
    assert_eq!(a.write(&mut w.net, "notes", rid(9), b"nine", &mut w.rng).err(), Some(Error::ClientSyncFirst));
    assert!(a.sync(&mut w.net).unwrap().alerts.is_empty());
    a.write(&mut w.net, "notes", rid(9), b"nine", &mut w.rng).unwrap();
    assert_eq!(a.last_seq(&a.id()), 3);
    let r = w.b.sync(&mut w.net).unwrap();
    assert!(
        !r.alerts.iter().any(|x| x.error() == Error::SyncEquivocation),
        "the honest device A, restored from its own backup, equivocated: {:?}",
        r.alerts
    );
}

// FINDING P1, second instance: the same loss for E_SYNC_STALE_HEAD ([SYNC-17]: "The alert fires
// once: a later listing of the same item is a replay"), the only alert a device gets for the
// freeze attack of 11.11 (a device kept on a pre-revocation head seals in an epoch the revoked
// device reads). With an honest server: A revokes C and syncs (its boundary); B, which has not
// fetched the chain since, writes at the old head; A's next sync raises the alert in its commit;
// the process dies before the report is read; the reopened A never raises it.
// EXPECTED (secure): the reopened A reports E_SYNC_STALE_HEAD for B's write.
// [PERSIST-6] [SYNC-17]
#[test]
fn p1b_stale_head_alert_lost_when_the_process_dies_after_the_sync_commit() {
    let mut w = world();
    // a third device C joins
    let new = DeviceKeys::generate(&mut w.rng);
    let mut join = Joining::new(Volatile, new.clone(), w.a.account(), w.a.id());
    assert_eq!(run(&mut join, &mut w.net).err(), Some(Error::SrvNotFound));
    let pending = w.a.list_pending(&mut w.net).unwrap();
    w.a.approve(&mut w.net, &pending[0], &mut w.rng).unwrap();
    assert!(join.retry());
    let c = run(&mut join, &mut w.net).unwrap();
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
    assert!(w.b.sync(&mut w.net).unwrap().alerts.is_empty());
    // A revokes C and syncs: its boundary for the revocation is set
    w.a.revoke(&mut w.net, &c.id(), &mut w.rng).unwrap();
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
    // B, frozen on the old head, writes (sealed in epoch 0, readable by C)
    w.b.write(&mut w.net, "notes", rid(5), b"written on the old head", &mut w.rng).unwrap();
    // control: an uncrashed A is alerted
    let mut control = w.a.clone();
    let r = control.sync(&mut w.net.clone()).unwrap();
    assert!(r.alerts.iter().any(|x| x.error() == Error::SyncStaleHead), "control: {:?}", r.alerts);
    // the crash after the sync's commit, before its report is read
    let mut net = w.net.clone();
    let mut a = w.a.clone();
    a.start_sync().unwrap();
    while let Some(req) = a.poll_request() {
        a.handle_response(net.call(req)).unwrap();
    }
    let a = reopen(&a);
    assert!(
        a.unread_alerts().iter().any(|x| x.error() == Error::SyncStaleHead),
        "B's stale-head write was never reported: unread {:?}, B's record applied: {:?}",
        a.unread_alerts(),
        a.get("notes", &rid(5)).map(|v| String::from_utf8_lossy(v).into_owned())
    );
}
