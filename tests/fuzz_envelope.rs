//! Bolero targets: decoding and opening arbitrary bytes never panics
//! (spec 7.4 and 7.12). A later issue turns these into a fuzz crate.

use blindsync::envelope::{
    self, AuthorizedWriter, DeviceId, EnvelopeRef, EpochAccess, Header, OpenContext, Stub, verify_stub,
};
use blindsync::keys::{AccountId, CollectionKey};

// [ENV-4] [ENV-12] [ENV-13] [ENV-15] arbitrary bytes through every decoder and open path.
#[test]
fn decode_and_open_never_panic() {
    let ck = CollectionKey::from_bytes([2; 32]);
    let sk = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
    let writers =
        [AuthorizedWriter { device: DeviceId([6; 32]), verifying_key: sk.verifying_key().to_bytes(), max_seq: None }];
    let epochs = [EpochAccess { epoch: 0, collection_key: &ck, writers: &writers }];
    let ctx = OpenContext { account: AccountId([1; 32]), epochs: &epochs, bucket: None, record_id: None };
    bolero::check!().for_each(|input: &[u8]| {
        let _ = Header::decode(input);
        let _ = EnvelopeRef::decode(input).map(|e| e.stub());
        if let Ok(stub) = Stub::decode(input) {
            let _ = verify_stub(&stub, &ctx);
        }
        let _ = envelope::open(input, &ctx);
        let _ = envelope::payload::check_canonical_json(input);
        let _ = envelope::padding::unpad(input);
    });
}

// [ENV-9] [ENV-12] mutations of a valid envelope (XOR of the input into it, then a
// cut at a length the input picks) never panic, and succeed only when nothing changed.
#[test]
fn mutated_envelopes_never_panic() {
    use blindsync::envelope::payload::Schema;
    use blindsync::envelope::{RecordId, RecordMeta, Suite};
    use blindsync::keys::Bucket;
    use blindsync::primitives::SeededRng;
    let account = AccountId([1; 32]);
    let ck = CollectionKey::from_bytes([2; 32]);
    let sk = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
    let writers =
        [AuthorizedWriter { device: DeviceId([6; 32]), verifying_key: sk.verifying_key().to_bytes(), max_seq: None }];
    let epochs = [EpochAccess { epoch: 0, collection_key: &ck, writers: &writers }];
    let ctx = OpenContext { account, epochs: &epochs, bucket: None, record_id: None };
    let meta = RecordMeta {
        suite: Suite::ChaCha20Poly1305,
        bucket: Bucket([4; 32]),
        record_id: RecordId([5; 16]),
        revision: 1,
        writer: DeviceId([6; 32]),
        writer_seq: 1,
        epoch: 0,
        schema: Schema::Json,
        chain_head: [7; 32],
    };
    let env = envelope::seal(&account, &meta, &ck, &sk, br#"{"a":1}"#, &mut SeededRng::from_label("fuzz")).unwrap();
    bolero::check!().for_each(|input: &[u8]| {
        let mut e = env.clone();
        for (i, b) in input.iter().enumerate() {
            if let Some(x) = e.get_mut(i % env.len()) {
                *x ^= b;
            }
        }
        if let Some((&cut, _)) = input.split_first()
            && cut & 1 == 1
        {
            e.truncate(usize::from(cut) * 3);
        }
        let res = envelope::open(&e, &ctx);
        assert_eq!(res.is_ok(), e == env);
    });
}
