//! Stream seal and open throughput on one and two threads, next to the raw
//! AEAD over the same bytes in the same run (spec 9.9; since [STR-6] lists
//! chunk tags, the stream hashes nothing per byte).
//!
//! `cargo bench --bench stream -- --quick`

use std::hint::black_box;

use blindsync::envelope::{EnvelopeKey, Suite, aead_seal_in_place};
use blindsync::keys::AccountId;
use blindsync::stream::{self, CHUNK_LEN, StreamKeySource, StreamOpenContext, StreamParams};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const SIZES: [usize; 3] = [1 << 20, 8 << 20, 64 << 20];

fn bench(c: &mut Criterion) {
    let params =
        StreamParams { account: AccountId([1; 32]), suite: Suite::Aes256Gcm, stream_id: [2; 16], context: [3; 32] };
    let source = StreamKeySource::from_bytes([4; 32]);
    let sk = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
    let ctx = StreamOpenContext { params, verifying_key: sk.verifying_key().to_bytes() };
    let key = EnvelopeKey::from_bytes([9; 32]);
    let mut g = c.benchmark_group("stream-aes256gcm");
    g.sample_size(10);
    for n in SIZES {
        let pt = vec![0x5au8; n];
        g.throughput(Throughput::Bytes(n as u64));
        for threads in [1, 2] {
            g.bench_with_input(BenchmarkId::new(format!("seal-{threads}t"), n), &pt, |b, p| {
                b.iter(|| stream::seal_parallel(&params, &source, &sk, &[7; 32], black_box(p), threads))
            });
        }
        let (m, body) = stream::seal_parallel(&params, &source, &sk, &[7; 32], &pt, 2).unwrap();
        g.bench_with_input(BenchmarkId::new("open", n), &body, |b, body| {
            b.iter(|| stream::open(&m, black_box(body), &ctx, &source).map(|p| p.len()))
        });
        let mut buf = pt.clone();
        g.bench_function(BenchmarkId::new("aead", n), |b| {
            b.iter(|| {
                for chunk in buf.chunks_mut(CHUNK_LEN) {
                    let t = aead_seal_in_place(Suite::Aes256Gcm, &key, &[0; 12], &[0; 96], black_box(chunk));
                    let _ = black_box(t);
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
