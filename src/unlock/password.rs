//! The password path (spec 5.4, `spec/05-keys.md`).
//!
//! ```text
//! S         = Argon2id v1.3(password, salt(16), m, t, p, 32)   -- after the floor check
//! PRK       = HKDF-Extract(salt = enc(PASSWORD_EXTRACT), IKM = S)
//! auth      = HKDF-Expand(PRK, enc(PASSWORD_AUTH), 32)       -- sent to the server at login
//! KEK       = HKDF-Expand(PRK, enc(PASSWORD_KEK), 32)        -- wraps the UMK, never sent
//! authority = HKDF-Expand(PRK, enc(PASSWORD_AUTHORITY), 32)  -- may enroll devices
//! auth_hash = SHA-256(enc(PASSWORD_AUTH_HASH) ‖ auth)        -- all the server stores
//! ```
//!
//! The server stores the salt and parameters and hands them to any device
//! that wants to log in. It may lie about them; [`PasswordKdf::check`]
//! refuses anything below the floor whatever the server offers, and the
//! parameters are bound into the UMK wrap's AAD.
//!
//! ```
//! use blindsync::unlock::password::{KdfParams, PasswordKdf};
//! use blindsync::Error;
//! let offered = PasswordKdf { salt: [0; 16], params: KdfParams { m_kib: 8 * 1024, ..KdfParams::DEFAULT } };
//! assert_eq!(offered.check(), Err(Error::KdfParamsTooWeak));
//! ```

use super::AuthoritySeed;
use crate::encoding::{Codec, Encoder, Reader};
use crate::error::{Error, Result};
use crate::keys::Kek;
use crate::labels;
use crate::primitives::{argon2id_raw, hkdf_expand32, hkdf_extract, sha256};
use crate::secret::Secret32;
use crate::secret_type;

/// Argon2 version 1.3. [KEY-5]
pub const ARGON2_VERSION: u32 = 0x13;
/// Salt length in bytes. [KEY-5]
pub const SALT_LEN: usize = 16;
/// Encoded length of [`PasswordKdf`]: four u32 and the salt. [KEY-6]
pub const ENCODED_LEN: usize = 16 + SALT_LEN;

/// Argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KdfParams {
    /// Argon2 version; only 0x13 is accepted.
    pub version: u32,
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl KdfParams {
    /// The defaults new accounts use: t=3, m=64 MiB, p=4. [KEY-5]
    pub const DEFAULT: KdfParams = KdfParams { version: ARGON2_VERSION, m_kib: 64 * 1024, t: 3, p: 4 };
    /// The client-side floor: nothing with less memory or fewer passes is ever run. [KEY-6]
    pub const FLOOR: KdfParams = KdfParams { version: ARGON2_VERSION, m_kib: 64 * 1024, t: 3, p: 1 };
    /// The client-side ceiling: a server cannot make a device exhaust itself. [KEY-6]
    pub const CEILING: KdfParams = KdfParams { version: ARGON2_VERSION, m_kib: 2 * 1024 * 1024, t: 16, p: 16 };
}

/// What the server stores and serves for the password path: salt and parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PasswordKdf {
    /// The 16-byte Argon2id salt, random per account and per password change.
    pub salt: [u8; SALT_LEN],
    /// The Argon2id parameters.
    pub params: KdfParams,
}

secret_type!(
    /// The password `auth` value: proves knowledge of the password to the server. [KEY-7]
    AuthValue,
    32
);

/// What the password derives, with intermediates for test vectors. [KEY-7]
pub struct PasswordKeys {
    /// The raw Argon2id output `S`.
    pub stretched: Secret32,
    /// `HKDF-Extract(enc(PASSWORD_EXTRACT), S)`.
    pub prk: Secret32,
    /// The value sent to the server at login.
    pub auth: AuthValue,
    /// The KEK that wraps the UMK.
    pub kek: Kek,
    /// The seed of the password authority's Ed25519 key.
    pub authority: AuthoritySeed,
}

impl Codec<'_> for PasswordKdf {
    fn encode(&self) -> Vec<u8> {
        PasswordKdf::encode(self)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let params = KdfParams { version: r.u32()?, m_kib: r.u32()?, t: r.u32()?, p: r.u32()? };
        let salt = r.array::<SALT_LEN>()?;
        Ok(PasswordKdf { salt, params })
    }
}

impl PasswordKdf {
    /// Fresh salt with the default parameters. [KEY-5]
    pub fn generate<R: crate::primitives::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut salt = [0u8; SALT_LEN];
        rng.fill_bytes(&mut salt);
        PasswordKdf { salt, params: KdfParams::DEFAULT }
    }

    /// The canonical encoding, used on the wire and bound into the UMK wrap
    /// AAD: `u32 version ‖ u32 m_kib ‖ u32 t ‖ u32 p ‖ salt(16)`. [KEY-6]
    pub fn encode(&self) -> Vec<u8> {
        Encoder::raw()
            .u32(self.params.version)
            .u32(self.params.m_kib)
            .u32(self.params.t)
            .u32(self.params.p)
            .fixed(&self.salt)
            .finish()
    }

    /// Decodes [`PasswordKdf::encode`]'s bytes. Decoding does not apply the
    /// floor; [`PasswordKdf::check`] does. [KEY-6]
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        <Self as Codec>::decode(bytes)
    }

    /// The client-side policy, in this order: version, floor, ceiling. [KEY-6]
    pub fn check(&self) -> Result<()> {
        let p = &self.params;
        if p.version != ARGON2_VERSION {
            return Err(Error::KdfVersion);
        }
        if p.m_kib < KdfParams::FLOOR.m_kib || p.t < KdfParams::FLOOR.t || p.p < KdfParams::FLOOR.p {
            return Err(Error::KdfParamsTooWeak);
        }
        if p.m_kib > KdfParams::CEILING.m_kib || p.t > KdfParams::CEILING.t || p.p > KdfParams::CEILING.p {
            return Err(Error::KdfParamsTooLarge);
        }
        Ok(())
    }

    danger_api! {
    /// [`PasswordKdf::check`] under the model's switches: with `kdf_floor` off, parameters below
    /// the floor pass (version and ceiling are still checked). [KEY-6] [MODEL-5]
    pub fn check_with(&self, d: &crate::defences::Defences) -> Result<()> {
        match self.check() {
            Err(Error::KdfParamsTooWeak) if !d.kdf_floor => Ok(()),
            other => other,
        }
    }
    }

    /// Runs the password path after [`PasswordKdf::check`]. [KEY-5] [KEY-6] [KEY-7]
    ///
    /// `password` is the UTF-8 encoding of the NFC-normalized password.
    pub fn derive(&self, password: &[u8]) -> Result<PasswordKeys> {
        self.check()?;
        let p = &self.params;
        let stretched = argon2id_raw(password, &self.salt, p.m_kib, p.t, p.p)?;
        let prk = hkdf_extract(&Encoder::new(labels::PASSWORD_EXTRACT).finish(), stretched.expose());
        let expand = |label: &str| hkdf_expand32(&prk, &Encoder::new(label).finish());
        let auth = AuthValue::from_bytes(*expand(labels::PASSWORD_AUTH).expose());
        let kek = Kek::from_bytes(*expand(labels::PASSWORD_KEK).expose());
        let authority = AuthoritySeed::from_bytes(*expand(labels::PASSWORD_AUTHORITY).expose());
        Ok(PasswordKeys { stretched, prk, auth, kek, authority })
    }
}

/// Decodes a salt given as a slice, refusing any length but 16. [KEY-5]
pub fn salt_from_slice(bytes: &[u8]) -> Result<[u8; SALT_LEN]> {
    bytes.try_into().map_err(|_| Error::KdfSaltLength)
}

impl AuthValue {
    /// What the server stores: `SHA-256(enc(PASSWORD_AUTH_HASH) ‖ auth)`. [KEY-8]
    /// `enc(PASSWORD_AUTH_HASH)` is the vectors' `auth_hash_prefix`. [KEY-16]
    pub fn server_hash(&self) -> [u8; 32] {
        sha256(&[&Encoder::new(labels::PASSWORD_AUTH_HASH).finish(), self.expose()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kdf(m_kib: u32, t: u32, p: u32) -> PasswordKdf {
        PasswordKdf { salt: [5; 16], params: KdfParams { version: ARGON2_VERSION, m_kib, t, p } }
    }

    // [KEY-6] the floor and ceiling, each bound alone.
    #[test]
    fn policy() {
        assert_eq!(kdf(65536, 3, 4).check(), Ok(()));
        assert_eq!(kdf(8 * 1024, 3, 4).check(), Err(Error::KdfParamsTooWeak));
        assert_eq!(kdf(65535, 3, 4).check(), Err(Error::KdfParamsTooWeak));
        assert_eq!(kdf(65536, 2, 4).check(), Err(Error::KdfParamsTooWeak));
        assert_eq!(kdf(65536, 3, 0).check(), Err(Error::KdfParamsTooWeak));
        assert_eq!(kdf(2 * 1024 * 1024 + 1, 3, 4).check(), Err(Error::KdfParamsTooLarge));
        assert_eq!(kdf(65536, 17, 4).check(), Err(Error::KdfParamsTooLarge));
        assert_eq!(kdf(65536, 3, 17).check(), Err(Error::KdfParamsTooLarge));
        let mut v = kdf(65536, 3, 4);
        v.params.version = 0x10;
        assert_eq!(v.check(), Err(Error::KdfVersion));
        // A weak offer is refused before any Argon2 work happens.
        assert!(matches!(kdf(8, 1, 1).derive(b"pw"), Err(Error::KdfParamsTooWeak)));
    }

    // [KEY-6] encoding round trip, truncation and trailing bytes.
    #[test]
    fn encoding() {
        let k = kdf(65536, 3, 4);
        let e = k.encode();
        assert_eq!(e.len(), ENCODED_LEN);
        assert_eq!(PasswordKdf::decode(&e), Ok(k));
        assert_eq!(PasswordKdf::decode(&e[..31]), Err(Error::DecodeTruncated));
        let mut long = e.clone();
        long.push(0);
        assert_eq!(PasswordKdf::decode(&long), Err(Error::DecodeTrailing));
        assert_eq!(salt_from_slice(&[0; 15]), Err(Error::KdfSaltLength));
        assert_eq!(salt_from_slice(&[0; 16]), Ok([0; 16]));
    }
}
