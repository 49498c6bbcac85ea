//! Key slots: a batch's data key wrapped to each recipient (spec 10.4).
//!
//! ```text
//! slot  = recipient(32) ‖ enc(32) ‖ ct(48)                         -- HPKE (chapter 8) of the 32-byte data key
//! info  = enc(HPKE_BATCH_KEY, u8 version)
//! aad   = enc(AAD_BATCH_SLOT, account_id(32), batch_id(16), recipient(32))
//! slots = u16 count ‖ slot × count                                 -- recipients strictly ascending
//! ```

use zeroize::Zeroizing;

use super::BatchId;
use crate::chain::ChainState;
use crate::encoding::{Encoder, Reader};
use crate::error::{Error, Result};
use crate::hpke::{self, HpkeSecretKey};
use crate::keys::AccountId;
use crate::labels;
use crate::primitives::CryptoRng;
use crate::stream::StreamKeySource;

/// Length of one key slot. [BAT-3]
pub const SLOT_LEN: usize = 32 + hpke::ENC_LEN + 32 + hpke::TAG_LEN;

/// `enc(HPKE_BATCH_KEY, u8 version)`. [BAT-3]
pub fn slot_info() -> Vec<u8> {
    Encoder::new(labels::HPKE_BATCH_KEY).u8(1).finish()
}

/// `enc(AAD_BATCH_SLOT, account_id(32), batch_id(16), recipient(32))`. [BAT-3]
pub fn slot_aad(account: &AccountId, batch: &BatchId, recipient: &[u8; 32]) -> Vec<u8> {
    Encoder::new(labels::AAD_BATCH_SLOT).fixed(&account.0).fixed(&batch.0).fixed(recipient).finish()
}

/// True when the chain lets a data key be wrapped to `key`: a pinned partner
/// or an active device of the account (the owner). [BAT-4]
pub fn chain_allows(chain: &ChainState, key: &[u8; 32]) -> bool {
    chain.is_pinned(key) || chain.devices().iter().any(|(id, d)| d.x25519 == *key && chain.is_active(id))
}

danger_api! {
/// [`chain_allows`] under the model's switches: with `pinned_keys` off every key is allowed,
/// so a caller that seals with it wraps a data key to whatever key the server names.
/// [BAT-4] [MODEL-5]
pub fn chain_allows_with(chain: &ChainState, key: &[u8; 32], d: &crate::defences::Defences) -> bool {
    !d.pinned_keys || chain_allows(chain, key)
}
}

/// Wraps `data_key` to every recipient, refusing a key the chain does not allow. [BAT-3] [BAT-4]
///
/// ```text
/// seal_slots(recipients):  every recipient allowed by the chain   else E_BATCH_UNPINNED
///   sort and deduplicate recipients; slot = recipient ‖ HPKE-Seal(recipient, info, aad(recipient), data_key)
/// ```
pub fn seal_slots<R: CryptoRng + ?Sized>(
    account: &AccountId,
    batch: &BatchId,
    recipients: &[[u8; 32]],
    allowed: &dyn Fn(&[u8; 32]) -> bool,
    data_key: &StreamKeySource,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let mut keys = recipients.to_vec();
    keys.sort_unstable();
    keys.dedup();
    if keys.iter().any(|k| !allowed(k)) {
        return Err(Error::BatchUnpinned);
    }
    let count = u16::try_from(keys.len()).map_err(|_| Error::DecodeLength)?;
    let mut out = count.to_be_bytes().to_vec();
    for k in &keys {
        let (enc, ct) = hpke::seal(k, &slot_info(), &slot_aad(account, batch, k), data_key.expose(), rng)?;
        out.extend_from_slice(k);
        out.extend_from_slice(&enc);
        out.extend_from_slice(&ct);
    }
    Ok(out)
}

/// One decoded slot: recipient, HPKE enc, ciphertext.
type SlotRef<'a> = ([u8; 32], [u8; hpke::ENC_LEN], &'a [u8]);

/// Decodes the slots encoding: count, `count * 112` bytes, nothing after,
/// recipients strictly ascending (else `E_DECODE_VALUE`). [BAT-3] [BAT-4]
fn parse(slots: &[u8]) -> Result<Vec<SlotRef<'_>>> {
    let mut r = Reader::new(slots);
    let count = r.u16()? as usize;
    // [BAT-4] the structure first (count slots, nothing after), then the order of the recipients.
    match r.remaining().cmp(&count.saturating_mul(SLOT_LEN)) {
        core::cmp::Ordering::Less => return Err(Error::DecodeTruncated),
        core::cmp::Ordering::Greater => return Err(Error::DecodeTrailing),
        core::cmp::Ordering::Equal => {}
    }
    let mut out: Vec<SlotRef<'_>> = Vec::with_capacity(count);
    for _ in 0..count {
        let recipient: [u8; 32] = r.array()?;
        let enc: [u8; hpke::ENC_LEN] = r.array()?;
        let ct = r.fixed(32 + hpke::TAG_LEN)?;
        if out.last().is_some_and(|p| p.0 >= recipient) {
            return Err(Error::DecodeValue);
        }
        out.push((recipient, enc, ct));
    }
    r.finish()?;
    Ok(out)
}

/// The recipients of an encoded slot list, ascending. [BAT-3] [BAT-8]
pub fn slot_recipients(slots: &[u8]) -> Result<Vec<[u8; 32]>> {
    Ok(parse(slots)?.into_iter().map(|s| s.0).collect())
}

/// Opens the slot addressed to `me`. [BAT-3] [BAT-4]
///
/// ```text
/// open_slot(slots, me):
///   count; count * 112 bytes; nothing follows           (E_DECODE_TRUNCATED / E_DECODE_TRAILING)
///   recipients strictly ascending                       else E_DECODE_VALUE
///   the slot whose recipient == public key of me        else E_BATCH_NO_SLOT
///   the chain allows that recipient                     else E_BATCH_UNPINNED
///   HPKE-Open(me, enc, info, aad(recipient), ct), 32 bytes   else E_HPKE_OPEN
/// ```
pub fn open_slot(
    account: &AccountId,
    batch: &BatchId,
    slots: &[u8],
    allowed: &dyn Fn(&[u8; 32]) -> bool,
    me: &HpkeSecretKey,
) -> Result<StreamKeySource> {
    let my_pk = me.public_key();
    let mine = parse(slots)?.into_iter().find(|s| s.0 == my_pk);
    let (recipient, enc, ct) = mine.ok_or(Error::BatchNoSlot)?;
    if !allowed(&recipient) {
        return Err(Error::BatchUnpinned);
    }
    // [BAT-15] [HPKE-2] unchanged: a small-order enc is E_HPKE_LOW_ORDER, any other failure E_HPKE_OPEN.
    let key: Zeroizing<Vec<u8>> = hpke::open(me, &enc, &slot_info(), &slot_aad(account, batch, &recipient), ct)?;
    StreamKeySource::from_slice(&key).ok_or(Error::HpkeOpen)
}
