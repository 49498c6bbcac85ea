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

fn device() -> crate::device::DeviceKeys {
    crate::device::DeviceKeys::generate(&mut crate::primitives::SeededRng::from_label("hchain-test"))
}

fn data_key() -> crate::stream::StreamKeySource {
    crate::stream::StreamKeySource::from_bytes([4; 32])
}

fn record(events: &[Event]) -> ServerRecord {
    let (d, acc, bid) = (device(), AccountId([1; 32]), BatchId([2; 16]));
    let mut rec = hchain::Recorder::new(&data_key(), &acc, &bid);
    let mut r = ServerRecord::new(&acc, &bid);
    for e in events {
        let rep = rec.record(e, &d);
        r.report(rep.event_hash, rep.signature);
    }
    r
}

fn check_at(batch: BatchId, events: &[Event], r: &ServerRecord) -> crate::Result<()> {
    let acc = AccountId([1; 32]);
    let key = hchain::event_key(&data_key(), &acc, &batch);
    hchain::verify(&acc, &batch, &key, &device().public().ed25519, events, r)
}

fn check(events: &[Event], r: &ServerRecord) -> crate::Result<()> {
    check_at(BatchId([2; 16]), events, r)
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
    assert_eq!(check_at(BatchId([3; 16]), &evs, &r), Err(Error::HchRecord));
}

// [HCH-6] [MODEL-5] frame-user: the server appends a report of its own so that an honest batch
// looks as if the device dropped an event. With the report signature checked the record is
// refused (E_HCH_SIGNATURE, the server's fault); without it the device is accused.
#[test]
fn server_cannot_frame_the_device() {
    use crate::defences::{DataWeakening, Defences};
    let evs = sample();
    let r = record(&evs);
    let mut framed = r.clone();
    framed.report([0x42; 32], r.signature);
    assert_eq!(check(&evs, &framed), Err(Error::HchSignature));
    let (acc, bid) = (AccountId([1; 32]), BatchId([2; 16]));
    let key = hchain::event_key(&data_key(), &acc, &bid);
    let weak = Defences::ALL.without_data(DataWeakening::UnsignedReports);
    let vk = device().public().ed25519;
    assert_eq!(hchain::verify_with(&acc, &bid, &key, &vk, &evs, &framed, &weak), Err(Error::HchDropped));
    // A record the device did sign still names a real drop.
    assert_eq!(check(&evs[..3], &r), Err(Error::HchDropped));
}

// [HCH-2] [MODEL-5] event-guessing: the server holds a reported hash and a dictionary of likely
// log lines and times. Unkeyed, one guess matches; keyed with the batch's event key (which the
// server never sees), no guess does.
#[test]
fn server_cannot_test_guessed_events() {
    use crate::defences::{DataWeakening, Defences};
    let (acc, bid) = (AccountId([1; 32]), BatchId([2; 16]));
    let key = hchain::event_key(&data_key(), &acc, &bid);
    let secret = ev(1_767_225_601_500, EventKind::Log, b"visited clinic.example");
    let lines: [&[u8]; 3] = [b"visited news.example", b"visited clinic.example", b"opened mail"];
    let guesses = || {
        lines
            .iter()
            .flat_map(|l| (1_767_225_601_000..1_767_225_602_000).step_by(100).map(move |t| ev(t, EventKind::Log, l)))
    };
    // What a server without the key can compute for a guess: the same bytes, unkeyed or keyed
    // with any key it picks.
    let server_view = |g: &Event| crate::primitives::blake3_hash(&[&hchain::event_prefix(g), &g.data]);
    let weak = Defences::ALL.without_data(DataWeakening::UnkeyedEventHashes);
    let unkeyed = hchain::event_hash_with(&key, &secret, &weak);
    assert_eq!(guesses().filter(|g| server_view(g) == unkeyed).count(), 1);
    let keyed = hchain::event_hash_with(&key, &secret, &Defences::ALL);
    assert_eq!(guesses().filter(|g| server_view(g) == keyed).count(), 0);
    let wrong = hchain::EventKey::from_bytes([0; 32]);
    assert_eq!(guesses().filter(|g| hchain::event_hash(&wrong, g) == keyed).count(), 0);
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
    // [ENC-7] an event's order is checked after its data: an early event cut short is
    // truncation, and an unknown kind comes before the order.
    let second = 4 + labels::BATCH_EVENTS.len() + 4 + 13 + 40;
    let mut early = bytes.clone();
    early[second..second + 8].copy_from_slice(&0u64.to_be_bytes());
    assert_eq!(decode_events(&early), Err(Error::BatchEventOrder));
    assert_eq!(decode_events(&early[..second + 13]), Err(Error::DecodeTruncated));
    early[second + 8] = 9;
    assert_eq!(decode_events(&early), Err(Error::DecodeValue));
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
    use super::super::sealed::{self, BatchInput, BatchLink, BatchMeta, ListPolicy, ReaderState, SealedBatch, Window};
    use super::super::*;
    use crate::device::{ChainHead, DeviceId, DeviceKeys};
    use crate::envelope::Suite;
    use crate::hpke::HpkeSecretKey;
    use crate::keys::AccountId;
    use crate::primitives::SeededRng;
    use crate::stream::StreamKeySource;

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
        let policy = ListPolicy {
            writers: vec![(device.id(), p.ed25519)],
            allowed: vec![p.x25519, partner.public_key()],
            chain: CHAIN.to_vec(),
        };
        Fixture { device, partner, policy }
    }

    const CHAIN: [[u8; 32]; 2] = [[0xc0; 32], [0xc1; 32]];
    const HEAD: ChainHead = ChainHead { len: 2, hash: [0xc1; 32] };
    const LINK: BatchLink = BatchLink { seq: 0, prev_batch: BatchId([0; 16]), chain_head: HEAD };

    fn data_key() -> StreamKeySource {
        StreamKeySource::from_bytes([4; 32])
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

    fn record_for(f: &Fixture, bid: &BatchId, evs: &[Event]) -> ServerRecord {
        let mut rec = hchain::Recorder::new(&data_key(), &ACC, bid);
        let mut r = ServerRecord::new(&ACC, bid);
        for e in evs {
            let rep = rec.record(e, &f.device);
            r.report(rep.event_hash, rep.signature);
        }
        r
    }

    fn record(evs: &[Event]) -> ServerRecord {
        record_for(&fixture(), &BID, evs)
    }

    fn seal_linked(f: &Fixture, bid: BatchId, link: BatchLink, evs: &[Event]) -> SealedBatch {
        let recipients = [f.device.public().x25519, f.partner.public_key()];
        let dk = data_key();
        let input = BatchInput {
            account: ACC,
            batch_id: bid,
            suite: Suite::Aes256Gcm,
            window: WIN,
            events: evs,
            recipients: &recipients,
            data_key: &dk,
            link,
        };
        sealed::seal(&input, &f.device, &f.policy, &mut SeededRng::from_label("seal")).unwrap()
    }

    fn seal(f: &Fixture, evs: &[Event]) -> SealedBatch {
        seal_linked(f, BID, LINK, evs)
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
        let short_chain = ListPolicy { chain: CHAIN[..1].to_vec(), ..f.policy.clone() };
        assert_eq!(open(&s, &short_chain, 5), Err(Error::BatchChainHead));
        let forked = ListPolicy { chain: vec![CHAIN[0], [0xee; 32]], ..f.policy.clone() };
        assert_eq!(open(&s, &forked, 5), Err(Error::BatchChainHead));
    }

    // [BAT-11] [MODEL-5] delete-batch: the writer seals batches 0, 1, 2, each naming the one
    // before; the server deletes batch 1 whole. A reader that follows the links notices
    // (E_BATCH_GAP); with the link check switched off it reads 0 then 2 and sees nothing.
    #[test]
    fn deleted_batch_is_noticed() {
        use crate::defences::{DataWeakening, Defences};
        let f = fixture();
        let evs = events(1);
        let ids = [BatchId([0x10; 16]), BatchId([0x11; 16]), BatchId([0x12; 16])];
        let batches: Vec<SealedBatch> = (0..3)
            .map(|k| {
                let prev = if k == 0 { BatchId([0; 16]) } else { ids[k - 1] };
                seal_linked(&f, ids[k], BatchLink { seq: k as u64, prev_batch: prev, chain_head: HEAD }, &evs)
            })
            .collect();
        let read = |d: &Defences, order: &[usize]| -> core::result::Result<(), Error> {
            let mut st = ReaderState::default();
            for &k in order {
                let r = record_for(&f, &ids[k], &evs);
                st.open_next_with(&ACC, &ids[k], &batches[k], &r, &f.policy, &f.partner, 5, d)?;
            }
            Ok(())
        };
        assert_eq!(read(&Defences::ALL, &[0, 1, 2]), Ok(()));
        assert_eq!(read(&Defences::ALL, &[0, 2]), Err(Error::BatchGap));
        assert_eq!(read(&Defences::ALL.without_data(DataWeakening::NoBatchLinks), &[0, 2]), Ok(()));
    }

    // [BAT-10] [MODEL-5] stale-partner-chain: the server withholds the statement that revoked
    // device W from a partner. An honest batch names the newer head: the partner refuses it and
    // from then on every batch until its chain catches up, so W's later batch (naming the old
    // head, on which W is still active) is refused too. With the head check off the partner
    // stays on the stale chain and accepts W's batch.
    #[test]
    fn stale_partner_chain_is_noticed() {
        use crate::defences::{DataWeakening, Defences};
        let f = fixture();
        let mut rng = SeededRng::from_label("stale-chain");
        let w = DeviceKeys::generate(&mut rng);
        let evs = events(1);
        // The partner's stale view: CHAIN (2 statements), on which both devices are active.
        let mut allowed = f.policy.allowed.clone();
        allowed.push(w.public().x25519);
        let stale = ListPolicy {
            writers: vec![(f.device.id(), f.device.public().ed25519), (w.id(), w.public().ed25519)],
            allowed,
            ..f.policy.clone()
        };
        // The honest device sealed under the 3-statement chain that revokes W.
        let new_head = ChainHead { len: 3, hash: [0xc2; 32] };
        let honest_id = BatchId([0x20; 16]);
        let honest =
            seal_linked(&f, honest_id, BatchLink { seq: 0, prev_batch: BatchId([0; 16]), chain_head: new_head }, &evs);
        // W, revoked, seals a batch naming the old head.
        let w_id = BatchId([0x21; 16]);
        let w_fixture = Fixture { device: w, partner: f.partner.clone(), policy: stale.clone() };
        let forged = seal_linked(&w_fixture, w_id, LINK, &evs);
        let run = |d: &Defences| -> (core::result::Result<(), Error>, core::result::Result<(), Error>) {
            let mut st = ReaderState::default();
            let a = st
                .open_next_with(&ACC, &honest_id, &honest, &record_for(&f, &honest_id, &evs), &stale, &f.partner, 5, d)
                .map(|_| ());
            let b = st
                .open_next_with(&ACC, &w_id, &forged, &record_for(&w_fixture, &w_id, &evs), &stale, &f.partner, 5, d)
                .map(|_| ());
            (a, b)
        };
        assert_eq!(run(&Defences::ALL), (Err(Error::BatchChainHead), Err(Error::BatchChainHead)));
        assert_eq!(run(&Defences::ALL.without_data(DataWeakening::NoChainHeadCheck)), (Ok(()), Ok(())));
    }

    // [BAT-11] review of issue 14: a writer added to the chain after the reader began must be
    // read from seq 0, so the server cannot delete its first batches; [BAT-12] a batch naming an
    // older head than an earlier one is recorded as a stale-head alert.
    #[test]
    fn new_writer_starts_at_seq_zero_and_stale_heads_are_noted() {
        let f = fixture();
        let evs = events(1);
        let mut st = ReaderState::default();
        let b0 = BatchId([0x40; 16]);
        let s0 = seal_linked(&f, b0, LINK, &evs);
        st.open_next(&ACC, &b0, &s0, &record_for(&f, &b0, &evs), &f.policy, &f.partner, 5).unwrap();
        // X is added to the reader's chain after it began.
        let x = DeviceKeys::generate(&mut SeededRng::from_label("new-writer"));
        let mut grown = f.policy.clone();
        grown.writers.push((x.id(), x.public().ed25519));
        grown.allowed.push(x.public().x25519);
        let fx = Fixture { device: x, partner: f.partner.clone(), policy: grown.clone() };
        let (x3, x0) = (BatchId([0x43; 16]), BatchId([0x50; 16]));
        let later = seal_linked(&fx, x3, BatchLink { seq: 3, prev_batch: BatchId([0x42; 16]), chain_head: HEAD }, &evs);
        let first = seal_linked(&fx, x0, LINK, &evs);
        let open = |st: &mut ReaderState, id: &BatchId, b: &SealedBatch| {
            st.open_next(&ACC, id, b, &record_for(&fx, id, &evs), &grown, &f.partner, 5)
        };
        assert_eq!(open(&mut st.clone(), &x3, &later).err(), Some(Error::BatchGap));
        assert!(open(&mut st, &x0, &first).is_ok());
        // The first writer names the one-statement head after a batch named the two-statement one.
        let old = ChainHead { len: 1, hash: CHAIN[0] };
        let b1 = BatchId([0x41; 16]);
        let s1 = seal_linked(&f, b1, BatchLink { seq: 1, prev_batch: b0, chain_head: old }, &evs);
        st.open_next(&ACC, &b1, &s1, &record_for(&f, &b1, &evs), &grown, &f.partner, 5).unwrap();
        assert_eq!(st.stale_heads.len(), 1);
        assert_eq!((st.stale_heads[0].head_len, st.stale_heads[0].newest_len), (1, 2));
    }

    // [BAT-5] [BAT-6] the writer refuses out-of-window events, a bad window and unpinned recipients.
    #[test]
    fn seal_refusals() {
        let f = fixture();
        let mut rng = SeededRng::from_label("refusals");
        let evs = events(2);
        let rec = [f.partner.public_key()];
        let dk: &'static StreamKeySource = Box::leak(Box::new(data_key()));
        let mk = |window, evs: &'static [Event], recipients: &'static [[u8; 32]]| BatchInput {
            account: ACC,
            batch_id: BID,
            suite: Suite::Aes256Gcm,
            window,
            events: evs,
            recipients,
            data_key: dk,
            link: LINK,
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

    // [ENC-7] [BAT-5] reads and checks interleave in the list's order: a check whose line comes
    // before the cut wins over E_DECODE_TRUNCATED; the recipients are one read before their order.
    #[test]
    fn meta_truncation_against_value_checks() {
        let f = fixture();
        let s = seal(&f, &events(1));
        let m = &s.meta;
        let label = 4 + labels::BATCH_META.len();
        let (version, suite, window) = (label, label + 1 + 16 + 32, label + 1 + 16 + 32 + 1);
        let n_at = window + 24 + 4 + 8 + 16 + 8 + 32;
        let recipients = n_at + 2;
        let decode = |b: &[u8]| BatchMeta::decode(b).err();
        assert_eq!(decode(m), None);
        // version 2, cut right after it: E_ENV_VERSION, not truncation
        let mut v = m[..version + 1].to_vec();
        v[version] = 2;
        assert_eq!(decode(&v), Some(Error::EnvVersion));
        // suite 3, cut right after it
        let mut su = m[..suite + 1].to_vec();
        su[suite] = 3;
        assert_eq!(decode(&su), Some(Error::EnvSuite));
        // a bad window is E_BATCH_RANGE when cut after expires_ms, E_DECODE_TRUNCATED when cut inside it
        let mut w = m.clone();
        w[window..window + 8].copy_from_slice(&u64::MAX.to_be_bytes());
        assert_eq!(decode(&w[..window + 24]), Some(Error::BatchRange));
        assert_eq!(decode(&w[..n_at]), Some(Error::BatchRange));
        assert_eq!(decode(&w[..window + 23]), Some(Error::DecodeTruncated));
        // two recipients out of order: E_DECODE_VALUE only once all 64 bytes are there
        assert_eq!(u16::from_be_bytes([m[n_at], m[n_at + 1]]), 2);
        let mut o = m.clone();
        let (r0, r1) = (m[recipients..recipients + 32].to_vec(), m[recipients + 32..recipients + 64].to_vec());
        o[recipients..recipients + 32].copy_from_slice(&r1);
        o[recipients + 32..recipients + 64].copy_from_slice(&r0);
        assert_eq!(decode(&o), Some(Error::DecodeValue));
        assert_eq!(decode(&o[..recipients + 64]), Some(Error::DecodeValue));
        assert_eq!(decode(&o[..recipients + 63]), Some(Error::DecodeTruncated));
        // n = 0 is E_DECODE_VALUE even with nothing after it
        let mut zero = m[..recipients].to_vec();
        zero[n_at..n_at + 2].copy_from_slice(&[0, 0]);
        assert_eq!(decode(&zero), Some(Error::DecodeValue));
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
            (any::<u64>(), any::<[u8; 16]>(), any::<u64>(), any::<[u8; 32]>()),
        )
            .prop_map(|(id, w, chacha, (a, b, c), count, rec, sd, md, (seq, prev, hl, hh))| BatchMeta {
                batch_id: BatchId(id),
                writer: DeviceId(w),
                suite: if chacha { Suite::ChaCha20Poly1305 } else { Suite::Aes256Gcm },
                window: Window { start_ms: a, end_ms: a + b, expires_ms: a + b + c },
                event_count: count,
                link: BatchLink { seq, prev_batch: BatchId(prev), chain_head: ChainHead { len: hl, hash: hh } },
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
            let dk = data_key();
            let input = BatchInput { account: ACC, batch_id: BID, suite: Suite::ChaCha20Poly1305, window: WIN, events: &evs, recipients: &recipients, data_key: &dk, link: LINK };
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
