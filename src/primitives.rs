//! Primitives (spec chapter 4, `spec/04-primitives.md`): thin, typed wrappers
//! over the RustCrypto crates. Nothing here is hand-rolled cryptography; the
//! wrappers fix parameters, enforce the spec's rules (non-empty AAD, output
//! lengths) and map every failure to a typed [`Error`].
//!
//! Randomness is always a parameter ([PRIM-7]): functions that need it take
//! `&mut R` where `R: CryptoRng`, and [`SeededRng`] gives the deterministic
//! generator the vectors and the model checker use.

use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{AeadInOut, KeyInit};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::error::{Error, Result};
use crate::secret::Secret32;

pub use rand_core::CryptoRng;

/// Length of a SHA-256 digest, an HKDF-SHA256 PRK and every 256-bit key.
pub const KEY_LEN: usize = 32;
/// XChaCha20-Poly1305 nonce length. [PRIM-4]
pub const XNONCE_LEN: usize = 24;
/// Poly1305 / GCM tag length. [PRIM-4]
pub const TAG_LEN: usize = 16;

/// SHA-256 over the concatenation of `parts`. [PRIM-1]
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// BLAKE3 (unkeyed, 32-byte output) over the concatenation of `parts`. [PRIM-11]
pub fn blake3_hash(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(p);
    }
    *h.finalize().as_bytes()
}

/// BLAKE3 in keyed mode (a PRF and MAC under a 32-byte key), over the concatenation of `parts`. [PRIM-11]
pub fn blake3_keyed(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut h = blake3::Hasher::new_keyed(key);
    for p in parts {
        h.update(p);
    }
    *h.finalize().as_bytes()
}

/// HMAC-SHA256(key, msg). [PRIM-3]
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    // a pure function of its inputs: the model checker may answer it from a cache ([MODEL-19])
    crate::memo::bytes32(crate::memo::Fn32::HmacSha256, &[key, msg], || {
        // HMAC accepts keys of any length, so this cannot fail; fall back to an
        // all-zero tag rather than panic if a future crate version disagreed.
        match <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key) {
            Ok(mut mac) => {
                mac.update(msg);
                mac.finalize().into_bytes().into()
            }
            Err(_) => [0u8; 32],
        }
    })
}

/// HKDF-SHA256 Extract (RFC 5869 section 2.2): `PRK = HMAC(salt, IKM)`. [PRIM-2]
pub fn hkdf_extract(salt: &[u8], ikm: &[u8]) -> Secret32 {
    // a pure function of its inputs: the model checker may answer it from a cache ([MODEL-19])
    let mut out = crate::memo::bytes32(crate::memo::Fn32::HkdfExtract, &[salt, ikm], || {
        let (prk, _) = Hkdf::<Sha256>::extract(Some(salt), ikm);
        let mut out = [0u8; 32];
        out.copy_from_slice(&prk);
        out
    });
    let s = Secret32::from_bytes(out);
    out.zeroize();
    s
}

/// HKDF-SHA256 Expand (RFC 5869 section 2.3) into `out` (1..=8160 bytes). [PRIM-2]
pub fn hkdf_expand(prk: &Secret32, info: &[u8], out: &mut [u8]) -> Result<()> {
    let hk = Hkdf::<Sha256>::from_prk(prk.expose()).map_err(|_| Error::KdfOutputLength)?;
    hk.expand(info, out).map_err(|_| Error::KdfOutputLength)
}

/// HKDF-SHA256 Expand to one 32-byte key. [PRIM-2]
pub fn hkdf_expand32(prk: &Secret32, info: &[u8]) -> Secret32 {
    // a pure function of its inputs: the model checker may answer it from a cache ([MODEL-19])
    let mut out = crate::memo::bytes32(crate::memo::Fn32::HkdfExpand32, &[prk.expose(), info], || {
        let mut out = [0u8; 32];
        // 32 bytes is always a valid HKDF-SHA256 output length.
        let _ = hkdf_expand(prk, info, &mut out);
        out
    });
    let s = Secret32::from_bytes(out);
    out.zeroize();
    s
}

/// Ed25519 public-key validity ([PRIM-9]): the 32 bytes decode to a curve
/// point, re-encode to the same 32 bytes (canonical), and the point is not of
/// small order. The one key check every caller uses; the caller maps a
/// failure to its own error code.
///
/// ```
/// use blindsync::primitives::ed25519_key_valid;
/// let sk = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
/// assert!(ed25519_key_valid(&sk.verifying_key().to_bytes()));
/// assert!(!ed25519_key_valid(&[0; 32])); // small order
/// ```
pub fn ed25519_key_valid(pk: &[u8; 32]) -> bool {
    // a pure function of its input: the model checker may answer it from a cache ([MODEL-19])
    crate::memo::key_valid(pk, || {
        ed25519_dalek::VerifyingKey::from_bytes(pk)
            .is_ok_and(|vk| vk.to_edwards().compress().to_bytes() == *pk && !vk.is_weak())
    })
}

/// Strict Ed25519 verification ([PRIM-9]): a valid key
/// ([`ed25519_key_valid`]), `S < L`, `R` not of small order and equal to the
/// canonical encoding of `[S]B - [k]A`. The one verification every caller
/// (statements, proofs of possession, envelopes, manifests, batches,
/// hash-chain records, logins) uses; the caller maps a failure to its own
/// error code.
///
/// ```
/// use blindsync::primitives::verify_strict;
/// use ed25519_dalek::Signer;
/// let sk = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
/// let sig = sk.sign(b"message").to_bytes();
/// assert!(verify_strict(&sk.verifying_key().to_bytes(), b"message", &sig));
/// assert!(!verify_strict(&sk.verifying_key().to_bytes(), b"other", &sig));
/// ```
pub fn verify_strict(pk: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    // a pure function of its inputs: the model checker may answer it from a cache ([MODEL-19])
    crate::memo::verify(pk, msg, sig, || {
        let Ok(vk) = ed25519_dalek::VerifyingKey::from_bytes(pk) else { return false };
        vk.to_edwards().compress().to_bytes() == *pk
            && !vk.is_weak()
            && vk.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(sig)).is_ok()
    })
}

/// Constant-time equality of two byte strings (lengths are public). [PRIM-8]
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// XChaCha20-Poly1305 seal: returns `ciphertext ‖ tag(16)`. [PRIM-4] [PRIM-6]
///
/// An empty `aad` is API misuse: every BlindSync AEAD binds a context.
pub fn xchacha_seal(key: &Secret32, nonce: &[u8; XNONCE_LEN], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    if aad.is_empty() {
        return Err(Error::EmptyAad);
    }
    let cipher = XChaCha20Poly1305::new(key.expose().into());
    let mut buf = plaintext.to_vec();
    let tag = cipher
        .encrypt_inout_detached(nonce.into(), aad, buf.as_mut_slice().into())
        .map_err(|_| Error::KdfOutputLength)?;
    buf.extend_from_slice(&tag);
    Ok(buf)
}

/// XChaCha20-Poly1305 open of `ciphertext ‖ tag(16)`. Any failure is the one
/// error `on_fail` (uniform errors, [PRIM-6]).
pub fn xchacha_open(
    key: &Secret32,
    nonce: &[u8; XNONCE_LEN],
    aad: &[u8],
    ct_and_tag: &[u8],
    on_fail: Error,
) -> Result<Vec<u8>> {
    if aad.is_empty() {
        return Err(Error::EmptyAad);
    }
    let split = ct_and_tag.len().checked_sub(TAG_LEN).ok_or(on_fail)?;
    let (ct, tag) = ct_and_tag.split_at(split);
    let tag: [u8; TAG_LEN] = tag.try_into().map_err(|_| on_fail)?;
    let cipher = XChaCha20Poly1305::new(key.expose().into());
    let mut buf = ct.to_vec();
    match cipher.decrypt_inout_detached(nonce.into(), aad, buf.as_mut_slice().into(), (&tag).into()) {
        Ok(()) => Ok(buf),
        Err(_) => {
            buf.zeroize();
            Err(on_fail)
        }
    }
}

/// Argon2id v1.3 (RFC 9106) raw 32-byte output. Parameters are NOT checked
/// against the floor here; callers go through [`crate::unlock::password`]. [PRIM-5]
pub fn argon2id_raw(password: &[u8], salt: &[u8], m_kib: u32, t: u32, p: u32) -> Result<Secret32> {
    argon2id_full(password, salt, &[], &[], m_kib, t, p)
}

/// Argon2id v1.3 with the optional secret and associated data of RFC 9106
/// (used only for the RFC's own known-answer test).
pub fn argon2id_full(
    password: &[u8],
    salt: &[u8],
    secret: &[u8],
    ad: &[u8],
    m_kib: u32,
    t: u32,
    p: u32,
) -> Result<Secret32> {
    use argon2::{Algorithm, Argon2, ParamsBuilder, Version};
    let params = ParamsBuilder::new()
        .m_cost(m_kib)
        .t_cost(t)
        .p_cost(p)
        .data(ad.try_into().map_err(|_| Error::KdfParamsTooLarge)?)
        .output_len(32)
        .build()
        .map_err(|_| Error::KdfParamsTooWeak)?;
    let a = if secret.is_empty() {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    } else {
        Argon2::new_with_secret(secret, Algorithm::Argon2id, Version::V0x13, params)
            .map_err(|_| Error::KdfParamsTooLarge)?
    };
    let mut out = [0u8; 32];
    a.hash_password_into(password, salt, &mut out).map_err(|_| Error::KdfSaltLength)?;
    let s = Secret32::from_bytes(out);
    out.zeroize();
    Ok(s)
}

/// Fills `out` from `rng`. [PRIM-7]
pub fn random_bytes<R: CryptoRng + ?Sized>(rng: &mut R, out: &mut [u8]) {
    rng.fill_bytes(out);
}

/// The deterministic generator of the vectors and the model checker:
/// ChaCha20 keyed with `SHA-256(label)` (or a raw 32-byte seed). [PRIM-7]
/// Its bytes: RFC 8439 blocks 0, 1, 2, ... under the seed with a zero nonce,
/// consumed in whole little-endian 4-byte words. [PRIM-12]
///
/// ```
/// use blindsync::primitives::SeededRng;
/// use rand_core::Rng;
/// let mut a = SeededRng::from_label("demo");
/// let mut b = SeededRng::from_label("demo");
/// assert_eq!(a.next_u64(), b.next_u64());
/// ```
pub struct SeededRng(chacha20::ChaCha20Rng);

impl SeededRng {
    /// A generator keyed with the 32-byte `seed`.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        use rand_core::SeedableRng;
        SeededRng(chacha20::ChaCha20Rng::from_seed(seed))
    }

    /// A generator keyed with `SHA-256(label)`.
    pub fn from_label(label: &str) -> Self {
        Self::from_seed(sha256(&[label.as_bytes()]))
    }
}

impl rand_core::TryRng for SeededRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> core::result::Result<u32, Self::Error> {
        self.0.try_next_u32()
    }
    fn try_next_u64(&mut self) -> core::result::Result<u64, Self::Error> {
        self.0.try_next_u64()
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> core::result::Result<(), Self::Error> {
        self.0.try_fill_bytes(dst)
    }
}

impl rand_core::TryCryptoRng for SeededRng {}

/// The operating system's generator, for the CLI and real deployments.
pub fn os_rng() -> impl CryptoRng {
    rand_core::UnwrapErr(getrandom::SysRng)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::Rng;

    // [PRIM-7] the seeded generator is deterministic and seed-separated.
    #[test]
    fn seeded_rng() {
        let (mut a, mut b, mut c) =
            (SeededRng::from_label("x"), SeededRng::from_label("x"), SeededRng::from_label("y"));
        let (x, y, z) = (a.next_u64(), b.next_u64(), c.next_u64());
        assert_eq!(x, y);
        assert_ne!(x, z);
        let mut os = os_rng();
        let mut buf = [0u8; 32];
        random_bytes(&mut os, &mut buf);
        assert_ne!(buf, [0u8; 32]);
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    // [PRIM-12] the test generator's bytes, against values it did not produce: RFC 8439 A.1
    // test vectors 1 to 3 (key 0 counters 0 and 1; key 0..01 counter 1), and a keystream under
    // SHA-256("blindsync/prim-12") computed by another ChaCha20 implementation (Python's
    // `cryptography`), drawn through fills, u32 and u64 to pin how draws consume it.
    #[test]
    fn seeded_rng_bytes() {
        let mut zero = [0u8; 128];
        SeededRng::from_seed([0; 32]).fill_bytes(&mut zero);
        let a1 = "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7\
                  da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586\
                  9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed\
                  29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f";
        assert_eq!(zero.to_vec(), unhex(&a1.replace(' ', "")));
        let mut key = [0u8; 32];
        key[31] = 1;
        let mut one = [0u8; 128];
        SeededRng::from_seed(key).fill_bytes(&mut one);
        let a3 = "3aeb5224ecf849929b9d828db1ced4dd832025e8018b8160b82284f3c949aa5a\
                  8eca00bbb4a73bdad192b5c42f73f2fd4e273644c8b36125a64addeb006c13a0";
        assert_eq!(one[64..].to_vec(), unhex(&a3.replace(' ', "")));
        let k = unhex(
            "c7c080740895cadc3605ca797bcd7ee6aaa0852a661d4568a740f19ac476231b\
             c6bc7401fe2bed2f53bf4cf8e20a97601d72b7449dc18a4f6b6d062737e8c2b3",
        );
        let mut rng = SeededRng::from_label("blindsync/prim-12");
        let (mut a, mut b, mut c, mut d) = ([0u8; 3], [0u8; 3], [0u8; 5], [0u8; 4]);
        rng.fill_bytes(&mut a); // K[0..3], the rest of the word is dropped
        rng.fill_bytes(&mut b); // K[4..7]
        let w = rng.next_u32(); // K[8..12], little-endian
        let q = rng.next_u64(); // K[12..20], little-endian
        rng.fill_bytes(&mut c); // K[20..25]
        rng.fill_bytes(&mut d); // K[28..32]
        assert_eq!((&a[..], &b[..]), (&k[0..3], &k[4..7]));
        assert_eq!(w, u32::from_le_bytes(k[8..12].try_into().unwrap()));
        assert_eq!(q, u64::from_le_bytes(k[12..20].try_into().unwrap()));
        assert_eq!((&c[..], &d[..]), (&k[20..25], &k[28..32]));
    }

    // [PRIM-6] empty AAD is refused both ways; a failed open is the caller's error.
    #[test]
    fn aead_rules() {
        let k = Secret32::from_bytes([1; 32]);
        assert_eq!(xchacha_seal(&k, &[0; 24], b"", b"x"), Err(Error::EmptyAad));
        assert_eq!(xchacha_open(&k, &[0; 24], b"", &[0; 16], Error::WrapOpen), Err(Error::EmptyAad));
        assert_eq!(xchacha_open(&k, &[0; 24], b"a", &[0; 15], Error::WrapOpen), Err(Error::WrapOpen));
        let ct = xchacha_seal(&k, &[0; 24], b"a", b"x").unwrap();
        assert_eq!(xchacha_open(&k, &[0; 24], b"a", &ct, Error::WrapOpen).unwrap(), b"x");
        assert!(ct_eq(b"ab", b"ab") && !ct_eq(b"ab", b"ac") && !ct_eq(b"ab", b"abc"));
    }
}

#[cfg(test)]
mod blake3_kat {
    // [PRIM-11] the BLAKE3 reference values for "" and "abc" (BLAKE3 specification and test file).
    #[test]
    fn known_answers() {
        let hex = |b: [u8; 32]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        assert_eq!(hex(super::blake3_hash(&[])), "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
        assert_eq!(
            hex(super::blake3_hash(&[b"a", b"bc"])),
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
        );
    }
}
