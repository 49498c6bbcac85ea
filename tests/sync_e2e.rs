//! End to end through the in-process reference server (spec chapter 11).

use std::collections::BTreeMap;

use blindsync::chain::{
    ChainState, PendingDevice, UnlockPathKeys, accept_pairing, approve_device, create_account, enroll,
    replace_authority, revoke_and_rotate,
};
use blindsync::client::{Alert, Client, Transport};
use blindsync::device::{DeviceKeys, DevicePublic};
use blindsync::envelope::RecordId;
use blindsync::error::Error;
use blindsync::keys::{Epoch, Umk};
use blindsync::primitives::SeededRng;
use blindsync::server::wire::{Item, ItemKind, Request, Response};
use blindsync::server::{MemoryStorage, Server, ServerConfig, login_message};
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;

const EMAIL: &[u8] = b"alice@example.org";

struct World {
    server: Server<MemoryStorage>,
    srng: SeededRng,
    now: u64,
}

impl Transport for World {
    fn call(&mut self, r: Request) -> Response {
        self.now += 1;
        // every request also goes through the byte encoding
        let bytes = self.server.handle_bytes(&r.encode(), self.now, &mut self.srng);
        Response::decode(&bytes).unwrap()
    }
}

struct Setup {
    w: World,
    rng: SeededRng,
    a: Client,
    code: RecoveryCode,
    kdf: PasswordKdf,
    password: &'static [u8],
}

fn setup() -> Setup {
    let mut rng = SeededRng::from_label("sync-e2e");
    let dev = DeviceKeys::generate(&mut rng);
    let code = RecoveryCode::generate(&mut rng);
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut rng) };
    let password: &'static [u8] = b"correct horse battery staple";
    let pw = kdf.derive(password).unwrap();
    let acct = create_account(&dev, &code.derive(), &pw, &kdf, &mut rng).unwrap();
    let mut w = World {
        server: Server::new(MemoryStorage::default(), ServerConfig::new([7; 32])),
        srng: SeededRng::from_label("sync-e2e/server"),
        now: 1_000,
    };
    let r = w.call(Request::Register {
        email: EMAIL.to_vec(),
        kdf: kdf.encode(),
        auth: *pw.auth.expose(),
        genesis: acct.genesis.clone(),
        recovery_wrap: acct.recovery_wrap.to_vec(),
        password_wrap: acct.password_wrap.to_vec(),
    });
    assert_eq!(r, Response::Ok);
    let mut a = Client::new(dev, acct.state.clone(), acct.umks());
    a.login(&mut w).unwrap();
    Setup { w, rng, a, code, kdf, password }
}

/// Pairing through the server: the new device posts its keys, the approver
/// approves, stores the bundle, the new device fetches it and the chain.
fn pair(s: &mut Setup, approver: &mut Client) -> Client {
    let new = DeviceKeys::generate(&mut s.rng);
    let account = approver.account();
    let p = new.pending(&account);
    assert_eq!(
        s.w.call(Request::PostPending {
            account: account.0,
            ed25519: p.public.ed25519,
            x25519: p.public.x25519,
            pop: p.pop
        }),
        Response::Ok
    );
    approver.sync(&mut s.w).unwrap();
    let Response::Pending { devices } = s.w.call(Request::ListPending { token: approver.token().unwrap() }) else {
        panic!()
    };
    let (ed, x, pop) = devices[0];
    let pending = PendingDevice { public: DevicePublic { ed25519: ed, x25519: x }, pop };
    let approval = approve_device(approver.chain(), approver.device(), &pending, approver.umks(), &mut s.rng).unwrap();
    approver.append_chain(&mut s.w, vec![approval.statement.clone()]).unwrap();
    let r = s.w.call(Request::PutBundle {
        token: approver.token().unwrap(),
        device: new.id().0,
        bundle: approval.bundle_wrap.clone(),
    });
    assert_eq!(r, Response::Ok);
    let Response::Bundle { bundle } = s.w.call(Request::GetBundle { account: account.0, device: new.id().0 }) else {
        panic!()
    };
    // the new device logs in with its key, then fetches the chain
    let mut c = Client::new(new.clone(), approver.chain().clone(), BTreeMap::new());
    c.login(&mut s.w).unwrap();
    let Response::Chain { statements } = s.w.call(Request::GetChain { token: c.token().unwrap() }) else { panic!() };
    let (state, umks) = accept_pairing(&new, &account, &approver.id(), &bundle, &statements).unwrap();
    let token = c.token();
    let mut c = Client::new(new, state, umks);
    c.login(&mut s.w).unwrap();
    assert_ne!(token, None);
    c
}

fn rid(n: u8) -> RecordId {
    RecordId([n; 16])
}

// [SYNC-3] [SYNC-6] [SYNC-8] [SYNC-13] [SRV-6] [SRV-7] [SRV-8] three devices write concurrently and converge.
#[test]
fn three_devices_converge() {
    let mut s = setup();
    let mut a = s.a.clone();
    let mut b = pair(&mut s, &mut a);
    let mut c = pair(&mut s, &mut a);
    for cl in [&mut a, &mut b, &mut c] {
        cl.subscribe("notes").unwrap();
        cl.sync(&mut s.w).unwrap();
    }
    a.write(&mut s.w, "notes", rid(1), b"a1", &mut s.rng).unwrap();
    b.write(&mut s.w, "notes", rid(2), b"b2", &mut s.rng).unwrap();
    // c has not seen a's record 1: both wrote revision 1 concurrently. The server stores
    // both; the smaller (revision, writer) as a stub, so no writer's sequence has a gap. [SRV-6]
    assert_eq!(c.write(&mut s.w, "notes", rid(1), b"c1", &mut s.rng), Ok(1));
    assert_eq!(c.pending_write(), None);
    for cl in [&mut c, &mut b, &mut a] {
        let r = cl.sync(&mut s.w).unwrap();
        assert!(r.alerts.is_empty(), "{:?}", r.alerts);
    }
    assert_eq!(a.records(), b.records());
    assert_eq!(b.records(), c.records());
    // [SYNC-13] the greater (revision, writer) id wins everywhere
    let winner: &[u8] = if c.id() > a.id() { b"c1" } else { b"a1" };
    assert_eq!(a.get("notes", &rid(1)), Some(winner));
    // a later write of c, made after it saw everything, wins outright
    assert_eq!(c.write(&mut s.w, "notes", rid(1), b"c1", &mut s.rng), Ok(2));
    for cl in [&mut c, &mut b, &mut a] {
        let r = cl.sync(&mut s.w).unwrap();
        assert!(r.alerts.is_empty(), "{:?}", r.alerts);
    }
    assert_eq!(a.records(), b.records());
    assert_eq!(b.records(), c.records());
    assert_eq!(a.get("notes", &rid(1)), Some(&b"c1"[..]));
    assert_eq!(a.get("notes", &rid(2)), Some(&b"b2"[..]));
    // [SRV-11] device names travel encrypted and every device reads them
    b.set_device_info(&mut s.w, "phone", "Android 15", &mut s.rng).unwrap();
    a.sync(&mut s.w).unwrap();
    assert_eq!(a.device_info(&b.id()), Some(("phone".to_owned(), "Android 15".to_owned())));
    let stored = s.w.server.store_items(&a.account());
    assert!(stored.iter().all(|i| !i.bytes.windows(5).any(|w| w == b"phone")));
}

// [SYNC-13] [SYNC-9] any delivery order of the same items gives the same state.
#[test]
fn any_delivery_order_converges() {
    let mut s = setup();
    let mut a = s.a.clone();
    let mut b = pair(&mut s, &mut a);
    let fresh = pair(&mut s, &mut a);
    a.subscribe("notes").unwrap();
    b.subscribe("notes").unwrap();
    a.sync(&mut s.w).unwrap();
    b.sync(&mut s.w).unwrap();
    a.write(&mut s.w, "notes", rid(1), b"a", &mut s.rng).unwrap();
    b.write(&mut s.w, "notes", rid(2), b"b", &mut s.rng).unwrap();
    b.write(&mut s.w, "notes", rid(3), b"b3", &mut s.rng).unwrap();
    a.write(&mut s.w, "notes", rid(4), b"a4", &mut s.rng).unwrap();
    let Response::Items { items } = s.w.call(Request::ListSince { token: a.token().unwrap(), cursor: 0, limit: 100 })
    else {
        panic!()
    };
    let mut states = Vec::new();
    let n = items.len();
    for rot in 0..n {
        for rev in [false, true] {
            let mut order: Vec<Item> = items.iter().cycle().skip(rot).take(n).cloned().collect();
            if rev {
                order.reverse();
            }
            let mut f = fresh.clone();
            f.subscribe("notes").unwrap();
            let r = f.apply_items(&order);
            assert!(r.alerts.is_empty());
            states.push(f);
        }
    }
    assert!(states.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(states[0].get("notes", &rid(3)), Some(&b"b3"[..]));
}

// [SRV-4] [SYNC-5] [SYNC-11] [CHAIN-11] a revoked device is locked out and cannot read writes of the new epoch.
#[test]
fn revoked_device_cannot_read_new_writes() {
    let mut s = setup();
    let mut a = s.a.clone();
    let mut b = pair(&mut s, &mut a);
    a.subscribe("notes").unwrap();
    b.subscribe("notes").unwrap();
    let rot = revoke_and_rotate(a.chain(), a.device(), &b.id(), 0, [0; 32], &mut s.rng).unwrap();
    a.append_chain(&mut s.w, rot.statements.clone()).unwrap();
    a.add_umk(rot.state.epoch(), rot.umk.clone());
    a.write(&mut s.w, "notes", rid(9), b"secret after revocation", &mut s.rng).unwrap();
    // the server refuses the revoked device's session
    assert_eq!(b.sync(&mut s.w), Err(Error::SrvAuth));
    assert_eq!(b.login(&mut s.w), Err(Error::SrvAuth));
    // even a server that serves it everything: it cannot open the new epoch
    let chain = s.w.server.store_chain(&a.account());
    assert_eq!(b.apply_chain(&chain), Vec::new());
    let items = s.w.server.store_items(&a.account());
    let r = b.apply_items(&items);
    assert_eq!(r.alerts, vec![Alert::Forged { item_seq: 1, error: Error::EnvEpoch }]);
    assert_eq!(b.get("notes", &rid(9)), None);
}

// [CHAIN-16] [SYNC-11] a split rotation (a compromised device gives B another UMK than the key
// check vouches for) is an alert at B, whose state stays unchanged; A, which got the real UMK, takes it.
#[test]
fn split_rotation_is_an_alert() {
    let mut s = setup();
    let mut a = s.a.clone();
    let mut b = pair(&mut s, &mut a);
    let st = a.chain().clone();
    let account = st.account();
    let real = blindsync::keys::Umk::random(&mut s.rng);
    let other = blindsync::keys::Umk::random(&mut s.rng);
    let mut wraps = Vec::new();
    for d in st.devices().values() {
        let u = if d.x25519 == b.device().public().x25519 { &other } else { &real };
        wraps.push(blindsync::chain::epoch_wrap(&account, 1, &d.x25519, u, &mut s.rng).unwrap());
    }
    for p in [blindsync::chain::UnlockPath::Recovery, blindsync::chain::UnlockPath::Password] {
        let sealing = st.authority(p).unwrap().sealing;
        wraps.push(blindsync::chain::epoch_wrap(&account, 1, &sealing, &real, &mut s.rng).unwrap());
    }
    blindsync::chain::statement::sort_wraps(&mut wraps);
    let body = blindsync::chain::Body::RotateEpoch { epoch: 1, key_check: real.key_check(1), wraps };
    let (stmt, _) = blindsync::chain::extend(&st, body, a.device()).unwrap();
    a.append_chain(&mut s.w, vec![stmt]).unwrap();
    let before = b.chain().clone();
    let r = b.sync(&mut s.w).unwrap();
    assert_eq!(r.alerts, vec![Alert::Chain(Error::KeyCheck)]);
    assert_eq!(b.chain(), &before);
    assert!(!b.umks().contains_key(&1));
    // With the defence off (model checker only), B would silently take the other UMK.
    b.dangerous_set_defences(blindsync::danger::Defences::ALL.without(blindsync::danger::Weakening::NoKeyCheck));
    assert!(b.sync(&mut s.w).unwrap().alerts.is_empty());
    assert!(b.umks()[&1] == other);
}

// [CHAIN-17] [SRV-8] the server refuses a pending registration whose proof of possession does not verify.
#[test]
fn pending_needs_proof_of_possession() {
    let mut s = setup();
    let account = s.a.account();
    let new = DeviceKeys::generate(&mut s.rng);
    let mut p = new.pending(&account);
    p.pop[0] ^= 1;
    let r = s.w.call(Request::PostPending {
        account: account.0,
        ed25519: p.public.ed25519,
        x25519: p.public.x25519,
        pop: p.pop,
    });
    assert_eq!(r, Response::Error(Error::ChainPossession));
    let other = new.pending(&blindsync::keys::AccountId([9; 32]));
    let r = s.w.call(Request::PostPending {
        account: account.0,
        ed25519: other.public.ed25519,
        x25519: other.public.x25519,
        pop: other.pop,
    });
    assert_eq!(r, Response::Error(Error::ChainPossession));
}

fn password_login(w: &mut World, kdf_password: &[u8]) -> Result<(PasswordKdf, [u8; 32]), Error> {
    let Response::Kdf { kdf } = w.call(Request::GetKdf { email: EMAIL.to_vec() }) else { panic!() };
    let kdf = PasswordKdf::decode(&kdf).unwrap();
    let keys = kdf.derive(kdf_password).unwrap();
    match w.call(Request::LoginPassword { email: EMAIL.to_vec(), auth: *keys.auth.expose() }) {
        Response::Token { token, .. } => Ok((kdf, token)),
        Response::Error(e) => Err(e),
        r => panic!("{r:?}"),
    }
}

fn key_login(w: &mut World, account: [u8; 32], sk: &ed25519_dalek::SigningKey) -> Result<[u8; 32], Error> {
    let key = sk.verifying_key().to_bytes();
    let Response::Nonce { nonce } = w.call(Request::Challenge { account, key }) else { panic!() };
    use ed25519_dalek::Signer;
    let signature = sk.sign(&login_message(&blindsync::keys::AccountId(account), &key, &nonce)).to_bytes();
    match w.call(Request::LoginKey { account, key, nonce, signature }) {
        Response::Token { token, .. } => Ok(token),
        Response::Error(e) => Err(e),
        r => panic!("{r:?}"),
    }
}

fn enroll_with(w: &mut World, token: [u8; 32], keys: &UnlockPathKeys, rng: &mut SeededRng) -> Result<Client, Error> {
    let Response::Chain { statements } = w.call(Request::GetChain { token }) else { panic!() };
    let state = ChainState::verify(&statements).unwrap();
    let Response::Wraps { recovery_wrap, password_wrap } = w.call(Request::GetWraps { token }) else { panic!() };
    let wrap = if keys.kdf_binding.is_empty() { recovery_wrap } else { password_wrap };
    let dev = DeviceKeys::generate(rng);
    let (st, next, umks) = enroll(&state, keys, &wrap, &dev)?;
    match w.call(Request::AppendChain { token, statements: vec![st] }) {
        Response::Ok => {}
        Response::Error(e) => return Err(e),
        r => panic!("{r:?}"),
    }
    let mut c = Client::new(dev, next, umks);
    c.login(w)?;
    Ok(c)
}

// [SYNC-4] [SRV-4] [CHAIN-13] enrollment by password and by recovery code.
#[test]
fn enroll_by_password_and_by_recovery() {
    let mut s = setup();
    let mut a = s.a.clone();
    a.write(&mut s.w, "notes", rid(1), b"hello", &mut s.rng).unwrap();
    let (kdf, token) = password_login(&mut s.w, s.password).unwrap();
    let pkeys = UnlockPathKeys::from_password(&kdf.derive(s.password).unwrap(), &kdf);
    let mut p = enroll_with(&mut s.w, token, &pkeys, &mut s.rng).unwrap();
    p.subscribe("notes").unwrap();
    assert!(p.sync(&mut s.w).unwrap().alerts.is_empty());
    assert_eq!(p.get("notes", &rid(1)), Some(&b"hello"[..]));

    let rkeys = UnlockPathKeys::from_recovery(&s.code.derive());
    let token = key_login(&mut s.w, a.account().0, &rkeys.authority.signing_key()).unwrap();
    let mut r = enroll_with(&mut s.w, token, &rkeys, &mut s.rng).unwrap();
    r.subscribe("notes").unwrap();
    assert!(r.sync(&mut s.w).unwrap().alerts.is_empty());
    assert_eq!(r.get("notes", &rid(1)), Some(&b"hello"[..]));
    assert!(a.sync(&mut s.w).unwrap().alerts.is_empty());
    assert_eq!(a.chain().devices().len(), 3);
}

// [SRV-4] [SRV-3] [CHAIN-14] change the password from a device, then reset it with the recovery code:
// the old password can neither log in nor enroll; login failures look alike.
#[test]
fn password_change_and_recovery_reset() {
    let mut s = setup();
    let mut a = s.a.clone();
    // change on a device: the user types the old password, whose authority signs ([CHAIN-6])
    let kdf2 = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut s.rng) };
    let pw2 = kdf2.derive(b"second password").unwrap();
    let new = UnlockPathKeys::from_password(&pw2, &kdf2);
    let old_keys = UnlockPathKeys::from_password(&s.kdf.derive(s.password).unwrap(), &s.kdf);
    let (_, old_session) = password_login(&mut s.w, s.password).unwrap();
    assert!(matches!(s.w.call(Request::GetChain { token: old_session }), Response::Chain { .. }));
    // a device may not sign it
    assert_eq!(
        replace_authority(
            a.chain(),
            a.device(),
            &new,
            &blindsync::chain::enrolled_by(a.chain(), new.path),
            a.umks(),
            &mut s.rng
        )
        .err(),
        Some(Error::ChainNotAuthorized)
    );
    let rep = replace_authority(
        a.chain(),
        &old_keys.authority,
        &new,
        &blindsync::chain::enrolled_by(a.chain(), new.path),
        a.umks(),
        &mut s.rng,
    )
    .unwrap();
    a.append_chain(&mut s.w, rep.statements.clone()).unwrap();
    a.add_umk(rep.state.epoch(), rep.umk.clone());
    // the old password's session ends as soon as its authority is replaced
    assert_eq!(s.w.call(Request::GetChain { token: old_session }), Response::Error(Error::SrvAuth));
    let umk0: &Umk = &a.umks()[&0];
    let wrap =
        blindsync::unlock::wrap::wrap_umk(&new.kek, umk0, &new.wrap_context(a.account(), 0), &mut s.rng).unwrap();
    let r = s.w.call(Request::SetPassword {
        token: a.token().unwrap(),
        kdf: kdf2.encode(),
        auth: *pw2.auth.expose(),
        password_wrap: wrap.to_vec(),
    });
    assert_eq!(r, Response::Ok);
    // the old password: login refused, exactly like an unknown email
    let Response::Kdf { kdf } = s.w.call(Request::GetKdf { email: EMAIL.to_vec() }) else { panic!() };
    assert_eq!(PasswordKdf::decode(&kdf).unwrap(), kdf2);
    let old = s
        .w
        .call(Request::LoginPassword { email: EMAIL.to_vec(), auth: *s.kdf.derive(s.password).unwrap().auth.expose() });
    let unknown = s.w.call(Request::LoginPassword { email: b"nobody@example.org".to_vec(), auth: [0; 32] });
    assert_eq!(old, Response::Error(Error::SrvAuth));
    assert_eq!(old, unknown);
    // the old password's authority cannot enroll (even with a token from elsewhere)
    let token = key_login(&mut s.w, a.account().0, &old_keys.authority.signing_key());
    assert_eq!(token, Err(Error::SrvAuth));
    // (its salt is no longer the one the chain pins, [CHAIN-18])
    assert_eq!(enroll_with(&mut s.w, a.token().unwrap(), &old_keys, &mut s.rng).err(), Some(Error::KdfNotPinned));
    // the new password enrolls
    let (kdf, token) = password_login(&mut s.w, b"second password").unwrap();
    assert_eq!(kdf, kdf2);
    enroll_with(&mut s.w, token, &new, &mut s.rng).unwrap();

    // reset with the recovery code
    let rkeys = UnlockPathKeys::from_recovery(&s.code.derive());
    let rtoken = key_login(&mut s.w, a.account().0, &rkeys.authority.signing_key()).unwrap();
    a.sync(&mut s.w).unwrap();
    let kdf3 = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut s.rng) };
    let pw3 = kdf3.derive(b"third password").unwrap();
    let third = UnlockPathKeys::from_password(&pw3, &kdf3);
    let recovered = enroll_with(&mut s.w, rtoken, &rkeys, &mut s.rng).unwrap();
    let rep = replace_authority(
        recovered.chain(),
        &rkeys.authority,
        &third,
        &blindsync::chain::enrolled_by(recovered.chain(), third.path),
        recovered.umks(),
        &mut s.rng,
    )
    .unwrap();
    assert_eq!(s.w.call(Request::AppendChain { token: rtoken, statements: rep.statements.clone() }), Response::Ok);
    let wrap = blindsync::unlock::wrap::wrap_umk(
        &third.kek,
        &recovered.umks()[&0],
        &third.wrap_context(a.account(), 0),
        &mut s.rng,
    )
    .unwrap();
    let r = s.w.call(Request::SetPassword {
        token: rtoken,
        kdf: kdf3.encode(),
        auth: *pw3.auth.expose(),
        password_wrap: wrap.to_vec(),
    });
    assert_eq!(r, Response::Ok);
    assert_eq!(password_login(&mut s.w, b"second password").err(), Some(Error::SrvAuth));
    let (_, t3) = password_login(&mut s.w, b"third password").unwrap();
    enroll_with(&mut s.w, t3, &third, &mut s.rng).unwrap();
    assert_eq!(enroll_with(&mut s.w, t3, &new, &mut s.rng).err(), Some(Error::KdfNotPinned));
}

// [SRV-3] decoys are stable per email and look like real answers.
#[test]
fn unknown_email_gets_stable_decoy() {
    let mut s = setup();
    let a1 = s.w.call(Request::GetKdf { email: b"x@example.org".to_vec() });
    let a2 = s.w.call(Request::GetKdf { email: b"x@example.org".to_vec() });
    let b = s.w.call(Request::GetKdf { email: b"y@example.org".to_vec() });
    assert_eq!(a1, a2);
    assert_ne!(a1, b);
    let Response::Kdf { kdf } = a1 else { panic!() };
    PasswordKdf::decode(&kdf).unwrap().check().unwrap();
}

// [SRV-9] [SRV-10] [SRV-11] batches, event hashes, retention, audit log.
#[test]
fn batches_retention_and_audit() {
    let mut s = setup();
    let a = s.a.clone();
    let t = a.token().unwrap();
    let id = [5; 32];
    let r = s.w.call(Request::PutBatch { token: t, batch_id: id, blob: b"opaque".to_vec(), slots: vec![vec![1; 80]] });
    assert_eq!(r, Response::Ok);
    assert_eq!(
        s.w.call(Request::PutBatch { token: t, batch_id: id, blob: vec![], slots: vec![] }),
        Response::Error(Error::SrvExists)
    );
    let Response::EventHash { hash: h1 } =
        s.w.call(Request::ReportEvent { token: t, batch_id: id, event_hash: [1; 32], signature: [2; 64] })
    else {
        panic!()
    };
    assert_eq!(h1, blindsync::server::next_event_hash(&id, &[0; 32], &[1; 32]));
    let Response::Batch { events, event_hash, slots, .. } = s.w.call(Request::GetBatch { token: t, batch_id: id })
    else {
        panic!()
    };
    assert_eq!((events, event_hash, slots.len()), (1, h1, 1));
    assert_eq!(s.w.call(Request::PutDeviceMeta { token: t, meta: vec![9; 48] }), Response::Ok);
    let Response::Audit { entries } = s.w.call(Request::GetAudit { token: t }) else { panic!() };
    assert!(entries.iter().any(|e| e.actor == blindsync::server::wire::Actor::Device(a.id().0)));
    // retention: 30 days later the batch is gone (the session expired too)
    s.w.now += 31 * 86_400_000;
    let mut a = a;
    a.login(&mut s.w).unwrap();
    let r = s.w.call(Request::GetBatch { token: a.token().unwrap(), batch_id: id });
    assert_eq!(r, Response::Error(Error::SrvNotFound));
}

/// A misbehaving server: the honest one, with a hook that rewrites responses.
struct Evil<'a, F: FnMut(&Request, Response) -> Response> {
    w: &'a mut World,
    f: F,
}

impl<F: FnMut(&Request, Response) -> Response> Transport for Evil<'_, F> {
    fn call(&mut self, r: Request) -> Response {
        let resp = self.w.call(r.clone());
        (self.f)(&r, resp)
    }
}

fn two_devices() -> (Setup, Client, Client) {
    let mut s = setup();
    let mut a = s.a.clone();
    let mut b = pair(&mut s, &mut a);
    a.subscribe("notes").unwrap();
    b.subscribe("notes").unwrap();
    a.sync(&mut s.w).unwrap();
    b.sync(&mut s.w).unwrap();
    (s, a, b)
}

fn drop_items(keep: impl Fn(&Item) -> bool) -> impl FnMut(&Request, Response) -> Response {
    move |_, r| match r {
        Response::Items { items } => Response::Items { items: items.into_iter().filter(|i| keep(i)).collect() },
        r => r,
    }
}

// [SYNC-9] [SYNC-7] [G-WITHHOLDING-DETECTED] a withheld write is reported once a later one arrives;
// the cursor stays put, so an honest sync afterwards repairs it.
#[test]
fn alert_withheld() {
    let (mut s, mut a, mut b) = two_devices();
    a.write(&mut s.w, "notes", rid(1), b"one", &mut s.rng).unwrap();
    a.write(&mut s.w, "notes", rid(2), b"two", &mut s.rng).unwrap();
    let first = s.w.server.store_items(&a.account())[0].seq;
    let r = b.sync(&mut Evil { w: &mut s.w, f: drop_items(move |i| i.seq != first) }).unwrap();
    assert_eq!(r.alerts, vec![Alert::Withheld { writer: a.id(), missing_seq: 1 }]);
    assert_eq!(b.get("notes", &rid(2)), None);
    // an honest server afterwards: everything arrives, no alert
    assert!(b.sync(&mut s.w).unwrap().alerts.is_empty());
    assert_eq!(b.get("notes", &rid(2)), Some(&b"two"[..]));
}

// [SYNC-9] a verified stub superseded by a newer verified revision is no gap; an unsuperseded stub is.
#[test]
fn superseded_stub_is_not_a_gap() {
    let (mut s, mut a, mut b) = two_devices();
    a.write(&mut s.w, "notes", rid(1), b"v1", &mut s.rng).unwrap();
    a.write(&mut s.w, "notes", rid(1), b"v2", &mut s.rng).unwrap();
    let items = s.w.server.store_items(&a.account());
    assert_eq!(items[0].kind, ItemKind::Stub);
    let r = b.sync(&mut s.w).unwrap();
    assert!(r.alerts.is_empty());
    assert_eq!(b.get("notes", &rid(1)), Some(&b"v2"[..]));
    // an unsuperseded stub (the server dropped the newest body) is withholding
    let (mut s, mut a, mut b) = two_devices();
    a.write(&mut s.w, "notes", rid(1), b"v1", &mut s.rng).unwrap();
    let mut items = s.w.server.store_items(&a.account());
    let env = blindsync::envelope::EnvelopeRef::decode(&items[0].bytes).unwrap();
    items[0] = Item { seq: items[0].seq, kind: ItemKind::Stub, bytes: env.stub().encode() };
    let r = b.apply_items(&items);
    assert_eq!(r.alerts, vec![Alert::Withheld { writer: a.id(), missing_seq: 1 }]);
}

// [SYNC-10] [G-NO-ROLLBACK] an old revision served again as current is a rollback.
#[test]
fn alert_rollback() {
    let (mut s, mut a, mut b) = two_devices();
    a.write(&mut s.w, "notes", rid(1), b"v1", &mut s.rng).unwrap();
    let old = s.w.server.store_items(&a.account())[0].clone();
    a.write(&mut s.w, "notes", rid(1), b"v2", &mut s.rng).unwrap();
    assert!(b.sync(&mut s.w).unwrap().alerts.is_empty());
    let mut once = Some(old);
    let r = b
        .sync(&mut Evil {
            w: &mut s.w,
            f: move |_, r| match r {
                Response::Items { mut items } => {
                    if let Some(o) = once.take() {
                        items.push(Item { seq: 99, ..o });
                    }
                    Response::Items { items }
                }
                r => r,
            },
        })
        .unwrap();
    assert_eq!(r.alerts, vec![Alert::Rollback { writer: a.id(), seq: 1 }]);
    assert_eq!(b.get("notes", &rid(1)), Some(&b"v2"[..]));
}

// [SYNC-11] [G-FORK-DETECTED] a served chain that differs from the verified one is a fork; a shorter one a rollback.
#[test]
fn alert_fork_and_chain_rollback() {
    let (mut s, mut a, mut b) = two_devices();
    // a forked chain: a's view gets a different statement at position 2
    let c = DeviceKeys::generate(&mut s.rng);
    let forked = approve_device(b.chain(), b.device(), &c.pending(&b.account()), b.umks(), &mut s.rng).unwrap();
    let real_c = DeviceKeys::generate(&mut s.rng);
    let real = approve_device(a.chain(), a.device(), &real_c.pending(&a.account()), a.umks(), &mut s.rng).unwrap();
    a.append_chain(&mut s.w, vec![real.statement]).unwrap();
    let fork_chain = forked.state.encoded();
    let r = a
        .sync(&mut Evil {
            w: &mut s.w,
            f: move |_, r| match r {
                Response::Chain { .. } => Response::Chain { statements: fork_chain.clone() },
                r => r,
            },
        })
        .unwrap();
    assert_eq!(r.alerts, vec![Alert::Fork]);
    // an envelope naming a chain head from the other branch is a fork too
    let mut bf = b.clone();
    bf.apply_chain(&forked.state.encoded());
    let mut quiet = World { server: s.w.server.clone(), srng: SeededRng::from_label("x"), now: s.w.now };
    bf.write(&mut quiet, "notes", rid(3), b"on the fork", &mut s.rng).unwrap();
    let items = quiet.server.store_items(&a.account());
    let r = a.apply_items(&items[items.len() - 1..]);
    assert_eq!(r.alerts, vec![Alert::Fork]);
    // a shorter chain
    let short = a.chain().encoded()[..1].to_vec();
    let r = a
        .sync(&mut Evil {
            w: &mut s.w,
            f: move |_, r| match r {
                Response::Chain { .. } => Response::Chain { statements: short.clone() },
                r => r,
            },
        })
        .unwrap();
    assert_eq!(r.alerts, vec![Alert::Chain(Error::ChainRollback)]);
    let _ = &mut b;
}

// [SYNC-12] [G-INTEGRITY] a tampered envelope, and one swapped in from another account, are refused.
#[test]
fn alert_forged_and_swapped() {
    let (mut s, mut a, mut b) = two_devices();
    a.write(&mut s.w, "notes", rid(1), b"v1", &mut s.rng).unwrap();
    let r = b.sync(&mut Evil { w: &mut s.w, f: drop_items(|_| true) }).unwrap();
    assert!(r.alerts.is_empty());
    a.write(&mut s.w, "notes", rid(2), b"v2", &mut s.rng).unwrap();
    let r = b
        .sync(&mut Evil {
            w: &mut s.w,
            f: |_, r| match r {
                Response::Items { mut items } => {
                    if let Some(last) = items.last_mut() {
                        let n = last.bytes.len();
                        last.bytes[n - 70] ^= 1; // inside the body
                    }
                    Response::Items { items }
                }
                r => r,
            },
        })
        .unwrap();
    assert_eq!(r.alerts.len(), 1);
    assert!(matches!(r.alerts[0], Alert::Forged { error: Error::EnvSignature, .. }));
    assert_eq!(b.get("notes", &rid(2)), None);

    // swapped in from another account of the same server
    let mut other = setup_other(&mut s);
    other.write(&mut s.w, "notes", rid(2), b"foreign", &mut s.rng).unwrap();
    let foreign = s.w.server.store_items(&other.account())[0].clone();
    let r = b
        .sync(&mut Evil {
            w: &mut s.w,
            f: move |_, r| match r {
                Response::Items { mut items } => {
                    if let Some(last) = items.last_mut() {
                        last.bytes = foreign.bytes.clone();
                    }
                    Response::Items { items }
                }
                r => r,
            },
        })
        .unwrap();
    assert_eq!(r.alerts.len(), 1);
    assert!(matches!(r.alerts[0], Alert::Forged { error: Error::EnvSignerUnknown, .. }));
    assert_eq!(b.get("notes", &rid(2)), None);
}

fn setup_other(s: &mut Setup) -> Client {
    let dev = DeviceKeys::generate(&mut s.rng);
    let code = RecoveryCode::generate(&mut s.rng);
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut s.rng) };
    let pw = kdf.derive(b"other password").unwrap();
    let acct = create_account(&dev, &code.derive(), &pw, &kdf, &mut s.rng).unwrap();
    let r = s.w.call(Request::Register {
        email: b"bob@example.org".to_vec(),
        kdf: kdf.encode(),
        auth: *pw.auth.expose(),
        genesis: acct.genesis.clone(),
        recovery_wrap: acct.recovery_wrap.to_vec(),
        password_wrap: acct.password_wrap.to_vec(),
    });
    assert_eq!(r, Response::Ok);
    let umks: BTreeMap<Epoch, Umk> = acct.umks();
    let mut c = Client::new(dev, acct.state.clone(), umks);
    c.login(&mut s.w).unwrap();
    c
}

// [SRV-1] [SRV-4] [SRV-12] one account's session reaches only its own data; a bogus token nothing.
#[test]
fn accounts_are_isolated() {
    let mut s = setup();
    let mut a = s.a.clone();
    a.write(&mut s.w, "notes", rid(1), b"alice only", &mut s.rng).unwrap();
    let other = setup_other(&mut s);
    let Response::Items { items } =
        s.w.call(Request::ListSince { token: other.token().unwrap(), cursor: 0, limit: 100 })
    else {
        panic!()
    };
    assert!(items.is_empty());
    let Response::Chain { statements } = s.w.call(Request::GetChain { token: other.token().unwrap() }) else {
        panic!()
    };
    assert_eq!(statements, s.w.server.store_chain(&other.account()));
    assert_eq!(s.w.call(Request::GetChain { token: [0xaa; 32] }), Response::Error(Error::SrvAuth));
    // the other account's device cannot store an envelope of this account's device
    let env = s.w.server.store_items(&a.account())[0].bytes.clone();
    let r = s.w.call(Request::PutRecord { token: other.token().unwrap(), envelope: env });
    assert_eq!(r, Response::Error(Error::SrvWriter));
    assert_eq!(s.w.server.store_items(&other.account()).len(), 0);
}

// [SYNC-6] [SRV-6] a refused write stays in the outbox and is resubmitted byte for byte: the
// device never signs two envelopes with one sequence number, even against a server that
// keeps what it refused.
#[test]
fn refused_write_is_resubmitted_unchanged() {
    let (mut s, mut a, mut b) = two_devices();
    let mut seen: Vec<Vec<u8>> = Vec::new();
    let mut refuse = 1;
    let mut evil = Evil {
        w: &mut s.w,
        f: |r: &Request, resp| match r {
            Request::PutRecord { envelope, .. } => {
                seen.push(envelope.clone());
                if refuse > 0 {
                    refuse -= 1;
                    return Response::Error(Error::SrvAuth); // the server stored it anyway
                }
                resp
            }
            _ => resp,
        },
    };
    assert_eq!(a.write(&mut evil, "notes", rid(1), b"first", &mut s.rng), Err(Error::SrvAuth));
    assert_eq!(a.pending_write(), Some(1));
    assert_eq!(a.get("notes", &rid(1)), None, "applied locally only once stored");
    a.write(&mut evil, "notes", rid(2), b"second", &mut s.rng).unwrap();
    assert_eq!(a.pending_write(), None);
    // the first write went out twice, byte for byte; the second has the next sequence number
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0], seen[1]);
    let seqs: Vec<u64> =
        seen.iter().map(|e| blindsync::envelope::EnvelopeRef::decode(e).unwrap().header.writer_seq).collect();
    assert_eq!(seqs, vec![1, 1, 2]);
    let r = b.sync(&mut s.w).unwrap();
    assert!(r.alerts.is_empty(), "{:?}", r.alerts);
    assert_eq!(b.get("notes", &rid(1)), Some(&b"first"[..]));
    assert_eq!(b.get("notes", &rid(2)), Some(&b"second"[..]));
    assert_eq!(a.records(), b.records());
}

// [SYNC-6] a write whose answer was lost is confirmed by the next sync that lists it.
#[test]
fn lost_answer_is_confirmed_by_sync() {
    let (mut s, mut a, _b) = two_devices();
    let mut lose = Evil {
        w: &mut s.w,
        f: |r: &Request, resp| {
            if matches!(r, Request::PutRecord { .. }) { Response::Error(Error::SrvAuth) } else { resp }
        },
    };
    assert!(a.write(&mut lose, "notes", rid(1), b"v1", &mut s.rng).is_err());
    assert_eq!(a.pending_write(), Some(1));
    assert!(a.sync(&mut s.w).unwrap().alerts.is_empty());
    assert_eq!(a.pending_write(), None);
    assert_eq!(a.get("notes", &rid(1)), Some(&b"v1"[..]));
    a.write(&mut s.w, "notes", rid(1), b"v2", &mut s.rng).unwrap();
    assert!(a.sync(&mut s.w).unwrap().alerts.is_empty());
    assert_eq!(a.get("notes", &rid(1)), Some(&b"v2"[..]));
}

// [SYNC-14] [G-FORK-DETECTED] two different envelopes signed with one (writer, seq) are an
// equivocation alert, and neither is applied.
#[test]
fn alert_equivocation() {
    use blindsync::envelope::{self, EnvelopeRef, RecordMeta};
    use blindsync::keys::EpochKeys;
    let (mut s, mut a, mut b) = two_devices();
    a.write(&mut s.w, "notes", rid(1), b"shown to b", &mut s.rng).unwrap();
    let items = s.w.server.store_items(&a.account());
    let h = EnvelopeRef::decode(&items[0].bytes).unwrap().header;
    // a buggy or compromised writer signs a second envelope with the same sequence number
    let umk0 = &a.umks()[&0];
    let ck = EpochKeys::derive(umk0, &a.account(), 0).collection_key("notes").unwrap();
    let meta = RecordMeta {
        suite: h.suite,
        bucket: h.bucket,
        record_id: h.record_id,
        revision: h.revision,
        writer: h.writer,
        writer_seq: h.writer_seq,
        epoch: h.epoch,
        schema: blindsync::envelope::payload::Schema::Raw,
        chain_head: h.chain_head,
        prev: h.prev,
    };
    let sk = ed25519_dalek::SigningKey::from_bytes(a.device().signing_seed().expose());
    let twin = envelope::seal(&a.account(), &meta, &ck, &sk, b"shown to c", &mut s.rng).unwrap();
    let extra = Item { seq: items[0].seq + 100, kind: ItemKind::Envelope, bytes: twin };
    let r = b
        .sync(&mut Evil {
            w: &mut s.w,
            f: move |_, r| match r {
                Response::Items { mut items } if !items.is_empty() => {
                    items.push(extra.clone());
                    Response::Items { items }
                }
                r => r,
            },
        })
        .unwrap();
    assert_eq!(r.alerts, vec![Alert::Equivocation { writer: a.id(), seq: 1 }]);
    assert_eq!(b.get("notes", &rid(1)), None);
    // the same envelope listed twice is no equivocation
    let mut twice = items.clone();
    twice.push(Item { seq: items[0].seq + 1, ..items[0].clone() });
    assert!(b.apply_items(&twice).alerts.is_empty());
    assert_eq!(b.get("notes", &rid(1)), Some(&b"shown to b"[..]));
}

// ---- issue 13: equivocation-proof writers, bounded revisions, stale epochs and heads ----

/// A device's own key and epoch-0 keys, as a compromised device holds them:
/// seals an envelope of `writer` with any header fields.
fn seal_as(
    c: &Client,
    meta: blindsync::envelope::RecordMeta,
    value: &[u8],
    epoch_umk: &Umk,
    rng: &mut SeededRng,
) -> Vec<u8> {
    let ck = blindsync::keys::EpochKeys::derive(epoch_umk, &c.account(), meta.epoch).collection_key("notes").unwrap();
    let sk = ed25519_dalek::SigningKey::from_bytes(c.device().signing_seed().expose());
    blindsync::envelope::seal(&c.account(), &meta, &ck, &sk, value, rng).unwrap()
}

fn meta_of(h: &blindsync::envelope::Header) -> blindsync::envelope::RecordMeta {
    blindsync::envelope::RecordMeta {
        suite: h.suite,
        bucket: h.bucket,
        record_id: h.record_id,
        revision: h.revision,
        writer: h.writer,
        writer_seq: h.writer_seq,
        epoch: h.epoch,
        schema: blindsync::envelope::payload::Schema::Raw,
        chain_head: h.chain_head,
        prev: h.prev,
    }
}

fn identity_of(bytes: &[u8]) -> [u8; 32] {
    let e = blindsync::envelope::EnvelopeRef::decode(bytes).unwrap();
    blindsync::primitives::sha256(&[&e.header.encode(), &e.stub().body_digest])
}

// [SYNC-15] [SYNC-6] an honest writer's envelopes form a hash chain: prev is zero at 1, then the
// identity of the stored envelope before it.
#[test]
fn writer_commits_to_its_previous_envelope() {
    let (mut s, mut a, _b) = two_devices();
    for n in 1..=3 {
        a.write(&mut s.w, "notes", rid(n), b"v", &mut s.rng).unwrap();
    }
    let items = s.w.server.store_items(&a.account());
    let mine: Vec<&Item> = items
        .iter()
        .filter(|i| blindsync::envelope::EnvelopeRef::decode(&i.bytes).is_ok_and(|e| e.header.writer == a.id()))
        .collect();
    let mut prev = [0u8; 32];
    for (k, i) in mine.iter().enumerate() {
        let h = blindsync::envelope::EnvelopeRef::decode(&i.bytes).unwrap().header;
        assert_eq!(h.writer_seq, k as u64 + 1);
        assert_eq!(h.prev, prev, "seq {}", h.writer_seq);
        assert_eq!(a.envelope_identity(&a.id(), h.writer_seq), Some(identity_of(&i.bytes)));
        prev = identity_of(&i.bytes);
    }
}

// [SYNC-15] [MODEL-5] a compromised writer and the server serve a new device a re-signed
// alternative below the writer's later envelope: the successor's prev exposes it. With the
// check off, the alternative is taken silently.
#[test]
fn alternative_below_a_later_envelope_is_an_equivocation() {
    use blindsync::danger::{Defences, Weakening};
    let (mut s, mut a, b) = two_devices();
    for n in 1..=3 {
        a.write(&mut s.w, "notes", rid(n), b"original", &mut s.rng).unwrap();
    }
    let items = s.w.server.store_items(&a.account());
    let pos = items
        .iter()
        .position(|i| blindsync::envelope::EnvelopeRef::decode(&i.bytes).is_ok_and(|e| e.header.writer_seq == 2))
        .unwrap();
    let h = blindsync::envelope::EnvelopeRef::decode(&items[pos].bytes).unwrap().header;
    let alt = seal_as(&a, meta_of(&h), b"alternative", &a.umks()[&0], &mut s.rng);
    let mut served = items.clone();
    served[pos].bytes = alt;
    for (defences, expect_alert) in [(Defences::ALL, true), (Defences::ALL.without(Weakening::NoPrevCheck), false)] {
        let mut fresh = b.clone();
        fresh.dangerous_set_defences(defences);
        let r = fresh.apply_items(&served);
        if expect_alert {
            assert_eq!(r.alerts, vec![Alert::Equivocation { writer: a.id(), seq: 2 }]);
            assert_eq!(fresh.get("notes", &rid(2)), None);
            assert_eq!(fresh.get("notes", &rid(1)), Some(&b"original"[..]));
        } else {
            assert!(r.alerts.is_empty());
            assert_eq!(fresh.get("notes", &rid(2)), Some(&b"alternative"[..]));
        }
    }
    // across two syncs: a device that took 1..2 earlier sees 3 commit to another 2
    let mut c = b.clone();
    assert!(c.apply_items(&served[..=pos]).alerts.is_empty());
    let r = c.apply_items(&served[pos + 1..]);
    assert_eq!(r.alerts, vec![Alert::Equivocation { writer: a.id(), seq: 3 }]);
}

// [SYNC-16] [MODEL-5] a writer that jumps a record to u64::MAX is refused (E_SYNC_REVISION_STEP) and
// the record stays writable; with the step check off the record sits at the ceiling for ever.
#[test]
fn revision_overflow_is_refused() {
    use blindsync::danger::{Defences, Weakening};
    let (mut s, mut a, b) = two_devices();
    a.write(&mut s.w, "notes", rid(1), b"one", &mut s.rng).unwrap();
    let items = s.w.server.store_items(&a.account());
    let h = blindsync::envelope::EnvelopeRef::decode(&items.last().unwrap().bytes).unwrap().header;
    let meta = blindsync::envelope::RecordMeta {
        revision: u64::MAX,
        writer_seq: 2,
        prev: identity_of(&items.last().unwrap().bytes),
        ..meta_of(&h)
    };
    let huge = seal_as(&a, meta, b"frozen", &a.umks()[&0], &mut s.rng);
    // the reference server refuses it ([SRV-6]); a malicious one serves it anyway
    let put = s.w.call(Request::PutRecord { token: a.token().unwrap(), envelope: huge.clone() });
    assert_eq!(put, Response::Error(Error::SyncRevisionStep));
    let mut served = s.w.server.store_items(&a.account());
    served.push(Item { seq: served.last().unwrap().seq + 1, kind: ItemKind::Envelope, bytes: huge });
    for (defences, refused) in [(Defences::ALL, true), (Defences::ALL.without(Weakening::NoRevisionStep), false)] {
        let mut c = b.clone();
        c.dangerous_set_defences(defences);
        let r = c.apply_items(&served);
        let revision = c.records().get(&("notes".to_owned(), rid(1))).map(|r| r.revision);
        if refused {
            assert!(r.alerts.iter().any(|x| x.error() == Error::SyncRevisionStep), "{:?}", r.alerts);
            assert_eq!(revision, Some(1));
            // and the record stays writable
            assert_eq!(c.write(&mut s.w, "notes", rid(1), b"two", &mut s.rng), Ok(2));
        } else {
            assert!(r.alerts.is_empty());
            assert_eq!(revision, Some(u64::MAX));
            // the writer saturates instead of failing, but nothing can exceed the ceiling any more
            let w = c.write(&mut s.w, "notes", rid(1), b"later", &mut s.rng);
            assert!(matches!(w, Ok(u64::MAX) | Err(Error::SrvRevision | Error::SyncRevisionStep)), "{w:?}");
        }
    }
}

/// Three devices; `a` revokes `r` (which `a` paired) and rotates to epoch 1.
fn revoke_third() -> (Setup, Client, Client, Client) {
    let (mut s, mut a, mut b) = two_devices();
    let mut r = pair(&mut s, &mut a);
    r.subscribe("notes").unwrap();
    b.sync(&mut s.w).unwrap();
    let rot = revoke_and_rotate(a.chain(), a.device(), &r.id(), 0, [0; 32], &mut s.rng).unwrap();
    a.append_chain(&mut s.w, rot.statements.clone()).unwrap();
    a.add_umk(rot.state.epoch(), rot.umk.clone());
    (s, a, b, r)
}

// [ENV-16] [MODEL-5] an envelope sealed in epoch 0 that cites the head of the revocation (where
// epoch 1 is in force) is refused: the revoked device could read it. With the check off it is taken.
#[test]
fn stale_epoch_at_a_newer_head_is_refused() {
    use blindsync::danger::{Defences, Weakening};
    let (mut s, mut a, mut b, _r) = revoke_third();
    assert!(b.sync(&mut s.w).unwrap().alerts.is_empty());
    assert_eq!(b.chain().epoch(), 1);
    // b (buggy or compromised) seals in epoch 0 at its new head
    let last = b.last_seq(&b.id());
    let meta = blindsync::envelope::RecordMeta {
        suite: blindsync::envelope::Suite::Aes256Gcm,
        bucket: blindsync::keys::EpochKeys::derive(&b.umks()[&0], &b.account(), 0)
            .routing_key()
            .bucket("notes")
            .unwrap(),
        record_id: rid(4),
        revision: 1,
        writer: b.id(),
        writer_seq: last + 1,
        epoch: 0,
        schema: blindsync::envelope::payload::Schema::Raw,
        chain_head: b.chain().head().hash,
        prev: b.envelope_identity(&b.id(), last).unwrap_or_default(),
    };
    let env = seal_as(&b, meta, b"readable by the revoked device", &b.umks()[&0], &mut s.rng);
    assert!(matches!(
        s.w.call(Request::PutRecord { token: b.token().unwrap(), envelope: env }),
        Response::Stored { .. }
    ));
    a.sync(&mut s.w).unwrap();
    for (defences, refused) in [(Defences::ALL, true), (Defences::ALL.without(Weakening::NoStaleEpochCheck), false)] {
        let mut c = a.clone();
        c.dangerous_set_defences(defences);
        let items = s.w.server.store_items(&a.account());
        let r = c.apply_items(&items);
        if refused {
            assert!(r.alerts.iter().any(|x| x.error() == Error::EnvStaleEpoch), "{:?}", r.alerts);
            assert_eq!(c.get("notes", &rid(4)), None);
        } else {
            assert!(r.alerts.is_empty(), "{:?}", r.alerts);
            assert_eq!(c.get("notes", &rid(4)), Some(&b"readable by the revoked device"[..]));
        }
    }
}

// [SYNC-17] [MODEL-5] freeze-view: b's view stops before the revocation (a frozen server, or b did not
// sync), and b keeps writing in epoch 0. Every device that held the revocation before b's write was
// listed alerts (the data is applied: it is authentic), once. With the alert off, nothing shows.
#[test]
fn write_on_a_head_older_than_a_revocation_is_an_alert() {
    use blindsync::danger::{Defences, Weakening};
    let (mut s, mut a, mut b, _r) = revoke_third();
    assert!(a.sync(&mut s.w).unwrap().alerts.is_empty()); // a now holds the revocation, boundary set
    let old_head = b.chain().head().hash;
    b.write(&mut s.w, "notes", rid(6), b"sealed in epoch 0", &mut s.rng).unwrap();
    let h = blindsync::envelope::EnvelopeRef::decode(&s.w.server.store_items(&a.account()).last().unwrap().bytes)
        .unwrap()
        .header;
    assert_eq!((h.epoch, h.chain_head), (0, old_head));
    for (defences, alert) in [(Defences::ALL, true), (Defences::ALL.without(Weakening::NoStaleHeadAlert), false)] {
        let mut c = a.clone();
        c.dangerous_set_defences(defences);
        let r = c.sync(&mut s.w).unwrap();
        assert_eq!(c.get("notes", &rid(6)), Some(&b"sealed in epoch 0"[..]));
        if alert {
            assert_eq!(r.alerts, vec![Alert::StaleHead { writer: b.id(), seq: h.writer_seq }]);
            // once: the next sync sees a replay and moves the cursor
            assert!(c.sync(&mut s.w).unwrap().alerts.is_empty());
        } else {
            assert!(r.alerts.is_empty());
        }
    }
    // b syncs, takes the revocation and its next write cites the new head: no alert
    assert!(b.sync(&mut s.w).unwrap().alerts.is_empty());
    b.write(&mut s.w, "notes", rid(7), b"epoch 1", &mut s.rng).unwrap();
    let mut c = a.clone();
    assert_eq!(c.sync(&mut s.w).unwrap().alerts, vec![Alert::StaleHead { writer: b.id(), seq: h.writer_seq }]);
    assert_eq!(c.get("notes", &rid(7)), Some(&b"epoch 1"[..]));
}

// [SYNC-17] [SYNC-21] one envelope listed twice in one listing counts once, as first listed: listed
// up to the boundary it is not checked, and its listing above the boundary is a replay ("the alert
// fires once: a later listing of the same item is a replay"), so no stale-head alert.
#[test]
fn item_listed_again_after_the_boundary_is_a_replay() {
    let (mut s, mut a, mut b, _r) = revoke_third();
    assert!(a.sync(&mut s.w).unwrap().alerts.is_empty()); // a now holds the revocation, boundary set
    let boundary = a.cursor();
    let old_head = b.chain().head().hash;
    b.write(&mut s.w, "notes", rid(6), b"sealed in epoch 0", &mut s.rng).unwrap();
    let item = s.w.server.store_items(&a.account()).last().unwrap().clone();
    let h = header(&item.bytes);
    assert!(item.seq > boundary);
    assert_eq!((h.epoch, h.chain_head), (0, old_head));
    // listed above the boundary only: the alert
    let mut c = a.clone();
    assert_eq!(
        c.apply_items(std::slice::from_ref(&item)).alerts,
        vec![Alert::StaleHead { writer: b.id(), seq: h.writer_seq }]
    );
    // listed at the boundary, then again above it: one item, first listed at the boundary
    let mut c = a.clone();
    let r = c.apply_items(&[Item { seq: boundary, ..item.clone() }, item.clone()]);
    assert_eq!(r.alerts, vec![]);
    assert_eq!(r.applied, 1);
    assert_eq!(c.get("notes", &rid(6)), Some(&b"sealed in epoch 0"[..]));
}

// ---- the attacks of the second review of issue 13, each of which must fail ----

fn header(bytes: &[u8]) -> blindsync::envelope::Header {
    blindsync::envelope::EnvelopeRef::decode(bytes).unwrap().header
}

// [SYNC-7] [SYNC-17] the server relabels a frozen device's stale write with a sequence number at
// or below the boundary and ends the page with a replay under the real next number: the page is
// out of order and refused whole (E_SYNC_ORDER); the cursor does not move; an honest listing then
// raises the stale-head alert.
#[test]
fn relabelled_stale_write_is_refused() {
    let (mut s, mut a, mut b) = two_devices();
    let mut r = pair(&mut s, &mut a);
    r.subscribe("notes").unwrap();
    b.sync(&mut s.w).unwrap();
    b.write(&mut s.w, "notes", rid(5), b"before", &mut s.rng).unwrap();
    assert!(a.sync(&mut s.w).unwrap().alerts.is_empty());
    let rot = revoke_and_rotate(a.chain(), a.device(), &r.id(), 0, [0; 32], &mut s.rng).unwrap();
    a.append_chain(&mut s.w, rot.statements.clone()).unwrap();
    a.add_umk(rot.state.epoch(), rot.umk.clone());
    assert!(a.sync(&mut s.w).unwrap().alerts.is_empty()); // boundary set
    let boundary = a.cursor();
    // b is frozen before the revocation and writes in epoch 0 at the old head
    b.write(&mut s.w, "notes", rid(6), b"sealed in epoch 0", &mut s.rng).unwrap();
    let items = s.w.server.store_items(&a.account());
    let stale = items.last().unwrap().clone();
    assert_eq!(header(&stale.bytes).epoch, 0);
    // control: the honest listing alerts
    let mut c = a.clone();
    assert_eq!(c.sync(&mut s.w).unwrap().alerts.len(), 1);
    // the malicious listing: the stale write under seq 1, then a replay of b's first write under
    // the real next number so that the page advances the cursor
    let replay = items.iter().find(|i| header(&i.bytes).record_id == rid(5)).unwrap().clone();
    let real = stale.seq;
    let evil = move |req: &Request, resp: Response| match (req, resp) {
        (Request::ListSince { cursor, .. }, Response::Items { .. }) if *cursor < real => {
            Response::Items { items: vec![Item { seq: 1, ..stale.clone() }, Item { seq: real, ..replay.clone() }] }
        }
        (_, r) => r,
    };
    let before = a.cursor();
    let rep = a.sync(&mut Evil { w: &mut s.w, f: evil }).unwrap();
    assert_eq!(rep.alerts, vec![Alert::Chain(Error::SyncOrder)]);
    assert_eq!(a.get("notes", &rid(6)), None);
    assert_eq!(a.cursor(), before);
    assert_eq!(before, boundary);
    // the honest listing afterwards still raises the stale-head alert
    let rep = a.sync(&mut s.w).unwrap();
    assert_eq!(rep.alerts.len(), 1, "{:?}", rep.alerts);
    assert_eq!(rep.alerts[0].error(), Error::SyncStaleHead);
}

// [SYNC-15] [CHAIN-20] a server colluding with the revoked R serves a new device R's re-signed
// item at seq 1 and withholds 2..=max_seq, so that no later item exposes the break: a revoked
// writer's items are taken only all the way to its bound, so this is E_SYNC_WITHHELD and nothing
// of R is taken; the honest listing then gives the new device R's original values.
#[test]
fn revoked_writer_tail_withheld_is_refused() {
    let (mut s, mut a, mut b) = two_devices();
    let mut r = pair(&mut s, &mut a);
    r.subscribe("notes").unwrap();
    r.sync(&mut s.w).unwrap();
    for n in 1..=3 {
        r.write(&mut s.w, "notes", rid(n), b"original", &mut s.rng).unwrap();
    }
    assert!(a.sync(&mut s.w).unwrap().alerts.is_empty());
    assert!(b.sync(&mut s.w).unwrap().alerts.is_empty());
    let last = a.envelope_identity(&r.id(), 3).unwrap();
    let rot = revoke_and_rotate(a.chain(), a.device(), &r.id(), 3, last, &mut s.rng).unwrap();
    a.append_chain(&mut s.w, rot.statements.clone()).unwrap();
    a.add_umk(rot.state.epoch(), rot.umk.clone());
    // a new device joins after the revocation
    let mut n = pair(&mut s, &mut a);
    n.subscribe("notes").unwrap();
    // R (revoked, still holding its key and epoch 0) re-signs its first write
    let items = s.w.server.store_items(&a.account());
    let r1 = items.iter().find(|i| header(&i.bytes).writer == r.id() && header(&i.bytes).writer_seq == 1).unwrap();
    let forged = seal_as(&r, meta_of(&header(&r1.bytes)), b"forged by the revoked device", &r.umks()[&0], &mut s.rng);
    let served: Vec<Item> =
        items
            .iter()
            .filter(|i| {
                blindsync::envelope::EnvelopeRef::decode(&i.bytes)
                    .map_or(true, |e| e.header.writer != r.id() || e.header.writer_seq == 1)
            })
            .map(|i| {
                if header(&i.bytes).writer == r.id() { Item { bytes: forged.clone(), ..i.clone() } } else { i.clone() }
            })
            .collect();
    let evil = move |req: &Request, resp: Response| match (req, resp) {
        (Request::ListSince { cursor: 0, .. }, Response::Items { .. }) => Response::Items { items: served.clone() },
        (Request::ListSince { .. }, Response::Items { .. }) => Response::Items { items: vec![] },
        (_, r) => r,
    };
    let rep = n.sync(&mut Evil { w: &mut s.w, f: evil }).unwrap();
    assert_eq!(rep.alerts, vec![Alert::Withheld { writer: r.id(), missing_seq: 2 }]);
    assert_eq!(n.get("notes", &rid(1)), None);
    assert_eq!(n.cursor(), 0);
    assert!(n.sync(&mut s.w).unwrap().alerts.is_empty());
    assert_eq!(n.get("notes", &rid(1)), Some(&b"original"[..]));
    assert_eq!(b.get("notes", &rid(1)), Some(&b"original"[..]));
}

// [SYNC-17] third review: one garbage item under a huge number in the revoker's first sync after
// its append must not raise the boundary (an alerting sync commits nothing): the frozen device's
// stale write is still alerted.
#[test]
fn alerting_sync_does_not_raise_the_stale_head_boundary() {
    let (mut s, mut a, mut b) = two_devices();
    let r = pair(&mut s, &mut a);
    b.sync(&mut s.w).unwrap();
    let rot = revoke_and_rotate(a.chain(), a.device(), &r.id(), 0, [0; 32], &mut s.rng).unwrap();
    a.append_chain(&mut s.w, rot.statements.clone()).unwrap();
    a.add_umk(rot.state.epoch(), rot.umk.clone());
    let evil = |req: &Request, resp: Response| match (req, resp) {
        // (only on the page asked from below it: a page that does not advance is E_SYNC_ORDER, [SYNC-7])
        (Request::ListSince { cursor, .. }, Response::Items { mut items }) if *cursor < u64::MAX - 10 => {
            items.push(Item { seq: u64::MAX - 10, kind: ItemKind::Stub, bytes: vec![0; 8] });
            Response::Items { items }
        }
        (_, r) => r,
    };
    let before = a.cursor();
    let rep = a.sync(&mut Evil { w: &mut s.w, f: evil }).unwrap();
    assert_eq!(rep.alerts.len(), 1);
    assert!(matches!(rep.alerts[0], Alert::Forged { .. }));
    assert_eq!(a.cursor(), before);
    // b is frozen before the revocation and writes in epoch 0 at the old head
    let old_head = b.chain().head().hash;
    b.write(&mut s.w, "notes", rid(6), b"sealed in epoch 0", &mut s.rng).unwrap();
    let h = header(&s.w.server.store_items(&a.account()).last().unwrap().bytes);
    assert_eq!((h.epoch, h.chain_head), (0, old_head));
    // honest server from here on: the boundary is set by the first alert-free sync, which lists
    // b's stale write at or below it; b's next frozen write is listed above it and alerted
    a.sync(&mut s.w).unwrap();
    b.write(&mut s.w, "notes", rid(7), b"also epoch 0", &mut s.rng).unwrap();
    let rep = a.sync(&mut s.w).unwrap();
    assert_eq!(rep.alerts.len(), 1, "{:?}", rep.alerts);
    assert_eq!(rep.alerts[0].error(), Error::SyncStaleHead);
}

// [SYNC-15] third review: the server drops every item of the revoked writer R from a new device's
// listing; the chain says R wrote up to 3, so the device raises E_SYNC_WITHHELD and keeps its cursor.
#[test]
fn revoked_writer_items_withheld_are_an_alert() {
    let (mut s, mut a, mut b) = two_devices();
    let mut r = pair(&mut s, &mut a);
    r.subscribe("notes").unwrap();
    r.sync(&mut s.w).unwrap();
    for n in 1..=3 {
        r.write(&mut s.w, "notes", rid(n), b"original", &mut s.rng).unwrap();
    }
    assert!(a.sync(&mut s.w).unwrap().alerts.is_empty());
    assert!(b.sync(&mut s.w).unwrap().alerts.is_empty());
    let last = a.envelope_identity(&r.id(), 3).unwrap();
    let rot = revoke_and_rotate(a.chain(), a.device(), &r.id(), 3, last, &mut s.rng).unwrap();
    a.append_chain(&mut s.w, rot.statements.clone()).unwrap();
    a.add_umk(rot.state.epoch(), rot.umk.clone());
    let mut n = pair(&mut s, &mut a);
    n.subscribe("notes").unwrap();
    a.write(&mut s.w, "notes", rid(20), b"life goes on", &mut s.rng).unwrap();
    let rid_ = r.id();
    let keep =
        move |i: &Item| blindsync::envelope::EnvelopeRef::decode(&i.bytes).map_or(true, |e| e.header.writer != rid_);
    let before = n.cursor();
    let rep = n.sync(&mut Evil { w: &mut s.w, f: drop_items(keep) }).unwrap();
    assert_eq!(rep.alerts, vec![Alert::Withheld { writer: r.id(), missing_seq: 1 }]);
    assert_eq!(n.cursor(), before);
    // an honest listing then gives N R's writes
    assert!(n.sync(&mut s.w).unwrap().alerts.is_empty());
    assert_eq!(n.get("notes", &rid(1)), Some(&b"original"[..]));
    assert_eq!(b.get("notes", &rid(1)), Some(&b"original"[..]));
}

// [SYNC-15] third review: R writes seq 4 after the revoker last synced, then is revoked with
// max_seq 3: the revoker is alerted once, then its cursor moves on (b, which took R#4 before the
// revocation, keeps it: the stated window).
#[test]
fn write_above_bound_is_alerted_once() {
    let (mut s, mut a, mut b) = two_devices();
    let mut r = pair(&mut s, &mut a);
    r.subscribe("notes").unwrap();
    r.sync(&mut s.w).unwrap();
    b.sync(&mut s.w).unwrap();
    for n in 1..=3 {
        r.write(&mut s.w, "notes", rid(n), b"original", &mut s.rng).unwrap();
    }
    assert!(a.sync(&mut s.w).unwrap().alerts.is_empty());
    r.write(&mut s.w, "notes", rid(9), b"raced", &mut s.rng).unwrap();
    assert!(b.sync(&mut s.w).unwrap().alerts.is_empty());
    assert_eq!(b.get("notes", &rid(9)), Some(&b"raced"[..]));
    let last = a.envelope_identity(&r.id(), 3).unwrap();
    let rot = revoke_and_rotate(a.chain(), a.device(), &r.id(), 3, last, &mut s.rng).unwrap();
    a.append_chain(&mut s.w, rot.statements.clone()).unwrap();
    a.add_umk(rot.state.epoch(), rot.umk.clone());
    let rep = a.sync(&mut s.w).unwrap();
    assert!(
        rep.alerts.iter().any(|x| matches!(x, Alert::Forged { error: Error::EnvWriterRevoked, .. })),
        "{:?}",
        rep.alerts
    );
    let stuck = a.cursor();
    assert!(a.sync(&mut s.w).unwrap().alerts.is_empty());
    a.write(&mut s.w, "notes", rid(10), b"later", &mut s.rng).unwrap();
    assert!(a.sync(&mut s.w).unwrap().alerts.is_empty());
    assert!(a.cursor() > stuck, "the cursor moves on");
    assert_eq!(b.get("notes", &rid(9)), Some(&b"raced"[..]));
    assert_eq!(a.get("notes", &rid(9)), None);
}

// --- The server's own rules, driven through requests alone (no client) ---

fn bare_world(label: &str) -> World {
    World {
        server: Server::new(MemoryStorage::default(), ServerConfig::new([7; 32])),
        srng: SeededRng::from_label(label),
        now: 1_000,
    }
}

struct Registration {
    dev: DeviceKeys,
    kdf: PasswordKdf,
    auth: [u8; 32],
    genesis: Vec<u8>,
    account: [u8; 32],
}

fn registration(rng: &mut SeededRng) -> Registration {
    let dev = DeviceKeys::generate(rng);
    let code = RecoveryCode::generate(rng);
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(rng) };
    let pw = kdf.derive(b"a password").unwrap();
    let acct = create_account(&dev, &code.derive(), &pw, &kdf, rng).unwrap();
    Registration { auth: *pw.auth.expose(), genesis: acct.genesis.clone(), account: acct.state.account().0, dev, kdf }
}

fn register(email: &[u8], kdf: Vec<u8>, r: &Registration, wraps: &[u8]) -> Request {
    Request::Register {
        email: email.to_vec(),
        kdf,
        auth: r.auth,
        genesis: r.genesis.clone(),
        recovery_wrap: wraps.to_vec(),
        password_wrap: wraps.to_vec(),
    }
}

// [SRV-19] Register's checks in order: kdf decoding, kdf bounds, genesis, pinned kdf, and only
// the wraps' 72-byte length, and only then whether the email or account exists.
#[test]
fn register_checks_in_order() {
    let mut w = bare_world("srv-19");
    let mut rng = SeededRng::from_label("srv-19/accounts");
    let (a, b) = (registration(&mut rng), registration(&mut rng));
    let err = |w: &mut World, req| match w.call(req) {
        Response::Error(e) => e,
        r => panic!("{r:?}"),
    };
    assert_eq!(w.call(register(b"a", a.kdf.encode(), &a, &[5; 72])), Response::Ok);
    // every request below repeats the taken email "a"
    assert_eq!(err(&mut w, register(b"a", b.kdf.encode()[..31].to_vec(), &b, &[5; 72])), Error::DecodeTruncated);
    let weak = PasswordKdf { params: KdfParams { m_kib: 1024, ..KdfParams::FLOOR }, salt: b.kdf.salt };
    assert_eq!(err(&mut w, register(b"a", weak.encode(), &b, &[5; 72])), Error::KdfParamsTooWeak);
    let garbage = Registration { genesis: vec![0; 3], ..registration(&mut rng) };
    let bad_genesis = err(&mut w, register(b"a", garbage.kdf.encode(), &garbage, &[5; 72]));
    assert_ne!(bad_genesis, Error::SrvExists);
    assert_eq!(err(&mut w, register(b"fresh", garbage.kdf.encode(), &garbage, &[5; 72])), bad_genesis);
    assert_eq!(err(&mut w, register(b"a", a.kdf.encode(), &b, &[5; 71])), Error::KdfNotPinned);
    assert_eq!(err(&mut w, register(b"a", b.kdf.encode(), &b, &[5; 71])), Error::WrapLength);
    assert_eq!(err(&mut w, register(b"a", b.kdf.encode(), &b, &[])), Error::WrapLength);
    assert_eq!(err(&mut w, register(b"a", b.kdf.encode(), &b, &[5; 72])), Error::SrvExists);
    // the account id (the genesis) is taken too, under another email
    assert_eq!(err(&mut w, register(b"b", a.kdf.encode(), &a, &[5; 72])), Error::SrvExists);
    assert_eq!(w.call(register(b"b", b.kdf.encode(), &b, &[5; 72])), Response::Ok);
}

fn put(w: &mut World, token: [u8; 32], r: &Registration, bucket: u8, record: u8, revision: u64, seq: u64) -> Response {
    let meta = blindsync::envelope::RecordMeta {
        suite: blindsync::envelope::Suite::Aes256Gcm,
        bucket: blindsync::keys::Bucket([bucket; 32]),
        record_id: RecordId([record; 16]),
        revision,
        writer: r.dev.id(),
        writer_seq: seq,
        epoch: 0,
        schema: blindsync::envelope::payload::Schema::Raw,
        chain_head: [0; 32],
        prev: [0; 32],
    };
    let sk = ed25519_dalek::SigningKey::from_bytes(r.dev.signing_seed().expose());
    let ck = blindsync::keys::CollectionKey::from_bytes([3; 32]);
    let mut rng = SeededRng::from_label(&format!("put/{bucket}/{record}/{revision}"));
    let env =
        blindsync::envelope::seal(&blindsync::keys::AccountId(r.account), &meta, &ck, &sk, b"v", &mut rng).unwrap();
    w.call(Request::PutRecord { token, envelope: env })
}

// [SRV-16] [SRV-17] [SRV-18] [SRV-20] sequence numbers per account from 1, gap-free, kept in
// place by a superseded envelope; records are (bucket, record_id); the audited requests; a
// token's lifetime is fixed at issue.
#[test]
fn sequence_numbers_records_audit_and_tokens() {
    let mut w = bare_world("srv-16");
    let a = registration(&mut SeededRng::from_label("srv-16/account"));
    assert_eq!(w.call(register(b"a", a.kdf.encode(), &a, &[5; 72])), Response::Ok);
    let sk = ed25519_dalek::SigningKey::from_bytes(a.dev.signing_seed().expose());
    let key = sk.verifying_key().to_bytes();
    let Response::Nonce { nonce } = w.call(Request::Challenge { account: a.account, key }) else { panic!() };
    use ed25519_dalek::Signer;
    let signature = sk.sign(&login_message(&blindsync::keys::AccountId(a.account), &key, &nonce)).to_bytes();
    let Response::Token { token: t, expires_ms } =
        w.call(Request::LoginKey { account: a.account, key, nonce, signature })
    else {
        panic!()
    };
    assert_eq!(expires_ms, w.now + 3_600_000);
    let stored = |s: u64| Response::Stored { seq: s };
    assert_eq!(put(&mut w, t, &a, 1, 1, 1, 1), stored(1));
    assert_eq!(put(&mut w, t, &a, 1, 2, 1, 2), stored(2));
    assert_eq!(put(&mut w, t, &a, 1, 1, 1, 1), stored(1)); // a resubmission consumes no number
    assert_eq!(put(&mut w, t, &a, 1, 1, 2, 3), stored(3)); // supersedes item 1, which stays at 1
    assert_eq!(put(&mut w, t, &a, 2, 1, 1, 4), stored(4)); // same record id, another bucket: a new record
    let list = |w: &mut World, cursor, limit| match w.call(Request::ListSince { token: t, cursor, limit }) {
        Response::Items { items } => items.iter().map(|i| (i.seq, i.kind)).collect::<Vec<_>>(),
        r => panic!("{r:?}"),
    };
    use ItemKind::{Envelope, Stub};
    assert_eq!(list(&mut w, 0, 10), vec![(1, Stub), (2, Envelope), (3, Envelope), (4, Envelope)]);
    assert_eq!(list(&mut w, 2, 10), vec![(3, Envelope), (4, Envelope)]);
    assert_eq!(list(&mut w, 0, 0), vec![]);
    assert_eq!(w.call(Request::PutDeviceMeta { token: t, meta: vec![1; 8] }), Response::Ok);
    let Response::Audit { entries } = w.call(Request::GetAudit { token: t }) else { panic!() };
    let actions: Vec<u8> = entries.iter().map(|e| e.action as u8).collect();
    assert_eq!(actions, vec![1, 2, 4, 4, 4, 4], "register, login, four stored records; nothing else");
    // the token is valid while now < expires_ms, however much it is used
    w.now = expires_ms - 2;
    assert!(matches!(w.call(Request::GetChain { token: t }), Response::Chain { .. }));
    assert_eq!(w.call(Request::GetChain { token: t }), Response::Error(Error::SrvAuth));
}

// [SYNC-18] [SYNC-19] [SYNC-20] response decoding: the Error code field, the reported count,
// the unchecked `events`.
#[test]
fn response_field_limits() {
    use blindsync::encoding::Encoder;
    use blindsync::labels::SYNC_RESPONSE;
    let error = |code: &[u8]| Response::decode(&Encoder::new(SYNC_RESPONSE).u8(1).bytes(code).finish());
    assert_eq!(error(b"E_STORE_IO"), Ok(Response::Error(Error::StoreIo)));
    assert_eq!(error(b"E_NOT_A_CODE").err(), Some(Error::DecodeValue));
    assert_eq!(error(&[0xff, 0xfe]).err(), Some(Error::DecodeValue));
    assert_eq!(error(&[b'E'; 65]).err(), Some(Error::DecodeLength));
    assert_eq!(error(&[b'E'; 64]).err(), Some(Error::DecodeValue));
    let batch = |events: u64, n: u32, hashes: usize| {
        let mut b = Encoder::new(SYNC_RESPONSE).u8(9).bytes(b"blob").u32(0).fixed(&[0; 32]).u64(events).u32(n).finish();
        b.extend(std::iter::repeat_n(7u8, 32 * hashes + 64));
        Response::decode(&b)
    };
    assert_eq!(batch(0, (1 << 20) + 1, 0).err(), Some(Error::DecodeLength));
    assert_eq!(batch(0, 1 << 20, 0).err(), Some(Error::DecodeTruncated));
    let Ok(Response::Batch { events, reported, .. }) = batch(7, 1, 1) else { panic!() };
    assert_eq!((events, reported.len()), (7, 1));
}

// [SYNC-10] a replay of what was accepted changes nothing: the same listing applied twice gives
// no alert and applies nothing the second time. With the rollback defence off ([MODEL-5]) an
// older revision served again replaces the newer one, silently (what the model checker finds).
#[test]
fn replay_is_harmless_and_rollback_needs_its_defence() {
    use blindsync::danger::{Defences, Weakening};
    let (mut s, mut a, b) = two_devices();
    a.write(&mut s.w, "notes", rid(1), b"v1", &mut s.rng).unwrap();
    let old = s.w.server.store_items(&a.account())[0].clone();
    a.write(&mut s.w, "notes", rid(1), b"v2", &mut s.rng).unwrap();
    let items = s.w.server.store_items(&a.account());
    let mut twice = b.clone();
    let first = twice.apply_items(&items);
    assert!(first.alerts.is_empty());
    assert_eq!(first.applied, 1);
    let again = twice.apply_items(&items);
    assert_eq!(again, blindsync::client::SyncReport::default());
    assert_eq!(twice.get("notes", &rid(1)), Some(&b"v2"[..]));
    // the old envelope served again: an alert with every defence, taken without the rollback one
    let replayed = vec![Item { seq: 99, ..old }];
    for (defences, alerts, value) in [
        (Defences::ALL, vec![Alert::Rollback { writer: a.id(), seq: 1 }], &b"v2"[..]),
        (Defences::ALL.without(Weakening::NoRollbackCheck), vec![], &b"v1"[..]),
    ] {
        let mut c = twice.clone();
        c.dangerous_set_defences(defences);
        let r = c.apply_items(&replayed);
        assert_eq!(r.alerts, alerts, "{defences:?}");
        assert_eq!(c.get("notes", &rid(1)), Some(value), "{defences:?}");
    }
}

// [SYNC-9] a gap is withheld data; without the gap check ([MODEL-5]) the later write is taken.
#[test]
fn gap_needs_its_defence() {
    use blindsync::danger::{Defences, Weakening};
    let (mut s, mut a, b) = two_devices();
    a.write(&mut s.w, "notes", rid(1), b"one", &mut s.rng).unwrap();
    a.write(&mut s.w, "notes", rid(2), b"two", &mut s.rng).unwrap();
    let items = s.w.server.store_items(&a.account());
    let later: Vec<Item> = items[1..].to_vec();
    for (defences, alerts, value) in [
        (Defences::ALL, vec![Alert::Withheld { writer: a.id(), missing_seq: 1 }], None),
        (Defences::ALL.without(Weakening::NoSequenceGapCheck), vec![], Some(&b"two"[..])),
    ] {
        let mut c = b.clone();
        c.dangerous_set_defences(defences);
        let r = c.apply_items(&later);
        assert_eq!(r.alerts, alerts, "{defences:?}");
        assert_eq!(c.get("notes", &rid(2)), value, "{defences:?}");
    }
}

// [SYNC-11] [MODEL-5] each weakening lets through only its own case: with the rollback defence
// off a forked chain is still a fork alert (only a shorter chain is taken); with the fork
// defence off a forked chain of the same account is taken, but a chain of another account never.
#[test]
fn chain_weakenings_are_each_their_own() {
    use blindsync::danger::{Defences, Weakening};
    let (mut s, a, b) = two_devices();
    let c = DeviceKeys::generate(&mut s.rng);
    let forked = approve_device(b.chain(), b.device(), &c.pending(&b.account()), b.umks(), &mut s.rng).unwrap();
    let real_c = DeviceKeys::generate(&mut s.rng);
    let real = approve_device(a.chain(), a.device(), &real_c.pending(&a.account()), a.umks(), &mut s.rng).unwrap();
    let other = setup_other(&mut s).chain().encoded();
    let fork_chain = forked.state.encoded();
    let short = real.state.encoded()[..1].to_vec();
    let cases = [
        (Weakening::NoRollbackCheck, &fork_chain, Some(Alert::Fork)),
        (Weakening::NoRollbackCheck, &short, None),
        (Weakening::NoForkCheck, &fork_chain, None),
        (Weakening::NoForkCheck, &other, Some(Alert::Fork)),
    ];
    for (weakening, served, alert) in cases {
        let mut x = a.clone();
        x.apply_chain(&real.state.encoded());
        assert_eq!(x.chain(), &real.state);
        x.dangerous_set_defences(Defences::ALL.without(weakening));
        assert_eq!(x.apply_chain(served), alert.into_iter().collect::<Vec<_>>(), "{weakening:?}");
        let want: Vec<Vec<u8>> = if alert.is_some() { real.state.encoded() } else { served.clone() };
        assert_eq!(x.chain().encoded(), want, "{weakening:?}");
    }
}

// [SYNC-15] the revoked writer's completeness rule applies when the listing holds an item of it
// ABOVE the accepted sequence number: a replay of the last accepted one alone is no alert (the
// listing-to-the-end rule of finish_sync is another check), the missing tail is.
#[test]
fn revoked_writer_replay_alone_is_no_incomplete_run() {
    let (mut s, mut a, mut b) = two_devices();
    let mut r = pair(&mut s, &mut a);
    r.subscribe("notes").unwrap();
    r.sync(&mut s.w).unwrap();
    r.write(&mut s.w, "notes", rid(1), b"one", &mut s.rng).unwrap();
    r.write(&mut s.w, "notes", rid(2), b"two", &mut s.rng).unwrap();
    assert!(b.sync(&mut s.w).unwrap().alerts.is_empty());
    r.write(&mut s.w, "notes", rid(3), b"three", &mut s.rng).unwrap();
    assert!(a.sync(&mut s.w).unwrap().alerts.is_empty());
    let last = a.envelope_identity(&r.id(), 3).unwrap();
    let rot = revoke_and_rotate(a.chain(), a.device(), &r.id(), 3, last, &mut s.rng).unwrap();
    assert_eq!(b.apply_chain(&rot.state.encoded()), Vec::new());
    let items = s.w.server.store_items(&a.account());
    let of_r = |seq: u64| {
        items
            .iter()
            .find(|i| {
                blindsync::envelope::EnvelopeRef::decode(&i.bytes)
                    .is_ok_and(|e| e.header.writer == r.id() && e.header.writer_seq == seq)
            })
            .unwrap()
            .clone()
    };
    let mut c = b.clone();
    assert_eq!(c.apply_items(&[of_r(2)]).alerts, vec![]);
    let mut c = b.clone();
    assert_eq!(c.apply_items(&[of_r(2), of_r(3)]).alerts, vec![]);
    assert_eq!(c.get("notes", &rid(3)), Some(&b"three"[..]));
}

// [SYNC-16] [SYNC-8] the revision step's base includes records of collections the device does not
// read: their greatest (revision, writer) is kept, so a step of exactly 2^16 over it passes.
#[test]
fn revision_base_is_kept_for_collections_not_read() {
    let (mut s, mut a, _b) = two_devices();
    let mut c = pair(&mut s, &mut a); // never subscribes to "notes"
    a.write(&mut s.w, "notes", rid(1), b"one", &mut s.rng).unwrap();
    assert!(c.sync(&mut s.w).unwrap().alerts.is_empty());
    let items = s.w.server.store_items(&a.account());
    let first = items.last().unwrap().clone();
    let h = blindsync::envelope::EnvelopeRef::decode(&first.bytes).unwrap().header;
    assert_eq!(h.revision, 1);
    let meta = blindsync::envelope::RecordMeta {
        revision: 1 + (1 << 16),
        writer_seq: 2,
        prev: identity_of(&first.bytes),
        ..meta_of(&h)
    };
    let step = seal_as(&a, meta, b"far", &a.umks()[&0], &mut s.rng);
    let r = c.apply_items(&[Item { seq: first.seq + 1, kind: ItemKind::Envelope, bytes: step.clone() }]);
    assert_eq!(r.alerts, vec![]);
    // the base moved up to the new greatest revision: another full step over it passes, in a later sync
    let meta = blindsync::envelope::RecordMeta {
        revision: 1 + (2 << 16),
        writer_seq: 3,
        prev: identity_of(&step),
        ..meta_of(&h)
    };
    let further = seal_as(&a, meta, b"further", &a.umks()[&0], &mut s.rng);
    let r = c.apply_items(&[Item { seq: first.seq + 2, kind: ItemKind::Envelope, bytes: further }]);
    assert_eq!(r.alerts, vec![]);
}

// [SYNC-13] last writer wins on (revision, writer) strictly: a second envelope of the same writer
// with the same revision (a misbehaving writer's, at its next sequence number) does not replace
// the value.
#[test]
fn equal_revision_and_writer_does_not_replace() {
    let (mut s, mut a, b) = two_devices();
    a.write(&mut s.w, "notes", rid(1), b"one", &mut s.rng).unwrap();
    let first = s.w.server.store_items(&a.account()).last().unwrap().clone();
    let h = blindsync::envelope::EnvelopeRef::decode(&first.bytes).unwrap().header;
    let meta = blindsync::envelope::RecordMeta { writer_seq: 2, prev: identity_of(&first.bytes), ..meta_of(&h) };
    let same = seal_as(&a, meta, b"same revision", &a.umks()[&0], &mut s.rng);
    let mut c = b.clone();
    let r = c.apply_items(&[first.clone(), Item { seq: first.seq + 1, kind: ItemKind::Envelope, bytes: same }]);
    assert_eq!(r.alerts, vec![]);
    assert_eq!(r.applied, 1);
    assert_eq!(c.get("notes", &rid(1)), Some(&b"one"[..]));
}

// [SYNC-11] an item of an authorized writer at a head this device has not verified is a fork,
// also when the other branch started an epoch this chain does not have (the signature checks
// take the item's own epoch, not only this chain's epochs, else it would be E_ENV_EPOCH, forged).
#[test]
fn fork_in_a_newer_epoch_is_a_fork() {
    let (mut s, a, b) = two_devices();
    let mut bf = b.clone();
    let rot = blindsync::chain::rotate(bf.chain(), bf.device(), &mut s.rng).unwrap();
    assert_eq!(bf.apply_chain(&rot.state.encoded()), Vec::new());
    assert_eq!(bf.chain().epoch(), 1);
    let mut quiet = World { server: s.w.server.clone(), srng: SeededRng::from_label("fork-epoch"), now: s.w.now };
    bf.write(&mut quiet, "notes", rid(3), b"on the fork, epoch 1", &mut s.rng).unwrap();
    let items = quiet.server.store_items(&a.account());
    let item = items.last().unwrap().clone();
    assert_eq!(header(&item.bytes).epoch, 1);
    assert_eq!(a.chain().epoch(), 0);
    let mut c = a.clone();
    assert_eq!(c.apply_items(&[item]).alerts, vec![Alert::Fork]);
}
