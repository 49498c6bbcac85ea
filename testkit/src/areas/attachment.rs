//! `attachment.json` (spec 10.6): keyed attachment ids and attachment blobs.

use ed25519_dalek::SigningKey;
use serde_json::{Value, json};

use super::{Fault, Gen, fault, outcome};
use crate::Flag;
use crate::Outcome;
use crate::hex;
use crate::json::{Fail, JsonObject, hex_value, obj};
use blindsync::attachment::{self, AttachmentKey};
use blindsync::envelope::Suite;
use blindsync::error::Error;
use blindsync::keys::AccountId;
use blindsync::primitives::{SeededRng, sha256};
use blindsync::secret::Secret32;
use blindsync::stream;

fn key_from(i: &JsonObject<'_>) -> Result<AttachmentKey, Fail> {
    Ok(AttachmentKey::from_prk(&Secret32::from_bytes(i.hex_n("prk")?), i.u32("epoch")?))
}

fn attachment_id(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let key = key_from(&i)?;
    let p = i.hex("plaintext")?;
    let digest = sha256(&[&p]);
    outcome(
        obj([
            ("key_info", hex_value(&attachment::key_info(i.u32("epoch")?))),
            ("attachment_key", hex_value(key.expose())),
            ("digest", hex_value(&digest)),
            ("hmac_message", hex_value(&attachment::id_message(&digest))),
        ]),
        obj([("attachment_id", hex_value(&key.id(&p)))]),
    )
}

fn attachment_open(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let key = key_from(&i)?;
    let account = AccountId(i.hex_n("account_id")?);
    let id = i.hex_n("attachment_id")?;
    let p = attachment::open(
        &account,
        &key,
        &id,
        Suite::Aes256Gcm,
        &i.hex("manifest")?,
        &i.hex("body")?,
        &i.hex_n("verifying_key")?,
    )?;
    let params = attachment::params(&account, Suite::Aes256Gcm, &id);
    let padded = attachment::pad(&p)?;
    outcome(
        obj([
            ("attachment_key", hex_value(key.expose())),
            ("pad_header", hex_value(padded.get(..attachment::pad_header_len()).unwrap_or_default())),
            ("padded_len", json!(padded.len())),
            ("source_info", hex_value(&attachment::source_info(&id))),
            ("stream_source", hex_value(key.source(&id).expose())),
            ("stream_id", hex_value(&params.stream_id)),
        ]),
        obj([("plaintext", hex_value(&p))]),
    )
}

pub(super) fn run(kind: &str, input: &Value) -> Option<Result<Outcome, Fail>> {
    Some(match kind {
        "attachment_padme" => (|| {
            let n = JsonObject(input).u64("length")?;
            outcome(obj([]), obj([("padded", json!(attachment::padme(n)?))]))
        })(),
        "attachment_id" => attachment_id(input),
        "attachment_open" => attachment_open(input),
        _ => return None,
    })
}

pub(super) fn generate(g: &mut Gen) -> Result<(), String> {
    let mut rng = SeededRng::from_label("blindsync/vectors/v1/attachment");
    let mut b32 = || {
        let mut b = [0u8; 32];
        rand_core::Rng::fill_bytes(&mut rng, &mut b);
        b
    };
    let prk0 = b32();
    let other_prk0 = b32();
    let account = b32();
    let seed = b32();
    let photo = [b32(), b32(), b32()].concat();
    let f = |e: Error| e.to_string();
    let reqs = &["ATT-1", "ATT-2"];
    for (what, p) in [("empty file", &[][..]), ("96-byte photo", &photo[..])] {
        g.ok("attachment_id", what, reqs, json!({"prk": hex::encode(&prk0), "epoch": 2, "plaintext": hex::encode(p)}))?;
    }
    g.ok(
        "attachment_id",
        "the same photo in another account (another id)",
        reqs,
        json!({"prk": hex::encode(&other_prk0), "epoch": 2, "plaintext": hex::encode(&photo)}),
    )?;
    g.ok(
        "attachment_id",
        "the same photo in the next epoch of the same account (another id: deduplication restarts)",
        reqs,
        json!({"prk": hex::encode(&prk0), "epoch": 3, "plaintext": hex::encode(&photo)}),
    )?;
    let key = AttachmentKey::from_prk(&Secret32::from_bytes(prk0), 2);
    let sk = SigningKey::from_bytes(&seed);
    let vk = sk.verifying_key().to_bytes();
    let mut srng = SeededRng::from_label("blindsync/vectors/v1/attachment/seal");
    let s = attachment::seal(&AccountId(account), &key, Suite::Aes256Gcm, &sk, &photo, &mut srng).map_err(f)?;
    let open_in = |id: &[u8; 32], m: &[u8], b: &[u8]| {
        json!({
            "prk": hex::encode(&prk0), "epoch": 2, "account_id": hex::encode(&account), "attachment_id": hex::encode(id),
            "manifest": hex::encode(m), "body": hex::encode(b), "verifying_key": hex::encode(&vk),
        })
    };
    let oreqs = &["ATT-3", "ATT-4", "ATT-6"];
    g.ok("attachment_open", "the photo", oreqs, open_in(&s.id, &s.manifest, &s.body))?;
    // A device of the account that seals another file under the photo's id.
    let params = attachment::params(&AccountId(account), Suite::Aes256Gcm, &s.id);
    let (m, b) =
        stream::seal(&params, &key.source(&s.id), &sk, &attachment::pad(b"not the photo").map_err(f)?, &mut srng)
            .map_err(f)?;
    g.err(
        "attachment_open",
        "another file sealed under the photo's id",
        oreqs,
        open_in(&s.id, &m, &b),
        Error::AttachmentId,
    )?;
    // [ATT-6] a device of the account that leaves a byte in the padding (a covert channel).
    let mut dirty = attachment::pad(&photo).map_err(f)?;
    if let Some(b) = dirty.last_mut() {
        *b = 1;
    }
    let (m, b) = stream::seal(&params, &key.source(&s.id), &sk, &dirty, &mut srng).map_err(f)?;
    g.err("attachment_open", "a non-zero padding byte", &["ATT-6"], open_in(&s.id, &m, &b), Error::AttachmentPadding)?;
    // [ATT-1] a reader with the attachment key of another epoch (a device revoked at the rotation).
    let mut other_epoch = open_in(&s.id, &s.manifest, &s.body);
    other_epoch["epoch"] = json!(1);
    g.err(
        "attachment_open",
        "the key of epoch 1 for a file of epoch 2",
        &["ATT-1"],
        other_epoch,
        Error::StreamCommitment,
    )?;
    g.tag(&[Flag::WrongKey])?;
    for n in [0u64, 1, 2, 9, 100, 4_096, 65_536, 1_000_000, 123_456_789] {
        g.ok("attachment_padme", &format!("Padmé length of {n}"), &["ATT-6"], json!({"length": n}))?;
    }
    // [ATT-6] the largest lengths that have a Padmé length, and the first that has none.
    let top = u64::MAX - ((1u64 << 57) - 1);
    g.ok("attachment_padme", "the largest Padmé length, 2^64 - 2^57", &["ATT-6"], json!({"length": top}))?;
    g.err(
        "attachment_padme",
        "one above: rounding up would pass 2^64 - 1",
        &["ATT-6"],
        json!({"length": top + 1}),
        Error::AttachmentPadding,
    )?;
    g.tag(&[Flag::IntegerOverflow, Flag::EdgeCase])?;
    g.err("attachment_padme", "2^64 - 1", &["ATT-6"], json!({"length": u64::MAX}), Error::AttachmentPadding)?;
    g.tag(&[Flag::IntegerOverflow, Flag::EdgeCase])?;

    // ---- multi-fault: stream open, then unpad, then the id ([ATT-4]) ----
    let mf = |what: &str, e: Error, alone: Value| fault(what, e, alone);
    let (dm, db) = stream::seal(&params, &key.source(&s.id), &sk, &dirty, &mut srng).map_err(f)?;
    let mut dirty_other = attachment::pad(b"not the photo").map_err(f)?;
    if let Some(b) = dirty_other.last_mut() {
        *b = 1;
    }
    let (xm, xb) = stream::seal(&params, &key.source(&s.id), &sk, &dirty_other, &mut srng).map_err(f)?;
    let (om, ob) =
        stream::seal(&params, &key.source(&s.id), &sk, &attachment::pad(b"not the photo").map_err(f)?, &mut srng)
            .map_err(f)?;
    let epoch1 = |mut v: Value| {
        v["epoch"] = json!(1);
        v
    };
    let cut = |b: &[u8]| b[..b.len() - 1].to_vec();
    let cases: Vec<(&str, Value, Vec<Fault>)> = vec![
        (
            "the key of epoch 1, over a blob with a non-zero padding byte",
            epoch1(open_in(&s.id, &dm, &db)),
            vec![
                mf("the key of epoch 1", Error::StreamCommitment, epoch1(open_in(&s.id, &s.manifest, &s.body))),
                mf("a non-zero padding byte", Error::AttachmentPadding, open_in(&s.id, &dm, &db)),
            ],
        ),
        (
            "another file under the photo's id, with a non-zero padding byte",
            open_in(&s.id, &xm, &xb),
            vec![
                mf("a non-zero padding byte", Error::AttachmentPadding, open_in(&s.id, &dm, &db)),
                mf("another file", Error::AttachmentId, open_in(&s.id, &om, &ob)),
            ],
        ),
        (
            "another file under the photo's id, its body cut by one byte",
            open_in(&s.id, &om, &cut(&ob)),
            vec![
                mf("body cut by one byte", Error::StreamTruncated, open_in(&s.id, &s.manifest, &cut(&s.body))),
                mf("another file", Error::AttachmentId, open_in(&s.id, &om, &ob)),
            ],
        ),
    ];
    for (what, input, faults) in cases {
        g.multi("attachment_open", what, &["ATT-4", "ATT-6"], input, faults)?;
    }
    Ok(())
}
