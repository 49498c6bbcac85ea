//! Cases that mutation testing of the client apply path (`.ci/mutants client`, mutants.md) showed
//! untested: the bookkeeping of superseded stubs in `apply_items`. A writer holding its device key
//! (1.6 item 3) signs whatever envelopes it likes; the server lists them, or their stubs, as it
//! likes. Every expectation below is the spec's rule, cited where it is asserted.

use blindsync::client::{Alert, Client, Transport};
use blindsync::envelope::{EnvelopeRef, Header, RecordMeta, payload::Schema};
use blindsync::primitives::{SeededRng, sha256};
use blindsync::server::wire::{Item, ItemKind};

mod common;

use common::*;

/// An envelope of "notes" sealed with `c`'s device key and epoch-0 keys, with any header fields.
fn seal_as(c: &Device, meta: RecordMeta, value: &[u8], rng: &mut SeededRng) -> Vec<u8> {
    let ck =
        blindsync::keys::EpochKeys::derive(&c.umks()[&0], &c.account(), meta.epoch).collection_key("notes").unwrap();
    let sk = ed25519_dalek::SigningKey::from_bytes(c.device().signing_seed().expose());
    blindsync::envelope::seal(&c.account(), &meta, &ck, &sk, value, rng).unwrap()
}

fn header(bytes: &[u8]) -> Header {
    EnvelopeRef::decode(bytes).unwrap().header
}

fn meta_of(h: &Header) -> RecordMeta {
    RecordMeta {
        suite: h.suite,
        bucket: h.bucket,
        record_id: h.record_id,
        revision: h.revision,
        writer: h.writer,
        writer_seq: h.writer_seq,
        epoch: h.epoch,
        schema: Schema::Raw,
        chain_head: h.chain_head,
        prev: h.prev,
    }
}

/// [SYNC-14] an item's identity: `SHA-256(header ‖ body_digest)`, computed here from the bytes.
fn identity_of(bytes: &[u8]) -> [u8; 32] {
    let e = EnvelopeRef::decode(bytes).unwrap();
    sha256(&[&e.header.encode(), &e.stub().body_digest])
}

/// The stub of an envelope, listed as a stub (item kind 2).
fn stub_item(seq: u64, envelope: &[u8]) -> Item {
    Item { seq, kind: ItemKind::Stub, bytes: EnvelopeRef::decode(envelope).unwrap().stub().encode() }
}

fn envelope_item(seq: u64, envelope: &[u8]) -> Item {
    Item { seq, kind: ItemKind::Envelope, bytes: envelope.to_vec() }
}

/// The world of tests/common, plus one honest write of A to record 9 ("base"), taken by a copy of
/// B: returns the world, that reader and A's item.
fn base(label: &str) -> (World, Client, Item) {
    let mut w = world(label);
    w.a.write(&mut w.net, "notes", rid(9), b"base", &mut w.rng).unwrap();
    let item = w.net.server.store_items(&w.a.account()).last().unwrap().clone();
    assert_eq!(header(&item.bytes).writer, w.a.id());
    let mut reader = w.b.clone();
    let r = reader.apply_items(std::slice::from_ref(&item));
    assert_eq!(r.alerts, vec![]);
    assert_eq!(reader.get("notes", &rid(9)), Some(&b"base"[..]));
    assert_eq!(reader.last_seq(&w.a.id()), header(&item.bytes).writer_seq);
    (w, reader, item)
}

// [SYNC-9] a stub is superseded only by a verified full envelope of its record with a *greater*
// `(revision, writer)`: a stub whose own `(revision, writer)` equals the accepted one (its writer
// signed a second envelope at the same revision, and the server lists only its stub) is withheld.
#[test]
fn stub_at_the_accepted_revision_is_not_superseded() {
    let (mut w, mut reader, item) = base("mutation-client/equal-stub");
    let h = header(&item.bytes);
    let seq = h.writer_seq + 1;
    let meta = RecordMeta { writer_seq: seq, prev: identity_of(&item.bytes), ..meta_of(&h) };
    assert_eq!(meta.revision, h.revision); // the same (revision, writer) as the accepted envelope
    let same = seal_as(&w.a, meta, b"same revision", &mut w.rng);
    let r = reader.apply_items(&[stub_item(item.seq + 1, &same)]);
    assert_eq!(r.alerts, vec![Alert::Withheld { writer: w.a.id(), missing_seq: seq }]);
    assert_eq!(reader.last_seq(&w.a.id()), seq - 1);
    assert_eq!(reader.get("notes", &rid(9)), Some(&b"base"[..]));
}

// A superseded stub taken while the envelope that supersedes it is withheld (a gap before it):
// - [SYNC-9] the stub is no gap, its writer's sequence moves past it; the gap after it is;
// - [SYNC-10] its full envelope served later, at or below the accepted sequence number, is a
//   replay and is ignored (not applied), since nothing in it is below the accepted revision;
// - [SYNC-8] [SYNC-13] a stub carries no value and is not an accepted `(revision, writer)`: the
//   record's accepted state is still that of the envelopes taken (none), so the writer's next
//   envelope of the record, at a revision below the stub's, is applied.
#[test]
fn superseded_stub_under_a_withheld_envelope_is_no_accepted_revision() {
    let (mut w, mut reader, item) = base("mutation-client/withheld-superseder");
    let h = header(&item.bytes);
    let (s, a) = (h.writer_seq, w.a.id());
    let record = |revision: u64, writer_seq: u64, prev: [u8; 32]| RecordMeta {
        record_id: rid(20),
        revision,
        writer_seq,
        prev,
        ..meta_of(&h)
    };
    // A's next three envelopes of record 20 (a record nobody wrote), at revisions 2, 1 and 3
    let e1 = seal_as(&w.a, record(2, s + 1, identity_of(&item.bytes)), b"rev 2", &mut w.rng);
    let e2 = seal_as(&w.a, record(1, s + 2, identity_of(&e1)), b"rev 1", &mut w.rng);
    let e3 = seal_as(&w.a, record(3, s + 3, identity_of(&e2)), b"rev 3", &mut w.rng);
    let n = item.seq;

    // listing 1: e1 as a stub, superseded by e3 (verified, revision 3); e2 withheld
    let r = reader.apply_items(&[stub_item(n + 1, &e1), envelope_item(n + 3, &e3)]);
    assert_eq!(r.alerts, vec![Alert::Withheld { writer: a, missing_seq: s + 2 }]);
    assert_eq!(r.applied, 0);
    assert_eq!(reader.last_seq(&a), s + 1);
    assert_eq!(reader.get("notes", &rid(20)), None);

    // listing 2: e1 in full, at the accepted sequence number: a replay, ignored
    let r = reader.apply_items(&[envelope_item(n + 4, &e1)]);
    assert_eq!(r.alerts, vec![]);
    assert_eq!(r.applied, 0);
    assert_eq!(reader.get("notes", &rid(20)), None);

    // listing 3: e2, the next write; the record has no accepted (revision, writer), so it applies
    let r = reader.apply_items(&[envelope_item(n + 5, &e2)]);
    assert_eq!(r.alerts, vec![]);
    assert_eq!(r.applied, 1);
    assert_eq!(reader.last_seq(&a), s + 2);
    assert_eq!(reader.get("notes", &rid(20)), Some(&b"rev 1"[..]));

    // listing 4: e3 now follows; revision 3 is above everything, it applies
    let r = reader.apply_items(&[envelope_item(n + 6, &e3)]);
    assert_eq!(r.alerts, vec![]);
    assert_eq!(r.applied, 1);
    assert_eq!(reader.get("notes", &rid(20)), Some(&b"rev 3"[..]));
}

// [SYNC-14] a revocation that pins another `last_envelope` than the identity this device took
// for `(R, max_seq)` is an equivocation alert, raised with the chain that brings the revocation
// and only then: a later chain that still holds it (here one more rotation) raises nothing.
#[test]
fn revocation_split_fires_once() {
    use blindsync::chain::{revoke_and_rotate, rotate};
    let mut w = world("mutation-client/split-once");
    let r = w.b.id();
    let max_seq = w.a.last_seq(&r);
    assert!(max_seq > 0);
    let taken = w.a.envelope_identity(&r, max_seq).unwrap();
    let other = [0x55; 32]; // the revoker took another history from R
    assert_ne!(taken, other);
    let rot = revoke_and_rotate(w.a.chain(), w.a.device(), &r, max_seq, other, &mut w.rng).unwrap();
    assert_eq!(w.a.apply_chain(&rot.state.encoded()), vec![Alert::Equivocation { writer: r, seq: max_seq }]);
    assert_eq!(w.a.chain().head(), rot.state.head());
    let next = rotate(&rot.state, w.a.device(), &mut w.rng).unwrap();
    assert_eq!(w.a.apply_chain(&next.state.encoded()), vec![]);
    assert_eq!(w.a.chain().head(), next.state.head());
}

/// Syncs `c` through the honest server; returns the report and how many GetChain it sent.
fn sync_counting_chains(c: &mut Client, net: &mut Net) -> (blindsync::client::SyncReport, usize) {
    use blindsync::server::wire::{Request, Response};
    let mut chains = 0;
    let report = c
        .sync(&mut |r: Request| -> Response {
            if matches!(r, Request::GetChain { .. }) {
                chains += 1;
            }
            net.call(r)
        })
        .unwrap();
    (report, chains)
}

// [SYNC-11] [SYNC-8] the chain is fetched once more only if a listed item cites a head the verified
// chain lacks: a sync whose items all cite verified heads sends one GetChain. The second case
// (an item at a head the device does not hold yet) sends two.
#[test]
fn chain_is_fetched_again_only_for_an_unknown_head() {
    use blindsync::server::wire::{Request, Response};
    let mut w = world("mutation-client/refetch");
    w.a.write(&mut w.net, "notes", rid(9), b"known head", &mut w.rng).unwrap();
    let (report, chains) = sync_counting_chains(&mut w.b, &mut w.net);
    assert_eq!(report.alerts, vec![]);
    assert_eq!(chains, 1);
    assert_eq!(w.b.get("notes", &rid(9)), Some(&b"known head"[..]));
    // A rotates and writes at the new head; B's first GetChain is answered with the chain before
    // the rotation (as if it raced), so its listing cites an unknown head: two GetChains
    let stale = w.a.chain().encoded();
    let rot = blindsync::chain::rotate(w.a.chain(), w.a.device(), &mut w.rng).unwrap();
    w.a.append_chain(&mut w.net, rot.statements.clone()).unwrap();
    w.a.add_umk(rot.state.epoch(), rot.umk.clone());
    w.a.write(&mut w.net, "notes", rid(10), b"new head", &mut w.rng).unwrap();
    let mut first = true;
    let mut chains = 0;
    let report = {
        let net = &mut w.net;
        w.b.sync(&mut |r: Request| -> Response {
            if matches!(r, Request::GetChain { .. }) {
                chains += 1;
                if std::mem::take(&mut first) {
                    let _ = net.call(r);
                    return Response::Chain { statements: stale.clone() };
                }
            }
            net.call(r)
        })
        .unwrap()
    };
    assert_eq!(report.alerts, vec![]);
    assert_eq!(chains, 2);
    assert_eq!(w.b.get("notes", &rid(10)), Some(&b"new head"[..]));
}
