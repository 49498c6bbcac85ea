//! A valid full batch (metadata, slots, manifest, body) mutated by the input
//! (XOR over the blob and the slots, then an optional cut of the blob) opens
//! only when nothing changed (spec 10.4 [BAT-8]): every byte is authenticated.

use std::sync::OnceLock;

use blindsync::batch::hchain::{self, ServerRecord};
use blindsync::batch::sealed::{self, BatchInput, BatchLink, ListPolicy, SealedBatch, Window};
use blindsync::batch::{BatchId, Event, EventKind};
use blindsync::device::{ChainHead, DeviceKeys};
use blindsync::envelope::Suite;
use blindsync::hpke::HpkeSecretKey;
use blindsync::keys::AccountId;
use blindsync::primitives::SeededRng;

use crate::Vectors;

/// Longest input worth trying.
pub const MAX_LEN: usize = 2048;

const ACCOUNT: AccountId = AccountId([1; 32]);
const BATCH: BatchId = BatchId([2; 16]);

struct Fixture {
    policy: ListPolicy,
    reader: HpkeSecretKey,
    record: ServerRecord,
    blob: Vec<u8>,
    slots: Vec<Vec<u8>>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut rng = SeededRng::from_label("fuzz/batch_open_mutate");
        let device = DeviceKeys::generate(&mut rng);
        let reader = HpkeSecretKey::random(&mut rng);
        let p = device.public();
        let head = ChainHead { len: 1, hash: [5; 32] };
        let policy = ListPolicy {
            writers: vec![(device.id(), p.ed25519)],
            allowed: vec![p.x25519, reader.public_key()],
            chain: vec![head.hash],
        };
        let data_key = sealed::new_data_key(&mut rng);
        let mut recorder = hchain::Recorder::new(&data_key, &ACCOUNT, &BATCH);
        let events = vec![
            Event { t_ms: 10, kind: EventKind::Screenshot, data: vec![7; 300] },
            Event { t_ms: 20, kind: EventKind::Log, data: b"line".to_vec() },
        ];
        let mut record = ServerRecord::new(&ACCOUNT, &BATCH);
        for e in &events {
            let r = recorder.record(e, &device);
            record.report(r.event_hash, r.signature);
        }
        let recipients = policy.allowed.clone();
        let input = BatchInput {
            account: ACCOUNT,
            batch_id: BATCH,
            suite: Suite::ChaCha20Poly1305,
            window: Window { start_ms: 0, end_ms: 100, expires_ms: 1_000 },
            events: &events,
            recipients: &recipients,
            data_key: &data_key,
            link: BatchLink { seq: 0, prev_batch: BatchId([0; 16]), chain_head: head },
        };
        let (blob, slots) = match sealed::seal(&input, &device, &policy, &mut rng) {
            Ok(s) => (s.blob(), s.slot_list()),
            Err(_) => (Vec::new(), Vec::new()),
        };
        Fixture { policy, reader, record, blob, slots }
    })
}

/// Runs one input.
// [BAT-8] any change to a sealed batch is refused; nothing panics.
pub fn run(data: &[u8]) {
    let f = fixture();
    assert!(!f.blob.is_empty(), "fixture batch");
    let mut blob = f.blob.clone();
    let mut slots = f.slots.clone();
    let (head, rest) = data.split_at(data.len().min(1));
    for (i, b) in rest.iter().enumerate() {
        // even positions hit the blob, odd ones the slots
        if i % 2 == 0 {
            let n = blob.len();
            if let Some(x) = blob.get_mut((i / 2 * 7) % n) {
                *x ^= b;
            }
        } else if let Some(slot) = slots.get_mut(i % 2) {
            let n = slot.len();
            if let Some(x) = slot.get_mut((i / 2) % n) {
                *x ^= b;
            }
        }
    }
    if let Some(&cut) = head.first()
        && cut & 1 == 1
    {
        blob.truncate(usize::from(cut) * 5);
    }
    let res = SealedBatch::from_wire(&blob, &slots)
        .and_then(|s| sealed::open(&ACCOUNT, &BATCH, &s, &f.record, &f.policy, &f.reader, 50));
    assert_eq!(res.is_ok(), blob == f.blob && slots == f.slots);
}

/// The all-zero mutation (no change), a one-bit flip in the blob and one in a slot.
pub fn seeds(_: &Vectors) -> Vec<Vec<u8>> {
    vec![vec![0; 8], vec![0, 1], vec![0, 0, 1]]
}
