//! Bolero targets: stream manifests, stream bodies, batch event framing and
//! the hash-chain check never panic on arbitrary bytes (spec 9.7, 9.8, 10.2, 10.3).

use blindsync::envelope::Suite;
use blindsync::keys::AccountId;
use blindsync::stream::{self, Manifest, StreamKeySource, StreamOpenContext, StreamParams};

fn params() -> StreamParams {
    StreamParams { account: AccountId([1; 32]), suite: Suite::Aes256Gcm, stream_id: [2; 16], context: [3; 32] }
}

// [STR-8] arbitrary bytes as a manifest, and as a manifest followed by a body.
#[test]
fn manifest_decoding_never_panics() {
    let sk = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
    let ctx = StreamOpenContext { params: params(), verifying_key: sk.verifying_key().to_bytes() };
    let source = StreamKeySource::from_bytes([4; 32]);
    bolero::check!().for_each(|input: &[u8]| {
        let _ = Manifest::decode(input);
        let _ = Manifest::verify(input, &ctx);
        let split = input.first().copied().unwrap_or(0) as usize % (input.len() + 1);
        let (m, b) = input.split_at(split);
        let _ = stream::open(m, b, &ctx, &source);
    });
}

// [STR-11] a valid manifest with an arbitrary body: every outcome is a typed error or the plaintext.
#[test]
fn body_reading_never_panics() {
    let sk = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
    let ctx = StreamOpenContext { params: params(), verifying_key: sk.verifying_key().to_bytes() };
    let source = StreamKeySource::from_bytes([4; 32]);
    let (m, body) = stream::seal_parallel(&params(), &source, &sk, &[9; 32], &[7u8; 70_000], 2).unwrap();
    bolero::check!().for_each(|input: &[u8]| {
        let mut b = body.clone();
        for (i, x) in input.iter().enumerate() {
            if let Some(y) = b.get_mut(i * 997 % body.len()) {
                *y ^= x;
            }
        }
        b.truncate(body.len() - input.len().min(body.len()));
        let r = stream::open(&m, &b, &ctx, &source);
        assert!(r.is_err() || input.iter().all(|x| *x == 0));
    });
}

// [BAT-2] [HCH-5] arbitrary bytes as a batch's event framing, then through the hash-chain check.
#[test]
fn batch_event_decoding_never_panics() {
    use blindsync::batch::{BatchId, decode_events, hchain};
    bolero::check!().for_each(|input: &[u8]| {
        if let Ok(events) = decode_events(input) {
            let record = hchain::ServerRecord::new(&AccountId([1; 32]), &BatchId([2; 16]));
            let _ = hchain::verify(&AccountId([1; 32]), &BatchId([2; 16]), &events, &record);
        }
    });
}

// [BAT-3] [BAT-4] arbitrary bytes as a batch's key slots.
#[test]
fn slot_decoding_never_panics() {
    use blindsync::batch::{BatchId, slots};
    use blindsync::hpke::HpkeSecretKey;
    let me = HpkeSecretKey::from_bytes([7; 32]);
    bolero::check!().for_each(|input: &[u8]| {
        let _ = slots::open_slot(&AccountId([1; 32]), &BatchId([2; 16]), input, &|_| true, &me);
    });
}
