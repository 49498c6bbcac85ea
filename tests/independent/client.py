#!/usr/bin/env python3
"""The client role of the independent Python port: a BlindSync device under test
of the conformance harness (spec chapter 13).

Written from spec/11-sync.md (11.2 to 11.4, 11.8 with [CLIENT-6], 11.9) and spec/13-conformance.md;
the primitives, the canonical encoding, chain verification (chapter 8) and the
envelope checks (chapter 7) are port.py's, which reproduce the vectors.

Usage: blindsync conform --client "python3 tests/independent/client.py"
It reads the harness's JSON lines on stdin and answers on stdout [CONF-3].
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import nacl.signing  # noqa: E402

import port  # noqa: E402
from port import (  # noqa: E402
    Reader, SpecError, enc, fixed, sha256, u8, u32, u64, var,
)

DEVICES_COLLECTION = "blindsync/devices"   # [SRV-11]
MAX_ITEMS = 1024                           # [SYNC-2], [CONF-6]
MAX_REVISION_STEP = 2**16                  # [SYNC-16]
U64_MAX = 2**64 - 1

# ---------------------------------------------------------------------------
# 11.2, 11.3: requests and responses [SYNC-1] [SYNC-3]
# ---------------------------------------------------------------------------

REQUEST = "blindsync/v1/sync/request"
RESPONSE = "blindsync/v1/sync/response"


def req_challenge(account: bytes, key: bytes) -> bytes:
    return enc(REQUEST, u8(4), fixed(account), fixed(key))


def req_login_key(account: bytes, key: bytes, nonce: bytes, sig: bytes) -> bytes:
    return enc(REQUEST, u8(5), fixed(account), fixed(key), fixed(nonce), fixed(sig))


def req_get_chain(token: bytes) -> bytes:
    return enc(REQUEST, u8(7), fixed(token))


def req_list_since(token: bytes, cursor: int, limit: int) -> bytes:
    return enc(REQUEST, u8(10), fixed(token), u64(cursor), u32(limit))


def req_put_record(token: bytes, envelope: bytes) -> bytes:
    return enc(REQUEST, u8(9), fixed(token), var(envelope))


# [CLIENT-6]: the codes a server may answer to each request this client sends, besides
# every request's (the five E_DECODE_* and E_SRV_UNAVAILABLE); any other code is
# E_CLIENT_UNEXPECTED_RESPONSE.
EVERY_REQUEST = {"E_DECODE_TRUNCATED", "E_DECODE_TRAILING", "E_DECODE_LENGTH",
                 "E_DECODE_LABEL", "E_DECODE_VALUE", "E_SRV_UNAVAILABLE"}
SERVER_CODES = {
    "challenge": set(),
    "login_key": {"E_SRV_AUTH"},
    "get_chain": {"E_SRV_AUTH"},
    "list_since": {"E_SRV_AUTH"},
    "put_record": {"E_SRV_AUTH", "E_SRV_WRITER", "E_SRV_REVISION", "E_SYNC_REVISION_STEP",
                   "E_ENV_VERSION", "E_ENV_SUITE", "E_ENV_TOO_LARGE", "E_ENV_LENGTH"},
}


def refusal(request: str, code: str) -> str:
    """[CLIENT-6] the server's Error(code) to `request`, as the device reports it."""
    if code in EVERY_REQUEST or code in SERVER_CODES[request]:
        return code
    return "E_CLIENT_UNEXPECTED_RESPONSE"


class SeededRng:
    """[PRIM-12]: the ChaCha20 keystream (RFC 8439 2.3 blocks, key = seed, counter from 0,
    nonce zero), drawn in whole 4-byte words."""

    def __init__(self, seed: bytes):
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
        # cryptography's ChaCha20 nonce is the 16-byte RFC 7539 block input: counter (LE) || nonce
        self._enc = Cipher(algorithms.ChaCha20(seed, bytes(16)), mode=None).encryptor()

    def fill(self, n: int) -> bytes:
        words = -(-n // 4) * 4
        return self._enc.update(bytes(words))[:n]


class Response:
    def __init__(self, kind: str, **f):
        self.kind, self.f = kind, f


def decode_response(data: bytes) -> Response:
    """The responses a login or a sync expects (11.3); others by tag only."""
    r = Reader(data)
    r.label(RESPONSE)
    tag = r.uint(1)
    if tag == 1:  # Error: bytes code, at most 64 [SYNC-18]
        code = r.var(64).decode("ascii", "replace")
        r.end()
        return Response("error", code=code)
    if tag == 3:  # Token
        token, expires = r.take(32), r.uint(8)
        r.end()
        return Response("token", token=token, expires=expires)
    if tag == 4:  # Nonce
        nonce = r.take(32)
        r.end()
        return Response("nonce", nonce=nonce)
    if tag == 5:  # Chain: list of bytes statement (65536 of at most 1 MiB) [SYNC-2]
        n = r.uint(4)
        if n > 65536:
            raise SpecError("E_DECODE_LENGTH")
        st = [r.var(1 << 20) for _ in range(n)]
        r.end()
        return Response("chain", statements=st)
    if tag == 8:  # Items: u32 count || (u64 seq || u8 kind || bytes item)*
        n = r.uint(4)
        if n > MAX_ITEMS:
            raise SpecError("E_DECODE_LENGTH")
        items = []
        for _ in range(n):
            seq, kind = r.uint(8), r.uint(1)
            if kind not in (1, 2):
                raise SpecError("E_DECODE_VALUE")
            items.append({"seq": seq, "kind": kind, "bytes": r.var(port.ENV_MAX_PADDED + 1024)})
        r.end()
        return Response("items", items=items)
    if tag == 7:  # Stored: u64 seq
        seq = r.uint(8)
        r.end()
        return Response("stored", seq=seq)
    if tag in (0, 2, 6, 9, 10, 11, 12, 13):
        return Response("other")
    raise SpecError("E_DECODE_VALUE")


# ---------------------------------------------------------------------------
# The device (11.8) [SYNC-8]
# ---------------------------------------------------------------------------

class Done(Exception):
    """Ends an operation: an error code, or the alerts of a sync."""

    def __init__(self, error: str | None = None, alerts: list[str] | None = None):
        self.error, self.alerts = error, alerts or []


class Device:
    def __init__(self, m: dict):
        """13.3: a device that just joined, from its starting material."""
        self.ed_seed = bytes.fromhex(m["ed25519_seed"])
        self.x_secret = bytes.fromhex(m["x25519_secret"])
        self.ed_pub = port.ed25519_public(self.ed_seed)
        self.id = port.device_id(self.ed_pub, port.x25519_public(self.x_secret))
        self.chain = port.chain_verify([bytes.fromhex(s) for s in m["chain"]])   # [CHAIN-7]
        self.umks: dict[int, bytes] = {}
        for u in m["umks"]:
            port.check_umk(self.chain, u["epoch"], bytes.fromhex(u["umk"]))     # [CHAIN-16]
            self.umks[u["epoch"]] = bytes.fromhex(u["umk"])
        self.collections = sorted({DEVICES_COLLECTION, *m["collections"]})
        self.cursor = 0
        self.records: dict[tuple[bytes, bytes], tuple[int, bytes, bytes]] = {}  # (name, rid) -> (rev, w, v)
        self.accepted: dict[tuple[bytes, bytes], tuple[int, bytes]] = {}       # (bucket, rid) -> (rev, w)
        self.writer_seq: dict[bytes, int] = {}
        self.identities: dict[tuple[bytes, int], bytes] = {}                   # [SYNC-14]
        self.revocations: dict[int, int] = {}                                  # at -> boundary [SYNC-17]
        self.refused: set[bytes] = set()                                       # [SYNC-15]
        self.bounds: dict[bytes, int] = {}    # revoked writer -> accepted seq when alerted short [SYNC-15]
        self.withheld_writers: set[bytes] = set()   # writers named by this sync's E_SYNC_WITHHELD
        self.token: bytes | None = None

    # -- [CONF-1] -------------------------------------------------------------
    def digest_input(self) -> bytes:
        out = [u64(len(self.chain.statements)), fixed(self.chain.head_hash), u64(self.cursor)]
        out.append(u32(len(self.umks)) + b"".join(u32(e) for e in sorted(self.umks)))
        ws = sorted((w, s) for w, s in self.writer_seq.items() if s > 0)
        out.append(u32(len(ws)) + b"".join(w + u64(s) for w, s in ws))
        acc = sorted(self.accepted.items())
        out.append(u32(len(acc)) + b"".join(b + rid + u64(rev) + w for (b, rid), (rev, w) in acc))
        recs = sorted(self.records.items())
        out.append(u32(len(recs)) + b"".join(var(name) + rid + u64(rev) + w + sha256(v)
                                              for (name, rid), (rev, w, v) in recs))
        return enc("blindsync/v1/conformance/state", *out)

    # -- operations: generators that yield requests and receive responses ------
    def login(self):
        """[SYNC-4]: Challenge, then LoginKey over enc(SYNC_LOGIN, account, key, nonce)."""
        acc = self.chain.account_id
        r = yield req_challenge(acc, self.ed_pub)
        if r.kind == "error":
            raise Done(refusal("challenge", r.f["code"]))
        if r.kind != "nonce":
            raise Done("E_CLIENT_UNEXPECTED_RESPONSE")
        msg = enc("blindsync/v1/sync/login", fixed(acc), fixed(self.ed_pub), fixed(r.f["nonce"]))
        sig = nacl.signing.SigningKey(self.ed_seed).sign(msg).signature
        r = yield req_login_key(acc, self.ed_pub, r.f["nonce"], sig)
        if r.kind == "error":
            raise Done(refusal("login_key", r.f["code"]))
        if r.kind != "token":
            raise Done("E_CLIENT_UNEXPECTED_RESPONSE")
        self.token = r.f["token"]

    def sync(self):
        """11.9: the chain, then every page after the cursor, then the items."""
        if self.token is None:
            raise Done("E_CLIENT_NOT_LOGGED_IN")
        r = yield req_get_chain(self.token)
        if r.kind == "error":
            raise Done(refusal("get_chain", r.f["code"]))
        if r.kind != "chain":
            raise Done("E_CLIENT_UNEXPECTED_RESPONSE")
        alert = self.apply_chain(r.f["statements"])
        if alert:
            raise Done(alerts=[alert])
        cursor, items = self.cursor, []
        while True:
            r = yield req_list_since(self.token, cursor, MAX_ITEMS)
            if r.kind == "error":
                raise Done(refusal("list_since", r.f["code"]))
            if r.kind != "items":
                raise Done("E_CLIENT_UNEXPECTED_RESPONSE")
            page = r.f["items"]
            if not page:                                  # [SYNC-7] only an empty page ends it
                break
            prev = cursor
            for it in page:                               # [SYNC-7] strictly ascending above the cursor
                if it["seq"] <= prev:
                    raise Done(alerts=["E_SYNC_ORDER"])
                prev = it["seq"]
            items += page
            cursor = page[-1]["seq"]
        # [SYNC-11] a listed item citing a chain head the verified chain lacks: the chain once more
        known = {st["hash"] for st in self.chain.statements}
        if any(self.cited_head(it) not in known | {None} for it in items):
            held = len(self.chain.statements)
            r = yield req_get_chain(self.token)
            if r.kind == "error":
                raise Done(r.f["code"])
            if r.kind != "chain":
                raise Done("E_CLIENT_UNEXPECTED_RESPONSE")
            alert = self.apply_chain(r.f["statements"])
            if alert:
                raise Done(alerts=[alert])
            if any(rv["position"] >= held for rv in self.chain.revoked.values()):
                raise Done(alerts=[])                     # a revocation held only now: not judged
        alerts = self.apply_items(items)
        # [SYNC-15] after listing to the end, a revoked writer short of its bound is withheld,
        # alerted once per accepted sequence number of the writer
        for did, rv in self.chain.revoked.items():
            last = self.writer_seq.get(did, 0)
            if last >= rv["max_seq"]:
                self.bounds.pop(did, None)
            elif did not in self.withheld_writers and self.bounds.get(did) != last:
                self.bounds[did] = last
                alerts.add("E_SYNC_WITHHELD")
        if not alerts:
            self.cursor = cursor                          # [SYNC-7]
            for rv in self.chain.revoked.values():        # [SYNC-17] boundaries
                self.revocations.setdefault(rv["position"], cursor)
        raise Done(alerts=sorted(alerts))

    def write(self, collection: str, record_id: bytes, value: bytes, seed: bytes):
        """[SYNC-6] with [CONF-7]: suite 1, schema 0, salt then nonce from SeededRng(seed)."""
        if self.token is None:
            raise Done("E_CLIENT_NOT_LOGGED_IN")
        acc = self.chain.account_id
        bucket = bytes.fromhex(port.epoch_keys(self.umks[0], acc, 0, [collection])[1]["buckets"][0])
        epoch = self.chain.epoch
        ck = port.epoch_keys(self.umks[epoch], acc, epoch, [collection])[1]["collection_keys"][0]
        rev = self.accepted[(bucket, record_id)][0] + 1 if (bucket, record_id) in self.accepted else 1
        rev = min(rev, U64_MAX)
        last = self.writer_seq.get(self.id, 0)
        prev = self.identities[(self.id, last)] if last else bytes(32)
        rng = SeededRng(seed)
        salt, nonce = rng.fill(32), rng.fill(12)                       # 7.12
        _, out = port.k_envelope_seal({
            "plaintext": value.hex(), "schema": 0, "suite": 1, "account_id": acc.hex(),
            "collection_key": ck, "bucket": bucket.hex(), "record_id": record_id.hex(),
            "revision": rev, "writer": self.id.hex(), "writer_seq": last + 1, "epoch": epoch,
            "chain_head": self.chain.head_hash.hex(), "salt": salt.hex(), "prev": prev.hex(),
            "nonce": nonce.hex(), "signing_seed": self.ed_seed.hex()})
        envelope = bytes.fromhex(out["envelope"])
        r = yield req_put_record(self.token, envelope)
        if r.kind == "error":
            raise Done(refusal("put_record", r.f["code"]))
        if r.kind != "stored":
            raise Done("E_CLIENT_UNEXPECTED_RESPONSE")
        # stored: applied locally by the merge rule [SYNC-6] [SYNC-13]
        hd = port.env_header_read(Reader(envelope))
        body = envelope[236 + 4:-64]
        bd = sha256(enc("blindsync/v1/hash/envelope-body") + u32(len(body)) + body)
        self.identities[(self.id, last + 1)] = sha256(envelope[:236] + bd)
        self.writer_seq[self.id] = last + 1
        mine = (hd["revision"], self.id)
        key = (bucket, record_id)
        if key not in self.accepted or mine > self.accepted[key]:
            self.accepted[key] = mine
            self.records[(collection.encode(), record_id)] = (rev, self.id, value)
        if collection not in self.collections:
            self.collections = sorted({*self.collections, collection})

    @staticmethod
    def cited_head(item) -> bytes | None:
        """The chain head an item's header cites; None if the header does not decode."""
        try:
            return port.env_header_read(Reader(item["bytes"]))["chain_head"]
        except SpecError:
            return None

    # -- 11.9: the chain [SYNC-11] ------------------------------------------------
    def apply_chain(self, served: list[bytes]) -> str | None:
        try:
            new = port.chain_update(self.chain, served)   # [CHAIN-10]
        except SpecError as e:
            return e.code
        if new.head_hash == self.chain.head_hash and len(new.statements) == len(self.chain.statements):
            return None
        try:
            _, umks = port.open_chain_epochs(new, self.x_secret)   # [CHAIN-12], [CHAIN-16]
        except SpecError as e:
            return e.code
        for e, k in umks.items():
            self.umks.setdefault(e, k)
        old, self.chain = self.chain, new
        # [SYNC-14] a revocation new to the device that exposes a split: the chain is taken,
        # then an alert for every such writer (the harness compares the set of codes)
        for d in sorted(new.revoked):
            rv = new.revoked[d]
            if d in old.revoked or rv["max_seq"] == 0:
                continue
            have = self.identities.get((d, rv["max_seq"]))
            if have is not None and have != rv["last_envelope"]:
                return "E_SYNC_EQUIVOCATION"
        return None

    # -- 11.9: the items ------------------------------------------------------------
    def heads(self) -> dict[bytes, tuple[int, int]]:
        """[ENV-16] [SYNC-17]: each verified head's position and the epoch in force there."""
        out, epoch = {}, 0
        for p, st in enumerate(self.chain.statements):
            epoch = st["body"].get("epoch", epoch)
            out[st["hash"]] = (p, epoch)
        return out

    def writers(self) -> list[dict]:
        """[SYNC-8]: active devices unbounded, revoked devices up to max_seq."""
        w = [{"device": d.hex(), "verifying_key": v["ed25519"].hex(), "max_seq": None}
             for d, v in self.chain.devices.items()]
        w += [{"device": d.hex(), "verifying_key": v["ed25519"].hex(), "max_seq": v["max_seq"]}
              for d, v in self.chain.revoked.items()]
        return w

    def keyring(self) -> dict[bytes, tuple[bytes, list[dict]]]:
        """bucket -> (collection name, [{epoch, collection_key}]) for the collections read."""
        acc = self.chain.account_id
        ring = {}
        for name in self.collections:
            bucket = bytes.fromhex(port.epoch_keys(self.umks[0], acc, 0, [name])[1]["buckets"][0])
            keys = [{"epoch": e, "collection_key": port.epoch_keys(k, acc, e, [name])[1]["collection_keys"][0]}
                    for e, k in sorted(self.umks.items())]
            ring[bucket] = (name.encode(), keys)
        return ring

    def verify(self, item, writers, ring, heads) -> dict:
        """One item: structure, [ENV-12] with [ENV-16] (known collection) or the signature
        checks of [ENV-15] (stub, other collection), then its chain head [SYNC-11]."""
        data = item["bytes"]
        r = Reader(data)
        hd = port.env_header_read(r)
        header = data[:236]
        if item["kind"] == 2:                                    # a stub [ENV-15]
            bd, sig = r.take(32), r.take(64)
            r.end()
            body = None
        else:                                                    # an envelope [ENV-12] step 1
            n = r.uint(4)
            if n != hd["padded_len"] + 28:
                raise SpecError("E_ENV_LENGTH")
            body, sig = r.take(n), r.take(64)
            r.end()
            bd = sha256(enc("blindsync/v1/hash/envelope-body") + u32(len(body)) + body)
        at = heads.get(hd["chain_head"])
        acc = self.chain.account_id.hex()
        if at is None:
            # [SYNC-11] a chain head not in the verified chain: the signature checks of [ENV-15]
            # accepting the item's own epoch (another branch's epoch keys would fail the key
            # commitment, an epoch this chain has not started E_ENV_EPOCH), then Fork, before
            # the envelope is opened
            epochs = [{"epoch": hd["epoch"], "collection_key": "00" * 32, "writers": writers}]
            port.k_envelope_verify_stub({"stub": (header + bd + sig).hex(), "account_id": acc,
                                         "epochs": epochs, "heads": []})
            raise SpecError("E_CHAIN_FORK")
        he = [{"head": hd["chain_head"].hex(), "epoch": at[1]}]
        payload = None
        if body is not None and hd["bucket"] in ring:
            name, keys = ring[hd["bucket"]]
            epochs = [{"epoch": k["epoch"], "collection_key": k["collection_key"], "writers": writers}
                      for k in keys]
            _, out = port.k_envelope_open({"envelope": data.hex(), "account_id": acc, "epochs": epochs,
                                           "heads": he})
            payload = (name, bytes.fromhex(out["payload"]))
        else:
            epochs = [{"epoch": e, "collection_key": "00" * 32, "writers": writers}
                      for e in range(self.chain.epoch + 1)]
            port.k_envelope_verify_stub({"stub": (header + bd + sig).hex(), "account_id": acc,
                                         "epochs": epochs, "heads": he})
        # [SRV-11] a device's metadata only from that device: never applied, but verified (its
        # writer signed it); apply_items alerts it once, or forges it beyond the revision step
        foreign_meta = (ring.get(hd["bucket"], (None,))[0] == DEVICES_COLLECTION.encode()
                        and hd["record_id"] != hd["writer"][:16])
        if foreign_meta:
            payload = None
        return {"hd": hd, "payload": payload, "stub": item["kind"] == 2, "foreign_meta": foreign_meta,
                "identity": sha256(header + bd), "head_pos": at[0], "item_seq": item["seq"]}

    def signed_above_bound(self, item, writers) -> None:
        """[SYNC-15]: the signature checks of [ENV-15] under the revoked writer's key, in the
        item's own epoch, the bound ignored; raises the failing check's code."""
        data = item["bytes"]
        r = Reader(data)
        hd = port.env_header_read(r)
        if item["kind"] == 2:
            bd, sig = r.take(32), r.take(64)
        else:
            body = r.take(r.uint(4))
            sig = r.take(64)
            bd = sha256(enc("blindsync/v1/hash/envelope-body") + u32(len(body)) + body)
        own = [dict(w, max_seq=None) for w in writers if w["device"] == hd["writer"].hex()]
        port.k_envelope_verify_stub({"stub": (data[:236] + bd + sig).hex(),
                                     "account_id": self.chain.account_id.hex(),
                                     "epochs": [{"epoch": hd["epoch"], "collection_key": "00" * 32, "writers": own}],
                                     "heads": []})

    def apply_items(self, items: list[dict]) -> set[str]:
        alerts: set[str] = set()
        self.withheld_writers = set()
        writers, ring, heads = self.writers(), self.keyring(), self.heads()
        by_writer: dict[bytes, dict[int, dict]] = {}
        equivocated: set[tuple[bytes, int]] = set()
        newest = dict(self.accepted)          # greatest verified full (revision, writer) per record
        base = {k: rev for k, (rev, _) in self.accepted.items()}   # [SYNC-16]
        for item in items:
            try:
                v = self.verify(item, writers, ring, heads)
            except SpecError as e:
                if e.code == "E_ENV_WRITER_REVOKED":     # [SYNC-15] alerted once, if signed
                    try:
                        self.signed_above_bound(item, writers)
                    except SpecError as f:
                        alerts.add(f.code)                   # a forgery: never remembered
                        continue
                    h = sha256(item["bytes"])
                    if h not in self.refused:
                        self.refused.add(h)
                        alerts.add(e.code)
                else:
                    alerts.add(e.code)                   # [SYNC-12] forged, or [SYNC-11] fork
                continue
            hd = v["hd"]
            key = (hd["bucket"], hd["record_id"])
            known = base.get(key, 0)
            within = hd["revision"] <= min(known + MAX_REVISION_STEP, U64_MAX)
            if v["foreign_meta"]:                        # [SRV-11], before the revision step
                if not within:
                    alerts.add("E_ENV_CONTEXT")
                    continue
                h = sha256(item["bytes"])
                if h not in self.refused:                # alerted once ([PERSIST-4] client.refused)
                    self.refused.add(h)
                    alerts.add("E_ENV_CONTEXT")
            if not within:
                alerts.add("E_SYNC_REVISION_STEP")
                continue
            base[key] = max(known, hd["revision"])
            w, s = hd["writer"], hd["writer_seq"]
            if not v["stub"]:
                newest[key] = max(newest.get(key, (0, w)), (hd["revision"], w))
            seqs = by_writer.setdefault(w, {})
            if s not in seqs:
                seqs[s] = v
            elif seqs[s]["identity"] != v["identity"]:
                equivocated.add((w, s))                  # [SYNC-14]
            elif seqs[s]["stub"] and not v["stub"]:
                seqs[s] = v                              # [SYNC-21] an envelope and its stub: the envelope
        # [SYNC-14] [SYNC-15] identities remembered and prev links
        for w, seqs in by_writer.items():
            rv = self.chain.revoked.get(w)
            last = self.writer_seq.get(w, 0)

            def known_id(s, w=w, rv=rv):
                if (w, s) in self.identities:
                    return self.identities[(w, s)]
                if rv is not None and rv["max_seq"] == s:
                    return rv["last_envelope"]
                return None
            broken = []
            for s in sorted(seqs):
                v = seqs[s]
                k = known_id(s)
                if k is not None and k != v["identity"]:
                    broken.append(s)
                if s == 1:
                    if v["hd"]["prev"] != bytes(32):
                        broken.append(1)
                    continue
                listed_before = seqs[s - 1]["identity"] if s - 1 in seqs else None
                p = listed_before if listed_before is not None else known_id(s - 1)
                if p is not None and p != v["hd"]["prev"]:
                    broken.append(s - 1 if listed_before is not None and s - 1 > last else s)
            if broken:
                equivocated.add((w, min(broken)))
        # the sequence rule, writer by writer (ascending ids) [SYNC-9] [SYNC-10]
        for w in sorted(by_writer):
            seqs = by_writer[w]
            last = self.writer_seq.get(w, 0)
            rv = self.chain.revoked.get(w)
            if rv is not None and any(s > last for s in seqs):
                if any(s not in seqs for s in range(last + 1, rv["max_seq"] + 1)):
                    # [SYNC-15] all the way to the bound; alerted once per accepted seq
                    if self.bounds.get(w) != last:
                        self.bounds[w] = last
                        alerts.add("E_SYNC_WITHHELD")
                        self.withheld_writers.add(w)
                    continue
            for s in sorted(seqs):
                v = seqs[s]
                hd = v["hd"]
                if (w, s) in equivocated:
                    alerts.add("E_SYNC_EQUIVOCATION")
                    break
                key = (hd["bucket"], hd["record_id"])
                mine = (hd["revision"], w)
                acc = self.accepted.get(key)
                older = not v["stub"] and acc is not None and acc > mine
                superseded = key in newest and newest[key] > mine
                if s <= last:
                    if older:
                        alerts.add("E_SYNC_ROLLBACK")
                    continue
                if s != last + 1 or (v["stub"] and not superseded):
                    alerts.add("E_SYNC_WITHHELD")
                    self.withheld_writers.add(w)
                    break
                if rv is None and any(v["item_seq"] > b and v["head_pos"] < at
                                      for at, b in self.revocations.items()):
                    alerts.add("E_SYNC_STALE_HEAD")      # [SYNC-17]: still applied
                last = s
                self.identities.setdefault((w, s), v["identity"])
                if v["stub"]:
                    continue
                if acc is None or mine > acc:             # [SYNC-13] last writer wins
                    self.accepted[key] = mine
                    if v["payload"] is not None:
                        name, value = v["payload"]
                        self.records[(name, hd["record_id"])] = (hd["revision"], w, value)
            self.writer_seq[w] = last
        return alerts


# ---------------------------------------------------------------------------
# 13.5: the harness protocol [CONF-3]
# ---------------------------------------------------------------------------

def send(msg: dict) -> None:
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def receive() -> dict | None:
    line = sys.stdin.readline()
    return json.loads(line) if line else None


def run_op(dev: Device, msg: dict) -> tuple[str | None, list[str]]:
    op = msg["op"]
    if op == "write":
        w = msg["write"]
        gen = dev.write(w["collection"], bytes.fromhex(w["record_id"]), bytes.fromhex(w["value"]),
                        bytes.fromhex(w["rng_seed"]))
    else:
        gen = dev.login() if op == "login" else dev.sync()
    try:
        req = next(gen)
        while True:
            send({"type": "request", "hex": req.hex()})
            msg = receive()
            if msg is None or msg.get("type") != "response":
                raise SystemExit("expected a response")
            try:
                resp = decode_response(bytes.fromhex(msg["hex"]))
            except SpecError as e:
                resp = Response("error", code=e.code)   # an undecodable answer refuses the step
            req = gen.send(resp)
    except StopIteration:
        return None, []
    except Done as d:
        return d.error, sorted(set(d.alerts))


def main() -> int:
    dev = None
    while True:
        msg = receive()
        if msg is None or msg.get("type") == "bye":
            return 0
        t = msg.get("type")
        if t == "start":
            try:
                dev = Device(msg["device"])
            except SpecError as e:
                send({"type": "error", "message": f"starting material refused: {e.code}"})
                continue
            send({"type": "ready"})
        elif t == "op" and dev is not None and msg.get("op") in ("login", "sync", "write"):
            error, alerts = run_op(dev, msg)
            send({"type": "result", "step": msg.get("step"), "error": error, "alerts": alerts,
                  "state_digest": hashlib.sha256(dev.digest_input()).hexdigest()})
        else:
            send({"type": "error", "message": f"unexpected message {t!r}"})
            return 1


if __name__ == "__main__":
    sys.exit(main())
