//! Round-3 audit fixes of the verification path: A3-9 (only a device names itself, [SRV-11]),
//! A3-2 (unsigned items above a revoked writer's bound are forgeries, never remembered,
//! [SYNC-15]), A3-6 (a split exposed by a revocation is equivocation, [SYNC-14]), A3-5 (one pass
//! over the chain per sync) and A3-10 (the chain length bound, [CHAIN-1]).
//! The worlds are the audit's proofs of concept (tests/audit3.rs on branch audit3).

use blindsync::client::{Alert, Client, Exchange, Joining, Transport, Volatile, run};
use blindsync::device::{DeviceId, DeviceKeys};
use blindsync::envelope::RecordId;
use blindsync::primitives::SeededRng;
use blindsync::server::wire::{ItemKind, Request, Response};

mod common;

use common::*;

// FINDING A3-2 (low/medium): the server alone, without any signature, makes an honest device
// store an unbounded, never-pruned set of digests in client.refused ([SYNC-15] "alerted once",
// [PERSIST-4] table client.refused), and then skip those items silently. The once-only marker is
// taken for an item refused by [ENV-10]'s bound check, which runs before the signature check
// (src/envelope/mod.rs:471-473 before :484), in both verify paths of src/client/verify.rs
// (:137-152 the unknown-head path, :155-184 the known-head path) and recorded at verify.rs:259.
// EXPECTED: only an item whose signature verifies under the revoked writer's key is remembered

// ---------------------------------------------------------------------------------------------
// A3-2: an item above a revoked writer's bound is remembered only if its writer signed it.

/// The audit's proof of concept, now the secure expectation: 200 unsigned stubs above the bound
/// (known and unknown heads alike) are forgeries, E_ENV_SIGNATURE, at every listing, and
/// nothing is stored for them.
#[test]
fn a3_2_unsigned_items_above_the_bound_are_not_remembered() {
    let mut w = world("audit3/refused");
    let b = w.b.id();
    w.a.revoke(&mut w.net, &b, &mut w.rng).unwrap();
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
    let before = refused_entries(&w.a);
    let genesis = w.a.chain().hash_at(0).unwrap();
    let extra: Vec<Vec<u8>> =
        (0..200).map(|i| unsigned_stub(b, 4 + i, if i % 2 == 0 { genesis } else { [0xEE; 32] })).collect();
    for _ in 0..2 {
        let report = w.a.sync(&mut with_extra(&mut w.net, &extra, ItemKind::Stub)).unwrap();
        assert_eq!(report.alerts.len(), 200, "{:?}", report.alerts);
        assert!(report.alerts.iter().all(|a| a.error() == blindsync::Error::EnvSignature), "{:?}", report.alerts);
        assert_eq!(refused_entries(&w.a), before, "unsigned forgeries were persisted as refused items");
    }
}

/// A write the revoked device really signed above its bound is still refused and alerted once
/// ([SYNC-15]): the next listing of the same bytes is skipped and the cursor moves past it.
#[test]
fn a3_2_a_signed_write_above_the_bound_is_alerted_once() {
    let mut w = world("review17/signed-above-bound");
    let b = w.b.id();
    // b signs its seq 4 (not sent): above the bound the revocation will pin (3)
    let mut b2 = w.b.clone();
    b2.start_write("notes", rid(7), b"late", &mut w.rng).unwrap();
    let Some(Request::PutRecord { ref envelope, .. }) = b2.poll_request() else { panic!("no PutRecord") };
    let envelope = envelope.clone();
    w.a.revoke(&mut w.net, &b, &mut w.rng).unwrap();
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
    let before = refused_entries(&w.a);
    let extra = vec![envelope];
    let report = w.a.sync(&mut with_extra(&mut w.net, &extra, ItemKind::Envelope)).unwrap();
    assert_eq!(report.alerts.iter().map(Alert::error).collect::<Vec<_>>(), vec![blindsync::Error::EnvWriterRevoked]);
    assert_eq!(refused_entries(&w.a), before + 1);
    let cursor = w.a.cursor();
    let again = w.a.sync(&mut with_extra(&mut w.net, &extra, ItemKind::Envelope)).unwrap();
    assert!(again.alerts.is_empty(), "{:?}", again.alerts);
    assert!(w.a.cursor() > cursor && w.a.cursor() >= 10_000);
    assert_eq!(w.a.get("notes", &rid(7)), None);
}

/// The switch: without the check, unsigned items above the bound are remembered (the audit's
/// finding), which proves the test above can fail.
#[test]
fn a3_2_without_the_check_unsigned_items_are_remembered() {
    let mut w = world("review17/refused-weak");
    let b = w.b.id();
    w.a.revoke(&mut w.net, &b, &mut w.rng).unwrap();
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
    let mut d = blindsync::danger::Defences::ALL;
    d.items.above_bound_signature = false;
    w.a.dangerous_set_defences(d);
    let before = refused_entries(&w.a);
    let extra: Vec<Vec<u8>> = (0..20).map(|i| unsigned_stub(b, 4 + i, [0xEE; 32])).collect();
    let report = w.a.sync(&mut with_extra(&mut w.net, &extra, ItemKind::Stub)).unwrap();
    assert!(report.alerts.iter().all(|a| a.error() == blindsync::Error::EnvWriterRevoked), "{:?}", report.alerts);
    assert_eq!(refused_entries(&w.a), before + 20);
}

// ---------------------------------------------------------------------------------------------
// A3-6: a split of a revoked writer's history that the revocation exposes is equivocation.

#[test]
fn a3_6_split_exposed_by_the_revocation_is_reported() {
    let (mut w, mut c) = split_world();
    let b = w.b.id();
    let report = c.sync(&mut w.net).unwrap();
    assert_eq!(report.alerts, vec![Alert::Equivocation { writer: b, seq: 4 }]);
    // the chain is taken with the alert: the next sync holds the revocation, no alert again,
    // and the cursor moves past what is listed after it
    assert_eq!(w.a.chain().head(), c.chain().head());
    w.a.write(&mut w.net, "notes", rid(10), b"after", &mut w.rng).unwrap();
    let cursor = c.cursor();
    let again = c.sync(&mut w.net).unwrap();
    assert!(again.alerts.is_empty(), "{:?}", again.alerts);
    assert!(c.cursor() > cursor);
    assert_eq!(c.get("notes", &rid(10)), Some(&b"after"[..]));
    assert!(c.sync(&mut w.net).unwrap().alerts.is_empty());
}

/// The same history on both sides (no split): no alert on taking the revocation.
#[test]
fn a3_6_no_split_no_alert() {
    let (mut w, mut c) = three_devices(false);
    let b = w.b.id();
    assert_eq!(w.a.envelope_identity(&b, 4), c.envelope_identity(&b, 4));
    let report = c.sync(&mut w.net).unwrap();
    assert!(report.alerts.is_empty(), "{:?}", report.alerts);
}

/// The switch: without the comparison the split stays silent (the audit's finding).
#[test]
fn a3_6_without_the_check_the_split_stays_silent() {
    let (mut w, mut c) = split_world();
    let mut d = blindsync::danger::Defences::ALL;
    d.items.revocation_split = false;
    c.dangerous_set_defences(d);
    let report = c.sync(&mut w.net).unwrap();
    assert!(report.alerts.is_empty(), "{:?}", report.alerts);
}

/// A, C honest; R = b. R signs E1 and E2 for its seq 4; A takes E1 (honest server), C is shown
/// E2; then A revokes R (pinning E1). Returns the world before C's sync after the revocation.
fn split_world() -> (World, Client) {
    three_devices(true)
}

/// [`split_world`], with (`swap`) or without the split.
fn three_devices(swap: bool) -> (World, Client) {
    let mut w = world("audit3/split");
    let new = DeviceKeys::generate(&mut w.rng);
    let mut join = Joining::new(Volatile, new, w.a.account(), w.a.id());
    let _ = run(&mut join, &mut w.net);
    let pending = w.a.list_pending(&mut w.net).unwrap();
    w.a.approve(&mut w.net, &pending[0], &mut w.rng).unwrap();
    assert!(join.retry());
    let mut c = run(&mut join, &mut w.net).unwrap();
    c.subscribe("notes").unwrap();
    assert!(c.sync(&mut w.net).unwrap().alerts.is_empty());
    assert!(w.b.sync(&mut w.net).unwrap().alerts.is_empty());
    // R signs two envelopes with writer_seq 4
    let mut r2 = w.b.clone();
    r2.start_write("notes", rid(9), b"two", &mut w.rng).unwrap();
    let Some(Request::PutRecord { ref envelope, .. }) = r2.poll_request() else { panic!("no PutRecord") };
    let e2 = envelope.clone();
    w.b.write(&mut w.net, "notes", rid(9), b"one", &mut w.rng).unwrap();
    let e1 = w.net.server.store_items(&w.a.account()).last().unwrap().bytes.clone();
    assert_ne!(e1, e2);
    // A takes E1
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
    // C is shown E2 in its place
    {
        let net = &mut w.net;
        let mut served = |r: Request| match net.call(r) {
            Response::Items { items } => Response::Items {
                items: items
                    .into_iter()
                    .map(|mut i| {
                        if swap && i.bytes == e1 {
                            i.bytes = e2.clone();
                        }
                        i
                    })
                    .collect(),
            },
            other => other,
        };
        assert!(c.sync(&mut served).unwrap().alerts.is_empty());
    }
    assert_eq!(c.get("notes", &rid(9)), Some(&if swap { b"two" } else { b"one" }[..]));
    // A revokes R: max_seq 4, last_envelope = identity(E1)
    let b = w.b.id();
    w.a.revoke(&mut w.net, &b, &mut w.rng).unwrap();
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
    (w, c)
}

// ---------------------------------------------------------------------------------------------
// A3-9: only a device names itself ([SRV-11]).

fn meta_record(id: DeviceId) -> RecordId {
    RecordId(id.0[..16].try_into().unwrap())
}

/// Both devices name themselves; then b (compromised, not yet revoked) writes the two records
/// with the names swapped. Returns the world and A's report of the sync that listed b's writes.
fn renamed_world(defences: Option<blindsync::danger::Defences>) -> (World, DeviceId, DeviceId, Vec<Alert>) {
    use blindsync::client::DEVICES_COLLECTION;
    let mut w = world("audit3/names");
    if let Some(d) = defences {
        w.a.dangerous_set_defences(d);
    }
    // b is compromised: it runs without the write guard an honest client keeps ([SRV-11])
    let mut compromised = blindsync::danger::Defences::ALL;
    compromised.items.device_meta_write = false;
    w.b.dangerous_set_defences(compromised);
    let (a_id, b_id) = (w.a.id(), w.b.id());
    w.a.set_device_info(&mut w.net, "phone", "ios", &mut w.rng).unwrap();
    w.b.set_device_info(&mut w.net, "laptop", "linux", &mut w.rng).unwrap();
    assert!(w.b.sync(&mut w.net).unwrap().alerts.is_empty());
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
    // the honest write path: each device's record id is its own prefix, and each reads the other
    assert_eq!(w.a.device_info(&b_id), Some(("laptop".into(), "linux".into())));
    assert_eq!(w.b.device_info(&a_id), Some(("phone".into(), "ios".into())));
    w.b.write(&mut w.net, DEVICES_COLLECTION, meta_record(a_id), br#"{"name":"laptop","os":"linux"}"#, &mut w.rng)
        .unwrap();
    w.b.write(&mut w.net, DEVICES_COLLECTION, meta_record(b_id), br#"{"name":"phone","os":"ios"}"#, &mut w.rng)
        .unwrap();
    let alerts = w.a.sync(&mut w.net).unwrap().alerts;
    (w, a_id, b_id, alerts)
}

/// The audit's proof of concept, now the secure expectation: b's record at a's id is refused
/// at verification (E_ENV_CONTEXT, [SRV-11]) and never enters the state; a keeps its own name.
#[test]
fn a3_9_only_a_device_names_itself() {
    let (mut w, a_id, b_id, alerts) = renamed_world(None);
    // b's seq 5 (a's record) is refused and alerted, never applied; its writer signed it, so it
    // counts for b's sequence ([SRV-11], review 18 finding 10) and its seq 6 (its own record) is
    // taken
    let forged = Alert::Forged { item_seq: w.a.cursor() + 1, error: blindsync::Error::EnvContext };
    assert_eq!(alerts, vec![forged]);
    // a's record is now outranked by b's item (never applied): no name for a rather than a stale
    // one, until a writes its record again above it ([SRV-11], review 18b)
    assert_eq!(w.a.device_info(&a_id), None);
    // b's own record, which b may name as it likes
    assert_eq!(w.a.device_info(&b_id), Some(("phone".into(), "ios".into())));
    assert_eq!(w.a.last_seq(&b_id), 6);
    // once: the next sync lists it again (the alert held the cursor) and raises nothing
    let again = w.a.sync(&mut w.net).unwrap();
    assert!(again.alerts.is_empty(), "{:?}", again.alerts);
}

/// Defence in depth: with the verification check switched off the forged record enters the
/// state, and `device_info` still refuses a record another device wrote.
#[test]
fn a3_9_without_the_check_device_info_still_refuses_another_writer() {
    use blindsync::client::DEVICES_COLLECTION;
    let mut d = blindsync::danger::Defences::ALL;
    d.items.device_meta_owner = false;
    let (w, a_id, _, alerts) = renamed_world(Some(d));
    assert!(alerts.is_empty(), "{alerts:?}");
    assert_eq!(w.a.get(DEVICES_COLLECTION, &meta_record(a_id)), Some(&br#"{"name":"laptop","os":"linux"}"#[..]));
    assert_eq!(w.a.device_info(&a_id), None);
}

/// Re-attack finding 1: an honest client refuses, before signing, a write of another device's
/// metadata record (every reader would refuse it and hold this device's later writes back).
#[test]
fn an_honest_device_refuses_to_write_another_devices_metadata() {
    use blindsync::client::DEVICES_COLLECTION;
    let mut w = world("reattack/f1");
    let a_id = w.a.id();
    let value = br#"{"name":"x","os":"y"}"#;
    let r = w.b.write(&mut w.net, DEVICES_COLLECTION, meta_record(a_id), value, &mut w.rng);
    assert_eq!(r.err(), Some(blindsync::Error::ClientDeviceRecord));
    // nothing was signed: the next write (its own record) succeeds and every reader takes it
    w.b.set_device_info(&mut w.net, "laptop", "linux", &mut w.rng).unwrap();
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
    assert_eq!(w.a.device_info(&w.b.id()), Some(("laptop".into(), "linux".into())));
}

// ---------------------------------------------------------------------------------------------
// A3-5: one pass over the chain per sync.

/// `head_epochs` gives, for every head, what `epoch_at_head` gives (positions and epochs across
/// a revocation's epoch change and later statements).
#[test]
fn a3_5_head_epochs_match_epoch_at_head() {
    let mut w = world("review17/heads");
    let b = w.b.id();
    w.a.revoke(&mut w.net, &b, &mut w.rng).unwrap();
    let key = blindsync::hpke::HpkeSecretKey::random(&mut w.rng).public_key();
    w.a.pin_partner(&mut w.net, key, "p").unwrap();
    let chain = w.a.chain();
    let heads = chain.head_epochs();
    assert_eq!(heads.len() as u64, chain.head().len);
    assert!(heads.values().any(|(_, e)| *e == 1) && heads.values().any(|(_, e)| *e == 0));
    for p in 0..chain.head().len {
        let h = chain.hash_at(p).unwrap();
        assert_eq!(heads.get(&h).copied(), chain.epoch_at_head(&h));
        assert_eq!(heads[&h].0, p);
    }
}

// ---------------------------------------------------------------------------------------------
// A3-10: the chain length bound ([CHAIN-1], [SRV-5]) and linear verification.

/// A statement at position MAX_CHAIN_LEN does not decode: the device's verifier and the
/// server's AppendChain refuse it with E_DECODE_VALUE (the server before its head check);
/// the same statement one position lower decodes.
#[test]
fn a3_10_a_statement_at_max_chain_len_is_refused() {
    use blindsync::chain::{Body, MAX_CHAIN_LEN, Statement};
    let mut w = world("review17/chainlen");
    let key = blindsync::hpke::HpkeSecretKey::random(&mut w.rng).public_key();
    let head = w.a.chain().head();
    let body = Body::PinPartner { key, label: "p".into() };
    let at_bound = Statement::sign(MAX_CHAIN_LEN, head.hash, body.clone(), w.a.device()).encode();
    let below = Statement::sign(MAX_CHAIN_LEN - 1, head.hash, body, w.a.device()).encode();
    assert_eq!(Statement::decode(&at_bound).err(), Some(blindsync::Error::DecodeValue));
    assert!(Statement::decode(&below).is_ok());
    let mut chain = w.a.chain().clone();
    assert_eq!(chain.append(&at_bound), Err(blindsync::Error::DecodeValue));
    assert_eq!(chain.append(&below), Err(blindsync::Error::ChainPosition));
    assert_eq!(chain, *w.a.chain());
    // the server: logged in as A (the world's token), AppendChain refused before the head check
    let Some(Request::GetChain { token }) = ({
        w.a.start_sync().unwrap();
        w.a.poll_request()
    }) else {
        panic!("no GetChain")
    };
    let r = w.net.call(Request::AppendChain { token, statements: vec![at_bound] });
    assert!(matches!(r, Response::Error(blindsync::Error::DecodeValue)));
    let r = w.net.call(Request::AppendChain { token, statements: vec![below] });
    assert!(matches!(r, Response::Error(blindsync::Error::SrvChainHead)));
}

/// A refused statement leaves the state unchanged (the rules run on a copy without the
/// statements): a second pin of one key is E_CHAIN_STATE and changes nothing, its label included.
#[test]
fn a3_10_a_refused_statement_changes_nothing() {
    use blindsync::chain::{Body, next_statement};
    let mut w = world("review17/refused-statement");
    let key = blindsync::hpke::HpkeSecretKey::random(&mut w.rng).public_key();
    let mut chain = w.a.chain().clone();
    let s = next_statement(&chain, Body::PinPartner { key, label: "first".into() }, w.a.device());
    chain.append(&s.encode()).unwrap();
    let before = chain.clone();
    let again = next_statement(&chain, Body::PinPartner { key, label: "second".into() }, w.a.device());
    assert_eq!(chain.append(&again.encode()), Err(blindsync::Error::ChainState));
    assert_eq!(chain, before);
    assert_eq!(chain.partners().get(&key).map(String::as_str), Some("first"));
    assert_eq!(chain.statements().len(), before.statements().len());
}

/// Measurement (run with --release --ignored --nocapture): verifying a chain from genesis and
/// an empty apply_items against the chain length, up to the bound; the statement after the
/// bound is refused.
#[test]
#[ignore = "measurement: prints times, asserts nothing about them"]
fn a3_10_measure_chain_verification_and_sync_up_to_the_bound() {
    use blindsync::chain::statement::statement_hash;
    use blindsync::chain::{Body, ChainState, MAX_CHAIN_LEN, Statement};
    let mut w = world("review17/chainmeasure");
    let mut stmts = w.a.chain().encoded();
    let head = w.a.chain().head();
    let (mut len, mut hash) = (head.len, head.hash);
    let sign = |len: u64, hash: [u8; 32], rng: &mut SeededRng, dev: &DeviceKeys| {
        let key = blindsync::hpke::HpkeSecretKey::random(rng).public_key();
        Statement::sign(len, hash, Body::PinPartner { key, label: "p".into() }, dev).encode()
    };
    for n in [1_024u64, 2_048, 4_096] {
        while len < n {
            let s = sign(len, hash, &mut w.rng, w.a.device());
            hash = statement_hash(&s);
            len += 1;
            stmts.push(s);
        }
        let t = std::time::Instant::now();
        let chain = ChainState::verify(&stmts).unwrap();
        let verify = t.elapsed();
        let mut c = Client::new(w.a.device().clone(), chain.clone(), w.a.umks().clone());
        let t = std::time::Instant::now();
        assert!(c.apply_items(&[]).alerts.is_empty());
        println!(
            "{} statements: verify from genesis {verify:?}, one empty apply_items {:?}",
            chain.head().len,
            t.elapsed()
        );
    }
    assert_eq!(len, MAX_CHAIN_LEN);
    let mut chain = ChainState::verify(&stmts).unwrap();
    let next = sign(len, hash, &mut w.rng, w.a.device());
    assert_eq!(chain.append(&next), Err(blindsync::Error::DecodeValue));
}
