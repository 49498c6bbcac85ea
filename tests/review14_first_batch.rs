//! Regression test from the second review of issue 14 (attack demonstrated on an earlier main;
//! here it must fail).
//! [BAT-11] check_first: `initial_writers` is fixed at the first *accepted* batch, not when the
//! reader began. A server that makes the reader's first attempts fail (or withholds everything)
//! until a new device N is added gets N's first batches deleted unnoticed.

use blindsync::batch::hchain::{self, ServerRecord};
use blindsync::batch::sealed::{self, BatchInput, BatchLink, ReaderState, SealedBatch, Window};
use blindsync::batch::{BatchId, Event, EventKind};
use blindsync::chain::{Body, ChainState, approve_device, create_account, extend};
use blindsync::defences::Defences;
use blindsync::device::DeviceKeys;
use blindsync::envelope::Suite;
use blindsync::hpke::HpkeSecretKey;
use blindsync::keys::AccountId;
use blindsync::primitives::SeededRng;
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;

#[allow(clippy::too_many_arguments)]
fn seal(
    account: AccountId,
    dev: &DeviceKeys,
    view: &ChainState,
    p: &HpkeSecretKey,
    id: BatchId,
    seq: u64,
    prev: BatchId,
    t: u64,
) -> (SealedBatch, ServerRecord) {
    let mut rng = SeededRng::from_label("attack-first/seal");
    let evs = vec![Event { t_ms: t, kind: EventKind::Log, data: b"x".to_vec() }];
    let dk = sealed::new_data_key(&mut rng);
    let mut rec = hchain::Recorder::new(&dk, &account, &id);
    let mut r = ServerRecord::new(&account, &id);
    for e in &evs {
        let rep = rec.record(e, dev);
        r.report(rep.event_hash, rep.signature);
    }
    let mut recipients = vec![dev.public().x25519, p.public_key()];
    recipients.sort();
    let input = BatchInput {
        account,
        batch_id: id,
        suite: Suite::Aes256Gcm,
        window: Window { start_ms: t, end_ms: t, expires_ms: 1_000_000_000_000 },
        events: &evs,
        recipients: &recipients,
        data_key: &dk,
        link: BatchLink { seq, prev_batch: prev, chain_head: view.head() },
    };
    (sealed::seal(&input, dev, view, &mut rng).unwrap(), r)
}

#[test]
fn new_writer_counted_as_initial_when_no_batch_was_accepted_yet() {
    let mut rng = SeededRng::from_label("attack-first");
    let a = DeviceKeys::generate(&mut rng);
    let code = RecoveryCode::generate(&mut rng);
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut rng) };
    let acct = create_account(&a, &code.derive(), &kdf.derive(b"pw").unwrap(), &kdf, &mut rng).unwrap();
    let account = acct.state.account();
    let p = HpkeSecretKey::random(&mut rng);
    let (_, c0) = extend(&acct.state, Body::PinPartner { key: p.public_key(), label: "p".into() }, &a).unwrap();
    // The partner begins with C0 (A only) and tries to read: the server serves A's batch with an
    // empty record, so nothing is accepted.
    let chain0 = ChainState::verify(&c0.encoded()).unwrap();
    let mut st = ReaderState::default();
    let a0 = BatchId([0xa0; 16]);
    let (ab, _) = seal(account, &a, &c0, &p, a0, 0, BatchId([0; 16]), 1_000);
    let empty = ServerRecord::new(&account, &a0);
    assert!(st.open_next(&account, &a0, &ab, &empty, &chain0, &p, 2_000, &Defences::ALL).is_err());
    // N is added: the partner sees its add-device statement arrive in its own chain.
    let n = DeviceKeys::generate(&mut rng);
    let c1 = approve_device(&c0, &a, &n.pending(&account), &acct.umks(), &mut rng).unwrap().state;
    let mut chain = chain0.clone();
    chain.update(&c1.encoded()).unwrap();
    // N writes batches 0, 1, 2; the server deletes 0 and 1 and serves 2 first.
    let (b0, b1, b2) = (BatchId([0x10; 16]), BatchId([0x11; 16]), BatchId([0x12; 16]));
    let (nb, nr) = seal(account, &n, &c1, &p, b2, 2, b1, 5_000);
    let _ = b0;
    let got = st.open_next(&account, &b2, &nb, &nr, &chain, &p, 6_000, &Defences::ALL);
    // [BAT-11] says a writer added after the reader began must start at seq 0 (E_BATCH_GAP).
    // [BAT-11] the fix: the initial writers were fixed at the first attempt, before N existed
    assert_eq!(got.err(), Some(blindsync::Error::BatchGap));
    assert!(!st.initial_writers.as_ref().unwrap().contains(&n.id()));
}
