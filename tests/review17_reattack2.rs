//! Re-attack 2 of the round-3 sync fixes (A3-1, A3-7, A3-11) by a reviewer who did not write them,
//! as a malicious server: finding 1 (a revoked writer's split hidden behind its remembered bound
//! alert) is fixed; the control shows the same alternative alone is an equivocation.

use blindsync::client::{Alert, Client, Joining, Transport, Volatile, run};
use blindsync::device::{DeviceId, DeviceKeys};
use blindsync::envelope::{Header, Stub};
use blindsync::server::wire::{Item, ItemKind, Request, Response};

mod common;

use common::*;

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

/// A's sync through a server that appends `extra` (at server numbers 10 000, 10 001, ...) to the
/// listing and then ends it.
fn sync_with_extra(w: &mut World, extra: &[Vec<u8>]) -> Vec<Alert> {
    let net = &mut w.net;
    let mut serve = |r: Request| match r {
        Request::ListSince { cursor, .. } if cursor >= 10_000 => Response::Items { items: vec![] },
        r => match net.call(r) {
            Response::Items { mut items } => {
                for (i, b) in extra.iter().enumerate() {
                    items.push(Item { seq: 10_000 + i as u64, kind: ItemKind::Stub, bytes: b.clone() });
                }
                Response::Items { items }
            }
            other => other,
        },
    };
    w.a.sync(&mut serve).unwrap().alerts
}

/// H's item taken by A before H's revocation (bound 1000, H wrote 1), the stub bytes of a
/// re-signed alternative of it, and of a second item at seq 2 signed by H; A has raised the
/// one [SYNC-15] alert for H.
fn revoked_equivocation_world(label: &str) -> (World, DeviceId, Vec<u8>, Vec<u8>) {
    let mut w = world(label);
    let mut h = join_third(&mut w);
    assert!(h.sync(&mut w.net).unwrap().alerts.is_empty());
    h.write(&mut w.net, "notes", rid(8), b"h's note", &mut w.rng).unwrap();
    assert!(w.b.sync(&mut w.net).unwrap().alerts.is_empty());
    let hid = h.id();
    let mut captured: Vec<Item> = Vec::new();
    {
        let net = &mut w.net;
        let cap = &mut captured;
        let mut t = |r: Request| {
            let resp = net.call(r);
            if let Response::Items { items } = &resp {
                cap.extend(items.iter().cloned());
            }
            resp
        };
        assert!(w.a.sync(&mut t).unwrap().alerts.is_empty());
    }
    let real = captured
        .iter()
        .find(|i| Header::decode(&i.bytes[..236]).map(|h| h.writer == hid).unwrap_or(false))
        .expect("H's item listed to A")
        .clone();
    let rot =
        blindsync::chain::revoke_and_rotate(w.b.chain(), w.b.device(), &hid, 1000, [0x55; 32], &mut w.rng).unwrap();
    w.b.append_chain(&mut w.net, rot.statements).unwrap();
    w.b.add_umk(rot.state.epoch(), rot.umk);
    assert_eq!(w.a.sync(&mut w.net).unwrap().alerts, vec![Alert::Withheld { writer: hid, missing_seq: 2 }]);
    // H (revoked, colluding with the server) signs an alternative of its seq 1, and a seq 2
    let account = w.a.account();
    let sign = |header: Header, bd: [u8; 32]| {
        let signature = h.device().sign(&header.sig_digest(&account, &bd));
        Stub { header, body_digest: bd, signature }.encode()
    };
    let header1 = Header::decode(&real.bytes[..236]).unwrap();
    let alt1 = sign(header1, [0xAB; 32]);
    let header2 = Header { writer_seq: 2, revision: header1.revision + 1, ..header1 };
    let s2 = sign(header2, [0xCD; 32]);
    (w, hid, alt1, s2)
}

/// Control: an alternative of a revoked writer's item the device took, listed alone, is the
/// equivocation alert of [SYNC-14].
#[test]
fn f1_control_revoked_writers_alternative_alone_is_equivocation() {
    let (mut w, hid, alt1, _) = revoked_equivocation_world("reattack2/f1-control");
    let alerts = sync_with_extra(&mut w, &[alt1]);
    assert!(alerts.contains(&Alert::Equivocation { writer: hid, seq: 1 }), "{alerts:?}");
}

/// Finding 1: listed with one more item of the writer above its accepted number (short of the
/// bound), the [SYNC-15] bound rule skips the writer before its equivocation is reported, and
/// since A3-11 that skip is silent after the first alert: no alert, the cursor passes it.
// [SYNC-14] [SYNC-15] fixed: the break is reported even behind a remembered bound alert
#[test]
fn f1_revoked_writers_equivocation_hidden_behind_the_remembered_bound_alert() {
    let (mut w, hid, alt1, s2) = revoked_equivocation_world("reattack2/f1");
    let cursor = w.a.cursor();
    let alerts = sync_with_extra(&mut w, &[alt1, s2]);
    assert!(
        alerts.contains(&Alert::Equivocation { writer: hid, seq: 1 }),
        "{alerts:?} (cursor {} -> {})",
        cursor,
        w.a.cursor()
    );
}
