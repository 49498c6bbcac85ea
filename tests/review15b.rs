//! Regression tests from the second adversarial review of issue 15, which attacked the fixes of
//! the first (a chunked sync, since withdrawn for [CLIENT-4]; unread alerts [PERSIST-6];
//! sync-first [CLIENT-5]; E1/C1). Each failed on the reviewed main (9928eab) and asserts the
//! specified behaviour.

use blindsync::client::{Client, Exchange, Joining, Outcome, Persistent, Registration, Transport, Volatile, run};
use blindsync::device::DeviceKeys;
use blindsync::envelope::RecordId;
use blindsync::envelope::padding::MAX_PAYLOAD_LEN;
use blindsync::error::Error;
use blindsync::primitives::SeededRng;
use blindsync::server::wire::{Item, ItemKind, Request, Response};
use blindsync::server::{MemoryStorage, Server, ServerConfig};
use blindsync::store::MemoryStore;
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;

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

/// The honest server, serving listing pages of at most `page` items ([SRV-7]: "at most
/// min(limit, 1024)"; a server may page by size).
struct Paged<'a> {
    net: &'a mut Net,
    page: usize,
}

impl Transport for Paged<'_> {
    fn call(&mut self, r: Request) -> Response {
        match self.net.call(r) {
            Response::Items { mut items } => {
                items.truncate(self.page);
                Response::Items { items }
            }
            other => other,
        }
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

/// Registers device A in `store`.
fn register<P: blindsync::client::Persist>(net: &mut Net, rng: &mut SeededRng, store: P) -> Client<P> {
    let dev = DeviceKeys::generate(rng);
    let code = RecoveryCode::generate(rng);
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(rng) };
    let pw = kdf.derive(b"review15b password").unwrap();
    let mut reg = Registration::new(store, dev, b"r15b@example.org", &code.derive(), &pw, &kdf, rng).unwrap();
    run(&mut reg, net).unwrap()
}

/// Pairs a new volatile device, approved by `a`.
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

/// A value whose envelope is as large as an envelope gets (16 MiB padded): four of them pass
/// [CLIENT-4]'s 64 MiB chunk.
fn big(n: u8) -> Vec<u8> {
    vec![n; MAX_PAYLOAD_LEN]
}

// =====================================================================================
// FINDING K1 (high): an HONEST server makes a chunked sync raise a false E_SYNC_WITHHELD, and the
// device can never sync past it (nor, once reopened, ever write: [CLIENT-5]).
//
// [CLIENT-4] says a chunk is verified and applied "as a sync would", and src/client/ops/sync.rs:66
// runs apply_items on the chunk alone. But [SYNC-9]'s stub rule ("a stub not superseded by a
// verified newer revision -> Withheld", src/client/verify.rs:285 `superseded` from the listing)
// needs the superseding write, which the honest server ([SRV-6]: "the superseded envelope becomes
// a stub", in place, src/server/mod.rs:718) lists LATER, under a higher sequence number. When a
// chunk boundary falls between a record's stub and its newer revision, the chunk raises
// Withheld, the sync ends (sync.rs:71), the cursor does not move, and every later sync re-lists
// the same chunk and raises the same alert: the device is wedged for ever, by an honest server,
// on any account large enough to need two chunks where some record was rewritten across the
// boundary. Here: 1019 small notes, note R, four 16 MiB records (page 1 = 1024 items, 64 MiB),
// then R rewritten (page 2).
// EXPECTED: no alert (the unchunked listing raises none), and the second sync completes.
// [CLIENT-4] [SYNC-9] [SRV-6]
/// K1's account: A wrote 1019 small notes, note R, four 16 MiB records, then R again (R's first
/// revision, item 1020, is a stub now); B, paired before, has not synced yet.
fn k1_world() -> (Net, Client, Client) {
    let mut rng = SeededRng::from_label("review15b/k1");
    let mut net = new_net("review15b/k1");
    let mut a = register(&mut net, &mut rng, Volatile);
    let b = pair(&mut net, &mut rng, &mut a);
    a.subscribe("notes").unwrap();
    for n in 0..1019u32 {
        a.write(&mut net, "notes", rid(100_000 + n), b"filler", &mut rng).unwrap();
    }
    a.write(&mut net, "notes", rid(1), b"R, first revision", &mut rng).unwrap(); // item 1020
    for n in 0..4u8 {
        a.write(&mut net, "notes", rid(10 + n as u32), &big(n), &mut rng).unwrap(); // items 1021..1024
    }
    a.write(&mut net, "notes", rid(1), b"R, second revision", &mut rng).unwrap(); // item 1025: 1020 is a stub now
    (net, a, b)
}

// [CLIENT-4] [SYNC-9]
#[test]
fn k1_honest_server_chunk_boundary_between_stub_and_its_rewrite_is_a_false_withheld() {
    let (mut net, _a, mut b) = k1_world();
    let r = b.sync(&mut net).unwrap();
    let again = b.sync(&mut net).unwrap();
    assert!(
        r.alerts.is_empty() && again.alerts.is_empty(),
        "an honest server's listing raised {:?} (and again {:?}); B's cursor stays at {} of 1025, \
         B has R = {:?}",
        r.alerts,
        again.alerts,
        b.cursor(),
        b.get("notes", &rid(1)).map(|v| String::from_utf8_lossy(v).into_owned())
    );
}

// =====================================================================================
// FINDING K2 (high): the same with a revoked writer whose writes straddle a chunk boundary.
//
// src/client/verify.rs:268-275 ([SYNC-15] "a revoked writer's items only up to its bound, complete,
// or none of them") runs per chunk: a chunk that holds some of a revoked writer's items but not
// all up to max_seq raises Withheld, although the rest follow in the next chunk. [CLIENT-4] says
// "The checks that need the whole listing run only at its end: a revoked writer left short of its
// bound", but this one needs the whole listing too. Every device that syncs the account from a
// cursor before the revoked device's writes (a new device; any device after a long offline
// period) is wedged for ever, by an honest server. Here B writes a note and four 16 MiB records
// (B's seq 1..5), then one more note (seq 6); A takes all six and revokes B (max_seq 6); a new
// device C syncs with an honest server paging 1 item at a time ([SRV-7] "at most").
// EXPECTED: C raises no alert and takes B's six writes.
// [CLIENT-4] [SYNC-15]
// [CLIENT-4] [SYNC-15]
#[test]
fn k2_honest_server_chunk_boundary_inside_a_revoked_writers_run_is_a_false_withheld() {
    let mut rng = SeededRng::from_label("review15b/k2");
    let mut net = new_net("review15b/k2");
    let mut a = register(&mut net, &mut rng, Volatile);
    a.subscribe("notes").unwrap();
    let mut b = pair(&mut net, &mut rng, &mut a);
    b.write(&mut net, "notes", rid(1), b"B's first", &mut rng).unwrap();
    for n in 0..4u8 {
        b.write(&mut net, "notes", rid(10 + n as u32), &big(n), &mut rng).unwrap();
    }
    b.write(&mut net, "notes", rid(2), b"B's last", &mut rng).unwrap();
    assert!(a.sync(&mut net).unwrap().alerts.is_empty());
    assert_eq!(a.last_seq(&b.id()), 6);
    let bid = b.id();
    drop(b);
    a.revoke(&mut net, &bid, &mut rng).unwrap();
    let mut c = pair(&mut net, &mut rng, &mut a);
    let r = c.sync(&mut Paged { net: &mut net, page: 1 }).unwrap();
    assert!(
        r.alerts.is_empty(),
        "an honest server's listing raised {:?} against the revoked B; C took B up to seq {} of 6 \
         (cursor {})",
        r.alerts,
        c.last_seq(&bid),
        c.cursor()
    );
}

// =====================================================================================
// FINDING A1 (medium): the unread-alert cap lets a server evict the once-only alert that
// [PERSIST-6] exists to keep, in the same sync that raised it.
//
// remember_alerts (src/client/ops/mod.rs:195-200) keeps the NEWEST 1024 and apply_items pushes
// Forged alerts in listing order (src/client/verify.rs:236-243), so a server lists the revoked
// writer's write above its bound ([SYNC-15]: alerted once, then skipped for ever) first and 1024
// junk items after it. The process dies after the sync's commit (exactly P1's scenario): the
// reopened device's unread alerts are 1024 copies of "a malformed item", and the one alert that
// named a revoked device still writing is gone; no later sync raises it again.
// EXPECTED: the reopened device still holds the E_ENV_WRITER_REVOKED alert (e.g. keep the oldest,
// or one per kind/writer, or count the dropped ones; never drop a once-only alert for junk).
// [PERSIST-6] [SYNC-15]
// [PERSIST-6]
#[test]
fn a1_junk_alerts_evict_the_once_only_alert_from_the_unread_list() {
    let mut rng = SeededRng::from_label("review15b/a1");
    let mut net = new_net("review15b/a1");
    let mut a: Device = register(&mut net, &mut rng, Persistent::new(MemoryStore::default()).unwrap());
    a.subscribe("notes").unwrap();
    let mut b = pair(&mut net, &mut rng, &mut a);
    for n in 1..=3 {
        b.write(&mut net, "notes", rid(n), b"note", &mut rng).unwrap();
    }
    assert!(a.sync(&mut net).unwrap().alerts.is_empty());
    let bid = b.id();
    a.revoke(&mut net, &bid, &mut rng).unwrap();
    assert!(a.sync(&mut net).unwrap().alerts.is_empty());
    // B, revoked, still seals seq 4 (above its bound 3)
    b.start_write("notes", rid(1), b"after revocation", &mut rng).unwrap();
    let Some(Request::PutRecord { ref envelope, .. }) = b.poll_request() else { panic!("no PutRecord") };
    let envelope = envelope.clone();
    // a malicious server: the honest listing, the revoked writer's envelope under 10_000, then
    // (with `junk`) 1024 malformed items
    let evil = |honest: &Net, junk: bool| {
        let mut honest = honest.clone();
        let envelope = envelope.clone();
        move |r: Request| match r {
            Request::ListSince { token, cursor, limit } if cursor < 10_000 => {
                match honest.call(Request::ListSince { token, cursor, limit }) {
                    Response::Items { mut items } => {
                        items.push(Item { seq: 10_000, kind: ItemKind::Envelope, bytes: envelope.clone() });
                        for s in 10_001..=11_024 {
                            if junk {
                                items.push(Item { seq: s, kind: ItemKind::Stub, bytes: vec![0; 64] });
                            }
                        }
                        Response::Items { items }
                    }
                    other => other,
                }
            }
            Request::ListSince { .. } => Response::Items { items: vec![] },
            r => honest.call(r),
        }
    };
    let mut flood = evil(&net, true);
    // the sync runs to its end (its commit), the process dies before the report is read
    a.start_sync().unwrap();
    while let Some(req) = a.poll_request() {
        a.handle_response(flood(req)).unwrap();
    }
    let mut a = Client::open(a.clone().into_store()).unwrap().unwrap();
    let unread: Vec<Error> = a.unread_alerts().iter().map(|x| x.error()).collect();
    // and no later sync raises it again (the item is in client.refused), even without the junk
    let mut again = evil(&net, false);
    a.login(&mut again).unwrap();
    let later = a.sync(&mut again).unwrap();
    assert!(
        unread.contains(&Error::EnvWriterRevoked) || later.alerts.iter().any(|x| x.error() == Error::EnvWriterRevoked),
        "the revoked writer's write was alerted once and evicted: {} unread alerts, none of them \
         E_ENV_WRITER_REVOKED (first: {:?}); a later sync (the revoked writer's envelope, no junk) raised {:?}",
        unread.len(),
        unread.first(),
        later.alerts
    );
}

// =====================================================================================
// FINDING C2 (medium): C1's fix is bypassed by start_flush with an empty outbox.
//
// src/client/ops/write.rs:32-37: with no outbox, start_flush checks only `self.op` and then
// OVERWRITES `self.done` with Flushed, so a finished sync's untaken report (its alerts) is
// discarded; [CLIENT-2] now says starting an operation "while a finished one's outcome has not
// been taken" is E_CLIENT_BUSY. On a volatile device ([PERSIST-6]: "a volatile one keeps none")
// the alert is gone entirely. A driver that flushes before each write (as Client::write does) or
// on a timer hits it.
// EXPECTED: E_CLIENT_BUSY, and the sync's report is still there.
// [CLIENT-2]
// [CLIENT-2]
#[test]
fn c2_start_flush_with_an_empty_outbox_discards_an_unread_sync_report() {
    let mut rng = SeededRng::from_label("review15b/c2");
    let mut net = new_net("review15b/c2");
    let mut a = register(&mut net, &mut rng, Volatile);
    a.subscribe("notes").unwrap();
    let mut evil = |r: Request| match r {
        Request::ListSince { cursor: 0, .. } => {
            Response::Items { items: vec![Item { seq: 1, kind: ItemKind::Envelope, bytes: vec![7; 300] }] }
        }
        r => net.call(r),
    };
    a.start_sync().unwrap();
    while let Some(req) = a.poll_request() {
        a.handle_response(evil(req)).unwrap();
    }
    // the sync is over; its report (a forged item) waits in poll_outcome
    let started = a.start_flush();
    let outcome = a.poll_outcome();
    assert!(
        started == Err(Error::ClientBusy)
            && matches!(outcome, Some(Ok(Outcome::Synced(ref r))) if !r.alerts.is_empty()),
        "start_flush answered {started:?} and the sync's report became {outcome:?}"
    );
}

// =====================================================================================
// FINDING C3 (low): start_write refused with E_CLIENT_BUSY has already signed the write and
// committed it to the outbox.
//
// src/client/ops/write.rs:56 checks `self.op` but not `self.done`; the envelope is sealed and
// committed (write.rs:100-112) before `begin` refuses (E_CLIENT_BUSY, ops/mod.rs:185). The caller
// is told the write did not start ([CLIENT-2]: a misuse error "the caller's"), yet a signed write
// with the next sequence number waits in the outbox and the next flush (Client::write flushes
// first) sends it; the caller's retry of "the same" write is E_CLIENT_OUTBOX_PENDING.
// EXPECTED: a refused start leaves no signed write behind.
// [CLIENT-2] [SYNC-6]
// [CLIENT-2]
#[test]
fn c3_a_busy_start_write_still_signs_and_commits_the_outbox() {
    let mut rng = SeededRng::from_label("review15b/c3");
    let mut net = new_net("review15b/c3");
    let mut a = register(&mut net, &mut rng, Volatile);
    a.subscribe("notes").unwrap();
    a.start_sync().unwrap();
    while let Some(req) = a.poll_request() {
        a.handle_response(net.call(req)).unwrap();
    }
    let started = a.start_write("notes", rid(1), b"cancelled", &mut rng);
    assert_eq!(started, Err(Error::ClientBusy));
    assert_eq!(
        a.pending_write(),
        None,
        "refused with E_CLIENT_BUSY, yet writer seq {:?} is signed in the outbox",
        a.pending_write()
    );
}

// =====================================================================================
// FINDING R1 (medium): [CLIENT-5] gates only start_write; a reopened device (possibly restored from
// a backup) signs chain statements on its stored, possibly stale, chain head before any sync.
//
// [CLIENT-5]'s reason ("a store may be older than the device's last write ... would sign a second
// envelope with a writer sequence number it already used") holds for chain statements too: a
// statement is signed at a chain position ([CHAIN-*] prev hash), and a restored device that
// appends (pin a partner, approve, revoke with a stale max_seq, change the password) signs a
// second, different statement for a position it already signed. The honest server refuses it;
// a malicious one keeps a device-signed fork branch (for a device it enrols later, or a partner).
// Only src/client/ops/write.rs:76 checks `reopened`; src/client/ops/chain.rs:51-65 does not.
// Here A pins partner P1 (chain position n), is restored from the backup taken before, and signs
// a pin of P2 for the same position n.
// EXPECTED: E_CLIENT_SYNC_FIRST (the spec names chain appends in [CLIENT-5], or gates every
// signing operation).
// [CLIENT-5] [CHAIN-10]
// [CLIENT-5]
#[test]
fn r1_a_restored_device_signs_a_chain_statement_on_a_stale_head_before_syncing() {
    let mut rng = SeededRng::from_label("review15b/r1");
    let mut net = new_net("review15b/r1");
    let mut a: Device = register(&mut net, &mut rng, Persistent::new(MemoryStore::default()).unwrap());
    let backup = a.clone().into_store();
    let stale_len = a.chain().head().len;
    a.pin_partner(&mut net, [0x11; 32], "partner one").unwrap();
    let mut restored = Client::open(backup).unwrap().unwrap();
    restored.login(&mut net).unwrap();
    let started = restored.start_pin_partner([0x22; 32], "partner two");
    let signed = restored.poll_request();
    assert!(
        started == Err(Error::ClientSyncFirst),
        "a reopened device started {started:?} and signed {:?} at chain length {stale_len} (the server's is {})",
        signed.map(|r| matches!(r, Request::AppendChain { .. })),
        a.chain().head().len
    );
}

// =====================================================================================
// FINDING O1 (medium; the persistence format, not a fix of the first review): a write of a value
// near the largest payload makes the device's store unloadable while it waits in the outbox.
//
// The outbox's `bytes envelope` is read back with the MAX_FIELD limit of 2^24 bytes
// (src/client/persist.rs:63 and :403), but an envelope is up to MAX_ENVELOPE_LEN = 2^24 +
// ENVELOPE_OVERHEAD (src/envelope/mod.rs:92). start_write commits it ([SYNC-6], before it leaves
// the device); if the server refuses or does not answer (E_SRV_UNAVAILABLE, a crash, a lost
// connection), Client::open then fails with E_STORE_CORRUPT, for which [PERSIST-2] prescribes
// "stop; re-enrolling is the way back": a server can brick a durable device that writes a large
// value by refusing that one PutRecord. [PERSIST-4] ("Loading decodes every entry totally")
// cannot hold for an entry the encoder produced.
// EXPECTED: the store reopens with the write still in the outbox.
// [PERSIST-4] [PERSIST-2] [SYNC-6]
// [PERSIST-4] [PERSIST-2]
#[test]
fn o1_a_large_write_waiting_in_the_outbox_makes_the_store_unloadable() {
    let mut rng = SeededRng::from_label("review15b/o1");
    let mut net = new_net("review15b/o1");
    let mut a: Device = register(&mut net, &mut rng, Persistent::new(MemoryStore::default()).unwrap());
    a.subscribe("notes").unwrap();
    let mut refusing = |r: Request| match r {
        Request::PutRecord { .. } => Response::Error(Error::SrvUnavailable),
        r => net.call(r),
    };
    let w = a.write(&mut refusing, "notes", rid(1), &big(1), &mut rng);
    assert_eq!(w.err(), Some(Error::SrvUnavailable));
    assert_eq!(a.pending_write(), Some(1));
    let reopened = Client::open(a.into_store()).map(|c| c.map(|c| c.pending_write()));
    assert_eq!(reopened, Ok(Some(Some(1))), "the device's own store no longer opens");
}

// =====================================================================================
