//! The seed-000 figure: how many monitor-days (0.8 GB of screenshots a day,
//! uploaded as 288 five-minute batches, each with 4 key slots: the owner's
//! device and three partners) one core seals and opens per second
//! (spec 9.11, 10.4; README performance section).
//!
//! One realistic batch (0.8e9 / 288 ≈ 2.78 MB: 30 screenshots and 30 log
//! lines) is sealed and opened with criterion, in both suites, next to the raw
//! AEAD over the same bytes in 64 KiB chunks in the same run; then a plain
//! loop prints monitor-days per core-second for each, from the thread's CPU
//! time (`/proc/self/stat`, so other processes on a shared machine do
//! not count) and from wall time.
//!
//! `cargo bench --bench monitor_day`

use std::hint::black_box;
use std::time::Instant;

use blindsync::batch::hchain::{self, ServerRecord};
use blindsync::batch::sealed::{self, BatchInput, BatchLink, ListPolicy, SealedBatch, Window};
use blindsync::batch::{BatchId, Event, EventKind};
use blindsync::device::{ChainHead, DeviceKeys};
use blindsync::envelope::{EnvelopeKey, Suite, aead_seal_in_place};
use blindsync::hpke::HpkeSecretKey;
use blindsync::keys::AccountId;
use blindsync::primitives::SeededRng;
use blindsync::stream::{CHUNK_LEN, StreamKeySource};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand_core::Rng;

/// Bytes of screen data per monitor per day (seed 000).
const DAY_BYTES: f64 = 0.8e9;
/// Five-minute batches per day.
const BATCHES_PER_DAY: usize = 288;

struct Setup {
    account: AccountId,
    batch: BatchId,
    device: DeviceKeys,
    partners: Vec<HpkeSecretKey>,
    policy: ListPolicy,
    events: Vec<Event>,
    record: ServerRecord,
    data_key: StreamKeySource,
}

const HEAD: ChainHead = ChainHead { len: 1, hash: [3; 32] };

fn setup() -> Setup {
    let mut rng = SeededRng::from_label("bench/monitor-day");
    let account = AccountId([1; 32]);
    let batch = BatchId([2; 16]);
    let device = DeviceKeys::generate(&mut rng);
    let partners: Vec<HpkeSecretKey> = (0..3).map(|_| HpkeSecretKey::random(&mut rng)).collect();
    let mut allowed: Vec<[u8; 32]> = partners.iter().map(HpkeSecretKey::public_key).collect();
    allowed.push(device.public().x25519);
    let policy = ListPolicy { writers: vec![(device.id(), device.public().ed25519)], allowed, chain: vec![HEAD.hash] };
    let target = (DAY_BYTES / BATCHES_PER_DAY as f64) as usize;
    let shots = 30;
    let log = b"2026-01-01T00:00:00Z focus changed to browser window 'example.org'".to_vec();
    let shot_len = (target - shots * log.len()) / shots - 2 * 13;
    let mut events = Vec::new();
    for i in 0..shots {
        let mut img = vec![0u8; shot_len];
        rng.fill_bytes(&mut img); // compressed images: incompressible bytes
        let t = 1_767_225_600_000 + i as u64 * 10_000;
        events.push(Event { t_ms: t, kind: EventKind::Screenshot, data: img });
        events.push(Event { t_ms: t + 1, kind: EventKind::Log, data: log.clone() });
    }
    let data_key = sealed::new_data_key(&mut rng);
    let mut recorder = hchain::Recorder::new(&data_key, &account, &batch);
    let mut record = ServerRecord::new(&account, &batch);
    for e in &events {
        let r = recorder.record(e, &device);
        record.report(r.event_hash, r.signature);
    }
    Setup { account, batch, device, partners, policy, events, record, data_key }
}

fn recipients(s: &Setup) -> Vec<[u8; 32]> {
    s.policy.allowed.clone()
}

fn window() -> Window {
    Window { start_ms: 1_767_225_600_000, end_ms: 1_767_225_900_000, expires_ms: 1_769_817_600_000 }
}

fn seal(s: &Setup, suite: Suite, rng: &mut SeededRng) -> SealedBatch {
    let r = recipients(s);
    let input = BatchInput {
        account: s.account,
        batch_id: s.batch,
        suite,
        window: window(),
        events: &s.events,
        recipients: &r,
        data_key: &s.data_key,
        link: BatchLink { seq: 0, prev_batch: BatchId([0; 16]), chain_head: HEAD },
    };
    sealed::seal(&input, &s.device, &s.policy, rng).expect("seal")
}

fn open(s: &Setup, b: &SealedBatch) -> usize {
    sealed::open(&s.account, &s.batch, b, &s.record, &s.policy, &s.partners[0], 1_767_226_000_000)
        .expect("open")
        .events
        .len()
}

fn raw_aead(suite: Suite, key: &EnvelopeKey, buf: &mut [u8]) {
    for chunk in buf.chunks_mut(CHUNK_LEN) {
        let t = aead_seal_in_place(suite, key, &[0; 12], &[0; 96], black_box(chunk));
        let _ = black_box(t);
    }
}

/// The digest pass a seal needs beyond the AEAD: the BLAKE3 digest of every frame ([STR-6]).
fn frame_digests(body: &[u8]) {
    for f in body.chunks(CHUNK_LEN + 16) {
        black_box(blake3::hash(f));
    }
}

/// The hash pass an open needs beyond the frame digests: the keyed BLAKE3 of every event ([HCH-2]).
fn event_hashes(events: &[Event]) {
    let key = [7u8; 32];
    for e in events {
        let mut h = blake3::Hasher::new_keyed(&key);
        h.update(&e.t_ms.to_be_bytes());
        h.update(&e.data);
        black_box(h.finalize());
    }
}

/// The limit a seal is measured against: raw AEAD plus the frame digests, over the same bytes.
fn seal_limit(suite: Suite, key: &EnvelopeKey, buf: &mut [u8], body: &[u8]) {
    raw_aead(suite, key, buf);
    frame_digests(body);
}

/// The limit an open is measured against: raw AEAD, frame digests and event hashes.
fn open_limit(suite: Suite, key: &EnvelopeKey, buf: &mut [u8], body: &[u8], events: &[Event]) {
    raw_aead(suite, key, buf);
    frame_digests(body);
    event_hashes(events);
}

/// This process's CPU time (user + system, all threads: the stream seal runs its chunks on a
/// scoped thread) in seconds, 10 ms resolution; `None` off Linux.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let mut f = stat.get(stat.rfind(')')? + 2..)?.split_whitespace();
    let utime: f64 = f.nth(11)?.parse().ok()?;
    let stime: f64 = f.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn bench(c: &mut Criterion) {
    let s = setup();
    let mut rng = SeededRng::from_label("bench/monitor-day/seal");
    let suites = [("aes256gcm", Suite::Aes256Gcm), ("chacha20poly1305", Suite::ChaCha20Poly1305)];
    let sealed: Vec<SealedBatch> = suites.iter().map(|(_, suite)| seal(&s, *suite, &mut rng)).collect();
    let bytes = sealed[0].body.len();
    let key = EnvelopeKey::from_bytes([9; 32]);
    let mut buf = vec![0x5au8; bytes];
    let mut g = c.benchmark_group("monitor-day-batch");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(bytes as u64));
    for ((name, suite), b) in suites.iter().zip(&sealed) {
        g.bench_function(format!("seal-4-slots/{name}"), |x| x.iter(|| seal(&s, *suite, &mut rng)));
        g.bench_function(format!("open/{name}"), |x| x.iter(|| open(&s, black_box(b))));
        g.bench_function(format!("raw-aead/{name}"), |x| x.iter(|| raw_aead(*suite, &key, &mut buf)));
        g.bench_function(format!("seal-limit/{name}"), |x| x.iter(|| seal_limit(*suite, &key, &mut buf, &b.body)));
        g.bench_function(format!("open-limit/{name}"), |x| {
            x.iter(|| open_limit(*suite, &key, &mut buf, &b.body, &s.events))
        });
    }
    g.finish();

    // [STR-6] the chunk digest the manifest lists: SHA-256 and BLAKE3 over the same frames, same run.
    let mut h = c.benchmark_group("chunk-digest");
    h.sample_size(20);
    h.throughput(Throughput::Bytes(bytes as u64));
    let frames = sealed[0].body.clone();
    h.bench_function("sha256", |x| {
        x.iter(|| {
            for f in frames.chunks(CHUNK_LEN + 16) {
                black_box(blindsync::primitives::sha256(&[f]));
            }
        })
    });
    h.bench_function("blake3", |x| {
        x.iter(|| {
            for f in frames.chunks(CHUNK_LEN + 16) {
                black_box(blake3::hash(f));
            }
        })
    });
    h.finish();

    // The figure that matters: monitor-days per core-second, extrapolated from one batch.
    // Skipped when criterion only profiles or lists.
    if std::env::args().any(|a| a == "--profile-time" || a == "--list") {
        return;
    }
    let time = |f: &mut dyn FnMut()| {
        f();
        let (wall, cpu) = (Instant::now(), process_cpu_seconds());
        let mut n = 0u32;
        while wall.elapsed().as_secs_f64() < 3.0 || n < 10 {
            f();
            n += 1;
        }
        let w = wall.elapsed().as_secs_f64() / f64::from(n);
        let c = cpu.zip(process_cpu_seconds()).map(|(a, b)| (b - a) / f64::from(n));
        (w, c)
    };
    let per_day = BATCHES_PER_DAY as f64;
    println!("\nmonitor-day: one batch = {bytes} body bytes, {} events, 4 key slots", s.events.len());
    println!("  {:>30}  {:>10} {:>10}  {:>9} {:>9}", "", "ms (cpu)", "ms (wall)", "days/cpu-s", "days/wall-s");
    let mut ratios = Vec::new();
    for ((name, suite), b) in suites.iter().zip(&sealed) {
        let rows: [(&str, (f64, Option<f64>)); 5] = [
            (
                "seal",
                time(&mut || {
                    let _ = black_box(seal(&s, *suite, &mut rng));
                }),
            ),
            (
                "open",
                time(&mut || {
                    let _ = black_box(open(&s, b));
                }),
            ),
            ("raw AEAD", time(&mut || raw_aead(*suite, &key, &mut buf))),
            ("seal limit", time(&mut || seal_limit(*suite, &key, &mut buf, &b.body))),
            ("open limit", time(&mut || open_limit(*suite, &key, &mut buf, &b.body, &s.events))),
        ];
        let cpu = |k: usize| rows[k].1.1.unwrap_or(rows[k].1.0);
        ratios.push((*name, cpu(3) / cpu(0), cpu(4) / cpu(1)));
        for (what, (w, c)) in rows {
            let c = c.unwrap_or(w);
            println!(
                "  {:>30}  {:10.3} {:10.3}  {:9.2} {:9.2}",
                format!("{what} {name}"),
                c * 1e3,
                w * 1e3,
                1.0 / (c * per_day),
                1.0 / (w * per_day)
            );
        }
    }

    // [STR-6] [HCH-2] seal and open as a share of the limit the design allows (CPU time): goal seal >= 85 %,
    // open >= 75 %.
    for (name, seal, open) in ratios {
        println!(
            "  {name}: seal at {:.0} % of (AEAD + frame digests), open at {:.0} % of (AEAD + digests + event hashes)",
            seal * 100.0,
            open * 100.0
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
