//! Sync as a state machine: the chain, then every listing page after the
//! cursor, then verification of everything listed. [SYNC-7] [SYNC-8] [CLIENT-3]
//!
//! ```text
//! GetChain          -> Chain:  apply_chain (an alert ends the sync, nothing changed)
//! ListSince(cursor) -> Items:  a non-empty page out of order (or not above the cursor) ends
//!                              the sync with an alert (SYNC-7); an empty page ends the listing,
//!                              else the next page from its last item
//! end of listing:              apply_items; missing revoked-writer items (SYNC-15);
//!                              no alert -> cursor and revocation boundaries move
//! whatever ends the sync:      one commit of everything it changed ([PERSIST-5])
//! ```

use super::{Next, Op, Outcome, unexpected};
use crate::client::alerts::{Alert, SyncReport, listing_in_order};
use crate::client::persist::Persist;
use crate::client::state::State;
use crate::client::{Client, Result};
use crate::server::wire::{Item, MAX_ITEMS, Request, Response, Token};

/// Where a sync stands: listing from `cursor`, with the items gathered so far.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct SyncOp {
    token: Token,
    /// `None`: waiting for the chain.
    cursor: Option<u64>,
    items: Vec<Item>,
    /// The state when the sync started: the one commit at its end holds every change since. [PERSIST-5]
    before: Option<Box<State>>,
}

impl<P: Persist> Client<P> {
    /// Starts a sync: the chain, then every item after the cursor. [SYNC-7] [SYNC-8]
    pub fn start_sync(&mut self) -> Result<()> {
        let token = self.session()?;
        let op = SyncOp { token, cursor: None, items: Vec::new(), before: None };
        self.begin(Op::Sync(op), Request::GetChain { token })
    }

    fn list(&self, mut s: SyncOp, cursor: u64) -> Next {
        s.cursor = Some(cursor);
        let token = s.token;
        Next::Send(Op::Sync(s), Request::ListSince { token, cursor, limit: MAX_ITEMS as u32 })
    }

    pub(super) fn step_sync(&mut self, mut s: SyncOp, response: Response) -> Next {
        let before = s.before.take().or_else(|| self.snapshot().map(Box::new));
        match self.sync_step(s, response) {
            Next::Send(Op::Sync(mut s), r) => {
                s.before = before;
                Next::Send(Op::Sync(s), r)
            }
            // [PERSIST-5] a sync commits once, when it ends (even when it ends with an error or
            // an alert: the chain it adopted stays adopted, as in memory)
            Next::Done(result) => {
                // [PERSIST-6] a durable device keeps the alerts with the commit that made them
                // fire, until the application acknowledges them
                if P::DURABLE
                    && let Ok(Outcome::Synced(report)) = &result
                {
                    self.remember_alerts(&report.alerts);
                }
                match self.commit_since(before.map(|b| *b)) {
                    Ok(()) => {
                        // [CLIENT-5] listed to the end without an alert, and committed: this
                        // device's own writes are known (a failed commit restored the state
                        // before the sync, so the gate stays)
                        if matches!(&result, Ok(Outcome::Synced(r)) if r.alerts.is_empty()) {
                            self.reopened = false;
                        }
                        Next::Done(result)
                    }
                    Err(e) => Next::Done(Err(e)),
                }
            }
            other => other,
        }
    }

    fn sync_step(&mut self, mut s: SyncOp, response: Response) -> Next {
        match (s.cursor, response) {
            (None, Response::Chain { statements }) => {
                if let Some(a) = self.apply_chain(&statements) {
                    return Next::Done(Ok(Outcome::Synced(SyncReport { applied: 0, alerts: vec![a] })));
                }
                let cursor = self.state.cursor;
                self.list(s, cursor)
            }
            (Some(cursor), Response::Items { items: page }) => {
                // [SYNC-7] only an empty page ends the listing
                let Some(last) = page.last().map(|i| i.seq) else {
                    return Next::Done(Ok(Outcome::Synced(self.finish_sync(&s.items, cursor))));
                };
                // [SYNC-7] every non-empty page: strictly ascending, all above the cursor it was
                // asked from (relabelled, replayed or non-advancing numbers), else refused whole
                let seqs: Vec<u64> = page.iter().map(|i| i.seq).collect();
                if self.defences.listing_order
                    && let Err(e) = listing_in_order(cursor, &seqs)
                {
                    let report = SyncReport { applied: 0, alerts: vec![Alert::Chain(e)] };
                    return Next::Done(Ok(Outcome::Synced(report)));
                }
                if last <= cursor {
                    // [MODEL-5] weakened (no order check): a page that does not advance ends the
                    // listing, unused, so that a replaying server cannot loop the device
                    return Next::Done(Ok(Outcome::Synced(self.finish_sync(&s.items, cursor))));
                }
                // [CLIENT-4] the whole listing is held until it ends (1.6 item 19)
                s.items.extend(page);
                self.list(s, last)
            }
            (_, r) => Next::Done(unexpected(r)),
        }
    }

    /// Verifies and applies the whole listing. [SYNC-8]
    fn finish_sync(&mut self, items: &[Item], cursor: u64) -> SyncReport {
        let mut report = self.apply_items(items);
        // [SYNC-15] a listing to the end that leaves a revoked writer short of its bound is
        // withheld data: the chain says it wrote up to max_seq.
        if self.defences.writer_chain {
            for (id, r) in self.state.chain.revoked() {
                let last = self.state.writer_seq.get(id).copied().unwrap_or(0);
                let alerted = report.alerts.iter().any(|a| matches!(a, Alert::Withheld { writer, .. } if writer == id));
                if last < r.max_seq && !alerted {
                    report.alerts.push(Alert::Withheld { writer: *id, missing_seq: last.saturating_add(1) });
                }
            }
        }
        if report.alerts.is_empty() {
            self.state.cursor = cursor;
            // [SYNC-17] a revocation held for the first time, in a sync that commits: what this
            // listing showed may predate it; whatever is listed after it was stored after this
            // device held the revocation. (A sync with an alert commits nothing, not even this:
            // a server cannot raise the boundary by listing one bad item under a huge number.)
            let revoked: Vec<u64> = self.state.chain.revoked().values().map(|r| r.at).collect();
            for at in revoked {
                self.state.revocations.entry(at).or_insert(cursor);
            }
        }
        report
    }
}
