//! A valid envelope mutated by the input (XOR, then an optional cut) opens
//! only when nothing changed (spec 7.9, 7.12): every byte is authenticated.

use std::sync::OnceLock;

use blindsync::envelope::payload::Schema;
use blindsync::envelope::{self, AuthorizedWriter, DeviceId, EpochAccess, OpenContext, RecordId, RecordMeta, Suite};
use blindsync::keys::{AccountId, Bucket, CollectionKey};
use blindsync::primitives::SeededRng;

use crate::Vectors;

/// Longest input worth trying.
pub const MAX_LEN: usize = 1024;

struct Fixture {
    ck: CollectionKey,
    writers: Vec<AuthorizedWriter>,
    env: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let account = AccountId([1; 32]);
        let ck = CollectionKey::from_bytes([2; 32]);
        let sk = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
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
            prev: [0; 32],
        };
        let env = envelope::seal(&account, &meta, &ck, &sk, br#"{"a":1}"#, &mut SeededRng::from_label("fuzz"))
            .unwrap_or_default();
        let writers =
            vec![AuthorizedWriter { device: DeviceId([6; 32]), verifying_key: sk.verifying_key().to_bytes(), max_seq: None }];
        Fixture { ck, writers, env }
    })
}

/// Runs one input.
// [ENV-9] [ENV-12] any change to a sealed envelope is refused.
pub fn run(data: &[u8]) {
    let f = fixture();
    assert!(!f.env.is_empty(), "fixture envelope");
    let epochs = [EpochAccess { epoch: 0, collection_key: &f.ck, writers: &f.writers }];
    let ctx = OpenContext { account: AccountId([1; 32]), epochs: &epochs, bucket: None, record_id: None, heads: &[] };
    let mut e = f.env.clone();
    for (i, b) in data.iter().enumerate() {
        if let Some(x) = e.get_mut(i % f.env.len()) {
            *x ^= b;
        }
    }
    if let Some((&cut, _)) = data.split_first()
        && cut & 1 == 1
    {
        e.truncate(usize::from(cut) * 3);
    }
    let res = envelope::open(&e, &ctx);
    assert_eq!(res.is_ok(), e == f.env);
}

/// The all-zero mutation (no change) and a one-bit flip.
pub fn seeds(_: &Vectors) -> Vec<Vec<u8>> {
    vec![vec![0; 8], vec![0, 0, 0, 0, 1]]
}
