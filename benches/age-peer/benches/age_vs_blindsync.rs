//! age against BlindSync on the monitor-day batch (README, performance): the
//! same 2.78 MB of framed events (30 screenshots, 30 log lines; the same seed
//! as `benches/monitor_day.rs`), encrypted to the same four X25519 recipients
//! (the owner's device and three partners), in the same run.
//!
//! `cd benches/age-peer && cargo bench` (criterion groups, then a CPU-time table).

use std::hint::black_box;
use std::io::{Read, Write};
use std::time::Instant;

use blindsync::batch::hchain::{self, ServerRecord};
use blindsync::batch::sealed::{self, BatchInput, BatchLink, ListPolicy, SealedBatch, Window};
use blindsync::batch::{BatchId, Event, EventKind, encode_events};
use blindsync::device::{ChainHead, DeviceKeys};
use blindsync::envelope::Suite;
use blindsync::hpke::HpkeSecretKey;
use blindsync::keys::AccountId;
use blindsync::primitives::SeededRng;
use blindsync::stream::StreamKeySource;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand_core::Rng;

const DAY_BYTES: f64 = 0.8e9;
const BATCHES_PER_DAY: usize = 288;
const HEAD: ChainHead = ChainHead { len: 1, hash: [3; 32] };

struct Setup {
    account: AccountId,
    batch: BatchId,
    device: DeviceKeys,
    partners: Vec<HpkeSecretKey>,
    policy: ListPolicy,
    events: Vec<Event>,
    record: ServerRecord,
    data_key: StreamKeySource,
    framed: Vec<u8>,
}

/// The monitor-day batch, byte for byte that of `benches/monitor_day.rs` (same seed label).
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
        rng.fill_bytes(&mut img);
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
    let framed = encode_events(&events).expect("framing");
    Setup { account, batch, device, partners, policy, events, record, data_key, framed }
}

fn bs_seal(s: &Setup, rng: &mut SeededRng) -> SealedBatch {
    let r = s.policy.allowed.clone();
    let input = BatchInput {
        account: s.account,
        batch_id: s.batch,
        suite: Suite::Aes256Gcm,
        window: Window { start_ms: 1_767_225_600_000, end_ms: 1_767_225_900_000, expires_ms: 1_769_817_600_000 },
        events: &s.events,
        recipients: &r,
        data_key: &s.data_key,
        link: BatchLink { seq: 0, prev_batch: BatchId([0; 16]), chain_head: HEAD },
    };
    sealed::seal(&input, &s.device, &s.policy, rng).expect("seal")
}

fn bs_open(s: &Setup, b: &SealedBatch) -> usize {
    sealed::open(&s.account, &s.batch, b, &s.record, &s.policy, &s.partners[0], 1_767_226_000_000)
        .expect("open")
        .events
        .len()
}

fn age_encrypt(recipients: &[age::x25519::Recipient], plaintext: &[u8]) -> Vec<u8> {
    let rs = recipients.iter().map(|r| r as &dyn age::Recipient);
    let enc = age::Encryptor::with_recipients(rs).expect("recipients");
    let mut out = Vec::with_capacity(plaintext.len() + 1024);
    let mut w = enc.wrap_output(&mut out).expect("wrap");
    w.write_all(plaintext).expect("write");
    w.finish().expect("finish");
    out
}

fn age_decrypt(identity: &age::x25519::Identity, ciphertext: &[u8]) -> Vec<u8> {
    let d = age::Decryptor::new(ciphertext).expect("header");
    let mut r = d.decrypt(std::iter::once(identity as &dyn age::Identity)).expect("decrypt");
    let mut out = Vec::new();
    r.read_to_end(&mut out).expect("read");
    out
}

fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let mut f = stat.get(stat.rfind(')')? + 2..)?.split_whitespace();
    let utime: f64 = f.nth(11)?.parse().ok()?;
    let stime: f64 = f.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn bench(c: &mut Criterion) {
    let s = setup();
    let mut rng = SeededRng::from_label("bench/age-peer/seal");
    let identities: Vec<age::x25519::Identity> = (0..4).map(|_| age::x25519::Identity::generate()).collect();
    let recipients: Vec<age::x25519::Recipient> = identities.iter().map(|i| i.to_public()).collect();
    let sealed = bs_seal(&s, &mut rng);
    let age_ct = age_encrypt(&recipients, &s.framed);
    assert_eq!(age_decrypt(&identities[1], &age_ct), s.framed);
    assert_eq!(bs_open(&s, &sealed), s.events.len());
    let mut g = c.benchmark_group("monitor-day-batch-vs-age");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(s.framed.len() as u64));
    g.bench_function("blindsync-seal", |x| x.iter(|| bs_seal(&s, &mut rng)));
    g.bench_function("age-encrypt", |x| x.iter(|| age_encrypt(&recipients, black_box(&s.framed))));
    g.bench_function("blindsync-open", |x| x.iter(|| bs_open(&s, black_box(&sealed))));
    g.bench_function("age-decrypt", |x| x.iter(|| age_decrypt(&identities[1], black_box(&age_ct))));
    g.finish();
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
        cpu.zip(process_cpu_seconds()).map_or(w, |(a, b)| (b - a) / f64::from(n))
    };
    let rows = [
        ("BlindSync seal", time(&mut || drop(black_box(bs_seal(&s, &mut rng))))),
        ("age encrypt", time(&mut || drop(black_box(age_encrypt(&recipients, &s.framed))))),
        (
            "BlindSync open",
            time(&mut || {
                black_box(bs_open(&s, &sealed));
            }),
        ),
        ("age decrypt", time(&mut || drop(black_box(age_decrypt(&identities[1], &age_ct))))),
    ];
    println!("\nmonitor-day batch: {} framed bytes, 4 X25519 recipients (CPU time)", s.framed.len());
    for (what, c) in rows {
        println!(
            "  {what:>16}  {:8.3} ms  {:6.2} monitor-days per CPU-second",
            c * 1e3,
            1.0 / (c * BATCHES_PER_DAY as f64)
        );
    }
    println!(
        "  BlindSync seal is {:.2}x age encrypt's speed; open is {:.2}x age decrypt's",
        rows[1].1 / rows[0].1,
        rows[3].1 / rows[2].1
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
