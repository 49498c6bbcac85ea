//! Review 17 (audit round 3, sync findings A3-4, A3-7, A3-1, A3-11): the fixes, driven as an
//! honest racing server or a malicious one would.

use blindsync::client::{Alert, Client, Exchange, Joining, Outcome, Persistent, Registration, Transport, Volatile, run};
use blindsync::device::{DeviceId, DeviceKeys};
use blindsync::envelope::{Header, RecordId, Stub, header::Suite};
use blindsync::keys::Bucket;
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

impl Transport for Net {
    fn call(&mut self, r: Request) -> Response {
        self.now += 1_000;
        let bytes = self.server.handle_bytes(&r.encode(), self.now, &mut self.srng);
        Response::decode(&bytes).unwrap_or_else(Response::Error)
    }
}

struct World {
    net: Net,
    rng: SeededRng,
    a: Device,
    b: Client,
}

fn rid(n: u8) -> RecordId {
    RecordId([n; 16])
}

fn world(label: &str) -> World {
    let mut rng = SeededRng::from_label(label);
    let mut net = Net {
        server: Server::new(MemoryStorage::default(), ServerConfig::new([9; 32])),
        srng: SeededRng::from_label(&format!("{label}/server")),
        now: 1_000_000,
    };
    let dev = DeviceKeys::generate(&mut rng);
    let code = RecoveryCode::generate(&mut rng);
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut rng) };
    let pw = kdf.derive(b"review17 password").unwrap();
    let store = Persistent::new(MemoryStore::default()).unwrap();
    let mut reg = Registration::new(store, dev, b"r17@example.org", &code.derive(), &pw, &kdf, &mut rng).unwrap();
    let mut a = run(&mut reg, &mut net).unwrap();
    let new = DeviceKeys::generate(&mut rng);
    let mut join = Joining::new(Volatile, new.clone(), a.account(), a.id());
    let _ = run(&mut join, &mut net);
    let pending = a.list_pending(&mut net).unwrap();
    a.approve(&mut net, &pending[0], &mut rng).unwrap();
    assert!(join.retry());
    let mut b = run(&mut join, &mut net).unwrap();
    a.subscribe("notes").unwrap();
    b.subscribe("notes").unwrap();
    for n in 1..=3 {
        b.write(&mut net, "notes", rid(n), format!("note {n}").as_bytes(), &mut rng).unwrap();
    }
    assert!(a.sync(&mut net).unwrap().alerts.is_empty());
    assert!(b.sync(&mut net).unwrap().alerts.is_empty());
    World { net, rng, a, b }
}

/// A stub nobody signed: writer `writer`, sequence number `seq`, garbage signature.
fn unsigned_stub(writer: DeviceId, seq: u64, chain_head: [u8; 32]) -> Vec<u8> {
    let header = Header {
        version: 1,
        suite: Suite::Aes256Gcm,
        bucket: Bucket([1; 32]),
        record_id: RecordId([2; 16]),
        revision: 1,
        writer,
        writer_seq: seq,
        epoch: 0,
        schema: 1,
        padded_len: 256,
        chain_head,
        salt: [3; 32],
        commitment: [4; 32],
        prev: [0; 32],
    };
    Stub { header, body_digest: [5; 32], signature: [6; 64] }.encode()
}

// ---------------------------------------------------------------------------------------------
// A3-4: the alert dedup of apply_items is linear; it still keeps one alert per problem, in the
// order first found.

#[test]
fn a3_4_alerts_are_deduplicated_in_order() {
    let mut w = world("review17/dedup");
    let x = Item { seq: 50, kind: ItemKind::Stub, bytes: unsigned_stub(DeviceId([0x77; 32]), 1, [0xEE; 32]) };
    let y = Item { seq: 51, kind: ItemKind::Stub, bytes: unsigned_stub(DeviceId([0x78; 32]), 1, [0xEE; 32]) };
    let report = w.a.apply_items(&[x.clone(), y.clone(), x.clone(), y, x]);
    let seqs: Vec<u64> = report
        .alerts
        .iter()
        .map(|a| match a {
            Alert::Forged { item_seq, .. } => *item_seq,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(seqs, vec![50, 51], "{:?}", report.alerts);
}

// ---------------------------------------------------------------------------------------------
// A3-7 (blind port B1): [SYNC-7] checks the order of every non-empty page; only an empty page
// ends the listing.

/// The honest server, with `edit` applied to every non-empty page it lists.
fn editing<'a>(net: &'a mut Net, edit: impl Fn(&mut Vec<Item>) + 'a) -> impl Transport + 'a {
    move |r: Request| match net.call(r) {
        Response::Items { mut items } if !items.is_empty() => {
            edit(&mut items);
            Response::Items { items }
        }
        other => other,
    }
}

#[test]
fn a3_7_unordered_page_ending_below_the_cursor_is_an_order_alert() {
    let mut w = world("review17/order");
    w.b.write(&mut w.net, "notes", rid(4), b"four", &mut w.rng).unwrap();
    let cursor = w.a.cursor();
    // a replayed old number appended to the page: its last item is not above the cursor
    let report = w
        .a
        .sync(&mut editing(&mut w.net, |items| {
            items.push(Item { seq: cursor, kind: items[0].kind, bytes: items[0].bytes.clone() })
        }))
        .unwrap();
    assert_eq!(report.alerts, vec![Alert::Chain(blindsync::Error::SyncOrder)]);
    assert_eq!(w.a.cursor(), cursor);
    assert_eq!(w.a.get("notes", &rid(4)), None, "nothing of the refused page is applied");
    // the honest server afterwards: the listing is taken
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
    assert_eq!(w.a.get("notes", &rid(4)), Some(&b"four"[..]));
}

#[test]
fn a3_7_a_page_that_does_not_advance_is_an_order_alert_not_the_end() {
    let mut w = world("review17/order2");
    w.b.write(&mut w.net, "notes", rid(4), b"four", &mut w.rng).unwrap();
    let cursor = w.a.cursor();
    // the new item relabelled at the cursor: a page [cursor], which used to end the listing quietly
    let report = w.a.sync(&mut editing(&mut w.net, |items| items.iter_mut().for_each(|i| i.seq = cursor))).unwrap();
    assert_eq!(report.alerts, vec![Alert::Chain(blindsync::Error::SyncOrder)]);
    assert_eq!(w.a.cursor(), cursor);
}

// ---------------------------------------------------------------------------------------------
// A3-1: the honest GetChain/ListSince race. A listed item citing a head the verified chain lacks
// makes the device fetch the chain once more after the listing ([SYNC-11]); only an item whose
// head is still unknown is E_CHAIN_FORK.

/// Runs A's sync up to and including its GetChain (honest), then `between` (other devices act
/// on the honest server), then the rest of the sync through `serve`. Returns the outcome and the
/// requests sent after the first GetChain.
fn interleaved_sync_via(
    w: &mut World,
    between: impl FnOnce(&mut World),
    mut serve: impl FnMut(&mut Net, Request) -> Response,
) -> (Outcome, Vec<Request>) {
    w.a.start_sync().unwrap();
    let req = w.a.poll_request().unwrap();
    assert!(matches!(req, Request::GetChain { .. }));
    let resp = w.net.call(req);
    w.a.handle_response(resp).unwrap();
    between(w);
    let mut sent = Vec::new();
    while let Some(req) = w.a.poll_request() {
        sent.push(req.clone());
        let resp = serve(&mut w.net, req);
        w.a.handle_response(resp).unwrap();
    }
    (w.a.poll_outcome().unwrap().unwrap(), sent)
}

fn interleaved_sync(w: &mut World, between: impl FnOnce(&mut World)) -> (Outcome, Vec<Request>) {
    interleaved_sync_via(w, between, |net, r| net.call(r))
}

fn chain_fetches(sent: &[Request]) -> usize {
    sent.iter().filter(|r| matches!(r, Request::GetChain { .. })).count()
}

fn alerts(outcome: Outcome) -> Vec<Alert> {
    match outcome {
        Outcome::Synced(report) => report.alerts,
        _ => panic!("not a sync"),
    }
}

#[test]
fn a3_1_honest_race_is_not_a_fork() {
    let mut w = world("review17/race");
    let (outcome, sent) = interleaved_sync(&mut w, |w| {
        w.b.pin_partner(&mut w.net, [0x11; 32], "partner").unwrap();
        w.b.write(&mut w.net, "notes", rid(4), b"written at the new head", &mut w.rng).unwrap();
    });
    assert_eq!(alerts(outcome), vec![]);
    assert_eq!(chain_fetches(&sent), 1, "one refetch after the listing: {sent:?}");
    assert!(matches!(sent.last(), Some(Request::GetChain { .. })), "the refetch comes after the listing");
    assert_eq!(w.a.get("notes", &rid(4)), Some(&b"written at the new head"[..]));
    assert_eq!(w.a.chain().head(), w.b.chain().head());
}

#[test]
fn a3_1_honest_race_with_a_superseded_stub_is_not_withheld() {
    let mut w = world("review17/race2");
    // B writes note 5 at the old head (seq 4): A has not listed it yet
    w.b.write(&mut w.net, "notes", rid(5), b"v1", &mut w.rng).unwrap();
    let (outcome, _) = interleaved_sync(&mut w, |w| {
        w.b.pin_partner(&mut w.net, [0x11; 32], "partner").unwrap();
        // B supersedes note 5 at the new head (seq 5): the server stubs seq 4 in place
        w.b.write(&mut w.net, "notes", rid(5), b"v2", &mut w.rng).unwrap();
    });
    assert_eq!(alerts(outcome), vec![]);
    assert!(w.a.unread_alerts().is_empty());
    assert_eq!(w.a.get("notes", &rid(5)), Some(&b"v2"[..]));
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
}

fn join_third(w: &mut World) -> Client {
    let new = DeviceKeys::generate(&mut w.rng);
    let mut join = Joining::new(Volatile, new, w.b.account(), w.b.id());
    let _ = run(&mut join, &mut w.net);
    let pending = w.b.list_pending(&mut w.net).unwrap();
    w.b.approve(&mut w.net, &pending[0], &mut w.rng).unwrap();
    assert!(join.retry());
    let mut n = run(&mut join, &mut w.net).unwrap();
    n.subscribe("notes").unwrap();
    assert!(n.sync(&mut w.net).unwrap().alerts.is_empty());
    n
}

#[test]
fn a3_1_honest_race_with_a_new_device_is_not_forged() {
    let mut w = world("review17/race3");
    let (outcome, _) = interleaved_sync(&mut w, |w| {
        let mut n = join_third(w);
        n.write(&mut w.net, "notes", rid(7), b"hello from the new device", &mut w.rng).unwrap();
    });
    assert_eq!(alerts(outcome), vec![]);
    assert_eq!(w.a.get("notes", &rid(7)), Some(&b"hello from the new device"[..]));
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
}

/// B pins a partner and writes at the new head between A's GetChain and its listing.
fn race(w: &mut World) {
    w.b.pin_partner(&mut w.net, [0x11; 32], "partner").unwrap();
    w.b.write(&mut w.net, "notes", rid(4), b"at the new head", &mut w.rng).unwrap();
}

#[test]
fn a3_1_refetch_that_still_lacks_the_head_is_a_fork() {
    let mut w = world("review17/refetch-stale");
    let old = w.a.chain().encoded();
    // the second GetChain is answered with the chain as A already holds it
    let (outcome, sent) = interleaved_sync_via(&mut w, race, move |net, r| match r {
        Request::GetChain { .. } => Response::Chain { statements: old.clone() },
        r => net.call(r),
    });
    assert_eq!(alerts(outcome), vec![Alert::Fork]);
    assert_eq!(chain_fetches(&sent), 1, "at most one refetch per sync");
    assert_eq!(w.a.get("notes", &rid(4)), None);
    assert_eq!(w.a.unread_alerts(), &[Alert::Fork]);
}

#[test]
fn a3_1_chain_withheld_on_both_fetches_is_a_fork() {
    let mut w = world("review17/withhold-chain");
    let old = w.a.chain().encoded();
    race(&mut w);
    // a server that serves the chain without B's new statement, on every GetChain
    let mut gets = 0;
    let report = w
        .a
        .sync(&mut |r: Request| match r {
            Request::GetChain { .. } => {
                gets += 1;
                Response::Chain { statements: old.clone() }
            }
            r => w.net.call(r),
        })
        .unwrap();
    assert_eq!(gets, 2, "the chain is fetched before the listing and once after it");
    // [SYNC-11] withholding chain statements and forking are not told apart: E_CHAIN_FORK
    assert_eq!(report.alerts, vec![Alert::Fork]);
    assert_eq!(report.alerts[0].error(), blindsync::Error::ChainFork);
}

#[test]
fn a3_1_fork_served_on_the_refetch_is_a_fork() {
    let mut w = world("review17/refetch-fork");
    // another validly signed statement at the position of B's first pin: a rotation by A
    let forked = blindsync::chain::rotate(w.a.chain(), w.a.device(), &mut w.rng).unwrap().state.encoded();
    // A's first GetChain adopts B's first pin; the refetch contradicts it
    w.b.pin_partner(&mut w.net, [0x22; 32], "first").unwrap();
    let cursor = w.a.cursor();
    let (outcome, _) = interleaved_sync_via(
        &mut w,
        |w| {
            assert_eq!(w.a.chain().head(), w.b.chain().head(), "the first chain is adopted");
            race(w)
        },
        move |net, r| match r {
            Request::GetChain { .. } => Response::Chain { statements: forked.clone() },
            r => net.call(r),
        },
    );
    assert_eq!(alerts(outcome), vec![Alert::Fork]);
    assert_eq!(w.a.chain().head().len, 3, "the first chain stays, the fork is not taken");
    assert_eq!(w.a.cursor(), cursor, "nothing listed is taken");
    assert_eq!(w.a.get("notes", &rid(4)), None);
}

#[test]
fn a3_1_refetch_with_a_new_revocation_judges_the_listing_next_time() {
    let mut w = world("review17/refetch-revocation");
    let mut n = join_third(&mut w);
    n.write(&mut w.net, "notes", rid(9), b"n's note", &mut w.rng).unwrap();
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
    assert!(w.b.sync(&mut w.net).unwrap().alerts.is_empty());
    let cursor = w.a.cursor();
    let nid = n.id();
    // B revokes N and writes at the new head after A's GetChain: A's refetch is the first chain
    // A holds with the revocation, which came after A's listing ended
    let (outcome, sent) = interleaved_sync(&mut w, |w| {
        w.b.revoke(&mut w.net, &nid, &mut w.rng).unwrap();
        w.b.write(&mut w.net, "notes", rid(4), b"after the revocation", &mut w.rng).unwrap();
    });
    let Outcome::Synced(report) = outcome else { panic!("not a sync") };
    assert_eq!(report, Default::default(), "not judged: no alert, nothing applied");
    assert_eq!(chain_fetches(&sent), 1);
    assert!(w.a.chain().revoked().contains_key(&nid), "the refetched chain is adopted");
    assert_eq!(w.a.cursor(), cursor, "the cursor stays");
    assert!(w.a.state().revocations().is_empty(), "no boundary from a listing that ended before the revocation");
    assert_eq!(w.a.get("notes", &rid(4)), None);
    // the next sync holds the revocation before it lists: judged, applied, boundary set
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
    assert_eq!(w.a.get("notes", &rid(4)), Some(&b"after the revocation"[..]));
    assert_eq!(w.a.state().revocations().len(), 1);
    assert!(w.a.cursor() > cursor);
}
