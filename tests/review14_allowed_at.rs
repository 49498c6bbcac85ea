//! Regression test from the second review of issue 14 (attack demonstrated on an earlier main;
//! here it must fail).
//! [BAT-8] step 7 `all_allowed_at`: a server that keeps an honest writer W on the chain from before an
//! unpin (or a revocation) makes W wrap every new data key to the unpinned partner (revoked device);
//! every up-to-date partner now accepts those batches silently (no refusal, no pending claim, no
//! stale-head alert), where the check before 15614e1 refused them with E_BATCH_UNPINNED.

use blindsync::batch::hchain::{self, ServerRecord};
use blindsync::batch::sealed::{self, BatchInput, BatchLink, BatchPolicy, ReaderState, SealedBatch, Window};
use blindsync::batch::slots;
use blindsync::batch::{BatchId, Event, EventKind, decode_events};
use blindsync::chain::{Body, ChainState, approve_device, create_account, extend, revoke_and_rotate};
use blindsync::device::DeviceKeys;
use blindsync::envelope::Suite;
use blindsync::hpke::HpkeSecretKey;
use blindsync::keys::AccountId;
use blindsync::primitives::SeededRng;
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;

struct World {
    account: AccountId,
    a: DeviceKeys,
    w: DeviceKeys,
    r: DeviceKeys,
    p1: HpkeSecretKey,
    p_old: HpkeSecretKey,
    /// The chain W is kept on: A, W, R active; P1 and P_old pinned.
    stale: ChainState,
}

fn world() -> World {
    let mut rng = SeededRng::from_label("attack-allowed-at");
    let a = DeviceKeys::generate(&mut rng);
    let code = RecoveryCode::generate(&mut rng);
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut rng) };
    let acct = create_account(&a, &code.derive(), &kdf.derive(b"pw").unwrap(), &kdf, &mut rng).unwrap();
    let account = acct.state.account();
    let w = DeviceKeys::generate(&mut rng);
    let s = approve_device(&acct.state, &a, &w.pending(&account), &acct.umks(), &mut rng).unwrap().state;
    let r = DeviceKeys::generate(&mut rng);
    let s = approve_device(&s, &a, &r.pending(&account), &acct.umks(), &mut rng).unwrap().state;
    let p1 = HpkeSecretKey::random(&mut rng);
    let p_old = HpkeSecretKey::random(&mut rng);
    let (_, s) = extend(&s, Body::PinPartner { key: p1.public_key(), label: "p1".into() }, &a).unwrap();
    let (_, s) = extend(&s, Body::PinPartner { key: p_old.public_key(), label: "old".into() }, &a).unwrap();
    World { account, a, w, r, p1, p_old, stale: s }
}

/// W seals honestly with its (stale) view: recipients = every active device and every pinned partner.
fn seal_honest(
    wd: &World,
    view: &ChainState,
    id: BatchId,
    seq: u64,
    prev: BatchId,
    t: u64,
) -> (SealedBatch, ServerRecord) {
    let mut rng = SeededRng::from_label("attack-allowed-at/seal");
    let evs = vec![Event { t_ms: t, kind: EventKind::Log, data: b"visited clinic.example".to_vec() }];
    let dk = sealed::new_data_key(&mut rng);
    let mut rec = hchain::Recorder::new(&dk, &wd.account, &id);
    let mut r = ServerRecord::new(&wd.account, &id);
    for e in &evs {
        let rep = rec.record(e, &wd.w);
        r.report(rep.event_hash, rep.signature);
    }
    let mut recipients: Vec<[u8; 32]> =
        view.devices().iter().filter(|(d, _)| view.is_active(d)).map(|(_, k)| k.x25519).collect();
    recipients.extend([wd.p1.public_key(), wd.p_old.public_key()].iter().filter(|k| view.is_pinned(k)));
    recipients.sort();
    let input = BatchInput {
        account: wd.account,
        batch_id: id,
        suite: Suite::Aes256Gcm,
        window: Window { start_ms: t, end_ms: t, expires_ms: 1_000_000_000_000 },
        events: &evs,
        recipients: &recipients,
        data_key: &dk,
        link: BatchLink { seq, prev_batch: prev, chain_head: view.head() },
    };
    (sealed::seal(&input, &wd.w, view, &mut rng).unwrap(), r)
}

fn colluder_reads(wd: &World, id: &BatchId, b: &SealedBatch, me: &HpkeSecretKey) -> Vec<u8> {
    // The colluder runs no library check: it opens its slot and the stream itself.
    let dk = slots::open_slot(&wd.account, id, &b.slots, &|_| true, me).unwrap();
    let meta = sealed::BatchMeta::decode(&b.meta).unwrap();
    let ctx = blindsync::stream::StreamOpenContext {
        params: meta.stream_params(&wd.account),
        verifying_key: wd.w.public().ed25519,
    };
    let src = sealed::stream_source(&dk, &wd.account, id);
    let framed = blindsync::stream::open(&b.manifest, &b.body, &ctx, &src).unwrap();
    decode_events(&framed).unwrap()[0].data.clone()
}

fn run(wd: &World, truth: &ChainState, colluder_key: &[u8; 32], colluder: &HpkeSecretKey) {
    // P1 is up to date (refreshed from the server, which serves partners the true chain).
    let p1_chain = ChainState::verify(&truth.encoded()).unwrap();
    assert!(!p1_chain.allows(colluder_key), "the colluder is no longer allowed by the current chain");
    let mut st = ReaderState::default();
    let mut prev = BatchId([0; 16]);
    for k in 0..5u64 {
        // W is kept on `stale` by the server (a refresh returns "no news", [CHAIN-10]).
        let id = BatchId([0x40 + k as u8; 16]);
        let t = 10_000 + k * 300_000;
        let (b, r) = seal_honest(wd, &wd.stale, id, k, prev, t);
        let meta = sealed::BatchMeta::decode(&b.meta).unwrap();
        assert!(meta.recipients.contains(colluder_key), "W wraps the new data key to the colluder");
        // The pre-fix rule ([BAT-8] step 7 at the reader's chain) would have refused it:
        assert!(meta.recipients.iter().any(|k| !p1_chain.allows(k)));
        // Now: accepted, no claim, no stale-head alert, no silent writer.
        let opened = st.open_next(&wd.account, &id, &b, &r, &p1_chain, &wd.p1, t + 1);
        assert!(opened.is_ok(), "batch {k}: {:?}", opened.err());
        assert!(st.pending.is_empty() && st.stale_heads.is_empty());
        // [BAT-12] the fix: every such batch raises the stale-recipient alert for the colluder
        assert!(st.stale_recipients.iter().any(|r| r.key == *colluder_key), "no stale-recipient alert");
        assert!(st.silent_writers(&p1_chain, t + 1, 3_600_000).is_empty());
        // ... and the colluder (with the server's copy of blob and slots) reads the new data.
        assert_eq!(colluder_reads(wd, &id, &b, colluder), b"visited clinic.example");
        prev = id;
    }
}

// An unpinned partner colluding with the server reads every new batch; other partners see nothing.
#[test]
fn unpinned_partner_keeps_reading_while_partners_accept_silently() {
    let wd = world();
    let (_, truth) = extend(&wd.stale, Body::UnpinPartner { key: wd.p_old.public_key() }, &wd.a).unwrap();
    let k = wd.p_old.public_key();
    run(&wd, &truth, &k, &wd.p_old);
}

// A revoked device colluding with the server reads every new batch of W; partners see nothing.
#[test]
fn revoked_device_keeps_reading_while_partners_accept_silently() {
    let wd = world();
    let mut rng = SeededRng::from_label("attack-allowed-at/revoke");
    let truth = revoke_and_rotate(&wd.stale, &wd.a, &wd.r.id(), 0, [0; 32], &mut rng).unwrap().state;
    let k = wd.r.public().x25519;
    run(&wd, &truth, &k, wd.r.hpke_key());
}
