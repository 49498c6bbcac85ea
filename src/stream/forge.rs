//! What a key holder can do with AES-GCM: a second frame with the same tag
//! (spec 9.5, [STR-6]; 9.11). For test vectors, tests and the model checker only.
//!
//! GCM's tag is `GHASH_H(aad, ct) ⊕ E_K(J0)` and GHASH is linear in the
//! ciphertext blocks: `GHASH = Σ X_i · H^(m-i+1)` over GF(2^128). Whoever knows
//! the key knows `H = E_K(0^128)`, so changing ciphertext block `a` by `δ` and
//! block `b > a` by `δ · H^(b-a)` leaves the tag unchanged while the plaintext
//! of both blocks changes. The AEAD tag therefore does not bind a frame for a
//! key holder; the manifest's BLAKE3 digest does.

use aes::Aes256;
use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};

use crate::envelope::EnvelopeKey;

/// GF(2^128) multiplication in GCM's bit order (NIST SP 800-38D, Algorithm 1).
fn gf_mul(x: u128, y: u128) -> u128 {
    const R: u128 = 0xE1 << 120;
    let (mut z, mut v) = (0u128, y);
    for i in 0..128 {
        if (x >> (127 - i)) & 1 == 1 {
            z ^= v;
        }
        v = if v & 1 == 1 { (v >> 1) ^ R } else { v >> 1 };
    }
    z
}

/// Rewrites ciphertext blocks `a` and `b` (16-byte block indexes into `ct`, `a < b`) of an
/// AES-256-GCM ciphertext under `key` so that its tag stays valid: block `a` XOR `delta`,
/// block `b` XOR `delta · H^(b-a)`. Returns `false` (and changes nothing) if the blocks are
/// not both inside `ct` or `a >= b`. [STR-6]
#[doc(hidden)]
pub fn gcm_same_tag(key: &EnvelopeKey, ct: &mut [u8], a: usize, b: usize, delta: [u8; 16]) -> bool {
    if a >= b || ct.len() < (b + 1) * 16 {
        return false;
    }
    let cipher = Aes256::new(&Array::from(*key.expose()));
    let mut block = Array::from([0u8; 16]);
    cipher.encrypt_block(&mut block);
    let h = u128::from_be_bytes(block.into());
    let mut hp = 1u128 << 127; // the field's 1 in GCM bit order
    for _ in 0..(b - a) {
        hp = gf_mul(hp, h);
    }
    let d = u128::from_be_bytes(delta);
    let d2 = gf_mul(d, hp).to_be_bytes();
    for (k, x) in ct.iter_mut().skip(a * 16).take(16).enumerate() {
        *x ^= delta[k];
    }
    for (k, x) in ct.iter_mut().skip(b * 16).take(16).enumerate() {
        *x ^= d2[k];
    }
    true
}
