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
