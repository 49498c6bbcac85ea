//! Ed25519 edge cases ([PRIM-9]) that vectors, tests, fuzz targets and
//! benches share: keys and signatures that strict verification must refuse
//! (or, for a mixed-order key, accept), each built from curve constants
//! rather than from the library under test.

/// A non-canonical encoding of a point of large order: `y + p` for the
/// smallest `y` in 2..=18 that is on the curve and not of small order. [PRIM-9]
pub fn non_canonical_ed25519() -> Result<[u8; 32], String> {
    for y in 2u8..=18 {
        let mut k = [0xffu8; 32];
        k[0] = 0xed + y;
        k[31] = 0x7f;
        if let Some(p) = curve25519_dalek::edwards::CompressedEdwardsY(k).decompress()
            && !p.is_small_order()
        {
            return Ok(k);
        }
    }
    Err("no non-canonical large-order encoding".into())
}

/// The base point plus a torsion point of order 8: not of small order, not in
/// the prime-order subgroup (mixed order), canonically encoded. Accepted. [PRIM-9]
pub fn mixed_order_ed25519() -> [u8; 32] {
    (curve25519_dalek::constants::ED25519_BASEPOINT_POINT + curve25519_dalek::constants::EIGHT_TORSION[1])
        .compress()
        .to_bytes()
}

/// A torsion point of order 8 (small order, not the identity).
pub fn order8_ed25519() -> [u8; 32] {
    curve25519_dalek::constants::EIGHT_TORSION[1].compress().to_bytes()
}

/// A signature on `msg` under the key of `seed` with `R` = the identity and
/// `S = k·a mod L`: it satisfies the cofactorless equation `[S]B = R + [k]A`,
/// so only the small-order `R` rule of strict verification refuses it. [PRIM-9]
pub fn small_order_r_signature(seed: &[u8; 32], msg: &[u8]) -> [u8; 64] {
    use sha2::Digest;
    let sk = ed25519_dalek::SigningKey::from_bytes(seed);
    let mut r = [0u8; 32];
    r[0] = 1;
    let kh: [u8; 64] = sha2::Sha512::new()
        .chain_update(r)
        .chain_update(sk.verifying_key().to_bytes())
        .chain_update(msg)
        .finalize()
        .into();
    let k = curve25519_dalek::Scalar::from_bytes_mod_order_wide(&kh);
    let sc = k * sk.to_scalar();
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&r);
    sig[32..].copy_from_slice(&sc.to_bytes());
    sig
}

/// `S + L` (little-endian), the non-canonical twin of a valid `S`. [PRIM-9]
pub fn s_plus_l(sig: &[u8; 64]) -> [u8; 64] {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut out = *sig;
    let mut carry = 0u16;
    for (i, l) in L.iter().enumerate() {
        let v = u16::from(sig[32 + i]) + u16::from(*l) + carry;
        out[32 + i] = (v & 0xff) as u8;
        carry = v >> 8;
    }
    out
}

#[cfg(test)]
mod tests {
    use blindsync::primitives::{ed25519_key_valid, verify_strict};
    use ed25519_dalek::{Signer, Verifier};

    // [PRIM-9] the library's single strict verification refuses every edge case and accepts a mixed-order key.
    #[test]
    fn the_one_verify_strict_refuses_each_edge_case() {
        let seed = [9u8; 32];
        let sk = ed25519_dalek::SigningKey::from_bytes(&seed);
        let pk = sk.verifying_key().to_bytes();
        let good = sk.sign(b"m").to_bytes();
        assert!(verify_strict(&pk, b"m", &good));
        assert!(!verify_strict(&pk, b"m", &super::s_plus_l(&good)), "S + L");
        let r0 = super::small_order_r_signature(&seed, b"m");
        assert!(!verify_strict(&pk, b"m", &r0), "small-order R");
        // The same signature passes a cofactorless check that lacks the small-order R rule.
        assert!(sk.verifying_key().verify(b"m", &ed25519_dalek::Signature::from_bytes(&r0)).is_ok());
        assert!(!ed25519_key_valid(&super::order8_ed25519()), "small-order key");
        assert!(!ed25519_key_valid(&super::non_canonical_ed25519().unwrap()), "non-canonical key");
        assert!(ed25519_key_valid(&super::mixed_order_ed25519()), "mixed order is accepted");
        assert!(!verify_strict(&super::order8_ed25519(), b"m", &good));
    }
}
