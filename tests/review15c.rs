//! Regression tests from the third adversarial review of issue 15, which attacked the fixes of the
//! second (unread alerts one per class [PERSIST-6], acknowledge_alerts(count), busy/untaken
//! refusals [CLIENT-2], chain appends gated on a sync after reopening [CLIENT-5]). Each failed on
//! the reviewed main (115a51f); U1 now asserts the specified per-code keeping of refused items.

use blindsync::client::{Alert, Client, Exchange, Joining, Persistent, Registration, Transport, Volatile, run};
use blindsync::device::DeviceKeys;
use blindsync::envelope::RecordId;
use blindsync::error::Error;
use blindsync::primitives::SeededRng;
use blindsync::server::wire::{Item, ItemKind, Request, Response};
use blindsync::server::{MemoryStorage, Server, ServerConfig};
use blindsync::store::{KvStore, MemoryStore, WriteBatch};
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;
use std::cell::Cell;
use std::rc::Rc;

type Device = Client<Persistent<MemoryStore>>;

/// The honest reference server, through the wire encoding.
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
        let bytes = self.server.handle_bytes(&r.encode(), self.now, &mut self.srng);
        Response::decode(&bytes).unwrap_or_else(Response::Error)
    }
}

fn rid(n: u32) -> RecordId {
    let mut r = [0u8; 16];
    r[..4].copy_from_slice(&n.to_be_bytes());
    RecordId(r)
}

fn new_net(label: &str) -> Net {
    Net {
        server: Server::new(MemoryStorage::default(), ServerConfig::new([9; 32])),
        srng: SeededRng::from_label(&format!("{label}/server")),
        now: 1_000_000,
    }
}

fn register<P: blindsync::client::Persist>(net: &mut Net, rng: &mut SeededRng, store: P) -> Client<P> {
    let dev = DeviceKeys::generate(rng);
    let code = RecoveryCode::generate(rng);
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(rng) };
    let pw = kdf.derive(b"review15c password").unwrap();
    let mut reg = Registration::new(store, dev, b"r15c@example.org", &code.derive(), &pw, &kdf, rng).unwrap();
    run(&mut reg, net).unwrap()
}

fn pair<P: blindsync::client::Persist>(net: &mut Net, rng: &mut SeededRng, a: &mut Client<P>) -> Client {
    let new = DeviceKeys::generate(rng);
    let mut join = Joining::new(Volatile, new, a.account(), a.id());
    assert_eq!(run(&mut join, net).err(), Some(Error::SrvNotFound));
    let pending = a.list_pending(net).unwrap();
    a.approve(net, &pending[0], rng).unwrap();
    assert!(join.retry());
    let mut c = run(&mut join, net).unwrap();
    c.subscribe("notes").unwrap();
    c
}

/// The envelope `w` seals for its next write (captured, never sent).
fn sealed(w: &mut Client, rng: &mut SeededRng, n: u32) -> Vec<u8> {
    w.start_write("notes", rid(n), b"after revocation", rng).unwrap();
    match w.poll_request() {
        Some(Request::PutRecord { ref envelope, .. }) => envelope.clone(),
        other => panic!("no PutRecord: {:?}", other.is_some()),
    }
}

// =====================================================================================
// FINDING U1 (low): one unread alert per class is too coarse for a once-only alert: a SECOND
// revoked device still writing is never kept, and after a crash it is never reported.
//
// src/client/ops/mod.rs:196-212 (remember_alerts) keys a refused item's class on its code alone
// ([PERSIST-6]: "for a chain alert or a refused item, its code"). A write above a revoked writer's
// bound is alerted ONCE ([SYNC-15], src/client/verify.rs:238-241: client.refused remembers it).
// Two revoked devices B and C each still write: both are Forged(E_ENV_WRITER_REVOKED), the same
// class, so only B's is kept unread. The process dies after the sync's commit (the case
// [PERSIST-6] exists for): the reopened device reports one refused write, and no later sync raises
// C's again. An auditor of the device learns that one revoked device wrote on, not that two did.
// (The server can also fill the class first at no cost: [ENV-10]'s bound check precedes the
// signature check, src/envelope/mod.rs:472-474, so a header with a junk signature is alerted as
// E_ENV_WRITER_REVOKED too, and a real one that follows is dropped.)
// EXPECTED: every once-only alert survives the crash (e.g. the class keyed on the refused item's
// identity or item_seq, or a count of the dropped ones kept with the class).
// [PERSIST-6] [SYNC-15]
#[test]
fn u1_a_second_revoked_writers_once_only_alert_is_not_kept_and_is_lost_on_a_crash() {
    let mut rng = SeededRng::from_label("review15c/u1");
    let mut net = new_net("review15c/u1");
    let mut a: Device = register(&mut net, &mut rng, Persistent::new(MemoryStore::default()).unwrap());
    a.subscribe("notes").unwrap();
    let mut b = pair(&mut net, &mut rng, &mut a);
    let mut c = pair(&mut net, &mut rng, &mut a);
    b.write(&mut net, "notes", rid(1), b"b", &mut rng).unwrap();
    c.write(&mut net, "notes", rid(2), b"c", &mut rng).unwrap();
    assert!(a.sync(&mut net).unwrap().alerts.is_empty());
    let (bid, cid) = (b.id(), c.id());
    a.revoke(&mut net, &bid, &mut rng).unwrap();
    assert!(a.sync(&mut net).unwrap().alerts.is_empty());
    a.revoke(&mut net, &cid, &mut rng).unwrap();
    assert!(a.sync(&mut net).unwrap().alerts.is_empty());
    // both revoked devices still seal their sequence number 2 (above their bound 1)
    let env_b = sealed(&mut b, &mut rng, 3);
    let env_c = sealed(&mut c, &mut rng, 4);
    let evil = |honest: &Net| {
        let mut honest = honest.clone();
        let (env_b, env_c) = (env_b.clone(), env_c.clone());
        move |r: Request| match r {
            Request::ListSince { token, cursor, limit } if cursor < 10_000 => {
                match honest.call(Request::ListSince { token, cursor, limit }) {
                    Response::Items { mut items } => {
                        items.push(Item { seq: 10_000, kind: ItemKind::Envelope, bytes: env_b.clone() });
                        items.push(Item { seq: 10_001, kind: ItemKind::Envelope, bytes: env_c.clone() });
                        Response::Items { items }
                    }
                    other => other,
                }
            }
            Request::ListSince { .. } => Response::Items { items: vec![] },
            r => honest.call(r),
        }
    };
    let mut server = evil(&net);
    a.start_sync().unwrap();
    while let Some(req) = a.poll_request() {
        a.handle_response(server(req)).unwrap();
    }
    // (the sync's own report names both refused writes)
    let report = match a.clone().poll_outcome() {
        Some(Ok(blindsync::client::Outcome::Synced(r))) => r,
        _ => panic!("no sync report"),
    };
    // the sync raised both (its report), committed, and the process died before the report was read
    let mut a = Client::open(a.clone().into_store()).unwrap().unwrap();
    let refused = |alerts: &[Alert]| -> Vec<u64> {
        alerts
            .iter()
            .filter_map(|x| match x {
                Alert::Forged { item_seq, error: Error::EnvWriterRevoked } => Some(*item_seq),
                _ => None,
            })
            .collect()
    };
    assert_eq!(refused(&report.alerts), vec![10_000, 10_001]);
    let unread = refused(a.unread_alerts());
    let mut again = evil(&net);
    a.login(&mut again).unwrap();
    let later = refused(&a.sync(&mut again).unwrap().alerts);
    // [PERSIST-6] as specified: one unread refused-item alert per code, the first (its writer is
    // not authenticated: the bound check precedes the signature), which says that at least one
    // write above a revoked writer's bound was listed; the second is not reported again.
    assert_eq!(unread, vec![10_000], "the first refused write is kept unread");
    assert!(later.is_empty(), "once-only: {later:?}");
}

// =====================================================================================
// FINDING S1 (low, spec): [CLIENT-5] and 1.6 item 24 say a restored device's sync-first rule still
// leaves writes open to equivocation when the server withholds the device's own later WRITES, but
// not that the same holds for the chain appends the rule now also gates.
//
// src/client/ops/chain.rs:59-63 refuses appends only until a sync ends without an alert. A server
// that answers that sync's GetChain with the chain as the restored store holds it (omitting this
// device's own later statements) raises no alert ([CHAIN-10]: the same head), so the device then
// signs a second statement for a chain position it already signed: two device-signed branches,
// which the server can show to different devices (a fork with this device's signatures on both).
// [CLIENT-5] gives "a second statement for a chain position it already signed" as what the gate
// prevents, and its "This does not make a restored store safe" sentence (and 1.6 item 24) name
// only writes. The test shows the second signature and then checks the spec states it.
// EXPECTED: [CLIENT-5]'s residual-risk sentence (and 1.6 item 24) name the withheld chain
// statements and the device-signed fork they allow.
// [CLIENT-5]
#[test]
fn s1_a_restored_device_signs_a_chain_position_twice_after_a_sync_on_the_withheld_chain() {
    let mut rng = SeededRng::from_label("review15c/s1");
    let mut net = new_net("review15c/s1");
    let mut a: Device = register(&mut net, &mut rng, Persistent::new(MemoryStore::default()).unwrap());
    let backup = a.clone().into_store();
    let stale_len = a.chain().head().len;
    a.pin_partner(&mut net, [0x11; 32], "partner one").unwrap();
    assert!(a.chain().head().len > stale_len);
    let mut restored = Client::open(backup).unwrap().unwrap();
    restored.login(&mut net).unwrap();
    // a malicious server: the chain without the restored device's own later statement
    let mut withholding = |r: Request| match net.call(r) {
        Response::Chain { mut statements } => {
            statements.truncate(stale_len as usize);
            Response::Chain { statements }
        }
        other => other,
    };
    let report = restored.sync(&mut withholding).unwrap();
    assert!(report.alerts.is_empty(), "{:?}", report.alerts);
    assert_eq!(restored.chain().head().len, stale_len);
    restored.start_pin_partner([0x22; 32], "partner two").unwrap();
    assert!(matches!(restored.poll_request(), Some(Request::AppendChain { .. })), "a second statement is signed");
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/spec/11-sync.md")).unwrap();
    let start = spec.find("**[CLIENT-5]**").unwrap();
    let para = &spec[start..];
    let residual = &para[para.find("This does not make").unwrap()..para.find("Device stores must").unwrap()];
    assert!(
        residual.contains("statement") || residual.contains("chain"),
        "the device signed chain position {stale_len} twice after a sync without alert; [CLIENT-5]'s \
         residual risk names only writes: {residual:?}"
    );
}

// =====================================================================================
// FINDING R1 (medium): a sync whose commit fails still lifts [CLIENT-5]'s gate, and the reopened
// device then signs a writer sequence number it already used.
//
// src/client/ops/sync.rs:117-119 (finish_sync) sets `self.reopened = false` as soon as the listing
// ended without an alert, BEFORE the sync's one commit (sync.rs:56-63). When that commit fails
// (E_STORE_IO: a full disk, a busy file, anything transient), commit_since (ops/mod.rs:227-236)
// restores the state from before the sync, so the writer sequence number the sync had raised from
// this device's own later writes is forgotten, but `reopened` (not part of the state) stays false.
// The next start_write (the store works again) seals writer sequence number last+1 on the restored
// store's stale count: the very equivocation [CLIENT-5] exists to prevent, against an HONEST
// server. Here A writes seq 1, is backed up, writes seq 2; the restored device's sync lists seq 2,
// its commit fails once, and it then signs a second envelope with seq 2.
// EXPECTED: the gate is lifted only with the commit of the sync that earned it (E_CLIENT_SYNC_FIRST
// here), or the sync's in-memory results are kept.
// [CLIENT-5] [PERSIST-5] [SYNC-14]
#[derive(Clone, Default)]
struct Flaky {
    inner: MemoryStore,
    fail_next: Rc<Cell<bool>>,
}

impl KvStore for Flaky {
    fn get(&self, table: &'static str, key: &[u8]) -> blindsync::Result<Option<Vec<u8>>> {
        self.inner.get(table, key)
    }
    fn scan(&self, table: &'static str) -> blindsync::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.inner.scan(table)
    }
    fn commit(&mut self, batch: WriteBatch) -> blindsync::Result<()> {
        if self.fail_next.replace(false) {
            return Err(Error::StoreIo);
        }
        self.inner.commit(batch)
    }
}

#[test]
fn r1_a_failed_sync_commit_still_lifts_sync_first_and_the_device_reuses_a_sequence_number() {
    let mut rng = SeededRng::from_label("review15c/r1");
    let mut net = new_net("review15c/r1");
    let mut a: Client<Persistent<MemoryStore>> =
        register(&mut net, &mut rng, Persistent::new(MemoryStore::default()).unwrap());
    a.subscribe("notes").unwrap();
    a.write(&mut net, "notes", rid(1), b"one", &mut rng).unwrap();
    let backup = a.clone().into_store();
    a.write(&mut net, "notes", rid(2), b"two", &mut rng).unwrap();
    assert_eq!(a.last_seq(&a.id()), 2);
    let flag = Rc::new(Cell::new(false));
    let mut restored = Client::open(Flaky { inner: backup, fail_next: flag.clone() }).unwrap().unwrap();
    restored.login(&mut net).unwrap();
    flag.set(true); // the sync's one commit fails, once
    assert_eq!(restored.sync(&mut net).err(), Some(Error::StoreIo));
    let started = restored.start_write("notes", rid(3), b"three", &mut rng);
    assert!(
        started == Err(Error::ClientSyncFirst),
        "after a sync whose commit failed, start_write answered {started:?} and signed writer seq {:?} \
         (this device already stored seq 2)",
        restored.pending_write()
    );
}

// =====================================================================================
// FINDING U2 (medium): the same coarseness loses which writes a revoked device can read.
//
// [SYNC-17]: E_SYNC_STALE_HEAD for (writer, writer_seq) "reports that it was sealed at a head (and
// so in an epoch) before the revocation, readable by the revoked device", and "fires once". Each
// such alert names a different record whose content the application must treat as exposed. The
// class of a stale head is (kind, writer) (src/client/ops/mod.rs:201), so when an honest device B,
// not yet synced past a revocation, writes two records, only the first (B, 1) is kept unread; the
// process dies after the sync's commit; the reopened device never reports (B, 2) again (it is
// below B's sequence number now). Honest server, honest devices.
// EXPECTED: each once-only alert's identity ((writer, writer_seq) here) survives the crash.
// [PERSIST-6] [SYNC-17]
#[test]
fn u2_a_second_stale_head_write_of_one_writer_is_not_kept_and_is_lost_on_a_crash() {
    let mut rng = SeededRng::from_label("review15c/u2");
    let mut net = new_net("review15c/u2");
    let mut a: Device = register(&mut net, &mut rng, Persistent::new(MemoryStore::default()).unwrap());
    a.subscribe("notes").unwrap();
    let mut b = pair(&mut net, &mut rng, &mut a);
    let c = pair(&mut net, &mut rng, &mut a);
    assert!(a.sync(&mut net).unwrap().alerts.is_empty());
    let cid = c.id();
    a.revoke(&mut net, &cid, &mut rng).unwrap();
    assert!(a.sync(&mut net).unwrap().alerts.is_empty()); // the boundary
    // B has not synced: both writes cite the head before the revocation
    b.write(&mut net, "notes", rid(1), b"secret one", &mut rng).unwrap();
    b.write(&mut net, "notes", rid(2), b"secret two", &mut rng).unwrap();
    a.start_sync().unwrap();
    while let Some(req) = a.poll_request() {
        a.handle_response(net.call(req)).unwrap();
    }
    let stale = |alerts: &[Alert]| -> Vec<u64> {
        alerts
            .iter()
            .filter_map(|x| match x {
                Alert::StaleHead { seq, .. } => Some(*seq),
                _ => None,
            })
            .collect()
    };
    let report = match a.clone().poll_outcome() {
        Some(Ok(blindsync::client::Outcome::Synced(r))) => r,
        _ => panic!("no sync report"),
    };
    assert_eq!(stale(&report.alerts), vec![1, 2], "precondition: both writes are stale-head alerts");
    // the process dies after the sync's commit, before the report is read
    let mut a = Client::open(a.clone().into_store()).unwrap().unwrap();
    let unread = stale(a.unread_alerts());
    a.login(&mut net).unwrap();
    let later = stale(&a.sync(&mut net).unwrap().alerts);
    assert!(
        unread.contains(&2) || later.contains(&2),
        "B's writes 1 and 2 were sealed readable by the revoked device; after the crash the device \
         keeps stale heads {unread:?} and a later sync raises {later:?}: write 2's exposure is lost"
    );
}
