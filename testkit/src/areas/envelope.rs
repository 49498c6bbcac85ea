//! `envelope.json` (spec 7): sealing, opening, stubs, canonical JSON payloads
//! and every way an envelope can be refused.
//!
//! Large plaintexts are given as `{"pattern": "sha256-counter", "length": N}`:
//! the concatenation of `SHA-256(u64be(0)) ‖ SHA-256(u64be(1)) ‖ ...` cut to
//! N bytes (spec 7.15), and their envelopes by SHA-256 and length.

use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Map, Value, json};

use super::{Fault, Gen, fault, outcome};
use crate::Flag;
use crate::Outcome;
use crate::hex;
use crate::json::{Fail, JsonObject, hex_value, obj, set};
use blindsync::encoding::Encoder;
use blindsync::envelope::payload::{Schema, canonicalize};
use blindsync::envelope::{
    self, AuthorizedWriter, DeviceId, EnvelopeRef, EpochAccess, HEADER_LEN, HeadEpoch, Header, NONCE_LEN, OpenContext,
    RecordId, RecordMeta, SIG_LEN, Stub, Suite, body_digest, key_schedule, verify_stub,
};
use blindsync::error::Error;
use blindsync::keys::{AccountId, Bucket, CollectionKey};
use blindsync::labels;
use blindsync::primitives::{SeededRng, sha256};

/// The `sha256-counter` pattern: `SHA-256(u64be(i))` blocks, cut to `len`.
pub(crate) fn pattern(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut i = 0u64;
    while out.len() < len {
        out.extend_from_slice(&sha256(&[&i.to_be_bytes()]));
        i += 1;
    }
    out.truncate(len);
    out
}

fn plaintext(v: &Value) -> Result<Vec<u8>, Fail> {
    match v {
        Value::String(s) => hex::decode(s).ok_or_else(|| Fail::harness("plaintext is not hex")),
        Value::Object(_) => {
            let o = JsonObject(v);
            if o.str("pattern")? != "sha256-counter" {
                return Err(Fail::harness("unknown pattern"));
            }
            let len = usize::try_from(o.u64("length")?).map_err(|_| Fail::harness("length"))?;
            Ok(pattern(len))
        }
        _ => Err(Fail::harness("plaintext is neither hex nor a pattern")),
    }
}

fn u8_of(i: &JsonObject<'_>, k: &str) -> Result<u8, Fail> {
    u8::try_from(i.u64(k)?).map_err(|_| Fail::harness(format!("{k} exceeds u8")))
}

fn u16_of(i: &JsonObject<'_>, k: &str) -> Result<u16, Fail> {
    u16::try_from(i.u64(k)?).map_err(|_| Fail::harness(format!("{k} exceeds u16")))
}

fn header_json(hd: &Header) -> Value {
    obj([
        ("version", json!(hd.version)),
        ("suite", json!(hd.suite as u8)),
        ("bucket", hex_value(&hd.bucket.0)),
        ("record_id", hex_value(&hd.record_id.0)),
        ("revision", json!(hd.revision)),
        ("writer", hex_value(&hd.writer.0)),
        ("writer_seq", json!(hd.writer_seq)),
        ("epoch", json!(hd.epoch)),
        ("schema", json!(hd.schema)),
        ("padded_len", json!(hd.padded_len)),
        ("chain_head", hex_value(&hd.chain_head)),
        ("salt", hex_value(&hd.salt)),
        ("commitment", hex_value(&hd.commitment)),
        ("prev", hex_value(&hd.prev)),
    ])
}

/// Intermediates of an envelope under `ck`: everything a porter recomputes.
fn intermediates(account: &AccountId, ck: &CollectionKey, env: &EnvelopeRef<'_>) -> Value {
    let hd = &env.header;
    let ks = key_schedule(ck, &hd.salt, hd.suite);
    let bd = body_digest(env.body);
    let body_len = u32::try_from(env.body.len()).unwrap_or(u32::MAX);
    obj([
        ("header", hex_value(&hd.encode())),
        ("key_info", hex_value(&Encoder::new(labels::ENVELOPE_KEY).u8(hd.version).u8(hd.suite as u8).finish())),
        ("commit_info", hex_value(&Encoder::new(labels::ENVELOPE_COMMIT).u8(hd.version).u8(hd.suite as u8).finish())),
        ("prk", hex_value(ks.prk.expose())),
        ("key", hex_value(ks.key.expose())),
        ("commitment", hex_value(&ks.commitment)),
        ("aad", hex_value(&hd.aad(account))),
        ("body_digest_prefix", hex_value(&Encoder::new(labels::HASH_ENVELOPE_BODY).u32(body_len).finish())),
        ("body_digest", hex_value(&bd)),
        (
            "sig_message",
            hex_value(&Encoder::new(labels::SIG_RECORD).fixed(&account.0).fixed(&hd.encode()).fixed(&bd).finish()),
        ),
        ("sig_digest", hex_value(&hd.sig_digest(account, &bd))),
    ])
}

fn envelope_seal(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let account = AccountId(i.hex_n("account_id")?);
    let ck = CollectionKey::from_bytes(i.hex_n("collection_key")?);
    let sk = SigningKey::from_bytes(&i.hex_n("signing_seed")?);
    let schema = Schema::from_u16(u16_of(&i, "schema")?)?;
    let meta = RecordMeta {
        suite: Suite::from_u8(u8_of(&i, "suite")?)?,
        bucket: Bucket(i.hex_n("bucket")?),
        record_id: RecordId(i.hex_n("record_id")?),
        revision: i.u64("revision")?,
        writer: DeviceId(i.hex_n("writer")?),
        writer_seq: i.u64("writer_seq")?,
        epoch: i.u32("epoch")?,
        schema,
        chain_head: i.hex_n("chain_head")?,
        prev: i.hex_n("prev")?,
    };
    let pt = plaintext(i.get("plaintext")?)?;
    let env = envelope::seal_with(&account, &meta, &ck, &sk, &pt, &i.hex_n("salt")?, &i.hex_n("nonce")?)?;
    let parsed = EnvelopeRef::decode(&env)?;
    // The sealed envelope must open again with the writer's key.
    let writers =
        [AuthorizedWriter { device: meta.writer, verifying_key: sk.verifying_key().to_bytes(), max_seq: None }];
    let epochs = [EpochAccess { epoch: meta.epoch, collection_key: &ck, writers: &writers }];
    let ctx = OpenContext {
        account,
        epochs: &epochs,
        bucket: Some(meta.bucket),
        record_id: Some(meta.record_id),
        heads: &[],
    };
    if envelope::open(&env, &ctx)?.payload() != pt.as_slice() {
        return Err(Fail::harness("sealed envelope does not open to the plaintext"));
    }
    let mut inter = intermediates(&account, &ck, &parsed);
    if let Value::Object(m) = &mut inter {
        m.insert("verifying_key".into(), hex_value(&sk.verifying_key().to_bytes()));
        m.insert("padded_len".into(), json!(parsed.header.padded_len));
    }
    let output = if i.get("plaintext")?.is_string() {
        obj([("envelope", hex_value(&env))])
    } else {
        obj([
            ("envelope_len", json!(env.len())),
            ("envelope_sha256", hex_value(&sha256(&[&env]))),
            ("signature", hex_value(&parsed.signature)),
        ])
    };
    outcome(inter, output)
}

fn writers_from(v: &Value) -> Result<Vec<AuthorizedWriter>, Fail> {
    v.as_array()
        .ok_or_else(|| Fail::harness("writers is not an array"))?
        .iter()
        .map(|w| {
            let o = JsonObject(w);
            Ok(AuthorizedWriter {
                device: DeviceId(o.hex_n("device")?),
                verifying_key: o.hex_n("verifying_key")?,
                max_seq: match w.get("max_seq") {
                    None | Some(Value::Null) => None,
                    Some(_) => Some(o.u64("max_seq")?),
                },
            })
        })
        .collect()
}

/// Builds the reader's context from the input and runs `f` with it.
fn with_ctx<T>(i: &JsonObject<'_>, f: impl FnOnce(&OpenContext<'_>) -> Result<T, Fail>) -> Result<T, Fail> {
    let account = AccountId(i.hex_n("account_id")?);
    let mut keys = Vec::new();
    let mut lists = Vec::new();
    for e in i.arr("epochs")? {
        let o = JsonObject(e);
        keys.push((o.u32("epoch")?, CollectionKey::from_bytes(o.hex_n("collection_key")?)));
        lists.push(writers_from(o.get("writers")?)?);
    }
    let epochs: Vec<EpochAccess<'_>> = keys
        .iter()
        .zip(&lists)
        .map(|((epoch, ck), w)| EpochAccess { epoch: *epoch, collection_key: ck, writers: w })
        .collect();
    let opt = |k: &str| -> Result<Option<Vec<u8>>, Fail> {
        match i.0.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => i.hex(k).map(Some),
        }
    };
    let bucket = opt("bucket")?.map(|b| b.try_into().map(Bucket)).transpose().map_err(|_| Fail::harness("bucket"))?;
    let record_id =
        opt("record_id")?.map(|b| b.try_into().map(RecordId)).transpose().map_err(|_| Fail::harness("record_id"))?;
    let mut heads = Vec::new();
    if let Some(list) = i.0.get("heads").filter(|v| !v.is_null()) {
        for e in list.as_array().ok_or_else(|| Fail::harness("heads is not an array"))? {
            let o = JsonObject(e);
            heads.push(HeadEpoch { head: o.hex_n("head")?, epoch: o.u32("epoch")? });
        }
    }
    f(&OpenContext { account, epochs: &epochs, bucket, record_id, heads: &heads })
}

fn envelope_open(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let env = i.hex("envelope")?;
    with_ctx(&i, |ctx| {
        let opened = envelope::open(&env, ctx)?;
        let parsed = EnvelopeRef::decode(&env)?;
        let ck = ctx
            .epochs
            .iter()
            .find(|e| e.epoch == parsed.header.epoch)
            .map(|e| e.collection_key)
            .ok_or_else(|| Fail::harness("no key"))?;
        outcome(
            intermediates(&ctx.account, ck, &parsed),
            obj([("header", header_json(&opened.header)), ("payload", hex_value(opened.payload()))]),
        )
    })
}

fn envelope_stub(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let stub = Stub::decode(&i.hex("stub")?)?;
    with_ctx(&i, |ctx| {
        verify_stub(&stub, ctx)?;
        let sd = stub.header.sig_digest(&ctx.account, &stub.body_digest);
        let msg = Encoder::new(labels::SIG_RECORD)
            .fixed(&ctx.account.0)
            .fixed(&stub.header.encode())
            .fixed(&stub.body_digest)
            .finish();
        outcome(
            obj([("sig_message", hex_value(&msg)), ("sig_digest", hex_value(&sd))]),
            obj([("header", header_json(&stub.header))]),
        )
    })
}

fn canonical_json(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let p = i.hex("payload")?;
    let c = canonicalize(&p)?;
    Schema::Json.check(&p)?;
    outcome(obj([]), obj([("canonical", hex_value(&c))]))
}

pub(super) fn run(kind: &str, input: &Value) -> Option<Result<Outcome, Fail>> {
    Some(match kind {
        "envelope_seal" => envelope_seal(input),
        "envelope_open" => envelope_open(input),
        "envelope_verify_stub" => envelope_stub(input),
        "payload_canonical_json" => canonical_json(input),
        _ => return None,
    })
}

fn flip(bytes: &[u8], at: usize, mask: u8) -> Vec<u8> {
    let mut b = bytes.to_vec();
    if let Some(x) = b.get_mut(at) {
        *x ^= mask;
    }
    b
}

fn put(bytes: &[u8], at: usize, new: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    if let Some(s) = b.get_mut(at..at + new.len()) {
        s.copy_from_slice(new);
    }
    b
}

/// Replaces the signature by the writer's signature over the (changed) envelope.
fn resign(account: &AccountId, sk: &SigningKey, env: &[u8]) -> Result<Vec<u8>, String> {
    let mut r = blindsync::encoding::Reader::new(env);
    let hd = Header::read(&mut r).map_err(|e| e.to_string())?;
    let body = env.get(HEADER_LEN + 4..env.len().saturating_sub(SIG_LEN)).ok_or("short")?;
    let sig = sk.sign(&hd.sig_digest(account, &body_digest(body))).to_bytes();
    Ok(put(env, env.len() - SIG_LEN, &sig))
}

fn writer_json(device: &[u8; 32], vk: &[u8; 32], max_seq: Option<u64>) -> Value {
    let mut m = Map::new();
    m.insert("device".into(), hex_value(device));
    m.insert("verifying_key".into(), hex_value(vk));
    m.insert("max_seq".into(), max_seq.map_or(Value::Null, |s| json!(s)));
    Value::Object(m)
}

/// Field offsets in the header (spec 7.2).
mod off {
    pub const VERSION: usize = 0;
    pub const SUITE: usize = 1;
    pub const BUCKET: usize = 2;
    pub const RECORD_ID: usize = 34;
    pub const REVISION: usize = 50;
    pub const WRITER: usize = 58;
    pub const WRITER_SEQ: usize = 90;
    pub const EPOCH: usize = 98;
    pub const SCHEMA: usize = 102;
    pub const PADDED_LEN: usize = 104;
    pub const CHAIN_HEAD: usize = 108;
    pub const SALT: usize = 140;
    pub const COMMITMENT: usize = 172;
    pub const PREV: usize = 204;
}

pub(super) fn generate(g: &mut Gen) -> Result<(), String> {
    let mut rng = SeededRng::from_label("blindsync/vectors/v1/envelope");
    let mut b32 = || {
        let mut b = [0u8; 32];
        rand_core::Rng::fill_bytes(&mut rng, &mut b);
        b
    };
    let account = AccountId(b32());
    let other_account = b32();
    let ck4 = b32();
    let ck5 = b32();
    let seed_a = b32();
    let seed_b = b32();
    let seed_c = b32();
    let dev_a = b32();
    let dev_b = b32();
    let dev_c = b32();
    let dev_z = b32();
    let bucket = b32();
    let chain_head = b32();
    let rid_full = b32();
    let rid: [u8; 16] = rid_full[..16].try_into().map_err(|_| "rid")?;
    // the identity of the writer's envelope at writer_seq - 1 (any 32 bytes to seal and open)
    let prev = sha256(&[b"blindsync/vectors/v1/envelope/prev"]);
    let mut salts = (0..64).map(|_| b32()).collect::<Vec<_>>().into_iter();
    let mut next_salt = move || salts.next().ok_or("out of salts");
    let sk_a = SigningKey::from_bytes(&seed_a);
    let sk_b = SigningKey::from_bytes(&seed_b);
    let vk_a = sk_a.verifying_key().to_bytes();
    let vk_b = sk_b.verifying_key().to_bytes();
    let vk_c = SigningKey::from_bytes(&seed_c).verifying_key().to_bytes();

    // ---- seal: both suites, every size of the issue, and the prefix edge ----
    let seal_in = |suite: Suite, pt: Value, salt: [u8; 32], schema: u16| {
        let nonce = &salt[..NONCE_LEN];
        obj([
            ("account_id", hex_value(&account.0)),
            ("collection_key", hex_value(&ck5)),
            ("signing_seed", hex_value(&seed_a)),
            ("suite", json!(suite as u8)),
            ("bucket", hex_value(&bucket)),
            ("record_id", hex_value(&rid)),
            ("revision", json!(3)),
            ("writer", hex_value(&dev_a)),
            ("writer_seq", json!(41)),
            ("epoch", json!(5)),
            ("schema", json!(schema)),
            ("chain_head", hex_value(&chain_head)),
            ("prev", hex_value(&prev)),
            // salt and nonce as a writer would draw them from its RNG
            ("salt", hex_value(&sha256(&[b"salt", &salt]))),
            ("nonce", hex_value(nonce)),
            ("plaintext", pt),
        ])
    };
    let seal_reqs = ["ENV-1", "ENV-2", "ENV-3", "ENV-4", "ENV-5", "ENV-6", "ENV-7", "ENV-8", "ENV-9", "PAD-1", "PAD-2"];
    for suite in [Suite::Aes256Gcm, Suite::ChaCha20Poly1305] {
        let name = if suite == Suite::Aes256Gcm { "AES-256-GCM" } else { "ChaCha20-Poly1305" };
        for n in [0usize, 252, 253, 255, 256, 257, 65535, 65536, 65537, 200000] {
            let pt = if n <= 257 {
                hex_value(&pattern(n))
            } else {
                obj([("pattern", json!("sha256-counter")), ("length", json!(n))])
            };
            let padded = blindsync::envelope::padding::padded_len(n).map_err(|e| e.to_string())?;
            g.ok(
                "envelope_seal",
                &format!("{name}, {n}-byte raw payload, padded to {padded}"),
                &seal_reqs,
                seal_in(suite, pt, next_salt()?, 0),
            )?;
        }
    }
    let record = br#"{"done":false,"due":1767225600000,"tags":["home","urgent"],"title":"Buy milk \"2%\""}"#;
    g.ok(
        "envelope_seal",
        "AES-256-GCM, schema 1: a record as canonical JSON",
        &["ENV-1", "PAY-1", "PAY-2"],
        seal_in(Suite::Aes256Gcm, hex_value(record), next_salt()?, 1),
    )?;
    let bad_json = seal_in(Suite::Aes256Gcm, hex_value(br#"{"title":"x", "done":true}"#), next_salt()?, 1);
    g.err("envelope_seal", "schema 1 refuses non-canonical JSON on seal", &["PAY-2"], bad_json, Error::EnvJson)?;

    // ---- the base envelope of the open vectors ----
    let meta = RecordMeta {
        suite: Suite::Aes256Gcm,
        bucket: Bucket(bucket),
        record_id: RecordId(rid),
        revision: 3,
        writer: DeviceId(dev_a),
        writer_seq: 41,
        epoch: 5,
        schema: Schema::Raw,
        chain_head,
        prev,
    };
    let ck5k = CollectionKey::from_bytes(ck5);
    let salt_n = |s: [u8; 32]| -> ([u8; 32], [u8; 12]) {
        let mut n = [0u8; 12];
        n.copy_from_slice(&s[..12]);
        (sha256(&[b"salt", &s]), n)
    };
    let seal_m = |m: &RecordMeta, sk: &SigningKey, pt: &[u8], s: [u8; 32]| -> Result<Vec<u8>, String> {
        let (salt, nonce) = salt_n(s);
        envelope::seal_with(&account, m, &ck5k, sk, pt, &salt, &nonce).map_err(|e| e.to_string())
    };
    let text = b"Remember the milk";
    let base = seal_m(&meta, &sk_a, text, next_salt()?)?;
    let writers =
        vec![writer_json(&dev_a, &vk_a, None), writer_json(&dev_b, &vk_b, None), writer_json(&dev_c, &vk_c, Some(9))];
    let epochs = json!([
        {"epoch": 4, "collection_key": hex::encode(&ck4), "writers": writers.clone()},
        {"epoch": 5, "collection_key": hex::encode(&ck5), "writers": writers.clone()},
    ]);
    let open_in = |env: &[u8]| {
        obj([
            ("envelope", hex_value(env)),
            ("account_id", hex_value(&account.0)),
            ("epochs", epochs.clone()),
            ("bucket", Value::Null),
            ("record_id", Value::Null),
        ])
    };
    let open_reqs = ["ENV-4", "ENV-10", "ENV-12"];
    g.ok("envelope_open", "AES-256-GCM envelope opens for an authorized reader", &open_reqs, open_in(&base))?;
    g.ok(
        "envelope_open",
        "with the caller's expected bucket and record id",
        &["ENV-11", "ENV-12"],
        set(&set(&open_in(&base), "bucket", hex_value(&bucket)), "record_id", hex_value(&rid)),
    )?;
    let cha = seal_m(&RecordMeta { suite: Suite::ChaCha20Poly1305, ..meta }, &sk_a, text, next_salt()?)?;
    g.ok("envelope_open", "ChaCha20-Poly1305 envelope opens", &open_reqs, open_in(&cha))?;
    let empty = seal_m(&meta, &sk_a, b"", next_salt()?)?;
    g.ok("envelope_open", "empty payload", &open_reqs, open_in(&empty))?;
    let big = seal_m(&RecordMeta { suite: Suite::ChaCha20Poly1305, ..meta }, &sk_a, &pattern(257), next_salt()?)?;
    g.ok("envelope_open", "257-byte payload in the 1024 bucket", &open_reqs, open_in(&big))?;
    let json_env = seal_m(&RecordMeta { schema: Schema::Json, ..meta }, &sk_a, record, next_salt()?)?;
    g.ok("envelope_open", "schema 1 canonical JSON record", &["ENV-12", "PAY-1", "PAY-2"], open_in(&json_env))?;
    let bound = seal_m(
        &RecordMeta { writer: DeviceId(dev_c), writer_seq: 9, ..meta },
        &SigningKey::from_bytes(&seed_c),
        text,
        next_salt()?,
    )?;
    g.ok("envelope_open", "revoked writer at exactly its sequence bound", &["ENV-10"], open_in(&bound))?;

    // ---- the epoch in force at the cited head [ENV-16] ----
    let heads_at = |epoch: u32| json!([{"head": hex::encode(&chain_head), "epoch": epoch}]);
    g.ok(
        "envelope_open",
        "epoch 5 is the epoch in force at the cited head",
        &["ENV-16", "ENV-12"],
        set(&open_in(&base), "heads", heads_at(5)),
    )?;
    g.ok(
        "envelope_open",
        "sealed in epoch 5 at a head where epoch 4 is in force (newer is not stale)",
        &["ENV-16"],
        set(&open_in(&base), "heads", heads_at(4)),
    )?;
    let stale = {
        let (salt, nonce) = salt_n(next_salt()?);
        let ck4k = CollectionKey::from_bytes(ck4);
        envelope::seal_with(&account, &RecordMeta { epoch: 4, ..meta }, &ck4k, &sk_a, text, &salt, &nonce)
            .map_err(|e| e.to_string())?
    };
    g.ok("envelope_open", "sealed in epoch 4, no head information: opens", &["ENV-12"], open_in(&stale))?;
    g.err(
        "envelope_open",
        "sealed in epoch 4 at a head where epoch 5 is in force",
        &["ENV-16", "ENV-12"],
        set(&open_in(&stale), "heads", heads_at(5)),
        Error::EnvStaleEpoch,
    )?;

    // ---- every header field changed alone (the signature no longer verifies) ----
    let sig_reqs = ["ENV-9", "ENV-12"];
    let e = Error::EnvSignature;
    let alt32 = b32();
    let cases: Vec<(&str, usize, Vec<u8>, Error)> = vec![
        ("version 1 -> 2", off::VERSION, vec![2], Error::EnvVersion),
        ("suite AES-256-GCM -> ChaCha20-Poly1305", off::SUITE, vec![2], e),
        ("bucket changed", off::BUCKET, alt32.to_vec(), e),
        ("record id changed", off::RECORD_ID, alt32[..16].to_vec(), e),
        ("revision 3 -> 4", off::REVISION, 4u64.to_be_bytes().to_vec(), e),
        ("writer changed to another authorized device", off::WRITER, dev_b.to_vec(), e),
        ("writer sequence number 41 -> 40", off::WRITER_SEQ, 40u64.to_be_bytes().to_vec(), e),
        ("epoch 5 -> 4 (an epoch the reader has)", off::EPOCH, 4u32.to_be_bytes().to_vec(), e),
        ("schema 0 -> 1", off::SCHEMA, 1u16.to_be_bytes().to_vec(), e),
        (
            "padded length 256 -> 1024 (no longer the ciphertext's)",
            off::PADDED_LEN,
            1024u32.to_be_bytes().to_vec(),
            Error::EnvLength,
        ),
        ("chain head changed", off::CHAIN_HEAD, alt32.to_vec(), e),
        ("salt changed", off::SALT, alt32.to_vec(), e),
        ("key commitment changed", off::COMMITMENT, alt32.to_vec(), e),
        ("prev changed", off::PREV, alt32.to_vec(), e),
    ];
    for (what, at, new, err) in cases {
        let reqs: &[&str] = match err {
            Error::EnvVersion => &["ENV-2", "ENV-13"],
            Error::EnvLength => &["ENV-4", "ENV-13"],
            _ => &sig_reqs,
        };
        g.err("envelope_open", &format!("header: {what}"), reqs, open_in(&put(&base, at, &new)), err)?;
    }
    let body = HEADER_LEN + 4;
    let tag_at = body + NONCE_LEN + 256;
    g.err("envelope_open", "one nonce bit flipped", &sig_reqs, open_in(&flip(&base, body, 0x01)), e)?;
    g.tag(&[Flag::ModifiedCiphertext])?;
    g.err(
        "envelope_open",
        "one ciphertext bit flipped",
        &sig_reqs,
        open_in(&flip(&base, body + NONCE_LEN + 3, 0x10)),
        e,
    )?;
    g.tag(&[Flag::ModifiedCiphertext])?;
    g.err("envelope_open", "one tag bit flipped", &sig_reqs, open_in(&flip(&base, tag_at + 15, 0x80)), e)?;
    g.tag(&[Flag::ModifiedCiphertext])?;
    g.err("envelope_open", "one signature bit flipped", &sig_reqs, open_in(&flip(&base, base.len() - 1, 0x01)), e)?;

    // ---- authorization ----
    g.err(
        "envelope_open",
        "wrong epoch: the reader has no keys or device list for epoch 5",
        &["ENV-10"],
        set(
            &open_in(&base),
            "epochs",
            json!([{"epoch": 4, "collection_key": hex::encode(&ck4), "writers": writers.clone()}]),
        ),
        Error::EnvEpoch,
    )?;
    g.err(
        "envelope_open",
        "signer not authorized in the epoch",
        &["ENV-10"],
        set(
            &open_in(&base),
            "epochs",
            json!([{"epoch": 5, "collection_key": hex::encode(&ck5), "writers": [writers[1].clone(), writers[2].clone()]}]),
        ),
        Error::EnvSignerUnknown,
    )?;
    let past = seal_m(
        &RecordMeta { writer: DeviceId(dev_c), writer_seq: 10, ..meta },
        &SigningKey::from_bytes(&seed_c),
        text,
        next_salt()?,
    )?;
    g.err(
        "envelope_open",
        "revoked writer above its sequence bound 9",
        &["ENV-10"],
        open_in(&past),
        Error::EnvWriterRevoked,
    )?;
    g.err(
        "envelope_open",
        "served for another record than the one asked for",
        &["ENV-11"],
        set(&open_in(&base), "record_id", hex_value(&alt32[..16])),
        Error::EnvContext,
    )?;
    g.err(
        "envelope_open",
        "served for another bucket than the one asked for",
        &["ENV-11"],
        set(&open_in(&base), "bucket", hex_value(&alt32)),
        Error::EnvContext,
    )?;
    g.err(
        "envelope_open",
        "moved to another account (account id is bound, not on the wire)",
        &["ENV-5", "ENV-9"],
        set(&open_in(&base), "account_id", hex_value(&other_account)),
        Error::EnvSignature,
    )?;
    g.tag(&[Flag::WrongContext])?;

    // ---- signature malleability and key checks ----
    let mut s_plus_l = base.clone();
    let n = s_plus_l.len();
    add_l(s_plus_l.get_mut(n - 32..).ok_or("sig")?);
    g.err(
        "envelope_open",
        "signature with S + L (S not reduced)",
        &["ENV-9"],
        open_in(&s_plus_l),
        Error::EnvSignature,
    )?;
    g.tag(&[Flag::SignatureMalleability, Flag::NonCanonical])?;
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut weak = put(&base, off::WRITER, &dev_z);
    let mut forged = [0u8; 64];
    forged[0] = 1; // R = identity, S = 0: valid for any message under a small-order key, unless strict
    let wn = weak.len();
    weak = put(&weak, wn - 64, &forged);
    let with_weak = {
        let mut w = writers.clone();
        w.push(writer_json(&dev_z, &identity, None));
        json!([{"epoch": 5, "collection_key": hex::encode(&ck5), "writers": w}])
    };
    g.err(
        "envelope_open",
        "signer key of small order (the identity point) with R = identity, S = 0",
        &["ENV-9"],
        set(&open_in(&weak), "epochs", with_weak),
        Error::EnvSignerKey,
    )?;
    g.tag(&[Flag::SmallOrderKey, Flag::SignatureMalleability])?;
    let other_env = seal_m(&RecordMeta { revision: 4, ..meta }, &sk_a, text, next_salt()?)?;
    let swapped = put(&base, base.len() - 64, other_env.get(other_env.len() - 64..).ok_or("sig")?);
    g.err(
        "envelope_open",
        "valid signature of the writer taken from another envelope (swap)",
        &["ENV-9"],
        open_in(&swapped),
        Error::EnvSignature,
    )?;
    g.tag(&[Flag::Substitution])?;

    // ---- structure ----
    g.err(
        "envelope_open",
        "truncated by one byte",
        &["ENV-4"],
        open_in(&base[..base.len() - 1]),
        Error::DecodeTruncated,
    )?;
    g.err("envelope_open", "truncated inside the header", &["ENV-4"], open_in(&base[..100]), Error::DecodeTruncated)?;
    let mut trailing = base.clone();
    trailing.push(0);
    g.err("envelope_open", "one trailing byte", &["ENV-4"], open_in(&trailing), Error::DecodeTrailing)?;
    g.err(
        "envelope_open",
        "body length prefix does not match the padded length",
        &["ENV-4", "ENV-13"],
        open_in(&put(&base, HEADER_LEN, &300u32.to_be_bytes())),
        Error::EnvLength,
    )?;
    g.err(
        "envelope_open",
        "padded length 1024 in a header the writer signed, over a 256-byte ciphertext",
        &["ENV-13"],
        open_in(&resign(&account, &sk_a, &put(&base, off::PADDED_LEN, &1024u32.to_be_bytes()))?),
        Error::EnvLength,
    )?;
    g.err(
        "envelope_open",
        "padded length 300 is not a bucket",
        &["ENV-13", "PAD-1"],
        open_in(&put(&base, off::PADDED_LEN, &300u32.to_be_bytes())),
        Error::EnvLength,
    )?;
    g.err(
        "envelope_open",
        "padded length above the 16 MiB limit",
        &["ENV-14"],
        open_in(&put(&base, off::PADDED_LEN, &(16_842_752u32).to_be_bytes())),
        Error::EnvTooLarge,
    )?;
    g.tag(&[Flag::ResourceLimit])?;
    g.err(
        "envelope_open",
        "unknown version 0",
        &["ENV-2", "ENV-13"],
        open_in(&put(&base, 0, &[0])),
        Error::EnvVersion,
    )?;
    g.err("envelope_open", "unknown suite 3", &["ENV-3", "ENV-13"], open_in(&put(&base, 1, &[3])), Error::EnvSuite)?;

    // ---- behind a valid signature: a misbehaving authorized writer, or a wrong key ----
    g.err(
        "envelope_open",
        "wrong key commitment, signed by the writer",
        &["ENV-6", "ENV-12"],
        open_in(&resign(&account, &sk_a, &put(&base, off::COMMITMENT, &alt32))?),
        Error::EnvCommitment,
    )?;
    g.err(
        "envelope_open",
        "reader holds another collection key for epoch 5: the commitment does not match",
        &["ENV-6"],
        set(
            &open_in(&base),
            "epochs",
            json!([{"epoch": 5, "collection_key": hex::encode(&ck4), "writers": writers.clone()}]),
        ),
        Error::EnvCommitment,
    )?;
    g.tag(&[Flag::WrongKey])?;
    g.err(
        "envelope_open",
        "one ciphertext bit flipped and re-signed by the writer",
        &["ENV-7", "ENV-12"],
        open_in(&resign(&account, &sk_a, &flip(&base, body + NONCE_LEN + 3, 0x10))?),
        Error::EnvDecrypt,
    )?;
    g.tag(&[Flag::ModifiedCiphertext])?;
    let template = EnvelopeRef::decode(&base).map_err(|e| e.to_string())?.header;
    let raw = |hd: &Header, padded: &[u8]| {
        envelope::seal_padded_unchecked(&account, hd, &ck5k, &sk_a, padded, &[7; 12]).map_err(|e| e.to_string())
    };
    let mut nonzero = blindsync::envelope::padding::pad(text).map_err(|e| e.to_string())?;
    if let Some(x) = nonzero.last_mut() {
        *x = 1;
    }
    g.err(
        "envelope_open",
        "a non-zero padding byte",
        &["PAD-3"],
        open_in(&raw(&template, &nonzero)?),
        Error::EnvPadding,
    )?;
    let mut over = blindsync::envelope::padding::pad(text).map_err(|e| e.to_string())?;
    over.resize(1024, 0);
    g.err(
        "envelope_open",
        "over-padded: 17 bytes in the 1024 bucket",
        &["PAD-3"],
        open_in(&raw(&template, &over)?),
        Error::EnvPadding,
    )?;
    let mut long_prefix = blindsync::envelope::padding::pad(text).map_err(|e| e.to_string())?;
    long_prefix.splice(0..4, 253u32.to_be_bytes());
    g.err(
        "envelope_open",
        "length prefix 253 does not fit the 256 bucket",
        &["PAD-3"],
        open_in(&raw(&template, &long_prefix)?),
        Error::EnvPadding,
    )?;
    let pad_s = |p: &[u8]| blindsync::envelope::padding::pad(p).map_err(|e| e.to_string());
    g.err(
        "envelope_open",
        "unknown schema 9",
        &["PAY-1"],
        open_in(&raw(&Header { schema: 9, ..template }, &pad_s(b"{}")?)?),
        Error::EnvSchema,
    )?;
    g.err(
        "envelope_open",
        "schema 1 payload with unsorted keys",
        &["PAY-2"],
        open_in(&raw(&Header { schema: 1, ..template }, &pad_s(br#"{"b":1,"a":2}"#)?)?),
        Error::EnvJson,
    )?;

    // ---- stubs ----
    let stub = EnvelopeRef::decode(&base).map_err(|e| e.to_string())?.stub();
    let stub_in = |s: &Stub| set(&open_in(&base), "stub", hex_value(&s.encode()));
    let strip = |v: Value| {
        let mut v = v;
        if let Value::Object(m) = &mut v {
            m.remove("envelope");
        }
        v
    };
    g.ok("envelope_verify_stub", "stub of the base envelope verifies", &["ENV-15"], strip(stub_in(&stub)))?;
    let mut bad = stub;
    bad.body_digest[0] ^= 1;
    g.err(
        "envelope_verify_stub",
        "stub with another body digest",
        &["ENV-15"],
        strip(stub_in(&bad)),
        Error::EnvSignature,
    )?;
    g.tag(&[Flag::ModifiedData])?;
    let mut late = stub_in(&stub);
    late = set(
        &late,
        "epochs",
        json!([{"epoch": 5, "collection_key": hex::encode(&ck5), "writers": [writers[1].clone()]}]),
    );
    let stale_stub = EnvelopeRef::decode(&stale).map_err(|e| e.to_string())?.stub();
    g.err(
        "envelope_verify_stub",
        "stub sealed in epoch 4 at a head where epoch 5 is in force",
        &["ENV-15", "ENV-16"],
        strip(set(&stub_in(&stale_stub), "heads", heads_at(5))),
        Error::EnvStaleEpoch,
    )?;
    g.err(
        "envelope_verify_stub",
        "stub by a writer not authorized",
        &["ENV-15", "ENV-10"],
        strip(late),
        Error::EnvSignerUnknown,
    )?;

    // ---- canonical JSON ----
    let cj = |p: &[u8]| obj([("payload", hex_value(p))]);
    let pj = ["PAY-2", "PAY-3", "PAY-4", "PAY-5"];
    g.ok("payload_canonical_json", "a canonical record", &pj, cj(record))?;
    g.ok(
        "payload_canonical_json",
        "escapes: only quote, backslash and controls",
        &pj,
        cj("{\"s\":\"\\u0001\\t/é\"}".as_bytes()),
    )?;
    for (what, p) in [
        ("whitespace", &br#"{"a": 1}"#[..]),
        ("unsorted keys", br#"{"b":1,"a":2}"#),
        ("duplicate keys", br#"{"a":1,"a":1}"#),
        ("a fraction", br#"{"a":1.5}"#),
        ("an exponent", br#"{"a":1e3}"#),
        ("-0", br#"{"a":-0}"#),
        ("integer 2^53", br#"{"a":9007199254740992}"#),
        ("non-minimal escape \\u0041", br#"{"a":"\u0041"}"#),
        ("escaped solidus", br#"{"a":"\/"}"#),
        ("top level is an array", br#"[1]"#),
        ("invalid UTF-8", b"{\"a\":\"\xc3\"}"),
    ] {
        g.err("payload_canonical_json", &format!("refused: {what}"), &pj, cj(p), Error::EnvJson)?;
    }

    // ---- multi-fault: the first failing check of [ENV-13], then [ENV-12], decides ----
    let cut = |b: &[u8], n: usize| b.get(..n).map(<[u8]>::to_vec).ok_or("cut");
    let plus = |b: &[u8]| [b, &[0u8][..]].concat();
    let be32 = |n: u32| n.to_be_bytes().to_vec();
    let v2 = put(&base, off::VERSION, &[2]);
    let s3 = put(&base, off::SUITE, &[3]);
    let not_bucket = put(&base, off::PADDED_LEN, &be32(300));
    let too_large = put(&base, off::PADDED_LEN, &be32(16_842_752));
    let body_mismatch = put(&base, HEADER_LEN, &be32(300));
    let sig_flip = |b: &[u8]| flip(b, b.len() - 1, 0x01);
    let no_epoch5 = json!([{"epoch": 4, "collection_key": hex::encode(&ck4), "writers": writers.clone()}]);
    let no_writer_a =
        json!([{"epoch": 5, "collection_key": hex::encode(&ck5), "writers": [writers[1].clone(), writers[2].clone()]}]);
    let wrong_ck5 = json!([{"epoch": 5, "collection_key": hex::encode(&ck4), "writers": writers.clone()}]);
    let other_rid = hex_value(&alt32[..16]);
    let env_reqs = ["ENV-12", "ENV-13", "ENC-7"];
    let mf = |what: &str, e: Error, alone: Value| fault(what, e, alone);
    let cases: Vec<(&str, Value, Vec<Fault>)> = vec![
        (
            "version 2 and suite 3",
            open_in(&put(&v2, off::SUITE, &[3])),
            vec![mf("version 2", Error::EnvVersion, open_in(&v2)), mf("suite 3", Error::EnvSuite, open_in(&s3))],
        ),
        (
            "version 2 in a 10-byte input",
            open_in(&cut(&v2, 10)?),
            vec![
                mf("version 2", Error::EnvVersion, open_in(&v2)),
                mf("cut to 10 bytes", Error::DecodeTruncated, open_in(&cut(&base, 10)?)),
            ],
        ),
        (
            "suite 3 in a 200-byte input",
            open_in(&cut(&s3, 200)?),
            vec![
                mf("suite 3", Error::EnvSuite, open_in(&s3)),
                mf("cut to 200 bytes (inside the header)", Error::DecodeTruncated, open_in(&cut(&base, 200)?)),
            ],
        ),
        (
            "a header cut at 200 bytes whose padded length 300 is not a bucket",
            open_in(&cut(&not_bucket, 200)?),
            vec![
                mf("cut to 200 bytes (inside the header)", Error::DecodeTruncated, open_in(&cut(&base, 200)?)),
                mf("padded length 300", Error::EnvLength, open_in(&not_bucket)),
            ],
        ),
        (
            "suite 3 and a padded length above the limit",
            open_in(&put(&too_large, off::SUITE, &[3])),
            vec![
                mf("suite 3", Error::EnvSuite, open_in(&s3)),
                mf("padded length above 16 MiB", Error::EnvTooLarge, open_in(&too_large)),
            ],
        ),
        (
            "a padded length above the limit and a trailing byte",
            open_in(&plus(&too_large)),
            vec![
                mf("padded length above 16 MiB", Error::EnvTooLarge, open_in(&too_large)),
                mf("one trailing byte", Error::DecodeTrailing, open_in(&plus(&base))),
            ],
        ),
        (
            "padded length 300 (not a bucket) and the signature cut by one byte",
            open_in(&cut(&not_bucket, base.len() - 1)?),
            vec![
                mf("padded length 300", Error::EnvLength, open_in(&not_bucket)),
                mf("cut by one byte", Error::DecodeTruncated, open_in(&cut(&base, base.len() - 1)?)),
            ],
        ),
        (
            "body length 300 and the body cut short",
            open_in(&cut(&body_mismatch, HEADER_LEN + 4 + 100)?),
            vec![
                mf("body length prefix 300", Error::EnvLength, open_in(&body_mismatch)),
                mf("cut inside the body", Error::DecodeTruncated, open_in(&cut(&base, HEADER_LEN + 4 + 100)?)),
            ],
        ),
        (
            "the signature cut by one byte, served for another record",
            set(&open_in(&cut(&base, base.len() - 1)?), "record_id", other_rid.clone()),
            vec![
                mf("cut by one byte", Error::DecodeTruncated, open_in(&cut(&base, base.len() - 1)?)),
                mf(
                    "another record id expected",
                    Error::EnvContext,
                    set(&open_in(&base), "record_id", other_rid.clone()),
                ),
            ],
        ),
        (
            "a trailing byte, read by a reader without epoch 5",
            set(&open_in(&plus(&base)), "epochs", no_epoch5.clone()),
            vec![
                mf("one trailing byte", Error::DecodeTrailing, open_in(&plus(&base))),
                mf("the reader has no epoch 5", Error::EnvEpoch, set(&open_in(&base), "epochs", no_epoch5.clone())),
            ],
        ),
        (
            "served for another record, to a reader without epoch 5",
            set(&set(&open_in(&base), "record_id", other_rid.clone()), "epochs", no_epoch5.clone()),
            vec![
                mf(
                    "another record id expected",
                    Error::EnvContext,
                    set(&open_in(&base), "record_id", other_rid.clone()),
                ),
                mf("the reader has no epoch 5", Error::EnvEpoch, set(&open_in(&base), "epochs", no_epoch5.clone())),
            ],
        ),
        (
            "a reader without epoch 5, and a flipped signature bit",
            set(&open_in(&sig_flip(&base)), "epochs", no_epoch5.clone()),
            vec![
                mf("the reader has no epoch 5", Error::EnvEpoch, set(&open_in(&base), "epochs", no_epoch5.clone())),
                mf("one signature bit flipped", Error::EnvSignature, open_in(&sig_flip(&base))),
            ],
        ),
        (
            "a writer not authorized in epoch 5, and a flipped signature bit",
            set(&open_in(&sig_flip(&base)), "epochs", no_writer_a.clone()),
            vec![
                mf(
                    "writer not authorized",
                    Error::EnvSignerUnknown,
                    set(&open_in(&base), "epochs", no_writer_a.clone()),
                ),
                mf("one signature bit flipped", Error::EnvSignature, open_in(&sig_flip(&base))),
            ],
        ),
        (
            "a revoked writer above its bound, at a head where epoch 6 is in force, with a flipped signature bit",
            set(&open_in(&sig_flip(&past)), "heads", heads_at(6)),
            vec![
                mf("revoked writer at sequence 10 above its bound 9", Error::EnvWriterRevoked, open_in(&past)),
                mf(
                    "epoch 6 in force at the cited head",
                    Error::EnvStaleEpoch,
                    set(&open_in(&base), "heads", heads_at(6)),
                ),
                mf("one signature bit flipped", Error::EnvSignature, open_in(&sig_flip(&base))),
            ],
        ),
        (
            "sealed in epoch 4 at a head where epoch 5 is in force, with a flipped signature bit",
            set(&open_in(&sig_flip(&stale)), "heads", heads_at(5)),
            vec![
                mf(
                    "epoch 5 in force at the cited head",
                    Error::EnvStaleEpoch,
                    set(&open_in(&stale), "heads", heads_at(5)),
                ),
                mf("one signature bit flipped", Error::EnvSignature, open_in(&sig_flip(&base))),
            ],
        ),
        (
            "a flipped signature bit, and the reader holds another collection key for epoch 5",
            set(&open_in(&sig_flip(&base)), "epochs", wrong_ck5.clone()),
            vec![
                mf("one signature bit flipped", Error::EnvSignature, open_in(&sig_flip(&base))),
                mf("another collection key", Error::EnvCommitment, set(&open_in(&base), "epochs", wrong_ck5.clone())),
            ],
        ),
        (
            "a writer-signed wrong commitment over a flipped ciphertext bit",
            open_in(&resign(&account, &sk_a, &put(&flip(&base, body + NONCE_LEN + 3, 0x10), off::COMMITMENT, &alt32))?),
            vec![
                mf(
                    "commitment changed, re-signed",
                    Error::EnvCommitment,
                    open_in(&resign(&account, &sk_a, &put(&base, off::COMMITMENT, &alt32))?),
                ),
                mf(
                    "ciphertext bit flipped, re-signed",
                    Error::EnvDecrypt,
                    open_in(&resign(&account, &sk_a, &flip(&base, body + NONCE_LEN + 3, 0x10))?),
                ),
            ],
        ),
        (
            "a non-zero padding byte under a flipped, re-signed ciphertext bit",
            open_in(&resign(&account, &sk_a, &flip(&raw(&template, &nonzero)?, body + NONCE_LEN + 3, 0x10))?),
            vec![
                mf(
                    "ciphertext bit flipped, re-signed",
                    Error::EnvDecrypt,
                    open_in(&resign(&account, &sk_a, &flip(&base, body + NONCE_LEN + 3, 0x10))?),
                ),
                mf("a non-zero padding byte", Error::EnvPadding, open_in(&raw(&template, &nonzero)?)),
            ],
        ),
        (
            "a non-zero padding byte and unknown schema 9",
            open_in(&raw(&Header { schema: 9, ..template }, &nonzero)?),
            vec![
                mf("a non-zero padding byte", Error::EnvPadding, open_in(&raw(&template, &nonzero)?)),
                mf("schema 9", Error::EnvSchema, open_in(&raw(&Header { schema: 9, ..template }, &pad_s(b"{}")?)?)),
            ],
        ),
    ];
    for (what, input, faults) in cases {
        g.multi("envelope_open", what, &env_reqs, input, faults)?;
    }
    let stub_v2 = {
        let mut s = EnvelopeRef::decode(&base).map_err(|e| e.to_string())?.stub().encode();
        s[off::VERSION] = 2;
        s
    };
    let stub_plain = EnvelopeRef::decode(&base).map_err(|e| e.to_string())?.stub().encode();
    let stub_hex = |b: &[u8]| strip(set(&open_in(&base), "stub", hex_value(b)));
    g.multi(
        "envelope_verify_stub",
        "a stub with version 2, cut to 100 bytes",
        &["ENV-15", "ENV-13"],
        stub_hex(&stub_v2[..100]),
        vec![
            mf("version 2", Error::EnvVersion, stub_hex(&stub_v2)),
            mf("cut to 100 bytes", Error::DecodeTruncated, stub_hex(&stub_plain[..100])),
        ],
    )?;
    g.multi(
        "envelope_verify_stub",
        "a stub with another body digest, by a writer not authorized",
        &["ENV-15", "ENV-12"],
        set(&strip(stub_in(&bad)), "epochs", no_writer_a.clone()),
        vec![
            mf(
                "writer not authorized",
                Error::EnvSignerUnknown,
                set(&strip(stub_in(&stub)), "epochs", no_writer_a.clone()),
            ),
            mf("another body digest", Error::EnvSignature, strip(stub_in(&bad))),
        ],
    )?;
    let mut stale_bad = stale_stub;
    stale_bad.body_digest[0] ^= 1;
    g.multi(
        "envelope_verify_stub",
        "a stub sealed in epoch 4 at a head where epoch 5 is in force, with another body digest",
        &["ENV-15", "ENV-16"],
        strip(set(&stub_in(&stale_bad), "heads", heads_at(5))),
        vec![
            mf(
                "epoch 5 in force at the cited head",
                Error::EnvStaleEpoch,
                strip(set(&stub_in(&stale_stub), "heads", heads_at(5))),
            ),
            mf("another body digest", Error::EnvSignature, strip(stub_in(&bad))),
        ],
    )?;

    // [PAY-6]: a seal checks the schema, the suite, the payload against the schema, its size.
    let seal_base = seal_in(Suite::Aes256Gcm, hex_value(text), next_salt()?, 0);
    let huge = obj([("pattern", json!("sha256-counter")), ("length", json!(16_777_216 - 3))]);
    let with = |v: &Value, pairs: &[(&str, Value)]| pairs.iter().fold(v.clone(), |acc, (k, x)| set(&acc, k, x.clone()));
    let not_canonical = hex_value(br#"{"title":"x", "done":true}"#);
    let seal_cases: Vec<(&str, Value, Vec<Fault>)> = vec![
        (
            "schema 2 and suite 3",
            with(&seal_base, &[("schema", json!(2)), ("suite", json!(3))]),
            vec![
                mf("schema 2", Error::EnvSchema, with(&seal_base, &[("schema", json!(2))])),
                mf("suite 3", Error::EnvSuite, with(&seal_base, &[("suite", json!(3))])),
            ],
        ),
        (
            "suite 3, and a schema 1 payload that is not canonical JSON",
            with(&seal_base, &[("suite", json!(3)), ("schema", json!(1)), ("plaintext", not_canonical.clone())]),
            vec![
                mf("suite 3", Error::EnvSuite, with(&seal_base, &[("suite", json!(3))])),
                mf(
                    "non-canonical JSON under schema 1",
                    Error::EnvJson,
                    with(&seal_base, &[("schema", json!(1)), ("plaintext", not_canonical.clone())]),
                ),
            ],
        ),
        (
            "a schema 1 payload of 16 MiB - 3 bytes that is not JSON",
            with(&seal_base, &[("schema", json!(1)), ("plaintext", huge.clone())]),
            vec![
                mf(
                    "not canonical JSON under schema 1",
                    Error::EnvJson,
                    with(&seal_base, &[("schema", json!(1)), ("plaintext", not_canonical.clone())]),
                ),
                mf(
                    "16 MiB - 3 bytes: no bucket holds it",
                    Error::EnvTooLarge,
                    with(&seal_base, &[("plaintext", huge.clone())]),
                ),
            ],
        ),
    ];
    for (what, input, faults) in seal_cases {
        g.multi("envelope_seal", what, &["PAY-6", "ENV-12"], input, faults)?;
    }
    Ok(())
}

/// Adds the group order L to a little-endian 32-byte scalar (no overflow for S < L).
fn add_l(s: &mut [u8]) {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for (x, l) in s.iter_mut().zip(L) {
        let v = u16::from(*x) + u16::from(l) + carry;
        *x = v as u8;
        carry = v >> 8;
    }
}

#[cfg(test)]
mod tests {
    // [ENV-1] [ENV-12] [PAY-2] the checked-in envelope.json is exactly what the generator writes, and passes.
    #[test]
    fn checked_in_vectors_match_and_pass() {
        let files = crate::generate().unwrap();
        let f = files.iter().find(|f| f.name == "envelope.json").unwrap();
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/envelope.json");
        let on_disk = std::fs::read(path).unwrap();
        assert!(on_disk == f.to_bytes(), "vectors/envelope.json is stale: run `blindsync vectors generate`");
        let rep = crate::verify_generated("envelope.json", &serde_json::from_slice(&on_disk).unwrap());
        assert!(rep.ok(), "{:?}", rep.failures);
        assert!(rep.negative.1 >= 40);
    }
}
