//! Our single HPKE suite (spec 8.6, `spec/08-chain.md`; primitive in spec 4).
//!
//! RFC 9180 base mode with DHKEM(X25519, HKDF-SHA256) (`kem_id` 0x0020),
//! HKDF-SHA256 (`kdf_id` 0x0001) and AES-256-GCM (`aead_id` 0x0002), single
//! shot: one message per encapsulation. Every BlindSync public-key wrap goes
//! through [`seal`] and [`open`], with an `info` naming the purpose and a
//! non-empty `aad` binding the context.
//!
//! ```text
//! seal(pkR, info, aad, pt) = (enc, ct)     -- RFC 9180 SealBase, enc 32 bytes, ct = pt + 16
//! open(skR, enc, info, aad, ct) = pt       -- RFC 9180 OpenBase
//! ```
//!
//! Low-order recipient keys and encapsulated keys (all-zero X25519 output)
//! are refused with [`Error::HpkeLowOrder`] before any key schedule runs;
//! every other failure to open is the one uniform [`Error::HpkeOpen`]. [HPKE-2] [HPKE-3]
//!
//! The hpke crate keeps the key schedule private, so [`key_schedule_base`]
//! recomputes it from the shared secret by RFC 9180 section 5.1, for the
//! intermediate values of our vectors; `vectors/upstream/rfc9180_hpke.json`
//! checks that computation against the RFC's A.1 and A.2 values. [HPKE-4]
//!
//! ```
//! use blindsync::hpke::{HpkeSecretKey, open, seal};
//! use blindsync::primitives::SeededRng;
//! let mut rng = SeededRng::from_label("doc");
//! let sk = HpkeSecretKey::random(&mut rng);
//! let (enc, ct) = seal(&sk.public_key(), b"info", b"aad", b"secret", &mut rng)?;
//! assert_eq!(&open(&sk, &enc, b"info", b"aad", &ct)?[..], b"secret");
//! assert!(open(&sk, &enc, b"info", b"other aad", &ct).is_err());
//! # Ok::<(), blindsync::Error>(())
//! ```

use hpke::aead::AesGcm256;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Error, Result};
use crate::primitives::{CryptoRng, hkdf_expand, hkdf_extract};
use crate::secret::Secret32;
use crate::secret_type;

/// RFC 9180 KEM id of DHKEM(X25519, HKDF-SHA256). [HPKE-1]
pub const KEM_ID: u16 = 0x0020;
/// RFC 9180 KDF id of HKDF-SHA256. [HPKE-1]
pub const KDF_ID: u16 = 0x0001;
/// RFC 9180 AEAD id of AES-256-GCM. [HPKE-1]
pub const AEAD_ID: u16 = 0x0002;
/// Length of an encapsulated key (an X25519 public key).
pub const ENC_LEN: usize = 32;
/// Length of the AEAD tag HPKE appends.
pub const TAG_LEN: usize = 16;

secret_type!(
    /// An X25519 private key used as an HPKE recipient key (32 bytes; clamped when used). [HPKE-1]
    HpkeSecretKey,
    32
);

impl HpkeSecretKey {
    /// The X25519 public key (RFC 7748).
    pub fn public_key(&self) -> [u8; 32] {
        // a pure function of the key: the model checker may answer it from a cache ([MODEL-19])
        crate::memo::bytes32(crate::memo::Fn32::X25519Public, &[self.expose()], || {
            x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(*self.expose())).to_bytes()
        })
    }
}

/// True when X25519 with `pk` yields the all-zero output for every private
/// key: `pk` is a point of small order (or encodes one). [HPKE-3]
///
/// A clamped scalar is a multiple of the cofactor 8, so one fixed scalar
/// decides it for all.
pub fn is_low_order(pk: &[u8; 32]) -> bool {
    // a pure function of its input: the model checker may answer it from a cache ([MODEL-19])
    crate::memo::low_order(pk, || {
        let probe = x25519_dalek::StaticSecret::from([0x42u8; 32]);
        !probe.diffie_hellman(&x25519_dalek::PublicKey::from(*pk)).was_contributory()
    })
}

/// RFC 9180 SealBase for our suite. Returns `(enc, ct ‖ tag)`. [HPKE-1] [HPKE-2] [HPKE-3]
///
/// Errors: [`Error::EmptyAad`] for an empty `aad`; [`Error::HpkeLowOrder`] when
/// `pk_r` is a low-order point.
pub fn seal<R: CryptoRng + ?Sized>(
    pk_r: &[u8; 32],
    info: &[u8],
    aad: &[u8],
    pt: &[u8],
    rng: &mut R,
) -> Result<([u8; ENC_LEN], Vec<u8>)> {
    seal_suite::<AesGcm256, R>(pk_r, info, aad, pt, rng)
}

danger_api! {
/// [`seal`] over another AEAD of the same KEM and KDF: only for checking our
/// code path against the RFC 9180 A.1 and A.2 vectors. [HPKE-4]
pub fn seal_suite<A: hpke::aead::Aead, R: CryptoRng + ?Sized>(
    pk_r: &[u8; 32],
    info: &[u8],
    aad: &[u8],
    pt: &[u8],
    rng: &mut R,
) -> Result<([u8; ENC_LEN], Vec<u8>)> {
    if aad.is_empty() {
        return Err(Error::EmptyAad);
    }
    if is_low_order(pk_r) {
        return Err(Error::HpkeLowOrder);
    }
    let pk = <X25519HkdfSha256 as Kem>::PublicKey::from_bytes(pk_r).map_err(|_| Error::HpkeLowOrder)?;
    let mut rng = SizedRng(rng);
    let (enc, ct) = hpke::single_shot_seal_with_rng::<A, HkdfSha256, X25519HkdfSha256>(
        &OpModeS::Base,
        &pk,
        info,
        pt,
        aad,
        &mut rng,
    )
    .map_err(|_| Error::HpkeLowOrder)?;
    Ok((enc.to_bytes().into(), ct))
}
}

/// RFC 9180 OpenBase for our suite. [HPKE-1] [HPKE-2] [HPKE-3]
///
/// Errors: [`Error::EmptyAad`]; [`Error::HpkeLowOrder`] when `enc` is a
/// low-order point; [`Error::HpkeOpen`] for every other failure (wrong
/// length, wrong key, wrong `info` or `aad`, tampered ciphertext).
pub fn open(sk_r: &HpkeSecretKey, enc: &[u8], info: &[u8], aad: &[u8], ct: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    // a pure function of its inputs: the model checker may answer it from a cache ([MODEL-19])
    crate::memo::hpke_open([sk_r.expose(), enc, info, aad, ct], || open_suite::<AesGcm256>(sk_r, enc, info, aad, ct))
}

danger_api! {
/// [`open`] over another AEAD of the same KEM and KDF (RFC 9180 vectors only). [HPKE-4]
pub fn open_suite<A: hpke::aead::Aead>(
    sk_r: &HpkeSecretKey,
    enc: &[u8],
    info: &[u8],
    aad: &[u8],
    ct: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    if aad.is_empty() {
        return Err(Error::EmptyAad);
    }
    let enc_arr: [u8; ENC_LEN] = enc.try_into().map_err(|_| Error::HpkeOpen)?;
    if is_low_order(&enc_arr) {
        return Err(Error::HpkeLowOrder);
    }
    let sk = <X25519HkdfSha256 as Kem>::PrivateKey::from_bytes(sk_r.expose()).map_err(|_| Error::HpkeOpen)?;
    let enc = <X25519HkdfSha256 as Kem>::EncappedKey::from_bytes(&enc_arr).map_err(|_| Error::HpkeOpen)?;
    hpke::single_shot_open::<A, HkdfSha256, X25519HkdfSha256>(&OpModeR::Base, &sk, &enc, info, ct, aad)
        .map(Zeroizing::new)
        .map_err(|_| Error::HpkeOpen)
}
}

/// The DHKEM shared secret a recipient computes (RFC 9180 Decap), for vectors. [HPKE-4]
pub fn shared_secret(sk_r: &HpkeSecretKey, enc: &[u8]) -> Result<Secret32> {
    let enc_arr: [u8; ENC_LEN] = enc.try_into().map_err(|_| Error::HpkeOpen)?;
    if is_low_order(&enc_arr) {
        return Err(Error::HpkeLowOrder);
    }
    let sk = <X25519HkdfSha256 as Kem>::PrivateKey::from_bytes(sk_r.expose()).map_err(|_| Error::HpkeOpen)?;
    let enc = <X25519HkdfSha256 as Kem>::EncappedKey::from_bytes(&enc_arr).map_err(|_| Error::HpkeOpen)?;
    let ss = X25519HkdfSha256::decap(&sk, None, &enc).map_err(|_| Error::HpkeLowOrder)?;
    Secret32::from_slice(&ss.0).ok_or(Error::HpkeOpen)
}

/// The RFC 9180 section 5.1 key schedule outputs (base mode). Zeroized on
/// drop, never printed. [HPKE-4]
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct KeySchedule {
    /// `mode ‖ psk_id_hash ‖ info_hash`.
    pub key_schedule_context: Vec<u8>,
    /// `LabeledExtract(shared_secret, "secret", psk)`.
    pub secret: [u8; 32],
    /// The AEAD key (`Nk` bytes).
    pub key: Vec<u8>,
    /// The AEAD base nonce.
    pub base_nonce: [u8; 12],
    /// The exporter secret.
    pub exporter_secret: [u8; 32],
}

fn suite_id(aead_id: u16) -> Vec<u8> {
    [b"HPKE".as_slice(), &KEM_ID.to_be_bytes(), &KDF_ID.to_be_bytes(), &aead_id.to_be_bytes()].concat()
}

fn labeled_extract(suite: &[u8], salt: &[u8], label: &[u8], ikm: &[u8]) -> Secret32 {
    let mut labeled = [b"HPKE-v1".as_slice(), suite, label, ikm].concat();
    let out = hkdf_extract(salt, &labeled);
    labeled.zeroize();
    out
}

fn labeled_expand(suite: &[u8], prk: &Secret32, label: &[u8], info: &[u8], out: &mut [u8]) -> Result<()> {
    let l = u16::try_from(out.len()).map_err(|_| Error::KdfOutputLength)?.to_be_bytes();
    let labeled = [l.as_slice(), b"HPKE-v1", suite, label, info].concat();
    hkdf_expand(prk, &labeled, out)
}

/// RFC 9180 section 5.1 KeySchedule for base mode with DHKEM(X25519,
/// HKDF-SHA256) and HKDF-SHA256, for an AEAD with id `aead_id` and key
/// length `nk` (16 for AES-128-GCM, 32 for AES-256-GCM and ChaCha20-Poly1305). [HPKE-4]
///
/// ```text
/// psk_id_hash = LabeledExtract("", "psk_id_hash", "")
/// info_hash   = LabeledExtract("", "info_hash", info)
/// context     = 0x00 ‖ psk_id_hash ‖ info_hash
/// secret      = LabeledExtract(shared_secret, "secret", "")
/// key         = LabeledExpand(secret, "key", context, Nk)
/// base_nonce  = LabeledExpand(secret, "base_nonce", context, 12)
/// exporter    = LabeledExpand(secret, "exp", context, 32)
/// ```
pub fn key_schedule_base(aead_id: u16, shared_secret: &[u8], info: &[u8]) -> Result<KeySchedule> {
    let nk = match aead_id {
        1 => 16,
        2 | 3 => 32,
        _ => return Err(Error::DecodeValue),
    };
    let suite = suite_id(aead_id);
    let psk_id_hash = labeled_extract(&suite, b"", b"psk_id_hash", b"");
    let info_hash = labeled_extract(&suite, b"", b"info_hash", info);
    let ctx = [[0u8].as_slice(), psk_id_hash.expose(), info_hash.expose()].concat();
    let secret = labeled_extract(&suite, shared_secret, b"secret", b"");
    let mut ks = KeySchedule {
        key_schedule_context: ctx,
        secret: *secret.expose(),
        key: vec![0u8; nk],
        base_nonce: [0u8; 12],
        exporter_secret: [0u8; 32],
    };
    labeled_expand(&suite, &secret, b"key", &ks.key_schedule_context, &mut ks.key)?;
    labeled_expand(&suite, &secret, b"base_nonce", &ks.key_schedule_context, &mut ks.base_nonce)?;
    labeled_expand(&suite, &secret, b"exp", &ks.key_schedule_context, &mut ks.exporter_secret)?;
    Ok(ks)
}

/// Our suite's key schedule for a recipient: shared secret and schedule. [HPKE-4]
pub fn intermediates(sk_r: &HpkeSecretKey, enc: &[u8], info: &[u8]) -> Result<(Secret32, KeySchedule)> {
    let ss = shared_secret(sk_r, enc)?;
    let ks = key_schedule_base(AEAD_ID, ss.expose(), info)?;
    Ok((ss, ks))
}

/// Adapts `&mut R` with `R: ?Sized` to the sized RNG the hpke crate takes.
struct SizedRng<'a, R: CryptoRng + ?Sized>(&'a mut R);

impl<R: CryptoRng + ?Sized> rand_core::TryRng for SizedRng<'_, R> {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> core::result::Result<u32, Self::Error> {
        Ok(self.0.next_u32())
    }
    fn try_next_u64(&mut self) -> core::result::Result<u64, Self::Error> {
        Ok(self.0.next_u64())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> core::result::Result<(), Self::Error> {
        self.0.fill_bytes(dst);
        Ok(())
    }
}

impl<R: CryptoRng + ?Sized> rand_core::TryCryptoRng for SizedRng<'_, R> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primitives::SeededRng;

    // [HPKE-1] [HPKE-2] round trip, and info, aad, key and ciphertext are all bound.
    #[test]
    fn round_trip_and_binding() {
        let mut rng = SeededRng::from_label("hpke-test");
        let sk = HpkeSecretKey::random(&mut rng);
        let other = HpkeSecretKey::random(&mut rng);
        let (enc, ct) = seal(&sk.public_key(), b"i", b"a", b"pt", &mut rng).unwrap();
        assert_eq!(&open(&sk, &enc, b"i", b"a", &ct).unwrap()[..], b"pt");
        assert_eq!(open(&sk, &enc, b"j", b"a", &ct).err(), Some(Error::HpkeOpen));
        assert_eq!(open(&sk, &enc, b"i", b"b", &ct).err(), Some(Error::HpkeOpen));
        assert_eq!(open(&other, &enc, b"i", b"a", &ct).err(), Some(Error::HpkeOpen));
        assert_eq!(open(&sk, &enc[..31], b"i", b"a", &ct).err(), Some(Error::HpkeOpen));
        let mut bad = ct.clone();
        bad[0] ^= 1;
        assert_eq!(open(&sk, &enc, b"i", b"a", &bad).err(), Some(Error::HpkeOpen));
        assert_eq!(open(&sk, &enc, b"i", b"", &ct).err(), Some(Error::EmptyAad));
        assert_eq!(seal(&sk.public_key(), b"i", b"", b"pt", &mut rng).err(), Some(Error::EmptyAad));
        // The intermediates decrypt the ciphertext with a plain AES-256-GCM.
        let (_, ks) = intermediates(&sk, &enc, b"i").unwrap();
        use aes_gcm::aead::{Aead, KeyInit, Payload};
        let pt = aes_gcm::Aes256Gcm::new_from_slice(&ks.key)
            .unwrap()
            .decrypt(&ks.base_nonce.into(), Payload { msg: &ct, aad: b"a" })
            .unwrap();
        assert_eq!(pt, b"pt");
    }

    // [HPKE-3] low-order points are refused on both sides.
    #[test]
    fn low_order_refused() {
        let mut rng = SeededRng::from_label("hpke-low");
        let sk = HpkeSecretKey::random(&mut rng);
        let zero = [0u8; 32];
        let mut one = [0u8; 32];
        one[0] = 1;
        for pk in [zero, one] {
            assert!(is_low_order(&pk));
            assert_eq!(seal(&pk, b"i", b"a", b"pt", &mut rng).err(), Some(Error::HpkeLowOrder));
            assert_eq!(open(&sk, &pk, b"i", b"a", &[0u8; 20]).err(), Some(Error::HpkeLowOrder));
        }
        assert!(!is_low_order(&sk.public_key()));
    }
}
