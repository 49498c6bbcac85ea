//! Unlock paths (spec 5.3 to 5.5, `spec/05-keys.md`): the recovery code and
//! the password each yield a KEK that wraps the UMK and an Ed25519 authority
//! key that may enroll devices; [`wrap`] seals and opens the UMK wraps.

pub mod password;
pub mod recovery;
pub mod wrap;

use crate::secret_type;

secret_type!(
    /// The 32-byte Ed25519 seed of an unlock path's authority key. [KEY-4] [KEY-7]
    AuthoritySeed,
    32
);

impl AuthoritySeed {
    /// The Ed25519 public key of this authority (RFC 8032 key generation from the seed).
    pub fn public_key(&self) -> [u8; 32] {
        ed25519_dalek::SigningKey::from_bytes(self.expose()).verifying_key().to_bytes()
    }

    /// The Ed25519 signing key (callers drop it as soon as they have signed).
    pub fn signing_key(&self) -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(self.expose())
    }
}
