//! The data-path model's properties (spec 12.7, [MODEL-15]), each judged
//! on the ground truth the transitions record (what the writer really
//! sealed or dropped, what the server deleted, when the revocation was
//! stored, which bytes the server received), never on a device's own view.

use stateright::Property;

use super::system::{DataAction, DataBroken, DataCapability, DataModel, DataState, ReadServe, Writer};

/// G-BATCH-COMPLETENESS (accusation): a partner reports `E_HCH_DROPPED` only for a batch
/// from which the writer really dropped a reported event. [MODEL-15]
pub const NO_FALSE_ACCUSATION: &str = "no false accusation of a drop (G-BATCH-COMPLETENESS)";
/// G-BATCH-COMPLETENESS (gaps): the writer's batches a partner accepts are consecutive. [MODEL-15]
pub const NO_SILENT_GAP: &str = "no silent batch gap (G-BATCH-COMPLETENESS)";
/// G-REVOCATION for partners: once offered a batch sealed after the revocation, a partner
/// accepts no batch the revoked device sealed after it. [MODEL-15]
pub const REVOKED_REFUSED: &str = "revoked writer refused by partners (G-REVOCATION)";
/// G-CHUNK-INTEGRITY: a stream opens to what its writer sealed, even against a key holder. [MODEL-15]
pub const CHUNKS: &str = "stream opens only to what was sealed (G-CHUNK-INTEGRITY)";
/// G-CONFIDENTIALITY: no key the revoked device holds opens an attachment uploaded after it. [MODEL-15]
pub const ATTACHMENTS: &str = "later attachments unreadable by the revoked device (G-CONFIDENTIALITY)";
/// G-NO-DOWNGRADE: the server never receives `auth` under a salt it chose. [MODEL-15]
pub const SALT_PINNED: &str = "password salt pinned (G-NO-DOWNGRADE)";
/// With an honest server, no alert fires but `E_HCH_DROPPED` for a real drop. [MODEL-15]
pub const HONEST_QUIET: &str = "an honest run raises no alert (data path)";

fn not(b: DataBroken) -> impl Fn(&DataModel, &DataState) -> bool {
    move |_, s| !s.ghost.broken.contains(&b)
}

fn no_false_accusation(m: &DataModel, s: &DataState) -> bool {
    not(DataBroken::FalseAccusation)(m, s)
}
fn revoked_refused(m: &DataModel, s: &DataState) -> bool {
    not(DataBroken::RevokedAccepted)(m, s)
}
fn chunks(m: &DataModel, s: &DataState) -> bool {
    not(DataBroken::ChunkForged)(m, s)
}
fn attachments(m: &DataModel, s: &DataState) -> bool {
    not(DataBroken::AttachmentRead)(m, s)
}
fn salt_pinned(m: &DataModel, s: &DataState) -> bool {
    not(DataBroken::SaltSubstituted)(m, s)
}

/// The sequence numbers of W's batches the partner accepted form one run: no batch the
/// server deleted (or withheld) sits between two accepted ones. Judged on the batches W
/// really sealed, not on the reader's state.
fn no_silent_gap(_: &DataModel, s: &DataState) -> bool {
    let seqs: Vec<u64> = s.batches.iter().filter(|b| b.writer == Writer::Owner && b.accepted).map(|b| b.seq).collect();
    seqs.windows(2).all(|w| w[1] == w[0] + 1)
}

/// An honest server raises nothing; a real drop raises `E_HCH_DROPPED` for its batch and,
/// because the reader's link state does not pass a refused batch, `E_BATCH_GAP` for the
/// writer's later ones.
fn honest_quiet(_: &DataModel, s: &DataState) -> bool {
    let dropped = s.batches.iter().any(|b| b.dropped);
    s.ghost.alerts.iter().all(|a| dropped && (*a == "E_HCH_DROPPED" || *a == "E_BATCH_GAP"))
}

fn partner_accepts(_: &DataModel, s: &DataState) -> bool {
    s.batches.iter().any(|b| b.writer == Writer::Owner && b.accepted && b.seq > 0)
}

fn real_drop_reported(_: &DataModel, s: &DataState) -> bool {
    s.ghost.alerts.contains("E_HCH_DROPPED") && s.batches.iter().any(|b| b.dropped && b.done && !b.accepted)
}

fn late_attachment(_: &DataModel, s: &DataState) -> bool {
    s.ghost.attachments.iter().any(|(_, after)| *after)
}

fn revoked_reads_old(_: &DataModel, s: &DataState) -> bool {
    s.ghost.revoked_read_old
}

macro_rules! sometimes_used {
    ($($f:ident => $cap:ident, $name:literal;)*) => {
        $(fn $f(_: &DataModel, s: &DataState) -> bool { s.ghost.used.contains(&DataCapability::$cap) })*
        fn used_properties(m: &DataModel) -> Vec<Property<DataModel>> {
            let mut v = Vec::new();
            $(if m.config.capabilities.contains(&DataCapability::$cap) && m.config.malice > 0 {
                v.push(Property::sometimes($name, $f));
            })*
            v
        }
    };
}

sometimes_used! {
    used_frame => FrameUser, "adversary adds a report to frame the user";
    used_delete => DeleteBatch, "adversary deletes a whole batch";
    used_stale => StalePartnerChain, "adversary freezes the partner's chain for the revoked writer";
    used_forgery => InsiderChunkForgery, "adversary serves a key holder's same-tag chunk forgery";
    used_attachment => AttachmentAfterRevocation, "revoked device tries its keys on stored attachments";
    used_salt => SaltSubstitution, "adversary serves its common salt";
}

macro_rules! sometimes_alert {
    ($($f:ident => $code:literal, $name:literal;)*) => {
        $(fn $f(_: &DataModel, s: &DataState) -> bool { s.ghost.alerts.contains($code) })*
        fn alert_properties() -> Vec<Property<DataModel>> {
            vec![$(Property::sometimes($name, $f)),*]
        }
    };
}

sometimes_alert! {
    alert_hch_signature => "E_HCH_SIGNATURE", "alert fires: E_HCH_SIGNATURE";
    alert_gap => "E_BATCH_GAP", "alert fires: E_BATCH_GAP";
    alert_chain_head => "E_BATCH_CHAIN_HEAD", "alert fires: E_BATCH_CHAIN_HEAD";
    alert_foreign => "E_STREAM_FOREIGN", "alert fires: E_STREAM_FOREIGN";
    alert_kdf_pin => "E_KDF_NOT_PINNED", "alert fires: E_KDF_NOT_PINNED";
}

/// Every property of `m`'s configuration. [MODEL-15]
pub fn all(m: &DataModel) -> Vec<Property<DataModel>> {
    let mut v = vec![
        Property::always(NO_FALSE_ACCUSATION, no_false_accusation),
        Property::always(NO_SILENT_GAP, no_silent_gap),
        Property::always(REVOKED_REFUSED, revoked_refused),
        Property::always(CHUNKS, chunks),
        Property::always(ATTACHMENTS, attachments),
        Property::always(SALT_PINNED, salt_pinned),
        Property::sometimes("a partner accepts W's later batch", partner_accepts),
        Property::sometimes("a real drop is reported (E_HCH_DROPPED)", real_drop_reported),
        Property::sometimes("an attachment is uploaded after the revocation", late_attachment),
    ];
    if m.config.capabilities.is_empty() || m.config.malice == 0 {
        v.push(Property::always(HONEST_QUIET, honest_quiet));
    } else {
        v.extend(used_properties(m));
        if m.config.capabilities.contains(&DataCapability::AttachmentAfterRevocation) {
            v.push(Property::sometimes("the revoked device reads an attachment from before", revoked_reads_old));
        }
        if m.config.defences == blindsync::danger::Defences::ALL
            && m.config.capabilities.len() == DataCapability::ALL.len()
        {
            v.extend(alert_properties());
        }
    }
    v
}

/// One action in words, for counterexamples. [MODEL-6]
pub fn describe(a: &DataAction) -> String {
    match a {
        DataAction::WriteBatch { drop: false } => "device W records two events, reports each, seals and uploads its next batch".into(),
        DataAction::WriteBatch { drop: true } => {
            "device W records two events and reports each; the user deletes the second before W seals and uploads the batch".into()
        }
        DataAction::Revoke => "device W revokes device R and rotates the epoch".into(),
        DataAction::PartnerRead { serve } => format!(
            "the partner refreshes the chain and opens the next batch; {}",
            match serve {
                ReadServe::Honest => "the server serves it as stored",
                ReadServe::Frame => "the server appends a report of its own to the batch's record",
                ReadServe::Delete => "the server has deleted it whole and serves the one after it",
            }
        ),
        DataAction::FreezePartnerChain => "the server freezes the chain it serves the partner at its current length".into(),
        DataAction::RevokedWritesBatch => {
            "device R, revoked, seals a batch under the chain it holds; the server stores it".into()
        }
        DataAction::UploadAttachment => "device W uploads an attachment under its current attachment key".into(),
        DataAction::RevokedReadsAttachments => {
            "device R tries every attachment key its UMKs give on every stored attachment".into()
        }
        DataAction::OpenStream { forged } => format!(
            "the partner opens W's stream ({})",
            if *forged { "the server serves R's rewrite of it with the same AES-GCM tag" } else { "as sealed" }
        ),
        DataAction::PasswordUnlock { substitute } => format!(
            "device W unlocks with the password ({}) and logs in with the auth value",
            if *substitute { "the server serves its common salt" } else { "the server serves the account's salt" }
        ),
    }
}
