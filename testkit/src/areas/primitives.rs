//! `primitives.json` (spec 4).

use serde_json::{Value, json};

use super::{Gen, outcome};
use crate::Flag;
use crate::Outcome;
use crate::json::{Fail, JsonObject, hex_value, obj};
use blindsync::error::Error;
use blindsync::primitives::{
    SeededRng, argon2id_raw, blake3_hash, blake3_keyed, hkdf_expand, hkdf_extract, hmac_sha256, sha256, xchacha_seal,
};
use blindsync::secret::Secret32;

pub(super) fn run(kind: &str, input: &Value) -> Option<Result<Outcome, Fail>> {
    let i = JsonObject(input);
    Some(match kind {
        "sha256" => (|| outcome(json!({}), obj([("digest", hex_value(&sha256(&[&i.hex("message")?])))])))(),
        "blake3" => (|| outcome(json!({}), obj([("digest", hex_value(&blake3_hash(&[&i.hex("message")?])))])))(),
        "blake3_keyed" => (|| {
            outcome(json!({}), obj([("digest", hex_value(&blake3_keyed(&i.hex_n("key")?, &[&i.hex("message")?])))]))
        })(),
        "hmac_sha256" => {
            (|| outcome(json!({}), obj([("tag", hex_value(&hmac_sha256(&i.hex("key")?, &i.hex("message")?)))])))()
        }
        "hkdf_sha256" => (|| {
            let prk = hkdf_extract(&i.hex("salt")?, &i.hex("ikm")?);
            let mut okm = vec![0u8; usize::try_from(i.u64("length")?).unwrap_or(usize::MAX).min(1 << 16)];
            hkdf_expand(&prk, &i.hex("info")?, &mut okm)?;
            outcome(obj([("prk", hex_value(prk.expose()))]), obj([("okm", hex_value(&okm))]))
        })(),
        "xchacha20poly1305_seal" => (|| {
            let key = Secret32::from_bytes(i.hex_n("key")?);
            let ct = xchacha_seal(&key, &i.hex_n("nonce")?, &i.hex("aad")?, &i.hex("plaintext")?)?;
            outcome(json!({}), obj([("ciphertext_and_tag", hex_value(&ct))]))
        })(),
        "argon2id" => (|| {
            // Vectors may come from untrusted files: the client ceiling bounds the work. [KEY-6]
            let c = blindsync::unlock::password::KdfParams::CEILING;
            if i.u32("m_kib")? > c.m_kib || i.u32("t")? > c.t || i.u32("p")? > c.p {
                return Err(Error::KdfParamsTooLarge.into());
            }
            let out = argon2id_raw(&i.hex("password")?, &i.hex("salt")?, i.u32("m_kib")?, i.u32("t")?, i.u32("p")?)?;
            outcome(json!({}), obj([("output", hex_value(out.expose()))]))
        })(),
        _ => return None,
    })
}

pub(super) fn generate(g: &mut Gen) -> Result<(), String> {
    let mut rng = SeededRng::from_label("blindsync/vectors/v1/primitives");
    let mut bytes = |n: usize| {
        let mut b = vec![0u8; n];
        rand_core::Rng::fill_bytes(&mut rng, &mut b);
        b
    };
    let r1 = ["PRIM-1"];
    g.ok("sha256", "SHA-256 of the empty string", &r1, obj([("message", hex_value(b""))]))?;
    g.ok("sha256", "SHA-256 of 100 seeded bytes", &r1, obj([("message", hex_value(&bytes(100)))]))?;
    let r3 = ["PRIM-3"];
    g.ok(
        "hmac_sha256",
        "HMAC-SHA256 with a 32-byte key",
        &r3,
        obj([("key", hex_value(&bytes(32))), ("message", hex_value(&bytes(50)))]),
    )?;
    g.ok(
        "hmac_sha256",
        "HMAC-SHA256 with a key longer than the block",
        &r3,
        obj([("key", hex_value(&bytes(80))), ("message", hex_value(b"abc"))]),
    )?;
    let r2 = ["PRIM-2"];
    g.ok(
        "hkdf_sha256",
        "HKDF-SHA256 with a labelled salt and info, 32-byte output",
        &r2,
        obj([
            ("salt", hex_value(&bytes(40))),
            ("ikm", hex_value(&bytes(32))),
            ("info", hex_value(&bytes(30))),
            ("length", json!(32)),
        ]),
    )?;
    g.ok(
        "hkdf_sha256",
        "HKDF-SHA256 at its longest output, 8160 bytes",
        &r2,
        obj([
            ("salt", hex_value(b"")),
            ("ikm", hex_value(&bytes(16))),
            ("info", hex_value(b"")),
            ("length", json!(8160)),
        ]),
    )?;
    g.err(
        "hkdf_sha256",
        "HKDF-SHA256 asked for 8161 bytes (255 * 32 + 1)",
        &r2,
        obj([
            ("salt", hex_value(b"")),
            ("ikm", hex_value(&bytes(16))),
            ("info", hex_value(b"")),
            ("length", json!(8161)),
        ]),
        Error::KdfOutputLength,
    )?;
    g.tag(&[Flag::EdgeCase])?;
    let r4 = ["PRIM-4", "PRIM-6"];
    g.ok(
        "xchacha20poly1305_seal",
        "XChaCha20-Poly1305 of 64 bytes",
        &r4,
        obj([
            ("key", hex_value(&bytes(32))),
            ("nonce", hex_value(&bytes(24))),
            ("aad", hex_value(&bytes(20))),
            ("plaintext", hex_value(&bytes(64))),
        ]),
    )?;
    g.ok(
        "xchacha20poly1305_seal",
        "XChaCha20-Poly1305 of the empty plaintext (tag only)",
        &r4,
        obj([
            ("key", hex_value(&bytes(32))),
            ("nonce", hex_value(&bytes(24))),
            ("aad", hex_value(b"x")),
            ("plaintext", hex_value(b"")),
        ]),
    )?;
    g.err(
        "xchacha20poly1305_seal",
        "an empty AAD is refused: every BlindSync AEAD binds a context",
        &r4,
        obj([
            ("key", hex_value(&bytes(32))),
            ("nonce", hex_value(&bytes(24))),
            ("aad", hex_value(b"")),
            ("plaintext", hex_value(&bytes(8))),
        ]),
        Error::EmptyAad,
    )?;
    g.ok(
        "argon2id",
        "raw Argon2id v1.3 with small parameters (the primitive alone; the password path applies the floor)",
        &["PRIM-5"],
        obj([
            ("password", hex_value(b"password")),
            ("salt", hex_value(&bytes(16))),
            ("m_kib", json!(256)),
            ("t", json!(2)),
            ("p", json!(2)),
        ]),
    )?;
    // [PRIM-11] BLAKE3 over the reference test file's input pattern (byte i = i mod 251), across
    // the 1024-byte chunk boundary where the tree starts, and keyed.
    let r11 = ["PRIM-11"];
    let pattern = |n: usize| (0..n).map(|i| (i % 251) as u8).collect::<Vec<u8>>();
    for n in [0usize, 1, 1024, 1025, 65_552] {
        g.ok("blake3", &format!("BLAKE3 of {n} pattern bytes"), &r11, obj([("message", hex_value(&pattern(n)))]))?;
    }
    let key = bytes(32);
    for n in [0usize, 1025] {
        g.ok(
            "blake3_keyed",
            &format!("keyed BLAKE3 of {n} pattern bytes"),
            &r11,
            obj([("key", hex_value(&key)), ("message", hex_value(&pattern(n)))]),
        )?;
    }
    Ok(())
}
