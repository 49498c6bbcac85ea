//! Defence switches, for the model checker only (spec 12.5).
//!
//! Without the `danger` feature nothing outside the crate reaches them, so
//! the parts only the model uses are dead code there.
//!
//! Every check that stops an attack of the threat model (spec 1.4) is on
//! by default and stays on in any real deployment. The model checker
//! (`model/`) turns one off at a time to prove that the property the
//! check exists for is then violated: the properties are not vacuous.
//!
//! The library always carries the switches (its checks read them), but
//! without the `danger` cargo feature nothing outside the crate can reach
//! them: the types, the `_with` functions that take a [`Defences`] and
//! `Client::dangerous_set_defences` are public only under that feature, as
//! [`crate::danger`]. Production paths pass [`Defences::ALL`].
//!
//! ```
//! # #[cfg(feature = "danger")] {
//! use blindsync::danger::{Defences, Weakening};
//! assert!(Defences::ALL.signature);
//! let weak = Defences::ALL.without(Weakening::NoSignatureCheck);
//! assert!(!weak.signature && weak.rollback);
//! assert_eq!(Weakening::parse("no-signature-check"), Some(Weakening::NoSignatureCheck));
//! # }
//! ```
#![cfg_attr(not(feature = "danger"), allow(dead_code))]

/// Declares a function public under the `danger` feature and crate-private
/// otherwise: the defence-taking variants of checks. [MODEL-5]
///
/// cargo-mutants does not mutate code inside a macro invocation, so a check
/// of any substance keeps only a one-line delegate in here and its body in a
/// private `…_impl` function next to it (see README, "Mutation testing").
macro_rules! danger_api {
    ($(#[$m:meta])* pub fn $($rest:tt)*) => {
        #[cfg(feature = "danger")]
        $(#[$m])* pub fn $($rest)*
        #[cfg(not(feature = "danger"))]
        #[allow(dead_code)]
        $(#[$m])* pub(crate) fn $($rest)*
    };
}

/// Which defences are on. [MODEL-5]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Defences {
    /// Envelope and stub signatures are verified ([ENV-9]).
    pub signature: bool,
    /// Bucket, record id and revision are bound in the AAD and the
    /// signature ([ENV-5], [ENV-9]).
    pub location_binding: bool,
    /// The key commitment is compared before decryption ([ENV-6]).
    pub key_commitment: bool,
    /// Devices keep high-water marks: no older revision replaces a newer
    /// one, no shorter chain replaces a longer one ([SYNC-10], [CHAIN-10]).
    pub rollback: bool,
    /// Writer sequence numbers must be gap-free ([SYNC-9]).
    pub sequence_gaps: bool,
    /// A served chain must extend the verified one, and envelopes must name
    /// a head of it ([SYNC-11], [CHAIN-10]).
    pub fork: bool,
    /// Data keys are wrapped only to keys the chain pins ([BAT-3]).
    pub pinned_keys: bool,
    /// KDF parameters below the floor are refused ([KEY-6]).
    pub kdf_floor: bool,
    /// Every UMK is checked against the chain's key check ([CHAIN-16]).
    pub key_check: bool,
    /// A pairing bundle must be the one its add-device statement commits to ([DEV-6]).
    pub bundle_commit: bool,
    /// Installed keys need a proof of possession ([CHAIN-17]).
    pub possession: bool,
    /// Served KDF salt and parameters must equal the chain's ([CHAIN-18]).
    pub kdf_pin: bool,
    /// A revocation must undo or re-confirm what the revoked device introduced ([CHAIN-20]).
    pub cascade: bool,
    // --- issue 13, writers and freshness (one block) ---
    /// Each envelope's `prev` must be the identity of the writer's previous
    /// envelope, where the reader holds it ([SYNC-15]).
    pub writer_chain: bool,
    /// A revision may exceed the record's greatest known revision by at most
    /// `MAX_REVISION_STEP` ([SYNC-16]).
    pub revision_step: bool,
    /// An envelope may not be sealed in an epoch superseded at the head it cites ([ENV-16]).
    pub stale_epoch: bool,
    /// A write stored after a known revocation that cites an older head is an alert ([SYNC-17]).
    pub stale_head: bool,
    /// A listing page must be strictly ascending above the cursor ([SYNC-7]).
    pub listing_order: bool,
    /// Data-path defences (issue 14), one switch each ([`DataWeakening`]).
    pub data: DataDefences,
    /// Item-verification defences of audit round 3, one switch each.
    pub items: ItemDefences,
}

/// Item-verification defences of audit round 3. [MODEL-5]
///
/// Kept apart from the other defences so that adding them did not change the
/// model checker's configurations (every default keeps them on). The two that
/// stop a safety attack the model carries have a [`Weakening`]
/// (`no-revocation-split-alert`, `no-device-meta-owner-check`); library tests
/// switch the others off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemDefences {
    /// A device's metadata record is taken only from that device ([SRV-11]).
    pub device_meta_owner: bool,
    /// A revoked writer's item above its bound is remembered as refused only
    /// if its signature verifies under the writer's key ([SYNC-15]).
    pub above_bound_signature: bool,
    /// A revocation new to the device is compared with the identity it
    /// remembers for the revoked writer's `max_seq` ([SYNC-14]).
    pub revocation_split: bool,
    /// A device refuses to write a metadata record other than its own ([SRV-11],
    /// `E_CLIENT_DEVICE_RECORD`): off, it writes what every reader refuses.
    pub device_meta_write: bool,
}

impl ItemDefences {
    /// Every item-verification defence on.
    pub const ALL: ItemDefences = ItemDefences {
        device_meta_owner: true,
        above_bound_signature: true,
        revocation_split: true,
        device_meta_write: true,
    };
}

impl Default for ItemDefences {
    fn default() -> Self {
        ItemDefences::ALL
    }
}

/// The data-path defences: batches, streams and attachments. [MODEL-5]
///
/// Kept apart from [`Weakening`] so that adding them does not change the
/// model checker's configurations; each has its own [`DataWeakening`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DataDefences {
    /// A partner verifies the writer's signature on the server's hash-chain record ([HCH-6]).
    pub report_signature: bool,
    /// Event hashes are keyed with the batch's event key ([HCH-2]).
    pub keyed_events: bool,
    /// A reader checks that a batch links to the writer's previous one ([BAT-11]).
    pub batch_links: bool,
    /// A reader refuses a batch naming a chain head its chain does not have ([BAT-10]).
    pub chain_head: bool,
    /// A reader compares each frame's BLAKE3 digest with the manifest ([STR-6], [STR-11]).
    pub chunk_digests: bool,
    /// Attachment keys come from the current epoch's PRK, not epoch 0 ([ATT-1]).
    pub attachment_epoch_keys: bool,
    /// Attachments are padded to the Padmé length ([ATT-6]).
    pub attachment_padding: bool,
}

impl DataDefences {
    /// Every data-path defence on.
    pub const ALL: DataDefences = DataDefences {
        report_signature: true,
        keyed_events: true,
        batch_links: true,
        chain_head: true,
        chunk_digests: true,
        attachment_epoch_keys: true,
        attachment_padding: true,
    };
}

impl Default for DataDefences {
    fn default() -> Self {
        DataDefences::ALL
    }
}

impl Defences {
    /// Every defence on: the protocol as specified.
    pub const ALL: Defences = Defences {
        signature: true,
        location_binding: true,
        key_commitment: true,
        rollback: true,
        sequence_gaps: true,
        fork: true,
        pinned_keys: true,
        kdf_floor: true,
        key_check: true,
        bundle_commit: true,
        possession: true,
        kdf_pin: true,
        cascade: true,
        writer_chain: true,
        revision_step: true,
        stale_epoch: true,
        stale_head: true,
        listing_order: true,
        data: DataDefences::ALL,
        items: ItemDefences::ALL,
    };

    /// These defences with one switched off.
    pub const fn without(self, w: Weakening) -> Defences {
        let mut d = self;
        match w {
            Weakening::NoSignatureCheck => d.signature = false,
            Weakening::NoAadBinding => d.location_binding = false,
            Weakening::NoKeyCommitment => d.key_commitment = false,
            Weakening::NoRollbackCheck => d.rollback = false,
            Weakening::NoSequenceGapCheck => d.sequence_gaps = false,
            Weakening::NoForkCheck => d.fork = false,
            Weakening::UnpinnedKeysAccepted => d.pinned_keys = false,
            Weakening::AnyKdfParams => d.kdf_floor = false,
            Weakening::NoKeyCheck => d.key_check = false,
            Weakening::NoBundleCommit => d.bundle_commit = false,
            Weakening::NoPossessionCheck => d.possession = false,
            Weakening::UnpinnedKdf => d.kdf_pin = false,
            Weakening::NoCascade => d.cascade = false,
            Weakening::NoPrevCheck => d.writer_chain = false,
            Weakening::NoRevisionStep => d.revision_step = false,
            Weakening::NoStaleEpochCheck => d.stale_epoch = false,
            Weakening::NoStaleHeadAlert => d.stale_head = false,
            Weakening::UnorderedListing => d.listing_order = false,
            Weakening::NoRevocationSplitAlert => d.items.revocation_split = false,
            Weakening::NoDeviceMetaOwnerCheck => d.items.device_meta_owner = false,
        }
        d
    }

    /// These defences with one data-path defence switched off.
    pub const fn without_data(self, w: DataWeakening) -> Defences {
        let mut d = self;
        match w {
            DataWeakening::UnsignedReports => d.data.report_signature = false,
            DataWeakening::UnkeyedEventHashes => d.data.keyed_events = false,
            DataWeakening::NoBatchLinks => d.data.batch_links = false,
            DataWeakening::NoChainHeadCheck => d.data.chain_head = false,
            DataWeakening::TagOnlyChunks => d.data.chunk_digests = false,
            DataWeakening::EpochZeroAttachmentKey => d.data.attachment_epoch_keys = false,
            DataWeakening::NoAttachmentPadding => d.data.attachment_padding = false,
        }
        d
    }

    /// Whether the data-path defence `w` switches off is off here.
    pub const fn is_data_off(&self, w: DataWeakening) -> bool {
        match w {
            DataWeakening::UnsignedReports => !self.data.report_signature,
            DataWeakening::UnkeyedEventHashes => !self.data.keyed_events,
            DataWeakening::NoBatchLinks => !self.data.batch_links,
            DataWeakening::NoChainHeadCheck => !self.data.chain_head,
            DataWeakening::TagOnlyChunks => !self.data.chunk_digests,
            DataWeakening::EpochZeroAttachmentKey => !self.data.attachment_epoch_keys,
            DataWeakening::NoAttachmentPadding => !self.data.attachment_padding,
        }
    }

    /// The weakenings in effect, in [`Weakening::ALL`] order.
    pub fn weakenings(&self) -> Vec<Weakening> {
        Weakening::ALL.iter().copied().filter(|w| self.is_off(*w)).collect()
    }

    /// Whether the defence `w` switches off is off here.
    pub const fn is_off(&self, w: Weakening) -> bool {
        match w {
            Weakening::NoSignatureCheck => !self.signature,
            Weakening::NoAadBinding => !self.location_binding,
            Weakening::NoKeyCommitment => !self.key_commitment,
            Weakening::NoRollbackCheck => !self.rollback,
            Weakening::NoSequenceGapCheck => !self.sequence_gaps,
            Weakening::NoForkCheck => !self.fork,
            Weakening::UnpinnedKeysAccepted => !self.pinned_keys,
            Weakening::AnyKdfParams => !self.kdf_floor,
            Weakening::NoKeyCheck => !self.key_check,
            Weakening::NoBundleCommit => !self.bundle_commit,
            Weakening::NoPossessionCheck => !self.possession,
            Weakening::UnpinnedKdf => !self.kdf_pin,
            Weakening::NoCascade => !self.cascade,
            Weakening::NoPrevCheck => !self.writer_chain,
            Weakening::NoRevisionStep => !self.revision_step,
            Weakening::NoStaleEpochCheck => !self.stale_epoch,
            Weakening::NoStaleHeadAlert => !self.stale_head,
            Weakening::UnorderedListing => !self.listing_order,
            Weakening::NoRevocationSplitAlert => !self.items.revocation_split,
            Weakening::NoDeviceMetaOwnerCheck => !self.items.device_meta_owner,
        }
    }
}

impl Default for Defences {
    fn default() -> Self {
        Defences::ALL
    }
}

/// One defence switched off. [MODEL-5]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Weakening {
    /// Signatures are not verified.
    NoSignatureCheck,
    /// Bucket, record id and revision are left out of the AAD and the signature.
    NoAadBinding,
    /// The key commitment is not compared.
    NoKeyCommitment,
    /// No high-water marks: older revisions and shorter chains are taken.
    NoRollbackCheck,
    /// Gaps in writer sequence numbers are not noticed.
    NoSequenceGapCheck,
    /// A served chain that differs from the verified one is taken if it verifies.
    NoForkCheck,
    /// Data keys are wrapped to any key the server names.
    UnpinnedKeysAccepted,
    /// KDF parameters below the floor are used.
    AnyKdfParams,
    /// UMKs are taken without comparing them with the chain's key check.
    NoKeyCheck,
    /// A pairing bundle is opened without checking the add-device statement's commitment.
    NoBundleCommit,
    /// Installed keys are taken without a proof of possession.
    NoPossessionCheck,
    /// Served KDF salt and parameters are used without comparing them with the chain's.
    UnpinnedKdf,
    /// A revocation may leave in place what the revoked device introduced.
    NoCascade,
    /// An envelope's `prev` is not compared with the writer's previous envelope.
    NoPrevCheck,
    /// Revisions may jump by any amount (up to u64::MAX).
    NoRevisionStep,
    /// Envelopes sealed in an epoch superseded at the head they cite are opened.
    NoStaleEpochCheck,
    /// Writes that cite a head older than a known revocation raise no alert.
    NoStaleHeadAlert,
    /// Listing pages are taken in whatever order the server sends.
    UnorderedListing,
    /// A revocation new to the device is not compared with the identity it remembers for the
    /// revoked writer's `max_seq` ([SYNC-14], `ItemDefences::revocation_split`).
    NoRevocationSplitAlert,
    /// A device-metadata item whose record id is not its writer's own is taken
    /// ([SRV-11], `ItemDefences::device_meta_owner`).
    NoDeviceMetaOwnerCheck,
}

impl Weakening {
    /// Every weakening.
    pub const ALL: [Weakening; 20] = [
        Weakening::NoSignatureCheck,
        Weakening::NoAadBinding,
        Weakening::NoKeyCommitment,
        Weakening::NoRollbackCheck,
        Weakening::NoSequenceGapCheck,
        Weakening::NoForkCheck,
        Weakening::UnpinnedKeysAccepted,
        Weakening::AnyKdfParams,
        Weakening::NoKeyCheck,
        Weakening::NoBundleCommit,
        Weakening::NoPossessionCheck,
        Weakening::UnpinnedKdf,
        Weakening::NoCascade,
        Weakening::NoPrevCheck,
        Weakening::NoRevisionStep,
        Weakening::NoStaleEpochCheck,
        Weakening::NoStaleHeadAlert,
        Weakening::UnorderedListing,
        Weakening::NoRevocationSplitAlert,
        Weakening::NoDeviceMetaOwnerCheck,
    ];

    /// Its command-line name.
    pub const fn name(&self) -> &'static str {
        match self {
            Weakening::NoSignatureCheck => "no-signature-check",
            Weakening::NoAadBinding => "no-aad-binding",
            Weakening::NoKeyCommitment => "no-key-commitment",
            Weakening::NoRollbackCheck => "no-rollback-check",
            Weakening::NoSequenceGapCheck => "no-sequence-gap-check",
            Weakening::NoForkCheck => "no-fork-check",
            Weakening::UnpinnedKeysAccepted => "unpinned-keys-accepted",
            Weakening::AnyKdfParams => "any-kdf-params",
            Weakening::NoKeyCheck => "no-key-check",
            Weakening::NoBundleCommit => "no-bundle-commit",
            Weakening::NoPossessionCheck => "no-possession-check",
            Weakening::UnpinnedKdf => "unpinned-kdf",
            Weakening::NoCascade => "no-cascade",
            Weakening::NoPrevCheck => "no-prev-check",
            Weakening::NoRevisionStep => "no-revision-step",
            Weakening::NoStaleEpochCheck => "no-stale-epoch-check",
            Weakening::NoStaleHeadAlert => "no-stale-head-alert",
            Weakening::UnorderedListing => "unordered-listing",
            Weakening::NoRevocationSplitAlert => "no-revocation-split-alert",
            Weakening::NoDeviceMetaOwnerCheck => "no-device-meta-owner-check",
        }
    }

    /// The weakening with this command-line name.
    pub fn parse(name: &str) -> Option<Weakening> {
        Weakening::ALL.iter().copied().find(|w| w.name() == name)
    }
}

/// One data-path defence switched off (issue 14). [MODEL-5]
///
/// Each names the model capability that re-finds the attack it opens:
///
/// | weakening | capability | attack |
/// |---|---|---|
/// | `unsigned-reports` | `frame-user` | the server adds reports and a partner sees `E_HCH_DROPPED` |
/// | `no-batch-links` | `delete-batch` | the server deletes a whole batch unnoticed |
/// | `no-chain-head-check` | `stale-partner-chain` | a partner on a withheld chain reads a batch of a revoked writer |
/// | `tag-only-chunks` | `insider-chunk-forgery` | a key holder swaps a frame for another with the same AEAD tag |
/// | `epoch-zero-attachment-key` | `attachment-after-revocation` | a revoked device and the server read later attachments |
/// | `unkeyed-event-hashes` | `event-guessing` | the server confirms guessed log lines from reported hashes |
/// | `no-attachment-padding` | `attachment-length` | the exact blob length confirms a known file |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataWeakening {
    /// A partner takes the server's hash-chain record without the writer's signature.
    UnsignedReports,
    /// Event hashes are unkeyed SHA-256, as before issue 14.
    UnkeyedEventHashes,
    /// A reader does not check the link to the writer's previous batch.
    NoBatchLinks,
    /// A reader ignores the chain head a batch names.
    NoChainHeadCheck,
    /// A reader does not compare frame digests with the manifest; it relies on the AEAD tag.
    TagOnlyChunks,
    /// Attachment keys come from epoch 0 for ever, as before issue 14.
    EpochZeroAttachmentKey,
    /// Attachments are sealed at their exact length.
    NoAttachmentPadding,
}

impl DataWeakening {
    /// Every data-path weakening.
    pub const ALL: [DataWeakening; 7] = [
        DataWeakening::UnsignedReports,
        DataWeakening::UnkeyedEventHashes,
        DataWeakening::NoBatchLinks,
        DataWeakening::NoChainHeadCheck,
        DataWeakening::TagOnlyChunks,
        DataWeakening::EpochZeroAttachmentKey,
        DataWeakening::NoAttachmentPadding,
    ];

    /// Its command-line name.
    pub const fn name(&self) -> &'static str {
        match self {
            DataWeakening::UnsignedReports => "unsigned-reports",
            DataWeakening::UnkeyedEventHashes => "unkeyed-event-hashes",
            DataWeakening::NoBatchLinks => "no-batch-links",
            DataWeakening::NoChainHeadCheck => "no-chain-head-check",
            DataWeakening::TagOnlyChunks => "tag-only-chunks",
            DataWeakening::EpochZeroAttachmentKey => "epoch-zero-attachment-key",
            DataWeakening::NoAttachmentPadding => "no-attachment-padding",
        }
    }

    /// The model capability that re-finds the attack this weakening opens.
    pub const fn capability(&self) -> &'static str {
        match self {
            DataWeakening::UnsignedReports => "frame-user",
            DataWeakening::UnkeyedEventHashes => "event-guessing",
            DataWeakening::NoBatchLinks => "delete-batch",
            DataWeakening::NoChainHeadCheck => "stale-partner-chain",
            DataWeakening::TagOnlyChunks => "insider-chunk-forgery",
            DataWeakening::EpochZeroAttachmentKey => "attachment-after-revocation",
            DataWeakening::NoAttachmentPadding => "attachment-length",
        }
    }

    /// The weakening with this command-line name.
    pub fn parse(name: &str) -> Option<DataWeakening> {
        DataWeakening::ALL.iter().copied().find(|w| w.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // [MODEL-5] each weakening switches off exactly one defence, and names round trip.
    #[test]
    fn one_switch_each() {
        for w in Weakening::ALL {
            let d = Defences::ALL.without(w);
            assert!(d.is_off(w));
            let off = Weakening::ALL.iter().filter(|v| d.is_off(**v)).count();
            assert_eq!(off, 1, "{w:?}");
            assert_eq!(Weakening::parse(w.name()), Some(w));
            assert_eq!(d.weakenings(), vec![w]);
        }
        assert!(Defences::ALL.weakenings().is_empty());
    }

    // [MODEL-5] each data-path weakening switches off exactly one data-path defence and nothing else.
    #[test]
    fn one_data_switch_each() {
        for w in DataWeakening::ALL {
            let d = Defences::ALL.without_data(w);
            assert!(d.is_data_off(w));
            assert_eq!(DataWeakening::ALL.iter().filter(|v| d.is_data_off(**v)).count(), 1, "{w:?}");
            assert!(d.weakenings().is_empty());
            assert_eq!(DataWeakening::parse(w.name()), Some(w));
        }
    }
}
