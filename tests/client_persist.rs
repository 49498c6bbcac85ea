//! The client's persistent state (spec 11.8): reload, crash at every commit
//! point of every operation, the version 1 format, and the operations'
//! misuse errors.

use std::collections::BTreeMap;

use blindsync::chain::UnlockPathKeys;
use blindsync::client::{
    Client, Enrollment, Exchange, Joining, Outcome, Persistent, Registration, State, Transport, Volatile, run,
};
use blindsync::device::DeviceKeys;
use blindsync::envelope::RecordId;
use blindsync::error::{Error, Fault};
use blindsync::primitives::SeededRng;
use blindsync::server::wire::{Request, Response};
use blindsync::store::{KvStore, MemoryStore, WriteBatch};
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;
use blindsync_testkit::net::Net;

const EMAIL: &[u8] = b"persist@example.org";
const PASSWORD: &[u8] = b"persist password";

/// A store that "crashes" at one commit: that commit is not applied, it and
/// everything after it fail with `E_STORE_IO`, as if the process had stopped.
/// It also keeps a copy of the store after every successful commit.
#[derive(Clone, Default, PartialEq, Eq)]
struct CrashStore {
    inner: MemoryStore,
    commits: usize,
    crash_at: Option<usize>,
    crashed: bool,
    history: Vec<MemoryStore>,
}

impl KvStore for CrashStore {
    fn get(&self, table: &'static str, key: &[u8]) -> blindsync::Result<Option<Vec<u8>>> {
        if self.crashed { Err(Error::StoreIo) } else { self.inner.get(table, key) }
    }
    fn scan(&self, table: &'static str) -> blindsync::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        if self.crashed { Err(Error::StoreIo) } else { self.inner.scan(table) }
    }
    fn commit(&mut self, batch: WriteBatch) -> blindsync::Result<()> {
        if self.crashed || self.crash_at == Some(self.commits) {
            self.crashed = true;
            return Err(Error::StoreIo);
        }
        self.commits += 1;
        self.inner.commit(batch)?;
        self.history.push(self.inner.clone());
        Ok(())
    }
}

type Device = Client<Persistent<CrashStore>>;

/// The world before an operation: a server, device A (persistent, crashable),
/// device B (paired, volatile) that wrote three notes A has not synced yet.
/// A copy draws the same randomness as every other copy (its generators restart).
struct World {
    net: Net,
    rng: SeededRng,
    a: Device,
    b: Client,
    kdf: PasswordKdf,
    code: RecoveryCode,
}

impl Clone for World {
    fn clone(&self) -> Self {
        World {
            net: self.net.clone(),
            rng: SeededRng::from_label("client-persist/copy"),
            a: self.a.clone(),
            b: self.b.clone(),
            kdf: self.kdf,
            code: self.code.clone(),
        }
    }
}

fn rid(n: u8) -> RecordId {
    RecordId([n; 16])
}

fn store() -> Persistent<CrashStore> {
    Persistent::new(CrashStore::default()).unwrap()
}

fn world() -> World {
    let mut rng = SeededRng::from_label("client-persist");
    let mut net = Net { page: Some(2), ..Net::new("client-persist") };
    let dev = DeviceKeys::generate(&mut rng);
    let code = RecoveryCode::generate(&mut rng);
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut rng) };
    let pw = kdf.derive(PASSWORD).unwrap();
    let mut reg = Registration::new(store(), dev, EMAIL, &code.derive(), &pw, &kdf, &mut rng).unwrap();
    let mut a = run(&mut reg, &mut net).unwrap();
    let b = pair(&mut net, &mut a, &mut rng, Volatile).0;
    let mut w = World { net, rng, a, b, kdf, code };
    w.a.subscribe("notes").unwrap();
    w.b.subscribe("notes").unwrap();
    for n in 1..=3 {
        w.b.write(&mut w.net, "notes", rid(n), format!("note {n}").as_bytes(), &mut w.rng).unwrap();
    }
    w
}

/// Pairing through the server with both sides' operations: the new device
/// announces itself, finds no bundle yet, the approver lists and approves, the
/// new device retries and joins. [CLIENT-3] [DEV-5] [DEV-6]
fn pair<P: blindsync::client::Persist>(
    net: &mut Net,
    approver: &mut Device,
    rng: &mut SeededRng,
    store: P,
) -> (Client<P>, DeviceKeys) {
    let new = DeviceKeys::generate(rng);
    let mut join = Joining::new(store, new.clone(), approver.account(), approver.id());
    assert_eq!(run(&mut join, net).err(), Some(Error::SrvNotFound));
    let pending = approver.list_pending(net).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].public, new.public());
    approver.approve(net, &pending[0], rng).unwrap();
    assert!(join.retry());
    let client = run(&mut join, net).unwrap();
    assert!(!join.retry());
    assert_eq!(client.chain().head(), approver.chain().head());
    (client, new)
}

/// The state a store holds (none: `None`).
fn stored(store: &MemoryStore) -> Option<State> {
    blindsync::client::load(store).unwrap()
}

/// Reopens a device from what its store holds (the crashed process is gone).
fn reopen(a: Device) -> Option<Device> {
    let inner = a.into_store().inner;
    Client::open(CrashStore { inner, ..CrashStore::default() }).unwrap()
}

// [PERSIST-1] [PERSIST-4] a reopened device holds exactly what it held, logs in again and goes on.
#[test]
fn reopen_restores_every_item_of_the_state() {
    let mut w = world();
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
    w.a.write(&mut w.net, "notes", rid(9), b"mine", &mut w.rng).unwrap();
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
    let before = w.a.state().clone();
    assert_eq!(before.records().len(), 4);
    assert_eq!(before.writer_seqs().get(&w.b.id()), Some(&3));
    let mut a = reopen(w.a.clone()).unwrap();
    assert_eq!(a.state(), &before);
    assert_eq!(a.token(), None);
    // [CLIENT-2] the session is not stored
    assert_eq!(a.sync(&mut w.net).err(), Some(Error::ClientNotLoggedIn));
    a.login(&mut w.net).unwrap();
    w.b.write(&mut w.net, "notes", rid(1), b"edited", &mut w.rng).unwrap();
    let r = a.sync(&mut w.net).unwrap();
    assert!(r.alerts.is_empty(), "{:?}", r.alerts);
    assert_eq!(a.get("notes", &rid(1)), Some(&b"edited"[..]));
    assert_eq!(a.write(&mut w.net, "notes", rid(9), b"mine again", &mut w.rng), Ok(2));
    assert_eq!(a.last_seq(&a.id()), 2);
}

// [PERSIST-2] [SYNC-10] the point of persisting: a device restarted from its store still refuses
// a rollback that a fresh device would take.
#[test]
fn a_restarted_device_still_alerts_on_rollback() {
    let mut w = world();
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
    let old = w.net.server.store_items(&w.a.account());
    w.b.write(&mut w.net, "notes", rid(1), b"newer", &mut w.rng).unwrap();
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
    let mut a = reopen(w.a.clone()).unwrap();
    a.login(&mut w.net).unwrap();
    // the server serves the old envelope of record 1 again as the only item after the cursor
    let stale = old.iter().find(|i| i.kind == blindsync::server::wire::ItemKind::Envelope).unwrap().clone();
    let cursor = a.cursor();
    // (the page after it is empty: a page that does not advance is E_SYNC_ORDER, [SYNC-7])
    let mut evil = |r: Request| match (&r, w.net.call(r.clone())) {
        (Request::ListSince { cursor: c, .. }, Response::Items { .. }) => {
            let mut item = stale.clone();
            item.seq = cursor + 1;
            Response::Items { items: if *c == cursor { vec![item] } else { vec![] } }
        }
        (_, r) => r,
    };
    let r = a.sync(&mut evil).unwrap();
    assert_eq!(r.alerts.len(), 1, "{:?}", r.alerts);
    assert_eq!(r.alerts[0].error(), Error::SyncRollback);
    assert_eq!(a.get("notes", &rid(1)), Some(&b"newer"[..]));
}

/// Runs `op` on a copy of `w` with A's store crashing at its `k`-th commit
/// (`None`: no crash); returns the state before, the result, and A.
fn attempt(
    w: &World,
    k: Option<usize>,
    op: &dyn Fn(&mut World) -> blindsync::Result<()>,
) -> (State, blindsync::Result<()>, World) {
    let mut w = w.clone();
    let done = w.a.persist().store().commits;
    w.a.persist_mut().store_mut().crash_at = k.map(|k| done + k);
    let before = w.a.state().clone();
    let r = op(&mut w);
    (before, r, w)
}

/// [PERSIST-5] crash at every commit point of `op`: the reopened state is the
/// state before or the one after a commit point of the run without a crash,
/// and no high-water mark, chain head or identity goes back.
fn crash_everywhere(name: &str, w: &World, op: &dyn Fn(&mut World) -> blindsync::Result<()>, expect_commits: usize) {
    let (before, result, done) = attempt(w, None, op);
    assert_eq!(result, Ok(()), "{name}");
    let history = &done.a.persist().store().history;
    let start = w.a.persist().store().history.len();
    let points: Vec<State> = history[start..].iter().map(|m| stored(m).unwrap()).collect();
    assert_eq!(points.len(), expect_commits, "{name}: commit points");
    let after = done.a.state().clone();
    assert_eq!(points.last(), Some(&after), "{name}: the last commit is the state after");
    assert_ne!(before, after, "{name} changed nothing");
    for k in 0..expect_commits {
        let (before, result, crashed) = attempt(w, Some(k), op);
        assert_eq!(result, Err(Error::StoreIo), "{name}: crash at commit {k}");
        let reopened = reopen(crashed.a).unwrap();
        let got = reopened.state();
        let expected = if k == 0 { &before } else { &points[k - 1] };
        assert_eq!(got, expected, "{name}: crash at commit {k}");
        // never a rollback
        assert!(got.chain().head().len >= before.chain().head().len, "{name}");
        for (w, s) in before.writer_seqs() {
            assert!(got.writer_seqs().get(w).is_some_and(|g| g >= s), "{name}: writer sequence went back");
        }
        for (k, r) in before.accepted() {
            assert!(got.accepted().get(k).is_some_and(|g| g >= r), "{name}: accepted revision went back");
        }
        for (k, i) in before.identities() {
            assert_eq!(got.identities().get(k), Some(i), "{name}: identity forgotten");
        }
        assert!(got.cursor() >= before.cursor(), "{name}: cursor went back");
    }
}

// [PERSIST-1] [PERSIST-5] [CLIENT-3] crash at every commit point of every operation of a running device.
#[test]
fn crash_at_every_commit_point() {
    let w = world();
    // a sync over two pages of two and one item: one commit, at its end
    crash_everywhere(
        "sync",
        &w,
        &|w| {
            let r = w.a.sync(&mut w.net)?;
            assert!(r.alerts.is_empty(), "{:?}", r.alerts);
            assert_eq!(r.applied, 3);
            Ok(())
        },
        1,
    );
    let mut synced = w.clone();
    assert!(synced.a.sync(&mut synced.net).unwrap().alerts.is_empty());
    // a write: queued in the outbox, then stored
    crash_everywhere(
        "write",
        &synced,
        &|w| w.a.write(&mut w.net, "notes", rid(7), b"seven", &mut w.rng).map(|_| ()),
        2,
    );
    crash_everywhere("subscribe", &synced, &|w| w.a.subscribe("todo"), 1);
    // revoking B (it wrote three notes A took): one commit, the chain and the new epoch's UMK together
    crash_everywhere(
        "revoke",
        &synced,
        &|w| {
            let b = w.b.id();
            w.a.revoke(&mut w.net, &b, &mut w.rng)?;
            assert_eq!(w.a.chain().epoch(), 1);
            assert_eq!(w.a.chain().revoked()[&b].max_seq, 3);
            Ok(())
        },
        1,
    );
    // approving a device that announced itself: the chain committed before the bundle is stored
    let mut pending = synced.clone();
    let c = DeviceKeys::generate(&mut pending.rng);
    let p = c.pending(&pending.a.account());
    let posted = pending.net.call(Request::PostPending {
        account: pending.a.account().0,
        ed25519: p.public.ed25519,
        x25519: p.public.x25519,
        pop: p.pop,
    });
    assert_eq!(posted, Response::Ok);
    crash_everywhere(
        "approve",
        &pending,
        &|w| {
            let list = w.a.list_pending(&mut w.net)?;
            w.a.approve(&mut w.net, &list[0], &mut w.rng)
        },
        1,
    );
    // a password change, signed by the recovery authority: one commit, then SetPassword
    crash_everywhere(
        "change password",
        &synced,
        &|w| {
            let signer = UnlockPathKeys::from_recovery(&w.code.derive());
            let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut w.rng) };
            let pw = kdf.derive(b"a new password").map_err(|_| Error::StoreCorrupt)?;
            w.a.change_password(&mut w.net, &signer, &kdf, &pw, &mut w.rng)
        },
        1,
    );
    crash_everywhere("pin partner", &synced, &|w| w.a.pin_partner(&mut w.net, [0x42; 32], "partner"), 1);
}

// [PERSIST-5] [SYNC-6] a device that crashed with a write in its outbox resubmits the same bytes
// and ends where the uncrashed run ended.
#[test]
fn a_write_queued_before_a_crash_completes_after_reopening() {
    let mut w = world();
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
    let (_, ok, reference) =
        attempt(&w, None, &|w| w.a.write(&mut w.net, "notes", rid(7), b"x", &mut w.rng).map(|_| ()));
    assert_eq!(ok, Ok(()));
    let (_, r, crashed) =
        attempt(&w, Some(1), &|w| w.a.write(&mut w.net, "notes", rid(7), b"x", &mut w.rng).map(|_| ()));
    assert_eq!(r, Err(Error::StoreIo));
    let mut net = crashed.net.clone();
    let mut a = reopen(crashed.a).unwrap();
    assert_eq!(a.pending_write(), Some(1));
    a.login(&mut net).unwrap();
    // [CLIENT-2] a new write waits for the outbox
    assert_eq!(a.start_write("notes", rid(8), b"y", &mut w.rng), Err(Error::ClientOutboxPending));
    a.flush(&mut net).unwrap();
    assert_eq!(a.state(), reference.a.state());
    assert_eq!(net.server.store_items(&a.account()), reference.net.server.store_items(&a.account()));
}

// [PERSIST-5] registering, enrolling and joining commit once, before logging in: a crash there
// leaves an empty store (the device starts over), never a half-made device.
#[test]
fn making_a_device_commits_once() {
    let w = world();
    let mut rng = SeededRng::from_label("client-persist/new");
    let crashing = |k: Option<usize>| Persistent::new(CrashStore { crash_at: k, ..CrashStore::default() }).unwrap();
    // register
    for k in [Some(0), None] {
        let mut net = w.net.clone();
        let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut rng) };
        let pw = kdf.derive(b"pw").unwrap();
        let code = RecoveryCode::generate(&mut rng).derive();
        let dev = DeviceKeys::generate(&mut rng);
        let mut reg = Registration::new(crashing(k), dev, b"second@example.org", &code, &pw, &kdf, &mut rng).unwrap();
        match run(&mut reg, &mut net) {
            Err(e) => {
                assert_eq!((k, e), (Some(0), Error::StoreIo));
            }
            Ok(c) => {
                assert_eq!(k, None);
                assert_eq!(c.persist().store().history.len(), 1);
                assert_eq!(stored(&c.persist().store().inner).as_ref(), Some(c.state()));
            }
        }
    }
    // enroll by password and by recovery code: the account's fingerprint, one commit
    let mut net = w.net.clone();
    let mut e = Enrollment::with_password(crashing(None), DeviceKeys::generate(&mut rng), EMAIL, PASSWORD);
    let c = run(&mut e, &mut net).unwrap();
    assert_eq!(c.chain().fingerprint(), w.a.chain().fingerprint());
    assert_eq!(c.persist().store().history.len(), 1);
    let mut e =
        Enrollment::with_recovery(crashing(Some(0)), DeviceKeys::generate(&mut rng), w.a.account(), &w.code.derive());
    assert_eq!(run(&mut e, &mut net).err(), Some(Error::StoreIo));
    let mut e = Enrollment::with_recovery(Volatile, DeviceKeys::generate(&mut rng), w.a.account(), &w.code.derive());
    let mut r = run(&mut e, &mut net).unwrap();
    r.subscribe("notes").unwrap();
    assert!(r.sync(&mut net).unwrap().alerts.is_empty());
    assert_eq!(r.get("notes", &rid(3)), Some(&b"note 3"[..]));
    // a wrong password is refused like an unknown email
    let mut e = Enrollment::with_password(Volatile, DeviceKeys::generate(&mut rng), EMAIL, b"wrong");
    assert_eq!(run(&mut e, &mut net).err(), Some(Error::SrvAuth));
    // joining: a crash at its commit ends it with E_STORE_IO, after the server served everything
    let mut a = w.a.clone();
    assert!(a.sync(&mut net).unwrap().alerts.is_empty());
    let mut crashed = Joining::new(crashing(Some(0)), DeviceKeys::generate(&mut rng), a.account(), a.id());
    assert_eq!(run(&mut crashed, &mut net).err(), Some(Error::SrvNotFound));
    for p in a.list_pending(&mut net).unwrap() {
        a.approve(&mut net, &p, &mut rng).unwrap();
    }
    assert!(crashed.retry());
    assert_eq!(run(&mut crashed, &mut net).err(), Some(Error::StoreIo));
    assert!(!crashed.retry());
    let (joined, _) = pair(&mut net, &mut a, &mut rng, crashing(None));
    assert_eq!(joined.persist().store().history.len(), 1);
    assert_eq!(stored(&joined.persist().store().inner).as_ref(), Some(joined.state()));
}

// [CLIENT-1] [CLIENT-2] the contract's misuse and unexpected-response errors, by fault.
#[test]
fn operation_contract_errors() {
    let mut w = world();
    let mut a = w.a.clone();
    // no operation waits
    assert_eq!(a.handle_response(Response::Ok), Err(Error::ClientNoOperation));
    assert_eq!(a.poll_request(), None);
    assert_eq!(a.poll_outcome(), None);
    // one at a time
    a.start_sync().unwrap();
    assert_eq!(a.start_login(), Err(Error::ClientBusy));
    // a response before its request was handed out
    assert_eq!(a.handle_response(Response::Ok), Err(Error::ClientNoOperation));
    let req = a.poll_request().unwrap();
    assert_eq!(req.name(), "get_chain");
    assert_eq!(a.poll_request(), None);
    assert_eq!(a.poll_outcome(), None);
    // the server answers with the wrong kind
    a.handle_response(Response::Ok).unwrap();
    assert_eq!(a.poll_outcome(), Some(Err(Error::ClientUnexpectedResponse)));
    assert_eq!(Error::ClientUnexpectedResponse.fault(), Fault::Peer);
    // a refusal ends the operation with its code; refusals are retriable
    a.start_list_pending().unwrap();
    let _ = a.poll_request();
    a.handle_response(Response::Error(Error::SrvUnavailable)).unwrap();
    assert_eq!(a.poll_outcome(), Some(Err(Error::SrvUnavailable)));
    assert_eq!(Error::SrvUnavailable.fault(), Fault::Refused);
    // [CLIENT-6] a code the server may not answer to the request is not a refusal
    a.start_list_pending().unwrap();
    let _ = a.poll_request();
    a.handle_response(Response::Error(Error::SrvPendingFull)).unwrap();
    assert_eq!(a.poll_outcome(), Some(Err(Error::ClientUnexpectedResponse)));
    // not logged in
    let mut fresh = Client::new(DeviceKeys::generate(&mut w.rng), a.chain().clone(), BTreeMap::new());
    for e in [fresh.start_sync(), fresh.start_flush(), fresh.start_list_pending(), fresh.start_append_chain(vec![])] {
        assert_eq!(e, Err(Error::ClientNotLoggedIn));
    }
    assert_eq!(Error::ClientNotLoggedIn.fault(), Fault::Misuse);
    // a write the server refuses stays in the outbox; a new write waits for it
    let mut refuse = |r: Request| match r {
        Request::PutRecord { .. } => Response::Error(Error::SrvWriter),
        r => w.net.call(r),
    };
    assert_eq!(a.write(&mut refuse, "notes", rid(5), b"kept", &mut w.rng), Err(Error::SrvWriter));
    assert_eq!(a.pending_write(), Some(1));
    assert_eq!(a.start_write("notes", rid(6), b"next", &mut w.rng), Err(Error::ClientOutboxPending));
    assert_eq!(a.write(&mut w.net, "notes", rid(6), b"next", &mut w.rng), Ok(1));
    assert_eq!(a.pending_write(), None);
    assert_eq!(a.last_seq(&a.id()), 2);
}

/// A's store with its own writer sequence number set to `seq` (and, if
/// `identity`, a remembered identity for it).
fn forged_own_seq(w: &World, seq: u64, identity: bool) -> Device {
    let mut store = w.a.clone().into_store().inner;
    let me = w.a.id().0;
    let mut b = WriteBatch::default();
    b.put("client.writers", &me, &seq.to_be_bytes());
    if identity {
        let mut k = me.to_vec();
        k.extend_from_slice(&seq.to_be_bytes());
        b.put("client.identities", &k, &[7; 32]);
    }
    store.commit(b).unwrap();
    let mut a = Client::open(CrashStore { inner: store, ..CrashStore::default() }).unwrap().unwrap();
    a.login(&mut w.net.clone()).unwrap();
    a
}

// [CLIENT-2] a device's own sequence number exhausted is misuse; its own state without the
// identity of its last write is internal.
#[test]
fn own_sequence_errors() {
    let mut w = world();
    let mut a = forged_own_seq(&w, u64::MAX, true);
    assert_eq!(a.start_write("notes", rid(1), b"x", &mut w.rng), Err(Error::ClientOverflow));
    assert_eq!(Error::ClientOverflow.fault(), Fault::Misuse);
    let mut a = forged_own_seq(&w, 5, false);
    assert_eq!(a.start_write("notes", rid(1), b"x", &mut w.rng), Err(Error::ClientState));
    assert_eq!(Error::ClientState.fault(), Fault::Internal);
}

/// A store as text: one `table key-hex value-hex` line per entry.
fn dump(store: &MemoryStore) -> String {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mut out = String::new();
    for t in blindsync::client::TABLES {
        for (k, v) in store.scan(t).unwrap() {
            out.push_str(&format!("{t} {} {}\n", hex(&k), hex(&v)));
        }
    }
    out
}

fn undump(text: &str) -> MemoryStore {
    let unhex =
        |s: &str| (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect::<Vec<u8>>();
    let mut b = WriteBatch::default();
    for line in text.lines() {
        let mut f = line.split(' ');
        let (t, k, v) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap_or(""));
        let t = blindsync::client::TABLES.iter().find(|x| **x == t).unwrap();
        b.put(t, &unhex(k), &unhex(v));
    }
    let mut s = MemoryStore::default();
    s.commit(b).unwrap();
    s
}

const FIXTURE: &str = "tests/fixtures/client_store_v1.txt";

// [PERSIST-3] [PERSIST-4] a store written in format version 1 (frozen bytes) loads: every
// later format must keep a migration from it. Regenerate only with BLINDSYNC_WRITE_FIXTURE=1.
#[test]
fn version_1_store_loads() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    if std::env::var_os("BLINDSYNC_WRITE_FIXTURE").is_some() {
        let mut w = world();
        assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
        w.a.write(&mut w.net, "notes", rid(9), b"mine", &mut w.rng).unwrap();
        std::fs::write(&path, dump(&w.a.clone().into_store().inner)).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let store = undump(&text);
    assert_eq!(blindsync::client::stored_version(&store), Ok(Some(1)));
    let a = Client::open(store.clone()).unwrap().unwrap();
    // what the scenario did: B (the chain's second device) wrote notes 1 to 3, A wrote one
    assert_eq!(a.chain().head().len, 2);
    assert_eq!(a.state().records().len(), 4);
    assert_eq!(a.get("notes", &rid(2)), Some(&b"note 2"[..]));
    assert_eq!(a.get("notes", &rid(9)), Some(&b"mine"[..]));
    let b = a.chain().devices().keys().copied().find(|d| *d != a.id()).unwrap();
    assert_eq!(a.last_seq(&b), 3);
    assert_eq!(a.last_seq(&a.id()), 1);
    assert_eq!(a.state().identities().len(), 4);
    assert_eq!(a.pending_write(), None);
    assert_eq!(a.umks().len(), 1);
    // an empty store holds no device
    assert!(Client::open(MemoryStore::default()).unwrap().is_none());
    // the loaded state encodes to the same entries
    let mut b = WriteBatch::default();
    for ((t, k), v) in blindsync::client::encode(a.state()) {
        b.put(t, &k, &v);
    }
    let mut again = MemoryStore::default();
    again.commit(b).unwrap();
    assert_eq!(dump(&again), text);
}

// [PERSIST-2] [PERSIST-3] a newer version, malformed entries, a chain or a UMK that does not verify:
// refused with their codes, never a fresh state.
#[test]
fn bad_stores_are_refused() {
    let text = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE)).unwrap();
    let good = undump(&text);
    let with = |table: &'static str, key: &[u8], value: Option<&[u8]>| {
        let mut s = good.clone();
        let mut b = WriteBatch::default();
        match value {
            Some(v) => b.put(table, key, v),
            None => b.delete(table, key),
        }
        s.commit(b).unwrap();
        Client::open(s).map(|c| c.map(|c| c.state().clone()))
    };
    assert_eq!(with("client.meta", b"version", Some(&2u32.to_be_bytes())), Err(Error::StoreVersion));
    assert_eq!(with("client.meta", b"version", Some(&0u32.to_be_bytes())), Err(Error::StoreVersion));
    assert_eq!(with("client.meta", b"version", Some(&[0, 1])), Err(Error::StoreCorrupt));
    assert_eq!(with("client.meta", b"version", None), Err(Error::StoreCorrupt));
    assert_eq!(with("client.meta", b"cursor", Some(&[0; 9])), Err(Error::StoreCorrupt));
    assert_eq!(with("client.meta", b"device", None), Err(Error::StoreCorrupt));
    assert_eq!(with("client.meta", b"unknown", Some(b"")), Err(Error::StoreCorrupt));
    assert_eq!(with("client.umks", &0u32.to_be_bytes(), Some(&[1; 32])), Err(Error::StoreCorrupt));
    assert_eq!(with("client.chain", &1u64.to_be_bytes(), None), Err(Error::StoreCorrupt)); // a lost tail
    assert_eq!(with("client.meta", b"head", None), Err(Error::StoreCorrupt));
    assert_eq!(with("client.chain", &0u64.to_be_bytes(), Some(b"not a statement")), Err(Error::StoreCorrupt));
    assert_eq!(with("client.writers", &[1; 31], Some(&[0; 8])), Err(Error::StoreCorrupt));
    assert_eq!(with("client.collections", b"notes", Some(b"x")), Err(Error::StoreCorrupt));
    assert_eq!(with("client.revocations", &[0; 8], Some(&[0; 7])), Err(Error::StoreCorrupt));
    assert!(with("client.writers", &[1; 32], Some(&[0; 8])).unwrap().is_some()); // a well-formed entry loads
    // every single-byte truncation of every entry is refused or loads, never panics
    for t in blindsync::client::TABLES {
        for (k, v) in good.scan(t).unwrap() {
            if !v.is_empty() {
                let r = with(t, &k, Some(&v[..v.len() - 1]));
                assert!(matches!(r, Err(Error::StoreCorrupt) | Err(Error::StoreVersion)), "{t}: {r:?}");
            }
        }
    }
    for e in [Error::StoreCorrupt, Error::StoreVersion, Error::StoreIo] {
        assert_eq!(e.fault(), Fault::Internal);
    }
}

// [CLIENT-1] [CLIENT-3] the operations hand out the requests of the spec's table, in order.
#[test]
fn operations_send_the_requests_of_the_table() {
    let mut w = world();
    let mut names = Vec::new();
    let mut log = |r: Request| {
        names.push(r.name());
        w.net.call(r)
    };
    w.a.sync(&mut log).unwrap();
    w.a.write(&mut log, "notes", rid(4), b"4", &mut w.rng).unwrap();
    let b = w.b.id();
    w.a.revoke(&mut log, &b, &mut w.rng).unwrap();
    assert_eq!(
        names,
        ["get_chain", "list_since", "list_since", "list_since", "put_record", "append_chain"],
        "sync pages of two: 2 + 1 + empty"
    );
    assert!(matches!(
        {
            w.a.start_login().unwrap();
            w.a.poll_request()
        },
        Some(Request::Challenge { .. })
    ));
    let _ = Outcome::LoggedIn;
}

// [PRIM-8] [PERSIST-1] a device's Debug (client, state, store) shows no record value and no key.
#[test]
fn debug_shows_no_secret() {
    let mut w = world();
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
    let seed = w.a.device().signing_seed().expose().iter().map(|b| format!("{b}")).collect::<Vec<_>>().join(", ");
    let umk = w.a.umks()[&0].expose().iter().map(|b| format!("{b}")).collect::<Vec<_>>().join(", ");
    let value = b"note 1".iter().map(|b| format!("{b}")).collect::<Vec<_>>().join(", ");
    for text in [format!("{:?}", w.a), format!("{:?}", w.a.state()), format!("{:?}", w.a.persist())] {
        assert!(!text.contains("note 1") && !text.contains(&value), "{text}");
        assert!(!text.contains(&seed) && !text.contains(&umk), "{text}");
    }
}
