//! The key schedule below the UMK (spec 5.1, 5.2 and 5.6, `spec/05-keys.md`).
//!
//! ```text
//! UMK_e (32 random bytes per epoch e)
//!   PRK_e          = HKDF-Extract(salt = enc(EPOCH_EXTRACT, account_id, e), IKM = UMK_e)
//!   CK_e(name)     = HKDF-Expand(PRK_e, enc(COLLECTION_KEY, name), 32)
//!   routing_key    = HKDF-Expand(PRK_0, enc(ROUTING_KEY), 32)
//!   bucket(name)   = HMAC-SHA256(routing_key, enc(BUCKET, name))
//!   key_check_e    = HMAC-SHA256(UMK_e, enc(KEY_CHECK, e))         -- public, in the chain
//! ```
//!
//! ```
//! use blindsync::keys::{AccountId, EpochKeys, Umk};
//! let umk = Umk::from_bytes([1; 32]);
//! let account = AccountId([2; 32]);
//! let keys = EpochKeys::derive(&umk, &account, 0);
//! let bucket = keys.routing_key().bucket("notes")?;
//! assert_eq!(bucket.0.len(), 32);
//! # Ok::<(), blindsync::Error>(())
//! ```

use crate::encoding::Encoder;
use crate::error::{Error, Result};
use crate::labels;
use crate::primitives::{hkdf_expand32, hkdf_extract, hmac_sha256};
use crate::secret::Secret32;
use crate::secret_type;

/// Longest collection name in bytes (UTF-8). [KEY-12]
pub const MAX_COLLECTION_NAME: usize = 255;

secret_type!(
    /// The account master key of one key epoch: 32 random bytes. [KEY-1]
    Umk,
    32
);

secret_type!(
    /// A key-encryption key that wraps the UMK (recovery or password path). [KEY-4] [KEY-7]
    Kek,
    32
);

secret_type!(
    /// The account routing key: only ever used to compute opaque buckets. [KEY-11]
    RoutingKey,
    32
);

secret_type!(
    /// A per-collection, per-epoch key: the key source of that collection's envelopes. [KEY-12]
    CollectionKey,
    32
);

/// The 32-byte account id (derived from the genesis statement; spec chapter 8). [KEY-2]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(pub [u8; 32]);

/// A key epoch number; epoch 0 is created with the account. [KEY-2]
pub type Epoch = u32;

/// An opaque collection bucket: what the server sees instead of a name. [KEY-13]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bucket(pub [u8; 32]);

/// The keys derived from one epoch's UMK. [KEY-10]
#[derive(Clone)]
pub struct EpochKeys {
    epoch: Epoch,
    prk: Secret32,
}

impl EpochKeys {
    /// `PRK_e = HKDF-Extract(enc(EPOCH_EXTRACT, account_id, e), UMK_e)`. [KEY-10]
    pub fn derive(umk: &Umk, account: &AccountId, epoch: Epoch) -> Self {
        let salt = Encoder::new(labels::EPOCH_EXTRACT).fixed(&account.0).u32(epoch).finish();
        EpochKeys { epoch, prk: hkdf_extract(&salt, umk.expose()) }
    }

    /// The epoch these keys belong to.
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// The epoch PRK (exposed for test vectors).
    pub fn prk(&self) -> &Secret32 {
        &self.prk
    }

    /// `CK_e(name) = HKDF-Expand(PRK_e, enc(COLLECTION_KEY, name), 32)`. [KEY-12]
    pub fn collection_key(&self, name: &str) -> Result<CollectionKey> {
        check_name(name)?;
        let info = Encoder::new(labels::COLLECTION_KEY).bytes(name.as_bytes()).finish();
        Ok(CollectionKey::from_bytes(*hkdf_expand32(&self.prk, &info).expose()))
    }

    /// The routing key. Only epoch 0's routing key is the account's: buckets
    /// must not change when the epoch rotates. [KEY-11]
    pub fn routing_key(&self) -> RoutingKey {
        let info = Encoder::new(labels::ROUTING_KEY).finish();
        RoutingKey::from_bytes(*hkdf_expand32(&self.prk, &info).expose())
    }
}

impl RoutingKey {
    /// `bucket(name) = HMAC-SHA256(routing_key, enc(BUCKET, name))`. [KEY-13]
    pub fn bucket(&self, name: &str) -> Result<Bucket> {
        check_name(name)?;
        let msg = Encoder::new(labels::BUCKET).bytes(name.as_bytes()).finish();
        Ok(Bucket(hmac_sha256(self.expose(), &msg)))
    }
}

impl Umk {
    /// `key_check_e = HMAC-SHA256(UMK_e, enc(KEY_CHECK, u32 e))`: the public
    /// value the account chain records for epoch `e`. [KEY-14] [CHAIN-16]
    pub fn key_check(&self, epoch: Epoch) -> [u8; 32] {
        hmac_sha256(self.expose(), &Encoder::new(labels::KEY_CHECK).u32(epoch).finish())
    }

    /// Whether this UMK matches `expected` as epoch `epoch`'s key check,
    /// compared in constant time; [`Error::KeyCheck`] otherwise. [CHAIN-16]
    pub fn check(&self, epoch: Epoch, expected: &[u8; 32]) -> Result<()> {
        if crate::primitives::ct_eq(&self.key_check(epoch), expected) { Ok(()) } else { Err(Error::KeyCheck) }
    }
}

/// [KEY-12] names are 1..=255 bytes of UTF-8 (a `&str` is always UTF-8).
fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_COLLECTION_NAME { Err(Error::CollectionName) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::tests::IsDebug;
    use crate::secret::tests::NotDebug as _;

    // [PRIM-8] key types cannot be printed.
    #[test]
    fn key_types_have_no_debug() {
        const { assert!(!IsDebug::<Umk>::VALUE) };
        const { assert!(!IsDebug::<Kek>::VALUE) };
        const { assert!(!IsDebug::<RoutingKey>::VALUE) };
        const { assert!(!IsDebug::<CollectionKey>::VALUE) };
        const { assert!(!IsDebug::<EpochKeys>::VALUE) };
    }

    // [KEY-9] [PRIM-8] every key type overwrites itself on drop.
    #[test]
    fn key_types_zeroize_on_drop() {
        fn zod<T: zeroize::ZeroizeOnDrop>() {}
        zod::<Umk>();
        zod::<Kek>();
        zod::<RoutingKey>();
        zod::<CollectionKey>();
        zod::<crate::unlock::AuthoritySeed>();
        zod::<crate::unlock::recovery::RecoveryCode>();
        zod::<crate::unlock::password::AuthValue>();
    }

    // [KEY-10] [KEY-12] epochs, accounts and names separate keys.
    #[test]
    fn separation() {
        let umk = Umk::from_bytes([9; 32]);
        let a = AccountId([1; 32]);
        let b = AccountId([2; 32]);
        let k = |acc: &AccountId, e, n: &str| *EpochKeys::derive(&umk, acc, e).collection_key(n).unwrap().expose();
        assert_ne!(k(&a, 0, "x"), k(&a, 1, "x"));
        assert_ne!(k(&a, 0, "x"), k(&b, 0, "x"));
        assert_ne!(k(&a, 0, "x"), k(&a, 0, "y"));
        let ek = EpochKeys::derive(&umk, &a, 0);
        assert_ne!(ek.routing_key().bucket("x").unwrap(), ek.routing_key().bucket("y").unwrap());
    }

    // [KEY-12] names outside 1..=255 bytes are refused.
    #[test]
    fn name_limits() {
        let ek = EpochKeys::derive(&Umk::from_bytes([0; 32]), &AccountId([0; 32]), 0);
        assert!(matches!(ek.collection_key(""), Err(Error::CollectionName)));
        assert!(ek.collection_key(&"a".repeat(255)).is_ok());
        assert!(matches!(ek.collection_key(&"a".repeat(256)), Err(Error::CollectionName)));
        assert!(matches!(ek.routing_key().bucket(""), Err(Error::CollectionName)));
    }
}
