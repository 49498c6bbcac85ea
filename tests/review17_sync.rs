//! Review 17 (audit round 3, sync findings A3-4, A3-7, A3-1, A3-11): the fixes, driven as an
//! honest racing server or a malicious one would.

use blindsync::client::{Alert, Client, Joining, Outcome, Persistent, Registration, Transport, Volatile, run};
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
