//! Secret byte strings (spec 4.9, [PRIM-8]).
//!
//! Every secret type in BlindSync is built by [`secret_type!`]: it zeroizes
//! on drop, compares in constant time, and has **no** `Debug` or `Display`
//! implementation, so it cannot be printed by accident (rustls' discipline).
//! Reading the bytes requires an explicit call to `expose()`.

/// Declares a fixed-length secret type. [PRIM-8]
#[macro_export]
macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident, $len:expr) => {
        $(#[$doc])*
        #[derive(Clone, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
        pub struct $name([u8; $len]);

        impl $name {
            /// Length in bytes.
            pub const LEN: usize = $len;

            /// Wraps bytes the caller already holds.
            pub fn from_bytes(bytes: [u8; $len]) -> Self {
                $name(bytes)
            }

            /// Copies from a slice of exactly `LEN` bytes.
            pub fn from_slice(bytes: &[u8]) -> Option<Self> {
                let arr: [u8; $len] = bytes.try_into().ok()?;
                Some($name(arr))
            }

            /// Draws fresh bytes from `rng`. [PRIM-7]
            pub fn random<R: $crate::primitives::CryptoRng + ?Sized>(rng: &mut R) -> Self {
                let mut b = [0u8; $len];
                rng.fill_bytes(&mut b);
                $name(b)
            }

            /// The secret bytes. Every call site is a place a secret leaves its type.
            pub fn expose(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl subtle::ConstantTimeEq for $name {
            fn ct_eq(&self, other: &Self) -> subtle::Choice {
                self.0.ct_eq(&other.0)
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                bool::from(subtle::ConstantTimeEq::ct_eq(self, other))
            }
        }

        impl Eq for $name {}
    };
}

secret_type!(
    /// A generic 32-byte secret: HKDF PRKs and intermediate keys.
    Secret32,
    32
);

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Autoref probe: `IsDebug::<T>::VALUE` is true exactly when `T: Debug`.
    pub(crate) struct IsDebug<T>(core::marker::PhantomData<T>);
    pub(crate) trait NotDebug {
        const VALUE: bool = false;
    }
    impl<T> NotDebug for IsDebug<T> {}
    impl<T: core::fmt::Debug> IsDebug<T> {
        pub(crate) const VALUE: bool = true;
    }

    // [PRIM-8] the probe works, and secrets have no Debug.
    #[test]
    fn secrets_do_not_implement_debug() {
        const { assert!(IsDebug::<[u8; 32]>::VALUE) };
        const { assert!(!IsDebug::<Secret32>::VALUE) };
    }

    // [PRIM-8] equality is by value, zeroize clears.
    #[test]
    fn equality_and_zeroize() {
        use zeroize::Zeroize;
        let a = Secret32::from_bytes([7; 32]);
        let mut b = a.clone();
        assert!(a == b);
        b.zeroize();
        assert_eq!(b.expose(), &[0u8; 32]);
        assert!(a != b);
        assert!(Secret32::from_slice(&[0; 31]).is_none());
    }
}
