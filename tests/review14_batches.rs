//! Regression tests from the second review of issue 14 (attacks demonstrated on an earlier main;
//! here each must fail).
//! [BAT-10] recheck: a claim is dropped when its writer is no longer active. A device W revoked on
//! the real chain, with the server, serves the stale partner a fork in which W revokes A (the real
//! revoker): A's honest claim, the evidence of the other branch, must not be dropped silently.
//! [BAT-11] check_first: `initial_writers` was fixed at the first *accepted* batch, not when the
//! reader began; a server that made the reader's first attempts fail until a new device N was
//! added got N's first batches deleted unnoticed.

use blindsync::batch::hchain::{self, ServerRecord};
use blindsync::batch::sealed::{self, BatchInput, BatchLink, ReaderState, SealedBatch, Window};
use blindsync::batch::{BatchId, Event, EventKind};
use blindsync::chain::{
    Body, ChainState, Reconfirm, Revocation, approve_device, create_account, extend, revoke, revoke_and_rotate,
};
use blindsync::device::DeviceKeys;
use blindsync::envelope::Suite;
use blindsync::error::Error;
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
    let mut rng = SeededRng::from_label("review14/seal");
    let evs = vec![Event { t_ms: t, kind: EventKind::Log, data: b"all quiet".to_vec() }];
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
fn fork_revoking_the_claimant_drops_the_evidence() {
    let mut rng = SeededRng::from_label("attack-fork-claim");
    let a = DeviceKeys::generate(&mut rng);
    let code = RecoveryCode::generate(&mut rng);
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut rng) };
    let acct = create_account(&a, &code.derive(), &kdf.derive(b"pw").unwrap(), &kdf, &mut rng).unwrap();
    let account = acct.state.account();
    let w = DeviceKeys::generate(&mut rng);
    let s = approve_device(&acct.state, &a, &w.pending(&account), &acct.umks(), &mut rng).unwrap().state;
    let p = HpkeSecretKey::random(&mut rng);
    let (_, c0) = extend(&s, Body::PinPartner { key: p.public_key(), label: "p".into() }, &a).unwrap();
    // Truth: A revokes W.
    let truth = revoke_and_rotate(&c0, &a, &w.id(), 0, [0; 32], &mut rng).unwrap().state;
    // Fork (signed by W, active at C0): W revokes A, re-confirming what A introduced.
    let fork = revoke(
        &c0,
        &w,
        vec![Revocation { device: a.id(), max_seq: 0, last_envelope: [0; 32] }],
        vec![],
        vec![Reconfirm::Device(w.id()), Reconfirm::Partner(p.public_key())],
        &mut rng,
    )
    .map(|r| r.state);
    let fork = match fork {
        Ok(f) => f,
        Err(e) => panic!("fork statement refused: {e:?}"),
    };
    assert_eq!(fork.head().len, truth.head().len);
    assert_ne!(fork.head().hash, truth.head().hash);

    // The partner is stale on C0 and is shown A's honest batch (naming the true head).
    let mut partner_chain = ChainState::verify(&c0.encoded()).unwrap();
    let mut st = ReaderState::default();
    let a0 = BatchId([0xa0; 16]);
    let (ab, ar) = seal(account, &a, &truth, &p, a0, 0, BatchId([0; 16]), 2_000);
    assert_eq!(st.open_next(&account, &a0, &ab, &ar, &partner_chain, &p, 3_000).err(), Some(Error::BatchChainHead));
    assert_eq!(st.pending.len(), 1, "the claim is the evidence of the other branch");
    // The server now serves the fork; the partner's chain accepts it (it extends C0).
    partner_chain.update(&fork.encoded()).unwrap();
    // The claim's length is reached with another hash: G-FORK-DETECTED wants E_CHAIN_FORK here.
    let got = st.recheck(&partner_chain);
    println!("recheck on the fork: {got:?}, pending {:?}", st.pending.len());
    // [BAT-10] the fix: the claim reached with another hash is a fork, whoever its writer is now
    assert_eq!(got, Err(blindsync::Error::ChainFork), "the evidence must not be dropped");
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
    assert!(st.open_next(&account, &a0, &ab, &empty, &chain0, &p, 2_000).is_err());
    // N is added: the partner sees its add-device statement arrive in its own chain.
    let n = DeviceKeys::generate(&mut rng);
    let c1 = approve_device(&c0, &a, &n.pending(&account), &acct.umks(), &mut rng).unwrap().state;
    let mut chain = chain0.clone();
    chain.update(&c1.encoded()).unwrap();
    // N writes batches 0, 1, 2; the server deletes 0 and 1 and serves 2 first.
    let (b0, b1, b2) = (BatchId([0x10; 16]), BatchId([0x11; 16]), BatchId([0x12; 16]));
    let (nb, nr) = seal(account, &n, &c1, &p, b2, 2, b1, 5_000);
    let _ = b0;
    let got = st.open_next(&account, &b2, &nb, &nr, &chain, &p, 6_000);
    // [BAT-11] says a writer added after the reader began must start at seq 0 (E_BATCH_GAP).
    // [BAT-11] the fix: the initial writers were fixed at the first attempt, before N existed
    assert_eq!(got.err(), Some(blindsync::Error::BatchGap));
    assert!(!st.initial_writers.as_ref().unwrap().contains(&n.id()));
}

// [BAT-14] the blob's limits are exact: meta 4194304 bytes, manifest 33554618 (the largest
// manifest of [STR-9], not 2^25), checked on the length bytes before any content is read.
#[test]
fn blob_field_limits_are_exact() {
    let blob = |meta_len: u32, manifest_len: Option<u32>| {
        let label = blindsync::labels::BATCH_BLOB.as_bytes();
        let mut b = (label.len() as u32).to_be_bytes().to_vec();
        b.extend_from_slice(label);
        b.extend_from_slice(&meta_len.to_be_bytes());
        if let Some(m) = manifest_len {
            b.extend_from_slice(&vec![0; meta_len as usize]);
            b.extend_from_slice(&m.to_be_bytes());
        }
        b
    };
    let from = |b: &[u8]| SealedBatch::from_wire(b, &[]).err();
    assert_eq!((sealed::MAX_META, sealed::MAX_MANIFEST), (4_194_304, 33_554_618));
    assert_eq!(from(&blob(4_194_305, None)), Some(Error::DecodeLength));
    assert_eq!(from(&blob(4_194_304, None)), Some(Error::DecodeTruncated));
    assert_eq!(from(&blob(10, Some(33_554_619))), Some(Error::DecodeLength));
    assert_eq!(from(&blob(10, Some(33_554_618))), Some(Error::DecodeTruncated));
    assert_eq!(from(&blob(10, Some(1 << 25))), Some(Error::DecodeTruncated));
}

// [BAT-15] [HPKE-2] [HPKE-3] a small-order enc in the reader's own slot is E_HPKE_LOW_ORDER; in
// another recipient's slot it is not noticed; another enc of large order is E_HPKE_OPEN.
#[test]
fn small_order_enc_in_a_slot() {
    use blindsync::batch::slots;
    let mut rng = SeededRng::from_label("bat-15");
    let (a, b) = (HpkeSecretKey::random(&mut rng), HpkeSecretKey::random(&mut rng));
    let (account, batch) = (AccountId([1; 32]), BatchId([2; 16]));
    let all = |_: &[u8; 32]| true;
    let dk = sealed::new_data_key(&mut rng);
    let s = slots::seal_slots(&account, &batch, &[a.public_key(), b.public_key()], &all, &dk, &mut rng).unwrap();
    let open = |slots: &[u8], me: &HpkeSecretKey| slots::open_slot(&account, &batch, slots, &all, me).err();
    assert_eq!((open(&s, &a), open(&s, &b)), (None, None));
    let at = 2 + (0..2).find(|i| s[2 + i * 112..2 + i * 112 + 32] == a.public_key()).unwrap() * 112;
    let mut low = s.clone();
    low[at + 32..at + 64].copy_from_slice(&[0; 32]); // u = 0: a point of small order
    assert_eq!(open(&low, &a), Some(Error::HpkeLowOrder));
    assert_eq!(open(&low, &b), None);
    let mut other = s.clone();
    other[at + 32] ^= 0x40;
    assert_eq!(open(&other, &a), Some(Error::HpkeOpen));
}
