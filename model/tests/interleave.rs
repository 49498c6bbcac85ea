//! [MODEL-20] Interleaved syncs (`model check --interleave`): a device's sync is its GetChain and,
//! as a later action, its listing; other devices act in between.

mod common;

use blindsync_model::{Action, Config, Model, Serve};
use common::run;

fn honest_interleaved() -> Config {
    Config { interleave: true, ..Config::default() }.honest()
}

// [MODEL-20] [SYNC-11] with an honest server, device B sends its GetChain, the owner revokes R (a
// new epoch) and writes at the new head, and B's listing, answered after that, carries the owner's
// write at a head B's chain does not have yet. Found by this option as a false E_CHAIN_FORK (audit
// round 3, A3-1); now B fetches the chain once more, finds the revocation new to it, and leaves
// the listing unjudged (no alert, no cursor), so its next sync takes the revocation and the write.
#[test]
fn listing_after_a_later_revocation_refetches_the_chain() {
    let m = Model::new(honest_interleaved()).unwrap();
    let honest = Serve::Honest;
    let actions = [
        Action::Write { device: 1, record: 0 },
        Action::GetChain { device: 1 },
        Action::Revoke { device: 0, fork: false },
        Action::Sync { device: 0, serve: honest },
        Action::Write { device: 0, record: 0 },
        Action::Sync { device: 1, serve: honest },
        Action::Sync { device: 0, serve: honest },
        Action::Sync { device: 1, serve: honest },
    ];
    let states = run(&m, &actions);
    for (a, s) in actions.iter().zip(states.iter().skip(1)) {
        println!(
            "{:<70} alerts {:?}, B: chain {} cursor {} records {}",
            blindsync_model::properties::describe(&m, a),
            s.ghost.alerts,
            s.devices[1].chain().head().len,
            s.devices[1].cursor(),
            s.devices[1].records().len()
        );
    }
    let at = |i: usize| &states[i];
    assert!(at(5).ghost.alerts.is_empty(), "no alert before B's listing");
    assert!(at(6).ghost.alerts.is_empty(), "no false alarm: {:?}", at(6).ghost.alerts);
    assert_eq!(at(6).devices[1].chain().head(), at(6).devices[0].chain().head(), "the second chain is taken");
    assert_eq!(at(6).devices[1].cursor(), 0, "a listing unjudged: no cursor");
    // the next sync, chain and listing together, takes the revocation and the owner's write
    assert_eq!(at(8).devices[1].chain().head(), at(8).devices[0].chain().head());
    assert!(m.up_to_date(at(8), &at(8).devices[1]));
}

// [MODEL-20] without interleaving the same operations raise nothing: B's sync is one action.
#[test]
fn the_same_run_without_interleaving_is_quiet() {
    let m = Model::new(Config::default().honest()).unwrap();
    let honest = Serve::Honest;
    let actions = [
        Action::Write { device: 1, record: 0 },
        Action::Revoke { device: 0, fork: false },
        Action::Sync { device: 0, serve: honest },
        Action::Write { device: 0, record: 0 },
        Action::Sync { device: 1, serve: honest },
    ];
    let states = run(&m, &actions);
    let last = states.last().unwrap();
    assert!(last.ghost.alerts.is_empty(), "{:?}", last.ghost.alerts);
    assert!(m.up_to_date(last, &last.devices[1]));
}

// [MODEL-20] [SYNC-11] the listing under the adversary: the owner writes twice, device B sends its
// GetChain, the owner revokes R, and B's listing has the owner's first write replaced by another
// account's envelope (citing a head B's chain lacks). B fetches the chain once more, finds the
// revocation new to it, and leaves the listing unjudged: no alert, nothing taken, the cursor held
// (so the gap before the owner's second write is not reported yet, and the withholding property
// exempts exactly this sync); B's next sync, served honestly, takes the revocation and both writes.
#[test]
fn an_unjudged_listing_is_judged_by_the_next_sync() {
    let cfg = Config { interleave: true, ..Config::default() };
    let m = Model::new(cfg).unwrap();
    let actions = [
        Action::Write { device: 0, record: 0 },
        Action::Write { device: 0, record: 0 },
        Action::GetChain { device: 1 },
        Action::Revoke { device: 0, fork: false },
        Action::Sync { device: 1, serve: Serve::SwapAccount(0) },
        Action::Sync { device: 1, serve: Serve::Honest },
    ];
    let s = run(&m, &actions);
    let b = |i: usize| &s[i].devices[1];
    assert!(s[5].ghost.alerts.is_empty(), "{:?}", s[5].ghost.alerts);
    assert_eq!(b(5).cursor(), b(4).cursor());
    assert!(b(5).records().is_empty());
    assert!(!b(5).chain().is_active(&s[0].revoked.id()), "the second GetChain's revocation is taken");
    assert!(s[5].ghost.broken.is_empty(), "{:?}", s[5].ghost.broken);
    assert!(s[6].ghost.alerts.is_empty(), "{:?}", s[6].ghost.alerts);
    assert_eq!(b(6).records(), s[6].devices[0].records());
}
