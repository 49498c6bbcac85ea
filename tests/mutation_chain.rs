//! Chain-verification cases that the vectors leave open, one requirement
//! step at a time (found by cargo-mutants: README, "Mutation testing").
//! Each expected error is the one spec 8.3 names for the step, and each
//! case changes exactly one thing against a control that verifies.

use blindsync::Error;
use blindsync::chain::statement::genesis_anchor;
use blindsync::chain::{Authority, Body, ChainState, Statement, UnlockPath, UnlockPathKeys};
use blindsync::device::{DeviceKeys, DevicePublic};
use blindsync::hpke::HpkeSecretKey;
use blindsync::keys::{Kek, Umk};
use blindsync::primitives::SeededRng;
use blindsync::unlock::AuthoritySeed;
use blindsync::unlock::password::{KdfParams, PasswordKdf};

struct World {
    device: DeviceKeys,
    rec: UnlockPathKeys,
    pw: UnlockPathKeys,
    umk0: Umk,
}

fn path(rng: &mut SeededRng, path: UnlockPath) -> UnlockPathKeys {
    let kdf_binding = match path {
        UnlockPath::Recovery => Vec::new(),
        UnlockPath::Password => PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(rng) }.encode(),
    };
    UnlockPathKeys {
        path,
        authority: AuthoritySeed::random(rng),
        sealing: HpkeSecretKey::random(rng),
        kek: Kek::random(rng),
        kdf_binding,
    }
}

fn world(label: &str) -> World {
    let mut rng = SeededRng::from_label(label);
    World {
        device: DeviceKeys::generate(&mut rng),
        rec: path(&mut rng, UnlockPath::Recovery),
        pw: path(&mut rng, UnlockPath::Password),
        umk0: Umk::random(&mut rng),
    }
}

/// A genesis naming `device`, `recovery` and `password`, signed by the world's
/// device; the proofs of possession are valid for the world's own
/// authorities and zero for any other key (so a genesis that got past step 5
/// of [CHAIN-8] would fail later, with another code, or verify).
fn genesis(w: &World, device: DevicePublic, recovery: Authority, password: Authority) -> Vec<u8> {
    let kdf = w.pw.chain_kdf().expect("password kdf");
    let key_check = w.umk0.key_check(0);
    let anchor = genesis_anchor(&device, &recovery, &password, &kdf, 0, &key_check);
    let body = Body::Genesis {
        device,
        recovery,
        recovery_pop: if recovery == w.rec.public() { w.rec.possession(1, &anchor) } else { [0; 64] },
        password,
        password_kdf: kdf,
        password_pop: if password == w.pw.public() { w.pw.possession(1, &anchor) } else { [0; 64] },
        epoch: 0,
        key_check,
    };
    Statement::sign(0, [0; 32], body, &w.device).encode()
}

// [CHAIN-8] step 5: the three Ed25519 keys pairwise different, the three X25519 keys pairwise
// different, else E_CHAIN_GENESIS: each of the six pairs on its own.
#[test]
fn genesis_refuses_each_equal_key_pair_alone() {
    let w = world("mutation/chain/genesis-pairs");
    let (d, r, p) = (w.device.public(), w.rec.public(), w.pw.public());
    // the control: the world's own keys make a genesis that verifies
    assert!(ChainState::from_genesis(&genesis(&w, d, r, p)).is_ok());
    let cases: [(&str, DevicePublic, Authority, Authority); 6] = [
        ("device.ed25519 = recovery.signing", d, Authority { signing: d.ed25519, ..r }, p),
        ("device.ed25519 = password.signing", d, r, Authority { signing: d.ed25519, ..p }),
        ("recovery.signing = password.signing", d, r, Authority { signing: r.signing, ..p }),
        ("device.x25519 = recovery.sealing", d, Authority { sealing: d.x25519, ..r }, p),
        ("device.x25519 = password.sealing", d, r, Authority { sealing: d.x25519, ..p }),
        ("recovery.sealing = password.sealing", d, r, Authority { sealing: r.sealing, ..p }),
    ];
    for (what, dev, rec, pw) in cases {
        assert_eq!(ChainState::from_genesis(&genesis(&w, dev, rec, pw)), Err(Error::ChainGenesis), "{what}");
    }
}

// [CHAIN-10] the served chain may be as long as the verified one (the same chain: nothing new),
// only a shorter one is E_CHAIN_ROLLBACK.
#[test]
fn update_with_the_same_chain_is_a_no_op() {
    let w = world("mutation/chain/update-same");
    let g = genesis(&w, w.device.public(), w.rec.public(), w.pw.public());
    let mut st = ChainState::from_genesis(&g).expect("genesis");
    let before = st.clone();
    assert_eq!(st.update(std::slice::from_ref(&g)), Ok(()));
    assert_eq!(st, before);
    assert_eq!(st.update(&[]), Err(Error::ChainRollback));
    assert_eq!(st, before);
}

fn start(w: &World) -> ChainState {
    let g = blindsync::chain::genesis(&w.device, &w.rec, &w.pw, &w.umk0).expect("genesis");
    ChainState::from_genesis(&g).expect("genesis verifies")
}

fn add_by(st: &ChainState, new: &DeviceKeys, signer: &dyn blindsync::chain::ChainSigner) -> ChainState {
    let body = Body::AddDevice {
        device: new.public(),
        pop: blindsync::chain::device_possession(new, &st.account()),
        bundle_commit: blindsync::chain::NO_BUNDLE,
    };
    blindsync::chain::extend(st, body, signer).expect("add-device").1
}

// [CHAIN-14] what a path enrolled "directly or through devices it enrolled": a device approved by
// a device the password path enrolled descends from the password path, so replacing the password
// without re-confirming it is E_CHAIN_CASCADE; re-confirming both passes.
#[test]
fn replaced_path_cascades_through_devices_it_enrolled() {
    let w = world("mutation/chain/cascade-depth");
    let mut rng = SeededRng::from_label("mutation/chain/cascade-depth/rng");
    let (e, f) = (DeviceKeys::generate(&mut rng), DeviceKeys::generate(&mut rng));
    let st = start(&w);
    let st = add_by(&st, &e, &w.pw.authority); // enrolled by the password path
    let st = add_by(&st, &f, &e); // approved by that device
    assert!(st.enrolled_by_path(&e.id(), UnlockPath::Password));
    assert!(st.enrolled_by_path(&f.id(), UnlockPath::Password));
    assert!(!st.enrolled_by_path(&w.device.id(), UnlockPath::Password));
    assert!(!st.enrolled_by_path(&f.id(), UnlockPath::Recovery));
    let umks = std::collections::BTreeMap::from([(0, w.umk0.clone())]);
    let new_pw = path(&mut rng, UnlockPath::Password);
    let replace = |keep: &[blindsync::device::DeviceId], rng: &mut SeededRng| {
        blindsync::chain::replace_authority(&st, &w.rec.authority, &new_pw, keep, &umks, rng).map(|_| ())
    };
    assert_eq!(replace(&[e.id()], &mut rng), Err(Error::ChainCascade));
    assert_eq!(replace(&[e.id(), f.id()], &mut rng), Ok(()));
}

// [CHAIN-3] [CHAIN-11] the epoch in force at a head and its position: 0 at the genesis, the new
// epoch at the rotation that starts it, None for a hash the chain does not hold.
#[test]
fn epoch_at_head_reports_position_and_epoch() {
    let w = world("mutation/chain/epoch-at-head");
    let mut rng = SeededRng::from_label("mutation/chain/epoch-at-head/rng");
    let st = start(&w);
    let genesis_head = st.head().hash;
    assert_eq!(st.epoch_at_head(&genesis_head), Some((0, 0)));
    let st = blindsync::chain::rotate(&st, &w.device, &mut rng).expect("rotate").state;
    let st = add_by(&st, &DeviceKeys::generate(&mut rng), &w.device);
    let hashes: Vec<[u8; 32]> = (0..3).map(|p| st.hash_at(p).expect("held")).collect();
    assert_eq!(hashes[0], genesis_head);
    assert_eq!(st.epoch_at_head(&hashes[0]), Some((0, 0)));
    assert_eq!(st.epoch_at_head(&hashes[1]), Some((1, 1)));
    assert_eq!(st.epoch_at_head(&hashes[2]), Some((2, 1)));
    assert_eq!(st.epoch_at_head(&[0x5a; 32]), None);
}

// [CHAIN-16] a UMK is checked against the chain's key check for its epoch: the right UMK passes,
// another UMK or an epoch the chain does not have is E_KEY_CHECK.
#[test]
fn check_umk_against_the_key_check() {
    let w = world("mutation/chain/check-umk");
    let mut rng = SeededRng::from_label("mutation/chain/check-umk/rng");
    let st = start(&w);
    assert_eq!(st.check_umk(0, &w.umk0), Ok(()));
    assert_eq!(st.check_umk(0, &Umk::random(&mut rng)), Err(Error::KeyCheck));
    assert_eq!(st.check_umk(1, &w.umk0), Err(Error::KeyCheck));
}

// [CHAIN-6] the table of who may sign what, row by row, for the three roles. A genesis is never
// authorized by the table (only as the first statement, checked by [CHAIN-8] instead).
#[test]
fn authorize_follows_the_table() {
    use blindsync::chain::verify::{Role, authorize};
    let w = world("mutation/chain/authorize");
    let g = genesis(&w, w.device.public(), w.rec.public(), w.pw.public());
    let genesis_body = Statement::decode(&g).expect("decodes").body;
    let a = w.rec.public();
    let replace = |path| Body::ReplaceAuthority {
        path,
        authority: a,
        kdf: None,
        pop: [0; 64],
        reconfirm: vec![],
        epoch: 1,
        key_check: [0; 32],
        wraps: vec![],
    };
    let rows: [(&str, Body, [bool; 3]); 8] = [
        ("genesis", genesis_body, [false, false, false]),
        (
            "add device",
            Body::AddDevice { device: w.device.public(), pop: [0; 64], bundle_commit: [0; 32] },
            [true, true, true],
        ),
        (
            "revoke device",
            Body::RevokeDevice {
                revocations: vec![],
                unpin: vec![],
                reconfirm: vec![],
                epoch: 1,
                key_check: [0; 32],
                wraps: vec![],
            },
            [true, false, false],
        ),
        ("rotate epoch", Body::RotateEpoch { epoch: 1, key_check: [0; 32], wraps: vec![] }, [true, false, false]),
        ("pin partner", Body::PinPartner { key: [9; 32], label: "p".into() }, [true, false, false]),
        ("unpin partner", Body::UnpinPartner { key: [9; 32] }, [true, false, false]),
        ("replace recovery", replace(UnlockPath::Recovery), [false, true, false]),
        ("replace password", replace(UnlockPath::Password), [false, true, true]),
    ];
    let roles =
        [Role::Device(w.device.id()), Role::Authority(UnlockPath::Recovery), Role::Authority(UnlockPath::Password)];
    for (kind, body, allowed) in &rows {
        for (role, ok) in roles.iter().zip(allowed) {
            let want = if *ok { Ok(()) } else { Err(Error::ChainNotAuthorized) };
            assert_eq!(authorize(*role, body), want, "{kind} by {role:?}");
        }
    }
}
