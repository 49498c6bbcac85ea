//! State, actions and transitions of the model (spec 12.2 to 12.4).
//!
//! A state is every honest device's real [`Client`], the colluding device's
//! `Client`, the real reference server's stored data, what the adversary
//! keeps (every envelope it received, a forked chain branch), and ghost
//! variables that record what was really written, which UMKs the account
//! really created and which ones the adversary made, and which checks a
//! transition violated. An action is one whole device operation (write,
//! sync, revoke, share, pair, enroll, open a stream) together with the
//! adversary's choice for the responses of that operation.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};

use blindsync::batch::BatchId;
use blindsync::batch::slots::{chain_allows_with, open_slot, seal_slots};
use blindsync::chain::statement::{Body, Revocation, Statement, sort_wraps, statement_hash};
use blindsync::chain::verify::{Introducer, open_epoch_wrap};
use blindsync::chain::{
    ChainState, PendingDevice, Rotation, UnlockPath, UnlockPathKeys, approve_device, enroll_with, epoch_wrap, extend,
    next_statement, revoke,
};
use blindsync::client::{Alert, Client, Enrollment, SyncReport, Transport, Volatile, run};
use blindsync::danger::Defences;
use blindsync::device::{DeviceId, DevicePublic, IdentityBundle, wrap_bundle};
use blindsync::envelope::payload::Schema;
use blindsync::envelope::{self, Header, RecordId, RecordMeta, Suite, header::HEADER_LEN};
use blindsync::error::Error;
use blindsync::keys::{AccountId, Bucket, Epoch, EpochKeys, Umk};
use blindsync::primitives::SeededRng;
use blindsync::server::wire::{Item, ItemKind, Request, Response, Token};
use blindsync::server::{MemoryStorage, Server, login_message};
use blindsync::stream::{self, Manifest, StreamKeySource};
use blindsync::unlock::password::{KdfParams, PasswordKdf};
use blindsync::unlock::recovery::RecoveryCode;

use crate::fixture::{COLLECTION, Fixture, NOW_MS, OTHER_COLLECTION, carries_secret, ed25519_signing, record};

/// What the adversary can do; each can be switched on or off. [MODEL-2]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Capability {
    /// Drop one item of a listing.
    Withhold,
    /// Serve an older envelope again.
    Replay,
    /// Serve a listing in another order.
    Reorder,
    /// Move an envelope to another record (rewrite its record id).
    SwapRecord,
    /// Move an envelope to another bucket (another collection).
    SwapBucket,
    /// Serve another account's envelope in this account.
    SwapAccount,
    /// Serve an older, shorter chain.
    StaleChain,
    /// Keep a second chain branch and serve it to some devices.
    ForkChain,
    /// Replace a device's public key in the served chain with the server's own.
    SubstituteDeviceKey,
    /// Name the server's own key as the partner's.
    SubstitutePartnerKey,
    /// Offer KDF parameters below the floor.
    WeakKdf,
    /// Drop or reorder the chunks of a stream.
    TamperChunks,
    /// Serve envelopes the revoked device made: one claiming another writer,
    /// two with one sequence number.
    Collude,
    /// Replace the approver's identity bundle for a pairing device with one
    /// the server sealed to that device's X25519 key, holding UMKs it chose.
    ForgeBundle,
    /// Serve a device enrolling with the recovery code the server's own
    /// chain (its genesis, a replace-authority installing the account's
    /// public recovery keys, an epoch-0 wrap it made).
    CounterfeitChain,
    /// Device R, before it is revoked, signs a rotation that wraps one UMK
    /// to the devices and another to the recovery path, and the server
    /// stores and serves it.
    SplitRotation,
    /// Device R, active and colluding, adds a sleeper device the server
    /// controls and pins a partner key the server holds, before the owner
    /// revokes it.
    CompromiseThenInstall,
    /// Serve a device a revoke statement R signed that does not start a new
    /// epoch (the statement format makes revocation and rotation one).
    RevokeWithoutRotate,
    /// Serve a device that has not seen the stored revocation the chain cut
    /// just before it, and only the items stored before it.
    FreezeView,
    /// Device R, before it is revoked, writes twice (so the revocation pins its second
    /// envelope); after the revocation the server serves a device that has not taken R's first
    /// write an alternative of it that R re-signed, with or without R's second write.
    EquivocateBelowBound,
    /// Store a device's write or appended revocation, then answer it as a dropped connection
    /// would (`E_SRV_UNAVAILABLE`): the device keeps its write in the outbox, or has not adopted
    /// its own statement, and learns that it was stored later ([SYNC-6]).
    LoseAck,
    /// Device R, active and compromised, signs two alternatives of one write (one writer sequence
    /// number): the server stores one and serves one device the other, before the revocation;
    /// the owner's revocation then pins the alternative it took ([SYNC-14], audit A3-6).
    SplitHistory,
    /// Once the owner has stored its name, device R, active and compromised, writes a
    /// device-metadata record (`blindsync/devices`) at the owner's device id: it renames another
    /// device ([SRV-11], audit A3-9).
    RenameDevice,
}

impl Capability {
    /// Every capability.
    pub const ALL: [Capability; 23] = [
        Capability::Withhold,
        Capability::Replay,
        Capability::Reorder,
        Capability::SwapRecord,
        Capability::SwapBucket,
        Capability::SwapAccount,
        Capability::StaleChain,
        Capability::ForkChain,
        Capability::SubstituteDeviceKey,
        Capability::SubstitutePartnerKey,
        Capability::WeakKdf,
        Capability::TamperChunks,
        Capability::Collude,
        Capability::ForgeBundle,
        Capability::CounterfeitChain,
        Capability::SplitRotation,
        Capability::CompromiseThenInstall,
        Capability::RevokeWithoutRotate,
        Capability::FreezeView,
        Capability::EquivocateBelowBound,
        Capability::LoseAck,
        Capability::SplitHistory,
        Capability::RenameDevice,
    ];

    /// Its command-line name.
    pub const fn name(&self) -> &'static str {
        match self {
            Capability::Withhold => "withhold",
            Capability::Replay => "replay",
            Capability::Reorder => "reorder",
            Capability::SwapRecord => "swap-record",
            Capability::SwapBucket => "swap-bucket",
            Capability::SwapAccount => "swap-account",
            Capability::StaleChain => "stale-chain",
            Capability::ForkChain => "fork-chain",
            Capability::SubstituteDeviceKey => "substitute-device-key",
            Capability::SubstitutePartnerKey => "substitute-partner-key",
            Capability::WeakKdf => "weak-kdf",
            Capability::TamperChunks => "tamper-chunks",
            Capability::Collude => "collude",
            Capability::ForgeBundle => "forge-bundle",
            Capability::CounterfeitChain => "counterfeit-chain",
            Capability::SplitRotation => "split-rotation",
            Capability::CompromiseThenInstall => "compromise-then-install",
            Capability::RevokeWithoutRotate => "revoke-without-rotate",
            Capability::FreezeView => "freeze-view",
            Capability::EquivocateBelowBound => "equivocate-below-bound",
            Capability::LoseAck => "lose-ack",
            Capability::SplitHistory => "split-history",
            Capability::RenameDevice => "rename-device",
        }
    }

    /// The capability with this command-line name.
    pub fn parse(name: &str) -> Option<Capability> {
        Capability::ALL.iter().copied().find(|c| c.name() == name)
    }
}

/// How many times the adversary may deviate, the bounds of the run, and
/// which defences the devices run with. [MODEL-1]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Honest devices (2 to 8), besides the one that will be revoked.
    pub devices: usize,
    /// Records the devices write (1 to 8).
    pub records: u8,
    /// Writes in a run, over all devices.
    pub writes: u8,
    /// Adversary deviations in a run.
    pub malice: u8,
    /// The adversary's capabilities.
    pub capabilities: BTreeSet<Capability>,
    /// The defences every device runs with.
    pub defences: Defences,
    /// A device's sync is two actions, its GetChain and its listing, and other devices' operations
    /// may run between them ([MODEL-20]).
    pub interleave: bool,
}

impl Default for Config {
    /// The default configuration with one deviation: what the model's tests pin and the
    /// coverage matrix starts from; `blindsync check` exhausts it with
    /// [`crate::DEFAULT_MALICE`] deviations.
    fn default() -> Self {
        Config {
            devices: 2,
            records: 1,
            writes: 2,
            malice: 1,
            capabilities: Capability::ALL.into_iter().collect(),
            defences: Defences::ALL,
            interleave: false,
        }
    }
}

impl Config {
    /// The same configuration with an honest server (no capability).
    pub fn honest(mut self) -> Self {
        self.capabilities.clear();
        self.malice = 0;
        self
    }

    fn can(&self, c: Capability) -> bool {
        self.capabilities.contains(&c)
    }
}

/// What the adversary does to the responses of one sync. [MODEL-2]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Serve {
    /// Exactly what the server stores.
    Honest,
    /// Drop the listed item at this index.
    Withhold(u8),
    /// Add this envelope of the archive to the listing.
    Replay(u8),
    /// List in reverse order.
    Reorder,
    /// Rewrite the record id of the listed item at this index.
    SwapRecord(u8),
    /// Rewrite the bucket of the listed item at this index.
    SwapBucket(u8),
    /// Replace the listed item at this index with another account's envelope.
    SwapAccount(u8),
    /// Serve the chain without its last statement.
    StaleChain,
    /// Serve the adversary's chain branch.
    ForkChain,
    /// Serve the chain with a device key replaced by the server's own.
    SubstituteDeviceKey,
    /// Add an envelope the revoked device signed, claiming the owner wrote it.
    Impersonate,
    /// Add two envelopes the revoked device signed with one sequence number.
    Equivocate,
    /// Serve the chain with a revoke statement R signed that keeps the epoch.
    RevokeWithoutRotate,
    /// Serve the chain cut before the stored revocation and only the items stored before it.
    FreezeView,
    /// Serve, in place of R's first write, an alternative R re-signed after its revocation;
    /// with `withhold_tail`, drop R's later writes too. Paid for by [`Action::RevokedWrites`].
    BelowBound {
        /// Drop R's writes after the replaced one.
        withhold_tail: bool,
    },
    /// Serve, in place of R's stored write, the other alternative R signed with the same writer
    /// sequence number (`split-history`; paid for by [`Action::SplitHistory`]).
    SplitHistory,
}

impl Serve {
    fn capability(&self) -> Option<Capability> {
        Some(match self {
            // one deviation with R's writes before its revocation: paid for there
            Serve::Honest | Serve::BelowBound { .. } | Serve::SplitHistory => return None,
            Serve::Withhold(_) => Capability::Withhold,
            Serve::Replay(_) => Capability::Replay,
            Serve::Reorder => Capability::Reorder,
            Serve::SwapRecord(_) => Capability::SwapRecord,
            Serve::SwapBucket(_) => Capability::SwapBucket,
            Serve::SwapAccount(_) => Capability::SwapAccount,
            Serve::StaleChain => Capability::StaleChain,
            Serve::ForkChain => Capability::ForkChain,
            Serve::SubstituteDeviceKey => Capability::SubstituteDeviceKey,
            Serve::Impersonate | Serve::Equivocate => Capability::Collude,
            Serve::RevokeWithoutRotate => Capability::RevokeWithoutRotate,
            Serve::FreezeView => Capability::FreezeView,
        })
    }
}

/// How a stream is served. [MODEL-2]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StreamServe {
    /// As sealed.
    Honest,
    /// Without its middle chunk.
    DropChunk,
    /// With its first two chunks swapped.
    ReorderChunks,
}

/// One step of the model. [MODEL-1]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// An honest device writes the next value of a record.
    Write {
        /// The device (index).
        device: u8,
        /// The record.
        record: u8,
    },
    /// An honest device syncs; the adversary serves as `serve` says.
    Sync {
        /// The device (index).
        device: u8,
        /// The adversary's choice.
        serve: Serve,
    },
    /// An honest device revokes the colluding device and rotates the epoch.
    /// With `fork`, the adversary answers Ok without storing it and keeps
    /// the result as a second chain branch.
    Revoke {
        /// The device (index).
        device: u8,
        /// Keep it as a fork instead of storing it.
        fork: bool,
    },
    /// The colluding device reads everything the server stores.
    RevokedReads,
    /// The owner wraps a batch data key to itself and the partner whose key
    /// the server names (the pinned one, or the server's own).
    Share {
        /// The server names its own key.
        substitute: bool,
    },
    /// A device takes the KDF parameters the server offers before deriving.
    FetchKdf {
        /// The server offers parameters below the floor.
        weak: bool,
    },
    /// A device opens the owner's stream as the server serves it.
    OpenStream {
        /// How the chunks are served.
        serve: StreamServe,
    },
    /// Device N registers as pending, the owner approves it (keys compared
    /// out of band), and N accepts the pairing from what the server serves;
    /// with `forge`, the server serves a bundle of its own. Ends the run.
    Pair {
        /// The server replaces the approver's bundle.
        forge: bool,
    },
    /// A new device enrolls with the account's recovery code from what the
    /// server serves; with `counterfeit`, the server serves its own chain.
    /// Ends the run.
    Enroll {
        /// The server serves its counterfeit chain.
        counterfeit: bool,
    },
    /// Device R signs a rotation giving the recovery path another UMK than
    /// the devices, and stores it on the server (a first action only).
    SplitRotation,
    /// Device R, still active, adds the server's sleeper device and pins the
    /// server's key as a partner (a first action only).
    Install,
    /// Device R, still active and compromised, writes record 0 twice (a first action only;
    /// `equivocate-below-bound`).
    RevokedWrites,
    /// With `--interleave`: an honest device sends its sync's GetChain and takes the chain the
    /// server answers; its sync's listing (and the rest of the sync) is its next action, a
    /// [`Action::Sync`], and other devices may act in between. [MODEL-20]
    GetChain {
        /// The device (index).
        device: u8,
    },
    /// `lose-ack`: an honest device with an empty outbox writes the next value of a record; the
    /// server stores it and answers `E_SRV_UNAVAILABLE`. [MODEL-2]
    WriteLost {
        /// The device (index).
        device: u8,
        /// The record.
        record: u8,
    },
    /// `lose-ack`: the owner revokes R and rotates; the server stores the statement and answers
    /// `E_SRV_UNAVAILABLE`, so the owner takes its own revocation from a later sync. [MODEL-2]
    RevokeLost {
        /// The device (index).
        device: u8,
    },
    /// `lose-ack`: a new device enrolls with the recovery code; the server stores its add-device
    /// statement and answers `E_SRV_UNAVAILABLE`; the device enrolls again with the same keys
    /// through the client's `Enrollment` ([CHAIN-13] step 7). Ends the run. [MODEL-2]
    EnrollLost,
    /// Device R, still active and compromised, writes record 0 through the server and signs
    /// another alternative of that write, which the adversary keeps (a first action only;
    /// `split-history`).
    SplitHistory,
    /// The owner stores its name, then device R, still active and compromised, writes a
    /// device-metadata record at the owner's device id through the server (a first action only;
    /// `rename-device`).
    RenameDevice,
}

/// A write an honest device signed: the ground truth of integrity. [MODEL-3]
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Written {
    /// The record.
    pub record: RecordId,
    /// Its revision.
    pub revision: u64,
    /// The writer.
    pub writer: DeviceId,
    /// The value.
    pub value: Vec<u8>,
    /// The epoch it was sealed in.
    pub epoch: Epoch,
    /// Its writer sequence number.
    pub seq: u64,
    /// The collection it was written in.
    pub collection: &'static str,
    /// The identity of the envelope as the writer sealed it (`SHA-256(header ‖ body digest)`,
    /// [SYNC-14]): the header binds the bucket, the epoch, the record id, the revision and the
    /// chain head, so a device holding this identity for `(writer, seq)` holds exactly what was
    /// written. [MODEL-3]
    pub identity: [u8; 32],
}

impl Written {
    /// The write an envelope records, as it reached the server: record, revision, writer, epoch
    /// and sequence number from its signed header, its identity from its bytes; the value and
    /// the collection are what the writer sealed.
    fn sealed(envelope: &[u8], collection: &'static str, value: Vec<u8>) -> Option<Written> {
        let (identity, h) = envelope_identity(envelope)?;
        Some(Written {
            record: h.record_id,
            revision: h.revision,
            writer: h.writer,
            value,
            epoch: h.epoch,
            seq: h.writer_seq,
            collection,
            identity,
        })
    }
}

/// A goal a transition broke (set by the transition, read by the
/// properties). [MODEL-3]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Broken {
    /// A record's accepted (revision, writer) or a chain went backwards.
    Rollback,
    /// A device accepted a later write of a writer whose earlier write it was not served, with no alert.
    Withholding,
    /// A device was shown a statement or an envelope chain head of a chain branch that diverges
    /// from its verified chain, and its sync raised no `E_CHAIN_FORK`.
    Fork,
    /// A sync raised `E_SYNC_WITHHELD` for a write that was served (as an envelope, or as a stub
    /// superseded by a newer genuine revision of its record): a false gap.
    FalseGap,
    /// A secret key's bytes appeared in a request.
    KeyLeak,
    /// A data key was wrapped to a key the chain does not pin.
    Unpinned,
    /// KDF parameters below the floor were accepted.
    Downgrade,
    /// A stream opened to bytes other than those sealed.
    Chunks,
    /// A device took a write listed after it held the revocation that cites a head before the
    /// revocation, without `E_SYNC_STALE_HEAD` ([SYNC-17]).
    StaleHeadMissed,
}

/// Ghost variables: ground truth and sticky verdicts. [MODEL-3]
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ghost {
    /// Every write honest devices signed.
    pub written: BTreeSet<Written>,
    /// Writes left in the run.
    pub writes_left: u8,
    /// Deviations left to the adversary.
    pub malice_left: u8,
    /// Capabilities the adversary used.
    pub used: BTreeSet<Capability>,
    /// Alert codes devices raised.
    pub alerts: BTreeSet<&'static str>,
    /// Goals a transition broke.
    pub broken: BTreeSet<Broken>,
    /// The revocation of R the server stored, once there is one (read from the server's
    /// chain, not from a device's).
    pub revocation: Option<StoredRevocation>,
    /// Every UMK the adversary holds: opened from the wraps of every chain statement it
    /// stored or kept to a key it holds (R's, the sleeper's, its own), and every UMK it made.
    /// With R's own UMKs, what G-REVOCATION tries against every envelope. [MODEL-9]
    pub adversary: AdversaryKeys,
    /// In a run where the server froze a view, a device whose verified chain did not yet contain
    /// the stored revocation wrote (spec 1.6 item 17): the residual window was reached. [MODEL-9]
    pub residual: bool,
    /// In such a run, a device that held the stored revocation took another device's write,
    /// listed above its boundary, that cites a head before the revocation, and raised
    /// `E_SYNC_STALE_HEAD` for it ([SYNC-17]). [MODEL-9]
    pub stale_alerted: bool,
    /// The writes device R really made, before its revocation (`equivocate-below-bound`): the
    /// ground truth of what an honest device may hold from R. [MODEL-3]
    pub revoked_written: BTreeSet<Written>,
    /// `equivocate-below-bound`: the alternative of R's write was served (once per run).
    pub below_bound_served: bool,
    /// [SYNC-17] per honest device (index), the boundary of the stored revocation: the greatest
    /// server sequence number listed to it in the first sync after which it held the revocation
    /// (its cursor if nothing was listed). [MODEL-9]
    pub boundary: std::collections::BTreeMap<u8, u64>,
    /// Per honest device (index), every `(writer, writer_seq)` it was ever listed (the ground
    /// truth of what was served, recorded by the adversary). [MODEL-3]
    pub served: std::collections::BTreeMap<u8, BTreeSet<(DeviceId, u64)>>,
    /// The hash of every chain statement a party of the account signed (the fixture's chain,
    /// and every statement an account device or unlock path made in the run; R's while it was
    /// active): the ground truth of G-CHAIN-AUTHORITY. [MODEL-3]
    pub signed: BTreeSet<[u8; 32]>,
    /// Some action has run (the one-shot checks run only first).
    pub started: bool,
    /// A one-shot check ran: the run ends.
    pub done: bool,
    /// Every UMK the account really created, as `(epoch, key check)`: UMK_0 of the genesis and
    /// the UMK of every rotation a device of the account signed (the one its key check commits
    /// to). The ground truth of G-KEY-INTEGRITY. [MODEL-8]
    pub genuine: BTreeSet<(Epoch, [u8; 32])>,
    /// The SHA-256 of every UMK the adversary made and offered a device (a forged bundle's, a
    /// counterfeit chain's, the off-chain half of a split rotation): keys the server knows.
    /// The ground truth of G-CONFIDENTIALITY. [MODEL-8]
    pub made: BTreeSet<[u8; 32]>,
    /// `split-history`: the alternative of R's stored write that R signed and the adversary keeps,
    /// until it is served to a device (once per run).
    pub split_alternative: Option<Vec<u8>>,
    /// [SYNC-14] the honest devices (index) that raised `E_SYNC_EQUIVOCATION` for R's pinned
    /// `max_seq` in the sync that took R's revocation. [MODEL-3]
    pub split_alerted: BTreeSet<u8>,
    /// [SRV-11] every device-metadata write (`blindsync/devices`) made in the run, with its
    /// writer: the ground truth of whose metadata a device holds. [MODEL-3]
    pub meta_written: BTreeSet<Written>,
}

impl Ghost {
    /// The adversary deviates with `c`: one unit of its budget ([MODEL-2]); `None` when it has none left.
    pub fn spend(&mut self, c: Capability) -> Option<()> {
        self.malice_left = self.malice_left.checked_sub(1)?;
        self.used.insert(c);
        Some(())
    }
}

/// The revocation of R as the server stored it. [MODEL-9]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StoredRevocation {
    /// The epoch it starts.
    pub epoch: Epoch,
    /// Its position in the server's chain.
    pub position: u64,
    /// Its statement hash.
    pub hash: [u8; 32],
}

impl StoredRevocation {
    /// Whether a device's verified chain contains it.
    pub fn seen_by(&self, c: &Client) -> bool {
        c.chain().hash_at(self.position) == Some(self.hash)
    }
}

/// UMKs the adversary holds, as `(epoch, bytes)`; `Debug` shows only how many. [MODEL-9]
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct AdversaryKeys(pub BTreeSet<(Epoch, [u8; 32])>);

impl core::fmt::Debug for AdversaryKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} UMKs", self.0.len())
    }
}

impl AdversaryKeys {
    /// Records a UMK the adversary now holds.
    pub fn learn(&mut self, epoch: Epoch, umk: &Umk) {
        self.0.insert((epoch, *umk.expose()));
    }
}

/// A UMK's fingerprint in the ghost variables (`made`). [MODEL-3]
pub fn umk_digest(umk: &Umk) -> [u8; 32] {
    blindsync::primitives::sha256(&[umk.expose()])
}

/// The server's stored data, compared and hashed by what matters to the
/// devices (chain, listed items), not by audit log or clocks. [MODEL-1]
#[derive(Clone)]
pub struct ServerView {
    /// The real reference server.
    pub server: Server<MemoryStorage>,
    account: blindsync::keys::AccountId,
}

impl ServerView {
    /// The stored chain and items of the account.
    pub fn key(&self) -> Option<(&blindsync::chain::ChainState, &std::collections::BTreeMap<u64, Item>)> {
        use blindsync::server::Storage;
        self.server.store.account(&self.account).map(|a| (&a.chain, &a.items))
    }
}

impl PartialEq for ServerView {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for ServerView {}
impl Hash for ServerView {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}
impl core::fmt::Debug for ServerView {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let (chain, items) = (self.server.store_chain(&self.account), self.server.store_items(&self.account));
        f.debug_struct("Server").field("chain_len", &chain.len()).field("items", &items.len()).finish()
    }
}

/// One state of the model. Equality compares every field (a device's keys by their bytes);
/// the hash stateright merges states by covers, besides every field's own hash, each device's
/// key material (its signing seed, HPKE key and every UMK), so two states that differ only in
/// a key never share a fingerprint. [MODEL-1]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    /// The honest devices, `devices[0]` the owner.
    pub devices: Vec<Client>,
    /// The colluding device (revoked once a Revoke is stored).
    pub revoked: Client,
    /// The reference server.
    pub server: ServerView,
    /// A chain branch the adversary keeps.
    pub fork: Option<Vec<Vec<u8>>>,
    /// Every envelope the server received, in order.
    pub archive: Vec<Vec<u8>>,
    /// The device that joined during the run (device N by pairing, or the
    /// restored device by enrollment), if it accepted what it was served.
    pub onboarded: Option<Client>,
    /// With `--interleave`: the device (index) whose sync has sent its GetChain, and the chain
    /// the server answered then; its listing is still to come. [MODEL-20]
    pub mid_sync: Option<(u8, Vec<Vec<u8>>)>,
    /// Ghost variables.
    pub ghost: Ghost,
}

impl Hash for State {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.devices.hash(h);
        self.revoked.hash(h);
        self.server.hash(h);
        self.fork.hash(h);
        self.archive.hash(h);
        self.onboarded.hash(h);
        self.mid_sync.hash(h);
        self.ghost.hash(h);
        for c in self.honest().chain(std::iter::once(&self.revoked)) {
            hash_key_material(c, h);
        }
    }
}

/// Feeds a device's key material to a state's hash: signing seed, HPKE key, and every
/// `(epoch, UMK)` (the bytes [`key_digest`] digests, without a SHA-256 per state). [MODEL-1]
fn hash_key_material<H: Hasher>(c: &Client, h: &mut H) {
    h.write(c.device().signing_seed().expose());
    h.write(c.device().hpke_key().expose());
    for (e, u) in c.umks() {
        h.write_u32(*e);
        h.write(u.expose());
    }
}

/// SHA-256 over a device's key material: signing seed, HPKE key, and every `(epoch, UMK)`.
/// [MODEL-1]
pub fn key_digest(c: &Client) -> [u8; 32] {
    let epochs: Vec<[u8; 4]> = c.umks().keys().map(|e| e.to_be_bytes()).collect();
    let mut parts: Vec<&[u8]> = vec![c.device().signing_seed().expose(), c.device().hpke_key().expose()];
    for ((_, u), e) in c.umks().iter().zip(&epochs) {
        parts.push(e);
        parts.push(u.expose());
    }
    blindsync::primitives::sha256(&parts)
}

impl State {
    /// Every honest device: the account's, and the one that joined during the run.
    pub fn honest(&self) -> impl Iterator<Item = &Client> {
        self.devices.iter().chain(self.onboarded.iter())
    }
}

/// The secrets one `(account, epoch, UMK)` derives ([`Model::secrets`]), from a process-wide
/// table: a pure function of its key, so the table changes no answer. [MODEL-19]
fn derived(account: AccountId, epoch: Epoch, umk: &Umk, derive: impl FnOnce() -> Vec<[u8; 32]>) -> Vec<[u8; 32]> {
    type Table = std::sync::Mutex<std::collections::HashMap<(AccountId, Epoch, [u8; 32]), Vec<[u8; 32]>>>;
    static TABLE: std::sync::OnceLock<Table> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(Default::default);
    let key = (account, epoch, *umk.expose());
    if let Ok(t) = table.lock()
        && let Some(v) = t.get(&key)
    {
        return v.clone();
    }
    let v = derive();
    if let Ok(mut t) = table.lock() {
        t.insert(key, v.clone());
    }
    v
}

/// [CHAIN-20] `chain::revoke` by `c` at its head with the model's seeded generator `label`:
/// a pure function of the chain (its account, head and the defences it was verified with),
/// the signer's keys, the lists and the label, answered from a process-wide table. [MODEL-19]
fn revocation(c: &Client, revocations: Vec<Revocation>, unpin: Vec<[u8; 32]>, label: &str) -> Option<Rotation> {
    type Key = (AccountId, [u8; 32], u64, Defences, [u8; 32], Vec<Revocation>, Vec<[u8; 32]>, String);
    type Table = std::sync::Mutex<std::collections::HashMap<Key, (Vec<Vec<u8>>, ChainState, Umk)>>;
    static TABLE: std::sync::OnceLock<Table> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(Default::default);
    let head = c.chain().head();
    let signer = blindsync::primitives::sha256(&[c.device().signing_seed().expose(), c.device().hpke_key().expose()]);
    let key =
        (c.account(), head.hash, head.len, c.defences(), signer, revocations.clone(), unpin.clone(), label.to_owned());
    if let Ok(t) = table.lock()
        && let Some((statements, state, umk)) = t.get(&key)
    {
        return Some(Rotation { statements: statements.clone(), state: state.clone(), umk: umk.clone() });
    }
    let mut rng = SeededRng::from_label(label);
    let rot = revoke(c.chain(), c.device(), revocations, unpin, Vec::new(), &mut rng).ok()?;
    if let Ok(mut t) = table.lock() {
        t.insert(key, (rot.statements.clone(), rot.state.clone(), rot.umk.clone()));
    }
    Some(rot)
}

/// Recorded `(request, response)` pairs, wire-encoded. [MODEL-6]
pub type Transcript = std::sync::Arc<std::sync::Mutex<Vec<(Vec<u8>, Vec<u8>)>>>;

/// [`Mutants::sync`]: a wrong client's change to a finished sync.
pub type SyncMutant = fn(before: &Client, after: &mut Client, report: &mut SyncReport);
/// [`Mutants::leak`]: a wrong client's extra request.
pub type LeakMutant = fn(request: &Request, secrets: &[[u8; 32]]) -> Option<Request>;
/// [`Mutants::enroll`]: the chain a wrong restoring device takes when enrollment refuses.
pub type EnrollMutant = fn(served: &[Vec<u8>]) -> Option<ChainState>;
/// [`Mutants::stream`]: what a wrong stream reader returns.
pub type StreamMutant = fn(served: &[u8], opened: &blindsync::error::Result<Vec<u8>>) -> Option<Vec<u8>>;

/// Deliberately wrong client or server behaviours, for the mutation tests of the properties
/// (`model/tests/`): each hook, when set, changes what the real client did or sent, so a test
/// can show that the property it targets catches the change. Never set outside tests. [MODEL-17]
#[derive(Clone, Copy, Default)]
pub struct Mutants {
    /// A wrong client: after a device's sync, changes what it holds (`after`, from `before`)
    /// or what it reported.
    pub sync: Option<SyncMutant>,
    /// A wrong client: one more request it sends along with `request` (scanned like any
    /// other; `secrets` are the keys it holds and may leak).
    pub leak: Option<LeakMutant>,
    /// A wrong restoring device: when enrollment refuses the chain it was served, the chain it
    /// takes instead (holding no UMK).
    pub enroll: Option<EnrollMutant>,
    /// A wrong stream reader: what it returns for a served stream (`None`: the library's open).
    pub stream: Option<StreamMutant>,
    /// A wrong writer: when its write's answer is lost (`lose-ack`), it does not keep the write
    /// (its state goes back to what it was before it signed).
    pub forget_lost_write: bool,
}

/// The model: its configuration and the fixture it starts from. [MODEL-1]
#[derive(Clone)]
pub struct Model {
    /// The configuration.
    pub config: Config,
    /// The world at the start.
    pub fixture: Fixture,
    /// Test-only wrong behaviours (none by default). [MODEL-17]
    pub mutants: Mutants,
    /// When set, every request a device sends and the adversary's response, wire-encoded, are
    /// appended here (counterexample replay, [MODEL-6]); never set while checking.
    pub transcript: Option<Transcript>,
    other_bucket: Bucket,
    /// [MODEL-19] the secrets of each set of UMKs, once computed.
    secrets_table: crate::tables::SecretsTable,
}

impl Model {
    /// Builds the fixture (about a second: real Argon2id at the floor) and the model.
    pub fn new(config: Config) -> blindsync::error::Result<Model> {
        // [MODEL-19] pure primitives answer from the library's cache (same answers, fewer curve
        // operations); `model/tests/memo.rs` shows the space and verdicts are the same without it
        blindsync::danger::memo::set_enabled(true);
        let fixture = Fixture::build(config.devices)?;
        let owner = &fixture.devices[0];
        let umk0 = owner.umks().get(&0).ok_or(blindsync::error::Error::EnvEpoch)?;
        let other_bucket = EpochKeys::derive(umk0, &owner.account(), 0).routing_key().bucket(OTHER_COLLECTION)?;
        Ok(Model {
            config,
            fixture,
            mutants: Mutants::default(),
            transcript: None,
            other_bucket,
            secrets_table: Default::default(),
        })
    }

    /// The same world (fixture) under another configuration with as many devices: no second
    /// fixture build (the coverage matrix runs many configurations). [MODEL-18]
    pub fn with_config(&self, config: Config) -> Model {
        debug_assert_eq!(config.devices, self.config.devices);
        Model {
            config,
            fixture: self.fixture.clone(),
            mutants: Mutants::default(),
            transcript: None,
            other_bucket: self.other_bucket,
            // the same fixture: the same secrets
            secrets_table: self.secrets_table.clone(),
        }
    }

    /// The initial state.
    pub fn init(&self) -> State {
        let mut devices = self.fixture.devices.clone();
        for d in &mut devices {
            d.dangerous_set_defences(self.config.defences);
        }
        let mut revoked = self.fixture.revoked.clone();
        revoked.dangerous_set_defences(self.config.defences);
        let genuine = devices.first().map(|o| o.umks().iter().map(|(e, u)| (*e, u.key_check(*e))).collect());
        State {
            devices,
            revoked,
            server: ServerView { server: self.fixture.server.clone(), account: self.fixture.account },
            fork: None,
            archive: Vec::new(),
            onboarded: None,
            mid_sync: None,
            ghost: Ghost {
                writes_left: self.config.writes,
                malice_left: self.config.malice,
                genuine: genuine.unwrap_or_default(),
                signed: self
                    .fixture
                    .server
                    .store_chain(&self.fixture.account)
                    .iter()
                    .map(|b| statement_hash(b))
                    .collect(),
                ..Ghost::default()
            },
        }
    }

    /// Every secret no request may carry: the fixture's (device seeds and HPKE keys, the
    /// recovery path's keys), every UMK any device holds, and what each UMK derives: the epoch
    /// PRK, the routing key and the collection keys of every collection of the model. [MODEL-2]
    fn secrets(&self, s: &State) -> std::sync::Arc<[[u8; 32]]> {
        // [MODEL-19] a function of the fixture and the set of UMKs held: computed once per set
        let mut umks: Vec<(Epoch, [u8; 32])> = s
            .honest()
            .chain(std::iter::once(&s.revoked))
            .flat_map(|c| c.umks().iter().map(|(e, u)| (*e, *u.expose())))
            .collect();
        umks.sort_unstable();
        umks.dedup();
        self.secrets_table.get_or(umks, || self.derive_secrets(s))
    }

    /// [`Model::secrets`], computed.
    fn derive_secrets(&self, s: &State) -> Vec<[u8; 32]> {
        let mut v = self.fixture.secrets.clone();
        let account = self.fixture.account;
        for c in s.honest().chain(std::iter::once(&s.revoked)) {
            for (e, u) in c.umks() {
                // [MODEL-19] a pure derivation of (epoch, UMK): computed once per process
                v.extend(derived(account, *e, u, || crate::fixture::derived_secrets(&account, *e, u)));
            }
        }
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The items a sync of `device` would be listed now (for the adversary's choices).
    fn pending(&self, s: &State, device: usize) -> usize {
        let cursor = s.devices.get(device).map_or(0, |c| c.cursor());
        s.server.key().map_or(0, |(_, items)| items.range(cursor.saturating_add(1)..).count())
    }

    /// Whether `c` has listed every item and holds the chain the server stores.
    pub fn up_to_date(&self, s: &State, c: &Client) -> bool {
        s.server.key().is_none_or(|(chain, items)| {
            c.cursor() >= items.keys().next_back().copied().unwrap_or(0) && c.chain().head() == chain.head()
        })
    }

    /// The actions enabled in `s`.
    pub fn enabled(&self, s: &State, out: &mut Vec<Action>) {
        if s.ghost.done {
            return;
        }
        let cfg = &self.config;
        let malice = s.ghost.malice_left > 0;
        if !s.ghost.started {
            // one-shot checks: they end the run, so they multiply nothing
            out.push(Action::Share { substitute: false });
            out.push(Action::FetchKdf { weak: false });
            out.push(Action::OpenStream { serve: StreamServe::Honest });
            if malice && cfg.can(Capability::SubstitutePartnerKey) {
                out.push(Action::Share { substitute: true });
            }
            if malice && cfg.can(Capability::WeakKdf) {
                out.push(Action::FetchKdf { weak: true });
            }
            if malice && cfg.can(Capability::TamperChunks) {
                out.push(Action::OpenStream { serve: StreamServe::DropChunk });
                out.push(Action::OpenStream { serve: StreamServe::ReorderChunks });
            }
            // R, still active, signs a split rotation: the first action, so its chain is the server's
            if malice && cfg.can(Capability::SplitRotation) {
                out.push(Action::SplitRotation);
            }
            // R, still active, installs a sleeper and a partner (spec 12.2, `compromise-then-install`)
            if malice && cfg.can(Capability::CompromiseThenInstall) {
                out.push(Action::Install);
            }
            // R, still active, writes twice (spec 12.2, `equivocate-below-bound`): the run's one
            // deviation, and its two writes are the run's writes
            if malice && cfg.can(Capability::EquivocateBelowBound) && s.ghost.writes_left >= 2 {
                out.push(Action::RevokedWrites);
            }
            // a revoke without rotation is offered to device B once, as the first action
            if malice && cfg.can(Capability::RevokeWithoutRotate) && s.devices.len() > 1 {
                out.push(Action::Sync { device: 1, serve: Serve::RevokeWithoutRotate });
            }
            // R, still active, signs two alternatives of one write (spec 12.2, `split-history`):
            // the run's one deviation, and its two writes are the run's writes
            if malice && cfg.can(Capability::SplitHistory) && s.ghost.writes_left >= 2 {
                out.push(Action::SplitHistory);
            }
            // the owner names itself and R, still active, names the owner's device (spec 12.2,
            // `rename-device`): the run's two writes
            if malice && cfg.can(Capability::RenameDevice) && s.ghost.writes_left >= 2 {
                out.push(Action::RenameDevice);
            }
        }
        // Onboarding ends the run, and happens before any write: the new device's keys are what
        // the properties judge, and the space stays small (spec 12.4).
        if s.ghost.written.is_empty() && s.ghost.revoked_written.is_empty() && s.ghost.meta_written.is_empty() {
            out.push(Action::Pair { forge: false });
            out.push(Action::Enroll { counterfeit: false });
            if malice && cfg.can(Capability::ForgeBundle) {
                out.push(Action::Pair { forge: true });
            }
            if malice && cfg.can(Capability::CounterfeitChain) {
                out.push(Action::Enroll { counterfeit: true });
            }
            if malice && cfg.can(Capability::LoseAck) {
                out.push(Action::EnrollLost);
            }
        }
        let honest_only = cfg.capabilities.is_empty();
        if let Some((d, _)) = &s.mid_sync {
            // [MODEL-20] the device in the middle of its sync does nothing else but finish it
            out.push(Action::Sync { device: *d, serve: Serve::Honest });
        }
        for (i, c) in s.devices.iter().enumerate() {
            let d = i as u8;
            // [MODEL-20] the device in the middle of its sync only finishes it, honestly (above)
            // or as the adversary serves its listing (below: every deviation of a sync)
            let mid = s.mid_sync.as_ref().is_some_and(|(m, _)| *m == d);
            if !mid {
                self.enabled_operations(s, i, c, out);
            }
            // `equivocate-below-bound`, paid for by R's writes: once, after the revocation, to a
            // device that has not taken R's first write and judges its listing with a chain that
            // holds the revocation (with [MODEL-20], a GetChain answered before the revocation
            // was stored is the residual window of 1.6 item 17, in which R is still active)
            let judged_after = |r: &StoredRevocation| match &s.mid_sync {
                Some((m, held)) if *m == d => {
                    held.get(r.position as usize).is_some_and(|b| statement_hash(b) == r.hash)
                }
                _ => true,
            };
            if s.ghost.used.contains(&Capability::EquivocateBelowBound)
                && !s.ghost.below_bound_served
                && s.ghost.revocation.as_ref().is_some_and(judged_after)
                && c.last_seq(&s.revoked.id()) == 0
            {
                out.push(Action::Sync { device: d, serve: Serve::BelowBound { withhold_tail: false } });
                out.push(Action::Sync { device: d, serve: Serve::BelowBound { withhold_tail: true } });
            }
            // `split-history`, paid for by R's writes: once, before the revocation, to a device that
            // has not taken R's write
            if s.ghost.split_alternative.is_some() && s.ghost.revocation.is_none() && c.last_seq(&s.revoked.id()) == 0 {
                out.push(Action::Sync { device: d, serve: Serve::SplitHistory });
            }
            if !malice {
                continue;
            }
            let n = self.pending(s, i).min(2) as u8;
            for k in 0..n {
                if cfg.can(Capability::Withhold) {
                    out.push(Action::Sync { device: d, serve: Serve::Withhold(k) });
                }
                if cfg.can(Capability::SwapRecord) {
                    out.push(Action::Sync { device: d, serve: Serve::SwapRecord(k) });
                }
                if cfg.can(Capability::SwapBucket) {
                    out.push(Action::Sync { device: d, serve: Serve::SwapBucket(k) });
                }
                if cfg.can(Capability::SwapAccount) {
                    out.push(Action::Sync { device: d, serve: Serve::SwapAccount(k) });
                }
            }
            if cfg.can(Capability::Reorder) && n > 1 {
                out.push(Action::Sync { device: d, serve: Serve::Reorder });
            }
            if cfg.can(Capability::Replay) {
                for j in 0..s.archive.len().min(3) as u8 {
                    out.push(Action::Sync { device: d, serve: Serve::Replay(j) });
                }
            }
            if cfg.can(Capability::StaleChain) {
                out.push(Action::Sync { device: d, serve: Serve::StaleChain });
            }
            if cfg.can(Capability::ForkChain) && s.fork.as_ref().is_some_and(|f| *f != c.chain().encoded()) {
                out.push(Action::Sync { device: d, serve: Serve::ForkChain });
            }
            if cfg.can(Capability::SubstituteDeviceKey) {
                out.push(Action::Sync { device: d, serve: Serve::SubstituteDeviceKey });
            }
            if cfg.can(Capability::Collude) {
                out.push(Action::Sync { device: d, serve: Serve::Impersonate });
                out.push(Action::Sync { device: d, serve: Serve::Equivocate });
            }
            if cfg.can(Capability::FreezeView) && s.ghost.revocation.is_some_and(|r| !r.seen_by(c)) {
                out.push(Action::Sync { device: d, serve: Serve::FreezeView });
            }
        }
        if s.ghost.revocation.is_some() && !honest_only {
            out.push(Action::RevokedReads);
        }
    }

    /// The adversary between the devices and `server` for one action, with the model's scans
    /// and test hooks. [MODEL-2]
    fn adversary<'a>(
        &'a self,
        server: &'a mut Server<MemoryStorage>,
        serve: Serve,
        secrets: &'a [[u8; 32]],
        archive: &'a mut Vec<Vec<u8>>,
    ) -> Adversary<'a> {
        let mut t = Adversary::new(server, serve, secrets, archive);
        t.short_secrets = &self.fixture.short_secrets;
        t.leak = self.mutants.leak;
        t.transcript = self.transcript.clone();
        t
    }

    /// The operations device `i` (not in the middle of a sync) may start: its GetChain
    /// ([MODEL-20]), writes, an honest sync, a revocation, and their `lose-ack` and
    /// `fork-chain` variants.
    fn enabled_operations(&self, s: &State, i: usize, c: &Client, out: &mut Vec<Action>) {
        let cfg = &self.config;
        let malice = s.ghost.malice_left > 0;
        let d = i as u8;
        // [MODEL-20] one device at a time sends its GetChain ahead of its listing
        if cfg.interleave && s.mid_sync.is_none() && !self.up_to_date(s, c) {
            out.push(Action::GetChain { device: d });
        }
        if s.ghost.writes_left > 0 {
            for r in 0..cfg.records {
                out.push(Action::Write { device: d, record: r });
                // `lose-ack`: the answer to a new write is lost ([SYNC-6]: the outbox keeps it)
                if malice && cfg.can(Capability::LoseAck) && c.pending_write().is_none() {
                    out.push(Action::WriteLost { device: d, record: r });
                }
            }
        }
        // an honest sync that can change nothing is left out: it leads back to
        // the same state, and with an honest server runs then end (for "eventually")
        if !self.up_to_date(s, c) {
            out.push(Action::Sync { device: d, serve: Serve::Honest });
        }
        // the owner revokes R; device B's concurrent revocation is what a forking server keeps
        if c.chain().is_active(&s.revoked.id()) {
            if i == 0 {
                out.push(Action::Revoke { device: d, fork: false });
                if malice && cfg.can(Capability::LoseAck) {
                    out.push(Action::RevokeLost { device: d });
                }
            } else if i == 1 && malice && cfg.can(Capability::ForkChain) && s.fork.is_none() {
                out.push(Action::Revoke { device: d, fork: true });
            }
        }
    }

    /// The state after `a`, or `None` if `a` changes nothing.
    pub fn step(&self, s: &State, a: Action) -> Option<State> {
        let mut n = s.clone();
        n.ghost.started = true;
        match a {
            Action::Write { device, record: r } => self.write(&mut n, device as usize, r, false)?,
            Action::WriteLost { device, record: r } => {
                n.ghost.spend(Capability::LoseAck)?;
                self.write(&mut n, device as usize, r, true)?;
            }
            Action::RevokeLost { device } => {
                n.ghost.spend(Capability::LoseAck)?;
                self.revoke(&mut n, device as usize, false, true)?;
            }
            Action::Sync { device, serve } => {
                // the refused statement changes no device: what follows is the honest space
                n.ghost.done |= serve == Serve::RevokeWithoutRotate;
                if let Serve::BelowBound { .. } = serve {
                    n.ghost.below_bound_served = true;
                }
                if let Some(c) = serve.capability() {
                    n.ghost.spend(c)?;
                }
                self.sync(&mut n, device as usize, serve)?;
            }
            Action::Revoke { device, fork } => {
                if fork {
                    n.ghost.spend(Capability::ForkChain)?;
                }
                self.revoke(&mut n, device as usize, fork, false)?;
            }
            Action::RevokedReads => {
                let chain = n.server.server.store_chain(&self.fixture.account);
                let items = n.server.server.store_items(&self.fixture.account);
                let _ = n.revoked.apply_chain(&chain);
                let _ = n.revoked.apply_items(&items);
                n.ghost.used.insert(Capability::Collude);
            }
            Action::Share { substitute } => {
                n.ghost.done = true;
                self.share(&mut n, substitute)?;
            }
            Action::FetchKdf { weak } => {
                n.ghost.done = true;
                if weak {
                    n.ghost.spend(Capability::WeakKdf)?;
                }
                let offered = if weak { &self.fixture.kdf_weak } else { &self.fixture.kdf_honest };
                let d = n.devices.get(1)?.defences();
                // [KEY-6] the device decodes what is offered and checks it (the library's check,
                // under the run's defences) before deriving
                let accepted = PasswordKdf::decode(offered).and_then(|k| k.check_with(&d).map(|_| k));
                match accepted {
                    Ok(k) => {
                        // judged on what the adversary offered, below the floor or not
                        let f = KdfParams::FLOOR;
                        if weak && (k.params.m_kib < f.m_kib || k.params.t < f.t || k.params.p < f.p) {
                            n.ghost.broken.insert(Broken::Downgrade);
                        }
                    }
                    Err(e) => {
                        n.ghost.alerts.insert(e.code());
                    }
                }
            }
            Action::Pair { forge } => {
                n.ghost.done = true;
                if forge {
                    n.ghost.spend(Capability::ForgeBundle)?;
                }
                self.pair(&mut n, forge)?;
            }
            Action::Enroll { counterfeit } => {
                n.ghost.done = true;
                if counterfeit {
                    n.ghost.spend(Capability::CounterfeitChain)?;
                }
                self.enroll(&mut n, counterfeit, false)?;
            }
            Action::EnrollLost => {
                n.ghost.done = true;
                n.ghost.spend(Capability::LoseAck)?;
                self.enroll(&mut n, false, true)?;
            }
            Action::SplitRotation => {
                n.ghost.spend(Capability::SplitRotation)?;
                self.split_rotation(&mut n)?;
            }
            Action::Install => {
                n.ghost.spend(Capability::CompromiseThenInstall)?;
                self.install(&mut n)?;
            }
            Action::GetChain { device } => {
                // [MODEL-20] what the server answers the device's GetChain now (an honest server;
                // the request changes nothing the model keeps)
                n.devices.get(device as usize)?;
                let chain = n.server.server.store_chain(&self.fixture.account);
                n.mid_sync = Some((device, chain));
            }
            Action::RevokedWrites => {
                n.ghost.spend(Capability::EquivocateBelowBound)?;
                self.revoked_writes(&mut n)?;
            }
            Action::SplitHistory => {
                n.ghost.spend(Capability::SplitHistory)?;
                self.split_history(&mut n)?;
            }
            Action::RenameDevice => {
                n.ghost.spend(Capability::RenameDevice)?;
                self.rename_device(&mut n)?;
            }
            Action::OpenStream { serve } => {
                n.ghost.done = true;
                if serve != StreamServe::Honest {
                    n.ghost.spend(Capability::TamperChunks)?;
                }
                let (manifest, body, plaintext, ctx, source) = &self.fixture.stream;
                let served = tamper_stream(manifest, body, serve)?;
                let opened = stream::open(manifest, &served, ctx, source);
                let opened = match self.mutants.stream.and_then(|f| f(&served, &opened)) {
                    Some(pt) => Ok(pt),
                    None => opened,
                };
                match opened {
                    Ok(pt) if pt != *plaintext => {
                        n.ghost.broken.insert(Broken::Chunks);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        n.ghost.alerts.insert(e.code());
                    }
                }
            }
        }
        self.observe(s, &mut n);
        Some(n)
    }

    /// [MODEL-9] What the adversary learns from a step, from the server's chain and its own
    /// branch: every UMK wrapped to a key it holds in a statement it newly stored or kept; and,
    /// once the server's chain revokes R, where that revocation is.
    fn observe(&self, s: &State, n: &mut State) {
        let account = self.fixture.account;
        let (Some((before, _)), Some((after, _))) = (s.server.key(), n.server.key()) else { return };
        let mut new = Vec::new();
        if after.head() != before.head() {
            new.extend(after.encoded().into_iter().skip(before.head().len as usize));
        }
        if n.fork != s.fork
            && let Some(f) = &n.fork
        {
            new.extend(f.iter().cloned());
        }
        let held = [self.fixture.revoked.device(), &self.fixture.sleeper, &self.fixture.server_keys];
        for bytes in &new {
            let Ok(st) = Statement::decode(bytes) else { continue };
            let wraps = match &st.body {
                Body::RotateEpoch { wraps, .. }
                | Body::RevokeDevice { wraps, .. }
                | Body::ReplaceAuthority { wraps, .. } => wraps,
                _ => continue,
            };
            for w in wraps {
                for k in held.iter().filter(|k| k.public().x25519 == w.recipient) {
                    if let Ok(u) = open_epoch_wrap(&account, w, k.hpke_key()) {
                        n.ghost.adversary.learn(w.epoch, &u);
                    }
                }
            }
        }
        if n.ghost.revocation.is_none()
            && let Some(r) = after.revoked().get(&self.fixture.revoked.id())
            && let Some(hash) = after.hash_at(r.at)
            && let Some((_, epoch)) = after.epoch_at_head(&hash)
        {
            n.ghost.revocation = Some(StoredRevocation { epoch, position: r.at, hash });
        }
    }

    /// An honest device writes the next value of record `r`; with `lose`, the server stores it
    /// and answers `E_SRV_UNAVAILABLE` (`lose-ack`): the write is in the device's outbox and on
    /// the server, and is ground truth from the moment the server received it. [MODEL-2]
    fn write(&self, n: &mut State, device: usize, r: u8, lose: bool) -> Option<()> {
        n.ghost.writes_left = n.ghost.writes_left.checked_sub(1)?;
        let secrets = self.secrets(n);
        let c = n.devices.get_mut(device)?;
        let id = c.id();
        let count = n.ghost.written.iter().filter(|w| w.writer == id).count();
        let value = format!("d{device}.{count}").into_bytes();
        let epoch = c.chain().epoch();
        let stale = n.ghost.revocation.is_some_and(|rev| !rev.seen_by(c));
        let mut rng = SeededRng::from_label(&format!("blindsync/model/write/{device}/{count}"));
        // [MODEL-17] a wrong writer's state before the write (tests only)
        let forget = (lose && self.mutants.forget_lost_write).then(|| c.clone());
        let mut t = self.adversary(&mut n.server.server, Serve::Honest, &secrets, &mut n.archive);
        t.lose_ack = lose;
        let res = c.write(&mut t, COLLECTION, record(r), &value, &mut rng);
        let leaked = t.leaked;
        if leaked {
            n.ghost.broken.insert(Broken::KeyLeak);
        }
        let lost = t.applied;
        let w = Written::sealed(&t.last_put.take()?, COLLECTION, value)?;
        match res {
            Ok(revision) => debug_assert_eq!(revision, w.revision),
            // [SYNC-6] stored, its answer lost: the device holds it in its outbox
            Err(Error::SrvUnavailable) if lost && c.pending_write() == Some(w.seq) => {
                if let Some(before) = forget {
                    *c = before;
                }
            }
            Err(_) => return None,
        }
        // [MODEL-9] spec 1.6 item 17: sealed by a device that has not seen the revocation, in a
        // run where the server froze a view (recorded only there: the same write by a device that
        // is merely offline is the same state as one made before the revocation, and a flag
        // on every such path would split them all)
        n.ghost.residual |= stale && n.ghost.used.contains(&Capability::FreezeView);
        debug_assert_eq!((w.epoch, w.writer, w.record), (epoch, id, record(r)));
        n.ghost.written.insert(w);
        Some(())
    }

    /// [MODEL-2] `equivocate-below-bound`, before the revocation: device R, active and
    /// compromised, writes record 0 twice through the server (sequence numbers 1 and 2, the
    /// second committing to the first by `prev`). What it wrote is recorded as the ground truth
    /// of what an honest device may hold from R.
    fn revoked_writes(&self, n: &mut State) -> Option<()> {
        n.ghost.writes_left = n.ghost.writes_left.checked_sub(2)?;
        let secrets = self.secrets(n);
        let r = &mut n.revoked;
        let mut t = self.adversary(&mut n.server.server, Serve::Honest, &secrets, &mut n.archive);
        for k in 0..2 {
            let value = format!("r.{k}").into_bytes();
            let mut rng = SeededRng::from_label(&format!("blindsync/model/revoked-write/{k}"));
            r.write(&mut t, COLLECTION, record(0), &value, &mut rng).ok()?;
            n.ghost.revoked_written.insert(Written::sealed(&t.last_put.take()?, COLLECTION, value)?);
        }
        if t.leaked {
            n.ghost.broken.insert(Broken::KeyLeak);
        }
        Some(())
    }

    /// [MODEL-2] `split-history`, before the revocation: device R, active and compromised, writes
    /// record 0 through the server (writer sequence number 1) and signs another alternative of
    /// that write (the same sequence number, `prev`, epoch and chain head; a greater revision and
    /// another value: [`below_bound`]'s), which the adversary keeps to serve one device in place
    /// of the stored one. Both are recorded as what R really wrote. [SYNC-14]
    fn split_history(&self, n: &mut State) -> Option<()> {
        n.ghost.writes_left = n.ghost.writes_left.checked_sub(2)?;
        let secrets = self.secrets(n);
        let r = &mut n.revoked;
        let mut t = self.adversary(&mut n.server.server, Serve::Honest, &secrets, &mut n.archive);
        let value = b"r.0".to_vec();
        let mut rng = SeededRng::from_label("blindsync/model/split-history");
        r.write(&mut t, COLLECTION, record(0), &value, &mut rng).ok()?;
        let stored = Written::sealed(&t.last_put.take()?, COLLECTION, value)?;
        if t.leaked {
            n.ghost.broken.insert(Broken::KeyLeak);
        }
        n.ghost.revoked_written.insert(stored);
        let other = below_bound(&n.revoked, n.devices.first()?, &n.server, &n.ghost.revoked_written)?;
        // below_bound's value
        n.ghost.revoked_written.insert(Written::sealed(&other, COLLECTION, b"r.alt".to_vec())?);
        n.ghost.split_alternative = Some(other);
        Some(())
    }

    /// [MODEL-2] `rename-device`: the owner stores its name ([SRV-11], `Client::set_device_info`),
    /// then device R, active and compromised, reads what the server stores and writes a
    /// device-metadata record (`blindsync/devices`) at the owner's record id, the first 16 bytes
    /// of its device id, through the server: a greater revision, so last-writer-wins prefers it.
    /// R runs without the guard an honest client keeps for that one write
    /// (`E_CLIENT_DEVICE_RECORD`, [SRV-11]). Both writes are the run's two writes, recorded with
    /// their writers. [MODEL-3]
    fn rename_device(&self, n: &mut State) -> Option<()> {
        use blindsync::client::DEVICES_COLLECTION;
        n.ghost.writes_left = n.ghost.writes_left.checked_sub(2)?;
        let secrets = self.secrets(n);
        let owner = n.devices.first_mut()?;
        let at = RecordId(owner.id().0.get(..16)?.try_into().ok()?);
        let mut t = self.adversary(&mut n.server.server, Serve::Honest, &secrets, &mut n.archive);
        let mut rng = SeededRng::from_label("blindsync/model/device-name");
        owner.set_device_info(&mut t, "A", "model", &mut rng).ok()?;
        let value = owner.records().get(&(DEVICES_COLLECTION.to_owned(), at))?.value.clone();
        let named = Written::sealed(&t.last_put.take()?, DEVICES_COLLECTION, value)?;
        // R reads what the server stores, and writes as a client without the guard
        let r = &mut n.revoked;
        let _ = r.apply_chain(&t.server.store_chain(&self.fixture.account));
        let _ = r.apply_items(&t.server.store_items(&self.fixture.account));
        let kept = r.defences();
        let mut compromised = kept;
        compromised.items.device_meta_write = false;
        r.dangerous_set_defences(compromised);
        let value = br#"{"name":"R's name for A","os":"r"}"#.to_vec();
        let mut rng = SeededRng::from_label("blindsync/model/rename-device");
        let written = r.write(&mut t, DEVICES_COLLECTION, at, &value, &mut rng);
        r.dangerous_set_defences(kept);
        written.ok()?;
        let renamed = Written::sealed(&t.last_put.take()?, DEVICES_COLLECTION, value)?;
        if t.leaked {
            n.ghost.broken.insert(Broken::KeyLeak);
        }
        n.ghost.meta_written.extend([named, renamed]);
        Some(())
    }

    fn sync(&self, n: &mut State, device: usize, serve: Serve) -> Option<()> {
        let secrets = self.secrets(n);
        let before = n.devices.get(device)?.clone();
        let extra =
            if serve == Serve::RevokeWithoutRotate { revoke_without_rotate(&n.revoked, &n.server) } else { None };
        // R, still active, signed it: authorized at its position, refused for keeping the epoch
        n.ghost.signed.extend(extra.iter().map(|b| statement_hash(b)));
        let freeze = n.ghost.revocation.and_then(|r| {
            let (chain, _) = n.server.key()?;
            Some((r.position, (r.position..chain.head().len).filter_map(|p| chain.hash_at(p)).collect()))
        });
        let alternative = match serve {
            Serve::BelowBound { withhold_tail } => {
                Some((below_bound(&n.revoked, &before, &n.server, &n.ghost.revoked_written)?, withhold_tail))
            }
            // `split-history`: served once
            Serve::SplitHistory => Some((n.ghost.split_alternative.take()?, false)),
            _ => None,
        };
        let branches = self.branches(n);
        // [MODEL-20] the listing of a sync whose GetChain was answered earlier
        let held = match n.mid_sync.take() {
            Some((d, chain)) if d as usize == device => Some(chain),
            other => {
                n.mid_sync = other;
                None
            }
        };
        let mut t = self.adversary(&mut n.server.server, serve, &secrets, &mut n.archive);
        t.held_chain = held;
        t.fork = n.fork.clone();
        t.other_bucket = self.other_bucket;
        t.foreign = self.fixture.foreign.clone();
        t.server_ed25519 = self.fixture.server_ed25519;
        t.colluder = Some((n.revoked.clone(), before.clone()));
        t.freeze = freeze;
        t.extra_statement = extra;
        t.alternative = alternative;
        let c = n.devices.get_mut(device)?;
        let mut report = c.sync(&mut t).ok()?;
        // [MODEL-17] a wrong client (tests only)
        if let Some(f) = self.mutants.sync {
            f(&before, c, &mut report);
        }
        let (served, leaked, applied, chains) = (t.served.clone(), t.leaked, t.applied, std::mem::take(&mut t.chains));
        if !applied && serve != Serve::Honest {
            return None; // the deviation had nothing to act on
        }
        if leaked {
            n.ghost.broken.insert(Broken::KeyLeak);
        }
        let lists = t.lists;
        let after = n.devices.get(device)?.clone();
        let shown = Shown { served: &served, chains: &chains, branches: &branches, archive: &n.archive };
        record_sync_outcome(device as u8, &before, &after, &report, &shown, &mut n.ghost);
        self.freshness(n, device as u8, &before, &after, &report, &served, lists);
        split_verdict(device as u8, &n.revoked.id(), &before, &after, &report, &mut n.ghost);
        Some(())
    }

    /// [MODEL-3] The chain branches honest parties signed, as statement hashes by position: the
    /// server's chain and the branch the adversary keeps (`fork-chain`).
    fn branches(&self, n: &State) -> Vec<Vec<[u8; 32]>> {
        let mut out = Vec::new();
        if let Some((chain, _)) = n.server.key() {
            out.push((0..chain.head().len).filter_map(|p| chain.hash_at(p)).collect());
        }
        if let Some(f) = &n.fork {
            out.push(f.iter().map(|b| statement_hash(b)).collect());
        }
        out
    }

    /// [MODEL-9] [SYNC-17] the freshness check, judged from what the device was listed: once a
    /// device holds the stored revocation and has recorded its boundary (the cursor committed by
    /// the first alert-free sync after which it held it), every write of a writer
    /// other than R it takes that was listed above the boundary and cites a chain head before the
    /// revocation must raise `E_SYNC_STALE_HEAD`. In a run where the server froze a view, such an
    /// alert is the freshness alert reached (a `sometimes`).
    #[allow(clippy::too_many_arguments)]
    fn freshness(
        &self,
        n: &mut State,
        device: u8,
        before: &Client,
        after: &Client,
        report: &SyncReport,
        served: &[Item],
        lists: bool,
    ) {
        let Some(rev) = n.ghost.revocation else { return };
        let r = n.revoked.id();
        if let Some(boundary) = n.ghost.boundary.get(&device).copied() {
            for i in served.iter().filter(|i| i.seq > boundary) {
                let Ok(h) = Header::decode(i.bytes.get(..HEADER_LEN).unwrap_or_default()) else { continue };
                let stale = after.chain().epoch_at_head(&h.chain_head).is_some_and(|(p, _)| p < rev.position);
                // this very item was taken: the device now holds its identity for (writer, seq)
                let took = before.last_seq(&h.writer) < h.writer_seq
                    && after.envelope_identity(&h.writer, h.writer_seq) == item_identity(i);
                if !stale || !took || h.writer == r || h.writer == after.id() {
                    continue;
                }
                let alerted = report.alerts.iter().any(
                    |a| matches!(a, Alert::StaleHead { writer, seq } if *writer == h.writer && *seq == h.writer_seq),
                );
                if !alerted {
                    n.ghost.broken.insert(Broken::StaleHeadMissed);
                } else if n.ghost.used.contains(&Capability::FreezeView) {
                    n.ghost.stale_alerted = true;
                }
            }
        }
        // [SYNC-17] the boundary: the cursor the first sync holding the revocation commits (an
        // alerting sync commits nothing: judged by the cursor moving, or nothing to list, not by
        // what the client reports)
        let committed = after.cursor() > before.cursor() || served.is_empty();
        if lists && rev.seen_by(after) && committed && !n.ghost.boundary.contains_key(&device) {
            n.ghost.boundary.insert(device, after.cursor());
        }
    }

    /// Device `device` revokes R and rotates; with `fork` the adversary keeps the statement as
    /// its branch, with `lose` it stores it and answers `E_SRV_UNAVAILABLE` (`lose-ack`), so the
    /// revoker has not adopted its own statement and takes it, and its wrap of the new UMK,
    /// from a later sync ([CHAIN-12]).
    fn revoke(&self, n: &mut State, device: usize, fork: bool, lose: bool) -> Option<()> {
        let secrets = self.secrets(n);
        let target = n.revoked.id();
        let c = n.devices.get_mut(device)?;
        let mut rng = SeededRng::from_label(&format!("blindsync/model/revoke/{device}/{fork}"));
        let cascade = c.defences().cascade;
        let (revocations, unpin) = revocation_lists(c, &target, cascade)?;
        if !cascade {
            // the server's own check would refuse the statement: it is stored past it, answered Ok
            if lose {
                return None;
            }
            return self.revoke_without_cascade(n, device, fork, revocations, &mut rng);
        }
        // [CHAIN-20] the honest revoker: R and every device it introduced (transitively), and
        // the partners they pinned, in one statement with the new epoch
        let rot = revocation(c, revocations, unpin, &format!("blindsync/model/revoke/{device}/{fork}"))?;
        let epoch = rot.state.epoch();
        n.ghost.signed.extend(rot.statements.iter().map(|b| statement_hash(b)));
        if fork {
            // [MODEL-2] the adversary answers Ok and keeps the statements as a branch
            let mut branch = c.chain().encoded();
            branch.extend(rot.statements.iter().cloned());
            let mut ok = |_r: Request| Response::Ok;
            c.append_chain(&mut ok, rot.statements.clone()).ok()?;
            n.fork = Some(branch);
        } else {
            let mut t = self.adversary(&mut n.server.server, Serve::Honest, &secrets, &mut n.archive);
            // the new UMK is a secret from the moment it exists: the append carrying its wraps is scanned for it
            t.fresh_secrets.push(*rot.umk.expose());
            t.lose_ack = lose;
            match c.append_chain(&mut t, rot.statements.clone()) {
                Ok(()) => {}
                // stored, its answer lost: the revoker keeps its old chain and no new UMK
                Err(Error::SrvUnavailable) if t.applied => {
                    if t.leaked {
                        n.ghost.broken.insert(Broken::KeyLeak);
                    }
                    n.ghost.genuine.insert((epoch, rot.umk.key_check(epoch)));
                    return Some(());
                }
                Err(_) => return None, // the server refused a stale append: nothing changed
            }
            if t.leaked {
                n.ghost.broken.insert(Broken::KeyLeak);
            }
        }
        n.ghost.genuine.insert((epoch, rot.umk.key_check(epoch)));
        c.add_umk(epoch, rot.umk.clone());
        Some(())
    }

    /// [MODEL-5] [MODEL-9] `no-cascade`: the revoker lists R alone and leaves what R introduced
    /// in place (what a client without the cascade rule does). The library's writers refuse
    /// such a statement, so the model signs it at the revoker's head; the adversary stores it
    /// past the server's own check (or keeps it as its branch), and the revoker takes it
    /// through `Client::apply_chain`, which verifies it with the client's defences.
    fn revoke_without_cascade(
        &self,
        n: &mut State,
        device: usize,
        fork: bool,
        revocations: Vec<Revocation>,
        rng: &mut SeededRng,
    ) -> Option<()> {
        let c = n.devices.get_mut(device)?;
        let state = c.chain().clone();
        let account = state.account();
        let epoch = state.epoch().checked_add(1)?;
        let gone: Vec<DeviceId> = revocations.iter().map(|r| r.device).collect();
        let mut recipients: Vec<[u8; 32]> =
            state.devices().iter().filter(|(id, _)| !gone.contains(id)).map(|(_, d)| d.x25519).collect();
        for p in [UnlockPath::Recovery, UnlockPath::Password] {
            recipients.extend(state.authority(p).map(|a| a.sealing));
        }
        let umk = Umk::random(rng);
        let mut wraps = Vec::new();
        for k in recipients {
            wraps.push(epoch_wrap(&account, epoch, &k, &umk, rng).ok()?);
        }
        sort_wraps(&mut wraps);
        let key_check = umk.key_check(epoch);
        let body =
            Body::RevokeDevice { revocations, unpin: Vec::new(), reconfirm: Vec::new(), epoch, key_check, wraps };
        let bytes = next_statement(&state, body, c.device()).encode();
        n.ghost.signed.insert(statement_hash(&bytes));
        let mut chain = state.encoded();
        chain.push(bytes.clone());
        let d = c.defences();
        if fork {
            n.fork = Some(chain.clone());
        } else {
            // the colluding server stores it without its own check, at the head it extends
            use blindsync::server::Storage;
            let a = n.server.server.store.account_mut(&account)?;
            if a.chain.head() != state.head() {
                return None; // a stale revoker: nothing changed
            }
            a.chain.append_with(&bytes, &d).ok()?;
        }
        let c = n.devices.get_mut(device)?;
        if !c.apply_chain(&chain).is_empty() {
            return None;
        }
        n.ghost.genuine.insert((epoch, key_check));
        Some(())
    }

    /// [MODEL-1] [MODEL-7] pairing under the adversary ([DEV-5], [DEV-6], [CHAIN-17]): device N posts its
    /// keys and proof of possession as pending, the owner lists the pending devices, approves N
    /// (whose keys it got out of band), stores the bundle and appends the add-device statement;
    /// N logs in with its key, fetches the chain and its bundle, and accepts the pairing with
    /// the configured defences. With `forge` the server answers N's GetBundle with a bundle it
    /// sealed itself to N's X25519 key (learned from PostPending), holding UMKs it chose for
    /// every epoch N's bundle must hold. [MODEL-2]
    fn pair(&self, n: &mut State, forge: bool) -> Option<()> {
        let secrets = self.secrets(n);
        let account = self.fixture.account;
        let new = self.fixture.pending.clone();
        let mut t = self.adversary(&mut n.server.server, Serve::Honest, &secrets, &mut n.archive);
        let p = new.pending(&account);
        let (ed25519, x25519) = (p.public.ed25519, p.public.x25519);
        expect_ok(t.call(Request::PostPending { account: account.0, ed25519, x25519, pop: p.pop }))?;
        let approver = n.devices.first_mut()?;
        // the person approves on this device and compares its pairing code on N ([DEV-4])
        let approver_id = approver.id();
        let listed = match t.call(Request::ListPending { token: approver.token()? }) {
            Response::Pending { devices } => devices,
            _ => return None,
        };
        // the owner approves the pending keys that match what it got out of band
        let (ed, x, pop) = listed.into_iter().find(|(ed, x, _)| *ed == ed25519 && *x == x25519)?;
        let pending = PendingDevice { public: DevicePublic { ed25519: ed, x25519: x }, pop };
        let epoch = approver.chain().epoch();
        let mut rng = SeededRng::from_label("blindsync/model/pair");
        let approval = approve_device(approver.chain(), approver.device(), &pending, approver.umks(), &mut rng).ok()?;
        let token = approver.token()?;
        expect_ok(t.call(Request::PutBundle { token, device: new.id().0, bundle: approval.bundle_wrap.clone() }))?;
        // a stale approver's append is refused: then nothing happened
        n.ghost.signed.insert(statement_hash(&approval.statement));
        approver.append_chain(&mut t, vec![approval.statement.clone()]).ok()?;
        if forge {
            let umks: std::collections::BTreeMap<Epoch, Umk> = (0..=epoch)
                .map(|e| (e, Umk::random(&mut SeededRng::from_label(&format!("blindsync/model/forge-bundle/{e}")))))
                .collect();
            n.ghost.made.extend(umks.values().map(umk_digest));
            for (e, u) in &umks {
                n.ghost.adversary.learn(*e, u);
            }
            let bundle = IdentityBundle { account, umks };
            t.forged_bundle = Some(wrap_bundle(&bundle, &pending.public, &mut rng).ok()?);
        }
        // N's side, everything from the server
        let token = login(&mut t, &account, &new)?;
        let chain = match t.call(Request::GetChain { token }) {
            Response::Chain { statements } => statements,
            _ => return None,
        };
        let bundle = match t.call(Request::GetBundle { account: account.0, device: new.id().0 }) {
            Response::Bundle { bundle } => bundle,
            _ => return None,
        };
        if t.leaked {
            n.ghost.broken.insert(Broken::KeyLeak);
        }
        let d = self.config.defences;
        match blindsync::chain::accept_pairing_with(&new, &account, &approver_id, &bundle, &chain, &d) {
            Ok((state, umks)) => n.onboarded = Some(joined(new, state, umks, d)),
            Err(e) => {
                n.ghost.alerts.insert(e.code());
            }
        }
        Some(())
    }

    /// [MODEL-1] [MODEL-7] enrollment with the recovery code under the adversary ([CHAIN-13]): the restored
    /// device derives the path's keys, logs in with the recovery authority, fetches the chain and
    /// the chapter 5 wraps, verifies the chain from genesis, enrolls with the configured defences
    /// and appends its add-device statement. With `counterfeit` the server serves its own chain
    /// (and accepts the append into it). [MODEL-2]
    ///
    /// With `lose` (`lose-ack`) the server stores the add-device statement and answers
    /// `E_SRV_UNAVAILABLE`; the device then enrolls again with the same keys through the
    /// client's public operation (`client::Enrollment`, [CHAIN-13] step 7: the chain already
    /// holds its keys, so it appends nothing).
    fn enroll(&self, n: &mut State, counterfeit: bool, lose: bool) -> Option<()> {
        let secrets = self.secrets(n);
        let account = self.fixture.account;
        let me = self.fixture.restored.clone();
        let keys = UnlockPathKeys::from_recovery(&RecoveryCode::from_bytes(self.fixture.recovery_code).derive());
        if counterfeit {
            n.ghost.made.insert(umk_digest(&self.fixture.counterfeit_umk));
            n.ghost.adversary.learn(0, &self.fixture.counterfeit_umk);
        }
        let mut t = self.adversary(&mut n.server.server, Serve::Honest, &secrets, &mut n.archive);
        if counterfeit {
            t.counterfeit = Some(self.fixture.counterfeit.clone());
        }
        let token = login(&mut t, &account, &keys.authority)?;
        let chain = match t.call(Request::GetChain { token }) {
            Response::Chain { statements } => statements,
            _ => return None,
        };
        let wrap = match t.call(Request::GetWraps { token }) {
            Response::Wraps { recovery_wrap, .. } => recovery_wrap,
            _ => return None,
        };
        let d = self.config.defences;
        let enrolled = ChainState::verify_with(&chain, &d).and_then(|s| enroll_with(&s, &keys, &wrap, &me, &d));
        match enrolled {
            Ok((statement, state, umks)) => {
                n.ghost.signed.insert(statement_hash(&statement));
                t.lose_ack = lose;
                match t.call(Request::AppendChain { token, statements: vec![statement] }) {
                    Response::Ok => n.onboarded = Some(joined(me, state, umks, d)),
                    Response::Error(Error::SrvUnavailable) if t.applied => {
                        let code = RecoveryCode::from_bytes(self.fixture.recovery_code).derive();
                        let mut again = Enrollment::with_recovery(Volatile, me, account, &code);
                        t.round = 1;
                        match run(&mut again, &mut t) {
                            Ok(mut c) => {
                                c.dangerous_set_defences(d);
                                n.onboarded = Some(c);
                            }
                            Err(e) => {
                                n.ghost.alerts.insert(e.code());
                            }
                        }
                    }
                    _ => return None,
                }
            }
            Err(e) => {
                n.ghost.alerts.insert(e.code());
                // [MODEL-17] a wrong restoring device takes the chain anyway (tests only)
                if let Some(taken) = self.mutants.enroll.and_then(|f| f(&chain)) {
                    n.onboarded = Some(joined(me, taken, Default::default(), d));
                }
            }
        }
        if t.leaked {
            n.ghost.broken.insert(Broken::KeyLeak);
        }
        Some(())
    }

    /// [MODEL-2] [MODEL-7] `split-rotation`: device R, active and at the server's head, signs a rotation
    /// whose key check commits to one fresh UMK, wrapped to every active device and the password
    /// path, while the recovery path's wrap holds another UMK R made; R stores it on the server
    /// through its own session. Every recipient set and signature check passes: only the key
    /// check ([CHAIN-16]) tells a recipient of the other UMK.
    fn split_rotation(&self, n: &mut State) -> Option<()> {
        let secrets = self.secrets(n);
        let r = &mut n.revoked;
        let state = r.chain().clone();
        let account = state.account();
        let epoch = state.epoch().checked_add(1)?;
        let mut rng = SeededRng::from_label("blindsync/model/split-rotation");
        let real = Umk::random(&mut rng);
        let other = Umk::random(&mut rng);
        let recovery = state.authority(UnlockPath::Recovery)?.sealing;
        let mut recipients: Vec<[u8; 32]> = state.devices().values().map(|d| d.x25519).collect();
        recipients.extend(state.authority(UnlockPath::Password).map(|a| a.sealing));
        let mut wraps = Vec::new();
        for k in recipients {
            wraps.push(epoch_wrap(&account, epoch, &k, &real, &mut rng).ok()?);
        }
        wraps.push(epoch_wrap(&account, epoch, &recovery, &other, &mut rng).ok()?);
        sort_wraps(&mut wraps);
        let key_check = real.key_check(epoch);
        let (bytes, _) = extend(&state, Body::RotateEpoch { epoch, key_check, wraps }, r.device()).ok()?;
        let mut t = self.adversary(&mut n.server.server, Serve::Honest, &secrets, &mut n.archive);
        n.ghost.signed.insert(statement_hash(&bytes));
        r.append_chain(&mut t, vec![bytes]).ok()?;
        if t.leaked {
            n.ghost.broken.insert(Broken::KeyLeak);
        }
        r.add_umk(epoch, real);
        n.ghost.genuine.insert((epoch, key_check));
        n.ghost.made.insert(umk_digest(&other));
        n.ghost.adversary.learn(epoch, &other);
        Some(())
    }

    /// [MODEL-2] `compromise-then-install`: device R, active and at the server's head, adds the
    /// server's sleeper device (with the sleeper's proof of possession, approved like any
    /// pairing) and pins the server's own X25519 key as a partner, through its own session.
    /// Every check passes: R is an active device. What stops the attack is the revocation's
    /// cascade ([CHAIN-20]).
    fn install(&self, n: &mut State) -> Option<()> {
        let secrets = self.secrets(n);
        let account = self.fixture.account;
        let r = &mut n.revoked;
        let mut rng = SeededRng::from_label("blindsync/model/install");
        let sleeper = self.fixture.sleeper.pending(&account);
        let approval = approve_device(r.chain(), r.device(), &sleeper, r.umks(), &mut rng).ok()?;
        let mut state = r.chain().clone();
        state.append(&approval.statement).ok()?;
        let body = Body::PinPartner { key: self.fixture.server_hpke, label: "backup".into() };
        let (pin, _) = extend(&state, body, r.device()).ok()?;
        let mut t = self.adversary(&mut n.server.server, Serve::Honest, &secrets, &mut n.archive);
        n.ghost.signed.extend([statement_hash(&approval.statement), statement_hash(&pin)]);
        r.append_chain(&mut t, vec![approval.statement, pin]).ok()?;
        if t.leaked {
            n.ghost.broken.insert(Broken::KeyLeak);
        }
        Some(())
    }

    fn share(&self, n: &mut State, substitute: bool) -> Option<()> {
        if substitute {
            n.ghost.spend(Capability::SubstitutePartnerKey)?;
        }
        let owner = n.devices.first()?;
        let named = if substitute { self.fixture.server_hpke } else { self.fixture.partner };
        let recipients = [owner.device().public().x25519, named];
        let chain = owner.chain().clone();
        let d = owner.defences();
        // [BAT-4] the library's check, under the run's defences
        let allowed = move |k: &[u8; 32]| chain_allows_with(&chain, k, &d);
        let data_key = StreamKeySource::from_bytes([0x5a; 32]);
        let mut rng = SeededRng::from_label("blindsync/model/share");
        let account = owner.account();
        match seal_slots(&account, &BatchId([1; 16]), &recipients, &allowed, &data_key, &mut rng) {
            Ok(slots) => {
                // judged on ground truth: a slot the adversary opens with a private key it holds
                // (its own, the sleeper's) carries the data key to a key the server supplied
                let any = |_: &[u8; 32]| true;
                let held = [&self.fixture.server_keys, &self.fixture.sleeper];
                if held.iter().any(|k| open_slot(&account, &BatchId([1; 16]), &slots, &any, k.hpke_key()).is_ok()) {
                    n.ghost.broken.insert(Broken::Unpinned);
                }
                if carries_secret(&slots, &[[0x5a; 32]], &[] as &[&[u8]]) {
                    n.ghost.broken.insert(Broken::KeyLeak);
                }
            }
            Err(e) => {
                n.ghost.alerts.insert(e.code());
            }
        }
        Some(())
    }
}

/// What the adversary showed a device in one sync, and the ground truth to judge it by.
/// [MODEL-3]
struct Shown<'a> {
    /// The items listed, as served.
    served: &'a [Item],
    /// The chains served, as served.
    chains: &'a [Vec<Vec<u8>>],
    /// The branches honest parties signed (statement hashes by position).
    branches: &'a [Vec<[u8; 32]>],
    /// Every envelope the server received from a device.
    archive: &'a [Vec<u8>],
}

/// Sets the ghost verdicts of one sync from what device `device` held before, holds after,
/// reported, and was shown, against the ground truth. [MODEL-3]
fn record_sync_outcome(
    device: u8,
    before: &Client,
    after: &Client,
    report: &SyncReport,
    shown: &Shown<'_>,
    g: &mut Ghost,
) {
    for a in &report.alerts {
        g.alerts.insert(a.error().code());
    }
    // G-NO-ROLLBACK: no record's (revision, writer) and no chain goes backwards
    for (k, r) in before.records() {
        match after.records().get(k) {
            Some(x) if (x.revision, x.writer) >= (r.revision, r.writer) => {}
            _ => {
                g.broken.insert(Broken::Rollback);
            }
        }
    }
    if after.chain().head().len < before.chain().head().len {
        g.broken.insert(Broken::Rollback);
    }
    // G-FORK-DETECTED: shown a statement, or an envelope's chain head, of a branch that diverges
    // from the device's verified chain, the device raises E_CHAIN_FORK in that sync.
    let mine = before.chain();
    let headers: Vec<(ItemKind, Header)> =
        shown.served.iter().filter_map(|i| Some((i.kind, Header::decode(i.bytes.get(..HEADER_LEN)?).ok()?))).collect();
    // what was written: every envelope the server received, by (writer, seq), with its identity
    let written: BTreeMap<(DeviceId, u64), ([u8; 32], Header)> = shown
        .archive
        .iter()
        .filter_map(|e| envelope_identity(e))
        .map(|(id, h)| ((h.writer, h.writer_seq), (id, h)))
        .collect();
    // the served items that are a written envelope (or its stub) as sealed
    let genuine: Vec<Header> = shown
        .served
        .iter()
        .filter_map(|i| {
            let h = Header::decode(i.bytes.get(..HEADER_LEN)?).ok()?;
            let (id, _) = written.get(&(h.writer, h.writer_seq))?;
            (item_identity(i) == Some(*id)).then_some(h)
        })
        .collect();
    let in_order = shown.served.windows(2).all(|w| w[0].seq < w[1].seq);
    let mut shown_other = false;
    for b in shown.branches {
        let Some(q) =
            (0..(b.len() as u64).min(mine.head().len)).find(|p| b.get(*p as usize).copied() != mine.hash_at(*p))
        else {
            continue;
        };
        let other: BTreeSet<[u8; 32]> = b.iter().skip(q as usize).copied().collect();
        let served_chain = shown.chains.iter().any(|x| {
            x.len() > q as usize && x.len() <= b.len() && x.iter().zip(b).all(|(s, h)| statement_hash(s) == *h)
        });
        // only an envelope as its writer sealed it shows a head (a tampered one fails its
        // signature), and only on a page listed in order (a page out of order is refused whole
        // before any item is read, [SYNC-7]; the next page shows it)
        shown_other |= served_chain || (in_order && genuine.iter().any(|h| other.contains(&h.chain_head)));
    }
    if shown_other && !report.alerts.contains(&Alert::Fork) {
        g.broken.insert(Broken::Fork);
    }
    // G-WITHHOLDING-DETECTED, judged on what was written (every envelope the server received)
    // and what was served (to this device, in this sync and before): when the device is served a
    // genuine write of w (its identity is the one written), every earlier write of w was served
    // to it, or the sync raised E_SYNC_WITHHELD for w.
    let served_now: BTreeSet<(DeviceId, u64)> = headers.iter().map(|(_, h)| (h.writer, h.writer_seq)).collect();
    // [SYNC-11] a listing the device leaves unjudged takes nothing, raises nothing and holds the
    // cursor, and the next sync lists it again: judged on what was served, the sync's second
    // chain holds a revocation that its first chain did not
    let revokes = |chain: &[Vec<u8>], from: usize| {
        chain.iter().skip(from).any(|b| Statement::decode(b).is_ok_and(|s| matches!(s.body, Body::RevokeDevice { .. })))
    };
    let refetched_revocation = match shown.chains {
        [first, second, ..] => revokes(second, first.len()),
        _ => false,
    };
    // (its only alerts may be the splits that taking the chain exposed, [SYNC-14]; no writer's
    // accepted sequence number moves)
    let unjudged = refetched_revocation
        && report.alerts.iter().all(|a| matches!(a, Alert::Equivocation { .. }))
        && after.cursor() == before.cursor()
        && after.records() == before.records()
        && served_now.iter().all(|(w, _)| after.last_seq(w) == before.last_seq(w));
    let seen = g.served.entry(device).or_default();
    // a genuine write at a head the device's chain does not have cannot be verified yet: the
    // fork property judges it if the head is on another branch, a later sync otherwise
    let later: BTreeSet<(DeviceId, u64)> = genuine
        .iter()
        .filter(|h| after.chain().epoch_at_head(&h.chain_head).is_some())
        .map(|h| (h.writer, h.writer_seq))
        .collect();
    for (w, q) in &later {
        // a write above its writer's revocation bound is refused whatever came before it
        // (E_ENV_WRITER_REVOKED, [CHAIN-20]): no gap to report
        if after.chain().revoked().get(w).is_some_and(|r| *q > r.max_seq) {
            continue;
        }
        let missing = written.keys().any(|(ww, qq)| {
            ww == w
                && qq < q
                && !served_now.contains(&(*ww, *qq))
                && !seen.contains(&(*ww, *qq))
                && before.envelope_identity(ww, *qq).is_none()
        });
        let alerted = report.alerts.iter().any(|a| matches!(a, Alert::Withheld { writer, .. } if writer == w));
        if missing && !alerted && !unjudged {
            g.broken.insert(Broken::Withholding);
        }
    }
    // ... and never for a stub of a genuine write superseded by a newer revision the device now
    // holds: the superseded-stub half of G-WITHHOLDING-DETECTED.
    for a in &report.alerts {
        let Alert::Withheld { writer, missing_seq } = a else { continue };
        let Some((id, h)) = written.get(&(*writer, *missing_seq)) else { continue };
        let stub_served = shown.served.iter().any(|i| i.kind == ItemKind::Stub && item_identity(i) == Some(*id));
        let superseded = after
            .records()
            .iter()
            .any(|((c, r), rec)| c == COLLECTION && *r == h.record_id && rec.revision > h.revision);
        if stub_served && superseded {
            g.broken.insert(Broken::FalseGap);
        }
    }
    // what an unjudged listing showed was not taken: it is not "served" for a later sync
    if !unjudged {
        seen.extend(served_now);
    }
}

/// [SYNC-14] [MODEL-3] the verdict of one sync on a split of R's history: the device took R's
/// revocation in this sync (it did not hold it before) with `max_seq > 0`, and the sync raised
/// `E_SYNC_EQUIVOCATION` for `(R, max_seq)`. The property compares what the device holds with
/// what the revocation pins.
fn split_verdict(device: u8, r: &DeviceId, before: &Client, after: &Client, report: &SyncReport, g: &mut Ghost) {
    if before.chain().revoked().contains_key(r) {
        return;
    }
    let Some(rev) = after.chain().revoked().get(r) else { return };
    let alerted = report
        .alerts
        .iter()
        .any(|a| matches!(a, Alert::Equivocation { writer, seq } if writer == r && *seq == rev.max_seq));
    if rev.max_seq > 0 && alerted {
        g.split_alerted.insert(device);
    }
}

/// [SYNC-14] an envelope's identity and header, as its bytes stand (a pure function of the
/// bytes, from a process-wide table, [MODEL-19]).
fn envelope_identity(bytes: &[u8]) -> Option<([u8; 32], Header)> {
    crate::tables::ENVELOPE_IDENTITIES.get_or(bytes, |bytes| {
        let stub = envelope::EnvelopeRef::decode(bytes).ok()?.stub();
        Some((blindsync::primitives::sha256(&[&stub.header.encode(), &stub.body_digest]), stub.header))
    })
}

/// [SYNC-14] an item's identity, `SHA-256(header ‖ body digest)` of its stub.
fn item_identity(i: &Item) -> Option<[u8; 32]> {
    match i.kind {
        ItemKind::Stub => crate::tables::STUB_IDENTITIES.get_or(&i.bytes, |bytes| {
            let stub = blindsync::envelope::Stub::decode(bytes).ok()?;
            Some(blindsync::primitives::sha256(&[&stub.header.encode(), &stub.body_digest]))
        }),
        ItemKind::Envelope => envelope_identity(&i.bytes).map(|(id, _)| id),
    }
}

/// The malicious server: the real server's answers, changed as `serve` says. [MODEL-2]
struct Adversary<'a> {
    server: &'a mut Server<MemoryStorage>,
    serve: Serve,
    secrets: &'a [[u8; 32]],
    /// Secrets that came into being during the operation (a rotation's new UMK), scanned too.
    fresh_secrets: Vec<[u8; 32]>,
    /// The recovery code and the password, scanned for anywhere in a request.
    short_secrets: &'a [Vec<u8>],
    /// [MODEL-17] a wrong client's extra request.
    leak: Option<LeakMutant>,
    /// [MODEL-6] where to record each exchange (counterexample replay).
    transcript: Option<Transcript>,
    /// The last envelope a device stored (PutRecord), as it reached the server.
    last_put: Option<Vec<u8>>,
    /// Every chain served (Chain responses, as served), in order.
    chains: Vec<Vec<Vec<u8>>>,
    archive: &'a mut Vec<Vec<u8>>,
    fork: Option<Vec<Vec<u8>>>,
    other_bucket: Bucket,
    foreign: Vec<u8>,
    server_ed25519: [u8; 32],
    /// The colluding device and the target's state (to pick sequence numbers).
    colluder: Option<(Client, Client)>,
    served: Vec<Item>,
    leaked: bool,
    /// The deviation found something to act on.
    applied: bool,
    listed: bool,
    /// `forge-bundle`: the bundle served instead of the stored one.
    forged_bundle: Option<Vec<u8>>,
    /// `counterfeit-chain`: the chain served instead of the stored one (appends to it are
    /// answered Ok without reaching the real account).
    counterfeit: Option<Vec<Vec<u8>>>,
    /// `freeze-view`: the stored revocation's position, and the hashes of it and every
    /// statement after it (items citing one of them are hidden).
    freeze: Option<(u64, BTreeSet<[u8; 32]>)>,
    /// `revoke-without-rotate`: the statement served after the stored chain.
    extra_statement: Option<Vec<u8>>,
    /// `equivocate-below-bound`: R's re-signed alternative of its first write, and whether R's
    /// later writes are withheld.
    alternative: Option<(Vec<u8>, bool)>,
    /// A listing was answered (the device reached [SYNC-7]).
    lists: bool,
    /// [MODEL-20] the chain the server answered this sync's GetChain with, earlier.
    held_chain: Option<Vec<Vec<u8>>>,
    /// `lose-ack`: the first PutRecord or AppendChain the server accepts is answered
    /// `E_SRV_UNAVAILABLE` (then `applied`).
    lose_ack: bool,
    /// A later connection within one action (a retried enrollment): the server's randomness
    /// (login nonces, tokens) is drawn under another label, so a second login is not a replay.
    round: u32,
}

impl<'a> Adversary<'a> {
    fn new(
        server: &'a mut Server<MemoryStorage>,
        serve: Serve,
        secrets: &'a [[u8; 32]],
        archive: &'a mut Vec<Vec<u8>>,
    ) -> Self {
        Adversary {
            server,
            serve,
            secrets,
            fresh_secrets: Vec::new(),
            short_secrets: &[],
            leak: None,
            transcript: None,
            last_put: None,
            chains: Vec::new(),
            archive,
            fork: None,
            other_bucket: Bucket([0; 32]),
            foreign: Vec::new(),
            server_ed25519: [0; 32],
            colluder: None,
            served: Vec::new(),
            leaked: false,
            applied: false,
            listed: false,
            forged_bundle: None,
            counterfeit: None,
            freeze: None,
            extra_statement: None,
            alternative: None,
            lists: false,
            held_chain: None,
            lose_ack: false,
            round: 0,
        }
    }

    fn chain(&mut self, mut statements: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        match self.serve {
            Serve::RevokeWithoutRotate => {
                if let Some(extra) = self.extra_statement.take() {
                    statements.push(extra);
                    self.applied = true;
                }
                statements
            }
            Serve::FreezeView => match &self.freeze {
                Some((position, _)) if statements.len() as u64 > *position => {
                    self.applied = true;
                    statements.truncate(*position as usize);
                    statements
                }
                _ => statements,
            },
            Serve::StaleChain if statements.len() > 1 => {
                self.applied = true;
                statements[..statements.len() - 1].to_vec()
            }
            Serve::ForkChain => match self.fork.clone() {
                Some(f) if f != statements => {
                    self.applied = true;
                    f
                }
                _ => statements,
            },
            Serve::SubstituteDeviceKey => {
                // replace the first paired device's key (second add-device) with the server's
                let victim = self.colluder.as_ref().and_then(|(_, target)| {
                    target
                        .chain()
                        .devices()
                        .values()
                        .map(|d| d.ed25519)
                        .find(|k| *k != target.device().public().ed25519)
                });
                let Some(victim) = victim else { return statements };
                let out: Vec<Vec<u8>> = statements.iter().map(|s| replace(s, &victim, &self.server_ed25519)).collect();
                if out != statements {
                    self.applied = true;
                }
                out
            }
            _ => statements,
        }
    }

    fn items(&mut self, mut items: Vec<Item>, cursor: u64) -> Vec<Item> {
        // Injected items get fresh server numbers after the page's last one, as a server that
        // stores them would give them: an out-of-order page is refused whole ([SYNC-7]).
        let mut fresh = items.last().map_or(cursor, |i| i.seq);
        let header_of = |i: &Item| Header::decode(i.bytes.get(..HEADER_LEN).unwrap_or_default()).ok();
        match self.serve {
            Serve::Withhold(k) if (k as usize) < items.len() => {
                items.remove(k as usize);
                self.applied = true;
            }
            Serve::Replay(j) => {
                if let Some(e) = self.archive.get(j as usize) {
                    fresh += 1;
                    items.push(Item { seq: fresh, kind: ItemKind::Envelope, bytes: e.clone() });
                    self.applied = true;
                }
            }
            Serve::Reorder if items.len() > 1 => {
                items.reverse();
                self.applied = true;
            }
            Serve::SwapRecord(k) | Serve::SwapBucket(k) => {
                if let Some(i) = items.get_mut(k as usize)
                    && let Some(mut h) = header_of(i)
                {
                    if let Serve::SwapRecord(_) = self.serve {
                        h.record_id = if h.record_id == record(0) { record(1) } else { record(0) };
                    } else {
                        h.bucket = self.other_bucket;
                    }
                    i.bytes.splice(..HEADER_LEN, h.encode());
                    self.applied = true;
                }
            }
            Serve::SwapAccount(k) => {
                if let Some(i) = items.get_mut(k as usize) {
                    i.bytes = self.foreign.clone();
                    i.kind = ItemKind::Envelope;
                    self.applied = true;
                }
            }
            Serve::BelowBound { .. } | Serve::SplitHistory => {
                let Some((alt, withhold_tail)) = &self.alternative else { return items };
                let withhold_tail = *withhold_tail;
                let Some(r) = header_of(&Item { seq: 0, kind: ItemKind::Envelope, bytes: alt.clone() }) else {
                    return items;
                };
                let of_r = |i: &Item| header_of(i).filter(|h| h.writer == r.writer).map(|h| h.writer_seq);
                if withhold_tail {
                    // on this page; later pages are filtered in `call`
                    items.retain(|i| of_r(i).is_none_or(|s| s <= r.writer_seq));
                }
                if let Some(i) = items.iter_mut().find(|i| of_r(i) == Some(r.writer_seq)) {
                    // R's first write is listed as a stub once its second supersedes it ([SRV-6])
                    i.kind = ItemKind::Envelope;
                    i.bytes = alt.clone();
                    self.applied = true;
                }
            }
            Serve::Impersonate | Serve::Equivocate => {
                if let Some((colluder, target)) = &self.colluder
                    && let Some(forged) = forge(colluder, target, self.serve)
                {
                    for f in forged {
                        fresh += 1;
                        items.push(Item { seq: fresh, kind: ItemKind::Envelope, bytes: f });
                    }
                    self.applied = true;
                }
            }
            _ => {}
        }
        items
    }
}

impl Transport for Adversary<'_> {
    fn call(&mut self, r: Request) -> Response {
        let request = self.transcript.as_ref().map(|_| r.encode());
        let response = self.respond(r);
        if let (Some(t), Some(req)) = (&self.transcript, request)
            && let Ok(mut log) = t.lock()
        {
            log.push((req, response.encode()));
        }
        response
    }
}

impl Adversary<'_> {
    /// What the adversary answers `r`: the real server's answer, changed as `serve` says. [MODEL-2]
    fn respond(&mut self, r: Request) -> Response {
        let extra = self.leak.and_then(|f| f(&r, self.secrets));
        for bytes in std::iter::once(r.encode()).chain(extra.map(|x| x.encode())) {
            if carries_secret(&bytes, self.secrets, self.short_secrets)
                || self.fresh_secrets.iter().any(|f| bytes.windows(32).any(|w| w == f))
            {
                self.leaked = true;
            }
        }
        if let Request::PutRecord { envelope, .. } = &r {
            self.last_put = Some(envelope.clone());
            if !self.archive.contains(envelope) {
                self.archive.push(envelope.clone());
            }
        }
        let cursor = if let Request::ListSince { cursor, .. } = &r { Some(*cursor) } else { None };
        if self.counterfeit.is_some() && matches!(r, Request::AppendChain { .. }) {
            return Response::Ok; // [MODEL-2] the append goes to the server's own chain
        }
        let store = matches!(r, Request::PutRecord { .. } | Request::AppendChain { .. });
        let mut rng = match self.round {
            0 => SeededRng::from_label("blindsync/model/server"),
            k => SeededRng::from_label(&format!("blindsync/model/server/{k}")),
        };
        let resp = self.server.handle(r, NOW_MS, &mut rng);
        if store && self.lose_ack && !self.applied && matches!(resp, Response::Stored { .. } | Response::Ok) {
            // [MODEL-2] `lose-ack`: stored; the answer is what a dropped connection leaves
            self.applied = true;
            return Response::Error(Error::SrvUnavailable);
        }
        self.lists |= matches!(resp, Response::Items { .. });
        let out = self.answer(resp, cursor);
        if let Response::Chain { statements } = &out {
            self.chains.push(statements.clone());
        }
        out
    }
}

impl Adversary<'_> {
    /// The adversary's answer to a request the real server answered with `resp`. [MODEL-2]
    fn answer(&mut self, resp: Response, cursor: Option<u64>) -> Response {
        match resp {
            Response::Chain { .. } if self.counterfeit.is_some() => {
                self.applied = true;
                Response::Chain { statements: self.counterfeit.clone().unwrap_or_default() }
            }
            Response::Bundle { .. } if self.forged_bundle.is_some() => {
                self.applied = true;
                Response::Bundle { bundle: self.forged_bundle.clone().unwrap_or_default() }
            }
            Response::Chain { statements } => {
                // [MODEL-20] answered when the device sent its GetChain, before other devices acted
                let statements = self.held_chain.take().unwrap_or(statements);
                Response::Chain { statements: self.chain(statements) }
            }
            Response::Items { items } if self.serve == Serve::FreezeView => {
                // every page: nothing written at a head from the revocation on
                let after = |i: &Item| {
                    let head = Header::decode(i.bytes.get(..HEADER_LEN).unwrap_or_default()).map(|h| h.chain_head);
                    head.is_ok_and(|h| self.freeze.as_ref().is_some_and(|(_, later)| later.contains(&h)))
                };
                let items: Vec<Item> = items.into_iter().filter(|i| !after(i)).collect();
                self.served.extend(items.iter().cloned());
                Response::Items { items }
            }
            Response::Items { mut items } => {
                // `equivocate-below-bound` withholding R's later writes: on every page
                if let (Serve::BelowBound { withhold_tail: true }, Some((alt, _))) = (self.serve, &self.alternative)
                    && let Ok(r) = Header::decode(alt.get(..HEADER_LEN).unwrap_or_default())
                {
                    let later = |i: &Item| {
                        Header::decode(i.bytes.get(..HEADER_LEN).unwrap_or_default())
                            .is_ok_and(|h| h.writer == r.writer && h.writer_seq > r.writer_seq)
                    };
                    items.retain(|i| !later(i));
                }
                let items = if self.listed { items } else { self.items(items, cursor.unwrap_or(0)) };
                self.listed = true;
                self.served.extend(items.iter().cloned());
                Response::Items { items }
            }
            other => other,
        }
    }
}

fn expect_ok(r: Response) -> Option<()> {
    matches!(r, Response::Ok).then_some(())
}

/// Challenge-response login ([SYNC-4]) with a device key or an unlock path's authority key.
fn login(t: &mut dyn Transport, account: &AccountId, signer: &dyn blindsync::chain::ChainSigner) -> Option<Token> {
    let key = signer.public_key();
    let nonce = match t.call(Request::Challenge { account: account.0, key }) {
        Response::Nonce { nonce } => nonce,
        _ => return None,
    };
    let signature = signer.sign_message(&login_message(account, &key, &nonce));
    match t.call(Request::LoginKey { account: account.0, key, nonce, signature }) {
        Response::Token { token, .. } => Some(token),
        _ => None,
    }
}

/// The client of a device that joined, with the model's defences.
fn joined(
    keys: blindsync::device::DeviceKeys,
    chain: ChainState,
    umks: std::collections::BTreeMap<Epoch, Umk>,
    d: Defences,
) -> Client {
    let mut c = Client::new(keys, chain, umks);
    c.dangerous_set_defences(d);
    c
}

fn replace(bytes: &[u8], from: &[u8; 32], to: &[u8; 32]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let mut i = 0;
    while i + 32 <= out.len() {
        if out.get(i..i + 32) == Some(from.as_slice()) {
            out.splice(i..i + 32, to.iter().copied());
            i += 32;
        } else {
            i += 1;
        }
    }
    out
}

/// Envelopes the colluding device signs with its own key and epoch-0 keys:
/// one claiming the owner wrote it (Impersonate), or two with one sequence
/// number of its own (Equivocate). [MODEL-2]
fn forge(colluder: &Client, target: &Client, serve: Serve) -> Option<Vec<Vec<u8>>> {
    let account = colluder.account();
    let umk0 = colluder.umks().get(&0)?;
    let keys = EpochKeys::derive(umk0, &account, 0);
    let ck = keys.collection_key(COLLECTION).ok()?;
    let bucket = keys.routing_key().bucket(COLLECTION).ok()?;
    let sk = ed25519_signing(colluder.device());
    let owner = *target.chain().devices().keys().find(|d| **d != colluder.id())?;
    let (writer, values): (DeviceId, Vec<&[u8]>) = match serve {
        Serve::Impersonate => (owner, vec![b"forged"]),
        _ => (colluder.id(), vec![b"to some", b"to others"]),
    };
    let mut meta = RecordMeta {
        suite: Suite::Aes256Gcm,
        bucket,
        record_id: record(0),
        revision: 99,
        writer,
        writer_seq: target.last_seq(&writer) + 1,
        epoch: 0,
        schema: Schema::Raw,
        chain_head: colluder.chain().head().hash,
        prev: colluder.envelope_identity(&writer, target.last_seq(&writer)).unwrap_or_default(),
    };
    let mut rng = SeededRng::from_label("blindsync/model/forge");
    let mut out = Vec::new();
    for v in values {
        out.push(
            envelope::dangerous_seal_with_defences(&account, &meta, &ck, &sk, v, &target.defences(), &mut rng).ok()?,
        );
        meta.revision += 1;
    }
    Some(out)
}

/// [MODEL-2] `equivocate-below-bound`: R's re-signed alternative of its first write (writer
/// sequence number 1, `prev` zero, the same epoch and chain head, a greater revision than any R
/// wrote so that last-writer-wins prefers it, another value), sealed with R's own key and the
/// epoch's collection key it holds, as stored envelopes are sealed for `target`'s defences.
fn below_bound(r: &Client, target: &Client, server: &ServerView, written: &BTreeSet<Written>) -> Option<Vec<u8>> {
    let (_, items) = server.key()?;
    let first = items.values().find_map(|i| {
        let h = Header::decode(i.bytes.get(..HEADER_LEN)?).ok()?;
        (h.writer == r.id() && h.writer_seq == 1).then_some(h)
    })?;
    let account = r.account();
    let keys = EpochKeys::derive(r.umks().get(&first.epoch)?, &account, first.epoch);
    let ck = keys.collection_key(COLLECTION).ok()?;
    let meta = RecordMeta {
        suite: first.suite,
        bucket: first.bucket,
        record_id: first.record_id,
        revision: written.iter().map(|w| w.revision).max()?.checked_add(1)?,
        writer: r.id(),
        writer_seq: 1,
        epoch: first.epoch,
        schema: Schema::Raw,
        chain_head: first.chain_head,
        prev: first.prev,
    };
    let sk = ed25519_signing(r.device());
    let mut rng = SeededRng::from_label("blindsync/model/below-bound");
    envelope::dangerous_seal_with_defences(&account, &meta, &ck, &sk, b"r.alt", &target.defences(), &mut rng).ok()
}

/// [CHAIN-20] What a revocation of `target` by `c` lists: with the cascade, `target` and every
/// active device it introduced, transitively, each with the writer bound `c` has seen, and
/// every partner one of them pinned; without it, `target` alone and nothing unpinned.
fn revocation_lists(c: &Client, target: &DeviceId, cascade: bool) -> Option<(Vec<Revocation>, Vec<[u8; 32]>)> {
    let chain = c.chain();
    let by = |i: Option<Introducer>, gone: &[DeviceId]| matches!(i, Some(Introducer::Device(d)) if gone.contains(&d));
    let mut gone = vec![*target];
    if cascade {
        loop {
            let more: Vec<DeviceId> = chain
                .devices()
                .keys()
                .filter(|id| !gone.contains(id) && by(chain.device_introducer(id), &gone))
                .copied()
                .collect();
            if more.is_empty() {
                break;
            }
            gone.extend(more);
        }
    }
    let mut revocations = Vec::new();
    for device in gone.iter().copied() {
        let max_seq = c.last_seq(&device);
        let last_envelope = if max_seq == 0 { [0u8; 32] } else { c.envelope_identity(&device, max_seq)? };
        revocations.push(Revocation { device, max_seq, last_envelope });
    }
    let unpin = if cascade {
        chain.partners().keys().filter(|k| by(chain.partner_introducer(k), &gone)).copied().collect()
    } else {
        Vec::new()
    };
    Some((revocations, unpin))
}

/// [MODEL-2] `revoke-without-rotate`: R, active at the server's head, signs a revoke statement
/// of itself that keeps the current epoch and carries no wraps: the revocation without a
/// rotation the old format allowed. The verifier refuses it ([CHAIN-20] step 5,
/// `E_CHAIN_EPOCH`).
fn revoke_without_rotate(r: &Client, server: &ServerView) -> Option<Vec<u8>> {
    let (state, _) = server.key()?;
    if !state.is_active(&r.id()) {
        return None;
    }
    // R revokes another device that introduced nothing (so no cascade rule decides first), and
    // keeps the epoch: the deviation a revoke-then-rotate chain used to allow. [CHAIN-20]
    let introduced = |id: &DeviceId| {
        let by = |i: Option<Introducer>| i == Some(Introducer::Device(*id));
        state.devices().keys().any(|d| by(state.device_introducer(d)))
            || state.partners().keys().any(|k| by(state.partner_introducer(k)))
    };
    let target = state.devices().keys().copied().find(|d| *d != r.id() && !introduced(d))?;
    let revocations = vec![Revocation { device: target, max_seq: 0, last_envelope: [0; 32] }];
    let epoch = state.epoch();
    let body = Body::RevokeDevice {
        revocations,
        unpin: Vec::new(),
        reconfirm: Vec::new(),
        epoch,
        key_check: [0; 32],
        wraps: Vec::new(),
    };
    Some(next_statement(state, body, r.device()).encode())
}

fn tamper_stream(manifest: &[u8], body: &[u8], serve: StreamServe) -> Option<Vec<u8>> {
    if serve == StreamServe::Honest {
        return Some(body.to_vec());
    }
    let m = Manifest::decode(manifest).ok()?;
    let n = m.chunk_count() as usize;
    let last_len = m.plaintext_len() as usize - (n - 1) * stream::CHUNK_LEN;
    let overhead = (body.len() - (n - 1) * stream::CHUNK_LEN - last_len) / n;
    let f = stream::CHUNK_LEN + overhead;
    let frames: Vec<&[u8]> =
        (0..n).map(|i| body.get(i * f..((i + 1) * f).min(body.len())).unwrap_or_default()).collect();
    let order: Vec<usize> = match serve {
        StreamServe::DropChunk => (0..n).filter(|i| *i != 1).collect(),
        _ => {
            let mut o: Vec<usize> = (0..n).collect();
            o.swap(0, 1);
            o
        }
    };
    Some(order.iter().flat_map(|i| frames.get(*i).copied().unwrap_or_default().iter().copied()).collect())
}
