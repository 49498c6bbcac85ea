//! Chain verification and update (spec 8.3): arbitrary statements spliced
//! into a valid chain never panic, never change state on error, and a
//! mutated statement is always refused.

use std::sync::OnceLock;

use blindsync::chain::{ChainState, approve_device, create_account};
use blindsync::device::DeviceKeys;
use blindsync::primitives::SeededRng;
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;

use crate::Vectors;
use crate::seeds::hex_field;

/// Longest input worth trying.
pub const MAX_LEN: usize = 8192;

/// A small valid chain (genesis, add device) and its statements.
fn base() -> &'static Option<(ChainState, Vec<Vec<u8>>)> {
    static BASE: OnceLock<Option<(ChainState, Vec<Vec<u8>>)>> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut rng = SeededRng::from_label("fuzz/chain");
        let a = DeviceKeys::generate(&mut rng);
        let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut rng) };
        let pw = kdf.derive(b"pw").ok()?;
        let acct = create_account(&a, &RecoveryCode::generate(&mut rng).derive(), &pw, &kdf, &mut rng).ok()?;
        let b = DeviceKeys::generate(&mut rng);
        let ap = approve_device(&acct.state, &a, &b.pending(&acct.state.account()), &acct.umks(), &mut rng).ok()?;
        let enc = ap.state.encoded();
        Some((ap.state, enc))
    })
}

/// Runs one input.
// [CHAIN-8] [CHAIN-10] verification and update are total and atomic.
pub fn run(data: &[u8]) {
    let Some((state, chain)) = base() else { panic!("fixture chain") };
    for cut in 0..=chain.len() {
        let mut c: Vec<Vec<u8>> = chain[..cut].to_vec();
        c.push(data.to_vec());
        let _ = ChainState::verify(&c);
        let mut s = state.clone();
        if s.update(&c).is_err() {
            assert_eq!(&s, state);
        }
    }
    let mut s = state.clone();
    if s.append(data).is_err() {
        assert_eq!(&s, state);
    }
    if let (Some(&pos), Some(&val)) = (data.first(), data.get(1)) {
        let mut c = chain.clone();
        let last = c.len() - 1;
        let i = usize::from(pos) % c[last].len();
        c[last][i] ^= val | 1;
        if let Ok(mut s) = ChainState::verify(&chain[..last]) {
            assert!(s.append(&c[last]).is_err());
        }
    }
}

/// The statements of the vectors' chains.
pub fn seeds(v: &Vectors) -> Vec<Vec<u8>> {
    v.of_kind("chain_statement_decode").filter_map(|x| hex_field(x, "input", "statement")).collect()
}
