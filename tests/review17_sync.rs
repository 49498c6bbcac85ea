//! Review 17 (audit round 3, sync findings A3-4, A3-7, A3-1, A3-11): the fixes, driven as an
//! honest racing server or a malicious one would.

use blindsync::client::{Alert, Client, Exchange, Joining, Outcome, Transport, Volatile, run};
use blindsync::device::{DeviceId, DeviceKeys};
use blindsync::server::wire::{Item, ItemKind, Request, Response};

mod common;

use common::*;

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
    let report =
        w.a.sync(&mut editing(&mut w.net, |items| {
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
    n
}

#[test]
fn a3_1_honest_race_with_a_new_device_is_not_forged() {
    let mut w = world("review17/race3");
    let (outcome, _) = interleaved_sync(&mut w, |w| {
        let mut n = join_third(w);
        assert!(n.sync(&mut w.net).unwrap().alerts.is_empty());
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
    let report =
        w.a.sync(&mut |r: Request| match r {
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
    assert!(n.sync(&mut w.net).unwrap().alerts.is_empty());
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

// ---------------------------------------------------------------------------------------------
// A3-11: an inflated max_seq in a revoke statement. The "short of its bound" alert of [SYNC-15]
// fires once per revoked writer and accepted sequence number (remembered durably), then no
// longer holds the cursor or the boundaries; the [CLIENT-5] gate opens after a sync whose alerts
// all name other writers.

/// A third device H with one write, then B (R) revokes H with max_seq 1000.
fn inflated_world(label: &str) -> (World, Client) {
    let mut w = world(label);
    let mut h = join_third(&mut w);
    assert!(h.sync(&mut w.net).unwrap().alerts.is_empty());
    h.write(&mut w.net, "notes", rid(8), b"h's note", &mut w.rng).unwrap();
    assert!(w.b.sync(&mut w.net).unwrap().alerts.is_empty());
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
    let rot =
        blindsync::chain::revoke_and_rotate(w.b.chain(), w.b.device(), &h.id(), 1000, [0x55; 32], &mut w.rng).unwrap();
    w.b.append_chain(&mut w.net, rot.statements).unwrap();
    w.b.add_umk(rot.state.epoch(), rot.umk);
    (w, h)
}

#[test]
fn a3_11_inflated_max_seq_alerts_once_then_syncs_move_on() {
    let (mut w, h) = inflated_world("review17/maxseq");
    let store_before = w.a.clone().into_store();
    let report = w.a.sync(&mut w.net).unwrap();
    assert_eq!(report.alerts, vec![Alert::Withheld { writer: h.id(), missing_seq: 2 }]);
    assert!(w.a.state().revocations().is_empty(), "a sync with an alert sets no boundary");
    // kept as an unread alert ([PERSIST-6])
    assert_eq!(w.a.unread_alerts(), &[Alert::Withheld { writer: h.id(), missing_seq: 2 }]);
    // later syncs: no alert, the cursor moves and the boundary is set
    w.b.write(&mut w.net, "notes", rid(9), b"after the revocation", &mut w.rng).unwrap();
    let cursor = w.a.cursor();
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
    assert!(w.a.cursor() > cursor);
    assert_eq!(w.a.state().revocations().len(), 1);
    assert_eq!(w.a.get("notes", &rid(9)), Some(&b"after the revocation"[..]));
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
    // the fact is durable: a reopened device does not alert again, and its gate opens
    let mut reopened: Device = Client::open(w.a.clone().into_store()).unwrap().unwrap();
    reopened.login(&mut w.net).unwrap();
    assert!(reopened.sync(&mut w.net).unwrap().alerts.is_empty());
    let r = w.b.id();
    reopened.revoke(&mut w.net, &r, &mut w.rng).unwrap();
    assert!(reopened.chain().revoked().contains_key(&r));
    // a store from before the alert: the alert fires again once, and (it names another writer)
    // the gate opens after it
    let mut old: Device = Client::open(store_before).unwrap().unwrap();
    old.login(&mut w.net).unwrap();
    let report = old.sync(&mut w.net).unwrap();
    assert!(report.alerts.contains(&Alert::Withheld { writer: h.id(), missing_seq: 2 }), "{:?}", report.alerts);
    old.write(&mut w.net, "notes", rid(10), b"written after an alert about h", &mut w.rng).unwrap();
}

#[test]
fn a3_11_a_new_device_lists_the_incomplete_writer_once() {
    let (mut w, h) = inflated_world("review17/maxseq-new");
    let mut n = join_third(&mut w);
    // N lists H's one write, short of the bound 1000: alerted, none of H's items taken
    let first = n.sync(&mut w.net).unwrap();
    assert_eq!(first.alerts, vec![Alert::Withheld { writer: h.id(), missing_seq: 2 }]);
    let cursor = n.cursor();
    let again = n.sync(&mut w.net).unwrap();
    assert!(again.alerts.is_empty(), "{:?}", again.alerts);
    assert!(n.cursor() > cursor);
    assert_eq!(n.get("notes", &rid(8)), None, "a revoked writer's items are taken all the way to its bound, or none");
}

#[test]
fn a3_11_gate_stays_shut_after_an_alert_that_may_concern_own_writes() {
    let (mut w, _h) = inflated_world("review17/maxseq-gate");
    assert_eq!(w.a.sync(&mut w.net).unwrap().alerts.len(), 1);
    let mut reopened: Device = Client::open(w.a.clone().into_store()).unwrap().unwrap();
    reopened.login(&mut w.net).unwrap();
    // a refused item names no authenticated writer: it could be this device's own later write
    let junk = unsigned_stub(reopened.id(), 1, [0xEE; 32]);
    let net = &mut w.net;
    let mut serve = |r: Request| match r {
        Request::ListSince { cursor, .. } if cursor >= 10_000 => Response::Items { items: vec![] },
        r => match net.call(r) {
            Response::Items { mut items } => {
                items.push(Item { seq: 10_000, kind: ItemKind::Stub, bytes: junk.clone() });
                Response::Items { items }
            }
            other => other,
        },
    };
    let report = reopened.sync(&mut serve).unwrap();
    assert!(report.alerts.iter().any(|a| matches!(a, Alert::Forged { .. })), "{:?}", report.alerts);
    assert_eq!(
        reopened.write(&mut w.net, "notes", rid(1), b"x", &mut w.rng).err(),
        Some(blindsync::Error::ClientSyncFirst)
    );
}

// ---------------------------------------------------------------------------------------------
// Blind port B2: one identity listed twice counts once; an envelope and its stub (either order)
// count as the envelope ([SYNC-21], 11.9).

#[test]
fn b2_an_envelope_and_its_stub_count_as_the_envelope_in_either_order() {
    use blindsync::client::{SeqItem, writer_sequence};
    use blindsync::envelope::EnvelopeRef;
    let mut w = world("review17/b2");
    w.b.write(&mut w.net, "notes", rid(4), b"four", &mut w.rng).unwrap();
    let items = w.net.server.store_items(&w.a.account());
    let env = items.last().unwrap().clone();
    assert_eq!(env.kind, ItemKind::Envelope);
    let stub = EnvelopeRef::decode(&env.bytes).unwrap().stub().encode();
    let as_item = |seq: u64, kind: ItemKind, bytes: &Vec<u8>| Item { seq, kind, bytes: bytes.clone() };
    for order in [[ItemKind::Stub, ItemKind::Envelope], [ItemKind::Envelope, ItemKind::Stub]] {
        let mut a = w.a.clone();
        let listed: Vec<Item> = order
            .iter()
            .enumerate()
            .map(|(k, kind)| {
                let bytes = if *kind == ItemKind::Stub { &stub } else { &env.bytes };
                as_item(100 + k as u64, *kind, bytes)
            })
            .collect();
        let report = a.apply_items(&listed);
        assert!(report.alerts.is_empty(), "{order:?}: {:?}", report.alerts);
        assert_eq!(a.get("notes", &rid(4)), Some(&b"four"[..]), "{order:?}");
    }
    // the vectors' procedure: the same rule
    let s = |stub| SeqItem { seq: 1, stub, superseded: false, older: false, digest: [7; 32] };
    assert_eq!(writer_sequence(0, &[s(true), s(false)]), Ok(1));
    assert_eq!(writer_sequence(0, &[s(false), s(true)]), Ok(1));
    assert_eq!(writer_sequence(0, &[s(true), s(true)]), Err(blindsync::Error::SyncWithheld));
}

// ---------------------------------------------------------------------------------------------
// Observation (blind port, E): an ordinary refused item listed in every sync is alerted every
// time and holds the cursor and the [SYNC-17] boundary (spec 1.6 item 25 documents it).

#[test]
fn e_a_refused_item_listed_every_sync_holds_the_boundary_and_is_alerted_every_time() {
    let (mut w, _h) = inflated_world("review17/held");
    let junk = unsigned_stub(w.b.id(), 99, [0xEE; 32]);
    for _ in 0..3 {
        let net = &mut w.net;
        let junk = junk.clone();
        let mut serve = move |r: Request| match r {
            Request::ListSince { cursor, .. } if cursor >= 10_000 => Response::Items { items: vec![] },
            r => match net.call(r) {
                Response::Items { mut items } => {
                    items.push(Item { seq: 10_000, kind: ItemKind::Stub, bytes: junk.clone() });
                    Response::Items { items }
                }
                other => other,
            },
        };
        let report = w.a.sync(&mut serve).unwrap();
        assert!(
            report.alerts.iter().any(|a| matches!(a, Alert::Forged { item_seq: 10_000, .. })),
            "{:?}",
            report.alerts
        );
        assert!(w.a.state().revocations().is_empty(), "no boundary while the refused item is listed");
        assert!(w.a.cursor() < 10_000);
    }
}

// [CLIENT-5] a sync that ends without judging its listing ([SYNC-11]: the refetch brought a new
// revocation) leaves a reopened device's gate shut; the next (judged) sync opens it.
#[test]
fn a3_1_an_unjudged_sync_keeps_the_write_gate_shut() {
    let mut w = world("review17/unjudged-gate");
    let mut n = join_third(&mut w);
    assert!(n.sync(&mut w.net).unwrap().alerts.is_empty());
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
    w.a = Client::open(w.a.clone().into_store()).unwrap().unwrap();
    w.a.login(&mut w.net).unwrap();
    let nid = n.id();
    let (outcome, _) = interleaved_sync(&mut w, |w| {
        w.b.revoke(&mut w.net, &nid, &mut w.rng).unwrap();
        w.b.write(&mut w.net, "notes", rid(4), b"after the revocation", &mut w.rng).unwrap();
    });
    assert_eq!(alerts(outcome), vec![]);
    assert_eq!(
        w.a.write(&mut w.net, "notes", rid(5), b"too early", &mut w.rng).err(),
        Some(blindsync::Error::ClientSyncFirst)
    );
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
    w.a.write(&mut w.net, "notes", rid(5), b"now", &mut w.rng).unwrap();
}
