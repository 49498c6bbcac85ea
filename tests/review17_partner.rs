//! Review 17 (audit round 3, A3-3): the partner operation runs [BAT-10]'s reader procedure
//! ([CLIENT-3]): pending head claims, [BAT-11] links and [BAT-12] alerts, with the reader
//! state the partner keeps across operations ([`PartnerState`]).

use blindsync::batch::hchain::{self, Recorder};
use blindsync::batch::sealed::{self, BatchInput, BatchLink, Window};
use blindsync::batch::{BatchId, Event, EventKind};
use blindsync::client::{Client, Joining, Outcome, PartnerOpen, PartnerState, Persist, Transport, Volatile, run};
use blindsync::device::{ChainHead, DeviceKeys};
use blindsync::error::Error;
use blindsync::hpke::HpkeSecretKey;
use blindsync::keys::AccountId;
use blindsync::primitives::SeededRng;
use blindsync::server::wire::{Request, Response};
use blindsync::server::{MemoryStorage, Server, ServerConfig};
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;

const DAY: u64 = 86_400_000;

struct Net {
    server: Server<MemoryStorage>,
    srng: SeededRng,
    now: u64,
}

impl Transport for Net {
    fn call(&mut self, r: Request) -> Response {
        self.now += 1_000;
        let bytes = self.server.handle_bytes(&r.encode(), self.now, &mut self.srng);
        Response::decode(&bytes).unwrap_or_else(Response::Error)
    }
}

/// An account with devices `a` and `b` and a pinned partner.
struct World {
    net: Net,
    rng: SeededRng,
    a: Client,
    b: Client,
    partner: HpkeSecretKey,
}

fn join(net: &mut Net, rng: &mut SeededRng, by: &mut Client) -> Client {
    let new = DeviceKeys::generate(rng);
    let mut join = Joining::new(Volatile, new, by.account(), by.id());
    let _ = run(&mut join, net);
    let pending = by.list_pending(net).unwrap();
    by.approve(net, &pending[0], rng).unwrap();
    assert!(join.retry());
    run(&mut join, net).unwrap()
}

fn world(label: &str) -> World {
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
    let mut reg =
        blindsync::client::Registration::new(Volatile, dev, b"r17@example.org", &code.derive(), &pw, &kdf, &mut rng)
            .unwrap();
    let mut a = run(&mut reg, &mut net).unwrap();
    let mut b = join(&mut net, &mut rng, &mut a);
    let partner = HpkeSecretKey::random(&mut rng);
    a.pin_partner(&mut net, partner.public_key(), "partner").unwrap();
    assert!(b.sync(&mut net).unwrap().alerts.is_empty());
    World { net, rng, a, b, partner }
}

/// `dev` records one event (reporting it) and stores the batch for itself and `others`,
/// linked by `link` (`link.chain_head` is the head it names).
fn share_linked<P: Persist>(
    net: &mut Net,
    rng: &mut SeededRng,
    dev: &mut Client<P>,
    others: &[[u8; 32]],
    batch: BatchId,
    link: BatchLink,
) {
    let account = dev.account();
    let reference = hchain::reference(&account, &batch);
    let data_key = sealed::new_data_key(rng);
    let mut recorder = Recorder::new(&data_key, &account, &batch);
    let start = net.now;
    let e = Event { t_ms: net.now, kind: EventKind::Log, data: batch.0.to_vec() };
    let report = recorder.record(&e, dev.device());
    dev.start_report_event(reference, report.event_hash, report.signature).unwrap();
    assert!(matches!(run(dev, net).unwrap(), Outcome::Reported(_)));
    let mut recipients = vec![dev.device().public().x25519];
    recipients.extend_from_slice(others);
    let input = BatchInput {
        account,
        batch_id: batch,
        suite: blindsync::envelope::Suite::Aes256Gcm,
        window: Window { start_ms: start, end_ms: net.now, expires_ms: net.now + 30 * DAY },
        events: &[e],
        recipients: &recipients,
        data_key: &data_key,
        link,
    };
    let sealed = sealed::seal(&input, dev.device(), dev.chain(), rng).unwrap();
    dev.start_put_batch(reference, &sealed).unwrap();
    assert_eq!(run(dev, net).unwrap(), Outcome::BatchStored);
}

/// The writer's first batch (seq 0), at its current head.
fn share<P: Persist>(net: &mut Net, rng: &mut SeededRng, dev: &mut Client<P>, partner: [u8; 32], batch: BatchId) {
    let link = BatchLink { seq: 0, prev_batch: BatchId([0; 16]), chain_head: dev.chain().head() };
    share_linked(net, rng, dev, &[partner], batch, link);
}

/// `dev`'s batches `ids`, linked in order from seq 0, at its current head.
fn share_run<P: Persist>(net: &mut Net, rng: &mut SeededRng, dev: &mut Client<P>, partner: [u8; 32], ids: &[BatchId]) {
    let mut prev = BatchId([0; 16]);
    for (seq, id) in ids.iter().enumerate() {
        let link = BatchLink { seq: seq as u64, prev_batch: prev, chain_head: dev.chain().head() };
        share_linked(net, rng, dev, &[partner], *id, link);
        prev = *id;
    }
}

fn open(
    t: &mut dyn Transport,
    key: &HpkeSecretKey,
    account: AccountId,
    batch: BatchId,
    now: u64,
    state: &mut PartnerState,
) -> blindsync::Result<blindsync::batch::sealed::OpenedBatch> {
    run(&mut PartnerOpen::new(key, account, batch, now, state), t)
}

fn ids(tag: u8, n: u8) -> Vec<BatchId> {
    (0..n).map(|i| BatchId([tag.wrapping_add(i); 16])).collect()
}

// A3-3 [BAT-10] [CLIENT-3] the server keeps serving the partner the chain from before W's
// revocation. The honest batch sealed after it names a head the partner lacks: a claim. From
// then on W's batch is refused too, until the partner's chain catches up; then the claim is met,
// the honest batch opens and W's is E_BATCH_WRITER.
#[test]
fn a3_3_partner_open_keeps_the_head_claim() {
    let mut w = world("review17/claim");
    let p = w.partner.public_key();
    // W = device b: stores a batch while active (as a compromised device would)
    let by_w = BatchId([0xB0; 16]);
    share(&mut w.net, &mut w.rng, &mut w.b, p, by_w);
    let account = w.a.account();
    let stale: Vec<Vec<u8>> = w.net.server.store_chain(&account);
    let b = w.b.id();
    w.a.revoke(&mut w.net, &b, &mut w.rng).unwrap();
    let by_a = BatchId([0xA0; 16]);
    share(&mut w.net, &mut w.rng, &mut w.a, p, by_a);
    let now = w.net.now;
    let mut state = PartnerState::default();
    {
        let net = &mut w.net;
        let mut server = |r: Request| match r {
            Request::GetSharedChain { .. } => Response::Chain { statements: stale.clone() },
            r => net.call(r),
        };
        assert_eq!(open(&mut server, &w.partner, account, by_a, now, &mut state).err(), Some(Error::BatchChainHead));
        assert_eq!(state.reader.pending.len(), 1);
        assert_eq!(state.reader.pending[0].writer, w.a.id());
        // [BAT-10] "from then on the partner refuses every batch, W's included"
        assert_eq!(open(&mut server, &w.partner, account, by_w, now, &mut state).err(), Some(Error::BatchChainHead));
        assert_eq!(open(&mut server, &w.partner, account, by_w, now, &mut state).err(), Some(Error::BatchChainHead));
        assert!(state.reader.last.is_empty(), "nothing accepted");
    }
    // the chain catches up: the claim is met, the honest batch opens, W is no longer a writer
    let opened = open(&mut w.net, &w.partner, account, by_a, now, &mut state).unwrap();
    assert_eq!(opened.meta.batch_id, by_a);
    assert_eq!(opened.meta.writer, w.a.id());
    assert!(state.reader.pending.is_empty());
    assert_eq!(open(&mut w.net, &w.partner, account, by_w, now, &mut state).err(), Some(Error::BatchWriter));
}

// [CLIENT-3] [BAT-10] [BAT-11] the honest path: a partner opens a writer's batches in order,
// each against the chain it refreshes; the state records the last batch per writer.
#[test]
fn honest_partner_opens_honest_batches_in_order() {
    let mut w = world("review17/honest");
    let p = w.partner.public_key();
    let run_a = ids(0x10, 3);
    let run_b = ids(0x20, 2);
    share_run(&mut w.net, &mut w.rng, &mut w.a, p, &run_a);
    share_run(&mut w.net, &mut w.rng, &mut w.b, p, &run_b);
    let (account, now) = (w.a.account(), w.net.now);
    let mut state = PartnerState::default();
    for (seq, id) in run_a.iter().enumerate() {
        let opened = open(&mut w.net, &w.partner, account, *id, now, &mut state).unwrap();
        assert_eq!((opened.meta.batch_id, opened.meta.link.seq, opened.meta.writer), (*id, seq as u64, w.a.id()));
        assert_eq!(opened.events.len(), 1);
        assert_eq!(opened.events[0].data, id.0.to_vec());
    }
    for id in &run_b {
        assert_eq!(open(&mut w.net, &w.partner, account, *id, now, &mut state).unwrap().meta.writer, w.b.id());
    }
    assert_eq!(state.reader.last.get(&w.a.id()), Some(&(2, run_a[2])));
    assert_eq!(state.reader.last.get(&w.b.id()), Some(&(1, run_b[1])));
    assert_eq!(state.chain.as_ref().map(|c| c.head()), Some(w.a.chain().head()));
    assert!(state.reader.pending.is_empty() && state.reader.stale_heads.is_empty());
    assert!(state.reader.stale_recipients.is_empty());
    // a batch read again is not the next one: [BAT-11]
    assert_eq!(open(&mut w.net, &w.partner, account, run_a[2], now, &mut state).err(), Some(Error::BatchGap));
}

// [BAT-11] check_link: a batch deleted by the server is a gap; the partner reads on once it
// has the missing one.
#[test]
fn partner_open_refuses_a_gap_in_a_writers_batches() {
    let mut w = world("review17/gap");
    let p = w.partner.public_key();
    let run_a = ids(0x30, 3);
    share_run(&mut w.net, &mut w.rng, &mut w.a, p, &run_a);
    let (account, now) = (w.a.account(), w.net.now);
    let mut state = PartnerState::default();
    open(&mut w.net, &w.partner, account, run_a[0], now, &mut state).unwrap();
    assert_eq!(open(&mut w.net, &w.partner, account, run_a[2], now, &mut state).err(), Some(Error::BatchGap));
    assert_eq!(state.reader.last.get(&w.a.id()), Some(&(0, run_a[0])), "a refused batch changes no link");
    open(&mut w.net, &w.partner, account, run_a[1], now, &mut state).unwrap();
    open(&mut w.net, &w.partner, account, run_a[2], now, &mut state).unwrap();
}

// [BAT-11] check_first: a device added after the partner began must be read from its seq 0.
#[test]
fn partner_open_reads_a_new_writer_from_its_first_batch() {
    let mut w = world("review17/first");
    let p = w.partner.public_key();
    let (account, first) = (w.a.account(), BatchId([0x40; 16]));
    share(&mut w.net, &mut w.rng, &mut w.a, p, first);
    let mut state = PartnerState::default();
    let now = w.net.now;
    open(&mut w.net, &w.partner, account, first, now, &mut state).unwrap();
    let mut n = join(&mut w.net, &mut w.rng, &mut w.a);
    let run_n = ids(0x50, 2);
    share_run(&mut w.net, &mut w.rng, &mut n, p, &run_n);
    let now = w.net.now;
    // the server withholds N's first batch
    assert_eq!(open(&mut w.net, &w.partner, account, run_n[1], now, &mut state).err(), Some(Error::BatchGap));
    assert_eq!(open(&mut w.net, &w.partner, account, run_n[0], now, &mut state).unwrap().meta.writer, n.id());
    open(&mut w.net, &w.partner, account, run_n[1], now, &mut state).unwrap();
}

// [BAT-10] recheck: a claim the chain reaches with another hash is E_CHAIN_FORK, and stays.
#[test]
fn partner_open_reports_a_claim_the_chain_contradicts_as_a_fork() {
    let mut w = world("review17/fork");
    let p = w.partner.public_key();
    let account = w.a.account();
    let head = w.a.chain().head();
    let forked = ChainHead { len: head.len + 1, hash: [0x66; 32] };
    let (bogus, honest) = (BatchId([0x60; 16]), BatchId([0x61; 16]));
    let link = BatchLink { seq: 0, prev_batch: BatchId([0; 16]), chain_head: forked };
    share_linked(&mut w.net, &mut w.rng, &mut w.a, &[p], bogus, link);
    let mut state = PartnerState::default();
    let now = w.net.now;
    assert_eq!(open(&mut w.net, &w.partner, account, bogus, now, &mut state).err(), Some(Error::BatchChainHead));
    // the chain grows to the claimed length with another statement
    let other = HpkeSecretKey::random(&mut w.rng).public_key();
    w.a.pin_partner(&mut w.net, other, "other").unwrap();
    share(&mut w.net, &mut w.rng, &mut w.b, p, honest);
    let now = w.net.now;
    assert_eq!(open(&mut w.net, &w.partner, account, honest, now, &mut state).err(), Some(Error::ChainFork));
    assert_eq!(open(&mut w.net, &w.partner, account, honest, now, &mut state).err(), Some(Error::ChainFork));
    assert_eq!(state.reader.pending.len(), 1);
}

// [BAT-12] stale head: a batch accepted at an older head than one accepted before is an alert,
// not a refusal.
#[test]
fn partner_open_records_a_stale_head() {
    let mut w = world("review17/stalehead");
    let p = w.partner.public_key();
    let account = w.a.account();
    let (old, new) = (BatchId([0x70; 16]), BatchId([0x71; 16]));
    let other = HpkeSecretKey::random(&mut w.rng).public_key();
    w.a.pin_partner(&mut w.net, other, "other").unwrap();
    // a is at the new head; b has not synced and seals at the old one
    share(&mut w.net, &mut w.rng, &mut w.a, p, new);
    share(&mut w.net, &mut w.rng, &mut w.b, p, old);
    let now = w.net.now;
    let mut state = PartnerState::default();
    open(&mut w.net, &w.partner, account, new, now, &mut state).unwrap();
    assert!(state.reader.stale_heads.is_empty());
    assert_eq!(open(&mut w.net, &w.partner, account, old, now, &mut state).unwrap().meta.writer, w.b.id());
    assert_eq!(state.reader.stale_heads.len(), 1);
    assert_eq!((state.reader.stale_heads[0].writer, state.reader.stale_heads[0].batch), (w.b.id(), old));
    assert_eq!(state.reader.stale_heads[0].newest_len, w.a.chain().head().len);
}

// [BAT-12] stale recipient: a batch sealed (before a revocation) to a device the partner's
// chain has since revoked opens, and names who got the key.
#[test]
fn partner_open_records_a_stale_recipient() {
    let mut w = world("review17/stalerecipient");
    let p = w.partner.public_key();
    let account = w.a.account();
    let batch = BatchId([0x80; 16]);
    let b_key = w.b.device().public().x25519;
    let link = BatchLink { seq: 0, prev_batch: BatchId([0; 16]), chain_head: w.a.chain().head() };
    share_linked(&mut w.net, &mut w.rng, &mut w.a, &[p, b_key], batch, link);
    let b = w.b.id();
    w.a.revoke(&mut w.net, &b, &mut w.rng).unwrap();
    let now = w.net.now;
    let mut state = PartnerState::default();
    open(&mut w.net, &w.partner, account, batch, now, &mut state).unwrap();
    assert_eq!(state.reader.stale_recipients.len(), 1);
    assert_eq!(state.reader.stale_recipients[0].key, b_key);
    assert_eq!(state.reader.stale_recipients[0].writer, w.a.id());
}

// [BAT-12] silent writers: the state the operation keeps says who has not written for longer
// than the partner's freshness bound (only writers still active in its chain).
#[test]
fn partner_state_names_silent_writers() {
    let mut w = world("review17/silent");
    let p = w.partner.public_key();
    let account = w.a.account();
    assert!(PartnerState::default().silent_writers(u64::MAX, 0).is_empty());
    let (ba, bb) = (BatchId([0x90; 16]), BatchId([0x91; 16]));
    share(&mut w.net, &mut w.rng, &mut w.a, p, ba);
    share(&mut w.net, &mut w.rng, &mut w.b, p, bb);
    let now = w.net.now;
    let mut state = PartnerState::default();
    open(&mut w.net, &w.partner, account, ba, now, &mut state).unwrap();
    open(&mut w.net, &w.partner, account, bb, now, &mut state).unwrap();
    let hour = 3_600_000;
    assert!(state.silent_writers(now, hour).is_empty());
    let mut silent = state.silent_writers(now + 2 * hour, hour);
    silent.sort();
    let mut both = vec![w.a.id(), w.b.id()];
    both.sort();
    assert_eq!(silent, both);
    // b revoked: it is no longer a writer that can fall silent
    let b = w.b.id();
    w.a.revoke(&mut w.net, &b, &mut w.rng).unwrap();
    let link = BatchLink { seq: 1, prev_batch: ba, chain_head: w.a.chain().head() };
    share_linked(&mut w.net, &mut w.rng, &mut w.a, &[p], BatchId([0x92; 16]), link);
    let now = w.net.now;
    open(&mut w.net, &w.partner, account, BatchId([0x92; 16]), now, &mut state).unwrap();
    assert_eq!(state.silent_writers(now + 2 * hour, hour), vec![w.a.id()]);
}

// ---------------------------------------------------------------------------------------------
// A3-8 [CLIENT-6]: a server answers each request only with the codes its own checks of that
// request produce; any other code (one only a device's checks produce) is
// E_CLIENT_UNEXPECTED_RESPONSE, not the device's own alert code.

use blindsync::client::server_may_answer;
use blindsync::envelope::RecordId;
use blindsync::server::wire::RequestKind;

/// Device-only codes a server tries to make a device report as its own.
const DEVICE_ONLY: [Error; 3] = [Error::ChainFork, Error::SyncWithheld, Error::EnvSignature];

/// The honest server, except that requests of `kind` are answered `Error(code)`.
fn answering(net: &mut Net, kind: RequestKind, code: Error) -> impl Transport + '_ {
    move |r: Request| if r.kind() == kind { Response::Error(code) } else { net.call(r) }
}

#[test]
fn a3_8_server_cannot_answer_a_device_only_code() {
    let mut w = world("review17/codes");
    let net = &mut w.net;
    let mut server = |r: Request| match r {
        Request::GetChain { .. } => Response::Error(Error::ChainFork),
        r => net.call(r),
    };
    assert_eq!(w.a.sync(&mut server).err(), Some(Error::ClientUnexpectedResponse));
}

#[test]
fn a3_8_device_only_codes_to_a_sync_a_write_and_a_login_are_unexpected() {
    let mut w = world("review17/codes-ops");
    w.a.subscribe("notes").unwrap();
    for code in DEVICE_ONLY {
        for kind in [RequestKind::GetChain, RequestKind::ListSince] {
            let got = w.a.sync(&mut answering(&mut w.net, kind, code)).err();
            assert_eq!(got, Some(Error::ClientUnexpectedResponse), "sync, {kind:?} answered {code:?}");
        }
        let got = w.a.write(
            &mut answering(&mut w.net, RequestKind::PutRecord, code),
            "notes",
            RecordId([1; 16]),
            b"x",
            &mut w.rng,
        );
        assert_eq!(got.err(), Some(Error::ClientUnexpectedResponse), "write answered {code:?}");
        w.a.flush(&mut w.net).unwrap();
        for kind in [RequestKind::Challenge, RequestKind::LoginKey] {
            let got = w.a.login(&mut answering(&mut w.net, kind, code)).err();
            assert_eq!(got, Some(Error::ClientUnexpectedResponse), "login, {kind:?} answered {code:?}");
        }
    }
    // the device still works with the honest server
    w.a.login(&mut w.net).unwrap();
    assert!(w.a.sync(&mut w.net).unwrap().alerts.is_empty());
}

#[test]
fn a3_8_codes_the_server_may_answer_pass_through() {
    let mut w = world("review17/codes-allowed");
    w.a.subscribe("notes").unwrap();
    let got = w.a.sync(&mut answering(&mut w.net, RequestKind::GetChain, Error::SrvAuth)).err();
    assert_eq!(got, Some(Error::SrvAuth));
    let got = w.a.sync(&mut answering(&mut w.net, RequestKind::ListSince, Error::SrvUnavailable)).err();
    assert_eq!(got, Some(Error::SrvUnavailable));
    let got = w.a.write(
        &mut answering(&mut w.net, RequestKind::PutRecord, Error::SyncRevisionStep),
        "notes",
        RecordId([2; 16]),
        b"x",
        &mut w.rng,
    );
    assert_eq!(got.err(), Some(Error::SyncRevisionStep), "[SRV-6] answers it");
    w.a.flush(&mut w.net).unwrap();
    let got = w.a.login(&mut answering(&mut w.net, RequestKind::LoginKey, Error::SrvAuth)).err();
    assert_eq!(got, Some(Error::SrvAuth));
    // an honest refusal from the reference server itself: a revoked device's session
    let b = w.b.id();
    w.a.revoke(&mut w.net, &b, &mut w.rng).unwrap();
    assert_eq!(w.b.sync(&mut w.net).err(), Some(Error::SrvAuth));
}

// [CLIENT-6] the operations that run before a device exists (Stage) and the partner's.
#[test]
fn a3_8_registration_and_partner_open_screen_codes_too() {
    let mut w = world("review17/codes-stage");
    let mut rng = SeededRng::from_label("review17/codes-stage/second");
    let dev = DeviceKeys::generate(&mut rng);
    let code = RecoveryCode::generate(&mut rng);
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut rng) };
    let pw = kdf.derive(b"another").unwrap();
    let new = |rng: &mut SeededRng| {
        blindsync::client::Registration::new(Volatile, dev.clone(), b"x@example.org", &code.derive(), &pw, &kdf, rng)
            .unwrap()
    };
    let mut reg = new(&mut rng);
    let got = run(&mut reg, &mut answering(&mut w.net, RequestKind::Register, Error::ChainFork)).err();
    assert_eq!(got, Some(Error::ClientUnexpectedResponse));
    let mut reg = new(&mut rng);
    let got = run(&mut reg, &mut answering(&mut w.net, RequestKind::Register, Error::SrvExists)).err();
    assert_eq!(got, Some(Error::SrvExists));

    let account = w.a.account();
    let mut state = PartnerState::default();
    let batch = BatchId([0xC0; 16]);
    for (kind, code) in
        [(RequestKind::GetSharedChain, Error::BatchChainHead), (RequestKind::GetSharedBatch, Error::HchDropped)]
    {
        let got = open(&mut answering(&mut w.net, kind, code), &w.partner, account, batch, 0, &mut state).err();
        assert_eq!(got, Some(Error::ClientUnexpectedResponse), "{kind:?} answered {code:?}");
    }
    // the honest server's answer for a batch it does not have
    assert_eq!(open(&mut w.net, &w.partner, account, batch, 0, &mut state).err(), Some(Error::SrvNotFound));
}

// [CLIENT-6] [CLIENT-2] the table: no row holds an internal, misuse or E_CLIENT_ code, or a code
// of the device-only checks of 11.9 and chapter 10; every request may be answered the decoding
// codes and E_SRV_UNAVAILABLE; the chain codes are AppendChain's, but not E_CHAIN_FORK.
#[test]
fn a3_8_the_table_holds_no_device_only_code() {
    use blindsync::error::Fault;
    let kinds = RequestKind::ALL;
    assert_eq!(kinds.len(), 23);
    for kind in kinds {
        for e in Error::ALL {
            if !server_may_answer(*kind, *e) {
                continue;
            }
            assert!(!matches!(e.fault(), Fault::Internal | Fault::Misuse), "{kind:?} {e:?}");
            let code = e.code();
            for prefix in ["E_CLIENT_", "E_BATCH_", "E_HCH_", "E_STREAM_", "E_ATTACHMENT_", "E_STORE_"] {
                assert!(!code.starts_with(prefix), "{kind:?} {code}");
            }
            assert!(!code.starts_with("E_SYNC_") || code == "E_SYNC_REVISION_STEP", "{kind:?} {code}");
            assert!(!matches!(e, Error::ChainFork | Error::ChainRollback | Error::EnvSignature), "{kind:?} {code}");
        }
        for e in [Error::DecodeTruncated, Error::DecodeValue, Error::SrvUnavailable] {
            assert!(server_may_answer(*kind, e), "{kind:?} {e:?}");
        }
    }
    assert!(server_may_answer(RequestKind::AppendChain, Error::ChainCascade));
    assert!(!server_may_answer(RequestKind::GetChain, Error::ChainCascade));
    assert!(server_may_answer(RequestKind::PostPending, Error::ChainPossession));
    assert!(!server_may_answer(RequestKind::Challenge, Error::SrvAuth));
}
