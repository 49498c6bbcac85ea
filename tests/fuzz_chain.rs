//! Bolero targets: statement decoding and chain verification never panic,
//! whatever the bytes (`cargo test` runs them over random inputs; `cargo bolero`
//! or cargo-fuzz can drive them with a fuzzer).

use std::sync::OnceLock;

use blindsync::chain::{ChainState, Statement, approve_device, create_account};
use blindsync::device::{DeviceKeys, IdentityBundle, PairingPayload};
use blindsync::primitives::SeededRng;
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;

/// A small valid chain (genesis, add device) and its statements.
fn base() -> &'static (ChainState, Vec<Vec<u8>>) {
    static BASE: OnceLock<(ChainState, Vec<Vec<u8>>)> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut rng = SeededRng::from_label("fuzz/chain");
        let a = DeviceKeys::generate(&mut rng);
        let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut rng) };
        let acct =
            create_account(&a, &RecoveryCode::generate(&mut rng).derive(), &kdf.derive(b"pw").unwrap(), &kdf, &mut rng)
                .unwrap();
        let b = DeviceKeys::generate(&mut rng);
        let ap = approve_device(&acct.state, &a, &b.public(), &acct.umks(), &mut rng).unwrap();
        let enc = ap.state.encoded();
        (ap.state, enc)
    })
}

// [CHAIN-1] decoding is total; what decodes re-encodes to the same bytes.
#[test]
fn statement_decode_never_panics() {
    bolero::check!().for_each(|input: &[u8]| {
        if let Ok(s) = Statement::decode(input) {
            assert_eq!(s.encode(), input);
        }
        let _ = PairingPayload::decode(input);
        let _ = IdentityBundle::decode(input);
    });
}

// [CHAIN-8] [CHAIN-10] verification and update never panic and never change state on error.
#[test]
fn chain_verify_never_panics() {
    bolero::check!().for_each(|input: &[u8]| {
        let (state, chain) = base();
        // Splice the input in as a statement after each prefix, and as a whole chain.
        for cut in 0..=chain.len() {
            let mut c: Vec<Vec<u8>> = chain[..cut].to_vec();
            c.push(input.to_vec());
            let _ = ChainState::verify(&c);
            let mut s = state.clone();
            if s.update(&c).is_err() {
                assert_eq!(&s, state);
            }
        }
        let mut s = state.clone();
        if s.append(input).is_err() {
            assert_eq!(&s, state);
        }
        // Mutate a valid statement at the input's choice of byte.
        if let (Some(&pos), Some(&val)) = (input.first(), input.get(1)) {
            let mut c = chain.clone();
            let last = c.len() - 1;
            let stmt = &mut c[last];
            let i = usize::from(pos) % stmt.len();
            stmt[i] ^= val | 1;
            let mut s = ChainState::verify(&chain[..last]).unwrap();
            assert!(s.append(&c[last]).is_err());
        }
    });
}
