//! `password.json` (spec 5.4): the Argon2id floor and the HKDF split.

use serde_json::{Value, json};

use super::{Fault, Gen, fault, outcome};
use crate::Flag;
use crate::Outcome;
use crate::json::{Fail, JsonObject, hex_value, obj};
use blindsync::encoding::Encoder;
use blindsync::error::Error;
use blindsync::labels;
use blindsync::primitives::SeededRng;
use blindsync::unlock::password::{ARGON2_VERSION, KdfParams, PasswordKdf, salt_from_slice};

/// Reads `{salt, version, m_kib, t, p}`.
pub(super) fn kdf_from(v: &Value) -> Result<PasswordKdf, Fail> {
    let o = JsonObject(v);
    Ok(PasswordKdf {
        salt: salt_from_slice(&o.hex("salt")?)?,
        params: KdfParams { version: o.u32("version")?, m_kib: o.u32("m_kib")?, t: o.u32("t")?, p: o.u32("p")? },
    })
}

pub(super) fn kdf_json(k: &PasswordKdf) -> Value {
    obj([
        ("salt", hex_value(&k.salt)),
        ("version", json!(k.params.version)),
        ("m_kib", json!(k.params.m_kib)),
        ("t", json!(k.params.t)),
        ("p", json!(k.params.p)),
    ])
}

fn password_derive(input: &Value) -> Result<Outcome, Fail> {
    let i = JsonObject(input);
    let kdf = kdf_from(i.get("kdf")?)?;
    let keys = kdf.derive(i.str("password")?.as_bytes())?;
    let hash_prefix = Encoder::new(labels::PASSWORD_AUTH_HASH).finish();
    outcome(
        obj([
            ("kdf_encoding", hex_value(&kdf.encode())),
            ("argon2id_output", hex_value(keys.stretched.expose())),
            ("extract_salt", hex_value(&Encoder::new(labels::PASSWORD_EXTRACT).finish())),
            ("prk", hex_value(keys.prk.expose())),
            ("auth_info", hex_value(&Encoder::new(labels::PASSWORD_AUTH).finish())),
            ("kek_info", hex_value(&Encoder::new(labels::PASSWORD_KEK).finish())),
            ("authority_info", hex_value(&Encoder::new(labels::PASSWORD_AUTHORITY).finish())),
            ("auth_hash_prefix", hex_value(&hash_prefix)),
        ]),
        obj([
            ("auth", hex_value(keys.auth.expose())),
            ("auth_hash", hex_value(&keys.auth.server_hash())),
            ("kek", hex_value(keys.kek.expose())),
            ("authority_seed", hex_value(keys.authority.expose())),
            ("authority_public_key", hex_value(&keys.authority.public_key())),
        ]),
    )
}

fn kdf_decode(input: &Value) -> Result<Outcome, Fail> {
    let k = PasswordKdf::decode(&JsonObject(input).hex("bytes")?)?;
    k.check()?;
    outcome(json!({}), obj([("kdf", kdf_json(&k))]))
}

pub(super) fn run(kind: &str, input: &Value) -> Option<Result<Outcome, Fail>> {
    Some(match kind {
        "password_derive" => password_derive(input),
        "password_kdf_decode" => kdf_decode(input),
        _ => return None,
    })
}

pub(super) fn generate(g: &mut Gen) -> Result<(), String> {
    let mut rng = SeededRng::from_label("blindsync/vectors/v1/password");
    let kdf = PasswordKdf::generate(&mut rng);
    let with = |m_kib: u32, t: u32, p: u32| PasswordKdf {
        salt: kdf.salt,
        params: KdfParams { version: ARGON2_VERSION, m_kib, t, p },
    };
    let input = |pw: &str, k: &PasswordKdf| obj([("password", json!(pw)), ("kdf", kdf_json(k))]);
    let derive = ["KEY-5", "KEY-6", "KEY-7", "KEY-8"];
    g.ok(
        "password_derive",
        "default parameters (t=3, m=64 MiB, p=4)",
        &derive,
        input("correct horse battery staple", &kdf),
    )?;
    g.ok("password_derive", "a non-ASCII password (UTF-8 of the NFC form)", &derive, input("pässwörd-密码", &kdf))?;
    g.ok("password_derive", "exactly the floor: t=3, m=64 MiB, p=1", &derive, input("floor", &with(65536, 3, 1)))?;
    let policy = ["KEY-6"];
    g.err(
        "password_derive",
        "a server offering m=8 MiB is refused before any hashing",
        &policy,
        input("pw", &with(8192, 3, 4)),
        Error::KdfParamsTooWeak,
    )?;
    g.err(
        "password_derive",
        "m one KiB below the floor",
        &policy,
        input("pw", &with(65535, 3, 4)),
        Error::KdfParamsTooWeak,
    )?;
    g.tag(&[Flag::EdgeCase])?;
    g.err(
        "password_derive",
        "t=2, below the floor",
        &policy,
        input("pw", &with(65536, 2, 4)),
        Error::KdfParamsTooWeak,
    )?;
    g.err("password_derive", "p=0", &policy, input("pw", &with(65536, 3, 0)), Error::KdfParamsTooWeak)?;
    g.tag(&[Flag::EdgeCase])?;
    g.err(
        "password_derive",
        "m above the 2 GiB ceiling",
        &policy,
        input("pw", &with(2 * 1024 * 1024 + 1, 3, 4)),
        Error::KdfParamsTooLarge,
    )?;
    g.err(
        "password_derive",
        "t above the ceiling of 16",
        &policy,
        input("pw", &with(65536, 17, 4)),
        Error::KdfParamsTooLarge,
    )?;
    let mut v10 = kdf;
    v10.params.version = 0x10;
    g.err(
        "password_derive",
        "Argon2 version 0x10 (a version downgrade)",
        &policy,
        input("pw", &v10),
        Error::KdfVersion,
    )?;
    let mut short = kdf_json(&kdf);
    if let Value::Object(m) = &mut short {
        m.insert("salt".into(), hex_value(&kdf.salt[..15]));
    }
    g.err(
        "password_derive",
        "a 15-byte salt",
        &["KEY-5"],
        obj([("password", json!("pw")), ("kdf", short)]),
        Error::KdfSaltLength,
    )?;
    let dec = ["KEY-6"];
    g.ok(
        "password_kdf_decode",
        "the wire form of salt and parameters",
        &dec,
        obj([("bytes", hex_value(&kdf.encode()))]),
    )?;
    g.err(
        "password_kdf_decode",
        "one byte short",
        &dec,
        obj([("bytes", hex_value(&kdf.encode()[..31]))]),
        Error::DecodeTruncated,
    )?;
    let mut long = kdf.encode();
    long.push(0);
    g.err("password_kdf_decode", "one trailing byte", &dec, obj([("bytes", hex_value(&long))]), Error::DecodeTrailing)?;
    g.err(
        "password_kdf_decode",
        "well-formed but m=8 MiB",
        &dec,
        obj([("bytes", hex_value(&with(8192, 3, 4).encode()))]),
        Error::KdfParamsTooWeak,
    )?;

    // ---- multi-fault: [KEY-6]'s order (salt length, version, floor, ceiling), after decoding ----
    let mf = |what: &str, e: Error, alone: Value| fault(what, e, alone);
    let salt15 = |k: &PasswordKdf| {
        let mut j = kdf_json(k);
        if let Value::Object(m) = &mut j {
            m.insert("salt".into(), hex_value(&k.salt[..15]));
        }
        obj([("password", json!("pw")), ("kdf", j)])
    };
    let ver = |mut k: PasswordKdf| {
        k.params.version = 0x10;
        k
    };
    let derive_cases: Vec<(&str, Value, Vec<Fault>)> = vec![
        (
            "a 15-byte salt and Argon2 version 0x10",
            salt15(&ver(kdf)),
            vec![
                mf("15-byte salt", Error::KdfSaltLength, salt15(&kdf)),
                mf("version 0x10", Error::KdfVersion, input("pw", &ver(kdf))),
            ],
        ),
        (
            "a 15-byte salt and t=2",
            salt15(&with(65536, 2, 4)),
            vec![
                mf("15-byte salt", Error::KdfSaltLength, salt15(&kdf)),
                mf("t=2", Error::KdfParamsTooWeak, input("pw", &with(65536, 2, 4))),
            ],
        ),
        (
            "Argon2 version 0x10 and m=8 MiB",
            input("pw", &ver(with(8192, 3, 4))),
            vec![
                mf("version 0x10", Error::KdfVersion, input("pw", &ver(kdf))),
                mf("m=8 MiB", Error::KdfParamsTooWeak, input("pw", &with(8192, 3, 4))),
            ],
        ),
        (
            "m=8 MiB and t=17 (below the floor and above the ceiling)",
            input("pw", &with(8192, 17, 4)),
            vec![
                mf("m=8 MiB", Error::KdfParamsTooWeak, input("pw", &with(8192, 3, 4))),
                mf("t=17", Error::KdfParamsTooLarge, input("pw", &with(65536, 17, 4))),
            ],
        ),
        (
            "p=0 and m above the 2 GiB ceiling",
            input("pw", &with(2 * 1024 * 1024 + 1, 3, 0)),
            vec![
                mf("p=0", Error::KdfParamsTooWeak, input("pw", &with(65536, 3, 0))),
                mf("m above 2 GiB", Error::KdfParamsTooLarge, input("pw", &with(2 * 1024 * 1024 + 1, 3, 4))),
            ],
        ),
    ];
    for (what, input, faults) in derive_cases {
        g.multi("password_derive", what, &policy, input, faults)?;
    }
    let bytes = |b: &[u8]| obj([("bytes", hex_value(b))]);
    let weak = with(8192, 3, 4).encode();
    let dec_cases: Vec<(&str, Value, Vec<Fault>)> = vec![
        (
            "m=8 MiB, and a trailing byte",
            bytes(&[&weak[..], &[0]].concat()),
            vec![
                mf("a trailing byte", Error::DecodeTrailing, bytes(&long)),
                mf("m=8 MiB", Error::KdfParamsTooWeak, bytes(&weak)),
            ],
        ),
        (
            "m=8 MiB, one byte short",
            bytes(&weak[..31]),
            vec![
                mf("one byte short", Error::DecodeTruncated, bytes(&kdf.encode()[..31])),
                mf("m=8 MiB", Error::KdfParamsTooWeak, bytes(&weak)),
            ],
        ),
        (
            "Argon2 version 0x10 and m=8 MiB",
            bytes(&ver(with(8192, 3, 4)).encode()),
            vec![
                mf("version 0x10", Error::KdfVersion, bytes(&ver(kdf).encode())),
                mf("m=8 MiB", Error::KdfParamsTooWeak, bytes(&weak)),
            ],
        ),
        (
            "t=2 and p=17 (below the floor and above the ceiling)",
            bytes(&with(65536, 2, 17).encode()),
            vec![
                mf("t=2", Error::KdfParamsTooWeak, bytes(&with(65536, 2, 4).encode())),
                mf("p=17", Error::KdfParamsTooLarge, bytes(&with(65536, 3, 17).encode())),
            ],
        ),
    ];
    for (what, input, faults) in dec_cases {
        g.multi("password_kdf_decode", what, &dec, input, faults)?;
    }
    Ok(())
}
