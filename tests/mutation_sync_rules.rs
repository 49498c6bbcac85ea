//! Boundary cases of the pure sequence rules of spec 11.9 (`client::alerts`),
//! written from the spec text: each case sits on one edge of one rule, so a
//! changed comparison or a dropped negation fails (cargo-mutants, README
//! "Mutation testing").

use std::collections::BTreeMap;

use blindsync::Error;
use blindsync::client::{
    ChainLink, MAX_REVISION_STEP, SeqItem, Step, classify, listing_in_order, revision_steps, revision_within_step,
    revoked_incomplete, stale_head, writer_chain_break, writer_sequence,
};

// [SYNC-9] [SYNC-10] [SYNC-21] `seq <= last`: rollback if older, else ignored; then a gap or an
// unsuperseded stub is withheld; otherwise accepted.
#[test]
fn classify_sits_on_every_edge() {
    // seq == last: still "at or below" (a replay), not a gap
    assert_eq!(classify(5, 5, false, false, true), Err(Error::SyncRollback));
    assert_eq!(classify(5, 5, false, false, false), Ok(Step::Ignore));
    assert_eq!(classify(5, 4, true, false, false), Ok(Step::Ignore));
    // seq == last + 1: the next write
    assert_eq!(classify(5, 6, false, false, false), Ok(Step::Accept));
    assert_eq!(classify(5, 6, false, false, true), Ok(Step::Accept), "older matters only at or below last");
    assert_eq!(classify(5, 6, true, true, false), Ok(Step::Accept), "a superseded stub is not a gap");
    assert_eq!(classify(5, 6, true, false, false), Err(Error::SyncWithheld));
    // seq > last + 1: a gap, whatever the item
    assert_eq!(classify(5, 7, false, false, false), Err(Error::SyncWithheld));
    assert_eq!(classify(5, 7, true, true, false), Err(Error::SyncWithheld));
    assert_eq!(classify(0, 1, false, false, false), Ok(Step::Accept));
}

fn item(seq: u64, digest: u8) -> SeqItem {
    SeqItem { seq, stub: false, superseded: false, older: false, digest: [digest; 32] }
}

// [SYNC-14] [SYNC-21] one seq, two identities: equivocation; one identity twice counts once.
#[test]
fn writer_sequence_counts_one_identity_once() {
    assert_eq!(writer_sequence(0, &[item(1, 1), item(1, 2)]), Err(Error::SyncEquivocation));
    assert_eq!(writer_sequence(0, &[item(1, 1), item(1, 1), item(2, 3)]), Ok(2));
    assert_eq!(writer_sequence(3, &[item(4, 1)]), Ok(4));
    // an ignored replay leaves last where it was
    assert_eq!(writer_sequence(3, &[item(2, 1)]), Ok(3));
}

// [SYNC-16] at most 2^16 above the greatest known revision, saturating at u64::MAX.
#[test]
fn revision_step_is_two_to_the_sixteen() {
    assert_eq!(MAX_REVISION_STEP, 65_536);
    assert!(revision_within_step(0, 65_536));
    assert!(!revision_within_step(0, 65_537));
    assert!(revision_within_step(10, 65_546));
    assert!(!revision_within_step(10, 65_547));
    assert!(revision_within_step(u64::MAX - 1, u64::MAX));
    // the base is the greatest revision that passed, not the last one listed
    assert_eq!(revision_steps(100, &[50, 65_636]), Ok(65_636));
    assert_eq!(revision_steps(0, &[65_536, 131_072]), Ok(131_072));
    assert_eq!(revision_steps(0, &[65_537]), Err(Error::SyncRevisionStep));
    assert_eq!(revision_steps(7, &[]), Ok(7));
}

fn link(identity: u8, prev: u8) -> ChainLink {
    ChainLink { identity: [identity; 32], prev: [prev; 32] }
}

// [SYNC-14] [SYNC-15] the writer-chain rule of 11.9, case by case.
#[test]
fn writer_chain_break_follows_the_pseudocode() {
    let none = |_: u64| None;
    // an intact chain from 1
    let ok = BTreeMap::from([(1, link(1, 0)), (2, link(2, 1))]);
    assert_eq!(writer_chain_break(0, none, &ok, true), None);
    // s == 1 with a non-zero prev
    let bad_first = BTreeMap::from([(1, link(1, 9))]);
    assert_eq!(writer_chain_break(0, none, &bad_first, true), Some(1));
    // prev mismatch with s-1 listed and above last: names s-1
    let bad_second = BTreeMap::from([(1, link(1, 0)), (2, link(2, 9))]);
    assert_eq!(writer_chain_break(0, none, &bad_second, true), Some(1));
    // ... with s-1 listed but not above last (s-1 == last): names s
    assert_eq!(writer_chain_break(1, none, &bad_second, true), Some(2));
    // s-1 not listed: the remembered identity is the predecessor; a mismatch names s
    let alone = BTreeMap::from([(3, link(3, 9))]);
    let remembered = |s: u64| (s == 2).then_some([2u8; 32]);
    assert_eq!(writer_chain_break(0, remembered, &alone, true), Some(3));
    let fits = BTreeMap::from([(3, link(3, 2))]);
    assert_eq!(writer_chain_break(0, remembered, &fits, true), None);
    // no predecessor held: nothing to check
    assert_eq!(writer_chain_break(0, none, &alone, true), None);
    // a remembered identity differing from the listed one names s, with or without prev checks
    let other = |s: u64| (s == 3).then_some([7u8; 32]);
    assert_eq!(writer_chain_break(0, other, &fits, true), Some(3));
    assert_eq!(writer_chain_break(0, other, &fits, false), Some(3));
    // with the prev rules off ([MODEL-5]) a broken link passes
    assert_eq!(writer_chain_break(0, none, &bad_first, false), None);
    // the earliest break wins
    let two = BTreeMap::from([(1, link(1, 9)), (2, link(2, 1)), (3, link(3, 9))]);
    assert_eq!(writer_chain_break(0, none, &two, true), Some(1));
}

// [SYNC-15] a revoked writer's items from last+1 to max_seq, all of them: the first missing one.
#[test]
fn revoked_incomplete_names_the_first_hole() {
    let listed = |set: &'static [u64]| move |s: u64| set.contains(&s);
    assert_eq!(revoked_incomplete(2, 5, listed(&[3, 4, 5])), None);
    assert_eq!(revoked_incomplete(2, 5, listed(&[3, 5])), Some(4));
    assert_eq!(revoked_incomplete(2, 5, listed(&[])), Some(3));
    assert_eq!(revoked_incomplete(5, 5, listed(&[])), None);
    assert_eq!(revoked_incomplete(0, 1, listed(&[1])), None);
}

// [SYNC-7] strictly ascending and above the cursor.
#[test]
fn listing_order_is_strict() {
    assert_eq!(listing_in_order(5, &[6, 7, 9]), Ok(()));
    assert_eq!(listing_in_order(5, &[]), Ok(()));
    assert_eq!(listing_in_order(5, &[5]), Err(Error::SyncOrder));
    assert_eq!(listing_in_order(5, &[4]), Err(Error::SyncOrder));
    assert_eq!(listing_in_order(5, &[6, 6]), Err(Error::SyncOrder));
    assert_eq!(listing_in_order(5, &[7, 6]), Err(Error::SyncOrder));
}

// [SYNC-17] listed above the boundary AND citing a head before the revocation.
#[test]
fn stale_head_needs_both_conditions() {
    let revs = BTreeMap::from([(10u64, 100u64)]);
    assert!(stale_head(&revs, 101, 9));
    assert!(!stale_head(&revs, 100, 9), "at the boundary: may predate the revocation");
    assert!(!stale_head(&revs, 101, 10), "the revocation's own position is not before it");
    assert!(!stale_head(&revs, 100, 10));
    assert!(!stale_head(&BTreeMap::new(), 101, 9));
    // any one revocation suffices
    let two = BTreeMap::from([(10u64, 100u64), (20, 200)]);
    assert!(stale_head(&two, 250, 15), "above the second boundary, before the second revocation");
    assert!(stale_head(&two, 150, 5), "above the first boundary, before the first revocation");
    assert!(!stale_head(&two, 150, 15), "above the first boundary only, and after the first revocation");
}

// [SYNC-8] each alert's stable code.
#[test]
fn alert_codes() {
    use blindsync::client::Alert;
    use blindsync::device::DeviceId;
    let writer = DeviceId([1; 32]);
    assert_eq!(Alert::Withheld { writer, missing_seq: 1 }.error(), Error::SyncWithheld);
    assert_eq!(Alert::Rollback { writer, seq: 1 }.error(), Error::SyncRollback);
    assert_eq!(Alert::Fork.error(), Error::ChainFork);
    assert_eq!(Alert::Chain(Error::KeyCheck).error(), Error::KeyCheck);
    assert_eq!(Alert::Equivocation { writer, seq: 1 }.error(), Error::SyncEquivocation);
    assert_eq!(Alert::StaleHead { writer, seq: 1 }.error(), Error::SyncStaleHead);
    assert_eq!(Alert::Forged { item_seq: 1, error: Error::EnvSignature }.error(), Error::EnvSignature);
}
