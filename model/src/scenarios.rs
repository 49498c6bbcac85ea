//! Scenario vectors from the model's counterexamples (spec 13.4, [CONF-8]).
//!
//! For each row of the coverage matrix (12.8) whose attack reaches a device only through its
//! login, syncs and writes, a [`Source`] stores the counterexample the checker finds with the
//! row's defence switched off, as model actions (their meaning, not their index among the enabled
//! actions, so that a change of the model's action order does not move them). [`generate`]
//! replays each path with every defence on, recording the requests and responses of the device
//! the attack targets, and drives a device built from that device's material (the scenario's
//! device, [`Player`]) through the same operations over the recorded responses: its requests must
//! be the model device's byte for byte and its state digest the model device's after every step,
//! and the attack step must end with the alerts the spec requires. Other parties' actions (other
//! devices' writes and revocations, the revoked device's writes) reach the device only through the
//! server's answers. [`check_counterexample`] replays a path with the defence off and checks that
//! it still violates its property exactly at its last step (the tests run it for every source
//! with a switch).
//! The capabilities whose defence has no switch (12.8) have no counterexample: for those that
//! act on a sync, the source is the model's attack path itself, replayed the same way.

use std::sync::{Arc, Mutex};

use blindsync::client::Client;
use blindsync::danger::{Defences, Weakening};
use blindsync::primitives::{SeededRng, sha256};
use blindsync::server::wire::{Request, Response};
use blindsync_testkit::scenarios::{Expect, Material, Op, Player, Scenario, Step, Write, state_digest};
use stateright::Model as _;

use crate::fixture::{COLLECTION, NOW_MS, OTHER_COLLECTION, record};
use crate::properties::{self as p, describe};
use crate::system::{Action, Capability, Config, Model, Serve, State};

type R<T> = Result<T, String>;

/// One counterexample (for a capability without a switch, the model's attack path), stored as
/// model actions. [CONF-8]
#[derive(Clone, Debug)]
pub struct Source {
    /// The scenario id (`model-<capability>`).
    pub id: &'static str,
    /// The capability (the coverage-matrix row), its one capability in the replay.
    pub capability: Capability,
    /// The defences switched off to find the counterexample; none for a capability whose
    /// defence has no switch (12.8), whose path is the model's attack with no counterexample.
    pub weakenings: &'static [Weakening],
    /// The property the path violates with them off (and that holds with every defence on).
    pub property: &'static str,
    /// Honest devices of the model (its fixture).
    pub devices: usize,
    /// The path; its last action is the attacked device's sync.
    pub path: Vec<Action>,
    /// The alert codes the spec requires at the last step, with every defence on.
    pub alerts: &'static [&'static str],
    /// The requirements the scenario exercises, besides those of chapter 13.
    pub requirements: &'static [&'static str],
    /// What the scenario shows.
    pub description: &'static str,
}

const fn sync(device: u8, serve: Serve) -> Action {
    Action::Sync { device, serve }
}
const fn write(device: u8) -> Action {
    Action::Write { device, record: 0 }
}
const REVOKE: Action = Action::Revoke { device: 0, fork: false };
const HONEST: Serve = Serve::Honest;

/// Every stored path, in file-name order. [CONF-8]
pub fn sources() -> Vec<Source> {
    use Capability as C;
    use Weakening as W;
    vec![
        Source {
            id: "model-collude",
            capability: C::Collude,
            weakenings: &[W::NoSignatureCheck],
            property: p::INTEGRITY,
            devices: 2,
            path: vec![
                REVOKE,
                sync(1, HONEST),
                write(1),
                sync(0, HONEST),
                sync(1, HONEST),
                sync(1, Serve::Impersonate),
            ],
            alerts: &["E_ENV_SIGNATURE"],
            requirements: &["SYNC-12"],
            description: "From the model's counterexample for `collude` (found with no-signature-check): the owner revokes R; the device syncs, writes, syncs; the server then lists an envelope the revoked device R signed naming the owner as its writer. With every defence on the owner's key does not verify it: refused with a signature alert, nothing applied.",
        },
        Source {
            id: "model-equivocate-below-bound",
            capability: C::EquivocateBelowBound,
            weakenings: &[W::NoPrevCheck],
            property: p::REVOKED_HISTORY,
            devices: 2,
            path: vec![
                Action::RevokedWrites,
                sync(0, HONEST),
                REVOKE,
                sync(1, Serve::BelowBound { withhold_tail: true }),
            ],
            alerts: &["E_SYNC_WITHHELD"],
            requirements: &["SYNC-15"],
            description: "From the model's counterexample for `equivocate-below-bound` (found with no-prev-check): R, still active, writes twice; the owner syncs and revokes R (the revocation pins R's bound and last envelope); the device's first sync lists, in place of R's first write, an alternative R re-signed after its revocation and withholds R's second write. With every defence on none of R's items is taken: the bound is not reached, a withholding alert, the cursor stays.",
        },
        Source {
            id: "model-fork-chain",
            capability: C::ForkChain,
            weakenings: &[W::NoForkCheck],
            property: p::FORKS,
            devices: 2,
            path: vec![Action::Revoke { device: 1, fork: true }, REVOKE, write(1), sync(0, HONEST)],
            alerts: &["E_CHAIN_FORK"],
            requirements: &["SYNC-11"],
            description: "From a counterexample of the model for `fork-chain` (found with no-fork-check; shortened so that the attacked device's operations are login and sync): device B revokes R but the server only answers Ok and keeps B's revocation as a second branch; the owner revokes R on the stored chain (the device under test is the owner, starting from its chain after its own revocation); B writes at its branch's head; the owner's sync lists B's write. With every defence on the head is on no branch of the owner's chain: after the signature checks, a fork alert ([SYNC-11]), before any opening.",
        },
        Source {
            id: "model-freeze-view",
            capability: C::FreezeView,
            weakenings: &[W::NoStaleHeadAlert],
            property: p::FRESHNESS,
            devices: 2,
            path: vec![write(1), REVOKE, sync(0, HONEST), sync(1, Serve::FreezeView), write(1), sync(0, HONEST)],
            alerts: &["E_SYNC_STALE_HEAD"],
            requirements: &["SYNC-17"],
            description: "From a counterexample of the model for `freeze-view` (found with no-stale-head-alert; ordered so that the attacked device's operations are login and sync): B writes; the owner revokes R (the device under test is the owner, from its chain after its own revocation) and syncs, which fixes its revocation boundary; the server serves B a view frozen before the revocation, so B's next write cites the old head; the owner's next sync lists it. With every defence on it is applied with a stale-head alert.",
        },
        Source {
            id: "model-rename-device",
            capability: C::RenameDevice,
            weakenings: &[W::NoDeviceMetaOwnerCheck],
            property: p::DEVICE_META,
            devices: 2,
            path: vec![Action::RenameDevice, sync(1, HONEST)],
            alerts: &["E_ENV_CONTEXT"],
            requirements: &["SRV-11"],
            description: "From the model's counterexample for `rename-device` (found with no-device-meta-owner-check): the owner stores its name (its own device-metadata record); R, still active and compromised, writes a device-metadata record at the owner's device id with a greater revision, so the server lists the owner's name as a stub and R's record as current. With every defence on R's record is refused as forged ([SRV-11]: a metadata record is only its writer's own), once, and never applied; R signed it, so it counts for R's sequence and supersedes the owner's stub below it: no gap, and the device shows no name for the owner rather than R's.",
        },
        Source {
            id: "model-reorder",
            capability: C::Reorder,
            weakenings: &[],
            property: p::NO_ROLLBACK,
            devices: 2,
            path: vec![write(0), write(0), sync(1, Serve::Reorder)],
            alerts: &["E_SYNC_ORDER"],
            requirements: &["SYNC-7"],
            description: "From the model's attack path for `reorder` (a capability without a switch, 12.8): the owner writes record 0 twice (the first is listed as a stub); the device's sync lists the page in reverse order. With every defence on: the page is refused whole, an order alert, nothing applied.",
        },
        Source {
            id: "model-substitute-device-key",
            capability: C::SubstituteDeviceKey,
            weakenings: &[],
            property: p::CHAIN_AUTHORITY,
            devices: 2,
            path: vec![sync(1, Serve::SubstituteDeviceKey)],
            alerts: &["E_CHAIN_FORK"],
            requirements: &["CHAIN-10"],
            description: "From the model's attack path for `substitute-device-key` (a capability without a switch, 12.8): the device's first sync is served the chain with a device's Ed25519 key, in a statement the device verified already, replaced by the server's own. With every defence on the changed statement differs from the verified one at its position: a fork alert, checked before any signature ([CHAIN-10]).",
        },
        Source {
            id: "model-swap-account",
            capability: C::SwapAccount,
            weakenings: &[],
            property: p::INTEGRITY,
            devices: 2,
            path: vec![write(0), sync(1, Serve::SwapAccount(0))],
            alerts: &["E_ENV_SIGNER_UNKNOWN"],
            requirements: &["SYNC-12"],
            description: "From the model's attack path for `swap-account` (a capability without a switch, 12.8): the owner writes record 0; the device's sync lists, in its place, another account's envelope for the same collection name and record id. With every defence on its writer is no device of this chain: refused, nothing applied.",
        },
        Source {
            id: "model-swap-bucket",
            capability: C::SwapBucket,
            weakenings: &[],
            property: p::INTEGRITY,
            devices: 2,
            path: vec![write(0), sync(1, Serve::SwapBucket(0))],
            alerts: &["E_ENV_SIGNATURE"],
            requirements: &["SYNC-12", "ENV-12"],
            description: "From the model's attack path for `swap-bucket` (a capability without a switch, 12.8): the owner writes record 0 in `notes`; the device's sync lists it moved to the bucket of `photos`, another collection the device reads. With every defence on the signature, which covers the bucket, fails first ([ENV-12] step 4, before the key commitment of step 5): refused, nothing applied.",
        },
        Source {
            id: "model-replay",
            capability: C::Replay,
            weakenings: &[W::NoRollbackCheck],
            property: p::NO_ROLLBACK,
            devices: 2,
            path: vec![
                REVOKE,
                sync(1, HONEST),
                write(0),
                sync(0, HONEST),
                sync(1, HONEST),
                Action::RevokedReads,
                write(1),
                sync(0, HONEST),
                sync(1, HONEST),
                sync(1, Serve::Replay(0)),
            ],
            alerts: &["E_SYNC_ROLLBACK"],
            requirements: &["SYNC-10"],
            description: "From the model's counterexample for `replay` (found with no-rollback-check): the owner revokes R and writes a record; the device syncs, overwrites the record (revision 2) and syncs; the server then lists the owner's revision 1 again. With every defence on: a rollback alert, the device keeps its revision.",
        },
        Source {
            id: "model-revoke-without-rotate",
            capability: C::RevokeWithoutRotate,
            weakenings: &[],
            property: p::CHAIN_AUTHORITY,
            devices: 2,
            path: vec![sync(1, Serve::RevokeWithoutRotate)],
            alerts: &["E_CHAIN_EPOCH"],
            requirements: &["CHAIN-20"],
            description: "From the model's attack path for `revoke-without-rotate` (a capability without a switch, 12.8): the device's first sync is served the stored chain followed by a revoke statement R signed while still active that keeps the epoch (no new UMK). With every defence on the chain is refused with the epoch rule's code, the verified chain stays.",
        },
        Source {
            id: "model-split-history",
            capability: C::SplitHistory,
            weakenings: &[W::NoRevocationSplitAlert],
            property: p::SPLIT_DETECTED,
            devices: 2,
            path: vec![Action::SplitHistory, sync(0, HONEST), sync(1, Serve::SplitHistory), REVOKE, sync(1, HONEST)],
            alerts: &["E_SYNC_EQUIVOCATION"],
            requirements: &["SYNC-14"],
            description: "From the model's counterexample for `split-history` (found with no-revocation-split-alert): R, still active and compromised, writes record 0 and signs another alternative of that write; the owner takes the stored one; the server serves the device the other; the owner revokes R, pinning the alternative it holds as R's last envelope. The device's next sync takes the revocation: with every defence on the identity it holds for R's bound is not the one the revocation pins, an equivocation alert, once.",
        },
        Source {
            id: "model-stale-chain",
            capability: C::StaleChain,
            weakenings: &[W::NoRollbackCheck],
            property: p::NO_ROLLBACK,
            devices: 2,
            path: vec![REVOKE, sync(1, HONEST), write(1), sync(0, HONEST), sync(1, HONEST), sync(1, Serve::StaleChain)],
            alerts: &["E_CHAIN_ROLLBACK"],
            requirements: &["CHAIN-10"],
            description: "From the model's counterexample for `stale-chain` (found with no-rollback-check): the owner revokes R; the device syncs, writes and syncs; the server then serves the chain without its last statement (the revocation). With every defence on: a chain rollback alert, the verified chain stays.",
        },
        Source {
            id: "model-swap-record",
            capability: C::SwapRecord,
            weakenings: &[W::NoAadBinding],
            property: p::INTEGRITY,
            devices: 2,
            path: vec![REVOKE, sync(1, HONEST), write(0), sync(0, HONEST), sync(1, Serve::SwapRecord(0))],
            alerts: &["E_ENV_SIGNATURE"],
            requirements: &["SYNC-12"],
            description: "From the model's counterexample for `swap-record` (found with no-aad-binding): the owner revokes R and writes record 0; the device's sync lists that envelope moved to another record id. With every defence on the signature, which covers the header, fails: refused, nothing applied.",
        },
        Source {
            id: "model-withhold",
            capability: C::Withhold,
            weakenings: &[W::NoSequenceGapCheck],
            property: p::WITHHOLDING,
            devices: 2,
            path: vec![
                REVOKE,
                sync(1, HONEST),
                write(0),
                sync(0, HONEST),
                Action::RevokedReads,
                write(0),
                sync(0, HONEST),
                sync(1, Serve::Withhold(0)),
            ],
            alerts: &["E_SYNC_WITHHELD"],
            requirements: &["SYNC-9"],
            description: "From the model's counterexample for `withhold` (found with no-sequence-gap-check): the owner revokes R and writes record 0 twice; the device's sync leaves out the owner's first write and lists its second. With every defence on: a withholding alert, nothing of the owner applied, the cursor stays.",
        },
    ]
}

/// The coverage-matrix rows (12.8) that are no scenario, and why: their attack acts on another
/// operation than a device's login, sync and write, or their defence is no check of the
/// attacked device. [CONF-8]
pub const NOT_SCENARIOS: [(&str, &str); 14] = [
    (
        "lose-ack",
        "no alert to expect: a lost answer is a network's doing that the device recovers from (SYNC-6: the outbox resubmitted byte for byte, or applied by a sync that lists it); model/tests/lose_ack.rs pins both paths, and no scenario drives a write's answer yet",
    ),
    (
        "counterfeit-chain",
        "no switch, and the attack is on a device enrolling with the recovery code (no scenario operation); chain.json and wrap.json (E_WRAP_OPEN)",
    ),
    (
        "tamper-chunks",
        "no switch, and the attack is on opening a stream (no scenario operation); stream.json (E_STREAM_*)",
    ),
    (
        "substitute-partner-key",
        "the attack is on wrapping a batch data key to a partner (a share operation, no scenario operation); the partner-key check is in batch.json (E_BATCH_UNPINNED)",
    ),
    (
        "weak-kdf",
        "the attack is on the password KDF parameters a device fetches to unlock (no scenario operation); password.json (E_KDF_PARAMS_TOO_WEAK)",
    ),
    (
        "forge-bundle",
        "the attack is on pairing, the bundle a joining device opens (no scenario operation: a scenario's device has joined already); chain.json (E_DEVICE_BUNDLE, E_KEY_CHECK)",
    ),
    (
        "split-rotation",
        "the attack reaches only a device enrolling with the recovery code (no scenario operation); chain.json (E_KEY_CHECK)",
    ),
    (
        "compromise-then-install",
        "the defence is the revoker's own cascade when it signs the revocation (a chain operation): with it on, the path serves no statement a syncing device could refuse; the verifier's check is in chain.json (E_CHAIN_CASCADE)",
    ),
    ("insider-chunk-forgery", "data-path model (streams, no scenario operation); stream.json (E_STREAM_*)"),
    (
        "salt-substitution",
        "data-path model (the salt at unlock, no scenario operation); chain.json, sync.json (E_KDF_NOT_PINNED)",
    ),
    (
        "frame-user",
        "data-path model (signed batch reports, no scenario operation); batch.json (E_BATCH_SIGNATURE, E_HCH_SIGNATURE)",
    ),
    ("delete-batch", "data-path model (batch links, no scenario operation); batch.json (E_BATCH_GAP)"),
    (
        "stale-partner-chain",
        "data-path model (a partner's chain head, no scenario operation); batch.json (E_BATCH_CHAIN_HEAD)",
    ),
    ("attachment-after-revocation", "data-path model (attachment keys, no scenario operation); attachment.json"),
];

/// The device an action is run by, when it is a device's.
fn actor(a: &Action) -> Option<u8> {
    match a {
        Action::Write { device, .. } | Action::Sync { device, .. } | Action::Revoke { device, .. } => Some(*device),
        _ => None,
    }
}

fn config(s: &Source, defences: Defences) -> Config {
    Config { devices: s.devices, capabilities: [s.capability].into_iter().collect(), defences, ..Config::default() }
}

/// The defences with the source's switches off.
fn weakened(s: &Source) -> Defences {
    s.weakenings.iter().fold(Defences::ALL, |d, w| d.without(*w))
}

fn holds(m: &Model, state: &State, property: &str) -> R<bool> {
    let prop = m.properties().into_iter().find(|q| q.name == property).ok_or(format!("no property {property:?}"))?;
    Ok((prop.condition)(m, state))
}

/// Steps `m` along `path` from its initial state, each action enabled where it is taken;
/// `each(k, state before, action, state after)`.
fn replay(m: &Model, path: &[Action], each: &mut dyn FnMut(usize, &State, &Action, &State) -> R<()>) -> R<State> {
    let mut state = m.init();
    for (k, a) in path.iter().enumerate() {
        let mut enabled = Vec::new();
        m.enabled(&state, &mut enabled);
        if !enabled.contains(a) {
            return Err(format!("step {k} ({}) is not enabled", describe(m, a)));
        }
        let next = m.step(&state, *a).ok_or_else(|| format!("step {k} ({}) changed nothing", describe(m, a)))?;
        each(k, &state, a, &next)?;
        state = next;
    }
    Ok(state)
}

/// With the source's defences off, its path is enabled step by step and violates its property
/// at its last step and not before: the stored path is still the counterexample. [CONF-8]
pub fn check_counterexample(base: &Model, s: &Source) -> R<()> {
    if s.weakenings.is_empty() {
        return Err(format!("{}: a capability without a switch has no counterexample", s.id));
    }
    let m = base.with_config(config(s, weakened(s)));
    let last = s.path.len().saturating_sub(1);
    replay(&m, &s.path, &mut |k, _, _, after| match (holds(&m, after, s.property)?, k == last) {
        (false, false) => Err(format!("{}: the property fails already at step {k}", s.id)),
        (true, true) => Err(format!("{}: the path no longer violates {:?}", s.id, s.property)),
        _ => Ok(()),
    })
    .map(|_| ())
}

/// The starting material of a model device (it reads `notes` and `photos`, the model's
/// collections). [CONF-2]
fn material(c: &Client) -> Material {
    Material {
        ed25519_seed: *c.device().signing_seed().expose(),
        x25519_secret: *c.device().hpke_key().expose(),
        chain: c.chain().encoded(),
        umks: c.umks().iter().map(|(e, k)| (*e, *k.expose())).collect(),
        collections: vec![COLLECTION.to_owned(), OTHER_COLLECTION.to_owned()],
    }
}

/// Runs one operation of the scenario's device over recorded exchanges (each request must be
/// the recorded one) and returns the step.
fn play(player: &mut Player, op: Op, exchanges: Vec<(Vec<u8>, Vec<u8>)>) -> R<Step> {
    let result = player.run(&op, &mut |k, req| match exchanges.get(k) {
        Some((want, resp)) if *want == req => Ok(resp.clone()),
        Some(_) => Err(format!("request {k} differs from the model device's")),
        None => Err(format!("request {k} was not made by the model device")),
    })?;
    let expect = Expect {
        error: result.error,
        alerts: result.alerts,
        state_digest: result.state_digest,
        state_digest_input: result.state_digest_input,
    };
    Ok(Step { op, exchanges, expect })
}

/// The login step of a device built from the material of `c` in `state`: the challenge the
/// model's server issues, and, as the session, the token the model device holds (every request
/// the model recorded carries it). [SYNC-4]
fn login(player: &mut Player, state: &State, c: &Client) -> R<Step> {
    let token = c.token().ok_or("the model device has no session")?;
    let mut server = state.server.server.clone();
    let mut rng = SeededRng::from_label("blindsync/model/scenario/login");
    let mut exchanges = Vec::new();
    let result = player.run(&Op::Login, &mut |_, bytes| {
        let req = Request::decode(&bytes).map_err(|e| format!("login request: {}", e.code()))?;
        let resp = match server.handle(req, NOW_MS, &mut rng) {
            Response::Token { expires_ms, .. } => Response::Token { token, expires_ms },
            r @ Response::Nonce { .. } => r,
            r => return Err(format!("login refused: {:?}", r.encode())),
        };
        exchanges.push((bytes, resp.encode()));
        Ok(resp.encode())
    })?;
    if result.error.is_some() {
        return Err(format!("login ended with {:?}", result.error));
    }
    let expect = Expect {
        error: None,
        alerts: result.alerts,
        state_digest: result.state_digest,
        state_digest_input: result.state_digest_input,
    };
    Ok(Step { op: Op::Login, exchanges, expect })
}

/// The scenario of one source: its path replayed with every defence on. [CONF-8]
pub fn generate_one(base: &Model, s: &Source) -> R<Scenario> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut m = base.with_config(config(s, Defences::ALL));
    m.transcript = Some(log.clone());
    let victim = s.path.last().and_then(actor).ok_or("the path does not end with a device's sync")?;
    let last = s.path.len().saturating_sub(1);
    let mut start: Option<(Material, Player)> = None;
    let mut steps = Vec::new();
    let mut writes = 0usize;
    let at = |k: usize, e: String| format!("{} step {k}: {e}", s.id);
    let mut state = m.init();
    for (k, a) in s.path.iter().enumerate() {
        let mut enabled = Vec::new();
        m.enabled(&state, &mut enabled);
        if !enabled.contains(a) {
            return Err(at(k, format!("{} is not enabled", describe(&m, a))));
        }
        let own = actor(a) == Some(victim);
        let op = match a {
            Action::Sync { .. } if own => Some(Op::Sync),
            Action::Write { device, record: r } if own => {
                // the model's write ([MODEL-1]): value `d<device>.<count>`, salt and nonce from
                // `SeededRng::from_label("blindsync/model/write/<device>/<count>")`, which is
                // `from_seed(SHA-256(label))` ([PRIM-12]); the request must match byte for byte
                let label = format!("blindsync/model/write/{device}/{writes}");
                writes += 1;
                Some(Op::Write(Write {
                    collection: COLLECTION.to_owned(),
                    record_id: record(*r).0,
                    value: format!("d{device}.{}", writes - 1).into_bytes(),
                    rng_seed: sha256(&[label.as_bytes()]),
                }))
            }
            _ if own && start.is_some() => {
                return Err(at(k, format!("{} is no scenario operation", describe(&m, a))));
            }
            _ => None,
        };
        let device = state.devices.get(victim as usize).ok_or("no such device")?;
        if op.is_some() && start.is_none() {
            let mat = material(device);
            let mut player = Player::new(&mat).map_err(|e| at(k, e))?;
            if state_digest(player.client()) != state_digest(device) {
                return Err(at(k, "the device's state is not that of its material (13.3)".into()));
            }
            steps.push(login(&mut player, &state, device).map_err(|e| at(k, e))?);
            start = Some((mat, player));
        }
        if let Ok(mut l) = log.lock() {
            l.clear();
        }
        let next = m.step(&state, *a).ok_or_else(|| at(k, format!("{} changed nothing", describe(&m, a))))?;
        let exchanges = log.lock().map(|l| l.clone()).unwrap_or_default();
        if let (Some(op), Some((_, player))) = (op, start.as_mut()) {
            let step = play(player, op, exchanges).map_err(|e| at(k, e))?;
            let after = next.devices.get(victim as usize).ok_or("no such device")?;
            if step.expect.state_digest != state_digest(after) {
                return Err(at(k, "the scenario's device and the model's differ after the step".into()));
            }
            if k == last {
                let want: Vec<String> = s.alerts.iter().map(|a| (*a).to_owned()).collect();
                if step.expect.error.is_some() || step.expect.alerts != want {
                    return Err(at(
                        k,
                        format!("expected the alerts {want:?}, got {:?} {:?}", step.expect.error, step.expect.alerts),
                    ));
                }
            } else if step.expect.error.is_some() || !step.expect.alerts.is_empty() {
                return Err(at(k, format!("an alert before the attack: {:?}", step.expect.alerts)));
            }
            steps.push(step);
        }
        if k == last && !holds(&m, &next, s.property)? {
            return Err(at(k, format!("with every defence on the path still violates {:?}", s.property)));
        }
        state = next;
    }
    let (device, _) = start.ok_or("the attacked device runs no operation")?;
    let mut requirements: Vec<String> =
        ["CONF-1", "CONF-2", "CONF-4", "CONF-6", "CONF-8"].iter().map(|r| (*r).to_owned()).collect();
    requirements.extend(s.requirements.iter().map(|r| (*r).to_owned()));
    Ok(Scenario {
        id: s.id.to_owned(),
        description: s.description.to_owned(),
        flags: vec![s.capability.name().to_owned()],
        requirements,
        device,
        steps,
    })
}

/// Every scenario of [`sources`], deterministically (one fixture per device count).
/// [CONF-8]
pub fn generate() -> R<Vec<Scenario>> {
    let mut bases: Vec<Model> = Vec::new();
    let mut out = Vec::new();
    for s in sources() {
        let base = match bases.iter().find(|b| b.config.devices == s.devices) {
            Some(b) => b,
            None => {
                let m = Model::new(Config { devices: s.devices, ..Config::default() })
                    .map_err(|e| format!("fixture: {}", e.code()))?;
                bases.push(m);
                bases.last().ok_or("no fixture")?
            }
        };
        out.push(generate_one(base, &s)?);
    }
    Ok(out)
}

/// Writes every scenario of [`generate`] into `dir` (`<id>.json`); returns the file names.
/// [CONF-8]
pub fn write_dir(dir: &std::path::Path) -> R<Vec<String>> {
    let io = |e: std::io::Error| format!("{}: {e}", dir.display());
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut names = Vec::new();
    for s in generate()? {
        let name = format!("{}.json", s.id);
        std::fs::write(dir.join(&name), s.to_bytes()).map_err(io)?;
        names.push(name);
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Model {
        Model::new(Config::default()).unwrap()
    }

    /// With the defence off each stored path is still a counterexample of its property (so the
    /// sources do not rot when the model changes).
    #[test]
    fn every_source_is_a_counterexample_with_its_defence_off() {
        let base = base();
        for s in sources() {
            if s.weakenings.is_empty() {
                // no switch: the path is the model's attack, and the capability is listed as such
                assert!(crate::coverage::UNSWITCHED.iter().any(|(_, c, _)| *c == s.capability.name()), "{}", s.id);
                assert!(check_counterexample(&base, &s).is_err());
            } else {
                check_counterexample(&base, &s).unwrap();
            }
        }
    }

    /// A path whose last step no longer violates the property is refused.
    #[test]
    fn a_path_cut_before_the_attack_is_no_counterexample() {
        let base = base();
        let mut s = sources().into_iter().find(|s| s.id == "model-withhold").unwrap();
        s.path.pop();
        s.path.push(sync(1, HONEST));
        assert!(check_counterexample(&base, &s).is_err());
    }

    /// Every switched row of the coverage matrix is a scenario or says why not.
    #[test]
    fn every_coverage_row_is_a_scenario_or_listed() {
        let made: Vec<&str> = sources().iter().map(|s| s.capability.name()).collect();
        for row in crate::coverage::rows() {
            let name = row.target.name();
            let listed = NOT_SCENARIOS.iter().any(|(n, _)| *n == name);
            assert!(made.contains(&name) != listed, "{name}: a scenario xor listed in NOT_SCENARIOS");
        }
        for (_, name, _) in crate::coverage::UNSWITCHED {
            let listed = NOT_SCENARIOS.iter().any(|(n, _)| *n == name);
            assert!(made.contains(&name) != listed, "{name}: a scenario xor listed in NOT_SCENARIOS");
        }
        for s in sources() {
            assert_eq!(s.id, format!("model-{}", s.capability.name()));
        }
    }

    /// The checked-in files are what the generator writes, and each passes the Rust client.
    #[test]
    fn generated_scenarios_match_the_checked_in_files() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/scenarios");
        for s in generate().unwrap() {
            let file = std::fs::read(dir.join(format!("{}.json", s.id))).unwrap();
            assert!(file == s.to_bytes(), "{} is stale: run 'blindsync vectors generate'", s.id);
            s.check().unwrap();
        }
    }
}
