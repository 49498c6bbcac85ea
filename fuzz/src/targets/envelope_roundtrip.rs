//! Differential: seal then open gives back the payload (spec 7.9, 7.12),
//! for header fields, suite, epoch and payload taken from the input; the
//! envelope is exactly as long as [PAD-2] says; opening for another record
//! or bucket, or with another collection key, or at a head where a later
//! epoch is in force ([ENV-16]), is refused.

use std::sync::OnceLock;

use blindsync::Error;
use blindsync::envelope::payload::Schema;
use blindsync::envelope::{
    self, AuthorizedWriter, DeviceId, ENVELOPE_OVERHEAD, EnvelopeRef, EpochAccess, HeadEpoch, OpenContext, RecordId,
    RecordMeta, Suite,
};
use blindsync::keys::{AccountId, Bucket, CollectionKey};
use blindsync::primitives::SeededRng;

use crate::Vectors;
use crate::input::Bytes;

/// Longest input worth trying: a few header fields and a payload up to 4 KiB.
pub const MAX_LEN: usize = 4400;

fn signing_key() -> &'static ed25519_dalek::SigningKey {
    static K: OnceLock<ed25519_dalek::SigningKey> = OnceLock::new();
    K.get_or_init(|| ed25519_dalek::SigningKey::from_bytes(&[3; 32]))
}

/// Runs one input.
// [ENV-1] [ENV-9] [ENV-12] [PAD-2] seal then open is the identity.
pub fn run(data: &[u8]) {
    let mut b = Bytes::new(data);
    let flags = b.u8();
    let suite = if flags & 1 == 0 { Suite::Aes256Gcm } else { Suite::ChaCha20Poly1305 };
    let schema = if flags & 2 == 0 { Schema::Raw } else { Schema::Json };
    let epoch = u32::from(b.u8() & 3);
    let meta = RecordMeta {
        suite,
        bucket: Bucket(b.array()),
        record_id: RecordId(b.array()),
        revision: b.u32().into(),
        writer: DeviceId([6; 32]),
        writer_seq: b.u32().into(),
        epoch,
        schema,
        chain_head: [7; 32],
        prev: [flags; 32],
    };
    let ck = CollectionKey::from_bytes(b.array());
    let payload = b.rest();
    let account = AccountId([1; 32]);
    let sk = signing_key();
    let mut rng = SeededRng::from_label("fuzz/envelope_roundtrip");
    let env = match envelope::seal(&account, &meta, &ck, sk, payload, &mut rng) {
        Ok(e) => e,
        Err(e) => {
            // Only the JSON schema refuses a payload (4 KiB is far below the size limit). [PAY-1]
            assert_eq!(schema, Schema::Json, "raw payload refused: {e:?}");
            assert_eq!(envelope::payload::check_canonical_json(payload), Err(e));
            return;
        }
    };
    let padded = envelope::padding::padded_len(payload.len()).unwrap_or(0);
    assert_eq!(env.len(), ENVELOPE_OVERHEAD + padded, "[PAD-2] envelope length");
    let decoded = EnvelopeRef::decode(&env).map(|e| e.header);
    assert!(decoded.is_ok_and(|h| h.revision == meta.revision && h.writer_seq == meta.writer_seq && h.prev == meta.prev));
    let writers = [AuthorizedWriter { device: DeviceId([6; 32]), verifying_key: sk.verifying_key().to_bytes(), max_seq: None }];
    let epochs = [EpochAccess { epoch, collection_key: &ck, writers: &writers }];
    let ctx = OpenContext { account, epochs: &epochs, bucket: Some(meta.bucket), record_id: Some(meta.record_id), heads: &[] };
    let opened = envelope::open(&env, &ctx).map(|o| o.into_payload());
    assert_eq!(opened.as_deref(), Ok(payload), "seal then open");
    // [ENV-16] the epoch in force at the cited head: the same epoch opens, a later one refuses.
    let same = [HeadEpoch { head: meta.chain_head, epoch }];
    assert!(envelope::open(&env, &OpenContext { heads: &same, ..ctx }).is_ok());
    let later = [HeadEpoch { head: meta.chain_head, epoch: epoch + 1 }];
    assert_eq!(envelope::open(&env, &OpenContext { heads: &later, ..ctx }).err(), Some(Error::EnvStaleEpoch));
    // [ENV-11] another record; [ENV-10] another epoch; [ENV-6] another collection key.
    let mut other = meta.record_id;
    other.0[0] ^= 1;
    let wrong = OpenContext { record_id: Some(other), ..ctx };
    assert_eq!(envelope::open(&env, &wrong).err(), Some(Error::EnvContext));
    let epochs2 = [EpochAccess { epoch: epoch + 1, collection_key: &ck, writers: &writers }];
    assert_eq!(envelope::open(&env, &OpenContext { epochs: &epochs2, ..ctx }).err(), Some(Error::EnvEpoch));
    let mut kb = [0u8; 32];
    kb[0] = 0x80;
    let ck2 = CollectionKey::from_bytes(kb);
    let epochs3 = [EpochAccess { epoch, collection_key: &ck2, writers: &writers }];
    if ck.expose() != &kb {
        assert_eq!(envelope::open(&env, &OpenContext { epochs: &epochs3, ..ctx }).err(), Some(Error::EnvCommitment));
    }
}

/// An empty input (a 0-byte raw payload), a small raw and a small JSON payload.
pub fn seeds(_: &Vectors) -> Vec<Vec<u8>> {
    let mut raw = vec![0u8; 1 + 1 + 32 + 16 + 4 + 4 + 32];
    raw.extend_from_slice(b"hello");
    let mut json = raw.clone();
    json[0] = 2;
    json.truncate(json.len() - 5);
    json.extend_from_slice(br#"{"a":[1,2,{"b":null}]}"#);
    vec![Vec::new(), raw, json]
}
