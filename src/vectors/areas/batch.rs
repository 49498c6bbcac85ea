//! `batch.json` (spec 10): event framing and the verification hash chain.

use serde_json::{Value, json};

use super::{Gen, outcome};
use crate::batch::hchain::{self, ServerRecord};
use crate::batch::slots;
use crate::batch::{BatchId, Event, EventKind, decode_events, encode_events};
use crate::encoding::Encoder;
use crate::error::Error;
use crate::hpke::HpkeSecretKey;
use crate::keys::AccountId;
use crate::labels;
use crate::primitives::SeededRng;
use crate::stream::StreamKeySource;
use crate::vectors::Outcome;
use crate::vectors::hex;
use crate::vectors::json::{Fail, Obj, h, obj};

fn event_json(e: &Event) -> Value {
    json!({"t_ms": e.t_ms, "kind": e.kind as u8, "data": hex::encode(&e.data)})
}

fn events_from(v: &Value) -> Result<Vec<Event>, Fail> {
    let arr = v.as_array().ok_or_else(|| Fail::harness("events is not a list"))?;
    arr.iter()
        .map(|x| {
            let o = Obj(x);
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
    let evs = decode_events(&Obj(input).hex("events")?)?;
    outcome(obj([]), obj([("events", Value::Array(evs.iter().map(event_json).collect()))]))
}

fn hash_chain_verify(input: &Value) -> Result<Outcome, Fail> {
    let i = Obj(input);
    let account = AccountId(i.hex_n("account_id")?);
    let batch = BatchId(i.hex_n("batch_id")?);
    let events = events_from(i.get("events")?)?;
    let reference = hchain::reference(&account, &batch);
    let record = ServerRecord { reference, reported: hashes_from(i.get("reported")?)?, value: i.hex_n("value")? };
    hchain::verify(&account, &batch, &events, &record)?;
    let hashes: Vec<[u8; 32]> = events.iter().map(hchain::event_hash).collect();
    let mut chain = Vec::new();
    let mut v = hchain::START;
    for e in &hashes {
        v = hchain::link(&reference, &v, e);
        chain.push(h(&v));
    }
    let first_prefix = events
        .first()
        .map(|e| Encoder::new(labels::HCH_EVENT).u64(e.t_ms).u8(e.kind as u8).u32(e.data.len() as u32).finish());
    let inter = obj([
        ("event_hashes", Value::Array(hashes.iter().map(|x| h(x)).collect())),
        ("reference_input", h(&Encoder::new(labels::BATCH_REF).fixed(&account.0).fixed(&batch.0).finish())),
        ("reference", h(&reference)),
        ("first_event_prefix", first_prefix.map_or(Value::Null, |p| h(&p))),
        (
            "first_link_input",
            hashes.first().map_or(Value::Null, |e| {
                h(&Encoder::new(labels::HCH_LINK).fixed(&reference).fixed(&hchain::START).fixed(e).finish())
            }),
        ),
        ("chain", Value::Array(chain)),
    ]);
    outcome(inter, obj([("value", h(&v))]))
}

fn batch_slot_open(input: &Value) -> Result<Outcome, Fail> {
    let i = Obj(input);
    let account = AccountId(i.hex_n("account_id")?);
    let batch = BatchId(i.hex_n("batch_id")?);
    let allowed = hashes_from(i.get("allowed")?)?;
    let me = HpkeSecretKey::from_bytes(i.hex_n("x25519_secret")?);
    let key = slots::open_slot(&account, &batch, &i.hex("slots")?, &|k| allowed.contains(k), &me)?;
    outcome(
        obj([("info", h(&slots::slot_info())), ("aad", h(&slots::slot_aad(&account, &batch, &me.public_key())))]),
        obj([("data_key", h(key.expose()))]),
    )
}

pub(super) fn run(kind: &str, input: &Value) -> Option<Result<Outcome, Fail>> {
    Some(match kind {
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

    // ---- hash chain ----
    let mut rec = ServerRecord::new(&account, &batch);
    for e in &evs {
        rec.report(hchain::event_hash(e));
    }
    let input = |events: &[Event], r: &ServerRecord| {
        json!({
            "account_id": hex::encode(&account.0), "batch_id": hex::encode(&batch.0),
            "events": events.iter().map(event_json).collect::<Vec<_>>(),
            "reported": r.reported.iter().map(|x| hex::encode(x)).collect::<Vec<_>>(),
            "value": hex::encode(&r.value),
        })
    };
    // ---- key slots ----
    let sks: Vec<HpkeSecretKey> = (0..4).map(|_| HpkeSecretKey::from_bytes(b32())).collect();
    let pks: Vec<[u8; 32]> = sks.iter().map(HpkeSecretKey::public_key).collect();
    let data_key = StreamKeySource::from_bytes(b32());
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
    let mut bad = three.clone();
    if let Some(b) = bad.last_mut() {
        *b ^= 1;
    }
    let last_sk = sks.iter().take(3).max_by_key(|s| s.public_key()).ok_or("sk")?;
    g.err(
        "batch_slot_open",
        "last slot's ciphertext altered",
        sreqs,
        slot_in(&bad, &allowed3, last_sk),
        Error::HpkeOpen,
    )?;
    let other_batch = BatchId([0x33; 16]);
    let moved = slots::seal_slots(&account, &other_batch, &pks[..1], &yes, &data_key, &mut srng).map_err(f)?;
    g.err("batch_slot_open", "slot of another batch", sreqs, slot_in(&moved, &allowed3, &sks[0]), Error::HpkeOpen)?;
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
    g.err(
        "batch_slot_open",
        "a byte after the last slot",
        sreqs,
        slot_in(&[&one[..], &[0]].concat(), &allowed3, &sks[0]),
        Error::DecodeTrailing,
    )?;

    let hreqs = &["BAT-1", "HCH-1", "HCH-2", "HCH-3", "HCH-4", "HCH-5"];
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
    Ok(())
}
