//! A partner opens a batch shared with it ([BAT-10], [SRV-9]). [CLIENT-3]
//!
//! ```text
//! GetSharedChain -> Chain: verify from genesis; it must extend the chain the partner
//!                          verified before (if any, [CHAIN-10]) and pin the partner's key
//! GetSharedBatch -> Batch: sealed::open (every [BAT-*] and [HCH-*] check) at now_ms
//! ```

use super::{Exchange, refused};
use crate::batch::BatchId;
use crate::batch::hchain::{ServerRecord, reference};
use crate::batch::sealed::{self, OpenedBatch, SealedBatch};
use crate::chain::{ChainState, check_extends};
use crate::error::{Error, Result};
use crate::hpke::HpkeSecretKey;
use crate::keys::AccountId;
use crate::server::wire::{Request, Response};

/// A partner opening one shared batch. Its output is the opened batch and the
/// chain it was judged against (keep it: the next open must extend it).
///
/// ```
/// use blindsync::batch::BatchId;
/// use blindsync::chain::ChainState;
/// use blindsync::client::{PartnerOpen, Transport, run};
/// use blindsync::hpke::HpkeSecretKey;
/// use blindsync::keys::AccountId;
/// fn read(server: &mut dyn Transport, key: &HpkeSecretKey, account: AccountId, batch: BatchId,
///         now_ms: u64, known: Option<ChainState>) -> blindsync::Result<ChainState> {
///     let (opened, chain) = run(&mut PartnerOpen::new(key, account, batch, now_ms, known), server)?;
///     println!("{} events from {:?}", opened.events.len(), opened.meta.writer);
///     Ok(chain) // keep it for the next open
/// }
/// ```
pub struct PartnerOpen<'k> {
    key: &'k HpkeSecretKey,
    account: AccountId,
    batch: BatchId,
    now_ms: u64,
    known: Option<ChainState>,
    chain: Option<ChainState>,
    next: Option<Request>,
    waiting: bool,
    done: Option<Result<(OpenedBatch, ChainState)>>,
}

impl<'k> PartnerOpen<'k> {
    /// Opens `batch` of `account` with the partner's key at time `now_ms`;
    /// `known` is the chain this partner verified before, if any.
    pub fn new(
        key: &'k HpkeSecretKey,
        account: AccountId,
        batch: BatchId,
        now_ms: u64,
        known: Option<ChainState>,
    ) -> Self {
        let next = Some(Request::GetSharedChain { account: account.0 });
        PartnerOpen { key, account, batch, now_ms, known, chain: None, next, waiting: false, done: None }
    }

    fn step(&mut self, response: Response) -> Result<Option<Request>> {
        match (&self.chain, response) {
            (None, Response::Chain { statements }) => {
                let chain = ChainState::verify(&statements)?;
                if chain.account() != self.account {
                    return Err(Error::ChainGenesis);
                }
                if let Some(k) = &self.known {
                    check_extends(&chain, &k.head())?;
                }
                if !chain.is_pinned(&self.key.public_key()) {
                    return Err(Error::BatchUnpinned);
                }
                self.chain = Some(chain);
                Ok(Some(Request::GetSharedBatch {
                    account: self.account.0,
                    batch_id: reference(&self.account, &self.batch),
                }))
            }
            (Some(chain), Response::Batch { blob, slots, event_hash, reported, signature, .. }) => {
                let sealed = SealedBatch::from_wire(&blob, &slots)?;
                let record = ServerRecord {
                    reference: reference(&self.account, &self.batch),
                    reported,
                    value: event_hash,
                    signature,
                };
                let opened = sealed::open(&self.account, &self.batch, &sealed, &record, chain, self.key, self.now_ms)?;
                self.done = Some(Ok((opened, chain.clone())));
                Ok(None)
            }
            (_, r) => refused(r),
        }
    }
}

impl Exchange for PartnerOpen<'_> {
    type Output = (OpenedBatch, ChainState);

    fn poll_request(&mut self) -> Option<Request> {
        let r = self.next.take();
        self.waiting |= r.is_some();
        r
    }

    fn handle_response(&mut self, response: Response) -> Result<()> {
        if !self.waiting {
            return Err(Error::ClientNoOperation);
        }
        self.waiting = false;
        match self.step(response) {
            Ok(next) => self.next = next,
            Err(e) => self.done = Some(Err(e)),
        }
        Ok(())
    }

    fn poll_outcome(&mut self) -> Option<Result<(OpenedBatch, ChainState)>> {
        if self.next.is_some() || self.waiting {
            return None;
        }
        self.done.take()
    }
}
