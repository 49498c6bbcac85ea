//! The properties, named after the security goals of spec 1.3 (spec 12.3).
//!
//! `always` properties are the safety goals; `sometimes` properties prove
//! the model is not vacuous (every capability is used, every alert fires,
//! honest runs converge); `eventually` is checked with an honest server.

use stateright::Property;

use blindsync::client::DEVICES_COLLECTION;
use blindsync::danger::Weakening;
use blindsync::envelope::{EnvelopeRef, Header, key_schedule};
use blindsync::keys::{AccountId, EpochKeys, Umk};

use crate::fixture::{COLLECTION, OTHER_COLLECTION};
use crate::system::{Action, Broken, Capability, Model, Serve, State, StreamServe, Written, umk_digest};

/// G-INTEGRITY: every value a device holds was written by an honest device
/// of the account, for exactly that record and revision. [MODEL-3]
pub const INTEGRITY: &str = "integrity (G-INTEGRITY)";
/// G-NO-ROLLBACK: records and the chain never go backwards on a device.
pub const NO_ROLLBACK: &str = "no rollback (G-NO-ROLLBACK)";
/// G-WITHHOLDING-DETECTED: a write accepted after a withheld one raises the alert.
pub const WITHHOLDING: &str = "withholding detected (G-WITHHOLDING-DETECTED)";
/// G-FORK-DETECTED: a device's verified chain only extends; another branch raises the alert.
pub const FORKS: &str = "forks detected (G-FORK-DETECTED)";
/// G-REVOCATION: no key the adversary holds opens anything stored after the revocation.
pub const REVOCATION: &str = "revoked device locked out (G-REVOCATION)";
/// G-KEYS-STAY-HOME: no secret key's bytes appear in anything the server receives.
pub const KEYS_STAY_HOME: &str = "keys never reach the server (G-KEYS-STAY-HOME)";
/// G-PINNED-KEYS-ONLY: data keys are wrapped only to pinned keys.
pub const PINNED: &str = "data keys wrapped only to pinned keys (G-PINNED-KEYS-ONLY)";
/// G-NO-DOWNGRADE: KDF parameters below the floor are never used.
pub const NO_DOWNGRADE: &str = "no KDF downgrade (G-NO-DOWNGRADE)";
/// G-CHUNK-INTEGRITY: a stream opens to exactly what was sealed, or not at all.
pub const CHUNKS: &str = "stream chunks intact (G-CHUNK-INTEGRITY)";
/// G-KEY-INTEGRITY: every UMK an honest device holds is one the account really created for that epoch.
pub const KEY_INTEGRITY: &str = "key integrity (G-KEY-INTEGRITY)";
/// G-CONFIDENTIALITY: no honest device holds a UMK the adversary made (and so knows).
pub const CONFIDENTIALITY: &str = "confidentiality (G-CONFIDENTIALITY)";
/// G-REVOCATION and G-FORK-DETECTED below the bound: what an honest device holds from R is
/// what R wrote before its revocation.
pub const REVOKED_HISTORY: &str = "a revoked writer's writes are the ones it made (G-REVOCATION, G-FORK-DETECTED)";
/// [SYNC-17]: a write listed after a device held the revocation that cites an older head raises
/// `E_SYNC_STALE_HEAD` on that device.
pub const FRESHNESS: &str = "old-head writes listed after the revocation are alerted (G-REVOCATION, SYNC-17)";
/// Spec 1.6 item 17: a device that has not seen the revocation seals in the old epoch.
pub const RESIDUAL: &str = "a device whose view the server froze writes in the old epoch (1.6 item 17)";
/// The freshness alert fires: a device that held the revocation alerts on such a write.
pub const STALE_ALERTED: &str =
    "a device that held the revocation alerts on the frozen device's write (E_SYNC_STALE_HEAD)";
/// Honest runs reach identical state on all devices.
pub const CONVERGE_SOMETIMES: &str = "honest sync reaches identical state";
/// In a run with no deviation (lost answers, `lose-ack`, aside: a network's doing), once no
/// honest action can change anything (quiescence), every device is up to date and all hold the
/// same records and chain. [MODEL-3]
pub const CONVERGE: &str = "quiescent honest runs have converged (all devices up to date and equal)";
/// In a run with no deviation (lost answers, `lose-ack`, aside), no device raises any alert. [MODEL-3]
pub const HONEST_QUIET: &str = "an honest run raises no alert";
/// G-WITHHOLDING-DETECTED, second half: a stub of a genuine write, superseded by a newer
/// revision the device holds, is never reported as a gap. [MODEL-3]
pub const NO_FALSE_GAP: &str = "superseded stubs are not gaps (G-WITHHOLDING-DETECTED)";
/// G-CHAIN-AUTHORITY: every statement in an honest device's chain was signed by a party of the
/// account (recorded when it was signed), never made or altered by the server. [MODEL-3]
pub const CHAIN_AUTHORITY: &str = "chain statements are the account's (G-CHAIN-AUTHORITY)";
/// [SYNC-14] G-FORK-DETECTED for a revoked writer's history: a device that holds, for R's pinned
/// `max_seq`, another write than the one its revocation pins raised `E_SYNC_EQUIVOCATION` in the
/// sync that took the revocation. [MODEL-3]
pub const SPLIT_DETECTED: &str =
    "a revoked writer's split history is alerted when the revocation is taken (G-FORK-DETECTED, SYNC-14)";
/// The split alert fires: a device holding R's other alternative alerts when it takes the revocation.
pub const SPLIT_ALERTED: &str =
    "a device holding R's other alternative alerts when it takes R's revocation (E_SYNC_EQUIVOCATION)";
/// [SRV-11] G-INTEGRITY for device metadata: every device-metadata record an honest device holds
/// is one the device it names wrote. [MODEL-3]
pub const DEVICE_META: &str = "a device's metadata is the one it wrote (G-INTEGRITY, SRV-11)";

/// The safety property each weakening exists to break, if the model can
/// show it (`None`: see spec 12.5 for why not).
pub fn broken_by(w: Weakening) -> Option<&'static str> {
    match w {
        Weakening::NoSignatureCheck => Some(INTEGRITY),
        Weakening::NoAadBinding => Some(INTEGRITY),
        Weakening::NoKeyCommitment => None,
        Weakening::NoRollbackCheck => Some(NO_ROLLBACK),
        Weakening::NoSequenceGapCheck => Some(WITHHOLDING),
        Weakening::NoForkCheck => Some(FORKS),
        Weakening::UnpinnedKeysAccepted => Some(PINNED),
        Weakening::AnyKdfParams => Some(NO_DOWNGRADE),
        // [MODEL-5] a split rotation's other UMK reaches the restored device.
        Weakening::NoKeyCheck => Some(KEY_INTEGRITY),
        // Spec 12.5: each of these is covered, for the attacks the model has, by another check
        // that has no switch of its own or that stays on (the key check for a forged bundle; the
        // chapter 5 wrap's account binding for a counterfeit chain); password enrollment with a
        // served KDF is not modelled.
        Weakening::NoBundleCommit | Weakening::NoPossessionCheck | Weakening::UnpinnedKdf => None,
        // [MODEL-9] R's sleeper survives the revocation and receives the new epoch's UMK.
        Weakening::NoCascade => Some(REVOCATION),
        // [MODEL-9] R's re-signed alternative below its bound reaches a lagging device.
        Weakening::NoPrevCheck => Some(REVOKED_HISTORY),
        // [SYNC-17] the frozen device's old-head write is taken without the alert.
        Weakening::NoStaleHeadAlert => Some(FRESHNESS),
        // [SYNC-14] the device that took R's other alternative keeps it silently.
        Weakening::NoRevocationSplitAlert => Some(SPLIT_DETECTED),
        // [SRV-11] R's metadata record at the owner's id is taken.
        Weakening::NoDeviceMetaOwnerCheck => Some(DEVICE_META),
        // Not attacked by the model (spec 12.5): honest writers never seal in a superseded epoch
        // or step a revision by more than one, and the model's listings are in order.
        Weakening::NoRevisionStep | Weakening::NoStaleEpochCheck | Weakening::UnorderedListing => None,
    }
}

/// Every writer but R, whose records `revoked_history` judges against what R really wrote: the
/// record an honest device holds is a write an honest device made in exactly that collection
/// (bucket), record, revision and value, and the device holds, for that write's
/// `(writer, writer_seq)`, the identity of the envelope as it was sealed (so the header it
/// took, epoch and chain head included, is the one written).
fn integrity(_: &Model, s: &State) -> bool {
    let r = s.revoked.id();
    s.honest().all(|d| {
        d.records().iter().filter(|((c, _), rec)| c != DEVICES_COLLECTION && rec.writer != r).all(|((c, id), r)| {
            s.ghost.written.iter().any(|w| {
                w.collection == c
                    && w.record == *id
                    && w.revision == r.revision
                    && w.writer == r.writer
                    && w.value == r.value
                    && d.envelope_identity(&w.writer, w.seq) == Some(w.identity)
            })
        })
    })
}

/// [MODEL-3] every statement of every honest device's verified chain is one a party of the
/// account signed.
fn chain_authority(_: &Model, s: &State) -> bool {
    s.honest().all(|d| {
        let c = d.chain();
        (0..c.head().len).all(|p| c.hash_at(p).is_some_and(|h| s.ghost.signed.contains(&h)))
    })
}

fn no_false_gap(_: &Model, s: &State) -> bool {
    !s.ghost.broken.contains(&Broken::FalseGap)
}

/// `E_SYNC_STALE_HEAD` is left out: it warns about authentic data, which an honest writer that
/// had not yet synced the revocation seals at an older head ([SYNC-17]); the freshness property
/// judges where it must fire.
fn honest_quiet(_: &Model, s: &State) -> bool {
    !benign(s) || s.ghost.alerts.iter().all(|a| *a == "E_SYNC_STALE_HEAD")
}

/// [MODEL-3] a run whose only deviations are lost answers (`lose-ack`): what a network does to
/// an honest server, so the honest-run properties hold for it too.
fn benign(s: &State) -> bool {
    s.ghost.used.iter().all(|c| *c == Capability::LoseAck)
}

/// An action an honest run takes (no deviation of the adversary, no action of R).
fn honest_action(a: &Action) -> bool {
    match a {
        Action::Write { .. } => true,
        Action::Sync { serve, .. } => *serve == Serve::Honest,
        Action::Revoke { fork, .. } => !fork,
        Action::Share { substitute } => !substitute,
        Action::FetchKdf { weak } => !weak,
        Action::OpenStream { serve } => *serve == StreamServe::Honest,
        Action::Pair { forge } => !forge,
        Action::Enroll { counterfeit } => !counterfeit,
        Action::GetChain { .. } => true,
        Action::RevokedReads
        | Action::SplitRotation
        | Action::Install
        | Action::RevokedWrites
        | Action::WriteLost { .. }
        | Action::RevokeLost { .. }
        | Action::EnrollLost
        | Action::SplitHistory
        | Action::RenameDevice => false,
    }
}

/// [MODEL-3] in a run with no deviation that a one-shot action did not end: when no honest
/// action is enabled or every enabled one leaves the state as it is (a device stuck re-syncing
/// is quiescent too), every device is up to date with the server and all hold equal records
/// and chains.
fn converge(m: &Model, s: &State) -> bool {
    if !benign(s) || s.ghost.done {
        return true;
    }
    let mut acts = Vec::new();
    m.enabled(s, &mut acts);
    let quiescent = acts.iter().filter(|a| honest_action(a)).all(|a| m.step(s, *a).is_none_or(|n| n == *s));
    !quiescent
        || (s.devices.iter().all(|c| m.up_to_date(s, c))
            && converged(s)
            && s.devices.windows(2).all(|w| w[0].chain().head() == w[1].chain().head()))
}

/// [MODEL-3] every record an honest device holds whose writer is R is one R really wrote (record,
/// revision, value), before its revocation: R's writes are recorded when it makes them. Device
/// metadata (`blindsync/devices`) is judged by `device_meta`, for every writer.
fn revoked_history(_: &Model, s: &State) -> bool {
    let r = s.revoked.id();
    s.honest().all(|d| {
        d.records().iter().filter(|((c, _), rec)| c != DEVICES_COLLECTION && rec.writer == r).all(|((_, id), rec)| {
            s.ghost
                .revoked_written
                .iter()
                .any(|w| w.record == *id && w.revision == rec.revision && w.value == rec.value)
        })
    })
}

/// [SYNC-14] every honest device that holds a revocation of R with `max_seq > 0` holds, for
/// `(R, max_seq)`, nothing or the identity the revocation pins as `last_envelope` (what the revoker
/// held: the alternative it took), or raised `E_SYNC_EQUIVOCATION` for `(R, max_seq)` in the sync
/// that took the revocation (recorded by that transition). A device that joined during the run
/// took no sync, so it has no alert to show.
fn split_detected(_: &Model, s: &State) -> bool {
    let r = s.revoked.id();
    let alerted = |i: Option<usize>| i.is_some_and(|i| s.ghost.split_alerted.contains(&(i as u8)));
    let devices = s.devices.iter().enumerate().map(|(i, d)| (Some(i), d)).chain(s.onboarded.iter().map(|d| (None, d)));
    devices.into_iter().all(|(i, d)| {
        let Some(rev) = d.chain().revoked().get(&r) else { return true };
        rev.max_seq == 0
            || d.envelope_identity(&r, rev.max_seq).is_none_or(|held| held == rev.last_envelope)
            || alerted(i)
    })
}

fn split_alerted(_: &Model, s: &State) -> bool {
    !s.ghost.split_alerted.is_empty()
}

/// [SRV-11] judged on the device-metadata writes as they were made (record, revision, value,
/// writer): every record an honest device holds in `blindsync/devices` is one of them whose
/// writer's own record id (the first 16 bytes of its device id) is that record's, with the
/// write's identity held for its `(writer, writer_seq)`; and for the latest such write of a
/// device X that it holds (by identity), the device holds that write as X's record and
/// `Client::device_info` shows it (no other writer's record hides it).
fn device_meta(_: &Model, s: &State) -> bool {
    let own = |w: &&Written| w.writer.0.get(..16) == Some(w.record.0.as_slice());
    s.honest().all(|d| {
        let took = |w: &Written| d.envelope_identity(&w.writer, w.seq) == Some(w.identity);
        let is = |rec: &blindsync::client::Record, w: &Written| {
            w.writer == rec.writer && w.revision == rec.revision && w.value == rec.value
        };
        let held = d.records().iter().filter(|((c, _), _)| c == DEVICES_COLLECTION).all(|((_, id), rec)| {
            s.ghost.meta_written.iter().filter(own).any(|w| w.record == *id && is(rec, w) && took(w))
        });
        let shown = s.ghost.meta_written.iter().filter(own).filter(|w| took(w)).all(|w| {
            let later =
                s.ghost.meta_written.iter().filter(own).any(|v| v.writer == w.writer && v.seq > w.seq && took(v));
            // a write of the same record that the server ranks above it ([SRV-6]), whoever made
            // it, leaves it a stub on the server: a device can take its sequence number, not its
            // value ([SRV-11]; the check buys the alert, not the name)
            let outranked = s
                .ghost
                .meta_written
                .iter()
                .any(|v| v.record == w.record && (v.revision, v.writer) > (w.revision, w.writer));
            later
                || outranked
                || (d.records().get(&(DEVICES_COLLECTION.to_owned(), w.record)).is_some_and(|rec| is(rec, w))
                    && d.device_info(&w.writer).is_some())
        });
        held && shown
    })
}

/// [SYNC-17] no device took an old-head write listed above its boundary without the alert.
fn freshness(_: &Model, s: &State) -> bool {
    !s.ghost.broken.contains(&Broken::StaleHeadMissed)
}

fn no_rollback(_: &Model, s: &State) -> bool {
    !s.ghost.broken.contains(&Broken::Rollback)
}

fn withholding(_: &Model, s: &State) -> bool {
    !s.ghost.broken.contains(&Broken::Withholding)
}

fn forks(_: &Model, s: &State) -> bool {
    !s.ghost.broken.contains(&Broken::Fork)
}

/// [MODEL-9] every UMK the adversary holds (R's own, every one opened from a wrap to R, the
/// sleeper or the server, every one it made) tried against every envelope the server received
/// that is sealed in the revocation's epoch or later, or at a chain head that contains the
/// revocation, whoever wrote it. Left out is only the residual of spec 1.6 item 17: an older
/// epoch at a head before the revocation, i.e. a writer whose verified chain did not yet
/// contain it (its own signed header says so).
fn revocation(m: &Model, s: &State) -> bool {
    let Some(rev) = s.ghost.revocation else { return true };
    let Some((chain, _)) = s.server.key() else { return true };
    let account = m.fixture.account;
    let mut keys: Vec<[u8; 32]> = s.ghost.adversary.0.iter().map(|(_, k)| *k).collect();
    keys.extend(s.revoked.umks().values().map(|u| *u.expose()));
    s.archive.iter().all(|env| {
        let Ok(e) = EnvelopeRef::decode(env) else { return true };
        let h = e.header;
        let after = h.epoch >= rev.epoch || chain.epoch_at_head(&h.chain_head).is_some_and(|(p, _)| p >= rev.position);
        !after || !keys.iter().any(|k| opens(&account, k, &h))
    })
}

/// Whether `umk` opens an envelope with `header`: the key commitment ([ENV-6]) of a collection
/// key derived from it for the header's epoch equals the header's (every collection a device
/// of the model writes or subscribes to).
fn opens(account: &AccountId, umk: &[u8; 32], header: &Header) -> bool {
    let keys = EpochKeys::derive(&Umk::from_bytes(*umk), account, header.epoch);
    [COLLECTION, OTHER_COLLECTION, DEVICES_COLLECTION].iter().any(|c| {
        keys.collection_key(c)
            .is_ok_and(|ck| key_schedule(&ck, &header.salt, header.suite).commitment == header.commitment)
    })
}

fn residual(_: &Model, s: &State) -> bool {
    s.ghost.residual
}

fn stale_alerted(_: &Model, s: &State) -> bool {
    s.ghost.stale_alerted
}

/// [MODEL-8] every UMK every honest device holds is in `genuine` for its epoch.
fn key_integrity(_: &Model, s: &State) -> bool {
    s.honest().all(|c| c.umks().iter().all(|(e, u)| s.ghost.genuine.contains(&(*e, u.key_check(*e)))))
}

/// [MODEL-8] no honest device holds a UMK the adversary made.
fn confidentiality(_: &Model, s: &State) -> bool {
    s.honest().all(|c| c.umks().values().all(|u| !s.ghost.made.contains(&umk_digest(u))))
}

fn paired(m: &Model, s: &State) -> bool {
    s.onboarded.as_ref().is_some_and(|c| c.id() == m.fixture.pending.id())
}

fn enrolled(m: &Model, s: &State) -> bool {
    s.onboarded.as_ref().is_some_and(|c| c.id() == m.fixture.restored.id())
}

fn keys_stay_home(_: &Model, s: &State) -> bool {
    !s.ghost.broken.contains(&Broken::KeyLeak)
}

fn pinned(_: &Model, s: &State) -> bool {
    !s.ghost.broken.contains(&Broken::Unpinned)
}

fn no_downgrade(_: &Model, s: &State) -> bool {
    !s.ghost.broken.contains(&Broken::Downgrade)
}

fn chunks(_: &Model, s: &State) -> bool {
    !s.ghost.broken.contains(&Broken::Chunks)
}

fn converged(s: &State) -> bool {
    s.devices.windows(2).all(|w| w[0].records() == w[1].records())
}

fn converge_sometimes(_: &Model, s: &State) -> bool {
    s.ghost.alerts.is_empty()
        && !s.ghost.written.is_empty()
        && s.devices.iter().all(|d| !d.records().is_empty())
        && converged(s)
}

macro_rules! sometimes_used {
    ($($f:ident => $cap:ident, $name:literal;)*) => {
        $(fn $f(_: &Model, s: &State) -> bool { s.ghost.used.contains(&Capability::$cap) })*
        fn used_properties(m: &Model) -> Vec<Property<Model>> {
            let mut v = Vec::new();
            $(if m.config.capabilities.contains(&Capability::$cap) && m.config.malice > 0 {
                v.push(Property::sometimes($name, $f));
            })*
            v
        }
    };
}

sometimes_used! {
    used_withhold => Withhold, "adversary withholds an item";
    used_replay => Replay, "adversary replays an older envelope";
    used_reorder => Reorder, "adversary reorders a listing";
    used_swap_record => SwapRecord, "adversary swaps an envelope to another record";
    used_swap_bucket => SwapBucket, "adversary swaps an envelope to another bucket";
    used_swap_account => SwapAccount, "adversary swaps in another account's envelope";
    used_stale => StaleChain, "adversary serves a stale chain";
    used_fork => ForkChain, "adversary serves a forked chain";
    used_subst_device => SubstituteDeviceKey, "adversary substitutes a device key";
    used_subst_partner => SubstitutePartnerKey, "adversary substitutes the partner key";
    used_weak_kdf => WeakKdf, "adversary offers weaker KDF parameters";
    used_chunks => TamperChunks, "adversary drops or reorders stream chunks";
    used_collude => Collude, "adversary colludes with the revoked device";
    used_forge_bundle => ForgeBundle, "adversary forges a pairing bundle";
    used_counterfeit => CounterfeitChain, "adversary serves an enrolling device its counterfeit chain";
    used_split => SplitRotation, "adversary has R sign a split rotation";
    used_install => CompromiseThenInstall, "adversary has R install a sleeper device and a partner";
    used_rwr => RevokeWithoutRotate, "adversary serves a revoke without rotation";
    used_freeze => FreezeView, "adversary freezes a device's view before the revocation";
    used_below_bound => EquivocateBelowBound, "adversary has R write, then serves R's re-signed alternative below its bound";
    used_lose_ack => LoseAck, "adversary stores a write or revocation and loses its answer";
    used_split_history => SplitHistory, "adversary has R sign two alternatives of one write and serves a device the other";
    used_rename => RenameDevice, "adversary has R write another device's metadata record";
}

macro_rules! sometimes_alert {
    ($($f:ident => $code:literal, $name:literal;)*) => {
        $(fn $f(_: &Model, s: &State) -> bool { s.ghost.alerts.contains($code) })*
        fn alert_properties() -> Vec<Property<Model>> {
            vec![$(Property::sometimes($name, $f)),*]
        }
    };
}

sometimes_alert! {
    alert_withheld => "E_SYNC_WITHHELD", "alert fires: E_SYNC_WITHHELD";
    alert_rollback => "E_SYNC_ROLLBACK", "alert fires: E_SYNC_ROLLBACK";
    alert_equivocation => "E_SYNC_EQUIVOCATION", "alert fires: E_SYNC_EQUIVOCATION";
    alert_fork => "E_CHAIN_FORK", "alert fires: E_CHAIN_FORK";
    alert_chain_rollback => "E_CHAIN_ROLLBACK", "alert fires: E_CHAIN_ROLLBACK";
    alert_signature => "E_ENV_SIGNATURE", "alert fires: E_ENV_SIGNATURE";
    alert_signer => "E_ENV_SIGNER_UNKNOWN", "alert fires: E_ENV_SIGNER_UNKNOWN";
    alert_revoked => "E_ENV_WRITER_REVOKED", "alert fires: E_ENV_WRITER_REVOKED";
    alert_unpinned => "E_BATCH_UNPINNED", "alert fires: E_BATCH_UNPINNED";
    alert_kdf => "E_KDF_PARAMS_TOO_WEAK", "alert fires: E_KDF_PARAMS_TOO_WEAK";
    alert_bundle => "E_DEVICE_BUNDLE", "alert fires: E_DEVICE_BUNDLE";
    alert_key_check => "E_KEY_CHECK", "alert fires: E_KEY_CHECK";
    alert_possession => "E_CHAIN_POSSESSION", "alert fires: E_CHAIN_POSSESSION";
    alert_epoch => "E_CHAIN_EPOCH", "alert fires: E_CHAIN_EPOCH";
    alert_stale_head => "E_SYNC_STALE_HEAD", "alert fires: E_SYNC_STALE_HEAD";
    alert_context => "E_ENV_CONTEXT", "alert fires: E_ENV_CONTEXT";
}

/// Every property of `m`'s configuration: the safety properties, then the
/// reachability properties, then (honest server only) convergence. [MODEL-3]
pub fn all(m: &Model) -> Vec<Property<Model>> {
    let mut v = vec![
        Property::always(INTEGRITY, integrity),
        Property::always(NO_ROLLBACK, no_rollback),
        Property::always(WITHHOLDING, withholding),
        Property::always(FORKS, forks),
        Property::always(REVOCATION, revocation),
        Property::always(KEYS_STAY_HOME, keys_stay_home),
        Property::always(PINNED, pinned),
        Property::always(NO_DOWNGRADE, no_downgrade),
        Property::always(CHUNKS, chunks),
        Property::always(KEY_INTEGRITY, key_integrity),
        Property::always(CONFIDENTIALITY, confidentiality),
        Property::always(REVOKED_HISTORY, revoked_history),
        Property::always(FRESHNESS, freshness),
        Property::always(NO_FALSE_GAP, no_false_gap),
        Property::always(CHAIN_AUTHORITY, chain_authority),
        Property::always(SPLIT_DETECTED, split_detected),
        Property::always(DEVICE_META, device_meta),
        Property::always(HONEST_QUIET, honest_quiet),
        Property::always(CONVERGE, converge),
        Property::sometimes("a new device pairs", paired),
        Property::sometimes("a restored device enrolls by recovery code", enrolled),
    ];
    if m.config.capabilities.is_empty() {
        v.push(Property::sometimes(CONVERGE_SOMETIMES, converge_sometimes));
    } else {
        v.extend(used_properties(m));
        if m.config.writes > 0 && m.config.capabilities.contains(&Capability::FreezeView) && m.config.malice > 0 {
            v.push(Property::sometimes(RESIDUAL, residual));
            v.push(Property::sometimes(STALE_ALERTED, stale_alerted));
        }
        if m.config.capabilities.contains(&Capability::SplitHistory)
            && m.config.malice > 0
            && !m.config.defences.is_off(Weakening::NoRevocationSplitAlert)
        {
            v.push(Property::sometimes(SPLIT_ALERTED, split_alerted));
        }
        if m.config.defences == blindsync::danger::Defences::ALL
            && m.config.capabilities.len() == Capability::ALL.len()
            && m.config.malice > 0
        {
            v.extend(alert_properties());
        }
    }
    v
}

/// One action in words, for counterexamples. [MODEL-6]
pub fn describe(m: &Model, a: &Action) -> String {
    let dev = |d: &u8| if *d == 0 { "owner device A".to_owned() } else { format!("device {}", (b'A' + d) as char) };
    match a {
        Action::Write { device, record } => format!("{} writes record {record}", dev(device)),
        Action::Sync { device, serve } => {
            let what = match serve {
                Serve::Honest => "the server answers honestly".to_owned(),
                Serve::Withhold(k) => format!("the server drops listed item #{k}"),
                Serve::Replay(j) => format!("the server adds envelope #{j} it received earlier"),
                Serve::Reorder => "the server lists the items in reverse order".to_owned(),
                Serve::SwapRecord(k) => format!("the server moves listed item #{k} to the other record"),
                Serve::SwapBucket(k) => format!("the server moves listed item #{k} to another bucket"),
                Serve::SwapAccount(k) => {
                    format!("the server replaces listed item #{k} with another account's envelope")
                }
                Serve::StaleChain => "the server serves the chain without its last statement".to_owned(),
                Serve::ForkChain => "the server serves its other chain branch".to_owned(),
                Serve::SubstituteDeviceKey => {
                    "the server puts its own key in place of a device's in the chain".to_owned()
                }
                Serve::Impersonate => "the server adds an envelope the revoked device signed as the owner".to_owned(),
                Serve::Equivocate => {
                    "the server adds two envelopes the revoked device signed with one sequence number".to_owned()
                }
                Serve::RevokeWithoutRotate => {
                    "the server adds a revoke statement R signed that keeps the epoch (no rotation)".to_owned()
                }
                Serve::FreezeView => {
                    "the server serves the chain and items as they were before the revocation".to_owned()
                }
                Serve::SplitHistory => {
                    "the server lists, in place of R's stored write, the other alternative R signed".to_owned()
                }
                Serve::BelowBound { withhold_tail } => format!(
                    "the server lists, in place of R's first write, an alternative R re-signed after its revocation{}",
                    if *withhold_tail { ", and withholds R's second write" } else { "" }
                ),
            };
            format!("{} syncs; {what}", dev(device))
        }
        Action::Revoke { device, fork: false } => format!(
            "{} revokes device R {} and rotates the epoch",
            dev(device),
            if m.config.defences.cascade { "(and what R introduced)" } else { "alone (no cascade)" }
        ),
        Action::Revoke { device, fork: true } => {
            format!("{} revokes device R; the server answers Ok but keeps it as a second chain branch", dev(device))
        }
        Action::RevokedReads => "revoked device R reads everything the server stores".to_owned(),
        Action::Share { substitute } => format!(
            "the owner wraps a batch key to the partner key the server names ({})",
            if *substitute { "the server's own key" } else { "the pinned key" }
        ),
        Action::FetchKdf { weak } => format!(
            "device B fetches KDF parameters ({})",
            if *weak { "the server offers 1 MiB, t = 1" } else { "the account's real ones" }
        ),
        Action::OpenStream { serve } => format!(
            "device B opens the owner's stream ({})",
            match serve {
                StreamServe::Honest => "as sealed",
                StreamServe::DropChunk => "the server drops the middle chunk",
                StreamServe::ReorderChunks => "the server swaps the first two chunks",
            }
        ),
        Action::Pair { forge } => format!(
            "device N registers as pending, the owner approves it, N accepts the pairing ({})",
            if *forge {
                "the server serves N a bundle it sealed itself, with UMKs it chose"
            } else {
                "the server serves the approver's bundle"
            }
        ),
        Action::Enroll { counterfeit } => format!(
            "a new device enrolls with the recovery code ({})",
            if *counterfeit {
                "the server serves its counterfeit chain installing the account's recovery keys"
            } else {
                "the server serves the account's chain"
            }
        ),
        Action::SplitRotation => {
            "device R rotates the epoch, wrapping one UMK to the devices and another to the recovery path".to_owned()
        }
        Action::Install => {
            "device R (still active) adds the server's sleeper device and pins the server's key as a partner".to_owned()
        }
        Action::RevokedWrites => "device R (still active, compromised) writes record 0 twice".to_owned(),
        Action::WriteLost { device, record } => {
            format!("{} writes record {record}; the server stores it and answers E_SRV_UNAVAILABLE", dev(device))
        }
        Action::EnrollLost => "a new device enrolls with the recovery code; the server stores its add-device statement and answers E_SRV_UNAVAILABLE; the device enrolls again with the same keys".to_owned(),
        Action::RevokeLost { device } => format!(
            "{} revokes device R and rotates the epoch; the server stores it and answers E_SRV_UNAVAILABLE",
            dev(device)
        ),
        Action::SplitHistory => {
            "device R (still active, compromised) writes record 0 and signs another alternative of that write"
                .to_owned()
        }
        Action::RenameDevice => {
            "owner device A stores its name; device R (still active, compromised) reads it and writes a device-metadata record at the owner's device id, with a greater revision".to_owned()
        }
        Action::GetChain { device } => {
            format!("{} sends its sync's GetChain (its listing comes later)", dev(device))
        }
    }
    .replace("device A", if m.config.devices > 0 { "device A" } else { "device" })
}
