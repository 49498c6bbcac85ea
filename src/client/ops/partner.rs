//! A partner opens a batch shared with it ([BAT-10], [SRV-9]). [CLIENT-3]
//!
//! ```text
//! GetSharedChain -> Chain: verify from genesis; it must extend the chain the partner
//!                          verified before (if any, [CHAIN-10]) and pin the partner's key;
//!                          it becomes the partner's chain
//! GetSharedBatch -> Batch: [BAT-10]'s next(state, batch) with that chain: the pending head
//!                          claims, every [BAT-8] and [HCH-*] check at now_ms, the links of
//!                          [BAT-11] and the bookkeeping of [BAT-12]
//! ```

use super::{Exchange, refused, screen};
use crate::batch::BatchId;
use crate::batch::hchain::{ServerRecord, reference};
use crate::batch::sealed::{OpenedBatch, ReaderState, SealedBatch};
use crate::chain::{ChainState, check_extends};
use crate::device::DeviceId;
use crate::error::{Error, Result};
use crate::hpke::HpkeSecretKey;
use crate::keys::AccountId;
use crate::server::wire::{Request, RequestKind, Response};

/// What a partner keeps between the batches it opens from one account ([BAT-10]): the
/// chain it verified last and its reader state (pending head claims, the last batch read
/// from each writer, the [BAT-12] alerts). [`PartnerOpen`] reads and updates it; keep it
/// for as long as the partner reads the account, across restarts too: a partner that starts
/// again from an empty state forgets its claims and the writers' links ([CLIENT-3]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartnerState {
    /// The chain the partner verified last (`None` before its first open: the first
    /// chain is verified from genesis, and its fingerprint must be compared out of band,
    /// [CHAIN-5]). [CHAIN-10]
    pub chain: Option<ChainState>,
    /// [BAT-10], [BAT-11] and [BAT-12]'s state: `reader.pending` (claims that keep every
    /// batch refused until the chain catches up), `reader.stale_heads` and
    /// `reader.stale_recipients` (alerts to show).
    pub reader: ReaderState,
}

impl PartnerState {
    /// [BAT-12] the writers this partner read from that are still active in its chain
    /// and whose newest batch ended more than `max_silence_ms` before `now_ms` (an alert to
    /// show: the device stopped, or the server withholds its batches).
    pub fn silent_writers(&self, now_ms: u64, max_silence_ms: u64) -> Vec<DeviceId> {
        match &self.chain {
            Some(chain) => self.reader.silent_writers(chain, now_ms, max_silence_ms),
            None => Vec::new(),
        }
    }
}

/// A partner opening one shared batch with [BAT-10]'s reader procedure. Its output is
/// the opened batch (its verified metadata, `meta.batch_id`, `meta.writer`,
/// `meta.link.seq`, and its events); the partner's chain and reader state are updated in
/// the [`PartnerState`] it was given, on success and on failure alike (a verified chain
/// is kept even when the batch is refused, and so is a head claim the batch made).
///
/// ```
/// use blindsync::batch::BatchId;
/// use blindsync::client::{PartnerOpen, PartnerState, Transport, run};
/// use blindsync::hpke::HpkeSecretKey;
/// use blindsync::keys::AccountId;
/// fn read(server: &mut dyn Transport, key: &HpkeSecretKey, account: AccountId, batch: BatchId,
///         now_ms: u64, state: &mut PartnerState) -> blindsync::Result<()> {
///     let opened = run(&mut PartnerOpen::new(key, account, batch, now_ms, state), server)?;
///     println!("{} events from {:?}", opened.events.len(), opened.meta.writer);
///     Ok(()) // keep `state` for the next open
/// }
/// ```
pub struct PartnerOpen<'a> {
    key: &'a HpkeSecretKey,
    state: &'a mut PartnerState,
    account: AccountId,
    batch: BatchId,
    now_ms: u64,
    refreshed: bool,
    next: Option<Request>,
    waiting: Option<RequestKind>,
    done: Option<Result<OpenedBatch>>,
}

impl<'a> PartnerOpen<'a> {
    /// Opens `batch` of `account` with the partner's key at time `now_ms`, against and
    /// into `state` (the partner's chain and reader state for this account).
    pub fn new(
        key: &'a HpkeSecretKey,
        account: AccountId,
        batch: BatchId,
        now_ms: u64,
        state: &'a mut PartnerState,
    ) -> Self {
        let next = Some(Request::GetSharedChain { account: account.0 });
        PartnerOpen { key, state, account, batch, now_ms, refreshed: false, next, waiting: None, done: None }
    }

    fn step(&mut self, response: Response) -> Result<Option<Request>> {
        match (self.refreshed, response) {
            (false, Response::Chain { statements }) => {
                let chain = ChainState::verify(&statements)?;
                if chain.account() != self.account {
                    return Err(Error::ChainGenesis);
                }
                // [BAT-10] [CHAIN-10] only a chain that extends the one held
                if let Some(k) = &self.state.chain {
                    check_extends(&chain, &k.head())?;
                }
                if !chain.is_pinned(&self.key.public_key()) {
                    return Err(Error::BatchUnpinned);
                }
                self.state.chain = Some(chain);
                self.refreshed = true;
                Ok(Some(Request::GetSharedBatch {
                    account: self.account.0,
                    batch_id: reference(&self.account, &self.batch),
                }))
            }
            (true, Response::Batch { blob, slots, event_hash, reported, signature, .. }) => {
                let sealed = SealedBatch::from_wire(&blob, &slots)?;
                let record = ServerRecord {
                    reference: reference(&self.account, &self.batch),
                    reported,
                    value: event_hash,
                    signature,
                };
                let PartnerState { chain, reader } = &mut *self.state;
                let chain = chain.as_ref().ok_or(Error::ClientState)?;
                // [BAT-10] next(state, batch): recheck the claims, [BAT-8] (a head the chain
                // lacks becomes a claim), [BAT-11] links, [BAT-12] bookkeeping
                let opened =
                    reader.open_next(&self.account, &self.batch, &sealed, &record, chain, self.key, self.now_ms)?;
                self.done = Some(Ok(opened));
                Ok(None)
            }
            (_, r) => refused(r),
        }
    }
}

impl Exchange for PartnerOpen<'_> {
    type Output = OpenedBatch;

    fn poll_request(&mut self) -> Option<Request> {
        let r = self.next.take();
        if let Some(r) = &r {
            self.waiting = Some(r.kind());
        }
        r
    }

    fn handle_response(&mut self, response: Response) -> Result<()> {
        let Some(kind) = self.waiting.take() else {
            return Err(Error::ClientNoOperation);
        };
        match self.step(screen(kind, response)) {
            Ok(next) => self.next = next,
            Err(e) => self.done = Some(Err(e)),
        }
        Ok(())
    }

    fn poll_outcome(&mut self) -> Option<Result<OpenedBatch>> {
        if self.next.is_some() || self.waiting.is_some() {
            return None;
        }
        self.done.take()
    }
}
