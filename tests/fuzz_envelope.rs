//! Bolero targets: decoding and opening arbitrary bytes never panics
//! (spec 7.12 and 7.13). A later issue turns these into a fuzz crate.

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
