#!/usr/bin/env python3
"""Independent Python port of the BlindSync v1 specification (chapters 2-6 and 8).

Written from spec/*.md and vectors/README.md alone, without reading the Rust
reference implementation, to check that the specification is sufficient to
reproduce the published test vectors. See README.md beside this file.

Usage: python3 tests/independent/port.py [VECTORS_DIR]
       python3 tests/independent/port.py client   (the client role: client.py, driven by
                                                   `blindsync conform`, spec chapter 13)
Exit status: 0 when every vector file validates against schema.json and every
implemented vector passes, and every negative vector's flags and faults follow
the rules of vectors/README.md ("Flags"); 1 otherwise. Unknown kinds are
reported as skipped.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import sys
from pathlib import Path

import blake3
import jsonschema
import nacl.bindings
import nacl.exceptions
import nacl.signing
from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305


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
    # [KEY-15] case folding is ASCII only: str.upper() would map U+0131 to I, U+017F to S and
    # U+00DF to SS, which the spec refuses (E_RECOVERY_FORMAT).
    s = text.replace("-", "").replace(" ", "")
    s = "".join(ch.upper() if "a" <= ch <= "z" else ch for ch in s)
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
# Chapter 8: HPKE (8.6), devices and pairing (8.4, 8.5), the account chain
# (8.1-8.3, 8.7). Written from spec/08-chain.md and RFC 9180 alone.
# --------------------------------------------------------------------------

# 8.6 / RFC 9180: base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, and an
# AEAD chosen by aead_id (2 = AES-256-GCM for BlindSync [PRIM-10]; 1 and 3 only
# to check this code against RFC 9180 A.1.1 and A.2.1).
KEM_X25519, KDF_SHA256 = 0x0020, 0x0001
AEADS = {1: (AESGCM, 16), 2: (AESGCM, 32), 3: (ChaCha20Poly1305, 32)}
AEAD_AES256GCM = 2
X25519_BASE = (9).to_bytes(32, "little")


def x25519(scalar: bytes, u: bytes) -> bytes:
    """RFC 7748 X25519; raises ValueError on an all-zero result (low order)."""
    sk = X25519PrivateKey.from_private_bytes(scalar)
    return sk.exchange(X25519PublicKey.from_public_bytes(u))


def x25519_public(secret: bytes) -> bytes:
    """Public key of a 32-byte X25519 secret (clamped by X25519) [DEV-1]."""
    return X25519PrivateKey.from_private_bytes(secret).public_key().public_bytes_raw()


# [HPKE-3] "one fixed scalar decides it": any clamped scalar is a multiple of
# the cofactor 8, so X25519(k, u) = 0 iff u is of small order.
_LOW_ORDER_PROBE = bytes([0x48] + [0x11] * 30 + [0x41])


def x25519_is_low_order(u: bytes) -> bool:
    try:
        out = x25519(_LOW_ORDER_PROBE, u)
    except ValueError:  # `cryptography` refuses the all-zero shared secret
        return True
    return out == bytes(32)


def check_x25519_key(u: bytes) -> None:
    """[DEV-2], [HPKE-3]: an X25519 key of small order is E_HPKE_LOW_ORDER."""
    if x25519_is_low_order(u):
        raise SpecError("E_HPKE_LOW_ORDER")


class Hpke:
    """RFC 9180 base mode, single shot, for one aead_id."""

    def __init__(self, aead_id: int = AEAD_AES256GCM):
        self.aead, self.nk = AEADS[aead_id]
        self.kem_suite = b"KEM" + u16(KEM_X25519)
        self.suite = b"HPKE" + u16(KEM_X25519) + u16(KDF_SHA256) + u16(aead_id)

    @staticmethod
    def _lextract(suite, salt, label, ikm):  # RFC 9180 4, LabeledExtract
        return hkdf_extract(salt, b"HPKE-v1" + suite + label + ikm)

    @staticmethod
    def _lexpand(suite, prk, label, info, n):  # RFC 9180 4, LabeledExpand
        return hkdf_expand(prk, u16(n) + b"HPKE-v1" + suite + label + info, n)

    def derive_keypair(self, ikm: bytes) -> tuple[bytes, bytes]:  # RFC 9180 7.1.3
        prk = self._lextract(self.kem_suite, b"", b"dkp_prk", ikm)
        sk = self._lexpand(self.kem_suite, prk, b"sk", b"", 32)
        return sk, x25519_public(sk)

    def _shared_secret(self, dh: bytes, enc_: bytes, pk_r: bytes) -> bytes:  # 4.1 ExtractAndExpand
        prk = self._lextract(self.kem_suite, b"", b"eae_prk", dh)
        return self._lexpand(self.kem_suite, prk, b"shared_secret", enc_ + pk_r, 32)

    def key_schedule(self, shared_secret: bytes, info: bytes) -> dict:  # 5.1, base mode [HPKE-4]
        s = self.suite
        psk_id_hash = self._lextract(s, b"", b"psk_id_hash", b"")
        info_hash = self._lextract(s, b"", b"info_hash", info)
        context = b"\x00" + psk_id_hash + info_hash
        secret = self._lextract(s, shared_secret, b"secret", b"")
        return {"shared_secret": shared_secret, "key_schedule_context": context,
                "secret": secret,
                "key": self._lexpand(s, secret, b"key", context, self.nk),
                "base_nonce": self._lexpand(s, secret, b"base_nonce", context, 12),
                "exporter_secret": self._lexpand(s, secret, b"exp", context, 32)}

    def seal(self, pk_r: bytes, info: bytes, aad: bytes, pt: bytes, ikm_e: bytes):
        """Single-shot seal; Encap's ephemeral key is DeriveKeyPair(ikm_e). Returns (enc, ct, ks)."""
        if not aad:  # [HPKE-2]
            raise SpecError("E_EMPTY_AAD")
        check_x25519_key(pk_r)  # [HPKE-3] sender refuses a low-order recipient
        sk_e, enc_ = self.derive_keypair(ikm_e)
        ks = self.key_schedule(self._shared_secret(x25519(sk_e, pk_r), enc_, pk_r), info)
        ct = self.aead(ks["key"]).encrypt(ks["base_nonce"], pt, aad)  # seq 0
        return enc_, ct, ks

    def open(self, sk_r: bytes, enc_: bytes, info: bytes, aad: bytes, ct: bytes):
        """Single-shot open; every failure is E_HPKE_OPEN except a low-order enc [HPKE-2,3]."""
        if not aad:
            raise SpecError("E_EMPTY_AAD")
        if len(enc_) != 32:
            raise SpecError("E_HPKE_OPEN")
        check_x25519_key(enc_)  # before any key schedule runs [HPKE-3]; README ch. 8 item 10
        pk_r = x25519_public(sk_r)
        ks = self.key_schedule(self._shared_secret(x25519(sk_r, enc_), enc_, pk_r), info)
        try:
            return self.aead(ks["key"]).decrypt(ks["base_nonce"], ct, aad), ks
        except InvalidTag:
            raise SpecError("E_HPKE_OPEN") from None


def hpke_upstream_check(path: Path) -> list[str]:
    """Check Hpke against RFC 9180 A.1.1 / A.2.1 (vectors/upstream/rfc9180_hpke.json)."""
    problems = []
    doc = json.loads(path.read_text(encoding="utf-8"))
    for v in doc["vectors"]:
        name = v["section"]
        hp = Hpke(v["aead_id"])
        sk_e, pk_e = hp.derive_keypair(h(v["ikmE"]))
        sk_r, pk_r = hp.derive_keypair(h(v["ikmR"]))
        got = {"skEm": sk_e, "pkEm": pk_e, "skRm": sk_r, "pkRm": pk_r, "enc": pk_e}
        ks = hp.key_schedule(hp._shared_secret(x25519(sk_e, pk_r), pk_e, pk_r), h(v["info"]))
        got.update(ks)
        ks_r = hp.key_schedule(hp._shared_secret(x25519(sk_r, pk_e), pk_e, pk_r), h(v["info"]))
        if ks_r != ks:
            problems.append(f"{name}: receiver key schedule differs from sender's")
        for k, val in got.items():
            if val.hex() != v[k]:
                problems.append(f"{name}: {k} differs")
        aead = hp.aead(ks["key"])
        base = int.from_bytes(ks["base_nonce"], "big")
        for e in v["encryptions"]:
            nonce = (base ^ e["seq"]).to_bytes(12, "big")
            if nonce.hex() != e["nonce"]:
                problems.append(f"{name}: nonce at seq {e['seq']} differs")
            if aead.encrypt(nonce, h(e["pt"]), h(e["aad"])).hex() != e["ct"]:
                problems.append(f"{name}: ct at seq {e['seq']} differs")
        # the single-shot API (seq 0) round trip through open
        e0 = v["encryptions"][0]
        pt, _ = hp.open(sk_r, pk_e, h(v["info"]), h(e0["aad"]), h(e0["ct"]))
        if pt.hex() != e0["pt"]:
            problems.append(f"{name}: single-shot open differs")
        enc_, ct, _ = hp.seal(pk_r, h(v["info"]), h(e0["aad"]), h(e0["pt"]), h(v["ikmE"]))
        if (enc_.hex(), ct.hex()) != (v["enc"], e0["ct"]):
            problems.append(f"{name}: single-shot seal differs")
    return problems


# [PRIM-9] Ed25519 point checks, written out (RFC 8032 5.1.3 decoding), for
# [DEV-2] / [CHAIN-8] key validity. Verification itself is libsodium's strict
# crypto_sign_verify_detached (through PyNaCl).
_P = 2**255 - 19
_D = (-121665 * pow(121666, _P - 2, _P)) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _ed_decode(b: bytes):
    """RFC 8032 5.1.3: a point (x, y) or None. Non-canonical y (>= p) is refused."""
    if len(b) != 32:
        return None
    n = int.from_bytes(b, "little")
    sign, y = n >> 255, n & ((1 << 255) - 1)
    if y >= _P:
        return None  # GUESS (README ch. 8 item 9): non-canonical encodings are invalid keys
    u, v = (y * y - 1) % _P, (_D * y * y + 1) % _P
    x = (u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P)) % _P
    if (v * x * x - u) % _P != 0:
        x = (x * _SQRT_M1) % _P
        if (v * x * x - u) % _P != 0:
            return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = _P - x
    return x, y


def _ed_add(p1, p2):
    (x1, y1), (x2, y2) = p1, p2
    t = _D * x1 * x2 * y1 * y2 % _P
    x3 = (x1 * y2 + x2 * y1) * pow(1 + t, _P - 2, _P) % _P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, _P - 2, _P) % _P
    return x3, y3


def ed25519_key_valid(pk: bytes) -> bool:
    """Decodes to a curve point that is not of small order ([DEV-2]): [8]P != identity."""
    pt = _ed_decode(pk)
    if pt is None:
        return False
    for _ in range(3):
        pt = _ed_add(pt, pt)
    return pt != (0, 1)


def check_ed25519_key(pk: bytes) -> None:
    if not ed25519_key_valid(pk):
        raise SpecError("E_DEVICE_KEY_INVALID")


def ed25519_verify_strict(pk: bytes, msg: bytes, sig: bytes) -> bool:
    """[PRIM-9], [CHAIN-2]: libsodium's verify refuses S >= L, small-order or
    non-canonical R and A (it is built without ED25519_COMPAT)."""
    try:
        nacl.signing.VerifyKey(pk).verify(msg, sig)
        return True
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.CryptoError, ValueError):
        return False


# 8.4 devices, comparison strings [DEV-1], [CHAIN-5], [CHAIN-19]
def compare160(d: bytes) -> str:
    """[CHAIN-5]: first 160 bits of d, big-endian, as 32 Crockford symbols in 8 groups of 4."""
    n = int.from_bytes(d[:20], "big")
    s = "".join(ALPHABET[(n >> (5 * (31 - i))) & 31] for i in range(32))
    return "-".join(s[i:i + 4] for i in range(0, 32, 4))


QR_VERSION, QR_LEN = 1, 34
QR_ACCOUNT, QR_PARTNER, QR_PAIRING = 1, 2, 3  # [CHAIN-5] QR kinds


def comparison_qr(kind: int, d: bytes) -> bytes:
    """[CHAIN-5]: u8 version(1) || u8 kind || d(32), 34 bytes."""
    return u8(QR_VERSION) + u8(kind) + fixed(d)


def comparison_qr_decode(qr: bytes) -> tuple[int, bytes]:
    """[CHAIN-19] in order: empty, version, length, kind."""
    if not qr:
        raise SpecError("E_DECODE_TRUNCATED")
    if qr[0] != QR_VERSION:
        raise SpecError("E_PAIRING_VERSION")
    if len(qr) < QR_LEN:
        raise SpecError("E_DECODE_TRUNCATED")
    if len(qr) > QR_LEN:
        raise SpecError("E_DECODE_TRAILING")
    if qr[1] not in (QR_ACCOUNT, QR_PARTNER, QR_PAIRING):
        raise SpecError("E_DECODE_VALUE")
    return qr[1], qr[2:]


def comparison_qr_check(mine: tuple[int, bytes], scanned: bytes) -> int:
    """[CHAIN-19]: decode the scan, then compare kind and digest (constant time)."""
    kind, d = comparison_qr_decode(scanned)
    same_digest = hmac.compare_digest(d, mine[1])
    if kind != mine[0] or not same_digest:
        raise SpecError("E_COMPARE_MISMATCH")
    return kind


def device_id(ed: bytes, x: bytes) -> bytes:  # [DEV-1]
    return sha256(enc("blindsync/v1/device/id", fixed(ed), fixed(x)))


def account_fingerprint_digest(account_id: bytes) -> tuple[bytes, bytes]:  # [CHAIN-5]
    m = enc("blindsync/v1/chain/fingerprint", fixed(account_id))
    return m, sha256(m)


def account_fingerprint(account_id: bytes) -> str:  # [CHAIN-5]
    return compare160(account_fingerprint_digest(account_id)[1])


def partner_fingerprint_digest(account_id: bytes, key: bytes) -> tuple[bytes, bytes]:
    """[CHAIN-5]: binds the pinning account as well as the key."""
    m = enc("blindsync/v1/chain/partner-fingerprint", fixed(account_id), fixed(key))
    return m, sha256(m)


def key_check(umk: bytes, epoch: int) -> tuple[bytes, bytes]:
    """[KEY-14], [CHAIN-16]: HMAC-SHA256(UMK_e, enc(KEY_CHECK, u32 e)); (message, value)."""
    m = enc("blindsync/v1/key/check", u32(epoch))
    return m, hmac_sha256(umk, m)


def check_device_keys(ed: bytes, x: bytes) -> None:
    """[DEV-2]. GUESS (README ch. 8 item 5): the Ed25519 key is checked before the X25519 key."""
    check_ed25519_key(ed)
    check_x25519_key(x)


# 8.5 pairing [DEV-3], [DEV-4]
PAIRING_VERSION = 1
PAIRING_LEN = 69


def pairing_checksum_input(version: int, ed: bytes, x: bytes) -> bytes:
    return enc("blindsync/v1/pairing/payload", u8(version), fixed(ed), fixed(x))


def pairing_payload_decode(payload: bytes) -> tuple[bytes, bytes]:
    """Checks in order: version, length, checksum, [DEV-2] ([DEV-3])."""
    r = Reader(payload)
    version = r.uint(1)  # an empty payload is E_DECODE_TRUNCATED (GUESS, README ch. 8 item 4)
    if version != PAIRING_VERSION:
        raise SpecError("E_PAIRING_VERSION")
    ed, x, checksum = r.take(32), r.take(32), r.take(4)
    r.end()
    if sha256(pairing_checksum_input(version, ed, x))[:4] != checksum:
        raise SpecError("E_PAIRING_CHECKSUM")
    check_device_keys(ed, x)
    return ed, x


# 8.1 statements [CHAIN-1]
CHAIN_STATEMENT = "blindsync/v1/chain/statement"
KIND_NAMES = {1: "genesis", 2: "add_device", 3: "revoke_device", 4: "rotate_epoch",
              5: "pin_partner", 6: "unpin_partner", 7: "replace_authority"}
GENESIS, ADD, REVOKE, ROTATE, PIN, UNPIN, REPLACE = range(1, 8)
PATHS = {1: "recovery", 2: "password"}
MAX_WRAPS = 1024
MAX_PARTNER_LABEL = 64
KDF_ENCODING_LEN = 32  # [KEY-6]
ROLE_DEVICE, ROLE_RECOVERY, ROLE_PASSWORD = 0, 1, 2  # [CHAIN-17]


def decode_wraps(r: Reader) -> list[dict]:
    """wraps = u32 n || n x (recipient(32) || u32 epoch || enc(32) || ct(48)), ascending."""
    n = r.uint(4)
    if n > MAX_WRAPS:
        # GUESS (README ch. 8 item 2): a count above 1024 is E_DECODE_LENGTH like a
        # length prefix, checked before the entries are read.
        raise SpecError("E_DECODE_LENGTH")
    wraps, last = [], None
    for _ in range(n):
        recipient, epoch, enc_, ct = r.take(32), r.uint(4), r.take(32), r.take(48)
        if last is not None and (recipient, epoch) <= last:
            raise SpecError("E_DECODE_VALUE")  # strictly ascending [CHAIN-1]
        last = (recipient, epoch)
        wraps.append({"recipient": recipient, "epoch": epoch, "enc": enc_, "ct": ct})
    return wraps


MAX_REVOKE_LIST = 1024  # [CHAIN-20]
WHAT_DEVICE, WHAT_PARTNER = 1, 2  # [CHAIN-20] re-confirmation `what`


def decode_list(r: Reader, minimum: int, read_entry, sort_key) -> list:
    """[CHAIN-20] list: u32 count checked right after it is read (below `minimum` or above
    1024: E_DECODE_LENGTH), then entries, each strictly greater than the previous one by
    `sort_key` (E_DECODE_VALUE once that entry has been read)."""
    n = r.uint(4)
    if n < minimum or n > MAX_REVOKE_LIST:
        raise SpecError("E_DECODE_LENGTH")
    out, last = [], None
    for _ in range(n):
        e = read_entry()
        k = sort_key(e)
        if last is not None and k <= last:
            raise SpecError("E_DECODE_VALUE")
        out.append(e)
        last = k
    return out


def read_reconfirm(r: Reader) -> dict:
    """u8 what || id(32); `what` other than 1 (device) or 2 (partner) is E_DECODE_VALUE.
    GUESS (README revocation item R2): `what` is checked as soon as it is read, before `id`."""
    what = r.uint(1)
    if what not in (WHAT_DEVICE, WHAT_PARTNER):
        raise SpecError("E_DECODE_VALUE")
    return {"what": what, "id": r.take(32)}


MAX_CHAIN_LEN = 4096  # [CHAIN-1]: a statement's position is below it


def decode_statement(data: bytes) -> dict:
    """Total decoder of [CHAIN-1]; keeps the raw bytes for signing and hashing."""
    r = Reader(data)
    r.label(CHAIN_STATEMENT)
    fields_start = r.pos
    position = r.uint(8)
    if position >= MAX_CHAIN_LEN:          # [CHAIN-1] step 2: the chain length bound
        raise SpecError("E_DECODE_VALUE")
    prev, kind = r.take(32), r.uint(1)
    if kind not in KIND_NAMES:
        raise SpecError("E_DECODE_VALUE")
    body: dict = {}
    if kind == GENESIS:  # 8.1 table order; password.kdf is fixed(32) here
        body["device"] = {"ed25519": r.take(32), "x25519": r.take(32)}
        body["recovery"] = {"signing": r.take(32), "sealing": r.take(32)}
        body["recovery_pop"] = r.take(64)
        body["password"] = {"signing": r.take(32), "sealing": r.take(32)}
        body["password_kdf"] = r.take(32)
        body["password_pop"] = r.take(64)
        body["epoch"] = r.uint(4)
        body["key_check"] = r.take(32)
    elif kind == ADD:
        body["device"] = {"ed25519": r.take(32), "x25519": r.take(32)}
        body["pop"], body["bundle_commit"] = r.take(64), r.take(32)
    elif kind == REVOKE:  # [CHAIN-20]: three lists, then the new epoch
        body["revocations"] = decode_list(
            r, 1, lambda: {"device_id": r.take(32), "max_seq": r.uint(8),
                           "last_envelope": r.take(32)},
            lambda e: e["device_id"])
        body["unpin"] = decode_list(r, 0, lambda: r.take(32), lambda k: k)
        body["reconfirm"] = decode_list(r, 0, lambda: read_reconfirm(r),
                                        lambda e: (e["what"], e["id"]))
        body["epoch"] = r.uint(4)
        body["key_check"] = r.take(32)
        body["wraps"] = decode_wraps(r)
    elif kind == ROTATE:
        body["epoch"] = r.uint(4)
        body["key_check"] = r.take(32)
        body["wraps"] = decode_wraps(r)
    elif kind == PIN:
        body["key"] = r.take(32)
        # GUESS (README ch. 8 item 3): > 64 bytes is E_DECODE_LENGTH, not UTF-8 is
        # E_DECODE_VALUE, an empty label is allowed.
        label = r.var(MAX_PARTNER_LABEL)
        try:
            body["label"] = label.decode("utf-8")
        except UnicodeDecodeError:
            raise SpecError("E_DECODE_VALUE") from None
    elif kind == UNPIN:
        body["key"] = r.take(32)
    elif kind == REPLACE:
        path = r.uint(1)
        if path not in PATHS:
            raise SpecError("E_DECODE_VALUE")
        body["path"] = path
        body["authority"] = {"signing": r.take(32), "sealing": r.take(32)}
        # [CHAIN-1]: the kdf prefix must be 0 (path 1) or 32 (path 2), checked before the bytes.
        if r.uint(4) != (0 if path == 1 else KDF_ENCODING_LEN):
            raise SpecError("E_DECODE_LENGTH")
        body["kdf"] = r.take(0 if path == 1 else KDF_ENCODING_LEN)
        body["pop"] = r.take(64)
        # [CHAIN-1] step 3, [CHAIN-14]: re-confirmed device ids, k <= 1024 (E_DECODE_LENGTH right
        # after k; no minimum, k = 0 is valid), strictly ascending (E_DECODE_VALUE once read).
        body["reconfirm"] = decode_list(r, 0, lambda: r.take(32), lambda d: d)
        body["epoch"] = r.uint(4)           # [CHAIN-14]: a replacement starts an epoch
        body["key_check"] = r.take(32)
        body["wraps"] = decode_wraps(r)
    signer = r.take(32)
    fields_end = r.pos
    signature = r.take(64)
    r.end()
    fields = data[fields_start:fields_end]
    return {"bytes": data, "position": position, "prev": prev, "kind": kind, "body": body,
            "signer": signer, "signature": signature,
            "signed": enc("blindsync/v1/chain/signed", fields),  # [CHAIN-2]
            "hash_input": enc("blindsync/v1/chain/link", var(data)),  # [CHAIN-3]
            "hash": sha256(enc("blindsync/v1/chain/link", var(data)))}


def account_id_of(genesis: bytes) -> tuple[bytes, bytes]:  # [CHAIN-4]
    m = enc("blindsync/v1/chain/account-id", var(genesis))
    return m, sha256(m)


def pop_message(kind: int, role: int, anchor: bytes, ed: bytes, x: bytes, kdf: bytes) -> bytes:
    """[CHAIN-17]: enc(CHAIN_POSSESSION, u8 kind, u8 role, anchor, ed25519, x25519, bytes kdf)."""
    return enc("blindsync/v1/chain/possession", u8(kind), u8(role), fixed(anchor),
               fixed(ed), fixed(x), var(kdf))


def genesis_anchor_input(b: dict) -> bytes:
    """[CHAIN-17]: enc(CHAIN_GENESIS_ANCHOR, every genesis body field but the two proofs),
    fields in body order; password.kdf as the fixed 32 bytes it is in the body (no prefix)."""
    return enc("blindsync/v1/chain/genesis-anchor",
               fixed(b["device"]["ed25519"]), fixed(b["device"]["x25519"]),
               fixed(b["recovery"]["signing"]), fixed(b["recovery"]["sealing"]),
               fixed(b["password"]["signing"]), fixed(b["password"]["sealing"]),
               fixed(b["password_kdf"]), u32(b["epoch"]), fixed(b["key_check"]))


def statement_pops(st: dict, account_id: bytes | None) -> list[tuple[bytes, bytes, bytes]]:
    """(installed key, pop_msg, pop) of every proof the statement carries, in body order.
    [CHAIN-17]: the genesis's anchor is the digest of its other body fields; add device and
    replace authority use the account id (None: not known to the caller)."""
    b, kind = st["body"], st["kind"]
    if kind == GENESIS:
        anchor = sha256(genesis_anchor_input(b))
        return [(b[p]["signing"],
                 pop_message(GENESIS, role, anchor, b[p]["signing"], b[p]["sealing"], kdf),
                 b[p + "_pop"])
                for p, role, kdf in (("recovery", ROLE_RECOVERY, b""),
                                     ("password", ROLE_PASSWORD, b["password_kdf"]))]
    if kind == ADD and account_id is not None:
        d = b["device"]
        return [(d["ed25519"], pop_message(ADD, ROLE_DEVICE, account_id, d["ed25519"],
                                           d["x25519"], b""), b["pop"])]
    if kind == REPLACE and account_id is not None:
        a = b["authority"]
        return [(a["signing"], pop_message(REPLACE, b["path"], account_id, a["signing"],
                                           a["sealing"], b["kdf"]), b["pop"])]
    return []


def check_pops(st: dict, account_id: bytes | None) -> None:
    """[CHAIN-17]: each proof verifies strictly under the installed key, in body order."""
    for key, msg, pop in statement_pops(st, account_id):
        if not ed25519_verify_strict(key, msg, pop):
            raise SpecError("E_CHAIN_POSSESSION")


def check_kdf_encoding(data: bytes) -> None:
    """[CHAIN-18]: a pinned kdf_encoding passes [KEY-6] steps 1 to 3 (the salt is fixed(16))."""
    kdf_decode(data)


def jsonify(o):
    """bytes -> hex, recursively (the vectors' JSON form)."""
    if isinstance(o, bytes):
        return o.hex()
    if isinstance(o, dict):
        return {k: jsonify(v) for k, v in o.items()}
    if isinstance(o, list):
        return [jsonify(v) for v in o]
    return o


def statement_body_json(st: dict) -> dict:
    body = jsonify(st["body"])
    if st["kind"] == ADD:  # the vectors add the id of the added device
        d = st["body"]["device"]
        body["device_id"] = device_id(d["ed25519"], d["x25519"]).hex()
    if st["kind"] == REPLACE and st["body"]["path"] == 1:
        body["kdf"] = None  # vectors/README.md: "`kdf` (hex, or null for path 1)"; no vector
    # GUESS (README revocation item R1): revoke_device's body is {revocations [{device_id,
    # max_seq, last_envelope}], unpin [key], reconfirm [{what, id}], epoch, key_check, wraps},
    # read off chain-009; no vector has a re-confirmation, so its entry shape is a guess.
    return body


# 8.3 verification [CHAIN-6..CHAIN-11, CHAIN-14, CHAIN-15]
AUTHORIZED = {  # [CHAIN-6]: kind -> roles; replace authority by path below
    ADD: {"device", "recovery", "password"},
    REVOKE: {"device"}, ROTATE: {"device"}, PIN: {"device"}, UNPIN: {"device"},
}
# [CHAIN-6]: only an unlock path replaces an unlock path, and the recovery path is the root:
# the recovery authority replaces either path, the password authority only the password path.
AUTHORIZED_REPLACE = {1: {"recovery"}, 2: {"recovery", "password"}}


class ChainState:
    """The state of [CHAIN-7]; a deterministic function of the statements."""

    def __init__(self):
        self.statements: list[dict] = []
        self.account_id = b""
        self.epoch = 0
        self.devices: dict[bytes, dict] = {}   # device id -> {ed25519, x25519, position}
        self.revoked: dict[bytes, dict] = {}   # device id -> {ed25519, x25519, max_seq, position}
        self.paths: dict[str, dict] = {}       # "recovery"/"password" -> {signing, sealing}
        self.retired: list[bytes] = []         # retired authority signing keys
        self.retired_sealing: list[bytes] = [] # retired sealing keys ([CHAIN-9], [CHAIN-14])
        self.partners: dict[bytes, str] = {}   # key -> label
        # [CHAIN-20] introducers: ("device", id) / ("partner", key) -> the device id that
        # signed its add-device / pin-partner statement (or re-confirmed it); an unlock
        # path's name for a device it enrolled; None for the genesis device.
        self.introducer: dict[tuple[str, bytes], bytes | str | None] = {}
        self.key_checks: list[bytes] = []      # [CHAIN-16] key_check_e at index e
        self.password_kdf = b""                # [CHAIN-18] the pinned kdf_encoding

    @property
    def head_hash(self) -> bytes:
        return self.statements[-1]["hash"]

    def copy(self) -> "ChainState":
        import copy
        return copy.deepcopy(self)

    # -- roles ------------------------------------------------------------
    def role_of(self, signer: bytes) -> tuple[str, bytes | str]:
        """[CHAIN-8] step 5: (role, who) with who the device id or the path name."""
        for did, d in self.devices.items():
            if d["ed25519"] == signer:
                return "device", did
        for name, keys in self.paths.items():
            if keys["signing"] == signer:
                return name, name
        if any(d["ed25519"] == signer for d in self.revoked.values()) or signer in self.retired:
            raise SpecError("E_CHAIN_SIGNER_REVOKED")
        raise SpecError("E_CHAIN_SIGNER_UNKNOWN")

    def keys_in_use(self) -> tuple[set[bytes], set[bytes]]:
        """[CHAIN-9]: two typed pools (was GUESS README ch. 8 item 12, now stated by [CHAIN-9]):
        Ed25519 keys of active/revoked devices, current and retired authority signing keys;
        X25519 keys of active/revoked devices, current and retired sealing keys."""
        eds, xs = set(self.retired), set(self.retired_sealing)
        for d in list(self.devices.values()) + list(self.revoked.values()):
            eds.add(d["ed25519"])
            xs.add(d["x25519"])
        for k in self.paths.values():
            eds.add(k["signing"])
            xs.add(k["sealing"])
        return eds, xs

    # -- genesis ----------------------------------------------------------
    def apply_genesis(self, raw: bytes) -> None:
        # GUESS (README ch. 8 item 8): a genesis that fails a check with its own code
        # (decode, keys, signature) gets that code, not E_CHAIN_GENESIS.
        st = decode_statement(raw)
        b = st["body"]
        if (st["kind"] != GENESIS or st["position"] != 0 or st["prev"] != bytes(32)
                or b["epoch"] != 0 or st["signer"] != b["device"]["ed25519"]):
            raise SpecError("E_CHAIN_GENESIS")
        check_device_keys(b["device"]["ed25519"], b["device"]["x25519"])
        # [CHAIN-8] step 4: body order, each authority in turn (was GUESS item 5: signing keys first).
        for p in ("recovery", "password"):
            check_ed25519_key(b[p]["signing"])
            check_x25519_key(b[p]["sealing"])
        eds = {b["device"]["ed25519"], b["recovery"]["signing"], b["password"]["signing"]}
        xs = {b["device"]["x25519"], b["recovery"]["sealing"], b["password"]["sealing"]}
        if len(eds) != 3 or len(xs) != 3:
            raise SpecError("E_CHAIN_GENESIS")
        check_kdf_encoding(b["password_kdf"])                       # 6 [CHAIN-18]
        if not ed25519_verify_strict(st["signer"], st["signed"], st["signature"]):  # 7
            raise SpecError("E_CHAIN_SIGNATURE")
        check_pops(st, None)                                        # 8: recovery, then password
        d = b["device"]
        self.statements = [st]
        self.account_id = account_id_of(raw)[1]
        gid = device_id(d["ed25519"], d["x25519"])
        self.devices = {gid: {**d, "position": 0}}
        self.introducer = {("device", gid): None}  # [CHAIN-20]: nobody for the genesis device
        self.paths = {"recovery": dict(b["recovery"]), "password": dict(b["password"])}
        self.epoch = 0
        self.key_checks = [b["key_check"]]  # not checked here: the verifier has no UMK
        self.password_kdf = b["password_kdf"]

    # -- further statements ----------------------------------------------
    def apply(self, raw: bytes) -> None:
        """[CHAIN-8] steps 1-8 for one statement; the state changes only on success."""
        st = decode_statement(raw)                                   # 1
        n = len(self.statements)
        if st["position"] < n:                                       # 2
            same = self.statements[st["position"]]["hash"] == st["hash"]
            raise SpecError("E_CHAIN_POSITION" if same else "E_CHAIN_FORK")
        if st["position"] > n:
            raise SpecError("E_CHAIN_POSITION")
        if st["prev"] != self.head_hash:                             # 3
            raise SpecError("E_CHAIN_LINK")
        if st["kind"] == GENESIS:                                    # 4
            raise SpecError("E_CHAIN_GENESIS")
        role, who = self.role_of(st["signer"])                       # 5
        if not ed25519_verify_strict(st["signer"], st["signed"], st["signature"]):  # 6
            raise SpecError("E_CHAIN_SIGNATURE")
        allowed = (AUTHORIZED_REPLACE[st["body"]["path"]] if st["kind"] == REPLACE
                   else AUTHORIZED[st["kind"]])
        if role not in allowed:                                      # 7
            raise SpecError("E_CHAIN_NOT_AUTHORIZED")
        new = self.copy()                                            # 8
        st["signer_is"] = who
        st["epoch_before"] = self.epoch  # the epoch in force just before it ([DEV-6] step 6)
        getattr(new, "_" + KIND_NAMES[st["kind"]])(st)
        new.statements.append(st)
        self.__dict__.update(new.__dict__)

    def _add_device(self, st):  # [CHAIN-9]
        d = st["body"]["device"]
        check_device_keys(d["ed25519"], d["x25519"])
        check_pops(st, self.account_id)  # [CHAIN-17], after the keys, before "in use"
        eds, xs = self.keys_in_use()  # [CHAIN-9] typed pools
        if d["ed25519"] in eds or d["x25519"] in xs:
            raise SpecError("E_CHAIN_STATE")
        did = device_id(d["ed25519"], d["x25519"])
        self.devices[did] = {**d, "position": st["position"]}
        self.introducer[("device", did)] = st["signer_is"]  # [CHAIN-20]

    def _check_new_epoch(self, st, extra: list[tuple[bytes, int]]) -> None:
        """[CHAIN-11] (and [CHAIN-20] steps 5, 6, [CHAIN-14]): `epoch = e + 1` (E_CHAIN_EPOCH,
        before the wraps), then exactly one wrap of e + 1 to every active device and both
        paths' current sealing keys, plus `extra`, and to no other key (E_CHAIN_RECIPIENTS);
        then the epoch starts with the statement's key check ([CHAIN-16])."""
        e = st["body"]["epoch"]
        if e != self.epoch + 1:
            raise SpecError("E_CHAIN_EPOCH")
        want = sorted({(d["x25519"], e) for d in self.devices.values()}
                      | {(k["sealing"], e) for k in self.paths.values()} | set(extra))
        got = [(w["recipient"], w["epoch"]) for w in st["body"]["wraps"]]  # strictly ascending
        if got != want:
            raise SpecError("E_CHAIN_RECIPIENTS")
        self.epoch = e
        self.key_checks.append(st["body"]["key_check"])  # key_check_{e+1}

    def _revoke_device(self, st):  # [CHAIN-20], steps 1 to 6 in order
        b = st["body"]
        revoked_ids = {r["device_id"] for r in b["revocations"]}
        unpinned = set(b["unpin"])
        # GUESS (README revocation item R2): steps 1 and 3 go entry by entry in encoded order,
        # each entry's checks in the order the text lists them (neutral: one code per step).
        for r in b["revocations"]:                                             # 1
            if r["device_id"] not in self.devices:
                raise SpecError("E_CHAIN_STATE")
            if r["device_id"] == st["signer_is"]:  # step 1: "is not the signer"
                raise SpecError("E_CHAIN_STATE")
            if (r["last_envelope"] == bytes(32)) != (r["max_seq"] == 0):
                raise SpecError("E_CHAIN_STATE")
        if not unpinned <= set(self.partners):                                 # 2
            raise SpecError("E_CHAIN_STATE")
        reconfirmed = set()
        for c in b["reconfirm"]:                                               # 3
            if c["what"] == WHAT_DEVICE:
                item, stays = ("device", c["id"]), c["id"] in self.devices and c["id"] not in revoked_ids
            else:
                item, stays = ("partner", c["id"]), c["id"] in self.partners and c["id"] not in unpinned
            if not stays or self.introducer.get(item) not in revoked_ids:
                raise SpecError("E_CHAIN_STATE")
            reconfirmed.add(item)
        remaining = ([("device", d) for d in self.devices if d not in revoked_ids]   # 4
                     + [("partner", k) for k in self.partners if k not in unpinned])
        for item in remaining:
            if self.introducer.get(item) in revoked_ids and item not in reconfirmed:
                raise SpecError("E_CHAIN_CASCADE")
        new_introducers = {}
        for item in reconfirmed:
            i = self.introducer.get(item)
            seen = set()
            while isinstance(i, bytes) and i in revoked_ids and i not in seen:
                seen.add(i)
                i = self.introducer.get(("device", i))
            new_introducers[item] = i
        for did in sorted(revoked_ids):  # 5, 6 are checked against the remaining devices
            d = self.devices.pop(did)
            self.introducer.pop(("device", did), None)
            r = next(r for r in b["revocations"] if r["device_id"] == did)
            self.revoked[did] = {"ed25519": d["ed25519"], "x25519": d["x25519"],
                                 "max_seq": r["max_seq"], "last_envelope": r["last_envelope"],
                                 "position": st["position"]}
        self._check_new_epoch(st, [])                                          # 5, 6
        for k in unpinned:
            del self.partners[k]
            self.introducer.pop(("partner", k), None)
        # [CHAIN-20]: a re-confirmed item's new introducer (computed on the chain as it stood
        # before this statement, above) is the first introducer on its chain not revoked here.
        self.introducer.update(new_introducers)

    def _rotate_epoch(self, st):  # [CHAIN-11]: epoch first, then recipients
        self._check_new_epoch(st, [])

    def _replace_authority(self, st):  # [CHAIN-14]
        b = st["body"]
        keys = b["authority"]
        # [CHAIN-14]: signing key, sealing key, kdf (password), pop, in use, wraps.
        check_ed25519_key(keys["signing"])
        check_x25519_key(keys["sealing"])
        if b["path"] == 2:
            check_kdf_encoding(b["kdf"])  # [CHAIN-18]
        check_pops(st, self.account_id)  # [CHAIN-17]
        eds, xs = self.keys_in_use()  # [CHAIN-14] the pools of [CHAIN-9]
        if keys["signing"] in eds or keys["sealing"] in xs:
            raise SpecError("E_CHAIN_STATE")
        path = PATHS[b["path"]]
        # [CHAIN-14]: every re-confirmed id is an active device whose introducer is the path
        # being replaced (E_CHAIN_STATE), checked in encoded order; then the cascade: every
        # active device that path introduced is re-confirmed (E_CHAIN_CASCADE).
        # GUESS (README re-confirmation item C2): a path introducer is the path's name, not the
        # authority key that signed, so it survives the path's replacements.
        # [CHAIN-14] "enrolled": the chain of introducers (introducer, its introducer, ...)
        # reaches the path.
        def enrolled(did):
            seen = set()
            cur = ("device", did)
            while cur not in seen:
                seen.add(cur)
                i = self.introducer.get(cur)
                if i == path:
                    return True
                if isinstance(i, bytes) and ("device", i) in self.introducer:
                    cur = ("device", i)
                else:
                    return False
            return False
        reconfirmed = set(b["reconfirm"])
        for did in b["reconfirm"]:
            if did not in self.devices or not enrolled(did):
                raise SpecError("E_CHAIN_STATE")
        for did in self.devices:
            if enrolled(did) and did not in reconfirmed:
                raise SpecError("E_CHAIN_CASCADE")
        # epoch e + 1, then the wraps: the new sealing key gets every epoch 0..e+1, every
        # active device and the *other* path's sealing key epoch e + 1, the replaced sealing
        # key nothing. Swap the keys first so that the common recipient rule sees them.
        old = self.paths[path]
        self.paths[path] = dict(keys)
        self._check_new_epoch(st, [(keys["sealing"], e) for e in range(self.epoch + 1)])
        self.retired.append(old["signing"])
        self.retired_sealing.append(old["sealing"])  # [CHAIN-14] sealing key retired too
        if b["path"] == 2:
            self.password_kdf = b["kdf"]  # [CHAIN-18] the state holds the current value
        # [CHAIN-7], [CHAIN-14]: a re-confirmation makes the statement's signer (an unlock path,
        # by [CHAIN-6]) the introducer. GUESS (README re-confirmation item C1): "the replacing
        # path" is the signing path, so a password reset by the recovery authority moves what it
        # keeps to the recovery path, while a password change leaves it with the password path.
        for did in reconfirmed:
            self.introducer[("device", did)] = st["signer_is"]

    def _pin_partner(self, st):  # [CHAIN-15]
        key = st["body"]["key"]
        check_x25519_key(key)
        if key in self.partners:
            raise SpecError("E_CHAIN_STATE")
        self.partners[key] = st["body"]["label"]
        self.introducer[("partner", key)] = st["signer_is"]  # [CHAIN-20]

    def _unpin_partner(self, st):  # [CHAIN-15]
        if self.partners.pop(st["body"]["key"], None) is None:
            raise SpecError("E_CHAIN_STATE")
        self.introducer.pop(("partner", st["body"]["key"]), None)

    # -- output -------------------------------------------------------------
    def to_json(self) -> dict:
        """The chain_verify output. GUESS (README ch. 8 item 1): devices sorted by id (pinned by chain-015),
        revoked and partners sorted too (not exercised); partners as {key, label}."""
        return {
            "account_id": self.account_id.hex(),
            "fingerprint": account_fingerprint(self.account_id),
            "head_len": len(self.statements),
            "head_hash": self.head_hash.hex(),
            "epoch": self.epoch,
            "devices": sorted(d.hex() for d in self.devices),
            "revoked": [{"device_id": d.hex(), "max_seq": r["max_seq"]}
                        for d, r in sorted(self.revoked.items())],
            "partners": [{"key": k.hex(), "label": lbl} for k, lbl in sorted(self.partners.items())],
            "recovery": jsonify(self.paths["recovery"]),
            "password": jsonify(self.paths["password"]),
            "password_kdf": self.password_kdf.hex(),
            "key_checks": [k.hex() for k in self.key_checks],
        }


def chain_verify(chain: list[bytes]) -> ChainState:
    """Verify from genesis [CHAIN-8]."""
    if not chain:
        raise SpecError("E_CHAIN_GENESIS")
    state = ChainState()
    state.apply_genesis(chain[0])
    for raw in chain[1:]:
        state.apply(raw)
    return state


def chain_update(state: ChainState, served: list[bytes]) -> ChainState:
    """[CHAIN-10]: fork check first, then rollback, then each new statement."""
    known = [s["bytes"] for s in state.statements]
    for i in range(min(len(known), len(served))):
        if known[i] != served[i]:
            raise SpecError("E_CHAIN_FORK")
    if len(served) < len(known):
        raise SpecError("E_CHAIN_ROLLBACK")
    new = state.copy()
    for raw in served[len(known):]:
        new.apply(raw)
    return new


# 8.7 epoch wraps [CHAIN-12] and unlock-path keys [CHAIN-13]
HPKE_EPOCH_INFO = enc("blindsync/v1/hpke/epoch-umk")


def epoch_wrap_aad(account_id: bytes, epoch: int, recipient: bytes) -> bytes:
    return enc("blindsync/v1/aad/epoch-umk", fixed(account_id), u32(epoch), fixed(recipient))


def check_umk(state: ChainState, epoch: int, umk: bytes) -> None:
    """[CHAIN-16]: a UMK for epoch e is refused unless key_check_e matches (constant time)."""
    if epoch >= len(state.key_checks):
        raise SpecError("E_KEY_CHECK")  # the chain vouches for no such epoch
    if not hmac.compare_digest(key_check(umk, epoch)[1], state.key_checks[epoch]):
        raise SpecError("E_KEY_CHECK")


def open_chain_epochs(state: ChainState, secret: bytes):
    """[CHAIN-12]: every epoch wrap of the chain addressed to this X25519 key, in chain order
    and wrap order; each opened, then checked against its epoch's key check; first failure wins."""
    pk = x25519_public(secret)
    aads, umks = {}, {}
    for st in state.statements:
        for w in st["body"].get("wraps", []):
            if w["recipient"] != pk:
                continue
            aad = epoch_wrap_aad(state.account_id, w["epoch"], w["recipient"])
            umk, _ = Hpke().open(secret, w["enc"], HPKE_EPOCH_INFO, aad, w["ct"])
            check_umk(state, w["epoch"], umk)
            aads[w["epoch"]] = aad
            umks[w["epoch"]] = umk
    return [aads[e] for e in sorted(aads)], umks


def umks_json(umks: dict[int, bytes]) -> dict:
    """{epoch: umk} as a JSON object: keys are decimal strings (README ch. 8 item 1)."""
    return {str(e): umks[e].hex() for e in sorted(umks)}


# 8.5 the identity bundle [DEV-5]
IDENTITY_BUNDLE = "blindsync/v1/device/bundle"
HPKE_BUNDLE_INFO = enc("blindsync/v1/hpke/device-bundle")


def bundle_aad(account_id: bytes, target_id: bytes) -> bytes:
    return enc("blindsync/v1/aad/device-bundle", fixed(account_id), fixed(target_id))


def bundle_encode(account_id: bytes, umks: list[tuple[int, bytes]]) -> bytes:
    """[DEV-5]: enc(IDENTITY_BUNDLE, account_id, u32 n, n x (u32 epoch || umk)); no head."""
    return enc(IDENTITY_BUNDLE, fixed(account_id), u32(len(umks)),
               *[u32(e) + fixed(k) for e, k in umks])


def bundle_decode(data: bytes, expected_account: bytes) -> dict[int, bytes]:
    r = Reader(data)
    r.label(IDENTITY_BUNDLE)
    account_id = r.take(32)
    n = r.uint(4)
    if n == 0 or n > MAX_WRAPS:
        raise SpecError("E_DECODE_LENGTH")  # [DEV-5]
    umks, last = {}, -1
    for _ in range(n):
        e, k = r.uint(4), r.take(32)
        if e <= last:
            raise SpecError("E_DECODE_VALUE")
        umks[e], last = k, e
    r.end()
    if account_id != expected_account:
        raise SpecError("E_HPKE_OPEN")  # [DEV-5]
    return umks


def bundle_commit(wrap: bytes) -> tuple[bytes, bytes]:
    """[DEV-5]: bundle_commit = SHA-256(enc(BUNDLE_COMMIT, bytes wrap)); (input, value)."""
    m = enc("blindsync/v1/device/bundle-commit", var(wrap))
    return m, sha256(m)


def device_bundle_open(ed_seed: bytes, x_secret: bytes, account_id: bytes, wrap: bytes):
    target_id = device_id(ed25519_public(ed_seed), x25519_public(x_secret))
    aad = bundle_aad(account_id, target_id)
    # wrap = enc(32) || ct; a wrap shorter than 32 bytes cannot be split: E_HPKE_OPEN [HPKE-2]
    if len(wrap) < 32:
        raise SpecError("E_HPKE_OPEN")
    pt, _ = Hpke().open(x_secret, wrap[:32], HPKE_BUNDLE_INFO, aad, wrap[32:])
    try:
        return aad, bundle_decode(pt, account_id)
    except SpecError:
        # [DEV-5]: after a successful open, a plaintext that is not a bundle of this account is E_HPKE_OPEN.
        raise SpecError("E_HPKE_OPEN")


PATH_KINDS = {"recovery": 1, "password": 2}  # [WRAP-2] kind, [CHAIN-17] role, replace path


def path_secrets(path: str, text: str, kdf: dict | None) -> dict[str, bytes]:
    """Chapter 5 and [CHAIN-13]: KEK, authority seed and sealing secret of an unlock path.
    The password path checks the served salt and parameters first ([KEY-6])."""
    if path == "recovery":
        code = recovery_parse(text)
        prk = hkdf_extract(enc("blindsync/v1/recovery/extract"), code)   # [KEY-4]
    elif path == "password":
        check_kdf(kdf)
        s = argon2id(text.encode("utf-8"), bytes.fromhex(kdf["salt"]),
                     kdf["m_kib"], kdf["t"], kdf["p"])
        prk = hkdf_extract(enc("blindsync/v1/password/extract"), s)      # [KEY-7]
    else:
        raise ValueError(f"unknown path {path!r}")
    info = enc(f"blindsync/v1/{path}/sealing")
    return {"kek": hkdf_expand(prk, enc(f"blindsync/v1/{path}/kek"), 32),
            "seed": hkdf_expand(prk, enc(f"blindsync/v1/{path}/authority"), 32),
            "sealing_info": info, "sealing_secret": hkdf_expand(prk, info, 32)}


def unlock_path_keys(path: str, text: str, kdf: dict | None):
    """[CHAIN-13]: the authority key of chapter 5 and the X25519 sealing key."""
    k = path_secrets(path, text, kdf)
    return ({"sealing_info": k["sealing_info"].hex(), "sealing_secret": k["sealing_secret"].hex()},
            {"authority": ed25519_public(k["seed"]).hex(),
             "sealing": x25519_public(k["sealing_secret"]).hex()})


def sign_statement(position: int, prev: bytes, kind: int, body: bytes, signer_seed: bytes) -> bytes:
    """[CHAIN-1], [CHAIN-2]: statement = enc(CHAIN_STATEMENT, fields) || Ed25519(enc(CHAIN_SIGNED, fields))."""
    fields = u64(position) + fixed(prev) + u8(kind) + body + fixed(ed25519_public(signer_seed))
    sig = nacl.signing.SigningKey(signer_seed).sign(enc("blindsync/v1/chain/signed", fields)).signature
    return enc(CHAIN_STATEMENT, fields) + sig


def enroll(ed_seed: bytes, x_secret: bytes, chain: list[bytes], path: str, text: str,
           kdf: dict | None, wrap: bytes):
    """Enrollment by an unlock path alone, [CHAIN-13] steps 1 to 7 in order."""
    keys = path_secrets(path, text, kdf)                                   # 1
    state = chain_verify(chain)                                            # 2
    if path == "password" and kdf_encoding(kdf) != state.password_kdf:     # 3 [CHAIN-18]
        raise SpecError("E_KDF_NOT_PINNED")
    authority = ed25519_public(keys["seed"])                               # 4
    sealing = x25519_public(keys["sealing_secret"])
    if state.paths[path] != {"signing": authority, "sealing": sealing}:
        raise SpecError("E_CHAIN_SIGNER_REVOKED" if authority in state.retired
                        else "E_CHAIN_SIGNER_UNKNOWN")
    kind = PATH_KINDS[path]                                                # 5 [WRAP-4]
    binding = kdf_encoding(kdf) if path == "password" else b""
    umk0 = umk_unwrap(keys["kek"], wrap_aad(state.account_id, 0, kind, binding), wrap)
    check_umk(state, 0, umk0)
    _, umks = open_chain_epochs(state, keys["sealing_secret"])             # 6
    umks = {0: umk0, **umks}  # an epoch-0 wrap to the key gives the same UMK (key check)
    ed, x = ed25519_public(ed_seed), x25519_public(x_secret)               # 7
    pop = nacl.signing.SigningKey(ed_seed).sign(
        pop_message(ADD, ROLE_DEVICE, state.account_id, ed, x, b"")).signature
    body = fixed(ed) + fixed(x) + fixed(pop) + fixed(bytes(32))  # no bundle: zero commitment [DEV-5]
    raw = sign_statement(len(state.statements), state.head_hash, ADD, body, keys["seed"])
    # [CHAIN-13] step 7 (was GUESS, README onboarding item 7): the device verifies its own
    # statement as any statement ([CHAIN-8]) before appending it; head_hash is the new head.
    state.apply(raw)
    return ({"authority": authority.hex(), "sealing": sealing.hex()},
            {"statement": raw.hex(), "head_hash": state.head_hash.hex(),
             "fingerprint": account_fingerprint(state.account_id), "umks": umks_json(umks)})


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
    # [PRIM-11] BLAKE3, 32-byte output, unkeyed and keyed
    "blake3": lambda i: ({}, {"digest": blake3.blake3(h(i["message"])).hexdigest()}),
    "blake3_keyed": lambda i: ({}, {"digest": blake3.blake3(h(i["message"]), key=h(i["key"])).hexdigest()}),
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


# Chapter 8 kinds

def k_device_id_check(i):
    got = device_id(h(i["ed25519"]), h(i["x25519"]))
    # [DEV-1] recompute and compare; GUESS (README ch. 8 item 6): no [DEV-2] key check here.
    if not hmac.compare_digest(got, h(i["device_id"])):
        raise SpecError("E_DEVICE_KEY_MISMATCH")
    return {}, {"device_id": got.hex()}


def k_pairing_payload_encode(i):
    ed, x = h(i["ed25519"]), h(i["x25519"])
    m = pairing_checksum_input(PAIRING_VERSION, ed, x)
    d = sha256(m)
    return ({"checksum_input": m.hex(), "checksum_digest": d.hex()},
            {"payload": (u8(PAIRING_VERSION) + ed + x + d[:4]).hex()})


def k_pairing_payload_decode(i):
    ed, x = pairing_payload_decode(h(i["payload"]))
    return {}, {"device": {"ed25519": ed.hex(), "x25519": x.hex()},
                "device_id": device_id(ed, x).hex()}


def k_pairing_code(i):
    a, n = i["approver"], i["new_device"]
    m = enc("blindsync/v1/pairing/code", fixed(h(i["account_id"])),
            fixed(h(a["ed25519"])), fixed(h(a["x25519"])),
            fixed(h(n["ed25519"])), fixed(h(n["x25519"])))
    d = sha256(m)
    return ({"hash_input": m.hex(), "digest": d.hex()},
            {"code": compare160(d), "qr": comparison_qr(QR_PAIRING, d).hex()})


def k_account_fingerprint(i):  # [CHAIN-5]
    m, d = account_fingerprint_digest(h(i["account_id"]))
    return ({"hash_input": m.hex(), "digest": d.hex()},
            {"fingerprint": compare160(d), "qr": comparison_qr(QR_ACCOUNT, d).hex()})


def k_partner_fingerprint(i):  # [CHAIN-5]
    m, d = partner_fingerprint_digest(h(i["account_id"]), h(i["key"]))
    return ({"hash_input": m.hex(), "digest": d.hex()},
            {"fingerprint": compare160(d), "qr": comparison_qr(QR_PARTNER, d).hex()})


def k_comparison_qr_check(i):
    # GUESS (README onboarding item 4): `mine` is this device's own 34-byte QR form,
    # trusted (not run through the scan checks of [CHAIN-19]).
    mine = h(i["mine"])
    kind = comparison_qr_check((mine[1], mine[2:]), h(i["scanned"]))
    return {}, {"kind": kind}


def k_key_check(i):  # [KEY-14]
    m, v = key_check(h(i["umk"]), i["epoch"])
    return {"hmac_message": m.hex()}, {"key_check": v.hex()}


def k_device_bundle_wrap(i):
    account_id = h(i["account_id"])
    target_x = x25519_public(h(i["target_x25519_secret"]))
    target_id = device_id(h(i["target_ed25519"]), target_x)
    pt = bundle_encode(account_id, [(u["epoch"], h(u["umk"])) for u in i["umks"]])
    aad = bundle_aad(account_id, target_id)
    enc_, ct, ks = Hpke().seal(target_x, HPKE_BUNDLE_INFO, aad, pt, h(i["ikm_e"]))
    inter = {"target_x25519": target_x.hex(), "target_device_id": target_id.hex(),
             "plaintext": pt.hex(), "info": HPKE_BUNDLE_INFO.hex(), "aad": aad.hex(),
             "enc": enc_.hex(), **{k: v.hex() for k, v in ks.items()}}
    return inter, {"wrap": (enc_ + ct).hex(), "bundle_commit": bundle_commit(enc_ + ct)[1].hex()}


def k_device_bundle_open(i):
    aad, umks = device_bundle_open(
        h(i["ed25519_seed"]), h(i["x25519_secret"]), h(i["account_id"]), h(i["wrap"]))
    return {"aad": aad.hex()}, {"umks": umks_json(umks)}


def k_chain_statement_decode(i):
    raw = h(i["statement"])
    st = decode_statement(raw)
    # [CHAIN-17]: add device and replace authority anchor their proofs to the account id,
    # which the statement does not carry: the vector gives it as `account_id`.
    account = h(i["account_id"]) if "account_id" in i else None
    inter = {"pop_messages": [m.hex() for _, m, _ in statement_pops(st, account)],
             "signed_message": st["signed"].hex(), "hash_input": st["hash_input"].hex(),
             "hash": st["hash"].hex()}
    if st["kind"] == GENESIS:
        # [vectors/README.md]: "genesis" means kind 1, whatever its position.
        m, aid = account_id_of(raw)
        inter.update({"genesis_anchor_input": genesis_anchor_input(st["body"]).hex(),
                      "account_id_input": m.hex(), "account_id": aid.hex()})
    out = {"position": st["position"], "prev": st["prev"].hex(), "kind": st["kind"],
           "kind_name": KIND_NAMES[st["kind"]], "body": statement_body_json(st),
           "signer": st["signer"].hex(), "signature": st["signature"].hex()}
    return inter, out


def chain_of(hexes):
    return [h(s) for s in hexes]


def k_chain_verify(i):
    state = chain_verify(chain_of(i["chain"]))
    return {"hashes": [s["hash"].hex() for s in state.statements]}, state.to_json()


def k_chain_update(i):
    # GUESS (README ch. 8 item 17): `known` is verified from genesis first.
    state = chain_update(chain_verify(chain_of(i["known"])), chain_of(i["served"]))
    return {}, state.to_json()


def k_chain_open_epochs(i):
    # GUESS (README ch. 8 item 18): the chain is verified first (it gives the account id).
    state = chain_verify(chain_of(i["chain"]))
    aads, umks = open_chain_epochs(state, h(i["x25519_secret"]))
    return ({"info": HPKE_EPOCH_INFO.hex(), "aads": [a.hex() for a in aads]},
            {"umks": umks_json(umks)})


def k_epoch_wrap_open(i):
    secret, recipient = h(i["x25519_secret"]), h(i["recipient"])
    aad = epoch_wrap_aad(h(i["account_id"]), i["epoch"], recipient)
    # GUESS (README ch. 8 item 19): the RFC's kem_context uses pk(sk), not `recipient`;
    # both give E_HPKE_OPEN when they differ.
    umk, ks = Hpke().open(secret, h(i["enc"]), HPKE_EPOCH_INFO, aad, h(i["ct"]))
    return ({"aad": aad.hex(), **{k: ks[k].hex() for k in ("shared_secret", "key", "base_nonce")}},
            {"umk": umk.hex()})


def k_pairing_accept(i):
    """[DEV-6] steps 1 to 7 in order. `approver_id` is the device the person compared the
    pairing code with ([DEV-4]), as its device id."""
    ed_seed, x_secret, account_id = h(i["ed25519_seed"]), h(i["x25519_secret"]), h(i["account_id"])
    approver_id = h(i["approver_id"])
    wrap = h(i["bundle_wrap"])
    state = chain_verify(chain_of(i["chain"]))                                  # 1
    if state.account_id != account_id:                                         # 2
        raise SpecError("E_CHAIN_GENESIS")
    ed, x = ed25519_public(ed_seed), x25519_public(x_secret)                    # 3
    if device_id(ed, x) not in state.devices:
        raise SpecError("E_DEVICE_KEY_MISMATCH")
    add = next(st for st in state.statements                                    # 4
               if st["kind"] == ADD and st["body"]["device"] == {"ed25519": ed, "x25519": x})
    # [DEV-6] step 4: signed by the approver (its signer is that device's Ed25519 key), and
    # commits to this wrap. GUESS (README revocation item R5): the approver's key is looked up
    # by its id among the active and the revoked devices of the verified chain; an id that is
    # no device of the chain matches no signer, so it is E_DEVICE_BUNDLE too. The signer
    # is checked first (neutral: one code).
    approver = {**state.revoked, **state.devices}.get(approver_id)
    commit_input, commit = bundle_commit(wrap)
    if approver is None or add["signer"] != approver["ed25519"]:
        raise SpecError("E_DEVICE_BUNDLE")
    if not hmac.compare_digest(commit, add["body"]["bundle_commit"]):
        raise SpecError("E_DEVICE_BUNDLE")
    _, umks = device_bundle_open(ed_seed, x_secret, account_id, wrap)           # 5
    # 6: epochs exactly 0..e, e the epoch in force just before the add-device statement.
    e = add["epoch_before"]
    if sorted(umks) != list(range(e + 1)):
        raise SpecError("E_KEY_CHECK")
    for epoch, umk in sorted(umks.items()):
        check_umk(state, epoch, umk)
    _, more = open_chain_epochs(state, x_secret)                                # 7
    return ({"bundle_commit_input": commit_input.hex(), "bundle_commit": commit.hex()},
            {"fingerprint": account_fingerprint(state.account_id),
             "umks": umks_json({**umks, **more})})


def k_enroll(i):
    return enroll(h(i["ed25519_seed"]), h(i["x25519_secret"]), chain_of(i["chain"]),
                  i["path"], i["text"], i.get("kdf"), h(i["wrap"]))


CH8_KINDS = {
    "device_id": lambda i: (lambda m: ({"hash_input": m.hex()}, {"device_id": sha256(m).hex()}))(
        enc("blindsync/v1/device/id", fixed(h(i["ed25519"])), fixed(h(i["x25519"])))),
    "device_id_check": k_device_id_check,
    "pairing_payload_encode": k_pairing_payload_encode,
    "pairing_payload_decode": k_pairing_payload_decode,
    "pairing_code": k_pairing_code,
    "account_fingerprint": k_account_fingerprint,
    "partner_fingerprint": k_partner_fingerprint,
    "comparison_qr_check": k_comparison_qr_check,
    "key_check": k_key_check,
    "unlock_path_keys": lambda i: unlock_path_keys(i["path"], i["text"], i.get("kdf")),
    "device_bundle_wrap": k_device_bundle_wrap,
    "device_bundle_open": k_device_bundle_open,
    "chain_statement_decode": k_chain_statement_decode,
    "chain_verify": k_chain_verify,
    "chain_update": k_chain_update,
    "chain_open_epochs": k_chain_open_epochs,
    "epoch_wrap_open": k_epoch_wrap_open,
    "pairing_accept": k_pairing_accept,
    "enroll": k_enroll,
}
KINDS.update(CH8_KINDS)


# --------------------------------------------------------------------------
# Chapter 7: record envelopes (written from spec/07-envelope.md)
# --------------------------------------------------------------------------

ENV_HEADER_LEN = 236                                    # [ENV-2]
ENV_MAX_PADDED = 16 * 1024 * 1024                       # [ENV-14]
ENV_FIXED_BUCKETS = (256, 1024, 4096, 16384, 65536)     # [PAD-1]


def env_bucket(m: int) -> int:  # [PAD-1]
    for b in ENV_FIXED_BUCKETS:
        if m <= b:
            return b
    return -(-m // 65536) * 65536


def env_is_bucket(n: int) -> bool:  # [PAD-1]
    return 0 < n <= ENV_MAX_PADDED and env_bucket(n) == n


def env_pad(p: bytes) -> bytes:  # [PAD-2]
    if len(p) > ENV_MAX_PADDED - 4:
        raise SpecError("E_ENV_TOO_LARGE")
    f = u32(len(p)) + p
    return f + bytes(env_bucket(len(f)) - len(f))


def env_unpad(padded: bytes) -> bytes:  # [PAD-3]
    if len(padded) < 4:
        raise SpecError("E_ENV_PADDING")
    n = int.from_bytes(padded[:4], "big")
    if 4 + n > len(padded) or env_bucket(4 + n) != len(padded) or any(padded[4 + n:]):
        raise SpecError("E_ENV_PADDING")
    return padded[4:4 + n]


def canonical_json(v, depth: int = 0) -> bytes:  # [PAY-2] .. [PAY-5]
    if v is None:
        return b"null"
    if v is True:
        return b"true"
    if v is False:
        return b"false"
    if isinstance(v, int):
        if abs(v) > 2**53 - 1:
            raise SpecError("E_ENV_JSON")
        return str(v).encode()
    if isinstance(v, str):
        out = bytearray(b'"')
        for ch in v.encode("utf-8"):  # a lone surrogate raises: not canonical
            if ch == 0x22:
                out += b'\\"'
            elif ch == 0x5C:
                out += b"\\\\"
            elif ch < 0x20:
                short = {8: b"\\b", 12: b"\\f", 10: b"\\n", 13: b"\\r", 9: b"\\t"}
                out += short.get(ch, b"\\u00%02x" % ch)
            else:
                out.append(ch)
        return bytes(out + b'"')
    if depth >= 64:  # [PAY-3]
        raise SpecError("E_ENV_JSON")
    if isinstance(v, list):
        return b"[" + b",".join(canonical_json(x, depth + 1) for x in v) + b"]"
    if isinstance(v, dict):
        items = sorted(v.items(), key=lambda kv: kv[0].encode("utf-8"))
        return b"{" + b",".join(canonical_json(k) + b":" + canonical_json(x, depth + 1)
                                for k, x in items) + b"}"
    raise SpecError("E_ENV_JSON")  # floats, NaN, ...


def check_canonical_json(p: bytes) -> bytes:  # [PAY-2]: canonical(parse(p)) == p
    try:
        v = json.loads(p.decode("utf-8"))
        c = canonical_json(v) if isinstance(v, dict) else None
    except (ValueError, UnicodeError, RecursionError):
        raise SpecError("E_ENV_JSON")
    if c != p:
        raise SpecError("E_ENV_JSON")
    return c


def env_check_schema(schema: int, payload: bytes) -> None:  # [PAY-1]
    if schema == 1:
        check_canonical_json(payload)
    elif schema != 0:
        raise SpecError("E_ENV_SCHEMA")


HEADER_FIELDS = (("version", 1), ("suite", 1), ("bucket", -32), ("record_id", -16),
                 ("revision", 8), ("writer", -32), ("writer_seq", 8), ("epoch", 4),
                 ("schema", 2), ("padded_len", 4), ("chain_head", -32), ("salt", -32),
                 ("commitment", -32), ("prev", -32))


def env_header_encode(hd: dict) -> bytes:  # [ENV-2]
    return b"".join(hd[k].to_bytes(w, "big") if w > 0 else hd[k] for k, w in HEADER_FIELDS)


def env_header_read(r: Reader) -> dict:  # [ENV-2], [ENV-13]
    hd = {}
    for k, w in HEADER_FIELDS:
        hd[k] = r.uint(w) if w > 0 else r.take(-w)
        if k == "version" and hd[k] != 1:
            raise SpecError("E_ENV_VERSION")
        if k == "suite" and hd[k] not in (1, 2):
            raise SpecError("E_ENV_SUITE")
    if hd["padded_len"] > ENV_MAX_PADDED:
        raise SpecError("E_ENV_TOO_LARGE")
    if not env_is_bucket(hd["padded_len"]):
        raise SpecError("E_ENV_LENGTH")
    return hd


def env_header_json(hd: dict) -> dict:
    return {k: (hd[k] if w > 0 else hd[k].hex()) for k, w in HEADER_FIELDS}


def env_keys(ck: bytes, salt: bytes, suite: int):  # [ENV-6]
    prk = hkdf_extract(salt, ck)
    ki = enc("blindsync/v1/envelope/key", u8(1), u8(suite))
    ci = enc("blindsync/v1/envelope/commit", u8(1), u8(suite))
    return prk, ki, ci, hkdf_expand(prk, ki, 32), hkdf_expand(prk, ci, 32)


def env_aead(suite: int, key: bytes):  # [ENV-3]
    return AESGCM(key) if suite == 1 else ChaCha20Poly1305(key)


def env_intermediates(account: bytes, ck: bytes, hd: dict, body: bytes) -> dict:
    hb = env_header_encode(hd)
    prk, ki, ci, key, com = env_keys(ck, hd["salt"], hd["suite"])
    prefix = enc("blindsync/v1/hash/envelope-body") + u32(len(body))          # [ENV-8]
    bd = sha256(prefix + body)
    msg = enc("blindsync/v1/sig/record", fixed(account), fixed(hb), fixed(bd))  # [ENV-9]
    return {"header": hb.hex(), "key_info": ki.hex(), "commit_info": ci.hex(), "prk": prk.hex(),
            "key": key.hex(), "commitment": com.hex(),
            "aad": enc("blindsync/v1/aad/record", fixed(account), fixed(hb)).hex(),
            "body_digest_prefix": prefix.hex(), "body_digest": bd.hex(),
            "sig_message": msg.hex(), "sig_digest": sha256(msg).hex()}


def env_pattern(n: int) -> bytes:  # 7.15
    return b"".join(sha256(u64(i)) for i in range(n // 32 + 1))[:n]


def k_envelope_seal(i):  # 7.12
    pt = h(i["plaintext"]) if isinstance(i["plaintext"], str) else env_pattern(i["plaintext"]["length"])
    if i["schema"] not in (0, 1):
        raise SpecError("E_ENV_SCHEMA")                                      # [PAY-6]: first
    if i["suite"] not in (1, 2):
        raise SpecError("E_ENV_SUITE")
    env_check_schema(i["schema"], pt)
    padded = env_pad(pt)
    account, ck = h(i["account_id"]), h(i["collection_key"])
    hd = {k: (i[k] if w > 0 else h(i[k])) for k, w in HEADER_FIELDS
          if k not in ("version", "padded_len", "commitment")}
    hd.update(version=1, padded_len=len(padded))
    hd["commitment"] = env_keys(ck, hd["salt"], hd["suite"])[4]
    key = env_keys(ck, hd["salt"], hd["suite"])[3]
    hb = env_header_encode(hd)
    aad = enc("blindsync/v1/aad/record", fixed(account), fixed(hb))
    body = h(i["nonce"]) + env_aead(hd["suite"], key).encrypt(h(i["nonce"]), padded, aad)
    inter = env_intermediates(account, ck, hd, body)
    sk = nacl.signing.SigningKey(h(i["signing_seed"]))
    sig = sk.sign(h(inter["sig_digest"])).signature
    env = hb + u32(len(body)) + body + sig
    inter.update(verifying_key=bytes(sk.verify_key).hex(), padded_len=len(padded))
    if isinstance(i["plaintext"], str):
        return inter, {"envelope": env.hex()}
    return inter, {"envelope_len": len(env), "envelope_sha256": sha256(env).hex(),
                   "signature": sig.hex()}


def env_check_signed(i, hd: dict, bd: bytes, sig: bytes) -> bytes:
    """Steps 2 to 4 of [ENV-12]; returns the epoch's collection key."""
    if (i.get("bucket") is not None and h(i["bucket"]) != hd["bucket"]) or \
            (i.get("record_id") is not None and h(i["record_id"]) != hd["record_id"]):
        raise SpecError("E_ENV_CONTEXT")                                     # [ENV-11]
    ep = next((e for e in i["epochs"] if e["epoch"] == hd["epoch"]), None)
    if ep is None:
        raise SpecError("E_ENV_EPOCH")                                       # [ENV-10]
    w = next((w for w in ep["writers"] if h(w["device"]) == hd["writer"]), None)
    if w is None:
        raise SpecError("E_ENV_SIGNER_UNKNOWN")
    if w.get("max_seq") is not None and hd["writer_seq"] > w["max_seq"]:
        raise SpecError("E_ENV_WRITER_REVOKED")
    for he in i.get("heads") or []:                                          # [ENV-16]
        if h(he["head"]) == hd["chain_head"] and he["epoch"] > hd["epoch"]:
            raise SpecError("E_ENV_STALE_EPOCH")
    pk = h(w["verifying_key"])
    if not ed25519_key_valid(pk):
        raise SpecError("E_ENV_SIGNER_KEY")                                  # [ENV-9]
    msg = enc("blindsync/v1/sig/record", fixed(h(i["account_id"])), fixed(env_header_encode(hd)), fixed(bd))
    if not ed25519_verify_strict(pk, sha256(msg), sig):
        raise SpecError("E_ENV_SIGNATURE")
    return h(ep["collection_key"])


def k_envelope_open(i):  # [ENV-12]
    r = Reader(h(i["envelope"]))
    hd = env_header_read(r)                                                  # 1. [ENV-13]
    body_len = r.uint(4)
    if body_len != hd["padded_len"] + 28:
        raise SpecError("E_ENV_LENGTH")
    body, sig = r.take(body_len), r.take(64)
    r.end()
    bd = sha256(enc("blindsync/v1/hash/envelope-body") + u32(len(body)) + body)
    ck = env_check_signed(i, hd, bd, sig)                                    # 2. - 4.
    account = h(i["account_id"])
    _, _, _, key, com = env_keys(ck, hd["salt"], hd["suite"])
    if not hmac.compare_digest(com, hd["commitment"]):
        raise SpecError("E_ENV_COMMITMENT")                                  # 5.
    aad = enc("blindsync/v1/aad/record", fixed(account), fixed(env_header_encode(hd)))
    try:
        padded = env_aead(hd["suite"], key).decrypt(body[:12], body[12:], aad)  # 6.
    except InvalidTag:
        raise SpecError("E_ENV_DECRYPT")
    payload = env_unpad(padded)                                              # 7.
    env_check_schema(hd["schema"], payload)                                  # 8.
    return (env_intermediates(account, ck, hd, body),
            {"header": env_header_json(hd), "payload": payload.hex()})


def k_envelope_verify_stub(i):  # [ENV-15]
    r = Reader(h(i["stub"]))
    hd = env_header_read(r)
    bd, sig = r.take(32), r.take(64)
    r.end()
    env_check_signed(i, hd, bd, sig)
    msg = enc("blindsync/v1/sig/record", fixed(h(i["account_id"])), fixed(env_header_encode(hd)), fixed(bd))
    return {"sig_message": msg.hex(), "sig_digest": sha256(msg).hex()}, {"header": env_header_json(hd)}


CH7_KINDS = {
    "envelope_seal": k_envelope_seal,
    "envelope_open": k_envelope_open,
    "envelope_verify_stub": k_envelope_verify_stub,
    "payload_canonical_json": lambda i: ({}, {"canonical": check_canonical_json(h(i["payload"])).hex()}),
}
KINDS.update(CH7_KINDS)


# --------------------------------------------------------------------------
# Chapter 11: the device's writer checks (written from spec/11-sync.md 11.9)
# --------------------------------------------------------------------------

MAX_REVISION_STEP = 2**16                                # [SYNC-16]
U64_MAX = 2**64 - 1


def k_sync_writer_chain(i):  # [SYNC-14] [SYNC-15], one writer
    known = {k["seq"]: h(k["identity"]) for k in i["known"]}
    listed = {}
    for it in i["items"]:
        item = (h(it["identity"]), h(it["prev"]))
        if it["seq"] in listed and listed[it["seq"]][0] != item[0]:
            raise SpecError("E_SYNC_EQUIVOCATION")           # two identities in one listing
        listed.setdefault(it["seq"], item)
    for s, (ident, prev) in sorted(listed.items()):
        if s in known and known[s] != ident:
            raise SpecError("E_SYNC_EQUIVOCATION")           # remembered across syncs
        if s == 1:
            if prev != bytes(32):
                raise SpecError("E_SYNC_EQUIVOCATION")
            continue
        p = listed[s - 1][0] if s - 1 in listed else known.get(s - 1)
        if p is not None and p != prev:
            raise SpecError("E_SYNC_EQUIVOCATION")
    return {}, {}


def k_sync_revision_step(i):  # [SYNC-16], one record in listing order
    greatest = i["accepted"]
    for r in i["revisions"]:
        if r > min(greatest + MAX_REVISION_STEP, U64_MAX):
            raise SpecError("E_SYNC_REVISION_STEP")
        greatest = max(greatest, r)
    return {}, {"greatest": greatest}


def k_sync_login_nonce(i):  # [SRV-14]
    """nonce = u64be(expires_ms) || salt(8) || HMAC-SHA256(secret, enc(SERVER_LOGIN_NONCE,
    account(32), key(32), u64 expires_ms, salt(8)))[0..16]."""
    msg = enc("blindsync/v1/server/login-nonce", fixed(h(i["account"])), fixed(h(i["key"])),
              u64(i["expires_ms"]), fixed(h(i["salt"])))
    tag = hmac_sha256(h(i["secret"]), msg)
    return ({"hmac_message": msg.hex(), "hmac": tag.hex()},
            {"nonce": (u64(i["expires_ms"]) + h(i["salt"]) + tag[:16]).hex()})


def k_sync_stale_head(i):  # [SYNC-17]
    if not i["writer_revoked"] and any(i["item_seq"] > r["boundary"] and i["head_position"] < r["at"]
                                       for r in i["revocations"]):
        raise SpecError("E_SYNC_STALE_HEAD")
    return {}, {}


def k_sync_listing_order(i):  # [SYNC-7], one ListSince page against the cursor it was asked from
    """Every item's server sequence number is above the cursor and above the previous item's
    (strictly ascending), else the whole page is E_SYNC_ORDER; an empty page passes.
    `cursor` and `seqs` (the page's server sequence numbers in listed order): the
    `sync_listing_order` row of vectors/README.md."""
    last = i["cursor"]
    for seq in i["seqs"]:
        if seq <= last:
            raise SpecError("E_SYNC_ORDER")
        last = seq
    return {}, {}


SYNC_KINDS = {
    "sync_listing_order": k_sync_listing_order,
    "sync_writer_chain": k_sync_writer_chain,
    "sync_revision_step": k_sync_revision_step,
    "sync_stale_head": k_sync_stale_head,
    "sync_login_nonce": k_sync_login_nonce,
}
KINDS.update(SYNC_KINDS)


# --------------------------------------------------------------------------
# Runner
# --------------------------------------------------------------------------

# --------------------------------------------------------------------------
# Chapters 9 and 10: stream manifests, batches, the verification hash chain,
# attachments. Written from spec/09-stream.md and spec/10-batches.md.
# --------------------------------------------------------------------------

STR_CHUNK = 65536                        # [STR-1]
STR_MAX_CHUNKS = 1 << 20                 # [STR-9]
STR_DIGEST = 32                          # [STR-6]


def k_stream_manifest_decode(i):
    """[STR-8] step 1, in its order."""
    r = Reader(h(i["manifest"]))
    if r.uint(1) != 1:
        raise SpecError("E_ENV_VERSION")
    if r.uint(1) not in (1, 2):
        raise SpecError("E_ENV_SUITE")
    r.take(16 + 32 + 32 + 32)
    count, last = r.uint(4), r.uint(4)
    if count < 1 or last > STR_CHUNK:
        raise SpecError("E_STREAM_LENGTH")
    if count > STR_MAX_CHUNKS:
        raise SpecError("E_STREAM_TOO_LARGE")
    if last == 0 and count != 1:
        raise SpecError("E_STREAM_EMPTY_CHUNK")
    r.take(STR_DIGEST * count)
    r.take(64)
    r.end()
    return {}, {"chunk_count": count, "last_len": last,
                "plaintext_len": (count - 1) * STR_CHUNK + last}


def batch_meta_decode(data: bytes) -> dict:
    """[BAT-5]: label, version, suite, window, recipients, fixed fields, nothing after."""
    r = Reader(data)
    r.label("blindsync/v1/batch/meta")
    if r.uint(1) != 1:
        raise SpecError("E_ENV_VERSION")
    m = {"batch_id": r.take(16).hex(), "writer": r.take(32).hex()}
    m["suite"] = r.uint(1)
    if m["suite"] not in (1, 2):
        raise SpecError("E_ENV_SUITE")
    m["start_ms"], m["end_ms"], m["expires_ms"] = r.uint(8), r.uint(8), r.uint(8)
    if not m["start_ms"] <= m["end_ms"] <= m["expires_ms"]:
        raise SpecError("E_BATCH_RANGE")
    m["event_count"] = r.uint(4)
    m["seq"] = r.uint(8)
    m["prev_batch"] = r.take(16).hex()
    m["chain_head_len"] = r.uint(8)
    m["chain_head_hash"] = r.take(32).hex()
    n = r.uint(2)
    recipients = [r.take(32) for _ in range(n)]
    if n < 1 or any(a >= b for a, b in zip(recipients, recipients[1:])):
        raise SpecError("E_DECODE_VALUE")
    m["recipients"] = [x.hex() for x in recipients]
    m["slots_digest"] = r.take(32).hex()
    m["manifest_digest"] = r.take(32).hex()
    r.take(64)
    r.end()
    return m


def k_batch_link_check(i):
    """[BAT-11] check_link(last, meta)."""
    m = batch_meta_decode(h(i["meta"]))
    last = i["last"]
    if last is not None and not (m["seq"] == last["seq"] + 1 and m["prev_batch"] == last["batch_id"]):
        raise SpecError("E_BATCH_GAP")
    return {}, {"seq": m["seq"], "prev_batch": m["prev_batch"]}


def hch_event_key(data_key: bytes, account: bytes, batch: bytes) -> tuple[bytes, bytes]:
    """[HCH-2] event_key = HKDF-Expand(HKDF-Extract(0^32, data_key), enc(HCH_EVENT_KEY, account, batch), 32)."""
    info = enc("blindsync/v1/hch/event-key", fixed(account), fixed(batch))
    return info, hkdf_expand(hkdf_extract(bytes(32), data_key), info, 32)


def hch_event_prefix(e: dict) -> bytes:
    """[HCH-2] enc(HCH_EVENT, u64 t_ms, u8 kind, bytes data) without the data."""
    return enc("blindsync/v1/hch/event", u64(e["t_ms"]), u8(e["kind"])) + u32(len(h(e["data"])))


def k_hash_chain_verify(i):
    """[HCH-2] .. [HCH-6]: keyed event hashes, the fold, the report signature, then the cases."""
    account, batch = h(i["account_id"]), h(i["batch_id"])
    info, key = hch_event_key(h(i["data_key"]), account, batch)
    ref_input = enc("blindsync/v1/batch/ref", fixed(account), fixed(batch))
    ref = sha256(ref_input)

    def link(v, e):
        return sha256(enc("blindsync/v1/hch/link", fixed(ref), fixed(v), fixed(e)))

    reported = [h(x) for x in i["reported"]]
    value = bytes(32)
    for e in reported:
        value = link(value, e)
    if value != h(i["value"]):
        raise SpecError("E_HCH_RECORD")
    digest_input = enc("blindsync/v1/sig/hch-report", fixed(ref), u64(len(reported)), fixed(value))
    digest = sha256(digest_input)
    if reported:
        pk = h(i["writer_ed25519"])
        if not ed25519_key_valid(pk) or not ed25519_verify_strict(pk, digest, h(i["signature"])):
            raise SpecError("E_HCH_SIGNATURE")
    events = i["events"]
    for e in events:
        if e["kind"] not in (1, 2):
            raise SpecError("E_DECODE_VALUE")
    c = [blake3.blake3(hch_event_prefix(e) + h(e["data"]), key=key).digest() for e in events]
    chain, v = [], bytes(32)
    for e in c:
        v = link(v, e)
        chain.append(v.hex())

    def subsequence(short, long):
        it = iter(long)
        return all(any(x == y for y in it) for x in short)

    if c != reported:
        if len(c) < len(reported) and subsequence(c, reported):
            raise SpecError("E_HCH_DROPPED")
        if len(c) > len(reported) and subsequence(reported, c):
            raise SpecError("E_HCH_INSERTED")
        if len(c) == len(reported) and sorted(c) == sorted(reported):
            raise SpecError("E_HCH_REORDERED")
        raise SpecError("E_HCH_ALTERED")
    inter = {
        "event_key_info": info.hex(), "event_key": key.hex(),
        "event_hashes": [x.hex() for x in c], "reference_input": ref_input.hex(), "reference": ref.hex(),
        "first_event_prefix": hch_event_prefix(events[0]).hex() if events else None,
        "first_link_input": enc("blindsync/v1/hch/link", fixed(ref), fixed(bytes(32)), fixed(c[0])).hex()
        if c else None,
        "chain": chain, "report_digest_input": digest_input.hex(), "report_digest": digest.hex(),
    }
    return inter, {"value": v.hex()}


def padme(length: int) -> int:
    """[ATT-6] Padme: L < 2 unchanged; else clear the low E - S bits, rounding up.
    A result that does not fit in a u64 is E_ATTACHMENT_PADDING."""
    if length < 2:
        return length
    e = length.bit_length() - 1          # floor(log2 L)
    s = e.bit_length()                   # floor(log2 E) + 1
    mask = (1 << (e - s)) - 1 if e > s else 0
    padded = (length + mask) & ~mask
    if padded > (1 << 64) - 1:
        raise SpecError("E_ATTACHMENT_PADDING")
    return padded


CH10_KINDS = {
    "stream_manifest_decode": k_stream_manifest_decode,
    "batch_meta_decode": lambda i: ({}, batch_meta_decode(h(i["meta"]))),
    "batch_link_check": k_batch_link_check,
    "hash_chain_verify": k_hash_chain_verify,
    "attachment_padme": lambda i: ({}, {"padded": padme(i["length"])}),
}
KINDS.update(CH10_KINDS)


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


def flag_classes(readme: Path) -> dict[str, str]:
    """vectors/README.md, "Flags": error code -> the flag whose third column lists it."""
    classes: dict[str, str] = {}
    lines = readme.read_text(encoding="utf-8").splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("| flag | meaning | first flag of |"))
    for line in lines[start + 2:]:
        if not line.startswith("| `"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        for code in re.findall(r"`(E_[A-Z0-9_]+)`", cells[-1]):
            classes[code] = cells[0].strip("`")
    return classes


def check_flags(v: dict, classes: dict[str, str]) -> str | None:
    """The README's rules for `flags` and `faults` (the schema checks the closed set)."""
    if "error" not in v:
        return None
    flags = v["flags"]
    multi = "MultiFault" in flags
    if multi and flags[0] != "MultiFault":
        return "MultiFault is not the first flag"
    want = classes.get(v["error"])
    got = flags[1] if multi and len(flags) > 1 else (None if multi else flags[0])
    if got != want:
        return f"first class flag {got}, README says {want} for {v['error']}"
    if multi and v["faults"][0]["error"] != v["error"]:
        return "the first fault's error is not the vector's"
    return None


def main(argv: list[str]) -> int:
    if len(argv) > 1 and argv[1] == "client":
        # The client role (spec chapter 13): a device the conformance harness drives over
        # stdin/stdout, written from chapters 11 and 13 on top of this port's primitives.
        import client  # noqa: PLC0415 (client.py imports this module)

        return client.main()
    default = Path(__file__).resolve().parent.parent.parent / "vectors"
    vdir = Path(argv[1]) if len(argv) > 1 else default
    schema = json.loads((vdir / "schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    files = sorted(p for p in vdir.glob("*.json") if p.name != "schema.json")
    if not files:
        print(f"no vector files in {vdir}")
        return 1

    failures: list[str] = []
    classes = flag_classes(vdir / "README.md") if (vdir / "README.md").exists() else None
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
            if classes is not None and (why := check_flags(v, classes)):
                failures.append(f"{path.name}: {v['id']}: flags: {why}")
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

    # RFC 9180 A.1.1 / A.2.1 known answers for the HPKE code of 8.6, one vector each.
    hpke_path = vdir / "upstream" / "rfc9180_hpke.json"
    if hpke_path.exists():
        n = len(json.loads(hpke_path.read_text(encoding="utf-8"))["vectors"])
        try:
            problems = hpke_upstream_check(hpke_path)
        except Exception as e:  # a crash is never a pass
            problems = [f"crashed: {type(e).__name__}: {e}"]
        bad = {p.split(":")[0] for p in problems}
        c = [n - len(bad) if not any(p.startswith("crashed") for p in problems) else 0, n, 0, 0, 0]
        failures += [f"upstream/rfc9180_hpke.json: {p}" for p in problems]
        rows.append(("upstream/rfc9180", "-", c))
        totals = [a + b for a, b in zip(totals, c)]
    else:
        failures.append(f"{hpke_path}: missing")

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
