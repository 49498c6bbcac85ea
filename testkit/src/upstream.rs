//! Verification of the published known-answer tests in `vectors/upstream/`.
//!
//! These files are transcribed from the standards (see
//! `vectors/upstream/README.md`); passing them shows that our wrappers call
//! the primitives exactly as the standards define them.

use serde_json::Value;

use super::json::{Fail, JsonObject};
use super::{FileReport, hex};
use blindsync::primitives::{argon2id_full, hkdf_expand, hkdf_extract, xchacha_open, xchacha_seal};
use blindsync::secret::Secret32;

/// The upstream files, relative to `vectors/upstream/`.
pub const FILES: &[&str] = &[
    "rfc5869_hkdf_sha256.json",
    "rfc9106_argon2id.json",
    "xchacha20poly1305_draft03.json",
    "rfc8032_ed25519.json",
    "rfc9180_hpke.json",
];

pub(crate) fn verify(rel: &str, name: &str, json: &Value) -> FileReport {
    let mut rep = FileReport { name: rel.to_owned(), ..Default::default() };
    let cases: Vec<(String, Result<(), Fail>)> = match name {
        "rfc5869_hkdf_sha256.json" => each(json, "cases", |c| format!("tc{}", c["tc"]), hkdf_case),
        "rfc9106_argon2id.json" => vec![("argon2id".into(), argon2_case(json))],
        "xchacha20poly1305_draft03.json" => vec![("A.3.1".into(), xchacha_case(json))],
        "rfc8032_ed25519.json" => each(json, "cases", |c| c["name"].as_str().unwrap_or("?").to_owned(), ed25519_case),
        "rfc9180_hpke.json" => each(json, "vectors", |c| c["section"].as_str().unwrap_or("?").to_owned(), hpke_case),
        _ => vec![(name.to_owned(), Err(Fail::harness("unknown upstream file")))],
    };
    for (id, res) in cases {
        rep.positive.1 += 1;
        match res {
            Ok(()) => rep.positive.0 += 1,
            Err(e) => rep.failures.push(format!("{rel} {id}: {e}")),
        }
    }
    rep
}

fn each(
    json: &Value,
    key: &str,
    id: impl Fn(&Value) -> String,
    f: impl Fn(&Value) -> Result<(), Fail>,
) -> Vec<(String, Result<(), Fail>)> {
    match json.get(key).and_then(Value::as_array) {
        Some(list) => list.iter().map(|c| (id(c), f(c))).collect(),
        None => vec![(key.to_owned(), Err(Fail::harness(format!("no {key} array"))))],
    }
}

fn expect_eq(what: &str, got: &[u8], want: &[u8]) -> Result<(), Fail> {
    if got == want {
        Ok(())
    } else {
        Err(Fail::harness(format!("{what}: got {}, want {}", hex::encode(got), hex::encode(want))))
    }
}

/// RFC 5869 appendix A: Extract then Expand. [PRIM-2]
fn hkdf_case(c: &Value) -> Result<(), Fail> {
    let o = JsonObject(c);
    let prk = hkdf_extract(&o.hex("salt")?, &o.hex("IKM")?);
    expect_eq("PRK", prk.expose(), &o.hex("PRK")?)?;
    let mut okm = vec![0u8; o.u64("L")? as usize];
    hkdf_expand(&prk, &o.hex("info")?, &mut okm)?;
    expect_eq("OKM", &okm, &o.hex("OKM")?)
}

/// RFC 9106 section 5.3. [PRIM-5]
fn argon2_case(c: &Value) -> Result<(), Fail> {
    let o = JsonObject(c);
    if o.u32("version")? != 0x13 || o.u32("tag_length")? != 32 {
        return Err(Fail::harness("only version 0x13 with 32-byte tags is supported"));
    }
    let tag = argon2id_full(
        &o.hex("password")?,
        &o.hex("salt")?,
        &o.hex("secret")?,
        &o.hex("ad")?,
        o.u32("m_cost_kib")?,
        o.u32("t_cost")?,
        o.u32("parallelism")?,
    )?;
    expect_eq("tag", tag.expose(), &o.hex("tag")?)
}

/// draft-irtf-cfrg-xchacha-03 A.3.1. [PRIM-4]
fn xchacha_case(c: &Value) -> Result<(), Fail> {
    let o = JsonObject(c);
    let key = Secret32::from_bytes(o.hex_n("key")?);
    let nonce = o.hex_n::<24>("iv")?;
    let aad = o.hex("aad")?;
    let mut want = o.hex("ciphertext")?;
    want.extend_from_slice(&o.hex("tag")?);
    let got = xchacha_seal(&key, &nonce, &aad, &o.hex("plaintext")?)?;
    expect_eq("ciphertext||tag", &got, &want)?;
    let pt = xchacha_open(&key, &nonce, &aad, &want, blindsync::Error::WrapOpen)?;
    expect_eq("plaintext", &pt, &o.hex("plaintext")?)
}

/// RFC 8032 section 7.1: key generation, signing, strict verification. [PRIM-9]
fn ed25519_case(c: &Value) -> Result<(), Fail> {
    use ed25519_dalek::{Signer, SigningKey};
    let o = JsonObject(c);
    let sk = SigningKey::from_bytes(&o.hex_n("secret_key")?);
    expect_eq("public_key", sk.verifying_key().as_bytes(), &o.hex("public_key")?)?;
    let msg = o.hex("message")?;
    let sig = sk.sign(&msg);
    expect_eq("signature", &sig.to_bytes(), &o.hex("signature")?)?;
    // The library's one strict verification ([PRIM-9]) against the RFC's signature.
    if blindsync::primitives::verify_strict(&o.hex_n("public_key")?, &msg, &o.hex_n("signature")?) {
        Ok(())
    } else {
        Err(Fail::harness("verify_strict refused the RFC signature"))
    }
}

/// An RNG that returns fixed bytes: replays `ikmE` so the sender's ephemeral
/// key is the RFC's.
pub(crate) struct Replay(pub(crate) Vec<u8>, pub(crate) usize);

impl rand_core::TryRng for Replay {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for d in dst {
            *d = self.0.get(self.1).copied().unwrap_or(0);
            self.1 += 1;
        }
        Ok(())
    }
}
impl rand_core::TryCryptoRng for Replay {}

/// RFC 9180 A.1.1 / A.2.1, base mode: key derivation, encapsulation with the
/// RFC's ephemeral key, every listed encryption, decapsulation, and our own
/// key-schedule computation (`blindsync::hpke::key_schedule_base`, parametrised
/// on `aead_id`). [PRIM-10] [HPKE-4]
fn hpke_case(c: &Value) -> Result<(), Fail> {
    let o = JsonObject(c);
    match o.u64("aead_id")? {
        1 => hpke_suite::<hpke::aead::AesGcm128>(c),
        3 => hpke_suite::<hpke::aead::ChaCha20Poly1305>(c),
        other => Err(Fail::harness(format!("aead_id {other} not in the upstream set"))),
    }
}

fn hpke_suite<A: hpke::aead::Aead>(c: &Value) -> Result<(), Fail> {
    use hpke::kdf::HkdfSha256;
    use hpke::kem::X25519HkdfSha256 as K;
    use hpke::{Kem, OpModeR, OpModeS, Serializable};
    let o = JsonObject(c);
    if o.u64("mode")? != 0 || o.u64("kem_id")? != 0x20 || o.u64("kdf_id")? != 1 {
        return Err(Fail::harness("only base mode with DHKEM(X25519, HKDF-SHA256) and HKDF-SHA256"));
    }
    let bad = |what: &str| Fail::harness(format!("hpke {what} failed"));
    let (_, pk_e) = K::derive_keypair(&o.hex("ikmE")?);
    expect_eq("pkEm", &pk_e.to_bytes(), &o.hex("pkEm")?)?;
    let (sk_r, pk_r) = K::derive_keypair(&o.hex("ikmR")?);
    expect_eq("pkRm", &pk_r.to_bytes(), &o.hex("pkRm")?)?;
    let info = o.hex("info")?;
    // DeriveKeyPair(ikmE) is what the sender's Encap does with 32 random bytes.
    let mut rng = Replay(o.hex("ikmE")?, 0);
    let (enc, mut tx) = hpke::setup_sender_with_rng::<A, HkdfSha256, K>(&OpModeS::Base, &pk_r, &info, &mut rng)
        .map_err(|_| bad("setup"))?;
    expect_eq("enc", &enc.to_bytes(), &o.hex("enc")?)?;
    let ss = K::decap(&sk_r, None, &enc).map_err(|_| bad("decap"))?;
    expect_eq("shared_secret", &ss.0, &o.hex("shared_secret")?)?;
    // Our own RFC 9180 section 5.1 key schedule, the one chain vectors print. [HPKE-4]
    let aead_id = u16::try_from(o.u64("aead_id")?).map_err(|_| Fail::harness("aead_id"))?;
    let ks = blindsync::hpke::key_schedule_base(aead_id, &ss.0, &info)?;
    expect_eq("key_schedule_context", &ks.key_schedule_context, &o.hex("key_schedule_context")?)?;
    expect_eq("secret", &ks.secret, &o.hex("secret")?)?;
    expect_eq("key", &ks.key, &o.hex("key")?)?;
    expect_eq("base_nonce", &ks.base_nonce, &o.hex("base_nonce")?)?;
    expect_eq("exporter_secret", &ks.exporter_secret, &o.hex("exporter_secret")?)?;
    let mut seq = 0u64;
    for e in o.arr("encryptions")? {
        let e = JsonObject(e);
        let want_seq = e.u64("seq")?;
        while seq < want_seq {
            tx.seal(b"skip", b"").map_err(|_| bad("seal"))?;
            seq += 1;
        }
        let ct = tx.seal(&e.hex("pt")?, &e.hex("aad")?).map_err(|_| bad("seal"))?;
        expect_eq(&format!("ct[{want_seq}]"), &ct, &e.hex("ct")?)?;
        seq += 1;
    }
    // Our own seal and open (src/hpke.rs, with its low-order checks) give the
    // RFC's sequence-0 ciphertext and open it. [HPKE-1] [HPKE-3]
    let first = JsonObject(o.arr("encryptions")?.first().ok_or_else(|| Fail::harness("no encryptions"))?);
    let pk_rm: [u8; 32] = o.hex_n("pkRm")?;
    let (our_enc, our_ct) = blindsync::hpke::seal_suite::<A, _>(
        &pk_rm,
        &info,
        &first.hex("aad")?,
        &first.hex("pt")?,
        &mut Replay(o.hex("ikmE")?, 0),
    )?;
    expect_eq("our enc", &our_enc, &o.hex("enc")?)?;
    expect_eq("our ct[0]", &our_ct, &first.hex("ct")?)?;
    let sk_rm = blindsync::hpke::HpkeSecretKey::from_bytes(o.hex_n("skRm")?);
    let our_pt = blindsync::hpke::open_suite::<A>(&sk_rm, &our_enc, &info, &first.hex("aad")?, &our_ct)?;
    expect_eq("our pt[0]", &our_pt, &first.hex("pt")?)?;
    // The receiver opens sequence 0.
    let mut rx =
        hpke::setup_receiver::<A, HkdfSha256, K>(&OpModeR::Base, &sk_r, &enc, &info).map_err(|_| bad("receiver"))?;
    let first = JsonObject(o.arr("encryptions")?.first().ok_or_else(|| Fail::harness("no encryptions"))?);
    let pt = rx.open(&first.hex("ct")?, &first.hex("aad")?).map_err(|_| bad("open"))?;
    expect_eq("pt[0]", &pt, &first.hex("pt")?)
}
