//! The data-path model's tests (spec 12.7): with every defence on, every
//! property holds in every reachable state and every capability and alert
//! is reached; with each capability's library switch off, the checker finds
//! the attack and names the property it breaks.

use blindsync::danger::Defences;
use blindsync_model::data::{
    DataCapability, DataConfig, DataModel, broken_by, find_data_violation, run_data_check, switch_for,
};

/// The default data-path configuration's unique state count: a change in the
/// model, the batch reader, the server or the chain that changes the space shows here. [MODEL-16]
const DATA_UNIQUE_STATES: usize = 9_131;

// [MODEL-13] [MODEL-14] [MODEL-15] [MODEL-16] every defence on: nothing is found, every
// capability is used, every alert fires.
#[test]
fn data_default_configuration_holds() {
    let out = run_data_check(&DataConfig::default(), 2).unwrap();
    println!("{}", out.report());
    assert!(out.all_hold(), "{}", out.report());
    assert_eq!(out.unique, DATA_UNIQUE_STATES, "the data-path state space changed: re-pin it and model/README.md");
}

// [MODEL-15] [BAT-8] an honest run raises no alert. The data model first found here that a batch
// sealed before a revocation (the revoked device among its recipients), opened by a partner that
// refreshed to the revoking chain, was refused with E_BATCH_UNPINNED: step 7 judged recipients by
// the reader's current chain. Recipients are now judged at the head the batch names.
#[test]
fn data_honest_server_raises_no_alert() {
    let out = find_data_violation(&DataConfig::default().honest(), 1).unwrap();
    assert!(out.violated().is_empty(), "{}", out.report());
}

// [MODEL-14] each capability's name is the one the library's switch documents.
#[test]
fn data_capabilities_match_switches() {
    for c in DataCapability::ALL {
        assert_eq!(DataCapability::parse(c.name()), Some(c));
        if let blindsync_model::data::Switch::Data(w) = switch_for(c) {
            assert_eq!(w.capability(), c.name());
        }
    }
}

fn check_weakened(c: DataCapability) {
    let cfg = DataConfig::weakened(c);
    assert_ne!(cfg.defences, Defences::ALL);
    let out = find_data_violation(&cfg, 1).unwrap();
    let name = broken_by(c);
    assert_eq!(out.violated(), vec![name], "{}: {}", c.name(), out.report());
    let p = out.property(name).unwrap();
    assert!(!p.steps.is_empty());
    println!("{} + {}: {name}\n  {}", switch_for(c).name(), c.name(), p.steps.join("\n  "));
    // The same capability with every defence on finds nothing.
    let on = DataConfig { defences: Defences::ALL, ..cfg };
    let out = run_data_check(&on, 2).unwrap();
    assert!(out.violated().is_empty(), "{}: {}", c.name(), out.report());
}

// [MODEL-16] [HCH-6] unsigned-reports: the server's added report makes the partner accuse W (E_HCH_DROPPED).
#[test]
fn data_weakening_unsigned_reports() {
    check_weakened(DataCapability::FrameUser);
}

// [MODEL-16] [BAT-11] no-batch-links: the server deletes batch 1 and the partner reads 0 then 2 silently.
#[test]
fn data_weakening_no_batch_links() {
    check_weakened(DataCapability::DeleteBatch);
}

// [MODEL-16] [BAT-10] no-chain-head-check: a partner on a frozen chain accepts R's batch after W's newer one.
#[test]
fn data_weakening_no_chain_head_check() {
    check_weakened(DataCapability::StalePartnerChain);
}

// [MODEL-16] [STR-6] tag-only-chunks: R's same-tag rewrite of W's stream opens to fabricated bytes.
#[test]
fn data_weakening_tag_only_chunks() {
    check_weakened(DataCapability::InsiderChunkForgery);
}

// [MODEL-16] [ATT-1] epoch-zero-attachment-key: R, revoked, opens an attachment uploaded after its revocation.
#[test]
fn data_weakening_epoch_zero_attachment_key() {
    check_weakened(DataCapability::AttachmentAfterRevocation);
}

// [MODEL-16] [CHAIN-18] unpinned-kdf: W runs Argon2id on the server's common salt and sends the auth value.
#[test]
fn data_weakening_unpinned_kdf() {
    check_weakened(DataCapability::SaltSubstitution);
}

// [MODEL-13] a state's successors are a function of the state: the same action twice gives
// the same state (seeded randomness, fixed clock), so merging states by hash is sound.
#[test]
fn data_model_steps_are_deterministic() {
    let m = DataModel::new(DataConfig::default()).unwrap();
    let s = m.init();
    let mut acts = Vec::new();
    m.actions_in(&s, &mut acts);
    for a in acts {
        let x = m.step(&s, a);
        let y = m.step(&s, a);
        assert_eq!(x.is_some(), y.is_some());
        if let (Some(x), Some(y)) = (x, y) {
            assert_eq!(x, y, "{a:?}");
        }
    }
}

// [MODEL-17] [MODEL-15] a partner reader that reports E_BATCH_GAP for every batch it would accept is
// caught by "an honest run raises no alert (data path)", and by nothing else.
#[test]
fn data_mutant_reader_false_alarm() {
    let mut m = DataModel::new(DataConfig::default().honest()).unwrap();
    m.mutant_read = Some(|accepted| accepted.then_some(blindsync::error::Error::BatchGap));
    let out = blindsync_model::data::find_data_violation_in(&m, 1);
    assert_eq!(out.violated(), vec![blindsync_model::data::properties::HONEST_QUIET], "{}", out.report());
}
