use proptest::prelude::*;

use super::hchain::{self, ServerRecord};
use super::*;
use crate::keys::AccountId;

fn ev(t: u64, kind: EventKind, d: &[u8]) -> Event {
    Event { t_ms: t, kind, data: d.to_vec() }
}

fn sample() -> Vec<Event> {
    vec![
        ev(1_000, EventKind::Screenshot, &[1; 40]),
        ev(2_000, EventKind::Log, b"a"),
        ev(2_000, EventKind::Log, b"b"),
        ev(3_000, EventKind::Screenshot, &[2; 9]),
    ]
}

fn record(events: &[Event]) -> ServerRecord {
    let mut r = ServerRecord::new(&AccountId([1; 32]), &BatchId([2; 16]));
    for e in events {
        r.report(hchain::event_hash(e));
    }
    r
}

fn check(events: &[Event], r: &ServerRecord) -> crate::Result<()> {
    hchain::verify(&AccountId([1; 32]), &BatchId([2; 16]), events, r)
}

// [BAT-1] [HCH-3] [HCH-4] [HCH-5] each tampering has its own code; the batch id binds the record.
#[test]
fn hash_chain_names_each_failure() {
    let evs = sample();
    let r = record(&evs);
    assert_eq!(check(&evs, &r), Ok(()));
    let mut dropped = evs.clone();
    dropped.remove(1);
    assert_eq!(check(&dropped, &r), Err(Error::HchDropped));
    let mut inserted = evs.clone();
    inserted.insert(2, ev(2_000, EventKind::Log, b"x"));
    assert_eq!(check(&inserted, &r), Err(Error::HchInserted));
    let mut reordered = evs.clone();
    reordered.swap(1, 2);
    assert_eq!(check(&reordered, &r), Err(Error::HchReordered));
    let mut altered = evs.clone();
    altered[3].data[0] ^= 1;
    assert_eq!(check(&altered, &r), Err(Error::HchAltered));
    let mut bad = r.clone();
    bad.value[0] ^= 1;
    assert_eq!(check(&evs, &bad), Err(Error::HchRecord));
    // Another batch's record does not vouch for this batch.
    assert_eq!(hchain::verify(&AccountId([1; 32]), &BatchId([3; 16]), &evs, &r), Err(Error::HchRecord));
}

// [BAT-2] framing: order, unknown kind, trailing bytes.
#[test]
fn framing_errors() {
    let bytes = encode_events(&sample()).unwrap();
    assert_eq!(decode_events(&bytes).unwrap(), sample());
    let mut out_of_order = sample();
    out_of_order.swap(0, 3);
    assert_eq!(encode_events(&out_of_order), Err(Error::BatchEventOrder));
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(decode_events(&trailing), Err(Error::DecodeTrailing));
    let kind_at = 4 + labels::BATCH_EVENTS.len() + 4 + 8;
    let mut kind = bytes.clone();
    kind[kind_at] = 9;
    assert_eq!(decode_events(&kind), Err(Error::DecodeValue));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    // [BAT-2] [HCH-5] framing round-trips and an untouched batch verifies.
    #[test]
    fn round_trip(items in proptest::collection::vec((0u64..5, any::<bool>(), proptest::collection::vec(any::<u8>(), 0..64)), 0..20)) {
        let mut t = 0;
        let evs: Vec<Event> = items.into_iter().map(|(dt, log, d)| {
            t += dt;
            Event { t_ms: t, kind: if log { EventKind::Log } else { EventKind::Screenshot }, data: d }
        }).collect();
        let bytes = encode_events(&evs).unwrap();
        prop_assert_eq!(decode_events(&bytes).unwrap(), evs.clone());
        prop_assert_eq!(check(&evs, &record(&evs)), Ok(()));
    }
}

mod sealed_tests {
    use proptest::prelude::*;

    use super::super::hchain::{self, ServerRecord};
    use super::super::sealed::{self, BatchInput, BatchMeta, ListPolicy, SealedBatch, Window};
    use super::super::*;
    use crate::device::{DeviceId, DeviceKeys};
    use crate::envelope::Suite;
    use crate::hpke::HpkeSecretKey;
    use crate::keys::AccountId;
    use crate::primitives::SeededRng;

    const ACC: AccountId = AccountId([1; 32]);
    const BID: BatchId = BatchId([2; 16]);
    const WIN: Window = Window { start_ms: 1_000, end_ms: 9_000, expires_ms: 100_000 };

    struct Fixture {
        device: DeviceKeys,
        partner: HpkeSecretKey,
        policy: ListPolicy,
    }

    fn fixture() -> Fixture {
        let mut rng = SeededRng::from_label("batch-sealed-test");
        let device = DeviceKeys::generate(&mut rng);
        let partner = HpkeSecretKey::random(&mut rng);
        let p = device.public();
        let policy =
            ListPolicy { writers: vec![(device.id(), p.ed25519)], allowed: vec![p.x25519, partner.public_key()] };
        Fixture { device, partner, policy }
    }

    fn events(n: usize) -> Vec<Event> {
        (0..n)
            .map(|i| Event {
                t_ms: 1_000 + i as u64 * 10,
                kind: if i % 2 == 0 { EventKind::Screenshot } else { EventKind::Log },
                data: vec![i as u8; 30_000],
            })
            .collect()
    }

    fn record(evs: &[Event]) -> ServerRecord {
        let mut r = ServerRecord::new(&ACC, &BID);
        for e in evs {
            r.report(hchain::event_hash(e));
        }
        r
    }

    fn seal(f: &Fixture, evs: &[Event]) -> SealedBatch {
        let recipients = [f.device.public().x25519, f.partner.public_key()];
        let input = BatchInput {
            account: ACC,
            batch_id: BID,
            suite: Suite::Aes256Gcm,
            window: WIN,
            events: evs,
            recipients: &recipients,
        };
        sealed::seal(&input, &f.device, &f.policy, &mut SeededRng::from_label("seal")).unwrap()
    }

    // [BAT-5] [BAT-6] [BAT-7] [BAT-8] [BAT-9] seal, wire round trip, open by the partner and by the owner device.
    #[test]
    fn seal_and_open() {
        let f = fixture();
        let evs = events(5);
        let s = seal(&f, &evs);
        let wire = SealedBatch::from_wire(&s.blob(), &s.slot_list()).unwrap();
        assert_eq!(wire, s);
        let o = sealed::open(&ACC, &BID, &wire, &record(&evs), &f.policy, &f.partner, 5_000).unwrap();
        assert_eq!(o.events, evs);
        assert_eq!(o.meta.event_count, 5);
        assert_eq!(o.meta.writer, f.device.id());
        let o = sealed::open(&ACC, &BID, &wire, &record(&evs), &f.policy, f.device.hpke_key(), 5_000).unwrap();
        assert_eq!(o.events, evs);
    }

    // [BAT-8] each metadata-level failure has its code.
    #[test]
    fn open_failures() {
        let f = fixture();
        let evs = events(3);
        let s = seal(&f, &evs);
        let r = record(&evs);
        let open = |s: &SealedBatch, p: &ListPolicy, now| sealed::open(&ACC, &BID, s, &r, p, &f.partner, now);
        assert_eq!(open(&s, &f.policy, 100_000), Err(Error::BatchExpired));
        assert_eq!(sealed::open(&ACC, &BatchId([3; 16]), &s, &r, &f.policy, &f.partner, 5), Err(Error::BatchId));
        let no_writer = ListPolicy { writers: vec![(DeviceId([9; 32]), [0; 32])], ..f.policy.clone() };
        assert_eq!(open(&s, &no_writer, 5), Err(Error::BatchWriter));
        let mut bad_sig = s.clone();
        let l = bad_sig.meta.len();
        bad_sig.meta[l - 1] ^= 1;
        assert_eq!(open(&bad_sig, &f.policy, 5), Err(Error::BatchSignature));
        let only_owner = ListPolicy { allowed: vec![f.device.public().x25519], ..f.policy.clone() };
        assert_eq!(open(&s, &only_owner, 5), Err(Error::BatchUnpinned));
        let mut slots = s.clone();
        slots.slots[2 + 40] ^= 1;
        assert_eq!(open(&slots, &f.policy, 5), Err(Error::BatchSlots));
        let mut man = s.clone();
        let l = man.manifest.len();
        man.manifest[l - 1] ^= 1;
        assert_eq!(open(&man, &f.policy, 5), Err(Error::BatchManifest));
        let mut body = s.clone();
        body.body.truncate(body.body.len() - 1);
        assert_eq!(open(&body, &f.policy, 5), Err(Error::StreamTruncated));
        assert_eq!(sealed::open(&ACC, &BID, &s, &record(&evs[..2]), &f.policy, &f.partner, 5), Err(Error::HchInserted));
    }

    // [BAT-5] [BAT-6] the writer refuses out-of-window events, a bad window and unpinned recipients.
    #[test]
    fn seal_refusals() {
        let f = fixture();
        let mut rng = SeededRng::from_label("refusals");
        let evs = events(2);
        let rec = [f.partner.public_key()];
        let mk = |window, evs: &'static [Event], recipients: &'static [[u8; 32]]| BatchInput {
            account: ACC,
            batch_id: BID,
            suite: Suite::Aes256Gcm,
            window,
            events: evs,
            recipients,
        };
        let evs: &'static [Event] = Box::leak(evs.into_boxed_slice());
        let rec: &'static [[u8; 32]] = Box::leak(Box::new(rec));
        let late = Window { end_ms: 1_005, ..WIN };
        assert_eq!(sealed::seal(&mk(late, evs, rec), &f.device, &f.policy, &mut rng), Err(Error::BatchTime));
        let bad = Window { start_ms: 10_000, ..WIN };
        assert_eq!(sealed::seal(&mk(bad, evs, rec), &f.device, &f.policy, &mut rng), Err(Error::BatchRange));
        let stranger: &'static [[u8; 32]] = Box::leak(Box::new([[7u8; 32]]));
        assert_eq!(sealed::seal(&mk(WIN, evs, stranger), &f.device, &f.policy, &mut rng), Err(Error::BatchUnpinned));
    }

    fn meta_strategy() -> impl Strategy<Value = BatchMeta> {
        (
            any::<[u8; 16]>(),
            any::<[u8; 32]>(),
            any::<bool>(),
            (0u64..100, 0u64..100, 0u64..100),
            any::<u32>(),
            proptest::collection::btree_set(any::<[u8; 32]>(), 1..5),
            any::<[u8; 32]>(),
            any::<[u8; 32]>(),
        )
            .prop_map(|(id, w, chacha, (a, b, c), count, rec, sd, md)| BatchMeta {
                batch_id: BatchId(id),
                writer: DeviceId(w),
                suite: if chacha { Suite::ChaCha20Poly1305 } else { Suite::Aes256Gcm },
                window: Window { start_ms: a, end_ms: a + b, expires_ms: a + b + c },
                event_count: count,
                recipients: rec.into_iter().collect(),
                slots_digest: sd,
                manifest_digest: md,
                signature: [5; 64],
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        // [BAT-5] metadata encoding round-trips and is injective: two different metadata never encode alike.
        #[test]
        fn meta_encoding_injective(a in meta_strategy(), b in meta_strategy()) {
            prop_assert_eq!(BatchMeta::decode(&a.encode()).unwrap(), a.clone());
            prop_assert_eq!(a == b, a.encode() == b.encode());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]
        // [BAT-6] [BAT-8] seal/open round trip at arbitrary event lists.
        #[test]
        fn seal_open_round_trip(sizes in proptest::collection::vec(0usize..90_000, 0..6), seed in any::<u8>()) {
            let f = fixture();
            let evs: Vec<Event> = sizes.iter().enumerate().map(|(i, n)| Event {
                t_ms: 1_000 + i as u64, kind: EventKind::Screenshot, data: vec![seed; *n],
            }).collect();
            let recipients = [f.partner.public_key()];
            let input = BatchInput { account: ACC, batch_id: BID, suite: Suite::ChaCha20Poly1305, window: WIN, events: &evs, recipients: &recipients };
            let s = sealed::seal(&input, &f.device, &f.policy, &mut SeededRng::from_seed([seed; 32])).unwrap();
            let w = SealedBatch::from_wire(&s.blob(), &s.slot_list()).unwrap();
            let o = sealed::open(&ACC, &BID, &w, &record(&evs), &f.policy, &f.partner, 50).unwrap();
            prop_assert_eq!(o.events, evs);
        }
    }
}

// [BAT-4] the structure is checked before the order of the recipients (fuzz finding, key_slot).
#[test]
fn slot_structure_before_order() {
    use crate::hpke::HpkeSecretKey;
    let me = HpkeSecretKey::from_bytes([7; 32]);
    let mut two = 2u16.to_be_bytes().to_vec();
    for r in [5u8, 1] {
        two.extend_from_slice(&[r; 32]);
        two.extend_from_slice(&[0; slots::SLOT_LEN - 32]);
    }
    let open = |b: &[u8]| slots::open_slot(&AccountId([1; 32]), &BatchId([2; 16]), b, &|_| true, &me).err();
    assert_eq!(open(&two), Some(Error::DecodeValue));
    assert_eq!(open(&two[..two.len() - 1]), Some(Error::DecodeTruncated));
    let mut trailing = two.clone();
    trailing.push(0);
    assert_eq!(open(&trailing), Some(Error::DecodeTrailing));
}
