//! `wrap.json` (spec 5.5): UMK wraps and the two unlock paths end to end.

use serde_json::{Value, json};

use super::password::{kdf_from, kdf_json};
use super::{Fault, Gen, fault, outcome};
use crate::Flag;
use crate::Outcome;
use crate::json::{Fail, JsonObject, hex_value, obj, set};
use blindsync::error::Error;
use blindsync::keys::{AccountId, Kek, Umk};
use blindsync::primitives::SeededRng;
use blindsync::unlock::password::PasswordKdf;
use blindsync::unlock::recovery::RecoveryCode;
use blindsync::unlock::wrap::{UmkWrapContext, WrapKind, unwrap_umk, wrap_umk_with_nonce};

fn ctx_from(i: &JsonObject<'_>) -> Result<UmkWrapContext, Fail> {
    let kind = u8::try_from(i.u64("kind")?).map_err(|_| Fail::Protocol(Error::DecodeValue))?;
    Ok(UmkWrapContext {
        account: AccountId(i.hex_n("account_id")?),
        epoch: i.u32("epoch")?,
        kind: WrapKind::from_u8(kind)?,
        kdf_binding: i.hex("kdf_binding")?,
    })
}

fn umk_wrap(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let ctx = ctx_from(&i)?;
    let wrap = wrap_umk_with_nonce(
        &Kek::from_bytes(i.hex_n("kek")?),
        &Umk::from_bytes(i.hex_n("umk")?),
        &ctx,
        &i.hex_n("nonce")?,
    )?;
    outcome(obj([("aad", hex_value(&ctx.aad()))]), obj([("wrap", hex_value(&wrap))]))
}

fn umk_unwrap(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let ctx = ctx_from(&i)?;
    let umk = unwrap_umk(&Kek::from_bytes(i.hex_n("kek")?), &i.hex("wrap")?, &ctx)?;
    outcome(obj([("aad", hex_value(&ctx.aad()))]), obj([("umk", hex_value(umk.expose()))]))
}

/// password + served salt/params + wrap -> UMK, as a device logging in does.
fn password_unlock(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let kdf = kdf_from(i.get("kdf")?)?;
    let keys = kdf.derive(i.str("password")?.as_bytes())?;
    let ctx = UmkWrapContext {
        account: AccountId(i.hex_n("account_id")?),
        epoch: i.u32("epoch")?,
        kind: WrapKind::Password,
        kdf_binding: kdf.encode(),
    };
    let umk = unwrap_umk(&keys.kek, &i.hex("wrap")?, &ctx)?;
    outcome(
        obj([("kek", hex_value(keys.kek.expose())), ("aad", hex_value(&ctx.aad()))]),
        obj([("umk", hex_value(umk.expose()))]),
    )
}

/// recovery text + wrap -> UMK.
fn recovery_unlock(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let keys = RecoveryCode::parse(i.str("text")?)?.derive();
    let ctx = UmkWrapContext {
        account: AccountId(i.hex_n("account_id")?),
        epoch: i.u32("epoch")?,
        kind: WrapKind::Recovery,
        kdf_binding: Vec::new(),
    };
    let umk = unwrap_umk(&keys.kek, &i.hex("wrap")?, &ctx)?;
    outcome(
        obj([("kek", hex_value(keys.kek.expose())), ("aad", hex_value(&ctx.aad()))]),
        obj([("umk", hex_value(umk.expose()))]),
    )
}

pub(super) fn run(kind: &str, input: &Value) -> Option<Result<Outcome, Fail>> {
    Some(match kind {
        "umk_wrap" => umk_wrap(input),
        "umk_unwrap" => umk_unwrap(input),
        "password_unlock" => password_unlock(input),
        "recovery_unlock" => recovery_unlock(input),
        _ => return None,
    })
}

fn flip(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut b = bytes.to_vec();
    if let Some(x) = b.get_mut(at) {
        *x ^= 0x01;
    }
    b
}

pub(super) fn generate(g: &mut Gen) -> Result<(), String> {
    let mut rng = SeededRng::from_label("blindsync/vectors/v1/wrap");
    let mut b = |n: usize| {
        let mut v = vec![0u8; n];
        rand_core::Rng::fill_bytes(&mut rng, &mut v);
        v
    };
    let account = b(32);
    let other_account = b(32);
    let umk = b(32);
    let kek = b(32);
    let nonce = b(24);
    let kdf_binding = b(32);

    // --- raw wrap and unwrap ---
    let wrap_in = obj([
        ("kek", hex_value(&kek)),
        ("umk", hex_value(&umk)),
        ("account_id", hex_value(&account)),
        ("epoch", json!(0)),
        ("kind", json!(WrapKind::Recovery as u8)),
        ("kdf_binding", hex_value(b"")),
        ("nonce", hex_value(&nonce)),
    ]);
    let reqs = ["WRAP-1", "WRAP-2", "WRAP-3"];
    g.ok("umk_wrap", "recovery-path wrap of the epoch-0 UMK", &reqs, wrap_in.clone())?;
    let pw_in = set(
        &set(&set(&wrap_in, "kind", json!(WrapKind::Password as u8)), "kdf_binding", hex_value(&kdf_binding)),
        "epoch",
        json!(7),
    );
    g.ok("umk_wrap", "password-path wrap of an epoch-7 UMK, binding salt and parameters", &reqs, pw_in.clone())?;

    let wrap = super::run("umk_wrap", &pw_in).map_err(|e| e.to_string())?.output["wrap"]
        .as_str()
        .and_then(crate::hex::decode)
        .ok_or("no wrap")?;
    let un = |w: &[u8]| {
        let mut v = pw_in.clone();
        if let Value::Object(m) = &mut v {
            m.remove("nonce");
            m.remove("umk");
            m.insert("wrap".into(), hex_value(w));
        }
        v
    };
    let open = ["WRAP-1", "WRAP-4"];
    g.ok("umk_unwrap", "opens with the same KEK and context", &open, un(&wrap))?;
    g.err("umk_unwrap", "tampered nonce (first byte)", &open, un(&flip(&wrap, 0)), Error::WrapOpen)?;
    g.tag(&[Flag::ModifiedCiphertext])?;
    g.err(
        "umk_unwrap",
        "tampered ciphertext (first byte of the UMK ciphertext)",
        &open,
        un(&flip(&wrap, 24)),
        Error::WrapOpen,
    )?;
    g.tag(&[Flag::ModifiedCiphertext])?;
    g.err("umk_unwrap", "tampered tag (last byte)", &open, un(&flip(&wrap, 71)), Error::WrapOpen)?;
    g.tag(&[Flag::ModifiedCiphertext])?;
    g.err(
        "umk_unwrap",
        "wrong epoch in the context (6 instead of 7)",
        &open,
        set(&un(&wrap), "epoch", json!(6)),
        Error::WrapOpen,
    )?;
    g.tag(&[Flag::WrongContext])?;
    g.err(
        "umk_unwrap",
        "wrong account in the context",
        &open,
        set(&un(&wrap), "account_id", hex_value(&other_account)),
        Error::WrapOpen,
    )?;
    g.tag(&[Flag::WrongContext])?;
    g.err(
        "umk_unwrap",
        "wrong wrap kind (recovery instead of password)",
        &open,
        set(&un(&wrap), "kind", json!(1)),
        Error::WrapOpen,
    )?;
    g.tag(&[Flag::WrongContext])?;
    g.err(
        "umk_unwrap",
        "tampered AAD: other KDF parameters than those the wrap was made with",
        &open,
        set(&un(&wrap), "kdf_binding", hex_value(&flip(&kdf_binding, 5))),
        Error::WrapOpen,
    )?;
    g.tag(&[Flag::WrongContext])?;
    g.err("umk_unwrap", "wrong KEK", &open, set(&un(&wrap), "kek", hex_value(&flip(&kek, 0))), Error::WrapOpen)?;
    g.tag(&[Flag::WrongKey])?;
    g.err("umk_unwrap", "truncated wrap (71 bytes)", &open, un(&wrap[..71]), Error::WrapLength)?;
    g.tag(&[Flag::Truncated])?;
    let mut long = wrap.clone();
    long.push(0);
    g.err("umk_unwrap", "wrap with one trailing byte (73 bytes)", &open, un(&long), Error::WrapLength)?;
    g.tag(&[Flag::TrailingBytes])?;
    g.err("umk_unwrap", "unknown wrap kind 3", &["WRAP-2"], set(&un(&wrap), "kind", json!(3)), Error::DecodeValue)?;
    g.err(
        "umk_unwrap",
        "a kdf_binding of 65 bytes, over its 64-byte limit",
        &["WRAP-2"],
        set(&un(&wrap), "kdf_binding", hex_value(&[0u8; 65])),
        Error::DecodeLength,
    )?;
    g.tag(&[Flag::EdgeCase])?;

    // --- password unlock end to end ---
    let kdf = PasswordKdf::generate(&mut rng);
    let password = "correct horse battery staple";
    let pw_keys = kdf.derive(password.as_bytes()).map_err(|e| e.to_string())?;
    let pctx = UmkWrapContext {
        account: AccountId(account.clone().try_into().map_err(|_| "account")?),
        epoch: 0,
        kind: WrapKind::Password,
        kdf_binding: kdf.encode(),
    };
    let mut n = [0u8; 24];
    rand_core::Rng::fill_bytes(&mut rng, &mut n);
    let umk_t: [u8; 32] = umk.clone().try_into().map_err(|_| "umk")?;
    let pwrap = wrap_umk_with_nonce(&pw_keys.kek, &Umk::from_bytes(umk_t), &pctx, &n).map_err(|e| e.to_string())?;
    let pin = obj([
        ("password", json!(password)),
        ("kdf", kdf_json(&kdf)),
        ("account_id", hex_value(&account)),
        ("epoch", json!(0)),
        ("wrap", hex_value(&pwrap)),
    ]);
    let pr = ["KEY-6", "KEY-7", "WRAP-4"];
    g.ok("password_unlock", "the right password opens the UMK", &pr, pin.clone())?;
    g.err(
        "password_unlock",
        "a wrong password",
        &pr,
        set(&pin, "password", json!("correct horse battery stapler")),
        Error::WrapOpen,
    )?;
    g.tag(&[Flag::WrongKey])?;
    let mut weaker = kdf;
    weaker.params.m_kib = 8 * 1024;
    g.err(
        "password_unlock",
        "the server serves m=8 MiB: refused before any hashing",
        &pr,
        set(&pin, "kdf", kdf_json(&weaker)),
        Error::KdfParamsTooWeak,
    )?;
    let mut stronger = kdf;
    stronger.params.t = 4;
    g.err(
        "password_unlock",
        "the server serves other parameters that pass the floor: the AAD binding refuses them",
        &pr,
        set(&pin, "kdf", kdf_json(&stronger)),
        Error::WrapOpen,
    )?;
    g.tag(&[Flag::Substitution])?;

    // --- recovery unlock end to end ---
    let code = RecoveryCode::generate(&mut rng);
    let rkeys = code.derive();
    let rctx = UmkWrapContext { kind: WrapKind::Recovery, kdf_binding: Vec::new(), ..pctx };
    rand_core::Rng::fill_bytes(&mut rng, &mut n);
    let rwrap = wrap_umk_with_nonce(&rkeys.kek, &Umk::from_bytes(umk_t), &rctx, &n).map_err(|e| e.to_string())?;
    let text = code.to_text().as_str().to_owned();
    let rin = obj([
        ("text", json!(text)),
        ("account_id", hex_value(&account)),
        ("epoch", json!(0)),
        ("wrap", hex_value(&rwrap)),
    ]);
    let rr = ["KEY-3", "KEY-4", "WRAP-4"];
    g.ok("recovery_unlock", "the recovery code opens the UMK", &rr, rin.clone())?;
    let mut typo = text.into_bytes();
    typo[5] = if typo[5] == b'A' { b'B' } else { b'A' };
    let typo = String::from_utf8(typo).map_err(|e| e.to_string())?;
    g.err(
        "recovery_unlock",
        "one wrong character: caught before any key is derived",
        &rr,
        set(&rin, "text", json!(typo)),
        Error::RecoveryChecksum,
    )?;
    g.err(
        "recovery_unlock",
        "the right code against another account's context",
        &rr,
        set(&rin, "account_id", hex_value(&other_account)),
        Error::WrapOpen,
    )?;
    g.tag(&[Flag::WrongContext])?;

    // ---- multi-fault: [WRAP-4]'s order (kind, binding length, wrap length, AEAD), [KEY-6] first ----
    let mf = |what: &str, e: Error, alone: Value| fault(what, e, alone);
    let kind3 = |v: &Value| set(v, "kind", json!(3));
    let b65 = |v: &Value| set(v, "kdf_binding", hex_value(&[0u8; 65]));
    let wrong_kek = |v: &Value| set(v, "kek", hex_value(&flip(&kek, 0)));
    let base = un(&wrap);
    let w71 = un(&wrap[..71]);
    let w73 = un(&long);
    let cases: Vec<(&str, Value, Vec<Fault>)> = vec![
        (
            "unknown wrap kind 3 and a 65-byte kdf_binding",
            kind3(&b65(&base)),
            vec![
                mf("wrap kind 3", Error::DecodeValue, kind3(&base)),
                mf("65-byte kdf_binding", Error::DecodeLength, b65(&base)),
            ],
        ),
        (
            "a 65-byte kdf_binding with a 71-byte wrap",
            b65(&w71),
            vec![
                mf("65-byte kdf_binding", Error::DecodeLength, b65(&base)),
                mf("71-byte wrap", Error::WrapLength, w71.clone()),
            ],
        ),
        (
            "unknown wrap kind 3 with a 73-byte wrap",
            kind3(&w73),
            vec![
                mf("wrap kind 3", Error::DecodeValue, kind3(&base)),
                mf("73-byte wrap", Error::WrapLength, w73.clone()),
            ],
        ),
        (
            "a 73-byte wrap under the wrong KEK",
            wrong_kek(&w73),
            vec![
                mf("73-byte wrap", Error::WrapLength, w73.clone()),
                mf("wrong KEK", Error::WrapOpen, wrong_kek(&base)),
            ],
        ),
    ];
    for (what, input, faults) in cases {
        g.multi("umk_unwrap", what, &["WRAP-4", "WRAP-5"], input, faults)?;
    }
    let wrong_pw = |v: &Value| set(v, "password", json!("correct horse battery stapler"));
    let mut v10 = kdf;
    v10.params.version = 0x10;
    g.multi(
        "password_unlock",
        "the server serves m=8 MiB, and the password is wrong",
        &["KEY-6", "WRAP-4"],
        wrong_pw(&set(&pin, "kdf", kdf_json(&weaker))),
        vec![
            mf("m=8 MiB served", Error::KdfParamsTooWeak, set(&pin, "kdf", kdf_json(&weaker))),
            mf("a wrong password", Error::WrapOpen, wrong_pw(&pin)),
        ],
    )?;
    let mut v10_weak = weaker;
    v10_weak.params.version = 0x10;
    g.multi(
        "password_unlock",
        "the server serves Argon2 version 0x10 with m=8 MiB",
        &["KEY-6"],
        set(&pin, "kdf", kdf_json(&v10_weak)),
        vec![
            mf("version 0x10", Error::KdfVersion, set(&pin, "kdf", kdf_json(&v10))),
            mf("m=8 MiB", Error::KdfParamsTooWeak, set(&pin, "kdf", kdf_json(&weaker))),
        ],
    )?;
    let cut = |v: &Value| set(v, "wrap", hex_value(&pwrap[..71]));
    g.multi(
        "password_unlock",
        "a 71-byte wrap, and the password is wrong",
        &["WRAP-4"],
        wrong_pw(&cut(&pin)),
        vec![mf("71-byte wrap", Error::WrapLength, cut(&pin)), mf("a wrong password", Error::WrapOpen, wrong_pw(&pin))],
    )?;
    let other = |v: &Value| set(v, "account_id", hex_value(&other_account));
    g.multi(
        "recovery_unlock",
        "one wrong character, against another account's context",
        &["KEY-3", "WRAP-4"],
        other(&set(&rin, "text", json!(typo))),
        vec![
            mf("one wrong character", Error::RecoveryChecksum, set(&rin, "text", json!(typo))),
            mf("another account's context", Error::WrapOpen, other(&rin)),
        ],
    )?;
    Ok(())
}
