//! Attachments: content-addressed, keyed-id blobs (spec 10.6, `spec/10-batches.md`).
//!
//! ```text
//! attachment_key_e = HKDF-Expand(PRK_e, enc(ATTACHMENT_KEY, u32 e), 32)                  -- [ATT-1], epoch e
//! attachment_id    = HMAC-SHA256(attachment_key_e, enc(ATTACHMENT_ID, SHA-256(P)(32)))    -- [ATT-2]
//! source           = HKDF-Expand(attachment_key_e, enc(ATTACHMENT_SOURCE, attachment_id), 32)  -- [ATT-3]
//! padded           = enc(ATTACHMENT_PADDED, u64 len(P)) ‖ P ‖ 0^k, Padmé length           -- [ATT-6]
//! blob             = stream(source, stream_id = id[0..16], context = id) of padded
//! ```
//!
//! A record that references an attachment names its epoch and id. The server
//! deduplicates by id within an account and epoch but cannot confirm a
//! guessed file; it still sees equality within an epoch, blob sizes to within
//! Padmé's buckets and the access pattern. A device revoked at an epoch
//! rotation cannot read what is uploaded after it. [ATT-5]
//!
//! ```
//! use blindsync::attachment::{self, AttachmentKey};
//! use blindsync::envelope::Suite;
//! use blindsync::keys::{AccountId, EpochKeys, Umk};
//! use blindsync::primitives::SeededRng;
//!
//! let account = AccountId([1; 32]);
//! let key = AttachmentKey::derive(&EpochKeys::derive(&Umk::from_bytes([2; 32]), &account, 3));
//! let sk = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
//! let photo = vec![0xab; 100_000];
//! let sealed = attachment::seal(&account, &key, Suite::Aes256Gcm, &sk, &photo, &mut SeededRng::from_label("doc"))?;
//! // Same file, same id (the server deduplicates); another account's key gives another id.
//! assert_eq!(sealed.id, key.id(&photo));
//! let opened = attachment::open(&account, &key, &sealed.id, Suite::Aes256Gcm, &sealed.manifest, &sealed.body,
//!     &sk.verifying_key().to_bytes())?;
//! assert_eq!(opened, photo);
//! # Ok::<(), blindsync::Error>(())
//! ```

use ed25519_dalek::SigningKey;
use zeroize::Zeroize;

use crate::defences::Defences;
use crate::encoding::{Encoder, Reader};
use crate::envelope::Suite;
use crate::error::{Error, Result};
use crate::keys::{AccountId, Epoch, EpochKeys};
use crate::labels;
use crate::primitives::{CryptoRng, ct_eq, hkdf_expand32, hmac_sha256, sha256};
use crate::secret::Secret32;
use crate::secret_type;
use crate::stream::{self, StreamKeySource, StreamOpenContext, StreamParams};

secret_type!(
    /// An epoch's attachment key, from that epoch's PRK. [ATT-1]
    AttachmentKey,
    32
);

/// An attachment id: 32 bytes, keyed by the account. [ATT-2]
pub type AttachmentId = [u8; 32];

/// `enc(ATTACHMENT_KEY, u32 epoch)`. [ATT-1]
pub fn key_info(epoch: Epoch) -> Vec<u8> {
    Encoder::new(labels::ATTACHMENT_KEY).u32(epoch).finish()
}

/// `enc(ATTACHMENT_ID, digest(32))`: the HMAC message of an id. [ATT-2]
pub fn id_message(digest: &[u8; 32]) -> Vec<u8> {
    Encoder::new(labels::ATTACHMENT_ID).fixed(digest).finish()
}

/// `enc(ATTACHMENT_SOURCE, attachment_id(32))`. [ATT-3]
pub fn source_info(id: &AttachmentId) -> Vec<u8> {
    Encoder::new(labels::ATTACHMENT_SOURCE).fixed(id).finish()
}

impl AttachmentKey {
    /// `HKDF-Expand(PRK_e, enc(ATTACHMENT_KEY, u32 e), 32)` for the epoch of `keys`: a
    /// writer uses the current epoch, a reader the epoch the referencing record names. [ATT-1]
    pub fn derive(keys: &EpochKeys) -> Self {
        Self::from_prk(keys.prk(), keys.epoch())
    }

    danger_api! {
    /// The attachment key under the model's switches: with
    /// `data.attachment_epoch_keys` off every epoch uses epoch 0's key, as before
    /// issue 14, so whoever held epoch 0 reads later attachments. `epoch0` and
    /// `current` are the keys of epoch 0 and of the epoch in use. [ATT-1] [MODEL-5]
    pub fn derive_with(epoch0: &EpochKeys, current: &EpochKeys, defences: &Defences) -> Self {
        if defences.data.attachment_epoch_keys { Self::derive(current) } else { Self::derive(epoch0) }
    }
    }

    /// [`AttachmentKey::derive`] from an epoch PRK itself (test vectors). [ATT-1]
    pub fn from_prk(prk: &Secret32, epoch: Epoch) -> Self {
        AttachmentKey::from_bytes(*hkdf_expand32(prk, &key_info(epoch)).expose())
    }

    /// `HMAC-SHA256(attachment_key, enc(ATTACHMENT_ID, SHA-256(P)))`. [ATT-2]
    pub fn id(&self, plaintext: &[u8]) -> AttachmentId {
        hmac_sha256(self.expose(), &id_message(&sha256(&[plaintext])))
    }

    /// The blob's stream key source for `id`. [ATT-3]
    pub fn source(&self, id: &AttachmentId) -> StreamKeySource {
        let prk = Secret32::from_bytes(*self.expose());
        StreamKeySource::from_bytes(*hkdf_expand32(&prk, &source_info(id)).expose())
    }
}

/// The stream parameters of an attachment blob: stream id `id[0..16]`, context `id`. [ATT-3]
pub fn params(account: &AccountId, suite: Suite, id: &AttachmentId) -> StreamParams {
    let mut stream_id = [0u8; 16];
    stream_id.copy_from_slice(id.get(..16).unwrap_or(&[0; 16]));
    StreamParams { account: *account, suite, stream_id, context: *id }
}

/// A sealed attachment. [ATT-3]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedAttachment {
    /// Its id (the server's deduplication key).
    pub id: AttachmentId,
    /// The stream manifest.
    pub manifest: Vec<u8>,
    /// The stream body.
    pub body: Vec<u8>,
}

/// The Padmé length of `len` (Nikitin et al., "Reducing metadata leakage from encrypted
/// files and communication with PURBs", PETS 2019): `len` rounded up so that only its top
/// `floor(log2(floor(log2 len))) + 1` bits may be non-zero. [ATT-6]
///
/// A length whose rounded value does not fit in a u64 (above `2^64 - 2^57`) has none:
/// `E_ATTACHMENT_PADDING`, never a smaller value.
///
/// ```
/// use blindsync::attachment::padme;
/// assert_eq!((padme(0)?, padme(1)?, padme(9)?, padme(100)?, padme(1_000_000)?), (0, 1, 10, 104, 1_015_808));
/// assert!(padme(u64::MAX).is_err());
/// # Ok::<(), blindsync::Error>(())
/// ```
pub fn padme(len: u64) -> Result<u64> {
    if len < 2 {
        return Ok(len);
    }
    let e = 63 - u64::from(len.leading_zeros()); // floor(log2 len)
    let s = 64 - u64::from(e.leading_zeros()); // floor(log2 e) + 1
    let last_bits = e.saturating_sub(s);
    let mask = (1u64 << last_bits) - 1;
    len.checked_add(mask).map(|v| v & !mask).ok_or(Error::AttachmentPadding)
}

/// Length of the padding header `enc(ATTACHMENT_PADDED, u64 len)`: 4 + 30 + 8 = 42 bytes. [ATT-6]
pub fn pad_header_len() -> usize {
    4 + labels::ATTACHMENT_PADDED.len() + 8
}

/// `enc(ATTACHMENT_PADDED, u64 len(P)) ‖ P ‖ 0^k`, `k` such that the total is the Padmé
/// length of header plus plaintext. [ATT-6] `E_ATTACHMENT_PADDING` if that length has no
/// Padmé length ([`padme`]) or does not fit in memory.
pub fn pad(plaintext: &[u8]) -> Result<Vec<u8>> {
    let header = Encoder::new(labels::ATTACHMENT_PADDED).u64(plaintext.len() as u64).finish();
    let unpadded = (header.len() as u64).checked_add(plaintext.len() as u64).ok_or(Error::AttachmentPadding)?;
    let total = usize::try_from(padme(unpadded)?).map_err(|_| Error::AttachmentPadding)?;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&header);
    out.extend_from_slice(plaintext);
    out.resize(total, 0);
    Ok(out)
}

/// Removes [`pad`]'s padding; anything that is not exactly its output is `E_ATTACHMENT_PADDING`. [ATT-6]
///
/// ```text
/// unpad(padded):
///   label ATTACHMENT_PADDED, u64 len                          else E_ATTACHMENT_PADDING
///   len <= bytes left                                         else E_ATTACHMENT_PADDING
///   len(padded) == padme(header + len)                        else E_ATTACHMENT_PADDING
///   every byte after the plaintext is 0                       else E_ATTACHMENT_PADDING
/// ```
pub fn unpad(padded: &[u8]) -> Result<Vec<u8>> {
    let mut r = Reader::new(padded);
    r.expect_label(labels::ATTACHMENT_PADDED).map_err(|_| Error::AttachmentPadding)?;
    let len = r.u64().map_err(|_| Error::AttachmentPadding)?;
    let len = usize::try_from(len).map_err(|_| Error::AttachmentPadding)?;
    if len > r.remaining() {
        return Err(Error::AttachmentPadding);
    }
    let unpadded = (pad_header_len() + len) as u64;
    if padme(unpadded)? != padded.len() as u64 {
        return Err(Error::AttachmentPadding);
    }
    let p = r.fixed(len).map_err(|_| Error::AttachmentPadding)?.to_vec();
    let rest = r.fixed(r.remaining()).map_err(|_| Error::AttachmentPadding)?;
    if rest.iter().fold(0u8, |a, b| a | b) != 0 {
        return Err(Error::AttachmentPadding);
    }
    Ok(p)
}

/// Seals an attachment as a stream signed by the uploading device. [ATT-2] [ATT-3] [ATT-6]
pub fn seal<R: CryptoRng + ?Sized>(
    account: &AccountId,
    key: &AttachmentKey,
    suite: Suite,
    signing_key: &SigningKey,
    plaintext: &[u8],
    rng: &mut R,
) -> Result<SealedAttachment> {
    seal_with(account, key, suite, signing_key, plaintext, &Defences::ALL, rng)
}

danger_api! {
/// [`seal`] under the model's switches: with `data.attachment_padding` off the
/// blob carries the plaintext at its exact length (the framing header only), so its
/// length confirms a known file. [ATT-6] [MODEL-5]
pub fn seal_with<R: CryptoRng + ?Sized>(
    account: &AccountId,
    key: &AttachmentKey,
    suite: Suite,
    signing_key: &SigningKey,
    plaintext: &[u8],
    defences: &Defences,
    rng: &mut R,
) -> Result<SealedAttachment> {
    let id = key.id(plaintext);
    let mut padded = pad(plaintext)?;
    if !defences.data.attachment_padding {
        padded.truncate(pad_header_len() + plaintext.len());
    }
    let sealed = stream::seal(&params(account, suite, &id), &key.source(&id), signing_key, &padded, rng);
    padded.zeroize();
    let (manifest, body) = sealed?;
    Ok(SealedAttachment { id, manifest, body })
}
}

/// Opens an attachment and checks its plaintext against the id. [ATT-4] [ATT-6]
///
/// ```text
/// open(attachment_key, id, manifest, body, writer key):
///   padded = stream open (chapter 9) with [ATT-3]'s parameters     -- E_STREAM_*
///   P = unpad(padded)                                              -- [ATT-6]: E_ATTACHMENT_PADDING
///   HMAC-SHA256(attachment_key, enc(ATTACHMENT_ID, SHA-256(P))) == id (constant time)   else E_ATTACHMENT_ID
/// ```
pub fn open(
    account: &AccountId,
    key: &AttachmentKey,
    id: &AttachmentId,
    suite: Suite,
    manifest: &[u8],
    body: &[u8],
    verifying_key: &[u8; 32],
) -> Result<Vec<u8>> {
    // [ATT-7] the suite is the caller's expectation: another suite in the manifest is E_STREAM_CONTEXT.
    let ctx = StreamOpenContext { params: params(account, suite, id), verifying_key: *verifying_key };
    let mut padded = stream::open(manifest, body, &ctx, &key.source(id))?;
    let unpadded = unpad(&padded);
    padded.zeroize();
    let mut plaintext = unpadded?;
    if !ct_eq(&key.id(&plaintext), id) {
        plaintext.zeroize();
        return Err(Error::AttachmentId);
    }
    Ok(plaintext)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Umk;
    use crate::primitives::SeededRng;

    fn key(b: u8) -> AttachmentKey {
        AttachmentKey::derive(&EpochKeys::derive(&Umk::from_bytes([b; 32]), &AccountId([1; 32]), 0))
    }

    // [ATT-1] [MODEL-5] attachment-after-revocation: device R held epoch 0's keys and was revoked
    // at the rotation to epoch 1 (it never gets UMK_1). A file uploaded in epoch 1 is out of its
    // reach (and of the server's, which it may collude with); with the per-epoch key switched off
    // (epoch 0's key for ever) R decrypts it.
    #[test]
    fn revoked_device_cannot_read_later_attachments() {
        use crate::defences::{DataWeakening, Defences};
        let acc = AccountId([1; 32]);
        let e0 = EpochKeys::derive(&Umk::from_bytes([2; 32]), &acc, 0);
        let e1 = EpochKeys::derive(&Umk::from_bytes([9; 32]), &acc, 1);
        let sk = SigningKey::from_bytes(&[4; 32]);
        let vk = sk.verifying_key().to_bytes();
        let photo = vec![0x3c; 5_000];
        let upload = |d: &Defences| {
            let k = AttachmentKey::derive_with(&e0, &e1, d);
            seal(&acc, &k, Suite::Aes256Gcm, &sk, &photo, &mut SeededRng::from_label("att-revoked")).unwrap()
        };
        // What the revoked device can derive: epoch 0's attachment key, under either rule.
        let revoked_guess = |d: &Defences| AttachmentKey::derive_with(&e0, &e0, d);
        let s = upload(&Defences::ALL);
        let r = open(&acc, &revoked_guess(&Defences::ALL), &s.id, Suite::Aes256Gcm, &s.manifest, &s.body, &vk);
        assert_eq!(r, Err(Error::StreamCommitment));
        let weak = Defences::ALL.without_data(DataWeakening::EpochZeroAttachmentKey);
        let s = upload(&weak);
        let r = open(&acc, &revoked_guess(&weak), &s.id, Suite::Aes256Gcm, &s.manifest, &s.body, &vk);
        assert_eq!(r.unwrap(), photo);
    }

    // [ATT-6] [MODEL-5] attachment-length: two files 1 000 bytes apart around 1 MB seal to blobs of
    // one length; without padding their exact lengths tell them apart (and confirm a known file).
    #[test]
    fn padding_hides_exact_length() {
        use crate::defences::{DataWeakening, Defences};
        let (acc, k) = (AccountId([1; 32]), key(2));
        let sk = SigningKey::from_bytes(&[4; 32]);
        let len = |n: usize, d: &Defences| {
            let s = seal_with(&acc, &k, Suite::Aes256Gcm, &sk, &vec![1u8; n], d, &mut SeededRng::from_label("pad"))
                .unwrap();
            s.body.len()
        };
        assert_eq!(len(1_000_000, &Defences::ALL), len(1_001_000, &Defences::ALL));
        let weak = Defences::ALL.without_data(DataWeakening::NoAttachmentPadding);
        assert_ne!(len(1_000_000, &weak), len(1_001_000, &weak));
        // Padmé's overhead stays below 12 %.
        for n in [0usize, 1, 100, 4_000, 65_536, 1_000_000, 50_000_000] {
            let p = padme((pad_header_len() + n) as u64).unwrap();
            assert!(p as f64 <= ((pad_header_len() + n) as f64) * 1.12, "{n}");
        }
    }

    // [ATT-6] every malformed padding is refused with one code.
    #[test]
    fn unpad_refusals() {
        let p = pad(b"photo bytes").unwrap();
        assert_eq!(unpad(&p).unwrap(), b"photo bytes");
        let mut nonzero = p.clone();
        *nonzero.last_mut().unwrap() = 1;
        assert_eq!(unpad(&nonzero), Err(Error::AttachmentPadding));
        let mut longer = p.clone();
        longer.push(0);
        assert_eq!(unpad(&longer), Err(Error::AttachmentPadding));
        let mut too_long = p.clone();
        let at = 4 + labels::ATTACHMENT_PADDED.len();
        too_long[at..at + 8].copy_from_slice(&1000u64.to_be_bytes());
        assert_eq!(unpad(&too_long), Err(Error::AttachmentPadding));
        assert_eq!(unpad(&p[..3]), Err(Error::AttachmentPadding));
    }

    // [ATT-1] [ATT-2] [ATT-5] ids are deterministic per account and unrelated across accounts;
    // the id is not the plain digest and the HMAC is over the labelled digest (checked with hmac directly).
    #[test]
    fn ids_are_keyed() {
        let (a, b) = (key(2), key(3));
        let p = b"holiday photo";
        assert_eq!(a.id(p), a.id(p));
        assert_ne!(a.id(p), b.id(p));
        assert_ne!(a.id(p), sha256(&[p]));
        use hmac::{KeyInit, Mac};
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(a.expose()).unwrap();
        let digest: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(p).into();
        mac.update(
            &[&(labels::ATTACHMENT_ID.len() as u32).to_be_bytes()[..], labels::ATTACHMENT_ID.as_bytes(), &digest]
                .concat(),
        );
        assert_eq!(a.id(p).to_vec(), mac.finalize().into_bytes().to_vec());
    }

    // [ATT-3] [ATT-4] round trip; a blob of another file re-sealed under this id is E_ATTACHMENT_ID.
    #[test]
    fn open_checks_the_id() {
        let k = key(2);
        let acc = AccountId([1; 32]);
        let sk = SigningKey::from_bytes(&[4; 32]);
        let vk = sk.verifying_key().to_bytes();
        let mut rng = SeededRng::from_label("att-test");
        let p = vec![7u8; 70_000];
        let s = seal(&acc, &k, Suite::Aes256Gcm, &sk, &p, &mut rng).unwrap();
        assert_eq!(open(&acc, &k, &s.id, Suite::Aes256Gcm, &s.manifest, &s.body, &vk).unwrap(), p);
        let other = vec![8u8; 10];
        let (m, b) = stream::seal(
            &params(&acc, Suite::Aes256Gcm, &s.id),
            &k.source(&s.id),
            &sk,
            &pad(&other).unwrap(),
            &mut rng,
        )
        .unwrap();
        assert_eq!(open(&acc, &k, &s.id, Suite::Aes256Gcm, &m, &b, &vk), Err(Error::AttachmentId));
        let (m, b) =
            stream::seal(&params(&acc, Suite::Aes256Gcm, &s.id), &k.source(&s.id), &sk, &other, &mut rng).unwrap();
        assert_eq!(open(&acc, &k, &s.id, Suite::Aes256Gcm, &m, &b, &vk), Err(Error::AttachmentPadding));
        assert_eq!(
            open(&acc, &key(3), &s.id, Suite::Aes256Gcm, &s.manifest, &s.body, &vk),
            Err(Error::StreamCommitment)
        );
    }

    // [ATT-7] the reader expects a suite: a blob sealed under the other one is E_STREAM_CONTEXT
    // (even with a wrong key, which would otherwise be E_STREAM_COMMITMENT: step 2 of [STR-8]
    // comes first), and the same file under either suite has the same id.
    #[test]
    fn reader_expects_a_suite() {
        let k = key(2);
        let acc = AccountId([1; 32]);
        let sk = SigningKey::from_bytes(&[4; 32]);
        let vk = sk.verifying_key().to_bytes();
        let mut rng = SeededRng::from_label("att-suite");
        let p = b"scan of a receipt".to_vec();
        let aes = seal(&acc, &k, Suite::Aes256Gcm, &sk, &p, &mut rng).unwrap();
        let cha = seal(&acc, &k, Suite::ChaCha20Poly1305, &sk, &p, &mut rng).unwrap();
        assert_eq!(aes.id, cha.id);
        assert_eq!(open(&acc, &k, &cha.id, Suite::ChaCha20Poly1305, &cha.manifest, &cha.body, &vk).unwrap(), p);
        let other =
            |s: &SealedAttachment, suite, k: &AttachmentKey| open(&acc, k, &s.id, suite, &s.manifest, &s.body, &vk);
        assert_eq!(other(&aes, Suite::ChaCha20Poly1305, &k), Err(Error::StreamContext));
        assert_eq!(other(&cha, Suite::Aes256Gcm, &k), Err(Error::StreamContext));
        assert_eq!(other(&cha, Suite::Aes256Gcm, &key(3)), Err(Error::StreamContext));
    }
}
