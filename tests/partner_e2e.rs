//! Issue 6: a partner reads a monitored device's batch end to end through the
//! in-process reference server, and detects every tampering with its own code
//! (spec 10.3, 10.4, 11.7).

use blindsync::batch::hchain::{self, ServerRecord};
use blindsync::batch::sealed::{self, BatchInput, BatchLink, ListPolicy, SealedBatch, Window};
use blindsync::batch::{BatchId, Event, EventKind};
use blindsync::chain::{Body, ChainState, create_account, extend, partner_fingerprint};
use blindsync::client::{Client, Transport};
use blindsync::device::DeviceKeys;
use blindsync::envelope::Suite;
use blindsync::error::Error;
use blindsync::hpke::HpkeSecretKey;
use blindsync::primitives::SeededRng;
use blindsync::server::wire::{Request, Response};
use blindsync::server::{MemoryStorage, Server, ServerConfig};
use blindsync::stream::FRAME_LEN;
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;

struct World {
    server: Server<MemoryStorage>,
    srng: SeededRng,
    now: u64,
}

impl Transport for World {
    fn call(&mut self, r: Request) -> Response {
        self.now += 1_000;
        let bytes = self.server.handle_bytes(&r.encode(), self.now, &mut self.srng);
        Response::decode(&bytes).unwrap()
    }
}

/// What goes wrong, and where: on the monitored device before upload, or on the way to the partner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tamper {
    None,
    DropEvent,
    AlterEvent,
    ReorderEvents,
    InsertEvent,
    SwapChunks,
    TruncateChunk,
    SwapMetadata,
    UnpinnedSlot,
    Expired,
    ServerAddsReport,
}

const DAY: u64 = 86_400_000;

fn run(tamper: Tamper) -> Result<Vec<Event>, Error> {
    let mut rng = SeededRng::from_label("partner-e2e");
    // ---- the owner's account, on the server ----
    let dev = DeviceKeys::generate(&mut rng);
    let code = RecoveryCode::generate(&mut rng);
    let kdf = PasswordKdf { params: KdfParams::FLOOR, ..PasswordKdf::generate(&mut rng) };
    let pw = kdf.derive(b"pw").unwrap();
    let acct = create_account(&dev, &code.derive(), &pw, &kdf, &mut rng).unwrap();
    let mut w = World {
        server: Server::new(MemoryStorage::default(), ServerConfig::new([7; 32])),
        srng: SeededRng::from_label("partner-e2e/server"),
        now: 1_767_225_600_000,
    };
    let r = w.call(Request::Register {
        email: b"owner@example.org".to_vec(),
        kdf: kdf.encode(),
        auth: *pw.auth.expose(),
        genesis: acct.genesis.clone(),
        recovery_wrap: acct.recovery_wrap.to_vec(),
        password_wrap: acct.password_wrap.to_vec(),
    });
    assert_eq!(r, Response::Ok);
    let mut owner = Client::new(dev.clone(), acct.state.clone(), acct.umks());
    owner.login(&mut w).unwrap();
    let account = owner.account();

    // ---- the partner's key is pinned after an out-of-band fingerprint check ----
    let partner = HpkeSecretKey::random(&mut rng);
    let partner_pk = partner.public_key();
    // The partner computes it for the account it is joining; the owner for its own account.
    let shown_by_partner = partner_fingerprint(&acct.state.account(), &partner_pk);
    assert_eq!(partner_fingerprint(&account, &partner_pk), shown_by_partner);
    assert_ne!(partner_fingerprint(&blindsync::keys::AccountId([0; 32]), &partner_pk), shown_by_partner);
    let (pin, _) =
        extend(owner.chain(), Body::PinPartner { key: partner_pk, label: "partner".into() }, owner.device()).unwrap();
    owner.append_chain(&mut w, vec![pin]).unwrap();
    // The partner fetches the account chain without a session ([BAT-10]), verifies it from
    // genesis and compares the account fingerprint.
    let Response::Chain { statements } = w.call(Request::GetSharedChain { account: owner.account().0 }) else {
        panic!()
    };
    let partner_chain = ChainState::verify(&statements).unwrap();
    assert_eq!(partner_chain.fingerprint(), owner.chain().fingerprint());
    assert!(partner_chain.is_pinned(&partner_pk));

    // ---- the device records events and reports each hash as it happens ----
    let batch = BatchId([0xb1; 16]);
    let reference = hchain::reference(&account, &batch);
    let data_key = sealed::new_data_key(&mut rng);
    let mut recorder = hchain::Recorder::new(&data_key, &account, &batch);
    let start = w.now;
    let mut events = Vec::new();
    for i in 0..4u8 {
        let t = w.now;
        let shot = Event { t_ms: t, kind: EventKind::Screenshot, data: vec![i; 70_000] };
        let line = Event { t_ms: t, kind: EventKind::Log, data: format!("window {i} focused").into_bytes() };
        for e in [shot, line] {
            let report = recorder.record(&e, owner.device());
            let Response::EventHash { hash } = w.call(Request::ReportEvent {
                token: owner.token().unwrap(),
                batch_id: reference,
                event_hash: report.event_hash,
                signature: report.signature,
            }) else {
                panic!()
            };
            let _ = hash;
            events.push(e);
        }
    }
    let end = w.now;
    let expires = if tamper == Tamper::Expired { end + 60_000 } else { end + 30 * DAY };

    // ---- a (possibly modified) device seals and uploads ----
    let mut sealed_events = events.clone();
    let mut recipients = vec![owner.device().public().x25519, partner_pk];
    let mut writer_policy: ListPolicy = ListPolicy {
        writers: vec![(owner.id(), owner.device().public().ed25519)],
        allowed: recipients.clone(),
        chain: Vec::new(),
    };
    let link = BatchLink { seq: 0, prev_batch: BatchId([0; 16]), chain_head: owner.chain().head() };
    match tamper {
        Tamper::DropEvent => {
            sealed_events.remove(2);
        }
        Tamper::AlterEvent => sealed_events[2].data[0] ^= 1,
        Tamper::ReorderEvents => sealed_events.swap(2, 3), // same timestamp
        Tamper::InsertEvent => sealed_events
            .insert(4, Event { t_ms: sealed_events[3].t_ms, kind: EventKind::Log, data: b"never reported".to_vec() }),
        Tamper::UnpinnedSlot => {
            let stranger = HpkeSecretKey::random(&mut rng).public_key();
            recipients.push(stranger);
            writer_policy.allowed.push(stranger); // a modified client skips its own [BAT-4] check
        }
        _ => {}
    }
    let window = Window { start_ms: start, end_ms: end, expires_ms: expires };
    let seal = |evs: &[Event], id: BatchId, rng: &mut SeededRng| {
        let input = BatchInput {
            account,
            batch_id: id,
            suite: Suite::Aes256Gcm,
            window,
            events: evs,
            recipients: &recipients,
            data_key: &data_key,
            link,
        };
        sealed::seal(&input, owner.device(), &writer_policy, rng).unwrap()
    };
    let sealed_batch = seal(&sealed_events, batch, &mut rng);
    let r = w.call(Request::PutBatch {
        token: owner.token().unwrap(),
        batch_id: reference,
        blob: sealed_batch.blob(),
        slots: sealed_batch.slot_list(),
    });
    assert_eq!(r, Response::Ok);
    // An honest writer's own chain refuses the stranger outright.
    if tamper == Tamper::UnpinnedSlot {
        let input = BatchInput {
            account,
            batch_id: batch,
            suite: Suite::Aes256Gcm,
            window,
            events: &sealed_events,
            recipients: &recipients,
            data_key: &data_key,
            link,
        };
        assert_eq!(sealed::seal(&input, owner.device(), owner.chain(), &mut rng), Err(Error::BatchUnpinned));
    }

    // ---- the partner downloads by reference, opens its slot, decrypts, verifies ----
    let Response::Batch { mut blob, slots, mut event_hash, events: count, mut reported, signature } =
        w.call(Request::GetSharedBatch { account: account.0, batch_id: reference })
    else {
        panic!("batch not served")
    };
    assert_eq!(count, 8);
    match tamper {
        Tamper::SwapChunks | Tamper::TruncateChunk | Tamper::SwapMetadata => {
            let mut b = SealedBatch::from_wire(&blob, &slots).unwrap();
            assert!(b.body.len() > 2 * FRAME_LEN);
            match tamper {
                Tamper::SwapChunks => {
                    let (c0, c1) = (b.body[..FRAME_LEN].to_vec(), b.body[FRAME_LEN..2 * FRAME_LEN].to_vec());
                    b.body[..FRAME_LEN].copy_from_slice(&c1);
                    b.body[FRAME_LEN..2 * FRAME_LEN].copy_from_slice(&c0);
                }
                Tamper::TruncateChunk => b.body.truncate(b.body.len() - 100),
                _ => {
                    // the metadata of another batch of the same device, correctly signed
                    let other = seal(&events, BatchId([0xb2; 16]), &mut rng);
                    b.meta = other.meta;
                }
            }
            blob = b.blob();
        }
        _ => {}
    }
    if tamper == Tamper::ServerAddsReport {
        // [HCH-6] the server appends a hash of its own to accuse the device of a drop.
        reported.push([0x5e; 32]);
        event_hash = hchain::fold(&reference, &reported);
    }
    let record = ServerRecord { reference, reported, value: event_hash, signature };
    let b = SealedBatch::from_wire(&blob, &slots)?;
    let read_at = if tamper == Tamper::Expired { w.now + 120_000 } else { w.now };
    let opened = sealed::open(&account, &batch, &b, &record, &partner_chain, &partner, read_at)?;
    assert_eq!(opened.meta.writer, owner.id());
    Ok(opened.events)
}

// [BAT-1] [BAT-5] [BAT-6] [BAT-7] [BAT-8] [BAT-9] [HCH-4] [HCH-5] [SRV-9] the partner reads exactly what the device
// reported; the metadata it reads is the one the server saw in clear.
#[test]
fn partner_reads_the_batch() {
    let events = run(Tamper::None).unwrap();
    assert_eq!(events.len(), 8);
    assert_eq!(events[0].data, vec![0; 70_000]);
}

// [HCH-5] a device that drops an event before upload.
#[test]
fn dropped_event() {
    assert_eq!(run(Tamper::DropEvent), Err(Error::HchDropped));
}

// [HCH-5] a device that alters an event before upload.
#[test]
fn altered_event() {
    assert_eq!(run(Tamper::AlterEvent), Err(Error::HchAltered));
}

// [HCH-5] a device that reorders events before upload.
#[test]
fn reordered_events() {
    assert_eq!(run(Tamper::ReorderEvents), Err(Error::HchReordered));
}

// [HCH-5] a device that inserts an event it never reported.
#[test]
fn inserted_event() {
    assert_eq!(run(Tamper::InsertEvent), Err(Error::HchInserted));
}

// [STR-11] two stream chunks swapped on the way.
#[test]
fn swapped_chunks() {
    assert_eq!(run(Tamper::SwapChunks), Err(Error::StreamReordered));
}

// [STR-11] the last stream chunk cut short on the way.
#[test]
fn truncated_chunk() {
    assert_eq!(run(Tamper::TruncateChunk), Err(Error::StreamTruncated));
}

// [BAT-8] metadata swapped for another batch's.
#[test]
fn swapped_metadata() {
    assert_eq!(run(Tamper::SwapMetadata), Err(Error::BatchId));
}

// [BAT-4] [BAT-8] a device that also wraps the batch key to a key the chain does not pin.
#[test]
fn slot_for_unpinned_key() {
    assert_eq!(run(Tamper::UnpinnedSlot), Err(Error::BatchUnpinned));
}

// [BAT-8] a batch read after its signed retention expiry.
#[test]
fn expired_batch() {
    assert_eq!(run(Tamper::Expired), Err(Error::BatchExpired));
}

// [HCH-6] [SRV-9] the server appends a report of its own to the record to frame the device
// (E_HCH_DROPPED): the device's report signature does not cover it, so the partner blames the
// record, not the device.
#[test]
fn server_cannot_frame_the_device() {
    assert_eq!(run(Tamper::ServerAddsReport), Err(Error::HchSignature));
}
