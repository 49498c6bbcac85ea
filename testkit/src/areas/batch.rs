//! `batch.json` (spec 10): event framing and the verification hash chain.

use serde_json::{Value, json};

use super::{Fault, Gen, fault, outcome};
use crate::Flag;
use crate::Outcome;
use crate::hex;
use crate::json::{Fail, JsonObject, hex_value, obj, set};
use blindsync::batch::hchain::{self, ServerRecord};
use blindsync::batch::sealed::{self, BatchInput, BatchLink, BatchMeta, ListPolicy, SealedBatch, Window};
use blindsync::batch::slots;
use blindsync::batch::{BatchId, Event, EventKind, decode_events, encode_events};
use blindsync::device::{ChainHead, DeviceId, DeviceKeys, DeviceSigningSeed};
use blindsync::encoding::Encoder;
use blindsync::envelope::Suite;
use blindsync::error::Error;
use blindsync::hpke::HpkeSecretKey;
use blindsync::keys::AccountId;
use blindsync::labels;
use blindsync::primitives::SeededRng;
use blindsync::stream::StreamKeySource;

fn event_json(e: &Event) -> Value {
    json!({"t_ms": e.t_ms, "kind": e.kind as u8, "data": hex::encode(&e.data)})
}

fn events_from(v: &Value) -> Result<Vec<Event>, Fail> {
    let arr = v.as_array().ok_or_else(|| Fail::harness("events is not a list"))?;
    arr.iter()
        .map(|x| {
            let o = JsonObject(x);
            let kind = u8::try_from(o.u64("kind")?).map_err(|_| Fail::harness("kind"))?;
            Ok(Event { t_ms: o.u64("t_ms")?, kind: EventKind::from_u8(kind)?, data: o.hex("data")? })
        })
        .collect()
}

fn hashes_from(v: &Value) -> Result<Vec<[u8; 32]>, Fail> {
    let arr = v.as_array().ok_or_else(|| Fail::harness("reported is not a list"))?;
    arr.iter()
        .map(|x| {
            let s = x.as_str().ok_or_else(|| Fail::harness("hash"))?;
            hex::decode(s).and_then(|b| b.try_into().ok()).ok_or_else(|| Fail::harness("hash"))
        })
        .collect()
}

fn batch_events_decode(input: &Value) -> Result<Outcome, Fail> {
    let evs = decode_events(&JsonObject(input).hex("events")?)?;
    outcome(obj([]), obj([("events", Value::Array(evs.iter().map(event_json).collect()))]))
}

fn record_from(i: &JsonObject<'_>, reference: [u8; 32]) -> Result<ServerRecord, Fail> {
    Ok(ServerRecord {
        reference,
        reported: hashes_from(i.get("reported")?)?,
        value: i.hex_n("value")?,
        signature: i.hex_n("signature")?,
    })
}

fn hash_chain_verify(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let account = AccountId(i.hex_n("account_id")?);
    let batch = BatchId(i.hex_n("batch_id")?);
    let events = events_from(i.get("events")?)?;
    let reference = hchain::reference(&account, &batch);
    let record = record_from(&i, reference)?;
    let key = hchain::event_key(&StreamKeySource::from_bytes(i.hex_n("data_key")?), &account, &batch);
    hchain::verify(&account, &batch, &key, &i.hex_n("writer_ed25519")?, &events, &record)?;
    let hashes: Vec<[u8; 32]> = events.iter().map(|e| hchain::event_hash(&key, e)).collect();
    let mut chain = Vec::new();
    let mut v = hchain::START;
    for e in &hashes {
        v = hchain::link(&reference, &v, e);
        chain.push(hex_value(&v));
    }
    let first_prefix = events
        .first()
        .map(|e| Encoder::new(labels::HCH_EVENT).u64(e.t_ms).u8(e.kind as u8).u32(e.data.len() as u32).finish());
    let inter = obj([
        ("event_key_info", hex_value(&hchain::event_key_info(&account, &batch))),
        ("event_key", hex_value(key.expose())),
        ("event_hashes", Value::Array(hashes.iter().map(|x| hex_value(x)).collect())),
        ("reference_input", hex_value(&Encoder::new(labels::BATCH_REF).fixed(&account.0).fixed(&batch.0).finish())),
        ("reference", hex_value(&reference)),
        ("first_event_prefix", first_prefix.map_or(Value::Null, |p| hex_value(&p))),
        (
            "first_link_input",
            hashes.first().map_or(Value::Null, |e| {
                hex_value(&Encoder::new(labels::HCH_LINK).fixed(&reference).fixed(&hchain::START).fixed(e).finish())
            }),
        ),
        ("chain", Value::Array(chain)),
        (
            "report_digest_input",
            hex_value(
                &Encoder::new(labels::SIG_HCH_REPORT)
                    .fixed(&reference)
                    .u64(record.reported.len() as u64)
                    .fixed(&record.value)
                    .finish(),
            ),
        ),
        ("report_digest", hex_value(&hchain::report_digest(&reference, record.reported.len() as u64, &record.value))),
    ]);
    outcome(inter, obj([("value", hex_value(&v))]))
}

fn batch_slot_open(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let account = AccountId(i.hex_n("account_id")?);
    let batch = BatchId(i.hex_n("batch_id")?);
    let allowed = hashes_from(i.get("allowed")?)?;
    let me = HpkeSecretKey::from_bytes(i.hex_n("x25519_secret")?);
    let key = slots::open_slot(&account, &batch, &i.hex("slots")?, &|k| allowed.contains(k), &me)?;
    outcome(
        obj([
            ("info", hex_value(&slots::slot_info())),
            ("aad", hex_value(&slots::slot_aad(&account, &batch, &me.public_key()))),
        ]),
        obj([("data_key", hex_value(key.expose()))]),
    )
}

fn meta_json(m: &BatchMeta) -> Value {
    json!({
        "batch_id": hex::encode(&m.batch_id.0), "writer": hex::encode(&m.writer.0), "suite": m.suite as u8,
        "start_ms": m.window.start_ms, "end_ms": m.window.end_ms, "expires_ms": m.window.expires_ms,
        "event_count": m.event_count, "seq": m.link.seq, "prev_batch": hex::encode(&m.link.prev_batch.0),
        "chain_head_len": m.link.chain_head.len, "chain_head_hash": hex::encode(&m.link.chain_head.hash),
        "recipients": m.recipients.iter().map(|x| hex::encode(x)).collect::<Vec<_>>(),
        "slots_digest": hex::encode(&m.slots_digest), "manifest_digest": hex::encode(&m.manifest_digest),
    })
}

fn batch_meta_decode(input: &Value) -> Result<Outcome, Fail> {
    let m = BatchMeta::decode(&JsonObject(input).hex("meta")?)?;
    outcome(obj([]), meta_json(&m))
}

fn batch_open(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let account = AccountId(i.hex_n("account_id")?);
    let batch = BatchId(i.hex_n("batch_id")?);
    let slot_list = i
        .arr("slots")?
        .iter()
        .map(|x| hex::decode(x.as_str().unwrap_or_default()).ok_or_else(|| Fail::harness("slot")))
        .collect::<Result<Vec<_>, Fail>>()?;
    let sealed = SealedBatch::from_wire(&i.hex("blob")?, &slot_list)?;
    let reference = hchain::reference(&account, &batch);
    let record = record_from(&i, reference)?;
    let writers = i
        .arr("writers")?
        .iter()
        .map(|w| {
            let o = JsonObject(w);
            Ok((DeviceId(o.hex_n("device_id")?), o.hex_n("ed25519")?))
        })
        .collect::<Result<Vec<_>, Fail>>()?;
    let policy = ListPolicy { writers, allowed: hashes_from(i.get("allowed")?)?, chain: hashes_from(i.get("chain")?)? };
    let me = HpkeSecretKey::from_bytes(i.hex_n("x25519_secret")?);
    let opened = sealed::open(&account, &batch, &sealed, &record, &policy, &me, i.u64("now_ms")?)?;
    // [BAT-10] a reader's next batch: the link check runs after steps 1-14 of [BAT-8].
    if let Some(l) = input.get("last").filter(|v| !v.is_null()) {
        let o = JsonObject(l);
        sealed::check_link(Some((o.u64("seq")?, BatchId(o.hex_n("batch_id")?))), &opened.meta)?;
    }
    // Intermediates, recomputed step by step for a porter.
    let meta = &opened.meta;
    let allowed = |k: &[u8; 32]| policy.allowed.contains(k);
    let data_key = slots::open_slot(&account, &batch, &sealed.slots, &allowed, &me)?;
    let source = sealed::stream_source(&data_key, &account, &batch);
    let event_key = hchain::event_key(&data_key, &account, &batch);
    let framed = encode_events(&opened.events)?;
    let len32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let prefix = |label: &str, n: usize| Encoder::new(label).u32(len32(n)).finish();
    let inter = obj([
        ("meta", meta_json(meta)),
        ("slots_digest_prefix", hex_value(&prefix(labels::HASH_BATCH_SLOTS, sealed.slots.len()))),
        ("manifest_digest_prefix", hex_value(&prefix(labels::HASH_BATCH_MANIFEST, sealed.manifest.len()))),
        (
            "sig_message_prefix",
            hex_value(
                &Encoder::new(labels::SIG_BATCH_META).fixed(&account.0).u32(len32(meta.unsigned().len())).finish(),
            ),
        ),
        (
            "context_prefix",
            hex_value(
                &Encoder::new(labels::HASH_BATCH_CONTEXT).fixed(&account.0).u32(len32(meta.core().len())).finish(),
            ),
        ),
        ("manifest", hex_value(&sealed.manifest)),
        ("slots_encoding", hex_value(&sealed.slots)),
        ("slots_digest", hex_value(&sealed::slots_digest(&sealed.slots))),
        ("manifest_digest", hex_value(&sealed::manifest_digest(&sealed.manifest))),
        ("sig_digest", hex_value(&meta.sig_digest(&account))),
        ("context", hex_value(&meta.context(&account))),
        ("stream_key_info", hex_value(&sealed::stream_key_info(&account, &batch))),
        ("data_key", hex_value(data_key.expose())),
        ("stream_source", hex_value(source.expose())),
        ("events_framed", hex_value(&framed)),
        ("reference", hex_value(&reference)),
        ("event_key", hex_value(event_key.expose())),
    ]);
    outcome(
        inter,
        obj([
            ("events", Value::Array(opened.events.iter().map(event_json).collect())),
            (
                "value",
                hex_value(&hchain::fold(
                    &reference,
                    &opened.events.iter().map(|e| hchain::event_hash(&event_key, e)).collect::<Vec<_>>(),
                )),
            ),
        ]),
    )
}

fn batch_link_check(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let meta = BatchMeta::decode(&i.hex("meta")?)?;
    let last = match i.get("last")? {
        Value::Null => None,
        v => {
            let o = JsonObject(v);
            Some((o.u64("seq")?, BatchId(o.hex_n("batch_id")?)))
        }
    };
    sealed::check_link(last, &meta)?;
    outcome(obj([]), obj([("seq", json!(meta.link.seq)), ("prev_batch", hex_value(&meta.link.prev_batch.0))]))
}

pub(super) fn run(kind: &str, input: &Value) -> Option<Result<Outcome, Fail>> {
    Some(match kind {
        "batch_link_check" => batch_link_check(input),
        "batch_meta_decode" => batch_meta_decode(input),
        "batch_open" => batch_open(input),
        "batch_slot_open" => batch_slot_open(input),
        "batch_events_decode" => batch_events_decode(input),
        "hash_chain_verify" => hash_chain_verify(input),
        _ => return None,
    })
}

pub(super) fn generate(g: &mut Gen) -> Result<(), String> {
    let mut rng = SeededRng::from_label("blindsync/vectors/v1/batch");
    let mut b32 = || {
        let mut b = [0u8; 32];
        rand_core::Rng::fill_bytes(&mut rng, &mut b);
        b
    };
    let account = AccountId(b32());
    let bid = b32();
    let batch = BatchId(bid[..16].try_into().map_err(|_| "id")?);
    let shot = b32();
    let evs = vec![
        Event { t_ms: 1_767_225_600_000, kind: EventKind::Screenshot, data: shot.to_vec() },
        Event { t_ms: 1_767_225_601_500, kind: EventKind::Log, data: b"opened browser".to_vec() },
        Event { t_ms: 1_767_225_601_500, kind: EventKind::Log, data: b"visited example.org".to_vec() },
        Event { t_ms: 1_767_225_660_000, kind: EventKind::Screenshot, data: b32()[..20].to_vec() },
    ];
    let f = |e: Error| e.to_string();
    let framed = encode_events(&evs).map_err(f)?;

    // ---- framing ----
    let reqs = &["BAT-2"];
    g.ok("batch_events_decode", "four events", reqs, json!({"events": hex::encode(&framed)}))?;
    g.ok("batch_events_decode", "no events", reqs, json!({"events": hex::encode(&encode_events(&[]).map_err(f)?)}))?;
    let kind_at = 4 + labels::BATCH_EVENTS.len() + 4 + 8;
    let mut bad_kind = framed.clone();
    if let Some(b) = bad_kind.get_mut(kind_at) {
        *b = 3;
    }
    g.err("batch_events_decode", "event kind 3", reqs, json!({"events": hex::encode(&bad_kind)}), Error::DecodeValue)?;
    // The first event's timestamp raised above the second's.
    let t_at = 4 + labels::BATCH_EVENTS.len() + 4;
    let mut later = framed.clone();
    if let Some(b) = later.get_mut(t_at) {
        *b = 0x7f;
    }
    g.err(
        "batch_events_decode",
        "second event earlier than the first",
        reqs,
        json!({"events": hex::encode(&later)}),
        Error::BatchEventOrder,
    )?;
    g.err(
        "batch_events_decode",
        "a byte after the last event",
        reqs,
        json!({"events": hex::encode(&[&framed[..], &[0]].concat())}),
        Error::DecodeTrailing,
    )?;
    g.err(
        "batch_events_decode",
        "count one too high",
        reqs,
        json!({"events": hex::encode(&{
            let mut v = framed.clone();
            let c_at = 4 + labels::BATCH_EVENTS.len();
            if let Some(b) = v.get_mut(c_at + 3) { *b += 1; }
            v
        })}),
        Error::DecodeTruncated,
    )?;

    // ---- key slots ----
    let sks: Vec<HpkeSecretKey> = (0..4).map(|_| HpkeSecretKey::from_bytes(b32())).collect();
    let pks: Vec<[u8; 32]> = sks.iter().map(HpkeSecretKey::public_key).collect();
    let data_key = StreamKeySource::from_bytes(b32());
    // ---- hash chain: the recording device reports and signs each event ([HCH-4], [HCH-6]) ----
    let mut drng = SeededRng::from_label("blindsync/vectors/v1/batch/device");
    let device = DeviceKeys::from_seeds(DeviceSigningSeed::random(&mut drng), HpkeSecretKey::random(&mut drng));
    let writer = device.public().ed25519;
    let mut recorder = hchain::Recorder::new(&data_key, &account, &batch);
    let mut rec = ServerRecord::new(&account, &batch);
    for e in &evs {
        let r = recorder.record(e, &device);
        rec.report(r.event_hash, r.signature);
    }
    let input = |events: &[Event], r: &ServerRecord| {
        json!({
            "account_id": hex::encode(&account.0), "batch_id": hex::encode(&batch.0),
            "data_key": hex::encode(data_key.expose()), "writer_ed25519": hex::encode(&writer),
            "events": events.iter().map(event_json).collect::<Vec<_>>(),
            "reported": r.reported.iter().map(|x| hex::encode(x)).collect::<Vec<_>>(),
            "value": hex::encode(&r.value), "signature": hex::encode(&r.signature),
        })
    };
    let mut srng = SeededRng::from_label("blindsync/vectors/v1/batch/slots");
    let allowed3 = pks[..3].to_vec();
    let yes = |k: &[u8; 32]| allowed3.contains(k);
    let one = slots::seal_slots(&account, &batch, &pks[..1], &yes, &data_key, &mut srng).map_err(f)?;
    let three = slots::seal_slots(&account, &batch, &pks[..3], &yes, &data_key, &mut srng).map_err(f)?;
    if slots::seal_slots(&account, &batch, &pks, &yes, &data_key, &mut srng) != Err(Error::BatchUnpinned) {
        return Err("sealing to an unpinned key was not refused".into());
    }
    let slot_in = |s: &[u8], allowed: &[[u8; 32]], me: &HpkeSecretKey| {
        json!({
            "account_id": hex::encode(&account.0), "batch_id": hex::encode(&batch.0), "slots": hex::encode(s),
            "allowed": allowed.iter().map(|x| hex::encode(x)).collect::<Vec<_>>(),
            "x25519_secret": hex::encode(me.expose()),
        })
    };
    let sreqs = &["BAT-3", "BAT-4"];
    g.ok("batch_slot_open", "one recipient", sreqs, slot_in(&one, &allowed3, &sks[0]))?;
    for (k, sk) in sks[..3].iter().enumerate() {
        g.ok("batch_slot_open", &format!("three recipients, recipient {k}"), sreqs, slot_in(&three, &allowed3, sk))?;
    }
    g.err("batch_slot_open", "no slot for this reader", sreqs, slot_in(&one, &allowed3, &sks[1]), Error::BatchNoSlot)?;
    g.err(
        "batch_slot_open",
        "reader's chain does not pin the slot's recipient",
        sreqs,
        slot_in(&three, &pks[1..3], &sks[0]),
        Error::BatchUnpinned,
    )?;
    let mut bad_slot = three.clone();
    if let Some(b) = bad_slot.last_mut() {
        *b ^= 1;
    }
    let last_sk = sks.iter().take(3).max_by_key(|s| s.public_key()).ok_or("sk")?;
    g.err(
        "batch_slot_open",
        "last slot's ciphertext altered",
        sreqs,
        slot_in(&bad_slot, &allowed3, last_sk),
        Error::HpkeOpen,
    )?;
    g.tag(&[Flag::ModifiedCiphertext])?;
    let other_batch = BatchId([0x33; 16]);
    let moved = slots::seal_slots(&account, &other_batch, &pks[..1], &yes, &data_key, &mut srng).map_err(f)?;
    g.err("batch_slot_open", "slot of another batch", sreqs, slot_in(&moved, &allowed3, &sks[0]), Error::HpkeOpen)?;
    g.tag(&[Flag::WrongContext])?;
    let mut unsorted = three.clone();
    let (a, b) = (2..2 + slots::SLOT_LEN, 2 + slots::SLOT_LEN..2 + 2 * slots::SLOT_LEN);
    unsorted[a.clone()].copy_from_slice(&three[b.clone()]);
    unsorted[b].copy_from_slice(&three[a]);
    g.err(
        "batch_slot_open",
        "slots not in ascending recipient order",
        sreqs,
        slot_in(&unsorted, &allowed3, &sks[0]),
        Error::DecodeValue,
    )?;
    g.tag(&[Flag::NonCanonical])?;
    g.err(
        "batch_slot_open",
        "a byte after the last slot",
        sreqs,
        slot_in(&[&one[..], &[0]].concat(), &allowed3, &sks[0]),
        Error::DecodeTrailing,
    )?;

    let hreqs = &["BAT-1", "HCH-1", "HCH-2", "HCH-3", "HCH-4", "HCH-5", "HCH-6"];
    g.ok("hash_chain_verify", "four events, as reported", hreqs, input(&evs, &rec))?;
    let empty = ServerRecord::new(&account, &batch);
    g.ok("hash_chain_verify", "an empty batch against an empty record", hreqs, input(&[], &empty))?;
    let mut bad = rec.clone();
    bad.value[0] ^= 1;
    g.err(
        "hash_chain_verify",
        "server value does not fold from its list",
        &["HCH-4", "HCH-5"],
        input(&evs, &bad),
        Error::HchRecord,
    )?;
    // [HCH-6] the server appends a report of its own (to frame the user with E_HCH_DROPPED):
    // its list and value are consistent, the device's signature is for the shorter chain.
    let mut framed_rec = rec.clone();
    framed_rec.report([0x5a; 32], rec.signature);
    g.err(
        "hash_chain_verify",
        "the server appended a report the device never signed",
        &["HCH-5", "HCH-6"],
        input(&evs, &framed_rec),
        Error::HchSignature,
    )?;
    g.tag(&[Flag::Injection])?;
    let mut dropped = evs.clone();
    dropped.remove(1);
    g.err("hash_chain_verify", "second event dropped", &["HCH-5"], input(&dropped, &rec), Error::HchDropped)?;
    let mut inserted = evs.clone();
    inserted.insert(3, Event { t_ms: 1_767_225_602_000, kind: EventKind::Log, data: b"inserted".to_vec() });
    g.err("hash_chain_verify", "an event inserted", &["HCH-5"], input(&inserted, &rec), Error::HchInserted)?;
    let mut reordered = evs.clone();
    reordered.swap(1, 2);
    g.err(
        "hash_chain_verify",
        "two events with the same time swapped",
        &["HCH-5"],
        input(&reordered, &rec),
        Error::HchReordered,
    )?;
    let mut altered = evs.clone();
    if let Some(e) = altered.get_mut(3) {
        e.data[0] ^= 1;
    }
    g.err(
        "hash_chain_verify",
        "last screenshot altered",
        &["HCH-2", "HCH-5"],
        input(&altered, &rec),
        Error::HchAltered,
    )?;
    // [HCH-5]'s order: the record, its signature, then the events (inputs built before the
    // data key moves; the vectors come after the full batches).
    let mf = |what: &str, e: Error, alone: Value| fault(what, e, alone);
    let mut bad_framed = framed_rec.clone();
    bad_framed.value[0] ^= 1;
    let hch_cases: Vec<(&str, Value, Vec<Fault>)> = vec![
        (
            "server value does not fold from its list, and the second event dropped",
            input(&dropped, &bad),
            vec![
                mf("value does not fold", Error::HchRecord, input(&evs, &bad)),
                mf("second event dropped", Error::HchDropped, input(&dropped, &rec)),
            ],
        ),
        (
            "a report the device never signed appended, and the last screenshot altered",
            input(&altered, &framed_rec),
            vec![
                mf("an unsigned report appended", Error::HchSignature, input(&evs, &framed_rec)),
                mf("last screenshot altered", Error::HchAltered, input(&altered, &rec)),
            ],
        ),
        (
            "an unsigned report appended to a list whose value does not fold",
            input(&evs, &bad_framed),
            vec![
                mf("value does not fold", Error::HchRecord, input(&evs, &bad)),
                mf("an unsigned report appended", Error::HchSignature, input(&evs, &framed_rec)),
            ],
        ),
    ];
    generate_full(g, &Full { account, batch, evs: &evs, rec: &rec, sks: &sks, pks: &pks, device, data_key })?;

    for (what, input, faults) in hch_cases {
        g.multi("hash_chain_verify", what, &["HCH-5", "HCH-6"], input, faults)?;
    }

    // ---- multi-fault: the first failing line of [BAT-2] and of [BAT-4] decides ----
    let ev = |b: &[u8]| json!({"events": hex::encode(b)});
    let ev0 = 4 + labels::BATCH_EVENTS.len() + 4;
    let kind2_at = ev0 + 45 + 27 + 8;
    let edit = |b: &[u8], e: &dyn Fn(&mut Vec<u8>)| {
        let mut v = b.to_vec();
        e(&mut v);
        v
    };
    let count_up = |v: &mut Vec<u8>| {
        if let Some(b) = v.get_mut(ev0 - 1) {
            *b += 1;
        }
    };
    let trail = |v: &mut Vec<u8>| v.push(0);
    let cut_ev1 = |v: &mut Vec<u8>| v.truncate(ev0 + 45 + 13 + 5);
    let kind2 = |v: &mut Vec<u8>| v[kind2_at] = 3;
    let ev_cases: Vec<(&str, Value, Vec<Fault>)> = vec![
        (
            "event kind 3, and a byte after the last event",
            ev(&edit(&bad_kind, &trail)),
            vec![
                mf("event 0 of kind 3", Error::DecodeValue, ev(&bad_kind)),
                mf("a byte after the last event", Error::DecodeTrailing, ev(&edit(&framed, &trail))),
            ],
        ),
        (
            "count one too high, and event 0 of kind 3",
            ev(&edit(&bad_kind, &count_up)),
            vec![
                mf("event 0 of kind 3", Error::DecodeValue, ev(&bad_kind)),
                mf("count one too high", Error::DecodeTruncated, ev(&edit(&framed, &count_up))),
            ],
        ),
        (
            "event 1 earlier than event 0, and event 2 of kind 3",
            ev(&edit(&later, &kind2)),
            vec![
                mf("event 1 earlier than event 0", Error::BatchEventOrder, ev(&later)),
                mf("event 2 of kind 3", Error::DecodeValue, ev(&edit(&framed, &kind2))),
            ],
        ),
        (
            "event 1 earlier than event 0 and cut inside its data",
            ev(&edit(&later, &cut_ev1)),
            vec![
                mf("cut inside event 1's data", Error::DecodeTruncated, ev(&edit(&framed, &cut_ev1))),
                mf("event 1 earlier than event 0", Error::BatchEventOrder, ev(&later)),
            ],
        ),
        (
            "event 1 earlier than event 0, and a byte after the last event",
            ev(&edit(&later, &trail)),
            vec![
                mf("event 1 earlier than event 0", Error::BatchEventOrder, ev(&later)),
                mf("a byte after the last event", Error::DecodeTrailing, ev(&edit(&framed, &trail))),
            ],
        ),
    ];
    for (what, input, faults) in ev_cases {
        g.multi("batch_events_decode", what, &["BAT-2", "ENC-7"], input, faults)?;
    }
    let allowed_wo_last: Vec<[u8; 32]> = allowed3.iter().filter(|k| **k != last_sk.public_key()).copied().collect();
    let trailing_three = [&three[..], &[0]].concat();
    let slot_cases: Vec<(&str, Value, Vec<Fault>)> = vec![
        (
            "slots not ascending, and a byte after the last slot",
            slot_in(&[&unsorted[..], &[0]].concat(), &allowed3, &sks[0]),
            vec![
                mf("a byte after the last slot", Error::DecodeTrailing, slot_in(&trailing_three, &allowed3, &sks[0])),
                mf("slots not ascending", Error::DecodeValue, slot_in(&unsorted, &allowed3, &sks[0])),
            ],
        ),
        (
            "slots not ascending, read by a device without a slot",
            slot_in(&unsorted, &allowed3, &sks[3]),
            vec![
                mf("slots not ascending", Error::DecodeValue, slot_in(&unsorted, &allowed3, &sks[0])),
                mf("no slot for this reader", Error::BatchNoSlot, slot_in(&three, &allowed3, &sks[3])),
            ],
        ),
        (
            "no slot for this reader, whose chain does not allow the slot's recipient",
            slot_in(&one, &pks[1..3], &sks[1]),
            vec![
                mf("no slot for this reader", Error::BatchNoSlot, slot_in(&one, &allowed3, &sks[1])),
                mf("recipient not allowed", Error::BatchUnpinned, slot_in(&one, &pks[1..3], &sks[0])),
            ],
        ),
        (
            "the reader's own slot altered and its recipient not allowed",
            slot_in(&bad_slot, &allowed_wo_last, last_sk),
            vec![
                mf("recipient not allowed", Error::BatchUnpinned, slot_in(&three, &allowed_wo_last, last_sk)),
                mf("last slot's ciphertext altered", Error::HpkeOpen, slot_in(&bad_slot, &allowed3, last_sk)),
            ],
        ),
        (
            "a slot of another batch, and a byte after it",
            slot_in(&[&moved[..], &[0]].concat(), &allowed3, &sks[0]),
            vec![
                mf(
                    "a byte after the last slot",
                    Error::DecodeTrailing,
                    slot_in(&[&one[..], &[0]].concat(), &allowed3, &sks[0]),
                ),
                mf("slot of another batch", Error::HpkeOpen, slot_in(&moved, &allowed3, &sks[0])),
            ],
        ),
    ];
    for (what, input, faults) in slot_cases {
        g.multi("batch_slot_open", what, &["BAT-4", "BAT-15"], input, faults)?;
    }
    Ok(())
}

/// What the full-batch vectors share with the hash-chain ones.
struct Full<'a> {
    account: AccountId,
    batch: BatchId,
    evs: &'a [Event],
    rec: &'a ServerRecord,
    sks: &'a [HpkeSecretKey],
    pks: &'a [[u8; 32]],
    device: DeviceKeys,
    data_key: StreamKeySource,
}

/// `batch_open` and `batch_meta_decode`: full batches with one and three recipients, every refusal of [BAT-8].
fn generate_full(g: &mut Gen, full: &Full<'_>) -> Result<(), String> {
    let Full { account, batch, evs, rec, sks, pks, device, data_key } = full;
    let (account, batch, evs, rec, sks, pks) = (account, batch, *evs, *rec, *sks, *pks);
    let f = |e: Error| e.to_string();
    let mut rng = SeededRng::from_label("blindsync/vectors/v1/batch/full");
    let other_device = DeviceKeys::generate(&mut rng);
    let dp = device.public();
    // The reader's chain: the device is active; the device and three partners may read; the
    // chain has three statements and the writer sealed under its head.
    let mut allowed: Vec<[u8; 32]> = pks.iter().take(3).copied().collect();
    allowed.push(dp.x25519);
    let chain: Vec<[u8; 32]> = (0..3u8).map(|k| blindsync::primitives::sha256(&[b"statement", &[k]])).collect();
    let head = ChainHead { len: 3, hash: chain[2] };
    let policy =
        ListPolicy { writers: vec![(device.id(), dp.ed25519)], allowed: allowed.clone(), chain: chain.clone() };
    let window = Window { start_ms: 1_767_225_600_000, end_ms: 1_767_225_900_000, expires_ms: 1_769_817_600_000 };
    let now = 1_767_226_000_000u64;
    let p0 = pks.first().ok_or("pk")?;
    let sk0 = sks.first().ok_or("sk")?;
    let input_for = |recipients: &'static [[u8; 32]]| BatchInput {
        account: *account,
        batch_id: *batch,
        suite: Suite::Aes256Gcm,
        window,
        events: evs,
        recipients,
        data_key,
        link: BatchLink { seq: 7, prev_batch: BatchId([0x77; 16]), chain_head: head },
    };
    let one_r: &'static [[u8; 32]] = Box::leak(Box::new([*p0]));
    let three_r: &'static [[u8; 32]] = Box::leak(pks.iter().take(3).copied().collect::<Vec<_>>().into_boxed_slice());
    let one = sealed::seal(&input_for(one_r), device, &policy, &mut rng).map_err(f)?;
    let three = sealed::seal(&input_for(three_r), device, &policy, &mut rng).map_err(f)?;
    let open_in = |s: &SealedBatch,
                   me: &HpkeSecretKey,
                   r: &ServerRecord,
                   writers: &[(DeviceId, [u8; 32])],
                   allowed: &[[u8; 32]],
                   chain: &[[u8; 32]],
                   now: u64| {
        json!({
            "account_id": hex::encode(&account.0), "batch_id": hex::encode(&batch.0),
            "blob": hex::encode(&s.blob()),
            "slots": s.slot_list().iter().map(|x| hex::encode(x)).collect::<Vec<_>>(),
            "reported": r.reported.iter().map(|x| hex::encode(x)).collect::<Vec<_>>(),
            "value": hex::encode(&r.value), "signature": hex::encode(&r.signature),
            "writers": writers.iter().map(|(d, k)| json!({"device_id": hex::encode(&d.0), "ed25519": hex::encode(k)})).collect::<Vec<_>>(),
            "allowed": allowed.iter().map(|x| hex::encode(x)).collect::<Vec<_>>(),
            "chain": chain.iter().map(|x| hex::encode(x)).collect::<Vec<_>>(),
            "x25519_secret": hex::encode(me.expose()),
            "now_ms": now,
        })
    };
    let w = &policy.writers;
    let reqs = &["BAT-5", "BAT-6", "BAT-7", "BAT-8", "BAT-10", "HCH-5", "HCH-6"];
    g.ok("batch_open", "one recipient", reqs, open_in(&one, sk0, rec, w, &allowed, &chain, now))?;
    for (k, sk) in sks.iter().take(3).enumerate() {
        g.ok(
            "batch_open",
            &format!("three recipients, recipient {k}"),
            reqs,
            open_in(&three, sk, rec, w, &allowed, &chain, now),
        )?;
    }
    // ---- refusals of [BAT-8], in its order ----
    let other_batch = BatchId([0x44; 16]);
    let swapped = sealed::seal(&BatchInput { batch_id: other_batch, ..input_for(one_r) }, device, &policy, &mut rng)
        .map_err(f)?;
    let swapped_meta = SealedBatch { meta: swapped.meta.clone(), ..one.clone() };
    g.err(
        "batch_open",
        "metadata of another batch (swapped metadata)",
        &["BAT-8"],
        open_in(&swapped_meta, sk0, rec, w, &allowed, &chain, now),
        Error::BatchId,
    )?;
    g.tag(&[Flag::Substitution])?;
    let op = other_device.public();
    g.err(
        "batch_open",
        "writer not an active device of the reader's chain",
        &["BAT-8"],
        open_in(&one, sk0, rec, &[(other_device.id(), op.ed25519)], &allowed, &chain, now),
        Error::BatchWriter,
    )?;
    let mut bad_sig = one.clone();
    if let Some(b) = bad_sig.meta.last_mut() {
        *b ^= 1;
    }
    g.err(
        "batch_open",
        "metadata signature altered",
        &["BAT-5", "BAT-8"],
        open_in(&bad_sig, sk0, rec, w, &allowed, &chain, now),
        Error::BatchSignature,
    )?;
    g.err(
        "batch_open",
        "read at the retention expiry",
        &["BAT-8"],
        open_in(&one, sk0, rec, w, &allowed, &chain, window.expires_ms),
        Error::BatchExpired,
    )?;
    g.tag(&[Flag::EdgeCase])?;
    g.err(
        "batch_open",
        "reader's chain is one statement short of the head the writer sealed under",
        &["BAT-8", "BAT-10"],
        open_in(&one, sk0, rec, w, &allowed, &chain[..2], now),
        Error::BatchChainHead,
    )?;
    let allowed_wo_2: Vec<[u8; 32]> = allowed.iter().filter(|k| Some(*k) != pks.get(2)).copied().collect();
    g.err(
        "batch_open",
        "batch also shared with a key the reader's chain does not allow",
        &["BAT-4", "BAT-8"],
        open_in(&three, sk0, rec, w, &allowed_wo_2, &chain, now),
        Error::BatchUnpinned,
    )?;
    let mut slot_swap = three.clone();
    let alt = slots::seal_slots(account, batch, three_r, &|_| true, &StreamKeySource::from_bytes([9; 32]), &mut rng)
        .map_err(f)?;
    slot_swap.slots = alt;
    g.err(
        "batch_open",
        "key slots replaced (a server-chosen data key)",
        &["BAT-5", "BAT-8"],
        open_in(&slot_swap, sk0, rec, w, &allowed, &chain, now),
        Error::BatchSlots,
    )?;
    let mut man = one.clone();
    man.manifest = swapped.manifest.clone();
    g.err(
        "batch_open",
        "stream manifest of another batch",
        &["BAT-5", "BAT-8"],
        open_in(&man, sk0, rec, w, &allowed, &chain, now),
        Error::BatchManifest,
    )?;
    let count =
        sealed::seal_misbehaving(&input_for(one_r), device, &policy, &mut rng, &|m| m.event_count += 1).map_err(f)?;
    g.err(
        "batch_open",
        "metadata signed with one event too many",
        &["BAT-8"],
        open_in(&count, sk0, rec, w, &allowed, &chain, now),
        Error::BatchCount,
    )?;
    let narrow = Window { end_ms: window.start_ms + 1_000, ..window };
    let late =
        sealed::seal_misbehaving(&input_for(one_r), device, &policy, &mut rng, &|m| m.window = narrow).map_err(f)?;
    g.err(
        "batch_open",
        "events after the signed end time",
        &["BAT-6", "BAT-8"],
        open_in(&late, sk0, rec, w, &allowed, &chain, now),
        Error::BatchTime,
    )?;
    let mut short = rec.clone();
    short.reported.pop();
    short.value = hchain::fold(&short.reference, &short.reported);
    let (v, n) = (short.value, short.reported.len() as u64);
    short.signature = device.sign(&hchain::report_digest(&short.reference, n, &v));
    g.err(
        "batch_open",
        "an event the device never reported",
        &["BAT-8", "HCH-5"],
        open_in(&one, sk0, &short, w, &allowed, &chain, now),
        Error::HchInserted,
    )?;
    // [BAT-10] check order: a reader's next batch runs steps 1-14 of [BAT-8], then the link.
    let with_last = |mut v: Value, seq: u64| {
        v["last"] = json!({"seq": seq, "batch_id": hex::encode(&[0x77; 16])});
        v
    };
    let oreqs = &["BAT-8", "BAT-10", "BAT-11"];
    g.ok(
        "batch_open",
        "the next batch of the writer (last read: seq 6)",
        oreqs,
        with_last(open_in(&one, sk0, rec, w, &allowed, &chain, now), 6),
    )?;
    g.err(
        "batch_open",
        "the next batch after a deleted one (last read: seq 5)",
        oreqs,
        with_last(open_in(&one, sk0, rec, w, &allowed, &chain, now), 5),
        Error::BatchGap,
    )?;
    g.multi(
        "batch_open",
        "after a deleted batch and with a truncated record: the record's check comes first",
        oreqs,
        with_last(open_in(&one, sk0, &short, w, &allowed, &chain, now), 5),
        vec![
            fault(
                "an event never reported",
                Error::HchInserted,
                with_last(open_in(&one, sk0, &short, w, &allowed, &chain, now), 6),
            ),
            fault("last read: seq 5", Error::BatchGap, with_last(open_in(&one, sk0, rec, w, &allowed, &chain, now), 5)),
        ],
    )?;

    // ---- metadata decoding ----
    let mdec = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut v = three.meta.clone();
        edit(&mut v);
        json!({"meta": hex::encode(&v)})
    };
    let dreqs = &["BAT-5"];
    let base = 4 + labels::BATCH_META.len();
    g.ok("batch_meta_decode", "three recipients", dreqs, mdec(&|_| {}))?;
    g.err("batch_meta_decode", "version 2", dreqs, mdec(&|v| v[base] = 2), Error::EnvVersion)?;
    let suite_at = base + 1 + 16 + 32;
    g.err("batch_meta_decode", "suite 3", dreqs, mdec(&|v| v[suite_at] = 3), Error::EnvSuite)?;
    g.err("batch_meta_decode", "start after end", dreqs, mdec(&|v| v[suite_at + 1] = 0xff), Error::BatchRange)?;
    let n_at = suite_at + 1 + 24 + 4 + 8 + 16 + 8 + 32;
    g.err(
        "batch_meta_decode",
        "no recipients",
        dreqs,
        mdec(&|v| {
            v[n_at..n_at + 2].copy_from_slice(&0u16.to_be_bytes());
            v.drain(n_at + 2..n_at + 2 + 3 * 32);
        }),
        Error::DecodeValue,
    )?;
    g.err("batch_meta_decode", "a byte after the signature", dreqs, mdec(&|v| v.push(0)), Error::DecodeTrailing)?;

    // ---- links between a writer's batches ([BAT-11]) ----
    let next_id = BatchId([0x78; 16]);
    let next_in = BatchInput {
        batch_id: next_id,
        link: BatchLink { seq: 8, prev_batch: *batch, chain_head: head },
        ..input_for(one_r)
    };
    let next = sealed::seal(&next_in, device, &policy, &mut rng).map_err(f)?;
    let lreqs = &["BAT-11"];
    let last = |seq: u64, id: &BatchId| json!({"seq": seq, "batch_id": hex::encode(&id.0)});
    let link_in = |m: &[u8], l: Value| json!({"meta": hex::encode(m), "last": l});
    g.ok("batch_link_check", "first batch read from this writer", lreqs, link_in(&one.meta, Value::Null))?;
    g.ok("batch_link_check", "the batch after the last one read", lreqs, link_in(&next.meta, last(7, batch)))?;
    g.err(
        "batch_link_check",
        "a batch between them was deleted (last read: seq 6)",
        lreqs,
        link_in(&next.meta, last(6, &BatchId([0x76; 16]))),
        Error::BatchGap,
    )?;
    g.err(
        "batch_link_check",
        "seq follows but the previous batch is another one",
        lreqs,
        link_in(&next.meta, last(7, &BatchId([0x70; 16]))),
        Error::BatchGap,
    )?;

    // ---- multi-fault: the first failing line of [BAT-5], then step of [BAT-8], decides ----
    let mf = |what: &str, e: Error, alone: Value| fault(what, e, alone);
    let both = |a: &dyn Fn(&mut Vec<u8>), b: &dyn Fn(&mut Vec<u8>)| {
        mdec(&|v: &mut Vec<u8>| {
            a(v);
            b(v);
        })
    };
    let v2 = |v: &mut Vec<u8>| v[base] = 2;
    let s3 = |v: &mut Vec<u8>| v[suite_at] = 3;
    let range = |v: &mut Vec<u8>| v[suite_at + 1] = 0xff;
    let cut = |n: usize| move |v: &mut Vec<u8>| v.truncate(n);
    let trail = |v: &mut Vec<u8>| v.push(0);
    let rec0 = n_at + 2;
    let unsorted = |v: &mut Vec<u8>| {
        let a: Vec<u8> = v[rec0..rec0 + 32].to_vec();
        let b: Vec<u8> = v[rec0 + 32..rec0 + 64].to_vec();
        v[rec0..rec0 + 32].copy_from_slice(&b);
        v[rec0 + 32..rec0 + 64].copy_from_slice(&a);
    };
    let meta_cases: Vec<(&str, Value, Vec<Fault>)> = vec![
        (
            "version 2 and suite 3",
            both(&v2, &s3),
            vec![mf("version 2", Error::EnvVersion, mdec(&v2)), mf("suite 3", Error::EnvSuite, mdec(&s3))],
        ),
        (
            "version 2, cut inside the batch id",
            both(&v2, &cut(base + 10)),
            vec![
                mf("version 2", Error::EnvVersion, mdec(&v2)),
                mf("cut inside the batch id", Error::DecodeTruncated, mdec(&cut(base + 10))),
            ],
        ),
        (
            "suite 3 and start after end",
            both(&s3, &range),
            vec![mf("suite 3", Error::EnvSuite, mdec(&s3)), mf("start after end", Error::BatchRange, mdec(&range))],
        ),
        (
            "suite 3, cut inside start_ms",
            both(&s3, &cut(suite_at + 5)),
            vec![
                mf("suite 3", Error::EnvSuite, mdec(&s3)),
                mf("cut inside start_ms", Error::DecodeTruncated, mdec(&cut(suite_at + 5))),
            ],
        ),
        (
            "start after end, cut inside expires_ms",
            both(&range, &cut(suite_at + 20)),
            vec![
                mf("cut inside expires_ms", Error::DecodeTruncated, mdec(&cut(suite_at + 20))),
                mf("start after end", Error::BatchRange, mdec(&range)),
            ],
        ),
        (
            "start after end, cut after expires_ms (before the recipients)",
            both(&range, &cut(n_at)),
            vec![
                mf("start after end", Error::BatchRange, mdec(&range)),
                mf("cut before the recipient count", Error::DecodeTruncated, mdec(&cut(n_at))),
            ],
        ),
        (
            "recipients 0 and 1 swapped, cut inside recipient 1",
            both(&unsorted, &cut(rec0 + 42)),
            vec![
                mf("cut inside recipient 1", Error::DecodeTruncated, mdec(&cut(rec0 + 42))),
                mf("recipients not ascending", Error::DecodeValue, mdec(&unsorted)),
            ],
        ),
        (
            "recipients 0 and 1 swapped, and a byte after the signature",
            both(&unsorted, &trail),
            vec![
                mf("recipients not ascending", Error::DecodeValue, mdec(&unsorted)),
                mf("a byte after the signature", Error::DecodeTrailing, mdec(&trail)),
            ],
        ),
        (
            "start after end, and a byte after the signature",
            both(&range, &trail),
            vec![
                mf("start after end", Error::BatchRange, mdec(&range)),
                mf("a byte after the signature", Error::DecodeTrailing, mdec(&trail)),
            ],
        ),
    ];
    for (what, input, faults) in meta_cases {
        g.multi("batch_meta_decode", what, &["BAT-5", "ENC-7"], input, faults)?;
    }

    let ok_in = |s: &SealedBatch| open_in(s, sk0, rec, w, &allowed, &chain, now);
    let other_w = [(other_device.id(), op.ed25519)];
    let meta_trail = SealedBatch { meta: [&swapped.meta[..], &[0]].concat(), ..one.clone() };
    let one_trail = SealedBatch { meta: [&one.meta[..], &[0]].concat(), ..one.clone() };
    let slots_and_manifest = SealedBatch { manifest: swapped.manifest.clone(), ..slot_swap.clone() };
    let man3 = SealedBatch { manifest: swapped.manifest.clone(), ..three.clone() };
    let count_man = SealedBatch { manifest: swapped.manifest.clone(), ..count.clone() };
    let count_late = sealed::seal_misbehaving(&input_for(one_r), device, &policy, &mut rng, &|m| {
        m.event_count += 1;
        m.window = narrow;
    })
    .map_err(f)?;
    let cut_blob = |s: &SealedBatch| -> Result<Value, String> {
        let b = s.blob();
        Ok(set(&ok_in(s), "blob", hex_value(b.get(..b.len() - 1).ok_or("blob")?)))
    };
    let bo: Vec<(&str, Value, Vec<Fault>)> = vec![
        (
            "metadata of another batch with a trailing byte",
            ok_in(&meta_trail),
            vec![
                mf("a byte after the metadata's signature", Error::DecodeTrailing, ok_in(&one_trail)),
                mf("metadata of another batch", Error::BatchId, ok_in(&swapped_meta)),
            ],
        ),
        (
            "metadata of another batch, by a writer not in the reader's chain",
            open_in(&swapped_meta, sk0, rec, &other_w, &allowed, &chain, now),
            vec![
                mf("metadata of another batch", Error::BatchId, ok_in(&swapped_meta)),
                mf("writer not active", Error::BatchWriter, open_in(&one, sk0, rec, &other_w, &allowed, &chain, now)),
            ],
        ),
        (
            "a writer not in the reader's chain, and the metadata signature altered",
            open_in(&bad_sig, sk0, rec, &other_w, &allowed, &chain, now),
            vec![
                mf("writer not active", Error::BatchWriter, open_in(&one, sk0, rec, &other_w, &allowed, &chain, now)),
                mf("metadata signature altered", Error::BatchSignature, ok_in(&bad_sig)),
            ],
        ),
        (
            "metadata signature altered, read at the retention expiry",
            open_in(&bad_sig, sk0, rec, w, &allowed, &chain, window.expires_ms),
            vec![
                mf("metadata signature altered", Error::BatchSignature, ok_in(&bad_sig)),
                mf(
                    "read at the retention expiry",
                    Error::BatchExpired,
                    open_in(&one, sk0, rec, w, &allowed, &chain, window.expires_ms),
                ),
            ],
        ),
        (
            "read at the retention expiry by a reader whose chain is one statement short",
            open_in(&one, sk0, rec, w, &allowed, &chain[..2], window.expires_ms),
            vec![
                mf(
                    "read at the retention expiry",
                    Error::BatchExpired,
                    open_in(&one, sk0, rec, w, &allowed, &chain, window.expires_ms),
                ),
                mf(
                    "reader's chain one statement short",
                    Error::BatchChainHead,
                    open_in(&one, sk0, rec, w, &allowed, &chain[..2], now),
                ),
            ],
        ),
        (
            "a reader whose chain is one statement short and does not allow recipient 2",
            open_in(&three, sk0, rec, w, &allowed_wo_2, &chain[..2], now),
            vec![
                mf(
                    "reader's chain one statement short",
                    Error::BatchChainHead,
                    open_in(&three, sk0, rec, w, &allowed, &chain[..2], now),
                ),
                mf(
                    "recipient 2 not allowed",
                    Error::BatchUnpinned,
                    open_in(&three, sk0, rec, w, &allowed_wo_2, &chain, now),
                ),
            ],
        ),
        (
            "recipient 2 not allowed, and the key slots replaced",
            open_in(&slot_swap, sk0, rec, w, &allowed_wo_2, &chain, now),
            vec![
                mf(
                    "recipient 2 not allowed",
                    Error::BatchUnpinned,
                    open_in(&three, sk0, rec, w, &allowed_wo_2, &chain, now),
                ),
                mf("key slots replaced", Error::BatchSlots, ok_in(&slot_swap)),
            ],
        ),
        (
            "key slots replaced and the stream manifest of another batch",
            ok_in(&slots_and_manifest),
            vec![
                mf("key slots replaced", Error::BatchSlots, ok_in(&slot_swap)),
                mf("stream manifest of another batch", Error::BatchManifest, ok_in(&man3)),
            ],
        ),
        (
            "the stream manifest of another batch, under metadata with one event too many",
            ok_in(&count_man),
            vec![
                mf("stream manifest of another batch", Error::BatchManifest, ok_in(&man)),
                mf("one event too many", Error::BatchCount, ok_in(&count)),
            ],
        ),
        (
            "one event too many, read by a device without a slot",
            open_in(&count, &sks[1], rec, w, &allowed, &chain, now),
            vec![
                mf(
                    "no slot for this reader",
                    Error::BatchNoSlot,
                    open_in(&one, &sks[1], rec, w, &allowed, &chain, now),
                ),
                mf("one event too many", Error::BatchCount, ok_in(&count)),
            ],
        ),
        (
            "the body cut by one byte, under metadata with one event too many",
            cut_blob(&count)?,
            vec![
                mf("body cut by one byte", Error::StreamTruncated, cut_blob(&one)?),
                mf("one event too many", Error::BatchCount, ok_in(&count)),
            ],
        ),
        (
            "one event too many and events after the signed end time",
            ok_in(&count_late),
            vec![
                mf("one event too many", Error::BatchCount, ok_in(&count)),
                mf("events after the signed end time", Error::BatchTime, ok_in(&late)),
            ],
        ),
        (
            "events after the signed end time, and an event the device never reported",
            open_in(&late, sk0, &short, w, &allowed, &chain, now),
            vec![
                mf("events after the signed end time", Error::BatchTime, ok_in(&late)),
                mf("an event never reported", Error::HchInserted, open_in(&one, sk0, &short, w, &allowed, &chain, now)),
            ],
        ),
    ];
    for (what, input, faults) in bo {
        g.multi("batch_open", what, &["BAT-8", "BAT-5", "BAT-7"], input, faults)?;
    }
    Ok(())
}
