//! Sharing with a partner through the client's operations (spec 10, 11.7,
//! [CLIENT-3]): the owner pins the partner, reports event hashes as they
//! happen and stores the sealed batch; the partner opens it with
//! [`PartnerOpen`], and refuses a chain that does not pin it or goes back.

use blindsync::batch::hchain::{self, Recorder};
use blindsync::batch::sealed::{self, BatchInput, BatchLink, Window};
use blindsync::batch::{BatchId, Event, EventKind};
use blindsync::chain::ChainState;
use blindsync::client::{Client, Outcome, PartnerOpen, PartnerState, Transport, run};
use blindsync::envelope::Suite;
use blindsync::error::Error;
use blindsync::hpke::HpkeSecretKey;
use blindsync::primitives::SeededRng;
use blindsync::server::wire::{Request, Response};
use blindsync_testkit::net::{Net, register};

const DAY: u64 = 86_400_000;

fn owner(net: &mut Net, rng: &mut SeededRng) -> Client {
    register(net, b"owner@example.org", b"pw", rng).unwrap().client
}

/// The owner records two events, reporting each, and stores the batch for itself and `partner`.
fn share(net: &mut Net, rng: &mut SeededRng, owner: &mut Client, partner: [u8; 32], batch: BatchId) {
    let account = owner.account();
    let reference = hchain::reference(&account, &batch);
    let data_key = sealed::new_data_key(rng);
    let mut recorder = Recorder::new(&data_key, &account, &batch);
    let start = net.now_ms;
    let mut events = Vec::new();
    for i in 0..2u8 {
        let e = Event { t_ms: net.now_ms, kind: EventKind::Log, data: vec![i; 100] };
        let report = recorder.record(&e, owner.device());
        owner.start_report_event(reference, report.event_hash, report.signature).unwrap();
        assert!(matches!(drive(owner, net), Outcome::Reported(_)));
        events.push(e);
    }
    let recipients = [owner.device().public().x25519, partner];
    let input = BatchInput {
        account,
        batch_id: batch,
        suite: Suite::Aes256Gcm,
        window: Window { start_ms: start, end_ms: net.now_ms, expires_ms: net.now_ms + 30 * DAY },
        events: &events,
        recipients: &recipients,
        data_key: &data_key,
        link: BatchLink { seq: 0, prev_batch: BatchId([0; 16]), chain_head: owner.chain().head() },
    };
    let sealed = sealed::seal(&input, owner.device(), owner.chain(), rng).unwrap();
    owner.start_put_batch(reference, &sealed).unwrap();
    assert_eq!(drive(owner, net), Outcome::BatchStored);
}

fn drive(c: &mut Client, net: &mut Net) -> Outcome {
    run(c, net).unwrap()
}

// [CLIENT-3] [BAT-4] [BAT-10] [SRV-9] pin, report, store, open: the partner reads what was recorded.
#[test]
fn partner_opens_a_shared_batch() {
    let mut rng = SeededRng::from_label("client-share");
    let mut net = Net { now_ms: 1_767_225_600_000, ..Net::new("client-share") };
    let mut owner = owner(&mut net, &mut rng);
    let partner = HpkeSecretKey::random(&mut rng);
    let batch = BatchId([0xb1; 16]);

    // not pinned yet: the partner refuses the chain before fetching anything else
    let mut state = PartnerState::default();
    let mut open = PartnerOpen::new(&partner, owner.account(), batch, net.now_ms, &mut state);
    assert_eq!(run(&mut open, &mut net).err(), Some(Error::BatchUnpinned));
    assert_eq!(state.chain, None);

    owner.pin_partner(&mut net, partner.public_key(), "partner").unwrap();
    share(&mut net, &mut rng, &mut owner, partner.public_key(), batch);
    let mut open = PartnerOpen::new(&partner, owner.account(), batch, net.now_ms, &mut state);
    let opened = run(&mut open, &mut net).unwrap();
    let chain = state.chain.clone().unwrap();
    assert_eq!(opened.meta.writer, owner.id());
    assert_eq!(opened.events.len(), 2);
    assert_eq!(opened.events[1].data, vec![1; 100]);
    assert_eq!(chain.fingerprint(), owner.chain().fingerprint());

    // [CHAIN-10] a server that serves the partner an older chain than it verified is refused
    let genesis = ChainState::verify(&net.server.store_chain(&owner.account())[..1]).unwrap();
    let mut short = |r: Request| match r {
        Request::GetSharedChain { .. } => Response::Chain { statements: genesis.encoded() },
        r => net.call(r),
    };
    let mut open = PartnerOpen::new(&partner, owner.account(), batch, 0, &mut state);
    assert_eq!(run(&mut open, &mut short).err(), Some(Error::ChainRollback));
    assert_eq!(state.chain, Some(chain), "a refused chain changes nothing");
}
