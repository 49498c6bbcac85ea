//! A new device accepting a pairing (spec 8.5, [DEV-6]) from whatever the
//! server hands it: a mutated bundle wrap, a bundle the server sealed itself
//! with UMKs of its choice (the forged-bundle attack), and a mutated chain.
//! Oracle: the device either refuses, or holds exactly the approver's UMKs
//! and the approver's chain (G-KEY-INTEGRITY); it never takes a UMK the
//! server chose.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use blindsync::chain::{ChainState, accept_pairing, approve_device, create_account};
use blindsync::device::{DeviceKeys, IdentityBundle, wrap_bundle};
use blindsync::keys::Umk;
use blindsync::primitives::SeededRng;
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;

use crate::Vectors;
use crate::input::Bytes;
use crate::seeds::hex_field;

/// Longest input worth trying.
pub const MAX_LEN: usize = 512;

struct Base {
    new: DeviceKeys,
    approver: blindsync::device::DeviceId,
    state: ChainState,
    chain: Vec<Vec<u8>>,
    wrap: Vec<u8>,
    umks: BTreeMap<u32, Umk>,
}

fn base() -> &'static Option<Base> {
    static BASE: OnceLock<Option<Base>> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut rng = SeededRng::from_label("fuzz/pairing-accept");
        let a = DeviceKeys::generate(&mut rng);
        let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut rng) };
        let pw = kdf.derive(b"pw").ok()?;
        let acct = create_account(&a, &RecoveryCode::generate(&mut rng).derive(), &pw, &kdf, &mut rng).ok()?;
        let new = DeviceKeys::generate(&mut rng);
        let ap = approve_device(&acct.state, &a, &new.pending(&acct.state.account()), &acct.umks(), &mut rng).ok()?;
        let chain = ap.state.encoded();
        Some(Base { new, approver: a.id(), state: ap.state, chain, wrap: ap.bundle_wrap, umks: acct.umks() })
    })
}

/// Runs one input.
// [DEV-5] [DEV-6] [CHAIN-16] whatever is served, the new device ends with the approver's UMKs or nothing.
pub fn run(data: &[u8]) {
    let Some(b) = base() else { return };
    let mut bytes = Bytes::new(data);
    let account = b.state.account();
    let mut wrap = b.wrap.clone();
    let mut chain = b.chain.clone();
    match bytes.u8() % 4 {
        // Flip bits of the wrap.
        0 => {
            for _ in 0..(bytes.u8() % 4) {
                let i = usize::from(bytes.u8()) % wrap.len().max(1);
                if let Some(x) = wrap.get_mut(i) {
                    *x ^= bytes.u8() | 1;
                }
            }
        }
        // The server seals its own bundle to the new device's key, UMKs from the input.
        1 => {
            let mut umks = BTreeMap::new();
            for e in 0..=(bytes.u8() % 2) {
                umks.insert(u32::from(e), Umk::from_bytes(bytes.array()));
            }
            let mut rng = SeededRng::from_seed(bytes.array());
            if let Ok(w) = wrap_bundle(&IdentityBundle { account, umks }, &b.new.public(), &mut rng) {
                wrap = w;
            }
        }
        // Flip bits of a chain statement.
        2 => {
            let s = usize::from(bytes.u8()) % chain.len();
            let st = &mut chain[s];
            let i = usize::from(bytes.u8()) << 8 | usize::from(bytes.u8());
            let n = st.len().max(1);
            if let Some(x) = st.get_mut(i % n) {
                *x ^= bytes.u8() | 1;
            }
        }
        // Truncate the wrap, or serve a shorter chain.
        _ => {
            if bytes.u8().is_multiple_of(2) {
                wrap.truncate(usize::from(bytes.u8()));
            } else {
                chain.truncate(usize::from(bytes.u8()) % chain.len());
            }
        }
    }
    if let Ok((state, umks)) = accept_pairing(&b.new, &account, &b.approver, &wrap, &chain) {
        assert_eq!(state, b.state, "accepted a chain other than the approver's");
        assert_eq!(umks.len(), b.umks.len());
        for (e, u) in &umks {
            assert!(b.umks.get(e).is_some_and(|r| r == u), "accepted a UMK the approver did not give");
        }
    }
}

/// The bundle wraps of the vectors, as raw inputs.
pub fn seeds(v: &Vectors) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> =
        v.of_kind("pairing_accept").filter_map(|x| hex_field(x, "input", "bundle_wrap")).take(8).collect();
    out.push(vec![1; 80]);
    for o in &mut out {
        o.truncate(MAX_LEN);
    }
    out
}
