//! `device.json` and `chain.json` (spec 8): device ids, pairing payloads and
//! codes, the HPKE device wrap with its RFC 9180 intermediates, statements of
//! every kind, chain verification and every refusal, epoch wraps.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{Fault, Gen, fault, outcome};
use crate::Flag;
use crate::Outcome;
use crate::hex;
use crate::json::{Fail, JsonObject, hex_value, obj, set};
use crate::upstream::Replay;
use blindsync::chain::verify::{epoch_wrap_aad, epoch_wrap_info, open_epoch_wrap};
use blindsync::chain::{
    Authority, Body, ChainState, EpochWrap, NO_BUNDLE, Pop, PopRole, Reconfirm, Revocation, Statement, UnlockPath,
    UnlockPathKeys, account_fingerprint, approve_device, bundle_commit, device_possession, extend, next_statement,
    revoke_and_rotate,
};
use blindsync::device::{
    ComparisonKind, ComparisonQr, DeviceId, DeviceKeys, DevicePublic, DeviceSigningSeed, IdentityBundle,
    PairingPayload, bundle_aad, bundle_info, open_bundle, pairing_code, wrap_bundle,
};
use blindsync::encoding::Encoder;
use blindsync::error::Error;
use blindsync::hpke::{self, HpkeSecretKey};
use blindsync::keys::{AccountId, Kek, Umk};
use blindsync::labels;
use blindsync::primitives::{SeededRng, sha256};
use blindsync::unlock::AuthoritySeed;
use blindsync::unlock::password::{KdfParams, PasswordKdf};

// ---------- helpers ----------

fn dev_json(d: &DevicePublic) -> Value {
    obj([("ed25519", hex_value(&d.ed25519)), ("x25519", hex_value(&d.x25519))])
}

fn dev_from(v: &Value) -> Result<DevicePublic, Fail> {
    let o = JsonObject(v);
    Ok(DevicePublic { ed25519: o.hex_n("ed25519")?, x25519: o.hex_n("x25519")? })
}

fn auth_json(a: &Authority) -> Value {
    obj([("signing", hex_value(&a.signing)), ("sealing", hex_value(&a.sealing))])
}

fn wraps_json(ws: &[EpochWrap]) -> Value {
    Value::Array(
        ws.iter()
            .map(|w| {
                obj([
                    ("recipient", hex_value(&w.recipient)),
                    ("epoch", json!(w.epoch)),
                    ("enc", hex_value(&w.enc)),
                    ("ct", hex_value(&w.ct)),
                ])
            })
            .collect(),
    )
}

fn body_json(b: &Body) -> Value {
    match b {
        Body::Genesis { device, recovery, recovery_pop, password, password_kdf, password_pop, epoch, key_check } => {
            obj([
                ("device", dev_json(device)),
                ("recovery", auth_json(recovery)),
                ("recovery_pop", hex_value(recovery_pop)),
                ("password", auth_json(password)),
                ("password_kdf", hex_value(password_kdf)),
                ("password_pop", hex_value(password_pop)),
                ("epoch", json!(epoch)),
                ("key_check", hex_value(key_check)),
            ])
        }
        Body::AddDevice { device, pop, bundle_commit } => obj([
            ("device", dev_json(device)),
            ("device_id", hex_value(&device.id().0)),
            ("pop", hex_value(pop)),
            ("bundle_commit", hex_value(bundle_commit)),
        ]),
        Body::RevokeDevice { revocations, unpin, reconfirm, epoch, key_check, wraps } => obj([
            (
                "revocations",
                Value::Array(
                    revocations
                        .iter()
                        .map(|r| {
                            obj([
                                ("device_id", hex_value(&r.device.0)),
                                ("max_seq", json!(r.max_seq)),
                                ("last_envelope", hex_value(&r.last_envelope)),
                            ])
                        })
                        .collect(),
                ),
            ),
            ("unpin", Value::Array(unpin.iter().map(|k| hex_value(k)).collect())),
            (
                "reconfirm",
                Value::Array(
                    reconfirm
                        .iter()
                        .map(|c| match c {
                            Reconfirm::Device(d) => obj([("what", json!(1)), ("id", hex_value(&d.0))]),
                            Reconfirm::Partner(k) => obj([("what", json!(2)), ("id", hex_value(k))]),
                        })
                        .collect(),
                ),
            ),
            ("epoch", json!(epoch)),
            ("key_check", hex_value(key_check)),
            ("wraps", wraps_json(wraps)),
        ]),
        Body::RotateEpoch { epoch, key_check, wraps } => {
            obj([("epoch", json!(epoch)), ("key_check", hex_value(key_check)), ("wraps", wraps_json(wraps))])
        }
        Body::PinPartner { key, label } => obj([("key", hex_value(key)), ("label", json!(label))]),
        Body::UnpinPartner { key } => obj([("key", hex_value(key))]),
        Body::ReplaceAuthority { path, authority, kdf, pop, reconfirm, epoch, key_check, wraps } => obj([
            ("path", json!(*path as u8)),
            ("authority", auth_json(authority)),
            ("kdf", kdf.as_ref().map_or(Value::Null, |k| hex_value(k))),
            ("pop", hex_value(pop)),
            ("reconfirm", Value::Array(reconfirm.iter().map(|d| hex_value(&d.0)).collect())),
            ("epoch", json!(epoch)),
            ("key_check", hex_value(key_check)),
            ("wraps", wraps_json(wraps)),
        ]),
    }
}

/// The proof-of-possession message of an installing statement, for porters. [CHAIN-17]
fn pop_messages(s: &Statement, account: Option<&AccountId>) -> Value {
    let m = |kind, role, anchor: &[u8; 32], a: &[u8; 32], b: &[u8; 32], kdf: &[u8]| {
        hex_value(&blindsync::chain::possession_message(kind, role, anchor, a, b, kdf))
    };
    match (&s.body, account) {
        (Body::Genesis { device, recovery, password, password_kdf, epoch, key_check, .. }, _) => {
            let anchor = blindsync::chain::statement::genesis_anchor(
                device,
                recovery,
                password,
                password_kdf,
                *epoch,
                key_check,
            );
            json!([
                m(1, PopRole::Recovery, &anchor, &recovery.signing, &recovery.sealing, &[]),
                m(1, PopRole::Password, &anchor, &password.signing, &password.sealing, password_kdf)
            ])
        }
        (Body::AddDevice { device, .. }, Some(acc)) => {
            json!([m(2, PopRole::Device, &acc.0, &device.ed25519, &device.x25519, &[])])
        }
        (Body::ReplaceAuthority { path, authority, kdf, .. }, Some(acc)) => json!([m(
            7,
            (*path).into(),
            &acc.0,
            &authority.signing,
            &authority.sealing,
            kdf.as_ref().map_or(&[][..], |k| &k[..])
        )]),
        _ => json!([]),
    }
}

fn statement_json(s: &Statement) -> Value {
    obj([
        ("position", json!(s.position)),
        ("prev", hex_value(&s.prev)),
        ("kind", json!(s.body.kind())),
        ("kind_name", json!(s.body.kind_name())),
        ("body", body_json(&s.body)),
        ("signer", hex_value(&s.signer)),
        ("signature", hex_value(&s.signature)),
    ])
}

fn hex_list(v: &Value) -> Result<Vec<Vec<u8>>, Fail> {
    v.as_array()
        .ok_or_else(|| Fail::harness("not an array"))?
        .iter()
        .map(|x| x.as_str().and_then(hex::decode).ok_or_else(|| Fail::harness("not hex")))
        .collect()
}

fn list_json(chain: &[Vec<u8>]) -> Value {
    Value::Array(chain.iter().map(|b| hex_value(b)).collect())
}

fn state_json(st: &ChainState) -> Value {
    let head = st.head();
    let auth = |p| st.authority(p).map(auth_json).unwrap_or(Value::Null);
    obj([
        ("account_id", hex_value(&st.account().0)),
        ("fingerprint", json!(st.fingerprint())),
        ("head_len", json!(head.len)),
        ("head_hash", hex_value(&head.hash)),
        ("epoch", json!(st.epoch())),
        ("devices", Value::Array(st.devices().keys().map(|d| hex_value(&d.0)).collect())),
        (
            "revoked",
            Value::Array(
                st.revoked()
                    .iter()
                    .map(|(id, r)| obj([("device_id", hex_value(&id.0)), ("max_seq", json!(r.max_seq))]))
                    .collect(),
            ),
        ),
        (
            "partners",
            Value::Array(
                st.partners().iter().map(|(k, l)| obj([("key", hex_value(k)), ("label", json!(l))])).collect(),
            ),
        ),
        ("recovery", auth(UnlockPath::Recovery)),
        ("password", auth(UnlockPath::Password)),
        ("password_kdf", hex_value(st.password_kdf())),
        ("key_checks", Value::Array((0..=st.epoch()).filter_map(|e| st.key_check(e)).map(|k| hex_value(k)).collect())),
    ])
}

fn umks_json(umks: &BTreeMap<u32, Umk>) -> Value {
    let mut m = Map::new();
    for (e, u) in umks {
        m.insert(e.to_string(), hex_value(u.expose()));
    }
    Value::Object(m)
}

fn device_keys_from(i: &JsonObject<'_>) -> Result<DeviceKeys, Fail> {
    Ok(DeviceKeys::from_seeds(
        DeviceSigningSeed::from_bytes(i.hex_n("ed25519_seed")?),
        HpkeSecretKey::from_bytes(i.hex_n("x25519_secret")?),
    ))
}

// ---------- device.json procedures ----------

fn device_id(input: &Value) -> Result<Outcome, Fail> {
    let d = dev_from(input)?;
    let hash_input = Encoder::new(labels::DEVICE_ID).fixed(&d.ed25519).fixed(&d.x25519).finish();
    outcome(obj([("hash_input", hex_value(&hash_input))]), obj([("device_id", hex_value(&d.id().0))]))
}

fn device_id_check(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let d = dev_from(input)?;
    d.check_id(&DeviceId(i.hex_n("device_id")?))?;
    outcome(obj([]), obj([("device_id", hex_value(&d.id().0))]))
}

fn pairing_payload_encode(input: &Value) -> Result<Outcome, Fail> {
    let d = dev_from(input)?;
    let sum_input = Encoder::new(labels::PAIRING_PAYLOAD).u8(1).fixed(&d.ed25519).fixed(&d.x25519).finish();
    outcome(
        obj([("checksum_input", hex_value(&sum_input)), ("checksum_digest", hex_value(&sha256(&[&sum_input])))]),
        obj([("payload", hex_value(&PairingPayload(d).encode()))]),
    )
}

fn pairing_payload_decode(input: &Value) -> Result<Outcome, Fail> {
    let p = PairingPayload::decode(&JsonObject(input).hex("payload")?)?;
    outcome(obj([]), obj([("device", dev_json(&p.0)), ("device_id", hex_value(&p.0.id().0))]))
}

fn pairing_code_kind(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let account = AccountId(i.hex_n("account_id")?);
    let a = dev_from(i.get("approver")?)?;
    let n = dev_from(i.get("new_device")?)?;
    let hash_input = Encoder::new(labels::PAIRING_CODE)
        .fixed(&account.0)
        .fixed(&a.ed25519)
        .fixed(&a.x25519)
        .fixed(&n.ed25519)
        .fixed(&n.x25519)
        .finish();
    let digest = sha256(&[&hash_input]);
    let qr = ComparisonQr { kind: ComparisonKind::Pairing, digest }.encode();
    outcome(
        obj([("hash_input", hex_value(&hash_input)), ("digest", hex_value(&digest))]),
        obj([("code", json!(pairing_code(&account, &a, &n))), ("qr", hex_value(&qr))]),
    )
}

/// A scanned comparison QR code against the one computed here. [CHAIN-19]
fn comparison_qr_check(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let mine = ComparisonQr::decode(&i.hex("mine")?).map_err(|_| Fail::harness("mine is not a comparison code"))?;
    let got = ComparisonQr::decode(&i.hex("scanned")?)?;
    got.matches(&mine)?;
    outcome(obj([]), obj([("kind", json!(got.kind as u8))]))
}

/// `key_check_e` of a UMK. [KEY-14] [CHAIN-16]
fn key_check_kind(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let umk = Umk::from_bytes(i.hex_n("umk")?);
    let epoch = i.u32("epoch")?;
    let msg = Encoder::new(labels::KEY_CHECK).u32(epoch).finish();
    outcome(obj([("hmac_message", hex_value(&msg))]), obj([("key_check", hex_value(&umk.key_check(epoch)))]))
}

fn bundle_from(i: &JsonObject<'_>) -> Result<IdentityBundle, Fail> {
    let mut umks = BTreeMap::new();
    for u in i.arr("umks")? {
        let u = JsonObject(u);
        umks.insert(u.u32("epoch")?, Umk::from_bytes(u.hex_n("umk")?));
    }
    Ok(IdentityBundle { account: AccountId(i.hex_n("account_id")?), umks })
}

/// The HPKE device wrap, with the RFC 9180 intermediates. [DEV-5] [HPKE-4]
fn device_bundle_wrap(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let bundle = bundle_from(&i)?;
    let target_sk = HpkeSecretKey::from_bytes(i.hex_n("target_x25519_secret")?);
    let target = DevicePublic { ed25519: i.hex_n("target_ed25519")?, x25519: target_sk.public_key() };
    let wrap = wrap_bundle(&bundle, &target, &mut Replay(i.hex("ikm_e")?, 0))?;
    let (ss, ks) = hpke::intermediates(&target_sk, wrap.get(..32).unwrap_or(&[]), &bundle_info())?;
    outcome(
        obj([
            ("target_x25519", hex_value(&target.x25519)),
            ("target_device_id", hex_value(&target.id().0)),
            ("plaintext", hex_value(&bundle.encode())),
            ("info", hex_value(&bundle_info())),
            ("aad", hex_value(&bundle_aad(&bundle.account, &target.id()))),
            ("enc", hex_value(wrap.get(..32).unwrap_or(&[]))),
            ("shared_secret", hex_value(ss.expose())),
            ("key_schedule_context", hex_value(&ks.key_schedule_context)),
            ("secret", hex_value(&ks.secret)),
            ("key", hex_value(&ks.key)),
            ("base_nonce", hex_value(&ks.base_nonce)),
            ("exporter_secret", hex_value(&ks.exporter_secret)),
        ]),
        obj([("wrap", hex_value(&wrap)), ("bundle_commit", hex_value(&bundle_commit(&wrap)))]),
    )
}

fn device_bundle_open(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let me = device_keys_from(&i)?;
    let b = open_bundle(&me, &AccountId(i.hex_n("account_id")?), &i.hex("wrap")?)?;
    outcome(obj([("aad", hex_value(&bundle_aad(&b.account, &me.id())))]), obj([("umks", umks_json(&b.umks))]))
}

// ---------- chain.json procedures ----------

fn fingerprint(input: &Value) -> Result<Outcome, Fail> {
    let account = AccountId(JsonObject(input).hex_n("account_id")?);
    let hash_input = Encoder::new(labels::ACCOUNT_FINGERPRINT).fixed(&account.0).finish();
    let digest = sha256(&[&hash_input]);
    let qr = ComparisonQr { kind: ComparisonKind::Account, digest }.encode();
    outcome(
        obj([("hash_input", hex_value(&hash_input)), ("digest", hex_value(&digest))]),
        obj([("fingerprint", json!(account_fingerprint(&account))), ("qr", hex_value(&qr))]),
    )
}

fn partner_fp(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let account = AccountId(i.hex_n("account_id")?);
    let key: [u8; 32] = i.hex_n("key")?;
    let hash_input = Encoder::new(labels::PARTNER_FINGERPRINT).fixed(&account.0).fixed(&key).finish();
    let digest = sha256(&[&hash_input]);
    let qr = ComparisonQr { kind: ComparisonKind::Partner, digest }.encode();
    outcome(
        obj([("hash_input", hex_value(&hash_input)), ("digest", hex_value(&digest))]),
        obj([("fingerprint", json!(blindsync::chain::partner_fingerprint(&account, &key))), ("qr", hex_value(&qr))]),
    )
}

/// An unlock path's chain keys from its secret. [CHAIN-13]
fn unlock_path_keys(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let (keys, label) = match i.str("path")? {
        "recovery" => (
            UnlockPathKeys::from_recovery(&blindsync::unlock::recovery::RecoveryCode::parse(i.str("text")?)?.derive()),
            labels::RECOVERY_SEALING,
        ),
        "password" => {
            let kdf = super::password::kdf_from(i.get("kdf")?)?;
            (UnlockPathKeys::from_password(&kdf.derive(i.str("text")?.as_bytes())?, &kdf), labels::PASSWORD_SEALING)
        }
        _ => return Err(Fail::harness("path is recovery or password")),
    };
    let a = keys.public();
    outcome(
        obj([
            ("sealing_info", hex_value(&Encoder::new(label).finish())),
            ("sealing_secret", hex_value(keys.sealing.expose())),
        ]),
        obj([("authority", hex_value(&a.signing)), ("sealing", hex_value(&a.sealing))]),
    )
}

fn statement_decode(input: &Value) -> Result<Outcome, Fail> {
    let bytes = JsonObject(input).hex("statement")?;
    let s = Statement::decode(&bytes)?;
    // Non-genesis statements' proofs of possession are anchored at the account id, when given.
    let account = JsonObject(input).hex_n("account_id").ok().map(AccountId);
    let mut inter = obj([
        ("pop_messages", pop_messages(&s, account.as_ref())),
        ("signed_message", hex_value(&s.signed_message())),
        ("hash_input", hex_value(&Encoder::new(labels::CHAIN_LINK).bytes(&bytes).finish())),
        ("hash", hex_value(&blindsync::chain::statement::statement_hash(&bytes))),
    ]);
    if let Body::Genesis { device, recovery, password, password_kdf, epoch, key_check, .. } = &s.body
        && let Value::Object(m) = &mut inter
    {
        let anchor_input = blindsync::chain::statement::genesis_anchor_input(
            device,
            recovery,
            password,
            password_kdf,
            *epoch,
            key_check,
        );
        m.insert("genesis_anchor_input".into(), hex_value(&anchor_input));
        m.insert("account_id_input".into(), hex_value(&Encoder::new(labels::ACCOUNT_ID).bytes(&bytes).finish()));
        m.insert("account_id".into(), hex_value(&blindsync::chain::account_id(&bytes).0));
    }
    outcome(inter, statement_json(&s))
}

fn chain_verify(input: &Value) -> Result<Outcome, Fail> {
    let chain = hex_list(JsonObject(input).get("chain")?)?;
    let st = ChainState::verify(&chain)?;
    let hashes = (0..st.head().len).filter_map(|p| st.hash_at(p)).map(|x| hex_value(&x)).collect();
    outcome(obj([("hashes", Value::Array(hashes))]), state_json(&st))
}

fn chain_update(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let mut st = ChainState::verify(&hex_list(i.get("known")?)?)?;
    st.update(&hex_list(i.get("served")?)?)?;
    outcome(obj([]), state_json(&st))
}

fn chain_open_epochs(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let st = ChainState::verify(&hex_list(i.get("chain")?)?)?;
    let key = HpkeSecretKey::from_bytes(i.hex_n("x25519_secret")?);
    let umks = st.open_epoch_umks(&key)?;
    let aads = umks.keys().map(|e| hex_value(&epoch_wrap_aad(&st.account(), *e, &key.public_key()))).collect();
    outcome(
        obj([("info", hex_value(&epoch_wrap_info())), ("aads", Value::Array(aads))]),
        obj([("umks", umks_json(&umks))]),
    )
}

fn epoch_wrap_open(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let account = AccountId(i.hex_n("account_id")?);
    let w = EpochWrap {
        recipient: i.hex_n("recipient")?,
        epoch: i.u32("epoch")?,
        enc: i.hex_n("enc")?,
        ct: i.hex_n("ct")?,
    };
    let key = HpkeSecretKey::from_bytes(i.hex_n("x25519_secret")?);
    let umk = open_epoch_wrap(&account, &w, &key)?;
    let (ss, ks) = hpke::intermediates(&key, &w.enc, &epoch_wrap_info())?;
    outcome(
        obj([
            ("aad", hex_value(&epoch_wrap_aad(&account, w.epoch, &w.recipient))),
            ("shared_secret", hex_value(ss.expose())),
            ("key", hex_value(&ks.key)),
            ("base_nonce", hex_value(&ks.base_nonce)),
        ]),
        obj([("umk", hex_value(umk.expose()))]),
    )
}

fn pairing_accept(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let me = device_keys_from(&i)?;
    let chain = hex_list(i.get("chain")?)?;
    let wrap = i.hex("bundle_wrap")?;
    let approver = DeviceId(i.hex_n("approver_id")?);
    let (st, umks) =
        blindsync::chain::accept_pairing(&me, &AccountId(i.hex_n("account_id")?), &approver, &wrap, &chain)?;
    outcome(
        obj([
            ("bundle_commit_input", hex_value(&Encoder::new(labels::BUNDLE_COMMIT).bytes(&wrap).finish())),
            ("bundle_commit", hex_value(&bundle_commit(&wrap))),
        ]),
        obj([("fingerprint", json!(st.fingerprint())), ("umks", umks_json(&umks))]),
    )
}

/// Enrollment with one unlock path ([CHAIN-13]): the served chain, the
/// path's secret (a recovery code, or a password with the served KDF), the
/// served chapter 5 wrap and the enrolling device's keys.
fn enroll_kind(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let keys = match i.str("path")? {
        "recovery" => {
            UnlockPathKeys::from_recovery(&blindsync::unlock::recovery::RecoveryCode::parse(i.str("text")?)?.derive())
        }
        "password" => {
            let kdf = super::password::kdf_from(i.get("kdf")?)?;
            UnlockPathKeys::from_password(&kdf.derive(i.str("text")?.as_bytes())?, &kdf)
        }
        _ => return Err(Fail::harness("path is recovery or password")),
    };
    let me = device_keys_from(&i)?;
    let state = ChainState::verify(&hex_list(i.get("chain")?)?)?;
    let (statement, next, umks) = blindsync::chain::enroll(&state, &keys, &i.hex("wrap")?, &me)?;
    outcome(
        obj([("authority", hex_value(&keys.public().signing)), ("sealing", hex_value(&keys.public().sealing))]),
        obj([
            ("statement", hex_value(&statement)),
            ("head_hash", hex_value(&next.head().hash)),
            ("fingerprint", json!(next.fingerprint())),
            ("umks", umks_json(&umks)),
        ]),
    )
}

pub(super) fn run(kind: &str, input: &Value) -> Option<Result<Outcome, Fail>> {
    Some(match kind {
        "device_id" => device_id(input),
        "device_id_check" => device_id_check(input),
        "pairing_payload_encode" => pairing_payload_encode(input),
        "pairing_payload_decode" => pairing_payload_decode(input),
        "pairing_code" => pairing_code_kind(input),
        "device_bundle_wrap" => device_bundle_wrap(input),
        "device_bundle_open" => device_bundle_open(input),
        "account_fingerprint" => fingerprint(input),
        "partner_fingerprint" => partner_fp(input),
        "unlock_path_keys" => unlock_path_keys(input),
        "chain_statement_decode" => statement_decode(input),
        "chain_verify" => chain_verify(input),
        "chain_update" => chain_update(input),
        "chain_open_epochs" => chain_open_epochs(input),
        "epoch_wrap_open" => epoch_wrap_open(input),
        "pairing_accept" => pairing_accept(input),
        "enroll" => enroll_kind(input),
        "comparison_qr_check" => comparison_qr_check(input),
        "key_check" => key_check_kind(input),
        _ => return None,
    })
}

// ---------- generators ----------

fn err_text(e: impl ToString) -> String {
    e.to_string()
}

/// A device whose keys the vectors publish (seeds included, so porters can re-run).
struct Dev {
    keys: DeviceKeys,
}

impl Dev {
    fn new(rng: &mut SeededRng) -> Self {
        Dev { keys: DeviceKeys::generate(rng) }
    }
    fn public(&self) -> DevicePublic {
        self.keys.public()
    }
    fn seeds(&self) -> [(&'static str, Value); 2] {
        [
            ("ed25519_seed", hex_value(self.keys.signing_seed().expose())),
            ("x25519_secret", hex_value(self.keys.hpke_key().expose())),
        ]
    }
}

fn path_keys(rng: &mut SeededRng, path: UnlockPath) -> UnlockPathKeys {
    let kdf_binding = match path {
        UnlockPath::Recovery => Vec::new(),
        UnlockPath::Password => PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(rng) }.encode(),
    };
    UnlockPathKeys {
        path,
        authority: AuthoritySeed::random(rng),
        sealing: HpkeSecretKey::random(rng),
        kek: Kek::random(rng),
        kdf_binding,
    }
}

/// A genesis body with valid proofs of possession (anchored on the rest of the body). [CHAIN-17]
fn genesis_body(
    device: DevicePublic,
    _anchor_dev: &DevicePublic,
    rec: &UnlockPathKeys,
    pw: &UnlockPathKeys,
    umk0: &Umk,
) -> Result<Body, String> {
    let password_kdf = pw.chain_kdf().ok_or("password path without kdf")?;
    let key_check = umk0.key_check(0);
    let anchor =
        blindsync::chain::statement::genesis_anchor(&device, &rec.public(), &pw.public(), &password_kdf, 0, &key_check);
    Ok(Body::Genesis {
        device,
        recovery: rec.public(),
        recovery_pop: rec.possession(1, &anchor),
        password: pw.public(),
        password_kdf,
        password_pop: pw.possession(1, &anchor),
        epoch: 0,
        key_check,
    })
}

/// `keys` signs a proof of possession of `(ed25519, x25519)` as a device of `account`. [CHAIN-17]
fn device_pop(keys: &DeviceKeys, account: &AccountId, ed25519: &[u8; 32], x25519: &[u8; 32]) -> Pop {
    keys.sign(&blindsync::chain::possession_message(2, PopRole::Device, &account.0, ed25519, x25519, &[]))
}

/// A revoke body for one device and nothing else, with the given rotation. [CHAIN-20]
fn revoke_one(
    device: DeviceId,
    max_seq: u64,
    last: [u8; 32],
    epoch: u32,
    key_check: [u8; 32],
    wraps: Vec<EpochWrap>,
) -> Body {
    Body::RevokeDevice {
        revocations: vec![Revocation { device, max_seq, last_envelope: last }],
        unpin: vec![],
        reconfirm: vec![],
        epoch,
        key_check,
        wraps,
    }
}

/// An add-device body for `dev` with its own valid proof and no bundle. [CHAIN-17]
fn add_body(dev: &DeviceKeys, account: &AccountId) -> Body {
    Body::AddDevice { device: dev.public(), pop: device_possession(dev, account), bundle_commit: NO_BUNDLE }
}

/// An add-device body for arbitrary keys, the proof signed by `signer`. [CHAIN-17]
fn add_keys(signer: &DeviceKeys, account: &AccountId, device: DevicePublic) -> Body {
    Body::AddDevice {
        device,
        pop: device_pop(signer, account, &device.ed25519, &device.x25519),
        bundle_commit: NO_BUNDLE,
    }
}

/// The low-order point of order 8 with u = 1 is the simplest; u = 0 is the identity.
const LOW_ORDER: [u8; 32] = {
    let mut k = [0u8; 32];
    k[0] = 1;
    k
};

/// The Ed25519 identity point (small order, refused by strict verification).
const WEAK_ED25519: [u8; 32] = {
    let mut k = [0u8; 32];
    k[0] = 1;
    k
};

pub(super) fn generate_device(g: &mut Gen) -> Result<(), String> {
    let mut rng = SeededRng::from_label("blindsync/vectors/v1/device");
    let a = Dev::new(&mut rng);
    let b = Dev::new(&mut rng);
    let mut account = [0u8; 32];
    rand_core::Rng::fill_bytes(&mut rng, &mut account);

    g.ok("device_id", "device id over both public keys", &["DEV-1"], dev_json(&a.public()))?;
    g.ok(
        "device_id_check",
        "a registration whose id matches its keys",
        &["DEV-1"],
        set(&dev_json(&b.public()), "device_id", hex_value(&b.public().id().0)),
    )?;
    let evil = Dev::new(&mut rng);
    let substituted = DevicePublic { ed25519: b.public().ed25519, x25519: evil.public().x25519 };
    g.err(
        "device_id_check",
        "substituted device key: the server serves another X25519 key under the new device's id",
        &["DEV-1", "DEV-6"],
        set(&dev_json(&substituted), "device_id", hex_value(&b.public().id().0)),
        Error::DeviceKeyMismatch,
    )?;

    g.ok("pairing_payload_encode", "QR pairing payload of a new device", &["DEV-3"], dev_json(&b.public()))?;
    let payload = PairingPayload(b.public()).encode();
    let pin = obj([("payload", hex_value(&payload))]);
    g.ok("pairing_payload_decode", "scanned payload decodes to the device keys", &["DEV-3"], pin)?;
    let mut v2 = payload.clone();
    v2[0] = 2;
    g.err(
        "pairing_payload_decode",
        "unknown version 2",
        &["DEV-3"],
        obj([("payload", hex_value(&v2))]),
        Error::PairingVersion,
    )?;
    let mut bad = payload.clone();
    bad[40] ^= 0x04;
    g.err(
        "pairing_payload_decode",
        "one bit of the X25519 key misread",
        &["DEV-3"],
        obj([("payload", hex_value(&bad))]),
        Error::PairingChecksum,
    )?;
    let raw = |ed: [u8; 32], x: [u8; 32]| {
        let sum = sha256(&[&Encoder::new(labels::PAIRING_PAYLOAD).u8(1).fixed(&ed).fixed(&x).finish()]);
        Encoder::raw().u8(1).fixed(&ed).fixed(&x).fixed(&sum[..4]).finish()
    };
    g.err(
        "pairing_payload_decode",
        "a well-formed payload carrying a low-order X25519 public key (u = 1)",
        &["DEV-2", "HPKE-3"],
        obj([("payload", hex_value(&raw(b.public().ed25519, LOW_ORDER)))]),
        Error::HpkeLowOrder,
    )?;
    g.err(
        "pairing_payload_decode",
        "a well-formed payload carrying the small-order Ed25519 identity point",
        &["DEV-2"],
        obj([("payload", hex_value(&raw(WEAK_ED25519, b.public().x25519)))]),
        Error::DeviceKeyInvalid,
    )?;
    g.tag(&[Flag::SmallOrderKey])?;
    g.err(
        "pairing_payload_decode",
        "a payload cut to 68 bytes",
        &["DEV-3"],
        obj([("payload", hex_value(&payload[..68]))]),
        Error::DecodeTruncated,
    )?;

    g.ok(
        "pairing_code",
        "the 32-symbol (160-bit) code both screens show, and its QR form",
        &["DEV-4"],
        obj([
            ("account_id", hex_value(&account)),
            ("approver", dev_json(&a.public())),
            ("new_device", dev_json(&b.public())),
        ]),
    )?;

    // HPKE device wrap.
    let mut umk0 = [0u8; 32];
    let mut umk1 = [0u8; 32];
    let mut ikm_e = [0u8; 32];
    for x in [&mut umk0, &mut umk1, &mut ikm_e] {
        rand_core::Rng::fill_bytes(&mut rng, x);
    }
    let win = obj([
        ("account_id", hex_value(&account)),
        ("umks", json!([{"epoch": 0, "umk": hex::encode(&umk0)}, {"epoch": 1, "umk": hex::encode(&umk1)}])),
        ("target_ed25519", hex_value(&b.public().ed25519)),
        ("target_x25519_secret", hex_value(b.keys.hpke_key().expose())),
        ("ikm_e", hex_value(&ikm_e)),
    ]);
    let reqs = ["DEV-5", "HPKE-1", "HPKE-2", "HPKE-4"];
    g.ok("device_bundle_wrap", "identity bundle (two epochs) HPKE-wrapped to a new device", &reqs, win.clone())?;
    let wrap = super::run("device_bundle_wrap", &win).map_err(err_text)?.output["wrap"]
        .as_str()
        .and_then(hex::decode)
        .ok_or("no wrap")?;
    let open_in = |who: &Dev, w: &[u8], acc: &[u8]| {
        let [s1, s2] = who.seeds();
        obj([s1, s2, ("account_id", hex_value(acc)), ("wrap", hex_value(w))])
    };
    g.ok("device_bundle_open", "the new device opens its bundle", &reqs, open_in(&b, &wrap, &account))?;
    g.err(
        "device_bundle_open",
        "a wrap to the wrong device: another device tries to open it",
        &reqs,
        open_in(&a, &wrap, &account),
        Error::HpkeOpen,
    )?;
    g.tag(&[Flag::WrongKey])?;
    g.err(
        "device_bundle_open",
        "the bundle moved to another account",
        &reqs,
        open_in(&b, &wrap, &[7u8; 32]),
        Error::HpkeOpen,
    )?;
    g.tag(&[Flag::WrongContext])?;
    let mut low = wrap.clone();
    low[..32].copy_from_slice(&LOW_ORDER);
    g.err(
        "device_bundle_open",
        "encapsulated key replaced by a low-order point",
        &["HPKE-3"],
        open_in(&b, &low, &account),
        Error::HpkeLowOrder,
    )?;
    let mut t = wrap.clone();
    if let Some(x) = t.last_mut() {
        *x ^= 1;
    }
    g.err("device_bundle_open", "tampered tag", &reqs, open_in(&b, &t, &account), Error::HpkeOpen)?;
    g.tag(&[Flag::ModifiedCiphertext])?;
    g.err(
        "device_bundle_open",
        "a wrap of 31 bytes (shorter than enc): wrong enc length",
        &["HPKE-2"],
        open_in(&b, &wrap[..31], &account),
        Error::HpkeOpen,
    )?;
    g.tag(&[Flag::Truncated])?;
    g.err(
        "pairing_payload_decode",
        "a well-formed payload whose Ed25519 key is a non-canonical encoding (y + p) of a large-order point",
        &["DEV-2", "PRIM-9"],
        obj([("payload", hex_value(&raw(crate::ed25519::non_canonical_ed25519()?, b.public().x25519)))]),
        Error::DeviceKeyInvalid,
    )?;
    g.tag(&[Flag::NonCanonical])?;
    g.multi(
        "pairing_payload_decode",
        "both keys bad (order-8 Ed25519 key, low-order X25519 key): the Ed25519 check comes first",
        &["DEV-2", "DEV-3"],
        obj([("payload", hex_value(&raw(crate::ed25519::order8_ed25519(), LOW_ORDER)))]),
        vec![
            fault(
                "order-8 Ed25519 key",
                Error::DeviceKeyInvalid,
                obj([("payload", hex_value(&raw(crate::ed25519::order8_ed25519(), b.public().x25519)))]),
            ),
            fault(
                "low-order X25519 key",
                Error::HpkeLowOrder,
                obj([("payload", hex_value(&raw(b.public().ed25519, LOW_ORDER)))]),
            ),
        ],
    )?;
    g.ok(
        "pairing_payload_decode",
        "a mixed-order Ed25519 key (base point plus an order-8 point) is accepted",
        &["DEV-2", "PRIM-9"],
        obj([("payload", hex_value(&raw(crate::ed25519::mixed_order_ed25519(), b.public().x25519)))]),
    )?;
    g.err(
        "pairing_payload_decode",
        "an empty payload",
        &["DEV-3"],
        obj([("payload", hex_value(&[]))]),
        Error::DecodeTruncated,
    )?;

    // Comparison QR codes ([CHAIN-19]): one vector per check.
    let digest = blindsync::device::pairing_code_digest(&AccountId(account), &a.public(), &b.public());
    let mine = ComparisonQr { kind: ComparisonKind::Pairing, digest }.encode();
    let qr = |scanned: &[u8]| obj([("mine", hex_value(&mine)), ("scanned", hex_value(scanned))]);
    let cmp = ["CHAIN-5", "CHAIN-19"];
    g.ok("comparison_qr_check", "the scanned pairing QR code equals the one computed here", &cmp, qr(&mine))?;
    g.err("comparison_qr_check", "an empty scan", &cmp, qr(&[]), Error::DecodeTruncated)?;
    let mut v = mine.clone();
    v[0] = 2;
    g.err("comparison_qr_check", "version 2", &cmp, qr(&v), Error::PairingVersion)?;
    g.err("comparison_qr_check", "33 bytes", &cmp, qr(&mine[..33]), Error::DecodeTruncated)?;
    g.err("comparison_qr_check", "35 bytes", &cmp, qr(&[mine.as_slice(), &[0]].concat()), Error::DecodeTrailing)?;
    let mut k = mine.clone();
    k[1] = 4;
    g.err("comparison_qr_check", "kind 4", &cmp, qr(&k), Error::DecodeValue)?;
    let evil_digest = blindsync::device::pairing_code_digest(&AccountId(account), &a.public(), &evil.public());
    let evil_qr = ComparisonQr { kind: ComparisonKind::Pairing, digest: evil_digest }.encode();
    g.err(
        "comparison_qr_check",
        "the approver's screen shows a code over substituted new-device keys",
        &cmp,
        qr(&evil_qr),
        Error::CompareMismatch,
    )?;
    let mut kind_swap = mine.clone();
    kind_swap[1] = ComparisonKind::Account as u8;
    g.err(
        "comparison_qr_check",
        "the same digest presented as an account fingerprint",
        &cmp,
        qr(&kind_swap),
        Error::CompareMismatch,
    )?;
    g.tag(&[Flag::WrongContext])?;
    let mut umk = [0u8; 32];
    rand_core::Rng::fill_bytes(&mut rng, &mut umk);
    g.ok(
        "key_check",
        "key check of an epoch-3 UMK",
        &["KEY-14", "CHAIN-16"],
        obj([("umk", hex_value(&umk)), ("epoch", json!(3))]),
    )?;

    // ---- multi-fault: [DEV-3]'s and [CHAIN-19]'s orders, and [HPKE-2] in a bundle open ----
    let mf = |what: &str, e: Error, alone: Value| fault(what, e, alone);
    let pl = |b: &[u8]| obj([("payload", hex_value(b))]);
    let with_bit = |b: &[u8]| {
        let mut v = b.to_vec();
        v[40] ^= 0x04;
        v
    };
    let weak_ed = raw(WEAK_ED25519, b.public().x25519);
    let plus = |b: &[u8]| [b, &[0u8][..]].concat();
    let payload_cases: Vec<(&str, Value, Vec<Fault>)> = vec![
        (
            "version 2 in a payload cut to 68 bytes",
            pl(&v2[..68]),
            vec![
                mf("version 2", Error::PairingVersion, pl(&v2)),
                mf("cut to 68 bytes", Error::DecodeTruncated, pl(&payload[..68])),
            ],
        ),
        (
            "a payload cut to 68 bytes with a misread X25519 bit",
            pl(&with_bit(&payload)[..68]),
            vec![
                mf("cut to 68 bytes", Error::DecodeTruncated, pl(&payload[..68])),
                mf("one X25519 bit misread", Error::PairingChecksum, pl(&bad)),
            ],
        ),
        (
            "a trailing byte and a misread X25519 bit",
            pl(&plus(&bad)),
            vec![
                mf("a trailing byte (70 bytes)", Error::DecodeTrailing, pl(&plus(&payload))),
                mf("one X25519 bit misread", Error::PairingChecksum, pl(&bad)),
            ],
        ),
        (
            "a misread bit in a payload carrying the small-order Ed25519 identity point",
            pl(&with_bit(&weak_ed)),
            vec![
                mf("one X25519 bit misread", Error::PairingChecksum, pl(&bad)),
                mf("small-order Ed25519 key", Error::DeviceKeyInvalid, pl(&weak_ed)),
            ],
        ),
    ];
    for (what, input, faults) in payload_cases {
        g.multi("pairing_payload_decode", what, &["DEV-3", "DEV-2"], input, faults)?;
    }
    let mut v2k4 = v.clone();
    v2k4[1] = 4;
    let mut evil_k4 = evil_qr.clone();
    evil_k4[1] = 4;
    let qr_cases: Vec<(&str, Value, Vec<Fault>)> = vec![
        (
            "version 2 in 33 bytes",
            qr(&v[..33]),
            vec![
                mf("version 2", Error::PairingVersion, qr(&v)),
                mf("33 bytes", Error::DecodeTruncated, qr(&mine[..33])),
            ],
        ),
        (
            "version 2 in 35 bytes",
            qr(&plus(&v)),
            vec![
                mf("version 2", Error::PairingVersion, qr(&v)),
                mf("35 bytes", Error::DecodeTrailing, qr(&plus(&mine))),
            ],
        ),
        (
            "kind 4 in 33 bytes",
            qr(&k[..33]),
            vec![mf("33 bytes", Error::DecodeTruncated, qr(&mine[..33])), mf("kind 4", Error::DecodeValue, qr(&k))],
        ),
        (
            "kind 4 in 35 bytes",
            qr(&plus(&k)),
            vec![mf("35 bytes", Error::DecodeTrailing, qr(&plus(&mine))), mf("kind 4", Error::DecodeValue, qr(&k))],
        ),
        (
            "kind 4 over a digest of substituted keys",
            qr(&evil_k4),
            vec![
                mf("kind 4", Error::DecodeValue, qr(&k)),
                mf("substituted keys", Error::CompareMismatch, qr(&evil_qr)),
            ],
        ),
        (
            "version 2 and kind 4",
            qr(&v2k4),
            vec![mf("version 2", Error::PairingVersion, qr(&v)), mf("kind 4", Error::DecodeValue, qr(&k))],
        ),
    ];
    for (what, input, faults) in qr_cases {
        g.multi("comparison_qr_check", what, &cmp, input, faults)?;
    }
    g.multi(
        "device_bundle_open",
        "a low-order encapsulated key in a bundle moved to another account",
        &["HPKE-2", "HPKE-3", "DEV-5"],
        open_in(&b, &low, &[7u8; 32]),
        vec![
            mf("low-order enc", Error::HpkeLowOrder, open_in(&b, &low, &account)),
            mf("another account", Error::HpkeOpen, open_in(&b, &wrap, &[7u8; 32])),
        ],
    )?;
    Ok(())
}

/// The vector chain and the keys behind it.
struct World {
    a: Dev,
    b: Dev,
    c: Dev,
    d: Dev,
    rec: UnlockPathKeys,
    pw: UnlockPathKeys,
    new_pw: UnlockPathKeys,
    chain: Vec<Vec<u8>>,
    states: Vec<ChainState>,
    umks: BTreeMap<u32, Umk>,
    /// The bundle A sealed for B and committed to in statement 1.
    b_bundle: Vec<u8>,
}

fn build(rng: &mut SeededRng) -> Result<World, String> {
    let a = Dev::new(rng);
    let b = Dev::new(rng);
    let c = Dev::new(rng);
    let d = Dev::new(rng);
    let rec = path_keys(rng, UnlockPath::Recovery);
    let pw = path_keys(rng, UnlockPath::Password);
    let new_pw = path_keys(rng, UnlockPath::Password);
    let mut partner = [0u8; 32];
    rand_core::Rng::fill_bytes(rng, &mut partner);
    let partner = HpkeSecretKey::from_bytes(partner).public_key();
    let umk0 = Umk::random(rng);

    let genesis =
        Statement::sign(0, [0; 32], genesis_body(a.public(), &a.public(), &rec, &pw, &umk0)?, &a.keys).encode();
    let st0 = ChainState::from_genesis(&genesis).map_err(err_text)?;
    let account = st0.account();
    let mut chain = vec![genesis];
    let mut states = vec![st0.clone()];
    let mut push = |bytes: Vec<u8>, st: ChainState, chain: &mut Vec<Vec<u8>>| {
        chain.push(bytes);
        states.push(st);
    };
    let umks0 = BTreeMap::from([(0, umk0.clone())]);
    let ap = approve_device(&st0, &a.keys, &b.keys.pending(&account), &umks0, rng).map_err(err_text)?;
    let b_bundle = ap.bundle_wrap.clone();
    push(ap.statement, ap.state.clone(), &mut chain);
    let (s2, st2) = extend(&ap.state, add_body(&c.keys, &account), &rec.authority).map_err(err_text)?;
    push(s2, st2.clone(), &mut chain);
    let (s3, st3) =
        extend(&st2, Body::PinPartner { key: partner, label: "Alex (partner)".into() }, &b.keys).map_err(err_text)?;
    push(s3, st3.clone(), &mut chain);
    // C's envelope at sequence 17 is pinned by its identity ([CHAIN-20], [SYNC-14]).
    let mut last = [0u8; 32];
    rand_core::Rng::fill_bytes(rng, &mut last);
    let rot = revoke_and_rotate(&st3, &a.keys, &c.public().id(), 17, last, rng).map_err(err_text)?;
    push(rot.statements[0].clone(), rot.state.clone(), &mut chain);
    let rot2 = blindsync::chain::rotate(&rot.state, &a.keys, rng).map_err(err_text)?;
    push(rot2.statements[0].clone(), rot2.state.clone(), &mut chain);
    let (s6, st6) = extend(&rot2.state, Body::UnpinPartner { key: partner }, &b.keys).map_err(err_text)?;
    push(s6, st6.clone(), &mut chain);
    let mut umks = umks0;
    umks.insert(1, rot.umk.clone());
    umks.insert(2, rot2.umk.clone());
    let rep = blindsync::chain::replace_authority(
        &st6,
        &rec.authority,
        &new_pw,
        &blindsync::chain::enrolled_by(&st6, new_pw.path),
        &umks,
        rng,
    )
    .map_err(err_text)?;
    umks.insert(3, rep.umk.clone());
    let st7 = rep.state.clone();
    push(rep.statements[0].clone(), st7.clone(), &mut chain);
    let (s8, st8) = extend(&st7, add_body(&d.keys, &account), &new_pw.authority).map_err(err_text)?;
    push(s8, st8, &mut chain);
    Ok(World { a, b, c, d, rec, pw, new_pw, chain, states, umks, b_bundle })
}

pub(super) fn generate_chain(g: &mut Gen) -> Result<(), String> {
    let mut rng = SeededRng::from_label("blindsync/vectors/v1/chain");
    let w = build(&mut rng)?;
    let chain = &w.chain;
    let st = |n: usize| w.states.get(n).cloned().ok_or_else(|| format!("no state {n}"));
    let chain_input = |c: &[Vec<u8>]| obj([("chain", list_json(c))]);
    let acct = st(0)?.account();

    // Fingerprint.
    g.ok(
        "account_fingerprint",
        "fingerprint of the vector account",
        &["CHAIN-5"],
        obj([("account_id", hex_value(&st(0)?.account().0))]),
    )?;

    let mut pk = [0u8; 32];
    rand_core::Rng::fill_bytes(&mut rng, &mut pk);
    let pk = HpkeSecretKey::from_bytes(pk).public_key();
    g.ok(
        "partner_fingerprint",
        "fingerprint of a partner key, compared before pinning",
        &["CHAIN-5", "CHAIN-15"],
        obj([("account_id", hex_value(&st(0)?.account().0)), ("key", hex_value(&pk))]),
    )?;
    let code = blindsync::unlock::recovery::RecoveryCode::generate(&mut rng);
    g.ok(
        "unlock_path_keys",
        "recovery path: authority and sealing public keys from the recovery code",
        &["CHAIN-13"],
        obj([("path", json!("recovery")), ("text", json!(code.to_text().as_str()))]),
    )?;
    let kdf = blindsync::unlock::password::PasswordKdf {
        params: blindsync::unlock::password::KdfParams::FLOOR,
        ..blindsync::unlock::password::PasswordKdf::generate(&mut rng)
    };
    g.ok(
        "unlock_path_keys",
        "password path: authority and sealing public keys from the password (floor parameters)",
        &["CHAIN-13"],
        obj([
            ("path", json!("password")),
            ("text", json!("correct horse battery staple")),
            ("kdf", super::password::kdf_json(&kdf)),
        ]),
    )?;

    // One statement of every kind.
    let names = [
        (
            0,
            "genesis: first device, both authorities with proofs of possession, pinned KDF, epoch 0 and its key check",
            vec!["CHAIN-1", "CHAIN-2", "CHAIN-4", "CHAIN-16", "CHAIN-17", "CHAIN-18"],
        ),
        (
            1,
            "add device signed by an active device (pairing): proof of possession and bundle commitment",
            vec!["CHAIN-1", "CHAIN-2", "CHAIN-17", "DEV-5"],
        ),
        (
            2,
            "add device signed by the recovery authority (enrollment): zero bundle commitment",
            vec!["CHAIN-1", "CHAIN-13"],
        ),
        (3, "pin partner with a label", vec!["CHAIN-1", "CHAIN-15"]),
        (4, "revoke device with its sequence bound", vec!["CHAIN-1", "CHAIN-9"]),
        (
            5,
            "rotate epoch: the new UMK wrapped to the remaining devices and both unlock paths",
            vec!["CHAIN-1", "CHAIN-11"],
        ),
        (6, "unpin partner", vec!["CHAIN-1", "CHAIN-15"]),
        (
            7,
            "replace the password authority, signed by the recovery authority (password reset)",
            vec!["CHAIN-1", "CHAIN-14"],
        ),
    ];
    for (i, d, reqs) in &names {
        let bytes = chain.get(*i).ok_or("chain too short")?;
        let input = if *i == 0 {
            obj([("statement", hex_value(bytes))])
        } else {
            obj([("statement", hex_value(bytes)), ("account_id", hex_value(&acct.0))])
        };
        g.ok("chain_statement_decode", d, reqs, input)?;
    }
    let mut cut = chain[1].clone();
    cut.pop();
    g.err(
        "chain_statement_decode",
        "statement without its last signature byte",
        &["CHAIN-1"],
        obj([("statement", hex_value(&cut))]),
        Error::DecodeTruncated,
    )?;
    let mut kind = chain[1].clone();
    // kind byte: label (4 + 28) + position (8) + prev (32)
    let kind_at = 4 + labels::CHAIN_STATEMENT.len() + 8 + 32;
    if let Some(k) = kind.get_mut(kind_at) {
        *k = 9;
    }
    g.err(
        "chain_statement_decode",
        "unknown statement kind 9",
        &["CHAIN-1"],
        obj([("statement", hex_value(&kind))]),
        Error::DecodeValue,
    )?;
    // [CHAIN-1] the chain length bound: a position of MAX_CHAIN_LEN (4096) is refused, the one
    // below it decodes (the statement is statement 1 with its position bytes changed)
    let pos_at = 4 + labels::CHAIN_STATEMENT.len();
    for (position, ok) in [(blindsync::chain::MAX_CHAIN_LEN - 1, true), (blindsync::chain::MAX_CHAIN_LEN, false)] {
        let mut st = chain[1].clone();
        if let Some(x) = st.get_mut(pos_at..pos_at + 8) {
            x.copy_from_slice(&position.to_be_bytes());
        }
        let input = obj([("statement", hex_value(&st))]);
        if ok {
            g.ok("chain_statement_decode", "position 4095, the greatest below MAX_CHAIN_LEN", &["CHAIN-1"], input)?;
        } else {
            let d = "position 4096 = MAX_CHAIN_LEN: the chain length bound";
            g.err("chain_statement_decode", d, &["CHAIN-1"], input, Error::DecodeValue)?;
        }
    }

    // The whole chain.
    let all = ["CHAIN-3", "CHAIN-6", "CHAIN-7", "CHAIN-8", "CHAIN-9", "CHAIN-11", "CHAIN-13", "CHAIN-14", "CHAIN-15"];
    g.ok("chain_verify", "nine statements of all seven kinds, verified from genesis", &all, chain_input(chain))?;

    // Refusals, one per failure class.
    let verify_err = |g: &mut Gen, d: &str, reqs: &[&str], c: Vec<Vec<u8>>, e: Error| {
        g.err("chain_verify", d, reqs, chain_input(&c), e)
    };
    let with = |n: usize, extra: Vec<u8>| [chain[..n].to_vec(), vec![extra]].concat();

    verify_err(
        g,
        "a chain that starts with an add-device statement",
        &["CHAIN-8"],
        chain[1..].to_vec(),
        Error::ChainGenesis,
    )?;
    let g2 = Statement::sign(
        1,
        st(0)?.head().hash,
        genesis_body(w.b.public(), &w.b.public(), &w.rec, &w.pw, &w.umks[&0])?,
        &w.b.keys,
    )
    .encode();
    // B is no device yet at position 1: the kind check (step 4) comes before the signer's (step 5).
    let g2_by_a = Statement::sign(
        1,
        st(0)?.head().hash,
        genesis_body(w.b.public(), &w.b.public(), &w.rec, &w.pw, &w.umks[&0])?,
        &w.a.keys,
    )
    .encode();
    let add_by_b = Statement::sign(1, st(0)?.head().hash, add_body(&w.c.keys, &acct), &w.b.keys).encode();
    g.multi(
        "chain_verify",
        "a second genesis at position 1",
        &["CHAIN-8"],
        chain_input(&with(1, g2)),
        vec![
            fault("a genesis at position 1", Error::ChainGenesis, chain_input(&with(1, g2_by_a))),
            fault(
                "signed by B, not a device at position 1",
                Error::ChainSignerUnknown,
                chain_input(&with(1, add_by_b)),
            ),
        ],
    )?;
    let wrong_prev = Statement::sign(2, [0x55; 32], add_body(&w.c.keys, &acct), &w.a.keys).encode();
    verify_err(
        g,
        "broken hash link: prev is not the hash of statement 1",
        &["CHAIN-3"],
        with(2, wrong_prev),
        Error::ChainLink,
    )?;
    let mut reordered = chain[..4].to_vec();
    reordered.swap(2, 3);
    verify_err(g, "statements 2 and 3 swapped", &["CHAIN-10"], reordered, Error::ChainPosition)?;
    verify_err(g, "statement 1 duplicated", &["CHAIN-10"], with(2, chain[1].clone()), Error::ChainPosition)?;
    g.tag(&[Flag::Replay])?;
    let mut badsig = chain[..3].to_vec();
    if let Some(x) = badsig[2].last_mut() {
        *x ^= 0x01;
    }
    verify_err(g, "flipped bit in the signature of statement 2", &["CHAIN-2"], badsig, Error::ChainSignature)?;
    let stranger = Dev::new(&mut rng);
    let unknown = next_statement(&st(1)?, add_body(&stranger.keys, &acct), &stranger.keys).encode();
    verify_err(
        g,
        "device injection: add-device signed by a key the chain never authorized",
        &["CHAIN-6"],
        with(2, unknown),
        Error::ChainSignerUnknown,
    )?;
    g.tag(&[Flag::Injection])?;
    let by_revoked = next_statement(&st(5)?, add_body(&stranger.keys, &acct), &w.c.keys).encode();
    verify_err(
        g,
        "add-device signed by the revoked device after its revocation",
        &["CHAIN-9"],
        with(6, by_revoked),
        Error::ChainSignerRevoked,
    )?;
    let by_old_pw = next_statement(&st(7)?, add_body(&stranger.keys, &acct), &w.pw.authority).encode();
    verify_err(
        g,
        "add-device signed by the replaced (old) password authority",
        &["CHAIN-14"],
        with(8, by_old_pw),
        Error::ChainSignerRevoked,
    )?;
    let pw_revokes =
        next_statement(&st(3)?, revoke_one(w.b.public().id(), 0, [0; 32], 1, [0; 32], vec![]), &w.pw.authority)
            .encode();
    verify_err(
        g,
        "the password authority may not revoke a device",
        &["CHAIN-6"],
        with(4, pw_revokes),
        Error::ChainNotAuthorized,
    )?;
    let dev_replaces_pw = next_statement(
        &st(3)?,
        Body::ReplaceAuthority {
            path: UnlockPath::Password,
            authority: w.new_pw.public(),
            kdf: w.new_pw.chain_kdf(),
            pop: w.new_pw.possession(7, &acct.0),
            reconfirm: vec![],
            epoch: 1,
            key_check: [0; 32],
            wraps: vec![],
        },
        &w.a.keys,
    )
    .encode();
    verify_err(
        g,
        "an active device may not replace the password authority (only an unlock path may)",
        &["CHAIN-6", "CHAIN-14"],
        with(4, dev_replaces_pw),
        Error::ChainNotAuthorized,
    )?;
    // Epoch going backwards: after epoch 2, a rotate to epoch 0 with otherwise valid wraps.
    let st6 = st(6)?;
    let mut back = Vec::new();
    for d in st6.devices().values() {
        back.push(blindsync::chain::epoch_wrap(&st6.account(), 0, &d.x25519, &w.umks[&0], &mut rng).map_err(err_text)?);
    }
    for p in [UnlockPath::Recovery, UnlockPath::Password] {
        let a = st6.authority(p).ok_or("authority")?;
        back.push(
            blindsync::chain::epoch_wrap(&st6.account(), 0, &a.sealing, &w.umks[&0], &mut rng).map_err(err_text)?,
        );
    }
    blindsync::chain::statement::sort_wraps(&mut back);
    let backwards = next_statement(
        &st6,
        Body::RotateEpoch { epoch: 0, key_check: w.umks[&0].key_check(0), wraps: back },
        &w.a.keys,
    )
    .encode();
    verify_err(
        g,
        "rotate-epoch whose epoch goes backwards (0 after 2)",
        &["CHAIN-11"],
        with(7, backwards),
        Error::ChainEpoch,
    )?;
    // A rotation that also wraps to the revoked device.
    let st5 = st(4)?; // after C's revocation (epoch 1)
    let mut leak = Vec::new();
    for x in
        st5.devices().values().map(|d| d.x25519).chain([w.c.public().x25519]).chain(
            [UnlockPath::Recovery, UnlockPath::Password].iter().filter_map(|p| st5.authority(*p).map(|a| a.sealing)),
        )
    {
        leak.push(blindsync::chain::epoch_wrap(&st5.account(), 2, &x, &w.umks[&2], &mut rng).map_err(err_text)?);
    }
    blindsync::chain::statement::sort_wraps(&mut leak);
    let leaky = next_statement(
        &st5,
        Body::RotateEpoch { epoch: 2, key_check: w.umks[&2].key_check(2), wraps: leak },
        &w.a.keys,
    )
    .encode();
    verify_err(
        g,
        "rotate-epoch that also wraps the new UMK to the revoked device",
        &["CHAIN-11"],
        with(5, leaky),
        Error::ChainRecipients,
    )?;
    let again =
        next_statement(&st(5)?, revoke_one(w.c.public().id(), 99, [9; 32], 3, [0; 32], vec![]), &w.a.keys).encode();
    verify_err(g, "revoking a device that is already revoked", &["CHAIN-9"], with(6, again), Error::ChainState)?;
    let low = next_statement(
        &st(1)?,
        add_keys(&stranger.keys, &acct, DevicePublic { ed25519: stranger.public().ed25519, x25519: LOW_ORDER }),
        &w.a.keys,
    )
    .encode();
    verify_err(
        g,
        "add-device with a low-order X25519 public key",
        &["DEV-2", "HPKE-3"],
        with(2, low),
        Error::HpkeLowOrder,
    )?;
    let weak = next_statement(
        &st(1)?,
        add_keys(&stranger.keys, &acct, DevicePublic { ed25519: WEAK_ED25519, x25519: stranger.public().x25519 }),
        &w.a.keys,
    )
    .encode();
    verify_err(g, "add-device with a small-order Ed25519 key", &["DEV-2"], with(2, weak), Error::DeviceKeyInvalid)?;
    g.tag(&[Flag::SmallOrderKey])?;

    // Update: rollback and fork.
    let upd = |known: &[Vec<u8>], served: &[Vec<u8>]| obj([("known", list_json(known)), ("served", list_json(served))]);
    g.ok("chain_update", "a device at length 4 takes the full chain", &["CHAIN-10"], upd(&chain[..4], chain))?;
    g.err(
        "chain_update",
        "rollback: the server serves 6 statements to a device that verified 8",
        &["CHAIN-10"],
        upd(&chain[..8], &chain[..6]),
        Error::ChainRollback,
    )?;
    g.tag(&[Flag::Withholding])?;
    let alt = next_statement(&st(3)?, add_body(&stranger.keys, &acct), &w.b.keys).encode();
    g.multi(
        "chain_update",
        "fork: another valid statement at position 4",
        &["CHAIN-10"],
        upd(&chain[..6], &with(4, alt.clone())),
        vec![
            fault("another statement at position 4", Error::ChainFork, upd(&chain[..5], &with(4, alt.clone()))),
            fault(
                "5 statements served to a device that verified 6",
                Error::ChainRollback,
                upd(&chain[..6], &chain[..5]),
            ),
        ],
    )?;

    // Epoch wraps: the remaining device opens epoch 1, the revoked one gets nothing new.
    let [_, a2] = w.a.seeds();
    g.ok(
        "chain_open_epochs",
        "device A opens epoch 1 from the rotate statement",
        &["CHAIN-12", "CHAIN-11"],
        obj([("chain", list_json(chain)), a2]),
    )?;
    let [_, c2] = w.c.seeds();
    g.ok(
        "chain_open_epochs",
        "the revoked device C finds no wrap: it is locked out of epoch 1",
        &["CHAIN-11", "CHAIN-12"],
        obj([("chain", list_json(chain)), c2]),
    )?;
    g.ok(
        "chain_open_epochs",
        "the new password path's sealing key opens epochs 0 and 1 from the replace statement",
        &["CHAIN-13", "CHAIN-14"],
        obj([("chain", list_json(chain)), ("x25519_secret", hex_value(w.new_pw.sealing.expose()))]),
    )?;
    let rot = Statement::decode(&chain[5]).map_err(err_text)?;
    let Body::RotateEpoch { wraps, .. } = &rot.body else { return Err("not a rotate".into()) };
    let to_a = wraps.iter().find(|x| x.recipient == w.a.public().x25519).ok_or("no wrap to A")?;
    let ew = |key: &[u8]| {
        obj([
            ("account_id", hex_value(&st(0).map(|x| x.account().0).unwrap_or_default())),
            ("recipient", hex_value(&to_a.recipient)),
            ("epoch", json!(to_a.epoch)),
            ("enc", hex_value(&to_a.enc)),
            ("ct", hex_value(&to_a.ct)),
            ("x25519_secret", hex_value(key)),
        ])
    };
    g.ok(
        "epoch_wrap_open",
        "A's wrap of the epoch-1 UMK, with HPKE intermediates",
        &["CHAIN-12", "HPKE-4"],
        ew(w.a.keys.hpke_key().expose()),
    )?;
    g.err(
        "epoch_wrap_open",
        "the revoked device tries A's wrap",
        &["CHAIN-11", "CHAIN-12"],
        ew(w.c.keys.hpke_key().expose()),
        Error::HpkeOpen,
    )?;
    g.tag(&[Flag::WrongKey, Flag::RevokedKey])?;

    // Pairing accept: B with the bundle A committed to in statement 1.
    let st0 = st(0)?;
    let [b1, b2] = w.b.seeds();
    let pin = obj([
        b1,
        b2,
        ("account_id", hex_value(&st0.account().0)),
        ("approver_id", hex_value(&w.a.public().id().0)),
        ("bundle_wrap", hex_value(&w.b_bundle)),
        ("chain", list_json(chain)),
    ]);
    g.ok(
        "pairing_accept",
        "B checks the committed bundle, opens it, verifies the chain and collects epochs 0 and 1, each against its key check",
        &["DEV-5", "DEV-6", "CHAIN-16"],
        pin.clone(),
    )?;
    g.err(
        "pairing_accept",
        "the server serves only the genesis: B's add-device statement is withheld",
        &["DEV-6", "CHAIN-10"],
        set(&pin, "chain", list_json(&chain[..1])),
        Error::DeviceKeyMismatch,
    )?;
    g.tag(&[Flag::Withholding])?;
    generate_chain_checks(g, &w, &pin, &mut rng)
}

/// The checks no earlier vector reaches: genesis rules, key reuse, partner
/// and replace-authority state rules, decode errors, pairing mismatches and
/// strict signature verification. One failure each.
fn generate_chain_checks(g: &mut Gen, w: &World, pin: &Value, rng: &mut SeededRng) -> Result<(), String> {
    let chain = &w.chain;
    let st = |n: usize| w.states.get(n).cloned().ok_or_else(|| format!("no state {n}"));
    let chain_input = |c: &[Vec<u8>]| obj([("chain", list_json(c))]);
    let acct = st(0)?.account();
    let with = |n: usize, extra: Vec<u8>| [chain[..n].to_vec(), vec![extra]].concat();
    let verify_err = |g: &mut Gen, d: &str, reqs: &[&str], c: Vec<Vec<u8>>, e: Error| {
        g.err("chain_verify", d, reqs, chain_input(&c), e)
    };

    // --- genesis ([CHAIN-8]) ---
    // Proofs are valid where the keys are the vector paths' own (anchored on `device`), zero
    // elsewhere: every refusal below comes before the proofs are checked.
    let kdf0 = w.pw.chain_kdf().ok_or("password kdf")?;
    let genesis_fields = |device: DevicePublic, recovery: Authority, password: Authority, epoch: u32| {
        let kc = w.umks[&0].key_check(0);
        let anchor = blindsync::chain::statement::genesis_anchor(&device, &recovery, &password, &kdf0, epoch, &kc);
        Body::Genesis {
            device,
            recovery,
            recovery_pop: if recovery == w.rec.public() { w.rec.possession(1, &anchor) } else { [0; 64] },
            password,
            password_kdf: kdf0,
            password_pop: if password == w.pw.public() { w.pw.possession(1, &anchor) } else { [0; 64] },
            epoch,
            key_check: w.umks[&0].key_check(0),
        }
    };
    let (a, rec, pw) = (w.a.public(), w.rec.public(), w.pw.public());
    let sign_statement =
        |pos: u64, prev: [u8; 32], body: Body, signer: &DeviceKeys| Statement::sign(pos, prev, body, signer);
    verify_err(g, "an empty chain", &["CHAIN-8"], vec![], Error::ChainGenesis)?;
    let bad = sign_statement(1, [0; 32], genesis_fields(a, rec, pw, 0), &w.a.keys).encode();
    verify_err(g, "genesis at position 1", &["CHAIN-8"], vec![bad], Error::ChainGenesis)?;
    let bad = sign_statement(0, [0x11; 32], genesis_fields(a, rec, pw, 0), &w.a.keys).encode();
    verify_err(g, "genesis whose prev is not 32 zero bytes", &["CHAIN-8"], vec![bad], Error::ChainGenesis)?;
    let bad = sign_statement(0, [0; 32], genesis_fields(a, rec, pw, 1), &w.a.keys).encode();
    verify_err(g, "genesis with epoch 1", &["CHAIN-8"], vec![bad], Error::ChainGenesis)?;
    let bad = sign_statement(0, [0; 32], genesis_fields(a, rec, pw, 0), &w.b.keys).encode();
    verify_err(
        g,
        "genesis signed by another device than the one it names",
        &["CHAIN-8"],
        vec![bad],
        Error::ChainGenesis,
    )?;
    let weak_rec = Authority { signing: WEAK_ED25519, sealing: rec.sealing };
    let bad = sign_statement(0, [0; 32], genesis_fields(a, weak_rec, pw, 0), &w.a.keys).encode();
    verify_err(
        g,
        "genesis whose recovery signing key is the small-order identity point",
        &["CHAIN-8", "PRIM-9"],
        vec![bad],
        Error::DeviceKeyInvalid,
    )?;
    g.tag(&[Flag::SmallOrderKey])?;
    let low_pw = Authority { signing: pw.signing, sealing: LOW_ORDER };
    let bad = sign_statement(0, [0; 32], genesis_fields(a, rec, low_pw, 0), &w.a.keys).encode();
    verify_err(
        g,
        "genesis whose password sealing key is of small order",
        &["CHAIN-8", "HPKE-3"],
        vec![bad],
        Error::HpkeLowOrder,
    )?;
    let same_ed = Authority { signing: a.ed25519, sealing: rec.sealing };
    let bad = sign_statement(0, [0; 32], genesis_fields(a, same_ed, pw, 0), &w.a.keys).encode();
    verify_err(
        g,
        "genesis whose recovery signing key equals the device's Ed25519 key",
        &["CHAIN-8"],
        vec![bad],
        Error::ChainGenesis,
    )?;
    let same_x = Authority { signing: pw.signing, sealing: rec.sealing };
    let bad = sign_statement(0, [0; 32], genesis_fields(a, rec, same_x, 0), &w.a.keys).encode();
    verify_err(
        g,
        "genesis whose password sealing key equals the recovery sealing key",
        &["CHAIN-8"],
        vec![bad],
        Error::ChainGenesis,
    )?;
    let mut bad = chain[0].clone();
    if let Some(x) = bad.last_mut() {
        *x ^= 0x01;
    }
    verify_err(g, "genesis with a flipped signature bit", &["CHAIN-8", "CHAIN-2"], vec![bad], Error::ChainSignature)?;
    // A small-order signer with R = identity and S = 0: every message "verifies" under a
    // lax (cofactorless, no small-order check) verifier. The key check refuses it first.
    let small = DevicePublic { ed25519: crate::ed25519::order8_ed25519(), x25519: a.x25519 };
    let mut s0 = Statement {
        position: 0,
        prev: [0; 32],
        body: genesis_fields(small, rec, pw, 0),
        signer: small.ed25519,
        signature: [0; 64],
    };
    s0.signature[0] = 1;
    verify_err(
        g,
        "genesis signed by a small-order (order 8) device key with R = identity, S = 0",
        &["CHAIN-8", "DEV-2", "PRIM-9"],
        vec![s0.encode()],
        Error::DeviceKeyInvalid,
    )?;
    g.tag(&[Flag::SmallOrderKey, Flag::SignatureMalleability])?;
    let nc = DevicePublic { ed25519: crate::ed25519::non_canonical_ed25519()?, x25519: a.x25519 };
    let s0 = Statement {
        position: 0,
        prev: [0; 32],
        body: genesis_fields(nc, rec, pw, 0),
        signer: nc.ed25519,
        signature: [0; 64],
    };
    verify_err(
        g,
        "genesis whose device Ed25519 key is a non-canonical encoding (y + p) of a large-order point",
        &["CHAIN-8", "DEV-2", "PRIM-9"],
        vec![s0.encode()],
        Error::DeviceKeyInvalid,
    )?;
    g.tag(&[Flag::NonCanonical])?;

    // --- strict signatures on a later statement ([CHAIN-2], [PRIM-9]) ---
    let stranger = Dev::new(rng);
    let mut s2 = next_statement(&st(1)?, add_body(&stranger.keys, &acct), &w.a.keys);
    let good = s2.signature;
    s2.signature = crate::ed25519::small_order_r_signature(w.a.keys.signing_seed().expose(), &s2.signed_message());
    verify_err(
        g,
        "add-device whose signature has R = identity and S = k·a (passes a cofactorless lax check)",
        &["CHAIN-2", "PRIM-9"],
        with(2, s2.encode()),
        Error::ChainSignature,
    )?;
    g.tag(&[Flag::SignatureMalleability])?;
    s2.signature = crate::ed25519::s_plus_l(&good);
    verify_err(
        g,
        "add-device whose valid signature has S replaced by S + L (non-canonical)",
        &["CHAIN-2", "PRIM-9"],
        with(2, s2.encode()),
        Error::ChainSignature,
    )?;
    g.tag(&[Flag::SignatureMalleability, Flag::NonCanonical])?;

    // --- fork inside one served chain ([CHAIN-8] step 2) ---
    let alt = next_statement(&st(0)?, add_body(&stranger.keys, &acct), &w.a.keys).encode();
    verify_err(
        g,
        "a different valid statement at position 1 after statement 2",
        &["CHAIN-8", "CHAIN-10"],
        with(3, alt),
        Error::ChainFork,
    )?;

    // --- add device: key reuse ([CHAIN-9]) ---
    let reuse = next_statement(
        &st(1)?,
        add_keys(&w.b.keys, &acct, DevicePublic { ed25519: w.b.public().ed25519, x25519: stranger.public().x25519 }),
        &w.a.keys,
    )
    .encode();
    verify_err(
        g,
        "add-device whose Ed25519 key is an active device's",
        &["CHAIN-9"],
        with(2, reuse),
        Error::ChainState,
    )?;
    let reuse = next_statement(
        &st(5)?,
        add_keys(
            &stranger.keys,
            &acct,
            DevicePublic { ed25519: stranger.public().ed25519, x25519: w.c.public().x25519 },
        ),
        &w.a.keys,
    )
    .encode();
    verify_err(
        g,
        "add-device whose X25519 key is the revoked device's",
        &["CHAIN-9"],
        with(6, reuse),
        Error::ChainState,
    )?;
    let reuse = next_statement(
        &st(7)?,
        add_keys(
            &stranger.keys,
            &acct,
            DevicePublic { ed25519: stranger.public().ed25519, x25519: w.pw.public().sealing },
        ),
        &w.a.keys,
    )
    .encode();
    verify_err(
        g,
        "add-device whose X25519 key is the replaced (retired) password sealing key",
        &["CHAIN-9", "CHAIN-14"],
        with(8, reuse),
        Error::ChainState,
    )?;
    let cross = DevicePublic { ed25519: stranger.public().ed25519, x25519: w.b.public().ed25519 };
    if !hpke::is_low_order(&cross.x25519) {
        let (bytes, _) = extend(&st(1)?, add_keys(&stranger.keys, &acct, cross), &w.a.keys).map_err(err_text)?;
        g.ok(
            "chain_verify",
            "add-device whose X25519 key equals an active device's Ed25519 key: the pools are typed, accepted",
            &["CHAIN-9"],
            chain_input(&with(2, bytes)),
        )?;
    }

    // --- partners ([CHAIN-15]) ---
    let partner = match Statement::decode(&chain[3]).map_err(err_text)?.body {
        Body::PinPartner { key, .. } => key,
        _ => return Err("statement 3 is not a pin".into()),
    };
    let pin_low = next_statement(&st(3)?, Body::PinPartner { key: LOW_ORDER, label: "x".into() }, &w.a.keys).encode();
    verify_err(g, "pin a partner key of small order", &["CHAIN-15", "HPKE-3"], with(4, pin_low), Error::HpkeLowOrder)?;
    let pin_again =
        next_statement(&st(3)?, Body::PinPartner { key: partner, label: "again".into() }, &w.a.keys).encode();
    verify_err(g, "pin a partner key that is already pinned", &["CHAIN-15"], with(4, pin_again), Error::ChainState)?;
    let unpin = next_statement(&st(6)?, Body::UnpinPartner { key: partner }, &w.a.keys).encode();
    verify_err(g, "unpin a key that is not pinned (any more)", &["CHAIN-15"], with(7, unpin), Error::ChainState)?;

    // --- replace authority ([CHAIN-14]) at epoch 2, signed by the recovery authority: it starts epoch 3 ---
    let st6 = st(6)?;
    // `epochs` of the UMKs to the new sealing key, and epoch 3 to every active device and the recovery path.
    let wraps_to = |sealing: &[u8; 32], epochs: &[u32], rng: &mut SeededRng| -> Result<Vec<EpochWrap>, String> {
        let mut out = epochs
            .iter()
            .map(|e| blindsync::chain::epoch_wrap(&st6.account(), *e, sealing, &w.umks[e], rng).map_err(err_text))
            .collect::<Result<Vec<_>, String>>()?;
        let rest =
            st6.devices().values().map(|d| d.x25519).chain(st6.authority(UnlockPath::Recovery).map(|a| a.sealing));
        for x in rest.collect::<Vec<_>>() {
            out.push(blindsync::chain::epoch_wrap(&st6.account(), 3, &x, &w.umks[&3], rng).map_err(err_text)?);
        }
        blindsync::chain::statement::sort_wraps(&mut out);
        Ok(out)
    };
    let fresh_keys = path_keys(rng, UnlockPath::Password);
    let fresh = fresh_keys.public();
    // The proof is signed with the key whose public half is `authority.signing` where we hold it
    // (the fresh keys, or the current password keys); key refusals come before the proof.
    let replace = |authority: Authority, wraps: Vec<EpochWrap>| {
        let holder = if authority.signing == w.pw.public().signing { &w.pw } else { &fresh_keys };
        let kdf = holder.chain_kdf();
        let msg = blindsync::chain::possession_message(
            7,
            PopRole::Password,
            &acct.0,
            &authority.signing,
            &authority.sealing,
            kdf.as_ref().map_or(&[][..], |k| &k[..]),
        );
        let pop = blindsync::chain::ChainSigner::sign_message(&holder.authority, &msg);
        let key_check = w.umks[&3].key_check(3);
        let body = Body::ReplaceAuthority {
            path: UnlockPath::Password,
            authority,
            kdf,
            pop,
            reconfirm: vec![],
            epoch: 3,
            key_check,
            wraps,
        };
        next_statement(&st6, body, &w.rec.authority).encode()
    };
    let ws = wraps_to(&fresh.sealing, &[0, 1, 2, 3], rng)?;
    verify_err(
        g,
        "replace authority with a small-order signing key",
        &["CHAIN-14", "PRIM-9"],
        with(7, replace(Authority { signing: WEAK_ED25519, sealing: fresh.sealing }, ws.clone())),
        Error::DeviceKeyInvalid,
    )?;
    g.tag(&[Flag::SmallOrderKey])?;
    // HPKE cannot seal to a low-order key, so these wraps carry random bytes: only their
    // recipients and epochs are checked by the verifier, and the key check comes first.
    let low_wraps: Vec<EpochWrap> = (0..=3u32)
        .map(|epoch| {
            let mut enc = [0u8; 32];
            let mut ct = [0u8; blindsync::chain::statement::EPOCH_WRAP_CT_LEN];
            rand_core::Rng::fill_bytes(rng, &mut enc);
            rand_core::Rng::fill_bytes(rng, &mut ct);
            EpochWrap { recipient: LOW_ORDER, epoch, enc, ct }
        })
        .collect();
    verify_err(
        g,
        "replace authority with a small-order sealing key",
        &["CHAIN-14", "HPKE-3"],
        with(7, replace(Authority { signing: fresh.signing, sealing: LOW_ORDER }, low_wraps)),
        Error::HpkeLowOrder,
    )?;
    let cur = w.pw.public();
    let wc = wraps_to(&cur.sealing, &[0, 1, 2, 3], rng)?;
    verify_err(
        g,
        "replace authority that keeps the path's current keys (already in use)",
        &["CHAIN-14", "CHAIN-9"],
        with(7, replace(cur, wc)),
        Error::ChainState,
    )?;
    let reused = Authority { signing: fresh.signing, sealing: w.a.public().x25519 };
    // (only the wraps to the new key: the refusal comes before the wraps are read, and a second
    // epoch-3 wrap to A's key would be a duplicate entry, a decoding error)
    let wr = (0..=3u32)
        .map(|e| blindsync::chain::epoch_wrap(&st6.account(), e, &reused.sealing, &w.umks[&e], rng).map_err(err_text))
        .collect::<Result<Vec<_>, String>>()?;
    verify_err(
        g,
        "replace authority whose new sealing key is an active device's X25519 key",
        &["CHAIN-14", "CHAIN-9"],
        with(7, replace(reused, wr)),
        Error::ChainState,
    )?;
    let w1 = wraps_to(&fresh.sealing, &[1, 2, 3], rng)?;
    verify_err(
        g,
        "replace authority whose wraps miss epoch 0",
        &["CHAIN-14"],
        with(7, replace(fresh, w1)),
        Error::ChainRecipients,
    )?;
    let mut w_old = wraps_to(&fresh.sealing, &[0, 1, 2, 3], rng)?;
    w_old.push(
        blindsync::chain::epoch_wrap(&st6.account(), 3, &w.pw.public().sealing, &w.umks[&3], rng).map_err(err_text)?,
    );
    blindsync::chain::statement::sort_wraps(&mut w_old);
    verify_err(
        g,
        "password change that also gives the new epoch to the old password's sealing key",
        &["CHAIN-14"],
        with(7, replace(fresh, w_old)),
        Error::ChainRecipients,
    )?;
    let good = replace(fresh, wraps_to(&fresh.sealing, &[0, 1, 2, 3], rng)?);
    let mut no_rot = Statement::decode(&good).map_err(err_text)?;
    if let Body::ReplaceAuthority { epoch, .. } = &mut no_rot.body {
        *epoch = 2;
    }
    let no_rot = next_statement(&st6, no_rot.body, &w.rec.authority).encode();
    verify_err(
        g,
        "password change that does not start a new epoch (epoch stays 2)",
        &["CHAIN-14"],
        with(7, no_rot),
        Error::ChainEpoch,
    )?;
    // Malware on a device installs recovery keys of its own: only an unlock path may replace one.
    let mal = path_keys(rng, UnlockPath::Recovery);
    let mal_wraps = wraps_to(&mal.public().sealing, &[0, 1, 2, 3], rng)?;
    let mal_body = Body::ReplaceAuthority {
        path: UnlockPath::Recovery,
        authority: mal.public(),
        kdf: None,
        pop: mal.possession(7, &acct.0),
        reconfirm: vec![],
        epoch: 3,
        key_check: w.umks[&3].key_check(3),
        wraps: mal_wraps,
    };
    verify_err(
        g,
        "a device replaces the recovery authority (malware installing its own recovery keys)",
        &["CHAIN-6", "CHAIN-14"],
        with(7, next_statement(&st6, mal_body, &w.b.keys).encode()),
        Error::ChainNotAuthorized,
    )?;

    // --- rotate: a wrap entry for the wrong epoch ([CHAIN-11]) ---
    let st4 = st(4)?;
    let mut ws = Vec::new();
    let recips: Vec<[u8; 32]> = st4
        .devices()
        .values()
        .map(|d| d.x25519)
        .chain([UnlockPath::Recovery, UnlockPath::Password].iter().filter_map(|p| st4.authority(*p).map(|a| a.sealing)))
        .collect();
    for (i, x) in recips.iter().enumerate() {
        let e = if i == 0 { 1 } else { 2 };
        ws.push(blindsync::chain::epoch_wrap(&st4.account(), e, x, &w.umks[&e], rng).map_err(err_text)?);
    }
    blindsync::chain::statement::sort_wraps(&mut ws);
    let rot =
        next_statement(&st4, Body::RotateEpoch { epoch: 2, key_check: w.umks[&2].key_check(2), wraps: ws }, &w.a.keys)
            .encode();
    verify_err(
        g,
        "rotate to epoch 2 with one wrap entry labelled epoch 1",
        &["CHAIN-11"],
        with(5, rot),
        Error::ChainRecipients,
    )?;

    // --- statement decoding ([CHAIN-1]) ---
    let dec_err = |g: &mut Gen, d: &str, bytes: &[u8], e: Error| {
        g.err("chain_statement_decode", d, &["CHAIN-1"], obj([("statement", hex_value(bytes))]), e)
    };
    let mut lab = chain[1].clone();
    if let Some(x) = lab.get_mut(4) {
        *x ^= 0x20;
    }
    dec_err(g, "wrong label (first label byte changed)", &lab, Error::DecodeLabel)?;
    let mut tr = chain[1].clone();
    tr.push(0);
    dec_err(g, "one trailing zero byte after the signature", &tr, Error::DecodeTrailing)?;
    let long = Statement {
        position: 4,
        prev: [0; 32],
        body: Body::PinPartner { key: partner, label: "x".repeat(65) },
        signer: w.a.public().ed25519,
        signature: [0; 64],
    };
    dec_err(g, "pin-partner label of 65 bytes", &long.encode(), Error::DecodeLength)?;
    let mut utf = Statement { body: Body::PinPartner { key: partner, label: "ab".into() }, ..long.clone() }.encode();
    let at = 4 + labels::CHAIN_STATEMENT.len() + 8 + 32 + 1 + 32 + 4;
    if let Some(x) = utf.get_mut(at..at + 2) {
        x.copy_from_slice(&[0xff, 0xfe]);
    }
    dec_err(g, "pin-partner label that is not UTF-8", &utf, Error::DecodeValue)?;
    let empty = Statement { body: Body::PinPartner { key: partner, label: String::new() }, ..long.clone() };
    g.ok(
        "chain_statement_decode",
        "pin-partner with an empty label decodes (signature not checked by decoding)",
        &["CHAIN-1"],
        obj([("statement", hex_value(&empty.encode()))]),
    )?;
    let mut rot5 = Statement::decode(&chain[5]).map_err(err_text)?;
    if let Body::RotateEpoch { wraps, .. } = &mut rot5.body {
        wraps.reverse();
    }
    dec_err(g, "rotate-epoch wraps in descending order", &rot5.encode(), Error::DecodeValue)?;
    let kind_at = 4 + labels::CHAIN_STATEMENT.len() + 8 + 32;
    let mut n = chain[5].clone();
    // kind (1) ‖ epoch (4) ‖ key_check (32), then the wrap count
    if let Some(x) = n.get_mut(kind_at + 37..kind_at + 41) {
        x.copy_from_slice(&1025u32.to_be_bytes());
    }
    dec_err(g, "rotate-epoch declaring 1025 wraps", &n, Error::DecodeLength)?;
    let mut p = chain[7].clone();
    if let Some(x) = p.get_mut(kind_at + 1) {
        *x = 3;
    }
    dec_err(g, "replace-authority with unknown path 3", &p, Error::DecodeValue)?;

    // --- pairing_accept ([DEV-6]) ---
    let st0 = st(0)?;
    let umks0 = BTreeMap::from([(0, w.umks[&0].clone())]);
    let bundle = |account: AccountId, umks: BTreeMap<u32, Umk>| IdentityBundle { account, umks };
    let [x1, x2] = stranger.seeds();
    let wx = wrap_bundle(&bundle(st0.account(), umks0.clone()), &stranger.public(), rng).map_err(err_text)?;
    g.err(
        "pairing_accept",
        "a valid bundle to a device the chain never added: the approver added other keys",
        &["DEV-6"],
        obj([
            x1,
            x2,
            ("account_id", hex_value(&st0.account().0)),
            ("approver_id", hex_value(&w.a.public().id().0)),
            ("bundle_wrap", hex_value(&wx)),
            ("chain", list_json(chain)),
        ]),
        Error::DeviceKeyMismatch,
    )?;
    let other = AccountId([0x42; 32]);
    let wo = wrap_bundle(&bundle(other, umks0.clone()), &w.b.public(), rng).map_err(err_text)?;
    g.err(
        "pairing_accept",
        "a bundle for another account, with this account's chain",
        &["DEV-6", "CHAIN-4"],
        set(&set(pin, "account_id", hex_value(&other.0)), "bundle_wrap", hex_value(&wo)),
        Error::ChainGenesis,
    )?;
    g.tag(&[Flag::WrongContext])?;
    // The critical finding: the server seals its own bundle (the real account, UMKs it chose) to
    // B's X25519 key, which it learnt from the pending registration.
    let mut forged = BTreeMap::new();
    forged.insert(0, Umk::random(rng));
    forged.insert(1, Umk::random(rng));
    let wf = wrap_bundle(&bundle(st0.account(), forged), &w.b.public(), rng).map_err(err_text)?;
    g.err(
        "pairing_accept",
        "forged identity bundle: sealed by the server (not the approver) with UMKs it chose",
        &["DEV-5", "DEV-6"],
        set(pin, "bundle_wrap", hex_value(&wf)),
        Error::DeviceBundle,
    )?;
    g.tag(&[Flag::Injection])?;
    let mut t = JsonObject(pin).hex("bundle_wrap").map_err(err_text)?;
    if let Some(x) = t.get_mut(40) {
        *x ^= 0x01;
    }
    g.err(
        "pairing_accept",
        "bundle ciphertext tampered (byte 40): no longer the wrap the add-device statement commits to",
        &["DEV-5", "DEV-6"],
        set(pin, "bundle_wrap", hex_value(&t)),
        Error::DeviceBundle,
    )?;
    g.tag(&[Flag::ModifiedCiphertext])?;
    let [d1, d2] = w.d.seeds();
    let wd = wrap_bundle(&bundle(st0.account(), w.umks.clone()), &w.d.public(), rng).map_err(err_text)?;
    g.err(
        "pairing_accept",
        "a bundle for D, which an unlock path enrolled (commitment of zeros: no bundle)",
        &["DEV-5", "DEV-6"],
        obj([
            d1,
            d2,
            ("account_id", hex_value(&st0.account().0)),
            ("approver_id", hex_value(&w.a.public().id().0)),
            ("bundle_wrap", hex_value(&wd)),
            ("chain", list_json(chain)),
        ]),
        Error::DeviceBundle,
    )?;
    // A device revoked on the real chain (C, at 4) adds the new device N on a fork before its
    // revocation, committing to a bundle C sealed itself. N was approved on A.
    let n_dev = Dev::new(rng);
    let w_fork = wrap_bundle(&bundle(acct, umks0.clone()), &n_dev.public(), rng).map_err(err_text)?;
    let body = Body::AddDevice {
        device: n_dev.public(),
        pop: device_possession(&n_dev.keys, &acct),
        bundle_commit: bundle_commit(&w_fork),
    };
    let fork = [chain[..4].to_vec(), vec![next_statement(&st(3)?, body, &w.c.keys).encode()]].concat();
    let [n1, n2] = n_dev.seeds();
    let fork_in = |approver: &DevicePublic| {
        obj([
            n1.clone(),
            n2.clone(),
            ("account_id", hex_value(&acct.0)),
            ("approver_id", hex_value(&approver.id().0)),
            ("bundle_wrap", hex_value(&w_fork)),
            ("chain", list_json(&fork)),
        ])
    };
    g.err(
        "pairing_accept",
        "a revoked device adds the new device on a fork before its revocation: not the approver the person compared with",
        &["DEV-4", "DEV-6"],
        fork_in(&w.a.public()),
        Error::DeviceBundle,
    )?;
    // A compromised approver commits to bundles whose UMKs the chain does not vouch for.
    let e_dev = Dev::new(rng);
    let bad_bundle = |umks: BTreeMap<u32, Umk>, base: &ChainState, rng: &mut SeededRng| -> Result<Value, String> {
        let wrap = wrap_bundle(&bundle(acct, umks), &e_dev.public(), rng).map_err(err_text)?;
        let body = Body::AddDevice {
            device: e_dev.public(),
            pop: device_possession(&e_dev.keys, &acct),
            bundle_commit: bundle_commit(&wrap),
        };
        let stmt = next_statement(base, body, &w.a.keys).encode();
        let served: Vec<Vec<u8>> = [base.encoded(), vec![stmt]].concat();
        let [e1, e2] = e_dev.seeds();
        Ok(obj([
            e1,
            e2,
            ("account_id", hex_value(&acct.0)),
            ("approver_id", hex_value(&w.a.public().id().0)),
            ("bundle_wrap", hex_value(&wrap)),
            ("chain", list_json(&served)),
        ]))
    };
    let mut wrong0 = BTreeMap::new();
    wrong0.insert(0, Umk::random(rng));
    g.err(
        "pairing_accept",
        "the committed bundle carries a UMK_0 that does not match key_check_0 (compromised approver)",
        &["DEV-6", "CHAIN-16"],
        bad_bundle(wrong0, &st(1)?, rng)?,
        Error::KeyCheck,
    )?;
    g.err(
        "pairing_accept",
        "the committed bundle at epoch 1 omits epoch 1",
        &["DEV-6", "CHAIN-16"],
        bad_bundle(umks0.clone(), &st(6)?, rng)?,
        Error::KeyCheck,
    )?;

    // --- proofs of possession ([CHAIN-17]) ---
    let zero_pop = Body::AddDevice { device: stranger.public(), pop: [0; 64], bundle_commit: NO_BUNDLE };
    verify_err(
        g,
        "add-device whose key comes without a proof of possession (zero proof)",
        &["CHAIN-9", "CHAIN-17"],
        with(2, next_statement(&st(1)?, zero_pop, &w.a.keys).encode()),
        Error::ChainPossession,
    )?;
    let foreign = Body::AddDevice {
        device: stranger.public(),
        pop: device_possession(&stranger.keys, &AccountId([0x42; 32])),
        bundle_commit: NO_BUNDLE,
    };
    verify_err(
        g,
        "add-device whose proof of possession was signed for another account",
        &["CHAIN-9", "CHAIN-17"],
        with(2, next_statement(&st(1)?, foreign, &w.a.keys).encode()),
        Error::ChainPossession,
    )?;
    // A counterfeit chain: the server's own genesis and authorities, then a replace-authority
    // that installs the victim's real recovery keys (public: they sit in the victim's chain) with
    // the only proof it has, the victim genesis's.
    let srv = Dev::new(rng);
    let srv_rec = path_keys(rng, UnlockPath::Recovery);
    let srv_pw = path_keys(rng, UnlockPath::Password);
    let srv_umk = Umk::random(rng);
    let srv_g =
        Statement::sign(0, [0; 32], genesis_body(srv.public(), &srv.public(), &srv_rec, &srv_pw, &srv_umk)?, &srv.keys)
            .encode();
    let srv_st = ChainState::from_genesis(&srv_g).map_err(err_text)?;
    let victim_pop = match &Statement::decode(&chain[0]).map_err(err_text)?.body {
        Body::Genesis { recovery_pop, .. } => *recovery_pop,
        _ => return Err("statement 0 is not a genesis".into()),
    };
    let steal_wraps = vec![
        blindsync::chain::epoch_wrap(&srv_st.account(), 0, &w.rec.public().sealing, &srv_umk, rng).map_err(err_text)?,
    ];
    let steal = Body::ReplaceAuthority {
        path: UnlockPath::Recovery,
        authority: w.rec.public(),
        kdf: None,
        pop: victim_pop,
        reconfirm: vec![],
        epoch: 1,
        key_check: srv_umk.key_check(1),
        wraps: steal_wraps,
    };
    // Signed by the server's own recovery authority (the path replaces itself, [CHAIN-6]).
    let steal = next_statement(&srv_st, steal, &srv_rec.authority).encode();
    verify_err(
        g,
        "counterfeit chain: a replace-authority installs the victim's recovery keys with a proof copied from the victim's genesis",
        &["CHAIN-14", "CHAIN-17"],
        vec![srv_g.clone(), steal],
        Error::ChainPossession,
    )?;
    let mut cg = genesis_body(srv.public(), &srv.public(), &w.rec, &srv_pw, &srv_umk)?;
    if let Body::Genesis { recovery_pop, .. } = &mut cg {
        *recovery_pop = victim_pop;
    }
    verify_err(
        g,
        "counterfeit genesis: the victim's recovery keys with the proof copied from the victim's genesis (other anchor)",
        &["CHAIN-8", "CHAIN-17"],
        vec![Statement::sign(0, [0; 32], cg, &srv.keys).encode()],
        Error::ChainPossession,
    )?;
    let mut weak_kdf = PasswordKdf::decode(&kdf0).map_err(err_text)?;
    weak_kdf.params.m_kib = 1024;
    let mut wg = genesis_fields(a, rec, pw, 0);
    if let Body::Genesis { password_kdf, .. } = &mut wg {
        *password_kdf = weak_kdf.encode().try_into().map_err(|_| "kdf length")?;
    }
    verify_err(
        g,
        "genesis pinning KDF parameters below the floor (m = 1024 KiB)",
        &["CHAIN-8", "CHAIN-18", "KEY-6"],
        vec![sign_statement(0, [0; 32], wg, &w.a.keys).encode()],
        Error::KdfParamsTooWeak,
    )?;

    // --- key checks on epoch wraps ([CHAIN-16]): a split rotation ---
    let st4 = st(4)?; // after C's revocation, epoch 1
    let real = Umk::random(rng);
    let other_umk = Umk::random(rng);
    let mut split = Vec::new();
    for d in st4.devices().values() {
        let u = if d.x25519 == w.b.public().x25519 { &other_umk } else { &real };
        split.push(blindsync::chain::epoch_wrap(&acct, 2, &d.x25519, u, rng).map_err(err_text)?);
    }
    for p in [UnlockPath::Recovery, UnlockPath::Password] {
        let a = st4.authority(p).ok_or("authority")?;
        split.push(blindsync::chain::epoch_wrap(&acct, 2, &a.sealing, &real, rng).map_err(err_text)?);
    }
    blindsync::chain::statement::sort_wraps(&mut split);
    let split_rot =
        next_statement(&st4, Body::RotateEpoch { epoch: 2, key_check: real.key_check(2), wraps: split }, &w.a.keys)
            .encode();
    let split_chain = with(5, split_rot);
    let [_, a2] = w.a.seeds();
    let [_, b2x] = w.b.seeds();
    g.ok(
        "chain_open_epochs",
        "split rotation: A's wrap matches the key check",
        &["CHAIN-12", "CHAIN-16"],
        obj([("chain", list_json(&split_chain)), a2]),
    )?;
    g.err(
        "chain_open_epochs",
        "split rotation: the rotating device gave B a different UMK for the same epoch",
        &["CHAIN-12", "CHAIN-16"],
        obj([("chain", list_json(&split_chain)), b2x]),
        Error::KeyCheck,
    )?;
    generate_revocation(g, w, rng)?;
    generate_enrollment(g, rng)?;
    generate_chain_multi(g, w, pin, rng)
}

/// Multi-fault vectors of [CHAIN-8] (genesis and later statements), [CHAIN-9], [CHAIN-10] and
/// [DEV-6]: each expects the code of the first failing check in the spec's order.
fn generate_chain_multi(g: &mut Gen, w: &World, pin: &Value, rng: &mut SeededRng) -> Result<(), String> {
    let chain = &w.chain;
    let st = |n: usize| w.states.get(n).cloned().ok_or_else(|| format!("no state {n}"));
    let acct = st(0)?.account();
    let ci = |c: &[Vec<u8>]| obj([("chain", list_json(c))]);
    let with = |n: usize, extra: Vec<u8>| [chain[..n].to_vec(), vec![extra]].concat();
    let flip = |b: &[u8]| {
        let mut v = b.to_vec();
        if let Some(x) = v.last_mut() {
            *x ^= 0x01;
        }
        v
    };
    let mf = |what: &str, e: Error, alone: Value| fault(what, e, alone);
    let kdf0 = w.pw.chain_kdf().ok_or("password kdf")?;
    let kdf_with = |edit: &dyn Fn(&mut KdfParams)| -> Result<[u8; 32], String> {
        let mut k = PasswordKdf::decode(&kdf0).map_err(err_text)?;
        edit(&mut k.params);
        k.encode().try_into().map_err(|_| "kdf".to_owned())
    };
    // Genesis bodies whose proofs are valid where the keys are the vector paths' own.
    let body = |device: DevicePublic, recovery: Authority, password: Authority, epoch: u32, kdf: [u8; 32]| {
        let kc = w.umks[&0].key_check(0);
        let anchor = blindsync::chain::statement::genesis_anchor(&device, &recovery, &password, &kdf, epoch, &kc);
        Body::Genesis {
            device,
            recovery,
            recovery_pop: if recovery == w.rec.public() { w.rec.possession(1, &anchor) } else { [0; 64] },
            password,
            password_kdf: kdf,
            password_pop: if password == w.pw.public() { w.pw.possession(1, &anchor) } else { [0; 64] },
            epoch,
            key_check: kc,
        }
    };
    let sign = |pos: u64, prev: [u8; 32], b: Body, signer: &DeviceKeys| Statement::sign(pos, prev, b, signer).encode();
    let (a, rec, pw) = (w.a.public(), w.rec.public(), w.pw.public());
    let genesis_of = |b: Body| sign(0, [0; 32], b, &w.a.keys);
    let one = |s: Vec<u8>| ci(&[s]);
    let weak_rec = Authority { signing: WEAK_ED25519, sealing: rec.sealing };
    let low_pw = Authority { signing: pw.signing, sealing: LOW_ORDER };
    let same_x = Authority { signing: pw.signing, sealing: rec.sealing };
    let same_ed = Authority { signing: a.ed25519, sealing: rec.sealing };
    let low_dev = DevicePublic { ed25519: a.ed25519, x25519: LOW_ORDER };
    let v10 = kdf_with(&|p| p.version = 0x10)?;
    let weak_kdf = kdf_with(&|p| p.m_kib = 1024)?;
    let no_pw_pop = {
        let mut b = body(a, rec, pw, 0, kdf0);
        if let Body::Genesis { password_pop, .. } = &mut b {
            *password_pop = [0; 64];
        }
        b
    };
    let genesis: Vec<(&str, Value, Vec<Fault>)> = vec![
        (
            "genesis at position 1 with a flipped signature bit",
            one(flip(&sign(1, [0; 32], body(a, rec, pw, 0, kdf0), &w.a.keys))),
            vec![
                mf("position 1", Error::ChainGenesis, one(sign(1, [0; 32], body(a, rec, pw, 0, kdf0), &w.a.keys))),
                mf("flipped signature bit", Error::ChainSignature, one(flip(&chain[0]))),
            ],
        ),
        (
            "genesis with epoch 1 whose password sealing key is of small order",
            one(genesis_of(body(a, rec, low_pw, 1, kdf0))),
            vec![
                mf("epoch 1", Error::ChainGenesis, one(genesis_of(body(a, rec, pw, 1, kdf0)))),
                mf(
                    "small-order password sealing key",
                    Error::HpkeLowOrder,
                    one(genesis_of(body(a, rec, low_pw, 0, kdf0))),
                ),
            ],
        ),
        (
            "genesis whose device X25519 key and recovery signing key are both of small order",
            one(genesis_of(body(low_dev, weak_rec, pw, 0, kdf0))),
            vec![
                mf(
                    "small-order device X25519 key",
                    Error::HpkeLowOrder,
                    one(genesis_of(body(low_dev, rec, pw, 0, kdf0))),
                ),
                mf(
                    "small-order recovery signing key",
                    Error::DeviceKeyInvalid,
                    one(genesis_of(body(a, weak_rec, pw, 0, kdf0))),
                ),
            ],
        ),
        (
            "genesis with a small-order recovery signing key and the password sealing key equal to the recovery one",
            one(genesis_of(body(a, weak_rec, same_x, 0, kdf0))),
            vec![
                mf(
                    "small-order recovery signing key",
                    Error::DeviceKeyInvalid,
                    one(genesis_of(body(a, weak_rec, pw, 0, kdf0))),
                ),
                mf("two equal sealing keys", Error::ChainGenesis, one(genesis_of(body(a, rec, same_x, 0, kdf0)))),
            ],
        ),
        (
            "genesis whose recovery signing key equals the device key, pinning KDF parameters below the floor",
            one(genesis_of(body(a, same_ed, pw, 0, weak_kdf))),
            vec![
                mf("two equal Ed25519 keys", Error::ChainGenesis, one(genesis_of(body(a, same_ed, pw, 0, kdf0)))),
                mf("KDF m = 1024 KiB", Error::KdfParamsTooWeak, one(genesis_of(body(a, rec, pw, 0, weak_kdf)))),
            ],
        ),
        (
            "genesis pinning Argon2 version 0x10, with a flipped signature bit",
            one(flip(&genesis_of(body(a, rec, pw, 0, v10)))),
            vec![
                mf("KDF version 0x10", Error::KdfVersion, one(genesis_of(body(a, rec, pw, 0, v10)))),
                mf("flipped signature bit", Error::ChainSignature, one(flip(&chain[0]))),
            ],
        ),
        (
            "genesis with a flipped signature bit and a zeroed password proof",
            one(flip(&genesis_of(no_pw_pop.clone()))),
            vec![
                mf("flipped signature bit", Error::ChainSignature, one(flip(&chain[0]))),
                mf("zeroed password proof", Error::ChainPossession, one(genesis_of(no_pw_pop.clone()))),
            ],
        ),
    ];
    for (what, input, faults) in genesis {
        g.multi("chain_verify", what, &["CHAIN-8", "CHAIN-2", "CHAIN-17"], input, faults)?;
    }

    let stranger = Dev::new(rng);
    let add_s = || add_body(&stranger.keys, &acct);
    let head = |n: usize| st(n).map(|s| s.head().hash);
    let unknown = next_statement(&st(1)?, add_s(), &stranger.keys).encode();
    let by_revoked = next_statement(&st(5)?, add_s(), &w.c.keys).encode();
    let pw_revokes =
        next_statement(&st(3)?, revoke_one(w.b.public().id(), 0, [0; 32], 1, [0; 32], vec![]), &w.pw.authority)
            .encode();
    let again_a =
        next_statement(&st(5)?, revoke_one(w.c.public().id(), 99, [9; 32], 3, [0; 32], vec![]), &w.a.keys).encode();
    let again_pw =
        next_statement(&st(5)?, revoke_one(w.c.public().id(), 99, [9; 32], 3, [0; 32], vec![]), &w.pw.authority)
            .encode();
    let st1 = st(1)?;
    let keys_add = |ed: [u8; 32], x: [u8; 32], signer: &DeviceKeys| -> Result<Vec<u8>, String> {
        let b = add_keys(&stranger.keys, &acct, DevicePublic { ed25519: ed, x25519: x });
        Ok(next_statement(&st1, b, signer).encode())
    };
    let s_pub = stranger.public();
    let statements: Vec<(&str, Value, Vec<Fault>)> = vec![
        (
            "another statement at position 1 after statement 2, with a wrong prev",
            ci(&with(3, sign(1, [0x55; 32], add_s(), &w.a.keys))),
            vec![
                mf(
                    "another statement at position 1",
                    Error::ChainFork,
                    ci(&with(3, sign(1, head(0)?, add_s(), &w.a.keys))),
                ),
                mf("prev is not the head", Error::ChainLink, ci(&with(3, sign(3, [0x55; 32], add_s(), &w.a.keys)))),
            ],
        ),
        (
            "a statement at position 3 after statement 1 (one skipped), with a flipped signature bit",
            ci(&with(2, flip(&sign(3, head(1)?, add_s(), &w.a.keys)))),
            vec![
                mf("position 3 at length 2", Error::ChainPosition, ci(&with(2, sign(3, head(1)?, add_s(), &w.a.keys)))),
                mf("flipped signature bit", Error::ChainSignature, ci(&with(2, flip(&chain[2])))),
            ],
        ),
        (
            "a wrong prev, signed by a key the chain never authorized",
            ci(&with(2, sign(2, [0x55; 32], add_s(), &stranger.keys))),
            vec![
                mf("prev is not the head", Error::ChainLink, ci(&with(2, sign(2, [0x55; 32], add_s(), &w.a.keys)))),
                mf("unknown signer", Error::ChainSignerUnknown, ci(&with(2, unknown.clone()))),
            ],
        ),
        (
            "a second genesis at position 1, with a flipped signature bit",
            ci(&with(1, flip(&sign(1, head(0)?, body(a, rec, pw, 0, kdf0), &w.a.keys)))),
            vec![
                mf(
                    "a genesis at position 1",
                    Error::ChainGenesis,
                    ci(&with(1, sign(1, head(0)?, body(a, rec, pw, 0, kdf0), &w.a.keys))),
                ),
                mf("flipped signature bit", Error::ChainSignature, ci(&with(1, flip(&chain[1])))),
            ],
        ),
        (
            "signed by a key the chain never authorized, with a flipped signature bit",
            ci(&with(2, flip(&unknown))),
            vec![
                mf("unknown signer", Error::ChainSignerUnknown, ci(&with(2, unknown.clone()))),
                mf("flipped signature bit", Error::ChainSignature, ci(&with(2, flip(&chain[2])))),
            ],
        ),
        (
            "signed by the revoked device, with a flipped signature bit",
            ci(&with(6, flip(&by_revoked))),
            vec![
                mf("revoked signer", Error::ChainSignerRevoked, ci(&with(6, by_revoked.clone()))),
                mf("flipped signature bit", Error::ChainSignature, ci(&with(6, flip(&chain[6])))),
            ],
        ),
        (
            "the password authority revokes a device, with a flipped signature bit",
            ci(&with(4, flip(&pw_revokes))),
            vec![
                mf("flipped signature bit", Error::ChainSignature, ci(&with(4, flip(&chain[4])))),
                mf("password authority revokes", Error::ChainNotAuthorized, ci(&with(4, pw_revokes.clone()))),
            ],
        ),
        (
            "the password authority revokes a device that is already revoked",
            ci(&with(6, again_pw)),
            vec![
                mf("password authority revokes", Error::ChainNotAuthorized, ci(&with(4, pw_revokes.clone()))),
                mf("device already revoked", Error::ChainState, ci(&with(6, again_a))),
            ],
        ),
        (
            "add-device with a small-order Ed25519 key and a low-order X25519 key",
            ci(&with(2, keys_add(WEAK_ED25519, LOW_ORDER, &w.a.keys)?)),
            vec![
                mf(
                    "small-order Ed25519 key",
                    Error::DeviceKeyInvalid,
                    ci(&with(2, keys_add(WEAK_ED25519, s_pub.x25519, &w.a.keys)?)),
                ),
                mf(
                    "low-order X25519 key",
                    Error::HpkeLowOrder,
                    ci(&with(2, keys_add(s_pub.ed25519, LOW_ORDER, &w.a.keys)?)),
                ),
            ],
        ),
        (
            "add-device with a low-order X25519 key, signed by a key the chain never authorized",
            ci(&with(2, keys_add(s_pub.ed25519, LOW_ORDER, &stranger.keys)?)),
            vec![
                mf("unknown signer", Error::ChainSignerUnknown, ci(&with(2, unknown.clone()))),
                mf(
                    "low-order X25519 key",
                    Error::HpkeLowOrder,
                    ci(&with(2, keys_add(s_pub.ed25519, LOW_ORDER, &w.a.keys)?)),
                ),
            ],
        ),
        (
            "add-device with a low-order X25519 key and a zero proof of possession",
            ci(&with(2, {
                let mut b = add_keys(&stranger.keys, &acct, DevicePublic { ed25519: s_pub.ed25519, x25519: LOW_ORDER });
                if let Body::AddDevice { pop, .. } = &mut b {
                    *pop = [0; 64];
                }
                next_statement(&st(1)?, b, &w.a.keys).encode()
            })),
            vec![
                mf(
                    "low-order X25519 key",
                    Error::HpkeLowOrder,
                    ci(&with(2, keys_add(s_pub.ed25519, LOW_ORDER, &w.a.keys)?)),
                ),
                mf(
                    "zero proof of possession",
                    Error::ChainPossession,
                    ci(&with(2, {
                        let mut b = add_s();
                        if let Body::AddDevice { pop, .. } = &mut b {
                            *pop = [0; 64];
                        }
                        next_statement(&st(1)?, b, &w.a.keys).encode()
                    })),
                ),
            ],
        ),
        (
            "add-device with a zero proof of possession for the key of an active device",
            ci(&with(2, {
                let b = Body::AddDevice { device: w.a.public(), pop: [0; 64], bundle_commit: [0; 32] };
                next_statement(&st(1)?, b, &w.a.keys).encode()
            })),
            vec![
                mf(
                    "zero proof of possession",
                    Error::ChainPossession,
                    ci(&with(2, {
                        let mut b = add_s();
                        if let Body::AddDevice { pop, .. } = &mut b {
                            *pop = [0; 64];
                        }
                        next_statement(&st(1)?, b, &w.a.keys).encode()
                    })),
                ),
                mf(
                    "keys of an active device",
                    Error::ChainState,
                    ci(&with(2, {
                        let b = Body::AddDevice {
                            device: w.a.public(),
                            pop: device_possession(&w.a.keys, &acct),
                            bundle_commit: [0; 32],
                        };
                        next_statement(&st(1)?, b, &w.a.keys).encode()
                    })),
                ),
            ],
        ),
    ];
    for (what, input, faults) in statements {
        g.multi("chain_verify", what, &["CHAIN-8", "CHAIN-9"], input, faults)?;
    }

    // [CHAIN-10]: the fork check runs first, over the positions both chains have.
    let upd = |known: &[Vec<u8>], served: &[Vec<u8>]| obj([("known", list_json(known)), ("served", list_json(served))]);
    let alt = next_statement(&st(3)?, add_s(), &w.b.keys).encode();
    g.multi(
        "chain_update",
        "another statement at position 4, served to a device that verified 8",
        &["CHAIN-10"],
        upd(&chain[..8], &with(4, alt.clone())),
        vec![
            mf("another statement at position 4", Error::ChainFork, upd(&chain[..5], &with(4, alt.clone()))),
            mf("5 statements served to a device that verified 8", Error::ChainRollback, upd(&chain[..8], &chain[..5])),
        ],
    )?;
    g.multi(
        "chain_update",
        "the full chain with a flipped signature bit in a new statement, and a fork at position 4 of the known ones",
        &["CHAIN-10"],
        upd(&with(4, alt.clone()), &[chain[..6].to_vec(), vec![flip(&chain[6])]].concat()),
        vec![
            mf("another statement at position 4", Error::ChainFork, upd(&with(4, alt.clone()), &chain[..6])),
            mf(
                "flipped signature bit in statement 6",
                Error::ChainSignature,
                upd(&chain[..4], &[chain[..6].to_vec(), vec![flip(&chain[6])]].concat()),
            ),
        ],
    )?;

    // [DEV-6]: chain, account, own keys, bundle commitment, in this order.
    let other = hex_value(&[0x42; 32]);
    let mut t = JsonObject(pin).hex("bundle_wrap").map_err(err_text)?;
    if let Some(x) = t.get_mut(40) {
        *x ^= 0x01;
    }
    let bad_chain = list_json(&[chain[..2].to_vec(), vec![flip(&chain[2])], chain[3..].to_vec()].concat());
    let genesis_only = list_json(&chain[..1]);
    let cases: Vec<(&str, Value, Vec<Fault>)> = vec![
        (
            "a flipped signature bit in statement 2, and another account expected",
            set(&set(pin, "chain", bad_chain.clone()), "account_id", other.clone()),
            vec![
                mf("flipped signature bit in statement 2", Error::ChainSignature, set(pin, "chain", bad_chain.clone())),
                mf("another account expected", Error::ChainGenesis, set(pin, "account_id", other.clone())),
            ],
        ),
        (
            "another account expected, and only the genesis served",
            set(&set(pin, "chain", genesis_only.clone()), "account_id", other.clone()),
            vec![
                mf("another account expected", Error::ChainGenesis, set(pin, "account_id", other.clone())),
                mf("only the genesis served", Error::DeviceKeyMismatch, set(pin, "chain", genesis_only.clone())),
            ],
        ),
        (
            "only the genesis served, and the bundle tampered",
            set(&set(pin, "chain", genesis_only.clone()), "bundle_wrap", hex_value(&t)),
            vec![
                mf("only the genesis served", Error::DeviceKeyMismatch, set(pin, "chain", genesis_only.clone())),
                mf("bundle tampered", Error::DeviceBundle, set(pin, "bundle_wrap", hex_value(&t))),
            ],
        ),
    ];
    for (what, input, faults) in cases {
        g.multi("pairing_accept", what, &["DEV-6"], input, faults)?;
    }

    // [CHAIN-1]: a statement decodes in wire order (label, position, prev, kind, body, signer,
    // signature, nothing after).
    let sd = |b: &[u8]| obj([("statement", hex_value(b))]);
    let kind_at = 4 + labels::CHAIN_STATEMENT.len() + 8 + 32;
    let edit = |b: &[u8], f: &dyn Fn(&mut Vec<u8>)| {
        let mut v = b.to_vec();
        f(&mut v);
        v
    };
    let k9 = |v: &mut Vec<u8>| v[kind_at] = 9;
    let relabel = |v: &mut Vec<u8>| v[4] ^= 0x01;
    let cut = |v: &mut Vec<u8>| {
        v.pop();
    };
    let trail = |v: &mut Vec<u8>| v.push(0);
    let s1 = &chain[1];
    let cases: Vec<(&str, Value, Vec<Fault>)> = vec![
        (
            "another label and unknown statement kind 9",
            sd(&edit(&edit(s1, &k9), &relabel)),
            vec![
                mf("another label", Error::DecodeLabel, sd(&edit(s1, &relabel))),
                mf("kind 9", Error::DecodeValue, sd(&edit(s1, &k9))),
            ],
        ),
        (
            "unknown statement kind 9, without the last signature byte",
            sd(&edit(&edit(s1, &k9), &cut)),
            vec![
                mf("kind 9", Error::DecodeValue, sd(&edit(s1, &k9))),
                mf("cut by one byte", Error::DecodeTruncated, sd(&edit(s1, &cut))),
            ],
        ),
        (
            "unknown statement kind 9, and a trailing byte",
            sd(&edit(&edit(s1, &k9), &trail)),
            vec![
                mf("kind 9", Error::DecodeValue, sd(&edit(s1, &k9))),
                mf("a trailing byte", Error::DecodeTrailing, sd(&edit(s1, &trail))),
            ],
        ),
    ];
    for (what, input, faults) in cases {
        g.multi("chain_statement_decode", what, &["CHAIN-1", "ENC-5"], input, faults)?;
    }

    // [HPKE-2]: a small-order `enc` is refused before any key schedule, whoever opens.
    let rot = Statement::decode(&chain[5]).map_err(err_text)?;
    let Body::RotateEpoch { wraps, .. } = &rot.body else { return Err("not a rotate".into()) };
    let to_a = wraps.iter().find(|x| x.recipient == w.a.public().x25519).ok_or("no wrap to A")?;
    let ew = |enc: &[u8], key: &[u8]| {
        obj([
            ("account_id", hex_value(&acct.0)),
            ("recipient", hex_value(&to_a.recipient)),
            ("epoch", json!(to_a.epoch)),
            ("enc", hex_value(enc)),
            ("ct", hex_value(&to_a.ct)),
            ("x25519_secret", hex_value(key)),
        ])
    };
    let (ka, kc) = (w.a.keys.hpke_key().expose().to_vec(), w.c.keys.hpke_key().expose().to_vec());
    g.multi(
        "epoch_wrap_open",
        "a small-order enc, tried by the revoked device",
        &["HPKE-2", "HPKE-3", "CHAIN-12"],
        ew(&LOW_ORDER, &kc),
        vec![
            mf("small-order enc", Error::HpkeLowOrder, ew(&LOW_ORDER, &ka)),
            mf("the revoked device's key", Error::HpkeOpen, ew(&to_a.enc, &kc)),
        ],
    )?;
    Ok(())
}

/// Revocations ([CHAIN-20]): atomic with the new epoch, cascading over what the revoked device
/// introduced, the sequence bound pinned to an envelope identity; and what an old password still
/// reads after a change ([CHAIN-14]).
fn generate_revocation(g: &mut Gen, w: &World, rng: &mut SeededRng) -> Result<(), String> {
    let chain = &w.chain;
    let st = |n: usize| w.states.get(n).cloned().ok_or_else(|| format!("no state {n}"));
    let acct = st(0)?.account();
    let chain_input = |c: &[Vec<u8>]| obj([("chain", list_json(c))]);
    // A revoke statement on `base` with honest wraps (unless `epoch`/`extra` say otherwise).
    let revoke_stmt = |base: &ChainState,
                       signer: &DeviceKeys,
                       revs: Vec<Revocation>,
                       unpin: Vec<[u8; 32]>,
                       reconfirm: Vec<Reconfirm>,
                       epoch: Option<u32>,
                       extra: Option<[u8; 32]>,
                       rng: &mut SeededRng|
     -> Result<Vec<u8>, String> {
        let (mut revs, mut unpin, mut reconfirm) = (revs, unpin, reconfirm);
        revs.sort_by_key(|r| r.device);
        unpin.sort();
        reconfirm.sort();
        let e = epoch.unwrap_or(base.epoch() + 1);
        let umk = Umk::random(rng);
        let gone: Vec<DeviceId> = revs.iter().map(|r| r.device).collect();
        let mut to: Vec<[u8; 32]> =
            base.devices().iter().filter(|(id, _)| !gone.contains(id)).map(|(_, d)| d.x25519).collect();
        to.extend(
            [UnlockPath::Recovery, UnlockPath::Password].iter().filter_map(|p| base.authority(*p).map(|a| a.sealing)),
        );
        to.extend(extra);
        let mut wraps = to
            .iter()
            .map(|x| blindsync::chain::epoch_wrap(&acct, e, x, &umk, rng).map_err(err_text))
            .collect::<Result<Vec<_>, _>>()?;
        blindsync::chain::statement::sort_wraps(&mut wraps);
        let body =
            Body::RevokeDevice { revocations: revs, unpin, reconfirm, epoch: e, key_check: umk.key_check(e), wraps };
        Ok(next_statement(base, body, signer).encode())
    };
    let b_id = w.b.public().id();
    let rb = |max_seq: u64, last: [u8; 32]| vec![Revocation { device: b_id, max_seq, last_envelope: last }];
    let mut last = [0u8; 32];
    rand_core::Rng::fill_bytes(rng, &mut last);
    let partner = match Statement::decode(&chain[3]).map_err(err_text)?.body {
        Body::PinPartner { key, .. } => key,
        _ => return Err("statement 3 is not a pin".into()),
    };
    let st3 = st(3)?; // B pinned the partner at 3
    let with3 = |x: Vec<u8>| [chain[..4].to_vec(), vec![x]].concat();
    let cascade = ["CHAIN-20"];
    g.err(
        "chain_verify",
        "revoking B, which pinned a partner, without unpinning or re-confirming it (the install survives the cascade)",
        &cascade,
        chain_input(&with3(revoke_stmt(&st3, &w.a.keys, rb(5, last), vec![], vec![], None, None, rng)?)),
        Error::ChainCascade,
    )?;
    g.ok(
        "chain_verify",
        "revoking B together with the partner it pinned, in one statement with the new epoch",
        &cascade,
        chain_input(&with3(revoke_stmt(&st3, &w.a.keys, rb(5, last), vec![partner], vec![], None, None, rng)?)),
    )?;
    g.ok(
        "chain_verify",
        "revoking B and re-confirming the partner it pinned (A now vouches for it)",
        &cascade,
        chain_input(&with3(revoke_stmt(
            &st3,
            &w.a.keys,
            rb(5, last),
            vec![],
            vec![Reconfirm::Partner(partner)],
            None,
            None,
            rng,
        )?)),
    )?;
    // B adds a sleeper device E: revoking B must revoke or re-confirm E.
    let e_dev = Dev::new(rng);
    let (add_e, st_e) = extend(&st(1)?, add_body(&e_dev.keys, &acct), &w.b.keys).map_err(err_text)?;
    let base_e = [chain[..2].to_vec(), vec![add_e]].concat();
    let with_e = |x: Vec<u8>| [base_e.clone(), vec![x]].concat();
    g.err(
        "chain_verify",
        "revoking B but not the sleeper device E that B added",
        &cascade,
        chain_input(&with_e(revoke_stmt(&st_e, &w.a.keys, rb(5, last), vec![], vec![], None, None, rng)?)),
        Error::ChainCascade,
    )?;
    let mut both = rb(5, last);
    both.push(Revocation { device: e_dev.public().id(), max_seq: 0, last_envelope: [0; 32] });
    g.ok(
        "chain_verify",
        "revoking B and the device E it added in one statement",
        &cascade,
        chain_input(&with_e(revoke_stmt(&st_e, &w.a.keys, both, vec![], vec![], None, None, rng)?)),
    )?;
    g.ok(
        "chain_verify",
        "revoking B and re-confirming the device E it added",
        &cascade,
        chain_input(&with_e(revoke_stmt(
            &st_e,
            &w.a.keys,
            rb(5, last),
            vec![],
            vec![Reconfirm::Device(e_dev.public().id())],
            None,
            None,
            rng,
        )?)),
    )?;
    g.err(
        "chain_verify",
        "re-confirming a device the revoked device did not introduce",
        &cascade,
        chain_input(&with_e(revoke_stmt(
            &st_e,
            &w.a.keys,
            vec![Revocation { device: e_dev.public().id(), max_seq: 0, last_envelope: [0; 32] }],
            vec![],
            vec![Reconfirm::Device(b_id)],
            None,
            None,
            rng,
        )?)),
        Error::ChainState,
    )?;
    g.err(
        "chain_verify",
        "revoking B with a sequence bound of 5 but no pinned envelope identity",
        &cascade,
        chain_input(&with3(revoke_stmt(&st3, &w.a.keys, rb(5, [0; 32]), vec![partner], vec![], None, None, rng)?)),
        Error::ChainState,
    )?;
    g.err(
        "chain_verify",
        "revoke without rotation: the revoke statement names the current epoch (0) instead of the next",
        &cascade,
        chain_input(&with3(revoke_stmt(&st3, &w.a.keys, rb(5, last), vec![partner], vec![], Some(0), None, rng)?)),
        Error::ChainEpoch,
    )?;
    g.err(
        "chain_verify",
        "a revocation that still wraps the new UMK to the revoked device",
        &cascade,
        chain_input(&with3(revoke_stmt(
            &st3,
            &w.a.keys,
            rb(5, last),
            vec![partner],
            vec![],
            None,
            Some(w.b.public().x25519),
            rng,
        )?)),
        Error::ChainRecipients,
    )?;
    g.err(
        "chain_verify",
        "revoking B with sequence bound 0 but a non-zero last envelope",
        &cascade,
        chain_input(&with3(revoke_stmt(&st3, &w.a.keys, rb(0, last), vec![partner], vec![], None, None, rng)?)),
        Error::ChainState,
    )?;
    g.err(
        "chain_verify",
        "unpinning a key that is not pinned",
        &cascade,
        chain_input(&with3(revoke_stmt(&st3, &w.a.keys, rb(5, last), vec![partner, last], vec![], None, None, rng)?)),
        Error::ChainState,
    )?;
    g.err(
        "chain_verify",
        "re-confirming the partner while unpinning it in the same statement",
        &cascade,
        chain_input(&with3(revoke_stmt(
            &st3,
            &w.a.keys,
            rb(5, last),
            vec![partner],
            vec![Reconfirm::Partner(partner)],
            None,
            None,
            rng,
        )?)),
        Error::ChainState,
    )?;
    g.err(
        "chain_verify",
        "B revokes itself, with a new epoch whose UMK it chose (a device never revokes itself)",
        &cascade,
        chain_input(&with3(revoke_stmt(
            &st3,
            &w.b.keys,
            rb(5, last),
            vec![],
            vec![Reconfirm::Partner(partner)],
            None,
            None,
            rng,
        )?)),
        Error::ChainState,
    )?;
    // A re-confirmation makes the revoker the introducer: revoking A later cascades over it.
    let keep = revoke_stmt(&st3, &w.a.keys, rb(5, last), vec![], vec![Reconfirm::Partner(partner)], None, None, rng)?;
    let kept = with3(keep.clone());
    let st_kept = ChainState::verify(&kept).map_err(err_text)?;
    let a_rev = vec![Revocation { device: w.a.public().id(), max_seq: 0, last_envelope: [0; 32] }];
    g.err(
        "chain_verify",
        "after A re-confirmed B's partner, C revokes A without unpinning or re-confirming that partner",
        &cascade,
        chain_input(
            &[kept.clone(), vec![revoke_stmt(&st_kept, &w.c.keys, a_rev, vec![], vec![], None, None, rng)?]].concat(),
        ),
        Error::ChainCascade,
    )?;
    // Decoding of the lists.
    let base_rev = Statement::decode(
        &with3(revoke_stmt(&st3, &w.a.keys, rb(5, last), vec![partner], vec![], None, None, rng)?)[4],
    )
    .map_err(err_text)?;
    let kind_at = 4 + labels::CHAIN_STATEMENT.len() + 8 + 32;
    let mut over = base_rev.encode();
    // kind (1) ‖ n (4) ‖ one revocation (72) ‖ m
    if let Some(x) = over.get_mut(kind_at + 77..kind_at + 81) {
        x.copy_from_slice(&1025u32.to_be_bytes());
    }
    let dec = |g: &mut Gen, d: &str, bytes: &[u8], e: Error| {
        g.err("chain_statement_decode", d, &["CHAIN-1", "CHAIN-20"], obj([("statement", hex_value(bytes))]), e)
    };
    dec(g, "a revoke statement declaring 1025 unpinned keys", &over, Error::DecodeLength)?;
    let mut unordered = base_rev.clone();
    if let Body::RevokeDevice { unpin, .. } = &mut unordered.body {
        unpin.push([0; 32]);
    }
    dec(g, "a revoke statement whose unpinned keys are not ascending", &unordered.encode(), Error::DecodeValue)?;
    let mut twice = base_rev.clone();
    if let Body::RevokeDevice { revocations, .. } = &mut twice.body {
        let r = revocations[0];
        revocations.push(r);
    }
    dec(g, "a revoke statement listing the same device twice", &twice.encode(), Error::DecodeValue)?;
    let mut rc = base_rev.clone();
    if let Body::RevokeDevice { reconfirm, .. } = &mut rc.body {
        reconfirm.push(Reconfirm::Partner([2; 32]));
        reconfirm.push(Reconfirm::Device(DeviceId([1; 32])));
    }
    dec(
        g,
        "a revoke statement whose re-confirmations are not ascending by (what, id)",
        &rc.encode(),
        Error::DecodeValue,
    )?;
    let mut what = base_rev.clone();
    if let Body::RevokeDevice { reconfirm, .. } = &mut what.body {
        reconfirm.push(Reconfirm::Device(DeviceId([1; 32])));
    }
    let mut what = what.encode();
    // kind (1) ‖ n (4) ‖ 72 ‖ m (4) ‖ 32 ‖ k (4) ‖ what
    if let Some(x) = what.get_mut(kind_at + 1 + 4 + 72 + 4 + 32 + 4) {
        *x = 3;
    }
    dec(g, "a re-confirmation with `what` = 3", &what, Error::DecodeValue)?;
    let mut empty = Statement::decode(&chain[4]).map_err(err_text)?;
    if let Body::RevokeDevice { revocations, .. } = &mut empty.body {
        revocations.clear();
    }
    g.err(
        "chain_statement_decode",
        "a revoke statement that revokes no device",
        &["CHAIN-1", "CHAIN-20"],
        obj([("statement", hex_value(&empty.encode()))]),
        Error::DecodeLength,
    )?;
    // The old password after a change: it opens epochs 0 to 2, not epoch 3 the change started.
    g.ok(
        "chain_open_epochs",
        "the replaced password's sealing key after the change: epochs 0 to 2 only, nothing of epoch 3",
        &["CHAIN-14"],
        obj([("chain", list_json(chain)), ("x25519_secret", hex_value(w.pw.sealing.expose()))]),
    )?;
    generate_path_cascade(g, w, rng)?;
    generate_unreached(g, w, rng)
}

/// [CHAIN-6] [CHAIN-14]: the recovery path is the root, and a replacement decides on every
/// device the replaced path enrolled (D, enrolled by the password at 8).
fn generate_path_cascade(g: &mut Gen, w: &World, rng: &mut SeededRng) -> Result<(), String> {
    let chain = &w.chain;
    let st8 = ChainState::verify(chain).map_err(err_text)?;
    let acct = st8.account();
    let chain_input = |c: &[Vec<u8>]| obj([("chain", list_json(c))]);
    let umks = w.umks.clone();
    let next_pw = path_keys(rng, UnlockPath::Password);
    let d_id = w.d.public().id();
    // An honest replacement that keeps D, then edited to each fault and re-signed.
    let good = blindsync::chain::replace_authority(
        &st8,
        &w.rec.authority,
        &next_pw,
        &blindsync::chain::enrolled_by(&st8, next_pw.path),
        &umks,
        rng,
    )
    .map_err(err_text)?;
    let base = Statement::decode(&good.statements[0]).map_err(err_text)?;
    let with = |b: Body, signer: &dyn blindsync::chain::ChainSigner| {
        [chain.clone(), vec![next_statement(&st8, b, signer).encode()]].concat()
    };
    g.ok(
        "chain_verify",
        "the recovery authority replaces the password and re-confirms D, which the password enrolled",
        &["CHAIN-14"],
        chain_input(&good.state.encoded()),
    )?;
    let mut dropped = base.body.clone();
    if let Body::ReplaceAuthority { reconfirm, .. } = &mut dropped {
        if reconfirm.as_slice() != [d_id] {
            return Err("D is not the one device to re-confirm".into());
        }
        reconfirm.clear();
    }
    g.err(
        "chain_verify",
        "a password replacement that neither re-confirms nor first revokes D, which the password enrolled (a sleeper)",
        &["CHAIN-14"],
        chain_input(&with(dropped, &w.rec.authority)),
        Error::ChainCascade,
    )?;
    let mut wrong = base.body.clone();
    if let Body::ReplaceAuthority { reconfirm, .. } = &mut wrong {
        let mut ids = vec![d_id, w.a.public().id()];
        ids.sort();
        *reconfirm = ids;
    }
    g.err(
        "chain_verify",
        "a password replacement that re-confirms A, which the password did not enroll",
        &["CHAIN-14"],
        chain_input(&with(wrong, &w.rec.authority)),
        Error::ChainState,
    )?;
    // A re-confirmed device that is not active (C, enrolled by the recovery path, revoked at 4).
    let mut c_body = Statement::decode(
        &blindsync::chain::replace_authority(
            &st8,
            &w.rec.authority,
            &path_keys(rng, UnlockPath::Recovery),
            &blindsync::chain::enrolled_by(&st8, UnlockPath::Recovery),
            &umks,
            rng,
        )
        .map_err(err_text)?
        .statements[0],
    )
    .map_err(err_text)?
    .body;
    if let Body::ReplaceAuthority { reconfirm, .. } = &mut c_body {
        *reconfirm = vec![w.c.public().id()];
    }
    g.err(
        "chain_verify",
        "a recovery replacement that re-confirms C, which the recovery path enrolled but which is revoked",
        &["CHAIN-14"],
        chain_input(&with(c_body, &w.rec.authority)),
        Error::ChainState,
    )?;
    // After the recovery path re-confirmed D, D's introducer is the recovery path: the next
    // password replacement (by the new password) has nothing of the password's to decide on.
    let after = good.state.clone();
    let mut umks4 = umks.clone();
    umks4.insert(after.epoch(), good.umk.clone());
    let again = blindsync::chain::replace_authority(
        &after,
        &next_pw.authority,
        &path_keys(rng, UnlockPath::Password),
        &blindsync::chain::enrolled_by(&after, UnlockPath::Password),
        &umks4,
        rng,
    )
    .map_err(err_text)?;
    match &Statement::decode(&again.statements[0]).map_err(err_text)?.body {
        Body::ReplaceAuthority { reconfirm, .. } if reconfirm.is_empty() => {}
        _ => return Err("D still counted as enrolled by the password".into()),
    }
    g.ok(
        "chain_verify",
        "after a re-confirmation D's introducer is the recovery path: the next password change re-confirms nothing",
        &["CHAIN-14", "CHAIN-7"],
        chain_input(&again.state.encoded()),
    )?;
    // Decoding of the re-confirmation list.
    let kind_at = 4 + labels::CHAIN_STATEMENT.len() + 8 + 32;
    let dec = |g: &mut Gen, d: &str, bytes: &[u8], e: Error| {
        g.err("chain_statement_decode", d, &["CHAIN-1", "CHAIN-14"], obj([("statement", hex_value(bytes))]), e)
    };
    let mut over = good.statements[0].clone();
    // kind (1) ‖ path (1) ‖ signing (32) ‖ sealing (32) ‖ kdf (4 + 32) ‖ pop (64) ‖ k
    let k_at = kind_at + 1 + 1 + 32 + 32 + 4 + 32 + 64;
    if let Some(x) = over.get_mut(k_at..k_at + 4) {
        x.copy_from_slice(&1025u32.to_be_bytes());
    }
    dec(g, "a replace-authority statement declaring 1025 re-confirmed devices", &over, Error::DecodeLength)?;
    let mut twice = base.clone();
    if let Body::ReplaceAuthority { reconfirm, .. } = &mut twice.body {
        reconfirm.push(d_id);
    }
    dec(g, "a replace-authority statement re-confirming D twice", &twice.encode(), Error::DecodeValue)?;
    // D (enrolled by the password) adds S2; S2 revokes D and re-confirms itself: S2's introducer
    // becomes D's, the password path, so the next password replacement still decides on S2.
    let s2 = Dev::new(rng);
    let (add_s2, st_s2) = extend(&st8, add_body(&s2.keys, &acct), &w.d.keys).map_err(err_text)?;
    let rev_d = blindsync::chain::revoke(
        &st_s2,
        &s2.keys,
        vec![Revocation { device: d_id, max_seq: 0, last_envelope: [0; 32] }],
        vec![],
        vec![Reconfirm::Device(s2.public().id())],
        rng,
    )
    .map_err(err_text)?;
    let mut umks5 = umks.clone();
    umks5.insert(rev_d.state.epoch(), rev_d.umk.clone());
    if !blindsync::chain::enrolled_by(&rev_d.state, UnlockPath::Password).contains(&s2.public().id()) {
        return Err("S2 lost its origin".into());
    }
    let sneak = blindsync::chain::replace_authority(
        &rev_d.state,
        &w.rec.authority,
        &path_keys(rng, UnlockPath::Password),
        &[s2.public().id()],
        &umks5,
        rng,
    )
    .map_err(err_text)?;
    let mut no_keep = Statement::decode(&sneak.statements[0]).map_err(err_text)?.body;
    if let Body::ReplaceAuthority { reconfirm, .. } = &mut no_keep {
        reconfirm.clear();
    }
    let base_s2 = [chain.clone(), vec![add_s2, rev_d.statements[0].clone()]].concat();
    g.err(
        "chain_verify",
        "a sleeper S2 that D (password-enrolled) added revokes D re-confirming itself; the next password change must still decide on S2",
        &["CHAIN-14", "CHAIN-20"],
        chain_input(&[base_s2.clone(), vec![next_statement(&rev_d.state, no_keep, &w.rec.authority).encode()]].concat()),
        Error::ChainCascade,
    )?;
    // The password may replace only itself.
    let next_rec = path_keys(rng, UnlockPath::Recovery);
    if blindsync::chain::replace_authority(
        &st8,
        &w.new_pw.authority,
        &next_rec,
        &blindsync::chain::enrolled_by(&st8, next_rec.path),
        &umks,
        rng,
    )
    .is_ok()
    {
        return Err("the password replaced the recovery path".into());
    }
    let mut rec_body = Statement::decode(
        &blindsync::chain::replace_authority(
            &st8,
            &w.rec.authority,
            &next_rec,
            &blindsync::chain::enrolled_by(&st8, next_rec.path),
            &umks,
            rng,
        )
        .map_err(err_text)?
        .statements[0],
    )
    .map_err(err_text)?
    .body;
    if let Body::ReplaceAuthority { pop, .. } = &mut rec_body {
        *pop = next_rec.possession(7, &acct.0);
    }
    g.err(
        "chain_verify",
        "the password authority replaces the recovery authority (the recovery path is the root)",
        &["CHAIN-6", "CHAIN-14"],
        chain_input(&with(rec_body, &w.new_pw.authority)),
        Error::ChainNotAuthorized,
    )?;
    Ok(())
}

/// One vector for each check the independent port found no vector reaching.
fn generate_unreached(g: &mut Gen, w: &World, rng: &mut SeededRng) -> Result<(), String> {
    let chain = &w.chain;
    let st = |n: usize| w.states.get(n).cloned().ok_or_else(|| format!("no state {n}"));
    let acct = st(0)?.account();
    let chain_input = |c: &[Vec<u8>]| obj([("chain", list_json(c))]);
    let with = |n: usize, extra: Vec<u8>| [chain[..n].to_vec(), vec![extra]].concat();
    // Genesis: the password authority's proof is checked too; pinned KDF version and ceiling.
    let base = Statement::decode(&chain[0]).map_err(err_text)?;
    let regen = |edit: &dyn Fn(&mut Body)| {
        let mut b = base.body.clone();
        edit(&mut b);
        Statement::sign(0, [0; 32], b, &w.a.keys).encode()
    };
    g.err(
        "chain_verify",
        "genesis whose password authority proof is zeroed (the recovery proof is valid)",
        &["CHAIN-8", "CHAIN-17"],
        chain_input(&[regen(&|b| {
            if let Body::Genesis { password_pop, .. } = b {
                *password_pop = [0; 64];
            }
        })]),
        Error::ChainPossession,
    )?;
    let kdf0 = PasswordKdf::decode(&w.pw.kdf_binding).map_err(err_text)?;
    for (desc, edit, err) in [
        ("genesis pinning Argon2 version 0x10", KdfParams { version: 0x10, ..kdf0.params }, Error::KdfVersion),
        (
            "genesis pinning KDF parameters above the ceiling (t = 17)",
            KdfParams { t: 17, ..kdf0.params },
            Error::KdfParamsTooLarge,
        ),
    ] {
        let k: [u8; 32] = PasswordKdf { params: edit, ..kdf0 }.encode().try_into().map_err(|_| "kdf")?;
        g.err(
            "chain_verify",
            desc,
            &["CHAIN-8", "CHAIN-18", "KEY-6"],
            chain_input(&[regen(&|b| {
                if let Body::Genesis { password_kdf, .. } = b {
                    *password_kdf = k;
                }
            })]),
            err,
        )?;
    }
    // Replace authority: the pinned KDF is checked, and its length prefix decoded.
    let rep7 = Statement::decode(&chain[7]).map_err(err_text)?;
    let mut weak = kdf0;
    weak.params.m_kib = 1024;
    let mut b7 = rep7.body.clone();
    if let Body::ReplaceAuthority { kdf, .. } = &mut b7 {
        *kdf = Some(weak.encode().try_into().map_err(|_| "kdf")?);
    }
    g.err(
        "chain_verify",
        "password replacement pinning KDF parameters below the floor",
        &["CHAIN-14", "CHAIN-18"],
        chain_input(&with(7, next_statement(&st(6)?, b7, &w.rec.authority).encode())),
        Error::KdfParamsTooWeak,
    )?;
    let mut short = rep7.clone();
    if let Body::ReplaceAuthority { kdf, .. } = &mut short.body {
        *kdf = None; // a password replacement without its 32-byte KDF: length prefix 0
    }
    g.err(
        "chain_statement_decode",
        "password replace-authority whose kdf length prefix is 0 instead of 32",
        &["CHAIN-1", "CHAIN-18"],
        obj([("statement", hex_value(&short.encode()))]),
        Error::DecodeLength,
    )?;
    // pairing_accept step 5: a committed wrap that does not open (a broken approver).
    let p_dev = Dev::new(rng);
    let garbage: Vec<u8> = (0..120u8).collect();
    let body = Body::AddDevice {
        device: p_dev.public(),
        pop: device_possession(&p_dev.keys, &acct),
        bundle_commit: bundle_commit(&garbage),
    };
    let served = with(2, next_statement(&st(1)?, body, &w.a.keys).encode());
    let [p1, p2] = p_dev.seeds();
    g.err(
        "pairing_accept",
        "the approver committed to a wrap that does not open for the new device",
        &["DEV-6", "HPKE-2"],
        obj([
            p1,
            p2,
            ("account_id", hex_value(&acct.0)),
            ("approver_id", hex_value(&w.a.public().id().0)),
            ("bundle_wrap", hex_value(&garbage)),
            ("chain", list_json(&served)),
        ]),
        Error::HpkeOpen,
    )?;
    // pairing_accept step 7: a later rotation gives the new device a UMK its key check refutes.
    let q_dev = Dev::new(rng);
    let umks0 = BTreeMap::from([(0, w.umks[&0].clone())]);
    let ap = approve_device(&st(0)?, &w.a.keys, &q_dev.keys.pending(&acct), &umks0, rng).map_err(err_text)?;
    let real = Umk::random(rng);
    let other = Umk::random(rng);
    let mut wraps = Vec::new();
    for d in ap.state.devices().values() {
        let u = if d.x25519 == q_dev.public().x25519 { &other } else { &real };
        wraps.push(blindsync::chain::epoch_wrap(&acct, 1, &d.x25519, u, rng).map_err(err_text)?);
    }
    for p in [UnlockPath::Recovery, UnlockPath::Password] {
        let a = ap.state.authority(p).ok_or("authority")?;
        wraps.push(blindsync::chain::epoch_wrap(&acct, 1, &a.sealing, &real, rng).map_err(err_text)?);
    }
    blindsync::chain::statement::sort_wraps(&mut wraps);
    let rot = next_statement(&ap.state, Body::RotateEpoch { epoch: 1, key_check: real.key_check(1), wraps }, &w.a.keys);
    let served = [ap.state.encoded(), vec![rot.encode()]].concat();
    let [q1, q2] = q_dev.seeds();
    g.err(
        "pairing_accept",
        "after the new device's add-device, a rotation wraps it a UMK that fails the key check",
        &["DEV-6", "CHAIN-16"],
        obj([
            q1,
            q2,
            ("account_id", hex_value(&acct.0)),
            ("approver_id", hex_value(&w.a.public().id().0)),
            ("bundle_wrap", hex_value(&ap.bundle_wrap)),
            ("chain", list_json(&served)),
        ]),
        Error::KeyCheck,
    )?;
    // The approver was revoked after it approved: its key is found among the revoked devices.
    let r_dev = Dev::new(rng);
    let ap = approve_device(&st(1)?, &w.a.keys, &r_dev.keys.pending(&acct), &umks0, rng).map_err(err_text)?;
    let reconf = vec![Reconfirm::Device(w.b.public().id()), Reconfirm::Device(r_dev.public().id())];
    let a_rev = vec![Revocation { device: w.a.public().id(), max_seq: 0, last_envelope: [0; 32] }];
    let rot = blindsync::chain::revoke(&ap.state, &w.b.keys, a_rev, vec![], reconf, rng).map_err(err_text)?;
    let [r1, r2] = r_dev.seeds();
    g.ok(
        "pairing_accept",
        "the approver A was revoked after approving (B re-confirmed the device): A is looked up among revoked devices",
        &["DEV-6", "CHAIN-20"],
        obj([
            r1,
            r2,
            ("account_id", hex_value(&acct.0)),
            ("approver_id", hex_value(&w.a.public().id().0)),
            ("bundle_wrap", hex_value(&ap.bundle_wrap)),
            ("chain", list_json(&rot.state.encoded())),
        ]),
    )?;
    Ok(())
}

/// Enrollment by an unlock path alone ([CHAIN-13]), against the real chain and against what a
/// server can serve instead. Paths derive from a real recovery code and password here, so a port
/// re-runs the whole derivation.
fn generate_enrollment(g: &mut Gen, rng: &mut SeededRng) -> Result<(), String> {
    use blindsync::unlock::recovery::RecoveryCode;
    let code = RecoveryCode::generate(rng);
    let password = "correct horse battery staple";
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(rng) };
    let pw_keys = kdf.derive(password.as_bytes()).map_err(err_text)?;
    let a = Dev::new(rng);
    let acct = blindsync::chain::create_account(&a.keys, &code.derive(), &pw_keys, &kdf, rng).map_err(err_text)?;
    let rot = blindsync::chain::rotate(&acct.state, &a.keys, rng).map_err(err_text)?;
    let chain = rot.state.encoded();
    let n = Dev::new(rng);
    let [n1, n2] = n.seeds();
    let rin = |chain: &[Vec<u8>], text: &str, wrap: &[u8]| {
        obj([
            n1.clone(),
            n2.clone(),
            ("chain", list_json(chain)),
            ("path", json!("recovery")),
            ("text", json!(text)),
            ("wrap", hex_value(wrap)),
        ])
    };
    let pin = |chain: &[Vec<u8>], kdf: &PasswordKdf, wrap: &[u8]| {
        obj([
            n1.clone(),
            n2.clone(),
            ("chain", list_json(chain)),
            ("path", json!("password")),
            ("text", json!(password)),
            ("kdf", super::password::kdf_json(kdf)),
            ("wrap", hex_value(wrap)),
        ])
    };
    let text = code.to_text();
    let reqs = ["CHAIN-13", "CHAIN-16", "WRAP-4"];
    g.ok(
        "enroll",
        "recovery code alone: UMK_0 from the chapter 5 wrap, epoch 1 from the chain, both checked; add-device signed by the recovery authority",
        &reqs,
        rin(&chain, &text, &acct.recovery_wrap),
    )?;
    g.ok(
        "enroll",
        "password alone, with the pinned salt and parameters",
        &["CHAIN-13", "CHAIN-18"],
        pin(&chain, &kdf, &acct.password_wrap),
    )?;
    let other_salt = PasswordKdf { salt: [0x5a; 16], params: kdf.params };
    g.err(
        "enroll",
        "salt substitution: the server served another salt than the chain pins",
        &["CHAIN-13", "CHAIN-18"],
        pin(&chain, &other_salt, &acct.password_wrap),
        Error::KdfNotPinned,
    )?;
    g.tag(&[Flag::Downgrade])?;
    // The server's own account, with its own keys: the recovery code's authority is not current there.
    let srv = Dev::new(rng);
    let srv_code = RecoveryCode::generate(rng);
    let srv_kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(rng) };
    let srv_pw = srv_kdf.derive(b"server").map_err(err_text)?;
    let srv_acct =
        blindsync::chain::create_account(&srv.keys, &srv_code.derive(), &srv_pw, &srv_kdf, rng).map_err(err_text)?;
    g.err(
        "enroll",
        "counterfeit chain: the server serves an account of its own; the derived recovery authority is not current in it",
        &["CHAIN-13", "CHAIN-17"],
        rin(&srv_acct.state.encoded(), &text, &srv_acct.recovery_wrap),
        Error::ChainSignerUnknown,
    )?;
    // A new recovery code retires the old one.
    let new_code = RecoveryCode::generate(rng);
    let new_rec = UnlockPathKeys::from_recovery(&new_code.derive());
    let umks = BTreeMap::from([(0, acct.umk.clone()), (1, rot.umk.clone())]);
    // A new recovery code, set with the old one (only the recovery path replaces it, [CHAIN-6]).
    let old_rec = UnlockPathKeys::from_recovery(&code.derive());
    let replaced = blindsync::chain::replace_authority(
        &rot.state,
        &old_rec.authority,
        &new_rec,
        &blindsync::chain::enrolled_by(&rot.state, new_rec.path),
        &umks,
        rng,
    )
    .map_err(err_text)?
    .state;
    g.err(
        "enroll",
        "the old recovery code after a new one was set: its authority is retired",
        &["CHAIN-13", "CHAIN-14"],
        rin(&replaced.encoded(), &text, &acct.recovery_wrap),
        Error::ChainSignerRevoked,
    )?;
    g.tag(&[Flag::Rollback])?;
    let new_wrap = new_rec.wrap_umk0(replaced.account(), &acct.umk, rng).map_err(err_text)?;
    g.ok(
        "enroll",
        "the new recovery code, with the chapter 5 wrap stored at the replacement",
        &["CHAIN-13", "CHAIN-14"],
        rin(&replaced.encoded(), &new_code.to_text(), &new_wrap),
    )?;
    let rk = UnlockPathKeys::from_recovery(&code.derive());
    let elsewhere = rk.wrap_umk0(AccountId([0x42; 32]), &acct.umk, rng).map_err(err_text)?;
    g.err(
        "enroll",
        "a chapter 5 wrap bound to another account id",
        &["CHAIN-13", "WRAP-4"],
        rin(&chain, &text, &elsewhere),
        Error::WrapOpen,
    )?;
    g.tag(&[Flag::WrongContext])?;
    let stale = rk.wrap_umk0(acct.state.account(), &Umk::random(rng), rng).map_err(err_text)?;
    g.err(
        "enroll",
        "a chapter 5 wrap (right key, right account) of a UMK_0 that does not match key_check_0",
        &["CHAIN-13", "CHAIN-16"],
        rin(&chain, &text, &stale),
        Error::KeyCheck,
    )?;
    let other_params = PasswordKdf { salt: kdf.salt, params: KdfParams { t: 4, ..kdf.params } };
    g.err(
        "enroll",
        "parameter substitution: the served salt is the pinned one, t is 4 instead of 3",
        &["CHAIN-13", "CHAIN-18"],
        pin(&chain, &other_params, &acct.password_wrap),
        Error::KdfNotPinned,
    )?;
    g.tag(&[Flag::Downgrade])?;
    // Step 6: the rotation's wrap to the recovery sealing key carries a UMK its key check refutes
    // (a compromised rotating device).
    let real = Umk::random(rng);
    let other = Umk::random(rng);
    let mut wraps = Vec::new();
    for d in acct.state.devices().values() {
        wraps.push(blindsync::chain::epoch_wrap(&acct.state.account(), 1, &d.x25519, &real, rng).map_err(err_text)?);
    }
    for p in [UnlockPath::Recovery, UnlockPath::Password] {
        let sealing = acct.state.authority(p).ok_or("authority")?.sealing;
        let u = if p == UnlockPath::Recovery { &other } else { &real };
        wraps.push(blindsync::chain::epoch_wrap(&acct.state.account(), 1, &sealing, u, rng).map_err(err_text)?);
    }
    blindsync::chain::statement::sort_wraps(&mut wraps);
    let split =
        next_statement(&acct.state, Body::RotateEpoch { epoch: 1, key_check: real.key_check(1), wraps }, &a.keys);
    let split_chain = [acct.state.encoded(), vec![split.encode()]].concat();
    g.err(
        "enroll",
        "the chain's epoch-1 wrap to the recovery sealing key fails its key check",
        &["CHAIN-13", "CHAIN-16"],
        rin(&split_chain, &text, &acct.recovery_wrap),
        Error::KeyCheck,
    )?;
    // Step 4: the derived signing key is the recovery authority's, but the chain pairs it with
    // another sealing key (installed with a valid proof by whoever held the code).
    let mine = UnlockPathKeys::from_recovery(&code.derive());
    let odd = UnlockPathKeys {
        path: UnlockPath::Recovery,
        authority: blindsync::unlock::AuthoritySeed::from_bytes(*mine.authority.expose()),
        sealing: HpkeSecretKey::random(rng),
        kek: Kek::random(rng),
        kdf_binding: Vec::new(),
    };
    let o_pw = UnlockPathKeys::from_password(&pw_keys, &kdf);
    let o_umk = Umk::random(rng);
    let o_dev = Dev::new(rng);
    let o_g = blindsync::chain::genesis(&o_dev.keys, &odd, &o_pw, &o_umk).map_err(err_text)?;
    g.err(
        "enroll",
        "the chain's recovery authority has the derived signing key but another sealing key",
        &["CHAIN-13"],
        rin(&[o_g], &text, &acct.recovery_wrap),
        Error::ChainSignerUnknown,
    )?;

    // ---- multi-fault: the enrollment steps of [CHAIN-13] in order ----
    let mf = |what: &str, e: Error, alone: Value| fault(what, e, alone);
    let mut typo = text.as_str().as_bytes().to_vec();
    typo[0] = if typo[0] == b'A' { b'B' } else { b'A' };
    let typo = String::from_utf8(typo).map_err(err_text)?;
    let srv_chain = srv_acct.state.encoded();
    let mut bad_chain = chain.clone();
    if let Some(x) = bad_chain.get_mut(1).and_then(|s| s.last_mut()) {
        *x ^= 0x01;
    }
    let weak = PasswordKdf { salt: kdf.salt, params: KdfParams { m_kib: 8192, ..kdf.params } };
    let pw71 = &acct.password_wrap[..71];
    let cases: Vec<(&str, Value, Vec<Fault>)> = vec![
        (
            "a mistyped recovery code with a counterfeit chain",
            rin(&srv_chain, &typo, &srv_acct.recovery_wrap),
            vec![
                mf("one wrong character", Error::RecoveryChecksum, rin(&chain, &typo, &acct.recovery_wrap)),
                mf("counterfeit chain", Error::ChainSignerUnknown, rin(&srv_chain, &text, &srv_acct.recovery_wrap)),
            ],
        ),
        (
            "m=8 MiB served, with a flipped signature bit in statement 1",
            pin(&bad_chain, &weak, &acct.password_wrap),
            vec![
                mf("m=8 MiB served", Error::KdfParamsTooWeak, pin(&chain, &weak, &acct.password_wrap)),
                mf("flipped signature bit", Error::ChainSignature, pin(&bad_chain, &kdf, &acct.password_wrap)),
            ],
        ),
        (
            "a flipped signature bit in statement 1, with another salt served",
            pin(&bad_chain, &other_salt, &acct.password_wrap),
            vec![
                mf("flipped signature bit", Error::ChainSignature, pin(&bad_chain, &kdf, &acct.password_wrap)),
                mf("another salt", Error::KdfNotPinned, pin(&chain, &other_salt, &acct.password_wrap)),
            ],
        ),
        (
            "another salt served, with a 71-byte wrap",
            pin(&chain, &other_salt, pw71),
            vec![
                mf("another salt", Error::KdfNotPinned, pin(&chain, &other_salt, &acct.password_wrap)),
                mf("71-byte wrap", Error::WrapLength, pin(&chain, &kdf, pw71)),
            ],
        ),
        (
            "the retired recovery code, with a wrap bound to another account",
            rin(&replaced.encoded(), &text, &elsewhere),
            vec![
                mf(
                    "retired authority",
                    Error::ChainSignerRevoked,
                    rin(&replaced.encoded(), &text, &acct.recovery_wrap),
                ),
                mf("wrap bound to another account", Error::WrapOpen, rin(&chain, &text, &elsewhere)),
            ],
        ),
        (
            "a wrap bound to another account, and an epoch-1 wrap that fails its key check",
            rin(&split_chain, &text, &elsewhere),
            vec![
                mf("wrap bound to another account", Error::WrapOpen, rin(&chain, &text, &elsewhere)),
                mf("epoch-1 wrap fails its key check", Error::KeyCheck, rin(&split_chain, &text, &acct.recovery_wrap)),
            ],
        ),
    ];
    for (what, input, faults) in cases {
        g.multi("enroll", what, &["CHAIN-13"], input, faults)?;
    }
    Ok(())
}
