//! `unwrap_umk` on arbitrary wrap bytes and context (spec 5.5).
//!
//! Input layout (see [`Bytes`]): `kek(32) ‖ account(32) ‖ u32 epoch ‖
//! u8 kind ‖ u8 binding_len ‖ kdf_binding ‖ wrap (the rest)`.
//!
//! Checks: unwrapping never panics and fails in the order [WRAP-4] gives
//! (kind, binding limit, length, then the single `E_WRAP_OPEN`); a wrap that
//! opens re-seals to the same bytes under its own nonce; a fresh wrap made
//! from the input round-trips, and flipping any one of its bits or changing
//! the epoch makes it fail with `E_WRAP_OPEN`.

use blindsync::Error;
use blindsync::keys::{AccountId, Kek, Umk};
use blindsync::primitives::sha256;
use blindsync::unlock::wrap::{
    MAX_KDF_BINDING, UMK_WRAP_LEN, UmkWrapContext, WrapKind, unwrap_umk, wrap_umk_with_nonce,
};

use crate::Vectors;
use crate::input::Bytes;
use crate::seeds::{hex_field, u64_field};

/// Longest input worth trying.
pub const MAX_LEN: usize = 512;

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut b = Bytes::new(data);
    let kek = Kek::from_bytes(b.array());
    let account = AccountId(b.array());
    let epoch = b.u32();
    let kind_byte = b.u8();
    let binding_len = usize::from(b.u8());
    let kdf_binding = b.take(binding_len).to_vec();
    let wrap = b.rest();

    // [WRAP-4] the kind comes first: an unknown kind is E_DECODE_VALUE.
    let kind = match WrapKind::from_u8(kind_byte) {
        Ok(k) => k,
        Err(e) => {
            assert_eq!(e, Error::DecodeValue);
            WrapKind::Recovery
        }
    };
    let ctx = UmkWrapContext { account, epoch, kind, kdf_binding };

    match unwrap_umk(&kek, wrap, &ctx) {
        Ok(umk) => {
            // Only a genuine wrap opens: sealing again under its nonce gives it back.
            let nonce: [u8; 24] = wrap[..24].try_into().unwrap_or([0; 24]);
            let again = wrap_umk_with_nonce(&kek, &umk, &ctx, &nonce);
            assert!(again.is_ok_and(|w| w[..] == *wrap), "an opened wrap does not re-seal to itself");
        }
        Err(e) => {
            let want = if ctx.kdf_binding.len() > MAX_KDF_BINDING {
                Error::DecodeLength
            } else if wrap.len() != UMK_WRAP_LEN {
                Error::WrapLength
            } else {
                Error::WrapOpen
            };
            assert_eq!(e, want);
        }
    }

    // A fresh wrap made from this input round-trips and every change is caught.
    let digest = sha256(&[b"blindsync-fuzz/umk_unwrap", data]);
    let umk = Umk::from_bytes(digest);
    let nonce: [u8; 24] = sha256(&[&digest])[..24].try_into().unwrap_or([0; 24]);
    match wrap_umk_with_nonce(&kek, &umk, &ctx, &nonce) {
        Ok(fresh) => {
            assert!(unwrap_umk(&kek, &fresh, &ctx).is_ok_and(|u| u == umk), "a fresh wrap does not open");
            let bit = usize::from(digest[0]) * 8 + usize::from(digest[1] % 8);
            let mut tampered = fresh;
            tampered[bit % UMK_WRAP_LEN] ^= 1 << (bit / UMK_WRAP_LEN % 8);
            assert_eq!(unwrap_umk(&kek, &tampered, &ctx).err(), Some(Error::WrapOpen));
            let other = UmkWrapContext { epoch: epoch.wrapping_add(1), ..ctx.clone() };
            assert_eq!(unwrap_umk(&kek, &fresh, &other).err(), Some(Error::WrapOpen));
        }
        Err(e) => {
            assert!(ctx.kdf_binding.len() > MAX_KDF_BINDING, "wrap failed: {e:?}");
            assert_eq!(e, Error::DecodeLength);
        }
    }
}

/// Every raw wrap in the vectors, with its context and KEK.
pub fn seeds(v: &Vectors) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (kind, part, key) in [("umk_unwrap", "input", "wrap"), ("umk_wrap", "output", "wrap")] {
        for x in v.of_kind(kind) {
            let (Some(kek), Some(account), Some(epoch), Some(k), Some(binding), Some(wrap)) = (
                hex_field(x, "input", "kek"),
                hex_field(x, "input", "account_id"),
                u64_field(x, "input", "epoch"),
                u64_field(x, "input", "kind"),
                hex_field(x, "input", "kdf_binding"),
                hex_field(x, part, key),
            ) else {
                continue;
            };
            let (Ok(epoch), Ok(k), Ok(blen)) = (u32::try_from(epoch), u8::try_from(k), u8::try_from(binding.len()))
            else {
                continue;
            };
            let mut seed = Vec::new();
            seed.extend_from_slice(&kek);
            seed.extend_from_slice(&account);
            seed.extend_from_slice(&epoch.to_be_bytes());
            seed.push(k);
            seed.push(blen);
            seed.extend_from_slice(&binding);
            seed.extend_from_slice(&wrap);
            out.push(seed);
        }
    }
    out
}
