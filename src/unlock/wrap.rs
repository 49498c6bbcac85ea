//! UMK wraps under the recovery KEK and the password KEK (spec 5.5, `spec/05-keys.md`).
//!
//! ```text
//! aad  = enc(AAD_UMK_WRAP, account_id(32), u32 epoch, u8 kind, bytes kdf_binding)
//! wrap = nonce(24) ‖ XChaCha20-Poly1305(KEK, nonce, aad, UMK)(32) ‖ tag(16)    -- 72 bytes
//! ```
//!
//! `kdf_binding` is empty for the recovery path and the 32-byte
//! [`PasswordKdf::encode`] for the password path, so a server that serves
//! other salt or parameters than those the wrap was made with gets
//! [`Error::WrapOpen`] even if they pass the floor.
//!
//! ```
//! use blindsync::keys::{AccountId, Kek, Umk};
//! use blindsync::unlock::wrap::{UmkWrapContext, WrapKind, wrap_umk, unwrap_umk};
//! use blindsync::primitives::SeededRng;
//! let kek = Kek::from_bytes([3; 32]);
//! let umk = Umk::from_bytes([4; 32]);
//! let ctx = UmkWrapContext { account: AccountId([1; 32]), epoch: 0, kind: WrapKind::Recovery, kdf_binding: vec![] };
//! let wrap = wrap_umk(&kek, &umk, &ctx, &mut SeededRng::from_label("doc"))?;
//! assert!(unwrap_umk(&kek, &wrap, &ctx)? == umk);
//! let other_epoch = UmkWrapContext { epoch: 1, ..ctx };
//! assert!(unwrap_umk(&kek, &wrap, &other_epoch).is_err());
//! # Ok::<(), blindsync::Error>(())
//! ```
//!
//! [`PasswordKdf::encode`]: super::password::PasswordKdf::encode

use zeroize::Zeroize;

use crate::encoding::Encoder;
use crate::error::{Error, Result};
use crate::keys::{AccountId, Epoch, Kek, Umk};
use crate::labels;
use crate::primitives::{CryptoRng, TAG_LEN, XNONCE_LEN, xchacha_open, xchacha_seal};

/// Longest `kdf_binding` in a wrap context. [WRAP-2]
pub const MAX_KDF_BINDING: usize = 64;

/// Length of a UMK wrap: nonce, UMK ciphertext, tag. [WRAP-1]
pub const UMK_WRAP_LEN: usize = XNONCE_LEN + 32 + TAG_LEN;

wire_enum! {
    /// Which unlock path a wrap belongs to; another wire value is
    /// `E_DECODE_VALUE`. [WRAP-2]
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum WrapKind (unknown: Error::DecodeValue) {
        /// Wrapped under the recovery KEK.
        Recovery = 1,
        /// Wrapped under the password KEK.
        Password = 2,
    }
}

/// Everything a UMK wrap is bound to. [WRAP-2]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UmkWrapContext {
    /// The account the UMK belongs to.
    pub account: AccountId,
    /// The epoch of the UMK.
    pub epoch: Epoch,
    /// The unlock path.
    pub kind: WrapKind,
    /// Empty for [`WrapKind::Recovery`]; the encoded salt and parameters for [`WrapKind::Password`].
    pub kdf_binding: Vec<u8>,
}

impl UmkWrapContext {
    /// Checks the context's own limits: `kdf_binding` of at most 64 bytes. [WRAP-2]
    /// `E_DECODE_LENGTH`, before the wrap is looked at or sealed. [WRAP-5]
    pub fn check(&self) -> Result<()> {
        if self.kdf_binding.len() > MAX_KDF_BINDING { Err(Error::DecodeLength) } else { Ok(()) }
    }

    /// The AAD: `enc(AAD_UMK_WRAP, account_id, u32 epoch, u8 kind, bytes kdf_binding)`. [WRAP-2]
    pub fn aad(&self) -> Vec<u8> {
        Encoder::new(labels::AAD_UMK_WRAP)
            .fixed(&self.account.0)
            .u32(self.epoch)
            .u8(self.kind as u8)
            .bytes(&self.kdf_binding)
            .finish()
    }
}

/// Wraps `umk` with a fresh random nonce. [WRAP-1] [WRAP-3]
pub fn wrap_umk<R: CryptoRng + ?Sized>(
    kek: &Kek,
    umk: &Umk,
    ctx: &UmkWrapContext,
    rng: &mut R,
) -> Result<[u8; UMK_WRAP_LEN]> {
    let mut nonce = [0u8; XNONCE_LEN];
    rng.fill_bytes(&mut nonce);
    wrap_umk_with_nonce(kek, umk, ctx, &nonce)
}

/// Wraps `umk` with the given nonce (test vectors only: a nonce must never repeat under one KEK). [WRAP-1]
pub fn wrap_umk_with_nonce(
    kek: &Kek,
    umk: &Umk,
    ctx: &UmkWrapContext,
    nonce: &[u8; XNONCE_LEN],
) -> Result<[u8; UMK_WRAP_LEN]> {
    ctx.check()?;
    let key = crate::secret::Secret32::from_bytes(*kek.expose());
    let mut ct = xchacha_seal(&key, nonce, &ctx.aad(), umk.expose())?;
    let mut out = [0u8; UMK_WRAP_LEN];
    out[..XNONCE_LEN].copy_from_slice(nonce);
    out[XNONCE_LEN..].copy_from_slice(&ct);
    ct.zeroize();
    Ok(out)
}

/// Opens a UMK wrap. [WRAP-1] [WRAP-4]
///
/// Errors, in this order: [`Error::DecodeLength`] for a `kdf_binding` over 64
/// bytes; [`Error::WrapLength`] unless `wrap` is exactly 72 bytes;
/// [`Error::WrapOpen`] for every authentication failure, whatever its cause.
pub fn unwrap_umk(kek: &Kek, wrap: &[u8], ctx: &UmkWrapContext) -> Result<Umk> {
    ctx.check()?;
    if wrap.len() != UMK_WRAP_LEN {
        return Err(Error::WrapLength);
    }
    let (nonce, ct) = wrap.split_at(XNONCE_LEN);
    let nonce: [u8; XNONCE_LEN] = nonce.try_into().map_err(|_| Error::WrapLength)?;
    let key = crate::secret::Secret32::from_bytes(*kek.expose());
    let mut pt = xchacha_open(&key, &nonce, &ctx.aad(), ct, Error::WrapOpen)?;
    let umk = Umk::from_slice(&pt).ok_or(Error::WrapOpen);
    // [KEY-9] the plaintext buffer is overwritten; `Umk` and `Kek` zeroize on drop.
    pt.zeroize();
    umk
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primitives::SeededRng;

    fn ctx() -> UmkWrapContext {
        UmkWrapContext { account: AccountId([1; 32]), epoch: 3, kind: WrapKind::Password, kdf_binding: vec![7; 32] }
    }

    // [WRAP-4] every byte of the wrap and every context field is authenticated.
    #[test]
    fn every_bit_and_field_is_bound() {
        let kek = Kek::from_bytes([2; 32]);
        let umk = Umk::from_bytes([3; 32]);
        let wrap = wrap_umk(&kek, &umk, &ctx(), &mut SeededRng::from_label("w")).unwrap();
        assert!(unwrap_umk(&kek, &wrap, &ctx()).unwrap() == umk);
        for i in 0..UMK_WRAP_LEN {
            let mut w = wrap;
            w[i] ^= 0x01;
            assert_eq!(unwrap_umk(&kek, &w, &ctx()).err(), Some(Error::WrapOpen), "byte {i}");
        }
        let variants = [
            UmkWrapContext { account: AccountId([9; 32]), ..ctx() },
            UmkWrapContext { epoch: 4, ..ctx() },
            UmkWrapContext { kind: WrapKind::Recovery, ..ctx() },
            UmkWrapContext { kdf_binding: vec![8; 32], ..ctx() },
            UmkWrapContext { kdf_binding: vec![], ..ctx() },
        ];
        for v in variants {
            assert_eq!(unwrap_umk(&kek, &wrap, &v).err(), Some(Error::WrapOpen));
        }
        assert_eq!(unwrap_umk(&Kek::from_bytes([5; 32]), &wrap, &ctx()).err(), Some(Error::WrapOpen));
        assert_eq!(unwrap_umk(&kek, &wrap[..71], &ctx()).err(), Some(Error::WrapLength));
        assert_eq!(unwrap_umk(&kek, &[], &ctx()).err(), Some(Error::WrapLength));
        // [WRAP-5] a binding over 64 bytes is E_DECODE_LENGTH, before the wrap's length is looked
        // at; a writer refuses it too; 64 bytes pass the check (and fail the open).
        let long = UmkWrapContext { kdf_binding: vec![0; 65], ..ctx() };
        assert_eq!(unwrap_umk(&kek, &wrap, &long).err(), Some(Error::DecodeLength));
        assert_eq!(unwrap_umk(&kek, &wrap[..71], &long).err(), Some(Error::DecodeLength));
        assert_eq!(wrap_umk(&kek, &umk, &long, &mut SeededRng::from_label("w")).err(), Some(Error::DecodeLength));
        let max = UmkWrapContext { kdf_binding: vec![0; 64], ..ctx() };
        assert_eq!(unwrap_umk(&kek, &wrap, &max).err(), Some(Error::WrapOpen));
        assert_eq!(unwrap_umk(&kek, &wrap[..71], &max).err(), Some(Error::WrapLength));
        assert_eq!(WrapKind::from_u8(0), Err(Error::DecodeValue));
        assert_eq!(WrapKind::from_u8(2), Ok(WrapKind::Password));
    }
}
