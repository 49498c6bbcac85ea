//! Attachments: content-addressed, keyed-id blobs (spec 10.6, `spec/10-batches.md`).
//!
//! ```text
//! attachment_key = HKDF-Expand(PRK_0, enc(ATTACHMENT_KEY), 32)                         -- [ATT-1]
//! attachment_id  = HMAC-SHA256(attachment_key, enc(ATTACHMENT_ID, SHA-256(P)(32)))      -- [ATT-2]
//! source         = HKDF-Expand(attachment_key, enc(ATTACHMENT_SOURCE, attachment_id), 32)  -- [ATT-3]
//! blob           = stream(source, stream_id = id[0..16], context = id)
//! ```
//!
//! The server deduplicates by id within an account but cannot confirm a
//! guessed file; it still sees equality within the account, blob sizes and
//! the access pattern. [ATT-5]
//!
//! ```
//! use blindsync::attachment::{self, AttachmentKey};
//! use blindsync::envelope::Suite;
//! use blindsync::keys::{AccountId, EpochKeys, Umk};
//! use blindsync::primitives::SeededRng;
//!
//! let account = AccountId([1; 32]);
//! let key = AttachmentKey::derive(&EpochKeys::derive(&Umk::from_bytes([2; 32]), &account, 0));
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

use crate::encoding::Encoder;
use crate::envelope::Suite;
use crate::error::{Error, Result};
use crate::keys::{AccountId, EpochKeys};
use crate::labels;
use crate::primitives::{CryptoRng, ct_eq, hkdf_expand32, hmac_sha256, sha256};
use crate::secret::Secret32;
use crate::secret_type;
use crate::stream::{self, StreamKeySource, StreamOpenContext, StreamParams};

secret_type!(
    /// The account's attachment key, from the epoch-0 PRK. [ATT-1]
    AttachmentKey,
    32
);

/// An attachment id: 32 bytes, keyed by the account. [ATT-2]
pub type AttachmentId = [u8; 32];

/// `enc(ATTACHMENT_KEY)`. [ATT-1]
pub fn key_info() -> Vec<u8> {
    Encoder::new(labels::ATTACHMENT_KEY).finish()
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
    /// `HKDF-Expand(PRK_0, enc(ATTACHMENT_KEY), 32)`; `epoch0` MUST be the epoch-0 keys. [ATT-1]
    pub fn derive(epoch0: &EpochKeys) -> Self {
        Self::from_prk(epoch0.prk())
    }

    /// [`AttachmentKey::derive`] from the epoch-0 PRK itself (test vectors). [ATT-1]
    pub fn from_prk(prk0: &Secret32) -> Self {
        AttachmentKey::from_bytes(*hkdf_expand32(prk0, &key_info()).expose())
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

/// Seals an attachment as a stream signed by the uploading device. [ATT-2] [ATT-3]
pub fn seal<R: CryptoRng + ?Sized>(
    account: &AccountId,
    key: &AttachmentKey,
    suite: Suite,
    signing_key: &SigningKey,
    plaintext: &[u8],
    rng: &mut R,
) -> Result<SealedAttachment> {
    let id = key.id(plaintext);
    let (manifest, body) = stream::seal(&params(account, suite, &id), &key.source(&id), signing_key, plaintext, rng)?;
    Ok(SealedAttachment { id, manifest, body })
}

/// Opens an attachment and checks its plaintext against the id. [ATT-4]
///
/// ```text
/// open(attachment_key, id, manifest, body, writer key):
///   P = stream open (chapter 9) with [ATT-3]'s parameters          -- E_STREAM_*
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
    let ctx = StreamOpenContext { params: params(account, suite, id), verifying_key: *verifying_key };
    let mut plaintext = stream::open(manifest, body, &ctx, &key.source(id))?;
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
        let (m, b) =
            stream::seal(&params(&acc, Suite::Aes256Gcm, &s.id), &k.source(&s.id), &sk, &other, &mut rng).unwrap();
        assert_eq!(open(&acc, &k, &s.id, Suite::Aes256Gcm, &m, &b, &vk), Err(Error::AttachmentId));
        assert_eq!(
            open(&acc, &key(3), &s.id, Suite::Aes256Gcm, &s.manifest, &s.body, &vk),
            Err(Error::StreamCommitment)
        );
    }
}
