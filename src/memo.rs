//! Memoization of pure primitives, for the model checker only (spec 12.1, [MODEL-19]).
//!
//! The model checker (`blindsync-model`) runs the real client and server in every transition,
//! so it verifies the same signatures and opens the same HPKE wraps millions of times. With
//! the `danger` feature on and the switch [`set_enabled`] turned on, the pure, deterministic
//! primitives below answer from a process-wide cache keyed by their *full* inputs:
//!
//! - [`crate::primitives::verify_strict`]: `(public key, signature, message)` → verdict;
//! - [`crate::hpke::open`]: `(recipient secret key, enc, info, aad, ciphertext)` → plaintext
//!   or error;
//! - [`crate::hpke::is_low_order`]: `public key` → verdict;
//! - [`crate::primitives::ed25519_key_valid`]: `public key` → verdict;
//! - [`crate::hpke::HpkeSecretKey::public_key`]: `secret key` → public key;
//! - [`crate::primitives::hkdf_extract`] and [`crate::primitives::hkdf_expand32`]:
//!   `(salt, ikm)` and `(prk, info)` → 32-byte key;
//! - [`crate::primitives::hmac_sha256`]: `(key, message)` → tag (buckets, key checks);
//! - Ed25519 signing (RFC 8032 signatures are deterministic) in [`crate::device::DeviceKeys::sign`]
//!   and envelope sealing: `(signing seed, message)` → signature.
//!
//! Each is a function of its inputs alone, so an answer from the cache is the answer the
//! computation gives: no byte and no verdict changes (`model/tests/memo.rs` runs the model with
//! and without the cache and compares state counts and verdicts). The cache holds secret keys
//! and plaintexts of the model's own fixture; it exists only under `danger`, which production
//! code never enables, and is off until switched on. Without the feature every wrapper is the
//! bare computation.

#[cfg(feature = "danger")]
mod imp {
    use std::collections::HashMap;
    use std::hash::{BuildHasher, Hash};

    use foldhash::fast::RandomState;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Mutex, OnceLock};

    use zeroize::Zeroizing;

    use crate::error::Error;

    static ON: AtomicBool = AtomicBool::new(false);

    const SHARDS: usize = 16;

    /// A sharded map from full inputs to results, hashed with foldhash (the inputs are the
    /// model's own; SipHash's resistance to chosen keys buys nothing here and costs most of a
    /// lookup).
    pub(super) struct Cache<K, V> {
        hasher: RandomState,
        shards: Vec<Mutex<HashMap<K, V, RandomState>>>,
    }

    impl<K: Hash + Eq, V: Clone> Cache<K, V> {
        fn new() -> Self {
            let hasher = RandomState::default();
            let shards = (0..SHARDS).map(|_| Mutex::new(HashMap::with_hasher(hasher.clone()))).collect();
            Cache { hasher, shards }
        }

        /// The cached value of `key`, or `compute()` stored under it.
        pub(super) fn get_or(&self, key: K, compute: impl FnOnce() -> V) -> V {
            let shard = (self.hasher.hash_one(&key) as usize) % SHARDS;
            let Some(m) = self.shards.get(shard) else { return compute() };
            if let Ok(g) = m.lock()
                && let Some(v) = g.get(&key)
            {
                return v.clone();
            }
            let v = compute();
            if let Ok(mut g) = m.lock() {
                g.insert(key, v.clone());
            }
            v
        }

        fn clear(&self) {
            for m in &self.shards {
                if let Ok(mut g) = m.lock() {
                    g.clear();
                }
            }
        }
    }

    pub(super) type VerifyKey = ([u8; 32], [u8; 64], Vec<u8>);
    pub(super) type OpenKey = Vec<u8>;
    pub(super) type Opened = Result<Zeroizing<Vec<u8>>, Error>;

    pub(super) fn verify() -> &'static Cache<VerifyKey, bool> {
        static C: OnceLock<Cache<VerifyKey, bool>> = OnceLock::new();
        C.get_or_init(Cache::new)
    }

    pub(super) fn open() -> &'static Cache<OpenKey, Opened> {
        static C: OnceLock<Cache<OpenKey, Opened>> = OnceLock::new();
        C.get_or_init(Cache::new)
    }

    pub(super) fn low_order() -> &'static Cache<[u8; 32], bool> {
        static C: OnceLock<Cache<[u8; 32], bool>> = OnceLock::new();
        C.get_or_init(Cache::new)
    }

    pub(super) fn key_valid() -> &'static Cache<[u8; 32], bool> {
        static C: OnceLock<Cache<[u8; 32], bool>> = OnceLock::new();
        C.get_or_init(Cache::new)
    }

    pub(super) type Bytes32 = Cache<(u8, Vec<u8>), [u8; 32]>;

    pub(super) fn bytes32() -> &'static Bytes32 {
        static C: OnceLock<Bytes32> = OnceLock::new();
        C.get_or_init(Cache::new)
    }

    pub(super) type Signatures = Cache<([u8; 32], Vec<u8>), [u8; 64]>;

    pub(super) fn signatures() -> &'static Signatures {
        static C: OnceLock<Signatures> = OnceLock::new();
        C.get_or_init(Cache::new)
    }

    pub(super) fn enabled() -> bool {
        ON.load(Ordering::Relaxed)
    }

    pub fn set_enabled(on: bool) {
        ON.store(on, Ordering::Relaxed);
        if !on {
            verify().clear();
            open().clear();
            low_order().clear();
            key_valid().clear();
            bytes32().clear();
            signatures().clear();
        }
    }
}

/// Turns the process-wide cache of pure primitives on or off (turning it off empties it).
/// Off by default; only the model checker turns it on. [MODEL-19]
///
/// ```
/// use blindsync::danger::memo;
/// memo::set_enabled(true);
/// assert!(memo::is_enabled());
/// memo::set_enabled(false);
/// ```
#[cfg(feature = "danger")]
pub fn set_enabled(on: bool) {
    imp::set_enabled(on);
}

/// Whether the cache of pure primitives is on. [MODEL-19]
#[cfg(feature = "danger")]
pub fn is_enabled() -> bool {
    imp::enabled()
}

/// [`crate::primitives::verify_strict`] through the cache. [MODEL-19]
#[inline]
pub(crate) fn verify(pk: &[u8; 32], msg: &[u8], sig: &[u8; 64], compute: impl FnOnce() -> bool) -> bool {
    #[cfg(feature = "danger")]
    if imp::enabled() {
        return imp::verify().get_or((*pk, *sig, msg.to_vec()), compute);
    }
    let _ = (pk, msg, sig);
    compute()
}

/// [`crate::hpke::is_low_order`] through the cache. [MODEL-19]
#[inline]
pub(crate) fn low_order(pk: &[u8; 32], compute: impl FnOnce() -> bool) -> bool {
    #[cfg(feature = "danger")]
    if imp::enabled() {
        return imp::low_order().get_or(*pk, compute);
    }
    let _ = pk;
    compute()
}

/// [`crate::primitives::ed25519_key_valid`] through the cache. [MODEL-19]
#[inline]
pub(crate) fn key_valid(pk: &[u8; 32], compute: impl FnOnce() -> bool) -> bool {
    #[cfg(feature = "danger")]
    if imp::enabled() {
        return imp::key_valid().get_or(*pk, compute);
    }
    let _ = pk;
    compute()
}

/// [`crate::hpke::open`] through the cache; the key is every input, length-prefixed. [MODEL-19]
#[inline]
pub(crate) fn hpke_open(
    parts: [&[u8]; 5],
    compute: impl FnOnce() -> crate::error::Result<zeroize::Zeroizing<Vec<u8>>>,
) -> crate::error::Result<zeroize::Zeroizing<Vec<u8>>> {
    #[cfg(feature = "danger")]
    if imp::enabled() {
        let mut key = Vec::with_capacity(parts.iter().map(|p| p.len() + 8).sum());
        for p in parts {
            key.extend_from_slice(&(p.len() as u64).to_be_bytes());
            key.extend_from_slice(p);
        }
        return imp::open().get_or(key, compute);
    }
    let _ = parts;
    compute()
}

/// Which pure function a [`bytes32`] entry is for (part of its key).
#[derive(Clone, Copy)]
pub(crate) enum Fn32 {
    /// `HpkeSecretKey::public_key`.
    X25519Public = 1,
    /// `hkdf_extract`.
    HkdfExtract = 2,
    /// `hkdf_expand32`.
    HkdfExpand32 = 3,
    /// `hmac_sha256`.
    HmacSha256 = 4,
}

/// A pure function with a 32-byte result through the cache; the key is the function and every
/// input, length-prefixed. [MODEL-19]
#[inline]
pub(crate) fn bytes32(f: Fn32, parts: &[&[u8]], compute: impl FnOnce() -> [u8; 32]) -> [u8; 32] {
    #[cfg(feature = "danger")]
    if imp::enabled() {
        let mut key = Vec::with_capacity(parts.iter().map(|p| p.len() + 8).sum());
        for p in parts {
            key.extend_from_slice(&(p.len() as u64).to_be_bytes());
            key.extend_from_slice(p);
        }
        return imp::bytes32().get_or((f as u8, key), compute);
    }
    let _ = (f, parts);
    compute()
}

/// An Ed25519 signature by the key of `seed` over `msg` through the cache (RFC 8032 signing is
/// deterministic). [MODEL-19]
#[inline]
pub(crate) fn sign(seed: &[u8; 32], msg: &[u8], compute: impl FnOnce() -> [u8; 64]) -> [u8; 64] {
    #[cfg(feature = "danger")]
    if imp::enabled() {
        return imp::signatures().get_or((*seed, msg.to_vec()), compute);
    }
    let _ = (seed, msg);
    compute()
}
