#![allow(dead_code)]
//! Regression tests for the attacks of the second review of issue 13 (they were demonstrated
//! against an earlier main; here each must fail): a stale write relabelled below the stale-head
//! boundary ([SYNC-7], [SYNC-17]) and a revoked writer's re-signed item served with its tail
//! withheld ([SYNC-15]).

use std::collections::BTreeMap;

use blindsync::chain::{PendingDevice, accept_pairing, approve_device, create_account, revoke_and_rotate};
use blindsync::client::{Alert, Client, Transport};
use blindsync::device::{DeviceKeys, DevicePublic};
use blindsync::envelope::{EnvelopeRef, RecordId};
use blindsync::error::Error;
use blindsync::keys::Umk;
use blindsync::primitives::SeededRng;
use blindsync::server::wire::{Item, Request, Response};
use blindsync::server::{MemoryStorage, Server, ServerConfig};
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;

const EMAIL: &[u8] = b"alice@example.org";

struct World {
    server: Server<MemoryStorage>,
    srng: SeededRng,
    now: u64,
}

impl Transport for World {
    fn call(&mut self, r: Request) -> Response {
        self.now += 1;
        // every request also goes through the byte encoding
        let bytes = self.server.handle_bytes(&r.encode(), self.now, &mut self.srng);
        Response::decode(&bytes).unwrap()
    }
}

struct Setup {
    w: World,
    rng: SeededRng,
    a: Client,
    code: RecoveryCode,
    kdf: PasswordKdf,
    password: &'static [u8],
}

fn setup() -> Setup {
    let mut rng = SeededRng::from_label("sync-e2e");
    let dev = DeviceKeys::generate(&mut rng);
    let code = RecoveryCode::generate(&mut rng);
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut rng) };
    let password: &'static [u8] = b"correct horse battery staple";
    let pw = kdf.derive(password).unwrap();
    let acct = create_account(&dev, &code.derive(), &pw, &kdf, &mut rng).unwrap();
    let mut w = World {
        server: Server::new(MemoryStorage::default(), ServerConfig::new([7; 32])),
        srng: SeededRng::from_label("sync-e2e/server"),
        now: 1_000,
    };
    let r = w.call(Request::Register {
        email: EMAIL.to_vec(),
        kdf: kdf.encode(),
        auth: *pw.auth.expose(),
        genesis: acct.genesis.clone(),
        recovery_wrap: acct.recovery_wrap.to_vec(),
        password_wrap: acct.password_wrap.to_vec(),
    });
    assert_eq!(r, Response::Ok);
    let mut a = Client::new(dev, acct.state.clone(), acct.umks());
    a.login(&mut w).unwrap();
    Setup { w, rng, a, code, kdf, password }
}

/// Pairing through the server: the new device posts its keys, the approver
/// approves, stores the bundle, the new device fetches it and the chain.
fn pair(s: &mut Setup, approver: &mut Client) -> Client {
    let new = DeviceKeys::generate(&mut s.rng);
    let account = approver.account();
    let p = new.pending(&account);
    assert_eq!(
        s.w.call(Request::PostPending {
            account: account.0,
            ed25519: p.public.ed25519,
            x25519: p.public.x25519,
            pop: p.pop
        }),
        Response::Ok
    );
    approver.sync(&mut s.w).unwrap();
    let Response::Pending { devices } = s.w.call(Request::ListPending { token: approver.token().unwrap() }) else {
        panic!()
    };
    let (ed, x, pop) = devices[0];
    let pending = PendingDevice { public: DevicePublic { ed25519: ed, x25519: x }, pop };
    let approval = approve_device(approver.chain(), approver.device(), &pending, approver.umks(), &mut s.rng).unwrap();
    approver.append_chain(&mut s.w, vec![approval.statement.clone()]).unwrap();
    let r = s.w.call(Request::PutBundle {
        token: approver.token().unwrap(),
        device: new.id().0,
        bundle: approval.bundle_wrap.clone(),
    });
    assert_eq!(r, Response::Ok);
    let Response::Bundle { bundle } = s.w.call(Request::GetBundle { account: account.0, device: new.id().0 }) else {
        panic!()
    };
    // the new device logs in with its key, then fetches the chain
    let mut c = Client::new(new.clone(), approver.chain().clone(), BTreeMap::new());
    c.login(&mut s.w).unwrap();
    let Response::Chain { statements } = s.w.call(Request::GetChain { token: c.token().unwrap() }) else { panic!() };
    let (state, umks) = accept_pairing(&new, &account, &approver.id(), &bundle, &statements).unwrap();
    let token = c.token();
    let mut c = Client::new(new, state, umks);
    c.login(&mut s.w).unwrap();
    assert_ne!(token, None);
    c
}

fn rid(n: u8) -> RecordId {
    RecordId([n; 16])
}

/// A misbehaving server: the honest one, with a hook that rewrites responses.
struct Evil<'a, F: FnMut(&Request, Response) -> Response> {
    w: &'a mut World,
    f: F,
}

impl<F: FnMut(&Request, Response) -> Response> Transport for Evil<'_, F> {
    fn call(&mut self, r: Request) -> Response {
        let resp = self.w.call(r.clone());
        (self.f)(&r, resp)
    }
}

fn two_devices() -> (Setup, Client, Client) {
    let mut s = setup();
    let mut a = s.a.clone();
    let mut b = pair(&mut s, &mut a);
    a.subscribe("notes").unwrap();
    b.subscribe("notes").unwrap();
    a.sync(&mut s.w).unwrap();
    b.sync(&mut s.w).unwrap();
    (s, a, b)
}

fn drop_items(keep: impl Fn(&Item) -> bool) -> impl FnMut(&Request, Response) -> Response {
    move |_, r| match r {
        Response::Items { items } => Response::Items { items: items.into_iter().filter(|i| keep(i)).collect() },
        r => r,
    }
}

/// A device's own key and epoch-0 keys, as a compromised device holds them:
/// seals an envelope of `writer` with any header fields.
fn seal_as(
    c: &Client,
    meta: blindsync::envelope::RecordMeta,
    value: &[u8],
    epoch_umk: &Umk,
    rng: &mut SeededRng,
) -> Vec<u8> {
    let ck = blindsync::keys::EpochKeys::derive(epoch_umk, &c.account(), meta.epoch).collection_key("notes").unwrap();
    let sk = ed25519_dalek::SigningKey::from_bytes(c.device().signing_seed().expose());
    blindsync::envelope::seal(&c.account(), &meta, &ck, &sk, value, rng).unwrap()
}

fn meta_of(h: &blindsync::envelope::Header) -> blindsync::envelope::RecordMeta {
    blindsync::envelope::RecordMeta {
        suite: h.suite,
        bucket: h.bucket,
        record_id: h.record_id,
        revision: h.revision,
        writer: h.writer,
        writer_seq: h.writer_seq,
        epoch: h.epoch,
        schema: blindsync::envelope::payload::Schema::Raw,
        chain_head: h.chain_head,
        prev: h.prev,
    }
}

fn identity_of(bytes: &[u8]) -> [u8; 32] {
    let e = blindsync::envelope::EnvelopeRef::decode(bytes).unwrap();
    blindsync::primitives::sha256(&[&e.header.encode(), &e.stub().body_digest])
}

fn header(bytes: &[u8]) -> blindsync::envelope::Header {
    blindsync::envelope::EnvelopeRef::decode(bytes).unwrap().header
}

// [SYNC-7] [SYNC-17] the server relabels a frozen device's stale write with a sequence number at
// or below the boundary and ends the page with a replay under the real next number: the page is
// out of order and refused whole (E_SYNC_ORDER); the cursor does not move; an honest listing then
// raises the stale-head alert.
#[test]
fn relabelled_stale_write_is_refused() {
    let (mut s, mut a, mut b) = two_devices();
    let mut r = pair(&mut s, &mut a);
    r.subscribe("notes").unwrap();
    b.sync(&mut s.w).unwrap();
    b.write(&mut s.w, "notes", rid(5), b"before", &mut s.rng).unwrap();
    assert!(a.sync(&mut s.w).unwrap().alerts.is_empty());
    let rot = revoke_and_rotate(a.chain(), a.device(), &r.id(), 0, [0; 32], &mut s.rng).unwrap();
    a.append_chain(&mut s.w, rot.statements.clone()).unwrap();
    a.add_umk(rot.state.epoch(), rot.umk.clone());
    assert!(a.sync(&mut s.w).unwrap().alerts.is_empty()); // boundary set
    let boundary = a.cursor();
    // b is frozen before the revocation and writes in epoch 0 at the old head
    b.write(&mut s.w, "notes", rid(6), b"sealed in epoch 0", &mut s.rng).unwrap();
    let items = s.w.server.store_items(&a.account());
    let stale = items.last().unwrap().clone();
    assert_eq!(header(&stale.bytes).epoch, 0);
    // control: the honest listing alerts
    let mut c = a.clone();
    assert_eq!(c.sync(&mut s.w).unwrap().alerts.len(), 1);
    // the malicious listing: the stale write under seq 1, then a replay of b's first write under
    // the real next number so that the page advances the cursor
    let replay = items.iter().find(|i| header(&i.bytes).record_id == rid(5)).unwrap().clone();
    let real = stale.seq;
    let evil = move |req: &Request, resp: Response| match (req, resp) {
        (Request::ListSince { cursor, .. }, Response::Items { .. }) if *cursor < real => {
            Response::Items { items: vec![Item { seq: 1, ..stale.clone() }, Item { seq: real, ..replay.clone() }] }
        }
        (_, r) => r,
    };
    let before = a.cursor();
    let rep = a.sync(&mut Evil { w: &mut s.w, f: evil }).unwrap();
    assert_eq!(rep.alerts, vec![Alert::Chain(Error::SyncOrder)]);
    assert_eq!(a.get("notes", &rid(6)), None);
    assert_eq!(a.cursor(), before);
    assert_eq!(before, boundary);
    // the honest listing afterwards still raises the stale-head alert
    let rep = a.sync(&mut s.w).unwrap();
    assert_eq!(rep.alerts.len(), 1, "{:?}", rep.alerts);
    assert_eq!(rep.alerts[0].error(), Error::SyncStaleHead);
}

// [SYNC-15] [CHAIN-20] a server colluding with the revoked R serves a new device R's re-signed
// item at seq 1 and withholds 2..=max_seq, so that no later item exposes the break: a revoked
// writer's items are taken only all the way to its bound, so this is E_SYNC_WITHHELD and nothing
// of R is taken; the honest listing then gives the new device R's original values.
#[test]
fn revoked_writer_tail_withheld_is_refused() {
    let (mut s, mut a, mut b) = two_devices();
    let mut r = pair(&mut s, &mut a);
    r.subscribe("notes").unwrap();
    r.sync(&mut s.w).unwrap();
    for n in 1..=3 {
        r.write(&mut s.w, "notes", rid(n), b"original", &mut s.rng).unwrap();
    }
    assert!(a.sync(&mut s.w).unwrap().alerts.is_empty());
    assert!(b.sync(&mut s.w).unwrap().alerts.is_empty());
    let last = a.envelope_identity(&r.id(), 3).unwrap();
    let rot = revoke_and_rotate(a.chain(), a.device(), &r.id(), 3, last, &mut s.rng).unwrap();
    a.append_chain(&mut s.w, rot.statements.clone()).unwrap();
    a.add_umk(rot.state.epoch(), rot.umk.clone());
    // a new device joins after the revocation
    let mut n = pair(&mut s, &mut a);
    n.subscribe("notes").unwrap();
    // R (revoked, still holding its key and epoch 0) re-signs its first write
    let items = s.w.server.store_items(&a.account());
    let r1 = items.iter().find(|i| header(&i.bytes).writer == r.id() && header(&i.bytes).writer_seq == 1).unwrap();
    let forged = seal_as(&r, meta_of(&header(&r1.bytes)), b"forged by the revoked device", &r.umks()[&0], &mut s.rng);
    let served: Vec<Item> =
        items
            .iter()
            .filter(|i| {
                EnvelopeRef::decode(&i.bytes).map_or(true, |e| e.header.writer != r.id() || e.header.writer_seq == 1)
            })
            .map(|i| {
                if header(&i.bytes).writer == r.id() { Item { bytes: forged.clone(), ..i.clone() } } else { i.clone() }
            })
            .collect();
    let evil = move |req: &Request, resp: Response| match (req, resp) {
        (Request::ListSince { cursor: 0, .. }, Response::Items { .. }) => Response::Items { items: served.clone() },
        (Request::ListSince { .. }, Response::Items { .. }) => Response::Items { items: vec![] },
        (_, r) => r,
    };
    let rep = n.sync(&mut Evil { w: &mut s.w, f: evil }).unwrap();
    assert_eq!(rep.alerts, vec![Alert::Withheld { writer: r.id(), missing_seq: 2 }]);
    assert_eq!(n.get("notes", &rid(1)), None);
    assert_eq!(n.cursor(), 0);
    assert!(n.sync(&mut s.w).unwrap().alerts.is_empty());
    assert_eq!(n.get("notes", &rid(1)), Some(&b"original"[..]));
    assert_eq!(b.get("notes", &rid(1)), Some(&b"original"[..]));
}
