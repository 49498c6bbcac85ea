//! The envelope header, its wire encoding, the AAD and the signed digest
//! (spec 7.2, 7.5 and 7.9, `spec/07-envelope.md`).
//!
//! ```text
//! header = u8 version ‖ u8 suite ‖ bucket(32) ‖ record_id(16) ‖ u64 revision
//!        ‖ writer(32) ‖ u64 writer_seq ‖ u32 epoch ‖ u16 schema ‖ u32 padded_len
//!        ‖ chain_head(32) ‖ salt(32) ‖ commitment(32) ‖ prev(32)        -- 236 bytes
//! aad         = enc(AAD_RECORD, account_id(32), header(236))
//! body_digest = SHA-256(enc(HASH_ENVELOPE_BODY, bytes body))   body = nonce ‖ ct ‖ tag
//! sig_digest  = SHA-256(enc(SIG_RECORD, account_id(32), header(236), body_digest(32)))
//! signature   = Ed25519-Sign(writer key, sig_digest)
//! ```

use sha2::{Digest, Sha256};

use crate::encoding::{Encoder, Reader};
use crate::error::{Error, Result};
use crate::keys::{AccountId, Bucket, Epoch};
use crate::labels;

use super::padding::{MAX_PADDED_LEN, is_bucket};
use super::payload::Schema;

/// The only envelope version this implementation reads and writes. [ENV-2]
pub const VERSION: u8 = 1;

/// Length of an encoded header. [ENV-2]
pub const HEADER_LEN: usize = 1 + 1 + 32 + 16 + 8 + 32 + 8 + 4 + 2 + 4 + 32 + 32 + 32 + 32;

/// A record id: 16 random bytes chosen by the record's creator. [ENV-2]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(pub [u8; 16]);

/// The writer's device id (spec 8.4), as the chain defines it. [ENV-2]
pub use crate::device::DeviceId;

wire_enum! {
    /// The content AEAD of an envelope; an unknown suite byte is
    /// [`Error::EnvSuite`]. [ENV-3]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub enum Suite (unknown: Error::EnvSuite) {
        /// AES-256-GCM, the default.
        #[default]
        Aes256Gcm = 1,
        /// ChaCha20-Poly1305 (RFC 8439), the alternative.
        ChaCha20Poly1305 = 2,
    }
}

/// Every field of an envelope header. [ENV-2]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// Wire format version; always [`VERSION`] for headers this crate accepts.
    pub version: u8,
    /// The content AEAD.
    pub suite: Suite,
    /// The opaque collection bucket.
    pub bucket: Bucket,
    /// The record id.
    pub record_id: RecordId,
    /// The record's revision.
    pub revision: u64,
    /// The writer device's id.
    pub writer: DeviceId,
    /// The writer's per-device, gap-free sequence number.
    pub writer_seq: u64,
    /// The key epoch whose collection key sealed the envelope.
    pub epoch: Epoch,
    /// The payload schema version (see [`Schema`]).
    pub schema: u16,
    /// The padded plaintext length (= ciphertext length).
    pub padded_len: u32,
    /// The account chain head the writer had when sealing.
    pub chain_head: [u8; 32],
    /// The per-envelope HKDF salt.
    pub salt: [u8; 32],
    /// The key commitment.
    pub commitment: [u8; 32],
    /// The identity `SHA-256(header ‖ body_digest)` of the same writer's
    /// envelope at `writer_seq - 1`; zeros at `writer_seq = 1`. [ENV-2] [SYNC-15]
    pub prev: [u8; 32],
}

impl Header {
    /// The 236 header bytes, fields in spec order, integers big-endian. [ENV-2]
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let v = Encoder::raw_with_capacity(HEADER_LEN)
            .u8(self.version)
            .u8(self.suite as u8)
            .fixed(&self.bucket.0)
            .fixed(&self.record_id.0)
            .u64(self.revision)
            .fixed(&self.writer.0)
            .u64(self.writer_seq)
            .u32(self.epoch)
            .u16(self.schema)
            .u32(self.padded_len)
            .fixed(&self.chain_head)
            .fixed(&self.salt)
            .fixed(&self.commitment)
            .fixed(&self.prev)
            .finish();
        let mut out = [0u8; HEADER_LEN];
        // The encoder wrote exactly HEADER_LEN bytes (fixed widths only).
        for (o, b) in out.iter_mut().zip(v) {
            *o = b;
        }
        out
    }

    /// Reads a header from `r`, checking version, suite and padded length as
    /// soon as each is read. [ENV-2] [ENV-3] [ENV-13] [ENV-14] [ENC-7]
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        let version = r.u8()?;
        if version != VERSION {
            return Err(Error::EnvVersion);
        }
        let suite = Suite::from_u8(r.u8()?)?;
        let h = Header {
            version,
            suite,
            bucket: Bucket(r.array()?),
            record_id: RecordId(r.array()?),
            revision: r.u64()?,
            writer: DeviceId(r.array()?),
            writer_seq: r.u64()?,
            epoch: r.u32()?,
            schema: r.u16()?,
            padded_len: r.u32()?,
            chain_head: r.array()?,
            salt: r.array()?,
            commitment: r.array()?,
            prev: r.array()?,
        };
        let padded = h.padded_len as usize;
        if padded > MAX_PADDED_LEN {
            return Err(Error::EnvTooLarge);
        }
        if !is_bucket(padded) {
            return Err(Error::EnvLength);
        }
        Ok(h)
    }

    /// Decodes exactly one header (no trailing bytes). [ENV-2]
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let h = Header::read(&mut r)?;
        r.finish()?;
        Ok(h)
    }

    /// The payload schema, if this implementation knows it. [PAY-1]
    pub fn schema(&self) -> Result<Schema> {
        Schema::from_u16(self.schema)
    }

    /// `aad = enc(AAD_RECORD, account_id(32), header(236))`. [ENV-5]
    pub fn aad(&self, account: &AccountId) -> Vec<u8> {
        Encoder::new(labels::AAD_RECORD).fixed(&account.0).fixed(&self.encode()).finish()
    }

    danger_api! {
    /// The header as the AAD and the signature bind it: itself, or, with
    /// the location binding switched off (model checking only), with
    /// bucket, record id and revision zeroed. [MODEL-5]
    pub fn bound(&self, d: &crate::defences::Defences) -> Header {
        let mut h = *self;
        if !d.location_binding {
            h.bucket = Bucket([0; 32]);
            h.record_id = RecordId([0; 16]);
            h.revision = 0;
        }
        h
    }
    }

    /// `sig_digest = SHA-256(enc(SIG_RECORD, account_id(32), header(236), body_digest(32)))`. [ENV-9]
    pub fn sig_digest(&self, account: &AccountId, body_digest: &[u8; 32]) -> [u8; 32] {
        let msg = Encoder::new(labels::SIG_RECORD).fixed(&account.0).fixed(&self.encode()).fixed(body_digest).finish();
        crate::primitives::sha256(&[&msg])
    }
}

/// `body_digest = SHA-256(enc(HASH_ENVELOPE_BODY, bytes body))`, streamed:
/// the body is hashed where it lies, never copied. [ENV-8] The vectors'
/// `body_digest_prefix` is the `prefix` hashed before the body. [ENV-17]
pub fn body_digest(body: &[u8]) -> [u8; 32] {
    let prefix = Encoder::new(labels::HASH_ENVELOPE_BODY).finish();
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
    let mut h = Sha256::new();
    h.update(&prefix);
    h.update(len.to_be_bytes());
    h.update(body);
    h.finalize().into()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn header_strategy() -> impl Strategy<Value = Header> {
        (
            (any::<bool>(), any::<[u8; 32]>(), any::<[u8; 16]>(), any::<u64>(), any::<[u8; 32]>(), any::<u64>()),
            (any::<u32>(), any::<u16>(), 1usize..=256, any::<[u8; 32]>(), any::<[u8; 32]>(), any::<[u8; 32]>()),
            any::<[u8; 32]>(),
        )
            .prop_map(|((s, b, rid, rev, w, seq), (e, sch, k, ch, salt, cm), prev)| Header {
                version: VERSION,
                suite: if s { Suite::Aes256Gcm } else { Suite::ChaCha20Poly1305 },
                bucket: Bucket(b),
                record_id: RecordId(rid),
                revision: rev,
                writer: DeviceId(w),
                writer_seq: seq,
                epoch: e,
                schema: sch,
                padded_len: if k <= 5 { super::super::padding::BUCKETS[k - 1] as u32 } else { (k * 65536) as u32 },
                chain_head: ch,
                salt,
                commitment: cm,
                prev,
            })
    }

    // [ENV-2] the header is 236 bytes and fields sit at their spec offsets.
    #[test]
    fn layout() {
        let h = Header {
            version: 1,
            suite: Suite::ChaCha20Poly1305,
            bucket: Bucket([0xbb; 32]),
            record_id: RecordId([0x1d; 16]),
            revision: 0x0102030405060708,
            writer: DeviceId([0xdd; 32]),
            writer_seq: 9,
            epoch: 0x0a0b0c0d,
            schema: 1,
            padded_len: 1024,
            chain_head: [0xcc; 32],
            salt: [0x5a; 32],
            commitment: [0xc0; 32],
            prev: [0x9e; 32],
        };
        let b = h.encode();
        assert_eq!(HEADER_LEN, 236);
        assert_eq!(&b[..2], &[1, 2]);
        assert_eq!(&b[50..58], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&b[98..102], &[0x0a, 0x0b, 0x0c, 0x0d]);
        assert_eq!(&b[102..108], &[0, 1, 0, 0, 4, 0]);
        assert_eq!(&b[172..204], &[0xc0; 32]);
        assert_eq!(&b[204..], &[0x9e; 32]);
        assert_eq!(Header::decode(&b), Ok(h));
    }

    // [ENV-2] [ENV-3] [ENV-13] [ENV-14] decode errors.
    #[test]
    fn decode_errors() {
        let mut b = Header {
            version: 1,
            suite: Suite::Aes256Gcm,
            bucket: Bucket([0; 32]),
            record_id: RecordId([0; 16]),
            revision: 0,
            writer: DeviceId([0; 32]),
            writer_seq: 0,
            epoch: 0,
            schema: 0,
            padded_len: 256,
            chain_head: [0; 32],
            salt: [0; 32],
            commitment: [0; 32],
            prev: [0; 32],
        }
        .encode();
        assert_eq!(Header::decode(&b[..HEADER_LEN - 1]), Err(Error::DecodeTruncated));
        let mut long = b.to_vec();
        long.push(0);
        assert_eq!(Header::decode(&long), Err(Error::DecodeTrailing));
        b[0] = 2;
        assert_eq!(Header::decode(&b), Err(Error::EnvVersion));
        b[0] = 1;
        b[1] = 3;
        assert_eq!(Header::decode(&b), Err(Error::EnvSuite));
        b[1] = 1;
        b[104..108].copy_from_slice(&300u32.to_be_bytes());
        assert_eq!(Header::decode(&b), Err(Error::EnvLength));
        b[104..108].copy_from_slice(&(MAX_PADDED_LEN as u32 + 65536).to_be_bytes());
        assert_eq!(Header::decode(&b), Err(Error::EnvTooLarge));
        assert_eq!(Header::decode(&[]), Err(Error::DecodeTruncated));
        // [ENC-7] version and suite are checked as read; the padded length only on a whole header.
        assert_eq!(Header::decode(&[2]), Err(Error::EnvVersion));
        assert_eq!(Header::decode(&[1, 3]), Err(Error::EnvSuite));
        assert_eq!(Header::decode(&b[..HEADER_LEN - 1]), Err(Error::DecodeTruncated));
    }

    proptest! {
        // [ENV-2] decode(encode(h)) == h.
        #[test]
        fn round_trip(h in header_strategy()) {
            prop_assert_eq!(Header::decode(&h.encode()), Ok(h));
        }

        // [ENV-5] [ENV-9] AAD and signed digest are injective over (account, header).
        #[test]
        fn aad_injective(a in header_strategy(), b in header_strategy(), acc_a in any::<[u8; 32]>(), same_acc in any::<bool>()) {
            let acc_b = if same_acc { acc_a } else { [acc_a[0] ^ 1; 32] };
            let (aa, ab) = (AccountId(acc_a), AccountId(acc_b));
            if a != b || aa != ab {
                prop_assert_ne!(a.aad(&aa), b.aad(&ab));
                prop_assert_ne!(a.sig_digest(&aa, &[0; 32]), b.sig_digest(&ab, &[0; 32]));
            }
        }

        // [ENV-5] a header changed in any single byte gives a different AAD.
        #[test]
        fn aad_single_field(h in header_strategy(), pos in 0usize..HEADER_LEN, x in 1u8..=255) {
            let mut b = h.encode();
            b[pos] ^= x;
            if let Ok(h2) = Header::decode(&b) {
                prop_assert_ne!(h.aad(&AccountId([0; 32])), h2.aad(&AccountId([0; 32])));
            }
        }
    }
}
