//! `lose-ack` (spec 12.2): the server stores a write or a revocation and answers
//! `E_SRV_UNAVAILABLE`. The device recovers by itself ([SYNC-6], [CHAIN-12]); these paths pin how.

mod common;

use blindsync_model::{Action, Capability, Config, Model, Serve};
use common::run;

fn lose_ack(malice: u8) -> Config {
    Config { capabilities: [Capability::LoseAck].into_iter().collect(), malice, ..Config::default() }
}

// [SYNC-6] the owner's write is stored but its answer lost: it waits in the owner's outbox (not
// applied), device B takes it from the server, and the owner's next write resubmits it byte for
// byte first (the server answers Stored for the same bytes, no second item), then writes on.
#[test]
fn a_lost_write_waits_in_the_outbox_and_is_resubmitted() {
    let m = Model::new(lose_ack(1)).unwrap();
    let actions = [
        Action::WriteLost { device: 0, record: 0 },
        Action::Sync { device: 1, serve: Serve::Honest },
        Action::Write { device: 0, record: 0 },
        Action::Sync { device: 1, serve: Serve::Honest },
        Action::Sync { device: 0, serve: Serve::Honest },
    ];
    let s = run(&m, &actions);
    let owner = |i: usize| &s[i].devices[0];
    assert_eq!(owner(1).pending_write(), Some(1));
    assert!(owner(1).records().is_empty(), "not applied before it is known stored");
    assert_eq!(s[1].server.key().unwrap().1.len(), 1, "stored once");
    assert_eq!(s[2].devices[1].records().values().next().unwrap().value, b"d0.0");
    assert_eq!(owner(3).pending_write(), None);
    assert_eq!(s[3].server.key().unwrap().1.len(), 2, "the resubmission is not a second item");
    assert_eq!(owner(3).last_seq(&owner(3).id()), 2);
    let last = s.last().unwrap();
    assert!(last.ghost.alerts.is_empty(), "{:?}", last.ghost.alerts);
    assert_eq!(last.devices[0].records(), last.devices[1].records());
    assert_eq!(last.devices[0].records().values().next().unwrap().value, b"d0.1");
}

// [SYNC-6] a sync that lists the device's own outbox write applies it and empties the outbox.
#[test]
fn a_lost_write_is_applied_by_the_writers_next_sync() {
    let m = Model::new(lose_ack(1)).unwrap();
    let s = run(&m, &[Action::WriteLost { device: 1, record: 0 }, Action::Sync { device: 1, serve: Serve::Honest }]);
    let b = &s[2].devices[1];
    assert_eq!(b.pending_write(), None);
    assert_eq!(b.records().values().next().unwrap().value, b"d1.0");
    assert!(s[2].ghost.alerts.is_empty());
}

// [CHAIN-12] the owner's revocation is stored but its answer lost: the owner keeps its old chain
// and no UMK of the new epoch; its next sync takes its own statement from the server and opens
// its wrap of the new UMK, and its next write is sealed in the new epoch.
#[test]
fn a_lost_revocation_comes_back_with_the_next_sync() {
    let m = Model::new(lose_ack(1)).unwrap();
    let s = run(
        &m,
        &[
            Action::RevokeLost { device: 0 },
            Action::Sync { device: 0, serve: Serve::Honest },
            Action::Write { device: 0, record: 0 },
            Action::Sync { device: 1, serve: Serve::Honest },
        ],
    );
    let revoked = s[0].revoked.id();
    assert!(s[1].devices[0].chain().is_active(&revoked), "not adopted");
    assert!(s[1].ghost.revocation.is_some(), "but stored");
    assert!(!s[1].devices[0].umks().contains_key(&1));
    assert!(!s[2].devices[0].chain().is_active(&revoked));
    assert!(s[2].devices[0].umks().contains_key(&1));
    assert!(s[4].ghost.alerts.is_empty(), "{:?}", s[4].ghost.alerts);
    assert_eq!(s[4].ghost.written.iter().map(|w| w.epoch).collect::<Vec<_>>(), vec![1]);
    assert_eq!(s[4].devices[1].records(), s[4].devices[0].records());
}

// [MODEL-3] two lost answers and every interleaving of two devices' writes, syncs and the
// revocation: no alert, and quiescent runs converge (the honest-run properties hold for runs
// whose only deviations are lost answers).
#[test]
fn lost_answers_raise_no_alert_and_converge() {
    let m = Model::new(Config { writes: 3, ..lose_ack(2) }).unwrap();
    let out = blindsync_model::runner::run_model_exhaustive(&m, 2, false);
    assert!(out.violated().is_empty(), "{}", out.report());
}

// [CHAIN-13] step 7: the restored device's add-device statement is stored and its answer lost; it
// enrolls again with the same keys through the client's `Enrollment`, which finds its keys active
// in the chain and appends nothing: one add-device statement, the device holds the account's UMK.
#[test]
fn a_lost_enrollment_answer_is_resumed_with_the_same_keys() {
    let m = Model::new(lose_ack(1)).unwrap();
    let s = run(&m, &[Action::EnrollLost]);
    let n = s[1].onboarded.as_ref().unwrap_or_else(|| panic!("not enrolled: {:?}", s[1].ghost.alerts));
    assert_eq!(n.id(), m.fixture.restored.id());
    assert!(s[1].ghost.alerts.is_empty(), "{:?}", s[1].ghost.alerts);
    let (chain, _) = s[1].server.key().unwrap();
    assert_eq!(chain.head().len, s[0].server.key().unwrap().0.head().len + 1, "appended once");
    assert_eq!(n.chain().head(), chain.head());
    assert_eq!(n.umks().keys().copied().collect::<Vec<_>>(), vec![0]);
}
