//! `keys.json` (spec 5.2, 5.6): epoch PRK, collection keys, routing key, buckets.

use serde_json::{Value, json};

use super::{Gen, outcome};
use crate::Flag;
use crate::Outcome;
use crate::json::{Fail, JsonObject, hex_value, obj};
use blindsync::encoding::Encoder;
use blindsync::error::Error;
use blindsync::keys::{AccountId, EpochKeys, Umk};
use blindsync::labels;
use blindsync::primitives::SeededRng;

fn epoch_keys(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let umk = Umk::from_bytes(i.hex_n("umk")?);
    let account = AccountId(i.hex_n("account_id")?);
    let epoch = i.u32("epoch")?;
    let keys = EpochKeys::derive(&umk, &account, epoch);
    let routing = keys.routing_key();
    let mut infos = Vec::new();
    let mut msgs = Vec::new();
    let mut cks = Vec::new();
    let mut buckets = Vec::new();
    for name in i.arr("collections")? {
        let name = name.as_str().ok_or_else(|| Fail::harness("collection is not a string"))?;
        let ck = keys.collection_key(name)?;
        infos.push(hex_value(&Encoder::new(labels::COLLECTION_KEY).bytes(name.as_bytes()).finish()));
        msgs.push(hex_value(&Encoder::new(labels::BUCKET).bytes(name.as_bytes()).finish()));
        cks.push(hex_value(ck.expose()));
        buckets.push(hex_value(&routing.bucket(name)?.0));
    }
    let salt = hex_value(&Encoder::new(labels::EPOCH_EXTRACT).fixed(&account.0).u32(epoch).finish());
    if epoch != 0 {
        // [KEY-11] only epoch 0 has a routing key: later epochs give collection keys only.
        return outcome(
            obj([
                ("extract_salt", salt),
                ("prk", hex_value(keys.prk().expose())),
                ("collection_infos", Value::Array(infos)),
            ]),
            obj([("collection_keys", Value::Array(cks))]),
        );
    }
    outcome(
        obj([
            ("extract_salt", salt),
            ("prk", hex_value(keys.prk().expose())),
            ("routing_info", hex_value(&Encoder::new(labels::ROUTING_KEY).finish())),
            ("collection_infos", Value::Array(infos)),
            ("bucket_messages", Value::Array(msgs)),
        ]),
        obj([
            ("routing_key", hex_value(routing.expose())),
            ("collection_keys", Value::Array(cks)),
            ("buckets", Value::Array(buckets)),
        ]),
    )
}

pub(super) fn run(kind: &str, input: &Value) -> Option<Result<Outcome, Fail>> {
    Some(match kind {
        "epoch_keys" => epoch_keys(input),
        _ => return None,
    })
}

pub(super) fn generate(g: &mut Gen) -> Result<(), String> {
    let mut rng = SeededRng::from_label("blindsync/vectors/v1/keys");
    let mut b32 = || {
        let mut b = [0u8; 32];
        rand_core::Rng::fill_bytes(&mut rng, &mut b);
        b
    };
    let umk0 = b32();
    let account = b32();
    let umk1 = b32();
    let reqs = ["KEY-1", "KEY-2", "KEY-10", "KEY-11", "KEY-12", "KEY-13"];
    let input = |umk: &[u8; 32], epoch: u32, names: Value| {
        obj([
            ("umk", hex_value(umk)),
            ("account_id", hex_value(&account)),
            ("epoch", json!(epoch)),
            ("collections", names),
        ])
    };
    g.ok(
        "epoch_keys",
        "epoch 0: the routing key of the account, two collection keys and their buckets",
        &reqs,
        input(&umk0, 0, json!(["notes", "photos"])),
    )?;
    g.ok(
        "epoch_keys",
        "epoch 1 after a rotation: collection keys only (the routing key and buckets come from epoch 0)",
        &reqs,
        input(&umk1, 1, json!(["notes", "ünïcödé/名前"])),
    )?;
    let long = "n".repeat(255);
    g.ok("epoch_keys", "a collection name of the maximum 255 bytes", &reqs, input(&umk0, 0, json!([long])))?;
    g.err("epoch_keys", "an empty collection name", &["KEY-12"], input(&umk0, 0, json!([""])), Error::CollectionName)?;
    g.err(
        "epoch_keys",
        "a collection name of 256 bytes",
        &["KEY-12"],
        input(&umk0, 0, json!(["n".repeat(256)])),
        Error::CollectionName,
    )?;
    g.tag(&[Flag::EdgeCase])?;
    Ok(())
}
