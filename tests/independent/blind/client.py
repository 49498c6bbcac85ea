#!/usr/bin/env python3
"""A BlindSync device under test for `blindsync conform` (spec chapter 13).

Written from spec/*.md alone (chapters 11 and 13 in particular), reusing the
primitives, chain verification and envelope helpers of the independent port
(tests/independent/port.py).  Guesses are marked NOTES Xn (items of NOTES.md); round 2 (spec of
2026-12-01 afternoon) guesses are NOTES R2-n.  Choices the round-1 notes made that the spec now
states cite the requirement ("was NOTES Xn").
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # port.py
sys.path.insert(1, os.path.dirname(os.path.abspath(__file__)))

import port  # noqa: E402
from port import (SpecError, enc, fixed, var, u8, u16, u32, u64, Reader, sha256)  # noqa: E402
from codes import FAULT  # noqa: E402
import nacl.signing  # noqa: E402
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms  # noqa: E402
from cryptography.exceptions import InvalidTag  # noqa: E402

SYNC_REQUEST = "blindsync/v1/sync/request"
SYNC_RESPONSE = "blindsync/v1/sync/response"
SYNC_LOGIN = "blindsync/v1/sync/login"
STATE_LABEL = "blindsync/v1/conformance/state"
DEVICES_COLLECTION = "blindsync/devices"  # [SRV-11]

MAX_REVISION_STEP = 2 ** 16  # [SYNC-16]
U64_MAX = 2 ** 64 - 1
MAX_ENVELOPE_LEN = port.ENV_MAX_PADDED + 332  # [ENV-14]
LIST_LIMIT = 1024  # [CONF-6]

# response tags [SYNC-3]
R_OK, R_ERROR, R_KDF, R_TOKEN, R_NONCE, R_CHAIN, R_WRAPS, R_STORED, R_ITEMS = range(9)

# [CLIENT-6]: the codes a server may answer, per request this client sends
EVERY_REQUEST_CODES = {"E_DECODE_TRUNCATED", "E_DECODE_TRAILING", "E_DECODE_LENGTH", "E_DECODE_LABEL",
                       "E_DECODE_VALUE", "E_SRV_UNAVAILABLE"}
ALLOWED_CODES = {
    "Challenge": set(),
    "LoginKey": {"E_SRV_AUTH"},
    "GetChain": {"E_SRV_AUTH"},
    "ListSince": {"E_SRV_AUTH"},
    "PutRecord": {"E_SRV_AUTH", "E_SRV_WRITER", "E_SRV_REVISION", "E_SYNC_REVISION_STEP",
                  "E_ENV_VERSION", "E_ENV_SUITE", "E_ENV_TOO_LARGE", "E_ENV_LENGTH"},
}

ALERT_CODE = {"withheld": "E_SYNC_WITHHELD", "rollback": "E_SYNC_ROLLBACK", "fork": "E_CHAIN_FORK",
              "equivocation": "E_SYNC_EQUIVOCATION", "stale": "E_SYNC_STALE_HEAD"}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# [PRIM-12] SeededRng
# ---------------------------------------------------------------------------
class SeededRng:
    def __init__(self, seed: bytes):
        self.seed = seed
        self.buf = b""
        self.block = 0
        self.pos = 0  # bytes consumed from K

    def _ensure(self, n):
        while len(self.buf) < self.pos + n:
            nonce16 = self.block.to_bytes(4, "little") + bytes(12)
            c = Cipher(algorithms.ChaCha20(self.seed, nonce16), mode=None).encryptor()
            self.buf += c.update(bytes(64))
            self.block += 1

    def fill(self, n: int) -> bytes:
        self._ensure(n)
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        self.pos = -(-self.pos // 4) * 4  # skip to the next whole word
        return out


# ---------------------------------------------------------------------------
# wire [SYNC-1], [SYNC-2], [SYNC-3]
# ---------------------------------------------------------------------------
def request(tag: int, *fields: bytes) -> bytes:
    return enc(SYNC_REQUEST, u8(tag), *fields)


class Response:
    def __init__(self, tag, **kw):
        self.tag = tag
        self.__dict__.update(kw)


def decode_response(data: bytes) -> Response:
    r = Reader(data)
    r.label(SYNC_RESPONSE)
    tag = r.uint(1)
    if tag == R_OK:
        out = Response(tag)
    elif tag == R_ERROR:
        # [SYNC-18]: length above 64 is E_DECODE_LENGTH before reading; must be a registry code
        code = r.var(64)
        try:
            s = code.decode("utf-8")
        except UnicodeDecodeError:
            raise SpecError("E_DECODE_VALUE")
        if s not in FAULT:
            raise SpecError("E_DECODE_VALUE")
        out = Response(tag, code=s)
    elif tag == R_TOKEN:
        out = Response(tag, token=r.take(32), expires=r.uint(8))
    elif tag == R_NONCE:
        out = Response(tag, nonce=r.take(32))
    elif tag == R_CHAIN:
        n = r.uint(4)
        if n > 65536:
            raise SpecError("E_DECODE_LENGTH")
        out = Response(tag, statements=[r.var(1 << 20) for _ in range(n)])
    elif tag == R_STORED:
        out = Response(tag, seq=r.uint(8))
    elif tag == R_ITEMS:
        n = r.uint(4)
        if n > 1024:
            raise SpecError("E_DECODE_LENGTH")
        items = []
        for _ in range(n):
            seq = r.uint(8)
            kind = r.uint(1)
            if kind not in (1, 2):
                raise SpecError("E_DECODE_VALUE")
            items.append((seq, kind, r.var(MAX_ENVELOPE_LEN)))
        out = Response(tag, items=items)
    elif tag in (R_KDF, R_WRAPS) or 9 <= tag <= 13:
        # not used by the scenario operations; any of them is an unexpected response
        out = Response(tag)
        r.pos = len(data)
    else:
        raise SpecError("E_DECODE_VALUE")
    r.end()
    return out


class OpEnd(Exception):
    """The operation ends with an error code."""

    def __init__(self, code):
        self.code = code


# ---------------------------------------------------------------------------
# envelopes (chapter 7) over port.py
# ---------------------------------------------------------------------------
def decode_item(kind: int, raw: bytes):
    """[ENV-13] envelope or [ENV-15] stub decoding. Returns dict."""
    r = Reader(raw)
    hd = port.env_header_read(r)
    header = raw[:236]
    if kind == 1:
        body_len = r.uint(4)
        if body_len != hd["padded_len"] + 28:
            raise SpecError("E_ENV_LENGTH")
        body = r.take(body_len)
        sig = r.take(64)
        r.end()
        bd = sha256(enc("blindsync/v1/hash/envelope-body") + u32(len(body)) + body)
    else:
        body = None
        bd = r.take(32)
        sig = r.take(64)
        r.end()
    return {"hd": hd, "header": header, "body": body, "bd": bd, "sig": sig,
            "identity": sha256(header + bd), "stub": kind == 2}


# ---------------------------------------------------------------------------
# the device
# ---------------------------------------------------------------------------
class Device:
    def __init__(self, material: dict):
        self.ed_seed = bytes.fromhex(material["ed25519_seed"])
        self.x_secret = bytes.fromhex(material["x25519_secret"])
        self.sk = nacl.signing.SigningKey(self.ed_seed)
        self.ed_pk = bytes(self.sk.verify_key)
        self.x_pk = port.x25519_public(self.x_secret)
        self.device_id = port.device_id(self.ed_pk, self.x_pk)
        chain = [bytes.fromhex(s) for s in material["chain"]]
        self.chain = port.chain_verify(chain)  # [CHAIN-7]
        self.umks: dict[int, bytes] = {}
        for u in material["umks"]:
            umk = bytes.fromhex(u["umk"])
            port.check_umk(self.chain, u["epoch"], umk)  # [CHAIN-16]
            self.umks[u["epoch"]] = umk
        # [CONF-2] (was NOTES B5): the UMKs are exactly the material's `umks`; the starting chain's
        # epoch wraps addressed to the device are not opened
        self.collections = [DEVICES_COLLECTION] + [c for c in material["collections"]
                                                   if c != DEVICES_COLLECTION]
        self.cursor = 0
        self.last: dict[bytes, int] = {}                     # writer -> last seq
        self.identities: dict[tuple[bytes, int], bytes] = {}  # (writer, seq) -> identity
        self.accepted: dict[tuple[bytes, bytes], tuple[int, bytes]] = {}  # (bucket, rid) -> (rev, writer)
        self.records: dict[tuple[str, bytes], tuple[int, bytes, bytes]] = {}
        self.boundaries: dict[int, int] = {}                 # revoke position -> boundary
        self.refused: set[bytes] = set()                     # [SYNC-15] alerted-once items
        self.bounds: dict[bytes, int] = {}                   # [SYNC-15] revoked writer -> accepted seq alerted
        self.token: bytes | None = None
        self.outbox: bytes | None = None
        self.outbox_meta = None

    # -- keys -------------------------------------------------------------
    @property
    def account(self) -> bytes:
        return self.chain.account_id

    def _open_wraps(self, chain, positions, umks):
        for i in positions:
            st = chain.statements[i]
            for w in st["body"].get("wraps", []):
                if w["recipient"] != self.x_pk:
                    continue
                aad = port.epoch_wrap_aad(chain.account_id, w["epoch"], w["recipient"])
                umk, _ = port.Hpke().open(self.x_secret, w["enc"], port.HPKE_EPOCH_INFO, aad, w["ct"])
                port.check_umk(chain, w["epoch"], umk)
                umks[w["epoch"]] = umk

    def buckets(self) -> dict[bytes, str]:
        _, out = port.epoch_keys(self.umks[0], self.account, 0, self.collections)
        return {bytes.fromhex(b): c for b, c in zip(out["buckets"], self.collections)}

    def collection_key(self, epoch: int, collection: str) -> bytes:
        if epoch == 0:
            _, out = port.epoch_keys(self.umks[0], self.account, 0, [collection])
        else:
            _, out = port.epoch_keys(self.umks[epoch], self.account, epoch, [collection])
        return bytes.fromhex(out["collection_keys"][0])

    def head_positions(self) -> dict[bytes, int]:
        return {st["hash"]: i for i, st in enumerate(self.chain.statements)}

    def epoch_at(self) -> list[int]:
        """[ENV-16] epoch in force at each chain position."""
        out, e = [], 0
        for st in self.chain.statements:
            if st["kind"] in (port.REVOKE, port.ROTATE, port.REPLACE):
                e = st["body"]["epoch"]
            out.append(e)
        return out

    def writers(self) -> dict[bytes, tuple[bytes, int | None]]:
        """[SYNC-8]: the writers of every epoch: active (no bound) and revoked (max_seq)."""
        w = {did: (d["ed25519"], None) for did, d in self.chain.devices.items()}
        for did, d in self.chain.revoked.items():
            w[did] = (d["ed25519"], d["max_seq"])
        return w

    # -- digest [CONF-1] ------------------------------------------------------
    def digest_input(self) -> bytes:
        parts = [u64(len(self.chain.statements)), self.chain.head_hash, u64(self.cursor)]
        eps = sorted(self.umks)
        parts += [u32(len(eps))] + [u32(e) for e in eps]
        ws = sorted((w, s) for w, s in self.last.items() if s > 0)
        parts += [u32(len(ws))] + [w + u64(s) for w, s in ws]
        acc = sorted(self.accepted.items())
        parts += [u32(len(acc))] + [b + rid + u64(rev) + wr for (b, rid), (rev, wr) in acc]
        recs = sorted(self.records.items(), key=lambda kv: (kv[0][0].encode(), kv[0][1]))
        parts += [u32(len(recs))] + [var(c.encode()) + rid + u64(rev) + wr + sha256(val)
                                     for (c, rid), (rev, wr, val) in recs]
        return enc(STATE_LABEL, *parts)

    def digest(self) -> str:
        return sha256(self.digest_input()).hex()

    # -- operations -----------------------------------------------------------
    # Each operation is a generator: it yields request bytes and receives the
    # response bytes; it returns (error, alerts).
    def expect(self, raw: bytes, tag: int, req: str) -> Response:
        try:
            resp = decode_response(raw)
        except SpecError as e:
            raise OpEnd(e.code)  # [SYNC-7] (was NOTES A6): an undecodable response is the error
        if resp.tag == R_ERROR:
            # [CLIENT-6]: only the codes a server may answer to this request are passed on
            # (this covers [CLIENT-2]'s internal, misuse and E_CLIENT_ codes: they are in no row)
            if resp.code not in EVERY_REQUEST_CODES and resp.code not in ALLOWED_CODES[req]:
                raise OpEnd("E_CLIENT_UNEXPECTED_RESPONSE")
            raise OpEnd(resp.code)  # [CLIENT-1]
        if resp.tag != tag:
            raise OpEnd("E_CLIENT_UNEXPECTED_RESPONSE")  # [CLIENT-1]
        return resp

    def op_login(self):  # [SYNC-4], [CONF-6]
        raw = yield request(4, self.account, self.ed_pk)
        nonce = self.expect(raw, R_NONCE, "Challenge").nonce
        sig = self.sk.sign(enc(SYNC_LOGIN, self.account, self.ed_pk, nonce)).signature
        raw = yield request(5, self.account, self.ed_pk, nonce, sig)
        self.token = self.expect(raw, R_TOKEN, "LoginKey").token
        return None, []

    def op_write(self, w: dict):  # [SYNC-6], [CONF-7]
        if self.token is None:
            raise OpEnd("E_CLIENT_NOT_LOGGED_IN")
        if self.outbox is None:
            collection = w["collection"]
            rid = bytes.fromhex(w["record_id"])
            # [SRV-11]: a device writes only its own record of blindsync/devices, refused before
            # anything is signed (NOTES R2-6: checked after the outbox, before declaring)
            if collection == DEVICES_COLLECTION and rid != self.device_id[:16]:
                raise OpEnd("E_CLIENT_DEVICE_RECORD")
            # [CONF-7] (was NOTES B3): a stored write to a collection the device does not read declares it
            declare = collection not in self.collections
            value = bytes.fromhex(w["value"])
            rng = SeededRng(bytes.fromhex(w["rng_seed"]))
            bucket = {c: b for b, c in self.buckets().items()}.get(collection)
            if bucket is None:
                _, out = port.epoch_keys(self.umks[0], self.account, 0, [collection])
                bucket = bytes.fromhex(out["buckets"][0])
            acc = self.accepted.get((bucket, rid))
            revision = min((acc[0] if acc else 0) + 1, U64_MAX)
            seq = self.last.get(self.device_id, 0) + 1
            if seq > U64_MAX:
                raise OpEnd("E_CLIENT_OVERFLOW")
            if seq == 1:
                prev = bytes(32)
            else:
                prev = self.identities.get((self.device_id, seq - 1))
                if prev is None:
                    raise OpEnd("E_CLIENT_STATE")
            epoch = self.epoch_at()[-1]
            ck = self.collection_key(epoch, collection)
            padded = port.env_pad(value)  # schema 0: raw
            salt, nonce = rng.fill(32), rng.fill(12)
            hd = {"version": 1, "suite": 1, "bucket": bucket, "record_id": rid, "revision": revision,
                  "writer": self.device_id, "writer_seq": seq, "epoch": epoch, "schema": 0,
                  "padded_len": len(padded), "chain_head": self.chain.head_hash, "salt": salt}
            _, _, _, key, com = port.env_keys(ck, salt, 1)
            hd["commitment"] = com
            hd["prev"] = prev
            header = port.env_header_encode(hd)
            aad = enc("blindsync/v1/aad/record", fixed(self.account), fixed(header))
            body = nonce + port.env_aead(1, key).encrypt(nonce, padded, aad)
            bd = sha256(enc("blindsync/v1/hash/envelope-body") + u32(len(body)) + body)
            sig_digest = sha256(enc("blindsync/v1/sig/record", fixed(self.account), fixed(header), fixed(bd)))
            sig = self.sk.sign(sig_digest).signature
            self.outbox = header + u32(len(body)) + body + sig
            self.outbox_meta = (collection, rid, bucket, revision, seq, value, sha256(header + bd), declare)
        else:
            raise OpEnd("E_CLIENT_OUTBOX_PENDING")  # [CONF-7] (was NOTES A10)
        raw = yield request(9, self.token, var(self.outbox))
        self.expect(raw, R_STORED, "PutRecord")
        collection, rid, bucket, revision, seq, value, identity, declare = self.outbox_meta
        self.outbox = None
        if declare and collection not in self.collections:
            self.collections.append(collection)  # [CONF-7]: declared only once the write is stored
        self.identities[(self.device_id, seq)] = identity
        self.last[self.device_id] = seq
        cur = self.accepted.get((bucket, rid))
        if cur is None or (revision, self.device_id) > cur:
            self.accepted[(bucket, rid)] = (revision, self.device_id)
            if collection in self.collections:  # always true after the declaration above
                self.records[(collection, rid)] = (revision, self.device_id, value)
        return None, []

    # -- sync [SYNC-7], [SYNC-8], 11.9 --------------------------------------------
    def _take_chain(self, served):
        """[CHAIN-10] update of the verified chain, new UMKs opened ([CHAIN-16]); raises SpecError."""
        new_chain = port.chain_update(self.chain, served)
        new_umks = dict(self.umks)
        self._open_wraps(new_chain, range(len(self.chain.statements), len(new_chain.statements)),
                         new_umks)
        return new_chain, new_umks

    def _split_alerts(self, new_chain) -> list[str]:
        """[SYNC-14] second paragraph: a revocation first held exposes a split at (R, max_seq)."""
        out = []
        for did in sorted(new_chain.revoked):
            if did in self.chain.revoked:
                continue
            r = new_chain.revoked[did]
            if r["max_seq"] > 0:
                rem = self.identities.get((did, r["max_seq"]))
                if rem is not None and rem != r["last_envelope"]:
                    out.append("E_SYNC_EQUIVOCATION")
        return out

    def _revoke_positions(self) -> set[int]:
        return {i for i, st in enumerate(self.chain.statements) if st["kind"] == port.REVOKE}

    def _cites_unknown_head(self, items) -> bool:
        """[SYNC-11]: does a listed item's header cite a head the verified chain lacks?
        NOTES R2-2: items skipped as already refused ([SYNC-15]) and items that do not decode
        do not count."""
        heads = self.head_positions()
        for _, kind, raw in items:
            if sha256(raw) in self.refused:
                continue
            try:
                it = decode_item(kind, raw)
            except SpecError:
                continue
            if it["hd"]["chain_head"] not in heads:
                return True
        return False

    # -- sync [SYNC-7], [SYNC-8], [SYNC-11], 11.9 ------------------------------------
    def op_sync(self):
        if self.token is None:
            raise OpEnd("E_CLIENT_NOT_LOGGED_IN")
        raw = yield request(7, self.token)
        served = self.expect(raw, R_CHAIN, "GetChain").statements
        try:
            new_chain, new_umks = self._take_chain(served)
        except SpecError as e:
            return None, [e.code]  # the refused chain: nothing more is sent
        alerts = self._split_alerts(new_chain)  # [SYNC-14]: taken, then Equivocation (NOTES R2-4)
        # [SYNC-7]: the chain stays adopted whatever happens later in the sync
        self.chain, self.umks = new_chain, new_umks
        if alerts:
            # [SYNC-14]: "the sync ends with these alerts, at that GetChain: taken by the first
            # GetChain, the device sends no ListSince" (NOTES R3-1)
            return None, sorted(set(alerts))
        held_before_listing = self._revoke_positions()  # [SYNC-17]

        # listing [SYNC-7], [CONF-6]: until an empty page; every non-empty page must be strictly
        # ascending above the cursor it was asked from, else E_SYNC_ORDER and the sync ends
        items = []
        cursor = self.cursor
        while True:
            raw = yield request(10, self.token, u64(cursor), u32(LIST_LIMIT))
            page = self.expect(raw, R_ITEMS, "ListSince").items
            if not page:
                break
            last = cursor
            for seq, _, _ in page:
                if seq <= last:
                    return None, sorted(set(alerts + ["E_SYNC_ORDER"]))
                last = seq
            items += page
            cursor = page[-1][0]
        end_seq = cursor

        # [SYNC-11]: a second GetChain (at most one) when a listed item cites a head the chain lacks
        if self._cites_unknown_head(items):
            raw = yield request(7, self.token)
            served = self.expect(raw, R_CHAIN, "GetChain").statements
            try:
                new_chain, new_umks = self._take_chain(served)
            except SpecError as e:
                return None, sorted(set(alerts + [e.code]))  # nothing listed is applied
            alerts += self._split_alerts(new_chain)
            revoked_before = set(self.chain.revoked)
            self.chain, self.umks = new_chain, new_umks
            if set(new_chain.revoked) - revoked_before:
                # a revocation the first chain did not hold: the listing is not judged; nothing
                # listed is applied, neither the cursor nor a boundary moves (NOTES R2-4: a split
                # alert of that revocation is still reported)
                return None, sorted(set(alerts))

        alerts += self.process(items)
        if not alerts:
            self.cursor = end_seq  # [SYNC-7]: the last listed item's server sequence number
            # [SYNC-17] boundaries: only revocations held before this sync listed
            for i in held_before_listing:
                if i not in self.boundaries:
                    self.boundaries[i] = self.cursor
        # [SYNC-6]: a sync that lists (and takes) the waiting write empties the outbox
        if self.outbox is not None:
            meta = self.outbox_meta
            if self.identities.get((self.device_id, meta[4])) == meta[6]:
                self.outbox, self.outbox_meta = None, None
        return None, sorted(set(alerts))

    def process(self, items):
        alerts: list[str] = []
        buckets = self.buckets()
        devices_bucket = {c: b for b, c in buckets.items()}[DEVICES_COLLECTION]
        bounds_before = dict(self.bounds)  # [SYNC-15]: alerted-once state as the sync found it
        heads = self.head_positions()
        epoch_at = self.epoch_at()
        writers = self.writers()
        greatest: dict[tuple[bytes, bytes], int] = {}
        verified = []  # dicts with seq (server), kind, hd, identity, payload, collection
        for sseq, kind, raw in items:
            h_raw = sha256(raw)
            try:
                it = decode_item(kind, raw)
            except SpecError as e:
                if h_raw not in self.refused:
                    alerts.append(e.code)
                continue
            hd = it["hd"]
            # [SRV-11] (NOTES R3-2): another device's metadata record, verified but never applied
            foreign_meta = hd["bucket"] == devices_bucket and hd["record_id"] != hd["writer"][:16]
            if h_raw in self.refused and not foreign_meta:
                continue  # [SYNC-15] alerted once, then skipped
            it["sseq"] = sseq
            try:
                # [SYNC-8] (was NOTES A9): a collection it reads is recognised by its bucket
                collection = buckets.get(hd["bucket"]) if not it["stub"] else None
                head_pos = heads.get(hd["chain_head"])  # [ENV-2], [CHAIN-3] (was NOTES A2): lookup by hash
                if head_pos is None:
                    # [SYNC-11]: the signature checks without the two epoch checks, then Fork
                    self.check_signed(it, writers, None, any_epoch=True)
                    alerts.append("E_CHAIN_FORK")
                    continue
                head_epoch = epoch_at[head_pos]
                if collection is not None:
                    it["payload"] = self.open_env(it, collection, writers, head_epoch)
                    it["collection"] = collection
                else:
                    self.check_signed(it, writers, head_epoch)
                    it["collection"] = None
                # [SYNC-16]
                key = (hd["bucket"], hd["record_id"])
                g = greatest.get(key)
                if g is None:
                    acc = self.accepted.get(key)
                    g = acc[0] if acc else 0
                if hd["revision"] > min(g + MAX_REVISION_STEP, U64_MAX):
                    # [SRV-11] comes before the revision step: beyond it, forged every time
                    raise SpecError("E_ENV_CONTEXT" if foreign_meta else "E_SYNC_REVISION_STEP")
                greatest[key] = max(g, hd["revision"])
                if foreign_meta:
                    # [SRV-11]: never applied (as a collection it does not read), counted, and
                    # alerted once: remembered in client.refused ([PERSIST-4])
                    it["payload"], it["collection"] = None, None
                    if h_raw not in self.refused:
                        self.refused.add(h_raw)
                        alerts.append("E_ENV_CONTEXT")
                it["head_pos"] = head_pos
            except SpecError as e:
                alerts.append(e.code)
                if e.code == "E_ENV_WRITER_REVOKED":
                    # [SYNC-15], [PERSIST-4] client.refused: only raised (by check_signed) once the
                    # item's signature verified under the revoked writer's key
                    self.refused.add(h_raw)
                continue
            verified.append(it)

        # per writer
        by_writer: dict[bytes, list] = {}
        for it in verified:
            by_writer.setdefault(it["hd"]["writer"], []).append(it)

        # superseded: verified full envelopes per record listed now
        best_full: dict[tuple[bytes, bytes], tuple[int, bytes]] = {}
        for it in verified:
            if not it["stub"]:
                k = (it["hd"]["bucket"], it["hd"]["record_id"])
                v = (it["hd"]["revision"], it["hd"]["writer"])
                if k not in best_full or v > best_full[k]:
                    best_full[k] = v

        for w in sorted(by_writer):
            its = by_writer[w]
            _, max_seq = writers[w]
            revoked_info = self.chain.revoked.get(w)
            last = self.last.get(w, 0)
            # [SYNC-14] identities: two different in one listing, or differing from remembered
            stop_at = None
            by_seq: dict[int, dict] = {}
            for it in its:
                s = it["hd"]["writer_seq"]
                if s in by_seq and by_seq[s]["identity"] != it["identity"]:
                    stop_at = s if stop_at is None else min(stop_at, s)
                # [SYNC-21], [SYNC-14]: one identity listed twice counts once, as the envelope
                # if one of the two is (was NOTES B2)
                if s not in by_seq or (by_seq[s]["stub"] and not it["stub"]
                                       and by_seq[s]["identity"] == it["identity"]):
                    by_seq[s] = it
            for s, it in by_seq.items():
                rem = self.identities.get((w, s))
                if revoked_info is not None and s == revoked_info["max_seq"] and rem is None:
                    rem = revoked_info["last_envelope"]
                if rem is not None and rem != it["identity"]:
                    stop_at = s if stop_at is None else min(stop_at, s)
            # [SYNC-15] prev links
            for s in sorted(by_seq):
                it = by_seq[s]
                prev = it["hd"]["prev"]
                if s == 1:
                    bad = prev != bytes(32)
                else:
                    if s - 1 in by_seq:
                        p = by_seq[s - 1]["identity"]
                    else:
                        p = self.identities.get((w, s - 1))
                        if p is None and revoked_info is not None and s - 1 == revoked_info["max_seq"]:
                            p = revoked_info["last_envelope"]
                    bad = p is not None and p != prev
                if bad:
                    name = s - 1 if (s - 1 in by_seq and s - 1 > last) else s
                    stop_at = name if stop_at is None else min(stop_at, name)
            if stop_at is not None:
                alerts.append("E_SYNC_EQUIVOCATION")
            # [SYNC-15] a revoked writer's run up to its bound
            if revoked_info is not None and last < revoked_info["max_seq"]:
                if any(s > last for s in by_seq):
                    missing = [s for s in range(last + 1, revoked_info["max_seq"] + 1) if s not in by_seq]
                    if missing:
                        # [SYNC-15]: alerted once per revoked writer and accepted sequence number;
                        # the items are not taken either way
                        if bounds_before.get(w) != last:
                            alerts.append("E_SYNC_WITHHELD")
                            self.bounds[w] = last
                        continue
            # the sequence rule
            for s in sorted(by_seq):
                if stop_at is not None and s >= stop_at:
                    break
                it = by_seq[s]
                hd = it["hd"]
                key = (hd["bucket"], hd["record_id"])
                rw = (hd["revision"], hd["writer"])
                acc = self.accepted.get(key)
                if s <= last:
                    # [SYNC-10] (was NOTES A4): older than the accepted state is a rollback even when it is the
                    # very identity the device took at that number
                    if not it["stub"] and acc is not None and rw < acc:
                        alerts.append("E_SYNC_ROLLBACK")
                    continue
                if s != last + 1:
                    alerts.append("E_SYNC_WITHHELD")
                    break
                if it["stub"]:
                    sup = (acc is not None and acc > rw) or (key in best_full and best_full[key] > rw)
                    if not sup:
                        alerts.append("E_SYNC_WITHHELD")
                        break
                # [SYNC-17] stale head
                if revoked_info is None:
                    for at, boundary in self.boundaries.items():
                        # [SYNC-17] (was NOTES A1): position of a head = index of the statement with that hash
                        if it["sseq"] > boundary and it["head_pos"] < at:
                            alerts.append("E_SYNC_STALE_HEAD")
                            break
                last = s
                self.last[w] = s
                self.identities[(w, s)] = it["identity"]
                # 11.9 (was NOTES B4): only a full envelope raises the record's accepted (revision, writer);
                # a stub taken by the sequence rule does not
                if (acc is None or rw > acc) and not it["stub"]:
                    self.accepted[key] = rw
                    if not it["stub"] and it["collection"] is not None:
                        self.records[(it["collection"], hd["record_id"])] = (hd["revision"], hd["writer"],
                                                                             it["payload"])
        # [SYNC-15] after listing to the end: revoked writers below their bound
        # (once per revoked writer and accepted sequence number, [PERSIST-4] client.bounds)
        for did, r in sorted(self.chain.revoked.items()):
            acc_seq = self.last.get(did, 0)
            if acc_seq < r["max_seq"] and bounds_before.get(did) != acc_seq:
                alerts.append("E_SYNC_WITHHELD")
                self.bounds[did] = acc_seq
        return alerts

    def check_signed(self, it, writers, head_epoch, any_epoch=False):
        """Steps 2-4 of [ENV-12] ([ENV-15]); returns nothing."""
        hd = it["hd"]
        if not any_epoch and hd["epoch"] > self.chain.epoch:
            raise SpecError("E_ENV_EPOCH")  # [ENV-10] (was NOTES A8): epochs the chain has started
        if hd["writer"] not in writers:
            raise SpecError("E_ENV_SIGNER_UNKNOWN")
        pk, max_seq = writers[hd["writer"]]
        if max_seq is not None and hd["writer_seq"] > max_seq:
            # [SYNC-15]: before it is remembered, the item's signature is checked under the revoked
            # writer's key (bound ignored; NOTES R2-5: key and signature only); one that does not
            # verify is forged with that check's code, and never remembered
            self.verify_sig(it, pk)
            raise SpecError("E_ENV_WRITER_REVOKED")
        if head_epoch is not None and head_epoch > hd["epoch"]:
            raise SpecError("E_ENV_STALE_EPOCH")
        self.verify_sig(it, pk)

    def verify_sig(self, it, pk):
        """Step 4 of [ENV-12]."""
        if not port.ed25519_key_valid(pk):
            raise SpecError("E_ENV_SIGNER_KEY")
        msg = enc("blindsync/v1/sig/record", fixed(self.account), fixed(it["header"]), fixed(it["bd"]))
        if not port.ed25519_verify_strict(pk, sha256(msg), it["sig"]):
            raise SpecError("E_ENV_SIGNATURE")

    def open_env(self, it, collection, writers, head_epoch) -> bytes:
        hd = it["hd"]
        if hd["epoch"] not in self.umks:
            raise SpecError("E_ENV_EPOCH")
        self.check_signed(it, writers, head_epoch, any_epoch=True)
        ck = self.collection_key(hd["epoch"], collection)
        _, _, _, key, com = port.env_keys(ck, hd["salt"], hd["suite"])
        if not hmac.compare_digest(com, hd["commitment"]):
            raise SpecError("E_ENV_COMMITMENT")
        aad = enc("blindsync/v1/aad/record", fixed(self.account), fixed(it["header"]))
        body = it["body"]
        try:
            padded = port.env_aead(hd["suite"], key).decrypt(body[:12], body[12:], aad)
        except InvalidTag:
            raise SpecError("E_ENV_DECRYPT")
        payload = port.env_unpad(padded)
        port.env_check_schema(hd["schema"], payload)
        return payload


# ---------------------------------------------------------------------------
# harness protocol [CONF-3]
# ---------------------------------------------------------------------------
def send(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def recv():
    line = sys.stdin.readline()
    if not line:
        sys.exit(0)
    return json.loads(line)


def main():
    dev = None
    while True:
        msg = recv()
        t = msg.get("type")
        if t == "start":
            try:
                dev = Device(msg["device"])
            except Exception as e:  # noqa: BLE001
                send({"type": "error", "message": f"cannot build device: {e!r}"})
                return 1
            send({"type": "ready"})
        elif t == "op":
            step, op = msg["step"], msg["op"]
            if op == "login":
                gen = dev.op_login()
            elif op == "sync":
                gen = dev.op_sync()
            elif op == "write":
                gen = dev.op_write(msg["write"])
            else:
                send({"type": "error", "message": f"unknown op {op}"})
                return 1
            error, alerts = None, []
            try:
                req = next(gen)
                while True:
                    send({"type": "request", "hex": req.hex()})
                    r = recv()
                    if r.get("type") != "response":
                        send({"type": "error", "message": f"expected response, got {r.get('type')}"})
                        return 1
                    req = gen.send(bytes.fromhex(r["hex"]))
            except StopIteration as s:
                error, alerts = s.value
            except OpEnd as e:
                error, alerts = e.code, []
            send({"type": "result", "step": step, "error": error, "alerts": alerts,
                  "state_digest": dev.digest()})
        elif t == "bye":
            return 0
        else:
            send({"type": "error", "message": f"unexpected message {t}"})
            return 1


if __name__ == "__main__":
    sys.exit(main())
