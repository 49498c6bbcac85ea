//! Re-attack of the audit-round-3 fixes (A3-2, A3-3, A3-6, A3-8, A3-9, A3-10) by a reviewer who
//! did not write them, as a malicious server possibly colluding with a device the owner later
//! revokes. Finding 1 (writing another device's metadata record) is fixed and tested in
//! `review17_verify.rs`; finding 6 (several splits in one chain) is fixed here. The
//! `*_residual_*` tests pin what spec 1.6 lists as not protected (items 19, 26 and 27) and
//! [CLIENT-6]'s version-skew rows, so a change there is seen.

use blindsync::batch::hchain::{self, Recorder};
use blindsync::batch::sealed::{self, BatchInput, BatchLink, Window};
use blindsync::batch::{BatchId, Event, EventKind};
use blindsync::client::{
    Client, Exchange, Joining, Outcome, PartnerOpen, PartnerState, Persist, Registration, Transport, Volatile, run,
};
use blindsync::device::{ChainHead, DeviceId, DeviceKeys};
use blindsync::envelope::EnvelopeRef;
use blindsync::error::Error;
use blindsync::hpke::HpkeSecretKey;
use blindsync::keys::AccountId;
use blindsync::primitives::SeededRng;
use blindsync::server::wire::{ItemKind, Request, Response};
use blindsync::server::{MemoryStorage, Server, ServerConfig};
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;

const DAY: u64 = 86_400_000;

mod common;

use common::*;

fn net(label: &str) -> Net {
    Net {
        server: Server::new(MemoryStorage::default(), ServerConfig::new([9; 32])),
        srng: SeededRng::from_label(&format!("{label}/server")),
        now: 1_000_000,
    }
}

fn join<P: Persist>(net: &mut Net, rng: &mut SeededRng, by: &mut Client<P>) -> Client {
    let new = DeviceKeys::generate(rng);
    let mut join = Joining::new(Volatile, new, by.account(), by.id());
    let _ = run(&mut join, net);
    let pending = by.list_pending(net).unwrap();
    by.approve(net, &pending[0], rng).unwrap();
    assert!(join.retry());
    run(&mut join, net).unwrap()
}

// =============================================================================================
// Finding 2 (A3-3 / [BAT-10] recheck): a device, while active, poisons every partner for ever
// with one signed batch naming a made-up head. Once the chain reaches the claimed length (its
// own revocation does), the claim is E_CHAIN_FORK at every open, whoever wrote it ("checked
// whoever the writer is now"): revoking the device does not free the partner.

struct PWorld {
    net: Net,
    rng: SeededRng,
    a: Client,
    b: Client,
    partner: HpkeSecretKey,
}

fn pworld(label: &str) -> PWorld {
    let mut rng = SeededRng::from_label(label);
    let mut net = net(label);
    let dev = DeviceKeys::generate(&mut rng);
    let code = RecoveryCode::generate(&mut rng);
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut rng) };
    let pw = kdf.derive(b"reattack password").unwrap();
    let mut reg = Registration::new(Volatile, dev, b"rp@example.org", &code.derive(), &pw, &kdf, &mut rng).unwrap();
    let mut a = run(&mut reg, &mut net).unwrap();
    let mut b = join(&mut net, &mut rng, &mut a);
    let partner = HpkeSecretKey::random(&mut rng);
    a.pin_partner(&mut net, partner.public_key(), "partner").unwrap();
    assert!(b.sync(&mut net).unwrap().alerts.is_empty());
    PWorld { net, rng, a, b, partner }
}

fn share_linked<P: Persist>(
    net: &mut Net,
    rng: &mut SeededRng,
    dev: &mut Client<P>,
    others: &[[u8; 32]],
    batch: BatchId,
    link: BatchLink,
) {
    let account = dev.account();
    let reference = hchain::reference(&account, &batch);
    let data_key = sealed::new_data_key(rng);
    let mut recorder = Recorder::new(&data_key, &account, &batch);
    let start = net.now;
    let e = Event { t_ms: net.now, kind: EventKind::Log, data: batch.0.to_vec() };
    let report = recorder.record(&e, dev.device());
    dev.start_report_event(reference, report.event_hash, report.signature).unwrap();
    assert!(matches!(run(dev, net).unwrap(), Outcome::Reported(_)));
    let mut recipients = vec![dev.device().public().x25519];
    recipients.extend_from_slice(others);
    let input = BatchInput {
        account,
        batch_id: batch,
        suite: blindsync::envelope::Suite::Aes256Gcm,
        window: Window { start_ms: start, end_ms: net.now, expires_ms: net.now + 30 * DAY },
        events: &[e],
        recipients: &recipients,
        data_key: &data_key,
        link,
    };
    let sealed = sealed::seal(&input, dev.device(), dev.chain(), rng).unwrap();
    dev.start_put_batch(reference, &sealed).unwrap();
    assert_eq!(run(dev, net).unwrap(), Outcome::BatchStored);
}

fn share<P: Persist>(net: &mut Net, rng: &mut SeededRng, dev: &mut Client<P>, partner: [u8; 32], batch: BatchId) {
    let link = BatchLink { seq: 0, prev_batch: BatchId([0; 16]), chain_head: dev.chain().head() };
    share_linked(net, rng, dev, &[partner], batch, link);
}

fn open(
    t: &mut dyn Transport,
    key: &HpkeSecretKey,
    account: AccountId,
    batch: BatchId,
    now: u64,
    state: &mut PartnerState,
) -> blindsync::Result<blindsync::batch::sealed::OpenedBatch> {
    run(&mut PartnerOpen::new(key, account, batch, now, state), t)
}

/// b plants a claim one past the chain (`ahead`) or at the chain's own length (not ahead),
/// the partner opens it while b is active, then a revokes b and shares an honest batch.
/// Returns the partner's results for the honest batch, three times.
fn poisoned(label: &str, ahead: bool) -> Vec<blindsync::Result<DeviceId>> {
    let mut w = pworld(label);
    let p = w.partner.public_key();
    let account = w.a.account();
    let head = w.b.chain().head();
    let len = if ahead { head.len + 1 } else { head.len };
    let poison = BatchId([0x90; 16]);
    let link = BatchLink { seq: 0, prev_batch: BatchId([0; 16]), chain_head: ChainHead { len, hash: [0x66; 32] } };
    share_linked(&mut w.net, &mut w.rng, &mut w.b, &[p], poison, link);
    let mut state = PartnerState::default();
    let now = w.net.now;
    assert_eq!(open(&mut w.net, &w.partner, account, poison, now, &mut state).err(), Some(Error::BatchChainHead));
    // the owner notices and revokes b
    let b = w.b.id();
    w.a.revoke(&mut w.net, &b, &mut w.rng).unwrap();
    let honest = BatchId([0x91; 16]);
    share(&mut w.net, &mut w.rng, &mut w.a, p, honest);
    let now = w.net.now;
    (0..3).map(|_| open(&mut w.net, &w.partner, account, honest, now, &mut state).map(|o| o.meta.writer)).collect()
}

#[test]
fn f2_residual_a_device_poisons_its_partners_before_its_revocation() {
    for ahead in [true, false] {
        let results = poisoned(&format!("reattack/f2/{ahead}"), ahead);
        assert_eq!(results, vec![Err(Error::ChainFork); 3], "ahead = {ahead}");
    }
}

// =============================================================================================
// Finding 3 (A3-2 with collusion): a revoked writer still grows client.refused without bound:
// every distinct signed item above its bound costs it one signature and every device 32 bytes
// for ever; the same signed item counts twice (as envelope and as stub).

fn signed_above_bound(w: &mut World, n: u8) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let mut r = w.b.clone();
            r.start_write("notes", rid(100 + i), b"late", &mut w.rng).unwrap();
            let Some(Request::PutRecord { ref envelope, .. }) = r.poll_request() else { panic!("no PutRecord") };
            envelope.clone()
        })
        .collect()
}

#[test]
fn f3_residual_a_revoked_writer_grows_refused_one_signature_per_entry() {
    let mut w = world("reattack/f3");
    let signed = signed_above_bound(&mut w, 20);
    let b = w.b.id();
    w.a.revoke(&mut w.net, &b, &mut w.rng).unwrap();
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
    let before = refused_entries(&w.a);
    let report = w.a.sync(&mut with_extra(&mut w.net, &signed, ItemKind::Envelope)).unwrap();
    assert!(report.alerts.iter().all(|x| x.error() == Error::EnvWriterRevoked), "{:?}", report.alerts);
    assert_eq!(refused_entries(&w.a), before + 20);
    let stubs: Vec<Vec<u8>> = signed.iter().map(|e| EnvelopeRef::decode(e).unwrap().stub().encode()).collect();
    let _ = w.a.sync(&mut with_extra(&mut w.net, &stubs, ItemKind::Stub)).unwrap();
    assert_eq!(refused_entries(&w.a), before + 40, "the same signed items again, as stubs");
}

// =============================================================================================
// Finding 4 (A3-8, [CLIENT-6] AppendChain/Register rows): the chain codes pass through although
// an honest server can never answer them to a device whose own check passed (the server's check
// runs on the same prefix: position = len and prev = head hash): the server makes a device
// report that its own revocation was signed by a revoked signer.

#[test]
fn f4_residual_append_chain_passes_a_chain_code_through() {
    let mut w = world("reattack/f4");
    let b = w.b.id();
    let net = &mut w.net;
    let mut server = |r: Request| match r {
        Request::AppendChain { .. } => Response::Error(Error::ChainSignerRevoked),
        r => net.call(r),
    };
    assert_eq!(w.a.revoke(&mut server, &b, &mut w.rng).err(), Some(Error::ChainSignerRevoked));
}

// =============================================================================================
// Observation 5 (A3-10, 1.6 item 19): a compromised device fills the chain to MAX_CHAIN_LEN in
// one AppendChain of pins; from then on nobody can revoke it (nor rotate): it stays an active
// device, reading every later write (no epoch can rotate), until the account is registered
// again; no device is told the chain is full (the revocation fails with E_DECODE_VALUE).

#[test]
fn f5_residual_a_device_fills_the_chain_and_cannot_be_revoked() {
    use blindsync::chain::{Body, MAX_CHAIN_LEN, extend};
    let mut w = world("reattack/f5");
    let mut chain = w.b.chain().clone();
    let mut statements = Vec::new();
    let mut i: u32 = 0;
    while chain.head().len < MAX_CHAIN_LEN {
        i += 1;
        let mut key = [7u8; 32];
        key[..4].copy_from_slice(&i.to_le_bytes());
        let (s, next) = extend(&chain, Body::PinPartner { key, label: String::new() }, w.b.device()).unwrap();
        statements.push(s);
        chain = next;
    }
    w.b.start_append_chain(statements).unwrap();
    run(&mut w.b, &mut w.net).unwrap();
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty(), "a full chain raises nothing");
    assert_eq!(w.a.chain().head().len, MAX_CHAIN_LEN);
    let b = w.b.id();
    assert_eq!(w.a.revoke(&mut w.net, &b, &mut w.rng).err(), Some(Error::DecodeValue));
    assert!(w.a.chain().devices().contains_key(&b), "b stays active");
}

// =============================================================================================
// Finding 6 (A3-6, [SYNC-14]): two splits exposed by the revocations C takes in one chain:
// both are reported (before the fix only the first, by device id, was).

/// R (a clone's write and the real write at one writer_seq): returns (e1 stored, e2 alternative).
fn split_write(w: &mut World, r: &mut Client, n: u8) -> (Vec<u8>, Vec<u8>) {
    let mut r2 = r.clone();
    r2.start_write("notes", rid(n), b"two", &mut w.rng).unwrap();
    let Some(Request::PutRecord { ref envelope, .. }) = r2.poll_request() else { panic!("no PutRecord") };
    let e2 = envelope.clone();
    r.write(&mut w.net, "notes", rid(n), b"one", &mut w.rng).unwrap();
    let e1 = w.net.server.store_items(&w.a.account()).last().unwrap().bytes.clone();
    assert_ne!(e1, e2);
    (e1, e2)
}

fn two_splits() -> Vec<blindsync::client::Alert> {
    let mut w = world("reattack/f6");
    let mut c = join(&mut w.net, &mut w.rng, &mut w.a);
    let mut d = join(&mut w.net, &mut w.rng, &mut w.a);
    c.subscribe("notes").unwrap();
    d.subscribe("notes").unwrap();
    assert!(w.b.sync(&mut w.net).unwrap().alerts.is_empty());
    assert!(d.sync(&mut w.net).unwrap().alerts.is_empty());
    assert!(c.sync(&mut w.net).unwrap().alerts.is_empty());
    let mut b = w.b.clone();
    let (b1, b2) = split_write(&mut w, &mut b, 20);
    let (d1, d2) = split_write(&mut w, &mut d, 21);
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
    {
        let net = &mut w.net;
        let mut served = |r: Request| match net.call(r) {
            Response::Items { items } => Response::Items {
                items: items
                    .into_iter()
                    .map(|mut i| {
                        if i.bytes == b1 {
                            i.bytes = b2.clone();
                        } else if i.bytes == d1 {
                            i.bytes = d2.clone();
                        }
                        i
                    })
                    .collect(),
            },
            other => other,
        };
        assert!(c.sync(&mut served).unwrap().alerts.is_empty());
    }
    // C holds both alternatives: two splits, each with its own writer
    assert_eq!(c.get("notes", &rid(20)), Some(&b"two"[..]));
    assert_eq!(c.get("notes", &rid(21)), Some(&b"two"[..]));
    assert_eq!(w.a.get("notes", &rid(20)), Some(&b"one"[..]));
    assert_eq!(w.a.get("notes", &rid(21)), Some(&b"one"[..]));
    let (b_id, d_id) = (b.id(), d.id());
    w.a.revoke(&mut w.net, &b_id, &mut w.rng).unwrap();
    w.a.revoke(&mut w.net, &d_id, &mut w.rng).unwrap();
    let mut alerts = c.sync(&mut w.net).unwrap().alerts;
    alerts.extend(c.sync(&mut w.net).unwrap().alerts);
    alerts.extend(c.sync(&mut w.net).unwrap().alerts);
    alerts
}

// [SYNC-14] every split a chain exposes is reported
#[test]
fn f6_every_exposed_split_is_reported() {
    let alerts = two_splits();
    let eq = alerts.iter().filter(|a| matches!(a, blindsync::client::Alert::Equivocation { .. })).count();
    assert_eq!(eq, 2, "{alerts:?}");
}
