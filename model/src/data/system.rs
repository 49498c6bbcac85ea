//! The data-path model's state, actions and transitions (spec 12.7).
//!
//! The owner device W records batches (reporting each event hash to the
//! real server as it happens, [HCH-4]), seals them linked to its previous
//! batch ([BAT-11]) under its chain head ([BAT-10]) and uploads them;
//! revokes R; uploads an attachment; unlocks with its password. The partner
//! refreshes the account chain (GetSharedChain) and opens the next batch
//! with a [`ReaderState`], the library's reader. Every request goes through
//! the adversary, which may use the six capabilities of [`DataCapability`].
//! Every check is the library's, under the run's
//! [`blindsync::danger::Defences`].

use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};

use blindsync::attachment::{self, AttachmentKey, SealedAttachment};
use blindsync::batch::hchain::{self, Recorder, ServerRecord};
use blindsync::batch::sealed::{self, BatchInput, BatchLink, ReaderState, SealedBatch, Window};
use blindsync::batch::{BatchId, Event, EventKind};
use blindsync::chain::{ChainState, revoke_and_rotate};
use blindsync::client::Client;
use blindsync::envelope::Suite;
use blindsync::error::Error;
use blindsync::keys::EpochKeys;
use blindsync::primitives::SeededRng;
use blindsync::server::wire::{Request, Response};
use blindsync::server::{MemoryStorage, Server, Storage};
use blindsync::stream;

use super::DataConfig;
use super::fixture::{DataFixture, EMAIL, InProcessTransport, NOW_MS};

/// A data-path capability of the adversary, each a switch. [MODEL-14]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataCapability {
    /// Adds a report of its own to the hash-chain record it serves a partner (finding M1).
    FrameUser,
    /// Deletes a whole batch: the partner is served the one after it (finding M1).
    DeleteBatch,
    /// Freezes the chain it serves the partner; R, revoked, seals a batch under that chain (finding M1).
    StalePartnerChain,
    /// Serves the partner R's same-tag forgery of W's stream (finding M2).
    InsiderChunkForgery,
    /// R, revoked, tries every key it holds on every attachment the server stores (finding H2).
    AttachmentAfterRevocation,
    /// Serves the device its own common salt when it unlocks with the password (finding M3).
    SaltSubstitution,
}

impl DataCapability {
    /// Every data-path capability.
    pub const ALL: [DataCapability; 6] = [
        DataCapability::FrameUser,
        DataCapability::DeleteBatch,
        DataCapability::StalePartnerChain,
        DataCapability::InsiderChunkForgery,
        DataCapability::AttachmentAfterRevocation,
        DataCapability::SaltSubstitution,
    ];

    /// Its command-line name.
    pub const fn name(&self) -> &'static str {
        match self {
            DataCapability::FrameUser => "frame-user",
            DataCapability::DeleteBatch => "delete-batch",
            DataCapability::StalePartnerChain => "stale-partner-chain",
            DataCapability::InsiderChunkForgery => "insider-chunk-forgery",
            DataCapability::AttachmentAfterRevocation => "attachment-after-revocation",
            DataCapability::SaltSubstitution => "salt-substitution",
        }
    }

    /// The capability with this command-line name.
    pub fn parse(name: &str) -> Option<DataCapability> {
        DataCapability::ALL.iter().copied().find(|c| c.name() == name)
    }
}

/// What the adversary does with one partner read. [MODEL-14]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReadServe {
    /// Serves the next batch and its record as stored.
    Honest,
    /// `frame-user`: appends a hash of its own to the record (and refolds the value).
    Frame,
    /// `delete-batch`: deletes the next batch whole and serves the one after it.
    Delete,
}

/// One action of the data-path model. [MODEL-13]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DataAction {
    /// W records two events, reports each, seals the batch (without the second event if
    /// `drop`: the user deleted it, the ground truth of a real drop) and uploads it.
    WriteBatch {
        /// The user deleted an event before the upload.
        drop: bool,
    },
    /// W revokes R and rotates the epoch.
    Revoke,
    /// The partner refreshes its chain and opens the next batch the server offers.
    PartnerRead {
        /// The adversary's choice.
        serve: ReadServe,
    },
    /// `stale-partner-chain`: from now on the server serves the partner the chain as it is now.
    FreezePartnerChain,
    /// `stale-partner-chain`: R, revoked, seals a batch under the chain it holds; the server stores it.
    RevokedWritesBatch,
    /// W uploads an attachment under its current epoch's attachment key.
    UploadAttachment,
    /// `attachment-after-revocation`: R tries every key it holds on every stored attachment.
    RevokedReadsAttachments,
    /// The partner opens W's stream (one-shot, first and last action).
    OpenStream {
        /// `insider-chunk-forgery`: the server serves R's same-tag forgery.
        forged: bool,
    },
    /// W unlocks with the password (one-shot, first and last action): GetKdf, the
    /// [CHAIN-18] comparison, Argon2id, LoginPassword.
    PasswordUnlock {
        /// `salt-substitution`: the server serves its common salt.
        substitute: bool,
    },
}

/// Who sealed a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Writer {
    /// The owner device W.
    Owner,
    /// Device R (after its revocation, colluding).
    Revoked,
}

/// The ground truth of one batch: what its writer really sealed. [MODEL-15]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BatchTruth {
    /// Who sealed it.
    pub writer: Writer,
    /// Its sequence number in its writer's batches.
    pub seq: u64,
    /// Its id.
    pub id: BatchId,
    /// The writer really dropped a reported event from it.
    pub dropped: bool,
    /// Sealed after the revocation of R was stored.
    pub after_revocation: bool,
    /// The partner has been offered it, or the server deleted it.
    pub done: bool,
    /// The server deleted it whole.
    pub deleted: bool,
    /// The partner accepted it.
    pub accepted: bool,
}

/// A violation a transition observed against the ground truth. [MODEL-15]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataBroken {
    /// The partner reported `E_HCH_DROPPED` for a batch from which W dropped nothing.
    FalseAccusation,
    /// The partner accepted a batch of R sealed after R's revocation, after being offered one W sealed after it.
    RevokedAccepted,
    /// A stream opened to bytes its writer did not seal.
    ChunkForged,
    /// R opened an attachment uploaded after its revocation.
    AttachmentRead,
    /// The server received the password's `auth` under its own salt.
    SaltSubstituted,
}

/// Ghost variables: capabilities used, alerts, verdicts. [MODEL-15]
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct DataGhost {
    /// Deviations left.
    pub malice_left: u8,
    /// Capabilities used.
    pub used: BTreeSet<DataCapability>,
    /// Error codes the partner or a device raised.
    pub alerts: BTreeSet<&'static str>,
    /// Violations observed.
    pub broken: BTreeSet<DataBroken>,
    /// The revocation of R is stored.
    pub revoked: bool,
    /// The partner has been offered a batch W sealed after the revocation.
    pub partner_offered_new_head: bool,
    /// Attachments stored: (epoch, uploaded after the revocation), in order.
    pub attachments: Vec<(u32, bool)>,
    /// R opened an attachment uploaded before its revocation (its attempt is real).
    pub revoked_read_old: bool,
    /// A one-shot action ended the run.
    pub done: bool,
}

/// One state of the data-path model. [MODEL-13]
#[derive(Clone)]
pub struct DataState {
    /// The real reference server.
    pub server: Server<MemoryStorage>,
    /// The owner device W.
    pub owner: Client,
    /// The partner's verified chain.
    pub partner_chain: ChainState,
    /// The partner's rollback state ([BAT-10], [BAT-11]): the library's reader.
    pub reader: ReaderState,
    /// Every batch sealed, in upload order, with its ground truth.
    pub batches: Vec<BatchTruth>,
    /// What R sealed after its revocation and the colluding server stored: the sealed batch and its record.
    pub injected: Option<(SealedBatch, ServerRecord)>,
    /// The chain length the server serves the partner from now on (`stale-partner-chain`).
    pub frozen: Option<usize>,
    /// The attachments the server stores.
    pub attachments: Vec<SealedAttachment>,
    /// Ghost variables.
    pub ghost: DataGhost,
}

impl core::fmt::Debug for DataState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DataState")
            .field("server_chain_len", &self.server.store_chain(&self.owner.account()).len())
            .field("partner_chain_len", &self.partner_chain.head().len)
            .field("reader", &self.reader)
            .field("batches", &self.batches)
            .field("frozen", &self.frozen)
            .field("attachments", &self.ghost.attachments)
            .field("ghost", &self.ghost)
            .finish()
    }
}

impl DataState {
    fn server_key(&self) -> impl Hash + '_ {
        let account = self.owner.account();
        self.server.store.account(&account).map(|a| (a.chain.head(), &a.batches))
    }
}

impl Hash for DataState {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.server_key().hash(state);
        self.owner.hash(state);
        self.partner_chain.head().hash(state);
        self.reader.pending.hash(state);
        self.reader.initial_writers.hash(state);
        self.reader.newest_head_len.hash(state);
        self.reader.stale_heads.hash(state);
        self.reader.last.hash(state);
        self.batches.hash(state);
        self.injected.as_ref().map(|(s, r)| (s.blob(), &r.reported, r.value)).hash(state);
        self.frozen.hash(state);
        self.attachments.iter().map(|a| a.id).collect::<Vec<_>>().hash(state);
        self.ghost.hash(state);
    }
}

impl PartialEq for DataState {
    fn eq(&self, other: &Self) -> bool {
        use std::collections::hash_map::DefaultHasher;
        let state_hash = |s: &DataState| {
            let mut d = DefaultHasher::new();
            s.hash(&mut d);
            d.finish()
        };
        state_hash(self) == state_hash(other)
    }
}

/// The data-path model: its configuration and the fixture it starts from. [MODEL-13]
#[derive(Clone)]
pub struct DataModel {
    /// The configuration.
    pub config: DataConfig,
    /// The world at the start.
    pub fixture: DataFixture,
}

fn server_rng(tag: &str) -> SeededRng {
    SeededRng::from_label(&format!("blindsync/model/data/server/{tag}"))
}

impl DataModel {
    /// Builds the fixture and the model.
    pub fn new(config: DataConfig) -> blindsync::error::Result<DataModel> {
        Ok(DataModel { config, fixture: DataFixture::build()? })
    }

    /// The initial state.
    pub fn init(&self) -> DataState {
        let f = &self.fixture;
        let mut owner = f.owner.clone();
        owner.dangerous_set_defences(self.config.defences);
        DataState {
            server: f.server.clone(),
            owner,
            partner_chain: f.partner_chain.clone(),
            reader: ReaderState::default(),
            batches: Vec::new(),
            injected: None,
            frozen: None,
            attachments: Vec::new(),
            ghost: DataGhost { malice_left: self.config.malice, ..DataGhost::default() },
        }
    }

    fn can(&self, c: DataCapability) -> bool {
        self.config.capabilities.contains(&c)
    }

    /// The actions offered in `s`, in a fixed order.
    pub fn actions_in(&self, s: &DataState, out: &mut Vec<DataAction>) {
        if s.ghost.done {
            return;
        }
        let malice = s.ghost.malice_left > 0;
        let initial = s.batches.is_empty() && !s.ghost.revoked && s.attachments.is_empty() && s.frozen.is_none();
        let owner_batches = s.batches.iter().filter(|b| b.writer == Writer::Owner).count();
        if owner_batches < usize::from(self.config.batches) {
            out.push(DataAction::WriteBatch { drop: false });
            // At most one batch of a run has a real drop (the ground truth the accusation property needs).
            if !s.batches.iter().any(|b| b.dropped) {
                out.push(DataAction::WriteBatch { drop: true });
            }
        }
        if !s.ghost.revoked {
            out.push(DataAction::Revoke);
        }
        let waiting = s.batches.iter().filter(|b| !b.done).count();
        if waiting > 0 {
            out.push(DataAction::PartnerRead { serve: ReadServe::Honest });
            if malice && self.can(DataCapability::FrameUser) {
                out.push(DataAction::PartnerRead { serve: ReadServe::Frame });
            }
            if malice && waiting > 1 && self.can(DataCapability::DeleteBatch) {
                out.push(DataAction::PartnerRead { serve: ReadServe::Delete });
            }
        }
        if self.can(DataCapability::StalePartnerChain) {
            if malice && s.frozen.is_none() && !s.ghost.revoked {
                out.push(DataAction::FreezePartnerChain);
            }
            if s.ghost.revoked && s.injected.is_none() {
                out.push(DataAction::RevokedWritesBatch);
            }
        }
        // Attachments touch no batch state: they are offered only before the first batch (a
        // partial-order reduction, spec 12.7), one per epoch.
        if s.batches.is_empty() {
            let epoch = s.owner.chain().epoch();
            if !s.ghost.attachments.iter().any(|(e, _)| *e == epoch) {
                out.push(DataAction::UploadAttachment);
            }
            if self.can(DataCapability::AttachmentAfterRevocation)
                && s.ghost.revoked
                && !s.attachments.is_empty()
                && !s.ghost.used.contains(&DataCapability::AttachmentAfterRevocation)
            {
                out.push(DataAction::RevokedReadsAttachments);
            }
        }
        if initial {
            out.push(DataAction::OpenStream { forged: false });
            if malice && self.can(DataCapability::InsiderChunkForgery) {
                out.push(DataAction::OpenStream { forged: true });
            }
            out.push(DataAction::PasswordUnlock { substitute: false });
            if malice && self.can(DataCapability::SaltSubstitution) {
                out.push(DataAction::PasswordUnlock { substitute: true });
            }
        }
    }

    fn spend(n: &mut DataState, c: DataCapability) -> Option<()> {
        n.ghost.malice_left = n.ghost.malice_left.checked_sub(1)?;
        n.ghost.used.insert(c);
        Some(())
    }

    /// The state after `a`, or `None` when `a` changes nothing. [MODEL-13]
    pub fn step(&self, s: &DataState, a: DataAction) -> Option<DataState> {
        let mut n = s.clone();
        match a {
            DataAction::WriteBatch { drop } => self.write_batch(&mut n, drop)?,
            DataAction::Revoke => self.revoke(&mut n)?,
            DataAction::PartnerRead { serve } => {
                match serve {
                    ReadServe::Honest => {}
                    ReadServe::Frame => Self::spend(&mut n, DataCapability::FrameUser)?,
                    ReadServe::Delete => Self::spend(&mut n, DataCapability::DeleteBatch)?,
                }
                self.partner_read(&mut n, serve)?;
            }
            DataAction::FreezePartnerChain => {
                Self::spend(&mut n, DataCapability::StalePartnerChain)?;
                n.frozen = Some(n.server.store_chain(&self.fixture.account).len());
            }
            DataAction::RevokedWritesBatch => {
                n.ghost.used.insert(DataCapability::StalePartnerChain);
                self.revoked_writes(&mut n)?;
            }
            DataAction::UploadAttachment => self.upload_attachment(&mut n)?,
            DataAction::RevokedReadsAttachments => {
                n.ghost.used.insert(DataCapability::AttachmentAfterRevocation);
                self.revoked_reads(&mut n);
            }
            DataAction::OpenStream { forged } => {
                n.ghost.done = true;
                if forged {
                    Self::spend(&mut n, DataCapability::InsiderChunkForgery)?;
                }
                self.open_stream(&mut n, forged);
            }
            DataAction::PasswordUnlock { substitute } => {
                n.ghost.done = true;
                if substitute {
                    Self::spend(&mut n, DataCapability::SaltSubstitution)?;
                }
                self.password_unlock(&mut n, substitute)?;
            }
        }
        Some(n)
    }

    fn events(tag: &str) -> Vec<Event> {
        (0..2u64)
            .map(|i| Event {
                t_ms: NOW_MS - 10_000 + i,
                kind: EventKind::Log,
                data: format!("{tag} event {i}").into_bytes(),
            })
            .collect()
    }

    const WINDOW: Window =
        Window { start_ms: NOW_MS - 20_000, end_ms: NOW_MS - 1_000, expires_ms: NOW_MS + 86_400_000 };

    /// [BAT-6] [BAT-10] [BAT-11] [HCH-4] W records, reports, seals and uploads one batch.
    fn write_batch(&self, n: &mut DataState, drop: bool) -> Option<()> {
        let account = self.fixture.account;
        let seq = n.batches.iter().filter(|b| b.writer == Writer::Owner).count() as u64;
        let prev = n.batches.iter().rev().find(|b| b.writer == Writer::Owner).map_or(BatchId([0; 16]), |b| b.id);
        let id = BatchId([0x10 + seq as u8; 16]);
        let mut rng = SeededRng::from_label(&format!("blindsync/model/data/batch/{seq}/{drop}"));
        let data_key = sealed::new_data_key(&mut rng);
        let events = Self::events(&format!("W batch {seq}"));
        let mut recorder = Recorder::new(&data_key, &account, &id);
        let mut srng = server_rng("report");
        let token = n.owner.token()?;
        for e in &events {
            let report = recorder.record(e, n.owner.device());
            let r = n.server.handle(
                Request::ReportEvent {
                    token,
                    batch_id: report.reference,
                    event_hash: report.event_hash,
                    signature: report.signature,
                },
                NOW_MS,
                &mut srng,
            );
            if !matches!(r, Response::EventHash { .. }) {
                return None;
            }
        }
        // The ground truth of a real drop: the user deleted the second event before upload.
        let sealed_events = if drop { &events[..1] } else { &events[..] };
        let chain = n.owner.chain();
        let mut recipients: Vec<[u8; 32]> =
            chain.devices().iter().filter(|(d, _)| chain.is_active(d)).map(|(_, p)| p.x25519).collect();
        recipients.push(self.fixture.partner.public_key());
        let input = BatchInput {
            account,
            batch_id: id,
            suite: Suite::Aes256Gcm,
            window: Self::WINDOW,
            events: sealed_events,
            recipients: &recipients,
            data_key: &data_key,
            link: BatchLink { seq, prev_batch: prev, chain_head: chain.head() },
        };
        let b = sealed::seal(&input, n.owner.device(), chain, &mut rng).ok()?;
        let r = n.server.handle(
            Request::PutBatch {
                token,
                batch_id: hchain::reference(&account, &id),
                blob: b.blob(),
                slots: b.slot_list(),
            },
            NOW_MS,
            &mut srng,
        );
        if r != Response::Ok {
            return None;
        }
        n.batches.push(BatchTruth {
            writer: Writer::Owner,
            seq,
            id,
            dropped: drop,
            after_revocation: n.ghost.revoked,
            done: false,
            deleted: false,
            accepted: false,
        });
        Some(())
    }

    /// [CHAIN-11] W revokes R and rotates; the server stores the statement.
    fn revoke(&self, n: &mut DataState) -> Option<()> {
        let target = self.fixture.revoked.0.id();
        let mut rng = SeededRng::from_label("blindsync/model/data/revoke");
        let rot = revoke_and_rotate(n.owner.chain(), n.owner.device(), &target, 0, [0; 32], &mut rng).ok()?;
        let epoch = rot.state.epoch();
        let mut srng = server_rng("revoke");
        n.owner.append_chain(&mut InProcessTransport(&mut n.server, &mut srng), rot.statements).ok()?;
        n.owner.add_umk(epoch, rot.umk);
        n.ghost.revoked = true;
        Some(())
    }

    /// [BAT-10] [BAT-8] [BAT-11] [HCH-5] [HCH-6] the partner refreshes its chain, then opens the next batch.
    fn partner_read(&self, n: &mut DataState, serve: ReadServe) -> Option<()> {
        let account = self.fixture.account;
        let d = self.config.defences;
        let mut srng = server_rng("partner");
        let Response::Chain { mut statements } =
            n.server.handle(Request::GetSharedChain { account: account.0 }, NOW_MS, &mut srng)
        else {
            return None;
        };
        if let Some(len) = n.frozen {
            statements.truncate(len);
        }
        if let Err(e) = n.partner_chain.update(&statements) {
            n.ghost.alerts.insert(e.code());
        }
        let mut k = n.batches.iter().position(|b| !b.done)?;
        if serve == ReadServe::Delete {
            n.batches[k].done = true;
            n.batches[k].deleted = true;
            k = n.batches.iter().position(|b| !b.done)?;
        }
        let truth = n.batches[k].clone();
        n.batches[k].done = true;
        if truth.writer == Writer::Owner && truth.after_revocation {
            n.ghost.partner_offered_new_head = true;
        }
        let reference = hchain::reference(&account, &truth.id);
        let (sealed, mut record) = match truth.writer {
            Writer::Owner => {
                let Response::Batch { blob, slots, event_hash, reported, signature, .. } = n.server.handle(
                    Request::GetSharedBatch { account: account.0, batch_id: reference },
                    NOW_MS,
                    &mut srng,
                ) else {
                    return None;
                };
                let sealed = SealedBatch::from_wire(&blob, &slots).ok()?;
                (sealed, ServerRecord { reference, reported, value: event_hash, signature })
            }
            Writer::Revoked => n.injected.clone()?,
        };
        if serve == ReadServe::Frame {
            // [HCH-6] the server appends a hash of its own and refolds: the device looks as if it dropped one.
            record.reported.push([0x5e; 32]);
            record.value = hchain::fold(&reference, &record.reported);
        }
        let opened = n.reader.open_next_with(
            &account,
            &truth.id,
            &sealed,
            &record,
            &n.partner_chain,
            &self.fixture.partner,
            NOW_MS,
            &d,
        );
        match opened {
            Ok(_) => {
                n.batches[k].accepted = true;
                if truth.writer == Writer::Revoked && truth.after_revocation && n.ghost.partner_offered_new_head {
                    n.ghost.broken.insert(DataBroken::RevokedAccepted);
                }
            }
            Err(e) => {
                n.ghost.alerts.insert(e.code());
                if e == Error::HchDropped && !truth.dropped {
                    n.ghost.broken.insert(DataBroken::FalseAccusation);
                }
            }
        }
        Some(())
    }

    /// R, revoked, seals a batch under the chain it holds (on which it is active); the
    /// colluding server stores it with a record of R's own reports.
    fn revoked_writes(&self, n: &mut DataState) -> Option<()> {
        let account = self.fixture.account;
        let (r, r_chain, _) = &self.fixture.revoked;
        let id = BatchId([0x20; 16]);
        let mut rng = SeededRng::from_label("blindsync/model/data/revoked-batch");
        let data_key = sealed::new_data_key(&mut rng);
        let events = Self::events("R");
        let mut recorder = Recorder::new(&data_key, &account, &id);
        let mut record = ServerRecord::new(&account, &id);
        for e in &events {
            let rep = recorder.record(e, r);
            record.report(rep.event_hash, rep.signature);
        }
        let mut recipients: Vec<[u8; 32]> =
            r_chain.devices().iter().filter(|(d, _)| r_chain.is_active(d)).map(|(_, p)| p.x25519).collect();
        recipients.push(self.fixture.partner.public_key());
        let input = BatchInput {
            account,
            batch_id: id,
            suite: Suite::Aes256Gcm,
            window: Self::WINDOW,
            events: &events,
            recipients: &recipients,
            data_key: &data_key,
            link: BatchLink { seq: 0, prev_batch: BatchId([0; 16]), chain_head: r_chain.head() },
        };
        let b = sealed::seal(&input, r, r_chain, &mut rng).ok()?;
        n.injected = Some((b, record));
        n.batches.push(BatchTruth {
            writer: Writer::Revoked,
            seq: 0,
            id,
            dropped: false,
            after_revocation: true,
            done: false,
            deleted: false,
            accepted: false,
        });
        Some(())
    }

    /// [ATT-1] [ATT-3] W seals an attachment under its current epoch's key (or epoch 0's, weakened).
    fn upload_attachment(&self, n: &mut DataState) -> Option<()> {
        let account = self.fixture.account;
        let umks = n.owner.umks();
        let epoch = n.owner.chain().epoch();
        let e0 = EpochKeys::derive(umks.get(&0)?, &account, 0);
        let cur = EpochKeys::derive(umks.get(&epoch)?, &account, epoch);
        let d = self.config.defences;
        let key = AttachmentKey::derive_with(&e0, &cur, &d);
        let sk = ed25519_dalek::SigningKey::from_bytes(n.owner.device().signing_seed().expose());
        let mut rng = SeededRng::from_label(&format!("blindsync/model/data/attachment/{epoch}"));
        let photo = format!("a photo W took in epoch {epoch}").into_bytes();
        let s = attachment::seal_with(&account, &key, Suite::Aes256Gcm, &sk, &photo, &d, &mut rng).ok()?;
        n.attachments.push(s);
        n.ghost.attachments.push((epoch, n.ghost.revoked));
        Some(())
    }

    /// [ATT-5] R tries every attachment key it can derive: from each UMK it holds, each epoch's
    /// PRK, with each epoch number in the key's label, on every stored attachment. It does not
    /// use the run's defences: the adversary tries everything.
    fn revoked_reads(&self, n: &mut DataState) {
        let account = self.fixture.account;
        let r_umks = &self.fixture.revoked.2;
        let top = n.owner.chain().epoch();
        let w_key = n.owner.device().public().ed25519;
        for (s, (_, after)) in n.attachments.iter().zip(n.ghost.attachments.clone()) {
            let mut opened = false;
            for umk in r_umks.values() {
                for e in 0..=top {
                    let prk = EpochKeys::derive(umk, &account, e);
                    for label in 0..=top {
                        let key = AttachmentKey::from_prk(prk.prk(), label);
                        let got =
                            attachment::open(&account, &key, &s.id, Suite::Aes256Gcm, &s.manifest, &s.body, &w_key);
                        opened |= got.is_ok();
                    }
                }
            }
            if opened && after {
                n.ghost.broken.insert(DataBroken::AttachmentRead);
            }
            if opened && !after {
                n.ghost.revoked_read_old = true;
            }
        }
    }

    /// [STR-6] [STR-11] the partner opens W's stream as the server serves it.
    fn open_stream(&self, n: &mut DataState, forged: bool) {
        let (manifest, body, plaintext, ctx, source) = &self.fixture.stream;
        let served = if forged { &self.fixture.forged_body } else { body };
        match stream::open_with_defences(manifest, served, ctx, source, &self.config.defences) {
            Ok(pt) if pt != *plaintext => {
                n.ghost.broken.insert(DataBroken::ChunkForged);
            }
            Ok(_) => {}
            Err(e) => {
                n.ghost.alerts.insert(e.code());
            }
        }
    }

    /// [CHAIN-18] W, which holds the chain, unlocks with the password: the served salt and
    /// parameters are compared with the chain's before Argon2id runs and `auth` is sent.
    fn password_unlock(&self, n: &mut DataState, substitute: bool) -> Option<()> {
        let mut srng = server_rng("password");
        let Response::Kdf { kdf } = n.server.handle(Request::GetKdf { email: EMAIL.to_vec() }, NOW_MS, &mut srng)
        else {
            return None;
        };
        let served = if substitute { self.fixture.kdf_common.clone() } else { kdf };
        let d = self.config.defences;
        if let Err(e) = n.owner.chain().check_served_kdf_with(&served, &d) {
            n.ghost.alerts.insert(e.code());
            return Some(());
        }
        let auth = self.fixture.auth_for(&served).ok()?;
        let request = Request::LoginPassword { email: EMAIL.to_vec(), auth };
        // The adversary keeps what it receives: is it an auth value under its own salt?
        if request
            .encode()
            .windows(32)
            .any(|w| Some(w) == self.fixture.auth_under_common_salt().as_ref().map(|a| &a[..]))
        {
            n.ghost.broken.insert(DataBroken::SaltSubstituted);
        }
        if let Response::Error(e) = n.server.handle(request, NOW_MS, &mut srng) {
            n.ghost.alerts.insert(e.code());
        }
        Some(())
    }
}
