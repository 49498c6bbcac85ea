//! Regression tests for the review of issue 14: each auditor's attack
//! (`review-14/tests/attack_*.rs`), ported to the current API, now fails.

use blindsync::attachment::{pad, pad_header_len, padme, unpad};
use blindsync::batch::hchain::{self, ServerRecord};
use blindsync::batch::sealed::{self, BatchInput, BatchLink, ListPolicy, ReaderState, SealedBatch, Window};
use blindsync::batch::{BatchId, Event, EventKind};
use blindsync::chain::{Body, ChainState, approve_device, create_account, extend, revoke_and_rotate};
use blindsync::client::{Client, Transport};
use blindsync::device::{ChainHead, DeviceKeys};
use blindsync::envelope::Suite;
use blindsync::error::Error;
use blindsync::hpke::HpkeSecretKey;
use blindsync::keys::AccountId;
use blindsync::primitives::SeededRng;
use blindsync::server::wire::{Request, Response};
use blindsync::server::{MemoryStorage, Server, ServerConfig};
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;

// ---------------------------------------------------------------- lock-out ([SRV-14], [SRV-15])

struct World {
    server: Server<MemoryStorage>,
    srng: SeededRng,
    now: u64,
}
impl Transport for World {
    fn call(&mut self, r: Request) -> Response {
        self.now += 10;
        let bytes = self.server.handle_bytes(&r.encode(), self.now, &mut self.srng);
        Response::decode(&bytes).unwrap()
    }
}

fn world() -> (World, Client, [u8; 32]) {
    let mut rng = SeededRng::from_label("review14-lockout");
    let dev = DeviceKeys::generate(&mut rng);
    let code = RecoveryCode::generate(&mut rng);
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut rng) };
    let pw = kdf.derive(b"pw").unwrap();
    let acct = create_account(&dev, &code.derive(), &pw, &kdf, &mut rng).unwrap();
    let mut w = World {
        server: Server::new(MemoryStorage::default(), ServerConfig::new([7; 32])),
        srng: SeededRng::from_label("s"),
        now: 1_767_225_600_000,
    };
    let r = w.call(Request::Register {
        email: b"owner@example.org".to_vec(),
        kdf: kdf.encode(),
        auth: *pw.auth.expose(),
        genesis: acct.genesis.clone(),
        recovery_wrap: acct.recovery_wrap.to_vec(),
        password_wrap: acct.password_wrap.to_vec(),
    });
    assert_eq!(r, Response::Ok);
    (w, Client::new(dev, acct.state.clone(), acct.umks()), *pw.auth.expose())
}

// [SRV-14] [SRV-15] attack_lockout: challenges for random keys and wrong passwords no longer
// block the device's signature login; the password path alone is limited (stated residual).
#[test]
fn stranger_cannot_block_signature_login() {
    let (mut w, mut owner, auth) = world();
    let account = owner.account().0;
    for round in 0..30u8 {
        for k in 0..64u8 {
            let _ = w.call(Request::Challenge { account, key: [k.wrapping_add(round); 32] });
        }
        for _ in 0..10 {
            let _ = w.call(Request::LoginPassword { email: b"owner@example.org".to_vec(), auth: [0; 32] });
        }
        assert_eq!(owner.login(&mut w), Ok(()), "round {round}");
        // The residual of [SRV-15]: the password path is locked while failures keep coming.
        assert_eq!(
            w.call(Request::LoginPassword { email: b"owner@example.org".to_vec(), auth }),
            Response::Error(Error::SrvRateLimit)
        );
        w.now += 50_000;
    }
}

// [SRV-14] attack_lockout (global map): challenges for many accounts keep no state.
#[test]
fn challenges_for_other_accounts_keep_nothing() {
    let (mut w, mut owner, _) = world();
    for i in 0..10_000u32 {
        let mut acc = [0u8; 32];
        acc[..4].copy_from_slice(&i.to_be_bytes());
        assert!(matches!(w.call(Request::Challenge { account: acc, key: [1; 32] }), Response::Nonce { .. }));
    }
    assert_eq!(owner.login(&mut w), Ok(()));
    assert!(format!("{:?}", w.server.store).contains("used_nonces: 1"), "{:?}", w.server.store);
}

// [SRV-14] [SRV-4] a used nonce is refused; a nonce for another key or a moved expiry too.
#[test]
fn nonces_are_single_use_and_unforgeable() {
    let (mut w, owner, _) = world();
    let account = owner.account();
    let dev = DeviceKeys::generate(&mut SeededRng::from_label("review14-lockout"));
    let key = dev.public().ed25519;
    let Response::Nonce { nonce } = w.call(Request::Challenge { account: account.0, key }) else { panic!() };
    let login = |nonce: [u8; 32]| Request::LoginKey {
        account: account.0,
        key,
        nonce,
        signature: dev.sign(&blindsync::server::login_message(&account, &key, &nonce)),
    };
    assert!(matches!(w.call(login(nonce)), Response::Token { .. }));
    assert_eq!(w.call(login(nonce)), Response::Error(Error::SrvAuth));
    let Response::Nonce { nonce } = w.call(Request::Challenge { account: account.0, key }) else { panic!() };
    let mut moved = nonce;
    moved[7] ^= 1;
    assert_eq!(w.call(login(moved)), Response::Error(Error::SrvAuth));
    let Response::Nonce { nonce } = w.call(Request::Challenge { account: account.0, key: [3; 32] }) else { panic!() };
    assert_eq!(w.call(login(nonce)), Response::Error(Error::SrvAuth));
}

// ---------------------------------------------------------------- Padmé ([ATT-6])

// attack_padme: the header is 42 bytes and the spec says so; padme is checked at the top.
#[test]
fn padding_header_and_padme_bounds() {
    assert_eq!(pad_header_len(), 42);
    let padded = pad(&[1u8; 150]).unwrap();
    assert_eq!(padded.len() as u64, padme(42 + 150).unwrap());
    assert_eq!(padme(u64::MAX), Err(Error::AttachmentPadding));
    let top = u64::MAX - ((1u64 << 57) - 1);
    assert_eq!(padme(top), Ok(top));
    assert_eq!(padme(top + 1), Err(Error::AttachmentPadding));
    // monotone and never below the input over a sweep of the top range
    let mut prev = 0;
    for k in 0..4096u64 {
        let l = (1u64 << 63) + k * (1u64 << 50);
        let p = padme(l).unwrap();
        assert!(p >= l && p >= prev);
        prev = p;
    }
    let mut p = pad(b"").unwrap();
    let h = pad_header_len();
    p[h - 8..h].copy_from_slice(&u64::MAX.to_be_bytes());
    assert_eq!(unpad(&p), Err(Error::AttachmentPadding));
}

// ---------------------------------------------------------------- batches ([BAT-10] .. [BAT-12])

// attack_order: a gap batch served with a truncated record is E_HCH_INSERTED, by the spec's order.
#[test]
fn body_checks_come_before_the_link() {
    let acc = AccountId([1; 32]);
    let mut rng = SeededRng::from_label("attack-order");
    let dev = DeviceKeys::generate(&mut rng);
    let partner = HpkeSecretKey::random(&mut rng);
    let head = ChainHead { len: 1, hash: [0xc0; 32] };
    let policy = ListPolicy {
        writers: vec![(dev.id(), dev.public().ed25519)],
        allowed: vec![dev.public().x25519, partner.public_key()],
        chain: vec![[0xc0; 32]],
    };
    let evs = vec![Event { t_ms: 1_000, kind: EventKind::Log, data: b"x".to_vec() }];
    let mk = |id: BatchId, seq: u64, prev: BatchId, rng: &mut SeededRng| {
        let dk = sealed::new_data_key(rng);
        let recipients = [dev.public().x25519, partner.public_key()];
        let input = BatchInput {
            account: acc,
            batch_id: id,
            suite: Suite::Aes256Gcm,
            window: Window { start_ms: 1_000, end_ms: 2_000, expires_ms: 10_000 },
            events: &evs,
            recipients: &recipients,
            data_key: &dk,
            link: BatchLink { seq, prev_batch: prev, chain_head: head },
        };
        let s = sealed::seal(&input, &dev, &policy, rng).unwrap();
        let mut rec = hchain::Recorder::new(&dk, &acc, &id);
        let mut r = ServerRecord::new(&acc, &id);
        for e in &evs {
            let rep = rec.record(e, &dev);
            r.report(rep.event_hash, rep.signature);
        }
        (s, r)
    };
    let (b0, b1, b2) = (BatchId([0x10; 16]), BatchId([0x11; 16]), BatchId([0x12; 16]));
    let (s0, r0) = mk(b0, 0, BatchId([0; 16]), &mut rng);
    let (s2, r2) = mk(b2, 2, b1, &mut rng);
    let mut st = ReaderState::default();
    st.open_next(&acc, &b0, &s0, &r0, &policy, &partner, 5).unwrap();
    let empty = ServerRecord::new(&acc, &b2);
    let got = st.clone().open_next(&acc, &b2, &s2, &empty, &policy, &partner, 5).err();
    assert_eq!(got, Some(Error::HchInserted));
    assert_eq!(st.open_next(&acc, &b2, &s2, &r2, &policy, &partner, 5).err(), Some(Error::BatchGap));
}

struct Setup {
    account: AccountId,
    a: DeviceKeys,
    w: DeviceKeys,
    partner: HpkeSecretKey,
    stale: ChainState,
    fresh: ChainState,
}

fn setup() -> Setup {
    let mut rng = SeededRng::from_label("attack-stale");
    let a = DeviceKeys::generate(&mut rng);
    let code = RecoveryCode::generate(&mut rng);
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut rng) };
    let acct = create_account(&a, &code.derive(), &kdf.derive(b"pw").unwrap(), &kdf, &mut rng).unwrap();
    let account = acct.state.account();
    let w = DeviceKeys::generate(&mut rng);
    let ap = approve_device(&acct.state, &a, &w.pending(&account), &acct.umks(), &mut rng).unwrap();
    let partner = HpkeSecretKey::random(&mut rng);
    let (_, stale) = extend(&ap.state, Body::PinPartner { key: partner.public_key(), label: "p".into() }, &a).unwrap();
    let rot = revoke_and_rotate(&stale, &a, &w.id(), 0, [0; 32], &mut rng).unwrap();
    Setup { account, a, w, partner, stale, fresh: rot.state }
}

fn events(t0: u64) -> Vec<Event> {
    vec![Event { t_ms: t0, kind: EventKind::Log, data: b"fabricated: all quiet".to_vec() }]
}

#[allow(clippy::too_many_arguments)]
fn seal_as(
    s: &Setup,
    dev: &DeviceKeys,
    view: &ChainState,
    id: BatchId,
    seq: u64,
    prev: BatchId,
    head: ChainHead,
    evs: &[Event],
) -> (SealedBatch, ServerRecord) {
    let mut rng = SeededRng::from_label("attack-stale/seal");
    let dk = sealed::new_data_key(&mut rng);
    let mut rec = hchain::Recorder::new(&dk, &s.account, &id);
    let mut r = ServerRecord::new(&s.account, &id);
    for e in evs {
        let rep = rec.record(e, dev);
        r.report(rep.event_hash, rep.signature);
    }
    let mut recipients: Vec<[u8; 32]> =
        view.devices().iter().filter(|(d, _)| view.is_active(d)).map(|(_, k)| k.x25519).collect();
    recipients.push(s.partner.public_key());
    recipients.sort();
    let input = BatchInput {
        account: s.account,
        batch_id: id,
        suite: Suite::Aes256Gcm,
        window: Window { start_ms: 1_000, end_ms: evs.last().map_or(1_000, |e| e.t_ms), expires_ms: 1_000_000_000_000 },
        events: evs,
        recipients: &recipients,
        data_key: &dk,
        link: BatchLink { seq, prev_batch: prev, chain_head: head },
    };
    (sealed::seal(&input, dev, view, &mut rng).unwrap(), r)
}

// [BAT-10] [BAT-12] attack_stale_chain (first test): the stated residual stays (W's batches are
// accepted while the server keeps the partner stale and withholds every honest batch), but the
// honest writer the partner read before becomes a silent writer, which the partner shows.
#[test]
fn stale_partner_sees_the_honest_writer_fall_silent() {
    let s = setup();
    let mut chain = ChainState::verify(&s.stale.encoded()).unwrap();
    let mut st = ReaderState::default();
    let a0 = BatchId([0x20; 16]);
    let (sa, ra) = seal_as(&s, &s.a, &s.stale, a0, 0, BatchId([0; 16]), s.stale.head(), &events(2_000));
    st.open_next(&s.account, &a0, &sa, &ra, &chain, &s.partner, 5_000).unwrap();
    let mut prev = None;
    let hour = 3_600_000u64;
    for k in 0..5u64 {
        chain.update(&s.stale.encoded()).unwrap();
        let id = BatchId([0x30 + k as u8; 16]);
        let t = 2_000 + (k + 1) * hour;
        let (sb, r) = seal_as(&s, &s.w, &s.stale, id, k, prev.unwrap_or(BatchId([0; 16])), s.stale.head(), &events(t));
        st.open_next(&s.account, &id, &sb, &r, &chain, &s.partner, t + 1).unwrap();
        prev = Some(id);
        // A's last batch ended at 2 000; W keeps writing: after an hour of silence A is reported.
        let silent = st.silent_writers(&chain, t + 1, hour);
        assert_eq!(silent, vec![s.a.id()], "session {k}");
    }
    // With the true chain W is refused, and A is not reported once it is no longer silent.
    let truth = ChainState::verify(&s.fresh.encoded()).unwrap();
    let id = BatchId([0x3f; 16]);
    let (sb, r) = seal_as(&s, &s.w, &s.stale, id, 5, prev.unwrap(), s.stale.head(), &events(9_000));
    assert_eq!(
        st.clone().open_next(&s.account, &id, &sb, &r, &truth, &s.partner, 9_001).err(),
        Some(Error::BatchWriter)
    );
}

// [BAT-10] attack_stale_chain (second test): a huge head no longer bricks the partner: once the
// partner holds the true chain, W is revoked and its claim is dropped.
#[test]
fn huge_head_claim_of_a_revoked_writer_is_dropped() {
    let s = setup();
    let partner_chain = ChainState::verify(&s.stale.encoded()).unwrap();
    let mut st = ReaderState::default();
    let bogus = ChainHead { len: u64::MAX, hash: [0xee; 32] };
    let id = BatchId([0x50; 16]);
    let (sb, r) = seal_as(&s, &s.w, &s.stale, id, 0, BatchId([0; 16]), bogus, &events(2_000));
    assert_eq!(
        st.open_next(&s.account, &id, &sb, &r, &partner_chain, &s.partner, 5_000).err(),
        Some(Error::BatchChainHead)
    );
    assert_eq!(st.pending.len(), 1);
    // Still stale: every batch is refused while the claim stands.
    assert_eq!(st.recheck(&partner_chain), Err(Error::BatchChainHead));
    let truth = ChainState::verify(&s.fresh.encoded()).unwrap();
    let hid = BatchId([0x60; 16]);
    let (hb, hr) = seal_as(&s, &s.a, &s.fresh, hid, 0, BatchId([0; 16]), s.fresh.head(), &events(3_000));
    assert!(st.open_next(&s.account, &hid, &hb, &hr, &truth, &s.partner, 5_000).is_ok());
    assert!(st.pending.is_empty());
}

// [BAT-10] a claim by a writer that stays active: met when the chain reaches it with that hash,
// E_CHAIN_FORK when it reaches its length with another.
#[test]
fn head_claim_is_met_or_a_fork() {
    let s = setup();
    let stale = ChainState::verify(&s.stale.encoded()).unwrap();
    let truth = ChainState::verify(&s.fresh.encoded()).unwrap();
    assert!(truth.head().len > stale.head().len);
    // A (active on both chains) names the true head: met once the partner has it.
    let mut st = ReaderState::default();
    let id = BatchId([0x61; 16]);
    let (b, r) = seal_as(&s, &s.a, &s.fresh, id, 0, BatchId([0; 16]), s.fresh.head(), &events(3_000));
    assert_eq!(st.open_next(&s.account, &id, &b, &r, &stale, &s.partner, 5_000).err(), Some(Error::BatchChainHead));
    assert_eq!(st.recheck(&truth), Ok(()));
    // A names a head of the true length with another hash: a fork once the partner is there.
    let mut st = ReaderState::default();
    let forged = ChainHead { len: truth.head().len, hash: [0xee; 32] };
    let id = BatchId([0x62; 16]);
    let (b, r) = seal_as(&s, &s.a, &s.stale, id, 0, BatchId([0; 16]), forged, &events(3_000));
    assert_eq!(st.open_next(&s.account, &id, &b, &r, &stale, &s.partner, 5_000).err(), Some(Error::BatchChainHead));
    assert_eq!(st.recheck(&truth), Err(Error::ChainFork));
    assert_eq!(st.recheck(&truth), Err(Error::ChainFork));
}
