//! The world the review-17 tests share (audit round 3 and its re-attacks): an in-process
//! reference server, a durable device A that registered the account and a volatile device B it
//! paired, both reading "notes", B having written three notes and both synced.
//!
//! Each integration test crate that uses it takes only some of its items.
#![allow(dead_code)]

use blindsync::client::{Client, Joining, Persistent, Registration, Transport, Volatile, run};
use blindsync::device::{DeviceId, DeviceKeys};
use blindsync::envelope::{Header, RecordId, Stub, header::Suite};
use blindsync::keys::Bucket;
use blindsync::primitives::SeededRng;
use blindsync::server::wire::{Item, ItemKind, Request, Response};
use blindsync::server::{MemoryStorage, Server, ServerConfig};
use blindsync::store::{KvStore, MemoryStore};
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;

pub type Device = Client<Persistent<MemoryStore>>;

pub struct Net {
    pub server: Server<MemoryStorage>,
    pub srng: SeededRng,
    pub now: u64,
}

impl Transport for Net {
    fn call(&mut self, r: Request) -> Response {
        self.now += 1_000;
        let bytes = self.server.handle_bytes(&r.encode(), self.now, &mut self.srng);
        Response::decode(&bytes).unwrap_or_else(Response::Error)
    }
}

pub struct World {
    pub net: Net,
    pub rng: SeededRng,
    pub a: Device,
    pub b: Client,
}

pub fn rid(n: u8) -> RecordId {
    RecordId([n; 16])
}

pub fn world(label: &str) -> World {
    let mut rng = SeededRng::from_label(label);
    let mut net = Net {
        server: Server::new(MemoryStorage::default(), ServerConfig::new([9; 32])),
        srng: SeededRng::from_label(&format!("{label}/server")),
        now: 1_000_000,
    };
    let dev = DeviceKeys::generate(&mut rng);
    let code = RecoveryCode::generate(&mut rng);
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut rng) };
    let pw = kdf.derive(b"review17 password").unwrap();
    let store = Persistent::new(MemoryStore::default()).unwrap();
    let mut reg = Registration::new(store, dev, b"r17@example.org", &code.derive(), &pw, &kdf, &mut rng).unwrap();
    let mut a = run(&mut reg, &mut net).unwrap();
    let new = DeviceKeys::generate(&mut rng);
    let mut join = Joining::new(Volatile, new.clone(), a.account(), a.id());
    let _ = run(&mut join, &mut net);
    let pending = a.list_pending(&mut net).unwrap();
    a.approve(&mut net, &pending[0], &mut rng).unwrap();
    assert!(join.retry());
    let mut b = run(&mut join, &mut net).unwrap();
    a.subscribe("notes").unwrap();
    b.subscribe("notes").unwrap();
    for n in 1..=3 {
        b.write(&mut net, "notes", rid(n), format!("note {n}").as_bytes(), &mut rng).unwrap();
    }
    assert!(a.sync(&mut net).unwrap().alerts.is_empty());
    assert!(b.sync(&mut net).unwrap().alerts.is_empty());
    World { net, rng, a, b }
}

/// A stub nobody signed: writer `writer`, sequence number `seq`, garbage signature.
pub fn unsigned_stub(writer: DeviceId, seq: u64, chain_head: [u8; 32]) -> Vec<u8> {
    let header = Header {
        version: 1,
        suite: Suite::Aes256Gcm,
        bucket: Bucket([1; 32]),
        record_id: RecordId([2; 16]),
        revision: 1,
        writer,
        writer_seq: seq,
        epoch: 0,
        schema: 1,
        padded_len: 256,
        chain_head,
        salt: [3; 32],
        commitment: [4; 32],
        prev: [0; 32],
    };
    Stub { header, body_digest: [5; 32], signature: [6; 64] }.encode()
}

/// The honest server plus `extra` items of `kind` listed after everything it holds (server
/// numbers from 10_000 up).
pub fn with_extra<'a>(net: &'a mut Net, extra: &'a [Vec<u8>], kind: ItemKind) -> impl Transport + 'a {
    move |r: Request| match r {
        Request::ListSince { token, cursor, limit } if cursor < 10_000 => {
            match net.call(Request::ListSince { token, cursor, limit }) {
                Response::Items { mut items } => {
                    for (i, b) in extra.iter().enumerate() {
                        items.push(Item { seq: 10_000 + i as u64, kind, bytes: b.clone() });
                    }
                    Response::Items { items }
                }
                other => other,
            }
        }
        Request::ListSince { .. } => Response::Items { items: vec![] },
        r => net.call(r),
    }
}

/// The entries of a durable device's `client.refused` table ([PERSIST-4]).
pub fn refused_entries(a: &Device) -> usize {
    a.persist().store().scan("client.refused").unwrap().len()
}
