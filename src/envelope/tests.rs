//! Unit and property tests of the envelope (spec chapter 7).

use proptest::prelude::*;

use super::*;
use crate::primitives::SeededRng;

pub(crate) struct Fixture {
    pub account: AccountId,
    pub ck: CollectionKey,
    pub sk: SigningKey,
    pub writers: Vec<AuthorizedWriter>,
    pub meta: RecordMeta,
}

pub(crate) fn fixture(suite: Suite) -> Fixture {
    let sk = SigningKey::from_bytes(&[3; 32]);
    let other = SigningKey::from_bytes(&[8; 32]);
    Fixture {
        account: AccountId([1; 32]),
        ck: CollectionKey::from_bytes([2; 32]),
        writers: vec![
            AuthorizedWriter { device: DeviceId([6; 32]), verifying_key: sk.verifying_key().to_bytes(), max_seq: None },
            AuthorizedWriter {
                device: DeviceId([9; 32]),
                verifying_key: other.verifying_key().to_bytes(),
                max_seq: Some(3),
            },
        ],
        sk,
        meta: RecordMeta {
            suite,
            bucket: Bucket([4; 32]),
            record_id: RecordId([5; 16]),
            revision: 7,
            writer: DeviceId([6; 32]),
            writer_seq: 11,
            epoch: 2,
            schema: Schema::Raw,
            chain_head: [0xcc; 32],
            prev: [0; 32],
        },
    }
}

impl Fixture {
    fn seal(&self, payload: &[u8]) -> Vec<u8> {
        seal(&self.account, &self.meta, &self.ck, &self.sk, payload, &mut SeededRng::from_label("t")).unwrap()
    }
    fn open(&self, env: &[u8]) -> Result<Vec<u8>> {
        let epochs = [EpochAccess { epoch: 2, collection_key: &self.ck, writers: &self.writers }];
        let ctx = OpenContext { account: self.account, epochs: &epochs, bucket: None, record_id: None, heads: &[] };
        open(env, &ctx).map(Opened::into_payload)
    }
}

fn resign(f: &Fixture, env: &mut [u8]) {
    let e = EnvelopeRef::decode(env).unwrap();
    let sig = f.sk.sign(&e.header.sig_digest(&f.account, &body_digest(e.body))).to_bytes();
    let n = env.len();
    env[n - SIG_LEN..].copy_from_slice(&sig);
}

// [ENV-1] [ENV-4] [ENV-12] round trip for both suites, and the wire length.
#[test]
fn round_trip_both_suites() {
    for suite in [Suite::Aes256Gcm, Suite::ChaCha20Poly1305] {
        let f = fixture(suite);
        for n in [0usize, 1, 252, 253, 4096, 70_000] {
            let p: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let env = f.seal(&p);
            assert_eq!(env.len(), ENVELOPE_OVERHEAD + padding::padded_len(n).unwrap());
            assert_eq!(f.open(&env).unwrap(), p);
        }
    }
}

// [ENV-9] [ENV-12] every byte of the envelope is covered: any single flip fails, without panic.
#[test]
fn every_byte_flip_fails() {
    let f = fixture(Suite::Aes256Gcm);
    let env = f.seal(b"hello");
    for i in 0..env.len() {
        let mut e = env.clone();
        e[i] ^= 0x01;
        assert!(f.open(&e).is_err(), "flip at {i}");
    }
}

// [ENV-6] [ENV-7] [PAD-3] [ENV-10] errors behind the signature: a misbehaving authorized writer.
#[test]
fn signed_but_bad() {
    let f = fixture(Suite::ChaCha20Poly1305);
    let mut env = f.seal(b"hello");
    let ct = HEADER_LEN + 4 + NONCE_LEN;
    env[ct] ^= 1;
    resign(&f, &mut env);
    assert_eq!(f.open(&env), Err(Error::EnvDecrypt));

    let mut env = f.seal(b"hello");
    env[172] ^= 1; // commitment
    resign(&f, &mut env);
    assert_eq!(f.open(&env), Err(Error::EnvCommitment));

    let h = EnvelopeRef::decode(&f.seal(b"")).unwrap().header;
    let mut padded = padding::pad(b"hello").unwrap();
    padded[200] = 1;
    let env = seal_padded_unchecked(&f.account, &h, &f.ck, &f.sk, &padded, &[0; 12]).unwrap();
    assert_eq!(f.open(&env), Err(Error::EnvPadding));

    let mut h2 = h;
    h2.schema = 1;
    let env = seal_padded_unchecked(&f.account, &h2, &f.ck, &f.sk, &padding::pad(b"{ }").unwrap(), &[0; 12]).unwrap();
    assert_eq!(f.open(&env), Err(Error::EnvJson));
    h2.schema = 9;
    let env = seal_padded_unchecked(&f.account, &h2, &f.ck, &f.sk, &padding::pad(b"{}").unwrap(), &[0; 12]).unwrap();
    assert_eq!(f.open(&env), Err(Error::EnvSchema));

    // the revoked second writer past its bound
    let other = SigningKey::from_bytes(&[8; 32]);
    let meta = RecordMeta { writer: DeviceId([9; 32]), writer_seq: 4, ..f.meta };
    let env = seal(&f.account, &meta, &f.ck, &other, b"x", &mut SeededRng::from_label("r")).unwrap();
    assert_eq!(f.open(&env), Err(Error::EnvWriterRevoked));
    let meta = RecordMeta { writer_seq: 3, ..meta };
    let env = seal(&f.account, &meta, &f.ck, &other, b"x", &mut SeededRng::from_label("r")).unwrap();
    assert_eq!(f.open(&env).unwrap(), b"x");
}

// [ENV-10] [ENV-11] context, epoch and signer checks; [ENV-15] stubs.
#[test]
fn context_and_stubs() {
    let f = fixture(Suite::Aes256Gcm);
    let env = f.seal(b"payload");
    let epochs = [EpochAccess { epoch: 2, collection_key: &f.ck, writers: &f.writers }];
    let ctx =
        OpenContext { account: f.account, epochs: &epochs, bucket: Some(Bucket([4; 32])), record_id: None, heads: &[] };
    assert!(open(&env, &ctx).is_ok());
    let wrong = OpenContext { record_id: Some(RecordId([0; 16])), ..ctx };
    assert_eq!(open(&env, &wrong).err(), Some(Error::EnvContext));
    let other_account = OpenContext { account: AccountId([0; 32]), ..ctx };
    assert_eq!(open(&env, &other_account).err(), Some(Error::EnvSignature));
    let none = OpenContext { epochs: &[], ..ctx };
    assert_eq!(open(&env, &none).err(), Some(Error::EnvEpoch));
    let nobody = [EpochAccess { epoch: 2, collection_key: &f.ck, writers: &f.writers[1..] }];
    assert_eq!(open(&env, &OpenContext { epochs: &nobody, ..ctx }).err(), Some(Error::EnvSignerUnknown));

    let stub = EnvelopeRef::decode(&env).unwrap().stub();
    assert_eq!(Stub::decode(&stub.encode()), Ok(stub));
    assert_eq!(stub.encode().len(), STUB_LEN);
    assert_eq!(verify_stub(&stub, &ctx), Ok(()));
    let mut bad = stub;
    bad.body_digest[0] ^= 1;
    assert_eq!(verify_stub(&bad, &ctx), Err(Error::EnvSignature));
}

// [ENV-14] payload limits on seal.
#[test]
fn too_large() {
    let f = fixture(Suite::Aes256Gcm);
    let big = vec![0u8; padding::MAX_PAYLOAD_LEN + 1];
    let r = seal(&f.account, &f.meta, &f.ck, &f.sk, &big, &mut SeededRng::from_label("t"));
    assert_eq!(r, Err(Error::EnvTooLarge));
    let meta = RecordMeta { schema: Schema::Json, ..f.meta };
    let r = seal(&f.account, &meta, &f.ck, &f.sk, b"{ }", &mut SeededRng::from_label("t"));
    assert_eq!(r, Err(Error::EnvJson));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    // [ENV-1] [ENV-12] seal/open round trip over random sizes and header fields.
    #[test]
    fn prop_round_trip(
        payload in proptest::collection::vec(any::<u8>(), 0..5000),
        chacha in any::<bool>(),
        bucket in any::<[u8; 32]>(),
        rid in any::<[u8; 16]>(),
        rev in any::<u64>(),
        seq in any::<u64>(),
        epoch in any::<u32>(),
        head in any::<[u8; 32]>(),
        seed in any::<[u8; 32]>(),
    ) {
        let f = fixture(if chacha { Suite::ChaCha20Poly1305 } else { Suite::Aes256Gcm });
        let meta = RecordMeta {
            bucket: Bucket(bucket), record_id: RecordId(rid), revision: rev, writer_seq: seq, epoch,
            chain_head: head, ..f.meta
        };
        let env = seal(&f.account, &meta, &f.ck, &f.sk, &payload, &mut SeededRng::from_seed(seed)).unwrap();
        let epochs = [EpochAccess { epoch, collection_key: &f.ck, writers: &f.writers }];
        let ctx = OpenContext {
            account: f.account, epochs: &epochs, bucket: Some(Bucket(bucket)), record_id: Some(RecordId(rid)), heads: &[],
        };
        let opened = open(&env, &ctx).unwrap();
        prop_assert_eq!(opened.header.revision, rev);
        prop_assert_eq!(opened.header.writer_seq, seq);
        prop_assert_eq!(opened.payload(), &payload[..]);
    }

    // [ENV-4] [ENV-12] opening arbitrary mutations never panics and never succeeds.
    #[test]
    fn prop_mutations_fail(pos in any::<prop::sample::Index>(), x in 1u8..=255, cut in any::<bool>()) {
        let f = fixture(Suite::Aes256Gcm);
        let mut env = f.seal(b"some payload");
        let i = pos.index(env.len());
        if cut { env.truncate(i); } else { env[i] ^= x; }
        prop_assert!(f.open(&env).is_err());
    }
}

// [ENC-5] [ENV-4] every envelope-layer Codec re-encodes what it decoded, and refuses one trailing byte.
#[test]
fn codec_round_trips_and_refuses_trailing_bytes() {
    use crate::encoding::Codec;
    let f = fixture(Suite::Aes256Gcm);
    let bytes =
        seal(&f.account, &f.meta, &f.ck, &f.sk, b"{}", &mut crate::primitives::SeededRng::from_label("codec")).unwrap();
    let env = <EnvelopeRef<'_> as Codec>::decode(&bytes).unwrap();
    assert_eq!(Codec::encode(&env), bytes);
    let stub = env.stub().encode();
    assert_eq!(Codec::encode(&<Stub as Codec>::decode(&stub).unwrap()), stub);
    let (mut b, mut s) = (bytes.clone(), stub.clone());
    b.push(0);
    s.push(0);
    assert_eq!(<EnvelopeRef<'_> as Codec>::decode(&b).err(), Some(Error::DecodeTrailing));
    assert_eq!(<Stub as Codec>::decode(&s).err(), Some(Error::DecodeTrailing));
}
