//! `stream.json` (spec 9): chunked streams, their manifests and every refusal.
//!
//! Large plaintexts use the `sha256-counter` pattern of `envelope.json`.

use ed25519_dalek::SigningKey;
use serde_json::{Value, json};

use super::envelope::pattern;
use super::{Fault, Gen, fault, outcome};
use crate::Flag;
use crate::Outcome;
use crate::hex;
use crate::json::{Fail, JsonObject, hex_value, obj, set};
use blindsync::encoding::Encoder;
use blindsync::envelope::Suite;
use blindsync::error::Error;
use blindsync::keys::AccountId;
use blindsync::labels;
use blindsync::primitives::{SeededRng, sha256};
use blindsync::stream::{
    self, CHUNK_LEN, FRAME_LEN, Manifest, StreamKeySource, StreamOpenContext, StreamParams, chunk_aad, chunk_nonce,
};

fn plaintext(v: &Value) -> Result<Vec<u8>, Fail> {
    match v {
        Value::String(s) => hex::decode(s).ok_or_else(|| Fail::harness("plaintext is not hex")),
        Value::Object(_) => {
            let o = JsonObject(v);
            if o.str("pattern")? != "sha256-counter" {
                return Err(Fail::harness("unknown pattern"));
            }
            Ok(pattern(usize::try_from(o.u64("length")?).map_err(|_| Fail::harness("length"))?))
        }
        _ => Err(Fail::harness("plaintext is neither hex nor a pattern")),
    }
}

fn params_from(i: &JsonObject<'_>) -> Result<StreamParams, Fail> {
    let suite = u8::try_from(i.u64("suite")?).map_err(|_| Fail::harness("suite"))?;
    Ok(StreamParams {
        account: AccountId(i.hex_n("account_id")?),
        suite: Suite::from_u8(suite)?,
        stream_id: i.hex_n("stream_id")?,
        context: i.hex_n("context")?,
    })
}

fn stream_seal(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let p = params_from(&i)?;
    let source = StreamKeySource::from_bytes(i.hex_n("key_source")?);
    let sk = SigningKey::from_bytes(&i.hex_n("signing_seed")?);
    let pt = plaintext(i.get("plaintext")?)?;
    let salt = i.hex_n("salt")?;
    let (m, body) = stream::seal_parallel(&p, &source, &sk, &salt, &pt, 2)?;
    let ctx = StreamOpenContext { params: p, verifying_key: sk.verifying_key().to_bytes() };
    if stream::open(&m, &body, &ctx, &source)? != pt {
        return Err(Fail::harness("sealed stream does not open to the plaintext"));
    }
    let man = Manifest::decode(&m)?;
    let ks = stream::key_schedule(&source, &salt, p.suite);
    let n = man.chunk_count() as u64;
    let unsigned_len = u32::try_from(man.unsigned().len()).map_err(|_| Fail::harness("len"))?;
    let first_frame_len =
        u32::try_from(if n == 1 { man.last_len as usize } else { CHUNK_LEN } + 16).map_err(|_| Fail::harness("len"))?;
    let inter = obj([
        ("key_info", hex_value(&stream::key_info(p.suite))),
        ("commit_info", hex_value(&stream::commit_info(p.suite))),
        ("prk", hex_value(ks.prk.expose())),
        ("key", hex_value(ks.key.expose())),
        ("commitment", hex_value(&ks.commitment)),
        ("first_nonce", hex_value(&chunk_nonce(0, n == 1))),
        ("first_aad", hex_value(&chunk_aad(&p, 0, n == 1))),
        ("last_nonce", hex_value(&chunk_nonce(n - 1, true))),
        ("first_digest_prefix", hex_value(&Encoder::new(labels::HASH_STREAM_CHUNK).u32(first_frame_len).finish())),
        ("chunk_digests", Value::Array(man.digests.iter().map(|t| hex_value(t)).collect())),
        (
            "sig_message_prefix",
            hex_value(&Encoder::new(labels::SIG_STREAM).fixed(&p.account.0).u32(unsigned_len).finish()),
        ),
        ("sig_digest", hex_value(&man.sig_digest(&p.account))),
        ("verifying_key", hex_value(&sk.verifying_key().to_bytes())),
    ]);
    let output = if i.get("plaintext")?.is_string() {
        obj([("manifest", hex_value(&m)), ("body", hex_value(&body))])
    } else {
        obj([
            ("manifest", hex_value(&m)),
            ("body_len", json!(body.len())),
            ("body_sha256", hex_value(&sha256(&[&body]))),
        ])
    };
    outcome(inter, output)
}

fn stream_open(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let ctx = StreamOpenContext { params: params_from(&i)?, verifying_key: i.hex_n("verifying_key")? };
    let source = StreamKeySource::from_bytes(i.hex_n("key_source")?);
    let pt = stream::open(&i.hex("manifest")?, &i.hex("body")?, &ctx, &source)?;
    outcome(obj([]), obj([("plaintext_len", json!(pt.len())), ("plaintext_sha256", hex_value(&sha256(&[&pt])))]))
}

fn stream_manifest_decode(input: &Value) -> Result<Outcome, Fail> {
    let m = Manifest::decode(&JsonObject(input).hex("manifest")?)?;
    outcome(
        obj([]),
        obj([
            ("chunk_count", json!(m.chunk_count())),
            ("last_len", json!(m.last_len)),
            ("plaintext_len", json!(m.plaintext_len())),
        ]),
    )
}

pub(super) fn run(kind: &str, input: &Value) -> Option<Result<Outcome, Fail>> {
    Some(match kind {
        "stream_seal" => stream_seal(input),
        "stream_open" => stream_open(input),
        "stream_manifest_decode" => stream_manifest_decode(input),
        _ => return None,
    })
}

/// Re-signs an edited unsigned manifest with the writer's key (a misbehaving writer).
fn resign(account: &AccountId, sk: &SigningKey, m: &Manifest) -> Vec<u8> {
    let mut m = m.clone();
    m.signature = ed25519_dalek::Signer::sign(sk, &m.sig_digest(account)).to_bytes();
    m.encode()
}

pub(super) fn generate(g: &mut Gen) -> Result<(), String> {
    let mut rng = SeededRng::from_label("blindsync/vectors/v1/stream");
    let mut b32 = || {
        let mut b = [0u8; 32];
        rand_core::Rng::fill_bytes(&mut rng, &mut b);
        b
    };
    let account = b32();
    let id_full = b32();
    let stream_id: [u8; 16] = id_full[..16].try_into().map_err(|_| "id")?;
    let context = b32();
    let source = b32();
    let seed = b32();
    let other_seed = b32();
    let sk = SigningKey::from_bytes(&seed);
    let vk = sk.verifying_key().to_bytes();
    let p = StreamParams { account: AccountId(account), suite: Suite::Aes256Gcm, stream_id, context };
    let base = json!({
        "account_id": hex::encode(&account), "suite": 1, "stream_id": hex::encode(&stream_id),
        "context": hex::encode(&context), "key_source": hex::encode(&source),
    });
    let f = |e: Error| e.to_string();

    // ---- seal: the sizes of [STR-1], both suites ----
    let sizes = [0usize, 1, CHUNK_LEN, CHUNK_LEN + 1, 3 * CHUNK_LEN + 1000];
    for (k, n) in sizes.iter().enumerate() {
        for suite in [1u8, 2] {
            let salt = b32();
            let pt = if *n <= 1 { hex_value(&pattern(*n)) } else { json!({"pattern": "sha256-counter", "length": n}) };
            let input = set(
                &set(
                    &set(&set(&base, "suite", json!(suite)), "salt", hex_value(&salt)),
                    "signing_seed",
                    hex_value(&seed),
                ),
                "plaintext",
                pt,
            );
            g.ok(
                "stream_seal",
                &format!("{n}-byte stream, suite {suite} (size {k})"),
                &["STR-1", "STR-2", "STR-3", "STR-4", "STR-5", "STR-6", "STR-7", "STR-10"],
                input,
            )?;
        }
    }

    // ---- open: a two-full-chunk stream and every refusal ----
    let pt = pattern(2 * CHUNK_LEN);
    let salt = b32();
    let (m, body) = stream::seal_parallel(&p, &StreamKeySource::from_bytes(source), &sk, &salt, &pt, 1).map_err(f)?;
    let open_in = |m: &[u8], b: &[u8]| {
        set(&set(&set(&base, "manifest", hex_value(m)), "body", hex_value(b)), "verifying_key", hex_value(&vk))
    };
    let reqs = &["STR-8", "STR-11"];
    g.ok("stream_open", "two full chunks", reqs, open_in(&m, &body))?;
    let c0 = body.get(..FRAME_LEN).ok_or("c0")?;
    let c1 = body.get(FRAME_LEN..).ok_or("c1")?;
    g.err("stream_open", "last chunk missing", reqs, open_in(&m, c0), Error::StreamTruncated)?;
    g.err(
        "stream_open",
        "last chunk cut by one byte",
        reqs,
        open_in(&m, body.get(..body.len() - 1).ok_or("cut")?),
        Error::StreamTruncated,
    )?;
    g.err(
        "stream_open",
        "chunk 0 again in place of chunk 1",
        reqs,
        open_in(&m, &[c0, c0].concat()),
        Error::StreamDuplicate,
    )?;
    g.err("stream_open", "chunks 0 and 1 swapped", reqs, open_in(&m, &[c1, c0].concat()), Error::StreamReordered)?;
    let mut foreign = body.clone();
    if let Some(b) = foreign.last_mut() {
        *b ^= 1;
    }
    g.err(
        "stream_open",
        "chunk 1's tag altered (its digest is not one the manifest lists)",
        &["STR-6", "STR-11"],
        open_in(&m, &foreign),
        Error::StreamForeign,
    )?;
    g.tag(&[Flag::ModifiedCiphertext])?;
    g.err(
        "stream_open",
        "a byte after the last chunk",
        reqs,
        open_in(&m, &[&body[..], &[0]].concat()),
        Error::DecodeTrailing,
    )?;
    // A swapped manifest: the same writer's manifest of another stream.
    let other = StreamParams { stream_id: [0x55; 16], ..p };
    let (m2, _) = stream::seal_parallel(&other, &StreamKeySource::from_bytes(source), &sk, &salt, &pt, 1).map_err(f)?;
    g.err(
        "stream_open",
        "manifest of another stream id (swapped manifest)",
        &["STR-8"],
        open_in(&m2, &body),
        Error::StreamContext,
    )?;
    g.tag(&[Flag::Substitution])?;
    let mut bad_sig = m.clone();
    if let Some(b) = bad_sig.last_mut() {
        *b ^= 1;
    }
    g.err(
        "stream_open",
        "manifest signature altered",
        &["STR-7", "STR-8"],
        open_in(&bad_sig, &body),
        Error::StreamSignature,
    )?;
    let other_vk = SigningKey::from_bytes(&other_seed).verifying_key().to_bytes();
    g.err(
        "stream_open",
        "verified with another writer's key",
        &["STR-7", "STR-8"],
        set(&open_in(&m, &body), "verifying_key", hex_value(&other_vk)),
        Error::StreamSignature,
    )?;
    g.tag(&[Flag::WrongKey])?;
    g.err(
        "stream_open",
        "reader with another key source",
        &["STR-3", "STR-8"],
        set(&open_in(&m, &body), "key_source", hex_value(&b32())),
        Error::StreamCommitment,
    )?;
    g.tag(&[Flag::WrongKey])?;
    // Altered ciphertext, tag kept: the frame's digest is not the listed one.
    let mut bad_chunk = body.clone();
    if let Some(b) = bad_chunk.get_mut(FRAME_LEN + 5) {
        *b ^= 1;
    }
    g.err(
        "stream_open",
        "chunk 1's ciphertext altered, its tag kept",
        &["STR-6", "STR-11"],
        open_in(&m, &bad_chunk),
        Error::StreamForeign,
    )?;
    g.tag(&[Flag::ModifiedCiphertext])?;
    // [STR-6] a key holder (a partner, another device of the owner) rewrites two blocks of chunk 0
    // so that its AES-GCM tag stays valid: the AEAD would accept it, the BLAKE3 digest does not.
    let ks = stream::key_schedule(&StreamKeySource::from_bytes(source), &salt, p.suite);
    let mut same_tag = body.clone();
    let mut delta = [0u8; 16];
    delta.copy_from_slice(b"forged screen!!!");
    if !stream::forge::gcm_same_tag(&ks.key, same_tag.get_mut(..CHUNK_LEN).ok_or("c0")?, 0, 1, delta) {
        return Err("forge".into());
    }
    g.err(
        "stream_open",
        "chunk 0 replaced by a key holder's second ciphertext with the same AES-GCM tag",
        &["STR-6", "STR-11"],
        open_in(&m, &same_tag),
        Error::StreamForeign,
    )?;
    g.tag(&[Flag::ModifiedCiphertext])?;
    // A writer that lists (and signs) the digest of a frame that does not authenticate.
    let mut bad_writer = Manifest::decode(&m).map_err(f)?;
    if let Some(d) = bad_writer.digests.get_mut(1) {
        *d = stream::frame_digest(bad_chunk.get(FRAME_LEN..).ok_or("c1")?);
    }
    g.err(
        "stream_open",
        "the writer signed the digest of chunk 1 with its ciphertext altered",
        &["STR-4", "STR-6", "STR-11"],
        open_in(&resign(&AccountId(account), &sk, &bad_writer), &bad_chunk),
        Error::StreamDecrypt,
    )?;
    // An empty final chunk: a writer that seals 64 KiB as two chunks, the second empty.
    let mut empty_last = Manifest::decode(&m).map_err(f)?;
    empty_last.last_len = 0;
    g.err(
        "stream_manifest_decode",
        "empty last chunk in a stream of two chunks",
        &["STR-1", "STR-8"],
        json!({"manifest": hex::encode(&resign(&AccountId(account), &sk, &empty_last))}),
        Error::StreamEmptyChunk,
    )?;
    let mdec = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut v = m.clone();
        edit(&mut v);
        json!({"manifest": hex::encode(&v)})
    };
    let dec_reqs = &["STR-2", "STR-8"];
    g.ok("stream_manifest_decode", "the two-chunk manifest", dec_reqs, mdec(&|_| {}))?;
    g.err("stream_manifest_decode", "version 2", dec_reqs, mdec(&|v| v[0] = 2), Error::EnvVersion)?;
    g.err("stream_manifest_decode", "suite 3", dec_reqs, mdec(&|v| v[1] = 3), Error::EnvSuite)?;
    let count_at = 2 + 16 + 32 + 32 + 32;
    g.err(
        "stream_manifest_decode",
        "chunk count 0",
        dec_reqs,
        mdec(&|v| v[count_at..count_at + 4].copy_from_slice(&0u32.to_be_bytes())),
        Error::StreamLength,
    )?;
    g.err(
        "stream_manifest_decode",
        "last chunk length 65537",
        dec_reqs,
        mdec(&|v| v[count_at + 4..count_at + 8].copy_from_slice(&65537u32.to_be_bytes())),
        Error::StreamLength,
    )?;
    g.tag(&[Flag::EdgeCase])?;
    g.err(
        "stream_manifest_decode",
        "chunk count 2^20 + 1",
        &["STR-8", "STR-9"],
        mdec(&|v| v[count_at..count_at + 4].copy_from_slice(&((1u32 << 20) + 1).to_be_bytes())),
        Error::StreamTooLarge,
    )?;
    g.tag(&[Flag::EdgeCase, Flag::ResourceLimit])?;
    g.err(
        "stream_manifest_decode",
        "chunk count 3 with two digests",
        dec_reqs,
        mdec(&|v| v[count_at..count_at + 4].copy_from_slice(&3u32.to_be_bytes())),
        Error::DecodeTruncated,
    )?;
    g.err(
        "stream_manifest_decode",
        "a byte after the signature",
        dec_reqs,
        mdec(&|v| v.push(0)),
        Error::DecodeTrailing,
    )?;

    // ---- multi-fault: the first failing line of [STR-8], then [STR-11], decides ----
    let put32 = |at: usize, n: u32| move |v: &mut Vec<u8>| v[at..at + 4].copy_from_slice(&n.to_be_bytes());
    let count = |n: u32| put32(count_at, n);
    let last = |n: u32| put32(count_at + 4, n);
    let cut = |n: usize| move |v: &mut Vec<u8>| v.truncate(n);
    let v2 = |v: &mut Vec<u8>| v[0] = 2;
    let s3 = |v: &mut Vec<u8>| v[1] = 3;
    let both = |a: &dyn Fn(&mut Vec<u8>), b: &dyn Fn(&mut Vec<u8>)| {
        mdec(&|v: &mut Vec<u8>| {
            a(v);
            b(v);
        })
    };
    let too_large = count((1 << 20) + 1);
    let mf = |what: &str, e: Error, alone: Value| fault(what, e, alone);
    let dec: Vec<(&str, Value, Vec<Fault>)> = vec![
        (
            "version 2 and suite 3",
            both(&v2, &s3),
            vec![mf("version 2", Error::EnvVersion, mdec(&v2)), mf("suite 3", Error::EnvSuite, mdec(&s3))],
        ),
        (
            "suite 3 in a manifest cut to 100 bytes",
            both(&s3, &cut(100)),
            vec![
                mf("suite 3", Error::EnvSuite, mdec(&s3)),
                mf("cut to 100 bytes (inside the fixed part)", Error::DecodeTruncated, mdec(&cut(100))),
            ],
        ),
        (
            "chunk count 0 in a manifest cut inside last_len (120 bytes)",
            both(&count(0), &cut(120)),
            vec![
                mf("cut to 120 bytes (inside last_len)", Error::DecodeTruncated, mdec(&cut(120))),
                mf("chunk count 0", Error::StreamLength, mdec(&count(0))),
            ],
        ),
        (
            "last chunk length 65537 and chunk count 2^20 + 1",
            both(&last(65537), &too_large),
            vec![
                mf("last chunk length 65537", Error::StreamLength, mdec(&last(65537))),
                mf("chunk count 2^20 + 1", Error::StreamTooLarge, mdec(&too_large)),
            ],
        ),
        (
            "chunk count 2^20 + 1 and an empty last chunk",
            both(&too_large, &last(0)),
            vec![
                mf("chunk count 2^20 + 1", Error::StreamTooLarge, mdec(&too_large)),
                mf("empty last chunk of two", Error::StreamEmptyChunk, mdec(&last(0))),
            ],
        ),
        (
            "chunk count 2^20 + 1 in a manifest cut to 200 bytes (inside the digests)",
            both(&too_large, &cut(200)),
            vec![
                mf("chunk count 2^20 + 1", Error::StreamTooLarge, mdec(&too_large)),
                mf("cut to 200 bytes (inside the digests)", Error::DecodeTruncated, mdec(&cut(200))),
            ],
        ),
        (
            "an empty last chunk in a manifest cut inside the digests",
            both(&last(0), &cut(150)),
            vec![
                mf("empty last chunk of two", Error::StreamEmptyChunk, mdec(&last(0))),
                mf("cut to 150 bytes (inside the digests)", Error::DecodeTruncated, mdec(&cut(150))),
            ],
        ),
        (
            "chunk count 3 with two digests, and a byte after the signature",
            both(&count(3), &|v: &mut Vec<u8>| v.push(0)),
            vec![
                mf("chunk count 3 with two digests", Error::DecodeTruncated, mdec(&count(3))),
                mf("a byte after the signature", Error::DecodeTrailing, mdec(&|v: &mut Vec<u8>| v.push(0))),
            ],
        ),
    ];
    for (what, input, faults) in dec {
        g.multi("stream_manifest_decode", what, &["STR-8", "ENC-7"], input, faults)?;
    }
    let with = |mut v: Vec<u8>, e: &dyn Fn(&mut Vec<u8>)| {
        e(&mut v);
        v
    };
    let flip_last = |v: &mut Vec<u8>| {
        if let Some(b) = v.last_mut() {
            *b ^= 1;
        }
    };
    let other_source = hex_value(&b32());
    let c0_alone = open_in(&m, c0);
    let open: Vec<(&str, Value, Vec<Fault>)> = vec![
        (
            "manifest of another stream with version 2",
            open_in(&with(m2.clone(), &v2), &body),
            vec![
                mf("manifest version 2", Error::EnvVersion, open_in(&with(m.clone(), &v2), &body)),
                mf("manifest of another stream id", Error::StreamContext, open_in(&m2, &body)),
            ],
        ),
        (
            "a byte after the manifest's signature, verified with another writer's key",
            set(&open_in(&with(m.clone(), &|v| v.push(0)), &body), "verifying_key", hex_value(&other_vk)),
            vec![
                mf(
                    "a byte after the manifest",
                    Error::DecodeTrailing,
                    open_in(&with(m.clone(), &|v| v.push(0)), &body),
                ),
                mf(
                    "another writer's key",
                    Error::StreamSignature,
                    set(&open_in(&m, &body), "verifying_key", hex_value(&other_vk)),
                ),
            ],
        ),
        (
            "manifest of another stream with its signature altered",
            open_in(&with(m2.clone(), &flip_last), &body),
            vec![
                mf("manifest of another stream id", Error::StreamContext, open_in(&m2, &body)),
                mf("manifest signature altered", Error::StreamSignature, open_in(&bad_sig, &body)),
            ],
        ),
        (
            "manifest signature altered, reader with another key source",
            set(&open_in(&bad_sig, &body), "key_source", other_source.clone()),
            vec![
                mf("manifest signature altered", Error::StreamSignature, open_in(&bad_sig, &body)),
                mf(
                    "another key source",
                    Error::StreamCommitment,
                    set(&open_in(&m, &body), "key_source", other_source.clone()),
                ),
            ],
        ),
        (
            "reader with another key source, last chunk missing",
            set(&c0_alone, "key_source", other_source.clone()),
            vec![
                mf(
                    "another key source",
                    Error::StreamCommitment,
                    set(&open_in(&m, &body), "key_source", other_source.clone()),
                ),
                mf("last chunk missing", Error::StreamTruncated, c0_alone.clone()),
            ],
        ),
        (
            "chunks 0 and 1 swapped, and a byte after the last chunk",
            open_in(&m, &[c1, c0, &[0]].concat()),
            vec![
                mf("chunks 0 and 1 swapped", Error::StreamReordered, open_in(&m, &[c1, c0].concat())),
                mf("a byte after the last chunk", Error::DecodeTrailing, open_in(&m, &[&body[..], &[0]].concat())),
            ],
        ),
        (
            "chunk 0 served again in place of chunk 1, then a trailing byte",
            open_in(&m, &[c0, c0, &[0]].concat()),
            vec![
                mf("chunk 0 in place of chunk 1", Error::StreamDuplicate, open_in(&m, &[c0, c0].concat())),
                mf("a byte after the last chunk", Error::DecodeTrailing, open_in(&m, &[&body[..], &[0]].concat())),
            ],
        ),
        (
            "chunk 0 forged with the same AES-GCM tag, and the last chunk missing",
            open_in(&m, same_tag.get(..FRAME_LEN).ok_or("c0")?),
            vec![
                mf("chunk 0 forged with the same tag", Error::StreamForeign, open_in(&m, &same_tag)),
                mf("last chunk missing", Error::StreamTruncated, c0_alone.clone()),
            ],
        ),
        (
            "the writer signed an altered chunk 1, followed by a trailing byte",
            open_in(&resign(&AccountId(account), &sk, &bad_writer), &[&bad_chunk[..], &[0]].concat()),
            vec![
                mf(
                    "the writer signed an altered chunk 1",
                    Error::StreamDecrypt,
                    open_in(&resign(&AccountId(account), &sk, &bad_writer), &bad_chunk),
                ),
                mf("a byte after the last chunk", Error::DecodeTrailing, open_in(&m, &[&body[..], &[0]].concat())),
            ],
        ),
    ];
    for (what, input, faults) in open {
        g.multi("stream_open", what, &["STR-8", "STR-11"], input, faults)?;
    }
    Ok(())
}
