//! The coverage matrix (spec 12.8, [MODEL-18]): every attack class of the threat model, the
//! capability that carries it, the property that judges it, whether the default run blocks it,
//! and whether the checker re-finds it with the defence that stops it switched off.
//!
//! `blindsync check` prints it after the default runs. A row is *blocked* when its property held
//! in the default run (every capability, every defence on), and *re-found* when, with only its
//! capability and its switch off, the checker finds a counterexample for exactly its property.

use std::time::{Duration, Instant};

use blindsync::danger::{DataWeakening, Defences, Weakening};

use crate::data::{self, DataCapability, DataConfig, DataModel, Switch};
use crate::properties as p;
use crate::runner::{Outcome, find_violation_in};
use crate::system::{Capability, Config, Model};

/// Which model a row runs in. [MODEL-18]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A capability of the sync model (12.2).
    Sync(Capability),
    /// A capability of the data-path model (12.7).
    Data(DataCapability),
}

impl Target {
    /// The capability's command-line name.
    pub fn name(&self) -> &'static str {
        match self {
            Target::Sync(c) => c.name(),
            Target::Data(c) => c.name(),
        }
    }
}

/// One row of the matrix. [MODEL-18]
#[derive(Clone, Debug)]
pub struct Row {
    /// The attack class (an ATTACKS.md row, or a finding of the security issues).
    pub attack: &'static str,
    /// The capability that carries it.
    pub target: Target,
    /// The defences switched off to re-find it (library switches).
    pub switches: Vec<Switch>,
    /// The property that judges it.
    pub property: &'static str,
}

/// Every row whose defence has a library switch. [MODEL-18]
pub fn rows() -> Vec<Row> {
    use Capability as C;
    use DataCapability as D;
    let w = |x: Weakening| Switch::Chain(x);
    let dw = |x: DataWeakening| Switch::Data(x);
    let sync = |attack, c, switches: Vec<Switch>, property| Row { attack, target: Target::Sync(c), switches, property };
    let data = |attack, c, switches: Vec<Switch>, property| Row { attack, target: Target::Data(c), switches, property };
    vec![
        sync("withholding", C::Withhold, vec![w(Weakening::NoSequenceGapCheck)], p::WITHHOLDING),
        sync("replay, reorder, deletion", C::Replay, vec![w(Weakening::NoRollbackCheck)], p::NO_ROLLBACK),
        sync("name and location; metadata tampering", C::SwapRecord, vec![w(Weakening::NoAadBinding)], p::INTEGRITY),
        sync("file or folder injection", C::Collude, vec![w(Weakening::NoSignatureCheck)], p::INTEGRITY),
        sync("rollback and fork (rollback)", C::StaleChain, vec![w(Weakening::NoRollbackCheck)], p::NO_ROLLBACK),
        sync("rollback and fork (fork)", C::ForkChain, vec![w(Weakening::NoForkCheck)], p::FORKS),
        sync(
            "unauthenticated public keys",
            C::SubstitutePartnerKey,
            vec![w(Weakening::UnpinnedKeysAccepted)],
            p::PINNED,
        ),
        sync("KDF or protocol downgrade", C::WeakKdf, vec![w(Weakening::AnyKdfParams)], p::NO_DOWNGRADE),
        sync(
            "unauthenticated key material (forged bundle, issue 12)",
            C::ForgeBundle,
            vec![w(Weakening::NoBundleCommit), w(Weakening::NoKeyCheck)],
            p::CONFIDENTIALITY,
        ),
        sync(
            "unauthenticated key material (split rotation, issue 12)",
            C::SplitRotation,
            vec![w(Weakening::NoKeyCheck)],
            p::KEY_INTEGRITY,
        ),
        sync(
            "device-list injection (compromised device's installs, issue 13)",
            C::CompromiseThenInstall,
            vec![w(Weakening::NoCascade)],
            p::REVOCATION,
        ),
        sync(
            "frozen view before a revocation (issue 13)",
            C::FreezeView,
            vec![w(Weakening::NoStaleHeadAlert)],
            p::FRESHNESS,
        ),
        sync(
            "equivocation below the bound (issue 13)",
            C::EquivocateBelowBound,
            vec![w(Weakening::NoPrevCheck)],
            p::REVOKED_HISTORY,
        ),
        sync(
            "issue 13/audit round 3, a revoked writer's split history",
            C::SplitHistory,
            vec![w(Weakening::NoRevocationSplitAlert)],
            p::SPLIT_DETECTED,
        ),
        sync(
            "issue 13/audit round 3, renaming another device",
            C::RenameDevice,
            vec![w(Weakening::NoDeviceMetaOwnerCheck)],
            p::DEVICE_META,
        ),
        data(
            "unauthenticated chunking (insider, issue 14 M2)",
            D::InsiderChunkForgery,
            vec![dw(DataWeakening::TagOnlyChunks)],
            data::properties::CHUNKS,
        ),
        data(
            "KDF salt substitution (issue 14 M3)",
            D::SaltSubstitution,
            vec![w(Weakening::UnpinnedKdf)],
            data::properties::SALT_PINNED,
        ),
        data(
            "framing the device (issue 14 M1)",
            D::FrameUser,
            vec![dw(DataWeakening::UnsignedReports)],
            data::properties::NO_FALSE_ACCUSATION,
        ),
        data(
            "whole-batch deletion (issue 14 M1)",
            D::DeleteBatch,
            vec![dw(DataWeakening::NoBatchLinks)],
            data::properties::NO_SILENT_GAP,
        ),
        data(
            "stale partner chain (issue 14 M1)",
            D::StalePartnerChain,
            vec![dw(DataWeakening::NoChainHeadCheck)],
            data::properties::REVOKED_REFUSED,
        ),
        data(
            "attachment after revocation (issue 14 H2)",
            D::AttachmentAfterRevocation,
            vec![dw(DataWeakening::EpochZeroAttachmentKey)],
            data::properties::ATTACHMENTS,
        ),
    ]
}

/// Capabilities whose defence has no library switch, with the check that blocks them and
/// where it is tested instead (spec 12.8). [MODEL-18]
pub const UNSWITCHED: [(&str, &str, &str); 8] = [
    (
        "name and location tampering (bucket)",
        "swap-bucket",
        "two locks: the signature covers the bucket (E_ENV_SIGNATURE first, scenario model-swap-bucket); without the location binding the envelope is opened with that collection's key and the key commitment and the AEAD fail (E_ENV_COMMITMENT); per-collection keys have no switch (envelope vectors)",
    ),
    (
        "replay, reorder, deletion",
        "reorder",
        "harmless by design: items are merged per writer by sequence number and by last-writer-wins; `unordered-listing` off finds nothing ([SYNC-7] library test)",
    ),
    (
        "file or folder injection",
        "swap-account",
        "the writer lookup (E_ENV_SIGNER_UNKNOWN) has no switch; envelope vectors",
    ),
    (
        "device-list injection",
        "substitute-device-key",
        "two locks: a key replaced in a verified statement is refused by the prefix check first (E_CHAIN_FORK, scenario model-substitute-device-key); with no-fork-check off its signature fails, and chain statement signatures have no switch (E_CHAIN_SIGNATURE vectors in chain.json)",
    ),
    (
        "unauthenticated chunking",
        "tamper-chunks",
        "the chunk counter and last flag in the nonce have no switch (E_STREAM_* vectors); insider-chunk-forgery re-finds the manifest defence; mutation test mutant_reader_ignores_stream_failure",
    ),
    (
        "unauthenticated key material (counterfeit chain, issue 12)",
        "counterfeit-chain",
        "two locks: no-possession-check alone finds nothing because the chapter 5 wrap binds the account id, which has no switch (E_WRAP_OPEN vector); mutation test mutant_restoring_device_takes_counterfeit_chain",
    ),
    (
        "revoke without rotate (issue 13)",
        "revoke-without-rotate",
        "the statement format makes revocation and rotation one; the verifier's epoch check has no switch (E_CHAIN_EPOCH vector)",
    ),
    (
        "lost answers (the write path's availability, SYNC-6)",
        "lose-ack",
        "a network's doing, no goal's attack: the outbox (SYNC-6) has no switch; the honest-run properties (no alert, convergence) hold for runs whose only deviations are lost answers, and mutation test mutant_client_forgets_a_lost_write shows they catch a device that does not keep its write",
    ),
];

/// The verdict on one row. [MODEL-18]
#[derive(Clone, Debug)]
pub struct Verdict {
    /// The row.
    pub row: Row,
    /// Its property held in the default run.
    pub blocked: bool,
    /// Unique states the weakened search explored.
    pub states: usize,
    /// The weakened search found a counterexample for exactly its property (for a UMK the
    /// server made, key integrity with confidentiality).
    pub refound: bool,
    /// How long the weakened search took.
    pub elapsed: Duration,
}

fn held(out: &Outcome, property: &str) -> bool {
    out.property(property).is_some_and(|p| p.holds)
}

fn exactly(out: &Outcome, property: &str) -> bool {
    let mut v = out.violated();
    v.sort_unstable();
    let key = [p::CONFIDENTIALITY, p::KEY_INTEGRITY];
    v == vec![property] || (key.contains(&property) && v == vec![p::CONFIDENTIALITY, p::KEY_INTEGRITY])
}

/// Runs every row: `sync` and `data` are built models of the default configurations (their
/// fixtures are reused) and `sync_out`, `data_out` their default runs. [MODEL-18]
pub fn run(
    sync: &Model,
    sync_out: &Outcome,
    data_model: &DataModel,
    data_out: &Outcome,
    threads: usize,
) -> Vec<Verdict> {
    rows()
        .into_iter()
        .map(|row| {
            let started = Instant::now();
            let defences = row.switches.iter().fold(Defences::ALL, |d, s| s.apply(d));
            let (blocked, out) = match row.target {
                Target::Sync(c) => {
                    // one capability, one deviation, whatever the default run's malice
                    let cfg =
                        Config { capabilities: [c].into_iter().collect(), defences, malice: 1, ..sync.config.clone() };
                    (held(sync_out, row.property), find_violation_in(&sync.with_config(cfg), threads))
                }
                Target::Data(c) => {
                    let cfg =
                        DataConfig { capabilities: [c].into_iter().collect(), defences, ..data_model.config.clone() };
                    (held(data_out, row.property), data::find_data_violation_in(&data_model.with_config(cfg), threads))
                }
            };
            Verdict {
                blocked,
                states: out.unique,
                refound: exactly(&out, row.property),
                elapsed: started.elapsed(),
                row,
            }
        })
        .collect()
}

/// The matrix as text: one line per row, then the capabilities without a switch. [MODEL-18]
pub fn render(verdicts: &[Verdict]) -> String {
    let mut out = String::from(
        "  attack class                                                    | capability               | property                                                    | verdict | states | re-found with defence off\n",
    );
    for v in verdicts {
        let switches: Vec<&str> = v.row.switches.iter().map(|s| s.name()).collect();
        out.push_str(&format!(
            "  {:<63} | {:<24} | {:<59} | {:<7} | {:>6} | {} ({})\n",
            v.row.attack,
            v.row.target.name(),
            v.row.property,
            if v.blocked { "blocked" } else { "BROKEN" },
            v.states,
            if v.refound { "yes" } else { "NO" },
            switches.join(" + ")
        ));
    }
    out.push_str("  capabilities whose defence has no switch (blocked in the default run; spec 12.8):\n");
    for (attack, cap, why) in UNSWITCHED {
        out.push_str(&format!("    {cap} ({attack}): {why}\n"));
    }
    out
}

/// Every row reads blocked / yes. [MODEL-18]
pub fn all_blocked_and_refound(verdicts: &[Verdict]) -> bool {
    verdicts.iter().all(|v| v.blocked && v.refound)
}
