//! Envelope throughput next to the raw AEAD and the raw AEAD plus SHA-256
//! on the same sizes in the same run (spec 7.16).
//!
//! Goal at 64 KiB and up: envelope throughput >= 80% of AEAD + SHA-256.
//! `cargo bench --bench envelope -- --quick`

use std::hint::black_box;

use blindsync::envelope::payload::Schema;
use blindsync::envelope::{
    self, AuthorizedWriter, DeviceId, EnvelopeKey, EpochAccess, OpenContext, RecordId, RecordMeta, Suite,
    aead_open_in_place, aead_seal_in_place,
};
use blindsync::keys::{AccountId, Bucket, CollectionKey};
use blindsync::primitives::{SeededRng, sha256};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};

const SIZES: [usize; 4] = [256, 4096, 65536, 1 << 20];

fn bench(c: &mut Criterion) {
    let account = AccountId([1; 32]);
    let ck = CollectionKey::from_bytes([2; 32]);
    let sk = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
    let writers =
        [AuthorizedWriter { device: DeviceId([6; 32]), verifying_key: sk.verifying_key().to_bytes(), max_seq: None }];
    let epochs = [EpochAccess { epoch: 0, collection_key: &ck, writers: &writers }];
    let ctx = OpenContext { account, epochs: &epochs, bucket: None, record_id: None, heads: &[] };
    let key = EnvelopeKey::from_bytes([9; 32]);
    let nonce = [0u8; 12];
    let aad = [0u8; 246];
    for suite in [Suite::Aes256Gcm, Suite::ChaCha20Poly1305] {
        let sname = if suite == Suite::Aes256Gcm { "aes256gcm" } else { "chacha20poly1305" };
        let meta = RecordMeta {
            suite,
            bucket: Bucket([4; 32]),
            record_id: RecordId([5; 16]),
            revision: 1,
            writer: DeviceId([6; 32]),
            writer_seq: 1,
            epoch: 0,
            schema: Schema::Raw,
            chain_head: [7; 32],
            prev: [0; 32],
        };
        let mut g = c.benchmark_group(sname);
        for n in SIZES {
            // The payload fills its bucket exactly, so every variant moves n bytes.
            let payload = vec![0x5au8; n - 4];
            g.throughput(Throughput::Bytes(n as u64));
            let mut rng = SeededRng::from_label("bench");
            g.bench_with_input(BenchmarkId::new("seal", n), &payload, |b, p| {
                b.iter(|| envelope::seal(&account, &meta, &ck, &sk, black_box(p), &mut rng))
            });
            let env = envelope::seal(&account, &meta, &ck, &sk, &payload, &mut rng).unwrap();
            g.bench_with_input(BenchmarkId::new("open", n), &env, |b, e| {
                b.iter(|| envelope::open(black_box(e), &ctx).map(|o| o.header.revision))
            });
            let mut buf = vec![0x5au8; n];
            g.bench_function(BenchmarkId::new("aead-seal", n), |b| {
                b.iter(|| aead_seal_in_place(suite, &key, &nonce, &aad, black_box(&mut buf)))
            });
            g.bench_function(BenchmarkId::new("aead+sha256-seal", n), |b| {
                b.iter(|| {
                    let t = aead_seal_in_place(suite, &key, &nonce, &aad, black_box(&mut buf));
                    (t, sha256(&[&buf]))
                })
            });
            let mut ct = vec![0x5au8; n];
            let tag = aead_seal_in_place(suite, &key, &nonce, &aad, &mut ct).unwrap();
            // Open baselines copy the ciphertext once, as open does.
            g.bench_function(BenchmarkId::new("aead-open", n), |b| {
                b.iter(|| {
                    let mut b2 = black_box(&ct).clone();
                    aead_open_in_place(suite, &key, &nonce, &aad, &mut b2, &tag).map(|()| b2.len())
                })
            });
            g.bench_function(BenchmarkId::new("aead+sha256-open", n), |b| {
                b.iter(|| {
                    let d = sha256(&[black_box(&ct)]);
                    let mut b2 = ct.clone();
                    aead_open_in_place(suite, &key, &nonce, &aad, &mut b2, &tag).map(|()| (b2.len(), d))
                })
            });
        }
        g.finish();
    }
}

/// Interleaved A/B measurement of envelope against AEAD + SHA-256: each round
/// times a batch of one, then a batch of the other, and the median of the
/// per-round ratios is reported. This cancels the slow drifts of a shared
/// machine that separate criterion groups pick up.
fn ratio_report() {
    use std::time::Instant;
    let account = AccountId([1; 32]);
    let ck = CollectionKey::from_bytes([2; 32]);
    let sk = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
    let writers =
        [AuthorizedWriter { device: DeviceId([6; 32]), verifying_key: sk.verifying_key().to_bytes(), max_seq: None }];
    let epochs = [EpochAccess { epoch: 0, collection_key: &ck, writers: &writers }];
    let ctx = OpenContext { account, epochs: &epochs, bucket: None, record_id: None, heads: &[] };
    let key = EnvelopeKey::from_bytes([9; 32]);
    let (nonce, aad) = ([0u8; 12], [0u8; 246]);
    let time = |iters: usize, f: &mut dyn FnMut()| {
        let t = Instant::now();
        for _ in 0..iters {
            f();
        }
        t.elapsed().as_secs_f64() / iters as f64
    };
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!("\nenvelope throughput / (AEAD + SHA-256) throughput, interleaved, median of rounds");
    println!(
        "{:<18} {:>8} {:>6} {:>12} {:>12} {:>8} {:>10}",
        "suite", "size", "op", "env MiB/s", "base MiB/s", "ratio", "vs AEAD"
    );
    for suite in [Suite::Aes256Gcm, Suite::ChaCha20Poly1305] {
        let meta = RecordMeta {
            suite,
            bucket: Bucket([4; 32]),
            record_id: RecordId([5; 16]),
            revision: 1,
            writer: DeviceId([6; 32]),
            writer_seq: 1,
            epoch: 0,
            schema: Schema::Raw,
            chain_head: [7; 32],
            prev: [0; 32],
        };
        for n in SIZES {
            let (iters, rounds) = if n >= 1 << 20 {
                (3, 11)
            } else if n >= 65536 {
                (20, 15)
            } else {
                (200, 15)
            };
            let payload = vec![0x5au8; n - 4];
            let mut rng = SeededRng::from_label("ratio");
            let env = envelope::seal(&account, &meta, &ck, &sk, &payload, &mut rng).unwrap();
            let mut buf = vec![0x5au8; n];
            let mut ct = vec![0x5au8; n];
            let tag = aead_seal_in_place(suite, &key, &nonce, &aad, &mut ct).unwrap();
            for op in ["seal", "open"] {
                let (mut ratios, mut envs, mut bases, mut raws) = (vec![], vec![], vec![], vec![]);
                for _ in 0..rounds {
                    let (te, tb, ta) = if op == "seal" {
                        (
                            time(iters, &mut || {
                                black_box(
                                    envelope::seal(&account, &meta, &ck, &sk, black_box(&payload), &mut rng).ok(),
                                );
                            }),
                            time(iters, &mut || {
                                let t = aead_seal_in_place(suite, &key, &nonce, &aad, black_box(&mut buf));
                                black_box((t.ok(), sha256(&[&buf])));
                            }),
                            time(iters, &mut || {
                                black_box(aead_seal_in_place(suite, &key, &nonce, &aad, black_box(&mut buf)).ok());
                            }),
                        )
                    } else {
                        (
                            time(iters, &mut || {
                                black_box(envelope::open(black_box(&env), &ctx).ok().map(|o| o.header.revision));
                            }),
                            time(iters, &mut || {
                                let d = sha256(&[black_box(&ct)]);
                                let mut b2 = ct.clone();
                                black_box((aead_open_in_place(suite, &key, &nonce, &aad, &mut b2, &tag).ok(), d));
                            }),
                            time(iters, &mut || {
                                let mut b2 = black_box(&ct).clone();
                                black_box(aead_open_in_place(suite, &key, &nonce, &aad, &mut b2, &tag).ok());
                            }),
                        )
                    };
                    ratios.push(tb / te);
                    envs.push(te);
                    bases.push(tb);
                    raws.push(ta / te);
                }
                let mib = |t: f64| n as f64 / t / (1024.0 * 1024.0);
                println!(
                    "{:<18} {:>8} {:>6} {:>12.1} {:>12.1} {:>7.0}% {:>9.0}%",
                    format!("{suite:?}"),
                    n,
                    op,
                    mib(median(envs)),
                    mib(median(bases)),
                    100.0 * median(ratios),
                    100.0 * median(raws)
                );
            }
        }
    }
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    ratio_report();
}
