//! The cost of persistence (spec 11.8, [PERSIST-1]): one durable commit of the on-disk store
//! next to the same commit in memory, and one server write request (device metadata) over `MemoryStorage`,
//! `KvStorage<MemoryStore>` (the encoding and diff alone) and `KvStorage<DiskStore>` (plus
//! the two-phase fsync'd commit), in the same run. Read requests commit nothing.
//!
//! `cargo bench --bench store -- --quick` (the disk figures are the machine's fsync).

use std::hint::black_box;

use blindsync::primitives::SeededRng;
use blindsync::server::wire::{Request, Response, Token};
use blindsync::server::{KvStorage, MemoryStorage, Server, ServerConfig, Storage};
use blindsync::store::{DiskStore, KvStore, MemoryStore, WriteBatch};
use criterion::{Criterion, criterion_group, criterion_main};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).filter_map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect()
}

/// A server that registered, logged a device in and stored a batch (the first four steps of
/// the "batch, one event, fetch" vector script), with the token and batch id.
fn server<S: Storage>(storage: S) -> (Server<S>, SeededRng, Token, [u8; 32]) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/sync.json");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let v = json["vectors"].as_array().unwrap().iter().find(|v| v["description"] == "batch, one event, fetch").unwrap();
    let steps: Vec<(u64, Vec<u8>)> = v["input"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["now_ms"].as_u64().unwrap(), unhex(s["request"].as_str().unwrap())))
        .collect();
    let mut server = Server::new(
        storage,
        ServerConfig::new(unhex(v["input"]["decoy_secret"].as_str().unwrap()).try_into().unwrap()),
    );
    let mut rng = SeededRng::from_label(v["input"]["rng_label"].as_str().unwrap());
    let mut token = None;
    for (now, r) in &steps[..4] {
        if let Ok(Response::Token { token: t, .. }) = Response::decode(&server.handle_bytes(r, *now, &mut rng)) {
            token = Some(t);
        }
    }
    let Ok(Request::PutBatch { batch_id, .. }) = Request::decode(&steps[3].1) else { panic!("step 4 is PutBatch") };
    (server, rng, token.unwrap(), batch_id)
}

fn requests<S: Storage>(c: &mut Criterion, name: &str, storage: S) {
    let (mut server, mut rng, token, batch_id) = server(storage);
    let mut g = c.benchmark_group("server-request");
    g.sample_size(20);
    let mut i = 0u8;
    // a write that changes one row and leaves no audit entry (the state does not grow)
    g.bench_function(format!("{name}/put-device-meta"), |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            let r = server.handle(Request::PutDeviceMeta { token, meta: vec![i; 64] }, 20, &mut rng);
            assert_eq!(r, Response::Ok);
        })
    });
    g.bench_function(format!("{name}/get-batch"), |b| {
        b.iter(|| black_box(server.handle(Request::GetBatch { token, batch_id }, 20, &mut rng)))
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("blindsync-bench-store-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    let mut g = c.benchmark_group("store-commit");
    g.sample_size(20);
    let mut memory = MemoryStore::default();
    let mut disk = DiskStore::create(dir.join("commit.redb")).unwrap();
    let mut k = 0u64;
    for (name, store) in [("memory", &mut memory as &mut dyn KvStore), ("disk", &mut disk as &mut dyn KvStore)] {
        g.bench_function(format!("{name}/one-row"), |b| {
            b.iter(|| {
                k += 1;
                let mut batch = WriteBatch::default();
                batch.put("t", &k.to_be_bytes(), &[7; 256]);
                store.commit(batch).unwrap();
            })
        });
    }
    g.finish();

    requests(c, "memory-storage", MemoryStorage::default());
    requests(c, "kv-memory", KvStorage::open(MemoryStore::default()).unwrap());
    requests(c, "kv-disk", KvStorage::open(DiskStore::create(dir.join("server.redb")).unwrap()).unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
