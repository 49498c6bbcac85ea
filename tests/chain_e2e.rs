//! End to end: three devices pair (QR payload and pairing code), one is
//! revoked, the epoch rotates, the revoked device is locked out of the new
//! epoch while the others read old and new epochs; enrollment with only the
//! recovery code and only the password; a password reset.

use std::collections::BTreeMap;

use blindsync::Error;
use blindsync::chain::{
    Body, ChainState, UnlockPath, UnlockPathKeys, accept_pairing, approve_device, create_account, enroll, extend,
    pairing_code_for_new_device, replace_authority, revoke_and_rotate, rotate,
};
use blindsync::device::{DeviceKeys, PairingPayload, pairing_code};
use blindsync::keys::{Epoch, EpochKeys, Umk};
use blindsync::primitives::SeededRng;
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;

fn ck(umks: &BTreeMap<Epoch, Umk>, state: &ChainState, epoch: Epoch) -> [u8; 32] {
    *EpochKeys::derive(&umks[&epoch], &state.account(), epoch).collection_key("photos").unwrap().expose()
}

// [CHAIN-6] [CHAIN-8] [CHAIN-9] [CHAIN-10] [CHAIN-11] [CHAIN-12] [CHAIN-13] [CHAIN-14]
// [DEV-3] [DEV-4] [DEV-5] [DEV-6]
#[test]
fn pair_three_revoke_rotate_lock_out() {
    let mut rng = SeededRng::from_label("e2e/chain");
    let a = DeviceKeys::generate(&mut rng);
    let code = RecoveryCode::generate(&mut rng);
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut rng) };
    let password = b"correct horse battery staple";
    let acct = create_account(&a, &code.derive(), &kdf.derive(password).unwrap(), &kdf, &mut rng).unwrap();
    let account = acct.state.account();
    let mut a_state = acct.state.clone();
    let a_umks = acct.umks();

    // B pairs by QR payload.
    let b = DeviceKeys::generate(&mut rng);
    let qr = PairingPayload(b.public()).encode();
    let scanned = PairingPayload::decode(&qr).unwrap().0;
    // The keys come from the QR code; the proof of possession from B's pending registration.
    let pending_b = b.pending(&account);
    assert_eq!(pending_b.public, scanned);
    let ap = approve_device(&a_state, &a, &pending_b, &a_umks, &mut rng).unwrap();
    a_state = ap.state.clone();
    let (mut b_state, mut b_umks) = accept_pairing(&b, &account, &a.id(), &ap.bundle_wrap, &a_state.encoded()).unwrap();
    assert_eq!(b_state.fingerprint(), a_state.fingerprint());
    assert_eq!(b_state, a_state);

    // C pairs by pairing code: keys come through the server, both screens show the code.
    let c = DeviceKeys::generate(&mut rng);
    let pending = c.pending(&account);
    let on_a = pairing_code(&account, &a.public(), &pending.public);
    // C verifies the served chain first (its fingerprint is compared with A's), then shows the code.
    let c_view = ChainState::verify(&a_state.encoded()).unwrap();
    assert_eq!(c_view.fingerprint(), a_state.fingerprint());
    let on_c = pairing_code_for_new_device(&c_view, &a.id(), &c.public()).unwrap();
    assert_eq!(on_c, pairing_code(&account, &a.public(), &c.public()));
    assert_eq!(pairing_code_for_new_device(&c_view, &c.id(), &c.public()), Err(Error::ChainSignerUnknown));
    assert_eq!(on_a, on_c);
    // A substituted key shows a different code.
    let evil = DeviceKeys::generate(&mut rng).public();
    assert_ne!(pairing_code(&account, &a.public(), &evil), on_c);
    let ap = approve_device(&a_state, &a, &pending, &a_umks, &mut rng).unwrap();
    a_state = ap.state.clone();
    let (mut c_state, c_umks) = accept_pairing(&c, &account, &a.id(), &ap.bundle_wrap, &a_state.encoded()).unwrap();
    // B cannot use C's bundle: its own add-device statement commits to another wrap.
    assert_eq!(
        accept_pairing(&b, &account, &a.id(), &ap.bundle_wrap, &a_state.encoded()).err(),
        Some(Error::DeviceBundle)
    );
    b_state.update(&a_state.encoded()).unwrap();
    assert_eq!(a_state.devices().len(), 3);
    assert_eq!(ck(&c_umks, &c_state, 0), ck(&a_umks, &a_state, 0));

    // G pairs by QR too, approved by B this time: three devices paired besides A.
    let gdev = DeviceKeys::generate(&mut rng);
    let scanned = PairingPayload::decode(&PairingPayload(gdev.public()).encode()).unwrap().0;
    assert_eq!(scanned, gdev.public());
    let ap = approve_device(&b_state, &b, &gdev.pending(&account), &b_umks, &mut rng).unwrap();
    b_state = ap.state.clone();
    let (mut g_state, mut g_umks) =
        accept_pairing(&gdev, &account, &b.id(), &ap.bundle_wrap, &b_state.encoded()).unwrap();
    a_state.update(&b_state.encoded()).unwrap();
    c_state.update(&b_state.encoded()).unwrap();
    assert_eq!(a_state.devices().len(), 4);

    // A revokes C (its writes up to sequence 41 stay valid) and rotates.
    let rot = revoke_and_rotate(&a_state, &a, &c.id(), 41, [41; 32], &mut rng).unwrap();
    assert_eq!(a_state.revoked().len(), 0);
    // One statement: the revocation and the new epoch ([CHAIN-20]).
    assert_eq!(rot.statements.len(), 1);
    let mut a_umks = a_umks;
    a_umks.insert(1, rot.umk.clone());
    a_state = rot.state;
    assert_eq!(a_state.epoch(), 1);
    assert_eq!(a_state.revoked()[&c.id()].max_seq, 41);
    assert!(a_state.may_write(&c.id(), 41) && !a_state.may_write(&c.id(), 42));
    assert!(a_state.may_write(&b.id(), u64::MAX) && !a_state.may_write(&evil.id(), 0));
    assert_eq!(a_state.device_key(&c.id()), Some(&c.public()));

    // B follows and opens epoch 1; old epoch still readable.
    b_state.update(&a_state.encoded()).unwrap();
    b_umks.extend(b_state.open_epoch_umks(b.hpke_key()).unwrap());
    assert_eq!(ck(&b_umks, &b_state, 1), ck(&a_umks, &a_state, 1));
    assert_eq!(ck(&b_umks, &b_state, 0), ck(&a_umks, &a_state, 0));

    g_state.update(&a_state.encoded()).unwrap();
    g_umks.extend(g_state.open_epoch_umks(gdev.hpke_key()).unwrap());
    assert_eq!(ck(&g_umks, &g_state, 1), ck(&a_umks, &a_state, 1));
    assert_eq!(ck(&g_umks, &g_state, 0), ck(&a_umks, &a_state, 0));

    // C sees the chain but has no wrap for epoch 1, and cannot open anyone else's.
    c_state.update(&a_state.encoded()).unwrap();
    let c_more = c_state.open_epoch_umks(c.hpke_key()).unwrap();
    assert!(!c_more.contains_key(&1));
    let Body::RevokeDevice { wraps, .. } = &c_state.statements().last().unwrap().body else { panic!() };
    for w in wraps {
        assert_ne!(w.recipient, c.public().x25519);
        assert_eq!(blindsync::chain::verify::open_epoch_wrap(&account, w, c.hpke_key()).err(), Some(Error::HpkeOpen));
    }
    // Nor can C sign anything any more.
    let evil_keys = DeviceKeys::generate(&mut rng);
    let evil_add = || Body::AddDevice {
        device: evil_keys.public(),
        pop: blindsync::chain::device_possession(&evil_keys, &account),
        bundle_commit: blindsync::chain::NO_BUNDLE,
    };
    assert_eq!(extend(&c_state, evil_add(), &c).err(), Some(Error::ChainSignerRevoked));
    let forged = blindsync::chain::next_statement(&a_state, evil_add(), &c).encode();
    assert_eq!(a_state.clone().append(&forged), Err(Error::ChainSignerRevoked));

    // Rollback and fork are refused and leave the state unchanged.
    let full = a_state.encoded();
    let before = b_state.clone();
    assert_eq!(b_state.update(&full[..full.len() - 1]), Err(Error::ChainRollback));
    let mut forked = full.clone();
    forked[3] = rotate(&ChainState::verify(&full[..3]).unwrap(), &a, &mut rng).unwrap().statements[0].clone();
    assert_eq!(b_state.update(&forked), Err(Error::ChainFork));
    assert_eq!(b_state, before);

    // D enrolls with only the recovery code: it gets epoch 0 from the chapter 5 wrap, epoch 1 from the chain.
    let d = DeviceKeys::generate(&mut rng);
    let rkeys = UnlockPathKeys::from_recovery(&RecoveryCode::parse(&code.to_text()).unwrap().derive());
    let fresh = ChainState::verify(&a_state.encoded()).unwrap();
    let (_, d_state, d_umks) = enroll(&fresh, &rkeys, &acct.recovery_wrap, &d).unwrap();
    assert!(d_state.is_active(&d.id()));
    assert_eq!(ck(&d_umks, &d_state, 1), ck(&a_umks, &a_state, 1));
    assert_eq!(ck(&d_umks, &d_state, 0), ck(&a_umks, &a_state, 0));
    a_state.update(&d_state.encoded()).unwrap();

    // E enrolls with only the password.
    let e = DeviceKeys::generate(&mut rng);
    let pkeys = UnlockPathKeys::from_password(&kdf.derive(password).unwrap(), &kdf);
    let (_, e_state, e_umks) = enroll(&a_state, &pkeys, &acct.password_wrap, &e).unwrap();
    assert_eq!(ck(&e_umks, &e_state, 1), ck(&a_umks, &a_state, 1));
    a_state = e_state;

    // Password reset with the recovery authority: the old password can no longer enroll,
    // the new one can, and it reaches every epoch through the chain.
    let kdf2 = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut rng) };
    let new_pw = UnlockPathKeys::from_password(&kdf2.derive(b"a new password").unwrap(), &kdf2);
    let rep = replace_authority(
        &a_state,
        &rkeys.authority,
        &new_pw,
        &blindsync::chain::enrolled_by(&a_state, new_pw.path),
        &a_umks,
        &mut rng,
    )
    .unwrap();
    let reset = rep.state.clone();
    let mut a_umks = a_umks;
    a_umks.insert(reset.epoch(), rep.umk.clone());
    assert_eq!(reset.epoch(), 2);
    // The old password's sealing key reaches epochs 0 and 1, not the epoch the change started.
    let old_reach = reset.open_epoch_umks(&pkeys.sealing).unwrap();
    assert_eq!(old_reach.keys().copied().collect::<Vec<_>>(), vec![1]);
    assert_eq!(reset.authority(UnlockPath::Password).unwrap().signing, new_pw.authority.public_key());
    let f = DeviceKeys::generate(&mut rng);
    // The old password's salt is no longer the pinned one; with the pin check off, the retired
    // authority is what refuses it.
    assert_eq!(enroll(&reset, &pkeys, &acct.password_wrap, &f).err(), Some(Error::KdfNotPinned));
    let no_pin = blindsync::danger::Defences::ALL.without(blindsync::danger::Weakening::UnpinnedKdf);
    assert_eq!(
        blindsync::chain::enroll_with(&reset, &pkeys, &acct.password_wrap, &f, &no_pin).err(),
        Some(Error::ChainSignerRevoked)
    );
    // The new password's chapter 5 wrap is stored at the replacement ([CHAIN-14]).
    let new_wrap = new_pw.wrap_umk0(account, &a_umks[&0], &mut rng).unwrap();
    let (_, f_state, f_umks) = enroll(&reset, &new_pw, &new_wrap, &f).unwrap();
    assert_eq!(ck(&f_umks, &f_state, 0), ck(&a_umks, &a_state, 0));
    assert_eq!(ck(&f_umks, &f_state, 1), ck(&a_umks, &a_state, 1));
    assert_eq!(ck(&f_umks, &f_state, 2), ck(&a_umks, &reset, 2));
    // A device that holds the chain unlocks with the new password; a substituted salt is refused
    // before Argon2id runs ([CHAIN-18]).
    let got = blindsync::chain::unlock_password(&reset, &kdf2.encode(), b"a new password", &new_wrap).unwrap();
    assert_eq!(got.len(), 3);
    let common = PasswordKdf { salt: [0; 16], ..kdf2 };
    assert_eq!(
        blindsync::chain::unlock_password(&reset, &common.encode(), b"a new password", &new_wrap).err(),
        Some(Error::KdfNotPinned)
    );

    // A later rotation reaches the new password path but not the revoked device.
    let rot2 = rotate(&f_state, &a, &mut rng).unwrap();
    let got = rot2.state.open_epoch_umks(&new_pw.sealing).unwrap();
    assert!(got[&3] == rot2.umk);
    assert!(!rot2.state.open_epoch_umks(c.hpke_key()).unwrap().contains_key(&3));
}
