//! Devices and pairing (spec 8.4 and 8.5, `spec/08-chain.md`).
//!
//! ```text
//! device_id    = SHA-256(enc(DEVICE_ID, ed25519_pk(32), x25519_pk(32)))
//! payload      = u8 version(1) ‖ ed25519_pk(32) ‖ x25519_pk(32) ‖ checksum(4)          -- 69 bytes
//! checksum     = SHA-256(enc(PAIRING_PAYLOAD, u8 version, ed25519_pk, x25519_pk))[0..4]
//! pairing code = compare160(SHA-256(enc(PAIRING_CODE, account_id, approver ed, approver x,
//!                                                     new ed, new x)))
//! compare160(d) = the first 160 bits of d as 32 Crockford base32 symbols, eight groups of four
//! comparison QR = u8 version(1) ‖ u8 kind (1 account, 2 partner, 3 pairing) ‖ d(32)
//! bundle       = enc(IDENTITY_BUNDLE, account_id, u32 n, n × (u32 epoch ‖ umk(32)))
//! bundle_commit = SHA-256(enc(BUNDLE_COMMIT, bytes wrap))     -- carried by the add-device statement
//! ```
//!
//! ```
//! use blindsync::device::{DeviceKeys, PairingPayload};
//! use blindsync::primitives::SeededRng;
//! let keys = DeviceKeys::generate(&mut SeededRng::from_label("doc"));
//! let qr = PairingPayload(keys.public()).encode();
//! assert_eq!(PairingPayload::decode(&qr)?.0, keys.public());
//! # Ok::<(), blindsync::Error>(())
//! ```

use std::collections::BTreeMap;

use ed25519_dalek::Signer;
use zeroize::{Zeroize, Zeroizing};

use crate::encoding::{Encoder, Reader};
use crate::error::{Error, Result};
use crate::hpke::{self, HpkeSecretKey};
use crate::keys::{AccountId, Epoch, Umk};
use crate::labels;
use crate::primitives::{CryptoRng, sha256};
use crate::secret_type;
use crate::unlock::recovery::ALPHABET;

/// The pairing payload version this client writes and reads. [DEV-3]
pub const PAIRING_VERSION: u8 = 1;
/// Length of a pairing payload. [DEV-3]
pub const PAIRING_PAYLOAD_LEN: usize = 1 + 32 + 32 + 4;
/// Most UMKs an identity bundle may carry (one per live epoch). [DEV-5]
pub const MAX_BUNDLE_EPOCHS: usize = 1024;

secret_type!(
    /// A device's Ed25519 signing seed (RFC 8032 secret key). [DEV-1]
    DeviceSigningSeed,
    32
);

/// A device id: SHA-256 over the device's two public keys. [DEV-1]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceId(pub [u8; 32]);

/// A device's public keys, as the chain records them. [DEV-1]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DevicePublic {
    /// Ed25519 verifying key: signs chain statements and envelopes.
    pub ed25519: [u8; 32],
    /// X25519 public key: the HPKE recipient key of wraps to this device.
    pub x25519: [u8; 32],
}

/// Ed25519 public-key validity ([PRIM-9], [DEV-2]): the 32 bytes must be the
/// canonical RFC 8032 encoding of a curve point (`y < p`, and not `x = 0` with
/// the sign bit set: decoding then re-encoding gives the same bytes), and the
/// point must not be of small order (`[8]P` is not the identity). Mixed-order
/// points (a prime-order point plus a torsion component) are accepted, as by
/// `verify_strict`. Anything else is [`Error::DeviceKeyInvalid`].
pub fn check_ed25519_key(pk: &[u8; 32]) -> Result<()> {
    // [PRIM-9] [DEV-2] decode, canonical re-encoding, not small order.
    if crate::primitives::ed25519_key_valid(pk) { Ok(()) } else { Err(Error::DeviceKeyInvalid) }
}

impl DevicePublic {
    /// `SHA-256(enc(DEVICE_ID, ed25519, x25519))`. [DEV-1]
    pub fn id(&self) -> DeviceId {
        DeviceId(sha256(&[&Encoder::new(labels::DEVICE_ID).fixed(&self.ed25519).fixed(&self.x25519).finish()]))
    }

    /// Checks both keys: the Ed25519 key is a valid point of large order, the
    /// X25519 key is not of small order. [DEV-2]
    pub fn check(&self) -> Result<()> {
        check_ed25519_key(&self.ed25519)?;
        if hpke::is_low_order(&self.x25519) {
            return Err(Error::HpkeLowOrder);
        }
        Ok(())
    }

    /// Checks that `claimed` is this key pair's id: a pending registration
    /// whose keys were substituted fails here. [DEV-1]
    pub fn check_id(&self, claimed: &DeviceId) -> Result<()> {
        if self.id() == *claimed { Ok(()) } else { Err(Error::DeviceKeyMismatch) }
    }
}

/// A device's private keys, generated on the device and never sent anywhere. [DEV-1]
#[derive(Clone)]
pub struct DeviceKeys {
    signing: DeviceSigningSeed,
    /// The Ed25519 signing key of `signing`, expanded once (expanding it derives the public
    /// key, a scalar multiplication): every write signs with it.
    signing_key: ed25519_dalek::SigningKey,
    hpke: HpkeSecretKey,
    /// Derived once: the public keys are needed on every operation.
    public: DevicePublic,
    /// Derived once from `public`.
    id: DeviceId,
}

impl DeviceKeys {
    /// Draws fresh keys. [DEV-1]
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let signing = DeviceSigningSeed::random(rng);
        let hpke = HpkeSecretKey::random(rng);
        DeviceKeys::from_seeds(signing, hpke)
    }

    /// Keys from stored seeds.
    pub fn from_seeds(signing: DeviceSigningSeed, hpke: HpkeSecretKey) -> Self {
        let signing_key = ed25519_dalek::SigningKey::from_bytes(signing.expose());
        let public = DevicePublic { ed25519: signing_key.verifying_key().to_bytes(), x25519: hpke.public_key() };
        DeviceKeys { signing, signing_key, hpke, public, id: public.id() }
    }

    /// The public keys.
    pub fn public(&self) -> DevicePublic {
        self.public
    }

    /// The device id.
    pub fn id(&self) -> DeviceId {
        self.id
    }

    /// Ed25519 signature over `msg`.
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        // deterministic (RFC 8032): the model checker may answer it from a cache ([MODEL-19])
        crate::memo::sign(self.signing.expose(), msg, || self.signing_key.sign(msg).to_bytes())
    }

    /// The signing seed (for storage).
    pub fn signing_seed(&self) -> &DeviceSigningSeed {
        &self.signing
    }

    /// The Ed25519 signing key of the seed (envelopes and streams are sealed with it).
    ///
    /// ```
    /// use blindsync::device::DeviceKeys;
    /// use blindsync::primitives::SeededRng;
    /// let keys = DeviceKeys::generate(&mut SeededRng::from_label("doc"));
    /// assert_eq!(keys.signing_key().verifying_key().to_bytes(), keys.public().ed25519);
    /// ```
    pub fn signing_key(&self) -> &ed25519_dalek::SigningKey {
        &self.signing_key
    }

    /// The HPKE recipient key.
    pub fn hpke_key(&self) -> &HpkeSecretKey {
        &self.hpke
    }
}

/// The out-of-band pairing payload a new device shows as a QR code. [DEV-3]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PairingPayload(pub DevicePublic);

impl PairingPayload {
    fn checksum(version: u8, p: &DevicePublic) -> [u8; 4] {
        let d =
            sha256(&[&Encoder::new(labels::PAIRING_PAYLOAD).u8(version).fixed(&p.ed25519).fixed(&p.x25519).finish()]);
        [d[0], d[1], d[2], d[3]]
    }

    /// `u8 version ‖ ed25519 ‖ x25519 ‖ checksum(4)`. [DEV-3]
    pub fn encode(&self) -> Vec<u8> {
        Encoder::raw()
            .u8(PAIRING_VERSION)
            .fixed(&self.0.ed25519)
            .fixed(&self.0.x25519)
            .fixed(&Self::checksum(PAIRING_VERSION, &self.0))
            .finish()
    }

    /// Decodes and checks version, checksum and keys, in that order. [DEV-3]
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        if version != PAIRING_VERSION {
            return Err(Error::PairingVersion);
        }
        let p = DevicePublic { ed25519: r.array()?, x25519: r.array()? };
        let sum: [u8; 4] = r.array()?;
        r.finish()?;
        if sum != Self::checksum(version, &p) {
            return Err(Error::PairingChecksum);
        }
        p.check()?;
        Ok(PairingPayload(p))
    }
}

/// The first 160 bits of `digest` as 32 Crockford base32 symbols in eight
/// groups of four: `XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX`. [CHAIN-5]
pub fn compare160(digest: &[u8; 32]) -> String {
    let mut out = String::with_capacity(39);
    for i in 0..32 {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        // Symbol i is bits 5i .. 5i+5 of the digest, most significant first.
        let bit = 5 * i;
        let hi = u16::from(digest[bit / 8]) << 8 | u16::from(digest[bit / 8 + 1]);
        let v = (hi >> (11 - bit % 8)) & 0x1f;
        out.push(char::from(ALPHABET[usize::from(v)]));
    }
    out
}

/// The pairing code's digest. [DEV-4] [CHAIN-5]
pub fn pairing_code_digest(account: &AccountId, approver: &DevicePublic, new: &DevicePublic) -> [u8; 32] {
    let input = Encoder::new(labels::PAIRING_CODE)
        .fixed(&account.0)
        .fixed(&approver.ed25519)
        .fixed(&approver.x25519)
        .fixed(&new.ed25519)
        .fixed(&new.x25519)
        .finish();
    sha256(&[&input])
}

/// The pairing code both screens show when no QR code is scanned (160 bits). [DEV-4]
pub fn pairing_code(account: &AccountId, approver: &DevicePublic, new: &DevicePublic) -> String {
    compare160(&pairing_code_digest(account, approver, new))
}

/// The version of the comparison QR codes this client writes and reads. [CHAIN-19]
pub const COMPARISON_VERSION: u8 = 1;
/// Length of a comparison QR code. [CHAIN-19]
pub const COMPARISON_QR_LEN: usize = 34;

/// What a comparison string stands for. [CHAIN-5]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ComparisonKind {
    /// The account fingerprint.
    Account = 1,
    /// A partner key's fingerprint for one account.
    Partner = 2,
    /// A pairing code.
    Pairing = 3,
}

/// The QR form of a comparison string: the whole 32-byte digest. [CHAIN-5] [CHAIN-19]
///
/// ```
/// use blindsync::device::{ComparisonKind, ComparisonQr};
/// let mine = ComparisonQr { kind: ComparisonKind::Account, digest: [7; 32] };
/// let scanned = ComparisonQr::decode(&mine.encode())?;
/// scanned.matches(&mine)?;
/// # Ok::<(), blindsync::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ComparisonQr {
    /// What is compared.
    pub kind: ComparisonKind,
    /// The digest of [CHAIN-5].
    pub digest: [u8; 32],
}

impl ComparisonQr {
    /// `u8 version ‖ u8 kind ‖ digest(32)`. [CHAIN-5]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(COMPARISON_QR_LEN);
        out.push(COMPARISON_VERSION);
        out.push(self.kind as u8);
        out.extend_from_slice(&self.digest);
        out
    }

    /// Decodes a scanned code, in the order of [CHAIN-19]: version, length, kind.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        match bytes.first() {
            None => return Err(Error::DecodeTruncated),
            Some(&v) if v != COMPARISON_VERSION => return Err(Error::PairingVersion),
            _ => {}
        }
        if bytes.len() < COMPARISON_QR_LEN {
            return Err(Error::DecodeTruncated);
        }
        if bytes.len() > COMPARISON_QR_LEN {
            return Err(Error::DecodeTrailing);
        }
        let kind = match bytes[1] {
            1 => ComparisonKind::Account,
            2 => ComparisonKind::Partner,
            3 => ComparisonKind::Pairing,
            _ => return Err(Error::DecodeValue),
        };
        let mut digest = [0u8; 32];
        digest.copy_from_slice(&bytes[2..]);
        Ok(ComparisonQr { kind, digest })
    }

    /// Compares a scanned code with the one computed here: the kind, then
    /// the digest in constant time; [`Error::CompareMismatch`] on any difference. [CHAIN-19]
    pub fn matches(&self, mine: &ComparisonQr) -> Result<()> {
        if self.kind == mine.kind && crate::primitives::ct_eq(&self.digest, &mine.digest) {
            Ok(())
        } else {
            Err(Error::CompareMismatch)
        }
    }
}

/// A chain head: how many statements, and the hash of the last one. [CHAIN-3]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainHead {
    /// Number of statements (the last one is at position `len - 1`).
    pub len: u64,
    /// Hash of the last statement.
    pub hash: [u8; 32],
}

/// What an approving device gives a new one: the UMK of every live epoch. [DEV-5]
pub struct IdentityBundle {
    /// The account.
    pub account: AccountId,
    /// Every live epoch's UMK (epochs 0 to the current one).
    pub umks: BTreeMap<Epoch, Umk>,
}

impl IdentityBundle {
    /// `enc(IDENTITY_BUNDLE, account_id, u32 n, n × (u32 epoch, umk(32)))`,
    /// epochs strictly ascending. [DEV-5]
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut e = Encoder::new(labels::IDENTITY_BUNDLE)
            .fixed(&self.account.0)
            .u32(u32::try_from(self.umks.len()).unwrap_or(u32::MAX));
        for (epoch, umk) in &self.umks {
            e = e.u32(*epoch).fixed(umk.expose());
        }
        Zeroizing::new(e.finish())
    }

    /// Decodes [`IdentityBundle::encode`]'s bytes. [DEV-5]
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        r.expect_label(labels::IDENTITY_BUNDLE)?;
        let account = AccountId(r.array()?);
        let n = r.u32()? as usize;
        if n == 0 || n > MAX_BUNDLE_EPOCHS {
            return Err(Error::DecodeLength);
        }
        let mut umks = BTreeMap::new();
        let mut last: Option<Epoch> = None;
        for _ in 0..n {
            let epoch = r.u32()?;
            if last.is_some_and(|l| epoch <= l) {
                return Err(Error::DecodeValue);
            }
            last = Some(epoch);
            let mut k: [u8; 32] = r.array()?;
            umks.insert(epoch, Umk::from_bytes(k));
            k.zeroize();
        }
        r.finish()?;
        Ok(IdentityBundle { account, umks })
    }
}

/// The HPKE `aad` of a bundle wrap: `enc(AAD_DEVICE_BUNDLE, account_id, device_id)`. [DEV-5]
pub fn bundle_aad(account: &AccountId, target: &DeviceId) -> Vec<u8> {
    Encoder::new(labels::AAD_DEVICE_BUNDLE).fixed(&account.0).fixed(&target.0).finish()
}

/// The HPKE `info` of a bundle wrap: `enc(HPKE_DEVICE_BUNDLE)`. [DEV-5]
pub fn bundle_info() -> Vec<u8> {
    Encoder::new(labels::HPKE_DEVICE_BUNDLE).finish()
}

/// Wraps `bundle` to `target`: `enc(32) ‖ HPKE ciphertext`. [DEV-5]
pub fn wrap_bundle<R: CryptoRng + ?Sized>(
    bundle: &IdentityBundle,
    target: &DevicePublic,
    rng: &mut R,
) -> Result<Vec<u8>> {
    target.check()?;
    let pt = bundle.encode();
    let (enc, ct) = hpke::seal(&target.x25519, &bundle_info(), &bundle_aad(&bundle.account, &target.id()), &pt, rng)?;
    Ok([enc.as_slice(), &ct].concat())
}

/// Opens a bundle wrap addressed to `me` for `account`. [DEV-5]
///
/// Errors: [`Error::HpkeOpen`] for a wrap to another device or account or any
/// tampering; [`Error::HpkeLowOrder`]; [`Error::DeviceKeyMismatch`] if the
/// bundle names another account than the one it was bound to.
pub fn open_bundle(me: &DeviceKeys, account: &AccountId, wrap: &[u8]) -> Result<IdentityBundle> {
    let split = wrap.len().min(hpke::ENC_LEN);
    let (enc, ct) = wrap.split_at(split);
    let pt = hpke::open(me.hpke_key(), enc, &bundle_info(), &bundle_aad(account, &me.id()), ct)?;
    // [DEV-5] a plaintext that is not a bundle of this account is a wrap that does not open.
    let bundle = IdentityBundle::decode(&pt).map_err(|_| Error::HpkeOpen)?;
    if bundle.account != *account {
        return Err(Error::HpkeOpen);
    }
    Ok(bundle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primitives::SeededRng;

    // [DEV-1] [HPKE-1] key material cannot be printed.
    #[test]
    fn secrets_have_no_debug() {
        use crate::secret::tests::IsDebug;
        use crate::secret::tests::NotDebug as _;
        const { assert!(!IsDebug::<DeviceKeys>::VALUE) };
        const { assert!(!IsDebug::<DeviceSigningSeed>::VALUE) };
        const { assert!(!IsDebug::<HpkeSecretKey>::VALUE) };
        const { assert!(!IsDebug::<IdentityBundle>::VALUE) };
        const { assert!(!IsDebug::<crate::hpke::KeySchedule>::VALUE) };
        const { assert!(!IsDebug::<crate::chain::UnlockPathKeys>::VALUE) };
    }

    // [DEV-3] round trip; version, checksum and length are checked.
    #[test]
    fn pairing_payload() {
        let keys = DeviceKeys::generate(&mut SeededRng::from_label("pp"));
        let bytes = PairingPayload(keys.public()).encode();
        assert_eq!(bytes.len(), PAIRING_PAYLOAD_LEN);
        assert_eq!(PairingPayload::decode(&bytes).unwrap().0, keys.public());
        let mut v = bytes.clone();
        v[0] = 2;
        assert_eq!(PairingPayload::decode(&v), Err(Error::PairingVersion));
        for i in 1..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x10;
            assert_eq!(PairingPayload::decode(&b), Err(Error::PairingChecksum), "byte {i}");
        }
        assert_eq!(PairingPayload::decode(&bytes[..68]), Err(Error::DecodeTruncated));
    }

    // [PRIM-9] [DEV-2] Ed25519 key validity: canonical encodings of points not of small order;
    // non-canonical encodings and the 8 small-order points are refused, mixed-order points accepted.
    #[test]
    fn ed25519_key_validity() {
        use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
        let good = DeviceKeys::generate(&mut SeededRng::from_label("ed-valid")).public().ed25519;
        assert_eq!(check_ed25519_key(&good), Ok(()));
        for t in EIGHT_TORSION {
            assert_eq!(check_ed25519_key(&t.compress().to_bytes()), Err(Error::DeviceKeyInvalid));
            let mixed = (ED25519_BASEPOINT_POINT + t).compress().to_bytes();
            assert_eq!(check_ed25519_key(&mixed), Ok(()));
        }
        // y + p for small y: every such encoding that decodes at all is refused.
        for y in 0u8..=18 {
            let mut k = [0xffu8; 32];
            k[0] = 0xed + y;
            k[31] = 0x7f;
            assert_eq!(check_ed25519_key(&k), Err(Error::DeviceKeyInvalid), "y = {y}");
            k[31] = 0xff; // with the sign bit set as well
            assert_eq!(check_ed25519_key(&k), Err(Error::DeviceKeyInvalid), "y = {y}, sign");
        }
        // x = 0 with the sign bit set (the identity, y = 1, and y = -1).
        let mut neg_zero = [0u8; 32];
        neg_zero[0] = 1;
        neg_zero[31] = 0x80;
        assert_eq!(check_ed25519_key(&neg_zero), Err(Error::DeviceKeyInvalid));
    }

    // [DEV-5] a wrap that opens but holds a bundle of another account is E_HPKE_OPEN, as is a
    // plaintext that is not a bundle.
    #[test]
    fn bundle_inner_account_and_garbage() {
        let mut rng = SeededRng::from_label("bundle-inner");
        let a = DeviceKeys::generate(&mut rng);
        let acc = AccountId([1; 32]);
        let mut umks = BTreeMap::new();
        umks.insert(0, Umk::from_bytes([5; 32]));
        let other = IdentityBundle { account: AccountId([2; 32]), umks };
        let aad = bundle_aad(&acc, &a.id());
        for pt in [other.encode().to_vec(), b"not a bundle".to_vec()] {
            let (enc, ct) = hpke::seal(&a.public().x25519, &bundle_info(), &aad, &pt, &mut rng).unwrap();
            let w = [enc.as_slice(), &ct].concat();
            assert_eq!(open_bundle(&a, &acc, &w).err(), Some(Error::HpkeOpen));
        }
    }

    // [DEV-4] format and symmetry of the pairing code.
    #[test]
    fn code_format() {
        let mut rng = SeededRng::from_label("pc");
        let a = DeviceKeys::generate(&mut rng).public();
        let b = DeviceKeys::generate(&mut rng).public();
        let acc = AccountId([3; 32]);
        let c = pairing_code(&acc, &a, &b);
        assert_eq!(c.len(), 39);
        assert_eq!(c.split('-').count(), 8);
        assert!(c.split('-').all(|g| g.len() == 4 && g.bytes().all(|x| ALPHABET.contains(&x))));
        assert_ne!(c, pairing_code(&acc, &b, &a));
        assert_ne!(c, pairing_code(&AccountId([4; 32]), &a, &b));
        assert_eq!(compare160(&[0; 32]), "0000-0000-0000-0000-0000-0000-0000-0000");
        assert_eq!(compare160(&[0xff; 32]), "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ");
    }

    // [CHAIN-5] compare160 against a bit-string reading of the spec text: the first 160 bits,
    // most significant first, five at a time.
    #[test]
    fn compare160_reads_bits_in_order() {
        let mut rng = SeededRng::from_label("compare160");
        for _ in 0..64 {
            let mut d = [0u8; 32];
            rand_core::Rng::fill_bytes(&mut rng, &mut d);
            let bits: String = d.iter().map(|b| format!("{b:08b}")).collect();
            let mut want = String::new();
            for i in 0..32 {
                if i > 0 && i % 4 == 0 {
                    want.push('-');
                }
                let v = usize::from_str_radix(&bits[5 * i..5 * i + 5], 2).unwrap();
                want.push(char::from(ALPHABET[v]));
            }
            assert_eq!(compare160(&d), want);
        }
    }

    // [CHAIN-19] comparison QR: decode order and the mismatch code.
    #[test]
    fn comparison_qr() {
        let q = ComparisonQr { kind: ComparisonKind::Partner, digest: [9; 32] };
        let b = q.encode();
        assert_eq!(b.len(), COMPARISON_QR_LEN);
        assert_eq!(ComparisonQr::decode(&b), Ok(q));
        assert_eq!(ComparisonQr::decode(&[]), Err(Error::DecodeTruncated));
        assert_eq!(ComparisonQr::decode(&[2; 40]), Err(Error::PairingVersion));
        assert_eq!(ComparisonQr::decode(&b[..33]), Err(Error::DecodeTruncated));
        assert_eq!(ComparisonQr::decode(&[b.as_slice(), &[0]].concat()), Err(Error::DecodeTrailing));
        let mut k = b.clone();
        k[1] = 4;
        assert_eq!(ComparisonQr::decode(&k), Err(Error::DecodeValue));
        let mut other = q;
        other.digest[31] ^= 1;
        assert_eq!(q.matches(&other), Err(Error::CompareMismatch));
        other = q;
        other.kind = ComparisonKind::Account;
        assert_eq!(q.matches(&other), Err(Error::CompareMismatch));
        assert_eq!(q.matches(&q), Ok(()));
    }

    // [DEV-5] bundle wraps open only for their device and account.
    #[test]
    fn bundle_binding() {
        let mut rng = SeededRng::from_label("bundle");
        let a = DeviceKeys::generate(&mut rng);
        let b = DeviceKeys::generate(&mut rng);
        let acc = AccountId([1; 32]);
        let mut umks = BTreeMap::new();
        umks.insert(0, Umk::from_bytes([5; 32]));
        let bundle = IdentityBundle { account: acc, umks };
        let w = wrap_bundle(&bundle, &a.public(), &mut rng).unwrap();
        let got = open_bundle(&a, &acc, &w).unwrap();
        assert!(got.umks[&0] == Umk::from_bytes([5; 32]));
        assert_eq!(open_bundle(&b, &acc, &w).err(), Some(Error::HpkeOpen));
        assert_eq!(open_bundle(&a, &AccountId([2; 32]), &w).err(), Some(Error::HpkeOpen));
        assert_eq!(open_bundle(&a, &acc, &w[..10]).err(), Some(Error::HpkeOpen));
    }
}
