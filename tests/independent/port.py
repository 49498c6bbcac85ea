#!/usr/bin/env python3
"""Independent Python port of the BlindSync v1 specification (chapters 2-6).

Written from spec/*.md and vectors/README.md alone, without reading the Rust
reference implementation, to check that the specification is sufficient to
reproduce the published test vectors. See README.md beside this file.

Usage: python3 tests/independent/port.py [VECTORS_DIR]
Exit status: 0 when every vector file validates against schema.json and every
implemented vector passes; 1 otherwise. Unknown kinds are reported as skipped.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
from pathlib import Path

import jsonschema
import nacl.bindings
import nacl.exceptions
import nacl.signing
from argon2.low_level import Type, hash_secret_raw


class SpecError(Exception):
    """A failure the spec names; `code` is its chapter-6 code [ERR-1]."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


# --------------------------------------------------------------------------
# Chapter 2: notation and canonical encoding
# --------------------------------------------------------------------------

MAX_LABEL = 64  # [ENC-4], [LBL-2]


def u8(v: int) -> bytes:  # [ENC-1]
    return v.to_bytes(1, "big")


def u16(v: int) -> bytes:  # [ENC-1]
    return v.to_bytes(2, "big")


def u32(v: int) -> bytes:  # [ENC-1]
    return v.to_bytes(4, "big")


def u64(v: int) -> bytes:  # [ENC-1]
    return v.to_bytes(8, "big")


def fixed(b: bytes) -> bytes:  # [ENC-2]: no length prefix
    return b


def var(b: bytes) -> bytes:  # [ENC-3]: `bytes(b)` = u32(len(b)) || b
    return u32(len(b)) + b


def enc(label: str, *fields: bytes) -> bytes:
    """`enc(L, f1, ...)` = bytes(L) || f1 || ... [ENC-4]; fields pre-encoded."""
    lb = label.encode("ascii")
    assert len(lb) <= MAX_LABEL
    return var(lb) + b"".join(fields)


class Reader:
    """A total decoder over a byte string [ENC-5]."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if len(self.data) - self.pos < n:
            raise SpecError("E_DECODE_TRUNCATED")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def uint(self, width: int) -> int:
        return int.from_bytes(self.take(width), "big")

    def var(self, maximum: int) -> bytes:
        n = self.uint(4)
        if n > maximum:  # checked before the bytes are read
            raise SpecError("E_DECODE_LENGTH")
        return self.take(n)

    def label(self, expected: str) -> None:
        # 2.6: a label longer than 64 or not the expected one is E_DECODE_LABEL.
        # [ENC-5] a label length <= 64 whose bytes are cut
        # short is E_DECODE_TRUNCATED (we read, then compare).
        n = self.uint(4)
        if n > MAX_LABEL:
            raise SpecError("E_DECODE_LABEL")
        if self.take(n) != expected.encode("ascii"):
            raise SpecError("E_DECODE_LABEL")

    def end(self) -> None:
        if self.pos != len(self.data):
            raise SpecError("E_DECODE_TRAILING")


def canonical_decode(label: str, shape: list[str], data: bytes) -> list:
    """Decode `data` as enc(label, fields...) of the given shape (2.6)."""
    r = Reader(data)
    r.label(label)
    fields: list = []
    for t in shape:
        if t in ("u8", "u16", "u32", "u64"):
            fields.append(r.uint(int(t[1:]) // 8))
        elif t.startswith("fixed:"):
            fields.append(r.take(int(t[6:])).hex())
        elif t.startswith("bytes:"):
            fields.append(r.var(int(t[6:])).hex())
        else:
            raise ValueError(f"unknown shape element {t!r}")
    r.end()
    return fields


# --------------------------------------------------------------------------
# Chapter 4: primitives
# --------------------------------------------------------------------------

def sha256(m: bytes) -> bytes:  # [PRIM-1]
    return hashlib.sha256(m).digest()


def hmac_sha256(key: bytes, m: bytes) -> bytes:  # [PRIM-3]
    return hmac.new(key, m, hashlib.sha256).digest()


def hkdf_extract(salt: bytes, ikm: bytes) -> bytes:
    """RFC 5869 2.2; an empty salt means 32 zero bytes [PRIM-2]."""
    return hmac_sha256(salt or bytes(32), ikm)


def hkdf_expand(prk: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869 2.3; L above 255*32 is E_KDF_OUTPUT_LENGTH [PRIM-2]."""
    if not 0 <= length <= 255 * 32:
        raise SpecError("E_KDF_OUTPUT_LENGTH")
    okm, t = b"", b""
    for i in range(1, -(-length // 32) + 1):
        t = hmac_sha256(prk, t + info + bytes([i]))
        okm += t
    return okm[:length]


def xchacha_seal(key: bytes, nonce: bytes, aad: bytes, pt: bytes) -> bytes:
    """XChaCha20-Poly1305 (draft-03), tag appended [PRIM-4]; non-empty AAD [PRIM-6]."""
    if not aad:
        raise SpecError("E_EMPTY_AAD")
    return nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(pt, aad, nonce, key)


def xchacha_open(key: bytes, nonce: bytes, aad: bytes, ct: bytes, fail: str) -> bytes:
    """Open; any authentication failure is the caller's single code `fail` [PRIM-6]."""
    if not aad:
        raise SpecError("E_EMPTY_AAD")
    try:
        return nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(ct, aad, nonce, key)
    except nacl.exceptions.CryptoError:
        raise SpecError(fail) from None


def argon2id(password: bytes, salt: bytes, m_kib: int, t: int, p: int) -> bytes:
    """Argon2id v1.3, 32-byte output, no secret, no AD [PRIM-5]."""
    return hash_secret_raw(password, salt, time_cost=t, memory_cost=m_kib,
                           parallelism=p, hash_len=32, type=Type.ID, version=0x13)


def ed25519_public(seed: bytes) -> bytes:
    """RFC 8032 5.1.5 public key of a 32-byte secret key (seed) [PRIM-9]."""
    return nacl.signing.SigningKey(seed).verify_key.encode()


# --------------------------------------------------------------------------
# Chapter 5: keys and unlock paths
# --------------------------------------------------------------------------

def check_collection_name(name: str) -> bytes:
    """UTF-8, 1 to 255 bytes, else E_COLLECTION_NAME [KEY-12]."""
    b = name.encode("utf-8")
    if not 1 <= len(b) <= 255:
        raise SpecError("E_COLLECTION_NAME")
    return b


def epoch_keys(umk: bytes, account_id: bytes, epoch: int, names: list[str]):
    """Epoch PRK [KEY-10], collection keys [KEY-12], routing key [KEY-11], buckets [KEY-13]."""
    encoded = [check_collection_name(n) for n in names]  # all checks before any output
    salt = enc("blindsync/v1/epoch/extract", fixed(account_id), u32(epoch))
    prk = hkdf_extract(salt, umk)
    infos = [enc("blindsync/v1/key/collection", var(n)) for n in encoded]
    if epoch != 0:
        # [KEY-11] only epoch 0 has a routing key (and buckets).
        return ({"extract_salt": salt.hex(), "prk": prk.hex(), "collection_infos": [i.hex() for i in infos]},
                {"collection_keys": [hkdf_expand(prk, i, 32).hex() for i in infos]})
    routing_info = enc("blindsync/v1/key/routing")
    routing_key = hkdf_expand(prk, routing_info, 32)
    infos = [enc("blindsync/v1/key/collection", var(n)) for n in encoded]
    msgs = [enc("blindsync/v1/bucket", var(n)) for n in encoded]
    inter = {"extract_salt": salt.hex(), "prk": prk.hex(), "routing_info": routing_info.hex(),
             "collection_infos": [i.hex() for i in infos],
             "bucket_messages": [m.hex() for m in msgs]}
    out = {"routing_key": routing_key.hex(),
           "collection_keys": [hkdf_expand(prk, i, 32).hex() for i in infos],
           "buckets": [hmac_sha256(routing_key, m).hex() for m in msgs]}
    return inter, out


# 5.3 the recovery code [KEY-3]
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
ALIASES = {"O": "0", "I": "1", "L": "1"}


def check_symbols(v: list[int]) -> tuple[int, int]:
    # "for i in 0..25" is inclusive here (all 26 data symbols): README ambiguity 3.
    c1 = sum(v) % 32
    c2 = sum((i + 1) * x for i, x in enumerate(v)) % 32
    return c1, c2


def recovery_format(code: bytes) -> str:
    """16 bytes -> 26 data symbols (two zero pad bits) + c1, c2, groups of 4 [KEY-3]."""
    assert len(code) == 16
    n = int.from_bytes(code, "big") << 2  # 130 bits
    v = [(n >> (5 * (25 - i))) & 31 for i in range(26)]
    syms = "".join(ALPHABET[x] for x in v + list(check_symbols(v)))
    return "-".join(syms[i:i + 4] for i in range(0, 28, 4))


def recovery_parse(text: str) -> bytes:
    """Parse the human text back to 16 bytes; all checks before derivation [KEY-3]."""
    s = text.replace("-", "").replace(" ", "").upper()
    s = "".join(ALIASES.get(ch, ch) for ch in s)
    if len(s) != 28 or any(ch not in ALPHABET for ch in s):
        raise SpecError("E_RECOVERY_FORMAT")
    vals = [ALPHABET.index(ch) for ch in s]
    v, check = vals[:26], tuple(vals[26:])
    # [KEY-3] checksum is checked before the padding bits.
    if check_symbols(v) != check:
        raise SpecError("E_RECOVERY_CHECKSUM")
    if v[25] & 0b11:
        raise SpecError("E_RECOVERY_FORMAT")
    n = 0
    for x in v:
        n = (n << 5) | x
    return (n >> 2).to_bytes(16, "big")


def recovery_derive(text: str):
    """[KEY-4]: KEK and authority seed from the code by HKDF alone."""
    code = recovery_parse(text)
    salt = enc("blindsync/v1/recovery/extract")
    prk = hkdf_extract(salt, code)
    kek_info = enc("blindsync/v1/recovery/kek")
    auth_info = enc("blindsync/v1/recovery/authority")
    seed = hkdf_expand(prk, auth_info, 32)
    inter = {"extract_salt": salt.hex(), "prk": prk.hex(), "kek_info": kek_info.hex(),
             "authority_info": auth_info.hex(), "code": code.hex()}
    out = {"kek": hkdf_expand(prk, kek_info, 32).hex(), "authority_seed": seed.hex(),
           "authority_public_key": ed25519_public(seed).hex()}
    return inter, out


# 5.4 the password [KEY-5..KEY-8]
ARGON2_VERSION = 0x13
FLOOR = {"m": 65536, "t": 3, "p": 1}      # client constants [KEY-6]
CEILING = {"m": 2097152, "t": 16, "p": 16}


def check_kdf(kdf: dict) -> None:
    """Check served salt and parameters before any hashing [KEY-5], [KEY-6]."""
    # [KEY-6] the salt length is checked first.
    if len(bytes.fromhex(kdf["salt"])) != 16:
        raise SpecError("E_KDF_SALT_LENGTH")
    m, t, p = kdf["m_kib"], kdf["t"], kdf["p"]
    if kdf["version"] != ARGON2_VERSION:
        raise SpecError("E_KDF_VERSION")
    if m < FLOOR["m"] or t < FLOOR["t"] or p < FLOOR["p"]:
        raise SpecError("E_KDF_PARAMS_TOO_WEAK")
    if m > CEILING["m"] or t > CEILING["t"] or p > CEILING["p"]:
        raise SpecError("E_KDF_PARAMS_TOO_LARGE")


def kdf_encoding(kdf: dict) -> bytes:
    """u32(version) || u32(m) || u32(t) || u32(p) || fixed(salt): 32 bytes, no label [KEY-6]."""
    return (u32(kdf["version"]) + u32(kdf["m_kib"]) + u32(kdf["t"]) + u32(kdf["p"])
            + fixed(bytes.fromhex(kdf["salt"])))


def kdf_decode(data: bytes) -> dict:
    """Decode the wire form with the 2.6 rules (no label), then apply [KEY-6]."""
    r = Reader(data)
    version, m, t, p = (r.uint(4) for _ in range(4))
    salt = r.take(16)
    r.end()
    kdf = {"salt": salt.hex(), "version": version, "m_kib": m, "t": t, "p": p}
    check_kdf(kdf)  # README says "apply the floor"; we apply all of KEY-6 (ambiguity 6)
    return kdf


def password_derive(password: str, kdf: dict):
    """[KEY-7] Argon2id then HKDF split; [KEY-8] the server's auth_hash."""
    check_kdf(kdf)
    # [KEY-5] UTF-8 of the NFC form; normalising is the caller's job (vectors are NFC).
    s = argon2id(password.encode("utf-8"), bytes.fromhex(kdf["salt"]),
                 kdf["m_kib"], kdf["t"], kdf["p"])
    salt = enc("blindsync/v1/password/extract")
    prk = hkdf_extract(salt, s)
    infos = {k: enc(f"blindsync/v1/password/{k}") for k in ("auth", "kek", "authority")}
    auth, kek, seed = (hkdf_expand(prk, infos[k], 32) for k in ("auth", "kek", "authority"))
    prefix = enc("blindsync/v1/password/auth-hash")
    inter = {"kdf_encoding": kdf_encoding(kdf).hex(), "argon2id_output": s.hex(),
             "extract_salt": salt.hex(), "prk": prk.hex(),
             "auth_info": infos["auth"].hex(), "kek_info": infos["kek"].hex(),
             "authority_info": infos["authority"].hex(), "auth_hash_prefix": prefix.hex()}
    out = {"auth": auth.hex(), "auth_hash": sha256(prefix + auth).hex(), "kek": kek.hex(),
           "authority_seed": seed.hex(), "authority_public_key": ed25519_public(seed).hex()}
    return inter, out


# 5.5 UMK wraps [WRAP-1..WRAP-4]
WRAP_LEN, NONCE_LEN = 72, 24
WRAP_KINDS = {1: "recovery", 2: "password"}


def wrap_aad(account_id: bytes, epoch: int, kind: int, kdf_binding: bytes) -> bytes:
    """[WRAP-2]; an unknown kind is E_DECODE_VALUE."""
    if kind not in WRAP_KINDS:
        raise SpecError("E_DECODE_VALUE")
    # [WRAP-2] the reader rebuilds the AAD from its expectations; the binding is at most 64 bytes.
    if len(kdf_binding) > 64:
        raise SpecError("E_DECODE_LENGTH")
    return enc("blindsync/v1/aad/umk-wrap", fixed(account_id), u32(epoch), u8(kind),
               var(kdf_binding))


def umk_wrap(kek: bytes, umk: bytes, aad: bytes, nonce: bytes) -> bytes:
    """[WRAP-1] nonce(24) || Seal(KEK, nonce, aad, UMK); [WRAP-3] nonce from the caller."""
    return nonce + xchacha_seal(kek, nonce, aad, umk)


def umk_unwrap(kek: bytes, aad: bytes, wrap: bytes) -> bytes:
    """[WRAP-1] length check, [WRAP-4] every open failure is E_WRAP_OPEN."""
    if len(wrap) != WRAP_LEN:
        raise SpecError("E_WRAP_LENGTH")
    return xchacha_open(kek, wrap[:NONCE_LEN], aad, wrap[NONCE_LEN:], "E_WRAP_OPEN")


# --------------------------------------------------------------------------
# Vector kinds (vectors/README.md): each returns (intermediate, output)
# --------------------------------------------------------------------------

def h(x: str) -> bytes:
    return bytes.fromhex(x)


def k_hkdf(i):
    prk = hkdf_extract(h(i["salt"]), h(i["ikm"]))
    return {"prk": prk.hex()}, {"okm": hkdf_expand(prk, h(i["info"]), i["length"]).hex()}


def k_umk_wrap(i):
    aad = wrap_aad(h(i["account_id"]), i["epoch"], i["kind"], h(i["kdf_binding"]))
    return {"aad": aad.hex()}, {"wrap": umk_wrap(h(i["kek"]), h(i["umk"]), aad, h(i["nonce"])).hex()}


def k_umk_unwrap(i):
    # [WRAP-4] order: kind, binding length (both in wrap_aad), wrap length, AEAD.
    aad = wrap_aad(h(i["account_id"]), i["epoch"], i["kind"], h(i["kdf_binding"]))
    return {"aad": aad.hex()}, {"umk": umk_unwrap(h(i["kek"]), aad, h(i["wrap"])).hex()}


def k_password_unlock(i):
    _, derived = password_derive(i["password"], i["kdf"])
    kek = h(derived["kek"])
    aad = wrap_aad(h(i["account_id"]), i["epoch"], 2, kdf_encoding(i["kdf"]))
    umk = umk_unwrap(kek, aad, h(i["wrap"]))
    return {"kek": kek.hex(), "aad": aad.hex()}, {"umk": umk.hex()}


def k_recovery_unlock(i):
    _, derived = recovery_derive(i["text"])
    kek = h(derived["kek"])
    aad = wrap_aad(h(i["account_id"]), i["epoch"], 1, b"")
    umk = umk_unwrap(kek, aad, h(i["wrap"]))
    return {"kek": kek.hex(), "aad": aad.hex()}, {"umk": umk.hex()}


KINDS = {
    "sha256": lambda i: ({}, {"digest": sha256(h(i["message"])).hex()}),
    "hmac_sha256": lambda i: ({}, {"tag": hmac_sha256(h(i["key"]), h(i["message"])).hex()}),
    "hkdf_sha256": k_hkdf,
    "xchacha20poly1305_seal": lambda i: ({}, {"ciphertext_and_tag": xchacha_seal(
        h(i["key"]), h(i["nonce"]), h(i["aad"]), h(i["plaintext"])).hex()}),
    "argon2id": lambda i: ({}, {"output": argon2id(
        h(i["password"]), h(i["salt"]), i["m_kib"], i["t"], i["p"]).hex()}),
    "canonical_decode": lambda i: ({}, {"fields": canonical_decode(
        i["label"], i["shape"], h(i["bytes"]))}),
    "epoch_keys": lambda i: epoch_keys(h(i["umk"]), h(i["account_id"]), i["epoch"],
                                       i["collections"]),
    "recovery_code_format": lambda i: ({}, {"text": recovery_format(h(i["code"]))}),
    "recovery_code_derive": lambda i: recovery_derive(i["text"]),
    "password_derive": lambda i: password_derive(i["password"], i["kdf"]),
    "password_kdf_decode": lambda i: ({}, {"kdf": kdf_decode(h(i["bytes"]))}),
    "umk_wrap": k_umk_wrap,
    "umk_unwrap": k_umk_unwrap,
    "password_unlock": k_password_unlock,
    "recovery_unlock": k_recovery_unlock,
}


# --------------------------------------------------------------------------
# Runner
# --------------------------------------------------------------------------

def run_vector(v: dict) -> str | None:
    """Run one vector; None on success, else a one-line reason."""
    try:
        inter, out = KINDS[v["kind"]](v["input"])
    except SpecError as e:
        if "error" in v:
            return None if e.code == v["error"] else f"failed with {e.code}, expected {v['error']}"
        return f"failed with {e.code}, expected success"
    except Exception as e:  # a bug in the port or a malformed input: never a pass
        return f"crashed: {type(e).__name__}: {e}"
    if "error" in v:
        return f"succeeded, expected {v['error']}"
    problems = []
    for name, got, want in (("intermediate", inter, v["intermediate"]),
                            ("output", out, v["output"])):
        if got != want:
            keys = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
            problems.append(f"{name} differs in {keys}")
    return "; ".join(problems) or None


def main(argv: list[str]) -> int:
    default = Path(__file__).resolve().parent.parent.parent / "vectors"
    vdir = Path(argv[1]) if len(argv) > 1 else default
    schema = json.loads((vdir / "schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    files = sorted(p for p in vdir.glob("*.json") if p.name != "schema.json")
    if not files:
        print(f"no vector files in {vdir}")
        return 1

    failures: list[str] = []
    skipped_kinds: dict[str, int] = {}
    seen_ids: dict[str, str] = {}
    rows = []
    totals = [0, 0, 0, 0, 0]  # pos ok, pos total, neg ok, neg total, skipped
    for path in files:
        doc = json.loads(path.read_text(encoding="utf-8"))
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        for e in errors:
            failures.append(f"{path.name}: schema: /{'/'.join(map(str, e.path))}: {e.message}")
        if isinstance(doc, dict) and doc.get("file") != path.name:
            failures.append(f"{path.name}: field 'file' is {doc.get('file')!r}")
        counts = [0, 0, 0, 0, 0]
        vectors = doc.get("vectors", []) if not errors else []
        for v in vectors:
            if v["id"] in seen_ids:  # README: ids are unique across all files
                failures.append(f"{path.name}: {v['id']}: duplicate id (also in {seen_ids[v['id']]})")
            seen_ids[v["id"]] = path.name
            if v["kind"] not in KINDS:
                counts[4] += 1
                skipped_kinds[v["kind"]] = skipped_kinds.get(v["kind"], 0) + 1
                continue
            col = 2 if "error" in v else 0
            counts[col + 1] += 1
            reason = run_vector(v)
            if reason is None:
                counts[col] += 1
            else:
                failures.append(f"{path.name}: {v['id']} ({v['kind']}): {reason}")
        rows.append((path.name, "FAIL" if errors else "ok", counts))
        totals = [a + b for a, b in zip(totals, counts)]

    print(f"{'file':<18} {'schema':<6} {'positive':>9} {'negative':>9} {'skipped':>8}")
    for name, schema_ok, c in rows + [("total", "", totals)]:
        print(f"{name:<18} {schema_ok:<6} {c[0]:>4}/{c[1]:<4} {c[2]:>4}/{c[3]:<4} {c[4]:>8}")
    if skipped_kinds:
        print("skipped kinds: " + ", ".join(f"{k} ({n})" for k, n in sorted(skipped_kinds.items())))
    for f in failures:
        print("FAIL " + f)
    # One closing line: vector passes, then every failure (vectors, schema, ids).
    print(f"port: {totals[0] + totals[2]} passed, {len(failures)} failed, {totals[4]} skipped")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
