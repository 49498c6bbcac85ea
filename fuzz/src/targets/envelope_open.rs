//! Record envelopes (spec 7.4, 7.12, 7.13): every decoder and every open and
//! verify path on arbitrary bytes, under a fixed authorization context.

use std::sync::OnceLock;

use blindsync::envelope::{self, AuthorizedWriter, DeviceId, EnvelopeRef, EpochAccess, Header, OpenContext, Stub};
use blindsync::keys::{AccountId, CollectionKey};

use crate::Vectors;
use crate::seeds::hex_field;

/// Longest input worth trying: a few small envelopes.
pub const MAX_LEN: usize = 4096;

struct Fixture {
    ck: CollectionKey,
    writers: Vec<AuthorizedWriter>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let sk = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        Fixture {
            ck: CollectionKey::from_bytes([2; 32]),
            writers: vec![AuthorizedWriter {
                device: DeviceId([6; 32]),
                verifying_key: sk.verifying_key().to_bytes(),
                max_seq: None,
            }],
        }
    })
}

/// Runs one input.
// [ENV-4] [ENV-12] [ENV-13] [ENV-15] decoders and open paths are total.
pub fn run(data: &[u8]) {
    let f = fixture();
    let epochs = [EpochAccess { epoch: 0, collection_key: &f.ck, writers: &f.writers }];
    let ctx = OpenContext { account: AccountId([1; 32]), epochs: &epochs, bucket: None, record_id: None, heads: &[] };
    if let Ok(h) = Header::decode(data) {
        // Decode then encode gives back the bytes.
        assert_eq!(h.encode().as_slice(), data);
    }
    let _ = EnvelopeRef::decode(data).map(|e| e.stub());
    if let Ok(stub) = Stub::decode(data) {
        let _ = envelope::verify_stub(&stub, &ctx);
    }
    let _ = envelope::open(data, &ctx);
    let _ = envelope::payload::check_canonical_json(data);
    let _ = envelope::padding::unpad(data);
}

/// The envelopes and stubs of the vectors.
pub fn seeds(v: &Vectors) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = v.of_kind("envelope_open").filter_map(|x| hex_field(x, "input", "envelope")).collect();
    out.extend(v.of_kind("envelope_verify_stub").filter_map(|x| hex_field(x, "input", "stub")));
    out
}
