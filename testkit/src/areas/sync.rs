//! `sync.json` (spec 11): request and response decoding, server scripts
//! (every server check), the writer-sequence rule of the device.

use serde_json::{Value, json};

use super::{Fault, Gen, fault, outcome};
use blindsync::chain::{approve_device, create_account};
use std::collections::BTreeMap;

use crate::Flag;
use crate::Outcome;
use crate::json::{Fail, JsonObject, hex_value, obj};
use blindsync::client::{ChainLink, SeqItem, revision_steps, stale_head, writer_chain_break, writer_sequence};
use blindsync::device::DeviceKeys;
use blindsync::envelope::payload::Schema;
use blindsync::envelope::{self, RecordId, RecordMeta, Suite};
use blindsync::error::Error;
use blindsync::keys::{AccountId, Bucket, CollectionKey};
use blindsync::primitives::{SeededRng, hmac_sha256, sha256};
use blindsync::server::wire::{Request, Response};
use blindsync::server::{
    MemoryStorage, Server, ServerConfig, decoy_kdf, decoy_message, login_message, login_nonce, login_nonce_message,
    next_event_hash,
};
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;

fn request_decode(input: &Value) -> Result<Outcome, Fail> {
    let bytes = JsonObject(input).hex("bytes")?;
    let r = Request::decode(&bytes)?;
    outcome(json!({}), obj([("name", Value::from(r.name())), ("reencoded", hex_value(&r.encode()))]))
}

fn response_decode(input: &Value) -> Result<Outcome, Fail> {
    let bytes = JsonObject(input).hex("bytes")?;
    let r = Response::decode(&bytes)?;
    outcome(json!({}), obj([("reencoded", hex_value(&r.encode()))]))
}

/// Runs requests through a fresh reference server; the last response's
/// error, if any, is the vector's error.
fn server_script(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let mut server = Server::new(MemoryStorage::default(), ServerConfig::new(i.hex_n("decoy_secret")?));
    let mut rng = SeededRng::from_label(i.str("rng_label")?);
    let mut out = Vec::new();
    let mut last = None;
    for step in i.arr("steps")? {
        let s = JsonObject(step);
        let resp = server.handle_bytes(&s.hex("request")?, s.u64("now_ms")?, &mut rng);
        last = Some(Response::decode(&resp)?);
        out.push(hex_value(&resp));
    }
    if let Some(Response::Error(e)) = last {
        return Err(Fail::Protocol(e));
    }
    outcome(json!({}), obj([("responses", Value::Array(out))]))
}

fn decoy(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let secret = i.hex_n("decoy_secret")?;
    let email = i.hex("email")?;
    let msg = decoy_message(&email);
    outcome(
        obj([("hmac_message", hex_value(&msg)), ("hmac", hex_value(&hmac_sha256(&secret, &msg)))]),
        obj([("kdf", hex_value(&decoy_kdf(&secret, &email).encode()))]),
    )
}

fn event_hash(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let id = i.hex_n("batch_id")?;
    let mut prev = [0u8; 32];
    let mut out = Vec::new();
    for e in i.arr("events")? {
        let ev: [u8; 32] = crate::hex::decode(e.as_str().unwrap_or_default())
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| Fail::harness("event"))?;
        let input =
            blindsync::encoding::Encoder::new(blindsync::labels::HCH_LINK).fixed(&id).fixed(&prev).fixed(&ev).finish();
        prev = next_event_hash(&id, &prev, &ev);
        out.push(obj([("hash_input", hex_value(&input)), ("hash", hex_value(&prev))]));
    }
    outcome(obj([("steps", Value::Array(out))]), obj([("event_hash", hex_value(&prev))]))
}

/// [SRV-14] `u64 expires_ms ‖ salt ‖ HMAC-SHA256(secret, enc(SERVER_LOGIN_NONCE, ...))[0..16]`.
fn login_nonce_vector(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let secret: [u8; 32] = i.hex_n("secret")?;
    let (account, key, expires, salt) = (i.hex_n("account")?, i.hex_n("key")?, i.u64("expires_ms")?, i.hex_n("salt")?);
    let msg = login_nonce_message(&account, &key, expires, &salt);
    outcome(
        obj([("hmac_message", hex_value(&msg)), ("hmac", hex_value(&hmac_sha256(&secret, &msg)))]),
        obj([("nonce", hex_value(&login_nonce(&secret, &account, &key, expires, &salt)))]),
    )
}

fn login_msg(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let m = login_message(&AccountId(i.hex_n("account")?), &i.hex_n("key")?, &i.hex_n("nonce")?);
    outcome(json!({}), obj([("message", hex_value(&m))]))
}

fn writer_seq(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let mut items = Vec::new();
    for it in i.arr("items")? {
        let o = JsonObject(it);
        let b = |k: &str| o.get(k)?.as_bool().ok_or_else(|| Fail::harness(format!("{k}: not a boolean")));
        items.push(SeqItem {
            seq: o.u64("seq")?,
            stub: b("stub")?,
            superseded: b("superseded")?,
            older: b("older")?,
            digest: o.hex_n("identity")?,
        });
    }
    let last = writer_sequence(i.u64("last")?, &items)?;
    outcome(json!({}), obj([("last", Value::from(last))]))
}

/// [SYNC-14] [SYNC-15]: `known` identities and listed `(seq, identity, prev)` of one writer.
fn writer_chain(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let mut known = BTreeMap::new();
    for k in i.arr("known")? {
        let o = JsonObject(k);
        known.insert(o.u64("seq")?, o.hex_n::<32>("identity")?);
    }
    let mut listed = BTreeMap::new();
    for it in i.arr("items")? {
        let o = JsonObject(it);
        let link = ChainLink { identity: o.hex_n("identity")?, prev: o.hex_n("prev")? };
        if listed.insert(o.u64("seq")?, link).is_some_and(|l| l != link) {
            return Err(Fail::Protocol(Error::SyncEquivocation));
        }
    }
    if writer_chain_break(i.u64("last")?, |s| known.get(&s).copied(), &listed, true).is_some() {
        return Err(Fail::Protocol(Error::SyncEquivocation));
    }
    outcome(json!({}), json!({}))
}

/// [SYNC-16]: one record's revisions in listing order after `accepted`.
fn revision_step(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let revisions: Vec<u64> = i
        .arr("revisions")?
        .iter()
        .map(|v| v.as_u64().ok_or_else(|| Fail::harness("revision is not a u64")))
        .collect::<Result<_, _>>()?;
    let greatest = revision_steps(i.u64("accepted")?, &revisions)?;
    outcome(json!({}), obj([("greatest", Value::from(greatest))]))
}

/// [SYNC-17]: one item against the revocations a device holds.
fn stale(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let mut revocations = BTreeMap::new();
    for r in i.arr("revocations")? {
        let o = JsonObject(r);
        revocations.insert(o.u64("at")?, o.u64("boundary")?);
    }
    let revoked = i.get("writer_revoked")?.as_bool().ok_or_else(|| Fail::harness("writer_revoked"))?;
    if !revoked && stale_head(&revocations, i.u64("item_seq")?, i.u64("head_position")?) {
        return Err(Fail::Protocol(Error::SyncStaleHead));
    }
    outcome(json!({}), json!({}))
}

/// [SYNC-7] a listing page's server sequence numbers against the cursor it was asked from.
fn listing_order(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let seqs: Vec<u64> =
        i.arr("seqs")?.iter().map(|v| v.as_u64().ok_or_else(|| Fail::harness("seq"))).collect::<Result<_, _>>()?;
    blindsync::client::listing_in_order(i.u64("cursor")?, &seqs)?;
    outcome(json!({}), json!({}))
}

pub(super) fn run(kind: &str, input: &Value) -> Option<Result<Outcome, Fail>> {
    Some(match kind {
        "sync_listing_order" => listing_order(input),
        "sync_request_decode" => request_decode(input),
        "sync_response_decode" => response_decode(input),
        "sync_server_script" => server_script(input),
        "sync_decoy_kdf" => decoy(input),
        "sync_event_hash" => event_hash(input),
        "sync_login_message" => login_msg(input),
        "sync_login_nonce" => login_nonce_vector(input),
        "sync_writer_sequence" => writer_seq(input),
        "sync_writer_chain" => writer_chain(input),
        "sync_revision_step" => revision_step(input),
        "sync_stale_head" => stale(input),
        _ => return None,
    })
}

fn steps(reqs: &[(u64, &Request)]) -> Value {
    Value::Array(
        reqs.iter().map(|(t, r)| obj([("now_ms", Value::from(*t)), ("request", hex_value(&r.encode()))])).collect(),
    )
}

fn script(label: &str, secret: &[u8; 32], reqs: &[(u64, &Request)]) -> Value {
    obj([("decoy_secret", hex_value(secret)), ("rng_label", Value::from(label)), ("steps", steps(reqs))])
}

pub(super) fn generate(g: &mut Gen) -> Result<(), String> {
    let mut rng = SeededRng::from_label("blindsync/vectors/v1/sync");
    let secret = [0x42u8; 32];
    let dev = DeviceKeys::generate(&mut rng);
    let code = RecoveryCode::generate(&mut rng);
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut rng) };
    let pw = kdf.derive(b"vector password").map_err(|e| e.to_string())?;
    let acct = create_account(&dev, &code.derive(), &pw, &kdf, &mut rng).map_err(|e| e.to_string())?;
    let account = acct.state.account();
    let email = b"vector@example.org".to_vec();
    let register = Request::Register {
        email: email.clone(),
        kdf: kdf.encode(),
        auth: *pw.auth.expose(),
        genesis: acct.genesis.clone(),
        recovery_wrap: acct.recovery_wrap.to_vec(),
        password_wrap: acct.password_wrap.to_vec(),
    };
    let get_kdf = Request::GetKdf { email: email.clone() };

    // --- decoding ---
    let samples = [
        Request::GetKdf { email: email.clone() },
        Request::ListSince { token: [3; 32], cursor: 7, limit: 100 },
        Request::AppendChain { token: [3; 32], statements: vec![vec![1, 2], vec![]] },
        Request::PutBatch { token: [3; 32], batch_id: [4; 32], blob: vec![5; 3], slots: vec![vec![6; 2]] },
    ];
    for r in &samples {
        g.ok(
            "sync_request_decode",
            &format!("request {}", r.name()),
            &["SYNC-1", "SYNC-2", "SYNC-3"],
            obj([("bytes", hex_value(&r.encode()))]),
        )?;
    }
    let mut bad = Request::GetKdf { email: email.clone() }.encode();
    let tag_at = 4 + blindsync::labels::SYNC_REQUEST.len();
    bad[tag_at] = 99;
    g.err(
        "sync_request_decode",
        "unknown request tag",
        &["SYNC-2"],
        obj([("bytes", hex_value(&bad))]),
        Error::DecodeValue,
    )?;
    let responses = [
        Response::Error(Error::SrvAuth),
        Response::Items {
            items: vec![blindsync::server::wire::Item {
                seq: 1,
                kind: blindsync::server::wire::ItemKind::Stub,
                bytes: vec![7; 4],
            }],
        },
        Response::Token { token: [8; 32], expires_ms: 3_600_000 },
    ];
    for r in &responses {
        g.ok("sync_response_decode", "response", &["SYNC-1", "SYNC-3"], obj([("bytes", hex_value(&r.encode()))]))?;
    }

    // --- derivations ---
    g.ok(
        "sync_decoy_kdf",
        "decoy salt of an unknown email",
        &["SRV-3"],
        obj([("decoy_secret", hex_value(&secret)), ("email", hex_value(b"nobody@example.org"))]),
    )?;
    g.ok(
        "sync_event_hash",
        "running verification hash over three events",
        &["SRV-9"],
        obj([
            ("batch_id", hex_value(&[9; 32])),
            ("events", json!([hex_value(&[1; 32]), hex_value(&[2; 32]), hex_value(&[3; 32])])),
        ]),
    )?;
    g.ok(
        "sync_login_message",
        "challenge login signed message",
        &["SYNC-4"],
        obj([
            ("account", hex_value(&account.0)),
            ("key", hex_value(&dev.public().ed25519)),
            ("nonce", hex_value(&[5; 32])),
        ]),
    )?;

    // --- server scripts ---
    let label = "blindsync/vectors/v1/sync/server";
    g.ok(
        "sync_server_script",
        "register, then the real salt and parameters",
        &["SRV-1", "SRV-2"],
        script(label, &secret, &[(1, &register), (2, &get_kdf)]),
    )?;
    g.err(
        "sync_server_script",
        "register the same email twice",
        &["SRV-2"],
        script(label, &secret, &[(1, &register), (2, &register)]),
        Error::SrvExists,
    )?;
    let wrong = Request::LoginPassword { email: email.clone(), auth: [0; 32] };
    let login_pw = Request::LoginPassword { email: email.clone(), auth: *pw.auth.expose() };
    g.err(
        "sync_server_script",
        "password login with a wrong auth value",
        &["SRV-4"],
        script(label, &secret, &[(1, &register), (2, &wrong)]),
        Error::SrvAuth,
    )?;

    // --- resource bounds of unauthenticated requests ([SRV-13], [SRV-14], [SRV-15]) ---
    let mut steps: Vec<(u64, &Request)> = vec![(1, &register)];
    steps.extend((0..10u64).map(|k| (2 + k, &wrong)));
    g.err(
        "sync_server_script",
        "an eleventh password login after ten failures in 15 minutes (even the right one)",
        &["SRV-15"],
        script(label, &secret, &[&steps[..], &[(20, &login_pw)]].concat()),
        Error::SrvRateLimit,
    )?;
    steps.push((2 + 900_000, &login_pw));
    g.ok(
        "sync_server_script",
        "the window has passed: the right password logs in",
        &["SRV-15"],
        script(label, &secret, &steps),
    )?;
    // [SRV-14] stateless nonces: nothing a stranger sends delays a signature login.
    let key = dev.public().ed25519;
    // The challenge and signed login that follow `prefix` (simulated to learn the nonce).
    let login_after = |prefix: &[(u64, &Request)], at: u64| -> Result<(Request, Request), String> {
        let mut sim = Server::new(MemoryStorage::default(), ServerConfig::new(secret));
        let mut srng = SeededRng::from_label(label);
        for (t, r) in prefix {
            sim.handle((*r).clone(), *t, &mut srng);
        }
        let challenge = Request::Challenge { account: account.0, key };
        let Response::Nonce { nonce } = sim.handle(challenge.clone(), at, &mut srng) else {
            return Err("nonce".into());
        };
        let signature = dev.sign(&login_message(&account, &key, &nonce));
        Ok((challenge, Request::LoginKey { account: account.0, key, nonce, signature }))
    };
    let challenge_any = Request::Challenge { account: account.0, key: [0x11; 32] };
    let mut steps: Vec<(u64, &Request)> = vec![(1, &register)];
    steps.extend((0..64u64).map(|k| (2 + k, &challenge_any)));
    let (c1, l1) = login_after(&steps, 100)?;
    g.ok(
        "sync_server_script",
        "64 challenges from a stranger, then the device's challenge login",
        &["SRV-14", "SYNC-4"],
        script(label, &secret, &[&steps[..], &[(100, &c1), (101, &l1)]].concat()),
    )?;
    let mut steps: Vec<(u64, &Request)> = vec![(1, &register)];
    steps.extend((0..10u64).map(|k| (2 + k, &wrong)));
    let (c2, l2) = login_after(&steps, 100)?;
    g.ok(
        "sync_server_script",
        "ten failed password logins do not delay a challenge login",
        &["SRV-14", "SRV-15"],
        script(label, &secret, &[&steps[..], &[(100, &c2), (101, &l2)]].concat()),
    )?;
    let base: Vec<(u64, &Request)> = vec![(1, &register)];
    let (c3, l3) = login_after(&base, 2)?;
    g.err(
        "sync_server_script",
        "a challenge login replayed within the nonce's lifetime",
        &["SRV-14", "SRV-4"],
        script(label, &secret, &[(1, &register), (2, &c3), (3, &l3), (4, &l3)]),
        Error::SrvAuth,
    )?;
    g.tag(&[Flag::Replay])?;
    g.err(
        "sync_server_script",
        "a challenge login at the nonce's expiry",
        &["SRV-14", "SRV-4"],
        script(label, &secret, &[(1, &register), (2, &c3), (2 + 60_000, &l3)]),
        Error::SrvAuth,
    )?;
    g.tag(&[Flag::EdgeCase])?;
    // The same nonce with its expiry moved one minute on (and signed by the device): the tag fails.
    let moved = match &l3 {
        Request::LoginKey { nonce, .. } => {
            let mut n = *nonce;
            n[..8].copy_from_slice(&(2 + 2 * 60_000u64).to_be_bytes());
            Request::LoginKey {
                account: account.0,
                key,
                nonce: n,
                signature: dev.sign(&login_message(&account, &key, &n)),
            }
        }
        _ => return Err("login".into()),
    };
    g.err(
        "sync_server_script",
        "a nonce whose expiry was moved later",
        &["SRV-14", "SRV-4"],
        script(label, &secret, &[(1, &register), (2, &c3), (60_010, &moved)]),
        Error::SrvAuth,
    )?;
    g.tag(&[Flag::ModifiedData])?;
    g.ok(
        "sync_login_nonce",
        "a stateless login nonce",
        &["SRV-14"],
        obj([
            ("secret", hex_value(&secret)),
            ("account", hex_value(&account.0)),
            ("key", hex_value(&key)),
            ("expires_ms", Value::from(60_002u64)),
            ("salt", hex_value(&[0x5a; 8])),
        ]),
    )?;
    let mut prng = SeededRng::from_label("blindsync/vectors/v1/sync/pending");
    let posts: Vec<Request> = (0..17)
        .map(|_| {
            let d = DeviceKeys::generate(&mut prng);
            let p = d.public();
            let pop = blindsync::chain::device_possession(&d, &account);
            Request::PostPending { account: account.0, ed25519: p.ed25519, x25519: p.x25519, pop }
        })
        .collect();
    let mut steps: Vec<(u64, &Request)> = vec![(1, &register)];
    steps.extend(posts.iter().enumerate().map(|(k, r)| (2 + k as u64, r)));
    g.err(
        "sync_server_script",
        "a seventeenth pending device",
        &["SRV-8", "SRV-13"],
        script(label, &secret, &steps),
        Error::SrvPendingFull,
    )?;
    steps.pop();
    if let Some(last) = posts.last() {
        steps.push((2 + 3_600_000, last));
    }
    g.ok("sync_server_script", "an hour later the slots are free again", &["SRV-13"], script(label, &secret, &steps))?;

    // challenge login: simulate the server to learn the nonce and the token
    let mut sim = Server::new(MemoryStorage::default(), ServerConfig::new(secret));
    let mut srng = SeededRng::from_label(label);
    sim.handle(register.clone(), 1, &mut srng);
    let key = dev.public().ed25519;
    let challenge = Request::Challenge { account: account.0, key };
    let Response::Nonce { nonce } = sim.handle(challenge.clone(), 2, &mut srng) else { return Err("nonce".into()) };
    let login = Request::LoginKey {
        account: account.0,
        key,
        nonce,
        signature: dev.sign(&login_message(&account, &key, &nonce)),
    };
    let Response::Token { token, .. } = sim.handle(login.clone(), 3, &mut srng) else { return Err("token".into()) };
    let base: Vec<(u64, &Request)> = vec![(1, &register), (2, &challenge), (3, &login)];
    let with = |extra: &[(u64, &Request)]| {
        let mut v = base.clone();
        v.extend_from_slice(extra);
        script(label, &secret, &v)
    };
    g.ok("sync_server_script", "challenge-response login", &["SYNC-4", "SRV-4"], with(&[]))?;

    // chain: an append that does not extend the head
    let other = DeviceKeys::generate(&mut rng);
    let approval = approve_device(&acct.state, &dev, &other.pending(&acct.state.account()), &acct.umks(), &mut rng)
        .map_err(|e| e.to_string())?;
    let append = Request::AppendChain { token, statements: vec![approval.statement.clone()] };
    g.ok("sync_server_script", "append add-device at the head", &["SRV-5"], with(&[(4, &append)]))?;
    g.err(
        "sync_server_script",
        "append the same position twice",
        &["SRV-5"],
        with(&[(4, &append), (5, &append)]),
        Error::SrvChainHead,
    )?;

    // records
    let ck = CollectionKey::from_bytes([1; 32]);
    let sk = ed25519_dalek::SigningKey::from_bytes(dev.signing_seed().expose());
    let mut meta = RecordMeta {
        suite: Suite::Aes256Gcm,
        bucket: Bucket([2; 32]),
        record_id: RecordId([3; 16]),
        revision: 1,
        writer: dev.id(),
        writer_seq: 1,
        epoch: 0,
        schema: Schema::Raw,
        chain_head: acct.state.head().hash,
        prev: [0; 32],
    };
    let env1 = envelope::seal(&account, &meta, &ck, &sk, b"v1", &mut rng).map_err(|e| e.to_string())?;
    let put1 = Request::PutRecord { token, envelope: env1 };
    let list = Request::ListSince { token, cursor: 0, limit: 10 };
    meta.revision = 2;
    meta.writer_seq = 2;
    // [SYNC-15] the second write commits to the first
    meta.prev = {
        let e = blindsync::envelope::EnvelopeRef::decode(match &put1 {
            Request::PutRecord { envelope, .. } => envelope,
            _ => return Err("put".into()),
        })
        .map_err(|e| e.to_string())?;
        sha256(&[&e.header.encode(), &e.stub().body_digest])
    };
    let env2 = envelope::seal(&account, &meta, &ck, &sk, b"v2", &mut rng).map_err(|e| e.to_string())?;
    let put2 = Request::PutRecord { token, envelope: env2 };
    g.ok(
        "sync_server_script",
        "two revisions; the first becomes a stub",
        &["SRV-6", "SRV-7"],
        with(&[(4, &put1), (5, &put2), (6, &list)]),
    )?;
    g.ok(
        "sync_server_script",
        "a write below the current (revision, writer) is stored as its stub",
        &["SRV-6"],
        with(&[(4, &put2), (5, &put1), (6, &list)]),
    )?;
    g.ok(
        "sync_server_script",
        "resubmitting the current envelope's exact bytes returns its sequence number",
        &["SRV-6", "SYNC-6"],
        with(&[(4, &put1), (5, &put1)]),
    )?;
    let env2b = envelope::seal(&account, &meta, &ck, &sk, b"v2 again", &mut rng).map_err(|e| e.to_string())?;
    let put2b = Request::PutRecord { token, envelope: env2b };
    g.err(
        "sync_server_script",
        "a different envelope with the current (revision, writer)",
        &["SRV-6"],
        with(&[(4, &put2), (5, &put2b)]),
        Error::SrvRevision,
    )?;
    meta.writer = other.id();
    let foreign = envelope::seal(&account, &meta, &ck, &sk, b"v", &mut rng).map_err(|e| e.to_string())?;
    let put_foreign = Request::PutRecord { token, envelope: foreign };
    g.err(
        "sync_server_script",
        "an envelope whose writer is another device",
        &["SRV-6"],
        with(&[(4, &put_foreign)]),
        Error::SrvWriter,
    )?;

    // batches
    let put_batch =
        Request::PutBatch { token, batch_id: [9; 32], blob: b"signed batch".to_vec(), slots: vec![vec![1; 64]] };
    let report = Request::ReportEvent { token, batch_id: [9; 32], event_hash: [1; 32], signature: [2; 64] };
    let get_batch = Request::GetBatch { token, batch_id: [9; 32] };
    g.ok(
        "sync_server_script",
        "batch, one event, fetch",
        &["SRV-9"],
        with(&[(4, &put_batch), (5, &report), (6, &get_batch)]),
    )?;
    g.err("sync_server_script", "unknown batch", &["SRV-9"], with(&[(4, &get_batch)]), Error::SrvNotFound)?;
    let audit = Request::GetAudit { token };
    g.ok(
        "sync_server_script",
        "audit log after a record put",
        &["SRV-10", "SRV-11", "SRV-12"],
        with(&[(4, &put1), (5, &audit)]),
    )?;

    // --- the device's writer-sequence rule ---
    // items: (seq, stub, superseded, older, header digest); the digest is that of
    // a distinct header per sequence number unless a test reuses one on purpose
    let d = |n: u64| sha256(&[&n.to_be_bytes()]);
    let seqv = |last: u64, items: &[(u64, bool, bool, bool, [u8; 32])]| {
        let items: Vec<Value> = items
            .iter()
            .map(|(s, st, sup, old, dg)| {
                json!({"seq": s, "stub": st, "superseded": sup, "older": old, "identity": hex_value(dg)})
            })
            .collect();
        obj([("last", Value::from(last)), ("items", Value::Array(items))])
    };
    g.ok(
        "sync_writer_sequence",
        "consecutive, with a superseded stub and a replay",
        &["SYNC-9", "SYNC-10"],
        seqv(2, &[(2, false, false, false, d(2)), (3, true, true, false, d(3)), (4, false, false, false, d(4))]),
    )?;
    g.ok(
        "sync_writer_sequence",
        "one envelope listed twice (its stub and a resubmission) is not an equivocation",
        &["SYNC-6", "SYNC-14"],
        seqv(0, &[(1, true, true, false, d(1)), (1, true, true, false, d(1)), (2, false, false, false, d(2))]),
    )?;
    g.err(
        "sync_writer_sequence",
        "a gap",
        &["SYNC-9"],
        seqv(2, &[(4, false, false, false, d(4))]),
        Error::SyncWithheld,
    )?;
    g.err(
        "sync_writer_sequence",
        "an older envelope served again as current",
        &["SYNC-10"],
        seqv(5, &[(3, false, false, true, d(3))]),
        Error::SyncRollback,
    )?;
    g.err(
        "sync_writer_sequence",
        "two different envelopes with one sequence number",
        &["SYNC-14"],
        seqv(0, &[(1, false, false, false, d(1)), (1, false, false, false, d(100))]),
        Error::SyncEquivocation,
    )?;

    // --- the writer's hash chain [SYNC-15] and remembered identities [SYNC-14] ---
    // items: (seq, identity, prev); honest: identity i(n), prev i(n - 1), prev of 1 is zero
    let id = |n: u64| sha256(&[b"identity", &n.to_be_bytes()]);
    let alt = |n: u64| sha256(&[b"alternative", &n.to_be_bytes()]);
    let zero = [0u8; 32];
    let chainv = |last: u64, known: &[(u64, [u8; 32])], items: &[(u64, [u8; 32], [u8; 32])]| {
        let known: Vec<Value> = known.iter().map(|(s, i)| json!({"seq": s, "identity": hex_value(i)})).collect();
        let items: Vec<Value> =
            items.iter().map(|(s, i, p)| json!({"seq": s, "identity": hex_value(i), "prev": hex_value(p)})).collect();
        obj([("last", Value::from(last)), ("known", Value::Array(known)), ("items", Value::Array(items))])
    };
    let cr = ["SYNC-14", "SYNC-15"];
    g.ok(
        "sync_writer_chain",
        "a new device lists 1..3: each prev is the identity before it",
        &cr,
        chainv(0, &[], &[(1, id(1), zero), (2, id(2), id(1)), (3, id(3), id(2))]),
    )?;
    g.ok(
        "sync_writer_chain",
        "the predecessor was taken in an earlier sync",
        &cr,
        chainv(2, &[(1, id(1)), (2, id(2))], &[(3, id(3), id(2))]),
    )?;
    g.ok(
        "sync_writer_chain",
        "predecessor not held (below the cursor, never taken): no check",
        &cr,
        chainv(0, &[], &[(5, id(5), alt(4))]),
    )?;
    g.ok(
        "sync_writer_chain",
        "revoked writer: the chain verifies back from the pinned last_envelope at max_seq 3",
        &["SYNC-15", "CHAIN-20"],
        chainv(0, &[(3, id(3))], &[(1, id(1), zero), (2, id(2), id(1)), (3, id(3), id(2))]),
    )?;
    g.err(
        "sync_writer_chain",
        "revoked writer: a re-signed alternative at 2, below the pinned bound 3",
        &["SYNC-15", "CHAIN-20"],
        chainv(0, &[(3, id(3))], &[(1, id(1), zero), (2, alt(2), id(1)), (3, id(3), id(2))]),
        Error::SyncEquivocation,
    )?;
    g.err(
        "sync_writer_chain",
        "the successor commits to another predecessor than the listed one",
        &cr,
        chainv(0, &[], &[(1, id(1), zero), (2, id(2), alt(1))]),
        Error::SyncEquivocation,
    )?;
    g.err(
        "sync_writer_chain",
        "across two syncs: the next item commits to another predecessor than the one taken",
        &cr,
        chainv(2, &[(1, id(1)), (2, id(2))], &[(3, id(3), alt(2))]),
        Error::SyncEquivocation,
    )?;
    g.err(
        "sync_writer_chain",
        "across two syncs: another envelope for a pair taken before",
        &["SYNC-14"],
        chainv(2, &[(1, id(1)), (2, id(2))], &[(2, alt(2), id(1))]),
        Error::SyncEquivocation,
    )?;
    g.err(
        "sync_writer_chain",
        "writer sequence number 1 with a non-zero prev",
        &["SYNC-15"],
        chainv(0, &[], &[(1, id(1), alt(0))]),
        Error::SyncEquivocation,
    )?;

    // --- revision steps [SYNC-16] ---
    let stepv = |accepted: u64, revisions: &[u64]| {
        obj([
            ("accepted", Value::from(accepted)),
            ("revisions", Value::Array(revisions.iter().map(|r| Value::from(*r)).collect())),
        ])
    };
    g.ok("sync_revision_step", "honest: one above the accepted revision", &["SYNC-16"], stepv(7, &[8, 9]))?;
    g.ok("sync_revision_step", "a new record at exactly 2^16", &["SYNC-16"], stepv(0, &[65536]))?;
    g.err("sync_revision_step", "a new record at 2^16 + 1", &["SYNC-16"], stepv(0, &[65537]), Error::SyncRevisionStep)?;
    g.tag(&[Flag::EdgeCase])?;
    g.ok(
        "sync_revision_step",
        "steps build on earlier items of the listing",
        &["SYNC-16"],
        stepv(1, &[65537, 131073]),
    )?;
    g.err(
        "sync_revision_step",
        "revision overflow: u64::MAX on a record at revision 3",
        &["SYNC-16"],
        stepv(3, &[u64::MAX]),
        Error::SyncRevisionStep,
    )?;
    g.tag(&[Flag::IntegerOverflow])?;
    g.ok("sync_revision_step", "the bound saturates at u64::MAX", &["SYNC-16"], stepv(u64::MAX - 5, &[u64::MAX]))?;

    // --- stale heads after a revocation [SYNC-17] ---
    let stalev = |revs: &[(u64, u64)], item_seq: u64, head: u64, revoked: bool| {
        let r: Vec<Value> = revs.iter().map(|(a, b)| json!({"at": a, "boundary": b})).collect();
        obj([
            ("revocations", Value::Array(r)),
            ("item_seq", Value::from(item_seq)),
            ("head_position", Value::from(head)),
            ("writer_revoked", Value::from(revoked)),
        ])
    };
    g.ok(
        "sync_stale_head",
        "listed after the boundary, cites the revocation's own head",
        &["SYNC-17"],
        stalev(&[(4, 10)], 11, 4, false),
    )?;
    g.ok(
        "sync_stale_head",
        "cites an older head, listed in the sync that first held the revocation",
        &["SYNC-17"],
        stalev(&[(4, 10)], 10, 3, false),
    )?;
    g.ok(
        "sync_stale_head",
        "the revoked writer's own item below its bound",
        &["SYNC-17"],
        stalev(&[(4, 10)], 11, 3, true),
    )?;
    let lo = |cursor: u64, seqs: &[u64]| obj([("cursor", json!(cursor)), ("seqs", json!(seqs))]);
    g.ok("sync_listing_order", "a page strictly ascending above the cursor", &["SYNC-7"], lo(10, &[11, 12, 15]))?;
    g.ok("sync_listing_order", "an empty page", &["SYNC-7"], lo(10, &[]))?;
    g.err(
        "sync_listing_order",
        "a stale write relabelled at or below the cursor, then a replay under the next number",
        &["SYNC-7", "SYNC-17"],
        lo(10, &[1, 12]),
        Error::SyncOrder,
    )?;
    g.tag(&[Flag::Replay])?;
    g.err("sync_listing_order", "two items under one number", &["SYNC-7"], lo(10, &[11, 11]), Error::SyncOrder)?;
    g.err("sync_listing_order", "descending numbers", &["SYNC-7"], lo(10, &[13, 12]), Error::SyncOrder)?;
    g.err(
        "sync_stale_head",
        "listed after the boundary, cites the head before the revocation",
        &["SYNC-17"],
        stalev(&[(4, 10)], 11, 3, false),
        Error::SyncStaleHead,
    )?;

    // ---- multi-fault: decoding in wire order ([SYNC-2], 2.6), Register's order ([SRV-19]),
    // the writer-sequence procedure ([SYNC-21]) ----
    let mf = |what: &str, e: Error, alone: Value| fault(what, e, alone);
    let by = |b: &[u8]| obj([("bytes", hex_value(b))]);
    let plus = |b: &[u8]| [b, &[0u8][..]].concat();
    let good = Request::GetKdf { email: email.clone() }.encode();
    let relabel = |b: &[u8]| {
        let mut v = b.to_vec();
        v[4] ^= 0x01;
        v
    };
    let get_kdf_tag = good[tag_at];
    let email255 =
        blindsync::encoding::Encoder::new(blindsync::labels::SYNC_REQUEST).u8(get_kdf_tag).bytes(&[b'a'; 255]).finish();
    let req_cases: Vec<(&str, Value, Vec<Fault>)> = vec![
        (
            "another label and an unknown request tag",
            by(&relabel(&bad)),
            vec![
                mf("another label", Error::DecodeLabel, by(&relabel(&good))),
                mf("tag 99", Error::DecodeValue, by(&bad)),
            ],
        ),
        (
            "an unknown request tag and a trailing byte",
            by(&plus(&bad)),
            vec![
                mf("tag 99", Error::DecodeValue, by(&bad)),
                mf("a trailing byte", Error::DecodeTrailing, by(&plus(&good))),
            ],
        ),
        (
            "an email of 255 bytes (over 254), cut inside the email",
            by(&email255[..email255.len() - 10]),
            vec![
                mf("email of 255 bytes", Error::DecodeLength, by(&email255)),
                mf("cut inside the email", Error::DecodeTruncated, by(&good[..good.len() - 3])),
            ],
        ),
        (
            "an email of 255 bytes (over 254), and a trailing byte",
            by(&plus(&email255)),
            vec![
                mf("email of 255 bytes", Error::DecodeLength, by(&email255)),
                mf("a trailing byte", Error::DecodeTrailing, by(&plus(&good))),
            ],
        ),
    ];
    for (what, input, faults) in req_cases {
        g.multi("sync_request_decode", what, &["SYNC-1", "SYNC-2"], input, faults)?;
    }
    let resp = Response::Token { token: [8; 32], expires_ms: 3_600_000 }.encode();
    let mut resp_tag = resp.clone();
    resp_tag[4 + blindsync::labels::SYNC_RESPONSE.len()] = 99;
    let resp_cases: Vec<(&str, Value, Vec<Fault>)> = vec![
        (
            "another label and an unknown response tag",
            by(&relabel(&resp_tag)),
            vec![
                mf("another label", Error::DecodeLabel, by(&relabel(&resp))),
                mf("tag 99", Error::DecodeValue, by(&resp_tag)),
            ],
        ),
        (
            "an unknown response tag and a trailing byte",
            by(&plus(&resp_tag)),
            vec![
                mf("tag 99", Error::DecodeValue, by(&resp_tag)),
                mf("a trailing byte", Error::DecodeTrailing, by(&plus(&resp))),
            ],
        ),
        (
            "a Token response cut by one byte, and another label",
            by(&relabel(&resp[..resp.len() - 1])),
            vec![
                mf("another label", Error::DecodeLabel, by(&relabel(&resp))),
                mf("cut by one byte", Error::DecodeTruncated, by(&resp[..resp.len() - 1])),
            ],
        ),
    ];
    for (what, input, faults) in resp_cases {
        g.multi("sync_response_decode", what, &["SYNC-1", "SYNC-2"], input, faults)?;
    }

    let reg = |kdf: Vec<u8>, genesis: Vec<u8>| Request::Register {
        email: email.clone(),
        kdf,
        auth: *pw.auth.expose(),
        genesis,
        recovery_wrap: acct.recovery_wrap.to_vec(),
        password_wrap: acct.password_wrap.to_vec(),
    };
    let weak = PasswordKdf { salt: kdf.salt, params: KdfParams { m_kib: 8192, ..kdf.params } }.encode();
    let other_salt = PasswordKdf { salt: [0x5a; 16], params: kdf.params }.encode();
    let mut bad_genesis = acct.genesis.clone();
    if let Some(x) = bad_genesis.last_mut() {
        *x ^= 0x01;
    }
    let good_kdf = kdf.encode();
    let r_weak_cut = reg(weak[..31].to_vec(), acct.genesis.clone());
    let r_cut = reg(good_kdf[..31].to_vec(), acct.genesis.clone());
    let r_weak = reg(weak.clone(), acct.genesis.clone());
    let r_weak_bad = reg(weak.clone(), bad_genesis.clone());
    let r_bad = reg(good_kdf.clone(), bad_genesis.clone());
    let r_bad_other = reg(other_salt.clone(), bad_genesis.clone());
    let r_other = reg(other_salt.clone(), acct.genesis.clone());
    let one = |r: &Request| script(label, &secret, &[(1, r)]);
    let after = |r: &Request| script(label, &secret, &[(1, &register), (2, r)]);
    let reg_cases: Vec<(&str, Value, Vec<Fault>)> = vec![
        (
            "Register with a 31-byte KDF encoding whose m is 8 MiB",
            one(&r_weak_cut),
            vec![
                mf("31-byte kdf", Error::DecodeTruncated, one(&r_cut)),
                mf("m = 8 MiB", Error::KdfParamsTooWeak, one(&r_weak)),
            ],
        ),
        (
            "Register with m = 8 MiB and a genesis whose signature is flipped",
            one(&r_weak_bad),
            vec![
                mf("m = 8 MiB", Error::KdfParamsTooWeak, one(&r_weak)),
                mf("flipped genesis signature", Error::ChainSignature, one(&r_bad)),
            ],
        ),
        (
            "Register with a flipped genesis signature and a KDF the genesis does not pin",
            one(&r_bad_other),
            vec![
                mf("flipped genesis signature", Error::ChainSignature, one(&r_bad)),
                mf("another salt than the pinned one", Error::KdfNotPinned, one(&r_other)),
            ],
        ),
        (
            "a second Register of the same email and account with a KDF the genesis does not pin",
            after(&r_other),
            vec![
                mf("another salt than the pinned one", Error::KdfNotPinned, one(&r_other)),
                mf("email and account already registered", Error::SrvExists, after(&register)),
            ],
        ),
        (
            "a second Register of the same email and account with a flipped genesis signature",
            after(&r_bad),
            vec![
                mf("flipped genesis signature", Error::ChainSignature, one(&r_bad)),
                mf("email and account already registered", Error::SrvExists, after(&register)),
            ],
        ),
    ];
    for (what, input, faults) in reg_cases {
        g.multi("sync_server_script", what, &["SRV-19", "SRV-2"], input, faults)?;
    }

    let ws_cases: Vec<(&str, Value, Vec<Fault>)> = vec![
        (
            "a gap at 4, and two different envelopes at 6",
            seqv(2, &[(4, false, false, false, d(4)), (6, false, false, false, d(6)), (6, false, false, false, d(7))]),
            vec![
                mf(
                    "two envelopes at 6",
                    Error::SyncEquivocation,
                    seqv(5, &[(6, false, false, false, d(6)), (6, false, false, false, d(7))]),
                ),
                mf("a gap at 4 (last 2)", Error::SyncWithheld, seqv(2, &[(4, false, false, false, d(4))])),
            ],
        ),
        (
            "a gap at 9 listed before an older envelope at 2 (last 5)",
            seqv(5, &[(9, false, false, false, d(9)), (2, false, false, true, d(2))]),
            vec![
                mf("an older envelope at 2", Error::SyncRollback, seqv(5, &[(2, false, false, true, d(2))])),
                mf("a gap at 9", Error::SyncWithheld, seqv(5, &[(9, false, false, false, d(9))])),
            ],
        ),
    ];
    for (what, input, faults) in ws_cases {
        g.multi("sync_writer_sequence", what, &["SYNC-21", "SYNC-9", "SYNC-10", "SYNC-14"], input, faults)?;
    }
    Ok(())
}
