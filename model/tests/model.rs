//! The model checker's own tests (spec 12): with every defence on, every
//! property holds in every reachable state of the default configuration;
//! with each defence off, the checker finds the attack it exists for.

use std::collections::BTreeSet;

use blindsync::danger::{Defences, Weakening};
use blindsync_model::properties::{self, broken_by};
use blindsync_model::runner::find_violation;
use blindsync_model::{Action, Capability, Config, Model, Serve, State, run_check};
use stateright::Model as _;

/// The default configuration's unique state count: a change in the model,
/// the client or the server that changes the explored space shows here. [MODEL-6]
const DEFAULT_UNIQUE_STATES: usize = 39_384;

// [MODEL-1] [MODEL-2] [MODEL-3] [MODEL-4] [MODEL-6] the default configuration: every safety
// property holds in every reachable state, every capability is used and every alert fires.
#[test]
fn default_configuration_holds() {
    let out = run_check(&Config::default(), 2, false).unwrap();
    println!("{}", out.report());
    assert!(out.all_hold(), "{}", out.report());
    assert_eq!(
        out.unique, DEFAULT_UNIQUE_STATES,
        "the default state space changed: re-pin it and update model/README.md"
    );
}

/// What `blindsync check` exhausts ([`blindsync_model::DEFAULT_MALICE`] deviations): its unique
/// and generated state counts. [MODEL-4] [MODEL-19]
const CHECK_STATES: (usize, usize) = (781_603, 2_587_590);

// [MODEL-4] [MODEL-19] the configuration `blindsync check` exhausts, two deviations, depth-first:
// every property holds and the space is the pinned one. Release builds only (tens of CPU seconds
// optimized; CI runs it through `blindsync check` in release).
#[test]
#[cfg_attr(debug_assertions, ignore = "release only: cargo test --release -p blindsync-model")]
fn check_configuration_holds() {
    let config = Config { malice: blindsync_model::DEFAULT_MALICE, ..Config::default() };
    let out = blindsync_model::runner::run_model_exhaustive(&Model::new(config).unwrap(), 2, false);
    println!("{}", out.report());
    assert!(out.all_hold(), "{}", out.report());
    assert_eq!(
        (out.unique, out.states),
        CHECK_STATES,
        "the space `blindsync check` exhausts changed: re-pin it and update model/README.md"
    );
}

/// The capability that carries the attack a weakening lets through.
fn attack(w: Weakening) -> Capability {
    match w {
        Weakening::NoSignatureCheck => Capability::Collude,
        Weakening::NoAadBinding => Capability::SwapRecord,
        Weakening::NoKeyCommitment => Capability::SwapAccount,
        Weakening::NoRollbackCheck => Capability::Replay,
        Weakening::NoSequenceGapCheck => Capability::Withhold,
        Weakening::NoForkCheck => Capability::ForkChain,
        Weakening::UnpinnedKeysAccepted => Capability::SubstitutePartnerKey,
        Weakening::AnyKdfParams => Capability::WeakKdf,
        Weakening::NoKeyCheck => Capability::SplitRotation,
        Weakening::NoBundleCommit => Capability::ForgeBundle,
        Weakening::NoPossessionCheck => Capability::CounterfeitChain,
        // Password enrollment with a served KDF is not modelled (spec 12.5): no test uses this.
        Weakening::UnpinnedKdf => Capability::WeakKdf,
        Weakening::NoCascade => Capability::CompromiseThenInstall,
        Weakening::NoPrevCheck => Capability::EquivocateBelowBound,
        Weakening::NoStaleHeadAlert => Capability::FreezeView,
        Weakening::NoRevocationSplitAlert => Capability::SplitHistory,
        Weakening::NoDeviceMetaOwnerCheck => Capability::RenameDevice,
        // Not attacked by the model (spec 12.5: library tests show them): no test uses these.
        Weakening::NoRevisionStep | Weakening::NoStaleEpochCheck | Weakening::UnorderedListing => Capability::Collude,
    }
}

fn weakened(w: Weakening) -> Config {
    Config { capabilities: BTreeSet::from([attack(w)]), defences: Defences::ALL.without(w), ..Config::default() }
}

fn check_weakening(w: Weakening) {
    check_config(w, &weakened(w), broken_by(w));
}

fn check_config(w: Weakening, cfg: &Config, expected: Option<&str>) {
    let out = find_violation(cfg, 2).unwrap();
    let violated = out.violated();
    match expected {
        Some(name) => {
            // [MODEL-17] exactly the property the defence serves; a UMK the server made fails both
            // key integrity and confidentiality (it cannot match the chain's key check)
            let mut want = vec![name];
            if [properties::KEY_INTEGRITY, properties::CONFIDENTIALITY].contains(&name) && violated.len() == 2 {
                want = vec![properties::KEY_INTEGRITY, properties::CONFIDENTIALITY];
            }
            let (mut got, mut want) = (violated.clone(), want);
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "{w:?}: expected a counterexample for {name} only\n{}", out.report());
            let p = out.property(name).unwrap();
            assert!(!p.steps.is_empty() && p.replay.is_some());
            println!("{}: {}\n{}", w.name(), name, p.steps.join("\n"));
        }
        None => assert!(violated.is_empty(), "{w:?}\n{}", out.report()),
    }
}

// [MODEL-5] [G-INTEGRITY] without signature checks, the revoked device's envelope claiming the owner is accepted.
#[test]
fn weakening_no_signature_check() {
    check_weakening(Weakening::NoSignatureCheck);
}

// [MODEL-5] [G-INTEGRITY] without the location binding, an envelope moved to another record is accepted there.
#[test]
fn weakening_no_aad_binding() {
    check_weakening(Weakening::NoAadBinding);
}

// [MODEL-5] [G-NO-ROLLBACK] without high-water marks, a replayed older envelope replaces a newer one.
#[test]
fn weakening_no_rollback_check() {
    check_weakening(Weakening::NoRollbackCheck);
}

// [MODEL-5] [G-WITHHOLDING-DETECTED] without the gap check, a withheld write goes unnoticed.
#[test]
fn weakening_no_sequence_gap_check() {
    check_weakening(Weakening::NoSequenceGapCheck);
}

// [MODEL-5] [G-FORK-DETECTED] without the fork check, a device silently switches chain branch.
#[test]
fn weakening_no_fork_check() {
    check_weakening(Weakening::NoForkCheck);
}

// [MODEL-5] [MODEL-17] [SYNC-11] [G-FORK-DETECTED] the switch's other half: an envelope whose chain
// head is on the other branch. B revokes R on the branch the server keeps and writes there; the
// owner revokes R on the stored chain and syncs: with the head check it raises E_CHAIN_FORK (not
// E_ENV_COMMITMENT, which the other branch's epoch key gives); without it, no fork alert.
#[test]
fn weakening_no_fork_check_envelope_head() {
    let path = [
        Action::Revoke { device: 1, fork: true },
        Action::Write { device: 1, record: 0 },
        Action::Revoke { device: 0, fork: false },
        Action::Sync { device: 0, serve: Serve::Honest },
    ];
    let on = Model::new(Config { capabilities: BTreeSet::from([Capability::ForkChain]), ..Config::default() }).unwrap();
    let s = run(&on, &path);
    assert!(
        s.ghost.alerts.contains("E_CHAIN_FORK") && !s.ghost.alerts.contains("E_ENV_COMMITMENT"),
        "{:?}",
        s.ghost.alerts
    );
    assert!(violated_at(&on, &s).is_empty());
    let off = Model::new(weakened(Weakening::NoForkCheck)).unwrap();
    let s = run(&off, &path);
    assert!(!s.ghost.alerts.contains("E_CHAIN_FORK"), "{:?}", s.ghost.alerts);
    assert_eq!(violated_at(&off, &s), vec![properties::FORKS]);
}

// [MODEL-5] [MODEL-17] [G-NO-ROLLBACK] the rollback switch's other half: without it a device takes
// a stale (shorter) chain, and "no rollback" fails (the weakening test above re-finds the record half
// with a replay).
#[test]
fn weakening_no_rollback_check_chain() {
    let cfg = Config {
        capabilities: BTreeSet::from([Capability::StaleChain]),
        defences: Defences::ALL.without(Weakening::NoRollbackCheck),
        ..Config::default()
    };
    check_config(Weakening::NoRollbackCheck, &cfg, Some(properties::NO_ROLLBACK));
    let out = find_violation(&cfg, 2).unwrap();
    let steps = &out.property(properties::NO_ROLLBACK).unwrap().steps;
    assert!(steps.iter().any(|s| s.contains("without its last statement")), "{steps:?}");
}

/// The always properties violated in `s`.
fn violated_at(m: &Model, s: &State) -> Vec<&'static str> {
    m.properties()
        .into_iter()
        .filter(|p| p.expectation == stateright::Expectation::Always && !(p.condition)(m, s))
        .map(|p| p.name)
        .collect()
}

// [MODEL-5] [G-PINNED-KEYS-ONLY] without pinning, the data key is wrapped to the server's key.
#[test]
fn weakening_unpinned_keys_accepted() {
    check_weakening(Weakening::UnpinnedKeysAccepted);
}

// [MODEL-5] [G-NO-DOWNGRADE] without the floor, the server's weak KDF parameters are used.
#[test]
fn weakening_any_kdf_params() {
    check_weakening(Weakening::AnyKdfParams);
}

// [MODEL-5] key commitment: in this protocol every attack it stops is also stopped by the signature
// over the header and body (spec 12.5); the model finds no counterexample, and says so.
#[test]
fn weakening_no_key_commitment_is_covered_by_signatures() {
    check_weakening(Weakening::NoKeyCommitment);
}

// [MODEL-4] [MODEL-3] with an honest server, every run ends with all devices converged.
#[test]
fn honest_server_converges() {
    let cfg = Config { writes: 3, ..Config::default().honest() };
    let out = run_check(&cfg, 2, false).unwrap();
    assert!(out.all_hold(), "{}", out.report());
    assert!(out.property(properties::CONVERGE).is_some_and(|p| p.holds));
    assert!(out.property(properties::CONVERGE_SOMETIMES).is_some_and(|p| p.holds));
}

// [MODEL-5] [MODEL-7] [MODEL-8] [G-KEY-INTEGRITY] without key checks, a restored device takes the UMK a split rotation
// by R gave the recovery path instead of the epoch's UMK.
#[test]
fn weakening_no_key_check() {
    check_weakening(Weakening::NoKeyCheck);
}

// [MODEL-5] the bundle commitment: with it off, the key check still refuses every UMK of a forged
// bundle (E_KEY_CHECK), so the model finds no counterexample (spec 12.5).
#[test]
fn weakening_no_bundle_commit_is_covered_by_key_checks() {
    check_weakening(Weakening::NoBundleCommit);
}

// [MODEL-5] the key check against a forged bundle: with it off, the commitment in the approver's
// add-device statement still refuses the server's bundle (E_DEVICE_BUNDLE).
#[test]
fn weakening_no_key_check_forged_bundle_is_covered_by_commitment() {
    let cfg = Config { capabilities: BTreeSet::from([Capability::ForgeBundle]), ..weakened(Weakening::NoKeyCheck) };
    check_config(Weakening::NoKeyCheck, &cfg, None);
}

// [MODEL-5] [MODEL-7] [MODEL-8] [G-CONFIDENTIALITY] forge-bundle is a real attack: with both the commitment and the
// key check off, device N takes the server's UMKs, which the server knows.
#[test]
fn forged_bundle_needs_commitment_and_key_check_both_off() {
    let cfg = Config {
        capabilities: BTreeSet::from([Capability::ForgeBundle]),
        defences: Defences::ALL.without(Weakening::NoBundleCommit).without(Weakening::NoKeyCheck),
        ..Config::default()
    };
    check_config(Weakening::NoBundleCommit, &cfg, Some(properties::CONFIDENTIALITY));
    check_config(Weakening::NoKeyCheck, &cfg, Some(properties::KEY_INTEGRITY));
}

// [MODEL-5] [MODEL-7] proofs of possession: with them off, the counterfeit chain verifies and the recovery
// authority is current in it, but enrollment then opens the chapter 5 wrap with the counterfeit
// account id and fails (E_WRAP_OPEN): the model finds no counterexample (spec 12.5), and the
// check that stops the attack moves from E_CHAIN_POSSESSION to E_WRAP_OPEN.
#[test]
fn weakening_no_possession_check_is_covered_by_wrap_binding() {
    check_weakening(Weakening::NoPossessionCheck);
    for (defences, code) in
        [(Defences::ALL, "E_CHAIN_POSSESSION"), (Defences::ALL.without(Weakening::NoPossessionCheck), "E_WRAP_OPEN")]
    {
        let model = Model::new(Config { defences, ..weakened(Weakening::NoPossessionCheck) }).unwrap();
        let after = model.step(&model.init(), Action::Enroll { counterfeit: true }).unwrap();
        assert!(after.onboarded.is_none());
        assert_eq!(after.ghost.alerts.iter().copied().collect::<Vec<_>>(), vec![code]);
    }
}

// [MODEL-5] [MODEL-9] [G-REVOCATION] without the cascade, R's sleeper survives R's revocation, receives the new
// epoch's UMK, and the adversary reads what is written after the revocation.
#[test]
fn weakening_no_cascade() {
    check_weakening(Weakening::NoCascade);
}

/// The verdict of the property `name` in state `s`.
fn holds(m: &Model, s: &State, name: &str) -> bool {
    let p = m.properties().into_iter().find(|p| p.name == name).unwrap();
    (p.condition)(m, s)
}

/// Runs `actions` from the initial state; every one must change the state.
fn run(m: &Model, actions: &[Action]) -> State {
    actions.iter().fold(m.init(), |s, a| m.step(&s, *a).unwrap_or_else(|| panic!("{a:?} did nothing")))
}

// [MODEL-9] [G-REVOCATION] the property covers every writer, not only the revoker: after R installs a sleeper and is
// revoked without the cascade, device B (not the revoker) writes once it has the new epoch, and the
// sleeper's key opens it; with the cascade, the same run is refused nothing and the sleeper gets no key.
#[test]
fn revocation_covers_every_writer() {
    let install = Config {
        capabilities: BTreeSet::from([Capability::CompromiseThenInstall]),
        defences: Defences::ALL.without(Weakening::NoCascade),
        ..Config::default()
    };
    let steps = [
        Action::Install,
        Action::Sync { device: 0, serve: Serve::Honest },
        Action::Revoke { device: 0, fork: false },
        Action::Sync { device: 1, serve: Serve::Honest },
    ];
    let b_writes = Action::Write { device: 1, record: 0 };
    let weak = Model::new(install.clone()).unwrap();
    let s = run(&weak, &steps);
    assert!(holds(&weak, &s, properties::REVOCATION), "nothing written yet");
    assert!(!s.ghost.adversary.0.is_empty(), "the sleeper's wrap gave the adversary the new UMK");
    let s = weak.step(&s, b_writes).unwrap();
    assert!(!holds(&weak, &s, properties::REVOCATION), "B's write after the revocation is readable");
    let strong = Model::new(Config { defences: Defences::ALL, ..install }).unwrap();
    let s = run(&strong, &steps);
    let sleeper = strong.fixture.sleeper.id();
    assert!(s.devices[0].chain().revoked().contains_key(&sleeper), "the honest revoker cascades");
    assert!(s.devices[0].chain().partners().keys().all(|k| *k != strong.fixture.server_hpke), "and unpins");
    assert!(s.ghost.adversary.0.is_empty());
    let s = strong.step(&s, b_writes).unwrap();
    assert!(holds(&strong, &s, properties::REVOCATION));
}

// [MODEL-9] the property can fail for a writer that has seen the revocation yet seals in an older epoch (a mutation
// in test code: B's header is rewritten to epoch 0 and R's key tried on it), and leaves out only the
// residual of spec 1.6 item 17: a frozen device's write in the old epoch at a head before the revocation.
#[test]
fn revocation_residual_is_only_the_frozen_view() {
    let cfg = Config { capabilities: BTreeSet::from([Capability::FreezeView]), ..Config::default() };
    let m = Model::new(cfg).unwrap();
    let s = run(
        &m,
        &[
            Action::Revoke { device: 0, fork: false },
            Action::Sync { device: 1, serve: Serve::FreezeView },
            Action::Write { device: 1, record: 0 },
        ],
    );
    assert_eq!(s.devices[1].chain().epoch(), 0, "B's view is frozen before the revocation");
    assert!(s.ghost.residual && holds(&m, &s, properties::RESIDUAL));
    assert!(holds(&m, &s, properties::REVOCATION), "R reads B's epoch-0 write: the documented residual");
    let s = m.step(&s, Action::Sync { device: 0, serve: Serve::Honest }).unwrap();
    // the owner's first sync after its revocation sets its boundary ([SYNC-17]): B's write is listed
    // up to it, may predate the revocation as far as the owner can tell, and is not alerted
    assert!(s.ghost.alerts.is_empty() && !s.ghost.stale_alerted);
    assert!(holds(&m, &s, properties::FRESHNESS));
    // the same write by a B that has seen the revocation is sealed in epoch 1, and nothing R holds opens it
    let s = run(
        &m,
        &[
            Action::Revoke { device: 0, fork: false },
            Action::Sync { device: 1, serve: Serve::Honest },
            Action::Write { device: 1, record: 0 },
        ],
    );
    assert!(!s.ghost.residual && holds(&m, &s, properties::REVOCATION));
    // mutation: a writer that ignores the new epoch (seals in epoch 0 at its new head) is caught
    let mut bad = s.clone();
    let r = bad.revoked.umks().get(&0).unwrap().clone();
    bad.ghost.adversary.learn(0, &r);
    let env = bad.archive.last().unwrap().clone();
    let mut h = blindsync::envelope::Header::decode(&env[..blindsync::envelope::HEADER_LEN]).unwrap();
    let keys = blindsync::keys::EpochKeys::derive(&r, &m.fixture.account, 0);
    let ck = keys.collection_key(blindsync_model::fixture::COLLECTION).unwrap();
    h.epoch = 0;
    h.commitment = blindsync::envelope::key_schedule(&ck, &h.salt, h.suite).commitment;
    let mut forged = env.clone();
    forged.splice(..blindsync::envelope::HEADER_LEN, h.encode());
    bad.archive.push(forged);
    assert!(!holds(&m, &bad, properties::REVOCATION), "an old-epoch write at a head after the revocation");
}

// [MODEL-2] [CHAIN-20] revoke-without-rotate: R's revoke statement that keeps the epoch is refused by every device
// (E_CHAIN_EPOCH) and changes no device state.
#[test]
fn revoke_without_rotate_is_refused() {
    let cfg = Config { capabilities: BTreeSet::from([Capability::RevokeWithoutRotate]), ..Config::default() };
    let m = Model::new(cfg).unwrap();
    let s0 = m.init();
    let s = m.step(&s0, Action::Sync { device: 1, serve: Serve::RevokeWithoutRotate }).unwrap();
    assert_eq!(s.ghost.alerts.iter().copied().collect::<Vec<_>>(), vec!["E_CHAIN_EPOCH"]);
    assert_eq!(s.devices, s0.devices);
    assert!(s.devices[1].chain().is_active(&s.revoked.id()));
}

// [MODEL-2] [MODEL-5] [SYNC-15] [G-REVOCATION] without the prev check, R's re-signed alternative of its first write,
// served after its revocation to a device that had not taken it, is accepted below the bound (and wins
// last-writer-wins); the counterexample is R's writes, the owner's sync and revocation, then B's sync.
#[test]
fn weakening_no_prev_check() {
    check_weakening(Weakening::NoPrevCheck);
}

// [MODEL-5] [MODEL-9] [SYNC-17] without the stale-head alert, the owner takes the frozen device's old-head write
// listed after it held the revocation, and no alert fires.
#[test]
fn weakening_no_stale_head_alert() {
    check_weakening(Weakening::NoStaleHeadAlert);
}

// [MODEL-2] [MODEL-3] [SYNC-14] [SYNC-15] equivocate-below-bound with every defence on: both variants are refused
// (the alternative's successor's prev names R's real first write: E_SYNC_EQUIVOCATION; without the successor,
// R's items are not complete up to its bound: E_SYNC_WITHHELD), and the checker finds nothing.
#[test]
fn equivocation_below_bound_is_detected() {
    let cfg = Config { capabilities: BTreeSet::from([Capability::EquivocateBelowBound]), ..Config::default() };
    let out = run_check(&cfg, 2, false).unwrap();
    println!("{}", out.report());
    assert!(out.all_hold(), "{}", out.report());
    let m = Model::new(cfg).unwrap();
    let prefix = [
        Action::RevokedWrites,
        Action::Sync { device: 0, serve: Serve::Honest },
        Action::Revoke { device: 0, fork: false },
    ];
    let s = run(&m, &prefix);
    assert_eq!(s.devices[0].chain().revoked().get(&s.revoked.id()).map(|r| r.max_seq), Some(2));
    for (withhold_tail, code) in [(false, "E_SYNC_EQUIVOCATION"), (true, "E_SYNC_WITHHELD")] {
        let t = m.step(&s, Action::Sync { device: 1, serve: Serve::BelowBound { withhold_tail } }).unwrap();
        // (with the alternative refused, R is also short of its bound: E_SYNC_WITHHELD as well)
        assert!(t.ghost.alerts.contains(code), "{:?}", t.ghost.alerts);
        assert!(t.devices[1].records().values().all(|r| r.writer != t.revoked.id()), "nothing of R taken");
        assert!(holds(&m, &t, properties::REVOKED_HISTORY));
    }
    // mutation (test code): the same path without the prev check takes the alternative
    let weak = Model::new(weakened(Weakening::NoPrevCheck)).unwrap();
    let s = run(&weak, &prefix);
    for withhold_tail in [false, true] {
        let t = weak.step(&s, Action::Sync { device: 1, serve: Serve::BelowBound { withhold_tail } }).unwrap();
        assert!(t.ghost.alerts.is_empty());
        assert_eq!(t.devices[1].records().values().next().map(|r| r.value.as_slice()), Some(&b"r.alt"[..]));
        assert!(!holds(&weak, &t, properties::REVOKED_HISTORY));
    }
}

// [MODEL-9] [SYNC-17] freshness with every defence on: the owner revokes R, writes and syncs (its boundary), the server
// freezes B's view, B writes in epoch 0 at the old head, and the owner's next sync takes it with
// E_SYNC_STALE_HEAD; the checker finds no run in which such a write is taken without it.
#[test]
fn freshness_alert_fires_where_the_spec_says() {
    let cfg = Config { capabilities: BTreeSet::from([Capability::FreezeView]), ..Config::default() };
    let out = run_check(&cfg, 2, false).unwrap();
    println!("{}", out.report());
    assert!(out.all_hold(), "{}", out.report());
    let m = Model::new(cfg).unwrap();
    let s = run(
        &m,
        &[
            Action::Revoke { device: 0, fork: false },
            Action::Write { device: 0, record: 0 },
            Action::Sync { device: 0, serve: Serve::Honest },
            Action::Sync { device: 1, serve: Serve::FreezeView },
            Action::Write { device: 1, record: 0 },
            Action::Sync { device: 0, serve: Serve::Honest },
        ],
    );
    assert!(s.ghost.residual && s.ghost.stale_alerted);
    assert_eq!(s.ghost.alerts.iter().copied().collect::<Vec<_>>(), vec!["E_SYNC_STALE_HEAD"]);
    assert!(holds(&m, &s, properties::FRESHNESS) && holds(&m, &s, properties::STALE_ALERTED));
}

// [MODEL-2] [MODEL-5] [SYNC-14] [G-FORK-DETECTED] without the split alert, the device that took R's other
// alternative of its write takes the owner's revocation (which pins the alternative the owner took) and
// keeps it silently; the counterexample is R's two alternatives, the owner's sync, B served the other
// one, the owner's revocation, then B's sync.
#[test]
fn weakening_no_revocation_split_alert() {
    check_weakening(Weakening::NoRevocationSplitAlert);
}

// [MODEL-2] [MODEL-3] [SYNC-14] split-history with every defence on: the device that holds R's other
// alternative raises E_SYNC_EQUIVOCATION once, in the sync that takes the revocation (the chain is
// taken, nothing listed is judged), and its next sync raises nothing; the checker finds nothing. The
// same path without the alert (the library switch) keeps the alternative silently.
#[test]
fn split_history_is_alerted_when_the_revocation_is_taken() {
    let cfg = Config { capabilities: BTreeSet::from([Capability::SplitHistory]), ..Config::default() };
    let out = run_check(&cfg, 2, false).unwrap();
    println!("{}", out.report());
    assert!(out.all_hold(), "{}", out.report());
    let path = [
        Action::SplitHistory,
        Action::Sync { device: 0, serve: Serve::Honest },
        Action::Sync { device: 1, serve: Serve::SplitHistory },
        Action::Revoke { device: 0, fork: false },
    ];
    let take = Action::Sync { device: 1, serve: Serve::Honest };
    let m = Model::new(cfg).unwrap();
    let s = run(&m, &path);
    let r = s.revoked.id();
    let pinned = s.devices[0].chain().revoked().get(&r).map(|x| (x.max_seq, x.last_envelope));
    assert_eq!(pinned, Some((1, s.devices[0].envelope_identity(&r, 1).unwrap())));
    assert_ne!(s.devices[1].envelope_identity(&r, 1), s.devices[0].envelope_identity(&r, 1), "B holds the other one");
    assert_eq!(s.devices[1].records().values().next().map(|x| x.value.as_slice()), Some(&b"r.alt"[..]));
    assert!(s.ghost.alerts.is_empty() && violated_at(&m, &s).is_empty());
    let t = m.step(&s, take).unwrap();
    assert_eq!(t.ghost.alerts.iter().copied().collect::<Vec<_>>(), vec!["E_SYNC_EQUIVOCATION"]);
    assert!(t.devices[1].chain().revoked().contains_key(&r) && t.ghost.split_alerted.contains(&1));
    assert!(violated_at(&m, &t).is_empty() && holds(&m, &t, properties::SPLIT_ALERTED));
    // once: the next sync holds the revocation and raises nothing new
    let again = m.step(&t, take);
    assert!(again.is_none_or(|u| u.ghost.alerts == t.ghost.alerts), "the split alert fires once");
    // the switch: the same path, no alert, and the property fails on B
    let weak = Model::new(weakened(Weakening::NoRevocationSplitAlert)).unwrap();
    let t = weak.step(&run(&weak, &path), take).unwrap();
    assert!(t.ghost.alerts.is_empty() && t.ghost.split_alerted.is_empty());
    assert_eq!(violated_at(&weak, &t), vec![properties::SPLIT_DETECTED]);
}

// [MODEL-2] [MODEL-5] [SRV-11] [G-INTEGRITY] without the owner check of device metadata, R's
// metadata record at the owner's device id is taken by a device that syncs.
#[test]
fn weakening_no_device_meta_owner_check() {
    check_weakening(Weakening::NoDeviceMetaOwnerCheck);
}

// [MODEL-2] [MODEL-3] [SRV-11] rename-device with every defence on: the owner names itself and R writes a
// record at the owner's id with a greater revision, which the server (blind to whose record it is) keeps
// in place of the owner's, listed as a stub from then on. Device B refuses R's record (E_ENV_CONTEXT),
// so the owner's stub is not superseded by anything B verified (E_SYNC_WITHHELD): B holds no metadata
// and shows no name for the owner, loudly; the checker finds nothing. With the check off B takes R's
// record silently: it holds a record R wrote at the owner's id (the owner's name is hidden without an
// alert; `Client::device_info` shows nothing for the owner rather than R's name: its writer check is a
// second lock against showing the rename, not against hiding the name).
#[test]
fn rename_device_is_refused() {
    let cfg = Config { capabilities: BTreeSet::from([Capability::RenameDevice]), ..Config::default() };
    let out = run_check(&cfg, 2, false).unwrap();
    println!("{}", out.report());
    assert!(out.all_hold(), "{}", out.report());
    let path = [Action::RenameDevice, Action::Sync { device: 1, serve: Serve::Honest }];
    let m = Model::new(cfg).unwrap();
    let s = run(&m, &path);
    let owner = s.devices[0].id();
    let named = Some(("A".to_owned(), "model".to_owned()));
    // [SRV-11] refused, alerted once, and counted: the owner's own record, which the server now
    // lists as a stub below R's, is superseded, not withheld (review 18 finding 10)
    assert_eq!(s.ghost.alerts.iter().copied().collect::<Vec<_>>(), vec!["E_ENV_CONTEXT"]);
    assert!(s.devices[1].records().is_empty() && s.devices[1].device_info(&owner).is_none());
    assert_eq!(s.devices[0].device_info(&owner), named, "the owner shows its own name");
    assert!(violated_at(&m, &s).is_empty());
    let weak = Model::new(weakened(Weakening::NoDeviceMetaOwnerCheck)).unwrap();
    let s = run(&weak, &path);
    assert!(s.ghost.alerts.is_empty());
    let held = s.devices[1].records().iter().find(|((c, _), _)| c == blindsync::client::DEVICES_COLLECTION);
    assert_eq!(held.map(|(_, r)| r.writer), Some(s.revoked.id()));
    assert_eq!(s.devices[1].device_info(&owner), None);
    assert_eq!(violated_at(&weak, &s), vec![properties::DEVICE_META]);
}

// [MODEL-18] the coverage matrix names every capability of both models: each is a row re-found by a
// library switch, or listed with the reason its defence has no switch.
#[test]
fn coverage_matrix_names_every_capability() {
    use blindsync_model::coverage::{Target, UNSWITCHED, rows};
    use blindsync_model::data::DataCapability;
    let rows = rows();
    let named = |n: &str| rows.iter().any(|r| r.target.name() == n) || UNSWITCHED.iter().any(|(_, c, _)| *c == n);
    for c in Capability::ALL {
        assert!(named(c.name()), "{} is not in the coverage matrix", c.name());
    }
    for c in DataCapability::ALL {
        assert!(named(c.name()), "{} is not in the coverage matrix", c.name());
    }
    for r in &rows {
        assert!(!r.switches.is_empty(), "{}", r.attack);
        assert!(!UNSWITCHED.iter().any(|(_, c, _)| *c == r.target.name()), "{} twice", r.target.name());
        if let Target::Sync(_) = r.target {
            assert!(r.property.contains("(G-") || r.property.contains("SYNC-17"), "{}", r.property);
        }
    }
}

// [MODEL-6] a counterexample replays from the initial state as data: every step is the action the
// checker took (by its index among the enabled actions), with the wire bytes of each request and
// response; the attack step carries the listing the server cut.
#[test]
fn counterexample_replays_as_data() {
    let m = Model::new(weakened(Weakening::NoSequenceGapCheck)).unwrap();
    let out = blindsync_model::runner::find_violation_in(&m, 1);
    let found = blindsync_model::runner::counterexamples(&m, &out);
    assert_eq!(found.len(), 1);
    let x = &found[0];
    assert_eq!(x.property, properties::WITHHOLDING);
    let p = out.property(properties::WITHHOLDING).unwrap();
    assert_eq!(x.steps.len(), p.steps.len());
    assert_eq!(x.steps.iter().map(|s| s.action.clone()).collect::<Vec<_>>(), p.steps);
    let last = x.steps.last().unwrap();
    assert!(last.action.contains("drops listed item"));
    let list = last.exchanges.iter().find(|(q, _)| {
        matches!(blindsync::server::wire::Request::decode(q), Ok(blindsync::server::wire::Request::ListSince { .. }))
    });
    assert!(list.is_some(), "the attack step lists");
}

// [MODEL-6] a seeded simulation sharded by seed: the shards' outcomes fold into one, states add
// up, a violation in any shard is a violation of the whole, a `sometimes` reached in any shard is
// reached.
#[test]
fn simulation_shards_fold_into_one_outcome() {
    use blindsync_model::run_simulation;
    let cfg = weakened(Weakening::NoForkCheck);
    let (a, b) = (run_simulation(&cfg, 1, 20, 300, 1).unwrap(), run_simulation(&cfg, 2, 20, 300, 1).unwrap());
    let (states, violated_a) = (a.states + b.states, a.violated());
    let mut all = a;
    all.absorb(b);
    assert_eq!(all.states, states);
    for v in violated_a {
        assert!(all.violated().contains(&v), "{v} lost in the fold");
    }
    assert!(all.violated().contains(&"forks detected (G-FORK-DETECTED)"), "{:?}", all.violated());
}

// [MODEL-6] `model simulate` takes N devices and M records: a fixture of six honest devices (the
// owner paired five) and four records builds, and seeded walks with three deviations keep every
// safety property; a weakening is still found at that size.
#[test]
fn simulation_scales_to_more_devices_and_records() {
    use blindsync_model::run_simulation;
    let cfg = Config { devices: 6, records: 4, writes: 6, malice: 3, ..Config::default() };
    let out = run_simulation(&cfg, 3, 30, 400, 1).unwrap();
    assert!(out.violated().is_empty(), "{}", out.report());
    assert!(out.states >= 400);
    let weak = Config { defences: Defences::ALL.without(Weakening::NoSequenceGapCheck), ..cfg };
    let caps: BTreeSet<Capability> = [Capability::Withhold].into_iter().collect();
    // one seed's walks (seeded: the same every run) find it
    let w = Config { capabilities: caps, ..weak };
    let out = run_simulation(&w, 1, 30, 400, 1).unwrap();
    assert!(out.violated().contains(&"withholding detected (G-WITHHOLDING-DETECTED)"), "{}", out.report());
}
