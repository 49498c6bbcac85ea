//! Mutation tests of the model's properties (spec 12.3, [MODEL-17]): for every `always`
//! property, a deliberately wrong client or server (a hook of `Mutants`, set here in test code
//! only, or a library switch of spec 12.5) that the checker catches, naming exactly that
//! property. A property no mutant can break would be one that cannot fail.

use std::collections::BTreeSet;

use blindsync::chain::ChainState;
use blindsync::client::{Alert, Client, SyncReport};
use blindsync::danger::{Defences, Weakening};
use blindsync::server::wire::Request;
use blindsync_model::properties as p;
use blindsync_model::runner::find_violation_in;
use blindsync_model::{Action, Capability, Config, Model, Mutants, Serve, State};
use stateright::Model as _;

fn config(caps: &[Capability], writes: u8) -> Config {
    let capabilities: BTreeSet<Capability> = caps.iter().copied().collect();
    let malice = u8::from(!capabilities.is_empty());
    Config { capabilities, malice, writes, ..Config::default() }
}

fn model(cfg: Config, mutants: Mutants) -> Model {
    let mut m = Model::new(cfg).unwrap();
    m.mutants = mutants;
    m
}

/// The checker, run breadth-first until a safety property fails, reports exactly `expected`.
fn caught(m: &Model, expected: &[&str]) {
    let out = find_violation_in(m, 2);
    let violated: BTreeSet<&str> = out.violated().into_iter().collect();
    let want: BTreeSet<&str> = expected.iter().copied().collect();
    assert_eq!(violated, want, "{}", out.report());
    for name in expected {
        let pr = out.property(name).unwrap();
        assert!(!pr.steps.is_empty() && pr.replay.is_some());
        println!("{name}:\n  {}", pr.steps.join("\n  "));
    }
}

/// The same model without its mutants finds nothing: the property fails because of the mutant.
fn clean(m: &Model) {
    let mut clean = m.clone();
    clean.mutants = Mutants::default();
    let out = find_violation_in(&clean, 2);
    assert!(out.violated().is_empty(), "{}", out.report());
}

/// The always properties violated in `s`.
fn violated_at(m: &Model, s: &State) -> Vec<&'static str> {
    m.properties()
        .into_iter()
        .filter(|pr| pr.expectation == stateright::Expectation::Always && !(pr.condition)(m, s))
        .map(|pr| pr.name)
        .collect()
}

fn run(m: &Model, actions: &[Action]) -> State {
    actions.iter().fold(m.init(), |s, a| m.step(&s, *a).unwrap_or_else(|| panic!("{a:?} did nothing")))
}

// [MODEL-17] [MODEL-3] [G-FORK-DETECTED] a client that ignores a forked branch (refuses it, as
// the library does, but raises no E_CHAIN_FORK) fails "forks detected".
#[test]
fn mutant_client_silent_on_fork() {
    fn silent(_: &Client, _: &mut Client, r: &mut SyncReport) {
        r.alerts.retain(|a| *a != Alert::Fork);
    }
    let m = model(config(&[Capability::ForkChain], 2), Mutants { sync: Some(silent), ..Mutants::default() });
    caught(&m, &[p::FORKS]);
    clean(&m);
}

// [MODEL-17] [MODEL-3] [G-WITHHOLDING-DETECTED] a client that takes a later write after a
// withheld one without E_SYNC_WITHHELD (it drops the alert) fails "withholding detected",
// judged on what was written and served, not on the client's counters.
#[test]
fn mutant_client_silent_on_gap() {
    fn silent(_: &Client, _: &mut Client, r: &mut SyncReport) {
        r.alerts.retain(|a| !matches!(a, Alert::Withheld { .. }));
    }
    let m = model(config(&[Capability::Withhold], 2), Mutants { sync: Some(silent), ..Mutants::default() });
    caught(&m, &[p::WITHHOLDING]);
    clean(&m);
}

// [MODEL-17] [MODEL-3] [SYNC-9] [G-WITHHOLDING-DETECTED] the superseded-stub half: a client that
// reports the first write it takes in a sync as missing raises E_SYNC_WITHHELD for a stub that
// a newer revision supersedes. In an honest run that is also an alert an honest run must not
// raise; after a deviation (the server first serves a stale chain, which changes nothing) it is
// that property alone.
#[test]
fn mutant_client_reports_superseded_stub() {
    fn false_gap(before: &Client, after: &mut Client, r: &mut SyncReport) {
        let writers: Vec<_> = after.chain().devices().keys().copied().collect();
        for w in writers {
            if after.last_seq(&w) > before.last_seq(&w) {
                r.alerts.push(Alert::Withheld { writer: w, missing_seq: before.last_seq(&w) + 1 });
            }
        }
    }
    let m = model(config(&[], 2), Mutants { sync: Some(false_gap), ..Mutants::default() });
    caught(&m, &[p::NO_FALSE_GAP, p::HONEST_QUIET]);
    let m = model(config(&[Capability::StaleChain], 2), Mutants { sync: Some(false_gap), ..Mutants::default() });
    let s = run(
        &m,
        &[
            Action::Sync { device: 1, serve: Serve::StaleChain },
            Action::Write { device: 0, record: 0 },
            Action::Write { device: 0, record: 0 },
        ],
    );
    assert!(violated_at(&m, &s).is_empty());
    let s = m.step(&s, Action::Sync { device: 1, serve: Serve::Honest }).unwrap();
    assert_eq!(violated_at(&m, &s), vec![p::NO_FALSE_GAP]);
}

// [MODEL-17] [MODEL-3] a client that raises a false alarm (E_SYNC_ROLLBACK whenever it applies
// anything) fails "an honest run raises no alert", and nothing else.
#[test]
fn mutant_client_false_alarm() {
    fn alarm(_: &Client, after: &mut Client, r: &mut SyncReport) {
        if r.applied > 0 {
            r.alerts.push(Alert::Rollback { writer: after.id(), seq: 0 });
        }
    }
    let m = model(config(&[], 2), Mutants { sync: Some(alarm), ..Mutants::default() });
    caught(&m, &[p::HONEST_QUIET]);
}

// [MODEL-17] [MODEL-3] a client that forgets what each sync gave it (it keeps its state from
// before the sync, silently) never catches up: the run becomes quiescent with devices apart, and
// "quiescent honest runs have converged" fails (the old `eventually` held in the initial state).
#[test]
fn mutant_client_stuck() {
    fn forget(before: &Client, after: &mut Client, r: &mut SyncReport) {
        if r.applied > 0 {
            *after = before.clone();
        }
    }
    let m = model(config(&[], 1), Mutants { sync: Some(forget), ..Mutants::default() });
    caught(&m, &[p::CONVERGE]);
}

// [MODEL-17] [MODEL-3] [G-KEYS-STAY-HOME] a client that sends one of its keys in an identifier
// (as the e-mail of a GetKdf lookup, next to each listing) fails "keys never reach the server".
#[test]
fn mutant_client_leaks_a_key() {
    fn leak(r: &Request, secrets: &[[u8; 32]]) -> Option<Request> {
        let key = secrets.last()?;
        matches!(r, Request::ListSince { .. }).then(|| Request::GetKdf { email: key.to_vec() })
    }
    let m = model(config(&[], 1), Mutants { leak: Some(leak), ..Mutants::default() });
    caught(&m, &[p::KEYS_STAY_HOME]);
}

// [MODEL-17] [MODEL-3] [G-CHAIN-AUTHORITY] a restoring device that, refused by enrollment, takes
// the counterfeit chain anyway when it verifies without proofs of possession holds statements
// the server signed: "chain statements are the account's" fails (it holds no UMK, so no key
// property does).
#[test]
fn mutant_restoring_device_takes_counterfeit_chain() {
    fn take(served: &[Vec<u8>]) -> Option<ChainState> {
        ChainState::verify_with(served, &Defences::ALL.without(Weakening::NoPossessionCheck)).ok()
    }
    let m = model(config(&[Capability::CounterfeitChain], 2), Mutants { enroll: Some(take), ..Mutants::default() });
    caught(&m, &[p::CHAIN_AUTHORITY]);
    clean(&m);
}

// [MODEL-17] [MODEL-3] [G-CHUNK-INTEGRITY] a stream reader that, when the open fails, hands over
// the served bytes fails "stream chunks intact".
#[test]
fn mutant_reader_ignores_stream_failure() {
    fn lax(served: &[u8], opened: &blindsync::error::Result<Vec<u8>>) -> Option<Vec<u8>> {
        opened.is_err().then(|| served.to_vec())
    }
    let m = model(config(&[Capability::TamperChunks], 2), Mutants { stream: Some(lax), ..Mutants::default() });
    caught(&m, &[p::CHUNKS]);
    clean(&m);
}

// [MODEL-17] [MODEL-8] [G-KEY-INTEGRITY] a client that derives the next epoch's UMK itself
// instead of taking the one the chain vouches for holds a UMK outside `genuine` (one the server
// does not know either): key integrity alone fails.
#[test]
fn mutant_client_makes_its_own_umk() {
    fn own(_: &Client, after: &mut Client, _: &mut SyncReport) {
        let next = after.chain().epoch() + 1;
        if !after.umks().contains_key(&next) {
            let seed = blindsync::primitives::sha256(&[after.device().signing_seed().expose(), b"own umk"]);
            after.add_umk(next, blindsync::keys::Umk::from_bytes(seed));
        }
    }
    let m = model(config(&[], 1), Mutants { sync: Some(own), ..Mutants::default() });
    caught(&m, &[p::KEY_INTEGRITY]);
}

// [MODEL-17] [MODEL-3] [G-INTEGRITY] integrity covers the epoch: a device holding, for a write's
// (writer, seq), the identity of an envelope whose header says another epoch than the one
// written is caught (the ground truth is mutated here to stand for that envelope: the device's
// identity no longer matches what was written).
#[test]
fn integrity_covers_the_epoch() {
    let m = model(config(&[], 1), Mutants::default());
    let s = run(&m, &[Action::Write { device: 0, record: 0 }, Action::Sync { device: 1, serve: Serve::Honest }]);
    assert!(violated_at(&m, &s).is_empty());
    let mut bad = s.clone();
    let w = bad.ghost.written.pop_first().unwrap();
    let env = bad.archive.last().unwrap();
    let mut h = blindsync::envelope::Header::decode(&env[..blindsync::envelope::HEADER_LEN]).unwrap();
    h.epoch += 1;
    let digest = blindsync::envelope::EnvelopeRef::decode(env).unwrap().stub().body_digest;
    let identity = blindsync::primitives::sha256(&[&h.encode(), &digest]);
    bad.ghost.written.insert(blindsync_model::system::Written { epoch: h.epoch, identity, ..w });
    assert_eq!(violated_at(&m, &bad), vec![p::INTEGRITY]);
}

// [MODEL-17] [MODEL-3] [SYNC-6] a writer that does not keep a write whose answer was lost (its
// state goes back to before it signed) signs its next write, to the other record, with the same
// sequence number: the server stores both, another device is listed one writer's two envelopes
// for one number (E_SYNC_EQUIVOCATION), and in a run whose only deviation is that lost answer
// "an honest run raises no alert" fails.
#[test]
fn mutant_client_forgets_a_lost_write() {
    let cfg = Config { records: 2, ..config(&[Capability::LoseAck], 2) };
    let m = model(cfg.clone(), Mutants { forget_lost_write: true, ..Mutants::default() });
    caught(&m, &[p::HONEST_QUIET]);
    let honest = model(cfg, Mutants::default());
    assert!(find_violation_in(&honest, 2).violated().is_empty());
}

// [MODEL-17] [MODEL-3] [SYNC-14] [G-FORK-DETECTED] a client that takes R's revocation while it holds
// R's other alternative of the write the revocation pins, and drops the split alert (it still takes
// the chain and ends the sync as the library does), fails "a revoked writer's split history is
// alerted", judged on what it holds against what the revocation pins.
#[test]
fn mutant_client_silent_on_split() {
    fn silent(_: &Client, _: &mut Client, r: &mut SyncReport) {
        r.alerts.retain(|a| !matches!(a, Alert::Equivocation { .. }));
    }
    let m = model(config(&[Capability::SplitHistory], 2), Mutants { sync: Some(silent), ..Mutants::default() });
    caught(&m, &[p::SPLIT_DETECTED]);
    clean(&m);
}
